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

#include "lib/jsonx.h"
#include "lib/log.h"
#include "lib/rest.h"
#include "storage/naa.h"
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

static void
secret_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
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

/* ---- dialect ---- */

/*
 * Error bodies: {"errors":[{"context":"<object>","message":"Volume does not
 * exist."}]} in 2.x; {"error":"invalid token"} style from the auth calls.
 * Pure has no error codes; the message decides: "does not exist" is a
 * missing object, "already exists" an existing one (both come as HTTP 400).
 */
static void
pure_error_from_body(json_t *body, const char *raw, struct rest_error *e)
{
    json_t *first = json_array_get(json_object_get(body, "errors"), 0);
    const char *msg = jsonx_string_or(first, "message", NULL);
    const char *ctx = jsonx_string_or(first, "context", NULL);

    (void)raw;
    if (msg == NULL)
        msg = jsonx_string_or(body, "error_description", NULL);
    if (msg == NULL)
        msg = jsonx_string_or(body, "error", NULL);
    if (msg == NULL)
        msg = jsonx_string_or(body, "message", NULL);
    if (msg == NULL)
        return;
    if (ctx != NULL && ctx[0] != '\0')
        snprintf(e->text, sizeof(e->text), "%s (context '%s')", msg, ctx);
    else
        snprintf(e->text, sizeof(e->text), "%s", msg);
    if (e->status >= 400 && e->status < 500 && e->status != 401 && e->status != 403) {
        if (strcasestr(msg, "does not exist") != NULL)
            e->code = PERR_NOT_FOUND;
        else if (strcasestr(msg, "already exists") != NULL)
            e->code = PERR_CONFLICT;
    }
}

static int
pure_auth_headers(struct rest *r, struct strv *hdrs, struct perr *err)
{
    const char *s = rest_session(r);

    if (s == NULL)
        return perr_set(err, PERR_AUTH, "no FlashArray session");
    return strv_addf(hdrs, err, "x-auth-token: %s", s);
}

/* Pages carry continuation_token while more items remain; the next request is
 * the same one with continuation_token=<token> (replacing an earlier one). */
static int
pure_next_page(json_t *page, const char *cur, struct buf *next, struct perr *err)
{
    const char *tok = jsonx_string_or(page, "continuation_token", NULL);
    const char *q = strchr(cur, '?');
    const char *s;
    bool any = false;

    if (tok == NULL || tok[0] == '\0' ||
        json_is_false(json_object_get(page, "more_items_remaining")))
        return 0;
    if (buf_add(next, cur, q != NULL ? (size_t)(q - cur) : strlen(cur), err) < 0 ||
        buf_adds(next, "?", err) < 0)
        return -1;
    for (s = q != NULL ? q + 1 : ""; *s != '\0';) {
        size_t len = strcspn(s, "&");

        if (strncmp(s, "continuation_token=", 19) != 0) {
            if ((any && buf_adds(next, "&", err) < 0) || buf_add(next, s, len, err) < 0)
                return -1;
            any = true;
        }
        s += len;
        if (*s == '&')
            s++;
    }
    if ((any && buf_adds(next, "&", err) < 0) || buf_adds(next, "continuation_token=", err) < 0 ||
        buf_add_url(next, tok, err) < 0)
        return -1;
    return 1;
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

static int
pure_login(struct rest *r, struct perr *err)
{
    struct pure *p = pure_of(storage_from_rest(r));
    struct buf hdr = {0};
    struct rest_reply reply = {0};
    struct rest_request req = {.ep = &pure_ep_login, .want_header = "x-auth-token"};
    const char *hv[2] = {NULL, NULL};
    int rc = -1;

    if (p->api_token == NULL && pure_fetch_api_token(r, p, err) < 0)
        goto out;
    if (buf_addf(&hdr, err, "api-token: %s", p->api_token) < 0)
        goto out;
    hv[0] = buf_cstr(&hdr);
    req.headers = hv;
    if (rest_do(r, &req, &reply, err) < 0) {
        perr_prefix(err, "login with the API token failed: ");
        goto out;
    }
    if (reply.header == NULL || reply.header[0] == '\0') {
        perr_set(err, PERR_PROTOCOL, "no x-auth-token header in the login reply");
        goto out;
    }
    if (rest_set_session(r, reply.header, err) < 0)
        goto out;
    log_debug(PURE_COMP, "session opened", "api", p->api_v2, NULL);
    rc = 0;
out:
    rest_reply_free(&reply);
    buf_free_secret(&hdr);
    return rc;
}

static const struct rest_dialect pure_dialect = {
    .base_path = NULL,
    .items_key = "items",
    .login = pure_login,
    .auth_headers = pure_auth_headers,
    .error_from_body = pure_error_from_body,
    .next_page = pure_next_page,
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
    secret_free(p->api_token);
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

static int
pure_lun_from_volume(json_t *vol, struct storage_lun *out, struct perr *err)
{
    if (jsonx_strdup(vol, "name", &out->name, err) < 0 ||
        jsonx_strdup(vol, "id", &out->id, err) < 0 ||
        jsonx_strdup(vol, "serial", &out->serial, err) < 0 ||
        naa_from_pure_serial(out->serial, &out->naa, err) < 0) {
        storage_lun_clear(out);
        return -1;
    }
    return 0;
}

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
    if (pure_lun_from_volume(vol, out, err) < 0)
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

/* Splits the ESXi initiators into the IQNs and WWPNs a Pure host holds. */
static int
pure_split_initiators(const char *const *inits, size_t n, struct strv *iqns, struct strv *wwns,
                      struct perr *err)
{
    for (size_t i = 0; i < n; i++) {
        char wwpn[WWN_BUF_SIZE];
        struct perr tmp = {0};

        switch (initiator_proto(inits[i])) {
        case INITIATOR_FC:
            if (initiator_fc_wwpn(inits[i], WWN_UPPER_COLON, wwpn, sizeof(wwpn), &tmp) < 0) {
                log_debug(PURE_COMP, "FC initiator skipped", "error", tmp.msg, NULL);
                break;
            }
            if (strv_add(wwns, wwpn, err) < 0)
                return -1;
            break;
        case INITIATOR_ISCSI:
            if (strncasecmp(inits[i], "nqn.", 4) == 0) {
                log_debug(PURE_COMP, "NVMe initiator skipped", "initiator", inits[i], NULL);
                break;
            }
            if (strv_add(iqns, inits[i], err) < 0)
                return -1;
            break;
        case INITIATOR_UNKNOWN:
            log_debug(PURE_COMP, "initiator of unknown kind skipped", "initiator", inits[i], NULL);
            break;
        }
    }
    if (iqns->n + wwns->n == 0)
        return perr_set(err, PERR_USAGE, "no usable FC or iSCSI initiator among the %zu given", n);
    return 0;
}

static bool
pure_host_has(json_t *host, const char *key, const char *initiator)
{
    json_t *list = json_object_get(host, key);
    size_t i;
    json_t *v;

    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);

        if (s != NULL &&
            (strcmp(key, "wwns") == 0 ? wwn_equal(s, initiator) : strcasecmp(s, initiator) == 0))
            return true;
    }
    return false;
}

