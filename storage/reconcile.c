#include "storage/reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"
#include "lib/rest.h"

void
initiator_set_free(struct initiator_set *set)
{
    if (set == NULL)
        return;
    strv_free(&set->fc);
    strv_free(&set->fc_wwnn);
    strv_free(&set->iscsi);
    strv_free(&set->nvme);
}

size_t
initiator_set_count(const struct initiator_set *set, unsigned kinds)
{
    return ((kinds & INITIATOR_KIND(INITIATOR_FC)) != 0 ? set->fc.n : 0) +
           ((kinds & INITIATOR_KIND(INITIATOR_ISCSI)) != 0 ? set->iscsi.n : 0);
}

static bool
strv_has_nocase(const struct strv *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++) {
        if (strcasecmp(sv->v[i], s) == 0)
            return true;
    }
    return false;
}

int
initiators_split(const char *const *ids, size_t n, unsigned kinds, const char *comp,
                 struct initiator_set *out, struct perr *err)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        char wwpn[WWN_BUF_SIZE];
        char wwnn[WWN_HEX_MAX + 1] = "";
        struct perr tmp = {0};

        switch (initiator_proto(ids[i])) {
        case INITIATOR_FC:
            if (initiator_fc_wwpn(ids[i], WWN_LOWER_PLAIN, wwpn, sizeof(wwpn), &tmp) < 0) {
                log_debug(comp, "FC initiator skipped", "error", tmp.msg, NULL);
                break;
            }
            if (strncasecmp(ids[i], "fc.", 3) == 0 &&
                initiator_parse_fc(ids[i], wwnn, NULL, &tmp) == 0)
                wwn_format(wwnn, WWN_LOWER_PLAIN, wwnn, sizeof(wwnn));
            if (strv_contains(&out->fc, wwpn))
                break;
            if (strv_add(&out->fc, wwpn, err) < 0 || strv_add(&out->fc_wwnn, wwnn, err) < 0)
                goto fail;
            break;
        case INITIATOR_ISCSI:
            if (strncasecmp(ids[i], "nqn.", 4) == 0) {
                if (!strv_has_nocase(&out->nvme, ids[i]) && strv_add(&out->nvme, ids[i], err) < 0)
                    goto fail;
                break;
            }
            if (!strv_has_nocase(&out->iscsi, ids[i]) && strv_add(&out->iscsi, ids[i], err) < 0)
                goto fail;
            break;
        case INITIATOR_UNKNOWN:
            log_debug(comp, "initiator of unknown kind skipped", "initiator", ids[i], NULL);
            break;
        }
    }
    if (initiator_set_count(out, kinds) == 0) {
        perr_set(err, PERR_USAGE, "no usable FC or iSCSI initiator among the %zu given", n);
        goto fail;
    }
    return 0;
fail:
    initiator_set_free(out);
    return -1;
}

int
initiators_fc_format(const struct initiator_set *set, enum wwn_form form, struct strv *out,
                     struct perr *err)
{
    for (size_t i = 0; i < set->fc.n; i++) {
        char w[WWN_BUF_SIZE];

        wwn_format(set->fc.v[i], form, w, sizeof(w));
        if (strv_add(out, w, err) < 0)
            return -1;
    }
    return 0;
}

/* The initiators of want that rec does not hold yet, into a cleared *missing. */
static int
group_missing(const struct group_ops *ops, void *ctx, json_t *rec, const struct initiator_set *want,
              struct initiator_set *missing, struct perr *err)
{
    memset(missing, 0, sizeof(*missing));
    for (size_t i = 0; i < want->fc.n; i++) {
        if (ops->holds(ctx, rec, want->fc.v[i], INITIATOR_FC))
            continue;
        if (strv_add(&missing->fc, want->fc.v[i], err) < 0 ||
            strv_add(&missing->fc_wwnn, want->fc_wwnn.v[i], err) < 0)
            return -1;
    }
    for (size_t i = 0; i < want->iscsi.n; i++) {
        if (!ops->holds(ctx, rec, want->iscsi.v[i], INITIATOR_ISCSI) &&
            strv_add(&missing->iscsi, want->iscsi.v[i], err) < 0)
            return -1;
    }
    return 0;
}

