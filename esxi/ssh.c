#include "esxi/ssh.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <openssl/crypto.h>

#include "lib/deadline.h"
#include "lib/log.h"

#define ESXI_SSH_COMP      "ssh"
#define DEFAULT_CONNECT_MS 30000
#define DEFAULT_COMMAND_MS 60000
#define DEFAULT_MAX_OUTPUT (1024 * 1024)
#define MAX_STDERR         (64 * 1024)
/* Longest wait in one poll, so that stderr is drained while stdout is quiet. */
#define POLL_SLICE_MS 500

struct esxi_ssh {
    ssh_session session;
    ssh_key key;    /* the imported private key, freed with the connection */
    char *password; /* when there is no key; wiped when freed */
    char *host;
    char *user;
    char *known_hosts;
    unsigned int port;
    long connect_timeout_ms;
    long command_timeout_ms;
    size_t max_output;
    char target[300];
    char fingerprint[128];
    char *hostkey; /* "<type> <base64>" of the key met, for known_hosts */
    unsigned connects;
    bool initialised; /* ssh_init() was called for this connection */
};

/* Bounds the next blocking libssh call by ms (at least 1 ms). */
static void
set_timeout(ssh_session ses, long ms)
{
    long sec;
    long usec;

    if (ms < 1)
        ms = 1;
    sec = ms / 1000;
    usec = (ms % 1000) * 1000;
    ssh_options_set(ses, SSH_OPTIONS_TIMEOUT, &sec);
    ssh_options_set(ses, SSH_OPTIONS_TIMEOUT_USEC, &usec);
}

static bool
looks_like_timeout(const char *msg)
{
    return msg != NULL && (strstr(msg, "imeout") != NULL || strstr(msg, "timed out") != NULL);
}

/* SHA256 fingerprint ("SHA256:…") of a public key into out; "" when it cannot be made. */
static void
key_fingerprint(const ssh_key key, char *out, size_t size)
{
    unsigned char *hash = NULL;
    size_t hlen = 0;
    char *fp = NULL;

    out[0] = '\0';
    if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) < 0)
        return;
    fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
    if (fp != NULL)
        snprintf(out, size, "%s", fp);
    ssh_string_free_char(fp);
    ssh_clean_pubkey_hash(&hash);
}

/* True when a known_hosts host field (comma-separated patterns) names pattern exactly. */
static bool
hosts_field_has(const char *field, size_t len, const char *pattern)
{
    size_t plen = strlen(pattern);
    size_t i = 0;

    while (i < len) {
        size_t n = 0;

        while (i + n < len && field[i + n] != ',')
            n++;
        if (n == plen && memcmp(field + i, pattern, n) == 0)
            return true;
        i += n + 1;
    }
    return false;
}

/* The fingerprints the known_hosts file pins for this host, for a mismatch message.
 * Plain entries only (a hashed entry shows as "a hashed entry"). */
static void
pinned_fingerprints(const struct esxi_ssh *s, char *out, size_t size)
{
    char pattern[300];
    char line[16384];
    FILE *f;
    size_t used = 0;
    bool hashed = false;

    out[0] = '\0';
    if (s->port == 22)
        snprintf(pattern, sizeof(pattern), "%s", s->host);
    else
        snprintf(pattern, sizeof(pattern), "[%s]:%u", s->host, s->port);
    f = fopen(s->known_hosts, "r");
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *p = line + strspn(line, " \t");
        size_t hlen = strcspn(p, " \t\r\n");
        char *type;
        char *b64;
        ssh_key key = NULL;
        char fp[128];

        if (*p == '#' || *p == '@' || hlen == 0)
            continue;
        if (*p == '|') {
            hashed = true;
            continue;
        }
        if (!hosts_field_has(p, hlen, pattern))
            continue;
        type = strtok(p + hlen, " \t\r\n");
        b64 = type != NULL ? strtok(NULL, " \t\r\n") : NULL;
        if (b64 == NULL ||
            ssh_pki_import_pubkey_base64(b64, ssh_key_type_from_name(type), &key) != SSH_OK)
            continue;
        key_fingerprint(key, fp, sizeof(fp));
        ssh_key_free(key);
        if (fp[0] != '\0' && used + strlen(fp) + 3 < size)
            used += (size_t)snprintf(out + used, size - used, "%s%s", used > 0 ? ", " : "", fp);
    }
    fclose(f);
    if (used == 0 && hashed)
        snprintf(out, size, "a hashed entry");
}

