/*
 * PowerFlex scenarios through the real binary in the simulated world: the
 * SDC GUID from the host's scini module reaches the array, a failure at map
 * and at unmap gives the exit status and the one-line message (naming what
 * is left), and a host without a matching SDC fails clearly, creating
 * nothing.
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

static struct world w;

struct run {
    const char *argv[16];
    char *envp[16];
    size_t argc;
    size_t envc;
    int status;
    struct buf out;
    struct buf err;
};

static void arg(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
arg(struct run *r, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    r->argv[r->argc++] = strdup(tmp);
}

static void
env(struct run *r, const char *key, const char *v)
{
    char tmp[1024];

    snprintf(tmp, sizeof(tmp), "%s=%s", key, v);
    r->envp[r->envc++] = strdup(tmp);
}

/* One manual-mode copy of the world's PowerFlex volume. */
static void
populate(struct run *r)
{
    memset(r, 0, sizeof(*r));
    arg(r, "%s", proc_pop_bin());
    arg(r, "--source-vm-id=%s", world_get(&w, "WORLD_VC_VM_ID"));
    arg(r, "--source-vmdk=%s", world_get(&w, "WORLD_VC_VM_VMDK"));
    arg(r, "--owner-uid=%s", "6f1c2a9e-0b7d-4d1e-9a55-2c3b4d5e6f70");
    arg(r, "%s", "--metrics-listen=");
    arg(r, "%s", "--output=json");
    arg(r, "--storage-ca-file=%s", world_get(&w, "WORLD_ARRAY_CA"));
    arg(r, "%s", "--storage-vendor-product=powerflex");
    arg(r, "--target-volume-handle=%s", world_get(&w, "WORLD_POWERFLEX_VOLUME_HANDLE"));
    arg(r, "--target-volume-attribute=%s", world_get(&w, "WORLD_POWERFLEX_ATTRS"));
    env(r, "STORAGE_HOSTNAME", world_get(&w, "WORLD_POWERFLEX_HOSTNAME"));
    env(r, "STORAGE_USERNAME", world_get(&w, "WORLD_POWERFLEX_USERNAME"));
    env(r, "STORAGE_PASSWORD", world_get(&w, "WORLD_POWERFLEX_PASSWORD"));
    env(r, "POWERFLEX_SYSTEM_ID", world_get(&w, "WORLD_POWERFLEX_SYSTEM_ID"));
    env(r, "GOVMOMI_HOSTNAME", world_get(&w, "GOVMOMI_HOSTNAME"));
    env(r, "GOVMOMI_USERNAME", world_get(&w, "GOVMOMI_USERNAME"));
    env(r, "GOVMOMI_PASSWORD", world_get(&w, "GOVMOMI_PASSWORD"));
    env(r, "GOVMOMI_INSECURE", "true");
    env(r, "PATH", "/usr/bin:/bin");
    assert_int_equal(
        proc_run(r->argv[0], r->argv, (const char *const *)r->envp, &r->out, &r->err, &r->status),
        0);
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
}

static void
expect(struct run *r, int status, const char *msg)
{
    if (r->status != status || strstr(buf_cstr(&r->err), msg) == NULL)
        fail_msg("exit %d (want %d), stderr:\n%s\nwant message: %s", r->status, status,
                 buf_cstr(&r->err), msg);
}

/* Mappings and SDCs on the array, and the fabric file of the volume. */
static size_t
array_count(const char *what)
{
    json_t *st = json_load_file(world_get(&w, "WORLD_POWERFLEX_STATE"), 0, NULL);
    size_t n;

    assert_non_null(st);
    n = json_array_size(json_object_get(st, what));
    json_decref(st);
    return n;
}

static void
expect_clean(void)
{
    assert_int_equal(array_count("mappings"), 0);
    assert_int_equal(world_sh(&w,
                              "[ ! -e \"$WORLD_FABRIC/luns/$WORLD_POWERFLEX_NAA.json\" ] && "
                              "[ ! -e \"$WORLD_ROOT/vmfs/devices/disks/$WORLD_POWERFLEX_NAA\" ]"),
                     0);
}

static void
faults(const char *line)
{
    assert_int_equal(world_sh(&w, "printf '%%s\\n' '%s' > \"$WORLD_POWERFLEX_FAULTS\"", line), 0);
}

static void
test_copy(void **state)
{
    struct run r;

    (void)state;
    faults("");
    populate(&r);
    expect(&r, 0, "copy complete");
    /* The device the host saw is the eui name, through the SDC. */
    assert_non_null(strstr(buf_cstr(&r.err), world_get(&w, "WORLD_POWERFLEX_NAA")));
    assert_int_equal(world_sh(&w, "f=$(test/sim/populate \"$WORLD_DIR\" powerflex file) && "
                                  "cmp -n $(stat -c %%s \"$WORLD_VC_VM_FLAT\") "
                                  "\"$WORLD_VC_VM_FLAT\" \"$f\""),
                     0);
    /* The flow asked the host's scini module for the SDC GUID. */
    assert_true(world_count_calls(&w, "QueryConfiguredModuleOptionString", NULL) > 0);
    expect_clean();
    run_free(&r);
}

static void
test_map_fails(void **state)
{
    struct run r;

    (void)state;
    faults("volume_map http 500");
    populate(&r);
    expect(&r, 1, "map: failed to map LUN '");
    assert_non_null(strstr(buf_cstr(&r.err), "injected fault"));
    faults("");
    expect_clean();
    run_free(&r);
}

static void
test_unmap_fails_leftover_named(void **state)
{
    struct run r;

    (void)state;
    faults("volume_unmap http 500");
    populate(&r);
    expect(&r, 0, "still mapped to initiator group '");
    assert_non_null(strstr(buf_cstr(&r.err), world_get(&w, "WORLD_POWERFLEX_VOLUME")));
    assert_int_equal(array_count("mappings"), 1);
    run_free(&r);
    /* A second run finds the mapping there (success) and removes it. */
    faults("");
    populate(&r);
    expect(&r, 0, "copy complete");
    expect_clean();
    run_free(&r);
}

static void
test_no_matching_sdc(void **state)
{
    struct run r;
    size_t sdcs = array_count("sdcs");

    (void)state;
    /* The array lists no SDC with the host's GUID. */
    faults("sdcs_get http 200 []");
    populate(&r);
    expect(&r, 1, world_get(&w, "WORLD_VC_HOST_SDC_GUID"));
    assert_non_null(strstr(buf_cstr(&r.err), "never creates SDCs"));
    faults("");
    assert_int_equal(array_count("sdcs"), sdcs);
    expect_clean();
    run_free(&r);
}

static int
setup(void **state)
{
    static const char *const no_kube[] = {"WORLD_NO_KUBE=1", NULL};

    (void)state;
    return world_start_chroot(&w, no_kube) < 0 ? -1 : 0;
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
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_map_fails),
        cmocka_unit_test(test_unmap_fails_leftover_named),
        cmocka_unit_test(test_no_matching_sdc),
    };

    return cmocka_run_group_tests_name("powerflex end to end", tests, setup, teardown);
}
