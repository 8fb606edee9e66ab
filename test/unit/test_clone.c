/*
 * The shared clone task loop against a scripted wrapper carrier: progress and
 * xcopy reporting, completion on the first exit code, failure with stderr,
 * task-clean on every path, cancellation and the no-progress limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "esxi/clone.h"
#include "lib/deadline.h"

struct script {
    const char *polls[8]; /* taskGet messages in order; the last repeats */
    int start_status;
    const char *found_before; /* --task-find message before any --clone; NULL = unknown option */
    const char *found_after;  /* ... after one */
    int lose_clones;          /* the first N --clone answers are lost (PERR_NETWORK) */
    int clones;
    int finds;
    int gets;
    int cleans;
    char last_clean_id[64];
    char clone_args[256];
};

static int
fake_call(void *impl, const char *const args[], struct wrapper_reply *out, struct perr *err)
{
    struct script *s = impl;
    const char *msg = "";

    out->status = 0;
    if (strcmp(args[0], "--task-find") == 0) {
        s->finds++;
        msg = s->clones > 0 ? s->found_after : s->found_before;
        if (msg == NULL) {
            out->status = 1;
            msg = "Unknown option: --task-find";
        }
    } else if (strcmp(args[0], "--clone") == 0) {
        if (++s->clones <= s->lose_clones)
            return perr_set(err, PERR_NETWORK, "POST 'https://vc/sdk': Empty reply from server");
        snprintf(s->clone_args, sizeof(s->clone_args), "%s %s %s %s %s", args[0], args[1], args[2],
                 args[3], args[4]);
        out->status = s->start_status;
        msg = s->start_status == 0 ? "{\"taskId\": \"t-1\", \"pid\": 42, \"xcopyUsed\": false}"
                                   : "{\"stdErr\": \"Path validation error: bad path\"}";
    } else if (strcmp(args[0], "--task-get") == 0) {
        int i = s->gets < 8 && s->polls[s->gets] != NULL ? s->gets : s->gets - 1;

        while (i > 0 && s->polls[i] == NULL)
            i--;
        msg = s->polls[i];
        s->gets++;
    } else if (strcmp(args[0], "--task-clean") == 0) {
        s->cleans++;
        snprintf(s->last_clean_id, sizeof(s->last_clean_id), "%s", args[2]);
    } else if (strcmp(args[0], "--version") == 0) {
        msg = "{\"version\": \"0.4.0\"}";
    }
    out->message = strdup(msg);
    return 0;
}

struct seen {
    int pct[16];
    int npct;
    int xcopy;
};

static void
on_progress(void *arg, int pct)
{
    struct seen *s = arg;

    if (s->npct < 16)
        s->pct[s->npct++] = pct;
}

static void
on_xcopy(void *arg, int used)
{
    ((struct seen *)arg)->xcopy = used;
}

static void
test_success(void **state)
{
    struct script s = {
        .polls = {
            "{\"taskId\":\"t-1\",\"pid\":42,\"exitCode\":\"\",\"lastLine\":\"Clone: "
            "10% done.\",\"xcopyUsed\":null,\"stdErr\":\"\"}",
            "{\"taskId\":\"t-1\",\"pid\":42,\"exitCode\":\"\",\"lastLine\":\"Clone: "
            "55% done.\",\"xcopyUsed\":true,\"stdErr\":\"\"}",
            "{\"taskId\":\"t-1\",\"pid\":42,\"exitCode\":\"0\",\"lastLine\":\"Clone: "
            "100% done.\",\"xcopyUsed\":true,\"stdErr\":\"\"}",
        }};
    struct wrapper_carrier c = {"test", fake_call, &s};
    struct seen seen = {.xcopy = -1};
    struct clone_callbacks cb = {on_progress, on_xcopy, &seen};
    struct clone_result res;
    struct perr err = {0};

    (void)state;
    assert_int_equal(clone_run(&c, "/vmfs/volumes/ds 1/vm/d.vmdk", "/vmfs/devices/disks/naa.1",
                               60000, &cb, &res, &err),
                     0);
    assert_string_equal(s.clone_args,
                        "--clone -s /vmfs/volumes/ds 1/vm/d.vmdk -t /vmfs/devices/disks/naa.1");
    assert_int_equal(s.gets, 3); /* completion seen on the first poll with an exit code */
    assert_int_equal(seen.npct, 3);
    assert_int_equal(seen.pct[0], 10);
    assert_int_equal(seen.pct[1], 55);
    assert_int_equal(seen.pct[2], 100);
    assert_int_equal(seen.xcopy, 1);
    assert_int_equal(res.xcopy_used, 1);
    assert_int_equal(s.cleans, 1);
    assert_string_equal(s.last_clean_id, "t-1");
    assert_false(res.cleanup_failed);
}

