/*
 * The registry: the one list of vendors, and everything the rest of the
 * program derives from it (name lookup, the "available: ..." error, the
 * --help and manual page vendor sections, the base-URL and NAA rules).
 * Nothing outside storage/ names a vendor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "storage/naa.h"
#include "storage/storage.h"

/* The one list of vendors, in the order --help and the manual show them. */
const struct storage_driver *const storage_drivers[] = {
    &storage_ontap,      &storage_pure,
    &storage_powerflex,  &storage_powermax,
    &storage_powerstore, &storage_primera3par,
    &storage_infinibox,  &storage_flashsystem,
    &storage_vantara,    NULL,
};

static bool
driver_named(const struct storage_driver *d, const char *name)
{
    if (strcasecmp(d->name, name) == 0)
        return true;
    for (size_t i = 0; d->aliases != NULL && d->aliases[i] != NULL; i++) {
        if (strcasecmp(d->aliases[i], name) == 0)
            return true;
    }
    return false;
}

const struct storage_driver *
storage_driver_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; storage_drivers[i] != NULL; i++) {
        if (driver_named(storage_drivers[i], name))
            return storage_drivers[i];
    }
    return NULL;
}

bool
storage_driver_built(const struct storage_driver *drv)
{
    return drv != NULL && drv->ops != NULL;
}

int
storage_driver_names(struct buf *out, bool built_only, struct perr *err)
{
    bool first = true;

    for (size_t i = 0; storage_drivers[i] != NULL; i++) {
        if (built_only && !storage_driver_built(storage_drivers[i]))
            continue;
        if (buf_addf(out, err, "%s%s", first ? "" : ", ", storage_drivers[i]->name) < 0)
            return -1;
        first = false;
    }
    return 0;
}

int
storage_driver_lookup(const char *name, const struct storage_driver **out, struct perr *err)
{
    struct buf names = {0};
    struct perr tmp = {0};
    const struct storage_driver *d = storage_driver_find(name);

    *out = NULL;
    if (storage_driver_built(d)) {
        *out = d;
        return 0;
    }
    storage_driver_names(&names, d != NULL, &tmp);
    if (d != NULL)
        perr_set(err, PERR_UNSUPPORTED,
                 "storage vendor '%s' is not supported by this build yet (available: %s)", d->name,
                 buf_cstr(&names));
    else
        perr_set(err, PERR_USAGE, "unknown storage vendor '%s'; valid: %s",
                 name != NULL ? name : "", buf_cstr(&names));
    buf_free(&names);
    return -1;
}

/* Appends s with mdoc's escape character escaped. */
static int
man_text(struct buf *out, const char *s, struct perr *err)
{
    for (; *s != '\0'; s++) {
        int rc = *s == '\\' ? buf_adds(out, "\\e", err) : buf_add(out, s, 1, err);

        if (rc < 0)
            return -1;
    }
    return 0;
}

/* One line per "; "-separated part (mdoc wants short source lines), ending
 * with a full stop. */
static int
man_lines(struct buf *out, const char *s, struct perr *err)
{
    struct buf part = {0};
    int rc = 0;

    while (rc == 0 && *s != '\0') {
        const char *semi = strstr(s, "; ");
        size_t len = semi != NULL ? (size_t)(semi - s) + 1 : strlen(s);

        buf_reset(&part);
        rc = buf_add(&part, s, len, err) < 0 || man_text(out, buf_cstr(&part), err) < 0 ||
                     buf_adds(out, semi != NULL ? "\n" : ".\n", err) < 0
                 ? -1
                 : 0;
        s += len + (semi != NULL ? 1 : 0);
    }
    buf_free(&part);
    return rc;
}

