#include "esxi/ssh_carrier.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/tree.h>
#include <openssl/rand.h>

#include "esxi/ssh.h"
#include "esxi/vib.h"
#include "esxi/vim_calls.h"
#include "esxi/vim_xml.h"
#include "esxi/wrapper.h"
#include "lib/buf.h"
#include "lib/log.h"

#define CARRIER_COMP "ssh"
#define MAX_REPLY    (1024 * 1024)

/* The Go populator's RestrictedSSHCommandTemplate as it stands inside
 * command="…" (forklift-populator-behaviour §6.1); test/sim/ssh/start-sshd
 * writes the same text, and the tests compare the two. */
static const char go_command[] =
    "sh -c 'DS=$(echo \\\"$SSH_ORIGINAL_COMMAND\\\" | sed -n \\\"s/^DS=\\\\([^;]*\\\\)"
    ";.*/\\\\1/p\\\"); CMD=$(echo \\\"$SSH_ORIGINAL_COMMAND\\\" | sed -n \\\"s/^DS=[^"
    ";]*;CMD=\\\\(.*\\\\)/\\\\1/p\\\"); if [ -z \\\"$DS\\\" ]; then echo \\\"SSH_OK\\\""
    "; else SSH_ORIGINAL_COMMAND=\\\"$CMD\\\" exec sh /vmfs/volumes/$DS/secure-vmkfst"
    "ools-wrapper; fi'";

/* The line this product prints: the same protocol, safe for every datastore
 * name.  Only the first line of SSH_ORIGINAL_COMMAND is read (printf, not
 * echo, so that no backslash is interpreted); "$DS" is quoted (no splitting,
 * no glob); a name with '/' or one that is "." or ".." is refused, so the
 * path cannot leave /vmfs/volumes/<one directory>/. */
static const char improved_command[] =
    "sh -c 'DS=$(printf \\\"%s\\\\n\\\" \\\"$SSH_ORIGINAL_COMMAND\\\" | sed -n "
    "\\\"1s/^DS=\\\\([^;]*\\\\);.*/\\\\1/p\\\"); CMD=$(printf \\\"%s\\\\n\\\" "
    "\\\"$SSH_ORIGINAL_COMMAND\\\" | sed -n \\\"1s/^DS=[^;]*;CMD=\\\\(.*\\\\)/\\\\1/p\\\"); "
    "if [ -z \\\"$DS\\\" ]; then echo \\\"SSH_OK\\\"; else case \\\"$DS\\\" in */*|.|..) "
    "echo \\\"invalid datastore name\\\" >&2; exit 1;; esac; "
    "SSH_ORIGINAL_COMMAND=\\\"$CMD\\\" exec sh \\\"/vmfs/volumes/$DS/"
    "secure-vmkfstools-wrapper\\\"; fi'";

struct ssh_carrier {
    struct esxi_ssh *ssh;
    char *datastore;
    char *remote_version; /* before any upload; "" when none answered */
    bool uploaded;
};