/* "host" on port 22, "[host]:port" otherwise: the name known_hosts files use. */
static void
known_hosts_name(const struct esxi_ssh *s, char *out, size_t size)
{
    if (s->port == 22)
        snprintf(out, size, "%s", s->host);
    else
        snprintf(out, size, "[%s]:%u", s->host, s->port);
}

static int
remember_host_key(struct esxi_ssh *s, const ssh_key srv, struct perr *err)
{
    const char *type = ssh_key_type_to_char(ssh_key_type(srv));
    char *b64 = NULL;
    size_t n;

    if (type == NULL || ssh_pki_export_pubkey_base64(srv, &b64) != SSH_OK || b64 == NULL)
        return perr_set(err, PERR_SSH, "SSH to %s: cannot export the host key", s->target);
    n = strlen(type) + 1 + strlen(b64) + 1;
    s->hostkey = malloc(n);
    if (s->hostkey != NULL)
        snprintf(s->hostkey, n, "%s %s", type, b64);
    ssh_string_free_char(b64);
    return s->hostkey != NULL ? 0 : perr_set(err, PERR_NOMEM, "out of memory");
}

static int
check_host_key(struct esxi_ssh *s, struct perr *err)
{
    ssh_key srv = NULL;
    char fp[128];
    char pinned[512];
    enum ssh_known_hosts_e st;
    int rc = -1;

    if (ssh_get_server_publickey(s->session, &srv) != SSH_OK) {
        perr_set(err, PERR_SSH, "SSH to %s: cannot read the host key: %s", s->target,
                 ssh_get_error(s->session));
        goto out;
    }
    key_fingerprint(srv, fp, sizeof(fp));
    if (fp[0] == '\0') {
        perr_set(err, PERR_SSH, "SSH to %s: cannot compute the host key fingerprint", s->target);
        goto out;
    }
    if (s->fingerprint[0] != '\0' && strcmp(s->fingerprint, fp) != 0) {
        /* A reconnect must meet the key of the first connection, pinned or not. */
        perr_set(err, PERR_SSH,
                 "SSH to %s: the host key changed during the run: it was %s and is now %s",
                 s->target, s->fingerprint, fp);
        goto out;
    }
    snprintf(s->fingerprint, sizeof(s->fingerprint), "%s", fp);
    if (s->hostkey == NULL && remember_host_key(s, srv, err) < 0)
        goto out;
    if (s->known_hosts == NULL) {
        if (s->connects == 0)
            log_info(ESXI_SSH_COMP, "ESXi host key trusted", "host", s->target, "fingerprint", fp,
                     "trust", "accepted unpinned", "hint",
                     "set ESXI_SSH_KNOWN_HOSTS to a known_hosts file to pin it "
                     "(--write-known-hosts writes one)",
                     NULL);
        rc = 0;
        goto out;
    }
    st = ssh_session_is_known_server(s->session);
    switch (st) {
    case SSH_KNOWN_HOSTS_OK:
        if (s->connects == 0)
            log_info(ESXI_SSH_COMP, "ESXi host key trusted", "host", s->target, "fingerprint", fp,
                     "trust", "pinned", "file", s->known_hosts, NULL);
        rc = 0;
        break;
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
        pinned_fingerprints(s, pinned, sizeof(pinned));
        perr_set(err, PERR_SSH,
                 "SSH to %s: host key mismatch: the host presented %s but the known_hosts file "
                 "'%s' pins %s; if the host was reinstalled, update that file",
                 s->target, fp, s->known_hosts, pinned[0] != '\0' ? pinned : "another key");
        break;
    case SSH_KNOWN_HOSTS_NOT_FOUND:
    case SSH_KNOWN_HOSTS_UNKNOWN:
        if (s->port == 22)
            snprintf(pinned, sizeof(pinned), "%s", s->host);
        else
            snprintf(pinned, sizeof(pinned), "[%s]:%u", s->host, s->port);
        perr_set(err, PERR_SSH,
                 "SSH to %s: the host key %s is not in the known_hosts file '%s' (an entry for "
                 "'%s' is needed)",
                 s->target, fp, s->known_hosts, pinned);
        break;
    case SSH_KNOWN_HOSTS_ERROR:
    default:
        perr_set(err, PERR_SSH, "SSH to %s: cannot check the host key against '%s': %s", s->target,
                 s->known_hosts, ssh_get_error(s->session));
        break;
    }
out:
    ssh_key_free(srv);
    return rc;
}

