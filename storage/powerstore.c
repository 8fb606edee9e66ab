/*
 * Dell PowerStore driver: REST under <host>/api/rest (vendors-a.md §5, with
 * vendor-corrections.md §1-2).
 *
 * Session: GET /login_session with HTTP Basic answers the session cookie
 * auth_cookie (kept by the transport's cookie jar) and a DELL-EMC-TOKEN
 * header that goes back on every later request; Basic stays on every
 * request too.  An expired session answers 403: the client logs in again,
 * once per call (the vendor's SDK retries without limit).  The session is
 * ended (POST /logout) when the storage handle is freed,
 * so a run leaves no session behind (the SDK never does, and arrays hit their
 * session cap).
 *
 * Groups are PowerStore hosts: ensure_igroup finds the host holding one of
 * the ESXi initiators (port_name: FC WWPN lower-case with colons, iSCSI IQN
 * as is) or creates one with os_type ESXi under the group name.  A host that
 * is a member of a host group cannot have private mappings: attach and
 * detach then go through the whole host group.  mapped_groups reports host
 * mappings by host name and host-group mappings as "hg:<host group>", which
 * map() understands, so the cleanup restores both kinds.
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

#define PS_COMP     "storage.powerstore"
#define PS_HG       "hg:" /* group-name prefix of a host group */
#define PS_HOST_SEL "id,name,host_group_id,host_initiators"
#define PS_MAP_SEL                                                                                 \
    "id,host_id,host_group_id,volume_id,logical_unit_number,host(name),host_group(name)"

struct powerstore {
    char *version; /* release_version of the cluster, read once for array_info */
    /* The host ensure_igroup found or made (the name map/unmap get back). */
    char *host_name;
    char *host_id;
    char *host_group_id; /* NULL when the host is in no host group */
};

/* ---- dialect ---- */

/* Codes are the array's "messages[0].code"; its texts for the two "already"
 * answers are matched too, so a race with another client stays idempotent. */
static const struct rest_error_rule ps_rules[] = {
    {.text = "already attached", .to = PERR_CONFLICT},
    {.text = "is not attached", .to = PERR_NOT_FOUND},
    {.text = "already exists", .to = PERR_CONFLICT},
    {0},
};

static const struct rest_endpoint ps_ep_login = {
    .name = "login-session",
    .method = "GET",
    .path = "/login_session",
    .flags = REST_F_NO_AUTH,
};

static const struct rest_endpoint ps_ep_logout = {
    .name = "logout",
    .method = "POST",
    .path = "/logout",
    .ok = {200, 204},
};

static const struct rest_session ps_session = {
    .login = &ps_ep_login,
    .login_basic = true,
    .from = REST_TOKEN_HEADER,
    .token_name = "DELL-EMC-TOKEN",
    .keep_basic = true,
    .csrf_header = "DELL-EMC-TOKEN",
    .relogin = REST_RELOGIN_403,
    .logout = &ps_ep_logout,
};

/* The Go populator marks its requests so; the array's audit log keeps
 * naming the migration toolkit as the caller. */
static const char *const ps_headers[] = {"Application-Type: MTV", NULL};

static const struct rest_dialect ps_dialect = {
    .basic_auth = true,
    .headers = ps_headers,
    .session = &ps_session,
    .errors =
        {
            .message = "messages.0.message_l10n",
            .code = "messages.0.code",
            .rules = ps_rules,
        },
    /* Lists answer 206 with "Content-Range: first-last/total" until the
     * last page; 1000 rows per page is what the SDK asks for. */
    .pager =
        {
            .kind = REST_PAGER_RANGE,
            .param = "offset",
            .size_param = "limit",
            .size = 1000,
        },
};

/* ---- endpoints ---- */

static const struct rest_endpoint ps_ep_cluster = {
    .name = "cluster-get",
    .method = "GET",
    .path = "/cluster",
    .query = "select=id,name,state",
};

static const struct rest_endpoint ps_ep_software = {
    .name = "software-installed-list",
    .method = "GET",
    .path = "/software_installed",
    .query = "select=id,is_cluster,release_version&is_cluster=eq.true",
    .flags = REST_F_PAGED,
};

static const struct rest_endpoint ps_ep_volume = {
    .name = "volume-get",
    .method = "GET",
    .path = "/volume",
    .query = "select=id,name,wwn&name=eq.{name}",
};

