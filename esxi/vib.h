/*
 * The VIB clone method: wrapper operations carried as esxcli `vmkfstools`
 * commands through the vSphere API (the plugin the VIB installs), plus the
 * storage device and adapter commands the populate flow runs on the host.
 *
 * Contract:
 * - vib_carrier() makes a struct wrapper_carrier over an esxcli session
 *   (borrowed; must outlive the carrier): --clone → `vmkfstools clone -s -t`,
 *   --task-get → `taskGet -i`, --task-clean → `taskClean -i`, --version →
 *   `version`.  The reply's status/message rows become a wrapper_reply.
 * - vib_check_version() is advisory, as before: an old or missing VIB is
 *   logged with what to do and the run continues; *installed is "" then.
 * - The device helpers return PERR_NOT_FOUND when ESXi does not know the
 *   device (device list of an unmapped LUN), other failures as PERR_REMOTE.
 */
#ifndef POP_VIB_H
#define POP_VIB_H

#include "esxi/clone.h"
#include "esxi/esxcli.h"

void vib_carrier(struct esxcli *e, struct wrapper_carrier *out);

/* Reads the installed plugin version; compares it with required (logs). */
int vib_check_version(struct esxcli *e, const char *required, char **installed, struct perr *err);

/* The plugin's status field as a number; anything but a whole decimal
 * number (empty, "ok", "0x", "1 2") is PERR_PROTOCOL, never a success. */
int vib_parse_status(const char *s, int *status, struct perr *err);

/* Compares dotted versions ("1.0" == "1.0.0"); -1 when either is not a version. */
int version_compare(const char *a, const char *b, int *result);

/* `storage core device list -d naa`: the Status of the device ("on", "off", "dead timeout"). */
int esxi_device_status(struct esxcli *e, const char *naa, char **status, struct perr *err);
/* `storage core adapter rescan -t add -a 1` */
int esxi_rescan_add(struct esxcli *e, struct perr *err);
/* `storage core adapter rescan -t delete -A adapter` */
int esxi_rescan_delete(struct esxcli *e, const char *adapter, struct perr *err);
/* `storage core device set --state off -d naa` */
int esxi_device_off(struct esxcli *e, const char *naa, struct perr *err);
/* `storage core device detached remove -d naa` */
int esxi_detached_remove(struct esxcli *e, const char *naa, struct perr *err);

#endif
