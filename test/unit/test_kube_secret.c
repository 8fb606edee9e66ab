/*
 * The Secret client (lib/kube_secret.h) and FlashSystem's token cache on top
 * of it, against a small Secret store served over loopback HTTP: GET and PUT
 * of /api/v1/namespaces/<ns>/secrets/<name> with resourceVersion checks, a
 * namespace whose Secrets answer 403 as the API server does without RBAC,
 * and 404 for a Secret that does not exist.  The array side of the driver is
 * the scripted transport.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "lib/kube.h"
#include "lib/kube_secret.h"
#include "storage/storage.h"
#include "test/fake/fake_transport.h"
#include "test/fake/tls_server.h"

#define NS_OK     "openshift-mtv"
#define NS_DENIED "default"
#define SECRET    "storage-array-secret"
#define HOST      "fs9500.example.com"
#define KEY       "flashsystem-token-fs9500-example-com"
#define R         "/rest/v1"
#define UID       "6005076810810261F800000000000A01"
#define VDISK     "[{\"id\":\"7\",\"name\":\"pvc-1\",\"vdisk_UID\":\"" UID "\",\"mdisk_grp_id\":\"0\"}]"
#define POOL0     "{\"id\":\"0\",\"name\":\"Pool0\",\"vdisk_protection_enabled\":\"no\"}"

/* The store: "ns/name" -> Secret object, with a resourceVersion counter. */
static struct {
    pthread_mutex_t lock;
    json_t *secrets;
    long rv;
    int puts;
} store = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct tls_server *srv;
static struct kube *kube;

static void
status_reply(struct tls_reply *reply, int code, const char *reason, const char *msg)
{
    json_t *st = json_pack("{s:s,s:s,s:s,s:s,s:i}", "kind", "Status", "status", "Failure",
                           "message", msg, "reason", reason, "code", code);

    reply->status = code;
    reply->content_type = "application/json";
    reply->body_alloc = json_dumps(st, JSON_COMPACT);
    json_decref(st);
}

static void
store_handler(void *arg, const struct tls_request *req, struct tls_reply *reply)
{
    char ns[64];
    char name[64];
    char key[160];
    json_t *cur;

    (void)arg;
    if (sscanf(req->target, "/api/v1/namespaces/%63[^/]/secrets/%63s", ns, name) != 2) {
        status_reply(reply, 404, "NotFound", "the server could not find the requested resource");
        return;
    }
    if (strcmp(ns, NS_DENIED) == 0) {
        status_reply(reply, 403, "Forbidden",
                     "secrets \"storage-array-secret\" is forbidden: User "
                     "\"system:serviceaccount:default:populator\" cannot get resource "
                     "\"secrets\" in API group \"\" in the namespace \"default\"");
        return;
    }
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    pthread_mutex_lock(&store.lock);
    cur = json_object_get(store.secrets, key);
    if (cur == NULL) {
        status_reply(reply, 404, "NotFound", "secrets \"x\" not found");
    } else if (strcmp(req->method, "GET") == 0) {
        reply->content_type = "application/json";
        reply->body_alloc = json_dumps(cur, JSON_COMPACT);
    } else if (strcmp(req->method, "PUT") == 0) {
        json_t *obj = json_loads(req->body, 0, NULL);
        const char *rv =
            json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
        const char *now =
            json_string_value(json_object_get(json_object_get(cur, "metadata"), "resourceVersion"));
        char next[32];

        store.puts++;
        if (obj == NULL || rv == NULL || strcmp(rv, now) != 0) {
            status_reply(reply, 409, "Conflict",
                         "Operation cannot be fulfilled on secrets \"storage-array-secret\": the "
                         "object has been modified; please apply your changes to the latest "
                         "version and try again");
            json_decref(obj);
        } else {
            snprintf(next, sizeof(next), "%ld", ++store.rv);
            json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion",
                                json_string(next));
            json_object_set_new(store.secrets, key, obj);
            reply->content_type = "application/json";
            reply->body_alloc = json_dumps(obj, JSON_COMPACT);
        }
    } else {
        status_reply(reply, 405, "MethodNotAllowed", "method not allowed");
    }
    pthread_mutex_unlock(&store.lock);
}

static char *
b64(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(4 * ((n + 2) / 3) + 1);

    assert_non_null(out);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
    return out;
}

