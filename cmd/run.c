#include "cmd/run.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/adapters.h"
#include "cmd/config_check.h"
#include "cmd/progress.h"
#include "cmd/vib_auto.h"
#include "esxi/clone.h"
#include "esxi/esxcli.h"
#include "esxi/ssh_carrier.h"
#include "esxi/vib.h"
#include "esxi/vim.h"
#include "esxi/vim_calls.h"
#include "esxi/wrapper.h"
#include "lib/buf.h"
#include "lib/deadline.h"
#include "lib/jsonx.h"
#include "lib/kube.h"
#include "lib/lease.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/metrics_httpd.h"
#include "storage/storage.h"

#define RUN_COMP "populate"
/* A clone that shows no progress for this long is considered stuck. */
#define CLONE_STALL_MS (15L * 60 * 1000)
/* How long cleanup waits for a device to go offline. */
#define DEVICE_OFF_DEADLINE_MS (20L * 1000)
#define SCRAPE_WAIT_MS         10000L
/* Cleanup's own budget, whatever the copy used up and whether or not a
 * SIGTERM came: inside Kubernetes' default 30 s grace period, with a few
 * tries of each array step (each try has the REST client's own retries). */
#define CLEANUP_DEADLINE_MS 25000L
#define CLEANUP_TRIES       3

struct phase_time {
    const char *name;
    long ms;
};

struct run_ctx {
    const struct config *cfg;
    struct run_result *res;
    struct metrics *metrics;
    struct metrics_httpd *httpd;
    struct storage *st;
    struct vim *vim;
    struct esxcli *esx;
    struct wrapper_carrier ssh; /* open when the ssh method is used */
    struct kube *kube;          /* NULL in manual mode */
    struct kube_pv *kpv;
    struct lease *lease_ref; /* held while rescanning; borrowed */
    char *vm;
    char *host;
    char *group;  /* actual initiator group on the array */
    char *hostid; /* "hostsystem-host-17": igroup suffix and lease key */
    struct vim_disk disk;
    struct vim_adapters adapters;
    struct storage_lun lun;
    struct storage_lun mapped;
    struct strv orig_groups;
    bool lun_resolved;
    bool mapped_done;
    bool map_sent;    /* a map request went out: it may have happened even if it failed */
    bool cleanup_cut; /* a second signal stopped the cleanup */
    struct deadline cleanup_by;
    bool device_seen;
    bool rescanned;       /* a rescan ran after the map: dead paths may need a purge */
    const char *method;   /* vib, ssh, vvol, rdm */
    const char *protocol; /* iscsi, fc, n/a */
    int xcopy_used;
    struct progress prog;
    int64_t t0;
    int64_t clone_ms;
    struct phase_time phases[16];
    size_t nphases;
    int64_t phase_start;
};

static void
phase(struct run_ctx *c, const char *name)
{
    int64_t now = mono_now_ms();

    if (c->res->phase != NULL && c->nphases < ARRAY_LEN(c->phases)) {
        c->phases[c->nphases].name = c->res->phase;
        c->phases[c->nphases].ms = (long)(now - c->phase_start);
        c->nphases++;
    }
    c->res->phase = name;
    c->phase_start = now;
    log_debug(RUN_COMP, "phase", "name", name, NULL);
}

/* A phase boundary: nothing that creates something starts after a SIGTERM.
 * The cancellation is reported against the phase that was running. */
static int
step(struct run_ctx *c, const char *name, struct perr *err)
{
    if (cancel_requested())
        return perr_set(err, PERR_CANCELLED, "interrupted by a termination signal");
    phase(c, name);
    return 0;
}

static void leftover(struct run_ctx *c, const struct perr *why, const char *fmt, ...)
    ATTR_PRINTF(3, 4);

