/*
 * No credential leaves the process in any output: the real binary against the
 * simulated world, at --log-level=trace with every wire component traced.
 *
 * The world's vCenter and four arrays accept hostile passwords (quotes,
 * &<>%\: and non-ASCII, each with a marker of its own); Pure takes its API
 * token, Kubernetes a bearer token, the SSH clone a private key.  The runs
 * cover both clone methods, five vendors, manual and pod mode, and failures
 * (wrong vCenter and array passwords, an array that answers the map call with
 * a 500 echoing the credential, a clone that fails midway).  Each run's
 * stdout, stderr, termination log, every metrics scrape and /proc/PID/cmdline
 * (sampled while it runs) are searched for every secret in every spelling it
 * could take: raw, HTTP Basic base64("user:password"), URL-encoded (either
 * hex case), JSON-escaped (UTF-8 or \u-escaped, as Python and Go servers
 * write it, once and twice), XML-escaped (named or numeric entities) and
 * the marker alone (which survives every text encoding and truncation).
 *
 * The last case points STORAGE_HOSTNAME at the world's kube-apiserver, which
 * speaks HTTP/2: libcurl then shows each request header bracketed in an info
 * line ("h2h3 [authorization: Basic ...]"), which must be logged masked.
 *
 * Prism is left out of this world: Prism 5.16 refuses a Basic password
 * holding ':' (RFC 7617 allows it, and so do the arrays); the schema checks
 * run in test_populate and test_conformance.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "lib/buf.h"
#include "lib/deadline.h"
#include "test/fake/popcmd.h"
#include "test/fake/proc.h"
#include "test/fake/world.h"

static struct world w;

/* Hostile passwords; each ends in a marker found nowhere else. */
#define PASS_VCENTER    "Vc\"q'&<>%\\:ü€Mk1VCENTER"
#define PASS_ONTAP      "On\"t'&<>%\\:ä€Mk2ONTAP"
#define PASS_POWERSTORE "Ps\"t'&<>%\\:ö€Mk3PSTORE"
#define PASS_PRIMERA    "Pr\"m'&<>%\\:ß€Mk4PRIMERA"
#define PASS_INFINIBOX  "Ib\"x'&<>%\\:é€Mk5IBOX"
/* Wrong passwords the failure cases give: held by the process, so secret too. */
#define PASS_WRONG_VC  "Wv\"'&<>%\\:øMk6WRONGVC"
#define PASS_WRONG_ARR "Wa\"'&<>%\\:åMk7WRONGARRAY"

/* ---- secrets and their spellings ---- */

struct spelling {
    char *label;
    char *text;
};

static struct spelling spellings[1024];
static size_t nspellings;

static void
spell(const char *secret_label, const char *how, const char *text)
{
    char label[256];

    if (text == NULL || strlen(text) < 4)
        return;
    for (size_t i = 0; i < nspellings; i++) {
        if (strcmp(spellings[i].text, text) == 0)
            return;
    }
    assert_true(nspellings < sizeof(spellings) / sizeof(spellings[0]));
    snprintf(label, sizeof(label), "%s (%s)", secret_label, how);
    spellings[nspellings].label = strdup(label);
    spellings[nspellings].text = strdup(text);
    nspellings++;
}

/* JSON string content.  ascii: non-ASCII as \uXXXX (surrogate pairs above
 * U+FFFF), as Python's json.dumps writes; go: also <>& as \u003c..., as Go's
 * encoding/json does. */
