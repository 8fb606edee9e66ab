/*
 * The Pure FlashArray driver against the scripted transport (request bodies
 * asserted exactly).  Shapes follow the FlashArray REST 2.x spec (FA 2.56) and
 * vendors-a.md §2.
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

#define API      "/api/2.36"
#define SESS1    "x-auth-token: sess-1"
#define SESS2    "x-auth-token: sess-2"
#define VERSIONS "{\"version\":[\"1.0\",\"1.2\",\"1.19\",\"2.0\",\"2.4\",\"2.36\",\"2.9\",\"3.0\"]}"

#define VOL      "px_1a2b3c4d-pvc-1"
#define SERIAL   "A1B2C3D4E5F60718293A4B5C"
#define NAA      "naa.624a9370a1b2c3d4e5f60718293a4b5c"
#define VOL_ITEM "{\"items\":[{\"id\":\"vid-1\",\"name\":\"" VOL "\",\"serial\":\"" SERIAL "\"}]}"

#define HOST_GROUP "xcopy-hostsystem-host-123"
#define IQN1       "iqn.1998-01.com.vmware:esx01-1234"
#define IQN2       "iqn.1998-01.com.vmware:esx01-5678"
#define HOSTS_Q    API "/hosts?filter=is_local"

#define ALREADY                                                                                    \
    "{\"errors\":[{\"context\":\"" VOL "\",\"message\":\"Connection already exists.\"}]}"
#define NOCONN "{\"errors\":[{\"context\":\"" VOL "\",\"message\":\"Connection does not exist.\"}]}"

static const struct fake_exchange open_token[] = {
    {"GET", "/api/api_version", NULL, NULL, 200, VERSIONS, NULL, 0},
    {"POST", API "/login", NULL, "api-token: tok-123", 200, "{\"items\":[{\"username\":\"u\"}]}",
     "x-auth-token: sess-1", 0},
};

struct fixture {
    struct fake_transport *ft;
    struct storage *st;
};

static int
open_with(struct fixture *f, const char *token, const char *prefix, const struct fake_exchange *ex,
          size_t n, struct perr *err)
{
    struct http_transport t;
    struct storage_config cfg = {
        .hostname = "127.0.0.1",
        .username = "pureuser",
        .password = "pw",
        .token = token,
        .timeout_s = 5,
        .retry_initial_ms = 1,
    };

    struct storage_kv env[] = {{"PURE_CLUSTER_PREFIX", prefix}};

    cfg.env = env;
    cfg.nenv = prefix != NULL ? 1 : 0;
    f->ft = fake_transport_new();
    fake_transport_add(f->ft, ex, n);
    t = fake_transport_http(f->ft);
    cfg.transport = &t;
    return storage_open(&storage_pure, &cfg, &f->st, err);
}

static struct fixture
opened(void)
{
    struct fixture f = {0};
    struct perr err = {0};

    assert_int_equal(open_with(&f, "tok-123", "px_1a2b3c4d", open_token, 2, &err), 0);
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
    .volume_handle = "vid-1",
    .csi_driver = "pxd.portworx.com",
};

/* ---- the whole XCOPY sequence ---- */

