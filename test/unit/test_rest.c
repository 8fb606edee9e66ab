/*
 * lib/rest.c against the scripted transport: template escaping, auth,
 * re-login, retries, status mapping, vendor errors, pagination.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/jsonx.h"
#include "lib/rest.h"
#include "test/fake/fake_transport.h"

#define HOSTILE     "a/b c&d?e"
#define HOSTILE_ENC "a%2Fb%20c%26d%3Fe"

/* ---- a small test dialect: session header x-token, errors {"err":{"text","id"}} ---- */

static int login_calls;

static const struct rest_endpoint ep_login = {
    .name = "login",
    .method = "POST",
    .path = "/login",
    .ok = {200},
    .flags = REST_F_NO_AUTH,
};

static int
t_login(struct rest *r, struct perr *err)
{
    struct rest_request req = {.ep = &ep_login, .want_header = "x-token"};
    struct rest_reply reply = {0};
    int rc = -1;

    login_calls++;
    if (rest_do(r, &req, &reply, err) < 0)
        goto out;
    if (reply.header == NULL) {
        perr_set(err, PERR_PROTOCOL, "no x-token");
        goto out;
    }
    rc = rest_set_session(r, reply.header, err);
out:
    rest_reply_free(&reply);
    return rc;
}

static int
t_auth_headers(struct rest *r, struct strv *hdrs, struct perr *err)
{
    return strv_addf(hdrs, err, "x-token: %s", rest_session(r));
}

static void
t_error_from_body(json_t *body, const char *raw, struct rest_error *e)
{
    json_t *eo = json_object_get(body, "err");

    (void)raw;
    if (jsonx_string_or(eo, "text", NULL) != NULL)
        snprintf(e->text, sizeof(e->text), "%s", jsonx_string_or(eo, "text", ""));
    if (jsonx_string_or(eo, "id", NULL) != NULL)
        snprintf(e->remote_code, sizeof(e->remote_code), "%s", jsonx_string_or(eo, "id", ""));
}

/* A session re-made on 401 and on 403 (PowerStore's signal). */
static const struct rest_session t_session = {
    .relogin = REST_RELOGIN_401 | REST_RELOGIN_403,
};

static const struct rest_dialect dialect_session = {
    .base_path = "/api",
    .session = &t_session,
    .pager = {.kind = REST_PAGER_NEXT_LINK, .items = "records", .link = "next.href"},
    .login = t_login,
    .auth_headers = t_auth_headers,
    .error_from_body = t_error_from_body,
};

static const struct rest_dialect dialect_basic = {
    .base_path = "/api",
    .basic_auth = true,
    .error_from_body = t_error_from_body,
};

static const struct rest_endpoint ep_get = {
    .name = "thing-get",
    .method = "GET",
    .path = "/things/{name}",
    .query = "name={name}&fields=uuid",
};

static const struct rest_endpoint ep_post = {
    .name = "thing-create",
    .method = "POST",
    .path = "/things",
    .ok = {201},
    .already = {409},
};

static const struct rest_endpoint ep_post_retry = {
    .name = "thing-copy",
    .method = "POST",
    .path = "/things",
    .ok = {200},
    .flags = REST_F_RETRY,
};

static const struct rest_endpoint ep_delete = {
    .name = "thing-delete",
    .method = "DELETE",
    .path = "/things/{name}",
    .ok = {200},
    .already_code = PERR_NOT_FOUND,
};

static const struct rest_endpoint ep_list = {
    .name = "thing-list",
    .method = "GET",
    .path = "/things",
    .flags = REST_F_PAGED,
};

struct fixture {
    struct fake_transport *ft;
    struct rest *r;
};

