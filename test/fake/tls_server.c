#include "test/fake/tls_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lib/buf.h"

#define TLS_MAX_HEAD (64 * 1024)
#define TLS_MAX_BODY ((size_t)64 * 1024 * 1024)
#define TLS_CHUNK    16384

struct tls_conn {
    struct tls_server *srv;
    pthread_t thread;
    int fd; /* -1 once closed; guarded by srv->lock */
    SSL *ssl;
    struct buf in; /* bytes read but not yet consumed */
    struct tls_conn *next;
};

struct tls_server {
    struct tls_server_opts opts;
    struct tls_pki *pki;
    SSL_CTX *ctx;
    int lfd;
    int port;
    int stop_pipe[2]; /* written once by tls_server_stop(); never drained */
    char url[64];
    pthread_t accept_thread;
    bool accept_started;
    pthread_mutex_t lock;
    struct tls_conn *conns;
    struct tls_request **reqs;
    size_t nreqs;
    size_t nconns;
    size_t nhs_fail;
};

/* ---- certificates ---- */

static void
tls_print_errors(const char *what)
{
    fprintf(stderr, "tls_server: %s failed\n", what);
    ERR_print_errors_fp(stderr);
}

static int
tls_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok;

    if (ext == NULL)
        return -1;
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

/* A certificate for key, signed by issuer (NULL = self-signed). */
static X509 *
tls_make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, bool ca)
{
    X509 *x = X509_new();
    X509V3_CTX v3;
    uint64_t serial = 0;
    X509_NAME *name;
    bool ok = false;

    if (x == NULL)
        return NULL;
    if (RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1)
        goto out;
    serial >>= 1; /* positive */
    name = X509_get_subject_name(x);
    if (X509_set_version(x, 2) != 1 ||
        ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 2 * 86400) == NULL || X509_set_pubkey(x, key) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                   0) != 1 ||
        X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name) != 1)
        goto out;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    if (tls_add_ext(x, &v3, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE") <
            0 ||
        tls_add_ext(x, &v3, NID_key_usage,
                    ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") < 0 ||
        tls_add_ext(x, &v3, NID_subject_key_identifier, "hash") < 0)
        goto out;
    if (!ca && (tls_add_ext(x, &v3, NID_authority_key_identifier, "keyid:always") < 0 ||
                tls_add_ext(x, &v3, NID_ext_key_usage, "serverAuth") < 0 ||
                tls_add_ext(x, &v3, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost") < 0))
        goto out;
    if (X509_sign(x, issuer_key, EVP_sha256()) == 0)
        goto out;
    ok = true;
out:
    if (!ok) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

static char *
tls_path(const char *dir, const char *name)
{
    char *p = NULL;

    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return NULL;
    return p;
}

static int
tls_write_pem(const char *path, X509 *cert, EVP_PKEY *key)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (f == NULL)
        return -1;
    if (key != NULL)
        fchmod(fileno(f), 0600);
    ok = cert != NULL ? PEM_write_X509(f, cert)
                      : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    if (fclose(f) != 0)
        ok = 0;
    return ok == 1 ? 0 : -1;
}

static char *
tls_cert_pem_text(X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    char *out = NULL;
    long n;

    if (bio == NULL)
        return NULL;
    if (PEM_write_bio_X509(bio, cert) == 1) {
        n = BIO_get_mem_data(bio, &data);
        if (n > 0)
            out = strndup(data, (size_t)n);
    }
    BIO_free(bio);
    return out;
}

void
tls_pki_free(struct tls_pki *p)
{
    if (p == NULL)
        return;
    if (p->ca_file != NULL)
        unlink(p->ca_file);
    if (p->cert_file != NULL)
        unlink(p->cert_file);
    if (p->key_file != NULL)
        unlink(p->key_file);
    if (p->dir != NULL)
        rmdir(p->dir);
    free(p->dir);
    free(p->ca_file);
    free(p->cert_file);
    free(p->key_file);
    free(p->ca_pem);
    free(p);
}

struct tls_pki *
tls_pki_new(void)
{
    struct tls_pki *p = calloc(1, sizeof(*p));
    EVP_PKEY *ca_key = NULL;
    EVP_PKEY *key = NULL;
    X509 *ca = NULL;
    X509 *cert = NULL;
    const char *tmp = getenv("TMPDIR");
    char *tmpl = NULL;
    bool ok = false;

    if (p == NULL || asprintf(&tmpl, "%s/pop-tls-XXXXXX", tmp != NULL ? tmp : "/tmp") < 0) {
        tmpl = NULL;
        goto out;
    }
    if (mkdtemp(tmpl) == NULL) {
        fprintf(stderr, "tls_server: mkdtemp '%s': %s\n", tmpl, strerror(errno));
        goto out;
    }
    p->dir = tmpl;
    tmpl = NULL;
    p->ca_file = tls_path(p->dir, "ca.pem");
    p->cert_file = tls_path(p->dir, "server.pem");
    p->key_file = tls_path(p->dir, "server.key");
    if (p->ca_file == NULL || p->cert_file == NULL || p->key_file == NULL)
        goto out;
    ca_key = EVP_EC_gen("P-256");
    key = EVP_EC_gen("P-256");
    if (ca_key == NULL || key == NULL) {
        tls_print_errors("key generation");
        goto out;
    }
    ca = tls_make_cert(ca_key, "pop test CA", NULL, ca_key, true);
    cert = ca != NULL ? tls_make_cert(key, "localhost", ca, ca_key, false) : NULL;
    if (cert == NULL) {
        tls_print_errors("certificate generation");
        goto out;
    }
    if (tls_write_pem(p->ca_file, ca, NULL) < 0 || tls_write_pem(p->cert_file, cert, NULL) < 0 ||
        tls_write_pem(p->key_file, NULL, key) < 0) {
        fprintf(stderr, "tls_server: cannot write PEM files in '%s'\n", p->dir);
        goto out;
    }
    p->ca_pem = tls_cert_pem_text(ca);
    if (p->ca_pem == NULL)
        goto out;
    ok = true;
out:
    X509_free(ca);
    X509_free(cert);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    free(tmpl);
    if (!ok) {
        tls_pki_free(p);
        p = NULL;
    }
    return p;
}

/* ---- requests ---- */

static void
tls_request_free(struct tls_request *r)
{
    if (r == NULL)
        return;
    free(r->method);
    free(r->target);
    strv_free(&r->headers);
    free(r->body);
    free(r);
}

const char *
tls_request_header(const struct tls_request *r, const char *name)
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

/* ---- connection I/O ---- */

static bool
tls_stopping(struct tls_server *s)
{
    struct pollfd p = {.fd = s->stop_pipe[0], .events = POLLIN};

    return poll(&p, 1, 0) > 0;
}

/* Reads more bytes into c->in; false on EOF, error or stop. */
static bool
tls_conn_fill(struct tls_conn *c)
{
    char chunk[TLS_CHUNK];
    struct perr err = {0};
    ssize_t n;

    if (c->ssl != NULL) {
        int r = SSL_read(c->ssl, chunk, sizeof(chunk));

        n = r > 0 ? r : -1;
    } else {
        n = recv(c->fd, chunk, sizeof(chunk), 0);
    }
    if (n <= 0 || tls_stopping(c->srv))
        return false;
    return buf_add(&c->in, chunk, (size_t)n, &err) == 0;
}

static bool
tls_conn_write(struct tls_conn *c, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n;

        if (c->ssl != NULL) {
            int r = SSL_write(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);

            n = r > 0 ? r : -1;
        } else {
            n = send(c->fd, p, len, MSG_NOSIGNAL);
        }
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static void
tls_conn_consume(struct tls_conn *c, size_t n)
{
    memmove(c->in.data, c->in.data + n, c->in.len - n + 1);
    c->in.len -= n;
}

static char *
tls_span_dup(const char *p, size_t n)
{
    return strndup(p, n);
}

/* Parses the head in c->in[0..head_len); NULL when malformed. */
static struct tls_request *
tls_parse_head(const char *head, size_t head_len, size_t *content_length)
{
    struct tls_request *r = calloc(1, sizeof(*r));
    struct perr err = {0};
    const char *line = head;
    const char *end = head + head_len;
    bool first = true;
    bool ok = false;

    *content_length = 0;
    if (r == NULL)
        return NULL;
    while (line < end) {
        const char *eol = memmem(line, (size_t)(end - line), "\r\n", 2);
        size_t n = eol != NULL ? (size_t)(eol - line) : (size_t)(end - line);

        if (n == 0)
            break;
        if (first) {
            const char *sp1 = memchr(line, ' ', n);
            const char *sp2 =
                sp1 != NULL ? memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - line)) : NULL;

            if (sp2 == NULL)
                goto out;
            r->method = tls_span_dup(line, (size_t)(sp1 - line));
            r->target = tls_span_dup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
            if (r->method == NULL || r->target == NULL)
                goto out;
            first = false;
        } else {
            if (strv_take(&r->headers, tls_span_dup(line, n), &err) < 0)
                goto out;
            if (n > 15 && strncasecmp(line, "Content-Length:", 15) == 0)
                *content_length = strtoul(line + 15, NULL, 10);
        }
        line += n + 2;
    }
    ok = !first;
out:
    if (!ok) {
        tls_request_free(r);
        r = NULL;
    }
    return r;
}

/* Reads one full request; NULL on EOF, stop or a malformed request. */
static struct tls_request *
tls_read_request(struct tls_conn *c)
{
    struct tls_request *r = NULL;
    const char *hend;
    size_t head_len;
    size_t clen = 0;
    bool ok = false;

    while ((hend = c->in.len > 0 ? memmem(c->in.data, c->in.len, "\r\n\r\n", 4) : NULL) == NULL) {
        if (c->in.len > TLS_MAX_HEAD || !tls_conn_fill(c))
            return NULL;
    }
    head_len = (size_t)(hend - c->in.data) + 4;
    r = tls_parse_head(c->in.data, head_len, &clen);
    if (r == NULL || clen > TLS_MAX_BODY)
        goto out;
    while (c->in.len - head_len < clen) {
        if (!tls_conn_fill(c))
            goto out;
    }
    r->body = tls_span_dup(c->in.data + head_len, clen);
    if (r->body == NULL)
        goto out;
    r->body_len = clen;
    tls_conn_consume(c, head_len + clen);
    ok = true;
out:
    if (!ok) {
        tls_request_free(r);
        r = NULL;
    }
    return r;
}

static const char *
tls_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

/* Waits up to ms; false when the client left or the server is stopping. */
static bool
tls_delay(struct tls_conn *c, long ms)
{
    struct pollfd p[2] = {
        {.fd = c->fd, .events = POLLIN},
        {.fd = c->srv->stop_pipe[0], .events = POLLIN},
    };

    return poll(p, 2, (int)ms) == 0;
}

/* Sends the scripted reply; false when the connection must end. */
static bool
tls_send_reply(struct tls_conn *c, const struct tls_request *req, const struct tls_reply *rp)
{
    struct buf head = {0};
    struct perr err = {0};
    const char *body = rp->body_alloc != NULL ? rp->body_alloc : rp->body;
    size_t blen = body == NULL ? 0 : rp->body_len != 0 ? rp->body_len : strlen(body);
    int status = rp->status != 0 ? rp->status : rp->location != NULL ? 302 : 200;
    bool head_only = strcmp(req->method, "HEAD") == 0;
    bool ok = false;

    if (rp->delay_ms > 0 && !tls_delay(c, rp->delay_ms))
        goto out;
    if (rp->close)
        goto out;
    if (buf_addf(&head, &err, "HTTP/1.1 %d %s\r\n", status, tls_reason(status)) < 0)
        goto out;
    if (!rp->no_length && buf_addf(&head, &err, "Content-Length: %zu\r\n",
                                   rp->huge_len > 0 ? rp->huge_len : blen) < 0)
        goto out;
    if (rp->content_type != NULL &&
        buf_addf(&head, &err, "Content-Type: %s\r\n", rp->content_type) < 0)
        goto out;
    if (rp->location != NULL && buf_addf(&head, &err, "Location: %s\r\n", rp->location) < 0)
        goto out;
    for (size_t i = 0; i < rp->headers.n; i++) {
        if (buf_addf(&head, &err, "%s\r\n", rp->headers.v[i]) < 0)
            goto out;
    }
    if ((rp->close_after || rp->no_length) && buf_adds(&head, "Connection: close\r\n", &err) < 0)
        goto out;
    if (buf_adds(&head, "\r\n", &err) < 0 || !tls_conn_write(c, head.data, head.len))
        goto out;
    if (!head_only && rp->huge_len > 0) {
        char chunk[TLS_CHUNK];

        memset(chunk, 'x', sizeof(chunk));
        for (size_t left = rp->huge_len; left > 0;) {
            size_t n = left < sizeof(chunk) ? left : sizeof(chunk);

            if (!tls_conn_write(c, chunk, n))
                goto out;
            left -= n;
        }
    } else if (!head_only && blen > 0 && !tls_conn_write(c, body, blen)) {
        goto out;
    }
    ok = !rp->close_after && !rp->no_length;
out:
    buf_free(&head);
    return ok;
}

static void
tls_default_handler(void *arg, const struct tls_request *req, struct tls_reply *reply)
{
    (void)arg;
    (void)req;
    reply->body = "ok";
    reply->content_type = "text/plain";
}

static void
tls_record(struct tls_server *s, struct tls_request *r)
{
    struct tls_request **v;

    pthread_mutex_lock(&s->lock);
    v = realloc(s->reqs, (s->nreqs + 1) * sizeof(*v));
    if (v != NULL) {
        v[s->nreqs++] = r;
        s->reqs = v;
        r = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    tls_request_free(r);
}

static void *
tls_conn_main(void *arg)
{
    struct tls_conn *c = arg;
    struct tls_server *s = c->srv;
    tls_handler_fn *handler = s->opts.handler != NULL ? s->opts.handler : tls_default_handler;

    if (s->ctx != NULL) {
        c->ssl = SSL_new(s->ctx);
        if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_accept(c->ssl) != 1) {
            pthread_mutex_lock(&s->lock);
            s->nhs_fail++;
            pthread_mutex_unlock(&s->lock);
            goto out;
        }
    }
    for (;;) {
        struct tls_reply reply;
        struct tls_request *req = tls_read_request(c);
        bool go_on;

        if (req == NULL)
            break;
        tls_record(s, req);
        memset(&reply, 0, sizeof(reply));
        /* the request is owned by the server from here; it outlives this loop */
        handler(s->opts.arg, req, &reply);
        go_on = tls_send_reply(c, req, &reply);
        free(reply.body_alloc);
        strv_free(&reply.headers);
        if (!go_on)
            break;
    }
    if (c->ssl != NULL)
        SSL_shutdown(c->ssl);
out:
    ERR_clear_error();
    pthread_mutex_lock(&s->lock);
    SSL_free(c->ssl);
    c->ssl = NULL;
    close(c->fd);
    c->fd = -1;
    pthread_mutex_unlock(&s->lock);
    buf_free(&c->in);
    /* thread-local OpenSSL state (error queue) is freed by OpenSSL's thread exit hook */
    return NULL;
}

static void *
tls_accept_main(void *arg)
{
    struct tls_server *s = arg;
    struct pollfd p[2] = {
        {.fd = s->lfd, .events = POLLIN},
        {.fd = s->stop_pipe[0], .events = POLLIN},
    };

    for (;;) {
        struct tls_conn *c;
        int fd;

        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents != 0)
            break;
        fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        c = calloc(1, sizeof(*c));
        if (c == NULL) {
            close(fd);
            continue;
        }
        /* replies go out as head + body writes: do not let Nagle hold the body */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
        c->srv = s;
        c->fd = fd;
        pthread_mutex_lock(&s->lock);
        s->nconns++;
        pthread_mutex_unlock(&s->lock);
        if (pthread_create(&c->thread, NULL, tls_conn_main, c) != 0) {
            close(fd);
            free(c);
            continue;
        }
        pthread_mutex_lock(&s->lock);
        c->next = s->conns;
        s->conns = c;
        pthread_mutex_unlock(&s->lock);
    }
    return NULL;
}

static int
tls_listen(struct tls_server *s)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int one = 1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->lfd < 0 || setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s->lfd, 16) < 0 ||
        getsockname(s->lfd, (struct sockaddr *)&sa, &len) < 0) {
        fprintf(stderr, "tls_server: listen on 127.0.0.1: %s\n", strerror(errno));
        return -1;
    }
    s->port = ntohs(sa.sin_port);
    return 0;
}

