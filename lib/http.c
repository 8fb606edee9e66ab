#include "lib/http.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "lib/deadline.h"
#include "lib/log.h"

#ifndef POP_VERSION
#define POP_VERSION "0.0.0"
#endif

#define HTTP_URL_LOG_MAX    512
#define HTTP_MAX_RESP_HDRS  256
#define HTTP_TRACE_BODY_MAX (64 * 1024)
#define HTTP_KEY_MAX        128
#define HTTP_DEFAULT_TLS_HINT                                                                      \
    "set the server's CA certificate, or disable TLS verification if that risk is accepted"

struct http_curl {
    CURL *curl;
    char *component;
    char *tls_hint;
    long timeout_ms;
    size_t max_body;
    struct http_resp *resp;     /* borrowed: the response being filled by the running transfer */
    const struct http_req *req; /* borrowed: the running request (its until callback) */
    bool stopped;               /* until ended the transfer */
    struct perr cb_err;         /* failure recorded inside a libcurl callback */
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_init_code = CURLE_FAILED_INIT;

static void
http_global_init_once(void)
{
    http_init_code = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
http_global_init(struct perr *err)
{
    pthread_once(&http_once, http_global_init_once);
    if (http_init_code != CURLE_OK)
        return perr_set(err, PERR_INTERNAL, "libcurl initialisation failed: %s",
                        curl_easy_strerror(http_init_code));
    return 0;
}

/* ---- pure helpers: URL for messages, redaction ---- */

static size_t
http_copy_span(char *out, size_t n, size_t o, const char *s, size_t len)
{
    while (len > 0 && o + 1 < n) {
        out[o++] = *s++;
        len--;
    }
    out[o] = '\0';
    return o;
}

void
http_url_for_log(const char *url, char *out, size_t n)
{
    const char *p = url;
    const char *sep;
    const char *host;
    const char *end;
    size_t o = 0;

    if (n == 0)
        return;
    out[0] = '\0';
    if (url == NULL)
        return;
    sep = strstr(url, "://");
    if (sep != NULL && (size_t)(sep - url) < strcspn(url, "/?#")) {
        o = http_copy_span(out, n, o, url, (size_t)(sep - url) + 3);
        host = sep + 3;
        end = host + strcspn(host, "/?#");
        /* userinfo ("user:password@") never reaches a message */
        for (const char *q = host; q < end; q++) {
            if (*q == '@')
                host = q + 1;
        }
        o = http_copy_span(out, n, o, host, (size_t)(end - host));
        p = end;
    }
    http_copy_span(out, n, o, p, strcspn(p, "?#"));
}

static bool
http_name_is_sensitive(const char *name, size_t len)
{
    char key[HTTP_KEY_MAX];
    size_t i;

    if (len >= sizeof(key))
        len = sizeof(key) - 1;
    for (i = 0; i < len; i++)
        key[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    key[i] = '\0';
    return log_key_is_sensitive(key) || strstr(key, "session") != NULL;
}

bool
http_header_is_sensitive(const char *name, size_t len)
{
    return http_name_is_sensitive(name, len);
}

/* Index just past the JSON string starting at in[i] == '"' (len when unterminated). */
static size_t
http_json_skip_string(const char *in, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (in[i] == '\\')
            i++;
        else if (in[i] == '"')
            return i + 1;
    }
    return len;
}

/* Index just past the JSON value starting at in[i]. */
static size_t
http_json_skip_value(const char *in, size_t len, size_t i)
{
    int depth = 0;

    if (i >= len)
        return len;
    if (in[i] == '"')
        return http_json_skip_string(in, len, i);
    if (in[i] != '{' && in[i] != '[') {
        while (i < len && strchr(",}] \t\r\n", in[i]) == NULL)
            i++;
        return i;
    }
    while (i < len) {
        if (in[i] == '"') {
            i = http_json_skip_string(in, len, i);
            continue;
        }
        if (in[i] == '{' || in[i] == '[')
            depth++;
        else if ((in[i] == '}' || in[i] == ']') && --depth == 0)
            return i + 1;
        i++;
    }
    return len;
}

static bool
http_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
http_is_xml_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':';
}

/* in[i] == '<'.  Sets *tag_end past the tag's '>' and returns true when the
 * element's content must be masked. */
static bool
http_xml_tag_is_sensitive(const char *in, size_t len, size_t i, size_t *tag_end)
{
    size_t name = i + 1;
    size_t name_end = name;
    size_t local = name;
    size_t j;
    char quote = 0;

    while (name_end < len && http_is_xml_name_char(in[name_end])) {
        if (in[name_end] == ':')
            local = name_end + 1;
        name_end++;
    }
    for (j = name_end; j < len; j++) {
        if (quote != 0) {
            if (in[j] == quote)
                quote = 0;
        } else if (in[j] == '"' || in[j] == '\'') {
            quote = in[j];
        } else if (in[j] == '>') {
            break;
        }
    }
    if (j >= len) {
        *tag_end = len;
        return false;
    }
    *tag_end = j + 1;
    if (name_end == name || in[j - 1] == '/')
        return false;
    return http_name_is_sensitive(in + local, name_end - local);
}

int
http_redact_body(const char *in, size_t len, struct buf *out, struct perr *err)
{
    size_t done = 0; /* in[0..done) is already in out */
    size_t i = 0;

    while (i < len) {
        size_t j;
        size_t k;

        if (in[i] == '"') {
            j = http_json_skip_string(in, len, i);
            k = j;
            while (k < len && http_is_blank(in[k]))
                k++;
            if (k >= len || in[k] != ':' || j - i < 2 ||
                !http_name_is_sensitive(in + i + 1, j - i - 2)) {
                i = j;
                continue;
            }
            for (k++; k < len && http_is_blank(in[k]);)
                k++;
            if (buf_add(out, in + done, k - done, err) < 0 || buf_adds(out, "\"***\"", err) < 0)
                return -1;
            i = done = http_json_skip_value(in, len, k);
        } else if (in[i] == '<') {
            if (!http_xml_tag_is_sensitive(in, len, i, &j)) {
                i = j;
                continue;
            }
            for (k = j; k < len && in[k] != '<';)
                k++;
            if (buf_add(out, in + done, j - done, err) < 0 || buf_adds(out, "***", err) < 0)
                return -1;
            i = done = k;
        } else {
            i++;
        }
    }
    return buf_add(out, in + done, len - done, err);
}

/* Appends a query string ("a=1&b=2", without '?') with sensitive values masked. */
static int
http_redact_query(const char *q, size_t len, struct buf *out, struct perr *err)
{
    size_t i = 0;

    while (i < len) {
        const char *amp = memchr(q + i, '&', len - i);
        size_t end = amp != NULL ? (size_t)(amp - q) : len;
        const char *eq = memchr(q + i, '=', end - i);

        if (eq != NULL && http_name_is_sensitive(q + i, (size_t)(eq - q) - i)) {
            if (buf_add(out, q + i, (size_t)(eq - q) - i + 1, err) < 0 ||
                buf_adds(out, "***", err) < 0)
                return -1;
        } else if (buf_add(out, q + i, end - i, err) < 0) {
            return -1;
        }
        if (end < len && buf_adds(out, "&", err) < 0)
            return -1;
        i = end + 1;
    }
    return 0;
}

/* libcurl's HTTP/2 and HTTP/3 info lines show each header bracketed after a
 * tag: "h2h3 [authorization: Basic ...]", "[HTTP/2] [1] [cookie: ...]".  True
 * (and the line written masked) when the last bracket holds a sensitive header. */
static bool
http_redact_bracketed(const char *line, size_t len, struct buf *out, int *rc, struct perr *err)
{
    const char *open = NULL;
    const char *name;
    const char *colon;

    for (const char *p = line; p < line + len; p++) {
        if (*p == '[')
            open = p;
    }
    if (open == NULL)
        return false;
    name = open + 1;
    colon = memchr(name, ':', len - (size_t)(name - line));
    if (colon == NULL || colon == name || !http_header_is_sensitive(name, (size_t)(colon - name)))
        return false;
    *rc =
        buf_add(out, line, (size_t)(colon - line) + 1, err) < 0 ? -1 : buf_adds(out, " ***]", err);
    return true;
}

/* One header line, or the request/status line, fit for the trace. */
static int
http_redact_header_line(const char *line, size_t len, struct buf *out, struct perr *err)
{
    const char *colon = memchr(line, ':', len);
    const char *sp = memchr(line, ' ', len);
    const char *qm;
    size_t qend;
    int rc = 0;

    if (http_redact_bracketed(line, len, out, &rc, err))
        return rc;
    if (colon != NULL && (sp == NULL || colon < sp)) {
        if (!http_header_is_sensitive(line, (size_t)(colon - line)))
            return buf_add(out, line, len, err);
        if (buf_add(out, line, (size_t)(colon - line) + 1, err) < 0)
            return -1;
        return buf_adds(out, " ***", err);
    }
    qm = memchr(line, '?', len);
    if (qm == NULL)
        return buf_add(out, line, len, err);
    qend = (size_t)(qm - line) + 1;
    while (qend < len && line[qend] != ' ' && line[qend] != '#')
        qend++;
    if (buf_add(out, line, (size_t)(qm - line) + 1, err) < 0 ||
        http_redact_query(qm + 1, qend - (size_t)(qm - line) - 1, out, err) < 0)
        return -1;
    return buf_add(out, line + qend, len - qend, err);
}

/* ---- wire trace ---- */

static void
http_trace_line(const char *comp, const char *event, const char *line, size_t len)
{
    struct buf b = {0};
    struct perr tmp = {0};

    if (http_redact_header_line(line, len, &b, &tmp) == 0)
        log_trace(comp, event, "line", buf_cstr(&b), NULL);
    buf_free_secret(&b);
}

static void
http_trace_body(const char *comp, const char *event, const char *data, size_t len)
{
    struct buf red = {0};
    struct perr tmp = {0};
    char nbytes[32];

    if (data == NULL || len == 0)
        return;
    snprintf(nbytes, sizeof(nbytes), "%zu", len);
    if (memchr(data, '\0', len) != NULL) {
        log_trace(comp, event, "body", "(binary)", "bytes", nbytes, NULL);
        return;
    }
    if (http_redact_body(data, len, &red, &tmp) < 0) {
        log_trace(comp, event, "body", "(not shown)", "bytes", nbytes, NULL);
        goto out;
    }
    if (red.len > HTTP_TRACE_BODY_MAX) {
        red.data[HTTP_TRACE_BODY_MAX] = '\0';
        red.len = HTTP_TRACE_BODY_MAX;
    }
    log_trace(comp, event, "body", buf_cstr(&red), "bytes", nbytes, NULL);
out:
    buf_free_secret(&red);
}

static int
http_curl_on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
    struct http_curl *hc = arg;
    size_t i = 0;

