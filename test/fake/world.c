#include "test/fake/world.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "esxi/vim.h"
#include "lib/buf.h"

/* Parses `export KEY='v'\''alue'` lines as the world writes them. */
static void
world_load_env(struct world *w)
{
    char path[300];
    char line[8192];
    FILE *f;

    snprintf(path, sizeof(path), "%s/env", w->dir);
    f = fopen(path, "r");
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL && w->n < 256) {
        char *p = line;
        char *eq;
        struct buf v = {0};
        struct perr err = {0};

        if (strncmp(p, "export ", 7) == 0)
            p += 7;
        eq = strchr(p, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        for (char *q = eq + 1; *q != '\0' && *q != '\n';) {
            if (*q == '\'') {
                char *end = strchr(q + 1, '\'');

                if (end == NULL)
                    break;
                buf_add(&v, q + 1, (size_t)(end - q - 1), &err);
                q = end + 1;
            } else if (*q == '\\' && q[1] != '\0') {
                buf_add(&v, q + 1, 1, &err);
                q += 2;
            } else {
                buf_add(&v, q, 1, &err);
                q++;
            }
        }
        w->keys[w->n] = strdup(p);
        w->vals[w->n] = buf_steal(&v);
        w->n++;
    }
    fclose(f);
}

int
world_start(struct world *w, const char *const extra_env[])
{
    struct buf cmd = {0};
    struct perr err = {0};
    int rc;

    memset(w, 0, sizeof(*w));
    snprintf(w->dir, sizeof(w->dir), "/tmp/pop-world-XXXXXX");
    if (mkdtemp(w->dir) == NULL)
        return -1;
    /* Most suites need no Kubernetes: skip the apiserver unless asked (WORLD_NO_KUBE=0). */
    buf_adds(&cmd, "env WORLD_NO_KUBE=1", &err);
    for (size_t i = 0; extra_env != NULL && extra_env[i] != NULL; i++) {
        buf_adds(&cmd, " ", &err);
        buf_add_shell(&cmd, extra_env[i], &err);
    }
    buf_addf(&cmd, &err, " test/sim/world start %s > %s/start.log 2>&1", w->dir, w->dir);
    rc = system(buf_cstr(&cmd));
    buf_free(&cmd);
    if (rc != 0) {
        /* The suite removes the directory when it ends: show the ends of
         * its logs now (start.log names the part that failed, whose own
         * log says why), or the cause is gone with them. */
        fprintf(stderr, "world: 'test/sim/world start' failed (status %d) in %s:\n", rc, w->dir);
        buf_addf(&cmd, &err, "tail -n 15 %s/*.log >&2", w->dir);
        if (!perr_failed(&err) && system(buf_cstr(&cmd)) != 0)
            fprintf(stderr, "world: cannot show the logs in %s\n", w->dir);
        buf_free(&cmd);
        return -1;
    }
    world_load_env(w);
    return 0;
}

int
world_start_chroot(struct world *w, const char *const extra_env[])
{
    if (geteuid() != 0) {
        printf("SKIP: the simulated ESXi runs the wrapper under chroot, which needs root\n");
        return -1;
    }
    return world_start(w, extra_env);
}

void
world_stop(struct world *w)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "test/sim/world stop %s >/dev/null 2>&1 && rm -rf %s", w->dir,
             w->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "world: stop of %s reported a problem\n", w->dir);
    world_env_clear(w);
}

void
world_env_clear(struct world *w)
{
    for (size_t i = 0; i < w->n; i++) {
        free(w->keys[i]);
        free(w->vals[i]);
    }
    w->n = 0;
}

void
world_reload_env(struct world *w)
{
    world_env_clear(w);
    world_load_env(w);
}

const char *
world_find(const struct world *w, const char *key)
{
    for (size_t i = 0; i < w->n; i++) {
        if (strcmp(w->keys[i], key) == 0)
            return w->vals[i];
    }
    return NULL;
}

const char *
world_get(const struct world *w, const char *key)
{
    const char *v = world_find(w, key);

    if (v != NULL)
        return v;
    fprintf(stderr, "world: no variable %s in %s/env\n", key, w->dir);
    abort();
}

int
world_sh(const struct world *w, const char *fmt, ...)
{
    struct buf cmd = {0};
    struct buf line = {0};
    struct perr err = {0};
    va_list ap;
    int rc;

    va_start(ap, fmt);
    buf_vaddf(&line, &err, fmt, ap);
    va_end(ap);
    buf_addf(&cmd, &err, "bash -c '. %s/env && ", w->dir);
    /* The line goes inside single quotes: close, escaped quote, reopen. */
    for (const char *p = buf_cstr(&line); *p != '\0'; p++) {
        if (*p == '\'')
            buf_adds(&cmd, "'\\''", &err);
        else
            buf_add(&cmd, p, 1, &err);
    }
    buf_adds(&cmd, "'", &err);
    rc = system(buf_cstr(&cmd));
    buf_free(&cmd);
    buf_free(&line);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

int
world_count_calls(const struct world *w, ...)
{
    char path[300];
    char line[65536];
    int count = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/calls.jsonl", w->dir);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        va_list ap;
        const char *s;
        int all = 1;

        va_start(ap, w);
        while ((s = va_arg(ap, const char *)) != NULL)
            all = all && strstr(line, s) != NULL;
        va_end(ap);
        count += all;
    }
    fclose(f);
    return count;
}

bool
world_same_file(const char *src, const char *dst)
{
    FILE *fa = fopen(src, "rb");
    FILE *fb = fopen(dst, "rb");
    bool same = fa != NULL && fb != NULL;
    size_t total = 0;

    /* Every byte of src must be at the start of dst (a LUN may be larger than the disk). */
    while (same) {
        char ba[65536];
        char bb[65536];
        size_t na = fread(ba, 1, sizeof(ba), fa);
        size_t nb = na > 0 ? fread(bb, 1, na, fb) : 0;

        if (na == 0)
            break;
        if (nb != na || memcmp(ba, bb, na) != 0)
            same = false;
        total += na;
    }
    if (fa != NULL)
        fclose(fa);
    if (fb != NULL)
        fclose(fb);
    return same && total > 0;
}

struct vim *
world_vim_open(const struct world *w)
{
    struct vim_opts o = {0};
    struct vim *v = NULL;
    struct perr err = {0};

    o.host = world_get(w, "GOVMOMI_HOSTNAME");
    o.user = world_get(w, "GOVMOMI_USERNAME");
    o.password = world_get(w, "GOVMOMI_PASSWORD");
    o.ca_file = world_get(w, "WORLD_VCENTER_CA");
    if (vim_open(&o, &v, &err) < 0)
        fprintf(stderr, "world: login to the simulated vCenter failed: %s\n", err.msg);
    return v;
}
