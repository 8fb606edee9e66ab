/*
 * The whole populate job: the real binary against the simulated world
 * (vCenter/ESXi, the arrays over HTTPS, Pure behind Prism).  Every case
 * checks the exit status and message, the bytes on the target volume, and
 * that nothing of ours is left: no mapping on the array, no fabric entry, no
 * device on the host, no task directory, no RDM descriptor.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "esxi/wrapper.h"
#include "lib/buf.h"
#include "lib/deadline.h"
#include "test/fake/popcmd.h"
#include "test/fake/proc.h"
#include "test/fake/world.h"

static struct world w;

/* A TCP socket listening on 127.0.0.1 at a port the kernel picked; *port
 * receives it.  Closed by the caller, which frees the port for the binary
 * (a busy port when kept open). */
static int
loopback_listener(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* A port nobody listens on right now. */
static int
free_port(void)
{
    int port = 0;

    close(loopback_listener(&port));
    return port;
}

/* A complete manual-mode run for vendor "ontap" or "pure". */
static void
cmd_default(struct cmd *c, const char *vendor)
{
    bool pure = strcmp(vendor, "pure") == 0;

    cmd_manual_start(c, &w, "6f1c2a9e-0b7d-4d1e-9a55-2c3b4d5e6f70");
    if (pure)
        cmd_pure_target(c, &w);
    else
        cmd_ontap_target(c, &w);
    cmd_vcenter_env(c, &w);
}

/* Nothing of ours left anywhere in the world. */
static void
expect_clean(const char *vendor)
{
    json_t *state;
    json_t *maps;

    expect_host_clean(&w);
    /* The array holds no mapping to our initiator group. */
    state = json_load_file(
        world_get(&w, strcmp(vendor, "pure") == 0 ? "WORLD_PURE_STATE" : "WORLD_ONTAP_STATE"), 0,
        NULL);
    assert_non_null(state);
    maps = json_object_get(state, strcmp(vendor, "pure") == 0 ? "connections" : "lun_maps");
    if (json_array_size(maps) != 0) {
        char *dump = json_dumps(maps, 0);

        fail_msg("mappings left on %s: %s", vendor, dump);
    }
    json_decref(state);
}

static void
expect_copied(const char *vendor)
{
    char cmdline[512];

    /* The volume file behind the LUN starts with the disk's bytes. */
    snprintf(cmdline, sizeof(cmdline),
             "f=$(ls \"$WORLD_ROOT/arrays/%s/\"* | grep -v -e rdm -e vvol | head -n 1) && "
             "cmp -n $(stat -c %%s \"$WORLD_VC_VM_FLAT\") \"$WORLD_VC_VM_FLAT\" \"$f\"",
             vendor);
    assert_int_equal(world_sh(&w, "%s", cmdline), 0);
}

static void
reset_world(void)
{
    assert_int_equal(world_sh(&w, ": > \"$WORLD_FAULTS\"; : > \"$WORLD_ONTAP_FAULTS\"; : > "
                                  "\"$WORLD_PURE_FAULTS\"; rm -f "
                                  "\"$WORLD_ROOT/etc/fake-vmkfstools.conf\"; f=$(ls "
                                  "\"$WORLD_ROOT\"/arrays/ontap/vol_trident* | head -n 1); "
                                  "dd if=/dev/zero of=\"$f\" bs=1M count=8 conv=notrunc "
                                  "status=none"),
                     0);
}

static void
test_copy_ontap(void **state)
{
    struct cmd c;
    struct outcome o;

    (void)state;
    reset_world();
    cmd_default(&c, "ontap");
    run_cmd(&c, &o);
    outcome_expect(&o, 0, "copy complete");
    assert_non_null(o.result);
    assert_string_equal(json_string_value(json_object_get(o.result, "result")), "success");
    assert_string_equal(json_string_value(json_object_get(o.result, "method")), "vib");
    assert_true(json_is_true(json_object_get(o.result, "xcopy_used")));
    expect_copied("ontap");
    expect_clean("ontap");
    /* Secrets stay out of the log. */
    assert_null(strstr(buf_cstr(&o.err), world_get(&w, "WORLD_ONTAP_PASSWORD")));
    assert_null(strstr(buf_cstr(&o.err), world_get(&w, "GOVMOMI_PASSWORD")));
    outcome_free(&o);
    cmd_free(&c);
}

static void
test_copy_pure_through_prism(void **state)
{
    struct cmd c;
    struct outcome o;

    (void)state;
    reset_world();
    cmd_default(&c, "pure");
    run_cmd(&c, &o);
    outcome_expect(&o, 0, "copy complete");
    expect_copied("pure");
    expect_clean("pure");
    assert_null(strstr(buf_cstr(&o.err), world_get(&w, "WORLD_PURE_TOKEN")));
    outcome_free(&o);
    cmd_free(&c);
    /* Prism saw every request and reply and found no schema violation. */
    if (strcmp(world_get(&w, "WORLD_PURE_PRISM"), "1") == 0)
        assert_int_equal(world_sh(&w, "! grep -q '\"severity\":\"error\"\\|violation.*error' "
                                      "\"$WORLD_PURE_PRISM_LOG\""),
                         0);
    else
        printf(
            "SKIP: Prism is not running (../shared/vendor-specs absent): schema check skipped\n");
}

static void
test_copy_ssh_pinned(void **state)
{
    struct cmd c;
    struct outcome o;

    (void)state;
    reset_world();
    cmd_default(&c, "ontap");
    cmd_arg(&c, "--esxi-ssh-known-hosts=%s", world_get(&w, "WORLD_SSH_KNOWN_HOSTS"));
    cmd_env(&c, "ESXI_CLONE_METHOD", "ssh");
    cmd_env(&c, "ESXI_SSH_PORT", world_get(&w, "ESXI_SSH_PORT"));
    cmd_env(&c, "SSH_PRIVATE_KEY", world_get(&w, "SSH_PRIVATE_KEY"));
    cmd_env(&c, "SSH_PUBLIC_KEY", world_get(&w, "SSH_PUBLIC_KEY"));
    run_cmd(&c, &o);
    outcome_expect(&o, 0, "copy complete");
    assert_string_equal(json_string_value(json_object_get(o.result, "method")), "ssh");
    expect_copied("ontap");
    expect_clean("ontap");
    assert_null(strstr(buf_cstr(&o.err), "PRIVATE KEY"));
    outcome_free(&o);
    cmd_free(&c);

    /* A key the host does not know: stopped before anything is mapped. */
    cmd_default(&c, "ontap");
    cmd_env(&c, "ESXI_CLONE_METHOD", "ssh");
    cmd_env(&c, "ESXI_SSH_PORT", world_get(&w, "ESXI_SSH_PORT"));
    cmd_env(&c, "SSH_PRIVATE_KEY", world_get(&w, "WORLD_SSH_WRONG_KEY"));
    cmd_env(&c, "SSH_PUBLIC_KEY", world_get(&w, "SSH_PUBLIC_KEY"));
    assert_int_equal(world_sh(&w, "grep -c lun_map_create \"$WORLD_ONTAP_CALLS\" > "
                                  "\"$WORLD_DIR/maps.before\" || true"),
                     0);
    run_cmd(&c, &o);
    outcome_expect(&o, 1, "/etc/ssh/keys-root/authorized_keys");
    assert_int_equal(world_sh(&w, "test \"$(grep -c lun_map_create \"$WORLD_ONTAP_CALLS\")\" = "
                                  "\"$(cat \"$WORLD_DIR/maps.before\")\""),
                     0);
    outcome_free(&o);
    cmd_free(&c);
    expect_clean("ontap");
}

static void
copy_on_array(const char *vm_key, const char *vmdk_key, const char *source_key, const char *method)
{
    struct cmd c;
    struct outcome o;

    /* Random bytes in the source volume, so the comparison proves the copy. */
    assert_int_equal(world_sh(&w,
                              "head -c \"$WORLD_VC_DISK_BYTES\" /dev/urandom > "
                              "\"$WORLD_ROOT/arrays/pure/$%s\"",
                              source_key),
                     0);
    cmd_default(&c, "pure");
    for (size_t i = 0; i < c.argc; i++) {
        if (strncmp(c.argv[i], "--source-", 9) == 0) {
            free((void *)(uintptr_t)c.argv[i]);
            c.argv[i] = strdup("--cr-name=unused");
        }
    }
    cmd_arg(&c, "--source-vm-id=%s", world_get(&w, vm_key));
    cmd_arg(&c, "--source-vmdk=%s", world_get(&w, vmdk_key));
    run_cmd(&c, &o);
    outcome_expect(&o, 0, "copy complete");
    assert_string_equal(json_string_value(json_object_get(o.result, "method")), method);
    assert_true(json_is_false(json_object_get(o.result, "xcopy_used")));
    /* No host, mapping or ESXi command: the array copied volume to volume. */
    assert_null(strstr(buf_cstr(&o.err), "LUN mapped"));
    assert_int_equal(world_sh(&w,
                              "cmp \"$WORLD_ROOT/arrays/pure/$%s\" "
                              "\"$WORLD_ROOT/arrays/pure/$WORLD_PURE_VOLUME\"",
                              source_key),
                     0);
    outcome_free(&o);
    cmd_free(&c);
    expect_clean("pure");
}

static void
test_vvol_and_rdm_array_copies(void **state)
{
    (void)state;
    reset_world();
    copy_on_array("WORLD_VC_VVOL_VM_ID", "WORLD_VC_VVOL_VMDK", "WORLD_PURE_VVOL_SOURCE", "vvol");
    copy_on_array("WORLD_VC_RDM_VM_ID", "WORLD_VC_RDM_VMDK", "WORLD_PURE_RDM_SOURCE", "rdm");
}

struct failcase {
    const char *name;
    const char *fault_file; /* env var naming the faults file */
    const char *fault;
    int status;
    const char *message;
    const char *arg; /* one more flag, or NULL */
};

static const struct failcase failcases[] = {
    {"vSphere login", "WORLD_FAULTS", "Login soapfault InvalidLogin Cannot complete login", 1,
     "vsphere login: login to", NULL},

    {"igroup lookup", "WORLD_ONTAP_FAULTS", "igroup_list http 500", 1,
     "initiator group: failed to add the ESX HBAs", NULL},

    {"resolve", "WORLD_ONTAP_FAULTS", "lun_list http 500", 1, "resolve: ", NULL},

    {"map", "WORLD_ONTAP_FAULTS", "lun_map_create http 500", 1,
     "map: failed to map LUN '/vol/trident_pvc_1/lun0'", NULL},

    {"rescan, device never appears", "WORLD_FAULTS",
     "vim.EsxCLI.storage.core.device.list clifault Unable to find device", 1,
     "rescan: failed to find the device after scanning: device", "--rescan-timeout-seconds=2"},
    {"rescan, host error", "WORLD_FAULTS",
     "vim.EsxCLI.storage.core.device.list soapfault SystemError disk subsystem busy", 1,
     "rescan: failed to find the device after scanning: ", NULL},

    {"clone start", "WORLD_FAULTS", "vim.EsxCLI.vmkfstools.clone clifault vmkfstools plugin broken",
     1, "clone: failed to start clone task over vib", NULL},

    {"poll", "WORLD_FAULTS",
     "vim.EsxCLI.vmkfstools.taskGet soapfault SystemError hostd crashed once", 1,
     "clone: clone task", NULL},

    /* Copied: a leftover is warned about and listed, and the run succeeds. */
    {"cleanup unmap", "WORLD_ONTAP_FAULTS", "lun_map_delete http 500", 0,
     "cleanup step failed left=\"LUN '/vol/trident_pvc_1/lun0' still mapped to initiator group",
     NULL},

    {"cleanup device off", "WORLD_FAULTS",
     "vim.EsxCLI.storage.core.device.set soapfault SystemError busy", 0, "copy complete", NULL},
};

static void
test_failures_at_each_step(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(failcases) / sizeof(failcases[0]); i++) {
        const struct failcase *f = &failcases[i];
        struct cmd c;
        struct outcome o;
        size_t left;

        reset_world();
        assert_int_equal(world_sh(&w, "echo '%s' > \"$%s\"", f->fault, f->fault_file), 0);
        cmd_default(&c, "ontap");
        if (f->arg != NULL)
            cmd_arg(&c, "%s", f->arg);
        run_cmd(&c, &o);
        if (o.status != f->status || strstr(buf_cstr(&o.err), f->message) == NULL)
            fail_msg("case '%s': exit %d (want %d), stderr:\n%s\nwant: %s", f->name, o.status,
                     f->status, buf_cstr(&o.err), f->message);
        /* The failure is one line naming the phase, also in the JSON result. */
        assert_string_equal(json_string_value(json_object_get(o.result, "result")),
                            f->status != 0 ? "failure" : "success");
        left = json_array_size(json_object_get(o.result, "left_behind"));
        outcome_free(&o);
        cmd_free(&c);
        if (left == 0) {
            printf("case '%s': exit %d as expected\n", f->name, f->status);
            expect_clean("ontap");
        } else {
            /* Undo what the injected fault kept us from undoing. */
            assert_int_equal(world_sh(&w, ": > \"$WORLD_ONTAP_FAULTS\""), 0);
            cmd_default(&c, "ontap");
            run_cmd(&c, &o);
            outcome_expect(&o, 0, "copy complete");
            outcome_free(&o);
            cmd_free(&c);
            expect_clean("ontap");
        }
    }
    reset_world();
}

