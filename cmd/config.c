#include "cmd/config.h"

#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lib/buf.h"
#include "lib/metrics_httpd.h"
#include "storage/storage.h"

/* Option kinds: how a flag takes its value. */
enum opt_kind {
    OPT_STRING, /* takes a value: --f=v or --f v */
    OPT_BOOL,   /* --f, --f=true|false (Go bool flag) */
    OPT_REPEAT, /* takes a value, may be repeated */
};

enum opt_flags {
    OPTF_SECRET = 1u << 0,    /* value is a secret: warn and scrub from argv */
    OPTF_COMPAT = 1u << 1,    /* accepted for compatibility only */
    OPTF_HIDDEN = 1u << 2,    /* accepted, not listed in --help (klog flags) */
    OPTF_PREFLIGHT = 1u << 3, /* only the preflight command takes it */
};

enum opt_id {
    O_CR_NAME,
    O_CR_NAMESPACE,
    O_PVC_SIZE,
    O_OWNER_UID,
    O_OWNER_NAME,
    O_SECRET_NAME,
    O_SOURCE_VM_ID,
    O_SOURCE_VMDK,
    O_VENDOR,
    O_TARGET_NAMESPACE,
    O_STORAGE_HOSTNAME,
    O_STORAGE_USERNAME,
    O_STORAGE_PASSWORD,
    O_STORAGE_TOKEN,
    O_STORAGE_SKIP_SSL,
    O_STORAGE_CA_FILE,
    O_VSPHERE_HOSTNAME,
    O_VSPHERE_USERNAME,
    O_VSPHERE_PASSWORD,
    O_CLONE_METHOD,
    O_STORAGE_HTTP_TIMEOUT,
    O_MIGRATION_HOST,
    O_KUBECONFIG,
    O_MASTER,
    O_HTTP_ENDPOINT,
    O_METRICS_PATH,
    O_VERSION,
    O_HELP,
    O_TARGET_VOLUME_HANDLE,
    O_TARGET_VOLUME_ATTRIBUTE,
    O_ESXI_SSH_KNOWN_HOSTS,
    O_ESXI_SSH_WRITE_KNOWN_HOSTS,
    O_ESXI_SSH_PORT,
    O_SSH_TIMEOUT,
    O_RESCAN_TIMEOUT,
    O_LOG_FORMAT,
    O_LOG_LEVEL,
    O_LOG_TRACE,
    O_OUTPUT,
    O_METRICS_LISTEN,
    O_TERMINATION_LOG,
    O_KLOG_V,
    O_KLOG_VMODULE,
    O_KLOG_LOGTOSTDERR,
    O_KLOG_ALSOLOGTOSTDERR,
    O_KLOG_LOG_DIR,
    O_KLOG_LOG_FILE,
    O_KLOG_LOG_FILE_MAX_SIZE,
    O_KLOG_SKIP_HEADERS,
    O_KLOG_SKIP_LOG_HEADERS,
    O_KLOG_ADD_DIR_HEADER,
    O_KLOG_ONE_OUTPUT,
    O_KLOG_STDERRTHRESHOLD,
    O_KLOG_LOG_BACKTRACE_AT,
    O_ESXI_HOSTS,
    O_TRY_MAP,
    O_COUNT
};

struct opt {
    const char *name; /* without dashes */
    const char *env;  /* environment default, or NULL */
    enum opt_kind kind;
    unsigned flags;
    const char *def;     /* default value, or NULL */
    const char *metavar; /* for --help */
    const char *help;
};

