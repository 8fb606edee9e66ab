/*
 * Hitachi Vantara through the real binary against the simulated world
 * (test/sim/arrays/vantara.py): VVol and RDM copies on the array, a session
 * that expires while the host clones, a volume already on a worker node's
 * host group, the DISABLE_*_METHOD fallback to XCOPY, and failures injected
 * at map and at unmap.  The world's RDM disk is a Hitachi LUN
 * (WORLD_RDM_NAA) and the array's sessions live 2 s of idleness.
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

#include "lib/buf.h"
#include "test/fake/proc.h"
#include "test/fake/world.h"

#define RDM_NAA "naa.60060e801234560050501234000001ab"

static struct world w;

struct run {
    const char *argv[24];
    char *envp[24];
    size_t argc;
    size_t envc;
    int status;
    struct buf out;
    struct buf err;
    json_t *result;
};

static void
arg(struct run *r, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    assert_true(r->argc + 1 < sizeof(r->argv) / sizeof(r->argv[0]));
    r->argv[r->argc++] = strdup(tmp);
}

static void
env(struct run *r, const char *key, const char *value)
{
    char tmp[2048];

    snprintf(tmp, sizeof(tmp), "%s=%s", key, value);
    assert_true(r->envc + 1 < sizeof(r->envp) / sizeof(r->envp[0]));
    r->envp[r->envc++] = strdup(tmp);
}

/* A manual-mode run of the VM given by its world keys onto handle. */
static void
prepare(struct run *r, const char *vm_key, const char *vmdk_key, const char *handle)
{
    memset(r, 0, sizeof(*r));
    arg(r, "%s", proc_pop_bin());
    arg(r, "--source-vm-id=%s", world_get(&w, vm_key));
    arg(r, "--source-vmdk=%s", world_get(&w, vmdk_key));
    arg(r, "--owner-uid=%s", "6f1c2a9e-0b7d-4d1e-9a55-2c3b4d5e6f71");
    arg(r, "--metrics-listen=");
    arg(r, "--output=json");
    arg(r, "--storage-ca-file=%s", world_get(&w, "WORLD_ARRAY_CA"));
    arg(r, "--storage-vendor-product=vantara");
    arg(r, "--target-volume-handle=%s", handle);
    env(r, "STORAGE_HOSTNAME", world_get(&w, "WORLD_VANTARA_HOSTNAME"));
    env(r, "STORAGE_USERNAME", world_get(&w, "WORLD_VANTARA_USERNAME"));
    env(r, "STORAGE_PASSWORD", world_get(&w, "WORLD_VANTARA_PASSWORD"));
    env(r, "STORAGE_PORT", world_get(&w, "WORLD_STORAGE_PORT"));
    env(r, "STORAGE_ID", world_get(&w, "WORLD_STORAGE_ID"));
    env(r, "GOVMOMI_HOSTNAME", world_get(&w, "GOVMOMI_HOSTNAME"));
    env(r, "GOVMOMI_USERNAME", world_get(&w, "GOVMOMI_USERNAME"));
    env(r, "GOVMOMI_PASSWORD", world_get(&w, "GOVMOMI_PASSWORD"));
    env(r, "GOVMOMI_INSECURE", "true");
    env(r, "PATH", "/usr/bin:/bin");
}

static void
execute(struct run *r, int want, const char *msg)
{
    r->argv[r->argc] = NULL;
    r->envp[r->envc] = NULL;
    assert_int_equal(
        proc_run(r->argv[0], r->argv, (const char *const *)r->envp, &r->out, &r->err, &r->status),
        0);
    r->result = json_loads(buf_cstr(&r->out), 0, NULL);
    if (r->status != want || (msg != NULL && strstr(buf_cstr(&r->err), msg) == NULL)) {
        const char *e = buf_cstr(&r->err);

        for (size_t i = 0; e[i] != '\0'; i += 400)
            print_error("%.400s", e + i);
        fail_msg("exit %d (want %d); want message: %s", r->status, want, msg != NULL ? msg : "-");
    }
}

static const char *
method_of(const struct run *r)
{
    return json_string_value(json_object_get(r->result, "method"));
}

static void
run_free(struct run *r)
{
    for (size_t i = 0; i < r->argc; i++)
        free((void *)(uintptr_t)r->argv[i]);
    for (size_t i = 0; i < r->envc; i++)
        free(r->envp[i]);
    buf_free(&r->out);
    buf_free(&r->err);
    json_decref(r->result);
    memset(r, 0, sizeof(*r));
}

