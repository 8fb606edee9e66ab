/*
 * NetApp ONTAP driver: ONTAP REST under /api with HTTP Basic on every request
 * (no session).  Written against the ONTAP 9.x REST reference field names;
 * where the Go populator's SDK spelled a field differently
 * (logical-unit-number) the documented name is used (logical_unit_number).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonx.h"
#include "lib/log.h"
#include "lib/rest.h"
#include "storage/reconcile.h"
#include "storage/storage.h"

#define ONTAP_COMP "storage.ontap"

struct ontap {
    char *svm_name;
    char *svm_uuid;
    /* The lun-map this run created (from the create reply), so unmap can
     * delete it by its two uuids without listing the maps again. */
    char *made_lun_uuid;
    char *made_igroup;
    char *made_igroup_uuid;
};

/* ---- dialect ---- */

/* Collections carry {"_links":{"next":{"href":"/api/...?...&start.uuid=..."}}}
 * while more records remain; errors are {"error":{"message","code","target"}}. */
static const struct rest_dialect ontap_dialect = {
    .base_path = "/api",
    .basic_auth = true,
    .errors = {.message = "error.message", .code = "error.code"},
    .pager = {.kind = REST_PAGER_NEXT_LINK, .items = "records", .link = "_links.next.href"},
};

/* ---- endpoints (ONTAP 9.8+ REST) ---- */

static const struct rest_endpoint ontap_ep_svms = {
    .name = "svm-list",
    .method = "GET",
    .path = "/svm/svms",
    .query = "name={name}&fields=name,uuid",
    .flags = REST_F_PAGED,
};

static const struct rest_endpoint ontap_ep_cluster = {
    .name = "cluster-get",
    .method = "GET",
    .path = "/cluster",
    .query = "fields=version",
};

static const struct rest_endpoint ontap_ep_luns = {
    .name = "lun-list",
    .method = "GET",
    .path = "/storage/luns",
    .query = "svm.uuid={svm}&name={name}&fields=uuid,name,serial_number",
    .flags = REST_F_PAGED,
};

static const struct rest_endpoint ontap_ep_igroups = {
    .name = "igroup-list",
    .method = "GET",
    .path = "/protocols/san/igroups",
    .query = "svm.uuid={svm}&name={name}&fields=uuid,name,protocol,initiators.name",
    .flags = REST_F_PAGED,
};

/* 409: a concurrent populator created it first. */
static const struct rest_endpoint ontap_ep_igroup_create = {
    .name = "igroup-create",
    .method = "POST",
    .path = "/protocols/san/igroups",
    .query = "return_records=true",
    .ok = {201},
    .already = {409},
};

/* 409: already in the group (ONTAP may have stored it in another case). */
static const struct rest_endpoint ontap_ep_initiator_add = {
    .name = "igroup-initiator-add",
    .method = "POST",
    .path = "/protocols/san/igroups/{igroup}/initiators",
    .ok = {201},
    .already = {409},
};

static const struct rest_endpoint ontap_ep_lun_maps = {
    .name = "lun-map-list",
    .method = "GET",
    .path = "/protocols/san/lun-maps",
    .query = "svm.uuid={svm}&lun.name={lun}&igroup.name={igroup}"
             "&fields=igroup.name,igroup.uuid,lun.uuid,logical_unit_number",
    .flags = REST_F_PAGED,
};

static const struct rest_endpoint ontap_ep_lun_map_create = {
    .name = "lun-map-create",
    .method = "POST",
    .path = "/protocols/san/lun-maps",
    .query = "return_records=true",
    .ok = {201},
    .already = {409},
};

static const struct rest_endpoint ontap_ep_lun_map_delete = {
    .name = "lun-map-delete",
    .method = "DELETE",
    .path = "/protocols/san/lun-maps/{lun}/{igroup}",
    .ok = {200},
    .already = {404},
};

/* The SVM's FC data LIFs: their WWPNs are the array's FC target ports. */
static const struct rest_endpoint ontap_ep_fc_interfaces = {
    .name = "fc-interface-list",
    .method = "GET",
    .path = "/network/fc/interfaces",
    .query = "svm.uuid={svm}&data_protocol=fcp&fields=wwpn",
    .flags = REST_F_PAGED,
};

/* The SVM's iSCSI service: target.name is its iSCSI target node name. */
static const struct rest_endpoint ontap_ep_iscsi_services = {
    .name = "iscsi-service-list",
    .method = "GET",
    .path = "/protocols/san/iscsi/services",
    .query = "svm.uuid={svm}&fields=target.name",
    .flags = REST_F_PAGED,
};

