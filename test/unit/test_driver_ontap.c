/*
 * The ONTAP driver against the scripted transport (request bodies asserted
 * exactly), plus the storage.c registry and dispatch wrappers.
 * Shapes follow the ONTAP 9.x REST reference (vendors-a.md §1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "storage/storage.h"
#include "test/fake/fake_transport.h"

#define BASIC "Authorization: Basic YWRtaW46c2VjcmV0" /* admin:secret */

#define SVM_Q "/api/svm/svms?name=svm1&fields=name,uuid"
#define SVM_R "{\"records\":[{\"uuid\":\"svm-uuid-1\",\"name\":\"svm1\"}],\"num_records\":1}"

#define LUN_PATH "/vol/trident_pvc_1/lun0"
#define LUN_ENC  "%2Fvol%2Ftrident_pvc_1%2Flun0"
#define LUN_Q                                                                                      \
    "/api/storage/luns?svm.uuid=svm-uuid-1&name=" LUN_ENC "&fields=uuid,name,serial_number"
#define LUN_R                                                                                      \
    "{\"records\":[{\"uuid\":\"lun-uuid-1\",\"name\":\"" LUN_PATH                                  \
    "\",\"serial_number\":\"wFZ7p?QYvV8d\"}],\"num_records\":1}"
#define NAA "naa.600a098077465a37703f515976563864"

#define HOST_GROUP "xcopy-hostsystem-host-123"
#define IG         HOST_GROUP "-iscsi"
#define IG_FC      HOST_GROUP "-fcp"
#define IG_Q(ig)                                                                                   \
    "/api/protocols/san/igroups?svm.uuid=svm-uuid-1&name=" ig                                      \
    "&fields=uuid,name,protocol,initiators.name"
#define IG_CREATE "/api/protocols/san/igroups?return_records=true"
#define IQN1      "iqn.1998-01.com.vmware:esx01-1234"
#define IQN2      "iqn.1998-01.com.vmware:esx01-5678"

#define MAPS_FIELDS "&fields=igroup.name,igroup.uuid,lun.uuid,logical_unit_number"
#define MAPS_Q(ig)                                                                                 \
    "/api/protocols/san/lun-maps?svm.uuid=svm-uuid-1&lun.name=" LUN_ENC                            \
    "&igroup.name=" ig MAPS_FIELDS
#define MAPS_ALL_Q "/api/protocols/san/lun-maps?svm.uuid=svm-uuid-1&lun.name=" LUN_ENC MAPS_FIELDS
#define MAP_REC(ig, iguuid)                                                                        \
    "{\"records\":[{\"igroup\":{\"name\":\"" ig "\",\"uuid\":\"" iguuid                            \
    "\"},\"lun\":{\"name\":\"" LUN_PATH "\",\"uuid\":\"lun-uuid-1\"},\"logical_unit_number\":1}]," \
    "\"num_records\":1}"
#define EMPTY "{\"records\":[],\"num_records\":0}"

static const struct fake_exchange open_svm1[] = {
    {"GET", SVM_Q, NULL, BASIC, 200, SVM_R, NULL, 0},
};

struct fixture {
    struct fake_transport *ft;
    struct storage *st;
};

/* Opens the driver on a fresh fake, after scripting ex (the open traffic). */
static int
open_with(struct fixture *f, const char *svm, const struct fake_exchange *ex, size_t n,
          struct perr *err)
{
    struct http_transport t;
    struct storage_config cfg = {
        .hostname = "127.0.0.1:8443",
        .username = "admin",
        .password = "secret",
        .timeout_s = 5,
        .retry_initial_ms = 1,
    };

    struct storage_kv env[] = {{"ONTAP_SVM", svm}};

    cfg.env = env;
    cfg.nenv = svm != NULL ? 1 : 0;
    f->ft = fake_transport_new();
    fake_transport_add(f->ft, ex, n);
    t = fake_transport_http(f->ft);
    cfg.transport = &t;
    return storage_open(&storage_ontap, &cfg, &f->st, err);
}

