/*
 * HPE Primera / 3PAR driver: WSAPI 1.x under <STORAGE_HOSTNAME>/api/v1, the
 * host name given verbatim with its WSAPI port (3PAR 8080, Primera 443).
 *
 * Session: POST /credentials {"user","password"} -> {"key"}; the key goes in
 * X-HP3PAR-WSAPI-SessionKey on every request, is kept for the whole run
 * (WSAPI caps sessions per user, so one is made, not one every few minutes),
 * made again once on a 401 and deleted at close.
 *
 * Groups: the ESXi initiators live on 3PAR hosts (found by WWN or iSCSI name,
 * created with persona 11 when no host holds them) gathered in one host set.
 * Group names handed to the caller are VLUN host names as WSAPI spells them:
 * "set:<host set>" for a set, the bare name for a single host, so a volume
 * exported to one host is re-exported to that host, not to a set.
 *
 * Array-side copies (VVol, RDM): the target volume is renamed aside, a
 * snapshot of the source takes its name and is promoted to a base volume,
 * then the renamed original is deleted.  Whatever cannot be undone or
 * removed is reported by name in the request's leftovers.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "lib/buf.h"
#include "lib/jsonx.h"
#include "lib/log.h"
#include "lib/rest.h"
#include "storage/reconcile.h"
#include "storage/storage.h"

#define P3_COMP       "storage.primera3par"
#define P3_SET_PREFIX "set:"
#define P3_NAME_MAX   31 /* volume and host names */
#define P3_SET_MAX    27 /* longer host-set names are refused by the array */
#define P3_OUI        "60002ac"
#define P3_PERSONA    11 /* VMware */
#define P3_PROMOTE    4  /* volume action: promote virtual copy */
#define P3_SET_ADD    1  /* host-set action: add members */
#define P3_PATH_ADD   1  /* host pathOperation: add */
/* WSAPI builds before this one need a snapshot CPG on the source. */
#define P3_BUILD_2023 100000000L
/* A promote copies the whole volume on the array. */
#define P3_PROMOTE_TIMEOUT_S 14400L

struct p3 {
    long build; /* WSAPI build from GET /api; 0 until read */
    /* The VLUN this run created (0 = none), so unmap deletes it by its id
     * without listing every VLUN of the array again.  3PAR names are short:
     * a longer one is simply not remembered. */
    int made_lun;
    char made_vol[128];
    char made_group[128];
    /* The VLUN list mapped_groups read (owned) for volume vluns_vol, taken
     * by the next map of that volume instead of listing again; dropped when
     * this handle adds or removes a VLUN. */
    json_t *vluns;
    char vluns_vol[128];
};

static void
p3_forget_vluns(struct p3 *p3)
{
    json_decref(p3->vluns);
    p3->vluns = NULL;
    p3->vluns_vol[0] = '\0';
}

static struct p3 *
p3_of(struct storage *st)
{
    return storage_priv(st);
}

/* ---- endpoints (paths under /api/v1) ---- */

static const struct rest_endpoint p3_ep_login = {
    .name = "credentials-create",
    .method = "POST",
    .path = "/credentials",
    .ok = {201, 200},
    .flags = REST_F_NO_AUTH | REST_F_RETRY,
};

static const struct rest_endpoint p3_ep_logout = {
    .name = "credentials-delete",
    .method = "DELETE",
    .path = "/credentials/{session}",
    .ok = {200, 204},
};

static const struct rest_endpoint p3_ep_api = {
    .name = "api-get",
    .method = "GET",
    .path = "/api",
    .ok = {200},
    .flags = REST_F_ROOT,
};

static const struct rest_endpoint p3_ep_system = {
    .name = "system-get",
    .method = "GET",
    .path = "/system",
    .ok = {200},
};

static const struct rest_endpoint p3_ep_volume = {
    .name = "volume-get",
    .method = "GET",
    .path = "/volumes/{name}",
    .ok = {200},
};

static const struct rest_endpoint p3_ep_volumes = {
    .name = "volume-list",
    .method = "GET",
    .path = "/volumes",
    .query = "query={query}",
    .ok = {200},
};

/* Rename, snapshot CPG, promote. */
static const struct rest_endpoint p3_ep_volume_put = {
    .name = "volume-modify",
    .method = "PUT",
    .path = "/volumes/{name}",
    .ok = {200, 201},
};

static const struct rest_endpoint p3_ep_snapshot = {
    .name = "volume-snapshot",
    .method = "POST",
    .path = "/volumes/{name}",
    .ok = {200, 201},
};

static const struct rest_endpoint p3_ep_volume_delete = {
    .name = "volume-delete",
    .method = "DELETE",
    .path = "/volumes/{name}",
    .ok = {200, 204},
    .already_code = PERR_NOT_FOUND,
};

static const struct rest_endpoint p3_ep_task = {
    .name = "task-get",
    .method = "GET",
    .path = "/tasks/{id}",
    .ok = {200},
};

static const struct rest_endpoint p3_ep_hosts = {
    .name = "host-list",
    .method = "GET",
    .path = "/hosts",
    .query = "query={query}",
    .ok = {200},
};

static const struct rest_endpoint p3_ep_host_create = {
    .name = "host-create",
    .method = "POST",
    .path = "/hosts",
    .ok = {201},
    .already_code = PERR_CONFLICT,
};

static const struct rest_endpoint p3_ep_host_put = {
    .name = "host-modify",
    .method = "PUT",
    .path = "/hosts/{name}",
    .ok = {200},
};

static const struct rest_endpoint p3_ep_hostset = {
    .name = "hostset-get",
    .method = "GET",
    .path = "/hostsets/{name}",
    .ok = {200},
};