    (void)c;
    switch (type) {
    case CURLINFO_TEXT:
        while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
            size--;
        /* libcurl prints cookie names and values when it stores them */
        if (memmem(data, size, "ookie", 5) != NULL || memmem(data, size, "OOKIE", 5) != NULL)
            log_trace(hc->component, "http * info", "text", "(cookie details hidden)", NULL);
        else
            http_trace_line(hc->component, "http * info", data, size);
        break;
    case CURLINFO_HEADER_OUT:
    case CURLINFO_HEADER_IN:
        while (i < size) {
            const char *nl = memchr(data + i, '\n', size - i);
            size_t end = nl != NULL ? (size_t)(nl - data) : size;
            size_t n = end - i;

            if (n > 0 && data[i + n - 1] == '\r')
                n--;
            if (n > 0)
                http_trace_line(hc->component,
                                type == CURLINFO_HEADER_OUT ? "http > header" : "http < header",
                                data + i, n);
            i = end + 1;
        }
        break;
    case CURLINFO_DATA_IN:
    case CURLINFO_DATA_OUT:
    case CURLINFO_SSL_DATA_IN:
    case CURLINFO_SSL_DATA_OUT:
    case CURLINFO_END:
        /* bodies are traced whole, before and after the transfer */
        break;
    }
    return 0;
}

