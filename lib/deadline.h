/*
 * Monotonic deadlines, bounded exponential backoff and cancellable waits.
 *
 * Every wait in the program goes through here: there are no fixed sleeps.  A
 * wait ends early when the process is asked to stop (SIGTERM/SIGINT call
 * cancel_request()), and returns PERR_CANCELLED then.
 *
 * Contract:
 * - Times are milliseconds on CLOCK_MONOTONIC.
 * - A deadline made with a negative duration never expires.
 * - backoff_next_ms() returns the next delay (initial * factor^n, capped at
 *   max, then spread by +-jitter) or -1 once max_attempts delays were handed out.
 * - retry_call() runs fn until it succeeds, fails with an error that
 *   `retryable` rejects, the attempts are used up or the deadline passes; the
 *   error of the last attempt is the one reported (earlier ones are logged at
 *   debug by the caller if it wants).
 */
#ifndef POP_DEADLINE_H
#define POP_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"

struct deadline {
    int64_t end_ms; /* monotonic ms; INT64_MAX = never */
};

int64_t mono_now_ms(void);
/* A deadline ms from now (ms < 0: never expires). */
struct deadline deadline_in_ms(long ms);
bool deadline_expired(const struct deadline *d);
/* Remaining ms, 0 when expired, LONG_MAX when it never expires. */
long deadline_remaining_ms(const struct deadline *d);

struct backoff {
    long initial_ms;
    long max_ms;
    double factor;
    double jitter;         /* 0.1 = +-10 % */
    unsigned max_attempts; /* 0 = unlimited */
    unsigned attempt;      /* delays handed out so far */
};

void backoff_init(struct backoff *b, long initial_ms, long max_ms, double factor, double jitter,
                  unsigned max_attempts);
long backoff_next_ms(struct backoff *b);

/* Marks the process as cancelled; async-signal-safe (for the SIGTERM, SIGINT,
 * SIGHUP and SIGQUIT handlers).  Each call counts as one more request. */
void cancel_request(void);
/* True when a cancellation was requested (behind the shield: a second one). */
bool cancel_requested(void);
/* Forgets a cancellation and lowers any shield (tests only). */
void cancel_reset(void);

/*
 * Cleanup that cancellation must not cut.  Between cancel_shield_begin() and
 * cancel_shield_end(), a first request is not seen, whether it came before
 * the shield or during it: cancel_requested(), wait_ms() and retry_call()
 * (and so every retry loop built on them) behave as if none had come, so
 * cleanup keeps its own retries and waits after a SIGTERM.  A second request
 * is seen at once: a second SIGTERM or SIGINT cuts the cleanup.  Not nested;
 * called from the worker thread only.
 */
void cancel_shield_begin(void);
void cancel_shield_end(void);
/* True when any cancellation was requested, shield or not: whether the run
 * as a whole was interrupted. */
bool cancel_ever_requested(void);

/* Sleeps ms (bounded by d when d != NULL); -1 + PERR_CANCELLED when cancelled meanwhile. */
int wait_ms(long ms, const struct deadline *d, struct perr *err);

/* One attempt: 0 on success, -1 with err set. */
typedef int (*retry_fn)(void *arg, struct perr *err);

int retry_call(retry_fn fn, void *arg, struct backoff *b, const struct deadline *d,
               bool (*retryable)(const struct perr *err), struct perr *err);

#endif
