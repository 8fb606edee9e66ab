/*
 * The vSphere client and the VIB clone method against the simulated world
 * (test/sim/world: vcsim with our esxcli, wrapper and fabric), over real
 * HTTPS and SOAP.  Results are checked against what the simulator holds: its
 * inventory facts, its call log, and the files of the ESXi-like tree.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "esxi/clone.h"
#include "esxi/esxcli.h"
#include "esxi/vib.h"
#include "esxi/wrapper.h"
#include "esxi/vim.h"
#include "esxi/vim_calls.h"
#include "test/fake/world.h"

#define TEST_NAA "naa.600a0980383030303030303030303031"

static struct world plain;
static struct world odd;
static bool odd_started;

/* A vCenter session of the world; fails the test when login fails. */
static struct vim *
open_world(const struct world *w)
{
    struct vim *v = world_vim_open(w);

    assert_non_null(v);
    return v;
}

static void
test_login_verified_and_logout(void **state)
{
    struct vim *v;

    (void)state;
    v = open_world(&plain);
    assert_non_null(v->sc.api_version);
    vim_close(v);
    assert_true(world_count_calls(&plain, "\"call\":\"Login\"", NULL) >= 1);
    assert_true(world_count_calls(&plain, "\"call\":\"Logout\"", NULL) >= 1);
    /* The password never reaches the simulator's log of what we sent. */
    assert_int_equal(world_count_calls(&plain, world_get(&plain, "GOVMOMI_PASSWORD"), NULL), 0);
}

static void
test_tls_rejected_without_ca(void **state)
{
    struct vim_opts o = {0};
    struct vim *v = NULL;
    struct perr err = {0};

    (void)state;
    o.host = world_get(&plain, "GOVMOMI_HOSTNAME");
    o.user = world_get(&plain, "GOVMOMI_USERNAME");
    o.password = world_get(&plain, "GOVMOMI_PASSWORD");
    assert_int_equal(vim_open(&o, &v, &err), -1);
    assert_int_equal(err.code, PERR_TLS);
    assert_non_null(strstr(err.msg, "GOVMOMI_INSECURE"));
    /* The explicit switch accepts it. */
    perr_clear(&err);
    o.insecure = true;
    assert_int_equal(vim_open(&o, &v, &err), 0);
    vim_close(v);
}

