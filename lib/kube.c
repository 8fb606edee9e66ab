#include "lib/kube.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <yaml.h>

#include "lib/buf.h"
#include "lib/http.h"
#include "lib/jsonx.h"
#include "lib/log.h"
#include "lib/rest.h"
#include "lib/strv.h"

#define KUBE_COMP               "kube"
#define KUBE_FILE_MAX           ((size_t)4 * 1024 * 1024)
#define KUBE_DEFAULT_TIMEOUT_MS 30000L
#define KUBE_GET_ATTEMPTS       3

/* The RBAC the plan controller creates for the populator
 * (forklift-populator-behaviour §2.1); named in 401/403 messages. */
const struct kube_res kube_res_pvc = {
    .api = "/api/v1",
    .plural = "persistentvolumeclaims",
    .namespaced = true,
    .rbac_hint = "the controller grants it with Role 'populator-pvc-reader' (bound to service "
                 "account 'populator') in the target namespace",
};
const struct kube_res kube_res_pv = {
    .api = "/api/v1",
    .plural = "persistentvolumes",
    .namespaced = false,
    .rbac_hint = "the controller grants it with ClusterRole 'populator-pv-reader' (bound to "
                 "service account 'populator')",
};
const struct kube_res kube_res_lease = {
    .api = "/apis/coordination.k8s.io/v1",
    .plural = "leases",
    .namespaced = true,
    .rbac_hint = "the controller grants lease access only in 'openshift-mtv' (Role "
                 "'populator-lease-reader') and in the target namespace (Role "
                 "'populator-pvc-reader'); check HOST_LEASE_NAMESPACE",
};
const struct kube_res kube_res_namespace = {
    .api = "/api/v1",
    .plural = "namespaces",
    .namespaced = false,
    .rbac_hint = "the populator is not granted access to namespaces",
};

struct kube {
    struct kube_config *cfg;
    struct rest *rest;        /* the request path: retries, status mapping, the transport */
    pthread_mutex_t lock;     /* held by rest around each exchange: the transport is
                                 single-threaded; never held while waiting to retry */
    pthread_mutex_t tok_lock; /* cfg->token: read by every request, replaced after a 401 */
};

/* ---- small helpers ---- */

static char *
dup_or_null(const char *s, struct perr *err)
{
    char *d;

    if (s == NULL)
        return NULL;
    d = strdup(s);
    if (d == NULL)
        perr_set(err, PERR_NOMEM, "out of memory");
    return d;
}

static const char *
env_lookup(const char *const *envp, const char *name)
{
    size_t n = strlen(name);

    if (envp == NULL)
        return getenv(name);
    for (; *envp != NULL; envp++) {
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
            return *envp + n + 1;
    }
    return NULL;
}

static bool
empty(const char *s)
{
    return s == NULL || *s == '\0';
}

/* Reads a whole (small) file.  what names it in messages. */
static int
read_file(const char *path, const char *what, char **out, size_t *len_out, struct perr *err)
{
    struct buf b;
    FILE *f = NULL;
    char chunk[4096];
    size_t n;
    int rc = -1;

    *out = NULL;
    buf_init(&b, KUBE_FILE_MAX);
    f = fopen(path, "rb");
    if (f == NULL) {
        perr_set(err, PERR_CONFIG, "cannot read %s '%s': %s", what, path, strerror(errno));
        goto out;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_add(&b, chunk, n, err) < 0) {
            perr_prefix(err, "%s '%s': ", what, path);
            goto out;
        }
    }
    if (ferror(f)) {
        perr_set(err, PERR_CONFIG, "cannot read %s '%s': read error", what, path);
        goto out;
    }
    if (buf_adds(&b, "", err) < 0)
        goto out;
    if (len_out != NULL)
        *len_out = b.len;
    *out = buf_steal(&b);
    if (*out == NULL) {
        *out = strdup("");
        if (*out == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
    }
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    buf_free_secret(&b);
    return rc;
}

/* Reads a token file and strips surrounding white space, as client-go does. */
static int
read_token(const char *path, char **out, struct perr *err)
{
    char *t = NULL;
    size_t len = 0;
    size_t start = 0;

    *out = NULL;
    if (read_file(path, "token file", &t, &len, err) < 0)
        return -1;
    while (len > 0 && strchr(" \t\r\n", t[len - 1]) != NULL)
        t[--len] = '\0';
    while (start < len && strchr(" \t\r\n", t[start]) != NULL)
        start++;
    if (start == len) {
        str_free_secret(t);
        return perr_set(err, PERR_CONFIG, "token file '%s' is empty", path);
    }
    if (start > 0)
        memmove(t, t + start, len - start + 1);
    log_add_secret(t);
    *out = t;
    return 0;
}

