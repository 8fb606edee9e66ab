#include "esxi/vim_xml.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

/* libxml2 would print parse errors on stderr; we report them through perr instead. */
static void
vim_xml_quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

int
vim_xml_parse(const char *data, size_t len, size_t max, xmlDoc **out, struct perr *err)
{
    xmlDoc *doc = NULL;
    const xmlError *xe;
    int rc = -1;

    *out = NULL;
    if (len > max || len > INT_MAX) {
        perr_set(err, PERR_PROTOCOL, "XML reply of %zu bytes is larger than the %zu-byte limit",
                 len, max);
        goto out;
    }
    /* Refused before parsing, so no entity is ever declared, let alone expanded. */
    if (memmem(data, len, "<!DOCTYPE", 9) != NULL || memmem(data, len, "<!ENTITY", 8) != NULL) {
        perr_set(err, PERR_PROTOCOL, "XML reply carries a DOCTYPE, which SOAP never does: refused");
        goto out;
    }
    xmlSetGenericErrorFunc(NULL, vim_xml_quiet);
    doc = xmlReadMemory(data, (int)len, "reply.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                            XML_PARSE_NOCDATA);
    if (doc == NULL) {
        xe = xmlGetLastError();
        perr_set(err, PERR_PROTOCOL, "malformed XML reply (line %d): %.200s",
                 xe != NULL ? xe->line : 0,
                 xe != NULL && xe->message != NULL ? xe->message : "parse error");
        goto out;
    }
    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        perr_set(err, PERR_PROTOCOL, "XML reply carries a DOCTYPE, which SOAP never does: refused");
        goto out;
    }
    if (xmlDocGetRootElement(doc) == NULL) {
        perr_set(err, PERR_PROTOCOL, "empty XML reply");
        goto out;
    }
    *out = doc;
    doc = NULL;
    rc = 0;
out:
    xmlFreeDoc(doc);
    return rc;
}

bool
vim_xml_is(const xmlNode *node, const char *name)
{
    return node != NULL && node->type == XML_ELEMENT_NODE &&
           strcmp((const char *)node->name, name) == 0;
}

xmlNode *
vim_xml_child(const xmlNode *parent, const char *name)
{
    if (parent == NULL)
        return NULL;
    for (xmlNode *c = parent->children; c != NULL; c = c->next) {
        if (vim_xml_is(c, name))
            return c;
    }
    return NULL;
}

xmlNode *
vim_xml_next_same(const xmlNode *node)
{
    for (xmlNode *c = node->next; c != NULL; c = c->next) {
        if (vim_xml_is(c, (const char *)node->name))
            return c;
    }
    return NULL;
}

xmlNode *
vim_xml_first_element(const xmlNode *parent)
{
    if (parent == NULL)
        return NULL;
    for (xmlNode *c = parent->children; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            return c;
    }
    return NULL;
}

xmlNode *
vim_xml_path(const xmlNode *parent, const char *path)
{
    const xmlNode *cur = parent;
    char part[128];

    while (cur != NULL && *path != '\0') {
        size_t n = strcspn(path, "/");

        if (n >= sizeof(part))
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        cur = vim_xml_child(cur, part);
        path += n;
        if (*path == '/')
            path++;
    }
    return (xmlNode *)(uintptr_t)cur;
}

int
vim_xml_text_dup(const xmlNode *node, char **out, struct perr *err)
{
    xmlChar *t = xmlNodeGetContent(node);

    *out = strdup(t != NULL ? (const char *)t : "");
    xmlFree(t);
    if (*out == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    return 0;
}

char *
vim_xml_path_text(const xmlNode *parent, const char *path)
{
    xmlNode *n = vim_xml_path(parent, path);
    struct perr err = {0};
    char *s = NULL;

    if (n == NULL || vim_xml_text_dup(n, &s, &err) < 0)
        return NULL;
    return s;
}

char *
vim_xml_xsi_type(const xmlNode *node)
{
    xmlChar *t = xmlGetNsProp(node, (const xmlChar *)"type", (const xmlChar *)VIM_XSI_NS);
    const char *colon;
    char *s;

    if (t == NULL)
        return NULL;
    colon = strchr((const char *)t, ':');
    s = strdup(colon != NULL ? colon + 1 : (const char *)t);
    xmlFree(t);
    return s;
}
