/*
 * install-vib and VIB_AUTO_INSTALL against the simulated world: five ESXi
 * hosts that start without the VIB plugin (WORLD_NO_VIB_HOSTS=all), the
 * fourth in secure boot; root logins per host through test/sim/ssh; the
 * plugin registered with vcsimx only after a hostd restart.  What is checked
 * is what the hosts received (test/sim/esxi/esxcli's log), what vCenter
 * answers afterwards, and the copies' bytes.
 */
#include <fcntl.h>
#include <setjmp.h>
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

#include "esxi/vib_install.h"
#include "esxi/vim.h"
#include "esxi/vim_calls.h"
#include "esxi/wrapper.h"
#include "lib/buf.h"
#include "test/fake/popcmd.h"
#include "test/fake/proc.h"
#include "test/fake/world.h"

static struct world w;
static char vib_path[600];
static char host_ref[5][32];
static char host_name[5][32];
static char host_port[5][16];

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct buf b = {0};
    struct perr err = {0};
    char chunk[4096];
    size_t n;

    assert_non_null(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(buf_add(&b, chunk, n, &err), 0);
    fclose(f);
    {
        char *text = buf_steal(&b);

        return text != NULL ? text : strdup("");
    }
}

static void
vcenter_env(struct cmd *c)
{
    char *ca = slurp(world_get(&w, "WORLD_VCENTER_CA"));

    cmd_env(c, "GOVMOMI_HOSTNAME", world_get(&w, "GOVMOMI_HOSTNAME"));
    cmd_env(c, "GOVMOMI_USERNAME", world_get(&w, "GOVMOMI_USERNAME"));
    cmd_env(c, "GOVMOMI_PASSWORD", world_get(&w, "GOVMOMI_PASSWORD"));
    /* vCenter's certificate verified against the world's CA. */
    cmd_env(c, "GOVMOMI_INSECURE", "false");
    cmd_env(c, "cacert", ca);
    cmd_env(c, "PATH", "/usr/bin:/bin");
    free(ca);
}

/* install-vib on hosts given by index; returns the exit status, stdout in out. */
static int
install_vib_from(const char *vib, const int *idx, size_t n, struct buf *out)
{
    struct cmd c = {0};
    struct buf err = {0};
    char list[512] = "";
    int status = -1;

    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(list);

        snprintf(list + l, sizeof(list) - l, "%s%s:%s", i > 0 ? "," : "", host_name[idx[i]],
                 host_port[idx[i]]);
    }
    cmd_arg(&c, "%s", proc_pop_bin());
    cmd_arg(&c, "install-vib");
    cmd_arg(&c, "--vib-path=%s", vib);
    cmd_arg(&c, "--ssh-key-file=%s", world_get(&w, "WORLD_ROOT_SSH_KEY_FILE"));
    cmd_arg(&c, "--esxi-hosts=%s", list);
    cmd_arg(&c, "--max-parallel=2");
    vcenter_env(&c);
    assert_int_equal(proc_run(c.argv[0], c.argv, (const char *const *)c.envp, out, &err, &status),
                     0);
    if (status > 1)
        fail_msg("install-vib exited %d:\n%s\n%s", status, buf_cstr(out), buf_cstr(&err));
    printf("install-vib stdout:\n%s", buf_cstr(out));
    buf_free(&err);
    cmd_free(&c);
    return status;
}

static int
install_vib(const int *idx, size_t n, struct buf *out)
{
    return install_vib_from(vib_path, idx, n, out);
}