/* ---- libcurl callbacks ---- */

static size_t
http_curl_on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct http_curl *hc = arg;
    size_t n = size * nmemb;
    struct perr tmp = {0};

    if (buf_add(&hc->resp->body, ptr, n, &tmp) < 0) {
        if (tmp.code == PERR_PROTOCOL)
            perr_set(&hc->cb_err, PERR_PROTOCOL, "response larger than %zu bytes", hc->max_body);
        else
            perr_set(&hc->cb_err, tmp.code, "%s", tmp.msg);
        return 0;
    }
    if (hc->req != NULL && hc->req->until != NULL) {
        struct buf *b = &hc->resp->body;
        size_t passed = 0;
        size_t keep = hc->req->until(hc->req->until_arg, b->data, b->len, &passed);

        if (passed > 0) {
            if (passed > b->len)
                passed = b->len;
            memmove(b->data, b->data + passed, b->len - passed);
            b->len -= passed;
            b->data[b->len] = '\0';
        }
        if (keep > 0) {
            /* Not an error: the caller has what it waited for. */
            if (keep < b->len) {
                b->len = keep;
                b->data[keep] = '\0';
            }
            hc->stopped = true;
            return 0;
        }
    }
    return n;
}

/* A stream (a watch) may wait for many seconds: a termination request ends it
 * at once.  Other requests are short and run to their end. */
