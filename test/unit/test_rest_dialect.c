/*
 * The declarative REST dialect features of lib/rest.c against the scripted
 * transport: session tables, error paths and rules, the error envelope,
 * retry policies, the ready-made pagers, the async-job waiter and
 * rest_json_path().
 *
 * A thin spy wraps the fake transport: it records every request's headers
 * (so a test can also check that a header is NOT sent), keeps the cookie a
 * reply sets (the fake itself keeps none) and checks that cfg.lock is held
 * around each exchange.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "lib/deadline.h"
#include "lib/rest.h"
#include "test/fake/fake_transport.h"

#define BASIC_USER_PASS "Authorization: Basic dXNlcjpwYXNz" /* user:pass */
#define SPY_MAX         32

/* ---- the spy transport ---- */

struct spy {
    struct http_transport inner;
    pthread_mutex_t *lock;
    size_t n;
    char *reqs[SPY_MAX]; /* "\n"-joined header lines of each request */
    char cookie_name[64];
    char cookie_value[256];
};

static int
spy_perform(void *impl, const struct http_req *req, struct http_resp *resp, struct perr *err)
{
    struct spy *s = impl;
    struct buf b = {0};
    int rc;

    if (s->lock != NULL) {
        /* The client holds cfg.lock around every exchange. */
        assert_int_equal(pthread_mutex_trylock(s->lock), EBUSY);
    }
    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
        assert_int_equal(buf_addf(&b, err, "%s\n", req->headers[i]), 0);
    assert_true(s->n < SPY_MAX);
    s->reqs[s->n++] = buf_steal(&b);
    rc = s->inner.perform(s->inner.impl, req, resp, err);
    for (size_t i = 0; rc == 0 && i < resp->headers.n; i++) {
        const char *h = resp->headers.v[i];

        if (strncasecmp(h, "Set-Cookie: ", 12) == 0) {
            const char *eq = strchr(h + 12, '=');

            assert_non_null(eq);
            snprintf(s->cookie_name, sizeof(s->cookie_name), "%.*s", (int)(eq - h - 12), h + 12);
            snprintf(s->cookie_value, sizeof(s->cookie_value), "%.*s", (int)strcspn(eq + 1, ";"),
                     eq + 1);
        }
    }
    return rc;
}

static int
spy_cookie_get(void *impl, const char *name, char **value, struct perr *err)
{
    struct spy *s = impl;

    *value = NULL;
    if (strcmp(name, s->cookie_name) != 0)
        return 0;
    *value = strdup(s->cookie_value);
    if (*value == NULL)
        return perr_set(err, PERR_NOMEM, "out of memory");
    return 0;
}

static void
spy_free_nothing(void *impl)
{
    (void)impl;
}

/* True when request number i (from 0) carried a header line starting with h. */
static bool
spy_sent(const struct spy *s, size_t i, const char *h)
{
    const char *p;

    assert_true(i < s->n);
    for (p = s->reqs[i]; *p != '\0'; p += strcspn(p, "\n") + 1) {
        if (strncasecmp(p, h, strlen(h)) == 0)
            return true;
    }
    return false;
}

/* ---- fixture ---- */

struct fixture {
    struct fake_transport *ft;
    struct spy spy;
    struct rest *r;
};

struct opts {
    const char *password;
    unsigned attempts; /* cfg.retry_attempts: 0 = the dialect's */
    pthread_mutex_t *lock;
};

static void
make_with(struct fixture *f, const struct rest_dialect *d, const struct opts *o)
{
    struct http_transport t = {
        .perform = spy_perform,
        .cookie_get = spy_cookie_get,
        .free = spy_free_nothing,
        .impl = &f->spy,
    };
    struct rest_config cfg = {
        .base_url = "https://array.example",
        .array = "array.example",
        .username = "user",
        .password = o->password != NULL ? o->password : "pass",
        .timeout_s = 10,
        .retry_initial_ms = 1,
        .retry_attempts = o->attempts,
        .transport = &t,
        .lock = o->lock,
    };
    struct perr err = {0};

    memset(f, 0, sizeof(*f));
    f->ft = fake_transport_new();
    f->spy.inner = fake_transport_http(f->ft);
    f->spy.lock = o->lock;
    assert_int_equal(rest_new(d, &cfg, &f->r, &err), 0);
}

static void
make(struct fixture *f, const struct rest_dialect *d)
{
    struct opts o = {.attempts = 2};

    make_with(f, d, &o);
}

static void
done(struct fixture *f)
{
    fake_transport_verify(f->ft);
    rest_free(f->r);
    fake_transport_free(f->ft);
    for (size_t i = 0; i < f->spy.n; i++)
        free(f->spy.reqs[i]);
}

static int
get(struct fixture *f, const struct rest_endpoint *ep, const char *name, json_t **out,
    struct perr *err)
{
    return rest_call(f->r, ep, (struct rest_var[]){{"name", name}, {NULL, NULL}}, NULL, out, err);
}

/* ---- endpoints shared by the dialects ---- */

static const struct rest_endpoint ep_login = {
    .name = "login",
    .method = "POST",
    .path = "/session",
    .flags = REST_F_NO_AUTH,
};

static const struct rest_endpoint ep_logout = {
    .name = "logout",
    .method = "DELETE",
    .path = "/sessions/{session_id}",
    .query = "token={session}",
};

static const struct rest_endpoint ep_get = {
    .name = "thing-get",
    .method = "GET",
    .path = "/things/{name}",
};

static const struct rest_endpoint ep_post = {
    .name = "thing-create",
    .method = "POST",
    .path = "/things",
    .ok = {201},
};

static const struct rest_endpoint ep_post_dup_ok = {
    .name = "thing-create-idem",
    .method = "POST",
    .path = "/things",
    .ok = {201},
    .already_code = PERR_CONFLICT,
};

static const struct rest_endpoint ep_delete = {
    .name = "thing-delete",
    .method = "DELETE",
    .path = "/things/{name}",
    .already_code = PERR_NOT_FOUND,
};

static const struct rest_endpoint ep_list = {
    .name = "thing-list",
    .method = "GET",
    .path = "/things",
    .query = "fields=name",
    .flags = REST_F_PAGED,
};

static const struct rest_endpoint ep_list_bare = {
    .name = "thing-list",
    .method = "GET",
    .path = "/things",
    .flags = REST_F_PAGED,
};

/* ---- session: where the token comes from ---- */

static const struct rest_session ss_header = {
    .login = &ep_login,
    .from = REST_TOKEN_HEADER,
    .token_name = "X-Auth-Token",
    .send = "X-Auth-Token: %s",
};

static const struct rest_dialect d_header = {.base_path = "/api", .session = &ss_header};

static void
test_session_token_from_header(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, NULL, 200, "{}", "X-Auth-Token: tok1", 0},
        {"GET", "/api/things/a", NULL, "X-Auth-Token: tok1", 200, "{\"n\":1}", NULL, 0},
        {"GET", "/api/things/b", NULL, "X-Auth-Token: tok1", 200, "{\"n\":2}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};
    json_t *out = NULL;

    (void)state;
    make(&f, &d_header);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_logins(f.r), 0);
    assert_int_equal(get(&f, &ep_get, "a", &out, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "n")), 1);
    json_decref(out);
    assert_int_equal(get(&f, &ep_get, "b", NULL, &err), 0);
    assert_string_equal(rest_session(f.r), "tok1");
    assert_int_equal(rest_logins(f.r), 1);
    /* The login itself carries no credential; nobody sends Basic here. */
    assert_false(spy_sent(&f.spy, 0, "X-Auth-Token:"));
    assert_false(spy_sent(&f.spy, 0, "Authorization:"));
    assert_false(spy_sent(&f.spy, 1, "Authorization:"));
    done(&f);
}

