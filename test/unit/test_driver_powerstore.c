/*
 * The Dell PowerStore driver against the scripted transport: the exact
 * requests of open, ensure_igroup, resolve_pv, mapped_groups, map, unmap and
 * close, with bodies asserted, following vendors-a.md §5 and the array's REST
 * query language (select=, <field>=eq.<value>, limit/offset with HTTP 206 and
 * Content-Range).
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

#define API   "/api/rest"
#define BASIC "Authorization: Basic YWRtaW46cHc=" /* admin:pw */
#define TOK1  "DELL-EMC-TOKEN: t1"
#define TOK2  "DELL-EMC-TOKEN: t2"

#define HOST_SEL  "select=id,name,host_group_id,host_initiators"
#define HOSTS_Q   API "/host?" HOST_SEL "&order=name&limit=1000&offset="
#define HOST_Q(n) API "/host?" HOST_SEL "&name=eq." n
#define MAP_Q                                                                                      \
    API "/host_volume_mapping?select=id,host_id,host_group_id,volume_id,logical_unit_number,"      \
        "host(name),host_group(name)&volume_id=eq.vol-1&limit=1000&offset=0"
#define VOL_Q API "/volume?select=id,name,wwn&name=eq.csivol-1"
#define SW_Q                                                                                       \
    API "/software_installed?select=id,is_cluster,release_version&is_cluster=eq.true&limit=1000&"  \
        "offset=0"

#define GROUP "xcopy-hostsystem-host-123"
#define IQN   "iqn.1998-01.com.vmware:esx01-1234"
#define FC_ID "fc.20000025b5000001:20000025b5000002"
#define WWPN  "20:00:00:25:b5:00:00:02"
#define NAA   "naa.68ccf09800a1b2c3d4e5f60718293a4b"
#define VOLROW                                                                                     \
    "[{\"id\":\"vol-1\",\"name\":\"csivol-1\",\"wwn\":\"naa.68CCF09800A1B2C3D4E5F60718293A4B\"}]"

#define PS_ERR(code, text)                                                                         \
    "{\"messages\":[{\"code\":\"" code "\",\"severity\":\"Error\",\"message_l10n\":\"" text        \
    "\",\"arguments\":[]}]}"

static const struct fake_exchange open_ex[] = {
    {"GET", API "/login_session", NULL, BASIC, 200, "[{\"id\":\"s1\"}]", TOK1, 0},
    {"GET", API "/cluster?select=id,name,state", NULL, TOK1, 200,
     "[{\"id\":\"0\",\"name\":\"ps1\",\"state\":\"Configured\"}]", NULL, 0},
};

static const struct fake_exchange close_ex[] = {
    {"POST", API "/logout", NULL, TOK1, 204, NULL, NULL, 0},
};

struct fixture {
    struct fake_transport *ft;
    struct storage *st;
};

static int
open_with(struct fixture *f, const struct fake_exchange *ex, size_t n, struct perr *err)
{
    struct http_transport t;
    struct storage_config cfg = {
        .hostname = "https://ps.example:8443/",
        .username = "admin",
        .password = "pw",
        .timeout_s = 5,
        .retry_initial_ms = 1,
    };

    f->ft = fake_transport_new();
    fake_transport_add(f->ft, ex, n);
    t = fake_transport_http(f->ft);
    cfg.transport = &t;
    return storage_open(&storage_powerstore, &cfg, &f->st, err);
}

static struct fixture
opened(void)
{
    struct fixture f = {0};
    struct perr err = {0};

    assert_int_equal(open_with(&f, open_ex, 2, &err), 0);
    return f;
}

/* Closes (the logout is scripted by the caller) and verifies. */
static void
done(struct fixture *f)
{
    storage_free(f->st);
    fake_transport_verify(f->ft);
    fake_transport_free(f->ft);
}

static const struct storage_attr attrs[] = {{"Name", "csivol-1"}, {"Protocol", "scsi"}};

static const struct storage_pv pv = {
    .name = "pvc-1",
    .volume_handle = "vol-1/PS0001/scsi",
    .csi_driver = "csi-powerstore.dellemc.com",
    .attrs = attrs,
    .nattrs = 2,
};