int
group_ensure(struct storage *st, const struct group_ops *ops, void *ctx, const char *name,
             const struct initiator_set *want, char **actual, struct perr *err)
{
    struct initiator_set missing = {0};
    struct perr already = {0};
    json_t *rec = NULL;
    const char *got = name;
    int rc = -1;
    int created;

    *actual = NULL;
    if (ops->find(st, ctx, name, want, &rec, err) < 0)
        goto out;
    if (rec == NULL) {
        created = ops->create(st, ctx, name, want, &already, err);
        if (created < 0)
            goto out;
        if (created == 0) {
            log_debug("storage", "group created", "group", name, NULL);
            goto done;
        }
        /* Someone else created it meanwhile: read it back, add what it lacks. */
        if (ops->find(st, ctx, name, want, &rec, err) < 0)
            goto out;
        if (rec == NULL) {
            perr_set_remote(err, PERR_CONFLICT, already.http_status, already.remote_code,
                            "%s, but the group is not listed",
                            perr_failed(&already) ? already.msg : "create: already exists");
            goto out;
        }
    }
    got = json_string_value(rest_json_path(rec, ops->name != NULL ? ops->name : "name"));
    if (got == NULL) {
        perr_set(err, PERR_PROTOCOL, "group record without a name");
        goto out;
    }
    if (group_missing(ops, ctx, rec, want, &missing, err) < 0)
        goto out;
    if (missing.fc.n + missing.iscsi.n > 0) {
        if (ops->add(st, ctx, rec, &missing, err) < 0)
            goto out;
        log_debug("storage", "group initiators added", "group", got, NULL);
    }
done:
    *actual = strdup(got);
    if (*actual == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    initiator_set_free(&missing);
    json_decref(rec);
    return rc;
}

int
group_ensure_ids(struct storage *st, const struct group_ops *ops, void *ctx, const char *name,
                 const char *const *ids, size_t n, const char *comp, char **actual,
                 struct perr *err)
{
    struct initiator_set set = {0};
    int rc;

    rc = initiators_split(ids, n, INITIATOR_KIND(INITIATOR_FC) | INITIATOR_KIND(INITIATOR_ISCSI),
                          comp, &set, err) < 0
             ? -1
             : group_ensure(st, ops, ctx, name, &set, actual, err);
    initiator_set_free(&set);
    return rc;
}

int
json_one_row(json_t *rows, const char *what, const char *key, bool optional, json_t **row,
             struct perr *err)
{
    *row = NULL;
    if (!json_is_array(rows))
        return perr_set(err, PERR_PROTOCOL, "%s list: the reply has no list", what);
    if (json_array_size(rows) == 0) {
        if (optional)
            return 0;
        return perr_set(err, PERR_NOT_FOUND, "%s '%s' not found", what, key);
    }
    if (json_array_size(rows) > 1)
        return perr_set(err, PERR_PROTOCOL, "%s '%s' matched %zu", what, key,
                        json_array_size(rows));
    *row = json_array_get(rows, 0);
    return 0;
}

static int
lun_field(json_t *rec, const char *path, bool required, char **out, struct perr *err)
{
    json_t *v;
    char num[32];

    *out = NULL;
    if (path == NULL)
        return 0;
    v = rest_json_path(rec, path);
    if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        *out = strdup(num);
    } else if (json_is_string(v) && json_string_value(v)[0] != '\0') {
        *out = strdup(json_string_value(v));
    } else if (required) {
        return perr_set(err, PERR_PROTOCOL, "volume record without '%s'", path);
    } else {
        return 0;
    }
    return *out != NULL ? 0 : perr_set(err, PERR_NOMEM, "out of memory");
}

int
lun_from_json(const struct storage_driver *drv, json_t *rec, const struct lun_fields *f,
              struct storage_lun *out, struct perr *err)
{
    char *naa_src = NULL;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (lun_field(rec, f->name, true, &out->name, err) < 0 ||
        lun_field(rec, f->id, false, &out->id, err) < 0 ||
        lun_field(rec, f->serial, false, &out->serial, err) < 0 ||
        lun_field(rec, f->naa_from, f->naa_from != NULL, &naa_src, err) < 0)
        goto out;
    if (naa_src != NULL && storage_naa(drv, naa_src, &out->naa, err) < 0)
        goto out;
    rc = 0;
out:
    free(naa_src);
    if (rc < 0)
        storage_lun_clear(out);
    return rc;
}

void
group_already(const struct rest_reply *reply, struct perr *already)
{
    perr_set_remote(already, PERR_CONFLICT, reply->status, reply->code,
                    "create answered HTTP %ld (%s)", reply->status,
                    reply->text[0] != '\0' ? reply->text : "already exists");
}