static const struct rest_session ss_json = {
    .login = &ep_login,
    .from = REST_TOKEN_JSON,
    .token_name = "token",
    .send = "Authorization: Session %s",
};

static const struct rest_dialect d_json = {.base_path = "/api", .session = &ss_json};

static void
test_session_token_from_json(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, NULL, 201, "{\"token\":\"t2\",\"other\":\"x\"}", NULL, 0},
        {"GET", "/api/things/a", NULL, "Authorization: Session t2", 200, "{}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_json);
    FAKE_SCRIPT(f.ft, ex);
    /* rest_login() logs in now; the call then reuses the session. */
    assert_int_equal(rest_login(f.r, &err), 0);
    assert_string_equal(rest_session(f.r), "t2");
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), 0);
    assert_int_equal(rest_logins(f.r), 1);
    done(&f);
}

static const struct rest_session ss_json_array = {
    .login = &ep_login,
    .from = REST_TOKEN_JSON,
    .token_name = "0.id",
    .send = "X-Auth-Token: %s",
};

static const struct rest_dialect d_json_array = {.base_path = "/api", .session = &ss_json_array};

static void
test_session_token_from_json_array(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, NULL, 200, "[{\"id\":\"t3\"},{\"id\":\"other\"}]", NULL, 0},
        {"GET", "/api/things/a", NULL, "X-Auth-Token: t3", 200, "{}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_json_array);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), 0);
    assert_string_equal(rest_session(f.r), "t3");
    done(&f);
}

/* PowerFlex: Basic on the login only, the reply body is a JSON string. */
static const struct rest_session ss_string = {
    .login = &ep_login,
    .login_basic = true,
    .from = REST_TOKEN_STRING,
    .send = "X-Token: %s",
};

static const struct rest_dialect d_string = {.base_path = "/api", .session = &ss_string};

static void
test_session_token_from_string_body(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, BASIC_USER_PASS, 200, "\"YWRtaW46MTY4\"", NULL, 0},
        {"GET", "/api/things/a", NULL, "X-Token: YWRtaW46MTY4", 200, "{}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_string);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), 0);
    assert_string_equal(rest_session(f.r), "YWRtaW46MTY4");
    /* login_basic without keep_basic: Basic on the login only. */
    assert_false(spy_sent(&f.spy, 1, "Authorization:"));
    done(&f);
}

static const struct rest_session ss_cookie = {
    .login = &ep_login,
    .from = REST_TOKEN_COOKIE,
    .token_name = "auth_cookie",
    .send = "Cookie: auth_cookie=%s",
};

static const struct rest_dialect d_cookie = {.base_path = "/api", .session = &ss_cookie};

static void
test_session_token_from_cookie(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, NULL, 200, "{}",
         "Set-Cookie: auth_cookie=c5; Path=/; Secure; HttpOnly", 0},
        {"GET", "/api/things/a", NULL, "Cookie: auth_cookie=c5", 200, "{}", NULL, 0},
        /* A login whose reply sets no such cookie has no session. */
        {"POST", "/api/session", NULL, NULL, 200, "{}", "Set-Cookie: other=1", 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_cookie);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), 0);
    assert_string_equal(rest_session(f.r), "c5");
    assert_int_equal(rest_login(f.r, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_string_equal(err.msg, "login to array.example answered without a session (auth_cookie)");
    done(&f);
}

/* ---- session: what the login sends ---- */

static const char *const login_hdrs[] = {"X-Auth-Username: {user}", "X-Auth-Password: {password}",
                                         NULL};

static const struct rest_session ss_login_headers = {
    .login = &ep_login,
    .login_headers = login_hdrs,
    .from = REST_TOKEN_HEADER,
    .token_name = "X-Auth-Token",
    .send = "X-Auth-Token: %s",
};

static const struct rest_dialect d_login_headers = {.base_path = "/api",
                                                    .session = &ss_login_headers};

static void
test_session_login_headers(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, "X-Auth-Username: user", 200, NULL, "X-Auth-Token: t", 0},
        {"GET", "/api/things/a", NULL, "X-Auth-Token: t", 200, "{}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_login_headers);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), 0);
    assert_true(spy_sent(&f.spy, 0, "X-Auth-Password: pass\n"));
    /* The credentials go with the login only. */
    assert_false(spy_sent(&f.spy, 1, "X-Auth-Username:"));
    assert_false(spy_sent(&f.spy, 1, "X-Auth-Password:"));
    done(&f);
}

static void
test_session_login_header_refuses_line_break(void **state)
{
    struct opts o = {.password = "pa\r\nX-Evil: 1", .attempts = 2};
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make_with(&f, &d_login_headers, &o);
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_string_equal(err.msg, "the storage credentials contain a line break");
    assert_int_equal(fake_transport_calls(f.ft), 0);
    assert_int_equal(rest_logins(f.r), 0);
    assert_null(rest_session(f.r));
    done(&f);
}

static const struct rest_session ss_body = {
    .login = &ep_login,
    .body_user = "username",
    .body_password = "password",
    .body_extra = "{\"aliveTime\":300,\"scope\":{\"kind\":\"all\"}}",
    .from = REST_TOKEN_JSON,
    .token_name = "token",
    .send = "X-Auth-Token: %s",
};

static const struct rest_dialect d_body = {.base_path = "/api", .session = &ss_body};

static const struct rest_session ss_body_empty = {
    .login = &ep_login,
    .body_extra = "{}",
    .from = REST_TOKEN_JSON,
    .token_name = "token",
    .send = "X-Auth-Token: %s",
};

static const struct rest_dialect d_body_empty = {.base_path = "/api", .session = &ss_body_empty};

static void
test_session_login_json_body(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session",
         "{\"aliveTime\":300,\"scope\":{\"kind\":\"all\"},\"username\":\"user\","
         "\"password\":\"pass\"}",
         NULL, 200, "{\"token\":\"t\"}", NULL, 0},
    };
    static const struct fake_exchange ex_empty[] = {
        {"POST", "/api/session", "{}", NULL, 200, "{\"token\":\"t\"}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_body);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_login(f.r, &err), 0);
    done(&f);

    make(&f, &d_body_empty);
    FAKE_SCRIPT(f.ft, ex_empty);
    assert_int_equal(rest_login(f.r, &err), 0);
    done(&f);
}

static const struct rest_session ss_keep_basic = {
    .login = &ep_login,
    .from = REST_TOKEN_HEADER,
    .token_name = "X-Auth-Token",
    .send = "X-Auth-Token: %s",
    .keep_basic = true,
};

static const struct rest_dialect d_keep_basic = {.base_path = "/api", .session = &ss_keep_basic};

static void
test_session_keep_basic(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, NULL, 200, NULL, "X-Auth-Token: t", 0},
        {"GET", "/api/things/a", NULL, BASIC_USER_PASS, 200, "{}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_keep_basic);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), 0);
    assert_true(spy_sent(&f.spy, 1, "X-Auth-Token: t\n"));
    /* Not on the login: login_basic is not set. */
    assert_false(spy_sent(&f.spy, 0, "Authorization:"));
    done(&f);
}

/* A session whose extra lines are given by the caller of rest_session_login(). */
static void
test_session_login_extra_headers(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, "X-Api-Version: 3", 200, NULL, "X-Auth-Token: t", 0},
    };
    static const char *const extra[] = {"X-Api-Version: 3", NULL};
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_header);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_session_login(f.r, extra, &err), 0);
    assert_string_equal(rest_session(f.r), "t");
    assert_int_equal(rest_logins(f.r), 1);
    done(&f);
}

