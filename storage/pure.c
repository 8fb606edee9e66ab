/*
 * Pure Storage FlashArray driver: REST 2.x (checked against the FA 2.56
 * OpenAPI document), with REST 1.x used only to trade a user name and password
 * for an API token.
 *
 * Session: GET /api/api_version (no auth) picks the highest 1.x and 2.x;
 * POST /api/<2.x>/login with "api-token: <token>" answers with the session in
 * the x-auth-token response header, which every later request carries.  A 401
 * logs in again once (the REST layer does that).
 *
 * Host objects: a Pure host can be in one host group only, so mapping goes to
 * the host that already holds the ESXi initiators (found by IQN or WWPN); only
 * when no host holds any of them is one created (personality esxi).  Group
 * names handed to the caller are host names, or "hg:<host group>" for a
 * volume shared through a host group.
 *
 * Connections and volume copies take their names as query parameters, as the
 * 2.x spec declares them (the Go populator also put them in the body).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/jsonx.h"
#include "lib/log.h"
#include "lib/rest.h"
#include "storage/reconcile.h"
#include "storage/storage.h"

#define PURE_COMP           "storage.pure"
#define PURE_HG_PREFIX      "hg:"
#define PURE_VVOL_NAMESPACE "vasa-integration.purestorage.com"

struct pure {
    char *api_v1;    /* highest 1.x, "1.19"; NULL when the array has none */
    char *api_v2;    /* highest 2.x, "2.36" */
    char *api_token; /* secret: STORAGE_TOKEN or traded for the credentials */
};

static struct pure *
pure_of(struct storage *st)
{
    return storage_priv(st);
}

/* ---- endpoints (FlashArray REST 2.x; paths under /api/<2.x>) ---- */

static const struct rest_endpoint pure_ep_api_version = {
    .name = "api-version",
    .method = "GET",
    .path = "/api/api_version",
    .ok = {200},
    .flags = REST_F_ROOT | REST_F_NO_AUTH,
};

/* REST 1.x: {"username","password"} -> {"api_token"}. */
static const struct rest_endpoint pure_ep_apitoken = {
    .name = "auth-apitoken",
    .method = "POST",
    .path = "/api/{v1}/auth/apitoken",
    .ok = {200},
    .flags = REST_F_ROOT | REST_F_NO_AUTH,
};

static const struct rest_endpoint pure_ep_login = {
    .name = "login",
    .method = "POST",
    .path = "/login",
    .ok = {200},
    .flags = REST_F_NO_AUTH | REST_F_RETRY,
};

static const struct rest_endpoint pure_ep_volumes = {
    .name = "volume-list",
    .method = "GET",
    .path = "/volumes",
    .query = "ids={ids}&names={names}&filter={filter}&destroyed=false",
    .ok = {200},
    .flags = REST_F_PAGED,
};

static const struct rest_endpoint pure_ep_volume_tags = {
    .name = "volume-tag-list",
    .method = "GET",
    .path = "/volumes/tags",
    .query = "resource_destroyed=false&namespaces=" PURE_VVOL_NAMESPACE "&filter={filter}",
    .ok = {200},
    .flags = REST_F_PAGED,
};

/* Overwriting the target with the same source again is harmless: retryable. */
static const struct rest_endpoint pure_ep_volume_copy = {
    .name = "volume-copy",
    .method = "POST",
    .path = "/volumes",
    .query = "names={names}&overwrite=true",
    .ok = {200},
    .flags = REST_F_RETRY,
};

static const struct rest_endpoint pure_ep_hosts = {
    .name = "host-list",
    .method = "GET",
    .path = "/hosts",
    .query = "filter=is_local",
    .ok = {200},
    .flags = REST_F_PAGED,
};

static const struct rest_endpoint pure_ep_host_create = {
    .name = "host-create",
    .method = "POST",
    .path = "/hosts",
    .query = "names={names}",
    .ok = {200},
    .already_code = PERR_CONFLICT,
};

static const struct rest_endpoint pure_ep_host_patch = {
    .name = "host-update",
    .method = "PATCH",
    .path = "/hosts",
    .query = "names={names}",
    .ok = {200},
};