/* How many lines of the simulated hosts' esxcli log start with host + what. */
static int
sim_log_count(int host, const char *what)
{
    char path[600];
    char *log;
    char needle[128];
    int n = 0;

    snprintf(path, sizeof(path), "%s/var/log/sim-esxcli.log", world_get(&w, "WORLD_ROOT"));
    if (access(path, F_OK) != 0)
        return 0;
    log = slurp(path);
    snprintf(needle, sizeof(needle), "%s %s", host_ref[host], what);
    for (const char *p = log; p != NULL && *p != '\0';) {
        n += strncmp(p, needle, strlen(needle)) == 0;
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    free(log);
    return n;
}

/* The plugin version the host answers through vCenter ("" none). */
static char *
plugin_version(int host)
{
    struct vim *v = world_vim_open(&w);
    struct perr err = {0};
    char *ver = NULL;

    assert_non_null(v);
    if (vib_plugin_version(v, host_ref[host], &ver, &err) < 0)
        fail_msg("plugin version of %s: %s", host_ref[host], err.msg);
    vim_close(v);
    return ver;
}

static void
expect_line(const struct buf *out, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (strstr(buf_cstr(out), line) == NULL)
        fail_msg("want '%s' in:\n%s", line, buf_cstr(out));
}

static void
test_install_two_hosts_then_skip(void **state)
{
    static const int two[] = {1, 2};
    const char *ver = esxi_wrapper_version();
    struct buf out = {0};
    char *v = NULL;

    (void)state;
    for (int h = 1; h <= 2; h++) {
        v = plugin_version(h);
        assert_string_equal(v, "");
        free(v);
    }
    assert_int_equal(install_vib(two, 2, &out), 0);
    for (int h = 1; h <= 2; h++) {
        expect_line(&out, "%s: installed, answering (before none, now %s)\n", host_name[h], ver);
        assert_int_equal(sim_log_count(h, "software vib install "), 1);
        assert_int_equal(sim_log_count(h, "hostd restart"), 1);
        v = plugin_version(h);
        assert_string_equal(v, ver);
        free(v);
    }
    expect_line(&out, "install-vib: 2 host(s) ready, 0 failed\n");
    /* A host not named is not touched. */
    assert_int_equal(sim_log_count(0, "software vib"), 0);
    buf_free(&out);

    /* Idempotent: the second run changes nothing. */
    assert_int_equal(install_vib(two, 2, &out), 0);
    for (int h = 1; h <= 2; h++) {
        expect_line(&out, "%s: up to date (before %s, now %s)\n", host_name[h], ver, ver);
        assert_int_equal(sim_log_count(h, "software vib install "), 1);
        assert_int_equal(sim_log_count(h, "software vib remove "), 0);
        assert_int_equal(sim_log_count(h, "hostd restart"), 1);
    }
    expect_line(&out, "install-vib: 2 host(s) ready, 0 failed\n");
    buf_free(&out);
}

static void
test_secure_boot_host_fails_alone(void **state)
{
    static const int two[] = {3, 4};
    const char *ver = esxi_wrapper_version();
    struct buf out = {0};
    char *v = NULL;

    (void)state;
    assert_int_equal(install_vib(two, 2, &out), 1);
    expect_line(&out,
                "%s: failed (before none, now unknown): secure boot is enabled on the host, and "
                "ESXi refuses community-level VIBs under secure boot",
                host_name[3]);
    expect_line(&out, "%s: installed, answering (before none, now %s)\n", host_name[4], ver);
    expect_line(&out, "install-vib: 1 host(s) ready, 1 failed\n");
    /* Refused before anything was sent or installed on it. */
    assert_int_equal(sim_log_count(3, "software vib install"), 0);
    assert_int_equal(sim_log_count(3, "hostd restart"), 0);
    assert_true(world_sh(&w, "ls \"$WORLD_ROOT\"/tmp | grep -q '^vmkfstools-wrapper-.*\\.vib$'") !=
                0);
    v = plugin_version(3);
    assert_string_equal(v, "");
    free(v);
    v = plugin_version(4);
    assert_string_equal(v, ver);
    free(v);
    buf_free(&out);
}

/* Four populates at once on the VM's host, which has no plugin: one install. */
static void
test_auto_install_four_populates(void **state)
{
    enum { N = 4 };
    struct cmd c[N];
    pid_t pid[N];
    char log[N][600];
    char *key_b64 = NULL;
    char *v = NULL;
    int failed = 0;

    (void)state;
    v = plugin_version(0);
    assert_string_equal(v, "");
    free(v);
    /* Three more LUNs for the other copies. */
    for (int i = 2; i <= N; i++)
        assert_int_equal(world_sh(&w,
                                  "curl -sf --cacert \"$WORLD_ARRAY_CA\" -u "
                                  "\"$WORLD_ONTAP_USERNAME:$WORLD_ONTAP_PASSWORD\" -X POST "
                                  "-H 'Content-Type: application/json' -d "
                                  "'{\"name\":\"/vol/trident_pvc_%d/lun0\",\"svm\":{\"name\":"
                                  "\"svm1\"},\"space\":{\"size\":16777216},\"os_type\":"
                                  "\"vmware\"}' "
                                  "\"https://$WORLD_ONTAP_HOSTNAME/api/storage/luns\" >/dev/null",
                                  i),
                         0);
    assert_int_equal(world_sh(&w, "base64 -w0 \"$WORLD_ROOT_SSH_KEY_FILE\" > \"$WORLD_DIR/rk\""),
                     0);
    {
        char path[600];

        snprintf(path, sizeof(path), "%s/rk", world_get(&w, "WORLD_DIR"));
        key_b64 = slurp(path);
    }
    for (int i = 0; i < N; i++) {
        memset(&c[i], 0, sizeof(c[i]));
        cmd_arg(&c[i], "%s", proc_pop_bin());
        cmd_arg(&c[i], "--source-vm-id=%s", world_get(&w, "WORLD_VC_VM_ID"));
        cmd_arg(&c[i], "--source-vmdk=%s", world_get(&w, "WORLD_VC_VM_VMDK"));
        cmd_arg(&c[i], "--owner-uid=6f1c2a9e-0b7d-4d1e-9a55-2c3b4d5e6f7%d", i);
        cmd_arg(&c[i], "--metrics-listen=");
        cmd_arg(&c[i], "--storage-ca-file=%s", world_get(&w, "WORLD_ARRAY_CA"));
        cmd_arg(&c[i], "--storage-vendor-product=ontap");
        if (i == 0) {
            cmd_arg(&c[i], "--target-volume-handle=%s", world_get(&w, "WORLD_ONTAP_VOLUME_HANDLE"));
            cmd_arg(&c[i], "--target-volume-attribute=%s", world_get(&w, "WORLD_ONTAP_ATTRS"));
        } else {
            cmd_arg(&c[i], "--target-volume-handle=pvc-%d", i + 1);
            cmd_arg(&c[i], "--target-volume-attribute=internalName=trident_pvc_%d", i + 1);
        }
        cmd_arg(&c[i], "--kubeconfig=%s", world_get(&w, "WORLD_KUBECONFIG"));
        cmd_env(&c[i], "HOST_LEASE_NAMESPACE", world_get(&w, "WORLD_KUBE_LEASE_NAMESPACE"));
        cmd_env(&c[i], "STORAGE_HOSTNAME", world_get(&w, "WORLD_ONTAP_HOSTNAME"));
        cmd_env(&c[i], "STORAGE_USERNAME", world_get(&w, "WORLD_ONTAP_USERNAME"));
        cmd_env(&c[i], "STORAGE_PASSWORD", world_get(&w, "WORLD_ONTAP_PASSWORD"));
        cmd_env(&c[i], "VIB_AUTO_INSTALL", "true");
        cmd_env(&c[i], "VIB_PATH", vib_path);
        cmd_env(&c[i], "ESXI_ROOT_SSH_KEY", key_b64);
        cmd_env(&c[i], "ESXI_SSH_PORT", world_get(&w, "ESXI_SSH_PORT"));
        vcenter_env(&c[i]);
        snprintf(log[i], sizeof(log[i]), "%s/auto-%d.log", world_get(&w, "WORLD_DIR"), i);
    }
    for (int i = 0; i < N; i++)
        pid[i] = spawn_logged(&c[i], log[i]);
    for (int i = 0; i < N; i++) {
        int ws = 0;

        assert_int_equal(waitpid(pid[i], &ws, 0), pid[i]);
        if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
            failed++;
            world_sh(&w, "echo '--- populate %d:' >&2; cat %s >&2", i, log[i]);
        }
    }
    assert_int_equal(failed, 0);
    /* Exactly one install and one hostd restart on the host, four copies. */
    assert_int_equal(sim_log_count(0, "software vib install "), 1);
    assert_int_equal(sim_log_count(0, "hostd restart"), 1);
    assert_int_equal(world_sh(&w,
                              "n=0; for f in \"$WORLD_ROOT\"/arrays/ontap/vol_trident*; do cmp -n "
                              "$(stat -c %%s \"$WORLD_VC_VM_FLAT\") \"$WORLD_VC_VM_FLAT\" \"$f\" "
                              "|| exit 1; n=$((n + 1)); done; test $n = 4"),
                     0);
    v = plugin_version(0);
    assert_string_equal(v, esxi_wrapper_version());
    free(v);
    for (int i = 0; i < N; i++)
        cmd_free(&c[i]);
    free(key_b64);
}

