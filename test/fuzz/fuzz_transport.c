#include "test/fuzz/fuzz_transport.h"

#include <stdlib.h>
#include <string.h>

#include "lib/err.h"

void
fuzz_transport_init(struct fuzz_transport *ft, const uint8_t *data, size_t len)
{
    ft->data = (const char *)data;
    ft->len = len;
    ft->pos = 0;
    ft->calls = 0;
}

int
fuzz_next_chunk(struct fuzz_transport *ft, const char **chunk, size_t *n)
{
    size_t seplen = strlen(FUZZ_CHUNK_SEP);
    const char *start;
    const char *end;

    if (ft->pos > ft->len || ft->data == NULL)
        return -1;
    start = ft->data + ft->pos;
    end = memmem(start, ft->len - ft->pos, FUZZ_CHUNK_SEP, seplen);
    if (end == NULL) {
        *chunk = start;
        *n = ft->len - ft->pos;
        ft->pos = ft->len + 1;
        return 0;
    }
    *chunk = start;
    *n = (size_t)(end - start);
    ft->pos += *n + seplen;
    return 0;
}

static int
fuzz_perform(void *impl, const struct http_req *req, struct http_resp *resp, struct perr *err)
{
    struct fuzz_transport *ft = impl;
    const char *c;
    size_t n;
    long status = 200;

    (void)req;
    ft->calls++;
    if (fuzz_next_chunk(ft, &c, &n) < 0)
        return perr_set(err, PERR_NETWORK, "fuzz transport: no more replies");
    if (n >= 4 && c[0] >= '0' && c[0] <= '9' && c[1] >= '0' && c[1] <= '9' && c[2] >= '0' &&
        c[2] <= '9' && c[3] == ' ') {
        status = (c[0] - '0') * 100 + (c[1] - '0') * 10 + (c[2] - '0');
        c += 4;
        n -= 4;
    }
    if (status == 0)
        return perr_set(err, PERR_NETWORK, "fuzz transport: scripted failure");
    while (n >= 2 && c[0] == 'H' && c[1] == ':') {
        const char *nl = memchr(c, '\n', n);
        size_t hl = nl != NULL ? (size_t)(nl - c) : n;
        char *h = strndup(c + 2, hl - 2);

        if (h == NULL)
            return perr_set(err, PERR_NOMEM, "out of memory");
        if (strv_take(&resp->headers, h, err) < 0)
            return -1;
        c += hl;
        n -= hl;
        if (n > 0) {
            c++;
            n--;
        }
    }
    resp->status = status;
    if (buf_add(&resp->body, c, n, err) < 0)
        return -1;
    resp->content_type = strdup("application/json");
    if (resp->content_type == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    return 0;
}

static int
fuzz_cookie_get(void *impl, const char *name, char **value, struct perr *err)
{
    (void)impl;
    (void)name;
    *value = strdup("fuzz-cookie");
    if (*value == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    return 0;
}

static int
fuzz_cookie_clear(void *impl, struct perr *err)
{
    (void)impl;
    (void)err;
    return 0;
}

static void
fuzz_free_nothing(void *impl)
{
    (void)impl;
}

struct http_transport
fuzz_transport_http(struct fuzz_transport *ft)
{
    struct http_transport t = {
        .perform = fuzz_perform,
        .cookie_get = fuzz_cookie_get,
        .cookie_clear = fuzz_cookie_clear,
        .free = fuzz_free_nothing,
        .impl = ft,
    };

    return t;
}
