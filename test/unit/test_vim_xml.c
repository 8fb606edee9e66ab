/*
 * SOAP reply and fault parsing on fixtures: both xsi:type spellings, faults
 * without a type, the ServiceContent, and hostile input (entities, DOCTYPE,
 * oversize, garbage, missing body), and a host's adapters with the target
 * ports of its SCSI topology.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "esxi/vim.h"
#include "esxi/vim_calls.h"
#include "esxi/vim_xml.h"
#include "lib/buf.h"

static char *
load(const char *name, size_t *len)
{
    char path[256];
    struct buf b = {0};
    struct perr err = {0};
    char chunk[4096];
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "test/fixtures/vim/%s", name);
    f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(buf_add(&b, chunk, n, &err), 0);
    fclose(f);
    *len = b.len;
    return buf_steal(&b);
}

static void
expect_fault(const char *file, enum perr_code code, const char *type, const char *text)
{
    struct vim_resp *r = NULL;
    struct perr err = {0};
    size_t len;
    char *xml = load(file, &len);

    assert_int_equal(vim_parse_reply(xml, len, 1 << 20, "Login", 500, &r, &err), -1);
    assert_null(r);
    assert_int_equal(err.code, code);
    assert_string_equal(err.remote_code, type);
    assert_int_equal(err.http_status, 500);
    if (strstr(err.msg, text) == NULL)
        fail_msg("message '%s' lacks '%s'", err.msg, text);
    free(xml);
}

static void
test_fault_xsi_type(void **state)
{
    (void)state;
    expect_fault("fault_notauthenticated.xml", PERR_AUTH, "NotAuthenticated",
                 "vSphere Login: NotAuthenticated: The session is not authenticated.");
}

static void
test_fault_vcsim_prefix(void **state)
{
    (void)state;
    /* vcsim writes XMLSchema-instance:type="vim25:InvalidLogin". */
    expect_fault("fault_vcsim_prefix.xml", PERR_AUTH, "InvalidLogin",
                 "incorrect user name or password");
}

static void
test_fault_element_name(void **state)
{
    (void)state;
    expect_fault("fault_no_type.xml", PERR_NOT_FOUND, "ManagedObjectNotFound",
                 "HostSystem:host-99 does not exist");
}

static void
test_service_content(void **state)
{
    struct vim_resp *r = NULL;
    struct perr err = {0};
    size_t len;
    char *xml = load("service_content.xml", &len);
    xmlNode *rv;
    char *s;

    (void)state;
    assert_int_equal(vim_parse_reply(xml, len, 1 << 20, "RetrieveServiceContent", 200, &r, &err),
                     0);
    rv = vim_resp_returnval(r);
    assert_non_null(rv);
    s = vim_xml_path_text(rv, "about/apiVersion");
    assert_string_equal(s, "7.0.3.0");
    free(s);
    s = vim_xml_path_text(rv, "propertyCollector");
    assert_string_equal(s, "propertyCollector");
    free(s);
    assert_null(vim_xml_path_text(rv, "about/missing"));
    vim_resp_free(r);
    free(xml);
}

static void
expect_refused(const char *xml, size_t len, size_t max, const char *want)
{
    struct vim_resp *r = NULL;
    struct perr err = {0};

    assert_int_equal(vim_parse_reply(xml, len, max, "RetrievePropertiesEx", 200, &r, &err), -1);
    assert_null(r);
    assert_int_equal(err.code, PERR_PROTOCOL);
    if (strstr(err.msg, want) == NULL)
        fail_msg("message '%s' lacks '%s'", err.msg, want);
}

static void
test_hostile_input(void **state)
{
    size_t len;
    char *xml;
    char *big;

    (void)state;
    xml = load("entity_bomb.xml", &len);
    expect_refused(xml, len, 1 << 20, "DOCTYPE");
    free(xml);
    xml = load("external_entity.xml", &len);
    expect_refused(xml, len, 1 << 20, "DOCTYPE");
    free(xml);
    xml = load("no_body.xml", &len);
    expect_refused(xml, len, 1 << 20, "no SOAP body");
    free(xml);
    expect_refused("<a><b></a>", 10, 1 << 20, "malformed XML");
    expect_refused("", 0, 1 << 20, "malformed XML");
    /* Larger than the cap: refused before parsing. */
    big = malloc(4096);
    assert_non_null(big);
    memset(big, ' ', 4096);
    expect_refused(big, 4096, 1024, "larger than the 1024-byte limit");
    free(big);
}

static void
test_url_normalise(void **state)
{
    static const struct {
        const char *in, *url, *base;
    } ok[] = {
        {"vc.example.com", "https://vc.example.com/sdk", "https://vc.example.com"},
        {"127.0.0.1:8989", "https://127.0.0.1:8989/sdk", "https://127.0.0.1:8989"},
        {"https://vc.example.com", "https://vc.example.com/sdk", "https://vc.example.com"},
        {"https://vc.example.com/", "https://vc.example.com/sdk", "https://vc.example.com"},
        {"https://vc:443/sdk", "https://vc:443/sdk", "https://vc:443"},
        {"HTTPS://vc/custom", "https://vc/custom", "https://vc"},
    };
    static const char *const bad[] = {"http://vc",    "ftp://vc",      "",
                                      "https:///sdk", "vc with space", "user@vc"};
    struct perr err = {0};
    char *url, *base;

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(vim_url_normalise(ok[i].in, &url, &base, &err), 0);
        assert_string_equal(url, ok[i].url);
        assert_string_equal(base, ok[i].base);
        free(url);
        free(base);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        perr_clear(&err);
        if (vim_url_normalise(bad[i], &url, &base, &err) == 0)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(err.code, PERR_USAGE);
        assert_non_null(strstr(err.msg, "GOVMOMI_HOSTNAME"));
        assert_null(url);
    }
}