static char *
json_escape(const char *s, bool ascii, bool go)
{
    struct buf b = {0};
    struct perr err = {0};
    const unsigned char *p = (const unsigned char *)s;

    while (*p != '\0') {
        unsigned cp = *p;
        size_t n = 1;

        if (*p == '"' || *p == '\\') {
            buf_addf(&b, &err, "\\%c", *p);
        } else if (*p < 0x20 || (go && (*p == '<' || *p == '>' || *p == '&'))) {
            buf_addf(&b, &err, "\\u%04x", *p);
        } else if (*p >= 0x80 && ascii) {
            if ((*p & 0xe0) == 0xc0) {
                cp = *p & 0x1fu;
                n = 2;
            } else if ((*p & 0xf0) == 0xe0) {
                cp = *p & 0x0fu;
                n = 3;
            } else {
                cp = *p & 0x07u;
                n = 4;
            }
            for (size_t i = 1; i < n; i++)
                cp = (cp << 6) | (p[i] & 0x3fu);
            if (cp >= 0x10000)
                buf_addf(&b, &err, "\\u%04x\\u%04x", 0xd800 + ((cp - 0x10000) >> 10),
                         0xdc00 + ((cp - 0x10000) & 0x3ff));
            else
                buf_addf(&b, &err, "\\u%04x", cp);
        } else {
            buf_add(&b, p, 1, &err);
        }
        p += n;
    }
    return buf_steal(&b);
}

static char *
xml_escape(const char *s, bool numeric)
{
    struct buf b = {0};
    struct perr err = {0};

    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '&')
            buf_adds(&b, "&amp;", &err);
        else if (*p == '<')
            buf_adds(&b, "&lt;", &err);
        else if (*p == '>')
            buf_adds(&b, "&gt;", &err);
        else if (*p == '"')
            buf_adds(&b, numeric ? "&#34;" : "&quot;", &err);
        else if (*p == '\'')
            buf_adds(&b, numeric ? "&#39;" : "&apos;", &err);
        else
            buf_add(&b, p, 1, &err);
    }
    return buf_steal(&b);
}

static char *
url_escape(const char *s, bool lower)
{
    struct buf b = {0};
    struct perr err = {0};

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
            buf_add(&b, p, 1, &err);
        else
            buf_addf(&b, &err, lower ? "%%%02x" : "%%%02X", *p);
    }
    return buf_steal(&b);
}

static char *
base64(const char *s)
{
    size_t n = strlen(s);
    char *out = calloc(4 * ((n + 2) / 3) + 1, 1);

    assert_non_null(out);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
    return out;
}

/* Every spelling of one secret: JSON forms are also escaped a second time,
 * as a JSON body quoted inside a JSON (or quoted text) log line. */
static void
add_secret(const char *label, const char *user, const char *value, const char *marker)
{
    char *forms[8];
    size_t nf = 0;

    spell(label, "raw", value);
    forms[nf++] = json_escape(value, false, false);
    forms[nf++] = json_escape(value, true, false);
    forms[nf++] = json_escape(value, true, true);
    for (size_t i = 0; i < nf; i++) {
        char *twice = json_escape(forms[i], false, false);

        spell(label, "JSON-escaped", forms[i]);
        spell(label, "JSON-escaped twice", twice);
        free(twice);
        free(forms[i]);
    }
    forms[0] = xml_escape(value, false);
    forms[1] = xml_escape(value, true);
    forms[2] = url_escape(value, false);
    forms[3] = url_escape(value, true);
    spell(label, "XML-escaped", forms[0]);
    spell(label, "XML-escaped, numeric", forms[1]);
    spell(label, "URL-encoded", forms[2]);
    spell(label, "URL-encoded, lower case", forms[3]);
    for (size_t i = 0; i < 4; i++)
        free(forms[i]);
    if (user != NULL) {
        char cred[512];
        char *b64;

        snprintf(cred, sizeof(cred), "%s:%s", user, value);
        b64 = base64(cred);
        spell(label, "Basic base64 of user:password", b64);
        free(b64);
    }
    if (marker != NULL)
        spell(label, "marker", marker);
}

/* The private key: its base64 form (SSH_PRIVATE_KEY) and every line of the
 * PEM text it decodes to, except the BEGIN/END lines. */
static void
add_private_key(const char *b64)
{
    size_t n = strlen(b64);
    unsigned char *pem = calloc(n + 1, 1);
    char *save = NULL;
    int len;

    assert_non_null(pem);
    spell("SSH private key", "SSH_PRIVATE_KEY", b64);
    len = EVP_DecodeBlock(pem, (const unsigned char *)b64, (int)n);
    assert_true(len > 0);
    for (char *line = strtok_r((char *)pem, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "-----", 5) != 0 && strlen(line) >= 16)
            spell("SSH private key", "PEM line", line);
    }
    free(pem);
}

