#include "esxi/vim_calls.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "esxi/vim_xml.h"
#include "lib/buf.h"
#include "lib/deadline.h"
#include "lib/log.h"

int
vim_props_get(struct vim *v, const char *type, const char *moref, const char *const paths[],
              struct vim_resp **out, struct perr *err)
{
    struct buf p = {0};
    int rc = -1;

    *out = NULL;
    if (buf_adds(&p, "<specSet><propSet><type>", err) < 0 || buf_add_xml(&p, type, err) < 0 ||
        buf_adds(&p, "</type>", err) < 0)
        goto out;
    for (size_t i = 0; paths[i] != NULL; i++) {
        if (buf_adds(&p, "<pathSet>", err) < 0 || buf_add_xml(&p, paths[i], err) < 0 ||
            buf_adds(&p, "</pathSet>", err) < 0)
            goto out;
    }
    if (buf_adds(&p, "</propSet><objectSet><obj type=\"", err) < 0 ||
        buf_add_xml(&p, type, err) < 0 || buf_adds(&p, "\">", err) < 0 ||
        buf_add_xml(&p, moref, err) < 0 ||
        buf_adds(&p, "</obj><skip>false</skip></objectSet></specSet><options/>", err) < 0)
        goto out;
    if (vim_call(v, "RetrievePropertiesEx", "PropertyCollector", v->sc.property_collector, p.data,
                 out, err) < 0) {
        perr_prefix(err, "%s '%s': ", type, moref);
        goto out;
    }
    if (vim_xml_path(vim_resp_returnval(*out), "objects") == NULL) {
        vim_resp_free(*out);
        *out = NULL;
        perr_set(err, PERR_NOT_FOUND, "%s '%s' not found", type, moref);
        goto out;
    }
    rc = 0;
out:
    buf_free(&p);
    return rc;
}

xmlNode *
vim_props_val(const struct vim_resp *r, const char *name)
{
    xmlNode *obj = vim_xml_path(vim_resp_returnval(r), "objects");

    for (xmlNode *ps = vim_xml_child(obj, "propSet"); ps != NULL; ps = vim_xml_next_same(ps)) {
        char *n = vim_xml_path_text(ps, "name");
        bool match = n != NULL && strcmp(n, name) == 0;

        free(n);
        if (match)
            return vim_xml_child(ps, "val");
    }
    return NULL;
}

/* Reads one property as text ("runtime.host" → "host-36"). */
static int
props_text(struct vim *v, const char *type, const char *moref, const char *path, char **out,
           struct perr *err)
{
    const char *paths[] = {path, NULL};
    struct vim_resp *r = NULL;
    xmlNode *val;
    int rc = -1;

    *out = NULL;
    if (vim_props_get(v, type, moref, paths, &r, err) < 0)
        goto out;
    val = vim_props_val(r, path);
    if (val == NULL) {
        perr_set(err, PERR_NOT_FOUND, "%s '%s' has no '%s'", type, moref, path);
        goto out;
    }
    if (vim_xml_text_dup(val, out, err) < 0)
        goto out;
    rc = 0;
out:
    vim_resp_free(r);
    return rc;
}

static int list_objects(struct vim *v, const char *type, const char *name, char **moref,
                        struct strv *morefs, struct strv *names, struct perr *err);

static int
find_by_name(struct vim *v, const char *type, const char *name, char **moref, struct perr *err)
{
    return list_objects(v, type, name, moref, NULL, NULL, err);
}

int
vim_list_objects(struct vim *v, const char *type, struct strv *morefs, struct strv *names,
                 struct perr *err)
{
    return list_objects(v, type, NULL, NULL, morefs, names, err);
}

int
vim_find_host(struct vim *v, const char *name, char **moref, struct perr *err)
{
    return find_by_name(v, "HostSystem", name, moref, err);
}

/* All objects of a type under the root folder, with their names, through a
 * ContainerView: the one named name into *moref, or every one into the lists. */
static int
list_objects(struct vim *v, const char *type, const char *name, char **moref, struct strv *morefs,
             struct strv *names, struct perr *err)
{
    struct vim_resp *view = NULL;
    struct vim_resp *r = NULL;
    struct vim_resp *gone = NULL;
    struct buf p = {0};
    char *view_ref = NULL;
    struct perr tmp = {0};
    int rc = -1;

    if (moref != NULL)
        *moref = NULL;
    if (buf_adds(&p, "<container type=\"Folder\">", err) < 0 ||
        buf_add_xml(&p, v->sc.root_folder, err) < 0 ||
        buf_adds(&p, "</container><type>", err) < 0 || buf_add_xml(&p, type, err) < 0 ||
        buf_adds(&p, "</type><recursive>true</recursive>", err) < 0)
        goto out;
    if (vim_call(v, "CreateContainerView", "ViewManager",
                 v->sc.view_manager != NULL ? v->sc.view_manager : "ViewManager", p.data, &view,
                 err) < 0)
        goto out;
    view_ref = vim_xml_path_text(vim_resp_returnval(view), "");
    if (view_ref == NULL) {
        perr_set(err, PERR_PROTOCOL, "CreateContainerView returned no view");
        goto out;
    }
    buf_reset(&p);
    if (buf_adds(&p, "<specSet><propSet><type>", err) < 0 || buf_add_xml(&p, type, err) < 0 ||
        buf_adds(&p,
                 "</type><pathSet>name</pathSet></propSet><objectSet><obj type=\"ContainerView\">",
                 err) < 0 ||
        buf_add_xml(&p, view_ref, err) < 0 ||
        buf_adds(&p,
                 "</obj><skip>true</skip><selectSet xsi:type=\"TraversalSpec\"><name>view</name>"
                 "<type>ContainerView</type><path>view</path><skip>false</skip></selectSet>"
                 "</objectSet></specSet><options/>",
                 err) < 0)
        goto out;
    if (vim_call(v, "RetrievePropertiesEx", "PropertyCollector", v->sc.property_collector, p.data,
                 &r, err) < 0)
        goto out;
    for (xmlNode *o = vim_xml_child(vim_resp_returnval(r), "objects"); o != NULL;
         o = vim_xml_next_same(o)) {
        char *n = vim_xml_path_text(o, "propSet/val");

        if (name == NULL) {
            char *ref = vim_xml_path_text(o, "obj");
            int bad = ref == NULL || strv_add(morefs, ref, err) < 0 ||
                      strv_add(names, n != NULL ? n : "", err) < 0;

            free(ref);
            free(n);
            if (bad) {
                if (!perr_failed(err))
                    perr_set(err, PERR_PROTOCOL, "%s object without a MoRef", type);
                goto out;
            }
            continue;
        }
        if (n != NULL && strcmp(n, name) == 0) {
            free(n);
            *moref = vim_xml_path_text(o, "obj");
            break;
        }
        free(n);
    }
    if (name != NULL && *moref == NULL) {
        perr_set(err, PERR_NOT_FOUND, "no %s named '%s'", type, name);
        goto out;
    }
    rc = 0;
out:
    if (view_ref != NULL &&
        vim_call(v, "DestroyView", "ContainerView", view_ref, NULL, &gone, &tmp) < 0)
        log_debug("vsphere", "destroy view failed", "error", tmp.msg, NULL);
    vim_resp_free(gone);
    vim_resp_free(view);
    vim_resp_free(r);
    free(view_ref);
    buf_free(&p);
    return rc;
}

