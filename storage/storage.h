/*
 * THE storage driver contract.
 *
 * One `const struct storage_driver` per array vendor: metadata (command-line
 * name, display vendor/product for the metrics, capability bits, size of the
 * per-instance state) plus a table of operations.  The drivers are listed once
 * in the NULL-terminated storage_drivers[] (storage.c); adding a vendor touches
 * one file and one line there.
 *
 * Callers (cmd/) never call an operation pointer directly: they go through the
 * storage_*() wrappers below, which
 * - return PERR_UNSUPPORTED for an optional operation the driver lacks,
 * - prefix every error ONCE with "<driver name>: <operation>: ",
 * - log each operation at debug (component "storage.<name>").
 *
 * The VMDK/XCOPY sequence the caller runs, and what each step promises:
 *
 *   storage_open()                        log in / validate the configuration
 *   storage_ensure_igroup(name, inits)    -> actual group name G
 *   storage_resolve_pv(pv)                -> lun (name, id, naa, serial)
 *   storage_mapped_groups(lun)            -> orig (groups that see it now)
 *   storage_map(G, lun)                   -> mapped lun; rescan ESXi for lun.naa
 *   ... clone on ESXi ...
 *   storage_unmap(G, lun)                 always, from the caller's cleanup
 *   storage_map(g, lun) for g in orig     restore (normally a no-op)
 *
 * Contract every driver keeps:
 * - Idempotent: ensure_igroup on an existing group only adds the initiators it
 *   lacks (creating it when missing); map of an existing mapping succeeds and
 *   returns it; unmap of a mapping that does not exist succeeds.  "Already
 *   there" answers from the array (HTTP 409, "already exists") are success.
 * - Group names are opaque strings: the caller passes back exactly what
 *   ensure_igroup() or mapped_groups() gave it (a driver may encode a kind in
 *   them, e.g. Pure's "hg:<host group>").
 * - Errors: -1 with one struct perr; the first error wins; array answers keep
 *   their HTTP status (perr.http_status), the vendor's code (perr.remote_code)
 *   and the vendor's text (in perr.msg).
 * - Drivers never exit, never print, and log at debug or trace only (the
 *   caller logs milestones at info).
 * - Outputs are cleared on entry and own nothing on failure.
 * - A storage handle is used from one thread at a time.
 */
#ifndef POP_STORAGE_H
#define POP_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/http.h"
#include "lib/rest.h"
#include "lib/strv.h"

/* What a driver can do; declared, never probed. */
enum storage_cap {
    STORAGE_CAP_ISCSI = 1u << 0,     /* maps to iSCSI initiators */
    STORAGE_CAP_FC = 1u << 1,        /* maps to FC initiators */
    STORAGE_CAP_VVOL_COPY = 1u << 2, /* ops.vvol_copy is set */
    STORAGE_CAP_RDM_COPY = 1u << 3,  /* ops.rdm_copy is set */
};

/* Default per-request timeout when the configuration gives none (seconds). */
#define STORAGE_DEFAULT_TIMEOUT_S 30L

/* One array volume as the populator sees it.  Every field is owned (malloc'd)
 * and released by storage_lun_clear(); any may be NULL. */
struct storage_lun {
    char *name;   /* array-side name: ONTAP LUN path "/vol/v/lun0", Pure volume name */
    char *id;     /* array-side id used in REST calls: ONTAP LUN uuid, Pure volume id */
    char *naa;    /* ESXi device name "naa.<32 hex>", lower case */
    char *serial; /* the array's serial number the NAA was derived from */
    char *token;  /* driver-private extra (SVM, storage group, ...), may be NULL */
};

void storage_lun_clear(struct storage_lun *lun);
/* Deep copy; *dst is cleared first and owns nothing on failure. */
int storage_lun_copy(const struct storage_lun *src, struct storage_lun *dst, struct perr *err);

/* One CSI volume attribute (spec.csi.volumeAttributes).  Borrowed. */
struct storage_attr {
    const char *key;
    const char *value;
};

/* The target PersistentVolume, borrowed for the duration of the call. */
struct storage_pv {
    const char *name;          /* PV name, e.g. "pvc-5c9d270a-..." */
    const char *volume_handle; /* spec.csi.volumeHandle */
    const char *csi_driver;    /* spec.csi.driver, may be NULL */
    const struct storage_attr *attrs;
    size_t nattrs;
};