static void
collect_secrets(void)
{
    add_secret("vCenter password", world_get(&w, "GOVMOMI_USERNAME"), PASS_VCENTER, "Mk1VCENTER");
    add_secret("ONTAP password", world_get(&w, "WORLD_ONTAP_USERNAME"), PASS_ONTAP, "Mk2ONTAP");
    add_secret("PowerStore password", world_get(&w, "WORLD_POWERSTORE_USERNAME"), PASS_POWERSTORE,
               "Mk3PSTORE");
    add_secret("Primera password", world_get(&w, "WORLD_PRIMERA3PAR_USERNAME"), PASS_PRIMERA,
               "Mk4PRIMERA");
    add_secret("InfiniBox password", world_get(&w, "WORLD_INFINIBOX_USERNAME"), PASS_INFINIBOX,
               "Mk5IBOX");
    add_secret("wrong vCenter password", world_get(&w, "GOVMOMI_USERNAME"), PASS_WRONG_VC,
               "Mk6WRONGVC");
    add_secret("wrong array password", world_get(&w, "WORLD_ONTAP_USERNAME"), PASS_WRONG_ARR,
               "Mk7WRONGARRAY");
    add_secret("Pure API token", "", world_get(&w, "WORLD_PURE_TOKEN"), NULL);
    add_secret("Kubernetes token", NULL, world_get(&w, "WORLD_KUBE_POPULATOR_TOKEN"), NULL);
    add_private_key(world_get(&w, "SSH_PRIVATE_KEY"));
}

/* ---- one run of the binary, every output kept ---- */

struct vendor {
    const char *fake;    /* test/sim/arrays/<fake>.py */
    const char *product; /* --storage-vendor-product */
    const char *env;     /* WORLD_<env>_* facts */
};

static const struct vendor vendors[] = {
    {"ontap", "ontap", "ONTAP"},
    {"pure", "pureFlashArray", "PURE"},
    {"powerstore", "powerstore", "POWERSTORE"},
    {"primera3par", "primera3par", "PRIMERA3PAR"},
    {"infinibox", "infinibox", "INFINIBOX"},
};

static const char *
fact(const struct vendor *v, const char *key)
{
    char name[128];

    snprintf(name, sizeof(name), "WORLD_%s_%s", v->env, key);
    return world_find(&w, name);
}

/* A manual-mode populate onto the vendor's seeded volume, traced in full. */
static void
cmd_manual(struct cmd *c, const struct vendor *v, const char *log_format)
{
    const char *attrs = fact(v, "ATTRS");
    const char *token = fact(v, "TOKEN");

    memset(c, 0, sizeof(*c));
    cmd_arg(c, "%s", proc_pop_bin());
    cmd_arg(c, "--source-vm-id=%s", world_get(&w, "WORLD_VC_VM_ID"));
    cmd_arg(c, "--source-vmdk=%s", world_get(&w, "WORLD_VC_VM_VMDK"));
    cmd_arg(c, "--owner-uid=%s", "0d6c3f7a-1b2e-4c5d-8e9f-a0b1c2d3e4f5");
    cmd_arg(c, "--output=json");
    cmd_arg(c, "--log-level=trace");
    cmd_arg(c, "--log-trace=http,soap,ssh");
    cmd_arg(c, "--log-format=%s", log_format);
    cmd_arg(c, "--storage-ca-file=%s", world_get(&w, "WORLD_ARRAY_CA"));
    cmd_arg(c, "--storage-vendor-product=%s", v->product);
    cmd_arg(c, "--target-volume-handle=%s", fact(v, "VOLUME_HANDLE"));
    /* ATTRS is "k=v;k=v" (test/sim/populate reads it the same way). */
    for (const char *p = attrs != NULL ? attrs : ""; *p != '\0';) {
        size_t n = strcspn(p, ";");

        if (n > 0)
            cmd_arg(c, "--target-volume-attribute=%.*s", (int)n, p);
        p += n + (p[n] == ';');
    }
    cmd_env(c, "STORAGE_HOSTNAME", fact(v, "HOSTNAME"));
    if (token != NULL) {
        cmd_env(c, "STORAGE_TOKEN", token);
    } else {
        cmd_env(c, "STORAGE_USERNAME", fact(v, "USERNAME"));
        cmd_env(c, "STORAGE_PASSWORD", fact(v, "PASSWORD"));
    }
    if (fact(v, "CLUSTER_PREFIX") != NULL)
        cmd_env(c, "PURE_CLUSTER_PREFIX", fact(v, "CLUSTER_PREFIX"));
    cmd_vcenter_env(c, &w);
}

