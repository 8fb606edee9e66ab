#include "cmd/preflight.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/adapters.h"
#include "cmd/config.h"
#include "cmd/main.h"
#include "esxi/clone.h"
#include "esxi/esxcli.h"
#include "esxi/ssh_carrier.h"
#include "esxi/vib.h"
#include "esxi/vim.h"
#include "esxi/vim_calls.h"
#include "esxi/vim_xml.h"
#include "esxi/wrapper.h"
#include "lib/buf.h"
#include "lib/deadline.h"
#include "lib/log.h"
#include "storage/storage.h"

#define PF_COMP "preflight"
/* The largest XCOPY transfer ESXi issues (KB); below it copies take more commands. */
#define PF_MAX_HW_TRANSFER_KB 16384L
#define PF_DEVICE_OFF_MS      (20L * 1000)

enum pf_result { PF_PASS, PF_WARN, PF_FAIL };

static const char *const pf_result_names[] = {"pass", "warn", "fail"};

struct pf_check {
    char *host; /* "" for checks that are not about one host */
    const char *name;
    enum pf_result result;
    char *detail;
    char *remedy; /* NULL when passed */
};

struct pf {
    const struct config *cfg;
    struct vim *vim;
    struct storage *st;
    struct storage_lun lun; /* the target volume, when resolved */
    bool lun_ok;
    struct strv fc;    /* the array's FC target ports */
    struct strv iscsi; /* the array's iSCSI target names */
    bool ports_listed; /* the driver lists its ports */
    bool same_array_done;
    struct pf_check *v;
    size_t n;
    bool nomem;
};

static void pf_add(struct pf *p, const char *host, const char *name, enum pf_result res,
                   const char *remedy, const char *fmt, ...) ATTR_PRINTF(6, 7);

/* Records one check; running out of memory here only marks the report incomplete. */
static void
pf_add(struct pf *p, const char *host, const char *name, enum pf_result res, const char *remedy,
       const char *fmt, ...)
{
    struct pf_check *grown = realloc(p->v, (p->n + 1) * sizeof(*grown));
    struct pf_check *c;
    char detail[1024];
    va_list ap;

    if (grown == NULL) {
        p->nomem = true;
        return;
    }
    p->v = grown;
    c = &p->v[p->n++];
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    c->host = strdup(host != NULL ? host : "");
    c->name = name;
    c->result = res;
    c->detail = strdup(detail);
    c->remedy = res != PF_PASS && remedy != NULL ? strdup(remedy) : NULL;
    if (c->host == NULL || c->detail == NULL || (res != PF_PASS && remedy != NULL && !c->remedy))
        p->nomem = true;
    log_debug(PF_COMP, "check", "host", c->host, "check", name, "result", pf_result_names[res],
              "detail", c->detail, NULL);
}

static void
pf_free(struct pf *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].host);
        free(p->v[i].detail);
        free(p->v[i].remedy);
    }
    free(p->v);
    storage_lun_clear(&p->lun);
    strv_free(&p->fc);
    strv_free(&p->iscsi);
    storage_free(p->st);
    vim_close(p->vim);
}

/* ---- vCenter ---- */

static void
check_vcenter(struct pf *p)
{
    struct vim_opts o = {0};
    struct perr err = {0};

    o.host = p->cfg->vsphere_hostname;
    o.user = p->cfg->vsphere_username;
    o.password = p->cfg->vsphere_password;
    o.insecure = p->cfg->vsphere_insecure;
    o.ca_pem = p->cfg->vsphere_cacert;
    if (vim_open(&o, &p->vim, &err) < 0) {
        pf_add(p, NULL, "vcenter-login", PF_FAIL,
               err.code == PERR_TLS
                   ? "put the CA that signed vCenter's certificate in the secret's cacert (or set "
                     "GOVMOMI_INSECURE=true)"
                   : "check GOVMOMI_HOSTNAME, GOVMOMI_USERNAME and GOVMOMI_PASSWORD",
               "%s", err.msg);
        return;
    }
    pf_add(p, NULL, "vcenter-login", PF_PASS, NULL, "logged in to %s as '%s' (API %s)%s",
           p->vim->url, p->cfg->vsphere_username, p->vim->sc.api_version,
           p->cfg->vsphere_insecure ? "; TLS not verified (GOVMOMI_INSECURE)" : "");
}

/* The text of one property of one object, or NULL (err set). */
static char *
prop_text(struct vim *v, const char *type, const char *moref, const char *path, struct perr *err)
{
    const char *const paths[] = {path, NULL};
    struct vim_resp *r = NULL;
    char *s = NULL;

    if (vim_props_get(v, type, moref, paths, &r, err) < 0)
        return NULL;
    s = vim_xml_path_text(vim_props_val(r, path), "");
    if (s == NULL)
        perr_set(err, PERR_NOT_FOUND, "%s '%s' has no %s", type, moref, path);
    vim_resp_free(r);
    return s;
}