/* ---- helpers ---- */

static struct ontap *
ontap_of(struct storage *st)
{
    return storage_priv(st);
}

/* The "records" array of a collection reply. */
static int
ontap_records(json_t *reply, const char *what, json_t **records, struct perr *err)
{
    *records = json_object_get(reply, "records");
    if (!json_is_array(*records))
        return perr_set(err, PERR_PROTOCOL, "%s: reply has no 'records' array", what);
    return 0;
}

static int
ontap_svm_resolve(struct storage *st, struct perr *err)
{
    struct ontap *o = ontap_of(st);
    const char *want = storage_env(st, "ONTAP_SVM");
    json_t *reply = NULL;
    json_t *records;
    int rc = -1;

    if (want != NULL && want[0] == '\0')
        want = NULL;
    if (rest_call(storage_rest(st), &ontap_ep_svms,
                  (struct rest_var[]){{"name", want}, {NULL, NULL}}, NULL, &reply, err) < 0 ||
        ontap_records(reply, "SVM list", &records, err) < 0)
        goto out;
    if (want != NULL && json_array_size(records) != 1) {
        perr_set(err, PERR_NOT_FOUND, "SVM '%s' not found (check ONTAP_SVM)", want);
        goto out;
    }
    if (json_array_size(records) != 1) {
        perr_set(err, PERR_USAGE,
                 "cannot derive the SVM to use: the array shows %zu SVMs; set ONTAP_SVM",
                 json_array_size(records));
        goto out;
    }
    if (jsonx_strdup(json_array_get(records, 0), "uuid", &o->svm_uuid, err) < 0 ||
        jsonx_strdup(json_array_get(records, 0), "name", &o->svm_name, err) < 0)
        goto out;
    log_debug(ONTAP_COMP, "svm resolved", "svm", o->svm_name, "uuid", o->svm_uuid, NULL);
    rc = 0;
out:
    json_decref(reply);
    return rc;
}

static void
ontap_made_forget(struct ontap *o)
{
    free(o->made_lun_uuid);
    free(o->made_igroup);
    free(o->made_igroup_uuid);
    o->made_lun_uuid = NULL;
    o->made_igroup = NULL;
    o->made_igroup_uuid = NULL;
}

static int
ontap_open(struct storage *st, struct perr *err)
{
    return ontap_svm_resolve(st, err);
}

static void
ontap_close(struct storage *st)
{
    struct ontap *o = ontap_of(st);

    free(o->svm_name);
    free(o->svm_uuid);
    o->svm_name = NULL;
    o->svm_uuid = NULL;
    ontap_made_forget(o);
}

/*
 * LUN path from the Trident PV attributes:
 *   internalID  "/svm/<svm>/flexvol/<flexvol>/lun/<lun>" (ontap-san-economy)
 *               -> "/vol/<flexvol>/<lun>"
 *   internalName "<vol>" (ontap-san, one FlexVol per PV) -> "/vol/<vol>/lun0"
 */
static int
ontap_lun_path(const struct storage_pv *pv, struct buf *path, struct perr *err)
{
    const char *id = storage_pv_attr(pv, "internalID");
    const char *name = storage_pv_attr(pv, "internalName");

    if (id != NULL) {
        const char *fv = strstr(id, "/flexvol/");
        const char *lun = fv != NULL ? strstr(fv + 9, "/lun/") : NULL;

        if (fv == NULL || lun == NULL || lun == fv + 9 || lun[5] == '\0')
            return perr_set(err, PERR_USAGE,
                            "PersistentVolume '%s': internalID '%s' is not "
                            "/svm/<svm>/flexvol/<flexvol>/lun/<lun>",
                            pv->name, id);
        return buf_addf(path, err, "/vol/%.*s/%s", (int)(lun - (fv + 9)), fv + 9, lun + 5);
    }
    if (name != NULL && name[0] != '\0')
        return buf_addf(path, err, "/vol/%s/lun0", name);
    return perr_set(err, PERR_USAGE,
                    "neither internalID nor internalName attribute found on PersistentVolume '%s'",
                    pv->name);
}