static const struct rest_endpoint p3_ep_hostset_create = {
    .name = "hostset-create",
    .method = "POST",
    .path = "/hostsets",
    .ok = {201},
    .already_code = PERR_CONFLICT,
};

/* Code 104: the host is already a member. */
static const struct rest_endpoint p3_ep_hostset_add = {
    .name = "hostset-add",
    .method = "PUT",
    .path = "/hostsets/{name}",
    .ok = {200},
    .already_code = PERR_CONFLICT,
};

static const struct rest_endpoint p3_ep_vluns = {
    .name = "vlun-list",
    .method = "GET",
    .path = "/vluns",
    .ok = {200},
};

static const struct rest_endpoint p3_ep_vlun_create = {
    .name = "vlun-create",
    .method = "POST",
    .path = "/vluns",
    .ok = {201, 200},
    .already_code = PERR_CONFLICT,
};

/* "<volume>,<lun>,<host>" with literal separators; only the names are
 * escaped (3PAR names never need it). */
static const struct rest_endpoint p3_ep_vlun_delete_set = {
    .name = "vlun-delete",
    .method = "DELETE",
    .path = "/vluns/{vol},{lun},set:{host}",
    .ok = {200, 204},
    .already_code = PERR_NOT_FOUND,
};

static const struct rest_endpoint p3_ep_vlun_delete_host = {
    .name = "vlun-delete",
    .method = "DELETE",
    .path = "/vluns/{vol},{lun},{host}",
    .ok = {200, 204},
    .already_code = PERR_NOT_FOUND,
};

/* ---- dialect ---- */

/* Error bodies are {"code": N, "desc": "..."} whatever the status. */
static const struct rest_error_rule p3_error_rules[] = {
    {.code = "16", .to = PERR_CONFLICT},   /* host exists */
    {.code = "22", .to = PERR_CONFLICT},   /* volume exists */
    {.code = "101", .to = PERR_CONFLICT},  /* host set exists */
    {.code = "104", .to = PERR_CONFLICT},  /* already a member of the set */
    {.code = "17", .to = PERR_NOT_FOUND},  /* no such host */
    {.code = "19", .to = PERR_NOT_FOUND},  /* no such VLUN */
    {.code = "23", .to = PERR_NOT_FOUND},  /* no such volume */
    {.code = "102", .to = PERR_NOT_FOUND}, /* no such set */
    {0},
};

static const struct rest_session p3_session = {
    .login = &p3_ep_login,
    .body_user = "user",
    .body_password = "password",
    .from = REST_TOKEN_JSON,
    .token_name = "key",
    .send = "X-HP3PAR-WSAPI-SessionKey: %s",
    .relogin = REST_RELOGIN_401,
    .logout = &p3_ep_logout,
};

static const struct rest_dialect p3_dialect = {
    .base_path = "/api/v1",
    .session = &p3_session,
    .errors =
        {
            .message = "desc",
            .code = "code",
            .rules = p3_error_rules,
        },
};

/* ---- helpers ---- */

static void
p3_progress(storage_progress_fn fn, void *arg, unsigned pct)
{
    if (fn != NULL)
        fn(arg, pct);
}

/* "xcopy-" + the first 21 hex digits of the SHA-256 of s. */
static int
p3_hashed_name(const char *s, char **out, struct perr *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    struct buf b = {0};

    *out = NULL;
    if (EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL) != 1)
        return perr_set(err, PERR_INTERNAL, "SHA-256 failed");
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if (buf_addf(&b, err, "xcopy-%.21s", hex) < 0)
        return -1;
    *out = buf_steal(&b);
    return *out != NULL ? 0 : perr_set(err, PERR_NOMEM, "out of memory");
}

/* name when it has at most max characters, else its hashed short form. */
static int
p3_short_name(const char *name, size_t max, char **out, struct perr *err)
{
    *out = NULL;
    if (strlen(name) > max)
        return p3_hashed_name(name, out, err);
    *out = strdup(name);
    return *out != NULL ? 0 : perr_set(err, PERR_NOMEM, "out of memory");
}

/* The WSAPI name of a volume: the first 31 characters. */
static void
p3_volume_name(const char *s, char out[P3_NAME_MAX + 1])
{
    snprintf(out, P3_NAME_MAX + 1, "%s", s != NULL ? s : "");
}

static bool
p3_is_set(const char *group)
{
    return strncmp(group, P3_SET_PREFIX, strlen(P3_SET_PREFIX)) == 0;
}

