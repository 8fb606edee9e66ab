/*
 * The HPE Primera/3PAR driver against the scripted transport (request bodies
 * asserted exactly).  Shapes follow WSAPI 1.x as described in vendors-b.md
 * §2 and vendor-corrections.md §1.
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

#define API   "/api/v1"
#define SESS1 "X-HP3PAR-WSAPI-SessionKey: key-1"
#define SESS2 "X-HP3PAR-WSAPI-SessionKey: key-2"
#define LOGIN "{\"user\":\"3paradm\",\"password\":\"pw\"}"

#define HANDLE "pvc-5c9d270a-3f1e-4b7a-9d2c-0e1f2a3b4c5d"
#define VOL    "pvc-5c9d270a-3f1e-4b7a-9d2c-0e1"
#define WWN    "60002AC0000000000000182D00021F6B"
#define NAA    "naa.60002ac0000000000000182d00021f6b"
#define VOL_REC                                                                                    \
    "{\"id\":7,\"name\":\"" VOL "\",\"wwn\":\"" WWN                                                \
    "\",\"userCPG\":\"SSD_r6\",\"snapCPG\":\"SSD_r6\"}"

#define GROUP "xcopy-hostsystem-host-12"
#define SET   "set:" GROUP
#define IQN1  "iqn.1998-01.com.vmware:esx01-1234"
#define FC1   "fc.20000024ff3a4b5c:21000024ff3a4b5c"
#define WWPN1 "21000024FF3A4B5C"
/* " FCPaths[wwn EQ <WWPN>] " and " iSCSIPaths[name EQ <IQN>] " in quotes. */
#define FCQ  API "/hosts?query=%22FCPaths%5Bwwn%20EQ%20" WWPN1 "%5D%22"
#define ISQ  API "/hosts?query=%22iSCSIPaths%5Bname%20EQ%20iqn.1998-01.com.vmware%3Aesx01-1234%5D%22"
#define NONE "{\"total\":0,\"members\":[]}"

#define ERR(code, desc) "{\"code\":" #code ",\"desc\":\"" desc "\"}"

static const struct fake_exchange open_ok[] = {
    {"POST", API "/credentials", LOGIN, NULL, 201, "{\"key\":\"key-1\"}", NULL, 0},
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
        .hostname = "https://127.0.0.1:8080",
        .username = "3paradm",
        .password = "pw",
        .timeout_s = 5,
        .retry_initial_ms = 1,
    };

    f->ft = fake_transport_new();
    fake_transport_add(f->ft, ex, n);
    t = fake_transport_http(f->ft);
    cfg.transport = &t;
    return storage_open(&storage_primera3par, &cfg, &f->st, err);
}

static struct fixture
opened(void)
{
    struct fixture f = {0};
    struct perr err = {0};

    assert_int_equal(open_with(&f, open_ok, 1, &err), 0);
    return f;
}

/* Close logs out: the session is deleted on the array. */
static void
done(struct fixture *f, const char *key)
{
    struct fake_exchange out[] = {
        {"DELETE", NULL, NULL, NULL, 200, NULL, NULL, 0},
    };
    char url[128];

    snprintf(url, sizeof(url), API "/credentials/%s", key);
    out[0].url = url;
    fake_transport_add(f->ft, out, 1);
    storage_free(f->st);
    fake_transport_verify(f->ft);
    fake_transport_free(f->ft);
}

static const struct storage_pv pv = {
    .name = "pvc-1",
    .volume_handle = HANDLE,
    .csi_driver = "csi.hpe.com",
};

