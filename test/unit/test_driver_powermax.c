/*
 * The Dell PowerMax driver against the scripted transport: the exact
 * Unisphere REST 100 requests of every operation (vendors-a.md §4 and
 * vendor-corrections.md §1), bodies compared structurally.
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

#define SYM    "000197900123"
#define PG     "pg1"
#define R      "/univmax/restapi/100"
#define SLO    R "/sloprovisioning/symmetrix/" SYM
#define ACCEPT "Accept: application/json;version=100"
#define APPT   "Application-Type: csi"

#define HOST     "esx01"
#define DEV      "0012A"
#define WWN      "60000970000197900123533030313241"
#define NAA      "naa.60000970000197900123533030313241"
#define SG       "xcopy-" HOST "-" DEV "-SG"
#define MV       "xcopy-" HOST "-" DEV "-MV"
#define WWPN     "21000024ff3ab500"
#define FC_ID    "fc.20000024ff3ab500:" WWPN
#define IQN1     "iqn.1998-01.com.vmware:esx01-1"
#define IQN2     "iqn.1998-01.com.vmware:esx01-2"
#define IQN1_URL "iqn.1998-01.com.vmware%3Aesx01-1"
#define IQN2_URL "iqn.1998-01.com.vmware%3Aesx01-2"

#define VERSION_OK "{\"version\":\"V10.1.0.2\"}"
#define SYM_REC    "{\"symmetrixId\":\"" SYM "\",\"model\":\"PowerMax_8500\",\"ucode\":\"6079.175.0\"}"
#define PG_FC                                                                                      \
    "{\"portGroupId\":\"" PG "\",\"port_group_protocol\":\"SCSI_FC\",\"symmetrixPortKey\":["       \
    "{\"directorId\":\"FA-1D\",\"portId\":\"4\"},{\"directorId\":\"FA-2D\",\"portId\":\"4\"}]}"
#define PG_ISCSI "{\"portGroupId\":\"" PG "\",\"type\":\"iSCSI\",\"symmetrixPortKey\":[]}"
#define VOL_REC                                                                                    \
    "{\"volumeId\":\"" DEV "\",\"volume_identifier\":\"csi-abc-pvc-1\",\"wwn\":\"" WWN             \
    "\",\"storageGroupId\":[\"csi-prod-SG\"]}"
/* The CSI driver's own view of the volume, for a worker node. */
#define CSI_SEES                                                                                   \
    {"GET", SLO "/volume/" DEV, NULL, NULL, 200, VOL_REC, NULL, 0},                                \
        {"GET", SLO "/storagegroup/csi-prod-SG",                                                   \
         NULL,  NULL,                                                                              \
         200,   "{\"storageGroupId\":\"csi-prod-SG\",\"maskingview\":[\"csi-prod-MV\"]}",          \
         NULL,  0},                                                                                \
    {                                                                                              \
        "GET", SLO "/maskingview/csi-prod-MV", NULL, NULL, 200,                                    \
            "{\"maskingViewId\":\"csi-prod-MV\",\"hostId\":\"worker-1\",\"storageGroupId\":"       \
            "\"csi-prod-SG\"}",                                                                    \
            NULL, 0                                                                                \
    }
/* The same when the volume record is still the one resolve_pv read: no GET of it. */
#define CSI_SEES_KNOWN                                                                             \
    {"GET", SLO "/storagegroup/csi-prod-SG",                                                       \
     NULL,  NULL,                                                                                  \
     200,   "{\"storageGroupId\":\"csi-prod-SG\",\"maskingview\":[\"csi-prod-MV\"]}",              \
     NULL,  0},                                                                                    \
    {                                                                                              \
        "GET", SLO "/maskingview/csi-prod-MV", NULL, NULL, 200,                                    \
            "{\"maskingViewId\":\"csi-prod-MV\",\"hostId\":\"worker-1\",\"storageGroupId\":"       \
            "\"csi-prod-SG\"}",                                                                    \
            NULL, 0                                                                                \
    }
#define NOT_FOUND(what)                                                                            \
    "{\"message\":\"Cannot find " what "\",\"httpStatusCode\":404,\"errorCode\":404}"

