#include "storage/storage.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/log.h"

#define STORAGE_ENV_MAX 8

struct storage_env_kv {
    char *key;
    char *value;
};

struct storage {
    const struct storage_driver *drv;
    struct rest *rest;
    void *priv;
    char *hostname;
    char *token; /* secret */
    struct storage_env_kv env[STORAGE_ENV_MAX];
    size_t nenv;
    char comp[64];     /* log component "storage.<name>" */
    struct kube *kube; /* borrowed, may be NULL */
    char *kube_ns;
};

/* ---- value types ---- */

void
storage_lun_clear(struct storage_lun *lun)
{
    if (lun == NULL)
        return;
    free(lun->name);
    free(lun->id);
    free(lun->naa);
    free(lun->serial);
    free(lun->token);
    memset(lun, 0, sizeof(*lun));
}

int
storage_lun_copy(const struct storage_lun *src, struct storage_lun *dst, struct perr *err)
{
    memset(dst, 0, sizeof(*dst));
    if (str_dup_opt(src->name, &dst->name, err) < 0 || str_dup_opt(src->id, &dst->id, err) < 0 ||
        str_dup_opt(src->naa, &dst->naa, err) < 0 ||
        str_dup_opt(src->serial, &dst->serial, err) < 0 ||
        str_dup_opt(src->token, &dst->token, err) < 0) {
        storage_lun_clear(dst);
        return -1;
    }
    return 0;
}

void
storage_array_info_clear(struct storage_array_info *info)
{
    if (info == NULL)
        return;
    free(info->vendor);
    free(info->product);
    free(info->model);
    free(info->version);
    memset(info, 0, sizeof(*info));
}

const char *
storage_pv_attr(const struct storage_pv *pv, const char *key)
{
    for (size_t i = 0; i < pv->nattrs; i++) {
        if (pv->attrs[i].key != NULL && strcmp(pv->attrs[i].key, key) == 0)
            return pv->attrs[i].value;
    }
    return NULL;
}

/* ---- lifetime ---- */

static int
storage_copy_env(struct storage *st, const struct storage_config *cfg, struct perr *err)
{
    for (size_t i = 0; i < cfg->nenv; i++) {
        struct storage_env_kv *kv;

        if (cfg->env[i].key == NULL || cfg->env[i].value == NULL)
            continue;
        if (st->nenv == STORAGE_ENV_MAX)
            return perr_set(err, PERR_INTERNAL, "too many vendor environment keys");
        kv = &st->env[st->nenv++];
        if (str_dup_opt(cfg->env[i].key, &kv->key, err) < 0 ||
            str_dup_opt(cfg->env[i].value, &kv->value, err) < 0)
            return -1;
    }
    return 0;
}

int
storage_open(const struct storage_driver *drv, const struct storage_config *cfg,
             struct storage **out, struct perr *err)
{
    struct storage *st = NULL;
    struct buf url = {0};
    int rc = -1;