/* "Connection already exists." is success. */
static const struct rest_endpoint pure_ep_connect = {
    .name = "connection-create",
    .method = "POST",
    .path = "/connections",
    .query = "host_names={host}&host_group_names={hg}&volume_names={vol}",
    .ok = {200},
    .already_code = PERR_CONFLICT,
};

/* A connection that does not exist is already gone. */
static const struct rest_endpoint pure_ep_disconnect = {
    .name = "connection-delete",
    .method = "DELETE",
    .path = "/connections",
    .query = "host_names={host}&host_group_names={hg}&volume_names={vol}",
    .ok = {200},
    .already_code = PERR_NOT_FOUND,
};

static const struct rest_endpoint pure_ep_connections = {
    .name = "connection-list",
    .method = "GET",
    .path = "/connections",
    .query = "volume_names={vol}",
    .ok = {200},
    .flags = REST_F_PAGED,
};

static const struct rest_endpoint pure_ep_arrays = {
    .name = "array-list",
    .method = "GET",
    .path = "/arrays",
    .ok = {200},
};

static const struct rest_endpoint pure_ep_controllers = {
    .name = "controller-list",
    .method = "GET",
    .path = "/controllers",
    .ok = {200},
};

/* The array's target ports: wwn (FC) or iqn (iSCSI) per port, null when the
 * port is of the other kind (and nqn for NVMe-oF, unused here). */
static const struct rest_endpoint pure_ep_ports = {
    .name = "port-list",
    .method = "GET",
    .path = "/ports",
    .ok = {200},
    .flags = REST_F_PAGED,
};

/* ---- dialect ---- */

/*
 * Error bodies: {"errors":[{"context":"<object>","message":"Volume does not
 * exist."}]} in 2.x; {"error":"invalid token"} style from the auth calls.
 * Pure has no error codes; the message decides: "does not exist" is a
 * missing object, "already exists" an existing one (both come as HTTP 400).
 */
static const struct rest_error_rule pure_error_rules[] = {
    {.status = 400, .text = "does not exist", .to = PERR_NOT_FOUND},
    {.status = 400, .text = "already exists", .to = PERR_CONFLICT},
    {.status = 404, .text = "does not exist", .to = PERR_NOT_FOUND},
    {.status = 409, .text = "already exists", .to = PERR_CONFLICT},
    {.status = 422, .text = "does not exist", .to = PERR_NOT_FOUND},
    {.status = 422, .text = "already exists", .to = PERR_CONFLICT},
    {0},
};

/* The auth calls' other shapes, and the object an error names. */
static void
pure_error_more(json_t *body, const char *raw, struct rest_error *e)
{
    const char *ctx =
        jsonx_string_or(json_array_get(json_object_get(body, "errors"), 0), "context", NULL);
    const char *alt = jsonx_string_or(body, "error", jsonx_string_or(body, "message", NULL));
    size_t len;

    (void)raw;
    if (e->text[0] == '\0' && alt != NULL)
        snprintf(e->text, sizeof(e->text), "%s", alt);
    len = strlen(e->text);
    if (ctx != NULL && ctx[0] != '\0' && len > 0)
        snprintf(e->text + len, sizeof(e->text) - len, " (context '%s')", ctx);
}