static int
http_curl_on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                      curl_off_t ulnow)
{
    struct http_curl *hc = arg;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return hc->req != NULL && hc->req->until != NULL && cancel_requested() ? 1 : 0;
}

static size_t
http_curl_on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct http_curl *hc = arg;
    struct http_resp *r = hc->resp;
    size_t n = size * nmemb;
    size_t len = n;

    while (len > 0 && http_is_blank(ptr[len - 1]))
        len--;
    if (len >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
        /* a new status line: keep only the final response's headers */
        strv_free(&r->headers);
        return n;
    }
    if (len == 0 || http_is_blank(ptr[0]))
        return n;
    if (r->headers.n >= HTTP_MAX_RESP_HDRS) {
        perr_set(&hc->cb_err, PERR_PROTOCOL, "more than %d response header lines",
                 HTTP_MAX_RESP_HDRS);
        return 0;
    }
    if (strv_take(&r->headers, strndup(ptr, len), &hc->cb_err) < 0)
        return 0;
    return n;
}

/* ---- the libcurl transport ---- */

static void
http_curl_free(void *impl)
{
    struct http_curl *hc = impl;

    if (hc == NULL)
        return;
    if (hc->curl != NULL)
        curl_easy_cleanup(hc->curl);
    free(hc->component);
    free(hc->tls_hint);
    free(hc);
}

static bool
http_code_is_tls(CURLcode cc)
{
    switch ((int)cc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
        return true;
    default:
        return false;
    }
}

static int
http_curl_fail(struct http_curl *hc, const struct http_req *req, const char *url, CURLcode cc,
               struct perr *err)
{
    const char *detail = hc->errbuf[0] != '\0' ? hc->errbuf : curl_easy_strerror(cc);
    const char *m = req->method;

    if (perr_failed(&hc->cb_err))
        return perr_set(err, hc->cb_err.code, "%s '%s': %s", m, url, hc->cb_err.msg);
    if (http_code_is_tls(cc)) {
        if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
            cc == CURLE_SSL_ISSUER_ERROR)
            return perr_set(err, PERR_TLS, "%s '%s': TLS verification failed: %s; %s", m, url,
                            detail, hc->tls_hint != NULL ? hc->tls_hint : HTTP_DEFAULT_TLS_HINT);
        return perr_set(err, PERR_TLS, "%s '%s': TLS: %s", m, url, detail);
    }
    switch ((int)cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return perr_set(err, PERR_TIMEOUT, "%s '%s': timed out: %s", m, url, detail);
    case CURLE_FILESIZE_EXCEEDED:
        return perr_set(err, PERR_PROTOCOL, "%s '%s': response larger than %zu bytes", m, url,
                        hc->max_body);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return perr_set(err, PERR_USAGE, "%s '%s': bad URL: %s", m, url, detail);
    case CURLE_OUT_OF_MEMORY:
        return perr_set(err, PERR_NOMEM, "%s '%s': out of memory", m, url);
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
        return perr_set(err, PERR_PROTOCOL, "%s '%s': bad reply: %s", m, url, detail);
    default:
        /* resolve, connect, reset, send/recv, empty reply and the rest of the wire */
        return perr_set(err, PERR_NETWORK, "%s '%s': %s", m, url, detail);
    }
}

static int
http_check_method(const char *m, struct perr *err)
{
    if (*m == '\0')
        return perr_set(err, PERR_USAGE, "empty HTTP method");
    for (const char *p = m; *p != '\0'; p++) {
        if (*p < 'A' || *p > 'Z')
            return perr_set(err, PERR_USAGE, "bad HTTP method '%s'", m);
    }
    return 0;
}