int
vim_find_vm(struct vim *v, const char *id, char **moref, struct perr *err)
{
    static const char *const paths[] = {"name", "runtime.host", NULL};
    struct vim_resp *r = NULL;
    struct perr first = {0};
    char *host = NULL;

    *moref = NULL;
    /* A MoRef value is tried as such first; a VM name is the fallback, as
     * before.  The same request reads runtime.host, which the flow asks next. */
    if (vim_props_get(v, "VirtualMachine", id, paths, &r, &first) == 0) {
        xmlNode *hv = vim_props_val(r, "runtime.host");

        if (hv != NULL && vim_xml_text_dup(hv, &host, &first) == 0) {
            free(v->vm_ref);
            free(v->vm_host);
            v->vm_ref = strdup(id);
            v->vm_host = host;
            if (v->vm_ref == NULL) {
                free(v->vm_host);
                v->vm_host = NULL;
            }
        }
        vim_resp_free(r);
        *moref = strdup(id);
        return *moref != NULL ? 0 : perr_set(err, PERR_NOMEM, "out of memory");
    }
    if (first.code != PERR_NOT_FOUND)
        return perr_set_remote(err, first.code, first.http_status, first.remote_code, "%s",
                               first.msg);
    if (find_by_name(v, "VirtualMachine", id, moref, err) < 0) {
        perr_prefix(err, "--source-vm-id '%s': ", id);
        return -1;
    }
    return 0;
}

int
vim_vm_host(struct vim *v, const char *vm, char **host, struct perr *err)
{
    if (v->vm_host != NULL && strcmp(v->vm_ref, vm) == 0) {
        *host = strdup(v->vm_host);
        return *host != NULL ? 0 : perr_set(err, PERR_NOMEM, "out of memory");
    }
    return props_text(v, "VirtualMachine", vm, "runtime.host", host, err);
}

int
vim_host_check(struct vim *v, const char *host, struct perr *err)
{
    struct perr tmp = {0};
    char *name = NULL;

    if (props_text(v, "HostSystem", host, "name", &name, &tmp) < 0) {
        if (tmp.code == PERR_NOT_FOUND)
            return perr_set(err, PERR_NOT_FOUND, "didn't find any host with id '%s'", host);
        *err = err->code == PERR_OK ? tmp : *err;
        return -1;
    }
    free(name);
    return 0;
}

void
vim_disk_clear(struct vim_disk *d)
{
    free(d->file);
    free(d->vvol_id);
    free(d->rdm_lun_uuid);
    free(d->rdm_device);
    memset(d, 0, sizeof(*d));
}

/* The Go populator's loose match: containment either way, or equal once
 * brackets and white space are dropped, ignoring case. */
