/*
 * `preflight` end to end: the real binary against one simulated world whose
 * knobs (DIR/host-config, the VIB's files, the root key file, the CA given)
 * are turned between cases, each case with exactly one thing wrong.  Every
 * case checks the exit status, that exactly the expected checks failed with
 * their remedy, and that nothing changed: the arrays' state is the same
 * before and after, and vcsimx logged no call that changes a host (only
 * logins, property reads and esxcli list/get/version).  --try-map is the
 * one case allowed to map, and must leave no mapping or device behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "esxi/ssh_carrier.h"
#include "esxi/wrapper.h"
#include "lib/buf.h"
#include "test/fake/popcmd.h"
#include "test/fake/proc.h"
#include "test/fake/world.h"

static struct world w;

static void cmd_set(struct cmd *c, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Replaces argument i. */
static void
cmd_set(struct cmd *c, size_t i, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;

    assert_true(i < c->argc);
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    free((void *)(uintptr_t)c->argv[i]);
    c->argv[i] = strdup(tmp);
}

/* A preflight of the VM's disk onto the ONTAP volume (or Pure's), both hosts. */
static void
cmd_default(struct cmd *c, const char *vendor)
{
    bool pure = strcmp(vendor, "pure") == 0;

    memset(c, 0, sizeof(*c));
    cmd_arg(c, "%s", proc_pop_bin());
    cmd_arg(c, "preflight");
    cmd_arg(c, "--source-vm-id=%s", world_get(&w, "WORLD_VC_VM_ID"));
    cmd_arg(c, "--source-vmdk=%s", world_get(&w, "WORLD_VC_VM_VMDK"));
    cmd_arg(c, "--output=json");
    cmd_arg(c, "--storage-ca-file=%s", world_get(&w, "WORLD_ARRAY_CA"));
    if (pure)
        cmd_pure_target(c, &w);
    else
        cmd_ontap_target(c, &w);
    cmd_vcenter_env(c, &w);
}

/* ---- "nothing changed" ---- */

static const char *const state_keys[] = {"WORLD_ONTAP_STATE", "WORLD_PURE_STATE",
                                         "WORLD_FLASHSYSTEM_STATE"};
#define NSTATES (sizeof(state_keys) / sizeof(state_keys[0]))

struct snapshot {
    json_t *arrays[NSTATES];
    long calls; /* lines in the vcsimx call log */
};

/* The array's state without its sessions and id counter (a login is not a change). */
static json_t *
array_state(const char *key)
{
    json_t *s = json_load_file(world_get(&w, key), 0, NULL);

    assert_non_null(s);
    json_object_del(s, "sessions");
    json_object_del(s, "_seq");
    return s;
}

static long
count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    int ch;

    assert_non_null(f);
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

static void
snap(struct snapshot *s)
{
    for (size_t i = 0; i < NSTATES; i++)
        s->arrays[i] = array_state(state_keys[i]);
    s->calls = count_lines(world_get(&w, "WORLD_CALLS"));
}

static bool
read_only_call(const char *call, const char *method)
{
    static const char *const calls[] = {"Login",
                                        "Logout",
                                        "RetrieveServiceContent",
                                        "RetrievePropertiesEx",
                                        "ContinueRetrievePropertiesEx",
                                        "RetrieveManagedMethodExecuter",
                                        "RetrieveDynamicTypeManager",
                                        "QueryConfiguredModuleOptionString"};
    size_t n = strlen(method);

    if (strcmp(call, "ExecuteSoap") == 0)
        return strcmp(method, "vim.CLIInfo.FetchCLIInfo") == 0 ||
               (n > 5 && strcmp(method + n - 5, ".list") == 0) ||
               (n > 4 && strcmp(method + n - 4, ".get") == 0) ||
               strcmp(method, "vim.EsxCLI.vmkfstools.version") == 0;
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        if (strcmp(call, calls[i]) == 0)
            return true;
    }
    return false;
}