    *out = NULL;
    if (!storage_driver_built(drv)) {
        storage_driver_lookup(drv->name, &drv, err);
        http_transport_free(cfg->transport);
        return -1;
    }
    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    st->drv = drv;
    snprintf(st->comp, sizeof(st->comp), "storage.%s", drv->name);
    st->priv = calloc(1, drv->priv_size > 0 ? drv->priv_size : 1);
    if (st->priv == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    if (str_dup_opt(cfg->hostname, &st->hostname, err) < 0 ||
        str_dup_opt(cfg->token, &st->token, err) < 0 || storage_copy_env(st, cfg, err) < 0 ||
        str_dup_opt(cfg->kube_namespace, &st->kube_ns, err) < 0)
        goto out;
    st->kube = cfg->kube;
    if (drv->rest != NULL) {
        char comp[64];
        struct rest_config rc_cfg = {
            .array = cfg->hostname,
            .component = comp,
            .username = cfg->username,
            .password = cfg->password,
            .insecure = cfg->skip_ssl,
            .ca_file = cfg->ca_file,
            .timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : STORAGE_DEFAULT_TIMEOUT_S,
            .retry_initial_ms = cfg->retry_initial_ms,
            .transport = cfg->transport,
            .user = st,
        };

        snprintf(comp, sizeof(comp), "http.%s", drv->name);
        if (storage_base_url(drv, cfg->hostname, cfg->env, cfg->nenv, &url, err) < 0)
            goto out;
        rc_cfg.base_url = buf_cstr(&url);
        if (rest_new(drv->rest, &rc_cfg, &st->rest, err) < 0)
            goto out;
    }
    log_debug(st->comp, "storage operation", "op", "open", "array", st->hostname, NULL);
    if (drv->ops->open != NULL && drv->ops->open(st, err) < 0)
        goto out;
    *out = st;
    st = NULL;
    rc = 0;
out:
    if (rc < 0) {
        perr_prefix(err, "%s: open: ", drv->name);
        log_debug("storage", "storage operation failed", "op", "open", "error", err->msg, NULL);
    }
    /* A test transport not taken by a REST client is released here. */
    http_transport_free(cfg->transport);
    buf_free(&url);
    storage_free(st);
    return rc;
}

void
storage_free(struct storage *st)
{
    if (st == NULL)
        return;
    if (st->drv->ops->close != NULL)
        st->drv->ops->close(st);
    rest_logout(st->rest);
    rest_free(st->rest);
    free(st->priv);
    free(st->hostname);
    free(st->kube_ns);
    str_free_secret(st->token);
    for (size_t i = 0; i < st->nenv; i++) {
        free(st->env[i].key);
        free(st->env[i].value);
    }
    free(st);
}

const struct storage_driver *
storage_driver_of(const struct storage *st)
{
    return st->drv;
}

bool
storage_has_cap(const struct storage *st, enum storage_cap cap)
{
    return (st->drv->caps & (unsigned)cap) != 0;
}

void *
storage_priv(struct storage *st)
{
    return st->priv;
}

struct rest *
storage_rest(struct storage *st)
{
    return st->rest;
}

const char *
storage_env(const struct storage *st, const char *key)
{
    for (size_t i = 0; i < st->nenv; i++) {
        if (strcmp(st->env[i].key, key) == 0)
            return st->env[i].value;
    }
    return NULL;
}

const char *
storage_hostname(const struct storage *st)
{
    return st->hostname;
}

const char *
storage_token(const struct storage *st)
{
    return st->token;
}

void
storage_auth_hint(struct storage *st, struct perr *err)
{
    const char *user = st->rest != NULL ? rest_username(st->rest) : NULL;

    if (err->code == PERR_AUTH)
        perr_prefix(err,
                    "authentication failed for user '%s' (check STORAGE_USERNAME and "
                    "STORAGE_PASSWORD): ",
                    user != NULL ? user : "");
}

struct storage *
storage_from_rest(struct rest *r)
{
    return rest_user(r);
}

/* ---- dispatch ---- */

static void
storage_begin(const struct storage *st, const char *op)
{
    log_debug(st->comp, "storage operation", "op", op, NULL);
}

static int
storage_end(const struct storage *st, const char *op, int rc, struct perr *err)
{
    if (rc < 0) {
        perr_prefix(err, "%s: %s: ", st->drv->name, op);
        log_debug(st->comp, "storage operation failed", "op", op, "error", err->msg, NULL);
    }
    return rc;
}

static int
storage_unsupported(const struct storage *st, const char *op, struct perr *err)
{
    perr_set(err, PERR_UNSUPPORTED, "not supported by the %s driver", st->drv->name);
    return storage_end(st, op, -1, err);
}

int
storage_resolve_pv(struct storage *st, const struct storage_pv *pv, struct storage_lun *out,
                   struct perr *err)
{
    memset(out, 0, sizeof(*out));
    storage_begin(st, "resolve_pv");
    return storage_end(st, "resolve_pv", st->drv->ops->resolve_pv(st, pv, out, err), err);
}

int
storage_ensure_igroup(struct storage *st, const char *name, const char *const *initiators,
                      size_t ninitiators, char **actual, struct perr *err)
{
    *actual = NULL;
    storage_begin(st, "ensure_igroup");
    return storage_end(st, "ensure_igroup",
                       st->drv->ops->ensure_igroup(st, name, initiators, ninitiators, actual, err),
                       err);
}

int
storage_map(struct storage *st, const char *group, const struct storage_lun *lun,
            struct storage_lun *mapped, struct perr *err)
{
    memset(mapped, 0, sizeof(*mapped));
    storage_begin(st, "map");
    return storage_end(st, "map", st->drv->ops->map(st, group, lun, mapped, err), err);
}

int
storage_unmap(struct storage *st, const char *group, const struct storage_lun *lun,
              struct perr *err)
{
    storage_begin(st, "unmap");
    return storage_end(st, "unmap", st->drv->ops->unmap(st, group, lun, err), err);
}

int
storage_mapped_groups(struct storage *st, const struct storage_lun *lun, struct strv *out,
                      struct perr *err)
{
    int rc;