/* The first host holding any of the initiators (WWNs first, then IQNs), or NULL. */
static json_t *
pure_host_match(json_t *hosts, const struct strv *iqns, const struct strv *wwns)
{
    size_t i;
    json_t *h;

    json_array_foreach(hosts, i, h)
    {
        for (size_t k = 0; k < wwns->n; k++) {
            if (pure_host_has(h, "wwns", wwns->v[k]))
                return h;
        }
        for (size_t k = 0; k < iqns->n; k++) {
            if (pure_host_has(h, "iqns", iqns->v[k]))
                return h;
        }
    }
    return NULL;
}

static json_t *
pure_host_named(json_t *hosts, const char *name)
{
    size_t i;
    json_t *h;

    json_array_foreach(hosts, i, h)
    {
        const char *n = jsonx_string_or(h, "name", NULL);

        if (n != NULL && strcmp(n, name) == 0)
            return h;
    }
    return NULL;
}

/* Initiators of list (kind key) that no host holds yet, as a JSON array. */
static json_t *
pure_missing(json_t *hosts, const char *key, const struct strv *list)
{
    json_t *out = json_array();

    for (size_t k = 0; out != NULL && k < list->n; k++) {
        size_t i;
        json_t *h;
        bool held = false;

        json_array_foreach(hosts, i, h)
        {
            if (pure_host_has(h, key, list->v[k])) {
                held = true;
                break;
            }
        }
        if (!held && json_array_append_new(out, json_string(list->v[k])) < 0) {
            json_decref(out);
            out = NULL;
        }
    }
    return out;
}

/* Sets body[key] = arr when arr is non-empty; consumes arr. */
static int
pure_set_list(json_t *body, const char *key, json_t *arr, struct perr *err)
{
    if (arr == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return 0;
    }
    if (json_object_set_new(body, key, arr) < 0)
        return perr_set(err, PERR_NOMEM, "out of memory");
    return 0;
}

