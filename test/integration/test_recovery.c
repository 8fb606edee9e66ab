/*
 * Recovery on the host side, through the real binary against the simulated
 * world: a vSphere read that meets a 503 and a dropped connection, a clone
 * start whose answer is lost after the host acted, and a rerun after a run
 * was killed with SIGKILL (the clone still running: re-attach; the clone
 * already ended: clean and copy again), with both clone methods.
 *
 * Every case checks the exit status, what the fake vmkfstools logged (how
 * many clones started and ended), the bytes on the target volume, and that
 * nothing of ours is left: no mapping, no device, no task directory, no RDM
 * descriptor, no vmkfstools process of this world.
 */
#include <curl/curl.h>
#include <dirent.h>
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
#include <jansson.h>

#include "lib/buf.h"
#include "lib/deadline.h"
#include "test/fake/popcmd.h"
#include "test/fake/proc.h"
#include "test/fake/world.h"

static struct world w;

/* Generous: the machine is shared; nothing here measures time. */
#define WAIT_MS 180000

/* A complete manual-mode ONTAP run with the given clone method ("vib" or "ssh"). */
static void
cmd_default(struct cmd *c, const char *method)
{
    cmd_manual_start(c, &w, "6f1c2a9e-0b7d-4d1e-9a55-2c3b4d5e6f70");
    cmd_ontap_target(c, &w);
    cmd_vcenter_env(c, &w);
    if (strcmp(method, "ssh") == 0) {
        cmd_arg(c, "--esxi-ssh-known-hosts=%s", world_get(&w, "WORLD_SSH_KNOWN_HOSTS"));
        cmd_env(c, "ESXI_CLONE_METHOD", "ssh");
        cmd_env(c, "ESXI_SSH_PORT", world_get(&w, "ESXI_SSH_PORT"));
        cmd_env(c, "SSH_PRIVATE_KEY", world_get(&w, "SSH_PRIVATE_KEY"));
        cmd_env(c, "SSH_PUBLIC_KEY", world_get(&w, "SSH_PUBLIC_KEY"));
    }
}

/* Runs a check in the world's shell; fails the test, showing what, when it does not hold. */
static void
expect_sh(const char *what, const char *line)
{
    if (world_sh(&w, "%s", line) != 0)
        fail_msg("%s: does not hold: %s", what, line);
}

/* How many lines of the fake vmkfstools' log begin with word ("start", "end", "fail"). */
static int
clone_events(const char *word)
{
    char path[1024];
    char line[512];
    FILE *f;
    int n = 0;

    snprintf(path, sizeof(path), "%s/tmp/fake-vmkfstools.log", world_get(&w, "WORLD_ROOT"));
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL)
        n += strncmp(line, word, strlen(word)) == 0 && line[strlen(word)] == ' ';
    fclose(f);
    return n;
}

/* Nothing of ours left anywhere in the world, and no clone of this world running. */
static void
expect_clean(void)
{
    expect_sh("no fabric entry", "! ls \"$WORLD_FABRIC/luns\" 2>/dev/null | grep -q naa.");
    expect_sh("no task directory", "! ls \"$WORLD_ROOT/tmp\" | grep -q vmkfstools-wrapper-");
    expect_sh("no RDM descriptor",
              "! ls \"$(dirname \"$WORLD_VC_VM_FLAT\")\" | grep -q -e -rdmdisk- -e -rdmp");
    expect_sh("no device on the host", "! ls \"$WORLD_ROOT/vmfs/devices/disks\" | grep -q naa.");
    expect_sh("no mapping on the array", "python3 -c 'import json,sys; "
                                         "sys.exit(len(json.load(open(sys.argv[1]))"
                                         "[\"lun_maps\"]) != 0)' \"$WORLD_ONTAP_STATE\"");
    /* Only this world's clones count: processes whose root is its chroot. */
    expect_sh("no vmkfstools running",
              "r=$(readlink -f \"$WORLD_ROOT\"); for i in $(seq 300); do n=0; for p in "
              "/proc/[0-9]*; do [ \"$(readlink $p/root 2>/dev/null)\" = \"$r\" ] && tr '\\0' "
              "' ' < $p/cmdline 2>/dev/null | grep -q 'vmkfstool[s] -i' && n=1; done; "
              "[ $n = 0 ] && exit 0; sleep 0.1; done; exit 1");
}

static void
expect_copied(void)
{
    expect_sh("the target holds the disk's bytes",
              "f=$(ls \"$WORLD_ROOT/arrays/ontap/\"* | grep -v -e rdm -e vvol | head -n 1) && "
              "cmp -n $(stat -c %s \"$WORLD_VC_VM_FLAT\") \"$WORLD_VC_VM_FLAT\" \"$f\"");
}

