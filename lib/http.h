/*
 * The HTTP transport seam and its libcurl implementation.
 *
 * Everything above this layer (REST, SOAP, the metrics scrape test) talks to a
 * struct http_transport: a table of function pointers plus an opaque impl.
 * http_transport_curl_new() fills it with the real libcurl client; unit and
 * driver tests fill it with a scripted fake.  Callers go through the
 * http_*() wrappers below, never through the pointers directly.
 *
 * Contract of a transport:
 * - One transport = one connection cache and one cookie jar.  It is NOT
 *   thread-safe: use it from one thread at a time (the program has a single
 *   worker thread; the metrics listener never makes requests).
 * - Bounded: every request has a connect timeout and a whole-request deadline,
 *   the response body is capped, redirects are never followed, and only
 *   http:// and https:// URLs are accepted.
 * - TLS (TLS 1.2 or newer) verifies the peer and the host name unless
 *   opts.insecure is set; that choice is logged at warn once, when the
 *   transport is made.
 * - Cookies the server sets are kept and sent back automatically (the vSphere
 *   session cookie); http_cookie_get() reads one and http_cookie_clear()
 *   drops them all (before a re-login).
 * - No `Expect: 100-continue` is ever sent, so large POST/PUT bodies do not
 *   stall for a second waiting for a 100 response.
 * - Never a silent replay: libcurl re-sends a request by itself when a reused
 *   connection turns out dead before any answer byte, which is harmless for
 *   a read but, when the server had acted before the connection died, runs a
 *   create twice.  A request that is not marked idempotent (and is not GET or
 *   HEAD) therefore always goes out on a new connection, where libcurl never
 *   replays it; a lost answer is then a PERR_NETWORK/PERR_TIMEOUT error and
 *   the caller reads the state back before deciding anything.
 *
 * Errors (struct perr, first error wins; the message names the method and the
 * URL as printed by http_url_for_log(): never userinfo, never a query string):
 *   PERR_TIMEOUT   the connect timeout or the whole-request deadline passed
 *   PERR_NETWORK   resolve, connect, reset, send/receive failure, empty reply
 *   PERR_TLS       handshake or certificate failure; libcurl's error text and
 *                  opts.tls_hint (or a generic hint) are part of the message
 *   PERR_PROTOCOL  response body larger than opts.max_body, malformed reply
 *   PERR_HTTP      a 3xx answer: "redirect to '<location>' not followed",
 *                  err->http_status holds the status
 *   PERR_USAGE     malformed URL or a scheme other than http/https
 *   PERR_CONFIG    unreadable CA file / unparsable CA PEM (at construction)
 *   PERR_NOMEM, PERR_INTERNAL
 * Any other status (1xx is never seen, 2xx, 4xx, 5xx) is NOT an error here:
 * http_perform() returns 0 and the caller maps resp->status itself.
 *
 * Logging (component = opts.component):
 * - debug: one line per exchange: method, URL (no query), status, ms, bytes.
 * - trace (only when log_trace_on(component)): request/response header lines
 *   and bodies.  Values of sensitive headers (Authorization,
 *   Proxy-Authorization, Cookie, Set-Cookie, X-Auth-Token, api-token: every
 *   name log_key_is_sensitive() flags, plus any containing "session") print
 *   as "***"; so do query parameters with such names; bodies go through
 *   http_redact_body(); libcurl's own info lines about cookies are replaced
 *   by a placeholder.  Binary bodies print as a byte count only, and traced
 *   bodies are cut at 64 KiB.
 * - Every cookie value a peer sets (a session credential) is registered with
 *   log_add_secret() after each exchange, so it is scrubbed wherever else it
 *   shows up (a login reply body, a message).
 * - The insecure warning (warn) at construction; nothing at info or above
 *   otherwise: callers decide what an exchange means.
 */
#ifndef POP_HTTP_H
#define POP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/strv.h"

#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define HTTP_DEFAULT_TIMEOUT_MS         60000L
#define HTTP_DEFAULT_MAX_BODY           ((size_t)16 * 1024 * 1024)

/* Construction options.  Strings are copied (or read) during
 * http_transport_curl_new(); none needs to outlive the call. */
struct http_opts {
    const char *component;       /* log component, e.g. "http.storage"; NULL = "http" */
    const char *ca_file;         /* PEM bundle file, or NULL */
    const char *ca_pem;          /* PEM text in memory (the vSphere secret's cacert), or NULL.
                                    At most one of ca_file/ca_pem; both NULL = system store. */
    bool insecure;               /* skip peer and host verification (logged at warn) */
    const char *tls_hint;        /* appended to TLS errors, e.g. "set cacert in the vSphere
                                    secret or GOVMOMI_INSECURE=true"; NULL = a generic hint */
    long connect_timeout_ms;     /* 0 = HTTP_DEFAULT_CONNECT_TIMEOUT_MS */
    long timeout_ms;             /* whole-request deadline; 0 = HTTP_DEFAULT_TIMEOUT_MS */
    size_t max_body;             /* response body cap in bytes; 0 = HTTP_DEFAULT_MAX_BODY */
    const char *user_agent;      /* NULL = "vsphere-copy-offload-populator/<POP_VERSION>" */
    const char *client_cert_pem; /* TLS client certificate (PEM text), or NULL */
    const char *client_key_pem;  /* its private key (PEM text, a secret), or NULL; both or
                                    neither (PERR_USAGE otherwise).  libcurl keeps copies. */
};

