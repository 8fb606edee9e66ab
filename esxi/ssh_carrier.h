/*
 * The SSH clone method: wrapper operations carried over SSH to an ESXi host
 * whose root key file holds the restricted key line of the Go populator
 * (forklift-populator-behaviour §6), so hosts prepared for it work unchanged.
 *
 * The protocol (the forced command in authorized_keys does the routing):
 * - probe:    `DS=;CMD=status test-task-id`  answers "SSH_OK";
 * - wrapper:  `DS=<ds>;CMD=<args>` runs
 *             `sh /vmfs/volumes/<ds>/secure-vmkfstools-wrapper` with
 *             SSH_ORIGINAL_COMMAND=<args>.  An argument made only of
 *             letters, digits and - _ . / : = @ % + , goes as it is, so an
 *             ordinary command is byte for byte the Go populator's
 *             (`--task-get -i <id>`) and the Go wrapper, which splits the
 *             string unquoted, serves it too (mixed fleets).  Any other
 *             argument is single-quoted (' written as '\''), which this
 *             product's wrapper tokenizer undoes, so disk names with
 *             spaces, quotes, `&`, `$(...)` or `;` arrive intact and are
 *             never run.  An argument with a line break is refused (the key
 *             line's sed works line by line).
 * - The reply is the wrapper's esxcli-style XML on stdout (status + message
 *   fields), whatever the exit status.
 *
 * Key lines: hosts set up for the Go populator keep working (its line is
 * accepted as it is), but the line this product prints, in every message and
 * log, is SSH_KEY_LINE_IMPROVED: the same protocol, safe for every datastore
 * name.  The Go line takes DS as everything up to the first `;` and uses it
 * unquoted (`exec sh /vmfs/volumes/$DS/...`), so `DS=../../bin/x args;CMD=`
 * runs another program as root and `DS=*` globs, and a name with a space,
 * tab or * ? [ cannot work.  The improved line reads only the first line of
 * the command, quotes "$DS", refuses a DS with `/` or equal to "." or "..",
 * and adds no-pty; it carries any name without `;` or a line break.  Names
 * with `;`, `/`, a line break, or "." / ".." are refused here before
 * anything is sent.
 *
 * Contract of ssh_carrier_open():
 * 1. Resolves the host's management IP through vCenter (unless opts->ip),
 *    connects (esxi/ssh.h: pinned or logged host key, connect deadline).
 *    With write_known_hosts, the host key met is written there
 *    (esxi_ssh_write_known_hosts()) once the login succeeded; a failure to
 *    write stops the run (PERR_CONFIG), before anything is mapped.
 * 2. Runs the probe.  Login refused, or an answer other than SSH_OK, stops
 *    here, before anything is mapped, with the exact line to add to
 *    /etc/ssh/keys-root/authorized_keys (PERR_AUTH / PERR_SSH); the full
 *    instructions are also logged at warn.
 * 3. Reads the remote wrapper version (`--version`).  A wrapper that
 *    compares newer than the embedded one (a later upstream release or a
 *    later build of this product, mixed fleets) is used as it is, never
 *    overwritten.  When it is older or another build of the same version,
 *    or the wrapper is missing or unreadable, uploads the embedded script through vCenter's /folder
 * to a temporary name on the datastore and moves it onto secure-vmkfstools-wrapper
 * (MoveDatastoreFile_Task, force), so that a concurrent run never executes a half-written file;
 * then reads the version again.  A wrapper still wrong after the upload is PERR_SSH with the
 * remediation of behaviour §6.5 (old key format: which lines to delete, the new line), or the
 * improved line for a datastore name the Go line cannot carry.  No upload when the version is
 * current.  A timeout or a transport failure of `--version` is returned as is (no upload).
 * 4. Fills *out: call() runs one wrapper operation over the one connection,
 *    bounded by the per-command deadline; the copy itself is never bounded
 *    by a wall clock (clone_run polls).
 *
 * The private key bytes are only read (esxi_ssh_open copies and wipes);
 * nothing here logs or stores them.
 */
