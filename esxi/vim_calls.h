/*
 * The typed vSphere calls the populator needs, one function each.
 *
 * Contract:
 * - Every output is an owned C string or an owned small struct (freed by its
 *   *_clear/free function); nothing borrowed from XML escapes.
 * - Object references are given and returned as values ("vm-42", "host-36");
 *   the type is implied by the call.
 * - Names (VM, datastore, datacenter) may hold any character: they only
 *   reach XML through buf_add_xml and URLs through buf_add_url.
 * - "Not found" is PERR_NOT_FOUND with a message naming the object.
 */
#ifndef POP_VIM_CALLS_H
#define POP_VIM_CALLS_H

#include <stdbool.h>
#include <stddef.h>

#include "esxi/vim.h"
#include "lib/strv.h"

/* Reads properties of one object; *out owns the reply (objects/propSet). */
int vim_props_get(struct vim *v, const char *type, const char *moref, const char *const paths[],
                  struct vim_resp **out, struct perr *err);
/* The <val> node of property name in a vim_props_get() reply, or NULL. */
xmlNode *vim_props_val(const struct vim_resp *r, const char *name);

/* Every object of type ("HostSystem", "ClusterComputeResource") under the root
 * folder: MoRef values and names appended to the lists, in the same order. */
int vim_list_objects(struct vim *v, const char *type, struct strv *morefs, struct strv *names,
                     struct perr *err);
/* The HostSystem MoRef values of the cluster named cluster (appended). */
int vim_cluster_hosts(struct vim *v, const char *cluster, struct strv *hosts, struct perr *err);
/* A HostSystem by its inventory name; PERR_NOT_FOUND when there is none. */
int vim_find_host(struct vim *v, const char *name, char **moref, struct perr *err);

/* A VM by MoRef value ("vm-42"), or else by name; *moref is owned.  Found
 * by MoRef, its runtime.host comes in the same request and is kept in v for
 * vim_vm_host(). */
int vim_find_vm(struct vim *v, const char *id, char **moref, struct perr *err);
/* The VM's runtime.host value (the one vim_find_vm() read, when it read it). */
int vim_vm_host(struct vim *v, const char *vm, char **host, struct perr *err);
/* Checks that a HostSystem exists; PERR_NOT_FOUND "didn't find any host with id X" otherwise. */
int vim_host_check(struct vim *v, const char *host, struct perr *err);

enum vim_disk_kind { VIM_DISK_FLAT, VIM_DISK_RDM, VIM_DISK_VVOL };

struct vim_disk {
    enum vim_disk_kind kind;
    char *file;         /* backing fileName "[ds] dir/file.vmdk" */
    char *vvol_id;      /* backingObjectId (VVol), or NULL */
    char *rdm_lun_uuid; /* lunUuid (RDM), or NULL */
    char *rdm_device;   /* deviceName (RDM), or NULL */
    long key;           /* the VirtualDisk device key */
    unsigned long long provisioned_bytes;
    unsigned long long allocated_bytes; /* datastore allocation; 0 for RDM and VVol */
};

/*
 * Finds the VM disk whose backing file (or a parent's, for a disk with
 * snapshots) is vmdk.  file, vvol_id and the RDM fields come from the backing
 * that matched, not from the top of the chain; provisioned_bytes is the
 * disk's capacity; allocated_bytes sums the chain's extents from the base up
 * to the matched file (a warm base copy does not count the deltas).
 */
int vim_vm_disk(struct vim *v, const char *vm, const char *vmdk, struct vim_disk *out,
                struct perr *err);
void vim_disk_clear(struct vim_disk *d);

/* The host's first management IP address (virtualNicManagerInfo). */
int vim_host_mgmt_ip(struct vim *v, const char *host, char **ip, struct perr *err);

struct vim_adapter {
    char *name; /* "vmhba2" */
    char *id;   /* "iqn.…" / "fc.WWNN:WWPN" / nodeWorldWideName / device name */
    char *driver;
};

struct vim_adapters {
    struct vim_adapter *v;
    size_t n;
    const char *protocol; /* "iscsi", "fc" or "n/a" (static) */
    char *device;         /* the datastore's backing device (naa) */
};

/* The active adapters through which host reaches the VMFS datastore ds_name. */
int vim_datastore_adapters(struct vim *v, const char *host, const char *ds_name,
                           struct vim_adapters *out, struct perr *err);
