/*
 * IBM FlashSystem / Storage Virtualize driver: the REST API on port 7443
 * under /rest/v1, which runs CLI commands: every call is a POST to
 * /<command>[/<object>] with the command's flags as a JSON object, lists
 * answer JSON arrays of rows whose values are all strings, and failures
 * answer the CLI's "CMMVCnnnnE <text>" (as HTTP 500 on the arrays IBM's own
 * client was written for, as 409 on others): errors are matched on that code,
 * never on the status.
 *
 * Session: POST /auth with X-Auth-Username / X-Auth-Password headers answers
 * {"token"}; every later call sends X-Auth-Token.  401 and 403 (an expired
 * token) log in again once.  429 (the array's request rate limit) is retried
 * with backoff on any command: the array refused it before running it.
 *
 * Token cache: in pod mode the token is shared by the populator pods of a
 * migration through key flashsystem-token-<host> of the Secret
 * storage-array-secret (in HOST_LEASE_NAMESPACE) as {"token","updatedAt"},
 * because the array limits the tokens a user may hold.  The cache is an
 * optimisation: any trouble with it is logged at debug and the run goes on
 * with its own login.
 *
 * Hosts: the ESXi host object is the one holding an ESXi initiator
 * (lshostports), else the one named like the group, else one created by
 * mkhost (FC preferred; a host speaks one protocol).  Mapping and unmapping
 * name the host, which the CLI accepts as well as its id.  A host this run
 * created stays for the handle's lifetime and is removed at close when
 * nothing is mapped to it (also after a failure before the map).
 *
 * Volume protection (vdisk_protection_enabled on the volume's pool) makes the
 * array refuse to unmap a volume that saw I/O recently, which would leave the
 * copy's mapping behind: the pool is checked before anything is mapped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/deadline.h"
#include "lib/jsonx.h"
#include "lib/kube_secret.h"
#include "lib/log.h"
#include "lib/rest.h"
#include "storage/reconcile.h"
#include "storage/storage.h"

#define FS_COMP         "storage.flashsystem"
#define FS_CACHE_SECRET "storage-array-secret"
#define FS_CACHE_PREFIX "flashsystem-token-"
#define FS_UID_LEN      32
/* vSphere's RDM LUN UUID: 10 hex digits, then the 32-digit NAA id. */
#define FS_LUN_UUID_SKIP 10
/* FlashCopy background copy rate (the array's default is 50). */
#define FS_COPYRATE 100
/* A FlashCopy of a large volume may run for hours; it is polled, not timed. */
#define FS_FCMAP_DEADLINE_MS (24L * 3600 * 1000)

struct fs {
    char *cache_key;    /* flashsystem-token-<host>, NULL without a cluster */
    char *token;        /* secret: the token last used, to tell a renewed one */
    bool cache_read;    /* open already read the cache for the first login */
    char *created_host; /* the host this run made, removed when empty */
};

static struct fs *
fs_of(struct storage *st)
{
    return storage_priv(st);
}

/* ---- endpoints (CLI commands under /rest/v1) ---- */

static const struct rest_endpoint fs_ep_auth = {
    .name = "auth",
    .method = "POST",
    .path = "/auth",
    .ok = {200},
    .flags = REST_F_NO_AUTH | REST_F_RETRY,
};

static const struct rest_endpoint fs_ep_lssystem = {
    .name = "lssystem", .method = "POST", .path = "/lssystem", .ok = {200}, .flags = REST_F_RETRY};
static const struct rest_endpoint fs_ep_lsvdisk = {
    .name = "lsvdisk", .method = "POST", .path = "/lsvdisk", .ok = {200}, .flags = REST_F_RETRY};
static const struct rest_endpoint fs_ep_lsmdiskgrp = {.name = "lsmdiskgrp",
                                                      .method = "POST",
                                                      .path = "/lsmdiskgrp/{id}",
                                                      .ok = {200},
                                                      .flags = REST_F_RETRY};
static const struct rest_endpoint fs_ep_lshostports = {.name = "lshostports",
                                                       .method = "POST",
                                                       .path = "/lshostports",
                                                       .ok = {200},
                                                       .flags = REST_F_RETRY};
static const struct rest_endpoint fs_ep_lshost = {
    .name = "lshost", .method = "POST", .path = "/lshost", .ok = {200}, .flags = REST_F_RETRY};

/* "The object already exists" (someone made the host meanwhile). */
static const struct rest_endpoint fs_ep_mkhost = {
    .name = "mkhost",
    .method = "POST",
    .path = "/mkhost",
    .ok = {200, 201},
    .already_code = PERR_CONFLICT,
};

static const struct rest_endpoint fs_ep_addhostport = {
    .name = "addhostport", .method = "POST", .path = "/addhostport/{host}", .ok = {200, 201}};
static const struct rest_endpoint fs_ep_rmhost = {
    .name = "rmhost", .method = "POST", .path = "/rmhost/{host}", .ok = {200, 204}};

/* CMMVC5878E: the volume is already mapped to this host. */
static const struct rest_endpoint fs_ep_mkmap = {
    .name = "mkvdiskhostmap",
    .method = "POST",
    .path = "/mkvdiskhostmap/{vdisk}",
    .ok = {200, 201},
    .already_code = PERR_CONFLICT,
};

/* A mapping (or host) that does not exist is already gone. */
static const struct rest_endpoint fs_ep_rmmap = {
    .name = "rmvdiskhostmap",
    .method = "POST",
    .path = "/rmvdiskhostmap/{vdisk}",
    .ok = {200, 204},
    .already_code = PERR_NOT_FOUND,
};

