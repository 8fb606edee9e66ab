/*
 * `vsphere-copy-offload-populator install-vib` (also run as `vib-installer`,
 * the Go image's separate tool, with its flags): installs or upgrades the
 * vmkfstools-wrapper VIB shipped in the image on a list of ESXi hosts, every
 * host of a cluster, or every host vCenter knows.
 *
 * Contract of install_vib_main():
 * - Flags (Go syntax; each with its environment variable, the flag wins):
 *   --vib-path VIB_PATH (default /bin/vmkfstools-wrapper.vib),
 *   --ssh-key-file SSH_KEY_FILE (the root key; else the password in
 *   ESXI_ROOT_PASSWORD, never a flag), --esxi-hosts ESXI_HOSTS (comma-
 *   separated "host[:port]"), --cluster, --datacenter, --ssh-timeout-seconds
 *   SSH_TIMEOUT_SECONDS (30), --ssh-port ESXI_SSH_PORT (22), --restart-hostd
 *   RESTART_HOSTD (true; "true"/"1"), --max-parallel MAX_PARALLEL (4),
 *   --verify-timeout-seconds (180), --esxi-ssh-known-hosts
 *   ESXI_SSH_KNOWN_HOSTS, --vsphere-hostname/-username/-password/-insecure
 *   GOVMOMI_* (and the secret's `cacert`), --log-level, --help.
 * - A host given by name is looked up in vCenter (when configured): its
 *   management IP is where SSH goes and its plugin is verified through the
 *   vSphere API.  Without vCenter, or for a name vCenter does not know, SSH
 *   goes to the name as given and the plugin is not verified (warned).
 *   Without --esxi-hosts, the hosts are those of --cluster, else every host
 *   (in --datacenter when given).
 * - Each host: esxi/vib_install.h.  At most --max-parallel hosts at a time.
 * - Prints one summary line per host on stdout, in the order given:
 *   "<host>: <outcome> (before <version|none>, now <version|unknown>)" plus
 *   ": <why>" for a failure, then "install-vib: N host(s) ready, M failed".
 * - Exit status: 0 when every host is ready (up to date, newer kept,
 *   installed), 1 when any host failed, 2 for bad usage (nothing touched).
 */
#ifndef POP_INSTALL_VIB_H
#define POP_INSTALL_VIB_H

/* True when argv asks for install-vib (argv[1] == "install-vib", or the
 * program is called vib-installer); *skip is how many leading words to drop. */
int install_vib_wanted(int argc, char *const argv[], int *skip);

int install_vib_main(int argc, char *argv[], const char *const envp[]);

#endif
