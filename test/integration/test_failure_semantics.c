/*
 * What the command does when things go wrong, through the real binary
 * against the simulated world: the exit status (design.md §5), the message,
 * the --output=json result, the termination message, what the simulators
 * received and what is left on the array and the host afterwards.
 *
 * - a copy that worked while cleanup could not undo everything: exit 0;
 * - a map whose answer came too late: undone anyway;
 * - SIGTERM while the array login waits: no vCenter login, nothing mapped;
 * - SIGTERM during the clone with a 503 on the unmap: cleanup retries;
 *   a second signal cuts the cleanup and says so (exit 3);
 * - SIGHUP and SIGQUIT handled like SIGTERM;
 * - configuration errors found before anything is contacted: exit 2.
 */
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

/* A complete manual-mode copy from the world's VM to its ONTAP LUN. */
static void
cmd_default(struct cmd *c)
{
    cmd_manual_start(c, &w, "6f1c2a9e-0b7d-4d1e-9a55-2c3b4d5e6f70");
    cmd_ontap_target(c, &w);
    cmd_vcenter_env(c, &w);
}

static void
expect(const struct outcome *o, const char *what, int status, const char *msg)
{
    if (o->status != status || (msg != NULL && strstr(buf_cstr(&o->err), msg) == NULL))
        fail_msg("%s: exit %d (want %d), stderr:\n%s\nwant message: %s", what, o->status, status,
                 buf_cstr(&o->err), msg != NULL ? msg : "-");
}

static const char *
result_str(const struct outcome *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o->result, key));

    if (v == NULL)
        fail_msg("no string '%s' in the JSON result: %s", key, buf_cstr(&o->out));
    return v;
}

static size_t
left_behind(const struct outcome *o)
{
    json_t *l = json_object_get(o->result, "left_behind");

    assert_true(json_is_array(l));
    return json_array_size(l);
}

static const char *
left_item(const struct outcome *o, size_t i)
{
    return json_string_value(json_array_get(json_object_get(o->result, "left_behind"), i));
}

/* Lines of a file holding every one of the given substrings (NULL-terminated). */
static int
count_lines(const char *path, ...)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    int n = 0;

    if (f == NULL)
        return 0;
    while (getline(&line, &cap, f) >= 0) {
        va_list ap;
        const char *s;
        bool all = true;

        va_start(ap, path);
        while ((s = va_arg(ap, const char *)) != NULL)
            all = all && strstr(line, s) != NULL;
        va_end(ap);
        n += all;
    }
    free(line);
    fclose(f);
    return n;
}

static size_t
ontap_mappings(void)
{
    json_t *state = json_load_file(world_get(&w, "WORLD_ONTAP_STATE"), 0, NULL);
    size_t n;

    assert_non_null(state);
    n = json_array_size(json_object_get(state, "lun_maps"));
    json_decref(state);
    return n;
}

/* No mapping, fabric entry, device, task directory or RDM descriptor left. */
static void
expect_clean(const char *what)
{
    if (ontap_mappings() != 0)
        fail_msg("%s: mappings left on the array", what);
    expect_host_clean(&w);
}

/* No faults, a fast clone, and nothing an earlier case left behind (each
 * case asserts its own cleanliness; this keeps one failure from spreading). */
static void
reset_world(void)
{
    assert_int_equal(world_sh(&w, ": > \"$WORLD_FAULTS\"; : > \"$WORLD_ONTAP_FAULTS\"; rm -f "
                                  "\"$WORLD_ROOT/etc/fake-vmkfstools.conf\""),
                     0);
    if (ontap_mappings() == 0)
        return;
    assert_int_equal(
        world_sh(&w, "a=\"https://$WORLD_ONTAP_DIRECT/api/protocols/san/lun-maps\"; "
                     "c=\"curl -sf --cacert $WORLD_ARRAY_CA -u "
                     "$WORLD_ONTAP_USERNAME:$WORLD_ONTAP_PASSWORD\"; "
                     "$c \"$a?fields=lun.uuid,igroup.uuid\" | python3 -c 'import json,sys; "
                     "[print(r[\"lun\"][\"uuid\"], r[\"igroup\"][\"uuid\"]) for r in "
                     "json.load(sys.stdin)[\"records\"]]' | while read l g; do "
                     "$c -X DELETE \"$a/$l/$g\" >/dev/null || exit 1; done"),
        0);
    assert_int_equal(ontap_mappings(), 0);
}