/* The arrays hold what they held, and no call since s changed a host. */
static void
expect_unchanged(struct snapshot *s)
{
    FILE *f = fopen(world_get(&w, "WORLD_CALLS"), "r");
    char line[65536];
    long n = 0;
    int checked = 0;

    for (size_t i = 0; i < NSTATES; i++) {
        json_t *now = array_state(state_keys[i]);

        if (!json_equal(now, s->arrays[i]))
            fail_msg("%s changed during the preflight", state_keys[i]);
        json_decref(now);
        json_decref(s->arrays[i]);
    }
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        json_t *e;
        const char *call;
        const char *method;

        if (n++ < s->calls)
            continue;
        e = json_loads(line, 0, NULL);
        assert_non_null(e);
        call = json_string_value(json_object_get(e, "call"));
        method = json_string_value(json_object_get(e, "method"));
        if (!read_only_call(call != NULL ? call : "", method != NULL ? method : ""))
            fail_msg("preflight made a changing call: %s", line);
        checked++;
        json_decref(e);
    }
    fclose(f);
    assert_true(checked > 0);
}

static void
run_preflight(struct cmd *c, struct outcome *o)
{
    run_cmd(c, o);
    if (o->result == NULL)
        fail_msg("no JSON report (exit %d); stdout:\n%s\nstderr:\n%s", o->status, buf_cstr(&o->out),
                 buf_cstr(&o->err));
}

/* Writes the host-config knob file: the right settings, plus extra lines. */
static void
knobs(const char *extra)
{
    FILE *f = fopen(world_get(&w, "WORLD_HOST_CONFIG"), "w");

    assert_non_null(f);
    fprintf(f, "* /DataMover/MaxHWTransferSize 16384\n%s", extra != NULL ? extra : "");
    fclose(f);
}

/* The checks that ended `result`, as "host/check" joined by spaces in report order. */
static char *
checks_with(const struct outcome *o, const char *result)
{
    struct buf b = {0};
    struct perr err = {0};
    json_t *checks = json_object_get(o->result, "checks");
    size_t i;
    json_t *c;

    json_array_foreach(checks, i, c)
    {
        const char *host = json_string_value(json_object_get(c, "host"));

        if (strcmp(json_string_value(json_object_get(c, "result")), result) != 0)
            continue;
        buf_addf(&b, &err, "%s%s/%s", b.len > 0 ? " " : "", *host != '\0' ? host : "-",
                 json_string_value(json_object_get(c, "check")));
    }
    return b.len > 0 ? buf_steal(&b) : strdup("");
}

/* The one check host/name of the report, or fail. */
static json_t *
find_check(const struct outcome *o, const char *host, const char *name)
{
    json_t *checks = json_object_get(o->result, "checks");
    size_t i;
    json_t *c;

    json_array_foreach(checks, i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "host")), host) == 0 &&
            strcmp(json_string_value(json_object_get(c, "check")), name) == 0)
            return c;
    }
    fail_msg("no check %s/%s in the report:\n%s", host, name, buf_cstr(&o->out));
    return NULL;
}

/* Exit status, exactly the failed checks `failed`, no warnings unless
 * allowed, each failed one's remedy containing `remedy`. */
static void
expect_report_warn(const struct outcome *o, int status, const char *failed, const char *remedy,
                   bool warnings_allowed)
{
    char *f = checks_with(o, "fail");
    char *warn = checks_with(o, "warn");
    json_t *checks = json_object_get(o->result, "checks");
    size_t i;
    json_t *c;

    if (o->status != status || strcmp(f, failed) != 0 || (*warn != '\0' && !warnings_allowed))
        fail_msg("exit %d (want %d); failed '%s' (want '%s'); warnings '%s'\n%s", o->status, status,
                 f, failed, warn, buf_cstr(&o->out));
    json_array_foreach(checks, i, c)
    {
        const char *r = json_string_value(json_object_get(c, "remedy"));

        if (strcmp(json_string_value(json_object_get(c, "result")), "fail") == 0 &&
            (r == NULL || strstr(r, remedy) == NULL))
            fail_msg("remedy '%s' lacks '%s'", r != NULL ? r : "(none)", remedy);
    }
    assert_string_equal(json_string_value(json_object_get(o->result, "result")),
                        *failed != '\0' ? "fail" : "pass");
    free(f);
    free(warn);
}

