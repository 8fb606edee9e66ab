#include "lib/rest.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    char *array;
    char *username;
    char *password;
    char *basic_header; /* "Authorization: Basic ..." or NULL */
    char *session;
    long timeout_ms;
    long retry_initial_ms;
    unsigned retry_attempts;
    unsigned long requests;
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

static void
secret_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

static void
strv_free_secret(struct strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        explicit_bzero(sv->v[i], strlen(sv->v[i]));
    strv_free(sv);
}

static int
dup_opt(const char *s, char **out, struct perr *err)
{
    *out = NULL;
    if (s == NULL)
        return 0;
    *out = strdup(s);
    if (*out == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    return 0;
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
    rc = 0;
out:
    buf_free_secret(&cred);
    buf_free_secret(&hdr);
    return rc;
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
    r->retry_initial_ms = cfg->retry_initial_ms > 0 ? cfg->retry_initial_ms : REST_DEFAULT_RETRY_MS;
    r->retry_attempts = cfg->retry_attempts > 0 ? cfg->retry_attempts : REST_DEFAULT_ATTEMPTS;
    r->user = cfg->user;
    if (dup_opt(cfg->base_url, &r->base_url, err) < 0 ||
        dup_opt(dialect->base_path != NULL ? dialect->base_path : "", &r->base_path, err) < 0 ||
        dup_opt(cfg->array != NULL ? cfg->array : cfg->base_url, &r->array, err) < 0 ||
        dup_opt(cfg->username, &r->username, err) < 0 ||
        dup_opt(cfg->password, &r->password, err) < 0)
        goto out;
    if (r->base_url == NULL) {
        perr_set(err, PERR_INTERNAL, "REST client without a base URL");
        goto out;
    }
    /* Drop a trailing '/' so that tails starting with '/' join cleanly. */
    for (size_t n = strlen(r->base_url); n > 0 && r->base_url[n - 1] == '/'; n--)
        r->base_url[n - 1] = '\0';
    if (dialect->basic_auth && rest_make_basic(r, err) < 0)
        goto out;
    if (r->transport.perform == NULL) {
        struct http_opts o = {
            .component = cfg->component != NULL ? cfg->component : "http.rest",
            .insecure = cfg->insecure,
            .ca_file = cfg->ca_file,
            .timeout_ms = r->timeout_ms,
            .tls_hint = "give the array a certificate the system trusts, or set "
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
    free(r->array);
    free(r->username);
    secret_free(r->password);
    secret_free(r->basic_header);
    secret_free(r->session);
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
rest_set_session(struct rest *r, const char *session, struct perr *err)
{
    char *s = NULL;

    if (session != NULL) {
        s = strdup(session);
        if (s == NULL)
            return perr_set(err, PERR_NOMEM, "out of memory");
        log_add_secret(s);
    }
    secret_free(r->session);
    r->session = s;
    return 0;
}

const char *
rest_session(const struct rest *r)
{
    return r->session;
}

int
rest_login(struct rest *r, struct perr *err)
{
    if (r->dialect->login == NULL)
        return 0;
    return r->dialect->login(r, err);
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
rest_idempotent(const struct rest_endpoint *ep)
{
    const char *m = ep->method;

    return (ep->flags & REST_F_RETRY) != 0 || strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 ||
           strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0;
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
 * with err set then). */
static bool
rest_backoff(struct backoff *bo, const struct deadline *dl, struct perr *err)
{
    long delay = backoff_next_ms(bo);

    if (delay < 0 || cancel_requested() || deadline_remaining_ms(dl) <= delay)
        return false;
    return wait_ms(delay, dl, err) == 0;
}

static int
rest_headers(struct rest *r, const struct rest_request *req, struct strv *auth, const char **hv,
             struct perr *err)
{
    size_t n = 0;

    hv[n++] = "Accept: application/json";
    if ((req->ep->flags & REST_F_NO_AUTH) == 0) {
        if (r->basic_header != NULL)
            hv[n++] = r->basic_header;
        if (r->dialect->auth_headers != NULL && r->dialect->auth_headers(r, auth, err) < 0)
            return -1;
        for (size_t i = 0; i < auth->n && n + 1 < REST_MAX_HEADERS; i++)
            hv[n++] = auth->v[i];
    }
    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
        if (n + 1 >= REST_MAX_HEADERS)
            return perr_set(err, PERR_INTERNAL, "too many request headers");
        hv[n++] = req->headers[i];
    }
    hv[n] = NULL;
    return 0;
}

static void
rest_error_text(const struct http_resp *resp, struct rest_error *e)
{
    const char *raw = buf_cstr(&resp->body);
    size_t len = strnlen(raw, REST_RAW_TEXT_MAX);

    if (e->text[0] != '\0' || len == 0)
        return;
    snprintf(e->text, sizeof(e->text), "%.*s%s", (int)len, raw, raw[len] != '\0' ? "..." : "");
}

static int
rest_accept(const struct rest_request *req, struct http_resp *resp, const char *url_path,
            bool strict, struct rest_reply *reply, struct perr *err)
{
    if (resp->body.len > 0) {
        struct perr perr_json = {0};

        if (jsonx_parse(resp->body.data, resp->body.len, &reply->json, &perr_json) < 0) {
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

        if (v != NULL && dup_opt(v, &reply->header, err) < 0)
            return -1;
    }
    reply->status = resp->status;
    return 0;
}

static int
rest_exchange(struct rest *r, const struct rest_request *req, const char *tail, const char *body,
              size_t body_len, struct rest_reply *reply, struct perr *err)
{
    const struct rest_endpoint *ep = req->ep;
    bool authed = (ep->flags & REST_F_NO_AUTH) == 0;
    bool idempotent = rest_idempotent(ep);
    bool relogged = false;
    struct deadline dl = deadline_in_ms(r->timeout_ms);
    struct backoff bo;
    struct buf url = {0};
    struct strv auth = {0};
    struct http_resp resp = {0};
    json_t *ebody = NULL;
    const char *hv[REST_MAX_HEADERS];
    char url_path[256];
    int rc = -1;

    memset(reply, 0, sizeof(*reply));
    backoff_init(&bo, r->retry_initial_ms, REST_RETRY_MAX_MS, 2.0, 0.2, r->retry_attempts);
    if (buf_addf(&url, err, "%s%s", r->base_url, tail) < 0)
        goto out;
    snprintf(url_path, sizeof(url_path), "%.*s", (int)strcspn(tail, "?"), tail);
    if (authed && r->dialect->login != NULL && r->session == NULL && rest_login(r, err) < 0)
        goto out;
    for (;;) {
        struct perr attempt = {0};
        struct rest_error e = {0};
        struct http_req hreq = {0};

        strv_free_secret(&auth);
        http_resp_free(&resp);
        json_decref(ebody);
        ebody = NULL;
        if (rest_headers(r, req, &auth, hv, err) < 0)
            goto out;
        hreq.method = ep->method;
        hreq.url = buf_cstr(&url);
        hreq.headers = hv;
        hreq.body = body;
        hreq.body_len = body_len;
        hreq.content_type = body != NULL ? "application/json" : NULL;
        hreq.timeout_ms = deadline_remaining_ms(&dl);
        if (hreq.timeout_ms <= 0)
            hreq.timeout_ms = 1;
        r->requests++;
        atomic_fetch_add(&rest_total_requests, 1);
        if (http_perform(&r->transport, &hreq, &resp, &attempt) < 0) {
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
        if (rest_status_ok(ep, resp.status)) {
            rc = rest_accept(req, &resp, url_path, true, reply, err) < 0 ? -1 : 0;
            goto out;
        }
        if (rest_status_in(ep->already, ARRAY_LEN(ep->already), resp.status)) {
            rc = rest_accept(req, &resp, url_path, false, reply, err) < 0 ? -1 : 1;
            goto out;
        }
        e.status = resp.status;
        e.code = rest_code_for_status(resp.status);
        if (resp.body.len > 0 && jsonx_parse(resp.body.data, resp.body.len, &ebody, &attempt) < 0)
            ebody = NULL;
        if (r->dialect->error_from_body != NULL)
            r->dialect->error_from_body(ebody, buf_cstr(&resp.body), &e);
        rest_error_text(&resp, &e);
        if (ep->already_code != PERR_OK && e.code == ep->already_code) {
            rc = rest_accept(req, &resp, url_path, false, reply, err) < 0 ? -1 : 1;
            goto out;
        }
        if (authed && r->dialect->login != NULL && !relogged &&
            (resp.status == 401 ||
             (r->dialect->session_expired != NULL && r->dialect->session_expired(&e)))) {
            log_debug(REST_COMP, "session expired, logging in again", "endpoint", ep->name, "array",
                      r->array, NULL);
            relogged = true;
            if (rest_set_session(r, NULL, err) < 0 || rest_login(r, err) < 0)
                goto out;
            continue;
        }
        if (idempotent && (resp.status == 429 || (resp.status >= 500 && resp.status <= 599))) {
            log_debug(REST_COMP, "retrying after a server error", "endpoint", ep->name, "status",
                      resp.status >= 500 ? "5xx" : "429", NULL);
            if (rest_backoff(&bo, &dl, err))
                continue;
            if (perr_failed(err))
                goto out;
        }
        perr_set_remote(err, e.code, resp.status, e.remote_code, "HTTP %ld from %s %s%s%s%s%s%s",
                        resp.status, ep->method, url_path, e.text[0] != '\0' ? ": " : "", e.text,
                        e.remote_code[0] != '\0' ? " [code " : "", e.remote_code,
                        e.remote_code[0] != '\0' ? "]" : "");
        goto out;
    }
out:
    if (rc < 0)
        rest_reply_free(reply);
    json_decref(ebody);
    http_resp_free(&resp);
    strv_free_secret(&auth);
    buf_free(&url);
    return rc;
}

/* ---- calls, with pagination ---- */

static int
rest_tail(struct rest *r, const struct rest_request *req, struct buf *tail, struct perr *err)
{
    const struct rest_endpoint *ep = req->ep;

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
    return 0;
}

static int
rest_follow_pages(struct rest *r, const struct rest_request *req, const char *first_tail,
                  struct rest_reply *reply, struct perr *err)
{
    const char *key = r->dialect->items_key;
    json_t *all = key != NULL ? json_object_get(reply->json, key) : NULL;
    json_t *last = json_incref(reply->json);
    struct buf cur = {0};
    struct buf next = {0};
    int rc = -1;

    if (buf_adds(&cur, first_tail, err) < 0)
        goto out;
    for (int page = 1;; page++) {
        struct rest_request nreq = {.ep = req->ep, .headers = req->headers};
        struct rest_reply pr = {0};
        json_t *items;
        int more;

        buf_reset(&next);
        more = r->dialect->next_page(last, buf_cstr(&cur), &next, err);
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
        items = key != NULL ? json_object_get(pr.json, key) : NULL;
        if (json_is_array(all) && json_is_array(items) && json_array_extend(all, items) < 0) {
            rest_reply_free(&pr);
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
        json_decref(last);
        last = pr.json;
        pr.json = NULL;
        rest_reply_free(&pr);
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
    json_decref(last);
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
    if (rc == 0 && (req->ep->flags & REST_F_PAGED) != 0 && r->dialect->next_page != NULL &&
        reply->json != NULL && rest_follow_pages(r, req, buf_cstr(&tail), reply, err) < 0) {
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
    secret_free(reply->header);
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
