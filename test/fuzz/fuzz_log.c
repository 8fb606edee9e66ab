/*
 * Property harness for the log redactor: whatever is logged, no registered
 * secret survives in any output line, neither as written nor in its JSON
 * string spelling.
 *
 * Input: byte 0 picks the format (bit 0: text or JSON) and the number of
 * secrets (bits 1-3); the rest is split at NUL bytes: first the secrets, then
 * the event, then key/value pairs.  Values are built from the input too, so
 * the fuzzer can put secrets anywhere: inside an event, a key, a value, next
 * to quotes and control characters.
 *
 * Secrets holding a '*' are registered but not checked: the mask "***" next
 * to ordinary text can spell such a secret without any of it having been
 * logged ("efgh" masked in "cdefgh****" leaves "cd******", which holds the
 * secret "****").  No other secret can reappear that way.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_WORDS 16

/* log_add_secret() ignores shorter strings (see lib/log.h). */
#define FUZZ_SECRET_MIN 4

static void
check(const char *out, size_t outlen, const char *secret)
{
    struct buf esc = {0};
    struct perr err = {0};

    if (memmem(out, outlen, secret, strlen(secret)) != NULL) {
        fprintf(stderr, "fuzz_log: secret '%s' survives in:\n%.*s\n", secret, (int)outlen, out);
        abort();
    }
    if (buf_add_json(&esc, secret, &err) == 0 && esc.len >= 2 &&
        memmem(out, outlen, esc.data + 1, esc.len - 2) != NULL) {
        fprintf(stderr, "fuzz_log: secret '%s' survives JSON-escaped in:\n%.*s\n", secret,
                (int)outlen, out);
        abort();
    }
    buf_free(&esc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *w[FUZZ_WORDS];
    size_t nw = 0;
    size_t nsecrets;
    char *copy;
    char *out = NULL;
    size_t outlen = 0;
    FILE *mem;
    bool json;

    if (size < 2)
        return 0;
    json = (data[0] & 1) != 0;
    nsecrets = 1 + ((data[0] >> 1) & 3);
    copy = malloc(size);
    if (copy == NULL)
        return 0;
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    for (char *p = copy; p < copy + size && nw < FUZZ_WORDS; p += strlen(p) + 1)
        w[nw++] = p;
    if (nw < nsecrets + 1) {
        free(copy);
        return 0;
    }

    mem = open_memstream(&out, &outlen);
    if (mem == NULL) {
        free(copy);
        return 0;
    }
    log_init(LOGL_TRACE, json ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT, "all");
    log_set_stream(mem);
    for (size_t i = 0; i < nsecrets; i++)
        log_add_secret(w[i]);

    const char *ev = w[nsecrets];
    const char *k[3] = {"k", "k", "k"};
    const char *v[3] = {"v", "v", "v"};

    for (size_t i = 0; i < 3; i++) {
        if (nsecrets + 1 + 2 * i < nw)
            k[i] = w[nsecrets + 1 + 2 * i][0] != '\0' ? w[nsecrets + 1 + 2 * i] : "k";
        if (nsecrets + 2 + 2 * i < nw)
            v[i] = w[nsecrets + 2 + 2 * i];
    }
    log_info("fuzz", ev, k[0], v[0], k[1], v[1], k[2], v[2], NULL);
    log_trace("fuzz.trace", ev, k[0], v[0], NULL);
    log_warn("fuzz", "value as event", "event", ev, "password", v[0], NULL);
    log_error(ev, ev, ev, ev, NULL);
    fflush(mem);

    for (size_t i = 0; i < nsecrets; i++)
        if (strlen(w[i]) >= FUZZ_SECRET_MIN && strchr(w[i], '*') == NULL)
            check(out, outlen, w[i]);

    log_reset();
    fclose(mem);
    free(out);
    free(copy);
    return 0;
}
