#include "esxi/wrapper.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/*
 * .incbin keeps the script byte-identical to esxi/vmkfstools-wrapper.sh with no
 * generated source file; the Makefile makes this object depend on the script.
 */
__asm__(".section .rodata\n"
        ".global pop_wrapper_start\n"
        ".global pop_wrapper_end\n"
        ".balign 16\n"
        "pop_wrapper_start:\n"
        ".incbin \"esxi/vmkfstools-wrapper.sh\"\n"
        "pop_wrapper_end:\n"
        ".byte 0\n"
        ".previous\n");

extern const unsigned char pop_wrapper_start[];
extern const unsigned char pop_wrapper_end[];

static char wrapper_version[32] = "dev";
static pthread_once_t wrapper_once = PTHREAD_ONCE_INIT;

const unsigned char *
esxi_wrapper_script(size_t *len)
{
    *len = (size_t)(pop_wrapper_end - pop_wrapper_start);
    return pop_wrapper_start;
}

static void
wrapper_find_version(void)
{
    static const char key[] = "\nSCRIPT_VERSION=\"";
    const char *text = (const char *)pop_wrapper_start;
    const char *p = strstr(text, key);
    size_t n;

    if (p == NULL)
        return;
    p += sizeof(key) - 1;
    n = strcspn(p, "\"\n");
    if (p[n] != '"' || n == 0 || n >= sizeof(wrapper_version))
        return;
    memcpy(wrapper_version, p, n);
    wrapper_version[n] = '\0';
}

const char *
esxi_wrapper_version(void)
{
    pthread_once(&wrapper_once, wrapper_find_version);
    return wrapper_version;
}

bool
esxi_wrapper_version_is_ours(const char *v)
{
    const char *p = v;
    long last = 0;
    int parts = 0;

    if (v == NULL)
        return false;
    for (;;) {
        char *end = NULL;

        if (*p < '0' || *p > '9')
            return false;
        last = strtol(p, &end, 10);
        parts++;
        if (*end == '\0')
            break;
        if (*end != '.')
            return false;
        p = end + 1;
    }
    return parts == 4 && last > 0;
}
