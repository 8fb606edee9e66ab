/*
 * The driver conformance suite: one set of scenarios run against every
 * registered storage driver that has a data file test/conformance/<driver>.json,
 * on the simulated arrays of the world (test/sim/arrays), over HTTPS verified
 * with the world's array CA.
 *
 * A vendor supplies data, not code: its data file names the world variables
 * of each configuration (host, credentials, token), the PV to resolve and the
 * volume it must give, how the driver names the group it is asked to create,
 * the fault lines (op names and bodies in the vendor's error shape), the
 * error codes, statuses and message fragments expected back, whether the
 * driver logs in again after a session expired, whether FC is supported and
 * where its array-side copies find their sources ("copies": a VVol's
 * "source" file and "id"; an RDM's "source" file and its "device" name,
 * vSphere's "lun_uuid" of it, or both, as the driver is handed them).  A driver that does no
 * iSCSI says "iscsi": false (the scenarios then map the host's FC id); one
 * that creates no groups leaves out "create_conflict" and names an
 * "other_group" {"name", "initiator"} the array already has.  Strings may hold
 * ${WORLD_VARIABLE} references.
 *
 * A configuration may override any of the vendor's keys for itself: its
 * "env" is laid over the vendor's key by key, any other key (e.g. "iscsi":
 * false or "fc": false to run one protocol's sequence only, "host_initiator",
 * "other_group", "create_conflict", "server_error") replaces the vendor's.
 * "fc" at the vendor level must agree with the driver's caps; a
 * configuration can only turn it off.  A driver whose REST dialect retries a
 * 503 on every method says "server_error"."create_retried": true: the
 * injected 503 on create_op must then be retried into a mapping.
 *
 * Every step is checked against what the array holds, read through the fakes'
 * normalised view GET /_sim/state on the fake's own address (data "state"),
 * and what the fabric shows the simulated ESXi host (FABRIC/luns/<naa>.json).
 * After a vendor's last configuration, "prism clean" reads the log of the
 * Prism in front of its fake (data "prism": "ran", "log"): no request or
 * answer may have broken the vendor's spec.  Prism does not check answers
 * against every spec (not ONTAP's Swagger 2.0 one); a fake that checks them
 * itself names its violation log in "prism"."answer_log" (a path, empty when
 * the fake did not check), which must then be empty after every scenario.
 *
 * The program prints "conformance <driver>: N passed, M failed" per vendor.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/err.h"
#include "lib/http.h"
#include "lib/strv.h"
#include "storage/naa.h"
#include "storage/storage.h"
#include "test/fake/world.h"

#define MAX_VENDORS 16
#define MAX_CASES   256

static struct world W;
static struct http_transport state_http;
static json_t *expanded; /* template -> value, filled on first use */

/* One data file. */
struct vendor {
    char *file;
    json_t *d;
    const struct storage_driver *drv;
    int passed;
    int failed;
    int skipped;
};

/* One configuration of a vendor (data "configurations"). */
struct conf {
    struct vendor *v;
    json_t *c;
    const char *label;
    const char *tag; /* short, for names this configuration creates */
    bool last;       /* the vendor's last configuration: array-wide checks follow it */
};

/* A scenario returns false when it did not apply (after printing SKIP). */
typedef bool (*scenario_fn)(const struct conf *cf);

struct tcase {
    const struct conf *cf;
    scenario_fn fn;
};

enum tls_mode { TLS_CA, TLS_NONE, TLS_SKIP };

/* ---- the data ---- */

/* tmpl with every ${NAME} replaced by the world's variable NAME; NULL for
 * NULL.  The value lives until the end of the program. */
static const char *
xp(const char *tmpl)
{
    char out[4096];
    size_t n = 0;
    const char *p = tmpl;
    json_t *hit;

    if (tmpl == NULL)
        return NULL;
    hit = json_object_get(expanded, tmpl);
    if (hit != NULL)
        return json_string_value(hit);
    while (*p != '\0') {
        const char *add = p;
        size_t len = 1;
        char name[128];

        if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p, '}');

            if (end == NULL || (size_t)(end - p - 2) >= sizeof(name))
                fail_msg("bad variable reference in '%s'", tmpl);
            memcpy(name, p + 2, (size_t)(end - p - 2));
            name[end - p - 2] = '\0';
            add = world_find(&W, name);
            if (add == NULL)
                fail_msg("the world has no variable %s (data '%s')", name, tmpl);
            len = strlen(add);
            p = end + 1;
        } else {
            p++;
        }
        if (n + len >= sizeof(out))
            fail_msg("'%s' expands to too long a value", tmpl);
        memcpy(out + n, add, len);
        n += len;
    }
    out[n] = '\0';
    json_object_set_new(expanded, tmpl, json_string(out));
    return json_string_value(json_object_get(expanded, tmpl));
}

/* The expanded string at obj.key, or NULL when absent. */
static const char *
opt(json_t *obj, const char *key)
{
    return xp(json_string_value(json_object_get(obj, key)));
}

/* The same, required. */
static const char *
req(json_t *obj, const char *key)
{
    const char *s = opt(obj, key);

    if (s == NULL)
        fail_msg("the data lacks the string '%s'", key);
    return s;
}

/* The configuration's own value of key, else the vendor's; NULL when
 * neither has it. */
static json_t *
dval(const struct conf *cf, const char *key)
{
    json_t *o = json_object_get(cf->c, key);

    return o != NULL ? o : json_object_get(cf->v->d, key);
}

static json_t *
sect(const struct conf *cf, const char *key)
{
    json_t *o = dval(cf, key);

    if (!json_is_object(o))
        fail_msg("%s: the data lacks the object '%s'", cf->v->file, key);
    return o;
}

static const char *
vreq(const struct conf *cf, const char *key)
{
    return req(cf->v->d, key);
}

/* The group name the driver makes of name for protocol kind (data
 * "group_name"). */
static void
group_name(const struct conf *cf, const char *kind, const char *name, char *out, size_t n)
{
    const char *t = req(sect(cf, "group_name"), kind);
    const char *at = strstr(t, "{name}");

    assert_non_null(at);
    snprintf(out, n, "%.*s%s%s", (int)(at - t), t, name, at + strlen("{name}"));
}

/* ---- opening the driver ---- */

static int
open_at(const struct conf *cf, const char *host, enum tls_mode tls, struct storage **st,
        struct perr *err)
{
    struct storage_config c = {0};
    struct storage_kv env[8];
    json_t *envd = json_object_get(cf->v->d, "env");
    json_t *own = json_object_get(cf->c, "env");
    const char *k;
    json_t *val;