static void
leftover(struct run_ctx *c, const struct perr *why, const char *fmt, ...)
{
    struct perr tmp = {0};
    char item[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(item, sizeof(item), fmt, ap);
    va_end(ap);
    log_warn(RUN_COMP, "cleanup step failed", "left", item, "error", why->msg, NULL);
    if (strv_add(&c->res->leftovers, item, &tmp) < 0)
        log_warn(RUN_COMP, "cannot record leftover", "error", tmp.msg, NULL);
}

static int open_kube(struct run_ctx *c, struct perr *err);

/* Pod mode, or manual mode given a cluster anyway. */
static bool
uses_kube(const struct config *cfg)
{
    return cfg->target_volume_handle == NULL || cfg->kubeconfig != NULL || cfg->master != NULL;
}

static int
open_storage(struct run_ctx *c, struct perr *err)
{
    const struct storage_driver *drv = NULL;
    struct storage_config sc = {0};
    struct storage_kv env[8] = {{0}};
    struct storage_array_info info = {0};
    struct perr tmp = {0};

    if (storage_driver_lookup(c->cfg->vendor, &drv, err) < 0)
        return -1;
    sc.hostname = c->cfg->storage_hostname;
    sc.username = c->cfg->storage_username;
    sc.password = c->cfg->storage_password;
    sc.token = c->cfg->storage_token;
    sc.skip_ssl = c->cfg->storage_skip_ssl_verification;
    sc.ca_file = c->cfg->storage_ca_file;
    sc.timeout_s = c->cfg->storage_http_timeout_seconds;
    for (size_t i = 0; i < c->cfg->n_vendor_env && i < ARRAY_LEN(env); i++) {
        env[i].key = c->cfg->vendor_env[i].key;
        env[i].value = c->cfg->vendor_env[i].value;
        sc.nenv = i + 1;
    }
    sc.env = env;
    /* A driver may keep best-effort state in the cluster (FlashSystem's token
     * cache); a cluster that cannot be reached here is reported by the PV
     * lookup later, in its own words. */
    if (uses_kube(c->cfg) && open_kube(c, &tmp) < 0) {
        log_debug(RUN_COMP, "no Kubernetes client for the storage driver", "error", tmp.msg, NULL);
        tmp = (struct perr){0};
    }
    sc.kube = c->kube;
    sc.kube_namespace = c->cfg->host_lease_namespace;
    if (storage_open(drv, &sc, &c->st, err) < 0)
        return -1;
    if (storage_array_info(c->st, &info, &tmp) < 0)
        log_warn(RUN_COMP, "array information unavailable", "error", tmp.msg, NULL);
    if (c->metrics != NULL && metrics_array_info(c->metrics, c->cfg->vendor,
                                                 info.vendor != NULL ? info.vendor : drv->vendor,
                                                 info.product != NULL ? info.product : drv->product,
                                                 info.model, info.version, &tmp) < 0)
        log_warn(RUN_COMP, "metrics update failed", "error", tmp.msg, NULL);
    log_info(RUN_COMP, "storage array ready", "vendor", c->cfg->vendor, "array",
             c->cfg->storage_hostname, "version", info.version, NULL);
    storage_array_info_clear(&info);
    return 0;
}

static int
open_vsphere(struct run_ctx *c, struct perr *err)
{
    struct vim_opts o = {0};

    o.host = c->cfg->vsphere_hostname;
    o.user = c->cfg->vsphere_username;
    o.password = c->cfg->vsphere_password;
    o.insecure = c->cfg->vsphere_insecure;
    o.ca_pem = c->cfg->vsphere_cacert;
    if (vim_open(&o, &c->vim, err) < 0)
        return -1;
    log_info(RUN_COMP, "logged in to vSphere", "url", c->vim->url, "api", c->vim->sc.api_version,
             NULL);
    return 0;
}

static int
open_kube(struct run_ctx *c, struct perr *err)
{
    struct kube_opts ko = {0};
    struct kube_config *kc = NULL;
    int rc = -1;

    if (c->kube != NULL)
        return 0;
    ko.kubeconfig = c->cfg->kubeconfig;
    ko.master = c->cfg->master;
    if (kube_config_load(&ko, &kc, err) < 0 || kube_open(kc, &c->kube, err) < 0)
        goto out;
    rc = 0;
out:
    kube_config_free(kc);
    return rc;
}

/* The PV's CSI details: from the command line (manual mode) or through the
 * target PVC, its prime PVC and the PV (pod mode). */
static int
target_pv(struct run_ctx *c, struct storage_pv *pv, struct storage_attr **attrs, struct perr *err)
{
    const struct config *cfg = c->cfg;
    size_t n;

    memset(pv, 0, sizeof(*pv));
    *attrs = NULL;
    /* Manual mode needs no Kubernetes; given a cluster anyway, its host
     * leases are still honoured so concurrent populators rescan in turn. */
    if (cfg->target_volume_handle != NULL && (cfg->kubeconfig != NULL || cfg->master != NULL) &&
        open_kube(c, err) < 0)
        return -1;
    if (cfg->target_volume_handle == NULL) {
        if (open_kube(c, err) < 0 ||
            kube_lookup_pv(c->kube, cfg->target_namespace, cfg->owner_name, &c->kpv, err) < 0) {
            perr_prefix(err, "failed to fetch the volume details of PVC '%s/%s': ",
                        cfg->target_namespace, cfg->owner_name);
            return -1;
        }
    }
    n = c->kpv != NULL ? c->kpv->nattrs : cfg->n_target_attrs;
    *attrs = calloc(n + 1, sizeof(**attrs));
    if (*attrs == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        (*attrs)[i].key = c->kpv != NULL ? c->kpv->attrs[i].key : cfg->target_attrs[i].key;
        (*attrs)[i].value = c->kpv != NULL ? c->kpv->attrs[i].value : cfg->target_attrs[i].value;
    }
    pv->name = c->kpv != NULL ? c->kpv->name : cfg->target_volume_handle;
    pv->volume_handle = c->kpv != NULL ? c->kpv->volume_handle : cfg->target_volume_handle;
    pv->csi_driver = c->kpv != NULL ? c->kpv->csi_driver : NULL;
    pv->attrs = *attrs;
    pv->nattrs = n;
    log_info(RUN_COMP, "target volume", "pv", pv->name, "handle", pv->volume_handle, NULL);
    return 0;
}

static void
on_clone_progress(void *arg, int pct)
{
    progress_update(&((struct run_ctx *)arg)->prog, pct);
}

static void
on_array_progress(void *arg, unsigned pct)
{
    progress_update(&((struct run_ctx *)arg)->prog, (int)pct);
}

static void
on_xcopy(void *arg, int used)
{
    struct run_ctx *c = arg;
    struct perr tmp = {0};

    c->xcopy_used = used;
    if (c->metrics != NULL &&
        metrics_xcopy_used(c->metrics, c->method, c->cfg->vendor, used, &tmp) < 0)
        log_warn(RUN_COMP, "metrics update failed", "error", tmp.msg, NULL);
}

/* "HostSystem:host-17" lower-cased with ':' → '-', as the Go populator names it. */
static int
make_hostid(struct run_ctx *c, struct perr *err)
{
    struct buf b = {0};

    if (buf_addf(&b, err, "hostsystem-%s", c->host) < 0)
        return -1;
    for (size_t i = 0; i < b.len; i++)
        b.data[i] = (char)tolower((unsigned char)b.data[i]);
    c->hostid = buf_steal(&b);
    return c->hostid != NULL ? 0 : perr_set(err, PERR_NOMEM, "out of memory");
}

static bool
device_usable(const char *status)
{
    return strcmp(status, "off") != 0 && strcmp(status, "dead timeout") != 0;
}

/* One look at the device: 1 when the host shows it usable (device_seen
 * set), 0 when it does not (a stale off/dead entry is dropped), -1 when the
 * host or session fails. */
static int
device_look(struct run_ctx *c, struct perr *err)
{
    struct perr tmp = {0};
    char *status = NULL;
    const char *naa = c->mapped.naa;

    if (esxi_device_status(c->esx, naa, &status, &tmp) == 0) {
        bool ok = device_usable(status);

        free(status);
        if (ok) {
            c->device_seen = true;
            return 1;
        }
        perr_clear(&tmp);
        if (esxi_detached_remove(c->esx, naa, &tmp) < 0)
            log_debug(RUN_COMP, "detached remove failed", "error", tmp.msg, NULL);
    } else if (tmp.code != PERR_NOT_FOUND && strcmp(tmp.remote_code, "CLIFault") != 0) {
        /* Not "no such device" but a failing host or session: stop here. */
        *err = err->code == PERR_OK ? tmp : *err;
        return -1;
    }
    return 0;
}

/* Rescan until the host shows the device; a stale off/dead entry is dropped first.
 * An esxcli rescan returns once the adapters have been scanned, so the device is
 * looked for right after each rescan; only a device still missing then waits. */
static int
wait_device(struct run_ctx *c, struct perr *err)
{
    struct deadline d = deadline_in_ms(c->cfg->rescan_timeout_seconds * 1000);
    struct backoff b;
    const char *naa = c->mapped.naa;
    int seen;

    backoff_init(&b, 50, 1000, 2.0, 0.1, 0);
    seen = device_look(c, err);
    while (seen == 0) {
        struct perr tmp = {0};

        /* A lost lease means another populator may be rescanning: stop cleanly. */
        if (c->lease_ref != NULL && lease_check(c->lease_ref, err) < 0)
            return -1;
        c->rescanned = true;
        if (esxi_rescan_add(c->esx, &tmp) < 0)
            log_warn(RUN_COMP, "rescan failed", "error", tmp.msg, NULL);
        seen = device_look(c, err);
        if (seen != 0)
            break;
        if (deadline_expired(&d))
            return perr_set(err, PERR_TIMEOUT,
                            "device '%s' did not appear on host '%s' within %ld s after mapping "
                            "LUN '%s' to '%s'",
                            naa, c->host, c->cfg->rescan_timeout_seconds, c->lun.name, c->group);
        if (wait_ms(backoff_next_ms(&b), &d, err) < 0)
            return -1;
    }
    return seen < 0 ? -1 : 0;
}

/* Concurrent populators on one host rescan one at a time (two slots), as the
 * controller's other pods expect; without Kubernetes there is nobody to share with. */
static int
rescan_under_lease(struct run_ctx *c, struct perr *err)
{
    struct lease *l = NULL;
    struct deadline d;
    struct perr tmp = {0};
    int rc = -1;

    if (c->kube == NULL)
        return wait_device(c, err);
    /* Another populator's rescan may have brought the device in already (one
     * rescan finds every LUN mapped so far): then there is nothing to
     * rescan and no reason to queue for a lease behind the copies that do. */
    switch (device_look(c, err)) {
    case 1:
        log_info(RUN_COMP, "device already visible, no rescan needed", "naa", c->mapped.naa, NULL);
        return 0;
    case 0:
        break;
    default:
        return -1;
    }
    d = deadline_in_ms(c->cfg->rescan_timeout_seconds * 1000 * 5);
    if (lease_acquire(c->kube, c->cfg->host_lease_namespace, c->hostid,
                      c->cfg->host_lease_duration_seconds, NULL, &d, &l, err) < 0)
        goto out;
    log_info(RUN_COMP, "host lease acquired", "lease", lease_name(l), NULL);
    c->lease_ref = l;
    if (wait_device(c, err) < 0)
        goto out;
    if (lease_check(l, err) < 0)
        goto out;
    rc = 0;
out:
    c->lease_ref = NULL;
    if (l != NULL && lease_release(l, &tmp) < 0)
        log_warn(RUN_COMP, "host lease release failed", "error", tmp.msg, NULL);
    return rc;
}

static int
clone_vmdk(struct run_ctx *c, struct perr *err)
{
    struct wrapper_carrier carrier;
    struct clone_callbacks cb = {on_clone_progress, on_xcopy, c};
    struct clone_result cr;
    char src[2048];
    char dst[512];
    int rc;

    if (c->cfg->clone_method == CLONE_METHOD_SSH)
        carrier = c->ssh;
    else
        vib_carrier(c->esx, &carrier);
    snprintf(src, sizeof(src), "/vmfs/volumes/%s/%s/%s", c->cfg->vmdk_datastore, c->cfg->vmdk_dir,
             c->cfg->vmdk_file);
    snprintf(dst, sizeof(dst), "/vmfs/devices/disks/%s", c->mapped.naa);
    rc = clone_run(&carrier, src, dst, CLONE_STALL_MS, &cb, &cr, err);
    c->clone_ms = cr.finished_ms > cr.started_ms ? cr.finished_ms - cr.started_ms : 0;
    if (cr.cleanup_failed) {
        struct perr why = {0};

        perr_set(&why, PERR_REMOTE, "task-clean failed");
        leftover(c, &why, "clone task directory and RDM descriptor on host '%s'", c->host);
    }
    return rc;
}

static void
log_adapters(const struct run_ctx *c, const char *event, const char *why)
{
    struct perr tmp = {0};
    struct buf names = {0};

    for (size_t i = 0; i < c->adapters.n; i++) {
        if (buf_addf(&names, &tmp, "%s%s", i > 0 ? "," : "", c->adapters.v[i].name) < 0)
            break;
    }
    log_info(RUN_COMP, event, "adapters", buf_cstr(&names), "protocol", c->protocol, "reason", why,
             NULL);
    buf_free(&names);
}

/*
 * The datastore's active adapters (already in c->adapters) reach the source
 * array; the copy needs the ones that reach the target array.  When the
 * driver lists its target ports, the host adapters that see one of them win
 * (vendor-corrections.md §3).  This is a refinement: any failure keeps the
 * datastore's choice, only running out of memory stops the run.
 */
static int
choose_adapters(struct run_ctx *c, struct perr *err)
{
    struct strv fc = {0};
    struct strv iscsi = {0};
    struct vim_hbas hbas = {0};
    struct vim_adapters by_ports = {0};
    struct perr tmp = {0};
    const char *why = "the array lists no target ports";
    int n = 0;
    int rc = -1;

    if (storage_target_ports(c->st, &fc, &iscsi, &tmp) < 0) {
        if (tmp.code != PERR_UNSUPPORTED)
            why = "the array's target ports are unavailable";
        log_debug(RUN_COMP, "array target ports not listed", "error", tmp.msg, NULL);
    } else if (fc.n + iscsi.n > 0) {
        why = "no adapter of the host sees the array's target ports";
        if (vim_host_hbas(c->vim, c->host, &hbas, &tmp) < 0) {
            why = "the host's adapters are unavailable";
            log_debug(RUN_COMP, "host adapters not read", "error", tmp.msg, NULL);
        } else if ((n = adapters_by_ports(&hbas, &fc, &iscsi, &by_ports, err)) < 0) {
            goto out;
        }
    }
    if (n > 0) {
        by_ports.device = c->adapters.device;
        c->adapters.device = NULL;
        vim_adapters_clear(&c->adapters);
        c->adapters = by_ports;
        memset(&by_ports, 0, sizeof(by_ports));
        c->protocol = c->adapters.protocol;
        log_adapters(c, "adapters chosen by the array's target ports",
                     "they see a target port of the array");
    } else {
        log_adapters(c, "adapters chosen by the datastore's active paths", why);
    }
    rc = 0;
out:
    vim_adapters_clear(&by_ports);
    vim_hbas_clear(&hbas);
    strv_free(&fc);
    strv_free(&iscsi);
    return rc;
}

static int
run_xcopy(struct run_ctx *c, struct storage_pv *pv, struct perr *err)
{
    struct perr tmp = {0};
    char *igroup = NULL;
    char *vib = NULL;
    int rc = -1;

    if (step(c, "host", err) < 0)
        goto out;
    if (c->cfg->migration_host != NULL) {
        if (vim_host_check(c->vim, c->cfg->migration_host, err) < 0)
            goto out;
        c->host = strdup(c->cfg->migration_host);
        if (c->host == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
    } else if (vim_vm_host(c->vim, c->vm, &c->host, err) < 0) {
        goto out;
    }
    if (make_hostid(c, err) < 0)
        goto out;
    if (step(c, "adapters", err) < 0)
        goto out;
    /* An SDC array (PowerFlex) maps to the host's SDC, whatever the source
     * datastore sits on; everyone else uses the datastore's active adapters. */
    if (storage_has_cap(c->st, STORAGE_CAP_SDC)
            ? vim_sdc_adapters(c->vim, c->host, &c->adapters, err) < 0
            : vim_datastore_adapters(c->vim, c->host, c->cfg->vmdk_datastore, &c->adapters, err) <
                  0)
        goto out;
    c->protocol = c->adapters.protocol;
    if (choose_adapters(c, err) < 0)
        goto out;
    if (esxcli_new(c->vim, c->host, &c->esx, err) < 0)
        goto out;
    if (c->cfg->clone_method == CLONE_METHOD_SSH) {
        struct ssh_carrier_opts so = {0};

        /* The probe runs before anything is mapped: a host not prepared for
         * the key fails here with the exact authorized_keys line to add. */
        if (step(c, "ssh", err) < 0)
            goto out;
        so.vim = c->vim;
        so.host = c->host;
        so.datastore = c->cfg->vmdk_datastore;
        so.port = c->cfg->esxi_ssh_port;
        so.private_key = c->cfg->ssh_private_key;
        so.private_key_len = c->cfg->ssh_private_key_len;
        so.public_key = c->cfg->ssh_public_key;
        so.known_hosts = c->cfg->esxi_ssh_known_hosts;
        so.write_known_hosts = c->cfg->esxi_ssh_write_known_hosts;
        so.connect_timeout_ms = c->cfg->ssh_timeout_seconds * 1000;
        if (ssh_carrier_open(&so, &c->ssh, err) < 0)
            goto out;
    } else {
        if (vib_check_version(c->esx, esxi_wrapper_version(), &vib, err) < 0)
            goto out;
        if (c->cfg->vib_auto_install) {
            char *now = NULL;

            phase(c, "vib install");
            if (vib_auto_install(c->cfg, c->vim, c->kube, c->host, c->hostid, vib, &now, err) < 0)
                goto out;
            if (now != NULL) {
                /* A fresh esxcli session: the plugin's namespace is new to it. */
                free(vib);
                vib = now;
                esxcli_free(c->esx);
                c->esx = NULL;
                if (esxcli_new(c->vim, c->host, &c->esx, err) < 0)
                    goto out;
            }
        }
        if (c->metrics != NULL &&
            metrics_vib_version(c->metrics, *vib != '\0' ? vib : "unknown", &tmp) < 0)
            log_warn(RUN_COMP, "metrics update failed", "error", tmp.msg, NULL);
    }
    /* The volume first: a volume the array cannot hand over (not found, in a
     * protected pool) stops the run before anything is created there. */
    if (step(c, "resolve", err) < 0)
        goto out;
    if (storage_resolve_pv(c->st, pv, &c->lun, err) < 0)
        goto out;
    c->lun_resolved = true;
    if (storage_mapped_groups(c->st, &c->lun, &c->orig_groups, err) < 0) {
        perr_prefix(err, "failed to fetch the current initiator groups of LUN '%s': ", c->lun.name);
        goto out;
    }
    if (step(c, "initiator group", err) < 0)
        goto out;
    {
        const char **ids = calloc(c->adapters.n + 1, sizeof(*ids));
        char name[256];

        if (ids == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < c->adapters.n; i++)
            ids[i] = c->adapters.v[i].id;
        snprintf(name, sizeof(name), "xcopy-%s", c->hostid);
        rc = storage_ensure_igroup(c->st, name, ids, c->adapters.n, &igroup, err);
        free(ids);
        if (rc < 0) {
            perr_prefix(
                err, "failed to add the ESX HBAs of host '%s' to the initiator group: ", c->host);
            rc = -1;
            goto out;
        }
        rc = -1;
        c->group = igroup;
        igroup = NULL;
    }
    if (step(c, "map", err) < 0)
        goto out;
    /* Before the request: an answer lost or late may hide a map that was made. */
    c->map_sent = true;
    if (storage_map(c->st, c->group, &c->lun, &c->mapped, err) < 0) {
        perr_prefix(err, "failed to map LUN '%s' to initiator group '%s': ", c->lun.name, c->group);
        goto out;
    }
    c->mapped_done = true;
    log_info(RUN_COMP, "LUN mapped", "lun", c->lun.name, "group", c->group, "naa", c->mapped.naa,
             NULL);
    if (step(c, "rescan", err) < 0)
        goto out;
    if (rescan_under_lease(c, err) < 0) {
        perr_prefix(err, "failed to find the device after scanning: ");
        goto out;
    }
    log_info(RUN_COMP, "device visible", "host", c->host, "naa", c->mapped.naa, NULL);
    if (step(c, "clone", err) < 0)
        goto out;
    if (clone_vmdk(c, err) < 0)
        goto out;
    rc = 0;
out:
    free(igroup);
    free(vib);
    return rc;
}

/* True once a signal that came during the cleanup cut it; says so once. */
static bool
cleanup_cut(struct run_ctx *c)
{
    if (!c->cleanup_cut && cancel_requested()) {
        c->cleanup_cut = true;
        log_warn(RUN_COMP, "cleanup cut short by a second termination signal", "remaining",
                 "steps not yet done are skipped and listed as left behind", NULL);
    }
    return c->cleanup_cut;
}

struct cleanup_call {
    struct run_ctx *c;
    const struct strv *groups; /* remap: the groups to restore */
    struct strv failed;        /* remap: the groups the last try could not restore */
};

static int
try_unmap(void *arg, struct perr *err)
{
    struct cleanup_call *cc = arg;

    return storage_unmap(cc->c->st, cc->c->group, &cc->c->lun, err);
}

static int
try_remap(void *arg, struct perr *err)
{
    struct cleanup_call *cc = arg;

    strv_free(&cc->failed);
    if (storage_remap(cc->c->st, cc->groups, &cc->c->lun, &cc->failed, err) < 0)
        return -1;
    /* Some groups refused: worth another try when the reason is passing. */
    return perr_failed(err) ? -1 : 0;
}

/* Unmap and re-map are idempotent, so a passing failure (timeout, network,
 * 5xx, 429) is tried again, a few times within the cleanup deadline. */
static int
cleanup_retry(struct run_ctx *c, retry_fn fn, struct cleanup_call *cc, struct perr *err)
{
    struct backoff b;

    backoff_init(&b, 500, 2000, 2.0, 0.2, CLEANUP_TRIES - 1);
    return retry_call(fn, cc, &b, &c->cleanup_by, perr_is_retryable, err);
}

/* The device-off wait: bounded, and cut only by a second signal. */
static void
wait_device_off(struct run_ctx *c, const char *naa)
{
    struct deadline d = deadline_in_ms(DEVICE_OFF_DEADLINE_MS);
    long interval = 50;

    if (d.end_ms > c->cleanup_by.end_ms)
        d = c->cleanup_by;
    for (;;) {
        struct perr tmp = {0};
        char *status = NULL;
        bool off;

        if (esxi_device_status(c->esx, naa, &status, &tmp) < 0)
            return;
        off = strcmp(status, "off") == 0;
        free(status);
        if (off || deadline_expired(&d) || wait_ms(interval, &d, &tmp) < 0)
            return;
        interval = interval * 2 > 1000 ? 1000 : interval * 2;
    }
}

/*
 * Cleanup in the fixed order; every failure is recorded, none stops the rest.
 * It runs behind the cancellation shield: the SIGTERM that may have ended the
 * copy does not cut its waits and retries, a second one does.
 */
static void
cleanup_xcopy(struct run_ctx *c)
{
    struct perr tmp = {0};
    const char *naa = c->mapped.naa;

    cancel_shield_begin();
    c->cleanup_by = deadline_in_ms(CLEANUP_DEADLINE_MS);
    if (c->device_seen && c->esx != NULL && naa != NULL && !cleanup_cut(c)) {
        if (esxi_device_off(c->esx, naa, &tmp) < 0)
            log_warn(RUN_COMP, "device off failed", "naa", naa, "error", tmp.msg, NULL);
        else
            wait_device_off(c, naa);
        perr_clear(&tmp);
        if (!cleanup_cut(c) && esxi_detached_remove(c->esx, naa, &tmp) < 0)
            log_debug(RUN_COMP, "detached remove failed", "naa", naa, "error", tmp.msg, NULL);
    }
    /* Also after a failed map: its answer may have been lost after the array
     * made it, and unmapping what is not mapped succeeds. */
    if (c->map_sent) {
        struct cleanup_call cc = {.c = c};

        perr_clear(&tmp);
        if (cleanup_cut(c))
            perr_set(&tmp, PERR_CANCELLED, "cleanup cut short by a second termination signal");
        if (perr_failed(&tmp) || cleanup_retry(c, try_unmap, &cc, &tmp) < 0)
            leftover(c, &tmp, "LUN '%s' %s mapped to initiator group '%s'", c->lun.name,
                     c->mapped_done ? "still" : "possibly", c->group);
    }
    if (c->lun_resolved) {
        struct strv restore = {0};
        struct cleanup_call cc = {.c = c, .groups = &restore};
        int rc = 0;

        perr_clear(&tmp);
        for (size_t i = 0; i < c->orig_groups.n && rc == 0; i++) {
            if (strcmp(c->orig_groups.v[i], c->group != NULL ? c->group : "") != 0)
                rc = strv_add(&restore, c->orig_groups.v[i], &tmp);
        }
        if (rc == 0 && restore.n > 0 && cleanup_cut(c)) {
            perr_set(&tmp, PERR_CANCELLED, "cleanup cut short by a second termination signal");
            rc = -1;
            for (size_t i = 0; i < restore.n && strv_add(&cc.failed, restore.v[i], &tmp) == 0; i++)
                ;
        }
        if ((rc < 0 || cleanup_retry(c, try_remap, &cc, &tmp) < 0) && perr_failed(&tmp)) {
            for (size_t i = 0; i < cc.failed.n; i++)
                leftover(c, &tmp, "LUN '%s' not re-mapped to its original group '%s'", c->lun.name,
                         cc.failed.v[i]);
        }
        strv_free(&restore);
        strv_free(&cc.failed);
    }
    /* Drop the dead paths the unmap left, only on the adapters this copy used. */
    if ((c->device_seen || c->rescanned) && c->esx != NULL && !cleanup_cut(c)) {
        for (size_t i = 0; i < c->adapters.n; i++) {
            perr_clear(&tmp);
            if (esxi_rescan_delete(c->esx, c->adapters.v[i].name, &tmp) < 0)
                log_warn(RUN_COMP, "dead path purge failed", "adapter", c->adapters.v[i].name,
                         "error", tmp.msg, NULL);
        }
    }
    cancel_shield_end();
}

static int
run_array_copy(struct run_ctx *c, struct storage_pv *pv, bool vvol, struct perr *err)
{
    struct storage_copy_req req = {0};
    int rc;

    if (step(c, "resolve", err) < 0 || storage_resolve_pv(c->st, pv, &c->lun, err) < 0)
        return -1;
    on_xcopy(c, 0);
    if (step(c, vvol ? "vvol copy" : "rdm copy", err) < 0)
        return -1;
    req.vim = c->vim;
    req.vvol_id = c->disk.vvol_id;
    /* Both: some arrays find the source by device name, others by the LUN UUID. */
    req.rdm_device = c->disk.rdm_device;
    req.rdm_lun_uuid = c->disk.rdm_lun_uuid;
    req.target = &c->lun;
    req.leftovers = &c->res->leftovers;
    rc = vvol ? storage_vvol_copy(c->st, &req, on_array_progress, c, err)
              : storage_rdm_copy(c->st, &req, on_array_progress, c, err);
    if (rc < 0)
        perr_prefix(err, vvol ? "failed to copy VMDK using VVol storage API: "
                              : "failed to copy RDM disk: ");
    return rc;
}

/* A JSON string of text with registered secrets replaced; a fixed text when
 * that cannot be done (never the text as is). */
static json_t *
run_json_scrubbed(const char *text)
{
    char *safe = log_scrub_dup(text);
    json_t *j = json_string(safe != NULL ? safe : "(not shown: could not be cleaned of secrets)");

    free(safe);
    return j;
}

static void
print_json_result(struct run_ctx *c, bool ok, const struct perr *err)
{
    json_t *o = json_object();
    json_t *ph = json_object();
    json_t *left = json_array();
    char *s;

    for (size_t i = 0; i < c->nphases; i++)
        json_object_set_new(ph, c->phases[i].name, jsonx_seconds(c->phases[i].ms));
    /* Stdout is read outside the log: registered secrets are scrubbed here too. */
    for (size_t i = 0; i < c->res->leftovers.n; i++)
        json_array_append_new(left, run_json_scrubbed(c->res->leftovers.v[i]));
    json_object_set_new(o, "result", json_string(ok ? "success" : "failure"));
    json_object_set_new(o, "method", json_string(c->method != NULL ? c->method : "n/a"));
    json_object_set_new(o, "vendor", json_string(c->cfg->vendor));
    json_object_set_new(o, "storage_protocol", json_string(c->protocol));
    json_object_set_new(o, "xcopy_used",
                        c->xcopy_used < 0 ? json_null() : json_boolean(c->xcopy_used == 1));
    json_object_set_new(o, "provisioned_bytes",
                        json_integer((json_int_t)c->disk.provisioned_bytes));
    json_object_set_new(o, "allocated_bytes", json_integer((json_int_t)c->disk.allocated_bytes));
    json_object_set_new(o, "seconds", jsonx_seconds(mono_now_ms() - c->t0));
    json_object_set_new(o, "clone_seconds", jsonx_seconds(c->clone_ms));
    json_object_set_new(o, "phases", ph);
    json_object_set_new(o, "left_behind", left);
    if (!ok) {
        json_object_set_new(o, "phase", json_string(c->res->phase != NULL ? c->res->phase : ""));
        json_object_set_new(o, "error", run_json_scrubbed(err->msg));
    }
    s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSONX_REAL_MS);
    if (s != NULL) {
        fputs(s, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    }
    free(s);
    json_decref(o);
}

static void
finish_metrics(struct run_ctx *c, bool ok)
{
    struct perr tmp = {0};
    double secs = (double)(mono_now_ms() - c->t0) / 1000.0;

    if (c->metrics == NULL)
        return;
    if (ok &&
        metrics_source_disk_bytes(c->metrics, c->method, c->protocol, c->cfg->vendor,
                                  c->disk.provisioned_bytes, c->disk.allocated_bytes, &tmp) < 0)
        log_warn(RUN_COMP, "metrics update failed", "error", tmp.msg, NULL);
    if (metrics_copy_done(c->metrics, c->method != NULL ? c->method : "n/a", c->protocol,
                          c->cfg->vendor, ok, secs, &tmp) < 0)
        log_warn(RUN_COMP, "metrics update failed", "error", tmp.msg, NULL);
    /* The controller learns the outcome from one scrape after completion;
     * by hand, nobody is expected to scrape. */
    if (c->httpd == NULL || !config_pod_mode(c->cfg))
        return;
    log_info(RUN_COMP, "waiting for the final metrics scrape", "timeout_ms", "10000", NULL);
    if (metrics_httpd_wait_scrape(c->httpd, SCRAPE_WAIT_MS) < 0)
        log_warn(RUN_COMP, "no metrics scrape after completion", "waited_ms", "10000", NULL);
}

/* Before anything that can fail, so the controller's scrape also reports a
 * failed login.  An endpoint that cannot start costs the controller its
 * progress view, not the migration: a warning. */
static void
start_metrics(struct run_ctx *c)
{
    struct perr tmp = {0};

    if (c->cfg->metrics_listen == NULL)
        return;
    c->metrics = metrics_new(c->cfg->owner_uid != NULL ? c->cfg->owner_uid : "", &tmp);
    if (c->metrics != NULL &&
        metrics_httpd_start(c->metrics, c->cfg->metrics_listen, &c->httpd, &tmp) == 0)
        return;
    log_warn(RUN_COMP, "metrics endpoint not started; copying without it", "listen",
             c->cfg->metrics_listen, "error", tmp.msg, NULL);
    metrics_free(c->metrics);
    c->metrics = NULL;
}

static int
choose_and_copy(struct run_ctx *c, struct perr *err)
{
    struct storage_pv pv;
    struct storage_attr *attrs = NULL;
    bool vvol;
    bool rdm;
    int rc = -1;

    if (step(c, "vsphere login", err) < 0 || open_vsphere(c, err) < 0)
        goto out;
    if (step(c, "disk lookup", err) < 0 ||
        vim_find_vm(c->vim, c->cfg->source_vm_id, &c->vm, err) < 0 ||
        vim_vm_disk(c->vim, c->vm, c->cfg->source_vmdk, &c->disk, err) < 0)
        goto out;
    if (step(c, "volume lookup", err) < 0 || target_pv(c, &pv, &attrs, err) < 0)
        goto out;
    vvol = c->disk.kind == VIM_DISK_VVOL && !c->cfg->disable_vvol &&
           storage_has_cap(c->st, STORAGE_CAP_VVOL_COPY);
    rdm = c->disk.kind == VIM_DISK_RDM && !c->cfg->disable_rdm &&
          storage_has_cap(c->st, STORAGE_CAP_RDM_COPY);
    c->method = vvol                                       ? "vvol"
                : rdm                                      ? "rdm"
                : c->cfg->clone_method == CLONE_METHOD_SSH ? "ssh"
                                                           : "vib";
    log_info(RUN_COMP, "copy method chosen", "method", c->method, "vm", c->vm, "disk",
             c->cfg->source_vmdk, NULL);
    progress_init(&c->prog, c->metrics, c->disk.provisioned_bytes,
                  isatty(STDERR_FILENO) && c->cfg->log_format == LOG_FORMAT_TEXT);
    if (vvol || rdm) {
        rc = run_array_copy(c, &pv, vvol, err);
    } else {
        rc = run_xcopy(c, &pv, err);
        cleanup_xcopy(c);
    }
    progress_finish(&c->prog);
out:
    free(attrs);
    return rc;
}

int
run(const struct config *cfg, struct run_result *res, struct perr *err)
{
    struct run_ctx c;
    bool ok;
    int rc = -1;

    memset(&c, 0, sizeof(c));
    c.cfg = cfg;
    c.res = res;
    c.protocol = "n/a";
    c.xcopy_used = -1;
    c.t0 = mono_now_ms();
    c.phase_start = c.t0;
    phase(&c, "configuration");
    if (http_global_init(err) < 0 || config_check(cfg, err) < 0)
        goto out;
    start_metrics(&c);
    if (step(&c, "storage login", err) < 0 || open_storage(&c, err) < 0)
        goto out;
    rc = choose_and_copy(&c, err);
    if (rc == 0)
        phase(&c, res->leftovers.n == 0 ? "done" : "cleanup");
out:
    /* A copy that worked is a success even when cleanup left something
     * behind: the leftovers are warned about and listed, and the migration
     * goes on (a failed copy pod is never retried). */
    ok = rc == 0;
    if (ok) {
        char secs[32];

        snprintf(secs, sizeof(secs), "%.3f", (double)(mono_now_ms() - c.t0) / 1000.0);
        log_info(RUN_COMP, "copy complete", "method", c.method, "seconds", secs, NULL);
    }
    finish_metrics(&c, ok);
    if (cfg->output == OUTPUT_JSON)
        print_json_result(&c, ok, err);
    metrics_httpd_free(c.httpd);
    metrics_free(c.metrics);
    ssh_carrier_close(&c.ssh);
    kube_pv_free(c.kpv);
    esxcli_free(c.esx);
    vim_close(c.vim);
    storage_free(c.st);
    kube_close(c.kube); /* after the storage handle, which borrows it */
    storage_lun_clear(&c.lun);
    storage_lun_clear(&c.mapped);
    strv_free(&c.orig_groups);
    vim_disk_clear(&c.disk);
    vim_adapters_clear(&c.adapters);
    free(c.vm);
    free(c.host);
    free(c.group);
    free(c.hostid);
    return ok ? 0 : -1;
}

void
run_result_free(struct run_result *res)
{
    strv_free(&res->leftovers);
}
