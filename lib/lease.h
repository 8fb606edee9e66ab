/*
 * Host leases: at most LEASE_SLOTS populators rescan one ESXi host at a time
 * (forklift-populator-behaviour §9).
 *
 * Objects: coordination.k8s.io/v1 Lease "esxi-lock-<hostID>-slot-<N>", N in
 * 0..LEASE_SLOTS-1, in the lease namespace (HOST_LEASE_NAMESPACE, default
 * openshift-mtv).  hostID is the host's "Type:Value" MoRef lower-cased with
 * ':' -> '-' ("hostsystem-host-36", see lease_host_id()) and must be a
 * DNS-1123 label of at most 63 characters.  Spec: holderIdentity,
 * leaseDurationSeconds, acquireTime, renewTime (MicroTime, UTC), and
 * leaseTransitions counted up on every takeover.  Compatible with the Go
 * populator, which shares these objects: a lease is held while
 * now <= renewTime + leaseDurationSeconds (a missing field = held).
 *
 * Acquisition (lease_acquire()):
 * 1. Pre-check: GET slot 0.  Any error but NotFound fails at once (401/403:
 *    PERR_AUTH naming the Role that grants leases; an unreachable server,
 *    TLS ...), so a missing permission is reported, not waited on.
 * 2. For each slot: CREATE.  AlreadyExists -> GET; NotFound then -> try the
 *    slot again; a lease that is expired or released (empty holderIdentity)
 *    -> UPDATE it with its resourceVersion: success = ours, 409 Conflict =
 *    another populator won -> next slot.  A held lease -> next slot.
 * 3. All slots held: wait and go to 2.  The wait is a watch of the
 *    namespace's leases from the oldest resourceVersion just read (the
 *    "watch" verb): a slot of this host that comes free (released, or
 *    expired when seen) is taken at once with one conditional UPDATE made
 *    from the event (409: another waiter won, watch on); renewals and other
 *    hosts' leases are passed over in the same watch request.  It ends, and
 *    2. reads the slots afresh, when a slot is deleted, the version is too
 *    old, or the earliest lease would expire (+50 ms; at most 10 s).  A
 *    watch runs on a client of its own, so it never holds up another
 *    thread's request.  When the watch is refused the wait is a short
 *    adaptive poll instead (250 ms growing to 2 s, also never past the
 *    earliest expiry).  Either way it is ended early by cancel_request()
 *    (PERR_CANCELLED) and bounded by the deadline (PERR_TIMEOUT naming the
 *    holders).  opts.on_busy (if set) is called before each such wait.
 *
 * While held: a renewer thread UPDATEs renewTime every duration/3 (at least
 * every 100 ms).  A failed renewal is retried until the lease would expire;
 * a lease that is gone (404), taken over (409 and someone else's name on it)
 * or could not be renewed before its expiry is LOST: lease_lost() turns
 * true and lease_check() fails with the reason, and the renewer stops.
 * The caller checks between steps of the protected work (the rescan) and
 * aborts cleanly.  The renewer and the metrics listener are the program's
 * only threads besides the worker.
 *
 * Release (lease_release()): stops the renewer, then UPDATEs the lease so it
 * is free at once: holderIdentity removed, leaseDurationSeconds = 1 and
 * renewTime one minute in the past (so the Go populator's expiry test passes
 * even with some clock skew between nodes).  Not a DELETE: the controller's
 * Role in openshift-mtv grants get/list/watch/create/update on leases but no
 * delete.  A lease already lost, or already taken by someone else, is left
 * alone.  (The Go populator never releases: the next holder waits for the
 * expiry.)
 *
 * Ownership: a struct lease borrows the struct kube, which must outlive it.
 */
#ifndef POP_LEASE_H
#define POP_LEASE_H

#include <stdbool.h>

#include "lib/compiler.h"
#include "lib/deadline.h"
#include "lib/err.h"
#include "lib/kube.h"

#define LEASE_SLOTS               2
#define LEASE_HOST_ID_MAX         63
#define LEASE_RELEASE_BACKDATE_MS 60000

struct lease;

struct lease_opts {
    const char *namespace; /* required */
    const char *host_id;   /* required; DNS-1123 label (lease_host_id_valid()) */
    double duration_s;     /* leaseDurationSeconds, truncated to whole seconds; >= 1 */
    const char *holder;    /* holderIdentity; NULL = lease_default_holder() */
    int slots;             /* 0 = LEASE_SLOTS */
    /* Called (from the acquiring thread) each time all slots are held, before
     * the wait; for logs and tests.  May be NULL. */
    void (*on_busy)(void *arg, const char *holders);
    void *on_busy_arg;
};

/* True when s is a DNS-1123 label: 1..63 of [a-z0-9-], alphanumeric at both ends. */
bool lease_host_id_valid(const char *s);

/* The host id of a MoRef: "HostSystem", "host-36" -> "hostsystem-host-36".
 * PERR_USAGE when the result is not a valid DNS-1123 label. */
int lease_host_id(const char *moref_type, const char *moref_value, char **out, struct perr *err);

/* gethostname() (the pod name), or "populator-<random uuid>" when it fails. */
int lease_default_holder(char **out, struct perr *err);

/* Acquires a slot as described above and starts the renewer.  *out is NULL
 * on failure.  Errors: PERR_USAGE (bad host id, duration or namespace),
 * PERR_AUTH / PERR_NOT_FOUND (namespace) / PERR_HTTP / PERR_NETWORK ... from
 * the API, PERR_TIMEOUT (deadline, d may be NULL = none), PERR_CANCELLED. */
int lease_acquire_opts(struct kube *k, const struct lease_opts *opts, const struct deadline *d,
                       struct lease **out, struct perr *err);

/* lease_acquire_opts() with the usual arguments (holder NULL = default). */
int lease_acquire(struct kube *k, const char *ns, const char *host_id, double duration_s,
                  const char *holder, const struct deadline *d, struct lease **out,
                  struct perr *err);

/* True once the lease is lost (see above).  Thread-safe, cheap. */
bool lease_lost(const struct lease *l);
/* 0 while held; -1 with PERR_REMOTE "host lease '...' lost: <why>" once lost. */
int lease_check(struct lease *l, struct perr *err);

/* The Lease object's name and slot.  Borrowed. */
const char *lease_name(const struct lease *l);
int lease_slot(const struct lease *l);

/* Stops the renewer, frees the slot (see above) and frees l.  Always frees l,
 * also on failure (which the caller logs at warn).  NULL-safe. */
int lease_release(struct lease *l, struct perr *err);

#endif
