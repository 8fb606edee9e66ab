/*
 * storage/naa.c: initiator forms and NAA derivation, table-driven against the
 * examples in the vendor notes (vendors-a.md §1.4, §1.11, §2.4, §2.9;
 * vendors-b.md §1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/compiler.h"
#include "storage/naa.h"

static void
test_proto(void **state)
{
    static const struct {
        const char *id;
        enum initiator_proto want;
    } cases[] = {
        {"iqn.1998-01.com.vmware:esx01-1234", INITIATOR_ISCSI},
        {"IQN.1998-01.com.vmware:esx01", INITIATOR_ISCSI},
        {"eui.0123456789abcdef", INITIATOR_ISCSI},
        {"nqn.2014-08.org.nvmexpress:uuid:1", INITIATOR_ISCSI},
        {"fc.20000025b5000001:20000025b5000002", INITIATOR_FC},
        {"2000000000000001", INITIATOR_FC},
        {"20:00:00:00:00:00:00:01", INITIATOR_FC},
        {"vmhba3", INITIATOR_UNKNOWN},
        {"5001438012345678", INITIATOR_UNKNOWN},
        {"", INITIATOR_UNKNOWN},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        assert_int_equal(initiator_proto(cases[i].id), cases[i].want);
    assert_int_equal(initiator_proto(NULL), INITIATOR_UNKNOWN);
    assert_string_equal(initiator_proto_name(INITIATOR_FC), "fc");
    assert_string_equal(initiator_proto_name(INITIATOR_ISCSI), "iscsi");
    assert_string_equal(initiator_proto_name(INITIATOR_UNKNOWN), "unknown");
}

static void
test_parse_fc_valid(void **state)
{
    static const struct {
        const char *id, *wwnn, *wwpn;
    } cases[] = {
        {"fc.20000000C0A80ABC:21000000C0A80DEF", "20000000C0A80ABC", "21000000C0A80DEF"},
        {"fc.20000000c0a80abc:2a000000c0a80def", "20000000C0A80ABC", "2A000000C0A80DEF"},
        {"fc.20000000c0A80aBc:2A000000C0a80dEf", "20000000C0A80ABC", "2A000000C0A80DEF"},
        {"fc.2020202020202020:2121212121212121", "2020202020202020", "2121212121212121"},
        {"FC.2000000000000001:2100000000000002", "2000000000000001", "2100000000000002"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char wwnn[WWN_HEX_MAX + 1];
        char wwpn[WWN_HEX_MAX + 1];
        struct perr err = {0};

        assert_int_equal(initiator_parse_fc(cases[i].id, wwnn, wwpn, &err), 0);
        assert_string_equal(wwnn, cases[i].wwnn);
        assert_string_equal(wwpn, cases[i].wwpn);
    }
}

static void
test_parse_fc_invalid(void **state)
{
    static const struct {
        const char *id, *msg;
    } cases[] = {
        {"f.20000000C0A80ABC:21000000C0A80DEF", "doesn't start with 'fc.'"},
        {"20000000C0A80ABC:21000000C0A80DEF", "doesn't start with 'fc.'"},
        {"", "doesn't start with 'fc.'"},
        {"fc.20000000C0A80ABC21000000C0A80DEF", "not in expected fc.WWNN:WWPN format"},
        {"fc.20:00:00:00:C0:A8:0A:BC:21:00:00:00:C0:A8:0D:EF",
         "not in expected fc.WWNN:WWPN format"},
        {"fc.:21000000C0A80DEF", "empty WWNN or WWPN"},
        {"fc.20000000C0A80ABC:", "empty WWNN or WWPN"},
        {"fc.20000000C0A80AB:21000000C0A80DEF", "WWNN has odd length"},
        {"fc.20000000C0A80ABC:21000000C0A80DE", "WWPN has odd length"},
        {"fc.20000000C0A80ABZ:21000000C0A80DEF", "WWNN contains non-hex characters"},
        {"fc.20000000C0A80ABC:21000000C0A80DGF", "WWPN contains non-hex characters"},
        {"fc.20000000C0A80ABC00:21000000C0A80DEF", "longer than 16 hex digits"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char wwpn[WWN_HEX_MAX + 1] = "x";
        struct perr err = {0};

        assert_int_equal(initiator_parse_fc(cases[i].id, NULL, wwpn, &err), -1);
        assert_int_equal(err.code, PERR_USAGE);
        assert_non_null(strstr(err.msg, cases[i].msg));
        assert_string_equal(wwpn, "");
    }
}

static void
test_fc_wwpn_forms(void **state)
{
    static const struct {
        const char *id;
        enum wwn_form form;
        const char *want;
    } cases[] = {
        /* ONTAP (vendors-a §1.11) and Pure (§2.9) examples. */
        {"fc.2000000000000001:2100000000000002", WWN_UPPER_COLON, "21:00:00:00:00:00:00:02"},
        {"fc.2020202020202020:2121212121212121", WWN_UPPER_COLON, "21:21:21:21:21:21:21:21"},
        {"fc.20000024ff3a4b5c:21000024ff3a4b5c", WWN_UPPER_COLON, "21:00:00:24:FF:3A:4B:5C"},
        {"fc.20000000c0a80abc:21000000c0a80def", WWN_UPPER_COLON, "21:00:00:00:C0:A8:0D:EF"},
        {"fc.20000024ff3a4b5c:21000024ff3a4b5c", WWN_LOWER_COLON, "21:00:00:24:ff:3a:4b:5c"},
        {"fc.20000024ff3a4b5c:21000024ff3a4b5c", WWN_UPPER_PLAIN, "21000024FF3A4B5C"},
        {"fc.20000024ff3a4b5c:21000024FF3A4B5C", WWN_LOWER_PLAIN, "21000024ff3a4b5c"},
        /* A bare WWN is taken as the port name. */
        {"21000024ff3a4b5c", WWN_UPPER_COLON, "21:00:00:24:FF:3A:4B:5C"},
        {"21:00:00:24:ff:3a:4b:5c", WWN_UPPER_PLAIN, "21000024FF3A4B5C"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char out[WWN_BUF_SIZE];
        struct perr err = {0};

        assert_int_equal(initiator_fc_wwpn(cases[i].id, cases[i].form, out, sizeof(out), &err), 0);
        assert_string_equal(out, cases[i].want);
    }
}

