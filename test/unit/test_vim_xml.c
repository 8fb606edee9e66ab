/*
 * SOAP reply and fault parsing on fixtures: both xsi:type spellings, faults
 * without a type, the ServiceContent, and hostile input (entities, DOCTYPE,
 * oversize, garbage, missing body).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "esxi/vim.h"
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_xsi_type),     cmocka_unit_test(test_fault_vcsim_prefix),
        cmocka_unit_test(test_fault_element_name), cmocka_unit_test(test_service_content),
        cmocka_unit_test(test_hostile_input),      cmocka_unit_test(test_url_normalise),
    };

    return cmocka_run_group_tests_name("vim_xml", tests, NULL, NULL);
}
