/*
 * THE storage driver contract.
 *
 * One `const struct storage_driver` per array vendor, in storage/<vendor>.c:
 * everything vendor-specific the rest of the program needs (command-line
 * name and aliases, display vendor/product, capability bits, the vendor's
 * environment keys with their help, the base-URL rule, the NAA rule, the
 * REST dialect) plus a table of operations.  The drivers are listed once, in
 * the NULL-terminated storage_drivers[] (storage.c); the configuration, the
 * --help text, the manual page's vendor section and the "available: ..."
 * error are all derived from it.  A vendor whose ops are NULL is known (its
 * name and keys are accepted) but not built yet.
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
 *   storage_resolve_pv(pv)                -> lun (name, id, naa, serial)
 *   storage_mapped_groups(lun)            -> orig (groups that see it now)
 *   storage_ensure_igroup(name, inits)    -> actual group name G
 *   storage_map(G, lun)                   -> mapped lun; rescan ESXi for lun.naa
 *   ... clone on ESXi ...
 *   storage_unmap(G, lun)                 always, from the caller's cleanup
 *   storage_map(g, lun) for g in orig     restore (normally a no-op; a group
 *                                         that is still mapped is success)
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
    /* Maps to the host's PowerFlex SDC: the flow hands ensure_igroup the
     * SDC GUID (the ESXi scini module's IoctlIniGuidStr) as the one
     * initiator, instead of the datastore's FC/iSCSI adapter ids. */
    STORAGE_CAP_SDC = 1u << 4,
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

/* One vendor environment key and its value (borrowed). */
struct storage_kv {
    const char *key;
    const char *value;
};

/* How to reach the array.  Everything is copied by storage_open(). */
struct storage_config {
    const char *hostname; /* STORAGE_HOSTNAME: "host", "host:port" or "https://host[:port]" */
    const char *username; /* STORAGE_USERNAME */
    const char *password; /* STORAGE_PASSWORD (secret) */
    const char *token;    /* STORAGE_TOKEN (secret), Pure */
    bool skip_ssl;        /* STORAGE_SKIP_SSL_VERIFICATION: honoured by every driver */
    const char *ca_file; /* PEM bundle the array's certificate must chain to; NULL = system store */
    long timeout_s;      /* STORAGE_HTTP_TIMEOUT_SECONDS; <= 0 = STORAGE_DEFAULT_TIMEOUT_S */
    /* The driver's environment keys that are set (ONTAP_SVM, ...), as the
     * configuration collected them from storage_driver.env_keys. */
    const struct storage_kv *env;
    size_t nenv;
    /* Test seams.  transport: used instead of libcurl when set, and moved into
     * the storage handle (the caller's struct is zeroed), also on failure.
     * retry_initial_ms: first retry delay (0 = the REST layer's default). */
    struct http_transport *transport;
    long retry_initial_ms;
    /* The Kubernetes client of a pod-mode run (borrowed; outlives the
     * storage handle), or NULL in manual mode; kube_namespace is the
     * namespace a driver keeps its own objects in (HOST_LEASE_NAMESPACE),
     * copied.  Only for optional, best-effort driver features (a token
     * cache): a driver never fails because they are absent. */
    struct kube *kube;
    const char *kube_namespace;
};

/* For the metrics labels.  Owned strings; any may be NULL when unknown. */
struct storage_array_info {
    char *vendor;  /* "NetApp", "Pure Storage" */
    char *product; /* "ONTAP", "FlashArray" */
    char *model;   /* "FA-X70R3"; NULL when the array does not say */
    char *version; /* "9.14.1", "6.5.4" */
};

void storage_array_info_clear(struct storage_array_info *info);

struct vim;  /* the vSphere session (esxi/vim.h), for drivers that need it */
struct kube; /* the Kubernetes client (lib/kube.h) */

/* Source and target of an array-side copy.  Borrowed. */
struct storage_copy_req {
    struct vim *vim;          /* live vSphere session; may be NULL */
    const char *vvol_id;      /* vvol_copy: the disk's VVol backing object id */
    const char *rdm_device;   /* rdm_copy: "naa.…", "/vmfs/devices/disks/naa.…" or "vml.…" */
    const char *rdm_lun_uuid; /* rdm_copy: vSphere's LUN UUID of the RDM (may be NULL) */
    const struct storage_lun *target; /* from storage_resolve_pv() */
    /* Out, may be NULL: what the copy created or moved aside and could not
     * remove or restore, one human-readable item naming the array object
     * each (owned strings appended), on success and on failure alike. */
    struct strv *leftovers;
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
    /* Required.  Model and version for the metrics (vendor and product too
     * when the array names itself; otherwise the descriptor's are used). */
    int (*array_info)(struct storage *st, struct storage_array_info *out, struct perr *err);

