#include "cmd/main.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/config_check.h"
#include "esxi/wrapper.h"
#include "lib/buf.h"
#include "lib/log.h"

#ifndef POP_VERSION
#define POP_VERSION "0.0.0"
#endif

char *
main_failure_line(const struct perr *err, const struct run_result *res)
{
    struct buf b = {0};
    struct perr tmp = {0};

    if (res != NULL && res->phase != NULL)
        buf_addf(&b, &tmp, "%s: ", res->phase);
    buf_adds(&b, err->msg[0] != '\0' ? err->msg : perr_code_str(err->code), &tmp);
    if (res != NULL && res->leftovers.n > 0) {
        buf_adds(&b, "; left behind: ", &tmp);
        strv_join(&res->leftovers, "; ", &b, &tmp);
    }
    return buf_steal(&b);
}

enum pop_exit
main_exit_status(const struct perr *err, const struct run_result *res)
{
    if (res->leftovers.n > 0)
        return POP_EXIT_LEFTOVER;
    return config_error_is_usage(err) ? POP_EXIT_USAGE : POP_EXIT_FAILED;
}

char *
main_leftover_line(const struct run_result *res)
{
    struct buf b = {0};
    struct perr tmp = {0};

    buf_adds(&b, "copied; left behind: ", &tmp);
    strv_join(&res->leftovers, "; ", &b, &tmp);
    return buf_steal(&b);
}

void
main_write_termination_log(const char *path, const char *line)
{
    char *safe = NULL;
    const char *text;
    int fd;
    ssize_t ignored;

    if (path == NULL || *path == '\0')
        return;
    /* No O_CREAT: the file is Kubernetes' to provide; outside a pod nothing is written. */
    fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return;
    /* A peer may echo a credential into an error message; the log scrubs it,
     * and so must this file, which is read outside the log. */
    safe = log_scrub_dup(line);
    text =
        safe != NULL ? safe : "failed (the message could not be cleaned of secrets; see the log)";
    ignored = write(fd, text, strlen(text));
    ignored = write(fd, "\n", 1);
    (void)ignored;
    close(fd);
    free(safe);
}

void
main_print_version(FILE *f, const char *argv0)
{
    const char *base = strrchr(argv0, '/');

    base = base != NULL ? base + 1 : argv0;
    fprintf(f, "%s %s\n", base, POP_VERSION);
    /* The same key names the Go populator logs, so existing log scrapers keep working. */
    fprintf(f, "binary=%s version=%s vib_version=%s vmkfstools_wrapper_version=%s\n", base,
            POP_VERSION, esxi_wrapper_version(), esxi_wrapper_version());
}