static struct fixture
make(const struct rest_dialect *d)
{
    struct fixture f = {.ft = fake_transport_new()};
    struct http_transport t = fake_transport_http(f.ft);
    struct rest_config cfg = {
        .base_url = "https://127.0.0.1:8443/",
        .array = "127.0.0.1",
        .username = "user",
        .password = "pass",
        .timeout_s = 10,
        .retry_initial_ms = 1,
        .retry_attempts = 2,
        .transport = &t,
    };
    struct perr err = {0};

    login_calls = 0;
    assert_int_equal(rest_new(d, &cfg, &f.r, &err), 0);
    assert_null(t.perform); /* moved */
    return f;
}

static void
done(struct fixture *f)
{
    fake_transport_verify(f->ft);
    rest_free(f->r);
    fake_transport_free(f->ft);
}

/* ---- templates ---- */

static void
test_expand_escaping(void **state)
{
    struct buf b = {0};
    struct perr err = {0};
    const struct rest_var vars[] = {{"name", HOSTILE}, {"id", "x"}, {"none", NULL}, {NULL, NULL}};

    (void)state;
    assert_int_equal(rest_expand("/luns/{name}/maps/{id}", vars, false, &b, &err), 0);
    assert_string_equal(buf_cstr(&b), "/luns/" HOSTILE_ENC "/maps/x");
    buf_reset(&b);
    assert_int_equal(rest_expand("name={name}&fields=", vars, true, &b, &err), 0);
    assert_string_equal(buf_cstr(&b), "name=" HOSTILE_ENC "&fields=");
    buf_reset(&b);
    /* Items whose variable is NULL vanish, wherever they are. */
    assert_int_equal(rest_expand("a={none}&b={id}&c={none}&d=1", vars, true, &b, &err), 0);
    assert_string_equal(buf_cstr(&b), "b=x&d=1");
    buf_reset(&b);
    assert_int_equal(rest_expand("a={none}", vars, true, &b, &err), 0);
    assert_string_equal(buf_cstr(&b), "");
    buf_reset(&b);
    /* Unicode and percent signs are escaped too. */
    assert_int_equal(rest_expand("/v/{x}",
                                 (struct rest_var[]){{"x", "50%\xc3\xa9+'"}, {NULL, NULL}}, false,
                                 &b, &err),
                     0);
    assert_string_equal(buf_cstr(&b), "/v/50%25%C3%A9%2B%27");
    buf_reset(&b);

    assert_int_equal(rest_expand("/luns/{missing}", vars, false, &b, &err), -1);
    assert_int_equal(err.code, PERR_INTERNAL);
    perr_clear(&err);
    assert_int_equal(rest_expand("/luns/{none}", vars, false, &b, &err), -1);
    assert_int_equal(err.code, PERR_INTERNAL);
    perr_clear(&err);
    assert_int_equal(rest_expand("/luns/{name", vars, false, &b, &err), -1);
    assert_int_equal(err.code, PERR_INTERNAL);
    buf_free(&b);
}

static void
test_hostile_name_on_the_wire(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/login", NULL, NULL, 200, "{}", "x-token: s1", 0},
        {"GET", "/api/things/" HOSTILE_ENC "?name=" HOSTILE_ENC "&fields=uuid", NULL, "x-token: s1",
         200, "{\"uuid\":\"u1\"}", NULL, 0},
    };
    struct fixture f = make(&dialect_session);
    struct perr err = {0};
    json_t *out = NULL;
    unsigned long before = rest_request_count();

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_call(f.r, &ep_get, (struct rest_var[]){{"name", HOSTILE}, {NULL, NULL}},
                               NULL, &out, &err),
                     0);
    assert_string_equal(jsonx_string_or(out, "uuid", ""), "u1");
    assert_int_equal(login_calls, 1); /* lazy login before the first call */
    assert_int_equal(rest_requests(f.r), 2);
    assert_int_equal(rest_request_count() - before, 2);
    json_decref(out);
    done(&f);
}

static void
test_basic_auth_and_body(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/things", "{\"name\":\"" HOSTILE "\",\"n\":1}",
         "Authorization: Basic dXNlcjpwYXNz", 201, "{\"uuid\":\"u2\"}", NULL, 0},
    };
    struct fixture f = make(&dialect_basic);
    struct perr err = {0};
    json_t *out = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_call(f.r, &ep_post, NULL,
                               json_pack("{s:i, s:s}", "n", 1, "name", HOSTILE), &out, &err),
                     0);
    assert_string_equal(jsonx_string_or(out, "uuid", ""), "u2");
    json_decref(out);
    done(&f);
}

