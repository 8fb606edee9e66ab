/*
 * The HTTPS endpoint the populator controller scrapes: GET /metrics.
 *
 * The controller (behaviour spec §2.3) connects to https://<podIP>:8443/metrics
 * every ~5 s with certificate verification off, and treats the presence of
 * copy_duration_seconds in the body as completion.  The process must
 * therefore stay up until one scrape has delivered that sample:
 * metrics_httpd_wait_scrape() is that wait.
 *
 * What is served:
 * - TLS 1.2 or newer, with a self-signed certificate and an EC P-256 key made
 *   in memory at start (nothing written to disk).  Subject CN is the host
 *   name; subjectAltName carries DNS:localhost, DNS:<host name> when it is a
 *   valid DNS name, IP:127.0.0.1 and IP:::1, so a client can verify it with
 *   metrics_httpd_cert_pem() as its only trust anchor.  Valid for one year.
 * - GET /metrics (also with a query string): 200, Content-Type
 *   METRICS_CONTENT_TYPE, the metrics_render() text.  Another path: 404.
 *   Another method: 405 with "Allow: GET".  A malformed request line: 400.
 *   A request head over 8 KiB without its terminating blank line: 431.
 *   Every response carries Content-Length and "Connection: close", and the
 *   connection is closed after it (request bodies are never read).
 * - One debug log line per answered request, component "metrics", with the
 *   method, the path (without the query) and the status.
 *
 * Connection handling: one thread multiplexes a table of connections
 * (64 by default) with non-blocking sockets and poll().  Each connection has
 * a bounded time for each stage: the TLS handshake (3 s from accept), the
 * request head (3 s from the end of the handshake), and the response with
 * the lingering close (5 s).  A client that connects and sends nothing, or
 * trickles its request, therefore holds a slot for a few seconds at most.
 * When the table is full, a new connection still gets in: the connection
 * that has waited longest for its client (oldest input, or oldest accept if
 * it never sent anything) is closed to make room.  Connections that are
 * being answered are never evicted, nor is one that carries the completion
 * sample, so idle or slow sockets, however many, cannot keep the
 * controller's scrapes out, and cannot keep the final scrape from being
 * served.  At most a quarter of the table is accepted between two polls, so
 * a connection in the table always gets a turn before newcomers can push it
 * out.  The thread blocks every signal (SIGTERM belongs to the main thread,
 * and a peer that closes early raises SIGPIPE on write, which must not kill
 * the process).  Shutdown wakes the thread through a self-pipe: no polling
 * interval, no sleeps.
 *
 * Ownership: the server borrows the metrics registry, which must outlive it
 * (metrics_httpd_free() first, then metrics_free()).
 */
#ifndef POP_METRICS_HTTPD_H
#define POP_METRICS_HTTPD_H

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/metrics.h"

struct metrics_httpd;

/* Stops the server if it runs (as metrics_httpd_stop()) and frees it.
 * NULL is a no-op. */
void metrics_httpd_free(struct metrics_httpd *h);

/* Limits of the server; 0 in a field means the default given. */
struct metrics_httpd_opts {
    long handshake_ms; /* accept to the end of the TLS handshake; 3000 */
    long request_ms;   /* end of the handshake to the end of the request head; 3000 */
    long response_ms;  /* request head to connection closed; 5000 */
    size_t max_conns;  /* connections served at once, >= 1; 64 */
};

/*
 * Checks the syntax of a listen string (see metrics_httpd_start()) without
 * resolving or binding anything.  0, or -1 with PERR_USAGE and a message
 * naming the string.  A string that passes may still fail to bind.
 */
int metrics_httpd_check_listen(const char *listen, struct perr *err) ATTR_NODISCARD;

/*
 * Makes the certificate, binds, listens and starts the serving thread, with
 * the default limits (metrics_httpd_start_opts() with NULL options).
 *
 * listen is "[host]:port" in Go's net.Listen form: ":8443" (every address:
 * IPv6 and IPv4 when the host has IPv6, else IPv4), "0.0.0.0:8443",
 * "127.0.0.1:0", "[::1]:8443", "localhost:8443".  Port 0 picks a free port
 * (see metrics_httpd_port()).
 *
 * *out is set to NULL first and receives the server only on success.  Errors:
 * PERR_USAGE for a malformed listen string, PERR_NETWORK when the address
 * cannot be resolved, bound or listened on, PERR_TLS when OpenSSL fails to
 * make the key, certificate or context, PERR_INTERNAL when the thread cannot
 * be started, PERR_NOMEM.
 */
int metrics_httpd_start(struct metrics *m, const char *listen, struct metrics_httpd **out,
                        struct perr *err) ATTR_NODISCARD;

/* The same with explicit limits (o may be NULL).  Tests use long stage
 * times to show that answering does not depend on a connection expiring. */
int metrics_httpd_start_opts(struct metrics *m, const char *listen,
                             const struct metrics_httpd_opts *o, struct metrics_httpd **out,
                             struct perr *err) ATTR_NODISCARD;

/* The bound TCP port (useful with port 0). */
int metrics_httpd_port(const struct metrics_httpd *h);

/* The server certificate in PEM form; valid until metrics_httpd_free(). */
const char *metrics_httpd_cert_pem(const struct metrics_httpd *h);

/*
 * Waits until a GET /metrics whose body was rendered after
 * metrics_copy_done() has been written out in full to a client, i.e. until
 * the controller has seen the completion sample.  Returns 0 at once if that
 * already happened; -1 when timeout_ms (>= 0; 0 = just check) passes first,
 * or at once when the server is stopped.  Scrapes that began before
 * completion do not count.  In pod mode the program waits 10 s, on both the
 * success and failure paths.  Safe to call from any thread but the server's.
 */
int metrics_httpd_wait_scrape(struct metrics_httpd *h, long timeout_ms);

/* Closes the listening socket and every connection and joins the thread.
 * Idempotent, but call it from one thread only (the one that will free the
 * server); waiters in metrics_httpd_wait_scrape() are woken.  Afterwards the
 * port is free and wait_scrape returns -1 unless a completion scrape
 * happened before. */
void metrics_httpd_stop(struct metrics_httpd *h);

#endif