static void
squash(const char *in, char *out, size_t n)
{
    size_t j = 0;

    for (size_t i = 0; in[i] != '\0' && j + 1 < n; i++) {
        char c = in[i];

        if (c == '[' || c == ']' || c == ' ' || c == '\t')
            continue;
        out[j++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[j] = '\0';
}

static bool
vmdk_matches(const char *file, const char *want)
{
    char a[1024];
    char b[1024];

    if (strcasestr(file, want) != NULL || strcasestr(want, file) != NULL)
        return true;
    squash(file, a, sizeof(a));
    squash(want, b, sizeof(b));
    return strcmp(a, b) == 0;
}

static unsigned long long
text_ull(const xmlNode *n, const char *path)
{
    char *s = vim_xml_path_text(n, path);
    unsigned long long v = s != NULL ? strtoull(s, NULL, 10) : 0;

    free(s);
    return v;
}

/* The layoutEx file whose key is the text of fk, or NULL. */
static xmlNode *
layout_file(const xmlNode *layout, const xmlNode *fk)
{
    char *k = NULL;
    struct perr tmp = {0};
    xmlNode *found = NULL;

    if (vim_xml_text_dup(fk, &k, &tmp) < 0)
        return NULL;
    for (xmlNode *f = vim_xml_child(layout, "file"); f != NULL && found == NULL;
         f = vim_xml_next_same(f)) {
        char *fkey = vim_xml_path_text(f, "key");

        if (fkey != NULL && strcmp(fkey, k) == 0)
            found = f;
        free(fkey);
    }
    free(k);
    return found;
}

/* True when one of the chain unit's files is named file. */
static bool
unit_has_file(const xmlNode *layout, const xmlNode *unit, const char *file)
{
    for (xmlNode *fk = vim_xml_child(unit, "fileKey"); fk != NULL; fk = vim_xml_next_same(fk)) {
        xmlNode *f = layout_file(layout, fk);
        char *name = f != NULL ? vim_xml_path_text(f, "name") : NULL;
        bool same = name != NULL && strcmp(name, file) == 0;

        free(name);
        if (same)
            return true;
    }
    return false;
}

/*
 * Sum of the diskExtent files of the disk's chain in layoutEx, from the base
 * up to the unit holding file: a warm base copy (file = the parent of a
 * snapshot delta) reads only the base's extents, so the deltas above it are
 * not part of what is copied.  Without such a unit, the whole chain.
 */
static unsigned long long
allocated_bytes(const xmlNode *layout, long key, const char *file)
{
    unsigned long long total = 0;

    for (xmlNode *d = vim_xml_child(layout, "disk"); d != NULL; d = vim_xml_next_same(d)) {
        bool upto = false;

        if ((long)text_ull(d, "key") != key)
            continue;
        for (xmlNode *c = vim_xml_child(d, "chain"); c != NULL && !upto; c = vim_xml_next_same(c))
            upto = unit_has_file(layout, c, file);
        for (xmlNode *c = vim_xml_child(d, "chain"); c != NULL; c = vim_xml_next_same(c)) {
            for (xmlNode *fk = vim_xml_child(c, "fileKey"); fk != NULL;
                 fk = vim_xml_next_same(fk)) {
                xmlNode *f = layout_file(layout, fk);
                char *ftype = f != NULL ? vim_xml_path_text(f, "type") : NULL;

                if (ftype != NULL && strcmp(ftype, "diskExtent") == 0)
                    total += text_ull(f, "size");
                free(ftype);
            }
            if (upto && unit_has_file(layout, c, file))
                break;
        }
    }
    return total;
}

static int
disk_from_backing(const xmlNode *dev, const xmlNode *backing, struct vim_disk *out,
                  struct perr *err)
{
    char *btype = vim_xml_xsi_type(backing);
    int rc = -1;

    out->file = vim_xml_path_text(backing, "fileName");
    out->key = (long)text_ull(dev, "key");
    out->provisioned_bytes = text_ull(dev, "capacityInBytes");
    if (out->provisioned_bytes == 0)
        out->provisioned_bytes = text_ull(dev, "capacityInKB") * 1024ULL;
    if (btype != NULL && strcmp(btype, "VirtualDiskRawDiskMappingVer1BackingInfo") == 0) {
        out->kind = VIM_DISK_RDM;
        out->rdm_lun_uuid = vim_xml_path_text(backing, "lunUuid");
        out->rdm_device = vim_xml_path_text(backing, "deviceName");
    } else {
        out->vvol_id = vim_xml_path_text(backing, "backingObjectId");
        if (out->vvol_id != NULL && *out->vvol_id == '\0') {
            free(out->vvol_id);
            out->vvol_id = NULL;
        }
        out->kind = out->vvol_id != NULL ? VIM_DISK_VVOL : VIM_DISK_FLAT;
    }
    if (out->file == NULL) {
        perr_set(err, PERR_PROTOCOL, "disk backing without a fileName");
        goto out;
    }
    rc = 0;
out:
    free(btype);
    return rc;
}

int
vim_vm_disk(struct vim *v, const char *vm, const char *vmdk, struct vim_disk *out, struct perr *err)
{
    static const char *const paths[] = {"config.hardware.device", "layoutEx", NULL};
    struct vim_resp *r = NULL;
    struct vim_resp *refresh = NULL;
    struct perr tmp = {0};
    xmlNode *devs;
    bool found = false;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    /* layoutEx is only as fresh as the last storage refresh; ask for one first. */
    if (vim_call(v, "RefreshStorageInfo", "VirtualMachine", vm, NULL, &refresh, &tmp) < 0)
        log_debug("vsphere", "storage refresh failed", "vm", vm, "error", tmp.msg, NULL);
    if (vim_props_get(v, "VirtualMachine", vm, paths, &r, err) < 0)
        goto out;
    devs = vim_props_val(r, "config.hardware.device");
    for (xmlNode *d = vim_xml_first_element(devs); d != NULL && !found; d = d->next) {
        char *dtype;

        if (d->type != XML_ELEMENT_NODE)
            continue;
        dtype = vim_xml_xsi_type(d);
        if (dtype != NULL && strcmp(dtype, "VirtualDisk") == 0) {
            /* The disk itself or, for a snapshot child, one of its parents. */
            for (xmlNode *b = vim_xml_child(d, "backing"); b != NULL;
                 b = vim_xml_child(b, "parent")) {
                char *file = vim_xml_path_text(b, "fileName");

                if (file != NULL && vmdk_matches(file, vmdk)) {
                    free(file);
                    /* The identity (file, VVol id, RDM device) of the backing
                     * that matched: for a warm copy of a snapshotted disk,
                     * the parent, never the delta on top of it. */
                    if (disk_from_backing(d, b, out, err) < 0) {
                        free(dtype);
                        goto out;
                    }
                    found = true;
                    break;
                }
                free(file);
            }
        }
        free(dtype);
    }
    if (!found) {
        perr_set(err, PERR_NOT_FOUND, "VM '%s' has no disk '%s'", vm, vmdk);
        goto out;
    }
    if (out->kind == VIM_DISK_FLAT) {
        out->allocated_bytes = allocated_bytes(vim_props_val(r, "layoutEx"), out->key, out->file);
        if (out->allocated_bytes > out->provisioned_bytes)
            out->allocated_bytes = out->provisioned_bytes;
    }
    rc = 0;
out:
    if (rc < 0)
        vim_disk_clear(out);
    vim_resp_free(refresh);
    vim_resp_free(r);
    return rc;
}

int
vim_host_mgmt_ip(struct vim *v, const char *host, char **ip, struct perr *err)
{
    static const char *const paths[] = {"config.virtualNicManagerInfo.netConfig", NULL};
    struct vim_resp *r = NULL;
    int rc = -1;

    *ip = NULL;
    if (vim_props_get(v, "HostSystem", host, paths, &r, err) < 0)
        goto out;
    for (xmlNode *nc =
             vim_xml_first_element(vim_props_val(r, "config.virtualNicManagerInfo.netConfig"));
         nc != NULL && *ip == NULL; nc = vim_xml_next_same(nc)) {
        char *type = vim_xml_path_text(nc, "nicType");
        bool mgmt = type != NULL && strcmp(type, "management") == 0;

        free(type);
        if (!mgmt)
            continue;
        for (xmlNode *sel = vim_xml_child(nc, "selectedVnic"); sel != NULL && *ip == NULL;
             sel = vim_xml_next_same(sel)) {
            char *want = NULL;
            struct perr tmp = {0};

            if (vim_xml_text_dup(sel, &want, &tmp) < 0)
                continue;
            for (xmlNode *cv = vim_xml_child(nc, "candidateVnic"); cv != NULL;
                 cv = vim_xml_next_same(cv)) {
                char *key = vim_xml_path_text(cv, "key");

                if (key != NULL && strcmp(key, want) == 0)
                    *ip = vim_xml_path_text(cv, "spec/ip/ipAddress");
                free(key);
                if (*ip != NULL && **ip == '\0') {
                    free(*ip);
                    *ip = NULL;
                }
                if (*ip != NULL)
                    break;
            }
            free(want);
        }
    }
    if (*ip == NULL) {
        perr_set(err, PERR_NOT_FOUND, "host '%s': no management IP addresses found", host);
        goto out;
    }
    rc = 0;
out:
    vim_resp_free(r);
    return rc;
}

/* Drops the adapter list, keeping the device and protocol. */
static void
adapters_drop(struct vim_adapters *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i].name);
        free(a->v[i].id);
        free(a->v[i].driver);
    }
    free(a->v);
    a->v = NULL;
    a->n = 0;
}