static void
test_full_sequence(void **state)
{
    static const struct fake_exchange ex[] = {
        /* ensure: the FC WWPN is on host esx01 (query); the IQN on no host
         * (query empty, list without it) -> host created with persona 11 */
        {"GET", FCQ, NULL, SESS1, 200,
         "{\"total\":1,\"members\":[{\"name\":\"esx01\",\"FCPaths\":[{\"wwn\":\"" WWPN1 "\"}]}]}",
         NULL, 0},
        {"GET", ISQ, NULL, SESS1, 200, NONE, NULL, 0},
        {"GET", API "/hosts", NULL, SESS1, 200,
         "{\"total\":1,\"members\":[{\"name\":\"esx01\",\"FCPaths\":[{\"wwn\":\"" WWPN1
         "\"}],\"iSCSIPaths\":[]}]}",
         NULL, 0},
        {"POST", API "/hosts",
         "{\"name\":\"" GROUP "-iscsi\",\"persona\":11,\"iSCSINames\":[\"" IQN1 "\"]}", SESS1, 201,
         NULL, NULL, 0},
        /* the set is missing -> created with both hosts, read back */
        {"GET", API "/hostsets/" GROUP, NULL, SESS1, 404, ERR(102, "host set does not exist"), NULL,
         0},
        {"POST", API "/hostsets",
         "{\"name\":\"" GROUP "\",\"setmembers\":[\"esx01\",\"" GROUP "-iscsi\"]}", SESS1, 201,
         NULL, NULL, 0},
        {"GET", API "/hostsets/" GROUP, NULL, SESS1, 200,
         "{\"name\":\"" GROUP "\",\"setmembers\":[\"esx01\",\"" GROUP "-iscsi\"]}", NULL, 0},
        /* resolve: the handle cut to 31 characters */
        {"GET", API "/volumes/" VOL, NULL, SESS1, 200, VOL_REC, NULL, 0},
        /* mapped groups: a host set and a bare host, twice on the same set */
        {"GET", API "/vluns", NULL, SESS1, 200,
         "{\"total\":6,\"members\":["
         "{\"volumeName\":\"" VOL "\",\"lun\":1,\"hostname\":\"set:ocp\"},"
         "{\"volumeName\":\"" VOL "\",\"lun\":1,\"hostname\":\"set:ocp\"},"
         "{\"volumeName\":\"" VOL "\",\"lun\":3,\"hostname\":\"worker-2\"},"
         "{\"volumeName\":\"other\",\"lun\":9,\"hostname\":\"worker-3\"},"
         "{\"volumeName\":\"a\",\"lun\":1,\"hostname\":\"" SET "\"},"
         "{\"volumeName\":\"b\",\"lun\":2,\"hostname\":\"" SET "\"}]}",
         NULL, 0},
        /* map: the list mapped_groups read serves (no second GET /vluns);
         * LUN 1 and 2 in use on the set -> 3, with autoLun */
        {"POST", API "/vluns",
         "{\"volumeName\":\"" VOL "\",\"lun\":3,\"hostname\":\"" SET "\",\"autoLun\":true}", SESS1,
         201, NULL, NULL, 0},
        /* map again: already there -> no call */
        {"GET", API "/vluns", NULL, SESS1, 200,
         "{\"total\":1,\"members\":[{\"volumeName\":\"" VOL "\",\"lun\":3,\"hostname\":\"" SET
         "\"}]}",
         NULL, 0},
        /* unmap the VLUN this run made by volume, LUN and set (no listing),
         * separators literal */
        {"DELETE", API "/vluns/" VOL ",3,set:" GROUP, NULL, SESS1, 200, NULL, NULL, 0},
        /* unmap again: nothing made any more -> listed, nothing to remove */
        {"GET", API "/vluns", NULL, SESS1, 200, NONE, NULL, 0},
        /* re-map the bare host: to the host itself, not to "set:worker-2" */
        {"GET", API "/vluns", NULL, SESS1, 200, NONE, NULL, 0},
        {"POST", API "/vluns",
         "{\"volumeName\":\"" VOL "\",\"lun\":1,\"hostname\":\"worker-2\",\"autoLun\":true}", SESS1,
         201, NULL, NULL, 0},
        /* array info */
        {"GET", API "/system", NULL, SESS1, 200,
         "{\"name\":\"s1\",\"model\":\"HPE Primera 630\",\"systemVersion\":\"4.5.10\"}", NULL, 0},
    };
    static const char *const inits[] = {FC1, IQN1};
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {0};
    struct storage_lun mapped = {0};
    struct strv orig = {0};
    struct storage_array_info info = {0};
    char *group = NULL;
    size_t calls;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_ensure_igroup(f.st, GROUP, inits, 2, &group, &err), 0);
    assert_string_equal(group, SET);

    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), 0);
    assert_string_equal(lun.name, VOL);
    assert_string_equal(lun.id, "7");
    assert_string_equal(lun.serial, WWN);
    assert_string_equal(lun.naa, NAA);

    assert_int_equal(storage_mapped_groups(f.st, &lun, &orig, &err), 0);
    assert_int_equal(orig.n, 2);
    assert_string_equal(orig.v[0], "set:ocp");
    assert_string_equal(orig.v[1], "worker-2");

    calls = fake_transport_calls(f.ft);
    assert_int_equal(storage_map(f.st, group, &lun, &mapped, &err), 0);
    assert_int_equal(fake_transport_calls(f.ft), calls + 1); /* the POST alone */
    assert_string_equal(mapped.naa, NAA);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_map(f.st, group, &lun, &mapped, &err), 0);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_unmap(f.st, group, &lun, &err), 0);
    assert_int_equal(storage_unmap(f.st, group, &lun, &err), 0);
    assert_int_equal(storage_map(f.st, "worker-2", &lun, &mapped, &err), 0);
    storage_lun_clear(&mapped);
    assert_int_equal(storage_array_info(f.st, &info, &err), 0);
    assert_string_equal(info.vendor, "HPE");
    assert_string_equal(info.product, "Primera/3PAR");
    assert_string_equal(info.model, "HPE Primera 630");
    assert_string_equal(info.version, "4.5.10");
    assert_int_equal(err.code, PERR_OK);

    storage_array_info_clear(&info);
    strv_free(&orig);
    storage_lun_clear(&lun);
    free(group);
    done(&f, "key-1");
}

