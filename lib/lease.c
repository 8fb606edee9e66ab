#include "lib/lease.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "lib/buf.h"
#include "lib/jsonx.h"
#include "lib/log.h"

#define LEASE_COMP          "lease"
#define LEASE_POLL_FIRST_MS 250
#define LEASE_POLL_MAX_MS   2000
#define LEASE_WATCH_MAX_MS  10000
#define LEASE_RENEW_MIN_MS  100
#define LEASE_RETRY_MS      250
#define LEASE_SLOT_TRIES    5

struct lease {
    struct kube *kube; /* borrowed, must outlive the lease */
    char *ns;
    char *name;
    char *holder;
    int slot;
    long duration_s;
    json_t *obj;          /* the stored object as last written; the renewer's while it runs */
    long long renewed_ms; /* wall-clock ms of the last renewTime we stored */

    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool sync_ready;
    bool thread_started;
    pthread_t thread;
    bool stop; /* under mu */
    atomic_bool lost;
    char lost_why[PERR_MSG_MAX]; /* under mu */
};

static long long
wall_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
lease_host_id_valid(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n > LEASE_HOST_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

        if (!alnum && (c != '-' || i == 0 || i == n - 1))
            return false;
    }
    return true;
}

int
lease_host_id(const char *moref_type, const char *moref_value, char **out, struct perr *err)
{
    char *id = NULL;

    *out = NULL;
    if (asprintf(&id, "%s:%s", moref_type, moref_value) < 0)
        return perr_set(err, PERR_NOMEM, "out of memory");
    for (char *p = id; *p != '\0'; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
        else if (*p == ':')
            *p = '-';
    }
    if (!lease_host_id_valid(id)) {
        perr_set(err, PERR_USAGE,
                 "host id '%s' is not a valid DNS-1123 label (1 to %d of a-z, 0-9 and '-', "
                 "starting and ending with a letter or digit)",
                 id, LEASE_HOST_ID_MAX);
        free(id);
        return -1;
    }
    *out = id;
    return 0;
}

int
lease_default_holder(char **out, struct perr *err)
{
    char host[256];
    unsigned char r[16];

    *out = NULL;
    if (gethostname(host, sizeof(host)) == 0) {
        host[sizeof(host) - 1] = '\0';
        if (host[0] != '\0') {
            *out = strdup(host);
            return *out != NULL ? 0 : perr_set(err, PERR_NOMEM, "out of memory");
        }
    }
    if (RAND_bytes(r, sizeof(r)) != 1)
        return perr_set(err, PERR_INTERNAL, "no random bytes for a holder identity");
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* UUID version 4 */
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    if (asprintf(out,
                 "populator-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
                 r[13], r[14], r[15]) < 0) {
        *out = NULL;
        return perr_set(err, PERR_NOMEM, "out of memory");
    }
    return 0;
}

/* ---- lease objects ---- */

static json_t *
lease_new_obj(const char *ns, const char *name, const char *holder, long duration_s,
              long long now_ms)
{
    char ts[40];

    kube_time_format(now_ms, ts, sizeof(ts));
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:I, s:s, s:s, s:i}}", "apiVersion",
                     "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", name,
                     "namespace", ns, "spec", "holderIdentity", holder, "leaseDurationSeconds",
                     (json_int_t)duration_s, "acquireTime", ts, "renewTime", ts, "leaseTransitions",
                     0);
}

/* What a stored lease says: whether it can be taken now, who holds it and
 * when it expires (wall-clock ms; LLONG_MAX when it never does). */
struct lease_view {
    bool free;
    const char *holder; /* borrowed from the object, "" when none */
    long long expires_ms;
};

static struct lease_view
lease_look(json_t *obj, long long now_ms)
{
    struct lease_view v = {false, "", LLONG_MAX};
    json_t *spec = json_object_get(obj, "spec");
    json_t *dur = json_object_get(spec, "leaseDurationSeconds");
    const char *renew = jsonx_string_or(spec, "renewTime", NULL);
    long long renew_ms;

    v.holder = jsonx_string_or(spec, "holderIdentity", "");
    /* As in the Go populator, a missing time or duration means "held";
     * released leases (ours) carry no holder. */
    if (json_is_integer(dur) && renew != NULL && kube_time_parse(renew, &renew_ms) == 0)
        v.expires_ms = renew_ms + (long long)json_integer_value(dur) * 1000;
    v.free = *v.holder == '\0' || now_ms > v.expires_ms;
    return v;
}

