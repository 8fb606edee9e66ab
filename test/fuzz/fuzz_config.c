/*
 * The configuration parser: argv and the environment built from the fuzz
 * input.  The input is split at NUL bytes; the words before the first empty
 * word are argv[1..], the rest are "KEY=VALUE" environment entries.  argv[0]
 * is fixed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/config.h"
#include "lib/err.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_MAX_WORDS 64

static FILE *devnull;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    devnull = fopen("/dev/null", "w");
    log_set_stream(devnull);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    char *argv[FUZZ_MAX_WORDS + 2];
    const char *envp[FUZZ_MAX_WORDS + 1];
    int argc = 1;
    size_t nenv = 0;
    bool in_env = false;
    struct config *cfg = NULL;
    struct perr err = {0};

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    argv[0] = (char *)"vsphere-copy-offload-populator";
    for (char *p = copy; p <= copy + size;) {
        size_t n = strlen(p);

        if (n == 0 && !in_env) {
            in_env = true;
        } else if (n > 0 && in_env && nenv < FUZZ_MAX_WORDS) {
            envp[nenv++] = p;
        } else if (n > 0 && !in_env && argc <= FUZZ_MAX_WORDS) {
            argv[argc++] = p;
        }
        p += n + 1;
    }
    argv[argc] = NULL;
    envp[nenv] = NULL;

    if (config_parse(argc, argv, envp, &cfg, &err) == 0) {
        (void)config_vendor_env(cfg, "ONTAP_SVM");
        (void)config_target_attr(cfg, "internalName");
        config_scrub_argv(argc, argv);
        config_free(cfg);
    }
    log_reset();
    log_set_stream(devnull);
    free(copy);
    return 0;
}
