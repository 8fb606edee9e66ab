#include "esxi/vib.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/buf.h"
#include "lib/log.h"

#define VIB_COMP "vib"

int
vib_parse_status(const char *s, int *status, struct perr *err)
{
    char *end = NULL;
    long v;

    *status = -1;
    errno = 0;
    v = s != NULL ? strtol(s, &end, 10) : 0;
    if (end != NULL && end != s)
        end += strspn(end, " \t\r\n");
    /* Anything but a whole number is a reply we do not understand, never a
     * success: a plugin that printed "ok" or "" has not said the copy worked. */
    if (s == NULL || end == s || *end != '\0' || errno != 0 || v < INT_MIN || v > INT_MAX)
        return perr_set(err, PERR_PROTOCOL, "status '%s' is not a number", s != NULL ? s : "");
    *status = (int)v;
    return 0;
}

static int
vib_call(void *impl, const char *const args[], struct wrapper_reply *out, struct perr *err)
{
    struct esxcli *e = impl;
    struct esxcli_result res = {0};
    struct buf msg = {0};
    const char *argv[8] = {"vmkfstools", NULL};
    const char *status = NULL;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (strcmp(args[0], "--clone") == 0 && args[1] != NULL && args[2] != NULL && args[3] != NULL &&
        args[4] != NULL) {
        argv[1] = "clone";
        argv[2] = "-s";
        argv[3] = args[2];
        argv[4] = "-t";
        argv[5] = args[4];
    } else if (strcmp(args[0], "--task-find") == 0 && args[1] != NULL && args[2] != NULL &&
               args[3] != NULL && args[4] != NULL) {
        /* Same order as --clone: {"--task-find", "-s", src, "-t", dst}. */
        argv[1] = "taskFind";
        argv[2] = "-t";
        argv[3] = args[4];
        argv[4] = "-s";
        argv[5] = args[2];
    } else if ((strcmp(args[0], "--task-get") == 0 || strcmp(args[0], "--task-clean") == 0) &&
               args[1] != NULL && args[2] != NULL) {
        argv[1] = strcmp(args[0], "--task-get") == 0 ? "taskGet" : "taskClean";
        argv[2] = "-i";
        argv[3] = args[2];
    } else if (strcmp(args[0], "--version") == 0) {
        argv[1] = "version";
    } else {
        perr_set(err, PERR_INTERNAL, "vib: no esxcli command for wrapper operation '%s'", args[0]);
        goto out;
    }
    if (esxcli_run(e, argv, &res, err) < 0)
        goto out;
    /* One row normally; the message of every row is joined, as ESXi may split it. */
    for (size_t i = 0; i < res.nrows; i++) {
        const char *m = esxcli_get(&res, i, "message");
        const char *s = esxcli_get(&res, i, "status");

        if (s != NULL && (status == NULL || strcmp(s, "0") != 0))
            status = s;
        if (m != NULL && buf_adds(&msg, m, err) < 0)
            goto out;
    }
    if (status == NULL) {
        perr_set(err, PERR_PROTOCOL, "esxcli vmkfstools %s: reply has no status", argv[1]);
        goto out;
    }
    if (vib_parse_status(status, &out->status, err) < 0) {
        perr_prefix(err, "esxcli vmkfstools %s: ", argv[1]);
        goto out;
    }
    out->message = buf_steal(&msg);
    if (out->message == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    buf_free(&msg);
    esxcli_result_free(&res);
    return rc;
}

void
vib_carrier(struct esxcli *e, struct wrapper_carrier *out)
{
    out->name = "vib";
    out->call = vib_call;
    out->impl = e;
}

int
version_compare(const char *a, const char *b, int *result)
{
    const char *p = a;
    const char *q = b;

    *result = 0;
    for (int part = 0; part < 8; part++) {
        char *end = NULL;
        long x = 0;
        long y = 0;

        if (*p != '\0') {
            if (*p < '0' || *p > '9')
                return -1;
            x = strtol(p, &end, 10);
            p = end;
        }
        if (*q != '\0') {
            if (*q < '0' || *q > '9')
                return -1;
            y = strtol(q, &end, 10);
            q = end;
        }
        if (x != y) {
            *result = x < y ? -1 : 1;
            return 0;
        }
        if (*p == '.')
            p++;
        else if (*p != '\0')
            return -1;
        if (*q == '.')
            q++;
        else if (*q != '\0')
            return -1;
        if (*p == '\0' && *q == '\0')
            return 0;
    }
    return 0;
}

int
vib_check_version(struct esxcli *e, const char *required, char **installed, struct perr *err)
{
    struct wrapper_carrier c;
    struct perr tmp = {0};
    int cmp = 0;

    *installed = NULL;
    vib_carrier(e, &c);
    if (clone_wrapper_version(&c, installed, &tmp) < 0) {
        log_warn(VIB_COMP, "cannot read the vmkfstools-wrapper VIB version", "error", tmp.msg,
                 "hint",
                 "install the VIB from this image on the host (esxcli software vib install -v "
                 "<vib> -f) and restart hostd",
                 NULL);
        *installed = strdup("");
        return *installed != NULL ? 0 : perr_set(err, PERR_NOMEM, "out of memory");
    }
    if (version_compare(*installed, required, &cmp) < 0)
        log_warn(VIB_COMP, "unparsable VIB version", "installed", *installed, "required", required,
                 NULL);
    else if (cmp < 0)
        log_warn(VIB_COMP, "the installed VIB is older than this populator's", "installed",
                 *installed, "required", required, "hint",
                 "reinstall the VIB shipped with this image", NULL);
    else
        log_debug(VIB_COMP, "VIB version", "installed", *installed, NULL);
    return 0;
}

static int
run_cmd(struct esxcli *e, const char *const argv[], struct perr *err)
{
    struct esxcli_result res = {0};
    int rc = esxcli_run(e, argv, &res, err);

    esxcli_result_free(&res);
    return rc;
}

int
esxi_device_status(struct esxcli *e, const char *naa, char **status, struct perr *err)
{
    const char *argv[] = {"storage", "core", "device", "list", "-d", naa, NULL};
    struct esxcli_result res = {0};
    const char *s;
    int rc = -1;

    *status = NULL;
    if (esxcli_run(e, argv, &res, err) < 0)
        goto out;
    s = esxcli_get(&res, 0, "Status");
    if (s == NULL) {
        perr_set(err, PERR_NOT_FOUND, "device '%s' is not visible on the host", naa);
        goto out;
    }
    *status = strdup(s);
    if (*status == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    esxcli_result_free(&res);
    return rc;
}

int
esxi_rescan_add(struct esxcli *e, struct perr *err)
{
    static const char *const argv[] = {"storage", "core", "adapter", "rescan", "-t",
                                       "add",     "-a",   "1",       NULL};

    return run_cmd(e, argv, err);
}

int
esxi_rescan_delete(struct esxcli *e, const char *adapter, struct perr *err)
{
    const char *argv[] = {"storage", "core", "adapter", "rescan", "-t",
                          "delete",  "-A",   adapter,   NULL};

    return run_cmd(e, argv, err);
}

int
esxi_device_off(struct esxcli *e, const char *naa, struct perr *err)
{
    const char *argv[] = {"storage", "core", "device", "set", "--state", "off", "-d", naa, NULL};

    return run_cmd(e, argv, err);
}

int
esxi_detached_remove(struct esxcli *e, const char *naa, struct perr *err)
{
    const char *argv[] = {"storage", "core", "device", "detached", "remove", "-d", naa, NULL};

    return run_cmd(e, argv, err);
}