int
kube_base64_decode(const char *in, const char *what, char **out, size_t *len, struct perr *err)
{
    EVP_ENCODE_CTX *ctx = NULL;
    unsigned char *dec = NULL;
    size_t inlen = strlen(in);
    int n1 = 0;
    int n2 = 0;
    int rc = -1;

    *out = NULL;
    if (len != NULL)
        *len = 0;
    if (inlen > (size_t)1 << 30) {
        perr_set(err, PERR_CONFIG, "%s: base64 value too large", what);
        goto out;
    }
    ctx = EVP_ENCODE_CTX_new();
    dec = malloc(inlen / 4 * 3 + 4);
    if (ctx == NULL || dec == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    EVP_DecodeInit(ctx);
    if (EVP_DecodeUpdate(ctx, dec, &n1, (const unsigned char *)in, (int)inlen) < 0 ||
        EVP_DecodeFinal(ctx, dec + n1, &n2) < 0) {
        perr_set(err, PERR_CONFIG, "%s: not valid base64", what);
        goto out;
    }
    dec[n1 + n2] = '\0';
    if (len != NULL)
        *len = (size_t)(n1 + n2);
    *out = (char *)dec;
    dec = NULL;
    rc = 0;
out:
    EVP_ENCODE_CTX_free(ctx);
    if (dec != NULL) {
        OPENSSL_cleanse(dec, inlen / 4 * 3 + 4);
        free(dec);
    }
    return rc;
}

/* "https://h:p/" -> "https://h:p"; only http(s) URLs. */
static int
set_server(struct kube_config *c, const char *url, const char *from, struct perr *err)
{
    size_t n;

    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        return perr_set(err, PERR_CONFIG, "%s: server '%s' is not an http:// or https:// URL", from,
                        url);
    free(c->server);
    c->server = strdup(url);
    if (c->server == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    n = strlen(c->server);
    while (n > 0 && c->server[n - 1] == '/')
        c->server[--n] = '\0';
    return 0;
}

void
kube_config_free(struct kube_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->server);
    free(cfg->ca_file);
    free(cfg->ca_pem);
    str_free_secret(cfg->token);
    free(cfg->token_file);
    free(cfg->cert_pem);
    str_free_secret(cfg->key_pem);
    free(cfg->namespace);
    free(cfg->source);
    free(cfg);
}

static struct kube_config *
config_new(const char *kind, const char *arg, struct perr *err)
{
    struct kube_config *c = calloc(1, sizeof(*c));
    struct buf b = {0};

    if (c == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        return NULL;
    }
    if (buf_addf(&b, err, "%s '%s'", kind, arg) < 0) {
        free(c);
        return NULL;
    }
    c->source = buf_steal(&b);
    c->timeout_ms = KUBE_DEFAULT_TIMEOUT_MS;
    return c;
}

/* ---- in-cluster ---- */

int
kube_config_in_cluster(const char *dir, const char *host, const char *port, const char *master,
                       struct kube_config **out, struct perr *err)
{
    struct kube_config *c = NULL;
    struct buf path = {0};
    struct buf url = {0};
    char *ns = NULL;
    int rc = -1;

    *out = NULL;
    c = config_new("in-cluster configuration", dir, err);
    if (c == NULL)
        goto out;
    if (!empty(master)) {
        if (set_server(c, master, "--master", err) < 0)
            goto out;
    } else {
        if (empty(host) || empty(port)) {
            perr_set(err, PERR_CONFIG,
                     "in-cluster configuration: KUBERNETES_SERVICE_HOST and "
                     "KUBERNETES_SERVICE_PORT are not set (not running in a pod?); pass "
                     "--kubeconfig or --master");
            goto out;
        }
        /* An IPv6 address needs brackets in a URL. */
        if (buf_addf(&url, err, strchr(host, ':') != NULL ? "https://[%s]:%s" : "https://%s:%s",
                     host, port) < 0 ||
            set_server(c, buf_cstr(&url), "KUBERNETES_SERVICE_HOST", err) < 0)
            goto out;
    }
    if (buf_addf(&path, err, "%s/token", dir) < 0)
        goto out;
    if (read_token(buf_cstr(&path), &c->token, err) < 0) {
        if (empty(master)) {
            perr_prefix(err, "in-cluster configuration (service account token; not running in "
                             "a pod? pass --kubeconfig): ");
            goto out;
        }
        /* --master alone: talk to it without credentials, as client-go does. */
        log_warn(KUBE_COMP, "no service account token; using --master without credentials",
                 "detail", err->msg, NULL);
        perr_clear(err);
    } else {
        c->token_file = buf_steal(&path);
        if (c->token_file == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
    }
    buf_free(&path);
    if (buf_addf(&path, err, "%s/ca.crt", dir) < 0)
        goto out;
    if (access(buf_cstr(&path), R_OK) == 0) {
        c->ca_file = buf_steal(&path);
        if (c->ca_file == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
    } else if (empty(master)) {
        perr_set(err, PERR_CONFIG, "in-cluster configuration: cannot read CA file '%s': %s",
                 buf_cstr(&path), strerror(errno));
        goto out;
    }
    buf_free(&path);
    if (buf_addf(&path, err, "%s/namespace", dir) < 0)
        goto out;
    if (read_file(buf_cstr(&path), "namespace file", &ns, NULL, err) < 0) {
        perr_clear(err); /* optional */
    } else {
        size_t n = strlen(ns);

        while (n > 0 && strchr(" \t\r\n", ns[n - 1]) != NULL)
            ns[--n] = '\0';
        if (n > 0) {
            c->namespace = ns;
            ns = NULL;
        }
    }
    *out = c;
    c = NULL;
    rc = 0;
out:
    free(ns);
    buf_free(&path);
    buf_free(&url);
    kube_config_free(c);
    return rc;
}

/* ---- kubeconfig (libyaml) ---- */

static yaml_node_t *
ymap_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);

        if (k != NULL && k->type == YAML_SCALAR_NODE &&
            strcmp((const char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

/* A scalar's text; NULL for anything else and for YAML nulls. */
static const char *
yscalar(yaml_node_t *n)
{
    const char *s;

    if (n == NULL || n->type != YAML_SCALAR_NODE)
        return NULL;
    s = (const char *)n->data.scalar.value;
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
         strcmp(s, "NULL") == 0 || *s == '\0'))
        return NULL;
    return s;
}

/* In a list of {name: N, <field>: {...}} entries, the <field> of the entry named name. */
static yaml_node_t *
ynamed(yaml_document_t *doc, yaml_node_t *seq, const char *name, const char *field)
{
    if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
        return NULL;
    for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
         i++) {
        yaml_node_t *item = yaml_document_get_node(doc, *i);
        const char *n = yscalar(ymap_get(doc, item, "name"));

        if (n != NULL && strcmp(n, name) == 0) {
            yaml_node_t *f = ymap_get(doc, item, field);

            /* "cluster: {}" or a missing body still names an entry. */
            return f;
        }
    }
    return NULL;
}

static bool
ynamed_exists(yaml_document_t *doc, yaml_node_t *seq, const char *name)
{
    if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
        return false;
    for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
         i++) {
        const char *n = yscalar(ymap_get(doc, yaml_document_get_node(doc, *i), "name"));

        if (n != NULL && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

/* YAML 1.1 booleans, as sigs.k8s.io/yaml reads them. */
static int
ybool(const char *s, const char *what, bool *out, struct perr *err)
{
    static const char *const yes[] = {"true", "yes", "on", "y"};
    static const char *const no[] = {"false", "no", "off", "n"};

    *out = false;
    if (s == NULL)
        return 0;
    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    }
    return perr_set(err, PERR_CONFIG, "%s: '%s' is not a boolean", what, s);
}

/* A path from the kubeconfig: relative ones are relative to its directory. */
static int
kc_path(const char *kubeconfig, const char *p, char **out, struct perr *err)
{
    struct buf b = {0};
    const char *slash = strrchr(kubeconfig, '/');

    *out = NULL;
    if (p[0] == '/' || slash == NULL) {
        *out = strdup(p);
        if (*out == NULL)
            return perr_set(err, PERR_NOMEM, "out of memory");
        return 0;
    }
    if (buf_add(&b, kubeconfig, (size_t)(slash - kubeconfig) + 1, err) < 0 ||
        buf_adds(&b, p, err) < 0) {
        buf_free(&b);
        return -1;
    }
    *out = buf_steal(&b);
    return 0;
}

/* Reads "<field>-data" (base64) or "<field>" (a file) into a PEM string. */
static int
kc_pem(const char *kubeconfig, yaml_document_t *doc, yaml_node_t *map, const char *field,
       const char *owner, char **out, bool secret, struct perr *err)
{
    char key[64];
    char what[160];
    const char *data;
    const char *file;
    char *path = NULL;
    int rc = -1;

    *out = NULL;
    snprintf(key, sizeof(key), "%s-data", field);
    data = yscalar(ymap_get(doc, map, key));
    file = yscalar(ymap_get(doc, map, field));
    if (data != NULL) {
        snprintf(what, sizeof(what), "kubeconfig '%s': %s of '%s'", kubeconfig, key, owner);
        if (kube_base64_decode(data, what, out, NULL, err) < 0)
            goto out;
    } else if (file != NULL) {
        snprintf(what, sizeof(what), "%s of '%s' in kubeconfig '%s'", field, owner, kubeconfig);
        if (kc_path(kubeconfig, file, &path, err) < 0 || read_file(path, what, out, NULL, err) < 0)
            goto out;
    }
    if (*out != NULL && secret)
        log_add_secret(*out);
    rc = 0;
out:
    free(path);
    return rc;
}

static int
kc_cluster(const char *path, yaml_document_t *doc, yaml_node_t *cl, const char *name,
           const char *master, struct kube_config *c, struct perr *err)
{
    const char *server = yscalar(ymap_get(doc, cl, "server"));
    const char *ca = yscalar(ymap_get(doc, cl, "certificate-authority"));
    char what[300];

    snprintf(what, sizeof(what), "kubeconfig '%s': cluster '%s'", path, name);
    if (!empty(master)) {
        if (set_server(c, master, "--master", err) < 0)
            return -1;
    } else if (server == NULL) {
        return perr_set(err, PERR_CONFIG, "%s has no server (or pass --master)", what);
    } else if (set_server(c, server, what, err) < 0) {
        return -1;
    }
    if (yscalar(ymap_get(doc, cl, "certificate-authority-data")) != NULL) {
        if (kc_pem(path, doc, cl, "certificate-authority", name, &c->ca_pem, false, err) < 0)
            return -1;
    } else if (ca != NULL) {
        if (kc_path(path, ca, &c->ca_file, err) < 0)
            return -1;
        if (access(c->ca_file, R_OK) != 0)
            return perr_set(err, PERR_CONFIG, "%s: cannot read certificate-authority '%s': %s",
                            what, c->ca_file, strerror(errno));
    }
    snprintf(what, sizeof(what), "kubeconfig '%s': cluster '%s': insecure-skip-tls-verify", path,
             name);
    return ybool(yscalar(ymap_get(doc, cl, "insecure-skip-tls-verify")), what, &c->insecure, err);
}

static int
kc_user(const char *path, yaml_document_t *doc, yaml_node_t *u, const char *name,
        struct kube_config *c, struct perr *err)
{
    const char *token = yscalar(ymap_get(doc, u, "token"));
    const char *token_file = yscalar(ymap_get(doc, u, "tokenFile"));

    if (ymap_get(doc, u, "exec") != NULL || ymap_get(doc, u, "auth-provider") != NULL)
        return perr_set(err, PERR_CONFIG,
                        "kubeconfig '%s': user '%s' uses exec or auth-provider credentials, "
                        "which are not supported; use a token, tokenFile or a client "
                        "certificate",
                        path, name);
    if (yscalar(ymap_get(doc, u, "username")) != NULL || yscalar(ymap_get(doc, u, "password")))
        return perr_set(err, PERR_CONFIG,
                        "kubeconfig '%s': user '%s' uses basic authentication, which is not "
                        "supported; use a token, tokenFile or a client certificate",
                        path, name);
    /* Like client-go, a tokenFile wins over an inline token. */
    if (token_file != NULL) {
        if (kc_path(path, token_file, &c->token_file, err) < 0)
            return -1;
        if (read_token(c->token_file, &c->token, err) < 0) {
            perr_prefix(err, "kubeconfig '%s': user '%s': ", path, name);
            return -1;
        }
    } else if (token != NULL) {
        c->token = strdup(token);
        if (c->token == NULL)
            return perr_set(err, PERR_NOMEM, "out of memory");
        log_add_secret(c->token);
    }
    if (kc_pem(path, doc, u, "client-certificate", name, &c->cert_pem, false, err) < 0 ||
        kc_pem(path, doc, u, "client-key", name, &c->key_pem, true, err) < 0)
        return -1;
    if ((c->cert_pem != NULL) != (c->key_pem != NULL))
        return perr_set(err, PERR_CONFIG,
                        "kubeconfig '%s': user '%s' has a client certificate without its key "
                        "or a key without its certificate",
                        path, name);
    return 0;
}

int
kube_config_from_kubeconfig(const char *path, const char *master, struct kube_config **out,
                            struct perr *err)
{
    struct kube_config *c = NULL;
    yaml_parser_t parser;
    yaml_document_t doc;
    bool parser_ok = false;
    bool doc_ok = false;
    char *text = NULL;
    size_t len = 0;
    yaml_node_t *root;
    yaml_node_t *ctx;
    yaml_node_t *cl;
    yaml_node_t *u = NULL;
    const char *cur;
    const char *cl_name;
    const char *u_name;
    const char *ns;
    int rc = -1;

    *out = NULL;
    if (read_file(path, "kubeconfig", &text, &len, err) < 0)
        goto out;
    c = config_new("kubeconfig", path, err);
    if (c == NULL)
        goto out;
    if (!yaml_parser_initialize(&parser)) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    parser_ok = true;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        perr_set(err, PERR_CONFIG, "kubeconfig '%s': YAML error at line %zu: %s", path,
                 parser.problem_mark.line + 1,
                 parser.problem != NULL ? parser.problem : "malformed");
        goto out;
    }
    doc_ok = true;
    root = yaml_document_get_root_node(&doc);
    if (root == NULL || root->type != YAML_MAPPING_NODE) {
        perr_set(err, PERR_CONFIG, "kubeconfig '%s' is empty or not a mapping", path);
        goto out;
    }
    cur = yscalar(ymap_get(&doc, root, "current-context"));
    if (cur == NULL) {
        perr_set(err, PERR_CONFIG,
                 "kubeconfig '%s' has no current-context; set one with 'kubectl config "
                 "use-context NAME'",
                 path);
        goto out;
    }
    if (!ynamed_exists(&doc, ymap_get(&doc, root, "contexts"), cur)) {
        perr_set(err, PERR_CONFIG, "kubeconfig '%s': current-context '%s' is not in contexts", path,
                 cur);
        goto out;
    }
    ctx = ynamed(&doc, ymap_get(&doc, root, "contexts"), cur, "context");
    cl_name = yscalar(ymap_get(&doc, ctx, "cluster"));
    u_name = yscalar(ymap_get(&doc, ctx, "user"));
    ns = yscalar(ymap_get(&doc, ctx, "namespace"));
    if (cl_name == NULL) {
        perr_set(err, PERR_CONFIG, "kubeconfig '%s': context '%s' names no cluster", path, cur);
        goto out;
    }
    if (!ynamed_exists(&doc, ymap_get(&doc, root, "clusters"), cl_name)) {
        perr_set(err, PERR_CONFIG,
                 "kubeconfig '%s': cluster '%s' of context '%s' is not in clusters", path, cl_name,
                 cur);
        goto out;
    }
    cl = ynamed(&doc, ymap_get(&doc, root, "clusters"), cl_name, "cluster");
    if (kc_cluster(path, &doc, cl, cl_name, master, c, err) < 0)
        goto out;
    if (u_name != NULL) {
        if (!ynamed_exists(&doc, ymap_get(&doc, root, "users"), u_name)) {
            perr_set(err, PERR_CONFIG, "kubeconfig '%s': user '%s' of context '%s' is not in users",
                     path, u_name, cur);
            goto out;
        }
        u = ynamed(&doc, ymap_get(&doc, root, "users"), u_name, "user");
        if (kc_user(path, &doc, u, u_name, c, err) < 0)
            goto out;
    }
    if (ns != NULL && (c->namespace = dup_or_null(ns, err)) == NULL)
        goto out;
    *out = c;
    c = NULL;
    rc = 0;
out:
    if (doc_ok)
        yaml_document_delete(&doc);
    if (parser_ok)
        yaml_parser_delete(&parser);
    str_free_secret(text);
    kube_config_free(c);
    return rc;
}

int
kube_config_load(const struct kube_opts *o, struct kube_config **out, struct perr *err)
{
    const char *dir;
    int rc;

    *out = NULL;
    if (!empty(o->kubeconfig)) {
        rc = kube_config_from_kubeconfig(o->kubeconfig, o->master, out, err);
    } else {
        dir = o->incluster_dir;
        if (empty(dir))
            dir = env_lookup(o->envp, "KUBE_INCLUSTER_DIR");
        if (empty(dir))
            dir = KUBE_INCLUSTER_DIR_DEFAULT;
        rc = kube_config_in_cluster(dir, env_lookup(o->envp, "KUBERNETES_SERVICE_HOST"),
                                    env_lookup(o->envp, "KUBERNETES_SERVICE_PORT"), o->master, out,
                                    err);
    }
    if (rc == 0 && o->timeout_ms > 0)
        (*out)->timeout_ms = o->timeout_ms;
    return rc;
}

/* ---- the client ---- */

/* Reads are retried like the Go client does; writes are not, because one
 * that timed out may have been applied (a repeated PUT would then be refused
 * as a stale resourceVersion, a repeated POST as AlreadyExists). */
static const char *const kube_retry_methods[] = {"GET", NULL};

/* The API server's Status reasons; the codes match the client's status table,
 * stated here so the Kubernetes mapping reads in one place. */
static const struct rest_error_rule kube_error_rules[] = {
    {.status = 401, .to = PERR_AUTH},
    {.status = 403, .to = PERR_AUTH},
    {.status = 404, .to = PERR_NOT_FOUND},
    {.status = 409, .code = "AlreadyExists", .to = PERR_CONFLICT},
    {.status = 409, .code = "Conflict", .to = PERR_CONFLICT},
    {.status = 409, .to = PERR_CONFLICT},
    {0},
};

static int kube_auth_headers(struct rest *r, struct strv *hdrs, struct perr *err);

/* No session table and no login hook: the bearer token is not a session
 * (the API server hands none out), and rest's re-login rewrites the client's
 * session outside cfg.lock, which two threads sharing the client must not do.
 * The token lives in struct kube under tok_lock instead (kube_auth_headers),
 * and a rotated token file is handled in kube_call(). */
static const struct rest_dialect kube_dialect = {
    .base_path = "",
    .errors = {.message = "message", .code = "reason", .rules = kube_error_rules},
    .retry = {.attempts = KUBE_GET_ATTEMPTS - 1,
              .initial_ms = 200,
              .max_ms = 1000,
              .jitter = 0.2,
              .methods = kube_retry_methods},
    .auth_headers = kube_auth_headers,
};

static int
kube_auth_headers(struct rest *r, struct strv *hdrs, struct perr *err)
{
    struct kube *k = rest_user(r);
    int rc = 0;

    pthread_mutex_lock(&k->tok_lock);
    if (k->cfg->token != NULL)
        rc = strv_addf(hdrs, err, "Authorization: Bearer %s", k->cfg->token);
    pthread_mutex_unlock(&k->tok_lock);
    return rc;
}

int
kube_open(const struct kube_config *cfg, struct kube **out, struct perr *err)
{
    struct kube *k = NULL;
    struct kube_config *c = NULL;
    struct http_opts ho = {0};
    struct http_transport tr = {0};
    struct rest_config rc_ = {0};
    int rc = -1;

    *out = NULL;
    k = calloc(1, sizeof(*k));
    c = calloc(1, sizeof(*c));
    if (k == NULL || c == NULL) {
        free(k);
        k = NULL;
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    pthread_mutex_init(&k->lock, NULL);
    pthread_mutex_init(&k->tok_lock, NULL);
    c->insecure = cfg->insecure;
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : KUBE_DEFAULT_TIMEOUT_MS;
    if ((c->server = dup_or_null(cfg->server, err)) == NULL ||
        (cfg->ca_file != NULL && (c->ca_file = dup_or_null(cfg->ca_file, err)) == NULL) ||
        (cfg->ca_pem != NULL && (c->ca_pem = dup_or_null(cfg->ca_pem, err)) == NULL) ||
        (cfg->token != NULL && (c->token = dup_or_null(cfg->token, err)) == NULL) ||
        (cfg->token_file != NULL && (c->token_file = dup_or_null(cfg->token_file, err)) == NULL) ||
        (cfg->cert_pem != NULL && (c->cert_pem = dup_or_null(cfg->cert_pem, err)) == NULL) ||
        (cfg->key_pem != NULL && (c->key_pem = dup_or_null(cfg->key_pem, err)) == NULL) ||
        (cfg->namespace != NULL && (c->namespace = dup_or_null(cfg->namespace, err)) == NULL) ||
        (c->source = dup_or_null(cfg->source != NULL ? cfg->source : "configuration", err)) ==
            NULL) {
        perr_set(err, PERR_INTERNAL, "incomplete Kubernetes configuration");
        goto out;
    }
    if (c->token != NULL)
        log_add_secret(c->token);
    k->cfg = c;
    c = NULL;
    /* rest_new() cannot express client certificates or an in-memory CA, so
     * the transport is made here and handed over. */
    ho.component = "http.kube";
    ho.ca_file = k->cfg->ca_file;
    ho.ca_pem = k->cfg->ca_pem;
    ho.insecure = k->cfg->insecure;
    ho.tls_hint = "the Kubernetes API server's certificate was not accepted; check "
                  "certificate-authority in the kubeconfig or ca.crt of the service account";
    ho.timeout_ms = k->cfg->timeout_ms;
    ho.client_cert_pem = k->cfg->cert_pem;
    ho.client_key_pem = k->cfg->key_pem;
    if (http_transport_curl_new(&ho, &tr, err) < 0) {
        perr_prefix(err, "kubernetes (%s): ", k->cfg->source);
        goto out;
    }
    rc_.base_url = k->cfg->server;
    rc_.array = k->cfg->server;
    rc_.component = "http.kube";
    rc_.timeout_s = (k->cfg->timeout_ms + 999) / 1000;
    rc_.transport = &tr;
    rc_.user = k;
    rc_.lock = &k->lock;
    if (rest_new(&kube_dialect, &rc_, &k->rest, err) < 0) {
        perr_prefix(err, "kubernetes (%s): ", k->cfg->source);
        goto out;
    }
    *out = k;
    k = NULL;
    rc = 0;
out:
    http_transport_free(&tr);
    kube_config_free(c);
    kube_close(k);
    return rc;
}

void
kube_close(struct kube *k)
{
    if (k == NULL)
        return;
    rest_free(k->rest);
    kube_config_free(k->cfg);
    pthread_mutex_destroy(&k->lock);
    pthread_mutex_destroy(&k->tok_lock);
    free(k);
}

const char *
kube_server(const struct kube *k)
{
    return k->cfg->server;
}

static const char *
rbac_verb(const char *method)
{
    if (strcmp(method, "GET") == 0)
        return "get";
    if (strcmp(method, "POST") == 0)
        return "create";
    if (strcmp(method, "PUT") == 0)
        return "update";
    if (strcmp(method, "DELETE") == 0)
        return "delete";
    return "patch";
}

/* "leases 'x' in namespace 'y'" */
static void
describe(const struct kube_res *res, const char *ns, const char *name, char *out, size_t n)
{
    if (name != NULL && res->namespaced)
        snprintf(out, n, "%s '%s' in namespace '%s'", res->plural, name, ns);
    else if (name != NULL)
        snprintf(out, n, "%s '%s'", res->plural, name);
    else if (res->namespaced)
        snprintf(out, n, "%s in namespace '%s'", res->plural, ns);
    else
        snprintf(out, n, "%s", res->plural);
}

/* Phrases a refused request for the operator: rest decided the code (the
 * dialect's rules) and read the Status; this adds what was asked for and, for
 * 401/403, what to fix. */
static int
status_error(const struct kube *k, const char *method, const struct kube_res *res, const char *ns,
             const char *what, const struct perr *got, const struct rest_error *st,
             struct perr *err)
{
    const char *msg = st->text;
    const char *reason = got->remote_code;
    const char *verb = rbac_verb(method);
    long code = st->status;
    char scope[300];

    if (res->namespaced)
        snprintf(scope, sizeof(scope), " in namespace '%s'", ns);
    else
        snprintf(scope, sizeof(scope), " (cluster-wide)");
    switch (code) {
    case 401:
        return perr_set_remote(err, got->code, code, reason,
                               "%s %s: HTTP 401 Unauthorized: the API server rejected the "
                               "credentials of %s (expired or wrong token, or a client "
                               "certificate it does not trust)",
                               verb, what, k->cfg->source);
    case 403:
        return perr_set_remote(err, got->code, code, reason,
                               "%s %s: HTTP 403 Forbidden: %s; the populator's service account "
                               "needs '%s' on %s%s: %s",
                               verb, what, *msg != '\0' ? msg : "forbidden", verb, res->plural,
                               scope, res->rbac_hint);
    case 404:
        return perr_set_remote(err, got->code, code, reason, "%s %s: not found%s%s", verb, what,
                               *msg != '\0' ? ": " : "", msg);
    case 409:
        return perr_set_remote(err, got->code, code, reason, "%s %s: HTTP 409 %s: %s", verb, what,
                               *reason != '\0' ? reason : "Conflict", msg);
    default:
        return perr_set_remote(err, got->code, code, reason, "%s %s: HTTP %ld%s%s", verb, what,
                               code, *msg != '\0' ? ": " : "", msg);
    }
}

/* After a 401, a token read from a file may have been rotated: re-read it.
 * True when a different token is now in use. */
static bool
token_reloaded(struct kube *k)
{
    struct perr tmp = {0};
    char *t = NULL;
    bool changed = false;

    if (k->cfg->token_file == NULL || read_token(k->cfg->token_file, &t, &tmp) < 0)
        return false;
    pthread_mutex_lock(&k->tok_lock);
    if (k->cfg->token == NULL || strcmp(t, k->cfg->token) != 0) {
        str_free_secret(k->cfg->token);
        k->cfg->token = t;
        t = NULL;
        changed = true;
    }
    pthread_mutex_unlock(&k->tok_lock);
    str_free_secret(t);
    if (changed)
        log_info(KUBE_COMP, "service account token re-read after HTTP 401", "file",
                 k->cfg->token_file, NULL);
    return changed;
}

/* The path template of res: api and plural are our own constants, so only ns
 * and name go through rest's escaping. */
static int
kube_path(const struct kube_res *res, bool named, struct buf *out, struct perr *err)
{
    if (buf_adds(out, res->api, err) < 0 ||
        (res->namespaced && buf_adds(out, "/namespaces/{ns}", err) < 0) ||
        buf_addf(out, err, "/%s", res->plural) < 0 || (named && buf_adds(out, "/{name}", err) < 0))
        return -1;
    return 0;
}

/* A watch being made: where it starts and which events end it. */
struct kube_watching {
    const char *rv;
    bool (*pick)(void *arg, json_t *event);
    void *arg;
};

/* A watch's body is one JSON event per line.  The lines the caller does not
 * pick are passed over, so they cost no new request; the first it picks, or
 * one that is not a JSON object (for the reply's parser to report), ends
 * the stream. */
static size_t
kube_next_event(void *arg, const char *body, size_t len, size_t *passed)
{
    const struct kube_watching *w = arg;
    size_t off = 0;
    const char *nl;

    while ((nl = memchr(body + off, '\n', len - off)) != NULL) {
        size_t n = (size_t)(nl - (body + off)) + 1;
        json_t *ev = NULL;
        bool take = true;

        if (strspn(body + off, " \t\r\n") >= n) {
            off += n;
            continue;
        }
        if (w->pick != NULL) {
            ev = json_loadb(body + off, n, 0, NULL);
            take = !json_is_object(ev) || w->pick(w->arg, ev);
            json_decref(ev);
        }
        if (take) {
            *passed = off;
            return n;
        }
        off += n;
    }
    *passed = off;
    return 0;
}

/*
 * One request.  With watch set it is a watch of the collection from
 * watch->rv, ended by the first event watch->pick takes or by timeout_ms
 * (then *out is NULL and the call succeeds).
 */
static int
kube_call(struct kube *k, const char *method, const struct kube_res *res, const char *ns,
          const char *name, json_t *obj, long timeout_ms, struct kube_watching *watch, json_t **out,
          struct perr *err)
{
    struct buf path = {0};
    struct rest_endpoint ep = {0};
    char secs[24] = "";
    struct rest_var vars[] = {{"ns", ns},
                              {"name", name},
                              {"rv", watch != NULL ? watch->rv : NULL},
                              {"secs", secs},
                              {NULL, NULL}};
    struct rest_reply reply = {0};
    struct perr e = {0};
    char what[400];
    bool reloaded = false;
    int rc = -1;

    if (out != NULL)
        *out = NULL;
    if (res->namespaced && empty(ns))
        return perr_set(err, PERR_USAGE, "%s: a namespace is required", res->plural);
    describe(res, ns, name, what, sizeof(what));
    if (kube_path(res, name != NULL, &path, err) < 0)
        goto out;
    ep.name = res->plural;
    ep.method = method;
    ep.path = buf_cstr(&path);
    if (watch != NULL) {
        /* The server ends the watch a moment after we stop waiting anyway. */
        snprintf(secs, sizeof(secs), "%ld", timeout_ms / 1000 + 1);
        ep.query = "watch=1&resourceVersion={rv}&timeoutSeconds={secs}&allowWatchBookmarks=false";
    }
    for (;;) {
        struct rest_request req = {
            .ep = &ep,
            .vars = vars,
            .body = json_incref(obj),
            .timeout_ms = timeout_ms > 0 ? timeout_ms : k->cfg->timeout_ms,
            .until = watch != NULL ? kube_next_event : NULL,
            .until_arg = watch,
        };

        rest_reply_free(&reply);
        perr_clear(&e);
        if (rest_do(k->rest, &req, &reply, &e) == 0)
            break;
        if (reply.error.status == 401 && !reloaded && token_reloaded(k)) {
            reloaded = true;
            continue;
        }
        if (reply.error.status != 0) {
            status_error(k, method, res, ns, what, &e, &reply.error, err);
        } else {
            perr_prefix(&e, "%s %s: ", rbac_verb(method), what);
            if (!perr_failed(err))
                *err = e;
        }
        goto out;
    }
    /* A watch that saw no change in its time answers nothing (*out stays NULL). */
    if (out != NULL && (watch == NULL || reply.json != NULL)) {
        if (!json_is_object(reply.json)) {
            perr_set(err, PERR_PROTOCOL, "%s %s: the answer is not a JSON object",
                     rbac_verb(method), what);
            goto out;
        }
        *out = reply.json;
        reply.json = NULL;
    }
    rc = 0;
out:
    rest_reply_free(&reply);
    buf_free(&path);
    return rc;
}

int
kube_get(struct kube *k, const struct kube_res *res, const char *ns, const char *name, json_t **out,
         struct perr *err)
{
    return kube_call(k, "GET", res, ns, name, NULL, 0, NULL, out, err);
}

int
kube_create(struct kube *k, const struct kube_res *res, const char *ns, json_t *obj, json_t **out,
            struct perr *err)
{
    return kube_call(k, "POST", res, ns, NULL, obj, 0, NULL, out, err);
}

int
kube_update(struct kube *k, const struct kube_res *res, const char *ns, const char *name,
            json_t *obj, json_t **out, struct perr *err)
{
    return kube_call(k, "PUT", res, ns, name, obj, 0, NULL, out, err);
}

int
kube_update_within(struct kube *k, const struct kube_res *res, const char *ns, const char *name,
                   json_t *obj, long timeout_ms, json_t **out, struct perr *err)
{
    return kube_call(k, "PUT", res, ns, name, obj, timeout_ms, NULL, out, err);
}

int
kube_delete(struct kube *k, const struct kube_res *res, const char *ns, const char *name,
            struct perr *err)
{
    return kube_call(k, "DELETE", res, ns, name, NULL, 0, NULL, NULL, err);
}

int
kube_watch(struct kube *k, const struct kube_res *res, const char *ns, const char *rv,
           long timeout_ms, bool (*pick)(void *arg, json_t *event), void *arg, json_t **event,
           struct perr *err)
{
    struct kube_watching watch = {.rv = rv, .pick = pick, .arg = arg};
    struct kube *w = NULL;
    int rc = -1;

    *event = NULL;
    if (rv == NULL || *rv == '\0' || timeout_ms <= 0)
        return perr_set(err, PERR_USAGE, "watch %s: a resourceVersion and a time are required",
                        res->plural);
    /* A client of its own: a watch waits for seconds, and the client's lock
     * would keep every other thread's request (a lease renewal) waiting as
     * long.  Its connection is closed after the event anyway. */
    pthread_mutex_lock(&k->tok_lock);
    rc = kube_open(k->cfg, &w, err);
    pthread_mutex_unlock(&k->tok_lock);
    if (rc < 0)
        goto out;
    rc = -1;
    if (kube_call(w, "GET", res, ns, NULL, NULL, timeout_ms, &watch, event, err) < 0)
        goto out;
    rc = *event != NULL ? 1 : 0;
out:
    kube_close(w);
    return rc;
}

/* ---- PV lookup ---- */

void
kube_pv_free(struct kube_pv *pv)
{
    if (pv == NULL)
        return;
    free(pv->name);
    free(pv->csi_driver);
    free(pv->volume_handle);
    for (size_t i = 0; i < pv->nattrs; i++) {
        free(pv->attrs[i].key);
        free(pv->attrs[i].value);
    }
    free(pv->attrs);
    free(pv);
}

const char *
kube_pv_attr(const struct kube_pv *pv, const char *key)
{
    for (size_t i = 0; i < pv->nattrs; i++) {
        if (strcmp(pv->attrs[i].key, key) == 0)
            return pv->attrs[i].value;
    }
    return NULL;
}

static int
attr_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kube_attr *)a)->key, ((const struct kube_attr *)b)->key);
}