static void
test_full_sequence(void **state)
{
    static const struct fake_exchange ex[] = {
        /* ensure: no host has the initiators (two pages) -> create, read back */
        {"GET", HOSTS_Q "0", NULL, "Application-Type: MTV", 206,
         "[{\"id\":\"w1\",\"name\":\"ocp-worker-1\",\"host_group_id\":null,\"host_initiators\":"
         "[{\"port_name\":\"iqn.1994-05.com.redhat:w1\",\"port_type\":\"iSCSI\"}]}]",
         "Content-Range: 0-0/2", 0},
        {"GET", HOSTS_Q "1", NULL, TOK1, 206,
         "[{\"id\":\"w2\",\"name\":\"ocp-worker-2\",\"host_group_id\":null,\"host_initiators\":[]}"
         "]",
         "Content-Range: 1-1/2", 0},
        {"POST", API "/host",
         "{\"name\":\"" GROUP "\",\"os_type\":\"ESXi\",\"initiators\":["
         "{\"port_name\":\"" WWPN "\",\"port_type\":\"FC\"},"
         "{\"port_name\":\"" IQN "\",\"port_type\":\"iSCSI\"}]}",
         TOK1, 201, "{\"id\":\"h-new\"}", NULL, 0},
        {"GET", HOST_Q(GROUP), NULL, NULL, 200,
         "[{\"id\":\"h-new\",\"name\":\"" GROUP "\",\"host_group_id\":null}]", NULL, 0},
        /* resolve */
        {"GET", VOL_Q, NULL, TOK1, 200, VOLROW, NULL, 0},
        /* mapped groups: a host and a host group */
        {"GET", MAP_Q, NULL, NULL, 200,
         "[{\"id\":\"m1\",\"host_id\":\"w1\",\"host_group_id\":null,\"host\":{\"name\":"
         "\"ocp-worker-1\"},\"host_group\":null},"
         "{\"id\":\"m2\",\"host_id\":null,\"host_group_id\":\"hg-9\",\"host\":null,"
         "\"host_group\":{\"name\":\"hg-ocp\"}},"
         "{\"id\":\"m3\",\"host_id\":null,\"host_group_id\":null}]",
         NULL, 0},
        /* map: attach at once, no listing first */
        {"POST", API "/host/h-new/attach", "{\"volume_id\":\"vol-1\"}", TOK1, 204, NULL, NULL, 0},
        /* map again: "already attached" is success */
        {"POST", API "/host/h-new/attach", "{\"volume_id\":\"vol-1\"}", NULL, 422,
         PS_ERR("0xE0A08001000D", "Volume csivol-1 is already attached to host " GROUP "."), NULL,
         0},
        /* unmap, then unmap again: "is not attached" is success */
        {"POST", API "/host/h-new/detach", "{\"volume_id\":\"vol-1\"}", TOK1, 204, NULL, NULL, 0},
        {"POST", API "/host/h-new/detach", "{\"volume_id\":\"vol-1\"}", NULL, 422,
         PS_ERR("0xE0A08001000E", "Volume csivol-1 is not attached to host " GROUP "."), NULL, 0},
        /* re-map the originals: both still attached */
        {"GET", HOST_Q("ocp-worker-1"), NULL, NULL, 200,
         "[{\"id\":\"w1\",\"name\":\"ocp-worker-1\",\"host_group_id\":null}]", NULL, 0},
        {"POST", API "/host/w1/attach", "{\"volume_id\":\"vol-1\"}", NULL, 422,
         PS_ERR("0xE0A08001000D", "Volume csivol-1 is already attached to host ocp-worker-1."),
         NULL, 0},
        {"GET", API "/host_group?select=id,name&name=eq.hg-ocp", NULL, NULL, 200,
         "[{\"id\":\"hg-9\",\"name\":\"hg-ocp\"}]", NULL, 0},
        {"POST", API "/host_group/hg-9/attach", "{\"volume_id\":\"vol-1\"}", NULL, 422,
         PS_ERR("0xE0A08001000D", "Volume csivol-1 is already attached to host group hg-ocp."),
         NULL, 0},
        /* array info */
        {"GET", SW_Q, NULL, NULL, 200,
         "[{\"id\":\"sw1\",\"is_cluster\":true,\"release_version\":\"3.6.0.0\"}]", NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {0};
    struct storage_lun mapped = {0};
    struct storage_array_info info = {0};
    struct strv groups = {0};
    struct strv failed = {0};
    const char *const inits[] = {IQN, FC_ID, "vmhba3"};
    char *actual = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    FAKE_SCRIPT(f.ft, close_ex);
    assert_int_equal(storage_ensure_igroup(f.st, GROUP, inits, 3, &actual, &err), 0);
    assert_string_equal(actual, GROUP);
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), 0);
    assert_string_equal(lun.name, "csivol-1");
    assert_string_equal(lun.id, "vol-1");
    assert_string_equal(lun.naa, NAA);
    assert_int_equal(storage_mapped_groups(f.st, &lun, &groups, &err), 0);
    assert_int_equal(groups.n, 2);
    assert_string_equal(groups.v[0], "ocp-worker-1");
    assert_string_equal(groups.v[1], "hg:hg-ocp");
    assert_int_equal(storage_map(f.st, actual, &lun, &mapped, &err), 0);
    assert_string_equal(mapped.naa, NAA);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_map(f.st, actual, &lun, &mapped, &err), 0);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_unmap(f.st, actual, &lun, &err), 0);
    assert_int_equal(storage_unmap(f.st, actual, &lun, &err), 0);
    assert_int_equal(storage_remap(f.st, &groups, &lun, &failed, &err), 0);
    assert_int_equal(failed.n, 0);
    assert_int_equal(storage_array_info(f.st, &info, &err), 0);
    assert_string_equal(info.version, "3.6.0.0");
    assert_int_equal(err.code, PERR_OK);
    storage_array_info_clear(&info);
    strv_free(&groups);
    strv_free(&failed);
    storage_lun_clear(&lun);
    free(actual);
    done(&f);
}