/* Nothing is read twice: a host record a query answered is used for the
 * other initiators it lists (no query per initiator), and the VLUN list of
 * mapped_groups serves the map.  A 404 on the VLUN this run made (autoLun
 * gave it another id) is looked up, never taken as "already gone". */
static void
test_no_repeated_reads(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", FCQ, NULL, NULL, 200,
         "{\"total\":1,\"members\":[{\"name\":\"esx01\",\"FCPaths\":[{\"wwn\":\"" WWPN1
         "\"},{\"wwn\":\"21000024FF3A4B5D\"}],\"iSCSIPaths\":[{\"name\":\"" IQN1 "\"}]}]}",
         NULL, 0},
        {"GET", API "/hostsets/" GROUP, NULL, NULL, 200,
         "{\"name\":\"" GROUP "\",\"setmembers\":[\"esx01\"]}", NULL, 0},
        {"GET", API "/vluns", NULL, NULL, 200, NONE, NULL, 0},
        {"POST", API "/vluns",
         "{\"volumeName\":\"" VOL "\",\"lun\":1,\"hostname\":\"" SET "\",\"autoLun\":true}", NULL,
         201, NULL, NULL, 0},
        {"DELETE", API "/vluns/" VOL ",1,set:" GROUP, NULL, NULL, 404,
         ERR(19, "VLUN does not exist"), NULL, 0},
        {"GET", API "/vluns", NULL, NULL, 200,
         "{\"total\":1,\"members\":[{\"volumeName\":\"" VOL "\",\"lun\":2,\"hostname\":\"" SET
         "\"}]}",
         NULL, 0},
        {"DELETE", API "/vluns/" VOL ",2,set:" GROUP, NULL, NULL, 200, NULL, NULL, 0},
    };
    static const char *const inits[] = {FC1, "fc.20000024ff3a4b5d:21000024ff3a4b5d", IQN1};
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {.name = VOL, .id = "7", .naa = NAA};
    struct storage_lun mapped = {0};
    struct strv orig = {0};
    char *group = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_ensure_igroup(f.st, GROUP, inits, 3, &group, &err), 0);
    assert_string_equal(group, SET);
    /* login, one host query for three initiators, the set */
    assert_int_equal(fake_transport_calls(f.ft), 3);
    assert_int_equal(storage_mapped_groups(f.st, &lun, &orig, &err), 0);
    assert_int_equal(orig.n, 0);
    assert_int_equal(storage_map(f.st, group, &lun, &mapped, &err), 0);
    assert_int_equal(fake_transport_calls(f.ft), 5);
    assert_int_equal(storage_unmap(f.st, group, &lun, &err), 0);
    assert_int_equal(err.code, PERR_OK);
    storage_lun_clear(&mapped);
    strv_free(&orig);
    free(group);
    done(&f, "key-1");
}

