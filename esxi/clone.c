#include "esxi/clone.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/deadline.h"
#include "lib/log.h"

#define CLONE_COMP  "clone"
#define POLL_MIN_MS 100
#define POLL_MAX_MS 2000

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

static int
poll_until_done(struct wrapper_carrier *c, const char *id, long stall_ms,
                const struct clone_callbacks *cb, struct clone_result *res, struct perr *err)
{
    const char *args[] = {"--task-get", "-i", id, NULL};
    struct clone_task t = {0};
    char *last = NULL;
    long interval = POLL_MIN_MS;
    struct deadline stall = deadline_in_ms(stall_ms);
    int rc = -1;

    for (;;) {
        bool changed;

        res->polls++;
        if (wrapper_call(c, args, &t, err) < 0) {
            perr_prefix(err, "clone task '%s' status: ", id);
            goto out;
        }
        report(cb, res, &t);
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
        if (wait_ms(interval, NULL, err) < 0) {
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

int
clone_run(struct wrapper_carrier *c, const char *src, const char *dst, long stall_ms,
          const struct clone_callbacks *cb, struct clone_result *res, struct perr *err)
{
    const char *start[] = {"--clone", "-s", src, "-t", dst, NULL};
    struct clone_task t = {0};
    char *id = NULL;
    int rc = -1;

    memset(res, 0, sizeof(*res));
    res->xcopy_used = -1;
    res->percent = -1;
    res->started_ms = mono_now_ms();
    if (wrapper_call(c, start, &t, err) < 0) {
        perr_prefix(err, "failed to start clone task over %s: ", c->name);
        goto out;
    }
    if (t.task_id == NULL || *t.task_id == '\0') {
        perr_set(err, PERR_PROTOCOL, "clone over %s: the wrapper returned no task id", c->name);
        goto out;
    }
    id = strdup(t.task_id);
    if (id == NULL) {
        perr_set(err, PERR_NOMEM, "out of memory");
        goto out;
    }
    log_info(CLONE_COMP, "clone started", "method", c->name, "task", id, "source", src, "target",
             dst, NULL);
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
    clone_task_clear(&t);
    return rc;
}