/* Puts Secret ns/name with .data {key: base64(value)} (no data when key is NULL). */
static void
store_put(const char *ns, const char *name, const char *key, const char *value)
{
    char k[160];
    char rv[32];
    json_t *data = json_object();
    json_t *sec;

    if (key != NULL) {
        char *enc = b64(value);

        json_object_set_new(data, key, json_string(enc));
        free(enc);
    }
    json_object_set_new(data, "other-key", json_string("a2VlcA==")); /* "keep" */
    pthread_mutex_lock(&store.lock);
    snprintf(rv, sizeof(rv), "%ld", ++store.rv);
    sec = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:s,s:o}", "apiVersion", "v1", "kind", "Secret",
                    "metadata", "name", name, "namespace", ns, "resourceVersion", rv, "type",
                    "Opaque", "data", data);
    snprintf(k, sizeof(k), "%s/%s", ns, name);
    json_object_set_new(store.secrets, k, sec);
    store.puts = 0;
    pthread_mutex_unlock(&store.lock);
}

/* The decoded value of data[key] of ns/SECRET as stored, or NULL. */
static char *
store_value(const char *key)
{
    char k[160];
    const char *enc;
    char *out = NULL;

    snprintf(k, sizeof(k), "%s/%s", NS_OK, SECRET);
    pthread_mutex_lock(&store.lock);
    enc = json_string_value(
        json_object_get(json_object_get(json_object_get(store.secrets, k), "data"), key));
    if (enc != NULL) {
        size_t n = strlen(enc);

        out = calloc(1, n + 1);
        assert_non_null(out);
        assert_true(EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)enc, (int)n) >= 0);
    }
    pthread_mutex_unlock(&store.lock);
    return out;
}

/* ---- the Secret client ---- */

static void
test_get_key(void **state)
{
    struct perr err = {0};
    char *v = NULL;

    (void)state;
    store_put(NS_OK, SECRET, "k1", "{\"token\":\"t\"}");
    assert_int_equal(kube_secret_get_key(kube, NS_OK, SECRET, "k1", &v, &err), 0);
    assert_string_equal(v, "{\"token\":\"t\"}");
    free(v);
    /* A key the Secret lacks: no value, no error. */
    assert_int_equal(kube_secret_get_key(kube, NS_OK, SECRET, "k2", &v, &err), 0);
    assert_null(v);
    /* A Secret that does not exist. */
    assert_int_equal(kube_secret_get_key(kube, NS_OK, "nope", "k1", &v, &err), -1);
    assert_null(v);
    assert_int_equal(err.code, PERR_NOT_FOUND);
}

