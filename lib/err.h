/*
 * The error type: one explicit object per operation chain.
 *
 * Contract:
 * - Functions that can fail take a `struct perr *err` last, return -1 (or NULL)
 *   on failure and fill *err.
 * - First error wins: perr_set() only records when err->code == PERR_OK, so a
 *   cleanup step can never overwrite the root cause.  It always returns -1, so
 *   `return perr_set(err, ...)` reads as a call.
 * - Layers add context on the way up with perr_prefix(): "ontap: map: " ...
 * - Cleanup paths report into a scratch `struct perr tmp = {0}` and log it.
 * - Messages are one line; values inside are quoted with '...'.
 */
#ifndef POP_ERR_H
#define POP_ERR_H

#include <stdbool.h>

#include "lib/compiler.h"

enum perr_code {
    PERR_OK = 0,
    PERR_USAGE,  /* bad flag, environment variable or secret value -> exit 2 */
    PERR_CONFIG, /* unreadable file named by the configuration */
    PERR_NOMEM,
    PERR_TIMEOUT,     /* a deadline passed (HTTP, task, SSH); retryable */
    PERR_NETWORK,     /* DNS/connect/reset; retryable */
    PERR_TLS,         /* handshake or certificate verification */
    PERR_AUTH,        /* 401/403, SOAP InvalidLogin / NotAuthenticated */
    PERR_NOT_FOUND,   /* 404 or the object does not exist */
    PERR_CONFLICT,    /* 409, already exists / already mapped */
    PERR_HTTP,        /* another unexpected HTTP status */
    PERR_PROTOCOL,    /* malformed JSON/XML, missing required field, body too large */
    PERR_REMOTE,      /* array error body, SOAP fault, failed ESXi task */
    PERR_SSH,         /* SSH connect, auth, host key or channel failure */
    PERR_UNSUPPORTED, /* optional driver operation absent */
    PERR_CANCELLED,   /* interrupted by SIGTERM/SIGINT */
    PERR_INTERNAL,    /* our own bug */
};

#define PERR_MSG_MAX 1024

struct perr {
    enum perr_code code;
    long http_status;       /* 0 when not HTTP */
    char remote_code[64];   /* vendor error code or SOAP fault type, "" if none */
    char msg[PERR_MSG_MAX]; /* one line: "ontap: map: igroup 'x': HTTP 409: ..." */
    const char *file;       /* where first set (static strings) */
    const char *func;
    int line;
};

/* Records the error if none is recorded yet.  Always returns -1. */
int perr_set_at(struct perr *err, enum perr_code code, const char *file, int line, const char *func,
                const char *fmt, ...) ATTR_PRINTF(6, 7);
#define perr_set(err, code, ...)                                                                   \
    perr_set_at((err), (code), __FILE__, __LINE__, __func__, __VA_ARGS__)

/* Like perr_set() and also records the HTTP status and the remote (vendor/SOAP) code. */
int perr_set_remote_at(struct perr *err, enum perr_code code, long http_status,
                       const char *remote_code, const char *file, int line, const char *func,
                       const char *fmt, ...) ATTR_PRINTF(8, 9);
#define perr_set_remote(err, code, status, rcode, ...)                                             \
    perr_set_remote_at((err), (code), (status), (rcode), __FILE__, __LINE__, __func__, __VA_ARGS__)

/* Prepends formatted context to the message of a recorded error; no-op when none. */
void perr_prefix(struct perr *err, const char *fmt, ...) ATTR_PRINTF(2, 3);

/* Forgets a recorded error (used after a handled, expected failure such as 404 → create). */
void perr_clear(struct perr *err);

/* True when an error is recorded. */
static inline bool
perr_failed(const struct perr *err)
{
    return err->code != PERR_OK;
}

/* Short stable name of a code: "timeout", "not found", ... */
const char *perr_code_str(enum perr_code code);

/* Errors worth another try within a deadline: timeouts, network, 5xx/429. */
bool perr_is_retryable(const struct perr *err);

#endif