int
storage_drivers_man(struct buf *out, struct perr *err)
{
    if (buf_adds(out, ".Bl -tag -width Ds\n", err) < 0)
        return -1;
    for (size_t i = 0; storage_drivers[i] != NULL; i++) {
        const struct storage_driver *d = storage_drivers[i];

        if (buf_addf(out, err, ".It Cm %s\n%s %s%s\n", d->name, d->vendor, d->product,
                     storage_driver_built(d) ? ":" : " (not supported by this build yet):") < 0 ||
            man_lines(out, d->summary != NULL ? d->summary : "", err) < 0)
            return -1;
        for (size_t k = 0; d->aliases != NULL && d->aliases[k] != NULL; k++) {
            if (buf_addf(out, err, "Also accepted as\n.Cm %s .\n", d->aliases[k]) < 0)
                return -1;
        }
        for (size_t k = 0; d->env_keys != NULL && d->env_keys[k].key != NULL; k++) {
            if (buf_addf(out, err, "%s\n.Ev %s :\n", k == 0 ? ".Pp" : ".br", d->env_keys[k].key) <
                    0 ||
                man_text(out, d->env_keys[k].help, err) < 0 || buf_adds(out, "\n", err) < 0)
                return -1;
        }
    }
    return buf_adds(out, ".El\n", err);
}

int
storage_drivers_help(struct buf *out, struct perr *err)
{
    for (size_t i = 0; storage_drivers[i] != NULL; i++) {
        const struct storage_driver *d = storage_drivers[i];

        if (buf_addf(out, err, "  %-16s %s %s%s\n", d->name, d->vendor, d->product,
                     storage_driver_built(d) ? "" : " (not in this build yet)") < 0)
            return -1;
        for (size_t k = 0; d->env_keys != NULL && d->env_keys[k].key != NULL; k++) {
            if (buf_addf(out, err, "      %-26s %s\n", d->env_keys[k].key, d->env_keys[k].help) < 0)
                return -1;
        }
    }
    return 0;
}

/* ---- base URL and NAA rules ---- */