/* PowerStore: the latest DELL-EMC-TOKEN of any reply goes back on every request. */
static const struct rest_session ss_csrf = {
    .login = &ep_login,
    .from = REST_TOKEN_JSON,
    .token_name = "token",
    .send = "X-Auth-Token: %s",
    .csrf_header = "DELL-EMC-TOKEN",
};

static const struct rest_dialect d_csrf = {.base_path = "/api", .session = &ss_csrf};

static void
test_session_csrf_echo(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, NULL, 200, "{\"token\":\"t\"}", "DELL-EMC-TOKEN: c1", 0},
        {"GET", "/api/things/a", NULL, "DELL-EMC-TOKEN: c1", 200, "{}", "DELL-EMC-TOKEN: c2", 0},
        {"GET", "/api/things/b", NULL, "DELL-EMC-TOKEN: c2", 200, "{}", NULL, 0},
        {"GET", "/api/things/c", NULL, "DELL-EMC-TOKEN: c2", 200, "{}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_csrf);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), 0);
    assert_int_equal(get(&f, &ep_get, "b", NULL, &err), 0);
    assert_int_equal(get(&f, &ep_get, "c", NULL, &err), 0);
    assert_false(spy_sent(&f.spy, 0, "DELL-EMC-TOKEN:"));
    assert_false(spy_sent(&f.spy, 2, "DELL-EMC-TOKEN: c1"));
    done(&f);
}

/* ---- session: re-login, lifetime, logout ---- */

static void
test_relogin_on_401_only_by_default(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, NULL, 200, NULL, "X-Auth-Token: s1", 0},
        {"GET", "/api/things/a", NULL, "X-Auth-Token: s1", 401, NULL, NULL, 0},
        {"POST", "/api/session", NULL, NULL, 200, NULL, "X-Auth-Token: s2", 0},
        {"GET", "/api/things/a", NULL, "X-Auth-Token: s2", 200, "{}", NULL, 0},
        /* 403 without REST_RELOGIN_403: an error, no re-login. */
        {"GET", "/api/things/b", NULL, "X-Auth-Token: s2", 403, "no rights", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_header);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), 0);
    assert_int_equal(rest_logins(f.r), 2);
    assert_int_equal(get(&f, &ep_get, "b", NULL, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_int_equal(err.http_status, 403);
    assert_string_equal(err.msg, "HTTP 403 from GET /api/things/b: no rights");
    assert_int_equal(rest_logins(f.r), 2);
    done(&f);
}

static const struct rest_session ss_relogin_403 = {
    .login = &ep_login,
    .from = REST_TOKEN_HEADER,
    .token_name = "X-Auth-Token",
    .send = "X-Auth-Token: %s",
    .relogin = REST_RELOGIN_401 | REST_RELOGIN_403,
};

static const struct rest_dialect d_relogin_403 = {.base_path = "/api", .session = &ss_relogin_403};

static void
test_relogin_on_403_when_asked(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, NULL, 200, NULL, "X-Auth-Token: s1", 0},
        {"GET", "/api/things/a", NULL, "X-Auth-Token: s1", 403, NULL, NULL, 0},
        {"POST", "/api/session", NULL, NULL, 200, NULL, "X-Auth-Token: s2", 0},
        {"GET", "/api/things/a", NULL, "X-Auth-Token: s2", 200, "{}", NULL, 0},
        {"GET", "/api/things/b", NULL, "X-Auth-Token: s2", 401, NULL, NULL, 0},
        {"POST", "/api/session", NULL, NULL, 200, NULL, "X-Auth-Token: s3", 0},
        {"GET", "/api/things/b", NULL, "X-Auth-Token: s3", 200, "{}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_relogin_403);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), 0);
    assert_int_equal(get(&f, &ep_get, "b", NULL, &err), 0);
    assert_int_equal(rest_logins(f.r), 3);
    done(&f);
}

static void
test_relogin_once_per_call(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, NULL, 200, NULL, "X-Auth-Token: s1", 0},
        {"GET", "/api/things/a", NULL, "X-Auth-Token: s1", 401, NULL, NULL, 0},
        {"POST", "/api/session", NULL, NULL, 200, NULL, "X-Auth-Token: s2", 0},
        {"GET", "/api/things/a", NULL, "X-Auth-Token: s2", 401, "still expired", NULL, 0},
        /* The next call may log in again once. */
        {"GET", "/api/things/b", NULL, "X-Auth-Token: s2", 401, NULL, NULL, 0},
        {"POST", "/api/session", NULL, NULL, 200, NULL, "X-Auth-Token: s3", 0},
        {"GET", "/api/things/b", NULL, "X-Auth-Token: s3", 200, "{}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_header);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_int_equal(err.http_status, 401);
    assert_string_equal(err.msg, "HTTP 401 from GET /api/things/a: still expired");
    assert_int_equal(rest_logins(f.r), 2);
    perr_clear(&err);
    assert_int_equal(get(&f, &ep_get, "b", NULL, &err), 0);
    assert_int_equal(rest_logins(f.r), 3);
    done(&f);
}

static void
test_login_without_token_is_protocol_error(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, NULL, 200, "{\"token\":\"\",\"user\":\"u\"}", NULL, 0},
        {"POST", "/api/session", NULL, NULL, 200, "{\"token\":42}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_json);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_string_equal(err.msg, "login to array.example answered without a session (token)");
    assert_null(rest_session(f.r));
    perr_clear(&err);
    assert_int_equal(rest_login(f.r, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_int_equal(rest_logins(f.r), 2);
    done(&f);
}

static void
test_login_refused_is_auth_error(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, NULL, 401, "bad password", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_header);
    FAKE_SCRIPT(f.ft, ex);
    /* The login itself is never re-tried by logging in. */
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_string_equal(err.msg, "login to array.example failed: HTTP 401 from POST /api/session: "
                                 "bad password");
    assert_int_equal(rest_logins(f.r), 1);
    done(&f);
}

static const struct rest_session ss_lifetime = {
    .login = &ep_login,
    .from = REST_TOKEN_HEADER,
    .token_name = "X-Auth-Token",
    .send = "X-Auth-Token: %s",
    .lifetime_s = 1,
};

static const struct rest_dialect d_lifetime = {.base_path = "/api", .session = &ss_lifetime};

static void
test_session_lifetime_renewal(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, NULL, 200, NULL, "X-Auth-Token: s1", 0},
        {"GET", "/api/things/a", NULL, "X-Auth-Token: s1", 200, "{}", NULL, 0},
        {"GET", "/api/things/b", NULL, "X-Auth-Token: s1", 200, "{}", NULL, 0},
        {"POST", "/api/session", NULL, NULL, 200, NULL, "X-Auth-Token: s2", 0},
        {"GET", "/api/things/c", NULL, "X-Auth-Token: s2", 200, "{}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_lifetime);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), 0);
    assert_int_equal(get(&f, &ep_get, "b", NULL, &err), 0);
    assert_int_equal(rest_logins(f.r), 1);
    assert_int_equal(wait_ms(1100, NULL, &err), 0);
    assert_int_equal(get(&f, &ep_get, "c", NULL, &err), 0);
    assert_int_equal(rest_logins(f.r), 2);
    assert_string_equal(rest_session(f.r), "s2");
    done(&f);
}

static const struct rest_session ss_logout = {
    .login = &ep_login,
    .from = REST_TOKEN_JSON,
    .token_name = "token",
    .id_path = "id",
    .send = "X-Auth-Token: %s",
    .logout = &ep_logout,
};

static const struct rest_dialect d_logout = {.base_path = "/api", .session = &ss_logout};

static void
test_logout(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, NULL, 200, "{\"token\":\"t/1\",\"id\":42}", NULL, 0},
        {"DELETE", "/api/sessions/42?token=t%2F1", NULL, "X-Auth-Token: t/1", 204, NULL, NULL, 0},
        /* A later call logs in again; a failed logout still forgets the session. */
        {"POST", "/api/session", NULL, NULL, 200, "{\"token\":\"t2\",\"id\":\"s-2\"}", NULL, 0},
        {"GET", "/api/things/a", NULL, "X-Auth-Token: t2", 200, "{}", NULL, 0},
        {"DELETE", "/api/sessions/s-2?token=t2", NULL, "X-Auth-Token: t2", 404, NULL, NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_logout);
    FAKE_SCRIPT(f.ft, ex);
    rest_logout(f.r); /* no session yet: nothing is sent */
    assert_int_equal(fake_transport_calls(f.ft), 0);
    assert_int_equal(rest_login(f.r, &err), 0);
    rest_logout(f.r);
    assert_null(rest_session(f.r));
    rest_logout(f.r); /* already gone: nothing is sent */
    assert_int_equal(fake_transport_calls(f.ft), 2);
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), 0);
    rest_logout(f.r);
    assert_null(rest_session(f.r));
    assert_int_equal(rest_logins(f.r), 2);
    rest_logout(NULL);
    done(&f);
}

