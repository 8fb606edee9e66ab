/*
 * Test helper: run a program with an explicit argv and environment and
 * capture its stdout, stderr and exit status (no shell involved).
 */
#ifndef POP_TEST_PROC_H
#define POP_TEST_PROC_H

#include "lib/buf.h"

/* Runs bin; *status is the exit status, or 128 + signal.  -1 when it cannot be started. */
int proc_run(const char *bin, const char *const argv[], const char *const envp[], struct buf *out,
             struct buf *errout, int *status);

/* The binary under test (POP_TEST_BIN, set by the Makefile); fails the test when unset. */
const char *proc_pop_bin(void);

#endif
