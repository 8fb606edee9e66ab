/*
 * lib/http.c without a network: URL printing, body and header redaction, and
 * the http_perform() seam driven by a scripted transport.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/http.h"

struct str_case {
    const char *in;
    const char *out;
};

static void
test_url_for_log(void **state)
{
    static const struct str_case cases[] = {
        {"https://vc.example.com/sdk", "https://vc.example.com/sdk"},
        {"https://vc.example.com:8443/sdk?x=1", "https://vc.example.com:8443/sdk"},
        {"https://user:S3CRET@vc.example.com/sdk", "https://vc.example.com/sdk"},
        {"https://a@b:c@host/p#frag", "https://host/p"},
        {"https://host?token=abc", "https://host"},
        {"https://host#x", "https://host"},
        {"http://[::1]:80/a/b", "http://[::1]:80/a/b"},
        {"/folder/x?dcPath=dc&dsName=ds", "/folder/x"},
        {"relative/path?q", "relative/path"},
        {"", ""},
        {"/a@b/c", "/a@b/c"},
    };
    char out[128];
    char tiny[8];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        http_url_for_log(cases[i].in, out, sizeof(out));
        assert_string_equal(out, cases[i].out);
    }
    http_url_for_log("https://long.example.com/", tiny, sizeof(tiny));
    assert_string_equal(tiny, "https:/");
    http_url_for_log(NULL, out, sizeof(out));
    assert_string_equal(out, "");
}

static void
check_redact(const char *in, const char *want)
{
    struct buf b = {0};
    struct perr err = {0};

    assert_int_equal(http_redact_body(in, strlen(in), &b, &err), 0);
    assert_string_equal(buf_cstr(&b), want);
    buf_free(&b);
}

static void
test_redact_json(void **state)
{
    static const struct str_case cases[] = {
        {"{\"password\":\"S3CRET\",\"user\":\"bob\"}", "{\"password\":\"***\",\"user\":\"bob\"}"},
        {"{ \"Password\" : \"a b\" , \"a\":1}", "{ \"Password\" : \"***\" , \"a\":1}"},
        {"{\"credentials\":{\"user\":\"u\",\"password\":\"p\"},\"n\":2}",
         "{\"credentials\":\"***\",\"n\":2}"},
        {"{\"api_token\": 12345, \"x\": true}", "{\"api_token\": \"***\", \"x\": true}"},
        {"{\"tokens\":[\"a\",{\"b\":\"]\"}],\"k\":\"v\"}", "{\"tokens\":\"***\",\"k\":\"v\"}"},
        {"{\"secret\":\"a\\\"b\\\\\",\"k\":\"v\"}", "{\"secret\":\"***\",\"k\":\"v\"}"},
        {"{\"name\":\"password\"}", "{\"name\":\"password\"}"},
        {"[\"password\", \"x\"]", "[\"password\", \"x\"]"},
        {"{\"session_id\":\"s\",\"x-auth-token\":null}",
         "{\"session_id\":\"***\",\"x-auth-token\":\"***\"}"},
        {"{\"a\":{\"refresh_token\":\"r\"},\"b\":[{\"password\":\"p\"}]}",
         "{\"a\":{\"refresh_token\":\"***\"},\"b\":[{\"password\":\"***\"}]}"},
        {"{\"password\":\"unterminated", "{\"password\":\"***\""},
        {"{\"password\":", "{\"password\":\"***\""},
        {"{\"user\":\"bob\"}", "{\"user\":\"bob\"}"},
        {"", ""},
        {"\"", "\""},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        check_redact(cases[i].in, cases[i].out);
}

static void
test_redact_xml(void **state)
{
    static const struct str_case cases[] = {
        {"<Login><userName>bob</userName><password>S3CRET</password></Login>",
         "<Login><userName>bob</userName><password>***</password></Login>"},
        {"<vim25:password xsi:type=\"xsd:string\">p&amp;w</vim25:password>",
         "<vim25:password xsi:type=\"xsd:string\">***</vim25:password>"},
        {"<password a='>'>x</password>", "<password a='>'>***</password>"},
        {"<password/><password></password>", "<password/><password>***</password>"},
        {"<token>abc</token><name>n</name>", "<token>***</token><name>n</name>"},
        {"<?xml version=\"1.0\"?><!-- password --><a>b</a>",
         "<?xml version=\"1.0\"?><!-- password --><a>b</a>"},
        {"<password", "<password"},
        {"<password>unterminated", "<password>***"},
        {"a < b && c > d", "a < b && c > d"},
        {"<passwordExpiry>2026</passwordExpiry>", "<passwordExpiry>***</passwordExpiry>"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        check_redact(cases[i].in, cases[i].out);
}

static void
test_redact_binary_safe_and_capped(void **state)
{
    const char in[] = "{\"password\":\"x\"}\0tail";
    struct buf b = {0};
    struct perr err = {0};

    (void)state;
    assert_int_equal(http_redact_body(in, sizeof(in) - 1, &b, &err), 0);
    assert_int_equal(b.len, strlen("{\"password\":\"***\"}") + 5);
    assert_int_equal(memcmp(b.data, "{\"password\":\"***\"}\0tail", b.len), 0);
    buf_free(&b);
    buf_init(&b, 4);
    assert_int_equal(http_redact_body(in, sizeof(in) - 1, &b, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    buf_free(&b);
}

static void
test_header_sensitivity(void **state)
{
    static const char *const yes[] = {
        "Authorization", "Proxy-Authorization",   "Cookie",       "Set-Cookie",
        "X-Auth-Token",  "x-auth-token",          "api-token",    "X-Auth-Password",
        "X-Session-Id",  "vmware-api-session-id", "X-Secret-Key", "PASSWORD",
    };
    static const char *const no[] = {"Content-Type",    "Host",     "Accept",
                                     "X-Auth-Username", "Location", "User-Agent",
                                     "Content-Length"};

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(yes); i++)
        assert_true(http_header_is_sensitive(yes[i], strlen(yes[i])));
    for (size_t i = 0; i < ARRAY_LEN(no); i++)
        assert_false(http_header_is_sensitive(no[i], strlen(no[i])));
    /* only the name part is looked at */
    assert_false(http_header_is_sensitive("Host: token", 4));
}

