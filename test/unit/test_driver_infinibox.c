/*
 * The InfiniBox driver against the scripted transport.  Shapes follow
 * vendors-b.md §3 and vendor-corrections.md §1: Basic auth on every request,
 * the {result, error, metadata} envelope read error-first (statuses are not
 * trusted), page/page_size paging, hosts found by their ports.
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

#define API        "/api/rest"
#define BASIC      "Authorization: Basic YWRtaW46cHc=" /* admin:pw */
#define MD1        "\"metadata\":{\"ready\":true,\"page\":1,\"pages_total\":1,\"page_size\":1000}"
#define OK(result) "{\"result\":" result ",\"error\":null," MD1 "}"
#define ERR(code, msg)                                                                             \
    "{\"result\":null,\"error\":{\"code\":\"" code "\",\"message\":\"" msg                         \
    "\",\"reasons\":[],\"severity\":\"ERROR\",\"is_remote\":false,\"data\":null},"                 \
    "\"metadata\":{\"ready\":true}}"

#define SYSTEM OK("{\"name\":\"ibox1\",\"model\":\"F4304\",\"version\":\"7.3.10.0\"}")
#define VOL    "csi-9f3e1c2a7b"
#define SERIAL "742b0f000004e2b0000000000000e8b"
#define NAA    "naa.6742b0f000004e2b0000000000000e8b"
#define VOLQ   API "/volumes?name=" VOL "&page=1&page_size=1000"
#define HOSTSQ API "/hosts?page=1&page_size=1000"
#define LUNSQ  API "/volumes/3723/luns?page=1&page_size=1000"

#define IQN  "iqn.1998-01.com.vmware:esx01-1234"
#define WWPN "21000024ff3ab500"
#define FCID "fc.20000024ff3ab500:" WWPN

/* Two pages of hosts: a worker, then the ESXi host with its WWPN spelled
 * with colons in upper case, and its IQN. */
#define HOSTS_P1                                                                                   \
    "{\"result\":[{\"id\":11,\"name\":\"ocp-worker-1\",\"ports\":[{\"type\":\"ISCSI\","            \
    "\"address\":\"iqn.1994-05.com.redhat:w1\",\"host_id\":11}]}],\"error\":null,"                 \
    "\"metadata\":{\"ready\":true,\"page\":1,\"pages_total\":2,\"page_size\":1}}"
#define HOSTS_P2                                                                                   \
    "{\"result\":[{\"id\":12,\"name\":\"esx01\",\"ports\":[{\"type\":\"FC\","                      \
    "\"address\":\"21:00:00:24:FF:3A:B5:00\",\"host_id\":12},{\"type\":\"ISCSI\","                 \
    "\"address\":\"" IQN "\",\"host_id\":12}]}],\"error\":null,"                                   \
    "\"metadata\":{\"ready\":true,\"page\":2,\"pages_total\":2,\"page_size\":1}}"

static const struct fake_exchange open_ok[] = {
    {"GET", API "/system", NULL, BASIC, 200, SYSTEM, NULL, 0},
};

struct fixture {
    struct fake_transport *ft;
    struct storage *st;
};

static int
open_with(struct fixture *f, const char *host, const char *password, const struct fake_exchange *ex,
          size_t n, struct perr *err)
{
    struct http_transport t;
    struct storage_config cfg = {
        .hostname = host,
        .username = "admin",
        .password = password,
        .timeout_s = 5,
        .retry_initial_ms = 1,
    };

    f->ft = fake_transport_new();
    fake_transport_add(f->ft, ex, n);
    t = fake_transport_http(f->ft);
    cfg.transport = &t;
    return storage_open(&storage_infinibox, &cfg, &f->st, err);
}

static struct fixture
opened(void)
{
    struct fixture f = {0};
    struct perr err = {0};

    assert_int_equal(open_with(&f, "https://ibox1/", "pw", open_ok, 1, &err), 0);
    return f;
}

static void
done(struct fixture *f)
{
    fake_transport_verify(f->ft);
    storage_free(f->st);
    fake_transport_free(f->ft);
}

static const struct storage_attr attrs[] = {
    {"Name", VOL},
    {"storage_protocol", "fc"},
};

static const struct storage_pv pv = {
    .name = "pvc-1",
    .volume_handle = "3723$$fc",
    .csi_driver = "infinibox-csi-driver",
    .attrs = attrs,
    .nattrs = 2,
};

/* ---- the whole XCOPY sequence ---- */

