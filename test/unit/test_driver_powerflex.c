/*
 * The PowerFlex driver against the scripted transport (request bodies
 * asserted exactly).  Shapes follow vendors-a.md §3 and
 * vendor-corrections.md §1 (PowerFlex).
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

#define SYS    "7f5d8fc72d1cad0f"
#define VOLID  "6d2ab2a500000003"
#define VOL    "k8s-a1b2c3d4e5"
#define SDC    "b1c2d3e4f5a60001"
#define WORKER "b1c2d3e4f5a60009"
#define GUID   "5A8C7E4F-1B2D-4C3E-9F10-A1B2C3D4E5F6"
#define EUI    "eui." SYS VOLID
/* "admin:pw" and ":tok-1" in Basic. */
#define BASIC_LOGIN "Authorization: Basic YWRtaW46cHc="
#define BASIC_TOK1  "Authorization: Basic OnRvay0x"
#define BEARER1     "Authorization: Bearer tok-1"
#define BEARER2     "Authorization: Bearer tok-2"
#define MEDIA       "application/json;version=4.5"

#define SYSTEMS                                                                                    \
    "[{\"id\":\"0000000000000001\",\"name\":\"\"},"                                                \
    "{\"id\":\"" SYS "\",\"name\":\"pflex-1\",\"systemVersionName\":\"R4_5.0.0\"}]"
#define SDCS                                                                                       \
    "[{\"id\":\"" WORKER "\",\"name\":\"ocp-w1\",\"sdcGuid\":\"" GUID "\",\"osType\":\"Linux\"},"  \
    "{\"id\":\"" SDC "\",\"name\":\"esx01\",\"sdcGuid\":\"" GUID "\",\"osType\":\"Esx\","          \
    "\"systemId\":\"" SYS "\"}]"
#define VOLREC(maps)                                                                               \
    "{\"id\":\"" VOLID "\",\"name\":\"" VOL "\",\"sizeInKb\":8192,\"mappedSdcInfo\":[" maps "]}"
#define ALREADY                                                                                    \
    "{\"message\":\"The SDC is already mapped to this volume\",\"httpStatusCode\":500,"            \
    "\"errorCode\":129}"
#define NOTMAPPED                                                                                  \
    "{\"message\":\"The volume is not mapped to this SDC\",\"httpStatusCode\":500,"                \
    "\"errorCode\":131}"

static const struct fake_exchange open_ok[] = {
    {"GET", "/api/login", NULL, BASIC_LOGIN, 200, "\"tok-1\"", NULL, 0},
    {"GET", "/api/version", NULL, BASIC_TOK1, 200, "\"4.5\"", NULL, 0},
    {"GET", "/api/types/System/instances", NULL, BEARER1, 200, SYSTEMS, NULL, 0},
};

struct fixture {
    struct fake_transport *ft;
    struct storage *st;
};

static int
open_with(struct fixture *f, const char *sysid, const struct fake_exchange *ex, size_t n,
          struct perr *err)
{
    struct http_transport t;
    struct storage_kv env[] = {{"POWERFLEX_SYSTEM_ID", sysid}};
    struct storage_config cfg = {
        .hostname = "https://gw.example.com/api",
        .username = "admin",
        .password = "pw",
        .timeout_s = 5,
        .retry_initial_ms = 1,
    };

    cfg.env = env;
    cfg.nenv = sysid != NULL ? 1 : 0;
    f->ft = fake_transport_new();
    if (n > 0)
        fake_transport_add(f->ft, ex, n);
    t = fake_transport_http(f->ft);
    cfg.transport = &t;
    return storage_open(&storage_powerflex, &cfg, &f->st, err);
}

static struct fixture
opened(void)
{
    struct fixture f = {0};
    struct perr err = {0};

    assert_int_equal(open_with(&f, SYS, open_ok, 3, &err), 0);
    return f;
}

static void
done(struct fixture *f)
{
    fake_transport_verify(f->ft);
    storage_free(f->st);
    fake_transport_free(f->ft);
}

