/*
 * Configuration: precedence, Go flag syntax, every mandatory input and a table
 * of bad inputs.  Each bad input is checked twice: config_parse() in-process
 * (the message) and the real binary (exit status 2 and the same message on
 * stderr, nothing on stdout).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd/config.h"
#include "storage/storage.h"
#include "test/fake/proc.h"

#define MAX_ARGS 32
#define MAX_ENV  32

/* A complete, valid pod-mode configuration. */
static const char *const base_env[] = {
    "GOVMOMI_HOSTNAME=vc.example.test",
    "GOVMOMI_USERNAME=administrator@vsphere.local",
    "GOVMOMI_PASSWORD=vc-S3cret!",
    "STORAGE_HOSTNAME=array.example.test",
    "STORAGE_USERNAME=admin",
    "STORAGE_PASSWORD=array-S3cret!",
    "STORAGE_VENDOR=ontap",
    NULL,
};
static const char *const base_args[] = {
    "--source-vm-id=vm-42",
    "--source-vmdk=[datastore 1] my vm/my vm.vmdk",
    "--target-namespace=ns1",
    "--owner-name=pvc-1",
    "--owner-uid=0b5c9d4e-8d47-4c4e-9f5e-1a2b3c4d5e6f",
    "--metrics-listen=",
    NULL,
};

struct setup {
    const char *argv[MAX_ARGS];
    const char *envp[MAX_ENV];
    int argc;
};

/* config_parse() takes argv as main() gets it; it does not write to it. */
static char *const *
argv_of(struct setup *s)
{
    char *const *av;

    memcpy(&av, &(const char *const *){s->argv}, sizeof(av));
    return av;
}

/* Base set-up, minus the env keys and flags listed in drop (prefix match "KEY=" / "--flag"),
 * plus extra env entries ("K=V") and extra args. */
static void
setup_make(struct setup *s, const char *const drop[], const char *const env_add[],
           const char *const args_add[])
{
    size_t ne = 0;

    s->argc = 0;
    s->argv[s->argc++] = "vsphere-copy-offload-populator";
    for (size_t i = 0; base_args[i] != NULL; i++) {
        bool skip = false;

        for (size_t d = 0; drop != NULL && drop[d] != NULL; d++)
            skip = skip || strncmp(base_args[i], drop[d], strlen(drop[d])) == 0;
        if (!skip)
            s->argv[s->argc++] = base_args[i];
    }
    for (size_t i = 0; args_add != NULL && args_add[i] != NULL; i++)
        s->argv[s->argc++] = args_add[i];
    s->argv[s->argc] = NULL;
    for (size_t i = 0; base_env[i] != NULL; i++) {
        bool skip = false;

        /* An added entry replaces the base entry of the same key. */
        for (size_t d = 0; env_add != NULL && env_add[d] != NULL; d++) {
            size_t klen = strcspn(env_add[d], "=");

            skip =
                skip || (strncmp(base_env[i], env_add[d], klen) == 0 && base_env[i][klen] == '=');
        }

        for (size_t d = 0; drop != NULL && drop[d] != NULL; d++)
            skip = skip || strncmp(base_env[i], drop[d], strlen(drop[d])) == 0;
        if (!skip)
            s->envp[ne++] = base_env[i];
    }
    for (size_t i = 0; env_add != NULL && env_add[i] != NULL; i++)
        s->envp[ne++] = env_add[i];
    s->envp[ne] = NULL;
    assert_true(s->argc < MAX_ARGS && ne < MAX_ENV);
}

static struct config *
parse_ok(struct setup *s)
{
    struct config *cfg = NULL;
    struct perr err = {0};

    if (config_parse(s->argc, argv_of(s), s->envp, &cfg, &err) < 0)
        fail_msg("unexpected error: %s", err.msg);
    assert_non_null(cfg);
    return cfg;
}

static void
test_base_is_valid(void **state)
{
    struct setup s;
    struct config *cfg;

    (void)state;
    setup_make(&s, NULL, NULL, NULL);
    cfg = parse_ok(&s);
    assert_int_equal(cfg->action, CONFIG_ACTION_RUN);
    assert_string_equal(cfg->vendor, "ontap");
    assert_string_equal(cfg->vmdk_datastore, "datastore 1");
    assert_string_equal(cfg->vmdk_dir, "my vm");
    assert_string_equal(cfg->vmdk_file, "my vm.vmdk");
    assert_int_equal(cfg->clone_method, CLONE_METHOD_VIB);
    assert_int_equal(cfg->storage_http_timeout_seconds, 30);
    assert_int_equal(cfg->esxi_ssh_port, 22);
    assert_int_equal(cfg->ssh_timeout_seconds, 30);
    assert_false(cfg->storage_skip_ssl_verification);
    assert_false(cfg->vsphere_insecure);
    assert_string_equal(cfg->host_lease_namespace, "openshift-mtv");
    assert_true(cfg->host_lease_duration_seconds == 10);
    assert_null(cfg->metrics_listen); /* --metrics-listen= disables the endpoint */
    assert_string_equal(cfg->termination_log, "/dev/termination-log");
    assert_string_equal(cfg->vsphere_password, "vc-S3cret!");
    assert_int_equal(cfg->n_secret_flags, 0);
    config_free(cfg);
}

static void
test_defaults_metrics_listen(void **state)
{
    static const char *const drop[] = {"--metrics-listen", NULL};
    struct setup s;
    struct config *cfg;

    (void)state;
    setup_make(&s, drop, NULL, NULL);
    cfg = parse_ok(&s);
    assert_string_equal(cfg->metrics_listen, ":8443");
    assert_string_equal(cfg->metrics_path, "/metrics");
    config_free(cfg);
}

