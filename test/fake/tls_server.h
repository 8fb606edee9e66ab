/*
 * A scripted HTTP(S) server on 127.0.0.1 for integration tests.
 *
 * The server listens on an ephemeral loopback port, accepts any number of
 * connections (one thread each, keep-alive honoured) and, for every request,
 * records it and asks a handler callback what to answer.  Besides plain
 * replies the handler can script failures: a delay before answering, a
 * connection closed without an answer, an endless-looking huge body, a
 * redirect.
 *
 * TLS material comes from struct tls_pki: a throwaway CA and a server
 * certificate it signed (EC P-256, SAN IP:127.0.0.1 and DNS:localhost), made
 * in memory at start and written to a private temporary directory so clients
 * can be pointed at the CA file.  Other tests (the metrics listener) can make a
 * tls_pki on its own for their own servers.
 *
 * Contract:
 * - tls_server_start() returns NULL only after printing why on stderr; tests
 *   assert it is not NULL.
 * - Requests are recorded before the handler runs, so once a client call has
 *   returned, tls_server_nrequests() and tls_server_request() reflect it.
 *   Recorded requests are owned by the server and stay valid until
 *   tls_server_stop().
 * - The handler runs on a connection thread; it must be thread-safe with
 *   respect to the test's own data if several clients run at once.  Strings
 *   it puts in the reply (body, content_type, location) must stay valid until
 *   the reply is sent; body_alloc and headers are owned and freed by the server.
 * - SIGPIPE is blocked in the server's threads only; the process disposition is
 *   not changed.
 * - tls_server_stop() wakes every waiting thread (delays end early), joins them
 *   and frees everything; with tls_pki it also removes the temporary files.
 */
#ifndef POP_TEST_TLS_SERVER_H
#define POP_TEST_TLS_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/strv.h"

/* A CA and a server certificate signed by it, as files and text. */
struct tls_pki {
    char *dir;       /* private temporary directory holding the files */
    char *ca_file;   /* CA certificate, PEM */
    char *cert_file; /* server certificate for 127.0.0.1 and localhost, PEM */
    char *key_file;  /* server private key, PEM, mode 0600 */
    char *ca_pem;    /* CA certificate PEM text */
};

/* Makes a fresh CA + server certificate; NULL on failure (reason on stderr). */
struct tls_pki *tls_pki_new(void);
/* Removes the files and the directory and frees p.  NULL-safe. */
void tls_pki_free(struct tls_pki *p);

/* One received request, as sent on the wire. */
struct tls_request {
    char *method;        /* "GET" */
    char *target;        /* request target: path and query, e.g. "/sdk?x=1" */
    struct strv headers; /* "Name: value" lines in arrival order */
    char *body;          /* NUL-terminated copy of the body ("" when none) */
    size_t body_len;
};

/* Value of the first header called name (case-insensitive) or NULL. */
const char *tls_request_header(const struct tls_request *r, const char *name);

/* What to answer; zeroed before the handler runs.  A zeroed reply is
 * "200, empty body". */
struct tls_reply {
    int status;               /* 0 = 200, or 302 when location is set */
    const char *content_type; /* NULL = no Content-Type header */
    const char *body;         /* borrowed; NULL = empty */
    size_t body_len;          /* 0 = strlen(body) */
    char *body_alloc;         /* owned alternative to body (malloc'd, NUL-terminated) */
    struct strv headers;      /* extra "Name: value" lines; owned by the server */
    const char *location;     /* adds "Location:"; status defaults to 302 */
    long delay_ms;            /* wait this long first (ends early if the client leaves) */
    bool close;               /* close the connection without any answer */
    size_t huge_len;          /* > 0: announce and send this many bytes of 'x' as body */
    bool close_after;         /* send "Connection: close" and close after the reply */
    bool no_length;           /* omit Content-Length: the body ends when the connection
                                 closes (implies close_after) */
};

typedef void tls_handler_fn(void *arg, const struct tls_request *req, struct tls_reply *reply);

struct tls_server_opts {
    tls_handler_fn *handler; /* NULL = always 200 with body "ok" */
    void *arg;               /* passed to handler */
    bool plain;              /* serve plain HTTP instead of HTTPS */
};

struct tls_server;

/* Starts listening on 127.0.0.1 (ephemeral port) with a fresh tls_pki. */
struct tls_server *tls_server_start(const struct tls_server_opts *opts);
/* "https://127.0.0.1:<port>" (or "http://..." when plain); borrowed. */
const char *tls_server_url(const struct tls_server *s);
int tls_server_port(const struct tls_server *s);
/* The server's certificate material; borrowed. */
const struct tls_pki *tls_server_pki(const struct tls_server *s);
/* Number of requests received so far (complete ones only). */
size_t tls_server_nrequests(struct tls_server *s);
/* Request i (0-based) or NULL; borrowed until tls_server_stop(). */
const struct tls_request *tls_server_request(struct tls_server *s, size_t i);
/* Number of connections accepted so far. */
size_t tls_server_nconnections(struct tls_server *s);
/* Number of TLS handshakes that failed (a client rejecting the certificate). */
size_t tls_server_nhandshake_failures(struct tls_server *s);
/* Stops, joins every thread, frees everything.  NULL-safe. */
void tls_server_stop(struct tls_server *s);

/* A loopback port nothing listens on (bound, then closed): for refusal tests. */
int tls_unused_port(void);

#endif
