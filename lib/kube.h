/*
 * A small Kubernetes API client: configuration, typed GET/CREATE/UPDATE/DELETE
 * of a few resources over the HTTP transport, and the PV lookup.
 *
 * Configuration (kube_config_load(), the rules of the Go populator's
 * --kubeconfig/--master, forklift-populator-behaviour §1.1):
 * - kubeconfig set: that file, read with libyaml.  current-context picks the
 *   context; its cluster gives server, certificate-authority (a file, relative
 *   paths are relative to the kubeconfig's directory) or
 *   certificate-authority-data (base64 PEM) and insecure-skip-tls-verify; its
 *   user gives token or tokenFile, and client-certificate/client-key (files)
 *   or client-certificate-data/client-key-data (base64 PEM).  exec and
 *   auth-provider users are not supported (PERR_CONFIG naming the user).
 *   master, when set, replaces the cluster's server.
 * - kubeconfig empty: the in-cluster configuration.  The directory holding
 *   token, ca.crt and namespace is opts.incluster_dir, else the environment's
 *   KUBE_INCLUSTER_DIR (for tests), else
 *   /var/run/secrets/kubernetes.io/serviceaccount.  The server is
 *   https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, or master when
 *   set.  With master set and no service-account token the client talks to
 *   master without credentials (logged at warn).
 * - Anything missing is PERR_CONFIG with a message saying which file or
 *   variable and what to set; a malformed file is PERR_CONFIG too.
 *
 * Secrets: the bearer token and the client key are registered with
 * log_add_secret() when read, kept in buffers that are zeroed before being
 * freed, and never logged or put in an error message.
 *
 * Requests (kube_get() and friends) go through lib/rest.c with a Kubernetes
 * dialect:
 * - One struct kube is safe to use from several threads (the lease renewer
 *   and the worker): each exchange with the API server holds a mutex inside
 *   (one thread's exchange waits for the other's, each bounded by its
 *   timeout), but no thread holds it while waiting to retry.
 * - GETs are retried with a short backoff (200 ms doubling to 1 s) on network
 *   errors, 429 and 5xx (three attempts); writes are not retried here.
 * - After a 401, a token read from a file (in-cluster, tokenFile) is re-read
 *   and the request sent once more when the token changed.
 * - Status mapping (the message names the verb, the resource and the object,
 *   and carries the API server's Status message):
 *     401, 403  PERR_AUTH: says which permission is missing and which of the
 *               controller's RBAC objects grants it (see kube_res.rbac_hint)
 *     404       PERR_NOT_FOUND
 *     409       PERR_CONFLICT (remote_code "AlreadyExists" or "Conflict",
 *               from the Status reason)
 *     other     PERR_HTTP with err->http_status set (429/5xx retryable)
 *   A body that is not JSON is PERR_PROTOCOL.
 */
#ifndef POP_KUBE_H
#define POP_KUBE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/compiler.h"
#include "lib/err.h"

#define KUBE_INCLUSTER_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"

/* Where the configuration comes from.  Everything is borrowed for the call. */
struct kube_opts {
    const char *kubeconfig;    /* --kubeconfig, or NULL/"" for in-cluster */
    const char *master;        /* --master, or NULL/"" */
    const char *incluster_dir; /* NULL = $KUBE_INCLUSTER_DIR or the default above */
    const char *const *envp;   /* "K=V" list for KUBERNETES_SERVICE_HOST/PORT and
                                  KUBE_INCLUSTER_DIR; NULL = the process environment */
    long timeout_ms;           /* per request; 0 = 30 s */
};

/* A resolved configuration.  Owns every string; free with kube_config_free(). */
struct kube_config {
    char *server;     /* "https://host:port", no trailing slash */
    char *ca_file;    /* CA bundle file, or NULL */
    char *ca_pem;     /* CA PEM text (from -data), or NULL */
    bool insecure;    /* insecure-skip-tls-verify */
    char *token;      /* bearer token (secret), or NULL */
    char *token_file; /* where token was read from (in-cluster, tokenFile), or NULL:
                         re-read once after a 401, as rotated tokens replace it */
    char *cert_pem;   /* client certificate PEM, or NULL */
    char *key_pem;    /* client key PEM (secret), or NULL */
    char *namespace;  /* the context's / service account's namespace, or NULL */
    char *source;     /* "in-cluster '<dir>'" or "kubeconfig '<path>'", for messages */
    long timeout_ms;
};

void kube_config_free(struct kube_config *cfg);

/* Resolves the configuration as described above.  *out is NULL on failure. */
int kube_config_load(const struct kube_opts *opts, struct kube_config **out, struct perr *err);

/* The two halves of kube_config_load(), exposed for tests.
 * kube_config_from_kubeconfig(): path must be set; master may be NULL. */
int kube_config_from_kubeconfig(const char *path, const char *master, struct kube_config **out,
                                struct perr *err);
/* kube_config_in_cluster(): dir holds token, ca.crt and (optionally) namespace;
 * server = master when set, else https://host:port (host and port required). */
int kube_config_in_cluster(const char *dir, const char *host, const char *port, const char *master,
                           struct kube_config **out, struct perr *err);