    memset(out, 0, sizeof(*out));
    storage_begin(st, "mapped_groups");
    rc = st->drv->ops->mapped_groups(st, lun, out, err);
    if (rc < 0)
        strv_free(out);
    return storage_end(st, "mapped_groups", rc, err);
}

int
storage_array_info(struct storage *st, struct storage_array_info *out, struct perr *err)
{
    int rc;

    memset(out, 0, sizeof(*out));
    if (st->drv->ops->array_info == NULL)
        return storage_unsupported(st, "array_info", err);
    storage_begin(st, "array_info");
    rc = st->drv->ops->array_info(st, out, err);
    /* The descriptor's display names unless the array told better ones. */
    if (rc == 0 &&
        ((out->vendor == NULL && str_dup_opt(st->drv->vendor, &out->vendor, err) < 0) ||
         (out->product == NULL && str_dup_opt(st->drv->product, &out->product, err) < 0)))
        rc = -1;
    if (rc < 0)
        storage_array_info_clear(out);
    return storage_end(st, "array_info", rc, err);
}

int
storage_vvol_copy(struct storage *st, const struct storage_copy_req *req,
                  storage_progress_fn progress, void *arg, struct perr *err)
{
    if (st->drv->ops->vvol_copy == NULL)
        return storage_unsupported(st, "vvol_copy", err);
    storage_begin(st, "vvol_copy");
    return storage_end(st, "vvol_copy", st->drv->ops->vvol_copy(st, req, progress, arg, err), err);
}

int
storage_rdm_copy(struct storage *st, const struct storage_copy_req *req,
                 storage_progress_fn progress, void *arg, struct perr *err)
{
    if (st->drv->ops->rdm_copy == NULL)
        return storage_unsupported(st, "rdm_copy", err);
    storage_begin(st, "rdm_copy");
    return storage_end(st, "rdm_copy", st->drv->ops->rdm_copy(st, req, progress, arg, err), err);
}

int
storage_target_ports(struct storage *st, struct strv *fc, struct strv *iscsi, struct perr *err)
{
    int rc;

    memset(fc, 0, sizeof(*fc));
    memset(iscsi, 0, sizeof(*iscsi));
    if (st->drv->ops->target_ports == NULL)
        return storage_unsupported(st, "target_ports", err);
    storage_begin(st, "target_ports");
    rc = st->drv->ops->target_ports(st, fc, iscsi, err);
    if (rc < 0) {
        strv_free(fc);
        strv_free(iscsi);
    }
    return storage_end(st, "target_ports", rc, err);
}

/* The restore step maps back groups that normally still hold the volume (we
 * removed only our own group), so "already mapped" is the common case and
 * never a failure: drivers' map() treats it as success, and an array that
 * answers CONFLICT anyway is treated the same here. */
int
storage_remap(struct storage *st, const struct strv *groups, const struct storage_lun *lun,
              struct strv *failed, struct perr *err)
{
    int rc = 0;

    for (size_t i = 0; i < groups->n; i++) {
        struct storage_lun again = {0};
        struct perr e = {0};
        struct perr nomem = {0};

        if (storage_map(st, groups->v[i], lun, &again, &e) < 0 && e.code != PERR_CONFLICT) {
            if (failed != NULL)
                strv_add(failed, groups->v[i], &nomem);
            if (!perr_failed(err))
                *err = e;
            rc = -1;
        }
        storage_lun_clear(&again);
    }
    return rc;
}

struct kube *
storage_kube(const struct storage *st)
{
    return st->kube;
}

const char *
storage_kube_namespace(const struct storage *st)
{
    return st->kube_ns;
}