/* Value of a CSI attribute, or NULL.  Borrowed from pv. */
const char *storage_pv_attr(const struct storage_pv *pv, const char *key);

/* How to reach the array.  Everything is copied by storage_open(). */
struct storage_config {
    const char *hostname; /* STORAGE_HOSTNAME: "host", "host:port" or "https://host[:port]" */
    const char *username; /* STORAGE_USERNAME */
    const char *password; /* STORAGE_PASSWORD (secret) */
    const char *token;    /* STORAGE_TOKEN (secret), Pure */
    bool skip_ssl;        /* STORAGE_SKIP_SSL_VERIFICATION: honoured by every driver */
    const char *ca_file; /* PEM bundle the array's certificate must chain to; NULL = system store */
    long timeout_s;      /* STORAGE_HTTP_TIMEOUT_SECONDS; <= 0 = STORAGE_DEFAULT_TIMEOUT_S */
    /* Vendor keys from the environment (ONTAP_SVM, PURE_CLUSTER_PREFIX, ...):
     * returns the value or NULL.  Called only during storage_open(); NULL = none. */
    const char *(*env)(void *arg, const char *key);
    void *env_arg;
    /* Test seams.  transport: used instead of libcurl when set, and moved into
     * the storage handle (the caller's struct is zeroed), also on failure.
     * retry_initial_ms: first retry delay (0 = the REST layer's default). */
    struct http_transport *transport;
    long retry_initial_ms;
};

/* For the metrics labels.  Owned strings; any may be NULL when unknown. */
struct storage_array_info {
    char *vendor;  /* "NetApp", "Pure Storage" */
    char *product; /* "ONTAP", "FlashArray" */
    char *model;   /* "FA-X70R3"; NULL when the array does not say */
    char *version; /* "9.14.1", "6.5.4" */
};

void storage_array_info_clear(struct storage_array_info *info);

struct vim; /* the vSphere session (esxi/vim.h), for drivers that need it */

/* Source and target of an array-side copy.  Borrowed. */
struct storage_copy_req {
    struct vim *vim;        /* live vSphere session; may be NULL */
    const char *vvol_id;    /* vvol_copy: the disk's VVol backing object id */
    const char *rdm_device; /* rdm_copy: "naa.…", "/vmfs/devices/disks/naa.…" or "vml.…" */
    const struct storage_lun *target; /* from storage_resolve_pv() */
};

/* Progress of a copy in percent (0..100); called from the copying thread. */
typedef void (*storage_progress_fn)(void *arg, unsigned pct);

struct storage; /* opaque: driver, REST client, zeroed private state */

struct storage_ops {
    /* Log in / validate the configuration (e.g. find the SVM).  On failure
     * close() is still called. */
    int (*open)(struct storage *st, struct perr *err);
    /* Release the private state; must tolerate a failed or partial open.
     * Never fails (report cleanup trouble at debug). */
    void (*close)(struct storage *st);

    /* Required.  Finds the PV's volume: name, id, naa, serial.  A volume that
     * does not exist is PERR_NOT_FOUND. */
    int (*resolve_pv)(struct storage *st, const struct storage_pv *pv, struct storage_lun *out,
                      struct perr *err);
    /* Required.  Makes sure a host object / initiator group holding the
     * initiators exists and returns its actual name in *actual (malloc'd).
     * Creates it when missing, adds only missing initiators, never removes. */
    int (*ensure_igroup)(struct storage *st, const char *name, const char *const *initiators,
                         size_t ninitiators, char **actual, struct perr *err);
    /* Required.  Maps lun to group; success when already mapped.  *mapped gets
     * the lun as the host will see it (a copy of lun, maybe completed). */
    int (*map)(struct storage *st, const char *group, const struct storage_lun *lun,
               struct storage_lun *mapped, struct perr *err);
    /* Required.  Removes the mapping; success when there is none. */
    int (*unmap)(struct storage *st, const char *group, const struct storage_lun *lun,
                 struct perr *err);
    /* Required.  The groups lun is mapped to now (owned strings appended to a
     * cleared *out); empty when unmapped. */
    int (*mapped_groups)(struct storage *st, const struct storage_lun *lun, struct strv *out,
                         struct perr *err);
    /* Required.  Vendor, product, model, version for the metrics. */
    int (*array_info)(struct storage *st, struct storage_array_info *out, struct perr *err);

