/*
 * SOAP replies and faults from vCenter: vim_parse_reply() on the bytes as a
 * 200 answer and as a 500 answer (fault path), then vim_fault_to_perr() on
 * whatever vim_xml_parse() accepts, and the xml helpers over the tree.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "esxi/vim.h"
#include "esxi/vim_xml.h"
#include "lib/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_VIM_MAX ((size_t)1 << 20)

static void
walk(const xmlNode *node, int depth)
{
    for (xmlNode *c = vim_xml_first_element(node); c != NULL && depth < 32; c = c->next) {
        char *t;
        struct perr err = {0};

        if (c->type != XML_ELEMENT_NODE)
            continue;
        free(vim_xml_xsi_type(c));
        if (vim_xml_text_dup(c, &t, &err) == 0)
            free(t);
        (void)vim_xml_next_same(c);
        walk(c, depth + 1);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = {200, 500};
    const char *body = (const char *)data;

    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        struct vim_resp *r = NULL;
        struct perr err = {0};

        if (vim_parse_reply(body, size, FUZZ_VIM_MAX, "RetrieveProperties", statuses[i], &r,
                            &err) == 0) {
            for (xmlNode *rv = vim_resp_returnval(r); rv != NULL; rv = vim_xml_next_same(rv))
                free(vim_xml_path_text(rv, "obj"));
            vim_resp_free(r);
        }
    }

    xmlDoc *doc = NULL;
    struct perr err = {0};

    if (vim_xml_parse(body, size, FUZZ_VIM_MAX, &doc, &err) == 0) {
        struct perr ferr = {0};

        vim_fault_to_perr(doc, 500, "Login", &ferr);
        walk(xmlDocGetRootElement(doc), 0);
        free(vim_xml_path_text(xmlDocGetRootElement(doc), "Body/Fault/faultstring"));
        xmlFreeDoc(doc);
    }
    return 0;
}