static void
test_flag_over_env(void **state)
{
    static const char *const env[] = {"STORAGE_HTTP_TIMEOUT_SECONDS=45", "ESXI_CLONE_METHOD=vib",
                                      "LOG_LEVEL=warn", NULL};
    static const char *const args[] = {"--storage-vendor-product=pureFlashArray",
                                       "--storage-hostname",
                                       "flag-array.test",
                                       "-storage-http-timeout-seconds",
                                       "12",
                                       "--log-level=debug",
                                       "-vsphere-username=flaguser",
                                       NULL};
    struct setup s;
    struct config *cfg;

    (void)state;
    setup_make(&s, NULL, env, args);
    cfg = parse_ok(&s);
    assert_string_equal(cfg->vendor, "pureFlashArray");
    assert_string_equal(cfg->storage_hostname, "flag-array.test");
    assert_int_equal(cfg->storage_http_timeout_seconds, 12);
    assert_int_equal(cfg->log_level, LOGL_DEBUG);
    assert_string_equal(cfg->vsphere_username, "flaguser");
    config_free(cfg);

    /* Without the flags, the environment values are used. */
    setup_make(&s, NULL, env, NULL);
    cfg = parse_ok(&s);
    assert_int_equal(cfg->storage_http_timeout_seconds, 45);
    assert_int_equal(cfg->log_level, LOGL_WARN);
    assert_string_equal(cfg->storage_hostname, "array.example.test");
    config_free(cfg);
}

static void
test_go_flag_syntax(void **state)
{
    static const char *const drop[] = {"--source-vm-id", "--owner-name", "--target-namespace",
                                       NULL};
    static const char *const args[] = {"-source-vm-id",
                                       "vm-7",
                                       "--owner-name",
                                       "pvc-x",
                                       "-target-namespace=ns-y",
                                       "--migration-host=host-36",
                                       "-cr-name=cr",
                                       "--cr-namespace",
                                       "crns",
                                       "--secret-name=s",
                                       "--pvc-size=10Gi",
                                       "--http-endpoint=:8080",
                                       "-v=4",
                                       "-logtostderr",
                                       "--alsologtostderr=false",
                                       NULL};
    struct setup s;
    struct config *cfg;

    (void)state;
    setup_make(&s, drop, NULL, args);
    cfg = parse_ok(&s);
    assert_string_equal(cfg->source_vm_id, "vm-7");
    assert_string_equal(cfg->owner_name, "pvc-x");
    assert_string_equal(cfg->target_namespace, "ns-y");
    assert_string_equal(cfg->migration_host, "host-36");
    assert_int_equal(cfg->pvc_size_bytes, 10737418240ULL);
    assert_int_equal(cfg->log_level, LOGL_DEBUG); /* klog -v=4 */
    config_free(cfg);
}

static void
test_vendor_names(void **state)
{
    struct setup s;
    struct config *cfg;

    (void)state;
    /* Every registered vendor is accepted, built or not. */
    for (size_t i = 0; storage_drivers[i] != NULL; i++) {
        char flag[64];
        const char *args[] = {flag, NULL};

        snprintf(flag, sizeof(flag), "--storage-vendor-product=%s", storage_drivers[i]->name);
        setup_make(&s, NULL, NULL, args);
        cfg = parse_ok(&s);
        assert_string_equal(cfg->vendor, storage_drivers[i]->name);
        config_free(cfg);
    }
    /* Other letter cases map to the canonical name. */
    {
        static const char *const args[] = {"--storage-vendor-product=PUREFLASHARRAY", NULL};

        setup_make(&s, NULL, NULL, args);
        cfg = parse_ok(&s);
        assert_string_equal(cfg->vendor, "pureFlashArray");
        config_free(cfg);
    }
}

static void
test_token_alone_is_enough(void **state)
{
    static const char *const drop[] = {"STORAGE_USERNAME=", "STORAGE_PASSWORD=", NULL};
    static const char *const env[] = {"STORAGE_TOKEN=tok-123456", NULL};
    struct setup s;
    struct config *cfg;

    (void)state;
    setup_make(&s, drop, env, NULL);
    cfg = parse_ok(&s);
    assert_string_equal(cfg->storage_token, "tok-123456");
    config_free(cfg);
}

static void
test_manual_mode(void **state)
{
    static const char *const drop[] = {"--owner-name", "--target-namespace", NULL};
    static const char *const args[] = {"--target-volume-handle=trident_pvc_1",
                                       "--target-volume-attribute", "internalName=trident_pvc_1",
                                       "--target-volume-attribute=backendUUID=a=b", NULL};
    struct setup s;
    struct config *cfg;

    (void)state;
    setup_make(&s, drop, NULL, args);
    cfg = parse_ok(&s);
    assert_string_equal(cfg->target_volume_handle, "trident_pvc_1");
    assert_int_equal(cfg->n_target_attrs, 2);
    assert_string_equal(config_target_attr(cfg, "internalName"), "trident_pvc_1");
    assert_string_equal(config_target_attr(cfg, "backendUUID"), "a=b");
    assert_null(config_target_attr(cfg, "missing"));
    config_free(cfg);
}

static void
test_manual_mode_metrics(void **state)
{
    static const char *const drop[] = {"--owner-name", "--target-namespace", "--owner-uid",
                                       "--metrics-listen", NULL};
    static const char *const manual[] = {"--target-volume-handle=trident_pvc_1", NULL};
    static const char *const asked[] = {"--target-volume-handle=trident_pvc_1",
                                        "--metrics-listen=127.0.0.1:9443", NULL};
    static const char *const by_env[] = {"METRICS_LISTEN=:9444", NULL};
    static const char *const pod_drop[] = {"--metrics-listen", NULL};
    struct setup s;
    struct config *cfg;

    (void)state;
    /* Typed by hand: neither --owner-uid nor --metrics-listen, no endpoint. */
    setup_make(&s, drop, NULL, manual);
    cfg = parse_ok(&s);
    assert_false(config_pod_mode(cfg));
    assert_null(cfg->metrics_listen);
    assert_null(cfg->owner_uid);
    config_free(cfg);

    /* Asked for, by flag or by variable. */
    setup_make(&s, drop, NULL, asked);
    cfg = parse_ok(&s);
    assert_string_equal(cfg->metrics_listen, "127.0.0.1:9443");
    config_free(cfg);
    setup_make(&s, drop, by_env, manual);
    cfg = parse_ok(&s);
    assert_string_equal(cfg->metrics_listen, ":9444");
    config_free(cfg);

    /* Pod mode keeps the controller's default. */
    setup_make(&s, pod_drop, NULL, NULL);
    cfg = parse_ok(&s);
    assert_true(config_pod_mode(cfg));
    assert_string_equal(cfg->metrics_listen, ":8443");
    config_free(cfg);
}