void vim_adapters_clear(struct vim_adapters *a);

/* What a host bus adapter is, for the adapter choice. */
enum vim_hba_kind { VIM_HBA_OTHER = 0, VIM_HBA_FC, VIM_HBA_ISCSI };

/* One host bus adapter with the targets it sees (all strings owned). */
struct vim_hba {
    char *name;   /* device name, "vmhba2" */
    char *key;    /* "key-vim.host.FibreChannelHba-vmhba2" */
    char *id;     /* the id vim_datastore_adapters gives ("fc.WWNN:WWPN", IQN, ...) */
    char *driver; /* "qlnativefc", or NULL */
    enum vim_hba_kind kind;
    struct strv fc_targets;    /* target port WWNs, 16 lower-case hex digits */
    struct strv iscsi_targets; /* target IQNs as the host reports them */
    long max_lun;              /* highest LUN number seen behind its targets; -1 none */
};

struct vim_hbas {
    struct vim_hba *v;
    size_t n;
};

/* The host's adapters (config.storageDevice.hostBusAdapter) with the targets
 * of config.storageDevice.scsiTopology: FC targets by their port WWN (a signed
 * xsd:long on the wire, given as 16 hex digits), iSCSI ones by their name.
 * One RetrievePropertiesEx, or none when vim_datastore_adapters() already
 * read this host's config.storageDevice on v.  A host without adapters gives
 * n == 0. */
int vim_host_hbas(struct vim *v, const char *host, struct vim_hbas *out, struct perr *err);
/* The parsing half of vim_host_hbas(), on a RetrievePropertiesEx reply that
 * holds either the two sub-properties or the whole config.storageDevice. */
int vim_hbas_from_reply(const struct vim_resp *r, struct vim_hbas *out, struct perr *err);
void vim_hbas_clear(struct vim_hbas *h);

/*
 * The PowerFlex SDC GUID of host: the IoctlIniGuidStr option of its "scini"
 * kernel module (HostKernelModuleSystem.QueryConfiguredModuleOptionString,
 * reached through configManager.kernelModuleSystem), as written there.  A
 * host without the module or without the option is PERR_NOT_FOUND naming
 * both.  *guid is owned.
 */
int vim_host_sdc_guid(struct vim *v, const char *host, char **guid, struct perr *err);

/*
 * The host's PowerFlex SDC as its one adapter: the host bus adapter whose
 * driver is "scini" (name, driver), with the SDC GUID of vim_host_sdc_guid()
 * as its id; protocol "sdc", device NULL.  A host without such an adapter
 * is PERR_NOT_FOUND.
 */
int vim_sdc_adapters(struct vim *v, const char *host, struct vim_adapters *out, struct perr *err);

/* The datacenter above host: its MoRef value and inventory name (owned). */
int vim_host_datacenter(struct vim *v, const char *host, char **dc_moref, char **dc_name,
                        struct perr *err);

/* PUT data to [ds_name] path through /folder (dcPath = the datacenter's name). */
int vim_datastore_upload(struct vim *v, const char *dc_name, const char *ds_name, const char *path,
                         const void *data, size_t len, struct perr *err);

/* Waits for a Task to end, through a private PropertyCollector (CreateFilter +
 * WaitForUpdatesEx; no polling sleeps), at most timeout_ms (< 0: no limit).
 * A task that ends in error is PERR_REMOTE with the fault type in
 * err->remote_code and its localized message; the deadline is PERR_TIMEOUT. */
int vim_task_wait(struct vim *v, const char *task, long timeout_ms, struct perr *err);

/* FileManager.MoveDatastoreFile_Task from [ds_name] src to [ds_name] dst in the
 * datacenter dc_moref, replacing dst (force), and waits for it (60 s).  On
 * VMFS this is a rename: readers see the old file or the new one, never a
 * partial one. */
int vim_datastore_move(struct vim *v, const char *dc_moref, const char *ds_name, const char *src,
                       const char *dst, struct perr *err);

/* FileManager.DeleteDatastoreFile_Task of [ds_name] path, and waits for it (60 s). */
int vim_datastore_delete(struct vim *v, const char *dc_moref, const char *ds_name, const char *path,
                         struct perr *err);

#endif
