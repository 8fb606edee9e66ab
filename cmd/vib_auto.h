/*
 * VIB_AUTO_INSTALL=true: a populate with the vib clone method that finds the
 * esxcli plugin missing, or older than the VIB it ships (VIB_PATH), installs
 * it through the same path as `install-vib` (esxi/vib_install.h), with a
 * hostd restart, before anything is mapped.
 *
 * Contract of vib_auto_install():
 * - installed is the version the plugin answered ("" none).  When it is the
 *   shipped version or newer (mixed fleets: never downgraded), nothing is
 *   done and *now stays NULL.
 * - Otherwise, with Kubernetes, a Lease "esxi-lock-<hostid>-vib-slot-0" (one
 *   slot, the host lease machinery of lib/lease.h) is taken first, so of many
 *   populators on one host one installs and the others wait; under it the
 *   plugin is asked again, and a version that another populator installed
 *   meanwhile is taken as it is.  Without Kubernetes (manual mode) there is
 *   nobody to share with and no lease.
 * - The root login goes to the host's management IP on ESXI_SSH_PORT with
 *   ESXI_ROOT_SSH_KEY / SSH_KEY_FILE or ESXI_ROOT_PASSWORD.
 * - On success *now is the version the plugin answers (owned).  Any failure
 *   stops the run before anything is mapped (PERR_* of vib_install_host, or
 *   PERR_USAGE for an unreadable VIB_PATH).
 */
#ifndef POP_VIB_AUTO_H
#define POP_VIB_AUTO_H

#include "cmd/config.h"
#include "esxi/vim.h"
#include "lib/err.h"
#include "lib/kube.h"

int vib_auto_install(const struct config *cfg, struct vim *vim, struct kube *kube, const char *host,
                     const char *hostid, const char *installed, char **now, struct perr *err);

#endif
