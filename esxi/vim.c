#include "esxi/vim.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "esxi/vim_xml.h"
#include "lib/buf.h"
#include "lib/deadline.h"
#include "lib/log.h"

#define VIM_COMP              "vsphere"
#define VIM_DEFAULT_MAX_REPLY ((size_t)32 * 1024 * 1024)
#define VIM_RETRY_ATTEMPTS    4
#define VIM_RETRY_INITIAL_MS  250L
#define VIM_RETRY_MAX_MS      4000L

int
vim_url_normalise(const char *host, char **url, char **base, struct perr *err)
{
    const char *p = host;
    const char *slash;
    struct buf u = {0};
    struct buf b = {0};
    int rc = -1;

    *url = NULL;
    *base = NULL;
    while (*p == ' ')
        p++;
    if (strncasecmp(p, "https://", 8) == 0) {
        p += 8;
    } else if (strstr(p, "://") != NULL) {
        perr_set(err, PERR_USAGE,
                 "--vsphere-hostname (GOVMOMI_HOSTNAME): '%s' is not an https:// URL or a host "
                 "name",
                 host);
        goto out;
    }
    slash = strchr(p, '/');
    if ((slash != NULL ? (size_t)(slash - p) : strlen(p)) == 0 ||
        strcspn(p, " \t\r\n?#@") < (slash != NULL ? (size_t)(slash - p) : strlen(p))) {
        perr_set(err, PERR_USAGE, "--vsphere-hostname (GOVMOMI_HOSTNAME): invalid host '%s'", host);
        goto out;
    }
    if (buf_adds(&b, "https://", err) < 0 ||
        buf_add(&b, p, slash != NULL ? (size_t)(slash - p) : strlen(p), err) < 0 ||
        buf_adds(&u, buf_cstr(&b), err) < 0)
        goto out;
    /* The Go populator adds /sdk when the URL has no path; keep a path that is given. */
    if (slash == NULL || strcmp(slash, "/") == 0) {
        if (buf_adds(&u, "/sdk", err) < 0)
            goto out;
    } else if (buf_adds(&u, slash, err) < 0) {
        goto out;
    }
    *url = buf_steal(&u);
    *base = buf_steal(&b);
    if (*url == NULL || *base == NULL) {
        free(*url);
        free(*base);
        *url = *base = NULL;
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    buf_free(&u);
    buf_free(&b);
    return rc;
}

static enum perr_code
vim_fault_code(const char *type)
{
    static const char *const auth[] = {"NotAuthenticated", "InvalidLogin", "NoPermission"};
    static const char *const missing[] = {"ManagedObjectNotFound", "NotFound", "FileNotFound",
                                          "InvalidDatastorePath"};

    for (size_t i = 0; i < ARRAY_LEN(auth); i++) {
        if (strcmp(type, auth[i]) == 0)
            return PERR_AUTH;
    }
    for (size_t i = 0; i < ARRAY_LEN(missing); i++) {
        if (strcmp(type, missing[i]) == 0)
            return PERR_NOT_FOUND;
    }
    return PERR_REMOTE;
}

void
vim_fault_to_perr(xmlDoc *doc, long http_status, const char *method, struct perr *err)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *fault = vim_xml_path(root, "Body/Fault");
    xmlNode *detail = NULL;
    char *text = NULL;
    char *type = NULL;

    if (fault == NULL) {
        perr_set_remote(err, PERR_HTTP, http_status, "",
                        "vSphere %s: HTTP %ld without a SOAP fault", method, http_status);
        return;
    }
    text = vim_xml_path_text(fault, "faultstring");
    detail = vim_xml_first_element(vim_xml_child(fault, "detail"));
    if (detail != NULL) {
        type = vim_xml_xsi_type(detail);
        if (type == NULL) {
            /* <NotAuthenticatedFault> without xsi:type: the element name says it. */
            size_t n = strlen((const char *)detail->name);

            type = strdup((const char *)detail->name);
            if (type != NULL && n > 5 && strcmp(type + n - 5, "Fault") == 0)
                type[n - 5] = '\0';
        }
    }
    perr_set_remote(err, vim_fault_code(type != NULL ? type : ""), http_status,
                    type != NULL ? type : "", "vSphere %s: %s%s%s", method,
                    type != NULL ? type : "SOAP fault", text != NULL && *text != '\0' ? ": " : "",
                    text != NULL ? text : "");
    free(text);
    free(type);
}