static void
test_failure_reports_stderr_and_cleans(void **state)
{
    struct script s = {.polls = {
                           "{\"taskId\":\"t-1\",\"exitCode\":\"\",\"lastLine\":\"Clone: 30% "
                           "done.\"}",
                           "{\"taskId\":\"t-1\",\"exitCode\":\"1\",\"lastLine\":\"Clone: 30% "
                           "done.\",\"stdErr\":\"Failed to clone disk: I/O error <dev> & more\"}",
                       }};
    struct wrapper_carrier c = {"test", fake_call, &s};
    struct clone_result res;
    struct perr err = {0};

    (void)state;
    assert_int_equal(clone_run(&c, "/s.vmdk", "/d", 60000, NULL, &res, &err), -1);
    assert_int_equal(err.code, PERR_REMOTE);
    assert_string_equal(err.msg, "clone task failed with exit code 1: Failed to clone disk: I/O "
                                 "error <dev> & more");
    assert_int_equal(s.cleans, 1);
}

static void
test_start_failure_no_clean(void **state)
{
    struct script s = {.start_status = 1};
    struct wrapper_carrier c = {"ssh", fake_call, &s};
    struct clone_result res;
    struct perr err = {0};

    (void)state;
    assert_int_equal(clone_run(&c, "/s.vmdk", "/d", 60000, NULL, &res, &err), -1);
    assert_non_null(strstr(err.msg, "failed to start clone task over ssh: wrapper --clone failed "
                                    "with status 1: Path validation error: bad path"));
    assert_int_equal(s.cleans, 0);
    assert_int_equal(s.gets, 0);
}

static void
test_cancel_cleans(void **state)
{
    struct script s = {.polls = {"{\"taskId\":\"t-1\",\"exitCode\":\"\",\"lastLine\":\"Clone: 5% "
                                 "done.\"}"}};
    struct wrapper_carrier c = {"vib", fake_call, &s};
    struct clone_result res;
    struct perr err = {0};

    (void)state;
    cancel_request();
    assert_int_equal(clone_run(&c, "/s.vmdk", "/d", 60000, NULL, &res, &err), -1);
    cancel_reset();
    assert_int_equal(err.code, PERR_CANCELLED);
    assert_int_equal(s.cleans, 1); /* the clean also stops the running vmkfstools */
}

static void
test_stall_limit(void **state)
{
    struct script s = {.polls = {"{\"taskId\":\"t-1\",\"exitCode\":\"\",\"lastLine\":\"Clone: 5% "
                                 "done.\"}"}};
    struct wrapper_carrier c = {"vib", fake_call, &s};
    struct clone_result res;
    struct perr err = {0};

    (void)state;
    assert_int_equal(clone_run(&c, "/s.vmdk", "/d", 300, NULL, &res, &err), -1);
    assert_int_equal(err.code, PERR_TIMEOUT);
    assert_non_null(strstr(err.msg, "made no progress"));
    assert_int_equal(s.cleans, 1);
}

static void
test_parse_helpers(void **state)
{
    struct clone_task t = {0};
    struct perr err = {0};
    struct script s = {0};
    struct wrapper_carrier c = {"vib", fake_call, &s};
    char *v = NULL;

    (void)state;
    assert_int_equal(clone_percent("Clone: 15% done."), 15);
    assert_int_equal(clone_percent("Clone: 100% done."), 100);
    assert_int_equal(clone_percent("no number"), -1);
    assert_int_equal(clone_percent("3 files 42% done"), 42);
    assert_int_equal(clone_percent(NULL), -1);
    assert_int_equal(clone_task_parse("not json at all", &t, &err), 0);
    assert_string_equal(t.last_line, "not json at all");
    assert_int_equal(t.xcopy_used, -1);
    assert_int_equal(clone_task_parse("{\"exitCode\": 3, \"xcopyUsed\": false}", &t, &err), 0);
    assert_string_equal(t.exit_code, "3");
    assert_int_equal(t.xcopy_used, 0);
    clone_task_clear(&t);
    assert_int_equal(clone_wrapper_version(&c, &v, &err), 0);
    assert_string_equal(v, "0.4.0");
    free(v);
}

