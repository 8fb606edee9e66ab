/*
 * Hitachi Vantara (VSP) driver: Configuration Manager REST API.
 *
 * Base URL: https://<first IPv4 of STORAGE_HOSTNAME>:<STORAGE_PORT>
 * /ConfigurationManager; objects live under /v1/objects, the version under
 * /configuration/version (apiVersion must be 1.9 or newer).
 *
 * Session: POST /v1/objects/sessions with Basic credentials and an explicit
 * aliveTime (the array's idle lifetime would otherwise apply silently); the
 * token goes back as "Authorization: Session <token>".  A session that
 * expired while the host was cloning answers 401 and is made again once (the
 * REST layer does that); close deletes it (DELETE sessions/<sessionId>).
 *
 * Groups: the array's host groups are never created.  A group name handed to
 * the caller is a list of "PORT,HG" pairs joined by ':' (HOSTGROUP_ID_LIST's
 * own syntax): the configured list, or the host groups whose port logins
 * carry one of the ESXi WWPNs.  mapped_groups() returns one pair per LU path
 * the LDEV has, so the caller's restore re-adds exactly those paths.
 *
 * LU paths and clones are asynchronous on the array: the request is sent
 * with "Response-Job-Status: Completed" and the job (202 + jobId) is polled
 * with backoff and a deadline.  Map and unmap first read the LDEV's paths,
 * so a path that is already there (or already gone) costs no job.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/deadline.h"
#include "lib/jsonx.h"
#include "lib/log.h"
#include "lib/rest.h"
#include "storage/reconcile.h"
#include "storage/storage.h"

#define VSP_COMP        "storage.vantara"
#define VSP_OUI         "60060e80"
#define VSP_JOB_HEADER  "Response-Job-Status: Completed"
#define VSP_CLONE_MAX_S (12L * 3600L)
#define VSP_UNSEEN_S    60L

/* Per-handle state: nothing survives but what open() learned. */
struct vantara {
    char *api_version; /* "1.9.0" */
    char *group;       /* the last group ensure_igroup() gave, "PORT,HG[:PORT,HG]" */
    /* The LDEV record resolve_pv read (owned), reused by mapped_groups and
     * map until map adds a path; unmap always reads afresh (it needs the
     * LUN numbers of the paths as they are). */
    json_t *ldev;
    char *ldev_id;
    /* The port listing with logins target_ports read (owned) when the host
     * groups are to be discovered, taken by that discovery instead of
     * listing the ports again. */
    json_t *ports;
};

static void
vsp_forget_ldev(struct vantara *v)
{
    json_decref(v->ldev);
    free(v->ldev_id);
    v->ldev = NULL;
    v->ldev_id = NULL;
}

static struct vantara *
vsp_of(struct storage *st)
{
    return storage_priv(st);
}

/* ---- endpoints (paths under /ConfigurationManager) ---- */

static const struct rest_endpoint vsp_ep_version = {
    .name = "version",
    .method = "GET",
    .path = "/configuration/version",
    .ok = {200},
    .flags = REST_F_ROOT | REST_F_NO_AUTH,
};

static const struct rest_endpoint vsp_ep_login = {
    .name = "session-create",
    .method = "POST",
    .path = "/objects/sessions",
    .ok = {200},
    .flags = REST_F_NO_AUTH,
};

static const struct rest_endpoint vsp_ep_logout = {
    .name = "session-delete",
    .method = "DELETE",
    .path = "/objects/sessions/{session_id}",
    .ok = {200},
    .already = {404},
};

static const struct rest_endpoint vsp_ep_job = {
    .name = "job-get",
    .method = "GET",
    .path = "/objects/jobs/{id}",
    .ok = {200},
};

static const struct rest_endpoint vsp_ep_ldev = {
    .name = "ldev-get",
    .method = "GET",
    .path = "/objects/ldevs/{id}",
    .ok = {200},
};

static const struct rest_endpoint vsp_ep_ports = {
    .name = "port-list",
    .method = "GET",
    .path = "/objects/ports",
    .query = "detailInfoType={detail}",
    .ok = {200},
};

/* Adding a path twice is refused by the array (see vsp_already_rules). */
static const struct rest_endpoint vsp_ep_lun_add = {
    .name = "lun-create",
    .method = "POST",
    .path = "/objects/luns",
    .ok = {200, 202},
    .already_code = PERR_CONFLICT,
};

static const struct rest_endpoint vsp_ep_lun_delete = {
    .name = "lun-delete",
    .method = "DELETE",
    .path = "/objects/luns/{port},{hg},{lun}",
    .ok = {200, 202},
    .already_code = PERR_NOT_FOUND,
};

static const struct rest_endpoint vsp_ep_snapshot_create = {
    .name = "snapshot-create",
    .method = "POST",
    .path = "/objects/snapshots",
    .ok = {200, 202},
};

static const struct rest_endpoint vsp_ep_snapshots = {
    .name = "snapshot-list",
    .method = "GET",
    .path = "/objects/snapshots",
    .query = "snapshotGroupName={group}&pvolLdevId={pvol}",
    .ok = {200},
};

static const struct rest_endpoint vsp_ep_storages = {
    .name = "storage-list",
    .method = "GET",
    .path = "/objects/storages",
    .ok = {200},
};

