/*
 * struct strv: an owned, NULL-terminated vector of C strings.
 *
 * Used for initiator lists, igroup names, extra HTTP request headers and
 * recorded response headers.
 *
 * Contract:
 * - A zeroed struct strv is an empty, valid vector; strv_free() returns it to
 *   that state.  When n > 0, v[n] is NULL, so v can be passed wherever a
 *   NULL-terminated `const char *const *` is expected (see strv_cv()).
 * - The vector owns every string in it; strv_add() and strv_addf() copy.
 *   strv_take() adopts a malloc'd string: on failure it frees it, so the
 *   caller never has to.
 * - Adding fails only for lack of memory (PERR_NOMEM) and then leaves the
 *   vector unchanged.
 * - Nothing here is thread-safe; a vector belongs to one owner at a time.
 */
#ifndef POP_STRV_H
#define POP_STRV_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/compiler.h"
#include "lib/err.h"

struct strv {
    char **v; /* NULL when empty, else NULL-terminated */
    size_t n; /* number of strings, not counting the terminator */
};

/* Appends a copy of s (s must not be NULL). */
int strv_add(struct strv *sv, const char *s, struct perr *err);
/* Appends a formatted string. */
int strv_addf(struct strv *sv, struct perr *err, const char *fmt, ...) ATTR_PRINTF(3, 4);
/* Appends s and takes ownership of it, also on failure (s is then freed). */
int strv_take(struct strv *sv, char *s, struct perr *err);

/* True when an element equals s exactly (strcmp). */
bool strv_contains(const struct strv *sv, const char *s);
/* True when an element equals s ignoring ASCII case (IQNs, WWNs, header names). */
bool strv_contains_nocase(const struct strv *sv, const char *s);

/* Appends the elements separated by sep to out (nothing for an empty vector).
 * On failure out may hold part of the list. */
int strv_join(const struct strv *sv, const char *sep, struct buf *out, struct perr *err);

/* The vector as a NULL-terminated array (NULL when empty); borrowed, valid until
 * the next change to sv. */
static inline const char *const *
strv_cv(const struct strv *sv)
{
    return (const char *const *)sv->v;
}

/* Frees every string and the array; sv becomes empty.  NULL-safe. */
void strv_free(struct strv *sv);

#endif