#define DONE_T1 "{\"taskId\":\"t-1\",\"exitCode\":\"0\",\"lastLine\":\"Clone: 100% done.\"}"

static void
test_reattach_to_earlier_clone(void **state)
{
    struct script s = {
        .found_before = "{\"tasks\": [{\"taskId\": \"t-old\", \"running\": true, "
                        "\"sameSource\": true, \"exitCode\": \"\"}]}",
        .polls = {"{\"taskId\":\"t-old\",\"exitCode\":\"\",\"lastLine\":\"Clone: 70% done.\"}",
                  "{\"taskId\":\"t-old\",\"exitCode\":\"0\",\"lastLine\":\"Clone: 100% "
                  "done.\"}"}};
    struct wrapper_carrier c = {"test", fake_call, &s};
    struct seen seen = {.xcopy = -1};
    struct clone_callbacks cb = {on_progress, NULL, &seen};
    struct clone_result res;
    struct perr err = {0};

    (void)state;
    assert_int_equal(clone_run(&c, "/s.vmdk", "/d", 60000, &cb, &res, &err), 0);
    assert_int_equal(s.clones, 0);
    assert_true(res.reattached);
    assert_int_equal(seen.npct, 2);
    assert_int_equal(seen.pct[1], 100);
    assert_int_equal(s.cleans, 1);
    assert_string_equal(s.last_clean_id, "t-old");
}

static void
test_earlier_tasks_removed_first(void **state)
{
    struct script s = {.found_before =
                           "{\"tasks\": [{\"taskId\": \"t-x\", \"running\": true, "
                           "\"sameSource\": false, \"exitCode\": \"\"}, {\"taskId\": \"t-y\", "
                           "\"running\": false, \"sameSource\": true, \"exitCode\": \"0\"}]}",
                       .polls = {DONE_T1}};
    struct wrapper_carrier c = {"test", fake_call, &s};
    struct clone_result res;
    struct perr err = {0};

    (void)state;
    assert_int_equal(clone_run(&c, "/s.vmdk", "/d", 60000, NULL, &res, &err), 0);
    assert_false(res.reattached);
    assert_int_equal(s.clones, 1);
    assert_int_equal(s.cleans, 3); /* t-x, t-y, then our own t-1 */
    assert_string_equal(s.last_clean_id, "t-1");
}

static void
test_lost_answer_clone_had_started(void **state)
{
    struct script s = {.found_before = "{\"tasks\": []}",
                       .found_after = "{\"tasks\": [{\"taskId\": \"t-1\", \"running\": true, "
                                      "\"sameSource\": true, \"exitCode\": \"\"}]}",
                       .lose_clones = 1,
                       .polls = {DONE_T1}};
    struct wrapper_carrier c = {"test", fake_call, &s};
    struct clone_result res;
    struct perr err = {0};

    (void)state;
    assert_int_equal(clone_run(&c, "/s.vmdk", "/d", 60000, NULL, &res, &err), 0);
    assert_int_equal(s.clones, 1); /* never sent again */
    assert_int_equal(s.finds, 2);
    assert_int_equal(s.cleans, 1);
    assert_string_equal(s.last_clean_id, "t-1");
}

static void
test_lost_answer_nothing_started(void **state)
{
    struct script s = {.found_before = "{\"tasks\": []}",
                       .found_after = "{\"tasks\": []}",
                       .lose_clones = 1,
                       .polls = {DONE_T1}};
    struct wrapper_carrier c = {"test", fake_call, &s};
    struct clone_result res;
    struct perr err = {0};

    (void)state;
    assert_int_equal(clone_run(&c, "/s.vmdk", "/d", 60000, NULL, &res, &err), 0);
    assert_int_equal(s.clones, 2); /* sent again only once the host said no task exists */
    assert_int_equal(s.cleans, 1);
}