/* A host found by its WWPN that is a member of a host group: its missing
 * IQN is added, and attach/detach go through the group. */
static void
test_host_in_host_group(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", HOSTS_Q "0", NULL, NULL, 200,
         "[{\"id\":\"h-1\",\"name\":\"esxi-host-1\",\"host_group_id\":\"hg-1\",\"host_initiators\":"
         "[{\"port_name\":\"20:00:00:25:B5:00:00:02\",\"port_type\":\"FC\"}]}]",
         NULL, 0},
        {"PATCH", API "/host/h-1",
         "{\"add_initiators\":[{\"port_name\":\"" IQN "\",\"port_type\":\"iSCSI\"}]}", TOK1, 204,
         NULL, NULL, 0},
        /* no read-back by name: the listing's record has the id and group;
         * the member host attaches through its group */
        {"POST", API "/host_group/hg-1/attach", "{\"volume_id\":\"vol-1\"}", TOK1, 204, NULL, NULL,
         0},
        /* the group's attachment counts for its member */
        {"POST", API "/host_group/hg-1/attach", "{\"volume_id\":\"vol-1\"}", NULL, 422,
         PS_ERR("0xE0A08001000D", "Volume csivol-1 is already attached to host group hg-1."), NULL,
         0},
        {"POST", API "/host_group/hg-1/detach", "{\"volume_id\":\"vol-1\"}", TOK1, 204, NULL, NULL,
         0},
        /* a member host named by the cleanup is resolved to its group too */
        {"GET", HOST_Q("esxi-host-2"), NULL, NULL, 200,
         "[{\"id\":\"h-2\",\"name\":\"esxi-host-2\",\"host_group_id\":\"hg-2\"}]", NULL, 0},
        {"POST", API "/host_group/hg-2/attach", "{\"volume_id\":\"vol-1\"}", NULL, 204, NULL, NULL,
         0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {.name = "csivol-1", .id = "vol-1", .naa = NAA};
    struct storage_lun mapped = {0};
    const char *const inits[] = {FC_ID, IQN};
    char *actual = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    FAKE_SCRIPT(f.ft, close_ex);
    assert_int_equal(storage_ensure_igroup(f.st, GROUP, inits, 2, &actual, &err), 0);
    assert_string_equal(actual, "esxi-host-1");
    /* open (2), the host listing and the PATCH: the host is not read again */
    assert_int_equal(fake_transport_calls(f.ft), 4);
    assert_int_equal(storage_map(f.st, actual, &lun, &mapped, &err), 0);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_map(f.st, actual, &lun, &mapped, &err), 0);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_unmap(f.st, actual, &lun, &err), 0);
    assert_int_equal(storage_map(f.st, "esxi-host-2", &lun, &mapped, &err), 0);
    storage_lun_clear(&mapped);
    free(actual);
    done(&f);
}

/* A host made meanwhile by someone else: the create's "already exists" is
 * followed by a re-read and adding what the host lacks. */