#define SG_BODY                                                                                    \
    "{\"executionOption\":\"SYNCHRONOUS\",\"storageGroupId\":\"" SG                                \
    "\",\"snapshot_policies\":null,"                                                               \
    "\"srpId\":\"none\",\"emulation\":\"FBA\",\"sloBasedStorageGroupParam\":[{"                    \
    "\"custom_cascaded_storageGroupId\":\"\",\"snapshot_policies\":null,"                          \
    "\"workloadSelection\":\"None\",\"volumeAttributes\":[{\"capacityUnit\":\"CYL\","              \
    "\"volume_size\":\"0\"}],\"allocate_capacity_for_each_vol\":true,\"noCompression\":true,"      \
    "\"enable_mobility_id\":false}]}"
#define ADD_BODY                                                                                   \
    "{\"editStorageGroupActionParam\":{\"expandStorageGroupParam\":{\"addSpecificVolumeParam\":{"  \
    "\"volumeId\":[\"" DEV                                                                         \
    "\"],\"remoteSymmSGInfoParam\":{}}}},\"executionOption\":\"SYNCHRONOUS\"}"
#define REMOVE_BODY                                                                                \
    "{\"editStorageGroupActionParam\":{\"removeVolumeParam\":{\"volumeId\":[\"" DEV                \
    "\"],\"remoteSymmSGInfoParam\":{}}},\"executionOption\":\"SYNCHRONOUS\"}"
#define MV_BODY                                                                                    \
    "{\"maskingViewId\":\"" MV "\",\"hostOrHostGroupSelection\":{\"useExistingHostParam\":{"       \
    "\"hostId\":\"" HOST "\"}},\"portGroupSelection\":{\"useExistingPortGroupParam\":{"            \
    "\"portGroupId\":\"" PG "\"}},\"storageGroupSelection\":{\"useExistingStorageGroupParam\":{"   \
    "\"storageGroupId\":\"" SG "\"}}}"
#define ITER(id, count, max, to, ids)                                                              \
    "{\"id\":\"" id "\",\"count\":" #count ",\"maxPageSize\":" #max                                \
    ",\"expirationTime\":1700000000000,\"resultList\":{\"result\":[" ids                           \
    "],\"from\":1,\"to\":" #to "}}"
#define ITER_DELETE(id)                                                                            \
    {                                                                                              \
        "DELETE", "/univmax/restapi/common/Iterator/" id, NULL, NULL, 204, NULL, NULL, 0           \
    }

static const struct fake_exchange open_fc[] = {
    {"GET", "/univmax/restapi/version", NULL, "Authorization: Basic c21jOnNtYw==", 200, VERSION_OK,
     NULL, 0},
    {"GET", R "/system/symmetrix/" SYM, NULL, ACCEPT, 200, SYM_REC, NULL, 0},
    {"GET", SLO "/portgroup/" PG, NULL, APPT, 200, PG_FC, NULL, 0},
};

struct fixture {
    struct fake_transport *ft;
    struct storage *st;
};

static int
open_with(struct fixture *f, const char *sym, const char *pg, const struct fake_exchange *ex,
          size_t n, struct perr *err)
{
    struct http_transport t;
    struct storage_kv env[2];
    size_t nenv = 0;
    struct storage_config cfg = {
        .hostname = "https://unisphere:8443/api",
        .username = "smc",
        .password = "smc",
        .timeout_s = 5,
        .retry_initial_ms = 1,
    };

    if (sym != NULL)
        env[nenv++] = (struct storage_kv){"POWERMAX_SYMMETRIX_ID", sym};
    if (pg != NULL)
        env[nenv++] = (struct storage_kv){"POWERMAX_PORT_GROUP_NAME", pg};
    cfg.env = env;
    cfg.nenv = nenv;
    f->ft = fake_transport_new();
    if (n > 0)
        fake_transport_add(f->ft, ex, n);
    t = fake_transport_http(f->ft);
    cfg.transport = &t;
    return storage_open(&storage_powermax, &cfg, &f->st, err);
}

static struct fixture
opened(const struct fake_exchange *ex, size_t n)
{
    struct fixture f = {0};
    struct perr err = {0};

    assert_int_equal(open_with(&f, SYM, PG, ex, n, &err), 0);
    return f;
}

static void
done(struct fixture *f)
{
    fake_transport_verify(f->ft);
    storage_free(f->st);
    fake_transport_free(f->ft);
}

