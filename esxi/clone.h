/*
 * The vmkfstools clone task on the ESXi host, driven through the wrapper
 * script's protocol (--clone, --task-get, --task-clean, --version).
 *
 * The VIB and SSH methods differ only in how one wrapper operation reaches
 * the host: a `struct wrapper_carrier`.  Everything else — starting the
 * clone, polling, progress, xcopy detection, completion, cleanup — is here
 * and shared.
 *
 * Contract of clone_run():
 * - Starts the clone, then polls --task-get with a short adaptive interval
 *   (from 100 ms, growing to at most 2 s while nothing changes); no fixed
 *   sleep.  Completion is seen on the first poll that carries an exit code.
 * - Progress ("Clone: N% done." in lastLine) and xcopyUsed are reported to the
 *   callbacks on every poll that carries them.
 * - The copy is never bounded by a wall clock, only by lack of progress: when
 *   neither lastLine nor the percentage changes for stall_ms, it fails.
 * - A cancellation (cancel_requested()) stops waiting; the task is then
 *   cleaned, which also stops a vmkfstools that is still running.
 * - --task-clean always runs once a task id is known, on every path, with a
 *   scratch error (its failure is logged and listed in res->cleanup_failed).
 * - A failed clone is PERR_REMOTE "clone task failed with exit code C: <stderr>".
 * - Before starting, --task-find lists the tasks an earlier run left on the
 *   target: a clone of the same source that still runs is re-attached to
 *   (followed to its end with progress, res->reattached set, no new clone);
 *   every other task on the target is task-cleaned (stopped, descriptor and
 *   directory removed) and a failure to do so fails the run before anything
 *   is written.  A wrapper without --task-find (before 0.5.1.1) is a warning.
 * - --clone is never re-sent blindly: when its answer is lost (no reply,
 *   timeout, SSH or malformed reply) --task-find says whether the clone
 *   started; if it did, that task is followed; if not, the clone is started
 *   once more; if the host cannot tell, the run fails.
 */
#ifndef POP_CLONE_H
#define POP_CLONE_H

#include <stdbool.h>

#include "lib/err.h"

/* One reply of the wrapper: its XML <status> and <message>. */
struct wrapper_reply {
    int status;
    char *message; /* owned; may be "" */
};

struct wrapper_carrier {
    const char *name; /* "vib" or "ssh", for messages */
    /* Runs the wrapper with args (e.g. {"--task-get", "-i", id, NULL}). */
    int (*call)(void *impl, const char *const args[], struct wrapper_reply *out, struct perr *err);
    void *impl;
};

void wrapper_reply_clear(struct wrapper_reply *r);

/* The JSON task fields of a reply's message. */
struct clone_task {
    char *task_id;
    long pid;
    char *exit_code; /* NULL or "" while running */
    char *last_line;
    char *std_err;
    int xcopy_used; /* 1, 0, or -1 when unknown (null/absent) */
};

/* Parses a message; a non-JSON message becomes last_line (as the Go populator does). */
int clone_task_parse(const char *message, struct clone_task *t, struct perr *err);
void clone_task_clear(struct clone_task *t);
/* The first "N%" in a line, or -1. */
int clone_percent(const char *line);

/* The wait before the next --task-get, given the regular interval, whether the
 * last reply showed a new figure (moved), the rate's baseline (pct0 at t0_ms:
 * the first percentage seen, or 0 at the clone's start) and the latest
 * percentage (pct at now_ms), times on one monotonic clock.  When the figure
 * moved and the rate so far says the copy ends sooner than the interval, the
 * wait is that predicted rest, never under 20 ms.  At 100 % (vmkfstools is
 * finishing) it is a fifth of the interval, never under 20 ms.  Otherwise the
 * interval. */
long clone_next_poll_ms(long interval, bool moved, int pct0, long long t0_ms, int pct,
                        long long now_ms);

struct clone_callbacks {
    void (*progress)(void *arg, int percent);
    void (*xcopy)(void *arg, int used);
    void *arg;
};

struct clone_result {
    int xcopy_used;        /* last value seen, -1 unknown */
    int percent;           /* last percentage seen, -1 none */
    bool cleanup_failed;   /* --task-clean did not succeed */
    long long started_ms;  /* monotonic */
    long long finished_ms; /* monotonic, when the exit code was seen */
    unsigned polls;
    bool reattached; /* followed an earlier run's clone instead of starting one */
};

/* One task of a --task-find reply. */
struct clone_found_task {
    char *task_id;
    char *exit_code; /* "" while running */
    bool running;
    int same_source; /* 1, 0, or -1 when the wrapper could not tell */
};

struct clone_found {
    struct clone_found_task *tasks;
    size_t n;
};

/* Parses a --task-find message ({"tasks": [...]}); entries without a taskId are skipped. */
int clone_found_parse(const char *message, struct clone_found *f, struct perr *err);
void clone_found_clear(struct clone_found *f);

/* Reads the wrapper's version through the carrier ("0.5.0"); owned. */
int clone_wrapper_version(struct wrapper_carrier *c, char **version, struct perr *err);

int clone_run(struct wrapper_carrier *c, const char *src, const char *dst, long stall_ms,
              const struct clone_callbacks *cb, struct clone_result *res, struct perr *err);

#endif
