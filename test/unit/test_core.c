/*
 * The small core pieces: the error type, deadlines and backoff, JSON helpers,
 * the failure line and termination log, and the embedded wrapper.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd/main.h"
#include "esxi/vib.h"
#include "esxi/wrapper.h"
#include "lib/deadline.h"
#include "lib/jsonx.h"
#include "lib/log.h"

static void
test_first_error_wins(void **state)
{
    struct perr err = {0};

    (void)state;
    assert_int_equal(perr_set(&err, PERR_NOT_FOUND, "lun '%s' not found", "a"), -1);
    assert_int_equal(perr_set(&err, PERR_INTERNAL, "cleanup failed"), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_string_equal(err.msg, "lun 'a' not found");
    perr_prefix(&err, "ontap: %s: ", "resolve");
    assert_string_equal(err.msg, "ontap: resolve: lun 'a' not found");
    assert_non_null(err.func);
    assert_true(err.line > 0);
    perr_clear(&err);
    assert_false(perr_failed(&err));
    perr_prefix(&err, "nothing: "); /* no-op without an error */
    assert_string_equal(err.msg, "");
}

/* A quoted value never carries a control byte or a bidi override into a message. */
static void
test_controls_escaped(void **state)
{
    struct perr err = {0};

    (void)state;
    perr_set(&err, PERR_USAGE, "bad value '%s'",
             "a\x1b[31mred\tb\x7f\x01"
             "c\r\nd");
    assert_string_equal(err.msg, "bad value 'a\\x1b[31mred\\x09b\\x7f\\x01c  d'");
    perr_clear(&err);
    /* U+202E (right-to-left override) and U+2066 (left-to-right isolate) */
    perr_set(&err, PERR_USAGE, "name '%s'", "x\xe2\x80\xaegpj.exe\xe2\x81\xa6y \xc3\xa9");
    assert_string_equal(err.msg, "name 'x\\u202Egpj.exe\\u2066y \xc3\xa9'");
    perr_prefix(&err, "vm '%s': ", "\x1b]0;t\x07");
    assert_string_equal(err.msg, "vm '\\x1b]0;t\\x07': name 'x\\u202Egpj.exe\\u2066y \xc3\xa9'");
    perr_clear(&err);
    /* A message cut at the end never ends inside an escape. */
    {
        char big[2 * PERR_MSG_MAX];

        memset(big, '\x01', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        perr_set(&err, PERR_USAGE, "%s", big);
        assert_true(strlen(err.msg) % 4 == 0);
        assert_true(strlen(err.msg) < PERR_MSG_MAX);
    }
}

static void
test_remote_and_retryable(void **state)
{
    struct perr err = {0};

    (void)state;
    perr_set_remote(&err, PERR_REMOTE, 503, "5", "array busy\nretry");
    assert_int_equal(err.http_status, 503);
    assert_string_equal(err.remote_code, "5");
    assert_string_equal(err.msg, "array busy retry"); /* always one line */
    assert_true(perr_is_retryable(&err));
    perr_clear(&err);
    perr_set_remote(&err, PERR_CONFLICT, 409, "1", "exists");
    assert_false(perr_is_retryable(&err));
    perr_clear(&err);
    perr_set(&err, PERR_TIMEOUT, "slow");
    assert_true(perr_is_retryable(&err));
    assert_string_equal(perr_code_str(PERR_TIMEOUT), "timeout");
}

static void
test_prefix_truncates_safely(void **state)
{
    struct perr err = {0};
    char big[2000];

    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    perr_set(&err, PERR_REMOTE, "%s", big);
    perr_prefix(&err, "ctx: ");
    assert_int_equal(strlen(err.msg), PERR_MSG_MAX - 1);
    assert_memory_equal(err.msg, "ctx: aaa", 8);
}

static void
test_backoff_bounds(void **state)
{
    struct backoff b;
    long expect[] = {100, 200, 400, 800, 1000, 1000};

    (void)state;
    backoff_init(&b, 100, 1000, 2.0, 0.1, 6);
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        long d = backoff_next_ms(&b);

        assert_true(d >= expect[i] * 9 / 10 && d <= expect[i] * 11 / 10);
    }
    assert_int_equal(backoff_next_ms(&b), -1);
}

struct flaky {
    int calls;
    int fail_times;
    enum perr_code code;
};

static int
flaky_fn(void *arg, struct perr *err)
{
    struct flaky *f = arg;

    if (f->calls++ < f->fail_times)
        return perr_set(err, f->code, "attempt %d failed", f->calls);
    return 0;
}

