/*
 * JSON REST client on the HTTP transport, driven by per-vendor tables.
 *
 * A storage driver describes each call as a static `struct rest_endpoint`
 * (method, path and query templates, accepted statuses) and its vendor as a
 * static `struct rest_dialect` (base path, login, auth headers, error body
 * shape, pagination).  rest_call()/rest_do() then do everything else:
 *
 * - URLs: "{var}" in the path and query templates is replaced by the variable's
 *   value through buf_add_url() (RFC 3986 percent-encoding), so names such as
 *   "a/b c&d?e" can never change the path or add a parameter.  No driver ever
 *   formats a URL itself.  In the query template, an item ("k={v}") whose
 *   variable is NULL is left out, so one table entry serves optional filters.
 *   A variable missing from the list is PERR_INTERNAL (a table bug).
 * - Auth: HTTP Basic on every request (dialect.basic_auth), or a session made
 *   by dialect.login (called by rest_login(), and lazily before the first
 *   authenticated request) whose headers dialect.auth_headers adds.
 * - Session expiry: on 401, or when dialect.session_expired says so, the
 *   client logs in again ONCE per call and repeats the request.
 * - Retries: idempotent calls (GET, HEAD, PUT, DELETE; POST/PATCH only with
 *   REST_F_RETRY) are repeated on 429, 5xx and network errors with bounded
 *   exponential backoff, within the call's deadline (the configured timeout).
 * - Status mapping (after dialect.error_from_body had its say):
 *     401, 403 -> PERR_AUTH      404 -> PERR_NOT_FOUND    409 -> PERR_CONFLICT
 *     other non-accepted status -> PERR_HTTP
 *   The perr carries http_status, the vendor's code in remote_code and the
 *   vendor's text in the message: "HTTP 409 from POST /api/x: <text> [code N]".
 * - Bodies: request bodies are jansson values, always stolen (also on
 *   failure); responses are parsed as JSON (an empty body gives NULL); a
 *   malformed body on an accepted status is PERR_PROTOCOL.
 * - Pagination (REST_F_PAGED): dialect.next_page is asked for the next URL
 *   after every page; the items arrays (dialect.items_key) of later pages are
 *   appended to the first page's, which is what the caller gets.
 * - TLS is verified unless cfg.insecure; skipping it is logged at warn once,
 *   naming the array.  Every request has the same timeout (cfg.timeout_s).
 * - Every transport exchange increments a process-wide counter
 *   (rest_request_count()) and the client's own (rest_requests()).
 *
 * Logging: debug for retries and re-logins (component "rest"); the transport
 * logs each exchange.  Secrets (password, api token, session) are registered
 * with log_add_secret() and never logged.
 *
 * Not thread-safe: one client belongs to one thread at a time.
 */
#ifndef POP_REST_H
#define POP_REST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/buf.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/http.h"
#include "lib/strv.h"

struct rest;

/* One template variable.  Lists end with {NULL, NULL}.  Values are borrowed. */
struct rest_var {
    const char *name;
    const char *value; /* NULL: drop the query item that uses it (path: error) */
};

enum rest_flags {
    REST_F_RETRY = 1u << 0,   /* a POST/PATCH that is safe to repeat */
    REST_F_PAGED = 1u << 1,   /* follow dialect.next_page, merge the items */
    REST_F_NO_AUTH = 1u << 2, /* no auth headers, no login, no re-login (login calls) */
    REST_F_ROOT = 1u << 3,    /* path is from the host root, not under the base path */
};

/* One REST call, static const in the driver. */
struct rest_endpoint {
    const char *name;            /* short id for logs: "lun-get" */
    const char *method;          /* "GET", "POST", "PATCH", "PUT", "DELETE" */
    const char *path;            /* "/storage/luns/{uuid}" under the base path */
    const char *query;           /* "svm.uuid={svm}&name={name}&fields=", or NULL */
    long ok[4];                  /* accepted statuses; all zero = any 2xx */
    long already[3];             /* statuses meaning "already done" (rest_call() returns 1) */
    enum perr_code already_code; /* a mapped error code meaning "already done"; 0 = none */
    unsigned flags;              /* enum rest_flags */
};

/* A failed response as the dialect sees it; rest fills status and the code
 * from the status table, the dialect may refine all three other fields. */
struct rest_error {
    long status;
    enum perr_code code;
    char remote_code[64]; /* vendor's error code, "" if none */
    char text[512];       /* vendor's message, "" if none */
};