static void
test_clone_fails_midway(void **state)
{
    struct cmd c;
    struct outcome o;

    (void)state;
    reset_world();
    assert_int_equal(world_sh(&w, "echo FAIL_MIDWAY=1 > \"$WORLD_ROOT/etc/fake-vmkfstools.conf\""),
                     0);
    cmd_default(&c, "ontap");
    run_cmd(&c, &o);
    outcome_expect(&o, 1, "clone: clone task failed with exit code 1: ");
    assert_non_null(strstr(buf_cstr(&o.err), "Failed to clone disk"));
    outcome_free(&o);
    cmd_free(&c);
    expect_clean("ontap");
    reset_world();
}

static void
test_sigterm_during_clone(void **state)
{
    struct cmd c;
    posix_spawn_file_actions_t fa;
    char logpath[] = "/tmp/pop-sigterm-XXXXXX";
    pid_t pid;
    int fd;
    int ws = 0;
    struct deadline d = deadline_in_ms(60000);
    bool started = false;

    (void)state;
    reset_world();
    /* A slow clone: 8 chunks of 1 MiB, 1 s each. */
    assert_int_equal(world_sh(&w, "echo FAKE_VMKFSTOOLS_DELAY_MS=1000 > "
                                  "\"$WORLD_ROOT/etc/fake-vmkfstools.conf\""),
                     0);
    cmd_default(&c, "ontap");
    fd = mkstemp(logpath);
    assert_true(fd >= 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, 2);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    assert_int_equal(
        posix_spawn(&pid, c.argv[0], &fa, NULL, (char *const *)(uintptr_t)c.argv, c.envp), 0);
    posix_spawn_file_actions_destroy(&fa);
    /* Wait until the clone is running on the host, then stop the job. */
    while (!started && !deadline_expired(&d)) {
        char line[4096];
        FILE *f = fopen(logpath, "r");

        while (f != NULL && fgets(line, sizeof(line), f) != NULL)
            started = started || strstr(line, "clone started") != NULL;
        if (f != NULL)
            fclose(f);
        if (!started)
            usleep(20000);
    }
    assert_true(started);
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 1);
    assert_int_equal(world_sh(&w, "grep -q 'interrupted by a termination signal' %s", logpath), 0);
    unlink(logpath);
    close(fd);
    cmd_free(&c);
    /* Cleanup ran in full, and task-clean stopped vmkfstools on the host. */
    expect_clean("ontap");
    /* Only this world's clones count: processes whose root is its chroot. */
    assert_int_equal(world_sh(&w, "r=$(readlink -f \"$WORLD_ROOT\"); for i in $(seq 100); do "
                                  "n=0; for p in /proc/[0-9]*; do [ \"$(readlink $p/root "
                                  "2>/dev/null)\" = \"$r\" ] && tr '\\0' ' ' < $p/cmdline "
                                  "2>/dev/null | grep -q 'vmkfstool[s] -i' && n=1; done; "
                                  "[ $n = 0 ] && exit 0; sleep 0.1; done; exit 1"),
                     0);
    reset_world();
}

