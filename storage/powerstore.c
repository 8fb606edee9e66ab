/*
 * Dell PowerStore: known to the configuration (its name and keys are accepted and
 * documented) but without operations in this build yet; storage_open()
 * says so.  The driver fills in the ops, priv_size and rest fields.
 */
#include <stddef.h>

#include "storage/storage.h"

const struct storage_driver storage_powerstore = {
    .name = "powerstore",
    .vendor = "Dell",
    .product = "PowerStore",
    .summary = "REST under /api/rest with a DELL-EMC-TOKEN session",
    .caps = STORAGE_CAP_ISCSI | STORAGE_CAP_FC,

    .url = {.rule = STORAGE_URL_SUFFIX, .path = "/api/rest"},
    .naa = {.rule = STORAGE_NAA_WWN},
};