static int
p3_put(struct storage *st, const char *name, json_t *body, json_t **reply, struct perr *err)
{
    if (body == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    return rest_call(storage_rest(st), &p3_ep_volume_put,
                     (struct rest_var[]){{"name", name}, {NULL, NULL}}, body, reply, err);
}

static int
p3_rename(struct storage *st, const char *from, const char *to, struct perr *err)
{
    if (p3_put(st, from, json_pack("{s:s}", "newName", to), NULL, err) < 0) {
        perr_prefix(err, "rename volume '%s' to '%s': ", from, to);
        return -1;
    }
    return 0;
}

/* ---- open / close / info ---- */

static int
p3_open(struct storage *st, struct perr *err)
{
    return rest_login(storage_rest(st), err);
}

static void
p3_close(struct storage *st)
{
    p3_forget_vluns(p3_of(st));
    rest_logout(storage_rest(st));
}

static int
p3_array_info(struct storage *st, struct storage_array_info *out, struct perr *err)
{
    json_t *sys = NULL;
    const char *model;
    const char *version;
    int rc = -1;

    if (rest_call(storage_rest(st), &p3_ep_system, NULL, NULL, &sys, err) < 0)
        goto out;
    model = jsonx_string_or(sys, "model", NULL);
    version = jsonx_string_or(sys, "systemVersion", NULL);
    if (str_dup_opt(model, &out->model, err) < 0 || str_dup_opt(version, &out->version, err) < 0)
        goto out;
    rc = 0;
out:
    json_decref(sys);
    return rc;
}

/* ---- volumes ---- */

static const struct lun_fields p3_lun_fields = {
    .name = "name",
    .id = "id",
    .serial = "wwn",
    .naa_from = "wwn",
};

/* The HPE CSI volume handle is the volume name, cut to the array's limit. */
static int
p3_resolve_pv(struct storage *st, const struct storage_pv *pv, struct storage_lun *out,
              struct perr *err)
{
    char name[P3_NAME_MAX + 1];
    json_t *vol = NULL;
    int rc = -1;

    if (pv->volume_handle == NULL || pv->volume_handle[0] == '\0') {
        perr_set(err, PERR_USAGE, "PV '%s' has no volume handle", pv->name ? pv->name : "");
        goto out;
    }
    p3_volume_name(pv->volume_handle, name);
    if (rest_call(storage_rest(st), &p3_ep_volume,
                  (struct rest_var[]){{"name", name}, {NULL, NULL}}, NULL, &vol, err) < 0 ||
        lun_from_json(storage_driver_of(st), vol, &p3_lun_fields, out, err) < 0) {
        perr_prefix(err, "volume '%s': ", name);
        goto out;
    }
    rc = 0;
out:
    json_decref(vol);
    return rc;
}

/* ---- hosts and the host set ---- */

static bool
p3_host_has(json_t *host, enum initiator_proto kind, const char *id)
{
    json_t *paths = json_object_get(host, kind == INITIATOR_FC ? "FCPaths" : "iSCSIPaths");
    size_t i;
    json_t *p;

    json_array_foreach(paths, i, p)
    {
        const char *v = jsonx_string_or(p, kind == INITIATOR_FC ? "wwn" : "name", NULL);

        if (v != NULL && v[0] != '\0' &&
            (kind == INITIATOR_FC ? wwn_equal(v, id) : strcmp(v, id) == 0))
            return true;
    }
    return false;
}

/* The first host record of the array rows holding the initiator, or NULL. */
static json_t *
p3_host_among(json_t *rows, enum initiator_proto kind, const char *id)
{
    size_t i;
    json_t *h;

    json_array_foreach(rows, i, h)
    {
        if (p3_host_has(h, kind, id))
            return h;
    }
    return NULL;
}

/* The name of the host holding the initiator (id: WWPN in 16 upper hex, or
 * the iSCSI name), or NULL: the WSAPI query first, then the whole list
 * (fetched once into *all), as some releases answer such queries empty.
 * The host records this call already read (the whole list, the members of
 * earlier queries, kept in the array seen) are looked at before asking: a
 * path belongs to one host only (the array refuses a claimed one), so a
 * host that lists it is the answer the query would give. */
static int
p3_host_find(struct storage *st, enum initiator_proto kind, const char *id, json_t **all,
             json_t *seen, char **name, struct perr *err)
{
    struct buf q = {0};
    json_t *reply = NULL;
    json_t *found = NULL;
    struct perr tmp = {0};
    size_t i;
    json_t *h;
    int rc = -1;

    *name = NULL;
    found = p3_host_among(json_object_get(*all, "members"), kind, id);
    if (found == NULL)
        found = p3_host_among(seen, kind, id);
    /* The whole list, read a moment ago, is the authority: a path it does
     * not show is on no host. */
    if (found != NULL || *all != NULL) {
        log_debug(P3_COMP, "host known from an earlier answer", "initiator", id, NULL);
        if (found != NULL && jsonx_strdup(found, "name", name, err) < 0)
            goto out;
        rc = 0;
        goto out;
    }
    if (buf_addf(&q, err, "\"%s[%s EQ %s]\"", kind == INITIATOR_FC ? "FCPaths" : "iSCSIPaths",
                 kind == INITIATOR_FC ? "wwn" : "name", id) < 0)
        goto out;
    if (rest_call(storage_rest(st), &p3_ep_hosts,
                  (struct rest_var[]){{"query", buf_cstr(&q)}, {NULL, NULL}}, NULL, &reply,
                  &tmp) == 0) {
        json_array_foreach(json_object_get(reply, "members"), i, h)
        {
            if (json_array_append(seen, h) < 0) {
                perr_set(err, PERR_NOMEM, "out of memory");
                goto out;
            }
        }
        found = p3_host_among(json_object_get(reply, "members"), kind, id);
    } else {
        log_debug(P3_COMP, "host query failed, listing", "error", tmp.msg, NULL);
    }
    if (found == NULL) {
        if (*all == NULL &&
            rest_call(storage_rest(st), &p3_ep_hosts,
                      (struct rest_var[]){{"query", NULL}, {NULL, NULL}}, NULL, all, err) < 0)
            goto out;
        json_array_foreach(json_object_get(*all, "members"), i, h)
        {
            if (p3_host_has(h, kind, id)) {
                found = h;
                break;
            }
        }
    }
    if (found != NULL && jsonx_strdup(found, "name", name, err) < 0)
        goto out;
    rc = 0;
out:
    json_decref(reply);
    buf_free(&q);
    return rc;
}

/* Makes host `name` (persona VMware) with the initiators of one kind; when
 * the name is taken, adds them to that host instead. */
static int
p3_host_create(struct storage *st, const char *name, enum initiator_proto kind,
               const struct strv *ids, struct perr *err)
{
    const char *key = kind == INITIATOR_FC ? "FCWWNs" : "iSCSINames";
    json_t *list = json_array();
    json_t *body = NULL;
    struct rest_request req = {.ep = &p3_ep_host_create};
    struct rest_reply reply = {0};
    int rc = -1;

    for (size_t i = 0; list != NULL && i < ids->n; i++) {
        if (json_array_append_new(list, json_string(ids->v[i])) < 0) {
            json_decref(list);
            list = NULL;
        }
    }
    body = list != NULL
               ? json_pack("{s:s, s:i, s:O}", "name", name, "persona", P3_PERSONA, key, list)
               : NULL;
    if (body == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    req.body = body;
    rc = rest_do(storage_rest(st), &req, &reply, err);
    if (rc == 1) {
        struct perr tmp = {0};

        log_debug(P3_COMP, "host exists, adding paths", "host", name, NULL);
        body = json_pack("{s:i, s:O}", "pathOperation", P3_PATH_ADD, key, list);
        rc = body == NULL
                 ? perr_set(err, PERR_NOMEM, "out of memory")
                 : rest_call(storage_rest(st), &p3_ep_host_put,
                             (struct rest_var[]){{"name", name}, {NULL, NULL}}, body, NULL, &tmp);
        /* "Exists" for a host that is not there: the create's answer stands. */
        if (rc < 0 && tmp.code == PERR_NOT_FOUND)
            group_already(&reply, err);
        else if (rc < 0 && !perr_failed(err))
            *err = tmp;
    }
    if (rc < 0)
        perr_prefix(err, "host '%s': ", name);
out:
    rest_reply_free(&reply);
    json_decref(list);
    return rc < 0 ? -1 : 0;
}

/* Finds the host of each initiator of one kind; those no host holds get
 * one new host "<group>-<suffix>" (shortened like a set name). */
static int
p3_hosts_of(struct storage *st, const char *group, enum initiator_proto kind,
            const struct strv *ids, json_t **all, json_t *seen, struct strv *hosts,
            struct perr *err)
{
    struct strv missing = {0};
    struct buf want = {0};
    char *name = NULL;
    int rc = -1;

    for (size_t i = 0; i < ids->n; i++) {
        if (p3_host_find(st, kind, ids->v[i], all, seen, &name, err) < 0)
            goto out;
        if (name == NULL) {
            if (strv_add(&missing, ids->v[i], err) < 0)
                goto out;
        } else if (!strv_contains(hosts, name) && strv_add(hosts, name, err) < 0) {
            goto out;
        }
        free(name);
        name = NULL;
    }
    if (missing.n > 0) {
        if (buf_addf(&want, err, "%s-%s", group, kind == INITIATOR_FC ? "fc" : "iscsi") < 0 ||
            p3_short_name(buf_cstr(&want), P3_NAME_MAX, &name, err) < 0 ||
            p3_host_create(st, name, kind, &missing, err) < 0)
            goto out;
        if (!strv_contains(hosts, name) && strv_add(hosts, name, err) < 0)
            goto out;
    }
    rc = 0;
out:
    free(name);
    buf_free(&want);
    strv_free(&missing);
    return rc;
}

static bool
p3_set_has(json_t *set, const char *host)
{
    size_t i;
    json_t *m;

    json_array_foreach(json_object_get(set, "setmembers"), i, m)
    {
        if (json_is_string(m) && strcmp(json_string_value(m), host) == 0)
            return true;
    }
    return false;
}

/* GET hostsets/<name>; *set NULL when there is none. */
static int
p3_set_get(struct storage *st, const char *name, json_t **set, struct perr *err)
{
    struct perr tmp = {0};

    *set = NULL;
    if (rest_call(storage_rest(st), &p3_ep_hostset,
                  (struct rest_var[]){{"name", name}, {NULL, NULL}}, NULL, set, &tmp) == 0)
        return 0;
    if (tmp.code == PERR_NOT_FOUND)
        return 0;
    *err = perr_failed(err) ? *err : tmp;
    return -1;
}

/* The set exists and holds every host; members are only ever added. */
static int
p3_set_ensure(struct storage *st, const char *name, const struct strv *hosts, struct perr *err)
{
    json_t *set = NULL;
    json_t *members = NULL;
    int rc = -1;

    if (p3_set_get(st, name, &set, err) < 0)
        goto out;
    if (set == NULL) {
        members = json_array();
        for (size_t i = 0; members != NULL && i < hosts->n; i++) {
            if (json_array_append_new(members, json_string(hosts->v[i])) < 0)
                goto nomem;
        }
        if (members == NULL)
            goto nomem;
        rc = rest_call(storage_rest(st), &p3_ep_hostset_create, NULL,
                       json_pack("{s:s, s:O}", "name", name, "setmembers", members), NULL, err);
        if (rc < 0)
            goto out;
        rc = -1;
        /* Created with its members, or made meanwhile by someone else. */
        if (p3_set_get(st, name, &set, err) < 0)
            goto out;
    }
    for (size_t i = 0; i < hosts->n; i++) {
        if (set != NULL && p3_set_has(set, hosts->v[i]))
            continue;
        if (rest_call(storage_rest(st), &p3_ep_hostset_add,
                      (struct rest_var[]){{"name", name}, {NULL, NULL}},
                      json_pack("{s:i, s:[s]}", "action", P3_SET_ADD, "setmembers", hosts->v[i]),
                      NULL, err) < 0)
            goto out;
    }
    rc = 0;
    goto out;
nomem:
    perr_set(err, PERR_NOMEM, "out of memory");
out:
    json_decref(members);
    json_decref(set);
    return rc;
}

static int
p3_ensure_igroup(struct storage *st, const char *name, const char *const *initiators,
                 size_t ninitiators, char **actual, struct perr *err)
{
    struct initiator_set set = {0};
    struct strv fc = {0};
    struct strv hosts = {0};
    struct buf g = {0};
    json_t *all = NULL;
    json_t *seen = json_array();
    char *setname = NULL;
    int rc = -1;

    if (seen == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    if (initiators_split(initiators, ninitiators,
                         INITIATOR_KIND(INITIATOR_FC) | INITIATOR_KIND(INITIATOR_ISCSI), P3_COMP,
                         &set, err) < 0 ||
        initiators_fc_format(&set, WWN_UPPER_PLAIN, &fc, err) < 0 ||
        p3_short_name(name, P3_SET_MAX, &setname, err) < 0 ||
        p3_hosts_of(st, name, INITIATOR_FC, &fc, &all, seen, &hosts, err) < 0 ||
        p3_hosts_of(st, name, INITIATOR_ISCSI, &set.iscsi, &all, seen, &hosts, err) < 0 ||
        p3_set_ensure(st, setname, &hosts, err) < 0 ||
        buf_addf(&g, err, P3_SET_PREFIX "%s", setname) < 0) {
        perr_prefix(err, "host set '%s': ", setname != NULL ? setname : name);
        goto out;
    }
    *actual = buf_steal(&g);
    if (*actual == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    json_decref(all);
    json_decref(seen);
    free(setname);
    buf_free(&g);
    strv_free(&hosts);
    strv_free(&fc);
    initiator_set_free(&set);
    return rc;
}

/* ---- VLUNs ---- */

static int
p3_vluns(struct storage *st, json_t **reply, struct perr *err)
{
    return rest_call(storage_rest(st), &p3_ep_vluns, NULL, NULL, reply, err);
}

/* The VLUN of volume to group in the list, or NULL (borrowed). */
static json_t *
p3_vlun_find(json_t *list, const char *volume, const char *group)
{
    size_t i;
    json_t *v;

    json_array_foreach(json_object_get(list, "members"), i, v)
    {
        if (strcmp(jsonx_string_or(v, "volumeName", ""), volume) == 0 &&
            strcmp(jsonx_string_or(v, "hostname", ""), group) == 0)
            return v;
    }
    return NULL;
}

/*
 * The LUN id is chosen here (lowest free for the group) and autoLun is sent
 * too: 3PAR refuses autoLun alone, Primera an explicit lun alone.
 */
static int
p3_map(struct storage *st, const char *group, const struct storage_lun *lun,
       struct storage_lun *mapped, struct perr *err)
{
    struct p3 *p3 = p3_of(st);
    bool used[256] = {false};
    json_t *list = NULL;
    size_t i;
    json_t *v;
    int id = 0;
    int made;
    int rc = -1;

    /* The list mapped_groups just read serves (once): a VLUN of this volume
     * to group made since is the create's "exists" (success), and a LUN id
     * taken since is skipped by the array (autoLun). */
    if (p3->vluns != NULL && strcmp(p3->vluns_vol, lun->name) == 0) {
        list = p3->vluns;
        p3->vluns = NULL;
        log_debug(P3_COMP, "vlun list of mapped_groups reused", "volume", lun->name, NULL);
    } else if (p3_vluns(st, &list, err) < 0) {
        goto out;
    }
    p3_forget_vluns(p3);
    if (p3_vlun_find(list, lun->name, group) != NULL) {
        log_debug(P3_COMP, "vlun exists", "group", group, "volume", lun->name, NULL);
        rc = storage_lun_copy(lun, mapped, err);
        goto out;
    }
    json_array_foreach(json_object_get(list, "members"), i, v)
    {
        json_int_t n = json_integer_value(json_object_get(v, "lun"));

        if (strcmp(jsonx_string_or(v, "hostname", ""), group) == 0 && n >= 0 && n < 256)
            used[n] = true;
    }
    for (id = 1; id < 256 && used[id]; id++)
        ;
    if (id == 256) {
        perr_set(err, PERR_CONFLICT, "no free LUN id left in 1..255");
        goto out;
    }
    made = rest_call(storage_rest(st), &p3_ep_vlun_create, NULL,
                     json_pack("{s:s, s:i, s:s, s:b}", "volumeName", lun->name, "lun", id,
                               "hostname", group, "autoLun", 1),
                     NULL, err);
    if (made < 0)
        goto out;
    p3->made_lun = 0;
    if (made == 0 &&
        (size_t)snprintf(p3->made_vol, sizeof(p3->made_vol), "%s", lun->name) <
            sizeof(p3->made_vol) &&
        (size_t)snprintf(p3->made_group, sizeof(p3->made_group), "%s", group) <
            sizeof(p3->made_group))
        p3->made_lun = id;
    rc = storage_lun_copy(lun, mapped, err);
out:
    if (rc < 0)
        perr_prefix(err, "volume '%s' to '%s': ", lun->name, group);
    json_decref(list);
    return rc;
}

/* DELETE vluns/<volume>,<lun>,<host or set:name>: 1 when there is no such
 * VLUN (the path names the volume, so it never removes another's). */
static int
p3_vlun_delete(struct storage *st, const char *group, const char *vol, const char *id,
               struct perr *err)
{
    return rest_call(
        storage_rest(st), p3_is_set(group) ? &p3_ep_vlun_delete_set : &p3_ep_vlun_delete_host,
        (struct rest_var[]){{"vol", vol},
                            {"lun", id},
                            {"host", p3_is_set(group) ? group + strlen(P3_SET_PREFIX) : group},
                            {NULL, NULL}},
        NULL, NULL, err);
}

static int
p3_unmap(struct storage *st, const char *group, const struct storage_lun *lun, struct perr *err)
{
    struct p3 *p3 = p3_of(st);
    json_t *list = NULL;
    json_t *v;
    char id[24];
    int r;
    int rc = -1;

    p3_forget_vluns(p3);
    if (p3->made_lun > 0 && strcmp(p3->made_vol, lun->name) == 0 &&
        strcmp(p3->made_group, group) == 0) {
        /* The VLUN this run made: its id is known.  A 404 there is looked
         * up below: autoLun may have given the VLUN another id than the one
         * asked for (a LUN id taken meanwhile), or it is already gone. */
        snprintf(id, sizeof(id), "%d", p3->made_lun);
        p3->made_lun = 0;
        r = p3_vlun_delete(st, group, lun->name, id, err);
        if (r < 0)
            goto out;
        if (r == 0) {
            rc = 0;
            goto out;
        }
        log_debug(P3_COMP, "vlun not under its id, listing", "group", group, "lun", id, NULL);
    }
    if (p3_vluns(st, &list, err) < 0)
        goto out;
    v = p3_vlun_find(list, lun->name, group);
    if (v == NULL) {
        log_debug(P3_COMP, "no vlun to remove", "group", group, "volume", lun->name, NULL);
        rc = 0;
        goto out;
    }
    snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(v, "lun")));
    if (p3_vlun_delete(st, group, lun->name, id, err) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "volume '%s' from '%s': ", lun->name, group);
    json_decref(list);
    return rc;
}

static int
p3_mapped_groups(struct storage *st, const struct storage_lun *lun, struct strv *out,
                 struct perr *err)
{
    struct p3 *p3 = p3_of(st);
    json_t *list = NULL;
    size_t i;
    json_t *v;
    int rc = -1;

    p3_forget_vluns(p3);
    if (p3_vluns(st, &list, err) < 0)
        goto out;
    json_array_foreach(json_object_get(list, "members"), i, v)
    {
        const char *host = jsonx_string_or(v, "hostname", "");

        if (strcmp(jsonx_string_or(v, "volumeName", ""), lun->name) != 0 || host[0] == '\0' ||
            strv_contains(out, host))
            continue;
        if (strv_add(out, host, err) < 0)
            goto out;
    }
    /* Kept for the map that follows (a name too long to keep is not). */
    if ((size_t)snprintf(p3->vluns_vol, sizeof(p3->vluns_vol), "%s", lun->name) <
        sizeof(p3->vluns_vol))
        p3->vluns = json_incref(list);
    else
        p3->vluns_vol[0] = '\0';
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "volume '%s': ", lun->name);
    json_decref(list);
    return rc;
}

/* ---- array-side copies ---- */

/* The WSAPI build, read once. */
static int
p3_build(struct storage *st, long *build, struct perr *err)
{
    struct p3 *p = p3_of(st);
    json_t *api = NULL;

    if (p->build == 0) {
        if (rest_call(storage_rest(st), &p3_ep_api, NULL, NULL, &api, err) < 0)
            return -1;
        p->build = (long)json_integer_value(json_object_get(api, "build"));
        json_decref(api);
        if (p->build <= 0)
            p->build = -1;
    }
    *build = p->build;
    return 0;
}

static void p3_leftover(struct strv *left, const char *fmt, ...) ATTR_PRINTF(2, 3);

static void
p3_leftover(struct strv *left, const char *fmt, ...)
{
    struct perr tmp = {0};
    char item[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(item, sizeof(item), fmt, ap);
    va_end(ap);
    if (left != NULL && strv_add(left, item, &tmp) < 0)
        log_debug(P3_COMP, "cannot record leftover", "error", tmp.msg, NULL);
}

static const char *const p3_task_done[] = {"1", NULL};
static const char *const p3_task_failed[] = {"3", "4", NULL}; /* cancelled, failed */

/* Promotes the snapshot dst to a base volume and waits for its task. */
static int
p3_promote(struct storage *st, const char *dst, struct perr *err)
{
    static const struct rest_job job = {
        .get = &p3_ep_task,
        .id_path = "taskid",
        .state_path = "status",
        .done = p3_task_done,
        .failed = p3_task_failed,
        .timeout_s = P3_PROMOTE_TIMEOUT_S,
    };
    json_t *reply = NULL;
    int rc = -1;

    if (p3_put(st, dst, json_pack("{s:i, s:b}", "action", P3_PROMOTE, "online", 1), &reply, err) <
        0)
        goto out;
    if (json_integer_value(json_object_get(reply, "taskid")) != 0 &&
        rest_job_wait(storage_rest(st), &job, reply, NULL, NULL, NULL, err) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "promote '%s': ", dst);
    json_decref(reply);
    return rc;
}

/*
 * Copies volume src onto target: rename target aside, snapshot src under
 * target's name, promote it, delete the renamed original.  A failure rolls
 * back what it can; what stays is added to left.
 */
static int
p3_copy(struct storage *st, const char *src_name, const struct storage_lun *target,
        struct strv *left, storage_progress_fn progress, void *arg, struct perr *err)
{
    char src[P3_NAME_MAX + 1];
    char dst[P3_NAME_MAX + 1];
    char *tmp = NULL;
    json_t *vol = NULL;
    struct perr undo = {0};
    struct buf seed = {0};
    const char *user_cpg;
    const char *snap_cpg;
    long build = 0;
    int rc = -1;

    if (target == NULL || target->name == NULL) {
        perr_set(err, PERR_INTERNAL, "copy without a target volume");
        goto out;
    }
    p3_volume_name(src_name, src);
    p3_volume_name(target->name, dst);
    if (rest_call(storage_rest(st), &p3_ep_volume, (struct rest_var[]){{"name", src}, {NULL, NULL}},
                  NULL, &vol, err) < 0)
        goto out;
    user_cpg = jsonx_string_or(vol, "userCPG", "");
    snap_cpg = jsonx_string_or(vol, "snapCPG", "");
    /* Older WSAPI builds cannot snapshot a volume without a snapshot CPG. */
    if (snap_cpg[0] == '\0' && user_cpg[0] != '\0') {
        if (p3_build(st, &build, err) < 0)
            goto out;
        if (build < P3_BUILD_2023 &&
            p3_put(st, src, json_pack("{s:s}", "snapCPG", user_cpg), NULL, err) < 0) {
            perr_prefix(err, "set snapshot CPG of '%s': ", src);
            goto out;
        }
    }
    /* The aside name follows from the target, so a leftover is recognisable. */
    if (buf_addf(&seed, err, "aside:%s", dst) < 0 || p3_hashed_name(buf_cstr(&seed), &tmp, err) < 0)
        goto out;
    if (p3_rename(st, dst, tmp, err) < 0)
        goto out;
    p3_progress(progress, arg, 10);
    if (rest_call(
            storage_rest(st), &p3_ep_snapshot, (struct rest_var[]){{"name", src}, {NULL, NULL}},
            json_pack("{s:s, s:{s:s}}", "action", "createSnapshot", "parameters", "name", dst),
            NULL, err) < 0) {
        perr_prefix(err, "snapshot '%s' as '%s': ", src, dst);
        if (p3_rename(st, tmp, dst, &undo) < 0)
            p3_leftover(left, "volume '%s' renamed to '%s'", dst, tmp);
        goto out;
    }
    p3_progress(progress, arg, 50);
    if (p3_promote(st, dst, err) < 0) {
        if (rest_call(storage_rest(st), &p3_ep_volume_delete,
                      (struct rest_var[]){{"name", dst}, {NULL, NULL}}, NULL, NULL, &undo) < 0) {
            p3_leftover(left, "snapshot volume '%s' of '%s'", dst, src);
            p3_leftover(left, "volume '%s' renamed to '%s'", dst, tmp);
        } else if (p3_rename(st, tmp, dst, &undo) < 0) {
            p3_leftover(left, "volume '%s' renamed to '%s'", dst, tmp);
        }
        if (perr_failed(&undo))
            log_debug(P3_COMP, "rollback incomplete", "error", undo.msg, NULL);
        goto out;
    }
    p3_progress(progress, arg, 90);
    /* The original is usually still exported to the worker node. */
    if (rest_call(storage_rest(st), &p3_ep_volume_delete,
                  (struct rest_var[]){{"name", tmp}, {NULL, NULL}}, NULL, NULL, &undo) < 0) {
        log_debug(P3_COMP, "cannot delete the original volume", "volume", tmp, "error", undo.msg,
                  NULL);
        p3_leftover(left, "volume '%s' (the previous '%s', renamed aside)", tmp, dst);
    }
    p3_progress(progress, arg, 100);
    log_debug(P3_COMP, "volume copied", "source", src, "target", dst, NULL);
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "copy '%s' onto '%s': ", src_name, target ? target->name : "");
    json_decref(vol);
    buf_free(&seed);
    free(tmp);
    return rc;
}

static bool
p3_all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return false;
    }
    return s[n] == '\0';
}

