#include "lib/strv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int
strv_take(struct strv *sv, char *s, struct perr *err)
{
    char **v;

    if (s == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    if (sv->n > ((size_t)-1) / sizeof(*v) - 2) {
        free(s);
        return perr_set(err, PERR_NOMEM, "string vector too large");
    }
    v = realloc(sv->v, (sv->n + 2) * sizeof(*v));
    if (v == NULL) {
        free(s);
        return perr_set(err, PERR_NOMEM, "out of memory");
    }
    v[sv->n++] = s;
    v[sv->n] = NULL;
    sv->v = v;
    return 0;
}

int
strv_add(struct strv *sv, const char *s, struct perr *err)
{
    return strv_take(sv, strdup(s), err);
}

int
strv_addf(struct strv *sv, struct perr *err, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return perr_set(err, PERR_NOMEM, "out of memory");
    return strv_take(sv, s, err);
}

bool
strv_contains(const struct strv *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++) {
        if (strcmp(sv->v[i], s) == 0)
            return true;
    }
    return false;
}

bool
strv_contains_nocase(const struct strv *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++) {
        if (strcasecmp(sv->v[i], s) == 0)
            return true;
    }
    return false;
}

int
strv_join(const struct strv *sv, const char *sep, struct buf *out, struct perr *err)
{
    for (size_t i = 0; i < sv->n; i++) {
        if (i > 0 && buf_adds(out, sep, err) < 0)
            return -1;
        if (buf_adds(out, sv->v[i], err) < 0)
            return -1;
    }
    return 0;
}

void
strv_free(struct strv *sv)
{
    if (sv == NULL)
        return;
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}
