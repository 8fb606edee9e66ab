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
 * Connection handling: one thread multiplexes up to 16 connections with
 * non-blocking sockets and poll(); each connection has 5 s in total from
 * accept to close (handshake, request, response and the lingering close).
 * A client that connects and sends nothing, or trickles its request,
 * therefore holds one slot for at most 5 s and never delays other scrapes;
 * when every slot is busy, new connections wait in the listen backlog.
 * The thread blocks every signal (SIGTERM belongs to the main thread, and a
 * peer that closes early raises SIGPIPE on write, which must not kill the
 * process).  Shutdown wakes the thread through a self-pipe: no polling
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

/*
 * Makes the certificate, binds, listens and starts the serving thread.
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

/* Checks the syntax of a listen address as metrics_httpd_start() reads it
 * ("[host]:port", "host:port", ":port"), binding nothing: PERR_USAGE. */
int metrics_httpd_check_listen(const char *listen, struct perr *err);

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
 * completion do not count.  The program uses a 10 s timeout on both the
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