static const struct rest_endpoint vsp_ep_storage = {
    .name = "storage-get",
    .method = "GET",
    .path = "/objects/storages/{id}",
    .ok = {200},
};

/* ---- dialect ---- */

/*
 * Error bodies: {"errorSource": "<url>", "messageId": "KART40046-E",
 * "message": "...", "solution": "...", "errorCode": {"SSB1": "B958",
 * "SSB2": "015A"}}.  The SSB pair is what identifies a storage-side refusal;
 * a missing object comes as HTTP 404.
 */
static const struct rest_session vsp_session = {
    .login = &vsp_ep_login,
    .login_basic = true,
    .body_extra = "{\"aliveTime\":300}",
    .from = REST_TOKEN_JSON,
    .token_name = "token",
    .id_path = "sessionId",
    .send = "Authorization: Session %s",
    .relogin = REST_RELOGIN_401,
    .logout = &vsp_ep_logout,
};

static const struct rest_dialect vsp_dialect = {
    .base_path = "/v1",
    .session = &vsp_session,
    .errors =
        {
            .message = "message",
            .code = "messageId",
        },
    /* The array answers 503 while it is busy with another configuration
     * change; the request was not carried out, so any method may repeat it
     * (a bounded number of times, unlike an endless 60 s loop). */
    .retry =
        {
            .statuses = {503},
            .attempts = 6,
            .initial_ms = 1000,
            .max_ms = 16000,
            .any_method = true,
        },
};

/* The SSB pair of a job's or an answer's error object, "" when absent. */
static void
vsp_ssb(json_t *error, char *out, size_t n)
{
    json_t *codes = json_object_get(error, "errorCode");

    snprintf(out, n, "%s/%s", jsonx_string_or(codes, "SSB1", ""),
             jsonx_string_or(codes, "SSB2", ""));
}

/* ---- async jobs ---- */

static const char *const vsp_job_done[] = {"Completed", NULL};

/* Job states: status Initializing -> Running -> Completed; state says
 * whether it Succeeded or Failed (a failed job is also "Completed").  The
 * first look comes 20 ms after the 202 and the wait doubles from there: a job
 * that is done in a moment (an LU path, mostly) costs the populate tens of ms,
 * not the quarter second a first wait of 250 ms did, and a job that takes
 * minutes costs only a few more GETs. */
static const struct rest_job vsp_job = {
    .get = &vsp_ep_job,
    .id_path = "jobId",
    .state_path = "status",
    .done = vsp_job_done,
    .first_ms = 20,
    .max_ms = 4000,
    .timeout_s = 600,
};

/* What a failed job means to the caller: "already done" SSB pairs. */
struct vsp_already {
    const char *ssb;  /* "B958/015A" */
    const char *text; /* case-insensitive substring of the message */
};

/* LU path already defined (add) / LU path not defined (delete). */
static const struct vsp_already vsp_path_exists[] = {
    {.ssb = "B958/015A"},
    {.text = "already exists"},
    {NULL, NULL},
};

static const struct vsp_already vsp_path_missing[] = {
    {.ssb = "B958/0B2B"},
    {.text = "does not exist"},
    {NULL, NULL},
};

static bool
vsp_is_already(json_t *error, const struct vsp_already *list)
{
    const char *msg = jsonx_string_or(error, "message", "");
    char ssb[64];

    vsp_ssb(error, ssb, sizeof(ssb));
    for (size_t i = 0; list != NULL && (list[i].ssb != NULL || list[i].text != NULL); i++) {
        if (list[i].ssb != NULL && strcasecmp(ssb, list[i].ssb) == 0)
            return true;
        if (list[i].text != NULL && strcasestr(msg, list[i].text) != NULL)
            return true;
    }
    return false;
}

/*
 * Sends one asynchronous command and waits for its job.  Returns 0 when the
 * job succeeded, 1 when the array said it was already done (an "already"
 * answer of the endpoint, or a failed job whose error is in `already`), -1
 * with the array's message otherwise.  *final (may be NULL) gets the job.
 */
static int
vsp_async(struct storage *st, const struct rest_endpoint *ep, const struct rest_var *vars,
          json_t *body, const struct vsp_already *already, rest_progress_fn fn, void *arg,
          json_t **final, struct perr *err)
{
    static const char *const hdrs[] = {VSP_JOB_HEADER, NULL};
    struct rest_request req = {.ep = ep, .vars = vars, .body = body, .headers = hdrs};
    struct rest_reply reply = {0};
    json_t *job = NULL;
    json_t *jerr;
    char ssb[64];
    int rc = -1;

    if (final != NULL)
        *final = NULL;
    rc = rest_do(storage_rest(st), &req, &reply, err);
    if (rc != 0)
        goto out;
    rc = -1;
    if (rest_job_wait(storage_rest(st), &vsp_job, reply.json, fn, arg, &job, err) < 0)
        goto out;
    if (strcasecmp(jsonx_string_or(job, "state", ""), "Failed") == 0) {
        jerr = json_object_get(job, "error");
        if (vsp_is_already(jerr, already)) {
            log_debug(VSP_COMP, "job says already done", "job", jsonx_string_or(job, "self", ""),
                      "message", jsonx_string_or(jerr, "message", ""), NULL);
            rc = 1;
            goto done;
        }
        vsp_ssb(jerr, ssb, sizeof(ssb));
        perr_set_remote(err, PERR_REMOTE, reply.status, jsonx_string_or(jerr, "messageId", ""),
                        "job %" JSON_INTEGER_FORMAT " failed: %s [SSB %s]",
                        json_integer_value(json_object_get(job, "jobId")),
                        jsonx_string_or(jerr, "message", "no message"), ssb);
        goto out;
    }
    rc = 0;
done:
    if (final != NULL) {
        *final = job;
        job = NULL;
    }
out:
    json_decref(job);
    rest_reply_free(&reply);
    return rc;
}

