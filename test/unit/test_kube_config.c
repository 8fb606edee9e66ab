/*
 * lib/kube.c and lib/lease.c without a network: kubeconfig parsing (libyaml),
 * the in-cluster configuration, base64, Kubernetes timestamps and host ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/kube.h"
#include "lib/lease.h"
#include "lib/log.h"

/* base64 of "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n" */
#define CA_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkFBQQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg=="
#define CA_PEM "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n"
/* base64 of "KEY-PEM\n" and "CERT-PEM\n" */
#define KEY_B64  "S0VZLVBFTQo="
#define CERT_B64 "Q0VSVC1QRU0K"

static char dir[64];

static void
write_file(const char *name, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *
path_of(const char *name)
{
    static char path[256];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return path;
}

static int
setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/pop-kubecfg-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    log_init(LOGL_ERROR, LOG_FORMAT_TEXT, NULL);
    return 0;
}

static int
teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    log_reset();
    return system(cmd) == 0 ? 0 : -1;
}

static struct kube_config *
load_ok(const char *name, const char *master)
{
    struct kube_config *c = NULL;
    struct perr err = {0};

    if (kube_config_from_kubeconfig(path_of(name), master, &c, &err) < 0)
        fail_msg("kubeconfig %s: %s", name, err.msg);
    return c;
}

static void
load_fails(const char *name, const char *master, enum perr_code code, const char *needle)
{
    struct kube_config *c = NULL;
    struct perr err = {0};

    assert_int_equal(kube_config_from_kubeconfig(path_of(name), master, &c, &err), -1);
    assert_null(c);
    assert_int_equal(err.code, code);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("'%s' not in '%s'", needle, err.msg);
}

static void
test_token_and_ca_file(void **state)
{
    struct kube_config *c;

    (void)state;
    write_file("ca.crt", CA_PEM);
    write_file("kc1", "apiVersion: v1\n"
                      "kind: Config\n"
                      "clusters:\n"
                      "- name: other\n"
                      "  cluster: {server: 'https://other:1'}\n"
                      "- name: c1\n"
                      "  cluster:\n"
                      "    server: https://api.example.com:6443/\n"
                      "    certificate-authority: ca.crt\n"
                      "users:\n"
                      "- name: u1\n"
                      "  user:\n"
                      "    token: tok-0123456789\n"
                      "contexts:\n"
                      "- name: ctx-other\n"
                      "  context: {cluster: other, user: u1}\n"
                      "- name: ctx1\n"
                      "  context:\n"
                      "    cluster: c1\n"
                      "    user: u1\n"
                      "    namespace: ns1\n"
                      "current-context: ctx1\n");
    c = load_ok("kc1", NULL);
    assert_string_equal(c->server, "https://api.example.com:6443");
    assert_string_equal(c->ca_file, path_of("ca.crt")); /* relative to the kubeconfig */
    assert_null(c->ca_pem);
    assert_false(c->insecure);
    assert_string_equal(c->token, "tok-0123456789");
    assert_null(c->token_file);
    assert_null(c->cert_pem);
    assert_string_equal(c->namespace, "ns1");
    assert_non_null(strstr(c->source, "kubeconfig"));
    kube_config_free(c);

    /* --master replaces the server. */
    c = load_ok("kc1", "https://master.example.com:443");
    assert_string_equal(c->server, "https://master.example.com:443");
    kube_config_free(c);
}

static void
test_data_fields_and_insecure(void **state)
{
    struct kube_config *c;

    (void)state;
    write_file("kc2", "current-context: x\n"
                      "contexts:\n"
                      "- {name: x, context: {cluster: c, user: u}}\n"
                      "clusters:\n"
                      "- name: c\n"
                      "  cluster:\n"
                      "    server: https://10.1.2.3:6443\n"
                      "    insecure-skip-tls-verify: true\n"
                      "    certificate-authority-data: " CA_B64 "\n"
                      "users:\n"
                      "- name: u\n"
                      "  user:\n"
                      "    client-certificate-data: " CERT_B64 "\n"
                      "    client-key-data: " KEY_B64 "\n");
    c = load_ok("kc2", NULL);
    assert_true(c->insecure);
    assert_string_equal(c->ca_pem, CA_PEM);
    assert_null(c->ca_file);
    assert_string_equal(c->cert_pem, "CERT-PEM\n");
    assert_string_equal(c->key_pem, "KEY-PEM\n");
    assert_null(c->token);
    assert_null(c->namespace);
    kube_config_free(c);
}

