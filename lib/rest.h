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
 * - Auth: HTTP Basic on every request (dialect.basic_auth), and/or a session
 *   described by dialect.session (struct rest_session): made lazily before
 *   the first authenticated request, renewed when its lifetime is up, made
 *   again ONCE per call on the statuses it names (401 by default), deleted
 *   by rest_logout().
 * - Retries: dialect.retry (struct rest_retry): by default idempotent calls
 *   on 429, 5xx and network errors with bounded exponential backoff and
 *   jitter, within the call's deadline (the configured timeout).  The client
 *   never sleeps holding cfg.lock.
 * - Status mapping, then dialect.errors.rules, then dialect.error_from_body:
 *     401, 403 -> PERR_AUTH      404 -> PERR_NOT_FOUND    409 -> PERR_CONFLICT
 *     other non-accepted status -> PERR_HTTP
 *   The perr carries http_status, the vendor's code in remote_code and the
 *   vendor's text in the message: "HTTP 409 from POST /api/x: <text> [code N]".
 * - Bodies: request bodies are jansson values, always stolen (also on
 *   failure); responses are parsed as JSON (an empty body gives NULL); a
 *   malformed body on an accepted status is PERR_PROTOCOL.
 * - Pagination (REST_F_PAGED): dialect.pager (struct rest_pager) follows the
 *   pages and merges their items into the first page's.
 * - Async jobs: rest_job_wait() polls a job with backoff and a deadline.
 * - TLS is verified unless cfg.insecure; skipping it is logged at warn once,
 *   naming the array.  Every request has the same timeout (cfg.timeout_s).
 * - Every transport exchange increments a process-wide counter
 *   (rest_request_count()) and the client's own (rest_requests()).
 *
 * Logging: debug for retries and re-logins (component "rest"); the transport
 * logs each exchange.  Secrets (password, api token, session) are registered
 * with log_add_secret() and never logged.
 *
 * Threads: without cfg.lock a client belongs to one thread at a time.  With
 * it, several threads may share the client: each exchange (headers from the
 * session, the request, the CSRF token of the answer) and each change of
 * the session happen under the lock, and no thread waits between tries
 * holding it.  Two threads that both see an expired session may both log in
 * again; the later session wins, which the arrays here accept.
 */
#ifndef POP_REST_H
#define POP_REST_H

#include <stdbool.h>
#include <pthread.h>
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
 * from the status table, the vendor's text and code from the dialect's error
 * paths, then applies the error rules; error_from_body may refine all four. */
struct rest_error {
    long status;
    enum perr_code code;
    char remote_code[64]; /* vendor's error code, "" if none */
    char text[512];       /* vendor's message, "" if none */
};

/*
 * Error-rule table: the first rule that matches decides our error code.  A
 * rule matches when every field it sets matches: status (0 = any), code
 * (equal to the vendor's code, e.g. "CMMVC5878E"), text (case-insensitive
 * substring of the vendor's message).  Endpoints then decide whether that
 * code means "already done" (rest_endpoint.already_code).  Lists end with a
 * zeroed rule.
 */
struct rest_error_rule {
    long status;
    const char *code;
    const char *text;
    enum perr_code to;
};

/*
 * Where the vendor puts its error in a body.  Paths are dotted JSON paths
 * with numeric array indexes ("errors.0.message", "messages.0.message_l10n").
 * envelope: when set, a body whose value at this path is a non-empty string
 * or non-null object is an error even on HTTP 2xx (the status is then not
 * trusted: InfiniBox's {result, error, metadata}).  code_prefix: a vendor
 * code found as a word starting with this prefix in the message text, when
 * the body has no code field (FlashSystem's "CMMVC5878E ..." CLI texts).
 */
struct rest_errors {
    const char *message;     /* "error.message" */
    const char *message_alt; /* tried when message is absent ("error_description") */
    const char *code;        /* "error.code" */
    const char *code_prefix; /* "CMMVC" */
    const char *envelope;    /* "error.code" */
    const struct rest_error_rule *rules;
};