/* A clone of 8 chunks of 1 s each: long enough to be interrupted. */
static void
slow_clone(void)
{
    assert_int_equal(world_sh(&w, "echo FAKE_VMKFSTOOLS_DELAY_MS=1000 > "
                                  "\"$WORLD_ROOT/etc/fake-vmkfstools.conf\""),
                     0);
}

static void
fault(const char *file_key, const char *line)
{
    assert_int_equal(world_sh(&w, "echo '%s' > \"$%s\"", line, file_key), 0);
}

struct spawned {
    pid_t pid;
    char err[512];
    char out[512];
};

static void
spawn(struct cmd *c, struct spawned *s, const char *tag)
{
    posix_spawn_file_actions_t fa;

    snprintf(s->err, sizeof(s->err), "%s/%s.stderr", world_get(&w, "WORLD_DIR"), tag);
    snprintf(s->out, sizeof(s->out), "%s/%s.stdout", world_get(&w, "WORLD_DIR"), tag);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, s->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, s->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_int_equal(
        posix_spawn(&s->pid, c->argv[0], &fa, NULL, (char *const *)(uintptr_t)c->argv, c->envp), 0);
    posix_spawn_file_actions_destroy(&fa);
}

/* Polls until a line of path holds needle (and needle2 when not NULL). */
static void
wait_line(const char *path, const char *needle, const char *needle2, const char *what)
{
    struct deadline d = deadline_in_ms(120000);

    while (!deadline_expired(&d)) {
        if (count_lines(path, needle, needle2, NULL) > 0)
            return;
        usleep(20000);
    }
    fail_msg("%s: no line with '%s' in %s", what, needle, path);
}