static void
test_retry_call(void **state)
{
    struct flaky f = {0, 2, PERR_NETWORK};
    struct deadline d = deadline_in_ms(10000);
    struct backoff b;
    struct perr err = {0};

    (void)state;
    backoff_init(&b, 1, 5, 2.0, 0, 5);
    assert_int_equal(retry_call(flaky_fn, &f, &b, &d, perr_is_retryable, &err), 0);
    assert_int_equal(f.calls, 3);

    /* A non-retryable error stops at once and is the one reported. */
    f = (struct flaky){0, 5, PERR_AUTH};
    backoff_init(&b, 1, 5, 2.0, 0, 5);
    assert_int_equal(retry_call(flaky_fn, &f, &b, &d, perr_is_retryable, &err), -1);
    assert_int_equal(f.calls, 1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_string_equal(err.msg, "attempt 1 failed");

    /* Attempts run out: the last error is reported. */
    perr_clear(&err);
    f = (struct flaky){0, 10, PERR_TIMEOUT};
    backoff_init(&b, 1, 2, 2.0, 0, 3);
    assert_int_equal(retry_call(flaky_fn, &f, &b, &d, perr_is_retryable, &err), -1);
    assert_int_equal(f.calls, 4);
    assert_string_equal(err.msg, "attempt 4 failed");
}

static void
test_wait_cancelled(void **state)
{
    struct perr err = {0};
    struct deadline never = deadline_in_ms(-1);
    struct deadline past = deadline_in_ms(0);

    (void)state;
    assert_false(deadline_expired(&never));
    assert_true(deadline_expired(&past));
    assert_int_equal(wait_ms(1, NULL, &err), 0);
    /* A wait bounded by an expired deadline returns at once. */
    assert_int_equal(wait_ms(100000, &past, &err), 0);
    cancel_request();
    assert_true(cancel_requested());
    assert_int_equal(wait_ms(100000, NULL, &err), -1);
    assert_int_equal(err.code, PERR_CANCELLED);
    cancel_reset();
    assert_false(cancel_requested());
}

/* Cleanup behind the shield: the SIGTERM that ended the copy does not cut
 * its waits and retries; one that comes during the cleanup does. */
static void
test_cancel_shield(void **state)
{
    struct perr err = {0};
    struct backoff b;
    struct deadline d = deadline_in_ms(10000);
    struct flaky f = {0, 1, PERR_HTTP};

    (void)state;
    /* A first signal that comes during the cleanup does not cut it either. */
    cancel_shield_begin();
    cancel_request();
    assert_false(cancel_requested());
    assert_int_equal(wait_ms(20, NULL, &err), 0);
    cancel_shield_end();
    assert_true(cancel_requested());
    cancel_reset();

    cancel_request();
    assert_true(cancel_requested());
    cancel_shield_begin();
    assert_false(cancel_requested());
    assert_true(cancel_ever_requested());
    /* The wake-up of the first signal does not end a wait. */
    assert_int_equal(wait_ms(20, NULL, &err), 0);
    assert_int_equal(wait_ms(20, NULL, &err), 0);
    /* A retry loop still retries. */
    f = (struct flaky){0, 1, PERR_TIMEOUT};
    backoff_init(&b, 1, 2, 2.0, 0, 3);
    assert_int_equal(retry_call(flaky_fn, &f, &b, &d, perr_is_retryable, &err), 0);
    assert_int_equal(f.calls, 2);
    /* A second signal cuts it, and the wait says why. */
    cancel_request();
    assert_true(cancel_requested());
    assert_int_equal(wait_ms(100000, NULL, &err), -1);
    assert_int_equal(err.code, PERR_CANCELLED);
    assert_string_equal(err.msg, "cleanup interrupted by a second termination signal");
    perr_clear(&err);
    f = (struct flaky){0, 1, PERR_TIMEOUT};
    backoff_init(&b, 1, 2, 2.0, 0, 3);
    assert_int_equal(retry_call(flaky_fn, &f, &b, &d, perr_is_retryable, &err), -1);
    assert_int_equal(f.calls, 1);
    cancel_shield_end();
    assert_true(cancel_requested());
    cancel_reset();
    assert_false(cancel_requested());
    assert_false(cancel_ever_requested());
}

static void
test_exit_status_and_leftover_line(void **state)
{
    struct run_result res = {0};
    struct perr err = {0};
    char *line;

    (void)state;
    perr_set(&err, PERR_CONFIG, "--storage-ca-file (STORAGE_CA_FILE): CA file 'x': missing");
    assert_int_equal(main_exit_status(&err, &res), POP_EXIT_USAGE);
    err.code = PERR_USAGE;
    assert_int_equal(main_exit_status(&err, &res), POP_EXIT_USAGE);
    err.code = PERR_CANCELLED;
    assert_int_equal(main_exit_status(&err, &res), POP_EXIT_FAILED);
    err.code = PERR_REMOTE;
    assert_int_equal(main_exit_status(&err, &res), POP_EXIT_FAILED);
    assert_int_equal(strv_add(&res.leftovers, "LUN 'a' still mapped to 'g'", &err), 0);
    assert_int_equal(strv_add(&res.leftovers, "LUN 'a' not re-mapped to 'h'", &err), 0);
    assert_int_equal(main_exit_status(&err, &res), POP_EXIT_LEFTOVER);
    err.code = PERR_CONFIG;
    assert_int_equal(main_exit_status(&err, &res), POP_EXIT_LEFTOVER);
    line = main_leftover_line(&res);
    assert_string_equal(line, "copied; left behind: LUN 'a' still mapped to 'g'; LUN 'a' not "
                              "re-mapped to 'h'");
    free(line);
    run_result_free(&res);
}

static void
test_vib_status(void **state)
{
    static const struct {
        const char *in;
        int ok;
        int want;
    } cases[] = {
        {"0", 1, 0},  {"1", 1, 1},   {"-1", 1, -1}, {"0\n", 1, 0},     {"", 0, 0},
        {"ok", 0, 0}, {"0x1", 0, 0}, {"1 2", 0, 0}, {"success", 0, 0}, {"99999999999", 0, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct perr err = {0};
        int st = 42;
        int rc = vib_parse_status(cases[i].in, &st, &err);

        if (cases[i].ok) {
            assert_int_equal(rc, 0);
            assert_int_equal(st, cases[i].want);
        } else {
            if (rc != -1)
                fail_msg("status '%s' accepted as %d", cases[i].in, st);
            assert_int_equal(err.code, PERR_PROTOCOL);
            assert_int_not_equal(st, 0);
        }
    }
}

static void
test_jsonx(void **state)
{
    static const char doc[] = "{\"records\":[{\"uuid\":\"u-1\",\"name\":\"lun0\"}],\"n\":1}";
    json_t *root = NULL;
    json_t *rec = NULL;
    struct perr err = {0};
    const char *uuid = NULL;
    char *name = NULL;
    struct buf b = {0};

    (void)state;
    assert_int_equal(jsonx_parse(doc, strlen(doc), &root, &err), 0);
    assert_int_equal(jsonx_unpack(root, "LUN list", &err, "{s:[o]}", "records", &rec), 0);
    assert_int_equal(jsonx_unpack(rec, "LUN", &err, "{s:s}", "uuid", &uuid), 0);
    assert_string_equal(uuid, "u-1");
    assert_int_equal(jsonx_strdup(rec, "name", &name, &err), 0);
    assert_string_equal(jsonx_string_or(rec, "missing", "dflt"), "dflt");
    assert_int_equal(jsonx_dump(rec, &b, &err), 0);
    json_decref(root);
    assert_string_equal(name, "lun0"); /* owned copy outlives the tree */
    assert_non_null(strstr(buf_cstr(&b), "\"uuid\":\"u-1\""));
    free(name);
    buf_free(&b);

    assert_int_equal(jsonx_parse("{\"a\":1,\"a\":2}", 13, &root, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_non_null(strstr(err.msg, "malformed JSON"));
    perr_clear(&err);
    assert_int_equal(jsonx_parse("{\"n\":1}", 7, &root, &err), 0);
    assert_int_equal(jsonx_unpack(root, "reply", &err, "{s:s}", "n", &uuid), -1);
    assert_non_null(strstr(err.msg, "unexpected reply"));
    perr_clear(&err);
    assert_int_equal(jsonx_strdup(root, "n", &name, &err), -1);
    assert_string_equal(err.msg, "missing string field 'n'");
    json_decref(root);
}

/* --output=json durations: whole milliseconds print as their shortest decimal. */
static void
test_jsonx_seconds(void **state)
{
    static const struct {
        int64_t ms;
        const char *want;
    } cases[] = {
        {2170, "[2.17]"},    {0, "[0.0]"},          {4, "[0.004]"},
        {1, "[0.001]"},      {3600000, "[3600.0]"}, {86399999, "[86399.999]"},
        {12345, "[12.345]"}, {100, "[0.1]"},        {999999999999, "[999999999.999]"},
    };
    char *s = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *a = json_array();

        json_array_append_new(a, jsonx_seconds(cases[i].ms));
        s = json_dumps(a, JSON_COMPACT | JSONX_REAL_MS);
        assert_non_null(s);
        assert_string_equal(s, cases[i].want);
        free(s);
        json_decref(a);
    }
    /* Every millisecond of the first 100 s: the text is the exact decimal,
     * trailing zeros dropped, never a binary-rounding tail. */
    for (int64_t ms = 0; ms < 100000; ms++) {
        json_t *v = jsonx_seconds(ms);
        char want[32];
        size_t n;

        snprintf(want, sizeof(want), "%lld.%03lld", (long long)(ms / 1000), (long long)(ms % 1000));
        n = strlen(want);
        while (want[n - 1] == '0' && want[n - 2] != '.')
            want[--n] = '\0';
        s = json_dumps(v, JSON_ENCODE_ANY | JSONX_REAL_MS);
        assert_non_null(s);
        assert_string_equal(s, want);
        free(s);
        json_decref(v);
    }
}

static void
test_failure_line_and_termination_log(void **state)
{
    struct run_result res = {0};
    struct perr err = {0};
    char path[] = "/tmp/pop-termlog-XXXXXX";
    char got[512] = {0};
    char *line;
    FILE *f;
    int fd;

    (void)state;
    perr_set(&err, PERR_REMOTE, "ontap: map: HTTP 500");
    res.phase = "map";
    strv_add(&res.leftovers, "LUN 'lun0' still mapped to igroup 'xcopy-host-1'", &err);
    line = main_failure_line(&err, &res);
    assert_string_equal(line, "map: ontap: map: HTTP 500; left behind: LUN 'lun0' still mapped "
                              "to igroup 'xcopy-host-1'");

    /* Written only when the file exists, replacing what was there. */
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "old old old old old old old old\n", 32), 32);
    close(fd);
    main_write_termination_log(path, line);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(got, sizeof(got), f));
    fclose(f);
    assert_int_equal(strncmp(got, line, strlen(line)), 0);
    unlink(path);
    main_write_termination_log(path, line);
    assert_int_equal(access(path, F_OK), -1);
    free(line);
    run_result_free(&res);

    /* A registered secret a peer echoed into the message never reaches the file. */
    log_add_secret_encodings("admin", "S3cr\"et-\xc3\xa9");
    memcpy(path, "/tmp/pop-termlog-XXXXXX", sizeof(path));
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    main_write_termination_log(
        path, "map: HTTP 500: bad password S3cr\"et-\xc3\xa9 (S3cr\\\"et-\\u00e9)");
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(got, sizeof(got), f));
    fclose(f);
    unlink(path);
    assert_string_equal(got, "map: HTTP 500: bad password *** (***)\n");
    log_reset();
}