static const struct storage_pv pv = {
    .name = "pvc-1",
    .volume_handle = "csi-abc-pmax-1a2b3c4d5e-default-" SYM "-" DEV,
    .csi_driver = "csi-powermax.dellemc.com",
};

static const struct storage_lun the_lun = {
    .name = DEV,
    .id = DEV,
    .naa = NAA,
    .serial = WWN,
};

/* ---- the whole XCOPY sequence (FC port group) ---- */

static void
test_full_sequence(void **state)
{
    static const struct fake_exchange ex[] = {
        /* ensure: WWPN -> initiator ids -> the first id in a host */
        {"GET", SLO "/initiator?in_a_host=true&initiator_hba=" WWPN, NULL, ACCEPT, 200,
         "{\"initiatorId\":[\"FA-1D:4:" WWPN "\",\"FA-2D:4:" WWPN "\"]}", NULL, 0},
        {"GET", SLO "/initiator/FA-1D%3A4%3A" WWPN, NULL, NULL, 200,
         "{\"initiatorId\":\"FA-1D:4:" WWPN "\",\"host_id\":\"\",\"host\":\"" HOST "\"}", NULL, 0},
        /* resolve */
        {"GET", SLO "/volume/" DEV, NULL, NULL, 200, VOL_REC, NULL, 0},
        /* mapped_groups: the volume's groups (from the record resolve read),
         * their views, the views' hosts */
        CSI_SEES_KNOWN,
        /* map: nothing of ours yet and the host sees nothing; a group made
         * now is empty, so no listing */
        {"GET", SLO "/storagegroup/" SG, NULL, NULL, 404, NOT_FOUND("Storage Group"), NULL, 0},
        CSI_SEES_KNOWN,
        {"POST", SLO "/storagegroup", SG_BODY, APPT, 201, "{\"storageGroupId\":\"" SG "\"}", NULL,
         0},
        {"PUT", SLO "/storagegroup/" SG, ADD_BODY, NULL, 200, "{}", NULL, 0},
        {"GET", SLO "/maskingview/" MV, NULL, NULL, 404, NOT_FOUND("Masking View"), NULL, 0},
        {"POST", SLO "/maskingview", MV_BODY, NULL, 201, "{\"maskingViewId\":\"" MV "\"}", NULL, 0},
        /* map again: everything found, nothing changed */
        {"GET", SLO "/storagegroup/" SG, NULL, NULL, 200, "{\"storageGroupId\":\"" SG "\"}", NULL,
         0},
        {"GET", SLO "/volume?storageGroupId=" SG, NULL, NULL, 200,
         ITER("it-1", 1, 1000, 1, "{\"volumeId\":\"" DEV "\"}"), NULL, 0},
        ITER_DELETE("it-1"),
        {"GET", SLO "/maskingview/" MV, NULL, NULL, 200,
         "{\"maskingViewId\":\"" MV "\",\"hostId\":\"" HOST "\",\"portGroupId\":\"" PG
         "\",\"storageGroupId\":\"" SG "\"}",
         NULL, 0},
        /* unmap: view, volume, group */
        {"DELETE", SLO "/maskingview/" MV, NULL, NULL, 204, NULL, NULL, 0},
        {"GET", SLO "/volume?storageGroupId=" SG, NULL, NULL, 200,
         ITER("it-2", 1, 1000, 1, "{\"volumeId\":\"" DEV "\"}"), NULL, 0},
        ITER_DELETE("it-2"),
        {"PUT", SLO "/storagegroup/" SG, REMOVE_BODY, NULL, 200, "{}", NULL, 0},
        {"DELETE", SLO "/storagegroup/" SG, NULL, NULL, 204, NULL, NULL, 0},
        /* unmap again: both gone */
        {"DELETE", SLO "/maskingview/" MV, NULL, NULL, 404, NOT_FOUND("Masking View"), NULL, 0},
        {"GET", SLO "/volume?storageGroupId=" SG, NULL, NULL, 404, NOT_FOUND("Storage Group"), NULL,
         0},
        /* restore: the worker sees the volume through the CSI view, nothing made */
        {"GET", SLO "/storagegroup/xcopy-worker-1-" DEV "-SG", NULL, NULL, 404,
         NOT_FOUND("Storage Group"), NULL, 0},
        CSI_SEES,
    };
    static const char *const inits[] = {FC_ID, IQN1};
    struct fixture f = opened(open_fc, 3);
    struct perr err = {0};
    struct storage_lun lun = {0};
    struct storage_lun mapped = {0};
    struct strv orig = {0};
    struct storage_array_info info = {0};
    char *group = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_ensure_igroup(f.st, "xcopy-hostsystem-host-1", inits, 2, &group, &err),
                     0);
    assert_string_equal(group, HOST);
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), 0);
    assert_string_equal(lun.id, DEV);
    assert_string_equal(lun.naa, NAA);
    assert_int_equal(storage_mapped_groups(f.st, &lun, &orig, &err), 0);
    assert_int_equal(orig.n, 1);
    assert_string_equal(orig.v[0], "worker-1");
    assert_int_equal(storage_map(f.st, group, &lun, &mapped, &err), 0);
    assert_string_equal(mapped.naa, NAA);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_map(f.st, group, &lun, &mapped, &err), 0);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_unmap(f.st, group, &lun, &err), 0);
    assert_int_equal(storage_unmap(f.st, group, &lun, &err), 0);
    assert_int_equal(storage_map(f.st, orig.v[0], &lun, &mapped, &err), 0);
    assert_string_equal(mapped.naa, NAA);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_array_info(f.st, &info, &err), 0);
    assert_string_equal(info.model, "PowerMax_8500");
    assert_string_equal(info.version, "6079.175.0");
    assert_int_equal(err.code, PERR_OK);

    storage_array_info_clear(&info);
    strv_free(&orig);
    storage_lun_clear(&lun);
    free(group);
    done(&f);
}