static size_t
collect(char *p, size_t s, size_t n, void *arg)
{
    struct perr err = {0};

    buf_add(arg, p, s * n, &err);
    return s * n;
}

/* The controller's regular expressions (forklift-populator-behaviour §2.3). */
static void
expect_regex(const char *text, const char *re_src)
{
    regex_t re;

    assert_int_equal(regcomp(&re, re_src, REG_EXTENDED), 0);
    if (regexec(&re, text, 0, NULL, 0) != 0)
        fail_msg("metrics do not match %s:\n%s", re_src, text);
    regfree(&re);
}

static void cmd_pod(struct cmd *c, const char *pvc, const char *kubeconfig);

/* Scrapes https://127.0.0.1:port/metrics as the controller does (TLS, no
 * verification) until the completion sample shows; body keeps the last
 * answer.  Bounded, so a job that never serves it fails the test. */
static bool
scrape_until_done(int port, struct buf *body)
{
    struct deadline d = deadline_in_ms(120000);
    bool done = false;

    while (!done && !deadline_expired(&d)) {
        CURL *h = curl_easy_init();
        char url[64];

        snprintf(url, sizeof(url), "https://127.0.0.1:%d/metrics", port);
        buf_reset(body);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
        if (curl_easy_perform(h) == CURLE_OK &&
            strstr(buf_cstr(body), "copy_duration_seconds{") != NULL)
            done = true;
        curl_easy_cleanup(h);
        if (!done)
            usleep(50000);
    }
    return done;
}

