/*
 * struct buf: a growable byte buffer with an optional hard cap.
 *
 * Contract:
 * - A zeroed struct buf is an empty, valid, uncapped buffer; buf_free() returns it
 *   to that state.  buf.data is always NUL-terminated once anything was added
 *   (buf_cstr() returns "" for an empty buffer), so text can be used directly.
 * - `cap` (0 = unlimited) bounds buf.len; an append that would pass it fails
 *   with PERR_PROTOCOL ("too large") and leaves the buffer unchanged.
 * - Escaping appenders are the only way user- or server-supplied text enters
 *   XML, URLs, JSON or a POSIX shell command line.
 */
#ifndef POP_BUF_H
#define POP_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "lib/compiler.h"
#include "lib/err.h"

struct buf {
    char *data;
    size_t len;
    size_t alloc;
    size_t cap; /* maximum len, 0 = unlimited */
};

void buf_init(struct buf *b, size_t cap);
void buf_free(struct buf *b);
/* Frees with the bytes zeroed first: for buffers that held secrets. */
void buf_free_secret(struct buf *b);
/* Frees a NUL-terminated string that held a secret, zeroed first.  NULL-safe. */
void str_free_secret(char *s);
/* *out = a copy of s, or NULL when s is NULL; -1 with PERR_NOMEM only when
 * memory runs out (then *out is NULL). */
int str_dup_opt(const char *s, char **out, struct perr *err);
/* Up to max - 1 bytes of s on one line, for messages: line breaks and tabs
 * become spaces, trailing spaces go.  s may be NULL (then out is ""). */
void str_excerpt(const char *s, char *out, size_t max);
void buf_reset(struct buf *b); /* len = 0, memory kept */
const char *buf_cstr(const struct buf *b);
/* Hands the data to the caller (malloc'd, NUL-terminated, never NULL on success). */
char *buf_steal(struct buf *b) ATTR_MALLOC(free);

int buf_add(struct buf *b, const void *data, size_t len, struct perr *err);
int buf_adds(struct buf *b, const char *s, struct perr *err);
int buf_addf(struct buf *b, struct perr *err, const char *fmt, ...) ATTR_PRINTF(3, 4);
int buf_vaddf(struct buf *b, struct perr *err, const char *fmt, va_list ap) ATTR_PRINTF(3, 0);

/* XML text and attribute values: & < > " ' escaped; control characters other
 * than tab/newline/CR, which XML 1.0 cannot carry, are rejected. */
int buf_add_xml(struct buf *b, const char *s, struct perr *err);
/* One URL path segment or query value: everything but RFC 3986 unreserved is %XX. */
int buf_add_url(struct buf *b, const char *s, struct perr *err);
/* A JSON string value including the surrounding quotes. */
int buf_add_json(struct buf *b, const char *s, struct perr *err);
/* One POSIX shell word: single-quoted, with ' written as '\''. */
int buf_add_shell(struct buf *b, const char *s, struct perr *err);

#endif