static const struct rest_endpoint ps_ep_hosts = {
    .name = "host-list",
    .method = "GET",
    .path = "/host",
    .query = "select=" PS_HOST_SEL "&order=name",
    .flags = REST_F_PAGED,
};

static const struct rest_endpoint ps_ep_host_by_name = {
    .name = "host-get",
    .method = "GET",
    .path = "/host",
    .query = "select=" PS_HOST_SEL "&name=eq.{name}",
};

static const struct rest_endpoint ps_ep_host_create = {
    .name = "host-create",
    .method = "POST",
    .path = "/host",
    .ok = {201},
    .already_code = PERR_CONFLICT,
};

static const struct rest_endpoint ps_ep_host_modify = {
    .name = "host-modify",
    .method = "PATCH",
    .path = "/host/{id}",
    .ok = {200, 204},
};

static const struct rest_endpoint ps_ep_hg_by_name = {
    .name = "host-group-get",
    .method = "GET",
    .path = "/host_group",
    .query = "select=id,name&name=eq.{name}",
};

static const struct rest_endpoint ps_ep_mappings = {
    .name = "host-volume-mapping-list",
    .method = "GET",
    .path = "/host_volume_mapping",
    .query = "select=" PS_MAP_SEL "&volume_id=eq.{vol}",
    .flags = REST_F_PAGED,
};

/* No logical_unit_number is sent: the array picks one. */
static const struct rest_endpoint ps_ep_attach = {
    .name = "attach",
    .method = "POST",
    .path = "/{kind}/{id}/attach",
    .ok = {200, 204},
    .already_code = PERR_CONFLICT,
};

static const struct rest_endpoint ps_ep_detach = {
    .name = "detach",
    .method = "POST",
    .path = "/{kind}/{id}/detach",
    .ok = {200, 204},
    .already_code = PERR_NOT_FOUND,
};

/* ---- helpers ---- */

static struct powerstore *
ps_of(struct storage *st)
{
    return storage_priv(st);
}

static int
ps_call(struct storage *st, const struct rest_endpoint *ep, const struct rest_var *vars,
        json_t *body, json_t **out, struct perr *err)
{
    int rc = rest_call(storage_rest(st), ep, vars, body, out, err);

    if (rc < 0)
        storage_auth_hint(st, err);
    return rc;
}