/* Once the whole host list was read (a query came back empty), it answers
 * the other initiators: no query for them. */
static void
test_host_list_answers_the_rest(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", FCQ, NULL, NULL, 200, NONE, NULL, 0},
        {"GET", API "/hosts", NULL, NULL, 200,
         "{\"total\":1,\"members\":[{\"name\":\"esx09\",\"FCPaths\":[],\"iSCSIPaths\":[{"
         "\"name\":\"" IQN1 "\"}]}]}",
         NULL, 0},
        {"POST", API "/hosts",
         "{\"name\":\"" GROUP "-fc\",\"persona\":11,\"FCWWNs\":[\"" WWPN1 "\"]}", NULL, 201, NULL,
         NULL, 0},
        {"GET", API "/hostsets/" GROUP, NULL, NULL, 200,
         "{\"name\":\"" GROUP "\",\"setmembers\":[\"" GROUP "-fc\",\"esx09\"]}", NULL, 0},
    };
    static const char *const inits[] = {FC1, IQN1};
    struct fixture f = opened();
    struct perr err = {0};
    char *group = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_ensure_igroup(f.st, GROUP, inits, 2, &group, &err), 0);
    assert_string_equal(group, SET);
    assert_int_equal(fake_transport_calls(f.ft), 5);
    free(group);
    done(&f, "key-1");
}

/* Long group names are shortened; existing hosts and set members are kept;
 * code 104 (already a member) and an existing host name are success. */
static void
test_ensure_idempotent_and_long_name(void **state)
{
    /* "xcopy-" + 21 hex of SHA-256("xcopy-hostsystem-host-1234567890") */
    static const struct fake_exchange ex[] = {
        {"GET", FCQ, NULL, NULL, 400, ERR(12, "query not supported"), NULL, 0},
        {"GET", API "/hosts", NULL, NULL, 200, NONE, NULL, 0},
        /* the host name (hashed: the group + "-fc" is over 31) is taken */
        {"POST", API "/hosts", NULL, NULL, 409, ERR(16, "host exists"), NULL, 0},
        {"PUT", API "/hosts/xcopy-20c87b86abb46bd0ece11",
         "{\"pathOperation\":1,\"FCWWNs\":[\"" WWPN1 "\"]}", NULL, 200, NULL, NULL, 0},
        {"GET", API "/hostsets/xcopy-0d27a9be0c40fb9af94f2", NULL, NULL, 200,
         "{\"name\":\"xcopy-0d27a9be0c40fb9af94f2\",\"setmembers\":[]}", NULL, 0},
        {"PUT", API "/hostsets/xcopy-0d27a9be0c40fb9af94f2",
         "{\"action\":1,\"setmembers\":[\"xcopy-20c87b86abb46bd0ece11\"]}", NULL, 409,
         ERR(104, "host is already a member of the set"), NULL, 0},
    };
    static const char *const inits[] = {FC1, "vmhba3", "sas.5000"};
    struct fixture f = opened();
    struct perr err = {0};
    char *group = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(
        storage_ensure_igroup(f.st, "xcopy-hostsystem-host-1234567890", inits, 3, &group, &err), 0);
    assert_string_equal(group, "set:xcopy-0d27a9be0c40fb9af94f2");
    assert_int_equal(strlen(group) - 4, 27);
    free(group);
    done(&f, "key-1");
}

/* A 401 logs in again once and repeats the call with the new key. */
static void
test_relogin_on_401(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", API "/volumes/" VOL, NULL, SESS1, 401, ERR(6, "invalid session key"), NULL, 0},
        {"POST", API "/credentials", LOGIN, NULL, 201, "{\"key\":\"key-2\"}", NULL, 0},
        {"GET", API "/volumes/" VOL, NULL, SESS2, 200, VOL_REC, NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), 0);
    assert_string_equal(lun.naa, NAA);
    storage_lun_clear(&lun);
    done(&f, "key-2");
}

