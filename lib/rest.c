/*
 * The REST client: one exchange loop (rest_exchange) that every dialect
 * feature hangs off, so that retries, re-logins and status mapping behave
 * the same for every vendor and for the Kubernetes client.
 *
 * Why the loop looks the way it does:
 * - The session is made lazily and renewed by age before a request, because
 *   some arrays let idle sessions die silently (Vantara) and a copy can run
 *   for longer than their lifetime.
 * - A re-login happens at most once per call: an array that refuses a fresh
 *   session would otherwise loop forever (PowerStore's SDK does).
 * - Waiting between tries never holds cfg.lock, so a lease renewer sharing
 *   the client is never starved by another thread's backoff.
 */
#include "lib/rest.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/deadline.h"
#include "lib/jsonx.h"
#include "lib/log.h"

#define REST_COMP              "rest"
#define REST_DEFAULT_TIMEOUT_S 30L
#define REST_DEFAULT_RETRY_MS  500L
#define REST_RETRY_MAX_MS      8000L
#define REST_DEFAULT_ATTEMPTS  4u
#define REST_MAX_PAGES         1000
#define REST_MAX_HEADERS       32
#define REST_RAW_TEXT_MAX      300

struct rest {
    const struct rest_dialect *dialect;
    struct http_transport transport;
    char *base_url;
    char *base_path;
    char *media;  /* JSON media type of Accept and request bodies; NULL = application/json */
    char *accept; /* "Accept: <media>" when media is set */
    char *array;
    char *username;
    char *password;
    char *basic_header; /* "Authorization: Basic ..." or NULL */
    char *session;      /* secret */
    char *session_id;   /* for the logout URL */
    char *csrf;         /* latest value of session.csrf_header (secret) */
    int64_t session_born_ms;
    long timeout_ms;
    long retry_initial_ms;
    unsigned retry_attempts;
    unsigned long requests;
    unsigned long logins;
    pthread_mutex_t *lock;
    void *user;
};

static atomic_ulong rest_total_requests;

unsigned long
rest_request_count(void)
{
    return atomic_load(&rest_total_requests);
}

unsigned long
rest_requests(const struct rest *r)
{
    return r->requests;
}

unsigned long
rest_logins(const struct rest *r)
{
    return r->logins;
}

static void
strv_free_secret(struct strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        explicit_bzero(sv->v[i], strlen(sv->v[i]));
    strv_free(sv);
}

json_t *
rest_json_path(json_t *root, const char *path)
{
    const char *s = path;

    if (path == NULL)
        return NULL;
    while (root != NULL && *s != '\0') {
        size_t len = strcspn(s, ".");
        char key[128];

        if (len == 0 || len >= sizeof(key))
            return NULL;
        memcpy(key, s, len);
        key[len] = '\0';
        if (json_is_array(root)) {
            char *end;
            long idx = strtol(key, &end, 10);

            root = *end == '\0' && idx >= 0 ? json_array_get(root, (size_t)idx) : NULL;
        } else {
            root = json_object_get(root, key);
        }
        s += len;
        if (*s == '.')
            s++;
    }
    return root;
}

/* A response body as JSON.  Any value is accepted at the top level: some
 * arrays answer with a bare string (PowerFlex's login token). */
static int
rest_parse(const char *text, size_t len, json_t **out, struct perr *err)
{
    json_error_t jerr;

    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (*out == NULL)
        return perr_set(err, PERR_PROTOCOL, "malformed JSON at line %d column %d: %s", jerr.line,
                        jerr.column, jerr.text);
    return 0;
}

/* The string at path, or NULL. */
static const char *
rest_json_str(json_t *root, const char *path)
{
    return json_string_value(rest_json_path(root, path));
}

/* ---- templates ---- */

static const struct rest_var *
rest_var_find(const struct rest_var *vars, const char *name, size_t len)
{
    for (; vars != NULL && vars->name != NULL; vars++) {
        if (strlen(vars->name) == len && strncmp(vars->name, name, len) == 0)
            return vars;
    }
    return NULL;
}

/* Expands one template item [s, end) into out.  Returns 1 when the item must
 * be dropped (a query item whose variable is NULL). */
static int
rest_expand_item(const char *s, const char *end, const struct rest_var *vars, bool query,
                 struct buf *out, struct perr *err)
{
    size_t mark = out->len;

    while (s < end) {
        const char *open = memchr(s, '{', (size_t)(end - s));
        const char *close;
        const struct rest_var *v;

        if (open == NULL) {
            return buf_add(out, s, (size_t)(end - s), err);
        }
        if (buf_add(out, s, (size_t)(open - s), err) < 0)
            return -1;
        close = memchr(open, '}', (size_t)(end - open));
        if (close == NULL)
            return perr_set(err, PERR_INTERNAL, "unterminated variable in URL template");
        v = rest_var_find(vars, open + 1, (size_t)(close - open - 1));
        if (v == NULL)
            return perr_set(err, PERR_INTERNAL, "URL template variable '%.*s' not given",
                            (int)(close - open - 1), open + 1);
        if (v->value == NULL) {
            if (!query)
                return perr_set(err, PERR_INTERNAL, "URL path variable '%s' is NULL", v->name);
            out->len = mark;
            if (out->data != NULL)
                out->data[mark] = '\0';
            return 1;
        }
        if (buf_add_url(out, v->value, err) < 0)
            return -1;
        s = close + 1;
    }
    return 0;
}

int
rest_expand(const char *tmpl, const struct rest_var *vars, bool query, struct buf *out,
            struct perr *err)
{
    const char *s = tmpl;
    bool first = true;

    if (!query)
        return rest_expand_item(s, s + strlen(s), vars, false, out, err) < 0 ? -1 : 0;
    while (*s != '\0') {
        const char *end = s + strcspn(s, "&");
        size_t mark = out->len;
        int rc;

        if (!first && buf_adds(out, "&", err) < 0)
            return -1;
        rc = rest_expand_item(s, end, vars, true, out, err);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            out->len = mark;
            if (out->data != NULL)
                out->data[mark] = '\0';
        } else {
            first = false;
        }
        s = *end == '&' ? end + 1 : end;
    }
    return 0;
}

/* ---- construction ---- */

