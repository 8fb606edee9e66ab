/*
 * The pure parts of the SSH clone method: the command strings of the
 * restricted-key protocol, the authorized_keys lines, and the parsing of the
 * wrapper's XML replies.  (test/integration/test_ssh.c runs them against sshd.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "esxi/ssh_carrier.h"
#include "esxi/vib.h"
#include "esxi/wrapper.h"

#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF6t5+AqvOWMA8W+FPeCxtR7l5vzR5NEmUgpoyCC2YQx pop"

static void
test_command_quoting(void **state)
{
    const char *args[] = {"--clone",
                          "-s",
                          "/vmfs/volumes/ds/VM 'q' \"x&y\"/$(id).vmdk",
                          "-t",
                          "/vmfs/devices/disks/naa.1",
                          NULL};
    const char *version[] = {"--version", NULL};
    const char *nl[] = {"--task-get", "-i", "a\nb", NULL};
    struct perr err = {0};
    char *cmd = NULL;

    (void)state;
    assert_int_equal(ssh_wrapper_command("ds", args, &cmd, &err), 0);
    /* Only the word that needs it is quoted. */
    assert_string_equal(cmd, "DS=ds;CMD=--clone -s '/vmfs/volumes/ds/VM '\\''q'\\'' "
                             "\"x&y\"/$(id).vmdk' -t /vmfs/devices/disks/naa.1");
    free(cmd);
    assert_int_equal(ssh_wrapper_command("DS \"a&b\" <1>", version, &cmd, &err), 0);
    assert_string_equal(cmd, "DS=DS \"a&b\" <1>;CMD=--version");
    free(cmd);
    {
        const char *glob[] = {"--task-get", "-i", "*", NULL};
        const char *empty[] = {"--task-get", "-i", "", NULL};

        assert_int_equal(ssh_wrapper_command("ds", glob, &cmd, &err), 0);
        assert_string_equal(cmd, "DS=ds;CMD=--task-get -i '*'");
        free(cmd);
        assert_int_equal(ssh_wrapper_command("ds", empty, &cmd, &err), 0);
        assert_string_equal(cmd, "DS=ds;CMD=--task-get -i ''");
    }
    free(cmd);
    assert_int_equal(ssh_wrapper_command("ds", nl, &cmd, &err), -1);
    assert_int_equal(err.code, PERR_USAGE);
    assert_null(cmd);
    for (size_t i = 0; i < 5; i++) {
        static const char *const bad[] = {"a;b", "a/b", ".", "..", ""};

        perr_clear(&err);
        assert_int_equal(ssh_wrapper_command(bad[i], version, &cmd, &err), -1);
        assert_int_equal(err.code, PERR_USAGE);
    }
}

/* Mixed fleets: for plain paths the command is, byte for byte, what the Go
 * populator sends (forklift-populator-behaviour §6.3: "DS=<ds>;CMD=<op> <args
 * joined with single spaces>"), so the Go wrapper serves ours and ours the Go one. */
static void
test_command_go_form(void **state)
{
    static const char *const ops[][6] = {
        {"--clone", "-s", "/vmfs/volumes/san-ds-1/vm-1/vm-1.vmdk", "-t",
         "/vmfs/devices/disks/naa.600a098038314d4f4e2b4d6a6f5a7a31", NULL},
        {"--task-get", "-i", "0a1b2c3d-0000-4e5f-8a9b-0c1d2e3f4a5b", NULL},
        {"--task-clean", "-i", "0a1b2c3d-0000-4e5f-8a9b-0c1d2e3f4a5b", NULL},
        {"--version", NULL},
    };
    static const char *const go[] = {
        "DS=san-ds-1;CMD=--clone -s /vmfs/volumes/san-ds-1/vm-1/vm-1.vmdk -t "
        "/vmfs/devices/disks/naa.600a098038314d4f4e2b4d6a6f5a7a31",
        "DS=san-ds-1;CMD=--task-get -i 0a1b2c3d-0000-4e5f-8a9b-0c1d2e3f4a5b",
        "DS=san-ds-1;CMD=--task-clean -i 0a1b2c3d-0000-4e5f-8a9b-0c1d2e3f4a5b",
        "DS=san-ds-1;CMD=--version",
    };
    struct perr err = {0};

    (void)state;
    for (size_t i = 0; i < sizeof(go) / sizeof(go[0]); i++) {
        char *cmd = NULL;

        assert_int_equal(ssh_wrapper_command("san-ds-1", ops[i], &cmd, &err), 0);
        assert_string_equal(cmd, go[i]);
        free(cmd);
    }
}

