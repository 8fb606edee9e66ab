/*
 * The wrapper's replies: its esxcli-style XML (status + message) as the SSH
 * carrier reads it, the message's JSON task fields, and the progress line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esxi/clone.h"
#include "esxi/ssh_carrier.h"
#include "lib/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
task(const char *message)
{
    struct clone_task t = {0};
    struct perr err = {0};

    if (clone_task_parse(message, &t, &err) == 0 && t.last_line != NULL)
        (void)clone_percent(t.last_line);
    clone_task_clear(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wrapper_reply r = {0};
    struct perr err = {0};
    char *s;

    if (ssh_wrapper_reply_parse((const char *)data, size, &r, &err) == 0 && r.message != NULL)
        task(r.message);
    wrapper_reply_clear(&r);

    /* The message on its own, as the VIB carrier hands it over. */
    s = strndup((const char *)data, size);
    if (s == NULL)
        return 0;
    task(s);
    (void)clone_percent(s);
    free(s);
    return 0;
}