    c.hostname = host;
    c.username = opt(cf->c, "username");
    c.password = opt(cf->c, "password");
    c.token = opt(cf->c, "token");
    c.ca_file = tls == TLS_CA ? world_get(&W, "WORLD_ARRAY_CA") : NULL;
    c.skip_ssl = tls == TLS_SKIP;
    c.timeout_s = 10;
    c.retry_initial_ms = 1;
    /* The vendor's env, each key the configuration sets taken from it. */
    json_object_foreach(envd, k, val)
    {
        if (json_object_get(own, k) != NULL)
            continue;
        assert_true(c.nenv < sizeof(env) / sizeof(env[0]));
        env[c.nenv].key = k;
        env[c.nenv].value = xp(json_string_value(val));
        c.nenv++;
    }
    json_object_foreach(own, k, val)
    {
        assert_true(c.nenv < sizeof(env) / sizeof(env[0]));
        env[c.nenv].key = k;
        env[c.nenv].value = xp(json_string_value(val));
        c.nenv++;
    }
    c.env = env;
    return storage_open(cf->v->drv, &c, st, err);
}

static struct storage *
open_host(const struct conf *cf, const char *host)
{
    struct storage *st = NULL;
    struct perr err = {0};

    if (open_at(cf, host, TLS_CA, &st, &err) < 0)
        fail_msg("%s: open %s: %s", cf->label, host, err.msg);
    return st;
}

static struct storage *
open_conf(const struct conf *cf)
{
    return open_host(cf, req(cf->c, "host"));
}

/* A PV from data {"volume_handle", "attrs": "k=v[,k=v]"}. */
struct pv_buf {
    char attrs[512];
    struct storage_attr kv[8];
    struct storage_pv pv;
};

static void
pv_from(json_t *d, const char *name, struct pv_buf *b)
{
    const char *attrs = opt(d, "attrs");
    const char *sep;
    char *save = NULL;

    memset(b, 0, sizeof(*b));
    b->pv.name = name;
    b->pv.volume_handle = req(d, "volume_handle");
    b->pv.attrs = b->kv;
    if (attrs == NULL)
        return;
    snprintf(b->attrs, sizeof(b->attrs), "%s", attrs);
    /* Items are separated by ';' as the fakes export them (WORLD_<V>_ATTRS,
     * test/sim/populate); data files written with ',' between items (and no
     * ';') are read that way too. */
    sep = strchr(b->attrs, ';') != NULL ? ";" : ",";
    for (char *t = strtok_r(b->attrs, sep, &save); t != NULL; t = strtok_r(NULL, sep, &save)) {
        char *eq = strchr(t, '=');

        assert_non_null(eq);
        assert_true(b->pv.nattrs < sizeof(b->kv) / sizeof(b->kv[0]));
        *eq = '\0';
        b->kv[b->pv.nattrs].key = t;
        b->kv[b->pv.nattrs].value = eq + 1;
        b->pv.nattrs++;
    }
}

/* ---- expectations ---- */

static void
assert_msg_has(const struct perr *err, const char *text)
{
    if (strstr(err->msg, text) == NULL)
        fail_msg("message lacks '%s': %s", text, err->msg);
}

static void
assert_msg_all(const struct perr *err, json_t *fragments)
{
    size_t i;
    json_t *f;

    assert_true(json_array_size(fragments) > 0);
    json_array_foreach(fragments, i, f) assert_msg_has(err, xp(json_string_value(f)));
}

static enum perr_code
code_named(const char *name)
{
    for (int c = PERR_OK; c <= PERR_INTERNAL; c++) {
        if (strcmp(perr_code_str((enum perr_code)c), name) == 0)
            return (enum perr_code)c;
    }
    fail_msg("unknown error code name '%s' in the data", name);
    return PERR_INTERNAL;
}

/* err against {"code", "status"?, "remote_code"?, "message"?: [...]}. */
static void
assert_error(const struct conf *cf, const char *what, json_t *exp, const struct perr *err)
{
    json_t *status = json_object_get(exp, "status");
    const char *rc = opt(exp, "remote_code");

    if (err->code != code_named(req(exp, "code")))
        fail_msg("%s: %s: error %s, expected %s: %s", cf->label, what, perr_code_str(err->code),
                 req(exp, "code"), err->msg);
    if (status != NULL)
        assert_int_equal(err->http_status, json_integer_value(status));
    if (rc != NULL)
        assert_string_equal(err->remote_code, rc);
    if (json_object_get(exp, "message") != NULL)
        assert_msg_all(err, json_object_get(exp, "message"));
}

/* ---- the array's state, through GET /_sim/state ---- */

static json_t *
state_load(const struct conf *cf)
{
    const char *addr = vreq(cf, "state");
    char url[512];
    struct http_req rq = {.method = "GET", .url = url};
    struct http_resp resp = {0};
    struct perr err = {0};
    json_error_t je;
    json_t *s;

    snprintf(url, sizeof(url), "%s%s/_sim/state", strstr(addr, "://") ? "" : "https://", addr);
    if (http_perform(&state_http, &rq, &resp, &err) < 0)
        fail_msg("%s: GET %s: %s", cf->label, url, err.msg);
    if (resp.status != 200)
        fail_msg("%s: GET %s: status %ld", cf->label, url, resp.status);
    s = json_loads(buf_cstr(&resp.body), 0, &je);
    http_resp_free(&resp);
    if (s == NULL)
        fail_msg("%s: %s: %s", cf->label, url, je.text);
    assert_string_equal(json_string_value(json_object_get(s, "array")), vreq(cf, "array"));
    json_object_del(s, "sessions"); /* changes with every login, not array state */
    return s;
}

static json_t *
find_named(json_t *list, const char *name)
{
    size_t i;
    json_t *v;

    json_array_foreach(list, i, v)
    {
        const char *n = json_string_value(json_object_get(v, "name"));

        if (n != NULL && strcmp(n, name) == 0)
            return v;
    }
    return NULL;
}

static json_t *
state_group(json_t *s, const char *group)
{
    return find_named(json_object_get(s, "groups"), group);
}

/* True when group holds initiator (FC ids compare by WWPN). */
static bool
state_group_has(json_t *s, const char *group, const char *initiator)
{
    size_t i;
    json_t *v;

    json_array_foreach(json_object_get(state_group(s, group), "initiators"), i, v)
    {
        if (initiator_equal(json_string_value(v), initiator))
            return true;
    }
    return false;
}