    /* Optional: the array's own target ports, so the flow can prefer the ESXi
     * adapters that reach them: FC port WWNs (16 hex digits, any spelling) and
     * iSCSI target IQNs, appended to cleared *fc and *iscsi.  NULL = the flow
     * keeps choosing the source datastore's active adapters. */
    int (*target_ports)(struct storage *st, struct strv *fc, struct strv *iscsi, struct perr *err);

    /* Optional (NULL unless the matching STORAGE_CAP_* bit is set): copy the
     * whole source volume onto the target volume on the array.  progress may
     * be NULL. */
    int (*vvol_copy)(struct storage *st, const struct storage_copy_req *req,
                     storage_progress_fn progress, void *arg, struct perr *err);
    int (*rdm_copy)(struct storage *st, const struct storage_copy_req *req,
                    storage_progress_fn progress, void *arg, struct perr *err);
};

/* One vendor environment key (a key of the forklift storage Secret). */
struct storage_env_key {
    const char *key;  /* "ONTAP_SVM" */
    const char *help; /* one line for --help and the manual page */
};

/*
 * How STORAGE_HOSTNAME becomes the base URL (storage_base_url()).  Every
 * rule refuses an empty host and any scheme but "https://" (an "http://"
 * value is PERR_USAGE for every vendor: the credentials would travel in
 * clear text); "https://" is added when no scheme is given.
 *   STORAGE_URL_HOST       "host[:port]" or "https://host[:port]" as given
 *   STORAGE_URL_STRIP_API  the same, minus one trailing "/api" path (and
 *                          nothing else: a host "api-gw" stays)
 *   STORAGE_URL_SUFFIX     the same, minus trailing '/', plus path
 *   STORAGE_URL_BARE_HOST  the host part plus ":" port (an explicit ":port"
 *                          in the value is kept instead), any path dropped,
 *                          plus path (FlashSystem: https://host:7443/rest/v1)
 *   STORAGE_URL_FIRST_IPV4 the first IPv4 address in the value, plus ":" and
 *                          the value of env key port_key, else the port
 *                          written after that address ("10.1.2.3:8443"),
 *                          else port; plus path
 */
enum storage_url_rule {
    STORAGE_URL_HOST = 0,
    STORAGE_URL_STRIP_API,
    STORAGE_URL_SUFFIX,
    STORAGE_URL_BARE_HOST,
    STORAGE_URL_FIRST_IPV4,
};

struct storage_url {
    enum storage_url_rule rule;
    const char *path;     /* appended ("/api/rest"), or NULL */
    const char *port;     /* default port ("7443"), or NULL */
    const char *port_key; /* env key giving the port ("STORAGE_PORT"), or NULL */
};

/*
 * How a volume's ESXi device name follows from what the array reports
 * (storage_naa()); every result is lower case.
 *   STORAGE_NAA_ASCII_SERIAL  "naa." oui + hex of each serial byte (ONTAP)
 *   STORAGE_NAA_HEX_SERIAL    "naa." oui + the hex serial (Pure, InfiniBox)
 *   STORAGE_NAA_WWN           "naa." + the WWN/UID without separators, or the
 *                             value itself when it already starts "naa."
 *   STORAGE_NAA_DRIVER        computed by the driver (PowerFlex "eui.")
 */
enum storage_naa_rule {
    STORAGE_NAA_DRIVER = 0,
    STORAGE_NAA_ASCII_SERIAL,
    STORAGE_NAA_HEX_SERIAL,
    STORAGE_NAA_WWN,
};

struct storage_naa {
    enum storage_naa_rule rule;
    const char *oui;   /* "600a0980", "624a9370", "6" */
    size_t serial_len; /* exact serial length; 0 = any that fills 32 hex digits */
};