/* Waits for the process; its exit status, the JSON result and stderr. */
static void
reap(struct spawned *s, struct outcome *o)
{
    int ws = 0;
    FILE *f;
    char chunk[4096];
    size_t n;
    struct perr err = {0};

    memset(o, 0, sizeof(*o));
    assert_int_equal(waitpid(s->pid, &ws, 0), s->pid);
    o->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    f = fopen(s->err, "r");
    assert_non_null(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(buf_add(&o->err, chunk, n, &err), 0);
    fclose(f);
    o->result = json_load_file(s->out, 0, NULL);
}

/* 1. The copy worked; the unmap was refused: exit 0, result success, the
 * mapping named in a warning, in left_behind and in the termination message. */
static void
test_copied_but_cleanup_incomplete(void **state)
{
    char termlog[512];
    struct cmd c;
    struct outcome o;
    char got[2048] = {0};
    FILE *f;

    (void)state;
    reset_world();
    snprintf(termlog, sizeof(termlog), "%s/termination-log", world_get(&w, "WORLD_DIR"));
    assert_int_equal(world_sh(&w, ": > '%s'", termlog), 0);
    fault("WORLD_ONTAP_FAULTS", "lun_map_delete http 400");
    cmd_default(&c);
    cmd_arg(&c, "--termination-log=%s", termlog);
    run_cmd(&c, &o);
    expect(&o, "unmap refused", 0, "copy complete");
    assert_non_null(o.result);
    assert_string_equal(result_str(&o, "result"), "success");
    assert_int_equal(left_behind(&o), 1);
    assert_non_null(strstr(left_item(&o, 0), "still mapped to initiator group 'xcopy-"));
    assert_non_null(strstr(buf_cstr(&o.err), "warn  [populate] cleanup step failed left=\"LUN "));
    f = fopen(termlog, "r");
    assert_non_null(f);
    assert_non_null(fgets(got, sizeof(got), f));
    fclose(f);
    assert_int_equal(strncmp(got, "copied; left behind: LUN '", 26), 0);
    assert_non_null(strstr(got, left_item(&o, 0)));
    /* The bytes are there: the array holds the disk. */
    assert_int_equal(world_sh(&w, "f=$(ls \"$WORLD_ROOT/arrays/ontap/\"vol_trident* | head -n 1) "
                                  "&& cmp -n $(stat -c %%s \"$WORLD_VC_VM_FLAT\") "
                                  "\"$WORLD_VC_VM_FLAT\" \"$f\""),
                     0);
    assert_int_equal(ontap_mappings(), 1);
    outcome_free(&o);

    /* The same run again, without the fault, takes the mapping away. */
    reset_world();
    run_cmd(&c, &o);
    expect(&o, "rerun", 0, "copy complete");
    outcome_free(&o);
    cmd_free(&c);
    expect_clean("after the rerun");

    /* task-clean refused: the task directory is named as left behind, exit 0. */
    fault("WORLD_FAULTS", "vim.EsxCLI.vmkfstools.taskClean soapfault SystemError hostd busy");
    cmd_default(&c);
    run_cmd(&c, &o);
    expect(&o, "task clean refused", 0, "copy complete");
    assert_string_equal(result_str(&o, "result"), "success");
    assert_int_equal(left_behind(&o), 1);
    assert_non_null(strstr(left_item(&o, 0), "clone task directory and RDM descriptor on host"));
    assert_int_equal(ontap_mappings(), 0);
    outcome_free(&o);
    cmd_free(&c);
    /* What the fault left on the host goes by hand here. */
    assert_int_equal(world_sh(&w, "rm -rf \"$WORLD_ROOT\"/tmp/vmkfstools-wrapper-* && "
                                  "d=$(dirname \"$WORLD_VC_VM_FLAT\") && rm -f \"$d\"/*-rdmdisk-*"),
                     0);
    reset_world();
    expect_clean("after task clean");
}

/* 2. The map was made but its answer came after the client gave up: the
 * run fails (exit 1) and its cleanup unmaps what the array made anyway. */
static void
test_map_answer_too_late(void **state)
{
    struct cmd c;
    struct outcome o;
    const char *calls = world_get(&w, "WORLD_ONTAP_CALLS");
    struct deadline d = deadline_in_ms(120000);
    int deletes;
    int late;

    (void)state;
    reset_world();
    deletes = count_lines(calls, "\"op\": \"lun_map_delete\"", "\"status\": 200", NULL);
    late = count_lines(calls, "\"fault\": \"slow-after\"", NULL);
    fault("WORLD_ONTAP_FAULTS", "lun_map_create slow-after 4000 once");
    cmd_default(&c);
    /* The fake itself: a proxy in front would answer the late reply its own way. */
    cmd_env(&c, "STORAGE_HOSTNAME", world_get(&w, "WORLD_ONTAP_DIRECT"));
    cmd_env(&c, "STORAGE_HTTP_TIMEOUT_SECONDS", "1");
    run_cmd(&c, &o);
    expect(&o, "late map answer", 1, "map: failed to map LUN '");
    assert_string_equal(result_str(&o, "result"), "failure");
    assert_int_equal(left_behind(&o), 0);
    outcome_free(&o);
    cmd_free(&c);
    /* The map happened (the fault acts first) and was undone. */
    assert_true(count_lines(calls, "\"op\": \"lun_map_delete\"", "\"status\": 200", NULL) >
                deletes);
    expect_clean("late map answer");
    /* The late answer is logged when it is sent: wait for it, so that the
     * next case counts requests of its own only. */
    while (count_lines(calls, "\"fault\": \"slow-after\"", NULL) == late && !deadline_expired(&d))
        usleep(20000);
    assert_int_equal(count_lines(calls, "\"fault\": \"slow-after\"", NULL), late + 1);
}

/* 4. SIGTERM while the array login waits on a slow answer: the run stops at
 * the next phase boundary, before vCenter and before any mapping. */
static void
test_sigterm_during_storage_login(void **state)
{
    struct cmd c;
    struct spawned s;
    struct outcome o;
    int logins = count_lines(world_get(&w, "WORLD_CALLS"), "\"call\":\"Login\"", NULL);
    int creates;

    (void)state;
    reset_world();
    creates = count_lines(world_get(&w, "WORLD_ONTAP_CALLS"), "_create\"", NULL);
    fault("WORLD_ONTAP_FAULTS", "* slow 3000 once");
    cmd_default(&c);
    cmd_arg(&c, "--log-level=debug");
    spawn(&c, &s, "sigterm-login");
    wait_line(s.err, "phase name=\"storage login\"", NULL, "storage login");
    assert_int_equal(kill(s.pid, SIGTERM), 0);
    reap(&s, &o);
    expect(&o, "SIGTERM during storage login", 1,
           "storage login: interrupted by a termination signal");
    assert_int_equal(count_lines(world_get(&w, "WORLD_CALLS"), "\"call\":\"Login\"", NULL), logins);
    assert_int_equal(count_lines(world_get(&w, "WORLD_ONTAP_CALLS"), "_create\"", NULL), creates);
    assert_null(strstr(buf_cstr(&o.err), "logged in to vSphere"));
    outcome_free(&o);
    cmd_free(&c);
    expect_clean("SIGTERM during storage login");
}

/* 5. SIGTERM during the clone and one 503 on the unmap: cleanup retries
 * despite the cancellation; the mapping is gone, exit 1 (copy interrupted,
 * cleanup complete). */
static void
test_sigterm_cleanup_retries(void **state)
{
    struct cmd c;
    struct spawned s;
    struct outcome o;
    const char *calls = world_get(&w, "WORLD_ONTAP_CALLS");
    int refused = count_lines(calls, "\"op\": \"lun_map_delete\"", "\"status\": 503", NULL);

    (void)state;
    reset_world();
    slow_clone();
    fault("WORLD_ONTAP_FAULTS", "lun_map_delete http 503 once");
    cmd_default(&c);
    spawn(&c, &s, "sigterm-retry");
    wait_line(s.err, "clone started", NULL, "clone");
    assert_int_equal(kill(s.pid, SIGTERM), 0);
    reap(&s, &o);
    expect(&o, "SIGTERM + 503 on unmap", 1, "clone: ");
    assert_non_null(strstr(buf_cstr(&o.err), "interrupted by a termination signal"));
    assert_string_equal(result_str(&o, "result"), "failure");
    assert_int_equal(left_behind(&o), 0);
    assert_int_equal(count_lines(calls, "\"op\": \"lun_map_delete\"", "\"status\": 503", NULL),
                     refused + 1);
    outcome_free(&o);
    cmd_free(&c);
    reset_world();
    expect_clean("SIGTERM + 503 on unmap");
}

/* 5. A second signal cuts the cleanup: the log says so, the mapping is
 * listed as left behind, exit 3. */
static void
test_second_signal_cuts_cleanup(void **state)
{
    struct cmd c;
    struct spawned s;
    struct outcome o;
    const char *calls = world_get(&w, "WORLD_ONTAP_CALLS");
    int refused = count_lines(calls, "\"op\": \"lun_map_delete\"", "\"status\": 503", NULL);
    struct deadline d = deadline_in_ms(120000);

    (void)state;
    reset_world();
    slow_clone();
    fault("WORLD_ONTAP_FAULTS", "lun_map_delete http 503");
    cmd_default(&c);
    spawn(&c, &s, "second-signal");
    wait_line(s.err, "clone started", NULL, "clone");
    assert_int_equal(kill(s.pid, SIGTERM), 0);
    /* Cleanup is retrying the refused unmap: now the second signal. */
    while (count_lines(calls, "\"op\": \"lun_map_delete\"", "\"status\": 503", NULL) == refused &&
           !deadline_expired(&d))
        usleep(20000);
    assert_int_equal(kill(s.pid, SIGINT), 0);
    reap(&s, &o);
    expect(&o, "second signal", 3, "cleanup cut short by a second termination signal");
    assert_string_equal(result_str(&o, "result"), "failure");
    assert_int_equal(left_behind(&o), 1);
    assert_non_null(strstr(left_item(&o, 0), "still mapped to initiator group 'xcopy-"));
    assert_int_equal(ontap_mappings(), 1);
    outcome_free(&o);
    cmd_free(&c);

    /* A run without the fault maps again (already mapped) and cleans up. */
    reset_world();
    cmd_default(&c);
    run_cmd(&c, &o);
    expect(&o, "rerun", 0, "copy complete");
    outcome_free(&o);
    cmd_free(&c);
    expect_clean("after the rerun");
}

/* 6. A closed terminal (SIGHUP) or SIGQUIT during the clone: the same clean
 * stop as SIGTERM. */
static void
test_sighup_and_sigquit(void **state)
{
    static const int sigs[] = {SIGHUP, SIGQUIT};

    (void)state;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        struct cmd c;
        struct spawned s;
        struct outcome o;
        char what[64];

        snprintf(what, sizeof(what), "signal %d during the clone", sigs[i]);
        reset_world();
        slow_clone();
        cmd_default(&c);
        spawn(&c, &s, "sighup");
        wait_line(s.err, "clone started", NULL, what);
        assert_int_equal(kill(s.pid, sigs[i]), 0);
        reap(&s, &o);
        expect(&o, what, 1, "clone: ");
        assert_non_null(strstr(buf_cstr(&o.err), "interrupted by a termination signal"));
        assert_int_equal(left_behind(&o), 0);
        outcome_free(&o);
        cmd_free(&c);
        reset_world();
        expect_clean(what);
    }
}