/*
 * Retry policy of a dialect.  Defaults (all zero): idempotent methods only
 * (GET, HEAD, PUT, DELETE, and endpoints flagged REST_F_RETRY), on 429, any
 * 5xx and network errors, 4 retries, 500 ms doubling to 8 s with 20 %
 * jitter, all within the call's deadline.
 */
struct rest_retry {
    long statuses[6];    /* retried statuses; all zero = 429 and 5xx */
    unsigned attempts;   /* retries after the first try; 0 = the client's default */
    long initial_ms;     /* first delay; 0 = the client's default */
    long max_ms;         /* cap of one delay; 0 = 8000 */
    double jitter;       /* 0..1 of each delay added at random; 0 = 0.2 */
    bool any_method;     /* POST/PATCH too (the vendor makes them safe to repeat) */
    const char *text;    /* also retried when the vendor's message contains this */
    long success_status; /* a status that means success for any call (PowerMax 409) */
    /* Retried methods, NULL-terminated ({"GET", NULL}: reads only, as a write
     * that timed out may have been applied); NULL = the idempotent ones above.
     * any_method and REST_F_RETRY still add to it. */
    const char *const *methods;
    /* Statuses retried on every method, because the array refused the request
     * before acting on it (FlashSystem's 429 rate limit); all zero = none. */
    long refused[4];
};

/* Where the session credential is in the login reply. */
enum rest_token_from {
    REST_TOKEN_HEADER = 1, /* response header token_name ("x-auth-token") */
    REST_TOKEN_JSON,       /* JSON path token_name ("token", "key", "0.id") */
    REST_TOKEN_STRING,     /* the whole body is a JSON string (PowerFlex) */
    REST_TOKEN_COOKIE,     /* Set-Cookie token_name ("auth_cookie") */
};

enum rest_relogin {
    REST_RELOGIN_401 = 1u << 0,
    REST_RELOGIN_403 = 1u << 1,
};

/*
 * Session scheme: the login call, where its credential is, how it goes
 * back, how long it lives, when to log in again and how to log out.
 *
 * The login request is `login` (sent without auth headers unless
 * login_basic) with:
 * - login_headers: "Name: {user}" / "{password}" templates (values with CR
 *   or LF are refused), e.g. "X-Auth-Username: {user}";
 * - a JSON body when body_user, body_password or body_extra is set:
 *   {body_user: user, body_password: password} merged into body_extra (a
 *   JSON object text such as "{\"aliveTime\":300}"); body_extra "{}" alone
 *   sends an empty object.
 * Later requests carry send ("X-Auth-Token: %s", "Authorization: Session
 * %s", "Cookie: auth_cookie=%s"; %s is the credential) and, with
 * keep_basic, the Basic header too.  csrf_header is a response header whose
 * latest value is echoed on every later request (PowerStore
 * "DELL-EMC-TOKEN").  lifetime_s > 0: log in again before a request once the
 * session is that old.  relogin: which statuses mean "expired" (one re-login
 * per call).  logout: called by rest_logout() (and so by the storage layer's
 * close) with {session} and {session_id} (id_path in the login reply).
 */
struct rest_session {
    const struct rest_endpoint *login;
    bool login_basic;
    const char *const *login_headers;
    const char *body_user;
    const char *body_password;
    const char *body_extra;
    enum rest_token_from from;
    const char *token_name;
    const char *id_path;
    const char *send;
    bool keep_basic;
    const char *csrf_header;
    long lifetime_s;
    unsigned relogin; /* enum rest_relogin bits; 0 = 401 */
    const struct rest_endpoint *logout;
};