/* wwn matches the 32-hex NAA id (lower case): equal, or equal after the HPE
 * prefix when the array reports the WWN without it.  An empty wwn never
 * matches. */
static bool
p3_wwn_matches(const char *wwn, const char *id)
{
    size_t oui = strlen(P3_OUI);

    if (wwn == NULL || wwn[0] == '\0')
        return false;
    if (strcasecmp(wwn, id) == 0)
        return true;
    return strncasecmp(id, P3_OUI, oui) == 0 && strcasecmp(wwn, id + oui) == 0;
}

/* The name of the volume whose WWN matches id (copied into *name), from a
 * query, else (list_all) from the whole volume list. */
static int
p3_volume_by_wwn(struct storage *st, const char *id, bool list_all, char **name, struct perr *err)
{
    struct buf q = {0};
    json_t *reply = NULL;
    size_t i;
    json_t *v;
    int rc = -1;

    *name = NULL;
    if (buf_adds(&q, "\"wwn EQ ", err) < 0)
        goto out;
    for (const char *c = id; *c != '\0'; c++) {
        if (buf_addf(&q, err, "%c", toupper((unsigned char)*c)) < 0)
            goto out;
    }
    if (buf_adds(&q, "\"", err) < 0)
        goto out;
    for (int pass = 0; pass < 2 && *name == NULL; pass++) {
        if (pass == 1 && !list_all)
            break;
        json_decref(reply);
        reply = NULL;
        if (rest_call(storage_rest(st), &p3_ep_volumes,
                      (struct rest_var[]){{"query", pass == 0 ? buf_cstr(&q) : NULL}, {NULL, NULL}},
                      NULL, &reply, err) < 0)
            goto out;
        json_array_foreach(json_object_get(reply, "members"), i, v)
        {
            if (p3_wwn_matches(jsonx_string_or(v, "wwn", NULL), id)) {
                if (jsonx_strdup(v, "name", name, err) < 0)
                    goto out;
                break;
            }
        }
    }
    rc = 0;
out:
    json_decref(reply);
    buf_free(&q);
    return rc;
}

