#include "lib/metrics_httpd.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/buf.h"
#include "lib/log.h"

#define HTTPD_MAX_CONNS       16
#define HTTPD_CONN_MS         5000 /* accept to close, whatever the client does */
#define HTTPD_HEAD_MAX        8192 /* request line + headers */
#define HTTPD_ACCEPT_PAUSE_MS 1000 /* after EMFILE and friends */
#define HTTPD_BACKLOG         64
#define HTTPD_CERT_DAYS       365
#define HTTPD_LOG_PATH_MAX    256
#define HTTPD_METHOD_MAX      16

enum httpd_conn_state {
    HTTPD_CONN_FREE,      /* slot unused */
    HTTPD_CONN_HANDSHAKE, /* TLS handshake */
    HTTPD_CONN_READ,      /* reading the request head */
    HTTPD_CONN_WRITE,     /* writing the response */
    HTTPD_CONN_SHUTDOWN,  /* sending close_notify */
    HTTPD_CONN_DRAIN,     /* write side closed; discarding input until EOF */
};

struct httpd_conn {
    enum httpd_conn_state state;
    int fd;
    SSL *ssl;
    short want; /* POLLIN or POLLOUT */
    int64_t deadline_ms;
    char head[HTTPD_HEAD_MAX + 1];
    size_t head_len;
    struct buf resp;
    size_t resp_off;
    bool completion; /* the body was rendered after metrics_copy_done() */
};

struct metrics_httpd {
    struct metrics *metrics_ref; /* borrowed, must outlive the server */
    SSL_CTX *ctx;
    char *cert_pem;
    int listen_fd;
    int wake[2]; /* self-pipe: a byte on wake[1] stops the thread */
    int port;
    pthread_t thread;
    bool thread_started;

    /* Shared between the server thread and waiters; guarded by lock. */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    bool completion_scraped;
    bool stopped;
    bool joining;

    /* Server thread only. */
    int64_t accept_resume_ms;
    struct httpd_conn conns[HTTPD_MAX_CONNS];
};

static int64_t
httpd_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Records an OpenSSL failure with the library's last reason, and empties
 * the thread's error queue so it cannot confuse a later SSL_get_error(). */
static int
httpd_tls_fail(struct perr *err, const char *what)
{
    char reason[256] = "unknown error";
    unsigned long e = ERR_peek_last_error();

    if (e != 0)
        ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    return perr_set(err, PERR_TLS, "metrics: %s: %s", what, reason);
}

/*
 * Listen address parsing: "[host]:port" as Go's net.Listen takes it.  host
 * is NULL for the wildcard.
 */
static int
httpd_parse_listen(const char *listen, char **host_out, char **port_out, struct perr *err)
{
    const char *host = NULL, *host_end = NULL, *port;
    char *h = NULL, *p = NULL;
    int rc = -1;

    *host_out = NULL;
    *port_out = NULL;
    if (listen[0] == '[') {
        host = listen + 1;
        host_end = strchr(host, ']');
        if (host_end == NULL || host_end[1] != ':') {
            perr_set(err, PERR_USAGE, "metrics: listen address '%s': expected '[host]:port'",
                     listen);
            goto out;
        }
        port = host_end + 2;
    } else {
        const char *colon = strrchr(listen, ':');

        if (colon == NULL || memchr(listen, ':', (size_t)(colon - listen)) != NULL) {
            perr_set(err, PERR_USAGE, "metrics: listen address '%s': expected 'host:port'", listen);
            goto out;
        }
        host = listen;
        host_end = colon;
        port = colon + 1;
    }
    if (port[0] == '\0' || strlen(port) > 5 || strspn(port, "0123456789") != strlen(port) ||
        strtol(port, NULL, 10) > 65535) {
        perr_set(err, PERR_USAGE, "metrics: listen address '%s': bad port '%s'", listen, port);
        goto out;
    }
    if (host_end > host) {
        h = strndup(host, (size_t)(host_end - host));
        if (h == NULL) {
            perr_set(err, PERR_NOMEM, "metrics: out of memory");
            goto out;
        }
    }
    p = strdup(port);
    if (p == NULL) {
        perr_set(err, PERR_NOMEM, "metrics: out of memory");
        goto out;
    }
    *host_out = h;
    *port_out = p;
    h = NULL;
    p = NULL;
    rc = 0;
out:
    free(h);
    free(p);
    return rc;
}

