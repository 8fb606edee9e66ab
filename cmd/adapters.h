/*
 * Which ESXi adapters go into the initiator group, by the array's own target
 * ports (vendor-corrections.md §3).
 *
 * Today's choice is the adapters with an active path to the source datastore
 * (vim_datastore_adapters()).  That picks the wrong adapters when the source
 * datastore lives on another array or protocol than the target volume.  When
 * the storage driver can list its target ports, the adapters that see one of
 * them as a SCSI target are the ones that can reach the new LUN.
 *
 * Contract:
 * - adapters_by_ports() is pure (no I/O, no logging): the flow in cmd/run.c
 *   fetches the inputs, calls it, and logs the outcome.
 * - Port identities compare as the arrays and vSphere spell them differently:
 *   FC port WWNs as 16 hex digits ignoring case and the separators ':', '-'
 *   and '.' ("52:4A:93:70:00:00:00:01" equals "524a937000000001"); a value
 *   that is not 16 hex digits then never matches.  iSCSI names compare
 *   lower-case with every ':' removed.
 * - An adapter is chosen when any of its targets matches any port, whatever
 *   the adapter's kind; adapters without an id are never chosen.  The host's
 *   adapter order is kept.
 */
#ifndef POP_ADAPTERS_H
#define POP_ADAPTERS_H

#include <stdbool.h>

#include "esxi/vim_calls.h"
#include "lib/strv.h"

/* Fills a cleared *out with the adapters of hbas that have a target among
 * the ports fc / iscsi (either may be empty): name, id and driver copied,
 * protocol "fc" or "iscsi" after the first chosen adapter, device NULL.
 * Returns the number chosen (0: none reaches the array; *out stays empty),
 * or -1 (PERR_NOMEM) with *out empty. */
int adapters_by_ports(const struct vim_hbas *hbas, const struct strv *fc, const struct strv *iscsi,
                      struct vim_adapters *out, struct perr *err);

/* The comparisons adapters_by_ports() uses. */
bool adapters_fc_port_equal(const char *a, const char *b);
bool adapters_iscsi_name_equal(const char *a, const char *b);

#endif
