#include "lib/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Rewrites msg in place so that no byte of it can steer a terminal or a log
 * reader: CR and LF become spaces (one line), other C0 controls and DEL
 * become \xNN, the Unicode bidi overrides become \u202A-style escapes.  The
 * result is cut to fit (n bytes with the NUL), never in the middle of an escape. */
static void
perr_escape_controls(char *msg, size_t n)
{
    char out[PERR_MSG_MAX];
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)msg; *p != '\0'; p++) {
        char esc[8];
        size_t elen = 0;

        if (*p == '\n' || *p == '\r') {
            esc[elen++] = ' ';
        } else if (*p < 0x20 || *p == 0x7f) {
            elen = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *p);
        } else if (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) {
            elen = (size_t)snprintf(esc, sizeof(esc), "\\u%04X", 0x2000u + (p[2] - 0x80u));
            p += 2;
        } else if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9) {
            elen = (size_t)snprintf(esc, sizeof(esc), "\\u%04X", 0x2040u + (p[2] - 0x80u));
            p += 2;
        } else {
            esc[elen++] = (char)*p;
        }
        if (o + elen >= n || o + elen >= sizeof(out))
            break;
        memcpy(out + o, esc, elen);
        o += elen;
    }
    out[o] = '\0';
    memcpy(msg, out, o + 1);
}

static void perr_record(struct perr *err, enum perr_code code, const char *file, int line,
                        const char *func, const char *fmt, va_list ap) ATTR_PRINTF(6, 0);

static void
perr_record(struct perr *err, enum perr_code code, const char *file, int line, const char *func,
            const char *fmt, va_list ap)
{
    err->code = code;
    err->file = file;
    err->line = line;
    err->func = func;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    /* The message ends up on one line in logs, terminals and the termination log. */
    perr_escape_controls(err->msg, sizeof(err->msg));
}

int
perr_set_at(struct perr *err, enum perr_code code, const char *file, int line, const char *func,
            const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err->code != PERR_OK)
        return -1;
    va_start(ap, fmt);
    perr_record(err, code == PERR_OK ? PERR_INTERNAL : code, file, line, func, fmt, ap);
    va_end(ap);
    return -1;
}

int
perr_set_remote_at(struct perr *err, enum perr_code code, long http_status, const char *remote_code,
                   const char *file, int line, const char *func, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err->code != PERR_OK)
        return -1;
    va_start(ap, fmt);
    perr_record(err, code == PERR_OK ? PERR_INTERNAL : code, file, line, func, fmt, ap);
    va_end(ap);
    err->http_status = http_status;
    snprintf(err->remote_code, sizeof(err->remote_code), "%s",
             remote_code != NULL ? remote_code : "");
    return -1;
}

void
perr_prefix(struct perr *err, const char *fmt, ...)
{
    char head[PERR_MSG_MAX];
    char old[PERR_MSG_MAX];
    va_list ap;

    if (err == NULL || err->code == PERR_OK)
        return;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    perr_escape_controls(head, sizeof(head));
    memcpy(old, err->msg, sizeof(old));
    /* Concatenate by hand: the head wins and the old text is cut at the end. */
    size_t hn = strnlen(head, sizeof(err->msg) - 1);
    size_t on = strnlen(old, sizeof(old));
    if (on > sizeof(err->msg) - 1 - hn)
        on = sizeof(err->msg) - 1 - hn;
    memcpy(err->msg, head, hn);
    memcpy(err->msg + hn, old, on);
    err->msg[hn + on] = '\0';
}

void
perr_clear(struct perr *err)
{
    memset(err, 0, sizeof(*err));
}

const char *
perr_code_str(enum perr_code code)
{
    switch (code) {
    case PERR_OK:
        return "ok";
    case PERR_USAGE:
        return "usage";
    case PERR_CONFIG:
        return "configuration";
    case PERR_NOMEM:
        return "out of memory";
    case PERR_TIMEOUT:
        return "timeout";
    case PERR_NETWORK:
        return "network";
    case PERR_TLS:
        return "tls";
    case PERR_AUTH:
        return "authentication";
    case PERR_NOT_FOUND:
        return "not found";
    case PERR_CONFLICT:
        return "conflict";
    case PERR_HTTP:
        return "http";
    case PERR_PROTOCOL:
        return "protocol";
    case PERR_REMOTE:
        return "remote";
    case PERR_SSH:
        return "ssh";
    case PERR_UNSUPPORTED:
        return "unsupported";
    case PERR_CANCELLED:
        return "cancelled";
    case PERR_INTERNAL:
        return "internal";
    }
    return "unknown";
}

bool
perr_is_retryable(const struct perr *err)
{
    if (err->code == PERR_TIMEOUT || err->code == PERR_NETWORK)
        return true;
    if (err->code == PERR_HTTP || err->code == PERR_REMOTE)
        return err->http_status == 429 || (err->http_status >= 500 && err->http_status <= 599);
    return false;
}
