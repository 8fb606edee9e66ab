/*
 * The IBM FlashSystem driver against the scripted transport (request bodies
 * asserted exactly).  Shapes follow vendors-b.md §4 and
 * vendor-corrections.md §1: every command a POST under /rest/v1, rows of
 * strings, CLI errors as "CMMVCnnnnE" text whatever the HTTP status.
 * The REST API has no pagination: lists come whole.
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

#define R      "/rest/v1"
#define TOK1   "X-Auth-Token: tok-1"
#define TOK2   "X-Auth-Token: tok-2"
#define UID    "6005076810810261F800000000000A01"
#define NAA    "naa.6005076810810261f800000000000a01"
#define HANDLE "SVC:0;" UID
#define VDISK                                                                                      \
    "[{\"id\":\"7\",\"name\":\"pvc-1\",\"vdisk_UID\":\"" UID "\",\"mdisk_grp_id\":\"0\","          \
    "\"mdisk_grp_name\":\"Pool0\"}]"
#define POOL0   "{\"id\":\"0\",\"name\":\"Pool0\",\"vdisk_protection_enabled\":\"no\"}"
#define GROUP   "xcopy-hostsystem-host-12"
#define WWPN    "21000024FF3AB500"
#define FC_INIT "fc.20000024ff3ab500:21000024ff3ab500"
#define IQN1    "iqn.1998-01.com.vmware:esx01-1234"
#define IQN2    "iqn.1998-01.com.vmware:esx01-5678"

#define AUTH(tok)                                                                                  \
    {                                                                                              \
        "POST", R "/auth", NULL, "X-Auth-Username: superuser", 200, "{\"token\":\"" tok "\"}",     \
            NULL, 0                                                                                \
    }

struct fixture {
    struct fake_transport *ft;
    struct storage *st;
};

static struct fixture
opened(void)
{
    static const struct fake_exchange open_ex[] = {AUTH("tok-1")};
    struct fixture f = {0};
    struct perr err = {0};
    struct http_transport t;
    struct storage_config cfg = {
        .hostname = "fs9500.example.com",
        .username = "superuser",
        .password = "pw",
        .timeout_s = 5,
        .retry_initial_ms = 1,
    };

    f.ft = fake_transport_new();
    FAKE_SCRIPT(f.ft, open_ex);
    t = fake_transport_http(f.ft);
    cfg.transport = &t;
    assert_int_equal(storage_open(&storage_flashsystem, &cfg, &f.st, &err), 0);
    return f;
}

static void
done(struct fixture *f)
{
    storage_free(f->st); /* may still talk: a host this run created goes at close */
    fake_transport_verify(f->ft);
    fake_transport_free(f->ft);
}

static const struct storage_pv pv = {.name = "pvc-1", .volume_handle = HANDLE};

/* ---- the whole XCOPY sequence, with a host this run creates ---- */