void
vim_adapters_clear(struct vim_adapters *a)
{
    adapters_drop(a);
    free(a->device);
    memset(a, 0, sizeof(*a));
}

/* The datastore's backing device name (VMFS extent 0), found among the host's datastores. */
static int
datastore_device(struct vim *v, const char *host, const char *ds_name, char **device,
                 struct perr *err)
{
    static const char *const hpaths[] = {"datastore", NULL};
    static const char *const dpaths[] = {"name", "info", NULL};
    struct vim_resp *hr = NULL;
    int rc = -1;

    *device = NULL;
    if (vim_props_get(v, "HostSystem", host, hpaths, &hr, err) < 0)
        goto out;
    for (xmlNode *ds = vim_xml_first_element(vim_props_val(hr, "datastore")); ds != NULL;
         ds = vim_xml_next_same(ds)) {
        struct vim_resp *dr = NULL;
        char *ref = NULL;
        char *name = NULL;
        char *itype = NULL;
        xmlNode *info;

        if (vim_xml_text_dup(ds, &ref, err) < 0)
            goto out;
        if (vim_props_get(v, "Datastore", ref, dpaths, &dr, err) < 0) {
            free(ref);
            goto out;
        }
        free(ref);
        name = vim_xml_path_text(vim_props_val(dr, "name"), "");
        info = vim_props_val(dr, "info");
        if (name != NULL && strcmp(name, ds_name) == 0) {
            itype = vim_xml_xsi_type(info);
            if (itype != NULL && strcmp(itype, "VmfsDatastoreInfo") == 0)
                *device = vim_xml_path_text(info, "vmfs/extent/diskName");
            if (*device == NULL)
                perr_set(err, PERR_UNSUPPORTED,
                         "could not determine underlying device for datastore '%s' (likely not "
                         "VMFS; only VMFS datastores can be copied with XCOPY)",
                         ds_name);
        }
        free(itype);
        free(name);
        vim_resp_free(dr);
        if (*device != NULL || perr_failed(err))
            break;
    }
    if (*device == NULL) {
        perr_set(err, PERR_NOT_FOUND, "host '%s' has no datastore named '%s'", host, ds_name);
        goto out;
    }
    rc = 0;
out:
    vim_resp_free(hr);
    return rc;
}

/* An adapter's id as the arrays know it: IQN, fc.WWNN:WWPN, SAS WWN or the device name. */
static char *
adapter_id(const xmlNode *hba)
{
    char *type = vim_xml_xsi_type(hba);
    char *id = NULL;

    if (type != NULL && strcmp(type, "HostInternetScsiHba") == 0) {
        id = vim_xml_path_text(hba, "iScsiName");
    } else if (type != NULL && strcmp(type, "HostFibreChannelHba") == 0) {
        char *nn = vim_xml_path_text(hba, "nodeWorldWideName");
        char *pn = vim_xml_path_text(hba, "portWorldWideName");

        /* WWNs travel as signed xsd:long; print the unsigned 64-bit value. */
        if (nn != NULL && pn != NULL) {
            char buf[64];

            snprintf(buf, sizeof(buf), "fc.%016llx:%016llx",
                     (unsigned long long)strtoll(nn, NULL, 10),
                     (unsigned long long)strtoll(pn, NULL, 10));
            id = strdup(buf);
        }
        free(nn);
        free(pn);
    } else if (type != NULL && strcmp(type, "HostSerialAttachedHba") == 0) {
        id = vim_xml_path_text(hba, "nodeWorldWideName");
    }
    if (id == NULL)
        id = vim_xml_path_text(hba, "device");
    free(type);
    return id;
}

static int
adapters_add(struct vim_adapters *a, const xmlNode *hba, struct perr *err)
{
    char *name = vim_xml_path_text(hba, "device");
    struct vim_adapter *grown;

    for (size_t i = 0; name != NULL && i < a->n; i++) {
        if (strcmp(a->v[i].name, name) == 0) {
            free(name);
            return 0;
        }
    }
    grown = realloc(a->v, (a->n + 1) * sizeof(*grown));
    if (name == NULL || grown == NULL) {
        free(name);
        return perr_set(err, PERR_NOMEM, "out of memory");
    }
    a->v = grown;
    grown[a->n].name = name;
    grown[a->n].id = adapter_id(hba);
    grown[a->n].driver = vim_xml_path_text(hba, "driver");
    a->n++;
    return 0;
}

static xmlNode *
hba_by_key(const xmlNode *sd, const char *key)
{
    for (xmlNode *h = vim_xml_child(sd, "hostBusAdapter"); h != NULL; h = vim_xml_next_same(h)) {
        char *k = vim_xml_path_text(h, "key");
        bool m = k != NULL && strcmp(k, key) == 0;

        free(k);
        if (m)
            return h;
    }
    return NULL;
}

static bool
is_san_id(const char *id)
{
    return id != NULL && (strncmp(id, "iqn.", 4) == 0 || strncmp(id, "fc.", 3) == 0 ||
                          strncmp(id, "eui.", 4) == 0);
}

