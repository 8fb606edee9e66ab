#include "esxi/esxcli.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "esxi/vim_xml.h"
#include "lib/buf.h"
#include "lib/log.h"

#define ESXCLI_COMP      "esxcli"
#define ESXCLI_MAX_REPLY ((size_t)8 * 1024 * 1024)

struct esxcli_param {
    char *name;
    char **aliases; /* "--device", "-d" */
    size_t naliases;
};

struct esxcli_method {
    char *name;
    struct esxcli_param *params;
    size_t nparams;
};

struct esxcli_ns {
    char *name; /* "storage.core.device" */
    struct esxcli_method *methods;
    size_t nmethods;
};

struct esxcli {
    struct vim *vim_ref; /* borrowed, must outlive the esxcli */
    char *host;
    char *mme; /* ReflectManagedMethodExecuter moref */
    struct esxcli_ns *ns;
    size_t nns;
    unsigned fetches;
};

static void
ns_clear(struct esxcli_ns *ns)
{
    for (size_t m = 0; m < ns->nmethods; m++) {
        for (size_t p = 0; p < ns->methods[m].nparams; p++) {
            struct esxcli_param *pa = &ns->methods[m].params[p];

            for (size_t a = 0; a < pa->naliases; a++)
                free(pa->aliases[a]);
            free(pa->aliases);
            free(pa->name);
        }
        free(ns->methods[m].params);
        free(ns->methods[m].name);
    }
    free(ns->methods);
    free(ns->name);
}

void
esxcli_free(struct esxcli *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->nns; i++)
        ns_clear(&e->ns[i]);
    free(e->ns);
    free(e->host);
    free(e->mme);
    free(e);
}