static void
test_full_sequence(void **state)
{
    static const struct fake_exchange ex[] = {
        /* ensure: all pages of hosts, matched by the FC port */
        {"GET", HOSTSQ, NULL, BASIC, 200, HOSTS_P1, NULL, 0},
        {"GET", API "/hosts?page_size=1000&page=2", NULL, BASIC, 200, HOSTS_P2, NULL, 0},
        /* resolve by the Name attribute */
        {"GET", VOLQ, NULL, NULL, 200,
         OK("[{\"id\":3723,\"name\":\"" VOL "\",\"serial\":\"" SERIAL "\"}]"), NULL, 0},
        /* mapped groups: one worker (and a host-cluster entry that is skipped);
         * its name from ensure's host listing, not listed again */
        {"GET", LUNSQ, NULL, NULL, 200,
         OK("[{\"id\":1,\"lun\":1,\"clustered\":false,\"host_id\":11,\"volume_id\":3723},"
            "{\"id\":2,\"lun\":5,\"clustered\":true,\"host_cluster_id\":4,\"volume_id\":3723}]"),
         NULL, 0},
        /* map: posted at once, no listing first (host id known from ensure) */
        {"POST", API "/hosts/12/luns?approved=true", "{\"volume_id\":3723}", BASIC, 201,
         OK("{\"id\":3,\"lun\":2,\"host_id\":12,\"volume_id\":3723}"), NULL, 0},
        /* map again: MAPPING_ALREADY_EXISTS inside a 200 = success */
        {"POST", API "/hosts/12/luns?approved=true", "{\"volume_id\":3723}", NULL, 200,
         ERR("MAPPING_ALREADY_EXISTS", "Volume is already mapped to host 'esx01'"), NULL, 0},
        /* unmap, then unmap again (LUN_NOT_FOUND inside a 200 = success) */
        {"DELETE", API "/hosts/12/luns/volume_id/3723?approved=true", NULL, BASIC, 200,
         OK("{\"id\":3}"), NULL, 0},
        {"DELETE", API "/hosts/12/luns/volume_id/3723?approved=true", NULL, NULL, 200,
         ERR("LUN_NOT_FOUND", "Volume is not mapped to host"), NULL, 0},
        /* re-map the original group: looked up by name, still mapped */
        {"GET", API "/hosts?name=ocp-worker-1", NULL, NULL, 200,
         OK("[{\"id\":11,\"name\":\"ocp-worker-1\",\"ports\":[]}]"), NULL, 0},
        {"POST", API "/hosts/11/luns?approved=true", "{\"volume_id\":3723}", NULL, 200,
         ERR("MAPPING_ALREADY_EXISTS", "Volume is already mapped to host 'ocp-worker-1'"), NULL, 0},
    };
    const char *inits[] = {FCID, IQN};
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {0};
    struct storage_lun mapped = {0};
    struct storage_array_info info = {0};
    struct strv groups = {0};
    struct strv failed = {0};
    char *actual = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(
        storage_ensure_igroup(f.st, "xcopy-hostsystem-host-12", inits, 2, &actual, &err), 0);
    assert_string_equal(actual, "esx01");
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), 0);
    assert_string_equal(lun.name, VOL);
    assert_string_equal(lun.id, "3723");
    assert_string_equal(lun.serial, SERIAL);
    assert_string_equal(lun.naa, NAA);
    assert_int_equal(storage_mapped_groups(f.st, &lun, &groups, &err), 0);
    assert_int_equal(groups.n, 1);
    assert_string_equal(groups.v[0], "ocp-worker-1");
    /* open, two host pages, the volume, its LUNs: no second host listing */
    assert_int_equal(fake_transport_calls(f.ft), 5);
    assert_int_equal(storage_map(f.st, actual, &lun, &mapped, &err), 0);
    assert_string_equal(mapped.naa, NAA);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_map(f.st, actual, &lun, &mapped, &err), 0);
    assert_int_equal(storage_unmap(f.st, actual, &lun, &err), 0);
    assert_int_equal(storage_unmap(f.st, actual, &lun, &err), 0);
    assert_int_equal(storage_remap(f.st, &groups, &lun, &failed, &err), 0);
    assert_int_equal(failed.n, 0);
    /* model and version come from the open's GET system: no request */
    assert_int_equal(storage_array_info(f.st, &info, &err), 0);
    assert_string_equal(info.model, "F4304");
    assert_string_equal(info.version, "7.3.10.0");
    assert_false(perr_failed(&err));
    storage_array_info_clear(&info);
    storage_lun_clear(&mapped);
    storage_lun_clear(&lun);
    strv_free(&groups);
    strv_free(&failed);
    free(actual);
    done(&f);
}

