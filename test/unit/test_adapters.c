/*
 * The adapter choice by the array's target ports (cmd/adapters.c), as a
 * table: hosts with FC and iSCSI adapters, arrays listing ports in their own
 * spellings, and the adapters that must come out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmd/adapters.h"

#define T_FC0   "2001d039ea000000"
#define T_FC1   "2001d039ea000001"
#define T_IQN   "iqn.1992-08.com.netapp:sn.0123abcd:vs.3"
#define T_OTHER "iqn.2010-06.com.purestorage:flasharray.1f2e3d"

/* One adapter of the table's host: targets are ';'-separated. */
struct hba_row {
    const char *name, *id;
    enum vim_hba_kind kind;
    const char *fc_targets, *iscsi_targets;
};

static const struct hba_row host_fc_iscsi[] = {
    {"vmhba2", "fc.20000025b5000001:21000025b5000002", VIM_HBA_FC, T_FC0 ";" T_FC1, ""},
    {"vmhba3", "fc.20000025b5000003:21000025b5000004", VIM_HBA_FC, "a0000000000000ff", ""},
    {"vmhba65", "iqn.1998-01.com.vmware:esx-0", VIM_HBA_ISCSI, "", T_IQN ";" T_OTHER},
    {"vmhba0", "vmhba0", VIM_HBA_OTHER, "", ""},
    {NULL, NULL, VIM_HBA_OTHER, NULL, NULL},
};

/* vmhba66 sees the array but has no id: never chosen. */
static const struct hba_row host_no_id[] = {
    {"vmhba66", NULL, VIM_HBA_ISCSI, "", T_IQN},
    {"vmhba2", "fc.1:2", VIM_HBA_FC, T_FC1, ""},
    {NULL, NULL, VIM_HBA_OTHER, NULL, NULL},
};

static const struct {
    const char *what;
    const struct hba_row *host;
    const char *fc, *iscsi; /* ';'-separated ports the array lists */
    const char *want;       /* ','-separated adapter names, "" for none */
    const char *protocol;
} cases[] = {
    {"no ports at all", host_fc_iscsi, "", "", "", "n/a"},
    {"FC port as ONTAP spells it", host_fc_iscsi, "20:01:d0:39:ea:00:00:01", "", "vmhba2", "fc"},
    {"FC port as Pure spells it", host_fc_iscsi, "20:01:D0:39:EA:00:00:00", "", "vmhba2", "fc"},
    {"FC port bare upper-case", host_fc_iscsi, "A0000000000000FF", "", "vmhba3", "fc"},
    {"FC port with dashes", host_fc_iscsi, "20-01-d0-39-ea-00-00-00", "", "vmhba2", "fc"},
    {"FC ports on two adapters", host_fc_iscsi, "a0:00:00:00:00:00:00:ff;2001d039ea000000", "",
     "vmhba2,vmhba3", "fc"},
    {"iSCSI name as given", host_fc_iscsi, "", T_IQN, "vmhba65", "iscsi"},
    {"iSCSI name upper-case without colons", host_fc_iscsi, "",
     "IQN.1992-08.COM.NETAPP"
     "SN.0123ABCDVS.3",
     "vmhba65", "iscsi"},
    {"both protocols, host order kept", host_fc_iscsi, "2001d039ea000001", T_OTHER,
     "vmhba2,vmhba65", "fc"},
    {"ports that reach nothing", host_fc_iscsi, "524a937000000001;20:01:d0:39:ea:00:00:02",
     "iqn.1992-08.com.netapp:sn.ffff:vs.9", "", "n/a"},
    {"a WWN that is too short never matches", host_fc_iscsi, "2001d039ea00000", "", "", "n/a"},
    {"a WWN that is too long never matches", host_fc_iscsi, "2001d039ea0000000", "", "", "n/a"},
    {"not hex", host_fc_iscsi, "2001d039ea00000g", "", "", "n/a"},
    {"an iSCSI name is no FC port", host_fc_iscsi, T_IQN, "", "", "n/a"},
    {"a WWN is no iSCSI name", host_fc_iscsi, "", T_FC0, "", "n/a"},
    {"iSCSI prefix only", host_fc_iscsi, "", "iqn.1992-08.com.netapp", "", "n/a"},
    {"adapter without id skipped", host_no_id, T_FC1, T_IQN, "vmhba2", "fc"},
};