/* Mixed fleets: an older VIB is replaced, a newer one is never downgraded. */
static void
test_newer_vib_is_kept(void **state)
{
    static const int one[] = {1};
    const char *ver = esxi_wrapper_version();
    char newer[700];
    struct buf out = {0};
    char *v = NULL;

    (void)state;
    snprintf(newer, sizeof(newer), "%s/newer/vmkfstools-wrapper.vib", world_get(&w, "WORLD_DIR"));
    assert_int_equal(world_sh(&w, "mkdir -p \"$WORLD_DIR/newer\" && sed "
                                  "'s/^SCRIPT_VERSION=.*/SCRIPT_VERSION=\"9.0.0\"/' "
                                  "esxi/vmkfstools-wrapper.sh > \"$WORLD_DIR/newer/w.sh\" && sh "
                                  "esxi/vib/mkvib \"$WORLD_DIR/newer/w.sh\" "
                                  "esxi/vib/esxcli-vmkfstools.xml \"$WORLD_DIR/newer\" >/dev/null"),
                     0);
    /* Ours (installed by the first test) is older than 9.0.0: removed, then replaced. */
    assert_int_equal(install_vib_from(newer, one, 1, &out), 0);
    expect_line(&out, "%s: installed, answering (before %s, now 9.0.0)\n", host_name[1], ver);
    assert_int_equal(sim_log_count(1, "software vib remove "), 1);
    assert_int_equal(sim_log_count(1, "software vib install "), 2);
    buf_free(&out);
    /* Ours again: the newer VIB stays. */
    assert_int_equal(install_vib(one, 1, &out), 0);
    expect_line(&out, "%s: newer kept (before 9.0.0, now 9.0.0)\n", host_name[1]);
    assert_int_equal(sim_log_count(1, "software vib install "), 2);
    assert_int_equal(sim_log_count(1, "software vib remove "), 1);
    v = plugin_version(1);
    assert_string_equal(v, "9.0.0");
    free(v);
    buf_free(&out);
}