int
esxcli_new(struct vim *v, const char *host_moref, struct esxcli **out, struct perr *err)
{
    struct vim_resp *r = NULL;
    struct esxcli *e = NULL;
    int rc = -1;

    *out = NULL;
    e = calloc(1, sizeof(*e));
    if (e == NULL || (e->host = strdup(host_moref)) == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    e->vim_ref = v;
    if (vim_call(v, "RetrieveManagedMethodExecuter", "HostSystem", host_moref, NULL, &r, err) < 0) {
        perr_prefix(err, "esxcli on host '%s': ", host_moref);
        goto out;
    }
    e->mme = vim_xml_path_text(vim_resp_returnval(r), "");
    if (e->mme == NULL || *e->mme == '\0') {
        perr_set(err, PERR_PROTOCOL, "esxcli on host '%s': no method executer in the reply",
                 host_moref);
        goto out;
    }
    *out = e;
    e = NULL;
    rc = 0;
out:
    vim_resp_free(r);
    esxcli_free(e);
    return rc;
}

unsigned
esxcli_info_fetches(const struct esxcli *e)
{
    return e->fetches;
}

/* Whether an esxcli method only reads (vim.EsxCLI.storage.core.device.list,
 * vim.EsxCLI.vmkfstools.taskGet, vim.CLIInfo.FetchCLIInfo): only those are tried again after
 * a lost answer; a clone or a rescan that may have run is never re-sent blindly. */
static bool
esxcli_method_is_read(const char *method)
{
    static const char *const reads[] = {"list",    "get",      "FetchCLIInfo",
                                        "taskGet", "taskFind", "version"};
    const char *last = strrchr(method, '.');

    last = last != NULL ? last + 1 : method;
    for (size_t i = 0; i < ARRAY_LEN(reads); i++) {
        if (strcmp(last, reads[i]) == 0)
            return true;
    }
    return false;
}

/* ExecuteSoap with one optional argument list; returns the returnval node's doc. */
static int
esxcli_execute(struct esxcli *e, const char *moid, const char *method, const struct buf *args,
               struct vim_resp **out, struct perr *err)
{
    struct buf params = {0};
    int rc = -1;

    if (buf_adds(&params, "<moid>", err) < 0 || buf_add_xml(&params, moid, err) < 0 ||
        buf_adds(&params, "</moid><version>urn:vim25/5.0</version><method>", err) < 0 ||
        buf_add_xml(&params, method, err) < 0 || buf_adds(&params, "</method>", err) < 0 ||
        (args != NULL && buf_add(&params, args->data, args->len, err) < 0))
        goto out;
    if (vim_call_ex(e->vim_ref, "ExecuteSoap", "ReflectManagedMethodExecuter", e->mme, params.data,
                    esxcli_method_is_read(method), out, err) < 0)
        goto out;
    rc = 0;
out:
    buf_free(&params);
    return rc;
}

/* Turns returnval/fault into an error; returns the response text otherwise. */
static int
esxcli_reply(const struct vim_resp *r, const char *what, const char *host, char **response,
             struct perr *err)
{
    xmlNode *rv = vim_resp_returnval(r);
    xmlNode *fault = vim_xml_child(rv, "fault");
    char *msg = NULL;
    char *detail = NULL;
    int rc = -1;

    *response = NULL;
    if (fault != NULL) {
        msg = vim_xml_path_text(fault, "faultMsg");
        detail = vim_xml_path_text(fault, "faultDetail");
        if (detail != NULL && strstr(detail, "NotFound") != NULL &&
            (msg == NULL || strstr(msg, "could not be found") != NULL))
            perr_set_remote(err, PERR_NOT_FOUND, 0, "NotFound",
                            "esxcli %s on host '%s': %s (if the vmkfstools-wrapper VIB was just "
                            "installed, restart hostd on that host: /etc/init.d/hostd restart)",
                            what, host, msg != NULL ? msg : "not found");
        else
            perr_set_remote(err, PERR_REMOTE, 0, "CLIFault", "esxcli %s on host '%s': %s", what,
                            host, msg != NULL ? msg : "CLI fault");
        goto out;
    }
    *response = vim_xml_path_text(rv, "response");
    if (*response == NULL) {
        perr_set(err, PERR_PROTOCOL, "esxcli %s on host '%s': reply has no response", what, host);
        goto out;
    }
    rc = 0;
out:
    free(msg);
    free(detail);
    return rc;
}

static int
parse_cli_info(const char *xml, const char *nsname, struct esxcli_ns *ns, struct perr *err)
{
    xmlDoc *doc = NULL;
    xmlNode *root;
    int rc = -1;

    if (vim_xml_parse(xml, strlen(xml), ESXCLI_MAX_REPLY, &doc, err) < 0)
        goto out;
    root = xmlDocGetRootElement(doc);
    ns->name = strdup(nsname);
    if (ns->name == NULL)
        goto nomem;
    for (xmlNode *m = vim_xml_child(root, "method"); m != NULL; m = vim_xml_next_same(m)) {
        struct esxcli_method *grown = realloc(ns->methods, (ns->nmethods + 1) * sizeof(*grown));
        struct esxcli_method *me;

        if (grown == NULL)
            goto nomem;
        ns->methods = grown;
        me = &ns->methods[ns->nmethods++];
        memset(me, 0, sizeof(*me));
        me->name = vim_xml_path_text(m, "name");
        if (me->name == NULL)
            goto nomem;
        for (xmlNode *p = vim_xml_child(m, "param"); p != NULL; p = vim_xml_next_same(p)) {
            struct esxcli_param *pg = realloc(me->params, (me->nparams + 1) * sizeof(*pg));
            struct esxcli_param *pa;

            if (pg == NULL)
                goto nomem;
            me->params = pg;
            pa = &me->params[me->nparams++];
            memset(pa, 0, sizeof(*pa));
            pa->name = vim_xml_path_text(p, "name");
            if (pa->name == NULL)
                goto nomem;
            for (xmlNode *a = vim_xml_child(p, "aliases"); a != NULL; a = vim_xml_next_same(a)) {
                char **ag = realloc(pa->aliases, (pa->naliases + 1) * sizeof(*ag));

                if (ag == NULL)
                    goto nomem;
                pa->aliases = ag;
                if (vim_xml_text_dup(a, &pa->aliases[pa->naliases], err) < 0)
                    goto out;
                pa->naliases++;
            }
        }
    }
    rc = 0;
    goto out;
nomem:
    perr_set(err, PERR_NOMEM, "out of memory");
out:
    xmlFreeDoc(doc);
    return rc;
}

static const struct esxcli_ns *
esxcli_namespace(struct esxcli *e, const char *nsname, struct perr *err)
{
    struct vim_resp *r = NULL;
    struct buf args = {0};
    struct buf inner = {0};
    struct esxcli_ns ns = {0};
    struct esxcli_ns *grown;
    char *response = NULL;
    const struct esxcli_ns *found = NULL;

    for (size_t i = 0; i < e->nns; i++) {
        if (strcmp(e->ns[i].name, nsname) == 0)
            return &e->ns[i];
    }
    if (buf_adds(&inner, "<typeName>vim.EsxCLI.", err) < 0 ||
        buf_add_xml(&inner, nsname, err) < 0 || buf_adds(&inner, "</typeName>", err) < 0 ||
        buf_adds(&args, "<argument><name>typeName</name><val>", err) < 0 ||
        buf_add_xml(&args, buf_cstr(&inner), err) < 0 ||
        buf_adds(&args, "</val></argument>", err) < 0)
        goto out;
    e->fetches++;
    if (esxcli_execute(e, "ha-dynamic-type-manager-local-cli-cliinfo", "vim.CLIInfo.FetchCLIInfo",
                       &args, &r, err) < 0 ||
        esxcli_reply(r, nsname, e->host, &response, err) < 0 ||
        parse_cli_info(response, nsname, &ns, err) < 0)
        goto out;
    grown = realloc(e->ns, (e->nns + 1) * sizeof(*grown));
    if (grown == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    e->ns = grown;
    e->ns[e->nns] = ns;
    memset(&ns, 0, sizeof(ns));
    found = &e->ns[e->nns++];
out:
    ns_clear(&ns);
    free(response);
    buf_free(&args);
    buf_free(&inner);
    vim_resp_free(r);
    return found;
}

static const struct esxcli_param *
find_param(const struct esxcli_method *m, const char *opt)
{
    for (size_t p = 0; p < m->nparams; p++) {
        for (size_t a = 0; a < m->params[p].naliases; a++) {
            if (strcmp(m->params[p].aliases[a], opt) == 0)
                return &m->params[p];
        }
    }
    return NULL;
}

void
esxcli_result_free(struct esxcli_result *res)
{
    for (size_t i = 0; i < res->nrows; i++) {
        for (size_t f = 0; f < res->rows[i].nfields; f++) {
            free(res->rows[i].fields[f].name);
            free(res->rows[i].fields[f].value);
        }
        free(res->rows[i].fields);
    }
    free(res->rows);
    res->rows = NULL;
    res->nrows = 0;
}

static int
row_add(struct esxcli_row *row, const char *name, const char *value, struct perr *err)
{
    struct esxcli_field *grown;

    for (size_t f = 0; f < row->nfields; f++) {
        if (strcmp(row->fields[f].name, name) == 0) {
            /* Repeated elements (a list field) are joined. */
            size_t n = strlen(row->fields[f].value) + strlen(value) + 2;
            char *j = malloc(n);

            if (j == NULL)
                return perr_set(err, PERR_NOMEM, "out of memory");
            snprintf(j, n, "%s,%s", row->fields[f].value, value);
            free(row->fields[f].value);
            row->fields[f].value = j;
            return 0;
        }
    }
    grown = realloc(row->fields, (row->nfields + 1) * sizeof(*grown));
    if (grown == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    row->fields = grown;
    grown[row->nfields].name = strdup(name);
    grown[row->nfields].value = strdup(value);
    row->nfields++;
    if (grown[row->nfields - 1].name == NULL || grown[row->nfields - 1].value == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    return 0;
}

static int
row_from_element(const xmlNode *obj, struct esxcli_result *res, struct perr *err)
{
    struct esxcli_row *grown = realloc(res->rows, (res->nrows + 1) * sizeof(*grown));
    struct esxcli_row *row;

    if (grown == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    res->rows = grown;
    row = &res->rows[res->nrows++];
    memset(row, 0, sizeof(*row));
    for (xmlNode *c = obj->children; c != NULL; c = c->next) {
        char *v = NULL;
        int rc;

        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (vim_xml_text_dup(c, &v, err) < 0)
            return -1;
        rc = row_add(row, (const char *)c->name, v, err);
        free(v);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int
esxcli_parse_response(const char *xml, size_t len, struct esxcli_result *res, struct perr *err)
{
    xmlDoc *doc = NULL;
    xmlNode *root;
    char *type = NULL;
    char *text = NULL;
    int rc = -1;

    memset(res, 0, sizeof(*res));
    if (vim_xml_parse(xml, len, ESXCLI_MAX_REPLY, &doc, err) < 0)
        goto out;
    root = xmlDocGetRootElement(doc);
    type = vim_xml_xsi_type(root);
    if (type != NULL && strcmp(type, "ArrayOfDataObject") == 0) {
        for (xmlNode *d = vim_xml_child(root, "DataObject"); d != NULL; d = vim_xml_next_same(d)) {
            if (row_from_element(d, res, err) < 0)
                goto out;
        }
    } else if (type != NULL && (strcmp(type, "string") == 0 || strcmp(type, "boolean") == 0 ||
                                strcmp(type, "long") == 0 || strcmp(type, "int") == 0)) {
        struct esxcli_row *row = calloc(1, sizeof(*row));

        if (row == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
        res->rows = row;
        res->nrows = 1;
        if (vim_xml_text_dup(root, &text, err) < 0 || row_add(row, "value", text, err) < 0)
            goto out;
    } else if (row_from_element(root, res, err) < 0) {
        goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        esxcli_result_free(res);
    free(type);
    free(text);
    xmlFreeDoc(doc);
    return rc;
}

const char *
esxcli_get(const struct esxcli_result *res, size_t i, const char *name)
{
    if (i >= res->nrows)
        return NULL;
    for (size_t f = 0; f < res->rows[i].nfields; f++) {
        if (strcmp(res->rows[i].fields[f].name, name) == 0)
            return res->rows[i].fields[f].value;
    }
    return NULL;
}

int
esxcli_run(struct esxcli *e, const char *const argv[], struct esxcli_result *res, struct perr *err)
{
    const struct esxcli_method *method = NULL;
    const struct esxcli_ns *ns;
    struct vim_resp *r = NULL;
    struct buf nsname = {0};
    struct buf moid = {0};
    struct buf mname = {0};
    struct buf args = {0};
    struct buf cmdline = {0};
    char *response = NULL;
    size_t nwords = 0;
    int rc = -1;

    memset(res, 0, sizeof(*res));
    while (argv[nwords] != NULL && argv[nwords][0] != '-')
        nwords++;
    if (nwords < 2) {
        perr_set(err, PERR_INTERNAL, "esxcli: command needs a namespace and a command");
        goto out;
    }
    for (size_t i = 0; argv[i] != NULL; i++)
        buf_addf(&cmdline, err, "%s%s", i > 0 ? " " : "", argv[i]);
    if (buf_adds(&moid, "ha-cli-handler", err) < 0)
        goto out;
    for (size_t i = 0; i + 1 < nwords; i++) {
        if (buf_addf(&nsname, err, "%s%s", i > 0 ? "." : "", argv[i]) < 0 ||
            buf_addf(&moid, err, "-%s", argv[i]) < 0)
            goto out;
    }
    ns = esxcli_namespace(e, buf_cstr(&nsname), err);
    if (ns == NULL)
        goto out;
    for (size_t m = 0; m < ns->nmethods; m++) {
        if (strcmp(ns->methods[m].name, argv[nwords - 1]) == 0)
            method = &ns->methods[m];
    }
    if (method == NULL) {
        perr_set(err, PERR_NOT_FOUND, "esxcli on host '%s': no command '%s' in namespace '%s'",
                 e->host, argv[nwords - 1], buf_cstr(&nsname));
        goto out;
    }
    for (size_t i = nwords; argv[i] != NULL; i += 2) {
        const struct esxcli_param *p = find_param(method, argv[i]);
        struct buf inner = {0};
        int brc;

        if (p == NULL || argv[i + 1] == NULL) {
            perr_set(err, PERR_INTERNAL, "esxcli %s: option '%s' %s", buf_cstr(&cmdline), argv[i],
                     p == NULL ? "is not known to the host" : "needs a value");
            goto out;
        }
        /* The value is escaped inside its element, then the element is escaped as the string. */
        brc = buf_addf(&inner, err, "<%s>", p->name) < 0 ||
              buf_add_xml(&inner, argv[i + 1], err) < 0 ||
              buf_addf(&inner, err, "</%s>", p->name) < 0 ||
              buf_adds(&args, "<argument><name>", err) < 0 ||
              buf_add_xml(&args, p->name, err) < 0 || buf_adds(&args, "</name><val>", err) < 0 ||
              buf_add_xml(&args, buf_cstr(&inner), err) < 0 ||
              buf_adds(&args, "</val></argument>", err) < 0;
        buf_free(&inner);
        if (brc)
            goto out;
    }
    if (buf_addf(&mname, err, "vim.EsxCLI.%s.%s", buf_cstr(&nsname), method->name) < 0)
        goto out;
    log_debug(ESXCLI_COMP, "esxcli", "host", e->host, "command", buf_cstr(&cmdline), NULL);
    if (esxcli_execute(e, buf_cstr(&moid), buf_cstr(&mname), &args, &r, err) < 0 ||
        esxcli_reply(r, buf_cstr(&cmdline), e->host, &response, err) < 0)
        goto out;
    if (esxcli_parse_response(response, strlen(response), res, err) < 0) {
        perr_prefix(err, "esxcli %s on host '%s': ", buf_cstr(&cmdline), e->host);
        goto out;
    }
    rc = 0;
out:
    free(response);
    vim_resp_free(r);
    buf_free(&nsname);
    buf_free(&moid);
    buf_free(&mname);
    buf_free(&args);
    buf_free(&cmdline);
    return rc;
}