static void
test_token_file_wins(void **state)
{
    struct kube_config *c;

    (void)state;
    write_file("tok", "  file-token-abcdef\n\n");
    write_file("kc3", "current-context: x\n"
                      "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
                      "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:8080'}}]\n"
                      "users:\n"
                      "- name: u\n"
                      "  user: {token: inline-token-xyz, tokenFile: tok}\n");
    c = load_ok("kc3", NULL);
    assert_string_equal(c->token, "file-token-abcdef");
    assert_string_equal(c->token_file, path_of("tok"));
    assert_string_equal(c->server, "http://127.0.0.1:8080");
    kube_config_free(c);
}

static void
test_kubeconfig_errors(void **state)
{
    (void)state;
    write_file("nocur", "contexts: [{name: x, context: {cluster: c}}]\n"
                        "clusters: [{name: c, cluster: {server: 'https://a'}}]\n");
    load_fails("nocur", NULL, PERR_CONFIG, "no current-context");

    write_file("badctx", "current-context: y\n"
                         "contexts: [{name: x, context: {cluster: c}}]\n"
                         "clusters: [{name: c, cluster: {server: 'https://a'}}]\n");
    load_fails("badctx", NULL, PERR_CONFIG, "current-context 'y' is not in contexts");

    write_file("nocl", "current-context: x\n"
                       "contexts: [{name: x, context: {cluster: gone}}]\n"
                       "clusters: [{name: c, cluster: {server: 'https://a'}}]\n");
    load_fails("nocl", NULL, PERR_CONFIG, "cluster 'gone' of context 'x' is not in clusters");

    write_file("nouser", "current-context: x\n"
                         "contexts: [{name: x, context: {cluster: c, user: who}}]\n"
                         "clusters: [{name: c, cluster: {server: 'https://a'}}]\n");
    load_fails("nouser", NULL, PERR_CONFIG, "user 'who' of context 'x' is not in users");

    write_file("noserver", "current-context: x\n"
                           "contexts: [{name: x, context: {cluster: c}}]\n"
                           "clusters: [{name: c, cluster: {}}]\n");
    load_fails("noserver", NULL, PERR_CONFIG, "has no server");

    write_file("badscheme", "current-context: x\n"
                            "contexts: [{name: x, context: {cluster: c}}]\n"
                            "clusters: [{name: c, cluster: {server: 'ftp://a'}}]\n");
    load_fails("badscheme", NULL, PERR_CONFIG, "not an http:// or https:// URL");

    write_file("exec", "current-context: x\n"
                       "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
                       "clusters: [{name: c, cluster: {server: 'https://a'}}]\n"
                       "users: [{name: u, user: {exec: {command: aws}}}]\n");
    load_fails("exec", NULL, PERR_CONFIG, "not supported");

    write_file("badb64", "current-context: x\n"
                         "contexts: [{name: x, context: {cluster: c}}]\n"
                         "clusters: [{name: c, cluster: {server: 'https://a', "
                         "certificate-authority-data: '!!!notbase64'}}]\n");
    load_fails("badb64", NULL, PERR_CONFIG, "not valid base64");

    write_file("badbool", "current-context: x\n"
                          "contexts: [{name: x, context: {cluster: c}}]\n"
                          "clusters: [{name: c, cluster: {server: 'https://a', "
                          "insecure-skip-tls-verify: maybe}}]\n");
    load_fails("badbool", NULL, PERR_CONFIG, "'maybe' is not a boolean");

    write_file("halfcert", "current-context: x\n"
                           "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
                           "clusters: [{name: c, cluster: {server: 'https://a'}}]\n"
                           "users: [{name: u, user: {client-certificate-data: " CERT_B64 "}}]\n");
    load_fails("halfcert", NULL, PERR_CONFIG, "without its key");

    write_file("badca", "current-context: x\n"
                        "contexts: [{name: x, context: {cluster: c}}]\n"
                        "clusters: [{name: c, cluster: {server: 'https://a', "
                        "certificate-authority: /nonexistent/ca.crt}}]\n");
    load_fails("badca", NULL, PERR_CONFIG, "cannot read certificate-authority");

    write_file("notyaml", "current-context: [unclosed\n");
    load_fails("notyaml", NULL, PERR_CONFIG, "YAML error");

    write_file("empty", "");
    load_fails("empty", NULL, PERR_CONFIG, "empty or not a mapping");

    load_fails("does-not-exist", NULL, PERR_CONFIG, "cannot read kubeconfig");
}