static const struct storage_attr attrs[] = {{"Name", VOL}};
static const struct storage_pv pv = {
    .name = "pvc-1",
    .volume_handle = SYS "-" VOLID,
    .csi_driver = "csi-vxflexos.dellemc.com",
    .attrs = attrs,
    .nattrs = 1,
};

static const struct storage_lun lun = {.name = VOL, .id = VOLID};

/* ---- the whole sequence ---- */

static void
test_full_sequence(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/instances/System::" SYS "/relationships/Sdc", NULL, "Accept: " MEDIA, 200,
         SDCS, NULL, 0},
        {"POST", "/api/types/Volume/instances/action/queryIdByKey", "{\"name\":\"" VOL "\"}",
         BEARER1, 200, "\"" VOLID "\"", NULL, 0},
        /* resolve; the mapped groups right after come from the same record */
        {"GET", "/api/instances/Volume::" VOLID, NULL, NULL, 200,
         VOLREC("{\"sdcId\":\"" WORKER "\",\"accessMode\":\"ReadWrite\"}"), NULL, 0},
        {"POST", "/api/instances/Volume::" VOLID "/action/addMappedSdc",
         "{\"sdcId\":\"" SDC "\",\"allowMultipleMappings\":\"true\"}", BEARER1, 200, NULL, NULL, 0},
        {"POST", "/api/instances/Volume::" VOLID "/action/removeMappedSdc",
         "{\"sdcId\":\"" SDC "\"}", NULL, 200, NULL, NULL, 0},
        /* mapped groups again: the record was answered once, so read afresh */
        {"GET", "/api/instances/Volume::" VOLID, NULL, NULL, 200,
         VOLREC("{\"sdcId\":\"" WORKER "\",\"accessMode\":\"ReadWrite\"}"), NULL, 0},
    };
    const char *inits[] = {"5a8c7e4f-1b2d-4c3e-9f10-a1b2c3d4e5f6"};
    struct fixture f = opened();
    struct storage_lun got = {0};
    struct storage_lun mapped = {0};
    struct strv groups = {0};
    struct storage_array_info info = {0};
    struct perr err = {0};
    char *group = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_ensure_igroup(f.st, "xcopy-host-1", inits, 1, &group, &err), 0);
    assert_string_equal(group, SDC);
    assert_int_equal(storage_resolve_pv(f.st, &pv, &got, &err), 0);
    assert_string_equal(got.name, VOL);
    assert_string_equal(got.id, VOLID);
    assert_string_equal(got.naa, EUI);
    assert_int_equal(storage_mapped_groups(f.st, &got, &groups, &err), 0);
    assert_int_equal(groups.n, 1);
    assert_string_equal(groups.v[0], WORKER);
    assert_int_equal(storage_map(f.st, group, &got, &mapped, &err), 0);
    assert_string_equal(mapped.naa, EUI);
    assert_string_equal(mapped.id, VOLID);
    assert_int_equal(storage_unmap(f.st, group, &got, &err), 0);
    strv_free(&groups);
    assert_int_equal(storage_mapped_groups(f.st, &got, &groups, &err), 0);
    assert_int_equal(groups.n, 1);
    assert_int_equal(storage_array_info(f.st, &info, &err), 0);
    assert_string_equal(info.vendor, "Dell");
    assert_string_equal(info.version, "R4_5.0.0");
    storage_array_info_clear(&info);
    strv_free(&groups);
    storage_lun_clear(&got);
    storage_lun_clear(&mapped);
    free(group);
    done(&f);
}

/* ---- login and version ---- */

