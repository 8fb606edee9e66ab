/*
 * The IBM FlashSystem scenarios through the real binary against the
 * simulated world (vCenter/ESXi, the FlashSystem fake over HTTPS, the real
 * kube-apiserver): the RDM copy by FlashCopy, a volume in a protected pool,
 * a 429 storm, the token cache in the storage-array-secret Secret (reused,
 * and forbidden), and failures injected at map and unmap.  The world starts
 * once for the group; each case resets the faults and the target volume and
 * checks what the array holds afterwards (/_sim/state and its state file).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/buf.h"
#include "test/fake/popcmd.h"
#include "test/fake/proc.h"
#include "test/fake/world.h"

static struct world w;

/* A manual-mode populate onto the seeded FlashSystem volume, configured
 * from the facts the fake exports (as test/sim/populate does). */
static void
cmd_default(struct cmd *c)
{
    char *attrs = strdup(world_get(&w, "WORLD_FLASHSYSTEM_ATTRS"));
    char *save = NULL;

    cmd_manual_start(c, &w, "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5");
    cmd_arg(c, "--storage-vendor-product=flashsystem");
    cmd_arg(c, "--target-volume-handle=%s", world_get(&w, "WORLD_FLASHSYSTEM_VOLUME_HANDLE"));
    for (char *a = strtok_r(attrs, ";", &save); a != NULL; a = strtok_r(NULL, ";", &save))
        cmd_arg(c, "--target-volume-attribute=%s", a);
    free(attrs);
    cmd_env(c, "STORAGE_HOSTNAME", world_get(&w, "WORLD_FLASHSYSTEM_HOSTNAME"));
    cmd_env(c, "STORAGE_USERNAME", world_get(&w, "WORLD_FLASHSYSTEM_USERNAME"));
    cmd_env(c, "STORAGE_PASSWORD", world_get(&w, "WORLD_FLASHSYSTEM_PASSWORD"));
    cmd_vcenter_env(c, &w);
}

/* Pod mode: the volume comes from PVC pvc-fs-1 through the kube-apiserver;
 * the token cache lives in lease_ns. */
static void
cmd_pod(struct cmd *c, const char *lease_ns)
{
    cmd_default(c);
    cmd_drop(c, "--target-volume-");
    cmd_arg(c, "--target-namespace=%s", world_get(&w, "WORLD_KUBE_NAMESPACE"));
    cmd_arg(c, "--owner-name=pvc-fs-1");
    cmd_arg(c, "--kubeconfig=%s", world_get(&w, "WORLD_KUBECONFIG"));
    cmd_env(c, "HOST_LEASE_NAMESPACE", lease_ns);
}

static void
expect(const struct outcome *o, int status, const char *msg)
{
    if (o->status != status || (msg != NULL && strstr(buf_cstr(&o->err), msg) == NULL)) {
        printf("stderr:\n%s\n", buf_cstr(&o->err));
        fail_msg("exit %d (want %d), want message: %s", o->status, status, msg != NULL ? msg : "-");
    }
}

/* The final failure: one error line holding every fragment (NULL-terminated). */
static void
expect_one_error_line(const struct outcome *o, ...)
{
    const char *text = buf_cstr(&o->err);
    const char *line = NULL;
    int n = 0;
    va_list ap;

    for (const char *p = text; (p = strstr(p, " error ")) != NULL; p++) {
        line = p;
        n++;
    }
    if (n != 1) {
        printf("stderr:\n%s\n", text);
        fail_msg("%d error lines (want 1)", n);
    }
    va_start(ap, o);
    for (const char *frag = va_arg(ap, const char *); frag != NULL;
         frag = va_arg(ap, const char *)) {
        const char *eol = strchr(line, '\n');
        const char *hit = strstr(line, frag);

        if (hit == NULL || (eol != NULL && hit > eol)) {
            printf("stderr:\n%s\n", text);
            fail_msg("the error line lacks '%s'", frag);
        }
    }
    va_end(ap);
}

