/*
 * Every storage driver's JSON handling: the fuzz input is the array's
 * answers (test/fuzz/fuzz_transport.h), and each built driver in
 * storage_drivers[] runs open, resolve, mapped groups, ensure, map, unmap
 * and array info against its own copy of them.  A step that fails is
 * skipped over (the next steps use placeholder values), so later replies are
 * reached even when an early one is malformed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "storage/storage.h"
#include "test/fuzz/fuzz_transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A plausible value for every vendor key a driver may read. */
static const struct storage_kv env_values[] = {
    {"ONTAP_SVM", "svm1"},
    {"POWERFLEX_SYSTEM_ID", "7f5d8fc72cd6f2ab"},
    {"POWERMAX_SYMMETRIX_ID", "000120000001"},
    {"POWERMAX_PORT_GROUP_NAME", "pg1"},
    {"PURE_CLUSTER_PREFIX", "px"},
    {"STORAGE_ID", "800000012345"},
    {"STORAGE_PORT", "443"},
    {"HOSTGROUP_ID_LIST", "CL1-A,1"},
    {"COPY_SPEED", "3"},
};

static const struct storage_attr pv_attrs[] = {
    {"backendUUID", "b-1"},
    {"internalName", "trident_pvc_1"},
    {"storage.kubernetes.io/csiProvisionerIdentity", "1-csi"},
};

static const struct storage_pv pv = {
    .name = "pvc-5c9d270a",
    .volume_handle = "pvc-5c9d270a",
    .csi_driver = "csi.fuzz",
    .attrs = pv_attrs,
    .nattrs = sizeof(pv_attrs) / sizeof(pv_attrs[0]),
};

static const char *const initiators[] = {
    "iqn.1998-01.com.vmware:esx01-1234",
    "21:00:00:24:ff:4c:4a:01",
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* Drivers log at debug and trace: exercise the formatting too, into nowhere. */
    log_init(LOGL_TRACE, LOG_FORMAT_JSON, "all");
    log_set_stream(fopen("/dev/null", "w"));
    return 0;
}

static void
one_driver(const struct storage_driver *drv, const uint8_t *data, size_t size)
{
    struct fuzz_transport ft;
    struct http_transport t;
    struct storage_kv env[sizeof(env_values) / sizeof(env_values[0])];
    size_t nenv = 0;
    struct storage_config cfg = {
        .hostname = "127.0.0.1:8443",
        .username = "admin",
        .password = "fuzz-password",
        .token = "fuzz-token",
        .timeout_s = 5,
        .retry_initial_ms = 1,
    };
    struct storage *st = NULL;
    struct storage_lun lun = {0};
    struct storage_lun mapped = {0};
    struct storage_array_info info = {0};
    struct strv groups = {0};
    struct strv fc = {0};
    struct strv iscsi = {0};
    char *group = NULL;
    struct perr err = {0};

    for (size_t i = 0; drv->env_keys != NULL && drv->env_keys[i].key != NULL; i++)
        for (size_t j = 0; j < sizeof(env_values) / sizeof(env_values[0]); j++)
            if (strcmp(drv->env_keys[i].key, env_values[j].key) == 0)
                env[nenv++] = env_values[j];
    cfg.env = env;
    cfg.nenv = nenv;

    fuzz_transport_init(&ft, data, size);
    t = fuzz_transport_http(&ft);
    cfg.transport = &t;
    if (storage_open(drv, &cfg, &st, &err) < 0)
        return;

    perr_clear(&err);
    if (storage_resolve_pv(st, &pv, &lun, &err) < 0) {
        storage_lun_clear(&lun);
        lun.name = strdup("pvc-5c9d270a");
        lun.id = strdup("1");
        lun.naa = strdup("naa.600a098038304437522b4f6f6d4a6f41");
        lun.serial = strdup("80D7R+OomJoA");
    }
    perr_clear(&err);
    (void)storage_mapped_groups(st, &lun, &groups, &err);
    perr_clear(&err);
    if (storage_ensure_igroup(st, "esx01-fuzz", initiators, 2, &group, &err) < 0 || group == NULL) {
        free(group);
        group = strdup("esx01-fuzz");
    }
    perr_clear(&err);
    if (group != NULL && storage_map(st, group, &lun, &mapped, &err) == 0)
        storage_lun_clear(&mapped);
    perr_clear(&err);
    if (group != NULL)
        (void)storage_unmap(st, group, &lun, &err);
    perr_clear(&err);
    (void)storage_remap(st, &groups, &lun, NULL, &err);
    perr_clear(&err);
    if (storage_target_ports(st, &fc, &iscsi, &err) == 0) {
        strv_free(&fc);
        strv_free(&iscsi);
    }
    perr_clear(&err);
    if (storage_array_info(st, &info, &err) == 0)
        storage_array_info_clear(&info);

    strv_free(&fc);
    strv_free(&iscsi);
    strv_free(&groups);
    free(group);
    storage_lun_clear(&lun);
    storage_free(st);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; storage_drivers[i] != NULL; i++)
        if (storage_driver_built(storage_drivers[i]))
            one_driver(storage_drivers[i], data, size);
    return 0;
}