static struct fixture
opened(void)
{
    struct fixture f = {0};
    struct perr err = {0};

    assert_int_equal(open_with(&f, "svm1", open_svm1, 1, &err), 0);
    return f;
}

static void
done(struct fixture *f)
{
    fake_transport_verify(f->ft);
    storage_free(f->st);
    fake_transport_free(f->ft);
}

static const struct storage_attr pv_attrs[] = {
    {"backendUUID", "b-1"},
    {"internalName", "trident_pvc_1"},
};
static const struct storage_pv pv = {
    .name = "pvc-1",
    .volume_handle = "pvc-1",
    .csi_driver = "csi.trident.netapp.io",
    .attrs = pv_attrs,
    .nattrs = 2,
};

/* ---- the whole XCOPY sequence ---- */

static void
test_full_sequence_iscsi(void **state)
{
    static const struct fake_exchange ex[] = {
        /* ensure: missing -> created with both initiators */
        {"GET", IG_Q(IG), NULL, BASIC, 200, EMPTY, NULL, 0},
        {"POST", IG_CREATE,
         "{\"name\":\"" IG "\",\"protocol\":\"iscsi\",\"os_type\":\"vmware\","
         "\"svm\":{\"uuid\":\"svm-uuid-1\"},\"initiators\":[{\"name\":\"" IQN1
         "\"},{\"name\":\"" IQN2 "\"}]}",
         BASIC, 201, "{\"records\":[{\"uuid\":\"ig-1\",\"name\":\"" IG "\"}],\"num_records\":1}",
         NULL, 0},
        /* ensure again: exists with one initiator -> only the missing one added */
        {"GET", IG_Q(IG), NULL, NULL, 200,
         "{\"records\":[{\"uuid\":\"ig-1\",\"name\":\"" IG "\",\"protocol\":\"iscsi\","
         "\"initiators\":[{\"name\":\"" IQN1 "\"}]}],\"num_records\":1}",
         NULL, 0},
        {"POST", "/api/protocols/san/igroups/ig-1/initiators", "{\"name\":\"" IQN2 "\"}", BASIC,
         201, "{}", NULL, 0},
        /* ensure a third time: complete (ONTAP kept an IQN in another case) -> nothing */
        {"GET", IG_Q(IG), NULL, NULL, 200,
         "{\"records\":[{\"uuid\":\"ig-1\",\"name\":\"" IG "\",\"initiators\":[{\"name\":\"" IQN1
         "\"},{\"name\":\"iqn.1998-01.com.VMware:esx01-5678\"}]}],\"num_records\":1}",
         NULL, 0},
        /* resolve */
        {"GET", LUN_Q, NULL, BASIC, 200, LUN_R, NULL, 0},
        /* mapped groups (Trident's node igroup) */
        {"GET", MAPS_ALL_Q, NULL, NULL, 200, MAP_REC("trident-node-1", "ig-node"), NULL, 0},
        /* map: POST at once (no listing first); the record names the igroup's uuid */
        {"POST", "/api/protocols/san/lun-maps?return_records=true",
         "{\"igroup\":{\"name\":\"" IG "\"},\"lun\":{\"name\":\"" LUN_PATH
         "\",\"uuid\":\"lun-uuid-1\"},\"svm\":{\"uuid\":\"svm-uuid-1\"}}",
         BASIC, 201,
         "{\"records\":[{\"igroup\":{\"name\":\"" IG "\",\"uuid\":\"ig-1\"},"
         "\"logical_unit_number\":3}],\"num_records\":1}",
         NULL, 0},
        /* map again: already mapped -> 409 is success */
        {"POST", "/api/protocols/san/lun-maps?return_records=true",
         "{\"igroup\":{\"name\":\"" IG "\"},\"lun\":{\"name\":\"" LUN_PATH
         "\",\"uuid\":\"lun-uuid-1\"},\"svm\":{\"uuid\":\"svm-uuid-1\"}}",
         NULL, 409,
         "{\"error\":{\"message\":\"LUN already mapped to this group\",\"code\":\"5374922\"}}",
         NULL, 0},
        /* unmap: the map this run made, deleted by its uuids without a listing */
        {"DELETE", "/api/protocols/san/lun-maps/lun-uuid-1/ig-1", NULL, BASIC, 200, NULL, NULL, 0},
        /* unmap again: nothing made any more -> listed, not mapped -> nothing */
        {"GET", MAPS_Q(IG), NULL, NULL, 200, EMPTY, NULL, 0},
        /* re-map the original group: still mapped -> 409 -> nothing */
        {"POST", "/api/protocols/san/lun-maps?return_records=true",
         "{\"igroup\":{\"name\":\"trident-node-1\"},\"lun\":{\"name\":\"" LUN_PATH
         "\",\"uuid\":\"lun-uuid-1\"},\"svm\":{\"uuid\":\"svm-uuid-1\"}}",
         NULL, 409,
         "{\"error\":{\"message\":\"LUN already mapped to this group\",\"code\":\"5374922\"}}",
         NULL, 0},
        /* array info */
        {"GET", "/api/cluster?fields=version", NULL, BASIC, 200,
         "{\"version\":{\"full\":\"NetApp Release 9.14.1\",\"generation\":9,\"major\":14,"
         "\"minor\":1}}",
         NULL, 0},
    };
    static const char *const inits[] = {IQN1, IQN2};
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {0};
    struct storage_lun mapped = {0};
    struct strv orig = {0};
    struct storage_array_info info = {0};
    char *group = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(storage_ensure_igroup(f.st, HOST_GROUP, inits, 2, &group, &err), 0);
        assert_string_equal(group, IG);
        if (i < 2)
            free(group);
    }
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), 0);
    assert_string_equal(lun.name, LUN_PATH);
    assert_string_equal(lun.id, "lun-uuid-1");
    assert_string_equal(lun.serial, "wFZ7p?QYvV8d");
    assert_string_equal(lun.naa, NAA);

    assert_int_equal(storage_mapped_groups(f.st, &lun, &orig, &err), 0);
    assert_int_equal(orig.n, 1);
    assert_string_equal(orig.v[0], "trident-node-1");

    assert_int_equal(storage_map(f.st, group, &lun, &mapped, &err), 0);
    assert_string_equal(mapped.naa, NAA);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_map(f.st, group, &lun, &mapped, &err), 0);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_unmap(f.st, group, &lun, &err), 0);
    assert_int_equal(storage_unmap(f.st, group, &lun, &err), 0);
    for (size_t i = 0; i < orig.n; i++) {
        assert_int_equal(storage_map(f.st, orig.v[i], &lun, &mapped, &err), 0);
        storage_lun_clear(&mapped);
    }
    assert_int_equal(storage_array_info(f.st, &info, &err), 0);
    assert_string_equal(info.vendor, "NetApp");
    assert_string_equal(info.product, "ONTAP");
    assert_string_equal(info.version, "9.14.1");
    assert_null(info.model);
    assert_int_equal(err.code, PERR_OK);

    storage_array_info_clear(&info);
    strv_free(&orig);
    storage_lun_clear(&lun);
    free(group);
    done(&f);
}

