/*
 * Adapter choice by the array's target ports, end to end: the real binary
 * against a world whose datastore LUN is reached only through the iSCSI
 * adapter (WORLD_DS_PATHS=vmhba65:active).  The ONTAP fake lists only FC
 * target ports, which the host sees through its FC adapter vmhba2; the Pure
 * fake lists ports of its own that no host sees.  So ONTAP copies must go
 * through an FC igroup and Pure copies keep today's choice (the datastore's
 * iSCSI adapter).  Each case checks the bytes and that nothing stays mapped.
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
#include "test/fake/popcmd.h"
#include "test/fake/proc.h"
#include "test/fake/world.h"

static struct world w;

/* One populate: the command line it ran and what came of it. */
struct run {
    struct cmd c;
    struct outcome o;
};

/* One manual-mode populate against the world's ONTAP or Pure array. */
static void
populate(struct run *r, const char *vendor)
{
    bool pure = strcmp(vendor, "pure") == 0;
    struct cmd *c = &r->c;

    memset(r, 0, sizeof(*r));
    cmd_manual_start(c, &w, "0d1f4c3e-8a55-4f0e-b1c2-7e6a5d4c3b21");
    if (pure)
        cmd_pure_target(c, &w);
    else
        cmd_ontap_target(c, &w);
    cmd_vcenter_env(c, &w);
    run_cmd(c, &r->o);
    if (r->o.status != 0 || r->o.result == NULL)
        fail_msg("exit %d, stderr:\n%s", r->o.status, buf_cstr(&r->o.err));
}

static void
run_free(struct run *r)
{
    cmd_free(&r->c);
    outcome_free(&r->o);
}

static void
expect_log(const struct run *r, const char *a, const char *b)
{
    /* One log line holds both. */
    const char *p = buf_cstr(&r->o.err);

    for (const char *hit = strstr(p, a); hit != NULL; hit = strstr(hit + 1, a)) {
        const char *eol = strchr(hit, '\n');
        const char *bh = strstr(hit, b);

        if (bh != NULL && (eol == NULL || bh < eol))
            return;
    }
    fail_msg("no log line with '%s' and '%s' in:\n%s", a, b, p);
}

static const char *
protocol_of(const struct run *r)
{
    return json_string_value(json_object_get(r->o.result, "storage_protocol"));
}

/* The target volume holds the disk's bytes, and nothing of ours is left. */
static void
expect_copied_and_clean(const char *vendor)
{
    bool pure = strcmp(vendor, "pure") == 0;

    assert_int_equal(world_sh(&w,
                              "f=$(ls \"$WORLD_ROOT/arrays/%s/\"* | grep -v -e rdm -e vvol | head "
                              "-n 1) && cmp -n $(stat -c %%s \"$WORLD_VC_VM_FLAT\") "
                              "\"$WORLD_VC_VM_FLAT\" \"$f\"",
                              vendor),
                     0);
    assert_int_equal(world_sh(&w, "! ls \"$WORLD_FABRIC/luns\" | grep -q naa. && ! ls "
                                  "\"$WORLD_ROOT/vmfs/devices/disks\" | grep -q naa."),
                     0);
    assert_int_equal(world_sh(&w,
                              "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
                              "sys.exit(len(d[sys.argv[2]]) != 0)' \"$WORLD_%s_STATE\" %s",
                              pure ? "PURE" : "ONTAP", pure ? "connections" : "lun_maps"),
                     0);
}

static void
test_ontap_fc_ports_win_over_iscsi_datastore(void **state)
{
    struct run r;

    (void)state;
    populate(&r, "ontap");
    expect_log(&r, "adapters chosen by the array's target ports", "adapters=vmhba2 ");
    assert_string_equal(protocol_of(&r), "fc");
    expect_copied_and_clean("ontap");
    /* The array got an FC igroup holding the host's FC WWPN, and no iSCSI one. */
    assert_int_equal(
        world_sh(&w,
                 "wwpn=$(printf %%s \"${WORLD_VC_HOST_FC#*:}\" | sed 's/../&:/g; s/:$//'); "
                 "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
                 "g=[g for g in d[\"igroups\"] if g[\"name\"].startswith(\"xcopy-\")]; "
                 "sys.exit(not (len(g) == 1 and g[0][\"protocol\"] == \"fcp\" and "
                 "g[0][\"name\"].endswith(\"-fcp\") and g[0][\"initiators\"] == [sys.argv[2]]))' "
                 "\"$WORLD_ONTAP_STATE\" \"$wwpn\""),
        0);
    /* Two more array requests for the ports, one more SOAP call for the topology. */
    assert_int_equal(world_sh(&w, "grep -q fc_interface_list \"$WORLD_ONTAP_CALLS\" && grep -q "
                                  "iscsi_service_list \"$WORLD_ONTAP_CALLS\""),
                     0);
    run_free(&r);
}

static void
test_ontap_ports_unavailable_keeps_datastore_choice(void **state)
{
    struct run r;

    (void)state;
    assert_int_equal(world_sh(&w, "echo 'fc_interface_list http 403' > \"$WORLD_ONTAP_FAULTS\""),
                     0);
    populate(&r, "ontap");
    assert_int_equal(world_sh(&w, ": > \"$WORLD_ONTAP_FAULTS\""), 0);
    expect_log(&r, "adapters chosen by the datastore's active paths",
               "the array's target ports are unavailable");
    expect_log(&r, "adapters chosen by the datastore's active paths", "adapters=vmhba65 ");
    assert_string_equal(protocol_of(&r), "iscsi");
    expect_copied_and_clean("ontap");
    run_free(&r);
}

static void
test_pure_foreign_ports_keep_datastore_choice(void **state)
{
    struct run r;

    (void)state;
    populate(&r, "pure");
    expect_log(&r, "adapters chosen by the datastore's active paths", "adapters=vmhba65 ");
    expect_log(&r, "adapters chosen by the datastore's active paths",
               "no adapter of the host sees the array's target ports");
    assert_string_equal(protocol_of(&r), "iscsi");
    expect_copied_and_clean("pure");
    /* The host object holds the host's IQN and no WWN. */
    assert_int_equal(world_sh(&w, "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
                                  "h=[h for h in d[\"hosts\"] if sys.argv[2] in h[\"iqns\"]]; "
                                  "sys.exit(not (len(h) == 1 and h[0][\"wwns\"] == []))' "
                                  "\"$WORLD_PURE_STATE\" \"$WORLD_VC_HOST_IQN\""),
                     0);
    assert_int_equal(world_sh(&w, "grep -q ports_get \"$WORLD_PURE_CALLS\""), 0);
    run_free(&r);
}

static int
setup(void **state)
{
    static const char *const knobs[] = {"WORLD_DS_PATHS=vmhba65:active", "WORLD_ONTAP_PORTS=fc",
                                        "WORLD_PURE_PORTS=foreign", NULL};

    (void)state;
    return world_start_chroot(&w, knobs);
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
        cmocka_unit_test(test_ontap_fc_ports_win_over_iscsi_datastore),
        cmocka_unit_test(test_ontap_ports_unavailable_keeps_datastore_choice),
        cmocka_unit_test(test_pure_foreign_ports_keep_datastore_choice),
    };

    return cmocka_run_group_tests_name("adapter choice by target ports", tests, setup, teardown);
}