static int
http_slist_add(struct curl_slist **list, const char *line, struct perr *err)
{
    struct curl_slist *l;

    if (strpbrk(line, "\r\n") != NULL)
        return perr_set(err, PERR_USAGE, "HTTP header line contains a line break");
    l = curl_slist_append(*list, line);
    if (l == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    *list = l;
    return 0;
}

static int
http_curl_headers(const struct http_req *req, struct curl_slist **out, struct perr *err)
{
    struct curl_slist *list = NULL;
    char *ct = NULL;
    int rc = -1;

    *out = NULL;
    /* An empty Expect: stops libcurl from waiting for "100 Continue" on large bodies. */
    if (http_slist_add(&list, "Expect:", err) < 0)
        goto out;
    if (req->content_type != NULL) {
        if (asprintf(&ct, "Content-Type: %s", req->content_type) < 0) {
            ct = NULL;
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
        if (http_slist_add(&list, ct, err) < 0)
            goto out;
    }
    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
        if (http_slist_add(&list, req->headers[i], err) < 0)
            goto out;
    }
    *out = list;
    list = NULL;
    rc = 0;
out:
    curl_slist_free_all(list);
    free(ct);
    return rc;
}

static CURLcode
http_curl_set_method(CURL *c, const struct http_req *req)
{
    const char *m = req->method;
    CURLcode cc;

    cc = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    if (cc != CURLE_OK)
        return cc;
    if (strcmp(m, "HEAD") == 0)
        return curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (req->body != NULL || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
        strcmp(m, "PATCH") == 0) {
        cc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                              (curl_off_t)(req->body != NULL ? req->body_len : 0));
        if (cc == CURLE_OK)
            cc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
        if (cc == CURLE_OK && strcmp(m, "POST") != 0)
            cc = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
        return cc;
    }
    if (strcmp(m, "GET") != 0)
        return curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
    return CURLE_OK;
}