static void
test_full_sequence(void **state)
{
    static const struct fake_exchange ex[] = {
        /* ensure: the ESXi host exists with one IQN -> the other is added */
        {"GET", HOSTS_Q, NULL, SESS1, 200,
         "{\"items\":[{\"name\":\"other\",\"iqns\":[\"iqn.other\"],\"wwns\":[]},"
         "{\"name\":\"esx01\",\"iqns\":[\"" IQN1 "\"],\"wwns\":[]}]}",
         NULL, 0},
        {"PATCH", API "/hosts?names=esx01", "{\"add_iqns\":[\"" IQN2 "\"]}", SESS1, 200,
         "{\"items\":[{\"name\":\"esx01\"}]}", NULL, 0},
        /* ensure again: complete -> nothing */
        {"GET", HOSTS_Q, NULL, NULL, 200,
         "{\"items\":[{\"name\":\"esx01\",\"iqns\":[\"" IQN1 "\",\"" IQN2 "\"],\"wwns\":[]}]}",
         NULL, 0},
        /* resolve by id */
        {"GET", API "/volumes?ids=vid-1&destroyed=false", NULL, SESS1, 200, VOL_ITEM, NULL, 0},
        /* mapped groups: a private connection and a host-group one */
        {"GET", API "/connections?volume_names=" VOL, NULL, NULL, 200,
         "{\"items\":[{\"host\":{\"name\":\"ocp-worker-1\"},\"host_group\":{\"name\":null},"
         "\"volume\":{\"name\":\"" VOL "\"},\"lun\":1},"
         "{\"host\":{\"name\":\"ocp-worker-2\"},\"host_group\":{\"name\":\"hg-ocp\"},\"lun\":2},"
         "{\"host\":{\"name\":\"ocp-worker-3\"},\"host_group\":{\"name\":\"hg-ocp\"},\"lun\":2}]}",
         NULL, 0},
        /* map, then map again */
        {"POST", API "/connections?host_names=esx01&volume_names=" VOL, NULL, SESS1, 200,
         "{\"items\":[{\"lun\":254}]}", NULL, 0},
        {"POST", API "/connections?host_names=esx01&volume_names=" VOL, NULL, NULL, 400, ALREADY,
         NULL, 0},
        /* unmap, then unmap again */
        {"DELETE", API "/connections?host_names=esx01&volume_names=" VOL, NULL, SESS1, 200, NULL,
         NULL, 0},
        {"DELETE", API "/connections?host_names=esx01&volume_names=" VOL, NULL, NULL, 400, NOCONN,
         NULL, 0},
        /* re-map the original groups: both still there */
        {"POST", API "/connections?host_names=ocp-worker-1&volume_names=" VOL, NULL, NULL, 400,
         ALREADY, NULL, 0},
        {"POST", API "/connections?host_group_names=hg-ocp&volume_names=" VOL, NULL, NULL, 400,
         ALREADY, NULL, 0},
        /* array info */
        {"GET", API "/arrays", NULL, NULL, 200,
         "{\"items\":[{\"id\":\"a1\",\"name\":\"fa1\",\"os\":\"Purity//"
         "FA\",\"version\":\"6.5.4\"}]}",
         NULL, 0},
        {"GET", API "/controllers", NULL, NULL, 200,
         "{\"items\":[{\"name\":\"CT0\",\"model\":\"\"},{\"name\":\"CT1\",\"model\":\"FA-X70R3\"}]"
         "}",
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
    assert_int_equal(storage_ensure_igroup(f.st, HOST_GROUP, inits, 2, &group, &err), 0);
    assert_string_equal(group, "esx01");
    free(group);
    assert_int_equal(storage_ensure_igroup(f.st, HOST_GROUP, inits, 2, &group, &err), 0);
    assert_string_equal(group, "esx01");

    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), 0);
    assert_string_equal(lun.name, VOL);
    assert_string_equal(lun.id, "vid-1");
    assert_string_equal(lun.serial, SERIAL);
    assert_string_equal(lun.naa, NAA);

    assert_int_equal(storage_mapped_groups(f.st, &lun, &orig, &err), 0);
    assert_int_equal(orig.n, 2);
    assert_string_equal(orig.v[0], "ocp-worker-1");
    assert_string_equal(orig.v[1], "hg:hg-ocp");

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
    assert_string_equal(info.vendor, "Pure Storage");
    assert_string_equal(info.product, "FlashArray");
    assert_string_equal(info.model, "FA-X70R3");
    assert_string_equal(info.version, "6.5.4");
    assert_int_equal(err.code, PERR_OK);

    storage_array_info_clear(&info);
    strv_free(&orig);
    storage_lun_clear(&lun);
    free(group);
    done(&f);
}