    /* Optional (NULL unless the matching STORAGE_CAP_* bit is set): copy the
     * whole source volume onto the target volume on the array.  progress may
     * be NULL. */
    int (*vvol_copy)(struct storage *st, const struct storage_copy_req *req,
                     storage_progress_fn progress, void *arg, struct perr *err);
    int (*rdm_copy)(struct storage *st, const struct storage_copy_req *req,
                    storage_progress_fn progress, void *arg, struct perr *err);
};

struct storage_driver {
    const char *name;                /* command-line value: "ontap", "pureFlashArray" */
    const char *vendor;              /* metrics display vendor: "NetApp", "Pure Storage" */
    const char *product;             /* metrics display product: "ONTAP", "FlashArray" */
    unsigned caps;                   /* enum storage_cap bits */
    size_t priv_size;                /* per-instance state, allocated zeroed by storage_open() */
    const struct rest_dialect *rest; /* REST conventions; NULL = no REST client */
    const char *const *env_keys;     /* vendor environment keys copied at open, NULL-terminated */
    const struct storage_ops *ops;
};

/* ---- registry ---- */

extern const struct storage_driver *const storage_drivers[]; /* NULL-terminated */

/* The driver called name (ASCII case ignored), or NULL. */
const struct storage_driver *storage_driver_find(const char *name);
/* Appends "ontap, pureFlashArray" (registered names, comma-separated) to out. */
int storage_driver_names(struct buf *out, struct perr *err);
/* storage_driver_find() with the error for the caller: a vendor the command
 * line accepts but this build has no driver for is PERR_UNSUPPORTED,
 * "storage vendor 'powermax' is not supported by this build yet (available:
 * ontap, pureFlashArray)". */
int storage_driver_lookup(const char *name, const struct storage_driver **out, struct perr *err);

/* ---- lifetime ---- */

/* Allocates the handle and the private state, makes the REST client, runs
 * ops.open.  *out is NULL on failure. */
int storage_open(const struct storage_driver *drv, const struct storage_config *cfg,
                 struct storage **out, struct perr *err);
/* Runs ops.close and frees everything (secrets zeroed).  NULL-safe. */
void storage_free(struct storage *st);

const struct storage_driver *storage_driver_of(const struct storage *st);
bool storage_has_cap(const struct storage *st, enum storage_cap cap);

/* ---- dispatch wrappers (see the top of this file) ---- */

int storage_resolve_pv(struct storage *st, const struct storage_pv *pv, struct storage_lun *out,
                       struct perr *err);
int storage_ensure_igroup(struct storage *st, const char *name, const char *const *initiators,
                          size_t ninitiators, char **actual, struct perr *err);
int storage_map(struct storage *st, const char *group, const struct storage_lun *lun,
                struct storage_lun *mapped, struct perr *err);
int storage_unmap(struct storage *st, const char *group, const struct storage_lun *lun,
                  struct perr *err);
int storage_mapped_groups(struct storage *st, const struct storage_lun *lun, struct strv *out,
                          struct perr *err);
int storage_array_info(struct storage *st, struct storage_array_info *out, struct perr *err);
int storage_vvol_copy(struct storage *st, const struct storage_copy_req *req,
                      storage_progress_fn progress, void *arg, struct perr *err);
int storage_rdm_copy(struct storage *st, const struct storage_copy_req *req,
                     storage_progress_fn progress, void *arg, struct perr *err);

/* ---- for drivers only ---- */

/* The zeroed private state of priv_size bytes. */
void *storage_priv(struct storage *st);
/* The REST client (NULL when the driver has no dialect). */
struct rest *storage_rest(struct storage *st);
/* Value of one of the driver's env_keys (copied at open), or NULL. */
const char *storage_env(const struct storage *st, const char *key);
/* The configured credentials and host (borrowed; secrets). */
const char *storage_hostname(const struct storage *st);
const char *storage_token(const struct storage *st);
/* The handle that owns a REST client (rest_user() of a storage's client). */
struct storage *storage_from_rest(struct rest *r);

/* Drivers (defined in storage/<vendor>.c). */
extern const struct storage_driver storage_ontap;
extern const struct storage_driver storage_pure;

#endif