/* Primera reports VVol backing ids as "naa.<hex>" or "rfc4122.<uuid>": both
 * are the volume's WWN once the prefix and dashes are gone. */
static int
p3_vvol_copy(struct storage *st, const struct storage_copy_req *req, storage_progress_fn progress,
             void *arg, struct perr *err)
{
    const char *s = req->vvol_id != NULL ? req->vvol_id : "";
    char id[64];
    size_t n = 0;
    char *src = NULL;
    int rc = -1;

    if (strncasecmp(s, "rfc4122.", 8) == 0)
        s += 8;
    else if (strncasecmp(s, "naa.", 4) == 0)
        s += 4;
    for (; *s != '\0' && n + 1 < sizeof(id); s++) {
        if (*s != '-')
            id[n++] = (char)tolower((unsigned char)*s);
    }
    id[n] = '\0';
    if (n == 0 || *s != '\0' || !p3_all_hex(id, n)) {
        perr_set(err, PERR_USAGE, "VVol id '%s' is not a WWN or UUID",
                 req->vvol_id != NULL ? req->vvol_id : "");
        goto out;
    }
    p3_progress(progress, arg, 0);
    if (p3_volume_by_wwn(st, id, false, &src, err) < 0)
        goto out;
    if (src == NULL) {
        perr_set(err, PERR_NOT_FOUND, "no volume with WWN '%s' (VVol '%s')", id, req->vvol_id);
        goto out;
    }
    if (p3_copy(st, src, req->target, req->leftovers, progress, arg, err) < 0)
        goto out;
    rc = 0;
out:
    free(src);
    return rc;
}

