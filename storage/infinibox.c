/*
 * Infinidat InfiniBox driver: REST under <host>/api/rest with HTTP Basic on
 * every request (no session).  Written from vendors-b.md §3 and the
 * corrections of vendor-corrections.md §1-2.
 *
 * Every answer is an envelope {result, error, metadata}; the HTTP status is
 * not reliable (errors may come back as 200), so the error is read before
 * the result (dialect errors.envelope): an authentication failure is an
 * authentication failure, never "host not found".  Collections are paged
 * with page/page_size and metadata.pages_total.
 *
 * The driver never creates hosts or ports: ensure_igroup finds the array
 * host that owns one of the ESXi initiators and returns its name, which map,
 * unmap and mapped_groups then use as the group.
 */
#include <errno.h>
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

#define IBOX_COMP "storage.infinibox"

struct infinibox {
    char *model; /* from GET system at open */
    char *version;
    char *host_name; /* the host ensure_igroup found, and its id */
    json_int_t host_id;
    /* The last listing of every host (all pages, owned), shared by
     * mapped_groups and ensure_igroup, which both need it before the map;
     * dropped at the first map or unmap, so a later call lists afresh. */
    json_t *hosts;
};

/* ---- dialect ---- */

/* The error codes the array answers with (its "error.code" strings).  The
 * not-found family is what the InfiniBox CSI driver itself ignores on unmap. */
static const struct rest_error_rule ibox_rules[] = {
    {.code = "UNAUTHORIZED", .to = PERR_AUTH},
    {.code = "HOST_NOT_FOUND", .to = PERR_NOT_FOUND},
    {.code = "LUN_NOT_FOUND", .to = PERR_NOT_FOUND},
    {.code = "VOLUME_NOT_FOUND", .to = PERR_NOT_FOUND},
    {.code = "MAPPING_ALREADY_EXISTS", .to = PERR_CONFLICT},
    {0},
};

static const struct rest_dialect ibox_dialect = {
    .basic_auth = true,
    .errors =
        {
            .message = "error.message",
            .code = "error.code",
            .envelope = "error.code",
            .rules = ibox_rules,
        },
    /* 1000 objects per page is the array's maximum (and what the Go SDK
     * asks for); the number of pages comes with page 1. */
    .pager =
        {
            .kind = REST_PAGER_PAGES,
            .items = "result",
            .param = "page",
            .size_param = "page_size",
            .size = 1000,
            .total = "metadata.pages_total",
        },
};

/* ---- endpoints ---- */

static const struct rest_endpoint ibox_ep_system = {
    .name = "system-get",
    .method = "GET",
    .path = "/system",
};

static const struct rest_endpoint ibox_ep_hosts = {
    .name = "host-list",
    .method = "GET",
    .path = "/hosts",
    .flags = REST_F_PAGED,
};

static const struct rest_endpoint ibox_ep_host_by_name = {
    .name = "host-get",
    .method = "GET",
    .path = "/hosts",
    .query = "name={name}",
};

static const struct rest_endpoint ibox_ep_volumes = {
    .name = "volume-list",
    .method = "GET",
    .path = "/volumes",
    .query = "name={name}",
    .flags = REST_F_PAGED,
};

static const struct rest_endpoint ibox_ep_volume_luns = {
    .name = "volume-lun-list",
    .method = "GET",
    .path = "/volumes/{vol}/luns",
    .flags = REST_F_PAGED,
};

/* No LUN number is sent: the array picks one.  A mapping made meanwhile by
 * someone else is success. */
static const struct rest_endpoint ibox_ep_map = {
    .name = "host-lun-add",
    .method = "POST",
    .path = "/hosts/{host}/luns",
    .query = "approved=true",
    .ok = {200, 201},
    .already_code = PERR_CONFLICT,
};

/* The Go SDK sends this with a double slash after "hosts"; the documented
 * path has one.  A mapping, host or volume that is gone is success. */
static const struct rest_endpoint ibox_ep_unmap = {
    .name = "host-lun-delete",
    .method = "DELETE",
    .path = "/hosts/{host}/luns/volume_id/{vol}",
    .query = "approved=true",
    .ok = {200, 204},
    .already_code = PERR_NOT_FOUND,
};