static void
test_lost_answer_state_unknown(void **state)
{
    struct script s = {.found_before = "{\"tasks\": []}", .lose_clones = 1};
    struct wrapper_carrier c = {"vib", fake_call, &s};
    struct clone_result res;
    struct perr err = {0};

    (void)state;
    assert_int_equal(clone_run(&c, "/s.vmdk", "/d", 60000, NULL, &res, &err), -1);
    assert_int_equal(s.clones, 1);
    assert_int_equal(s.cleans, 0);
    assert_string_equal(err.msg, "failed to start clone task over vib: POST 'https://vc/sdk': "
                                 "Empty reply from server; and the host could not say whether it "
                                 "started: wrapper --task-find failed with status 1: Unknown "
                                 "option: --task-find");
}

static void
test_found_parse(void **state)
{
    struct clone_found f = {0};
    struct perr err = {0};

    (void)state;
    assert_int_equal(clone_found_parse("{\"tasks\": [{\"taskId\": \"a\", \"running\": true, "
                                       "\"sameSource\": null}, {\"pid\": 3}, {\"taskId\": "
                                       "\"b\", \"running\": false, \"sameSource\": false, "
                                       "\"exitCode\": \"143\"}]}",
                                       &f, &err),
                     0);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.tasks[0].task_id, "a");
    assert_true(f.tasks[0].running);
    assert_int_equal(f.tasks[0].same_source, -1);
    assert_string_equal(f.tasks[1].exit_code, "143");
    assert_int_equal(f.tasks[1].same_source, 0);
    clone_found_clear(&f);
    assert_int_equal(clone_found_parse("{\"version\": \"0.5.0\"}", &f, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_int_equal(f.n, 0);
}

/* The next poll is timed for the copy's predicted end, and only then. */
static void
test_next_poll(void **state)
{
    (void)state;
    /* 50 % in 1000 ms: 1000 ms more, longer than the interval. */
    assert_int_equal(clone_next_poll_ms(100, true, 0, 0, 50, 1000), 100);
    /* 95 % in 1000 ms from 0: about 52 ms left. */
    assert_int_equal(clone_next_poll_ms(100, true, 0, 0, 95, 1000), 52);
    /* From a baseline of 20 % at 200 ms: 75 points in 800 ms, 5 left = 53 ms. */
    assert_int_equal(clone_next_poll_ms(100, true, 20, 200, 95, 1000), 53);
    /* Never under 20 ms. */
    assert_int_equal(clone_next_poll_ms(100, true, 0, 0, 99, 1000), 20);
    /* No new figure: the interval, however close the copy looked. */
    assert_int_equal(clone_next_poll_ms(150, false, 0, 0, 99, 1000), 150);
    /* Nothing to take a rate from. */
    assert_int_equal(clone_next_poll_ms(100, true, -1, 0, 99, 1000), 100);
    assert_int_equal(clone_next_poll_ms(100, true, 50, 500, 50, 1000), 100);
    assert_int_equal(clone_next_poll_ms(100, true, 0, 1000, 10, 1000), 100);
    /* 100 %: a fifth of the interval, at least 20 ms, growing with it. */
    assert_int_equal(clone_next_poll_ms(100, true, 0, 0, 100, 1000), 20);
    assert_int_equal(clone_next_poll_ms(2000, false, 0, 0, 100, 9000), 400);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success),
        cmocka_unit_test(test_failure_reports_stderr_and_cleans),
        cmocka_unit_test(test_start_failure_no_clean),
        cmocka_unit_test(test_cancel_cleans),
        cmocka_unit_test(test_stall_limit),
        cmocka_unit_test(test_parse_helpers),
        cmocka_unit_test(test_reattach_to_earlier_clone),
        cmocka_unit_test(test_earlier_tasks_removed_first),
        cmocka_unit_test(test_lost_answer_clone_had_started),
        cmocka_unit_test(test_lost_answer_nothing_started),
        cmocka_unit_test(test_lost_answer_state_unknown),
        cmocka_unit_test(test_found_parse),
        cmocka_unit_test(test_next_poll),
    };

    return cmocka_run_group_tests_name("clone", tests, NULL, NULL);
}