/* Trades the configured user name and password for an API token (REST 1.x). */
static int
pure_fetch_api_token(struct rest *r, struct pure *p, struct perr *err)
{
    json_t *reply = NULL;
    json_t *body;
    int rc = -1;

    if (rest_username(r) == NULL || rest_password(r) == NULL)
        return perr_set(err, PERR_USAGE,
                        "no STORAGE_TOKEN and no STORAGE_USERNAME/STORAGE_PASSWORD to get one");
    if (p->api_v1 == NULL)
        return perr_set(err, PERR_PROTOCOL,
                        "the array offers no API v1.x to trade credentials for an API token; "
                        "set STORAGE_TOKEN");
    body = json_pack("{s:s, s:s}", "username", rest_username(r), "password", rest_password(r));
    if (body == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    if (rest_call(r, &pure_ep_apitoken, (struct rest_var[]){{"v1", p->api_v1}, {NULL, NULL}}, body,
                  &reply, err) < 0 ||
        jsonx_strdup(reply, "api_token", &p->api_token, err) < 0) {
        perr_prefix(err, "failed to get an API token: ");
        goto out;
    }
    log_add_secret(p->api_token);
    rc = 0;
out:
    json_decref(reply);
    return rc;
}

/* The API token (traded for the credentials when none is configured) buys
 * the session; the table does the rest. */
static int
pure_login(struct rest *r, struct perr *err)
{
    struct pure *p = pure_of(storage_from_rest(r));
    struct buf hdr = {0};
    const char *hv[2] = {NULL, NULL};
    int rc = -1;

    if (p->api_token == NULL && pure_fetch_api_token(r, p, err) < 0)
        goto out;
    if (buf_addf(&hdr, err, "api-token: %s", p->api_token) < 0)
        goto out;
    hv[0] = buf_cstr(&hdr);
    if (rest_session_login(r, hv, err) < 0)
        goto out;
    log_debug(PURE_COMP, "session opened", "api", p->api_v2, NULL);
    rc = 0;
out:
    buf_free_secret(&hdr);
    return rc;
}

static const struct rest_session pure_session = {
    .login = &pure_ep_login,
    .from = REST_TOKEN_HEADER,
    .token_name = "x-auth-token",
    .send = "x-auth-token: %s",
    .relogin = REST_RELOGIN_401,
};

static const struct rest_dialect pure_dialect = {
    .base_path = NULL,
    .session = &pure_session,
    .errors =
        {
            .message = "errors.0.message",
            .message_alt = "error_description",
            .rules = pure_error_rules,
        },
    .pager =
        {
            .kind = REST_PAGER_TOKEN,
            .items = "items",
            .token = "continuation_token",
            .more = "more_items_remaining",
            .param = "continuation_token",
        },
    .login = pure_login,
    .error_from_body = pure_error_more,
};

/* ---- open / close ---- */

/* "M.m" -> true with the parts; anything else -> false. */
static bool
pure_version_parse(const char *s, long *major, long *minor)
{
    char *end;

    if (s[0] < '0' || s[0] > '9')
        return false;
    *major = strtol(s, &end, 10);
    if (*end != '.' || end[1] < '0' || end[1] > '9')
        return false;
    *minor = strtol(end + 1, &end, 10);
    return *end == '\0';
}

static int
pure_pick_versions(json_t *reply, struct pure *p, struct perr *err)
{
    json_t *list = json_object_get(reply, "version");
    long best[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    const char *pick[3] = {NULL, NULL, NULL};
    size_t i;
    json_t *v;

    if (!json_is_array(list))
        return perr_set(err, PERR_PROTOCOL, "api_version reply has no 'version' list");
    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);
        long ma;
        long mi;

        if (s == NULL || !pure_version_parse(s, &ma, &mi) || ma < 1 || ma > 2)
            continue;
        if (mi > best[ma][1]) {
            best[ma][0] = ma;
            best[ma][1] = mi;
            pick[ma] = s;
        }
    }
    if (pick[2] == NULL)
        return perr_set(err, PERR_PROTOCOL, "no API v2.x versions found");
    p->api_v2 = strdup(pick[2]);
    p->api_v1 = pick[1] != NULL ? strdup(pick[1]) : NULL;
    if (p->api_v2 == NULL || (pick[1] != NULL && p->api_v1 == NULL))
        return perr_set(err, PERR_NOMEM, "out of memory");
    return 0;
}