/* ---- sessions ---- */

static void
test_relogin_once_on_401(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/login", NULL, NULL, 200, "{}", "x-token: s1", 0},
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, "x-token: s1", 401,
         "{\"err\":{\"text\":\"session expired\"}}", NULL, 0},
        {"POST", "/api/login", NULL, NULL, 200, "{}", "x-token: s2", 0},
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, "x-token: s2", 200, "{\"uuid\":\"u\"}",
         NULL, 0},
    };
    struct fixture f = make(&dialect_session);
    struct perr err = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_login(f.r, &err), 0);
    assert_int_equal(
        rest_call(f.r, &ep_get, (struct rest_var[]){{"name", "x"}, {NULL, NULL}}, NULL, NULL, &err),
        0);
    assert_int_equal(login_calls, 2);
    assert_string_equal(rest_session(f.r), "s2");
    done(&f);
}

static void
test_relogin_on_vendor_signal(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/login", NULL, NULL, 200, "{}", "x-token: s1", 0},
        {"DELETE", "/api/things/x", NULL, "x-token: s1", 403, NULL, NULL, 0},
        {"POST", "/api/login", NULL, NULL, 200, "{}", "x-token: s2", 0},
        {"DELETE", "/api/things/x", NULL, "x-token: s2", 200, NULL, NULL, 0},
    };
    struct fixture f = make(&dialect_session);
    struct perr err = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_call(f.r, &ep_delete, (struct rest_var[]){{"name", "x"}, {NULL, NULL}},
                               NULL, NULL, &err),
                     0);
    assert_int_equal(login_calls, 2);
    done(&f);
}

static void
test_401_twice_is_auth_error(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/login", NULL, NULL, 200, "{}", "x-token: s1", 0},
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 401, "{\"err\":{\"text\":\"no\"}}",
         NULL, 0},
        {"POST", "/api/login", NULL, NULL, 200, "{}", "x-token: s2", 0},
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 401,
         "{\"err\":{\"text\":\"still no\",\"id\":\"7\"}}", NULL, 0},
    };
    struct fixture f = make(&dialect_session);
    struct perr err = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(
        rest_call(f.r, &ep_get, (struct rest_var[]){{"name", "x"}, {NULL, NULL}}, NULL, NULL, &err),
        -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_int_equal(err.http_status, 401);
    assert_string_equal(err.remote_code, "7");
    assert_string_equal(err.msg, "HTTP 401 from GET /api/things/x: still no [code 7]");
    assert_int_equal(login_calls, 2);
    done(&f);
}

static void
test_login_failure(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/login", NULL, NULL, 403, "{\"err\":{\"text\":\"bad token\"}}", NULL, 0},
    };
    struct fixture f = make(&dialect_session);
    struct perr err = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(
        rest_call(f.r, &ep_get, (struct rest_var[]){{"name", "x"}, {NULL, NULL}}, NULL, NULL, &err),
        -1);
    assert_int_equal(err.code, PERR_AUTH);
    assert_non_null(strstr(err.msg, "bad token"));
    done(&f);
}

/* ---- retries ---- */

static void
test_503_then_200(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 503, "busy", NULL, 0},
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 429, NULL, NULL, 0},
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 200, "{\"uuid\":\"u\"}", NULL, 0},
    };
    struct fixture f = make(&dialect_basic);
    struct perr err = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(
        rest_call(f.r, &ep_get, (struct rest_var[]){{"name", "x"}, {NULL, NULL}}, NULL, NULL, &err),
        0);
    done(&f);
}