/* The LU paths of volume in the fake's /_sim/state, as "group;group;". */
static void
paths_of(const char *volume, char *out, size_t n)
{
    char cmd[1024];
    FILE *p;
    size_t len;

    snprintf(cmd, sizeof(cmd),
             ". \"%s/env\" && curl -sS --cacert \"$WORLD_ARRAY_CA\" "
             "\"https://$WORLD_VANTARA_HOSTNAME/_sim/state\" | python3 -c 'import json,sys; "
             "d=json.load(sys.stdin); print(\"\".join(m[\"group\"]+\";\" for m in d[\"mappings\"] "
             "if m[\"volume\"]==sys.argv[1]))' %s",
             w.dir, volume);
    p = popen(cmd, "r");
    assert_non_null(p);
    out[0] = '\0';
    if (fgets(out, (int)n, p) == NULL)
        out[0] = '\0';
    pclose(p);
    len = strlen(out);
    if (len > 0 && out[len - 1] == '\n')
        out[len - 1] = '\0';
}

static void
expect_paths(const char *volume, const char *want)
{
    char got[256];

    paths_of(volume, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("LU paths of %s: '%s', want '%s'", volume, got, want);
}

/* No device of ours on the host, no fabric file for the target. */
static void
expect_host_clean(void)
{
    if (world_sh(&w, "! ls \"$WORLD_ROOT/vmfs/devices/disks\" | grep -q "
                     "\"${WORLD_VANTARA_NAA#naa.}\" && "
                     "test ! -e \"$WORLD_FABRIC/luns/$WORLD_VANTARA_NAA.json\" && "
                     "! ls \"$WORLD_ROOT/tmp\" | grep -q vmkfstools-wrapper-") != 0) {
        world_sh(&w, "ls -la \"$WORLD_ROOT/vmfs/devices/disks\" \"$WORLD_FABRIC/luns\" "
                     "\"$WORLD_ROOT/tmp\" >&2");
        fail_msg("something of ours is left on the host");
    }
    expect_paths("pvc-1", "");
}

static void
reset(void)
{
    assert_int_equal(world_sh(&w, ": > \"$WORLD_VANTARA_FAULTS\"; rm -f "
                                  "\"$WORLD_ROOT/etc/fake-vmkfstools.conf\"; dd if=/dev/zero "
                                  "of=\"$WORLD_ROOT/arrays/vantara/pvc-1\" bs=1M count=8 "
                                  "conv=notrunc status=none"),
                     0);
}

static void
expect_xcopied(const char *volume)
{
    assert_int_equal(world_sh(&w,
                              "cmp -n $(stat -c %%s \"$WORLD_VC_VM_FLAT\") \"$WORLD_VC_VM_FLAT\" "
                              "\"$WORLD_ROOT/arrays/vantara/%s\"",
                              volume),
                     0);
}

/* Lines of the array's call log with op and status. */
static int
calls(const char *op, const char *status)
{
    char cmd[512];
    char line[32] = "";
    FILE *p;

    snprintf(cmd, sizeof(cmd),
             ". \"%s/env\" && grep -F '\"op\": \"%s\"' \"$WORLD_VANTARA_CALLS\" | "
             "grep -cF '\"status\": %s'",
             w.dir, op, status);
    p = popen(cmd, "r");
    assert_non_null(p);
    if (fgets(line, sizeof(line), p) == NULL)
        line[0] = '\0';
    pclose(p);
    return atoi(line);
}

/* ---- array-side copies ---- */

static void
copy_on_array(const char *vm, const char *vmdk, const char *source, const char *method)
{
    struct run r;

    assert_int_equal(world_sh(&w,
                              "head -c \"$WORLD_VC_DISK_BYTES\" /dev/urandom > "
                              "\"$WORLD_ROOT/arrays/vantara/$%s\"",
                              source),
                     0);
    prepare(&r, vm, vmdk, world_get(&w, "WORLD_VANTARA_VOLUME_HANDLE"));
    env(&r, "COPY_SPEED", "faster");
    execute(&r, 0, "copy complete");
    assert_string_equal(method_of(&r), method);
    assert_true(json_is_false(json_object_get(r.result, "xcopy_used")));
    assert_int_equal(world_sh(&w,
                              "cmp \"$WORLD_ROOT/arrays/vantara/$%s\" "
                              "\"$WORLD_ROOT/arrays/vantara/pvc-1\" && grep -q "
                              "'\"copySpeed\": \"faster\"' \"$WORLD_VANTARA_CALLS\"",
                              source),
                     0);
    run_free(&r);
    expect_host_clean();
}

static void
test_vvol_and_rdm_copies(void **state)
{
    (void)state;
    reset();
    copy_on_array("WORLD_VC_VVOL_VM_ID", "WORLD_VC_VVOL_VMDK", "WORLD_VANTARA_VVOL_SOURCE", "vvol");
    copy_on_array("WORLD_VC_RDM_VM_ID", "WORLD_VC_RDM_VMDK", "WORLD_VANTARA_RDM_SOURCE", "rdm");
}

/*
 * DISABLE_VVOL_METHOD / DISABLE_RDM_METHOD: vmkfstools copies instead, and no
 * clone is asked of the array.  The world's RDM raw LUN is not a file its
 * fake vmkfstools can read, so that clone fails on the host (exit 1) after
 * the XCOPY path ran; cleanup is complete either way.
 */
static void
test_disabled_methods_fall_back(void **state)
{
    static const struct {
        const char *key, *vm, *vmdk;
        int status;
        const char *msg;
    } cases[] = {
        {"DISABLE_VVOL_METHOD", "WORLD_VC_VVOL_VM_ID", "WORLD_VC_VVOL_VMDK", 0, "copy complete"},
        {"DISABLE_RDM_METHOD", "WORLD_VC_RDM_VM_ID", "WORLD_VC_RDM_VMDK", 1,
         "clone: clone task failed"},
    };

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        struct run r;
        int clones = calls("snapshots_post", "202");

        reset();
        prepare(&r, cases[i].vm, cases[i].vmdk, world_get(&w, "WORLD_VANTARA_VOLUME_HANDLE"));
        env(&r, cases[i].key, "true");
        execute(&r, cases[i].status, cases[i].msg);
        assert_non_null(strstr(buf_cstr(&r.err), "copy method chosen method=vib"));
        assert_non_null(strstr(buf_cstr(&r.err), "LUN mapped lun=pvc-1"));
        assert_int_equal(calls("snapshots_post", "202"), clones);
        run_free(&r);
        expect_host_clean();
    }
}