/* The base URL takes the host with or without a trailing slash, with or
 * without a scheme. */
static void
test_base_url(void **state)
{
    const char *hosts[] = {"https://ibox1", "https://ibox1/", "ibox1", "ibox1//"};

    (void)state;
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        struct fixture f = {0};
        struct perr err = {0};

        assert_int_equal(open_with(&f, hosts[i], "pw", open_ok, 1, &err), 0);
        done(&f);
    }
}

/* An iSCSI-only host matches on the exact IQN; a case change does not. */
static void
test_iscsi_exact(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", HOSTSQ, NULL, NULL, 200,
         OK("[{\"id\":7,\"name\":\"esx-upper\",\"ports\":[{\"type\":\"ISCSI\","
            "\"address\":\"IQN.1998-01.COM.VMWARE:ESX01-1234\"}]},"
            "{\"id\":8,\"name\":\"esx-exact\",\"ports\":[{\"type\":\"ISCSI\","
            "\"address\":\"" IQN "\"}]}]"),
         NULL, 0},
    };
    const char *inits[] = {IQN};
    struct fixture f = opened();
    struct perr err = {0};
    char *actual = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_ensure_igroup(f.st, "g", inits, 1, &actual, &err), 0);
    assert_string_equal(actual, "esx-exact");
    free(actual);
    done(&f);
}

/* No host holds the initiators: a clear error naming them, nothing created. */
static void
test_host_missing(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", HOSTSQ, NULL, NULL, 200,
         OK("[{\"id\":11,\"name\":\"ocp-worker-1\",\"ports\":[{\"type\":\"ISCSI\","
            "\"address\":\"iqn.1994-05.com.redhat:w1\"}]}]"),
         NULL, 0},
    };
    const char *inits[] = {FCID, IQN};
    struct fixture f = opened();
    struct perr err = {0};
    char *actual = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_ensure_igroup(f.st, "g", inits, 2, &actual, &err), -1);
    assert_null(actual);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "'" FCID "'"));
    assert_non_null(strstr(err.msg, "'" IQN "'"));
    assert_non_null(strstr(err.msg, "never creates hosts"));
    done(&f);
}

/* Wrong credentials: 401 with the envelope at open is an authentication
 * error naming the user, with the array's code and text. */
static void
test_auth_failure(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", API "/system", NULL, NULL, 401,
         ERR("UNAUTHORIZED", "Authentication failed: invalid user name or password"), NULL, 0},
    };
    struct fixture f = {0};
    struct perr err = {0};

    (void)state;
    assert_int_equal(open_with(&f, "https://ibox1/", "bad", ex, 1, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_int_equal(err.http_status, 401);
    assert_string_equal(err.remote_code, "UNAUTHORIZED");
    assert_non_null(strstr(err.msg, "authentication failed for user 'admin'"));
    assert_non_null(strstr(err.msg, "invalid user name or password"));
    /* no retry and no re-login with Basic auth: one request */
    assert_int_equal(fake_transport_calls(f.ft), 1);
    fake_transport_verify(f.ft);
    fake_transport_free(f.ft);
}

/* The error is read before the result: an auth error in a 200 envelope (the
 * status is not reliable) is an auth error, never "host not found". */
static void
test_envelope_first(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", API "/hosts?name=esx01", NULL, NULL, 200,
         ERR("UNAUTHORIZED", "Session user is not authorized"), NULL, 0},
        {"GET", HOSTSQ, NULL, NULL, 200, ERR("INTERNAL_ERROR", "database busy"), NULL, 0},
    };
    const char *inits[] = {IQN};
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun mapped = {0};
    struct storage_lun lun = {.name = VOL, .id = "3723"};
    char *actual = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_map(f.st, "esx01", &lun, &mapped, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_null(strstr(err.msg, "not found"));
    assert_non_null(strstr(err.msg, "authentication failed"));
    memset(&err, 0, sizeof(err));
    assert_int_equal(storage_ensure_igroup(f.st, "g", inits, 1, &actual, &err), -1);
    assert_int_equal(err.code, PERR_REMOTE);
    assert_string_equal(err.remote_code, "INTERNAL_ERROR");
    assert_non_null(strstr(err.msg, "database busy"));
    done(&f);
}

/* Resolve: a missing Name attribute, a volume that does not exist, a serial
 * that cannot make a device name. */