/* One request.  Everything is borrowed for the duration of the call. */
struct http_req {
    const char *method;         /* "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" */
    const char *url;            /* absolute http:// or https:// URL, already escaped */
    const char *content_type;   /* of body; NULL = no Content-Type header */
    const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL */
    const char *body;           /* NULL = no body (GET, HEAD, DELETE) */
    size_t body_len;            /* bytes of body */
    long timeout_ms;            /* 0 = the transport's deadline */
    bool idempotent;            /* sending it twice does no harm (a read, a PUT of a state);
                                   false = a new connection, never replayed (see above).
                                   GET and HEAD are always taken as idempotent. */
    /* A stream (a Kubernetes watch).  When until is set it is called with the
     * body so far each time more of it arrives.  It may set *passed to the
     * bytes at the front it has dealt with and does not want (events it
     * passed over): they are dropped from the body, which so stays small
     * however long the stream runs.  A return n > 0 ends the transfer there
     * and the call succeeds with the body's first n bytes after the dropped
     * ones (one event of several that came in one piece).  Running out of
     * time after a 2xx status also succeeds then (a watch that saw nothing
     * it wanted), with whatever body is left.  The connection is not reused
     * after either. */
    size_t (*until)(void *arg, const char *body, size_t len, size_t *passed);
    void *until_arg;
};

/* One response.  Owns all of its memory; release with http_resp_free(). */
struct http_resp {
    long status;         /* final HTTP status, e.g. 200 */
    struct buf body;     /* NUL-terminated, at most opts.max_body bytes */
    char *content_type;  /* Content-Type value, or NULL when absent */
    struct strv headers; /* header lines of the final response, "Name: value", unredacted */
};

struct http_transport {
    /* Required.  Fills a zeroed *resp; on failure sets err and may leave
     * partial content in resp (http_perform() frees it). */
    int (*perform)(void *impl, const struct http_req *req, struct http_resp *resp,
                   struct perr *err);
    /* Optional (NULL = PERR_UNSUPPORTED through the wrappers). */
    int (*cookie_get)(void *impl, const char *name, char **value, struct perr *err);
    int (*cookie_clear)(void *impl, struct perr *err);
    /* Required; frees impl. */
    void (*free)(void *impl);
    void *impl;
};

/* curl_global_init() exactly once per process, thread-safe; later calls return
 * the first result.  Called by http_transport_curl_new(); main() may call it
 * early, before starting the metrics thread.  Never undone. */
int http_global_init(struct perr *err);

/* Makes the libcurl transport.  *out is cleared first and filled only on
 * success; release it with http_transport_free(). */
int http_transport_curl_new(const struct http_opts *opts, struct http_transport *out,
                            struct perr *err);

/* Performs one exchange.  *resp is overwritten (not freed: free an earlier
 * response first).  On success the caller owns *resp and frees it with
 * http_resp_free(); on failure *resp owns nothing.  A 3xx status is turned into
 * PERR_HTTP (see above); every other status is returned as data. */
int http_perform(struct http_transport *t, const struct http_req *req, struct http_resp *resp,
                 struct perr *err);

/* Copies the value of the first stored cookie called name into *value
 * (malloc'd, verbatim, including any quotes the server put around it, so it can
 * be sent back as "Cookie: name=<value>").  *value is NULL when there is no such
 * cookie; that is not an error.  The value is a credential: free it with
 * OPENSSL_clear_free()/freezero-style helpers, never log it. */
int http_cookie_get(struct http_transport *t, const char *name, char **value, struct perr *err);
/* Forgets every stored cookie. */
int http_cookie_clear(struct http_transport *t, struct perr *err);

/* Frees the impl and zeroes *t.  NULL-safe, and safe on a zeroed transport. */
void http_transport_free(struct http_transport *t);
/* Frees everything in *r and zeroes it.  NULL-safe. */
void http_resp_free(struct http_resp *r);

/* Value of the first response header called name (case-insensitive), leading
 * blanks skipped (stored lines carry no trailing blanks); borrowed from r, or
 * NULL when absent. */
const char *http_resp_header(const struct http_resp *r, const char *name);

/* Writes url into out (size n, always NUL-terminated, truncated if needed) in a
 * form fit for messages and logs: scheme://host[:port]/path, without userinfo,
 * query string or fragment. */
void http_url_for_log(const char *url, char *out, size_t n);

/* Redaction used by the wire trace, exposed for tests and for other layers that
 * log bodies.  Appends a copy of in[0..len) to out where:
 * - a JSON member whose key log_key_is_sensitive() flags has its value (string,
 *   number, literal, object or array) replaced by "***";
 * - the text content of an XML element whose local name log_key_is_sensitive()
 *   flags (<password>, <vim25:password>, <token>, ...) is replaced by ***.
 * Everything else is copied unchanged.  Fails only for lack of memory or when
 * out's cap is reached. */
int http_redact_body(const char *in, size_t len, struct buf *out, struct perr *err);

/* True when a header of this name must never be printed with its value. */
bool http_header_is_sensitive(const char *name, size_t len);

#endif