static void
reset_world(void)
{
    assert_int_equal(world_sh(&w, ": > \"$WORLD_FAULTS\"; : > \"$WORLD_ONTAP_FAULTS\"; rm -f "
                                  "\"$WORLD_ROOT/etc/fake-vmkfstools.conf\" "
                                  "\"$WORLD_ROOT/tmp/fake-vmkfstools.log\" "
                                  "\"$WORLD_ROOT/tmp/hold-clone\"; f=$(ls "
                                  "\"$WORLD_ROOT\"/arrays/ontap/vol_trident* | head -n 1); "
                                  "dd if=/dev/zero of=\"$f\" bs=1M count=8 conv=notrunc "
                                  "status=none"),
                     0);
}

static bool
file_has(const char *path, const char *needle)
{
    char line[8192];
    FILE *f = fopen(path, "r");
    bool found = false;

    while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL)
        found = strstr(line, needle) != NULL;
    if (f != NULL)
        fclose(f);
    return found;
}

/* Waits (bounded, never timed) until the log has needle; false if pid ended first. */
static bool
wait_for_line(const char *log, const char *needle, pid_t pid)
{
    struct deadline d = deadline_in_ms(WAIT_MS);

    while (!deadline_expired(&d)) {
        if (file_has(log, needle))
            return true;
        if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
            return file_has(log, needle);
        usleep(20000);
    }
    return false;
}

static void
test_vsphere_read_retried(void **state)
{
    struct cmd c;
    struct outcome o;

    (void)state;
    reset_world();
    /* The first property read meets a 503, the next one a dropped connection. */
    assert_int_equal(world_sh(&w, "printf '%%s\\n' 'RetrievePropertiesEx http 503 once' "
                                  "'RetrievePropertiesEx drop once' > \"$WORLD_FAULTS\"; "
                                  ": > \"$WORLD_CALLS\""),
                     0);
    cmd_default(&c, "vib");
    run_cmd(&c, &o);
    outcome_expect(&o, 0, "copy complete");
    /* The retry is in the call log: the same read again after the injected failures. */
    assert_int_equal(world_count_calls(&w, "\"call\":\"RetrievePropertiesEx\"",
                                       "RetrievePropertiesEx http 503 once", NULL),
                     1);
    assert_int_equal(
        world_count_calls(&w, "\"call\":\"RetrievePropertiesEx\"", "\"dropped\"", NULL), 1);
    expect_sh("the read that failed is sent again and answered",
              "awk '/\"call\":\"RetrievePropertiesEx\"/ { n++; if (n == 3) print }' "
              "\"$WORLD_CALLS\" | grep -q '\"http\":200'");
    assert_non_null(strstr(buf_cstr(&o.err), "vSphere call failed, trying again"));
    expect_copied();
    expect_clean();
    outcome_free(&o);
    cmd_free(&c);
    reset_world();
}

static void
test_clone_answer_lost(void **state)
{
    struct cmd c;
    struct outcome o;

    (void)state;
    reset_world();
    /* The host starts the clone, and the answer never comes back. */
    assert_int_equal(world_sh(&w, "echo 'vim.EsxCLI.vmkfstools.clone drop-after once' > "
                                  "\"$WORLD_FAULTS\"; : > \"$WORLD_CALLS\""),
                     0);
    cmd_default(&c, "vib");
    run_cmd(&c, &o);
    outcome_expect(&o, 0, "copy complete");
    /* Sent once, never replayed; the state was read back instead. */
    assert_int_equal(world_count_calls(&w, "\"method\":\"vim.EsxCLI.vmkfstools.clone\"", NULL), 1);
    assert_int_equal(
        world_count_calls(&w, "\"method\":\"vim.EsxCLI.vmkfstools.clone\"", "reply dropped", NULL),
        1);
    assert_true(world_count_calls(&w, "\"method\":\"vim.EsxCLI.vmkfstools.taskFind\"", NULL) >= 2);
    assert_non_null(strstr(buf_cstr(&o.err), "the clone had started; following it"));
    /* Exactly one clone ran on the host, and it completed once. */
    assert_int_equal(clone_events("start"), 1);
    assert_int_equal(clone_events("end"), 1);
    expect_copied();
    expect_clean();
    outcome_free(&o);
    cmd_free(&c);
    reset_world();
}

/* Runs the populator until its clone runs on the host, then SIGKILLs it. */
static void
kill_during_clone(const char *method, const char *log)
{
    struct cmd c;
    pid_t pid;
    int ws = 0;

    cmd_default(&c, method);
    pid = spawn_logged(&c, log);
    if (!wait_for_line(log, "clone started", pid)) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        world_sh(&w, "cat %s >&2", log);
        fail_msg("the first run never started its clone");
    }
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFSIGNALED(ws));
    cmd_free(&c);
    /* What it left: its task directory on the host. */
    expect_sh("the killed run left its task",
              "ls \"$WORLD_ROOT/tmp\" | grep -q vmkfstools-wrapper-");
}