/* ---- open ---- */

static void
test_open_errors(void **state)
{
    static const struct fake_exchange old[] = {
        {"GET", "/univmax/restapi/version", NULL, NULL, 200, "{\"version\":\"V9.2.1.5\"}", NULL, 0},
    };
    static const struct fake_exchange badauth[] = {
        {"GET", "/univmax/restapi/version", NULL, NULL, 401,
         "{\"message\":\"Unauthorized\",\"httpStatusCode\":401}", NULL, 0},
    };
    static const struct fake_exchange nosym[] = {
        {"GET", "/univmax/restapi/version", NULL, NULL, 200, VERSION_OK, NULL, 0},
        {"GET", R "/system/symmetrix/" SYM, NULL, NULL, 404, NOT_FOUND("Symmetrix " SYM), NULL, 0},
    };
    static const struct fake_exchange nvme[] = {
        {"GET", "/univmax/restapi/version", NULL, NULL, 200, VERSION_OK, NULL, 0},
        {"GET", R "/system/symmetrix/" SYM, NULL, NULL, 200, SYM_REC, NULL, 0},
        {"GET", SLO "/portgroup/" PG, NULL, NULL, 200,
         "{\"portGroupId\":\"" PG "\",\"port_group_protocol\":\"NVMe_TCP\"}", NULL, 0},
    };
    struct fixture f = {0};
    struct perr err = {0};

    (void)state;
    assert_int_equal(open_with(&f, NULL, PG, NULL, 0, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_non_null(strstr(err.msg, "POWERMAX_SYMMETRIX_ID"));
    done(&f);

    memset(&err, 0, sizeof(err));
    assert_int_equal(open_with(&f, SYM, "", NULL, 0, &err), -1);
    assert_non_null(strstr(err.msg, "POWERMAX_PORT_GROUP_NAME"));
    done(&f);

    memset(&err, 0, sizeof(err));
    assert_int_equal(open_with(&f, SYM, PG, old, 1, &err), -1);
    assert_int_equal(err.code, PERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "V9.2.1.5"));
    done(&f);

    memset(&err, 0, sizeof(err));
    assert_int_equal(open_with(&f, SYM, PG, badauth, 1, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_int_equal(err.http_status, 401);
    assert_non_null(strstr(err.msg, "user 'smc'"));
    done(&f);

    memset(&err, 0, sizeof(err));
    assert_int_equal(open_with(&f, SYM, PG, nosym, 2, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "POWERMAX_SYMMETRIX_ID"));
    assert_non_null(strstr(err.msg, "Cannot find Symmetrix"));
    assert_string_equal(err.remote_code, "404");
    done(&f);

    memset(&err, 0, sizeof(err));
    assert_int_equal(open_with(&f, SYM, PG, nvme, 3, &err), -1);
    assert_int_equal(err.code, PERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "NVMe_TCP"));
    done(&f);
}

/* ---- hosts ---- */

static void
test_iscsi_host(void **state)
{
    static const struct fake_exchange op[] = {
        {"GET", "/univmax/restapi/version", NULL, NULL, 200, VERSION_OK, NULL, 0},
        {"GET", R "/system/symmetrix/" SYM, NULL, NULL, 200, SYM_REC, NULL, 0},
        {"GET", SLO "/portgroup/" PG, NULL, NULL, 200, PG_ISCSI, NULL, 0},
    };
    static const struct fake_exchange ex[] = {
        /* the FC initiator does not count; an unknown IQN is not an error */
        {"GET", SLO "/initiator/" IQN1_URL, NULL, NULL, 404, NOT_FOUND("Initiator"), NULL, 0},
        {"GET", SLO "/initiator/" IQN2_URL, NULL, NULL, 200, "{\"host_id\":\"esx-iscsi\"}", NULL,
         0},
        /* no IQN known: not found, and nothing is created */
        {"GET", SLO "/initiator/" IQN1_URL, NULL, NULL, 404, NOT_FOUND("Initiator"), NULL, 0},
        {"GET", SLO "/initiator/" IQN2_URL, NULL, NULL, 200, "{\"initiatorId\":\"" IQN2 "\"}", NULL,
         0},
    };
    static const char *const inits[] = {FC_ID, IQN1, IQN2};
    struct fixture f = opened(op, 3);
    struct perr err = {0};
    char *group = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_ensure_igroup(f.st, "g", inits, 3, &group, &err), 0);
    assert_string_equal(group, "esx-iscsi");
    free(group);
    assert_int_equal(storage_ensure_igroup(f.st, "g", inits, 3, &group, &err), -1);
    assert_null(group);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "never creates hosts"));
    assert_non_null(strstr(err.msg, IQN2));
    /* only an FC initiator for an iSCSI port group */
    memset(&err, 0, sizeof(err));
    assert_int_equal(storage_ensure_igroup(f.st, "g", inits, 1, &group, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_non_null(strstr(err.msg, "iSCSI"));
    done(&f);
}

static void
test_fc_no_host(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", SLO "/initiator?in_a_host=true&initiator_hba=" WWPN, NULL, NULL, 200,
         "{\"initiatorId\":[]}", NULL, 0},
    };
    static const char *const inits[] = {FC_ID};
    struct fixture f = opened(open_fc, 3);
    struct perr err = {0};
    char *group = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_ensure_igroup(f.st, "g", inits, 1, &group, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, WWPN));
    done(&f);
}