static void
test_fc_wwpn_errors(void **state)
{
    static const char *const bad[] = {"iqn.1998-01.com.vmware:esx01", "vmhba3", "2100", "fc.1:2",
                                      "21000024ff3a4b5cff"};

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        char out[WWN_BUF_SIZE];
        struct perr err = {0};

        assert_int_equal(initiator_fc_wwpn(bad[i], WWN_UPPER_COLON, out, sizeof(out), &err), -1);
        assert_int_equal(err.code, PERR_USAGE);
        assert_string_equal(out, "");
    }
}

static void
test_wwn_format_and_equal(void **state)
{
    char out[32];

    (void)state;
    wwn_format("2100000000000002", WWN_UPPER_COLON, out, sizeof(out));
    assert_string_equal(out, "21:00:00:00:00:00:00:02");
    wwn_format("123456789", WWN_UPPER_COLON, out, sizeof(out));
    assert_string_equal(out, "12:34:56:78:9");
    wwn_format("", WWN_UPPER_COLON, out, sizeof(out));
    assert_string_equal(out, "");
    wwn_format("2100000000000002", WWN_UPPER_COLON, out, 6);
    assert_string_equal(out, "21:00");

    /* vendors-b §1 normalisation fixtures. */
    assert_true(wwn_equal("21:00:00:00:C0:A8:0D:EF", "21000000C0A80DEF"));
    assert_true(wwn_equal("21-00-00-00-c0-a8-0d-ef", "21000000C0A80DEF"));
    assert_true(wwn_equal("21 00 00 00 C0 A8 0D EF", "21000000c0a80def"));
    assert_true(wwn_equal("21:00-00 00:C0:A8:0D:EF", "21000000C0A80DEF"));
    assert_true(wwn_equal("", ""));
    assert_false(wwn_equal("21000000C0A80DEF", "21000000C0A80DEE"));
    assert_false(wwn_equal(NULL, "21000000C0A80DEF"));

    assert_true(initiator_equal("fc.20000024ff3a4b5c:21000024ff3a4b5c", "21:00:00:24:FF:3A:4B:5C"));
    assert_true(initiator_equal("21:00:00:24:ff:3a:4b:5c", "21:00:00:24:FF:3A:4B:5C"));
    assert_false(
        initiator_equal("fc.20000024ff3a4b5c:21000024ff3a4b5c", "20:00:00:24:FF:3A:4B:5C"));
    assert_true(initiator_equal("iqn.1998-01.com.vmware:ESX01", "iqn.1998-01.com.vmware:esx01"));
    assert_false(initiator_equal("iqn.1998-01.com.vmware:esx01", "iqn.1998-01.com.vmware:esx02"));
    assert_false(initiator_equal(NULL, NULL));
}

static void
test_naa_ontap(void **state)
{
    static const struct {
        const char *serial, *naa;
    } cases[] = {
        {"wFZ7p?QYvV8d", "naa.600a098077465a37703f515976563864"}, /* vendors-a §1.4 */
    };
    char *naa = NULL;
    struct perr err = {0};

    (void)state;
    assert_int_equal(naa_from_ascii_serial("600a0980", cases[0].serial, &naa, &err), 0);
    assert_string_equal(naa, cases[0].naa);
    assert_int_equal(strlen(naa), 4 + 32);
    free(naa);

    /* Every byte, hex of its ASCII code, lower case. */
    assert_int_equal(naa_from_ascii_serial("600a0980", "ABCDEFGHIJKL", &naa, &err), 0);
    assert_string_equal(naa, "naa.600a0980414243444546474849"
                             "4a4b4c");
    free(naa);

    static const char *const bad[] = {"test-serial", "wFZ7p?QYvV8dX", "", "wFZ7p QYvV8d"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct perr e = {0};

        naa = (char *)"x";
        assert_int_equal(naa_from_ascii_serial("600a0980", bad[i], &naa, &e), -1);
        assert_null(naa);
        assert_int_equal(e.code, PERR_PROTOCOL);
    }
}