/* Every host of the cluster (compute resource) that holds host. */
static int
cluster_hosts(struct pf *p, const char *host, struct strv *out, struct perr *err)
{
    static const char *const parent_path[] = {"parent", NULL};
    static const char *const host_path[] = {"host", NULL};
    struct vim_resp *r = NULL;
    struct vim_resp *r2 = NULL;
    xmlNode *val;
    char *type = NULL;
    char *parent = NULL;
    int rc = -1;

    if (vim_props_get(p->vim, "HostSystem", host, parent_path, &r, err) < 0)
        goto out;
    val = vim_props_val(r, "parent");
    parent = vim_xml_path_text(val, "");
    type = val != NULL ? (char *)xmlGetNoNsProp(val, (const xmlChar *)"type") : NULL;
    if (parent == NULL || type == NULL) {
        perr_set(err, PERR_PROTOCOL, "host '%s' has no parent", host);
        goto out;
    }
    if (vim_props_get(p->vim, type, parent, host_path, &r2, err) < 0)
        goto out;
    for (xmlNode *h = vim_xml_first_element(vim_props_val(r2, "host")); h != NULL;
         h = vim_xml_next_same(h)) {
        char *id = vim_xml_path_text(h, "");

        if (id != NULL && !strv_contains(out, id) && strv_take(out, id, err) < 0)
            goto out;
        if (id == NULL)
            goto out;
    }
    rc = 0;
out:
    if (type != NULL)
        xmlFree(type);
    free(parent);
    vim_resp_free(r);
    vim_resp_free(r2);
    return rc;
}

/* The hosts to check: --esxi-hosts, --migration-host, or the VM's cluster. */
static int
pick_hosts(struct pf *p, struct strv *hosts)
{
    const struct config *cfg = p->cfg;
    struct perr err = {0};
    char *vm = NULL;
    char *vm_host = NULL;
    int rc = -1;

    if (cfg->esxi_hosts != NULL) {
        for (const char *s = cfg->esxi_hosts; *s != '\0';) {
            size_t n = strcspn(s, ",");

            if (n > 0 && strv_addf(hosts, &err, "%.*s", (int)n, s) < 0)
                goto out;
            s += n + (s[n] == ',');
        }
    } else if (cfg->migration_host != NULL) {
        if (strv_add(hosts, cfg->migration_host, &err) < 0)
            goto out;
    }
    if (cfg->source_vm_id != NULL) {
        if (vim_find_vm(p->vim, cfg->source_vm_id, &vm, &err) < 0 ||
            vim_vm_host(p->vim, vm, &vm_host, &err) < 0) {
            pf_add(p, NULL, "source-vm", PF_FAIL,
                   "check --source-vm-id: a VM MoRef value (vm-123) or name that vCenter knows",
                   "%s", err.msg);
            perr_clear(&err);
        } else {
            pf_add(p, NULL, "source-vm", PF_PASS, NULL, "VM '%s' runs on host '%s'", vm, vm_host);
            if (hosts->n == 0 && cluster_hosts(p, vm_host, hosts, &err) < 0) {
                pf_add(p, NULL, "hosts", PF_FAIL, "name the hosts with --esxi-hosts",
                       "cannot list the hosts of the cluster of '%s': %s", vm_host, err.msg);
                goto out;
            }
        }
    }
    rc = 0;
out:
    if (err.code == PERR_NOMEM)
        p->nomem = true;
    free(vm);
    free(vm_host);
    return rc;
}

/* ---- the array ---- */

