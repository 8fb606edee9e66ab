/*
 * Installing the vmkfstools-wrapper VIB on one ESXi host over a root SSH
 * login, and checking through the vSphere API that its esxcli plugin answers.
 * Used by `install-vib` (cmd/install_vib.c) and by a populate with
 * VIB_AUTO_INSTALL=true (cmd/run.c).
 *
 * Contract of vib_install_host():
 * 1. Asks vCenter which plugin version the host answers (`esxcli vmkfstools
 *    version`), when o->vim and o->host_moref are given.
 * 2. Logs in as root over SSH (key, or password when there is no key;
 *    the host key pinned by o->known_hosts or logged), every command bounded
 *    by o->command_timeout_ms, so a host that does not answer is a failure,
 *    never a hang.
 * 3. Reads the installed version (`esxcli software vib list`).  A VIB at the
 *    version of o->vib or newer (mixed fleets: never downgraded) whose plugin
 *    answers is left alone: VIB_HOST_UP_TO_DATE or VIB_HOST_NEWER_KEPT, and
 *    nothing is changed on the host.  Installed but not answering: hostd is
 *    restarted when o->restart_hostd, else the host fails with that remedy.
 * 4. Otherwise installs: refuses a host in secure boot or whose acceptance
 *    level is above CommunitySupported (PERR_REMOTE naming the level and the
 *    remedy; nothing changed), streams the VIB to /tmp/vmkfstools-wrapper-
 *    <random>.vib, removes an older vmkfstools-wrapper, installs with
 *    `esxcli software vib install -v FILE -f`, deletes the file (on every
 *    path), checks `vib list` again, restarts hostd when asked and then polls
 *    the plugin through the vSphere API until it answers with the new version
 *    (o->verify_timeout_ms).  Without the restart the result is
 *    VIB_HOST_INSTALLED (the plugin answers after the next hostd restart).
 * Failures: PERR_AUTH / PERR_NETWORK / PERR_TIMEOUT / PERR_SSH from the
 * login, PERR_REMOTE for a command that failed on the host (with its output),
 * PERR_TIMEOUT when the plugin does not answer in time.  res is filled as far
 * as the host got (res->before is known after step 3).
 *
 * Secrets (key, password) are only passed to esxi_ssh_open(); nothing here
 * logs or keeps them.
 */
#ifndef POP_ESXI_VIB_INSTALL_H
#define POP_ESXI_VIB_INSTALL_H

#include <stdbool.h>
#include <stddef.h>

#include "esxi/vim.h"
#include "lib/compiler.h"
#include "lib/err.h"

#define VIB_NAME             "vmkfstools-wrapper"
#define VIB_DEFAULT_PATH     "/bin/vmkfstools-wrapper.vib"
#define VIB_SECUREBOOT_CHECK "/usr/lib/vmware/secureboot/bin/secureBoot.py -s"
#define VIB_HOSTD_RESTART    "/etc/init.d/hostd restart"

enum vib_host_outcome {
    VIB_HOST_FAILED = 0,
    VIB_HOST_UP_TO_DATE, /* same version installed and answering: nothing done */
    VIB_HOST_NEWER_KEPT, /* a newer VIB answers (another product's): nothing done */
    VIB_HOST_INSTALLED,  /* installed; hostd not restarted, so not verified */
    VIB_HOST_VERIFIED,   /* installed (or restarted) and the plugin answers */
};

struct vib_install_opts {
    struct vim *vim;        /* borrowed; NULL: no check through the vSphere API */
    const char *host_moref; /* HostSystem value ("host-21"), with vim */
    const char *ssh_host;   /* address to log in to */
    long ssh_port;          /* 0 = 22 */
    const unsigned char *private_key;
    size_t private_key_len;
    const char *password; /* when there is no key */
    const char *known_hosts;
    long connect_timeout_ms;  /* 0 = 30 s */
    long command_timeout_ms;  /* per command, 0 = 300 s (an install is slow) */
    long verify_timeout_ms;   /* wait for the plugin after a restart, 0 = 180 s */
    const unsigned char *vib; /* the VIB file's bytes, borrowed */
    size_t vib_len;
    const char *vib_version; /* its version (vib_file_version()) */
    bool restart_hostd;
};

struct vib_install_result {
    enum vib_host_outcome outcome;
    bool restarted;
    char *before; /* the VIB version installed before ("" none) */
    char *after;  /* the version the plugin answered at the end ("" unknown) */
};

int vib_install_host(const struct vib_install_opts *o, struct vib_install_result *res,
                     struct perr *err);
void vib_install_result_clear(struct vib_install_result *r);
/* "up to date", "newer kept", "installed", "installed, answering", "failed". */
const char *vib_host_outcome_str(enum vib_host_outcome o);

/* The <version> of a VIB file's descriptor.xml (its first `ar` member);
 * PERR_USAGE when the bytes are not a VIB.  Owned. */
int vib_file_version(const unsigned char *vib, size_t len, char **version, struct perr *err);

/* The vmkfstools-wrapper version in `esxcli software vib list` output, or ""
 * when it is not listed.  Owned; NULL only when out of memory. */
char *vib_list_version(const char *list_output) ATTR_MALLOC(free);

/* The plugin version the host answers through the vSphere API (a fresh esxcli
 * session each time, so a plugin registered meanwhile is seen), "" when it
 * does not answer.  -1 only for failures of the session itself. */
int vib_plugin_version(struct vim *vim, const char *host_moref, char **version, struct perr *err);

#endif