/* A listening socket bound to one address; -1 with errno set on failure. */
static int
httpd_bind_one(const struct sockaddr *sa, socklen_t salen, bool dual_stack)
{
    int fd, one = 1, v6only = dual_stack ? 0 : 1, saved, ret = -1;

    fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        goto out;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        goto out;
    if (sa->sa_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0)
        goto out;
    if (bind(fd, sa, salen) < 0 || listen(fd, HTTPD_BACKLOG) < 0)
        goto out;
    ret = fd;
    fd = -1;
out:
    if (fd >= 0) {
        saved = errno;
        close(fd);
        errno = saved;
    }
    return ret;
}

static int
httpd_listen(struct metrics_httpd *h, const char *listen, struct perr *err)
{
    struct addrinfo hints = {0}, *res = NULL;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    char *host = NULL, *port = NULL;
    int fd = -1, gai, rc = -1;

    if (httpd_parse_listen(listen, &host, &port, err) < 0)
        goto out;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (host == NULL) {
        /* Like Go's ":port": one IPv6 socket that also takes IPv4, or plain
         * IPv4 where the pod has no IPv6. */
        struct sockaddr_in6 any6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
        struct sockaddr_in any4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
        uint16_t nport = htons((uint16_t)strtol(port, NULL, 10));

        any6.sin6_port = nport;
        any4.sin_port = nport;
        fd = httpd_bind_one((struct sockaddr *)&any6, sizeof(any6), true);
        if (fd < 0 && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL))
            fd = httpd_bind_one((struct sockaddr *)&any4, sizeof(any4), false);
    } else {
        gai = getaddrinfo(host, port, &hints, &res);
        if (gai != 0) {
            perr_set(err, PERR_NETWORK, "metrics: listen address '%s': %s", listen,
                     gai_strerror(gai));
            goto out;
        }
        for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
            /* "[::]:port" takes IPv4 as well, as Go's listener does. */
            bool any6 = ai->ai_family == AF_INET6 &&
                        IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr);

            fd = httpd_bind_one(ai->ai_addr, ai->ai_addrlen, any6);
        }
    }
    if (fd < 0) {
        perr_set(err, PERR_NETWORK, "metrics: cannot listen on '%s': %s", listen, strerror(errno));
        goto out;
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
        perr_set(err, PERR_NETWORK, "metrics: getsockname: %s", strerror(errno));
        goto out;
    }
    h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    h->listen_fd = fd;
    fd = -1;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (res != NULL)
        freeaddrinfo(res);
    free(host);
    free(port);
    return rc;
}

/*
 * The certificate.
 */

/* True for a name that can go into a DNS subjectAltName as is. */
static bool
httpd_dns_name_ok(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= 63 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789.-") == n &&
           s[0] != '.' && s[0] != '-';
}

static int
httpd_add_san_dns(GENERAL_NAMES *names, const char *dns)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
    int rc = -1;

    if (gn == NULL || ia5 == NULL || !ASN1_STRING_set(ia5, dns, -1))
        goto out;
    GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
    ia5 = NULL;
    if (!sk_GENERAL_NAME_push(names, gn))
        goto out;
    gn = NULL; /* owned by names now */
    rc = 0;
out:
    ASN1_IA5STRING_free(ia5);
    GENERAL_NAME_free(gn);
    return rc;
}

static int
httpd_add_san_ip(GENERAL_NAMES *names, const char *ip)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_OCTET_STRING *os = a2i_IPADDRESS(ip);
    int rc = -1;

    if (gn == NULL || os == NULL)
        goto out;
    GENERAL_NAME_set0_value(gn, GEN_IPADD, os);
    os = NULL;
    if (!sk_GENERAL_NAME_push(names, gn))
        goto out;
    gn = NULL; /* owned by names now */
    rc = 0;
