#include "lib/metrics.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_MAX_LABELS 6

/* Index of each family, in the order they are rendered (name order). */
enum metrics_fam {
    METRICS_FAM_COPY_DURATION,
    METRICS_FAM_PROGRESS,
    METRICS_FAM_SOURCE_DISK_BYTES,
    METRICS_FAM_ARRAY_INFO,
    METRICS_FAM_VIB_VERSION,
    METRICS_FAM_XCOPY_USED,
    METRICS_FAM_COUNT,
};

/* How a new value combines with a sample that has the same label values. */
enum metrics_op {
    METRICS_OP_SET,     /* replace the value */
    METRICS_OP_MAX,     /* keep the larger value (a counter fed with absolute readings) */
    METRICS_OP_REPLACE, /* drop every other sample of the family first */
    METRICS_OP_ONCE,    /* only when the family is still empty */
};

struct metrics_family_def {
    const char *name;
    const char *help; /* constant text without backslashes or newlines */
    const char *type;
    bool plain; /* values never in exponent form */
    size_t nlabels;
    const char *labels[METRICS_MAX_LABELS]; /* alphabetical */
};

static const struct metrics_family_def metrics_defs[METRICS_FAM_COUNT] = {
    [METRICS_FAM_COPY_DURATION] =
        {
            METRICS_PREFIX "copy_duration_seconds",
            "Seconds the copy took, set once when the populator finishes.",
            "gauge",
            true,
            6,
            {"clone_method", "owner_uid", "result", "storage_protocol", "storage_vendor",
             "xcopy_used"},
        },
    [METRICS_FAM_PROGRESS] =
        {
            METRICS_PREFIX "progress",
            "Highest copy progress reported so far, in percent.",
            "counter",
            false,
            1,
            {"owner_uid"},
        },
    [METRICS_FAM_SOURCE_DISK_BYTES] =
        {
            METRICS_PREFIX "source_disk_bytes",
            "Size of the source disk in bytes, by type (provisioned, datastore_allocated).",
            "gauge",
            false,
            5,
            {"clone_method", "owner_uid", "storage_protocol", "storage_vendor", "type"},
        },
    [METRICS_FAM_ARRAY_INFO] =
        {
            METRICS_PREFIX "storage_array_info",
            "Storage array behind the target volume (always 1).",
            "gauge",
            false,
            5,
            {"storage_array_model", "storage_array_product", "storage_array_vendor",
             "storage_array_version", "storage_vendor"},
        },
    [METRICS_FAM_VIB_VERSION] =
        {
            METRICS_PREFIX "vib_version",
            "Version of the vmkfstools wrapper VIB on the ESXi host (always 1).",
            "gauge",
            false,
            2,
            {"owner_uid", "version"},
        },
    [METRICS_FAM_XCOPY_USED] =
        {
            METRICS_PREFIX "xcopy_used",
            "Whether the storage array offloaded the copy with XCOPY (1) or not (0).",
            "gauge",
            false,
            3,
            {"clone_method", "owner_uid", "storage_vendor"},
        },
};

struct metrics_sample {
    struct metrics_sample *next;
    double value;
    size_t nvalues;
    char *values[METRICS_MAX_LABELS]; /* owned, valid UTF-8, in label order */
};

struct metrics {
    pthread_mutex_t lock;
    char *owner_uid;
    /* Each list is kept sorted by label values, so rendering is a walk. */
    struct metrics_sample *samples[METRICS_FAM_COUNT];
    int last_xcopy; /* 0 or 1 */
    bool done;
};

static void
metrics_sample_free(struct metrics_sample *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nvalues; i++)
        free(s->values[i]);
    free(s);
}

static void
metrics_samples_free(struct metrics_sample *s)
{
    while (s != NULL) {
        struct metrics_sample *next = s->next;

        metrics_sample_free(s);
        s = next;
    }
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 when the bytes are not one. */
static size_t
metrics_utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (p[1] < lo || p[1] > hi)
        return 0;
    /* A NUL terminator fails the range check, so the reads stay in bounds. */
    for (size_t i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    }
    return n;
}

/* A copy of s with every byte that is not part of valid UTF-8 replaced by
 * U+FFFD: the exposition format is UTF-8, and array model strings come from
 * vendor APIs we do not control. */
static char *
metrics_label_dup(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    char *out;
    size_t o = 0;

    if (len > (((size_t)-1) - 1) / 3)
        return NULL;
    out = malloc(len * 3 + 1);
    if (out == NULL)
        return NULL;
    while (*p != '\0') {
        size_t n = metrics_utf8_len(p);

        if (n == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            p++;
        } else {
            memcpy(out + o, p, n);
            o += n;
            p += n;
        }
    }
    out[o] = '\0';
    return out;
}