static int
pure_open(struct storage *st, struct perr *err)
{
    struct pure *p = pure_of(st);
    struct rest *r = storage_rest(st);
    const char *tok = storage_token(st);
    json_t *reply = NULL;
    struct buf base = {0};
    int rc = -1;

    if (rest_call(r, &pure_ep_api_version, NULL, NULL, &reply, err) < 0 ||
        pure_pick_versions(reply, p, err) < 0 || buf_addf(&base, err, "/api/%s", p->api_v2) < 0 ||
        rest_set_base_path(r, buf_cstr(&base), err) < 0)
        goto out;
    if (tok != NULL && tok[0] != '\0') {
        p->api_token = strdup(tok);
        if (p->api_token == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
    }
    if (rest_login(r, err) < 0)
        goto out;
    rc = 0;
out:
    json_decref(reply);
    buf_free(&base);
    return rc;
}

static void
pure_close(struct storage *st)
{
    struct pure *p = pure_of(st);

    free(p->api_v1);
    free(p->api_v2);
    str_free_secret(p->api_token);
    memset(p, 0, sizeof(*p));
}

/* ---- volumes ---- */

/* The first item of a list reply (borrowed from reply), or NULL. */
static json_t *
pure_first_item(json_t *reply)
{
    return json_array_get(json_object_get(reply, "items"), 0);
}

/* GET volumes with one of ids/names/filter; *item gets the first volume (a
 * new reference) or NULL when none matched. */
static int
pure_volume_find(struct storage *st, const char *ids, const char *names, const char *filter,
                 json_t **item, struct perr *err)
{
    json_t *reply = NULL;
    int rc = -1;

    *item = NULL;
    if (rest_call(
            storage_rest(st), &pure_ep_volumes,
            (struct rest_var[]){{"ids", ids}, {"names", names}, {"filter", filter}, {NULL, NULL}},
            NULL, &reply, err) < 0)
        goto out;
    *item = json_incref(pure_first_item(reply));
    rc = 0;
out:
    json_decref(reply);
    return rc;
}

/* Like pure_volume_find(), with "does not exist" answers folded into *item ==
 * NULL; the array's answer is kept in *miss (when it is still clear) for the
 * caller's message. */
static int
pure_volume_find_opt(struct storage *st, const char *ids, const char *names, json_t **item,
                     struct perr *miss, struct perr *err)
{
    struct perr tmp = {0};

    if (pure_volume_find(st, ids, names, NULL, item, &tmp) == 0)
        return 0;
    if (tmp.code == PERR_NOT_FOUND) {
        if (!perr_failed(miss))
            *miss = tmp;
        return 0;
    }
    *err = perr_failed(err) ? *err : tmp;
    return -1;
}

static const struct lun_fields pure_lun_fields = {
    .name = "name",
    .id = "id",
    .serial = "serial",
    .naa_from = "serial",
};

/*
 * The volume handle of a Pure CSI / Portworx FlashArray Direct Access PV is
 * the volume id; Portworx-made volumes are also found by name
 * "<PURE_CLUSTER_PREFIX>-<pv name>".
 */
static int
pure_resolve_pv(struct storage *st, const struct storage_pv *pv, struct storage_lun *out,
                struct perr *err)
{
    const char *prefix = storage_env(st, "PURE_CLUSTER_PREFIX");
    struct buf name = {0};
    struct perr miss = {0};
    json_t *vol = NULL;
    int rc = -1;

    if (pv->volume_handle != NULL && pv->volume_handle[0] != '\0' &&
        pure_volume_find_opt(st, pv->volume_handle, NULL, &vol, &miss, err) < 0)
        goto out;
    if (vol == NULL && prefix != NULL && prefix[0] != '\0') {
        if (buf_addf(&name, err, "%s-%s", prefix, pv->name) < 0 ||
            pure_volume_find_opt(st, NULL, buf_cstr(&name), &vol, &miss, err) < 0)
            goto out;
    }
    if (vol == NULL) {
        /* The array's own answer (HTTP status, text) goes with the error. */
        if (name.len > 0)
            perr_set_remote(err, PERR_NOT_FOUND, miss.http_status, miss.remote_code,
                            "no volume with id '%s' or name '%s'%s%s",
                            pv->volume_handle != NULL ? pv->volume_handle : "", buf_cstr(&name),
                            miss.msg[0] != '\0' ? ": " : "", miss.msg);
        else
            perr_set_remote(err, PERR_NOT_FOUND, miss.http_status, miss.remote_code,
                            "no volume with id '%s' (set PURE_CLUSTER_PREFIX to look it up by "
                            "name too)%s%s",
                            pv->volume_handle != NULL ? pv->volume_handle : "",
                            miss.msg[0] != '\0' ? ": " : "", miss.msg);
        goto out;
    }
    if (lun_from_json(&storage_pure, vol, &pure_lun_fields, out, err) < 0)
        goto out;
    log_debug(PURE_COMP, "volume resolved", "volume", out->name, "naa", out->naa, NULL);
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "PersistentVolume '%s': ", pv->name);
    json_decref(vol);
    buf_free(&name);
    return rc;
}

/* ---- hosts ---- */

/*
 * A Pure host is the group: found by the ESXi initiators it holds (an
 * initiator can be on one host only), else by name, else created with
 * personality esxi.  ctx holds the host list of the last find, because an
 * initiator that another host holds cannot be added (moving it would break
 * that host).
 */