/* Pod mode (the controller's case) with the endpoint on 127.0.0.1:port. */
static void
cmd_pod_metrics(struct cmd *c, int port)
{
    cmd_pod(c, world_get(&w, "WORLD_KUBE_OWNER_NAME"), world_get(&w, "WORLD_KUBECONFIG"));
    cmd_drop(c, "--metrics-listen");
    cmd_arg(c, "--metrics-listen=127.0.0.1:%d", port);
}

static void
test_metrics_scraped_like_the_controller(void **state)
{
    static const char uid[] = "6f1c2a9e-0b7d-4d1e-9a55-2c3b4d5e6f70";
    struct cmd c;
    struct buf body = {0};
    char re[512];
    pid_t pid;
    int ws = 0;
    int port = free_port();

    (void)state;
    reset_world();
    cmd_pod_metrics(&c, port);
    pid = spawn_logged(&c, "/dev/null");
    assert_true(scrape_until_done(port, &body));
    /* The job exits right after that scrape instead of waiting out 10 s. */
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_int_equal(WEXITSTATUS(ws), 0);
    snprintf(re, sizeof(re),
             "vsphere_xcopy_volume_populator_progress\\{[^}]*owner_uid=\"%s\"[^}]*\\} "
             "100",
             uid);
    expect_regex(buf_cstr(&body), re);
    snprintf(re, sizeof(re),
             "vsphere_xcopy_volume_populator_xcopy_used\\{[^}]*owner_uid=\"%s\"[^}]*\\} 1", uid);
    expect_regex(buf_cstr(&body), re);
    snprintf(re, sizeof(re),
             "vsphere_xcopy_volume_populator_vib_version\\{[^}]*owner_uid=\"%s\"[^}]*"
             "version=\"%s\"[^}]*\\} 1",
             uid, esxi_wrapper_version());
    expect_regex(buf_cstr(&body), re);
    snprintf(re, sizeof(re),
             "vsphere_xcopy_volume_populator_copy_duration_seconds\\{clone_method=\"vib\","
             "owner_uid=\"%s\",result=\"success\",storage_protocol=\"(fc|iscsi)\","
             "storage_vendor=\"ontap\",xcopy_used=\"1\"\\} [0-9.]+",
             uid);
    expect_regex(buf_cstr(&body), re);
    snprintf(re, sizeof(re),
             "vsphere_xcopy_volume_populator_source_disk_bytes\\{[^}]*owner_uid=\"%s\"[^}]*"
             "type=\"provisioned\"[^}]*\\} [0-9.e+]+",
             uid);
    expect_regex(buf_cstr(&body), re);
    expect_regex(buf_cstr(&body), "vsphere_xcopy_volume_populator_storage_array_info\\{[^}]*"
                                  "storage_array_vendor=\"NetApp\"[^}]*\\} 1");
    buf_free(&body);
    cmd_free(&c);
    expect_clean("ontap");
}