out:
    ASN1_OCTET_STRING_free(os);
    GENERAL_NAME_free(gn);
    return rc;
}

static int
httpd_add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
    int ok;

    if (ext == NULL)
        return -1;
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* A self-signed certificate for key, named after this host. */
static X509 *
httpd_make_cert(EVP_PKEY *key, struct perr *err)
{
    char host[256] = "";
    unsigned char serial[16];
    X509 *x = NULL, *ret = NULL;
    BIGNUM *bn = NULL;
    GENERAL_NAMES *names = NULL;
    X509_NAME *subject;
    X509V3_CTX v3;
    bool host_ok;

    if (gethostname(host, sizeof(host) - 1) < 0)
        host[0] = '\0';
    host_ok = httpd_dns_name_ok(host) && strcmp(host, "localhost") != 0;
    x = X509_new();
    if (x == NULL || !X509_set_version(x, X509_VERSION_3))
        goto out;
    if (RAND_bytes(serial, sizeof(serial)) != 1)
        goto out;
    serial[0] &= 0x7f; /* positive, as RFC 5280 requires */
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
        goto out;
    /* An hour of slack for clients whose clock is a little behind. */
    if (X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), (long)HTTPD_CERT_DAYS * 24 * 3600) == NULL)
        goto out;
    subject = X509_get_subject_name(x);
    if (!X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                    (const unsigned char *)(host_ok ? host : "localhost"), -1, -1,
                                    0) ||
        !X509_set_issuer_name(x, subject) || !X509_set_pubkey(x, key))
        goto out;

    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    if (httpd_add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
        httpd_add_ext(x, &v3, NID_key_usage, "critical,digitalSignature") < 0 ||
        httpd_add_ext(x, &v3, NID_ext_key_usage, "serverAuth") < 0 ||
        httpd_add_ext(x, &v3, NID_subject_key_identifier, "hash") < 0)
        goto out;
    names = sk_GENERAL_NAME_new_null();
    if (names == NULL || httpd_add_san_dns(names, "localhost") < 0 ||
        (host_ok && httpd_add_san_dns(names, host) < 0) ||
        httpd_add_san_ip(names, "127.0.0.1") < 0 || httpd_add_san_ip(names, "::1") < 0 ||
        !X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT))
        goto out;
    if (X509_sign(x, key, EVP_sha256()) <= 0)
        goto out;
    ret = x;
    x = NULL;
out:
    if (ret == NULL)
        httpd_tls_fail(err, "cannot make the certificate");
    GENERAL_NAMES_free(names);
    BN_free(bn);
    X509_free(x);
    return ret;
}