static void
check_array(struct pf *p)
{
    const struct config *cfg = p->cfg;
    const struct storage_driver *drv = NULL;
    struct storage_config sc = {0};
    struct storage_kv env[8] = {{0}};
    struct storage_array_info info = {0};
    struct perr err = {0};

    if (storage_driver_lookup(cfg->vendor, &drv, &err) < 0) {
        pf_add(p, NULL, "array-login", PF_FAIL, "use a vendor this build supports", "%s", err.msg);
        return;
    }
    sc.hostname = cfg->storage_hostname;
    sc.username = cfg->storage_username;
    sc.password = cfg->storage_password;
    sc.token = cfg->storage_token;
    sc.skip_ssl = cfg->storage_skip_ssl_verification;
    sc.ca_file = cfg->storage_ca_file;
    sc.timeout_s = cfg->storage_http_timeout_seconds;
    for (size_t i = 0; i < cfg->n_vendor_env && i < ARRAY_LEN(env); i++) {
        env[i].key = cfg->vendor_env[i].key;
        env[i].value = cfg->vendor_env[i].value;
        sc.nenv = i + 1;
    }
    sc.env = env;
    if (storage_open(drv, &sc, &p->st, &err) < 0) {
        if (err.code == PERR_TLS) {
            pf_add(p, NULL, "array-tls", PF_FAIL,
                   "give the CA that signed the array's certificate with --storage-ca-file "
                   "(STORAGE_CA_FILE), or set STORAGE_SKIP_SSL_VERIFICATION=true",
                   "%s", err.msg);
        } else {
            pf_add(p, NULL, "array-login", PF_FAIL,
                   err.code == PERR_AUTH
                       ? "check STORAGE_USERNAME and STORAGE_PASSWORD (or STORAGE_TOKEN) and "
                         "the user's role on the array"
                       : "check STORAGE_HOSTNAME and that the array's API answers from here",
                   "%s", err.msg);
        }
        return;
    }
    if (cfg->storage_skip_ssl_verification)
        pf_add(p, NULL, "array-tls", PF_WARN,
               "give the array's CA with --storage-ca-file and drop "
               "STORAGE_SKIP_SSL_VERIFICATION",
               "certificate of '%s' not verified (STORAGE_SKIP_SSL_VERIFICATION=true)",
               cfg->storage_hostname);
    else
        pf_add(p, NULL, "array-tls", PF_PASS, NULL, "certificate of '%s' verified%s%s",
               cfg->storage_hostname, cfg->storage_ca_file != NULL ? " against " : "",
               cfg->storage_ca_file != NULL ? cfg->storage_ca_file : "");
    if (storage_array_info(p->st, &info, &err) < 0)
        log_debug(PF_COMP, "array information unavailable", "error", err.msg, NULL);
    pf_add(p, NULL, "array-login", PF_PASS, NULL, "logged in to %s %s%s%s",
           info.vendor != NULL ? info.vendor : drv->vendor,
           info.product != NULL ? info.product : drv->product, info.version != NULL ? " " : "",
           info.version != NULL ? info.version : "");
    storage_array_info_clear(&info);
    perr_clear(&err);
    if (storage_target_ports(p->st, &p->fc, &p->iscsi, &err) == 0)
        p->ports_listed = true;
    else if (err.code != PERR_UNSUPPORTED)
        pf_add(p, NULL, "array-ports", PF_WARN, "check the array user's read rights on its ports",
               "the array's target ports cannot be listed: %s", err.msg);
}

static void
check_target_volume(struct pf *p)
{
    const struct config *cfg = p->cfg;
    struct storage_pv pv = {0};
    struct storage_attr *attrs = NULL;
    struct perr err = {0};

    if (p->st == NULL)
        return;
    if (cfg->target_volume_handle == NULL) {
        pf_add(p, NULL, "target-volume", PF_WARN,
               "give --target-volume-handle (and --target-volume-attribute) to check the volume",
               "no target volume given: the same-array check and --try-map need one");
        return;
    }
    attrs = calloc(cfg->n_target_attrs + 1, sizeof(*attrs));
    if (attrs == NULL) {
        p->nomem = true;
        return;
    }
    for (size_t i = 0; i < cfg->n_target_attrs; i++) {
        attrs[i].key = cfg->target_attrs[i].key;
        attrs[i].value = cfg->target_attrs[i].value;
    }
    pv.name = cfg->target_volume_handle;
    pv.volume_handle = cfg->target_volume_handle;
    pv.attrs = attrs;
    pv.nattrs = cfg->n_target_attrs;
    if (storage_resolve_pv(p->st, &pv, &p->lun, &err) < 0) {
        pf_add(p, NULL, "target-volume", PF_FAIL,
               "act on the array's answer (detail), or check --target-volume-handle and the "
               "vendor settings (the PV's CSI details)",
               "%s", err.msg);
    } else {
        p->lun_ok = true;
        pf_add(p, NULL, "target-volume", PF_PASS, NULL, "volume '%s' is device %s",
               p->lun.name != NULL ? p->lun.name : "", p->lun.naa != NULL ? p->lun.naa : "?");
    }
    free(attrs);
}

/*
 * Source and target on one array: XCOPY only happens inside one array, so a
 * datastore elsewhere makes vmkfstools copy through the host.  A volume's
 * NAA carries its array's vendor id (the 24-bit IEEE OUI after the NAA type
 * digit "6"), so different OUIs mean different arrays for sure; the same OUI
 * can still be two arrays of one vendor, which only --try-map's XCOPY proof
 * could tell, hence the wording of the pass.
 */
static void
check_same_array(struct pf *p, const char *ds_device)
{
    const char *t = p->lun.naa;

    if (!p->lun_ok || p->same_array_done || ds_device == NULL || t == NULL)
        return;
    p->same_array_done = true;
    if (strncmp(ds_device, "naa.6", 5) != 0 || strncmp(t, "naa.6", 5) != 0 ||
        strlen(ds_device) < 11 || strlen(t) < 11) {
        pf_add(p, NULL, "same-array", PF_WARN,
               "make sure the datastore and the storage class live on the same array",
               "cannot compare devices '%s' and '%s' (not NAA type 6)", ds_device, t);
        return;
    }
    if (strncmp(ds_device + 5, t + 5, 6) != 0) {
        pf_add(p, NULL, "same-array", PF_FAIL,
               "map the datastore to a storage class on the array that holds it (XCOPY only "
               "works inside one array)",
               "datastore '%s' is on device %s (vendor id %.6s), the target volume is %s (vendor "
               "id %.6s): different arrays",
               p->cfg->vmdk_datastore, ds_device, ds_device + 5, t, t + 5);
        return;
    }
    pf_add(p, NULL, "same-array", PF_PASS, NULL,
           "datastore device %s and target %s have the same array vendor id %.6s", ds_device, t,
           t + 5);
}

