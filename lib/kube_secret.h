/*
 * One key of a Kubernetes Secret, read and written through the Kubernetes
 * client (lib/kube.h): for small, best-effort state a driver keeps in the
 * cluster (FlashSystem's token cache).
 *
 * - Values are the decoded bytes of .data[key], as a NUL-terminated string.
 * - Writing is get + update (PUT with the read resourceVersion), so a
 *   concurrent writer makes it fail with PERR_CONFLICT instead of losing
 *   either change; the Secret must exist (it is never created: the
 *   controller makes it and grants get/update/patch only).
 * - Errors are kube_get()/kube_update()'s (PERR_AUTH for a forbidden Secret,
 *   PERR_NOT_FOUND for a missing one); values are secrets and never appear
 *   in a message or a log.
 */
#ifndef POP_KUBE_SECRET_H
#define POP_KUBE_SECRET_H

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/kube.h"

extern const struct kube_res kube_res_secret;

/* *value gets the decoded .data[key] (malloc'd; free it zeroed), or NULL
 * when the Secret has no such key.  A Secret that does not exist is
 * PERR_NOT_FOUND. */
int kube_secret_get_key(struct kube *k, const char *ns, const char *name, const char *key,
                        char **value, struct perr *err);

/* Sets .data[key] = base64(value) on the existing Secret, keeping its other
 * keys. */
int kube_secret_set_key(struct kube *k, const char *ns, const char *name, const char *key,
                        const char *value, struct perr *err);

#endif
