/*
 * Dell PowerMax driver: Unisphere REST API 100 (/univmax/restapi/100) with
 * HTTP Basic on every request and no session.  Written from vendors-a.md §4
 * and vendor-corrections.md §1.
 *
 * Unisphere versions its API through the media type, so every request says
 * "application/json;version=100" and names the client kind (Application-Type:
 * csi).  Open checks the Unisphere version, the array (POWERMAX_SYMMETRIX_ID)
 * and the port group (POWERMAX_PORT_GROUP_NAME), whose protocol decides which
 * ESXi initiators count: FC WWPNs for SCSI_FC/Fibre, IQNs for iSCSI.
 *
 * Hosts are never created: ensure_igroup finds the array host that owns one
 * of the initiators and hands its name back as the group.  Mapping is a
 * storage group and a masking view (host + port group + storage group) that
 * exist only for the copy.  Their names are derived from the host and the
 * device, "xcopy-<host>-<dev>-SG" / "-MV", so a run after a crash finds and
 * adopts what the crashed run left, and two copies through the same ESXi
 * host never share (and so never delete) each other's view.  They are
 * created only at map, after the host was found (Go created the group first
 * and leaked it when no host matched).  Unmap deletes the view, takes the
 * volume out of the group and deletes the group once it is empty.
 * mapped_groups names the hosts of every view that shows the volume; map to
 * a host that already sees it through a view of the array's own (the
 * caller's restore) makes nothing.
 *
 * Retries follow the vendor's client: 500/503 or a "Service Unavailable"
 * text are retried for every method (up to 7 attempts, exponential backoff
 * with full jitter); a 409 answer counts as success.  That policy lives in
 * the dialect, not in the calls.
 */
#include <stdint.h>
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

#define PMAX_COMP "storage.powermax"
/* Unisphere 10.0 is the first release that serves REST API 100. */
#define PMAX_MIN_MAJOR 10
/* Storage group and masking view names are at most 64 characters. */
#define PMAX_NAME_MAX 64

struct powermax {
    const char *sym_ref; /* borrowed from the storage handle's env copy */
    const char *pg_ref;  /* likewise */
    bool fc;             /* the port group's protocol: FC (else iSCSI) */
    json_t *pg;          /* the port group record (its ports) */
    char *model;
    char *ucode;
    /* The volume record resolve_pv read (owned), reused by the lookups of
     * the hosts that see the volume until this run changes its storage
     * groups (map, unmap): one GET of the volume per populate, not three. */
    json_t *vol;
    char *vol_dev;
};

static void
pmax_forget_vol(struct powermax *pm)
{
    json_decref(pm->vol);
    free(pm->vol_dev);
    pm->vol = NULL;
    pm->vol_dev = NULL;
}

static struct powermax *
pmax_of(struct storage *st)
{
    return storage_priv(st);
}

/* ---- dialect ---- */

static const char *const pmax_headers[] = {
    "Accept: application/json;version=100",
    "Content-Type: application/json;version=100",
    "Application-Type: csi",
    NULL,
};

static const struct rest_dialect pmax_dialect = {
    .base_path = "/univmax/restapi/100",
    .basic_auth = true,
    .headers = pmax_headers,
    .errors =
        {
            .message = "message",
            .code = "errorCode",
        },
    .retry =
        {
            .statuses = {500, 503},
            .attempts = 6,
            .initial_ms = 1000,
            .max_ms = 32000,
            .jitter = 1.0,
            .any_method = true,
            .text = "Service Unavailable",
            .success_status = 409,
        },
};

/* ---- endpoints ---- */

#define SLO "/sloprovisioning/symmetrix/{sym}"

static const struct rest_endpoint pmax_ep_version = {
    .name = "version-get",
    .method = "GET",
    .path = "/univmax/restapi/version",
    .flags = REST_F_ROOT,
};

static const struct rest_endpoint pmax_ep_symmetrix = {
    .name = "symmetrix-get",
    .method = "GET",
    .path = "/system/symmetrix/{sym}",
};

static const struct rest_endpoint pmax_ep_portgroup = {
    .name = "portgroup-get",
    .method = "GET",
    .path = SLO "/portgroup/{pg}",
};

static const struct rest_endpoint pmax_ep_port = {
    .name = "port-get",
    .method = "GET",
    .path = "/system/symmetrix/{sym}/director/{dir}/port/{port}",
};

static const struct rest_endpoint pmax_ep_initiators = {
    .name = "initiator-list",
    .method = "GET",
    .path = SLO "/initiator",
    .query = "in_a_host=true&initiator_hba={hba}",
};

/* An IQN the array does not know is not an error: the next one may be. */
static const struct rest_endpoint pmax_ep_initiator = {
    .name = "initiator-get",
    .method = "GET",
    .path = SLO "/initiator/{id}",
    .already_code = PERR_NOT_FOUND,
};