/* A detached sample for family f with copies of values (n = the family's
 * label count). */
static struct metrics_sample *
metrics_sample_new(enum metrics_fam f, const char *const *values, double value, struct perr *err)
{
    const struct metrics_family_def *def = &metrics_defs[f];
    struct metrics_sample *s = NULL, *ret = NULL;

    s = calloc(1, sizeof(*s));
    if (s == NULL)
        goto out;
    s->value = value;
    for (size_t i = 0; i < def->nlabels; i++) {
        assert(values[i] != NULL);
        s->values[i] = metrics_label_dup(values[i]);
        if (s->values[i] == NULL)
            goto out;
        s->nvalues++;
    }
    ret = s;
    s = NULL;
out:
    if (ret == NULL)
        perr_set(err, PERR_NOMEM, "metrics: out of memory for a '%s' sample", def->name);
    metrics_sample_free(s);
    return ret;
}

/* Orders samples like the Go client: label values compared in label order. */
static int
metrics_sample_cmp(const struct metrics_sample *a, const struct metrics_sample *b)
{
    for (size_t i = 0; i < a->nvalues; i++) {
        int c = strcmp(a->values[i], b->values[i]);

        if (c != 0)
            return c;
    }
    return 0;
}

/* Merges a detached sample into family f; takes ownership of s.  Must be
 * called with the lock held. */
static void
metrics_sample_merge(struct metrics *m, enum metrics_fam f, struct metrics_sample *s,
                     enum metrics_op op)
{
    struct metrics_sample **pp;

    switch (op) {
    case METRICS_OP_REPLACE:
        metrics_samples_free(m->samples[f]);
        m->samples[f] = NULL;
        break;
    case METRICS_OP_ONCE:
        if (m->samples[f] != NULL) {
            metrics_sample_free(s);
            return;
        }
        break;
    case METRICS_OP_SET:
    case METRICS_OP_MAX:
        break;
    }
    for (pp = &m->samples[f]; *pp != NULL; pp = &(*pp)->next) {
        int c = metrics_sample_cmp(*pp, s);

        if (c == 0) {
            if (op != METRICS_OP_MAX || s->value > (*pp)->value)
                (*pp)->value = s->value;
            metrics_sample_free(s);
            return;
        }
        if (c > 0)
            break;
    }
    s->next = *pp;
    *pp = s;
}

/* Builds the sample outside the lock (it allocates), then merges it. */
static int
metrics_update(struct metrics *m, enum metrics_fam f, const char *const *values, double value,
               enum metrics_op op, struct perr *err)
{
    struct metrics_sample *s;

    s = metrics_sample_new(f, values, value, err);
    if (s == NULL)
        return -1;
    pthread_mutex_lock(&m->lock);
    metrics_sample_merge(m, f, s, op);
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static const char *
metrics_or(const char *s, const char *dflt)
{
    return s != NULL && s[0] != '\0' ? s : dflt;
}

struct metrics *
metrics_new(const char *owner_uid, struct perr *err)
{
    struct metrics *m = NULL, *ret = NULL;

    assert(owner_uid != NULL);
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        goto out;
    m->owner_uid = metrics_label_dup(owner_uid);
    if (m->owner_uid == NULL)
        goto out;
    pthread_mutex_init(&m->lock, NULL);
    ret = m;
    m = NULL;
out:
    if (ret == NULL)
        perr_set(err, PERR_NOMEM, "metrics: out of memory");
    if (m != NULL)
        free(m->owner_uid);
    free(m);
    return ret;
}

void
metrics_free(struct metrics *m)
{
    if (m == NULL)
        return;
    for (size_t f = 0; f < METRICS_FAM_COUNT; f++)
        metrics_samples_free(m->samples[f]);
    pthread_mutex_destroy(&m->lock);
    free(m->owner_uid);
    free(m);
}

int
metrics_progress(struct metrics *m, double pct, struct perr *err)
{
    const char *values[] = {m->owner_uid};

    if (isnan(pct))
        return 0;
    if (pct < 0)
        pct = 0;
    if (pct > 100)
        pct = 100;
    return metrics_update(m, METRICS_FAM_PROGRESS, values, pct, METRICS_OP_MAX, err);
}

int
metrics_xcopy_used(struct metrics *m, const char *clone_method, const char *vendor, int used,
                   struct perr *err)
{
    const char *values[] = {clone_method, m->owner_uid, vendor};
    int v = used != 0 ? 1 : 0;