int
vim_datastore_adapters(struct vim *v, const char *host, const char *ds_name,
                       struct vim_adapters *out, struct perr *err)
{
    static const char *const paths[] = {"config.storageDevice", NULL};
    struct vim_resp *r = NULL;
    xmlNode *sd;
    char *lunkey = NULL;
    bool san = false;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    out->protocol = "n/a";
    if (datastore_device(v, host, ds_name, &out->device, err) < 0)
        goto out;
    if (vim_props_get(v, "HostSystem", host, paths, &r, err) < 0)
        goto out;
    /* Kept for vim_host_hbas(): the adapters and targets are in this reply. */
    free(v->sd_host);
    vim_resp_free(v->sd_resp);
    v->sd_resp = NULL;
    v->sd_host = strdup(host);
    if (v->sd_host != NULL)
        v->sd_resp = r;
    sd = vim_props_val(r, "config.storageDevice");
    for (xmlNode *l = vim_xml_child(sd, "scsiLun"); l != NULL && lunkey == NULL;
         l = vim_xml_next_same(l)) {
        char *cn = vim_xml_path_text(l, "canonicalName");

        if (cn != NULL && strcmp(cn, out->device) == 0)
            lunkey = vim_xml_path_text(l, "key");
        free(cn);
    }
    for (xmlNode *ml = vim_xml_child(vim_xml_child(sd, "multipathInfo"), "lun");
         ml != NULL && lunkey != NULL; ml = vim_xml_next_same(ml)) {
        char *lk = vim_xml_path_text(ml, "lun");
        bool m = lk != NULL && strcmp(lk, lunkey) == 0;

        free(lk);
        if (!m)
            continue;
        for (xmlNode *p = vim_xml_child(ml, "path"); p != NULL; p = vim_xml_next_same(p)) {
            char *state = vim_xml_path_text(p, "state");
            char *akey = vim_xml_path_text(p, "adapter");
            xmlNode *hba = akey != NULL ? hba_by_key(sd, akey) : NULL;
            bool active = state != NULL && strcasecmp(state, "active") == 0;

            free(state);
            free(akey);
            if (active && hba != NULL && adapters_add(out, hba, err) < 0)
                goto out;
        }
    }
    for (size_t i = 0; i < out->n; i++)
        san = san || is_san_id(out->v[i].id);
    if (!san) {
        /* No active SAN path: fall back to the host's first FC, else iSCSI, adapter. */
        xmlNode *pick = NULL;

        for (int pass = 0; pass < 2 && pick == NULL; pass++) {
            for (xmlNode *h = vim_xml_child(sd, "hostBusAdapter"); h != NULL && pick == NULL;
                 h = vim_xml_next_same(h)) {
                char *t = vim_xml_xsi_type(h);

                if (t != NULL &&
                    strcmp(t, pass == 0 ? "HostFibreChannelHba" : "HostInternetScsiHba") == 0)
                    pick = h;
                free(t);
            }
        }
        if (pick != NULL) {
            adapters_drop(out);
            if (adapters_add(out, pick, err) < 0)
                goto out;
        }
    }
    if (out->n == 0) {
        perr_set(err, PERR_NOT_FOUND, "no active adapters found for datastore '%s' on host '%s'",
                 ds_name, host);
        goto out;
    }
    for (size_t i = 0; i < out->n; i++) {
        const char *id = out->v[i].id != NULL ? out->v[i].id : "";

        if (strncmp(id, "iqn.", 4) == 0 || strncmp(id, "eui.", 4) == 0) {
            out->protocol = "iscsi";
            break;
        }
        if (strncmp(id, "fc.", 3) == 0 || strncmp(id, "20:", 3) == 0) {
            out->protocol = "fc";
            break;
        }
    }
    rc = 0;
out:
    if (rc < 0)
        vim_adapters_clear(out);
    free(lunkey);
    if (r != v->sd_resp)
        vim_resp_free(r);
    return rc;
}

void
vim_hbas_clear(struct vim_hbas *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->v[i].name);
        free(h->v[i].key);
        free(h->v[i].id);
        free(h->v[i].driver);
        strv_free(&h->v[i].fc_targets);
        strv_free(&h->v[i].iscsi_targets);
    }
    free(h->v);
    memset(h, 0, sizeof(*h));
}

static int
hbas_add(struct vim_hbas *h, const xmlNode *hba, struct perr *err)
{
    char *type = vim_xml_xsi_type(hba);
    struct vim_hba *grown = realloc(h->v, (h->n + 1) * sizeof(*grown));
    struct vim_hba *a;
    int rc = -1;

    if (grown == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    h->v = grown;
    a = &h->v[h->n];
    memset(a, 0, sizeof(*a));
    a->max_lun = -1;
    h->n++;
    a->name = vim_xml_path_text(hba, "device");
    a->key = vim_xml_path_text(hba, "key");
    a->id = adapter_id(hba);
    a->driver = vim_xml_path_text(hba, "driver");
    if (type != NULL && strcmp(type, "HostFibreChannelHba") == 0)
        a->kind = VIM_HBA_FC;
    else if (type != NULL && strcmp(type, "HostInternetScsiHba") == 0)
        a->kind = VIM_HBA_ISCSI;
    if (a->name == NULL || a->key == NULL) {
        perr_set(err, PERR_PROTOCOL, "host bus adapter without device or key");
        goto out;
    }
    rc = 0;
out:
    free(type);
    return rc;
}

static struct vim_hba *
hbas_by_key(const struct vim_hbas *h, const char *key)
{
    for (size_t i = 0; i < h->n; i++) {
        if (strcmp(h->v[i].key, key) == 0)
            return &h->v[i];
    }
    return NULL;
}

/* One target's identity from its transport, added to the adapter's list. */
static int
hba_add_target(struct vim_hba *a, const xmlNode *transport, struct perr *err)
{
    char *type = vim_xml_xsi_type(transport);
    char *val = NULL;
    int rc = -1;

    if (type != NULL && strcmp(type, "HostFibreChannelTargetTransport") == 0) {
        val = vim_xml_path_text(transport, "portWorldWideName");
        if (val != NULL) {
            char *end = NULL;
            char hex[17];
            long long wwn;

            errno = 0;
            wwn = strtoll(val, &end, 10);
            if (errno != 0 || end == val || *end != '\0') {
                perr_set(err, PERR_PROTOCOL, "target portWorldWideName '%s' is not a number", val);
                goto out;
            }
            /* xsd:long on the wire: the unsigned 64-bit value is the WWN. */
            snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)wwn);
            if (!strv_contains(&a->fc_targets, hex) && strv_add(&a->fc_targets, hex, err) < 0)
                goto out;
        }
    } else if (type != NULL && strcmp(type, "HostInternetScsiTargetTransport") == 0) {
        val = vim_xml_path_text(transport, "iScsiName");
        if (val != NULL && val[0] != '\0' && !strv_contains(&a->iscsi_targets, val) &&
            strv_add(&a->iscsi_targets, val, err) < 0)
            goto out;
    }
    rc = 0;
out:
    free(val);
    free(type);
    return rc;
}