struct config_case {
    const char *name;
    const char *flag;  /* "--name" replaced/added with value, or NULL */
    const char *value; /* flag value, or the environment value */
    const char *env;   /* environment variable set to value, or NULL */
    bool ssh;          /* ssh clone method with the world's keys */
    const char *message;
};

/* 7. Errors of the configuration, found before anything is contacted. */
static void
test_configuration_errors_touch_nothing(void **state)
{
    char garbage[512];
    char bad_key[512];
    char *b64 = NULL;
    const struct config_case cases[] = {
        {"storage CA file missing", "--storage-ca-file", "/nonexistent/ca.pem", NULL, false,
         "configuration: --storage-ca-file (STORAGE_CA_FILE): CA file '/nonexistent/ca.pem'"},
        {"storage CA file not PEM", "--storage-ca-file", garbage, NULL, false,
         "holds no certificate"},
        {"vSphere cacert not PEM", NULL, "not a certificate", "cacert", false,
         "configuration: cacert (vSphere secret): CA PEM text holds no certificate"},
        {"kubeconfig missing", "--kubeconfig", "/nonexistent/kubeconfig", NULL, false,
         "configuration: --kubeconfig: "},
        {"kubeconfig not YAML", "--kubeconfig", garbage, NULL, false,
         "configuration: --kubeconfig: "},
        {"master not a URL", "--master", "https://[::1", NULL, false,
         "configuration: --master: 'https://[::1' is not a valid URL"},
        {"storage host port out of range", NULL, "127.0.0.1:99999", "STORAGE_HOSTNAME", false,
         "configuration: STORAGE_HOSTNAME (--storage-hostname): 'https://127.0.0.1:99999' is not "
         "a valid URL"},
        {"vSphere host port out of range", NULL, "127.0.0.1:99999", "GOVMOMI_HOSTNAME", false,
         "configuration: --vsphere-hostname (GOVMOMI_HOSTNAME): "},
        {"metrics address", "--metrics-listen", "no-port-here", NULL, false,
         "--metrics-listen (METRICS_LISTEN): invalid address 'no-port-here'"},
        {"known_hosts missing", "--esxi-ssh-known-hosts", "/nonexistent/known_hosts", NULL, true,
         "configuration: --esxi-ssh-known-hosts (ESXI_SSH_KNOWN_HOSTS): known_hosts file "},
        {"known_hosts garbage", "--esxi-ssh-known-hosts", garbage, NULL, true,
         "line 1 is not 'HOSTS KEYTYPE BASE64-KEY'"},
        {"private key body", NULL, bad_key, "SSH_PRIVATE_KEY", true,
         "configuration: SSH_PRIVATE_KEY: not a usable private key"},
    };
    const char *vc_calls = world_get(&w, "WORLD_CALLS");
    const char *ontap_calls = world_get(&w, "WORLD_ONTAP_CALLS");

    (void)state;
    reset_world();
    snprintf(garbage, sizeof(garbage), "%s/garbage.txt", world_get(&w, "WORLD_DIR"));
    assert_int_equal(world_sh(&w, "printf 'this is: [not {what it should be\\n' > '%s'", garbage),
                     0);
    /* A PEM envelope around a body that is not a key. */
    assert_int_equal(world_sh(&w,
                              "printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\\nAAAAbm90IGEga2V5"
                              "\\n-----END OPENSSH PRIVATE KEY-----\\n' | base64 -w0 > "
                              "\"$WORLD_DIR/bad-key.b64\""),
                     0);
    {
        struct buf b = {0};
        struct perr err = {0};
        char chunk[512];
        size_t n;
        FILE *f;

        snprintf(chunk, sizeof(chunk), "%s/bad-key.b64", world_get(&w, "WORLD_DIR"));
        f = fopen(chunk, "r");
        assert_non_null(f);
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            assert_int_equal(buf_add(&b, chunk, n, &err), 0);
        fclose(f);
        b64 = buf_steal(&b);
        snprintf(bad_key, sizeof(bad_key), "%s", b64);
        free(b64);
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct config_case *k = &cases[i];
        int vc_before = count_lines(vc_calls, "", NULL);
        int ontap_before = count_lines(ontap_calls, "", NULL);
        struct cmd c;
        struct outcome o;

        cmd_default(&c);
        if (k->ssh) {
            cmd_env(&c, "ESXI_CLONE_METHOD", "ssh");
            cmd_env(&c, "ESXI_SSH_PORT", world_get(&w, "ESXI_SSH_PORT"));
            cmd_env(&c, "SSH_PRIVATE_KEY", world_get(&w, "SSH_PRIVATE_KEY"));
            cmd_env(&c, "SSH_PUBLIC_KEY", world_get(&w, "SSH_PUBLIC_KEY"));
        }
        if (k->flag != NULL)
            cmd_set_flag(&c, k->flag, k->value);
        else
            cmd_env(&c, k->env, k->value);
        if (strcmp(k->name, "vSphere cacert not PEM") == 0)
            cmd_env(&c, "GOVMOMI_INSECURE", "false");
        run_cmd(&c, &o);
        expect(&o, k->name, 2, k->message);
        /* An error the flag parser finds comes before any result exists; the
         * checks made after parsing report phase "configuration". */
        if (strncmp(k->message, "configuration: ", 15) == 0) {
            assert_string_equal(result_str(&o, "result"), "failure");
            assert_string_equal(result_str(&o, "phase"), "configuration");
        }
        if (count_lines(vc_calls, "", NULL) != vc_before ||
            count_lines(ontap_calls, "", NULL) != ontap_before)
            fail_msg("%s: the simulators received requests (vCenter %d -> %d, array %d -> %d)",
                     k->name, vc_before, count_lines(vc_calls, "", NULL), ontap_before,
                     count_lines(ontap_calls, "", NULL));
        printf("case '%s': exit 2, nothing contacted\n", k->name);
        outcome_free(&o);
        cmd_free(&c);
    }
    expect_clean("configuration errors");
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
        cmocka_unit_test(test_copied_but_cleanup_incomplete),
        cmocka_unit_test(test_map_answer_too_late),
        cmocka_unit_test(test_sigterm_during_storage_login),
        cmocka_unit_test(test_sigterm_cleanup_retries),
        cmocka_unit_test(test_second_signal_cuts_cleanup),
        cmocka_unit_test(test_sighup_and_sigquit),
        cmocka_unit_test(test_configuration_errors_touch_nothing),
    };

    return cmocka_run_group_tests_name("failure semantics", tests, setup, teardown);
}