static void
test_env_extras(void **state)
{
    static const char *const env[] = {"GOVMOMI_INSECURE=true",
                                      "STORAGE_SKIP_SSL_VERIFICATION=true",
                                      "HOST_LEASE_NAMESPACE=leases",
                                      "HOST_LEASE_DURATION_SECONDS=2.5",
                                      "DISABLE_VVOL_METHOD=true",
                                      "DISABLE_RDM_METHOD=True",
                                      "ONTAP_SVM=svm1",
                                      "PURE_CLUSTER_PREFIX=px",
                                      "cacert=-----BEGIN CERTIFICATE-----",
                                      NULL};
    struct setup s;
    struct config *cfg;

    (void)state;
    setup_make(&s, NULL, env, NULL);
    cfg = parse_ok(&s);
    assert_true(cfg->vsphere_insecure);
    assert_true(cfg->storage_skip_ssl_verification);
    assert_string_equal(cfg->host_lease_namespace, "leases");
    assert_true(cfg->host_lease_duration_seconds == 2.5);
    assert_true(cfg->disable_vvol);
    assert_false(cfg->disable_rdm); /* only the exact string "true", as before */
    assert_string_equal(config_vendor_env(cfg, "ONTAP_SVM"), "svm1");
    /* Only the chosen driver's own keys are collected. */
    assert_null(config_vendor_env(cfg, "PURE_CLUSTER_PREFIX"));
    assert_null(config_vendor_env(cfg, "POWERMAX_SYMMETRIX_ID"));
    assert_string_equal(cfg->vsphere_cacert, "-----BEGIN CERTIFICATE-----");
    config_free(cfg);
}

/* base64 of a PEM-looking private key and of an authorized_keys line. */
#define PRIV_B64                                                                                   \
    "LS0tLS1CRUdJTiBPUEVOU1NIIFBSSVZBVEUgS0VZLS0tLS0KYWJjCi0tLS0tRU5EIE9QRU5TU0ggUFJJVkFURSBLRVkt" \
    "LS0tLQo="
#define PUB_B64 "c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSUFCQyB1c2VyQGhvc3QK"

/* Where a configuration error is written: found even when the parse fails. */
static void
test_termination_log_of_a_failed_parse(void **state)
{
    static const char *const env[] = {"TERMINATION_LOG=/env/path", NULL};
    static const char *const none[] = {NULL};
    const char *a1[] = {"pop", "--termination-log=/a", "--bogus", "--termination-log=/late", NULL};
    const char *a2[] = {
        "pop", "-termination-log", "/b", "--storage-skip-ssl-verification", "--owner-uid", "x",
        NULL};
    const char *a3[] = {"pop", "--owner-uid", "--termination-log=/not-a-flag", NULL};
    const char *a4[] = {"pop", "--termination-log", NULL};
    char *const *av;

    (void)state;
    memcpy(&av, &(const char *const *){a1}, sizeof(av));
    assert_string_equal(config_termination_log(4, av, env), "/a");
    memcpy(&av, &(const char *const *){a2}, sizeof(av));
    assert_string_equal(config_termination_log(6, av, env), "/b");
    /* The value of --owner-uid is not a flag. */
    memcpy(&av, &(const char *const *){a3}, sizeof(av));
    assert_string_equal(config_termination_log(3, av, env), "/env/path");
    memcpy(&av, &(const char *const *){a4}, sizeof(av));
    assert_string_equal(config_termination_log(2, av, none), "/dev/termination-log");
}

static void
test_ssh_keys(void **state)
{
    static const char *const env[] = {"ESXI_CLONE_METHOD= SSH ", "SSH_PRIVATE_KEY=" PRIV_B64,
                                      "SSH_PUBLIC_KEY=" PUB_B64, NULL};
    struct setup s;
    struct config *cfg;

    (void)state;
    setup_make(&s, NULL, env, NULL);
    cfg = parse_ok(&s);
    assert_int_equal(cfg->clone_method, CLONE_METHOD_SSH);
    assert_non_null(strstr((const char *)cfg->ssh_private_key, "BEGIN OPENSSH PRIVATE KEY"));
    assert_string_equal(cfg->ssh_public_key, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIABC user@host");
    config_free(cfg);
}

static void
test_help_and_version(void **state)
{
    static const char *const h[] = {"-h", NULL};
    static const char *const v[] = {"--version", NULL};
    struct setup s;
    struct config *cfg;

    (void)state;
    /* Help and version need no other input. */
    s.argc = 2;
    s.argv[0] = "pop";
    s.argv[1] = h[0];
    s.argv[2] = NULL;
    s.envp[0] = NULL;
    cfg = parse_ok(&s);
    assert_int_equal(cfg->action, CONFIG_ACTION_HELP);
    config_free(cfg);
    s.argv[1] = v[0];
    cfg = parse_ok(&s);
    assert_int_equal(cfg->action, CONFIG_ACTION_VERSION);
    config_free(cfg);
}

static void
test_secret_flag_recorded_and_scrubbed(void **state)
{
    char pw1[] = "--storage-password=FlagPassw0rd";
    char pw2[] = "FlagVcPassw0rd";
    char name2[] = "--vsphere-password";
    char keep[] = "--owner-name=pvc-1";
    char prog[] = "pop";
    char *argv[] = {prog, pw1, name2, pw2, keep, NULL};
    struct setup s;
    struct config *cfg;
    const char *args[] = {pw1, name2, pw2, NULL};

    (void)state;
    setup_make(&s, NULL, NULL, args);
    cfg = parse_ok(&s);
    assert_int_equal(cfg->n_secret_flags, 2);
    assert_string_equal(cfg->storage_password, "FlagPassw0rd");
    assert_string_equal(cfg->vsphere_password, "FlagVcPassw0rd");
    config_free(cfg);
    config_scrub_argv(5, argv);
    assert_string_equal(argv[1], "--storage-password=xxxxxxxxxxxx");
    assert_string_equal(argv[3], "xxxxxxxxxxxxxx");
    assert_string_equal(argv[4], "--owner-name=pvc-1");
}

static void
test_vmdk_paths(void **state)
{
    static const struct {
        const char *in, *ds, *dir, *file;
    } ok[] = {
        {"[ds1] vm/disk.vmdk", "ds1", "vm", "disk.vmdk"},
        {"[DS \"a&b\" ü] VM 'q'/d <1>.vmdk", "DS \"a&b\" ü", "VM 'q'", "d <1>.vmdk"},
        {"[a] b] c/d.vmdk", "a", "b] c", "d.vmdk"},
    };
    struct perr err = {0};

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *ds = NULL, *dir = NULL, *file = NULL;

        assert_int_equal(config_parse_vmdk_path(ok[i].in, &ds, &dir, &file, &err), 0);
        assert_string_equal(ds, ok[i].ds);
        assert_string_equal(dir, ok[i].dir);
        assert_string_equal(file, ok[i].file);
        free(ds);
        free(dir);
        free(file);
    }
}

