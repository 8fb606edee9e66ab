/*
 * A struct http_transport for the fuzz harnesses: every request is answered
 * with the next chunk of the fuzz input, whatever its method and URL.
 *
 * Input format (so that seeds stay readable and mutations stay meaningful):
 *   chunk ( "\n%%\n" chunk )*
 *   chunk = [ status " " ] { "H:" header-line "\n" } body
 * status is three digits (default 200); "000" makes the request fail with
 * PERR_NETWORK instead of answering.  Header lines become reply headers
 * ("H:X-Auth-Token: abc").  When the chunks run out, every further request
 * fails with PERR_NETWORK, so polling loops end.
 *
 * The fuzz input is borrowed for the transport's life.
 */
#ifndef POP_TEST_FUZZ_TRANSPORT_H
#define POP_TEST_FUZZ_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/http.h"

#define FUZZ_CHUNK_SEP "\n%%\n"

struct fuzz_transport {
    const char *data;
    size_t len;
    size_t pos;
    size_t calls;
};

void fuzz_transport_init(struct fuzz_transport *ft, const uint8_t *data, size_t len);
/* A transport backed by ft; its free hook does nothing. */
struct http_transport fuzz_transport_http(struct fuzz_transport *ft);
/* Cuts the next chunk off ft into chunk and n; -1 when none is left. */
int fuzz_next_chunk(struct fuzz_transport *ft, const char **chunk, size_t *n);

#endif