struct run {
    int status;
    struct buf out;
    struct buf err;
    struct buf term;
    struct buf metrics;
    struct buf cmdline;
    size_t scrapes;
    size_t samples;
};

static void
run_free(struct run *r)
{
    buf_free(&r->out);
    buf_free(&r->err);
    buf_free(&r->term);
    buf_free(&r->metrics);
    buf_free(&r->cmdline);
}

static void
read_file(const char *path, struct buf *b)
{
    struct perr err = {0};
    char chunk[65536];
    size_t n;
    FILE *f = fopen(path, "rb");

    if (f == NULL)
        return;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(b, chunk, n, &err);
    fclose(f);
}

static size_t
on_metrics(char *p, size_t s, size_t n, void *arg)
{
    struct perr err = {0};

    buf_add(arg, p, s * n, &err);
    return s * n;
}

static int
free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Scrapes /metrics once (TLS unverified, as the controller does); appends the body. */
static void
scrape(int port, struct run *r)
{
    CURL *h = curl_easy_init();
    char url[64];

    assert_non_null(h);
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/metrics", port);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_metrics);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->metrics);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
    if (curl_easy_perform(h) == CURLE_OK)
        r->scrapes++;
    curl_easy_cleanup(h);
}

/* Starts the command with stdout, stderr and the termination log in files;
 * while it runs, samples /proc/PID/cmdline (once it has started logging, so
 * after it has parsed and blanked its arguments) and scrapes its metrics
 * endpoint; then reads every output. */
static void
run_watched(struct cmd *c, struct run *r)
{
    char out[512];
    char err[512];
    char term[512];
    char proc[64];
    posix_spawn_file_actions_t fa;
    struct deadline d = deadline_in_ms(600000);
    int port = free_port();
    int ws = 0;
    pid_t pid;
    pid_t done = 0;
    int fd;

    memset(r, 0, sizeof(*r));
    snprintf(out, sizeof(out), "%s/secrets.stdout", world_get(&w, "WORLD_DIR"));
    snprintf(err, sizeof(err), "%s/secrets.stderr", world_get(&w, "WORLD_DIR"));
    snprintf(term, sizeof(term), "%s/secrets.termination-log", world_get(&w, "WORLD_DIR"));
    /* The command writes the termination log only when the file exists. */
    fd = open(term, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    close(fd);
    cmd_arg(c, "--termination-log=%s", term);
    cmd_arg(c, "--metrics-listen=127.0.0.1:%d", port);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_int_equal(
        posix_spawn(&pid, c->argv[0], &fa, NULL, (char *const *)(uintptr_t)c->argv, c->envp), 0);
    posix_spawn_file_actions_destroy(&fa);
    snprintf(proc, sizeof(proc), "/proc/%d/cmdline", (int)pid);
    while (done == 0 && !deadline_expired(&d)) {
        struct stat st;

        if (stat(err, &st) == 0 && st.st_size > 0) {
            struct perr tmp = {0};

            read_file(proc, &r->cmdline);
            buf_add(&r->cmdline, "\n", 1, &tmp);
            r->samples++;
        }
        scrape(port, r);
        done = waitpid(pid, &ws, WNOHANG);
        if (done == 0)
            usleep(20000);
    }
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &ws, 0);
        fail_msg("the command did not finish within 10 minutes");
    }
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    read_file(out, &r->out);
    read_file(err, &r->err);
    read_file(term, &r->term);
}

