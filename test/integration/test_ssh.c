/*
 * The SSH clone method against the simulated world plus a real OpenSSH
 * server (test/sim/ssh/start-sshd): sshd logs root in with the Go
 * populator's restricted key line and runs the wrapper with BusyBox sh inside
 * the ESXi-like tree.  Checked here: the probe, refused keys and the
 * instructions they produce, host key pinning, the atomic wrapper upload and
 * when it happens, clones byte for byte (plain, failing, odd names, the
 * improved key line for odd datastore names), injection attempts, the
 * per-command deadline, secrets in logs, and SSH against VIB.
 *
 * Needs root (sshd's ChrootDirectory and a root login); skips loudly
 * otherwise, or when sshd cannot start.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "esxi/clone.h"
#include "esxi/esxcli.h"
#include "esxi/ssh.h"
#include "esxi/ssh_carrier.h"
#include "esxi/vib.h"
#include "esxi/vim.h"
#include "esxi/vim_calls.h"
#include "esxi/wrapper.h"
#include "lib/deadline.h"
#include "lib/log.h"
#include "test/fake/world.h"

#define STALL_MS 60000

struct keys {
    unsigned char *priv;
    size_t priv_len;
    char *pub;
    unsigned char *wrong;
    size_t wrong_len;
};

static struct world plain;
static struct world odd;
static bool odd_started;
static struct keys plain_keys;
static struct keys odd_keys;

/* ---------------------------------------------------------------- helpers */

static unsigned char *
b64_decode(const char *in, size_t *len)
{
    size_t n = strlen(in);
    unsigned char *out = calloc(1, n / 4 * 3 + 4);
    int got;

    assert_non_null(out);
    got = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    assert_true(got >= 0);
    while (n > 0 && in[n - 1] == '=') {
        n--;
        got--;
    }
    *len = (size_t)got;
    out[*len] = '\0';
    return out;
}

static void
keys_load(const struct world *w, struct keys *k)
{
    size_t n = 0;

    k->priv = b64_decode(world_get(w, "SSH_PRIVATE_KEY"), &k->priv_len);
    k->pub = (char *)b64_decode(world_get(w, "SSH_PUBLIC_KEY"), &n);
    k->pub[strcspn(k->pub, "\r\n")] = '\0';
    k->wrong = b64_decode(world_get(w, "WORLD_SSH_WRONG_KEY"), &k->wrong_len);
}

static void
keys_free(struct keys *k)
{
    free(k->priv);
    free(k->pub);
    free(k->wrong);
    memset(k, 0, sizeof(*k));
}

static bool
world_has(const struct world *w, const char *key)
{
    for (size_t i = 0; i < w->n; i++) {
        if (strcmp(w->keys[i], key) == 0)
            return true;
    }
    return false;
}

/* Starts the simulated ESXi shell, unless the world already has it as a piece. */
static int
sshd_start(struct world *w)
{
    char cmd[1024];

    if (world_has(w, "ESXI_SSH_PORT"))
        return 0;
    snprintf(cmd, sizeof(cmd), "test/sim/ssh/start-sshd %s > %s/sshd-start.log 2>&1", w->dir,
             w->dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "SKIP-REASON: test/sim/ssh/start-sshd failed; see %s/sshd-start.log\n",
                w->dir);
        return -1;
    }
    world_reload_env(w);
    return 0;
}

static void
sshd_stop(const struct world *w)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "test/sim/ssh/stop-sshd %s", w->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "stop-sshd %s reported a problem\n", w->dir);
}

/* A vCenter session of the world; fails the test when login fails. */
static struct vim *
open_world(const struct world *w)
{
    struct vim *v = world_vim_open(w);

    assert_non_null(v);
    return v;
}

static void
carrier_opts(const struct world *w, const struct keys *k, struct vim *v, struct ssh_carrier_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->vim = v;
    o->host = world_get(w, "WORLD_VC_VM_HOST");
    o->datastore = world_get(w, "WORLD_VC_DS_NAME");
    o->port = strtol(world_get(w, "ESXI_SSH_PORT"), NULL, 10);
    o->private_key = k->priv;
    o->private_key_len = k->priv_len;
    o->public_key = k->pub;
    o->connect_timeout_ms = 10000;
    o->command_timeout_ms = 30000;
}

static void
ssh_opts(const struct world *w, const struct keys *k, struct esxi_ssh_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->port = strtol(world_get(w, "ESXI_SSH_PORT"), NULL, 10);
    o->private_key = k->priv;
    o->private_key_len = k->priv_len;
    o->connect_timeout_ms = 10000;
    o->command_timeout_ms = 30000;
}

/* The whole content of a file (NUL-terminated), or NULL. */
static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    size_t n = 0;
    size_t alloc = 0;

    if (f == NULL)
        return NULL;
    for (;;) {
        size_t got;

        if (n + 65536 + 1 > alloc) {
            alloc = (n + 65536 + 1) * 2;
            data = realloc(data, alloc);
            assert_non_null(data);
        }
        got = fread(data + n, 1, 65536, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    data[n] = '\0';
    if (len != NULL)
        *len = n;
    return data;
}

static int
count_entries(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL)
        n += strstr(de->d_name, needle) != NULL;
    closedir(d);
    return n;
}

static int
calls(const struct world *w, const char *call)
{
    char needle[128];

    snprintf(needle, sizeof(needle), "\"call\":\"%s\"", call);
    return world_count_calls(w, needle, NULL);
}

static void
ds_path(const struct world *w, const char *ds, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/vmfs/volumes/%s/%s", world_get(w, "WORLD_ROOT"), ds, name);
}

/* `ssh-keygen -l -E sha256` of a public key file: "SHA256:…". */
static void
keygen_fingerprint(const char *pubfile, char *out, size_t size)
{
    char cmd[1024];
    char line[512] = "";
    FILE *p;
    char *fp;

    snprintf(cmd, sizeof(cmd), "ssh-keygen -l -E sha256 -f '%s'", pubfile);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(line, sizeof(line), p));
    pclose(p);
    fp = strstr(line, "SHA256:");
    assert_non_null(fp);
    fp[strcspn(fp, " \n")] = '\0';
    snprintf(out, size, "%s", fp);
}

static void
set_authorized_keys(const struct world *w, const char *line)
{
    FILE *f = fopen(world_get(w, "WORLD_SSH_AUTHORIZED_KEYS"), "w");

    assert_non_null(f);
    fprintf(f, "%s\n", line);
    assert_int_equal(fclose(f), 0);
}