int
vim_hbas_from_reply(const struct vim_resp *r, struct vim_hbas *out, struct perr *err)
{
    xmlNode *sd = vim_props_val(r, "config.storageDevice");
    xmlNode *hbas = sd != NULL ? sd : vim_props_val(r, "config.storageDevice.hostBusAdapter");
    xmlNode *topo = sd != NULL ? vim_xml_child(sd, "scsiTopology")
                               : vim_props_val(r, "config.storageDevice.scsiTopology");
    int rc = -1;

    memset(out, 0, sizeof(*out));
    /* The whole storageDevice names its adapters hostBusAdapter; the
     * sub-property's value is an ArrayOfHostHostBusAdapter of HostHostBusAdapter. */
    for (xmlNode *h = vim_xml_first_element(hbas); h != NULL; h = vim_xml_next_same(h)) {
        if ((vim_xml_is(h, "hostBusAdapter") || vim_xml_is(h, "HostHostBusAdapter")) &&
            hbas_add(out, h, err) < 0)
            goto out;
    }
    for (xmlNode *ad = vim_xml_child(topo, "adapter"); ad != NULL; ad = vim_xml_next_same(ad)) {
        char *key = vim_xml_path_text(ad, "adapter");
        struct vim_hba *a = key != NULL ? hbas_by_key(out, key) : NULL;

        free(key);
        if (a == NULL)
            continue;
        for (xmlNode *t = vim_xml_child(ad, "target"); t != NULL; t = vim_xml_next_same(t)) {
            if (hba_add_target(a, vim_xml_child(t, "transport"), err) < 0)
                goto out;
            for (xmlNode *l = vim_xml_child(t, "lun"); l != NULL; l = vim_xml_next_same(l)) {
                char *num = vim_xml_path_text(l, "lun");
                char *end = NULL;
                long n = num != NULL ? strtol(num, &end, 10) : -1;

                if (num != NULL && end != num && *end == '\0' && n > a->max_lun)
                    a->max_lun = n;
                free(num);
            }
        }
    }
    rc = 0;
out:
    if (rc < 0)
        vim_hbas_clear(out);
    return rc;
}

int
vim_host_hbas(struct vim *v, const char *host, struct vim_hbas *out, struct perr *err)
{
    static const char *const paths[] = {"config.storageDevice.hostBusAdapter",
                                        "config.storageDevice.scsiTopology", NULL};
    struct vim_resp *r = NULL;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (v->sd_resp != NULL && strcmp(v->sd_host, host) == 0) {
        if (vim_hbas_from_reply(v->sd_resp, out, err) < 0) {
            perr_prefix(err, "adapters and SCSI topology of host '%s': ", host);
            goto out;
        }
        rc = 0;
        goto out;
    }
    if (vim_props_get(v, "HostSystem", host, paths, &r, err) < 0 ||
        vim_hbas_from_reply(r, out, err) < 0) {
        perr_prefix(err, "adapters and SCSI topology of host '%s': ", host);
        goto out;
    }
    rc = 0;
out:
    vim_resp_free(r);
    return rc;
}

/* The value of key in a module option string "k1=v1 k2=v2" (owned), or NULL. */
static char *
module_option(const char *opts, const char *key)
{
    size_t klen = strlen(key);

    for (const char *p = opts; *p != '\0';) {
        size_t len;

        p += strspn(p, " \t\r\n");
        len = strcspn(p, " \t\r\n");
        if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == '=')
            return strndup(p + klen + 1, len - klen - 1);
        p += len;
    }
    return NULL;
}

int
vim_host_sdc_guid(struct vim *v, const char *host, char **guid, struct perr *err)
{
    struct vim_resp *r = NULL;
    char *kms = NULL;
    char *opts = NULL;
    int rc = -1;

    *guid = NULL;
    if (props_text(v, "HostSystem", host, "configManager.kernelModuleSystem", &kms, err) < 0)
        goto out;
    if (vim_call(v, "QueryConfiguredModuleOptionString", "HostKernelModuleSystem", kms,
                 "<name>scini</name>", &r, err) < 0) {
        /* vSphere answers NotFound for a module the host does not have. */
        if (strcmp(err->remote_code, "NotFound") == 0)
            err->code = PERR_NOT_FOUND;
        perr_prefix(err,
                    "host '%s': reading the options of kernel module 'scini' (the PowerFlex "
                    "SDC): ",
                    host);
        goto out;
    }
    if (vim_xml_text_dup(vim_resp_returnval(r), &opts, err) < 0)
        goto out;
    *guid = module_option(opts, "IoctlIniGuidStr");
    if (*guid == NULL || **guid == '\0') {
        free(*guid);
        *guid = NULL;
        perr_set(err, PERR_NOT_FOUND,
                 "host '%s': kernel module 'scini' has no IoctlIniGuidStr option (the PowerFlex "
                 "SDC GUID); options: '%s'",
                 host, opts);
        goto out;
    }
    rc = 0;
out:
    free(kms);
    free(opts);
    vim_resp_free(r);
    return rc;
}

int
vim_sdc_adapters(struct vim *v, const char *host, struct vim_adapters *out, struct perr *err)
{
    static const char *const paths[] = {"config.storageDevice", NULL};
    struct vim_resp *r = NULL;
    xmlNode *sd;
    char *guid = NULL;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    out->protocol = "sdc";
    if (vim_props_get(v, "HostSystem", host, paths, &r, err) < 0)
        goto out;
    sd = vim_props_val(r, "config.storageDevice");
    for (xmlNode *h = vim_xml_child(sd, "hostBusAdapter"); h != NULL && out->n == 0;
         h = vim_xml_next_same(h)) {
        char *drv = vim_xml_path_text(h, "driver");
        bool scini = drv != NULL && strcmp(drv, "scini") == 0;

        free(drv);
        if (scini && adapters_add(out, h, err) < 0)
            goto out;
    }
    if (out->n == 0) {
        perr_set(err, PERR_NOT_FOUND,
                 "host '%s' has no PowerFlex SDC adapter (no host bus adapter with driver "
                 "'scini'); install the SDC on the ESXi host",
                 host);
        goto out;
    }
    if (vim_host_sdc_guid(v, host, &guid, err) < 0)
        goto out;
    free(out->v[0].id);
    out->v[0].id = guid;
    guid = NULL;
    rc = 0;
out:
    if (rc < 0) {
        vim_adapters_clear(out);
        out->protocol = "sdc";
    }
    free(guid);
    vim_resp_free(r);
    return rc;
}

int
vim_host_datacenter(struct vim *v, const char *host, char **dc_moref, char **dc_name,
                    struct perr *err)
{
    static const char *const ppaths[] = {"parent", NULL};
    char *type = strdup("HostSystem");
    char *ref = strdup(host);
    int rc = -1;

