#include "esxi/vib_install.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "esxi/clone.h"
#include "esxi/esxcli.h"
#include "esxi/ssh.h"
#include "esxi/vib.h"
#include "lib/buf.h"
#include "lib/deadline.h"
#include "lib/log.h"

#define VI_COMP             "install-vib"
#define DEFAULT_COMMAND_MS  (300L * 1000)
#define DEFAULT_VERIFY_MS   (180L * 1000)
#define AR_MAGIC            "!<arch>\n"
#define AR_HEADER           60
#define COMMUNITY_SUPPORTED "CommunitySupported"

const char *
vib_host_outcome_str(enum vib_host_outcome o)
{
    switch (o) {
    case VIB_HOST_UP_TO_DATE:
        return "up to date";
    case VIB_HOST_NEWER_KEPT:
        return "newer kept";
    case VIB_HOST_INSTALLED:
        return "installed";
    case VIB_HOST_VERIFIED:
        return "installed, answering";
    case VIB_HOST_FAILED:
        break;
    }
    return "failed";
}

void
vib_install_result_clear(struct vib_install_result *r)
{
    free(r->before);
    free(r->after);
    memset(r, 0, sizeof(*r));
}

int
vib_file_version(const unsigned char *vib, size_t len, char **version, struct perr *err)
{
    const char *m = (const char *)vib;
    char size_field[11];
    char *end = NULL;
    unsigned long size;
    const char *body;
    const char *v;
    const char *ve;

    *version = NULL;
    if (len < sizeof(AR_MAGIC) - 1 + AR_HEADER || memcmp(m, AR_MAGIC, sizeof(AR_MAGIC) - 1) != 0 ||
        strncmp(m + 8, "descriptor.xml", 14) != 0)
        return perr_set(err, PERR_USAGE, "not a VIB: no ar archive starting with descriptor.xml");
    memcpy(size_field, m + 8 + 48, 10);
    size_field[10] = '\0';
    size = strtoul(size_field, &end, 10);
    if (end == size_field || size > len - (8 + AR_HEADER))
        return perr_set(err, PERR_USAGE, "not a VIB: bad descriptor.xml size");
    body = m + 8 + AR_HEADER;
    /* The element, not the <vib version="5.0"> attribute of the root. */
    v = memmem(body, size, "<version>", 9);
    ve = v != NULL ? memmem(v, size - (size_t)(v - body), "</version>", 10) : NULL;
    if (v == NULL || ve == NULL || ve - (v + 9) < 1 || ve - (v + 9) > 64)
        return perr_set(err, PERR_USAGE, "not a VIB: descriptor.xml has no <version>");
    *version = strndup(v + 9, (size_t)(ve - (v + 9)));
    return *version != NULL ? 0 : perr_set(err, PERR_NOMEM, "out of memory");
}

char *
vib_list_version(const char *out)
{
    const char *line = out != NULL ? out : "";

    while (*line != '\0') {
        size_t n = strcspn(line, "\n");
        char name[64];
        char ver[64];

        if (sscanf(line, "%63s %63s", name, ver) == 2 && strcmp(name, VIB_NAME) == 0)
            return strdup(ver);
        line += n;
        if (*line == '\n')
            line++;
    }
    return strdup("");
}

