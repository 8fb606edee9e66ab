/*
 * Dell PowerFlex driver: the gateway's REST API under <host>/api, written
 * from vendors-a.md §3 and vendor-corrections.md §1 (PowerFlex).
 *
 * Session: GET /api/login with Basic user:password answers the token as a
 * bare JSON string; GET /api/version (Basic ":token") names the API version,
 * which every later request carries in Accept/Content-Type
 * ("application/json;version=4.5"); from 4.0 on the token travels as a
 * Bearer token, before as Basic ":token".  A 401 logs in again (the version
 * is kept).
 *
 * PowerFlex has no initiator groups: the "group" is the SDC (by its id) that
 * runs on the ESXi host, found by the GUID the flow hands over
 * (STORAGE_CAP_SDC), never created.  The ESXi device is
 * eui.<system id><volume id> (the volume as the SDC presents it).
 */
#include <ctype.h>
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

#define PFLEX_COMP   "storage.powerflex"
#define PFLEX_ID_HEX 16

struct powerflex {
    char *system_id; /* POWERFLEX_SYSTEM_ID, lower case, checked at open */
    char *version;   /* API version "4.5", negotiated at the first login */
    char *release;   /* the system's systemVersionName, for the metrics */
    bool bearer;     /* API >= 4.0 */
    /* The volume record resolve_pv read (owned), answered once to the
     * mapped_groups that follows it instead of a second GET of the volume. */
    json_t *resolved;
    char *resolved_id;
};

/* ---- dialect ---- */

/* The texts the gateway answers with (its "message"); the HTTP status of
 * these answers is not specific enough (mostly 500). */
static const struct rest_error_rule pflex_rules[] = {
    {.text = "already mapped", .to = PERR_CONFLICT},
    {.text = "not mapped", .to = PERR_NOT_FOUND},
    {.text = "Not found", .to = PERR_NOT_FOUND},
    {.text = "Could not find", .to = PERR_NOT_FOUND},
    {0},
};

/* "Error with details" carries the real text in its first detail. */
static void
pflex_error_from_body(json_t *body, const char *raw, struct rest_error *e)
{
    const char *detail = jsonx_string_or(rest_json_path(body, "details.0"), "errorMessage", NULL);

    (void)raw;
    if (strcmp(e->text, "Error with details") == 0 && detail != NULL)
        snprintf(e->text, sizeof(e->text), "%s", detail);
}

static int pflex_login(struct rest *r, struct perr *err);
static int pflex_auth_headers(struct rest *r, struct strv *hdrs, struct perr *err);

static const struct rest_endpoint pflex_ep_login = {
    .name = "login",
    .method = "GET",
    .path = "/login",
    .flags = REST_F_NO_AUTH,
};

static const struct rest_endpoint pflex_ep_version = {
    .name = "version",
    .method = "GET",
    .path = "/version",
    .flags = REST_F_NO_AUTH,
};

static const struct rest_session pflex_session = {
    .login = &pflex_ep_login,
    .login_basic = true,
    .from = REST_TOKEN_STRING,
    .relogin = REST_RELOGIN_401,
};

static const struct rest_dialect pflex_dialect = {
    .base_path = "/api",
    .session = &pflex_session,
    .errors =
        {
            .message = "message",
            .code = "errorCode",
            .rules = pflex_rules,
        },
    .login = pflex_login,
    .auth_headers = pflex_auth_headers,
    .error_from_body = pflex_error_from_body,
};

/* ---- endpoints ---- */

static const struct rest_endpoint pflex_ep_systems = {
    .name = "system-list",
    .method = "GET",
    .path = "/types/System/instances",
};

static const struct rest_endpoint pflex_ep_sdcs = {
    .name = "sdc-list",
    .method = "GET",
    .path = "/instances/System::{sys}/relationships/Sdc",
};

static const struct rest_endpoint pflex_ep_volume_id = {
    .name = "volume-id",
    .method = "POST",
    .path = "/types/Volume/instances/action/queryIdByKey",
};

static const struct rest_endpoint pflex_ep_volume = {
    .name = "volume-get",
    .method = "GET",
    .path = "/instances/Volume::{id}",
};

/* The array refuses a second mapping to the same SDC: that is success. */
static const struct rest_endpoint pflex_ep_map = {
    .name = "volume-map",
    .method = "POST",
    .path = "/instances/Volume::{id}/action/addMappedSdc",
    .already_code = PERR_CONFLICT,
};