/* Mappings of group (any when NULL) to lun (any volume when NULL). */
static size_t
state_mappings(json_t *s, const char *group, const struct storage_lun *lun)
{
    size_t n = 0;
    size_t i;
    json_t *m;

    json_array_foreach(json_object_get(s, "mappings"), i, m)
    {
        const char *g = json_string_value(json_object_get(m, "group"));
        const char *v = json_string_value(json_object_get(m, "volume"));

        if ((group == NULL || (g != NULL && strcmp(g, group) == 0)) &&
            (lun == NULL || (v != NULL && strcmp(v, lun->name) == 0)))
            n++;
    }
    return n;
}

static void
assert_state_equal(const struct conf *cf, json_t *before, const char *what)
{
    json_t *now = state_load(cf);

    if (!json_equal(before, now)) {
        char *x = json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS);
        char *y = json_dumps(now, JSON_COMPACT | JSON_SORT_KEYS);

        print_error("before: %s\nafter:  %s\n", x, y);
        free(x);
        free(y);
        json_decref(now);
        fail_msg("%s: %s changed the array's state", cf->label, what);
    }
    json_decref(now);
}

/* The group ensure_igroup(name, {initiator}) must answer: with data
 * group_name.found_by "initiators", a group that already holds the initiator
 * (an initiator can be in one group only), else the name the driver makes. */
static void
expected_group(const struct conf *cf, const char *kind, const char *name, const char *initiator,
               char *out, size_t n)
{
    const char *by = opt(sect(cf, "group_name"), "found_by");
    json_t *s;
    size_t i;
    json_t *g;

    group_name(cf, kind, name, out, n);
    if (by == NULL || strcmp(by, "name") == 0)
        return;
    assert_string_equal(by, "initiators");
    s = state_load(cf);
    json_array_foreach(json_object_get(s, "groups"), i, g)
    {
        const char *gn = json_string_value(json_object_get(g, "name"));

        if (state_group_has(s, gn, initiator))
            snprintf(out, n, "%s", gn);
    }
    json_decref(s);
}

/* ---- the fabric ---- */

static json_t *
fabric_load(const char *naa)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/luns/%s.json", world_get(&W, "WORLD_FABRIC"), naa);
    return json_load_file(path, 0, NULL);
}

static bool
fabric_lists(json_t *f, const char *initiator)
{
    size_t i;
    json_t *v;

    json_array_foreach(json_object_get(f, "initiators"), i, v)
    {
        if (strcasecmp(json_string_value(v), initiator) == 0)
            return true;
    }
    return false;
}

static void
assert_fabric_has(const struct conf *cf, const char *naa, const char *initiator)
{
    json_t *f = fabric_load(naa);

    if (f == NULL)
        fail_msg("%s: no fabric file for %s", cf->label, naa);
    assert_string_equal(json_string_value(json_object_get(f, "naa")), naa);
    assert_string_equal(json_string_value(json_object_get(f, "array")), vreq(cf, "array"));
    if (!fabric_lists(f, initiator)) {
        char *t = json_dumps(f, JSON_COMPACT);

        print_error("fabric file: %s\n", t);
        free(t);
        json_decref(f);
        fail_msg("%s: the fabric file of %s does not list %s", cf->label, naa, initiator);
    }
    json_decref(f);
}

static void
assert_fabric_lacks(const struct conf *cf, const char *naa, const char *initiator)
{
    json_t *f = fabric_load(naa);

    if (f != NULL && (initiator == NULL || fabric_lists(f, initiator))) {
        json_decref(f);
        fail_msg("%s: the fabric still shows %s%s%s", cf->label, naa, initiator ? " to " : "",
                 initiator ? initiator : "");
    }
    json_decref(f);
}

static const char *
vol_naa(const struct conf *cf)
{
    return req(sect(cf, "volume"), "naa");
}

/* Nothing of ours is mapped and the host sees nothing. */
static void
assert_clean(const struct conf *cf, const char *group, const struct storage_lun *lun)
{
    json_t *s = state_load(cf);

    assert_fabric_lacks(cf, vol_naa(cf), NULL);
    if (group != NULL && state_mappings(s, group, NULL) != 0)
        fail_msg("%s: group '%s' is still mapped", cf->label, group);
    if (lun != NULL && lun->name != NULL && state_mappings(s, NULL, lun) != 0)
        fail_msg("%s: '%s' is still mapped", cf->label, lun->name);
    if (state_mappings(s, NULL, NULL) != 0) {
        char *t = json_dumps(json_object_get(s, "mappings"), JSON_COMPACT);

        print_error("mappings: %s\n", t);
        free(t);
        json_decref(s);
        fail_msg("%s: the array still holds mappings", cf->label);
    }
    json_decref(s);
}

/* ---- faults and call logs ---- */

static void
fault(const struct conf *cf, const char *line)
{
    FILE *f = fopen(vreq(cf, "faults"), "a");

    assert_non_null(line);
    assert_non_null(f);
    fprintf(f, "%s\n", line);
    fclose(f);
}

static void
faults_clear(const struct conf *cf)
{
    FILE *f = fopen(vreq(cf, "faults"), "w");

    assert_non_null(f);
    fclose(f);
}

/* Lines of the array's call log holding every given substring. */
static int
count_calls(const struct conf *cf, ...)
{
    FILE *f = fopen(vreq(cf, "calls"), "r");
    char line[65536];
    int n = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        va_list ap;
        const char *s;
        bool all = true;

        va_start(ap, cf);
        while ((s = va_arg(ap, const char *)) != NULL)
            all = all && strstr(line, s) != NULL;
        va_end(ap);
        n += all;
    }
    fclose(f);
    return n;
}

static void
op_field(const char *op, char *out, size_t n)
{
    snprintf(out, n, "\"op\": \"%s\"", op);
}

/* ---- the populator's steps ---- */

static void
resolve(const struct conf *cf, struct storage *st, struct storage_lun *lun)
{
    struct pv_buf b;
    struct perr err = {0};
    json_t *s;
    json_t *vol;

    pv_from(sect(cf, "pv"), "pvc-1", &b);
    if (storage_resolve_pv(st, &b.pv, lun, &err) < 0)
        fail_msg("%s: resolve: %s", cf->label, err.msg);
    assert_string_equal(lun->naa, vol_naa(cf));
    assert_string_equal(lun->name, req(sect(cf, "volume"), "name"));
    /* The array knows the volume by that name, id and device name. */
    s = state_load(cf);
    vol = find_named(json_object_get(s, "volumes"), lun->name);
    assert_non_null(vol);
    assert_string_equal(json_string_value(json_object_get(vol, "naa")), lun->naa);
    assert_string_equal(json_string_value(json_object_get(vol, "id")), lun->id);
    json_decref(s);
}