/* The endpoint is up before the storage login, so the most common failure
 * (bad array credentials) reaches the controller as a failure sample. */
static void
test_metrics_report_a_failed_storage_login(void **state)
{
    static const char uid[] = "6f1c2a9e-0b7d-4d1e-9a55-2c3b4d5e6f70";
    struct cmd c;
    struct buf body = {0};
    char log[512];
    char re[512];
    pid_t pid;
    int ws = 0;
    int port = free_port();

    (void)state;
    reset_world();
    cmd_pod_metrics(&c, port);
    cmd_env(&c, "STORAGE_PASSWORD", "wrong-password");
    snprintf(log, sizeof(log), "%s/pop-badlogin.log", world_get(&w, "WORLD_DIR"));
    pid = spawn_logged(&c, log);
    assert_true(scrape_until_done(port, &body));
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 1);
    /* What the controller reads: completion, with result="failure". */
    snprintf(re, sizeof(re),
             "vsphere_xcopy_volume_populator_copy_duration_seconds\\{clone_method=\"n/a\","
             "owner_uid=\"%s\",result=\"failure\",storage_protocol=\"n/a\","
             "storage_vendor=\"ontap\",xcopy_used=\"0\"\\} [0-9.]+",
             uid);
    expect_regex(buf_cstr(&body), re);
    assert_int_equal(world_sh(&w, "grep -q 'populate failed error=\"storage login: ' %s", log), 0);
    assert_int_equal(world_sh(&w, "grep -q 'waiting for the final metrics scrape' %s", log), 0);
    assert_int_equal(world_sh(&w, "! grep -q 'no metrics scrape after completion' %s", log), 0);
    buf_free(&body);
    cmd_free(&c);
    expect_clean("ontap");
}

