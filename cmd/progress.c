#include "cmd/progress.h"

#include <stdio.h>

#include "lib/deadline.h"
#include "lib/log.h"

void
progress_init(struct progress *p, struct metrics *m, unsigned long long total_bytes, bool tty)
{
    p->metrics_ref = m;
    p->total_bytes = total_bytes;
    p->started_ms = mono_now_ms();
    p->last_log_ms = p->started_ms;
    p->last_logged_pct = -1;
    p->pct = -1;
    p->tty = tty;
    p->drawn = false;
}

static void
draw(struct progress *p, int64_t now)
{
    char bar[31];
    double secs = (double)(now - p->started_ms) / 1000.0;
    double done = (double)p->total_bytes * p->pct / 100.0;
    double rate = secs > 0 ? done / secs : 0;
    int fill = p->pct * 30 / 100;
    long left = rate > 0 ? (long)(((double)p->total_bytes - done) / rate) : -1;

    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    if (left >= 0)
        fprintf(stderr, "\r[%s] %3d%%  %7.1f MiB/s  %ld:%02ld left ", bar, p->pct, rate / 1048576.0,
                left / 60, left % 60);
    else
        fprintf(stderr, "\r[%s] %3d%%", bar, p->pct);
    fflush(stderr);
    p->drawn = true;
}

void
progress_update(struct progress *p, int pct)
{
    int64_t now = mono_now_ms();
    struct perr tmp = {0};

    if (pct < 0 || pct <= p->pct)
        return;
    p->pct = pct > 100 ? 100 : pct;
    if (p->metrics_ref != NULL && metrics_progress(p->metrics_ref, p->pct, &tmp) < 0)
        log_warn("progress", "metrics update failed", "error", tmp.msg, NULL);
    if (p->tty) {
        draw(p, now);
        return;
    }
    /* Steady log lines: every 10 % or every 10 s, whichever comes first. */
    if (p->pct == 100 || p->pct / 10 > p->last_logged_pct / 10 || now - p->last_log_ms >= 10000) {
        char pcts[8];

        snprintf(pcts, sizeof(pcts), "%d", p->pct);
        log_info("progress", "copy progress", "percent", pcts, NULL);
        p->last_logged_pct = p->pct;
        p->last_log_ms = now;
    }
}

void
progress_finish(struct progress *p)
{
    if (p->drawn) {
        fputc('\n', stderr);
        fflush(stderr);
        p->drawn = false;
    }
}