static int
httpd_tls_setup(struct metrics_httpd *h, struct perr *err)
{
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    BIO *mem = NULL;
    char *pem;
    long pem_len;
    int rc = -1;

    key = EVP_EC_gen("P-256");
    if (key == NULL) {
        httpd_tls_fail(err, "cannot make the key");
        goto out;
    }
    cert = httpd_make_cert(key, err);
    if (cert == NULL)
        goto out;
    h->ctx = SSL_CTX_new(TLS_server_method());
    if (h->ctx == NULL || !SSL_CTX_set_min_proto_version(h->ctx, TLS1_2_VERSION) ||
        SSL_CTX_use_certificate(h->ctx, cert) != 1 || SSL_CTX_use_PrivateKey(h->ctx, key) != 1 ||
        SSL_CTX_check_private_key(h->ctx) != 1) {
        httpd_tls_fail(err, "cannot set up TLS");
        goto out;
    }
    SSL_CTX_set_options(h->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* The socket is non-blocking: let SSL_write() return partial progress and
     * be retried from the same, growing buffer. */
    SSL_CTX_set_mode(h->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* One request per connection: no resumption, so no session state. */
    SSL_CTX_set_session_cache_mode(h->ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(h->ctx, 0);

    mem = BIO_new(BIO_s_mem());
    if (mem == NULL || PEM_write_bio_X509(mem, cert) != 1) {
        httpd_tls_fail(err, "cannot export the certificate");
        goto out;
    }
    pem_len = BIO_get_mem_data(mem, &pem);
    h->cert_pem = strndup(pem, (size_t)pem_len);
    if (h->cert_pem == NULL) {
        perr_set(err, PERR_NOMEM, "metrics: out of memory");
        goto out;
    }
    rc = 0;
out:
    BIO_free(mem);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

/*
 * Connections.  All of this runs on the server thread.
 */

static void
httpd_conn_close(struct httpd_conn *c)
{
    SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    buf_free(&c->resp);
    c->ssl = NULL;
    c->fd = -1;
    c->state = HTTPD_CONN_FREE;
}

/* After an SSL_* call returned r <= 0: true when it only has to wait for the
 * socket (c->want says which way), false when the connection is finished. */
static bool
httpd_conn_wait(struct httpd_conn *c, int r)
{
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        c->want = POLLIN;
        return true;
    case SSL_ERROR_WANT_WRITE:
        c->want = POLLOUT;
        return true;
    default:
        ERR_clear_error();
        return false;
    }
}

static const char *
httpd_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 431:
        return "Request Header Fields Too Large";
    default:
        return "Internal Server Error";
    }
}

/* Fills c->resp with a complete response. */
static int
httpd_build_response(struct httpd_conn *c, int status, const char *extra_headers,
                     const char *content_type, const char *body, size_t body_len, struct perr *err)
{
    buf_reset(&c->resp);
    c->resp_off = 0;
    if (buf_addf(&c->resp, err,
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n%s\r\n",
                 status, httpd_reason(status), content_type, body_len, extra_headers) < 0)
        return -1;
    return buf_add(&c->resp, body, body_len, err);
}

/* Splits the request line "METHOD SP target SP HTTP/1.x" in place; false
 * when it is malformed. */
static bool
httpd_parse_request_line(char *head, char **method, char **target)
{
    char *eol = strchr(head, '\n');
    char *sp1, *sp2;

    if (eol == NULL)
        return false;
    *eol = '\0';
    if (eol > head && eol[-1] == '\r')
        eol[-1] = '\0';
    sp1 = strchr(head, ' ');
    if (sp1 == NULL || sp1 == head)
        return false;
    *sp1 = '\0';
    sp2 = strchr(sp1 + 1, ' ');
    if (sp2 == NULL || sp2 == sp1 + 1 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
        return false;
    *sp2 = '\0';
    *method = head;
    *target = sp1 + 1;
    return true;
}

static void
httpd_log_request(const char *method, const char *target, int status)
{
    char path[HTTPD_LOG_PATH_MAX];
    char meth[HTTPD_METHOD_MAX];
    char code[8];

    if (!log_enabled(LOGL_DEBUG))
        return;
    /* The query is left out; long or odd input is cut, the logger quotes the rest. */
    snprintf(path, sizeof(path), "%.*s", (int)strcspn(target, "?"), target);
    snprintf(meth, sizeof(meth), "%.*s", (int)sizeof(meth) - 1, method);
    snprintf(code, sizeof(code), "%d", status);
    log_debug("metrics", "request", "method", meth, "path", path, "status", code, NULL);
}

/* Answers a complete request head (or an oversized one) by filling c->resp. */
static int
httpd_respond(struct metrics_httpd *h, struct httpd_conn *c, bool too_large, struct perr *err)
{
    static const char text[] = "text/plain; charset=utf-8";
    struct buf body = {0};
    const char *method = "-", *target = "-";
    char *pm, *pt;
    bool parsed;
    int status, rc = -1;

    c->head[c->head_len] = '\0';
    /* Parsed even when too large, so the log line can say what was asked. */
    parsed = httpd_parse_request_line(c->head, &pm, &pt);
    if (parsed) {
        method = pm;
        target = pt;
    }
    if (too_large) {
        status = 431;
        if (buf_adds(&body, "request header too large\n", err) < 0)
            goto out;
    } else if (!parsed) {
        status = 400;
        if (buf_adds(&body, "bad request\n", err) < 0)
            goto out;
    } else if (strcmp(method, "GET") != 0) {
        status = 405;
        if (buf_adds(&body, "method not allowed\n", err) < 0)
            goto out;
    } else if (strncmp(target, "/metrics", 8) != 0 || (target[8] != '\0' && target[8] != '?')) {
        status = 404;
        if (buf_adds(&body, "not found\n", err) < 0)
            goto out;
    } else {
        status = 200;
        /* Checked before rendering: completion is never undone, so a body
         * rendered after this reads true carries the completion sample. */
        c->completion = metrics_copy_is_done(h->metrics_ref);
        if (metrics_render(h->metrics_ref, &body, err) < 0)
            goto out;
    }
    if (httpd_build_response(c, status, status == 405 ? "Allow: GET\r\n" : "",
                             status == 200 ? METRICS_CONTENT_TYPE : text, buf_cstr(&body), body.len,
                             err) < 0)
        goto out;
    httpd_log_request(method, target, status);
    rc = 0;
out:
    buf_free(&body);
    return rc;
}

static void
httpd_completion_served(struct metrics_httpd *h)
{
    pthread_mutex_lock(&h->lock);
    h->completion_scraped = true;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

/* The end of the request head: a blank line (CRLF or, leniently, bare LF). */
static bool
httpd_head_complete(const struct httpd_conn *c)
{
    return memmem(c->head, c->head_len, "\r\n\r\n", 4) != NULL ||
           memmem(c->head, c->head_len, "\n\n", 2) != NULL;
}

/* Moves one connection forward until it has to wait for its socket (true,
 * c->want set) or is finished (false). */
static bool
httpd_conn_advance(struct metrics_httpd *h, struct httpd_conn *c)
{
    struct perr err = {0};
    char sink[4096];
    ssize_t n;
    int r;

    for (;;) {
        ERR_clear_error();
        switch (c->state) {
        case HTTPD_CONN_FREE:
            return false;
        case HTTPD_CONN_HANDSHAKE:
            r = SSL_do_handshake(c->ssl);
            if (r == 1) {
                c->state = HTTPD_CONN_READ;
                continue;
            }
            if (!httpd_conn_wait(c, r))
                return false;
            return true;
        case HTTPD_CONN_READ:
            r = SSL_read(c->ssl, c->head + c->head_len, (int)(HTTPD_HEAD_MAX - c->head_len));
            if (r <= 0) {
                if (!httpd_conn_wait(c, r))
                    return false;
                return true;
            }
            c->head_len += (size_t)r;
            if (!httpd_head_complete(c) && c->head_len < HTTPD_HEAD_MAX)
                continue;
            if (httpd_respond(h, c, !httpd_head_complete(c), &err) < 0) {
                log_warn("metrics", "cannot answer a request", "error", err.msg, NULL);
                return false;
            }
            c->state = HTTPD_CONN_WRITE;
            continue;
        case HTTPD_CONN_WRITE:
            r = SSL_write(c->ssl, c->resp.data + c->resp_off, (int)(c->resp.len - c->resp_off));
            if (r <= 0) {
                if (!httpd_conn_wait(c, r))
                    return false;
                return true;
            }
            c->resp_off += (size_t)r;
            if (c->resp_off < c->resp.len)
                continue;
            if (c->completion)
                httpd_completion_served(h);
            c->state = HTTPD_CONN_SHUTDOWN;
            continue;
        case HTTPD_CONN_SHUTDOWN:
            r = SSL_shutdown(c->ssl);
            if (r < 0) {
                if (!httpd_conn_wait(c, r))
                    return false;
                return true;
            }
            /* Lingering close: stop sending, but read until the client closes,
             * so unread request bytes cannot turn our close into a reset that
             * destroys the response before the client has read it. */
            shutdown(c->fd, SHUT_WR);
            c->state = HTTPD_CONN_DRAIN;
            continue;
        case HTTPD_CONN_DRAIN:
            n = recv(c->fd, sink, sizeof(sink), 0);
            if (n > 0)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                c->want = POLLIN;
                return true;
            }
            return false;
        }
    }
}

static void
httpd_conn_step(struct metrics_httpd *h, struct httpd_conn *c)
{
    if (!httpd_conn_advance(h, c))
        httpd_conn_close(c);
}

static struct httpd_conn *
httpd_free_slot(struct metrics_httpd *h)
{
    for (size_t i = 0; i < HTTPD_MAX_CONNS; i++) {
        if (h->conns[i].state == HTTPD_CONN_FREE)
            return &h->conns[i];
    }
    return NULL;
}

/* Accepts pending connections while there are free slots. */
static void
httpd_accept(struct metrics_httpd *h, int64_t now)
{
    struct httpd_conn *c;
    int fd;

    while ((c = httpd_free_slot(h)) != NULL) {
        fd = accept4(h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                /* Out of descriptors or memory: retrying at once would spin. */
                log_warn("metrics", "cannot accept a connection", "error", strerror(errno), NULL);
                h->accept_resume_ms = now + HTTPD_ACCEPT_PAUSE_MS;
            }
            return;
        }
        ERR_clear_error();
        c->ssl = SSL_new(h->ctx);
        if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
            ERR_clear_error();
            SSL_free(c->ssl);
            c->ssl = NULL;
            close(fd);
            continue;
        }
        SSL_set_accept_state(c->ssl);
        c->fd = fd;
        c->state = HTTPD_CONN_HANDSHAKE;
        c->want = POLLIN;
        c->deadline_ms = now + HTTPD_CONN_MS;
        c->head_len = 0;
        c->completion = false;
        buf_init(&c->resp, 0);
        c->resp_off = 0;
    }
}

