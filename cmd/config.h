/*
 * Configuration: command-line flags and environment → one immutable struct config.
 *
 * Compatible with the Go populator's flags and environment (same names, same
 * meaning, Go flag syntax: -f, --f, --f=v, --f v; an unknown flag is an error),
 * plus this tool's own flags (manual mode, logging, metrics listener, SSH pinning).
 *
 * Precedence: a flag given on the command line wins over its environment
 * variable, which wins over the built-in default.
 *
 * Contract:
 * - config_parse() never prints and never exits.  On bad input it returns -1
 *   with err->code == PERR_USAGE and a one-line message that names the flag and
 *   its environment variable and says what is accepted; the caller exits 2.
 * - On success *out owns every string; config_free() releases it and zeroes
 *   the secrets (passwords, token, SSH private key) before freeing them.
 * - Secrets given as flags are recorded in cfg->secret_flags so the caller can
 *   warn that they are visible in the process list, and can blank them in argv
 *   with config_scrub_argv().
 * - The environment is passed explicitly (a NULL-terminated "KEY=VALUE" array)
 *   so that tests do not depend on the process environment.
 */
#ifndef POP_CONFIG_H
#define POP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"

enum clone_method { CLONE_METHOD_VIB, CLONE_METHOD_SSH };
enum output_format { OUTPUT_TEXT, OUTPUT_JSON };
enum config_action { CONFIG_ACTION_RUN, CONFIG_ACTION_HELP, CONFIG_ACTION_VERSION };
/* The subcommand: a populate (no subcommand word) or `preflight`. */
enum config_command { CONFIG_COMMAND_POPULATE, CONFIG_COMMAND_PREFLIGHT };

struct kv {
    char *key;
    char *value;
};

struct config {
    /* What main() should do: run the copy, or print help/version and exit 0. */
    enum config_action action;
    enum config_command command;

    /* Flags the controller passes (forklift-populator-behaviour §2.2). */
    char *cr_name;      /* unused, accepted for compatibility */
    char *cr_namespace; /* unused, accepted for compatibility */
    char *pvc_size;     /* validated as a quantity, otherwise unused */
    unsigned long long pvc_size_bytes;
    char *owner_uid;   /* the owner_uid metric label (the PVC UID) */
    char *owner_name;  /* the target PVC looked up in target_namespace */
    char *secret_name; /* unused, accepted for compatibility */
    char *target_namespace;
    char *source_vm_id;   /* "vm-123" or a VM name */
    char *source_vmdk;    /* "[datastore] dir/file.vmdk" as given */
    char *vmdk_datastore; /* parsed from source_vmdk */
    char *vmdk_dir;
    char *vmdk_file;
    char *vendor;         /* canonical driver name, e.g. "ontap", "pureFlashArray" */
    char *migration_host; /* HostSystem MoRef value or NULL (use the VM's host) */

    /* The storage array. */
    char *storage_hostname;
    char *storage_username;
    char *storage_password; /* secret */
    char *storage_token;    /* secret */
    bool storage_skip_ssl_verification;
    char *storage_ca_file; /* PEM bundle the array's certificate chains to, or NULL */
    long storage_http_timeout_seconds;

    /* vCenter. */
    char *vsphere_hostname;
    char *vsphere_username;
    char *vsphere_password; /* secret */
    bool vsphere_insecure;  /* GOVMOMI_INSECURE */
    char *vsphere_cacert;   /* PEM text from the secret's cacert, or NULL */

    /* ESXi. */
    enum clone_method clone_method;
    char *esxi_ssh_known_hosts;       /* path, or NULL: accept and log the fingerprint */
    char *esxi_ssh_write_known_hosts; /* path the host keys met are written to, or NULL */
    long esxi_ssh_port;
    long ssh_timeout_seconds;
    long rescan_timeout_seconds;    /* how long the mapped device may take to appear */
    unsigned char *ssh_private_key; /* decoded PEM bytes (secret), SSH method only */
    size_t ssh_private_key_len;
    char *ssh_public_key; /* decoded authorized_keys line, SSH method only */