static void
test_network_error_then_200(void **state)
{
    static const struct fake_exchange ex[] = {
        {"DELETE", "/api/things/x", NULL, NULL, 0, NULL, NULL, PERR_NETWORK},
        {"DELETE", "/api/things/x", NULL, NULL, 200, "", NULL, 0},
    };
    struct fixture f = make(&dialect_basic);
    struct perr err = {0};
    json_t *out = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_call(f.r, &ep_delete, (struct rest_var[]){{"name", "x"}, {NULL, NULL}},
                               NULL, &out, &err),
                     0);
    assert_null(out); /* empty body */
    done(&f);
}

/* retry.methods narrows retries to reads; reply.error keeps rest's reading of
 * the refusal for callers that phrase their own message (the Kubernetes
 * client). */
static const char *const t_reads_only[] = {"GET", NULL};

static const struct rest_dialect dialect_reads_only = {
    .base_path = "/api",
    .errors = {.message = "message", .code = "reason"},
    .retry = {.methods = t_reads_only},
};

static void
test_retry_methods_and_reply_error(void **state)
{
    static const struct fake_exchange ex[] = {
        {"DELETE", "/api/things/x", NULL, NULL, 0, NULL, NULL, PERR_NETWORK},
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 503, "{}", NULL, 0},
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 503, "{}", NULL, 0},
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 503,
         "{\"message\":\"etcd is busy\",\"reason\":\"ServiceUnavailable\"}", NULL, 0},
    };
    struct fixture f = make(&dialect_reads_only);
    struct rest_var vars[] = {{"name", "x"}, {NULL, NULL}};
    struct rest_request del = {.ep = &ep_delete, .vars = vars};
    struct rest_request get = {.ep = &ep_get, .vars = vars};
    struct rest_reply reply = {0};
    struct perr err = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    /* A DELETE is idempotent by default, but not in this dialect's list. */
    assert_int_equal(rest_do(f.r, &del, &reply, &err), -1);
    assert_int_equal(err.code, PERR_NETWORK);
    assert_int_equal(reply.error.status, 0);
    assert_int_equal(fake_transport_calls(f.ft), 1);
    rest_reply_free(&reply);
    perr_clear(&err);
    assert_int_equal(rest_do(f.r, &get, &reply, &err), -1);
    assert_int_equal(fake_transport_calls(f.ft), 4);
    assert_int_equal(err.code, PERR_HTTP);
    assert_int_equal(reply.error.status, 503);
    assert_int_equal(reply.error.code, PERR_HTTP);
    assert_string_equal(reply.error.text, "etcd is busy");
    assert_string_equal(reply.error.remote_code, "ServiceUnavailable");
    assert_null(reply.json);
    rest_reply_free(&reply);
    done(&f);
}

static void
test_retries_exhausted(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 500, "{\"err\":{\"text\":\"a\"}}",
         NULL, 0},
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 502, "{\"err\":{\"text\":\"b\"}}",
         NULL, 0},
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 503, "{\"err\":{\"text\":\"c\"}}",
         NULL, 0},
    };
    struct fixture f = make(&dialect_basic);
    struct perr err = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(
        rest_call(f.r, &ep_get, (struct rest_var[]){{"name", "x"}, {NULL, NULL}}, NULL, NULL, &err),
        -1);
    assert_int_equal(err.code, PERR_HTTP);
    assert_int_equal(err.http_status, 503);
    assert_string_equal(err.msg, "HTTP 503 from GET /api/things/x: c");
    done(&f);
}

static void
test_post_not_retried_unless_marked(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/things", "{}", NULL, 503, "<html>busy</html>", NULL, 0},
        {"POST", "/api/things", "{\"a\":1}", NULL, 503, NULL, NULL, 0},
        {"POST", "/api/things", "{\"a\":1}", NULL, 200, "{}", NULL, 0},
    };
    struct fixture f = make(&dialect_basic);
    struct perr err = {0};

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_call(f.r, &ep_post, NULL, json_object(), NULL, &err), -1);
    assert_int_equal(err.code, PERR_HTTP);
    assert_int_equal(err.http_status, 503);
    assert_string_equal(err.msg, "HTTP 503 from POST /api/things: <html>busy</html>");
    perr_clear(&err);
    /* The same body is sent again on the retry. */
    assert_int_equal(rest_call(f.r, &ep_post_retry, NULL, json_pack("{s:i}", "a", 1), NULL, &err),
                     0);
    done(&f);
}