static void
http_log_exchange(const struct http_curl *hc, const char *method, const char *url, long status,
                  const struct timespec *t0, size_t bytes, const struct perr *err)
{
    struct timespec t1;
    char st[24];
    char ms[24];
    char nb[24];

    if (!log_enabled(LOGL_DEBUG))
        return;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    snprintf(ms, sizeof(ms), "%ld",
             (long)(t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000);
    snprintf(st, sizeof(st), "%ld", status);
    snprintf(nb, sizeof(nb), "%zu", bytes);
    if (perr_failed(err))
        log_debug(hc->component, "http exchange failed", "method", method, "url", url, "ms", ms,
                  "error", perr_code_str(err->code), NULL);
    else
        log_debug(hc->component, "http exchange", "method", method, "url", url, "status", st, "ms",
                  ms, "bytes", nb, NULL);
}

/* A cookie a peer sets is a session credential: its value (with and without
 * the quotes some servers put around it) is registered with the logger, so a
 * body or a message that repeats it is scrubbed like a password. */
static void
http_curl_register_cookies(struct http_curl *hc)
{
    struct curl_slist *list = NULL;

    if (curl_easy_getinfo(hc->curl, CURLINFO_COOKIELIST, &list) != CURLE_OK)
        return;
    /* Netscape format: domain, subdomains, path, secure, expiry, name, value (tabs) */
    for (struct curl_slist *l = list; l != NULL; l = l->next) {
        char *f = l->data;
        size_t n;

        for (int i = 0; i < 6 && f != NULL; i++) {
            f = strchr(f, '\t');
            if (f != NULL)
                f++;
        }
        if (f == NULL)
            continue;
        log_add_secret(f);
        n = strlen(f);
        if (n > 2 && f[0] == '"' && f[n - 1] == '"') {
            f[n - 1] = '\0';
            log_add_secret(f + 1);
        }
    }
    for (struct curl_slist *l = list; l != NULL; l = l->next)
        OPENSSL_cleanse(l->data, strlen(l->data));
    curl_slist_free_all(list);
}

static bool
http_replay_safe(const struct http_req *req)
{
    return req->idempotent || strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
}

/* Whether a stream's transfer that libcurl reports as failed in fact ended as
 * the caller wanted: stopped by until, or out of time after a 2xx status. */
static bool
http_stream_ended(struct http_curl *hc, CURLcode cc)
{
    long status = 0;

    if (cc == CURLE_WRITE_ERROR && hc->stopped && !perr_failed(&hc->cb_err))
        return true;
    if (cc != CURLE_OPERATION_TIMEDOUT)
        return false;
    if (curl_easy_getinfo(hc->curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        return false;
    return status >= 200 && status < 300;
}

static int
http_curl_perform(void *impl, const struct http_req *req, struct http_resp *resp, struct perr *err)
{
    struct http_curl *hc = impl;
    struct curl_slist *hdrs = NULL;
    char url[HTTP_URL_LOG_MAX];
    struct timespec t0;
    struct perr local = {0};
    const char *ct = NULL;
    bool trace;
    CURLcode cc;
    int rc = -1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    http_url_for_log(req->url, url, sizeof(url));
    buf_init(&resp->body, hc->max_body);
    memset(&hc->cb_err, 0, sizeof(hc->cb_err));
    hc->errbuf[0] = '\0';
    hc->resp = resp;
    hc->req = req;
    hc->stopped = false;
    trace = log_trace_on(hc->component);
    if (http_check_method(req->method, &local) < 0 || http_curl_headers(req, &hdrs, &local) < 0)
        goto out;
    cc = curl_easy_setopt(hc->curl, CURLOPT_URL, req->url);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(hc->curl, CURLOPT_HTTPHEADER, hdrs);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(hc->curl, CURLOPT_TIMEOUT_MS,
                              req->timeout_ms > 0 ? req->timeout_ms : hc->timeout_ms);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(hc->curl, CURLOPT_VERBOSE, trace ? 1L : 0L);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(hc->curl, CURLOPT_NOPROGRESS, req->until != NULL ? 0L : 1L);
    /* libcurl replays a request whose reused connection died before an answer; only a new
     * connection is never replayed (there is no option to turn the replay off). */
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(hc->curl, CURLOPT_FRESH_CONNECT, http_replay_safe(req) ? 0L : 1L);
    if (cc == CURLE_OK)
        cc = http_curl_set_method(hc->curl, req);
    if (cc != CURLE_OK) {
        http_curl_fail(hc, req, url, cc, &local);
        goto out;
    }
    if (trace)
        http_trace_body(hc->component, "http > body", req->body, req->body_len);
    cc = curl_easy_perform(hc->curl);
    if (cc != CURLE_OK && req->until != NULL && http_stream_ended(hc, cc)) {
        /* A stream ends when the caller has its event or when its time is up. */
        cc = CURLE_OK;
    }
    if (cc != CURLE_OK) {
        http_curl_fail(hc, req, url, cc, &local);
        goto out;
    }
    if (curl_easy_getinfo(hc->curl, CURLINFO_RESPONSE_CODE, &resp->status) != CURLE_OK ||
        curl_easy_getinfo(hc->curl, CURLINFO_CONTENT_TYPE, &ct) != CURLE_OK) {
        perr_set(&local, PERR_INTERNAL, "%s '%s': cannot read the response status", req->method,
                 url);
        goto out;
    }
    if (ct != NULL && (resp->content_type = strdup(ct)) == NULL) {
        perr_set(&local, PERR_NOMEM, "out of memory");
        goto out;
    }
    http_curl_register_cookies(hc);
    if (trace)
        http_trace_body(hc->component, "http < body", resp->body.data, resp->body.len);
    rc = 0;
out:
    http_log_exchange(hc, req->method, url, resp->status, &t0, resp->body.len, &local);
    if (rc < 0 && !perr_failed(err))
        *err = local;
    /* the header list and the body are the caller's: forget them before returning */
    curl_easy_setopt(hc->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(hc->curl, CURLOPT_HTTPGET, 1L);
    hc->resp = NULL;
    hc->req = NULL;
    curl_slist_free_all(hdrs);
    return rc;
}

static int
http_curl_cookie_get(void *impl, const char *name, char **value, struct perr *err)
{
    struct http_curl *hc = impl;
    struct curl_slist *list = NULL;
    int rc = -1;

    *value = NULL;
    if (curl_easy_getinfo(hc->curl, CURLINFO_COOKIELIST, &list) != CURLE_OK) {
        perr_set(err, PERR_INTERNAL, "cannot read the cookie list");
        goto out;
    }
    /* Netscape format: domain, subdomains, path, secure, expiry, name, value (tabs) */
    for (struct curl_slist *l = list; l != NULL; l = l->next) {
        const char *f = l->data;
        const char *tab;

        for (int i = 0; i < 5 && f != NULL; i++) {
            f = strchr(f, '\t');
            if (f != NULL)
                f++;
        }
        if (f == NULL || (tab = strchr(f, '\t')) == NULL)
            continue;
        if ((size_t)(tab - f) != strlen(name) || strncmp(f, name, (size_t)(tab - f)) != 0)
            continue;
        *value = strdup(tab + 1);
        if (*value == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
        break;
    }
    rc = 0;
out:
    curl_slist_free_all(list);
    return rc;
}

static int
http_curl_cookie_clear(void *impl, struct perr *err)
{
    struct http_curl *hc = impl;

    if (curl_easy_setopt(hc->curl, CURLOPT_COOKIELIST, "ALL") != CURLE_OK)
        return perr_set(err, PERR_INTERNAL, "cannot clear cookies");
    return 0;
}

static int
http_check_ca_pem(const char *pem, struct perr *err)
{
    BIO *bio = NULL;
    X509 *x = NULL;
    int n = 0;
    int rc = -1;

    if (strlen(pem) > 16 * 1024 * 1024) {
        perr_set(err, PERR_CONFIG, "CA PEM text is too large");
        goto out;
    }
    bio = BIO_new_mem_buf(pem, (int)strlen(pem));
    if (bio == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        X509_free(x);
        n++;
    }
    ERR_clear_error();
    if (n == 0) {
        perr_set(err, PERR_CONFIG, "CA PEM text holds no certificate");
        goto out;
    }
    rc = 0;
out:
    BIO_free(bio);
    return rc;
}

static CURLcode
http_curl_setup(struct http_curl *hc, const struct http_opts *o, const char *ua, char *ca_copy)
{
    CURL *c = hc->curl;
    struct curl_blob blob = {0};
    long conn = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
    CURLcode cc;

    cc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, hc->errbuf);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, conn);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, hc->timeout_ms);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
    if (cc == CURLE_OK && o->ca_file != NULL)
        cc = curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
    if (cc == CURLE_OK && ca_copy != NULL) {
        blob.data = ca_copy;
        blob.len = strlen(ca_copy);
        blob.flags = CURL_BLOB_COPY;
        cc = curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (cc == CURLE_OK && o->client_cert_pem != NULL && o->client_key_pem != NULL) {
        /* Kubernetes client certificates (kubeconfig client-certificate-data). */
        blob.data = (void *)(uintptr_t)o->client_cert_pem;
        blob.len = strlen(o->client_cert_pem);
        blob.flags = CURL_BLOB_COPY;
        cc = curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &blob);
        if (cc == CURLE_OK)
            cc = curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
        if (cc == CURLE_OK) {
            blob.data = (void *)(uintptr_t)o->client_key_pem;
            blob.len = strlen(o->client_key_pem);
            blob.flags = CURL_BLOB_COPY;
            cc = curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &blob);
        }
        if (cc == CURLE_OK)
            cc = curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_COOKIEFILE, "");
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_USERAGENT, ua);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)hc->max_body);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_curl_on_body);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_WRITEDATA, hc);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_curl_on_header);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_HEADERDATA, hc);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, http_curl_on_progress);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_XFERINFODATA, hc);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, http_curl_on_debug);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c, CURLOPT_DEBUGDATA, hc);
    return cc;
}