/* Fails with the first spelling of a secret found in any output of the run. */
static void
expect_no_secret(const char *name, const struct run *r)
{
    const struct {
        const char *what;
        const struct buf *b;
    } outputs[] = {
        {"stdout", &r->out},
        {"stderr", &r->err},
        {"termination log", &r->term},
        {"metrics scrape", &r->metrics},
        {"/proc/PID/cmdline", &r->cmdline},
    };

    for (size_t o = 0; o < sizeof(outputs) / sizeof(outputs[0]); o++) {
        const struct buf *b = outputs[o].b;

        for (size_t i = 0; b->len > 0 && i < nspellings; i++) {
            const char *hit = memmem(b->data, b->len, spellings[i].text, strlen(spellings[i].text));
            size_t from;
            size_t to;

            if (hit == NULL)
                continue;
            from = (size_t)(hit - b->data) > 200 ? (size_t)(hit - b->data) - 200 : 0;
            to = (size_t)(hit - b->data) + 200 < b->len ? (size_t)(hit - b->data) + 200 : b->len;
            fail_msg("run '%s': %s found in its %s: ...%.*s...", name, spellings[i].label,
                     outputs[o].what, (int)(to - from), b->data + from);
        }
    }
    printf("run '%s': exit %d; %zu stdout, %zu stderr, %zu termination-log bytes, %zu scrapes "
           "(%zu bytes), %zu cmdline samples: none of %zu spellings found\n",
           name, r->status, r->out.len, r->err.len, r->term.len, r->scrapes, r->metrics.len,
           r->samples, nspellings);
}

static void
expect_status(const char *name, const struct run *r, int status, const char *msg)
{
    if (r->status != status || strstr(buf_cstr(&r->err), msg) == NULL)
        fail_msg("run '%s': exit %d (want %d), want '%s' in stderr:\n%s", name, r->status, status,
                 msg, buf_cstr(&r->err));
}

/* The trace really carried credentials, so finding none means they were masked. */
static void
expect_masked(const char *name, const struct run *r, const char *line)
{
    if (strstr(buf_cstr(&r->err), line) == NULL)
        fail_msg("run '%s': no masked trace line '%s' in stderr", name, line);
}

static void
reset_faults(void)
{
    assert_int_equal(world_sh(&w, ": > \"$WORLD_FAULTS\"; for v in ONTAP PURE POWERSTORE "
                                  "PRIMERA3PAR INFINIBOX; do f=WORLD_${v}_FAULTS; : > "
                                  "\"${!f}\"; done; rm -f "
                                  "\"$WORLD_ROOT/etc/fake-vmkfstools.conf\""),
                     0);
}

static void
test_vib_every_vendor(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++) {
        const struct vendor *v = &vendors[i];
        struct cmd c;
        struct run r;
        char name[64];

        snprintf(name, sizeof(name), "%s, vib", v->fake);
        reset_faults();
        /* Text and JSON lines: each has its own quoting of values. */
        cmd_manual(&c, v, i % 2 == 0 ? "text" : "json");
        run_watched(&c, &r);
        expect_status(name, &r, 0, "copy complete");
        expect_masked(name, &r, "Cookie: ***");
        expect_no_secret(name, &r);
        run_free(&r);
        cmd_free(&c);
    }
}

/* The secrets given as flags: the process list shows them blanked. */
static void
test_secrets_as_flags(void **state)
{
    struct cmd c;
    struct run r;

    (void)state;
    reset_faults();
    cmd_manual(&c, &vendors[0], "text");
    cmd_arg(&c, "--storage-password=%s", PASS_ONTAP);
    cmd_arg(&c, "--vsphere-password=%s", PASS_VCENTER);
    cmd_env(&c, "STORAGE_PASSWORD", "unused-env-password");
    cmd_env(&c, "GOVMOMI_PASSWORD", "unused-env-password");
    run_watched(&c, &r);
    expect_status("ontap, secrets as flags", &r, 0, "copy complete");
    assert_true(r.samples > 0);
    assert_non_null(memmem(r.cmdline.data, r.cmdline.len, "--storage-password=", 19));
    expect_no_secret("ontap, secrets as flags", &r);
    run_free(&r);
    cmd_free(&c);
}