/* ---- status mapping ---- */

static void
test_status_mapping(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 404,
         "{\"err\":{\"text\":\"entry doesn't exist\",\"id\":\"4\"}}", NULL, 0},
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 409,
         "{\"err\":{\"text\":\"duplicate\",\"id\":\"1254977\"}}", NULL, 0},
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 403, "{}", NULL, 0},
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 400, "{\"err\":{\"text\":\"bad\"}}",
         NULL, 0},
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 204, NULL, NULL, 0},
    };
    static const struct {
        enum perr_code code;
        long status;
        const char *msg;
    } want[] = {
        {PERR_NOT_FOUND, 404, "HTTP 404 from GET /api/things/x: entry doesn't exist [code 4]"},
        {PERR_CONFLICT, 409, "HTTP 409 from GET /api/things/x: duplicate [code 1254977]"},
        {PERR_AUTH, 403, "HTTP 403 from GET /api/things/x: {}"},
        {PERR_HTTP, 400, "HTTP 400 from GET /api/things/x: bad"},
    };
    struct fixture f = make(&dialect_basic);
    json_t *out = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        struct perr err = {0};

        assert_int_equal(rest_call(f.r, &ep_get, (struct rest_var[]){{"name", "x"}, {NULL, NULL}},
                                   NULL, &out, &err),
                         -1);
        assert_null(out);
        assert_int_equal(err.code, want[i].code);
        assert_int_equal(err.http_status, want[i].status);
        assert_string_equal(err.msg, want[i].msg);
    }
    {
        struct perr err = {0};

        /* Any 2xx is accepted when the endpoint lists none. */
        assert_int_equal(rest_call(f.r, &ep_get, (struct rest_var[]){{"name", "x"}, {NULL, NULL}},
                                   NULL, &out, &err),
                         0);
        assert_null(out);
    }
    done(&f);
}

static void
test_already_done(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/things", "{\"name\":\"x\"}", NULL, 409,
         "{\"err\":{\"text\":\"duplicate entry\",\"id\":\"1\"}}", NULL, 0},
        {"DELETE", "/api/things/x", NULL, NULL, 404, "{\"err\":{\"text\":\"gone\"}}", NULL, 0},
        {"DELETE", "/api/things/x", NULL, NULL, 400, "{\"err\":{\"text\":\"other\"}}", NULL, 0},
    };
    struct fixture f = make(&dialect_basic);
    struct perr err = {0};
    json_t *out = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_call(f.r, &ep_post, NULL, json_pack("{s:s}", "name", "x"), &out, &err),
                     1);
    assert_non_null(out); /* the error body, for the curious */
    json_decref(out);
    assert_int_equal(rest_call(f.r, &ep_delete, (struct rest_var[]){{"name", "x"}, {NULL, NULL}},
                               NULL, NULL, &err),
                     1);
    assert_int_equal(rest_call(f.r, &ep_delete, (struct rest_var[]){{"name", "x"}, {NULL, NULL}},
                               NULL, NULL, &err),
                     -1);
    assert_int_equal(err.code, PERR_HTTP);
    done(&f);
}

