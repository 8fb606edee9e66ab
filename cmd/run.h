/*
 * The populate job: what main() runs once the configuration is valid.
 *
 * Flow (XCOPY path): log in to the array and to vCenter; find the VM, its disk
 * and the ESXi host; choose the method (VVol or RDM array copy when the driver
 * has one and it is not disabled, else vmkfstools clone over VIB or SSH);
 * build the initiator group from the datastore's active adapters; resolve the
 * PV's LUN and remember the groups it is mapped to; map; rescan until the
 * device is visible (under the host lease when Kubernetes is used); clone;
 * then clean up in a fixed order: device off, detached remove, unmap, re-map
 * the original groups, purge dead paths on the adapters used.
 *
 * Contract:
 * - Before anything is contacted, config_check() (cmd/config_check.h) checks
 *   the configuration; its failure is PERR_USAGE/PERR_CONFIG, phase
 *   "configuration", and nothing was touched.
 * - run() returns 0 when the disk was copied, whether or not cleanup undid
 *   everything: what it could not undo is in res->leftovers (one
 *   human-readable item each, each also logged at warn when found), and
 *   main() still exits 0.
 * - On failure it returns -1 with the root cause in *err (first error wins);
 *   cleanup still ran, and anything it could not undo is listed in
 *   res->leftovers.  main() turns a non-empty list into exit status 3.
 * - A map request that failed is undone like one that succeeded: its answer
 *   may have been lost after the array acted (unmap is idempotent).
 * - A SIGTERM/SIGINT/SIGHUP/SIGQUIT (cancel_request()) stops the waits and
 *   the running clone, and is checked at every phase boundary, so nothing is
 *   logged in to or created after it.  Cleanup then runs in full behind the
 *   cancellation shield (lib/deadline.h) with its own deadline and retries;
 *   a second signal cuts it, logged at warn, and what was not undone yet is
 *   listed in res->leftovers.
 * - The metrics endpoint (cfg->metrics_listen) starts before the storage
 *   login, so every outcome, a failed login included, reaches the
 *   controller's scrape.  An endpoint that cannot start (busy port) is a
 *   warning and the copy goes on.  At the end the completion sample is set
 *   and, in pod mode only, run() waits up to 10 s for one scrape that
 *   carries it; a manual run never waits.
 * - Every wait polls with a deadline and a short interval; nothing sleeps a
 *   fixed time.
 * - run() never exits and never prints to stdout except the --output=json
 *   result object.
 */
#ifndef POP_RUN_H
#define POP_RUN_H

#include <stdbool.h>

#include "cmd/config.h"
#include "lib/err.h"
#include "lib/strv.h"

struct run_result {
    struct strv leftovers; /* what cleanup could not undo; owned */
    const char *phase;     /* phase that failed ("map", "clone", ...); static */
};

int run(const struct config *cfg, struct run_result *res, struct perr *err);
void run_result_free(struct run_result *res);

#endif
