#include "lib/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void
buf_init(struct buf *b, size_t cap)
{
    memset(b, 0, sizeof(*b));
    b->cap = cap;
}

void
buf_free(struct buf *b)
{
    size_t cap = b->cap;

    free(b->data);
    memset(b, 0, sizeof(*b));
    b->cap = cap;
}

void
buf_free_secret(struct buf *b)
{
    if (b->data != NULL)
        OPENSSL_cleanse(b->data, b->alloc);
    buf_free(b);
}

void
str_free_secret(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

int
str_dup_opt(const char *s, char **out, struct perr *err)
{
    *out = NULL;
    if (s != NULL && (*out = strdup(s)) == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    return 0;
}

void
str_excerpt(const char *s, char *out, size_t max)
{
    size_t n = 0;

    if (max == 0)
        return;
    for (; s != NULL && *s != '\0' && n + 1 < max; s++)
        out[n++] = (*s == '\n' || *s == '\r' || *s == '\t') ? ' ' : *s;
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

void
buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

const char *
buf_cstr(const struct buf *b)
{
    return b->data != NULL ? b->data : "";
}

char *
buf_steal(struct buf *b)
{
    char *p = b->data;

    if (p == NULL)
        p = strdup("");
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    return p;
}

static int
buf_reserve(struct buf *b, size_t extra, struct perr *err)
{
    size_t need;
    size_t n;
    char *p;

    if (b->cap != 0 && (extra > b->cap || b->len > b->cap - extra))
        return perr_set(err, PERR_PROTOCOL, "data too large (limit %zu bytes)", b->cap);
    if (extra > ((size_t)-1) / 2 - b->len)
        return perr_set(err, PERR_NOMEM, "data too large");
    need = b->len + extra + 1;
    if (need <= b->alloc)
        return 0;
    n = b->alloc != 0 ? b->alloc : 64;
    while (n < need)
        n *= 2;
    p = realloc(b->data, n);
    if (p == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory (%zu bytes)", n);
    b->data = p;
    b->alloc = n;
    return 0;
}

int
buf_add(struct buf *b, const void *data, size_t len, struct perr *err)
{
    if (buf_reserve(b, len, err) < 0)
        return -1;
    if (len != 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int
buf_adds(struct buf *b, const char *s, struct perr *err)
{
    return buf_add(b, s, strlen(s), err);
}

int
buf_vaddf(struct buf *b, struct perr *err, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return perr_set(err, PERR_INTERNAL, "bad format '%s'", fmt);
    if (buf_reserve(b, (size_t)n, err) < 0)
        return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int
buf_addf(struct buf *b, struct perr *err, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = buf_vaddf(b, err, fmt, ap);
    va_end(ap);
    return rc;
}

int
buf_add_xml(struct buf *b, const char *s, struct perr *err)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        const char *rep = NULL;
        int rc;

        switch (*p) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        default:
            break;
        }
        if (rep == NULL && *p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
            return perr_set(err, PERR_USAGE, "control character 0x%02x cannot be sent in XML", *p);
        rc = rep != NULL ? buf_adds(b, rep, err) : buf_add(b, p, 1, err);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int
buf_add_url(struct buf *b, const char *s, struct perr *err)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        char enc[3];
        int rc;

        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            rc = buf_add(b, p, 1, err);
        } else {
            enc[0] = '%';
            enc[1] = hex[*p >> 4];
            enc[2] = hex[*p & 15];
            rc = buf_add(b, enc, 3, err);
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

int
buf_add_json(struct buf *b, const char *s, struct perr *err)
{
    if (buf_adds(b, "\"", err) < 0)
        return -1;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        int rc;

        if (*p == '"')
            rc = buf_adds(b, "\\\"", err);
        else if (*p == '\\')
            rc = buf_adds(b, "\\\\", err);
        else if (*p == '\n')
            rc = buf_adds(b, "\\n", err);
        else if (*p == '\r')
            rc = buf_adds(b, "\\r", err);
        else if (*p == '\t')
            rc = buf_adds(b, "\\t", err);
        else if (*p < 0x20 || *p == 0x7f)
            rc = buf_addf(b, err, "\\u%04x", *p);
        else
            rc = buf_add(b, p, 1, err);
        if (rc < 0)
            return -1;
    }
    return buf_adds(b, "\"", err);
}

int
buf_add_shell(struct buf *b, const char *s, struct perr *err)
{
    if (buf_adds(b, "'", err) < 0)
        return -1;
    for (const char *p = s; *p != '\0'; p++) {
        int rc = *p == '\'' ? buf_adds(b, "'\\''", err) : buf_add(b, p, 1, err);

        if (rc < 0)
            return -1;
    }
    return buf_adds(b, "'", err);
}