/* A string field that may be null or absent: NULL then (and for ""). */
static const char *
ps_str(json_t *rec, const char *key)
{
    const char *s = jsonx_string_or(rec, key, NULL);

    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* ---- open, close, info ---- */

static int
ps_open(struct storage *st, struct perr *err)
{
    json_t *reply = NULL;
    int rc = -1;

    /* The login plus one cheap read check the address and the credentials
     * before the flow touches anything. */
    if (ps_call(st, &ps_ep_cluster, NULL, NULL, &reply, err) < 0)
        goto out;
    if (!json_is_array(reply) || json_array_size(reply) == 0) {
        perr_set(err, PERR_PROTOCOL, "cluster query answered no cluster");
        goto out;
    }
    rc = 0;
out:
    json_decref(reply);
    return rc;
}

static void
ps_close(struct storage *st)
{
    struct powerstore *ps = ps_of(st);

    free(ps->version);
    free(ps->host_name);
    free(ps->host_id);
    free(ps->host_group_id);
    memset(ps, 0, sizeof(*ps));
}

static int
ps_array_info(struct storage *st, struct storage_array_info *out, struct perr *err)
{
    struct powerstore *ps = ps_of(st);
    json_t *reply = NULL;
    json_t *row;
    size_t i;
    int rc = -1;

    if (ps->version == NULL) {
        if (ps_call(st, &ps_ep_software, NULL, NULL, &reply, err) < 0)
            goto out;
        json_array_foreach(reply, i, row)
        {
            if (json_is_true(json_object_get(row, "is_cluster")) &&
                ps_str(row, "release_version") != NULL) {
                if (str_dup_opt(ps_str(row, "release_version"), &ps->version, err) < 0)
                    goto out;
                break;
            }
        }
    }
    if (str_dup_opt(ps->version, &out->version, err) < 0)
        goto out;
    rc = 0;
out:
    json_decref(reply);
    return rc;
}

/* ---- volume ---- */

static const struct lun_fields ps_lun_fields = {
    .name = "name",
    .id = "id",
    .naa_from = "wwn",
};

/* The CSI driver names the volume in the attribute "Name"; the volume
 * handle "<id>/<array>/<protocol>" is not used, as in the Go populator. */
static int
ps_resolve_pv(struct storage *st, const struct storage_pv *pv, struct storage_lun *out,
              struct perr *err)
{
    const char *name = storage_pv_attr(pv, "Name");
    json_t *reply = NULL;
    json_t *row;
    int rc = -1;

    if (name == NULL || name[0] == '\0') {
        perr_set(err, PERR_USAGE, "volume attribute 'Name' (the PowerStore volume name) not found");
        goto out;
    }
    if (ps_call(st, &ps_ep_volume, (struct rest_var[]){{"name", name}, {NULL, NULL}}, NULL, &reply,
                err) < 0 ||
        json_one_row(reply, "volume", name, false, &row, err) < 0 ||
        lun_from_json(&storage_powerstore, row, &ps_lun_fields, out, err) < 0)
        goto out;
    log_debug(PS_COMP, "volume resolved", "volume", out->name, "id", out->id, "naa", out->naa,
              NULL);
    rc = 0;
out:
    if (rc < 0) {
        perr_prefix(err, "PersistentVolume '%s': ", pv->name);
        storage_lun_clear(out);
    }
    json_decref(reply);
    return rc;
}

/* ---- hosts ---- */

/* True when the host has the initiator: FC ports compared as WWNs (any
 * spelling), iSCSI names without regard to case. */
static bool
ps_holds(void *ctx, json_t *host, const char *initiator, enum initiator_proto kind)
{
    json_t *inits = json_object_get(host, "host_initiators");
    json_t *p;
    size_t i;

    (void)ctx;
    json_array_foreach(inits, i, p)
    {
        const char *port = jsonx_string_or(p, "port_name", NULL);
        const char *type = jsonx_string_or(p, "port_type", "");

        if (port == NULL)
            continue;
        if (kind == INITIATOR_FC && strcasecmp(type, "FC") == 0 && wwn_equal(port, initiator))
            return true;
        if (kind == INITIATOR_ISCSI && strcasecmp(type, "FC") != 0 &&
            strcasecmp(port, initiator) == 0)
            return true;
    }
    return false;
}

static bool
ps_holds_any(json_t *host, const struct initiator_set *want)
{
    for (size_t i = 0; i < want->fc.n; i++) {
        if (ps_holds(NULL, host, want->fc.v[i], INITIATOR_FC))
            return true;
    }
    for (size_t i = 0; i < want->iscsi.n; i++) {
        if (ps_holds(NULL, host, want->iscsi.v[i], INITIATOR_ISCSI))
            return true;
    }
    return false;
}

/* What ensure_igroup's find saw last: the host record it returned (owned),
 * with every field map needs (PS_HOST_SEL), so no read-back is needed. */
struct ps_found {
    json_t *host;
};

/* One listing of every host: the first (by name) holding an initiator wins,
 * else the one called name. */
static int
ps_find(struct storage *st, void *ctx, const char *name, const struct initiator_set *want,
        json_t **rec, struct perr *err)
{
    struct ps_found *found = ctx;
    json_t *reply = NULL;
    json_t *h;
    json_t *byname = NULL;
    size_t i;

    *rec = NULL;
    if (ps_call(st, &ps_ep_hosts, NULL, NULL, &reply, err) < 0)
        return -1;
    json_array_foreach(reply, i, h)
    {
        if (ps_holds_any(h, want)) {
            *rec = json_incref(h);
            break;
        }
        if (byname == NULL && strcmp(jsonx_string_or(h, "name", ""), name) == 0)
            byname = h;
    }
    if (*rec == NULL && byname != NULL)
        *rec = json_incref(byname);
    json_decref(found->host);
    found->host = json_incref(*rec);
    json_decref(reply);
    return 0;
}

/* The ports in the array's spelling: FC WWPNs lower-case with colons. */
static int
ps_ports(const struct initiator_set *set, bool with_nvme, json_t **out, struct perr *err)
{
    struct strv wwpns = {0};
    json_t *arr = json_array();
    int rc = -1;

    *out = NULL;
    if (arr == NULL || initiators_fc_format(set, WWN_LOWER_COLON, &wwpns, err) < 0)
        goto out;
    for (size_t i = 0; i < wwpns.n; i++) {
        if (json_array_append_new(
                arr, json_pack("{s:s,s:s}", "port_name", wwpns.v[i], "port_type", "FC")) < 0)
            goto nomem;
    }
    for (size_t i = 0; i < set->iscsi.n; i++) {
        if (json_array_append_new(arr, json_pack("{s:s,s:s}", "port_name", set->iscsi.v[i],
                                                 "port_type", "iSCSI")) < 0)
            goto nomem;
    }
    for (size_t i = 0; with_nvme && i < set->nvme.n; i++) {
        if (json_array_append_new(
                arr, json_pack("{s:s,s:s}", "port_name", set->nvme.v[i], "port_type", "NVMe")) < 0)
            goto nomem;
    }
    *out = arr;
    arr = NULL;
    rc = 0;
    goto out;
nomem:
    perr_set(err, PERR_NOMEM, "out of memory");
out:
    json_decref(arr);
    strv_free(&wwpns);
    return rc;
}

static int
ps_create(struct storage *st, void *ctx, const char *name, const struct initiator_set *want,
          struct perr *already, struct perr *err)
{
    struct rest_request req = {.ep = &ps_ep_host_create};
    struct rest_reply reply = {0};
    json_t *ports = NULL;
    int rc = -1;

    (void)ctx;
    if (ps_ports(want, true, &ports, err) < 0)
        goto out;
    req.body = json_pack("{s:s,s:s,s:o}", "name", name, "os_type", "ESXi", "initiators", ports);
    rc = rest_do(storage_rest(st), &req, &reply, err);
    if (rc < 0)
        storage_auth_hint(st, err);
    if (rc == 1)
        group_already(&reply, already);
out:
    rest_reply_free(&reply);
    return rc;
}

static int
ps_add(struct storage *st, void *ctx, json_t *rec, const struct initiator_set *missing,
       struct perr *err)
{
    const char *id = ps_str(rec, "id");
    json_t *ports = NULL;

    (void)ctx;
    if (id == NULL)
        return perr_set(err, PERR_PROTOCOL, "host record without an 'id'");
    if (ps_ports(missing, false, &ports, err) < 0)
        return -1;
    return ps_call(st, &ps_ep_host_modify, (struct rest_var[]){{"id", id}, {NULL, NULL}},
                   json_pack("{s:o}", "add_initiators", ports), NULL, err) < 0
               ? -1
               : 0;
}

static const struct group_ops ps_group_ops = {
    .find = ps_find,
    .create = ps_create,
    .holds = ps_holds,
    .add = ps_add,
};

/* Remembers the host map/unmap will be given back. */
static int
ps_remember(struct powerstore *ps, json_t *host, struct perr *err)
{
    char *name = NULL;
    char *id = NULL;
    char *hg = NULL;

    if (str_dup_opt(ps_str(host, "name"), &name, err) < 0 ||
        str_dup_opt(ps_str(host, "id"), &id, err) < 0 ||
        str_dup_opt(ps_str(host, "host_group_id"), &hg, err) < 0) {
        free(name);
        free(id);
        return -1;
    }
    free(ps->host_name);
    free(ps->host_id);
    free(ps->host_group_id);
    ps->host_name = name;
    ps->host_id = id;
    ps->host_group_id = hg;
    return 0;
}

/* The host called name (NULL when there is none), borrowed from *reply. */
static int
ps_host_by_name(struct storage *st, const char *name, json_t **reply, json_t **host,
                struct perr *err)
{
    *host = NULL;
    if (ps_call(st, &ps_ep_host_by_name, (struct rest_var[]){{"name", name}, {NULL, NULL}}, NULL,
                reply, err) < 0)
        return -1;
    return json_one_row(*reply, "host", name, true, host, err);
}

static int
ps_ensure_igroup(struct storage *st, const char *name, const char *const *initiators,
                 size_t ninitiators, char **actual, struct perr *err)
{
    struct initiator_set set = {0};
    struct ps_found found = {0};
    json_t *reply = NULL;
    json_t *host;
    int rc = -1;

    *actual = NULL;
    if (initiators_split(initiators, ninitiators,
                         INITIATOR_KIND(INITIATOR_FC) | INITIATOR_KIND(INITIATOR_ISCSI), PS_COMP,
                         &set, err) < 0 ||
        group_ensure(st, &ps_group_ops, &found, name, &set, actual, err) < 0)
        goto out;
    /* What map needs (the id and a host group the host may be in) is in the
     * record the listing just gave (adding initiators changes neither).
     * Only a host this call created is read back: the create's answer
     * carries its id alone. */
    host = found.host;
    if (host == NULL || strcmp(jsonx_string_or(host, "name", ""), *actual) != 0) {
        if (ps_host_by_name(st, *actual, &reply, &host, err) < 0)
            goto out;
    }
    if (host == NULL) {
        perr_set(err, PERR_NOT_FOUND, "host '%s' not found after it was made", *actual);
        goto out;
    }
    if (ps_remember(ps_of(st), host, err) < 0)
        goto out;
    log_debug(PS_COMP, "host ready", "group", name, "host", *actual, "host_group",
              ps_of(st)->host_group_id != NULL ? ps_of(st)->host_group_id : "", NULL);
    rc = 0;
out:
    if (rc < 0) {
        free(*actual);
        *actual = NULL;
    }
    initiator_set_free(&set);
    json_decref(found.host);
    json_decref(reply);
    return rc;
}

/*
 * Where a group's mappings live: kind "host" or "host_group" and its id
 * (owned).  A host that is a member of a host group maps through the group.
 * *found false when the host or host group does not exist.
 */
struct ps_target {
    const char *kind;
    char *id;
    bool found;
};

static int
ps_target(struct storage *st, const char *group, struct ps_target *t, struct perr *err)
{
    struct powerstore *ps = ps_of(st);
    json_t *reply = NULL;
    json_t *row = NULL;
    int rc = -1;

    memset(t, 0, sizeof(*t));
    t->kind = "host";
    if (strncmp(group, PS_HG, strlen(PS_HG)) == 0) {
        t->kind = "host_group";
        if (ps_call(st, &ps_ep_hg_by_name,
                    (struct rest_var[]){{"name", group + strlen(PS_HG)}, {NULL, NULL}}, NULL,
                    &reply, err) < 0 ||
            json_one_row(reply, "host group", group + strlen(PS_HG), true, &row, err) < 0)
            goto out;
    } else if (ps->host_name != NULL && strcmp(ps->host_name, group) == 0) {
        t->found = true;
        if (ps->host_group_id != NULL)
            t->kind = "host_group";
        rc = str_dup_opt(ps->host_group_id != NULL ? ps->host_group_id : ps->host_id, &t->id, err);
        goto out;
    } else {
        if (ps_host_by_name(st, group, &reply, &row, err) < 0)
            goto out;
        if (row != NULL && ps_str(row, "host_group_id") != NULL)
            t->kind = "host_group";
    }
    if (row != NULL) {
        /* A host group's own record, or a member host's group. */
        bool own = strcmp(t->kind, "host") == 0 || strncmp(group, PS_HG, strlen(PS_HG)) == 0;
        const char *id = own ? ps_str(row, "id") : ps_str(row, "host_group_id");

        if (id == NULL) {
            perr_set(err, PERR_PROTOCOL, "'%s' record without an 'id'", group);
            goto out;
        }
        if (str_dup_opt(id, &t->id, err) < 0)
            goto out;
        t->found = true;
    }
    rc = 0;
out:
    json_decref(reply);
    return rc;
}

static int
ps_check_lun(const struct storage_lun *lun, struct perr *err)
{
    if (lun->id == NULL || lun->id[0] == '\0')
        return perr_set(err, PERR_INTERNAL, "volume '%s' without an id",
                        lun->name != NULL ? lun->name : "");
    return 0;
}

static int
ps_map(struct storage *st, const char *group, const struct storage_lun *lun,
       struct storage_lun *mapped, struct perr *err)
{
    struct ps_target t = {0};
    int made;
    int rc = -1;

    memset(mapped, 0, sizeof(*mapped));
    if (ps_check_lun(lun, err) < 0 || ps_target(st, group, &t, err) < 0)
        goto out;
    if (!t.found) {
        perr_set(err, PERR_NOT_FOUND, "%s '%s' not found",
                 strcmp(t.kind, "host") == 0 ? "host" : "host group", group);
        goto out;
    }
    /* No listing first: "already attached" is the contract's success. */
    made = ps_call(st, &ps_ep_attach,
                   (struct rest_var[]){{"kind", t.kind}, {"id", t.id}, {NULL, NULL}},
                   json_pack("{s:s}", "volume_id", lun->id), NULL, err);
    if (made < 0)
        goto out;
    if (made == 1)
        log_debug(PS_COMP, "volume already attached", "group", group, "through", t.kind, NULL);
    if (storage_lun_copy(lun, mapped, err) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "volume '%s' to '%s': ", lun->name != NULL ? lun->name : "", group);
    free(t.id);
    return rc;
}

static int
ps_unmap(struct storage *st, const char *group, const struct storage_lun *lun, struct perr *err)
{
    struct ps_target t = {0};
    int done;
    int rc = -1;

    if (ps_check_lun(lun, err) < 0 || ps_target(st, group, &t, err) < 0)
        goto out;
    /* No listing first: the array's "is not attached" refusal is the
     * contract's "not mapped" success (ps_rules). */
    if (!t.found) {
        log_debug(PS_COMP, "nothing to detach", "group", group, NULL);
        rc = 0;
        goto out;
    }
    done = ps_call(st, &ps_ep_detach,
                   (struct rest_var[]){{"kind", t.kind}, {"id", t.id}, {NULL, NULL}},
                   json_pack("{s:s}", "volume_id", lun->id), NULL, err);
    if (done < 0)
        goto out;
    if (done == 1)
        log_debug(PS_COMP, "nothing to detach", "group", group, NULL);
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "volume '%s' from '%s': ", lun->name != NULL ? lun->name : "", group);
    free(t.id);
    return rc;
}