/* A session the array already dropped is not made again just to delete it:
 * that would leave a new session behind on the array. */
static void
test_logout_expired_session(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, NULL, 200, "{\"token\":\"t1\",\"id\":42}", NULL, 0},
        {"DELETE", "/api/sessions/42?token=t1", NULL, "X-Auth-Token: t1", 401, NULL, NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_logout);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_login(f.r, &err), 0);
    rest_logout(f.r);
    assert_null(rest_session(f.r));
    assert_int_equal(rest_logins(f.r), 1);
    assert_int_equal(fake_transport_calls(f.ft), 2);
    done(&f);
}

static void
test_lock_held_around_exchanges(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, NULL, 200, NULL, "X-Auth-Token: s1", 0},
        {"GET", "/api/things/a", NULL, NULL, 503, NULL, NULL, 0},
        {"GET", "/api/things/a", NULL, NULL, 200, "{}", NULL, 0},
    };
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    struct opts o = {.attempts = 2, .lock = &lock};
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make_with(&f, &d_header, &o);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), 0);
    assert_int_equal(f.spy.n, 3); /* each one checked the lock was held */
    assert_int_equal(pthread_mutex_trylock(&lock), 0);
    pthread_mutex_unlock(&lock);
    done(&f);
}

/* ---- errors ---- */

static const struct rest_error_rule err_rules[] = {
    {.status = 400, .text = "Does Not Exist", .to = PERR_NOT_FOUND},
    {.code = "E_DUP", .to = PERR_CONFLICT},
    {.code = "CMMVC5753E", .to = PERR_NOT_FOUND},
    {.status = 500, .text = "already mapped", .to = PERR_CONFLICT},
    {0},
};

static const struct rest_dialect d_errors = {
    .base_path = "/api",
    .errors =
        {
            .message = "errors.0.message",
            .message_alt = "error_description",
            .code = "errors.0.code",
            .code_prefix = "CMMVC",
            .rules = err_rules,
        },
};

static void
test_error_paths(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/things", NULL, NULL, 400,
         "{\"errors\":[{\"message\":\"bad size\",\"code\":\"E1\"},{\"message\":\"x\"}]}", NULL, 0},
        {"POST", "/api/things", NULL, NULL, 400, "{\"error_description\":\"token expired\"}", NULL,
         0},
        {"POST", "/api/things", NULL, NULL, 422, "{\"errors\":[{\"code\":77}]}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_errors);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_call(f.r, &ep_post, NULL, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_HTTP);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.remote_code, "E1");
    assert_string_equal(err.msg, "HTTP 400 from POST /api/things: bad size [code E1]");
    perr_clear(&err);
    assert_int_equal(rest_call(f.r, &ep_post, NULL, NULL, NULL, &err), -1);
    assert_string_equal(err.remote_code, "");
    assert_string_equal(err.msg, "HTTP 400 from POST /api/things: token expired");
    perr_clear(&err);
    /* A numeric code, no message: the raw body stands in for the text. */
    assert_int_equal(rest_call(f.r, &ep_post, NULL, NULL, NULL, &err), -1);
    assert_string_equal(err.remote_code, "77");
    /* The code shows in that text already: no "[code ...]" suffix. */
    assert_string_equal(err.msg, "HTTP 422 from POST /api/things: {\"errors\":[{\"code\":77}]}");
    done(&f);
}

static const struct rest_dialect d_error_code = {
    .base_path = "/api",
    .errors = {.message = "error.message", .code = "error.code"},
};

static void
test_error_object_code(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/things", NULL, NULL, 409,
         "{\"error\":{\"code\":1234,\"message\":\"name in use\"}}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_error_code);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_call(f.r, &ep_post, NULL, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_CONFLICT);
    assert_int_equal(err.http_status, 409);
    assert_string_equal(err.remote_code, "1234");
    assert_string_equal(err.msg, "HTTP 409 from POST /api/things: name in use [code 1234]");
    done(&f);
}

