/*
 * Vendor-neutral NAA and initiator helpers; each vendor's rule (its OUI,
 * its serial length) is data in its driver descriptor.
 */
#include "storage/naa.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"

#define DISKS_DIR "/vmfs/devices/disks/"

enum initiator_proto
initiator_proto(const char *id)
{
    if (id == NULL)
        return INITIATOR_UNKNOWN;
    if (strncasecmp(id, "fc.", 3) == 0 || strncmp(id, "20", 2) == 0)
        return INITIATOR_FC;
    if (strncasecmp(id, "iqn.", 4) == 0 || strncasecmp(id, "eui.", 4) == 0 ||
        strncasecmp(id, "nqn.", 4) == 0)
        return INITIATOR_ISCSI;
    return INITIATOR_UNKNOWN;
}

const char *
initiator_proto_name(enum initiator_proto p)
{
    switch (p) {
    case INITIATOR_ISCSI:
        return "iscsi";
    case INITIATOR_FC:
        return "fc";
    case INITIATOR_UNKNOWN:
        break;
    }
    return "unknown";
}

static bool
all_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

static void
copy_upper(char *dst, const char *src, size_t len)
{
    for (size_t i = 0; i < len; i++)
        dst[i] = (char)toupper((unsigned char)src[i]);
    dst[len] = '\0';
}

static int
check_half(const char *id, const char *what, const char *s, size_t len, struct perr *err)
{
    if (len % 2 != 0)
        return perr_set(err, PERR_USAGE, "FC adapter id '%s': %s has odd length", id, what);
    if (len > WWN_HEX_MAX)
        return perr_set(err, PERR_USAGE, "FC adapter id '%s': %s is longer than %d hex digits", id,
                        what, WWN_HEX_MAX);
    if (!all_hex(s, len))
        return perr_set(err, PERR_USAGE, "FC adapter id '%s': %s contains non-hex characters", id,
                        what);
    return 0;
}

int
initiator_parse_fc(const char *id, char *wwnn, char *wwpn, struct perr *err)
{
    const char *rest;
    const char *colon;
    size_t nlen;
    size_t plen;

    if (wwnn != NULL)
        wwnn[0] = '\0';
    if (wwpn != NULL)
        wwpn[0] = '\0';
    if (strncasecmp(id, "fc.", 3) != 0)
        return perr_set(err, PERR_USAGE, "FC adapter id '%s' doesn't start with 'fc.'", id);
    rest = id + 3;
    colon = strchr(rest, ':');
    if (colon == NULL || strchr(colon + 1, ':') != NULL)
        return perr_set(err, PERR_USAGE,
                        "FC adapter id '%s' is not in expected fc.WWNN:WWPN format", id);
    nlen = (size_t)(colon - rest);
    plen = strlen(colon + 1);
    if (nlen == 0 || plen == 0)
        return perr_set(err, PERR_USAGE, "FC adapter id '%s' has empty WWNN or WWPN", id);
    if (check_half(id, "WWNN", rest, nlen, err) < 0 ||
        check_half(id, "WWPN", colon + 1, plen, err) < 0)
        return -1;
    if (wwnn != NULL)
        copy_upper(wwnn, rest, nlen);
    if (wwpn != NULL)
        copy_upper(wwpn, colon + 1, plen);
    return 0;
}

/* Hex digits of s with ':', '-' and spaces dropped, upper-cased, into out
 * (size n).  Returns the digit count, or -1 when s has another character or
 * more digits than fit. */
static int
wwn_strip(const char *s, char *out, size_t n)
{
    size_t o = 0;

    for (; *s != '\0'; s++) {
        if (*s == ':' || *s == '-' || *s == ' ')
            continue;
        if (o + 1 >= n)
            return -1;
        out[o++] = (char)toupper((unsigned char)*s);
    }
    out[o] = '\0';
    return (int)o;
}

int
initiator_fc_wwpn(const char *id, enum wwn_form form, char *out, size_t n, struct perr *err)
{
    char hex[WWN_HEX_MAX + 1];
    int len;

    if (n > 0)
        out[0] = '\0';
    if (strncasecmp(id, "fc.", 3) == 0) {
        if (initiator_parse_fc(id, NULL, hex, err) < 0)
            return -1;
    } else {
        len = wwn_strip(id, hex, sizeof(hex));
        if (len != WWN_HEX_MAX || !all_hex(hex, (size_t)len))
            return perr_set(err, PERR_USAGE,
                            "initiator '%s' is neither fc.WWNN:WWPN nor a 16-digit WWN", id);
    }
    wwn_format(hex, form, out, n);
    return 0;
}

