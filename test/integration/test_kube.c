/*
 * lib/kube.c and lib/lease.c against a real Kubernetes API server (v1.20.2
 * built from Debian's source package by test/sim/kube/build-apiserver, with
 * etcd, on loopback; test/sim/kube/start-apiserver seeds the objects and the
 * populator's RBAC).  Results are checked against what the API server holds,
 * read back as admin.
 *
 * Skipped (loudly) when not root or when the API server is not cached and
 * cannot be built; the first run pays the build (about 5 minutes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/deadline.h"
#include "lib/jsonx.h"
#include "lib/kube.h"
#include "lib/lease.h"
#include "lib/log.h"
#include "test/fake/tls_server.h"
#include "test/fake/world.h"

static const char *skip_reason;
/* Only the apiserver piece is started here; test/fake/world.c reads its env. */
static struct world kw;
static char *const dir = kw.dir;
static struct kube *admin;
static struct kube *pop;

/* ---- the world ---- */

static const char *
env(const char *key)
{
    const char *v = world_find(&kw, key);

    if (v == NULL)
        fail_msg("no %s in %s/env", key, dir);
    return v;
}

static struct kube *
open_token(const char *token, const char *ca_file)
{
    struct kube_config c = {0};
    struct kube *k = NULL;
    struct perr err = {0};
    char server[128];
    char ca[256];
    char tok[256];
    char src[] = "test";

    snprintf(server, sizeof(server), "%s", env("WORLD_KUBE_SERVER"));
    snprintf(ca, sizeof(ca), "%s", ca_file != NULL ? ca_file : "");
    snprintf(tok, sizeof(tok), "%s", token);
    c.server = server;
    c.ca_file = ca_file != NULL ? ca : NULL;
    c.token = tok;
    c.source = src;
    c.timeout_ms = 10000;
    if (kube_open(&c, &k, &err) < 0)
        fail_msg("kube_open: %s", err.msg);
    return k;
}

static struct kube *
open_opts(const struct kube_opts *o)
{
    struct kube_config *c = NULL;
    struct kube *k = NULL;
    struct perr err = {0};

    if (kube_config_load(o, &c, &err) < 0)
        fail_msg("kube_config_load: %s", err.msg);
    if (kube_open(c, &k, &err) < 0)
        fail_msg("kube_open: %s", err.msg);
    kube_config_free(c);
    return k;
}