struct pure_hosts {
    json_t *reply; /* the last GET hosts */
};

static bool
pure_host_has(json_t *host, enum initiator_proto kind, const char *initiator)
{
    json_t *list = json_object_get(host, kind == INITIATOR_FC ? "wwns" : "iqns");
    size_t i;
    json_t *v;

    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);

        if (s != NULL &&
            (kind == INITIATOR_FC ? wwn_equal(s, initiator) : strcasecmp(s, initiator) == 0))
            return true;
    }
    return false;
}

static bool
pure_any_host_has(json_t *hosts, enum initiator_proto kind, const char *initiator)
{
    size_t i;
    json_t *h;

    json_array_foreach(hosts, i, h)
    {
        if (pure_host_has(h, kind, initiator))
            return true;
    }
    return false;
}

static int
pure_host_find(struct storage *st, void *ctx, const char *name, const struct initiator_set *want,
               json_t **rec, struct perr *err)
{
    struct pure_hosts *ph = ctx;
    json_t *hosts;
    size_t i;
    json_t *h;

    *rec = NULL;
    json_decref(ph->reply);
    ph->reply = NULL;
    if (rest_call(storage_rest(st), &pure_ep_hosts, NULL, NULL, &ph->reply, err) < 0)
        return -1;
    hosts = json_object_get(ph->reply, "items");
    json_array_foreach(hosts, i, h)
    {
        for (size_t k = 0; k < want->fc.n && *rec == NULL; k++) {
            if (pure_host_has(h, INITIATOR_FC, want->fc.v[k]))
                *rec = h;
        }
        for (size_t k = 0; k < want->iscsi.n && *rec == NULL; k++) {
            if (pure_host_has(h, INITIATOR_ISCSI, want->iscsi.v[k]))
                *rec = h;
        }
        if (*rec != NULL)
            break;
    }
    json_array_foreach(hosts, i, h)
    {
        if (*rec != NULL)
            break;
        if (strcmp(jsonx_string_or(h, "name", ""), name) == 0)
            *rec = h;
    }
    json_incref(*rec);
    return 0;
}

/* body[key] = the initiators of one kind no host holds, when there are any. */
static int
pure_put_list(json_t *body, const char *key, json_t *hosts, const struct initiator_set *set,
              enum initiator_proto kind, struct perr *err)
{
    struct strv fc = {0};
    const struct strv *list = &set->iscsi;
    json_t *arr = json_array();
    int rc = -1;

    if (arr == NULL)
        goto nomem;
    if (kind == INITIATOR_FC) {
        if (initiators_fc_format(set, WWN_UPPER_COLON, &fc, err) < 0)
            goto out;
        list = &fc;
    }
    for (size_t i = 0; i < list->n; i++) {
        if (!pure_any_host_has(hosts, kind, list->v[i]) &&
            json_array_append_new(arr, json_string(list->v[i])) < 0)
            goto nomem;
    }
    rc = json_array_size(arr) == 0 || json_object_set(body, key, arr) == 0 ? 0 : -1;
    if (rc < 0)
        goto nomem;
    goto out;
nomem:
    perr_set(err, PERR_NOMEM, "out of memory");
out:
    json_decref(arr);
    strv_free(&fc);
    return rc;
}

static int
pure_host_create(struct storage *st, void *ctx, const char *name, const struct initiator_set *want,
                 struct perr *already, struct perr *err)
{
    struct pure_hosts *ph = ctx;
    json_t *hosts = json_object_get(ph->reply, "items");
    struct rest_request req = {
        .ep = &pure_ep_host_create,
        .vars = (struct rest_var[]){{"names", name}, {NULL, NULL}},
    };
    struct rest_reply reply = {0};
    int rc = -1;

    req.body = json_pack("{s:s}", "personality", "esxi");
    if (req.body == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    if (pure_put_list(req.body, "iqns", hosts, want, INITIATOR_ISCSI, err) < 0 ||
        pure_put_list(req.body, "wwns", hosts, want, INITIATOR_FC, err) < 0) {
        json_decref(req.body);
        goto out;
    }
    rc = rest_do(storage_rest(st), &req, &reply, err);
    if (rc == 1)
        group_already(&reply, already);
out:
    rest_reply_free(&reply);
    return rc;
}

static bool
pure_host_holds(void *ctx, json_t *rec, const char *initiator, enum initiator_proto kind)
{
    (void)ctx;
    return pure_host_has(rec, kind, initiator);
}

static int
pure_host_add(struct storage *st, void *ctx, json_t *rec, const struct initiator_set *missing,
              struct perr *err)
{
    struct pure_hosts *ph = ctx;
    json_t *hosts = json_object_get(ph->reply, "items");
    json_t *body = json_object();