/* The 32-hex NAA id (lower case) of an RDM: from its device name ("vml.…",
 * "naa.…", with or without /vmfs/devices/disks/) or its LUN UUID. */
static int
p3_rdm_naa(const struct storage_copy_req *req, char out[33], struct perr *err)
{
    const char *dev = req->rdm_device;
    const char *u = req->rdm_lun_uuid;
    char *naa = NULL;
    struct perr tmp = {0};

    if (dev != NULL && strncmp(dev, "/vmfs/devices/disks/", 20) == 0)
        dev += 20;
    if (dev != NULL && strncasecmp(dev, "vml.", 4) == 0 && naa_from_vml(dev, &naa, &tmp) == 0)
        dev = naa;
    if (dev != NULL && strncasecmp(dev, "naa.", 4) == 0 && strlen(dev) == 36 &&
        p3_all_hex(dev + 4, 32)) {
        snprintf(out, 33, "%s", dev + 4);
    } else if (u != NULL && strspn(u, "0123456789abcdefABCDEF") >= 42) {
        /* vSphere's LUN UUID: 10 hex digits, the NAA id, the model. */
        snprintf(out, 33, "%.32s", u + 10);
    } else {
        free(naa);
        return perr_set(err, PERR_USAGE, "RDM device '%s' has no NAA id",
                        req->rdm_device != NULL ? req->rdm_device : (u != NULL ? u : ""));
    }
    free(naa);
    for (char *c = out; *c != '\0'; c++)
        *c = (char)tolower((unsigned char)*c);
    if (strncmp(out, P3_OUI, strlen(P3_OUI)) != 0)
        return perr_set(err, PERR_USAGE,
                        "RDM device '%s' (naa.%s) does not appear to be an HPE Primera/3PAR volume",
                        req->rdm_device != NULL ? req->rdm_device : "", out);
    return 0;
}