/* The FlashSystem fake's /_sim/state (groups, mappings, volumes) as JSON
 * text without the session count, which a login changes. */
static char *
array_state(void)
{
    char path[512];
    json_t *st;
    char *text;

    snprintf(path, sizeof(path), "%s/fs-state.json", world_get(&w, "WORLD_DIR"));
    assert_int_equal(world_sh(&w,
                              "curl -sSf --cacert \"$WORLD_ARRAY_CA\" "
                              "\"https://$WORLD_FLASHSYSTEM_HOSTNAME/_sim/state\" > %s",
                              path),
                     0);
    st = json_load_file(path, 0, NULL);
    assert_non_null(st);
    json_object_del(st, "sessions");
    text = json_dumps(st, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(st);
    return text;
}

/* Nothing of ours on the array or the host: no host, no mapping, no
 * FlashCopy map, no fabric entry, no device. */
static void
expect_clean(void)
{
    char *st = array_state();
    json_t *doc = json_loads(st, 0, NULL);
    json_t *file;

    if (json_array_size(json_object_get(doc, "mappings")) != 0 ||
        json_array_size(json_object_get(doc, "groups")) != 0)
        fail_msg("left on the array: %s", st);
    file = json_load_file(world_get(&w, "WORLD_FLASHSYSTEM_STATE"), 0, NULL);
    assert_non_null(file);
    if (json_array_size(json_object_get(file, "fcmaps")) != 0)
        fail_msg("FlashCopy maps left: %s", json_dumps(json_object_get(file, "fcmaps"), 0));
    json_decref(file);
    json_decref(doc);
    free(st);
    assert_int_equal(world_sh(&w, "! ls \"$WORLD_FABRIC/luns\" | grep -q naa. && "
                                  "! ls \"$WORLD_ROOT/vmfs/devices/disks\" | grep -q naa."),
                     0);
}

/* The lines of the fake's call log so far. */
static int
calls_now(void)
{
    char line[65536];
    FILE *f = fopen(world_get(&w, "WORLD_FLASHSYSTEM_CALLS"), "r");
    int n = 0;

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL)
        n++;
    fclose(f);
    return n;
}

/* Calls of op logged after line `from` (all statuses). */
static int
calls_since(int from, const char *op)
{
    char line[65536];
    char want[64];
    FILE *f = fopen(world_get(&w, "WORLD_FLASHSYSTEM_CALLS"), "r");
    int i = 0;
    int n = 0;

    snprintf(want, sizeof(want), "\"op\": \"%s\"", op);
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL)
        n += i++ >= from && strstr(line, want) != NULL;
    fclose(f);
    return n;
}

static void
faults(const char *text)
{
    assert_int_equal(world_sh(&w, "printf '%%s' '%s' > \"$WORLD_FLASHSYSTEM_FAULTS\"", text), 0);
}

static void
reset_world(void)
{
    faults("");
    assert_int_equal(world_sh(&w, "dd if=/dev/zero of=\"$WORLD_ROOT/arrays/flashsystem/"
                                  "$WORLD_FLASHSYSTEM_VOLUME\" bs=1M count=8 conv=notrunc "
                                  "status=none"),
                     0);
}

static void
expect_copied(void)
{
    assert_int_equal(world_sh(&w, "cmp -n $(stat -c %%s \"$WORLD_VC_VM_FLAT\") "
                                  "\"$WORLD_VC_VM_FLAT\" "
                                  "\"$WORLD_ROOT/arrays/flashsystem/$WORLD_FLASHSYSTEM_VOLUME\""),
                     0);
}

