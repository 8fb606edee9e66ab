#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/config.h"
#include "cmd/install_vib.h"
#include "cmd/main.h"
#include "cmd/config_check.h"
#include "cmd/preflight.h"
#include "cmd/run.h"
#include "lib/deadline.h"
#include "lib/log.h"

extern char **environ;

/* SIGTERM/SIGINT/SIGHUP/SIGQUIT only mark the run cancelled: every wait
 * and every phase boundary notices, and the populate flow then runs its
 * cleanup before the process exits.  A closed terminal (SIGHUP) or a core
 * request (SIGQUIT) must not leave a LUN mapped either. */
static void
on_stop_signal(int sig)
{
    (void)sig;
    cancel_request();
}

static void
install_signal_handlers(void)
{
    struct sigaction sa = {0};

    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void
register_secrets(const struct config *cfg)
{
    /* Every spelling each credential is sent in: raw, Basic, JSON, XML, URL. */
    log_add_secret_encodings(cfg->storage_username != NULL ? cfg->storage_username : "",
                             cfg->storage_password);
    log_add_secret_encodings("", cfg->storage_token);
    log_add_secret_encodings(cfg->vsphere_username, cfg->vsphere_password);
    log_add_secret((const char *)cfg->ssh_private_key);
    log_add_secret((const char *)cfg->root_ssh_key);
    log_add_secret(cfg->root_password);
}

int
main(int argc, char *argv[])
{
    struct config *cfg = NULL;
    struct run_result res = {0};
    struct perr err = {0};
    char *line = NULL;
    int status = POP_EXIT_OK;

    /* A closed peer must surface as an error from send(), not kill the job mid-cleanup. */
    install_signal_handlers();
    if (argc > 1 && strcmp(argv[1], "preflight") == 0)
        return preflight_main(argc - 1, argv + 1, environ);
    /* Subcommands have their own flags. */
    if (install_vib_wanted(argc, argv, &(int){0}))
        return install_vib_main(argc, argv, (const char *const *)environ);
    if (config_parse(argc, argv, (const char *const *)environ, &cfg, &err) < 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err.msg);
        if (err.code == PERR_USAGE)
            fprintf(stderr, "Try '%s --help' for more information.\n", argv[0]);
        /* Also tell Kubernetes, so the pod status shows why. */
        main_write_termination_log(config_termination_log(argc, argv, (const char *const *)environ),
                                   err.msg);
        status = config_error_is_usage(&err) ? POP_EXIT_USAGE : POP_EXIT_FAILED;
        goto out;
    }
    config_scrub_argv(argc, argv);
    if (cfg->action == CONFIG_ACTION_HELP) {
        config_usage(stdout, argv[0]);
        goto out;
    }
    if (cfg->action == CONFIG_ACTION_VERSION) {
        main_print_version(stdout, argv[0]);
        goto out;
    }
    log_init(cfg->log_level, cfg->log_format, cfg->log_trace);
    register_secrets(cfg);
    for (size_t i = 0; i < cfg->n_secret_flags; i++)
        log_warn("config", "secret given as a flag is visible in the process list", "flag",
                 cfg->secret_flags[i], "hint", "use the environment variable instead", NULL);
    if (run(cfg, &res, &err) < 0) {
        line = main_failure_line(&err, &res);
        log_error("main", "populate failed", "error", line != NULL ? line : err.msg, "code",
                  perr_code_str(err.code), NULL);
        main_write_termination_log(cfg->termination_log, line != NULL ? line : err.msg);
        status = main_exit_status(&err, &res);
        goto out;
    }
    if (res.leftovers.n > 0) {
        /* Copied: the migration goes on, and the pod status says what to clean. */
        line = main_leftover_line(&res);
        log_warn("main", "populate succeeded, but cleanup left something behind", "left",
                 line != NULL ? line : "", NULL);
        main_write_termination_log(cfg->termination_log, line != NULL ? line : "copied");
        goto out;
    }
    log_info("main", "populate succeeded", NULL);
out:
    free(line);
    run_result_free(&res);
    config_free(cfg);
    log_reset();
    return status;
}
