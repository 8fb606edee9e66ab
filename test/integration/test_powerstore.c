/*
 * PowerStore through the real binary against the simulated world
 * (test/sim/arrays/powerstore.py): a failure injected at map and at unmap
 * (exit status, the one-line message, the leftover named), and an ESXi host
 * that is a member of a host group (attach and detach go through the group).
 * One world for every case; each populate is test/sim/populate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test/fake/world.h"

static struct world w;

/* The populate's stderr and JSON result, in the world's directory. */
#define ERR_LOG "\"$WORLD_DIR/ps-err.log\""
#define RESULT  "\"$WORLD_DIR/ps-result.json\""

static int
populate(const char *method)
{
    return world_sh(&w, "test/sim/populate \"$WORLD_DIR\" powerstore %s > " RESULT " 2> " ERR_LOG,
                    method);
}

/* The last line of stderr contains every one of the NULL-terminated texts. */
static void
expect_last_line(const char *first, ...)
{
    va_list ap;
    const char *s;

    va_start(ap, first);
    for (s = first; s != NULL; s = va_arg(ap, const char *)) {
        if (world_sh(&w, "tail -n 1 " ERR_LOG " | grep -qF -- '%s'", s) != 0) {
            world_sh(&w, "tail -n 3 " ERR_LOG " >&2");
            fail_msg("the final message does not say '%s'", s);
        }
    }
    va_end(ap);
}

/* Mappings of the target volume in the array's /_sim/state. */
static int
mappings(void)
{
    return world_sh(&w, "exit $(curl -sS --cacert \"$WORLD_ARRAY_CA\" "
                        "\"https://$WORLD_POWERSTORE_HOSTNAME/_sim/state\" | python3 -c "
                        "'import json,sys; d=json.load(sys.stdin); print(sum(1 for m in "
                        "d[\"mappings\"] if m[\"volume\"] == sys.argv[1]))' "
                        "\"$WORLD_POWERSTORE_VOLUME\")");
}

static void
reset(void)
{
    assert_int_equal(world_sh(&w, ": > \"$WORLD_POWERSTORE_FAULTS\"; : > "
                                  "\"$WORLD_POWERSTORE_CALLS\"; : > \"$WORLD_FAULTS\""),
                     0);
}

static void
expect_clean(void)
{
    assert_int_equal(mappings(), 0);
    assert_int_equal(world_sh(&w, "! ls \"$WORLD_FABRIC/luns\" | grep -q naa."), 0);
    assert_int_equal(world_sh(&w, "grep -q '\"result\": *\"success\"' " RESULT), 0);
}

static void
test_map_fails(void **state)
{
    (void)state;
    reset();
    assert_int_equal(world_sh(&w, "echo 'host_attach http 500' > \"$WORLD_POWERSTORE_FAULTS\""), 0);
    assert_int_equal(populate("vib"), 1);
    expect_last_line("map: ", "injected fault", NULL);
    assert_int_equal(world_sh(&w, "grep -q '\"result\": *\"failure\"' " RESULT), 0);
    assert_int_equal(mappings(), 0);
    /* A refused attach may still have happened (a lost answer looks the same),
     * so cleanup detaches once; detaching what is not attached is harmless. */
    assert_int_equal(world_sh(&w, "grep -c '\"op\": \"host_detach\"' \"$WORLD_POWERSTORE_CALLS\" "
                                  "| grep -qx 1"),
                     0);
}

static void
test_unmap_fails(void **state)
{
    (void)state;
    reset();
    assert_int_equal(world_sh(&w, "echo 'host_detach http 500' > \"$WORLD_POWERSTORE_FAULTS\""), 0);
    assert_int_equal(populate("vib"), 0);
    expect_last_line("left behind", "csivol-sim-0001", "still mapped", NULL);
    assert_int_equal(mappings(), 1);
    /* Once the array answers again, a new run copies and leaves nothing. */
    reset();
    assert_int_equal(populate("vib"), 0);
    expect_clean();
}

/* The ESXi host is defined on the array and is a member of a host group:
 * the volume is attached to, and detached from, the whole group. */
static void
test_host_in_host_group(void **state)
{
    (void)state;
    reset();
    assert_int_equal(world_sh(&w,
                              "B=\"https://$WORLD_POWERSTORE_HOSTNAME/api/rest\"; "
                              "U=\"$WORLD_POWERSTORE_USERNAME:$WORLD_POWERSTORE_PASSWORD\"; "
                              "c() { curl -sSf --cacert \"$WORLD_ARRAY_CA\" -u \"$U\" "
                              "-H 'Content-Type: application/json' \"$@\"; }; "
                              "id=$(c \"$B/host?select=id&os_type=eq.ESXi\" | python3 -c "
                              "'import json,sys; r=json.load(sys.stdin); assert len(r) == 1; "
                              "print(r[0][\"id\"])') && "
                              "c -X POST -d \"{\\\"name\\\":\\\"esx-cluster\\\",\\\"host_ids\\\":"
                              "[\\\"$id\\\"]}\" \"$B/host_group\" >/dev/null"),
                     0);
    assert_int_equal(world_sh(&w, ": > \"$WORLD_POWERSTORE_CALLS\""), 0);
    assert_int_equal(populate("ssh"), 0);
    expect_clean();
    assert_int_equal(world_sh(&w, "grep -q '\"op\": \"host_group_attach\".*\"status\": 204' "
                                  "\"$WORLD_POWERSTORE_CALLS\" && grep -q '\"op\": "
                                  "\"host_group_detach\".*\"status\": 204' "
                                  "\"$WORLD_POWERSTORE_CALLS\" && ! grep -q '\"op\": "
                                  "\"host_\\(at\\|de\\)tach\"' \"$WORLD_POWERSTORE_CALLS\""),
                     0);
}

static int
setup(void **state)
{
    static const char *const env[] = {"WORLD_NO_PRISM=1", NULL};

    (void)state;
    return world_start_chroot(&w, env) < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
    (void)state;
    world_stop(&w);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_fails),
        cmocka_unit_test(test_unmap_fails),
        cmocka_unit_test(test_host_in_host_group),
    };

    return cmocka_run_group_tests_name("powerstore through the binary", tests, setup, teardown);
}