/* "--owner-uid" + about 120 KB of junk (one argument stays under the kernel's 128 KiB),
 * filled in by main(). */
static char huge_uid[120 * 1024];

struct bad_case {
    const char *name;
    const char *drop[4];
    const char *env[4];
    const char *args[4];
    const char *want; /* substring of the one-line message */
};

static const struct bad_case bad_cases[] = {
    {"missing source-vm-id",
     {"--source-vm-id"},
     {0},
     {0},
     "missing value for mandatory flag --source-vm-id"},
    {"missing source-vmdk",
     {"--source-vmdk"},
     {0},
     {0},
     "missing value for mandatory flag --source-vmdk"},
    {"missing vendor",
     {"STORAGE_VENDOR="},
     {0},
     {0},
     "missing value for mandatory flag --storage-vendor-product (STORAGE_VENDOR)"},
    {"missing storage hostname",
     {"STORAGE_HOSTNAME="},
     {0},
     {0},
     "missing value for mandatory flag --storage-hostname (STORAGE_HOSTNAME)"},
    {"blank storage hostname",
     {0},
     {0},
     {"--storage-hostname=  "},
     "missing value for mandatory flag --storage-hostname (STORAGE_HOSTNAME)"},
    {"missing vsphere hostname",
     {"GOVMOMI_HOSTNAME="},
     {0},
     {0},
     "missing value for mandatory flag --vsphere-hostname (GOVMOMI_HOSTNAME)"},
    {"missing vsphere username",
     {"GOVMOMI_USERNAME="},
     {0},
     {0},
     "missing value for mandatory flag --vsphere-username (GOVMOMI_USERNAME)"},
    {"missing vsphere password",
     {"GOVMOMI_PASSWORD="},
     {0},
     {0},
     "missing value for mandatory flag --vsphere-password (GOVMOMI_PASSWORD)"},
    {"unknown vendor",
     {0},
     {"STORAGE_VENDOR=netapp"},
     {0},
     "--storage-vendor-product (STORAGE_VENDOR): unknown storage vendor 'netapp'; valid: "
     "ontap, pureFlashArray, powerflex, powermax, powerstore, primera3par, infinibox, "
     "flashsystem, vantara"},
    {"vmdk without brackets",
     {0},
     {0},
     {"--source-vmdk=ds1 vm/disk.vmdk"},
     "--source-vmdk: invalid path 'ds1 vm/disk.vmdk'; expected '[datastore] vmname/disk.vmdk'"},
    {"vmdk without space",
     {0},
     {0},
     {"--source-vmdk=[ds1]vm/disk.vmdk"},
     "--source-vmdk: invalid path '[ds1]vm/disk.vmdk'"},
    {"vmdk empty datastore",
     {0},
     {0},
     {"--source-vmdk=[] vm/disk.vmdk"},
     "--source-vmdk: invalid path '[] vm/disk.vmdk'"},
    {"vmdk without directory",
     {0},
     {0},
     {"--source-vmdk=[ds1] disk.vmdk"},
     "--source-vmdk: invalid path '[ds1] disk.vmdk'"},
    {"vmdk two directories",
     {0},
     {0},
     {"--source-vmdk=[ds1] a/b/disk.vmdk"},
     "--source-vmdk: invalid path '[ds1] a/b/disk.vmdk'"},
    {"vmdk empty directory",
     {0},
     {0},
     {"--source-vmdk=[ds1] /disk.vmdk"},
     "--source-vmdk: invalid path '[ds1] /disk.vmdk'"},
    {"vmdk empty file",
     {0},
     {0},
     {"--source-vmdk=[ds1] vm/"},
     "--source-vmdk: invalid path '[ds1] vm/'"},
    {"vmdk not a vmdk",
     {0},
     {0},
     {"--source-vmdk=[ds1] vm/disk.txt"},
     "--source-vmdk: invalid path '[ds1] vm/disk.txt'"},
    {"timeout not a number",
     {0},
     {"STORAGE_HTTP_TIMEOUT_SECONDS=abc"},
     {0},
     "--storage-http-timeout-seconds (STORAGE_HTTP_TIMEOUT_SECONDS): invalid value 'abc'; "
     "expected a whole number from 1 to 86400"},
    {"timeout negative",
     {0},
     {0},
     {"--storage-http-timeout-seconds=-5"},
     "--storage-http-timeout-seconds (STORAGE_HTTP_TIMEOUT_SECONDS): invalid value '-5'"},
    {"timeout zero",
     {0},
     {0},
     {"--storage-http-timeout-seconds=0"},
     "--storage-http-timeout-seconds (STORAGE_HTTP_TIMEOUT_SECONDS): invalid value '0'"},
    {"ssh timeout fraction",
     {0},
     {"SSH_TIMEOUT_SECONDS=1.5"},
     {0},
     "--ssh-timeout-seconds (SSH_TIMEOUT_SECONDS): invalid value '1.5'"},
    {"ssh port out of range",
     {0},
     {0},
     {"--esxi-ssh-port=70000"},
     "--esxi-ssh-port (ESXI_SSH_PORT): invalid value '70000'; expected a whole number from 1 to "
     "65535"},
    {"bad clone method",
     {0},
     {"ESXI_CLONE_METHOD=scp"},
     {0},
     "--esxi-clone-method (ESXI_CLONE_METHOD): invalid clone method 'scp'; expected vib or ssh"},
    {"username without password",
     {"STORAGE_PASSWORD="},
     {0},
     {0},
     "either STORAGE_TOKEN (--storage-token) or both STORAGE_USERNAME (--storage-username) and "
     "STORAGE_PASSWORD (--storage-password) must be provided"},
    {"password without username",
     {"STORAGE_USERNAME="},
     {0},
     {0},
     "either STORAGE_TOKEN (--storage-token) or both STORAGE_USERNAME"},
    {"no storage credentials",
     {"STORAGE_USERNAME=", "STORAGE_PASSWORD="},
     {0},
     {0},
     "either STORAGE_TOKEN (--storage-token) or both STORAGE_USERNAME"},
    {"ssh without keys",
     {0},
     {"ESXI_CLONE_METHOD=ssh"},
     {0},
     "--esxi-clone-method (ESXI_CLONE_METHOD) is ssh but SSH_PRIVATE_KEY and SSH_PUBLIC_KEY are "
     "not both set"},
    {"ssh bad base64 private key",
     {0},
     {"ESXI_CLONE_METHOD=ssh", "SSH_PRIVATE_KEY=not*base64!", "SSH_PUBLIC_KEY=" PUB_B64},
     {0},
     "SSH_PRIVATE_KEY: not valid base64; the controller passes the key base64-encoded"},
    {"ssh private key not a key",
     {0},
     {"ESXI_CLONE_METHOD=ssh", "SSH_PRIVATE_KEY=aGVsbG8gd29ybGQ=", "SSH_PUBLIC_KEY=" PUB_B64},
     {0},
     "SSH_PRIVATE_KEY: decoded value is not a PEM or OpenSSH private key"},
    {"ssh bad base64 public key",
     {0},
     {"ESXI_CLONE_METHOD=ssh", "SSH_PRIVATE_KEY=" PRIV_B64, "SSH_PUBLIC_KEY=%%%%"},
     {0},
     "SSH_PUBLIC_KEY: not valid base64"},
    {"ssh public key not a key",
     {0},
     {"ESXI_CLONE_METHOD=ssh", "SSH_PRIVATE_KEY=" PRIV_B64, "SSH_PUBLIC_KEY=aGVsbG8gd29ybGQ="},
     {0},
     "SSH_PUBLIC_KEY: decoded value is not an authorized_keys public key line"},
    {"attribute without equals",
     {0},
     {0},
     {"--target-volume-handle=h", "--target-volume-attribute=novalue"},
     "--target-volume-attribute: 'novalue' is not KEY=VALUE with a non-empty KEY"},
    {"attribute with empty key",
     {0},
     {0},
     {"--target-volume-handle=h", "--target-volume-attribute==v"},
     "--target-volume-attribute: '=v' is not KEY=VALUE with a non-empty KEY"},
    {"attribute key twice",
     {0},
     {0},
     {"--target-volume-handle=h", "--target-volume-attribute=a=1", "--target-volume-attribute=a=2"},
     "--target-volume-attribute: key 'a' given twice"},
    {"attribute without handle",
     {0},
     {0},
     {"--target-volume-attribute=a=1"},
     "--target-volume-attribute needs --target-volume-handle (manual mode)"},
    {"no pvc and no handle",
     {"--owner-name"},
     {0},
     {0},
     "missing value for flag --owner-name or --target-namespace"},
    {"unknown flag",
     {0},
     {0},
     {"--storage-vendor=ontap"},
     "unknown flag '--storage-vendor'; see --help for the list of flags"},
    {"flag without value",
     {0},
     {0},
     {"--migration-host"},
     "flag needs an argument: --migration-host"},
    {"bad boolean string",
     {0},
     {0},
     {"--storage-skip-ssl-verification=maybe"},
     "--storage-skip-ssl-verification (STORAGE_SKIP_SSL_VERIFICATION): invalid value 'maybe'; "
     "expected true or false"},
    {"bad boolean flag",
     {0},
     {0},
     {"--version=maybe"},
     "--version: invalid boolean value 'maybe'; use true or false"},
    {"bad log level",
     {0},
     {"LOG_LEVEL=loud"},
     {0},
     "--log-level (LOG_LEVEL): invalid level 'loud'; expected error, warn, info, debug or trace"},
    {"bad log format",
     {0},
     {0},
     {"--log-format=xml"},
     "--log-format (LOG_FORMAT): invalid format 'xml'; expected text or json"},
    {"bad output", {0}, {0}, {"--output=yaml"}, "--output: invalid format 'yaml'"},
    {"bad GOVMOMI_INSECURE",
     {0},
     {"GOVMOMI_INSECURE=perhaps"},
     {0},
     "GOVMOMI_INSECURE: invalid value 'perhaps'; expected true or false"},
    {"bad lease duration",
     {0},
     {"HOST_LEASE_DURATION_SECONDS=-1"},
     {0},
     "HOST_LEASE_DURATION_SECONDS: invalid value '-1'"},
    {"bad pvc size",
     {0},
     {0},
     {"--pvc-size=12XB"},
     "--pvc-size: invalid quantity '12XB'; expected bytes such as 10737418240 or 10Gi"},
    {"positional argument",
     {0},
     {0},
     {"extra"},
     "unexpected argument 'extra': options start with - or --"},
    {"bad klog verbosity", {0}, {0}, {"-v=high"}, "--v: invalid value 'high'"},
    /* Junk that used to be accepted silently (issue 14 item 7). */
    {"SSH_PUBLIC_KEY not base64",
     {0},
     {"ESXI_CLONE_METHOD=ssh", "SSH_PRIVATE_KEY=" PRIV_B64, "SSH_PUBLIC_KEY=c3NoLWVk*MjU1MTk!"},
     {0},
     "SSH_PUBLIC_KEY: not valid base64"},
    {"SSH_PUBLIC_KEY whose key is not base64",
     {0},
     {"ESXI_CLONE_METHOD=ssh", "SSH_PRIVATE_KEY=" PRIV_B64,
      "SSH_PUBLIC_KEY=c3NoLWVkMjU1MTkgISEhbm90YmFzZTY0IHVzZXJAaG9zdA=="},
     {0},
     "SSH_PUBLIC_KEY: decoded value is not an authorized_keys public key line"},
    {"SSH_PUBLIC_KEY whose key is of another type",
     {0},
     {"ESXI_CLONE_METHOD=ssh", "SSH_PRIVATE_KEY=" PRIV_B64,
      "SSH_PUBLIC_KEY=c3NoLWVkMjU1MTkgQUFBQUIzTnphQzF5YzJFQUFBQURBUUFCQUFBQWdRPT0gdXNlckBob3N0"},
     {0},
     "SSH_PUBLIC_KEY: decoded value is not an authorized_keys public key line"},
    {"huge owner uid", {0}, {0}, {huge_uid}, "--owner-uid: invalid UID a value of "},
    {"bad metrics address",
     {0},
     {0},
     {"--metrics-listen=8443"},
     "--metrics-listen (METRICS_LISTEN): invalid address '8443'; expected [host]:port, such as "
     ":8443"},
    {"bad metrics address from the environment",
     {"--metrics-listen"},
     {"METRICS_LISTEN=[::1]8443"},
     {0},
     "--metrics-listen (METRICS_LISTEN): invalid address '[::1]8443'"},
    {"owner uid with a quote",
     {0},
     {0},
     {"--owner-uid=0b5c9d4e\"x"},
     "--owner-uid: invalid UID '0b5c9d4e\"x'"},
    {"lease namespace not a DNS label",
     {0},
     {"HOST_LEASE_NAMESPACE=Open_Shift.mtv"},
     {0},
     "HOST_LEASE_NAMESPACE: invalid namespace 'Open_Shift.mtv'; expected a DNS label"},
    {"lease namespace too long",
     {0},
     {"HOST_LEASE_NAMESPACE=a123456789012345678901234567890123456789012345678901234567890123"},
     {0},
     "HOST_LEASE_NAMESPACE: invalid namespace"},
    {"unknown trace component",
     {0},
     {0},
     {"--log-trace=http,htpp"},
     "--log-trace (LOG_TRACE): unknown component 'htpp'"},
    {"unknown trace component from the environment",
     {0},
     {"LOG_TRACE=soap,http.ONTAP"},
     {0},
     "--log-trace (LOG_TRACE): unknown component 'http.ONTAP'"},
    /* Typos around a secret flag never echo the value (issue 14 item 5). */
    {"secret flag with three dashes",
     {0},
     {0},
     {"---storage-password=Typo-S3cret"},
     "bad flag syntax: '---storage-password' (its value is not shown)"},
    {"secret flag with '=' for a name",
     {0},
     {0},
     {"--=Typo-S3cret"},
     "bad flag syntax: '--' (its value is not shown)"},
    {"space after a secret flag's '='",
     {0},
     {0},
     {"--storage-password=", " Space-S3cret"},
     "unexpected argument after '--storage-password' (not shown, it may be the secret)"},
    {"space after a vsphere password flag's '='",
     {0},
     {0},
     {"-vsphere-password=", "S3cret-vc"},
     "unexpected argument after '-vsphere-password' (not shown"},
};