static void
expect_report(const struct outcome *o, int status, const char *failed, const char *remedy)
{
    expect_report_warn(o, status, failed, remedy, false);
}

/* "host-17/x host-24/x" for the world's hosts. */
static char *
per_host(const char *check)
{
    struct buf b = {0};
    struct perr err = {0};
    const char *hosts = world_get(&w, "WORLD_VC_HOSTS");

    for (const char *s = hosts; *s != '\0';) {
        size_t n = strcspn(s, " ");

        buf_addf(&b, &err, "%s%.*s/%s", b.len > 0 ? " " : "", (int)n, s, check);
        s += n + (s[n] == ' ');
    }
    return buf_steal(&b);
}

/* ---- cases ---- */

static void
test_everything_right(void **state)
{
    static const char *const expected[] = {"-/vcenter-login", "-/array-tls", "-/array-login",
                                           "-/target-volume", "-/source-vm", "-/same-array"};
    static const char *const per[] = {
        "host",     "vaai-move", "max-hw-transfer", "datastore-vaai-clone",
        "adapters", "max-lun",   "clone-method"};
    struct cmd c;
    struct outcome o;
    struct snapshot s;
    char *passed;

    (void)state;
    knobs(NULL);
    cmd_default(&c, "ontap");
    snap(&s);
    run_preflight(&c, &o);
    expect_report(&o, 0, "", "");
    passed = checks_with(&o, "pass");
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        if (strstr(passed, expected[i]) == NULL)
            fail_msg("check %s did not pass: %s", expected[i], passed);
    for (size_t i = 0; i < sizeof(per) / sizeof(per[0]); i++) {
        char *want = per_host(per[i]);
        char *one = strtok(want, " ");

        for (; one != NULL; one = strtok(NULL, " "))
            if (strstr(passed, one) == NULL)
                fail_msg("check %s did not pass: %s", one, passed);
        free(want);
    }
    {
        char want[96];

        snprintf(want, sizeof(want), "vib: plugin answers, version %s", esxi_wrapper_version());
        assert_string_equal(
            json_string_value(json_object_get(
                find_check(&o, world_get(&w, "WORLD_VC_VM_HOST"), "clone-method"), "detail")),
            want);
    }
    expect_unchanged(&s);
    free(passed);
    outcome_free(&o);
    cmd_free(&c);
}

static void
test_table_on_a_terminal_format(void **state)
{
    struct cmd c;
    struct outcome o;

    (void)state;
    knobs(NULL);
    cmd_default(&c, "ontap");
    cmd_set(&c, 4, "--output=text");
    memset(&o, 0, sizeof(o));
    assert_int_equal(
        proc_run(c.argv[0], c.argv, (const char *const *)c.envp, &o.out, &o.err, &o.status), 0);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(buf_cstr(&o.out), "HOST "));
    assert_non_null(strstr(buf_cstr(&o.out), "vaai-move             pass   "
                                             "DataMover.HardwareAcceleratedMove is 1\n"));
    assert_non_null(strstr(buf_cstr(&o.out), "\npass: "));
    outcome_free(&o);
    cmd_free(&c);
}

static void
test_vaai_off(void **state)
{
    struct cmd c;
    struct outcome o;
    struct snapshot s;
    char *want = per_host("vaai-move");

    (void)state;
    knobs("* /DataMover/HardwareAcceleratedMove 0\n");
    cmd_default(&c, "ontap");
    snap(&s);
    run_preflight(&c, &o);
    expect_report(&o, 1, want,
                  "esxcli system settings advanced set -o /DataMover/HardwareAcceleratedMove -i 1");
    expect_unchanged(&s);
    knobs(NULL);
    free(want);
    outcome_free(&o);
    cmd_free(&c);
}