/* Looks up one LUN by path: its record (a new reference) in *rec. */
static int
ontap_lun_get(struct storage *st, const char *path, json_t **rec, struct perr *err)
{
    struct ontap *o = ontap_of(st);
    json_t *reply = NULL;
    json_t *row;
    int rc = -1;

    *rec = NULL;
    if (rest_call(storage_rest(st), &ontap_ep_luns,
                  (struct rest_var[]){{"svm", o->svm_uuid}, {"name", path}, {NULL, NULL}}, NULL,
                  &reply, err) < 0 ||
        json_one_row(json_object_get(reply, "records"), "LUN", path, true, &row, err) < 0)
        goto out;
    if (row == NULL) {
        perr_set(err, PERR_NOT_FOUND, "LUN '%s' not found in SVM '%s'", path, o->svm_name);
        goto out;
    }
    *rec = json_incref(row);
    rc = 0;
out:
    json_decref(reply);
    return rc;
}

static const struct lun_fields ontap_lun_fields = {
    .name = "name",
    .id = "uuid",
    .serial = "serial_number",
    .naa_from = "serial_number",
};

static int
ontap_resolve_pv(struct storage *st, const struct storage_pv *pv, struct storage_lun *out,
                 struct perr *err)
{
    struct buf path = {0};
    json_t *rec = NULL;
    int rc = -1;

    if (ontap_lun_path(pv, &path, err) < 0 || ontap_lun_get(st, buf_cstr(&path), &rec, err) < 0 ||
        lun_from_json(&storage_ontap, rec, &ontap_lun_fields, out, err) < 0)
        goto out;
    log_debug(ONTAP_COMP, "lun resolved", "lun", out->name, "naa", out->naa, NULL);
    rc = 0;
out:
    if (rc < 0) {
        perr_prefix(err, "PersistentVolume '%s': ", pv->name);
        storage_lun_clear(out);
    }
    json_decref(rec);
    buf_free(&path);
    return rc;
}

/*
 * The igroup protocol comes from the first initiator with a known kind (the
 * Go populator's rule, so igroups it made are reused): FC -> "fcp", iSCSI ->
 * "iscsi".  Only initiators of that protocol go in, so a LUN is never
 * presented over two protocols; FC ones as upper-case colon-separated WWPNs.
 */
static enum initiator_proto
ontap_protocol(const char *const *inits, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        enum initiator_proto p = initiator_proto(inits[i]);

        if (p != INITIATOR_UNKNOWN)
            return p;
    }
    return INITIATOR_UNKNOWN;
}

/* The igroup called name (its record, or NULL).  ONTAP igroups are found by
 * name only: the name carries the protocol, and an igroup of another name
 * holding the initiators is someone else's. */
static int
ontap_igroup_find(struct storage *st, void *ctx, const char *name, const struct initiator_set *want,
                  json_t **rec, struct perr *err)
{
    struct ontap *o = ontap_of(st);
    json_t *reply = NULL;
    json_t *row;
    int rc = -1;

    (void)ctx;
    (void)want;
    *rec = NULL;
    if (rest_call(storage_rest(st), &ontap_ep_igroups,
                  (struct rest_var[]){{"svm", o->svm_uuid}, {"name", name}, {NULL, NULL}}, NULL,
                  &reply, err) < 0 ||
        json_one_row(json_object_get(reply, "records"), "igroup", name, true, &row, err) < 0)
        goto out;
    *rec = json_incref(row);
    rc = 0;
out:
    json_decref(reply);
    return rc;
}

/* The initiators as ONTAP stores them: iSCSI as given, FC upper-colon. */
static int
ontap_initiator_names(const struct initiator_set *set, struct strv *out, struct perr *err)
{
    for (size_t i = 0; i < set->iscsi.n; i++) {
        if (strv_add(out, set->iscsi.v[i], err) < 0)
            return -1;
    }
    return initiators_fc_format(set, WWN_UPPER_COLON, out, err);
}

static int
ontap_igroup_create(struct storage *st, void *ctx, const char *name,
                    const struct initiator_set *want, struct perr *already, struct perr *err)
{
    struct ontap *o = ontap_of(st);
    const char *proto = *(const char **)ctx;
    struct strv names = {0};
    struct rest_request req = {.ep = &ontap_ep_igroup_create};
    struct rest_reply reply = {0};
    json_t *list = json_array();
    int rc = -1;

    if (list == NULL || ontap_initiator_names(want, &names, err) < 0)
        goto out;
    for (size_t i = 0; i < names.n; i++) {
        if (json_array_append_new(list, json_pack("{s:s}", "name", names.v[i])) < 0)
            goto nomem;
    }
    req.body = json_pack("{s:s, s:s, s:s, s:{s:s}, s:O}", "name", name, "protocol", proto,
                         "os_type", "vmware", "svm", "uuid", o->svm_uuid, "initiators", list);
    if (req.body == NULL)
        goto nomem;
    rc = rest_do(storage_rest(st), &req, &reply, err);
    if (rc == 1)
        group_already(&reply, already);
    goto out;
nomem:
    perr_set(err, PERR_NOMEM, "out of memory");
out:
    rest_reply_free(&reply);
    json_decref(list);
    strv_free(&names);
    return rc;
}