static void
restore_authorized_keys(const struct world *w)
{
    assert_int_equal(world_sh(w, "cp -f \"$WORLD_SSH_DIR/authorized_keys.go\" "
                                 "\"$WORLD_SSH_AUTHORIZED_KEYS\""),
                     0);
}

/* Maps a LUN backed by a fresh file to the host's iSCSI initiator and rescans. */
static void
map_and_rescan(const struct world *w, struct vim *v, const char *naa, const char *vol)
{
    struct esxcli *e = NULL;
    struct perr err = {0};
    char *status = NULL;

    assert_int_equal(world_sh(w,
                              "mkdir -p \"$WORLD_ROOT/arrays/test\" && truncate -s 16M "
                              "\"$WORLD_ROOT/arrays/test/%s\" && test/sim/fabric-map %s "
                              "/arrays/test/%s \"$WORLD_VC_HOST_IQN\"",
                              vol, naa, vol),
                     0);
    assert_int_equal(esxcli_new(v, world_get(w, "WORLD_VC_VM_HOST"), &e, &err), 0);
    assert_int_equal(esxi_rescan_add(e, &err), 0);
    if (esxi_device_status(e, naa, &status, &err) < 0)
        fail_msg("device %s after rescan: %s", naa, err.msg);
    assert_string_equal(status, "on");
    free(status);
    esxcli_free(e);
}

static void
unmap(const struct world *w, const char *naa)
{
    assert_int_equal(world_sh(w, "test/sim/fabric-unmap %s", naa), 0);
}

/* The source path of the world's VM disk on the ESXi host. */
static void
vm_source(const struct world *w, char *out, size_t size)
{
    const char *vmdk = world_get(w, "WORLD_VC_VM_VMDK");
    const char *close = strstr(vmdk, "] ");

    assert_non_null(close);
    snprintf(out, size, "/vmfs/volumes/%s/%s", world_get(w, "WORLD_VC_DS_NAME"), close + 2);
}

static bool
lun_matches(const struct world *w, const char *vol, const char *flat)
{
    char backing[1024];

    snprintf(backing, sizeof(backing), "%s/arrays/test/%s", world_get(w, "WORLD_ROOT"), vol);
    return world_same_file(flat, backing);
}

static void
assert_no_task_left(const struct world *w)
{
    char tmpdir[1024];
    char vmdir[1024];

    snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", world_get(w, "WORLD_ROOT"));
    assert_int_equal(count_entries(tmpdir, "vmkfstools-wrapper-"), 0);
    snprintf(vmdir, sizeof(vmdir), "%s", world_get(w, "WORLD_VC_VM_FLAT"));
    *strrchr(vmdir, '/') = '\0';
    assert_int_equal(count_entries(vmdir, "-rdmdisk-"), 0);
}

struct progress_seen {
    int last;
    int count;
};

static void
on_progress(void *arg, int pct)
{
    struct progress_seen *p = arg;

    p->last = pct;
    p->count++;
}

/* Opens the SSH carrier on w (the wrapper gets uploaded if needed); fails the test otherwise. */
static void
open_carrier(const struct world *w, const struct keys *k, struct vim *v, struct wrapper_carrier *c)
{
    struct ssh_carrier_opts o;
    struct perr err = {0};

    carrier_opts(w, k, v, &o);
    if (ssh_carrier_open(&o, c, &err) < 0)
        fail_msg("ssh_carrier_open: %s", err.msg);
}

/* Clones src onto a fresh LUN over SSH and checks the bytes against flat. */
static void
ssh_clone_case(const struct world *w, const struct keys *k, const char *src, const char *flat,
               const char *naa, const char *vol)
{
    struct vim *v = open_world(w);
    struct wrapper_carrier c;
    struct progress_seen seen = {-1, 0};
    struct clone_callbacks cb = {on_progress, NULL, &seen};
    struct clone_result res;
    struct perr err = {0};
    char dst[256];

    map_and_rescan(w, v, naa, vol);
    open_carrier(w, k, v, &c);
    snprintf(dst, sizeof(dst), "/vmfs/devices/disks/%s", naa);
    if (clone_run(&c, src, dst, STALL_MS, &cb, &res, &err) < 0)
        fail_msg("ssh clone of '%s' failed: %s", src, err.msg);
    assert_int_equal(seen.last, 100);
    assert_true(seen.count >= 1);
    assert_true(res.polls >= 1);
    assert_false(res.cleanup_failed);
    assert_true(lun_matches(w, vol, flat));
    assert_no_task_left(w);
    ssh_carrier_close(&c);
    unmap(w, naa);
    vim_close(v);
}

/* ------------------------------------------------------------------ tests */

static void
test_probe_and_key_line(void **state)
{
    struct esxi_ssh_opts o;
    struct esxi_ssh *s = NULL;
    struct esxi_ssh_result res;
    struct perr err = {0};
    char fp[128];
    char path[1024];
    char *line;
    char *file;

    (void)state;
    ssh_opts(&plain, &plain_keys, &o);
    if (esxi_ssh_open(&o, &s, &err) < 0)
        fail_msg("connect: %s", err.msg);
    assert_int_equal(esxi_ssh_exec(s, SSH_PROBE_COMMAND, 0, &res, &err), 0);
    assert_string_equal(buf_cstr(&res.out), "SSH_OK\n");
    assert_string_equal(buf_cstr(&res.err), "");
    assert_int_equal(res.exit_status, 0);
    esxi_ssh_result_clear(&res);
    /* The fingerprint is the host key's, as ssh-keygen computes it. */
    snprintf(path, sizeof(path), "%s/host_ed25519_key.pub", world_get(&plain, "WORLD_SSH_DIR"));
    keygen_fingerprint(path, fp, sizeof(fp));
    assert_string_equal(esxi_ssh_fingerprint(s), fp);
    assert_int_equal(esxi_ssh_connects(s), 1);
    esxi_ssh_close(s);

    /* Our copy of the Go key line is the one the simulated host was prepared with. */
    line = ssh_authorized_keys_line(plain_keys.pub, SSH_KEY_LINE_GO);
    assert_non_null(line);
    snprintf(path, sizeof(path), "%s/authorized_keys.go", world_get(&plain, "WORLD_SSH_DIR"));
    file = slurp(path, NULL);
    assert_non_null(file);
    file[strcspn(file, "\n")] = '\0';
    assert_string_equal(line, file);
    free(file);
    free(line);
}