static void
test_bad_password(void **state)
{
    struct vim_opts o = {0};
    struct vim *v = NULL;
    struct perr err = {0};

    (void)state;
    o.host = world_get(&plain, "GOVMOMI_HOSTNAME");
    o.user = world_get(&plain, "GOVMOMI_USERNAME");
    o.password = "wrong-<&>-password";
    o.ca_file = world_get(&plain, "WORLD_VCENTER_CA");
    assert_int_equal(vim_open(&o, &v, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_non_null(strstr(err.msg, "login to 'https://127.0.0.1:"));
    assert_null(strstr(err.msg, "wrong-<&>-password"));
}

static void
test_lookups(void **state)
{
    struct vim *v;
    struct perr err = {0};
    char *s = NULL;
    char *dc = NULL;

    (void)state;
    v = open_world(&plain);
    assert_int_equal(vim_find_vm(v, world_get(&plain, "WORLD_VC_VM_ID"), &s, &err), 0);
    assert_string_equal(s, world_get(&plain, "WORLD_VC_VM_ID"));
    free(s);
    if (vim_find_vm(v, world_get(&plain, "WORLD_VC_VM_NAME"), &s, &err) < 0)
        fail_msg("find by name: %s", err.msg);
    assert_string_equal(s, world_get(&plain, "WORLD_VC_VM_ID"));
    free(s);
    assert_int_equal(vim_find_vm(v, "no-such-vm", &s, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    perr_clear(&err);
    assert_int_equal(vim_vm_host(v, world_get(&plain, "WORLD_VC_VM_ID"), &s, &err), 0);
    assert_string_equal(s, world_get(&plain, "WORLD_VC_VM_HOST"));
    free(s);
    assert_int_equal(vim_host_check(v, "host-9999", &err), -1);
    assert_string_equal(err.msg, "didn't find any host with id 'host-9999'");
    perr_clear(&err);
    assert_int_equal(vim_host_mgmt_ip(v, world_get(&plain, "WORLD_VC_VM_HOST"), &s, &err), 0);
    assert_string_equal(s, "127.0.0.1");
    free(s);
    if (vim_host_datacenter(v, world_get(&plain, "WORLD_VC_VM_HOST"), &s, &dc, &err) < 0)
        fail_msg("datacenter: %s", err.msg);
    assert_string_equal(dc, world_get(&plain, "WORLD_VC_DATACENTER"));
    free(s);
    free(dc);
    vim_close(v);
}

static void
test_disks(void **state)
{
    struct vim *v;
    struct vim_disk d;
    struct perr err = {0};
    unsigned long long bytes = strtoull(world_get(&plain, "WORLD_VC_DISK_BYTES"), NULL, 10);

    (void)state;
    v = open_world(&plain);
    assert_int_equal(vim_vm_disk(v, world_get(&plain, "WORLD_VC_VM_ID"),
                                 world_get(&plain, "WORLD_VC_VM_VMDK"), &d, &err),
                     0);
    assert_int_equal(d.kind, VIM_DISK_FLAT);
    assert_string_equal(d.file, world_get(&plain, "WORLD_VC_VM_VMDK"));
    assert_int_equal(d.provisioned_bytes, bytes);
    assert_int_equal(d.allocated_bytes, bytes);
    vim_disk_clear(&d);

    assert_int_equal(vim_vm_disk(v, world_get(&plain, "WORLD_VC_RDM_VM_ID"),
                                 world_get(&plain, "WORLD_VC_RDM_VMDK"), &d, &err),
                     0);
    assert_int_equal(d.kind, VIM_DISK_RDM);
    assert_non_null(d.rdm_lun_uuid);
    assert_non_null(strstr(d.rdm_lun_uuid, world_get(&plain, "WORLD_VC_RDM_NAA") + 4));
    assert_int_equal(d.allocated_bytes, 0);
    vim_disk_clear(&d);

    assert_int_equal(vim_vm_disk(v, world_get(&plain, "WORLD_VC_VVOL_VM_ID"),
                                 world_get(&plain, "WORLD_VC_VVOL_VMDK"), &d, &err),
                     0);
    assert_int_equal(d.kind, VIM_DISK_VVOL);
    assert_string_equal(d.vvol_id, world_get(&plain, "WORLD_VC_VVOL_ID"));
    vim_disk_clear(&d);

    assert_int_equal(
        vim_vm_disk(v, world_get(&plain, "WORLD_VC_VM_ID"), "[x] no/such.vmdk", &d, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    vim_close(v);
}

/* A warm copy asks for the base of a snapshot chain: the disk's identity and
 * allocation come from that base, never from the delta on top (issue 15, 11). */
static void
test_disks_with_snapshots(void **state)
{
    struct vim *v;
    struct vim_disk d;
    struct perr err = {0};

    (void)state;
    v = open_world(&plain);
    /* VMFS: the base file, and only the base's extent counted as allocated. */
    if (vim_vm_disk(v, world_get(&plain, "WORLD_VC_MX_SNAP_ID"),
                    world_get(&plain, "WORLD_VC_MX_SNAP_0_VMDK"), &d, &err) < 0)
        fail_msg("snapshot disk: %s", err.msg);
    assert_int_equal(d.kind, VIM_DISK_FLAT);
    assert_string_equal(d.file, world_get(&plain, "WORLD_VC_MX_SNAP_0_VMDK"));
    assert_int_equal(d.provisioned_bytes,
                     strtoull(world_get(&plain, "WORLD_VC_MX_SNAP_0_BYTES"), NULL, 10));
    assert_int_equal(d.allocated_bytes,
                     strtoull(world_get(&plain, "WORLD_VC_MX_SNAP_0_ALLOCATED"), NULL, 10));
    vim_disk_clear(&d);
    /* Asked for the top delta itself, it is the delta. */
    assert_int_equal(vim_vm_disk(v, world_get(&plain, "WORLD_VC_MX_SNAP_ID"),
                                 world_get(&plain, "WORLD_VC_MX_SNAP_0_TOP"), &d, &err),
                     0);
    assert_string_equal(d.file, world_get(&plain, "WORLD_VC_MX_SNAP_0_TOP"));
    assert_true(d.allocated_bytes >
                strtoull(world_get(&plain, "WORLD_VC_MX_SNAP_0_ALLOCATED"), NULL, 10));
    vim_disk_clear(&d);

    /* VVol: the base's VVol id, not the delta's. */
    if (vim_vm_disk(v, world_get(&plain, "WORLD_VC_MX_VVOL_SNAP_ID"),
                    world_get(&plain, "WORLD_VC_MX_VVOL_SNAP_0_VMDK"), &d, &err) < 0)
        fail_msg("VVol snapshot disk: %s", err.msg);
    assert_int_equal(d.kind, VIM_DISK_VVOL);
    assert_string_equal(d.vvol_id, world_get(&plain, "WORLD_VC_MX_VVOL_SNAP_0_VVOL_ID"));
    assert_string_equal(d.file, world_get(&plain, "WORLD_VC_MX_VVOL_SNAP_0_VMDK"));
    vim_disk_clear(&d);
    assert_int_equal(vim_vm_disk(v, world_get(&plain, "WORLD_VC_MX_VVOL_SNAP_ID"),
                                 world_get(&plain, "WORLD_VC_MX_VVOL_SNAP_0_TOP"), &d, &err),
                     0);
    assert_string_equal(d.vvol_id, world_get(&plain, "WORLD_VC_MX_VVOL_SNAP_0_VVOL_TOP_ID"));
    vim_disk_clear(&d);

    /* RDMs of both compatibility modes, each with its own raw LUN. */
    for (int i = 0; i < 2; i++) {
        char key[64];

        snprintf(key, sizeof(key), "WORLD_VC_MX_RDM_%d_VMDK", i);
        if (vim_vm_disk(v, world_get(&plain, "WORLD_VC_MX_RDM_ID"), world_get(&plain, key), &d,
                        &err) < 0)
            fail_msg("RDM disk %d: %s", i, err.msg);
        assert_int_equal(d.kind, VIM_DISK_RDM);
        snprintf(key, sizeof(key), "WORLD_VC_MX_RDM_%d_NAA", i);
        assert_non_null(d.rdm_lun_uuid);
        assert_non_null(strstr(d.rdm_lun_uuid, world_get(&plain, key) + 4));
        assert_int_equal(d.allocated_bytes, 0);
        vim_disk_clear(&d);
    }
    vim_close(v);
}

static void
test_adapters(void **state)
{
    struct vim *v;
    struct vim_adapters a;
    struct perr err = {0};
    bool iqn = false;
    bool fc = false;

    (void)state;
    v = open_world(&plain);
    assert_int_equal(vim_datastore_adapters(v, world_get(&plain, "WORLD_VC_VM_HOST"),
                                            world_get(&plain, "WORLD_VC_DS_NAME"), &a, &err),
                     0);
    assert_string_equal(a.device, world_get(&plain, "WORLD_VC_DS_NAA"));
    for (size_t i = 0; i < a.n; i++) {
        iqn = iqn || strcmp(a.v[i].id, world_get(&plain, "WORLD_VC_HOST_IQN")) == 0;
        fc = fc || strcmp(a.v[i].id, world_get(&plain, "WORLD_VC_HOST_FC")) == 0;
    }
    assert_true(iqn);
    assert_true(fc);
    assert_true(strcmp(a.protocol, "fc") == 0 || strcmp(a.protocol, "iscsi") == 0);
    vim_adapters_clear(&a);
    assert_int_equal(
        vim_datastore_adapters(v, world_get(&plain, "WORLD_VC_VM_HOST"), "nope", &a, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    vim_close(v);
}

static void
test_upload(void **state)
{
    static const char data[] = "#!/bin/sh\necho 'upload & check <ok>'\n";
    struct vim *v;
    struct perr err = {0};
    char path[1024];
    char *got = NULL;
    size_t len = 0;
    FILE *f;

    (void)state;
    v = open_world(&plain);
    assert_int_equal(vim_datastore_upload(v, world_get(&plain, "WORLD_VC_DATACENTER"),
                                          world_get(&plain, "WORLD_VC_DS_NAME"),
                                          "up dir/wrapper 'q' & <x>.sh", data, sizeof(data) - 1,
                                          &err),
                     0);
    snprintf(path, sizeof(path), "%s/vmfs/volumes/%s/up dir/wrapper 'q' & <x>.sh",
             world_get(&plain, "WORLD_ROOT"), world_get(&plain, "WORLD_VC_DS_NAME"));
    f = fopen(path, "rb");
    assert_non_null(f);
    got = calloc(1, 4096);
    len = fread(got, 1, 4096, f);
    fclose(f);
    assert_int_equal(len, sizeof(data) - 1);
    assert_memory_equal(got, data, len);
    free(got);
    /* A datastore that does not exist is an error with the status. */
    assert_int_equal(vim_datastore_upload(v, world_get(&plain, "WORLD_VC_DATACENTER"), "nope",
                                          "x.sh", data, 1, &err),
                     -1);
    assert_true(err.http_status == 404);
    vim_close(v);
}

static void
test_relogin_after_session_loss(void **state)
{
    struct vim *v;
    struct perr err = {0};
    char *s = NULL;
    int before;

    (void)state;
    v = open_world(&plain);
    before = world_count_calls(&plain, "\"call\":\"Login\"", NULL);
    assert_int_equal(world_sh(&plain, "echo 'RetrievePropertiesEx soapfault NotAuthenticated "
                                      "session dropped once' > \"$WORLD_FAULTS\""),
                     0);
    if (vim_vm_host(v, world_get(&plain, "WORLD_VC_VM_ID"), &s, &err) < 0)
        fail_msg("after re-login: %s", err.msg);
    assert_string_equal(s, world_get(&plain, "WORLD_VC_VM_HOST"));
    free(s);
    assert_int_equal(world_count_calls(&plain, "\"call\":\"Login\"", NULL), before + 1);
    assert_int_equal(world_sh(&plain, ": > \"$WORLD_FAULTS\""), 0);
    vim_close(v);
}

/* Maps a LUN backed by a fresh file to the host's iSCSI initiator through the fabric. */
static void
map_test_lun(const struct world *w, const char *naa, const char *vol)
{
    assert_int_equal(world_sh(w,
                              "mkdir -p \"$WORLD_ROOT/arrays/test\" && truncate -s 16M "
                              "\"$WORLD_ROOT/arrays/test/%s\" && test/sim/fabric-map %s "
                              "/arrays/test/%s \"$WORLD_VC_HOST_IQN\"",
                              vol, naa, vol),
                     0);
}

static void
test_esxcli_devices_and_cache(void **state)
{
    struct vim *v;
    struct esxcli *e = NULL;
    struct perr err = {0};
    char *status = NULL;
    int soap_before;
    int soap_after;

    (void)state;
    v = open_world(&plain);
    map_test_lun(&plain, TEST_NAA, "dev1");
    assert_int_equal(esxcli_new(v, world_get(&plain, "WORLD_VC_VM_HOST"), &e, &err), 0);
    soap_before = world_count_calls(&plain, "\"call\":\"ExecuteSoap\"", NULL);
    assert_int_equal(esxi_device_status(e, TEST_NAA, &status, &err), -1);
    perr_clear(&err);
    assert_int_equal(esxi_rescan_add(e, &err), 0);
    assert_int_equal(esxi_device_status(e, TEST_NAA, &status, &err), 0);
    assert_string_equal(status, "on");
    free(status);
    assert_int_equal(esxi_device_off(e, TEST_NAA, &err), 0);
    assert_int_equal(esxi_device_status(e, TEST_NAA, &status, &err), 0);
    assert_string_equal(status, "off");
    free(status);
    assert_int_equal(esxi_detached_remove(e, TEST_NAA, &err), 0);
    assert_int_equal(world_sh(&plain, "test/sim/fabric-unmap %s", TEST_NAA), 0);
    assert_int_equal(esxi_rescan_delete(e, "vmhba65", &err), 0);
    /* Three namespaces were used: one FetchCLIInfo each, then one ExecuteSoap per command. */
    assert_int_equal(esxcli_info_fetches(e), 3);
    soap_after = world_count_calls(&plain, "\"call\":\"ExecuteSoap\"", NULL);
    assert_int_equal(soap_after - soap_before, 3 + 7);
    esxcli_free(e);
    vim_close(v);
}

struct progress_seen {
    int last;
    int count;
};

static void
on_progress(void *arg, int pct)
{
    struct progress_seen *p = arg;

    p->last = pct;
    p->count++;
}

static int
count_entries(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL)
        n += strstr(de->d_name, needle) != NULL;
    closedir(d);
    return n;
}

static void
vib_clone_case(const struct world *w, const char *naa, const char *vol)
{
    struct vim *v = open_world(w);
    struct esxcli *e = NULL;
    struct wrapper_carrier c;
    struct progress_seen seen = {-1, 0};
    struct clone_callbacks cb = {on_progress, NULL, &seen};
    struct clone_result res;
    struct perr err = {0};
    char src[1024];
    char dst[256];
    char backing[1024];
    char vmdir[1024];
    char tmpdir[1024];
    char *status = NULL;
    const char *vmdk = world_get(w, "WORLD_VC_VM_VMDK");
    const char *close = strstr(vmdk, "] ");

    map_test_lun(w, naa, vol);
    assert_int_equal(esxcli_new(v, world_get(w, "WORLD_VC_VM_HOST"), &e, &err), 0);
    assert_int_equal(esxi_rescan_add(e, &err), 0);
    assert_int_equal(esxi_device_status(e, naa, &status, &err), 0);
    free(status);
    vib_carrier(e, &c);
    snprintf(src, sizeof(src), "/vmfs/volumes/%s/%s", world_get(w, "WORLD_VC_DS_NAME"), close + 2);
    snprintf(dst, sizeof(dst), "/vmfs/devices/disks/%s", naa);
    if (clone_run(&c, src, dst, 60000, &cb, &res, &err) < 0)
        fail_msg("clone failed: %s", err.msg);
    assert_int_equal(seen.last, 100);
    assert_true(seen.count >= 1);
    assert_false(res.cleanup_failed);
    snprintf(backing, sizeof(backing), "%s/arrays/test/%s", world_get(w, "WORLD_ROOT"), vol);
    assert_true(world_same_file(world_get(w, "WORLD_VC_VM_FLAT"), backing));
    /* task-clean left no task directory and no RDM descriptor. */
    snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", world_get(w, "WORLD_ROOT"));
    assert_int_equal(count_entries(tmpdir, "vmkfstools-wrapper-"), 0);
    snprintf(vmdir, sizeof(vmdir), "%s", world_get(w, "WORLD_VC_VM_FLAT"));
    *strrchr(vmdir, '/') = '\0';
    assert_int_equal(count_entries(vmdir, "-rdmdisk-"), 0);
    assert_int_equal(world_sh(w, "test/sim/fabric-unmap %s", naa), 0);
    esxcli_free(e);
    vim_close(v);
}

static void
test_vib_clone(void **state)
{
    (void)state;
    vib_clone_case(&plain, "naa.600a0980383030303030303030303032", "clone1");
}

static void
test_vib_clone_failure(void **state)
{
    struct vim *v = open_world(&plain);
    struct esxcli *e = NULL;
    struct wrapper_carrier c;
    struct clone_result res;
    struct perr err = {0};
    char src[1024];
    char tmpdir[1024];
    const char *naa = "naa.600a0980383030303030303030303033";

    (void)state;
    map_test_lun(&plain, naa, "fail1");
    /* A disk whose name says FAILCLONE makes the simulated vmkfstools fail halfway. */
    assert_int_equal(
        world_sh(&plain, "d=$(dirname \"$WORLD_VC_VM_FLAT\"); cp \"$WORLD_VC_VM_FLAT\" "
                         "\"$d/FAILCLONE-flat.vmdk\" && sed 's/xcopy-vm-1-flat/FAILCLONE-flat/' "
                         "\"${WORLD_VC_VM_FLAT%%-flat.vmdk}.vmdk\" > \"$d/FAILCLONE.vmdk\""),
        0);
    assert_int_equal(esxcli_new(v, world_get(&plain, "WORLD_VC_VM_HOST"), &e, &err), 0);
    assert_int_equal(esxi_rescan_add(e, &err), 0);
    vib_carrier(e, &c);
    snprintf(src, sizeof(src), "/vmfs/volumes/%s/%s/FAILCLONE.vmdk",
             world_get(&plain, "WORLD_VC_DS_NAME"), world_get(&plain, "WORLD_VC_VM_NAME"));
    assert_int_equal(clone_run(&c, src, "/vmfs/devices/disks/naa.600a0980383030303030303030303033",
                               60000, NULL, &res, &err),
                     -1);
    assert_int_equal(err.code, PERR_REMOTE);
    if (strstr(err.msg, "clone task failed with exit code 1: ") == NULL ||
        strstr(err.msg, "Failed to clone disk") == NULL)
        fail_msg("unexpected message: %s", err.msg);
    snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", world_get(&plain, "WORLD_ROOT"));
    assert_int_equal(count_entries(tmpdir, "vmkfstools-wrapper-"), 0);
    assert_int_equal(world_sh(&plain, "test/sim/fabric-unmap %s", naa), 0);
    esxcli_free(e);
    vim_close(v);
}

static void
test_vib_version_and_missing_plugin(void **state)
{
    struct vim *v = open_world(&plain);
    struct esxcli *e = NULL;
    struct wrapper_carrier c;
    struct perr err = {0};
    char *installed = NULL;
    int cmp = 2;

    (void)state;
    assert_int_equal(esxcli_new(v, world_get(&plain, "WORLD_VC_VM_HOST"), &e, &err), 0);
    assert_int_equal(vib_check_version(e, esxi_wrapper_version(), &installed, &err), 0);
    assert_string_equal(installed, esxi_wrapper_version());
    free(installed);
    assert_int_equal(version_compare("1.0", "1.0.0", &cmp), 0);
    assert_int_equal(cmp, 0);
    assert_int_equal(version_compare("0.3.3", "0.4.0", &cmp), 0);
    assert_int_equal(cmp, -1);
    assert_int_equal(version_compare("dev", "0.4.0", &cmp), -1);
    esxcli_free(e);

    /* Without the plugin the namespace is unknown: the message says to restart hostd. */
    assert_int_equal(world_sh(&plain, "mv \"$WORLD_ROOT/opt/redhat/vmkfstools-wrapper\" "
                                      "\"$WORLD_ROOT/opt/redhat/wrapper.away\""),
                     0);
    assert_int_equal(esxcli_new(v, world_get(&plain, "WORLD_VC_VM_HOST"), &e, &err), 0);
    vib_carrier(e, &c);
    assert_int_equal(clone_wrapper_version(&c, &installed, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "restart hostd on that host"));
    /* The advisory check logs and goes on with an empty version. */
    perr_clear(&err);
    assert_int_equal(vib_check_version(e, esxi_wrapper_version(), &installed, &err), 0);
    assert_string_equal(installed, "");
    free(installed);
    assert_int_equal(world_sh(&plain, "mv \"$WORLD_ROOT/opt/redhat/wrapper.away\" "
                                      "\"$WORLD_ROOT/opt/redhat/vmkfstools-wrapper\""),
                     0);
    esxcli_free(e);
    vim_close(v);
}

static void
test_odd_names(void **state)
{
    struct vim *v;
    struct perr err = {0};
    struct vim_disk d;
    struct vim_adapters a;
    char *s = NULL;

    (void)state;
    if (!odd_started)
        fail_msg("the world with odd names did not start");
    v = open_world(&odd);
    assert_int_equal(vim_find_vm(v, world_get(&odd, "WORLD_VC_VM_NAME"), &s, &err), 0);
    assert_string_equal(s, world_get(&odd, "WORLD_VC_VM_ID"));
    free(s);
    assert_int_equal(vim_vm_disk(v, world_get(&odd, "WORLD_VC_VM_ID"),
                                 world_get(&odd, "WORLD_VC_VM_VMDK"), &d, &err),
                     0);
    vim_disk_clear(&d);
    assert_int_equal(vim_datastore_adapters(v, world_get(&odd, "WORLD_VC_VM_HOST"),
                                            world_get(&odd, "WORLD_VC_DS_NAME"), &a, &err),
                     0);
    vim_adapters_clear(&a);
    vim_close(v);
    vib_clone_case(&odd, "naa.600a0980383030303030303030303034", "odd1");
}

static int
setup(void **state)
{
    static const char *const odd_env[] = {"WORLD_VM_NAME=VM 'q' \"x&y\" é",
                                          "WORLD_DS_NAME=DS \"a&b\" ü <1>", NULL};
    static const char *const matrix_env[] = {"WORLD_MATRIX=1", NULL};

    (void)state;
    /* With the test matrix's VMs: the snapshot chains and RDMs of test_disks_with_snapshots. */
    if (world_start_chroot(&plain, matrix_env) < 0)
        return -1;
    odd_started = world_start(&odd, odd_env) == 0;
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    world_stop(&plain);
    if (odd_started)
        world_stop(&odd);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_verified_and_logout),
        cmocka_unit_test(test_tls_rejected_without_ca),
        cmocka_unit_test(test_bad_password),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_disks),
        cmocka_unit_test(test_disks_with_snapshots),
        cmocka_unit_test(test_adapters),
        cmocka_unit_test(test_upload),
        cmocka_unit_test(test_relogin_after_session_loss),
        cmocka_unit_test(test_esxcli_devices_and_cache),
        cmocka_unit_test(test_vib_clone),
        cmocka_unit_test(test_vib_clone_failure),
        cmocka_unit_test(test_vib_version_and_missing_plugin),
        cmocka_unit_test(test_odd_names),
    };

    return cmocka_run_group_tests_name("vsphere against the simulated world", tests, setup,
                                       teardown);
}