/* Indexed by enum opt_id; the order here is the order of --help. */
static const struct opt opts[O_COUNT] = {
    [O_SOURCE_VM_ID] = {"source-vm-id", NULL, OPT_STRING, 0, NULL, "ID",
                        "source VM: MoRef value (vm-123) or name (required)"},
    [O_SOURCE_VMDK] = {"source-vmdk", NULL, OPT_STRING, 0, NULL, "PATH",
                       "source disk '[datastore] dir/file.vmdk' (required)"},
    [O_VENDOR] = {"storage-vendor-product", "STORAGE_VENDOR", OPT_STRING, 0, NULL, "NAME",
                  "storage driver (required); see Vendors below"},
    [O_TARGET_NAMESPACE] = {"target-namespace", NULL, OPT_STRING, 0, NULL, "NS",
                            "namespace of the target PVC and its prime PVC"},
    [O_OWNER_NAME] = {"owner-name", NULL, OPT_STRING, 0, NULL, "NAME",
                      "target PVC name, looked up in --target-namespace"},
    [O_OWNER_UID] = {"owner-uid", NULL, OPT_STRING, 0, NULL, "UID",
                     "target PVC UID: the owner_uid label of every metric"},
    [O_MIGRATION_HOST] = {"migration-host", NULL, OPT_STRING, 0, NULL, "HOST",
                          "ESXi HostSystem MoRef value (host-36); default: the VM's host"},
    [O_CR_NAME] = {"cr-name", NULL, OPT_STRING, OPTF_COMPAT, NULL, "NAME",
                   "populator resource name (accepted, unused)"},
    [O_CR_NAMESPACE] = {"cr-namespace", NULL, OPT_STRING, OPTF_COMPAT, NULL, "NS",
                        "populator resource namespace (accepted, unused)"},
    [O_SECRET_NAME] = {"secret-name", NULL, OPT_STRING, OPTF_COMPAT, NULL, "NAME",
                       "per-disk secret name (accepted, unused)"},
    [O_PVC_SIZE] = {"pvc-size", NULL, OPT_STRING, OPTF_COMPAT, NULL, "QUANTITY",
                    "PVC size in bytes or as a quantity (validated, unused)"},
    [O_STORAGE_HOSTNAME] = {"storage-hostname", "STORAGE_HOSTNAME", OPT_STRING, 0, NULL, "HOST",
                            "storage array API address (required)"},
    [O_STORAGE_USERNAME] = {"storage-username", "STORAGE_USERNAME", OPT_STRING, 0, NULL, "USER",
                            "storage array user"},
    [O_STORAGE_PASSWORD] = {"storage-password", "STORAGE_PASSWORD", OPT_STRING, OPTF_SECRET, NULL,
                            "PASSWORD", "storage array password (prefer the environment)"},
    [O_STORAGE_TOKEN] = {"storage-token", "STORAGE_TOKEN", OPT_STRING, OPTF_SECRET, NULL, "TOKEN",
                         "storage array API token instead of user and password"},
    [O_STORAGE_SKIP_SSL] = {"storage-skip-ssl-verification", "STORAGE_SKIP_SSL_VERIFICATION",
                            OPT_STRING, 0, "false", "BOOL",
                            "do not verify the array's TLS certificate"},
    [O_STORAGE_CA_FILE] = {"storage-ca-file", "STORAGE_CA_FILE", OPT_STRING, 0, NULL, "FILE",
                           "CA bundle that signs the array's certificate (default: system store)"},
    [O_STORAGE_HTTP_TIMEOUT] = {"storage-http-timeout-seconds", "STORAGE_HTTP_TIMEOUT_SECONDS",
                                OPT_STRING, 0, "30", "SECONDS",
                                "timeout of one storage API request"},
    [O_VSPHERE_HOSTNAME] = {"vsphere-hostname", "GOVMOMI_HOSTNAME", OPT_STRING, 0, NULL, "HOST",
                            "vCenter host or URL; https:// and /sdk are added (required)"},
    [O_VSPHERE_USERNAME] = {"vsphere-username", "GOVMOMI_USERNAME", OPT_STRING, 0, NULL, "USER",
                            "vCenter user (required)"},
    [O_VSPHERE_PASSWORD] = {"vsphere-password", "GOVMOMI_PASSWORD", OPT_STRING, OPTF_SECRET, NULL,
                            "PASSWORD", "vCenter password (required; prefer the environment)"},
    [O_CLONE_METHOD] = {"esxi-clone-method", "ESXI_CLONE_METHOD", OPT_STRING, 0, "vib", "vib|ssh",
                        "how vmkfstools runs on the ESXi host"},
    [O_ESXI_SSH_KNOWN_HOSTS] = {"esxi-ssh-known-hosts", "ESXI_SSH_KNOWN_HOSTS", OPT_STRING, 0, NULL,
                                "FILE", "known_hosts file pinning the ESXi host key (ssh method)"},
    [O_ESXI_SSH_WRITE_KNOWN_HOSTS] = {"write-known-hosts", "ESXI_SSH_WRITE_KNOWN_HOSTS", OPT_STRING,
                                      0, NULL, "FILE",
                                      "write the ESXi host keys met to FILE (known_hosts format, "
                                      "replaced atomically) for --esxi-ssh-known-hosts"},
    [O_ESXI_SSH_PORT] = {"esxi-ssh-port", "ESXI_SSH_PORT", OPT_STRING, 0, "22", "PORT",
                         "ESXi SSH port (ssh method)"},
    [O_SSH_TIMEOUT] = {"ssh-timeout-seconds", "SSH_TIMEOUT_SECONDS", OPT_STRING, 0, "30", "SECONDS",
                       "SSH connect timeout (ssh method)"},
    [O_RESCAN_TIMEOUT] = {"rescan-timeout-seconds", "RESCAN_TIMEOUT_SECONDS", OPT_STRING, 0, "120",
                          "SECONDS", "how long the mapped LUN may take to appear on the ESXi host"},
    [O_TARGET_VOLUME_HANDLE] = {"target-volume-handle", NULL, OPT_STRING, 0, NULL, "HANDLE",
                                "manual mode: the PV's CSI volume handle (no Kubernetes)"},
    [O_TARGET_VOLUME_ATTRIBUTE] = {"target-volume-attribute", NULL, OPT_REPEAT, 0, NULL,
                                   "KEY=VALUE", "manual mode: a CSI volume attribute (repeatable)"},
    [O_KUBECONFIG] = {"kubeconfig", NULL, OPT_STRING, 0, NULL, "FILE",
                      "kubeconfig file; default: in-cluster configuration"},
    [O_MASTER] = {"master", NULL, OPT_STRING, 0, NULL, "URL",
                  "Kubernetes API server address (overrides the kubeconfig)"},
    [O_LOG_FORMAT] = {"log-format", "LOG_FORMAT", OPT_STRING, 0, "text", "text|json",
                      "log line format on stderr"},
    [O_LOG_LEVEL] = {"log-level", "LOG_LEVEL", OPT_STRING, 0, "info", "error|warn|info|debug|trace",
                     "least severe level logged"},
    [O_LOG_TRACE] = {"log-trace", "LOG_TRACE", OPT_STRING, 0, NULL, "COMPONENTS",
                     "components whose wire traffic is traced (http,soap,ssh or all)"},
    [O_OUTPUT] = {"output", NULL, OPT_STRING, 0, "text", "text|json",
                  "json: print one result object on stdout at the end"},
    [O_METRICS_LISTEN] = {"metrics-listen", "METRICS_LISTEN", OPT_STRING, 0, ":8443", "ADDR",
                          "HTTPS metrics endpoint address; empty disables it; in manual "
                          "mode there is none unless given"},
    [O_TERMINATION_LOG] = {"termination-log", "TERMINATION_LOG", OPT_STRING, 0,
                           "/dev/termination-log", "FILE",
                           "where the one-line failure is written, if the file exists"},
    [O_HTTP_ENDPOINT] = {"http-endpoint", NULL, OPT_STRING, OPTF_COMPAT, NULL, "ADDR",
                         "accepted for compatibility, unused"},
    [O_METRICS_PATH] = {"metrics-path", NULL, OPT_STRING, OPTF_COMPAT, "/metrics", "PATH",
                        "accepted for compatibility; the path is always /metrics"},
    [O_VERSION] = {"version", NULL, OPT_BOOL, 0, NULL, NULL, "print the version and exit"},
    [O_HELP] = {"help", NULL, OPT_BOOL, 0, NULL, NULL, "print this help and exit"},
    [O_ESXI_HOSTS] = {"esxi-hosts", "ESXI_HOSTS", OPT_STRING, OPTF_PREFLIGHT, NULL, "HOSTS",
                      "preflight: comma-separated HostSystem MoRef values (host-21) to check; "
                      "default: --migration-host, else every host of the source VM's cluster"},
    [O_TRY_MAP] = {"try-map", NULL, OPT_BOOL, OPTF_PREFLIGHT, NULL, NULL,
                   "preflight: map the target volume to each host, look for the device, unmap"},
    [O_KLOG_V] = {"v", NULL, OPT_STRING, OPTF_HIDDEN, NULL, "N", "klog verbosity"},
    [O_KLOG_VMODULE] = {"vmodule", NULL, OPT_STRING, OPTF_HIDDEN, NULL, NULL, NULL},
    [O_KLOG_LOGTOSTDERR] = {"logtostderr", NULL, OPT_BOOL, OPTF_HIDDEN, NULL, NULL, NULL},
    [O_KLOG_ALSOLOGTOSTDERR] = {"alsologtostderr", NULL, OPT_BOOL, OPTF_HIDDEN, NULL, NULL, NULL},
    [O_KLOG_LOG_DIR] = {"log_dir", NULL, OPT_STRING, OPTF_HIDDEN, NULL, NULL, NULL},
    [O_KLOG_LOG_FILE] = {"log_file", NULL, OPT_STRING, OPTF_HIDDEN, NULL, NULL, NULL},
    [O_KLOG_LOG_FILE_MAX_SIZE] = {"log_file_max_size", NULL, OPT_STRING, OPTF_HIDDEN, NULL, NULL,
                                  NULL},
    [O_KLOG_SKIP_HEADERS] = {"skip_headers", NULL, OPT_BOOL, OPTF_HIDDEN, NULL, NULL, NULL},
    [O_KLOG_SKIP_LOG_HEADERS] = {"skip_log_headers", NULL, OPT_BOOL, OPTF_HIDDEN, NULL, NULL, NULL},
    [O_KLOG_ADD_DIR_HEADER] = {"add_dir_header", NULL, OPT_BOOL, OPTF_HIDDEN, NULL, NULL, NULL},
    [O_KLOG_ONE_OUTPUT] = {"one_output", NULL, OPT_BOOL, OPTF_HIDDEN, NULL, NULL, NULL},
    [O_KLOG_STDERRTHRESHOLD] = {"stderrthreshold", NULL, OPT_STRING, OPTF_HIDDEN, NULL, NULL, NULL},
    [O_KLOG_LOG_BACKTRACE_AT] = {"log_backtrace_at", NULL, OPT_STRING, OPTF_HIDDEN, NULL, NULL,
                                 NULL},
};

/* The order --help lists the options in. */
static const enum opt_id help_order[] = {
    O_SOURCE_VM_ID,
    O_SOURCE_VMDK,
    O_VENDOR,
    O_TARGET_NAMESPACE,
    O_OWNER_NAME,
    O_OWNER_UID,
    O_MIGRATION_HOST,
    O_STORAGE_HOSTNAME,
    O_STORAGE_USERNAME,
    O_STORAGE_PASSWORD,
    O_STORAGE_TOKEN,
    O_STORAGE_SKIP_SSL,
    O_STORAGE_CA_FILE,
    O_STORAGE_HTTP_TIMEOUT,
    O_VSPHERE_HOSTNAME,
    O_VSPHERE_USERNAME,
    O_VSPHERE_PASSWORD,
    O_CLONE_METHOD,
    O_ESXI_SSH_KNOWN_HOSTS,
    O_ESXI_SSH_WRITE_KNOWN_HOSTS,
    O_ESXI_SSH_PORT,
    O_SSH_TIMEOUT,
    O_RESCAN_TIMEOUT,
    O_TARGET_VOLUME_HANDLE,
    O_TARGET_VOLUME_ATTRIBUTE,
    O_KUBECONFIG,
    O_MASTER,
    O_LOG_FORMAT,
    O_LOG_LEVEL,
    O_LOG_TRACE,
    O_OUTPUT,
    O_METRICS_LISTEN,
    O_TERMINATION_LOG,
    O_ESXI_HOSTS,
    O_TRY_MAP,
    O_CR_NAME,
    O_CR_NAMESPACE,
    O_SECRET_NAME,
    O_PVC_SIZE,
    O_HTTP_ENDPOINT,
    O_METRICS_PATH,
    O_VERSION,
    O_HELP,
};