    if (metrics_update(m, METRICS_FAM_XCOPY_USED, values, v, METRICS_OP_SET, err) < 0)
        return -1;
    pthread_mutex_lock(&m->lock);
    m->last_xcopy = v;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

int
metrics_vib_version(struct metrics *m, const char *version, struct perr *err)
{
    const char *values[] = {m->owner_uid, metrics_or(version, "unknown")};

    return metrics_update(m, METRICS_FAM_VIB_VERSION, values, 1, METRICS_OP_REPLACE, err);
}

int
metrics_array_info(struct metrics *m, const char *vendor_cli, const char *array_vendor,
                   const char *product, const char *model, const char *version, struct perr *err)
{
    const char *values[] = {metrics_or(model, "n/a"), metrics_or(product, ""),
                            metrics_or(array_vendor, ""), metrics_or(version, "n/a"),
                            metrics_or(vendor_cli, "")};

    return metrics_update(m, METRICS_FAM_ARRAY_INFO, values, 1, METRICS_OP_REPLACE, err);
}

int
metrics_source_disk_bytes(struct metrics *m, const char *clone_method, const char *protocol,
                          const char *vendor, uint64_t provisioned, uint64_t allocated,
                          struct perr *err)
{
    const char *values[] = {clone_method, m->owner_uid, metrics_or(protocol, "n/a"), vendor, NULL};