static void
drop_session(struct esxi_ssh *s)
{
    if (s->session == NULL)
        return;
    if (ssh_is_connected(s->session))
        ssh_disconnect(s->session);
    ssh_free(s->session);
    s->session = NULL;
}

/* One connection: TCP, key exchange, host key, authentication, within the connect deadline. */
static int
connect_once(struct esxi_ssh *s, struct perr *err)
{
    struct deadline dl = deadline_in_ms(s->connect_timeout_ms);
    const char *pin = s->known_hosts != NULL ? s->known_hosts : "/dev/null";
    bool no_config = false;
    /* Each command is a few small packets, and closing one channel is
     * followed at once by opening the next: with Nagle's algorithm that
     * second write waits for the host's delayed ACK (40 ms or more) on every
     * command after the first. */
    int nodelay = 1;
    int r;

    drop_session(s);
    s->session = ssh_new();
    if (s->session == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    /* Nothing from files or the environment: no ssh config, no ~/.ssh, no
     * agent; host keys only from the given file. */
    if (ssh_options_set(s->session, SSH_OPTIONS_PROCESS_CONFIG, &no_config) < 0 ||
        ssh_options_set(s->session, SSH_OPTIONS_SSH_DIR, "/dev/null") < 0 ||
        ssh_options_set(s->session, SSH_OPTIONS_HOST, s->host) < 0 ||
        ssh_options_set(s->session, SSH_OPTIONS_PORT, &s->port) < 0 ||
        ssh_options_set(s->session, SSH_OPTIONS_USER, s->user) < 0 ||
        ssh_options_set(s->session, SSH_OPTIONS_KNOWNHOSTS, pin) < 0 ||
        ssh_options_set(s->session, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, pin) < 0 ||
        ssh_options_set(s->session, SSH_OPTIONS_NODELAY, &nodelay) < 0)
        return perr_set(err, PERR_SSH, "SSH to %s: cannot set options: %s", s->target,
                        ssh_get_error(s->session));
    set_timeout(s->session, deadline_remaining_ms(&dl));
    r = ssh_connect(s->session);
    if (r != SSH_OK) {
        const char *m = ssh_get_error(s->session);

        if (looks_like_timeout(m) || deadline_expired(&dl))
            return perr_set(err, PERR_TIMEOUT,
                            "SSH to %s: no connection within %ld s (SSH_TIMEOUT_SECONDS): %s",
                            s->target, s->connect_timeout_ms / 1000, m);
        return perr_set(err, PERR_NETWORK,
                        "SSH to %s failed: %s (is the SSH service of the ESXi host running and "
                        "reachable?)",
                        s->target, m);
    }
    if (check_host_key(s, err) < 0)
        return -1;
    if (deadline_expired(&dl))
        return perr_set(err, PERR_TIMEOUT, "SSH to %s: no login within %ld s (SSH_TIMEOUT_SECONDS)",
                        s->target, s->connect_timeout_ms / 1000);
    set_timeout(s->session, deadline_remaining_ms(&dl));
    r = s->key != NULL ? ssh_userauth_publickey(s->session, NULL, s->key)
                       : ssh_userauth_password(s->session, NULL, s->password);
    switch (r) {
    case SSH_AUTH_SUCCESS:
        break;
    case SSH_AUTH_DENIED:
    case SSH_AUTH_PARTIAL:
        return perr_set(err, PERR_AUTH, "SSH to %s: %s login as '%s' was refused", s->target,
                        s->key != NULL ? "public-key" : "password", s->user);
    case SSH_AUTH_AGAIN:
    case SSH_AUTH_INFO:
    case SSH_AUTH_ERROR:
    default:
        if (looks_like_timeout(ssh_get_error(s->session)) || deadline_expired(&dl))
            return perr_set(err, PERR_TIMEOUT,
                            "SSH to %s: no login within %ld s (SSH_TIMEOUT_SECONDS)", s->target,
                            s->connect_timeout_ms / 1000);
        return perr_set(err, PERR_SSH, "SSH to %s: login as '%s' failed: %s", s->target, s->user,
                        ssh_get_error(s->session));
    }
    s->connects++;
    log_debug(ESXI_SSH_COMP, "ssh connected", "host", s->target, "user", s->user, NULL);
    return 0;
}

static int
import_key(const struct esxi_ssh_opts *o, ssh_key *key, struct perr *err)
{
    char *copy = NULL;
    int r;

    *key = NULL;
    if (o->private_key == NULL || o->private_key_len == 0)
        return perr_set(err, PERR_USAGE, "SSH: no private key given (SSH_PRIVATE_KEY)");
    /* libssh wants a NUL-terminated string; the copy is wiped at once. */
    copy = malloc(o->private_key_len + 1);
    if (copy == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    memcpy(copy, o->private_key, o->private_key_len);
    copy[o->private_key_len] = '\0';
    r = ssh_pki_import_privkey_base64(copy, NULL, NULL, NULL, key);
    OPENSSL_cleanse(copy, o->private_key_len + 1);
    free(copy);
    if (r != SSH_OK) {
        *key = NULL;
        return perr_set(err, PERR_USAGE,
                        "SSH_PRIVATE_KEY: not a usable private key (PEM or OpenSSH format, "
                        "without a passphrase)");
    }
    return 0;
}

int
esxi_ssh_check_key(const unsigned char *key, size_t len, struct perr *err)
{
    struct esxi_ssh_opts o = {0};
    ssh_key k = NULL;

    o.private_key = key;
    o.private_key_len = len;
    if (import_key(&o, &k, err) < 0)
        return -1;
    ssh_key_free(k);
    return 0;
}

int
esxi_ssh_check_known_hosts(const char *path, struct perr *err)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned lineno = 0;
    unsigned entries = 0;
    int rc = -1;

    if (f == NULL)
        return perr_set(err, PERR_CONFIG, "known_hosts file '%s': %s", path, strerror(errno));
    while ((n = getline(&line, &cap, f)) >= 0) {
        struct ssh_knownhosts_entry *e = NULL;
        const char *p = line;

        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        p += strspn(p, " \t");
        if (*p == '\0' || *p == '#')
            continue;
        /* No host to match: libssh then only checks the line's shape and key. */
        if (ssh_known_hosts_parse_line(NULL, p, &e) != SSH_OK) {
            ssh_knownhosts_entry_free(e);
            perr_set(err, PERR_CONFIG,
                     "known_hosts file '%s': line %u is not 'HOSTS KEYTYPE BASE64-KEY'", path,
                     lineno);
            goto out;
        }
        ssh_knownhosts_entry_free(e);
        entries++;
    }
    if (ferror(f)) {
        perr_set(err, PERR_CONFIG, "known_hosts file '%s': read error", path);
        goto out;
    }
    if (entries == 0) {
        perr_set(err, PERR_CONFIG, "known_hosts file '%s' holds no host key", path);
        goto out;
    }
    rc = 0;
out:
    free(line);
    fclose(f);
    return rc;
}

int
esxi_ssh_open(const struct esxi_ssh_opts *o, struct esxi_ssh **out, struct perr *err)
{
    struct esxi_ssh *s = NULL;
    int rc = -1;

    *out = NULL;
    if (o->host == NULL || *o->host == '\0')
        return perr_set(err, PERR_USAGE, "SSH: no host given");
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    /* Reference-counted; needed when libssh is linked statically (no constructor). */
    if (ssh_init() != SSH_OK) {
        free(s);
        return perr_set(err, PERR_INTERNAL, "SSH: libssh initialisation failed");
    }
    s->initialised = true;
    s->port = o->port > 0 && o->port <= 65535 ? (unsigned int)o->port : 22;
    s->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT_MS;
    s->command_timeout_ms = o->command_timeout_ms > 0 ? o->command_timeout_ms : DEFAULT_COMMAND_MS;
    s->max_output = o->max_output > 0 ? o->max_output : DEFAULT_MAX_OUTPUT;
    s->host = strdup(o->host);
    s->user = strdup(o->user != NULL ? o->user : "root");
    s->known_hosts = o->known_hosts != NULL ? strdup(o->known_hosts) : NULL;
    if (s->host == NULL || s->user == NULL || (o->known_hosts != NULL && s->known_hosts == NULL)) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    snprintf(s->target, sizeof(s->target), "%s:%u", s->host, s->port);
    if (o->private_key == NULL && o->password != NULL) {
        s->password = strdup(o->password);
        if (s->password == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
    } else if (import_key(o, &s->key, err) < 0) {
        goto out;
    }
    if (connect_once(s, err) < 0)
        goto out;
    *out = s;
    s = NULL;
    rc = 0;
out:
    esxi_ssh_close(s);
    return rc;
}

void
esxi_ssh_close(struct esxi_ssh *s)
{
    if (s == NULL)
        return;
    drop_session(s);
    ssh_key_free(s->key);
    if (s->password != NULL)
        OPENSSL_cleanse(s->password, strlen(s->password));
    free(s->password);
    free(s->host);
    free(s->user);
    free(s->known_hosts);
    free(s->hostkey);
    if (s->initialised)
        ssh_finalize();
    free(s);
}

void
esxi_ssh_result_clear(struct esxi_ssh_result *r)
{
    buf_free(&r->out);
    buf_free(&r->err);
    r->exit_status = -1;
    r->ms = 0;
}

const char *
esxi_ssh_fingerprint(const struct esxi_ssh *s)
{
    return s->fingerprint;
}

const char *
esxi_ssh_target(const struct esxi_ssh *s)
{
    return s->target;
}

unsigned
esxi_ssh_connects(const struct esxi_ssh *s)
{
    return s->connects;
}

/* Moves what is buffered on one stream of ch into b; -1 on a channel error. */
static int
drain(struct esxi_ssh *s, ssh_channel ch, int is_stderr, struct esxi_ssh_result *res,
      struct perr *err)
{
    char chunk[16384];
    struct buf *b = is_stderr ? &res->err : &res->out;

    for (;;) {
        int n = ssh_channel_read_nonblocking(ch, chunk, sizeof(chunk), is_stderr);

        if (n == 0 || n == SSH_EOF)
            return 0;
        if (n < 0)
            return perr_set(err, PERR_SSH, "SSH to %s: reading the command's output failed: %s",
                            s->target, ssh_get_error(s->session));
        if (is_stderr) {
            /* Keep the start of stderr; drop what passes the cap. */
            size_t room = b->len < MAX_STDERR ? MAX_STDERR - b->len : 0;

            if (room > 0 && buf_add(b, chunk, (size_t)n < room ? (size_t)n : room, err) < 0)
                return -1;
        } else if (b->len + (size_t)n > s->max_output) {
            return perr_set(err, PERR_PROTOCOL,
                            "SSH to %s: the command printed more than %zu bytes", s->target,
                            s->max_output);
        } else if (buf_add(b, chunk, (size_t)n, err) < 0) {
            return -1;
        }
    }
}

/* Opens a session channel and starts command; reconnects once when the connection was lost. */
static int
start_command(struct esxi_ssh *s, const char *command, const struct deadline *dl, ssh_channel *out,
              struct perr *err)
{
    ssh_channel ch = NULL;

    *out = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (s->session == NULL || !ssh_is_connected(s->session)) {
            log_warn(ESXI_SSH_COMP, "SSH connection lost; connecting again", "host", s->target,
                     NULL);
            if (connect_once(s, err) < 0)
                return -1;
        }
        ch = ssh_channel_new(s->session);
        if (ch == NULL)
            return perr_set(err, PERR_NOMEM, "out of memory");
        set_timeout(s->session, deadline_remaining_ms(dl));
        if (ssh_channel_open_session(ch) == SSH_OK)
            break;
        ssh_channel_free(ch);
        ch = NULL;
        /* Only a lost connection is worth another try: the command never ran. */
        if (attempt > 0 || ssh_is_connected(s->session))
            return perr_set(err, deadline_expired(dl) ? PERR_TIMEOUT : PERR_SSH,
                            "SSH to %s: cannot open a channel: %s", s->target,
                            ssh_get_error(s->session));
    }
    set_timeout(s->session, deadline_remaining_ms(dl));
    if (ssh_channel_request_exec(ch, command) != SSH_OK) {
        perr_set(err, deadline_expired(dl) ? PERR_TIMEOUT : PERR_SSH,
                 "SSH to %s: cannot start the command: %s", s->target, ssh_get_error(s->session));
        ssh_channel_free(ch);
        return -1;
    }
    *out = ch;
    return 0;
}

/* Writes all of input to the command's stdin, then end-of-file. */
static int
send_input(struct esxi_ssh *s, ssh_channel ch, const void *input, size_t len,
           const struct deadline *dl, struct perr *err)
{
    const char *p = input;

    while (len > 0) {
        uint32_t n = len > 32768 ? 32768 : (uint32_t)len;
        int w;

        set_timeout(s->session, deadline_remaining_ms(dl));
        w = ssh_channel_write(ch, p, n);
        if (w <= 0)
            return perr_set(err, deadline_expired(dl) ? PERR_TIMEOUT : PERR_SSH,
                            "SSH to %s: sending the command's input failed: %s", s->target,
                            ssh_get_error(s->session));
        p += w;
        len -= (size_t)w;
    }
    if (ssh_channel_send_eof(ch) != SSH_OK)
        return perr_set(err, PERR_SSH, "SSH to %s: closing the command's input failed: %s",
                        s->target, ssh_get_error(s->session));
    return 0;
}

int
esxi_ssh_exec(struct esxi_ssh *s, const char *command, long timeout_ms, struct esxi_ssh_result *res,
              struct perr *err)
{
    return esxi_ssh_exec_input(s, command, NULL, 0, timeout_ms, res, err);
}

int
esxi_ssh_exec_input(struct esxi_ssh *s, const char *command, const void *input, size_t input_len,
                    long timeout_ms, struct esxi_ssh_result *res, struct perr *err)
{
    long limit = timeout_ms > 0 ? timeout_ms : s->command_timeout_ms;
    struct deadline dl = deadline_in_ms(limit);
    int64_t start = mono_now_ms();
    ssh_channel ch = NULL;
    char status[16];
    char took[24];
    int rc = -1;

    memset(res, 0, sizeof(*res));
    res->exit_status = -1;
    log_debug(ESXI_SSH_COMP, "ssh command", "host", s->target, "command", command, NULL);
    if (start_command(s, command, &dl, &ch, err) < 0)
        goto out;
    if (input != NULL && send_input(s, ch, input, input_len, &dl, err) < 0)
        goto out;
    for (;;) {
        long wait = deadline_remaining_ms(&dl);

        if (wait <= 0) {
            perr_set(err, PERR_TIMEOUT,
                     "SSH to %s: command did not finish within %ld s and was cut off: %.300s",
                     s->target, limit / 1000 > 0 ? limit / 1000 : 1, command);
            goto out;
        }
        if (ssh_channel_poll_timeout(ch, (int)(wait < POLL_SLICE_MS ? wait : POLL_SLICE_MS), 0) ==
            SSH_ERROR) {
            perr_set(err, PERR_SSH, "SSH to %s: waiting for the command failed: %s", s->target,
                     ssh_get_error(s->session));
            goto out;
        }
        if (drain(s, ch, 0, res, err) < 0 || drain(s, ch, 1, res, err) < 0)
            goto out;
        if (ssh_channel_is_eof(ch))
            break;
    }
    /* The exit status follows the end of the output; it is bounded by the same deadline
     * (with a little grace so that a command that just finished is not cut off). */
    set_timeout(s->session, deadline_remaining_ms(&dl) > 1000 ? deadline_remaining_ms(&dl) : 1000);
    res->exit_status = ssh_channel_get_exit_status(ch);
    res->ms = (long)(mono_now_ms() - start);
    snprintf(status, sizeof(status), "%d", res->exit_status);
    snprintf(took, sizeof(took), "%ld", res->ms);
    log_debug(ESXI_SSH_COMP, "ssh command done", "host", s->target, "exit", status, "ms", took,
              NULL);
    if (log_trace_on(ESXI_SSH_COMP)) {
        log_trace(ESXI_SSH_COMP, "ssh stdout", "body", buf_cstr(&res->out), NULL);
        log_trace(ESXI_SSH_COMP, "ssh stderr", "body", buf_cstr(&res->err), NULL);
    }
    rc = 0;
out:
    if (ch != NULL) {
        set_timeout(s->session, 2000);
        ssh_channel_close(ch);
        ssh_channel_free(ch);
    }
    if (rc < 0) {
        res->ms = (long)(mono_now_ms() - start);
        log_debug(ESXI_SSH_COMP, "ssh command failed", "host", s->target, "error", err->msg, NULL);
    }
    return rc;
}

int
esxi_ssh_write_known_hosts(const struct esxi_ssh *s, const char *path, struct perr *err)
{
    char name[300];
    char line[16384];
    char *tmp = NULL;
    const char *slash = strrchr(path, '/');
    FILE *in = NULL;
    FILE *out = NULL;
    int fd = -1;
    int rc = -1;

    if (s->hostkey == NULL)
        return perr_set(err, PERR_INTERNAL, "no host key met yet");
    known_hosts_name(s, name, sizeof(name));
    /* The new file sits next to the old one, so that rename() replaces it in one step. */
    if (asprintf(&tmp, "%.*s.known_hosts-XXXXXX", slash != NULL ? (int)(slash - path + 1) : 0,
                 path) < 0) {
        tmp = NULL;
        return perr_set(err, PERR_NOMEM, "out of memory");
    }
    fd = mkstemp(tmp);
    if (fd < 0 || fchmod(fd, 0644) < 0 || (out = fdopen(fd, "w")) == NULL) {
        perr_set(err, PERR_CONFIG, "--write-known-hosts: cannot create a file next to '%s': %s",
                 path, strerror(errno));
        goto out;
    }
    fd = -1;
    /* Every other entry stays; an entry naming only this host is replaced. */
    in = fopen(path, "r");
    if (in == NULL && errno != ENOENT) {
        perr_set(err, PERR_CONFIG, "--write-known-hosts: cannot read '%s': %s", path,
                 strerror(errno));
        goto out;
    }
    while (in != NULL && fgets(line, sizeof(line), in) != NULL) {
        const char *p = line + strspn(line, " \t");
        size_t hlen = strcspn(p, " \t\r\n");

        if (*p != '#' && *p != '@' && hlen == strlen(name) && memcmp(p, name, hlen) == 0)
            continue;
        if (fputs(line, out) == EOF || (line[strlen(line) - 1] != '\n' && fputc('\n', out) == EOF))
            break;
    }
    if (fprintf(out, "%s %s\n", name, s->hostkey) < 0 || fflush(out) != 0 ||
        fsync(fileno(out)) != 0) {
        perr_set(err, PERR_CONFIG, "--write-known-hosts: cannot write '%s': %s", tmp,
                 strerror(errno));
        goto out;
    }
    if (fclose(out) != 0) {
        out = NULL;
        perr_set(err, PERR_CONFIG, "--write-known-hosts: cannot write '%s': %s", tmp,
                 strerror(errno));
        goto out;
    }
    out = NULL;
    if (rename(tmp, path) < 0) {
        perr_set(err, PERR_CONFIG, "--write-known-hosts: cannot replace '%s': %s", path,
                 strerror(errno));
        goto out;
    }
    log_info(ESXI_SSH_COMP, "ESXi host key written", "host", s->target, "fingerprint",
             s->fingerprint, "file", path, NULL);
    rc = 0;
out:
    if (in != NULL)
        fclose(in);
    if (out != NULL)
        fclose(out);
    if (fd >= 0)
        close(fd);
    if (rc < 0 && tmp != NULL)
        unlink(tmp);
    free(tmp);
    return rc;
}