/* ---- sessions ---- */

/* The clone outlasts the array's idle lifetime: the first request after it
 * gets a 401, the driver logs in once more, cleanup completes and the new
 * session is deleted at the end. */
static void
test_session_expires_during_copy(void **state)
{
    struct run r;
    int logins = calls("session_create", "200");
    int expired = calls("ldev_get", "401");
    int deleted = calls("session_delete", "200");

    (void)state;
    reset();
    assert_int_equal(world_sh(&w, "echo FAKE_VMKFSTOOLS_DELAY_MS=500 > "
                                  "\"$WORLD_ROOT/etc/fake-vmkfstools.conf\""),
                     0);
    prepare(&r, "WORLD_VC_VM_ID", "WORLD_VC_VM_VMDK", world_get(&w, "WORLD_VANTARA_VOLUME_HANDLE"));
    execute(&r, 0, "copy complete");
    assert_true(calls("ldev_get", "401") > expired);
    assert_true(calls("session_create", "200") >= logins + 2);
    assert_int_equal(calls("session_delete", "200"), deleted + 1);
    expect_xcopied("pvc-1");
    run_free(&r);
    expect_host_clean();
    /* Every session the run made is gone or expired. */
    assert_int_equal(world_sh(&w, "curl -sS --cacert \"$WORLD_ARRAY_CA\" "
                                  "\"https://$WORLD_VANTARA_HOSTNAME/_sim/state\" | grep -q "
                                  "'\"sessions\": 0'"),
                     0);
}

/* ---- a volume already on the worker node ---- */

/* A call to the array's REST API as its CSI driver would make it. */
#define VSP_API                                                                                    \
    "api() { m=$1 p=$2; shift 2; curl -sS --cacert \"$WORLD_ARRAY_CA\" -H "                        \
    "'Content-Type: application/json' -X \"$m\" \"$@\" "                                           \
    "\"https://$WORLD_VANTARA_HOSTNAME/ConfigurationManager/v1/objects/$p\"; }; "                  \
    "tok=$(api POST sessions -u \"$WORLD_VANTARA_USERNAME:$WORLD_VANTARA_PASSWORD\" -d '{}' | "    \
    "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"token\"])') && "                    \
    "A=\"Authorization: Session $tok\"; "