static void
test_host_create_conflict(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", HOSTS_Q "0", NULL, NULL, 200, "[]", NULL, 0},
        {"POST", API "/host", NULL, NULL, 422,
         PS_ERR("0xE0A01001000B", "The host name " GROUP " already exists."), NULL, 0},
        {"GET", HOSTS_Q "0", NULL, NULL, 200,
         "[{\"id\":\"h-7\",\"name\":\"" GROUP "\",\"host_initiators\":[]}]", NULL, 0},
        {"PATCH", API "/host/h-7",
         "{\"add_initiators\":[{\"port_name\":\"" IQN "\",\"port_type\":\"iSCSI\"}]}", NULL, 204,
         NULL, NULL, 0},
        /* no read-back by name: the re-read listing gave the record;
         * no usable initiator: refused before any request */
    };
    struct fixture f = opened();
    struct perr err = {0};
    const char *const inits[] = {IQN};
    const char *const bad[] = {"vmhba1"};
    char *actual = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    FAKE_SCRIPT(f.ft, close_ex);
    assert_int_equal(storage_ensure_igroup(f.st, GROUP, inits, 1, &actual, &err), 0);
    assert_string_equal(actual, GROUP);
    assert_int_equal(fake_transport_calls(f.ft), 6);
    free(actual);
    assert_int_equal(storage_ensure_igroup(f.st, GROUP, bad, 1, &actual, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_null(actual);
    done(&f);
}

/* 403 = the session expired: one new login_session, then the request again
 * with the new token; a second 403 in the same call is the error. */
static void
test_session_expired_relogin(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", VOL_Q, NULL, TOK1, 403, PS_ERR("0xE09010010002", "The session has expired."), NULL,
         0},
        {"GET", API "/login_session", NULL, BASIC, 200, "[{\"id\":\"s2\"}]", TOK2, 0},
        {"GET", VOL_Q, NULL, TOK2, 200, VOLROW, NULL, 0},
        /* bounded: once per call */
        {"GET", VOL_Q, NULL, TOK2, 403, PS_ERR("0xE09010010002", "The session has expired."), NULL,
         0},
        {"GET", API "/login_session", NULL, BASIC, 200, "[{\"id\":\"s3\"}]", TOK1, 0},
        {"GET", VOL_Q, NULL, TOK1, 403, PS_ERR("0xE09010010003", "Forbidden for this role."), NULL,
         0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    FAKE_SCRIPT(f.ft, close_ex);
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), 0);
    storage_lun_clear(&lun);
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_int_equal(err.http_status, 403);
    assert_string_equal(err.remote_code, "0xE09010010003");
    assert_non_null(strstr(err.msg, "Forbidden for this role."));
    assert_non_null(strstr(err.msg, "STORAGE_USERNAME"));
    done(&f);
}