static bool
ontap_igroup_holds(void *ctx, json_t *rec, const char *initiator, enum initiator_proto kind)
{
    json_t *list = json_object_get(rec, "initiators");
    size_t i;
    json_t *v;

    (void)ctx;
    json_array_foreach(list, i, v)
    {
        const char *have = jsonx_string_or(v, "name", NULL);

        if (kind == INITIATOR_FC ? wwn_equal(have, initiator) : initiator_equal(have, initiator))
            return true;
    }
    return false;
}

static int
ontap_igroup_add(struct storage *st, void *ctx, json_t *rec, const struct initiator_set *missing,
                 struct perr *err)
{
    const char *uuid = jsonx_string_or(rec, "uuid", NULL);
    struct strv names = {0};
    int rc = -1;

    (void)ctx;
    if (uuid == NULL) {
        perr_set(err, PERR_PROTOCOL, "igroup record has no uuid");
        goto out;
    }
    if (ontap_initiator_names(missing, &names, err) < 0)
        goto out;
    for (size_t i = 0; i < names.n; i++) {
        if (rest_call(storage_rest(st), &ontap_ep_initiator_add,
                      (struct rest_var[]){{"igroup", uuid}, {NULL, NULL}},
                      json_pack("{s:s}", "name", names.v[i]), NULL, err) < 0) {
            perr_prefix(err, "initiator '%s': ", names.v[i]);
            goto out;
        }
    }
    rc = 0;
out:
    strv_free(&names);
    return rc;
}

static const struct group_ops ontap_group_ops = {
    .find = ontap_igroup_find,
    .create = ontap_igroup_create,
    .holds = ontap_igroup_holds,
    .add = ontap_igroup_add,
};

static int
ontap_ensure_igroup(struct storage *st, const char *name, const char *const *initiators,
                    size_t ninitiators, char **actual, struct perr *err)
{
    enum initiator_proto p = ontap_protocol(initiators, ninitiators);
    const char *proto = p == INITIATOR_FC ? "fcp" : "iscsi";
    struct initiator_set set = {0};
    struct buf ig = {0};
    int rc = -1;

    if (initiators_split(initiators, ninitiators, INITIATOR_KIND(p), ONTAP_COMP, &set, err) < 0 ||
        buf_addf(&ig, err, "%s-%s", name, proto) < 0)
        goto out;
    /* Only the chosen protocol's initiators go in. */
    if (p == INITIATOR_FC) {
        strv_free(&set.iscsi);
    } else {
        strv_free(&set.fc);
        strv_free(&set.fc_wwnn);
    }
    rc = group_ensure(st, &ontap_group_ops, &proto, buf_cstr(&ig), &set, actual, err);
out:
    if (rc < 0)
        perr_prefix(err, "igroup '%s': ", ig.len > 0 ? buf_cstr(&ig) : name);
    initiator_set_free(&set);
    buf_free(&ig);
    return rc;
}

/* lun-map records for lun (and igroup unless NULL); the reply in *reply. */
static int
ontap_maps(struct storage *st, const char *lun_path, const char *igroup, json_t **reply,
           json_t **records, struct perr *err)
{
    struct ontap *o = ontap_of(st);

    *records = NULL;
    if (rest_call(storage_rest(st), &ontap_ep_lun_maps,
                  (struct rest_var[]){
                      {"svm", o->svm_uuid}, {"lun", lun_path}, {"igroup", igroup}, {NULL, NULL}},
                  NULL, reply, err) < 0)
        return -1;
    return ontap_records(*reply, "lun-map list", records, err);
}

static int
ontap_map(struct storage *st, const char *group, const struct storage_lun *lun,
          struct storage_lun *mapped, struct perr *err)
{
    struct ontap *o = ontap_of(st);
    json_t *reply = NULL;
    json_t *lrec = NULL;
    json_t *rec;
    json_t *body;
    const char *uuid = lun->id;
    const char *ig_uuid;
    int made;
    int rc = -1;