static void
test_worker_path_is_kept(void **state)
{
    struct run r;

    (void)state;
    reset();
    /* The worker node's path, as the CSI driver made it for the prime PVC. */
    assert_int_equal(world_sh(&w, VSP_API "api POST luns -H \"$A\" -d "
                                          "'{\"ldevId\":292,\"portId\":\"CL3-A\","
                                          "\"hostGroupNumber\":7}' | grep -q jobId"),
                     0);
    expect_paths("pvc-2", "CL3-A,7;");
    prepare(&r, "WORLD_VC_VM_ID", "WORLD_VC_VM_VMDK",
            world_get(&w, "WORLD_VANTARA_WORKER_VOLUME_HANDLE"));
    execute(&r, 0, "copy complete");
    assert_string_equal(method_of(&r), "vib");
    assert_true(json_is_array(json_object_get(r.result, "left_behind")));
    assert_int_equal(json_array_size(json_object_get(r.result, "left_behind")), 0);
    run_free(&r);
    expect_xcopied("pvc-2");
    /* Exactly the worker's path: no ESXi host group path was re-added. */
    expect_paths("pvc-2", "CL3-A,7;");
    assert_int_equal(world_sh(&w,
                              "f=\"$WORLD_FABRIC/luns/naa.$(printf %%s "
                              "\"$WORLD_VANTARA_NAA\" | sed 's/^naa.//; s/0123$/0124/').json\"; "
                              "test -f \"$f\" && ! grep -q 21000 \"$f\" && "
                              "! ls \"$WORLD_ROOT/vmfs/devices/disks\" | grep -q 00000124"),
                     0);
}

/* ---- injected failures ---- */

static void
test_failure_at_map(void **state)
{
    struct run r;

    (void)state;
    reset();
    assert_int_equal(world_sh(&w, "echo 'luns_post http 500 {\"errorSource\":\"/x\",\"message\":"
                                  "\"Simulated controller fault.\",\"messageId\":\"KART30000-E\"}' "
                                  "> \"$WORLD_VANTARA_FAULTS\""),
                     0);
    prepare(&r, "WORLD_VC_VM_ID", "WORLD_VC_VM_VMDK", world_get(&w, "WORLD_VANTARA_VOLUME_HANDLE"));
    execute(&r, 1, "Simulated controller fault.");
    assert_string_equal(json_string_value(json_object_get(r.result, "result")), "failure");
    assert_non_null(strstr(buf_cstr(&r.err), "KART30000-E"));
    run_free(&r);
    expect_host_clean();
}

static void
test_failure_at_unmap(void **state)
{
    struct run r;

    (void)state;
    reset();
    assert_int_equal(world_sh(&w, "echo 'luns_delete http 500' > \"$WORLD_VANTARA_FAULTS\""), 0);
    prepare(&r, "WORLD_VC_VM_ID", "WORLD_VC_VM_VMDK", world_get(&w, "WORLD_VANTARA_VOLUME_HANDLE"));
    execute(&r, 0, "left behind");
    assert_non_null(strstr(buf_cstr(&r.err), "CL1-A,1"));
    run_free(&r);
    expect_xcopied("pvc-1");
    /* A later run (the fault gone) maps, copies and unmaps what was left. */
    reset();
    prepare(&r, "WORLD_VC_VM_ID", "WORLD_VC_VM_VMDK", world_get(&w, "WORLD_VANTARA_VOLUME_HANDLE"));
    execute(&r, 0, "copy complete");
    run_free(&r);
    expect_xcopied("pvc-1");
    expect_host_clean();
}

static int
setup(void **state)
{
    static const char *const extra[] = {"WORLD_NO_PRISM=1", "WORLD_VANTARA_SESSION_TTL=2",
                                        "WORLD_RDM_NAA=" RDM_NAA, NULL};

    (void)state;
    return world_start_chroot(&w, extra) < 0 ? -1 : 0;
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
        cmocka_unit_test(test_vvol_and_rdm_copies),
        cmocka_unit_test(test_disabled_methods_fall_back),
        cmocka_unit_test(test_session_expires_during_copy),
        cmocka_unit_test(test_worker_path_is_kept),
        cmocka_unit_test(test_failure_at_map),
        cmocka_unit_test(test_failure_at_unmap),
    };

    return cmocka_run_group_tests_name("vantara through the binary", tests, setup, teardown);
}