static void
test_errors_keep_the_arrays_words(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", API "/volumes/" VOL, NULL, NULL, 404, ERR(23, "volume does not exist"), NULL, 0},
        {"GET", API "/vluns", NULL, NULL, 200,
         "{\"members\":[{\"volumeName\":\"" VOL "\",\"lun\":4,\"hostname\":\"" SET "\"}]}", NULL,
         0},
        {"DELETE", API "/vluns/" VOL ",4,set:" GROUP, NULL, NULL, 409, ERR(26, "VLUN is busy"),
         NULL, 0},
        /* an empty wwn is no NAA */
        {"GET", API "/volumes/" VOL, NULL, NULL, 200,
         "{\"id\":7,\"name\":\"" VOL "\",\"wwn\":\"\"}", NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun lun = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_int_equal(err.http_status, 404);
    assert_string_equal(err.remote_code, "23");
    assert_non_null(strstr(err.msg, "volume does not exist"));
    assert_non_null(strstr(err.msg, "primera3par: resolve_pv:"));

    memset(&err, 0, sizeof(err));
    lun.name = strdup(VOL);
    assert_int_equal(storage_unmap(f.st, SET, &lun, &err), -1);
    assert_int_equal(err.code, PERR_CONFLICT);
    assert_int_equal(err.http_status, 409);
    assert_string_equal(err.remote_code, "26");
    assert_non_null(strstr(err.msg, "VLUN is busy"));
    storage_lun_clear(&lun);

    memset(&err, 0, sizeof(err));
    assert_int_equal(storage_resolve_pv(f.st, &pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    done(&f, "key-1");
}

static void
test_bad_password(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", API "/credentials", LOGIN, NULL, 403, ERR(5, "invalid username or password"), NULL,
         0},
    };
    struct fixture f = {0};
    struct perr err = {0};

    (void)state;
    assert_int_equal(open_with(&f, ex, 1, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_string_equal(err.remote_code, "5");
    assert_non_null(strstr(err.msg, "invalid username or password"));
    assert_null(f.st);
    fake_transport_verify(f.ft);
    fake_transport_free(f.ft);
}

/* ---- array-side copies ---- */

#define TMP "xcopy-6618c4bff98d1a25ff89f"
#define SRC_REC(name)                                                                              \
    "{\"id\":9,\"name\":\"" name "\",\"wwn\":\"X\",\"userCPG\":\"SSD_r6\",\"snapCPG\":\"\"}"

struct progress_log {
    unsigned pct[8];
    size_t n;
};

static void
on_progress(void *arg, unsigned pct)
{
    struct progress_log *p = arg;

    if (p->n < 8)
        p->pct[p->n++] = pct;
}

static void
test_vvol_copy(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", API "/volumes?query=%22wwn%20EQ%20CCCC3333DDDD4444AAAA5555BBBB6666%22", NULL, SESS1,
         200,
         "{\"members\":[{\"name\":\"empty\",\"wwn\":\"\"},"
         "{\"name\":\"vv-src\",\"wwn\":\"cccc3333dddd4444aaaa5555bbbb6666\"}]}",
         NULL, 0},
        {"GET", API "/volumes/vv-src", NULL, NULL, 200, SRC_REC("vv-src"), NULL, 0},
        /* no snapshot CPG and an old WSAPI build -> set it first */
        {"GET", "/api", NULL, NULL, 200, "{\"major\":1,\"build\":30201256}", NULL, 0},
        {"PUT", API "/volumes/vv-src", "{\"snapCPG\":\"SSD_r6\"}", NULL, 200, NULL, NULL, 0},
        {"PUT", API "/volumes/" VOL, "{\"newName\":\"" TMP "\"}", NULL, 200, NULL, NULL, 0},
        {"POST", API "/volumes/vv-src",
         "{\"action\":\"createSnapshot\",\"parameters\":{\"name\":\"" VOL "\"}}", NULL, 201, NULL,
         NULL, 0},
        {"PUT", API "/volumes/" VOL, "{\"action\":4,\"online\":true}", NULL, 200, "{\"taskid\":42}",
         NULL, 0},
        {"GET", API "/tasks/42", NULL, NULL, 200, "{\"id\":42,\"status\":2}", NULL, 0},
        {"GET", API "/tasks/42", NULL, NULL, 200, "{\"id\":42,\"status\":1}", NULL, 0},
        {"DELETE", API "/volumes/" TMP, NULL, NULL, 200, NULL, NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun target = {.name = (char *)VOL};
    struct strv left = {0};
    struct progress_log pl = {0};
    struct storage_copy_req req = {
        .vvol_id = "rfc4122.cccc3333-dddd-4444-aaaa-5555bbbb6666",
        .target = &target,
        .leftovers = &left,
    };

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_vvol_copy(f.st, &req, on_progress, &pl, &err), 0);
    assert_int_equal(left.n, 0);
    assert_int_equal(pl.n, 5);
    assert_int_equal(pl.pct[0], 0);
    assert_int_equal(pl.pct[2], 50);
    assert_int_equal(pl.pct[4], 100);
    done(&f, "key-1");
}

/* The vml name's NAA is compared with the WWN (with or without the HPE
 * prefix); a failed promote deletes the snapshot and renames the original
 * back; what cannot be deleted afterwards is reported by name. */
static void
test_rdm_copy_promote_fails(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", API "/volumes?query=%22wwn%20EQ%2060002AC0000000000000186B00021F6B%22", NULL, NULL,
         200, NONE, NULL, 0},
        {"GET", API "/volumes", NULL, NULL, 200,
         "{\"members\":[{\"name\":\"blank\",\"wwn\":\"\"},"
         "{\"name\":\"rdm-src\",\"wwn\":\"0000000000000186B00021F6B\"}]}",
         NULL, 0},
        {"GET", API "/volumes/rdm-src", NULL, NULL, 200,
         "{\"name\":\"rdm-src\",\"userCPG\":\"SSD_r6\",\"snapCPG\":\"SSD_r6\"}", NULL, 0},
        {"PUT", API "/volumes/" VOL, "{\"newName\":\"" TMP "\"}", NULL, 200, NULL, NULL, 0},
        {"POST", API "/volumes/rdm-src",
         "{\"action\":\"createSnapshot\",\"parameters\":{\"name\":\"" VOL "\"}}", NULL, 201, NULL,
         NULL, 0},
        {"PUT", API "/volumes/" VOL, "{\"action\":4,\"online\":true}", NULL, 200, "{\"taskid\":43}",
         NULL, 0},
        {"GET", API "/tasks/43", NULL, NULL, 200, "{\"id\":43,\"status\":4}", NULL, 0},
        {"DELETE", API "/volumes/" VOL, NULL, NULL, 200, NULL, NULL, 0},
        {"PUT", API "/volumes/" TMP, "{\"newName\":\"" VOL "\"}", NULL, 200, NULL, NULL, 0},
        /* again; this time the snapshot cannot be deleted */
        {"GET", API "/volumes?query=%22wwn%20EQ%2060002AC0000000000000186B00021F6B%22", NULL, NULL,
         200, "{\"members\":[{\"name\":\"rdm-src\",\"wwn\":\"60002AC0000000000000186B00021F6B\"}]}",
         NULL, 0},
        {"GET", API "/volumes/rdm-src", NULL, NULL, 200,
         "{\"name\":\"rdm-src\",\"userCPG\":\"SSD_r6\",\"snapCPG\":\"SSD_r6\"}", NULL, 0},
        {"PUT", API "/volumes/" VOL, "{\"newName\":\"" TMP "\"}", NULL, 200, NULL, NULL, 0},
        {"POST", API "/volumes/rdm-src",
         "{\"action\":\"createSnapshot\",\"parameters\":{\"name\":\"" VOL "\"}}", NULL, 201, NULL,
         NULL, 0},
        {"PUT", API "/volumes/" VOL, "{\"action\":4,\"online\":true}", NULL, 400,
         ERR(12, "promote refused"), NULL, 0},
        {"DELETE", API "/volumes/" VOL, NULL, NULL, 409, ERR(32, "volume has children"), NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun target = {.name = (char *)VOL};
    struct strv left = {0};
    struct storage_copy_req req = {
        .rdm_device =
            "/vmfs/devices/disks/vml.020001000060002ac0000000000000186b00021f6b565620202020",
        .rdm_lun_uuid = "020001000060002ac0000000000000186b00021f6b565620202020",
        .target = &target,
        .leftovers = &left,
    };

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_rdm_copy(f.st, &req, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_REMOTE);
    assert_non_null(strstr(err.msg, "promote"));
    assert_int_equal(left.n, 0);

    memset(&err, 0, sizeof(err));
    assert_int_equal(storage_rdm_copy(f.st, &req, NULL, NULL, &err), -1);
    assert_string_equal(err.remote_code, "12");
    assert_non_null(strstr(err.msg, "promote refused"));
    assert_int_equal(left.n, 2);
    assert_string_equal(left.v[0], "snapshot volume '" VOL "' of 'rdm-src'");
    assert_string_equal(left.v[1], "volume '" VOL "' renamed to '" TMP "'");
    strv_free(&left);
    done(&f, "key-1");
}

/* The original target is still exported to the worker: the copy succeeds
 * and names what it left. */
static void
test_copy_leaves_exported_original(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", API "/volumes?query=%22wwn%20EQ%2060002AC0000000000000186B00021F6B%22", NULL, NULL,
         200, "{\"members\":[{\"name\":\"rdm-src\",\"wwn\":\"60002AC0000000000000186B00021F6B\"}]}",
         NULL, 0},
        {"GET", API "/volumes/rdm-src", NULL, NULL, 200,
         "{\"name\":\"rdm-src\",\"userCPG\":\"SSD_r6\",\"snapCPG\":\"SSD_r6\"}", NULL, 0},
        {"PUT", API "/volumes/" VOL, "{\"newName\":\"" TMP "\"}", NULL, 200, NULL, NULL, 0},
        {"POST", API "/volumes/rdm-src",
         "{\"action\":\"createSnapshot\",\"parameters\":{\"name\":\"" VOL "\"}}", NULL, 201, NULL,
         NULL, 0},
        {"PUT", API "/volumes/" VOL, "{\"action\":4,\"online\":true}", NULL, 200, "{\"taskid\":0}",
         NULL, 0},
        {"DELETE", API "/volumes/" TMP, NULL, NULL, 409, ERR(26, "volume is exported"), NULL, 0},
    };
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun target = {.name = (char *)VOL};
    struct strv left = {0};
    struct storage_copy_req req = {
        .rdm_device = "naa.60002AC0000000000000186B00021F6B",
        .target = &target,
        .leftovers = &left,
    };

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(storage_rdm_copy(f.st, &req, NULL, NULL, &err), 0);
    assert_int_equal(left.n, 1);
    assert_string_equal(left.v[0], "volume '" TMP "' (the previous '" VOL "', renamed aside)");
    strv_free(&left);
    done(&f, "key-1");
}

