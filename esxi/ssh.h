/*
 * The SSH executor: one libssh connection to an ESXi host, running command
 * strings and capturing what they print.
 *
 * Contract:
 * - esxi_ssh_open() connects to host:port as the given user (default root)
 *   with public-key authentication only.  The private key is given as the
 *   bytes of a PEM or OpenSSH key file; it is copied, imported and the copy
 *   is zeroed at once.  Without a key, a password (opts.password) logs in
 *   with the "password" method instead (install-vib's root login).  No file is read for it, no
 * agent is asked, no ssh config file is processed and no `~` is expanded.  The imported key stays
 *   in memory (inside libssh) until esxi_ssh_close(), so that a connection
 *   lost between two commands can be re-established once.
 * - The connect, the key exchange and the authentication together are bounded
 *   by connect_timeout_ms (default 30 s, SSH_TIMEOUT_SECONDS).
 * - Host key: when known_hosts names a file, the server's key must be in it
 *   for "[host]:port" (or "host" on port 22).  A different key is PERR_SSH
 *   naming the SHA256 fingerprint presented and the one pinned; a host absent
 *   from the file is PERR_SSH too.  Without a file the key is accepted
 *   (kept for compatibility).  Either way the first connection logs at info
 *   "ESXi host key trusted" with the SHA256 fingerprint and trust="pinned"
 *   (and the file) or trust="accepted unpinned".
 * - Authentication refused is PERR_AUTH; a connection that cannot be made is
 *   PERR_NETWORK; a deadline that passes is PERR_TIMEOUT; other protocol
 *   failures are PERR_SSH.  Messages name host:port.
 * - esxi_ssh_exec() runs one command string in a new channel of the
 *   connection and waits for it to end, at most timeout_ms (0: the
 *   connection's command_timeout_ms, default 60 s).  When the deadline passes
 *   the channel is closed and the result is PERR_TIMEOUT naming the command;
 *   the connection stays usable.  stdout is capped at max_output bytes
 *   (default 1 MiB; more is PERR_PROTOCOL), stderr at 64 KiB (the rest is
 *   dropped).  A non-zero exit status is not an error: it is returned.
 * - Logs: one debug line per command (command, exit status, ms); the bytes
 *   of stdout and stderr at trace for the "ssh" component.  Key material never
 *   reaches a log or an error message.
 * - Not thread-safe: one connection is used by one thread at a time.
 */
#ifndef POP_ESXI_SSH_H
#define POP_ESXI_SSH_H

#include <stddef.h>

#include "lib/buf.h"
#include "lib/compiler.h"
#include "lib/err.h"

struct esxi_ssh_opts {
    const char *host;                 /* IP address or name */
    long port;                        /* 0 = 22 */
    const char *user;                 /* NULL = "root" */
    const unsigned char *private_key; /* PEM/OpenSSH bytes; borrowed, only read */
    size_t private_key_len;
    const char *password;    /* used only without private_key: password login (copied,
                              * wiped on close); never logged */
    const char *known_hosts; /* file pinning the host key, or NULL */
    long connect_timeout_ms; /* 0 = 30 s */
    long command_timeout_ms; /* 0 = 60 s */
    size_t max_output;       /* stdout cap per command; 0 = 1 MiB */
};

struct esxi_ssh;

/* What one command printed and how it ended. */
struct esxi_ssh_result {
    struct buf out;  /* stdout */
    struct buf err;  /* stderr, at most 64 KiB */
    int exit_status; /* -1 when the server sent none */
    long ms;         /* how long it took */
};

int esxi_ssh_open(const struct esxi_ssh_opts *o, struct esxi_ssh **out, struct perr *err);
/* Disconnects and frees; NULL is fine. */
void esxi_ssh_close(struct esxi_ssh *s);

/* Runs command (one string, given to the server as is); see the contract. */
int esxi_ssh_exec(struct esxi_ssh *s, const char *command, long timeout_ms,
                  struct esxi_ssh_result *res, struct perr *err);
void esxi_ssh_result_clear(struct esxi_ssh_result *r);
/* esxi_ssh_exec() that also writes input_len bytes of input to the command's
 * stdin and then closes it (for `cat > file` uploads); input NULL = none. */
int esxi_ssh_exec_input(struct esxi_ssh *s, const char *command, const void *input,
                        size_t input_len, long timeout_ms, struct esxi_ssh_result *res,
                        struct perr *err);

/* The server's host key fingerprint, "SHA256:…" (valid while s lives). */
const char *esxi_ssh_fingerprint(const struct esxi_ssh *s);
/* Writes the host key s met to path in known_hosts format ("host" on port
 * 22, "[host]:port" otherwise), so that a later run pins it with
 * --esxi-ssh-known-hosts.  The other entries of an existing file are kept,
 * an entry for this host name alone is replaced.  Atomic: the new content
 * goes to a temporary file in the same directory (mode 0644, fsync'd) that
 * is renamed onto path; on failure path is untouched.  PERR_CONFIG naming
 * the file.  For any command that meets hosts (a run, a future preflight). */
int esxi_ssh_write_known_hosts(const struct esxi_ssh *s, const char *path, struct perr *err);
/* "host:port" for messages (valid while s lives). */
const char *esxi_ssh_target(const struct esxi_ssh *s);

/* Configuration checks made before anything is contacted (nothing is read
 * but the arguments and the named file):
 * - esxi_ssh_check_key(): the bytes import as a private key as
 *   esxi_ssh_open() would import them; PERR_USAGE naming SSH_PRIVATE_KEY.
 * - esxi_ssh_check_known_hosts(): the file is readable and every entry line
 *   ('#' comments and blank lines aside) is "HOSTS KEYTYPE BASE64-KEY", at
 *   least one of them; PERR_CONFIG naming the file and the line. */
int esxi_ssh_check_key(const unsigned char *key, size_t len, struct perr *err);
int esxi_ssh_check_known_hosts(const char *path, struct perr *err);
/* How many times the connection was (re-)established: 1 after open. */
unsigned esxi_ssh_connects(const struct esxi_ssh *s);

#endif