/* ---- one host ---- */

/* The IntValue of an advanced option ("/Disk/MaxLUN"), through esxcli. */
static int
advanced_int(struct esxcli *e, const char *path, long *out, struct perr *err)
{
    const char *argv[] = {"system", "settings", "advanced", "list", "-o", path, NULL};
    struct esxcli_result res = {0};
    const char *v;
    char *end = NULL;
    int rc = -1;

    if (esxcli_run(e, argv, &res, err) < 0)
        goto out;
    v = res.nrows > 0 ? esxcli_get(&res, 0, "IntValue") : NULL;
    if (v == NULL || (*out = strtol(v, &end, 10), *end != '\0' || end == v)) {
        perr_set(err, PERR_PROTOCOL, "option '%s' has no integer value", path);
        goto out;
    }
    rc = 0;
out:
    esxcli_result_free(&res);
    return rc;
}

static void
check_vaai_settings(struct pf *p, const char *host, struct esxcli *e)
{
    struct perr err = {0};
    long v = 0;

    if (advanced_int(e, "/DataMover/HardwareAcceleratedMove", &v, &err) < 0)
        pf_add(p, host, "vaai-move", PF_FAIL,
               "check that the vCenter user may read the host's advanced settings",
               "cannot read DataMover.HardwareAcceleratedMove: %s", err.msg);
    else if (v != 1)
        pf_add(p, host, "vaai-move", PF_FAIL,
               "esxcli system settings advanced set -o /DataMover/HardwareAcceleratedMove -i 1",
               "DataMover.HardwareAcceleratedMove is %ld: the host copies every byte itself", v);
    else
        pf_add(p, host, "vaai-move", PF_PASS, NULL, "DataMover.HardwareAcceleratedMove is 1");
    perr_clear(&err);
    if (advanced_int(e, "/DataMover/MaxHWTransferSize", &v, &err) < 0)
        pf_add(p, host, "max-hw-transfer", PF_WARN,
               "check that the vCenter user may read the host's advanced settings",
               "cannot read DataMover.MaxHWTransferSize: %s", err.msg);
    else if (v < PF_MAX_HW_TRANSFER_KB)
        pf_add(p, host, "max-hw-transfer", PF_WARN,
               "esxcli system settings advanced set -o /DataMover/MaxHWTransferSize -i 16384",
               "DataMover.MaxHWTransferSize is %ld KB: copies take more XCOPY commands than at "
               "16384",
               v);
    else
        pf_add(p, host, "max-hw-transfer", PF_PASS, NULL, "DataMover.MaxHWTransferSize is %ld KB",
               v);
}

static void
check_datastore_vaai(struct pf *p, const char *host, struct esxcli *e, const char *dev)
{
    const char *argv[] = {"storage", "core", "device", "vaai", "status", "get", "-d", dev, NULL};
    struct esxcli_result res = {0};
    struct perr err = {0};
    const char *clone;

    if (esxcli_run(e, argv, &res, &err) < 0) {
        pf_add(p, host, "datastore-vaai-clone", PF_FAIL,
               "check the device's VAAI claim rule and the array's VAAI support",
               "cannot read the VAAI status of %s: %s", dev, err.msg);
        goto out;
    }
    clone = res.nrows > 0 ? esxcli_get(&res, 0, "CloneStatus") : NULL;
    if (clone == NULL || strcmp(clone, "supported") != 0)
        pf_add(p, host, "datastore-vaai-clone", PF_FAIL,
               "enable XCOPY (VAAI full copy) on the array for this volume and check the VAAI "
               "claim rule (esxcli storage core claimrule list -c VAAI)",
               "datastore device %s: Clone Status is '%s'", dev, clone != NULL ? clone : "absent");
    else
        pf_add(p, host, "datastore-vaai-clone", PF_PASS, NULL,
               "datastore device %s: Clone Status is supported", dev);
out:
    esxcli_result_free(&res);
}

/*
 * ESXi discovers LUN ids below Disk.MaxLUN only, so a target volume mapped
 * at a higher id never shows up.  The id the array will pick is not known
 * before the map; arrays hand out the lowest free or the next id, so the
 * estimate is one past the highest id the host already sees behind the
 * adapters that reach the array.  --try-map then checks the real device.
 */
