/*
 * HPE Primera/3PAR: known to the configuration (its name and keys are accepted and
 * documented) but without operations in this build yet; storage_open()
 * says so.  The driver fills in the ops, priv_size and rest fields.
 */
#include <stddef.h>

#include "storage/storage.h"

const struct storage_driver storage_primera3par = {
    .name = "primera3par",
    .vendor = "HPE",
    .product = "Primera/3PAR",
    .summary = "WSAPI with a session key; VVol and RDM copies on the array",
    .caps = STORAGE_CAP_ISCSI | STORAGE_CAP_FC,

    .url = {.rule = STORAGE_URL_HOST},
    .naa = {.rule = STORAGE_NAA_WWN},
};