static void
test_resolve_errors(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", VOLQ, NULL, NULL, 200, OK("[]"), NULL, 0},
        {"GET", VOLQ, NULL, NULL, 200,
         OK("[{\"id\":3723,\"name\":\"" VOL "\",\"serial\":\"742b0f\"}]"), NULL, 0},
    };
    static const struct storage_pv nopv = {.name = "pvc-2", .volume_handle = "1$$iscsi"};
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_resolve_pv(f.st, &nopv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_non_null(strstr(err.msg, "'Name'"));
    memset(&err, 0, sizeof(err));
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "volume '" VOL "' not found"));
    memset(&err, 0, sizeof(err));
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_null(lun.name);
    done(&f);
}

/* Map: a host that does not exist; a concurrent mapping ("already exists"
 * inside a 200) is success; a refusal keeps the array's code and text. */
static void
test_map_errors(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", API "/hosts?name=gone", NULL, NULL, 200, OK("[]"), NULL, 0},
        {"GET", API "/hosts?name=esx01", NULL, NULL, 200, OK("[{\"id\":12,\"name\":\"esx01\"}]"),
         NULL, 0},
        {"POST", API "/hosts/12/luns?approved=true", "{\"volume_id\":3723}", NULL, 200,
         ERR("MAPPING_ALREADY_EXISTS", "Volume is already mapped to host 'esx01'"), NULL, 0},
        {"GET", API "/hosts?name=esx01", NULL, NULL, 200, OK("[{\"id\":12,\"name\":\"esx01\"}]"),
         NULL, 0},
        {"POST", API "/hosts/12/luns?approved=true", "{\"volume_id\":3723}", NULL, 200,
         ERR("LUN_IN_USE", "No free LUN on host 'esx01'"), NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun mapped = {0};
    struct storage_lun lun = {.name = VOL, .id = "3723"};
    struct storage_lun badid = {.name = VOL, .id = "v-1"};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_map(f.st, "gone", &lun, &mapped, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "host 'gone' not found"));
    memset(&err, 0, sizeof(err));
    assert_int_equal(storage_map(f.st, "esx01", &lun, &mapped, &err), 0);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_map(f.st, "esx01", &lun, &mapped, &err), -1);
    assert_int_equal(err.code, PERR_REMOTE);
    assert_int_equal(err.http_status, 200);
    assert_string_equal(err.remote_code, "LUN_IN_USE");
    assert_non_null(strstr(err.msg, "No free LUN"));
    memset(&err, 0, sizeof(err));
    assert_int_equal(storage_map(f.st, "esx01", &badid, &mapped, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    done(&f);
}

/* Unmap: a host that is gone is success (nothing is mapped to it); a host
 * or volume the array says is missing is success; other refusals are not. */
static void
test_unmap_errors(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", API "/hosts?name=gone", NULL, NULL, 200, OK("[]"), NULL, 0},
        {"GET", API "/hosts?name=esx01", NULL, NULL, 200, OK("[{\"id\":12,\"name\":\"esx01\"}]"),
         NULL, 0},
        {"DELETE", API "/hosts/12/luns/volume_id/3723?approved=true", NULL, NULL, 404,
         ERR("VOLUME_NOT_FOUND", "Volume with id 3723 does not exist"), NULL, 0},
        {"GET", API "/hosts?name=esx01", NULL, NULL, 200, OK("[{\"id\":12,\"name\":\"esx01\"}]"),
         NULL, 0},
        {"DELETE", API "/hosts/12/luns/volume_id/3723?approved=true", NULL, NULL, 200,
         ERR("APPROVAL_REQUIRED", "This operation requires approval"), NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {.name = VOL, .id = "3723"};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_unmap(f.st, "gone", &lun, &err), 0);
    assert_int_equal(storage_unmap(f.st, "esx01", &lun, &err), 0);
    assert_int_equal(storage_unmap(f.st, "esx01", &lun, &err), -1);
    assert_int_equal(err.code, PERR_REMOTE);
    assert_string_equal(err.remote_code, "APPROVAL_REQUIRED");
    assert_non_null(strstr(err.msg, "from host 'esx01'"));
    done(&f);
}

/* The populate's order: mapped_groups lists the hosts (the volume is still
 * mapped to ours, e.g. after a killed run) and ensure_igroup finds the host
 * in that listing.  A host the kept listing lacks is looked for in a new
 * one; after a map, mapped_groups lists afresh. */
static void
test_host_listing_shared(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", LUNSQ, NULL, NULL, 200, OK("[{\"lun\":1,\"clustered\":false,\"host_id\":12}]"),
         NULL, 0},
        {"GET", HOSTSQ, NULL, NULL, 200, HOSTS_P1, NULL, 0},
        {"GET", API "/hosts?page_size=1000&page=2", NULL, NULL, 200, HOSTS_P2, NULL, 0},
        /* ensure: nothing; map: at once */
        {"POST", API "/hosts/12/luns?approved=true", "{\"volume_id\":3723}", NULL, 200,
         ERR("MAPPING_ALREADY_EXISTS", "Volume is already mapped to host 'esx01'"), NULL, 0},
        /* after the map: listed afresh */
        {"GET", LUNSQ, NULL, NULL, 200, OK("[{\"lun\":1,\"clustered\":false,\"host_id\":12}]"),
         NULL, 0},
        {"GET", HOSTSQ, NULL, NULL, 200, HOSTS_P1, NULL, 0},
        {"GET", API "/hosts?page_size=1000&page=2", NULL, NULL, 200, HOSTS_P2, NULL, 0},
        /* a host the kept listing lacks: a new listing */
        {"GET", HOSTSQ, NULL, NULL, 200,
         OK("[{\"id\":13,\"name\":\"esx02\",\"ports\":[{\"type\":\"ISCSI\","
            "\"address\":\"iqn.1998-01.com.vmware:esx02\",\"host_id\":13}]}]"),
         NULL, 0},
    };
    const char *inits[] = {FCID, IQN};
    const char *other[] = {"iqn.1998-01.com.vmware:esx02"};
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {.name = VOL, .id = "3723", .naa = NAA};
    struct storage_lun mapped = {0};
    struct strv groups = {0};
    char *actual = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_mapped_groups(f.st, &lun, &groups, &err), 0);
    assert_int_equal(groups.n, 1);
    assert_string_equal(groups.v[0], "esx01");
    assert_int_equal(storage_ensure_igroup(f.st, "xcopy-h", inits, 2, &actual, &err), 0);
    assert_string_equal(actual, "esx01");
    assert_int_equal(fake_transport_calls(f.ft), 4); /* open, LUNs, two host pages */
    assert_int_equal(storage_map(f.st, actual, &lun, &mapped, &err), 0);
    storage_lun_clear(&mapped);
    strv_free(&groups);
    assert_int_equal(storage_mapped_groups(f.st, &lun, &groups, &err), 0);
    assert_int_equal(groups.n, 1);
    free(actual);
    assert_int_equal(storage_ensure_igroup(f.st, "xcopy-h", other, 1, &actual, &err), 0);
    assert_string_equal(actual, "esx02");
    assert_false(perr_failed(&err));
    strv_free(&groups);
    free(actual);
    done(&f);
}