static void
test_error_code_prefix_in_text(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/things", NULL, NULL, 500,
         "CMMVC5878E The virtual disk was not found in the pool.", NULL, 0},
        {"POST", "/api/things", NULL, NULL, 500, "CMMVC5753E The specified object does not exist.",
         NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_errors);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_call(f.r, &ep_post, NULL, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_HTTP);
    assert_int_equal(err.http_status, 500);
    assert_string_equal(err.remote_code, "CMMVC5878E");
    /* The code is in the text already: no "[code ...]" suffix. */
    assert_string_equal(err.msg, "HTTP 500 from POST /api/things: CMMVC5878E The virtual disk was "
                                 "not found in the pool.");
    perr_clear(&err);
    /* A rule by code; the status-400 text rule does not apply to a 500. */
    assert_int_equal(rest_call(f.r, &ep_post, NULL, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_string_equal(err.remote_code, "CMMVC5753E");
    done(&f);
}

static void
test_error_rules(void **state)
{
    static const struct fake_exchange ex[] = {
        /* by status and (case-insensitive) text */
        {"POST", "/api/things", NULL, NULL, 400,
         "{\"errors\":[{\"message\":\"Volume v1 does not exist\"}]}", NULL, 0},
        /* same text, another status: no rule */
        {"POST", "/api/things", NULL, NULL, 422,
         "{\"errors\":[{\"message\":\"Volume v1 does not exist\"}]}", NULL, 0},
        /* by code, whatever the status */
        {"POST", "/api/things", NULL, NULL, 400,
         "{\"errors\":[{\"message\":\"duplicate\",\"code\":\"E_DUP\"}]}", NULL, 0},
        /* by status and text, 500 */
        {"POST", "/api/things", NULL, NULL, 500,
         "{\"errors\":[{\"message\":\"Host is ALREADY MAPPED\"}]}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_errors);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_call(f.r, &ep_post, NULL, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.msg, "HTTP 400 from POST /api/things: Volume v1 does not exist");
    perr_clear(&err);
    assert_int_equal(rest_call(f.r, &ep_post, NULL, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_HTTP);
    perr_clear(&err);
    assert_int_equal(rest_call(f.r, &ep_post, NULL, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_CONFLICT);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.remote_code, "E_DUP");
    perr_clear(&err);
    assert_int_equal(rest_call(f.r, &ep_post, NULL, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_CONFLICT);
    assert_int_equal(err.http_status, 500);
    done(&f);
}

static void
test_error_rule_already_code(void **state)
{
    static const struct fake_exchange ex[] = {
        {"DELETE", "/api/things/v1", NULL, NULL, 400,
         "{\"errors\":[{\"message\":\"Volume v1 does not exist\"}]}", NULL, 0},
        {"POST", "/api/things", "{\"name\":\"v1\"}", NULL, 400,
         "{\"errors\":[{\"message\":\"duplicate\",\"code\":\"E_DUP\"}]}", NULL, 0},
        /* Another code is still an error for that endpoint. */
        {"POST", "/api/things", "{\"name\":\"v1\"}", NULL, 400,
         "{\"errors\":[{\"message\":\"Volume v1 does not exist\"}]}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};
    json_t *out = NULL;

    (void)state;
    make(&f, &d_errors);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(get(&f, &ep_delete, "v1", NULL, &err), 1);
    assert_false(perr_failed(&err));
    assert_int_equal(
        rest_call(f.r, &ep_post_dup_ok, NULL, json_pack("{s:s}", "name", "v1"), &out, &err), 1);
    assert_false(perr_failed(&err));
    assert_string_equal(json_string_value(rest_json_path(out, "errors.0.code")), "E_DUP");
    json_decref(out);
    assert_int_equal(
        rest_call(f.r, &ep_post_dup_ok, NULL, json_pack("{s:s}", "name", "v1"), NULL, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    done(&f);
}

static const struct rest_error_rule envelope_rules[] = {
    {.code = "VOLUME_NOT_FOUND", .to = PERR_NOT_FOUND},
    {0},
};

static const struct rest_dialect d_envelope = {
    .base_path = "/api",
    .errors =
        {
            .message = "error.message",
            .code = "error.code",
            .envelope = "error.code",
            .rules = envelope_rules,
        },
};

static void
test_error_envelope(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/things/a", NULL, NULL, 200,
         "{\"result\":null,\"error\":{\"code\":\"BAD_REQUEST\",\"message\":\"bad name\"},"
         "\"metadata\":{}}",
         NULL, 0},
        {"GET", "/api/things/b", NULL, NULL, 200,
         "{\"result\":null,\"error\":{\"code\":\"VOLUME_NOT_FOUND\",\"message\":\"no such "
         "volume\"}}",
         NULL, 0},
        {"GET", "/api/things/c", NULL, NULL, 200, "{\"result\":{\"id\":7},\"error\":null}", NULL,
         0},
        {"GET", "/api/things/d", NULL, NULL, 200,
         "{\"result\":{\"id\":8},\"error\":{\"code\":\"\"}}", NULL, 0},
        {"GET", "/api/things/e", NULL, NULL, 200, "{\"result\":[]}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};
    json_t *out = NULL;

    (void)state;
    make(&f, &d_envelope);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(get(&f, &ep_get, "a", &out, &err), -1);
    assert_null(out);
    /* No rule: an envelope error on a 2xx is the array's refusal. */
    assert_int_equal(err.code, PERR_REMOTE);
    assert_int_equal(err.http_status, 200);
    assert_string_equal(err.remote_code, "BAD_REQUEST");
    assert_string_equal(err.msg, "HTTP 200 from GET /api/things/a: bad name [code BAD_REQUEST]");
    perr_clear(&err);
    assert_int_equal(get(&f, &ep_get, "b", NULL, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    perr_clear(&err);
    assert_int_equal(get(&f, &ep_get, "c", &out, &err), 0);
    assert_int_equal(json_integer_value(rest_json_path(out, "result.id")), 7);
    json_decref(out);
    assert_int_equal(get(&f, &ep_get, "d", NULL, &err), 0);
    assert_int_equal(get(&f, &ep_get, "e", NULL, &err), 0);
    done(&f);
}

/* An envelope error mapped to PERR_AUTH means an expired session too. */
static const struct rest_error_rule envelope_auth_rules[] = {
    {.code = "SESSION_EXPIRED", .to = PERR_AUTH},
    {0},
};

static const struct rest_dialect d_envelope_session = {
    .base_path = "/api",
    .session = &ss_header,
    .errors =
        {
            .message = "error.message",
            .code = "error.code",
            .envelope = "error.code",
            .rules = envelope_auth_rules,
        },
};

static void
test_error_envelope_auth_relogs(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/session", NULL, NULL, 200, "{\"error\":null}", "X-Auth-Token: s1", 0},
        {"GET", "/api/things/a", NULL, "X-Auth-Token: s1", 200,
         "{\"error\":{\"code\":\"SESSION_EXPIRED\",\"message\":\"expired\"}}", NULL, 0},
        {"POST", "/api/session", NULL, NULL, 200, "{\"error\":null}", "X-Auth-Token: s2", 0},
        {"GET", "/api/things/a", NULL, "X-Auth-Token: s2", 200, "{\"result\":1,\"error\":null}",
         NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_envelope_session);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), 0);
    assert_int_equal(rest_logins(f.r), 2);
    done(&f);
}

/* ---- retry policies ---- */

static const struct rest_dialect d_retry_statuses = {
    .base_path = "/api",
    .retry = {.statuses = {500, 503}, .attempts = 2},
};

static void
test_retry_custom_statuses(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/things/a", NULL, NULL, 500, NULL, NULL, 0},
        {"GET", "/api/things/a", NULL, NULL, 503, NULL, NULL, 0},
        {"GET", "/api/things/a", NULL, NULL, 200, "{}", NULL, 0},
        /* 502 is not in the list */
        {"GET", "/api/things/b", NULL, NULL, 502, "gateway", NULL, 0},
        /* 429 neither, although the default retries it */
        {"GET", "/api/things/c", NULL, NULL, 429, NULL, NULL, 0},
        /* two retries, then the last answer */
        {"GET", "/api/things/d", NULL, NULL, 500, NULL, NULL, 0},
        {"GET", "/api/things/d", NULL, NULL, 500, NULL, NULL, 0},
        {"GET", "/api/things/d", NULL, NULL, 503, "down", NULL, 0},
    };
    struct opts o = {.attempts = 0}; /* the dialect's attempts */
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make_with(&f, &d_retry_statuses, &o);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), 0);
    assert_int_equal(get(&f, &ep_get, "b", NULL, &err), -1);
    assert_int_equal(err.code, PERR_HTTP);
    assert_int_equal(err.http_status, 502);
    assert_int_equal(fake_transport_calls(f.ft), 4);
    perr_clear(&err);
    assert_int_equal(get(&f, &ep_get, "c", NULL, &err), -1);
    assert_int_equal(err.http_status, 429);
    assert_int_equal(fake_transport_calls(f.ft), 5);
    perr_clear(&err);
    assert_int_equal(get(&f, &ep_get, "d", NULL, &err), -1);
    assert_int_equal(err.http_status, 503);
    assert_string_equal(err.msg, "HTTP 503 from GET /api/things/d: down");
    assert_int_equal(rest_requests(f.r), 8);
    done(&f);
}

static const struct rest_dialect d_retry_any = {
    .base_path = "/api",
    .retry = {.any_method = true},
};

static const struct rest_dialect d_retry_default = {.base_path = "/api"};

static void
test_retry_any_method(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/things", "{\"n\":1}", NULL, 503, NULL, NULL, 0},
        {"POST", "/api/things", "{\"n\":1}", NULL, 0, NULL, NULL, PERR_NETWORK},
        {"POST", "/api/things", "{\"n\":1}", NULL, 201, "{\"id\":1}", NULL, 0},
    };
    static const struct fake_exchange ex_default[] = {
        {"POST", "/api/things", "{\"n\":1}", NULL, 503, NULL, NULL, 0},
        {"POST", "/api/things", "{\"n\":1}", NULL, 0, NULL, NULL, PERR_NETWORK},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_retry_any);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_call(f.r, &ep_post, NULL, json_pack("{s:i}", "n", 1), NULL, &err), 0);
    done(&f);

    /* Without it a POST is tried once, on a status or a network error. */
    make(&f, &d_retry_default);
    FAKE_SCRIPT(f.ft, ex_default);
    assert_int_equal(rest_call(f.r, &ep_post, NULL, json_pack("{s:i}", "n", 1), NULL, &err), -1);
    assert_int_equal(err.code, PERR_HTTP);
    assert_int_equal(err.http_status, 503);
    assert_int_equal(fake_transport_calls(f.ft), 1);
    perr_clear(&err);
    assert_int_equal(rest_call(f.r, &ep_post, NULL, json_pack("{s:i}", "n", 1), NULL, &err), -1);
    assert_int_equal(err.code, PERR_NETWORK);
    assert_int_equal(fake_transport_calls(f.ft), 2);
    done(&f);
}

static const struct rest_dialect d_retry_text = {
    .base_path = "/api",
    .errors = {.message = "message"},
    .retry = {.text = "Service Unavailable"},
};

static void
test_retry_on_text(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/things/a", NULL, NULL, 400,
         "{\"message\":\"503 service unavailable, later\"}", NULL, 0},
        {"GET", "/api/things/a", NULL, NULL, 400, "Service Unavailable", NULL, 0},
        {"GET", "/api/things/a", NULL, NULL, 200, "{}", NULL, 0},
        {"GET", "/api/things/b", NULL, NULL, 400, "{\"message\":\"bad name\"}", NULL, 0},
        /* text does not make a POST safe to repeat */
        {"POST", "/api/things", NULL, NULL, 400, "{\"message\":\"Service Unavailable\"}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};

    (void)state;
    make(&f, &d_retry_text);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), 0);
    assert_int_equal(get(&f, &ep_get, "b", NULL, &err), -1);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.msg, "HTTP 400 from GET /api/things/b: bad name");
    perr_clear(&err);
    assert_int_equal(rest_call(f.r, &ep_post, NULL, NULL, NULL, &err), -1);
    assert_int_equal(err.http_status, 400);
    assert_int_equal(fake_transport_calls(f.ft), 5);
    done(&f);
}

static const struct rest_dialect d_success_409 = {
    .base_path = "/api",
    .retry = {.success_status = 409},
};

static void
test_retry_success_status(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/things", NULL, NULL, 409, "{\"message\":\"exists\"}", NULL, 0},
        {"GET", "/api/things/a", NULL, NULL, 409, NULL, NULL, 0},
        {"GET", "/api/things/b", NULL, NULL, 404, NULL, NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};
    json_t *out = NULL;

    (void)state;
    make(&f, &d_success_409);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_call(f.r, &ep_post, NULL, NULL, &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "message")), "exists");
    json_decref(out);
    assert_int_equal(get(&f, &ep_get, "a", NULL, &err), 0);
    assert_int_equal(get(&f, &ep_get, "b", NULL, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    done(&f);
}

/* ---- pagers ---- */

static const struct rest_dialect d_pager_token = {
    .base_path = "/api",
    .pager =
        {
            .kind = REST_PAGER_TOKEN,
            .items = "items",
            .token = "continuation_token",
            .more = "more_items_remaining",
            .param = "continuation_token",
        },
};

static void
test_pager_token(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/things?fields=name", NULL, NULL, 200,
         "{\"items\":[1,2],\"continuation_token\":\"c 1\",\"more_items_remaining\":true}", NULL, 0},
        {"GET", "/api/things?fields=name&continuation_token=c%201", NULL, NULL, 200,
         "{\"items\":[3],\"continuation_token\":\"c2\",\"more_items_remaining\":true}", NULL, 0},
        {"GET", "/api/things?fields=name&continuation_token=c2", NULL, NULL, 200,
         "{\"items\":[4],\"continuation_token\":\"c3\",\"more_items_remaining\":false}", NULL, 0},
        /* a page without a token ends too */
        {"GET", "/api/things?fields=name", NULL, NULL, 200,
         "{\"items\":[1],\"continuation_token\":\"z\"}", NULL, 0},
        {"GET", "/api/things?fields=name&continuation_token=z", NULL, NULL, 200, "{\"items\":[2]}",
         NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};
    json_t *out = NULL;
    json_t *want = json_pack("[iiii]", 1, 2, 3, 4);

    (void)state;
    make(&f, &d_pager_token);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_call(f.r, &ep_list, NULL, NULL, &out, &err), 0);
    assert_true(json_equal(json_object_get(out, "items"), want));
    json_decref(out);
    json_decref(want);
    assert_int_equal(rest_call(f.r, &ep_list, NULL, NULL, &out, &err), 0);
    assert_int_equal(json_array_size(json_object_get(out, "items")), 2);
    json_decref(out);
    done(&f);
}

