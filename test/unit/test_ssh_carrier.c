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
    assert_string_equal(cmd, "DS=ds;CMD='--clone' '-s' '/vmfs/volumes/ds/VM '\\''q'\\'' "
                             "\"x&y\"/$(id).vmdk' '-t' '/vmfs/devices/disks/naa.1'");
    free(cmd);
    assert_int_equal(ssh_wrapper_command("DS \"a&b\" <1>", version, &cmd, &err), 0);
    assert_string_equal(cmd, "DS=DS \"a&b\" <1>;CMD='--version'");
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
        cmocka_unit_test(test_key_lines),
        cmocka_unit_test(test_reply_parse),
    };

    return cmocka_run_group_tests_name("ssh carrier: commands, key lines, replies", tests, NULL,
                                       NULL);
}