    if (body == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    if (pure_put_list(body, "add_iqns", hosts, missing, INITIATOR_ISCSI, err) < 0 ||
        pure_put_list(body, "add_wwns", hosts, missing, INITIATOR_FC, err) < 0) {
        json_decref(body);
        return -1;
    }
    if (json_object_size(body) == 0) {
        json_decref(body);
        return 0;
    }
    return rest_call(storage_rest(st), &pure_ep_host_patch,
                     (struct rest_var[]){{"names", jsonx_string_or(rec, "name", "")}, {NULL, NULL}},
                     body, NULL, err);
}

static const struct group_ops pure_group_ops = {
    .find = pure_host_find,
    .create = pure_host_create,
    .holds = pure_host_holds,
    .add = pure_host_add,
};

static int
pure_ensure_igroup(struct storage *st, const char *name, const char *const *initiators,
                   size_t ninitiators, char **actual, struct perr *err)
{
    struct pure_hosts ph = {0};
    int rc;

    rc = group_ensure_ids(st, &pure_group_ops, &ph, name, initiators, ninitiators, PURE_COMP,
                          actual, err);
    if (rc < 0)
        perr_prefix(err, "host '%s': ", name);
    json_decref(ph.reply);
    return rc;
}

/* ---- connections ---- */

/* Variables for a connection call: "hg:<name>" is a host group. */
static void
pure_conn_vars(const char *group, const struct storage_lun *lun, struct rest_var vars[4])
{
    bool hg = strncmp(group, PURE_HG_PREFIX, strlen(PURE_HG_PREFIX)) == 0;

    vars[0] = (struct rest_var){"host", hg ? NULL : group};
    vars[1] = (struct rest_var){"hg", hg ? group + strlen(PURE_HG_PREFIX) : NULL};
    vars[2] = (struct rest_var){"vol", lun->name};
    vars[3] = (struct rest_var){NULL, NULL};
}

static int
pure_map(struct storage *st, const char *group, const struct storage_lun *lun,
         struct storage_lun *mapped, struct perr *err)
{
    struct rest_var vars[4];
    int rc;

    pure_conn_vars(group, lun, vars);
    rc = rest_call(storage_rest(st), &pure_ep_connect, vars, NULL, NULL, err);
    if (rc < 0) {
        perr_prefix(err, "volume '%s' to '%s': ", lun->name, group);
        return -1;
    }
    if (rc == 1)
        log_debug(PURE_COMP, "connection exists", "group", group, "volume", lun->name, NULL);
    return storage_lun_copy(lun, mapped, err);
}

static int
pure_unmap(struct storage *st, const char *group, const struct storage_lun *lun, struct perr *err)
{
    struct rest_var vars[4];
    int rc;

    pure_conn_vars(group, lun, vars);
    rc = rest_call(storage_rest(st), &pure_ep_disconnect, vars, NULL, NULL, err);
    if (rc < 0) {
        perr_prefix(err, "volume '%s' from '%s': ", lun->name, group);
        return -1;
    }
    if (rc == 1)
        log_debug(PURE_COMP, "no connection to remove", "group", group, "volume", lun->name, NULL);
    return 0;
}

static int
pure_mapped_groups(struct storage *st, const struct storage_lun *lun, struct strv *out,
                   struct perr *err)
{
    json_t *reply = NULL;
    struct buf g = {0};
    size_t i;
    json_t *c;
    int rc = -1;

