/*
 * The metrics endpoint over real TLS on 127.0.0.1: scraped with libcurl,
 * verified against the certificate the server exports, and probed with a
 * raw OpenSSL client for what curl will not send (idle connections,
 * malformed or oversized request heads, old TLS versions).
 *
 * No timing assertions: calls that wait are only checked to return, each
 * under a generous guard (curl and socket timeouts of 30 s) so a bug fails
 * the test instead of hanging it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/metrics_httpd.h"

#define UID      "0b9e4c6a-71d2-4e8f-a3b5-c6d7e8f90a1b"
#define GUARD_S  30
#define BIG_HEAD 9000
/* Stage times no test waits out: whatever is answered under them was
 * answered without any connection expiring. */
#define NEVER_MS  (3600L * 1000)
#define MANY_IDLE 1000

/* The controller's expressions (behaviour §2.3) in POSIX ERE form. */
#define ERE_PROGRESS                                                                               \
    "vsphere_xcopy_volume_populator_progress[{][^}]*owner_uid=\"" UID "\"[^}]*[}] "                \
    "([0-9]+\\.?[0-9]*)"
#define ERE_XCOPY                                                                                  \
    "vsphere_xcopy_volume_populator_xcopy_used[{][^}]*owner_uid=\"" UID "\"[^}]*[}] ([0-9]+)"
#define ERE_VIB                                                                                    \
    "vsphere_xcopy_volume_populator_vib_version[{][^}]*owner_uid=\"" UID "\"[^}]*[}] ([0-9]+)"
#define ERE_DONE                                                                                   \
    "vsphere_xcopy_volume_populator_copy_duration_seconds[{][^}]*owner_uid=\"" UID "\"[^}]*[}] "   \
    "([0-9.]+)"
#define ERE_PROVISIONED                                                                            \
    "vsphere_xcopy_volume_populator_source_disk_bytes[{][^}]*owner_uid=\"" UID "\"[^}]*"           \
    "type=\"provisioned\"[^}]*[}] ([0-9.e+]+)"

/* Group 1 of ere in text, or NULL. */
static char *
ere_group(const char *text, const char *ere)
{
    regmatch_t mt[2];
    regex_t re;
    char *g = NULL;

    assert_int_equal(regcomp(&re, ere, REG_EXTENDED), 0);
    if (regexec(&re, text, 2, mt, 0) == 0)
        g = strndup(text + mt[1].rm_so, (size_t)(mt[1].rm_eo - mt[1].rm_so));
    regfree(&re);
    return g;
}

static void
assert_group(const char *text, const char *ere, const char *want)
{
    char *g = ere_group(text, ere);

    assert_non_null(g);
    assert_string_equal(g, want);
    free(g);
}

/*
 * libcurl client.
 */

struct scrape {
    CURLcode cc;
    long status;
    char content_type[128];
    struct buf body;
    struct buf headers;
    long tls_version; /* SSL_version() of the connection, 0 if unknown */
    CURL *handle;     /* during the transfer */
};

static size_t
scrape_write(char *p, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;
    struct perr err = {0};

    return buf_add(b, p, size * n, &err) < 0 ? 0 : size * n;
}

/* Header callback: also notes the TLS version while the connection exists
 * (curl forgets it once a "Connection: close" transfer is over). */
static size_t
scrape_header(char *p, size_t size, size_t n, void *arg)
{
    struct scrape *s = arg;
    const struct curl_tlssessioninfo *tls = NULL;

    if (s->tls_version == 0 &&
        curl_easy_getinfo(s->handle, CURLINFO_TLS_SSL_PTR, &tls) == CURLE_OK && tls != NULL &&
        tls->backend == CURLSSLBACKEND_OPENSSL && tls->internals != NULL)
        s->tls_version = SSL_version(tls->internals);
    return scrape_write(p, size, n, &s->headers);
}

struct scrape_opts {
    const char *host; /* URL host, default "127.0.0.1" */
    const char *path; /* default "/metrics" */
    const char *post; /* body for a POST, NULL for GET */
    struct curl_slist *headers;
    long sslversion; /* CURLOPT_SSLVERSION, 0 = default */
};

