#include "lib/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lib/buf.h"

/* Each credential is registered in up to about twenty spellings (see log_add_secret). */
#define LOG_MAX_SECRETS 2048

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum log_level log_min = LOGL_INFO;
static enum log_format log_fmt = LOG_FORMAT_TEXT;
static char *log_trace_list;
static FILE *log_stream;
static char *log_secrets[LOG_MAX_SECRETS];
static size_t log_nsecrets;

static const char *const log_names[] = {"error", "warn", "info", "debug", "trace"};

void
log_init(enum log_level min, enum log_format format, const char *trace_components)
{
    pthread_mutex_lock(&log_lock);
    log_min = min;
    log_fmt = format;
    free(log_trace_list);
    log_trace_list = trace_components != NULL ? strdup(trace_components) : NULL;
    pthread_mutex_unlock(&log_lock);
}

void
log_set_stream(FILE *stream)
{
    pthread_mutex_lock(&log_lock);
    log_stream = stream;
    pthread_mutex_unlock(&log_lock);
}

static void log_add_secret_one(const char *value);

/* value, and value JSON-escaped once and twice (a JSON body quoted in a JSON line). */
static void
log_add_secret_json(const char *value)
{
    struct buf esc = {0};
    struct buf esc2 = {0};
    struct perr err = {0};

    log_add_secret_one(value);
    if (buf_add_json(&esc, value, &err) < 0 || esc.len < 2)
        goto out;
    esc.data[esc.len - 1] = '\0';
    if (strcmp(esc.data + 1, value) == 0)
        goto out;
    log_add_secret_one(esc.data + 1);
    if (buf_add_json(&esc2, esc.data + 1, &err) == 0 && esc2.len >= 2) {
        esc2.data[esc2.len - 1] = '\0';
        log_add_secret_one(esc2.data + 1);
    }
out:
    buf_free_secret(&esc);
    buf_free_secret(&esc2);
}

/* Registers one encoding of a secret (made by add) when it differs from the value. */
static void
log_add_secret_form(const char *value, int (*add)(struct buf *, const char *, struct perr *))
{
    struct buf b = {0};
    struct perr err = {0};

    if (add(&b, value, &err) == 0 && b.data != NULL && strcmp(b.data, value) != 0)
        log_add_secret_json(b.data);
    buf_free_secret(&b);
}

enum log_json_style {
    LOG_JSON_ASCII_LOWER, /* non-ASCII as \u00e4: Python's json.dumps */
    LOG_JSON_ASCII_UPPER, /* non-ASCII as \u00E4: jansson's JSON_ENSURE_ASCII */
    LOG_JSON_HTML_SAFE,   /* <, > and & as \u003c...: Go's encoding/json */
};

/* The content of a JSON string as other encoders write it: the servers we
 * talk to may echo a credential back in an error body, and our own JSON
 * result escapes non-ASCII. */
static int
log_json_u(struct buf *b, unsigned cp, enum log_json_style style, struct perr *err)
{
    return style == LOG_JSON_ASCII_UPPER ? buf_addf(b, err, "\\u%04X", cp)
                                         : buf_addf(b, err, "\\u%04x", cp);
}

static int
log_json_styled(struct buf *b, const char *value, enum log_json_style style, struct perr *err)
{
    const unsigned char *p = (const unsigned char *)value;

    while (*p != '\0') {
        unsigned cp = *p;
        size_t n = 1;
        int rc;

        if (*p == '"' || *p == '\\') {
            rc = buf_addf(b, err, "\\%c", *p);
        } else if (*p < 0x20 || *p == 0x7f ||
                   (style == LOG_JSON_HTML_SAFE && (*p == '<' || *p == '>' || *p == '&'))) {
            rc = log_json_u(b, cp, style, err);
        } else if (*p < 0x80 || style == LOG_JSON_HTML_SAFE) {
            rc = buf_add(b, p, 1, err);
        } else {
            /* One UTF-8 sequence; a malformed one is written byte by byte. */
            n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc0 ? 2 : 1;
            cp = n == 1 ? *p : *p & (0x7fu >> n);
            for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80) {
                    n = 1;
                    cp = *p;
                    break;
                }
                cp = (cp << 6) | (p[i] & 0x3fu);
            }
            if (cp >= 0x10000)
                rc = log_json_u(b, 0xd800 + ((cp - 0x10000) >> 10), style, err) < 0
                         ? -1
                         : log_json_u(b, 0xdc00 + ((cp - 0x10000) & 0x3ff), style, err);
            else
                rc = log_json_u(b, cp, style, err);
        }
        if (rc < 0)
            return -1;
        p += n;
    }
    return 0;
}