static void
test_ssh_method(void **state)
{
    struct cmd c;
    struct run r;

    (void)state;
    reset_faults();
    cmd_manual(&c, &vendors[0], "json");
    cmd_arg(&c, "--esxi-ssh-known-hosts=%s", world_get(&w, "WORLD_SSH_KNOWN_HOSTS"));
    cmd_env(&c, "ESXI_CLONE_METHOD", "ssh");
    cmd_env(&c, "ESXI_SSH_PORT", world_get(&w, "ESXI_SSH_PORT"));
    cmd_env(&c, "SSH_PRIVATE_KEY", world_get(&w, "SSH_PRIVATE_KEY"));
    cmd_env(&c, "SSH_PUBLIC_KEY", world_get(&w, "SSH_PUBLIC_KEY"));
    run_watched(&c, &r);
    expect_status("ontap, ssh", &r, 0, "copy complete");
    assert_non_null(strstr(buf_cstr(&r.out), "\"method\":\"ssh\""));
    expect_no_secret("ontap, ssh", &r);
    run_free(&r);
    cmd_free(&c);
}

static void
test_pod_mode(void **state)
{
    struct cmd c;
    struct run r;

    (void)state;
    reset_faults();
    cmd_manual(&c, &vendors[0], "text");
    /* The PV comes from the kube-apiserver instead of the manual flags. */
    cmd_drop(&c, "--target-volume-");
    cmd_arg(&c, "--target-namespace=%s", world_get(&w, "WORLD_KUBE_NAMESPACE"));
    cmd_arg(&c, "--owner-name=%s", world_get(&w, "WORLD_KUBE_OWNER_NAME"));
    cmd_arg(&c, "--kubeconfig=%s", world_get(&w, "WORLD_KUBECONFIG"));
    cmd_env(&c, "HOST_LEASE_NAMESPACE", world_get(&w, "WORLD_KUBE_LEASE_NAMESPACE"));
    run_watched(&c, &r);
    expect_status("pod mode", &r, 0, "host lease acquired");
    expect_masked("pod mode", &r, "Authorization: ***");
    expect_no_secret("pod mode", &r);
    run_free(&r);
    cmd_free(&c);
}

static void
write_fault(const char *file_key, const char *line)
{
    FILE *f = fopen(world_get(&w, file_key), "w");

    assert_non_null(f);
    fprintf(f, "%s\n", line);
    fclose(f);
}

static void
test_failures(void **state)
{
    struct cmd c;
    struct run r;
    char body[2048];
    char cred[512];
    char *b64;
    char *esc;

    (void)state;
    /* A wrong vCenter password. */
    reset_faults();
    cmd_manual(&c, &vendors[0], "text");
    cmd_env(&c, "GOVMOMI_PASSWORD", PASS_WRONG_VC);
    run_watched(&c, &r);
    expect_status("wrong vCenter password", &r, 1, "vsphere login: ");
    expect_no_secret("wrong vCenter password", &r);
    run_free(&r);
    cmd_free(&c);

    /* A wrong array password. */
    cmd_manual(&c, &vendors[0], "json");
    cmd_env(&c, "STORAGE_PASSWORD", PASS_WRONG_ARR);
    run_watched(&c, &r);
    expect_status("wrong array password", &r, 1, "storage login: ");
    expect_no_secret("wrong array password", &r);
    run_free(&r);
    cmd_free(&c);

    /* The map call fails with a 500 whose body echoes the request's
     * credential, Basic and password as a Python server writes JSON. */
    snprintf(cred, sizeof(cred), "%s:%s", world_get(&w, "WORLD_ONTAP_USERNAME"), PASS_ONTAP);
    b64 = base64(cred);
    esc = json_escape(PASS_ONTAP, true, false);
    snprintf(body, sizeof(body),
             "lun_map_create http 500 {\"error\":{\"message\":\"map refused for Authorization: "
             "Basic %s (password %s)\",\"code\":\"1\"}}",
             b64, esc);
    free(b64);
    free(esc);
    write_fault("WORLD_ONTAP_FAULTS", body);
    cmd_manual(&c, &vendors[0], "text");
    run_watched(&c, &r);
    expect_status("500 on map", &r, 1, "map: ");
    expect_no_secret("500 on map", &r);
    run_free(&r);
    cmd_free(&c);

    /* The clone fails halfway on the host. */
    reset_faults();
    assert_int_equal(world_sh(&w, "echo FAIL_MIDWAY=1 > \"$WORLD_ROOT/etc/fake-vmkfstools.conf\""),
                     0);
    cmd_manual(&c, &vendors[2], "json");
    run_watched(&c, &r);
    expect_status("clone fails", &r, 1, "clone task failed");
    expect_no_secret("clone fails", &r);
    run_free(&r);
    cmd_free(&c);
    reset_faults();
}