static int
p3_rdm_copy(struct storage *st, const struct storage_copy_req *req, storage_progress_fn progress,
            void *arg, struct perr *err)
{
    char id[33];
    char *src = NULL;
    int rc = -1;

    if (p3_rdm_naa(req, id, err) < 0)
        goto out;
    p3_progress(progress, arg, 0);
    if (p3_volume_by_wwn(st, id, true, &src, err) < 0)
        goto out;
    if (src == NULL) {
        perr_set(err, PERR_NOT_FOUND, "no volume with WWN '%s' (RDM '%s')", id,
                 req->rdm_device != NULL ? req->rdm_device : "");
        goto out;
    }
    if (p3_copy(st, src, req->target, req->leftovers, progress, arg, err) < 0)
        goto out;
    rc = 0;
out:
    free(src);
    return rc;
}

static const struct storage_ops p3_ops = {
    .open = p3_open,
    .close = p3_close,
    .resolve_pv = p3_resolve_pv,
    .ensure_igroup = p3_ensure_igroup,
    .map = p3_map,
    .unmap = p3_unmap,
    .mapped_groups = p3_mapped_groups,
    .array_info = p3_array_info,
    .vvol_copy = p3_vvol_copy,
    .rdm_copy = p3_rdm_copy,
};

const struct storage_driver storage_primera3par = {
    .name = "primera3par",
    .vendor = "HPE",
    .product = "Primera/3PAR",
    .summary = "WSAPI with a session key; VVol and RDM copies on the array",
    .caps = STORAGE_CAP_ISCSI | STORAGE_CAP_FC | STORAGE_CAP_VVOL_COPY | STORAGE_CAP_RDM_COPY,
    .url = {.rule = STORAGE_URL_HOST},
    .naa = {.rule = STORAGE_NAA_WWN},
    .priv_size = sizeof(struct p3),
    .rest = &p3_dialect,
    .ops = &p3_ops,
};