static void
test_full_sequence(void **state)
{
    static const struct fake_exchange ex[] = {
        /* ensure: no port known, no host of that name -> mkhost (FC) */
        {"POST", R "/lshostports", "{}", TOK1, 200,
         "[{\"host_id\":\"3\",\"host_name\":\"ocp-1\",\"WWPN\":\"10000000C9AAAAAA\","
         "\"iscsi_name\":\"\"}]",
         NULL, 0},
        {"POST", R "/lshost", "{\"filtervalue\":\"name=" GROUP "\"}", NULL, 200, "[]", NULL, 0},
        {"POST", R "/mkhost",
         "{\"name\":\"" GROUP "\",\"fcwwpn\":\"" WWPN "\",\"force\":true,\"protocol\":\"fcscsi\","
         "\"type\":\"generic\"}",
         NULL, 200, "{\"id\":\"4\",\"message\":\"Host, id [4], successfully created\"}", NULL, 0},
        /* resolve: the volume by its UID, its pool unprotected */
        {"POST", R "/lsvdisk", "{\"filtervalue\":\"vdisk_UID=" UID "\"}", NULL, 200, VDISK, NULL,
         0},
        {"POST", R "/lsmdiskgrp/0", "{}", NULL, 200, POOL0, NULL, 0},
        /* mapped groups: the worker node */
        {"POST", R "/lsvdiskhostmap/7", "{}", NULL, 200,
         "[{\"id\":\"7\",\"name\":\"pvc-1\",\"host_id\":\"3\",\"host_name\":\"ocp-1\"},"
         "{\"id\":\"7\",\"name\":\"pvc-1\",\"host_id\":\"3\",\"host_name\":\"ocp-1\"}]",
         NULL, 0},
        /* map (201), then again: CMMVC5878E on a 409 is success */
        {"POST", R "/mkvdiskhostmap/7", "{\"host\":\"" GROUP "\"}", NULL, 201, "{\"id\":\"0\"}",
         NULL, 0},
        {"POST", R "/mkvdiskhostmap/7", "{\"host\":\"" GROUP "\"}", NULL, 409,
         "CMMVC5878E The virtual disk (VDisk) is already mapped to this host.", NULL, 0},
        /* unmap; the created host stays until close */
        {"POST", R "/rmvdiskhostmap/7", "{\"host\":\"" GROUP "\"}", NULL, 200, NULL, NULL, 0},
        /* unmap again: no such mapping (HTTP 500, CMMVC5842E) is success */
        {"POST", R "/rmvdiskhostmap/7", "{\"host\":\"" GROUP "\"}", NULL, 500,
         "CMMVC5842E The action failed because an object that was specified in the command does "
         "not exist.",
         NULL, 0},
        /* re-map the original group: still mapped (as HTTP 500) */
        {"POST", R "/mkvdiskhostmap/7", "{\"host\":\"ocp-1\"}", NULL, 500,
         "CMMVC5878E The virtual disk (VDisk) is already mapped to this host.", NULL, 0},
        {"POST", R "/lssystem", "{}", NULL, 200,
         "{\"product_name\":\"IBM FlashSystem 7300\",\"code_level\":\"8.6.0.3 (build 171.5)\","
         "\"vdisk_protection_enabled\":\"yes\"}",
         NULL, 0},
        /* close: the host this run created is empty -> removed */
        {"POST", R "/lshostvdiskmap/" GROUP, "{}", NULL, 200, "[]", NULL, 0},
        {"POST", R "/rmhost/" GROUP, "{}", NULL, 200, NULL, NULL, 0},
    };
    static const char *const inits[] = {FC_INIT};
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {0};
    struct storage_lun mapped = {0};
    struct strv orig = {0};
    struct strv failed = {0};
    struct storage_array_info info = {0};
    char *group = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_ensure_igroup(f.st, GROUP, inits, 1, &group, &err), 0);
    assert_string_equal(group, GROUP);
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), 0);
    assert_string_equal(lun.name, "pvc-1");
    assert_string_equal(lun.id, "7");
    assert_string_equal(lun.serial, UID);
    assert_string_equal(lun.naa, NAA);
    assert_int_equal(storage_mapped_groups(f.st, &lun, &orig, &err), 0);
    assert_int_equal(orig.n, 1);
    assert_string_equal(orig.v[0], "ocp-1");
    assert_int_equal(storage_map(f.st, group, &lun, &mapped, &err), 0);
    assert_string_equal(mapped.naa, NAA);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_map(f.st, group, &lun, &mapped, &err), 0);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_unmap(f.st, group, &lun, &err), 0);
    assert_int_equal(storage_unmap(f.st, group, &lun, &err), 0);
    assert_int_equal(storage_remap(f.st, &orig, &lun, &failed, &err), 0);
    assert_int_equal(failed.n, 0);
    /* The system-wide protection flag does not stop anything. */
    assert_int_equal(storage_array_info(f.st, &info, &err), 0);
    assert_string_equal(info.vendor, "IBM");
    assert_string_equal(info.model, "IBM FlashSystem 7300");
    assert_string_equal(info.version, "8.6.0.3");
    assert_int_equal(err.code, PERR_OK);

    storage_array_info_clear(&info);
    strv_free(&orig);
    strv_free(&failed);
    storage_lun_clear(&lun);
    free(group);
    done(&f);
}