    if (rest_call(storage_rest(st), &pure_ep_connections,
                  (struct rest_var[]){{"vol", lun->name}, {NULL, NULL}}, NULL, &reply, err) < 0)
        goto out;
    json_array_foreach(json_object_get(reply, "items"), i, c)
    {
        const char *hg = jsonx_string_or(json_object_get(c, "host_group"), "name", NULL);
        const char *host = jsonx_string_or(json_object_get(c, "host"), "name", NULL);

        buf_reset(&g);
        if (hg != NULL && hg[0] != '\0') {
            if (buf_addf(&g, err, "%s%s", PURE_HG_PREFIX, hg) < 0)
                goto out;
        } else if (host != NULL && host[0] != '\0') {
            if (buf_adds(&g, host, err) < 0)
                goto out;
        } else {
            continue;
        }
        if (!strv_contains(out, buf_cstr(&g)) && strv_add(out, buf_cstr(&g), err) < 0)
            goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "volume '%s': ", lun->name);
    json_decref(reply);
    buf_free(&g);
    return rc;
}

/* ---- array-side copies ---- */

static void
pure_progress(storage_progress_fn progress, void *arg, unsigned pct)
{
    if (progress != NULL)
        progress(arg, pct);
}

/* Filter values go inside '...' in Pure's filter language, which has no escape. */
static int
pure_filter_value_ok(const char *what, const char *v, struct perr *err)
{
    if (v == NULL || v[0] == '\0' || strpbrk(v, "'\\") != NULL)
        return perr_set(err, PERR_USAGE, "%s '%s' cannot be used in a FlashArray filter", what,
                        v != NULL ? v : "");
    return 0;
}

/* POST volumes?names=<target>&overwrite=true {"source":{"name":<source>}} */
static int
pure_copy_volume(struct storage *st, const char *source, const struct storage_lun *target,
                 struct perr *err)
{
    json_t *body;