static void
ensure(const struct conf *cf, struct storage *st, const char *name, const char *initiator,
       char **actual)
{
    const char *inits[1] = {initiator};
    struct perr err = {0};

    if (storage_ensure_igroup(st, name, inits, 1, actual, &err) < 0)
        fail_msg("%s: ensure_igroup %s: %s", cf->label, name, err.msg);
}

static void
map_ok(const struct conf *cf, struct storage *st, const char *group, const struct storage_lun *lun)
{
    struct storage_lun mapped = {0};
    struct perr err = {0};

    if (storage_map(st, group, lun, &mapped, &err) < 0)
        fail_msg("%s: map to %s: %s", cf->label, group, err.msg);
    assert_string_equal(mapped.naa, lun->naa);
    storage_lun_clear(&mapped);
}

static void
unmap_ok(const struct conf *cf, struct storage *st, const char *group,
         const struct storage_lun *lun)
{
    struct perr err = {0};

    if (storage_unmap(st, group, lun, &err) < 0)
        fail_msg("%s: unmap from %s: %s", cf->label, group, err.msg);
}

/*
 * resolve -> ensure group (twice) -> current groups -> map (twice) -> unmap
 * (twice) -> re-map the original groups, with the array's state and the
 * fabric checked after each step.  With other_init, the volume is first
 * mapped to another group holding other_init, which must survive untouched.
 */
static void
run_sequence(const struct conf *cf, const char *kind, const char *initiator, const char *other_init)
{
    struct storage *st = open_conf(cf);
    struct storage_lun lun = {0};
    struct strv orig = {0};
    struct strv now = {0};
    struct perr err = {0};
    char name[64];
    char want[96];
    char *orig_group = NULL;
    char *g = NULL;
    char *g2 = NULL;
    const char *naa = vol_naa(cf);
    json_t *s;

    resolve(cf, st, &lun);
    assert_fabric_lacks(cf, naa, NULL);
    if (other_init != NULL) {
        json_t *og = dval(cf, "other_group");

        if (og != NULL) {
            /* A driver that makes no groups: one the array already has. */
            orig_group = strdup(req(og, "name"));
        } else {
            snprintf(name, sizeof(name), "trident-%s-%s", cf->tag, kind);
            expected_group(cf, "iscsi", name, other_init, want, sizeof(want));
            ensure(cf, st, name, other_init, &orig_group);
            assert_string_equal(orig_group, want);
        }
        map_ok(cf, st, orig_group, &lun);
        assert_fabric_has(cf, naa, other_init);
    }

    /* ensure_igroup, twice: the second changes nothing. */
    snprintf(name, sizeof(name), "xcopy-%s-%s", cf->tag, kind);
    expected_group(cf, kind, name, initiator, want, sizeof(want));
    ensure(cf, st, name, initiator, &g);
    assert_string_equal(g, want);
    s = state_load(cf);
    assert_non_null(state_group(s, g));
    assert_true(state_group_has(s, g, initiator));
    assert_int_equal(state_mappings(s, g, &lun), 0);
    ensure(cf, st, name, initiator, &g2);
    assert_string_equal(g, g2);
    assert_state_equal(cf, s, "a second ensure_igroup");
    json_decref(s);

    /* The groups that see the volume now. */
    if (storage_mapped_groups(st, &lun, &orig, &err) < 0)
        fail_msg("%s: mapped_groups: %s", cf->label, err.msg);
    assert_int_equal(orig.n, other_init != NULL ? 1 : 0);
    if (other_init != NULL)
        assert_string_equal(orig.v[0], orig_group);

    /* map, twice. */
    map_ok(cf, st, g, &lun);
    s = state_load(cf);
    assert_int_equal(state_mappings(s, g, &lun), 1);
    assert_fabric_has(cf, naa, initiator);
    map_ok(cf, st, g, &lun);
    assert_state_equal(cf, s, "a second map");
    assert_fabric_has(cf, naa, initiator);
    json_decref(s);
    if (storage_mapped_groups(st, &lun, &now, &err) < 0)
        fail_msg("%s: mapped_groups: %s", cf->label, err.msg);
    assert_true(strv_contains(&now, g));
    assert_int_equal(now.n, orig.n + 1);

    /* unmap, twice. */
    unmap_ok(cf, st, g, &lun);
    s = state_load(cf);
    assert_int_equal(state_mappings(s, g, &lun), 0);
    assert_non_null(state_group(s, g)); /* the group stays for the next run */
    if (other_init != NULL) {
        assert_fabric_lacks(cf, naa, initiator);
        assert_fabric_has(cf, naa, other_init);
    } else {
        assert_fabric_lacks(cf, naa, NULL);
    }
    unmap_ok(cf, st, g, &lun);
    assert_state_equal(cf, s, "a second unmap");

    /* Restore the original groups: they are mapped, so nothing changes. */
    for (size_t i = 0; i < orig.n; i++)
        map_ok(cf, st, orig.v[i], &lun);
    assert_state_equal(cf, s, "re-mapping the original groups");
    json_decref(s);

    if (orig_group != NULL) {
        unmap_ok(cf, st, orig_group, &lun);
        assert_fabric_lacks(cf, naa, NULL);
    }
    assert_clean(cf, g, &lun);
    strv_free(&orig);
    strv_free(&now);
    free(orig_group);
    free(g);
    free(g2);
    storage_lun_clear(&lun);
    storage_free(st);
}

/* The ESXi host's initiator the scenarios map to: the data's "host_initiator",
 * else its IQN, or its FC id for
 * a driver without iSCSI (data "iscsi": false). */
static const char *
host_initiator(const struct conf *cf, const char **kind)
{
    const char *given = xp(json_string_value(dval(cf, "host_initiator")));
    bool fc = json_is_false(dval(cf, "iscsi"));

    if (kind != NULL)
        *kind = fc ? "fc" : "iscsi";
    /* The data's own (an SDC GUID for an array that maps to SDCs). */
    if (given != NULL)
        return given;
    return world_get(&W, fc ? "WORLD_VC_HOST_FC" : "WORLD_VC_HOST_IQN");
}

/* ---- the scenarios ---- */