static void
check_max_lun(struct pf *p, const char *host, struct esxcli *e, const struct vim_hbas *hbas,
              const struct vim_adapters *reach)
{
    struct perr err = {0};
    long max_lun = 0;
    long highest = -1;

    if (advanced_int(e, "/Disk/MaxLUN", &max_lun, &err) < 0) {
        pf_add(p, host, "max-lun", PF_WARN,
               "check that the vCenter user may read the host's advanced settings",
               "cannot read Disk.MaxLUN: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < hbas->n; i++) {
        for (size_t j = 0; j < reach->n; j++) {
            if (hbas->v[i].name != NULL && strcmp(hbas->v[i].name, reach->v[j].name) == 0 &&
                hbas->v[i].max_lun > highest)
                highest = hbas->v[i].max_lun;
        }
    }
    if (highest + 1 >= max_lun)
        pf_add(p, host, "max-lun", PF_FAIL,
               "raise it: esxcli system settings advanced set -o /Disk/MaxLUN -i 16384 (or "
               "free LUN ids in the host's group on the array)",
               "Disk.MaxLUN is %ld, but the array's next LUN id on this host is about %ld "
               "(highest in use %ld): the new device would stay invisible",
               max_lun, highest + 1, highest);
    else if (highest < 0)
        pf_add(p, host, "max-lun", PF_PASS, NULL,
               "Disk.MaxLUN is %ld; no LUN in use behind the array's targets yet", max_lun);
    else
        pf_add(p, host, "max-lun", PF_PASS, NULL,
               "Disk.MaxLUN is %ld; highest LUN id in use behind the array's targets is %ld",
               max_lun, highest);
}

/* The adapters that reach the array: by its target ports when it lists
 * them, else the datastore's active ones (what a populate uses). */
static int
check_adapters(struct pf *p, const char *host, const struct vim_hbas *hbas, struct vim_adapters *ds,
               struct vim_adapters *out)
{
    struct perr err = {0};
    struct buf names = {0};
    int n = 0;

    memset(out, 0, sizeof(*out));
    out->protocol = "n/a";
    if (p->ports_listed && p->fc.n + p->iscsi.n > 0) {
        n = adapters_by_ports(hbas, &p->fc, &p->iscsi, out, &err);
        if (n < 0) {
            p->nomem = true;
            return -1;
        }
    } else if (ds != NULL && ds->n > 0) {
        *out = *ds;
        memset(ds, 0, sizeof(*ds));
        ds->protocol = "n/a";
        n = (int)out->n;
    }
    for (size_t i = 0; i < out->n; i++)
        buf_addf(&names, &err, "%s%s", i > 0 ? "," : "", out->v[i].name);
    if (n == 0 && !p->ports_listed && p->cfg->vmdk_datastore == NULL)
        pf_add(p, host, "adapters", PF_WARN,
               "give --source-vmdk, whose datastore's adapters a populate uses",
               "the driver lists no target ports and no datastore was given");
    else if (n == 0)
        pf_add(p, host, "adapters", PF_FAIL,
               "zone the host's FC ports to the array, or add the array's iSCSI target to the "
               "host's software iSCSI adapter, then rescan",
               p->ports_listed ? "no adapter of the host sees a target port of the array"
                               : "no adapter with an active path to the source datastore");
    else
        pf_add(p, host, "adapters", p->ports_listed ? PF_PASS : PF_WARN,
               "nothing to do if the source datastore is on the target array",
               p->ports_listed ? "%s (%s) see a target port of the array"
                               : "%s (%s): the datastore's adapters; the driver lists no target "
                                 "ports to confirm they reach the array",
               buf_cstr(&names), out->protocol);
    buf_free(&names);
    return n;
}

static void
check_vib(struct pf *p, const char *host, struct esxcli *e)
{
    struct wrapper_carrier c;
    struct perr err = {0};
    const char *want = esxi_wrapper_version();
    char *have = NULL;
    int cmp = 0;

    vib_carrier(e, &c);
    if (clone_wrapper_version(&c, &have, &err) < 0)
        pf_add(p, host, "clone-method", PF_FAIL,
               "install the VIB on the host (vsphere-copy-offload-populator install-vib, or "
               "esxcli software vib install -v <vib> -f) and restart hostd "
               "(/etc/init.d/hostd restart)",
               "vib: the esxcli vmkfstools plugin does not answer: %s", err.msg);
    else if (version_compare(have, want, &cmp) < 0 || cmp < 0)
        pf_add(p, host, "clone-method", PF_WARN,
               "reinstall the VIB shipped with this image and restart hostd",
               "vib: plugin version %s is older than this populator's %s", have, want);
    else
        pf_add(p, host, "clone-method", PF_PASS, NULL, "vib: plugin answers, version %s", have);
    free(have);
}

static void
check_ssh(struct pf *p, const char *host)
{
    const struct config *cfg = p->cfg;
    struct ssh_carrier_opts so = {0};
    struct wrapper_carrier c = {0};
    struct perr err = {0};
    char *line = NULL;
    char remedy[4096];
    const char *have;
    const char *want = esxi_wrapper_version();

    line = ssh_authorized_keys_line(cfg->ssh_public_key, SSH_KEY_LINE_IMPROVED);
    if (line == NULL) {
        p->nomem = true;
        return;
    }
    snprintf(remedy, sizeof(remedy),
             "enable SSH on the host and add this line to " SSH_AUTHORIZED_KEYS_PATH ": %s", line);
    if (cfg->vmdk_datastore == NULL) {
        pf_add(p, host, "clone-method", PF_WARN,
               "give --source-vmdk so the wrapper on its datastore can be checked",
               "ssh: no datastore given, the key and wrapper were not checked");
        goto out;
    }
    so.vim = p->vim;
    so.host = host;
    so.datastore = cfg->vmdk_datastore;
    so.port = cfg->esxi_ssh_port;
    so.private_key = cfg->ssh_private_key;
    so.private_key_len = cfg->ssh_private_key_len;
    so.public_key = cfg->ssh_public_key;
    so.known_hosts = cfg->esxi_ssh_known_hosts;
    so.write_known_hosts = cfg->esxi_ssh_write_known_hosts;
    so.connect_timeout_ms = cfg->ssh_timeout_seconds * 1000;
    so.no_upload = true;
    if (ssh_carrier_open(&so, &c, &err) < 0) {
        bool key = err.code == PERR_AUTH || (err.code == PERR_SSH && strstr(err.msg, "probe"));

        /* The key line is in the remedy; the detail keeps the first clause. */
        if (key && strstr(err.msg, "; on the ESXi host") != NULL)
            *strstr(err.msg, "; on the ESXi host") = '\0';
        pf_add(p, host, "clone-method", PF_FAIL,
               key ? remedy
                   : "enable the SSH service on the host and check ESXI_SSH_PORT and the "
                     "network path to the host's management address",
               "ssh: %s", err.msg);
        goto out;
    }
    have = ssh_carrier_remote_version(&c);
    if (strcmp(have, want) == 0)
        pf_add(p, host, "clone-method", PF_PASS, NULL,
               "ssh: key line installed, wrapper %s on datastore '%s'", have, cfg->vmdk_datastore);
    else if (*have == '\0')
        /* The first populate on a datastore always finds none and uploads it. */
        pf_add(p, host, "clone-method", PF_PASS, NULL,
               "ssh: key line installed; no wrapper on datastore '%s' yet, a populate uploads %s",
               cfg->vmdk_datastore, want);
    else
        pf_add(p, host, "clone-method", PF_WARN,
               "nothing to do: a populate uploads its wrapper (or run one copy now)",
               "ssh: key line installed; wrapper on datastore '%s' is %s%s, a populate replaces "
               "it with %s",
               cfg->vmdk_datastore, *have != '\0' ? "version " : "",
               *have != '\0' ? have : "absent", want);
out:
    ssh_carrier_close(&c);
    free(line);
}

static bool
device_usable(struct esxcli *e, const char *naa)
{
    struct perr err = {0};
    char *status = NULL;
    bool ok = false;

    if (esxi_device_status(e, naa, &status, &err) == 0)
        ok = strcmp(status, "off") != 0 && strcmp(status, "dead timeout") != 0;
    free(status);
    return ok;
}

/*
 * --try-map: the whole path once, then everything undone in the populate's
 * cleanup order.  The initiator group it makes (or finds) is the populate's
 * own "xcopy-hostsystem-<host>" and stays, as after every populate.
 */
static void
check_try_map(struct pf *p, const char *host, struct esxcli *e, const struct vim_adapters *reach)
{
    const char **ids = NULL;
    struct storage_lun mapped = {0};
    struct perr err = {0};
    struct perr tmp = {0};
    struct buf left = {0};
    char name[256];
    char *group = NULL;
    bool is_mapped = false;
    bool seen = false;
    bool rescanned = false;

    if (!p->lun_ok || reach->n == 0) {
        pf_add(p, host, "try-map", PF_WARN, "fix the checks above first", "not tried: %s",
               !p->lun_ok ? "no target volume" : "no adapter reaches the array");
        return;
    }
    ids = calloc(reach->n + 1, sizeof(*ids));
    if (ids == NULL) {
        p->nomem = true;
        return;
    }
    for (size_t i = 0; i < reach->n; i++)
        ids[i] = reach->v[i].id;
    snprintf(name, sizeof(name), "xcopy-hostsystem-%s", host);
    for (char *s = name; *s != '\0'; s++)
        *s = *s == ':' ? '-' : (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
    if (storage_ensure_igroup(p->st, name, ids, reach->n, &group, &err) < 0 ||
        storage_map(p->st, group, &p->lun, &mapped, &err) < 0)
        goto out;
    is_mapped = true;
    {
        struct deadline d = deadline_in_ms(p->cfg->rescan_timeout_seconds * 1000);
        struct backoff b;

        backoff_init(&b, 50, 1000, 2.0, 0.1, 0);
        while (!(seen = device_usable(e, mapped.naa)) && !deadline_expired(&d)) {
            rescanned = true;
            perr_clear(&tmp);
            if (esxi_rescan_add(e, &tmp) < 0)
                log_warn(PF_COMP, "rescan failed", "error", tmp.msg, NULL);
            if (device_usable(e, mapped.naa)) {
                seen = true;
                break;
            }
            if (wait_ms(backoff_next_ms(&b), &d, &err) < 0)
                break;
        }
    }
out:
    if (seen) {
        perr_clear(&tmp);
        if (esxi_device_off(e, mapped.naa, &tmp) < 0)
            buf_addf(&left, &tmp, "device %s still on; ", mapped.naa);
        perr_clear(&tmp);
        if (esxi_detached_remove(e, mapped.naa, &tmp) < 0)
            log_debug(PF_COMP, "detached remove failed", "error", tmp.msg, NULL);
    }
    if (is_mapped) {
        perr_clear(&tmp);
        if (storage_unmap(p->st, group, &p->lun, &tmp) < 0)
            buf_addf(&left, &tmp, "LUN '%s' still mapped to '%s' (%s); ", p->lun.name, group,
                     tmp.msg);
    }
    if (rescanned) {
        for (size_t i = 0; i < reach->n; i++) {
            perr_clear(&tmp);
            if (esxi_rescan_delete(e, reach->v[i].name, &tmp) < 0)
                log_warn(PF_COMP, "dead path purge failed", "adapter", reach->v[i].name, "error",
                         tmp.msg, NULL);
        }
    }
    if (left.len > 0)
        pf_add(p, host, "try-map", PF_FAIL, "remove what is listed by hand", "left behind: %s",
               buf_cstr(&left));
    else if (perr_failed(&err))
        pf_add(p, host, "try-map", PF_FAIL,
               "check the array user's rights to create host groups and mappings", "%s", err.msg);
    else if (!seen)
        pf_add(p, host, "try-map", PF_FAIL,
               "check zoning or iSCSI targets, the LUN id against Disk.MaxLUN, and the host "
               "object's initiators on the array",
               "mapped to '%s', but device %s did not appear within %ld s", group, mapped.naa,
               p->cfg->rescan_timeout_seconds);
    else
        pf_add(p, host, "try-map", PF_PASS, NULL,
               "mapped to '%s', device %s appeared, then unmapped", group, mapped.naa);
    buf_free(&left);
    storage_lun_clear(&mapped);
    free(group);
    free(ids);
}

static void
check_host(struct pf *p, const char *host)
{
    const struct config *cfg = p->cfg;
    struct esxcli *e = NULL;
    struct vim_adapters ds = {0};
    struct vim_adapters reach = {0};
    struct vim_hbas hbas = {0};
    struct perr err = {0};
    char *state = NULL;

    state = prop_text(p->vim, "HostSystem", host, "runtime.connectionState", &err);
    if (state == NULL || strcmp(state, "connected") != 0) {
        pf_add(p, host, "host", PF_FAIL,
               state == NULL ? "check the host id (a HostSystem MoRef value such as host-21)"
                             : "reconnect the host in vCenter",
               state == NULL ? "%s" : "connection state is '%s'", state == NULL ? err.msg : state);
        goto out;
    }
    pf_add(p, host, "host", PF_PASS, NULL, "connected");
    if (esxcli_new(p->vim, host, &e, &err) < 0) {
        pf_add(p, host, "esxcli", PF_FAIL, "check the vCenter user's rights on the host", "%s",
               err.msg);
        goto out;
    }
    check_vaai_settings(p, host, e);
    if (cfg->vmdk_datastore != NULL) {
        perr_clear(&err);
        if (vim_datastore_adapters(p->vim, host, cfg->vmdk_datastore, &ds, &err) < 0) {
            pf_add(p, host, "datastore", PF_FAIL,
                   "check --source-vmdk and that the datastore is mounted on this host", "%s",
                   err.msg);
        } else if (ds.device != NULL) {
            check_datastore_vaai(p, host, e, ds.device);
            check_same_array(p, ds.device);
        }
    } else {
        pf_add(p, host, "datastore", PF_WARN, "give --source-vmdk to check the source datastore",
               "no source datastore given");
    }
    perr_clear(&err);
    if (vim_host_hbas(p->vim, host, &hbas, &err) < 0) {
        pf_add(p, host, "adapters", PF_FAIL, "check the vCenter user's rights on the host",
               "cannot read the host's adapters: %s", err.msg);
    } else if (p->st != NULL && check_adapters(p, host, &hbas, &ds, &reach) >= 0) {
        check_max_lun(p, host, e, &hbas, &reach);
    }
    if (cfg->clone_method == CLONE_METHOD_SSH)
        check_ssh(p, host);
    else
        check_vib(p, host, e);
    if (cfg->try_map && p->st != NULL)
        check_try_map(p, host, e, &reach);
out:
    vim_hbas_clear(&hbas);
    vim_adapters_clear(&ds);
    vim_adapters_clear(&reach);
    esxcli_free(e);
    free(state);
}

/* ---- output ---- */

static enum pf_result
overall(const struct pf *p)
{
    enum pf_result r = PF_PASS;

    for (size_t i = 0; i < p->n; i++)
        r = p->v[i].result > r ? p->v[i].result : r;
    return p->nomem ? PF_FAIL : r;
}

static void
print_json(const struct pf *p)
{
    json_t *o = json_object();
    json_t *a = json_array();
    char *s;

    for (size_t i = 0; i < p->n; i++) {
        const struct pf_check *c = &p->v[i];

        json_array_append_new(a, json_pack("{s:s?, s:s, s:s, s:s?, s:s?}", "host", c->host, "check",
                                           c->name, "result", pf_result_names[c->result], "detail",
                                           c->detail, "remedy", c->remedy));
    }
    json_object_set_new(o, "result", json_string(pf_result_names[overall(p)]));
    json_object_set_new(o, "checks", a);
    s = json_dumps(o, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    if (s != NULL)
        printf("%s\n", s);
    free(s);
    json_decref(o);
}

static void
print_table(const struct pf *p)
{
    int hw = 4;
    int cw = 5;
    size_t counts[3] = {0};

    for (size_t i = 0; i < p->n; i++) {
        int h = (int)strlen(p->v[i].host);
        int c = (int)strlen(p->v[i].name);

        hw = h > hw ? h : hw;
        cw = c > cw ? c : cw;
    }
    printf("%-*s  %-*s  %-6s %s\n", hw, "HOST", cw, "CHECK", "RESULT", "DETAIL");
    for (size_t i = 0; i < p->n; i++) {
        const struct pf_check *c = &p->v[i];

        counts[c->result]++;
        printf("%-*s  %-*s  %-6s %s\n", hw, *c->host != '\0' ? c->host : "-", cw, c->name,
               pf_result_names[c->result], c->detail);
        if (c->remedy != NULL)
            printf("%-*s  %-*s  %-6s remedy: %s\n", hw, "", cw, "", "", c->remedy);
    }
    printf("\n%s: %zu passed, %zu warnings, %zu failed%s\n", pf_result_names[overall(p)],
           counts[PF_PASS], counts[PF_WARN], counts[PF_FAIL],
           p->nomem ? " (out of memory: report incomplete)" : "");
}

static void
preflight_usage(FILE *f, const char *argv0)
{
    fprintf(f,
            "Usage: %s preflight --storage-vendor-product=NAME [--esxi-hosts=host-21,...]\n"
            "           [--source-vm-id=ID] [--source-vmdk='[DS] DIR/DISK.vmdk']\n"
            "           [--target-volume-handle=HANDLE [--target-volume-attribute=K=V]...]\n"
            "           [--try-map] [--write-known-hosts=FILE] [--output=json] [OPTION]...\n\n"
            "Checks, per ESXi host, what a populate needs (vCenter and array login, TLS trust,\n"
            "VAAI settings and the datastore's clone status, Disk.MaxLUN, the clone method,\n"
            "adapters that reach the array, source and target on one array) and says what to\n"
            "do about each problem.  Changes nothing unless --try-map is given.  Exit status:\n"
            "0 nothing failed, 1 a check failed, 2 bad usage.  The flags and environment are\n"
            "those of a populate (below).\n\n",
            argv0);
    config_usage(f, argv0);
}

int
preflight_main(int argc, char *argv[], char **envp)
{
    struct config *cfg = NULL;
    struct strv hosts = {0};
    struct pf p = {0};
    struct perr err = {0};
    int status = POP_EXIT_FAILED;

    if (config_parse_command(CONFIG_COMMAND_PREFLIGHT, argc, argv, (const char *const *)envp, &cfg,
                             &err) < 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err.msg);
        if (err.code == PERR_USAGE)
            fprintf(stderr, "Try 'preflight --help' for more information.\n");
        status = err.code == PERR_USAGE ? POP_EXIT_USAGE : POP_EXIT_FAILED;
        goto out;
    }
    config_scrub_argv(argc, argv);
    if (cfg->action == CONFIG_ACTION_HELP) {
        preflight_usage(stdout, "vsphere-copy-offload-populator");
        status = POP_EXIT_OK;
        goto out;
    }
    if (cfg->action == CONFIG_ACTION_VERSION) {
        main_print_version(stdout, "vsphere-copy-offload-populator");
        status = POP_EXIT_OK;
        goto out;
    }
    log_init(cfg->log_level, cfg->log_format, cfg->log_trace);
    log_add_secret_encodings(cfg->storage_username != NULL ? cfg->storage_username : "",
                             cfg->storage_password);
    log_add_secret_encodings("", cfg->storage_token);
    log_add_secret_encodings(cfg->vsphere_username, cfg->vsphere_password);
    log_add_secret((const char *)cfg->ssh_private_key);
    if (http_global_init(&err) < 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err.msg);
        goto out;
    }
    p.cfg = cfg;
    check_vcenter(&p);
    check_array(&p);
    check_target_volume(&p);
    if (p.vim != NULL && pick_hosts(&p, &hosts) == 0) {
        if (hosts.n == 0)
            pf_add(&p, NULL, "hosts", PF_FAIL, "name the hosts with --esxi-hosts",
                   "no host to check");
        for (size_t i = 0; i < hosts.n && !cancel_requested(); i++)
            check_host(&p, hosts.v[i]);
    }
    if (cfg->output == OUTPUT_JSON)
        print_json(&p);
    else
        print_table(&p);
    fflush(stdout);
    status = overall(&p) == PF_FAIL ? POP_EXIT_FAILED : POP_EXIT_OK;
out:
    strv_free(&hosts);
    pf_free(&p);
    config_free(cfg);
    log_reset();
    return status;
}
