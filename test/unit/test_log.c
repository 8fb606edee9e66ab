/*
 * The logger: formats, levels, trace gating, and that no password, token or
 * cookie ever reaches the output, whichever way it was handed in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/log.h"

static const char *const secrets[] = {"Pa55w0rd-Secret", "tok-ABCDEF123456", "sess=C00KIE-VALUE",
                                      "quote\"and\\back-S3CRET"};

struct capture {
    char *text;
    size_t len;
    FILE *f;
};

static void
capture_start(struct capture *c, enum log_level lvl, enum log_format fmt, const char *trace)
{
    c->text = NULL;
    c->len = 0;
    c->f = open_memstream(&c->text, &c->len);
    assert_non_null(c->f);
    log_init(lvl, fmt, trace);
    log_set_stream(c->f);
}

static void
capture_end(struct capture *c)
{
    fclose(c->f);
    log_reset();
}

static void
emit_everything(void)
{
    /* Sensitive keys, in any case and spelling. */
    log_info("test", "login", "user", "bob", "password", secrets[0], NULL);
    log_info("test", "auth", "Authorization", "Bearer tok-ABCDEF123456", NULL);
    log_warn("test", "cookie", "Set-Cookie", secrets[2], "api_token", secrets[1], NULL);
    log_error("test", "odd", "storage_password", secrets[3], NULL);
    /* Registered secrets hidden wherever they appear: event text and innocent keys. */
    log_info("test", "request failed for Pa55w0rd-Secret", "detail",
             "server said tok-ABCDEF123456 is wrong", NULL);
    log_error("test", "final", "error", "login 'x' with quote\"and\\back-S3CRET failed", NULL);
}

static void
check_no_secrets(const char *out)
{
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        if (strstr(out, secrets[i]) != NULL)
            fail_msg("secret '%s' leaked in:\n%s", secrets[i], out);
    }
    assert_null(strstr(out, "C00KIE-VALUE"));
    assert_null(strstr(out, "ABCDEF123456"));
    assert_null(strstr(out, "S3CRET"));
    /* The innocent parts are still there. */
    assert_non_null(strstr(out, "bob"));
    assert_non_null(strstr(out, "***"));
}

static void
register_secrets(void)
{
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        log_add_secret(secrets[i]);
    log_add_secret("tok-ABCDEF123456");
}

static void
test_redaction_text(void **state)
{
    struct capture c;

    (void)state;
    capture_start(&c, LOGL_TRACE, LOG_FORMAT_TEXT, NULL);
    register_secrets();
    emit_everything();
    fflush(c.f);
    check_no_secrets(c.text);
    assert_non_null(strstr(c.text, "[test] login user=bob password=***"));
    capture_end(&c);
    free(c.text);
}

static void
test_redaction_json(void **state)
{
    struct capture c;
    char *line;
    char *save = NULL;
    int lines = 0;

    (void)state;
    capture_start(&c, LOGL_TRACE, LOG_FORMAT_JSON, NULL);
    register_secrets();
    emit_everything();
    fflush(c.f);
    check_no_secrets(c.text);
    /* Every line is one JSON object with the fixed fields. */
    for (line = strtok_r(c.text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);

        if (o == NULL)
            fail_msg("not JSON: %s (%s)", line, jerr.text);
        assert_non_null(json_object_get(o, "ts"));
        assert_non_null(json_object_get(o, "level"));
        assert_string_equal(json_string_value(json_object_get(o, "comp")), "test");
        assert_non_null(json_object_get(o, "event"));
        json_decref(o);
        lines++;
    }
    assert_int_equal(lines, 6);
    capture_end(&c);
    free(c.text);
}

static void
test_levels_and_trace(void **state)
{
    struct capture c;

    (void)state;
    capture_start(&c, LOGL_WARN, LOG_FORMAT_TEXT, NULL);
    log_info("test", "hidden-info", NULL);
    log_debug("test", "hidden-debug", NULL);
    log_warn("test", "shown-warn", "k", "a value with spaces", "n", NULL, NULL);
    fflush(c.f);
    assert_null(strstr(c.text, "hidden"));
    assert_non_null(strstr(c.text, "warn  [test] shown-warn k=\"a value with spaces\" n=null"));
    assert_false(log_trace_on("http"));
    capture_end(&c);
    free(c.text);

    capture_start(&c, LOGL_TRACE, LOG_FORMAT_TEXT, "http,soap");
    assert_true(log_trace_on("http"));
    assert_true(log_trace_on("http.storage"));
    assert_true(log_trace_on("soap"));
    assert_false(log_trace_on("ssh"));
    assert_false(log_trace_on("httpx"));
    capture_end(&c);
    free(c.text);
}

