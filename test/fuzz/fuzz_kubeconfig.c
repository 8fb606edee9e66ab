/*
 * The kubeconfig reader (libyaml): the fuzz input is written to a private
 * file and read by kube_config_from_kubeconfig(), with and without --master.
 * The same bytes also go through the timestamp parser and the base64 decoder
 * the reader uses for -data fields.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/kube.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char path[64];
static FILE *devnull;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    devnull = fopen("/dev/null", "w");
    log_set_stream(devnull);
    snprintf(path, sizeof(path), "/tmp/pop-fuzz-kubeconfig-%ld.yaml", (long)getpid());
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const masters[] = {NULL, "https://10.0.0.1:6443"};
    FILE *f = fopen(path, "w");
    char *s;

    if (f == NULL)
        return 0;
    if (fwrite(data, 1, size, f) != size) {
        fclose(f);
        return 0;
    }
    fclose(f);
    for (size_t i = 0; i < sizeof(masters) / sizeof(masters[0]); i++) {
        struct kube_config *cfg = NULL;
        struct perr err = {0};

        if (kube_config_from_kubeconfig(path, masters[i], &cfg, &err) == 0)
            kube_config_free(cfg);
    }
    unlink(path);
    /* The reader registers the token and key as secrets: forget them. */
    log_reset();
    log_set_stream(devnull);

    s = strndup((const char *)data, size);
    if (s != NULL) {
        long long ms;
        char *out = NULL;
        size_t n;
        struct perr err = {0};
        char back[40];

        if (kube_time_parse(s, &ms) == 0)
            kube_time_format(ms, back, sizeof(back));
        if (kube_base64_decode(s, "fuzz", &out, &n, &err) == 0)
            free(out);
        free(s);
    }
    return 0;
}
