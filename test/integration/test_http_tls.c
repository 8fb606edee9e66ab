/*
 * The libcurl transport against the loopback TLS server: verification on and
 * off, CA from a file and from memory, deadlines, the body cap, redirects,
 * refused connections, cookies, no Expect header, and a trace without secrets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/http.h"
#include "lib/log.h"
#include "test/fake/tls_server.h"

/* ---- helpers ---- */

struct capture {
    FILE *f;
    char *data;
    size_t len;
};

static void
capture_start(struct capture *c, enum log_level lvl, const char *trace)
{
    memset(c, 0, sizeof(*c));
    c->f = open_memstream(&c->data, &c->len);
    assert_non_null(c->f);
    log_init(lvl, LOG_FORMAT_TEXT, trace);
    log_set_stream(c->f);
}

/* Text logged so far (valid until capture_end). */
static const char *
capture_text(struct capture *c)
{
    fflush(c->f);
    return c->data != NULL ? c->data : "";
}

static void
capture_end(struct capture *c)
{
    log_reset();
    fclose(c->f);
    free(c->data);
}

static size_t
count_substr(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static char *
url_of(struct tls_server *s, const char *path)
{
    char *u = NULL;

    assert_true(asprintf(&u, "%s%s", tls_server_url(s), path) > 0);
    return u;
}

static struct tls_server *
start(tls_handler_fn *fn, void *arg)
{
    struct tls_server_opts o = {.handler = fn, .arg = arg};
    struct tls_server *s = tls_server_start(&o);

    assert_non_null(s);
    return s;
}

static void
make_transport(const struct http_opts *o, struct http_transport *t)
{
    struct perr err = {0};

    assert_int_equal(http_transport_curl_new(o, t, &err), 0);
}

/* GET url; returns http_perform's result, response in *resp. */
static int
get(struct http_transport *t, const char *url, struct http_resp *resp, struct perr *err)
{
    struct http_req req = {.method = "GET", .url = url};

    return http_perform(t, &req, resp, err);
}

/* True when the request target's path (query ignored) is path. */
static bool
path_is(const struct tls_request *req, const char *path)
{
    size_t n = strcspn(req->target, "?");

    return n == strlen(path) && strncmp(req->target, path, n) == 0;
}

static void
handler(void *arg, const struct tls_request *req, struct tls_reply *reply)
{
    (void)arg;
    if (path_is(req, "/slow")) {
        reply->delay_ms = 5000;
        reply->body = "late";
    } else if (path_is(req, "/huge")) {
        reply->huge_len = 1024 * 1024;
    } else if (path_is(req, "/huge-nolength")) {
        reply->huge_len = 1024 * 1024;
        reply->no_length = true;
    } else if (path_is(req, "/old")) {
        reply->location = "https://127.0.0.1:1/new/place?sig=S3CRETSIG";
    } else if (path_is(req, "/drop")) {
        reply->close = true;
    } else if (path_is(req, "/login")) {
        assert_int_equal(strv_add(&reply->headers,
                                  "Set-Cookie: vmware_soap_session=\"abc123\"; Path=/; HttpOnly",
                                  NULL),
                         0);
        reply->content_type = "application/json";
        reply->body = "{\"token\":\"S3CRETRESP\",\"ok\":true}";
    } else if (path_is(req, "/session-login")) {
        /* As a vCenter simulator answers Login: the session key in the body is the cookie. */
        assert_int_equal(strv_add(&reply->headers,
                                  "Set-Cookie: vmware_soap_session=\"C00K1E-5E55-KEY-42\"; "
                                  "Path=/; HttpOnly",
                                  NULL),
                         0);
        reply->content_type = "text/xml";
        reply->body = "<LoginResponse><returnval><key>C00K1E-5E55-KEY-42</key>"
                      "<userName>bob</userName></returnval></LoginResponse>";
    } else if (path_is(req, "/headers")) {
        assert_int_equal(strv_add(&reply->headers, "X-Auth-Token: t0k3n", NULL), 0);
        reply->status = 201;
    } else if (path_is(req, "/missing")) {
        reply->status = 404;
        reply->body = "no such thing";
    } else {
        reply->content_type = "text/plain";
        reply->body = "ok";
    }
}

/* ---- tests ---- */

static void
test_untrusted_rejected(void **state)
{
    struct tls_server *s = start(handler, NULL);
    struct http_opts o = {.component = "http.test"};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};
    char *url = url_of(s, "/sdk?token=S3CRETQ");
    char *want = url_of(s, "/sdk'");

    (void)state;
    make_transport(&o, &t);
    assert_int_equal(get(&t, url, &resp, &err), -1);
    assert_int_equal(err.code, PERR_TLS);
    assert_non_null(strstr(err.msg, want));
    assert_null(strstr(err.msg, "S3CRETQ"));
    assert_non_null(strstr(err.msg, "verification"));
    assert_int_equal(resp.status, 0);
    assert_null(resp.body.data);
    assert_int_equal(tls_server_nrequests(s), 0);
    http_transport_free(&t);
    tls_server_stop(s);
    free(url);
    free(want);
}