struct storage_driver {
    const char *name;                       /* command-line value: "ontap", "pureFlashArray" */
    const char *const *aliases;             /* other accepted names, NULL-terminated, or NULL */
    const char *vendor;                     /* metrics display vendor: "NetApp", "Pure Storage" */
    const char *product;                    /* metrics display product: "ONTAP", "FlashArray" */
    const char *summary;                    /* one line for --help and the manual page */
    unsigned caps;                          /* enum storage_cap bits */
    const struct storage_env_key *env_keys; /* ends with {NULL}; NULL = none */
    struct storage_url url;
    struct storage_naa naa;
    size_t priv_size;                /* per-instance state, allocated zeroed by storage_open() */
    const struct rest_dialect *rest; /* REST conventions; NULL = no REST client */
    const struct storage_ops *ops;   /* NULL = known vendor, not built yet */
};

/* ---- registry ---- */

extern const struct storage_driver *const storage_drivers[]; /* NULL-terminated */

/* The driver called name or one of its aliases (ASCII case ignored), built
 * or not, or NULL. */
const struct storage_driver *storage_driver_find(const char *name);
/* True when the driver has operations in this build. */
bool storage_driver_built(const struct storage_driver *drv);
/* Appends the registered names, comma-separated, to out: all of them, or
 * only the built ones. */
int storage_driver_names(struct buf *out, bool built_only, struct perr *err);
/* storage_driver_find() with the error for the caller: an unknown name is
 * PERR_USAGE ("unknown storage vendor 'x'; valid: ..."); a known vendor this
 * build has no driver for is PERR_UNSUPPORTED, "storage vendor 'powermax' is
 * not supported by this build yet (available: ontap, pureFlashArray)". */
int storage_driver_lookup(const char *name, const struct storage_driver **out, struct perr *err);
/* The manual page's vendor list (mdoc), derived from the registry. */
int storage_drivers_man(struct buf *out, struct perr *err);
/* The --help text's vendor section, derived from the registry. */
int storage_drivers_help(struct buf *out, struct perr *err);

/* The checks every rule makes on STORAGE_HOSTNAME, without a driver (the
 * configuration runs them before anything starts): not empty, no white
 * space, no scheme but https:// (http:// is refused: the credentials would
 * travel in clear text).  PERR_USAGE naming STORAGE_HOSTNAME. */
int storage_hostname_check(const char *hostname, struct perr *err);
/* The base URL of the array from STORAGE_HOSTNAME under the driver's rule
 * (struct storage_url); env gives the vendor keys (for port_key).  A bad
 * value is PERR_USAGE naming STORAGE_HOSTNAME (or the port key). */
int storage_base_url(const struct storage_driver *drv, const char *hostname,
                     const struct storage_kv *env, size_t nenv, struct buf *out, struct perr *err);
/* The device name for a serial/WWN under the driver's NAA rule; *out is
 * malloc'd.  PERR_PROTOCOL naming the value when it does not fit. */
int storage_naa(const struct storage_driver *drv, const char *value, char **out, struct perr *err);

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

/* PERR_UNSUPPORTED when the driver cannot list its ports. */
int storage_target_ports(struct storage *st, struct strv *fc, struct strv *iscsi, struct perr *err);
/* Re-maps lun to each of groups (the cleanup's restore step).  A group that
 * is still mapped is success; the first failure is returned after every
 * group was tried; *failed (may be NULL) gets the groups that failed. */
int storage_remap(struct storage *st, const struct strv *groups, const struct storage_lun *lun,
                  struct strv *failed, struct perr *err);

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
/* storage_config.kube and .kube_namespace (borrowed), NULL when not given. */
struct kube *storage_kube(const struct storage *st);
const char *storage_kube_namespace(const struct storage *st);
/* Prefixes a PERR_AUTH err with "authentication failed for user '<user>'
 * (check STORAGE_USERNAME and STORAGE_PASSWORD): "; other errors unchanged. */
void storage_auth_hint(struct storage *st, struct perr *err);
/* The handle that owns a REST client (rest_user() of a storage's client). */
struct storage *storage_from_rest(struct rest *r);

/* Drivers (defined in storage/<vendor>.c). */
extern const struct storage_driver storage_ontap;
extern const struct storage_driver storage_pure;
extern const struct storage_driver storage_powerflex;
extern const struct storage_driver storage_powermax;
extern const struct storage_driver storage_powerstore;
extern const struct storage_driver storage_primera3par;
extern const struct storage_driver storage_infinibox;
extern const struct storage_driver storage_flashsystem;
extern const struct storage_driver storage_vantara;

#endif
