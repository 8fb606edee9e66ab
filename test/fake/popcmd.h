/*
 * Test helper: build a command line and an environment for the binary under
 * test, run it, and keep what it printed.  Shared by the integration suites
 * that drive the real binary against the simulated world.
 *
 * The names are the suites' own vocabulary (struct cmd, cmd_arg, run_cmd,
 * outcome_free...), kept so that the cases read as before.
 *
 * Ownership: a struct cmd owns every string in argv and envp.  It starts
 * zeroed (memset or "= {0}"); cmd_free releases it and zeroes it again.  A
 * struct outcome is filled by run_cmd and released by outcome_free.
 *
 * Failures: these helpers fail the running cmocka test (assert_* /
 * fail_msg) instead of returning an error: too many arguments or variables,
 * no memory, a binary that cannot be started, an entry left that should be
 * gone.
 */
#ifndef POP_TEST_POPCMD_H
#define POP_TEST_POPCMD_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "lib/buf.h"
#include "test/fake/world.h"

#define CMD_MAX_ARGV 48
#define CMD_MAX_ENV  64

/* argv[0] is the program; argv and envp stay NULL-terminated after every call. */
struct cmd {
    const char *argv[CMD_MAX_ARGV];
    char *envp[CMD_MAX_ENV];
    size_t argc;
    size_t envc;
};

/* Appends one argument, formatted (at most 4095 bytes). */
void cmd_arg(struct cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets KEY=value: replaces an earlier value of key in place, else appends. */
void cmd_env(struct cmd *c, const char *key, const char *value);

/* Replaces the flag "name=..." (removing the old one and appending
 * "name=value" at the end), or adds it when absent. */
void cmd_set_flag(struct cmd *c, const char *name, const char *value);

/* Removes every argument after argv[0] that starts with prefix. */
void cmd_drop(struct cmd *c, const char *prefix);

/* Frees every string and zeroes *c. */
void cmd_free(struct cmd *c);

/* The pieces of a manual-mode run that the suites spell the same way, each
 * from the world's facts and in the order the suites used to add them:
 *
 * cmd_manual_start: zeroes *c, then the binary, --source-vm-id and
 *   --source-vmdk of the world's VM, --owner-uid=owner_uid, an empty
 *   --metrics-listen, --output=json and --storage-ca-file.
 * cmd_ontap_target: --storage-vendor-product=ontap, the ONTAP volume handle
 *   and attribute, and STORAGE_HOSTNAME/USERNAME/PASSWORD.
 * cmd_pure_target: --storage-vendor-product=pureFlashArray, the Pure
 *   volume handle, STORAGE_HOSTNAME/TOKEN and PURE_CLUSTER_PREFIX.
 * cmd_vcenter_env: GOVMOMI_HOSTNAME/USERNAME/PASSWORD, GOVMOMI_INSECURE=true
 *   and PATH=/usr/bin:/bin. */
void cmd_manual_start(struct cmd *c, const struct world *w, const char *owner_uid);
void cmd_ontap_target(struct cmd *c, const struct world *w);
void cmd_pure_target(struct cmd *c, const struct world *w);
void cmd_vcenter_env(struct cmd *c, const struct world *w);

/* What one run left: exit status (as proc_run), stdout, stderr, and stdout
 * parsed as JSON (NULL when it is not JSON, e.g. --output=text). */
struct outcome {
    int status;
    struct buf out;
    struct buf err;
    json_t *result;
};

/* Runs argv[0] with c's argv and envp (no shell, no inherited environment)
 * and fills *o, which is overwritten.  Fails the test when it cannot start. */
void run_cmd(const struct cmd *c, struct outcome *o);

/* Frees what run_cmd stored and zeroes *o. */
void outcome_free(struct outcome *o);

/* Fails the test unless the run exited with status and, when msg is not
 * NULL, its stderr contains msg; the message shows both and the stderr. */
void outcome_expect(const struct outcome *o, int status, const char *msg);

/* Starts argv[0] with c's argv and envp without waiting: stdout to
 * /dev/null, stderr to log (created or truncated).  Returns the pid;
 * reaping it is the caller's. */
pid_t spawn_logged(const struct cmd *c, const char *log);

/* Entries of dir (dot files left out) whose name contains needle; 0 when
 * dir cannot be opened. */
int count_dir(const char *dir, const char *needle);

/* Fails the test when count_dir(dir, needle) is not 0. */
void expect_none(const char *dir, const char *needle);

/* Fails the test (through expect_none) when the world's host holds anything
 * of a run: a LUN on the fabric, a wrapper task directory, an RDM
 * descriptor beside the VM's disk, a device under /vmfs/devices/disks. */
void expect_host_clean(const struct world *w);

#endif
