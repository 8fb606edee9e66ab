#include "cmd/install_vib.h"

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "esxi/vib_install.h"
#include "esxi/vim.h"
#include "esxi/vim_calls.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/strv.h"

#define IV_COMP     "install-vib"
#define MAX_VIB     (64L * 1024 * 1024)
#define MAX_KEYFILE (64L * 1024)

struct iv_config {
    char *vib_path;
    char *key_file;
    char *hosts;
    char *cluster;
    char *datacenter;
    char *known_hosts;
    char *vc_host;
    char *vc_user;
    char *vc_password;
    const char *cacert; /* borrowed from envp */
    const char *password;
    bool vc_insecure;
    bool restart_hostd;
    long ssh_timeout_s;
    long ssh_port;
    long parallel;
    long verify_timeout_s;
    enum log_level level;
};

struct iv_host {
    char *label; /* as given, or the inventory name */
    char *moref; /* NULL when vCenter does not know it */
    char *addr;
    long port;
    struct vib_install_result res;
    struct perr err;
};

struct iv_run {
    const struct iv_config *cfg;
    unsigned char *vib;
    size_t vib_len;
    char *vib_version;
    unsigned char *key;
    size_t key_len;
    struct iv_host *hosts;
    size_t n;
    size_t next;
    pthread_mutex_t lock;
};

int
install_vib_wanted(int argc, char *const argv[], int *skip)
{
    const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;

    base = base != NULL ? base + 1 : (argc > 0 ? argv[0] : "");
    *skip = 1;
    if (strcmp(base, "vib-installer") == 0)
        return 1;
    *skip = 2;
    return argc > 1 && strcmp(argv[1], "install-vib") == 0;
}

static const char *
env_of(const char *const envp[], const char *key)
{
    size_t n = strlen(key);

    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
        if (strncmp(envp[i], key, n) == 0 && envp[i][n] == '=')
            return envp[i] + n + 1;
    }
    return NULL;
}

static void
usage(FILE *f, const char *prog)
{
    fprintf(f,
            "Usage: %s [flags]\n"
            "Installs or upgrades the vmkfstools-wrapper VIB on ESXi hosts over SSH as root.\n\n"
            "  --vib-path PATH              the VIB (VIB_PATH; default " VIB_DEFAULT_PATH ")\n"
            "  --ssh-key-file FILE          root's private key (SSH_KEY_FILE); without it the\n"
            "                               password in ESXI_ROOT_PASSWORD is used\n"
            "  --esxi-hosts H[:PORT],...    the hosts (ESXI_HOSTS); default: --cluster's hosts,\n"
            "                               else every host vCenter knows (in --datacenter)\n"
            "  --cluster NAME               every host of this vCenter cluster\n"
            "  --datacenter NAME            limit the vCenter host list to this datacenter\n"
            "  --restart-hostd[=BOOL]       restart hostd so the plugin loads (RESTART_HOSTD;\n"
            "                               default true)\n"
            "  --max-parallel N             hosts at a time (MAX_PARALLEL; default 4)\n"
            "  --ssh-timeout-seconds N      SSH connect timeout (SSH_TIMEOUT_SECONDS; 30)\n"
            "  --ssh-port N                 SSH port of hosts given without one "
            "(ESXI_SSH_PORT; 22)\n"
            "  --verify-timeout-seconds N   wait for the plugin after the restart (180)\n"
            "  --esxi-ssh-known-hosts FILE  pin host keys (ESXI_SSH_KNOWN_HOSTS)\n"
            "  --vsphere-hostname H, --vsphere-username U, --vsphere-password P,\n"
            "  --vsphere-insecure[=BOOL]    vCenter (GOVMOMI_HOSTNAME, GOVMOMI_USERNAME,\n"
            "                               GOVMOMI_PASSWORD, GOVMOMI_INSECURE; cacert)\n"
            "  --log-level LEVEL            error, warn, info, debug (LOG_LEVEL; info)\n"
            "Exit status: 0 every host ready, 1 a host failed, 2 bad usage.\n",
            prog);
}

static int
set_str(char **slot, const char *v, struct perr *err)
{
    free(*slot);
    *slot = v != NULL ? strdup(v) : NULL;
    return v != NULL && *slot == NULL ? perr_set(err, PERR_NOMEM, "out of memory") : 0;
}

static int
parse_bool(const char *name, const char *v, bool *out, struct perr *err)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        *out = false;
    else
        return perr_set(err, PERR_USAGE, "%s: '%s' is not true or false", name, v);
    return 0;
}