/* ---- helpers ---- */

static struct infinibox *
ibox_of(struct storage *st)
{
    return storage_priv(st);
}

/* The envelope's result array of a reply. */
static int
ibox_result(json_t *reply, const char *what, json_t **rows, struct perr *err)
{
    *rows = json_object_get(reply, "result");
    if (!json_is_array(*rows))
        return perr_set(err, PERR_PROTOCOL, "%s: reply has no 'result' array", what);
    return 0;
}

static int
ibox_int(json_t *rec, const char *key, json_int_t *out)
{
    json_t *v = json_object_get(rec, key);

    if (!json_is_integer(v))
        return -1;
    *out = json_integer_value(v);
    return 0;
}

/* A decimal id from a string (the lun's id, stored as text). */
static int
ibox_parse_id(const char *s, const char *what, json_int_t *out, struct perr *err)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = s != NULL ? strtoll(s, &end, 10) : 0;
    if (s == NULL || s[0] == '\0' || *end != '\0' || errno != 0 || v < 0)
        return perr_set(err, PERR_PROTOCOL, "invalid %s id '%s'", what, s != NULL ? s : "");
    *out = (json_int_t)v;
    return 0;
}

static int
ibox_open(struct storage *st, struct perr *err)
{
    struct infinibox *ib = ibox_of(st);
    json_t *reply = NULL;
    json_t *res;
    int rc = -1;

    /* One cheap call checks the address and the credentials before the flow
     * touches anything, and gives the metrics their model and version. */
    if (rest_call(storage_rest(st), &ibox_ep_system, NULL, NULL, &reply, err) < 0) {
        storage_auth_hint(st, err);
        goto out;
    }
    res = json_object_get(reply, "result");
    if (jsonx_string_or(res, "model", NULL) != NULL &&
        (ib->model = strdup(jsonx_string_or(res, "model", NULL))) == NULL)
        goto nomem;
    if (jsonx_string_or(res, "version", NULL) != NULL &&
        (ib->version = strdup(jsonx_string_or(res, "version", NULL))) == NULL)
        goto nomem;
    rc = 0;
    goto out;
nomem:
    perr_set(err, PERR_NOMEM, "out of memory");
out:
    json_decref(reply);
    return rc;
}

static void
ibox_close(struct storage *st)
{
    struct infinibox *ib = ibox_of(st);

    free(ib->model);
    free(ib->version);
    free(ib->host_name);
    json_decref(ib->hosts);
    memset(ib, 0, sizeof(*ib));
}

/* ---- volume ---- */

static const struct lun_fields ibox_lun_fields = {
    .name = "name",
    .id = "id",
    .serial = "serial",
    .naa_from = "serial",
};

/* The volume is named by the CSI attribute "Name" (the InfiniBox CSI driver
 * sets it); the volume handle "<id>$$<protocol>" is not used. */
static int
ibox_resolve_pv(struct storage *st, const struct storage_pv *pv, struct storage_lun *out,
                struct perr *err)
{
    const char *name = storage_pv_attr(pv, "Name");
    json_t *reply = NULL;
    json_t *rows;
    json_t *row;
    int rc = -1;