static int
tls_make_ctx(struct tls_server *s)
{
    s->ctx = SSL_CTX_new(TLS_server_method());
    if (s->ctx == NULL || SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(s->ctx, s->pki->cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(s->ctx, s->pki->key_file, SSL_FILETYPE_PEM) != 1) {
        tls_print_errors("SSL_CTX setup");
        return -1;
    }
    return 0;
}

struct tls_server *
tls_server_start(const struct tls_server_opts *opts)
{
    struct tls_server *s = calloc(1, sizeof(*s));
    sigset_t block;
    sigset_t old;
    bool ok = false;
    int rc;

    if (s == NULL)
        return NULL;
    s->lfd = -1;
    s->stop_pipe[0] = s->stop_pipe[1] = -1;
    pthread_mutex_init(&s->lock, NULL);
    if (opts != NULL)
        s->opts = *opts;
    if (pipe2(s->stop_pipe, O_CLOEXEC) < 0 || tls_listen(s) < 0)
        goto out;
    s->pki = tls_pki_new();
    if (s->pki == NULL || (!s->opts.plain && tls_make_ctx(s) < 0))
        goto out;
    snprintf(s->url, sizeof(s->url), "%s://127.0.0.1:%d", s->opts.plain ? "http" : "https",
             s->port);
    /* a client that gives up mid-reply must not kill the test process */
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    rc = pthread_create(&s->accept_thread, NULL, tls_accept_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        fprintf(stderr, "tls_server: pthread_create: %s\n", strerror(rc));
        goto out;
    }
    s->accept_started = true;
    ok = true;
out:
    if (!ok) {
        tls_server_stop(s);
        s = NULL;
    }
    return s;
}

const char *
tls_server_url(const struct tls_server *s)
{
    return s->url;
}

int
tls_server_port(const struct tls_server *s)
{
    return s->port;
}

const struct tls_pki *
tls_server_pki(const struct tls_server *s)
{
    return s->pki;
}

size_t
tls_server_nrequests(struct tls_server *s)
{
    size_t n;

    pthread_mutex_lock(&s->lock);
    n = s->nreqs;
    pthread_mutex_unlock(&s->lock);
    return n;
}

const struct tls_request *
tls_server_request(struct tls_server *s, size_t i)
{
    const struct tls_request *r = NULL;

    pthread_mutex_lock(&s->lock);
    if (i < s->nreqs)
        r = s->reqs[i];
    pthread_mutex_unlock(&s->lock);
    return r;
}

size_t
tls_server_nconnections(struct tls_server *s)
{
    size_t n;

    pthread_mutex_lock(&s->lock);
    n = s->nconns;
    pthread_mutex_unlock(&s->lock);
    return n;
}

size_t
tls_server_nhandshake_failures(struct tls_server *s)
{
    size_t n;

    pthread_mutex_lock(&s->lock);
    n = s->nhs_fail;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void
tls_server_stop(struct tls_server *s)
{
    struct tls_conn *c;

    if (s == NULL)
        return;
    if (s->stop_pipe[1] >= 0 && write(s->stop_pipe[1], "x", 1) < 0)
        perror("tls_server: stop");
    if (s->accept_started)
        pthread_join(s->accept_thread, NULL);
    /* wake connection threads blocked in a read; they close their own sockets */
    pthread_mutex_lock(&s->lock);
    for (c = s->conns; c != NULL; c = c->next) {
        if (c->fd >= 0)
            shutdown(c->fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&s->lock);
    while ((c = s->conns) != NULL) {
        s->conns = c->next;
        pthread_join(c->thread, NULL);
        free(c);
    }
    for (size_t i = 0; i < s->nreqs; i++)
        tls_request_free(s->reqs[i]);
    free(s->reqs);
    SSL_CTX_free(s->ctx);
    tls_pki_free(s->pki);
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->stop_pipe[0] >= 0)
        close(s->stop_pipe[0]);
    if (s->stop_pipe[1] >= 0)
        close(s->stop_pipe[1]);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int
tls_unused_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int port = -1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}