static void
test_set_key_keeps_the_others(void **state)
{
    struct perr err = {0};
    char *v = NULL;
    char k[160];
    const char *other;

    (void)state;
    store_put(NS_OK, SECRET, NULL, NULL);
    assert_int_equal(kube_secret_set_key(kube, NS_OK, SECRET, "k1", "value-1", &err), 0);
    v = store_value("k1");
    assert_string_equal(v, "value-1");
    free(v);
    snprintf(k, sizeof(k), "%s/%s", NS_OK, SECRET);
    other = json_string_value(
        json_object_get(json_object_get(json_object_get(store.secrets, k), "data"), "other-key"));
    assert_string_equal(other, "a2VlcA==");
    /* And back through the client, after a second write. */
    assert_int_equal(kube_secret_set_key(kube, NS_OK, SECRET, "k1", "value-2", &err), 0);
    assert_int_equal(kube_secret_get_key(kube, NS_OK, SECRET, "k1", &v, &err), 0);
    assert_string_equal(v, "value-2");
    free(v);
    assert_int_equal(store.puts, 2);
    /* The Secret is never created. */
    assert_int_equal(kube_secret_set_key(kube, NS_OK, "nope", "k1", "v", &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
}

static void
test_forbidden(void **state)
{
    struct perr err = {0};
    char *v = NULL;

    (void)state;
    assert_int_equal(kube_secret_get_key(kube, NS_DENIED, SECRET, "k1", &v, &err), -1);
    assert_null(v);
    assert_int_equal(err.code, PERR_AUTH);
    assert_non_null(strstr(err.msg, "forbidden"));
    memset(&err, 0, sizeof(err));
    assert_int_equal(kube_secret_set_key(kube, NS_DENIED, SECRET, "k1", "secret-value", &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_null(strstr(err.msg, "secret-value"));
}

static void
test_malformed_value(void **state)
{
    char k[160];
    struct perr err = {0};
    char *v = NULL;

    (void)state;
    store_put(NS_OK, SECRET, NULL, NULL);
    snprintf(k, sizeof(k), "%s/%s", NS_OK, SECRET);
    pthread_mutex_lock(&store.lock);
    json_object_set_new(json_object_get(json_object_get(store.secrets, k), "data"), "k1",
                        json_string("%%% not base64 %%%"));
    pthread_mutex_unlock(&store.lock);
    assert_int_equal(kube_secret_get_key(kube, NS_OK, SECRET, "k1", &v, &err), -1);
    assert_null(v);
    assert_int_not_equal(err.code, PERR_OK);
    printf("malformed value: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "k1"));
}

/* ---- FlashSystem's token cache ---- */

#define AUTH(tok)                                                                                  \
    {                                                                                              \
        "POST", R "/auth", NULL, "X-Auth-Username: superuser", 200, "{\"token\":\"" tok "\"}",     \
            NULL, 0                                                                                \
    }
#define LSVDISK(hdr, status, body)                                                                 \
    {                                                                                              \
        "POST", R "/lsvdisk", "{\"filtervalue\":\"vdisk_UID=" UID "\"}", hdr, status, body, NULL,  \
            0                                                                                      \
    }
#define LSPOOL(hdr)                                                                                \
    {                                                                                              \
        "POST", R "/lsmdiskgrp/0", "{}", hdr, 200, POOL0, NULL, 0                                  \
    }

struct fixture {
    struct fake_transport *ft;
    struct storage *st;
};

static struct fixture
open_fs(const char *ns, const struct fake_exchange *ex, size_t n)
{
    struct fixture f = {0};
    struct perr err = {0};
    struct http_transport t;
    struct storage_config cfg = {
        .hostname = HOST,
        .username = "superuser",
        .password = "pw",
        .timeout_s = 5,
        .retry_initial_ms = 1,
        .kube = kube,
        .kube_namespace = ns,
    };

    f.ft = fake_transport_new();
    fake_transport_add(f.ft, ex, n);
    t = fake_transport_http(f.ft);
    cfg.transport = &t;
    if (storage_open(&storage_flashsystem, &cfg, &f.st, &err) < 0)
        fail_msg("open: %s", err.msg);
    return f;
}

static void
resolve_ok(struct fixture *f)
{
    static const struct storage_pv pv = {.name = "pvc-1", .volume_handle = "SVC:0;" UID};
    struct storage_lun lun = {0};
    struct perr err = {0};

    if (storage_resolve_pv(f->st, &pv, &lun, &err) < 0)
        fail_msg("resolve: %s", err.msg);
    storage_lun_clear(&lun);
}

static void
close_fs(struct fixture *f)
{
    storage_free(f->st);
    fake_transport_verify(f->ft);
    fake_transport_free(f->ft);
}

/* The cached entry's token, checking its shape {"token", "updatedAt"}. */
static void
expect_cached(const char *token)
{
    char *v = store_value(KEY);
    json_t *doc = v != NULL ? json_loads(v, 0, NULL) : NULL;
    const char *at = json_string_value(json_object_get(doc, "updatedAt"));

    if (doc == NULL)
        fail_msg("cache entry: %s", v != NULL ? v : "(none)");
    assert_string_equal(json_string_value(json_object_get(doc, "token")), token);
    /* RFC 3339, UTC: 2026-12-02T05:43:08Z */
    assert_non_null(at);
    assert_int_equal(strlen(at), 20);
    assert_int_equal(at[10], 'T');
    assert_int_equal(at[19], 'Z');
    json_decref(doc);
    free(v);
}

static void
test_cache_empty_logs_in_and_writes(void **state)
{
    static const struct fake_exchange ex[] = {
        AUTH("tok-1"), LSVDISK("X-Auth-Token: tok-1", 200, VDISK), LSPOOL("X-Auth-Token: tok-1")};
    struct fixture f;

    (void)state;
    store_put(NS_OK, SECRET, NULL, NULL);
    f = open_fs(NS_OK, ex, sizeof(ex) / sizeof(ex[0]));
    expect_cached("tok-1");
    resolve_ok(&f);
    close_fs(&f);
    assert_int_equal(store.puts, 1);
}

static void
test_cache_hit_no_login(void **state)
{
    static const struct fake_exchange ex[] = {LSVDISK("X-Auth-Token: tok-c", 200, VDISK),
                                              LSPOOL("X-Auth-Token: tok-c")};
    struct fixture f;

    (void)state;
    store_put(NS_OK, SECRET, KEY, "{\"token\":\"tok-c\",\"updatedAt\":\"2026-12-01T10:00:00Z\"}");
    f = open_fs(NS_OK, ex, sizeof(ex) / sizeof(ex[0]));
    resolve_ok(&f);
    close_fs(&f);
    assert_int_equal(store.puts, 0);
}

static void
test_cache_malformed_entry(void **state)
{
    static const struct fake_exchange ex[] = {AUTH("tok-1")};
    static const char *const bad[] = {"not json", "{\"token\":\"\"}", "{\"token\":7}", "[]"};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct fixture f;

        store_put(NS_OK, SECRET, KEY, bad[i]);
        f = open_fs(NS_OK, ex, 1);
        close_fs(&f);
        /* The login's token replaces the bad entry. */
        expect_cached("tok-1");
    }
}

static void
test_cache_forbidden_still_works(void **state)
{
    static const struct fake_exchange ex[] = {
        AUTH("tok-1"), LSVDISK("X-Auth-Token: tok-1", 200, VDISK), LSPOOL("X-Auth-Token: tok-1")};
    size_t before = tls_server_nrequests(srv);
    struct fixture f;

    (void)state;
    f = open_fs(NS_DENIED, ex, sizeof(ex) / sizeof(ex[0]));
    resolve_ok(&f);
    close_fs(&f);
    /* One refused read at open, one refused read before the write. */
    assert_int_equal(tls_server_nrequests(srv) - before, 2);
}

static void
test_refresh_stale_token_logs_in(void **state)
{
    static const struct fake_exchange ex[] = {
        LSVDISK("X-Auth-Token: tok-old", 403, "Forbidden: the token is not valid"),
        AUTH("tok-2"),
        LSVDISK("X-Auth-Token: tok-2", 200, VDISK),
        LSPOOL("X-Auth-Token: tok-2"),
    };
    struct fixture f;

    (void)state;
    store_put(NS_OK, SECRET, KEY, "{\"token\":\"tok-old\",\"updatedAt\":\"2026-12-01T10:00:00Z\"}");
    f = open_fs(NS_OK, ex, sizeof(ex) / sizeof(ex[0]));
    resolve_ok(&f);
    close_fs(&f);
    expect_cached("tok-2");
}

static void
test_refresh_adopts_another_pods_token(void **state)
{
    static const struct fake_exchange ex[] = {
        LSVDISK("X-Auth-Token: tok-old", 401, "Unauthorized"),
        LSVDISK("X-Auth-Token: tok-new", 200, VDISK),
        LSPOOL("X-Auth-Token: tok-new"),
    };
    struct fixture f;

    (void)state;
    store_put(NS_OK, SECRET, KEY, "{\"token\":\"tok-old\",\"updatedAt\":\"2026-12-01T10:00:00Z\"}");
    f = open_fs(NS_OK, ex, sizeof(ex) / sizeof(ex[0]));
    /* Meanwhile another populator logged in and cached its token. */
    store_put(NS_OK, SECRET, KEY, "{\"token\":\"tok-new\",\"updatedAt\":\"2026-12-01T10:05:00Z\"}");
    resolve_ok(&f);
    close_fs(&f);
    assert_int_equal(store.puts, 0);
}

static int
setup(void **state)
{
    struct tls_server_opts so = {.handler = store_handler, .plain = true};
    struct kube_config c = {0};
    struct perr err = {0};
    char server[128];
    char src[] = "loopback";

    (void)state;
    store.secrets = json_object();
    srv = tls_server_start(&so);
    if (srv == NULL)
        return -1;
    snprintf(server, sizeof(server), "%s", tls_server_url(srv));
    c.server = server;
    c.source = src;
    c.timeout_ms = 5000;
    if (kube_open(&c, &kube, &err) < 0) {
        fprintf(stderr, "kube_open: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    kube_close(kube);
    tls_server_stop(srv);
    json_decref(store.secrets);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_key),
        cmocka_unit_test(test_set_key_keeps_the_others),
        cmocka_unit_test(test_forbidden),
        cmocka_unit_test(test_malformed_value),
        cmocka_unit_test(test_cache_empty_logs_in_and_writes),
        cmocka_unit_test(test_cache_hit_no_login),
        cmocka_unit_test(test_cache_malformed_entry),
        cmocka_unit_test(test_cache_forbidden_still_works),
        cmocka_unit_test(test_refresh_stale_token_logs_in),
        cmocka_unit_test(test_refresh_adopts_another_pods_token),
    };

    return cmocka_run_group_tests_name("kube secret and flashsystem token cache", tests, setup,
                                       teardown);
}