static int
base64_encode(const char *in, struct buf *out, struct perr *err)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *)in;
    size_t len = strlen(in);
    char quad[4];

    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16;

        if (i + 1 < len)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        quad[0] = tbl[(v >> 18) & 63];
        quad[1] = tbl[(v >> 12) & 63];
        quad[2] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        quad[3] = i + 2 < len ? tbl[v & 63] : '=';
        if (buf_add(out, quad, 4, err) < 0)
            return -1;
    }
    return 0;
}

static int
rest_make_basic(struct rest *r, struct perr *err)
{
    struct buf cred = {0};
    struct buf hdr = {0};
    int rc = -1;

    if (buf_addf(&cred, err, "%s:%s", r->username != NULL ? r->username : "",
                 r->password != NULL ? r->password : "") < 0 ||
        buf_adds(&hdr, "Authorization: Basic ", err) < 0 ||
        base64_encode(buf_cstr(&cred), &hdr, err) < 0)
        goto out;
    r->basic_header = buf_steal(&hdr);
    if (r->basic_header == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    /* The encoded form is what a trace would show: never log it. */
    log_add_secret(r->basic_header + strlen("Authorization: Basic "));
    rc = 0;
out:
    buf_free_secret(&cred);
    buf_free_secret(&hdr);
    return rc;
}

static bool
rest_wants_basic(const struct rest_dialect *d)
{
    return d->basic_auth ||
           (d->session != NULL && (d->session->login_basic || d->session->keep_basic));
}

int
rest_new(const struct rest_dialect *dialect, const struct rest_config *cfg, struct rest **out,
         struct perr *err)
{
    struct rest *r = NULL;
    struct http_transport moved = {0};
    int rc = -1;

    *out = NULL;
    if (cfg->transport != NULL) {
        moved = *cfg->transport;
        memset(cfg->transport, 0, sizeof(*cfg->transport));
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    r->dialect = dialect;
    r->transport = moved;
    memset(&moved, 0, sizeof(moved));
    r->timeout_ms = (cfg->timeout_s > 0 ? cfg->timeout_s : REST_DEFAULT_TIMEOUT_S) * 1000L;
    r->retry_initial_ms = cfg->retry_initial_ms > 0       ? cfg->retry_initial_ms
                          : dialect->retry.initial_ms > 0 ? dialect->retry.initial_ms
                                                          : REST_DEFAULT_RETRY_MS;
    r->retry_attempts = cfg->retry_attempts > 0       ? cfg->retry_attempts
                        : dialect->retry.attempts > 0 ? dialect->retry.attempts
                                                      : REST_DEFAULT_ATTEMPTS;
    r->user = cfg->user;
    r->lock = cfg->lock;
    if (str_dup_opt(cfg->base_url, &r->base_url, err) < 0 ||
        str_dup_opt(dialect->base_path != NULL ? dialect->base_path : "", &r->base_path, err) < 0 ||
        str_dup_opt(cfg->array != NULL ? cfg->array : cfg->base_url, &r->array, err) < 0 ||
        str_dup_opt(cfg->username, &r->username, err) < 0 ||
        str_dup_opt(cfg->password, &r->password, err) < 0)
        goto out;
    if (r->base_url == NULL) {
        perr_set(err, PERR_INTERNAL, "REST client without a base URL");
        goto out;
    }
    /* Drop a trailing '/' so that tails starting with '/' join cleanly. */
    for (size_t n = strlen(r->base_url); n > 0 && r->base_url[n - 1] == '/'; n--)
        r->base_url[n - 1] = '\0';
    if (r->password != NULL && r->password[0] != '\0')
        log_add_secret_encodings(r->username != NULL ? r->username : "", r->password);
    if (rest_wants_basic(dialect) && rest_make_basic(r, err) < 0)
        goto out;
    if (r->transport.perform == NULL) {
        struct http_opts o = {
            .component = cfg->component != NULL ? cfg->component : "http.rest",
            .insecure = cfg->insecure,
            .ca_file = cfg->ca_file,
            .timeout_ms = r->timeout_ms,
            .tls_hint = cfg->tls_hint != NULL
                            ? cfg->tls_hint
                            : "give the array a certificate the system trusts, or set "
                              "STORAGE_SKIP_SSL_VERIFICATION=true if that risk is accepted",
        };

        if (http_transport_curl_new(&o, &r->transport, err) < 0)
            goto out;
    }
    if (cfg->insecure)
        log_warn(REST_COMP, "storage array TLS verification disabled", "array", r->array, NULL);
    *out = r;
    r = NULL;
    rc = 0;
out:
    http_transport_free(&moved);
    rest_free(r);
    return rc;
}

void
rest_free(struct rest *r)
{
    if (r == NULL)
        return;
    http_transport_free(&r->transport);
    free(r->base_url);
    free(r->base_path);
    free(r->media);
    free(r->accept);
    free(r->array);
    free(r->username);
    str_free_secret(r->password);
    str_free_secret(r->basic_header);
    str_free_secret(r->session);
    str_free_secret(r->session_id);
    str_free_secret(r->csrf);
    free(r);
}

void *
rest_user(const struct rest *r)
{
    return r->user;
}

const char *
rest_username(const struct rest *r)
{
    return r->username;
}

const char *
rest_password(const struct rest *r)
{
    return r->password;
}

int
rest_set_base_path(struct rest *r, const char *base_path, struct perr *err)
{
    char *p = strdup(base_path);

    if (p == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    free(r->base_path);
    r->base_path = p;
    return 0;
}

int
rest_set_media_type(struct rest *r, const char *media, struct perr *err)
{
    char *m = NULL;
    char *a = NULL;

    if (media != NULL) {
        if (strpbrk(media, "\r\n") != NULL)
            return perr_set(err, PERR_INTERNAL, "media type with a line break");
        if ((m = strdup(media)) == NULL || asprintf(&a, "Accept: %s", media) < 0) {
            free(m);
            return perr_set(err, PERR_NOMEM, "out of memory");
        }
    }
    free(r->media);
    free(r->accept);
    r->media = m;
    r->accept = a;
    return 0;
}

int
rest_set_session(struct rest *r, const char *session, struct perr *err)
{
    char *s = NULL;

    if (session != NULL) {
        s = strdup(session);
        if (s == NULL)
            return perr_set(err, PERR_NOMEM, "out of memory");
        /* Some arrays take the session back as Basic ":token". */
        log_add_secret_encodings("", s);
    }
    if (r->lock != NULL)
        pthread_mutex_lock(r->lock);
    str_free_secret(r->session);
    r->session = s;
    r->session_born_ms = mono_now_ms();
    if (r->lock != NULL)
        pthread_mutex_unlock(r->lock);
    return 0;
}

const char *
rest_session(const struct rest *r)
{
    return r->session;
}

static bool
rest_has_login(const struct rest *r)
{
    return r->dialect->login != NULL ||
           (r->dialect->session != NULL && r->dialect->session->login != NULL);
}

int
rest_login(struct rest *r, struct perr *err)
{
    if (r->dialect->login != NULL)
        return r->dialect->login(r, err);
    if (r->dialect->session != NULL && r->dialect->session->login != NULL)
        return rest_session_login(r, NULL, err);
    return 0;
}

/* ---- one exchange, with re-login and retries ---- */

static bool
rest_status_in(const long *list, size_t n, long status)
{
    for (size_t i = 0; i < n; i++) {
        if (list[i] == status)
            return true;
    }
    return false;
}

static bool
rest_status_ok(const struct rest_endpoint *ep, long status)
{
    if (ep->ok[0] == 0)
        return status >= 200 && status <= 299;
    return rest_status_in(ep->ok, ARRAY_LEN(ep->ok), status);
}

static bool
rest_idempotent(const struct rest *r, const struct rest_endpoint *ep)
{
    const struct rest_retry *p = &r->dialect->retry;
    const char *m = ep->method;

    if (p->any_method || (ep->flags & REST_F_RETRY) != 0)
        return true;
    if (p->methods != NULL) {
        for (size_t i = 0; p->methods[i] != NULL; i++) {
            if (strcmp(p->methods[i], m) == 0)
                return true;
        }
        return false;
    }
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "PUT") == 0 ||
           strcmp(m, "DELETE") == 0;
}

static bool
rest_retry_status(const struct rest *r, long status, const char *text)
{
    const struct rest_retry *p = &r->dialect->retry;

    if (p->text != NULL && text[0] != '\0' && strcasestr(text, p->text) != NULL)
        return true;
    if (p->statuses[0] != 0)
        return rest_status_in(p->statuses, ARRAY_LEN(p->statuses), status);
    return status == 429 || (status >= 500 && status <= 599);
}

static bool
rest_relogin_status(const struct rest *r, long status)
{
    unsigned on = r->dialect->session != NULL ? r->dialect->session->relogin : 0;

    if (on == 0)
        on = REST_RELOGIN_401;
    return (status == 401 && (on & REST_RELOGIN_401) != 0) ||
           (status == 403 && (on & REST_RELOGIN_403) != 0);
}

static enum perr_code
rest_code_for_status(long status)
{
    switch (status) {
    case 401:
    case 403:
        return PERR_AUTH;
    case 404:
        return PERR_NOT_FOUND;
    case 409:
        return PERR_CONFLICT;
    default:
        return PERR_HTTP;
    }
}

/* Waits before the next try; false when no try is left (or the wait failed,
 * with err set then).  Never called with r->lock held. */
static bool
rest_backoff(struct backoff *bo, const struct deadline *dl, struct perr *err)
{
    long delay = backoff_next_ms(bo);

    if (delay < 0 || cancel_requested() || deadline_remaining_ms(dl) <= delay)
        return false;
    return wait_ms(delay, dl, err) == 0;
}

/* The value of the dialect's own header name (case ignored), or NULL: it
 * replaces the client's default ("Accept", "Content-Type"). */
static const char *
rest_dialect_header(const struct rest *r, const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; r->dialect->headers != NULL && r->dialect->headers[i] != NULL; i++) {
        const char *h = r->dialect->headers[i];

        if (strncasecmp(h, name, len) == 0 && h[len] == ':')
            return h + len + 1 + strspn(h + len + 1, " \t");
    }
    return NULL;
}

static int
rest_add_header(const char **hv, size_t *n, const char *h, struct perr *err)
{
    if (*n + 1 >= REST_MAX_HEADERS)
        return perr_set(err, PERR_INTERNAL, "too many request headers");
    hv[(*n)++] = h;
    return 0;
}

/* The session's send template with its one "%s" replaced by the credential. */
static int
rest_fill_send(const char *tmpl, const char *cred, struct strv *out, struct perr *err)
{
    const char *p = strstr(tmpl, "%s");
    struct buf b = {0};
    int rc;

    if (p == NULL)
        return perr_set(err, PERR_INTERNAL, "session send template without %%s");
    rc = buf_add(&b, tmpl, (size_t)(p - tmpl), err) < 0 || buf_adds(&b, cred, err) < 0 ||
                 buf_adds(&b, p + 2, err) < 0 || strv_add(out, buf_cstr(&b), err) < 0
             ? -1
             : 0;
    buf_free_secret(&b);
    return rc;
}

static int
rest_headers(struct rest *r, const struct rest_request *req, struct strv *auth, const char **hv,
             struct perr *err)
{
    const struct rest_session *ss = r->dialect->session;
    bool authed = (req->ep->flags & REST_F_NO_AUTH) == 0;
    size_t n = 0;

    /* The media type set at run time (rest_set_media_type), else the
     * dialect's own Accept line (sent with its headers below), else JSON. */
    if (r->accept != NULL)
        hv[n++] = r->accept;
    else if (rest_dialect_header(r, "Accept") == NULL)
        hv[n++] = "Accept: application/json";
    for (size_t i = 0; r->dialect->headers != NULL && r->dialect->headers[i] != NULL; i++) {
        /* A Content-Type goes with a body only (the transport sets it). */
        if (strncasecmp(r->dialect->headers[i], "Content-Type:", 13) == 0)
            continue;
        if (rest_add_header(hv, &n, r->dialect->headers[i], err) < 0)
            return -1;
    }
    if (authed) {
        if (r->basic_header != NULL && (r->dialect->basic_auth || ss == NULL || ss->keep_basic) &&
            rest_add_header(hv, &n, r->basic_header, err) < 0)
            return -1;
        if (ss != NULL && ss->send != NULL && r->session != NULL &&
            rest_fill_send(ss->send, r->session, auth, err) < 0)
            return -1;
        if (ss != NULL && ss->csrf_header != NULL && r->csrf != NULL &&
            strv_addf(auth, err, "%s: %s", ss->csrf_header, r->csrf) < 0)
            return -1;
        if (r->dialect->auth_headers != NULL && r->dialect->auth_headers(r, auth, err) < 0)
            return -1;
        for (size_t i = 0; i < auth->n; i++) {
            if (rest_add_header(hv, &n, auth->v[i], err) < 0)
                return -1;
        }
    }
    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
        if (rest_add_header(hv, &n, req->headers[i], err) < 0)
            return -1;
    }
    hv[n] = NULL;
    return 0;
}