/* ---- hosts ---- */

static void
test_host_create_and_conflict(void **state)
{
    static const struct fake_exchange ex[] = {
        /* no host holds the initiators: one is created, personality esxi */
        {"GET", HOSTS_Q, NULL, NULL, 200,
         "{\"items\":[{\"name\":\"other\",\"iqns\":[\"iqn.other\"],\"wwns\":[\"5001438012345678\"]}"
         "]}",
         NULL, 0},
        {"POST", API "/hosts?names=" HOST_GROUP,
         "{\"iqns\":[\"" IQN1 "\",\"" IQN2 "\"],\"personality\":\"esxi\"}", SESS1, 200,
         "{\"items\":[{\"name\":\"" HOST_GROUP "\"}]}", NULL, 0},
        /* created meanwhile by someone else, without our initiators */
        {"GET", HOSTS_Q, NULL, NULL, 200, "{\"items\":[]}", NULL, 0},
        {"POST", API "/hosts?names=" HOST_GROUP,
         "{\"iqns\":[\"" IQN1 "\",\"" IQN2 "\"],\"personality\":\"esxi\"}", NULL, 400,
         "{\"errors\":[{\"context\":\"" HOST_GROUP "\",\"message\":\"Host already exists.\"}]}",
         NULL, 0},
        /* "already exists" is a race: the list is read again */
        {"GET", HOSTS_Q, NULL, NULL, 200,
         "{\"items\":[{\"name\":\"" HOST_GROUP "\",\"iqns\":[],\"wwns\":[]}]}", NULL, 0},
        {"PATCH", API "/hosts?names=" HOST_GROUP, "{\"add_iqns\":[\"" IQN1 "\",\"" IQN2 "\"]}",
         NULL, 200, "{}", NULL, 0},
        /* a host of our name exists in the list: updated, not re-created */
        {"GET", HOSTS_Q, NULL, NULL, 200,
         "{\"items\":[{\"name\":\"" HOST_GROUP "\",\"iqns\":[],\"wwns\":[]}]}", NULL, 0},
        {"PATCH", API "/hosts?names=" HOST_GROUP, "{\"add_iqns\":[\"" IQN1 "\",\"" IQN2 "\"]}",
         NULL, 200, "{}", NULL, 0},
    };
    static const char *const inits[] = {IQN1, IQN2};
    struct fixture f = opened();
    struct perr err = {0};
    char *group = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(storage_ensure_igroup(f.st, HOST_GROUP, inits, 2, &group, &err), 0);
        assert_string_equal(group, HOST_GROUP);
        free(group);
    }
    done(&f);
}