static void
test_rdm_not_hpe(void **state)
{
    struct fixture f = opened();
    struct perr err = {0};
    struct storage_lun target = {.name = (char *)VOL};
    struct storage_copy_req req = {
        .rdm_device = "vml.0200000000624a9370a1b2c3d4e5f60718293a4b5c466c61736841",
        .target = &target,
    };

    (void)state;
    assert_int_equal(storage_rdm_copy(f.st, &req, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_non_null(strstr(err.msg, "does not appear to be an HPE Primera/3PAR volume"));
    done(&f, "key-1");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_sequence),
        cmocka_unit_test(test_no_repeated_reads),
        cmocka_unit_test(test_host_list_answers_the_rest),
        cmocka_unit_test(test_ensure_idempotent_and_long_name),
        cmocka_unit_test(test_relogin_on_401),
        cmocka_unit_test(test_errors_keep_the_arrays_words),
        cmocka_unit_test(test_bad_password),
        cmocka_unit_test(test_vvol_copy),
        cmocka_unit_test(test_rdm_copy_promote_fails),
        cmocka_unit_test(test_copy_leaves_exported_original),
        cmocka_unit_test(test_rdm_not_hpe),
    };

    return cmocka_run_group_tests_name("primera3par driver", tests, NULL, NULL);
}
