/*
 * Test helper: start and stop the simulated world (test/sim/world) and read
 * the variables it writes to DIR/env.
 */
#ifndef POP_TEST_WORLD_H
#define POP_TEST_WORLD_H

#include <stdbool.h>
#include <stddef.h>

struct vim;

struct world {
    char dir[256];
    char *keys[256];
    char *vals[256];
    size_t n;
};

/* Starts a world in a new temp dir, without the apiserver unless extra_env has
 * WORLD_NO_KUBE=0; extra_env ("K=V", NULL-terminated) overrides names.
 * Returns -1 (after printing why) when it cannot start. */
int world_start(struct world *w, const char *const extra_env[]);
/* world_start() for suites whose populates run the ESXi wrapper: the
 * simulated ESXi runs it under chroot, so without root this prints a SKIP
 * line saying so and returns -1 without starting anything. */
int world_start_chroot(struct world *w, const char *const extra_env[]);
void world_stop(struct world *w);
/* Reads DIR/env again (after a piece such as test/sim/ssh/start-sshd appended to it). */
void world_reload_env(struct world *w);
/* Forgets the variables read from DIR/env. */
void world_env_clear(struct world *w);
/* The value of an env variable of the world, or NULL. */
const char *world_find(const struct world *w, const char *key);
/* The value of an env variable of the world; aborts the test when missing. */
const char *world_get(const struct world *w, const char *key);
/* Runs a shell command line with the world's env file sourced; returns the exit status. */
int world_sh(const struct world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Counts lines of the calls log containing all of the given substrings (NULL-terminated). */
int world_count_calls(const struct world *w, ...) __attribute__((sentinel));
/* Logs in to the world's vCenter with TLS verified by its CA; NULL (reason
 * printed) on failure.  Close with vim_close(). */
struct vim *world_vim_open(const struct world *w);
/* True when the non-empty file src is, byte for byte, the start of dst. */
bool world_same_file(const char *src, const char *dst);

#endif
