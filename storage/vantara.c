/*
 * Hitachi Vantara: known to the configuration (its name and keys are accepted and
 * documented) but without operations in this build yet; storage_open()
 * says so.  The driver fills in the ops, priv_size and rest fields.
 */
#include <stddef.h>

#include "storage/storage.h"

static const struct storage_env_key vantara_env_keys[] = {
    {"STORAGE_ID", "the storage system id (Configuration Manager)"},
    {"STORAGE_PORT", "the Configuration Manager REST port"},
    {"HOSTGROUP_ID_LIST",
     "host groups to map to, \"PORT,HG:PORT,HG\"; discovered from port logins when unset"},
    {"COPY_SPEED", "copy pace of array-side clones (\"slower\", \"medium\", \"faster\")"},
    {NULL, NULL},
};

const struct storage_driver storage_vantara = {
    .name = "vantara",
    .vendor = "Hitachi",
    .product = "Vantara",
    .summary = "Configuration Manager REST with a session; VVol and RDM copies on the array",
    .caps = STORAGE_CAP_FC,
    .env_keys = vantara_env_keys,
    .url = {.rule = STORAGE_URL_FIRST_IPV4,
            .port_key = "STORAGE_PORT",
            .path = "/ConfigurationManager/v1"},
    .naa = {.rule = STORAGE_NAA_WWN},
};