/* ---- crash recovery: a left storage group without the volume ---- */

static void
test_adopt_leftover(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", SLO "/storagegroup/" SG, NULL, NULL, 200, "{\"storageGroupId\":\"" SG "\"}", NULL,
         0},
        {"GET", SLO "/volume?storageGroupId=" SG, NULL, NULL, 200, ITER("it-9", 0, 1000, 0, ""),
         NULL, 0},
        ITER_DELETE("it-9"),
        {"PUT", SLO "/storagegroup/" SG, ADD_BODY, NULL, 200, "{}", NULL, 0},
        {"GET", SLO "/maskingview/" MV, NULL, NULL, 404, NOT_FOUND("Masking View"), NULL, 0},
        {"POST", SLO "/maskingview", MV_BODY, NULL, 201, "{}", NULL, 0},
        /* a view of our name for another host is refused, not adopted */
        {"GET", SLO "/storagegroup/" SG, NULL, NULL, 200, "{}", NULL, 0},
        {"GET", SLO "/volume?storageGroupId=" SG, NULL, NULL, 200,
         ITER("it-10", 1, 1000, 1, "{\"volumeId\":\"" DEV "\"}"), NULL, 0},
        ITER_DELETE("it-10"),
        {"GET", SLO "/maskingview/" MV, NULL, NULL, 200,
         "{\"maskingViewId\":\"" MV "\",\"hostId\":\"other\",\"storageGroupId\":\"" SG "\"}", NULL,
         0},
    };
    struct fixture f = opened(open_fc, 3);
    struct perr err = {0};
    struct storage_lun mapped = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_map(f.st, HOST, &the_lun, &mapped, &err), 0);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_map(f.st, HOST, &the_lun, &mapped, &err), -1);
    assert_int_equal(err.code, PERR_CONFLICT);
    assert_non_null(strstr(err.msg, "'other'"));
    assert_null(mapped.naa);
    done(&f);
}