static void
test_copy_and_rdm_flashcopy(void **state)
{
    struct cmd c;
    struct outcome o;

    (void)state;
    reset_world();
    cmd_default(&c);
    run_cmd(&c, &o);
    expect(&o, 0, "copy complete");
    assert_true(json_is_true(json_object_get(o.result, "xcopy_used")));
    expect_copied();
    assert_null(strstr(buf_cstr(&o.err), world_get(&w, "WORLD_FLASHSYSTEM_PASSWORD")));
    outcome_free(&o);
    cmd_free(&c);
    expect_clean();

    /* The RDM disk's LUN is a FlashSystem volume: the array copies it. */
    assert_int_equal(world_sh(&w,
                              "head -c $(stat -c %%s "
                              "\"$WORLD_ROOT/arrays/flashsystem/$WORLD_FLASHSYSTEM_VOLUME\") "
                              "/dev/urandom > "
                              "\"$WORLD_ROOT/arrays/flashsystem/$WORLD_FLASHSYSTEM_RDM_SOURCE\""),
                     0);
    cmd_default(&c);
    cmd_drop(&c, "--source-");
    cmd_arg(&c, "--source-vm-id=%s", world_get(&w, "WORLD_VC_RDM_VM_ID"));
    cmd_arg(&c, "--source-vmdk=%s", world_get(&w, "WORLD_VC_RDM_VMDK"));
    run_cmd(&c, &o);
    expect(&o, 0, "copy complete");
    assert_string_equal(json_string_value(json_object_get(o.result, "method")), "rdm");
    assert_true(json_is_false(json_object_get(o.result, "xcopy_used")));
    assert_null(strstr(buf_cstr(&o.err), "LUN mapped"));
    assert_int_equal(
        world_sh(&w, "cmp \"$WORLD_ROOT/arrays/flashsystem/$WORLD_FLASHSYSTEM_RDM_SOURCE\" "
                     "\"$WORLD_ROOT/arrays/flashsystem/$WORLD_FLASHSYSTEM_VOLUME\""),
        0);
    outcome_free(&o);
    cmd_free(&c);
    expect_clean();
}

static void
test_protected_pool_touches_nothing(void **state)
{
    struct cmd c;
    struct outcome o;
    char *before;
    char *after;
    int from = calls_now();

    (void)state;
    reset_world();
    before = array_state();
    cmd_default(&c);
    cmd_drop(&c, "--target-volume-handle=");
    cmd_arg(&c, "--target-volume-handle=%s", world_get(&w, "WORLD_FLASHSYSTEM_PROTECTED_HANDLE"));
    run_cmd(&c, &o);
    expect(&o, 1, NULL);
    expect_one_error_line(&o, "pool 'ProtectedPool'", "vdisk_protection_enabled=yes",
                          world_get(&w, "WORLD_FLASHSYSTEM_PROTECTED_VOLUME"), NULL);
    after = array_state();
    assert_string_equal(before, after);
    /* Stopped before the host: nothing was created, mapped or removed. */
    assert_int_equal(calls_since(from, "mkhost"), 0);
    assert_int_equal(calls_since(from, "mkvdiskhostmap"), 0);
    assert_int_equal(calls_since(from, "rmvdiskhostmap"), 0);
    assert_null(strstr(buf_cstr(&o.err), "LUN mapped"));
    free(before);
    free(after);
    outcome_free(&o);
    cmd_free(&c);
    expect_clean();
}

static void
test_429_storm_backs_off(void **state)
{
    struct cmd c;
    struct outcome o;
    int from = calls_now();
    char path[512];
    double t[8] = {0};
    int n429 = 0;
    int i = 0;
    FILE *f;
    char line[65536];

    (void)state;
    reset_world();
    faults("* http 429 once\n* http 429 once\n* http 429 once\n");
    cmd_default(&c);
    run_cmd(&c, &o);
    expect(&o, 0, "copy complete");
    expect_copied();
    outcome_free(&o);
    cmd_free(&c);
    expect_clean();
    /* Three refusals of the login, each followed by a longer wait. */
    snprintf(path, sizeof(path), "%s", world_get(&w, "WORLD_FLASHSYSTEM_CALLS"));
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        json_t *rec;

        if (i++ < from)
            continue;
        rec = json_loads(line, 0, NULL);
        assert_non_null(rec);
        if (n429 < 4 && (n429 > 0 || json_integer_value(json_object_get(rec, "status")) == 429))
            t[n429++] = json_real_value(json_object_get(rec, "ts"));
        json_decref(rec);
    }
    fclose(f);
    assert_int_equal(n429, 4);
    /* Backoff from 1 s doubling, each delay within +-50 % jitter. */
    for (int k = 1; k < 4; k++)
        if (t[k] - t[k - 1] < 0.45 * (1 << (k - 1)))
            fail_msg("request %d came %.3f s after a 429", k + 1, t[k] - t[k - 1]);
    printf("429 storm: waits %.2f s, %.2f s, %.2f s\n", t[1] - t[0], t[2] - t[1], t[3] - t[2]);
}

