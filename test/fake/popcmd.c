#include "test/fake/popcmd.h"

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test/fake/proc.h"

void
cmd_arg(struct cmd *c, const char *fmt, ...)
{
    char tmp[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    assert_true(c->argc + 1 < CMD_MAX_ARGV);
    c->argv[c->argc] = strdup(tmp);
    assert_non_null(c->argv[c->argc]);
    c->argc++;
    c->argv[c->argc] = NULL;
}

void
cmd_env(struct cmd *c, const char *key, const char *value)
{
    size_t kl = strlen(key);
    size_t n = kl + strlen(value) + 2;
    char *kv = malloc(n);

    assert_non_null(kv);
    snprintf(kv, n, "%s=%s", key, value);
    /* Replacing keeps one value per key: a child's getenv would see only the first. */
    for (size_t i = 0; i < c->envc; i++) {
        if (strncmp(c->envp[i], key, kl) == 0 && c->envp[i][kl] == '=') {
            free(c->envp[i]);
            c->envp[i] = kv;
            return;
        }
    }
    assert_true(c->envc + 1 < CMD_MAX_ENV);
    c->envp[c->envc++] = kv;
    c->envp[c->envc] = NULL;
}

void
cmd_set_flag(struct cmd *c, const char *name, const char *value)
{
    size_t n = strlen(name);

    for (size_t i = 1; i < c->argc; i++) {
        if (strncmp(c->argv[i], name, n) == 0 && c->argv[i][n] == '=') {
            free((void *)(uintptr_t)c->argv[i]);
            for (size_t j = i; j < c->argc; j++)
                c->argv[j] = c->argv[j + 1];
            c->argc--;
            break;
        }
    }
    cmd_arg(c, "%s=%s", name, value);
}

void
cmd_drop(struct cmd *c, const char *prefix)
{
    size_t k = 1;

    if (c->argc == 0)
        return;
    for (size_t i = 1; i < c->argc; i++) {
        if (strncmp(c->argv[i], prefix, strlen(prefix)) == 0)
            free((void *)(uintptr_t)c->argv[i]);
        else
            c->argv[k++] = c->argv[i];
    }
    c->argc = k;
    c->argv[k] = NULL;
}

void
cmd_free(struct cmd *c)
{
    /* argv holds strdup'd strings; const only so it can be handed to proc_run. */
    for (size_t i = 0; i < c->argc; i++)
        free((void *)(uintptr_t)c->argv[i]);
    for (size_t i = 0; i < c->envc; i++)
        free(c->envp[i]);
    memset(c, 0, sizeof(*c));
}

void
cmd_manual_start(struct cmd *c, const struct world *w, const char *owner_uid)
{
    memset(c, 0, sizeof(*c));
    cmd_arg(c, "%s", proc_pop_bin());
    cmd_arg(c, "--source-vm-id=%s", world_get(w, "WORLD_VC_VM_ID"));
    cmd_arg(c, "--source-vmdk=%s", world_get(w, "WORLD_VC_VM_VMDK"));
    cmd_arg(c, "--owner-uid=%s", owner_uid);
    cmd_arg(c, "--metrics-listen=");
    cmd_arg(c, "--output=json");
    cmd_arg(c, "--storage-ca-file=%s", world_get(w, "WORLD_ARRAY_CA"));
}

void
cmd_ontap_target(struct cmd *c, const struct world *w)
{
    cmd_arg(c, "--storage-vendor-product=ontap");
    cmd_arg(c, "--target-volume-handle=%s", world_get(w, "WORLD_ONTAP_VOLUME_HANDLE"));
    cmd_arg(c, "--target-volume-attribute=%s", world_get(w, "WORLD_ONTAP_ATTRS"));
    cmd_env(c, "STORAGE_HOSTNAME", world_get(w, "WORLD_ONTAP_HOSTNAME"));
    cmd_env(c, "STORAGE_USERNAME", world_get(w, "WORLD_ONTAP_USERNAME"));
    cmd_env(c, "STORAGE_PASSWORD", world_get(w, "WORLD_ONTAP_PASSWORD"));
}

void
cmd_pure_target(struct cmd *c, const struct world *w)
{
    cmd_arg(c, "--storage-vendor-product=pureFlashArray");
    cmd_arg(c, "--target-volume-handle=%s", world_get(w, "WORLD_PURE_VOLUME_HANDLE"));
    cmd_env(c, "STORAGE_HOSTNAME", world_get(w, "WORLD_PURE_HOSTNAME"));
    cmd_env(c, "STORAGE_TOKEN", world_get(w, "WORLD_PURE_TOKEN"));
    cmd_env(c, "PURE_CLUSTER_PREFIX", world_get(w, "WORLD_PURE_CLUSTER_PREFIX"));
}

void
cmd_vcenter_env(struct cmd *c, const struct world *w)
{
    cmd_env(c, "GOVMOMI_HOSTNAME", world_get(w, "GOVMOMI_HOSTNAME"));
    cmd_env(c, "GOVMOMI_USERNAME", world_get(w, "GOVMOMI_USERNAME"));
    cmd_env(c, "GOVMOMI_PASSWORD", world_get(w, "GOVMOMI_PASSWORD"));
    cmd_env(c, "GOVMOMI_INSECURE", "true");
    cmd_env(c, "PATH", "/usr/bin:/bin");
}

void
run_cmd(const struct cmd *c, struct outcome *o)
{
    memset(o, 0, sizeof(*o));
    assert_int_equal(
        proc_run(c->argv[0], c->argv, (const char *const *)c->envp, &o->out, &o->err, &o->status),
        0);
    o->result = json_loads(buf_cstr(&o->out), 0, NULL);
}

void
outcome_free(struct outcome *o)
{
    buf_free(&o->out);
    buf_free(&o->err);
    json_decref(o->result);
    memset(o, 0, sizeof(*o));
}

void
outcome_expect(const struct outcome *o, int status, const char *msg)
{
    if (o->status != status || (msg != NULL && strstr(buf_cstr(&o->err), msg) == NULL))
        fail_msg("exit %d (want %d), stderr:\n%s\nwant message: %s", o->status, status,
                 buf_cstr(&o->err), msg != NULL ? msg : "-");
}

pid_t
spawn_logged(const struct cmd *c, const char *log)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    /* posix_spawn's prototype predates const-correct argv; it does not write them. */
    assert_int_equal(
        posix_spawn(&pid, c->argv[0], &fa, NULL, (char *const *)(uintptr_t)c->argv, c->envp), 0);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

int
count_dir(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.' && strstr(de->d_name, needle) != NULL;
    closedir(d);
    return n;
}

void
expect_none(const char *dir, const char *needle)
{
    int n = count_dir(dir, needle);

    if (n != 0)
        fail_msg("%d entries '*%s*' left in %s", n, needle, dir);
}

void
expect_host_clean(const struct world *w)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s/luns", world_get(w, "WORLD_FABRIC"));
    expect_none(path, "naa.");
    snprintf(path, sizeof(path), "%s/tmp", world_get(w, "WORLD_ROOT"));
    expect_none(path, "vmkfstools-wrapper-");
    snprintf(path, sizeof(path), "%s", world_get(w, "WORLD_VC_VM_FLAT"));
    *strrchr(path, '/') = '\0';
    expect_none(path, "-rdmdisk-");
    snprintf(path, sizeof(path), "%s/vmfs/devices/disks", world_get(w, "WORLD_ROOT"));
    expect_none(path, "naa.");
}
