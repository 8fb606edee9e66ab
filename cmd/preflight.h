/*
 * `vsphere-copy-offload-populator preflight`: tells an operator, before a
 * migration plan runs, what would make a populate fail and what to do.
 *
 * Contract:
 * - Takes the populate's flags and environment (vCenter, one array, the
 *   clone method and its SSH keys) plus --esxi-hosts and --try-map; see
 *   config_parse_command().  The hosts are --esxi-hosts, else
 *   --migration-host, else every host of the source VM's cluster.
 * - Every check ends pass, warn or fail, with a one-line detail and, unless
 *   it passed, a one-line remedy.  Checks that need something missing
 *   (a datastore, a target volume) are reported as warn naming the flag.
 * - Changes nothing on the hosts, vCenter or the array: only reads, esxcli
 *   list/get commands and the SSH probe and wrapper --version (the wrapper
 *   is never uploaded).  --try-map is the one exception: it maps the target
 *   volume to each host's initiator group, rescans for the device, then
 *   takes the device off, unmaps and purges the dead paths, in the
 *   populate's cleanup order; what it could not undo is a fail naming it.
 *   --write-known-hosts records the SSH host keys met (a local file).
 * - Output on stdout: a table (--output=text) or one JSON object
 *   (--output=json): {"result": "pass|warn|fail", "checks": [{"host",
 *   "check", "result", "detail", "remedy"}]}; logs go to stderr as usual.
 * - Exit status: 0 when no check failed (warnings allowed), 1 when one
 *   failed, 2 for bad usage (nothing was contacted).
 */
#ifndef POP_PREFLIGHT_H
#define POP_PREFLIGHT_H

/* The whole subcommand; argv[0] is the word "preflight".  Returns the exit status. */
int preflight_main(int argc, char *argv[], char **envp);

#endif
