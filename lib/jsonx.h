/*
 * jansson helpers that speak struct perr.
 *
 * Contract:
 * - Parse errors and shape mismatches become PERR_PROTOCOL with jansson's
 *   text (line, column, what was expected) in the message.
 * - Strings handed out by jsonx_strdup() are owned copies: they stay valid
 *   after the tree is released (jansson's borrowed "s" pointers do not).
 * - Nothing here takes a reference it does not document: jsonx_parse()
 *   gives the caller one reference to release with json_decref().
 */
#ifndef POP_JSONX_H
#define POP_JSONX_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/buf.h"
#include "lib/err.h"

/* Parses len bytes (need not be NUL-terminated); rejects duplicate keys and NUL in strings. */
int jsonx_parse(const char *text, size_t len, json_t **out, struct perr *err);

/* json_unpack_ex with the failure folded into *err; `what` names the document in the message. */
int jsonx_unpack(json_t *root, const char *what, struct perr *err, const char *fmt, ...);

/* Owned copy of root[key] when it is a string; -1 + PERR_PROTOCOL when missing or not a string. */
int jsonx_strdup(json_t *obj, const char *key, char **out, struct perr *err);

/* Borrowed root[key] when it is a string, otherwise def. */
const char *jsonx_string_or(json_t *obj, const char *key, const char *def);

/*
 * Durations in results: whole milliseconds as a JSON number of seconds.
 * jsonx_seconds(2170) is the real 2.17 (NULL only when out of memory, which
 * json_object_set_new() tolerates).  A document holding such reals is dumped
 * with JSONX_REAL_MS among the json_dumps() flags: 15 significant digits print
 * every whole-millisecond count below 10^12 s as its shortest decimal ("2.17",
 * "0.004", "3600.0") instead of jansson's default 17 digits, which show the
 * binary rounding ("2.1699999999999999").
 */
json_t *jsonx_seconds(int64_t ms);
#define JSONX_REAL_MS JSON_REAL_PRECISION(15)

/* Appends the compact serialisation of v to out. */
int jsonx_dump(json_t *v, struct buf *out, struct perr *err);

#endif