static const struct rest_dialect d_pager_range = {
    .base_path = "/api",
    .pager =
        {
            .kind = REST_PAGER_RANGE,
            .param = "offset",
            .size_param = "limit",
            .size = 2,
        },
};

static void
test_pager_range(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/things?limit=2&offset=0", NULL, NULL, 206, "[{\"id\":1},{\"id\":2}]",
         "Content-Range: 0-1/5", 0},
        {"GET", "/api/things?limit=2&offset=2", NULL, NULL, 206, "[{\"id\":3},{\"id\":4}]",
         "Content-Range: 2-3/5", 0},
        {"GET", "/api/things?limit=2&offset=4", NULL, NULL, 200, "[{\"id\":5}]", NULL, 0},
        /* a 200 on the first page is everything */
        {"GET", "/api/things?fields=name&limit=2&offset=0", NULL, NULL, 200, "[{\"id\":1}]", NULL,
         0},
        /* the total is reached on a 206 */
        {"GET", "/api/things?limit=2&offset=0", NULL, NULL, 206, "[{\"id\":1},{\"id\":2}]",
         "Content-Range: 0-1/2", 0},
    };
    struct fixture f;
    struct perr err = {0};
    struct rest_request req = {.ep = &ep_list_bare};
    struct rest_reply reply = {0};
    json_t *out = NULL;

    (void)state;
    make(&f, &d_pager_range);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_do(f.r, &req, &reply, &err), 0);
    assert_int_equal(reply.status, 206);
    assert_string_equal(reply.range, "0-1/5");
    assert_int_equal(json_array_size(reply.json), 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(json_integer_value(rest_json_path(json_array_get(reply.json, i), "id")),
                         (json_int_t)i + 1);
    rest_reply_free(&reply);
    assert_int_equal(rest_call(f.r, &ep_list, NULL, NULL, &out, &err), 0);
    assert_int_equal(json_array_size(out), 1);
    json_decref(out);
    assert_int_equal(rest_call(f.r, &ep_list_bare, NULL, NULL, &out, &err), 0);
    assert_int_equal(json_array_size(out), 2);
    json_decref(out);
    done(&f);
}