static void *
httpd_main(void *arg)
{
    struct metrics_httpd *h = arg;
    struct pollfd pfd[2 + HTTPD_MAX_CONNS];
    struct httpd_conn *polled[2 + HTTPD_MAX_CONNS];

    for (;;) {
        int64_t now = httpd_now_ms(), next = INT64_MAX;
        bool accepting = now >= h->accept_resume_ms && httpd_free_slot(h) != NULL;
        nfds_t n = 0;
        int timeout, r;

        pfd[n] = (struct pollfd){.fd = h->wake[0], .events = POLLIN};
        polled[n++] = NULL;
        pfd[n] = (struct pollfd){.fd = accepting ? h->listen_fd : -1, .events = POLLIN};
        polled[n++] = NULL;
        if (!accepting && httpd_free_slot(h) != NULL)
            next = h->accept_resume_ms;
        for (size_t i = 0; i < HTTPD_MAX_CONNS; i++) {
            struct httpd_conn *c = &h->conns[i];

            if (c->state == HTTPD_CONN_FREE)
                continue;
            pfd[n] = (struct pollfd){.fd = c->fd, .events = c->want};
            polled[n++] = c;
            if (c->deadline_ms < next)
                next = c->deadline_ms;
        }
        if (next == INT64_MAX)
            timeout = -1;
        else if (next <= now)
            timeout = 0;
        else
            timeout = next - now > INT_MAX ? INT_MAX : (int)(next - now);

        r = poll(pfd, n, timeout);
        if (r < 0 && errno != EINTR) {
            log_error("metrics", "poll failed; metrics server stopped", "error", strerror(errno),
                      NULL);
            break;
        }
        if (r > 0 && pfd[0].revents != 0)
            break;
        now = httpd_now_ms();
        for (nfds_t i = 2; r > 0 && i < n; i++) {
            if (pfd[i].revents != 0)
                httpd_conn_step(h, polled[i]);
        }
        for (size_t i = 0; i < HTTPD_MAX_CONNS; i++) {
            struct httpd_conn *c = &h->conns[i];

            if (c->state != HTTPD_CONN_FREE && now >= c->deadline_ms) {
                log_debug("metrics", "connection timed out", NULL);
                httpd_conn_close(c);
            }
        }
        if (r > 0 && pfd[1].revents != 0)
            httpd_accept(h, now);
    }

    for (size_t i = 0; i < HTTPD_MAX_CONNS; i++) {
        if (h->conns[i].state != HTTPD_CONN_FREE)
            httpd_conn_close(&h->conns[i]);
    }
    pthread_mutex_lock(&h->lock);
    h->stopped = true;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

/*
 * Public interface.
 */

int
metrics_httpd_check_listen(const char *listen, struct perr *err)
{
    char *host = NULL;
    char *port = NULL;

    if (httpd_parse_listen(listen, &host, &port, err) < 0)
        return -1;
    free(host);
    free(port);
    return 0;
}

int
metrics_httpd_start(struct metrics *m, const char *listen, struct metrics_httpd **out,
                    struct perr *err)
{
    struct metrics_httpd *h = NULL;
    pthread_condattr_t cattr;
    sigset_t all, old;
    char port[8];
    int rc = -1, e;

    assert(m != NULL && listen != NULL && out != NULL);
    *out = NULL;
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        perr_set(err, PERR_NOMEM, "metrics: out of memory");
        goto out;
    }
    h->metrics_ref = m;
    h->listen_fd = -1;
    h->wake[0] = h->wake[1] = -1;
    for (size_t i = 0; i < HTTPD_MAX_CONNS; i++) {
        h->conns[i].fd = -1;
        h->conns[i].state = HTTPD_CONN_FREE;
    }
    pthread_mutex_init(&h->lock, NULL);
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cond, &cattr);
    pthread_condattr_destroy(&cattr);

    if (pipe2(h->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        perr_set(err, PERR_INTERNAL, "metrics: pipe: %s", strerror(errno));
        goto out;
    }
    if (httpd_tls_setup(h, err) < 0 || httpd_listen(h, listen, err) < 0)
        goto out;

    /* The thread starts with every signal blocked (see the header). */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    e = pthread_create(&h->thread, NULL, httpd_main, h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        perr_set(err, PERR_INTERNAL, "metrics: cannot start the server thread: %s", strerror(e));
        goto out;
    }
    h->thread_started = true;
    snprintf(port, sizeof(port), "%d", h->port);
    log_info("metrics", "metrics server listening", "listen", listen, "port", port, NULL);
    *out = h;
    h = NULL;
    rc = 0;
out:
    metrics_httpd_free(h);
    return rc;
}

