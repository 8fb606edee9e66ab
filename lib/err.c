#include "lib/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
    /* The message ends up on one line in logs and the termination log. */
    for (char *p = err->msg; *p != '\0'; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    }
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