/* ---- the seam, with a scripted transport ---- */

struct script {
    long status;
    const char *location;
    bool fail;
    int calls;
    bool freed;
};

static int
script_perform(void *impl, const struct http_req *req, struct http_resp *resp, struct perr *err)
{
    struct script *s = impl;

    (void)req;
    s->calls++;
    assert_int_equal(resp->status, 0);
    assert_null(resp->body.data);
    resp->status = s->status;
    if (buf_adds(&resp->body, "partial body", err) < 0)
        return -1;
    if (s->location != NULL) {
        if (strv_add(&resp->headers, "Content-Type: text/html", err) < 0 ||
            strv_addf(&resp->headers, err, "location:   %s", s->location) < 0)
            return -1;
    }
    resp->content_type = strdup("text/html");
    if (s->fail)
        return perr_set(err, PERR_NETWORK, "scripted failure");
    return 0;
}

static void
script_free(void *impl)
{
    struct script *s = impl;

    s->freed = true;
}

static void
test_perform_statuses(void **state)
{
    struct script sc = {.status = 500};
    struct http_transport t = {.perform = script_perform, .free = script_free, .impl = &sc};
    struct http_req req = {.method = "GET", .url = "https://u:p@h/x?secret=1"};
    struct http_resp resp;
    struct perr err = {0};

    (void)state;
    /* non-2xx other than 3xx is data */
    assert_int_equal(http_perform(&t, &req, &resp, &err), 0);
    assert_int_equal(resp.status, 500);
    assert_string_equal(buf_cstr(&resp.body), "partial body");
    http_resp_free(&resp);
    assert_null(resp.content_type);

    /* 3xx is an error naming the target without secrets, and resp owns nothing */
    sc.status = 301;
    sc.location = "https://other:pw@elsewhere/y?sig=zzz";
    assert_int_equal(http_perform(&t, &req, &resp, &err), -1);
    assert_int_equal(err.code, PERR_HTTP);
    assert_int_equal(err.http_status, 301);
    assert_string_equal(err.msg,
                        "GET 'https://h/x': HTTP 301: redirect to 'https://elsewhere/y' not "
                        "followed");
    assert_int_equal(resp.status, 0);
    assert_null(resp.body.data);
    assert_null(resp.content_type);
    assert_int_equal(resp.headers.n, 0);

    /* a failing transport leaves nothing behind either */
    perr_clear(&err);
    sc.status = 200;
    sc.location = NULL;
    sc.fail = true;
    assert_int_equal(http_perform(&t, &req, &resp, &err), -1);
    assert_int_equal(err.code, PERR_NETWORK);
    assert_null(resp.body.data);
    assert_null(resp.content_type);
    assert_int_equal(sc.calls, 3);

    http_transport_free(&t);
    assert_true(sc.freed);
    assert_null(t.perform);
    http_transport_free(&t); /* zeroed: no-op */
    http_transport_free(NULL);
    http_resp_free(NULL);
}

static void
test_resp_header_lookup(void **state)
{
    struct http_resp r = {0};
    struct perr err = {0};

    (void)state;
    assert_null(http_resp_header(&r, "Location"));
    assert_int_equal(strv_add(&r.headers, "X-Auth-Token:\t tok", &err), 0);
    assert_int_equal(strv_add(&r.headers, "X-Auth-Token-Expiry: 5", &err), 0);
    assert_int_equal(strv_add(&r.headers, "Empty:", &err), 0);
    assert_string_equal(http_resp_header(&r, "x-auth-token"), "tok");
    assert_string_equal(http_resp_header(&r, "X-AUTH-TOKEN-EXPIRY"), "5");
    assert_string_equal(http_resp_header(&r, "Empty"), "");
    assert_null(http_resp_header(&r, "X-Auth"));
    http_resp_free(&r);
}

static void
test_cookies_unsupported(void **state)
{
    struct script sc = {0};
    struct http_transport t = {.perform = script_perform, .free = script_free, .impl = &sc};
    struct perr err = {0};
    char *v = (char *)"stale";

    (void)state;
    assert_int_equal(http_cookie_get(&t, "vmware_soap_session", &v, &err), -1);
    assert_int_equal(err.code, PERR_UNSUPPORTED);
    assert_null(v);
    perr_clear(&err);
    assert_int_equal(http_cookie_clear(&t, &err), -1);
    assert_int_equal(err.code, PERR_UNSUPPORTED);
    http_transport_free(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_for_log),
        cmocka_unit_test(test_redact_json),
        cmocka_unit_test(test_redact_xml),
        cmocka_unit_test(test_redact_binary_safe_and_capped),
        cmocka_unit_test(test_header_sensitivity),
        cmocka_unit_test(test_perform_statuses),
        cmocka_unit_test(test_resp_header_lookup),
        cmocka_unit_test(test_cookies_unsupported),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