int
metrics_httpd_port(const struct metrics_httpd *h)
{
    return h->port;
}

const char *
metrics_httpd_cert_pem(const struct metrics_httpd *h)
{
    return h->cert_pem;
}

int
metrics_httpd_wait_scrape(struct metrics_httpd *h, long timeout_ms)
{
    struct timespec deadline;
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    if (timeout_ms < 0)
        timeout_ms = 0;
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&h->lock);
    while (!h->completion_scraped && !h->stopped) {
        if (pthread_cond_timedwait(&h->cond, &h->lock, &deadline) == ETIMEDOUT)
            break;
    }
    rc = h->completion_scraped ? 0 : -1;
    pthread_mutex_unlock(&h->lock);
    return rc;
}

void
metrics_httpd_stop(struct metrics_httpd *h)
{
    bool join;

    pthread_mutex_lock(&h->lock);
    join = h->thread_started && !h->joining;
    h->joining = true;
    h->stopped = true;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    if (join) {
        /* The pipe cannot be full: one byte is ever written. */
        while (write(h->wake[1], "x", 1) < 0 && errno == EINTR)
            ;
        pthread_join(h->thread, NULL);
    }
    if ((join || !h->thread_started) && h->listen_fd >= 0) {
        close(h->listen_fd);
        h->listen_fd = -1;
    }
}

void
metrics_httpd_free(struct metrics_httpd *h)
{
    if (h == NULL)
        return;
    metrics_httpd_stop(h);
    if (h->wake[0] >= 0)
        close(h->wake[0]);
    if (h->wake[1] >= 0)
        close(h->wake[1]);
    SSL_CTX_free(h->ctx);
    free(h->cert_pem);
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