static void
test_pager_range_bad_content_range(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/things?limit=2&offset=0", NULL, NULL, 206, "[1,2]",
         "Content-Range: bytes */5", 0},
        {"GET", "/api/things?limit=2&offset=0", NULL, NULL, 206, "[1,2]", "Content-Range: 3-1/5",
         0},
        {"GET", "/api/things?limit=2&offset=0", NULL, NULL, 206, "[1,2]", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};
    json_t *out = NULL;

    (void)state;
    make(&f, &d_pager_range);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_call(f.r, &ep_list_bare, NULL, NULL, &out, &err), -1);
    assert_null(out);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_string_equal(err.msg, "bad Content-Range 'bytes */5'");
    perr_clear(&err);
    assert_int_equal(rest_call(f.r, &ep_list_bare, NULL, NULL, &out, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_string_equal(err.msg, "bad Content-Range '3-1/5'");
    perr_clear(&err);
    /* A partial answer that does not say so is refused, never taken as all. */
    assert_int_equal(rest_call(f.r, &ep_list_bare, NULL, NULL, &out, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_string_equal(err.msg, "HTTP 206 without a Content-Range header");
    done(&f);
}

static const struct rest_dialect d_pager_pages = {
    .base_path = "/api",
    .pager =
        {
            .kind = REST_PAGER_PAGES,
            .items = "result",
            .param = "page",
            .size_param = "page_size",
            .size = 2,
            .total = "metadata.pages_total",
        },
};

static void
test_pager_pages(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/things?fields=name&page=1&page_size=2", NULL, NULL, 200,
         "{\"result\":[1,2],\"metadata\":{\"pages_total\":3,\"page\":1}}", NULL, 0},
        {"GET", "/api/things?fields=name&page_size=2&page=2", NULL, NULL, 200,
         "{\"result\":[3,4],\"metadata\":{\"pages_total\":3,\"page\":2}}", NULL, 0},
        {"GET", "/api/things?fields=name&page_size=2&page=3", NULL, NULL, 200,
         "{\"result\":[5],\"metadata\":{\"pages_total\":3,\"page\":3}}", NULL, 0},
        /* one page only */
        {"GET", "/api/things?page=1&page_size=2", NULL, NULL, 200,
         "{\"result\":[],\"metadata\":{\"pages_total\":1}}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};
    json_t *out = NULL;
    json_t *want = json_pack("[iiiii]", 1, 2, 3, 4, 5);

    (void)state;
    make(&f, &d_pager_pages);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_call(f.r, &ep_list, NULL, NULL, &out, &err), 0);
    assert_true(json_equal(json_object_get(out, "result"), want));
    /* The caller gets the first page's document around the merged items. */
    assert_int_equal(json_integer_value(rest_json_path(out, "metadata.page")), 1);
    json_decref(out);
    json_decref(want);
    assert_int_equal(rest_call(f.r, &ep_list_bare, NULL, NULL, &out, &err), 0);
    assert_int_equal(json_array_size(json_object_get(out, "result")), 0);
    json_decref(out);
    done(&f);
}

static const struct rest_dialect d_pager_link = {
    .base_path = "/api",
    .pager = {.kind = REST_PAGER_NEXT_LINK, .items = "records", .link = "_links.next.href"},
};

static void
test_pager_next_link(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/things?fields=name", NULL, NULL, 200,
         "{\"records\":[{\"n\":1}],\"num_records\":1,"
         "\"_links\":{\"next\":{\"href\":\"/api/things?start=abc&fields=name\"}}}",
         NULL, 0},
        {"GET", "/api/things?start=abc&fields=name", NULL, NULL, 200,
         "{\"records\":[{\"n\":2},{\"n\":3}],\"num_records\":2,\"_links\":{}}", NULL, 0},
        /* a link off the array is refused */
        {"GET", "/api/things?fields=name", NULL, NULL, 200,
         "{\"records\":[],\"_links\":{\"next\":{\"href\":\"https://elsewhere.example/x\"}}}", NULL,
         0},
    };
    struct fixture f;
    struct perr err = {0};
    json_t *out = NULL;

    (void)state;
    make(&f, &d_pager_link);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_call(f.r, &ep_list, NULL, NULL, &out, &err), 0);
    assert_int_equal(json_array_size(json_object_get(out, "records")), 3);
    assert_int_equal(json_integer_value(rest_json_path(out, "records.2.n")), 3);
    assert_int_equal(json_integer_value(json_object_get(out, "num_records")), 3);
    json_decref(out);
    assert_int_equal(rest_call(f.r, &ep_list, NULL, NULL, &out, &err), -1);
    assert_null(out);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_string_equal(err.msg, "bad or endless pagination from GET /things");
    done(&f);
}

/* ---- async jobs ---- */

static const struct rest_endpoint ep_job = {
    .name = "job-get",
    .method = "GET",
    .path = "/jobs/{id}",
};

static const char *const job_done[] = {"completed", NULL};
static const char *const job_failed[] = {"Failed", "Aborted", NULL};

static const struct rest_job job_table = {
    .get = &ep_job,
    .id_path = "jobId",
    .state_path = "status",
    .done = job_done,
    .failed_path = "state",
    .failed = job_failed,
    .error_path = "error.message",
    .progress_path = "progress",
    .first_ms = 1,
    .max_ms = 2,
    .timeout_s = 10,
};

struct progress {
    unsigned pct[8];
    size_t n;
};

static void
record_progress(void *arg, unsigned pct)
{
    struct progress *p = arg;

    assert_true(p->n < 8);
    p->pct[p->n++] = pct;
}

static void
test_job_running_then_done(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/jobs/7", NULL, NULL, 200, "{\"status\":\"Running\",\"progress\":10}", NULL,
         0},
        {"GET", "/api/jobs/7", NULL, NULL, 200, "{\"status\":\"Running\",\"progress\":60.5}", NULL,
         0},
        {"GET", "/api/jobs/7", NULL, NULL, 200, "{\"status\":\"Running\",\"progress\":60}", NULL,
         0},
        {"GET", "/api/jobs/7", NULL, NULL, 200,
         "{\"status\":\"Completed\",\"progress\":100,\"affected\":[\"/v/1\"]}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};
    struct progress p = {0};
    json_t *accepted = json_pack("{s:i,s:s}", "jobId", 7, "status", "Initializing");
    json_t *final = NULL;

    (void)state;
    make(&f, &d_retry_default);
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_job_wait(f.r, &job_table, accepted, record_progress, &p, &final, &err),
                     0);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.pct[0], 10);
    assert_int_equal(p.pct[1], 60);
    assert_int_equal(p.pct[2], 100);
    assert_string_equal(json_string_value(rest_json_path(final, "affected.0")), "/v/1");
    json_decref(final);
    json_decref(accepted);
    done(&f);
}

static void
test_job_already_done(void **state)
{
    struct fixture f;
    struct perr err = {0};
    json_t *accepted = json_pack("{s:s,s:s}", "jobId", "j1", "status", "COMPLETED");

    (void)state;
    make(&f, &d_retry_default);
    assert_int_equal(rest_job_wait(f.r, &job_table, accepted, NULL, NULL, NULL, &err), 0);
    assert_int_equal(fake_transport_calls(f.ft), 0);
    json_decref(accepted);
    done(&f);
}