#ifndef POP_ESXI_SSH_CARRIER_H
#define POP_ESXI_SSH_CARRIER_H

#include <stdbool.h>
#include <stddef.h>

#include "esxi/clone.h"
#include "esxi/vim.h"
#include "lib/compiler.h"
#include "lib/err.h"

#define SSH_AUTHORIZED_KEYS_PATH "/etc/ssh/keys-root/authorized_keys"
#define SSH_WRAPPER_NAME         "secure-vmkfstools-wrapper"
#define SSH_PROBE_COMMAND        "DS=;CMD=status test-task-id"

enum ssh_key_line {
    SSH_KEY_LINE_GO,       /* RestrictedSSHCommandTemplate, byte for byte (behaviour §6.1);
                            * accepted on hosts, never printed: it can be steered */
    SSH_KEY_LINE_IMPROVED, /* the line printed: "$DS" quoted, no '/', "." or "..", no glob */
};

/* The authorized_keys line for public_key ("ssh-ed25519 AAAA… comment"):
 * command="…",no-port-forwarding,no-agent-forwarding,no-X11-forwarding <key>.
 * Owned; NULL only when out of memory. */
char *ssh_authorized_keys_line(const char *public_key, enum ssh_key_line kind) ATTR_MALLOC(free);

struct ssh_carrier_opts {
    struct vim *vim;                  /* borrowed; for the IP, the datacenter and the upload */
    const char *host;                 /* HostSystem MoRef value ("host-21") */
    const char *ip;                   /* NULL: the host's management IP from vCenter */
    const char *datastore;            /* where the wrapper lives: the source VMDK's datastore */
    long port;                        /* 0 = 22 (ESXI_SSH_PORT) */
    const unsigned char *private_key; /* PEM/OpenSSH bytes (SSH_PRIVATE_KEY, decoded) */
    size_t private_key_len;
    const char *public_key;        /* authorized_keys form (SSH_PUBLIC_KEY, decoded) */
    const char *known_hosts;       /* ESXI_SSH_KNOWN_HOSTS or NULL */
    const char *write_known_hosts; /* ESXI_SSH_WRITE_KNOWN_HOSTS or NULL: where the key met goes */
    long connect_timeout_ms;       /* 0 = 30 s (SSH_TIMEOUT_SECONDS) */
    long command_timeout_ms;       /* 0 = 60 s, per wrapper command */
    /* Never upload (preflight): step 3 only reads the version; a missing or
     * other wrapper is success with ssh_carrier_remote_version() giving what
     * was found ("" for none), for the caller to judge. */
    bool no_upload;
};

/* See the contract above.  On success *out is a carrier for clone_run();
 * release it with ssh_carrier_close(). */
int ssh_carrier_open(const struct ssh_carrier_opts *o, struct wrapper_carrier *out,
                     struct perr *err);
/* Disconnects and frees the carrier's state; a zeroed or closed carrier is fine. */
void ssh_carrier_close(struct wrapper_carrier *c);

/* True when ssh_carrier_open() uploaded the wrapper. */
bool ssh_carrier_uploaded(const struct wrapper_carrier *c);
/* The remote wrapper version found before any upload ("" when none answered). */
const char *ssh_carrier_remote_version(const struct wrapper_carrier *c);

/* Exposed for tests: the command string for one wrapper operation
 * ("DS=ds;CMD='--task-get' '-i' 'id'"), owned.  PERR_USAGE for a datastore
 * name or an argument that cannot be carried (see above). */
int ssh_wrapper_command(const char *ds, const char *const args[], char **out, struct perr *err);
/* Exposed for tests: the wrapper's XML reply into *out (status, message). */
int ssh_wrapper_reply_parse(const char *xml, size_t len, struct wrapper_reply *out,
                            struct perr *err);

#endif