char *
ssh_authorized_keys_line(const char *public_key, enum ssh_key_line kind)
{
    struct buf b = {0};
    struct perr err = {0};
    size_t keylen = public_key != NULL ? strcspn(public_key, "\r\n") : 0;

    if (buf_adds(&b, "command=\"", &err) < 0 ||
        buf_adds(&b, kind == SSH_KEY_LINE_IMPROVED ? improved_command : go_command, &err) < 0 ||
        buf_adds(&b, "\",no-port-forwarding,no-agent-forwarding,no-X11-forwarding", &err) < 0 ||
        (kind == SSH_KEY_LINE_IMPROVED && buf_adds(&b, ",no-pty", &err) < 0) ||
        buf_adds(&b, " ", &err) < 0 ||
        buf_add(&b, public_key != NULL ? public_key : "", keylen, &err) < 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

/* Characters the Go key line's unquoted $DS splits or globs on. */
static bool
ds_needs_improved_line(const char *ds)
{
    return strpbrk(ds, " \t*?[") != NULL;
}

static int
check_datastore(const char *ds, struct perr *err)
{
    if (ds == NULL || *ds == '\0')
        return perr_set(err, PERR_USAGE, "ssh: no datastore name for the wrapper");
    if (strpbrk(ds, ";/\n\r") != NULL || strcmp(ds, ".") == 0 || strcmp(ds, "..") == 0)
        return perr_set(err, PERR_USAGE,
                        "ssh: the datastore name '%s' cannot be passed through the restricted SSH "
                        "command (it contains ';', '/' or a line break, or is '.' or '..')",
                        ds);
    return 0;
}

/* True when the wrapper's tokenizer and an unquoted `set --` (the Go
 * populator's wrapper) both read s as one word, unchanged. */
static bool
plain_word(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        if (!isalnum((unsigned char)*s) && strchr("-_./:=@%+,", *s) == NULL)
            return false;
    }
    return true;
}

/* A plain word as it is, anything else single-quoted: ordinary paths then
 * travel as the Go populator writes them, so either wrapper serves them. */
static int
add_word(struct buf *b, const char *s, struct perr *err)
{
    return plain_word(s) ? buf_adds(b, s, err) : buf_add_shell(b, s, err);
}

int
ssh_wrapper_command(const char *ds, const char *const args[], char **out, struct perr *err)
{
    struct buf b = {0};
    int rc = -1;

    *out = NULL;
    if (check_datastore(ds, err) < 0)
        goto out;
    if (buf_adds(&b, "DS=", err) < 0 || buf_adds(&b, ds, err) < 0 || buf_adds(&b, ";CMD=", err) < 0)
        goto out;
    for (size_t i = 0; args[i] != NULL; i++) {
        if (strpbrk(args[i], "\n\r") != NULL) {
            perr_set(err, PERR_USAGE,
                     "ssh: the wrapper argument '%s' contains a line break, which the restricted "
                     "SSH command cannot pass",
                     args[i]);
            goto out;
        }
        if ((i > 0 && buf_adds(&b, " ", err) < 0) || add_word(&b, args[i], err) < 0)
            goto out;
    }
    *out = buf_steal(&b);
    if (*out == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    buf_free(&b);
    return rc;
}

int
ssh_wrapper_reply_parse(const char *xml, size_t len, struct wrapper_reply *out, struct perr *err)
{
    xmlDoc *doc = NULL;
    xmlNode *structure;
    char *status = NULL;
    char *message = NULL;
    char *end = NULL;
    long st;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (vim_xml_parse(xml, len, MAX_REPLY, &doc, err) < 0)
        goto out;
    structure = vim_xml_child(xmlDocGetRootElement(doc), "structure");
    for (xmlNode *f = vim_xml_child(structure, "field"); f != NULL; f = vim_xml_next_same(f)) {
        xmlChar *name = xmlGetNoNsProp(f, (const xmlChar *)"name");
        char **slot = NULL;

        if (name != NULL && strcmp((const char *)name, "status") == 0)
            slot = &status;
        else if (name != NULL && strcmp((const char *)name, "message") == 0)
            slot = &message;
        xmlFree(name);
        if (slot != NULL && *slot == NULL)
            *slot = vim_xml_path_text(f, "string");
    }
    if (status == NULL) {
        perr_set(err, PERR_PROTOCOL, "wrapper reply: status field not found");
        goto out;
    }
    st = strtol(status, &end, 10);
    if (end == status || *end != '\0' || st < 0 || st > 255) {
        perr_set(err, PERR_PROTOCOL, "wrapper reply: bad status '%s'", status);
        goto out;
    }
    out->status = (int)st;
    out->message = message != NULL ? message : strdup("");
    message = NULL;
    if (out->message == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    if (doc != NULL)
        xmlFreeDoc(doc);
    free(status);
    free(message);
    return rc;
}

static int
ssh_call(void *impl, const char *const args[], struct wrapper_reply *out, struct perr *err)
{
    struct ssh_carrier *c = impl;
    struct esxi_ssh_result res = {0};
    char *cmd = NULL;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (ssh_wrapper_command(c->datastore, args, &cmd, err) < 0)
        goto out;
    if (esxi_ssh_exec(c->ssh, cmd, 0, &res, err) < 0) {
        perr_prefix(err, "wrapper %s over ssh: ", args[0]);
        goto out;
    }
    if (ssh_wrapper_reply_parse(res.out.data != NULL ? res.out.data : "", res.out.len, out, err) <
        0) {
        char so[200];
        char se[300];

        str_excerpt(buf_cstr(&res.out), so, sizeof(so));
        str_excerpt(buf_cstr(&res.err), se, sizeof(se));
        perr_clear(err);
        perr_set(err, PERR_PROTOCOL,
                 "wrapper %s over ssh: no wrapper reply from /vmfs/volumes/%s/" SSH_WRAPPER_NAME
                 " (exit status %d, output '%s', errors '%s')",
                 args[0], c->datastore, res.exit_status, so, se);
        goto out;
    }
    rc = 0;
out:
    esxi_ssh_result_clear(&res);
    free(cmd);
    return rc;
}

static bool
is_ssh_carrier(const struct wrapper_carrier *c)
{
    return c != NULL && c->call == ssh_call && c->impl != NULL;
}

bool
ssh_carrier_uploaded(const struct wrapper_carrier *c)
{
    return is_ssh_carrier(c) && ((const struct ssh_carrier *)c->impl)->uploaded;
}

const char *
ssh_carrier_remote_version(const struct wrapper_carrier *c)
{
    const struct ssh_carrier *sc = is_ssh_carrier(c) ? c->impl : NULL;

    return sc != NULL && sc->remote_version != NULL ? sc->remote_version : "";
}

static void
carrier_free(struct ssh_carrier *c)
{
    if (c == NULL)
        return;
    esxi_ssh_close(c->ssh);
    free(c->datastore);
    free(c->remote_version);
    free(c);
}

void
ssh_carrier_close(struct wrapper_carrier *c)
{
    if (!is_ssh_carrier(c))
        return;
    carrier_free(c->impl);
    c->impl = NULL;
}

/* Logs the full instructions (the error message may be too short for an RSA key). */
static void
log_key_instructions(const char *why, const char *line)
{
    log_warn(CARRIER_COMP, "ESXi SSH key setup needed", "reason", why, "file",
             SSH_AUTHORIZED_KEYS_PATH, "line", line, "steps",
             "enable SSH on the ESXi host, log in as root, add the line to the file (one line; "
             "it replaces an older line for the same key, such as the Go populator's, which "
             "ends in 'exec sh /vmfs/volumes/$DS/" SSH_WRAPPER_NAME "; fi'), save, and run the "
             "migration again; the line routes DS=<datastore>;CMD=<command> to "
             "/vmfs/volumes/<datastore>/" SSH_WRAPPER_NAME,
             NULL);
}

static int
probe(struct ssh_carrier *c, const char *target, const char *key_line, struct perr *err)
{
    struct esxi_ssh_result res = {0};
    char answer[120];
    int rc = -1;

    if (esxi_ssh_exec(c->ssh, SSH_PROBE_COMMAND, 0, &res, err) < 0) {
        perr_prefix(err, "SSH connectivity probe: ");
        goto out;
    }
    str_excerpt(buf_cstr(&res.out), answer, sizeof(answer));
    if (strcmp(answer, "SSH_OK") != 0) {
        log_key_instructions("the key is not restricted to the populator's command", key_line);
        perr_set(err, PERR_SSH,
                 "SSH to %s: the login works but the connectivity probe answered '%s' instead of "
                 "SSH_OK, so the key is not restricted to the populator's command; on the ESXi "
                 "host, put this line in " SSH_AUTHORIZED_KEYS_PATH " (then retry): %s",
                 target, answer, key_line);
        goto out;
    }
    log_debug(CARRIER_COMP, "SSH connectivity probe answered SSH_OK", "host", target, NULL);
    rc = 0;
out:
    esxi_ssh_result_clear(&res);
    return rc;
}

/* Writes the embedded wrapper to the datastore under a temporary name, then
 * moves it onto the final name in one step. */
static int
upload_wrapper(const struct ssh_carrier_opts *o, struct perr *err)
{
    size_t len = 0;
    const unsigned char *script = esxi_wrapper_script(&len);
    unsigned char rnd[6];
    char tmp[128];
    char *dc_moref = NULL;
    char *dc_name = NULL;
    bool written = false;
    int rc = -1;

    if (o->vim == NULL || o->host == NULL) {
        perr_set(err, PERR_USAGE, "no vCenter session to upload the wrapper with");
        goto out;
    }
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        perr_set(err, PERR_INTERNAL, "no random bytes for a temporary file name");
        goto out;
    }
    snprintf(tmp, sizeof(tmp), ".%s.upload-%ld-%02x%02x%02x%02x%02x%02x", SSH_WRAPPER_NAME,
             (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
    if (vim_host_datacenter(o->vim, o->host, &dc_moref, &dc_name, err) < 0 ||
        vim_datastore_upload(o->vim, dc_name, o->datastore, tmp, script, len, err) < 0)
        goto out;
    written = true;
    if (vim_datastore_move(o->vim, dc_moref, o->datastore, tmp, SSH_WRAPPER_NAME, err) < 0)
        goto out;
    written = false;
    rc = 0;
out:
    if (written) {
        struct perr tmperr = {0};

        if (vim_datastore_delete(o->vim, dc_moref, o->datastore, tmp, &tmperr) < 0)
            log_warn(CARRIER_COMP, "cannot remove the temporary wrapper upload", "file", tmp,
                     "error", tmperr.msg, NULL);
    }
    if (rc < 0)
        perr_prefix(err, "upload of the wrapper to datastore '%s': ", o->datastore);
    free(dc_moref);
    free(dc_name);
    return rc;
}

/* Errors of --version that mean "no usable wrapper there" (an upload may fix them). */
static bool
wrapper_missing(const struct perr *e)
{
    return e->code == PERR_PROTOCOL || e->code == PERR_REMOTE;
}

static int
ensure_wrapper(struct ssh_carrier *c, struct wrapper_carrier *wc, const struct ssh_carrier_opts *o,
               const char *key_line, struct perr *err)
{
    const char *want = esxi_wrapper_version();
    struct perr first = {0};
    struct perr again = {0};
    char *have = NULL;
    char *after = NULL;
    int cmp = 0;
    int rc = -1;

    if (clone_wrapper_version(wc, &have, &first) == 0 &&
        (strcmp(have, want) == 0 || (version_compare(have, want, &cmp) == 0 && cmp > 0))) {
        /* Newer than ours: another populator's (or a later release's) wrapper
         * speaks the same protocol; overwriting it would only start a tug of war. */
        log_debug(CARRIER_COMP, cmp > 0 ? "wrapper is newer than ours; kept" : "wrapper is current",
                  "datastore", c->datastore, "version", have, "ours", want, NULL);
        c->remote_version = have;
        return 0;
    }
    cmp = 0;
    if (have == NULL && !wrapper_missing(&first)) {
        /* A timeout or a broken connection: not something an upload repairs. */
        if (!perr_failed(err))
            *err = first;
        return -1;
    }
    c->remote_version = have != NULL ? have : strdup("");
    if (c->remote_version == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    /* A check that must change nothing reports what it found instead. */
    if (o->no_upload)
        return 0;
    log_info(CARRIER_COMP, "uploading the wrapper", "datastore", c->datastore, "found",
             have != NULL ? have : "none", "version", want, "reason",
             have != NULL ? "other version" : first.msg, NULL);
    if (upload_wrapper(o, err) < 0)
        goto out;
    c->uploaded = true;
    if (clone_wrapper_version(wc, &after, &again) == 0 && strcmp(after, want) == 0) {
        log_info(CARRIER_COMP, "wrapper uploaded", "datastore", c->datastore, "version", after,
                 NULL);
        rc = 0;
        goto out;
    }
    if (ds_needs_improved_line(c->datastore)) {
        log_key_instructions("the datastore name has spaces or wildcard characters", key_line);
        perr_set(err, PERR_SSH,
                 "the wrapper on datastore '%s' cannot be run over SSH: the Go populator's "
                 "restricted key line passes the datastore name unquoted to sh, which breaks on "
                 "spaces and wildcards; replace that line (the one with 'exec sh "
                 "/vmfs/volumes/$DS/') in " SSH_AUTHORIZED_KEYS_PATH
                 " with this one, which quotes it: %s",
                 c->datastore, key_line);
    } else if (after == NULL) {
        log_key_instructions("old key format", key_line);
        perr_set(err, PERR_SSH,
                 "old script format detected (likely Python-based). Update script on datastore "
                 "%s to version %s or newer: %s; in " SSH_AUTHORIZED_KEYS_PATH
                 " delete the lines ending in " SSH_WRAPPER_NAME ".py or " SSH_WRAPPER_NAME
                 "-$UUID.py and add: %s",
                 c->datastore, want, again.msg, key_line);
    } else {
        bool older = version_compare(after, want, &cmp) == 0 && cmp < 0;

        log_key_instructions(older ? "old key format" : "unexpected wrapper version", key_line);
        perr_set(
            err, PERR_SSH,
            "version mismatch: uploaded %s, but SSH returned %s%s; in " SSH_AUTHORIZED_KEYS_PATH
            " delete the lines ending in " SSH_WRAPPER_NAME ".py or " SSH_WRAPPER_NAME
            "-$UUID.py and add: %s",
            want, after, older ? " - old SSH key format detected" : "", key_line);
    }
out:
    if (c->remote_version != have)
        free(have);
    free(after);
    return rc;
}

int
ssh_carrier_open(const struct ssh_carrier_opts *o, struct wrapper_carrier *out, struct perr *err)
{
    struct esxi_ssh_opts so = {0};
    struct ssh_carrier *c = NULL;
    struct perr conn = {0};
    char *ip = NULL;
    char *key_line = NULL;
    char target[300];
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (check_datastore(o->datastore, err) < 0)
        goto out;
    c = calloc(1, sizeof(*c));
    /* Every message offers the safe line, whatever line the host has now. */
    key_line = ssh_authorized_keys_line(o->public_key, SSH_KEY_LINE_IMPROVED);
    if (c == NULL || key_line == NULL || (c->datastore = strdup(o->datastore)) == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    if (o->ip != NULL) {
        ip = strdup(o->ip);
        if (ip == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
    } else if (o->vim == NULL || o->host == NULL) {
        perr_set(err, PERR_USAGE, "ssh: neither an IP address nor a host to look it up");
        goto out;
    } else if (vim_host_mgmt_ip(o->vim, o->host, &ip, err) < 0) {
        goto out;
    }
    snprintf(target, sizeof(target), "%s:%ld", ip, o->port > 0 ? o->port : 22);
    so.host = ip;
    so.port = o->port;
    so.user = "root";
    so.private_key = o->private_key;
    so.private_key_len = o->private_key_len;
    so.known_hosts = o->known_hosts;
    so.connect_timeout_ms = o->connect_timeout_ms;
    so.command_timeout_ms = o->command_timeout_ms;
    if (esxi_ssh_open(&so, &c->ssh, &conn) < 0) {
        if (conn.code == PERR_AUTH) {
            log_key_instructions("public-key login refused", key_line);
            perr_set(err, PERR_AUTH,
                     "SSH to %s: public-key login as 'root' was refused; on the ESXi host, add "
                     "this line to " SSH_AUTHORIZED_KEYS_PATH " (then retry): %s",
                     target, key_line);
        } else if (!perr_failed(err)) {
            *err = conn;
        }
        goto out;
    }
    if (o->write_known_hosts != NULL &&
        esxi_ssh_write_known_hosts(c->ssh, o->write_known_hosts, err) < 0)
        goto out;
    if (probe(c, target, key_line, err) < 0)
        goto out;
    out->name = "ssh";
    out->call = ssh_call;
    out->impl = c;
    if (ensure_wrapper(c, out, o, key_line, err) < 0)
        goto out;
    c = NULL;
    rc = 0;
out:
    if (rc < 0)
        memset(out, 0, sizeof(*out));
    carrier_free(c);
    free(ip);
    free(key_line);
    return rc;
}
