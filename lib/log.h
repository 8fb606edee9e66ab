/*
 * Leveled, structured logger.
 *
 * One line per event on stderr (or the stream given to log_set_stream()):
 *   text: 2026-11-22T12:00:00.123Z info  [storage.ontap] lun mapped igroup='x' naa='naa.6…'
 *   json: {"ts":"…","level":"info","comp":"storage.ontap","func":"…","event":"lun
 * mapped","igroup":"x",…}
 *
 * Contract:
 * - The event is a constant, greppable string; data goes in key/value pairs
 *   (const char *key, const char *value, ..., NULL).  A NULL value prints as null.
 * - Redaction lives here, not at call sites: a value whose key contains
 *   password, secret, token, authorization, cookie, passphrase or private_key
 *   (case-insensitive) is printed as "***"; and every string registered with
 *   log_add_secret() (or log_add_secret_encodings()) is replaced by "***" wherever it appears in a
 * line (event, keys or values), so a secret can never leak through an error message.
 * - Thread-safe (one mutex around formatting and writing).
 * - Levels: error = the final failure (once); warn = recovered or cleanup
 *   failures; info = milestones; debug = one line per exchange; trace = wire
 *   bodies, only for components named in log_init()'s trace list.
 */
#ifndef POP_LOG_H
#define POP_LOG_H

#include <stdbool.h>
#include <stdio.h>

#include "lib/compiler.h"

enum log_level { LOGL_ERROR, LOGL_WARN, LOGL_INFO, LOGL_DEBUG, LOGL_TRACE };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* trace_components: comma-separated component prefixes ("http,soap"), "all", or NULL. */
void log_init(enum log_level min, enum log_format format, const char *trace_components);
/* Where lines go (default stderr).  NULL restores stderr.  Not owned. */
void log_set_stream(FILE *stream);
/* Registers a secret value to scrub from all output, in every spelling it is
 * sent, logged or echoed back by a peer in: as is, JSON-escaped (ours, with
 * non-ASCII as \u escapes in either hex case, and with <>& escaped as Go
 * writes it; each once and twice), XML-escaped (named or numeric quotes) and
 * URL-encoded (either hex case).  Copied; spellings < 4 bytes are ignored. */
void log_add_secret(const char *value);
/* The one call for a credential: log_add_secret(secret) and, when user is not
 * NULL, the HTTP Basic spelling base64("user:secret") (user "" gives ":secret",
 * as a token sent in Basic). */
void log_add_secret_encodings(const char *user, const char *secret);
/* A copy of text with every registered secret replaced by "***" (NULL when
 * text is NULL or memory runs out): for what leaves the process outside the
 * log, such as the termination message and the JSON result.  Free with free(). */
char *log_scrub_dup(const char *text) ATTR_MALLOC(free);
/* Forgets registered secrets (zeroed) and resets to defaults: for tests and exit. */
void log_reset(void);

bool log_enabled(enum log_level lvl);
/* True when trace is enabled for this component (exact or prefix before '.'). */
bool log_trace_on(const char *comp);

/* Parses "error|warn|warning|info|debug|trace"; -1 when unknown. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level lvl);
/* Parses "text|json"; -1 when unknown. */
int log_format_parse(const char *s, enum log_format *out);

/* Key names whose values are always redacted. */
bool log_key_is_sensitive(const char *key);

void log_emit(enum log_level lvl, const char *comp, const char *func, const char *event,
              ...) ATTR_SENTINEL;

#define log_error(comp, ...) log_emit(LOGL_ERROR, (comp), __func__, __VA_ARGS__)
#define log_warn(comp, ...)  log_emit(LOGL_WARN, (comp), __func__, __VA_ARGS__)
#define log_info(comp, ...)  log_emit(LOGL_INFO, (comp), __func__, __VA_ARGS__)
#define log_debug(comp, ...) log_emit(LOGL_DEBUG, (comp), __func__, __VA_ARGS__)
#define log_trace(comp, ...) log_emit(LOGL_TRACE, (comp), __func__, __VA_ARGS__)

#endif