static void
scrape_free(struct scrape *s)
{
    buf_free(&s->body);
    buf_free(&s->headers);
}

/* Runs one request; safe to call from any thread (no cmocka asserts). */
static void
scrape_run(struct metrics_httpd *h, const struct scrape_opts *o, struct scrape *out)
{
    const char *pem = metrics_httpd_cert_pem(h);
    struct curl_blob ca = {
        .data = (void *)(uintptr_t)pem, .len = strlen(pem), .flags = CURL_BLOB_COPY};
    struct curl_slist *resolve = NULL;
    char url[256], pin[128];
    const char *host = o->host != NULL ? o->host : "127.0.0.1";
    char *ct = NULL;
    CURL *c;

    memset(out, 0, sizeof(*out));
    snprintf(url, sizeof(url), "https://%s:%d%s", host, metrics_httpd_port(h),
             o->path != NULL ? o->path : "/metrics");
    c = curl_easy_init();
    if (c == NULL) {
        out->cc = CURLE_FAILED_INIT;
        return;
    }
    if (strcmp(host, "localhost") == 0) {
        /* The server listens on 127.0.0.1 only; pin the name to it. */
        snprintf(pin, sizeof(pin), "localhost:%d:127.0.0.1", metrics_httpd_port(h));
        resolve = curl_slist_append(NULL, pin);
        curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)GUARD_S);
    out->handle = c;
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, scrape_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, scrape_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    if (o->post != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->post);
    if (o->headers != NULL)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, o->headers);
    if (o->sslversion != 0)
        curl_easy_setopt(c, CURLOPT_SSLVERSION, o->sslversion);
    out->cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
        snprintf(out->content_type, sizeof(out->content_type), "%s", ct);
    curl_easy_cleanup(c);
    out->handle = NULL;
    curl_slist_free_all(resolve);
}

static void
scrape_path(struct metrics_httpd *h, const char *path, struct scrape *out)
{
    struct scrape_opts o = {.path = path};

    scrape_run(h, &o, out);
}

/*
 * Raw clients.
 */

/* A blocking TCP connection to 127.0.0.1:port with a receive/send guard. */
static int
tcp_connect(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {.tv_sec = GUARD_S};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* An OpenSSL client context that trusts only the server's certificate.
 * max_version 0 = library default. */
static SSL_CTX *
client_ctx(struct metrics_httpd *h, int max_version)
{
    const char *pem = metrics_httpd_cert_pem(h);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);

    assert_non_null(ctx);
    assert_non_null(cert);
    assert_int_equal(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), cert), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (max_version != 0) {
        /* Allow what the system policy would refuse, so that the refusal
         * measured is the server's. */
        SSL_CTX_set_security_level(ctx, 0);
        assert_int_equal(SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0"), 1);
        assert_int_equal(SSL_CTX_set_min_proto_version(ctx, 0), 1);
        assert_int_equal(SSL_CTX_set_max_proto_version(ctx, max_version), 1);
    }
    X509_free(cert);
    BIO_free(bio);
    return ctx;
}

struct raw {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

/* Connects and completes the TLS handshake; false when the handshake fails. */
static bool
raw_open(struct metrics_httpd *h, int max_version, struct raw *r)
{
    r->fd = tcp_connect(metrics_httpd_port(h));
    r->ctx = client_ctx(h, max_version);
    r->ssl = SSL_new(r->ctx);
    assert_non_null(r->ssl);
    assert_int_equal(SSL_set_fd(r->ssl, r->fd), 1);
    if (SSL_connect(r->ssl) != 1) {
        ERR_clear_error();
        return false;
    }
    return true;
}

static void
raw_close(struct raw *r)
{
    SSL_free(r->ssl);
    SSL_CTX_free(r->ctx);
    close(r->fd);
    ERR_clear_error();
}

/* Sends data and reads everything until the server closes. */
static char *
raw_exchange(struct metrics_httpd *h, const char *data, size_t len)
{
    struct raw r;
    struct buf resp = {0};
    struct perr err = {0};
    char tmp[4096];
    int n;

    assert_true(raw_open(h, 0, &r));
    assert_int_equal(SSL_write(r.ssl, data, (int)len), (int)len);
    while ((n = SSL_read(r.ssl, tmp, sizeof(tmp))) > 0)
        assert_int_equal(buf_add(&resp, tmp, (size_t)n, &err), 0);
    raw_close(&r);
    return buf_steal(&resp);
}

/*
 * Fixtures.
 */

struct fixture {
    struct metrics *m;
    struct metrics_httpd *h;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct perr err = {0};

