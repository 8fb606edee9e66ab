#include "cmd/config_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "esxi/ssh.h"
#include "esxi/vim.h"
#include "lib/buf.h"
#include "lib/http.h"
#include "lib/kube.h"
#include "storage/storage.h"

/* Whatever a check below found wrong is the configuration's fault, even when
 * the layer that found it calls it something else (an unsupported driver, a
 * TLS library refusing a PEM): only running out of memory stays itself. */
static int
as_config(struct perr *err, enum perr_code code)
{
    if (err->code != PERR_NOMEM)
        err->code = code;
    return -1;
}

/* libcurl's own URL parser, the one every request goes through later. */
static int
check_url(const char *url, const char *what, struct perr *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL;
    CURLUcode uc;
    int rc = -1;

    if (u == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK) {
        perr_set(err, PERR_USAGE, "%s: '%s' is not a valid URL: %s", what, url,
                 curl_url_strerror(uc));
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcasecmp(scheme, "https") != 0 && strcasecmp(scheme, "http") != 0)) {
        perr_set(err, PERR_USAGE, "%s: '%s' is not an http(s) URL", what, url);
        goto out;
    }
    rc = 0;
out:
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}

/* Makes (and drops) the transport the run will make: it reads and parses the
 * CA exactly as the run would, without a request. */
static int
check_ca(const char *ca_file, const char *ca_pem, const char *what, struct perr *err)
{
    struct http_opts o = {0};
    struct http_transport t = {0};

    o.component = "config";
    o.ca_file = ca_file;
    o.ca_pem = ca_pem;
    if (http_transport_curl_new(&o, &t, err) < 0) {
        perr_prefix(err, "%s: ", what);
        return as_config(err, PERR_CONFIG);
    }
    http_transport_free(&t);
    return 0;
}

/* A CA file the transport only checks for readability: its certificates
 * are parsed here, as they would be at the first handshake. */
static int
check_ca_file(const char *path, const char *what, struct perr *err)
{
    FILE *f = NULL;
    struct buf pem = {0};
    char chunk[8192];
    char label[PERR_MSG_MAX];
    size_t n;
    int rc = -1;

    if (check_ca(path, NULL, what, err) < 0)
        goto out;
    f = fopen(path, "r");
    if (f == NULL) {
        perr_set(err, PERR_CONFIG, "%s: CA file '%s' cannot be opened", what, path);
        goto out;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_add(&pem, chunk, n, err) < 0)
            goto out;
    }
    if (ferror(f)) {
        perr_set(err, PERR_CONFIG, "%s: CA file '%s': read error", what, path);
        goto out;
    }
    snprintf(label, sizeof(label), "%s: CA file '%s'", what, path);
    if (check_ca(NULL, buf_cstr(&pem), label, err) < 0)
        goto out;
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    buf_free(&pem);
    return rc;
}

static int
check_storage(const struct config *cfg, struct perr *err)
{
    const struct storage_driver *drv = NULL;
    struct storage_kv env[8] = {{0}};
    struct buf url = {0};
    size_t nenv = 0;
    int rc = -1;

    if (storage_driver_lookup(cfg->vendor, &drv, err) < 0) {
        perr_prefix(err, "--storage-vendor-product (STORAGE_VENDOR): ");
        return as_config(err, PERR_USAGE);
    }
    for (size_t i = 0; i < cfg->n_vendor_env && i < ARRAY_LEN(env); i++) {
        env[i].key = cfg->vendor_env[i].key;
        env[i].value = cfg->vendor_env[i].value;
        nenv = i + 1;
    }
    if (storage_base_url(drv, cfg->storage_hostname, env, nenv, &url, err) < 0) {
        as_config(err, PERR_USAGE);
        goto out;
    }
    if (check_url(buf_cstr(&url), "STORAGE_HOSTNAME (--storage-hostname)", err) < 0)
        goto out;
    if (!cfg->storage_skip_ssl_verification && cfg->storage_ca_file != NULL &&
        check_ca_file(cfg->storage_ca_file, "--storage-ca-file (STORAGE_CA_FILE)", err) < 0)
        goto out;
    rc = 0;
out:
    buf_free(&url);
    return rc;
}

static int
check_vsphere(const struct config *cfg, struct perr *err)
{
    char *url = NULL;
    char *base = NULL;
    int rc = -1;

    if (vim_url_normalise(cfg->vsphere_hostname, &url, &base, err) < 0) {
        as_config(err, PERR_USAGE);
        goto out;
    }
    if (check_url(url, "--vsphere-hostname (GOVMOMI_HOSTNAME)", err) < 0)
        goto out;
    if (!cfg->vsphere_insecure && cfg->vsphere_cacert != NULL &&
        check_ca(NULL, cfg->vsphere_cacert, "cacert (vSphere secret)", err) < 0)
        goto out;
    rc = 0;
out:
    free(url);
    free(base);
    return rc;
}

/* The same configuration the run loads, and the client made from it. */
static int
check_kube(const struct config *cfg, struct perr *err)
{
    struct kube_opts ko = {0};
    struct kube_config *kc = NULL;
    struct kube *k = NULL;
    const char *what =
        cfg->kubeconfig != NULL ? "--kubeconfig" : "Kubernetes in-cluster configuration";
    int rc = -1;

    ko.kubeconfig = cfg->kubeconfig;
    ko.master = cfg->master;
    if (cfg->master != NULL && check_url(cfg->master, "--master", err) < 0)
        goto out;
    if (kube_config_load(&ko, &kc, err) < 0) {
        perr_prefix(err, "%s: ", what);
        as_config(err, PERR_CONFIG);
        goto out;
    }
    if (check_url(kc->server, cfg->master != NULL ? "--master" : what, err) < 0)
        goto out;
    if (kube_open(kc, &k, err) < 0) {
        perr_prefix(err, "%s: ", what);
        as_config(err, PERR_CONFIG);
        goto out;
    }
    rc = 0;
out:
    kube_close(k);
    kube_config_free(kc);
    return rc;
}

static int
check_ssh(const struct config *cfg, struct perr *err)
{
    if (cfg->clone_method != CLONE_METHOD_SSH)
        return 0;
    if (esxi_ssh_check_key(cfg->ssh_private_key, cfg->ssh_private_key_len, err) < 0)
        return as_config(err, PERR_USAGE);
    if (cfg->esxi_ssh_known_hosts != NULL &&
        esxi_ssh_check_known_hosts(cfg->esxi_ssh_known_hosts, err) < 0) {
        perr_prefix(err, "--esxi-ssh-known-hosts (ESXI_SSH_KNOWN_HOSTS): ");
        return as_config(err, PERR_CONFIG);
    }
    return 0;
}

int
config_check(const struct config *cfg, struct perr *err)
{
    if (check_storage(cfg, err) < 0 || check_vsphere(cfg, err) < 0)
        return -1;
    /* Pod mode, or manual mode given a cluster anyway (the run's rule). */
    if ((cfg->target_volume_handle == NULL || cfg->kubeconfig != NULL || cfg->master != NULL) &&
        check_kube(cfg, err) < 0)
        return -1;
    /* --metrics-listen needs nothing beyond its syntax, which config_parse()
     * already checked. */
    return check_ssh(cfg, err);
}

bool
config_error_is_usage(const struct perr *err)
{
    return err->code == PERR_USAGE || err->code == PERR_CONFIG;
}