static void
test_job_failed(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/jobs/j-1", NULL, NULL, 200,
         "{\"status\":\"Completed\",\"state\":\"Failed\",\"error\":{\"message\":\"pool full\"}}",
         NULL, 0},
        {"GET", "/api/jobs/j-2", NULL, NULL, 200, "{\"state\":\"aborted\",\"error\":{\"code\":5}}",
         NULL, 0},
        {"GET", "/api/jobs/j-3", NULL, NULL, 404, "{}", NULL, 0},
    };
    struct fixture f;
    struct perr err = {0};
    json_t *final = NULL;
    json_t *a1 = json_pack("{s:s}", "jobId", "j-1");
    json_t *a2 = json_pack("{s:s}", "jobId", "j-2");
    json_t *a3 = json_pack("{s:s}", "jobId", "j-3");
    struct rest_job raw_error = job_table;

    (void)state;
    raw_error.error_path = "error";
    make(&f, &d_retry_default);
    FAKE_SCRIPT(f.ft, ex);
    /* failed wins over done */
    assert_int_equal(rest_job_wait(f.r, &job_table, a1, NULL, NULL, &final, &err), -1);
    assert_null(final);
    assert_int_equal(err.code, PERR_REMOTE);
    assert_string_equal(err.msg, "job j-1 failed: pool full");
    perr_clear(&err);
    assert_int_equal(rest_job_wait(f.r, &raw_error, a2, NULL, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_REMOTE);
    assert_string_equal(err.msg, "job j-2 failed: {\"code\":5}");
    perr_clear(&err);
    /* a poll that fails ends the wait with its error */
    assert_int_equal(rest_job_wait(f.r, &job_table, a3, NULL, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    json_decref(a1);
    json_decref(a2);
    json_decref(a3);
    done(&f);
}

static void
test_job_without_id(void **state)
{
    struct fixture f;
    struct perr err = {0};
    json_t *accepted = json_pack("{s:s}", "status", "Running");
    json_t *final = json_object(); /* overwritten with NULL */
    json_t *keep = final;

    (void)state;
    make(&f, &d_retry_default);
    assert_int_equal(rest_job_wait(f.r, &job_table, accepted, NULL, NULL, &final, &err), -1);
    assert_null(final);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_string_equal(err.msg, "the array answered without a job id (jobId)");
    assert_int_equal(fake_transport_calls(f.ft), 0);
    perr_clear(&err);
    assert_int_equal(rest_job_wait(f.r, &job_table, NULL, NULL, NULL, NULL, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    json_decref(accepted);
    json_decref(keep);
    done(&f);
}

/* A job that never ends: the number of polls depends on the clock, so this
 * transport answers "Running" to any number of them. */
static unsigned job_polls;

static int
running_perform(void *impl, const struct http_req *req, struct http_resp *resp, struct perr *err)
{
    (void)impl;
    assert_string_equal(req->method, "GET");
    assert_string_equal(req->url, "https://array.example/api/jobs/9");
    job_polls++;
    resp->status = 200;
    return buf_adds(&resp->body, "{\"status\":\"Running\"}", err);
}

static void
test_job_timeout(void **state)
{
    struct http_transport t = {.perform = running_perform, .free = spy_free_nothing};
    struct rest_config cfg = {
        .base_url = "https://array.example",
        .timeout_s = 10,
        .transport = &t,
    };
    struct rest_job quick = job_table;
    struct rest *r = NULL;
    struct perr err = {0};
    json_t *accepted = json_pack("{s:i}", "jobId", 9);
    int64_t start;
    int64_t took;

    (void)state;
    quick.timeout_s = 1;
    quick.first_ms = 20;
    quick.max_ms = 100;
    job_polls = 0;
    assert_int_equal(rest_new(&d_retry_default, &cfg, &r, &err), 0);
    start = mono_now_ms();
    assert_int_equal(rest_job_wait(r, &quick, accepted, NULL, NULL, NULL, &err), -1);
    took = mono_now_ms() - start;
    assert_int_equal(err.code, PERR_TIMEOUT);
    assert_string_equal(err.msg, "job 9 not done after 1s (state 'Running')");
    assert_true(took >= 1000 && took < 5000);
    assert_true(job_polls >= 5 && job_polls <= 20);
    json_decref(accepted);
    rest_free(r);
}

/* ---- rest_json_path ---- */

static void
test_json_path(void **state)
{
    json_t *doc = NULL;
    json_t *arr = json_pack("[{s:s},{s:i}]", "id", "first", "id", 2);
    json_error_t jerr;

    (void)state;
    doc = json_loads("{\"a\":{\"b\":[{\"c\":1},{\"c\":\"x\"}],\"n\":null},\"arr\":[10,20],"
                     "\"0\":\"zero\"}",
                     0, &jerr);
    assert_non_null(doc);
    assert_int_equal(json_integer_value(rest_json_path(doc, "a.b.0.c")), 1);
    assert_string_equal(json_string_value(rest_json_path(doc, "a.b.1.c")), "x");
    assert_int_equal(json_integer_value(rest_json_path(doc, "arr.1")), 20);
    assert_true(json_is_array(rest_json_path(doc, "a.b")));
    assert_true(json_is_null(rest_json_path(doc, "a.n")));
    /* on an object a number is a key */
    assert_string_equal(json_string_value(rest_json_path(doc, "0")), "zero");
    assert_string_equal(json_string_value(rest_json_path(arr, "0.id")), "first");
    assert_int_equal(json_integer_value(rest_json_path(arr, "1.id")), 2);
    /* the empty path is the root */
    assert_ptr_equal(rest_json_path(doc, ""), doc);

    assert_null(rest_json_path(doc, NULL));
    assert_null(rest_json_path(NULL, "a"));
    assert_null(rest_json_path(doc, "missing"));
    assert_null(rest_json_path(doc, "a.missing.c"));
    assert_null(rest_json_path(doc, "a.b.2"));
    assert_null(rest_json_path(doc, "a.b.-1"));
    assert_null(rest_json_path(doc, "a.b.x"));
    assert_null(rest_json_path(doc, "a.b.1x"));
    assert_null(rest_json_path(doc, "a..b"));
    assert_null(rest_json_path(doc, "a.b.0.c.d")); /* below a scalar */
    assert_null(rest_json_path(doc, "a.n.x"));     /* below null */
    assert_null(rest_json_path(arr, "id"));
    json_decref(doc);
    json_decref(arr);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_token_from_header),
        cmocka_unit_test(test_session_token_from_json),
        cmocka_unit_test(test_session_token_from_json_array),
        cmocka_unit_test(test_session_token_from_string_body),
        cmocka_unit_test(test_session_token_from_cookie),
        cmocka_unit_test(test_session_login_headers),
        cmocka_unit_test(test_session_login_header_refuses_line_break),
        cmocka_unit_test(test_session_login_json_body),
        cmocka_unit_test(test_session_keep_basic),
        cmocka_unit_test(test_session_login_extra_headers),
        cmocka_unit_test(test_session_csrf_echo),
        cmocka_unit_test(test_relogin_on_401_only_by_default),
        cmocka_unit_test(test_relogin_on_403_when_asked),
        cmocka_unit_test(test_relogin_once_per_call),
        cmocka_unit_test(test_login_without_token_is_protocol_error),
        cmocka_unit_test(test_login_refused_is_auth_error),
        cmocka_unit_test(test_session_lifetime_renewal),
        cmocka_unit_test(test_logout),
        cmocka_unit_test(test_logout_expired_session),
        cmocka_unit_test(test_lock_held_around_exchanges),
        cmocka_unit_test(test_error_paths),
        cmocka_unit_test(test_error_object_code),
        cmocka_unit_test(test_error_code_prefix_in_text),
        cmocka_unit_test(test_error_rules),
        cmocka_unit_test(test_error_rule_already_code),
        cmocka_unit_test(test_error_envelope),
        cmocka_unit_test(test_error_envelope_auth_relogs),
        cmocka_unit_test(test_retry_custom_statuses),
        cmocka_unit_test(test_retry_any_method),
        cmocka_unit_test(test_retry_on_text),
        cmocka_unit_test(test_retry_success_status),
        cmocka_unit_test(test_pager_token),
        cmocka_unit_test(test_pager_range),
        cmocka_unit_test(test_pager_range_bad_content_range),
        cmocka_unit_test(test_pager_pages),
        cmocka_unit_test(test_pager_next_link),
        cmocka_unit_test(test_job_running_then_done),
        cmocka_unit_test(test_job_already_done),
        cmocka_unit_test(test_job_failed),
        cmocka_unit_test(test_job_without_id),
        cmocka_unit_test(test_job_timeout),
        cmocka_unit_test(test_json_path),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
