/*
 * One key of a Secret over kube_get()/kube_update().  An update rather than a
 * merge patch: the RBAC the controller grants covers both, and the update
 * needs nothing the generic client lacks.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/kube_secret.h"

const struct kube_res kube_res_secret = {
    .api = "/api/v1",
    .plural = "secrets",
    .namespaced = true,
    .rbac_hint = "the controller grants get/update/patch on Secret 'storage-array-secret' "
                 "in 'openshift-mtv' only; check HOST_LEASE_NAMESPACE",
};

static void
free_zero(char *s, size_t n)
{
    if (s != NULL) {
        explicit_bzero(s, n);
        free(s);
    }
}

int
kube_secret_get_key(struct kube *k, const char *ns, const char *name, const char *key, char **value,
                    struct perr *err)
{
    json_t *secret = NULL;
    const char *b64;
    int rc = -1;

    *value = NULL;
    if (kube_get(k, &kube_res_secret, ns, name, &secret, err) < 0)
        goto out;
    b64 = json_string_value(json_object_get(json_object_get(secret, "data"), key));
    if (b64 != NULL && kube_base64_decode(b64, key, value, NULL, err) < 0)
        goto out;
    rc = 0;
out:
    json_decref(secret);
    return rc;
}

int
kube_secret_set_key(struct kube *k, const char *ns, const char *name, const char *key,
                    const char *value, struct perr *err)
{
    json_t *secret = NULL;
    json_t *data;
    size_t len = strlen(value);
    size_t cap = 4 * ((len + 2) / 3) + 1;
    char *b64 = NULL;
    int rc = -1;

    if (kube_get(k, &kube_res_secret, ns, name, &secret, err) < 0)
        goto out;
    b64 = malloc(cap);
    if (b64 == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)value, (int)len);
    data = json_object_get(secret, "data");
    if (!json_is_object(data)) {
        data = json_object();
        if (data == NULL || json_object_set_new(secret, "data", data) < 0) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
    }
    if (json_object_set_new(data, key, json_string(b64)) < 0) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    if (kube_update(k, &kube_res_secret, ns, name, secret, NULL, err) < 0)
        goto out;
    rc = 0;
out:
    free_zero(b64, cap);
    json_decref(secret);
    return rc;
}