/* A host holding one ESXi IQN is used; the other IQN is added to it, and it
 * is never removed (this run did not create it). */
static void
test_existing_host_gets_missing_port(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", R "/lshostports", "{}", TOK1, 200,
         "[{\"host_id\":\"2\",\"host_name\":\"esx01\",\"WWPN\":\"\",\"iscsi_name\":\"" IQN1 "\"}]",
         NULL, 0},
        {"POST", R "/addhostport/esx01", "{\"iscsiname\":\"" IQN2 "\"}", NULL, 200, "{}", NULL, 0},
        {"POST", R "/rmvdiskhostmap/7", "{\"host\":\"esx01\"}", NULL, 200, NULL, NULL, 0},
    };
    static const char *const inits[] = {IQN1, IQN2};
    static const struct storage_lun lun = {.name = "pvc-1", .id = "7", .naa = NAA};
    struct fixture f = opened();
    struct perr err = {0};
    char *group = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_ensure_igroup(f.st, GROUP, inits, 2, &group, &err), 0);
    assert_string_equal(group, "esx01");
    assert_int_equal(storage_unmap(f.st, group, &lun, &err), 0);
    free(group);
    done(&f);
}

/* CMMVC9375E: mapped elsewhere; retried with the next free SCSI id, forced. */
static void
test_map_scsi_id_retry(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", R "/mkvdiskhostmap/7", "{\"host\":\"esx01\"}", TOK1, 500,
         "CMMVC9375E The volume is already mapped to another host.", NULL, 0},
        {"POST", R "/lshostvdiskmap/esx01", "{}", NULL, 200,
         "[{\"SCSI_id\":\"0\"},{\"SCSI_id\":\"2\"},{\"SCSI_id\":\"x\"}]", NULL, 0},
        {"POST", R "/mkvdiskhostmap/7", "{\"host\":\"esx01\",\"scsi\":3,\"force\":true}", NULL, 200,
         "{}", NULL, 0},
        /* any other failure is the array's, with its status and code */
        {"POST", R "/mkvdiskhostmap/7", "{\"host\":\"esx01\"}", NULL, 500,
         "CMMVC5753E The specified object does not exist or is not a suitable candidate.", NULL, 0},
    };
    static const struct storage_lun lun = {.name = "pvc-1", .id = "7", .naa = NAA};
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun mapped = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_map(f.st, "esx01", &lun, &mapped, &err), 0);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_map(f.st, "esx01", &lun, &mapped, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_int_equal(err.http_status, 500);
    assert_string_equal(err.remote_code, "CMMVC5753E");
    assert_non_null(strstr(err.msg, "flashsystem: map: volume 'pvc-1' to host 'esx01': HTTP 500"));
    assert_non_null(strstr(err.msg, "CMMVC5753E The specified object does not exist"));
    done(&f);
}

/* A volume in a pool with volume protection: one clear error, nothing mapped. */
static void
test_protected_pool(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", R "/lsvdisk", "{\"filtervalue\":\"vdisk_UID=" UID "\"}", TOK1, 200, VDISK, NULL,
         0},
        {"POST", R "/lsmdiskgrp/0", "{}", NULL, 200,
         "{\"id\":\"0\",\"name\":\"Pool0\",\"vdisk_protection_enabled\":\"yes\"}", NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_REMOTE);
    assert_non_null(strstr(err.msg, "pool 'Pool0' (id 0)"));
    assert_non_null(strstr(err.msg, "vdisk_protection_enabled=yes"));
    assert_null(lun.name);
    done(&f);
}

