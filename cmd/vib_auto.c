#include "cmd/vib_auto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esxi/vib.h"
#include "esxi/vib_install.h"
#include "esxi/vim_calls.h"
#include "esxi/wrapper.h"
#include "lib/buf.h"
#include "lib/deadline.h"
#include "lib/lease.h"
#include "lib/log.h"

#define AUTO_COMP "vib-auto"
#define MAX_VIB   (64L * 1024 * 1024)
/* How long a populator waits for another one's install on the same host. */
#define LEASE_WAIT_MS (20L * 60 * 1000)

static int
read_vib(const char *path, struct buf *b, struct perr *err)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;
    int rc = -1;

    if (f == NULL)
        return perr_set(err, PERR_USAGE, "VIB_PATH: cannot read '%s': %s", path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if ((long)(b->len + n) > MAX_VIB) {
            perr_set(err, PERR_USAGE, "VIB_PATH: '%s' is larger than %ld bytes", path, MAX_VIB);
            goto out;
        }
        if (buf_add(b, chunk, n, err) < 0)
            goto out;
    }
    rc = 0;
out:
    fclose(f);
    return rc;
}

/* True when installed is the shipped version or newer. */
static bool
current(const char *installed, const char *shipped)
{
    int cmp = 0;

    return *installed != '\0' && version_compare(installed, shipped, &cmp) == 0 && cmp >= 0;
}

int
vib_auto_install(const struct config *cfg, struct vim *vim, struct kube *kube, const char *host,
                 const char *hostid, const char *installed, char **now, struct perr *err)
{
    struct vib_install_opts o = {0};
    struct vib_install_result res = {0};
    struct lease_opts lo = {0};
    struct lease *l = NULL;
    struct deadline d = deadline_in_ms(LEASE_WAIT_MS);
    struct buf vib = {0};
    struct perr tmp = {0};
    char *version = NULL;
    char *again = NULL;
    char *ip = NULL;
    char *lease_id = NULL;
    int rc = -1;

    *now = NULL;
    if (read_vib(cfg->vib_path, &vib, err) < 0 ||
        vib_file_version((const unsigned char *)vib.data, vib.len, &version, err) < 0) {
        perr_prefix(err, "VIB_AUTO_INSTALL: ");
        goto out;
    }
    if (current(installed, version)) {
        rc = 0;
        goto out;
    }
    log_info(AUTO_COMP, "the VIB plugin is missing or older; installing", "host", host, "installed",
             *installed != '\0' ? installed : "none", "version", version, NULL);
    if (kube != NULL) {
        lease_id = malloc(strlen(hostid) + 5);
        if (lease_id == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
        snprintf(lease_id, strlen(hostid) + 5, "%s-vib", hostid);
        lo.namespace = cfg->host_lease_namespace;
        lo.host_id = lease_id;
        lo.duration_s = cfg->host_lease_duration_seconds;
        lo.slots = 1;
        if (lease_acquire_opts(kube, &lo, &d, &l, err) < 0) {
            perr_prefix(err, "VIB_AUTO_INSTALL: host lease: ");
            goto out;
        }
        log_info(AUTO_COMP, "VIB install lease acquired", "lease", lease_name(l), NULL);
        /* Another populator may have installed it while this one waited. */
        if (vib_plugin_version(vim, host, &again, err) < 0)
            goto out;
        if (current(again, version)) {
            log_info(AUTO_COMP, "the VIB plugin was installed meanwhile", "host", host, "version",
                     again, NULL);
            *now = again;
            again = NULL;
            rc = 0;
            goto out;
        }
    }
    if (vim_host_mgmt_ip(vim, host, &ip, err) < 0)
        goto out;
    o.vim = vim;
    o.host_moref = host;
    o.ssh_host = ip;
    o.ssh_port = cfg->esxi_ssh_port;
    o.private_key = cfg->root_ssh_key;
    o.private_key_len = cfg->root_ssh_key_len;
    o.password = cfg->root_password;
    o.known_hosts = cfg->esxi_ssh_known_hosts;
    o.connect_timeout_ms = cfg->ssh_timeout_seconds * 1000;
    o.vib = (const unsigned char *)vib.data;
    o.vib_len = vib.len;
    o.vib_version = version;
    o.restart_hostd = true;
    if (vib_install_host(&o, &res, err) < 0) {
        perr_prefix(err, "VIB_AUTO_INSTALL on host '%s': ", host);
        goto out;
    }
    if (l != NULL && lease_check(l, err) < 0)
        goto out;
    log_info(AUTO_COMP, "VIB installed", "host", host, "result", vib_host_outcome_str(res.outcome),
             "version", res.after, NULL);
    *now = strdup(res.after != NULL && *res.after != '\0' ? res.after : version);
    if (*now == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    if (l != NULL && lease_release(l, &tmp) < 0)
        log_warn(AUTO_COMP, "VIB install lease release failed", "error", tmp.msg, NULL);
    vib_install_result_clear(&res);
    buf_free(&vib);
    free(version);
    free(again);
    free(ip);
    free(lease_id);
    return rc;
}