static void
rerun_reattaches(const char *method)
{
    char log1[512];
    char log2[512];
    struct cmd c;
    pid_t pid;
    int ws = 0;

    reset_world();
    snprintf(log1, sizeof(log1), "%s/recover-1.log", world_get(&w, "WORLD_DIR"));
    snprintf(log2, sizeof(log2), "%s/recover-2.log", world_get(&w, "WORLD_DIR"));
    /* The clone is held mid-way until the rerun has re-attached: nothing depends on timing. */
    expect_sh("hold the clone", "touch \"$WORLD_ROOT/tmp/hold-clone\" && echo "
                                "FAKE_VMKFSTOOLS_HOLD=/tmp/hold-clone > "
                                "\"$WORLD_ROOT/etc/fake-vmkfstools.conf\"");
    kill_during_clone(method, log1);
    cmd_default(&c, method);
    pid = spawn_logged(&c, log2);
    if (!wait_for_line(log2, "re-attaching to the clone of an earlier run", pid)) {
        /* Stop the rerun first: left running, it would cut into the next case. */
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        world_sh(&w, "rm -f \"$WORLD_ROOT/tmp/hold-clone\"; cat %s >&2", log2);
        fail_msg("%s: the rerun did not re-attach", method);
    }
    expect_sh("let the clone go", "rm -f \"$WORLD_ROOT/tmp/hold-clone\"");
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
        world_sh(&w, "cat %s >&2", log2);
        fail_msg("%s: rerun exit status %d", method, WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
    }
    assert_true(file_has(log2, "copy complete"));
    assert_false(file_has(log2, "clone started"));
    /* Followed with progress to the end. */
    assert_true(file_has(log2, "\"percent\":\"100\"") || file_has(log2, "percent=100"));
    /* One clone, started once, finished once. */
    assert_int_equal(clone_events("start"), 1);
    assert_int_equal(clone_events("end"), 1);
    expect_copied();
    expect_clean();
    unlink(log1);
    unlink(log2);
    cmd_free(&c);
    reset_world();
}

static void
rerun_after_task_ended(const char *method)
{
    char log1[512];
    struct cmd c;
    struct outcome o;
    struct deadline d = deadline_in_ms(WAIT_MS);

    reset_world();
    snprintf(log1, sizeof(log1), "%s/recover-1.log", world_get(&w, "WORLD_DIR"));
    expect_sh("slow the clone a little",
              "echo FAKE_VMKFSTOOLS_DELAY_MS=100 > \"$WORLD_ROOT/etc/fake-vmkfstools.conf\"");
    kill_during_clone(method, log1);
    /* The orphaned clone runs to its end on the host. */
    while (clone_events("end") == 0 && !deadline_expired(&d))
        usleep(50000);
    assert_int_equal(clone_events("end"), 1);
    expect_sh("its descriptor is still there",
              "ls \"$(dirname \"$WORLD_VC_VM_FLAT\")\" | grep -q -e -rdmdisk-");
    cmd_default(&c, method);
    run_cmd(&c, &o);
    outcome_expect(&o, 0, "copy complete");
    assert_non_null(strstr(buf_cstr(&o.err), "removing a clone task an earlier run left"));
    assert_non_null(strstr(buf_cstr(&o.err), "clone started"));
    /* The ended task was cleaned, and a fresh clone copied. */
    assert_int_equal(clone_events("start"), 2);
    assert_int_equal(clone_events("end"), 2);
    expect_copied();
    expect_clean();
    outcome_free(&o);
    cmd_free(&c);
    unlink(log1);
    reset_world();
}

static void
test_rerun_reattaches_vib(void **state)
{
    (void)state;
    rerun_reattaches("vib");
}

static void
test_rerun_reattaches_ssh(void **state)
{
    (void)state;
    rerun_reattaches("ssh");
}

static void
test_rerun_after_task_ended_vib(void **state)
{
    (void)state;
    rerun_after_task_ended("vib");
}

static void
test_rerun_after_task_ended_ssh(void **state)
{
    (void)state;
    rerun_after_task_ended("ssh");
}

static int
setup(void **state)
{
    (void)state;
    if (world_start_chroot(&w, NULL) < 0)
        return -1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    world_stop(&w);
    curl_global_cleanup();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vsphere_read_retried),
        cmocka_unit_test(test_clone_answer_lost),
        cmocka_unit_test(test_rerun_reattaches_vib),
        cmocka_unit_test(test_rerun_reattaches_ssh),
        cmocka_unit_test(test_rerun_after_task_ended_vib),
        cmocka_unit_test(test_rerun_after_task_ended_ssh),
    };

    return cmocka_run_group_tests_name("host-side recovery", tests, setup, teardown);
}