/* Volume handles and lookups that fail. */
static void
test_resolve_errors(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", R "/lsvdisk", "{\"filtervalue\":\"vdisk_UID=" UID "\"}", TOK1, 200, "[]", NULL, 0},
        {"POST", R "/lsvdisk", "{\"filtervalue\":\"vdisk_UID=" UID "\"}", NULL, 200,
         "[{\"id\":\"1\",\"name\":\"a\",\"vdisk_UID\":\"" UID "\"},{\"id\":\"2\",\"name\":\"b\","
         "\"vdisk_UID\":\"" UID "\"}]",
         NULL, 0},
    };
    static const struct storage_pv bad[] = {
        {.name = "p", .volume_handle = UID},
        {.name = "p", .volume_handle = "SVC:0;" UID ";x"},
        {.name = "p", .volume_handle = "SVC:0;6005=x"},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {0};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = (struct perr){0};
        assert_int_equal(storage_resolve_pv(f.st, &bad[i], &lun, &err), -1);
        assert_true(err.code == PERR_PROTOCOL || err.code == PERR_USAGE);
    }
    FAKE_SCRIPT(f.ft, ex);
    err = (struct perr){0};
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "'" UID "' not found"));
    err = (struct perr){0};
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    done(&f);
}

/* 403 (an expired token) and 401: one new login, the command once more; a
 * second refusal is the error. */
