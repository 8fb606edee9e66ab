#include "lib/deadline.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* How many cancellations were requested; only the signal handlers write it. */
static volatile sig_atomic_t cancelled;
/* 1 while the cleanup shield is up. */
static volatile sig_atomic_t shielded;
/* Self-pipe: a cancellation wakes every waiter at once instead of at its next tick. */
static int cancel_pipe[2] = {-1, -1};
static pthread_once_t cancel_once = PTHREAD_ONCE_INIT;

int64_t
mono_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct deadline
deadline_in_ms(long ms)
{
    struct deadline d = {.end_ms = ms < 0 ? INT64_MAX : mono_now_ms() + ms};

    return d;
}

bool
deadline_expired(const struct deadline *d)
{
    return d->end_ms != INT64_MAX && mono_now_ms() >= d->end_ms;
}

long
deadline_remaining_ms(const struct deadline *d)
{
    int64_t left;

    if (d->end_ms == INT64_MAX)
        return LONG_MAX;
    left = d->end_ms - mono_now_ms();
    return left > 0 ? (long)left : 0;
}

void
backoff_init(struct backoff *b, long initial_ms, long max_ms, double factor, double jitter,
             unsigned max_attempts)
{
    b->initial_ms = initial_ms > 0 ? initial_ms : 1;
    b->max_ms = max_ms >= b->initial_ms ? max_ms : b->initial_ms;
    b->factor = factor >= 1.0 ? factor : 1.0;
    b->jitter = jitter >= 0 && jitter < 1 ? jitter : 0;
    b->max_attempts = max_attempts;
    b->attempt = 0;
}

static double
random_unit(void)
{
    uint32_t r = 0;

    /* Jitter only spreads retries of concurrent populators; any randomness will do. */
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
        r = (uint32_t)mono_now_ms() * 2654435761u;
    return (double)r / 4294967296.0;
}

long
backoff_next_ms(struct backoff *b)
{
    double d = (double)b->initial_ms;

    if (b->max_attempts != 0 && b->attempt >= b->max_attempts)
        return -1;
    for (unsigned i = 0; i < b->attempt && d < (double)b->max_ms; i++)
        d *= b->factor;
    if (d > (double)b->max_ms)
        d = (double)b->max_ms;
    b->attempt++;
    d *= 1.0 + b->jitter * (2.0 * random_unit() - 1.0);
    return d < 1 ? 1 : (long)d;
}

static void
cancel_pipe_init(void)
{
    if (pipe2(cancel_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        cancel_pipe[0] = -1;
        cancel_pipe[1] = -1;
    }
}

void
cancel_request(void)
{
    int saved = errno;
    ssize_t ignored;

    if (cancelled < 1000)
        cancelled++;
    if (cancel_pipe[1] >= 0) {
        ignored = write(cancel_pipe[1], "x", 1);
        (void)ignored;
    }
    errno = saved;
}

bool
cancel_requested(void)
{
    /* Behind the shield only a second request counts, whenever the first came. */
    return shielded ? cancelled >= 2 : cancelled != 0;
}

bool
cancel_ever_requested(void)
{
    return cancelled != 0;
}

/* The pipe only wakes waiters; what counts is the counter. */
static void
cancel_pipe_drain(void)
{
    char drain[64];

    if (cancel_pipe[0] >= 0) {
        while (read(cancel_pipe[0], drain, sizeof(drain)) > 0)
            ;
    }
}

void
cancel_reset(void)
{
    cancelled = 0;
    shielded = 0;
    cancel_pipe_drain();
}

void
cancel_shield_begin(void)
{
    pthread_once(&cancel_once, cancel_pipe_init);
    shielded = 1;
    /* Wake-ups of earlier requests must not keep every wait spinning. */
    cancel_pipe_drain();
}

void
cancel_shield_end(void)
{
    shielded = 0;
}

int
wait_ms(long ms, const struct deadline *d, struct perr *err)
{
    int64_t end;

    pthread_once(&cancel_once, cancel_pipe_init);
    if (d != NULL && deadline_remaining_ms(d) < ms)
        ms = deadline_remaining_ms(d);
    end = mono_now_ms() + (ms > 0 ? ms : 0);
    for (;;) {
        struct pollfd pfd = {.fd = cancel_pipe[0], .events = POLLIN};
        int64_t left;

        if (cancel_requested())
            return perr_set(err, PERR_CANCELLED,
                            shielded ? "cleanup interrupted by a second "
                                       "termination signal"
                                     : "interrupted by a termination signal");
        left = end - mono_now_ms();
        if (left <= 0)
            return 0;
        if (left > INT_MAX)
            left = INT_MAX;
        /* Without a pipe, poll on nothing still sleeps; the flag is checked each round. */
        if (poll(cancel_pipe[0] >= 0 ? &pfd : NULL, cancel_pipe[0] >= 0 ? 1 : 0,
                 cancel_pipe[0] >= 0 ? (int)left : (int)(left < 100 ? left : 100)) < 0 &&
            errno != EINTR)
            return perr_set(err, PERR_INTERNAL, "poll: %s", "failed");
        /* Woken by a request the shield hides: forget the wake-up, keep waiting. */
        if ((pfd.revents & POLLIN) != 0 && !cancel_requested())
            cancel_pipe_drain();
    }
}

int
retry_call(retry_fn fn, void *arg, struct backoff *b, const struct deadline *d,
           bool (*retryable)(const struct perr *err), struct perr *err)
{
    for (;;) {
        struct perr attempt = {0};
        long delay;

        if (fn(arg, &attempt) == 0)
            return 0;
        delay = retryable != NULL && retryable(&attempt) ? backoff_next_ms(b) : -1;
        if (delay < 0 || cancel_requested() || (d != NULL && deadline_remaining_ms(d) <= delay)) {
            *err = err->code == PERR_OK ? attempt : *err;
            return -1;
        }
        if (wait_ms(delay, d, err) < 0)
            return -1;
    }
}