static const char *
kv_get(const struct storage_kv *env, size_t n, const char *key)
{
    for (size_t i = 0; key != NULL && i < n; i++) {
        if (env[i].key != NULL && strcmp(env[i].key, key) == 0)
            return env[i].value;
    }
    return NULL;
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The first dotted-quad IPv4 address in s, into ip, or false.  Vantara
 * accepts STORAGE_HOSTNAME in any shape that holds one ("https://10.0.0.5/",
 * "10.0.0.5:443"), so the address is searched for, not parsed from a URL. */
static bool
first_ipv4(const char *s, char ip[16], char port[8])
{
    port[0] = '\0';
    for (const char *p = s; *p != '\0'; p++) {
        unsigned a, b, c, d;
        int n = 0;

        if ((p != s && is_digit(p[-1])) || !is_digit(*p))
            continue;
        if (sscanf(p, "%3u.%3u.%3u.%3u%n", &a, &b, &c, &d, &n) == 4 && a < 256 && b < 256 &&
            c < 256 && d < 256 && !is_digit(p[n]) && p[n] != '.') {
            snprintf(ip, 16, "%u.%u.%u.%u", a, b, c, d);
            if (p[n] == ':' && strspn(p + n + 1, "0123456789") > 0 &&
                strspn(p + n + 1, "0123456789") < 8)
                snprintf(port, 8, "%.*s", (int)strspn(p + n + 1, "0123456789"), p + n + 1);
            return true;
        }
    }
    return false;
}

int
storage_hostname_check(const char *hostname, struct perr *err)
{
    if (hostname == NULL || hostname[0] == '\0')
        return perr_set(err, PERR_USAGE, "no storage hostname given (STORAGE_HOSTNAME)");
    if (strpbrk(hostname, " \t\r\n") != NULL)
        return perr_set(err, PERR_USAGE, "STORAGE_HOSTNAME '%s' contains white space", hostname);
    /* The array's credentials would cross the network in clear text; no
     * setting turns that on (vCenter refuses http:// the same way). */
    if (strncasecmp(hostname, "http://", 7) == 0)
        return perr_set(err, PERR_USAGE,
                        "STORAGE_HOSTNAME '%s': http:// would send the array credentials in "
                        "clear text; use https://",
                        hostname);
    if (strncasecmp(hostname, "https://", 8) != 0 && strstr(hostname, "://") != NULL)
        return perr_set(err, PERR_USAGE, "STORAGE_HOSTNAME '%s': only https:// is supported",
                        hostname);
    return 0;
}

int
storage_base_url(const struct storage_driver *drv, const char *hostname,
                 const struct storage_kv *env, size_t nenv, struct buf *out, struct perr *err)
{
    const struct storage_url *u = &drv->url;
    const char *rest = hostname;
    const char *scheme = "https://";
    size_t len;

    if (storage_hostname_check(hostname, err) < 0)
        return -1;
    if (strncasecmp(hostname, "https://", 8) == 0) {
        rest = hostname + 8;
        scheme = "";
    }
    if (rest[0] == '\0' || rest[0] == '/')
        return perr_set(err, PERR_USAGE, "STORAGE_HOSTNAME '%s' has no host name", hostname);
    len = strlen(hostname);
    switch (u->rule) {
    case STORAGE_URL_HOST:
        return buf_addf(out, err, "%s%s", scheme, hostname);
    case STORAGE_URL_STRIP_API:
        while (len > 0 && hostname[len - 1] == '/')
            len--;
        /* Only a path "/api" at the very end; never a host that starts "api". */
        if (hostname + len - rest > 4 && strncmp(hostname + len - 4, "/api", 4) == 0)
            len -= 4;
        return buf_addf(out, err, "%s%.*s", scheme, (int)len, hostname);
    case STORAGE_URL_SUFFIX:
        while (len > 0 && hostname[len - 1] == '/')
            len--;
        return buf_addf(out, err, "%s%.*s%s", scheme, (int)len, hostname,
                        u->path != NULL ? u->path : "");
    case STORAGE_URL_BARE_HOST: {
        /* The host and an explicit ":port" are kept (a gateway, a tunnel, the
         * simulated array); any path goes; a bare host gets the default port. */
        size_t hlen = rest[0] == '[' ? strcspn(rest, "]") + 1 : strcspn(rest, "/:");
        bool has_port = rest[hlen] == ':' && rest[hlen + 1] != '\0' && rest[hlen + 1] != '/';

        len = has_port ? hlen + strcspn(rest + hlen, "/") : hlen;
        if (has_port)
            return buf_addf(out, err, "https://%.*s%s", (int)len, rest,
                            u->path != NULL ? u->path : "");
        return buf_addf(out, err, "https://%.*s%s%s%s", (int)len, rest, u->port != NULL ? ":" : "",
                        u->port != NULL ? u->port : "", u->path != NULL ? u->path : "");
    }
    case STORAGE_URL_FIRST_IPV4: {
        char ip[16];
        char explicit_port[8];
        const char *port = kv_get(env, nenv, u->port_key);

        if (!first_ipv4(hostname, ip, explicit_port))
            return perr_set(err, PERR_USAGE, "STORAGE_HOSTNAME '%s' holds no IPv4 address",
                            hostname);
        /* The port key wins; without it, an explicit "ip:port" is used. */
        if ((port == NULL || port[0] == '\0') && explicit_port[0] != '\0')
            port = explicit_port;
        if (port == NULL || port[0] == '\0')
            port = u->port;
        if (port == NULL)
            return perr_set(err, PERR_USAGE, "%s is not set", u->port_key);
        if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 || atol(port) < 1 ||
            atol(port) > 65535)
            return perr_set(err, PERR_USAGE, "%s '%s' is not a port number",
                            u->port_key != NULL ? u->port_key : "port", port);
        return buf_addf(out, err, "https://%s:%s%s", ip, port, u->path != NULL ? u->path : "");
    }
    }
    return perr_set(err, PERR_INTERNAL, "unknown URL rule");
}

int
storage_naa(const struct storage_driver *drv, const char *value, char **out, struct perr *err)
{
    const struct storage_naa *n = &drv->naa;

    *out = NULL;
    if (value == NULL || value[0] == '\0')
        return perr_set(err, PERR_PROTOCOL, "the array reported no serial number or WWN");
    if (n->serial_len != 0 && strlen(value) != n->serial_len)
        return perr_set(err, PERR_PROTOCOL, "serial number '%s' is not %zu characters long", value,
                        n->serial_len);
    switch (n->rule) {
    case STORAGE_NAA_ASCII_SERIAL:
        return naa_from_ascii_serial(n->oui, value, out, err);
    case STORAGE_NAA_HEX_SERIAL:
        return naa_from_hex_serial(n->oui, value, out, err);
    case STORAGE_NAA_WWN:
        return naa_from_wwn(value, out, err);
    case STORAGE_NAA_DRIVER:
        break;
    }
    return perr_set(err, PERR_INTERNAL, "the %s driver computes its device names itself",
                    drv->name);
}