/* XML with numeric character references for the quotes, as Go's encoding/xml writes them. */
static int
log_xml_numeric(struct buf *b, const char *value, struct perr *err)
{
    for (const char *p = value; *p != '\0'; p++) {
        int rc;

        if (*p == '"')
            rc = buf_adds(b, "&#34;", err);
        else if (*p == '\'')
            rc = buf_adds(b, "&#39;", err);
        else if (*p == '&')
            rc = buf_adds(b, "&amp;", err);
        else if (*p == '<')
            rc = buf_adds(b, "&lt;", err);
        else if (*p == '>')
            rc = buf_adds(b, "&gt;", err);
        else
            rc = buf_add(b, p, 1, err);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* A URL component with lower-case hex digits, as some clients and proxies write it. */
static int
log_url_lower(struct buf *b, const char *value, struct perr *err)
{
    for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
        int rc;

        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~')
            rc = buf_add(b, p, 1, err);
        else
            rc = buf_addf(b, err, "%%%02x", *p);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int
log_json_ascii_lower(struct buf *b, const char *value, struct perr *err)
{
    return log_json_styled(b, value, LOG_JSON_ASCII_LOWER, err);
}

static int
log_json_ascii_upper(struct buf *b, const char *value, struct perr *err)
{
    return log_json_styled(b, value, LOG_JSON_ASCII_UPPER, err);
}

static int
log_json_html_safe(struct buf *b, const char *value, struct perr *err)
{
    return log_json_styled(b, value, LOG_JSON_HTML_SAFE, err);
}

void
log_add_secret(const char *value)
{
    if (value == NULL || *value == '\0')
        return;
    /* Every spelling the value travels in: as is, in JSON, XML and URLs,
     * and as peers echo it back (other JSON and XML encoders). */
    log_add_secret_json(value);
    log_add_secret_form(value, buf_add_xml);
    log_add_secret_form(value, log_xml_numeric);
    log_add_secret_form(value, buf_add_url);
    log_add_secret_form(value, log_url_lower);
    log_add_secret_form(value, log_json_ascii_lower);
    log_add_secret_form(value, log_json_ascii_upper);
    log_add_secret_form(value, log_json_html_safe);
}

void
log_add_secret_encodings(const char *user, const char *secret)
{
    struct buf cred = {0};
    struct perr err = {0};
    unsigned char *enc = NULL;

    if (secret == NULL || *secret == '\0')
        return;
    log_add_secret(secret);
    if (user == NULL)
        return;
    /* HTTP Basic: base64 of "user:secret". */
    if (buf_addf(&cred, &err, "%s:%s", user, secret) < 0 || cred.len > INT32_MAX / 2)
        goto out;
    enc = calloc(4 * ((cred.len + 2) / 3) + 1, 1);
    if (enc == NULL)
        goto out;
    EVP_EncodeBlock(enc, (const unsigned char *)cred.data, (int)cred.len);
    log_add_secret_one((const char *)enc);
out:
    if (enc != NULL) {
        OPENSSL_cleanse(enc, strlen((const char *)enc));
        free(enc);
    }
    buf_free_secret(&cred);
}

static void
log_add_secret_one(const char *value)
{
    char *copy;
    size_t n;

    /* Very short values would blank out ordinary words in every line. */
    if (value == NULL || (n = strlen(value)) < 4)
        return;
    pthread_mutex_lock(&log_lock);
    for (size_t i = 0; i < log_nsecrets; i++) {
        if (strcmp(log_secrets[i], value) == 0)
            goto out;
    }
    if (log_nsecrets < LOG_MAX_SECRETS) {
        size_t at = log_nsecrets;

        copy = strdup(value);
        if (copy == NULL)
            goto out;
        /* Longest first, so that a secret containing another is scrubbed whole. */
        while (at > 0 && strlen(log_secrets[at - 1]) < n) {
            log_secrets[at] = log_secrets[at - 1];
            at--;
        }
        log_secrets[at] = copy;
        log_nsecrets++;
    }
out:
    pthread_mutex_unlock(&log_lock);
}

void
log_reset(void)
{
    pthread_mutex_lock(&log_lock);
    for (size_t i = 0; i < log_nsecrets; i++) {
        OPENSSL_cleanse(log_secrets[i], strlen(log_secrets[i]));
        free(log_secrets[i]);
        log_secrets[i] = NULL;
    }
    log_nsecrets = 0;
    free(log_trace_list);
    log_trace_list = NULL;
    log_min = LOGL_INFO;
    log_fmt = LOG_FORMAT_TEXT;
    log_stream = NULL;
    pthread_mutex_unlock(&log_lock);
}

bool
log_enabled(enum log_level lvl)
{
    return lvl <= log_min;
}

bool
log_trace_on(const char *comp)
{
    const char *p;
    size_t n;
    bool on = false;

    if (log_min < LOGL_TRACE)
        return false;
    pthread_mutex_lock(&log_lock);
    p = log_trace_list;
    if (p == NULL || strcmp(p, "all") == 0) {
        on = true;
        goto out;
    }
    while (*p != '\0') {
        n = strcspn(p, ",");
        if (n > 0 && strncmp(p, comp, n) == 0 && (comp[n] == '\0' || comp[n] == '.')) {
            on = true;
            goto out;
        }
        p += n;
        if (*p == ',')
            p++;
    }
out:
    pthread_mutex_unlock(&log_lock);
    return on;
}

int
log_level_parse(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < ARRAY_LEN(log_names); i++) {
        if (strcasecmp(s, log_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = LOGL_WARN;
        return 0;
    }
    return -1;
}

const char *
log_level_name(enum log_level lvl)
{
    return (size_t)lvl < ARRAY_LEN(log_names) ? log_names[lvl] : "?";
}

int
log_format_parse(const char *s, enum log_format *out)
{
    if (strcasecmp(s, "text") == 0)
        *out = LOG_FORMAT_TEXT;
    else if (strcasecmp(s, "json") == 0)
        *out = LOG_FORMAT_JSON;
    else
        return -1;
    return 0;
}

bool
log_key_is_sensitive(const char *key)
{
    static const char *const words[] = {"password",      "passwd",     "secret",     "token",
                                        "authorization", "cookie",     "passphrase", "private_key",
                                        "private-key",   "privatekey", "credential"};
    char low[128];
    size_t i;

    for (i = 0; key[i] != '\0' && i < sizeof(low) - 1; i++)
        low[i] = (char)(key[i] >= 'A' && key[i] <= 'Z' ? key[i] + 32 : key[i]);
    low[i] = '\0';
    for (i = 0; i < ARRAY_LEN(words); i++) {
        if (strstr(low, words[i]) != NULL)
            return true;
    }
    return false;
}

/* Replaces every registered secret in the finished line; caller holds log_lock. */
static void
log_scrub(struct buf *line)
{
    for (size_t i = 0; i < log_nsecrets; i++) {
        const char *s = log_secrets[i];
        size_t n = strlen(s);
        char *p;

        while (line->data != NULL && (p = strstr(line->data, s)) != NULL) {
            /* "***" is never longer than a registered secret (>= 4 bytes). */
            memcpy(p, "***", 3);
            memmove(p + 3, p + n, line->len - (size_t)(p - line->data) - n + 1);
            line->len -= n - 3;
        }
    }
}

char *
log_scrub_dup(const char *text)
{
    struct buf b = {0};
    struct perr err = {0};

    if (text == NULL || buf_adds(&b, text, &err) < 0 || b.data == NULL) {
        buf_free(&b);
        return NULL;
    }
    pthread_mutex_lock(&log_lock);
    log_scrub(&b);
    pthread_mutex_unlock(&log_lock);
    return buf_steal(&b);
}

static bool
log_text_needs_quotes(const char *v)
{
    if (*v == '\0')
        return true;
    for (const char *p = v; *p != '\0'; p++) {
        if (*p == ' ' || *p == '\'' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20)
            return true;
    }
    return false;
}

static int
log_add_text_value(struct buf *b, const char *v, struct perr *err)
{
    if (!log_text_needs_quotes(v))
        return buf_adds(b, v, err);
    /* JSON string quoting keeps control characters and quotes visible and on one line. */
    return buf_add_json(b, v, err);
}

static void
log_timestamp(char *out, size_t n)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static int
log_format_line(struct buf *b, enum log_level lvl, const char *comp, const char *func,
                const char *event, va_list ap, struct perr *err)
{
    char ts[80];
    const char *key;

    log_timestamp(ts, sizeof(ts));
    if (log_fmt == LOG_FORMAT_JSON) {
        if (buf_addf(b, err, "{\"ts\":\"%s\",\"level\":\"%s\",\"comp\":", ts, log_level_name(lvl)) <
                0 ||
            buf_add_json(b, comp, err) < 0 || buf_adds(b, ",\"func\":", err) < 0 ||
            buf_add_json(b, func, err) < 0 || buf_adds(b, ",\"event\":", err) < 0 ||
            buf_add_json(b, event, err) < 0)
            return -1;
    } else {
        if (buf_addf(b, err, "%s %-5s [%s] %s", ts, log_level_name(lvl), comp, event) < 0)
            return -1;
    }
    while ((key = va_arg(ap, const char *)) != NULL) {
        const char *val = va_arg(ap, const char *);
        bool hide = log_key_is_sensitive(key) && val != NULL;

        if (hide)
            val = "***";
        if (log_fmt == LOG_FORMAT_JSON) {
            if (buf_adds(b, ",", err) < 0 || buf_add_json(b, key, err) < 0 ||
                buf_adds(b, ":", err) < 0 ||
                (val != NULL ? buf_add_json(b, val, err) : buf_adds(b, "null", err)) < 0)
                return -1;
        } else {
            if (buf_addf(b, err, " %s=", key) < 0 ||
                (val != NULL ? log_add_text_value(b, val, err) : buf_adds(b, "null", err)) < 0)
                return -1;
        }
    }
    if (log_fmt == LOG_FORMAT_JSON && buf_adds(b, "}", err) < 0)
        return -1;
    return buf_adds(b, "\n", err);
}

void
log_emit(enum log_level lvl, const char *comp, const char *func, const char *event, ...)
{
    struct buf line = {0};
    struct perr err = {0};
    va_list ap;
    FILE *out;
    int rc;

    if (!log_enabled(lvl))
        return;
    pthread_mutex_lock(&log_lock);
    va_start(ap, event);
    rc = log_format_line(&line, lvl, comp != NULL ? comp : "-", func != NULL ? func : "-",
                         event != NULL ? event : "-", ap, &err);
    va_end(ap);
    if (rc == 0) {
        log_scrub(&line);
        out = log_stream != NULL ? log_stream : stderr;
        fwrite(line.data, 1, line.len, out);
        fflush(out);
    }
    pthread_mutex_unlock(&log_lock);
    buf_free_secret(&line);
}