/* The wrapper version scheme: never an upstream X.Y.Z, always above 0.3.3. */
static void
test_wrapper_version_scheme(void **state)
{
    const char *v = esxi_wrapper_version();
    int cmp = 0;

    (void)state;
    assert_true(esxi_wrapper_version_is_ours(v));
    assert_int_equal(version_compare(v, WRAPPER_UPSTREAM_VERSION, &cmp), 0);
    assert_int_equal(cmp, 1);
    /* Equal to no three-part version: dotted comparison pads with zeros. */
    assert_int_equal(version_compare("0.5.0.1", "0.5.0", &cmp), 0);
    assert_int_equal(cmp, 1);
    assert_false(esxi_wrapper_version_is_ours("0.3.3"));
    assert_false(esxi_wrapper_version_is_ours("0.5.0.0"));
    assert_false(esxi_wrapper_version_is_ours("0.5.0.1.2"));
    assert_false(esxi_wrapper_version_is_ours("0.5.x.1"));
    assert_false(esxi_wrapper_version_is_ours("dev"));
    assert_true(esxi_wrapper_version_is_ours("1.0.0.7"));
}

static void
test_key_lines(void **state)
{
    /* RestrictedSSHCommandTemplate as forklift-populator-behaviour §6.1 prints it. */
    static const char go[] =
        "command=\"sh -c 'DS=$(echo \\\"$SSH_ORIGINAL_COMMAND\\\" | sed -n "
        "\\\"s/^DS=\\\\([^;]*\\\\);.*/\\\\1/p\\\"); CMD=$(echo \\\"$SSH_ORIGINAL_COMMAND\\\" | "
        "sed -n \\\"s/^DS=[^;]*;CMD=\\\\(.*\\\\)/\\\\1/p\\\"); if [ -z \\\"$DS\\\" ]; then echo "
        "\\\"SSH_OK\\\"; else SSH_ORIGINAL_COMMAND=\\\"$CMD\\\" exec sh "
        "/vmfs/volumes/$DS/secure-vmkfstools-wrapper; fi'\",no-port-forwarding,"
        "no-agent-forwarding,no-X11-forwarding " KEY;
    char *line;

    (void)state;
    line = ssh_authorized_keys_line(KEY "\n", SSH_KEY_LINE_GO);
    assert_string_equal(line, go);
    free(line);
    line = ssh_authorized_keys_line(KEY, SSH_KEY_LINE_IMPROVED);
    assert_non_null(strstr(line, "exec sh \\\"/vmfs/volumes/$DS/secure-vmkfstools-wrapper\\\""));
    assert_non_null(strstr(line, "case \\\"$DS\\\" in */*|.|..)"));
    assert_non_null(strstr(line, ",no-X11-forwarding,no-pty " KEY));
    assert_null(strchr(line, '\n'));
    free(line);
}

static void
test_reply_parse(void **state)
{
    static const char ok[] =
        "<?xml version=\"1.0\" ?>\n"
        "<output xmlns=\"http://www.vmware.com/Products/ESX/5.0/esxcli/\">\n"
        "    <structure typeName=\"result\">\n"
        "        <field name=\"status\"><string>0</string></field>\n"
        "        <field name=\"message\"><string>{&quot;version&quot;: &quot;0.4.0&quot;, "
        "&quot;x&quot;: &quot;&lt;&amp;&gt;&quot;}</string></field>\n"
        "    </structure>\n"
        "</output>\n";
    static const char empty[] = "<output><structure><field name=\"status\"><string>0</string>"
                                "</field><field name=\"message\"><string></string></field>"
                                "</structure></output>";
    static const char nostatus[] = "<output><structure><field name=\"message\"><string>x</string>"
                                   "</field></structure></output>";
    static const char badstatus[] = "<output><structure><field name=\"status\"><string>x1</string>"
                                    "</field></structure></output>";
    static const char doctype[] = "<!DOCTYPE o [<!ENTITY e \"x\">]><output>&e;</output>";
    struct wrapper_reply r = {0};
    struct perr err = {0};

    (void)state;
    assert_int_equal(ssh_wrapper_reply_parse(ok, sizeof(ok) - 1, &r, &err), 0);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.message, "{\"version\": \"0.4.0\", \"x\": \"<&>\"}");
    wrapper_reply_clear(&r);
    assert_int_equal(ssh_wrapper_reply_parse(empty, sizeof(empty) - 1, &r, &err), 0);
    assert_string_equal(r.message, "");
    wrapper_reply_clear(&r);
    assert_int_equal(ssh_wrapper_reply_parse(nostatus, sizeof(nostatus) - 1, &r, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_non_null(strstr(err.msg, "status field not found"));
    perr_clear(&err);
    assert_int_equal(ssh_wrapper_reply_parse(badstatus, sizeof(badstatus) - 1, &r, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    perr_clear(&err);
    assert_int_equal(ssh_wrapper_reply_parse(doctype, sizeof(doctype) - 1, &r, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    perr_clear(&err);
    assert_int_equal(ssh_wrapper_reply_parse("", 0, &r, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    assert_null(r.message);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_quoting),
        cmocka_unit_test(test_command_go_form),
        cmocka_unit_test(test_wrapper_version_scheme),
        cmocka_unit_test(test_key_lines),
        cmocka_unit_test(test_reply_parse),
    };

    return cmocka_run_group_tests_name("ssh carrier: commands, key lines, replies", tests, NULL,
                                       NULL);
}