    /* VIB_AUTO_INSTALL=true: a populate (vib method) that finds the plugin
     * missing or older installs the VIB through a root login (cmd/run.c). */
    bool vib_auto_install;
    char *vib_path;              /* VIB_PATH; default /bin/vmkfstools-wrapper.vib */
    unsigned char *root_ssh_key; /* ESXI_ROOT_SSH_KEY (base64) or SSH_KEY_FILE, decoded (secret) */
    size_t root_ssh_key_len;
    char *root_password; /* ESXI_ROOT_PASSWORD (secret), when there is no key */

    /* Kubernetes. */
    char *kubeconfig;
    char *master;
    char *host_lease_namespace;
    double host_lease_duration_seconds;
    char *target_volume_handle; /* manual mode when set */
    struct kv *target_attrs;    /* --target-volume-attribute KEY=VALUE, in order */
    size_t n_target_attrs;

    /* Preflight only (flags of other commands are refused). */
    char *esxi_hosts; /* --esxi-hosts / ESXI_HOSTS: "host-21,host-23", or NULL */
    bool try_map;     /* --try-map: map, look for the device, unmap */

    /* Disk-type paths. */
    bool disable_vvol;
    bool disable_rdm;

    /* Vendor keys read from the environment (ONTAP_SVM, PURE_CLUSTER_PREFIX, ...). */
    struct kv *vendor_env;
    size_t n_vendor_env;

    /* Observability. */
    enum log_level log_level;
    enum log_format log_format;
    char *log_trace; /* components to trace, or NULL */
    enum output_format output;
    char *metrics_listen;  /* NULL when the endpoint is disabled (or not asked for by hand) */
    char *metrics_path;    /* accepted for compatibility; the path is /metrics */
    char *http_endpoint;   /* accepted for compatibility; unused */
    char *termination_log; /* where the one-line failure goes if the file exists */

    /* Names of secret-carrying flags given on the command line (for the warning). */
    const char *secret_flags[4];
    size_t n_secret_flags;
};

/* Parses argv and envp.  See the contract above. */
int config_parse(int argc, char *const argv[], const char *const envp[], struct config **out,
                 struct perr *err);
/* The same for a subcommand: argv[0] is the subcommand word (skipped like a
 * program name).  The preflight takes the populate's flags and environment
 * plus its own (--esxi-hosts, --try-map); --source-vm-id and --source-vmdk
 * are optional there, the target PVC is not looked up, and it needs hosts:
 * --esxi-hosts, --migration-host or --source-vm-id.  A populate refuses the
 * preflight's flags (PERR_USAGE) and ignores ESXI_HOSTS. */
int config_parse_command(enum config_command command, int argc, char *const argv[],
                         const char *const envp[], struct config **out, struct perr *err);
void config_free(struct config *cfg);

/* Where the one-line failure goes when config_parse() failed: the last
 * --termination-log given before the first argument config_parse() refuses,
 * else TERMINATION_LOG, else the default.  Borrowed from argv/envp or static. */
const char *config_termination_log(int argc, char *const argv[], const char *const envp[]);

/* Overwrites the values of secret flags in argv so they leave the process list. */
void config_scrub_argv(int argc, char *argv[]);

/*
 * Pod mode: the target is the PVC the controller names (--owner-name,
 * --target-namespace), looked up in Kubernetes.  Otherwise the run is manual
 * (--target-volume-handle): a person typed it, so there is no metrics
 * endpoint unless --metrics-listen or METRICS_LISTEN asks for one, and no
 * wait for a final scrape.
 */
bool config_pod_mode(const struct config *cfg);

/* The value of one of the chosen driver's environment keys, or NULL. */
const char *config_vendor_env(const struct config *cfg, const char *key);
/* The value of --target-volume-attribute KEY, or NULL. */
const char *config_target_attr(const struct config *cfg, const char *key);

/* Writes --help to f. */
void config_usage(FILE *f, const char *argv0);

/* Splits "[ds] dir/file.vmdk".  Outputs are owned by the caller; -1 + PERR_USAGE on a bad form. */
int config_parse_vmdk_path(const char *path, char **ds, char **dir, char **file, struct perr *err);

#endif