static bool
sc_sequence_iscsi(const struct conf *cf)
{
    run_sequence(cf, "iscsi", host_initiator(cf, NULL), NULL);
    return true;
}

static bool
sc_sequence_fc(const struct conf *cf)
{
    char other[128];

    /* The other group is a second host's (made-up) iSCSI name, or the
     * array's own group of data "other_group". */
    if (dval(cf, "other_group") != NULL)
        snprintf(other, sizeof(other), "%s", req(dval(cf, "other_group"), "initiator"));
    else
        snprintf(other, sizeof(other), "iqn.1998-01.com.vmware:other-host-%s", cf->tag);
    run_sequence(cf, "fc", world_get(&W, "WORLD_VC_HOST_FC"), other);
    return true;
}

/* An expired session: a driver with sessions logs in again once and goes on;
 * one without (credentials on every request) reports the 401 with the
 * array's text, and its next request works. */
static bool
sc_expired_session(const struct conf *cf)
{
    json_t *x = sect(cf, "expired_session");
    const char *relogin = opt(x, "relogin_op");
    struct storage *st = open_conf(cf);
    struct storage_lun lun = {0};
    struct pv_buf b;
    struct perr err = {0};
    char op[128];
    char ok[32];
    int logins = 0;

    /* The status a successful login answers with (WSAPI says 201). */
    snprintf(ok, sizeof(ok), "\"status\": %lld",
             json_is_integer(json_object_get(x, "relogin_status"))
                 ? (long long)json_integer_value(json_object_get(x, "relogin_status"))
                 : 200LL);
    if (relogin != NULL) {
        op_field(relogin, op, sizeof(op));
        logins = count_calls(cf, op, ok, NULL);
    }
    pv_from(sect(cf, "pv"), "pvc-1", &b);
    faults_clear(cf);
    fault(cf, req(x, "fault"));
    if (relogin != NULL) {
        if (storage_resolve_pv(st, &b.pv, &lun, &err) < 0)
            fail_msg("%s: resolve after expiry: %s", cf->label, err.msg);
        assert_int_equal(count_calls(cf, op, ok, NULL), logins + 1);
    } else {
        assert_int_equal(storage_resolve_pv(st, &b.pv, &lun, &err), -1);
        assert_error(cf, "resolve after expiry", json_object_get(x, "error"), &err);
        assert_null(lun.name);
        perr_clear(&err);
        /* The next request carries the same credentials and works. */
        if (storage_resolve_pv(st, &b.pv, &lun, &err) < 0)
            fail_msg("%s: resolve after the 401: %s", cf->label, err.msg);
    }
    assert_true(count_calls(cf, "\"fault\": \"expire\"", NULL) >= 1);
    assert_string_equal(lun.naa, vol_naa(cf));
    assert_clean(cf, NULL, &lun);
    faults_clear(cf);
    storage_lun_clear(&lun);
    storage_free(st);
    return true;
}

/* An unknown volume: PERR_NOT_FOUND with the array's own words; a 404 from
 * the array itself keeps its text and code. */