static int
parse_long(const char *name, const char *v, long min, long max, long *out, struct perr *err)
{
    char *end = NULL;
    long x;

    errno = 0;
    x = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || x < min || x > max)
        return perr_set(err, PERR_USAGE, "%s: '%s' is not a number from %ld to %ld", name, v, min,
                        max);
    *out = x;
    return 0;
}

enum opt_kind { OPT_STR, OPT_BOOL, OPT_LONG };

struct opt {
    const char *flag;
    const char *env;
    enum opt_kind kind;
    size_t off;
    long min, max;
};

#define O(f) offsetof(struct iv_config, f)
static const struct opt opts[] = {
    {"vib-path", "VIB_PATH", OPT_STR, O(vib_path), 0, 0},
    {"ssh-key-file", "SSH_KEY_FILE", OPT_STR, O(key_file), 0, 0},
    {"esxi-hosts", "ESXI_HOSTS", OPT_STR, O(hosts), 0, 0},
    {"cluster", NULL, OPT_STR, O(cluster), 0, 0},
    {"datacenter", NULL, OPT_STR, O(datacenter), 0, 0},
    {"esxi-ssh-known-hosts", "ESXI_SSH_KNOWN_HOSTS", OPT_STR, O(known_hosts), 0, 0},
    {"vsphere-hostname", "GOVMOMI_HOSTNAME", OPT_STR, O(vc_host), 0, 0},
    {"vsphere-username", "GOVMOMI_USERNAME", OPT_STR, O(vc_user), 0, 0},
    {"vsphere-password", "GOVMOMI_PASSWORD", OPT_STR, O(vc_password), 0, 0},
    {"vsphere-insecure", "GOVMOMI_INSECURE", OPT_BOOL, O(vc_insecure), 0, 0},
    {"restart-hostd", "RESTART_HOSTD", OPT_BOOL, O(restart_hostd), 0, 0},
    {"ssh-timeout-seconds", "SSH_TIMEOUT_SECONDS", OPT_LONG, O(ssh_timeout_s), 1, 3600},
    {"ssh-port", "ESXI_SSH_PORT", OPT_LONG, O(ssh_port), 1, 65535},
    {"max-parallel", "MAX_PARALLEL", OPT_LONG, O(parallel), 1, 64},
    {"verify-timeout-seconds", NULL, OPT_LONG, O(verify_timeout_s), 1, 3600},
};
#undef O

static int
set_opt(struct iv_config *c, const struct opt *o, const char *v, const char *name, struct perr *err)
{
    void *slot = (char *)c + o->off;

    switch (o->kind) {
    case OPT_STR:
        return set_str(slot, v, err);
    case OPT_BOOL:
        return parse_bool(name, v, slot, err);
    case OPT_LONG:
        return parse_long(name, v, o->min, o->max, slot, err);
    }
    return 0;
}

/* 1 when --help was asked for. */
static int
parse(int argc, char *argv[], const char *const envp[], struct iv_config *c, struct perr *err)
{
    const char *v;
    char name[64];

    c->restart_hostd = true;
    c->ssh_timeout_s = 30;
    c->ssh_port = 22;
    c->parallel = 4;
    c->verify_timeout_s = 180;
    c->level = LOGL_INFO;
    if (set_str(&c->vib_path, VIB_DEFAULT_PATH, err) < 0)
        return -1;
    /* The environment first, then the flags over it. */
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        if (opts[i].env != NULL && (v = env_of(envp, opts[i].env)) != NULL && *v != '\0' &&
            set_opt(c, &opts[i], v, opts[i].env, err) < 0)
            return -1;
    }
    if ((v = env_of(envp, "LOG_LEVEL")) != NULL && *v != '\0' && log_level_parse(v, &c->level) < 0)
        return perr_set(err, PERR_USAGE, "LOG_LEVEL: '%s' is not a log level", v);
    c->cacert = env_of(envp, "cacert");
    c->password = env_of(envp, "ESXI_ROOT_PASSWORD");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *eq;
        const struct opt *o = NULL;
        size_t n;

        if (a[0] != '-')
            return perr_set(err, PERR_USAGE, "unexpected argument '%s'", a);
        a += a[1] == '-' ? 2 : 1;
        eq = strchr(a, '=');
        n = eq != NULL ? (size_t)(eq - a) : strlen(a);
        snprintf(name, sizeof(name), "--%.*s", (int)(n < 40 ? n : 40), a);
        if ((n == 4 && strncmp(a, "help", 4) == 0) || (n == 1 && a[0] == 'h'))
            return 1;
        if (n == 9 && strncmp(a, "log-level", 9) == 0) {
            v = eq != NULL ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (v == NULL || log_level_parse(v, &c->level) < 0)
                return perr_set(err, PERR_USAGE, "--log-level: not a log level");
            continue;
        }
        for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
            if (strlen(opts[k].flag) == n && strncmp(opts[k].flag, a, n) == 0)
                o = &opts[k];
        }
        if (o == NULL)
            return perr_set(err, PERR_USAGE, "unknown flag '%s'", name);
        if (eq != NULL)
            v = eq + 1;
        else if (o->kind == OPT_BOOL)
            v = "true";
        else if (i + 1 < argc)
            v = argv[++i];
        else
            return perr_set(err, PERR_USAGE, "%s needs a value", name);
        if (set_opt(c, o, v, name, err) < 0)
            return -1;
    }
    if (c->key_file == NULL && (c->password == NULL || *c->password == '\0'))
        return perr_set(err, PERR_USAGE,
                        "no root credential: give --ssh-key-file (SSH_KEY_FILE) or set "
                        "ESXI_ROOT_PASSWORD");
    if (c->hosts == NULL && (c->vc_host == NULL || c->vc_user == NULL || c->vc_password == NULL))
        return perr_set(err, PERR_USAGE,
                        "no hosts: give --esxi-hosts (ESXI_HOSTS), or vCenter's address and "
                        "credentials (--vsphere-hostname, --vsphere-username, "
                        "--vsphere-password) to install on its hosts");
    return 0;
}