static void
test_malformed_json(void **state)
{
    static const struct fake_exchange ex[] = {
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 200, "{\"records\": [", NULL, 0},
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 500, "not json at all", NULL, 0},
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 500, "not json at all", NULL, 0},
        {"GET", "/api/things/x?name=x&fields=uuid", NULL, NULL, 500, "not json at all", NULL, 0},
    };
    struct fixture f = make(&dialect_basic);
    struct perr err = {0};
    json_t *out = NULL;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(
        rest_call(f.r, &ep_get, (struct rest_var[]){{"name", "x"}, {NULL, NULL}}, NULL, &out, &err),
        -1);
    assert_null(out);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_non_null(strstr(err.msg, "reply to GET /api/things/x: malformed JSON"));
    perr_clear(&err);
    /* A non-JSON error body still reaches the message. */
    assert_int_equal(
        rest_call(f.r, &ep_get, (struct rest_var[]){{"name", "x"}, {NULL, NULL}}, NULL, &out, &err),
        -1);
    assert_int_equal(err.code, PERR_HTTP);
    assert_string_equal(err.msg, "HTTP 500 from GET /api/things/x: not json at all");
    done(&f);
}

static void
test_pagination(void **state)
{
    static const struct fake_exchange ex[] = {
        {"POST", "/api/login", NULL, NULL, 200, "{}", "x-token: s1", 0},
        {"GET", "/api/things", NULL, NULL, 200,
         "{\"records\":[{\"n\":1},{\"n\":2}],\"num_records\":2,"
         "\"next\":{\"href\":\"/api/things?start=3\"}}",
         NULL, 0},
        {"GET", "/api/things?start=3", NULL, "x-token: s1", 200,
         "{\"records\":[{\"n\":3}],\"num_records\":1,\"next\":{\"href\":\"/api/things?start=4\"}}",
         NULL, 0},
        {"GET", "/api/things?start=4", NULL, NULL, 200, "{\"records\":[],\"num_records\":0}", NULL,
         0},
        {"GET", "/api/things", NULL, NULL, 200,
         "{\"records\":[],\"next\":{\"href\":\"//evil.example/x\"}}", NULL, 0},
    };
    struct fixture f = make(&dialect_session);
    struct perr err = {0};
    json_t *out = NULL;
    json_t *want;

    (void)state;
    FAKE_SCRIPT(f.ft, ex);
    assert_int_equal(rest_call(f.r, &ep_list, NULL, NULL, &out, &err), 0);
    want = json_loads("{\"records\":[{\"n\":1},{\"n\":2},{\"n\":3}],\"num_records\":3,"
                      "\"next\":{\"href\":\"/api/things?start=3\"}}",
                      0, NULL);
    assert_true(json_equal(out, want));
    json_decref(want);
    json_decref(out);
    /* A next link that leaves the host is refused. */
    assert_int_equal(rest_call(f.r, &ep_list, NULL, NULL, &out, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_null(out);
    done(&f);
}

static void
test_unexpected_request_is_reported(void **state)
{
    struct fixture f = make(&dialect_basic);
    struct perr err = {0};

    (void)state;
    assert_int_equal(rest_call(f.r, &ep_delete, (struct rest_var[]){{"name", "x"}, {NULL, NULL}},
                               NULL, NULL, &err),
                     -1);
    assert_int_equal(err.code, PERR_INTERNAL);
    assert_non_null(fake_transport_failure(f.ft));
    assert_non_null(
        strstr(fake_transport_failure(f.ft), "unexpected request #1: DELETE /api/things/x"));
    rest_free(f.r);
    fake_transport_free(f.ft);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expand_escaping),
        cmocka_unit_test(test_hostile_name_on_the_wire),
        cmocka_unit_test(test_basic_auth_and_body),
        cmocka_unit_test(test_relogin_once_on_401),
        cmocka_unit_test(test_relogin_on_vendor_signal),
        cmocka_unit_test(test_401_twice_is_auth_error),
        cmocka_unit_test(test_login_failure),
        cmocka_unit_test(test_503_then_200),
        cmocka_unit_test(test_network_error_then_200),
        cmocka_unit_test(test_retries_exhausted),
        cmocka_unit_test(test_post_not_retried_unless_marked),
        cmocka_unit_test(test_status_mapping),
        cmocka_unit_test(test_already_done),
        cmocka_unit_test(test_malformed_json),
        cmocka_unit_test(test_pagination),
        cmocka_unit_test(test_unexpected_request_is_reported),
        cmocka_unit_test(test_retry_methods_and_reply_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