static void
test_untrusted_hint(void **state)
{
    struct tls_server *s = start(handler, NULL);
    struct http_opts o = {.tls_hint = "set cacert in the vSphere secret or GOVMOMI_INSECURE"};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};

    (void)state;
    make_transport(&o, &t);
    assert_int_equal(get(&t, tls_server_url(s), &resp, &err), -1);
    assert_int_equal(err.code, PERR_TLS);
    assert_non_null(strstr(err.msg, "GOVMOMI_INSECURE"));
    http_transport_free(&t);
    tls_server_stop(s);
}

static void
test_wrong_ca_rejected(void **state)
{
    struct tls_server *a = start(handler, NULL);
    struct tls_server *b = start(handler, NULL);
    struct http_opts o = {.ca_file = tls_server_pki(b)->ca_file};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};

    (void)state;
    make_transport(&o, &t);
    assert_int_equal(get(&t, tls_server_url(a), &resp, &err), -1);
    assert_int_equal(err.code, PERR_TLS);
    assert_true(tls_server_nhandshake_failures(a) <= 1);
    assert_int_equal(tls_server_nrequests(a), 0);
    http_transport_free(&t);
    tls_server_stop(a);
    tls_server_stop(b);
}

static void
test_ca_file_accepted(void **state)
{
    struct tls_server *s = start(handler, NULL);
    struct http_opts o = {.ca_file = tls_server_pki(s)->ca_file};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};
    char *url = url_of(s, "/hello");

    (void)state;
    make_transport(&o, &t);
    assert_int_equal(get(&t, url, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(buf_cstr(&resp.body), "ok");
    assert_string_equal(resp.content_type, "text/plain");
    http_resp_free(&resp);
    /* the same connection serves the next request */
    assert_int_equal(get(&t, url, &resp, &err), 0);
    http_resp_free(&resp);
    assert_int_equal(tls_server_nrequests(s), 2);
    assert_int_equal(tls_server_nconnections(s), 1);
    assert_non_null(
        strstr(tls_request_header(tls_server_request(s, 0), "User-Agent"), "copy-offload"));
    http_transport_free(&t);
    tls_server_stop(s);
    free(url);
}

static void
test_plain_http(void **state)
{
    struct tls_server_opts so = {.handler = handler, .plain = true};
    struct tls_server *s = tls_server_start(&so);
    struct http_opts o = {0};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};

    (void)state;
    assert_non_null(s);
    assert_int_equal(strncmp(tls_server_url(s), "http://", 7), 0);
    make_transport(&o, &t);
    assert_int_equal(get(&t, tls_server_url(s), &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(buf_cstr(&resp.body), "ok");
    http_resp_free(&resp);
    http_transport_free(&t);
    tls_server_stop(s);
}

static void
test_localhost_name_accepted(void **state)
{
    struct tls_server *s = start(handler, NULL);
    struct http_opts o = {.ca_file = tls_server_pki(s)->ca_file};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};
    char *url = NULL;

    (void)state;
    assert_true(asprintf(&url, "https://localhost:%d/", tls_server_port(s)) > 0);
    make_transport(&o, &t);
    assert_int_equal(get(&t, url, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    http_resp_free(&resp);
    http_transport_free(&t);
    tls_server_stop(s);
    free(url);
}

static void
test_ca_pem_accepted(void **state)
{
    struct tls_server *s = start(handler, NULL);
    struct http_opts o = {.ca_pem = tls_server_pki(s)->ca_pem};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};

    (void)state;
    make_transport(&o, &t);
    assert_int_equal(get(&t, tls_server_url(s), &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    http_resp_free(&resp);
    http_transport_free(&t);
    tls_server_stop(s);
}

static void
test_insecure_accepted_and_warned_once(void **state)
{
    struct tls_server *s = start(handler, NULL);
    struct http_opts o = {.component = "http.storage", .insecure = true};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};
    struct capture cap;

    (void)state;
    capture_start(&cap, LOGL_WARN, NULL);
    make_transport(&o, &t);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(get(&t, tls_server_url(s), &resp, &err), 0);
        assert_int_equal(resp.status, 200);
        http_resp_free(&resp);
    }
    assert_int_equal(count_substr(capture_text(&cap), "TLS verification disabled"), 1);
    assert_non_null(strstr(capture_text(&cap), "warn"));
    assert_non_null(strstr(capture_text(&cap), "[http.storage]"));
    http_transport_free(&t);
    capture_end(&cap);
    tls_server_stop(s);
}

static void
test_timeout(void **state)
{
    struct tls_server *s = start(handler, NULL);
    struct http_opts o = {.insecure = true, .timeout_ms = 300};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};
    char *url = url_of(s, "/slow");

    (void)state;
    log_init(LOGL_ERROR, LOG_FORMAT_TEXT, NULL);
    make_transport(&o, &t);
    assert_int_equal(get(&t, url, &resp, &err), -1);
    assert_int_equal(err.code, PERR_TIMEOUT);
    assert_non_null(strstr(err.msg, "/slow"));
    assert_true(perr_is_retryable(&err));
    http_transport_free(&t);
    tls_server_stop(s);
    free(url);
    log_reset();
}

static void
test_timeout_per_request(void **state)
{
    struct tls_server *s = start(handler, NULL);
    struct http_opts o = {.insecure = true};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};
    char *url = url_of(s, "/slow");
    struct http_req req = {.method = "GET", .url = url, .timeout_ms = 200};

    (void)state;
    log_init(LOGL_ERROR, LOG_FORMAT_TEXT, NULL);
    make_transport(&o, &t);
    assert_int_equal(http_perform(&t, &req, &resp, &err), -1);
    assert_int_equal(err.code, PERR_TIMEOUT);
    http_transport_free(&t);
    tls_server_stop(s);
    free(url);
    log_reset();
}

