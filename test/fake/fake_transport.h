/*
 * A scripted struct http_transport for unit and driver tests: no sockets.
 *
 * The test lists the exchanges it expects, in order.  Each request the code
 * under test makes is matched against the next one: method, then the URL
 * after "scheme://host[:port]" (path and query, compared exactly, so the
 * escaping is checked too), then the JSON body (compared structurally with
 * json_equal(), key order ignored) and one request header when given.  The
 * scripted reply (status, body, one header) is returned, or a transport
 * failure when `fail` is set.
 *
 * An unexpected request, a mismatch or a body on a GET/DELETE makes the
 * transport fail that request (PERR_INTERNAL "fake transport: ...") and is
 * remembered; fake_transport_verify() then fails the test with the first such
 * message, or with the first exchange that was never consumed.
 *
 * The test owns the fake: fake_transport_http() hands out a transport whose
 * free hook does nothing, so the code under test may free it at will.
 */
#ifndef POP_TEST_FAKE_TRANSPORT_H
#define POP_TEST_FAKE_TRANSPORT_H

#include <stddef.h>

#include "lib/err.h"
#include "lib/http.h"

struct fake_exchange {
    const char *method;       /* "GET" */
    const char *url;          /* "/api/storage/luns?svm.uuid=...", exact */
    const char *body;         /* expected JSON request body, NULL = not checked */
    const char *header;       /* "Name: value" that must be among the request headers, or NULL */
    long status;              /* reply status */
    const char *reply;        /* reply body, or NULL for none */
    const char *reply_header; /* one reply header line "Name: value", or NULL */
    enum perr_code fail;      /* non-zero: fail the request with this code instead */
};

struct fake_transport;

struct fake_transport *fake_transport_new(void);
/* Appends n exchanges (the strings are borrowed: use literals). */
void fake_transport_add(struct fake_transport *ft, const struct fake_exchange *ex, size_t n);
#define FAKE_SCRIPT(ft, arr) fake_transport_add((ft), (arr), sizeof(arr) / sizeof((arr)[0]))
/* A transport backed by ft; its free hook is a no-op. */
struct http_transport fake_transport_http(struct fake_transport *ft);
/* Requests received so far. */
size_t fake_transport_calls(const struct fake_transport *ft);
/* The first mismatch message, or NULL. */
const char *fake_transport_failure(const struct fake_transport *ft);
/* Fails the running cmocka test on a mismatch or an unconsumed exchange. */
void fake_transport_verify(const struct fake_transport *ft);
/* Frees the fake (does not verify).  NULL-safe. */
void fake_transport_free(struct fake_transport *ft);

#endif