static void
test_lun_id_above_max_lun(void **state)
{
    struct cmd c;
    struct outcome o;
    struct snapshot s;
    char *want = per_host("max-lun");

    (void)state;
    /* The hosts already see LUN ids 0 and 1 behind the array's ports. */
    knobs("* /Disk/MaxLUN 2\n");
    cmd_default(&c, "ontap");
    snap(&s);
    run_preflight(&c, &o);
    expect_report(&o, 1, want, "/Disk/MaxLUN -i 16384");
    assert_non_null(
        strstr(json_string_value(json_object_get(
                   find_check(&o, world_get(&w, "WORLD_VC_VM_HOST"), "max-lun"), "detail")),
               "Disk.MaxLUN is 2"));
    expect_unchanged(&s);
    knobs(NULL);
    free(want);
    outcome_free(&o);
    cmd_free(&c);
}

static void
test_plugin_missing(void **state)
{
    struct cmd c;
    struct outcome o;
    struct snapshot s;
    char *want = per_host("clone-method");

    (void)state;
    knobs(NULL);
    /* A host without the VIB has no vmkfstools esxcli namespace. */
    assert_int_equal(world_sh(&w, "mv \"$WORLD_ROOT/opt/redhat/vmkfstools-wrapper\" "
                                  "\"$WORLD_ROOT/opt/redhat/.preflight-moved\""),
                     0);
    cmd_default(&c, "ontap");
    snap(&s);
    run_preflight(&c, &o);
    assert_int_equal(world_sh(&w, "mv \"$WORLD_ROOT/opt/redhat/.preflight-moved\" "
                                  "\"$WORLD_ROOT/opt/redhat/vmkfstools-wrapper\""),
                     0);
    expect_report(&o, 1, want, "restart hostd");
    expect_unchanged(&s);
    free(want);
    outcome_free(&o);
    cmd_free(&c);
}

static void
test_untrusted_array_certificate(void **state)
{
    struct cmd c;
    struct outcome o;
    struct snapshot s;

    (void)state;
    knobs(NULL);
    cmd_default(&c, "ontap");
    /* vCenter's CA did not sign the array's certificate. */
    cmd_set(&c, 5, "--storage-ca-file=%s", world_get(&w, "WORLD_VCENTER_CA"));
    snap(&s);
    run_preflight(&c, &o);
    expect_report(&o, 1, "-/array-tls", "--storage-ca-file");
    expect_unchanged(&s);
    outcome_free(&o);
    cmd_free(&c);
}

static void
test_source_datastore_on_another_array(void **state)
{
    struct cmd c;
    struct outcome o;
    struct snapshot s;

    (void)state;
    knobs(NULL);
    /* The datastore is an ONTAP LUN; the target volume lives on the Pure array. */
    cmd_default(&c, "pure");
    snap(&s);
    run_preflight(&c, &o);
    expect_report(&o, 1, "-/same-array", "on the array that holds it");
    assert_non_null(
        strstr(json_string_value(json_object_get(find_check(&o, "", "same-array"), "detail")),
               "different arrays"));
    expect_unchanged(&s);
    outcome_free(&o);
    cmd_free(&c);
}

static void
test_flashsystem_protected_pool(void **state)
{
    struct cmd c;
    struct outcome o;
    struct snapshot s;
    char *attrs = strdup(world_get(&w, "WORLD_FLASHSYSTEM_ATTRS"));
    char *save = NULL;

    (void)state;
    knobs(NULL);
    cmd_default(&c, "ontap");
    cmd_set(&c, 6, "--storage-vendor-product=flashsystem");
    cmd_set(&c, 7, "--target-volume-handle=%s",
            world_get(&w, "WORLD_FLASHSYSTEM_PROTECTED_HANDLE"));
    cmd_set(&c, 8, "--target-volume-attribute=%s", strtok_r(attrs, ";", &save));
    for (char *a = strtok_r(NULL, ";", &save); a != NULL; a = strtok_r(NULL, ";", &save))
        cmd_arg(&c, "--target-volume-attribute=%s", a);
    free(attrs);
    cmd_env(&c, "STORAGE_HOSTNAME", world_get(&w, "WORLD_FLASHSYSTEM_HOSTNAME"));
    cmd_env(&c, "STORAGE_USERNAME", world_get(&w, "WORLD_FLASHSYSTEM_USERNAME"));
    cmd_env(&c, "STORAGE_PASSWORD", world_get(&w, "WORLD_FLASHSYSTEM_PASSWORD"));
    snap(&s);
    run_preflight(&c, &o);
    /* The vendor check runs through the driver's own volume lookup; the
     * driver lists no ports, so the adapters are only a warning. */
    expect_report_warn(&o, 1, "-/target-volume", "act on the array's answer", true);
    assert_non_null(
        strstr(json_string_value(json_object_get(find_check(&o, "", "target-volume"), "detail")),
               "vdisk_protection_enabled=yes"));
    expect_unchanged(&s);
    outcome_free(&o);
    cmd_free(&c);
}