/* ---- retries and errors ---- */

static void
test_retries(void **state)
{
    static const struct fake_exchange ex[] = {
        /* 503, 500 and a "Service Unavailable" text are retried, POST too */
        {"GET", SLO "/storagegroup/" SG, NULL, NULL, 503,
         "{\"message\":\"Service Unavailable\",\"httpStatusCode\":503}", NULL, 0},
        {"GET", SLO "/storagegroup/" SG, NULL, NULL, 404, NOT_FOUND("Storage Group"), NULL, 0},
        {"GET", SLO "/volume/" DEV, NULL, NULL, 200,
         "{\"volumeId\":\"" DEV "\",\"wwn\":\"" WWN "\",\"storageGroupId\":[]}", NULL, 0},
        {"POST", SLO "/storagegroup", SG_BODY, NULL, 500,
         "{\"message\":\"auto provisioning operation is already in progress\","
         "\"httpStatusCode\":500,\"errorCode\":500}",
         NULL, 0},
        {"POST", SLO "/storagegroup", SG_BODY, NULL, 400,
         "{\"message\":\"Failed: Service Unavailable\",\"httpStatusCode\":400}", NULL, 0},
        /* 409: made meanwhile, success */
        {"POST", SLO "/storagegroup", SG_BODY, NULL, 409,
         "{\"message\":\"Storage group already exists\",\"httpStatusCode\":409}", NULL, 0},
        {"PUT", SLO "/storagegroup/" SG, ADD_BODY, NULL, 200, "{}", NULL, 0},
        {"GET", SLO "/maskingview/" MV, NULL, NULL, 404, NOT_FOUND("Masking View"), NULL, 0},
        {"POST", SLO "/maskingview", MV_BODY, NULL, 409,
         "{\"message\":\"Masking view already exists\",\"httpStatusCode\":409}", NULL, 0},
        /* 400 is fatal at once, with the array's text and code */
        {"DELETE", SLO "/maskingview/" MV, NULL, NULL, 400,
         "{\"message\":\"bad request\",\"httpStatusCode\":400,\"errorCode\":\"E_BAD\"}", NULL, 0},
        /* 7 attempts, then the last answer */
        {"GET", SLO "/volume/" DEV, NULL, NULL, 503, "{\"message\":\"busy\"}", NULL, 0},
        {"GET", SLO "/volume/" DEV, NULL, NULL, 503, "{\"message\":\"busy\"}", NULL, 0},
        {"GET", SLO "/volume/" DEV, NULL, NULL, 500, "{\"message\":\"busy\"}", NULL, 0},
        {"GET", SLO "/volume/" DEV, NULL, NULL, 503, "{\"message\":\"busy\"}", NULL, 0},
        {"GET", SLO "/volume/" DEV, NULL, NULL, 503, "{\"message\":\"busy\"}", NULL, 0},
        {"GET", SLO "/volume/" DEV, NULL, NULL, 503, "{\"message\":\"busy\"}", NULL, 0},
        {"GET", SLO "/volume/" DEV, NULL, NULL, 503, "{\"message\":\"still busy\"}", NULL, 0},
    };
    struct fixture f = opened(open_fc, 3);
    struct perr err = {0};
    struct storage_lun mapped = {0};
    struct storage_lun lun = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_map(f.st, HOST, &the_lun, &mapped, &err), 0);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_unmap(f.st, HOST, &the_lun, &err), -1);
    assert_int_equal(err.code, PERR_HTTP);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.remote_code, "E_BAD");
    assert_non_null(strstr(err.msg, "bad request"));
    assert_non_null(strstr(err.msg, "powermax: unmap: "));
    memset(&err, 0, sizeof(err));
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.http_status, 503);
    assert_non_null(strstr(err.msg, "still busy"));
    assert_null(lun.naa);
    done(&f);
}

/* ---- iterator paging ---- */