static const struct rest_endpoint pmax_ep_volume = {
    .name = "volume-get",
    .method = "GET",
    .path = SLO "/volume/{dev}",
};

/* The volumes of a storage group come back as an iterator. */
static const struct rest_endpoint pmax_ep_sg_volumes = {
    .name = "volume-list",
    .method = "GET",
    .path = SLO "/volume",
    .query = "storageGroupId={sg}",
    .already_code = PERR_NOT_FOUND,
};

static const struct rest_endpoint pmax_ep_iter_page = {
    .name = "iterator-page",
    .method = "GET",
    .path = "/univmax/restapi/common/Iterator/{id}/page",
    .query = "from={from}&to={to}",
    .flags = REST_F_ROOT,
};

static const struct rest_endpoint pmax_ep_iter_delete = {
    .name = "iterator-delete",
    .method = "DELETE",
    .path = "/univmax/restapi/common/Iterator/{id}",
    .already_code = PERR_NOT_FOUND,
    .flags = REST_F_ROOT,
};

static const struct rest_endpoint pmax_ep_sg_get = {
    .name = "storagegroup-get",
    .method = "GET",
    .path = SLO "/storagegroup/{sg}",
    .already_code = PERR_NOT_FOUND,
};

static const struct rest_endpoint pmax_ep_sg_create = {
    .name = "storagegroup-create",
    .method = "POST",
    .path = SLO "/storagegroup",
};

static const struct rest_endpoint pmax_ep_sg_edit = {
    .name = "storagegroup-edit",
    .method = "PUT",
    .path = SLO "/storagegroup/{sg}",
};

static const struct rest_endpoint pmax_ep_sg_delete = {
    .name = "storagegroup-delete",
    .method = "DELETE",
    .path = SLO "/storagegroup/{sg}",
    .already_code = PERR_NOT_FOUND,
};

static const struct rest_endpoint pmax_ep_mv_get = {
    .name = "maskingview-get",
    .method = "GET",
    .path = SLO "/maskingview/{mv}",
    .already_code = PERR_NOT_FOUND,
};

static const struct rest_endpoint pmax_ep_mv_create = {
    .name = "maskingview-create",
    .method = "POST",
    .path = SLO "/maskingview",
};

static const struct rest_endpoint pmax_ep_mv_delete = {
    .name = "maskingview-delete",
    .method = "DELETE",
    .path = SLO "/maskingview/{mv}",
    .already_code = PERR_NOT_FOUND,
};

/* ---- open / close ---- */

/* "V10.1.0.2" (or "T10...." on test builds): the major release number. */
static long
pmax_major(const char *version)
{
    const char *p = version;
    char *end = NULL;
    long major;

    while (*p != '\0' && (*p < '0' || *p > '9'))
        p++;
    major = strtol(p, &end, 10);
    return end == p ? -1 : major;
}

static int
pmax_check_version(struct storage *st, struct perr *err)
{
    json_t *reply = NULL;
    const char *v;
    int rc = -1;

    if (rest_call(storage_rest(st), &pmax_ep_version, NULL, NULL, &reply, err) < 0) {
        storage_auth_hint(st, err);
        goto out;
    }
    v = jsonx_string_or(reply, "version", NULL);
    if (v == NULL) {
        perr_set(err, PERR_PROTOCOL, "Unisphere version answer without 'version'");
        goto out;
    }
    if (pmax_major(v) < PMAX_MIN_MAJOR) {
        perr_set(err, PERR_UNSUPPORTED,
                 "Unisphere '%s' does not serve REST API 100 (Unisphere %d.0 or later needed)", v,
                 PMAX_MIN_MAJOR);
        goto out;
    }
    log_debug(PMAX_COMP, "unisphere version", "version", v, NULL);
    rc = 0;
out:
    json_decref(reply);
    return rc;
}

/* V4 arrays say port_group_protocol (SCSI_FC, iSCSI, NVMe_TCP...), V3 arrays
 * only type (Fibre, iSCSI). */
static int
pmax_pg_protocol(struct powermax *pm, struct perr *err)
{
    const char *proto = jsonx_string_or(pm->pg, "port_group_protocol", NULL);

    if (proto == NULL || proto[0] == '\0')
        proto = jsonx_string_or(pm->pg, "type", "");
    if (strcasecmp(proto, "SCSI_FC") == 0 || strcasecmp(proto, "Fibre") == 0) {
        pm->fc = true;
        return 0;
    }
    if (strcasecmp(proto, "iSCSI") == 0) {
        pm->fc = false;
        return 0;
    }
    return perr_set(err, PERR_UNSUPPORTED,
                    "port group '%s' has protocol '%s'; only FC (SCSI_FC) and iSCSI port groups "
                    "can be used (POWERMAX_PORT_GROUP_NAME)",
                    pm->pg_ref, proto);
}