static void
test_fc_initiators(void **state)
{
    static const struct fake_exchange ex[] = {
        /* the array keeps WWNs without colons: matched regardless of spelling */
        {"GET", HOSTS_Q, NULL, NULL, 200,
         "{\"items\":[{\"name\":\"esx02\",\"iqns\":[],\"wwns\":[\"21000024FF3A4B5C\"]},"
         "{\"name\":\"esx03\",\"iqns\":[],\"wwns\":[\"21:00:00:24:ff:00:00:03\"]}]}",
         NULL, 0},
        /* only the WWPN no host holds is added; esx03's stays where it is */
        {"PATCH", API "/hosts?names=esx02", "{\"add_wwns\":[\"21:00:00:00:00:00:00:02\"]}", NULL,
         200, "{}", NULL, 0},
        /* no match at all: a new host with the WWPNs */
        {"GET", HOSTS_Q, NULL, NULL, 200, "{\"items\":[]}", NULL, 0},
        {"POST", API "/hosts?names=" HOST_GROUP,
         "{\"wwns\":[\"21:00:00:24:FF:3A:4B:5C\",\"21:00:00:00:00:00:00:02\","
         "\"21:00:00:24:FF:00:00:03\"],\"personality\":\"esxi\"}",
         NULL, 200, "{}", NULL, 0},
    };
    static const char *const inits[] = {
        "fc.20000024ff3a4b5c:21000024ff3a4b5c",
        "fc.2000000000000001:2100000000000002",
        "fc.20000024ff000003:21000024ff000003",
        "vmhba3",
    };
    struct fixture f = opened();
    struct perr err = {0};
    char *group = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_ensure_igroup(f.st, HOST_GROUP, inits, 4, &group, &err), 0);
    assert_string_equal(group, "esx02");
    free(group);
    assert_int_equal(storage_ensure_igroup(f.st, HOST_GROUP, inits, 4, &group, &err), 0);
    assert_string_equal(group, HOST_GROUP);
    free(group);
    assert_int_equal(storage_ensure_igroup(f.st, HOST_GROUP, inits + 3, 1, &group, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_null(group);
    done(&f);
}

/* ---- sessions ---- */

static void
test_session_expired_relogin(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", API "/volumes?ids=vid-1&destroyed=false", NULL, SESS1, 401,
         "{\"errors\":[{\"message\":\"Session expired.\"}]}", NULL, 0},
        {"POST", API "/login", NULL, "api-token: tok-123", 200, "{}", "x-auth-token: sess-2", 0},
        {"GET", API "/volumes?ids=vid-1&destroyed=false", NULL, SESS2, 200, VOL_ITEM, NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), 0);
    assert_string_equal(lun.naa, NAA);
    storage_lun_clear(&lun);
    done(&f);
}