int
http_transport_curl_new(const struct http_opts *o, struct http_transport *out, struct perr *err)
{
    struct http_curl *hc = NULL;
    const char *ua =
        o->user_agent != NULL ? o->user_agent : "vsphere-copy-offload-populator/" POP_VERSION;
    char *ca_copy = NULL;
    CURLcode cc;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (http_global_init(err) < 0)
        goto out;
    if (o->ca_file != NULL && o->ca_pem != NULL) {
        perr_set(err, PERR_USAGE, "a CA file and CA PEM text are mutually exclusive");
        goto out;
    }
    if ((o->client_cert_pem != NULL) != (o->client_key_pem != NULL)) {
        perr_set(err, PERR_USAGE,
                 "a TLS client certificate needs its key, and a key its certificate");
        goto out;
    }
    if (o->ca_file != NULL && access(o->ca_file, R_OK) != 0) {
        perr_set(err, PERR_CONFIG, "CA file '%s': %s", o->ca_file, strerror(errno));
        goto out;
    }
    if (o->ca_pem != NULL && http_check_ca_pem(o->ca_pem, err) < 0)
        goto out;
    hc = calloc(1, sizeof(*hc));
    if (hc == NULL ||
        (hc->component = strdup(o->component != NULL ? o->component : "http")) == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    if (o->tls_hint != NULL && (hc->tls_hint = strdup(o->tls_hint)) == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    hc->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
    hc->max_body = o->max_body > 0 ? o->max_body : HTTP_DEFAULT_MAX_BODY;
    if (o->ca_pem != NULL && (ca_copy = strdup(o->ca_pem)) == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    hc->curl = curl_easy_init();
    if (hc->curl == NULL) {
        perr_set(err, PERR_INTERNAL, "cannot create a libcurl handle");
        goto out;
    }
    cc = http_curl_setup(hc, o, ua, ca_copy);
    if (cc != CURLE_OK) {
        perr_set(err, PERR_INTERNAL, "libcurl setup: %s", curl_easy_strerror(cc));
        goto out;
    }
    if (o->insecure)
        log_warn(hc->component, "TLS verification disabled", "detail",
                 "server certificates and host names are not checked", NULL);
    out->perform = http_curl_perform;
    out->cookie_get = http_curl_cookie_get;
    out->cookie_clear = http_curl_cookie_clear;
    out->free = http_curl_free;
    out->impl = hc;
    hc = NULL;
    rc = 0;
out:
    http_curl_free(hc);
    free(ca_copy);
    return rc;
}

/* ---- the seam ---- */

int
http_perform(struct http_transport *t, const struct http_req *req, struct http_resp *resp,
             struct perr *err)
{
    char url[HTTP_URL_LOG_MAX];
    char loc[HTTP_URL_LOG_MAX];
    const char *where;
    int rc = -1;

    assert(t != NULL && t->perform != NULL && req != NULL && resp != NULL);
    assert(req->method != NULL && req->url != NULL);
    memset(resp, 0, sizeof(*resp));
    if (t->perform(t->impl, req, resp, err) < 0)
        goto out;
    if (resp->status >= 300 && resp->status <= 399) {
        /* Redirects are never followed: a moved endpoint is a configuration
         * problem the operator must see, and following one could send
         * credentials to another host. */
        where = http_resp_header(resp, "Location");
        http_url_for_log(req->url, url, sizeof(url));
        http_url_for_log(where != NULL ? where : "", loc, sizeof(loc));
        perr_set_remote(err, PERR_HTTP, resp->status, NULL,
                        "%s '%s': HTTP %ld: redirect to '%s' not followed", req->method, url,
                        resp->status, loc);
        goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        http_resp_free(resp);
    return rc;
}

int
http_cookie_get(struct http_transport *t, const char *name, char **value, struct perr *err)
{
    *value = NULL;
    if (t->cookie_get == NULL)
        return perr_set(err, PERR_UNSUPPORTED, "this HTTP transport keeps no cookies");
    return t->cookie_get(t->impl, name, value, err);
}

int
http_cookie_clear(struct http_transport *t, struct perr *err)
{
    if (t->cookie_clear == NULL)
        return perr_set(err, PERR_UNSUPPORTED, "this HTTP transport keeps no cookies");
    return t->cookie_clear(t->impl, err);
}

void
http_transport_free(struct http_transport *t)
{
    if (t == NULL)
        return;
    if (t->free != NULL)
        t->free(t->impl);
    memset(t, 0, sizeof(*t));
}

void
http_resp_free(struct http_resp *r)
{
    if (r == NULL)
        return;
    buf_free(&r->body);
    free(r->content_type);
    strv_free(&r->headers);
    memset(r, 0, sizeof(*r));
}

const char *
http_resp_header(const struct http_resp *r, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < r->headers.n; i++) {
        const char *h = r->headers.v[i];

        if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
            h += n + 1;
            while (*h == ' ' || *h == '\t')
                h++;
            return h;
        }
    }
    return NULL;
}