static void
config_clear(struct iv_config *c)
{
    free(c->vib_path);
    free(c->key_file);
    free(c->hosts);
    free(c->cluster);
    free(c->datacenter);
    free(c->known_hosts);
    free(c->vc_host);
    free(c->vc_user);
    str_free_secret(c->vc_password);
}

static int
read_file(const char *path, long max, unsigned char **out, size_t *len, struct perr *err)
{
    FILE *f = NULL;
    struct buf b = {0};
    char chunk[65536];
    size_t n;
    int rc = -1;

    *out = NULL;
    *len = 0;
    f = fopen(path, "rb");
    if (f == NULL) {
        perr_set(err, PERR_USAGE, "cannot read '%s': %s", path, strerror(errno));
        goto out;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if ((long)(b.len + n) > max) {
            perr_set(err, PERR_USAGE, "'%s' is larger than %ld bytes", path, max);
            goto out;
        }
        if (buf_add(&b, chunk, n, err) < 0)
            goto out;
    }
    if (ferror(f)) {
        perr_set(err, PERR_USAGE, "cannot read '%s'", path);
        goto out;
    }
    *len = b.len;
    *out = (unsigned char *)buf_steal(&b);
    if (*out == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    buf_free_secret(&b);
    return rc;
}

static int
add_host(struct iv_run *r, const char *label, const char *moref, const char *addr, long port,
         struct perr *err)
{
    struct iv_host *h = realloc(r->hosts, (r->n + 1) * sizeof(*h));

    if (h == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    r->hosts = h;
    h = &r->hosts[r->n];
    memset(h, 0, sizeof(*h));
    h->port = port;
    h->label = strdup(label);
    h->moref = moref != NULL ? strdup(moref) : NULL;
    h->addr = strdup(addr);
    r->n++;
    if (h->label == NULL || h->addr == NULL || (moref != NULL && h->moref == NULL))
        return perr_set(err, PERR_NOMEM, "out of memory");
    return 0;
}

static int
open_vc(const struct iv_config *c, struct vim **v, struct perr *err)
{
    struct vim_opts o = {0};

    o.host = c->vc_host;
    o.user = c->vc_user;
    o.password = c->vc_password;
    o.insecure = c->vc_insecure;
    o.ca_pem = c->cacert != NULL && *c->cacert != '\0' ? c->cacert : NULL;
    return vim_open(&o, v, err);
}

/* A vCenter host by MoRef: its name and management IP. */
static int
add_known_host(struct iv_run *r, struct vim *v, const char *moref, const char *name, long port,
               struct perr *err)
{
    char *ip = NULL;
    int rc;

    if (vim_host_mgmt_ip(v, moref, &ip, err) < 0) {
        perr_prefix(err, "host '%s': ", name);
        return -1;
    }
    rc = add_host(r, name, moref, ip, port, err);
    free(ip);
    return rc;
}

static int
resolve_hosts(struct iv_run *r, struct vim *v, struct perr *err)
{
    const struct iv_config *c = r->cfg;
    struct strv refs = {0};
    struct strv names = {0};
    char *list = NULL;
    int rc = -1;

    if (c->hosts != NULL) {
        char *save = NULL;

        list = strdup(c->hosts);
        if (list == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
        for (char *e = strtok_r(list, ",", &save); e != NULL; e = strtok_r(NULL, ",", &save)) {
            char *colon = strrchr(e, ':');
            char *moref = NULL;
            long port = c->ssh_port;
            struct perr tmp = {0};

            while (*e == ' ')
                e++;
            if (*e == '\0')
                continue;
            /* host:port, unless it is an IPv6 address (more than one ':'). */
            if (colon != NULL && strchr(e, ':') == colon) {
                *colon = '\0';
                if (parse_long("--esxi-hosts port", colon + 1, 1, 65535, &port, err) < 0)
                    goto out;
            }
            if (v != NULL && vim_find_host(v, e, &moref, &tmp) == 0) {
                rc = add_known_host(r, v, moref, e, port, err);
                free(moref);
                if (rc < 0)
                    goto out;
                rc = -1;
                continue;
            }
            if (v != NULL)
                log_warn(IV_COMP, "host not in vCenter's inventory; the plugin is not verified",
                         "host", e, NULL);
            if (add_host(r, e, NULL, e, port, err) < 0)
                goto out;
        }
    } else if (c->cluster != NULL) {
        if (vim_cluster_hosts(v, c->cluster, &refs, err) < 0) {
            perr_prefix(err, "cluster '%s': ", c->cluster);
            goto out;
        }
        for (size_t i = 0; i < refs.n; i++) {
            if (add_known_host(r, v, refs.v[i], refs.v[i], c->ssh_port, err) < 0)
                goto out;
        }
    } else {
        if (vim_list_objects(v, "HostSystem", &refs, &names, err) < 0)
            goto out;
        for (size_t i = 0; i < refs.n; i++) {
            if (c->datacenter != NULL) {
                char *dc_ref = NULL;
                char *dc_name = NULL;
                bool in = vim_host_datacenter(v, refs.v[i], &dc_ref, &dc_name, err) == 0 &&
                          strcmp(dc_name, c->datacenter) == 0;

                free(dc_ref);
                free(dc_name);
                if (perr_failed(err))
                    goto out;
                if (!in)
                    continue;
            }
            if (add_known_host(r, v, refs.v[i], names.v[i], c->ssh_port, err) < 0)
                goto out;
        }
    }
    if (r->n == 0) {
        perr_set(err, PERR_USAGE, "no ESXi hosts to install on");
        goto out;
    }
    rc = 0;
out:
    free(list);
    strv_free(&refs);
    strv_free(&names);
    return rc;
}

static void *
worker(void *arg)
{
    struct iv_run *r = arg;
    const struct iv_config *c = r->cfg;
    struct vim *v = NULL;
    struct perr verr = {0};
    bool vc = c->vc_host != NULL && c->vc_user != NULL && c->vc_password != NULL;

    /* One vCenter session per worker: a session is used by one thread at a time. */
    if (vc && open_vc(c, &v, &verr) < 0)
        log_warn(IV_COMP, "no vCenter session for this worker", "error", verr.msg, NULL);
    for (;;) {
        struct vib_install_opts o = {0};
        struct iv_host *h;

        pthread_mutex_lock(&r->lock);
        h = r->next < r->n ? &r->hosts[r->next++] : NULL;
        pthread_mutex_unlock(&r->lock);
        if (h == NULL)
            break;
        if (vc && v == NULL) {
            h->err = verr;
            continue;
        }
        o.vim = h->moref != NULL ? v : NULL;
        o.host_moref = h->moref;
        o.ssh_host = h->addr;
        o.ssh_port = h->port;
        o.private_key = r->key;
        o.private_key_len = r->key_len;
        o.password = r->key == NULL ? c->password : NULL;
        o.known_hosts = c->known_hosts;
        o.connect_timeout_ms = c->ssh_timeout_s * 1000;
        o.verify_timeout_ms = c->verify_timeout_s * 1000;
        o.vib = r->vib;
        o.vib_len = r->vib_len;
        o.vib_version = r->vib_version;
        o.restart_hostd = c->restart_hostd;
        log_info(IV_COMP, "host started", "host", h->label, NULL);
        if (vib_install_host(&o, &h->res, &h->err) < 0)
            log_error(IV_COMP, "host failed", "host", h->label, "error", h->err.msg, NULL);
        else
            log_info(IV_COMP, "host done", "host", h->label, "result",
                     vib_host_outcome_str(h->res.outcome), NULL);
    }
    vim_close(v);
    return NULL;
}

static int
run_all(struct iv_run *r)
{
    size_t nt = (size_t)r->cfg->parallel < r->n ? (size_t)r->cfg->parallel : r->n;
    pthread_t *t = calloc(nt, sizeof(*t));
    size_t started = 0;

    if (t == NULL)
        return -1;
    for (; started < nt; started++) {
        if (pthread_create(&t[started], NULL, worker, r) != 0)
            break;
    }
    if (started == 0)
        worker(r);
    for (size_t i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
    return 0;
}

static size_t
summary(const struct iv_run *r, FILE *f)
{
    size_t failed = 0;

    for (size_t i = 0; i < r->n; i++) {
        const struct iv_host *h = &r->hosts[i];
        bool bad = perr_failed(&h->err);
        const char *before =
            h->res.before != NULL && *h->res.before != '\0' ? h->res.before : "none";
        const char *now = h->res.after != NULL && *h->res.after != '\0' ? h->res.after : "unknown";

        if (!bad && h->res.outcome == VIB_HOST_INSTALLED && h->res.after == NULL)
            now = r->vib_version;
        failed += bad;
        fprintf(f, "%s: %s (before %s, now %s)%s%s\n", h->label,
                bad ? "failed" : vib_host_outcome_str(h->res.outcome), before,
                bad ? "unknown" : now, bad ? ": " : "", bad ? h->err.msg : "");
    }
    fprintf(f, "install-vib: %zu host(s) ready, %zu failed\n", r->n - failed, failed);
    fflush(f);
    return failed;
}

int
install_vib_main(int argc, char *argv[], const char *const envp[])
{
    struct iv_config cfg = {0};
    struct iv_run r = {0};
    struct vim *v = NULL;
    struct perr err = {0};
    const char *prog = argc > 0 ? argv[0] : "install-vib";
    int skip = 1;
    int status = 2;
    int p;

    install_vib_wanted(argc, argv, &skip);
    pthread_mutex_init(&r.lock, NULL);
    r.cfg = &cfg;
    p = parse(argc - skip, argv + skip, envp, &cfg, &err);
    if (p == 1) {
        usage(stdout, prog);
        status = 0;
        goto out;
    }
    if (p < 0)
        goto usage_out;
    log_init(cfg.level, LOG_FORMAT_TEXT, NULL);
    log_add_secret_encodings(cfg.vc_user != NULL ? cfg.vc_user : "", cfg.vc_password);
    if (cfg.password != NULL)
        log_add_secret(cfg.password);
    if (read_file(cfg.vib_path, MAX_VIB, &r.vib, &r.vib_len, &err) < 0 ||
        vib_file_version(r.vib, r.vib_len, &r.vib_version, &err) < 0) {
        perr_prefix(&err, "--vib-path: ");
        goto usage_out;
    }
    if (cfg.key_file != NULL &&
        read_file(cfg.key_file, MAX_KEYFILE, &r.key, &r.key_len, &err) < 0) {
        perr_prefix(&err, "--ssh-key-file: ");
        goto usage_out;
    }
    status = 1;
    if (cfg.vc_host != NULL && cfg.vc_user != NULL && cfg.vc_password != NULL &&
        open_vc(&cfg, &v, &err) < 0) {
        fprintf(stderr, "%s: vCenter: %s\n", prog, err.msg);
        goto out;
    }
    if (resolve_hosts(&r, v, &err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        status = err.code == PERR_USAGE ? 2 : 1;
        goto out;
    }
    /* Workers open their own sessions. */
    vim_close(v);
    v = NULL;
    log_info(IV_COMP, "installing", "vib", cfg.vib_path, "version", r.vib_version, NULL);
    if (run_all(&r) < 0) {
        fprintf(stderr, "%s: out of memory\n", prog);
        goto out;
    }
    status = summary(&r, stdout) > 0 ? 1 : 0;
    goto out;
usage_out:
    fprintf(stderr, "%s: %s\n", prog, err.msg);
    fprintf(stderr, "Try '%s --help' for more information.\n", prog);
    status = 2;
out:
    vim_close(v);
    for (size_t i = 0; i < r.n; i++) {
        free(r.hosts[i].label);
        free(r.hosts[i].moref);
        free(r.hosts[i].addr);
        vib_install_result_clear(&r.hosts[i].res);
    }
    free(r.hosts);
    free(r.vib);
    free(r.vib_version);
    if (r.key != NULL) {
        struct buf kb = {(char *)r.key, r.key_len, r.key_len, 0};

        buf_free_secret(&kb);
    }
    pthread_mutex_destroy(&r.lock);
    config_clear(&cfg);
    log_reset();
    return status;
}