    *dc_moref = NULL;
    *dc_name = NULL;
    if (type == NULL || ref == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    /* Walk up the parents: host → cluster → folder → datacenter (bounded). */
    for (int depth = 0; depth < 32; depth++) {
        struct vim_resp *r = NULL;
        xmlNode *parent;
        char *ptype;

        if (vim_props_get(v, type, ref, ppaths, &r, err) < 0)
            goto out;
        parent = vim_props_val(r, "parent");
        ptype = NULL;
        free(ref);
        ref = parent != NULL ? vim_xml_path_text(parent, "") : NULL;
        /* A MoRef value carries its type in the plain `type` attribute
         * (xsi:type only says "ManagedObjectReference"). */
        if (parent != NULL) {
            xmlChar *t = xmlGetNoNsProp(parent, (const xmlChar *)"type");

            ptype = t != NULL ? strdup((const char *)t) : NULL;
            xmlFree(t);
        }
        vim_resp_free(r);
        free(type);
        type = ptype;
        if (ref == NULL || type == NULL) {
            perr_set(err, PERR_NOT_FOUND, "host '%s' is not inside a datacenter", host);
            goto out;
        }
        if (strcmp(type, "Datacenter") == 0) {
            if (props_text(v, "Datacenter", ref, "name", dc_name, err) < 0)
                goto out;
            *dc_moref = ref;
            ref = NULL;
            rc = 0;
            goto out;
        }
    }
    perr_set(err, PERR_PROTOCOL, "host '%s': inventory deeper than 32 levels", host);
out:
    free(type);
    free(ref);
    return rc;
}

int
vim_datastore_upload(struct vim *v, const char *dc_name, const char *ds_name, const char *path,
                     const void *data, size_t len, struct perr *err)
{
    struct http_resp resp = {0};
    struct http_req req = {0};
    struct buf url = {0};
    const char *p = path;
    int rc = -1;

    if (buf_adds(&url, v->base, err) < 0 || buf_adds(&url, "/folder", err) < 0)
        goto out;
    /* Each path segment escaped on its own; the slashes between them stay. */
    while (*p != '\0') {
        size_t n = strcspn(p, "/");
        char seg[1024];

        if (n >= sizeof(seg)) {
            perr_set(err, PERR_USAGE, "datastore path segment too long in '%s'", path);
            goto out;
        }
        memcpy(seg, p, n);
        seg[n] = '\0';
        if (n > 0 && (buf_adds(&url, "/", err) < 0 || buf_add_url(&url, seg, err) < 0))
            goto out;
        p += n;
        if (*p == '/')
            p++;
    }
    if (buf_adds(&url, "?dcPath=", err) < 0 || buf_add_url(&url, dc_name, err) < 0 ||
        buf_adds(&url, "&dsName=", err) < 0 || buf_add_url(&url, ds_name, err) < 0)
        goto out;
    req.method = "PUT";
    req.url = buf_cstr(&url);
    /* The same bytes to the same (temporary) name: a replay does no harm. */
    req.idempotent = true;
    req.content_type = "application/octet-stream";
    req.body = data;
    req.body_len = len;
    if (http_perform(&v->http, &req, &resp, err) < 0) {
        perr_prefix(err, "upload of '[%s] %s': ", ds_name, path);
        goto out;
    }
    if (resp.status != 200 && resp.status != 201) {
        perr_set_remote(err, resp.status == 401 || resp.status == 403 ? PERR_AUTH : PERR_HTTP,
                        resp.status, "", "upload of '[%s] %s' failed: HTTP %ld", ds_name, path,
                        resp.status);
        goto out;
    }
    rc = 0;
out:
    http_resp_free(&resp);
    buf_free(&url);
    return rc;
}

/* Applies one WaitForUpdatesEx reply to the task's state and error. */
static int
task_apply_updates(const struct vim_resp *r, char **state, char **fault, char **message,
                   char **version, struct perr *err)
{
    xmlNode *set = vim_resp_returnval(r);
    char *ver;

    if (set == NULL)
        return 0; /* maxWaitSeconds passed without a change */
    ver = vim_xml_path_text(set, "version");
    if (ver != NULL) {
        free(*version);
        *version = ver;
    }
    for (xmlNode *fs = vim_xml_child(set, "filterSet"); fs != NULL; fs = vim_xml_next_same(fs)) {
        for (xmlNode *os = vim_xml_child(fs, "objectSet"); os != NULL; os = vim_xml_next_same(os)) {
            for (xmlNode *cs = vim_xml_child(os, "changeSet"); cs != NULL;
                 cs = vim_xml_next_same(cs)) {
                char *name = vim_xml_path_text(cs, "name");
                xmlNode *val = vim_xml_child(cs, "val");

                if (name != NULL && strcmp(name, "info.state") == 0 && val != NULL) {
                    free(*state);
                    *state = NULL;
                    if (vim_xml_text_dup(val, state, err) < 0) {
                        free(name);
                        return -1;
                    }
                } else if (name != NULL && strcmp(name, "info.error") == 0 && val != NULL) {
                    free(*fault);
                    free(*message);
                    *fault = vim_xml_xsi_type(vim_xml_child(val, "fault"));
                    *message = vim_xml_path_text(val, "localizedMessage");
                }
                free(name);
            }
        }
    }
    return 0;
}

int
vim_task_wait(struct vim *v, const char *task, long timeout_ms, struct perr *err)
{
    struct deadline dl = deadline_in_ms(timeout_ms);
    struct vim_resp *r = NULL;
    struct buf p = {0};
    char *pc = NULL;
    char *state = NULL;
    char *fault = NULL;
    char *message = NULL;
    char *version = NULL;
    int rc = -1;

    /* A collector of our own, so that no other filter of the session mixes in. */
    if (vim_call(v, "CreatePropertyCollector", "PropertyCollector", v->sc.property_collector, NULL,
                 &r, err) < 0)
        goto out;
    pc = vim_xml_path_text(vim_resp_returnval(r), "");
    vim_resp_free(r);
    r = NULL;
    if (pc == NULL || *pc == '\0') {
        perr_set(err, PERR_PROTOCOL, "CreatePropertyCollector returned no collector");
        goto out;
    }
    if (buf_adds(&p,
                 "<spec><propSet><type>Task</type><pathSet>info.state</pathSet>"
                 "<pathSet>info.error</pathSet></propSet><objectSet><obj type=\"Task\">",
                 err) < 0 ||
        buf_add_xml(&p, task, err) < 0 ||
        buf_adds(
            &p, "</obj><skip>false</skip></objectSet></spec><partialUpdates>false</partialUpdates>",
            err) < 0)
        goto out;
    if (vim_call(v, "CreateFilter", "PropertyCollector", pc, p.data, &r, err) < 0)
        goto out;
    vim_resp_free(r);
    r = NULL;
    for (;;) {
        long left = deadline_remaining_ms(&dl);
        long wait_s = left / 1000 > 30 ? 30 : (left / 1000 < 1 ? 1 : left / 1000);

        if (state != NULL && strcmp(state, "success") == 0)
            break;
        if (state != NULL && strcmp(state, "error") == 0) {
            perr_set_remote(err, PERR_REMOTE, 0, fault != NULL ? fault : "",
                            "task '%s' failed: %s%s%s", task, fault != NULL ? fault : "fault",
                            message != NULL && *message != '\0' ? ": " : "",
                            message != NULL ? message : "");
            goto out;
        }
        if (deadline_expired(&dl)) {
            perr_set(err, PERR_TIMEOUT, "task '%s' did not end within %ld s (state '%s')", task,
                     timeout_ms / 1000, state != NULL ? state : "unknown");
            goto out;
        }
        buf_reset(&p);
        if ((version != NULL &&
             (buf_adds(&p, "<version>", err) < 0 || buf_add_xml(&p, version, err) < 0 ||
              buf_adds(&p, "</version>", err) < 0)) ||
            buf_addf(&p, err, "<options><maxWaitSeconds>%ld</maxWaitSeconds></options>", wait_s) <
                0)
            goto out;
        if (vim_call(v, "WaitForUpdatesEx", "PropertyCollector", pc, p.data, &r, err) < 0)
            goto out;
        if (task_apply_updates(r, &state, &fault, &message, &version, err) < 0)
            goto out;
        vim_resp_free(r);
        r = NULL;
    }
    rc = 0;
out:
    if (pc != NULL && *pc != '\0') {
        struct vim_resp *gone = NULL;
        struct perr tmp = {0};

        /* Destroys the filter with it. */
        if (vim_call(v, "DestroyPropertyCollector", "PropertyCollector", pc, NULL, &gone, &tmp) < 0)
            log_debug("vsphere", "destroy property collector failed", "error", tmp.msg, NULL);
        vim_resp_free(gone);
    }
    vim_resp_free(r);
    buf_free(&p);
    free(pc);
    free(state);
    free(fault);
    free(message);
    free(version);
    return rc;
}

/* "[ds] path" escaped for XML into b. */
static int
add_ds_path(struct buf *b, const char *ds_name, const char *path, struct perr *err)
{
    if (buf_adds(b, "[", err) < 0 || buf_add_xml(b, ds_name, err) < 0 ||
        buf_adds(b, "] ", err) < 0 || buf_add_xml(b, path, err) < 0)
        return -1;
    return 0;
}

static int
file_task(struct vim *v, const char *method, const char *params, const char *what, struct perr *err)
{
    struct vim_resp *r = NULL;
    char *task = NULL;
    int rc = -1;

    if (v->sc.file_manager == NULL) {
        perr_set(err, PERR_UNSUPPORTED, "%s: the server has no FileManager", what);
        goto out;
    }
    if (vim_call(v, method, "FileManager", v->sc.file_manager, params, &r, err) < 0)
        goto out;
    task = vim_xml_path_text(vim_resp_returnval(r), "");
    if (task == NULL || *task == '\0') {
        perr_set(err, PERR_PROTOCOL, "%s returned no task", method);
        goto out;
    }
    if (vim_task_wait(v, task, 60000, err) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        perr_prefix(err, "%s: ", what);
    vim_resp_free(r);
    free(task);
    return rc;
}

int
vim_datastore_move(struct vim *v, const char *dc_moref, const char *ds_name, const char *src,
                   const char *dst, struct perr *err)
{
    struct buf p = {0};
    char what[512];
    int rc = -1;

    snprintf(what, sizeof(what), "move of '[%s] %s' to '%s'", ds_name, src, dst);
    if (buf_adds(&p, "<sourceName>", err) < 0 || add_ds_path(&p, ds_name, src, err) < 0 ||
        buf_adds(&p, "</sourceName><sourceDatacenter type=\"Datacenter\">", err) < 0 ||
        buf_add_xml(&p, dc_moref, err) < 0 ||
        buf_adds(&p, "</sourceDatacenter><destinationName>", err) < 0 ||
        add_ds_path(&p, ds_name, dst, err) < 0 ||
        buf_adds(&p, "</destinationName><destinationDatacenter type=\"Datacenter\">", err) < 0 ||
        buf_add_xml(&p, dc_moref, err) < 0 ||
        buf_adds(&p, "</destinationDatacenter><force>true</force>", err) < 0)
        goto out;
    rc = file_task(v, "MoveDatastoreFile_Task", p.data, what, err);
out:
    buf_free(&p);
    return rc;
}

int
vim_datastore_delete(struct vim *v, const char *dc_moref, const char *ds_name, const char *path,
                     struct perr *err)
{
    struct buf p = {0};
    char what[512];
    int rc = -1;

    snprintf(what, sizeof(what), "delete of '[%s] %s'", ds_name, path);
    if (buf_adds(&p, "<name>", err) < 0 || add_ds_path(&p, ds_name, path, err) < 0 ||
        buf_adds(&p, "</name><datacenter type=\"Datacenter\">", err) < 0 ||
        buf_add_xml(&p, dc_moref, err) < 0 || buf_adds(&p, "</datacenter>", err) < 0)
        goto out;
    rc = file_task(v, "DeleteDatastoreFile_Task", p.data, what, err);
out:
    buf_free(&p);
    return rc;
}

int
vim_cluster_hosts(struct vim *v, const char *cluster, struct strv *hosts, struct perr *err)
{
    static const char *const paths[] = {"host", NULL};
    struct vim_resp *r = NULL;
    char *ref = NULL;
    xmlNode *val;
    int rc = -1;

    if (find_by_name(v, "ClusterComputeResource", cluster, &ref, err) < 0 ||
        vim_props_get(v, "ClusterComputeResource", ref, paths, &r, err) < 0)
        goto out;
    val = vim_props_val(r, "host");
    for (xmlNode *h = vim_xml_child(val, "ManagedObjectReference"); h != NULL;
         h = vim_xml_next_same(h)) {
        char *id = vim_xml_path_text(h, "");

        if (id == NULL || strv_take(hosts, id, err) < 0)
            goto out;
    }
    rc = 0;
out:
    vim_resp_free(r);
    free(ref);
    return rc;
}