/*
 * Ready-made pagers.  Every kind merges the items of later pages into the
 * first page's items (items: the array's key, NULL when the body itself is
 * the array), which is what the caller gets.  Pagers see the response
 * headers.
 * - NEXT_LINK: the URL tail at path link ("_links.next.href") until absent.
 * - TOKEN: the same request with param=<token at path token> until the token
 *   is absent or the boolean at path more is false.
 * - RANGE: the first request gets size_param=<size>&param=0; an HTTP 206
 *   carries "Content-Range: first-last/total" and the next request asks
 *   param=last+1 until total is reached (HTTP 200 = everything).
 * - PAGES: the first request gets param=1&size_param=<size>; the number of
 *   pages is at path total of the first page ("metadata.pages_total").
 */
enum rest_pager_kind {
    REST_PAGER_NONE = 0,
    REST_PAGER_NEXT_LINK,
    REST_PAGER_TOKEN,
    REST_PAGER_RANGE,
    REST_PAGER_PAGES,
};

struct rest_pager {
    enum rest_pager_kind kind;
    const char *items;
    const char *link;
    const char *token;
    const char *more;
    const char *param;
    const char *size_param;
    long size;
    const char *total;
};

/* One vendor's REST conventions, static const in the driver.  Mostly data;
 * the callbacks are escape hatches for what no table expresses. */
struct rest_dialect {
    const char *base_path; /* "/api"; NULL when set at run time (rest_set_base_path) */
    bool basic_auth;       /* send Authorization: Basic user:password on every request */
    /* Extra "Name: value" lines on every request, NULL-terminated.  An
     * "Accept" line here replaces the client's default "application/json";
     * a "Content-Type" line replaces it on requests with a body (PowerMax's
     * "application/json;version=100"). */
    const char *const *headers;
    const struct rest_session *session; /* NULL = no session (Basic or nothing) */
    struct rest_errors errors;
    struct rest_retry retry;
    struct rest_pager pager;
    /* Makes a session in a way the session table cannot express (version
     * negotiation first, a token traded for credentials); it usually ends
     * with rest_session_login().  NULL = the table's login. */
    int (*login)(struct rest *r, struct perr *err);
    /* Adds "Name: value" lines to every authenticated request.  NULL = none
     * besides the session's. */
    int (*auth_headers)(struct rest *r, struct strv *hdrs, struct perr *err);
    /* Refines e after the tables had their say (body NULL when empty or not
     * JSON; raw is the body text then).  NULL = the tables only. */
    void (*error_from_body)(json_t *body, const char *raw, struct rest_error *e);
};

/* The value at a dotted JSON path ("a.b.0.c"), borrowed, or NULL. */
json_t *rest_json_path(json_t *root, const char *path);

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
    void *user;           /* opaque, for the dialect callbacks: rest_user() */
    const char *tls_hint; /* remedy appended to TLS errors; NULL = the array's */
    /* When set, held around each exchange with the transport (so several
     * threads may share the client) and never while waiting between tries. */
    pthread_mutex_t *lock;
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
/* Sets the JSON media type (copied; NULL = "application/json") sent as Accept
 * on every request and as the Content-Type of request bodies, e.g.
 * "application/json;version=4.5" once the array named its API version. */
int rest_set_media_type(struct rest *r, const char *media, struct perr *err);
/* Stores (copies; NULL clears) the session credential and registers it as a
 * log secret.  The old one is zeroed. */
int rest_set_session(struct rest *r, const char *session, struct perr *err);
/* The session credential, or NULL. */
const char *rest_session(const struct rest *r);
/* Logs in now: dialect.login, else the session table (no-op without
 * either).  Called by the driver's open. */
int rest_login(struct rest *r, struct perr *err);
/* The session table's login, with extra "Name: value" lines (NULL-terminated
 * or NULL) for this login only; stores the credential.  For dialect.login
 * callbacks that prepare something first. */
int rest_session_login(struct rest *r, const char *const *extra, struct perr *err);
/* Deletes the session on the array (session.logout) when there is one, and
 * forgets it.  Never fails: trouble is logged at debug. */