static int
pmax_open(struct storage *st, struct perr *err)
{
    struct powermax *pm = pmax_of(st);
    json_t *sym = NULL;
    int rc = -1;

    pm->sym_ref = storage_env(st, "POWERMAX_SYMMETRIX_ID");
    pm->pg_ref = storage_env(st, "POWERMAX_PORT_GROUP_NAME");
    if (pm->sym_ref == NULL || pm->sym_ref[0] == '\0') {
        perr_set(err, PERR_USAGE, "POWERMAX_SYMMETRIX_ID (the 12-digit array id) is required");
        goto out;
    }
    if (pm->pg_ref == NULL || pm->pg_ref[0] == '\0') {
        perr_set(err, PERR_USAGE,
                 "POWERMAX_PORT_GROUP_NAME (an existing port group for the masking view) is "
                 "required");
        goto out;
    }
    if (pmax_check_version(st, err) < 0)
        goto out;
    if (rest_call(storage_rest(st), &pmax_ep_symmetrix,
                  (struct rest_var[]){{"sym", pm->sym_ref}, {NULL, NULL}}, NULL, &sym, err) < 0) {
        storage_auth_hint(st, err);
        if (err->code == PERR_NOT_FOUND)
            perr_prefix(err, "array '%s' (POWERMAX_SYMMETRIX_ID) not found: ", pm->sym_ref);
        goto out;
    }
    if (str_dup_opt(jsonx_string_or(sym, "model", NULL), &pm->model, err) < 0 ||
        str_dup_opt(jsonx_string_or(sym, "ucode", NULL), &pm->ucode, err) < 0)
        goto out;
    if (rest_call(storage_rest(st), &pmax_ep_portgroup,
                  (struct rest_var[]){{"sym", pm->sym_ref}, {"pg", pm->pg_ref}, {NULL, NULL}}, NULL,
                  &pm->pg, err) < 0) {
        if (err->code == PERR_NOT_FOUND)
            perr_prefix(err, "port group '%s' (POWERMAX_PORT_GROUP_NAME) not found: ", pm->pg_ref);
        goto out;
    }
    if (pmax_pg_protocol(pm, err) < 0)
        goto out;
    rc = 0;
out:
    json_decref(sym);
    return rc;
}

static void
pmax_close(struct storage *st)
{
    struct powermax *pm = pmax_of(st);

    json_decref(pm->pg);
    free(pm->model);
    free(pm->ucode);
    pmax_forget_vol(pm);
    memset(pm, 0, sizeof(*pm));
}

/* ---- volume ---- */

static const struct lun_fields pmax_lun_fields = {
    .name = "volumeId",
    .id = "volumeId",
    .serial = "wwn",
    .naa_from = "wwn",
};

/* The CSI volume handle ends with the device id ("csi-...-000197900123-0012A"). */
static int
pmax_resolve_pv(struct storage *st, const struct storage_pv *pv, struct storage_lun *out,
                struct perr *err)
{
    struct powermax *pm = pmax_of(st);
    const char *handle = pv->volume_handle != NULL ? pv->volume_handle : "";
    const char *dash = strrchr(handle, '-');
    const char *dev = dash != NULL ? dash + 1 : handle;
    json_t *vol = NULL;
    int rc = -1;

    if (dev[0] == '\0') {
        perr_set(err, PERR_USAGE,
                 "volume handle '%s' does not end with a PowerMax device id (text after the last "
                 "'-')",
                 handle);
        goto out;
    }
    if (rest_call(storage_rest(st), &pmax_ep_volume,
                  (struct rest_var[]){{"sym", pm->sym_ref}, {"dev", dev}, {NULL, NULL}}, NULL, &vol,
                  err) < 0 ||
        lun_from_json(&storage_powermax, vol, &pmax_lun_fields, out, err) < 0)
        goto out;
    log_debug(PMAX_COMP, "volume resolved", "device", out->id, "naa", out->naa, NULL);
    pmax_forget_vol(pm);
    pm->vol_dev = strdup(dev);
    if (pm->vol_dev != NULL)
        pm->vol = json_incref(vol);
    rc = 0;
out:
    if (rc < 0) {
        perr_prefix(err, "PersistentVolume '%s': ", pv->name != NULL ? pv->name : "");
        storage_lun_clear(out);
    }
    json_decref(vol);
    return rc;
}

/* ---- hosts ---- */

/* The host the initiator record names (host_id, else host), or NULL. */
static const char *
pmax_initiator_host(json_t *rec)
{
    const char *h = jsonx_string_or(rec, "host_id", NULL);

    if (h == NULL || h[0] == '\0')
        h = jsonx_string_or(rec, "host", NULL);
    return h != NULL && h[0] != '\0' ? h : NULL;
}

/* The host of initiator id (an IQN, or "director:port:wwpn"); *host NULL when
 * the array does not know it or it is in no host. */