/* One vendor's REST conventions, static const in the driver. */
struct rest_dialect {
    const char *base_path; /* "/api"; NULL when set at run time (rest_set_base_path) */
    const char *items_key; /* array merged across pages: "records", "items"; NULL = none */
    bool basic_auth;       /* send Authorization: Basic user:password on every request */
    /* Makes a session (store it with rest_set_session()).  NULL = no session. */
    int (*login)(struct rest *r, struct perr *err);
    /* Adds "Name: value" lines to every authenticated request.  NULL = none. */
    int (*auth_headers)(struct rest *r, struct strv *hdrs, struct perr *err);
    /* Reads the vendor's error shape from body (NULL when the body is empty or
     * not JSON; raw is the body text then) into e.  NULL = keep the defaults. */
    void (*error_from_body)(json_t *body, const char *raw, struct rest_error *e);
    /* True when e means "log in again" besides a plain 401.  NULL = 401 only. */
    bool (*session_expired)(const struct rest_error *e);
    /* Given an accepted page and the URL tail ("/api/x?q") it came from, writes
     * the next page's URL tail (from the host root, starting with one '/') to
     * next and returns 1, or returns 0 when this was the last page. */
    int (*next_page)(json_t *page, const char *cur, struct buf *next, struct perr *err);
};

/* Construction.  Strings are copied; nothing needs to outlive rest_new(). */
struct rest_config {
    const char *base_url;  /* "https://host[:port]" (no trailing path) */
    const char *array;     /* name for messages and the TLS warning (the host) */
    const char *component; /* transport log component, e.g. "http.ontap"; NULL = "http.rest" */
    const char *username;  /* Basic auth / login credentials (secrets) */
    const char *password;
    bool insecure;           /* skip TLS verification (logged at warn) */
    const char *ca_file;     /* PEM bundle to verify the array with; NULL = system store */
    long timeout_s;          /* per request and per call deadline; <= 0 = 30 */
    long retry_initial_ms;   /* first backoff delay; 0 = 500 (tests use 1) */
    unsigned retry_attempts; /* retries after the first try; 0 = 4 */
    /* Test seam: when non-NULL, this transport is used instead of libcurl and
     * is moved into the client (the caller's struct is zeroed), also on failure. */
    struct http_transport *transport;
    void *user; /* opaque, for the dialect callbacks: rest_user() */
};

/* Makes a client.  *out is NULL on failure. */
int rest_new(const struct rest_dialect *dialect, const struct rest_config *cfg, struct rest **out,
             struct perr *err);
/* Frees the client, its transport and its secrets.  NULL-safe. */
void rest_free(struct rest *r);

void *rest_user(const struct rest *r);
const char *rest_username(const struct rest *r);
const char *rest_password(const struct rest *r);
/* Sets the base path (copied), e.g. "/api/2.36" after version negotiation. */
int rest_set_base_path(struct rest *r, const char *base_path, struct perr *err);
/* Stores (copies; NULL clears) the session credential and registers it as a
 * log secret.  The old one is zeroed. */
int rest_set_session(struct rest *r, const char *session, struct perr *err);
/* The session credential, or NULL. */
const char *rest_session(const struct rest *r);
/* Runs dialect.login now (no-op without one).  Called by the driver's open. */
int rest_login(struct rest *r, struct perr *err);

/* A full request, for calls that need extra headers or a response header. */
struct rest_request {
    const struct rest_endpoint *ep;
    const struct rest_var *vars; /* may be NULL when the templates have no {vars} */
    json_t *body;                /* stolen, may be NULL */
    const char *const *headers;  /* extra "Name: value" lines, NULL-terminated, or NULL */
    const char *want_header;     /* response header to copy into reply.header, or NULL */
};

/* What came back.  Owned; release with rest_reply_free(). */
struct rest_reply {
    long status;
    json_t *json; /* parsed body (all pages merged), NULL when empty */
    char *header; /* value of want_header, NULL when absent */
};

/* Performs req.  Returns 0 on an accepted status, 1 when the endpoint's
 * "already" status or code came back (reply->json then holds the error body,
 * if any), -1 with err set otherwise; *reply owns nothing on failure. */
int rest_do(struct rest *r, struct rest_request *req, struct rest_reply *reply, struct perr *err);
void rest_reply_free(struct rest_reply *reply);

/* The common case: like rest_do() without extra headers; *out (may be NULL
 * when not wanted) gets the parsed body, the caller json_decref()s it. */
int rest_call(struct rest *r, const struct rest_endpoint *ep, const struct rest_var *vars,
              json_t *body, json_t **out, struct perr *err);

/* Expands a template: path templates escape every value; query templates
 * additionally drop items whose variable is NULL.  Exposed for tests. */
int rest_expand(const char *tmpl, const struct rest_var *vars, bool query, struct buf *out,
                struct perr *err);

/* Requests performed by this client / by all clients in the process. */
unsigned long rest_requests(const struct rest *r);
unsigned long rest_request_count(void);

#endif
