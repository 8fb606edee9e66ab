/*
 * The PVC -> PV lookup over the Kubernetes client: the fuzz input is the API
 * server's answers (test/fuzz/fuzz_transport.h format) to the PVC GET, the
 * prime PVC GET when the PVC has no volumeName, and the PV GET.  The client
 * is made by kube_open() with its libcurl transport swapped for the fuzz one
 * (test/fuzz/fuzz_seams.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/err.h"
#include "lib/kube.h"
#include "lib/log.h"
#include "test/fuzz/fuzz_transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

extern struct fuzz_transport *fuzz_seam_transport;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init(LOGL_TRACE, LOG_FORMAT_TEXT, "all");
    log_set_stream(fopen("/dev/null", "w"));
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char server[] = "https://127.0.0.1:6443";
    static char token[] = "fuzz-bearer-token";
    static char ns[] = "fuzz";
    struct kube_config cfg = {
        .server = server,
        .token = token,
        .namespace = ns,
        .source = server,
        .timeout_ms = 5000,
    };
    struct fuzz_transport ft;
    struct kube *k = NULL;
    struct kube_pv *pv = NULL;
    struct perr err = {0};

    fuzz_transport_init(&ft, data, size);
    fuzz_seam_transport = &ft;
    if (kube_open(&cfg, &k, &err) < 0) {
        fuzz_seam_transport = NULL;
        return 0;
    }
    if (kube_lookup_pv(k, "fuzz", "target-pvc", &pv, &err) == 0) {
        for (size_t i = 0; i < pv->nattrs; i++)
            (void)kube_pv_attr(pv, pv->attrs[i].key);
        (void)kube_pv_attr(pv, "internalName");
        kube_pv_free(pv);
    }
    kube_close(k);
    fuzz_seam_transport = NULL;
    return 0;
}
