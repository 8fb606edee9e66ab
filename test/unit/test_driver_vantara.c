/*
 * The Hitachi Vantara driver against the scripted transport (request bodies
 * asserted exactly).  Shapes follow the Configuration Manager REST API and
 * vendors-b.md §5 with the corrections of vendor-corrections.md §1.
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

#define V1    "/ConfigurationManager/v1/objects"
#define BASIC "Authorization: Basic dnNwdXNlcjpwdw=="
#define SESS1 "Authorization: Session tok-1"
#define SESS2 "Authorization: Session tok-2"
#define JOBH  "Response-Job-Status: Completed"

#define HANDLE "01--fc--886000123456--291--pvc-abc"
#define NAA    "naa.60060e80123456005050123400000123"
#define LDEV_NO_PATHS                                                                              \
    "{\"ldevId\":291,\"poolId\":3,\"naaId\":\"60060E80123456005050123400000123\",\"ports\":[]}"
#define LDEV_WORKER                                                                                \
    "{\"ldevId\":291,\"poolId\":3,\"naaId\":\"60060E80123456005050123400000123\",\"ports\":"       \
    "[{\"portId\":\"CL3-A\",\"hostGroupNumber\":7,\"hostGroupName\":\"ocp-w1\",\"lun\":4}]}"
#define LDEV_BOTH                                                                                  \
    "{\"ldevId\":291,\"poolId\":3,\"naaId\":\"60060E80123456005050123400000123\",\"ports\":"       \
    "[{\"portId\":\"CL3-A\",\"hostGroupNumber\":7,\"hostGroupName\":\"ocp-w1\",\"lun\":4},"        \
    "{\"portId\":\"CL1-A\",\"hostGroupNumber\":1,\"hostGroupName\":\"esx\",\"lun\":0}]}"

#define JOB_DONE(id)                                                                               \
    "{\"jobId\":" #id ",\"self\":\"/ConfigurationManager/v1/objects/jobs/" #id "\","               \
    "\"status\":\"Completed\",\"state\":\"Succeeded\",\"error\":null}"
#define JOB_RUNNING(id)                                                                            \
    "{\"jobId\":" #id ",\"self\":\"/ConfigurationManager/v1/objects/jobs/" #id "\","               \
    "\"status\":\"Running\",\"state\":\"Started\",\"error\":null}"

static const struct fake_exchange open_ok[] = {
    {"GET", "/ConfigurationManager/configuration/version", NULL, NULL, 200,
     "{\"productName\":\"Configuration Manager REST API\",\"apiVersion\":\"1.9.0\"}", NULL, 0},
    {"POST", V1 "/sessions", "{\"aliveTime\":300}", BASIC, 200,
     "{\"token\":\"tok-1\",\"sessionId\":42}", NULL, 0},
};

static const struct fake_exchange close_ok[] = {
    {"DELETE", V1 "/sessions/42", NULL, SESS1, 200, "{\"sessionId\":42}", NULL, 0},
};

struct fixture {
    struct fake_transport *ft;
    struct storage *st;
};

static int
open_with(struct fixture *f, const char *hglist, const struct fake_exchange *ex, size_t n,
          struct perr *err)
{
    struct http_transport t;
    struct storage_kv env[] = {{"STORAGE_PORT", "23451"}, {"HOSTGROUP_ID_LIST", hglist}};
    struct storage_config cfg = {
        .hostname = "https://127.0.0.1",
        .username = "vspuser",
        .password = "pw",
        .timeout_s = 5,
        .retry_initial_ms = 1,
        .env = env,
        .nenv = hglist != NULL ? 2 : 1,
    };

    f->ft = fake_transport_new();
    fake_transport_add(f->ft, ex, n);
    t = fake_transport_http(f->ft);
    cfg.transport = &t;
    return storage_open(&storage_vantara, &cfg, &f->st, err);
}

static struct fixture
opened(const char *hglist)
{
    struct fixture f = {0};
    struct perr err = {0};

    assert_int_equal(open_with(&f, hglist, open_ok, 2, &err), 0);
    return f;
}

/* Closes (the session is deleted) and checks every exchange was used. */
static void
done(struct fixture *f, bool logout)
{
    if (logout)
        fake_transport_add(f->ft, close_ok, 1);
    storage_free(f->st);
    fake_transport_verify(f->ft);
    fake_transport_free(f->ft);
}

static const struct storage_pv pv = {
    .name = "pvc-abc",
    .volume_handle = HANDLE,
    .csi_driver = "hspc.csi.hitachi.com",
};