static void
test_bad_inputs_in_process(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct config *cfg = NULL;
        struct perr err = {0};
        struct setup s;

        setup_make(&s, c->drop, c->env, c->args);
        if (config_parse(s.argc, argv_of(&s), s.envp, &cfg, &err) == 0)
            fail_msg("case '%s': accepted", c->name);
        assert_null(cfg);
        if (err.code != PERR_USAGE || strstr(err.msg, c->want) == NULL)
            fail_msg("case '%s': got code %d message '%s', want '%s'", c->name, err.code, err.msg,
                     c->want);
        /* One line, and no secret in it. */
        assert_null(strchr(err.msg, '\n'));
        assert_null(strstr(err.msg, "S3cret"));
    }
}

static void
test_bad_inputs_exit_status(void **state)
{
    const char *bin = proc_pop_bin();

    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct buf out = {0}, errout = {0};
        struct setup s;
        int status = -1;

        setup_make(&s, c->drop, c->env, c->args);
        assert_int_equal(proc_run(bin, s.argv, s.envp, &out, &errout, &status), 0);
        if (status != 2 || strstr(buf_cstr(&errout), c->want) == NULL || out.len != 0)
            fail_msg("case '%s': status %d stderr '%s' stdout '%s'", c->name, status,
                     buf_cstr(&errout), buf_cstr(&out));
        assert_null(strstr(buf_cstr(&errout), "S3cret"));
        buf_free(&out);
        buf_free(&errout);
    }
}