/* host_* from WORLD_VC_HOSTS, WORLD_VC_HOST_NAMES and WORLD_SSH_HOST_PORTS. */
static int
read_hosts(void)
{
    char refs[512];
    char names[512];
    char ports[512];
    char *s1 = NULL;
    char *s2 = NULL;
    char *s3 = NULL;
    char *a;
    char *b;
    char *p;
    int n = 0;

    snprintf(refs, sizeof(refs), "%s", world_get(&w, "WORLD_VC_HOSTS"));
    snprintf(names, sizeof(names), "%s", world_get(&w, "WORLD_VC_HOST_NAMES"));
    snprintf(ports, sizeof(ports), "%s", world_get(&w, "WORLD_SSH_HOST_PORTS"));
    for (a = strtok_r(refs, " ", &s1), b = strtok_r(names, " ", &s2), p = strtok_r(ports, " ", &s3);
         a != NULL && b != NULL && p != NULL && n < 5; a = strtok_r(NULL, " ", &s1),
        b = strtok_r(NULL, " ", &s2), p = strtok_r(NULL, " ", &s3), n++) {
        const char *eq = strchr(p, '=');

        if (eq == NULL || strncmp(p, a, (size_t)(eq - p)) != 0)
            return -1;
        snprintf(host_ref[n], sizeof(host_ref[n]), "%s", a);
        snprintf(host_name[n], sizeof(host_name[n]), "%s", b);
        snprintf(host_port[n], sizeof(host_port[n]), "%s", eq + 1);
    }
    return n == 5 ? 0 : -1;
}

static int
setup(void **state)
{
    static const char *const env[] = {"WORLD_NO_KUBE=0", "WORLD_HOSTS=5", "WORLD_NO_VIB_HOSTS=all",
                                      "WORLD_SECURE_BOOT_HOSTS=DC0_C0_H3", NULL};

    (void)state;
    if (world_start(&w, env) < 0)
        return -1;
    if (world_find(&w, "WORLD_SSH_HOST_PORTS") == NULL) {
        printf("SKIP-REASON: the world has no sshd (WORLD_NO_SSHD=1?): no root login to install "
               "over\n");
        return -1;
    }
    if (read_hosts() < 0) {
        printf("FAIL: cannot read the five hosts and their SSH ports from the world\n");
        return -1;
    }
    snprintf(vib_path, sizeof(vib_path), "%s/vib/vmkfstools-wrapper.vib",
             world_get(&w, "WORLD_DIR"));
    if (world_sh(&w, "sh esxi/vib/mkvib esxi/vmkfstools-wrapper.sh esxi/vib/esxcli-vmkfstools.xml "
                     "\"$WORLD_DIR/vib\" >/dev/null") != 0) {
        printf("FAIL: cannot build the VIB (esxi/vib/mkvib)\n");
        return -1;
    }
    return 0;
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
        cmocka_unit_test(test_install_two_hosts_then_skip),
        cmocka_unit_test(test_secure_boot_host_fails_alone),
        cmocka_unit_test(test_auto_install_four_populates),
        cmocka_unit_test(test_newer_vib_is_kept),
    };

    if (geteuid() != 0) {
        printf("SKIP: test_install_vib needs root (the simulated ESXi's sshd and chroot)\n");
        fprintf(stderr,
                "SKIP: test_install_vib needs root (the simulated ESXi's sshd and chroot)\n");
        return 0;
    }
    return cmocka_run_group_tests_name("install-vib and VIB_AUTO_INSTALL", tests, setup, teardown);
}