static void
test_login_without_token_fails(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/login", NULL, BASIC_LOGIN, 200, "\"\"", NULL, 0},
    };
    struct fixture f = {0};
    struct perr err = {0};

    (void)state;
    assert_int_equal(open_with(&f, SYS, ex, 1, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_non_null(strstr(err.msg, "without a session"));
    assert_null(f.st);
    fake_transport_verify(f.ft);
    fake_transport_free(f.ft);
}

static void
test_login_refused(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/login", NULL, BASIC_LOGIN, 401,
         "{\"message\":\"Unauthorized\",\"httpStatusCode\":401,\"errorCode\":0}", NULL, 0},
    };
    struct fixture f = {0};
    struct perr err = {0};

    (void)state;
    assert_int_equal(open_with(&f, SYS, ex, 1, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_int_equal(err.http_status, 401);
    assert_non_null(strstr(err.msg, "'admin'"));
    fake_transport_verify(f.ft);
    fake_transport_free(f.ft);
}

/* Before 4.0 the token goes as Basic ":token"; the version is major.minor. */
static void
test_old_version_basic_token(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/login", NULL, BASIC_LOGIN, 200, " \"tok-1\" ", NULL, 0},
        {"GET", "/api/version", NULL, BASIC_TOK1, 200, "\"3.6.700\"", NULL, 0},
        {"GET", "/api/types/System/instances", NULL, "Accept: application/json;version=3.6", 200,
         SYSTEMS, NULL, 0},
        {"POST", "/api/instances/Volume::" VOLID "/action/removeMappedSdc",
         "{\"sdcId\":\"" SDC "\"}", BASIC_TOK1, 200, NULL, NULL, 0},
    };
    struct fixture f = {0};
    struct perr err = {0};

    (void)state;
    assert_int_equal(open_with(&f, SYS, ex, 3, &err), 0);
    fake_transport_add(f.ft, &ex[3], 1);
    assert_int_equal(storage_unmap(f.st, SDC, &lun, &err), 0);
    done(&f);
}

static void
test_open_needs_system(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/login", NULL, BASIC_LOGIN, 200, "\"tok-1\"", NULL, 0},
        {"GET", "/api/version", NULL, BASIC_TOK1, 200, "\"4.5\"", NULL, 0},
        {"GET", "/api/types/System/instances", NULL, BEARER1, 200,
         "[{\"id\":\"0000000000000001\",\"name\":\"\"}]", NULL, 0},
    };
    struct fixture f = {0};
    struct perr err = {0};

    (void)state;
    /* Missing: a usage error before any request. */
    assert_int_equal(open_with(&f, NULL, ex, 0, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_non_null(strstr(err.msg, "POWERFLEX_SYSTEM_ID"));
    fake_transport_verify(f.ft);
    fake_transport_free(f.ft);
    /* Unknown: never the system with an empty name. */
    memset(&err, 0, sizeof(err));
    assert_int_equal(open_with(&f, SYS, ex, 3, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "'" SYS "'"));
    fake_transport_verify(f.ft);
    fake_transport_free(f.ft);
}

/* A 401 on a later call logs in again (the version is not asked again). */
static void
test_relogin_on_401(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/instances/Volume::" VOLID, NULL, BEARER1, 401,
         "{\"message\":\"Unauthorized\",\"httpStatusCode\":401,\"errorCode\":0}", NULL, 0},
        {"GET", "/api/login", NULL, BASIC_LOGIN, 200, "\"tok-2\"", NULL, 0},
        {"GET", "/api/instances/Volume::" VOLID, NULL, BEARER2, 200, VOLREC(""), NULL, 0},
    };
    struct fixture f = opened();
    struct strv groups = {0};
    struct perr err = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_mapped_groups(f.st, &lun, &groups, &err), 0);
    assert_int_equal(groups.n, 0);
    strv_free(&groups);
    done(&f);
}

/* ---- SDC ---- */

static void
test_ensure_no_matching_sdc(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/instances/System::" SYS "/relationships/Sdc", NULL, NULL, 200, SDCS, NULL, 0},
    };
    const char *inits[] = {"00000000-0000-0000-0000-000000000000"};
    struct fixture f = opened();
    struct perr err = {0};
    char *group = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_ensure_igroup(f.st, "xcopy-host-1", inits, 1, &group, &err), -1);
    assert_null(group);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "'00000000-0000-0000-0000-000000000000'"));
    assert_non_null(strstr(err.msg, "never creates"));
    done(&f);
}

/* The Linux SDC with the same GUID is never taken for the ESXi one. */
static void
test_ensure_skips_non_esx(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/instances/System::" SYS "/relationships/Sdc", NULL, NULL, 200,
         "[{\"id\":\"" WORKER "\",\"sdcGuid\":\"" GUID "\",\"osType\":\"Linux\"}]", NULL, 0},
    };
    const char *inits[] = {GUID};
    struct fixture f = opened();
    struct perr err = {0};
    char *group = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_ensure_igroup(f.st, "g", inits, 1, &group, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    done(&f);
}