/* ---- the whole XCOPY sequence ---- */

static void
test_full_sequence(void **state)
{
    static const char *const inits[] = {"fc.20000024ff5e0001:21000024ff5e0001",
                                        "fc.20000024ff5e0002:21000024ff5e0002",
                                        "iqn.1998-01.com.vmware:esx01"};
    static const struct fake_exchange ex[] = {
        /* ensure: discovery through the ports' logins; one WWPN is on two
         * ports, the other is registered but not logged in */
        {"GET", V1 "/ports?detailInfoType=logins", NULL, SESS1, 200,
         "{\"data\":[{\"portId\":\"CL1-A\",\"wwn\":\"50060E8012345600\",\"logins\":["
         "{\"hostGroupId\":\"CL1-A,1\",\"isLogin\":true,\"loginWwn\":\"21000024FF5E0001\"},"
         "{\"hostGroupId\":\"CL1-A,2\",\"isLogin\":\"true\",\"loginWwn\":\"21000024FF999999\"}]},"
         "{\"portId\":\"CL2-A\",\"wwn\":\"50060E8012345610\",\"logins\":["
         "{\"hostGroupId\":\"CL2-A,1\",\"isLogin\":\"true\",\"loginWwn\":\"21000024ff5e0001\"},"
         "{\"hostGroupId\":\"CL2-A,5\",\"isLogin\":false,\"loginWwn\":\"21000024FF5E0002\"}]}]}",
         NULL, 0},
        /* resolve: the LDEV of the handle */
        {"GET", V1 "/ldevs/291", NULL, SESS1, 200, LDEV_WORKER, NULL, 0},
        /* mapped groups: the worker node's path, and map: two paths, both
         * from the record resolve read; the first job completes at once, the
         * second is polled */
        {"POST", V1 "/luns", "{\"ldevId\":291,\"portId\":\"CL1-A\",\"hostGroupNumber\":1}", JOBH,
         202, JOB_DONE(100), NULL, 0},
        {"POST", V1 "/luns", "{\"ldevId\":291,\"portId\":\"CL2-A\",\"hostGroupNumber\":1}", JOBH,
         202, JOB_RUNNING(101), NULL, 0},
        {"GET", V1 "/jobs/101", NULL, SESS1, 200, JOB_RUNNING(101), NULL, 0},
        {"GET", V1 "/jobs/101", NULL, NULL, 200, JOB_DONE(101), NULL, 0},
        /* map again (paths were added, so the LDEV is read afresh): both
         * paths there, no job */
        {"GET", V1 "/ldevs/291", NULL, NULL, 200,
         "{\"ldevId\":291,\"naaId\":\"60060E80123456005050123400000123\",\"ports\":["
         "{\"portId\":\"CL3-A\",\"hostGroupNumber\":7,\"lun\":4},"
         "{\"portId\":\"CL1-A\",\"hostGroupNumber\":1,\"lun\":0},"
         "{\"portId\":\"CL2-A\",\"hostGroupNumber\":1,\"lun\":0}]}",
         NULL, 0},
        /* unmap: each path by its LU number */
        {"GET", V1 "/ldevs/291", NULL, NULL, 200,
         "{\"ldevId\":291,\"naaId\":\"60060E80123456005050123400000123\",\"ports\":["
         "{\"portId\":\"CL3-A\",\"hostGroupNumber\":7,\"lun\":4},"
         "{\"portId\":\"CL1-A\",\"hostGroupNumber\":1,\"lun\":0},"
         "{\"portId\":\"CL2-A\",\"hostGroupNumber\":1,\"lun\":2}]}",
         NULL, 0},
        {"DELETE", V1 "/luns/CL1-A,1,0", NULL, JOBH, 202, JOB_DONE(102), NULL, 0},
        {"DELETE", V1 "/luns/CL2-A,1,2", NULL, JOBH, 202, JOB_DONE(103), NULL, 0},
        /* unmap again: nothing to delete */
        {"GET", V1 "/ldevs/291", NULL, NULL, 200, LDEV_WORKER, NULL, 0},
        /* restore the worker's path: still there, no job */
        {"GET", V1 "/ldevs/291", NULL, NULL, 200, LDEV_WORKER, NULL, 0},
        /* array info without STORAGE_ID: the first storage */
        {"GET", V1 "/storages", NULL, NULL, 200,
         "{\"data\":[{\"storageDeviceId\":\"886000123456\",\"model\":\"VSP E990\","
         "\"serialNumber\":123456,\"dkcMicroVersion\":\"93-06-21-80/00\"}]}",
         NULL, 0},
    };
    struct fixture f = opened(NULL);
    struct perr err = {0};
    struct storage_lun lun = {0};
    struct storage_lun mapped = {0};
    struct storage_array_info info = {0};
    struct strv orig = {0};
    struct strv failed = {0};
    char *group = NULL;

    (void)state;
    fake_transport_add(f.ft, ex, sizeof(ex) / sizeof(ex[0]));
    assert_int_equal(
        storage_ensure_igroup(f.st, "xcopy-hostsystem-host-12", inits, 3, &group, &err), 0);
    assert_string_equal(group, "CL1-A,1:CL2-A,1");
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), 0);
    assert_string_equal(lun.naa, NAA);
    assert_string_equal(lun.id, "291");
    assert_string_equal(lun.name, "pvc-abc");
    assert_string_equal(lun.serial, "60060E80123456005050123400000123");
    assert_int_equal(storage_mapped_groups(f.st, &lun, &orig, &err), 0);
    assert_int_equal(orig.n, 1);
    assert_string_equal(orig.v[0], "CL3-A,7");
    assert_int_equal(storage_map(f.st, group, &lun, &mapped, &err), 0);
    assert_string_equal(mapped.naa, NAA);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_map(f.st, group, &lun, &mapped, &err), 0);
    assert_int_equal(storage_unmap(f.st, group, &lun, &err), 0);
    assert_int_equal(storage_unmap(f.st, group, &lun, &err), 0);
    assert_int_equal(storage_remap(f.st, &orig, &lun, &failed, &err), 0);
    assert_int_equal(failed.n, 0);
    assert_int_equal(storage_array_info(f.st, &info, &err), 0);
    assert_string_equal(info.vendor, "Hitachi");
    assert_string_equal(info.model, "VSP E990");
    assert_string_equal(info.version, "93-06-21-80/00");
    assert_int_equal(err.code, PERR_OK);
    storage_array_info_clear(&info);
    storage_lun_clear(&mapped);
    storage_lun_clear(&lun);
    strv_free(&orig);
    strv_free(&failed);
    free(group);
    done(&f, true);
}