/* ---- open / close ---- */

/* "1.9.0" -> true when 1.9 or newer. */
static bool
vsp_version_ok(const char *v)
{
    char *end;
    long major;
    long minor;

    if (v == NULL || !isdigit((unsigned char)v[0]))
        return false;
    major = strtol(v, &end, 10);
    if (*end != '.' || !isdigit((unsigned char)end[1]))
        return false;
    minor = strtol(end + 1, &end, 10);
    if (*end != '\0' && *end != '.')
        return false;
    return major > 1 || (major == 1 && minor >= 9);
}

static int
vsp_open(struct storage *st, struct perr *err)
{
    struct vantara *v = vsp_of(st);
    struct rest *r = storage_rest(st);
    json_t *reply = NULL;
    const char *ver;
    int rc = -1;

    if (rest_call(r, &vsp_ep_version, NULL, NULL, &reply, err) < 0)
        goto out;
    ver = jsonx_string_or(reply, "apiVersion", NULL);
    if (!vsp_version_ok(ver)) {
        perr_set(err, PERR_UNSUPPORTED,
                 "Configuration Manager API version '%s' is too old; 1.9 or newer is required",
                 ver != NULL ? ver : "?");
        goto out;
    }
    v->api_version = strdup(ver);
    if (v->api_version == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    if (rest_login(r, err) < 0)
        goto out;
    log_debug(VSP_COMP, "session opened", "api", v->api_version, NULL);
    rc = 0;
out:
    json_decref(reply);
    return rc;
}

static void
vsp_close(struct storage *st)
{
    struct vantara *v = vsp_of(st);

    if (storage_rest(st) != NULL)
        rest_logout(storage_rest(st));
    free(v->api_version);
    free(v->group);
    vsp_forget_ldev(v);
    json_decref(v->ports);
    memset(v, 0, sizeof(*v));
}

/* ---- host-group pairs ---- */

/* "CL1-A,1" -> port "CL1-A", hg "1" (copied into the caller's buffers). */
static int
vsp_pair_parse(const char *pair, char *port, size_t np, char *hg, size_t nh, struct perr *err)
{
    const char *comma = strchr(pair, ',');
    size_t plen = comma != NULL ? (size_t)(comma - pair) : 0;

    if (comma == NULL || plen == 0 || plen >= np || comma[1] == '\0' ||
        strspn(comma + 1, "0123456789") != strlen(comma + 1) || strlen(comma + 1) >= nh)
        return perr_set(err, PERR_USAGE,
                        "host group '%s' is not \"PORT,NUMBER\" (as in HOSTGROUP_ID_LIST "
                        "\"CL1-A,1:CL2-B,2\")",
                        pair);
    memcpy(port, pair, plen);
    port[plen] = '\0';
    snprintf(hg, nh, "%s", comma + 1);
    return 0;
}

/* Splits "CL1-A,1 : CL2-B,2" on ':' (items trimmed, empty ones dropped) and
 * checks every pair; duplicates are dropped. */
static int
vsp_pairs_split(const char *list, struct strv *out, struct perr *err)
{
    const char *p = list;

    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, ':');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        char item[64];
        char port[32];
        char hg[16];

        while (len > 0 && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        if (len >= sizeof(item))
            return perr_set(err, PERR_USAGE, "host group '%.*s' is too long", (int)len, p);
        memcpy(item, p, len);
        item[len] = '\0';
        if (len > 0) {
            if (vsp_pair_parse(item, port, sizeof(port), hg, sizeof(hg), err) < 0)
                return -1;
            if (!strv_contains(out, item) && strv_add(out, item, err) < 0)
                return -1;
        }
        p = end != NULL ? end + 1 : NULL;
    }
    return 0;
}

/* A login's isLogin: JSON true or "true"; absent counts as logged in. */
static bool
vsp_logged_in(json_t *login)
{
    json_t *v = json_object_get(login, "isLogin");

    if (v == NULL)
        return true;
    if (json_is_boolean(v))
        return json_is_true(v);
    return json_is_string(v) && strcasecmp(json_string_value(v), "true") == 0;
}

/* HOSTGROUP_ID_LIST when it names host groups, else NULL (discovery). */
static const char *
vsp_hg_list(struct storage *st)
{
    const char *list = storage_env(st, "HOSTGROUP_ID_LIST");

    return list != NULL && strspn(list, " \t:") != strlen(list) ? list : NULL;
}