static int
pure_ensure_igroup(struct storage *st, const char *name, const char *const *initiators,
                   size_t ninitiators, char **actual, struct perr *err)
{
    struct strv iqns = {0};
    struct strv wwns = {0};
    json_t *reply = NULL;
    json_t *hosts;
    json_t *host;
    json_t *body = NULL;
    struct rest_var cvars[] = {{"names", name}, {NULL, NULL}};
    struct rest_request creq = {.ep = &pure_ep_host_create, .vars = cvars};
    struct rest_reply crep = {0};
    const char *hname = name;
    int rc = -1;
    int created;

    if (pure_split_initiators(initiators, ninitiators, &iqns, &wwns, err) < 0 ||
        rest_call(storage_rest(st), &pure_ep_hosts, NULL, NULL, &reply, err) < 0)
        goto out;
    hosts = json_object_get(reply, "items");
    host = pure_host_match(hosts, &iqns, &wwns);
    if (host == NULL)
        host = pure_host_named(hosts, name);
    if (host != NULL) {
        hname = jsonx_string_or(host, "name", NULL);
        if (hname == NULL) {
            perr_set(err, PERR_PROTOCOL, "host without a name in the host list");
            goto out;
        }
    } else {
        body = json_pack("{s:s}", "personality", "esxi");
        if (body == NULL ||
            pure_set_list(body, "iqns", pure_missing(hosts, "iqns", &iqns), err) < 0 ||
            pure_set_list(body, "wwns", pure_missing(hosts, "wwns", &wwns), err) < 0) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
        creq.body = body;
        body = NULL;
        created = rest_do(storage_rest(st), &creq, &crep, err);
        if (created < 0)
            goto out;
        if (created == 0) {
            log_debug(PURE_COMP, "host created", "host", name, NULL);
            goto done;
        }
        /* "Already exists": someone made it meanwhile; the update below
         * adds our initiators to it. */
    }
    /* An existing host: add the initiators no host holds yet (an initiator
     * another host holds cannot be moved without breaking that host). */
    body = json_object();
    if (body == NULL ||
        pure_set_list(body, "add_iqns", pure_missing(hosts, "iqns", &iqns), err) < 0 ||
        pure_set_list(body, "add_wwns", pure_missing(hosts, "wwns", &wwns), err) < 0) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    if (json_object_size(body) > 0) {
        struct perr tmp = {0};

        if (rest_call(storage_rest(st), &pure_ep_host_patch,
                      (struct rest_var[]){{"names", hname}, {NULL, NULL}}, body, NULL, &tmp) < 0) {
            body = NULL;
            if (crep.status != 0 && tmp.code == PERR_NOT_FOUND) {
                /* The create said "already exists" and the host is not
                 * there: a conflict, in the array's words. */
                json_t *first = json_array_get(json_object_get(crep.json, "errors"), 0);

                perr_set_remote(err, PERR_CONFLICT, crep.status, "",
                                "create answered HTTP %ld (%s) but the host does not exist (%s)",
                                crep.status, jsonx_string_or(first, "message", "no message"),
                                tmp.msg);
            } else if (!perr_failed(err)) {
                *err = tmp;
            }
            goto out;
        }
        body = NULL;
        log_debug(PURE_COMP, "host initiators added", "host", hname, NULL);
    }
done:
    *actual = strdup(hname);
    if (*actual == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "host '%s': ", hname != NULL ? hname : name);
    json_decref(body);
    json_decref(reply);
    rest_reply_free(&crep);
    strv_free(&iqns);
    strv_free(&wwns);
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
    char *serial = NULL;
    json_t *vol = NULL;
    const char *src;
    int rc = -1;

    if (req->rdm_device == NULL) {
        perr_set(err, PERR_INTERNAL, "RDM copy without a device name");
        goto out;
    }
    if (naa_pure_serial_from_device(req->rdm_device, &serial, err) < 0 ||
        pure_filter_value_ok("serial", serial, err) < 0 ||
        buf_addf(&filter, err, "serial='%s'", serial) < 0 ||
        pure_volume_find(st, NULL, NULL, buf_cstr(&filter), &vol, err) < 0)
        goto out;
    src = jsonx_string_or(vol, "name", NULL);
    if (src == NULL) {
        perr_set(err, PERR_NOT_FOUND, "no volume with serial '%s' (RDM '%s')", serial,
                 req->rdm_device);
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
    out->vendor = strdup(storage_pure.vendor);
    out->product = strdup(storage_pure.product);
    out->version = version != NULL ? strdup(version) : NULL;
    out->model = model != NULL ? strdup(model) : NULL;
    if (out->vendor == NULL || out->product == NULL || (version != NULL && out->version == NULL) ||
        (model != NULL && out->model == NULL)) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    json_decref(arrays);
    json_decref(ctrls);
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
    .vvol_copy = pure_vvol_copy,
    .rdm_copy = pure_rdm_copy,
};

static const char *const pure_env_keys[] = {"PURE_CLUSTER_PREFIX", NULL};

const struct storage_driver storage_pure = {
    .name = "pureFlashArray",
    .vendor = "Pure Storage",
    .product = "FlashArray",
    .caps = STORAGE_CAP_ISCSI | STORAGE_CAP_FC | STORAGE_CAP_VVOL_COPY | STORAGE_CAP_RDM_COPY,
    .priv_size = sizeof(struct pure),
    .rest = &pure_dialect,
    .env_keys = pure_env_keys,
    .ops = &pure_ops,
};