/* Raw string values while parsing: from the environment first, then flags. */
struct raw {
    char *val[O_COUNT];
    bool from_flag[O_COUNT];
    struct kv *attrs;
    size_t nattrs;
};

static const char *
env_get(const char *const envp[], const char *key)
{
    size_t n = strlen(key);

    if (envp == NULL)
        return NULL;
    for (size_t i = 0; envp[i] != NULL; i++) {
        if (strncmp(envp[i], key, n) == 0 && envp[i][n] == '=')
            return envp[i] + n + 1;
    }
    return NULL;
}

/* The value of key in kv[0..n), or NULL. */
static const char *
kv_find(const struct kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(kv[i].key, key) == 0)
            return kv[i].value;
    }
    return NULL;
}

static void
kv_free_array(struct kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

static void
raw_free(struct raw *r)
{
    for (size_t i = 0; i < O_COUNT; i++) {
        if (opts[i].flags & OPTF_SECRET)
            str_free_secret(r->val[i]);
        else
            free(r->val[i]);
    }
    kv_free_array(r->attrs, r->nattrs);
}

static int
raw_set(struct raw *r, enum opt_id id, const char *value, bool from_flag, struct perr *err)
{
    char *copy = strdup(value);

    if (copy == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    if (opts[id].flags & OPTF_SECRET)
        str_free_secret(r->val[id]);
    else
        free(r->val[id]);
    r->val[id] = copy;
    r->from_flag[id] = from_flag;
    return 0;
}

static int
find_opt(const char *name, size_t len)
{
    for (int i = 0; i < O_COUNT; i++) {
        if (opts[i].name != NULL && strlen(opts[i].name) == len &&
            strncmp(opts[i].name, name, len) == 0)
            return i;
    }
    /* Go's flag package also answers -h and -help. */
    if (len == 1 && name[0] == 'h')
        return O_HELP;
    return -1;
}

/* "--name (ENV)" for messages. */
static const char *
opt_label(enum opt_id id, char *out, size_t n)
{
    if (opts[id].env != NULL)
        snprintf(out, n, "--%s (%s)", opts[id].name, opts[id].env);
    else
        snprintf(out, n, "--%s", opts[id].name);
    return out;
}

static int
add_attr(struct raw *r, const char *spec, struct perr *err)
{
    const char *eq = strchr(spec, '=');
    struct kv *grown;
    char *key = NULL;
    char *value = NULL;
    int rc = -1;

    if (eq == NULL || eq == spec) {
        perr_set(err, PERR_USAGE,
                 "--target-volume-attribute: '%s' is not KEY=VALUE with a non-empty KEY", spec);
        goto out;
    }
    key = strndup(spec, (size_t)(eq - spec));
    value = strdup(eq + 1);
    if (key == NULL || value == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    if (kv_find(r->attrs, r->nattrs, key) != NULL) {
        perr_set(err, PERR_USAGE, "--target-volume-attribute: key '%s' given twice", key);
        goto out;
    }
    grown = realloc(r->attrs, (r->nattrs + 1) * sizeof(*grown));
    if (grown == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    r->attrs = grown;
    r->attrs[r->nattrs].key = key;
    r->attrs[r->nattrs].value = value;
    r->nattrs++;
    key = NULL;
    value = NULL;
    rc = 0;
out:
    free(key);
    free(value);
    return rc;
}

/* Go's strconv.ParseBool words. */
static int
parse_go_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* True when a is a flag ("-name", "--name", "--name=...", with extra dashes
 * too) that names a secret option: whatever follows it may be the secret. */
static bool
arg_names_secret(const char *a)
{
    const char *name = a;
    int id;

    while (*name == '-')
        name++;
    if (name == a)
        return false;
    id = find_opt(name, strcspn(name, "="));
    return id >= 0 && (opts[id].flags & OPTF_SECRET);
}

/* An argument that is not a flag.  It is quoted in the message unless it
 * follows a secret flag: "--storage-password= S" must not print S. */
static int
unexpected_arg(char *const argv[], int i, struct perr *err)
{
    const char *prev = argv[i - 1];

    if (i > 1 && arg_names_secret(prev))
        return perr_set(err, PERR_USAGE,
                        "unexpected argument after '%.*s' (not shown, it may be the secret): "
                        "write the flag and its value as --flag=VALUE or --flag VALUE",
                        (int)strcspn(prev, "="), prev);
    return perr_set(err, PERR_USAGE, "unexpected argument '%s': options start with - or --",
                    argv[i]);
}

static int
parse_args(int argc, char *const argv[], struct raw *r, struct config *cfg, struct perr *err)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *name;
        const char *eq;
        const char *value = NULL;
        size_t len;
        int id;

        if (a[0] != '-' || a[1] == '\0')
            return unexpected_arg(argv, i, err);
        if (strcmp(a, "--") == 0) {
            if (i + 1 < argc)
                return perr_set(err, PERR_USAGE, "unexpected argument '%s' after --", argv[i + 1]);
            break;
        }
        name = a + (a[1] == '-' ? 2 : 1);
        /* The text after '=' is never quoted: it may be a secret ("---storage-password=S"). */
        if (*name == '-' || *name == '=')
            return perr_set(err, PERR_USAGE, "bad flag syntax: '%.*s'%s", (int)strcspn(a, "="), a,
                            strchr(a, '=') != NULL ? " (its value is not shown)" : "");
        eq = strchr(name, '=');
        len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        id = find_opt(name, len);
        if (id < 0)
            return perr_set(err, PERR_USAGE,
                            "unknown flag '%.*s'; see --help for the list of flags",
                            (int)(name - a + (ptrdiff_t)len), a);
        if (opts[id].kind == OPT_BOOL) {
            bool b = true;

            if (eq != NULL && parse_go_bool(eq + 1, &b) < 0)
                return perr_set(err, PERR_USAGE,
                                "--%s: invalid boolean value '%s'; use true or false",
                                opts[id].name, eq + 1);
            if ((opts[id].flags & OPTF_PREFLIGHT) && cfg->command != CONFIG_COMMAND_PREFLIGHT)
                return perr_set(err, PERR_USAGE, "--%s is a flag of the preflight command",
                                opts[id].name);
            if (id == O_TRY_MAP)
                cfg->try_map = b;
            if (id == O_HELP && b)
                cfg->action = CONFIG_ACTION_HELP;
            else if (id == O_VERSION && b && cfg->action != CONFIG_ACTION_HELP)
                cfg->action = CONFIG_ACTION_VERSION;
            continue;
        }
        if (eq != NULL) {
            value = eq + 1;
        } else {
            /* Like Go's flag package, the next argument is the value whatever it is. */
            if (i + 1 >= argc)
                return perr_set(err, PERR_USAGE, "flag needs an argument: --%s", opts[id].name);
            value = argv[++i];
        }
        if ((opts[id].flags & OPTF_PREFLIGHT) && cfg->command != CONFIG_COMMAND_PREFLIGHT)
            return perr_set(err, PERR_USAGE, "--%s is a flag of the preflight command",
                            opts[id].name);
        if (opts[id].flags & OPTF_SECRET) {
            bool seen = false;

            for (size_t k = 0; k < cfg->n_secret_flags; k++)
                seen = seen || strcmp(cfg->secret_flags[k], opts[id].name) == 0;
            if (!seen && cfg->n_secret_flags < ARRAY_LEN(cfg->secret_flags))
                cfg->secret_flags[cfg->n_secret_flags++] = opts[id].name;
        }
        if (opts[id].kind == OPT_REPEAT) {
            if (add_attr(r, value, err) < 0)
                return -1;
            continue;
        }
        if (raw_set(r, (enum opt_id)id, value, true, err) < 0)
            return -1;
    }
    return 0;
}

const char *
config_termination_log(int argc, char *const argv[], const char *const envp[])
{
    const char *found = NULL;
    const char *v;

    /* The same walk as parse_args(), reduced to finding one flag: it stops at
     * the first argument parse_args() would refuse, keeping what it found. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *name;
        const char *eq;
        size_t len;
        int id;

        if (a[0] != '-' || a[1] == '\0' || strcmp(a, "--") == 0)
            break;
        name = a + (a[1] == '-' ? 2 : 1);
        eq = strchr(name, '=');
        len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        id = find_opt(name, len);
        if (id < 0 || *name == '-' || *name == '=')
            break;
        if (opts[id].kind == OPT_BOOL)
            continue;
        if (eq == NULL) {
            if (i + 1 >= argc)
                break;
            v = argv[++i];
        } else {
            v = eq + 1;
        }
        if (id == O_TERMINATION_LOG)
            found = v;
    }
    if (found != NULL)
        return found;
    v = env_get(envp, opts[O_TERMINATION_LOG].env);
    return v != NULL ? v : opts[O_TERMINATION_LOG].def;
}

/* Strings: trimmed of surrounding white space (secret files often end in a newline). */
static int
take_string(struct raw *r, enum opt_id id, char **out, struct perr *err)
{
    const char *v = r->val[id] != NULL ? r->val[id] : opts[id].def;
    size_t n;

    /* Given but blank means "none" (--metrics-listen= disables the endpoint). */
    *out = NULL;
    if (v == NULL)
        return 0;
    while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
        v++;
    n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\n' || v[n - 1] == '\r'))
        n--;
    if (n == 0)
        return 0;
    *out = strndup(v, n);
    if (*out == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    return 0;
}

static int
parse_long_range(struct raw *r, enum opt_id id, long min, long max, long *out, struct perr *err)
{
    char label[128];
    const char *v = r->val[id] != NULL ? r->val[id] : opts[id].def;
    char *end = NULL;
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno != 0 || n < min || n > max)
        return perr_set(err, PERR_USAGE,
                        "%s: invalid value '%s'; expected a whole number from %ld to %ld",
                        opt_label(id, label, sizeof(label)), v, min, max);
    *out = n;
    return 0;
}

static int
parse_bool_opt(struct raw *r, enum opt_id id, bool *out, struct perr *err)
{
    char label[128];
    const char *v = r->val[id];

    *out = false;
    if (v == NULL || *v == '\0')
        return 0;
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0) {
        *out = true;
        return 0;
    }
    if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcasecmp(v, "no") == 0)
        return 0;
    return perr_set(err, PERR_USAGE, "%s: invalid value '%s'; expected true or false",
                    opt_label(id, label, sizeof(label)), v);
}

int
config_parse_vmdk_path(const char *path, char **ds, char **dir, char **file, struct perr *err)
{
    const char *close;
    const char *rest;
    const char *slash;
    int rc = -1;

    *ds = NULL;
    *dir = NULL;
    *file = NULL;
    close = strstr(path, "] ");
    if (path[0] != '[' || close == NULL || close == path + 1)
        goto bad;
    rest = close + 2;
    slash = strchr(rest, '/');
    if (slash == NULL || slash == rest || strchr(slash + 1, '/') != NULL || slash[1] == '\0')
        goto bad;
    if (strlen(slash + 1) < 6 || strcmp(slash + 1 + strlen(slash + 1) - 5, ".vmdk") != 0)
        goto bad;
    *ds = strndup(path + 1, (size_t)(close - path - 1));
    *dir = strndup(rest, (size_t)(slash - rest));
    *file = strdup(slash + 1);
    if (*ds == NULL || *dir == NULL || *file == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
    goto out;
bad:
    perr_set(err, PERR_USAGE,
             "--source-vmdk: invalid path '%s'; expected '[datastore] vmname/disk.vmdk'", path);
out:
    if (rc < 0) {
        free(*ds);
        free(*dir);
        free(*file);
        *ds = NULL;
        *dir = NULL;
        *file = NULL;
    }
    return rc;
}

/* A Kubernetes quantity: digits with an optional fraction and a binary/decimal suffix. */
static int
parse_quantity(const char *s, unsigned long long *out)
{
    static const struct {
        const char *sfx;
        double mul;
    } sfx[] = {{"", 1},
               {"k", 1e3},
               {"M", 1e6},
               {"G", 1e9},
               {"T", 1e12},
               {"P", 1e15},
               {"E", 1e18},
               {"Ki", 1024.0},
               {"Mi", 1048576.0},
               {"Gi", 1073741824.0},
               {"Ti", 1099511627776.0},
               {"Pi", 1125899906842624.0},
               {"Ei", 1152921504606846976.0}};
    char *end = NULL;
    double v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s)
        return -1;
    for (size_t i = 0; i < ARRAY_LEN(sfx); i++) {
        if (strcmp(end, sfx[i].sfx) == 0) {
            double b = v * sfx[i].mul;

            if (!isfinite(b) || b > 1.8e19)
                return -1;
            *out = (unsigned long long)b;
            return 0;
        }
    }
    return -1;
}

/* Only the base64 alphabet, '=' padding at the end, and white space between lines. */
static bool
is_base64_text(const char *in)
{
    size_t pad = 0;
    size_t n = 0;

    for (const char *p = in; *p != '\0'; p++) {
        if (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t')
            continue;
        if (*p == '=') {
            pad++;
        } else if (pad > 0 || !((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                                (*p >= '0' && *p <= '9') || *p == '+' || *p == '/')) {
            return false;
        }
        n++;
    }
    return n > 0 && n % 4 == 0 && pad <= 2;
}

/* An authorized_keys line "TYPE BLOB [COMMENT]" whose BLOB is base64 of an
 * SSH key of that TYPE (the blob starts with the type name, length-prefixed). */
static bool
is_authorized_key_line(const char *line)
{
    size_t tlen = strcspn(line, " \t");
    const char *b64 = line + tlen;
    unsigned char *blob = NULL;
    char *text = NULL;
    size_t blen;
    int n;
    bool ok = false;

    if (tlen == 0 || tlen > 64 || *b64 == '\0')
        return false;
    while (*b64 == ' ' || *b64 == '\t')
        b64++;
    blen = strcspn(b64, " \t\r\n");
    text = strndup(b64, blen);
    blob = malloc(blen / 4 * 3 + 4);
    if (text == NULL || blob == NULL || !is_base64_text(text) || blen > INT_MAX)
        goto out;
    n = EVP_DecodeBlock(blob, (const unsigned char *)text, (int)blen);
    ok = n >= (int)tlen + 4 && blob[0] == 0 && blob[1] == 0 && blob[2] == 0 && blob[3] == tlen &&
         memcmp(blob + 4, line, tlen) == 0;
out:
    free(text);
    free(blob);
    return ok;
}

/* Base64 as the controller passes the SSH keys; newlines in the text are tolerated. */
static int
decode_base64(const char *what, const char *in, unsigned char **out, size_t *outlen,
              struct perr *err)
{
    EVP_ENCODE_CTX *ctx = NULL;
    unsigned char *buf = NULL;
    size_t inlen = strlen(in);
    int n1 = 0;
    int n2 = 0;
    int rc = -1;

    *out = NULL;
    *outlen = 0;
    ctx = EVP_ENCODE_CTX_new();
    buf = malloc(inlen / 4 * 3 + 4);
    if (ctx == NULL || buf == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    EVP_DecodeInit(ctx);
    if (inlen > INT_MAX || !is_base64_text(in) ||
        EVP_DecodeUpdate(ctx, buf, &n1, (const unsigned char *)in, (int)inlen) < 0 ||
        EVP_DecodeFinal(ctx, buf + n1, &n2) < 0 || n1 + n2 == 0) {
        perr_set(err, PERR_USAGE,
                 "%s: not valid base64; the controller passes the key base64-encoded", what);
        goto out;
    }
    *outlen = (size_t)(n1 + n2);
    buf[*outlen] = '\0';
    *out = buf;
    buf = NULL;
    rc = 0;
out:
    if (buf != NULL) {
        OPENSSL_cleanse(buf, inlen / 4 * 3 + 4);
        free(buf);
    }
    EVP_ENCODE_CTX_free(ctx);
    return rc;
}

/* VIB_AUTO_INSTALL and the root credential it needs (only with the vib method). */
static int
load_vib_auto(const char *const envp[], struct config *cfg, struct perr *err)
{
    const char *v = env_get(envp, "VIB_AUTO_INSTALL");
    const char *key = env_get(envp, "ESXI_ROOT_SSH_KEY");
    const char *file = env_get(envp, "SSH_KEY_FILE");
    const char *pw = env_get(envp, "ESXI_ROOT_PASSWORD");
    FILE *f = NULL;
    int rc = -1;

    if (v == NULL || *v == '\0')
        return 0;
    if (parse_go_bool(v, &cfg->vib_auto_install) < 0)
        return perr_set(err, PERR_USAGE,
                        "VIB_AUTO_INSTALL: invalid value '%s'; expected true or false", v);
    if (!cfg->vib_auto_install || cfg->clone_method != CLONE_METHOD_VIB)
        return 0;
    v = env_get(envp, "VIB_PATH");
    cfg->vib_path = strdup(v != NULL && *v != '\0' ? v : "/bin/vmkfstools-wrapper.vib");
    if (cfg->vib_path == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    if (key != NULL && *key != '\0') {
        if (decode_base64("ESXI_ROOT_SSH_KEY", key, &cfg->root_ssh_key, &cfg->root_ssh_key_len,
                          err) < 0)
            goto out;
    } else if (file != NULL && *file != '\0') {
        unsigned char chunk[65536];
        size_t n;

        f = fopen(file, "rb");
        n = f != NULL ? fread(chunk, 1, sizeof(chunk) - 1, f) : 0;
        if (f == NULL || n == 0 || n == sizeof(chunk) - 1) {
            perr_set(err, PERR_USAGE, "SSH_KEY_FILE: cannot read a private key from '%s'", file);
            goto out;
        }
        cfg->root_ssh_key = malloc(n + 1);
        if (cfg->root_ssh_key == NULL) {
            OPENSSL_cleanse(chunk, n);
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
        memcpy(cfg->root_ssh_key, chunk, n);
        cfg->root_ssh_key[n] = '\0';
        cfg->root_ssh_key_len = n;
        OPENSSL_cleanse(chunk, n);
    } else if (pw != NULL && *pw != '\0') {
        cfg->root_password = strdup(pw);
        if (cfg->root_password == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
    } else {
        perr_set(err, PERR_USAGE,
                 "VIB_AUTO_INSTALL=true needs a root login for the ESXi host: root's private key "
                 "in ESXI_ROOT_SSH_KEY (base64) or SSH_KEY_FILE, or ESXI_ROOT_PASSWORD");
        goto out;
    }
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    return rc;
}

static int
load_ssh_keys(const char *const envp[], struct config *cfg, struct perr *err)
{
    const char *priv = env_get(envp, "SSH_PRIVATE_KEY");
    const char *pub = env_get(envp, "SSH_PUBLIC_KEY");
    unsigned char *pubraw = NULL;
    size_t publen = 0;
    int rc = -1;

    if (priv == NULL || *priv == '\0' || pub == NULL || *pub == '\0') {
        perr_set(err, PERR_USAGE,
                 "--esxi-clone-method (ESXI_CLONE_METHOD) is ssh but SSH_PRIVATE_KEY and "
                 "SSH_PUBLIC_KEY are not both set; the provider controller sets them in the "
                 "populator secret");
        goto out;
    }
    if (decode_base64("SSH_PRIVATE_KEY", priv, &cfg->ssh_private_key, &cfg->ssh_private_key_len,
                      err) < 0)
        goto out;
    if (strstr((const char *)cfg->ssh_private_key, "PRIVATE KEY-----") == NULL) {
        perr_set(err, PERR_USAGE,
                 "SSH_PRIVATE_KEY: decoded value is not a PEM or OpenSSH private key");
        goto out;
    }
    if (decode_base64("SSH_PUBLIC_KEY", pub, &pubraw, &publen, err) < 0)
        goto out;
    /* Keep one line without the trailing newline. */
    pubraw[strcspn((char *)pubraw, "\r\n")] = '\0';
    if ((strncmp((const char *)pubraw, "ssh-", 4) != 0 &&
         strncmp((const char *)pubraw, "ecdsa-", 6) != 0 &&
         strncmp((const char *)pubraw, "sk-", 3) != 0) ||
        !is_authorized_key_line((const char *)pubraw)) {
        perr_set(err, PERR_USAGE,
                 "SSH_PUBLIC_KEY: decoded value is not an authorized_keys public key line "
                 "(TYPE BASE64-KEY [COMMENT])");
        goto out;
    }
    cfg->ssh_public_key = (char *)pubraw;
    pubraw = NULL;
    rc = 0;
out:
    free(pubraw);
    return rc;
}

/* The chosen driver's own keys (storage_driver.env_keys) from the
 * environment; other vendors' keys are not this run's business. */
static int
collect_vendor_env(const char *const envp[], struct config *cfg, struct perr *err)
{
    const struct storage_driver *drv = storage_driver_find(cfg->vendor);
    size_t n = 0;

    if (drv == NULL || drv->env_keys == NULL)
        return 0;
    while (drv->env_keys[n].key != NULL)
        n++;
    cfg->vendor_env = calloc(n + 1, sizeof(*cfg->vendor_env));
    if (cfg->vendor_env == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *v = env_get(envp, drv->env_keys[i].key);
        struct kv *kv;

        if (v == NULL || *v == '\0')
            continue;
        kv = &cfg->vendor_env[cfg->n_vendor_env];
        kv->key = strdup(drv->env_keys[i].key);
        kv->value = strdup(v);
        cfg->n_vendor_env++;
        if (kv->key == NULL || kv->value == NULL)
            return perr_set(err, PERR_NOMEM, "out of memory");
    }
    return 0;
}

/* Any registered vendor is accepted here, built or not: a vendor this build
 * lacks is reported by the run (exit 2 either way), as "not supported by
 * this build yet" rather than "unknown". */
static int
check_vendor(const char *v, char **out, struct perr *err)
{
    const struct storage_driver *drv = storage_driver_find(v);
    struct buf list = {0};
    struct perr tmp = {0};

    *out = NULL;
    if (drv != NULL) {
        *out = strdup(drv->name);
        return *out != NULL ? 0 : perr_set(err, PERR_NOMEM, "out of memory");
    }
    storage_driver_names(&list, false, &tmp);
    perr_set(err, PERR_USAGE,
             "--storage-vendor-product (STORAGE_VENDOR): unknown storage vendor '%s'; valid: %s", v,
             buf_cstr(&list));
    buf_free(&list);
    return -1;
}

static int
check_required(struct config *cfg, struct perr *err)
{
    struct {
        const char *value;
        enum opt_id id;
    } req[] = {
        {cfg->source_vm_id, O_SOURCE_VM_ID},
        {cfg->source_vmdk, O_SOURCE_VMDK},
        {cfg->vendor, O_VENDOR},
        {cfg->storage_hostname, O_STORAGE_HOSTNAME},
        {cfg->vsphere_hostname, O_VSPHERE_HOSTNAME},
        {cfg->vsphere_username, O_VSPHERE_USERNAME},
        {cfg->vsphere_password, O_VSPHERE_PASSWORD},
    };
    char label[128];

    for (size_t i = 0; i < ARRAY_LEN(req); i++) {
        /* A preflight checks hosts and the array; the VM and disk are optional there. */
        if (cfg->command == CONFIG_COMMAND_PREFLIGHT &&
            (req[i].id == O_SOURCE_VM_ID || req[i].id == O_SOURCE_VMDK))
            continue;
        if (req[i].value == NULL)
            return perr_set(err, PERR_USAGE, "missing value for mandatory flag %s",
                            opt_label(req[i].id, label, sizeof(label)));
    }
    if (cfg->storage_token == NULL &&
        (cfg->storage_username == NULL || cfg->storage_password == NULL))
        return perr_set(err, PERR_USAGE,
                        "either STORAGE_TOKEN (--storage-token) or both STORAGE_USERNAME "
                        "(--storage-username) and STORAGE_PASSWORD (--storage-password) must be "
                        "provided");
    if (storage_hostname_check(cfg->storage_hostname, err) < 0)
        return -1;
    if (cfg->command == CONFIG_COMMAND_PREFLIGHT && cfg->esxi_hosts == NULL &&
        cfg->migration_host == NULL && cfg->source_vm_id == NULL)
        return perr_set(err, PERR_USAGE,
                        "preflight needs hosts to check: --esxi-hosts (ESXI_HOSTS), "
                        "--migration-host or --source-vm-id");
    if (cfg->command == CONFIG_COMMAND_PREFLIGHT && cfg->try_map &&
        cfg->target_volume_handle == NULL)
        return perr_set(err, PERR_USAGE,
                        "--try-map needs the target volume: give --target-volume-handle");
    if (cfg->target_volume_handle == NULL && cfg->command != CONFIG_COMMAND_PREFLIGHT) {
        if (cfg->n_target_attrs > 0)
            return perr_set(err, PERR_USAGE,
                            "--target-volume-attribute needs --target-volume-handle (manual mode)");
        if (cfg->owner_name == NULL || cfg->target_namespace == NULL)
            return perr_set(err, PERR_USAGE,
                            "missing value for flag --owner-name or --target-namespace: the target "
                            "PVC to look up (or give --target-volume-handle for manual mode)");
    }
    return 0;
}

#define CONFIG_QUOTE_MAX 64 /* longer junk is described by its size, not echoed */

/* "'value'" for a short value, "a value of N bytes" for a long one. */
static const char *
shown_value(const char *v, char *out, size_t n)
{
    size_t len = strlen(v);

    /* The precision only tells the compiler what len already bounds. */
    if (len <= CONFIG_QUOTE_MAX)
        snprintf(out, n, "'%.*s'", CONFIG_QUOTE_MAX, v);
    else
        snprintf(out, n, "a value of %zu bytes", len);
    return out;
}

/* A Kubernetes object UID: the owner_uid label of every metric. */
static int
check_owner_uid(const char *v, struct perr *err)
{
    char shown[CONFIG_QUOTE_MAX + 32];
    size_t len = strlen(v);
    bool ok = len <= 128;

    for (const char *p = v; ok && *p != '\0'; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             *p == '-' || *p == '.' || *p == '_';
    if (ok)
        return 0;
    return perr_set(err, PERR_USAGE,
                    "--owner-uid: invalid UID %s; expected the PVC's UID (at most 128 letters, "
                    "digits, '-', '.' or '_')",
                    shown_value(v, shown, sizeof(shown)));
}

/* RFC 1123 label, as Kubernetes wants for a namespace name. */
static bool
is_dns_label(const char *v)
{
    size_t len = strlen(v);

    if (len == 0 || len > 63 || v[0] == '-' || v[len - 1] == '-')
        return false;
    for (const char *p = v; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    }
    return true;
}

/* "http,soap,ssh", "all", or "http.<client>" items (http.ontap, http.kube, ...). */
static int
check_log_trace(const char *v, struct perr *err)
{
    static const char *const known[] = {"all", "http", "soap", "ssh"};
    char shown[CONFIG_QUOTE_MAX + 32];
    const char *p = v;

    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        bool ok = false;

        for (size_t i = 0; i < ARRAY_LEN(known); i++)
            ok = ok || (strlen(known[i]) == n && strncmp(p, known[i], n) == 0);
        if (!ok && n > 5 && n <= 40 && strncmp(p, "http.", 5) == 0) {
            ok = true;
            for (size_t i = 5; i < n; i++)
                ok = ok && ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') ||
                            p[i] == '_' || p[i] == '-');
        }
        if (!ok) {
            char item[CONFIG_QUOTE_MAX + 1];

            snprintf(item, sizeof(item), "%.*s", (int)(n < CONFIG_QUOTE_MAX ? n : CONFIG_QUOTE_MAX),
                     p);
            return perr_set(err, PERR_USAGE,
                            "--log-trace (LOG_TRACE): unknown component %s; expected a "
                            "comma-separated list of http, soap, ssh, http.<client> or all",
                            n <= CONFIG_QUOTE_MAX ? shown_value(item, shown, sizeof(shown))
                                                  : "(too long to show)");
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int
build_config(const char *const envp[], struct raw *r, struct config *cfg, struct perr *err)
{
    struct {
        enum opt_id id;
        char **dst;
    } strings[] = {
        {O_CR_NAME, &cfg->cr_name},
        {O_CR_NAMESPACE, &cfg->cr_namespace},
        {O_PVC_SIZE, &cfg->pvc_size},
        {O_OWNER_UID, &cfg->owner_uid},
        {O_OWNER_NAME, &cfg->owner_name},
        {O_SECRET_NAME, &cfg->secret_name},
        {O_TARGET_NAMESPACE, &cfg->target_namespace},
        {O_SOURCE_VM_ID, &cfg->source_vm_id},
        {O_SOURCE_VMDK, &cfg->source_vmdk},
        {O_MIGRATION_HOST, &cfg->migration_host},
        {O_STORAGE_HOSTNAME, &cfg->storage_hostname},
        {O_STORAGE_USERNAME, &cfg->storage_username},
        {O_STORAGE_CA_FILE, &cfg->storage_ca_file},
        {O_VSPHERE_HOSTNAME, &cfg->vsphere_hostname},
        {O_VSPHERE_USERNAME, &cfg->vsphere_username},
        {O_ESXI_SSH_KNOWN_HOSTS, &cfg->esxi_ssh_known_hosts},
        {O_ESXI_SSH_WRITE_KNOWN_HOSTS, &cfg->esxi_ssh_write_known_hosts},
        {O_KUBECONFIG, &cfg->kubeconfig},
        {O_MASTER, &cfg->master},
        {O_TARGET_VOLUME_HANDLE, &cfg->target_volume_handle},
        {O_LOG_TRACE, &cfg->log_trace},
        {O_HTTP_ENDPOINT, &cfg->http_endpoint},
        {O_METRICS_PATH, &cfg->metrics_path},
        {O_TERMINATION_LOG, &cfg->termination_log},
        {O_METRICS_LISTEN, &cfg->metrics_listen},
        {O_ESXI_HOSTS, &cfg->esxi_hosts},
    };
    char label[128];
    char *vendor = NULL;
    char *method = NULL;
    const char *v;
    int rc = -1;

    for (size_t i = 0; i < ARRAY_LEN(strings); i++) {
        if (take_string(r, strings[i].id, strings[i].dst, err) < 0)
            goto out;
    }
    if (cfg->owner_uid != NULL && check_owner_uid(cfg->owner_uid, err) < 0)
        goto out;
    /* By hand nobody scrapes: the :8443 default is the controller's, so a
     * manual run opens an endpoint only when told to (flag or variable). */
    if (!config_pod_mode(cfg) && r->val[O_METRICS_LISTEN] == NULL) {
        free(cfg->metrics_listen);
        cfg->metrics_listen = NULL;
    }
    if (cfg->metrics_listen != NULL) {
        struct perr tmp = {0};

        if (metrics_httpd_check_listen(cfg->metrics_listen, &tmp) < 0) {
            perr_set(err, PERR_USAGE,
                     "%s: invalid address '%s'; expected [host]:port, such as :8443, "
                     "127.0.0.1:9443 or [::1]:9443, or an empty value for no endpoint",
                     opt_label(O_METRICS_LISTEN, label, sizeof(label)), cfg->metrics_listen);
            goto out;
        }
    }
    if (cfg->log_trace != NULL && check_log_trace(cfg->log_trace, err) < 0)
        goto out;
    /* Passwords and tokens are kept exactly as given: spaces may be part of them. */
    if ((r->val[O_STORAGE_PASSWORD] != NULL && *r->val[O_STORAGE_PASSWORD] != '\0' &&
         (cfg->storage_password = strdup(r->val[O_STORAGE_PASSWORD])) == NULL) ||
        (r->val[O_STORAGE_TOKEN] != NULL && *r->val[O_STORAGE_TOKEN] != '\0' &&
         (cfg->storage_token = strdup(r->val[O_STORAGE_TOKEN])) == NULL) ||
        (r->val[O_VSPHERE_PASSWORD] != NULL && *r->val[O_VSPHERE_PASSWORD] != '\0' &&
         (cfg->vsphere_password = strdup(r->val[O_VSPHERE_PASSWORD])) == NULL)) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    cfg->target_attrs = r->attrs;
    cfg->n_target_attrs = r->nattrs;
    r->attrs = NULL;
    r->nattrs = 0;

    if (take_string(r, O_VENDOR, &vendor, err) < 0)
        goto out;
    if (vendor != NULL && check_vendor(vendor, &cfg->vendor, err) < 0)
        goto out;

    if (cfg->source_vmdk != NULL &&
        config_parse_vmdk_path(cfg->source_vmdk, &cfg->vmdk_datastore, &cfg->vmdk_dir,
                               &cfg->vmdk_file, err) < 0)
        goto out;

    if (take_string(r, O_CLONE_METHOD, &method, err) < 0)
        goto out;
    if (method == NULL || strcasecmp(method, "vib") == 0) {
        cfg->clone_method = CLONE_METHOD_VIB;
    } else if (strcasecmp(method, "ssh") == 0) {
        cfg->clone_method = CLONE_METHOD_SSH;
    } else {
        perr_set(err, PERR_USAGE, "%s: invalid clone method '%s'; expected vib or ssh",
                 opt_label(O_CLONE_METHOD, label, sizeof(label)), method);
        goto out;
    }

    if (parse_bool_opt(r, O_STORAGE_SKIP_SSL, &cfg->storage_skip_ssl_verification, err) < 0 ||
        parse_long_range(r, O_STORAGE_HTTP_TIMEOUT, 1, 86400, &cfg->storage_http_timeout_seconds,
                         err) < 0 ||
        parse_long_range(r, O_ESXI_SSH_PORT, 1, 65535, &cfg->esxi_ssh_port, err) < 0 ||
        parse_long_range(r, O_SSH_TIMEOUT, 1, 86400, &cfg->ssh_timeout_seconds, err) < 0 ||
        parse_long_range(r, O_RESCAN_TIMEOUT, 1, 3600, &cfg->rescan_timeout_seconds, err) < 0)
        goto out;

    v = r->val[O_LOG_LEVEL] != NULL ? r->val[O_LOG_LEVEL] : opts[O_LOG_LEVEL].def;
    if (log_level_parse(v, &cfg->log_level) < 0) {
        perr_set(err, PERR_USAGE,
                 "%s: invalid level '%s'; expected error, warn, info, debug or trace",
                 opt_label(O_LOG_LEVEL, label, sizeof(label)), v);
        goto out;
    }
    /* klog's -v still raises verbosity for those who pass it out of habit. */
    if (r->val[O_KLOG_V] != NULL) {
        long lv;

        if (parse_long_range(r, O_KLOG_V, 0, 10, &lv, err) < 0)
            goto out;
        if (lv >= 6 && cfg->log_level < LOGL_TRACE)
            cfg->log_level = LOGL_TRACE;
        else if (lv >= 4 && cfg->log_level < LOGL_DEBUG)
            cfg->log_level = LOGL_DEBUG;
    }
    v = r->val[O_LOG_FORMAT] != NULL ? r->val[O_LOG_FORMAT] : opts[O_LOG_FORMAT].def;
    if (log_format_parse(v, &cfg->log_format) < 0) {
        perr_set(err, PERR_USAGE, "%s: invalid format '%s'; expected text or json",
                 opt_label(O_LOG_FORMAT, label, sizeof(label)), v);
        goto out;
    }
    v = r->val[O_OUTPUT] != NULL ? r->val[O_OUTPUT] : opts[O_OUTPUT].def;
    if (strcasecmp(v, "text") == 0) {
        cfg->output = OUTPUT_TEXT;
    } else if (strcasecmp(v, "json") == 0) {
        cfg->output = OUTPUT_JSON;
    } else {
        perr_set(err, PERR_USAGE, "--output: invalid format '%s'; expected text or json", v);
        goto out;
    }

    if (cfg->pvc_size != NULL && parse_quantity(cfg->pvc_size, &cfg->pvc_size_bytes) < 0) {
        perr_set(err, PERR_USAGE,
                 "--pvc-size: invalid quantity '%s'; expected bytes such as 10737418240 or 10Gi",
                 cfg->pvc_size);
        goto out;
    }

    /* vCenter TLS: verified unless GOVMOMI_INSECURE says otherwise; a CA from the secret. */
    v = env_get(envp, "GOVMOMI_INSECURE");
    if (v != NULL && *v != '\0') {
        bool b = false;

        if (parse_go_bool(v, &b) < 0 && strcasecmp(v, "yes") != 0 && strcasecmp(v, "no") != 0) {
            perr_set(err, PERR_USAGE,
                     "GOVMOMI_INSECURE: invalid value '%s'; expected true or false", v);
            goto out;
        }
        cfg->vsphere_insecure = b || strcasecmp(v, "yes") == 0;
    }
    v = env_get(envp, "cacert");
    if (v != NULL && *v != '\0' && (cfg->vsphere_cacert = strdup(v)) == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }

    v = env_get(envp, "HOST_LEASE_NAMESPACE");
    if (v != NULL && *v != '\0' && !is_dns_label(v)) {
        char shown[CONFIG_QUOTE_MAX + 32];

        perr_set(err, PERR_USAGE,
                 "HOST_LEASE_NAMESPACE: invalid namespace %s; expected a DNS label (at most 63 "
                 "lowercase letters, digits or '-', starting and ending with a letter or digit)",
                 shown_value(v, shown, sizeof(shown)));
        goto out;
    }
    cfg->host_lease_namespace = strdup(v != NULL && *v != '\0' ? v : "openshift-mtv");
    if (cfg->host_lease_namespace == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    cfg->host_lease_duration_seconds = 10;
    v = env_get(envp, "HOST_LEASE_DURATION_SECONDS");
    if (v != NULL && *v != '\0') {
        char *end = NULL;
        double d;

        errno = 0;
        d = strtod(v, &end);
        if (errno != 0 || end == v || (*end != '\0' && strcmp(end, "s") != 0) || !isfinite(d) ||
            d < 1 || d > 3600) {
            perr_set(err, PERR_USAGE,
                     "HOST_LEASE_DURATION_SECONDS: invalid value '%s'; expected seconds from 1 to "
                     "3600",
                     v);
            goto out;
        }
        cfg->host_lease_duration_seconds = d;
    }
    v = env_get(envp, "DISABLE_VVOL_METHOD");
    cfg->disable_vvol = v != NULL && strcmp(v, "true") == 0;
    v = env_get(envp, "DISABLE_RDM_METHOD");
    cfg->disable_rdm = v != NULL && strcmp(v, "true") == 0;

    if (collect_vendor_env(envp, cfg, err) < 0)
        goto out;
    if (check_required(cfg, err) < 0)
        goto out;
    if (cfg->clone_method == CLONE_METHOD_SSH && load_ssh_keys(envp, cfg, err) < 0)
        goto out;
    if (load_vib_auto(envp, cfg, err) < 0)
        goto out;
    rc = 0;
out:
    free(vendor);
    free(method);
    return rc;
}

int
config_parse(int argc, char *const argv[], const char *const envp[], struct config **out,
             struct perr *err)
{
    return config_parse_command(CONFIG_COMMAND_POPULATE, argc, argv, envp, out, err);
}

int
config_parse_command(enum config_command command, int argc, char *const argv[],
                     const char *const envp[], struct config **out, struct perr *err)
{
    struct raw r = {0};
    struct config *cfg = NULL;
    int rc = -1;

    *out = NULL;
    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    cfg->command = command;
    for (int i = 0; i < O_COUNT; i++) {
        const char *v = opts[i].env != NULL ? env_get(envp, opts[i].env) : NULL;

        /* Another command's variable in the environment is not an error. */
        if ((opts[i].flags & OPTF_PREFLIGHT) && command != CONFIG_COMMAND_PREFLIGHT)
            continue;
        if (v != NULL && raw_set(&r, (enum opt_id)i, v, false, err) < 0)
            goto out;
    }
    if (parse_args(argc, argv, &r, cfg, err) < 0)
        goto out;
    if (cfg->action == CONFIG_ACTION_RUN && build_config(envp, &r, cfg, err) < 0)
        goto out;
    *out = cfg;
    cfg = NULL;
    rc = 0;
out:
    raw_free(&r);
    config_free(cfg);
    return rc;
}

static void
config_free_fields(struct config *cfg)
{
    char **strs[] = {
        &cfg->cr_name,
        &cfg->cr_namespace,
        &cfg->pvc_size,
        &cfg->owner_uid,
        &cfg->owner_name,
        &cfg->secret_name,
        &cfg->target_namespace,
        &cfg->source_vm_id,
        &cfg->source_vmdk,
        &cfg->vmdk_datastore,
        &cfg->vmdk_dir,
        &cfg->vmdk_file,
        &cfg->vendor,
        &cfg->migration_host,
        &cfg->storage_hostname,
        &cfg->storage_username,
        &cfg->storage_ca_file,
        &cfg->vsphere_hostname,
        &cfg->vsphere_username,
        &cfg->vsphere_cacert,
        &cfg->esxi_ssh_known_hosts,
        &cfg->esxi_ssh_write_known_hosts,
        &cfg->ssh_public_key,
        &cfg->kubeconfig,
        &cfg->master,
        &cfg->host_lease_namespace,
        &cfg->target_volume_handle,
        &cfg->log_trace,
        &cfg->metrics_listen,
        &cfg->metrics_path,
        &cfg->http_endpoint,
        &cfg->termination_log,
        &cfg->esxi_hosts,
    };

    for (size_t i = 0; i < ARRAY_LEN(strs); i++)
        free(*strs[i]);
    str_free_secret(cfg->storage_password);
    str_free_secret(cfg->storage_token);
    str_free_secret(cfg->vsphere_password);
    if (cfg->ssh_private_key != NULL) {
        OPENSSL_cleanse(cfg->ssh_private_key, cfg->ssh_private_key_len);
        free(cfg->ssh_private_key);
    }
    if (cfg->root_ssh_key != NULL) {
        OPENSSL_cleanse(cfg->root_ssh_key, cfg->root_ssh_key_len);
        free(cfg->root_ssh_key);
    }
    str_free_secret(cfg->root_password);
    free(cfg->vib_path);
    kv_free_array(cfg->target_attrs, cfg->n_target_attrs);
    kv_free_array(cfg->vendor_env, cfg->n_vendor_env);
    free(cfg);
}

void
config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    config_free_fields(cfg);
}

void
config_scrub_argv(int argc, char *argv[])
{
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        char *name;
        char *eq;
        size_t len;
        int id;

        if (a[0] != '-')
            continue;
        name = a + (a[1] == '-' ? 2 : 1);
        eq = strchr(name, '=');
        len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        id = find_opt(name, len);
        if (id < 0)
            continue;
        if (opts[id].kind == OPT_BOOL)
            continue;
        if (eq == NULL)
            i++; /* the value is the next argument */
        if (!(opts[id].flags & OPTF_SECRET) || i >= argc)
            continue;
        if (eq != NULL)
            memset(eq + 1, 'x', strlen(eq + 1));
        else
            memset(argv[i], 'x', strlen(argv[i]));
    }
}

bool
config_pod_mode(const struct config *cfg)
{
    return cfg->target_volume_handle == NULL;
}

const char *
config_vendor_env(const struct config *cfg, const char *key)
{
    return kv_find(cfg->vendor_env, cfg->n_vendor_env, key);
}

const char *
config_target_attr(const struct config *cfg, const char *key)
{
    return kv_find(cfg->target_attrs, cfg->n_target_attrs, key);
}

void
config_usage(FILE *f, const char *argv0)
{
    const char *base = strrchr(argv0, '/');

    base = base != NULL ? base + 1 : argv0;
    fprintf(f,
            "Usage: %s --source-vm-id=ID --source-vmdk='[DS] DIR/DISK.vmdk'\n"
            "           --storage-vendor-product=NAME (--owner-name=PVC --target-namespace=NS |\n"
            "            --target-volume-handle=HANDLE [--target-volume-attribute=K=V]...)\n"
            "           [OPTION]...\n"
            "       %s preflight [OPTION]...   check hosts and array first (preflight --help)\n\n"
            "Copies one VMware virtual disk onto the Kubernetes volume's LUN by having the ESXi\n"
            "host clone it with vmkfstools (storage-array XCOPY), then unmaps everything.\n\n"
            "Options (flags override their environment variable):\n",
            base, base);
    for (size_t i = 0; i < ARRAY_LEN(help_order); i++) {
        const struct opt *o = &opts[help_order[i]];

        if (o->metavar != NULL)
            fprintf(f, "  --%s=%s\n", o->name, o->metavar);
        else
            fprintf(f, "  --%s\n", o->name);
        fprintf(f, "        %s\n", o->help);
        if (o->env != NULL && o->def != NULL)
            fprintf(f, "        environment: %s; default: %s\n", o->env, o->def);
        else if (o->env != NULL)
            fprintf(f, "        environment: %s\n", o->env);
        else if (o->def != NULL)
            fprintf(f, "        default: %s\n", o->def);
    }
    fputs("\nOther environment variables:\n"
          "  GOVMOMI_INSECURE=true        do not verify vCenter's TLS certificate\n"
          "  cacert                       PEM CA bundle that signs vCenter's certificate\n"
          "  SSH_PRIVATE_KEY, SSH_PUBLIC_KEY  base64 key pair for the ssh clone method\n"
          "  HOST_LEASE_NAMESPACE         namespace of the host Leases [openshift-mtv]\n"
          "  HOST_LEASE_DURATION_SECONDS  host Lease duration [10]\n"
          "  DISABLE_VVOL_METHOD=true, DISABLE_RDM_METHOD=true  always copy with vmkfstools\n"
          "  VIB_AUTO_INSTALL=true        vib method: install the VIB (VIB_PATH) when the plugin\n"
          "                               is missing or older, once per host, under a host lease,\n"
          "                               through root's SSH login (ESXI_ROOT_SSH_KEY base64,\n"
          "                               SSH_KEY_FILE or ESXI_ROOT_PASSWORD) [false]\n"
          "\nVendors (--storage-vendor-product) and their settings:\n",
          f);
    {
        struct buf vendors = {0};
        struct perr tmp = {0};

        if (storage_drivers_help(&vendors, &tmp) == 0)
            fputs(buf_cstr(&vendors), f);
        buf_free(&vendors);
    }
    fputs("\nExit status: 0 copied and cleaned up; 1 copy failed, cleanup done; 2 bad usage or\n"
          "configuration, nothing touched; 3 failed and some cleanup could not be done.\n"
          "See vsphere-copy-offload-populator(1).\n",
          f);
}
