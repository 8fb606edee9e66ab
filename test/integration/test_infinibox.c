/*
 * InfiniBox through the binary against the simulated world (one world for
 * every case): an authentication failure, an ESXi host the array does not
 * know, and failures injected at map and at unmap.  Each run goes through
 * test/sim/populate, with the fake's faults file to inject the failure, and
 * is checked on its exit status, its last line and the array's call log.
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

/* One populate with the vib method; PREFIX is put before the command (env
 * assignments).  Output in $WORLD_DIR/ib.out, log in $WORLD_DIR/ib.err. */
static int
populate(const char *prefix)
{
    return world_sh(&w,
                    "%s bash test/sim/populate \"$WORLD_DIR\" infinibox vib >\"$WORLD_DIR/ib.out\" "
                    "2>\"$WORLD_DIR/ib.err\"",
                    prefix);
}

/* True (0) when the last line of the log matches the extended regex. */
static int
last_line_matches(const char *re)
{
    return world_sh(&w, "tail -1 \"$WORLD_DIR/ib.err\" | grep -Eqi -- '%s'", re);
}

static void
fault(const char *line)
{
    assert_int_equal(world_sh(&w, "printf '%%s\\n' '%s' >\"$WORLD_INFINIBOX_FAULTS\"", line), 0);
}

static void
reset(void)
{
    assert_int_equal(world_sh(&w, ": >\"$WORLD_INFINIBOX_FAULTS\"; : >\"$WORLD_INFINIBOX_CALLS\""),
                     0);
}

/* Calls of the fake's log with this method ("POST", "DELETE"). */
static int
calls_with(const char *method)
{
    return world_sh(&w, "exit $(grep -c '\"method\": \"%s\"' \"$WORLD_INFINIBOX_CALLS\")", method);
}

/* Nothing mapped on the array and no device for the host. */
static void
expect_clean(void)
{
    assert_int_equal(
        world_sh(&w, "curl -sS --cacert \"$WORLD_ARRAY_CA\" "
                     "\"https://$WORLD_INFINIBOX_HOSTNAME/_sim/state\" | python3 -c "
                     "'import json,sys; sys.exit(len(json.load(sys.stdin)[\"mappings\"]))'"),
        0);
    assert_int_equal(world_sh(&w, "test ! -e \"$WORLD_FABRIC/luns/$WORLD_INFINIBOX_NAA.json\""), 0);
}

static void
test_auth_failure(void **state)
{
    (void)state;
    reset();
    /* The wrapper only changes the password the binary sees. */
    assert_int_equal(world_sh(&w, "printf '#!/bin/sh\\nSTORAGE_PASSWORD=wrong exec %%s \"$@\"\\n' "
                                  "\"$PWD/build/vsphere-copy-offload-populator\" "
                                  ">\"$WORLD_DIR/badpw\" && chmod +x \"$WORLD_DIR/badpw\""),
                     0);
    assert_int_equal(populate("POP_BIN=\"$WORLD_DIR/badpw\""), 1);
    assert_int_equal(last_line_matches("authentication failed for user .admin."), 0);
    assert_int_equal(last_line_matches("UNAUTHORIZED"), 0);
    assert_int_equal(last_line_matches("not found"), 1);
    assert_int_equal(calls_with("POST"), 0);
    assert_int_equal(calls_with("DELETE"), 0);
    expect_clean();
}

/* The array answers a host list without the ESXi host: a clear error that
 * names the initiators, and nothing is created or mapped. */
static void
test_host_missing(void **state)
{
    (void)state;
    reset();
    fault("hosts_get http 200 {\"result\":[{\"id\":7,\"name\":\"ocp-worker-9\",\"ports\":[]}],"
          "\"error\":null,\"metadata\":{\"ready\":true,\"page\":1,\"pages_total\":1,"
          "\"page_size\":2,\"number_of_objects\":1}}");
    assert_int_equal(populate(""), 1);
    assert_int_equal(
        last_line_matches("no InfiniBox host has any of the ESXi initiators .(fc\\.|iqn\\.)"), 0);
    assert_int_equal(last_line_matches("never creates hosts"), 0);
    assert_int_equal(calls_with("POST"), 0);
    assert_int_equal(calls_with("DELETE"), 0);
    expect_clean();
}

/* The map is refused: exit 1, the array's words in the message, the
 * cleanup's unmap still runs and finds nothing. */
static void
test_map_fails(void **state)
{
    (void)state;
    reset();
    fault("host_luns_post http 200 {\"result\":null,\"error\":{\"code\":\"LUN_IN_USE\","
          "\"message\":\"No free LUN on the host\",\"reasons\":[],\"severity\":\"ERROR\","
          "\"is_remote\":false,\"data\":null},\"metadata\":{\"ready\":true}}");
    assert_int_equal(populate(""), 1);
    assert_int_equal(last_line_matches("No free LUN on the host"), 0);
    assert_int_equal(calls_with("POST"), 1);
    expect_clean();
}

/* The unmap is refused: the copy is done, so exit 0 with a warning naming
 * what is left; the mapping is still
 * there until removed by hand (here: the same call without the fault). */
static void
test_unmap_fails(void **state)
{
    (void)state;
    reset();
    fault("host_lun_delete http 200 {\"result\":null,\"error\":{\"code\":\"INTERNAL_ERROR\","
          "\"message\":\"Unmap refused by the test\",\"reasons\":[],\"severity\":\"ERROR\","
          "\"is_remote\":false,\"data\":null},\"metadata\":{\"ready\":true}}");
    assert_int_equal(populate(""), 0);
    assert_int_equal(world_sh(&w, "grep -q 'Unmap refused by the test' \"$WORLD_DIR/ib.err\""), 0);
    assert_int_equal(world_sh(&w, "test -e \"$WORLD_FABRIC/luns/$WORLD_INFINIBOX_NAA.json\""), 0);
    reset();
    assert_int_equal(
        world_sh(&w,
                 "python3 -c 'import json,sys; [print(m[\"host_id\"], m[\"volume_id\"]) for m in "
                 "json.load(open(sys.argv[1]))[\"luns\"]]' \"$WORLD_INFINIBOX_STATE\" | "
                 "while read -r h v; do curl -sSf -o /dev/null --cacert \"$WORLD_ARRAY_CA\" "
                 "-u \"$WORLD_INFINIBOX_USERNAME:$WORLD_INFINIBOX_PASSWORD\" -X DELETE "
                 "\"https://$WORLD_INFINIBOX_HOSTNAME/api/rest/hosts/$h/luns/volume_id/$v"
                 "?approved=true\" || exit 1; done"),
        0);
    expect_clean();
}

static int
setup(void **state)
{
    (void)state;
    return world_start_chroot(&w, NULL) < 0 ? -1 : 0;
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
        cmocka_unit_test(test_auth_failure),
        cmocka_unit_test(test_host_missing),
        cmocka_unit_test(test_map_fails),
        cmocka_unit_test(test_unmap_fails),
    };

    return cmocka_run_group_tests_name("infinibox through the binary", tests, setup, teardown);
}