    /* No listing first: the create answers 409 when the map exists, which
     * is the "already mapped" success of the contract. */
    if (uuid == NULL) {
        if (ontap_lun_get(st, lun->name, &lrec, err) < 0)
            goto out;
        uuid = jsonx_string_or(lrec, "uuid", NULL);
    }
    body = json_pack("{s:{s:s}, s:{s:s, s:s}, s:{s:s}}", "igroup", "name", group, "lun", "name",
                     lun->name, "uuid", uuid, "svm", "uuid", o->svm_uuid);
    if (body == NULL) {
        perr_set(err, PERR_PROTOCOL, "cannot build the lun-map body (LUN without a uuid)");
        goto out;
    }
    made = rest_call(storage_rest(st), &ontap_ep_lun_map_create, NULL, body, &reply, err);
    if (made < 0)
        goto out;
    if (made == 1) {
        log_debug(ONTAP_COMP, "lun already mapped", "igroup", group, "lun", lun->name, NULL);
    } else {
        ontap_made_forget(o);
        rec = json_array_get(json_object_get(reply, "records"), 0);
        ig_uuid = jsonx_string_or(json_object_get(rec, "igroup"), "uuid", NULL);
        if (ig_uuid != NULL && uuid != NULL) {
            o->made_lun_uuid = strdup(uuid);
            o->made_igroup = strdup(group);
            o->made_igroup_uuid = strdup(ig_uuid);
            if (o->made_lun_uuid == NULL || o->made_igroup == NULL || o->made_igroup_uuid == NULL)
                ontap_made_forget(o); /* unmap lists the maps instead */
        }
    }
    if (storage_lun_copy(lun, mapped, err) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "LUN '%s' to igroup '%s': ", lun->name, group);
    json_decref(lrec);
    json_decref(reply);
    return rc;
}

static int
ontap_unmap(struct storage *st, const char *group, const struct storage_lun *lun, struct perr *err)
{
    struct ontap *o = ontap_of(st);
    json_t *reply = NULL;
    json_t *records;
    json_t *rec;
    const char *ig_uuid;
    const char *lun_uuid;
    int rc = -1;

    /* The map this run made: delete it by its uuids (404 = already gone). */
    if (o->made_lun_uuid != NULL && lun->id != NULL && strcmp(o->made_lun_uuid, lun->id) == 0 &&
        strcmp(o->made_igroup, group) == 0) {
        if (rest_call(storage_rest(st), &ontap_ep_lun_map_delete,
                      (struct rest_var[]){
                          {"lun", o->made_lun_uuid}, {"igroup", o->made_igroup_uuid}, {NULL, NULL}},
                      NULL, NULL, err) < 0)
            goto out;
        ontap_made_forget(o);
        rc = 0;
        goto out;
    }
    if (ontap_maps(st, lun->name, group, &reply, &records, err) < 0)
        goto out;
    if (json_array_size(records) == 0) {
        log_debug(ONTAP_COMP, "lun not mapped", "igroup", group, "lun", lun->name, NULL);
        rc = 0;
        goto out;
    }
    rec = json_array_get(records, 0);
    ig_uuid = jsonx_string_or(json_object_get(rec, "igroup"), "uuid", NULL);
    lun_uuid = jsonx_string_or(json_object_get(rec, "lun"), "uuid", lun->id);
    if (ig_uuid == NULL || lun_uuid == NULL) {
        perr_set(err, PERR_PROTOCOL, "lun-map record without igroup.uuid or lun.uuid");
        goto out;
    }
    if (rest_call(storage_rest(st), &ontap_ep_lun_map_delete,
                  (struct rest_var[]){{"lun", lun_uuid}, {"igroup", ig_uuid}, {NULL, NULL}}, NULL,
                  NULL, err) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "LUN '%s' from igroup '%s': ", lun->name, group);
    json_decref(reply);
    return rc;
}

static int
ontap_mapped_groups(struct storage *st, const struct storage_lun *lun, struct strv *out,
                    struct perr *err)
{
    json_t *reply = NULL;
    json_t *records;
    json_t *rec;
    size_t i;
    int rc = -1;

