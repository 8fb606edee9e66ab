/*
 * Dell PowerMax: known to the configuration (its name and keys are accepted and
 * documented) but without operations in this build yet; storage_open()
 * says so.  The driver fills in the ops, priv_size and rest fields.
 */
#include <stddef.h>

#include "storage/storage.h"

static const struct storage_env_key powermax_env_keys[] = {
    {"POWERMAX_SYMMETRIX_ID", "the array (Symmetrix) id"},
    {"POWERMAX_PORT_GROUP_NAME",
     "the port group of the masking view; its protocol picks the initiators"},
    {NULL, NULL},
};

const struct storage_driver storage_powermax = {
    .name = "powermax",
    .vendor = "Dell",
    .product = "PowerMax",
    .summary =
        "Unisphere REST 100 with HTTP Basic auth; a temporary storage group and masking view",
    .caps = STORAGE_CAP_ISCSI | STORAGE_CAP_FC,
    .env_keys = powermax_env_keys,
    .url = {.rule = STORAGE_URL_STRIP_API},
    .naa = {.rule = STORAGE_NAA_WWN},
};