static void
test_relogin(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", R "/lsvdiskhostmap/7", "{}", TOK1, 403, "Forbidden: the token expired.", NULL, 0},
        AUTH("tok-2"),
        {"POST", R "/lsvdiskhostmap/7", "{}", TOK2, 200, "[]", NULL, 0},
        {"POST", R "/lsvdiskhostmap/7", "{}", TOK2, 401, "Unauthorized", NULL, 0},
        {"POST", R "/auth", NULL, NULL, 401, "Unauthorized: authentication failed", NULL, 0},
    };
    static const struct storage_lun lun = {.name = "pvc-1", .id = "7", .naa = NAA};
    struct fixture f = opened();
    struct perr err = {0};
    struct strv out = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_mapped_groups(f.st, &lun, &out, &err), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(storage_mapped_groups(f.st, &lun, &out, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_int_equal(err.http_status, 401);
    strv_free(&out);
    done(&f);
}

/* 429: backed off and sent again, the login and any command alike. */
static void
test_rate_limited(void **state)
{
    static const struct fake_exchange open_ex[] = {
        {"POST", R "/auth", NULL, NULL, 429, "Too many requests", NULL, 0},
        {"POST", R "/auth", NULL, NULL, 429, "Too many requests", NULL, 0},
        AUTH("tok-1"),
        {"POST", R "/lsvdiskhostmap/7", "{}", TOK1, 429, "Too many requests", NULL, 0},
        {"POST", R "/lsvdiskhostmap/7", "{}", TOK1, 200, "[]", NULL, 0},
        /* four 429 in a row: the retries are spent */
        {"POST", R "/lsvdiskhostmap/7", "{}", TOK1, 429, "Too many requests", NULL, 0},
        {"POST", R "/lsvdiskhostmap/7", "{}", TOK1, 429, "Too many requests", NULL, 0},
        {"POST", R "/lsvdiskhostmap/7", "{}", TOK1, 429, "Too many requests", NULL, 0},
        {"POST", R "/lsvdiskhostmap/7", "{}", TOK1, 429, "Too many requests", NULL, 0},
        /* a CLI failure (HTTP 500) is not retried */
        {"POST", R "/lsvdiskhostmap/7", "{}", TOK1, 500,
         "CMMVC5753E The specified object does not exist or is not a suitable candidate.", NULL, 0},
    };
    static const struct storage_lun lun = {.name = "pvc-1", .id = "7", .naa = NAA};
    struct fixture f = {0};
    struct perr err = {0};
    struct http_transport t;
    struct strv out = {0};
    struct storage_config cfg = {
        .hostname = "10.0.0.5",
        .username = "superuser",
        .password = "pw",
        .timeout_s = 5,
        .retry_initial_ms = 1,
    };

    (void)state;
    f.ft = fake_transport_new();
    FAKE_SCRIPT(f.ft, open_ex);
    t = fake_transport_http(f.ft);
    cfg.transport = &t;
    assert_int_equal(storage_open(&storage_flashsystem, &cfg, &f.st, &err), 0);
    assert_int_equal(storage_mapped_groups(f.st, &lun, &out, &err), 0);
    assert_int_equal(storage_mapped_groups(f.st, &lun, &out, &err), -1);
    assert_int_equal(err.http_status, 429);
    err = (struct perr){0};
    assert_int_equal(storage_mapped_groups(f.st, &lun, &out, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_int_equal(fake_transport_calls(f.ft), 10);
    strv_free(&out);
    done(&f);
}

/* A bad password: the array's answer, nothing else. */
static void
test_login_refused(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", R "/auth", NULL, "X-Auth-Password: wrong", 401,
         "Unauthorized: authentication failed for user superuser.", NULL, 0},
    };
    struct fake_transport *ft = fake_transport_new();
    struct storage *st = NULL;
    struct perr err = {0};
    struct http_transport t;
    struct storage_config cfg = {
        .hostname = "fs9500",
        .username = "superuser",
        .password = "wrong",
        .timeout_s = 5,
        .retry_initial_ms = 1,
    };

    (void)state;
    FAKE_SCRIPT(ft, ex);
    t = fake_transport_http(ft);
    cfg.transport = &t;
    assert_int_equal(storage_open(&storage_flashsystem, &cfg, &st, &err), -1);
    assert_null(st);
    assert_int_equal(err.code, PERR_AUTH);
    assert_non_null(strstr(err.msg, "authentication failed"));
    fake_transport_verify(ft);
    fake_transport_free(ft);
}

struct progress_seen {
    unsigned last;
    unsigned calls;
};

static void
on_progress(void *arg, unsigned pct)
{
    struct progress_seen *p = arg;

    p->last = pct;
    p->calls++;
}

/* RDM copy: source by the LUN UUID, FlashCopy made, started, polled, removed. */
static void
test_rdm_copy(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", R "/lsvdisk", "{\"filtervalue\":\"vdisk_UID=624A9370AABBCCDDEEFF001122334455\"}",
         TOK1, 200,
         "[{\"id\":\"9\",\"name\":\"rdm-src\",\"vdisk_UID\":\"624A9370AABBCCDDEEFF001122334455\","
         "\"mdisk_grp_id\":\"0\"}]",
         NULL, 0},
        {"POST", R "/lsmdiskgrp/0", "{}", NULL, 200, POOL0, NULL, 0},
        {"POST", R "/lsfcmap", "{\"filtervalue\":\"target_vdisk_name=pvc-1\"}", NULL, 200, "[]",
         NULL, 0},
        {"POST", R "/mkfcmap",
         "{\"source\":\"rdm-src\",\"target\":\"pvc-1\",\"name\":\"xcopy_fc_7\",\"copyrate\":100}",
         NULL, 200,
         "{\"id\":\"4\",\"message\":\"FlashCopy Mapping, id [4], successfully created\"}", NULL, 0},
        {"POST", R "/prestartfcmap/4", "{\"restore\":true}", NULL, 200, "{}", NULL, 0},
        {"POST", R "/startfcmap/4", NULL, NULL, 200, "{}", NULL, 0},
        {"POST", R "/lsfcmap/4", "{}", NULL, 200, "{\"status\":\"copying\",\"progress\":\"40\"}",
         NULL, 0},
        {"POST", R "/lsfcmap/4", "{}", NULL, 200,
         "{\"status\":\"idle_or_copied\",\"progress\":\"100\"}", NULL, 0},
        {"POST", R "/rmfcmap/4", "{}", NULL, 200, NULL, NULL, 0},
    };
    static const struct storage_lun target = {.name = "pvc-1", .id = "7", .naa = NAA};
    struct storage_copy_req req = {
        .rdm_device =
            "/vmfs/devices/disks/vml.0200000000624a9370aabbccddeeff001122334455466c617368",
        .rdm_lun_uuid = "0200000000624A9370AABBCCDDEEFF001122334455466C617368",
        .target = &target,
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct progress_seen seen = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_true(storage_has_cap(f.st, STORAGE_CAP_RDM_COPY));
    assert_int_equal(storage_rdm_copy(f.st, &req, on_progress, &seen, &err), 0);
    assert_int_equal(seen.last, 100);
    assert_true(seen.calls >= 3);
    done(&f);
}

/* A map that stops mid-copy is the error, and is removed by force. */
static void
test_rdm_copy_stopped(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", R "/lsvdisk", "{\"filtervalue\":\"vdisk_UID=624a9370aabbccddeeff001122334455\"}",
         TOK1, 200, "[{\"id\":\"9\",\"name\":\"rdm-src\",\"mdisk_grp_id\":\"many\"}]", NULL, 0},
        /* an earlier run's map from the same source is reused */
        {"POST", R "/lsfcmap", "{\"filtervalue\":\"target_vdisk_name=pvc-1\"}", NULL, 200,
         "[{\"id\":\"2\",\"name\":\"xcopy_fc_7\",\"source_vdisk_name\":\"rdm-src\","
         "\"target_vdisk_name\":\"pvc-1\",\"status\":\"copying\"}]",
         NULL, 0},
        {"POST", R "/prestartfcmap/2", "{\"restore\":true}", NULL, 500,
         "CMMVC5907E The FlashCopy mapping or consistency group was not started because the "
         "mapping or consistency group is already in the copying state.",
         NULL, 0},
        {"POST", R "/startfcmap/2", NULL, NULL, 409,
         "CMMVC5907E The FlashCopy mapping or consistency group was not started.", NULL, 0},
        {"POST", R "/lsfcmap/2", "{}", NULL, 200, "{\"status\":\"stopped\",\"progress\":\"30\"}",
         NULL, 0},
        {"POST", R "/stopfcmap/2", "{\"force\":true}", NULL, 200, "{}", NULL, 0},
        {"POST", R "/rmfcmap/2", "{\"force\":true}", NULL, 200, NULL, NULL, 0},
    };
    static const struct storage_lun target = {.name = "pvc-1", .id = "7", .naa = NAA};
    /* No LUN UUID from vSphere: the vml alias of the device gives the UID. */
    struct storage_copy_req req = {
        .rdm_device = "vml.0200000000624a9370aabbccddeeff001122334455466c617368",
        .target = &target,
    };
    struct fixture f = opened();
    struct perr err = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_rdm_copy(f.st, &req, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_REMOTE);
    assert_non_null(strstr(err.msg, "FlashCopy map 2 is 'stopped' at 30%"));
    done(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_sequence),
        cmocka_unit_test(test_existing_host_gets_missing_port),
        cmocka_unit_test(test_map_scsi_id_retry),
        cmocka_unit_test(test_protected_pool),
        cmocka_unit_test(test_resolve_errors),
        cmocka_unit_test(test_relogin),
        cmocka_unit_test(test_rate_limited),
        cmocka_unit_test(test_login_refused),
        cmocka_unit_test(test_rdm_copy),
        cmocka_unit_test(test_rdm_copy_stopped),
    };

    return cmocka_run_group_tests_name("flashsystem driver", tests, NULL, NULL);
}