static void
check_body_cap(const char *path)
{
    struct tls_server *s = start(handler, NULL);
    struct http_opts o = {.insecure = true, .max_body = 1000};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};
    char *url = url_of(s, path);

    log_init(LOGL_ERROR, LOG_FORMAT_TEXT, NULL);
    make_transport(&o, &t);
    assert_int_equal(get(&t, url, &resp, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_non_null(strstr(err.msg, "larger than 1000 bytes"));
    assert_non_null(strstr(err.msg, path));
    assert_null(resp.body.data);
    http_transport_free(&t);
    tls_server_stop(s);
    free(url);
    log_reset();
}

static void
test_body_cap_announced(void **state)
{
    (void)state;
    check_body_cap("/huge");
}

static void
test_body_cap_streamed(void **state)
{
    (void)state;
    check_body_cap("/huge-nolength");
}

static void
test_redirect_not_followed(void **state)
{
    struct tls_server *s = start(handler, NULL);
    struct http_opts o = {.insecure = true};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};
    char *url = url_of(s, "/old");

    (void)state;
    log_init(LOGL_ERROR, LOG_FORMAT_TEXT, NULL);
    make_transport(&o, &t);
    assert_int_equal(get(&t, url, &resp, &err), -1);
    assert_int_equal(err.code, PERR_HTTP);
    assert_int_equal(err.http_status, 302);
    assert_non_null(strstr(err.msg, "redirect to 'https://127.0.0.1:1/new/place' not followed"));
    assert_null(strstr(err.msg, "S3CRETSIG"));
    assert_int_equal(tls_server_nrequests(s), 1);
    assert_int_equal(resp.status, 0);
    http_transport_free(&t);
    tls_server_stop(s);
    free(url);
    log_reset();
}