static void
rest_copy_text(char *dst, size_t n, json_t *v)
{
    if (json_is_string(v))
        snprintf(dst, n, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(dst, n, "%lld", (long long)json_integer_value(v));
}

/* The vendor's code as a word starting with prefix inside text. */
static void
rest_code_in_text(const char *text, const char *prefix, char *dst, size_t n)
{
    const char *p = strstr(text, prefix);
    size_t len;

    if (p == NULL)
        return;
    len = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
    snprintf(dst, n, "%.*s", (int)len, p);
}

/* Fills e from the body with the dialect's tables, then its callback. */
static void
rest_read_error(const struct rest *r, json_t *body, const struct http_resp *resp,
                struct rest_error *e)
{
    const struct rest_errors *t = &r->dialect->errors;
    const char *raw = buf_cstr(&resp->body);

    if (body != NULL) {
        if (t->message != NULL)
            rest_copy_text(e->text, sizeof(e->text), rest_json_path(body, t->message));
        if (e->text[0] == '\0' && t->message_alt != NULL)
            rest_copy_text(e->text, sizeof(e->text), rest_json_path(body, t->message_alt));
        if (t->code != NULL)
            rest_copy_text(e->remote_code, sizeof(e->remote_code), rest_json_path(body, t->code));
    }
    if (e->text[0] == '\0') {
        size_t len = strnlen(raw, REST_RAW_TEXT_MAX);

        if (len > 0 && (body == NULL || r->dialect->error_from_body == NULL))
            snprintf(e->text, sizeof(e->text), "%.*s%s", (int)len, raw,
                     raw[len] != '\0' ? "..." : "");
    }
    if (e->remote_code[0] == '\0' && t->code_prefix != NULL)
        rest_code_in_text(e->text[0] != '\0' ? e->text : raw, t->code_prefix, e->remote_code,
                          sizeof(e->remote_code));
    for (const struct rest_error_rule *rule = t->rules; rule != NULL && rule->to != PERR_OK;
         rule++) {
        if ((rule->status == 0 || rule->status == e->status) &&
            (rule->code == NULL || strcmp(rule->code, e->remote_code) == 0) &&
            (rule->text == NULL || strcasestr(e->text, rule->text) != NULL)) {
            e->code = rule->to;
            break;
        }
    }
    if (r->dialect->error_from_body != NULL)
        r->dialect->error_from_body(body, raw, e);
    if (e->text[0] == '\0') {
        size_t len = strnlen(raw, REST_RAW_TEXT_MAX);

        if (len > 0)
            snprintf(e->text, sizeof(e->text), "%.*s%s", (int)len, raw,
                     raw[len] != '\0' ? "..." : "");
    }
}

/* True when a 2xx body carries the dialect's error envelope. */
static bool
rest_envelope_error(const struct rest *r, json_t *body)
{
    json_t *v = rest_json_path(body, r->dialect->errors.envelope);

    if (r->dialect->errors.envelope == NULL || v == NULL || json_is_null(v))
        return false;
    if (json_is_string(v))
        return json_string_value(v)[0] != '\0';
    return !json_is_false(v);
}

static int
rest_accept(const struct rest_request *req, struct http_resp *resp, const char *url_path,
            bool strict, struct rest_reply *reply, struct perr *err)
{
    if (resp->body.len > 0) {
        struct perr perr_json = {0};

        if (rest_parse(resp->body.data, resp->body.len, &reply->json, &perr_json) < 0) {
            reply->json = NULL;
            if (strict) {
                perr_prefix(&perr_json, "reply to %s %s: ", req->ep->method, url_path);
                if (!perr_failed(err))
                    *err = perr_json;
                return -1;
            }
        }
    }
    if (req->want_header != NULL) {
        const char *v = http_resp_header(resp, req->want_header);

        if (v != NULL && str_dup_opt(v, &reply->header, err) < 0)
            return -1;
    }
    {
        const char *cr = http_resp_header(resp, "Content-Range");

        if (cr != NULL && str_dup_opt(cr, &reply->range, err) < 0)
            return -1;
    }
    reply->status = resp->status;
    return 0;
}

/* Remembers the latest CSRF token the array handed out. */
static int
rest_note_csrf(struct rest *r, const struct http_resp *resp, struct perr *err)
{
    const struct rest_session *ss = r->dialect->session;
    const char *v;
    char *copy;

    if (ss == NULL || ss->csrf_header == NULL)
        return 0;
    v = http_resp_header(resp, ss->csrf_header);
    if (v == NULL || v[0] == '\0' || (r->csrf != NULL && strcmp(v, r->csrf) == 0))
        return 0;
    copy = strdup(v);
    if (copy == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    log_add_secret(copy);
    str_free_secret(r->csrf);
    r->csrf = copy;
    return 0;
}

static bool
rest_session_too_old(const struct rest *r)
{
    const struct rest_session *ss = r->dialect->session;

    return ss != NULL && ss->lifetime_s > 0 && r->session != NULL &&
           mono_now_ms() - r->session_born_ms >= ss->lifetime_s * 1000L;
}

/*
 * One exchange under cfg.lock: the headers are built from the session and
 * CSRF token, the request is sent and the new CSRF token noted, all with the
 * lock held, so a client shared by threads never sends a half-replaced
 * credential.  Waiting between tries happens outside (the caller's loop).
 */
static int
rest_send_locked(struct rest *r, const struct rest_request *req, struct http_req *hreq,
                 struct strv *auth, const char **hv, struct http_resp *resp, struct perr *attempt,
                 struct perr *err)
{
    int rc = -1;

    if (r->lock != NULL)
        pthread_mutex_lock(r->lock);
    if (rest_headers(r, req, auth, hv, err) < 0)
        goto out;
    hreq->headers = hv;
    r->requests++;
    atomic_fetch_add(&rest_total_requests, 1);
    if (http_perform(&r->transport, hreq, resp, attempt) < 0) {
        rc = 1;
        goto out;
    }
    rc = rest_note_csrf(r, resp, err);
out:
    if (r->lock != NULL)
        pthread_mutex_unlock(r->lock);
    return rc;
}

static int
rest_exchange(struct rest *r, const struct rest_request *req, const char *tail, const char *body,
              size_t body_len, struct rest_reply *reply, struct perr *err)
{
    const struct rest_endpoint *ep = req->ep;
    bool authed = (ep->flags & REST_F_NO_AUTH) == 0;
    bool idempotent = rest_idempotent(r, ep);
    bool relogged = false;
    struct deadline dl = deadline_in_ms(req->timeout_ms > 0 ? req->timeout_ms : r->timeout_ms);
    const struct rest_retry *pol = &r->dialect->retry;
    struct backoff bo;
    struct buf url = {0};
    struct strv auth = {0};
    struct http_resp resp = {0};
    json_t *ebody = NULL;
    const char *hv[REST_MAX_HEADERS];
    char url_path[256];
    int rc = -1;

    memset(reply, 0, sizeof(*reply));
    backoff_init(&bo, r->retry_initial_ms, pol->max_ms > 0 ? pol->max_ms : REST_RETRY_MAX_MS, 2.0,
                 pol->jitter > 0 ? pol->jitter : 0.2, r->retry_attempts);
    if (buf_addf(&url, err, "%s%s", r->base_url, tail) < 0)
        goto out;
    snprintf(url_path, sizeof(url_path), "%.*s", (int)strcspn(tail, "?"), tail);
    if (authed && rest_has_login(r) && (r->session == NULL || rest_session_too_old(r))) {
        if (r->session != NULL)
            log_debug(REST_COMP, "session lifetime reached, logging in again", "array", r->array,
                      NULL);
        if (rest_login(r, err) < 0)
            goto out;
    }
    for (;;) {
        struct perr attempt = {0};
        struct rest_error e = {0};
        struct http_req hreq = {0};
        bool ok;
        int sent;

        strv_free_secret(&auth);
        http_resp_free(&resp);
        json_decref(ebody);
        ebody = NULL;
        hreq.method = ep->method;
        hreq.url = buf_cstr(&url);
        hreq.body = body;
        hreq.body_len = body_len;
        hreq.content_type = body == NULL       ? NULL
                            : r->media != NULL ? r->media
                            : rest_dialect_header(r, "Content-Type") != NULL
                                ? rest_dialect_header(r, "Content-Type")
                                : "application/json";
        hreq.timeout_ms = deadline_remaining_ms(&dl);
        if (hreq.timeout_ms <= 0)
            hreq.timeout_ms = 1;
        hreq.idempotent = idempotent;
        hreq.until = req->until;
        hreq.until_arg = req->until_arg;
        sent = rest_send_locked(r, req, &hreq, &auth, hv, &resp, &attempt, err);
        if (sent < 0)
            goto out;
        if (sent == 1) {
            if (idempotent && perr_is_retryable(&attempt)) {
                log_debug(REST_COMP, "retrying after a transport error", "endpoint", ep->name,
                          "error", attempt.msg, NULL);
                if (rest_backoff(&bo, &dl, err))
                    continue;
            }
            if (!perr_failed(err))
                *err = attempt;
            goto out;
        }
        ok = rest_status_ok(ep, resp.status) ||
             (pol->success_status != 0 && resp.status == pol->success_status);
        if (resp.body.len > 0 && (!ok || r->dialect->errors.envelope != NULL) &&
            rest_parse(resp.body.data, resp.body.len, &ebody, &attempt) < 0)
            ebody = NULL;
        if (ok && !rest_envelope_error(r, ebody)) {
            rc = rest_accept(req, &resp, url_path, true, reply, err) < 0 ? -1 : 0;
            goto out;
        }
        e.status = resp.status;
        /* An envelope error on a 2xx is the array's refusal, not an HTTP one. */
        e.code = ok ? PERR_REMOTE : rest_code_for_status(resp.status);
        rest_read_error(r, ebody, &resp, &e);
        if ((!ok && rest_status_in(ep->already, ARRAY_LEN(ep->already), resp.status)) ||
            (ep->already_code != PERR_OK && e.code == ep->already_code)) {
            rc = rest_accept(req, &resp, url_path, false, reply, err) < 0 ? -1 : 1;
            snprintf(reply->text, sizeof(reply->text), "%s", e.text);
            snprintf(reply->code, sizeof(reply->code), "%s", e.remote_code);
            goto out;
        }
        /* Never log in again to log out: the new session would be left behind. */
        if (authed && rest_has_login(r) && !relogged &&
            (r->dialect->session == NULL || ep != r->dialect->session->logout) &&
            (rest_relogin_status(r, resp.status) || (ok && e.code == PERR_AUTH))) {
            log_debug(REST_COMP, "session expired, logging in again", "endpoint", ep->name, "array",
                      r->array, NULL);
            relogged = true;
            if (rest_set_session(r, NULL, err) < 0 || rest_login(r, err) < 0)
                goto out;
            continue;
        }
        if ((idempotent && rest_retry_status(r, resp.status, e.text)) ||
            rest_status_in(pol->refused, ARRAY_LEN(pol->refused), resp.status)) {
            log_debug(REST_COMP, "retrying after a server error", "endpoint", ep->name, "status",
                      resp.status >= 500   ? "5xx"
                      : resp.status == 429 ? "429"
                                           : "other",
                      NULL);
            if (rest_backoff(&bo, &dl, err))
                continue;
            if (perr_failed(err))
                goto out;
        }
        reply->error = e;
        perr_set_remote(
            err, e.code, resp.status, e.remote_code, "HTTP %ld from %s %s%s%s%s%s%s", resp.status,
            ep->method, url_path, e.text[0] != '\0' ? ": " : "", e.text,
            e.remote_code[0] != '\0' && strstr(e.text, e.remote_code) == NULL ? " [code " : "",
            e.remote_code[0] != '\0' && strstr(e.text, e.remote_code) == NULL ? e.remote_code : "",
            e.remote_code[0] != '\0' && strstr(e.text, e.remote_code) == NULL ? "]" : "");
        goto out;
    }
out:
    if (rc < 0) {
        struct rest_error keep = reply->error;

        rest_reply_free(reply);
        reply->error = keep;
    }
    json_decref(ebody);
    http_resp_free(&resp);
    strv_free_secret(&auth);
    buf_free(&url);
    return rc;
}

/* ---- sessions ---- */

/* "Name: {user}" / "{password}" templates; CR/LF in a value is refused so a
 * credential can never add a header. */
static int
rest_login_header(const struct rest *r, const char *tmpl, struct strv *out, struct perr *err)
{
    struct buf b = {0};
    const char *s = tmpl;
    int rc = -1;

    while (*s != '\0') {
        const char *val = NULL;
        size_t skip = 0;

        if (strncmp(s, "{user}", 6) == 0) {
            val = r->username != NULL ? r->username : "";
            skip = 6;
        } else if (strncmp(s, "{password}", 10) == 0) {
            val = r->password != NULL ? r->password : "";
            skip = 10;
        }
        if (val == NULL) {
            if (buf_add(&b, s, 1, err) < 0)
                goto out;
            s++;
            continue;
        }
        if (strpbrk(val, "\r\n") != NULL) {
            perr_set(err, PERR_USAGE, "the storage credentials contain a line break");
            goto out;
        }
        if (buf_adds(&b, val, err) < 0)
            goto out;
        s += skip;
    }
    rc = strv_add(out, buf_cstr(&b), err);
out:
    buf_free_secret(&b);
    return rc;
}

static json_t *
rest_login_body(const struct rest *r, const struct rest_session *ss, struct perr *err)
{
    json_t *body;

    if (ss->body_user == NULL && ss->body_password == NULL && ss->body_extra == NULL)
        return NULL;
    if (ss->body_extra != NULL) {
        if (jsonx_parse(ss->body_extra, strlen(ss->body_extra), &body, err) < 0)
            return NULL;
    } else {
        body = json_object();
    }
    if (body == NULL ||
        (ss->body_user != NULL &&
         json_object_set_new(body, ss->body_user,
                             json_string(r->username != NULL ? r->username : "")) < 0) ||
        (ss->body_password != NULL &&
         json_object_set_new(body, ss->body_password,
                             json_string(r->password != NULL ? r->password : "")) < 0)) {
        json_decref(body);
        perr_set(err, PERR_NOMEM, "out of memory");
        return NULL;
    }
    return body;
}

int
rest_session_login(struct rest *r, const char *const *extra, struct perr *err)
{
    const struct rest_session *ss = r->dialect->session;
    struct strv hdrs = {0};
    const char *hv[16];
    struct rest_request req = {0};
    struct rest_reply reply = {0};
    char *token = NULL;
    const char *id = NULL;
    int rc = -1;

    if (ss == NULL || ss->login == NULL)
        return perr_set(err, PERR_INTERNAL, "dialect without a session login");
    for (size_t i = 0; ss->login_headers != NULL && ss->login_headers[i] != NULL; i++) {
        if (rest_login_header(r, ss->login_headers[i], &hdrs, err) < 0)
            goto out;
    }
    if (ss->login_basic && r->basic_header != NULL && strv_add(&hdrs, r->basic_header, err) < 0)
        goto out;
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        if (strv_add(&hdrs, extra[i], err) < 0)
            goto out;
    }
    if (hdrs.n + 1 > ARRAY_LEN(hv)) {
        perr_set(err, PERR_INTERNAL, "too many login headers");
        goto out;
    }
    for (size_t i = 0; i < hdrs.n; i++)
        hv[i] = hdrs.v[i];
    hv[hdrs.n] = NULL;
    req.ep = ss->login;
    req.headers = hv;
    req.want_header = ss->from == REST_TOKEN_HEADER ? ss->token_name : NULL;
    req.body = rest_login_body(r, ss, err);
    if (perr_failed(err))
        goto out;
    r->logins++;
    if (rest_do(r, &req, &reply, err) != 0) {
        if (!perr_failed(err))
            perr_set(err, PERR_AUTH, "login refused");
        perr_prefix(err, "login to %s failed: ", r->array);
        goto out;
    }
    switch (ss->from) {
    case REST_TOKEN_HEADER:
        token = reply.header;
        reply.header = NULL;
        break;
    case REST_TOKEN_JSON:
        if (rest_json_str(reply.json, ss->token_name) != NULL)
            token = strdup(rest_json_str(reply.json, ss->token_name));
        break;
    case REST_TOKEN_STRING:
        if (json_is_string(reply.json))
            token = strdup(json_string_value(reply.json));
        break;
    case REST_TOKEN_COOKIE:
        if (http_cookie_get(&r->transport, ss->token_name, &token, err) < 0)
            goto out;
        break;
    }
    /* A login that "succeeds" without a credential is a failure: the next
     * request would only be refused with a less helpful message. */
    if (token == NULL || token[0] == '\0') {
        perr_set(err, PERR_PROTOCOL, "login to %s answered without a session (%s)", r->array,
                 ss->token_name != NULL ? ss->token_name : "body");
        goto out;
    }
    if (rest_set_session(r, token, err) < 0)
        goto out;
    if (ss->id_path != NULL) {
        json_t *v = rest_json_path(reply.json, ss->id_path);
        char num[32];

        str_free_secret(r->session_id);
        r->session_id = NULL;
        if (json_is_integer(v)) {
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
            id = num;
        } else {
            id = json_string_value(v);
        }
        if (id != NULL && str_dup_opt(id, &r->session_id, err) < 0)
            goto out;
    }
    log_debug(REST_COMP, "session opened", "array", r->array, NULL);
    rc = 0;
out:
    str_free_secret(token);
    rest_reply_free(&reply);
    strv_free_secret(&hdrs);
    return rc;
}

void
rest_logout(struct rest *r)
{
    const struct rest_session *ss = r != NULL ? r->dialect->session : NULL;
    struct perr err = {0};

    if (ss == NULL || ss->logout == NULL || r->session == NULL)
        return;
    if (rest_call(r, ss->logout,
                  (struct rest_var[]){
                      {"session", r->session}, {"session_id", r->session_id}, {NULL, NULL}},
                  NULL, NULL, &err) < 0)
        log_debug(REST_COMP, "logout failed", "array", r->array, "error", err.msg, NULL);
    rest_set_session(r, NULL, &err);
}

/* ---- calls, with pagination ---- */

static int
rest_add_query(struct buf *tail, const char *name, long value, struct perr *err)
{
    return buf_addf(tail, err, "%s%s=%ld", strchr(buf_cstr(tail), '?') != NULL ? "&" : "?", name,
                    value);
}

static int
rest_tail(struct rest *r, const struct rest_request *req, struct buf *tail, struct perr *err)
{
    const struct rest_endpoint *ep = req->ep;
    const struct rest_pager *pg = &r->dialect->pager;

    if ((ep->flags & REST_F_ROOT) == 0 && buf_adds(tail, r->base_path, err) < 0)
        return -1;
    if (rest_expand(ep->path, req->vars, false, tail, err) < 0)
        return -1;
    if (ep->query != NULL) {
        size_t mark = tail->len;

        if (buf_adds(tail, "?", err) < 0 || rest_expand(ep->query, req->vars, true, tail, err) < 0)
            return -1;
        if (tail->len == mark + 1) {
            tail->len = mark;
            tail->data[mark] = '\0';
        }
    }
    if ((ep->flags & REST_F_PAGED) == 0)
        return 0;
    if (pg->kind == REST_PAGER_RANGE)
        return rest_add_query(tail, pg->size_param, pg->size, err) < 0 ||
                       rest_add_query(tail, pg->param, 0, err) < 0
                   ? -1
                   : 0;
    if (pg->kind == REST_PAGER_PAGES)
        return rest_add_query(tail, pg->param, 1, err) < 0 ||
                       rest_add_query(tail, pg->size_param, pg->size, err) < 0
                   ? -1
                   : 0;
    return 0;
}

/* cur with the query item name=value set (replacing an earlier one). */
static int
rest_requery(const char *cur, const char *name, const char *value, struct buf *next,
             struct perr *err)
{
    const char *q = strchr(cur, '?');
    size_t nlen = strlen(name);
    bool any = false;

    if (buf_add(next, cur, q != NULL ? (size_t)(q - cur) : strlen(cur), err) < 0 ||
        buf_adds(next, "?", err) < 0)
        return -1;
    for (const char *s = q != NULL ? q + 1 : ""; *s != '\0';) {
        size_t len = strcspn(s, "&");

        if (!(strncmp(s, name, nlen) == 0 && s[nlen] == '=')) {
            if ((any && buf_adds(next, "&", err) < 0) || buf_add(next, s, len, err) < 0)
                return -1;
            any = true;
        }
        s += len;
        if (*s == '&')
            s++;
    }
    if ((any && buf_adds(next, "&", err) < 0) || buf_addf(next, err, "%s=", name) < 0 ||
        buf_add_url(next, value, err) < 0)
        return -1;
    return 1;
}

/* The next page's URL tail into next (1), or 0 after the last page. */
static int
rest_next_page(const struct rest_pager *pg, const struct rest_reply *page, json_t *first,
               const char *cur, long *pageno, struct buf *next, struct perr *err)
{
    char num[32];

    switch (pg->kind) {
    case REST_PAGER_NONE:
        return 0;
    case REST_PAGER_NEXT_LINK: {
        const char *href = rest_json_str(page->json, pg->link);

        if (href == NULL || href[0] == '\0')
            return 0;
        return buf_adds(next, href, err) < 0 ? -1 : 1;
    }
    case REST_PAGER_TOKEN: {
        const char *tok = rest_json_str(page->json, pg->token);

        if (tok == NULL || tok[0] == '\0' ||
            (pg->more != NULL && json_is_false(rest_json_path(page->json, pg->more))))
            return 0;
        return rest_requery(cur, pg->param, tok, next, err);
    }
    case REST_PAGER_RANGE: {
        long long a;
        long long b;
        long long total;

        if (page->status != 206)
            return 0;
        /* A partial answer that does not say what is missing would make a
         * listed object look absent. */
        if (page->range == NULL)
            return perr_set(err, PERR_PROTOCOL, "HTTP 206 without a Content-Range header");
        if (sscanf(page->range, "%lld-%lld/%lld", &a, &b, &total) != 3 || b < a || a < 0)
            return perr_set(err, PERR_PROTOCOL, "bad Content-Range '%s'", page->range);
        if (b + 1 >= total)
            return 0;
        snprintf(num, sizeof(num), "%lld", b + 1);
        return rest_requery(cur, pg->param, num, next, err);
    }
    case REST_PAGER_PAGES: {
        json_t *tv = rest_json_path(first, pg->total);

        if (!json_is_integer(tv) || *pageno >= json_integer_value(tv))
            return 0;
        (*pageno)++;
        snprintf(num, sizeof(num), "%ld", *pageno);
        return rest_requery(cur, pg->param, num, next, err);
    }
    }
    return 0;
}

static json_t *
rest_items(const struct rest_pager *pg, json_t *doc)
{
    return pg->items != NULL ? rest_json_path(doc, pg->items) : doc;
}

static int
rest_follow_pages(struct rest *r, const struct rest_request *req, const char *first_tail,
                  struct rest_reply *reply, struct perr *err)
{
    const struct rest_pager *pg = &r->dialect->pager;
    json_t *all = rest_items(pg, reply->json);
    struct rest_reply last = {.status = reply->status, .json = json_incref(reply->json)};
    struct buf cur = {0};
    struct buf next = {0};
    long pageno = 1;
    int rc = -1;

    if (buf_adds(&cur, first_tail, err) < 0 ||
        (reply->range != NULL && str_dup_opt(reply->range, &last.range, err) < 0))
        goto out;
    for (int page = 1;; page++) {
        struct rest_request nreq = {
            .ep = req->ep, .headers = req->headers, .timeout_ms = req->timeout_ms};
        struct rest_reply pr = {0};
        json_t *items;
        int more;

        buf_reset(&next);
        more = rest_next_page(pg, &last, reply->json, buf_cstr(&cur), &pageno, &next, err);
        if (more < 0)
            goto out;
        if (more == 0)
            break;
        if (page >= REST_MAX_PAGES || next.len == 0 || next.data[0] != '/' || next.data[1] == '/') {
            perr_set(err, PERR_PROTOCOL, "bad or endless pagination from %s %s", req->ep->method,
                     req->ep->path);
            goto out;
        }
        if (rest_exchange(r, &nreq, buf_cstr(&next), NULL, 0, &pr, err) != 0) {
            rest_reply_free(&pr);
            if (!perr_failed(err))
                perr_set(err, PERR_PROTOCOL, "unexpected status on a later page");
            goto out;
        }
        items = rest_items(pg, pr.json);
        if (json_is_array(all) && json_is_array(items) && json_array_extend(all, items) < 0) {
            rest_reply_free(&pr);
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
        rest_reply_free(&last);
        last = pr;
        buf_reset(&cur);
        if (buf_add(&cur, next.data, next.len, err) < 0)
            goto out;
    }
    if (json_is_array(all) && json_object_get(reply->json, "num_records") != NULL &&
        json_object_set_new(reply->json, "num_records",
                            json_integer((json_int_t)json_array_size(all))) < 0) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    rest_reply_free(&last);
    buf_free(&cur);
    buf_free(&next);
    return rc;
}

int
rest_do(struct rest *r, struct rest_request *req, struct rest_reply *reply, struct perr *err)
{
    struct buf tail = {0};
    char *body = NULL;
    int rc = -1;

    memset(reply, 0, sizeof(*reply));
    if (req->body != NULL) {
        body = json_dumps(req->body, JSON_COMPACT);
        if (body == NULL) {
            perr_set(err, PERR_NOMEM, "cannot serialise the request body");
            goto out;
        }
    }
    if (rest_tail(r, req, &tail, err) < 0)
        goto out;
    rc = rest_exchange(r, req, buf_cstr(&tail), body, body != NULL ? strlen(body) : 0, reply, err);
    if (rc == 0 && (req->ep->flags & REST_F_PAGED) != 0 &&
        r->dialect->pager.kind != REST_PAGER_NONE && reply->json != NULL &&
        rest_follow_pages(r, req, buf_cstr(&tail), reply, err) < 0) {
        rest_reply_free(reply);
        rc = -1;
    }
out:
    json_decref(req->body);
    req->body = NULL;
    if (body != NULL)
        explicit_bzero(body, strlen(body)); /* login bodies carry passwords */
    free(body);
    buf_free(&tail);
    return rc;
}

void
rest_reply_free(struct rest_reply *reply)
{
    if (reply == NULL)
        return;
    json_decref(reply->json);
    str_free_secret(reply->header);
    free(reply->range);
    memset(reply, 0, sizeof(*reply));
}

int
rest_call(struct rest *r, const struct rest_endpoint *ep, const struct rest_var *vars, json_t *body,
          json_t **out, struct perr *err)
{
    struct rest_request req = {.ep = ep, .vars = vars, .body = body};
    struct rest_reply reply = {0};
    int rc;

    if (out != NULL)
        *out = NULL;
    rc = rest_do(r, &req, &reply, err);
    if (rc >= 0 && out != NULL) {
        *out = reply.json;
        reply.json = NULL;
    }
    rest_reply_free(&reply);
    return rc;
}

/* ---- async jobs ---- */

static bool
rest_value_in(const char *v, const char *const *list)
{
    for (size_t i = 0; v != NULL && list != NULL && list[i] != NULL; i++) {
        if (strcasecmp(v, list[i]) == 0)
            return true;
    }
    return false;
}

int
rest_job_wait(struct rest *r, const struct rest_job *job, json_t *accepted, rest_progress_fn fn,
              void *arg, json_t **final, struct perr *err)
{
    struct deadline dl = deadline_in_ms((job->timeout_s > 0 ? job->timeout_s : 600) * 1000L);
    struct backoff bo;
    json_t *doc = json_incref(accepted);
    json_t *idv = job->id_path != NULL ? rest_json_path(accepted, job->id_path) : NULL;
    char id[64] = "";
    unsigned last_pct = 0;
    int rc = -1;

    if (final != NULL)
        *final = NULL;
    backoff_init(&bo, job->first_ms > 0 ? job->first_ms : 200, job->max_ms > 0 ? job->max_ms : 5000,
                 2.0, 0.1, 0);
    rest_copy_text(id, sizeof(id), idv);
    if (id[0] == '\0') {
        perr_set(err, PERR_PROTOCOL, "the array answered without a job id (%s)",
                 job->id_path != NULL ? job->id_path : "?");
        goto out;
    }
    for (;;) {
        /* States may be strings or integers (3PAR task status 1..4). */
        char state[64] = "";
        char fstate[64] = "";
        json_t *pv = job->progress_path != NULL ? rest_json_path(doc, job->progress_path) : NULL;

        rest_copy_text(state, sizeof(state), rest_json_path(doc, job->state_path));
        rest_copy_text(
            fstate, sizeof(fstate),
            rest_json_path(doc, job->failed_path != NULL ? job->failed_path : job->state_path));
        if (fn != NULL && json_is_number(pv)) {
            double pct = json_number_value(pv);
            unsigned p = pct < 0 ? 0 : pct > 100 ? 100 : (unsigned)pct;

            if (p > last_pct) {
                last_pct = p;
                fn(arg, p);
            }
        }
        if (fstate[0] != '\0' && rest_value_in(fstate, job->failed)) {
            const char *why = NULL;
            json_t *ev = rest_json_path(doc, job->error_path);
            char *dump = NULL;

            if (json_is_string(ev))
                why = json_string_value(ev);
            else if (ev != NULL)
                why = dump = json_dumps(ev, JSON_COMPACT);
            perr_set(err, PERR_REMOTE, "job %s failed: %s", id, why != NULL ? why : fstate);
            free(dump);
            goto out;
        }
        if (state[0] != '\0' && rest_value_in(state, job->done))
            break;
        {
            long delay = backoff_next_ms(&bo);

            if (deadline_remaining_ms(&dl) <= 0) {
                perr_set(err, PERR_TIMEOUT, "job %s not done after %lds (state '%s')", id,
                         job->timeout_s > 0 ? job->timeout_s : 600L,
                         state[0] != '\0' ? state : "?");
                goto out;
            }
            if (delay > deadline_remaining_ms(&dl))
                delay = deadline_remaining_ms(&dl);
            if (wait_ms(delay, &dl, err) < 0)
                goto out;
        }
        json_decref(doc);
        doc = NULL;
        if (rest_call(r, job->get, (struct rest_var[]){{"id", id}, {NULL, NULL}}, NULL, &doc,
                      err) != 0) {
            if (!perr_failed(err))
                perr_set(err, PERR_PROTOCOL, "unexpected answer polling job %s", id);
            goto out;
        }
    }
    if (final != NULL) {
        *final = doc;
        doc = NULL;
    }
    rc = 0;
out:
    json_decref(doc);
    return rc;
}