/* ---- igroups ---- */

static void
test_fc_initiators(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", IG_Q(IG_FC), NULL, NULL, 200, EMPTY, NULL, 0},
        /* WWPN only, upper case with colons; the IQN of the other protocol is left out */
        {"POST", IG_CREATE,
         "{\"name\":\"" IG_FC "\",\"protocol\":\"fcp\",\"os_type\":\"vmware\","
         "\"svm\":{\"uuid\":\"svm-uuid-1\"},\"initiators\":[{\"name\":\"21:00:00:00:00:00:00:02\"},"
         "{\"name\":\"21:00:00:24:FF:3A:4B:5C\"}]}",
         NULL, 201, "{\"records\":[{\"uuid\":\"ig-fc\"}],\"num_records\":1}", NULL, 0},
        /* exists; ONTAP stored one WWPN in lower case: still counts as present */
        {"GET", IG_Q(IG_FC), NULL, NULL, 200,
         "{\"records\":[{\"uuid\":\"ig-fc\",\"name\":\"" IG_FC "\",\"protocol\":\"fcp\","
         "\"initiators\":[{\"name\":\"21:00:00:24:ff:3a:4b:5c\"}]}],\"num_records\":1}",
         NULL, 0},
        {"POST", "/api/protocols/san/igroups/ig-fc/initiators",
         "{\"name\":\"21:00:00:00:00:00:00:02\"}", NULL, 201, "{}", NULL, 0},
    };
    static const char *const inits[] = {
        "fc.2000000000000001:2100000000000002",
        IQN1,
        "fc.20000024ff3a4b5c:21000024ff3a4b5c",
        "fc.bad",
    };
    struct fixture f = opened();
    struct perr err = {0};
    char *group = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_ensure_igroup(f.st, HOST_GROUP, inits, 4, &group, &err), 0);
    assert_string_equal(group, IG_FC);
    free(group);
    assert_int_equal(storage_ensure_igroup(f.st, HOST_GROUP, inits, 4, &group, &err), 0);
    free(group);
    done(&f);
}

