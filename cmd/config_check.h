/*
 * The configuration checks that need more than parsing, made once the
 * configuration is parsed and before anything is contacted.
 *
 * config_parse() checks each value on its own; config_check() checks what
 * the run would otherwise find out only when it first uses a value, after it
 * has logged in somewhere:
 * - the storage vendor is built into this binary;
 * - STORAGE_HOSTNAME and GOVMOMI_HOSTNAME make well-formed https:// URLs;
 * - the storage CA file (unless STORAGE_SKIP_SSL_VERIFICATION) and the
 *   vSphere secret's cacert (unless GOVMOMI_INSECURE) hold certificates;
 * - when Kubernetes is used (pod mode, or --kubeconfig/--master given): the
 *   kubeconfig or in-cluster configuration loads, --master is a URL, and the
 *   client can be made from it (its CA, its client certificate);
 * - ssh clone method: SSH_PRIVATE_KEY imports as a key, and the
 *   --esxi-ssh-known-hosts file is readable and holds host keys.
 *
 * Contract:
 * - Reads only the files the configuration names; no network, no DNS, no
 *   socket is bound.
 * - On failure returns -1 with err->code PERR_USAGE or PERR_CONFIG (or
 *   PERR_NOMEM) and a message naming the flag or variable to fix; the
 *   caller exits 2.
 */
#ifndef POP_CONFIG_CHECK_H
#define POP_CONFIG_CHECK_H

#include "cmd/config.h"
#include "lib/err.h"

int config_check(const struct config *cfg, struct perr *err);

/* True for the error kinds that mean "fix the configuration" (exit 2). */
bool config_error_is_usage(const struct perr *err);

#endif