/* The Secret's cached entry for our array, decoded, or "" when absent. */
static char *
cached_entry(const char *ns)
{
    struct buf out = {0};
    struct buf errout = {0};
    char cmdline[1024];
    const char *argv[] = {"/bin/sh", "-c", cmdline, NULL};
    const char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    int status = 0;

    snprintf(cmdline, sizeof(cmdline),
             ". %s/env && key=flashsystem-token-$(printf %%s \"$WORLD_FLASHSYSTEM_HOSTNAME\" | "
             "tr .: --) && curl -sSf --cacert \"$WORLD_KUBE_CA\" -H \"Authorization: Bearer "
             "$WORLD_KUBE_ADMIN_TOKEN\" "
             "\"$WORLD_KUBE_SERVER/api/v1/namespaces/%s/secrets/storage-array-secret\" | "
             "jq -j --arg k \"$key\" '.data[$k] // \"\" | @base64d'",
             w.dir, ns);
    assert_int_equal(proc_run(argv[0], argv, envp, &out, &errout, &status), 0);
    if (status != 0)
        fail_msg("reading the Secret in '%s': %s", ns, buf_cstr(&errout));
    buf_free(&errout);
    return buf_steal(&out);
}

static void
test_token_cache_in_pod_mode(void **state)
{
    struct cmd c;
    struct outcome o;
    int from;
    int auths[2];
    char *entry;
    json_t *doc;

    (void)state;
    reset_world();
    from = calls_now();
    cmd_pod(&c, world_get(&w, "WORLD_KUBE_LEASE_NAMESPACE"));
    run_cmd(&c, &o);
    expect(&o, 0, "copy complete");
    assert_non_null(strstr(buf_cstr(&o.err), "host lease acquired"));
    expect_copied();
    auths[0] = calls_since(from, "auth");
    outcome_free(&o);
    expect_clean();
    /* The token went to the Secret as {"token", "updatedAt"}. */
    entry = cached_entry(world_get(&w, "WORLD_KUBE_LEASE_NAMESPACE"));
    doc = json_loads(entry, 0, NULL);
    if (doc == NULL || json_string_length(json_object_get(doc, "token")) == 0 ||
        json_string_length(json_object_get(doc, "updatedAt")) < 20)
        fail_msg("cached entry: '%s'", entry);
    json_decref(doc);
    free(entry);

    /* A second pod takes the cached token: no login at all. */
    reset_world();
    from = calls_now();
    run_cmd(&c, &o);
    expect(&o, 0, "copy complete");
    expect_copied();
    auths[1] = calls_since(from, "auth");
    outcome_free(&o);
    cmd_free(&c);
    expect_clean();
    printf("token cache: auth calls %d then %d\n", auths[0], auths[1]);
    assert_int_equal(auths[0], 1);
    assert_int_equal(auths[1], 0);
}