static int
pv_from_json(json_t *pvj, const char *pv_name, struct kube_pv **out, struct perr *err)
{
    struct kube_pv *pv = NULL;
    json_t *csi = json_object_get(json_object_get(pvj, "spec"), "csi");
    json_t *attrs;
    const char *driver;
    const char *handle;
    const char *key;
    json_t *val;
    int rc = -1;

    *out = NULL;
    if (!json_is_object(csi)) {
        perr_set(err, PERR_CONFIG,
                 "PV '%s' is not a CSI volume (it has no spec.csi); copy offload needs a PV "
                 "provisioned by the storage array's CSI driver",
                 pv_name);
        goto out;
    }
    driver = jsonx_string_or(csi, "driver", "");
    handle = jsonx_string_or(csi, "volumeHandle", "");
    if (*handle == '\0') {
        perr_set(err, PERR_PROTOCOL, "PV '%s': spec.csi.volumeHandle is missing or empty", pv_name);
        goto out;
    }
    pv = calloc(1, sizeof(*pv));
    if (pv == NULL || (pv->name = strdup(pv_name)) == NULL ||
        (pv->csi_driver = strdup(driver)) == NULL || (pv->volume_handle = strdup(handle)) == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    attrs = json_object_get(csi, "volumeAttributes");
    if (attrs != NULL && !json_is_null(attrs)) {
        if (!json_is_object(attrs)) {
            perr_set(err, PERR_PROTOCOL, "PV '%s': spec.csi.volumeAttributes is not an object",
                     pv_name);
            goto out;
        }
        pv->attrs = calloc(json_object_size(attrs) + 1, sizeof(*pv->attrs));
        if (pv->attrs == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
        json_object_foreach(attrs, key, val)
        {
            struct kube_attr *a = &pv->attrs[pv->nattrs];

            if (!json_is_string(val)) {
                perr_set(err, PERR_PROTOCOL,
                         "PV '%s': spec.csi.volumeAttributes['%s'] is not a string", pv_name, key);
                goto out;
            }
            if ((a->key = strdup(key)) == NULL ||
                (a->value = strdup(json_string_value(val))) == NULL) {
                free(a->key);
                a->key = NULL;
                perr_set(err, PERR_NOMEM, "out of memory");
                goto out;
            }
            pv->nattrs++;
        }
        qsort(pv->attrs, pv->nattrs, sizeof(*pv->attrs), attr_cmp);
    }
    *out = pv;
    pv = NULL;
    rc = 0;
out:
    kube_pv_free(pv);
    return rc;
}

int
kube_lookup_pv(struct kube *k, const char *ns, const char *pvc_name, struct kube_pv **out,
               struct perr *err)
{
    json_t *pvc = NULL;
    json_t *prime = NULL;
    json_t *pvj = NULL;
    char *vol = NULL;
    char *prime_name = NULL;
    const char *v;
    const char *uid;
    int rc = -1;

    *out = NULL;
    if (kube_get(k, &kube_res_pvc, ns, pvc_name, &pvc, err) < 0)
        goto out;
    v = jsonx_string_or(json_object_get(pvc, "spec"), "volumeName", "");
    if (*v == '\0') {
        /* The usual case: the populator controller binds the PV to the prime PVC. */
        uid = jsonx_string_or(json_object_get(pvc, "metadata"), "uid", "");
        if (*uid == '\0') {
            perr_set(err, PERR_PROTOCOL, "the PVC has no metadata.uid");
            goto out;
        }
        if (asprintf(&prime_name, "prime-%s", uid) < 0) {
            prime_name = NULL;
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
        if (kube_get(k, &kube_res_pvc, ns, prime_name, &prime, err) < 0) {
            if (err->code == PERR_NOT_FOUND)
                perr_prefix(err, "the PVC is not bound and its prime PVC is missing: ");
            goto out;
        }
        v = jsonx_string_or(json_object_get(prime, "spec"), "volumeName", "");
        if (*v == '\0') {
            perr_set(err, PERR_NOT_FOUND,
                     "the volume name is not found on the prime volume claim '%s/%s' (its "
                     "spec.volumeName is empty: the PV is not provisioned yet)",
                     ns, prime_name);
            goto out;
        }
    }
    vol = strdup(v);
    if (vol == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    if (kube_get(k, &kube_res_pv, NULL, vol, &pvj, err) < 0)
        goto out;
    if (pv_from_json(pvj, vol, out, err) < 0)
        goto out;
    log_debug(KUBE_COMP, "PV found", "pvc", pvc_name, "pv", vol, "driver", (*out)->csi_driver,
              "volume_handle", (*out)->volume_handle, NULL);
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "PV lookup for PVC '%s/%s': ", ns, pvc_name);
    json_decref(pvc);
    json_decref(prime);
    json_decref(pvj);
    free(vol);
    free(prime_name);
    return rc;
}

/* ---- time ---- */

static bool
digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

int
kube_time_parse(const char *s, long long *ms_out)
{
    struct tm tm = {0};
    const char *p = s;
    int y, mo, d, h, mi, sec;
    long long ms = 0;
    int scale = 100;
    time_t t;

    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d) || (*p != 'T' && *p != 't') || !(p++, digits(&p, 2, &h)) ||
        *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' || !digits(&p, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
            ms += (*p - '0') * scale;
            scale /= 10;
        }
    }
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int oh, om;

        p++;
        if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59)
            return -1;
        t -= sign * (oh * 3600 + om * 60);
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    *ms_out = (long long)t * 1000 + ms;
    return 0;
}

void
kube_time_format(long long ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    long long frac = ms % 1000;
    struct tm tm;
    char base[32];

    if (frac < 0) {
        frac += 1000;
        t--;
    }
    gmtime_r(&t, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%06lldZ", base, frac * 1000);
}
