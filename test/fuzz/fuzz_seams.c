/*
 * Link-time seams of the fuzz binaries (ld --wrap, see the Makefile):
 * - wait_ms() returns at once, so retry backoffs and polling intervals do not
 *   turn each input into seconds of sleeping;
 * - http_transport_curl_new() hands out the fuzz transport of
 *   fuzz_seam_transport instead of libcurl (for lib/kube.c, which makes its
 *   own transport).
 */
#include <stddef.h>

#include "lib/deadline.h"
#include "lib/err.h"
#include "lib/http.h"
#include "test/fuzz/fuzz_transport.h"

int __wrap_wait_ms(long ms, const struct deadline *d, struct perr *err);
int __wrap_http_transport_curl_new(const struct http_opts *opts, struct http_transport *out,
                                   struct perr *err);

struct fuzz_transport *fuzz_seam_transport;

int
__wrap_wait_ms(long ms, const struct deadline *d, struct perr *err)
{
    (void)ms;
    (void)d;
    (void)err;
    return 0;
}

int
__wrap_http_transport_curl_new(const struct http_opts *opts, struct http_transport *out,
                               struct perr *err)
{
    (void)opts;
    if (fuzz_seam_transport == NULL)
        return perr_set(err, PERR_INTERNAL, "fuzz: no transport set");
    *out = fuzz_transport_http(fuzz_seam_transport);
    return 0;
}