    if (ontap_maps(st, lun->name, NULL, &reply, &records, err) < 0)
        goto out;
    json_array_foreach(records, i, rec)
    {
        const char *name = jsonx_string_or(json_object_get(rec, "igroup"), "name", NULL);

        if (name == NULL) {
            perr_set(err, PERR_PROTOCOL, "lun-map record without igroup.name");
            goto out;
        }
        if (!strv_contains(out, name) && strv_add(out, name, err) < 0)
            goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "LUN '%s': ", lun->name);
    json_decref(reply);
    return rc;
}

static int
ontap_array_info(struct storage *st, struct storage_array_info *out, struct perr *err)
{
    json_t *reply = NULL;
    json_int_t gen = 0;
    json_int_t maj = 0;
    json_int_t min = 0;
    struct buf v = {0};
    int rc = -1;

    if (rest_call(storage_rest(st), &ontap_ep_cluster, NULL, NULL, &reply, err) < 0 ||
        jsonx_unpack(reply, "cluster version", err, "{s:{s:I, s:I, s:I}}", "version", "generation",
                     &gen, "major", &maj, "minor", &min) < 0 ||
        buf_addf(&v, err, "%lld.%lld.%lld", (long long)gen, (long long)maj, (long long)min) < 0)
        goto out;
    out->version = buf_steal(&v);
    if (out->version == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    json_decref(reply);
    buf_free(&v);
    return rc;
}

/* The SVM's FC WWPNs and iSCSI target name; an SVM without FC LIFs or
 * without an iSCSI service simply lists none of that kind. */
static int
ontap_target_ports(struct storage *st, struct strv *fc, struct strv *iscsi, struct perr *err)
{
    struct ontap *o = ontap_of(st);
    const struct rest_var vars[] = {{"svm", o->svm_uuid}, {NULL, NULL}};
    json_t *lifs = NULL;
    json_t *svcs = NULL;
    json_t *records;
    json_t *rec;
    size_t i;
    int rc = -1;

    if (rest_call(storage_rest(st), &ontap_ep_fc_interfaces, vars, NULL, &lifs, err) < 0 ||
        ontap_records(lifs, "FC interface list", &records, err) < 0)
        goto out;
    json_array_foreach(records, i, rec)
    {
        const char *wwpn = jsonx_string_or(rec, "wwpn", NULL);

        if (wwpn != NULL && wwpn[0] != '\0' && !strv_contains(fc, wwpn) &&
            strv_add(fc, wwpn, err) < 0)
            goto out;
    }
    if (rest_call(storage_rest(st), &ontap_ep_iscsi_services, vars, NULL, &svcs, err) < 0 ||
        ontap_records(svcs, "iSCSI service list", &records, err) < 0)
        goto out;
    json_array_foreach(records, i, rec)
    {
        const char *name = jsonx_string_or(json_object_get(rec, "target"), "name", NULL);

        if (name != NULL && name[0] != '\0' && !strv_contains(iscsi, name) &&
            strv_add(iscsi, name, err) < 0)
            goto out;
    }
    log_debug(ONTAP_COMP, "target ports listed", "svm", o->svm_name, NULL);
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "SVM '%s': ", o->svm_name);
    json_decref(lifs);
    json_decref(svcs);
    return rc;
}

static const struct storage_ops ontap_ops = {
    .open = ontap_open,
    .close = ontap_close,
    .resolve_pv = ontap_resolve_pv,
    .ensure_igroup = ontap_ensure_igroup,
    .map = ontap_map,
    .unmap = ontap_unmap,
    .mapped_groups = ontap_mapped_groups,
    .array_info = ontap_array_info,
    .target_ports = ontap_target_ports,
};

static const struct storage_env_key ontap_env_keys[] = {
    {"ONTAP_SVM", "the SVM that holds the LUNs (needed when the array has several)"},
    {NULL, NULL},
};

const struct storage_driver storage_ontap = {
    .name = "ontap",
    .vendor = "NetApp",
    .product = "ONTAP",
    .summary = "ONTAP REST with HTTP Basic auth; Trident ontap-san and ontap-san-economy volumes",
    .caps = STORAGE_CAP_ISCSI | STORAGE_CAP_FC,
    .env_keys = ontap_env_keys,
    .url = {.rule = STORAGE_URL_HOST},
    .naa = {.rule = STORAGE_NAA_ASCII_SERIAL, .oui = "600a0980", .serial_len = 12},
    .priv_size = sizeof(struct ontap),
    .rest = &ontap_dialect,
    .ops = &ontap_ops,
};