static void
test_embedded_wrapper(void **state)
{
    size_t len = 0;
    const unsigned char *s = esxi_wrapper_script(&len);
    FILE *f;
    char *disk = NULL;
    size_t disk_len = 0;

    (void)state;
    assert_true(len > 100);
    assert_memory_equal(s, "#!/bin/sh", 9);
    assert_string_not_equal(esxi_wrapper_version(), "dev");
    /* The embedded bytes are the script in the tree, byte for byte. */
    f = fopen("esxi/vmkfstools-wrapper.sh", "rb");
    assert_non_null(f);
    disk = malloc(len + 1);
    assert_non_null(disk);
    disk_len = fread(disk, 1, len + 1, f);
    fclose(f);
    assert_int_equal(disk_len, len);
    assert_memory_equal(disk, s, len);
    free(disk);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_remote_and_retryable),
        cmocka_unit_test(test_controls_escaped),
        cmocka_unit_test(test_prefix_truncates_safely),
        cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test(test_retry_call),
        cmocka_unit_test(test_wait_cancelled),
        cmocka_unit_test(test_cancel_shield),
        cmocka_unit_test(test_exit_status_and_leftover_line),
        cmocka_unit_test(test_vib_status),
        cmocka_unit_test(test_jsonx),
        cmocka_unit_test(test_jsonx_seconds),
        cmocka_unit_test(test_failure_line_and_termination_log),
        cmocka_unit_test(test_embedded_wrapper),
    };

    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