void rest_logout(struct rest *r);
/* Logins performed by this client (for tests and the bench). */
unsigned long rest_logins(const struct rest *r);

/* A full request, for calls that need extra headers or a response header. */
struct rest_request {
    const struct rest_endpoint *ep;
    const struct rest_var *vars; /* may be NULL when the templates have no {vars} */
    json_t *body;                /* stolen, may be NULL */
    const char *const *headers;  /* extra "Name: value" lines, NULL-terminated, or NULL */
    const char *want_header;     /* response header to copy into reply.header, or NULL */
    long timeout_ms;             /* this call's deadline (tries and waits); 0 = the client's */
    /* A stream: see struct http_req (a watch ends at the first event until
     * takes, or at timeout_ms with an empty reply; never retried). */
    size_t (*until)(void *arg, const char *body, size_t len, size_t *passed);
    void *until_arg;
};

/* What came back.  Owned; release with rest_reply_free(). */
struct rest_reply {
    long status;
    json_t *json; /* parsed body (all pages merged), NULL when empty */
    char *header; /* value of want_header, NULL when absent */
    char *range;  /* Content-Range of the (first) response, NULL when absent */
    /* For an "already done" answer (rest_do() returned 1): the vendor's
     * message and code, "" when it gave none. */
    char text[512];
    char code[64];
    /* On failure with an HTTP answer: the dialect's reading of it (status,
     * code, vendor code and text), for callers that phrase their own message;
     * zeroed otherwise (status 0). */
    struct rest_error error;
};

/* Performs req.  Returns 0 on an accepted status, 1 when the endpoint's
 * "already" status or code came back (reply->json then holds the error body,
 * if any), -1 with err set otherwise; *reply owns nothing on failure (only
 * reply->error may be set then). */
int rest_do(struct rest *r, struct rest_request *req, struct rest_reply *reply, struct perr *err);
void rest_reply_free(struct rest_reply *reply);

/* The common case: like rest_do() without extra headers; *out (may be NULL
 * when not wanted) gets the parsed body, the caller json_decref()s it. */
int rest_call(struct rest *r, const struct rest_endpoint *ep, const struct rest_var *vars,
              json_t *body, json_t **out, struct perr *err);

/*
 * Async jobs.  A call answered with a job (Vantara 202 {"jobId":..}) is
 * followed by polling job.get ({id} = the value at id_path of the accepted
 * reply) with backoff (first_ms doubling to max_ms) until the value at
 * state_path (a string or an integer, compared as text) is one of done
 * (success) or the value at failed_path is one of
 * failed (PERR_REMOTE with the text at error_path), or timeout_s passes
 * (PERR_TIMEOUT naming the job).  progress_path, when set, is a percentage
 * passed to fn.  *final (may be NULL) gets the last job document.
 */
struct rest_job {
    const struct rest_endpoint *get;
    const char *id_path;
    const char *state_path;
    const char *const *done;
    const char *failed_path; /* NULL = state_path */
    const char *const *failed;
    const char *error_path;
    const char *progress_path;
    long first_ms;  /* 0 = 200 */
    long max_ms;    /* 0 = 5000 */
    long timeout_s; /* 0 = 600 */
};

typedef void (*rest_progress_fn)(void *arg, unsigned pct);

int rest_job_wait(struct rest *r, const struct rest_job *job, json_t *accepted, rest_progress_fn fn,
                  void *arg, json_t **final, struct perr *err);

/* Expands a template: path templates escape every value; query templates
 * additionally drop items whose variable is NULL.  Exposed for tests. */
int rest_expand(const char *tmpl, const struct rest_var *vars, bool query, struct buf *out,
                struct perr *err);

/* Requests performed by this client / by all clients in the process. */
unsigned long rest_requests(const struct rest *r);
unsigned long rest_request_count(void);

#endif
