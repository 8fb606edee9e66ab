/*
 * The pure parts of the VIB install: the version inside a VIB file (the
 * <version> of its descriptor.xml, the first `ar` member) and the
 * vmkfstools-wrapper row of `esxcli software vib list`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "esxi/vib_install.h"

/* An ar archive with one member, descriptor.xml, holding body. */
static size_t
make_vib(char *out, size_t max, const char *member, const char *body)
{
    int n = snprintf(out, max, "!<arch>\n%-16s%-12s%-6s%-6s%-8s%-10zu`\n%s", member, "0", "0", "0",
                     "644", strlen(body), body);

    assert_true(n > 0 && (size_t)n < max);
    return (size_t)n;
}

static void
test_file_version(void **state)
{
    char vib[2048];
    struct perr err = {0};
    char *v = NULL;
    size_t n;

    (void)state;
    n = make_vib(
        vib, sizeof(vib), "descriptor.xml",
        "<vib version=\"5.0\">\n  <type>bootbank</type>\n  <name>vmkfstools-wrapper</name>\n"
        "  <version>0.5.0.1</version>\n</vib>\n");
    assert_int_equal(vib_file_version((const unsigned char *)vib, n, &v, &err), 0);
    assert_string_equal(v, "0.5.0.1");
    free(v);

    /* Not a VIB: another first member, no <version>, a truncated member, not ar at all. */
    n = make_vib(vib, sizeof(vib), "payload1", "<version>1</version>");
    assert_int_equal(vib_file_version((const unsigned char *)vib, n, &v, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_null(v);
    perr_clear(&err);
    n = make_vib(vib, sizeof(vib), "descriptor.xml", "<vib version=\"5.0\"></vib>");
    assert_int_equal(vib_file_version((const unsigned char *)vib, n, &v, &err), -1);
    perr_clear(&err);
    n = make_vib(vib, sizeof(vib), "descriptor.xml", "<version>0.5.0.1</version>");
    assert_int_equal(vib_file_version((const unsigned char *)vib, n - 10, &v, &err), -1);
    perr_clear(&err);
    assert_int_equal(vib_file_version((const unsigned char *)"#!/bin/sh\n", 10, &v, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
}

static void
test_list_version(void **state)
{
    static const char listing[] =
        "Name                  Version                    Vendor  Acceptance Level    Install "
        "Date\n"
        "--------------------  -------------------------  ------  ------------------  "
        "------------\n"
        "vmkfstools-wrapper-x  9.9.9                      OTHER   CommunitySupported  2025-01-01\n"
        "vmkfstools-wrapper    0.3.3                      REDHAT  CommunitySupported  2025-01-01\n"
        "esx-base              8.0.2-0.0.22380479         VMware  VMwareCertified     2024-01-01\n";
    char *v;

    (void)state;
    v = vib_list_version(listing);
    assert_string_equal(v, "0.3.3");
    free(v);
    v = vib_list_version("Name  Version\n----  -------\nesx-base  8.0.2\n");
    assert_string_equal(v, "");
    free(v);
    v = vib_list_version("");
    assert_string_equal(v, "");
    free(v);
    assert_string_equal(vib_host_outcome_str(VIB_HOST_FAILED), "failed");
    assert_string_equal(vib_host_outcome_str(VIB_HOST_UP_TO_DATE), "up to date");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_version),
        cmocka_unit_test(test_list_version),
    };

    return cmocka_run_group_tests_name("vib install (pure parts)", tests, NULL, NULL);
}