static void
test_non_2xx_is_data(void **state)
{
    struct tls_server *s = start(handler, NULL);
    struct http_opts o = {.insecure = true};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};
    char *url = url_of(s, "/missing");
    char *url2 = url_of(s, "/headers");

    (void)state;
    log_init(LOGL_ERROR, LOG_FORMAT_TEXT, NULL);
    make_transport(&o, &t);
    assert_int_equal(get(&t, url, &resp, &err), 0);
    assert_int_equal(resp.status, 404);
    assert_string_equal(buf_cstr(&resp.body), "no such thing");
    assert_null(resp.content_type);
    http_resp_free(&resp);
    assert_int_equal(get(&t, url2, &resp, &err), 0);
    assert_int_equal(resp.status, 201);
    assert_string_equal(http_resp_header(&resp, "x-auth-token"), "t0k3n");
    assert_null(http_resp_header(&resp, "X-Auth"));
    http_resp_free(&resp);
    http_transport_free(&t);
    tls_server_stop(s);
    free(url);
    free(url2);
    log_reset();
}

static void
test_refused(void **state)
{
    struct http_opts o = {.insecure = true};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};
    char *url = NULL;
    int port = tls_unused_port();

    (void)state;
    assert_true(port > 0);
    assert_true(asprintf(&url, "https://user:pw@127.0.0.1:%d/x?y=1", port) > 0);
    log_init(LOGL_ERROR, LOG_FORMAT_TEXT, NULL);
    make_transport(&o, &t);
    assert_int_equal(get(&t, url, &resp, &err), -1);
    assert_int_equal(err.code, PERR_NETWORK);
    assert_non_null(strstr(err.msg, "'https://127.0.0.1:"));
    assert_null(strstr(err.msg, "pw@"));
    assert_null(strstr(err.msg, "y=1"));
    http_transport_free(&t);
    free(url);
    log_reset();
}

static void
test_closed_without_answer(void **state)
{
    struct tls_server *s = start(handler, NULL);
    struct http_opts o = {.insecure = true};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};
    char *url = url_of(s, "/drop");

    (void)state;
    log_init(LOGL_ERROR, LOG_FORMAT_TEXT, NULL);
    make_transport(&o, &t);
    assert_int_equal(get(&t, url, &resp, &err), -1);
    assert_int_equal(err.code, PERR_NETWORK);
    http_transport_free(&t);
    tls_server_stop(s);
    free(url);
    log_reset();
}

