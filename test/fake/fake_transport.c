#include "test/fake/fake_transport.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <jansson.h>

struct fake_transport {
    struct fake_exchange *ex;
    size_t n;
    size_t alloc;
    size_t next;
    size_t calls;
    char failure[1024];
};

struct fake_transport *
fake_transport_new(void)
{
    struct fake_transport *ft = calloc(1, sizeof(*ft));

    assert_non_null(ft);
    return ft;
}

void
fake_transport_add(struct fake_transport *ft, const struct fake_exchange *ex, size_t n)
{
    if (ft->n + n > ft->alloc) {
        size_t alloc = (ft->n + n) * 2;
        struct fake_exchange *p = realloc(ft->ex, alloc * sizeof(*p));

        assert_non_null(p);
        ft->ex = p;
        ft->alloc = alloc;
    }
    memcpy(ft->ex + ft->n, ex, n * sizeof(*ex));
    ft->n += n;
}

size_t
fake_transport_calls(const struct fake_transport *ft)
{
    return ft->calls;
}

const char *
fake_transport_failure(const struct fake_transport *ft)
{
    return ft->failure[0] != '\0' ? ft->failure : NULL;
}

void
fake_transport_verify(const struct fake_transport *ft)
{
    if (ft->failure[0] != '\0')
        fail_msg("%s", ft->failure);
    if (ft->next < ft->n)
        fail_msg("fake transport: expected exchange #%zu (%s %s) never came", ft->next + 1,
                 ft->ex[ft->next].method, ft->ex[ft->next].url);
}

void
fake_transport_free(struct fake_transport *ft)
{
    if (ft == NULL)
        return;
    free(ft->ex);
    free(ft);
}

static int fake_mismatch(struct fake_transport *ft, struct perr *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fake_mismatch(struct fake_transport *ft, struct perr *err, const char *fmt, ...)
{
    char msg[900];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ft->failure[0] == '\0')
        snprintf(ft->failure, sizeof(ft->failure), "fake transport: %s", msg);
    print_error("fake transport: %s\n", msg);
    return perr_set(err, PERR_INTERNAL, "fake transport: %s", msg);
}

/* The URL from the path on: "https://h:1/api/x?y" -> "/api/x?y". */
static const char *
fake_url_tail(const char *url)
{
    const char *p = strstr(url, "://");

    if (p == NULL)
        return url;
    p += 3;
    p += strcspn(p, "/?");
    return p;
}

static bool
fake_has_header(const struct http_req *req, const char *want)
{
    const char *colon = strchr(want, ':');
    size_t nlen = colon != NULL ? (size_t)(colon - want) : strlen(want);

    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
        const char *h = req->headers[i];

        if (strncasecmp(h, want, nlen) == 0 && h[nlen] == ':' && strcmp(h + nlen, want + nlen) == 0)
            return true;
    }
    return false;
}

static int
fake_check_body(struct fake_transport *ft, const struct fake_exchange *ex,
                const struct http_req *req, struct perr *err)
{
    json_t *want = NULL;
    json_t *got = NULL;
    json_error_t jerr;
    int rc = 0;

    if (ex->body == NULL)
        return 0;
    want = json_loads(ex->body, 0, &jerr);
    if (want == NULL)
        return fake_mismatch(ft, err, "exchange %s %s: bad expected body in the test: %s",
                             ex->method, ex->url, jerr.text);
    if (req->body == NULL) {
        rc = fake_mismatch(ft, err, "%s %s: no request body, expected %s", ex->method, ex->url,
                           ex->body);
    } else {
        got = json_loadb(req->body, req->body_len, 0, &jerr);
        if (got == NULL || !json_equal(want, got))
            rc = fake_mismatch(ft, err, "%s %s: body %.*s, expected %s", ex->method, ex->url,
                               (int)req->body_len, req->body, ex->body);
        else if (req->content_type == NULL ||
                 strncmp(req->content_type, "application/json", 16) != 0 ||
                 (req->content_type[16] != '\0' && req->content_type[16] != ';'))
            rc = fake_mismatch(ft, err, "%s %s: content type '%s'", ex->method, ex->url,
                               req->content_type != NULL ? req->content_type : "");
    }
    json_decref(want);
    json_decref(got);
    return rc;
}

static int
fake_perform(void *impl, const struct http_req *req, struct http_resp *resp, struct perr *err)
{
    struct fake_transport *ft = impl;
    const struct fake_exchange *ex;
    const char *tail = fake_url_tail(req->url);

    ft->calls++;
    if (ft->failure[0] != '\0')
        return perr_set(err, PERR_INTERNAL, "fake transport: already failed");
    if (ft->next >= ft->n)
        return fake_mismatch(ft, err, "unexpected request #%zu: %s %s", ft->calls, req->method,
                             tail);
    ex = &ft->ex[ft->next];
    if (strcmp(req->method, ex->method) != 0 || strcmp(tail, ex->url) != 0)
        return fake_mismatch(ft, err, "request #%zu: got %s %s, expected %s %s", ft->calls,
                             req->method, tail, ex->method, ex->url);
    if (req->body != NULL &&
        (strcmp(req->method, "GET") == 0 || strcmp(req->method, "DELETE") == 0))
        return fake_mismatch(ft, err, "%s %s carries a body", req->method, tail);
    if (fake_check_body(ft, ex, req, err) < 0)
        return -1;
    if (ex->header != NULL && !fake_has_header(req, ex->header))
        return fake_mismatch(ft, err, "%s %s: header '%s' missing", req->method, tail, ex->header);
    ft->next++;
    if (ex->fail != PERR_OK)
        return perr_set(err, ex->fail, "scripted transport failure");
    resp->status = ex->status;
    if (ex->reply != NULL && buf_adds(&resp->body, ex->reply, err) < 0)
        return -1;
    resp->content_type = strdup("application/json");
    if (resp->content_type == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    if (ex->reply_header != NULL && strv_add(&resp->headers, ex->reply_header, err) < 0)
        return -1;
    return 0;
}

static void
fake_free_nothing(void *impl)
{
    (void)impl;
}

struct http_transport
fake_transport_http(struct fake_transport *ft)
{
    struct http_transport t = {
        .perform = fake_perform,
        .free = fake_free_nothing,
        .impl = ft,
    };

    return t;
}
