#include "esxi/clone.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/deadline.h"
#include "lib/log.h"

#define CLONE_COMP    "clone"
#define POLL_MIN_MS   100
#define POLL_MAX_MS   2000
#define POLL_FLOOR_MS 20

void
wrapper_reply_clear(struct wrapper_reply *r)
{
    free(r->message);
    r->message = NULL;
    r->status = 0;
}

void
clone_task_clear(struct clone_task *t)
{
    free(t->task_id);
    free(t->exit_code);
    free(t->last_line);
    free(t->std_err);
    memset(t, 0, sizeof(*t));
    t->xcopy_used = -1;
}

static int
dup_opt(json_t *o, const char *key, char **out, struct perr *err)
{
    json_t *v = json_object_get(o, key);

    *out = NULL;
    if (json_is_string(v))
        *out = strdup(json_string_value(v));
    else if (json_is_integer(v))
        *out = strdup(json_integer_value(v) == 0 ? "0" : "");
    else
        return 0;
    if (*out == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    if (json_is_integer(v) && json_integer_value(v) != 0) {
        /* exitCode is a string on the wire; accept a number too. */
        char num[32];

        free(*out);
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        *out = strdup(num);
        if (*out == NULL)
            return perr_set(err, PERR_NOMEM, "out of memory");
    }
    return 0;
}

int
clone_task_parse(const char *message, struct clone_task *t, struct perr *err)
{
    json_t *o = NULL;
    json_t *x;
    int rc = -1;

    clone_task_clear(t);
    o = json_loads(message, 0, NULL);
    if (!json_is_object(o)) {
        /* Not JSON: keep the raw text as the last line. */
        t->last_line = strdup(message);
        rc = t->last_line != NULL ? 0 : perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    if (dup_opt(o, "taskId", &t->task_id, err) < 0 ||
        dup_opt(o, "exitCode", &t->exit_code, err) < 0 ||
        dup_opt(o, "lastLine", &t->last_line, err) < 0 ||
        dup_opt(o, "stdErr", &t->std_err, err) < 0)
        goto out;
    if (json_is_integer(json_object_get(o, "pid")))
        t->pid = (long)json_integer_value(json_object_get(o, "pid"));
    x = json_object_get(o, "xcopyUsed");
    t->xcopy_used = json_is_true(x) ? 1 : json_is_false(x) ? 0 : -1;
    rc = 0;
out:
    json_decref(o);
    return rc;
}

int
clone_percent(const char *line)
{
    size_t i = 0;

    if (line == NULL)
        return -1;
    while (line[i] != '\0') {
        size_t start = i;
        long v = 0;

        while (line[i] >= '0' && line[i] <= '9' && i - start < 6)
            v = v * 10 + (line[i++] - '0');
        if (i > start && line[i] == '%')
            return v > 100 ? 100 : (int)v;
        if (i == start)
            i++;
    }
    return -1;
}

static int
wrapper_call(struct wrapper_carrier *c, const char *const args[], struct clone_task *t,
             struct perr *err)
{
    struct wrapper_reply r = {0};
    int rc = -1;

    if (c->call(c->impl, args, &r, err) < 0)
        goto out;
    if (r.status != 0) {
        struct clone_task bad = {0};
        struct perr ignore = {0};

        clone_task_parse(r.message != NULL ? r.message : "", &bad, &ignore);
        perr_set_remote(
            err, PERR_REMOTE, 0, "", "wrapper %s failed with status %d: %s", args[0], r.status,
            bad.std_err != NULL && *bad.std_err != '\0' ? bad.std_err
                                                        : (r.message != NULL ? r.message : ""));
        clone_task_clear(&bad);
        goto out;
    }
    if (t != NULL && clone_task_parse(r.message != NULL ? r.message : "", t, err) < 0)
        goto out;
    rc = 0;
out:
    wrapper_reply_clear(&r);
    return rc;
}

int
clone_wrapper_version(struct wrapper_carrier *c, char **version, struct perr *err)
{
    static const char *const args[] = {"--version", NULL};
    struct wrapper_reply r = {0};
    json_t *o = NULL;
    int rc = -1;

    *version = NULL;
    if (c->call(c->impl, args, &r, err) < 0)
        goto out;
    o = r.message != NULL ? json_loads(r.message, 0, NULL) : NULL;
    if (r.status != 0 || !json_is_string(json_object_get(o, "version"))) {
        perr_set(err, PERR_PROTOCOL, "wrapper --version over %s: unexpected reply '%s'", c->name,
                 r.message != NULL ? r.message : "");
        goto out;
    }
    *version = strdup(json_string_value(json_object_get(o, "version")));
    if (*version == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    json_decref(o);
    wrapper_reply_clear(&r);
    return rc;
}

static void
report(const struct clone_callbacks *cb, struct clone_result *res, const struct clone_task *t)
{
    int pct = clone_percent(t->last_line);

    if (pct >= 0 && pct != res->percent) {
        res->percent = pct;
        if (cb != NULL && cb->progress != NULL)
            cb->progress(cb->arg, pct);
    }
    if (t->xcopy_used >= 0) {
        res->xcopy_used = t->xcopy_used;
        if (cb != NULL && cb->xcopy != NULL)
            cb->xcopy(cb->arg, t->xcopy_used);
    }
}

long
clone_next_poll_ms(long interval, bool moved, int pct0, long long t0_ms, int pct, long long now_ms)
{
    long long left;

    /* vmkfstools has printed 100 % and is finishing: soon, then less often. */
    if (pct >= 100)
        return interval / 5 < POLL_FLOOR_MS ? POLL_FLOOR_MS : interval / 5;
    /* No new figure: nothing to predict from (a copy stuck at 99 % must not be
     * asked about every few ms). */
    if (!moved || pct0 < 0 || pct <= pct0 || now_ms <= t0_ms)
        return interval;
    /* The end of a copy is what the caller waits for (cleanup and exit follow
     * at once): a fixed interval would add up to a whole interval to every
     * populate, a shorter one would double the calls for the whole copy. */
    left = (now_ms - t0_ms) * (100 - pct) / (pct - pct0);
    if (left >= interval)
        return interval;
    return left < POLL_FLOOR_MS ? POLL_FLOOR_MS : (long)left;
}

static int
poll_until_done(struct wrapper_carrier *c, const char *id, long stall_ms,
                const struct clone_callbacks *cb, struct clone_result *res, struct perr *err)
{
    const char *args[] = {"--task-get", "-i", id, NULL};
    struct clone_task t = {0};
    char *last = NULL;
    long interval = POLL_MIN_MS;
    struct deadline stall = deadline_in_ms(stall_ms);
    /* The rate's baseline: the first figure seen (which leaves vmkfstools' own
     * start out of the rate) once there is a later one, else the clone's start. */
    int first_pct = -1;
    long long first_ms = 0;
    int rc = -1;

    for (;;) {
        bool changed;
        long wait;

        res->polls++;
        if (wrapper_call(c, args, &t, err) < 0) {
            perr_prefix(err, "clone task '%s' status: ", id);
            goto out;
        }
        report(cb, res, &t);
        if (first_pct < 0 && res->percent > 0) {
            first_pct = res->percent;
            first_ms = mono_now_ms();
        }
        if (t.exit_code != NULL && *t.exit_code != '\0') {
            res->finished_ms = mono_now_ms();
            if (strcmp(t.exit_code, "0") != 0) {
                perr_set_remote(err, PERR_REMOTE, 0, t.exit_code,
                                "clone task failed with exit code %s: %s", t.exit_code,
                                t.std_err != NULL && *t.std_err != '\0' ? t.std_err
                                                                        : "(no error output)");
                goto out;
            }
            break;
        }
        changed = t.last_line != NULL && (last == NULL || strcmp(last, t.last_line) != 0);
        if (changed) {
            free(last);
            last = strdup(t.last_line);
            /* Without it every later poll would look like progress. */
            if (last == NULL) {
                perr_set(err, PERR_NOMEM, "out of memory");
                goto out;
            }
            stall = deadline_in_ms(stall_ms);
            /* Something moved: look again soon. */
            interval = POLL_MIN_MS;
        } else if (deadline_expired(&stall)) {
            perr_set(err, PERR_TIMEOUT,
                     "clone task '%s' made no progress for %ld s (last output '%s')", id,
                     stall_ms / 1000, last != NULL ? last : "");
            goto out;
        } else {
            interval = interval * 3 / 2 > POLL_MAX_MS ? POLL_MAX_MS : interval * 3 / 2;
        }
        if (first_pct >= 0 && res->percent > first_pct)
            wait = clone_next_poll_ms(interval, changed, first_pct, first_ms, res->percent,
                                      mono_now_ms());
        else
            wait = clone_next_poll_ms(interval, changed, 0, res->started_ms, res->percent,
                                      mono_now_ms());
        if (wait_ms(wait, NULL, err) < 0) {
            perr_prefix(err, "clone task '%s': ", id);
            goto out;
        }
    }
    rc = 0;
out:
    free(last);
    clone_task_clear(&t);
    return rc;
}

void
clone_found_clear(struct clone_found *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->tasks[i].task_id);
        free(f->tasks[i].exit_code);
    }
    free(f->tasks);
    memset(f, 0, sizeof(*f));
}

int
clone_found_parse(const char *message, struct clone_found *f, struct perr *err)
{
    json_t *o = NULL;
    json_t *list;
    int rc = -1;

    clone_found_clear(f);
    o = json_loads(message, 0, NULL);
    list = json_object_get(o, "tasks");
    if (!json_is_array(list)) {
        perr_set(err, PERR_PROTOCOL, "wrapper --task-find: unexpected reply '%s'", message);
        goto out;
    }
    f->tasks = calloc(json_array_size(list) + 1, sizeof(*f->tasks));
    if (f->tasks == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *e = json_array_get(list, i);
        struct clone_found_task *t = &f->tasks[f->n];
        json_t *same = json_object_get(e, "sameSource");

        if (!json_is_string(json_object_get(e, "taskId")))
            continue;
        f->n++;
        if (dup_opt(e, "taskId", &t->task_id, err) < 0 ||
            dup_opt(e, "exitCode", &t->exit_code, err) < 0)
            goto out;
        t->running = json_is_true(json_object_get(e, "running"));
        t->same_source = json_is_true(same) ? 1 : json_is_false(same) ? 0 : -1;
    }
    rc = 0;
out:
    if (rc < 0)
        clone_found_clear(f);
    json_decref(o);
    return rc;
}

static int
find_tasks(struct wrapper_carrier *c, const char *src, const char *dst, struct clone_found *f,
           struct perr *err)
{
    const char *args[] = {"--task-find", "-s", src, "-t", dst, NULL};
    struct wrapper_reply r = {0};
    int rc = -1;

    if (c->call(c->impl, args, &r, err) < 0)
        goto out;
    if (r.status != 0) {
        perr_set_remote(err, PERR_REMOTE, 0, "", "wrapper --task-find failed with status %d: %s",
                        r.status, r.message != NULL ? r.message : "");
        goto out;
    }
    if (clone_found_parse(r.message != NULL ? r.message : "", f, err) < 0)
        goto out;
    rc = 0;
out:
    wrapper_reply_clear(&r);
    return rc;
}

/* Before a clone: what an earlier run left on this LUN.  A clone of the same source that
 * still runs is adopted (*adopted); anything else is stopped and removed, since it writes
 * to the LUN we are about to fill or holds a descriptor next to the source.  A lookup the
 * wrapper cannot answer (older than 0.5.1.1) is a warning: the run goes on as before. */
static int
clear_earlier(struct wrapper_carrier *c, const char *src, const char *dst, char **adopted,
              struct perr *err)
{
    struct clone_found f = {0};
    struct perr tmp = {0};
    int rc = -1;

    *adopted = NULL;
    if (find_tasks(c, src, dst, &f, &tmp) < 0) {
        log_warn(CLONE_COMP, "cannot look for an earlier run's clone on the target", "method",
                 c->name, "target", dst, "error", tmp.msg, NULL);
        rc = 0;
        goto out;
    }
    for (size_t i = 0; i < f.n; i++) {
        const struct clone_found_task *t = &f.tasks[i];
        const char *clean[] = {"--task-clean", "-i", t->task_id, NULL};

        if (*adopted == NULL && t->running && t->same_source == 1) {
            *adopted = strdup(t->task_id);
            if (*adopted == NULL) {
                perr_set(err, PERR_NOMEM, "out of memory");
                goto out;
            }
            log_info(CLONE_COMP, "re-attaching to the clone of an earlier run", "method", c->name,
                     "task", t->task_id, "source", src, "target", dst, NULL);
            continue;
        }
        log_warn(CLONE_COMP, "removing a clone task an earlier run left on the target", "task",
                 t->task_id, "running", t->running ? "true" : "false", "same_source",
                 t->same_source == 1 ? "true" : "false", "target", dst, NULL);
        if (wrapper_call(c, clean, NULL, err) < 0) {
            perr_prefix(err, "earlier clone task '%s' on '%s' could not be removed: ", t->task_id,
                        dst);
            goto out;
        }
    }
    rc = 0;
out:
    clone_found_clear(&f);
    return rc;
}

/* The answer to --clone did not arrive (or said no): read back whether a clone of src onto
 * dst exists now.  Sets *id to the task to follow, or leaves it NULL when none exists. */
static int
recover_start(struct wrapper_carrier *c, const char *src, const char *dst, char **id,
              struct perr *err)
{
    struct clone_found f = {0};
    int rc = -1;

    *id = NULL;
    if (find_tasks(c, src, dst, &f, err) < 0)
        goto out;
    for (size_t i = 0; i < f.n && *id == NULL; i++) {
        if (f.tasks[i].same_source != 1)
            continue;
        *id = strdup(f.tasks[i].task_id);
        if (*id == NULL) {
            perr_set(err, PERR_NOMEM, "out of memory");
            goto out;
        }
    }
    rc = 0;
out:
    clone_found_clear(&f);
    return rc;
}

static bool
answer_lost(const struct perr *e)
{
    /* The wrapper's own refusal (PERR_REMOTE) and a cancellation are answers. */
    return e->code == PERR_NETWORK || e->code == PERR_TIMEOUT || e->code == PERR_SSH ||
           e->code == PERR_PROTOCOL;
}

/* Starts the clone; when the answer is lost, finds out whether it started and goes on from
 * there, so that a create is never sent twice blindly. */
static int
start_clone(struct wrapper_carrier *c, const char *src, const char *dst, char **id,
            struct perr *err)
{
    const char *start[] = {"--clone", "-s", src, "-t", dst, NULL};
    struct clone_task t = {0};
    struct perr first = {0};
    int rc = -1;

    *id = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct perr look = {0};

        memset(&first, 0, sizeof(first));
        if (wrapper_call(c, start, &t, &first) == 0)
            break;
        if (!answer_lost(&first))
            goto fail;
        log_warn(CLONE_COMP, "the answer to the clone start was lost; looking for the task",
                 "method", c->name, "source", src, "target", dst, "error", first.msg, NULL);
        if (recover_start(c, src, dst, id, &look) < 0) {
            perr_set(err, look.code, "%s; and the host could not say whether it started: %s",
                     first.msg, look.msg);
            goto fail;
        }
        if (*id != NULL) {
            log_info(CLONE_COMP, "the clone had started; following it", "task", *id, NULL);
            rc = 0;
            goto out;
        }
        if (attempt == 1)
            goto fail;
        log_info(CLONE_COMP, "no clone task on the host; starting it again", "target", dst, NULL);
    }
    if (t.task_id == NULL || *t.task_id == '\0') {
        perr_set(err, PERR_PROTOCOL, "clone over %s: the wrapper returned no task id", c->name);
        goto out;
    }
    *id = strdup(t.task_id);
    if (*id == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
    goto out;
fail:
    if (!perr_failed(err))
        *err = first;
    perr_prefix(err, "failed to start clone task over %s: ", c->name);
out:
    clone_task_clear(&t);
    return rc;
}

int
clone_run(struct wrapper_carrier *c, const char *src, const char *dst, long stall_ms,
          const struct clone_callbacks *cb, struct clone_result *res, struct perr *err)
{
    char *id = NULL;
    int rc = -1;

    memset(res, 0, sizeof(*res));
    res->xcopy_used = -1;
    res->percent = -1;
    res->started_ms = mono_now_ms();
    if (clear_earlier(c, src, dst, &id, err) < 0)
        goto out;
    if (id != NULL) {
        res->reattached = true;
    } else {
        if (start_clone(c, src, dst, &id, err) < 0)
            goto out;
        log_info(CLONE_COMP, "clone started", "method", c->name, "task", id, "source", src,
                 "target", dst, NULL);
    }
    if (poll_until_done(c, id, stall_ms, cb, res, err) < 0)
        goto out;
    rc = 0;
out:
    if (id != NULL) {
        const char *clean[] = {"--task-clean", "-i", id, NULL};
        struct perr tmp = {0};

        /* Always: removes the task directory and the RDM descriptor, and stops a clone
         * that is still running after a failure or a cancellation.  It is cleanup:
         * the SIGTERM that ended the poll must not cut its retries. */
        cancel_shield_begin();
        if (wrapper_call(c, clean, NULL, &tmp) < 0) {
            res->cleanup_failed = true;
            log_warn(CLONE_COMP, "task clean failed", "task", id, "error", tmp.msg, NULL);
        }
        cancel_shield_end();
    }
    free(id);
    return rc;
}
