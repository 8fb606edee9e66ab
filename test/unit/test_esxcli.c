/*
 * esxcli response parsing on the real ESXi responses in
 * ../shared/vendor-specs/esxcli-fixtures/ and on our own samples of the
 * shapes the populator reads (device list, wrapper result, scalars).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "esxi/esxcli.h"
#include "lib/buf.h"

#define FIXTURES "../shared/vendor-specs/esxcli-fixtures/"

static char *
load(const char *path, size_t *len)
{
    struct buf b = {0};
    struct perr err = {0};
    char chunk[4096];
    size_t n;
    FILE *f = fopen(path, "rb");

    if (f == NULL)
        return NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(buf_add(&b, chunk, n, &err), 0);
    fclose(f);
    *len = b.len;
    return buf_steal(&b);
}

static int
fixtures_present(void **state)
{
    (void)state;
    if (access(FIXTURES "network_vm_list.xml", R_OK) != 0) {
        printf("SKIP: %s not found (the shared specs are not beside the checkout); the real ESXi "
               "fixture tests cannot run\n",
               FIXTURES);
        return -1;
    }
    return 0;
}

static void
test_real_array_of_data_object(void **state)
{
    struct esxcli_result res;
    struct perr err = {0};
    size_t len = 0;
    char *xml = load(FIXTURES "network_vm_list.xml", &len);

    (void)state;
    assert_non_null(xml);
    assert_int_equal(esxcli_parse_response(xml, len, &res, &err), 0);
    assert_int_equal(res.nrows, 2);
    assert_string_equal(esxcli_get(&res, 0, "Name"), "foo");
    assert_string_equal(esxcli_get(&res, 0, "Networks"), "VM Network,dougm");
    assert_string_equal(esxcli_get(&res, 0, "WorldID"), "98842");
    assert_string_equal(esxcli_get(&res, 1, "Name"), "bar");
    assert_null(esxcli_get(&res, 2, "Name"));
    esxcli_result_free(&res);
    free(xml);
}

static void
test_real_empty_field(void **state)
{
    struct esxcli_result res;
    struct perr err = {0};
    size_t len = 0;
    char *xml = load(FIXTURES "network_vm_port_list.xml", &len);

    (void)state;
    assert_non_null(xml);
    assert_int_equal(esxcli_parse_response(xml, len, &res, &err), 0);
    assert_int_equal(res.nrows, 1);
    assert_string_equal(esxcli_get(&res, 0, "DVPortID"), "");
    assert_string_equal(esxcli_get(&res, 0, "IPAddress"), "192.168.247.149");
    assert_string_equal(esxcli_get(&res, 0, "vSwitch"), "vSwitch0");
    esxcli_result_free(&res);
    free(xml);
}

static void
test_real_structure(void **state)
{
    struct esxcli_result res;
    struct perr err = {0};
    size_t len = 0;
    char *xml = load(FIXTURES "system_hostname_get.xml", &len);

    (void)state;
    assert_non_null(xml);
    assert_int_equal(esxcli_parse_response(xml, len, &res, &err), 0);
    assert_int_equal(res.nrows, 1);
    assert_string_equal(esxcli_get(&res, 0, "HostName"), "esxbox");
    assert_string_equal(esxcli_get(&res, 0, "FullyQualifiedDomainName"), "esxbox.localdomain");
    esxcli_result_free(&res);
    free(xml);
}

static void
test_scalar_and_wrapper_result(void **state)
{
    static const char scalar[] =
        "<obj xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns=\"urn:vim25\" "
        "versionId=\"5.0\" xsi:type=\"xsd:boolean\">true</obj>";
    static const char wrapper[] =
        "<obj xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns=\"urn:vim25\" "
        "versionId=\"5.0\" xsi:type=\"ArrayOfDataObject\"><DataObject "
        "xsi:type=\"VimEsxCLIvmkfstoolscloneResult\"><message>{\"taskId\": \"a&amp;b\", \"pid\": "
        "12}</message><status>0</status></DataObject></obj>";
    struct esxcli_result res;
    struct perr err = {0};

    (void)state;
    assert_int_equal(esxcli_parse_response(scalar, strlen(scalar), &res, &err), 0);
    assert_string_equal(esxcli_get(&res, 0, "value"), "true");
    esxcli_result_free(&res);
    assert_int_equal(esxcli_parse_response(wrapper, strlen(wrapper), &res, &err), 0);
    assert_string_equal(esxcli_get(&res, 0, "status"), "0");
    assert_string_equal(esxcli_get(&res, 0, "message"), "{\"taskId\": \"a&b\", \"pid\": 12}");
    esxcli_result_free(&res);
    assert_int_equal(esxcli_parse_response("<obj", 4, &res, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_int_equal(res.nrows, 0);
}

int
main(void)
{
    const struct CMUnitTest real[] = {
        cmocka_unit_test(test_real_array_of_data_object),
        cmocka_unit_test(test_real_empty_field),
        cmocka_unit_test(test_real_structure),
    };
    const struct CMUnitTest ours[] = {
        cmocka_unit_test(test_scalar_and_wrapper_result),
    };
    int failed = cmocka_run_group_tests_name("esxcli", ours, NULL, NULL);

    failed +=
        cmocka_run_group_tests_name("esxcli real ESXi fixtures", real, fixtures_present, NULL);
    return failed;
}
