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

/* Appends the compact serialisation of v to out. */
int jsonx_dump(json_t *v, struct buf *out, struct perr *err);

#endif