/* The authorized_keys line this product prints for the world's key. */
static char *
expected_key_line(void)
{
    const char *b64 = world_get(&w, "SSH_PUBLIC_KEY");
    unsigned char *pub = calloc(1, strlen(b64) + 1);
    char *line;
    int n;

    assert_non_null(pub);
    n = EVP_DecodeBlock(pub, (const unsigned char *)b64, (int)strlen(b64));
    assert_true(n > 0);
    while (n > 0 && (pub[n - 1] == '\0' || pub[n - 1] == '\n'))
        pub[--n] = '\0';
    line = ssh_authorized_keys_line((const char *)pub, SSH_KEY_LINE_IMPROVED);
    free(pub);
    assert_non_null(line);
    return line;
}

static void
cmd_ssh(struct cmd *c, const char *known_hosts)
{
    cmd_default(c, "ontap");
    cmd_arg(c, "--esxi-hosts=%s", world_get(&w, "WORLD_VC_VM_HOST"));
    if (known_hosts != NULL)
        cmd_arg(c, "--write-known-hosts=%s", known_hosts);
    cmd_env(c, "ESXI_CLONE_METHOD", "ssh");
    cmd_env(c, "ESXI_SSH_PORT", world_get(&w, "ESXI_SSH_PORT"));
    cmd_env(c, "SSH_PRIVATE_KEY", world_get(&w, "SSH_PRIVATE_KEY"));
    cmd_env(c, "SSH_PUBLIC_KEY", world_get(&w, "SSH_PUBLIC_KEY"));
}

static void
test_ssh_ready_and_known_hosts(void **state)
{
    struct cmd c;
    struct outcome o;
    struct snapshot s;
    char kh[512];

    (void)state;
    if (world_find(&w, "ESXI_SSH_PORT") == NULL) {
        printf("SKIP: no sshd in this world (needs root and openssh-server)\n");
        skip();
    }
    knobs(NULL);
    snprintf(kh, sizeof(kh), "%s/preflight-known-hosts", w.dir);
    unlink(kh);
    cmd_ssh(&c, kh);
    snap(&s);
    run_preflight(&c, &o);
    expect_report(&o, 0, "", "");
    assert_non_null(
        strstr(json_string_value(json_object_get(
                   find_check(&o, world_get(&w, "WORLD_VC_VM_HOST"), "clone-method"), "detail")),
               "ssh: key line installed"));
    /* The key met is the world's sshd host key, pinned as the populate pins it. */
    assert_int_equal(world_sh(&w,
                              "cmp -s \"$WORLD_SSH_KNOWN_HOSTS\" '%s' || "
                              "{ cat \"$WORLD_SSH_KNOWN_HOSTS\" '%s' >&2; exit 1; }",
                              kh, kh),
                     0);
    expect_unchanged(&s);
    outcome_free(&o);
    cmd_free(&c);
}