static void
test_binary_help_lists_every_flag(void **state)
{
    static const char *const flags[] = {
        "--cr-name",
        "--cr-namespace",
        "--pvc-size",
        "--owner-uid",
        "--owner-name",
        "--secret-name",
        "--source-vm-id",
        "--source-vmdk",
        "--storage-vendor-product",
        "--target-namespace",
        "--storage-hostname",
        "--storage-username",
        "--storage-password",
        "--storage-token",
        "--storage-skip-ssl-verification",
        "--vsphere-hostname",
        "--vsphere-username",
        "--vsphere-password",
        "--esxi-clone-method",
        "--storage-http-timeout-seconds",
        "--migration-host",
        "--kubeconfig",
        "--master",
        "--http-endpoint",
        "--metrics-path",
        "--version",
        "--target-volume-handle",
        "--target-volume-attribute",
        "--esxi-ssh-known-hosts",
        "--write-known-hosts",
        "--log-format",
        "--log-level",
        "--metrics-listen",
        "STORAGE_VENDOR",
        "GOVMOMI_HOSTNAME",
        "GOVMOMI_USERNAME",
        "GOVMOMI_PASSWORD",
        "ESXI_CLONE_METHOD",
        "STORAGE_HTTP_TIMEOUT_SECONDS",
        "STORAGE_SKIP_SSL_VERIFICATION",
        "ESXI_SSH_KNOWN_HOSTS",
        "ESXI_SSH_WRITE_KNOWN_HOSTS",
        "SSH_PRIVATE_KEY",
        "HOST_LEASE_NAMESPACE",
        "DISABLE_VVOL_METHOD",
        "GOVMOMI_INSECURE",
        NULL,
    };
    const char *argv[] = {"pop", "--help", NULL};
    const char *envp[] = {NULL};
    struct buf out = {0}, errout = {0};
    int status = -1;

    (void)state;
    assert_int_equal(proc_run(proc_pop_bin(), argv, envp, &out, &errout, &status), 0);
    assert_int_equal(status, 0);
    for (size_t i = 0; flags[i] != NULL; i++) {
        if (strstr(buf_cstr(&out), flags[i]) == NULL)
            fail_msg("--help does not mention %s", flags[i]);
    }
    buf_free(&out);
    buf_free(&errout);
}

