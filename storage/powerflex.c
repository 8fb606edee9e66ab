/*
 * Dell PowerFlex: known to the configuration (its name and keys are accepted and
 * documented) but without operations in this build yet; storage_open()
 * says so.  The driver fills in the ops, priv_size and rest fields.
 */
#include <stddef.h>

#include "storage/storage.h"

static const struct storage_env_key powerflex_env_keys[] = {
    {"POWERFLEX_SYSTEM_ID", "the PowerFlex system id (part of the eui. device name)"},
    {NULL, NULL},
};

const struct storage_driver storage_powerflex = {
    .name = "powerflex",
    .vendor = "Dell",
    .product = "PowerFlex",
    .summary = "REST gateway with a bearer token; the ESXi host's SDC maps the volume",
    .caps = 0,
    .env_keys = powerflex_env_keys,
    .url = {.rule = STORAGE_URL_STRIP_API},
    .naa = {.rule = STORAGE_NAA_DRIVER},
};