/* Appends prefix + name to out unless it is there already. */
static int
ps_add_group(struct strv *out, const char *prefix, const char *name, struct perr *err)
{
    size_t plen = strlen(prefix);

    for (size_t i = 0; i < out->n; i++) {
        if (strncmp(out->v[i], prefix, plen) == 0 && strcmp(out->v[i] + plen, name) == 0)
            return 0;
    }
    return strv_addf(out, err, "%s%s", prefix, name);
}

/* One query with the host and host-group names embedded.  An unmapped
 * volume is an empty list, not an error (Go fails there). */
static int
ps_mapped_groups(struct storage *st, const struct storage_lun *lun, struct strv *out,
                 struct perr *err)
{
    json_t *reply = NULL;
    json_t *m;
    size_t i;
    int rc = -1;

    if (ps_check_lun(lun, err) < 0 ||
        ps_call(st, &ps_ep_mappings, (struct rest_var[]){{"vol", lun->id}, {NULL, NULL}}, NULL,
                &reply, err) < 0)
        goto out;
    json_array_foreach(reply, i, m)
    {
        const char *hg = ps_str(json_object_get(m, "host_group"), "name");
        const char *host = ps_str(json_object_get(m, "host"), "name");

        if (hg != NULL || host != NULL) {
            if (ps_add_group(out, hg != NULL ? PS_HG : "", hg != NULL ? hg : host, err) < 0)
                goto out;
        } else {
            log_debug(PS_COMP, "mapping without a host name skipped", "mapping",
                      jsonx_string_or(m, "id", ""), NULL);
        }
    }
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "volume '%s': ", lun->name != NULL ? lun->name : "");
    json_decref(reply);
    return rc;
}

static const struct storage_ops ps_ops = {
    .open = ps_open,
    .close = ps_close,
    .resolve_pv = ps_resolve_pv,
    .ensure_igroup = ps_ensure_igroup,
    .map = ps_map,
    .unmap = ps_unmap,
    .mapped_groups = ps_mapped_groups,
    .array_info = ps_array_info,
};

const struct storage_driver storage_powerstore = {
    .name = "powerstore",
    .vendor = "Dell",
    .product = "PowerStore",
    .summary = "REST under /api/rest with HTTP Basic and a login_session (auth_cookie + "
               "DELL-EMC-TOKEN); hosts found by initiator or created (os_type ESXi), host-group "
               "members mapped through their group; volumes by the CSI attribute Name",
    .caps = STORAGE_CAP_ISCSI | STORAGE_CAP_FC,
    .url = {.rule = STORAGE_URL_SUFFIX, .path = "/api/rest"},
    .naa = {.rule = STORAGE_NAA_WWN},
    .priv_size = sizeof(struct powerstore),
    .rest = &ps_dialect,
    .ops = &ps_ops,
};