/* A copy of obj taken over by holder: holder, times, duration, transitions + 1. */
static json_t *
lease_take_obj(json_t *obj, const char *holder, long duration_s, long long now_ms)
{
    json_t *o = json_deep_copy(obj);
    json_t *spec;
    json_t *tr;
    char ts[40];

    if (o == NULL)
        return NULL;
    spec = json_object_get(o, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        if (json_object_set_new(o, "spec", spec) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    tr = json_object_get(spec, "leaseTransitions");
    kube_time_format(now_ms, ts, sizeof(ts));
    if (json_object_set_new(spec, "holderIdentity", json_string(holder)) < 0 ||
        json_object_set_new(spec, "leaseDurationSeconds", json_integer(duration_s)) < 0 ||
        json_object_set_new(spec, "acquireTime", json_string(ts)) < 0 ||
        json_object_set_new(spec, "renewTime", json_string(ts)) < 0 ||
        json_object_set_new(spec, "leaseTransitions",
                            json_integer(json_is_integer(tr) ? json_integer_value(tr) + 1 : 1)) <
            0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int
set_spec_time(json_t *obj, const char *key, long long ms, struct perr *err)
{
    char ts[40];

    kube_time_format(ms, ts, sizeof(ts));
    if (json_object_set_new(json_object_get(obj, "spec"), key, json_string(ts)) < 0)
        return perr_set(err, PERR_NOMEM, "out of memory");
    return 0;
}

/* ---- acquisition ---- */

static void
slot_name(const char *host_id, int slot, char *out, size_t n)
{
    snprintf(out, n, "esxi-lock-%s-slot-%d", host_id, slot);
}

/* An object's resourceVersion as a number, 0 when it is not one.  The API
 * calls it opaque; the server in practice counts one revision for all
 * objects, and a watch from a version it no longer has just ends at once
 * (the waiter then reads the slots afresh), so nothing depends on it. */
static unsigned long long
lease_rv(json_t *obj)
{
    const char *s = jsonx_string_or(json_object_get(obj, "metadata"), "resourceVersion", "");
    char *end = NULL;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return 0;
    v = strtoull(s, &end, 10);
    return *end == '\0' ? v : 0;
}

/* Takes the free lease cur (read at now_ms) over with one update made from
 * it; its resourceVersion makes the update conditional, so a 409
 * (PERR_CONFLICT) means another populator took it first.  *got owns the
 * stored object on success. */
static int
take_over(struct kube *k, const char *ns, const char *name, json_t *cur, const char *holder,
          long duration_s, long long now_ms, json_t **got, struct perr *err)
{
    json_t *upd = lease_take_obj(cur, holder, duration_s, now_ms);
    int rc;

    if (upd == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    rc = kube_update(k, &kube_res_lease, ns, name, upd, got, err);
    json_decref(upd);
    return rc;
}

/* 1 = acquired (*got owns the stored object), 0 = held by someone else
 * (*busy_until/holders updated), -1 = error. */
static int
try_slot(struct kube *k, const struct lease_opts *o, const char *holder, long duration_s,
         const char *name, json_t **got, long long *busy_until, unsigned long long *rv,
         struct buf *holders, struct perr *err)
{
    json_t *mine = NULL;
    json_t *cur = NULL;
    int rc = -1;

    *got = NULL;
    for (int tries = 0; tries < LEASE_SLOT_TRIES; tries++) {
        long long now = wall_now_ms();
        struct lease_view v;

        json_decref(mine);
        json_decref(cur);
        mine = cur = NULL;
        mine = lease_new_obj(o->namespace, name, holder, duration_s, now);
        if (mine == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
        if (kube_create(k, &kube_res_lease, o->namespace, mine, got, err) == 0) {
            rc = 1;
            goto out;
        }
        if (err->code == PERR_NOT_FOUND) {
            perr_prefix(err, "namespace '%s' (HOST_LEASE_NAMESPACE) does not exist? ",
                        o->namespace);
            goto out;
        }
        if (err->code != PERR_CONFLICT)
            goto out;
        perr_clear(err); /* AlreadyExists */
        if (kube_get(k, &kube_res_lease, o->namespace, name, &cur, err) < 0) {
            if (err->code == PERR_NOT_FOUND) {
                perr_clear(err); /* deleted meanwhile: create again */
                continue;
            }
            goto out;
        }
        v = lease_look(cur, now);
        if (!v.free) {
            unsigned long long seen = lease_rv(cur);

            if (v.expires_ms < *busy_until)
                *busy_until = v.expires_ms;
            /* The oldest version read: a watch from there misses no change
             * to any slot read since (one read later may be newer than a
             * release of another). */
            if (seen > 0 && (*rv == 0 || seen < *rv))
                *rv = seen;
            if (buf_addf(holders, err, "%s'%s' (%s)", holders->len > 0 ? ", " : "", v.holder,
                         name) < 0)
                goto out;
            rc = 0;
            goto out;
        }
        if (take_over(k, o->namespace, name, cur, holder, duration_s, now, got, err) == 0) {
            log_debug(LEASE_COMP, "expired host lease taken over", "lease", name, "previous",
                      v.holder, NULL);
            rc = 1;
            goto out;
        }
        if (err->code == PERR_CONFLICT) {
            /* Another populator updated it first: it won this slot. */
            perr_clear(err);
            if (buf_addf(holders, err, "%s(taken just now) (%s)", holders->len > 0 ? ", " : "",
                         name) < 0)
                goto out;
            rc = 0;
            goto out;
        }
        if (err->code != PERR_NOT_FOUND)
            goto out;
        perr_clear(err);
    }
    rc = 0; /* kept changing under us: treat as busy */
out:
    json_decref(mine);
    json_decref(cur);
    return rc;
}

static void *renewer_main(void *arg);

static void
lease_free(struct lease *l)
{
    if (l == NULL)
        return;
    if (l->sync_ready) {
        pthread_cond_destroy(&l->cv);
        pthread_mutex_destroy(&l->mu);
    }
    json_decref(l->obj);
    free(l->ns);
    free(l->name);
    free(l->holder);
    free(l);
}

/* The slot number of a lease name of this host, or -1. */
static int
slot_of(const char *host_id, int slots, const char *name)
{
    char want[128];

    for (int s = 0; s < slots; s++) {
        slot_name(host_id, s, want, sizeof(want));
        if (strcmp(want, name) == 0)
            return s;
    }
    return -1;
}

/* What a waiter's watch looks for, the newest version it went past, and
 * what the event it took means. */
struct slot_watch {
    const char *host_id;
    int slots;
    char from[32];
    int free_slot; /* the slot the taken event shows free; -1: read the slots afresh */
};

/* Takes the events a waiter acts on: one of this host's slots free
 * (free_slot set), or deleted, or a watch error (free_slot -1).  Every other
 * change (a renewal, another host's lease) is passed over in the same
 * stream, only moving the version on. */
static bool
slot_event(void *arg, json_t *ev)
{
    struct slot_watch *w = arg;
    const char *type = jsonx_string_or(ev, "type", "");
    json_t *obj = json_object_get(ev, "object");
    unsigned long long seen;
    int s;

    w->free_slot = -1;
    if (strcmp(type, "ERROR") == 0 || !json_is_object(obj))
        return true;
    seen = lease_rv(obj);
    if (seen > 0)
        snprintf(w->from, sizeof(w->from), "%llu", seen);
    s = slot_of(w->host_id, w->slots,
                jsonx_string_or(json_object_get(obj, "metadata"), "name", ""));
    if (s < 0)
        return false;
    if (strcmp(type, "DELETED") == 0)
        return true;
    if (!lease_look(obj, wall_now_ms()).free)
        return false;
    w->free_slot = s;
    return true;
}

/*
 * All slots are held: waits on a watch of the namespace's leases, from
 * version rv, for one of them to come free, and takes it with one
 * conditional update made from the event itself.  Renewals and other hosts'
 * leases are passed over inside one watch request: with many waiters, a
 * request per change and waiter (let alone reading every slot again) is a
 * storm on the API server for each release, and the time it takes is time
 * the next copy waits.  Returns 1 with the slot taken, 0 when the slots
 * should be read afresh (span_ms is up: a holder may have expired without a
 * word; a slot was deleted; the version is too old to watch from; the
 * update failed other than by losing the race), -1 when the leases cannot
 * be watched (err).
 */
static int
watch_slots(struct kube *k, const struct lease_opts *o, struct lease *l, int slots, long duration_s,
            unsigned long long rv, long span_ms, struct perr *err)
{
    struct deadline d = deadline_in_ms(span_ms);
    struct slot_watch w = {.host_id = o->host_id, .slots = slots};
    json_t *ev = NULL;
    char *mine = NULL;
    int rc = 0;

    snprintf(w.from, sizeof(w.from), "%llu", rv);
    for (;;) {
        json_t *obj;
        const char *name;
        int r;

        json_decref(ev);
        ev = NULL;
        if (deadline_remaining_ms(&d) <= 0 || cancel_requested())
            goto out;
        w.free_slot = -1;
        r = kube_watch(k, &kube_res_lease, o->namespace, w.from, deadline_remaining_ms(&d),
                       slot_event, &w, &ev, err);
        if (r <= 0) {
            rc = r;
            goto out;
        }
        if (w.free_slot < 0)
            goto out; /* a watch error or a deleted slot */
        obj = json_object_get(ev, "object");
        name = jsonx_string_or(json_object_get(obj, "metadata"), "name", "");
        free(mine);
        if ((mine = strdup(name)) == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            rc = -1;
            goto out;
        }
        if (take_over(k, o->namespace, name, obj, l->holder, duration_s, wall_now_ms(), &l->obj,
                      err) == 0) {
            l->slot = w.free_slot;
            l->name = mine;
            mine = NULL;
            rc = 1;
            goto out;
        }
        if (err->code == PERR_NOMEM) {
            rc = -1;
            goto out;
        }
        /* 409: another waiter took it first; keep watching.  Anything else:
         * the main loop reads the slots again and reports what is wrong. */
        if (err->code != PERR_CONFLICT) {
            perr_clear(err);
            goto out;
        }
        perr_clear(err);
    }
out:
    free(mine);
    json_decref(ev);
    return rc;
}

int
lease_acquire_opts(struct kube *k, const struct lease_opts *o, const struct deadline *d,
                   struct lease **out, struct perr *err)
{
    struct lease *l = NULL;
    struct backoff poll;
    bool watch = true; /* until the server refuses a watch: then poll */
    struct buf holders = {0};
    pthread_condattr_t ca;
    json_t *probe = NULL;
    char first[128];
    int slots = o->slots > 0 ? o->slots : LEASE_SLOTS;
    long duration_s = (long)o->duration_s;
    bool told = false;
    int rc = -1;

    *out = NULL;
    if (o->namespace == NULL || o->namespace[0] == '\0') {
        perr_set(err, PERR_USAGE, "host lease: no namespace (HOST_LEASE_NAMESPACE)");
        goto out;
    }
    if (!lease_host_id_valid(o->host_id)) {
        perr_set(err, PERR_USAGE,
                 "host lease: host id '%s' is not a valid DNS-1123 label (1 to %d of a-z, 0-9 "
                 "and '-', starting and ending with a letter or digit)",
                 o->host_id != NULL ? o->host_id : "", LEASE_HOST_ID_MAX);
        goto out;
    }
    if (!(o->duration_s >= 1.0) || o->duration_s > INT_MAX) {
        perr_set(err, PERR_USAGE,
                 "host lease: duration %g s is out of range (HOST_LEASE_DURATION_SECONDS; "
                 "whole seconds >= 1)",
                 o->duration_s);
        goto out;
    }
    l = calloc(1, sizeof(*l));
    if (l == NULL || (l->ns = strdup(o->namespace)) == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    l->kube = k;
    l->duration_s = duration_s;
    atomic_init(&l->lost, false);
    if (o->holder != NULL && o->holder[0] != '\0') {
        if ((l->holder = strdup(o->holder)) == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
    } else if (lease_default_holder(&l->holder, err) < 0) {
        goto out;
    }

    /* Fail fast on a permission or namespace problem rather than waiting. */
    slot_name(o->host_id, 0, first, sizeof(first));
    if (kube_get(k, &kube_res_lease, o->namespace, first, &probe, err) < 0) {
        if (err->code != PERR_NOT_FOUND) {
            perr_prefix(err, "host lease: cannot use the lease API (not retried): ");
            goto out;
        }
        perr_clear(err);
    }

    backoff_init(&poll, LEASE_POLL_FIRST_MS, LEASE_POLL_MAX_MS, 1.5, 0.2, 0);
    for (;;) {
        long long busy_until = LLONG_MAX;
        long long to_expiry = LLONG_MAX;
        unsigned long long rv = 0;
        long delay;

        if (cancel_requested()) {
            perr_set(err, PERR_CANCELLED, "host lease: interrupted by a termination signal");
            goto out;
        }
        buf_reset(&holders);
        for (int s = 0; s < slots && l->obj == NULL; s++) {
            char name[128];
            int r;

            slot_name(o->host_id, s, name, sizeof(name));
            r = try_slot(k, o, l->holder, duration_s, name, &l->obj, &busy_until, &rv, &holders,
                         err);
            if (r < 0) {
                perr_prefix(err, "host lease '%s/%s': ", o->namespace, name);
                goto out;
            }
            if (r == 1) {
                l->slot = s;
                if ((l->name = strdup(name)) == NULL) {
                    perr_set(err, PERR_NOMEM, "out of memory");
                    goto out;
                }
            }
        }
        if (l->obj != NULL)
            break;
        if (d != NULL && deadline_expired(d)) {
            perr_set(err, PERR_TIMEOUT,
                     "host lease: all %d slots of host '%s' in namespace '%s' are held (by %s); "
                     "gave up at the deadline",
                     slots, o->host_id, o->namespace, buf_cstr(&holders));
            goto out;
        }
        if (o->on_busy != NULL)
            o->on_busy(o->on_busy_arg, buf_cstr(&holders));
        if (!told)
            log_info(LEASE_COMP, "waiting for a host lease slot", "host", o->host_id, "holders",
                     buf_cstr(&holders), NULL);
        told = true;
        /* Never wait past the earliest expiry (+50 ms): a holder that died
         * frees its slot without a word. */
        if (busy_until != LLONG_MAX) {
            to_expiry = busy_until - wall_now_ms() + 50;
            if (to_expiry < 50)
                to_expiry = 50;
        }
        delay = backoff_next_ms(&poll);
        if (to_expiry < delay)
            delay = (long)to_expiry;
        if (watch && rv > 0) {
            long span = to_expiry < LEASE_WATCH_MAX_MS ? (long)to_expiry : LEASE_WATCH_MAX_MS;
            struct perr werr = {0};

            if (d != NULL && deadline_remaining_ms(d) < span)
                span = deadline_remaining_ms(d) > 0 ? deadline_remaining_ms(d) : 1;
            if (watch_slots(k, o, l, slots, duration_s, rv, span, &werr) >= 0 || cancel_requested())
                continue;
            /* Polling works with less: get alone is enough for it. */
            log_debug(LEASE_COMP, "cannot watch the leases; polling instead", "error", werr.msg,
                      NULL);
            watch = false;
        }
        if (wait_ms(delay, d, err) < 0) {
            perr_prefix(err, "host lease: ");
            goto out;
        }
    }
    l->renewed_ms = wall_now_ms();
    {
        json_t *rt = json_object_get(json_object_get(l->obj, "spec"), "renewTime");
        long long ms;

        if (json_is_string(rt) && kube_time_parse(json_string_value(rt), &ms) == 0)
            l->renewed_ms = ms;
    }

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    l->sync_ready = true;
    if (pthread_create(&l->thread, NULL, renewer_main, l) != 0) {
        struct perr tmp = {0};

        perr_set(err, PERR_INTERNAL, "host lease: cannot start the renewal thread");
        /* Give the slot back rather than leave it held until it expires. */
        if (lease_release(l, &tmp) < 0)
            log_warn(LEASE_COMP, "host lease release failed", "error", tmp.msg, NULL);
        l = NULL;
        goto out;
    }
    l->thread_started = true;
    log_info(LEASE_COMP, "host lease acquired", "lease", l->name, "namespace", l->ns, "holder",
             l->holder, NULL);
    *out = l;
    l = NULL;
    rc = 0;
out:
    json_decref(probe);
    buf_free(&holders);
    lease_free(l);
    return rc;
}

int
lease_acquire(struct kube *k, const char *ns, const char *host_id, double duration_s,
              const char *holder, const struct deadline *d, struct lease **out, struct perr *err)
{
    struct lease_opts o = {0};

    o.namespace = ns;
    o.host_id = host_id;
    o.duration_s = duration_s;
    o.holder = holder;
    return lease_acquire_opts(k, &o, d, out, err);
}

/* ---- renewal ---- */

enum renew_result { RENEW_OK, RENEW_RETRY, RENEW_LOST };

/* One renewal: PUT renewTime = now with the last resourceVersion. */
static enum renew_result
renew_once(struct lease *l, struct perr *err)
{
    json_t *upd = NULL;
    json_t *got = NULL;
    json_t *cur = NULL;
    long long now = wall_now_ms();
    enum renew_result r = RENEW_RETRY;

    upd = json_deep_copy(l->obj);
    if (upd == NULL || set_spec_time(upd, "renewTime", now, err) < 0) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    /* A renewal that cannot finish before the lease expires is worthless. */
    if (kube_update_within(l->kube, &kube_res_lease, l->ns, l->name, upd, l->duration_s * 1000 / 2,
                           &got, err) == 0) {
        json_decref(l->obj);
        l->obj = got;
        got = NULL;
        l->renewed_ms = now;
        r = RENEW_OK;
        goto out;
    }
    if (err->code == PERR_NOT_FOUND) {
        perr_prefix(err, "the Lease was deleted: ");
        r = RENEW_LOST;
        goto out;
    }
    if (err->code == PERR_CONFLICT) {
        struct lease_view v;
        struct perr e2 = {0};

        /* Changed since our last write: still ours (an earlier write that
         * timed out went through) or taken over by someone else? */
        if (kube_get(l->kube, &kube_res_lease, l->ns, l->name, &cur, &e2) < 0) {
            if (e2.code == PERR_NOT_FOUND) {
                *err = e2;
                perr_prefix(err, "the Lease was deleted: ");
                r = RENEW_LOST;
            }
            goto out;
        }
        v = lease_look(cur, now);
        if (strcmp(v.holder, l->holder) != 0) {
            perr_clear(err);
            perr_set(err, PERR_CONFLICT, "taken over by '%s'", v.holder);
            r = RENEW_LOST;
            goto out;
        }
        json_decref(l->obj);
        l->obj = cur;
        cur = NULL;
        goto out; /* retry soon with the fresh resourceVersion */
    }
out:
    json_decref(upd);
    json_decref(got);
    json_decref(cur);
    return r;
}

static void
mark_lost(struct lease *l, const char *why)
{
    snprintf(l->lost_why, sizeof(l->lost_why), "%s", why);
    atomic_store(&l->lost, true);
    log_warn(LEASE_COMP, "host lease lost", "lease", l->name, "error", why, NULL);
}

static void *
renewer_main(void *arg)
{
    struct lease *l = arg;
    long interval = l->duration_s * 1000 / 3;
    long delay;

    if (interval < LEASE_RENEW_MIN_MS)
        interval = LEASE_RENEW_MIN_MS;
    delay = interval;
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        struct timespec ts;
        int64_t wake = mono_now_ms() + delay;
        struct perr e = {0};
        enum renew_result r;

        ts.tv_sec = (time_t)(wake / 1000);
        ts.tv_nsec = (long)(wake % 1000) * 1000000L;
        while (!l->stop && mono_now_ms() < wake)
            pthread_cond_timedwait(&l->cv, &l->mu, &ts);
        if (l->stop)
            break;
        pthread_mutex_unlock(&l->mu);
        r = renew_once(l, &e);
        pthread_mutex_lock(&l->mu);
        if (r == RENEW_OK) {
            delay = interval;
            continue;
        }
        if (r == RENEW_RETRY && wall_now_ms() < l->renewed_ms + l->duration_s * 1000) {
            log_debug(LEASE_COMP, "host lease renewal failed; retrying", "lease", l->name, "error",
                      e.msg, NULL);
            delay = interval < LEASE_RETRY_MS ? interval : LEASE_RETRY_MS;
            continue;
        }
        if (r == RENEW_RETRY)
            perr_prefix(&e, "not renewed before it expired: ");
        mark_lost(l, e.msg);
        break;
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

bool
lease_lost(const struct lease *l)
{
    return atomic_load(&((struct lease *)(uintptr_t)l)->lost);
}

int
lease_check(struct lease *l, struct perr *err)
{
    char why[PERR_MSG_MAX];

    if (!lease_lost(l))
        return 0;
    pthread_mutex_lock(&l->mu);
    snprintf(why, sizeof(why), "%s", l->lost_why);
    pthread_mutex_unlock(&l->mu);
    return perr_set(err, PERR_REMOTE, "host lease '%s/%s' lost: %s", l->ns, l->name, why);
}

const char *
lease_name(const struct lease *l)
{
    return l->name;
}

int
lease_slot(const struct lease *l)
{
    return l->slot;
}

/* ---- release ---- */

/* Frees the slot at once (see lease.h); a lease no longer ours is left alone. */
static int
free_slot(struct lease *l, struct perr *err)
{
    json_t *upd = NULL;
    json_t *cur = NULL;
    int rc = -1;

    for (int tries = 0; tries < 2; tries++) {
        json_t *spec;

        json_decref(upd);
        upd = json_deep_copy(l->obj);
        spec = json_object_get(upd, "spec");
        if (upd == NULL || !json_is_object(spec)) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
        json_object_del(spec, "holderIdentity");
        if (json_object_set_new(spec, "leaseDurationSeconds", json_integer(1)) < 0 ||
            set_spec_time(upd, "renewTime", wall_now_ms() - LEASE_RELEASE_BACKDATE_MS, err) < 0)
            goto out;
        if (kube_update(l->kube, &kube_res_lease, l->ns, l->name, upd, NULL, err) == 0)
            break;
        if (err->code == PERR_NOT_FOUND) {
            perr_clear(err);
            break;
        }
        if (err->code != PERR_CONFLICT || tries > 0)
            goto out;
        perr_clear(err);
        json_decref(cur);
        cur = NULL;
        if (kube_get(l->kube, &kube_res_lease, l->ns, l->name, &cur, err) < 0) {
            if (err->code == PERR_NOT_FOUND) {
                perr_clear(err);
                break;
            }
            goto out;
        }
        if (strcmp(lease_look(cur, wall_now_ms()).holder, l->holder) != 0)
            break; /* someone else's now */
        json_decref(l->obj);
        l->obj = cur;
        cur = NULL;
    }
    log_info(LEASE_COMP, "host lease released", "lease", l->name, NULL);
    rc = 0;
out:
    json_decref(upd);
    json_decref(cur);
    return rc;
}

int
lease_release(struct lease *l, struct perr *err)
{
    int rc = 0;

    if (l == NULL)
        return 0;
    if (l->sync_ready) {
        pthread_mutex_lock(&l->mu);
        l->stop = true;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
    }
    if (l->thread_started)
        pthread_join(l->thread, NULL);
    if (!lease_lost(l) && l->obj != NULL && l->name != NULL) {
        rc = free_slot(l, err);
        if (rc < 0)
            perr_prefix(err, "host lease '%s/%s': release: ", l->ns, l->name);
    }
    lease_free(l);
    return rc;
}
