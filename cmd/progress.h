/*
 * Progress reporting for one copy: metrics, log lines, and a live bar.
 *
 * progress_update() is called with each new percentage (from the clone poll
 * loop or an array-side copy).  It raises the progress metric, logs a line at
 * most every 10 % or 10 s (in a pod the log is what people read), and on a
 * terminal redraws one status line on stderr: a bar, the percentage, the
 * rate and the time left.  Not thread-safe: one copy, one caller thread.
 */
#ifndef POP_PROGRESS_H
#define POP_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/metrics.h"

struct progress {
    struct metrics *metrics_ref; /* borrowed, may be NULL */
    unsigned long long total_bytes;
    int64_t started_ms;
    int64_t last_log_ms;
    int last_logged_pct;
    int pct;
    bool tty; /* draw the bar */
    bool drawn;
};

void progress_init(struct progress *p, struct metrics *m, unsigned long long total_bytes, bool tty);
void progress_update(struct progress *p, int pct);
/* Ends the bar line (if one was drawn). */
void progress_finish(struct progress *p);

#endif