/* 1000 idle connections on the job's endpoint (fewer if the descriptor
 * limit is lower, which is said): the completion sample is still served,
 * and the job exits after that scrape. */
static void
test_metrics_served_past_idle_connections(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct deadline d = deadline_in_ms(120000);
    struct rlimit rl;
    struct cmd c;
    struct buf body = {0};
    size_t n = 1000, opened = 0;
    int *fds;
    pid_t pid;
    int ws = 0;
    int port = free_port();

    (void)state;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < n + 256) {
        rl.rlim_cur = rl.rlim_max < n + 256 ? rl.rlim_max : n + 256;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    if (rl.rlim_cur < n + 256) {
        n = rl.rlim_cur > 256 ? (size_t)rl.rlim_cur - 256 : 16;
        printf("NOTE: RLIMIT_NOFILE hard limit %llu: %zu idle connections instead of 1000\n",
               (unsigned long long)rl.rlim_max, n);
    }
    fds = calloc(n, sizeof(*fds));
    assert_non_null(fds);
    reset_world();
    cmd_pod_metrics(&c, port);
    pid = spawn_logged(&c, "/dev/null");
    /* As soon as the endpoint listens, fill it with connections that never
     * send a byte. */
    sa.sin_port = htons((uint16_t)port);
    while (opened < n && !deadline_expired(&d)) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            fds[opened++] = fd;
            continue;
        }
        close(fd);
        if (opened > 0)
            break; /* the job is gone: reported below */
        usleep(20000);
    }
    assert_int_equal(opened, n);
    assert_true(scrape_until_done(port, &body));
    assert_non_null(strstr(buf_cstr(&body), "result=\"success\""));
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
    printf("%zu idle connections held; completion sample served\n", opened);
    for (size_t i = 0; i < opened; i++)
        close(fds[i]);
    free(fds);
    buf_free(&body);
    cmd_free(&c);
    expect_clean("ontap");
}

/* A busy metrics port costs the controller its progress view, not the
 * migration. */
static void
test_metrics_busy_port_is_a_warning(void **state)
{
    struct cmd c;
    struct outcome o;
    char want[128];
    int port = 0;
    int busy = loopback_listener(&port);

    (void)state;
    reset_world();
    cmd_pod_metrics(&c, port);
    run_cmd(&c, &o);
    close(busy);
    outcome_expect(&o, 0, "copy complete");
    snprintf(want, sizeof(want),
             "warn  [populate] metrics endpoint not started; copying without it "
             "listen=127.0.0.1:%d error=",
             port);
    outcome_expect(&o, 0, want);
    /* No endpoint, so nothing to wait for. */
    assert_null(strstr(buf_cstr(&o.err), "waiting for the final metrics scrape"));
    assert_string_equal(json_string_value(json_object_get(o.result, "result")), "success");
    expect_copied("ontap");
    outcome_free(&o);
    cmd_free(&c);
    expect_clean("ontap");
}

/* Manual mode as a person types it. */
static void
test_manual_mode_as_typed(void **state)
{
    struct cmd c;
    struct outcome o;
    char want[128];
    int port;

    (void)state;
    /* Neither --owner-uid nor --metrics-listen: no endpoint, no wait. */
    for (int with_uid = 0; with_uid < 2; with_uid++) {
        reset_world();
        cmd_default(&c, "ontap");
        cmd_drop(&c, "--metrics-listen");
        if (!with_uid)
            cmd_drop(&c, "--owner-uid");
        run_cmd(&c, &o);
        outcome_expect(&o, 0, "copy complete");
        assert_null(strstr(buf_cstr(&o.err), "[metrics]"));
        assert_null(strstr(buf_cstr(&o.err), "metrics endpoint"));
        assert_null(strstr(buf_cstr(&o.err), "metrics scrape"));
        expect_copied("ontap");
        outcome_free(&o);
        cmd_free(&c);
        expect_clean("ontap");
    }

    /* Asked for: the endpoint runs (owner_uid=""), still no wait. */
    reset_world();
    port = free_port();
    cmd_default(&c, "ontap");
    cmd_drop(&c, "--metrics-listen");
    cmd_drop(&c, "--owner-uid");
    cmd_arg(&c, "--metrics-listen=127.0.0.1:%d", port);
    run_cmd(&c, &o);
    outcome_expect(&o, 0, "copy complete");
    snprintf(want, sizeof(want), "[metrics] metrics server listening listen=127.0.0.1:%d", port);
    outcome_expect(&o, 0, want);
    assert_null(strstr(buf_cstr(&o.err), "metrics scrape"));
    outcome_free(&o);
    cmd_free(&c);
    expect_clean("ontap");
}