int
vib_plugin_version(struct vim *vim, const char *host_moref, char **version, struct perr *err)
{
    struct esxcli *e = NULL;
    struct wrapper_carrier c;
    struct perr tmp = {0};
    int rc = -1;

    *version = NULL;
    if (esxcli_new(vim, host_moref, &e, err) < 0)
        goto out;
    vib_carrier(e, &c);
    if (clone_wrapper_version(&c, version, &tmp) < 0) {
        log_debug(VI_COMP, "plugin does not answer", "host", host_moref, "error", tmp.msg, NULL);
        *version = strdup("");
        if (*version == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
    }
    rc = 0;
out:
    esxcli_free(e);
    return rc;
}

/* Runs command; a non-zero exit is PERR_REMOTE with what it printed. */
static int
run(struct esxi_ssh *s, const char *what, const char *command, const void *input, size_t len,
    long timeout_ms, char **out, struct perr *err)
{
    struct esxi_ssh_result r = {0};
    char so[300];
    char se[300];
    int rc = -1;

    if (out != NULL)
        *out = NULL;
    if (esxi_ssh_exec_input(s, command, input, len, timeout_ms, &r, err) < 0) {
        perr_prefix(err, "%s: ", what);
        goto out;
    }
    if (r.exit_status != 0) {
        str_excerpt(buf_cstr(&r.out), so, sizeof(so));
        str_excerpt(buf_cstr(&r.err), se, sizeof(se));
        perr_set(err, PERR_REMOTE, "%s: '%s' exited with status %d: %s%s%s", what, command,
                 r.exit_status, so, *so != '\0' && *se != '\0' ? " " : "", se);
        goto out;
    }
    if (out != NULL) {
        *out = strdup(buf_cstr(&r.out));
        if (*out == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
    }
    rc = 0;
out:
    esxi_ssh_result_clear(&r);
    return rc;
}

/* Secure boot makes ESXi refuse community VIBs even with -f: say so before
 * anything is removed.  A host without the check tool (older ESXi) passes. */
static int
check_host_accepts(struct esxi_ssh *s, long tmo, struct perr *err)
{
    struct esxi_ssh_result r = {0};
    char *level = NULL;
    char text[120];
    int rc = -1;

    if (esxi_ssh_exec(s, VIB_SECUREBOOT_CHECK, tmo, &r, err) < 0)
        goto out;
    str_excerpt(buf_cstr(&r.out), text, sizeof(text));
    if (r.exit_status == 0 && strncmp(text, "Enabled", 7) == 0) {
        perr_set(err, PERR_REMOTE,
                 "secure boot is enabled on the host, and ESXi refuses community-level VIBs "
                 "under secure boot: use the ssh clone method (ESXI_CLONE_METHOD=ssh) on this "
                 "host, or disable secure boot; nothing was changed");
        goto out;
    }
    if (run(s, "reading the acceptance level", "esxcli software acceptance get", NULL, 0, tmo,
            &level, err) < 0)
        goto out;
    str_excerpt(level, text, sizeof(text));
    if (strcmp(text, COMMUNITY_SUPPORTED) != 0) {
        perr_set(err, PERR_REMOTE,
                 "the host's acceptance level is '%s', above the VIB's community level: run "
                 "'esxcli software acceptance set --level=" COMMUNITY_SUPPORTED
                 "' on the host (or use the ssh clone method), then retry; nothing was changed",
                 text);
        goto out;
    }
    rc = 0;
out:
    esxi_ssh_result_clear(&r);
    free(level);
    return rc;
}

/* Polls the plugin through vCenter until it answers with want. */
static int
wait_plugin(const struct vib_install_opts *o, const char *want, char **after, struct perr *err)
{
    struct deadline d =
        deadline_in_ms(o->verify_timeout_ms > 0 ? o->verify_timeout_ms : DEFAULT_VERIFY_MS);
    struct backoff b;

    backoff_init(&b, 100, 2000, 2.0, 0.1, 0);
    for (;;) {
        free(*after);
        *after = NULL;
        if (vib_plugin_version(o->vim, o->host_moref, after, err) < 0)
            return -1;
        if (strcmp(*after, want) == 0)
            return 0;
        if (deadline_expired(&d))
            return perr_set(err, PERR_TIMEOUT,
                            "the esxcli vmkfstools plugin does not answer with version %s through "
                            "vCenter (it answers '%s') %ld s after the hostd restart",
                            want, **after != '\0' ? *after : "nothing",
                            (o->verify_timeout_ms > 0 ? o->verify_timeout_ms : DEFAULT_VERIFY_MS) /
                                1000);
        if (wait_ms(backoff_next_ms(&b), &d, err) < 0)
            return -1;
    }
}

static int
restart_and_verify(struct esxi_ssh *s, const struct vib_install_opts *o, long tmo,
                   struct vib_install_result *res, struct perr *err)
{
    log_info(VI_COMP, "restarting hostd", "host", esxi_ssh_target(s), NULL);
    if (run(s, "restarting hostd", VIB_HOSTD_RESTART, NULL, 0, tmo, NULL, err) < 0)
        return -1;
    res->restarted = true;
    if (o->vim == NULL || o->host_moref == NULL) {
        res->outcome = VIB_HOST_INSTALLED;
        return 0;
    }
    if (wait_plugin(o, o->vib_version, &res->after, err) < 0)
        return -1;
    res->outcome = VIB_HOST_VERIFIED;
    return 0;
}

static int
install(struct esxi_ssh *s, const struct vib_install_opts *o, long tmo,
        struct vib_install_result *res, struct perr *err)
{
    unsigned char rnd[6];
    char file[96];
    char cmd[256];
    char *list = NULL;
    char *now = NULL;
    bool uploaded = false;
    int rc = -1;

    if (check_host_accepts(s, tmo, err) < 0)
        goto out;
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        perr_set(err, PERR_INTERNAL, "no random bytes for a temporary file name");
        goto out;
    }
    /* A name of our own: a concurrent installer of another product keeps its file. */
    snprintf(file, sizeof(file), "/tmp/" VIB_NAME "-%02x%02x%02x%02x%02x%02x.vib", rnd[0], rnd[1],
             rnd[2], rnd[3], rnd[4], rnd[5]);
    snprintf(cmd, sizeof(cmd), "cat > %s", file);
    uploaded = true;
    if (run(s, "uploading the VIB", cmd, o->vib, o->vib_len, tmo, NULL, err) < 0)
        goto out;
    if (*res->before != '\0' &&
        run(s, "removing the older VIB", "esxcli software vib remove -n " VIB_NAME, NULL, 0, tmo,
            NULL, err) < 0)
        goto out;
    snprintf(cmd, sizeof(cmd), "esxcli software vib install -v %s -f", file);
    if (run(s, "installing the VIB", cmd, NULL, 0, tmo, NULL, err) < 0)
        goto out;
    if (run(s, "listing VIBs", "esxcli software vib list", NULL, 0, tmo, &list, err) < 0)
        goto out;
    now = vib_list_version(list);
    if (now == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    if (strcmp(now, o->vib_version) != 0) {
        perr_set(err, PERR_REMOTE,
                 "the install reported success but 'esxcli software vib list' shows " VIB_NAME
                 " at '%s', not %s",
                 now, o->vib_version);
        goto out;
    }
    log_info(VI_COMP, "VIB installed", "host", esxi_ssh_target(s), "version", now, "before",
             *res->before != '\0' ? res->before : "none", NULL);
    res->outcome = VIB_HOST_INSTALLED;
    if (o->restart_hostd && restart_and_verify(s, o, tmo, res, err) < 0)
        goto out;
    rc = 0;
out:
    if (uploaded) {
        struct perr tmp = {0};

        snprintf(cmd, sizeof(cmd), "rm -f %s", file);
        if (run(s, "removing the uploaded VIB", cmd, NULL, 0, tmo, NULL, &tmp) < 0)
            log_warn(VI_COMP, "cannot remove the uploaded VIB", "file", file, "error", tmp.msg,
                     NULL);
    }
    free(list);
    free(now);
    return rc;
}

int
vib_install_host(const struct vib_install_opts *o, struct vib_install_result *res, struct perr *err)
{
    struct esxi_ssh_opts so = {0};
    struct esxi_ssh *s = NULL;
    long tmo = o->command_timeout_ms > 0 ? o->command_timeout_ms : DEFAULT_COMMAND_MS;
    char *api = NULL;
    char *list = NULL;
    int cmp = 0;
    int rc = -1;

    memset(res, 0, sizeof(*res));
    if (o->vim != NULL && o->host_moref != NULL &&
        vib_plugin_version(o->vim, o->host_moref, &api, err) < 0)
        goto out;
    so.host = o->ssh_host;
    so.port = o->ssh_port;
    so.user = "root";
    so.private_key = o->private_key;
    so.private_key_len = o->private_key_len;
    so.password = o->password;
    so.known_hosts = o->known_hosts;
    so.connect_timeout_ms = o->connect_timeout_ms;
    so.command_timeout_ms = tmo;
    if (esxi_ssh_open(&so, &s, err) < 0)
        goto out;
    if (run(s, "listing VIBs", "esxcli software vib list", NULL, 0, tmo, &list, err) < 0)
        goto out;
    res->before = vib_list_version(list);
    if (res->before == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    if (*res->before != '\0' && version_compare(res->before, o->vib_version, &cmp) == 0 &&
        cmp >= 0) {
        bool answers = api == NULL || strcmp(api, res->before) == 0;

        if (answers) {
            res->outcome = cmp > 0 ? VIB_HOST_NEWER_KEPT : VIB_HOST_UP_TO_DATE;
            res->after = strdup(api != NULL ? api : "");
            if (res->after == NULL) {
                perr_set(err, PERR_NOMEM, "out of memory");
                goto out;
            }
            rc = 0;
            goto out;
        }
        if (!o->restart_hostd) {
            perr_set(err, PERR_REMOTE,
                     "VIB %s is installed but its esxcli plugin does not answer through vCenter: "
                     "hostd must be restarted ('" VIB_HOSTD_RESTART
                     "' on the host, or run again with --restart-hostd)",
                     res->before);
            goto out;
        }
        /* Restarting serves the installed one, which is at least ours. */
        if (restart_and_verify(s,
                               &(struct vib_install_opts){.vim = o->vim,
                                                          .host_moref = o->host_moref,
                                                          .verify_timeout_ms = o->verify_timeout_ms,
                                                          .vib_version = res->before},
                               tmo, res, err) < 0)
            goto out;
        rc = 0;
        goto out;
    }
    if (install(s, o, tmo, res, err) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        res->outcome = VIB_HOST_FAILED;
    esxi_ssh_close(s);
    free(api);
    free(list);
    return rc;
}
