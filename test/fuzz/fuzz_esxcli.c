/*
 * esxcli replies: the inner document of an ExecuteSoap answer, parsed into
 * rows of fields, then every field read back by name.
 */
#include <stddef.h>
#include <stdint.h>

#include "esxi/esxcli.h"
#include "lib/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct esxcli_result res = {0};
    struct perr err = {0};

    if (esxcli_parse_response((const char *)data, size, &res, &err) == 0) {
        for (size_t i = 0; i < res.nrows; i++)
            for (size_t j = 0; j < res.rows[i].nfields; j++)
                (void)esxcli_get(&res, i, res.rows[i].fields[j].name);
        (void)esxcli_get(&res, res.nrows, "Device");
    }
    esxcli_result_free(&res);
    return 0;
}