static void
test_naa_pure(void **state)
{
    char *naa = NULL;
    struct perr err = {0};

    (void)state;
    assert_int_equal(naa_from_hex_serial("624a9370", "A1B2C3D4E5F60718293A4B5C", &naa, &err), 0);
    assert_string_equal(naa, "naa.624a9370a1b2c3d4e5f60718293a4b5c");
    assert_int_equal(strlen(naa), 4 + 32);
    free(naa);
    assert_int_equal(naa_from_hex_serial("624a9370", "a1b2c3d4e5f60718293a4b5c", &naa, &err), 0);
    assert_string_equal(naa, "naa.624a9370a1b2c3d4e5f60718293a4b5c");
    free(naa);

    static const char *const bad[] = {"", "A1B2C3D4E5F60718293A4B5", "A1B2C3D4E5F60718293A4B5CD",
                                      "G1B2C3D4E5F60718293A4B5C"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct perr e = {0};

        assert_int_equal(naa_from_hex_serial("624a9370", bad[i], &naa, &e), -1);
        assert_null(naa);
        assert_int_equal(e.code, PERR_PROTOCOL);
    }
}

static void
test_pure_serial_from_device(void **state)
{
    static const struct {
        const char *dev, *serial;
    } good[] = {
        {"naa.624a9370abcd1234efgh5678", "ABCD1234EFGH5678"}, /* vendors-a §2.9 */
        {"naa.624a9370a1b2c3d4e5f60718293a4b5c", "A1B2C3D4E5F60718293A4B5C"},
        {"NAA.624A9370A1B2C3D4E5F60718293A4B5C", "A1B2C3D4E5F60718293A4B5C"},
        {"/vmfs/devices/disks/naa.624a9370a1b2c3d4e5f60718293a4b5c", "A1B2C3D4E5F60718293A4B5C"},
        {"vml.0200010000624a9370a1b2c3d4e5f60718293a4b5c466c61736841", "A1B2C3D4E5F60718293A4B5C"},
        {"/vmfs/devices/disks/vml.0200010000624a9370a1b2c3d4e5f60718293a4b5c466c61736841",
         "A1B2C3D4E5F60718293A4B5C"},
    };
    static const struct {
        const char *dev, *msg;
    } bad[] = {
        {"naa.600a098077465a37703f515976563864", "does not appear to be a Pure FlashArray device"},
        {"naa.624a9370", "could not extract serial"},
        {"naa.624a9370abc/def", "could not extract serial"},
        {"vml.0200010000600a098077465a37703f5159",
         "does not appear to be a Pure FlashArray device"},
        {"", "does not appear to be a Pure FlashArray device"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        char *serial = NULL;
        struct perr err = {0};

        assert_int_equal(
            naa_serial_from_device(good[i].dev, "624a9370", "Pure FlashArray", &serial, &err), 0);
        assert_string_equal(serial, good[i].serial);
        free(serial);
    }
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        char *serial = NULL;
        struct perr err = {0};

        assert_int_equal(
            naa_serial_from_device(bad[i].dev, "624a9370", "Pure FlashArray", &serial, &err), -1);
        assert_null(serial);
        assert_int_equal(err.code, PERR_USAGE);
        assert_non_null(strstr(err.msg, bad[i].msg));
    }
}

static void
test_naa_wwn_vml(void **state)
{
    char *naa = NULL;
    struct perr err = {0};

    (void)state;
    assert_int_equal(naa_from_wwn("60:00:09:70:00:01:97:90:00:46:53:30:30:33:45:45", &naa, &err),
                     0);
    assert_string_equal(naa, "naa.60000970000197900046533030334545");
    free(naa);
    assert_int_equal(naa_from_wwn("NAA.5000C500A1B2C3D4", &naa, &err), 0);
    assert_string_equal(naa, "naa.5000c500a1b2c3d4");
    free(naa);
    assert_int_equal(naa_from_wwn("600509", &naa, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_null(naa);
    perr_clear(&err);
    /* vendor-corrections §1 (Primera): hex characters 10..42 are the NAA. */
    assert_int_equal(
        naa_from_vml("vml.020000000060002ac0000000000000021e00021f6b565634303030", &naa, &err), 0);
    assert_string_equal(naa, "naa.60002ac0000000000000021e00021f6b");
    free(naa);
    assert_int_equal(naa_from_vml("vml.0200", &naa, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proto),
        cmocka_unit_test(test_parse_fc_valid),
        cmocka_unit_test(test_parse_fc_invalid),
        cmocka_unit_test(test_fc_wwpn_forms),
        cmocka_unit_test(test_fc_wwpn_errors),
        cmocka_unit_test(test_wwn_format_and_equal),
        cmocka_unit_test(test_naa_wwn_vml),
        cmocka_unit_test(test_naa_ontap),
        cmocka_unit_test(test_naa_pure),
        cmocka_unit_test(test_pure_serial_from_device),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