    if (f == NULL)
        return -1;
    f->m = metrics_new(UID, &err);
    if (f->m == NULL || metrics_httpd_start(f->m, "127.0.0.1:0", &f->h, &err) < 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        metrics_free(f->m);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    metrics_httpd_free(f->h);
    metrics_free(f->m);
    free(f);
    return 0;
}

static void
fill_metrics(struct metrics *m)
{
    struct perr err = {0};

    assert_int_equal(metrics_array_info(m, "ontap", "NetApp", "ONTAP", "AFF A400", "9.14.1", &err),
                     0);
    assert_int_equal(metrics_progress(m, 64.5, &err), 0);
    assert_int_equal(metrics_xcopy_used(m, "vib", "ontap", 1, &err), 0);
    assert_int_equal(metrics_vib_version(m, "0.3.3", &err), 0);
}

/*
 * Tests.
 */

static void
test_scrape_verified(void **state)
{
    struct fixture *f = *state;
    struct perr err = {0};
    struct buf want = {0};
    struct scrape s;

    fill_metrics(f->m);
    assert_true(metrics_httpd_port(f->h) > 0);
    assert_non_null(strstr(metrics_httpd_cert_pem(f->h), "-----BEGIN CERTIFICATE-----"));

    scrape_path(f->h, "/metrics", &s);
    assert_int_equal(s.cc, CURLE_OK);
    assert_int_equal(s.status, 200);
    assert_string_equal(s.content_type, METRICS_CONTENT_TYPE);
    assert_non_null(strstr(buf_cstr(&s.headers), "Connection: close\r\n"));
    assert_int_equal(metrics_render(f->m, &want, &err), 0);
    assert_string_equal(buf_cstr(&s.body), buf_cstr(&want));
    assert_group(buf_cstr(&s.body), ERE_PROGRESS, "64.5");
    assert_group(buf_cstr(&s.body), ERE_XCOPY, "1");
    assert_group(buf_cstr(&s.body), ERE_VIB, "1");
    assert_null(ere_group(buf_cstr(&s.body), ERE_DONE));
    scrape_free(&s);

    /* Completion shows up in the next scrape. */
    assert_int_equal(
        metrics_source_disk_bytes(f->m, "vib", "iscsi", "ontap", 1073741824ULL, 0, &err), 0);
    assert_int_equal(metrics_copy_done(f->m, "vib", "iscsi", "ontap", true, 42.125, &err), 0);
    scrape_path(f->h, "/metrics?name[]=x", &s);
    assert_int_equal(s.cc, CURLE_OK);
    assert_int_equal(s.status, 200);
    assert_group(buf_cstr(&s.body), ERE_DONE, "42.125");
    assert_group(buf_cstr(&s.body), ERE_PROVISIONED, "1.073741824e+09");
    scrape_free(&s);
    buf_free(&want);
}

static void
test_scrape_by_name_and_tls_versions(void **state)
{
    struct fixture *f = *state;
    struct scrape_opts o = {.host = "localhost"};
    struct scrape s;
    struct raw r;

    /* DNS:localhost in the certificate. */
    scrape_run(f->h, &o, &s);
    assert_int_equal(s.cc, CURLE_OK);
    assert_int_equal(s.status, 200);
    scrape_free(&s);

    o = (struct scrape_opts){.sslversion = CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2};
    scrape_run(f->h, &o, &s);
    assert_int_equal(s.cc, CURLE_OK);
    assert_int_equal(s.status, 200);
    assert_int_equal(s.tls_version, TLS1_2_VERSION);
    scrape_free(&s);

    o = (struct scrape_opts){.sslversion = CURL_SSLVERSION_TLSv1_3};
    scrape_run(f->h, &o, &s);
    assert_int_equal(s.cc, CURLE_OK);
    assert_int_equal(s.status, 200);
    assert_int_equal(s.tls_version, TLS1_3_VERSION);
    scrape_free(&s);

    /* Below TLS 1.2 the server refuses the handshake. */
    assert_false(raw_open(f->h, TLS1_1_VERSION, &r));
    raw_close(&r);

    /* The server still answers afterwards. */
    scrape_path(f->h, "/metrics", &s);
    assert_int_equal(s.status, 200);
    scrape_free(&s);
}

static void
test_not_found_and_methods(void **state)
{
    struct fixture *f = *state;
    struct scrape_opts o = {.post = "a=1"};
    struct scrape s;
    char *resp;

    scrape_path(f->h, "/other", &s);
    assert_int_equal(s.cc, CURLE_OK);
    assert_int_equal(s.status, 404);
    scrape_free(&s);

    scrape_path(f->h, "/metricsx", &s);
    assert_int_equal(s.status, 404);
    scrape_free(&s);

    scrape_path(f->h, "/", &s);
    assert_int_equal(s.status, 404);
    scrape_free(&s);

    scrape_run(f->h, &o, &s);
    assert_int_equal(s.cc, CURLE_OK);
    assert_int_equal(s.status, 405);
    assert_non_null(strstr(buf_cstr(&s.headers), "Allow: GET\r\n"));
    scrape_free(&s);

    /* A malformed request line. */
    resp = raw_exchange(f->h, "garbage\r\n\r\n", 11);
    assert_int_equal(strncmp(resp, "HTTP/1.1 400 ", 13), 0);
    free(resp);

    /* Bare LF line ends are accepted. */
    resp = raw_exchange(f->h, "GET /metrics HTTP/1.0\n\n", 23);
    assert_int_equal(strncmp(resp, "HTTP/1.1 200 ", 13), 0);
    assert_non_null(strstr(resp, "\r\nConnection: close\r\n"));
    free(resp);
}

static void
test_oversized_head(void **state)
{
    struct fixture *f = *state;
    struct scrape_opts o = {0};
    struct scrape s;
    char *big, *resp;

    /* Through curl: a 9000-byte header.  Refused with 431, or at worst a
     * closed connection; never served. */
    big = malloc(BIG_HEAD + 16);
    assert_non_null(big);
    memcpy(big, "X-Big: ", 7);
    memset(big + 7, 'a', BIG_HEAD);
    big[7 + BIG_HEAD] = '\0';
    o.headers = curl_slist_append(NULL, big);
    scrape_run(f->h, &o, &s);
    assert_true(s.cc != CURLE_OK || s.status == 431);
    assert_int_not_equal(s.status, 200);
    scrape_free(&s);
    curl_slist_free_all(o.headers);

    /* Raw: more than 8 KiB without the blank line gets a 431 answer. */
    memcpy(big, "GET /metrics HTTP/1.1\r\nX-Big: ", 30);
    memset(big + 30, 'b', BIG_HEAD - 30);
    resp = raw_exchange(f->h, big, BIG_HEAD);
    assert_int_equal(strncmp(resp, "HTTP/1.1 431 ", 13), 0);
    free(resp);
    free(big);

    /* A head just under the limit is fine. */
    big = malloc(8192);
    assert_non_null(big);
    memcpy(big, "GET /metrics HTTP/1.1\r\nX-Pad: ", 30);
    memset(big + 30, 'c', 8192 - 30 - 4);
    memcpy(big + 8192 - 4, "\r\n\r\n", 4);
    resp = raw_exchange(f->h, big, 8192);
    assert_int_equal(strncmp(resp, "HTTP/1.1 200 ", 13), 0);
    free(resp);
    free(big);
}

static void
test_idle_clients(void **state)
{
    struct fixture *f = *state;
    int port = metrics_httpd_port(f->h);
    int idle_fds[1];
    struct scrape s;
    struct raw partial;
    char c;

    /* One connection that never says anything, one that completed TLS and
     * sent half a request: a scrape is answered while both are open. */
    idle_fds[0] = tcp_connect(port);
    assert_true(raw_open(f->h, 0, &partial));
    assert_int_equal(SSL_write(partial.ssl, "GET /metr", 9), 9);
    scrape_path(f->h, "/metrics", &s);
    assert_int_equal(s.cc, CURLE_OK);
    assert_int_equal(s.status, 200);
    scrape_free(&s);

    /* The server drops the silent one after its handshake time. */
    assert_int_equal(recv(idle_fds[0], &c, 1, 0), 0);
    close(idle_fds[0]);
    raw_close(&partial);
}

/* A server whose connections never expire during the test. */
static struct metrics_httpd *
start_patient(struct metrics *m, size_t max_conns)
{
    struct metrics_httpd_opts o = {
        .handshake_ms = NEVER_MS, .request_ms = NEVER_MS, .max_conns = max_conns};
    struct metrics_httpd *h = NULL;
    struct perr err = {0};

    if (metrics_httpd_start_opts(m, "127.0.0.1:0", &o, &h, &err) < 0)
        fail_msg("start: %s", err.msg);
    return h;
}

/* Still open from the server's side: nothing to read and no end of file. */
static bool
still_open(int fd)
{
    char c;

    return recv(fd, &c, 1, MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static void
test_twenty_idle_sockets(void **state)
{
    struct fixture *f = *state;
    struct metrics_httpd *h = start_patient(f->m, 0);
    struct raw tls[10];
    int silent[10];
    struct scrape s;

    /* 20 idle clients: 10 that never send a byte, 10 that finished the TLS
     * handshake and never send a request.  None of them expires here. */
    for (size_t i = 0; i < 10; i++) {
        silent[i] = tcp_connect(metrics_httpd_port(h));
        assert_true(raw_open(h, 0, &tls[i]));
    }
    for (int round = 0; round < 3; round++) {
        scrape_path(h, "/metrics", &s);
        assert_int_equal(s.cc, CURLE_OK);
        assert_int_equal(s.status, 200);
        scrape_free(&s);
    }
    /* There was room for all of them: none was closed to answer. */
    for (size_t i = 0; i < 10; i++) {
        assert_true(still_open(silent[i]));
        assert_true(still_open(tls[i].fd));
        close(silent[i]);
        raw_close(&tls[i]);
    }
    metrics_httpd_free(h);
}

static void
test_full_table_evicts_oldest_idle(void **state)
{
    struct fixture *f = *state;
    struct metrics_httpd *h = start_patient(f->m, 2);
    int older = tcp_connect(metrics_httpd_port(h));
    int newer = tcp_connect(metrics_httpd_port(h));
    struct scrape s;
    char c;

    /* A table of two, both idle and neither expiring: the scrape still gets
     * in, in the place of the one that has waited longer. */
    scrape_path(h, "/metrics", &s);
    assert_int_equal(s.cc, CURLE_OK);
    assert_int_equal(s.status, 200);
    scrape_free(&s);
    assert_int_equal(recv(older, &c, 1, 0), 0);
    assert_true(still_open(newer));
    close(older);
    close(newer);
    metrics_httpd_free(h);
}

/* Raises the descriptor limit for many client sockets; returns how many
 * idle connections the test can hold (MANY_IDLE unless the hard limit is
 * lower, which is said). */
static size_t
idle_budget(void)
{
    struct rlimit rl;
    size_t n = MANY_IDLE;

    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < MANY_IDLE + 256) {
        rl.rlim_cur = rl.rlim_max < MANY_IDLE + 256 ? rl.rlim_max : MANY_IDLE + 256;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    /* The server thread and libcurl share the process's descriptors. */
    if (rl.rlim_cur < MANY_IDLE + 256) {
        n = rl.rlim_cur > 256 ? (size_t)rl.rlim_cur - 256 : 16;
        printf("NOTE: RLIMIT_NOFILE hard limit %llu: %zu idle connections instead of %d\n",
               (unsigned long long)rl.rlim_max, n, MANY_IDLE);
    }
    return n;
}

static void
test_thousand_idle_connections(void **state)
{
    struct fixture *f = *state;
    struct metrics_httpd *h = start_patient(f->m, 0);
    size_t n = idle_budget();
    int *fds = calloc(n, sizeof(*fds));
    struct pollfd *pfd = calloc(n, sizeof(*pfd));
    struct perr err = {0};
    struct scrape s;
    size_t closed = 0;

    assert_non_null(fds);
    assert_non_null(pfd);
    fill_metrics(f->m);
    for (size_t i = 0; i < n; i++)
        fds[i] = tcp_connect(metrics_httpd_port(h));

    /* The copy ends while they all sit there: the completion scrape is
     * still answered, and counts as the final scrape. */
    assert_int_equal(metrics_copy_done(f->m, "vib", "fc", "ontap", false, 3.5, &err), 0);
    scrape_path(h, "/metrics", &s);
    assert_int_equal(s.cc, CURLE_OK);
    assert_int_equal(s.status, 200);
    assert_group(buf_cstr(&s.body), ERE_DONE, "3.5");
    assert_non_null(strstr(buf_cstr(&s.body), "result=\"failure\""));
    scrape_free(&s);
    assert_int_equal(metrics_httpd_wait_scrape(h, GUARD_S * 1000L), 0);

    /* The server holds a bounded table: it closed all but the newest idle
     * ones (the FINs are already on their way; poll only collects them). */
    for (int tries = 0; tries < GUARD_S * 10 && closed + 64 < n; tries++) {
        closed = 0;
        for (size_t i = 0; i < n; i++)
            pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        assert_true(poll(pfd, n, 0) >= 0);
        for (size_t i = 0; i < n; i++)
            closed += (pfd[i].revents & (POLLIN | POLLHUP)) != 0;
        if (closed + 64 < n)
            usleep(100000);
    }
    if (closed + 64 < n)
        fail_msg("the server closed %zu of %zu idle connections; its table holds 64", closed, n);
    printf("%zu idle connections: %zu closed by the server, completion scrape served\n", n, closed);
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    free(pfd);
    metrics_httpd_free(h);
}

struct waiter {
    struct metrics_httpd *h;
    long timeout_ms;
    int rc;
};

static void *
waiter_main(void *arg)
{
    struct waiter *w = arg;

    w->rc = metrics_httpd_wait_scrape(w->h, w->timeout_ms);
    return NULL;
}

struct scraper {
    struct metrics_httpd *h;
    struct scrape s;
};

static void *
scraper_main(void *arg)
{
    struct scraper *sc = arg;

    scrape_path(sc->h, "/metrics", &sc->s);
    return NULL;
}

static void
test_wait_scrape(void **state)
{
    struct fixture *f = *state;
    struct perr err = {0};
    struct scraper sc = {.h = f->h};
    struct scrape s;
    pthread_t t;

    /* Nothing scraped: times out. */
    assert_int_equal(metrics_httpd_wait_scrape(f->h, 50), -1);

    /* A scrape before completion does not count. */
    fill_metrics(f->m);
    scrape_path(f->h, "/metrics", &s);
    assert_int_equal(s.status, 200);
    scrape_free(&s);
    assert_int_equal(metrics_httpd_wait_scrape(f->h, 50), -1);

    /* Completion, then only a 404: still nothing. */
    assert_int_equal(metrics_copy_done(f->m, "vib", "iscsi", "ontap", true, 5, &err), 0);
    assert_int_equal(metrics_httpd_wait_scrape(f->h, 0), -1);
    scrape_path(f->h, "/nope", &s);
    assert_int_equal(s.status, 404);
    scrape_free(&s);
    assert_int_equal(metrics_httpd_wait_scrape(f->h, 0), -1);

    /* A scrape from another thread releases the wait. */
    assert_int_equal(pthread_create(&t, NULL, scraper_main, &sc), 0);
    assert_int_equal(metrics_httpd_wait_scrape(f->h, GUARD_S * 1000L), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(sc.s.cc, CURLE_OK);
    assert_int_equal(sc.s.status, 200);
    assert_group(buf_cstr(&sc.s.body), ERE_DONE, "5");
    scrape_free(&sc.s);

    /* And it stays released, also after stop. */
    assert_int_equal(metrics_httpd_wait_scrape(f->h, 0), 0);
    metrics_httpd_stop(f->h);
    assert_int_equal(metrics_httpd_wait_scrape(f->h, 0), 0);
}

static void
test_stop_wakes_waiter(void **state)
{
    struct fixture *f = *state;
    struct waiter w = {.h = f->h, .timeout_ms = 600000L, .rc = 99};
    pthread_t t;

    assert_int_equal(pthread_create(&t, NULL, waiter_main, &w), 0);
    metrics_httpd_stop(f->h);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(w.rc, -1);
    /* Stop is idempotent; free (in teardown) stops again. */
    metrics_httpd_stop(f->h);
    assert_int_equal(metrics_httpd_wait_scrape(f->h, 1000), -1);
}

static void
test_listen_strings(void **state)
{
    static const char *const bad[] = {
        "8443",     ":",          ":99999",         "[::1",         "[::1]8443",
        "::1:8443", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:-1", "127.0.0.1:123456",
    };
    struct metrics *m;
    struct metrics_httpd *h = NULL, *h2 = NULL;
    struct perr err = {0};
    char addr[64];
    struct scrape_opts o = {.host = "[::1]"};
    struct scrape s;

    (void)state;
    m = metrics_new(UID, &err);
    assert_non_null(m);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        perr_clear(&err);
        assert_int_equal(metrics_httpd_start(m, bad[i], &h, &err), -1);
        assert_null(h);
        assert_int_equal(err.code, PERR_USAGE);
    }

    /* A port in use. */
    perr_clear(&err);
    assert_int_equal(metrics_httpd_start(m, "127.0.0.1:0", &h, &err), 0);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", metrics_httpd_port(h));
    assert_int_equal(metrics_httpd_start(m, addr, &h2, &err), -1);
    assert_null(h2);
    assert_int_equal(err.code, PERR_NETWORK);
    metrics_httpd_free(h);
    h = NULL;

    /* IPv6 loopback, when the machine has it (IP:::1 in the certificate). */
    perr_clear(&err);
    if (metrics_httpd_start(m, "[::1]:0", &h, &err) == 0) {
        scrape_run(h, &o, &s);
        assert_int_equal(s.cc, CURLE_OK);
        assert_int_equal(s.status, 200);
        scrape_free(&s);
        metrics_httpd_free(h);
    } else {
        assert_int_equal(err.code, PERR_NETWORK);
    }
    metrics_free(m);
}

static void
test_debug_log(void **state)
{
    struct fixture *f = *state;
    struct scrape_opts post = {.post = "x"};
    struct scrape s;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);

    assert_non_null(mem);
    log_init(LOGL_DEBUG, LOG_FORMAT_TEXT, NULL);
    log_set_stream(mem);
    scrape_path(f->h, "/metrics?x=secretish", &s);
    scrape_free(&s);
    scrape_path(f->h, "/elsewhere", &s);
    scrape_free(&s);
    scrape_run(f->h, &post, &s);
    scrape_free(&s);
    /* The thread logs before it answers, so the lines are there now. */
    log_set_stream(NULL);
    log_reset();
    fclose(mem);
    assert_non_null(strstr(text, "[metrics] request method=GET path=/metrics status=200"));
    assert_non_null(strstr(text, "[metrics] request method=GET path=/elsewhere status=404"));
    assert_non_null(strstr(text, "[metrics] request method=POST path=/metrics status=405"));
    /* The query string is not logged. */
    assert_null(strstr(text, "secretish"));
    free(text);
}

static int
group_setup(void **state)
{
    (void)state;
    /* Raw clients write to sockets the server may already have closed. */
    signal(SIGPIPE, SIG_IGN);
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int
group_teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scrape_verified, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scrape_by_name_and_tls_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found_and_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_twenty_idle_sockets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_table_evicts_oldest_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thousand_idle_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_scrape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_wakes_waiter, setup, teardown),
        cmocka_unit_test(test_listen_strings),
        cmocka_unit_test_setup_teardown(test_debug_log, setup, teardown),
    };

    return cmocka_run_group_tests_name("metrics_httpd", tests, group_setup, group_teardown);
}