static void
test_open_with_credentials(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/api_version", NULL, NULL, 200, "{\"version\":[\"1.19\",\"2.4\"]}", NULL, 0},
        {"POST", "/api/1.19/auth/apitoken", "{\"username\":\"pureuser\",\"password\":\"pw\"}", NULL,
         200, "{\"api_token\":\"obtained-api-token\"}", NULL, 0},
        {"POST", "/api/2.4/login", NULL, "api-token: obtained-api-token", 200, "{}",
         "x-auth-token: test-auth-token", 0},
    };
    static const struct fake_exchange bad_token[] = {
        {"GET", "/api/api_version", NULL, NULL, 200, VERSIONS, NULL, 0},
        {"POST", API "/login", NULL, "api-token: tok-123", 401, "{\"error\": \"invalid token\"}",
         NULL, 0},
    };
    static const struct fake_exchange bad_password[] = {
        {"GET", "/api/api_version", NULL, NULL, 200, VERSIONS, NULL, 0},
        {"POST", "/api/1.19/auth/apitoken", NULL, NULL, 401, "{\"error\":\"invalid credentials\"}",
         NULL, 0},
    };
    static const struct fake_exchange no_header[] = {
        {"GET", "/api/api_version", NULL, NULL, 200, VERSIONS, NULL, 0},
        {"POST", API "/login", NULL, NULL, 200, "{}", NULL, 0},
    };
    static const struct fake_exchange no_v2[] = {
        {"GET", "/api/api_version", NULL, NULL, 200, "{\"version\":[\"1.17\",\"x\",\"2\"]}", NULL,
         0},
    };
    struct fixture f = {0};
    struct perr err = {0};

    (void)state;
    assert_int_equal(open_with(&f, NULL, NULL, ex, 3, &err), 0);
    done(&f);

    assert_int_equal(open_with(&f, "tok-123", NULL, bad_token, 2, &err), -1);
    assert_null(f.st);
    assert_int_equal(err.code, PERR_AUTH);
    assert_int_equal(err.http_status, 401);
    assert_string_equal(err.msg, "pureFlashArray: open: login to 127.0.0.1 failed: HTTP 401 "
                                 "from POST /api/2.36/login: invalid token");
    done(&f);
    perr_clear(&err);

    assert_int_equal(open_with(&f, "", NULL, bad_password, 2, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_non_null(strstr(err.msg, "failed to get an API token"));
    assert_non_null(strstr(err.msg, "invalid credentials"));
    done(&f);
    perr_clear(&err);

    assert_int_equal(open_with(&f, "tok-123", NULL, no_header, 2, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_non_null(strstr(err.msg, "answered without a session (x-auth-token)"));
    done(&f);
    perr_clear(&err);

    assert_int_equal(open_with(&f, "tok-123", NULL, no_v2, 1, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_string_equal(err.msg, "pureFlashArray: open: no API v2.x versions found");
    done(&f);
}

/* ---- resolve ---- */

static void
test_resolve_fallbacks(void **state)
{
    static const struct fake_exchange ex[] = {
        /* the id is unknown: found by the Portworx name */
        {"GET", API "/volumes?ids=vid-1&destroyed=false", NULL, NULL, 400,
         "{\"errors\":[{\"context\":\"vid-1\",\"message\":\"Volume does not exist.\"}]}", NULL, 0},
        {"GET", API "/volumes?names=" VOL "&destroyed=false", NULL, NULL, 200, VOL_ITEM, NULL, 0},
        /* neither: not found */
        {"GET", API "/volumes?ids=vid-1&destroyed=false", NULL, NULL, 200, "{\"items\":[]}", NULL,
         0},
        {"GET", API "/volumes?names=" VOL "&destroyed=false", NULL, NULL, 404,
         "{\"errors\":[{\"message\":\"Volume does not exist.\"}]}", NULL, 0},
        /* 5xx then success */
        {"GET", API "/volumes?ids=vid-1&destroyed=false", NULL, NULL, 503, "", NULL, 0},
        {"GET", API "/volumes?ids=vid-1&destroyed=false", NULL, NULL, 200, VOL_ITEM, NULL, 0},
        /* malformed body */
        {"GET", API "/volumes?ids=vid-1&destroyed=false", NULL, NULL, 200, "{\"items\":[", NULL, 0},
        /* another error is not a reason to guess by name */
        {"GET", API "/volumes?ids=vid-1&destroyed=false", NULL, NULL, 400,
         "{\"errors\":[{\"message\":\"Invalid filter.\"}]}", NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), 0);
    assert_string_equal(lun.id, "vid-1");
    storage_lun_clear(&lun);

    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_string_equal(err.msg, "pureFlashArray: resolve_pv: PersistentVolume 'pvc-1': no volume "
                                 "with id 'vid-1' or name '" VOL "': HTTP 404 from GET "
                                 "/api/2.36/volumes: Volume does not exist.");
    assert_int_equal(err.http_status, 404);
    perr_clear(&err);

    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), 0);
    storage_lun_clear(&lun);

    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    perr_clear(&err);

    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_HTTP);
    assert_int_equal(err.http_status, 400);
    assert_non_null(strstr(err.msg, "Invalid filter."));
    assert_null(lun.name);
    done(&f);
}

static void
test_resolve_without_prefix(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", API "/volumes?ids=vid-1&destroyed=false", NULL, NULL, 200, "{\"items\":[]}", NULL,
         0},
    };
    struct fixture f = {0};
    struct perr err = {0};
    struct storage_lun lun = {0};

    (void)state;
    assert_int_equal(open_with(&f, "tok-123", NULL, open_token, 2, &err), 0);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "set PURE_CLUSTER_PREFIX"));
    done(&f);
}

