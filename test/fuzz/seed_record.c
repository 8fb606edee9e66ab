/*
 * Seeds for the storage harness from the driver tests: linked into a driver
 * test binary with ld --wrap=fake_transport_add,--wrap=fake_transport_free
 * (test/fuzz/seed-storage), it writes every scripted conversation's replies
 * in the fuzz transport's format (test/fuzz/fuzz_transport.h) to
 * $POP_FUZZ_SEED_DIR/$POP_FUZZ_SEED_NAME-<n> when the test frees its fake.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "test/fake/fake_transport.h"
#include "test/fuzz/fuzz_transport.h"

void __real_fake_transport_add(struct fake_transport *ft, const struct fake_exchange *ex, size_t n);
void __real_fake_transport_free(struct fake_transport *ft);
void __wrap_fake_transport_add(struct fake_transport *ft, const struct fake_exchange *ex, size_t n);
void __wrap_fake_transport_free(struct fake_transport *ft);

#define SEED_MAX_FAKES 16

static struct {
    const struct fake_transport *ft;
    struct buf script;
} seeds[SEED_MAX_FAKES];

static unsigned seed_count;

static struct buf *
seed_script(const struct fake_transport *ft, int create)
{
    for (size_t i = 0; i < SEED_MAX_FAKES; i++)
        if (seeds[i].ft == ft)
            return &seeds[i].script;
    if (!create)
        return NULL;
    for (size_t i = 0; i < SEED_MAX_FAKES; i++)
        if (seeds[i].ft == NULL) {
            seeds[i].ft = ft;
            return &seeds[i].script;
        }
    return NULL;
}

void
__wrap_fake_transport_add(struct fake_transport *ft, const struct fake_exchange *ex, size_t n)
{
    struct buf *b = seed_script(ft, 1);
    struct perr err = {0};

    for (size_t i = 0; b != NULL && i < n; i++) {
        if (b->len > 0)
            (void)buf_adds(b, FUZZ_CHUNK_SEP, &err);
        (void)buf_addf(b, &err, "%03ld ", ex[i].fail != 0 ? 0L : ex[i].status);
        if (ex[i].reply_header != NULL)
            (void)buf_addf(b, &err, "H:%s\n", ex[i].reply_header);
        if (ex[i].reply != NULL)
            (void)buf_adds(b, ex[i].reply, &err);
    }
    __real_fake_transport_add(ft, ex, n);
}

void
__wrap_fake_transport_free(struct fake_transport *ft)
{
    struct buf *b = seed_script(ft, 0);
    const char *dir = getenv("POP_FUZZ_SEED_DIR");
    const char *name = getenv("POP_FUZZ_SEED_NAME");

    if (b != NULL && b->len > 0 && dir != NULL && name != NULL) {
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s-%02u", dir, name, seed_count++);
        f = fopen(path, "w");
        if (f != NULL) {
            fwrite(b->data, 1, b->len, f);
            fclose(f);
        }
    }
    for (size_t i = 0; b != NULL && i < SEED_MAX_FAKES; i++)
        if (seeds[i].ft == ft) {
            buf_free(&seeds[i].script);
            seeds[i].ft = NULL;
        }
    __real_fake_transport_free(ft);
}
