/*
 * lib/strv.c: the owned NULL-terminated string vector.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/strv.h"

static void
test_empty(void **state)
{
    struct strv sv = {0};
    struct buf b = {0};
    struct perr err = {0};

    (void)state;
    assert_null(strv_cv(&sv));
    assert_false(strv_contains(&sv, ""));
    assert_false(strv_contains_nocase(&sv, "x"));
    assert_int_equal(strv_join(&sv, ",", &b, &err), 0);
    assert_string_equal(buf_cstr(&b), "");
    strv_free(&sv);
    strv_free(NULL);
    assert_int_equal(sv.n, 0);
}

static void
test_add_contains_join(void **state)
{
    struct strv sv = {0};
    struct buf b = {0};
    struct perr err = {0};
    char src[] = "iqn.1998-01.com.vmware:esx01";

    (void)state;
    assert_int_equal(strv_add(&sv, src, &err), 0);
    src[0] = 'X'; /* the vector holds its own copy */
    assert_int_equal(strv_addf(&sv, &err, "naa.%s%d", "60a98000", 7), 0);
    assert_int_equal(strv_take(&sv, strdup("21:00:00:24:FF:4C:0A:1B"), &err), 0);
    assert_int_equal(strv_add(&sv, "", &err), 0);
    assert_int_equal(sv.n, 4);
    assert_null(sv.v[4]);
    assert_string_equal(sv.v[0], "iqn.1998-01.com.vmware:esx01");
    assert_string_equal(sv.v[1], "naa.60a980007");
    assert_ptr_equal(strv_cv(&sv), sv.v);

    assert_true(strv_contains(&sv, "naa.60a980007"));
    assert_true(strv_contains(&sv, ""));
    assert_false(strv_contains(&sv, "naa.60a98000"));
    assert_false(strv_contains(&sv, "IQN.1998-01.COM.VMWARE:ESX01"));
    assert_true(strv_contains_nocase(&sv, "IQN.1998-01.COM.VMWARE:ESX01"));
    assert_true(strv_contains_nocase(&sv, "21:00:00:24:ff:4c:0a:1b"));

    assert_int_equal(strv_join(&sv, ", ", &b, &err), 0);
    assert_string_equal(buf_cstr(&b),
                        "iqn.1998-01.com.vmware:esx01, naa.60a980007, 21:00:00:24:FF:4C:0A:1B, ");
    buf_free(&b);
    strv_free(&sv);
    assert_null(sv.v);
    assert_int_equal(sv.n, 0);

    /* reusable after free */
    assert_int_equal(strv_add(&sv, "again", &err), 0);
    assert_int_equal(strv_join(&sv, "|", &b, &err), 0);
    assert_string_equal(buf_cstr(&b), "again");
    buf_free(&b);
    strv_free(&sv);
    assert_int_equal(err.code, PERR_OK);
}

static void
test_take_null_is_nomem(void **state)
{
    struct strv sv = {0};
    struct perr err = {0};

    (void)state;
    assert_int_equal(strv_take(&sv, NULL, &err), -1);
    assert_int_equal(err.code, PERR_NOMEM);
    assert_int_equal(sv.n, 0);
    assert_null(sv.v);
}

static void
test_many(void **state)
{
    struct strv sv = {0};
    struct perr err = {0};

    (void)state;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(strv_addf(&sv, &err, "item-%d", i), 0);
    assert_int_equal(sv.n, 1000);
    assert_string_equal(sv.v[999], "item-999");
    assert_null(sv.v[1000]);
    assert_true(strv_contains(&sv, "item-500"));
    strv_free(&sv);
}

static void
test_join_cap(void **state)
{
    struct strv sv = {0};
    struct buf b;
    struct perr err = {0};

    (void)state;
    buf_init(&b, 5);
    assert_int_equal(strv_add(&sv, "abc", &err), 0);
    assert_int_equal(strv_add(&sv, "def", &err), 0);
    assert_int_equal(strv_join(&sv, ",", &b, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    buf_free(&b);
    strv_free(&sv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_add_contains_join),
        cmocka_unit_test(test_take_null_is_nomem),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_join_cap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