static void
test_igroup_create_conflict(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", IG_Q(IG), NULL, NULL, 200, EMPTY, NULL, 0},
        {"POST", IG_CREATE, NULL, NULL, 409,
         "{\"error\":{\"message\":\"The specified initiator group name already exists.\","
         "\"code\":\"5374738\",\"target\":\"name\"}}",
         NULL, 0},
        /* a concurrent populator made it with one initiator */
        {"GET", IG_Q(IG), NULL, NULL, 200,
         "{\"records\":[{\"uuid\":\"ig-1\",\"name\":\"" IG "\",\"initiators\":[{\"name\":\"" IQN1
         "\"}]}],\"num_records\":1}",
         NULL, 0},
        /* and added the second meanwhile too */
        {"POST", "/api/protocols/san/igroups/ig-1/initiators", "{\"name\":\"" IQN2 "\"}", NULL, 409,
         "{\"error\":{\"message\":\"duplicate entry\",\"code\":\"1\"}}", NULL, 0},
    };
    static const char *const inits[] = {IQN1, IQN2};
    struct fixture f = opened();
    struct perr err = {0};
    char *group = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_ensure_igroup(f.st, HOST_GROUP, inits, 2, &group, &err), 0);
    assert_string_equal(group, IG);
    free(group);
    done(&f);
}