static const struct rest_endpoint fs_ep_lshostvdiskmap = {.name = "lshostvdiskmap",
                                                          .method = "POST",
                                                          .path = "/lshostvdiskmap/{host}",
                                                          .ok = {200},
                                                          .flags = REST_F_RETRY};
static const struct rest_endpoint fs_ep_lsvdiskhostmap = {.name = "lsvdiskhostmap",
                                                          .method = "POST",
                                                          .path = "/lsvdiskhostmap/{vdisk}",
                                                          .ok = {200},
                                                          .flags = REST_F_RETRY};

static const struct rest_endpoint fs_ep_lsfcmaps = {
    .name = "lsfcmap", .method = "POST", .path = "/lsfcmap", .ok = {200}, .flags = REST_F_RETRY};
static const struct rest_endpoint fs_ep_lsfcmap = {.name = "lsfcmap-get",
                                                   .method = "POST",
                                                   .path = "/lsfcmap/{id}",
                                                   .ok = {200},
                                                   .flags = REST_F_RETRY};
static const struct rest_endpoint fs_ep_mkfcmap = {
    .name = "mkfcmap", .method = "POST", .path = "/mkfcmap", .ok = {200}};
static const struct rest_endpoint fs_ep_prestartfcmap = {
    .name = "prestartfcmap", .method = "POST", .path = "/prestartfcmap/{id}", .ok = {200}};
static const struct rest_endpoint fs_ep_startfcmap = {
    .name = "startfcmap", .method = "POST", .path = "/startfcmap/{id}", .ok = {200}};
static const struct rest_endpoint fs_ep_stopfcmap = {
    .name = "stopfcmap", .method = "POST", .path = "/stopfcmap/{id}", .ok = {200}};
static const struct rest_endpoint fs_ep_rmfcmap = {
    .name = "rmfcmap", .method = "POST", .path = "/rmfcmap/{id}", .ok = {200, 204}};

/* ---- dialect ---- */

/* The CLI codes the driver acts on; everything else keeps the status's code. */
static const struct rest_error_rule fs_error_rules[] = {
    {.code = "CMMVC5878E", .to = PERR_CONFLICT},  /* already mapped to this host */
    {.code = "CMMVC6035E", .to = PERR_CONFLICT},  /* the object already exists */
    {.code = "CMMVC5753E", .to = PERR_NOT_FOUND}, /* no such object */
    {.code = "CMMVC5842E", .to = PERR_NOT_FOUND}, /* a named object does not exist */
    {.code = "CMMVC5804E", .to = PERR_NOT_FOUND}, /* no such object (older releases) */
    {0},
};

static const char *const fs_login_headers[] = {
    "X-Auth-Username: {user}",
    "X-Auth-Password: {password}",
    NULL,
};

static int fs_login(struct rest *r, struct perr *err);

static const struct rest_session fs_session = {
    .login = &fs_ep_auth,
    .login_headers = fs_login_headers,
    .from = REST_TOKEN_JSON,
    .token_name = "token",
    .send = "X-Auth-Token: %s",
    .relogin = REST_RELOGIN_401 | REST_RELOGIN_403,
};

static const struct rest_dialect fs_dialect = {
    .base_path = "",
    .session = &fs_session,
    .errors = {.code_prefix = "CMMVC", .rules = fs_error_rules},
    /* 429: refused before it ran, so any command may be sent again; a
     * gateway's 502-504 only for the list commands (REST_F_RETRY).  Three
     * retries from 1 s doubling, with jitter. */
    .retry = {.statuses = {429, 502, 503, 504},
              .refused = {429},
              .attempts = 3,
              .initial_ms = 1000,
              .max_ms = 4000,
              .jitter = 0.5},
    .login = fs_login,
};

/* ---- token cache ---- */

/* The cached token, or NULL (nothing cached, or any trouble: logged). */
static char *
fs_cache_get(struct storage *st, struct fs *p)
{
    struct perr tmp = {0};
    char *raw = NULL;
    char *tok = NULL;
    json_t *doc = NULL;
    const char *t;

    if (p->cache_key == NULL)
        return NULL;
    if (kube_secret_get_key(storage_kube(st), storage_kube_namespace(st), FS_CACHE_SECRET,
                            p->cache_key, &raw, &tmp) < 0) {
        log_debug(FS_COMP, "token cache unreadable", "error", tmp.msg, NULL);
        return NULL;
    }
    if (raw == NULL)
        return NULL;
    if (jsonx_parse(raw, strlen(raw), &doc, &tmp) < 0) {
        log_debug(FS_COMP, "token cache entry malformed", "key", p->cache_key, NULL);
    } else if ((t = jsonx_string_or(doc, "token", NULL)) != NULL && t[0] != '\0') {
        tok = strdup(t);
        if (tok != NULL)
            log_add_secret(tok);
    }
    json_decref(doc);
    str_free_secret(raw);
    return tok;
}

static void
fs_cache_put(struct storage *st, struct fs *p, const char *token)
{
    struct perr tmp = {0};
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    json_t *doc = NULL;
    char *text = NULL;

    if (p->cache_key == NULL)
        return;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    doc = json_pack("{s:s, s:s}", "token", token, "updatedAt", when);
    text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (text == NULL)
        log_debug(FS_COMP, "token cache not written", "error", "out of memory", NULL);
    else if (kube_secret_set_key(storage_kube(st), storage_kube_namespace(st), FS_CACHE_SECRET,
                                 p->cache_key, text, &tmp) < 0)
        log_debug(FS_COMP, "token cache not written", "error", tmp.msg, NULL);
    else
        log_debug(FS_COMP, "token cached", "key", p->cache_key, NULL);
    str_free_secret(text);
    json_decref(doc);
}