/* Decodes base64 (newlines allowed) into a NUL-terminated buffer; *len gets
 * the byte count (may be NULL).  PERR_CONFIG on malformed input; what names
 * the field in the message. */
int kube_base64_decode(const char *in, const char *what, char **out, size_t *len, struct perr *err);

/* A resource kind the client knows how to address. */
struct kube_res {
    const char *api;    /* "/api/v1", "/apis/coordination.k8s.io/v1" */
    const char *plural; /* "persistentvolumeclaims" */
    bool namespaced;
    const char *rbac_hint; /* which of the controller's RBAC objects grants access */
};

extern const struct kube_res kube_res_pvc;
extern const struct kube_res kube_res_pv;
extern const struct kube_res kube_res_lease;
extern const struct kube_res kube_res_namespace;

struct kube;

/* Makes a client from cfg (copied; cfg may be freed afterwards). */
int kube_open(const struct kube_config *cfg, struct kube **out, struct perr *err);
/* Closes the transport and zeroes the token.  NULL-safe. */
void kube_close(struct kube *k);
/* The server URL, for messages.  Borrowed. */
const char *kube_server(const struct kube *k);

/* GET one object.  ns is ignored (may be NULL) for cluster-scoped kinds.
 * *out is a new reference on success, NULL on failure. */
int kube_get(struct kube *k, const struct kube_res *res, const char *ns, const char *name,
             json_t **out, struct perr *err);
/* POST obj (borrowed) into the collection.  *out (may be NULL) gets the stored object. */
int kube_create(struct kube *k, const struct kube_res *res, const char *ns, json_t *obj,
                json_t **out, struct perr *err);
/* PUT obj (borrowed) to its name; obj's metadata.resourceVersion makes it
 * conditional (409 Conflict when stale).  *out (may be NULL) gets the result. */
int kube_update(struct kube *k, const struct kube_res *res, const char *ns, const char *name,
                json_t *obj, json_t **out, struct perr *err);
/* kube_update() with its own whole-request deadline (0 = the client's), for
 * the lease renewer, whose request must end before the lease expires. */
int kube_update_within(struct kube *k, const struct kube_res *res, const char *ns, const char *name,
                       json_t *obj, long timeout_ms, json_t **out, struct perr *err);
/* DELETE one object.  404 is PERR_NOT_FOUND (callers decide whether that is fine). */
int kube_delete(struct kube *k, const struct kube_res *res, const char *ns, const char *name,
                struct perr *err);

/* Watches the objects of res in ns for changes after resourceVersion rv (the
 * "watch" verb), at most timeout_ms, on one connection.  Each event as it
 * comes ({"type": ADDED, MODIFIED, DELETED or ERROR, "object": ...};
 * ERROR includes a version too old to watch from: read afresh) is offered
 * to pick(arg, event) (borrowed; pick NULL takes every event): the events it
 * declines are passed over in the same stream, the first it takes ends the
 * watch.  Returns 1 with that event (*event, owned), 0 when the time ran out
 * first, -1 on an error (a denied watch is PERR_AUTH as for the other
 * verbs). */
int kube_watch(struct kube *k, const struct kube_res *res, const char *ns, const char *rv,
               long timeout_ms, bool (*pick)(void *arg, json_t *event), void *arg, json_t **event,
               struct perr *err);

/* One CSI volume attribute, owned. */
struct kube_attr {
    char *key;
    char *value;
};

/* The CSI facts of a PV, all owned; free with kube_pv_free(). */
struct kube_pv {
    char *name;              /* metadata.name */
    char *csi_driver;        /* spec.csi.driver */
    char *volume_handle;     /* spec.csi.volumeHandle */
    struct kube_attr *attrs; /* spec.csi.volumeAttributes, sorted by key */
    size_t nattrs;
};

void kube_pv_free(struct kube_pv *pv);
/* Value of an attribute, or NULL.  Borrowed from pv. */
const char *kube_pv_attr(const struct kube_pv *pv, const char *key);

/* The PV behind PVC <ns>/<pvc_name> (forklift-populator-behaviour §10):
 * - the PVC's spec.volumeName when set;
 * - otherwise PVC prime-<pvc uid> in ns, whose spec.volumeName is required
 *   (PERR_NOT_FOUND naming the prime PVC when it has none);
 * - then PV <volumeName>, which must carry spec.csi with a volumeHandle:
 *   "PV 'x' is not a CSI volume" (PERR_CONFIG) otherwise.
 * Errors are prefixed "PV lookup for PVC '<ns>/<name>': ".  No retries beyond
 * kube_get()'s.  *out is NULL on failure. */
int kube_lookup_pv(struct kube *k, const char *ns, const char *pvc_name, struct kube_pv **out,
                   struct perr *err);

/* Parses a Kubernetes timestamp ("2024-05-01T10:00:00Z",
 * "2024-05-01T10:00:00.123456Z", or with a +hh:mm offset) into Unix
 * milliseconds.  -1 (no perr) when malformed. */
int kube_time_parse(const char *s, long long *ms_out);
/* Formats Unix milliseconds as a MicroTime "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" (n >= 32). */
void kube_time_format(long long ms, char *out, size_t n);

#endif