static void
test_iterator_pages(void **state)
{
    static const struct fake_exchange ex[] = {
        {"DELETE", SLO "/maskingview/" MV, NULL, NULL, 204, NULL, NULL, 0},
        {"GET", SLO "/volume?storageGroupId=" SG, NULL, NULL, 200,
         ITER("it-5", 5, 2, 2, "{\"volumeId\":\"00001\"},{\"volumeId\":\"00002\"}"), NULL, 0},
        {"GET", "/univmax/restapi/common/Iterator/it-5/page?from=3&to=4", NULL, NULL, 200,
         "{\"result\":[{\"volumeId\":\"" DEV "\"},{\"volumeId\":\"00004\"}],\"from\":3,\"to\":4}",
         NULL, 0},
        {"GET", "/univmax/restapi/common/Iterator/it-5/page?from=5&to=5", NULL, NULL, 200,
         "{\"result\":[{\"volumeId\":\"00005\"}],\"from\":5,\"to\":5}", NULL, 0},
        ITER_DELETE("it-5"),
        /* the volume leaves; the group holds others, so it stays */
        {"PUT", SLO "/storagegroup/" SG, REMOVE_BODY, NULL, 200, "{}", NULL, 0},
        /* a short page is an error, and the iterator is still deleted */
        {"DELETE", SLO "/maskingview/" MV, NULL, NULL, 404, NOT_FOUND("Masking View"), NULL, 0},
        {"GET", SLO "/volume?storageGroupId=" SG, NULL, NULL, 200,
         ITER("it-6", 3, 2, 2, "{\"volumeId\":\"00001\"},{\"volumeId\":\"00002\"}"), NULL, 0},
        {"GET", "/univmax/restapi/common/Iterator/it-6/page?from=3&to=3", NULL, NULL, 200,
         "{\"result\":[],\"from\":3,\"to\":3}", NULL, 0},
        ITER_DELETE("it-6"),
    };
    struct fixture f = opened(open_fc, 3);
    struct perr err = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_unmap(f.st, HOST, &the_lun, &err), 0);
    assert_int_equal(storage_unmap(f.st, HOST, &the_lun, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_non_null(strstr(err.msg, "2 of 3"));
    done(&f);
}

/* ---- names and ports ---- */

static void
test_long_host_name_and_ports(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", SLO "/storagegroup/xcopy-d53e5f8655e67d2c-" DEV "-SG", NULL, NULL, 200, "{}", NULL,
         0},
        {"GET", SLO "/volume?storageGroupId=xcopy-d53e5f8655e67d2c-" DEV "-SG", NULL, NULL, 200,
         "{\"count\":1,\"resultList\":{\"result\":[{\"volumeId\":\"" DEV "\"}],\"to\":1}}", NULL,
         0},
        {"GET", SLO "/maskingview/xcopy-d53e5f8655e67d2c-" DEV "-MV", NULL, NULL, 200, "{}", NULL,
         0},
        {"GET", R "/system/symmetrix/" SYM "/director/FA-1D/port/4", NULL, NULL, 200,
         "{\"symmetrixPort\":{\"identifier\":\"5000097300000001\"}}", NULL, 0},
        {"GET", R "/system/symmetrix/" SYM "/director/FA-2D/port/4", NULL, NULL, 200,
         "{\"symmetrixPort\":{\"identifier\":\"5000097300000002\"}}", NULL, 0},
    };
    static const char host[] = "a-very-long-esxi-host-name-that-does-not-fit-in-sixty-four-chars";
    struct fixture f = opened(open_fc, 3);
    struct perr err = {0};
    struct storage_lun mapped = {0};
    struct strv fc = {0};
    struct strv iscsi = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_map(f.st, host, &the_lun, &mapped, &err), 0);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_target_ports(f.st, &fc, &iscsi, &err), 0);
    assert_int_equal(fc.n, 2);
    assert_string_equal(fc.v[1], "5000097300000002");
    assert_int_equal(iscsi.n, 0);
    strv_free(&fc);
    strv_free(&iscsi);
    done(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_sequence),  cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_iscsi_host),     cmocka_unit_test(test_fc_no_host),
        cmocka_unit_test(test_adopt_leftover), cmocka_unit_test(test_retries),
        cmocka_unit_test(test_iterator_pages), cmocka_unit_test(test_long_host_name_and_ports),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