static void
test_ssh_key_missing(void **state)
{
    struct cmd c;
    struct outcome o;
    struct snapshot s;
    char *line = NULL;
    char want[64];
    json_t *chk;

    (void)state;
    if (world_find(&w, "ESXI_SSH_PORT") == NULL) {
        printf("SKIP: no sshd in this world (needs root and openssh-server)\n");
        skip();
    }
    knobs(NULL);
    line = expected_key_line();
    assert_int_equal(world_sh(&w, "cp -p \"$WORLD_SSH_AUTHORIZED_KEYS\" "
                                  "\"$WORLD_SSH_AUTHORIZED_KEYS.preflight\" && "
                                  ": > \"$WORLD_SSH_AUTHORIZED_KEYS\""),
                     0);
    cmd_ssh(&c, NULL);
    snap(&s);
    run_preflight(&c, &o);
    assert_int_equal(world_sh(&w, "mv -f \"$WORLD_SSH_AUTHORIZED_KEYS.preflight\" "
                                  "\"$WORLD_SSH_AUTHORIZED_KEYS\""),
                     0);
    snprintf(want, sizeof(want), "%s/clone-method", world_get(&w, "WORLD_VC_VM_HOST"));
    expect_report(&o, 1, want, line);
    chk = find_check(&o, world_get(&w, "WORLD_VC_VM_HOST"), "clone-method");
    {
        char remedy[4096];

        snprintf(remedy, sizeof(remedy),
                 "enable SSH on the host and add this line to "
                 "/etc/ssh/keys-root/authorized_keys: %s",
                 line);
        assert_string_equal(json_string_value(json_object_get(chk, "remedy")), remedy);
    }
    expect_unchanged(&s);
    free(line);
    outcome_free(&o);
    cmd_free(&c);
}

static void
test_try_map_leaves_nothing(void **state)
{
    struct cmd c;
    struct outcome o;
    char *want = per_host("try-map");
    char *passed;

    (void)state;
    knobs(NULL);
    cmd_default(&c, "ontap");
    cmd_arg(&c, "--try-map");
    run_preflight(&c, &o);
    expect_report(&o, 0, "", "");
    passed = checks_with(&o, "pass");
    for (char *one = strtok(want, " "); one != NULL; one = strtok(NULL, " "))
        if (strstr(passed, one) == NULL)
            fail_msg("check %s did not pass: %s", one, buf_cstr(&o.out));
    /* The volume really was mapped and seen, and is gone again everywhere. */
    assert_true(world_count_calls(&w, "storage.core.adapter.rescan", NULL) > 0);
    assert_int_equal(world_sh(&w, "! ls \"$WORLD_FABRIC\"/luns | grep -q naa. && "
                                  "! ls \"$WORLD_ROOT\"/vmfs/devices/disks | grep -q naa. && "
                                  "python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); "
                                  "sys.exit(1 if s[\"lun_maps\"] else 0)' \"$WORLD_ONTAP_STATE\""),
                     0);
    free(passed);
    free(want);
    outcome_free(&o);
    cmd_free(&c);
}

static void
test_usage(void **state)
{
    struct cmd c;
    struct outcome o;

    (void)state;
    /* A populate refuses the preflight's flags; a preflight needs hosts. */
    cmd_default(&c, "ontap");
    cmd_set(&c, 1, "--try-map");
    memset(&o, 0, sizeof(o));
    assert_int_equal(
        proc_run(c.argv[0], c.argv, (const char *const *)c.envp, &o.out, &o.err, &o.status), 0);
    assert_int_equal(o.status, 2);
    assert_non_null(strstr(buf_cstr(&o.err), "--try-map is a flag of the preflight command"));
    outcome_free(&o);
    cmd_free(&c);
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
        cmocka_unit_test(test_everything_right),
        cmocka_unit_test(test_table_on_a_terminal_format),
        cmocka_unit_test(test_vaai_off),
        cmocka_unit_test(test_lun_id_above_max_lun),
        cmocka_unit_test(test_plugin_missing),
        cmocka_unit_test(test_untrusted_array_certificate),
        cmocka_unit_test(test_source_datastore_on_another_array),
        cmocka_unit_test(test_flashsystem_protected_pool),
        cmocka_unit_test(test_ssh_ready_and_known_hosts),
        cmocka_unit_test(test_ssh_key_missing),
        cmocka_unit_test(test_try_map_leaves_nothing),
        cmocka_unit_test(test_usage),
    };

    return cmocka_run_group_tests_name("preflight", tests, setup, teardown);
}