/* ---- idempotency and errors ---- */

static void
test_map_already_mapped(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/instances/Volume::" VOLID "/action/addMappedSdc",
         "{\"sdcId\":\"" SDC "\",\"allowMultipleMappings\":\"true\"}", NULL, 500, ALREADY, NULL, 0},
    };
    struct fixture f = opened();
    struct storage_lun mapped = {0};
    struct perr err = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_map(f.st, SDC, &lun, &mapped, &err), 0);
    assert_string_equal(mapped.naa, EUI);
    storage_lun_clear(&mapped);
    done(&f);
}

static void
test_unmap_not_mapped(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/instances/Volume::" VOLID "/action/removeMappedSdc",
         "{\"sdcId\":\"" SDC "\"}", NULL, 500, NOTMAPPED, NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_unmap(f.st, SDC, &lun, &err), 0);
    done(&f);
}

static void
test_map_error_keeps_array_words(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/instances/Volume::" VOLID "/action/addMappedSdc", NULL, NULL, 500,
         "{\"message\":\"Error with details\",\"httpStatusCode\":500,\"errorCode\":65,"
         "\"details\":[{\"error\":\"X\",\"errorMessage\":\"SDC is disconnected\"}]}",
         NULL, 0},
    };
    struct fixture f = opened();
    struct storage_lun mapped = {0};
    struct perr err = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_map(f.st, SDC, &lun, &mapped, &err), -1);
    assert_null(mapped.naa);
    assert_int_equal(err.http_status, 500);
    assert_string_equal(err.remote_code, "65");
    assert_non_null(strstr(err.msg, "SDC is disconnected"));
    assert_non_null(strstr(err.msg, "powerflex: map: "));
    done(&f);
}

static void
test_resolve_errors(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/types/Volume/instances/action/queryIdByKey", "{\"name\":\"" VOL "\"}", NULL,
         500, "{\"message\":\"Not found\",\"httpStatusCode\":500,\"errorCode\":3}", NULL, 0},
    };
    static const struct storage_pv noname = {.name = "pvc-2", .volume_handle = "x"};
    struct fixture f = opened();
    struct storage_lun got = {0};
    struct perr err = {0};

    (void)state;
    assert_int_equal(storage_resolve_pv(f.st, &noname, &got, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_non_null(strstr(err.msg, "'Name'"));
    memset(&err, 0, sizeof(err));
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_resolve_pv(f.st, &pv, &got, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_null(got.name);
    assert_non_null(strstr(err.msg, "'" VOL "'"));
    done(&f);
}

static void
test_base_url_strips_api(void **state)
{
    struct buf b = {0};
    struct perr err = {0};

    (void)state;
    assert_int_equal(
        storage_base_url(&storage_powerflex, "https://gw.example.com/api", NULL, 0, &b, &err), 0);
    assert_string_equal(buf_cstr(&b), "https://gw.example.com");
    buf_free(&b);
    assert_int_equal(storage_base_url(&storage_powerflex, "https://api-gw:8443", NULL, 0, &b, &err),
                     0);
    assert_string_equal(buf_cstr(&b), "https://api-gw:8443");
    buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_sequence),
        cmocka_unit_test(test_login_without_token_fails),
        cmocka_unit_test(test_login_refused),
        cmocka_unit_test(test_old_version_basic_token),
        cmocka_unit_test(test_open_needs_system),
        cmocka_unit_test(test_relogin_on_401),
        cmocka_unit_test(test_ensure_no_matching_sdc),
        cmocka_unit_test(test_ensure_skips_non_esx),
        cmocka_unit_test(test_map_already_mapped),
        cmocka_unit_test(test_unmap_not_mapped),
        cmocka_unit_test(test_map_error_keeps_array_words),
        cmocka_unit_test(test_resolve_errors),
        cmocka_unit_test(test_base_url_strips_api),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
