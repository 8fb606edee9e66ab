#include "test/fake/proc.h"

#include <errno.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int
proc_run(const char *bin, const char *const argv[], const char *const envp[], struct buf *out,
         struct buf *errout, int *status)
{
    posix_spawn_file_actions_t fa;
    int po[2] = {-1, -1};
    int pe[2] = {-1, -1};
    struct perr err = {0};
    char *const *av;
    char *const *ev;
    pid_t pid;
    int ws = 0;
    int rc = -1;

    if (pipe(po) < 0 || pipe(pe) < 0)
        goto out;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    posix_spawn_file_actions_addclose(&fa, po[0]);
    posix_spawn_file_actions_addclose(&fa, pe[0]);
    /* posix_spawn's prototype predates const-correct argv; it does not write them. */
    memcpy(&av, &argv, sizeof(av));
    memcpy(&ev, &envp, sizeof(ev));
    if (posix_spawn(&pid, bin, &fa, NULL, av, ev) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        goto out;
    }
    posix_spawn_file_actions_destroy(&fa);
    close(po[1]);
    close(pe[1]);
    po[1] = pe[1] = -1;
    while (po[0] >= 0 || pe[0] >= 0) {
        struct pollfd pfd[2] = {{.fd = po[0], .events = POLLIN}, {.fd = pe[0], .events = POLLIN}};

        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            int *fd = i == 0 ? &po[0] : &pe[0];
            char chunk[4096];
            ssize_t n;

            if (*fd < 0 || pfd[i].revents == 0)
                continue;
            n = read(*fd, chunk, sizeof(chunk));
            if (n <= 0) {
                close(*fd);
                *fd = -1;
                continue;
            }
            buf_add(i == 0 ? out : errout, chunk, (size_t)n, &err);
        }
    }
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    rc = 0;
out:
    for (int i = 0; i < 2; i++) {
        if (po[i] >= 0)
            close(po[i]);
        if (pe[i] >= 0)
            close(pe[i]);
    }
    return rc;
}

const char *
proc_pop_bin(void)
{
    const char *bin = getenv("POP_TEST_BIN");

    if (bin == NULL || access(bin, X_OK) != 0) {
        fprintf(stderr,
                "POP_TEST_BIN is not set to the built binary: run the tests with make check\n");
        exit(1);
    }
    return bin;
}
