/*
 * IBM FlashSystem: known to the configuration (its name and keys are accepted and
 * documented) but without operations in this build yet; storage_open()
 * says so.  The driver fills in the ops, priv_size and rest fields.
 */
#include <stddef.h>

#include "storage/storage.h"

const struct storage_driver storage_flashsystem = {
    .name = "flashsystem",
    .vendor = "IBM",
    .product = "FlashSystem",
    .summary = "Storage Virtualize REST on port 7443 with a token; FlashCopy RDM copies",
    .caps = STORAGE_CAP_ISCSI | STORAGE_CAP_FC,

    .url = {.rule = STORAGE_URL_BARE_HOST, .port = "7443", .path = "/rest/v1"},
    .naa = {.rule = STORAGE_NAA_WWN},
};