static void
test_binary_version(void **state)
{
    const char *argv[] = {"pop", "-version", NULL};
    const char *envp[] = {NULL};
    struct buf out = {0}, errout = {0};
    int status = -1;

    (void)state;
    assert_int_equal(proc_run(proc_pop_bin(), argv, envp, &out, &errout, &status), 0);
    assert_int_equal(status, 0);
    assert_non_null(strstr(buf_cstr(&out), "vmkfstools_wrapper_version="));
    assert_null(strstr(buf_cstr(&out), "vmkfstools_wrapper_version=dev"));
    buf_free(&out);
    buf_free(&errout);
}

static void
test_binary_termination_log(void **state)
{
    static const char *const drop[] = {"GOVMOMI_PASSWORD=", NULL};
    char path[] = "/tmp/pop-term-XXXXXX";
    char envline[64];
    const char *env_add[] = {envline, NULL};
    struct buf out = {0}, errout = {0};
    char got[1024] = {0};
    struct setup s;
    int status = -1;
    FILE *f;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    snprintf(envline, sizeof(envline), "TERMINATION_LOG=%s", path);
    setup_make(&s, drop, env_add, NULL);
    assert_int_equal(proc_run(proc_pop_bin(), s.argv, s.envp, &out, &errout, &status), 0);
    assert_int_equal(status, 2);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(got, sizeof(got), f));
    fclose(f);
    unlink(path);
    assert_string_equal(got, "missing value for mandatory flag --vsphere-password "
                             "(GOVMOMI_PASSWORD)\n");
    buf_free(&out);
    buf_free(&errout);
}

/* --termination-log is honoured for a configuration error too, over the variable. */
static void
test_binary_termination_log_flag(void **state)
{
    char path[] = "/tmp/pop-term-flag-XXXXXX";
    char other[] = "/tmp/pop-term-env-XXXXXX";
    char flag[64];
    char envline[64];
    const char *env_add[] = {envline, NULL};
    const char *args[] = {flag, "--no-such-flag", NULL};
    struct buf out = {0}, errout = {0};
    char got[1024] = {0};
    struct setup s;
    int status = -1;
    FILE *f;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    fd = mkstemp(other);
    assert_true(fd >= 0);
    close(fd);
    snprintf(flag, sizeof(flag), "--termination-log=%s", path);
    snprintf(envline, sizeof(envline), "TERMINATION_LOG=%s", other);
    setup_make(&s, NULL, env_add, args);
    assert_int_equal(proc_run(proc_pop_bin(), s.argv, s.envp, &out, &errout, &status), 0);
    assert_int_equal(status, 2);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(got, sizeof(got), f));
    fclose(f);
    assert_string_equal(got, "unknown flag '--no-such-flag'; see --help for the list of flags\n");
    f = fopen(other, "r");
    assert_non_null(f);
    assert_null(fgets(got, sizeof(got), f));
    fclose(f);
    unlink(path);
    unlink(other);
    buf_free(&out);
    buf_free(&errout);
}