static void
split(const char *list, char sep, struct strv *out)
{
    struct perr err = {0};
    char *copy = strdup(list);
    char *p = copy;

    assert_non_null(copy);
    while (*p != '\0') {
        char *end = strchr(p, sep);

        if (end != NULL)
            *end = '\0';
        assert_int_equal(strv_add(out, p, &err), 0);
        if (end == NULL)
            break;
        p = end + 1;
    }
    free(copy);
}

static void
host_build(const struct hba_row *rows, struct vim_hbas *h)
{
    size_t n = 0;

    while (rows[n].name != NULL)
        n++;
    h->v = calloc(n, sizeof(*h->v));
    assert_non_null(h->v);
    h->n = n;
    for (size_t i = 0; i < n; i++) {
        h->v[i].name = strdup(rows[i].name);
        h->v[i].key = strdup(rows[i].name);
        h->v[i].id = rows[i].id != NULL ? strdup(rows[i].id) : NULL;
        h->v[i].kind = rows[i].kind;
        split(rows[i].fc_targets, ';', &h->v[i].fc_targets);
        split(rows[i].iscsi_targets, ';', &h->v[i].iscsi_targets);
    }
}

static void
test_choice_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vim_hbas h = {0};
        struct strv fc = {0};
        struct strv iscsi = {0};
        struct strv want = {0};
        struct vim_adapters got = {0};
        struct perr err = {0};
        int n;

        host_build(cases[i].host, &h);
        split(cases[i].fc, ';', &fc);
        split(cases[i].iscsi, ';', &iscsi);
        split(cases[i].want, ',', &want);
        n = adapters_by_ports(&h, &fc, &iscsi, &got, &err);
        if (n != (int)want.n)
            fail_msg("%s: %d adapters chosen, want %zu", cases[i].what, n, want.n);
        for (size_t j = 0; j < want.n; j++) {
            if (strcmp(got.v[j].name, want.v[j]) != 0)
                fail_msg("%s: adapter %zu is '%s', want '%s'", cases[i].what, j, got.v[j].name,
                         want.v[j]);
            for (size_t k = 0; k < h.n; k++) {
                if (strcmp(h.v[k].name, got.v[j].name) == 0)
                    assert_string_equal(got.v[j].id, h.v[k].id);
            }
        }
        if (strcmp(got.protocol, cases[i].protocol) != 0)
            fail_msg("%s: protocol '%s', want '%s'", cases[i].what, got.protocol,
                     cases[i].protocol);
        assert_null(got.device);
        assert_int_equal(err.code, PERR_OK);
        vim_adapters_clear(&got);
        vim_hbas_clear(&h);
        strv_free(&fc);
        strv_free(&iscsi);
        strv_free(&want);
    }
}

static void
test_comparisons(void **state)
{
    (void)state;
    assert_true(adapters_fc_port_equal("52:4A:93:70:00:00:00:01", "524a937000000001"));
    assert_true(adapters_fc_port_equal("52.4a.93.70.00.00.00.01", "52-4A-93-70-00-00-00-01"));
    assert_false(adapters_fc_port_equal("", ""));
    assert_false(adapters_fc_port_equal("0x524a937000000001", "524a937000000001"));
    assert_true(adapters_iscsi_name_equal("iqn.a:b:c", "IQN.ABC"));
    assert_true(adapters_iscsi_name_equal("iqn.a::", "iqn.a"));
    assert_false(adapters_iscsi_name_equal("iqn.a:b", "iqn.a:bc"));
    assert_false(adapters_iscsi_name_equal("iqn.ab", "iqn.a"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choice_table),
        cmocka_unit_test(test_comparisons),
    };

    return cmocka_run_group_tests_name("adapters", tests, NULL, NULL);
}