    if (provisioned > 0) {
        values[4] = "provisioned";
        if (metrics_update(m, METRICS_FAM_SOURCE_DISK_BYTES, values, (double)provisioned,
                           METRICS_OP_SET, err) < 0)
            return -1;
    }
    if (allocated > 0) {
        values[4] = "datastore_allocated";
        if (metrics_update(m, METRICS_FAM_SOURCE_DISK_BYTES, values, (double)allocated,
                           METRICS_OP_SET, err) < 0)
            return -1;
    }
    return 0;
}

int
metrics_copy_done(struct metrics *m, const char *clone_method, const char *protocol,
                  const char *vendor, bool success, double seconds, struct perr *err)
{
    const char *values[] = {clone_method,
                            m->owner_uid,
                            success ? "success" : "failure",
                            success ? metrics_or(protocol, "n/a") : "n/a",
                            vendor,
                            NULL};
    struct metrics_sample *s;

    if (!isfinite(seconds) || seconds < 0)
        seconds = 0;
    pthread_mutex_lock(&m->lock);
    values[5] = m->last_xcopy != 0 ? "1" : "0";
    pthread_mutex_unlock(&m->lock);
    s = metrics_sample_new(METRICS_FAM_COPY_DURATION, values, seconds, err);
    if (s == NULL)
        return -1;
    pthread_mutex_lock(&m->lock);
    metrics_sample_merge(m, METRICS_FAM_COPY_DURATION, s, METRICS_OP_ONCE);
    m->done = true;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

bool
metrics_copy_is_done(struct metrics *m)
{
    bool done;

    pthread_mutex_lock(&m->lock);
    done = m->done;
    pthread_mutex_unlock(&m->lock);
    return done;
}

/*
 * Value formatting.  Go's strconv 'g' with precision -1 picks the shortest
 * digit string that parses back to the same double.  Here that string is
 * found by asking printf for 1, 2, ... 17 significant digits and keeping the
 * first that round-trips through strtod (17 always does).  The two can
 * differ only for doubles right above a power of two, where the shortest
 * candidate may lie on the narrower lower side of the rounding interval;
 * percentages, byte counts and durations are not affected in practice.
 */
struct metrics_digits {
    char d[24]; /* significant digits, no leading or trailing zeros */
    int nd;     /* number of digits */
    int dp;     /* decimal point position: value = 0.d × 10^dp */
};

/* v must be finite and > 0. */
static void
metrics_shortest(double v, struct metrics_digits *out)
{
    char tmp[40];
    const char *p;
    int exp;

    for (int prec = 0; prec <= 16; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    out->nd = 0;
    for (p = tmp; *p != 'e' && *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9' && out->nd < (int)sizeof(out->d) - 1)
            out->d[out->nd++] = *p;
    }
    exp = *p == 'e' ? (int)strtol(p + 1, NULL, 10) : 0;
    while (out->nd > 1 && out->d[out->nd - 1] == '0')
        out->nd--;
    out->d[out->nd] = '\0';
    out->dp = exp + 1;
}

/* Appends the digits as a plain decimal (Go's %f with the shortest digits). */
static int
metrics_add_fixed(struct buf *out, const struct metrics_digits *dg, struct perr *err)
{
    char s[400]; /* dp is within ±330 for a double */
    size_t o = 0;

    if (dg->dp <= 0) {
        s[o++] = '0';
        s[o++] = '.';
        for (int i = 0; i < -dg->dp; i++)
            s[o++] = '0';
        for (int i = 0; i < dg->nd; i++)
            s[o++] = dg->d[i];
    } else {
        for (int i = 0; i < dg->dp; i++)
            s[o++] = i < dg->nd ? dg->d[i] : '0';
        if (dg->nd > dg->dp) {
            s[o++] = '.';
            for (int i = dg->dp; i < dg->nd; i++)
                s[o++] = dg->d[i];
        }
    }
    return buf_add(out, s, o, err);
}

int
metrics_format_value(struct buf *out, double v, struct perr *err)
{
    struct metrics_digits dg;
    int exp;

    if (isnan(v))
        return buf_adds(out, "NaN", err);
    if (isinf(v))
        return buf_adds(out, v > 0 ? "+Inf" : "-Inf", err);
    if (v == 0)
        return buf_adds(out, "0", err);
    if (v < 0 && buf_adds(out, "-", err) < 0)
        return -1;
    metrics_shortest(fabs(v), &dg);
    exp = dg.dp - 1;
    if (exp < -4 || exp >= 6) {
        /* d[.ddd]e±XX with at least two exponent digits, as Go and C both do. */
        return buf_addf(out, err, "%c%s%.*se%c%02d", dg.d[0], dg.nd > 1 ? "." : "", dg.nd - 1,
                        dg.d + 1, exp < 0 ? '-' : '+', abs(exp));
    }
    return metrics_add_fixed(out, &dg, err);
}

int
metrics_format_plain(struct buf *out, double v, struct perr *err)
{
    struct metrics_digits dg;

    if (!isfinite(v) || v <= 0)
        return buf_adds(out, "0", err);
    metrics_shortest(v, &dg);
    return metrics_add_fixed(out, &dg, err);
}

/* A label value between double quotes, escaped as the exposition format
 * requires. */
static int
metrics_add_label_value(struct buf *out, const char *v, struct perr *err)
{
    const char *run = v;

    if (buf_adds(out, "\"", err) < 0)
        return -1;
    for (const char *p = v;; p++) {
        const char *esc = NULL;

        if (*p == '\\')
            esc = "\\\\";
        else if (*p == '"')
            esc = "\\\"";
        else if (*p == '\n')
            esc = "\\n";
        else if (*p != '\0')
            continue;
        if (buf_add(out, run, (size_t)(p - run), err) < 0)
            return -1;
        if (esc == NULL)
            break;
        if (buf_adds(out, esc, err) < 0)
            return -1;
        run = p + 1;
    }
    return buf_adds(out, "\"", err);
}

static int
metrics_render_family(const struct metrics_family_def *def, const struct metrics_sample *s,
                      struct buf *out, struct perr *err)
{
    if (s == NULL)
        return 0;
    if (buf_addf(out, err, "# HELP %s %s\n# TYPE %s %s\n", def->name, def->help, def->name,
                 def->type) < 0)
        return -1;
    for (; s != NULL; s = s->next) {
        if (buf_adds(out, def->name, err) < 0 || buf_adds(out, "{", err) < 0)
            return -1;
        for (size_t i = 0; i < def->nlabels; i++) {
            if (buf_addf(out, err, "%s%s=", i > 0 ? "," : "", def->labels[i]) < 0)
                return -1;
            if (metrics_add_label_value(out, s->values[i], err) < 0)
                return -1;
        }
        if (buf_adds(out, "} ", err) < 0)
            return -1;
        if (def->plain ? metrics_format_plain(out, s->value, err) < 0
                       : metrics_format_value(out, s->value, err) < 0)
            return -1;
        if (buf_adds(out, "\n", err) < 0)
            return -1;
    }
    return 0;
}

int
metrics_render(struct metrics *m, struct buf *out, struct perr *err)
{
    int rc = -1;

    pthread_mutex_lock(&m->lock);
    for (size_t f = 0; f < METRICS_FAM_COUNT; f++) {
        if (metrics_render_family(&metrics_defs[f], m->samples[f], out, err) < 0)
            goto out;
    }
    rc = 0;
out:
    pthread_mutex_unlock(&m->lock);
    return rc;
}