static const struct vim_hba *
hba_named(const struct vim_hbas *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++) {
        if (strcmp(h->v[i].name, name) == 0)
            return &h->v[i];
    }
    fail_msg("no adapter '%s'", name);
    return NULL;
}

static void
test_host_hbas_topology(void **state)
{
    struct vim_resp *r = NULL;
    struct vim_hbas h = {0};
    struct perr err = {0};
    const struct vim_hba *a;
    size_t len;
    char *xml = load("host_hbas_topology.xml", &len);

    (void)state;
    assert_int_equal(vim_parse_reply(xml, len, 1 << 20, "RetrievePropertiesEx", 200, &r, &err), 0);
    assert_int_equal(vim_hbas_from_reply(r, &h, &err), 0);
    assert_int_equal(h.n, 3);
    a = hba_named(&h, "vmhba2");
    assert_int_equal(a->kind, VIM_HBA_FC);
    assert_string_equal(a->key, "key-vim.host.FibreChannelHba-vmhba2");
    assert_string_equal(a->id, "fc.20000025b5000001:21000025b5000002");
    assert_string_equal(a->driver, "qlnativefc");
    /* Three distinct targets (one seen twice); a negative xsd:long prints as
     * its unsigned 64-bit value. */
    assert_int_equal(a->fc_targets.n, 3);
    assert_string_equal(a->fc_targets.v[0], "2001d039ea000000");
    assert_string_equal(a->fc_targets.v[1], "2001d039ea000001");
    assert_string_equal(a->fc_targets.v[2], "a0000000000000ff");
    assert_int_equal(a->iscsi_targets.n, 0);
    /* The highest LUN number behind its targets (the Disk.MaxLUN check). */
    assert_int_equal(a->max_lun, 3);
    a = hba_named(&h, "vmhba65");
    assert_int_equal(a->kind, VIM_HBA_ISCSI);
    assert_string_equal(a->id, "iqn.1998-01.com.vmware:esx-0-1a2b3c4d");
    assert_int_equal(a->fc_targets.n, 0);
    assert_int_equal(a->iscsi_targets.n, 1);
    assert_string_equal(a->iscsi_targets.v[0],
                        "iqn.1992-08.com.netapp:sn.0123456789abcdef0123456789abcdef:vs.3");
    assert_int_equal(a->max_lun, 1);
    /* A local adapter: no targets, its device name as the id.  The topology's
     * vmhba9 has no adapter record and is skipped. */
    a = hba_named(&h, "vmhba0");
    assert_int_equal(a->kind, VIM_HBA_OTHER);
    assert_string_equal(a->id, "vmhba0");
    assert_int_equal(a->fc_targets.n + a->iscsi_targets.n, 0);
    assert_int_equal(a->max_lun, -1);
    vim_hbas_clear(&h);
    vim_hbas_clear(&h);
    vim_resp_free(r);
    free(xml);
}

static void
test_host_hbas_bad_wwn(void **state)
{
    static const char xml[] =
        "<?xml version=\"1.0\"?><soapenv:Envelope "
        "xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body>"
        "<RetrievePropertiesExResponse xmlns=\"urn:vim25\"><returnval><objects>"
        "<obj type=\"HostSystem\">host-21</obj><propSet><name>config.storageDevice</name><val "
        "xsi:type=\"HostStorageDeviceInfo\"><hostBusAdapter xsi:type=\"HostFibreChannelHba\">"
        "<key>k2</key><device>vmhba2</device><nodeWorldWideName>1</nodeWorldWideName>"
        "<portWorldWideName>2</portWorldWideName></hostBusAdapter><scsiTopology><adapter>"
        "<adapter>k2</adapter><target><transport xsi:type=\"HostFibreChannelTargetTransport\">"
        "<portWorldWideName>20:01</portWorldWideName></transport></target></adapter>"
        "</scsiTopology></val></propSet></objects></returnval></RetrievePropertiesExResponse>"
        "</soapenv:Body></soapenv:Envelope>";
    struct vim_resp *r = NULL;
    struct vim_hbas h = {0};
    struct perr err = {0};

    (void)state;
    /* The whole config.storageDevice is read the same way. */
    assert_int_equal(
        vim_parse_reply(xml, sizeof(xml) - 1, 1 << 20, "RetrievePropertiesEx", 200, &r, &err), 0);
    assert_int_equal(vim_hbas_from_reply(r, &h, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_non_null(strstr(err.msg, "'20:01' is not a number"));
    assert_int_equal(h.n, 0);
    assert_null(h.v);
    vim_resp_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_xsi_type),     cmocka_unit_test(test_fault_vcsim_prefix),
        cmocka_unit_test(test_fault_element_name), cmocka_unit_test(test_service_content),
        cmocka_unit_test(test_hostile_input),      cmocka_unit_test(test_url_normalise),
        cmocka_unit_test(test_host_hbas_topology), cmocka_unit_test(test_host_hbas_bad_wwn),
    };

    return cmocka_run_group_tests_name("vim_xml", tests, NULL, NULL);
}