    if (target == NULL || target->name == NULL)
        return perr_set(err, PERR_INTERNAL, "copy without a target volume");
    body = json_pack("{s:{s:s}}", "source", "name", source);
    if (body == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    if (rest_call(storage_rest(st), &pure_ep_volume_copy,
                  (struct rest_var[]){{"names", target->name}, {NULL, NULL}}, body, NULL,
                  err) < 0) {
        perr_prefix(err, "copy '%s' onto '%s': ", source, target->name);
        return -1;
    }
    log_debug(PURE_COMP, "volume copied", "source", source, "target", target->name, NULL);
    return 0;
}

static int
pure_vvol_copy(struct storage *st, const struct storage_copy_req *req, storage_progress_fn progress,
               void *arg, struct perr *err)
{
    struct buf filter = {0};
    json_t *reply = NULL;
    const char *src;
    int rc = -1;

    if (pure_filter_value_ok("VVol id", req->vvol_id, err) < 0 ||
        buf_addf(&filter, err, "key='PURE_VVOL_ID' AND value='%s'", req->vvol_id) < 0 ||
        rest_call(storage_rest(st), &pure_ep_volume_tags,
                  (struct rest_var[]){{"filter", buf_cstr(&filter)}, {NULL, NULL}}, NULL, &reply,
                  err) < 0)
        goto out;
    src = jsonx_string_or(json_object_get(pure_first_item(reply), "resource"), "name", NULL);
    if (src == NULL) {
        perr_set(err, PERR_NOT_FOUND, "no volume found with VVol ID '%s'", req->vvol_id);
        goto out;
    }
    pure_progress(progress, arg, 0);
    if (pure_copy_volume(st, src, req->target, err) < 0)
        goto out;
    pure_progress(progress, arg, 100);
    rc = 0;
out:
    json_decref(reply);
    buf_free(&filter);
    return rc;
}

static int
pure_rdm_copy(struct storage *st, const struct storage_copy_req *req, storage_progress_fn progress,
              void *arg, struct perr *err)
{
    struct buf filter = {0};
    struct buf vml = {0};
    const char *device = req->rdm_device;
    char *serial = NULL;
    json_t *vol = NULL;
    const char *src;
    int rc = -1;

    /* vSphere's LUN UUID is the vml id without its "vml." prefix. */
    if (device == NULL && req->rdm_lun_uuid != NULL) {
        if (buf_addf(&vml, err, "vml.%s", req->rdm_lun_uuid) < 0)
            goto out;
        device = buf_cstr(&vml);
    }
    if (device == NULL) {
        perr_set(err, PERR_INTERNAL, "RDM copy without a device name or LUN UUID");
        goto out;
    }
    if (naa_serial_from_device(device, storage_pure.naa.oui, "Pure FlashArray", &serial, err) < 0 ||
        pure_filter_value_ok("serial", serial, err) < 0 ||
        buf_addf(&filter, err, "serial='%s'", serial) < 0 ||
        pure_volume_find(st, NULL, NULL, buf_cstr(&filter), &vol, err) < 0)
        goto out;
    src = jsonx_string_or(vol, "name", NULL);
    if (src == NULL) {
        perr_set(err, PERR_NOT_FOUND, "no volume with serial '%s' (RDM '%s')", serial, device);
        goto out;
    }
    pure_progress(progress, arg, 10);
    if (pure_copy_volume(st, src, req->target, err) < 0)
        goto out;
    pure_progress(progress, arg, 100);
    rc = 0;
out:
    json_decref(vol);
    free(serial);
    buf_free(&vml);
    buf_free(&filter);
    return rc;
}

/* ---- array info ---- */

static int
pure_array_info(struct storage *st, struct storage_array_info *out, struct perr *err)
{
    json_t *arrays = NULL;
    json_t *ctrls = NULL;
    const char *version;
    const char *model = NULL;
    size_t i;
    json_t *c;
    int rc = -1;

    if (rest_call(storage_rest(st), &pure_ep_arrays, NULL, NULL, &arrays, err) < 0 ||
        rest_call(storage_rest(st), &pure_ep_controllers, NULL, NULL, &ctrls, err) < 0)
        goto out;
    version = jsonx_string_or(pure_first_item(arrays), "version", NULL);
    json_array_foreach(json_object_get(ctrls, "items"), i, c)
    {
        model = jsonx_string_or(c, "model", NULL);
        if (model != NULL && model[0] != '\0')
            break;
        model = NULL;
    }
    if (str_dup_opt(version, &out->version, err) < 0 || str_dup_opt(model, &out->model, err) < 0)
        goto out;
    rc = 0;
out:
    json_decref(arrays);
    json_decref(ctrls);
    return rc;
}

static int
pure_target_ports(struct storage *st, struct strv *fc, struct strv *iscsi, struct perr *err)
{
    json_t *reply = NULL;
    json_t *port;
    size_t i;
    int rc = -1;

    if (rest_call(storage_rest(st), &pure_ep_ports, NULL, NULL, &reply, err) < 0)
        goto out;
    json_array_foreach(json_object_get(reply, "items"), i, port)
    {
        const char *wwn = jsonx_string_or(port, "wwn", NULL);
        const char *iqn = jsonx_string_or(port, "iqn", NULL);

        if (wwn != NULL && wwn[0] != '\0' && !strv_contains(fc, wwn) && strv_add(fc, wwn, err) < 0)
            goto out;
        if (iqn != NULL && iqn[0] != '\0' && !strv_contains(iscsi, iqn) &&
            strv_add(iscsi, iqn, err) < 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(reply);
    return rc;
}

static const struct storage_ops pure_ops = {
    .open = pure_open,
    .close = pure_close,
    .resolve_pv = pure_resolve_pv,
    .ensure_igroup = pure_ensure_igroup,
    .map = pure_map,
    .unmap = pure_unmap,
    .mapped_groups = pure_mapped_groups,
    .array_info = pure_array_info,
    .target_ports = pure_target_ports,
    .vvol_copy = pure_vvol_copy,
    .rdm_copy = pure_rdm_copy,
};

static const struct storage_env_key pure_env_keys[] = {
    {"PURE_CLUSTER_PREFIX",
     "Portworx cluster prefix: volumes are also found by the name <prefix>-<PV name>"},
    {NULL, NULL},
};

const struct storage_driver storage_pure = {
    .name = "pureFlashArray",
    .vendor = "Pure Storage",
    .product = "FlashArray",
    .summary = "FlashArray REST 2.x (API token or user and password); VVol and RDM copies on "
               "the array",
    .caps = STORAGE_CAP_ISCSI | STORAGE_CAP_FC | STORAGE_CAP_VVOL_COPY | STORAGE_CAP_RDM_COPY,
    .env_keys = pure_env_keys,
    .url = {.rule = STORAGE_URL_HOST},
    .naa = {.rule = STORAGE_NAA_HEX_SERIAL, .oui = "624a9370", .serial_len = 24},
    .priv_size = sizeof(struct pure),
    .rest = &pure_dialect,
    .ops = &pure_ops,
};