static void
test_forbidden_token_cache_is_quiet(void **state)
{
    struct cmd c;
    struct outcome o;
    const char *ns = world_get(&w, "WORLD_KUBE_NAMESPACE");
    int from;
    int cache_lines = 0;
    char *entry;

    (void)state;
    reset_world();
    from = calls_now();
    /* A Secret the populator may not touch: its RBAC covers openshift-mtv only. */
    cmd_pod(&c, ns);
    run_cmd(&c, &o);
    expect(&o, 0, "copy complete");
    assert_null(strstr(buf_cstr(&o.err), "token cache"));
    assert_int_equal(calls_since(from, "auth"), 1);
    outcome_free(&o);
    expect_clean();

    /* At debug, each failed access is one debug line naming the refusal. */
    reset_world();
    cmd_arg(&c, "--log-level=debug");
    run_cmd(&c, &o);
    expect(&o, 0, "copy complete");
    for (const char *p = buf_cstr(&o.err); (p = strstr(p, "token cache")) != NULL; p++) {
        const char *bol = p;

        while (bol > buf_cstr(&o.err) && bol[-1] != '\n')
            bol--;
        if (strncmp(bol + 25, "debug ", 6) != 0)
            fail_msg("a token cache line above debug:\n%.*s", (int)(strchr(p, '\n') - bol), bol);
        cache_lines++;
    }
    assert_true(cache_lines >= 2);
    assert_non_null(strstr(buf_cstr(&o.err), "forbidden"));
    entry = cached_entry(ns);
    assert_string_equal(entry, "");
    free(entry);
    outcome_free(&o);
    cmd_free(&c);
    expect_clean();
}

/* Removes a mapping and a host the populator could not remove itself. */
static void
undo_on_array(void)
{
    assert_int_equal(
        world_sh(&w,
                 "u=https://$WORLD_FLASHSYSTEM_HOSTNAME/rest/v1; c=\"curl -sSf --cacert "
                 "$WORLD_ARRAY_CA -X POST -H Content-Type:application/json\"; "
                 "t=$($c -H \"X-Auth-Username: $WORLD_FLASHSYSTEM_USERNAME\" -H \"X-Auth-Password: "
                 "$WORLD_FLASHSYSTEM_PASSWORD\" $u/auth | jq -r .token) && "
                 "for h in $($c -H \"X-Auth-Token: $t\" -d '{}' $u/lshost | jq -r '.[].id'); do "
                 "$c -H \"X-Auth-Token: $t\" -d '{\"force\":true}' $u/rmhost/$h >/dev/null || "
                 "exit 1; done"),
        0);
}

static void
test_failure_at_map_and_unmap(void **state)
{
    struct cmd c;
    struct outcome o;
    char *vol = NULL;

    (void)state;
    reset_world();
    faults("mkvdiskhostmap http 500 CMMVC6070E An invalid or duplicated parameter, unaccompanied "
           "argument, or incorrect argument sequence has been detected.\n");
    cmd_default(&c);
    run_cmd(&c, &o);
    expect(&o, 1, NULL);
    expect_one_error_line(&o, "map: ", "CMMVC6070E", world_get(&w, "WORLD_FLASHSYSTEM_VOLUME"),
                          NULL);
    assert_string_equal(json_string_value(json_object_get(o.result, "result")), "failure");
    assert_int_equal(json_array_size(json_object_get(o.result, "left_behind")), 0);
    outcome_free(&o);
    cmd_free(&c);
    /* Nothing mapped, and the host this run created is gone again. */
    expect_clean();

    reset_world();
    faults("rmvdiskhostmap http 500 CMMVC5786E The action failed because the cluster is not in a "
           "stable state.\n");
    cmd_default(&c);
    run_cmd(&c, &o);
    expect(&o, 0, NULL);
    vol = strdup(world_get(&w, "WORLD_FLASHSYSTEM_VOLUME"));
    /* Copied: no error line, one warning naming what is left. */
    assert_null(strstr(buf_cstr(&o.err), " error "));
    assert_non_null(
        strstr(buf_cstr(&o.err), "populate succeeded, but cleanup left something behind"));
    assert_non_null(strstr(buf_cstr(&o.err), "copied; left behind: LUN '"));
    /* The array's refusal is in the warning of the cleanup step. */
    assert_non_null(strstr(buf_cstr(&o.err), "cleanup step failed"));
    assert_non_null(strstr(buf_cstr(&o.err), "CMMVC5786E"));
    assert_int_equal(json_array_size(json_object_get(o.result, "left_behind")), 1);
    assert_non_null(strstr(
        json_string_value(json_array_get(json_object_get(o.result, "left_behind"), 0)), vol));
    outcome_free(&o);
    cmd_free(&c);
    faults("");
    undo_on_array();
    free(vol);
    expect_clean();
}