static void
test_wrong_key_gives_instructions(void **state)
{
    struct vim *v = open_world(&plain);
    struct ssh_carrier_opts o;
    struct wrapper_carrier c;
    struct perr err = {0};
    char *line = ssh_authorized_keys_line(plain_keys.pub, SSH_KEY_LINE_IMPROVED);
    char luns[1024];

    (void)state;
    carrier_opts(&plain, &plain_keys, v, &o);
    o.private_key = plain_keys.wrong;
    o.private_key_len = plain_keys.wrong_len;
    assert_int_equal(ssh_carrier_open(&o, &c, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_null(c.impl);
    if (strstr(err.msg, "public-key login as 'root' was refused") == NULL ||
        strstr(err.msg, SSH_AUTHORIZED_KEYS_PATH) == NULL || strstr(err.msg, line) == NULL)
        fail_msg("message lacks the instructions: %s", err.msg);
    /* It stopped before anything was mapped. */
    snprintf(luns, sizeof(luns), "%s/luns", world_get(&plain, "WORLD_FABRIC"));
    assert_int_equal(count_entries(luns, ".json"), 0);

    /* A key that logs in but is not restricted: the probe does not answer SSH_OK. */
    perr_clear(&err);
    {
        char unrestricted[2048];

        snprintf(unrestricted, sizeof(unrestricted), "command=\"echo hello\" %s", plain_keys.pub);
        set_authorized_keys(&plain, unrestricted);
    }
    carrier_opts(&plain, &plain_keys, v, &o);
    assert_int_equal(ssh_carrier_open(&o, &c, &err), -1);
    restore_authorized_keys(&plain);
    assert_int_equal(err.code, PERR_SSH);
    if (strstr(err.msg, "answered 'hello' instead of SSH_OK") == NULL ||
        strstr(err.msg, SSH_AUTHORIZED_KEYS_PATH) == NULL || strstr(err.msg, line) == NULL)
        fail_msg("message lacks the instructions: %s", err.msg);
    free(line);
    vim_close(v);
}

static void
test_host_key_pinning(void **state)
{
    struct esxi_ssh_opts o;
    struct esxi_ssh *s = NULL;
    struct perr err = {0};
    char good[128];
    char bad[128];
    char path[1024];
    char empty[1024];
    FILE *f;

    (void)state;
    snprintf(path, sizeof(path), "%s/host_ed25519_key.pub", world_get(&plain, "WORLD_SSH_DIR"));
    keygen_fingerprint(path, good, sizeof(good));
    snprintf(path, sizeof(path), "%s/other_host_key.pub", world_get(&plain, "WORLD_SSH_DIR"));
    keygen_fingerprint(path, bad, sizeof(bad));

    ssh_opts(&plain, &plain_keys, &o);
    o.known_hosts = world_get(&plain, "WORLD_SSH_BAD_KNOWN_HOSTS");
    assert_int_equal(esxi_ssh_open(&o, &s, &err), -1);
    assert_null(s);
    assert_int_equal(err.code, PERR_SSH);
    if (strstr(err.msg, "host key mismatch") == NULL || strstr(err.msg, good) == NULL ||
        strstr(err.msg, bad) == NULL)
        fail_msg("mismatch message does not name both fingerprints (%s, %s): %s", good, bad,
                 err.msg);

    /* A pinning file without the host is an error too. */
    perr_clear(&err);
    snprintf(empty, sizeof(empty), "%s/ssh/empty_known_hosts", plain.dir);
    f = fopen(empty, "w");
    assert_non_null(f);
    fprintf(f, "# nothing here\n[10.0.0.1]:22 %s\n", plain_keys.pub);
    fclose(f);
    o.known_hosts = empty;
    assert_int_equal(esxi_ssh_open(&o, &s, &err), -1);
    assert_int_equal(err.code, PERR_SSH);
    assert_non_null(strstr(err.msg, "is not in the known_hosts file"));
    assert_non_null(strstr(err.msg, good));

    perr_clear(&err);
    o.known_hosts = world_get(&plain, "WORLD_SSH_KNOWN_HOSTS");
    if (esxi_ssh_open(&o, &s, &err) < 0)
        fail_msg("pinned connect: %s", err.msg);
    assert_string_equal(esxi_ssh_fingerprint(s), good);
    esxi_ssh_close(s);
}

/* Opens and closes the carrier with o, logging at info into a fresh file; the log text. */
static char *
open_logged(struct ssh_carrier_opts *o, int want_rc, struct perr *err)
{
    FILE *logf = tmpfile();
    struct wrapper_carrier c;
    char *text;
    size_t n;

    assert_non_null(logf);
    log_init(LOGL_INFO, LOG_FORMAT_TEXT, NULL);
    log_set_stream(logf);
    if (ssh_carrier_open(o, &c, err) != want_rc)
        fail_msg("ssh_carrier_open: want %d: %s", want_rc, err->msg);
    ssh_carrier_close(&c);
    fflush(logf);
    log_set_stream(NULL);
    log_reset();
    rewind(logf);
    text = calloc(1, 1024 * 1024);
    assert_non_null(text);
    n = fread(text, 1, 1024 * 1024 - 1, logf);
    text[n] = '\0';
    fclose(logf);
    return text;
}

static void
test_host_key_trust_and_known_hosts_file(void **state)
{
    struct vim *v = open_world(&plain);
    struct ssh_carrier_opts o;
    struct perr err = {0};
    char good[128];
    char other[2048];
    char path[1024];
    char written[1100];
    char dir[1024];
    char luns[1024];
    char want[4096];
    char *pub;
    char *text;
    struct stat st;
    FILE *f;

    (void)state;
    snprintf(path, sizeof(path), "%s/host_ed25519_key.pub", world_get(&plain, "WORLD_SSH_DIR"));
    keygen_fingerprint(path, good, sizeof(good));
    pub = slurp(path, NULL);
    assert_non_null(pub);
    pub[strcspn(pub, "\n")] = '\0';
    *strrchr(pub, ' ') = '\0'; /* "<type> <base64>", no comment */

    /* Unpinned: the key is accepted, and the log says so with its fingerprint. */
    snprintf(dir, sizeof(dir), "%s/khdir", plain.dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(written, sizeof(written), "%s/known_hosts", dir);
    f = fopen(written, "w");
    assert_non_null(f);
    fprintf(f, "# kept\nesxi-other.example %s\n[127.0.0.1]:%s ssh-ed25519 AAAAold\n", pub,
            world_get(&plain, "ESXI_SSH_PORT"));
    fclose(f);
    carrier_opts(&plain, &plain_keys, v, &o);
    o.write_known_hosts = written;
    text = open_logged(&o, 0, &err);
    if (strstr(text, "ESXi host key trusted") == NULL || strstr(text, good) == NULL ||
        strstr(text, "accepted unpinned") == NULL)
        fail_msg("no trust line naming %s and 'accepted unpinned' in: %s", good, text);
    free(text);

    /* The file holds the key met, in known_hosts format; other entries stay, the old one goes;
     * no temporary file is left. */
    text = slurp(written, NULL);
    assert_non_null(text);
    snprintf(want, sizeof(want), "# kept\nesxi-other.example %s\n[127.0.0.1]:%s %s\n", pub,
             world_get(&plain, "ESXI_SSH_PORT"), pub);
    assert_string_equal(text, want);
    free(text);
    assert_int_equal(stat(written, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(count_entries(dir, "known_hosts-"), 0);

    /* The written file pins the next run, and the log says so. */
    perr_clear(&err);
    carrier_opts(&plain, &plain_keys, v, &o);
    o.known_hosts = written;
    text = open_logged(&o, 0, &err);
    if (strstr(text, "ESXi host key trusted") == NULL || strstr(text, good) == NULL ||
        strstr(text, "trust=pinned") == NULL || strstr(text, written) == NULL)
        fail_msg("no trust line naming %s, pinned and the file in: %s", good, text);
    free(text);

    /* A changed key then fails before anything is mapped. */
    snprintf(path, sizeof(path), "%s/other_host_key.pub", world_get(&plain, "WORLD_SSH_DIR"));
    text = slurp(path, NULL);
    assert_non_null(text);
    text[strcspn(text, "\n")] = '\0';
    snprintf(other, sizeof(other), "%s", text);
    free(text);
    f = fopen(written, "w");
    assert_non_null(f);
    fprintf(f, "[127.0.0.1]:%s %s\n", world_get(&plain, "ESXI_SSH_PORT"), other);
    fclose(f);
    perr_clear(&err);
    carrier_opts(&plain, &plain_keys, v, &o);
    o.known_hosts = written;
    text = open_logged(&o, -1, &err);
    free(text);
    assert_int_equal(err.code, PERR_SSH);
    if (strstr(err.msg, "host key mismatch") == NULL || strstr(err.msg, good) == NULL)
        fail_msg("unexpected message: %s", err.msg);
    snprintf(luns, sizeof(luns), "%s/luns", world_get(&plain, "WORLD_FABRIC"));
    assert_int_equal(count_entries(luns, ".json"), 0);

    /* A file that cannot be written stops the run. */
    perr_clear(&err);
    carrier_opts(&plain, &plain_keys, v, &o);
    o.write_known_hosts = "/nonexistent-dir/known_hosts";
    text = open_logged(&o, -1, &err);
    free(text);
    assert_int_equal(err.code, PERR_CONFIG);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/known_hosts"));

    unlink(written);
    rmdir(dir);
    free(pub);
    vim_close(v);
}

static void
test_wrapper_upload(void **state)
{
    const char *ds = world_get(&plain, "WORLD_VC_DS_NAME");
    struct vim *v = open_world(&plain);
    struct wrapper_carrier c;
    char path[1024];
    char dsdir[1024];
    char *remote;
    size_t len = 0;
    size_t elen = 0;
    const unsigned char *embedded = esxi_wrapper_script(&elen);
    int puts;
    int moves;

    (void)state;
    ds_path(&plain, ds, SSH_WRAPPER_NAME, path, sizeof(path));
    ds_path(&plain, ds, "", dsdir, sizeof(dsdir));
    unlink(path);

    /* First run: no wrapper on the datastore. */
    puts = calls(&plain, "FolderPut");
    moves = calls(&plain, "MoveDatastoreFile_Task");
    open_carrier(&plain, &plain_keys, v, &c);
    assert_true(ssh_carrier_uploaded(&c));
    assert_string_equal(ssh_carrier_remote_version(&c), "");
    assert_int_equal(calls(&plain, "FolderPut"), puts + 1);
    assert_int_equal(calls(&plain, "MoveDatastoreFile_Task"), moves + 1);
    ssh_carrier_close(&c);
    remote = slurp(path, &len);
    assert_non_null(remote);
    assert_int_equal(len, elen);
    assert_memory_equal(remote, embedded, len);
    free(remote);
    /* Written under a temporary name, then moved: nothing else is left. */
    assert_int_equal(count_entries(dsdir, ".upload-"), 0);

    /* Current: no upload. */
    puts = calls(&plain, "FolderPut");
    open_carrier(&plain, &plain_keys, v, &c);
    assert_false(ssh_carrier_uploaded(&c));
    assert_string_equal(ssh_carrier_remote_version(&c), esxi_wrapper_version());
    assert_int_equal(calls(&plain, "FolderPut"), puts);
    ssh_carrier_close(&c);

    /* Older: replaced. */
    assert_int_equal(world_sh(&plain,
                              "sed 's/^SCRIPT_VERSION=.*/SCRIPT_VERSION=\"0.3.3\"/' "
                              "esxi/vmkfstools-wrapper.sh > '%s'",
                              path),
                     0);
    open_carrier(&plain, &plain_keys, v, &c);
    assert_true(ssh_carrier_uploaded(&c));
    assert_string_equal(ssh_carrier_remote_version(&c), "0.3.3");
    assert_int_equal(calls(&plain, "FolderPut"), puts + 1);
    ssh_carrier_close(&c);
    remote = slurp(path, &len);
    assert_int_equal(len, elen);
    assert_memory_equal(remote, embedded, len);
    free(remote);
    vim_close(v);
}

static void
test_old_key_format(void **state)
{
    const char *ds = world_get(&plain, "WORLD_VC_DS_NAME");
    struct vim *v = open_world(&plain);
    struct ssh_carrier_opts o;
    struct wrapper_carrier c;
    struct perr err = {0};
    char path[1024];
    char line[4096];
    char *go_line = ssh_authorized_keys_line(plain_keys.pub, SSH_KEY_LINE_IMPROVED);

    (void)state;
    /* An older key format runs another file, which an upload does not replace. */
    ds_path(&plain, ds, SSH_WRAPPER_NAME "-0b3c.py", path, sizeof(path));
    assert_int_equal(world_sh(&plain,
                              "sed 's/^SCRIPT_VERSION=.*/SCRIPT_VERSION=\"0.3.3\"/' "
                              "esxi/vmkfstools-wrapper.sh > '%s'",
                              path),
                     0);
    snprintf(
        line, sizeof(line),
        "command=\"sh -c 'DS=$(echo \\\"$SSH_ORIGINAL_COMMAND\\\" | sed -n "
        "\\\"s/^DS=\\\\([^;]*\\\\);.*/\\\\1/p\\\"); CMD=$(echo \\\"$SSH_ORIGINAL_COMMAND\\\" | "
        "sed -n \\\"s/^DS=[^;]*;CMD=\\\\(.*\\\\)/\\\\1/p\\\"); if [ -z \\\"$DS\\\" ]; then "
        "echo SSH_OK; else SSH_ORIGINAL_COMMAND=\\\"$CMD\\\" exec sh "
        "/vmfs/volumes/$DS/" SSH_WRAPPER_NAME "-0b3c.py; fi'\",no-port-forwarding %s",
        plain_keys.pub);
    set_authorized_keys(&plain, line);
    carrier_opts(&plain, &plain_keys, v, &o);
    assert_int_equal(ssh_carrier_open(&o, &c, &err), -1);
    restore_authorized_keys(&plain);
    assert_int_equal(err.code, PERR_SSH);
    if (strstr(err.msg, "version mismatch: uploaded 0.5.1, but SSH returned 0.3.3 - old SSH key "
                        "format detected") == NULL ||
        strstr(err.msg, "delete the lines ending in " SSH_WRAPPER_NAME ".py") == NULL ||
        strstr(err.msg, go_line) == NULL)
        fail_msg("unexpected message: %s", err.msg);
    unlink(path);
    free(go_line);
    vim_close(v);
}

static void
test_ssh_clone(void **state)
{
    char src[1024];

    (void)state;
    vm_source(&plain, src, sizeof(src));
    ssh_clone_case(&plain, &plain_keys, src, world_get(&plain, "WORLD_VC_VM_FLAT"),
                   "naa.600a0980383030303030303030305301", "ssh1");
}

static void
test_ssh_clone_failure(void **state)
{
    struct vim *v = open_world(&plain);
    struct wrapper_carrier c;
    struct clone_result res;
    struct perr err = {0};
    char src[1024];
    const char *naa = "naa.600a0980383030303030303030305302";

    (void)state;
    map_and_rescan(&plain, v, naa, "sshfail1");
    assert_int_equal(
        world_sh(&plain, "d=$(dirname \"$WORLD_VC_VM_FLAT\"); cp \"$WORLD_VC_VM_FLAT\" "
                         "\"$d/FAILCLONE-flat.vmdk\" && sed 's/xcopy-vm-1-flat/FAILCLONE-flat/' "
                         "\"${WORLD_VC_VM_FLAT%%-flat.vmdk}.vmdk\" > \"$d/FAILCLONE.vmdk\""),
        0);
    open_carrier(&plain, &plain_keys, v, &c);
    snprintf(src, sizeof(src), "/vmfs/volumes/%s/%s/FAILCLONE.vmdk",
             world_get(&plain, "WORLD_VC_DS_NAME"), world_get(&plain, "WORLD_VC_VM_NAME"));
    assert_int_equal(clone_run(&c, src, "/vmfs/devices/disks/naa.600a0980383030303030303030305302",
                               STALL_MS, NULL, &res, &err),
                     -1);
    assert_int_equal(err.code, PERR_REMOTE);
    if (strstr(err.msg, "clone task failed with exit code 1: ") == NULL ||
        strstr(err.msg, "Failed to clone disk") == NULL)
        fail_msg("unexpected message: %s", err.msg);
    assert_false(res.cleanup_failed);
    assert_no_task_left(&plain);
    ssh_carrier_close(&c);
    unmap(&plain, naa);
    vim_close(v);
}

/* The key line a refused login prints, cut out of the message. */
static char *
printed_key_line(const struct world *w, const struct keys *k, struct vim *v)
{
    struct ssh_carrier_opts o;
    struct wrapper_carrier c;
    struct perr err = {0};
    char *line;

    carrier_opts(w, k, v, &o);
    o.private_key = k->wrong;
    o.private_key_len = k->wrong_len;
    assert_int_equal(ssh_carrier_open(&o, &c, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    line = strstr(err.msg, "command=\"");
    if (line == NULL)
        fail_msg("no key line in: %s", err.msg);
    line = strdup(line);
    assert_non_null(line);
    return line;
}

/* Runs one raw command string through the key line now in authorized_keys. */
static void
raw_exec(const struct world *w, const struct keys *k, const char *cmd, struct esxi_ssh_result *res)
{
    struct esxi_ssh_opts o;
    struct esxi_ssh *s = NULL;
    struct perr err = {0};

    ssh_opts(w, k, &o);
    if (esxi_ssh_open(&o, &s, &err) < 0)
        fail_msg("connect: %s", err.msg);
    if (esxi_ssh_exec(s, cmd, 0, res, &err) < 0)
        fail_msg("exec '%s': %s", cmd, err.msg);
    esxi_ssh_close(s);
}

static void
test_printed_line_cannot_be_steered(void **state)
{
    static const char *const names[] = {
        "it's a ds", "DS \"q\" & <1> \xc3\xbc \xe2\x9a\x99",
        "glob*[x]?", "tab\there",
        "a..b",      "back\\slash $HOME `x`",
        NULL,
    };
    const char *ds = world_get(&plain, "WORLD_VC_DS_NAME");
    const char *root = world_get(&plain, "WORLD_ROOT");
    struct vim *v = open_world(&plain);
    struct esxi_ssh_result res;
    char marker[1024];
    char cmd[2048];
    size_t script_len = 0;
    const unsigned char *script = esxi_wrapper_script(&script_len);
    char *line;
    struct stat st;

    (void)state;
    line = printed_key_line(&plain, &plain_keys, v);
    set_authorized_keys(&plain, line);

    /* A program reached through '..' in DS does not run. */
    snprintf(marker, sizeof(marker), "%s/tmp/steered-%ld", root, (long)getpid());
    unlink(marker);
    assert_int_equal(
        world_sh(&plain, "printf 'touch /tmp/steered-%ld\\n' > \"$WORLD_ROOT/tmp/steer-%ld.sh\"",
                 (long)getpid(), (long)getpid()),
        0);
    snprintf(cmd, sizeof(cmd), "DS=../../tmp/steer-%ld.sh x;CMD=--version", (long)getpid());
    raw_exec(&plain, &plain_keys, cmd, &res);
    if (stat(marker, &st) == 0)
        fail_msg("DS with '..' ran another program (exit %d, stdout '%s')", res.exit_status,
                 buf_cstr(&res.out));
    assert_int_not_equal(res.exit_status, 0);
    esxi_ssh_result_clear(&res);
    raw_exec(&plain, &plain_keys, "DS=../../bin/vsish -e ls /storage;CMD=x", &res);
    assert_int_not_equal(res.exit_status, 0);
    assert_string_equal(buf_cstr(&res.out), "");
    esxi_ssh_result_clear(&res);
    raw_exec(&plain, &plain_keys, "DS=..;CMD='--version'", &res);
    assert_int_not_equal(res.exit_status, 0);
    assert_string_equal(buf_cstr(&res.out), "");
    esxi_ssh_result_clear(&res);
    /* A glob does not expand to the wrapper of some datastore. */
    raw_exec(&plain, &plain_keys, "DS=*;CMD='--version'", &res);
    if (strstr(buf_cstr(&res.out), "version") != NULL)
        fail_msg("DS=* reached a wrapper: %s", buf_cstr(&res.out));
    assert_int_not_equal(res.exit_status, 0);
    esxi_ssh_result_clear(&res);
    /* A second line cannot add a datastore. */
    snprintf(cmd, sizeof(cmd), "DS=nosuch;CMD='--version'\nDS=%s;CMD='--version'", ds);
    raw_exec(&plain, &plain_keys, cmd, &res);
    assert_null(strstr(buf_cstr(&res.out), "version"));
    esxi_ssh_result_clear(&res);

    /* Real datastore names still work: spaces, quotes, non-ASCII, glob characters. */
    for (size_t i = 0; names[i] != NULL; i++) {
        const char *args[] = {"--version", NULL};
        char dir[1024];
        char wpath[1100];
        char *wcmd = NULL;
        FILE *f;
        struct perr err = {0};

        snprintf(dir, sizeof(dir), "%s/vmfs/volumes/%s", root, names[i]);
        assert_int_equal(mkdir(dir, 0755), 0);
        snprintf(wpath, sizeof(wpath), "%s/" SSH_WRAPPER_NAME, dir);
        f = fopen(wpath, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(script, 1, script_len, f), script_len);
        assert_int_equal(fclose(f), 0);
        if (ssh_wrapper_command(names[i], args, &wcmd, &err) < 0)
            fail_msg("datastore '%s': %s", names[i], err.msg);
        raw_exec(&plain, &plain_keys, wcmd, &res);
        if (res.exit_status != 0 || strstr(buf_cstr(&res.out), esxi_wrapper_version()) == NULL)
            fail_msg("datastore '%s': exit %d, stdout '%s', stderr '%s'", names[i], res.exit_status,
                     buf_cstr(&res.out), buf_cstr(&res.err));
        esxi_ssh_result_clear(&res);
        free(wcmd);
        assert_int_equal(unlink(wpath), 0);
        assert_int_equal(rmdir(dir), 0);
    }
    assert_int_equal(world_sh(&plain, "rm -f \"$WORLD_ROOT/tmp/steer-%ld.sh\"", (long)getpid()), 0);
    restore_authorized_keys(&plain);
    /* Not the Go populator's unquoted line. */
    assert_null(strstr(line, "exec sh /vmfs/volumes/$DS/"));
    free(line);
    vim_close(v);
}

static void
test_odd_disk_name_go_line(void **state)
{
    /* Spaces, both quotes, &, a backslash, $ and non-ASCII in the disk's directory and name. */
    static const char name[] = "odd 'q' \"x&y\" \\ $HOME é";
    char dir[2048];
    char flat[4096];
    char src[2048];
    char cmd[8192];
    FILE *f;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/vmfs/volumes/%s/%s", world_get(&plain, "WORLD_ROOT"),
             world_get(&plain, "WORLD_VC_DS_NAME"), name);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(flat, sizeof(flat), "%s/%s-flat.vmdk", dir, name);
    /* Copies of the VM's disk: a descriptor and its flat file. */
    snprintf(cmd, sizeof(cmd), "%s/%s.vmdk", dir, name);
    f = fopen(cmd, "w");
    assert_non_null(f);
    fprintf(
        f,
        "# Disk DescriptorFile\nversion=1\ncreateType=\"vmfs\"\nRW 16384 VMFS \"%s-flat.vmdk\"\n",
        name);
    fclose(f);
    {
        size_t len = 0;
        char *data = slurp(world_get(&plain, "WORLD_VC_VM_FLAT"), &len);

        assert_non_null(data);
        f = fopen(flat, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        fclose(f);
        free(data);
    }
    snprintf(src, sizeof(src), "/vmfs/volumes/%s/%s/%s.vmdk", world_get(&plain, "WORLD_VC_DS_NAME"),
             name, name);
    ssh_clone_case(&plain, &plain_keys, src, flat, "naa.600a0980383030303030303030305303",
                   "sshodd1");
}

static void
assert_not_pwned(const struct world *w, const char *tag)
{
    char p[1024];
    struct stat st;

    snprintf(p, sizeof(p), "/tmp/%s", tag);
    assert_int_not_equal(stat(p, &st), 0);
    snprintf(p, sizeof(p), "%s/tmp/%s", world_get(w, "WORLD_ROOT"), tag);
    assert_int_not_equal(stat(p, &st), 0);
    snprintf(p, sizeof(p), "%s/%s", world_get(w, "WORLD_ROOT"), tag);
    assert_int_not_equal(stat(p, &st), 0);
}

static void
test_injection_does_nothing(void **state)
{
    struct vim *v = open_world(&plain);
    struct wrapper_carrier c;
    struct wrapper_reply r = {0};
    struct clone_result res;
    struct perr err = {0};
    char tag[64];
    char bad[3][1024];
    char *cmd = NULL;

    (void)state;
    snprintf(tag, sizeof(tag), "pwned-%ld", (long)getpid());
    snprintf(bad[0], sizeof(bad[0]), "/vmfs/volumes/%s/x'; touch /tmp/%s; '.vmdk",
             world_get(&plain, "WORLD_VC_DS_NAME"), tag);
    snprintf(bad[1], sizeof(bad[1]), "/vmfs/volumes/%s/$(touch /tmp/%s).vmdk",
             world_get(&plain, "WORLD_VC_DS_NAME"), tag);
    snprintf(bad[2], sizeof(bad[2]), "/vmfs/volumes/%s/`touch /tmp/%s`\"; touch /tmp/%s; \".vmdk",
             world_get(&plain, "WORLD_VC_DS_NAME"), tag, tag);
    open_carrier(&plain, &plain_keys, v, &c);
    for (size_t i = 0; i < 3; i++) {
        perr_clear(&err);
        assert_int_equal(clone_run(&c, bad[i],
                                   "/vmfs/devices/disks/naa.600a0980383030303030303030305309",
                                   STALL_MS, NULL, &res, &err),
                         -1);
        assert_int_equal(err.code, PERR_REMOTE);
        /* The wrapper saw the path exactly as given. */
        if (strstr(err.msg, "Source VMDK not found") == NULL || strstr(err.msg, tag) == NULL)
            fail_msg("unexpected message: %s", err.msg);
    }
    /* Through a task id. */
    {
        char id[256];
        const char *args[] = {"--task-get", "-i", id, NULL};

        snprintf(id, sizeof(id), "x'; touch /tmp/%s; '$(touch /tmp/%s)", tag, tag);
        assert_int_equal(c.call(c.impl, args, &r, &err), 0);
        assert_int_equal(r.status, 1);
        assert_non_null(strstr(r.message, "Invalid task id"));
        wrapper_reply_clear(&r);
    }
    /* A datastore name with ';' or '/' never reaches the host. */
    {
        const char *args[] = {"--version", NULL};

        perr_clear(&err);
        assert_int_equal(ssh_wrapper_command("ds;touch /tmp/x", args, &cmd, &err), -1);
        assert_int_equal(err.code, PERR_USAGE);
        perr_clear(&err);
        assert_int_equal(ssh_wrapper_command("../../tmp", args, &cmd, &err), -1);
        assert_int_equal(err.code, PERR_USAGE);
        perr_clear(&err);
        assert_int_equal(ssh_wrapper_command("ds 1", args, &cmd, &err), 0);
        assert_string_equal(cmd, "DS=ds 1;CMD='--version'");
        free(cmd);
    }
    assert_not_pwned(&plain, tag);
    ssh_carrier_close(&c);
    vim_close(v);
}

static void
test_hanging_command_is_cut(void **state)
{
    struct vim *v = open_world(&plain);
    struct ssh_carrier_opts o;
    struct wrapper_carrier c;
    struct esxi_ssh_opts so;
    struct esxi_ssh *s = NULL;
    struct esxi_ssh_result res;
    struct perr err = {0};
    int64_t t0;
    int64_t took;

    (void)state;
    assert_int_equal(world_sh(&plain, "mkdir -p \"$WORLD_ROOT/vmfs/volumes/hang-ds\" && printf "
                                      "'#!/bin/sh\\nsleep 600\\n' > "
                                      "\"$WORLD_ROOT/vmfs/volumes/hang-ds/" SSH_WRAPPER_NAME "\""),
                     0);
    carrier_opts(&plain, &plain_keys, v, &o);
    o.datastore = "hang-ds";
    o.command_timeout_ms = 2000;
    t0 = mono_now_ms();
    assert_int_equal(ssh_carrier_open(&o, &c, &err), -1);
    took = mono_now_ms() - t0;
    assert_int_equal(err.code, PERR_TIMEOUT);
    if (strstr(err.msg, "DS=hang-ds;CMD='--version'") == NULL)
        fail_msg("the message does not name the command: %s", err.msg);
    assert_true(took >= 1900 && took < 10000);

    /* The connection survives a command cut at its deadline. */
    ssh_opts(&plain, &plain_keys, &so);
    perr_clear(&err);
    if (esxi_ssh_open(&so, &s, &err) < 0)
        fail_msg("connect: %s", err.msg);
    assert_int_equal(esxi_ssh_exec(s, "DS=hang-ds;CMD='--version'", 1000, &res, &err), -1);
    assert_int_equal(err.code, PERR_TIMEOUT);
    esxi_ssh_result_clear(&res);
    perr_clear(&err);
    assert_int_equal(esxi_ssh_exec(s, SSH_PROBE_COMMAND, 0, &res, &err), 0);
    assert_string_equal(buf_cstr(&res.out), "SSH_OK\n");
    assert_int_equal(esxi_ssh_connects(s), 1);
    esxi_ssh_result_clear(&res);
    esxi_ssh_close(s);
    vim_close(v);
}

static void
test_no_secrets_in_logs(void **state)
{
    FILE *logf = tmpfile();
    struct vim *v;
    struct ssh_carrier_opts o;
    struct wrapper_carrier c;
    struct perr err = {0};
    char *text;
    size_t len = 0;
    const char *b64 = world_get(&plain, "SSH_PRIVATE_KEY");
    char chunk[33];
    int checked = 0;

    (void)state;
    assert_non_null(logf);
    log_init(LOGL_TRACE, LOG_FORMAT_TEXT, "all");
    log_set_stream(logf);
    v = open_world(&plain);
    carrier_opts(&plain, &plain_keys, v, &o);
    /* A refused key, then an upload and a few wrapper commands. */
    o.private_key = plain_keys.wrong;
    o.private_key_len = plain_keys.wrong_len;
    assert_int_equal(ssh_carrier_open(&o, &c, &err), -1);
    assert_int_equal(world_sh(&plain,
                              "rm -f \"$WORLD_ROOT/vmfs/volumes/$WORLD_VC_DS_NAME/" SSH_WRAPPER_NAME
                              "\""),
                     0);
    open_carrier(&plain, &plain_keys, v, &c);
    {
        const char *args[] = {"--task-get", "-i", "no-such-task", NULL};
        struct wrapper_reply r = {0};

        assert_int_equal(c.call(c.impl, args, &r, &err), 0);
        wrapper_reply_clear(&r);
    }
    ssh_carrier_close(&c);
    vim_close(v);
    fflush(logf);
    log_set_stream(NULL);
    log_reset();
    rewind(logf);
    text = calloc(1, 8 * 1024 * 1024);
    assert_non_null(text);
    len = fread(text, 1, 8 * 1024 * 1024 - 1, logf);
    fclose(logf);
    assert_true(len > 0);
    /* The log did capture the traffic. */
    assert_non_null(strstr(text, "ssh command"));
    assert_non_null(strstr(text, "uploading the wrapper"));
    /* No piece of the private key (its PEM body or the base64 the controller passes), and
     * not the vCenter password. */
    for (const char *p = (const char *)plain_keys.priv; *p != '\0';) {
        size_t n = strcspn(p, "\n");

        if (n >= 32 && strncmp(p, "-----", 5) != 0) {
            memcpy(chunk, p, 32);
            chunk[32] = '\0';
            if (strstr(text, chunk) != NULL)
                fail_msg("a line of the private key is in the log");
            checked++;
        }
        p += n + (p[n] == '\n');
    }
    assert_true(checked >= 3);
    for (size_t i = 0; i + 32 <= strlen(b64); i += 32) {
        memcpy(chunk, b64 + i, 32);
        chunk[32] = '\0';
        assert_null(strstr(text, chunk));
    }
    assert_null(strstr(text, world_get(&plain, "GOVMOMI_PASSWORD")));
    free(text);
}

static void
test_ssh_and_vib_same_copy(void **state)
{
    struct vim *v = open_world(&plain);
    struct esxcli *e = NULL;
    struct wrapper_carrier vib;
    struct wrapper_carrier ssh;
    struct clone_result res;
    struct perr err = {0};
    char src[1024];
    const char *naa_vib = "naa.600a0980383030303030303030305304";
    const char *naa_ssh = "naa.600a0980383030303030303030305305";
    char a[1024];
    char b[1024];

    (void)state;
    vm_source(&plain, src, sizeof(src));
    map_and_rescan(&plain, v, naa_vib, "same-vib");
    map_and_rescan(&plain, v, naa_ssh, "same-ssh");
    assert_int_equal(esxcli_new(v, world_get(&plain, "WORLD_VC_VM_HOST"), &e, &err), 0);
    vib_carrier(e, &vib);
    open_carrier(&plain, &plain_keys, v, &ssh);
    if (clone_run(&vib, src, "/vmfs/devices/disks/naa.600a0980383030303030303030305304", STALL_MS,
                  NULL, &res, &err) < 0)
        fail_msg("vib clone: %s", err.msg);
    if (clone_run(&ssh, src, "/vmfs/devices/disks/naa.600a0980383030303030303030305305", STALL_MS,
                  NULL, &res, &err) < 0)
        fail_msg("ssh clone: %s", err.msg);
    assert_true(lun_matches(&plain, "same-vib", world_get(&plain, "WORLD_VC_VM_FLAT")));
    assert_true(lun_matches(&plain, "same-ssh", world_get(&plain, "WORLD_VC_VM_FLAT")));
    snprintf(a, sizeof(a), "%s/arrays/test/same-vib", world_get(&plain, "WORLD_ROOT"));
    snprintf(b, sizeof(b), "%s/arrays/test/same-ssh", world_get(&plain, "WORLD_ROOT"));
    assert_true(world_same_file(a, b));
    assert_true(world_same_file(b, a));
    ssh_carrier_close(&ssh);
    esxcli_free(e);
    unmap(&plain, naa_vib);
    unmap(&plain, naa_ssh);
    vim_close(v);
}

static void
test_odd_world_needs_improved_line(void **state)
{
    struct vim *v;
    struct ssh_carrier_opts o;
    struct wrapper_carrier c;
    struct perr err = {0};
    char *improved;
    char src[2048];

    (void)state;
    if (!odd_started)
        fail_msg("the world with odd names did not start");
    v = open_world(&odd);
    improved = ssh_authorized_keys_line(odd_keys.pub, SSH_KEY_LINE_IMPROVED);
    assert_non_null(improved);
    /* With the Go line, a datastore name with spaces cannot reach the wrapper; the error
     * offers the improved line. */
    carrier_opts(&odd, &odd_keys, v, &o);
    assert_int_equal(ssh_carrier_open(&o, &c, &err), -1);
    assert_int_equal(err.code, PERR_SSH);
    if (strstr(err.msg, "passes the datastore name unquoted") == NULL ||
        strstr(err.msg, improved) == NULL)
        fail_msg("unexpected message: %s", err.msg);
    /* With the improved line everything works, disk name and datastore name alike. */
    set_authorized_keys(&odd, improved);
    vm_source(&odd, src, sizeof(src));
    ssh_clone_case(&odd, &odd_keys, src, world_get(&odd, "WORLD_VC_VM_FLAT"),
                   "naa.600a0980383030303030303030305306", "oddimp1");
    restore_authorized_keys(&odd);
    free(improved);
    vim_close(v);
}

/* ------------------------------------------------------------------- main */

static int
setup(void **state)
{
    static const char *const odd_env[] = {"WORLD_NO_ARRAYS=1", "WORLD_VM_NAME=VM 'q' \"x&y\" é",
                                          "WORLD_DS_NAME=DS \"a&b\" ü <1>", NULL};

    (void)state;
    keys_load(&plain, &plain_keys);
    if (world_start(&odd, odd_env) == 0 && sshd_start(&odd) == 0) {
        keys_load(&odd, &odd_keys);
        odd_started = true;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    keys_free(&plain_keys);
    keys_free(&odd_keys);
    if (odd_started) {
        sshd_stop(&odd);
        world_stop(&odd);
    }
    return 0;
}

int
main(void)
{
    static const char *const plain_env[] = {"WORLD_NO_ARRAYS=1", NULL};
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_and_key_line),
        cmocka_unit_test(test_wrong_key_gives_instructions),
        cmocka_unit_test(test_host_key_pinning),
        cmocka_unit_test(test_host_key_trust_and_known_hosts_file),
        cmocka_unit_test(test_wrapper_upload),
        cmocka_unit_test(test_old_key_format),
        cmocka_unit_test(test_ssh_clone),
        cmocka_unit_test(test_ssh_clone_failure),
        cmocka_unit_test(test_odd_disk_name_go_line),
        cmocka_unit_test(test_printed_line_cannot_be_steered),
        cmocka_unit_test(test_injection_does_nothing),
        cmocka_unit_test(test_hanging_command_is_cut),
        cmocka_unit_test(test_no_secrets_in_logs),
        cmocka_unit_test(test_ssh_and_vib_same_copy),
        cmocka_unit_test(test_odd_world_needs_improved_line),
    };
    int rc;

    if (geteuid() != 0) {
        printf("SKIP: test_ssh needs root (sshd's ChrootDirectory and a root login)\n");
        fprintf(stderr, "SKIP: test_ssh needs root (sshd's ChrootDirectory and a root login)\n");
        return 0;
    }
    if (access("/usr/sbin/sshd", X_OK) != 0) {
        printf("SKIP: test_ssh needs /usr/sbin/sshd (apt-get install openssh-server)\n");
        fprintf(stderr, "SKIP: test_ssh needs /usr/sbin/sshd (apt-get install openssh-server)\n");
        return 0;
    }
    if (world_start(&plain, plain_env) < 0) {
        printf("FAIL: the simulated world did not start\n");
        return 1;
    }
    if (sshd_start(&plain) < 0) {
        printf("SKIP: sshd did not start; see %s/sshd-start.log\n", plain.dir);
        fprintf(stderr, "SKIP: sshd did not start; see %s/sshd-start.log\n", plain.dir);
        sshd_stop(&plain);
        world_stop(&plain);
        return 0;
    }
    rc = cmocka_run_group_tests_name("ssh clone method against sshd and the simulated world", tests,
                                     setup, teardown);
    sshd_stop(&plain);
    world_stop(&plain);
    return rc;
}
