/*
 * esxcli over the vSphere API (the way `esxcli` reaches a host through vCenter).
 *
 * One struct esxcli per ESXi host.  It resolves the host's
 * ReflectManagedMethodExecuter once, fetches each namespace's command metadata
 * (vim.CLIInfo.FetchCLIInfo) once and caches it for the run, so every command
 * after the first of its namespace costs one ExecuteSoap round trip.
 *
 * Commands are given as argv, exactly as on the ESXi shell:
 *   {"storage", "core", "device", "list", "-d", "naa.600a…", NULL}
 * The words before the first "-" token are namespace + command; the rest are
 * option/value pairs matched against the metadata's aliases (every option
 * takes a value, as with the Go populator: "-a", "1").  Values are XML-escaped
 * twice over the wire as ESXi expects (inner element, then the SOAP string).
 *
 * Results are rows of fields (one row per DataObject of an ArrayOfDataObject,
 * one row for a structure, one field "value" for a scalar).  A CLI fault is
 * PERR_REMOTE with the fault message; the "namespace not found" fault after a
 * VIB install says to restart hostd on that host.
 */
#ifndef POP_ESXCLI_H
#define POP_ESXCLI_H

#include <stddef.h>

#include "esxi/vim.h"
#include "lib/err.h"

struct esxcli_field {
    char *name;
    char *value; /* repeated elements are joined with "," */
};

struct esxcli_row {
    struct esxcli_field *fields;
    size_t nfields;
};

struct esxcli_result {
    struct esxcli_row *rows;
    size_t nrows;
};

struct esxcli;

/* host_moref: HostSystem value ("host-36").  v is borrowed and must outlive *out. */
int esxcli_new(struct vim *v, const char *host_moref, struct esxcli **out, struct perr *err);
void esxcli_free(struct esxcli *e);

/* Runs one command; *res is filled (free with esxcli_result_free). */
int esxcli_run(struct esxcli *e, const char *const argv[], struct esxcli_result *res,
               struct perr *err);
void esxcli_result_free(struct esxcli_result *res);

/* The value of field name in row i, or NULL. */
const char *esxcli_get(const struct esxcli_result *res, size_t i, const char *name);

/* Parses the inner response document of ExecuteSoap (exposed for tests). */
int esxcli_parse_response(const char *xml, size_t len, struct esxcli_result *res, struct perr *err);

/* How many FetchCLIInfo calls were made (for tests and the bench). */
unsigned esxcli_info_fetches(const struct esxcli *e);

#endif