int
vim_parse_reply(const char *body, size_t len, size_t max, const char *method, long http_status,
                struct vim_resp **out, struct perr *err)
{
    struct vim_resp *r = NULL;
    xmlDoc *doc = NULL;
    xmlNode *bodynode;
    int rc = -1;

    *out = NULL;
    if (vim_xml_parse(body, len, max, &doc, err) < 0) {
        perr_prefix(err, "vSphere %s: ", method);
        goto out;
    }
    if (http_status != 200) {
        vim_fault_to_perr(doc, http_status, method, err);
        goto out;
    }
    bodynode = vim_xml_child(xmlDocGetRootElement(doc), "Body");
    if (bodynode == NULL || vim_xml_first_element(bodynode) == NULL) {
        perr_set(err, PERR_PROTOCOL, "vSphere %s: reply has no SOAP body", method);
        goto out;
    }
    if (vim_xml_is(vim_xml_first_element(bodynode), "Fault")) {
        vim_fault_to_perr(doc, http_status, method, err);
        goto out;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    r->response = vim_xml_first_element(bodynode);
    r->doc = doc;
    doc = NULL;
    *out = r;
    rc = 0;
out:
    xmlFreeDoc(doc);
    return rc;
}

static int
vim_send(struct vim *v, const char *method, const char *this_type, const char *this_value,
         const char *params, bool idempotent, struct vim_resp **out, struct perr *err)
{
    struct http_resp resp = {0};
    struct http_req req = {0};
    struct buf env = {0};
    struct buf action = {0};
    const char *headers[2] = {NULL, NULL};
    int rc = -1;

    *out = NULL;
    if (buf_adds(&env,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                 "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
                 "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
                 "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body><",
                 err) < 0 ||
        buf_adds(&env, method, err) < 0 ||
        buf_adds(&env, " xmlns=\"urn:vim25\"><_this type=\"", err) < 0 ||
        buf_add_xml(&env, this_type, err) < 0 || buf_adds(&env, "\">", err) < 0 ||
        buf_add_xml(&env, this_value, err) < 0 || buf_adds(&env, "</_this>", err) < 0 ||
        buf_adds(&env, params != NULL ? params : "", err) < 0 ||
        buf_addf(&env, err, "</%s></soapenv:Body></soapenv:Envelope>", method) < 0)
        goto out;
    if (buf_addf(&action, err, "SOAPAction: \"urn:vim25/%s\"",
                 v->sc.api_version != NULL ? v->sc.api_version : "6.5") < 0)
        goto out;
    headers[0] = buf_cstr(&action);
    req.method = "POST";
    req.url = v->url;
    req.content_type = "text/xml; charset=utf-8";
    req.headers = headers;
    req.body = env.data;
    req.body_len = env.len;
    req.idempotent = idempotent;
    v->calls++;
    if (http_perform(&v->http, &req, &resp, err) < 0) {
        perr_prefix(err, "vSphere %s: ", method);
        goto out;
    }
    if (resp.status != 200 && resp.status != 500) {
        perr_set_remote(err, resp.status == 401 || resp.status == 403 ? PERR_AUTH : PERR_HTTP,
                        resp.status, "", "vSphere %s: unexpected HTTP status %ld from '%s'", method,
                        resp.status, v->base);
        goto out;
    }
    if (vim_parse_reply(buf_cstr(&resp.body), resp.body.len, v->max_reply, method, resp.status, out,
                        err) < 0)
        goto out;
    rc = 0;
out:
    /* The envelope may hold the Login password. */
    buf_free_secret(&env);
    buf_free(&action);
    http_resp_free(&resp);
    return rc;
}

static int
vim_login(struct vim *v, struct perr *err)
{
    struct vim_resp *r = NULL;
    struct buf params = {0};
    int rc = -1;

    if (buf_adds(&params, "<userName>", err) < 0 || buf_add_xml(&params, v->user, err) < 0 ||
        buf_adds(&params, "</userName><password>", err) < 0 ||
        buf_add_xml(&params, v->password, err) < 0 || buf_adds(&params, "</password>", err) < 0)
        goto out;
    if (vim_send(v, "Login", "SessionManager", v->sc.session_manager, params.data, false, &r, err) <
        0) {
        if (err->code == PERR_AUTH)
            perr_prefix(err, "login to '%s' as '%s' failed: ", v->base, v->user);
        goto out;
    }
    v->logged_in = true;
    log_debug(VIM_COMP, "logged in", "url", v->url, "user", v->user, NULL);
    rc = 0;
out:
    buf_free_secret(&params);
    vim_resp_free(r);
    return rc;
}

static int
vim_service_content(struct vim *v, struct perr *err)
{
    struct vim_resp *r = NULL;
    xmlNode *rv;
    int rc = -1;

    if (vim_call_ex(v, "RetrieveServiceContent", "ServiceInstance", "ServiceInstance", NULL, true,
                    &r, err) < 0)
        goto out;
    rv = vim_xml_child(r->response, "returnval");
    v->sc.root_folder = vim_xml_path_text(rv, "rootFolder");
    v->sc.property_collector = vim_xml_path_text(rv, "propertyCollector");
    v->sc.session_manager = vim_xml_path_text(rv, "sessionManager");
    v->sc.search_index = vim_xml_path_text(rv, "searchIndex");
    v->sc.view_manager = vim_xml_path_text(rv, "viewManager");
    v->sc.file_manager = vim_xml_path_text(rv, "fileManager");
    v->sc.api_version = vim_xml_path_text(rv, "about/apiVersion");
    if (v->sc.root_folder == NULL || v->sc.property_collector == NULL ||
        v->sc.session_manager == NULL) {
        perr_set(err, PERR_PROTOCOL,
                 "vSphere RetrieveServiceContent: reply from '%s' lacks rootFolder, "
                 "propertyCollector or sessionManager",
                 v->base);
        goto out;
    }
    rc = 0;
out:
    vim_resp_free(r);
    return rc;
}

int
vim_open(const struct vim_opts *opts, struct vim **out, struct perr *err)
{
    struct http_opts ho = {0};
    struct vim *v = NULL;
    int rc = -1;

    *out = NULL;
    v = calloc(1, sizeof(*v));
    if (v == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    v->max_reply = opts->max_reply != 0 ? opts->max_reply : VIM_DEFAULT_MAX_REPLY;
    if (vim_url_normalise(opts->host, &v->url, &v->base, err) < 0)
        goto out;
    v->user = strdup(opts->user);
    v->password = strdup(opts->password);
    if (v->user == NULL || v->password == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    /* The Login body carries it XML-escaped; a fault or trace may echo it. */
    log_add_secret_encodings(v->user, v->password);
    ho.component = "http.vsphere";
    ho.ca_pem = opts->ca_pem;
    ho.ca_file = opts->ca_file;
    ho.insecure = opts->insecure;
    ho.tls_hint = "give vCenter's CA as cacert in the secret, or set GOVMOMI_INSECURE=true";
    ho.timeout_ms = opts->timeout_ms;
    ho.max_body = v->max_reply;
    if (http_transport_curl_new(&ho, &v->http, err) < 0)
        goto out;
    if (vim_service_content(v, err) < 0 || vim_login(v, err) < 0)
        goto out;
    *out = v;
    v = NULL;
    rc = 0;
out:
    vim_close(v);
    return rc;
}

bool
vim_method_is_read(const char *method)
{
    /* Calls that only read: sending one twice changes nothing on the server. */
    static const char *const reads[] = {
        "RetrieveServiceContent",
        "RetrievePropertiesEx",
        "ContinueRetrievePropertiesEx",
        "RetrieveProperties",
        "FindByUuid",
        "FindByInventoryPath",
        "FindByDnsName",
        "FindByIp",
        "RetrieveManagedMethodExecuter",
        "RetrieveDynamicTypeManager",
        "QueryConfiguredModuleOptionString",
        "WaitForUpdatesEx",
        "CurrentTime",
    };

    for (size_t i = 0; i < ARRAY_LEN(reads); i++) {
        if (strcmp(method, reads[i]) == 0)
            return true;
    }
    return false;
}

/* A blip worth another try: no answer at all, or an HTTP answer without a SOAP body from a
 * proxy or a service that is restarting.  A SOAP fault is the server's verdict and is not. */
static bool
vim_transient(const struct perr *e)
{
    if (e->code == PERR_TIMEOUT || e->code == PERR_NETWORK)
        return true;
    return e->code == PERR_HTTP && (e->http_status == 429 || e->http_status == 502 ||
                                    e->http_status == 503 || e->http_status == 504);
}

int
vim_call_ex(struct vim *v, const char *method, const char *this_type, const char *this_value,
            const char *params, bool idempotent, struct vim_resp **out, struct perr *err)
{
    struct backoff bo;
    bool relogged = false;

    *out = NULL;
    backoff_init(&bo, v->retry_initial_ms > 0 ? v->retry_initial_ms : VIM_RETRY_INITIAL_MS,
                 VIM_RETRY_MAX_MS, 2.0, 0.2, VIM_RETRY_ATTEMPTS);
    for (;;) {
        struct perr attempt = {0};
        long delay;

        if (vim_send(v, method, this_type, this_value, params, idempotent, out, &attempt) == 0)
            return 0;
        /* vCenter drops idle sessions; log in again once, as the Go client's keep-alive would. */
        if (strcmp(attempt.remote_code, "NotAuthenticated") == 0 && v->logged_in && !relogged) {
            log_info(VIM_COMP, "session expired, logging in again", "url", v->url, NULL);
            relogged = true;
            /* The old cookie names a dead session; a Login that sends it is refused. */
            if (http_cookie_clear(&v->http, err) < 0 || vim_login(v, err) < 0)
                return -1;
            continue;
        }
        /* Only a read is tried again: a call that may have acted is left to the caller, who
         * reads the state back before deciding (a replay could start a second task). */
        delay = idempotent && vim_transient(&attempt) ? backoff_next_ms(&bo) : -1;
        if (delay < 0) {
            *err = err->code == PERR_OK ? attempt : *err;
            return -1;
        }
        v->retries++;
        log_warn(VIM_COMP, "vSphere call failed, trying again", "method", method, "error",
                 attempt.msg, NULL);
        if (wait_ms(delay, NULL, err) < 0) {
            perr_prefix(err, "vSphere %s: ", method);
            return -1;
        }
    }
}

int
vim_call(struct vim *v, const char *method, const char *this_type, const char *this_value,
         const char *params, struct vim_resp **out, struct perr *err)
{
    return vim_call_ex(v, method, this_type, this_value, params, vim_method_is_read(method), out,
                       err);
}

void
vim_resp_free(struct vim_resp *r)
{
    if (r == NULL)
        return;
    xmlFreeDoc(r->doc);
    free(r);
}

xmlNode *
vim_resp_returnval(const struct vim_resp *r)
{
    return r != NULL ? vim_xml_child(r->response, "returnval") : NULL;
}

void
vim_close(struct vim *v)
{
    if (v == NULL)
        return;
    if (v->logged_in) {
        struct vim_resp *r = NULL;
        struct perr tmp = {0};

        if (vim_send(v, "Logout", "SessionManager", v->sc.session_manager, NULL, false, &r, &tmp) <
            0)
            log_warn(VIM_COMP, "logout failed", "error", tmp.msg, NULL);
        vim_resp_free(r);
    }
    if (v->http.free != NULL)
        http_transport_free(&v->http);
    free(v->vm_ref);
    free(v->vm_host);
    free(v->sd_host);
    vim_resp_free(v->sd_resp);
    free(v->url);
    free(v->base);
    free(v->user);
    if (v->password != NULL) {
        OPENSSL_cleanse(v->password, strlen(v->password));
        free(v->password);
    }
    free(v->sc.root_folder);
    free(v->sc.property_collector);
    free(v->sc.session_manager);
    free(v->sc.search_index);
    free(v->sc.view_manager);
    free(v->sc.file_manager);
    free(v->sc.api_version);
    free(v);
}