/* The host groups whose port logins carry one of the WWPNs. */
static int
vsp_discover(struct storage *st, const struct initiator_set *set, struct strv *out,
             struct perr *err)
{
    struct vantara *v = vsp_of(st);
    json_t *reply = NULL;
    size_t i;
    size_t k;
    json_t *port;
    json_t *login;
    int rc = -1;

    /* The listing target_ports read moments ago serves once. */
    if (v->ports != NULL) {
        reply = v->ports;
        v->ports = NULL;
        log_debug(VSP_COMP, "port logins of target_ports reused", NULL);
    } else if (rest_call(storage_rest(st), &vsp_ep_ports,
                         (struct rest_var[]){{"detail", "logins"}, {NULL, NULL}}, NULL, &reply,
                         err) < 0) {
        goto out;
    }
    json_array_foreach(json_object_get(reply, "data"), i, port)
    {
        json_array_foreach(json_object_get(port, "logins"), k, login)
        {
            const char *wwn = jsonx_string_or(login, "loginWwn", NULL);
            const char *hg = jsonx_string_or(login, "hostGroupId", NULL);

            if (wwn == NULL || hg == NULL)
                continue;
            for (size_t j = 0; j < set->fc.n; j++) {
                if (!wwn_equal(wwn, set->fc.v[j]))
                    continue;
                if (!vsp_logged_in(login)) {
                    log_debug(VSP_COMP, "WWPN registered but not logged in", "wwpn", wwn,
                              "host_group", hg, NULL);
                    continue;
                }
                if (!strv_contains(out, hg) && strv_add(out, hg, err) < 0)
                    goto out;
            }
        }
    }
    rc = 0;
out:
    json_decref(reply);
    return rc;
}

/*
 * The group is the host groups to map to: HOSTGROUP_ID_LIST when set (no
 * call), otherwise those found through the ports' logins.  Host groups are
 * the administrator's (host mode options 54 and 63 for VAAI): none is ever
 * created or changed, so name is not used.
 */