/* Issue 14 item 1: over HTTP/2 libcurl shows request headers in info lines. */
static void
test_http2_authorization_masked(void **state)
{
    const char *server = world_get(&w, "WORLD_KUBE_SERVER");
    struct cmd c;
    struct run r;

    (void)state;
    reset_faults();
    cmd_manual(&c, &vendors[0], "text");
    cmd_drop(&c, "--storage-ca-file=");
    cmd_drop(&c, "--log-trace=");
    cmd_arg(&c, "--log-trace=http");
    cmd_arg(&c, "--storage-ca-file=%s", world_get(&w, "WORLD_KUBE_CA"));
    assert_int_equal(strncmp(server, "https://", 8), 0);
    cmd_env(&c, "STORAGE_HOSTNAME", server + 8);
    run_watched(&c, &r);
    /* The apiserver knows no Basic credentials: the login is refused. */
    expect_status("HTTP/2 peer", &r, 1, "storage login: ");
    expect_no_secret("HTTP/2 peer", &r);
    /* ...and the credential was in the trace, masked, in libcurl's HTTP/2 shape. */
    expect_masked("HTTP/2 peer", &r, "using HTTP/2");
    if (strstr(buf_cstr(&r.err), "h2h3 [authorization: ***]") == NULL &&
        strstr(buf_cstr(&r.err), "] [authorization: ***]") == NULL)
        fail_msg("no masked HTTP/2 authorization info line in:\n%s", buf_cstr(&r.err));
    run_free(&r);
    cmd_free(&c);
}

static int
setup(void **state)
{
    static const char *const knobs[] = {
        "WORLD_NO_KUBE=0",
        "WORLD_NO_PRISM=1",
        "WORLD_PASS=" PASS_VCENTER,
        "WORLD_ONTAP_PASS=" PASS_ONTAP,
        "WORLD_POWERSTORE_PASS=" PASS_POWERSTORE,
        "WORLD_PRIMERA3PAR_PASS=" PASS_PRIMERA,
        "WORLD_INFINIBOX_PASS=" PASS_INFINIBOX,
        NULL,
    };

    (void)state;
    if (world_start_chroot(&w, knobs) < 0)
        return -1;
    /* The world took the hostile passwords as given. */
    assert_string_equal(world_get(&w, "GOVMOMI_PASSWORD"), PASS_VCENTER);
    assert_string_equal(world_get(&w, "WORLD_ONTAP_PASSWORD"), PASS_ONTAP);
    assert_string_equal(world_get(&w, "WORLD_INFINIBOX_PASSWORD"), PASS_INFINIBOX);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    collect_secrets();
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    world_stop(&w);
    curl_global_cleanup();
    for (size_t i = 0; i < nspellings; i++) {
        free(spellings[i].label);
        free(spellings[i].text);
    }
    nspellings = 0;
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vib_every_vendor), cmocka_unit_test(test_secrets_as_flags),
        cmocka_unit_test(test_ssh_method),       cmocka_unit_test(test_pod_mode),
        cmocka_unit_test(test_failures),         cmocka_unit_test(test_http2_authorization_masked),
    };

    return cmocka_run_group_tests_name("no secret in any output", tests, setup, teardown);
}