static void
test_in_cluster(void **state)
{
    struct kube_config *c = NULL;
    struct perr err = {0};
    char sub[128];
    char path[200];

    (void)state;
    snprintf(sub, sizeof(sub), "%s/sa", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof(path), "%s/token", sub);
    write_file("sa/token", "sa-token-0123456789\n");
    write_file("sa/ca.crt", CA_PEM);
    write_file("sa/namespace", "target-ns\n");

    assert_int_equal(kube_config_in_cluster(sub, "10.96.0.1", "443", NULL, &c, &err), 0);
    assert_string_equal(c->server, "https://10.96.0.1:443");
    assert_string_equal(c->token, "sa-token-0123456789");
    assert_string_equal(c->token_file, path);
    assert_non_null(strstr(c->ca_file, "/sa/ca.crt"));
    assert_string_equal(c->namespace, "target-ns");
    kube_config_free(c);

    /* IPv6 service address. */
    assert_int_equal(kube_config_in_cluster(sub, "fd00::1", "443", NULL, &c, &err), 0);
    assert_string_equal(c->server, "https://[fd00::1]:443");
    kube_config_free(c);

    /* --master wins over the service variables. */
    assert_int_equal(kube_config_in_cluster(sub, NULL, NULL, "https://m:6443", &c, &err), 0);
    assert_string_equal(c->server, "https://m:6443");
    kube_config_free(c);

    /* Not in a pod. */
    assert_int_equal(kube_config_in_cluster(sub, NULL, "443", NULL, &c, &err), -1);
    assert_null(c);
    assert_int_equal(err.code, PERR_CONFIG);
    assert_non_null(strstr(err.msg, "KUBERNETES_SERVICE_HOST"));
    assert_non_null(strstr(err.msg, "--kubeconfig"));
    perr_clear(&err);

    /* No token file. */
    assert_int_equal(kube_config_in_cluster("/nonexistent", "h", "1", NULL, &c, &err), -1);
    assert_int_equal(err.code, PERR_CONFIG);
    assert_non_null(strstr(err.msg, "/nonexistent/token"));
    perr_clear(&err);

    /* --master alone without a service account: no credentials, no CA. */
    assert_int_equal(
        kube_config_in_cluster("/nonexistent", NULL, NULL, "http://127.0.0.1:1", &c, &err), 0);
    assert_null(c->token);
    assert_null(c->ca_file);
    kube_config_free(c);
}

static void
test_config_load_dispatch(void **state)
{
    struct kube_config *c = NULL;
    struct perr err = {0};
    struct kube_opts o = {0};
    char envdir[200];
    const char *env[4];

    (void)state;
    snprintf(envdir, sizeof(envdir), "KUBE_INCLUSTER_DIR=%s/sa", dir);
    env[0] = envdir;
    env[1] = "KUBERNETES_SERVICE_HOST=127.0.0.9";
    env[2] = "KUBERNETES_SERVICE_PORT=8443";
    env[3] = NULL;
    o.envp = env;
    o.timeout_ms = 1234;
    assert_int_equal(kube_config_load(&o, &c, &err), 0);
    assert_string_equal(c->server, "https://127.0.0.9:8443");
    assert_string_equal(c->namespace, "target-ns");
    assert_int_equal(c->timeout_ms, 1234);
    kube_config_free(c);

    o.kubeconfig = path_of("kc1");
    assert_int_equal(kube_config_load(&o, &c, &err), 0);
    assert_string_equal(c->server, "https://api.example.com:6443");
    kube_config_free(c);

    /* The default directory does not exist here. */
    o.kubeconfig = "";
    env[0] = "X=1";
    assert_int_equal(kube_config_load(&o, &c, &err), -1);
    assert_non_null(strstr(err.msg, KUBE_INCLUSTER_DIR_DEFAULT));
}

static void
test_tokens_never_logged(void **state)
{
    struct kube_config *c;
    char buf[4096] = {0};
    FILE *f = tmpfile();

    (void)state;
    assert_non_null(f);
    c = load_ok("kc1", NULL);
    log_set_stream(f);
    log_error("test", "event", "detail", "the token is tok-0123456789 here", NULL);
    log_set_stream(NULL);
    rewind(f);
    assert_true(fread(buf, 1, sizeof(buf) - 1, f) > 0);
    fclose(f);
    assert_null(strstr(buf, "tok-0123456789"));
    assert_non_null(strstr(buf, "***"));
    kube_config_free(c);
}