static void
test_parse_helpers(void **state)
{
    enum log_level l;
    enum log_format f;

    (void)state;
    assert_int_equal(log_level_parse("DEBUG", &l), 0);
    assert_int_equal(l, LOGL_DEBUG);
    assert_int_equal(log_level_parse("warning", &l), 0);
    assert_int_equal(l, LOGL_WARN);
    assert_int_equal(log_level_parse("noisy", &l), -1);
    assert_int_equal(log_format_parse("json", &f), 0);
    assert_int_equal(f, LOG_FORMAT_JSON);
    assert_int_equal(log_format_parse("yaml", &f), -1);
    assert_true(log_key_is_sensitive("X-Auth-Token"));
    assert_true(log_key_is_sensitive("SSH_PRIVATE_KEY"));
    assert_true(log_key_is_sensitive("Cookie"));
    assert_false(log_key_is_sensitive("naa"));
}

/* A password with every character that changes between encodings. */
#define ODD_PW "p\"a\\ss%&<>:\xc3\xa9 x'"

/* Every spelling ODD_PW travels in, and those spellings JSON-escaped. */
static const char *const odd_forms[] = {
    ODD_PW,
    "p\\\"a\\\\ss%&<>:",                           /* JSON */
    "p\\\\\\\"a\\\\\\\\ss%&<>:",                   /* JSON of JSON */
    "p&quot;a\\ss%&amp;&lt;&gt;:\xc3\xa9 x&apos;", /* XML */
    "p&quot;a\\\\ss%&amp;&lt;&gt;:",               /* XML, then JSON */
    "p%22a%5Css%25%26%3C%3E%3A%C3%A9%20x%27",      /* URL */
    "YWRtaW46cCJhXHNzJSY8PjrDqSB4Jw==",            /* base64 "admin:" ODD_PW */
};

/* Lines of every shape: libcurl's HTTP/2 info lines, secrets mid-word, inside
 * quoted bodies, in keys, in events. */
static void
emit_odd_shapes(void)
{
    log_trace("http.ontap", "http * info", "line",
              "h2h3 [authorization: Basic YWRtaW46cCJhXHNzJSY8PjrDqSB4Jw==]", NULL);
    log_trace("http.ontap", "http * info", "line",
              "[HTTP/2] [1] [authorization: Basic YWRtaW46cCJhXHNzJSY8PjrDqSB4Jw==]", NULL);
    log_trace("soap", "http > body", "body",
              "<Login><userName>admin</userName><x>p&quot;a\\ss%&amp;&lt;&gt;:\xc3\xa9 "
              "x&apos;</x></Login>",
              NULL);
    log_trace("http.rest", "http > header", "line",
              "GET /login?u=admin&pw=p%22a%5Css%25%26%3C%3E%3A%C3%A9%20x%27&z=1 HTTP/1.1", NULL);
    log_warn("test", "array said", "detail",
             "{\"error\":\"bad {\\\"pw\\\":\\\""
             "p\\\"a\\\\ss%&<>:\xc3\xa9 x'"
             "\\\"}\"}",
             NULL);
    log_error("test", "mid" ODD_PW "word", "k" ODD_PW, "xx" ODD_PW "yy", NULL);
}

static void
check_odd_forms(const char *out)
{
    for (size_t i = 0; i < sizeof(odd_forms) / sizeof(odd_forms[0]); i++) {
        if (strstr(out, odd_forms[i]) != NULL)
            fail_msg("form %zu '%s' leaked in:\n%s", i, odd_forms[i], out);
    }
    assert_null(strstr(out, "YWRtaW46"));
    assert_null(strstr(out, "%5Css%25"));
    assert_null(strstr(out, "&lt;&gt;"));
    assert_null(strstr(out, "ss%&<>"));
}

