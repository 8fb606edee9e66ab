#include "cmd/adapters.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The 16 lower-case hex digits of a WWN in any spelling, or false. */
static bool
fc_norm(const char *in, char out[17])
{
    size_t n = 0;

    for (const char *p = in; *p != '\0'; p++) {
        if (*p == ':' || *p == '-' || *p == '.')
            continue;
        if (!isxdigit((unsigned char)*p) || n == 16)
            return false;
        out[n++] = (char)tolower((unsigned char)*p);
    }
    out[n] = '\0';
    return n == 16;
}

bool
adapters_fc_port_equal(const char *a, const char *b)
{
    char na[17];
    char nb[17];

    return fc_norm(a, na) && fc_norm(b, nb) && strcmp(na, nb) == 0;
}

bool
adapters_iscsi_name_equal(const char *a, const char *b)
{
    /* §3: compared lower-case without colons, as arrays and hosts differ in
     * both (e.g. "iqn.1992-08.com.netapp:sn.X:vs.3" vs upper-case serials). */
    for (;;) {
        while (*a == ':')
            a++;
        while (*b == ':')
            b++;
        if (*a == '\0' || *b == '\0')
            return *a == *b;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
        a++;
        b++;
    }
}

static bool
any_match(const struct strv *targets, const struct strv *ports,
          bool (*eq)(const char *, const char *))
{
    for (size_t i = 0; i < targets->n; i++) {
        for (size_t j = 0; ports != NULL && j < ports->n; j++) {
            if (eq(targets->v[i], ports->v[j]))
                return true;
        }
    }
    return false;
}

static int
copy_adapter(const struct vim_hba *h, struct vim_adapters *out, struct perr *err)
{
    struct vim_adapter *grown = realloc(out->v, (out->n + 1) * sizeof(*grown));
    struct vim_adapter *a;

    if (grown == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    out->v = grown;
    a = &out->v[out->n];
    memset(a, 0, sizeof(*a));
    out->n++;
    a->name = strdup(h->name);
    a->id = strdup(h->id);
    a->driver = h->driver != NULL ? strdup(h->driver) : NULL;
    if (a->name == NULL || a->id == NULL || (h->driver != NULL && a->driver == NULL))
        return perr_set(err, PERR_NOMEM, "out of memory");
    return 0;
}

int
adapters_by_ports(const struct vim_hbas *hbas, const struct strv *fc, const struct strv *iscsi,
                  struct vim_adapters *out, struct perr *err)
{
    int rc = -1;

    memset(out, 0, sizeof(*out));
    out->protocol = "n/a";
    for (size_t i = 0; i < hbas->n; i++) {
        const struct vim_hba *h = &hbas->v[i];

        if (h->name == NULL || h->id == NULL)
            continue;
        if (!any_match(&h->fc_targets, fc, adapters_fc_port_equal) &&
            !any_match(&h->iscsi_targets, iscsi, adapters_iscsi_name_equal))
            continue;
        if (copy_adapter(h, out, err) < 0)
            goto out;
        if (out->n == 1)
            out->protocol = h->kind == VIM_HBA_FC      ? "fc"
                            : h->kind == VIM_HBA_ISCSI ? "iscsi"
                                                       : "n/a";
    }
    rc = (int)out->n;
out:
    if (rc < 0) {
        vim_adapters_clear(out);
        out->protocol = "n/a";
    }
    return rc;
}
