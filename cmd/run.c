#include "cmd/run.h"

#include "lib/log.h"

int
run(const struct config *cfg, struct run_result *res, struct perr *err)
{
    (void)cfg;
    res->phase = "start";
    /* The vSphere, storage and clone pieces are built in later stages of the
     * project; until then the program says so instead of pretending to copy. */
    return perr_set(err, PERR_UNSUPPORTED,
                    "the populate flow is not available in this build: configuration is valid, "
                    "nothing was touched");
}

void
run_result_free(struct run_result *res)
{
    strv_free(&res->leftovers);
}
