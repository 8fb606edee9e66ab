#include "lib/jsonx.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int
jsonx_parse(const char *text, size_t len, json_t **out, struct perr *err)
{
    json_error_t jerr;

    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (*out == NULL)
        return perr_set(err, PERR_PROTOCOL, "malformed JSON at line %d column %d: %s", jerr.line,
                        jerr.column, jerr.text);
    return 0;
}

int
jsonx_unpack(json_t *root, const char *what, struct perr *err, const char *fmt, ...)
{
    json_error_t jerr;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = json_vunpack_ex(root, &jerr, 0, fmt, ap);
    va_end(ap);
    if (rc < 0)
        return perr_set(err, PERR_PROTOCOL, "unexpected %s: %s", what, jerr.text);
    return 0;
}

int
jsonx_strdup(json_t *obj, const char *key, char **out, struct perr *err)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

    *out = NULL;
    if (!json_is_string(v))
        return perr_set(err, PERR_PROTOCOL, "missing string field '%s'", key);
    *out = strdup(json_string_value(v));
    if (*out == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    return 0;
}

const char *
jsonx_string_or(json_t *obj, const char *key, const char *def)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

    return json_is_string(v) ? json_string_value(v) : def;
}

json_t *
jsonx_seconds(int64_t ms)
{
    /* ms / 1000.0 is the double nearest to the 3-decimal value, which 15
     * significant digits print back exactly. */
    return json_real((double)ms / 1000.0);
}

int
jsonx_dump(json_t *v, struct buf *out, struct perr *err)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    int rc;

    if (s == NULL)
        return perr_set(err, PERR_NOMEM, "cannot serialise JSON");
    rc = buf_adds(out, s, err);
    free(s);
    return rc;
}