static void
test_open_errors(void **state)
{
    static const struct fake_exchange bad_login[] = {
        {"GET", API "/login_session", NULL, BASIC, 401,
         PS_ERR("0xE09010010001", "Authentication failed."), NULL, 0},
    };
    static const struct fake_exchange no_token[] = {
        {"GET", API "/login_session", NULL, BASIC, 200, "[{\"id\":\"s1\"}]", NULL, 0},
    };
    static const struct fake_exchange no_cluster[] = {
        {"GET", API "/login_session", NULL, BASIC, 200, "[{\"id\":\"s1\"}]", TOK1, 0},
        {"GET", API "/cluster?select=id,name,state", NULL, TOK1, 200, "[]", NULL, 0},
        {"POST", API "/logout", NULL, TOK1, 204, NULL, NULL, 0},
    };
    struct fixture f = {0};
    struct perr err = {0};

    (void)state;
    assert_int_equal(open_with(&f, bad_login, 1, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_int_equal(err.http_status, 401);
    assert_string_equal(err.remote_code, "0xE09010010001");
    assert_non_null(strstr(err.msg, "Authentication failed."));
    assert_null(f.st);
    fake_transport_verify(f.ft);
    fake_transport_free(f.ft);

    perr_clear(&err);
    assert_int_equal(open_with(&f, no_token, 1, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_non_null(strstr(err.msg, "DELL-EMC-TOKEN"));
    fake_transport_verify(f.ft);
    fake_transport_free(f.ft);

    perr_clear(&err);
    assert_int_equal(open_with(&f, no_cluster, 3, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    fake_transport_verify(f.ft);
    fake_transport_free(f.ft);
}

static void
test_resolve_errors(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", VOL_Q, NULL, NULL, 200, "[]", NULL, 0},
        {"GET", VOL_Q, NULL, NULL, 503, PS_ERR("0xE0101001000A", "Busy."), NULL, 0},
        {"GET", VOL_Q, NULL, NULL, 200, VOLROW, NULL, 0},
        {"GET", VOL_Q, NULL, NULL, 200, "[{\"id\":\"vol-1\",\"name\":\"csivol-1\"}]", NULL, 0},
        {"GET", VOL_Q, NULL, NULL, 200, "[{\"id\":", NULL, 0},
    };
    static const struct storage_pv noname = {.name = "pvc-2", .volume_handle = "x"};
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    FAKE_SCRIPT(f.ft, close_ex);
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_string_equal(err.msg, "powerstore: resolve_pv: PersistentVolume 'pvc-1': volume "
                                 "'csivol-1' not found");
    perr_clear(&err);
    /* 5xx then success */
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), 0);
    storage_lun_clear(&lun);
    /* no wwn */
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    perr_clear(&err);
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    perr_clear(&err);
    assert_int_equal(storage_resolve_pv(f.st, &noname, &lun, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_non_null(strstr(err.msg, "'Name'"));
    done(&f);
}

static void
test_map_errors(void **state)
{
    static const struct fake_exchange ex[] = {
        /* unknown host */
        {"GET", HOST_Q("nope"), NULL, NULL, 200, "[]", NULL, 0},
        /* the array refuses: its status, code and text come back */
        {"GET", HOST_Q("esx9"), NULL, NULL, 200, "[{\"id\":\"h9\",\"name\":\"esx9\"}]", NULL, 0},
        {"POST", API "/host/h9/attach", NULL, NULL, 422,
         PS_ERR("0xE0A08001000F", "Host esx9 is a member of host group g; attach the volume to "
                                  "the host group."),
         NULL, 0},
        /* attached meanwhile by someone else: success */
        {"GET", HOST_Q("esx9"), NULL, NULL, 200, "[{\"id\":\"h9\",\"name\":\"esx9\"}]", NULL, 0},
        {"POST", API "/host/h9/attach", NULL, NULL, 422,
         PS_ERR("0xE0A08001000D", "Volume csivol-1 is already attached to host esx9."), NULL, 0},
        /* detached meanwhile: success */
        {"GET", HOST_Q("esx9"), NULL, NULL, 200, "[{\"id\":\"h9\",\"name\":\"esx9\"}]", NULL, 0},
        {"POST", API "/host/h9/detach", NULL, NULL, 422,
         PS_ERR("0xE0A08001000E", "Volume csivol-1 is not attached to host esx9."), NULL, 0},
        /* unmap from a host that is gone: nothing to do */
        {"GET", HOST_Q("gone"), NULL, NULL, 200, "[]", NULL, 0},
        /* a detach that fails */
        {"GET", HOST_Q("esx9"), NULL, NULL, 200, "[{\"id\":\"h9\",\"name\":\"esx9\"}]", NULL, 0},
        {"POST", API "/host/h9/detach", NULL, NULL, 500,
         PS_ERR("0xE0101001000A", "Internal error."), NULL, 0},
        /* mapped groups: the listing fails */
        {"GET", MAP_Q, NULL, NULL, 400, PS_ERR("0xE04040010007", "Invalid select."), NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {.name = "csivol-1", .id = "vol-1", .naa = NAA};
    struct storage_lun mapped = {0};
    struct strv groups = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    FAKE_SCRIPT(f.ft, close_ex);
    assert_int_equal(storage_map(f.st, "nope", &lun, &mapped, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_null(mapped.name);
    perr_clear(&err);
    assert_int_equal(storage_map(f.st, "esx9", &lun, &mapped, &err), -1);
    assert_int_equal(err.code, PERR_HTTP);
    assert_int_equal(err.http_status, 422);
    assert_string_equal(err.remote_code, "0xE0A08001000F");
    assert_non_null(strstr(err.msg, "powerstore: map: volume 'csivol-1' to 'esx9': "));
    assert_non_null(strstr(err.msg, "attach the volume to the host group."));
    perr_clear(&err);
    assert_int_equal(storage_map(f.st, "esx9", &lun, &mapped, &err), 0);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_unmap(f.st, "esx9", &lun, &err), 0);
    assert_int_equal(storage_unmap(f.st, "gone", &lun, &err), 0);
    assert_int_equal(storage_unmap(f.st, "esx9", &lun, &err), -1);
    assert_int_equal(err.code, PERR_HTTP);
    assert_int_equal(err.http_status, 500);
    assert_non_null(strstr(err.msg, "Internal error."));
    perr_clear(&err);
    assert_int_equal(storage_mapped_groups(f.st, &lun, &groups, &err), -1);
    assert_int_equal(err.http_status, 400);
    assert_int_equal(groups.n, 0);
    strv_free(&groups);
    done(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_sequence),        cmocka_unit_test(test_host_in_host_group),
        cmocka_unit_test(test_host_create_conflict), cmocka_unit_test(test_session_expired_relogin),
        cmocka_unit_test(test_open_errors),          cmocka_unit_test(test_resolve_errors),
        cmocka_unit_test(test_map_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