static int
fs_use_token(struct rest *r, struct fs *p, const char *token, struct perr *err)
{
    char *copy = strdup(token);

    if (copy == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    str_free_secret(p->token);
    p->token = copy;
    return rest_set_session(r, token, err);
}

/*
 * A token from the cache when another pod renewed it (it differs from the
 * one that just failed), else a login whose token goes to the cache.
 */
static int
fs_login(struct rest *r, struct perr *err)
{
    struct storage *st = storage_from_rest(r);
    struct fs *p = fs_of(st);
    char *cached = NULL;
    int rc = -1;

    if (!p->cache_read)
        cached = fs_cache_get(st, p);
    p->cache_read = false;
    if (cached != NULL && (p->token == NULL || strcmp(cached, p->token) != 0)) {
        log_debug(FS_COMP, "using the token another populator renewed", NULL);
        rc = fs_use_token(r, p, cached, err);
        goto out;
    }
    if (rest_session_login(r, NULL, err) < 0)
        goto out;
    str_free_secret(p->token);
    p->token = strdup(rest_session(r));
    if (p->token == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    fs_cache_put(st, p, p->token);
    rc = 0;
out:
    str_free_secret(cached);
    return rc;
}

/* flashsystem-token-<STORAGE_HOSTNAME, '.' and ':' (and anything a Secret
 * key cannot hold) as '-'>. */
static int
fs_cache_key(const char *host, char **out, struct perr *err)
{
    size_t n = strlen(FS_CACHE_PREFIX);
    char *k = malloc(n + strlen(host) + 1);

    *out = NULL;
    if (k == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    memcpy(k, FS_CACHE_PREFIX, n);
    for (const char *s = host; *s != '\0'; s++) {
        bool keep = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-';

        k[n++] = keep ? *s : '-';
    }
    k[n] = '\0';
    *out = k;
    return 0;
}

/* ---- open / close ---- */

static int
fs_open(struct storage *st, struct perr *err)
{
    struct fs *p = fs_of(st);
    struct rest *r = storage_rest(st);
    char *cached = NULL;
    int rc = -1;

    if (storage_kube(st) != NULL && storage_kube_namespace(st) != NULL &&
        fs_cache_key(storage_hostname(st), &p->cache_key, err) < 0)
        goto out;
    /* A cached token is used as is: a stale one costs one 401 and a login. */
    cached = fs_cache_get(st, p);
    if (cached != NULL) {
        log_debug(FS_COMP, "using the cached token", "key", p->cache_key, NULL);
        rc = fs_use_token(r, p, cached, err);
        goto out;
    }
    p->cache_read = true;
    rc = rest_login(r, err);
out:
    str_free_secret(cached);
    return rc;
}

static void fs_drop_created_host(struct storage *st, struct fs *p);

/* The host this run created goes at the end, when nothing is mapped to it:
 * also after a failure before any mapping was made. */
static void
fs_close(struct storage *st)
{
    struct fs *p = fs_of(st);

    if (p->created_host != NULL && storage_rest(st) != NULL)
        fs_drop_created_host(st, p);
    free(p->cache_key);
    str_free_secret(p->token);
    free(p->created_host);
    memset(p, 0, sizeof(*p));
}

/* ---- small helpers ---- */

/* POST endpoint with body (stolen; NULL = "{}"); *rows gets the reply. */
static int
fs_call(struct storage *st, const struct rest_endpoint *ep, const struct rest_var *vars,
        json_t *body, json_t **reply, struct perr *err)
{
    if (body == NULL)
        body = json_object();
    if (body == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    return rest_call(storage_rest(st), ep, vars, body, reply, err);
}

/* A list command filtered by "<key>=<value>"; value must be a plain word so
 * it cannot change the filter. */
static int
fs_list_filtered(struct storage *st, const struct rest_endpoint *ep, const char *key,
                 const char *value, json_t **rows, struct perr *err)
{
    struct buf f = {0};
    int rc = -1;

    *rows = NULL;
    if (value[0] == '\0' || strpbrk(value, "=:,\"' \t") != NULL) {
        perr_set(err, PERR_USAGE, "'%s' cannot be used in a FlashSystem filter", value);
        goto out;
    }
    if (buf_addf(&f, err, "%s=%s", key, value) < 0)
        goto out;
    if (fs_call(st, ep, NULL, json_pack("{s:s}", "filtervalue", buf_cstr(&f)), rows, err) < 0)
        goto out;
    if (!json_is_array(*rows)) {
        json_decref(*rows);
        *rows = NULL;
        perr_set(err, PERR_PROTOCOL, "%s answered something other than a list", ep->name);
        goto out;
    }
    rc = 0;
out:
    buf_free(&f);
    return rc;
}

static void
fs_progress(storage_progress_fn progress, void *arg, unsigned pct)
{
    if (progress != NULL)
        progress(arg, pct);
}

/* ---- volumes ---- */

static bool
fs_uid_ok(const char *uid)
{
    return strlen(uid) == FS_UID_LEN && strspn(uid, "0123456789abcdefABCDEF") == FS_UID_LEN;
}

/*
 * The volume's pool must not have volume protection: the array would refuse
 * to unmap the volume after the copy wrote to it.  A mirrored volume
 * ("many" pools) is not checked here.
 */
static int
fs_check_pool(struct storage *st, json_t *vdisk, struct perr *err)
{
    const char *vname = jsonx_string_or(vdisk, "name", "?");
    const char *gid = jsonx_string_or(vdisk, "mdisk_grp_id", NULL);
    json_t *grp = NULL;
    const char *prot;
    int rc = -1;

    if (gid == NULL || gid[0] == '\0' || strcmp(gid, "many") == 0) {
        log_debug(FS_COMP, "pool protection not checked", "volume", vname, "pool",
                  gid != NULL ? gid : "", NULL);
        return 0;
    }
    if (fs_call(st, &fs_ep_lsmdiskgrp, (struct rest_var[]){{"id", gid}, {NULL, NULL}}, NULL, &grp,
                err) < 0) {
        perr_prefix(err, "pool of volume '%s': ", vname);
        goto out;
    }
    if (json_is_array(grp)) {
        json_t *row = json_incref(json_array_get(grp, 0));

        json_decref(grp);
        grp = row;
    }
    prot = jsonx_string_or(grp, "vdisk_protection_enabled", "no");
    if (strcasecmp(prot, "yes") == 0) {
        perr_set(err, PERR_REMOTE,
                 "volume '%s' is in pool '%s' (id %s), which has vdisk_protection_enabled=yes: "
                 "the array would refuse to unmap the volume after the copy; turn volume "
                 "protection off for that pool and retry",
                 vname, jsonx_string_or(grp, "name", jsonx_string_or(vdisk, "mdisk_grp_name", "?")),
                 gid);
        goto out;
    }
    rc = 0;
out:
    json_decref(grp);
    return rc;
}

/* The one volume whose vdisk_UID is uid (a new reference), pool checked. */
static int
fs_vdisk_by_uid(struct storage *st, const char *uid, json_t **vdisk, struct perr *err)
{
    json_t *rows = NULL;
    json_t *row;
    int rc = -1;

    *vdisk = NULL;
    if (!fs_uid_ok(uid)) {
        perr_set(err, PERR_USAGE, "vdisk_UID '%s' is not 32 hexadecimal digits", uid);
        goto out;
    }
    if (fs_list_filtered(st, &fs_ep_lsvdisk, "vdisk_UID", uid, &rows, err) < 0 ||
        json_one_row(rows, "volume with vdisk_UID", uid, false, &row, err) < 0 ||
        fs_check_pool(st, row, err) < 0)
        goto out;
    *vdisk = json_incref(row);
    rc = 0;
out:
    json_decref(rows);
    return rc;
}

static const struct lun_fields fs_lun_fields = {
    .name = "name",
    .id = "id",
    .serial = "vdisk_UID",
    .naa_from = "vdisk_UID",
};

/* The IBM block CSI volume handle is "<system id>:<pool or id>;<vdisk_UID>". */
static int
fs_resolve_pv(struct storage *st, const struct storage_pv *pv, struct storage_lun *out,
              struct perr *err)
{
    const char *h = pv->volume_handle != NULL ? pv->volume_handle : "";
    const char *semi = strchr(h, ';');
    json_t *vdisk = NULL;
    int rc = -1;

    if (semi == NULL || strchr(semi + 1, ';') != NULL) {
        perr_set(err, PERR_PROTOCOL,
                 "volume handle '%s' is not in the IBM block CSI form '<id>;<vdisk_UID>'", h);
        goto out;
    }
    if (fs_vdisk_by_uid(st, semi + 1, &vdisk, err) < 0 ||
        lun_from_json(&storage_flashsystem, vdisk, &fs_lun_fields, out, err) < 0)
        goto out;
    if (out->id == NULL) {
        perr_set(err, PERR_PROTOCOL, "volume '%s' has no id", out->name);
        goto out;
    }
    log_debug(FS_COMP, "volume resolved", "volume", out->name, "id", out->id, "naa", out->naa,
              NULL);
    rc = 0;
out:
    if (rc < 0) {
        storage_lun_clear(out);
        perr_prefix(err, "PersistentVolume '%s': ", pv->name);
    }
    json_decref(vdisk);
    return rc;
}

/* ---- hosts ---- */

/* ctx of the reconciler: the last lshostports answer. */
struct fs_hosts {
    json_t *ports;
};

static bool
fs_port_is(json_t *port, enum initiator_proto kind, const char *initiator)
{
    const char *v = jsonx_string_or(port, kind == INITIATOR_FC ? "WWPN" : "iscsi_name", "");

    if (v[0] == '\0')
        return false;
    return kind == INITIATOR_FC ? wwn_equal(v, initiator) : strcasecmp(v, initiator) == 0;
}

/* The host (name) holding the initiator, or NULL. */
static const char *
fs_port_owner(json_t *ports, enum initiator_proto kind, const char *initiator)
{
    size_t i;
    json_t *p;

    json_array_foreach(ports, i, p)
    {
        if (fs_port_is(p, kind, initiator))
            return jsonx_string_or(p, "host_name", NULL);
    }
    return NULL;
}

/* A group record {"name","id","ports":[...]} for host name. */
static json_t *
fs_host_rec(json_t *ports, const char *name, const char *id)
{
    json_t *mine = json_array();
    size_t i;
    json_t *p;

    json_array_foreach(ports, i, p)
    {
        if (strcmp(jsonx_string_or(p, "host_name", ""), name) == 0)
            json_array_append(mine, p);
    }
    return json_pack("{s:s, s:s, s:o}", "name", name, "id", id != NULL ? id : "", "ports", mine);
}

/* FC ports first, then iSCSI; else the host called name. */
static int
fs_host_find(struct storage *st, void *ctx, const char *name, const struct initiator_set *want,
             json_t **rec, struct perr *err)
{
    struct fs_hosts *h = ctx;
    json_t *hosts = NULL;
    const char *owner = NULL;
    int rc = -1;

    *rec = NULL;
    json_decref(h->ports);
    h->ports = NULL;
    if (fs_call(st, &fs_ep_lshostports, NULL, NULL, &h->ports, err) < 0)
        goto out;
    for (size_t i = 0; i < want->fc.n && owner == NULL; i++)
        owner = fs_port_owner(h->ports, INITIATOR_FC, want->fc.v[i]);
    for (size_t i = 0; i < want->iscsi.n && owner == NULL; i++)
        owner = fs_port_owner(h->ports, INITIATOR_ISCSI, want->iscsi.v[i]);
    if (owner != NULL) {
        log_debug(FS_COMP, "host found by initiator", "host", owner, NULL);
        *rec = fs_host_rec(h->ports, owner, NULL);
    } else {
        json_t *row;

        if (fs_list_filtered(st, &fs_ep_lshost, "name", name, &hosts, err) < 0 ||
            json_one_row(hosts, "host", name, true, &row, err) < 0)
            goto out;
        if (row == NULL) {
            rc = 0;
            goto out;
        }
        *rec = fs_host_rec(h->ports, name, jsonx_string_or(row, "id", NULL));
    }
    if (*rec == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    json_decref(hosts);
    return rc;
}

/* The initiators of one kind no host holds yet, joined with sep. */
static int
fs_free_ports(json_t *ports, const struct initiator_set *set, enum initiator_proto kind, char sep,
              struct buf *out, struct perr *err)
{
    struct strv fc = {0};
    const struct strv *list = &set->iscsi;
    int rc = -1;

    if (kind == INITIATOR_FC) {
        if (initiators_fc_format(set, WWN_UPPER_PLAIN, &fc, err) < 0)
            goto out;
        list = &fc;
    }
    for (size_t i = 0; i < list->n; i++) {
        const char *owner = fs_port_owner(ports, kind, list->v[i]);

        if (owner != NULL) {
            log_debug(FS_COMP, "initiator held by another host", "initiator", list->v[i], "host",
                      owner, NULL);
            continue;
        }
        if ((out->len > 0 && buf_addf(out, err, "%c", sep) < 0) ||
            buf_adds(out, list->v[i], err) < 0)
            goto out;
    }
    rc = 0;
out:
    strv_free(&fc);
    return rc;
}

/* mkhost: FC when the ESXi host has FC initiators, else iSCSI. */
static int
fs_host_create(struct storage *st, void *ctx, const char *name, const struct initiator_set *want,
               struct perr *already, struct perr *err)
{
    struct fs_hosts *h = ctx;
    struct fs *p = fs_of(st);
    struct buf ids = {0};
    struct rest_request req = {.ep = &fs_ep_mkhost};
    struct rest_reply reply = {0};
    bool fc = want->fc.n > 0;
    int rc = -1;

    if (fs_free_ports(h->ports, want, fc ? INITIATOR_FC : INITIATOR_ISCSI, fc ? ':' : ',', &ids,
                      err) < 0)
        goto out;
    if (ids.len == 0) {
        perr_set(err, PERR_CONFLICT, "every ESXi initiator is held by another host");
        goto out;
    }
    req.body = fc ? json_pack("{s:s, s:s, s:b, s:s, s:s}", "name", name, "fcwwpn", buf_cstr(&ids),
                              "force", 1, "protocol", "fcscsi", "type", "generic")
                  : json_pack("{s:s, s:s, s:s, s:s}", "name", name, "iscsiname", buf_cstr(&ids),
                              "protocol", "iscsi", "type", "generic");
    if (req.body == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = rest_do(storage_rest(st), &req, &reply, err);
    if (rc == 1) {
        group_already(&reply, already);
    } else if (rc == 0) {
        free(p->created_host);
        p->created_host = strdup(name);
        if (p->created_host == NULL) {
            rc = perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
        log_debug(FS_COMP, "host created", "host", name, "id",
                  jsonx_string_or(reply.json, "id", ""), NULL);
    }
out:
    rest_reply_free(&reply);
    buf_free(&ids);
    return rc;
}

static bool
fs_host_holds(void *ctx, json_t *rec, const char *initiator, enum initiator_proto kind)
{
    size_t i;
    json_t *p;

    (void)ctx;
    json_array_foreach(json_object_get(rec, "ports"), i, p)
    {
        if (fs_port_is(p, kind, initiator))
            return true;
    }
    return false;
}

/* addhostport of the missing initiators of the host's own protocol. */
static int
fs_host_add(struct storage *st, void *ctx, json_t *rec, const struct initiator_set *missing,
            struct perr *err)
{
    struct fs_hosts *h = ctx;
    const char *name = jsonx_string_or(rec, "name", "");
    bool fc = false;
    bool iscsi = false;
    struct buf ids = {0};
    size_t i;
    json_t *p;
    int rc = -1;

    json_array_foreach(json_object_get(rec, "ports"), i, p)
    {
        fc = fc || jsonx_string_or(p, "WWPN", "")[0] != '\0';
        iscsi = iscsi || jsonx_string_or(p, "iscsi_name", "")[0] != '\0';
    }
    if (!fc && !iscsi)
        fc = missing->fc.n > 0;
    if (fs_free_ports(h->ports, missing, fc ? INITIATOR_FC : INITIATOR_ISCSI, fc ? ':' : ',', &ids,
                      err) < 0)
        goto out;
    if (ids.len == 0) {
        rc = 0;
        goto out;
    }
    if (fs_call(st, &fs_ep_addhostport, (struct rest_var[]){{"host", name}, {NULL, NULL}},
                fc ? json_pack("{s:s, s:b}", "fcwwpn", buf_cstr(&ids), "force", 1)
                   : json_pack("{s:s}", "iscsiname", buf_cstr(&ids)),
                NULL, err) < 0)
        goto out;
    rc = 0;
out:
    buf_free(&ids);
    return rc;
}

static const struct group_ops fs_group_ops = {
    .find = fs_host_find,
    .create = fs_host_create,
    .holds = fs_host_holds,
    .add = fs_host_add,
};

static int
fs_ensure_igroup(struct storage *st, const char *name, const char *const *initiators,
                 size_t ninitiators, char **actual, struct perr *err)
{
    struct fs_hosts h = {0};
    int rc;

    rc = group_ensure_ids(st, &fs_group_ops, &h, name, initiators, ninitiators, FS_COMP, actual,
                          err);
    if (rc < 0)
        perr_prefix(err, "host '%s': ", name);
    json_decref(h.ports);
    return rc;
}

/* ---- mappings ---- */

/* The next free SCSI id on host: the highest in use plus one. */
static int
fs_next_scsi_id(struct storage *st, const char *host, long *id, struct perr *err)
{
    json_t *rows = NULL;
    size_t i;
    json_t *row;
    long max = -1;

    if (fs_call(st, &fs_ep_lshostvdiskmap, (struct rest_var[]){{"host", host}, {NULL, NULL}}, NULL,
                &rows, err) < 0)
        return -1;
    json_array_foreach(rows, i, row)
    {
        const char *s = jsonx_string_or(row, "SCSI_id", "");
        char *end;
        long v = strtol(s, &end, 10);

        if (s[0] != '\0' && *end == '\0' && v > max)
            max = v;
    }
    json_decref(rows);
    *id = max + 1;
    return 0;
}

static int
fs_map(struct storage *st, const char *group, const struct storage_lun *lun,
       struct storage_lun *mapped, struct perr *err)
{
    const struct rest_var vars[] = {{"vdisk", lun->id}, {NULL, NULL}};
    struct perr first = {0};
    long scsi;
    int rc;

    rc = fs_call(st, &fs_ep_mkmap, vars, json_pack("{s:s}", "host", group), NULL, &first);
    /* CMMVC9375E: the SCSI id the array picked is taken on this host; name a
     * free one and force the mapping (the volume may be on other hosts). */
    if (rc < 0 && strcmp(first.remote_code, "CMMVC9375E") == 0) {
        log_debug(FS_COMP, "SCSI id in use, mapping with an explicit one", "host", group, NULL);
        if (fs_next_scsi_id(st, group, &scsi, err) < 0)
            goto fail;
        rc = fs_call(
            st, &fs_ep_mkmap, vars,
            json_pack("{s:s, s:I, s:b}", "host", group, "scsi", (json_int_t)scsi, "force", 1), NULL,
            err);
    } else if (rc < 0) {
        *err = perr_failed(err) ? *err : first;
    }
    if (rc < 0)
        goto fail;
    if (rc == 1)
        log_debug(FS_COMP, "already mapped", "host", group, "volume", lun->name, NULL);
    return storage_lun_copy(lun, mapped, err);
fail:
    perr_prefix(err, "volume '%s' to host '%s': ", lun->name, group);
    return -1;
}

/* Removes the host this run created once nothing is mapped to it. */
static void
fs_drop_created_host(struct storage *st, struct fs *p)
{
    const char *group = p->created_host;
    struct perr tmp = {0};
    json_t *rows = NULL;

    if (fs_call(st, &fs_ep_lshostvdiskmap, (struct rest_var[]){{"host", group}, {NULL, NULL}}, NULL,
                &rows, &tmp) < 0) {
        log_debug(FS_COMP, "created host kept", "host", group, "error", tmp.msg, NULL);
    } else if (json_array_size(rows) > 0) {
        log_debug(FS_COMP, "created host kept: it has mappings", "host", group, NULL);
    } else if (fs_call(st, &fs_ep_rmhost, (struct rest_var[]){{"host", group}, {NULL, NULL}}, NULL,
                       NULL, &tmp) < 0) {
        log_debug(FS_COMP, "created host not removed", "host", group, "error", tmp.msg, NULL);
    } else {
        log_debug(FS_COMP, "created host removed", "host", group, NULL);
        free(p->created_host);
        p->created_host = NULL;
    }
    json_decref(rows);
}

static int
fs_unmap(struct storage *st, const char *group, const struct storage_lun *lun, struct perr *err)
{
    int rc;

    rc = fs_call(st, &fs_ep_rmmap, (struct rest_var[]){{"vdisk", lun->id}, {NULL, NULL}},
                 json_pack("{s:s}", "host", group), NULL, err);
    if (rc < 0) {
        perr_prefix(err, "volume '%s' from host '%s': ", lun->name, group);
        return -1;
    }
    if (rc == 1)
        log_debug(FS_COMP, "no mapping to remove", "host", group, "volume", lun->name, NULL);
    return 0;
}

static int
fs_mapped_groups(struct storage *st, const struct storage_lun *lun, struct strv *out,
                 struct perr *err)
{
    json_t *rows = NULL;
    size_t i;
    json_t *row;
    int rc = -1;

    if (fs_call(st, &fs_ep_lsvdiskhostmap, (struct rest_var[]){{"vdisk", lun->id}, {NULL, NULL}},
                NULL, &rows, err) < 0)
        goto out;
    json_array_foreach(rows, i, row)
    {
        const char *h = jsonx_string_or(row, "host_name", "");

        if (h[0] != '\0' && !strv_contains(out, h) && strv_add(out, h, err) < 0)
            goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "volume '%s': ", lun->name);
    json_decref(rows);
    return rc;
}

/* ---- RDM copy by FlashCopy ---- */

/* The source's vdisk_UID: characters 10..42 of the RDM's LUN UUID, or the
 * NAA id of a vml./naa. device name when vSphere gave no UUID. */
static int
fs_rdm_uid(const struct storage_copy_req *req, char uid[FS_UID_LEN + 1], struct perr *err)
{
    const char *u = req->rdm_lun_uuid;
    const char *dev = req->rdm_device;
    char *naa = NULL;

    if (u != NULL && u[0] != '\0') {
        if (strlen(u) < FS_LUN_UUID_SKIP + FS_UID_LEN)
            return perr_set(err, PERR_USAGE, "RDM LUN UUID '%s' is shorter than %d characters", u,
                            FS_LUN_UUID_SKIP + FS_UID_LEN);
        memcpy(uid, u + FS_LUN_UUID_SKIP, FS_UID_LEN);
        uid[FS_UID_LEN] = '\0';
        return 0;
    }
    if (dev == NULL || dev[0] == '\0')
        return perr_set(err, PERR_USAGE, "RDM copy without a LUN UUID or device name");
    if (strrchr(dev, '/') != NULL)
        dev = strrchr(dev, '/') + 1;
    if (strncmp(dev, "vml.", 4) == 0) {
        if (naa_from_vml(dev, &naa, err) < 0)
            return -1;
        dev = naa;
    }
    if (strncmp(dev, "naa.", 4) != 0 || strlen(dev) != 4 + FS_UID_LEN) {
        free(naa);
        return perr_set(err, PERR_USAGE, "RDM device '%s' has no 32-digit NAA id", req->rdm_device);
    }
    memcpy(uid, dev + 4, FS_UID_LEN + 1);
    free(naa);
    return 0;
}

/* An earlier run's map onto target (its id, malloc'd), or NULL; a map from
 * another source is an error. */
static int
fs_fcmap_existing(struct storage *st, const char *src, const char *tgt, char **id, struct perr *err)
{
    json_t *rows = NULL;
    json_t *row;
    int rc = -1;

    *id = NULL;
    if (fs_list_filtered(st, &fs_ep_lsfcmaps, "target_vdisk_name", tgt, &rows, err) < 0)
        goto out;
    row = json_array_get(rows, 0);
    if (row != NULL) {
        const char *s = jsonx_string_or(row, "source_vdisk_name", "");

        if (strcmp(s, src) != 0) {
            perr_set(err, PERR_CONFLICT,
                     "volume '%s' is already the target of FlashCopy map '%s' from '%s'", tgt,
                     jsonx_string_or(row, "name", "?"), s);
            goto out;
        }
        if (jsonx_strdup(row, "id", id, err) < 0)
            goto out;
        log_debug(FS_COMP, "reusing FlashCopy map", "map", *id, NULL);
    }
    rc = 0;
out:
    json_decref(rows);
    return rc;
}

static int
fs_fcmap_make(struct storage *st, const char *src, const struct storage_lun *tgt, char **id,
              struct perr *err)
{
    struct buf name = {0};
    json_t *reply = NULL;
    int rc = -1;

    if (buf_addf(&name, err, "xcopy_fc_%s", tgt->id) < 0 ||
        fs_call(st, &fs_ep_mkfcmap, NULL,
                json_pack("{s:s, s:s, s:s, s:i}", "source", src, "target", tgt->name, "name",
                          buf_cstr(&name), "copyrate", FS_COPYRATE),
                &reply, err) < 0)
        goto out;
    if (jsonx_strdup(reply, "id", id, err) < 0) {
        perr_prefix(err, "mkfcmap answer: ");
        goto out;
    }
    rc = 0;
out:
    json_decref(reply);
    buf_free(&name);
    return rc;
}

/* prestart + start; a map already copying (an earlier run's) is fine. */
static int
fs_fcmap_start(struct storage *st, const char *id, struct perr *err)
{
    const struct rest_var vars[] = {{"id", id}, {NULL, NULL}};
    struct perr tmp = {0};

    if (fs_call(st, &fs_ep_prestartfcmap, vars, json_pack("{s:b}", "restore", 1), NULL, &tmp) < 0 &&
        strcmp(tmp.remote_code, "CMMVC5907E") != 0 && strcmp(tmp.remote_code, "CMMVC5903E") != 0) {
        *err = perr_failed(err) ? *err : tmp;
        return -1;
    }
    tmp = (struct perr){0};
    if (rest_call(storage_rest(st), &fs_ep_startfcmap, vars, NULL, NULL, &tmp) < 0 &&
        strcmp(tmp.remote_code, "CMMVC5907E") != 0 && strcmp(tmp.remote_code, "CMMVC5903E") != 0) {
        *err = perr_failed(err) ? *err : tmp;
        return -1;
    }
    return 0;
}

/* Polls the map until it has copied everything. */
static int
fs_fcmap_wait(struct storage *st, const char *id, storage_progress_fn progress, void *arg,
              struct perr *err)
{
    struct deadline dl = deadline_in_ms(FS_FCMAP_DEADLINE_MS);
    struct backoff bo;
    unsigned last = 0;
    int rc = -1;

    backoff_init(&bo, 100, 2000, 2.0, 0.1, 0);
    for (;;) {
        json_t *map = NULL;
        const char *status;
        long pct;
        bool done;

        if (fs_call(st, &fs_ep_lsfcmap, (struct rest_var[]){{"id", id}, {NULL, NULL}}, NULL, &map,
                    err) < 0)
            goto out;
        status = jsonx_string_or(map, "status", "");
        pct = strtol(jsonx_string_or(map, "progress", "0"), NULL, 10);
        if (pct > (long)last && pct <= 100) {
            last = (unsigned)pct;
            fs_progress(progress, arg, last);
        }
        done = strcmp(status, "idle_or_copied") == 0 && pct >= 100;
        if (!done && (strcmp(status, "stopped") == 0 || strcmp(status, "stopping") == 0 ||
                      strcmp(status, "suspended") == 0)) {
            perr_set(err, PERR_REMOTE, "FlashCopy map %s is '%s' at %ld%%", id, status, pct);
            json_decref(map);
            goto out;
        }
        json_decref(map);
        if (done)
            break;
        if (wait_ms(backoff_next_ms(&bo), &dl, err) < 0)
            goto out;
    }
    rc = 0;
out:
    return rc;
}

static void
fs_fcmap_remove(struct storage *st, const char *id, bool force)
{
    const struct rest_var vars[] = {{"id", id}, {NULL, NULL}};
    struct perr tmp = {0};

    if (force &&
        fs_call(st, &fs_ep_stopfcmap, vars, json_pack("{s:b}", "force", 1), NULL, &tmp) < 0)
        log_debug(FS_COMP, "FlashCopy map not stopped", "map", id, "error", tmp.msg, NULL);
    tmp = (struct perr){0};
    if (fs_call(st, &fs_ep_rmfcmap, vars, force ? json_pack("{s:b}", "force", 1) : NULL, NULL,
                &tmp) < 0)
        log_debug(FS_COMP, "FlashCopy map not removed", "map", id, "error", tmp.msg, NULL);
}

static int
fs_rdm_copy(struct storage *st, const struct storage_copy_req *req, storage_progress_fn progress,
            void *arg, struct perr *err)
{
    char uid[FS_UID_LEN + 1];
    json_t *src = NULL;
    const char *sname;
    char *map = NULL;
    int rc = -1;

    if (req->target == NULL || req->target->name == NULL || req->target->id == NULL) {
        perr_set(err, PERR_INTERNAL, "RDM copy without a target volume");
        goto out;
    }
    if (fs_rdm_uid(req, uid, err) < 0 || fs_vdisk_by_uid(st, uid, &src, err) < 0) {
        perr_prefix(err, "RDM source: ");
        goto out;
    }
    sname = jsonx_string_or(src, "name", "");
    fs_progress(progress, arg, 0);
    if (fs_fcmap_existing(st, sname, req->target->name, &map, err) < 0 ||
        (map == NULL && fs_fcmap_make(st, sname, req->target, &map, err) < 0))
        goto fail;
    log_debug(FS_COMP, "FlashCopy map ready", "map", map, "source", sname, "target",
              req->target->name, NULL);
    if (fs_fcmap_start(st, map, err) < 0 || fs_fcmap_wait(st, map, progress, arg, err) < 0) {
        fs_fcmap_remove(st, map, true);
        goto fail;
    }
    fs_fcmap_remove(st, map, false);
    fs_progress(progress, arg, 100);
    rc = 0;
    goto out;
fail:
    perr_prefix(err, "FlashCopy '%s' onto '%s': ", sname, req->target->name);
out:
    free(map);
    json_decref(src);
    return rc;
}

/* ---- array info ---- */

static int
fs_array_info(struct storage *st, struct storage_array_info *out, struct perr *err)
{
    json_t *sys = NULL;
    const char *model;
    const char *version;
    int rc = -1;

    if (fs_call(st, &fs_ep_lssystem, NULL, NULL, &sys, err) < 0)
        goto out;
    /* The system-wide flag is informational; the volume's pool decides. */
    log_debug(FS_COMP, "system volume protection", "vdisk_protection_enabled",
              jsonx_string_or(sys, "vdisk_protection_enabled", "?"), NULL);
    model = jsonx_string_or(sys, "product_name", NULL);
    version = jsonx_string_or(sys, "code_level", NULL);
    out->model = model != NULL ? strdup(model) : NULL;
    out->version = version != NULL ? strndup(version, strcspn(version, " ")) : NULL;
    if ((model != NULL && out->model == NULL) || (version != NULL && out->version == NULL)) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    json_decref(sys);
    return rc;
}

static const struct storage_ops fs_ops = {
    .open = fs_open,
    .close = fs_close,
    .resolve_pv = fs_resolve_pv,
    .ensure_igroup = fs_ensure_igroup,
    .map = fs_map,
    .unmap = fs_unmap,
    .mapped_groups = fs_mapped_groups,
    .array_info = fs_array_info,
    .rdm_copy = fs_rdm_copy,
};

const struct storage_driver storage_flashsystem = {
    .name = "flashsystem",
    .vendor = "IBM",
    .product = "FlashSystem",
    .summary = "Storage Virtualize REST on port 7443 with a token; FlashCopy RDM copies",
    .caps = STORAGE_CAP_ISCSI | STORAGE_CAP_FC | STORAGE_CAP_RDM_COPY,
    .url = {.rule = STORAGE_URL_BARE_HOST, .port = "7443", .path = "/rest/v1"},
    .naa = {.rule = STORAGE_NAA_WWN},
    .priv_size = sizeof(struct fs),
    .rest = &fs_dialect,
    .ops = &fs_ops,
};