/* A mapping (or volume) that is gone is success. */
static const struct rest_endpoint pflex_ep_unmap = {
    .name = "volume-unmap",
    .method = "POST",
    .path = "/instances/Volume::{id}/action/removeMappedSdc",
    .already_code = PERR_NOT_FOUND,
};

/* ---- session ---- */

static struct powerflex *
pflex_of(struct storage *st)
{
    return storage_priv(st);
}

/* "Authorization: Basic base64(":" token)" into out (a secret). */
static int
pflex_token_basic(const char *token, struct buf *out, struct perr *err)
{
    struct buf cred = {0};
    unsigned char *enc = NULL;
    size_t len;
    int rc = -1;

    if (buf_addf(&cred, err, ":%s", token) < 0)
        goto out;
    len = strlen(buf_cstr(&cred));
    enc = calloc(4 * ((len + 2) / 3) + 1, 1);
    if (enc == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    EVP_EncodeBlock(enc, (const unsigned char *)buf_cstr(&cred), (int)len);
    if (buf_adds(out, "Authorization: Basic ", err) < 0 ||
        buf_adds(out, (const char *)enc, err) < 0)
        goto out;
    rc = 0;
out:
    if (enc != NULL)
        explicit_bzero(enc, strlen((const char *)enc));
    free(enc);
    buf_free_secret(&cred);
    return rc;
}

/* "4.5" from the gateway's version string ("4.5", "3.6.700"): major.minor. */
static int
pflex_parse_version(const char *s, char **out, bool *bearer, struct perr *err)
{
    size_t major = strspn(s, "0123456789");
    size_t minor = s[major] == '.' ? strspn(s + major + 1, "0123456789") : 0;

    *out = NULL;
    if (major == 0 || minor == 0)
        return perr_set(err, PERR_PROTOCOL, "unexpected API version '%s'", s);
    if ((*out = strndup(s, major + 1 + minor)) == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    *bearer = strtol(s, NULL, 10) >= 4;
    return 0;
}

/* Logs in, then (first time only) asks for the API version, which decides
 * the media type and how the token is sent. */
static int
pflex_login(struct rest *r, struct perr *err)
{
    struct powerflex *pf = pflex_of(storage_from_rest(r));
    struct rest_reply reply = {0};
    struct buf auth = {0};
    struct buf media = {0};
    const char *hdrs[2] = {NULL, NULL};
    struct rest_request req = {.ep = &pflex_ep_version, .headers = hdrs};
    int rc = -1;

    if (rest_session_login(r, NULL, err) < 0)
        goto out;
    if (pf->version == NULL) {
        if (pflex_token_basic(rest_session(r), &auth, err) < 0)
            goto out;
        hdrs[0] = buf_cstr(&auth);
        if (rest_do(r, &req, &reply, err) < 0)
            goto out;
        if (!json_is_string(reply.json)) {
            perr_set(err, PERR_PROTOCOL, "GET /api/version did not answer a JSON string");
            goto out;
        }
        if (pflex_parse_version(json_string_value(reply.json), &pf->version, &pf->bearer, err) < 0)
            goto out;
        log_debug(PFLEX_COMP, "API version", "version", pf->version, NULL);
    }
    if (buf_addf(&media, err, "application/json;version=%s", pf->version) < 0 ||
        rest_set_media_type(r, buf_cstr(&media), err) < 0)
        goto out;
    rc = 0;
out:
    rest_reply_free(&reply);
    buf_free_secret(&auth);
    buf_free(&media);
    return rc;
}

static int
pflex_auth_headers(struct rest *r, struct strv *hdrs, struct perr *err)
{
    struct powerflex *pf = pflex_of(storage_from_rest(r));
    struct buf b = {0};
    int rc;

    if (rest_session(r) == NULL)
        return 0;
    if (pf->bearer)
        return strv_addf(hdrs, err, "Authorization: Bearer %s", rest_session(r));
    rc = pflex_token_basic(rest_session(r), &b, err) < 0 || strv_add(hdrs, buf_cstr(&b), err) < 0
             ? -1
             : 0;
    buf_free_secret(&b);
    return rc;
}

static bool
pflex_is_id(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n != PFLEX_ID_HEX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

static char *
pflex_lower_dup(const char *s)
{
    char *d = strdup(s);

    for (char *p = d; p != NULL && *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

/* Checks the configured system against the gateway's systems: a gateway may
 * manage several, and only the id decides (never an empty name). */
static int
pflex_open(struct storage *st, struct perr *err)
{
    struct powerflex *pf = pflex_of(st);
    const char *want = storage_env(st, "POWERFLEX_SYSTEM_ID");
    json_t *reply = NULL;
    json_t *sys;
    size_t i;
    int rc = -1;

    if (want == NULL || want[0] == '\0') {
        perr_set(err, PERR_USAGE,
                 "POWERFLEX_SYSTEM_ID is not set: give the PowerFlex system id (16 hex digits, "
                 "as in the CSI driver's vxflexos-config secret)");
        goto out;
    }
    if (!pflex_is_id(want)) {
        perr_set(err, PERR_USAGE, "POWERFLEX_SYSTEM_ID '%s' is not 16 hex digits", want);
        goto out;
    }
    if ((pf->system_id = pflex_lower_dup(want)) == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    if (rest_login(storage_rest(st), err) < 0 ||
        rest_call(storage_rest(st), &pflex_ep_systems, NULL, NULL, &reply, err) < 0) {
        storage_auth_hint(st, err);
        goto out;
    }
    if (!json_is_array(reply)) {
        perr_set(err, PERR_PROTOCOL, "system list is not an array");
        goto out;
    }
    json_array_foreach(reply, i, sys)
    {
        const char *id = jsonx_string_or(sys, "id", "");
        const char *rel = jsonx_string_or(sys, "systemVersionName", NULL);

        if (strcasecmp(id, pf->system_id) != 0)
            continue;
        if (rel != NULL && (pf->release = strdup(rel)) == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
        rc = 0;
        goto out;
    }
    perr_set(err, PERR_NOT_FOUND,
             "PowerFlex system '%s' not found on the gateway (check POWERFLEX_SYSTEM_ID)", want);
out:
    json_decref(reply);
    return rc;
}

static void
pflex_close(struct storage *st)
{
    struct powerflex *pf = pflex_of(st);

    free(pf->system_id);
    free(pf->version);
    free(pf->release);
    json_decref(pf->resolved);
    free(pf->resolved_id);
    memset(pf, 0, sizeof(*pf));
}

/* ---- volume ---- */

/* The ESXi device of a volume: eui.<system id><volume id>, both 16 hex
 * digits (the system id was checked against the gateway at open). */
static int
pflex_eui(const struct powerflex *pf, const char *vid, char **out, struct perr *err)
{
    *out = NULL;
    if (!pflex_is_id(vid))
        return perr_set(err, PERR_PROTOCOL, "invalid volume id '%s'", vid != NULL ? vid : "");
    if (asprintf(out, "eui.%s%s", pf->system_id, vid) < 0) {
        *out = NULL;
        return perr_set(err, PERR_NOMEM, "out of memory");
    }
    for (char *p = *out; *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    return 0;
}

/* The volume record of id into *rec (owned). */
static int
pflex_volume(struct storage *st, const char *id, json_t **rec, struct perr *err)
{
    if (rest_call(storage_rest(st), &pflex_ep_volume, (struct rest_var[]){{"id", id}, {NULL, NULL}},
                  NULL, rec, err) < 0) {
        storage_auth_hint(st, err);
        return -1;
    }
    if (!json_is_object(*rec))
        return perr_set(err, PERR_PROTOCOL, "volume '%s' record is not an object", id);
    return 0;
}

/* The volume is named by the CSI attribute "Name"; the volume handle
 * "<system>-<volume id>" is not parsed (the CSI driver owns its format). */
static int
pflex_resolve_pv(struct storage *st, const struct storage_pv *pv, struct storage_lun *out,
                 struct perr *err)
{
    struct powerflex *pf = pflex_of(st);
    const char *name = storage_pv_attr(pv, "Name");
    json_t *idv = NULL;
    json_t *rec = NULL;
    const char *id;
    int rc = -1;

    if (name == NULL || name[0] == '\0') {
        perr_set(err, PERR_USAGE,
                 "volume attribute 'Name' (the PowerFlex volume name) not found; it is essential "
                 "to locate the volume");
        goto out;
    }
    if (rest_call(storage_rest(st), &pflex_ep_volume_id, NULL, json_pack("{s:s}", "name", name),
                  &idv, err) < 0) {
        storage_auth_hint(st, err);
        if (err->code == PERR_NOT_FOUND)
            perr_prefix(err, "volume '%s' not found: ", name);
        goto out;
    }
    id = json_string_value(idv);
    if (id == NULL || !pflex_is_id(id)) {
        perr_set(err, PERR_PROTOCOL, "queryIdByKey for volume '%s' did not answer a volume id",
                 name);
        goto out;
    }
    if (pflex_volume(st, id, &rec, err) < 0)
        goto out;
    if (strcmp(jsonx_string_or(rec, "name", ""), name) != 0 ||
        strcasecmp(jsonx_string_or(rec, "id", ""), id) != 0) {
        perr_set(err, PERR_PROTOCOL, "volume id '%s' is not volume '%s'", id, name);
        goto out;
    }
    if ((out->name = strdup(name)) == NULL || (out->id = pflex_lower_dup(id)) == NULL ||
        pflex_eui(pf, out->id, &out->naa, err) < 0) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    log_debug(PFLEX_COMP, "volume resolved", "volume", out->name, "id", out->id, NULL);
    json_decref(pf->resolved);
    free(pf->resolved_id);
    pf->resolved = NULL;
    pf->resolved_id = strdup(out->id);
    if (pf->resolved_id != NULL)
        pf->resolved = json_incref(rec);
    rc = 0;
out:
    if (rc < 0) {
        perr_prefix(err, "PersistentVolume '%s': ", pv->name);
        storage_lun_clear(out);
    }
    json_decref(idv);
    json_decref(rec);
    return rc;
}

/* ---- SDC ---- */

static bool
pflex_guid_wanted(const char *guid, const char *const *initiators, size_t n)
{
    for (size_t i = 0; guid != NULL && i < n; i++) {
        if (strcasecmp(guid, initiators[i]) == 0)
            return true;
    }
    return false;
}

static int
pflex_ensure_igroup(struct storage *st, const char *name, const char *const *initiators,
                    size_t ninitiators, char **actual, struct perr *err)
{
    struct powerflex *pf = pflex_of(st);
    struct buf ids = {0};
    json_t *reply = NULL;
    json_t *sdc;
    size_t i;
    int rc = -1;

    *actual = NULL;
    if (rest_call(storage_rest(st), &pflex_ep_sdcs,
                  (struct rest_var[]){{"sys", pf->system_id}, {NULL, NULL}}, NULL, &reply,
                  err) < 0) {
        storage_auth_hint(st, err);
        goto out;
    }
    if (!json_is_array(reply)) {
        perr_set(err, PERR_PROTOCOL, "SDC list is not an array");
        goto out;
    }
    json_array_foreach(reply, i, sdc)
    {
        const char *id = jsonx_string_or(sdc, "id", NULL);

        if (strcmp(jsonx_string_or(sdc, "osType", ""), "Esx") != 0 ||
            !pflex_guid_wanted(jsonx_string_or(sdc, "sdcGuid", NULL), initiators, ninitiators))
            continue;
        if (id == NULL) {
            perr_set(err, PERR_PROTOCOL, "SDC record without 'id'");
            goto out;
        }
        if ((*actual = strdup(id)) == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
        log_debug(PFLEX_COMP, "SDC found by GUID", "group", name, "sdc", id, NULL);
        rc = 0;
        goto out;
    }
    for (i = 0; i < ninitiators; i++) {
        if (buf_addf(&ids, err, "%s'%s'", i > 0 ? ", " : "", initiators[i]) < 0)
            goto out;
    }
    perr_set(err, PERR_NOT_FOUND,
             "no ESXi SDC of PowerFlex system '%s' has the host's SDC GUID %s; install and "
             "register the SDC on the ESXi host (this driver never creates SDCs)",
             pf->system_id, ninitiators > 0 ? buf_cstr(&ids) : "(none given)");
out:
    buf_free(&ids);
    json_decref(reply);
    return rc;
}

/* ---- mappings ---- */

static int
pflex_map(struct storage *st, const char *group, const struct storage_lun *lun,
          struct storage_lun *mapped, struct perr *err)
{
    char *naa = NULL;
    int r;
    int rc = -1;

    memset(mapped, 0, sizeof(*mapped));
    if (pflex_eui(pflex_of(st), lun->id, &naa, err) < 0)
        goto out;
    /* allowMultipleMappings: the worker node's SDC keeps its mapping. */
    r = rest_call(
        storage_rest(st), &pflex_ep_map, (struct rest_var[]){{"id", lun->id}, {NULL, NULL}},
        json_pack("{s:s, s:s}", "sdcId", group, "allowMultipleMappings", "true"), NULL, err);
    if (r < 0) {
        storage_auth_hint(st, err);
        goto out;
    }
    if (r == 1)
        log_debug(PFLEX_COMP, "volume already mapped", "sdc", group, "volume", lun->name, NULL);
    if (storage_lun_copy(lun, mapped, err) < 0)
        goto out;
    /* The device as the host sees it, whatever the caller's record held. */
    free(mapped->naa);
    mapped->naa = naa;
    naa = NULL;
    rc = 0;
out:
    if (rc < 0) {
        perr_prefix(err, "volume '%s' to SDC '%s': ", lun->name, group);
        storage_lun_clear(mapped);
    }
    free(naa);
    return rc;
}

/* Only the ESXi host's SDC: never allSdcs, which would also cut the worker
 * node that has the volume attached. */
static int
pflex_unmap(struct storage *st, const char *group, const struct storage_lun *lun, struct perr *err)
{
    int r;

    r = rest_call(storage_rest(st), &pflex_ep_unmap,
                  (struct rest_var[]){{"id", lun->id}, {NULL, NULL}},
                  json_pack("{s:s}", "sdcId", group), NULL, err);
    if (r < 0) {
        storage_auth_hint(st, err);
        perr_prefix(err, "volume '%s' from SDC '%s': ", lun->name, group);
        return -1;
    }
    if (r == 1)
        log_debug(PFLEX_COMP, "volume was not mapped", "sdc", group, "volume", lun->name, NULL);
    return 0;
}

/* The SDCs the volume is mapped to now (no grace sleep: the flow restores
 * what it changed, and the array answers from its current state). */
static int
pflex_mapped_groups(struct storage *st, const struct storage_lun *lun, struct strv *out,
                    struct perr *err)
{
    struct powerflex *pf = pflex_of(st);
    json_t *rec = NULL;
    json_t *m;
    size_t i;
    int rc = -1;

    if (pf->resolved != NULL && strcmp(pf->resolved_id, lun->id) == 0) {
        /* Just read by resolve_pv: its mappings, once. */
        rec = pf->resolved;
        pf->resolved = NULL;
    } else if (pflex_volume(st, lun->id, &rec, err) < 0) {
        goto out;
    }
    json_array_foreach(json_object_get(rec, "mappedSdcInfo"), i, m)
    {
        const char *id = jsonx_string_or(m, "sdcId", NULL);

        if (id != NULL && !strv_contains(out, id) && strv_add(out, id, err) < 0)
            goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "volume '%s': ", lun->name);
    json_decref(rec);
    return rc;
}

static int
pflex_array_info(struct storage *st, struct storage_array_info *out, struct perr *err)
{
    struct powerflex *pf = pflex_of(st);
    const char *v = pf->release != NULL ? pf->release : pf->version;

    return str_dup_opt(v, &out->version, err);
}

static const struct storage_ops pflex_ops = {
    .open = pflex_open,
    .close = pflex_close,
    .resolve_pv = pflex_resolve_pv,
    .ensure_igroup = pflex_ensure_igroup,
    .map = pflex_map,
    .unmap = pflex_unmap,
    .mapped_groups = pflex_mapped_groups,
    .array_info = pflex_array_info,
};

static const struct storage_env_key powerflex_env_keys[] = {
    {"POWERFLEX_SYSTEM_ID", "the PowerFlex system id (part of the eui. device name)"},
    {NULL, NULL},
};

const struct storage_driver storage_powerflex = {
    .name = "powerflex",
    .vendor = "Dell",
    .product = "PowerFlex",
    .summary = "gateway REST under /api with a login token and API version negotiation; the "
               "ESXi host's SDC (found by its GUID, never created) maps the volume",
    .caps = STORAGE_CAP_SDC,
    .env_keys = powerflex_env_keys,
    .url = {.rule = STORAGE_URL_STRIP_API},
    .naa = {.rule = STORAGE_NAA_DRIVER},
    .priv_size = sizeof(struct powerflex),
    .rest = &pflex_dialect,
    .ops = &pflex_ops,
};