static int
vsp_ensure_igroup(struct storage *st, const char *name, const char *const *initiators,
                  size_t ninitiators, char **actual, struct perr *err)
{
    const char *list = vsp_hg_list(st);
    struct initiator_set set = {0};
    struct strv pairs = {0};
    struct buf joined = {0};
    int rc = -1;

    (void)name;
    *actual = NULL;
    if (list != NULL) {
        if (vsp_pairs_split(list, &pairs, err) < 0) {
            perr_prefix(err, "HOSTGROUP_ID_LIST: ");
            goto out;
        }
    } else {
        if (initiators_split(initiators, ninitiators, INITIATOR_KIND(INITIATOR_FC), VSP_COMP, &set,
                             err) < 0 ||
            vsp_discover(st, &set, &pairs, err) < 0)
            goto out;
        if (pairs.n == 0) {
            perr_set(err, PERR_NOT_FOUND,
                     "no host group of the array has a login from the ESXi host's %zu FC "
                     "initiator(s); check the zoning or set HOSTGROUP_ID_LIST",
                     set.fc.n);
            goto out;
        }
    }
    if (strv_join(&pairs, ":", &joined, err) < 0)
        goto out;
    *actual = strdup(buf_cstr(&joined));
    free(vsp_of(st)->group);
    vsp_of(st)->group = strdup(buf_cstr(&joined));
    if (*actual == NULL || vsp_of(st)->group == NULL) {
        free(*actual);
        *actual = NULL;
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    buf_free(&joined);
    strv_free(&pairs);
    initiator_set_free(&set);
    return rc;
}

/* ---- LDEVs ---- */

/*
 * HSPC CSI volume handle: "01--<protocol>--<storage device id>--<ldev id>--
 * <nickname>".  The nickname is the rest of the handle, so one holding "--"
 * still parses.
 */
static int
vsp_handle_parse(const char *handle, char *ldev, size_t n, const char **nick, struct perr *err)
{
    const char *p = handle;
    const char *id = NULL;
    size_t len;

    for (int i = 0; i < 4 && p != NULL; i++) {
        if (i == 3)
            id = p;
        p = strstr(p, "--");
        p = p != NULL ? p + 2 : NULL;
    }
    if (handle == NULL || p == NULL || strncmp(handle, "01--", 4) != 0)
        return perr_set(err, PERR_USAGE,
                        "volume handle '%s' is not a Hitachi CSI handle "
                        "\"01--<protocol>--<storage id>--<ldev id>--<nickname>\"",
                        handle != NULL ? handle : "");
    len = (size_t)(p - 2 - id);
    if (len == 0 || len >= n || strspn(id, "0123456789") != len)
        return perr_set(err, PERR_USAGE, "volume handle '%s': LDEV id '%.*s' is not a number",
                        handle, (int)len, id);
    memcpy(ldev, id, len);
    ldev[len] = '\0';
    *nick = p;
    return 0;
}

static int
vsp_ldev_get(struct storage *st, const char *id, json_t **ldev, struct perr *err)
{
    *ldev = NULL;
    if (rest_call(storage_rest(st), &vsp_ep_ldev, (struct rest_var[]){{"id", id}, {NULL, NULL}},
                  NULL, ldev, err) < 0) {
        perr_prefix(err, "LDEV %s: ", id);
        return -1;
    }
    return 0;
}

/* The LDEV record resolve_pv kept, when it is id's, else a fresh GET. */
static int
vsp_ldev_known(struct storage *st, const char *id, json_t **ldev, struct perr *err)
{
    struct vantara *v = vsp_of(st);

    if (v->ldev != NULL && strcmp(v->ldev_id, id) == 0) {
        *ldev = json_incref(v->ldev);
        return 0;
    }
    return vsp_ldev_get(st, id, ldev, err);
}

static int
vsp_resolve_pv(struct storage *st, const struct storage_pv *pv, struct storage_lun *out,
               struct perr *err)
{
    char ldev_id[16];
    const char *nick = NULL;
    const char *naa_id;
    json_t *ldev = NULL;
    int rc = -1;

    if (vsp_handle_parse(pv->volume_handle, ldev_id, sizeof(ldev_id), &nick, err) < 0 ||
        vsp_ldev_get(st, ldev_id, &ldev, err) < 0)
        goto out;
    naa_id = jsonx_string_or(ldev, "naaId", NULL);
    if (naa_id == NULL || naa_id[0] == '\0') {
        /* An undefined LDEV id answers 200 with emulationType "NOT DEFINED". */
        perr_set(err, PERR_NOT_FOUND, "LDEV %s is not defined (emulationType '%s')", ldev_id,
                 jsonx_string_or(ldev, "emulationType", "?"));
        goto out;
    }
    out->name = strdup(nick);
    out->id = strdup(ldev_id);
    out->serial = strdup(naa_id);
    if (out->name == NULL || out->id == NULL || out->serial == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    /* naaId comes upper-case; ESXi device names are lower-case. */
    if (storage_naa(&storage_vantara, naa_id, &out->naa, err) < 0)
        goto out;
    vsp_forget_ldev(vsp_of(st));
    vsp_of(st)->ldev_id = strdup(ldev_id);
    if (vsp_of(st)->ldev_id != NULL)
        vsp_of(st)->ldev = json_incref(ldev);
    rc = 0;
out:
    if (rc < 0)
        storage_lun_clear(out);
    json_decref(ldev);
    return rc;
}

/* The LU number of the LDEV's path through port/hg, or -1 when none. */
static long
vsp_path_lun(json_t *ldev, const char *port, const char *hg)
{
    size_t i;
    json_t *p;

    json_array_foreach(json_object_get(ldev, "ports"), i, p)
    {
        json_t *num = json_object_get(p, "hostGroupNumber");
        json_t *lun = json_object_get(p, "lun");

        if (strcmp(jsonx_string_or(p, "portId", ""), port) == 0 && json_is_integer(num) &&
            json_is_integer(lun) && json_integer_value(num) == strtol(hg, NULL, 10))
            return (long)json_integer_value(lun);
    }
    return -1;
}

/* ---- mapping ---- */

static int
vsp_map(struct storage *st, const char *group, const struct storage_lun *lun,
        struct storage_lun *mapped, struct perr *err)
{
    struct strv pairs = {0};
    json_t *ldev = NULL;
    int rc = -1;

    if (vsp_pairs_split(group, &pairs, err) < 0 || vsp_ldev_known(st, lun->id, &ldev, err) < 0)
        goto out;
    for (size_t i = 0; i < pairs.n; i++) {
        char port[32];
        char hg[16];
        json_t *body;
        int r;

        if (vsp_pair_parse(pairs.v[i], port, sizeof(port), hg, sizeof(hg), err) < 0)
            goto out;
        if (vsp_path_lun(ldev, port, hg) >= 0) {
            log_debug(VSP_COMP, "LU path exists", "ldev", lun->id, "host_group", pairs.v[i], NULL);
            continue;
        }
        body = json_pack("{s:I, s:s, s:I}", "ldevId", (json_int_t)strtol(lun->id, NULL, 10),
                         "portId", port, "hostGroupNumber", (json_int_t)strtol(hg, NULL, 10));
        if (body == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
        /* A path is added: the kept record no longer tells the LDEV's paths. */
        vsp_forget_ldev(vsp_of(st));
        r = vsp_async(st, &vsp_ep_lun_add, NULL, body, vsp_path_exists, NULL, NULL, NULL, err);
        if (r < 0) {
            perr_prefix(err, "LU path of LDEV %s through '%s': ", lun->id, pairs.v[i]);
            goto out;
        }
    }
    rc = storage_lun_copy(lun, mapped, err);
out:
    json_decref(ldev);
    strv_free(&pairs);
    return rc;
}

static int
vsp_unmap(struct storage *st, const char *group, const struct storage_lun *lun, struct perr *err)
{
    struct perr tmp = {0};
    struct strv pairs = {0};
    json_t *ldev = NULL;
    int rc = -1;

    if (vsp_pairs_split(group, &pairs, err) < 0)
        goto out;
    /* Read afresh, never from what resolve or map saw: DELETE luns/<port>,
     * <hg>,<lun> names no LDEV, so a LU number that is not this LDEV's now
     * (its path removed and the number given to another volume meanwhile)
     * would remove another volume's path. */
    vsp_forget_ldev(vsp_of(st));
    if (vsp_ldev_get(st, lun->id, &ldev, &tmp) < 0) {
        /* An LDEV that is gone has no paths left to delete. */
        if (tmp.code == PERR_NOT_FOUND) {
            log_debug(VSP_COMP, "LDEV gone, nothing to unmap", "ldev", lun->id, NULL);
            rc = 0;
        } else {
            *err = tmp;
        }
        goto out;
    }
    for (size_t i = 0; i < pairs.n; i++) {
        char port[32];
        char hg[16];
        char num[24];
        long n;

        if (vsp_pair_parse(pairs.v[i], port, sizeof(port), hg, sizeof(hg), err) < 0)
            goto out;
        n = vsp_path_lun(ldev, port, hg);
        if (n < 0) {
            log_debug(VSP_COMP, "no LU path to delete", "ldev", lun->id, "host_group", pairs.v[i],
                      NULL);
            continue;
        }
        snprintf(num, sizeof(num), "%ld", n);
        if (vsp_async(st, &vsp_ep_lun_delete,
                      (struct rest_var[]){{"port", port}, {"hg", hg}, {"lun", num}, {NULL, NULL}},
                      NULL, vsp_path_missing, NULL, NULL, NULL, err) < 0) {
            perr_prefix(err, "LU path %s,%s of LDEV %s: ", pairs.v[i], num, lun->id);
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(ldev);
    strv_free(&pairs);
    return rc;
}

/*
 * One "PORT,HG" per LU path the LDEV has now; paths through the host groups
 * of the group ensure_igroup() gave (ours, e.g. left by an earlier run that
 * could not unmap) are reported once as that group, so the caller's restore
 * step, which skips its own group, never re-adds them.
 */
static int
vsp_mapped_groups(struct storage *st, const struct storage_lun *lun, struct strv *out,
                  struct perr *err)
{
    const char *ours = vsp_of(st)->group;
    struct strv mine = {0};
    json_t *ldev = NULL;
    size_t i;
    json_t *p;
    int rc = -1;

    if ((ours != NULL && vsp_pairs_split(ours, &mine, err) < 0) ||
        vsp_ldev_known(st, lun->id, &ldev, err) < 0)
        goto out;
    json_array_foreach(json_object_get(ldev, "ports"), i, p)
    {
        json_t *num = json_object_get(p, "hostGroupNumber");
        const char *port = jsonx_string_or(p, "portId", NULL);
        const char *name;
        char pair[64];

        if (port == NULL || !json_is_integer(num)) {
            perr_set(err, PERR_PROTOCOL, "LDEV %s: a path without portId/hostGroupNumber", lun->id);
            goto out;
        }
        snprintf(pair, sizeof(pair), "%s,%" JSON_INTEGER_FORMAT, port, json_integer_value(num));
        name = strv_contains(&mine, pair) ? ours : pair;
        if (!strv_contains(out, name) && strv_add(out, name, err) < 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(ldev);
    strv_free(&mine);
    return rc;
}

/* The array's own FC port WWNs.  When ensure_igroup will discover the host
 * groups, the listing asks for the port logins too and is kept for it: one
 * request instead of two (the same ports, the logins added). */
static int
vsp_target_ports(struct storage *st, struct strv *fc, struct strv *iscsi, struct perr *err)
{
    struct vantara *v = vsp_of(st);
    bool discover = vsp_hg_list(st) == NULL;
    json_t *reply = NULL;
    size_t i;
    json_t *p;
    int rc = -1;

    (void)iscsi;
    if (rest_call(storage_rest(st), &vsp_ep_ports,
                  (struct rest_var[]){{"detail", discover ? "logins" : NULL}, {NULL, NULL}}, NULL,
                  &reply, err) < 0)
        goto out;
    if (discover) {
        json_decref(v->ports);
        v->ports = json_incref(reply);
    }
    json_array_foreach(json_object_get(reply, "data"), i, p)
    {
        const char *wwn = jsonx_string_or(p, "wwn", NULL);

        if (wwn != NULL && strlen(wwn) == 16 && strspn(wwn, "0123456789abcdefABCDEF") == 16 &&
            strv_add(fc, wwn, err) < 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(reply);
    return rc;
}

/* ---- array-side copies ---- */

static void
vsp_progress(storage_progress_fn progress, void *arg, unsigned pct)
{
    if (progress != NULL)
        progress(arg, pct);
}

/* "ABCD" (the last 4 hex digits) -> "43981". */
static int
vsp_ldev_from_hex4(const char *what, const char *s, char *out, size_t n, struct perr *err)
{
    size_t len = s != NULL ? strlen(s) : 0;

    if (len < 4 || strspn(s + len - 4, "0123456789abcdefABCDEF") != 4)
        return perr_set(err, PERR_USAGE, "%s '%s' does not end in a hex LDEV id", what,
                        s != NULL ? s : "");
    snprintf(out, n, "%ld", strtol(s + len - 4, NULL, 16));
    return 0;
}

/* The pair of a clone is in PSUP once copied; clonesAutomation then deletes
 * it, so a pair seen copying that disappears has finished too. */
static int
vsp_clone_wait(struct storage *st, const char *group, const char *src, storage_progress_fn progress,
               void *arg, struct perr *err)
{
    struct deadline dl = deadline_in_ms(VSP_CLONE_MAX_S * 1000L);
    struct deadline unseen = deadline_in_ms(VSP_UNSEEN_S * 1000L);
    struct backoff bo;
    bool seen = false;
    unsigned last = 0;
    int rc = -1;

    backoff_init(&bo, 250, 5000, 2.0, 0.1, 0);
    for (;;) {
        json_t *reply = NULL;
        json_t *pair;
        bool split = false;

        if (rest_call(storage_rest(st), &vsp_ep_snapshots,
                      (struct rest_var[]){{"group", group}, {"pvol", src}, {NULL, NULL}}, NULL,
                      &reply, err) < 0)
            goto out;
        pair = json_array_get(json_object_get(reply, "data"), 0);
        if (pair != NULL) {
            json_t *rate = json_object_get(pair, "concordanceRate");

            seen = true;
            split = strcmp(jsonx_string_or(pair, "status", ""), "PSUP") == 0;
            if (json_is_integer(rate) && json_integer_value(rate) > (json_int_t)last &&
                json_integer_value(rate) < 100) {
                last = (unsigned)json_integer_value(rate);
                vsp_progress(progress, arg, last);
            }
        }
        json_decref(reply);
        if (split)
            break;
        if (pair == NULL && seen) {
            log_debug(VSP_COMP, "clone pair deleted by the array after copying", "group", group,
                      NULL);
            break;
        }
        /* The job made the pair: one that never shows up is not waited for
         * hours. */
        if (pair == NULL && deadline_remaining_ms(&unseen) <= 0) {
            perr_set(err, PERR_TIMEOUT, "clone pair '%s' not listed %lds after it was made", group,
                     VSP_UNSEEN_S);
            goto out;
        }
        if (deadline_expired(&dl)) {
            perr_set(err, PERR_TIMEOUT, "clone pair '%s' not copied after %lds", group,
                     VSP_CLONE_MAX_S);
            goto out;
        }
        if (wait_ms(backoff_next_ms(&bo), &dl, err) < 0)
            goto out;
    }
    rc = 0;
out:
    return rc;
}

/* Clones LDEV src onto the target LDEV (in the target's pool) and waits. */
static int
vsp_clone(struct storage *st, const char *src, const struct storage_copy_req *req,
          storage_progress_fn progress, void *arg, struct perr *err)
{
    const char *speed = storage_env(st, "COPY_SPEED");
    json_t *target = NULL;
    json_t *body = NULL;
    json_t *pool;
    char group[96];
    int rc = -1;

    if (req->target == NULL || req->target->id == NULL) {
        perr_set(err, PERR_INTERNAL, "array copy without a target LDEV");
        goto out;
    }
    if (strcmp(src, req->target->id) == 0) {
        perr_set(err, PERR_USAGE, "source and target are the same LDEV %s", src);
        goto out;
    }
    if (vsp_ldev_get(st, req->target->id, &target, err) < 0)
        goto out;
    pool = json_object_get(target, "poolId");
    if (!json_is_integer(pool)) {
        perr_set(err, PERR_PROTOCOL, "target LDEV %s has no poolId", req->target->id);
        goto out;
    }
    snprintf(group, sizeof(group), "mtv-ss-copy-%s-to-%s", src, req->target->id);
    body = json_pack("{s:s, s:O, s:I, s:I, s:b, s:b, s:b, s:s}", "snapshotGroupName", group,
                     "snapshotPoolId", pool, "pvolLdevId", (json_int_t)strtol(src, NULL, 10),
                     "svolLdevId", (json_int_t)strtol(req->target->id, NULL, 10), "isClone", 1,
                     "canCascade", 1, "clonesAutomation", 1, "copySpeed",
                     speed != NULL && speed[0] != '\0' ? speed : "slower");
    if (body == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    if (vsp_async(st, &vsp_ep_snapshot_create, NULL, body, NULL, NULL, NULL, NULL, err) != 0 ||
        vsp_clone_wait(st, group, src, progress, arg, err) < 0) {
        if (!perr_failed(err))
            perr_set(err, PERR_REMOTE, "clone refused");
        perr_prefix(err, "clone LDEV %s onto LDEV %s: ", src, req->target->id);
        goto out;
    }
    log_debug(VSP_COMP, "clone done", "source", src, "target", req->target->id, NULL);
    rc = 0;
out:
    json_decref(target);
    return rc;
}

/* A VVol's backing object id ends in the LDEV id, in hex. */
static int
vsp_vvol_copy(struct storage *st, const struct storage_copy_req *req, storage_progress_fn progress,
              void *arg, struct perr *err)
{
    json_t *src = NULL;
    char id[16];
    int rc = -1;

    if (vsp_ldev_from_hex4("VVol id", req->vvol_id, id, sizeof(id), err) < 0 ||
        vsp_ldev_get(st, id, &src, err) < 0)
        goto out;
    if (jsonx_string_or(src, "naaId", NULL) == NULL) {
        perr_set(err, PERR_NOT_FOUND, "VVol '%s': LDEV %s is not defined", req->vvol_id, id);
        goto out;
    }
    vsp_progress(progress, arg, 0);
    if (vsp_clone(st, id, req, progress, arg, err) < 0)
        goto out;
    vsp_progress(progress, arg, 100);
    rc = 0;
out:
    json_decref(src);
    return rc;
}

/* An RDM's NAA is 60060e80... and ends in the LDEV id; the LDEV's naaId must
 * be that NAA, so another array's LDEV with the same number is never copied. */
static int
vsp_rdm_copy(struct storage *st, const struct storage_copy_req *req, storage_progress_fn progress,
             void *arg, struct perr *err)
{
    const char *dev = req->rdm_device;
    struct buf vml = {0};
    char *serial = NULL;
    json_t *src = NULL;
    char naa[33];
    char id[16];
    int rc = -1;

    if ((dev == NULL || dev[0] == '\0') && req->rdm_lun_uuid != NULL) {
        if (buf_addf(&vml, err, "vml.%s", req->rdm_lun_uuid) < 0)
            goto out;
        dev = buf_cstr(&vml);
    }
    if (dev == NULL) {
        perr_set(err, PERR_INTERNAL, "RDM copy without a device name");
        goto out;
    }
    if (naa_serial_from_device(dev, VSP_OUI, "Hitachi VSP", &serial, err) < 0)
        goto out;
    if (strlen(serial) < 24) {
        perr_set(err, PERR_USAGE, "device '%s' is too short for a Hitachi NAA", dev);
        goto out;
    }
    snprintf(naa, sizeof(naa), "%s%.24s", VSP_OUI, serial);
    for (char *c = naa; *c != '\0'; c++)
        *c = (char)tolower((unsigned char)*c);
    if (vsp_ldev_from_hex4("RDM device", naa, id, sizeof(id), err) < 0 ||
        vsp_ldev_get(st, id, &src, err) < 0)
        goto out;
    if (strcasecmp(jsonx_string_or(src, "naaId", ""), naa) != 0) {
        perr_set(err, PERR_NOT_FOUND, "RDM '%s': LDEV %s has NAA '%s', not '%s'", dev, id,
                 jsonx_string_or(src, "naaId", ""), naa);
        goto out;
    }
    vsp_progress(progress, arg, 10);
    if (vsp_clone(st, id, req, progress, arg, err) < 0)
        goto out;
    vsp_progress(progress, arg, 100);
    rc = 0;
out:
    json_decref(src);
    free(serial);
    buf_free(&vml);
    return rc;
}

/* ---- array info ---- */

static int
vsp_array_info(struct storage *st, struct storage_array_info *out, struct perr *err)
{
    const char *id = storage_env(st, "STORAGE_ID");
    json_t *reply = NULL;
    json_t *rec;
    const char *model;
    const char *micro;
    int rc = -1;

    if (id != NULL && id[0] != '\0') {
        if (rest_call(storage_rest(st), &vsp_ep_storage,
                      (struct rest_var[]){{"id", id}, {NULL, NULL}}, NULL, &reply, err) < 0)
            goto out;
        rec = reply;
    } else {
        if (rest_call(storage_rest(st), &vsp_ep_storages, NULL, NULL, &reply, err) < 0)
            goto out;
        rec = json_array_get(json_object_get(reply, "data"), 0);
    }
    model = jsonx_string_or(rec, "model", NULL);
    micro = jsonx_string_or(rec, "dkcMicroVersion", NULL);
    if (str_dup_opt(model, &out->model, err) < 0 || str_dup_opt(micro, &out->version, err) < 0)
        goto out;
    rc = 0;
out:
    json_decref(reply);
    return rc;
}

static const struct storage_ops vsp_ops = {
    .open = vsp_open,
    .close = vsp_close,
    .resolve_pv = vsp_resolve_pv,
    .ensure_igroup = vsp_ensure_igroup,
    .map = vsp_map,
    .unmap = vsp_unmap,
    .mapped_groups = vsp_mapped_groups,
    .array_info = vsp_array_info,
    .target_ports = vsp_target_ports,
    .vvol_copy = vsp_vvol_copy,
    .rdm_copy = vsp_rdm_copy,
};

static const struct storage_env_key vantara_env_keys[] = {
    {"STORAGE_ID", "the storage device id, for the array's model and version"},
    {"STORAGE_PORT", "the Configuration Manager REST port"},
    {"HOSTGROUP_ID_LIST",
     "host groups to map to, \"PORT,HG:PORT,HG\"; discovered from port logins when unset"},
    {"COPY_SPEED", "copy pace of array-side clones (\"slower\", \"medium\", \"faster\")"},
    {NULL, NULL},
};

const struct storage_driver storage_vantara = {
    .name = "vantara",
    .vendor = "Hitachi",
    .product = "Vantara",
    .summary = "Configuration Manager REST with a session; VVol and RDM copies on the array",
    .caps = STORAGE_CAP_FC | STORAGE_CAP_VVOL_COPY | STORAGE_CAP_RDM_COPY,
    .env_keys = vantara_env_keys,
    .url = {.rule = STORAGE_URL_FIRST_IPV4,
            .port_key = "STORAGE_PORT",
            .path = "/ConfigurationManager"},
    .naa = {.rule = STORAGE_NAA_WWN},
    .priv_size = sizeof(struct vantara),
    .rest = &vsp_dialect,
    .ops = &vsp_ops,
};