static void
test_bad_storage_password_touches_nothing(void **state)
{
    struct cmd c;
    struct outcome o;

    (void)state;
    reset_world();
    cmd_default(&c, "ontap");
    cmd_env(&c, "STORAGE_PASSWORD", "wrong-password");
    run_cmd(&c, &o);
    outcome_expect(&o, 1, "storage login: ");
    outcome_free(&o);
    cmd_free(&c);
    expect_clean("ontap");
}

/* Pod mode: the PVC, its prime PVC and the PV come from the real kube-apiserver. */
static void
cmd_pod(struct cmd *c, const char *pvc, const char *kubeconfig)
{
    cmd_default(c, "ontap");
    /* Drop the manual-mode flags: the last two arguments given by cmd_default. */
    for (size_t i = 0; i < c->argc; i++) {
        if (strncmp(c->argv[i], "--target-volume-", 16) == 0) {
            free((void *)(uintptr_t)c->argv[i]);
            c->argv[i] = strdup("--cr-name=unused");
        }
    }
    cmd_arg(c, "--target-namespace=%s", world_get(&w, "WORLD_KUBE_NAMESPACE"));
    cmd_arg(c, "--owner-name=%s", pvc);
    cmd_arg(c, "--kubeconfig=%s", kubeconfig);
    cmd_env(c, "HOST_LEASE_NAMESPACE", world_get(&w, "WORLD_KUBE_LEASE_NAMESPACE"));
}

static void
test_pod_mode_through_apiserver(void **state)
{
    struct cmd c;
    struct outcome o;
    char bad_kubeconfig[512];

    (void)state;
    reset_world();
    cmd_pod(&c, world_get(&w, "WORLD_KUBE_OWNER_NAME"), world_get(&w, "WORLD_KUBECONFIG"));
    run_cmd(&c, &o);
    outcome_expect(&o, 0, "target volume pv=");
    assert_non_null(strstr(buf_cstr(&o.err), "host lease acquired lease=esxi-lock-hostsystem-"));
    expect_copied("ontap");
    expect_clean("ontap");
    outcome_free(&o);
    cmd_free(&c);

    /* The prime PVC names a PV that does not exist: stopped before any mapping. */
    cmd_pod(&c, "pvc-missing-pv", world_get(&w, "WORLD_KUBECONFIG"));
    run_cmd(&c, &o);
    outcome_expect(&o, 1, "volume lookup: failed to fetch the volume details of PVC ");
    outcome_free(&o);
    cmd_free(&c);
    expect_clean("ontap");

    /* A service account without RBAC: a 403 that names what is missing. */
    snprintf(bad_kubeconfig, sizeof(bad_kubeconfig), "%s/nobody.kubeconfig",
             world_get(&w, "WORLD_DIR"));
    assert_int_equal(
        world_sh(&w,
                 "sed \"s/$WORLD_KUBE_POPULATOR_TOKEN/$WORLD_KUBE_NOBODY_TOKEN/\" "
                 "\"$WORLD_KUBECONFIG\" > %s && grep -q \"$WORLD_KUBE_NOBODY_TOKEN\" %s",
                 bad_kubeconfig, bad_kubeconfig),
        0);
    cmd_pod(&c, world_get(&w, "WORLD_KUBE_OWNER_NAME"), bad_kubeconfig);
    run_cmd(&c, &o);
    outcome_expect(&o, 1, "forbidden");
    assert_null(strstr(buf_cstr(&o.err), world_get(&w, "WORLD_KUBE_NOBODY_TOKEN")));
    outcome_free(&o);
    cmd_free(&c);
    expect_clean("ontap");
}