static bool
sc_resolve_not_found(const struct conf *cf)
{
    json_t *x = sect(cf, "not_found");
    struct storage *st = open_conf(cf);
    struct storage_lun lun = {0};
    struct pv_buf b;
    struct perr err = {0};

    pv_from(json_object_get(x, "pv"), "pvc-none", &b);
    assert_int_equal(storage_resolve_pv(st, &b.pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_NOT_FOUND);
    assert_null(lun.name);
    assert_msg_all(&err, json_object_get(x, "message"));
    perr_clear(&err);

    faults_clear(cf);
    fault(cf, req(x, "fault"));
    assert_int_equal(storage_resolve_pv(st, &b.pv, &lun, &err), -1);
    assert_error(cf, "resolve with a 404", json_object_get(x, "error"), &err);
    assert_null(lun.name);
    assert_clean(cf, NULL, NULL);
    faults_clear(cf);
    storage_free(st);
    return true;
}

/* "Already exists" on the group create: PERR_CONFLICT with the array's text,
 * no group left behind, nothing mapped. */
static bool
sc_create_conflict(const struct conf *cf)
{
    json_t *x = sect(cf, "create_conflict");
    struct storage *st = open_conf(cf);
    struct storage_lun lun = {0};
    char name[64];
    char want[96];
    char init[128];
    const char *inits[1] = {init};
    char *g = NULL;
    struct perr err = {0};
    json_t *s;

    resolve(cf, st, &lun);
    snprintf(name, sizeof(name), "xcopy-%s-conflict", cf->tag);
    snprintf(init, sizeof(init), "iqn.1998-01.com.vmware:conflict-%s", cf->tag);
    group_name(cf, "iscsi", name, want, sizeof(want));
    faults_clear(cf);
    fault(cf, req(x, "fault"));
    s = state_load(cf);
    assert_null(state_group(s, want));
    assert_int_equal(storage_ensure_igroup(st, name, inits, 1, &g, &err), -1);
    assert_null(g);
    assert_error(cf, "a refused create", json_object_get(x, "error"), &err);
    assert_state_equal(cf, s, "a refused create");
    json_decref(s);
    assert_clean(cf, want, &lun);
    faults_clear(cf);
    storage_lun_clear(&lun);
    storage_free(st);
    return true;
}

/* A 503 on an idempotent read is retried; on a create it is reported (with
 * the array's text) and nothing is mapped; the next try works.  A dialect
 * that retries every method (data "create_retried": true) must instead
 * answer the 503 on create_op with a second try that maps, as a map
 * without a fault would. */
static bool
sc_server_error_then_success(const struct conf *cf)
{
    json_t *x = sect(cf, "server_error");
    struct storage *st = open_conf(cf);
    struct storage_lun lun = {0};
    struct storage_lun mapped = {0};
    char name[64];
    char op[128];
    char *g = NULL;
    struct perr err = {0};
    const char *kind;
    const char *iqn = host_initiator(cf, &kind);
    int n503;
    json_t *s;

    op_field(req(x, "read_op"), op, sizeof(op));
    n503 = count_calls(cf, op, "\"status\": 503", NULL);
    faults_clear(cf);
    fault(cf, req(x, "read_fault"));
    resolve(cf, st, &lun);
    assert_int_equal(count_calls(cf, op, "\"status\": 503", NULL), n503 + 1);

    snprintf(name, sizeof(name), "xcopy-%s-%s", cf->tag, kind);
    ensure(cf, st, name, iqn, &g);
    if (json_is_true(json_object_get(x, "create_retried"))) {
        op_field(req(x, "create_op"), op, sizeof(op));
        n503 = count_calls(cf, op, "\"status\": 503", NULL);
        fault(cf, req(x, "create_fault"));
        s = state_load(cf);
        assert_int_equal(state_mappings(s, g, &lun), 0);
        json_decref(s);
        map_ok(cf, st, g, &lun);
        /* The fault fired, on the create, and the retry made the mapping. */
        assert_int_equal(count_calls(cf, op, "\"status\": 503", NULL), n503 + 1);
        assert_true(count_calls(cf, "\"fault\": \"http\"", op, NULL) >= 1);
        s = state_load(cf);
        assert_int_equal(state_mappings(s, g, &lun), 1);
        json_decref(s);
        assert_fabric_has(cf, vol_naa(cf), iqn);
        /* Mapping again changes nothing; the unmap leaves nothing. */
        s = state_load(cf);
        map_ok(cf, st, g, &lun);
        assert_state_equal(cf, s, "a map after the retried create");
        json_decref(s);
        unmap_ok(cf, st, g, &lun);
        assert_clean(cf, g, &lun);
        faults_clear(cf);
        free(g);
        storage_lun_clear(&lun);
        storage_free(st);
        return true;
    }
    fault(cf, req(x, "create_fault"));
    s = state_load(cf);
    assert_int_equal(storage_map(st, g, &lun, &mapped, &err), -1);
    assert_error(cf, "map with a 503", json_object_get(x, "error"), &err);
    assert_null(mapped.name);
    assert_state_equal(cf, s, "a refused map");
    json_decref(s);
    assert_clean(cf, g, &lun);
    /* The fault fired once: mapping again works, and so does the unmap. */
    map_ok(cf, st, g, &lun);
    assert_fabric_has(cf, vol_naa(cf), iqn);
    unmap_ok(cf, st, g, &lun);
    assert_clean(cf, g, &lun);
    faults_clear(cf);
    free(g);
    storage_lun_clear(&lun);
    storage_free(st);
    return true;
}

/* A 200 whose body is not JSON, on a read and on the map: PERR_PROTOCOL
 * naming the path, nothing mapped.  Prism would turn the fault into its own
 * 5xx, so this goes to the array itself (data "unproxied"). */
static bool
sc_malformed_body(const struct conf *cf)
{
    json_t *x = sect(cf, "malformed");
    const char *host = opt(cf->c, "unproxied");
    struct storage *st = open_host(cf, host != NULL ? host : req(cf->c, "host"));
    struct storage_lun lun = {0};
    struct storage_lun mapped = {0};
    struct pv_buf b;
    char name[64];
    char *g = NULL;
    struct perr err = {0};

    pv_from(sect(cf, "pv"), "pvc-1", &b);
    faults_clear(cf);
    fault(cf, req(x, "read_fault"));
    assert_int_equal(storage_resolve_pv(st, &b.pv, &lun, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_null(lun.name);
    assert_msg_all(&err, json_object_get(x, "read_message"));
    perr_clear(&err);

    const char *kind;
    const char *init = host_initiator(cf, &kind);

    resolve(cf, st, &lun);
    snprintf(name, sizeof(name), "xcopy-%s-%s", cf->tag, kind);
    ensure(cf, st, name, init, &g);
    fault(cf, req(x, "map_fault"));
    assert_int_equal(storage_map(st, g, &lun, &mapped, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_null(mapped.name);
    assert_msg_all(&err, json_object_get(x, "map_message"));
    assert_clean(cf, g, &lun);
    faults_clear(cf);
    free(g);
    storage_lun_clear(&lun);
    storage_free(st);
    return true;
}

/* Nothing listens: PERR_NETWORK from open, naming the address. */
static bool
sc_unreachable(const struct conf *cf)
{
    struct sockaddr_in sa = {0};
    socklen_t len = sizeof(sa);
    struct storage *st = NULL;
    struct perr err = {0};
    char host[64];
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    /* A port that was free a moment ago and is closed now. */
    assert_true(fd >= 0);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    snprintf(host, sizeof(host), "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    close(fd);
    assert_int_equal(open_at(cf, host, TLS_CA, &st, &err), -1);
    assert_null(st);
    assert_int_equal(err.code, PERR_NETWORK);
    assert_msg_has(&err, host);
    assert_clean(cf, NULL, NULL);
    return true;
}

/* TLS: the world's CA is needed, or the explicit skip. */
static bool
sc_tls(const struct conf *cf)
{
    struct storage *st = NULL;
    struct storage_lun lun = {0};
    struct perr err = {0};
    const char *host = req(cf->c, "host");

    assert_int_equal(open_at(cf, host, TLS_NONE, &st, &err), -1);
    assert_null(st);
    assert_int_equal(err.code, PERR_TLS);
    assert_msg_has(&err, "STORAGE_SKIP_SSL_VERIFICATION");
    perr_clear(&err);
    if (open_at(cf, host, TLS_SKIP, &st, &err) < 0)
        fail_msg("%s: open with skip_ssl: %s", cf->label, err.msg);
    resolve(cf, st, &lun);
    storage_lun_clear(&lun);
    storage_free(st);
    return true;
}

/* ---- array-side copies ---- */

static void
fill_random(const char *path, size_t size, unsigned seed)
{
    FILE *f = fopen(path, "r+b");
    unsigned x = seed;

    assert_non_null(f);
    for (size_t i = 0; i < size; i++) {
        x = x * 1103515245u + 12345u;
        fputc((int)((x >> 16) & 0xff), f);
    }
    fclose(f);
}

static void
progress_note(void *arg, unsigned pct)
{
    *(unsigned *)arg = pct;
}

/* VVol and RDM copies: the target volume becomes the source's bytes, with
 * progress up to 100; an unknown VVol id copies nothing. */
static bool
sc_copies(const struct conf *cf)
{
    json_t *x = json_object_get(cf->v->d, "copies");
    json_t *vvol = json_object_get(x, "vvol");
    json_t *rdm = json_object_get(x, "rdm");
    json_t *unknown = json_object_get(x, "unknown_vvol");
    struct storage *st = open_conf(cf);
    struct storage_lun lun = {0};
    struct storage_copy_req rq = {0};
    struct perr err = {0};
    char src[512];
    char dst[512];
    unsigned pct = 0;
    size_t size = (size_t)strtoull(world_get(&W, "WORLD_VC_DISK_BYTES"), NULL, 10);
    const char *dir = req(x, "volume_dir");

    assert_true(vvol != NULL || rdm != NULL);
    resolve(cf, st, &lun);
    snprintf(dst, sizeof(dst), "%s/%s", dir, lun.name);
    if (vvol != NULL) {
        assert_true(storage_has_cap(st, STORAGE_CAP_VVOL_COPY));
        snprintf(src, sizeof(src), "%s/%s", dir, req(vvol, "source"));
        fill_random(src, size, 1);
        assert_false(world_same_file(src, dst));
        rq.vvol_id = req(vvol, "id");
        rq.target = &lun;
        if (storage_vvol_copy(st, &rq, progress_note, &pct, &err) < 0)
            fail_msg("%s: vvol copy: %s", cf->label, err.msg);
        assert_int_equal(pct, 100);
        assert_true(world_same_file(src, dst));
    }
    if (rdm != NULL) {
        assert_true(storage_has_cap(st, STORAGE_CAP_RDM_COPY));
        snprintf(src, sizeof(src), "%s/%s", dir, req(rdm, "source"));
        fill_random(src, size, 2);
        assert_false(world_same_file(src, dst));
        memset(&rq, 0, sizeof(rq));
        rq.rdm_device = opt(rdm, "device");
        rq.rdm_lun_uuid = opt(rdm, "lun_uuid");
        if (rq.rdm_device == NULL && rq.rdm_lun_uuid == NULL)
            fail_msg("%s: \"rdm\" names neither \"device\" nor \"lun_uuid\"", cf->label);
        rq.target = &lun;
        pct = 0;
        if (storage_rdm_copy(st, &rq, progress_note, &pct, &err) < 0)
            fail_msg("%s: rdm copy: %s", cf->label, err.msg);
        assert_int_equal(pct, 100);
        assert_true(world_same_file(src, dst));
    }
    if (unknown != NULL) {
        memset(&rq, 0, sizeof(rq));
        rq.vvol_id = req(unknown, "id");
        rq.target = &lun;
        assert_int_equal(storage_vvol_copy(st, &rq, NULL, NULL, &err), -1);
        assert_error(cf, "an unknown VVol", json_object_get(unknown, "error"), &err);
        assert_true(world_same_file(src, dst));
    }
    assert_clean(cf, NULL, &lun);
    storage_lun_clear(&lun);
    storage_free(st);
    return true;
}

/* ---- Prism's verdict on everything the driver sent ---- */

/* Lines of the answer-violation log at path (data "prism"."answer_log": a
 * fake that checks its own answers against a spec Prism checks requests
 * against only, one JSON line per violation), each printed; -1 when the
 * log cannot be read. */
static int
answer_violations(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    int n = 0;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (line[0] == '\n')
            continue;
        print_error("answer breaks the spec: %s", line);
        n++;
    }
    fclose(f);
    return n;
}

static bool
sc_prism_clean(const struct conf *cf)
{
    json_t *x = json_object_get(cf->v->d, "prism");
    const char *alog = opt(x, "answer_log");
    FILE *f;
    char line[8192];
    char op[128];
    int errors = 0;
    int lines = 0;
    int answers = 0;
    bool checked = false;

    if (strcmp(req(x, "ran"), "1") != 0) {
        printf("SKIP %s: Prism check: Prism did not run in this world (see %s/arrays.log)\n",
               cf->v->drv->name, W.dir);
    } else {
        f = fopen(req(x, "log"), "r");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f) != NULL) {
            lines++;
            /* Prism marks error severity with a cross: request or response
             * violations of the schema and failed exchanges (start-arrays'
             * own readiness probe of a path outside the spec aside).  A
             * warning is tolerated only for an answer status the spec does
             * not list. */
            if ((strstr(line, "\xe2\x9c\x96") != NULL && strstr(line, "/__ready") == NULL) ||
                (strstr(line, "Violation:") != NULL &&
                 strstr(line, "Unable to match the returned status code") == NULL)) {
                print_error("prism: %s", line);
                errors++;
            }
        }
        fclose(f);
        assert_true(lines > 0);
        checked = true;
    }
    /* The answers, when the fake checks them itself (an empty path: it did
     * not, e.g. the spec is missing).  Every scenario above has run, faults
     * included: none of them may have drawn an answer that breaks the spec. */
    if (alog != NULL && alog[0] == '\0') {
        printf("SKIP %s: answer check: the fake did not check its answers against the spec "
               "(see %s/arrays.log)\n",
               cf->v->drv->name, W.dir);
    } else if (alog != NULL) {
        answers = answer_violations(alog);
        if (answers < 0)
            print_error("answer log %s cannot be read\n", alog);
        assert_true(answers >= 0);
        checked = true;
    }
    if (!checked)
        return false;
    op_field(req(x, "exercised_op"), op, sizeof(op));
    assert_true(count_calls(cf, op, NULL) > 0);
    assert_int_equal(errors, 0);
    assert_int_equal(answers, 0);
    return true;
}

/* ---- the run ---- */

static struct vendor vendors[MAX_VENDORS];
static size_t nvendors;
static struct conf confs[MAX_VENDORS * 4];
static size_t nconfs;
static struct tcase tcases[MAX_CASES];
static size_t ntcases;

static void
run_case(void **state)
{
    const struct tcase *t = *state;

    if (t->fn(t->cf))
        t->cf->v->passed++;
    else
        t->cf->v->skipped++;
}

static void
add_case(struct CMUnitTest *tests, char **labels, size_t *n, const struct conf *cf,
         const char *name, scenario_fn fn)
{
    if (ntcases >= MAX_CASES || asprintf(&labels[*n], "%s: %s", cf->label, name) < 0)
        abort();
    tcases[ntcases] = (struct tcase){cf, fn};
    tests[*n] = (struct CMUnitTest){labels[*n], run_case, NULL, NULL, &tcases[ntcases]};
    ntcases++;
    (*n)++;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every .json file of dir; 0 when at least one driver runs, -1 on a bad file. */
static int
load_vendors(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char *names[MAX_VENDORS];
    size_t n = 0;
    int rc = 0;

    if (d == NULL) {
        printf("FAIL conformance: cannot open %s\n", dir);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);

        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0 && n < MAX_VENDORS &&
            asprintf(&names[n], "%s/%s", dir, e->d_name) >= 0)
            n++;
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_str);
    for (size_t i = 0; i < n; i++) {
        json_error_t je;
        json_t *doc = json_load_file(names[i], JSON_REJECT_DUPLICATES, &je);
        const char *drv = json_string_value(json_object_get(doc, "driver"));
        const char *base = strrchr(names[i], '/') + 1;
        struct vendor *v;
        json_t *cl = json_object_get(doc, "configurations");
        size_t k;
        json_t *c;

        if (doc == NULL || drv == NULL || json_array_size(cl) == 0 ||
            strncmp(base, drv, strlen(drv)) != 0 || strcmp(base + strlen(drv), ".json") != 0) {
            printf("FAIL conformance: %s: %s\n", names[i],
                   doc == NULL ? je.text
                               : "needs \"driver\" (the file's name) and \"configurations\"");
            json_decref(doc);
            rc = -1;
            continue;
        }
        if (storage_driver_find(drv) == NULL) {
            printf("FAIL conformance: %s: no registered driver '%s'\n", names[i], drv);
            json_decref(doc);
            rc = -1;
            continue;
        }
        if (!storage_driver_built(storage_driver_find(drv))) {
            printf("SKIP conformance %s: %s has data but this build has no '%s' driver\n", drv,
                   names[i], drv);
            json_decref(doc);
            continue;
        }
        v = &vendors[nvendors++];
        v->file = names[i];
        names[i] = NULL;
        v->d = doc;
        v->drv = storage_driver_find(drv);
        json_array_foreach(cl, k, c)
        {
            struct conf *cf;

            if (nconfs >= sizeof(confs) / sizeof(confs[0]))
                abort();
            cf = &confs[nconfs++];

            cf->v = v;
            cf->c = c;
            cf->label = json_string_value(json_object_get(c, "label"));
            cf->tag = json_string_value(json_object_get(c, "tag"));
            cf->last = k + 1 == json_array_size(cl);
            if (cf->label == NULL || cf->tag == NULL) {
                printf("FAIL conformance: %s: a configuration needs \"label\" and \"tag\"\n",
                       v->file);
                rc = -1;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return rc;
}

/* The configuration's cases, as a cmocka group; returns the failures. */
static int
run_conf(const struct conf *cf)
{
    struct CMUnitTest tests[16];
    char *labels[16];
    size_t n = 0;
    json_t *d = cf->v->d;
    int failed;

    /* The data must say what the driver declares. */
    if (json_is_true(json_object_get(d, "fc")) != ((cf->v->drv->caps & STORAGE_CAP_FC) != 0) ||
        (json_is_true(dval(cf, "fc")) && !json_is_true(json_object_get(d, "fc"))) ||
        json_is_object(json_object_get(d, "copies")) !=
            ((cf->v->drv->caps & (STORAGE_CAP_VVOL_COPY | STORAGE_CAP_RDM_COPY)) != 0)) {
        printf("FAIL %s: \"fc\" or \"copies\" of %s disagrees with the driver's caps\n", cf->label,
               cf->v->file);
        return 1;
    }
    if (!json_is_false(dval(cf, "iscsi")))
        add_case(tests, labels, &n, cf, "sequence iscsi", sc_sequence_iscsi);
    else
        printf("SKIP %s: sequence iscsi (the driver%s does not do iSCSI)\n", cf->label,
               json_is_false(json_object_get(d, "iscsi")) ? "" : " in this configuration");
    if (json_is_true(dval(cf, "fc")))
        add_case(tests, labels, &n, cf, "sequence fc", sc_sequence_fc);
    else
        printf("SKIP %s: sequence fc (the driver%s does not do FC)\n", cf->label,
               json_is_true(json_object_get(d, "fc")) ? " in this configuration" : "");
    add_case(tests, labels, &n, cf, "expired session", sc_expired_session);
    add_case(tests, labels, &n, cf, "resolve not found", sc_resolve_not_found);
    if (json_is_object(dval(cf, "create_conflict")))
        add_case(tests, labels, &n, cf, "create conflict", sc_create_conflict);
    else
        printf("SKIP %s: create conflict (the driver creates no groups)\n", cf->label);
    add_case(tests, labels, &n, cf, "server error then success", sc_server_error_then_success);
    add_case(tests, labels, &n, cf, "malformed body", sc_malformed_body);
    add_case(tests, labels, &n, cf, "unreachable", sc_unreachable);
    add_case(tests, labels, &n, cf, "tls", sc_tls);
    if (json_is_object(json_object_get(d, "copies")))
        add_case(tests, labels, &n, cf, "array-side copies", sc_copies);
    if (cf->last && json_is_object(json_object_get(d, "prism")))
        add_case(tests, labels, &n, cf, "prism clean", sc_prism_clean);
    failed = _cmocka_run_group_tests(cf->label, tests, n, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        free(labels[i]);
    return failed;
}

int
main(void)
{
    const char *dir = getenv("POP_CONFORMANCE_DIR");
    struct http_opts ho = {.component = "http.sim"};
    struct perr err = {0};
    int bad = 0;

    if (geteuid() != 0) {
        printf("SKIP: test_conformance needs root (the simulated world's ESXi side runs the "
               "wrapper under chroot)\n");
        return 0;
    }
    if (load_vendors(dir != NULL ? dir : "test/conformance") < 0)
        bad = 1;
    if (nvendors == 0) {
        printf("SKIP: no conformance data file has a driver in this build\n");
        return bad;
    }
    if (world_start(&W, NULL) < 0) {
        printf("SKIP: the simulated world (vCenter and arrays) did not start; see %s/start.log "
               "and %s/arrays.log\n",
               W.dir, W.dir);
        return bad;
    }
    ho.ca_file = world_get(&W, "WORLD_ARRAY_CA");
    if (http_transport_curl_new(&ho, &state_http, &err) < 0) {
        printf("FAIL conformance: the /_sim/state client: %s\n", err.msg);
        world_stop(&W);
        return 1;
    }
    expanded = json_object();
    for (size_t i = 0; i < nconfs; i++)
        confs[i].v->failed += run_conf(&confs[i]);
    for (size_t i = 0; i < nvendors; i++) {
        printf("conformance %s: %d passed, %d failed\n", vendors[i].drv->name, vendors[i].passed,
               vendors[i].failed);
        if (vendors[i].skipped > 0)
            printf("SKIP conformance %s: %d case(s) did not apply in this world\n",
                   vendors[i].drv->name, vendors[i].skipped);
        bad |= vendors[i].failed != 0;
        json_decref(vendors[i].d);
        free(vendors[i].file);
    }
    json_decref(expanded);
    http_transport_free(&state_http);
    world_stop(&W);
    return bad;
}