static void
test_bad_urls(void **state)
{
    struct http_opts o = {0};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};
    struct http_req req = {.method = "GET", .url = "ftp://127.0.0.1/x"};

    (void)state;
    make_transport(&o, &t);
    assert_int_equal(http_perform(&t, &req, &resp, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    perr_clear(&err);
    req.url = "https://127.0.0.1/x";
    req.method = "GET\r\nX-Injected: 1";
    assert_int_equal(http_perform(&t, &req, &resp, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    http_transport_free(&t);
}

static void
test_bad_options(void **state)
{
    struct tls_pki *pki = tls_pki_new();
    struct http_opts o = {.ca_file = "/nonexistent/ca.pem"};
    struct http_transport t;
    struct perr err = {0};

    (void)state;
    assert_non_null(pki);
    assert_int_equal(http_transport_curl_new(&o, &t, &err), -1);
    assert_int_equal(err.code, PERR_CONFIG);
    assert_non_null(strstr(err.msg, "/nonexistent/ca.pem"));
    assert_null(t.impl);
    perr_clear(&err);
    o.ca_file = pki->ca_file;
    o.ca_pem = pki->ca_pem;
    assert_int_equal(http_transport_curl_new(&o, &t, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    perr_clear(&err);
    o.ca_file = NULL;
    o.ca_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
    assert_int_equal(http_transport_curl_new(&o, &t, &err), -1);
    assert_int_equal(err.code, PERR_CONFIG);
    http_transport_free(&t);
    tls_pki_free(pki);
}

static void
test_cookies(void **state)
{
    struct tls_server *s = start(handler, NULL);
    struct http_opts o = {.ca_file = tls_server_pki(s)->ca_file};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};
    char *login = url_of(s, "/login");
    char *sdk = url_of(s, "/sdk");
    char *value = NULL;
    const char *sent;

    (void)state;
    make_transport(&o, &t);
    assert_int_equal(http_cookie_get(&t, "vmware_soap_session", &value, &err), 0);
    assert_null(value);
    assert_int_equal(get(&t, login, &resp, &err), 0);
    http_resp_free(&resp);
    assert_null(tls_request_header(tls_server_request(s, 0), "Cookie"));
    assert_int_equal(get(&t, sdk, &resp, &err), 0);
    http_resp_free(&resp);
    sent = tls_request_header(tls_server_request(s, 1), "Cookie");
    assert_non_null(sent);
    assert_string_equal(sent, "vmware_soap_session=\"abc123\"");

    assert_int_equal(http_cookie_get(&t, "vmware_soap_session", &value, &err), 0);
    assert_string_equal(value, "\"abc123\"");
    free(value);
    assert_int_equal(http_cookie_get(&t, "vmware_soap", &value, &err), 0);
    assert_null(value);

    assert_int_equal(http_cookie_clear(&t, &err), 0);
    assert_int_equal(http_cookie_get(&t, "vmware_soap_session", &value, &err), 0);
    assert_null(value);
    assert_int_equal(get(&t, sdk, &resp, &err), 0);
    http_resp_free(&resp);
    assert_null(tls_request_header(tls_server_request(s, 2), "Cookie"));
    http_transport_free(&t);
    tls_server_stop(s);
    free(login);
    free(sdk);
}

static void
test_methods_and_no_expect(void **state)
{
    struct tls_server *s = start(handler, NULL);
    struct http_opts o = {.insecure = true};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};
    size_t big_len = 3 * 1024 * 1024;
    char *big = malloc(big_len);
    char *url = url_of(s, "/folder/x");
    const char *const hdrs[] = {"X-Extra: 1", NULL};
    struct http_req req = {.method = "POST",
                           .url = url,
                           .content_type = "application/octet-stream",
                           .headers = hdrs,
                           .body = big,
                           .body_len = big_len};
    const struct tls_request *r;
    static const char *const methods[] = {"POST", "PUT", "PATCH", "DELETE", "GET", "HEAD"};

    (void)state;
    assert_non_null(big);
    memset(big, 'b', big_len);
    log_init(LOGL_ERROR, LOG_FORMAT_TEXT, NULL);
    make_transport(&o, &t);
    assert_int_equal(http_perform(&t, &req, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    http_resp_free(&resp);
    r = tls_server_request(s, 0);
    assert_string_equal(r->method, "POST");
    assert_int_equal(r->body_len, big_len);
    assert_int_equal(memcmp(r->body, big, big_len), 0);
    assert_null(tls_request_header(r, "Expect"));
    assert_string_equal(tls_request_header(r, "Content-Type"), "application/octet-stream");
    assert_string_equal(tls_request_header(r, "X-Extra"), "1");

    /* every method, and the body/method state does not leak between requests */
    for (size_t i = 0; i < ARRAY_LEN(methods); i++) {
        bool with_body = i < 3;
        struct http_req q = {.method = methods[i],
                             .url = url,
                             .body = with_body ? "{\"a\":1}" : NULL,
                             .body_len = with_body ? 7 : 0};

        assert_int_equal(http_perform(&t, &q, &resp, &err), 0);
        http_resp_free(&resp);
        r = tls_server_request(s, i + 1);
        assert_string_equal(r->method, methods[i]);
        assert_int_equal(r->body_len, with_body ? 7 : 0);
        assert_null(tls_request_header(r, "Expect"));
        if (!with_body)
            assert_null(tls_request_header(r, "Content-Length"));
    }
    /* A request not marked idempotent (the first POST, then POST, PUT, PATCH
     * and DELETE) goes out on a fresh connection, so that a pooled connection
     * that died can never make libcurl send it twice; GET and HEAD reuse the
     * last one. */
    assert_int_equal(tls_server_nconnections(s), 5);
    http_transport_free(&t);
    tls_server_stop(s);
    free(big);
    free(url);
    log_reset();
}

static void
test_trace_has_no_secrets(void **state)
{
    struct tls_server *s = start(handler, NULL);
    struct http_opts o = {.component = "http.test", .ca_file = tls_server_pki(s)->ca_file};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};
    struct capture cap;
    char *login = url_of(s, "/login?api_token=S3CRETQUERY&x=1");
    char *login_log = url_of(s, "/login");
    char *sdk = url_of(s, "/sdk");
    const char *const hdrs[] = {"Authorization: Bearer S3CRETVALUE",
                                "Cookie: vmware_soap_session=S3CRETCOOKIE",
                                "X-Auth-Password: S3CRETHDR", "api-token: S3CRETAPI", NULL};
    const char *json = "{\"password\":\"S3CRETPW\",\"user\":\"bob\"}";
    const char *xml = "<soapenv:Envelope><soapenv:Body><Login><_this>SessionManager</_this>"
                      "<userName>bob</userName><password>S3CRETXML</password></Login>"
                      "</soapenv:Body></soapenv:Envelope>";
    struct http_req req = {.method = "POST",
                           .url = login,
                           .content_type = "application/json",
                           .headers = hdrs,
                           .body = json,
                           .body_len = strlen(json)};
    const char *text;
    static const char *const secrets[] = {"S3CRETVALUE", "S3CRETCOOKIE", "S3CRETPW",
                                          "S3CRETXML",   "S3CRETHDR",    "S3CRETAPI",
                                          "S3CRETQUERY", "S3CRETRESP",   "abc123"};

    (void)state;
    capture_start(&cap, LOGL_TRACE, "http");
    make_transport(&o, &t);
    assert_int_equal(http_perform(&t, &req, &resp, &err), 0);
    http_resp_free(&resp);
    req.url = sdk;
    req.content_type = "text/xml; charset=utf-8";
    req.body = xml;
    req.body_len = strlen(xml);
    assert_int_equal(http_perform(&t, &req, &resp, &err), 0);
    http_resp_free(&resp);
    http_transport_free(&t);

    /* the server did get the secrets: the trace hides them, the wire does not */
    assert_string_equal(tls_request_header(tls_server_request(s, 0), "Authorization"),
                        "Bearer S3CRETVALUE");
    assert_non_null(strstr(tls_server_request(s, 1)->body, "S3CRETXML"));

    text = capture_text(&cap);
    for (size_t i = 0; i < ARRAY_LEN(secrets); i++) {
        if (strstr(text, secrets[i]) != NULL)
            fail_msg("secret '%s' in trace:\n%s", secrets[i], text);
    }
    if (getenv("SHOW_TRACE") != NULL)
        fprintf(stderr, "%s", text);
    assert_non_null(strstr(text, "bob"));
    assert_non_null(strstr(text, login_log));
    assert_non_null(strstr(text, "Authorization: ***"));
    assert_non_null(strstr(text, "api_token=***"));
    assert_non_null(strstr(text, "x=1"));
    assert_non_null(strstr(text, "http exchange"));
    assert_non_null(strstr(text, "<userName>bob</userName>"));
    capture_end(&cap);
    tls_server_stop(s);
    free(login);
    free(login_log);
    free(sdk);
}

/* A cookie the peer sets is a credential wherever it shows up again. */
static void
test_session_cookie_is_a_secret(void **state)
{
    struct tls_server *s = start(handler, NULL);
    struct http_opts o = {.component = "http.test", .ca_file = tls_server_pki(s)->ca_file};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};
    struct capture cap;
    char *login = url_of(s, "/session-login");
    char *msg;
    const char *text;

    (void)state;
    capture_start(&cap, LOGL_TRACE, "http");
    make_transport(&o, &t);
    assert_int_equal(get(&t, login, &resp, &err), 0);
    /* The caller gets the body as sent; only what is logged or reported is scrubbed. */
    assert_non_null(strstr(buf_cstr(&resp.body), "C00K1E-5E55-KEY-42"));
    http_resp_free(&resp);
    http_transport_free(&t);
    text = capture_text(&cap);
    if (strstr(text, "C00K1E-5E55-KEY-42") != NULL)
        fail_msg("session cookie in trace:\n%s", text);
    assert_non_null(strstr(text, "<key>***</key>"));
    assert_non_null(strstr(text, "<userName>bob</userName>"));
    msg = log_scrub_dup("fault on session C00K1E-5E55-KEY-42");
    assert_string_equal(msg, "fault on session ***");
    free(msg);
    capture_end(&cap);
    tls_server_stop(s);
    free(login);
}

static void
test_debug_line(void **state)
{
    struct tls_server *s = start(handler, NULL);
    struct http_opts o = {.component = "http.test", .insecure = true};
    struct http_transport t;
    struct http_resp resp;
    struct perr err = {0};
    struct capture cap;
    char *url = url_of(s, "/missing?q=hidden");
    char *want = NULL;
    const char *text;

    (void)state;
    assert_true(asprintf(&want, "url=%s/missing status=404", tls_server_url(s)) > 0);
    capture_start(&cap, LOGL_DEBUG, NULL);
    make_transport(&o, &t);
    assert_int_equal(get(&t, url, &resp, &err), 0);
    http_resp_free(&resp);
    http_transport_free(&t);
    text = capture_text(&cap);
    if (getenv("SHOW_TRACE") != NULL)
        fprintf(stderr, "%s", text);
    assert_int_equal(count_substr(text, "http exchange"), 1);
    assert_non_null(strstr(text, "method=GET"));
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "bytes=13"));
    assert_null(strstr(text, "hidden"));
    /* trace is off for this run */
    assert_null(strstr(text, "http > header"));
    capture_end(&cap);
    tls_server_stop(s);
    free(url);
    free(want);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_untrusted_rejected),
        cmocka_unit_test(test_untrusted_hint),
        cmocka_unit_test(test_wrong_ca_rejected),
        cmocka_unit_test(test_ca_file_accepted),
        cmocka_unit_test(test_localhost_name_accepted),
        cmocka_unit_test(test_plain_http),
        cmocka_unit_test(test_ca_pem_accepted),
        cmocka_unit_test(test_insecure_accepted_and_warned_once),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_timeout_per_request),
        cmocka_unit_test(test_body_cap_announced),
        cmocka_unit_test(test_body_cap_streamed),
        cmocka_unit_test(test_redirect_not_followed),
        cmocka_unit_test(test_non_2xx_is_data),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_closed_without_answer),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_cookies),
        cmocka_unit_test(test_session_cookie_is_a_secret),
        cmocka_unit_test(test_methods_and_no_expect),
        cmocka_unit_test(test_trace_has_no_secrets),
        cmocka_unit_test(test_debug_line),
    };
    struct perr err = {0};

    if (http_global_init(&err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