    if (name == NULL || name[0] == '\0') {
        perr_set(err, PERR_USAGE, "volume attribute 'Name' (the InfiniBox volume name) not found");
        goto out;
    }
    if (rest_call(storage_rest(st), &ibox_ep_volumes,
                  (struct rest_var[]){{"name", name}, {NULL, NULL}}, NULL, &reply, err) < 0) {
        storage_auth_hint(st, err);
        goto out;
    }
    if (ibox_result(reply, "volume list", &rows, err) < 0 ||
        json_one_row(rows, "volume", name, false, &row, err) < 0 ||
        lun_from_json(&storage_infinibox, row, &ibox_lun_fields, out, err) < 0)
        goto out;
    log_debug(IBOX_COMP, "volume resolved", "volume", out->name, "id", out->id, "naa", out->naa,
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

/* True when the host port is one of the wanted initiators: FC WWPNs without
 * separators and case (the array may store either spelling), iSCSI names
 * exactly as the array compares them. */
static bool
ibox_port_matches(json_t *port, const struct initiator_set *want)
{
    const char *type = jsonx_string_or(port, "type", "");
    const char *addr = jsonx_string_or(port, "address", NULL);

    if (addr == NULL)
        return false;
    if (strcasecmp(type, "FC") == 0) {
        for (size_t i = 0; i < want->fc.n; i++) {
            if (wwn_equal(addr, want->fc.v[i]))
                return true;
        }
        return false;
    }
    for (size_t i = 0; i < want->iscsi.n; i++) {
        if (strcmp(addr, want->iscsi.v[i]) == 0)
            return true;
    }
    return false;
}

/* "'a', 'b'" for the not-found message. */
static int
ibox_list_initiators(const char *const *ids, size_t n, struct buf *out, struct perr *err)
{
    for (size_t i = 0; i < n; i++) {
        if (buf_addf(out, err, "%s'%s'", i > 0 ? ", " : "", ids[i]) < 0)
            return -1;
    }
    return 0;
}

static int
ibox_remember_host(struct infinibox *ib, const char *name, json_int_t id, struct perr *err)
{
    char *copy = strdup(name);

    if (copy == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    free(ib->host_name);
    ib->host_name = copy;
    ib->host_id = id;
    return 0;
}

/* Every host (*rows borrowed from the handle): the kept listing unless
 * fresh, else a new one, which is kept.  *kept tells which. */
static int
ibox_host_rows(struct storage *st, bool fresh, json_t **rows, bool *kept, struct perr *err)
{
    struct infinibox *ib = ibox_of(st);
    json_t *reply = NULL;

    *kept = !fresh && ib->hosts != NULL;
    if (!*kept) {
        if (rest_call(storage_rest(st), &ibox_ep_hosts, NULL, NULL, &reply, err) < 0) {
            storage_auth_hint(st, err);
            return -1;
        }
        json_decref(ib->hosts);
        ib->hosts = reply;
    }
    return ibox_result(ib->hosts, "host list", rows, err);
}

static void
ibox_forget_hosts(struct infinibox *ib)
{
    json_decref(ib->hosts);
    ib->hosts = NULL;
}

/* The first host (in the array's order) with a port among set, or NULL. */
static json_t *
ibox_host_by_port(json_t *rows, const struct initiator_set *set)
{
    json_t *host;
    size_t i;

    json_array_foreach(rows, i, host)
    {
        json_t *ports = json_object_get(host, "ports");
        json_t *port;
        size_t j;

        json_array_foreach(ports, j, port)
        {
            if (ibox_port_matches(port, set))
                return host;
        }
    }
    return NULL;
}

static int
ibox_ensure_igroup(struct storage *st, const char *name, const char *const *initiators,
                   size_t ninitiators, char **actual, struct perr *err)
{
    struct infinibox *ib = ibox_of(st);
    struct initiator_set set = {0};
    struct buf ids = {0};
    json_t *rows;
    json_t *found = NULL;
    const char *hname;
    json_int_t hid;
    bool kept;
    int rc = -1;

    *actual = NULL;
    if (initiators_split(initiators, ninitiators,
                         INITIATOR_KIND(INITIATOR_FC) | INITIATOR_KIND(INITIATOR_ISCSI), IBOX_COMP,
                         &set, err) < 0)
        goto out;
    /* The listing mapped_groups just made serves; a host it lacks is looked
     * for in a new one before giving up (the administrator may have just
     * defined it). */
    if (ibox_host_rows(st, false, &rows, &kept, err) < 0)
        goto out;
    found = ibox_host_by_port(rows, &set);
    if (found == NULL && kept) {
        if (ibox_host_rows(st, true, &rows, &kept, err) < 0)
            goto out;
        found = ibox_host_by_port(rows, &set);
    }
    if (found == NULL) {
        if (ibox_list_initiators(initiators, ninitiators, &ids, err) == 0)
            perr_set(err, PERR_NOT_FOUND,
                     "no InfiniBox host has any of the ESXi initiators %s; define the ESXi host "
                     "with these ports on the array (this driver never creates hosts)",
                     buf_cstr(&ids));
        goto out;
    }
    hname = jsonx_string_or(found, "name", NULL);
    if (hname == NULL || ibox_int(found, "id", &hid) < 0) {
        perr_set(err, PERR_PROTOCOL, "host record without 'name' or integer 'id'");
        goto out;
    }
    if (ibox_remember_host(ib, hname, hid, err) < 0 || (*actual = strdup(hname)) == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    log_debug(IBOX_COMP, "host found by initiator", "group", name, "host", hname, NULL);
    rc = 0;
out:
    initiator_set_free(&set);
    buf_free(&ids);
    return rc;
}

/* The id of the host called name; *found false when there is none. */
static int
ibox_host_id(struct storage *st, const char *name, json_int_t *id, bool *found, struct perr *err)
{
    struct infinibox *ib = ibox_of(st);
    json_t *reply = NULL;
    json_t *rows;
    json_t *row;
    int rc = -1;

    *found = false;
    if (ib->host_name != NULL && strcmp(ib->host_name, name) == 0) {
        *id = ib->host_id;
        *found = true;
        return 0;
    }
    if (rest_call(storage_rest(st), &ibox_ep_host_by_name,
                  (struct rest_var[]){{"name", name}, {NULL, NULL}}, NULL, &reply, err) < 0) {
        storage_auth_hint(st, err);
        goto out;
    }
    if (ibox_result(reply, "host lookup", &rows, err) < 0 ||
        json_one_row(rows, "host", name, true, &row, err) < 0)
        goto out;
    if (row != NULL) {
        if (ibox_int(row, "id", id) < 0) {
            perr_set(err, PERR_PROTOCOL, "host '%s' record without an integer 'id'", name);
            goto out;
        }
        *found = true;
    }
    rc = 0;
out:
    json_decref(reply);
    return rc;
}

/* The volume's LUN records (all pages); *reply owns them. */
static int
ibox_volume_luns(struct storage *st, const char *vol, json_t **reply, json_t **rows,
                 struct perr *err)
{
    if (rest_call(storage_rest(st), &ibox_ep_volume_luns,
                  (struct rest_var[]){{"vol", vol}, {NULL, NULL}}, NULL, reply, err) < 0) {
        storage_auth_hint(st, err);
        return -1;
    }
    return ibox_result(*reply, "volume LUN list", rows, err);
}

static int
ibox_map(struct storage *st, const char *group, const struct storage_lun *lun,
         struct storage_lun *mapped, struct perr *err)
{
    json_int_t hid;
    json_int_t vid;
    bool found;
    char hbuf[32];
    int made;
    int rc = -1;

    memset(mapped, 0, sizeof(*mapped));
    ibox_forget_hosts(ibox_of(st));
    if (ibox_parse_id(lun->id, "volume", &vid, err) < 0 ||
        ibox_host_id(st, group, &hid, &found, err) < 0)
        goto out;
    if (!found) {
        perr_set(err, PERR_NOT_FOUND, "host '%s' not found", group);
        goto out;
    }
    /* No listing of the volume's LUNs first: MAPPING_ALREADY_EXISTS is the
     * contract's "already mapped" success. */
    snprintf(hbuf, sizeof(hbuf), "%lld", (long long)hid);
    made =
        rest_call(storage_rest(st), &ibox_ep_map, (struct rest_var[]){{"host", hbuf}, {NULL, NULL}},
                  json_pack("{s:I}", "volume_id", vid), NULL, err);
    if (made < 0) {
        storage_auth_hint(st, err);
        goto out;
    }
    if (made == 1)
        log_debug(IBOX_COMP, "volume already mapped", "host", group, "volume", lun->name, NULL);
    if (storage_lun_copy(lun, mapped, err) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "volume '%s' to host '%s': ", lun->name, group);
    return rc;
}

static int
ibox_unmap(struct storage *st, const char *group, const struct storage_lun *lun, struct perr *err)
{
    json_int_t hid;
    json_int_t vid;
    bool found;
    char hbuf[32];
    int rc = -1;

    ibox_forget_hosts(ibox_of(st));
    if (ibox_parse_id(lun->id, "volume", &vid, err) < 0 ||
        ibox_host_id(st, group, &hid, &found, err) < 0)
        goto out;
    if (!found) {
        log_debug(IBOX_COMP, "host gone, nothing to unmap", "host", group, NULL);
        rc = 0;
        goto out;
    }
    snprintf(hbuf, sizeof(hbuf), "%lld", (long long)hid);
    if (rest_call(storage_rest(st), &ibox_ep_unmap,
                  (struct rest_var[]){{"host", hbuf}, {"vol", lun->id}, {NULL, NULL}}, NULL, NULL,
                  err) < 0) {
        storage_auth_hint(st, err);
        goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "volume '%s' from host '%s': ", lun->name, group);
    return rc;
}

/*
 * Every host the volume is mapped to now (Go keeps only the first one, so
 * the others were never restored).  Host-cluster mappings are skipped: the
 * populator only ever removes its own host's mapping, so they stay intact.
 */
/* The name of the host with id want in rows, or NULL (borrowed). */
static const char *
ibox_host_name_of(json_t *rows, json_int_t want)
{
    json_t *h;
    size_t j;

    json_array_foreach(rows, j, h)
    {
        json_int_t hid;
        const char *name = jsonx_string_or(h, "name", NULL);

        if (ibox_int(h, "id", &hid) == 0 && hid == want && name != NULL)
            return name;
    }
    return NULL;
}

static int
ibox_mapped_groups(struct storage *st, const struct storage_lun *lun, struct strv *out,
                   struct perr *err)
{
    json_t *lreply = NULL;
    json_t *luns;
    json_t *hosts;
    json_t *l;
    size_t i;
    bool kept;
    int rc = -1;

    if (ibox_volume_luns(st, lun->id, &lreply, &luns, err) < 0)
        goto out;
    if (json_array_size(luns) == 0) {
        rc = 0;
        goto out;
    }
    /* A kept listing (ensure_igroup's) serves when it knows every host the
     * volume is mapped to; otherwise a new one is made. */
    if (ibox_host_rows(st, false, &hosts, &kept, err) < 0)
        goto out;
    json_array_foreach(luns, i, l)
    {
        json_int_t want;

        if (!kept)
            break;
        if (!json_is_true(json_object_get(l, "clustered")) && ibox_int(l, "host_id", &want) == 0 &&
            ibox_host_name_of(hosts, want) == NULL &&
            ibox_host_rows(st, true, &hosts, &kept, err) < 0)
            goto out;
    }
    json_array_foreach(luns, i, l)
    {
        json_int_t want;
        const char *name;

        if (json_is_true(json_object_get(l, "clustered")) || ibox_int(l, "host_id", &want) < 0) {
            log_debug(IBOX_COMP, "host-cluster mapping left as it is", "volume", lun->name, NULL);
            continue;
        }
        name = ibox_host_name_of(hosts, want);
        if (name != NULL && !strv_contains(out, name) && strv_add(out, name, err) < 0)
            goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "volume '%s': ", lun->name);
    json_decref(lreply);
    return rc;
}

static int
ibox_array_info(struct storage *st, struct storage_array_info *out, struct perr *err)
{
    struct infinibox *ib = ibox_of(st);

    if (str_dup_opt(ib->model, &out->model, err) < 0 ||
        str_dup_opt(ib->version, &out->version, err) < 0)
        return -1;
    return 0;
}

static const struct storage_ops ibox_ops = {
    .open = ibox_open,
    .close = ibox_close,
    .resolve_pv = ibox_resolve_pv,
    .ensure_igroup = ibox_ensure_igroup,
    .map = ibox_map,
    .unmap = ibox_unmap,
    .mapped_groups = ibox_mapped_groups,
    .array_info = ibox_array_info,
};

const struct storage_driver storage_infinibox = {
    .name = "infinibox",
    .vendor = "Infinidat",
    .product = "InfiniBox",
    .summary = "REST under /api/rest with HTTP Basic auth; existing hosts found by their ports "
               "(never created); volumes by the CSI attribute Name",
    .caps = STORAGE_CAP_ISCSI | STORAGE_CAP_FC,
    .url = {.rule = STORAGE_URL_SUFFIX, .path = "/api/rest"},
    .naa = {.rule = STORAGE_NAA_HEX_SERIAL, .oui = "6"},
    .priv_size = sizeof(struct infinibox),
    .rest = &ibox_dialect,
    .ops = &ibox_ops,
};