static int
pmax_host_of_initiator(struct storage *st, const char *id, char **host, struct perr *err)
{
    struct powermax *pm = pmax_of(st);
    json_t *rec = NULL;
    int rc;

    *host = NULL;
    rc = rest_call(storage_rest(st), &pmax_ep_initiator,
                   (struct rest_var[]){{"sym", pm->sym_ref}, {"id", id}, {NULL, NULL}}, NULL, &rec,
                   err);
    if (rc == 0)
        rc = str_dup_opt(pmax_initiator_host(rec), host, err);
    else if (rc == 1)
        rc = 0;
    json_decref(rec);
    return rc;
}

/* FC takes two steps: the WWPN gives the array's initiator ids
 * ("FA-1D:4:<wwpn>", one per director port that sees it), each id its host. */
static int
pmax_host_of_wwpn(struct storage *st, const char *wwpn, char **host, struct perr *err)
{
    struct powermax *pm = pmax_of(st);
    json_t *list = NULL;
    json_t *id;
    size_t i;
    int rc = -1;

    *host = NULL;
    if (rest_call(storage_rest(st), &pmax_ep_initiators,
                  (struct rest_var[]){{"sym", pm->sym_ref}, {"hba", wwpn}, {NULL, NULL}}, NULL,
                  &list, err) < 0)
        goto out;
    json_array_foreach(json_object_get(list, "initiatorId"), i, id)
    {
        if (!json_is_string(id))
            continue;
        if (pmax_host_of_initiator(st, json_string_value(id), host, err) < 0)
            goto out;
        if (*host != NULL)
            break;
    }
    rc = 0;
out:
    json_decref(list);
    return rc;
}

static int
pmax_ensure_igroup(struct storage *st, const char *name, const char *const *initiators,
                   size_t ninitiators, char **actual, struct perr *err)
{
    struct powermax *pm = pmax_of(st);
    struct initiator_set set = {0};
    struct buf tried = {0};
    const struct strv *want;
    char *host = NULL;
    int rc = -1;

    *actual = NULL;
    if (initiators_split(initiators, ninitiators,
                         INITIATOR_KIND(INITIATOR_FC) | INITIATOR_KIND(INITIATOR_ISCSI), PMAX_COMP,
                         &set, err) < 0)
        goto out;
    want = pm->fc ? &set.fc : &set.iscsi;
    if (want->n == 0) {
        perr_set(err, PERR_USAGE,
                 "port group '%s' is %s but the ESXi host has no %s initiator among those given",
                 pm->pg_ref, pm->fc ? "FC" : "iSCSI", pm->fc ? "FC" : "iSCSI");
        goto out;
    }
    for (size_t i = 0; i < want->n && host == NULL; i++) {
        if ((pm->fc ? pmax_host_of_wwpn(st, want->v[i], &host, err)
                    : pmax_host_of_initiator(st, want->v[i], &host, err)) < 0) {
            storage_auth_hint(st, err);
            goto out;
        }
        if (buf_addf(&tried, err, "%s'%s'", i > 0 ? ", " : "", want->v[i]) < 0)
            goto out;
    }
    if (host == NULL) {
        perr_set(err, PERR_NOT_FOUND,
                 "no PowerMax host holds any of the ESXi %s initiators %s; define the ESXi host "
                 "with them on the array (this driver never creates hosts)",
                 pm->fc ? "FC" : "iSCSI", buf_cstr(&tried));
        goto out;
    }
    log_debug(PMAX_COMP, "host found by initiator", "group", name, "host", host, NULL);
    *actual = host;
    host = NULL;
    rc = 0;
out:
    free(host);
    buf_free(&tried);
    initiator_set_free(&set);
    return rc;
}

/* ---- storage group and masking view ---- */

/* "xcopy-<host>-<dev>-SG" and "-MV"; a host name too long for the array's
 * 64 characters is replaced by a hash of it, still stable across runs. */