/* pvc-fs-1 and its prime PVC bound to a FlashSystem PV, and the empty
 * storage-array-secret in the lease namespace and in the PVC's namespace
 * (where the populator's RBAC does not reach Secrets). */
static int
seed_cluster(void)
{
    return world_sh(
        &w, "set -e; k() { curl -sSf --cacert \"$WORLD_KUBE_CA\" -H \"Authorization: Bearer "
            "$WORLD_KUBE_ADMIN_TOKEN\" -H Content-Type:application/json -X POST "
            "--data-binary \"$2\" \"$WORLD_KUBE_SERVER$1\"; }; "
            "ns=$WORLD_KUBE_NAMESPACE; "
            "k /api/v1/persistentvolumes \"$(jq -cn --arg h \"$WORLD_FLASHSYSTEM_VOLUME_HANDLE\" "
            "'{metadata:{name:\"pv-fs-1\"},spec:{capacity:{storage:\"1Gi\"},accessModes:"
            "[\"ReadWriteOnce\"],volumeMode:\"Block\",csi:{driver:\"block.csi.ibm.com\","
            "volumeHandle:$h,volumeAttributes:{pool_name:\"Pool0\",storage_type:\"SVC\"}}}}')\" "
            ">/dev/null; "
            "pvc() { k /api/v1/namespaces/$ns/persistentvolumeclaims \"$(jq -cn --arg n \"$1\" "
            "--arg v \"$2\" '{metadata:{name:$n},spec:{accessModes:[\"ReadWriteOnce\"],volumeMode:"
            "\"Block\",resources:{requests:{storage:\"1Gi\"}}}} | if $v != \"\" then "
            ".spec.volumeName = $v else . end')\" | jq -r .metadata.uid; }; "
            "uid=$(pvc pvc-fs-1 ''); pvc prime-$uid pv-fs-1 >/dev/null; "
            "for s in \"$WORLD_KUBE_LEASE_NAMESPACE\" \"$ns\"; do "
            "k /api/v1/namespaces/$s/secrets "
            "'{\"metadata\":{\"name\":\"storage-array-secret\"},\"type\":\"Opaque\"}' >/dev/null; "
            "done");
}

static int
setup(void **state)
{
    static const char *const with_kube[] = {"WORLD_NO_KUBE=0", NULL};

    (void)state;
    if (world_start_chroot(&w, with_kube) < 0)
        return -1;
    if (world_find(&w, "WORLD_FLASHSYSTEM_HOSTNAME") == NULL) {
        printf("SKIP: the world has no FlashSystem fake\n");
        world_stop(&w);
        return -1;
    }
    if (seed_cluster() != 0) {
        printf("cannot seed the cluster with the FlashSystem PV, PVCs and Secrets\n");
        world_stop(&w);
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
        cmocka_unit_test(test_copy_and_rdm_flashcopy),
        cmocka_unit_test(test_protected_pool_touches_nothing),
        cmocka_unit_test(test_429_storm_backs_off),
        cmocka_unit_test(test_token_cache_in_pod_mode),
        cmocka_unit_test(test_forbidden_token_cache_is_quiet),
        cmocka_unit_test(test_failure_at_map_and_unmap),
    };

    /* FS_TEST=<glob> runs only the matching cases (the world still starts once). */
    if (getenv("FS_TEST") != NULL)
        cmocka_set_test_filter(getenv("FS_TEST"));
    return cmocka_run_group_tests_name("flashsystem through the binary", tests, setup, teardown);
}
