/*
 * Process-level helpers used by main() and tested on their own.
 */
#ifndef POP_MAIN_H
#define POP_MAIN_H

#include <stdio.h>

#include "cmd/run.h"
#include "lib/err.h"

/* Exit statuses (design §5). */
enum pop_exit {
    POP_EXIT_OK = 0,       /* copied (leftovers, if any, listed); also --help, --version */
    POP_EXIT_FAILED = 1,   /* copy failed, cleanup completed */
    POP_EXIT_USAGE = 2,    /* bad flag, variable, secret value or file; nothing touched */
    POP_EXIT_LEFTOVER = 3, /* failed and some cleanup could not be done */
};

/* The exit status of a failed run: 3 when something is left behind, else 2
 * for an error of kind usage/config (wherever it was found), else 1. */
enum pop_exit main_exit_status(const struct perr *err, const struct run_result *res);

/* "copied; left behind: a; b" for a run that copied but could not undo
 * everything.  Owned by the caller; NULL without memory. */
char *main_leftover_line(const struct run_result *res) ATTR_MALLOC(free);

/* Builds the one-line failure: "<phase>: <message>[; left behind: a; b]". Owned by the caller. */
char *main_failure_line(const struct perr *err, const struct run_result *res) ATTR_MALLOC(free);

/* Writes line + "\n" to path only if the file already exists (Kubernetes
 * creates /dev/termination-log); silently does nothing otherwise.  Registered
 * secrets are scrubbed from line first (the pod status shows it to anyone who
 * can read pods); when that cannot be done, a fixed text is written instead. */
void main_write_termination_log(const char *path, const char *line);

/* Prints the version lines (program, embedded wrapper/VIB version). */
void main_print_version(FILE *f, const char *argv0);

#endif
