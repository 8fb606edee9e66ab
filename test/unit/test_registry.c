/*
 * The registry and what is derived from it: lookups and their errors, the
 * descriptors' completeness, the base-URL and NAA rules of every vendor, the
 * --help vendor section and the manual page's VENDORS section (which must be
 * what storage_drivers_man() makes: `make man-vendors` rewrites it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "storage/naa.h"
#include "storage/storage.h"

#define MAN_PAGE  "man/vsphere-copy-offload-populator.1"
#define MAN_BEGIN ".\\\" BEGIN VENDORS\n"
#define MAN_END   ".\\\" END VENDORS\n"

static void
test_lookup(void **state)
{
    const struct storage_driver *drv = NULL;
    struct buf names = {0};
    struct perr err = {0};

    (void)state;
    assert_ptr_equal(storage_driver_find("ontap"), &storage_ontap);
    assert_ptr_equal(storage_driver_find("pureFlashArray"), &storage_pure);
    assert_ptr_equal(storage_driver_find("PUREFLASHARRAY"), &storage_pure);
    assert_ptr_equal(storage_driver_find("powermax"), &storage_powermax);
    assert_null(storage_driver_find("nosuch"));
    assert_null(storage_driver_find(NULL));
    assert_int_equal(storage_driver_names(&names, false, &err), 0);
    assert_string_equal(buf_cstr(&names), "ontap, pureFlashArray, powerflex, powermax, powerstore, "
                                          "primera3par, infinibox, flashsystem, vantara");
    buf_free(&names);
    assert_int_equal(storage_driver_lookup("ontap", &drv, &err), 0);
    assert_ptr_equal(drv, &storage_ontap);
    /* Every vendor not built names the built ones. */
    for (size_t i = 0; storage_drivers[i] != NULL; i++) {
        struct perr e = {0};
        struct buf want = {0};

        if (storage_driver_built(storage_drivers[i]))
            continue;
        assert_int_equal(storage_driver_lookup(storage_drivers[i]->name, &drv, &e), -1);
        assert_null(drv);
        assert_int_equal(e.code, PERR_UNSUPPORTED);
        buf_addf(&want, &err, "storage vendor '%s' is not supported by this build yet (available: ",
                 storage_drivers[i]->name);
        assert_int_equal(strncmp(e.msg, buf_cstr(&want), want.len), 0);
        assert_non_null(strstr(e.msg, "ontap, pureFlashArray"));
        buf_free(&want);
    }
    perr_clear(&err);
    assert_int_equal(storage_driver_lookup("nosuch", &drv, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_non_null(strstr(err.msg, "unknown storage vendor 'nosuch'; valid: ontap, "));
}

static void
test_descriptors(void **state)
{
    (void)state;
    for (size_t i = 0; storage_drivers[i] != NULL; i++) {
        const struct storage_driver *d = storage_drivers[i];

        assert_non_null(d->name);
        assert_non_null(d->vendor);
        assert_non_null(d->product);
        assert_non_null(d->summary);
        for (size_t k = 0; d->env_keys != NULL && d->env_keys[k].key != NULL; k++)
            assert_non_null(d->env_keys[k].help);
        /* Names and aliases are unique across the registry. */
        for (size_t j = 0; storage_drivers[j] != NULL; j++)
            assert_ptr_equal(storage_driver_find(storage_drivers[j]->name), storage_drivers[j]);
        if (!storage_driver_built(d))
            continue;
        assert_non_null(d->ops->resolve_pv);
        assert_non_null(d->ops->ensure_igroup);
        assert_non_null(d->ops->map);
        assert_non_null(d->ops->unmap);
        assert_non_null(d->ops->mapped_groups);
        /* Optional ops are declared by capability bits, and only then. */
        assert_int_equal(d->ops->vvol_copy != NULL, (d->caps & STORAGE_CAP_VVOL_COPY) != 0);
        assert_int_equal(d->ops->rdm_copy != NULL, (d->caps & STORAGE_CAP_RDM_COPY) != 0);
    }
}

static void
test_base_url(void **state)
{
    static const struct storage_kv port[] = {{"STORAGE_PORT", "23451"}};
    static const struct storage_kv badport[] = {{"STORAGE_PORT", "99999"}};
    static const struct {
        const struct storage_driver *drv;
        const char *host;
        const struct storage_kv *env;
        const char *want; /* NULL = PERR_USAGE */
    } cases[] = {
        {&storage_ontap, "ontap.example.com", NULL, "https://ontap.example.com"},
        {&storage_ontap, "https://10.0.0.1:8443", NULL, "https://10.0.0.1:8443"},
        {&storage_ontap, "ftp://x", NULL, NULL},
        /* Clear text is refused for every vendor, whatever its URL rule. */
        {&storage_ontap, "http://ontap.example.com", NULL, NULL},
        {&storage_ontap, "HTTP://ontap.example.com", NULL, NULL},
        {&storage_pure, "http://pure", NULL, NULL},
        {&storage_powerflex, "http://gw.example.com/api", NULL, NULL},
        {&storage_powermax, "http://pmax:8443", NULL, NULL},
        {&storage_powerstore, "http://pstore", NULL, NULL},
        {&storage_infinibox, "http://ibox01", NULL, NULL},
        {&storage_primera3par, "http://10.0.0.1:8080", NULL, NULL},
        {&storage_flashsystem, "http://fs9500:7443", NULL, NULL},
        {&storage_vantara, "http://10.1.2.3/", port, NULL},
        {&storage_ontap, "", NULL, NULL},
        {&storage_ontap, "https://", NULL, NULL},
        {&storage_ontap, "a b", NULL, NULL},
        {&storage_powerflex, "https://gw.example.com/api", NULL, "https://gw.example.com"},
        {&storage_powerflex, "https://gw.example.com/api/", NULL, "https://gw.example.com"},
        /* Only a trailing /api path goes: a host that starts with "api" stays. */
        {&storage_powerflex, "https://api-gw", NULL, "https://api-gw"},
        {&storage_powerflex, "api", NULL, "https://api"},
        {&storage_powermax, "pmax:8443/api", NULL, "https://pmax:8443"},
        {&storage_powerstore, "pstore", NULL, "https://pstore/api/rest"},
        {&storage_powerstore, "https://pstore/", NULL, "https://pstore/api/rest"},
        {&storage_infinibox, "https://ibox01/", NULL, "https://ibox01/api/rest"},
        {&storage_infinibox, "https://ibox01", NULL, "https://ibox01/api/rest"},
        {&storage_primera3par, "https://10.0.0.1:8080", NULL, "https://10.0.0.1:8080"},
        {&storage_flashsystem, "fs9500.example.com", NULL,
         "https://fs9500.example.com:7443/rest/v1"},
        {&storage_flashsystem, "https://fs9500:7443/", NULL, "https://fs9500:7443/rest/v1"},
        /* An explicit port is kept; a path is dropped. */
        {&storage_flashsystem, "127.0.0.1:40123", NULL, "https://127.0.0.1:40123/rest/v1"},
        {&storage_flashsystem, "https://fs9500/rest/v1", NULL, "https://fs9500:7443/rest/v1"},
        {&storage_flashsystem, "[fd00::5]:8443", NULL, "https://[fd00::5]:8443/rest/v1"},
        {&storage_flashsystem, "[fd00::5]", NULL, "https://[fd00::5]:7443/rest/v1"},
        {&storage_vantara, "https://10.1.2.3/", port,
         "https://10.1.2.3:23451/ConfigurationManager"},
        {&storage_vantara, "vsp 10.1.2.3", port, NULL},
        {&storage_vantara, "vsp-10.1.2.300,10.1.2.4", port,
         "https://10.1.2.4:23451/ConfigurationManager"},
        {&storage_vantara, "vsp.example.com", port, NULL},
        {&storage_vantara, "10.1.2.3", NULL, NULL},
        {&storage_vantara, "https://10.1.2.3:8443", NULL,
         "https://10.1.2.3:8443/ConfigurationManager"},
        {&storage_vantara, "https://10.1.2.3:8443", port,
         "https://10.1.2.3:23451/ConfigurationManager"},
        {&storage_vantara, "10.1.2.3", badport, NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf out = {0};
        struct perr err = {0};
        int rc = storage_base_url(cases[i].drv, cases[i].host, cases[i].env,
                                  cases[i].env != NULL ? 1 : 0, &out, &err);

        if (cases[i].want == NULL) {
            if (rc != -1 || err.code != PERR_USAGE)
                fail_msg("%s '%s': accepted as '%s'", cases[i].drv->name, cases[i].host,
                         buf_cstr(&out));
            if (strncasecmp(cases[i].host, "http://", 7) == 0)
                assert_non_null(strstr(err.msg, "STORAGE_HOSTNAME"));
        } else {
            if (rc != 0)
                fail_msg("%s '%s': %s", cases[i].drv->name, cases[i].host, err.msg);
            assert_string_equal(buf_cstr(&out), cases[i].want);
        }
        buf_free(&out);
    }
}

static void
test_naa_rules(void **state)
{
    static const struct {
        const struct storage_driver *drv;
        const char *value;
        const char *want; /* NULL = PERR_PROTOCOL */
    } cases[] = {
        {&storage_ontap, "wFZ7p?QYvV8d", "naa.600a098077465a37703f515976563864"},
        {&storage_ontap, "short", NULL},
        {&storage_pure, "A1B2C3D4E5F60718293A4B5C", "naa.624a9370a1b2c3d4e5f60718293a4b5c"},
        {&storage_pure, "A1B2C3D4E5F60718293A4B5", NULL},
        {&storage_powermax, "60000970000197900046533030334545",
         "naa.60000970000197900046533030334545"},
        {&storage_powerstore, "naa.68CCF09800E5D8A3A4BDC8F1E1F7A6F0",
         "naa.68ccf09800e5d8a3a4bdc8f1e1f7a6f0"},
        {&storage_primera3par, "60002AC0000000000000021E00021F6B",
         "naa.60002ac0000000000000021e00021f6b"},
        {&storage_flashsystem, "6005076810810261F800000000000A2B",
         "naa.6005076810810261f800000000000a2b"},
        {&storage_infinibox, "742b0f000004e2b000000000000abcd",
         "naa.6742b0f000004e2b000000000000abcd"},
        {&storage_vantara, "60060E8012345600504012345600001A",
         "naa.60060e8012345600504012345600001a"},
        {&storage_vantara, "60060E80", NULL},
        {&storage_vantara, "", NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *naa = NULL;
        struct perr err = {0};
        int rc = storage_naa(cases[i].drv, cases[i].value, &naa, &err);

        if (cases[i].want == NULL) {
            assert_int_equal(rc, -1);
            assert_int_equal(err.code, PERR_PROTOCOL);
            assert_null(naa);
        } else {
            if (rc != 0)
                fail_msg("%s '%s': %s", cases[i].drv->name, cases[i].value, err.msg);
            assert_string_equal(naa, cases[i].want);
        }
        free(naa);
    }
}

static void
test_help(void **state)
{
    struct buf out = {0};
    struct perr err = {0};

    (void)state;
    assert_int_equal(storage_drivers_help(&out, &err), 0);
    for (size_t i = 0; storage_drivers[i] != NULL; i++) {
        const struct storage_driver *d = storage_drivers[i];

        assert_non_null(strstr(buf_cstr(&out), d->name));
        for (size_t k = 0; d->env_keys != NULL && d->env_keys[k].key != NULL; k++)
            assert_non_null(strstr(buf_cstr(&out), d->env_keys[k].key));
    }
    buf_free(&out);
}

/* The manual page's VENDORS section is the registry's, byte for byte. */
static void
test_man_page(void **state)
{
    struct buf gen = {0};
    struct buf page = {0};
    struct buf fixed = {0};
    struct perr err = {0};
    char chunk[4096];
    size_t n;
    FILE *f;
    const char *a;
    const char *b;

    (void)state;
    f = fopen(MAN_PAGE, "r");
    if (f == NULL)
        fail_msg("cannot read %s (run from the top of the tree)", MAN_PAGE);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(&page, chunk, n, &err);
    fclose(f);
    assert_int_equal(storage_drivers_man(&gen, &err), 0);
    a = strstr(buf_cstr(&page), MAN_BEGIN);
    b = strstr(buf_cstr(&page), MAN_END);
    assert_non_null(a);
    assert_non_null(b);
    a += strlen(MAN_BEGIN);
    if (getenv("POP_WRITE_MAN") != NULL) {
        buf_add(&fixed, buf_cstr(&page), (size_t)(a - buf_cstr(&page)), &err);
        buf_adds(&fixed, buf_cstr(&gen), &err);
        buf_adds(&fixed, b, &err);
        f = fopen(MAN_PAGE, "w");
        assert_non_null(f);
        fputs(buf_cstr(&fixed), f);
        fclose(f);
        printf("rewrote the VENDORS section of %s\n", MAN_PAGE);
    } else if ((size_t)(b - a) != gen.len || memcmp(a, buf_cstr(&gen), gen.len) != 0) {
        fail_msg("%s: the VENDORS section differs from the registry; run `make man-vendors`",
                 MAN_PAGE);
    }
    buf_free(&gen);
    buf_free(&page);
    buf_free(&fixed);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),   cmocka_unit_test(test_descriptors),
        cmocka_unit_test(test_base_url), cmocka_unit_test(test_naa_rules),
        cmocka_unit_test(test_help),     cmocka_unit_test(test_man_page),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