static void
test_map_errors(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", API "/connections?host_names=esx01&volume_names=" VOL, NULL, NULL, 400,
         "{\"errors\":[{\"context\":\"esx01\",\"message\":\"Host does not exist.\"}]}", NULL, 0},
        {"GET", HOSTS_Q, NULL, NULL, 200, "{\"items\":[{\"name\":", NULL, 0},
    };
    static const char *const inits[] = {IQN1};
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {.name = VOL, .id = "vid-1", .naa = NAA};
    struct storage_lun mapped = {0};
    char *group = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    /* A missing host is not "already mapped". */
    assert_int_equal(storage_map(f.st, "esx01", &lun, &mapped, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.msg,
                        "pureFlashArray: map: volume '" VOL "' to 'esx01': HTTP 400 from "
                        "POST /api/2.36/connections: Host does not exist. (context 'esx01')");
    assert_null(mapped.name);
    perr_clear(&err);
    assert_int_equal(storage_ensure_igroup(f.st, HOST_GROUP, inits, 1, &group, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    done(&f);
}

/* ---- array-side copies ---- */

static unsigned progress_seen[8];
static size_t nprogress;

static void
progress(void *arg, unsigned pct)
{
    (void)arg;
    if (nprogress < 8)
        progress_seen[nprogress++] = pct;
}

static void
test_vvol_copy(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET",
         API "/volumes/tags?resource_destroyed=false&namespaces=vasa-integration.purestorage.com"
             "&filter=key%3D%27PURE_VVOL_ID%27%20AND%20value%3D%27rfc4122.6b4f-11aa%27",
         NULL, SESS1, 200,
         "{\"items\":[{\"key\":\"PURE_VVOL_ID\",\"value\":\"rfc4122.6b4f-11aa\","
         "\"namespace\":\"vasa-integration.purestorage.com\",\"resource\":{\"name\":\"vvol-vm1-"
         "data\",\"id\":\"r1\"}}]}",
         NULL, 0},
        {"POST", API "/volumes?names=" VOL "&overwrite=true",
         "{\"source\":{\"name\":\"vvol-vm1-data\"}}", SESS1, 200,
         "{\"items\":[{\"name\":\"" VOL "\"}]}", NULL, 0},
        /* unknown VVol */
        {"GET",
         API "/volumes/tags?resource_destroyed=false&namespaces=vasa-integration.purestorage.com"
             "&filter=key%3D%27PURE_VVOL_ID%27%20AND%20value%3D%27rfc4122.none%27",
         NULL, NULL, 200, "{\"items\":[]}", NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun target = {.name = VOL, .id = "vid-1", .naa = NAA};
    struct storage_copy_req req = {.vvol_id = "rfc4122.6b4f-11aa", .target = &target};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    nprogress = 0;
    assert_int_equal(storage_vvol_copy(f.st, &req, progress, NULL, &err), 0);
    assert_int_equal(nprogress, 2);
    assert_int_equal(progress_seen[0], 0);
    assert_int_equal(progress_seen[1], 100);
    req.vvol_id = "rfc4122.none";
    assert_int_equal(storage_vvol_copy(f.st, &req, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_string_equal(err.msg,
                        "pureFlashArray: vvol_copy: no volume found with VVol ID 'rfc4122.none'");
    perr_clear(&err);
    req.vvol_id = "it's";
    assert_int_equal(storage_vvol_copy(f.st, &req, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    done(&f);
}

static void
test_rdm_copy(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", API "/volumes?filter=serial%3D%27AABBCCDDEEFF001122334455%27&destroyed=false", NULL,
         SESS1, 200,
         "{\"items\":[{\"id\":\"v9\",\"name\":\"rdm-src\",\"serial\":\"AABBCCDDEEFF001122334455\"}]"
         "}",
         NULL, 0},
        /* a slow copy: the first try dies with a 504, the overwrite is repeated */
        {"POST", API "/volumes?names=" VOL "&overwrite=true", "{\"source\":{\"name\":\"rdm-src\"}}",
         NULL, 504, "", NULL, 0},
        {"POST", API "/volumes?names=" VOL "&overwrite=true", "{\"source\":{\"name\":\"rdm-src\"}}",
         NULL, 200, "{}", NULL, 0},
        {"GET", API "/volumes?filter=serial%3D%27AABBCCDDEEFF001122334466%27&destroyed=false", NULL,
         NULL, 200, "{\"items\":[]}", NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun target = {.name = VOL, .id = "vid-1", .naa = NAA};
    struct storage_copy_req req = {
        .rdm_device = "/vmfs/devices/disks/naa.624a9370aabbccddeeff001122334455",
        .target = &target,
    };

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    nprogress = 0;
    assert_int_equal(storage_rdm_copy(f.st, &req, progress, NULL, &err), 0);
    assert_int_equal(nprogress, 2);
    assert_int_equal(progress_seen[0], 10);
    assert_int_equal(progress_seen[1], 100);

    req.rdm_device = "naa.624a9370aabbccddeeff001122334466";
    assert_int_equal(storage_rdm_copy(f.st, &req, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    perr_clear(&err);

    /* Not a Pure device: refused before any request. */
    req.rdm_device = "naa.600a098077465a37703f515976563864";
    assert_int_equal(storage_rdm_copy(f.st, &req, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_non_null(strstr(err.msg, "does not appear to be a Pure FlashArray device"));
    done(&f);
}

/* ---- target ports ---- */

static void
test_target_ports(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", API "/ports", NULL, SESS1, 200,
         "{\"more_items_remaining\":false,\"total_item_count\":5,\"items\":["
         "{\"name\":\"CT0.FC0\",\"wwn\":\"52:4A:93:70:4E:E5:68:00\",\"iqn\":null,\"portal\":null},"
         "{\"name\":\"CT1.FC0\",\"wwn\":\"52:4A:93:70:4E:E5:68:10\"},"
         "{\"name\":\"CT0.ETH4\",\"iqn\":\"iqn.2010-06.com.purestorage:flasharray."
         "393d930077be2977\","
         "\"portal\":\"10.16.200.27:3260\",\"wwn\":null},"
         "{\"name\":\"CT1.ETH4\",\"iqn\":\"iqn.2010-06.com.purestorage:flasharray."
         "393d930077be2977\","
         "\"portal\":\"10.16.200.28:3260\"},"
         "{\"name\":\"CT0.ETH6\",\"nqn\":\"nqn.2010-06.com.purestorage:flasharray."
         "512f7bb185978505\"}"
         "]}",
         NULL, 0},
        {"GET", API "/ports", NULL, SESS1, 500, "{\"errors\":[{\"message\":\"Internal error.\"}]}",
         NULL, 0},
        {"GET", API "/ports", NULL, SESS1, 400, "{\"errors\":[{\"message\":\"Not supported.\"}]}",
         NULL, 0},
    };
    struct fixture f = opened();
    struct strv fc = {0};
    struct strv iscsi = {0};
    struct perr err = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    /* One port per row; the array's one IQN is listed once. */
    assert_int_equal(storage_target_ports(f.st, &fc, &iscsi, &err), 0);
    assert_int_equal(fc.n, 2);
    assert_string_equal(fc.v[0], "52:4A:93:70:4E:E5:68:00");
    assert_string_equal(fc.v[1], "52:4A:93:70:4E:E5:68:10");
    assert_int_equal(iscsi.n, 1);
    assert_string_equal(iscsi.v[0], "iqn.2010-06.com.purestorage:flasharray.393d930077be2977");
    strv_free(&fc);
    strv_free(&iscsi);
    /* A failure (after the retry of the 500) leaves both lists empty. */
    assert_int_equal(storage_target_ports(f.st, &fc, &iscsi, &err), -1);
    assert_int_equal(err.code, PERR_HTTP);
    if (strstr(err.msg, "target_ports: ") == NULL)
        fail_msg("message: %s", err.msg);
    assert_null(fc.v);
    assert_null(iscsi.v);
    done(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_sequence),
        cmocka_unit_test(test_host_create_and_conflict),
        cmocka_unit_test(test_fc_initiators),
        cmocka_unit_test(test_session_expired_relogin),
        cmocka_unit_test(test_open_with_credentials),
        cmocka_unit_test(test_resolve_fallbacks),
        cmocka_unit_test(test_resolve_without_prefix),
        cmocka_unit_test(test_map_errors),
        cmocka_unit_test(test_vvol_copy),
        cmocka_unit_test(test_rdm_copy),
        cmocka_unit_test(test_target_ports),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