/* One call registers a credential in every spelling; lines of any shape are scrubbed. */
static void
test_secret_encodings_any_shape(void **state)
{
    static const enum log_format fmts[] = {LOG_FORMAT_TEXT, LOG_FORMAT_JSON};
    struct capture c;

    (void)state;
    for (size_t f = 0; f < 2; f++) {
        capture_start(&c, LOGL_TRACE, fmts[f], "all");
        log_add_secret_encodings("admin", ODD_PW);
        emit_odd_shapes();
        fflush(c.f);
        check_odd_forms(c.text);
        assert_non_null(strstr(c.text, "h2h3 [authorization: Basic ***]"));
        capture_end(&c);
        free(c.text);
    }
}

/* log_add_secret alone already covers the text spellings (JSON, XML, URL). */
static void
test_secret_text_spellings(void **state)
{
    struct capture c;

    (void)state;
    capture_start(&c, LOGL_TRACE, LOG_FORMAT_TEXT, "all");
    log_add_secret(ODD_PW);
    log_info("test", "fault", "body",
             "<password>p&quot;a\\ss%&amp;&lt;&gt;:\xc3\xa9 x&apos;</password>", NULL);
    log_info("test", "url", "q", "pw=p%22a%5Css%25%26%3C%3E%3A%C3%A9%20x%27", NULL);
    fflush(c.f);
    check_odd_forms(c.text);
    capture_end(&c);
    free(c.text);
}

/* How peers echo a credential back: JSON with non-ASCII as \u escapes
 * (Python, jansson), Go's <>& escapes, Go's numeric XML quotes, lower-case
 * URL hex; and what leaves outside the log (log_scrub_dup). */
static void
test_secret_echoed_spellings(void **state)
{
    static const char *const echoed[] = {
        "p\\\"a\\\\ss%&<>:\\u00e9 x'",                    /* Python json.dumps */
        "p\\\"a\\\\ss%&<>:\\u00E9 x'",                    /* jansson JSON_ENSURE_ASCII */
        "p\\\"a\\\\ss%\\u0026\\u003c\\u003e:\xc3\xa9 x'", /* Go encoding/json */
        "p&#34;a\\ss%&amp;&lt;&gt;:\xc3\xa9 x&#39;",      /* Go encoding/xml */
        "p%22a%5css%25%26%3c%3e%3a%c3%a9%20x%27",         /* URL, lower-case hex */
    };
    struct capture c;
    char *line;
    char *safe;
    char *mixed;

    (void)state;
    capture_start(&c, LOGL_TRACE, LOG_FORMAT_TEXT, "all");
    log_add_secret(ODD_PW);
    for (size_t i = 0; i < sizeof(echoed) / sizeof(echoed[0]); i++) {
        /* As a body field, and as that body quoted once more in a JSON line. */
        assert_int_equal(asprintf(&line, "{\"error\":\"bad %s here\"}", echoed[i]) > 0, 1);
        log_info("test", "array said", "body", line, NULL);
        free(line);
    }
    fflush(c.f);
    for (size_t i = 0; i < sizeof(echoed) / sizeof(echoed[0]); i++) {
        if (strstr(c.text, echoed[i]) != NULL || strstr(c.text, "ss%") != NULL ||
            strstr(c.text, "5css") != NULL)
            fail_msg("echoed form %zu leaked in:\n%s", i, c.text);
    }
    assert_non_null(strstr(c.text, "bad *** here"));

    /* The same scrub for text that leaves outside the log. */
    assert_int_equal(asprintf(&mixed, "map: HTTP 500: denied for %s and %s", ODD_PW, echoed[0]) > 0,
                     1);
    safe = log_scrub_dup(mixed);
    assert_non_null(safe);
    assert_string_equal(safe, "map: HTTP 500: denied for *** and ***");
    free(safe);
    free(mixed);
    assert_null(log_scrub_dup(NULL));
    capture_end(&c);
    free(c.text);
    /* Nothing registered: text comes back unchanged. */
    safe = log_scrub_dup("nothing " ODD_PW);
    assert_string_equal(safe, "nothing " ODD_PW);
    free(safe);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redaction_text),
        cmocka_unit_test(test_redaction_json),
        cmocka_unit_test(test_levels_and_trace),
        cmocka_unit_test(test_parse_helpers),
        cmocka_unit_test(test_secret_encodings_any_shape),
        cmocka_unit_test(test_secret_text_spellings),
        cmocka_unit_test(test_secret_echoed_spellings),
    };

    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
