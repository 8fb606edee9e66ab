/*
 * lib/buf.c: growth, the hard cap, stealing and freeing, and the escaping
 * appenders fed with hostile input (checked by a real parser or shell where
 * one is at hand).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/buf.h"

static void
test_empty(void **state)
{
    struct buf b = {0};
    char *s;

    (void)state;
    assert_string_equal(buf_cstr(&b), "");
    assert_int_equal(b.len, 0);
    buf_reset(&b);
    buf_free(&b);
    buf_free_secret(&b);
    s = buf_steal(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
}

static void
test_append_and_grow(void **state)
{
    struct buf b = {0};
    struct perr err = {0};
    char big[1000];

    (void)state;
    assert_int_equal(buf_adds(&b, "abc", &err), 0);
    assert_int_equal(buf_add(&b, "de\0f", 4, &err), 0);
    assert_int_equal(b.len, 7);
    assert_int_equal(memcmp(b.data, "abcde\0f", 8), 0);
    assert_int_equal(buf_addf(&b, &err, "[%d:%s]", 42, "x"), 0);
    assert_int_equal(b.len, 13);
    assert_string_equal(b.data + 7, "[42:x]");
    memset(big, 'z', sizeof(big));
    for (int i = 0; i < 100; i++)
        assert_int_equal(buf_add(&b, big, sizeof(big), &err), 0);
    assert_int_equal(b.len, 13 + 100 * sizeof(big));
    assert_int_equal(b.data[b.len], '\0');
    assert_true(b.alloc > b.len);
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(buf_cstr(&b), "");
    assert_non_null(b.data);
    buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(err.code, PERR_OK);
}

static void
test_cap(void **state)
{
    struct buf b;
    struct perr err = {0};

    (void)state;
    buf_init(&b, 8);
    assert_int_equal(buf_adds(&b, "1234", &err), 0);
    assert_int_equal(buf_adds(&b, "56789", &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_non_null(strstr(err.msg, "8 bytes"));
    assert_int_equal(b.len, 4);
    assert_string_equal(buf_cstr(&b), "1234");

    perr_clear(&err);
    assert_int_equal(buf_addf(&b, &err, "%s", "xxxxx"), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_string_equal(buf_cstr(&b), "1234");

    perr_clear(&err);
    assert_int_equal(buf_adds(&b, "5678", &err), 0); /* exactly the cap */
    assert_string_equal(buf_cstr(&b), "12345678");
    assert_int_equal(buf_add(&b, "9", 1, &err), -1);
    assert_int_equal(buf_add(&b, "", 0, &err), 0);

    /* escaping appenders respect the cap too */
    buf_reset(&b);
    perr_clear(&err);
    assert_int_equal(buf_add_xml(&b, "<<<", &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    perr_clear(&err);
    buf_reset(&b);
    assert_int_equal(buf_add_url(&b, "   ", &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    perr_clear(&err);
    buf_reset(&b);
    assert_int_equal(buf_add_json(&b, "\x01\x02", &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    buf_free(&b);
}

static void
test_steal_and_free_secret(void **state)
{
    struct buf b = {0};
    struct perr err = {0};
    char *s;

    (void)state;
    assert_int_equal(buf_adds(&b, "hello", &err), 0);
    s = buf_steal(&b);
    assert_string_equal(s, "hello");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.alloc, 0);
    free(s);
    /* the buffer is usable again after a steal */
    assert_int_equal(buf_adds(&b, "again", &err), 0);
    assert_string_equal(buf_cstr(&b), "again");
    buf_free_secret(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
}

struct esc_case {
    const char *in;
    const char *out;
};

/* One line for a message: breaks and tabs become spaces, the end is trimmed, the size kept. */
static void
test_str_excerpt(void **state)
{
    char out[12];

    (void)state;
    str_excerpt("a\nb\r\tc  \n", out, sizeof(out));
    assert_string_equal(out, "a b  c");
    str_excerpt("0123456789abcdef", out, sizeof(out));
    assert_string_equal(out, "0123456789a");
    str_excerpt(NULL, out, sizeof(out));
    assert_string_equal(out, "");
}

/* An optional string: NULL stays NULL, anything else is a separate copy. */
static void
test_str_dup_opt(void **state)
{
    struct perr err = {0};
    const char *src = "FA-X70R3";
    char *d = (char *)1;

    (void)state;
    assert_int_equal(str_dup_opt(NULL, &d, &err), 0);
    assert_null(d);
    assert_int_equal(str_dup_opt(src, &d, &err), 0);
    assert_non_null(d);
    assert_ptr_not_equal(d, src);
    assert_string_equal(d, src);
    assert_int_equal(err.code, PERR_OK);
    free(d);
}

static void
test_xml(void **state)
{
    static const struct esc_case cases[] = {
        {"", ""},
        {"plain", "plain"},
        {"a&b<c>d\"e'f", "a&amp;b&lt;c&gt;d&quot;e&apos;f"},
        {"</password><inject>x</inject>", "&lt;/password&gt;&lt;inject&gt;x&lt;/inject&gt;"},
        {"]]><!--", "]]&gt;&lt;!--"},
        {"&amp;", "&amp;amp;"},
        {"tab\tnl\ncr\r", "tab\tnl\ncr\r"},
        {"caf\xc3\xa9", "caf\xc3\xa9"},
    };
    static const char *const bad[] = {"\x01", "a\x1b[31m", "v\x0b", "\x1f", "nul\x0c"};
    struct buf b = {0};
    struct perr err = {0};

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        buf_reset(&b);
        assert_int_equal(buf_add_xml(&b, cases[i].in, &err), 0);
        assert_string_equal(buf_cstr(&b), cases[i].out);
    }
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        perr_clear(&err);
        buf_reset(&b);
        assert_int_equal(buf_add_xml(&b, bad[i], &err), -1);
        assert_int_equal(err.code, PERR_USAGE);
    }
    buf_free(&b);
}

static void
test_url(void **state)
{
    static const struct esc_case cases[] = {
        {"", ""},
        {"AZaz09-._~", "AZaz09-._~"},
        {"a b", "a%20b"},
        {"../../etc/passwd", "..%2F..%2Fetc%2Fpasswd"},
        {"x?y=1&z=2#f", "x%3Fy%3D1%26z%3D2%23f"},
        {"100%", "100%25"},
        {"user:pw@host", "user%3Apw%40host"},
        {"+;,/", "%2B%3B%2C%2F"},
        {"\r\n", "%0D%0A"},
        {"caf\xc3\xa9", "caf%C3%A9"},
        {"\xff", "%FF"},
    };
    struct buf b = {0};
    struct perr err = {0};

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        buf_reset(&b);
        assert_int_equal(buf_add_url(&b, cases[i].in, &err), 0);
        assert_string_equal(buf_cstr(&b), cases[i].out);
    }
    buf_free(&b);
}

static void
test_json(void **state)
{
    static const struct esc_case cases[] = {
        {"", "\"\""},
        {"plain", "\"plain\""},
        {"q\"b\\s", "\"q\\\"b\\\\s\""},
        {"\n\r\t", "\"\\n\\r\\t\""},
        {"\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\""},
        {"\",\"admin\":true,\"x\":\"", "\"\\\",\\\"admin\\\":true,\\\"x\\\":\\\"\""},
        {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
    };
    static const char *const hostile[] = {
        "\"}]}", "\\\"", "a\x01\x02\x03z", "</script>", "line1\nline2", "\"password\":\"x\"",
    };
    struct buf b = {0};
    struct perr err = {0};

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        buf_reset(&b);
        assert_int_equal(buf_add_json(&b, cases[i].in, &err), 0);
        assert_string_equal(buf_cstr(&b), cases[i].out);
    }
    /* a real parser reads every hostile value back unchanged */
    for (size_t i = 0; i < ARRAY_LEN(hostile); i++) {
        json_error_t jerr;
        json_t *v;

        buf_reset(&b);
        assert_int_equal(buf_adds(&b, "{\"k\":", &err), 0);
        assert_int_equal(buf_add_json(&b, hostile[i], &err), 0);
        assert_int_equal(buf_adds(&b, "}", &err), 0);
        v = json_loads(buf_cstr(&b), 0, &jerr);
        assert_non_null(v);
        assert_int_equal(json_object_size(v), 1);
        assert_string_equal(json_string_value(json_object_get(v, "k")), hostile[i]);
        json_decref(v);
    }
    buf_free(&b);
}

/* Runs `sh -c "printf %s <word>"` and returns what the shell printed. */
static char *
shell_roundtrip(const char *word)
{
    struct buf cmd = {0};
    struct buf out = {0};
    struct perr err = {0};
    int fds[2];
    pid_t pid;
    int status;
    char chunk[256];
    ssize_t n;

    assert_int_equal(buf_adds(&cmd, "printf %s ", &err), 0);
    assert_int_equal(buf_add_shell(&cmd, word, &err), 0);
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/bin/sh", "sh", "-c", buf_cstr(&cmd), (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    while ((n = read(fds[0], chunk, sizeof(chunk))) > 0)
        assert_int_equal(buf_add(&out, chunk, (size_t)n, &err), 0);
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    buf_free(&cmd);
    return buf_steal(&out);
}

static void
test_shell(void **state)
{
    static const struct esc_case cases[] = {
        {"", "''"},
        {"plain", "'plain'"},
        {"it's", "'it'\\''s'"},
        {"''", "''\\'''\\'''"},
    };
    static const char *const hostile[] = {
        "$(touch /tmp/pop-pwned)",
        "`id`",
        "a; rm -rf /nonexistent-pop",
        "x' ; echo 'injected",
        "\"double\" $HOME \\ back",
        "new\nline",
        "*?[glob]",
        "-n",
        "|&<>(){}!#~",
    };
    struct buf b = {0};
    struct perr err = {0};

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        buf_reset(&b);
        assert_int_equal(buf_add_shell(&b, cases[i].in, &err), 0);
        assert_string_equal(buf_cstr(&b), cases[i].out);
    }
    buf_free(&b);
    for (size_t i = 0; i < ARRAY_LEN(hostile); i++) {
        char *got = shell_roundtrip(hostile[i]);

        assert_string_equal(got, hostile[i]);
        free(got);
    }
    assert_int_equal(access("/tmp/pop-pwned", F_OK), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),       cmocka_unit_test(test_append_and_grow),
        cmocka_unit_test(test_cap),         cmocka_unit_test(test_steal_and_free_secret),
        cmocka_unit_test(test_xml),         cmocka_unit_test(test_url),
        cmocka_unit_test(test_json),        cmocka_unit_test(test_shell),
        cmocka_unit_test(test_str_dup_opt), cmocka_unit_test(test_str_excerpt),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