/* Mapped groups: none -> no host listing; several hosts are all kept (not
 * only the first); unknown host ids are skipped. */
static void
test_mapped_groups(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", LUNSQ, NULL, NULL, 200, OK("[]"), NULL, 0},
        {"GET", LUNSQ, NULL, NULL, 200,
         OK("[{\"lun\":1,\"clustered\":false,\"host_id\":12},"
            "{\"lun\":1,\"clustered\":false,\"host_id\":11},"
            "{\"lun\":1,\"clustered\":false,\"host_id\":99}]"),
         NULL, 0},
        {"GET", HOSTSQ, NULL, NULL, 200, HOSTS_P1, NULL, 0},
        {"GET", API "/hosts?page_size=1000&page=2", NULL, NULL, 200, HOSTS_P2, NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {.name = VOL, .id = "3723"};
    struct strv groups = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_mapped_groups(f.st, &lun, &groups, &err), 0);
    assert_int_equal(groups.n, 0);
    assert_int_equal(storage_mapped_groups(f.st, &lun, &groups, &err), 0);
    assert_int_equal(groups.n, 2);
    assert_string_equal(groups.v[0], "esx01");
    assert_string_equal(groups.v[1], "ocp-worker-1");
    strv_free(&groups);
    done(&f);
}

/* A body that is not JSON is a protocol error, whatever the status. */
static void
test_malformed(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", VOLQ, NULL, NULL, 200, "<html>gateway</html>", NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    done(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_sequence),  cmocka_unit_test(test_host_listing_shared),
        cmocka_unit_test(test_base_url),       cmocka_unit_test(test_iscsi_exact),
        cmocka_unit_test(test_host_missing),   cmocka_unit_test(test_auth_failure),
        cmocka_unit_test(test_envelope_first), cmocka_unit_test(test_resolve_errors),
        cmocka_unit_test(test_map_errors),     cmocka_unit_test(test_unmap_errors),
        cmocka_unit_test(test_mapped_groups),  cmocka_unit_test(test_malformed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
