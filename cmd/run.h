/*
 * The populate job: what main() runs once the configuration is valid.
 *
 * Contract:
 * - run() returns 0 when the disk was copied and every mapping was undone.
 * - On failure it returns -1 with the root cause in *err (first error wins);
 *   cleanup still ran, and anything it could not undo is listed in
 *   res->leftovers (one human-readable item each: "LUN 'x' still mapped to
 *   igroup 'y'").  main() turns a non-empty list into exit status 3.
 * - run() never exits and never prints to stdout.
 */
#ifndef POP_RUN_H
#define POP_RUN_H

#include <stdbool.h>

#include "cmd/config.h"
#include "lib/err.h"
#include "lib/strv.h"

struct run_result {
    struct strv leftovers; /* what cleanup could not undo; owned */
    const char *phase;     /* phase that failed ("login", "map", "clone", ...); static */
};

int run(const struct config *cfg, struct run_result *res, struct perr *err);
void run_result_free(struct run_result *res);

#endif
