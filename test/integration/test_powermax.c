/*
 * PowerMax through the real binary against the simulated world: a failure
 * injected at map and at unmap (exit status, message, what is left on the
 * array), and a run killed right after it created its storage group, whose
 * rerun adopts the storage group, copies and removes everything.  The runs
 * are test/sim/populate's, built from the fake's exported facts.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/deadline.h"
#include "test/fake/proc.h"
#include "test/fake/world.h"

static struct world w;

/* One populate; its result on DIR/pm.out, its log on DIR/pm.log. */
static int
populate(void)
{
    return world_sh(&w,
                    "POP_BIN='%s' test/sim/populate '%s' powermax vib >'%s/pm.out' "
                    "2>'%s/pm.log'",
                    proc_pop_bin(), w.dir, w.dir, w.dir);
}

/* A python expression over the fake's state file d is true. */
static int
state_is(const char *expr)
{
    return world_sh(&w,
                    "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
                    "sys.exit(0 if (%s) else 1)' \"$WORLD_POWERMAX_STATE\"",
                    expr);
}

static void
expect_clean(void)
{
    if (state_is(
            "not d[\"storage_groups\"] and not d[\"masking_views\"] and not d[\"iterators\"]") !=
        0) {
        world_sh(&w, "cat \"$WORLD_POWERMAX_STATE\" >&2; tail -3 '%s/pm.log' >&2", w.dir);
        fail_msg("storage groups, masking views or iterators left on the array");
    }
    assert_int_equal(world_sh(&w, "! ls \"$WORLD_FABRIC\"/luns/naa.* 2>/dev/null | grep -q ."), 0);
}

static void
expect_copied(void)
{
    assert_int_equal(world_sh(&w,
                              "f=$(POP_BIN='%s' test/sim/populate '%s' powermax file) && "
                              "cmp -n $(stat -c %%s \"$WORLD_VC_VM_FLAT\") "
                              "\"$WORLD_VC_VM_FLAT\" \"$f\"",
                              proc_pop_bin(), w.dir),
                     0);
}

static void
set_fault(const char *line)
{
    assert_int_equal(world_sh(&w, "echo '%s' > \"$WORLD_POWERMAX_FAULTS\"", line), 0);
}

static void
test_fault_at_map(void **state)
{
    (void)state;
    /* A 400 is not retried: the run fails at once and its cleanup removes
     * the storage group it had made. */
    set_fault("mv_create http 400 {\"message\":\"Port group has no online ports\","
              "\"httpStatusCode\":400,\"errorCode\":400}");
    assert_int_equal(populate(), 1);
    assert_int_equal(world_sh(&w, "grep -q 'Port group has no online ports' '%s/pm.log'", w.dir),
                     0);
    expect_clean();
    set_fault("");
}

static void
test_fault_at_unmap(void **state)
{
    (void)state;
    set_fault("mv_delete http 400 {\"message\":\"Masking view is locked\","
              "\"httpStatusCode\":400,\"errorCode\":400}");
    /* Copied, but the mapping could not be undone: status 0, and the view
     * and its storage group are still there. */
    assert_int_equal(populate(), 0);
    assert_int_equal(world_sh(&w, "grep -q 'Masking view is locked' '%s/pm.log'", w.dir), 0);
    expect_copied();
    assert_int_equal(state_is("len(d[\"masking_views\"]) == 1 and len(d[\"storage_groups\"]) == 1"),
                     0);
    /* The next run adopts both and removes them. */
    set_fault("");
    assert_int_equal(populate(), 0);
    expect_copied();
    expect_clean();
}

static void
test_killed_then_adopted(void **state)
{
    char log[1024];
    const char *argv[] = {"/bin/bash", "test/sim/populate", w.dir, "powermax", "vib", NULL};
    char *envp[4] = {NULL};
    posix_spawn_file_actions_t fa;
    struct deadline d = deadline_in_ms(60000);
    pid_t pid;
    int ws = 0;
    bool made = false;

    (void)state;
    assert_int_equal(world_sh(&w,
                              "dd if=/dev/zero of=\"$(test/sim/populate '%s' powermax file)\" "
                              "bs=1M count=1 conv=notrunc status=none",
                              w.dir),
                     0);
    /* The step after the storage group's creation hangs; the run is killed
     * there, as a node failure would. */
    set_fault("sg_edit slow 120000 once");
    snprintf(log, sizeof(log), "%s/pm.log", w.dir);
    assert_true(asprintf(&envp[0], "POP_BIN=%s", proc_pop_bin()) > 0);
    assert_true(asprintf(&envp[1], "PATH=%s", "/usr/bin:/bin") > 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)(uintptr_t)argv, envp),
                     0);
    posix_spawn_file_actions_destroy(&fa);
    while (!made && !deadline_expired(&d)) {
        made = state_is("len(d[\"storage_groups\"]) == 1") == 0;
        if (!made)
            usleep(50000);
    }
    assert_true(made);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFSIGNALED(ws));
    /* Left behind: the empty storage group, no masking view. */
    assert_int_equal(state_is("d[\"storage_groups\"][0][\"id\"].startswith(\"xcopy-\") and "
                              "d[\"storage_groups\"][0][\"id\"].endswith(\"-SG\") and "
                              "not d[\"masking_views\"]"),
                     0);
    /* The rerun finds it by name, copies, and removes it. */
    set_fault("");
    assert_int_equal(world_sh(&w, ": > \"$WORLD_POWERMAX_CALLS\""), 0);
    assert_int_equal(populate(), 0);
    assert_int_equal(world_sh(&w, "grep -q '\"op\": \"sg_get\".*\"status\": 200' "
                                  "\"$WORLD_POWERMAX_CALLS\" && "
                                  "! grep -q '\"op\": \"sg_create\"' \"$WORLD_POWERMAX_CALLS\" && "
                                  "grep -q '\"op\": \"sg_delete\".*\"status\": 204' "
                                  "\"$WORLD_POWERMAX_CALLS\""),
                     0);
    expect_copied();
    expect_clean();
    free(envp[0]);
    free(envp[1]);
}

static int
setup(void **state)
{
    (void)state;
    return world_start_chroot(&w, NULL);
}

static int
teardown(void **state)
{
    (void)state;
    world_stop(&w);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_at_map),
        cmocka_unit_test(test_fault_at_unmap),
        cmocka_unit_test(test_killed_then_adopted),
    };

    return cmocka_run_group_tests_name("powermax through the binary", tests, setup, teardown);
}