static void
test_two_populators_on_one_host(void **state)
{
    struct cmd a;
    struct cmd b;
    char loga[512];
    char logb[512];
    int wsa = 0;
    int wsb = 0;
    pid_t pa;
    pid_t pb;

    (void)state;
    reset_world();
    /* A second LUN on the array for the second copy. */
    assert_int_equal(world_sh(&w,
                              "curl -sf --cacert \"$WORLD_ARRAY_CA\" -u "
                              "\"$WORLD_ONTAP_USERNAME:$WORLD_ONTAP_PASSWORD\" -X POST "
                              "-H 'Content-Type: application/json' -d "
                              "'{\"name\":\"/vol/trident_pvc_2/lun0\",\"svm\":{\"name\":"
                              "\"svm1\"},\"space\":{\"size\":16777216},\"os_type\":"
                              "\"vmware\"}' "
                              "\"https://$WORLD_ONTAP_HOSTNAME/api/storage/luns\" >/dev/null || "
                              "true"),
                     0);
    cmd_default(&a, "ontap");
    cmd_arg(&a, "--kubeconfig=%s", world_get(&w, "WORLD_KUBECONFIG"));
    cmd_env(&a, "HOST_LEASE_NAMESPACE", world_get(&w, "WORLD_KUBE_LEASE_NAMESPACE"));
    cmd_default(&b, "ontap");
    for (size_t i = 0; i < b.argc; i++) {
        if (strncmp(b.argv[i], "--target-volume-", 16) == 0) {
            free((void *)(uintptr_t)b.argv[i]);
            b.argv[i] = strdup("--cr-name=unused");
        }
    }
    cmd_arg(&b, "--target-volume-handle=pvc-2");
    cmd_arg(&b, "--target-volume-attribute=internalName=trident_pvc_2");
    cmd_arg(&b, "--kubeconfig=%s", world_get(&w, "WORLD_KUBECONFIG"));
    cmd_env(&b, "HOST_LEASE_NAMESPACE", world_get(&w, "WORLD_KUBE_LEASE_NAMESPACE"));
    snprintf(loga, sizeof(loga), "%s/pop-a.log", world_get(&w, "WORLD_DIR"));
    snprintf(logb, sizeof(logb), "%s/pop-b.log", world_get(&w, "WORLD_DIR"));
    pa = spawn_logged(&a, loga);
    pb = spawn_logged(&b, logb);
    assert_int_equal(waitpid(pa, &wsa, 0), pa);
    assert_int_equal(waitpid(pb, &wsb, 0), pb);
    if (WEXITSTATUS(wsa) != 0 || WEXITSTATUS(wsb) != 0) {
        world_sh(&w, "cat %s %s >&2", loga, logb);
        fail_msg("exit statuses %d and %d", WEXITSTATUS(wsa), WEXITSTATUS(wsb));
    }
    /* Each rescanned under a host lease of the same host, unless the other's
     * rescan had already brought its device in (then it neither queued for a
     * lease nor rescanned); at least one of them rescanned. */
    assert_int_equal(world_sh(&w,
                              "for l in %s %s; do grep -qE 'host lease acquired "
                              "lease=esxi-lock-hostsystem-|device already visible, no rescan "
                              "needed' $l || exit 1; done; grep -q 'host lease acquired "
                              "lease=esxi-lock-hostsystem-' %s %s",
                              loga, logb, loga, logb),
                     0);
    /* Both targets hold the disk's bytes. */
    assert_int_equal(world_sh(&w,
                              "for f in \"$WORLD_ROOT\"/arrays/ontap/vol_trident*; do cmp -n "
                              "$(stat -c %%s \"$WORLD_VC_VM_FLAT\") \"$WORLD_VC_VM_FLAT\" "
                              "\"$f\" || { ls -la \"$WORLD_ROOT\"/arrays/ontap/; exit 1; }; done"),
                     0);
    cmd_free(&a);
    cmd_free(&b);
    expect_clean("ontap");
}

static int
setup(void **state)
{
    static const char *const with_kube[] = {"WORLD_NO_KUBE=0", NULL};

    (void)state;
    if (world_start_chroot(&w, with_kube) < 0)
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
        cmocka_unit_test(test_copy_ontap),
        cmocka_unit_test(test_copy_pure_through_prism),
        cmocka_unit_test(test_copy_ssh_pinned),
        cmocka_unit_test(test_vvol_and_rdm_array_copies),
        cmocka_unit_test(test_failures_at_each_step),
        cmocka_unit_test(test_clone_fails_midway),
        cmocka_unit_test(test_sigterm_during_clone),
        cmocka_unit_test(test_metrics_scraped_like_the_controller),
        cmocka_unit_test(test_metrics_report_a_failed_storage_login),
        cmocka_unit_test(test_metrics_busy_port_is_a_warning),
        cmocka_unit_test(test_metrics_served_past_idle_connections),
        cmocka_unit_test(test_manual_mode_as_typed),
        cmocka_unit_test(test_bad_storage_password_touches_nothing),
        cmocka_unit_test(test_pod_mode_through_apiserver),
        cmocka_unit_test(test_two_populators_on_one_host),
    };

    return cmocka_run_group_tests_name("populate end to end", tests, setup, teardown);
}