static void
test_base64(void **state)
{
    char *out = NULL;
    size_t len = 0;
    struct perr err = {0};

    (void)state;
    assert_int_equal(kube_base64_decode("aGVs\nbG8=\n", "x", &out, &len, &err), 0);
    assert_string_equal(out, "hello");
    assert_int_equal(len, 5);
    free(out);
    assert_int_equal(kube_base64_decode("", "x", &out, &len, &err), 0);
    assert_string_equal(out, "");
    free(out);
    assert_int_equal(kube_base64_decode("a$b=", "field-x", &out, &len, &err), -1);
    assert_null(out);
    assert_non_null(strstr(err.msg, "field-x"));
}

static void
test_times(void **state)
{
    long long ms = 0;
    char out[40];

    (void)state;
    assert_int_equal(kube_time_parse("1970-01-01T00:00:01Z", &ms), 0);
    assert_int_equal(ms, 1000);
    assert_int_equal(kube_time_parse("2024-05-01T10:00:00.123456Z", &ms), 0);
    assert_int_equal(ms, 1714557600123LL);
    assert_int_equal(kube_time_parse("2024-05-01T12:00:00.5+02:00", &ms), 0);
    assert_int_equal(ms, 1714557600500LL);
    assert_int_equal(kube_time_parse("2024-05-01T09:30:00-00:30", &ms), 0);
    assert_int_equal(ms, 1714557600000LL);
    kube_time_format(1714557600123LL, out, sizeof(out));
    assert_string_equal(out, "2024-05-01T10:00:00.123000Z");
    assert_int_equal(kube_time_parse(out, &ms), 0);
    assert_int_equal(ms, 1714557600123LL);
    kube_time_format(-1, out, sizeof(out));
    assert_string_equal(out, "1969-12-31T23:59:59.999000Z");

    assert_int_equal(kube_time_parse("", &ms), -1);
    assert_int_equal(kube_time_parse("2024-05-01", &ms), -1);
    assert_int_equal(kube_time_parse("2024-05-01T10:00:00", &ms), -1);
    assert_int_equal(kube_time_parse("2024-13-01T10:00:00Z", &ms), -1);
    assert_int_equal(kube_time_parse("2024-05-01T10:00:00.Z", &ms), -1);
    assert_int_equal(kube_time_parse("2024-05-01T10:00:00Zjunk", &ms), -1);
    assert_int_equal(kube_time_parse("not-a-time", &ms), -1);
}

static void
test_host_ids(void **state)
{
    char *id = NULL;
    struct perr err = {0};
    char long_id[80];

    (void)state;
    assert_int_equal(lease_host_id("HostSystem", "host-36", &id, &err), 0);
    assert_string_equal(id, "hostsystem-host-36");
    free(id);

    assert_true(lease_host_id_valid("a"));
    assert_true(lease_host_id_valid("host-1"));
    assert_false(lease_host_id_valid(""));
    assert_false(lease_host_id_valid(NULL));
    assert_false(lease_host_id_valid("-a"));
    assert_false(lease_host_id_valid("a-"));
    assert_false(lease_host_id_valid("Host"));
    assert_false(lease_host_id_valid("a.b"));
    memset(long_id, 'a', 63);
    long_id[63] = '\0';
    assert_true(lease_host_id_valid(long_id));
    long_id[63] = 'a';
    long_id[64] = '\0';
    assert_false(lease_host_id_valid(long_id));

    assert_int_equal(lease_host_id("HostSystem", "host_36", &id, &err), -1);
    assert_null(id);
    assert_int_equal(err.code, PERR_USAGE);
    assert_non_null(strstr(err.msg, "'hostsystem-host_36'"));
    assert_non_null(strstr(err.msg, "DNS-1123"));
}

static void
test_default_holder(void **state)
{
    char *h = NULL;
    struct perr err = {0};

    (void)state;
    assert_int_equal(lease_default_holder(&h, &err), 0);
    assert_non_null(h);
    assert_true(strlen(h) > 0);
    free(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_and_ca_file),
        cmocka_unit_test(test_data_fields_and_insecure),
        cmocka_unit_test(test_token_file_wins),
        cmocka_unit_test(test_kubeconfig_errors),
        cmocka_unit_test(test_in_cluster),
        cmocka_unit_test(test_config_load_dispatch),
        cmocka_unit_test(test_tokens_never_logged),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_host_ids),
        cmocka_unit_test(test_default_holder),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