void
wwn_format(const char *hex, enum wwn_form form, char *out, size_t n)
{
    bool colons = form == WWN_UPPER_COLON || form == WWN_LOWER_COLON;
    bool upper = form == WWN_UPPER_COLON || form == WWN_UPPER_PLAIN;
    size_t o = 0;

    if (n == 0)
        return;
    for (size_t i = 0; hex[i] != '\0'; i++) {
        if (colons && i > 0 && i % 2 == 0) {
            if (o + 1 >= n)
                break;
            out[o++] = ':';
        }
        if (o + 1 >= n)
            break;
        out[o++] = (char)(upper ? toupper((unsigned char)hex[i]) : tolower((unsigned char)hex[i]));
    }
    out[o] = '\0';
}

bool
wwn_equal(const char *a, const char *b)
{
    char x[64];
    char y[64];

    if (a == NULL || b == NULL)
        return false;
    if (wwn_strip(a, x, sizeof(x)) < 0 || wwn_strip(b, y, sizeof(y)) < 0)
        return false;
    return strcmp(x, y) == 0;
}

bool
initiator_equal(const char *a, const char *b)
{
    char pa[WWN_BUF_SIZE];
    char pb[WWN_BUF_SIZE];
    struct perr tmp = {0};

    if (a == NULL || b == NULL)
        return false;
    if (initiator_proto(a) == INITIATOR_FC || initiator_proto(b) == INITIATOR_FC) {
        if (initiator_fc_wwpn(a, WWN_UPPER_PLAIN, pa, sizeof(pa), &tmp) < 0)
            snprintf(pa, sizeof(pa), "%s", a);
        perr_clear(&tmp);
        if (initiator_fc_wwpn(b, WWN_UPPER_PLAIN, pb, sizeof(pb), &tmp) < 0)
            snprintf(pb, sizeof(pb), "%s", b);
        return wwn_equal(pa, pb);
    }
    return strcasecmp(a, b) == 0;
}

static int
naa_dup(const char *prefix, const char *tail, char **out, struct perr *err)
{
    size_t pl = strlen(prefix);
    size_t tl = strlen(tail);

    *out = malloc(pl + tl + 1);
    if (*out == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    memcpy(*out, prefix, pl);
    for (size_t i = 0; i < tl; i++)
        (*out)[pl + i] = (char)tolower((unsigned char)tail[i]);
    (*out)[pl + tl] = '\0';
    return 0;
}

/* Every NAA the arrays here produce is a 16-byte (32 hex digit) id. */
#define NAA_HEX_LEN 32

static int
naa_check_oui(const char *oui, struct perr *err)
{
    if (oui == NULL || strlen(oui) >= NAA_HEX_LEN || !all_hex(oui, strlen(oui)))
        return perr_set(err, PERR_INTERNAL, "bad NAA OUI '%s'", oui != NULL ? oui : "");
    return 0;
}

int
naa_from_ascii_serial(const char *oui, const char *serial, char **out, struct perr *err)
{
    static const char digits[] = "0123456789abcdef";
    char hex[NAA_HEX_LEN + 1];
    size_t len = serial != NULL ? strlen(serial) : 0;
    size_t ol = oui != NULL ? strlen(oui) : 0;

    *out = NULL;
    if (naa_check_oui(oui, err) < 0)
        return -1;
    if (len == 0 || ol + 2 * len != NAA_HEX_LEN)
        return perr_set(err, PERR_PROTOCOL, "serial number '%s' is not %zu characters long",
                        serial != NULL ? serial : "", (NAA_HEX_LEN - ol) / 2);
    memcpy(hex, oui, ol);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)serial[i];

        if (c < 0x21 || c > 0x7e)
            return perr_set(err, PERR_PROTOCOL, "serial number '%s' has a non-printable character",
                            serial);
        hex[ol + 2 * i] = digits[c >> 4];
        hex[ol + 2 * i + 1] = digits[c & 0xf];
    }
    hex[NAA_HEX_LEN] = '\0';
    return naa_dup("naa.", hex, out, err);
}