/* A typo next to a secret flag: the value is in neither stderr nor the termination log. */
static void
test_binary_typo_secret_not_echoed(void **state)
{
    static const char *const typos[][3] = {
        {"---storage-password=Typo-S3cret", NULL, NULL},
        {"--storage-password=", " Typo-S3cret", NULL},
        {"--storage-token=", "Typo-S3cret", NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(typos) / sizeof(typos[0]); i++) {
        char path[] = "/tmp/pop-term-XXXXXX";
        char envline[64];
        const char *env_add[] = {envline, NULL};
        struct buf out = {0}, errout = {0};
        char got[1024] = {0};
        struct setup s;
        int status = -1;
        FILE *f;
        int fd;

        fd = mkstemp(path);
        assert_true(fd >= 0);
        close(fd);
        snprintf(envline, sizeof(envline), "TERMINATION_LOG=%s", path);
        setup_make(&s, NULL, env_add, typos[i]);
        assert_int_equal(proc_run(proc_pop_bin(), s.argv, s.envp, &out, &errout, &status), 0);
        assert_int_equal(status, 2);
        f = fopen(path, "r");
        assert_non_null(f);
        assert_non_null(fgets(got, sizeof(got), f));
        fclose(f);
        unlink(path);
        if (strstr(got, "S3cret") != NULL || strstr(buf_cstr(&errout), "S3cret") != NULL)
            fail_msg("case %zu echoes the secret: stderr '%s' termination log '%s'", i,
                     buf_cstr(&errout), got);
        buf_free(&out);
        buf_free(&errout);
    }
}

static void
test_binary_secret_flag_warning(void **state)
{
    static const char *const drop[] = {"STORAGE_PASSWORD=", NULL};
    static const char *const args[] = {"--storage-password", "Flag-S3cret-pw", NULL};
    struct buf out = {0}, errout = {0};
    struct setup s;
    int status = -1;

    (void)state;
    setup_make(&s, drop, NULL, args);
    assert_int_equal(proc_run(proc_pop_bin(), s.argv, s.envp, &out, &errout, &status), 0);
    /* Pod mode with no Kubernetes configuration here: the configuration check
     * stops the run (exit 2) after the warning, before anything is contacted. */
    assert_int_equal(status, 2);
    assert_non_null(
        strstr(buf_cstr(&errout), "configuration: Kubernetes in-cluster configuration: "));
    assert_non_null(strstr(buf_cstr(&errout), "secret given as a flag is visible in the process "
                                              "list flag=storage-password"));
    assert_null(strstr(buf_cstr(&errout), "S3cret"));
    buf_free(&out);
    buf_free(&errout);
}

/* http:// would carry the array's Basic credentials in clear text: refused
 * for every vendor before anything is sent, exit 2, naming the setting. */
static void
test_binary_refuses_cleartext_storage(void **state)
{
    static const char *const vendors[] = {
        "ontap",       "pureFlashArray", "powerflex",   "powermax", "powerstore",
        "primera3par", "infinibox",      "flashsystem", "vantara",  NULL,
    };

    (void)state;
    for (size_t i = 0; vendors[i] != NULL; i++) {
        char vendor[64];
        const char *env_add[] = {"STORAGE_HOSTNAME=http://10.0.0.7:8080", vendor,
                                 "STORAGE_PORT=8080", NULL};
        struct buf out = {0}, errout = {0};
        struct setup s;
        int status = -1;

        snprintf(vendor, sizeof(vendor), "STORAGE_VENDOR=%s", vendors[i]);
        setup_make(&s, NULL, env_add, NULL);
        assert_int_equal(proc_run(proc_pop_bin(), s.argv, s.envp, &out, &errout, &status), 0);
        if (status != 2 || strstr(buf_cstr(&errout), "STORAGE_HOSTNAME") == NULL ||
            strstr(buf_cstr(&errout), "clear text") == NULL)
            fail_msg("%s: status %d stderr '%s'", vendors[i], status, buf_cstr(&errout));
        assert_null(strstr(buf_cstr(&errout), "S3cret"));
        buf_free(&out);
        buf_free(&errout);
    }
}

/* The preflight takes the populate's flags plus its own; VM, disk and PVC are optional. */
static void
test_preflight_command(void **state)
{
    static const char *const drop[] = {"--source-vm-id", "--source-vmdk", "--target-namespace",
                                       "--owner-name", NULL};
    static const char *const hosts[] = {"--esxi-hosts=host-21,host-23", "--try-map",
                                        "--target-volume-handle=pvc-1", NULL};
    static const char *const no_hosts[] = {"--target-volume-handle=pvc-1", NULL};
    static const char *const try_map_alone[] = {"--esxi-hosts=host-21", "--try-map", NULL};
    static const char *const env_hosts[] = {"ESXI_HOSTS=host-9", NULL};
    struct setup s;
    struct config *cfg = NULL;
    struct perr err = {0};

    (void)state;
    s = (struct setup){0};
    setup_make(&s, drop, NULL, hosts);
    s.argv[0] = "preflight";
    assert_int_equal(
        config_parse_command(CONFIG_COMMAND_PREFLIGHT, s.argc, argv_of(&s), s.envp, &cfg, &err), 0);
    assert_int_equal(cfg->command, CONFIG_COMMAND_PREFLIGHT);
    assert_string_equal(cfg->esxi_hosts, "host-21,host-23");
    assert_true(cfg->try_map);
    assert_null(cfg->source_vm_id);
    config_free(cfg);
    cfg = NULL;

    /* Hosts from the environment. */
    s = (struct setup){0};
    setup_make(&s, drop, env_hosts, no_hosts);
    assert_int_equal(
        config_parse_command(CONFIG_COMMAND_PREFLIGHT, s.argc, argv_of(&s), s.envp, &cfg, &err), 0);
    assert_string_equal(cfg->esxi_hosts, "host-9");
    config_free(cfg);
    cfg = NULL;

    /* No host, no VM: nothing to check. */
    s = (struct setup){0};
    setup_make(&s, drop, NULL, no_hosts);
    assert_int_equal(
        config_parse_command(CONFIG_COMMAND_PREFLIGHT, s.argc, argv_of(&s), s.envp, &cfg, &err),
        -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_string_equal(err.msg, "preflight needs hosts to check: --esxi-hosts (ESXI_HOSTS), "
                                 "--migration-host or --source-vm-id");
    err = (struct perr){0};

    /* --try-map needs the volume to map. */
    s = (struct setup){0};
    setup_make(&s, drop, NULL, try_map_alone);
    assert_int_equal(
        config_parse_command(CONFIG_COMMAND_PREFLIGHT, s.argc, argv_of(&s), s.envp, &cfg, &err),
        -1);
    assert_string_equal(err.msg, "--try-map needs the target volume: give --target-volume-handle");
    err = (struct perr){0};

    /* A populate refuses the preflight's flags and ignores ESXI_HOSTS. */
    s = (struct setup){0};
    setup_make(&s, NULL, NULL, try_map_alone);
    assert_int_equal(config_parse(s.argc, argv_of(&s), s.envp, &cfg, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_string_equal(err.msg, "--esxi-hosts is a flag of the preflight command");
    err = (struct perr){0};
    s = (struct setup){0};
    setup_make(&s, NULL, env_hosts, NULL);
    assert_int_equal(config_parse(s.argc, argv_of(&s), s.envp, &cfg, &err), 0);
    assert_null(cfg->esxi_hosts);
    config_free(cfg);
}

int
main(void)
{
    memcpy(huge_uid, "--owner-uid=", 12);
    memset(huge_uid + 12, 'u', sizeof(huge_uid) - 13);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_is_valid),
        cmocka_unit_test(test_defaults_metrics_listen),
        cmocka_unit_test(test_manual_mode_metrics),
        cmocka_unit_test(test_flag_over_env),
        cmocka_unit_test(test_go_flag_syntax),
        cmocka_unit_test(test_vendor_names),
        cmocka_unit_test(test_token_alone_is_enough),
        cmocka_unit_test(test_manual_mode),
        cmocka_unit_test(test_env_extras),
        cmocka_unit_test(test_ssh_keys),
        cmocka_unit_test(test_termination_log_of_a_failed_parse),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_secret_flag_recorded_and_scrubbed),
        cmocka_unit_test(test_vmdk_paths),
        cmocka_unit_test(test_bad_inputs_in_process),
        cmocka_unit_test(test_bad_inputs_exit_status),
        cmocka_unit_test(test_binary_help_lists_every_flag),
        cmocka_unit_test(test_binary_version),
        cmocka_unit_test(test_binary_termination_log),
        cmocka_unit_test(test_binary_termination_log_flag),
        cmocka_unit_test(test_binary_secret_flag_warning),
        cmocka_unit_test(test_binary_typo_secret_not_echoed),
        cmocka_unit_test(test_binary_refuses_cleartext_storage),
        cmocka_unit_test(test_preflight_command),
    };

    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