static void
test_igroup_errors(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", IG_Q(IG), NULL, NULL, 200, EMPTY, NULL, 0},
        {"POST", IG_CREATE, NULL, NULL, 400,
         "{\"error\":{\"message\":\"Invalid value for os_type\",\"code\":\"262179\"}}", NULL, 0},
    };
    static const char *const inits[] = {IQN1};
    static const char *const nothing[] = {"vmhba3"};
    struct fixture f = opened();
    struct perr err = {0};
    char *group = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_ensure_igroup(f.st, HOST_GROUP, inits, 1, &group, &err), -1);
    assert_null(group);
    assert_int_equal(err.code, PERR_HTTP);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.remote_code, "262179");
    assert_string_equal(err.msg,
                        "ontap: ensure_igroup: igroup '" IG "': HTTP 400 from POST "
                        "/api/protocols/san/igroups: Invalid value for os_type [code 262179]");
    perr_clear(&err);
    /* No FC or iSCSI initiator at all: refused before any request. */
    assert_int_equal(storage_ensure_igroup(f.st, HOST_GROUP, nothing, 0, &group, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    done(&f);
}

/* ---- resolve ---- */

static void
test_resolve_economy_and_missing(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET",
         "/api/storage/luns?svm.uuid=svm-uuid-1&name=%2Fvol%2Ftrident_lun_pool_X%2Fpvc_5c9d"
         "&fields=uuid,name,serial_number",
         NULL, NULL, 200,
         "{\"records\":[{\"uuid\":\"u-e\",\"name\":\"/vol/trident_lun_pool_X/pvc_5c9d\","
         "\"serial_number\":\"80C6o]Jx1Q-6\"}],\"num_records\":1}",
         NULL, 0},
        /* no such LUN: an empty collection */
        {"GET", LUN_Q, NULL, NULL, 200, EMPTY, NULL, 0},
        /* or the array's 404 */
        {"GET", LUN_Q, NULL, NULL, 404,
         "{\"error\":{\"message\":\"entry doesn't exist\",\"code\":\"4\",\"target\":\"uuid\"}}",
         NULL, 0},
    };
    static const struct storage_attr eco_attrs[] = {
        {"internalID", "/svm/vs1/flexvol/trident_lun_pool_X/lun/pvc_5c9d"},
        {"internalName", "ignored"},
    };
    static const struct storage_attr bad_attrs[] = {{"internalID", "/svm/vs1/lun/x"}};
    struct storage_pv eco = {
        .name = "pvc-e", .volume_handle = "h", .attrs = eco_attrs, .nattrs = 2};
    struct storage_pv bad = {
        .name = "pvc-b", .volume_handle = "h", .attrs = bad_attrs, .nattrs = 1};
    struct storage_pv none = {.name = "pvc-n", .volume_handle = "h"};
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_resolve_pv(f.st, &eco, &lun, &err), 0);
    assert_string_equal(lun.name, "/vol/trident_lun_pool_X/pvc_5c9d");
    assert_string_equal(lun.naa, "naa.600a0980383043366f5d4a7831512d36");
    storage_lun_clear(&lun);

    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_string_equal(err.msg, "ontap: resolve_pv: PersistentVolume 'pvc-1': LUN '" LUN_PATH
                                 "' not found in SVM 'svm1'");
    assert_null(lun.name);
    perr_clear(&err);

    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_int_equal(err.http_status, 404);
    assert_string_equal(err.remote_code, "4");
    assert_non_null(strstr(err.msg, "entry doesn't exist"));
    perr_clear(&err);

    assert_int_equal(storage_resolve_pv(f.st, &bad, &lun, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    perr_clear(&err);
    assert_int_equal(storage_resolve_pv(f.st, &none, &lun, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_non_null(strstr(err.msg, "neither internalID nor internalName"));
    done(&f);
}

static void
test_5xx_then_success_and_malformed(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", LUN_Q, NULL, NULL, 503, "{\"error\":{\"message\":\"busy\",\"code\":\"2\"}}", NULL,
         0},
        {"GET", LUN_Q, NULL, NULL, 0, NULL, NULL, PERR_NETWORK},
        {"GET", LUN_Q, NULL, NULL, 200, LUN_R, NULL, 0},
        /* a record without its serial number */
        {"GET", LUN_Q, NULL, NULL, 200,
         "{\"records\":[{\"uuid\":\"lun-uuid-1\",\"name\":\"" LUN_PATH "\"}],\"num_records\":1}",
         NULL, 0},
        /* not JSON at all */
        {"GET", LUN_Q, NULL, NULL, 200, "{\"records\":[{\"uuid\":", NULL, 0},
        /* a serial that cannot be an ONTAP one */
        {"GET", LUN_Q, NULL, NULL, 200,
         "{\"records\":[{\"uuid\":\"lun-uuid-1\",\"name\":\"" LUN_PATH
         "\",\"serial_number\":\"short\"}],\"num_records\":1}",
         NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), 0);
    assert_string_equal(lun.naa, NAA);
    storage_lun_clear(&lun);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
        assert_int_equal(err.code, PERR_PROTOCOL);
        assert_null(lun.name);
        assert_null(lun.naa);
        perr_clear(&err);
    }
    done(&f);
}

/* ---- map / unmap races ---- */

static void
test_map_unmap_races(void **state)
{
    static const struct fake_exchange ex[] = {
        /* map: the POST says it exists (a concurrent map) */
        {"POST", "/api/protocols/san/lun-maps?return_records=true",
         "{\"igroup\":{\"name\":\"" IG "\"},\"lun\":{\"name\":\"" LUN_PATH
         "\",\"uuid\":\"lun-uuid-1\"},\"svm\":{\"uuid\":\"svm-uuid-1\"}}",
         NULL, 409,
         "{\"error\":{\"message\":\"LUN already mapped to this group\",\"code\":\"5374922\"}}",
         NULL, 0},
        /* unmap: the DELETE finds it gone (a concurrent unmap) */
        {"GET", MAPS_Q(IG), NULL, NULL, 200, MAP_REC(IG, "ig-1"), NULL, 0},
        {"DELETE", "/api/protocols/san/lun-maps/lun-uuid-1/ig-1", NULL, NULL, 404,
         "{\"error\":{\"message\":\"entry doesn't exist\",\"code\":\"4\"}}", NULL, 0},
        /* unmap: a real failure keeps the array's words */
        {"GET", MAPS_Q(IG), NULL, NULL, 200, MAP_REC(IG, "ig-1"), NULL, 0},
        {"DELETE", "/api/protocols/san/lun-maps/lun-uuid-1/ig-1", NULL, NULL, 400,
         "{\"error\":{\"message\":\"LUN is in use\",\"code\":\"5374875\"}}", NULL, 0},
        /* mapped groups across two pages */
        {"GET", MAPS_ALL_Q, NULL, NULL, 200,
         "{\"records\":[{\"igroup\":{\"name\":\"g1\"}}],\"num_records\":1,"
         "\"_links\":{\"next\":{\"href\":\"/api/protocols/san/lun-maps?start.x=2\"}}}",
         NULL, 0},
        {"GET", "/api/protocols/san/lun-maps?start.x=2", NULL, BASIC, 200,
         "{\"records\":[{\"igroup\":{\"name\":\"g2\"}},{\"igroup\":{\"name\":\"g1\"}}],"
         "\"num_records\":2}",
         NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {.name = LUN_PATH, .id = "lun-uuid-1", .naa = NAA};
    struct storage_lun mapped = {0};
    struct strv groups = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_map(f.st, IG, &lun, &mapped, &err), 0);
    assert_string_equal(mapped.id, "lun-uuid-1");
    storage_lun_clear(&mapped);
    assert_int_equal(storage_unmap(f.st, IG, &lun, &err), 0);
    assert_int_equal(storage_unmap(f.st, IG, &lun, &err), -1);
    assert_int_equal(err.code, PERR_HTTP);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.remote_code, "5374875");
    assert_string_equal(err.msg, "ontap: unmap: LUN '" LUN_PATH "' from igroup '" IG
                                 "': HTTP 400 from DELETE "
                                 "/api/protocols/san/lun-maps/lun-uuid-1/ig-1: LUN is in use "
                                 "[code 5374875]");
    perr_clear(&err);
    assert_int_equal(storage_mapped_groups(f.st, &lun, &groups, &err), 0);
    assert_int_equal(groups.n, 2);
    assert_string_equal(groups.v[0], "g1");
    assert_string_equal(groups.v[1], "g2");
    strv_free(&groups);
    done(&f);
}

/* ---- open ---- */

static void
test_open_svm_rules(void **state)
{
    static const struct fake_exchange one[] = {
        {"GET", "/api/svm/svms?fields=name,uuid", NULL, BASIC, 200,
         "{\"records\":[{\"uuid\":\"u9\",\"name\":\"vs9\"}],\"num_records\":1}", NULL, 0},
    };
    static const struct fake_exchange two[] = {
        {"GET", "/api/svm/svms?fields=name,uuid", NULL, NULL, 200,
         "{\"records\":[{\"uuid\":\"u1\",\"name\":\"a\"},{\"uuid\":\"u2\",\"name\":\"b\"}],"
         "\"num_records\":2}",
         NULL, 0},
    };
    static const struct fake_exchange unknown[] = {
        {"GET", SVM_Q, NULL, NULL, 200, EMPTY, NULL, 0},
    };
    static const struct fake_exchange bad_password[] = {
        {"GET", SVM_Q, NULL, BASIC, 401,
         "{\"error\":{\"message\":\"not authorized for that command\",\"code\":\"6\"}}", NULL, 0},
    };
    static const struct fake_exchange malformed[] = {
        {"GET", SVM_Q, NULL, NULL, 200, "<html>proxy</html>", NULL, 0},
    };
    struct fixture f = {0};
    struct perr err = {0};

    (void)state;
    assert_int_equal(open_with(&f, NULL, one, 1, &err), 0); /* the only SVM */
    done(&f);
    assert_int_equal(open_with(&f, "", one, 1, &err), 0); /* empty = unset */
    done(&f);

    assert_int_equal(open_with(&f, NULL, two, 1, &err), -1);
    assert_null(f.st);
    assert_int_equal(err.code, PERR_USAGE);
    assert_string_equal(
        err.msg,
        "ontap: open: cannot derive the SVM to use: the array shows 2 SVMs; set ONTAP_SVM");
    done(&f);
    perr_clear(&err);

    assert_int_equal(open_with(&f, "svm1", unknown, 1, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    done(&f);
    perr_clear(&err);

    /* Basic auth has no session: a 401 is final, not retried. */
    assert_int_equal(open_with(&f, "svm1", bad_password, 1, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_int_equal(err.http_status, 401);
    assert_non_null(strstr(err.msg, "not authorized for that command"));
    done(&f);
    perr_clear(&err);

    assert_int_equal(open_with(&f, "svm1", malformed, 1, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_non_null(strstr(err.msg, "ontap: open: reply to GET /api/svm/svms: malformed JSON"));
    done(&f);
}

/* ---- target ports ---- */

#define FC_IF_Q     "/api/network/fc/interfaces?svm.uuid=svm-uuid-1&data_protocol=fcp&fields=wwpn"
#define ISCSI_SVC_Q "/api/protocols/san/iscsi/services?svm.uuid=svm-uuid-1&fields=target.name"
#define TARGET_IQN  "iqn.1992-08.com.netapp:sn.574caf71890911e8a6b7005056b4ea79:vs.2"

static void
test_target_ports(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", FC_IF_Q, NULL, BASIC, 200,
         "{\"records\":[{\"uuid\":\"l1\",\"name\":\"lif_fc_1\",\"wwpn\":\"20:00:00:50:56:b4:13:"
         "a8\"},"
         "{\"uuid\":\"l2\",\"name\":\"lif_fc_2\",\"wwpn\":\"20:00:00:50:56:b4:13:a9\"},"
         "{\"uuid\":\"l3\",\"name\":\"lif_fc_3\"},"
         "{\"uuid\":\"l4\",\"name\":\"lif_fc_4\",\"wwpn\":\"20:00:00:50:56:b4:13:a8\"}],"
         "\"num_records\":4,\"_links\":{\"next\":{\"href\":\"/api/network/fc/interfaces?"
         "svm.uuid=svm-uuid-1&data_protocol=fcp&fields=wwpn&start.uuid=l5\"}}}",
         NULL, 0},
        {"GET", FC_IF_Q "&start.uuid=l5", NULL, BASIC, 200,
         "{\"records\":[{\"uuid\":\"l5\",\"wwpn\":\"20:00:00:50:56:b4:13:aa\"}],\"num_records\":1}",
         NULL, 0},
        {"GET", ISCSI_SVC_Q, NULL, BASIC, 200,
         "{\"records\":[{\"svm\":{\"uuid\":\"svm-uuid-1\",\"name\":\"svm1\"},\"target\":{\"name\":"
         "\"" TARGET_IQN "\"}}],\"num_records\":1}",
         NULL, 0},
    };
    struct fixture f = opened();
    struct strv fc = {0};
    struct strv iscsi = {0};
    struct perr err = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_target_ports(f.st, &fc, &iscsi, &err), 0);
    assert_int_equal(fc.n, 3);
    assert_string_equal(fc.v[0], "20:00:00:50:56:b4:13:a8");
    assert_string_equal(fc.v[1], "20:00:00:50:56:b4:13:a9");
    assert_string_equal(fc.v[2], "20:00:00:50:56:b4:13:aa");
    assert_int_equal(iscsi.n, 1);
    assert_string_equal(iscsi.v[0], TARGET_IQN);
    strv_free(&fc);
    strv_free(&iscsi);
    done(&f);
}

static void
test_target_ports_none_and_errors(void **state)
{
    static const struct fake_exchange none[] = {
        {"GET", FC_IF_Q, NULL, BASIC, 200, EMPTY, NULL, 0},
        {"GET", ISCSI_SVC_Q, NULL, BASIC, 200, EMPTY, NULL, 0},
    };
    static const struct fake_exchange denied[] = {
        {"GET", FC_IF_Q, NULL, BASIC, 200,
         "{\"records\":[{\"wwpn\":\"20:00:00:50:56:b4:13:a8\"}],\"num_records\":1}", NULL, 0},
        {"GET", ISCSI_SVC_Q, NULL, BASIC, 403,
         "{\"error\":{\"message\":\"not authorized for that command\",\"code\":\"6\"}}", NULL, 0},
    };
    static const struct fake_exchange malformed[] = {
        {"GET", FC_IF_Q, NULL, BASIC, 200, "{\"num_records\":0}", NULL, 0},
    };
    struct fixture f = opened();
    struct strv fc = {0};
    struct strv iscsi = {0};
    struct perr err = {0};

    (void)state;
    /* An SVM without FC LIFs or iSCSI service lists nothing: not an error. */
    FAKE_SCRIPT(f.ft, none);
    assert_int_equal(storage_target_ports(f.st, &fc, &iscsi, &err), 0);
    assert_int_equal(fc.n + iscsi.n, 0);
    /* A failure mid-way leaves both lists empty. */
    FAKE_SCRIPT(f.ft, denied);
    assert_int_equal(storage_target_ports(f.st, &fc, &iscsi, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_non_null(strstr(err.msg, "ontap: target_ports: SVM 'svm1': "));
    assert_null(fc.v);
    assert_null(iscsi.v);
    perr_clear(&err);
    FAKE_SCRIPT(f.ft, malformed);
    assert_int_equal(storage_target_ports(f.st, &fc, &iscsi, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_non_null(strstr(err.msg, "FC interface list: reply has no 'records' array"));
    done(&f);
}

/* ---- registry and dispatch ---- */

static void
test_unsupported_ops(void **state)
{
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun target = {.name = LUN_PATH};
    struct storage_copy_req req = {.vvol_id = "rfc4122.x", .target = &target};

    (void)state;
    assert_false(storage_has_cap(f.st, STORAGE_CAP_VVOL_COPY));
    assert_true(storage_has_cap(f.st, STORAGE_CAP_FC));
    assert_ptr_equal(storage_driver_of(f.st), &storage_ontap);
    assert_int_equal(storage_vvol_copy(f.st, &req, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_UNSUPPORTED);
    assert_string_equal(err.msg, "ontap: vvol_copy: not supported by the ontap driver");
    perr_clear(&err);
    assert_int_equal(storage_rdm_copy(f.st, &req, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_UNSUPPORTED);
    done(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_sequence_iscsi),
        cmocka_unit_test(test_fc_initiators),
        cmocka_unit_test(test_igroup_create_conflict),
        cmocka_unit_test(test_igroup_errors),
        cmocka_unit_test(test_resolve_economy_and_missing),
        cmocka_unit_test(test_5xx_then_success_and_malformed),
        cmocka_unit_test(test_map_unmap_races),
        cmocka_unit_test(test_open_svm_rules),
        cmocka_unit_test(test_unsupported_ops),
        cmocka_unit_test(test_target_ports),
        cmocka_unit_test(test_target_ports_none_and_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