int
naa_from_hex_serial(const char *oui, const char *serial, char **out, struct perr *err)
{
    size_t len = serial != NULL ? strlen(serial) : 0;
    struct buf b = {0};
    int rc;

    *out = NULL;
    if (naa_check_oui(oui, err) < 0)
        return -1;
    if (strlen(oui) + len != NAA_HEX_LEN || !all_hex(serial, len))
        return perr_set(err, PERR_PROTOCOL, "serial number '%s' is not %zu hex digits",
                        serial != NULL ? serial : "", NAA_HEX_LEN - strlen(oui));
    rc = buf_addf(&b, err, "%s%s", oui, serial) < 0 ? -1 : naa_dup("naa.", buf_cstr(&b), out, err);
    buf_free(&b);
    return rc;
}

int
naa_from_wwn(const char *wwn, char **out, struct perr *err)
{
    char hex[NAA_HEX_LEN + 1];
    size_t n = 0;
    const char *s = wwn != NULL ? wwn : "";

    *out = NULL;
    if (strncasecmp(s, "naa.", 4) == 0)
        s += 4;
    for (; *s != '\0'; s++) {
        if (*s == ':' || *s == '-' || *s == ' ')
            continue;
        if (!isxdigit((unsigned char)*s) || n == NAA_HEX_LEN)
            return perr_set(err, PERR_PROTOCOL, "WWN '%s' is not 16 or 32 hex digits",
                            wwn != NULL ? wwn : "");
        hex[n++] = *s;
    }
    hex[n] = '\0';
    if (n != 16 && n != NAA_HEX_LEN)
        return perr_set(err, PERR_PROTOCOL, "WWN '%s' is not 16 or 32 hex digits",
                        wwn != NULL ? wwn : "");
    return naa_dup("naa.", hex, out, err);
}

int
naa_from_vml(const char *vml, char **out, struct perr *err)
{
    const char *s = vml;

    *out = NULL;
    if (s == NULL)
        return perr_set(err, PERR_USAGE, "no device name");
    if (strncmp(s, DISKS_DIR, strlen(DISKS_DIR)) == 0)
        s += strlen(DISKS_DIR);
    if (strlen(s) < 4 + 10 + NAA_HEX_LEN || strncasecmp(s, "vml.", 4) != 0 ||
        !all_hex(s + 4, 10 + NAA_HEX_LEN))
        return perr_set(err, PERR_USAGE, "device '%s' is not a vml. name with an NAA id", s);
    {
        char hex[NAA_HEX_LEN + 1];

        memcpy(hex, s + 4 + 10, NAA_HEX_LEN);
        hex[NAA_HEX_LEN] = '\0';
        return naa_dup("naa.", hex, out, err);
    }
}

static int
serial_dup_upper(const char *s, size_t len, char **out, struct perr *err)
{
    *out = malloc(len + 1);
    if (*out == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    copy_upper(*out, s, len);
    return 0;
}

int
naa_serial_from_device(const char *device, const char *oui, const char *what, char **out,
                       struct perr *err)
{
    const char *name = device != NULL ? device : "";
    char *vnaa = NULL;
    const char *p;
    size_t len;
    int rc = -1;

    *out = NULL;
    if (strncmp(name, DISKS_DIR, strlen(DISKS_DIR)) == 0)
        name += strlen(DISKS_DIR);
    if (strncasecmp(name, "vml.", 4) == 0) {
        struct perr tmp = {0};

        /* A vml alias carries the 16-byte NAA id at a fixed place. */
        if (naa_from_vml(name, &vnaa, &tmp) < 0) {
            perr_set(err, PERR_USAGE, "device '%s' does not appear to be a %s device", device,
                     what);
            goto out;
        }
        name = vnaa;
    }
    if (strlen(name) < 4 || strncasecmp(name, "naa.", 4) != 0 ||
        strncasecmp(name + 4, oui, strlen(oui)) != 0) {
        perr_set(err, PERR_USAGE, "device '%s' does not appear to be a %s device", device, what);
        goto out;
    }
    p = name + 4 + strlen(oui);
    len = strlen(p);
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)p[i]))
            len = 0;
    }
    if (len == 0) {
        perr_set(err, PERR_USAGE, "could not extract serial from device '%s'", device);
        goto out;
    }
    rc = serial_dup_upper(p, len, out, err);
out:
    free(vnaa);
    return rc;
}