/* ---- host groups ---- */

static void
test_hostgroup_list(void **state)
{
    static const char *const inits[] = {"fc.20000024ff5e0001:21000024ff5e0001"};
    struct fixture f = opened(" CL1-A,1 : CL2-B,2 ::CL1-A,1");
    struct perr err = {0};
    char *group = NULL;

    (void)state;
    /* The configured list, trimmed and without duplicates; no request. */
    assert_int_equal(storage_ensure_igroup(f.st, "xcopy-x", inits, 1, &group, &err), 0);
    assert_string_equal(group, "CL1-A,1:CL2-B,2");
    free(group);
    done(&f, true);

    f = opened("CL1-A");
    assert_int_equal(storage_ensure_igroup(f.st, "xcopy-x", inits, 1, &group, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_non_null(strstr(err.msg, "HOSTGROUP_ID_LIST"));
    assert_null(group);
    done(&f, true);
}

static void
test_discovery_no_match(void **state)
{
    static const char *const inits[] = {"fc.20000024ff5e0001:21000024ff5e0001"};
    static const char *const iscsi[] = {"iqn.1998-01.com.vmware:esx01"};
    static const struct fake_exchange ex[] = {
        {"GET", V1 "/ports?detailInfoType=logins", NULL, NULL, 200,
         "{\"data\":[{\"portId\":\"CL1-A\",\"logins\":[{\"hostGroupId\":\"CL1-A,1\","
         "\"isLogin\":\"true\",\"loginWwn\":\"21000024FF000000\"}]}]}",
         NULL, 0},
    };
    struct fixture f = opened(NULL);
    struct perr err = {0};
    char *group = NULL;

    (void)state;
    fake_transport_add(f.ft, ex, 1);
    /* No login of ours: an error naming the remedy (Go went on silently). */
    assert_int_equal(storage_ensure_igroup(f.st, "xcopy-x", inits, 1, &group, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "HOSTGROUP_ID_LIST"));
    perr_clear(&err);
    /* iSCSI only: FC is all this driver discovers. */
    assert_int_equal(storage_ensure_igroup(f.st, "xcopy-x", iscsi, 1, &group, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    done(&f, true);
}

/* Paths through our own host groups (left by a run that could not unmap)
 * come back as our group, which the caller never restores; the worker's
 * path comes back as itself. */
static void
test_mapped_groups_reports_ours_as_ours(void **state)
{
    static const char *const inits[] = {"fc.20000024ff5e0001:21000024ff5e0001"};
    static const struct fake_exchange ex[] = {
        {"GET", V1 "/ldevs/291", NULL, NULL, 200,
         "{\"ldevId\":291,\"naaId\":\"60060E80123456005050123400000123\",\"ports\":["
         "{\"portId\":\"CL3-A\",\"hostGroupNumber\":7,\"lun\":4},"
         "{\"portId\":\"CL1-A\",\"hostGroupNumber\":1,\"lun\":0},"
         "{\"portId\":\"CL2-B\",\"hostGroupNumber\":2,\"lun\":0}]}",
         NULL, 0},
    };
    struct fixture f = opened("CL1-A,1:CL2-B,2");
    struct perr err = {0};
    struct storage_lun lun = {.id = (char *)"291", .name = (char *)"pvc-abc"};
    struct strv orig = {0};
    char *group = NULL;

    (void)state;
    fake_transport_add(f.ft, ex, 1);
    assert_int_equal(storage_ensure_igroup(f.st, "xcopy-x", inits, 1, &group, &err), 0);
    assert_int_equal(storage_mapped_groups(f.st, &lun, &orig, &err), 0);
    assert_int_equal(orig.n, 2);
    assert_string_equal(orig.v[0], "CL3-A,7");
    assert_string_equal(orig.v[1], group);
    strv_free(&orig);
    free(group);
    done(&f, true);
}

/* ---- resolve ---- */

static void
test_resolve_handles(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", V1 "/ldevs/77", NULL, NULL, 200,
         "{\"ldevId\":77,\"naaId\":\"60060E8012345600505012340000004D\",\"ports\":[]}", NULL, 0},
        {"GET", V1 "/ldevs/78", NULL, NULL, 404,
         "{\"errorSource\":\"/ConfigurationManager/v1/objects/ldevs/78\",\"message\":\"The "
         "specified object does not exist.\",\"messageId\":\"KART30003-E\"}",
         NULL, 0},
    };
    struct storage_pv p = pv;
    struct fixture f = opened(NULL);
    struct perr err = {0};
    struct storage_lun lun = {0};

    (void)state;
    fake_transport_add(f.ft, ex, 2);
    /* A nickname holding "--" is kept whole. */
    p.volume_handle = "01--fc--886000123456--77--my--vol";
    assert_int_equal(storage_resolve_pv(f.st, &p, &lun, &err), 0);
    assert_string_equal(lun.name, "my--vol");
    assert_string_equal(lun.naa, "naa.60060e8012345600505012340000004d");
    storage_lun_clear(&lun);
    p.volume_handle = "01--fc--886000123456--78--gone";
    assert_int_equal(storage_resolve_pv(f.st, &p, &lun, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_int_equal(err.http_status, 404);
    assert_string_equal(err.remote_code, "KART30003-E");
    assert_non_null(strstr(err.msg, "does not exist"));
    assert_null(lun.id);
    perr_clear(&err);
    /* Malformed handles: refused before any request. */
    p.volume_handle = "02--fc--886000123456--77--x";
    assert_int_equal(storage_resolve_pv(f.st, &p, &lun, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    perr_clear(&err);
    p.volume_handle = "01--fc--886000123456--77";
    assert_int_equal(storage_resolve_pv(f.st, &p, &lun, &err), -1);
    perr_clear(&err);
    p.volume_handle = "01--fc--886000123456--7a--x";
    assert_int_equal(storage_resolve_pv(f.st, &p, &lun, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    done(&f, true);
}

/* ---- open ---- */

static void
test_open_version(void **state)
{
    static const struct fake_exchange old[] = {
        {"GET", "/ConfigurationManager/configuration/version", NULL, NULL, 200,
         "{\"apiVersion\":\"1.8.3\"}", NULL, 0},
    };
    static const struct fake_exchange v110[] = {
        {"GET", "/ConfigurationManager/configuration/version", NULL, NULL, 200,
         "{\"apiVersion\":\"1.10.0\"}", NULL, 0},
        {"POST", V1 "/sessions", "{\"aliveTime\":300}", BASIC, 200,
         "{\"token\":\"tok-1\",\"sessionId\":42}", NULL, 0},
    };
    static const struct fake_exchange badlogin[] = {
        {"GET", "/ConfigurationManager/configuration/version", NULL, NULL, 200,
         "{\"apiVersion\":\"2.0\"}", NULL, 0},
        {"POST", V1 "/sessions", "{\"aliveTime\":300}", BASIC, 401,
         "{\"errorSource\":\"/ConfigurationManager/v1/objects/sessions\",\"message\":"
         "\"Authentication failed.\",\"messageId\":\"KART40049-E\"}",
         NULL, 0},
    };
    struct fixture f = {0};
    struct perr err = {0};

    (void)state;
    assert_int_equal(open_with(&f, NULL, old, 1, &err), -1);
    assert_int_equal(err.code, PERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "1.8.3"));
    assert_null(f.st);
    done(&f, false);

    perr_clear(&err);
    memset(&f, 0, sizeof(f));
    assert_int_equal(open_with(&f, NULL, v110, 2, &err), 0);
    done(&f, true);

    perr_clear(&err);
    memset(&f, 0, sizeof(f));
    assert_int_equal(open_with(&f, NULL, badlogin, 2, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_string_equal(err.remote_code, "KART40049-E");
    assert_non_null(strstr(err.msg, "Authentication failed."));
    done(&f, false);
}

/* The session expired while the host was cloning: one new login, then the
 * call again, and the new session is the one deleted at close. */
static void
test_session_expired_relogin(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", V1 "/ldevs/291", NULL, SESS1, 401,
         "{\"message\":\"The session is not valid.\",\"messageId\":\"KART40047-E\"}", NULL, 0},
        {"POST", V1 "/sessions", "{\"aliveTime\":300}", BASIC, 200,
         "{\"token\":\"tok-2\",\"sessionId\":43}", NULL, 0},
        {"GET", V1 "/ldevs/291", NULL, SESS2, 200, LDEV_BOTH, NULL, 0},
        {"DELETE", V1 "/luns/CL1-A,1,0", NULL, SESS2, 202, JOB_DONE(7), NULL, 0},
        {"DELETE", V1 "/sessions/43", NULL, SESS2, 200, NULL, NULL, 0},
    };
    struct fixture f = opened(NULL);
    struct perr err = {0};
    struct storage_lun lun = {.id = (char *)"291", .name = (char *)"pvc-abc"};

    (void)state;
    fake_transport_add(f.ft, ex, sizeof(ex) / sizeof(ex[0]));
    assert_int_equal(storage_unmap(f.st, "CL1-A,1", &lun, &err), 0);
    done(&f, false);
}

/* ---- jobs and errors ---- */

static void
test_job_failures(void **state)
{
    static const struct fake_exchange ex[] = {
        /* map: the path appeared meanwhile -> the failed job says "already" */
        {"GET", V1 "/ldevs/291", NULL, NULL, 200, LDEV_NO_PATHS, NULL, 0},
        {"POST", V1 "/luns", "{\"ldevId\":291,\"portId\":\"CL1-A\",\"hostGroupNumber\":1}", JOBH,
         202, JOB_RUNNING(5), NULL, 0},
        {"GET", V1 "/jobs/5", NULL, NULL, 200,
         "{\"jobId\":5,\"status\":\"Completed\",\"state\":\"Failed\",\"error\":{\"messageId\":"
         "\"KART30000-E\",\"message\":\"An error occurred in the storage system.\","
         "\"errorCode\":{\"SSB1\":\"B958\",\"SSB2\":\"015A\"}}}",
         NULL, 0},
        /* map: a real failure keeps the array's words and codes */
        {"GET", V1 "/ldevs/291", NULL, NULL, 200, LDEV_NO_PATHS, NULL, 0},
        {"POST", V1 "/luns", "{\"ldevId\":291,\"portId\":\"CL1-A\",\"hostGroupNumber\":1}", JOBH,
         202,
         "{\"jobId\":6,\"status\":\"Completed\",\"state\":\"Failed\",\"error\":{\"messageId\":"
         "\"KART30000-E\",\"message\":\"The host group does not allow LU paths.\","
         "\"errorCode\":{\"SSB1\":\"B958\",\"SSB2\":\"0920\"}}}",
         NULL, 0},
        /* map: 503 twice (busy), then accepted */
        {"GET", V1 "/ldevs/291", NULL, NULL, 200, LDEV_NO_PATHS, NULL, 0},
        {"POST", V1 "/luns", NULL, JOBH, 503, "{\"message\":\"busy\"}", NULL, 0},
        {"POST", V1 "/luns", NULL, JOBH, 503, "{\"message\":\"busy\"}", NULL, 0},
        {"POST", V1 "/luns", NULL, JOBH, 202, JOB_DONE(8), NULL, 0},
        /* map: an HTTP refusal */
        {"GET", V1 "/ldevs/291", NULL, NULL, 200, LDEV_NO_PATHS, NULL, 0},
        {"POST", V1 "/luns", NULL, JOBH, 400,
         "{\"errorSource\":\"/ConfigurationManager/v1/objects/luns\",\"message\":\"The value "
         "of portId is invalid.\",\"messageId\":\"KART40040-E\"}",
         NULL, 0},
        /* unmap: a failed delete job */
        {"GET", V1 "/ldevs/291", NULL, NULL, 200, LDEV_BOTH, NULL, 0},
        {"DELETE", V1 "/luns/CL1-A,1,0", NULL, JOBH, 202,
         "{\"jobId\":9,\"status\":\"Completed\",\"state\":\"Failed\",\"error\":{\"messageId\":"
         "\"KART30000-E\",\"message\":\"The LU is reserved.\",\"errorCode\":{\"SSB1\":\"B958\","
         "\"SSB2\":\"0943\"}}}",
         NULL, 0},
        /* unmap: the LDEV is gone -> nothing to do */
        {"GET", V1 "/ldevs/291", NULL, NULL, 404, "{\"message\":\"not found\"}", NULL, 0},
    };
    struct fixture f = opened(NULL);
    struct perr err = {0};
    struct storage_lun lun = {.id = (char *)"291", .name = (char *)"pvc-abc", .naa = (char *)NAA};
    struct storage_lun mapped = {0};

    (void)state;
    fake_transport_add(f.ft, ex, sizeof(ex) / sizeof(ex[0]));
    assert_int_equal(storage_map(f.st, "CL1-A,1", &lun, &mapped, &err), 0);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_map(f.st, "CL1-A,1", &lun, &mapped, &err), -1);
    assert_int_equal(err.code, PERR_REMOTE);
    assert_string_equal(err.remote_code, "KART30000-E");
    assert_non_null(strstr(err.msg, "does not allow LU paths"));
    assert_non_null(strstr(err.msg, "B958/0920"));
    assert_non_null(strstr(err.msg, "CL1-A,1"));
    assert_null(mapped.id);
    perr_clear(&err);
    assert_int_equal(storage_map(f.st, "CL1-A,1", &lun, &mapped, &err), 0);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_map(f.st, "CL1-A,1", &lun, &mapped, &err), -1);
    assert_int_equal(err.code, PERR_HTTP);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.remote_code, "KART40040-E");
    perr_clear(&err);
    assert_int_equal(storage_unmap(f.st, "CL1-A,1", &lun, &err), -1);
    assert_int_equal(err.code, PERR_REMOTE);
    assert_non_null(strstr(err.msg, "reserved"));
    perr_clear(&err);
    assert_int_equal(storage_unmap(f.st, "CL1-A,1", &lun, &err), 0);
    done(&f, true);
}

/* ---- array-side copies ---- */

#define SNAP_Q V1 "/snapshots?snapshotGroupName=mtv-ss-copy-%s-to-291&pvolLdevId=%s"

static unsigned last_pct;
static unsigned n_pct;

static void
on_progress(void *arg, unsigned pct)
{
    (void)arg;
    last_pct = pct;
    n_pct++;
}

static void
test_vvol_copy(void **state)
{
    static const struct fake_exchange ex[] = {
        /* the source: the VVol id's last 4 hex digits 0x00AB = 171 */
        {"GET", V1 "/ldevs/171", NULL, NULL, 200,
         "{\"ldevId\":171,\"poolId\":1,\"naaId\":\"60060E801234560050501234000000AB\"}", NULL, 0},
        {"GET", V1 "/ldevs/291", NULL, NULL, 200, LDEV_NO_PATHS, NULL, 0},
        {"POST", V1 "/snapshots",
         "{\"snapshotGroupName\":\"mtv-ss-copy-171-to-291\",\"snapshotPoolId\":3,"
         "\"pvolLdevId\":171,\"svolLdevId\":291,\"isClone\":true,\"canCascade\":true,"
         "\"clonesAutomation\":true,\"copySpeed\":\"medium\"}",
         JOBH, 202, JOB_DONE(300), NULL, 0},
        {"GET", V1 "/snapshots?snapshotGroupName=mtv-ss-copy-171-to-291&pvolLdevId=171", NULL, NULL,
         200, "{\"data\":[]}", NULL, 0},
        {"GET", V1 "/snapshots?snapshotGroupName=mtv-ss-copy-171-to-291&pvolLdevId=171", NULL, NULL,
         200,
         "{\"data\":[{\"snapshotGroupName\":\"mtv-ss-copy-171-to-291\",\"pvolLdevId\":171,"
         "\"muNumber\":3,\"status\":\"COPY\",\"concordanceRate\":40}]}",
         NULL, 0},
        {"GET", V1 "/snapshots?snapshotGroupName=mtv-ss-copy-171-to-291&pvolLdevId=171", NULL, NULL,
         200,
         "{\"data\":[{\"snapshotGroupName\":\"mtv-ss-copy-171-to-291\",\"pvolLdevId\":171,"
         "\"muNumber\":3,\"status\":\"PSUP\",\"concordanceRate\":100}]}",
         NULL, 0},
    };
    struct http_transport t;
    struct storage_kv env[] = {{"STORAGE_PORT", "23451"}, {"COPY_SPEED", "medium"}};
    struct storage_config cfg = {
        .hostname = "10.0.0.1",
        .username = "vspuser",
        .password = "pw",
        .timeout_s = 5,
        .retry_initial_ms = 1,
        .env = env,
        .nenv = 2,
    };
    struct storage_lun target = {.id = (char *)"291", .name = (char *)"pvc-abc"};
    struct storage_copy_req req = {
        .vvol_id = "rfc4122.6f1b2c3d-0000-4000-8000-0000000000ab",
        .target = &target,
    };
    struct fixture f = {0};
    struct perr err = {0};

    (void)state;
    f.ft = fake_transport_new();
    fake_transport_add(f.ft, open_ok, 2);
    fake_transport_add(f.ft, ex, sizeof(ex) / sizeof(ex[0]));
    t = fake_transport_http(f.ft);
    cfg.transport = &t;
    assert_int_equal(storage_open(&storage_vantara, &cfg, &f.st, &err), 0);
    assert_true(storage_has_cap(f.st, STORAGE_CAP_VVOL_COPY));
    last_pct = n_pct = 0;
    assert_int_equal(storage_vvol_copy(f.st, &req, on_progress, NULL, &err), 0);
    assert_int_equal(last_pct, 100);
    assert_int_equal(n_pct, 3); /* 0, 40, 100 */
    /* Too short an id: refused before any request. */
    req.vvol_id = "ab";
    assert_int_equal(storage_vvol_copy(f.st, &req, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    done(&f, true);
}

static void
test_rdm_copy(void **state)
{
    static const struct fake_exchange ex[] = {
        /* vml alias: NAA ...00AB = LDEV 171, its naaId matches */
        {"GET", V1 "/ldevs/171", NULL, NULL, 200,
         "{\"ldevId\":171,\"naaId\":\"60060E801234560050501234000000AB\"}", NULL, 0},
        {"GET", V1 "/ldevs/291", NULL, NULL, 200, LDEV_NO_PATHS, NULL, 0},
        {"POST", V1 "/snapshots",
         "{\"snapshotGroupName\":\"mtv-ss-copy-171-to-291\",\"snapshotPoolId\":3,"
         "\"pvolLdevId\":171,\"svolLdevId\":291,\"isClone\":true,\"canCascade\":true,"
         "\"clonesAutomation\":true,\"copySpeed\":\"slower\"}",
         JOBH, 202, JOB_RUNNING(301), NULL, 0},
        {"GET", V1 "/jobs/301", NULL, NULL, 200, JOB_DONE(301), NULL, 0},
        /* seen copying, then deleted by clonesAutomation: done */
        {"GET", V1 "/snapshots?snapshotGroupName=mtv-ss-copy-171-to-291&pvolLdevId=171", NULL, NULL,
         200, "{\"data\":[{\"status\":\"COPY\",\"concordanceRate\":90}]}", NULL, 0},
        {"GET", V1 "/snapshots?snapshotGroupName=mtv-ss-copy-171-to-291&pvolLdevId=171", NULL, NULL,
         200, "{\"data\":[]}", NULL, 0},
        /* an LDEV with that number but another NAA: refused */
        {"GET", V1 "/ldevs/171", NULL, NULL, 200,
         "{\"ldevId\":171,\"naaId\":\"60060E809999990050501234000000AB\"}", NULL, 0},
    };
    struct storage_lun target = {.id = (char *)"291", .name = (char *)"pvc-abc"};
    struct storage_copy_req req = {
        .rdm_device = "vml.020000000060060e801234560050501234000000ab4f50454e2d56",
        .rdm_lun_uuid = "020000000060060e801234560050501234000000ab4f50454e2d56",
        .target = &target,
    };
    struct fixture f = opened(NULL);
    struct perr err = {0};

    (void)state;
    fake_transport_add(f.ft, ex, sizeof(ex) / sizeof(ex[0]));
    last_pct = n_pct = 0;
    assert_int_equal(storage_rdm_copy(f.st, &req, on_progress, NULL, &err), 0);
    assert_int_equal(last_pct, 100);
    assert_int_equal(n_pct, 3); /* 10, 90, 100 */
    req.rdm_device = "/vmfs/devices/disks/naa.60060e801234560050501234000000ab";
    assert_int_equal(storage_rdm_copy(f.st, &req, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "60060E809999990050501234000000AB"));
    perr_clear(&err);
    /* Another vendor's device: refused before any request. */
    req.rdm_device = "naa.624a9370a1b2c3d4e5f60718293a4b5c";
    assert_int_equal(storage_rdm_copy(f.st, &req, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    done(&f, true);
}

/* The listing asks for the logins when the host groups are to be
 * discovered, and ensure_igroup's discovery uses it: the ports are listed
 * once.  With HOSTGROUP_ID_LIST there is no discovery and no login detail. */
static void
test_target_ports(void **state)
{
    static const char *const inits[] = {"fc.20000024ff5e0001:21000024ff5e0001"};
    static const struct fake_exchange ex[] = {
        {"GET", V1 "/ports?detailInfoType=logins", NULL, NULL, 200,
         "{\"data\":[{\"portId\":\"CL1-A\",\"portType\":\"FIBRE\",\"wwn\":\"50060e8012345600\","
         "\"logins\":[{\"hostGroupId\":\"CL1-A,1\",\"isLogin\":true,\"loginWwn\":"
         "\"21000024FF5E0001\"}]},"
         "{\"portId\":\"CL1-B\",\"portType\":\"ISCSI\",\"logins\":[]},"
         "{\"portId\":\"CL2-A\",\"portType\":\"FIBRE\",\"wwn\":\"50060E8012345610\","
         "\"logins\":[]}]}",
         NULL, 0},
    };
    static const struct fake_exchange plain[] = {
        {"GET", V1 "/ports", NULL, NULL, 200,
         "{\"data\":[{\"portId\":\"CL1-A\",\"portType\":\"FIBRE\",\"wwn\":\"50060e8012345600\"}]}",
         NULL, 0},
    };
    struct fixture f = opened(NULL);
    struct perr err = {0};
    struct strv fc = {0};
    struct strv iscsi = {0};
    char *group = NULL;

    (void)state;
    fake_transport_add(f.ft, ex, 1);
    assert_int_equal(storage_target_ports(f.st, &fc, &iscsi, &err), 0);
    assert_int_equal(fc.n, 2);
    assert_string_equal(fc.v[1], "50060E8012345610");
    assert_int_equal(iscsi.n, 0);
    /* discovery: no second port listing (open 2 + the one listing) */
    assert_int_equal(storage_ensure_igroup(f.st, "xcopy-x", inits, 1, &group, &err), 0);
    assert_string_equal(group, "CL1-A,1");
    assert_int_equal(fake_transport_calls(f.ft), 3);
    free(group);
    strv_free(&fc);
    strv_free(&iscsi);
    done(&f, true);

    f = opened("CL1-A,1");
    fake_transport_add(f.ft, plain, 1);
    assert_int_equal(storage_target_ports(f.st, &fc, &iscsi, &err), 0);
    assert_int_equal(fc.n, 1);
    strv_free(&fc);
    strv_free(&iscsi);
    done(&f, true);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_sequence),
        cmocka_unit_test(test_hostgroup_list),
        cmocka_unit_test(test_discovery_no_match),
        cmocka_unit_test(test_mapped_groups_reports_ours_as_ours),
        cmocka_unit_test(test_resolve_handles),
        cmocka_unit_test(test_open_version),
        cmocka_unit_test(test_session_expired_relogin),
        cmocka_unit_test(test_job_failures),
        cmocka_unit_test(test_vvol_copy),
        cmocka_unit_test(test_rdm_copy),
        cmocka_unit_test(test_target_ports),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