static int
run(const char *cmd)
{
    int rc = system(cmd);

    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static int
group_setup(void **state)
{
    char cmd[1024];
    struct kube_opts o = {0};

    (void)state;
    log_init(LOGL_ERROR, LOG_FORMAT_TEXT, NULL);
    if (getuid() != 0) {
        skip_reason = "not root (building and running the API server needs apt and root)";
        return 0;
    }
    if (run("test/sim/kube/build-apiserver --print-path >/dev/null") != 0) {
        fprintf(stderr, "test_kube: building kube-apiserver first (about 5 minutes, once)\n");
        if (run("test/sim/kube/build-apiserver >&2") != 0) {
            skip_reason = "kube-apiserver is not cached and could not be built "
                          "(test/sim/kube/build-apiserver)";
            return 0;
        }
    }
    snprintf(kw.dir, sizeof(kw.dir), "/tmp/pop-kube-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(cmd, sizeof(cmd), "test/sim/kube/start-apiserver %s >%s/start.log 2>&1", dir, dir);
    if (run(cmd) != 0) {
        fprintf(stderr, "test_kube: start-apiserver failed; see %s/start.log:\n", dir);
        snprintf(cmd, sizeof(cmd), "tail -20 %s/start.log >&2", dir);
        run(cmd);
        return -1;
    }
    world_reload_env(&kw);
    admin = open_token(env("WORLD_KUBE_ADMIN_TOKEN"), env("WORLD_KUBE_CA"));
    o.kubeconfig = env("WORLD_KUBECONFIG");
    pop = open_opts(&o);
    return 0;
}

static int
group_teardown(void **state)
{
    char cmd[1024];

    (void)state;
    kube_close(admin);
    kube_close(pop);
    if (dir[0] != '\0') {
        snprintf(cmd, sizeof(cmd), "test/sim/kube/stop-apiserver %s && rm -rf %s", dir, dir);
        if (run(cmd) != 0)
            fprintf(stderr, "test_kube: stopping the API server in %s reported a problem\n", dir);
    }
    world_env_clear(&kw);
    log_reset();
    return 0;
}

/* Marks the calling test skipped when there is no API server. */
static void
need_world(void)
{
    if (skip_reason != NULL)
        skip();
}

static void
assert_msg_has(const struct perr *err, const char *needle)
{
    if (strstr(err->msg, needle) == NULL)
        fail_msg("'%s' not in '%s'", needle, err->msg);
}

/* ---- sharing the client while a read backs off (no API server needed) ---- */

/* A loopback stand-in for the API server: reads of PVC 'busy' answer 503,
 * writes of lease 'busy' answer 503, every other request 200 with an object. */
static void
busy_handler(void *arg, const struct tls_request *req, struct tls_reply *reply)
{
    (void)arg;
    reply->content_type = "application/json";
    if (strstr(req->target, "/busy") != NULL) {
        reply->status = 503;
        reply->body = "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"etcd is "
                      "busy\",\"reason\":\"ServiceUnavailable\",\"code\":503}";
        return;
    }
    reply->body = "{\"kind\":\"Lease\",\"metadata\":{\"name\":\"esxi-lock-h-slot-0\"}}";
}

struct busy_reader {
    struct kube *k;
    struct perr err;
    int rc;
    atomic_bool done;
    int64_t ms;
};

static void *
busy_read(void *arg)
{
    struct busy_reader *b = arg;
    int64_t t0 = mono_now_ms();
    json_t *o = NULL;

    b->rc = kube_get(b->k, &kube_res_pvc, "default", "busy", &o, &b->err);
    b->ms = mono_now_ms() - t0;
    json_decref(o);
    atomic_store(&b->done, true);
    return NULL;
}

/* The lease renewer's update must not wait for another thread's retries: the
 * client's lock covers one exchange, never the wait before the next try. */
static void
test_renewal_not_blocked_by_backoff(void **state)
{
    struct tls_server_opts so = {.handler = busy_handler, .plain = true};
    struct tls_server *srv = tls_server_start(&so);
    struct kube_config c = {0};
    struct busy_reader b = {0};
    struct kube *k = NULL;
    struct perr err = {0};
    json_t *lease =
        json_pack("{s:s,s:{s:s}}", "kind", "Lease", "metadata", "name", "esxi-lock-h-slot-0");
    json_t *got = NULL;
    pthread_t th;
    int64_t t0;
    int64_t put_ms;
    size_t n;
    size_t gets = 0;
    size_t put_at = 0;
    char server[128];
    char src[] = "loopback";

    (void)state;
    assert_non_null(srv);
    assert_non_null(lease);
    snprintf(server, sizeof(server), "%s", tls_server_url(srv));
    c.server = server;
    c.source = src;
    c.timeout_ms = 10000;
    if (kube_open(&c, &k, &err) < 0)
        fail_msg("kube_open: %s", err.msg);
    b.k = k;
    assert_int_equal(pthread_create(&th, NULL, busy_read, &b), 0);
    /* Once the first 503 is in, the reader waits at least 160 ms (200 ms with
     * 20 % jitter) before its second try. */
    for (int i = 0; i < 400 && tls_server_nrequests(srv) < 1; i++)
        wait_ms(5, NULL, NULL);
    assert_true(tls_server_nrequests(srv) >= 1);
    wait_ms(20, NULL, NULL);
    t0 = mono_now_ms();
    assert_int_equal(kube_update_within(k, &kube_res_lease, "openshift-mtv", "esxi-lock-h-slot-0",
                                        lease, 5000, &got, &err),
                     0);
    put_ms = mono_now_ms() - t0;
    /* The renewal finished while the reader was still backing off. */
    assert_false(atomic_load(&b.done));
    assert_true(put_ms < 150);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(b.rc, -1);
    assert_int_equal(b.err.code, PERR_HTTP);
    assert_int_equal(b.err.http_status, 503);
    assert_msg_has(&b.err, "get persistentvolumeclaims 'busy' in namespace 'default': HTTP 503: "
                           "etcd is busy");
    assert_true(b.ms >= 400); /* two waits: 200 and 400 ms, less jitter */
    /* Three tries of the read, as before the client moved onto rest, and the
     * write in between them. */
    n = tls_server_nrequests(srv);
    for (size_t i = 0; i < n; i++) {
        const struct tls_request *r = tls_server_request(srv, i);

        if (strcmp(r->method, "GET") == 0)
            gets++;
        else if (strcmp(r->method, "PUT") == 0)
            put_at = i;
    }
    assert_int_equal(n, 4);
    assert_int_equal(gets, 3);
    assert_true(put_at >= 1 && put_at <= 2);
    assert_string_equal(tls_server_request(srv, put_at)->target,
                        "/apis/coordination.k8s.io/v1/namespaces/openshift-mtv/leases/"
                        "esxi-lock-h-slot-0");
    json_decref(got);
    /* Writes are not retried: one 503, one request. */
    assert_int_equal(
        kube_update_within(k, &kube_res_lease, "openshift-mtv", "busy", lease, 5000, NULL, &err),
        -1);
    assert_int_equal(err.http_status, 503);
    assert_msg_has(&err, "update leases 'busy' in namespace 'openshift-mtv': HTTP 503");
    assert_int_equal(tls_server_nrequests(srv), 5);
    json_decref(lease);
    kube_close(k);
    tls_server_stop(srv);
}

/* ---- PV lookup ---- */

static void
check_ontap_pv(const struct kube_pv *pv)
{
    assert_string_equal(pv->name, env("WORLD_KUBE_PV_NAME"));
    assert_string_equal(pv->csi_driver, env("WORLD_KUBE_CSI_DRIVER"));
    assert_string_equal(pv->volume_handle, env("WORLD_KUBE_VOLUME_HANDLE"));
    assert_true(pv->nattrs >= 1);
    /* Every "k=v" the world seeded is there. */
    {
        char attrs[1024];
        char *save = NULL;

        snprintf(attrs, sizeof(attrs), "%s", env("WORLD_KUBE_ATTRS"));
        for (char *kv = strtok_r(attrs, ",", &save); kv != NULL; kv = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(kv, '=');

            assert_non_null(eq);
            *eq = '\0';
            assert_non_null(kube_pv_attr(pv, kv));
            assert_string_equal(kube_pv_attr(pv, kv), eq + 1);
        }
    }
}

static void
test_lookup_via_prime_pvc(void **state)
{
    struct kube_pv *pv = NULL;
    struct perr err = {0};

    (void)state;
    need_world();
    if (kube_lookup_pv(pop, env("WORLD_KUBE_NAMESPACE"), env("WORLD_KUBE_OWNER_NAME"), &pv, &err) <
        0)
        fail_msg("%s", err.msg);
    check_ontap_pv(pv);
    kube_pv_free(pv);
}

static void
test_lookup_direct(void **state)
{
    struct kube_pv *pv = NULL;
    struct perr err = {0};

    (void)state;
    need_world();
    if (kube_lookup_pv(pop, "default", "pvc-direct", &pv, &err) < 0)
        fail_msg("%s", err.msg);
    check_ontap_pv(pv);
    kube_pv_free(pv);
}

static void
test_lookup_errors(void **state)
{
    struct kube_pv *pv = NULL;
    struct perr err = {0};

    (void)state;
    need_world();
    assert_int_equal(kube_lookup_pv(pop, "default", "pvc-missing-pv", &pv, &err), -1);
    assert_null(pv);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_msg_has(&err, "PV lookup for PVC 'default/pvc-missing-pv'");
    assert_msg_has(&err, "persistentvolumes 'pv-does-not-exist'");
    perr_clear(&err);

    assert_int_equal(kube_lookup_pv(pop, "default", "pvc-nfs", &pv, &err), -1);
    assert_int_equal(err.code, PERR_CONFIG);
    assert_msg_has(&err, "PV 'pv-nfs-1' is not a CSI volume");
    perr_clear(&err);

    assert_int_equal(kube_lookup_pv(pop, "default", "pvc-no-prime", &pv, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_msg_has(&err, "prime PVC is missing");
    assert_msg_has(&err, "persistentvolumeclaims 'prime-");
    perr_clear(&err);

    assert_int_equal(kube_lookup_pv(pop, "default", "pvc-prime-unbound", &pv, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_msg_has(&err, "the volume name is not found on the prime volume claim 'default/prime-");
    perr_clear(&err);

    assert_int_equal(kube_lookup_pv(pop, "default", "no-such-pvc", &pv, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_int_equal(err.http_status, 404);
    assert_msg_has(&err, "persistentvolumeclaims 'no-such-pvc' in namespace 'default'");
}

static void
test_forbidden_and_unauthorized(void **state)
{
    struct kube *k;
    struct kube_pv *pv = NULL;
    struct lease *l = NULL;
    struct perr err = {0};

    (void)state;
    need_world();
    /* Authenticated, no RBAC. */
    k = open_token(env("WORLD_KUBE_NOBODY_TOKEN"), env("WORLD_KUBE_CA"));
    assert_int_equal(kube_lookup_pv(k, "default", "pvc-1", &pv, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_int_equal(err.http_status, 403);
    assert_msg_has(&err, "get persistentvolumeclaims 'pvc-1' in namespace 'default'");
    assert_msg_has(&err, "populator-pvc-reader");
    assert_null(strstr(err.msg, env("WORLD_KUBE_NOBODY_TOKEN")));
    perr_clear(&err);
    /* The lease pre-check fails fast rather than waiting. */
    assert_int_equal(
        lease_acquire(k, "openshift-mtv", "hostsystem-host-403", 5, "h", NULL, &l, &err), -1);
    assert_null(l);
    assert_int_equal(err.code, PERR_AUTH);
    assert_msg_has(&err, "leases");
    assert_msg_has(&err, "populator-lease-reader");
    perr_clear(&err);
    kube_close(k);

    /* The populator has no lease rights outside openshift-mtv and its namespace. */
    assert_int_equal(
        lease_acquire(pop, "kube-system", "hostsystem-host-403", 5, "h", NULL, &l, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_msg_has(&err, "HOST_LEASE_NAMESPACE");
    perr_clear(&err);
    /* Only get is granted on PVs. */
    assert_int_equal(kube_delete(pop, &kube_res_pv, NULL, "pv-nfs-1", &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_msg_has(&err, "'delete' on persistentvolumes (cluster-wide)");
    perr_clear(&err);

    /* A wrong token. */
    k = open_token("wrong-token-0123456789", env("WORLD_KUBE_CA"));
    assert_int_equal(kube_get(k, &kube_res_pvc, "default", "pvc-1", NULL, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_int_equal(err.http_status, 401);
    assert_msg_has(&err, "401 Unauthorized");
    kube_close(k);
}

static void
test_tls_needs_the_ca(void **state)
{
    struct kube *k;
    struct perr err = {0};

    (void)state;
    need_world();
    k = open_token(env("WORLD_KUBE_POPULATOR_TOKEN"), NULL); /* system store */
    assert_int_equal(kube_get(k, &kube_res_pvc, "default", "pvc-1", NULL, &err), -1);
    assert_int_equal(err.code, PERR_TLS);
    assert_msg_has(&err, "certificate-authority");
    kube_close(k);
}

static void
test_client_certificate_kubeconfig(void **state)
{
    struct kube_opts o = {0};
    struct kube *k;
    struct kube_pv *pv = NULL;
    struct perr err = {0};

    (void)state;
    need_world();
    o.kubeconfig = env("WORLD_KUBECONFIG_CERT");
    k = open_opts(&o);
    if (kube_lookup_pv(k, "default", "pvc-1", &pv, &err) < 0)
        fail_msg("%s", err.msg);
    check_ontap_pv(pv);
    kube_pv_free(pv);
    kube_close(k);
}

static void
test_in_cluster(void **state)
{
    struct kube_opts o = {0};
    struct kube_config *c = NULL;
    struct kube *k;
    struct kube_pv *pv = NULL;
    struct perr err = {0};
    char e_dir[300];
    char e_host[100];
    char e_port[100];
    const char *envp[4];

    (void)state;
    need_world();
    snprintf(e_dir, sizeof(e_dir), "KUBE_INCLUSTER_DIR=%s", env("WORLD_KUBE_INCLUSTER_DIR"));
    snprintf(e_host, sizeof(e_host), "KUBERNETES_SERVICE_HOST=%s", env("WORLD_KUBE_SERVICE_HOST"));
    snprintf(e_port, sizeof(e_port), "KUBERNETES_SERVICE_PORT=%s", env("WORLD_KUBE_SERVICE_PORT"));
    envp[0] = e_dir;
    envp[1] = e_host;
    envp[2] = e_port;
    envp[3] = NULL;
    o.envp = envp;
    assert_int_equal(kube_config_load(&o, &c, &err), 0);
    assert_string_equal(c->server, env("WORLD_KUBE_SERVER"));
    assert_string_equal(c->namespace, env("WORLD_KUBE_NAMESPACE"));
    kube_config_free(c);
    k = open_opts(&o);
    if (kube_lookup_pv(k, "default", "pvc-1", &pv, &err) < 0)
        fail_msg("%s", err.msg);
    check_ontap_pv(pv);
    kube_pv_free(pv);
    kube_close(k);
}

/* ---- leases ---- */

static json_t *
admin_lease(const char *name)
{
    json_t *o = NULL;
    struct perr err = {0};

    if (kube_get(admin, &kube_res_lease, "openshift-mtv", name, &o, &err) < 0)
        fail_msg("%s", err.msg);
    return o;
}

static const char *
spec_str(json_t *o, const char *key)
{
    return jsonx_string_or(json_object_get(o, "spec"), key, "");
}

static json_int_t
spec_int(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(o, "spec"), key));
}

static struct lease *
acquire(struct kube *k, const char *host, double dur, const char *holder, int slot)
{
    struct lease *l = NULL;
    struct perr err = {0};
    struct deadline d = deadline_in_ms(30000);

    if (lease_acquire(k, "openshift-mtv", host, dur, holder, &d, &l, &err) < 0)
        fail_msg("%s: %s", holder, err.msg);
    assert_int_equal(lease_slot(l), slot);
    return l;
}

static void
release(struct lease *l)
{
    struct perr err = {0};

    if (lease_release(l, &err) < 0)
        fail_msg("%s", err.msg);
}

struct waiter {
    struct kube *k;
    const char *host;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int busy_calls;
    bool released; /* set by the main thread before it releases */
    bool released_before_acquired;
    struct lease *lease;
    struct perr err;
    int rc;
};

static void
on_busy(void *arg, const char *holders)
{
    struct waiter *w = arg;

    (void)holders;
    pthread_mutex_lock(&w->mu);
    w->busy_calls++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void *
waiter_main(void *arg)
{
    struct waiter *w = arg;
    struct lease_opts o = {0};
    struct deadline d = deadline_in_ms(60000);

    o.namespace = "openshift-mtv";
    o.host_id = w->host;
    o.duration_s = 6;
    o.holder = "holder-c";
    o.on_busy = on_busy;
    o.on_busy_arg = w;
    w->rc = lease_acquire_opts(w->k, &o, &d, &w->lease, &w->err);
    pthread_mutex_lock(&w->mu);
    w->released_before_acquired = w->released;
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void
test_lease_slots_and_waiting(void **state)
{
    const char *host = "hostsystem-host-10";
    struct lease *a;
    struct lease *b;
    struct waiter w;
    pthread_t t;
    json_t *o;

    (void)state;
    need_world();
    a = acquire(pop, host, 6, "holder-a", 0);
    b = acquire(pop, host, 6, "holder-b", 1);
    assert_string_equal(lease_name(a), "esxi-lock-hostsystem-host-10-slot-0");
    assert_string_equal(lease_name(b), "esxi-lock-hostsystem-host-10-slot-1");
    o = admin_lease(lease_name(b));
    assert_string_equal(spec_str(o, "holderIdentity"), "holder-b");
    assert_int_equal(spec_int(o, "leaseDurationSeconds"), 6);
    json_decref(o);

    /* A third holder waits until a slot is given back. */
    memset(&w, 0, sizeof(w));
    w.k = pop;
    w.host = host;
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    assert_int_equal(pthread_create(&t, NULL, waiter_main, &w), 0);
    pthread_mutex_lock(&w.mu);
    {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 30;
        while (w.busy_calls == 0 && pthread_cond_timedwait(&w.cv, &w.mu, &ts) == 0)
            ;
    }
    assert_true(w.busy_calls > 0);
    w.released = true;
    pthread_mutex_unlock(&w.mu);
    {
        /* Long enough for a polling waiter to have read the slots again a few
         * times (its first wait is 250 ms), which the check below catches. */
        struct perr e = {0};

        assert_int_equal(wait_ms(1200, NULL, &e), 0);
    }
    release(a);
    pthread_join(t, NULL);
    if (w.rc < 0)
        fail_msg("holder-c: %s", w.err.msg);
    assert_true(w.released_before_acquired);
    /* Woken by the release itself (a watch), not by reading the slots again
     * on a timer: one round of reads, then the watch took the freed slot.  The
     * holders' renewals in between (every 2 s) do not wake it either. */
    assert_int_equal(w.busy_calls, 1);
    assert_int_equal(lease_slot(w.lease), 0);
    o = admin_lease(lease_name(w.lease));
    assert_string_equal(spec_str(o, "holderIdentity"), "holder-c");
    json_decref(o);
    assert_false(lease_lost(b));
    assert_false(lease_lost(w.lease));
    release(b);
    release(w.lease);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
}

static void
test_lease_renewal(void **state)
{
    struct lease *l;
    json_t *o;
    char first[64];
    char now[64] = "";
    struct deadline d = deadline_in_ms(15000);
    struct perr err = {0};

    (void)state;
    need_world();
    l = acquire(pop, "hostsystem-host-11", 3, "holder-r", 0); /* renewed every second */
    o = admin_lease(lease_name(l));
    snprintf(first, sizeof(first), "%s", spec_str(o, "renewTime"));
    assert_string_equal(spec_str(o, "acquireTime"), first);
    json_decref(o);
    /* Two renewals observed; a bounded poll, not a timing assertion. */
    for (int seen = 0; seen < 2 && !deadline_expired(&d);) {
        char prev[64];

        snprintf(prev, sizeof(prev), "%s", now[0] != '\0' ? now : first);
        assert_int_equal(wait_ms(200, &d, &err), 0);
        o = admin_lease(lease_name(l));
        snprintf(now, sizeof(now), "%s", spec_str(o, "renewTime"));
        assert_string_equal(spec_str(o, "holderIdentity"), "holder-r");
        assert_string_equal(spec_str(o, "acquireTime"), first);
        json_decref(o);
        if (strcmp(now, prev) != 0) {
            long long a, b;

            assert_int_equal(kube_time_parse(prev, &a), 0);
            assert_int_equal(kube_time_parse(now, &b), 0);
            assert_true(b > a);
            seen++;
        }
    }
    assert_string_not_equal(now, first);
    assert_false(lease_lost(l));
    assert_int_equal(lease_check(l, &err), 0);
    release(l);
}

static void
test_lease_release_frees_at_once(void **state)
{
    struct lease *l;
    struct lease_opts o = {0};
    struct waiter w;
    struct perr err = {0};
    struct deadline d = deadline_in_ms(20000);
    json_t *obj;
    long long renew;

    (void)state;
    need_world();
    /* A long duration: only the release can make the slot free in time. */
    l = acquire(pop, "hostsystem-host-12", 300, "holder-x", 0);
    release(l);
    obj = admin_lease("esxi-lock-hostsystem-host-12-slot-0");
    assert_null(json_object_get(json_object_get(obj, "spec"), "holderIdentity"));
    assert_int_equal(spec_int(obj, "leaseDurationSeconds"), 1);
    assert_int_equal(kube_time_parse(spec_str(obj, "renewTime"), &renew), 0);
    assert_true(renew + 1000 < (long long)time(NULL) * 1000); /* expired for the Go populator too */
    json_decref(obj);

    memset(&w, 0, sizeof(w));
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    o.namespace = "openshift-mtv";
    o.host_id = "hostsystem-host-12";
    o.duration_s = 300;
    o.holder = "holder-y";
    o.on_busy = on_busy;
    o.on_busy_arg = &w;
    if (lease_acquire_opts(pop, &o, &d, &l, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(lease_slot(l), 0);
    assert_int_equal(w.busy_calls, 0); /* never had to wait */
    obj = admin_lease(lease_name(l));
    assert_string_equal(spec_str(obj, "holderIdentity"), "holder-y");
    assert_int_equal(spec_int(obj, "leaseDurationSeconds"), 300);
    assert_int_equal(spec_int(obj, "leaseTransitions"), 1);
    json_decref(obj);
    release(l);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
}

static void
test_lease_lost(void **state)
{
    struct lease *l;
    struct perr err = {0};
    struct deadline d = deadline_in_ms(20000);

    (void)state;
    need_world();
    l = acquire(pop, "hostsystem-host-13", 3, "holder-l", 0);
    /* The populator may not delete leases; the admin can. */
    assert_int_equal(kube_delete(pop, &kube_res_lease, "openshift-mtv", lease_name(l), &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    perr_clear(&err);
    if (kube_delete(admin, &kube_res_lease, "openshift-mtv", lease_name(l), &err) < 0)
        fail_msg("%s", err.msg);
    while (!lease_lost(l) && !deadline_expired(&d))
        assert_int_equal(wait_ms(100, &d, &err), 0);
    assert_true(lease_lost(l));
    assert_int_equal(lease_check(l, &err), -1);
    assert_int_equal(err.code, PERR_REMOTE);
    assert_msg_has(&err, "host lease 'openshift-mtv/esxi-lock-hostsystem-host-13-slot-0' lost");
    assert_msg_has(&err, "deleted");
    perr_clear(&err);
    /* Nothing left to give back. */
    assert_int_equal(lease_release(l, &err), 0);
}

static void
put_lease(const char *name, const char *holder, long long renew_ms, int dur)
{
    char ts[40];
    json_t *o;
    struct perr err = {0};

    kube_time_format(renew_ms, ts, sizeof(ts));
    o = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:i, s:s, s:s, s:i}}", "apiVersion",
                  "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", name, "spec",
                  "holderIdentity", holder, "leaseDurationSeconds", dur, "acquireTime", ts,
                  "renewTime", ts, "leaseTransitions", 4);
    assert_non_null(o);
    if (kube_create(admin, &kube_res_lease, "openshift-mtv", o, NULL, &err) < 0)
        fail_msg("%s", err.msg);
    json_decref(o);
}

static void
test_lease_expired_taken_over(void **state)
{
    struct lease *l;
    json_t *o;
    long long now = (long long)time(NULL) * 1000;

    (void)state;
    need_world();
    /* What a Go populator leaves behind: never released, expired 50 s ago. */
    put_lease("esxi-lock-hostsystem-host-14-slot-0", "go-populator-pod", now - 60000, 10);
    put_lease("esxi-lock-hostsystem-host-14-slot-1", "busy-pod", now, 3600);
    l = acquire(pop, "hostsystem-host-14", 10, "holder-t", 0);
    o = admin_lease(lease_name(l));
    assert_string_equal(spec_str(o, "holderIdentity"), "holder-t");
    assert_int_equal(spec_int(o, "leaseTransitions"), 5);
    json_decref(o);
    release(l);
}

static void
cancel_on_busy(void *arg, const char *holders)
{
    int *calls = arg;

    (*calls)++;
    assert_non_null(strstr(holders, "'busy-1'"));
    cancel_request();
}

static void
test_lease_timeout_and_cancel(void **state)
{
    struct lease *l = NULL;
    struct lease_opts o = {0};
    struct perr err = {0};
    struct deadline d = deadline_in_ms(1500);
    long long now = (long long)time(NULL) * 1000;
    int calls = 0;

    (void)state;
    need_world();
    put_lease("esxi-lock-hostsystem-host-15-slot-0", "busy-0", now, 3600);
    put_lease("esxi-lock-hostsystem-host-15-slot-1", "busy-1", now, 3600);
    assert_int_equal(
        lease_acquire(pop, "openshift-mtv", "hostsystem-host-15", 10, "holder-w", &d, &l, &err),
        -1);
    assert_null(l);
    assert_int_equal(err.code, PERR_TIMEOUT);
    assert_msg_has(&err, "all 2 slots");
    assert_msg_has(&err, "'busy-0'");
    assert_msg_has(&err, "'busy-1'");
    perr_clear(&err);

    /* SIGTERM while waiting. */
    o.namespace = "openshift-mtv";
    o.host_id = "hostsystem-host-15";
    o.duration_s = 10;
    o.on_busy = cancel_on_busy;
    o.on_busy_arg = &calls;
    assert_int_equal(lease_acquire_opts(pop, &o, NULL, &l, &err), -1);
    cancel_reset();
    assert_int_equal(err.code, PERR_CANCELLED);
    assert_int_equal(calls, 1);
}

static void
test_lease_bad_input(void **state)
{
    struct lease *l = NULL;
    struct perr err = {0};

    (void)state;
    need_world();
    assert_int_equal(lease_acquire(pop, "openshift-mtv", "Host_1", 10, NULL, NULL, &l, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_msg_has(&err, "DNS-1123");
    perr_clear(&err);
    assert_int_equal(lease_acquire(pop, "openshift-mtv", "host-1", 0.5, NULL, NULL, &l, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    perr_clear(&err);
    /* A namespace that does not exist (admin may create leases anywhere). */
    assert_int_equal(lease_acquire(admin, "no-such-ns", "host-1", 10, NULL, NULL, &l, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_msg_has(&err, "namespace 'no-such-ns'");
    perr_clear(&err);
    /* The default holder is this host's name. */
    {
        char host[256] = "";
        json_t *o;

        gethostname(host, sizeof(host) - 1);
        assert_int_equal(lease_acquire(pop, "openshift-mtv", "host-16", 10, NULL, NULL, &l, &err),
                         0);
        o = admin_lease(lease_name(l));
        assert_string_equal(spec_str(o, "holderIdentity"), host);
        json_decref(o);
        release(l);
    }
    /* Leases in the target namespace are granted too. */
    assert_int_equal(lease_acquire(pop, "default", "host-16", 10, "h", NULL, &l, &err), 0);
    release(l);
}

/* What a watch's pick saw. */
struct picks {
    const char *want; /* the lease name to take */
    int seen;         /* events offered */
    int declined;
};

static bool
pick_named(void *arg, json_t *ev)
{
    struct picks *p = arg;
    const char *name =
        jsonx_string_or(json_object_get(json_object_get(ev, "object"), "metadata"), "name", "");

    p->seen++;
    if (p->want != NULL && strcmp(name, p->want) == 0)
        return true;
    p->declined++;
    return false;
}

static char *
admin_create_lease(const char *name)
{
    json_t *obj = json_pack("{s:{s:s}, s:{s:s}}", "metadata", "name", name, "spec",
                            "holderIdentity", "someone");
    json_t *out = NULL;
    struct perr err = {0};
    char *rv;

    assert_non_null(obj);
    if (kube_create(admin, &kube_res_lease, "openshift-mtv", obj, &out, &err) < 0)
        fail_msg("%s", err.msg);
    rv = strdup(jsonx_string_or(json_object_get(out, "metadata"), "resourceVersion", ""));
    assert_non_null(rv);
    json_decref(obj);
    json_decref(out);
    return rv;
}

/* One watch request passes over the changes its caller declines, however
 * many come in one piece, and ends with the first it takes; declining all
 * of them is a watch that saw nothing, not a broken reply. */
static void
test_watch_passes_over_declined_events(void **state)
{
    struct picks p = {.want = "watch-d"};
    struct perr err = {0};
    json_t *ev = NULL;
    char *rv;

    (void)state;
    need_world();
    rv = admin_create_lease("watch-a");
    free(admin_create_lease("watch-b"));
    free(admin_create_lease("watch-c"));
    free(admin_create_lease("watch-d"));
    free(admin_create_lease("watch-e"));
    assert_int_equal(
        kube_watch(pop, &kube_res_lease, "openshift-mtv", rv, 10000, pick_named, &p, &ev, &err), 1);
    assert_string_equal(jsonx_string_or(ev, "type", ""), "ADDED");
    assert_string_equal(
        jsonx_string_or(json_object_get(json_object_get(ev, "object"), "metadata"), "name", ""),
        "watch-d");
    assert_int_equal(p.seen, 3);
    assert_int_equal(p.declined, 2);
    json_decref(ev);
    ev = NULL;

    memset(&p, 0, sizeof(p));
    assert_int_equal(
        kube_watch(pop, &kube_res_lease, "openshift-mtv", rv, 1500, pick_named, &p, &ev, &err), 0);
    assert_null(ev);
    assert_int_equal(p.declined, 4);
    assert_false(perr_failed(&err));
    free(rv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_via_prime_pvc),
        cmocka_unit_test(test_lookup_direct),
        cmocka_unit_test(test_lookup_errors),
        cmocka_unit_test(test_forbidden_and_unauthorized),
        cmocka_unit_test(test_tls_needs_the_ca),
        cmocka_unit_test(test_client_certificate_kubeconfig),
        cmocka_unit_test(test_in_cluster),
        cmocka_unit_test(test_watch_passes_over_declined_events),
        cmocka_unit_test(test_lease_slots_and_waiting),
        cmocka_unit_test(test_lease_renewal),
        cmocka_unit_test(test_lease_release_frees_at_once),
        cmocka_unit_test(test_lease_lost),
        cmocka_unit_test(test_lease_expired_taken_over),
        cmocka_unit_test(test_lease_timeout_and_cancel),
        cmocka_unit_test(test_lease_bad_input),
    };
    const struct CMUnitTest loopback[] = {
        cmocka_unit_test(test_renewal_not_blocked_by_backoff),
    };
    int rc;

    log_init(LOGL_ERROR, LOG_FORMAT_TEXT, NULL);
    rc = cmocka_run_group_tests_name("loopback", loopback, NULL, NULL);
    rc += cmocka_run_group_tests(tests, group_setup, group_teardown);

    if (skip_reason != NULL)
        fprintf(stderr, "test_kube: SKIPPED: %s\n", skip_reason);
    return rc;
}