static int
pmax_names(const char *host, const char *dev, char *sg, char *mv, struct perr *err)
{
    char stem[PMAX_NAME_MAX - 2]; /* room for "-SG" within the 64 */
    uint64_t h = 14695981039346656037ULL;
    size_t len;
    int n;

    n = snprintf(stem, sizeof(stem), "xcopy-%s-%s", host, dev);
    if (n < 0 || (size_t)n >= sizeof(stem)) {
        for (const char *p = host; *p != '\0'; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        n = snprintf(stem, sizeof(stem), "xcopy-%016llx-%s", (unsigned long long)h, dev);
        if (n < 0 || (size_t)n >= sizeof(stem))
            return perr_set(err, PERR_USAGE, "device id '%s' is too long", dev);
    }
    len = strlen(stem);
    memcpy(sg, stem, len);
    memcpy(sg + len, "-SG", 4);
    memcpy(mv, stem, len);
    memcpy(mv + len, "-MV", 4);
    return 0;
}

static void
pmax_iter_delete(struct storage *st, const char *id)
{
    struct perr tmp = {0};

    if (rest_call(storage_rest(st), &pmax_ep_iter_delete,
                  (struct rest_var[]){{"id", id}, {NULL, NULL}}, NULL, NULL, &tmp) < 0)
        log_debug(PMAX_COMP, "iterator not deleted", "iterator", id, "error", tmp.msg, NULL);
}

/* Appends the volumeIds of list's "result" rows; *n gets how many. */
static int
pmax_collect_ids(json_t *list, struct strv *out, size_t *n, struct perr *err)
{
    json_t *row;
    size_t i;

    *n = json_array_size(json_object_get(list, "result"));
    json_array_foreach(json_object_get(list, "result"), i, row)
    {
        const char *v = jsonx_string_or(row, "volumeId", NULL);

        if (v != NULL && strv_add(out, v, err) < 0)
            return -1;
    }
    return 0;
}

/*
 * The device ids in storage group sg, through the volume iterator: the first
 * answer holds resultList (rows 1..to) of count; later pages (a bare
 * {result, from, to}) are asked from=to+1 up to maxPageSize rows at a time;
 * the iterator is deleted at the end, whatever happened.  *gone is
 * true when the group does not exist.
 */
static int
pmax_sg_volumes(struct storage *st, const char *sg, struct strv *out, bool *gone, struct perr *err)
{
    struct powermax *pm = pmax_of(st);
    json_t *first = NULL;
    json_t *page = NULL;
    const char *iter;
    json_int_t count;
    json_int_t max;
    json_int_t to;
    char from_s[24];
    char to_s[24];
    size_t got = 0;
    int r;
    int rc = -1;

    *gone = false;
    r = rest_call(storage_rest(st), &pmax_ep_sg_volumes,
                  (struct rest_var[]){{"sym", pm->sym_ref}, {"sg", sg}, {NULL, NULL}}, NULL, &first,
                  err);
    if (r < 0)
        goto out;
    if (r == 1) {
        *gone = true;
        rc = 0;
        goto out;
    }
    iter = jsonx_string_or(first, "id", NULL);
    count = json_integer_value(json_object_get(first, "count"));
    max = json_integer_value(json_object_get(first, "maxPageSize"));
    to = json_integer_value(json_object_get(json_object_get(first, "resultList"), "to"));
    if (pmax_collect_ids(json_object_get(first, "resultList"), out, &got, err) < 0)
        goto out;
    while (to < count && iter != NULL) {
        json_int_t from = to + 1;

        if (max <= 0) {
            perr_set(err, PERR_PROTOCOL, "volume iterator '%s' without a maxPageSize", iter);
            goto out;
        }
        to = from + max - 1 < count ? from + max - 1 : count;
        snprintf(from_s, sizeof(from_s), "%lld", (long long)from);
        snprintf(to_s, sizeof(to_s), "%lld", (long long)to);
        json_decref(page);
        page = NULL;
        if (rest_call(
                storage_rest(st), &pmax_ep_iter_page,
                (struct rest_var[]){{"id", iter}, {"from", from_s}, {"to", to_s}, {NULL, NULL}},
                NULL, &page, err) < 0 ||
            pmax_collect_ids(page, out, &got, err) < 0)
            goto out;
        if (got == 0)
            break; /* the count check below says what is missing */
    }
    if ((json_int_t)out->n != count) {
        perr_set(err, PERR_PROTOCOL, "storage group '%s': iterator gave %zu of %lld volumes", sg,
                 out->n, (long long)count);
        goto out;
    }
    rc = 0;
out:
    if (first != NULL && jsonx_string_or(first, "id", NULL) != NULL)
        pmax_iter_delete(st, jsonx_string_or(first, "id", NULL));
    json_decref(page);
    json_decref(first);
    return rc;
}

/* The "none" SRP still produces the SLO block: an empty group without a
 * service level, which is what a copy target needs. */
static json_t *
pmax_sg_body(const char *sg)
{
    return json_pack(
        "{s:s, s:s, s:n, s:s, s:s, s:[{s:s, s:n, s:s, s:[{s:s, s:s}], s:b, s:b, s:b}]}",
        "executionOption", "SYNCHRONOUS", "storageGroupId", sg, "snapshot_policies", "srpId",
        "none", "emulation", "FBA", "sloBasedStorageGroupParam", "custom_cascaded_storageGroupId",
        "", "snapshot_policies", "workloadSelection", "None", "volumeAttributes", "capacityUnit",
        "CYL", "volume_size", "0", "allocate_capacity_for_each_vol", 1, "noCompression", 1,
        "enable_mobility_id", 0);
}

static json_t *
pmax_add_body(const char *dev)
{
    return json_pack("{s:{s:{s:{s:[s], s:{}}}}, s:s}", "editStorageGroupActionParam",
                     "expandStorageGroupParam", "addSpecificVolumeParam", "volumeId", dev,
                     "remoteSymmSGInfoParam", "executionOption", "SYNCHRONOUS");
}

static json_t *
pmax_remove_body(const char *dev)
{
    return json_pack("{s:{s:{s:[s], s:{}}}, s:s}", "editStorageGroupActionParam",
                     "removeVolumeParam", "volumeId", dev, "remoteSymmSGInfoParam",
                     "executionOption", "SYNCHRONOUS");
}

/* The view names the host it was made for (useExistingHostParam): the Go
 * client put the host's id under the host-group key, which names a host
 * group that does not exist. */
static json_t *
pmax_mv_body(const char *mv, const char *host, const char *pg, const char *sg)
{
    return json_pack("{s:s, s:{s:{s:s}}, s:{s:{s:s}}, s:{s:{s:s}}}", "maskingViewId", mv,
                     "hostOrHostGroupSelection", "useExistingHostParam", "hostId", host,
                     "portGroupSelection", "useExistingPortGroupParam", "portGroupId", pg,
                     "storageGroupSelection", "useExistingStorageGroupParam", "storageGroupId", sg);
}

/* A view of our name that joins other objects is somebody else's: never
 * adopt it. */
static int
pmax_mv_check(json_t *rec, const char *mv, const char *host, const char *sg, struct perr *err)
{
    const char *h = jsonx_string_or(rec, "hostId", NULL);
    const char *g = jsonx_string_or(rec, "storageGroupId", NULL);

    if ((h != NULL && strcmp(h, host) != 0) || (g != NULL && strcmp(g, sg) != 0))
        return perr_set(err, PERR_CONFLICT,
                        "masking view '%s' exists for host '%s' and storage group '%s', not '%s' "
                        "and '%s'",
                        mv, h != NULL ? h : "", g != NULL ? g : "", host, sg);
    return 0;
}

/* The hosts (or host groups) of every masking view that shows dev: the
 * volume's storage groups, their views, each view's host.  A group or view
 * deleted between two lookups is skipped. */
static int
pmax_hosts_seeing(struct storage *st, const char *dev, struct strv *out, struct perr *err)
{
    struct powermax *pm = pmax_of(st);
    struct rest *r = storage_rest(st);
    json_t *vol = NULL;
    json_t *sgrec = NULL;
    json_t *mvrec = NULL;
    json_t *sg;
    json_t *mv;
    size_t i;
    size_t j;
    int rc = -1;

    if (pm->vol != NULL && strcmp(pm->vol_dev, dev) == 0) {
        vol = json_incref(pm->vol);
    } else if (rest_call(r, &pmax_ep_volume,
                         (struct rest_var[]){{"sym", pm->sym_ref}, {"dev", dev}, {NULL, NULL}},
                         NULL, &vol, err) < 0) {
        goto out;
    }
    json_array_foreach(json_object_get(vol, "storageGroupId"), i, sg)
    {
        int found;

        if (!json_is_string(sg))
            continue;
        json_decref(sgrec);
        sgrec = NULL;
        found = rest_call(
            r, &pmax_ep_sg_get,
            (struct rest_var[]){{"sym", pm->sym_ref}, {"sg", json_string_value(sg)}, {NULL, NULL}},
            NULL, &sgrec, err);
        if (found < 0)
            goto out;
        if (found == 1)
            continue;
        json_array_foreach(json_object_get(sgrec, "maskingview"), j, mv)
        {
            const char *h;

            if (!json_is_string(mv))
                continue;
            json_decref(mvrec);
            mvrec = NULL;
            found =
                rest_call(r, &pmax_ep_mv_get,
                          (struct rest_var[]){
                              {"sym", pm->sym_ref}, {"mv", json_string_value(mv)}, {NULL, NULL}},
                          NULL, &mvrec, err);
            if (found < 0)
                goto out;
            if (found == 1)
                continue;
            h = jsonx_string_or(mvrec, "hostId", NULL);
            if (h == NULL || h[0] == '\0')
                h = jsonx_string_or(mvrec, "hostGroupId", NULL);
            if (h != NULL && h[0] != '\0' && !strv_contains(out, h) && strv_add(out, h, err) < 0)
                goto out;
        }
    }
    rc = 0;
out:
    json_decref(mvrec);
    json_decref(sgrec);
    json_decref(vol);
    return rc;
}

/* Best effort, after a failed map whose view was not made: the volume
 * leaves the group this call put it in, the group this call made goes. */
static void
pmax_map_undo(struct storage *st, const char *sg, const char *dev, bool added, bool created)
{
    struct powermax *pm = pmax_of(st);
    struct perr tmp = {0};

    if (added && rest_call(storage_rest(st), &pmax_ep_sg_edit,
                           (struct rest_var[]){{"sym", pm->sym_ref}, {"sg", sg}, {NULL, NULL}},
                           pmax_remove_body(dev), NULL, &tmp) < 0) {
        log_debug(PMAX_COMP, "volume not taken out after a failed map", "storage_group", sg,
                  "error", tmp.msg, NULL);
        return;
    }
    if (created && rest_call(storage_rest(st), &pmax_ep_sg_delete,
                             (struct rest_var[]){{"sym", pm->sym_ref}, {"sg", sg}, {NULL, NULL}},
                             NULL, NULL, &tmp) < 0)
        log_debug(PMAX_COMP, "storage group not deleted after a failed map", "storage_group", sg,
                  "error", tmp.msg, NULL);
}

static int
pmax_map(struct storage *st, const char *group, const struct storage_lun *lun,
         struct storage_lun *mapped, struct perr *err)
{
    struct powermax *pm = pmax_of(st);
    struct rest *r = storage_rest(st);
    struct strv vols = {0};
    json_t *mvrec = NULL;
    char sg[PMAX_NAME_MAX + 1];
    char mv[PMAX_NAME_MAX + 1];
    bool created = false;
    bool added = false;
    bool gone = false;
    int found;
    int rc = -1;

    memset(mapped, 0, sizeof(*mapped));
    if (pmax_names(group, lun->id, sg, mv, err) < 0)
        goto out;
    found = rest_call(r, &pmax_ep_sg_get,
                      (struct rest_var[]){{"sym", pm->sym_ref}, {"sg", sg}, {NULL, NULL}}, NULL,
                      NULL, err);
    if (found < 0)
        goto out;
    if (found == 1) {
        /* No group of ours: a view of the array's own may already show the
         * volume to this host (a restore after the copy), and then there is
         * nothing to make. */
        if (pmax_hosts_seeing(st, lun->id, &vols, err) < 0)
            goto out;
        if (strv_contains(&vols, group)) {
            log_debug(PMAX_COMP, "host already sees the volume", "host", group, "device", lun->id,
                      NULL);
            rc = storage_lun_copy(lun, mapped, err);
            goto out;
        }
        strv_free(&vols);
        if (rest_call(r, &pmax_ep_sg_create,
                      (struct rest_var[]){{"sym", pm->sym_ref}, {NULL, NULL}}, pmax_sg_body(sg),
                      NULL, err) < 0)
            goto out;
        created = true;
        log_debug(PMAX_COMP, "storage group created", "storage_group", sg, NULL);
    } else {
        log_debug(PMAX_COMP, "storage group adopted", "storage_group", sg, NULL);
    }
    /* A group made just now is empty; an adopted one may hold the volume. */
    if (!created && pmax_sg_volumes(st, sg, &vols, &gone, err) < 0)
        goto out;
    if (!strv_contains(&vols, lun->id)) {
        if (rest_call(r, &pmax_ep_sg_edit,
                      (struct rest_var[]){{"sym", pm->sym_ref}, {"sg", sg}, {NULL, NULL}},
                      pmax_add_body(lun->id), NULL, err) < 0)
            goto out;
        added = true;
    }
    found = rest_call(r, &pmax_ep_mv_get,
                      (struct rest_var[]){{"sym", pm->sym_ref}, {"mv", mv}, {NULL, NULL}}, NULL,
                      &mvrec, err);
    if (found < 0 || (found == 0 && pmax_mv_check(mvrec, mv, group, sg, err) < 0))
        goto out;
    if (found == 1 &&
        rest_call(r, &pmax_ep_mv_create, (struct rest_var[]){{"sym", pm->sym_ref}, {NULL, NULL}},
                  pmax_mv_body(mv, group, pm->pg_ref, sg), NULL, err) < 0)
        goto out;
    log_debug(PMAX_COMP, "volume mapped", "masking_view", mv, "device", lun->id, NULL);
    if (storage_lun_copy(lun, mapped, err) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0) {
        /* The caller unmaps only a map that succeeded: undo what this call
         * made before the view existed, so a failed map leaves nothing. */
        if (added || created)
            pmax_map_undo(st, sg, lun->id, added, created);
        perr_prefix(err, "device '%s' to host '%s': ", lun->id != NULL ? lun->id : "", group);
    }
    /* The volume's storage groups may have changed: read them afresh next time. */
    pmax_forget_vol(pm);
    json_decref(mvrec);
    strv_free(&vols);
    return rc;
}

static int
pmax_unmap(struct storage *st, const char *group, const struct storage_lun *lun, struct perr *err)
{
    struct powermax *pm = pmax_of(st);
    struct rest *r = storage_rest(st);
    struct strv vols = {0};
    char sg[PMAX_NAME_MAX + 1];
    char mv[PMAX_NAME_MAX + 1];
    bool gone = false;
    size_t others;
    int rc = -1;

    if (pmax_names(group, lun->id, sg, mv, err) < 0)
        goto out;
    if (rest_call(r, &pmax_ep_mv_delete,
                  (struct rest_var[]){{"sym", pm->sym_ref}, {"mv", mv}, {NULL, NULL}}, NULL, NULL,
                  err) < 0 ||
        pmax_sg_volumes(st, sg, &vols, &gone, err) < 0)
        goto out;
    if (gone) {
        rc = 0;
        goto out;
    }
    if (strv_contains(&vols, lun->id) &&
        rest_call(r, &pmax_ep_sg_edit,
                  (struct rest_var[]){{"sym", pm->sym_ref}, {"sg", sg}, {NULL, NULL}},
                  pmax_remove_body(lun->id), NULL, err) < 0)
        goto out;
    others = vols.n - (strv_contains(&vols, lun->id) ? 1 : 0);
    if (others > 0) {
        log_debug(PMAX_COMP, "storage group holds other volumes, kept", "storage_group", sg, NULL);
        rc = 0;
        goto out;
    }
    if (rest_call(r, &pmax_ep_sg_delete,
                  (struct rest_var[]){{"sym", pm->sym_ref}, {"sg", sg}, {NULL, NULL}}, NULL, NULL,
                  err) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "device '%s' from host '%s': ", lun->id != NULL ? lun->id : "", group);
    pmax_forget_vol(pm);
    strv_free(&vols);
    return rc;
}

/* The hosts whose masking views show the volume, ours and the array's own
 * (the CSI driver's view of a worker node): the caller maps them again
 * after the copy, which finds them mapped and changes nothing. */
static int
pmax_mapped_groups(struct storage *st, const struct storage_lun *lun, struct strv *out,
                   struct perr *err)
{
    if (pmax_hosts_seeing(st, lun->id, out, err) < 0) {
        perr_prefix(err, "device '%s': ", lun->id != NULL ? lun->id : "");
        return -1;
    }
    return 0;
}

/* The port group's ports, one lookup each: FC WWNs and iSCSI target IQNs
 * are both the port's "identifier". */
static int
pmax_target_ports(struct storage *st, struct strv *fc, struct strv *iscsi, struct perr *err)
{
    struct powermax *pm = pmax_of(st);
    json_t *key;
    json_t *rec = NULL;
    size_t i;
    int rc = -1;

    json_array_foreach(json_object_get(pm->pg, "symmetrixPortKey"), i, key)
    {
        const char *dir = jsonx_string_or(key, "directorId", NULL);
        const char *port = jsonx_string_or(key, "portId", NULL);
        const char *ident;

        if (dir == NULL || port == NULL)
            continue;
        json_decref(rec);
        rec = NULL;
        if (rest_call(storage_rest(st), &pmax_ep_port,
                      (struct rest_var[]){
                          {"sym", pm->sym_ref}, {"dir", dir}, {"port", port}, {NULL, NULL}},
                      NULL, &rec, err) < 0)
            goto out;
        ident = jsonx_string_or(json_object_get(rec, "symmetrixPort"), "identifier", NULL);
        if (ident != NULL && ident[0] != '\0' && strv_add(pm->fc ? fc : iscsi, ident, err) < 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(rec);
    return rc;
}

static int
pmax_array_info(struct storage *st, struct storage_array_info *out, struct perr *err)
{
    struct powermax *pm = pmax_of(st);

    if (str_dup_opt(pm->model, &out->model, err) < 0 ||
        str_dup_opt(pm->ucode, &out->version, err) < 0)
        return -1;
    return 0;
}

static const struct storage_ops pmax_ops = {
    .open = pmax_open,
    .close = pmax_close,
    .resolve_pv = pmax_resolve_pv,
    .ensure_igroup = pmax_ensure_igroup,
    .map = pmax_map,
    .unmap = pmax_unmap,
    .mapped_groups = pmax_mapped_groups,
    .array_info = pmax_array_info,
    .target_ports = pmax_target_ports,
};

static const struct storage_env_key powermax_env_keys[] = {
    {"POWERMAX_SYMMETRIX_ID", "the array (Symmetrix) id, 12 digits; required"},
    {"POWERMAX_PORT_GROUP_NAME",
     "an existing port group for the masking view; its protocol (FC or iSCSI) picks the "
     "initiators; required"},
    {NULL, NULL},
};

const struct storage_driver storage_powermax = {
    .name = "powermax",
    .vendor = "Dell",
    .product = "PowerMax",
    .summary = "Unisphere REST 100 with HTTP Basic auth; the ESXi host must exist on the array; a "
               "temporary storage group and masking view per copy",
    .caps = STORAGE_CAP_ISCSI | STORAGE_CAP_FC,
    .env_keys = powermax_env_keys,
    .url = {.rule = STORAGE_URL_STRIP_API},
    .naa = {.rule = STORAGE_NAA_WWN},
    .priv_size = sizeof(struct powermax),
    .rest = &pmax_dialect,
    .ops = &pmax_ops,
};
