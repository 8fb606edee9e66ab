/*
 * The metrics registry and its text rendering, read back the way the
 * populator controller reads it: with the regular expressions of behaviour
 * spec §2.3, translated from Go syntax to POSIX extended syntax.
 */
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "lib/metrics.h"

#define UID "8c1f2b6e-3d4a-4f5b-9c7d-0e1f2a3b4c5d"

/* The controller's expressions as written in behaviour §2.3 (Go syntax);
 * "UID" stands for the PVC UID. */
#define RE_PROGRESS                                                                                \
    "vsphere_xcopy_volume_populator_progress\\{[^}]*owner_uid=\"UID\"[^}]*\\} (\\d+\\.?\\d*)"
#define RE_XCOPY "vsphere_xcopy_volume_populator_xcopy_used\\{[^}]*owner_uid=\"UID\"[^}]*\\} (\\d+)"
#define RE_VIB   "vsphere_xcopy_volume_populator_vib_version\\{[^}]*owner_uid=\"UID\"[^}]*\\} (\\d+)"
#define RE_DONE                                                                                    \
    "vsphere_xcopy_volume_populator_copy_duration_seconds\\{[^}]*owner_uid=\"UID\"[^}]*\\} "       \
    "([0-9.]+)"
#define RE_PROVISIONED                                                                             \
    "vsphere_xcopy_volume_populator_source_disk_bytes\\{[^}]*owner_uid=\"UID\"[^}]*"               \
    "type=\"provisioned\"[^}]*\\} ([0-9.e+]+)"
#define RE_ALLOCATED                                                                               \
    "vsphere_xcopy_volume_populator_source_disk_bytes\\{[^}]*owner_uid=\"UID\"[^}]*"               \
    "type=\"datastore_allocated\"[^}]*\\} ([0-9.e+]+)"

/* Go RE2 -> POSIX ERE: \d has no ERE form, and \{ \} are undefined in ERE. */
static char *
re_translate(const char *go_re, const char *uid)
{
    struct buf b = {0};
    struct perr err = {0};

    for (const char *p = go_re; *p != '\0'; p++) {
        if (strncmp(p, "UID", 3) == 0) {
            assert_int_equal(buf_adds(&b, uid, &err), 0);
            p += 2;
        } else if (p[0] == '\\' && p[1] == 'd') {
            assert_int_equal(buf_adds(&b, "[0-9]", &err), 0);
            p++;
        } else if (p[0] == '\\' && (p[1] == '{' || p[1] == '}')) {
            assert_int_equal(buf_addf(&b, &err, "[%c]", p[1]), 0);
            p++;
        } else {
            assert_int_equal(buf_add(&b, p, 1, &err), 0);
        }
    }
    return buf_steal(&b);
}

/* Group 1 of the first match of go_re in text, or NULL; *line_out (when
 * given) receives the whole match, as the controller uses it to pick labels. */
static char *
re_find(const char *text, const char *go_re, char **line_out)
{
    char *ere = re_translate(go_re, UID);
    regmatch_t mt[2];
    regex_t re;
    char *group = NULL;

    if (line_out != NULL)
        *line_out = NULL;
    assert_int_equal(regcomp(&re, ere, REG_EXTENDED), 0);
    if (regexec(&re, text, 2, mt, 0) == 0) {
        group = strndup(text + mt[1].rm_so, (size_t)(mt[1].rm_eo - mt[1].rm_so));
        if (line_out != NULL)
            *line_out = strndup(text + mt[0].rm_so, (size_t)(mt[0].rm_eo - mt[0].rm_so));
    }
    regfree(&re);
    free(ere);
    return group;
}

/* The value of label name="..." inside a matched line. */
static char *
label_of(const char *line, const char *name)
{
    char pat[128];
    regmatch_t mt[2];
    regex_t re;
    char *v = NULL;

    snprintf(pat, sizeof(pat), "[{,]%s=\"([^\"]*)\"", name);
    assert_int_equal(regcomp(&re, pat, REG_EXTENDED), 0);
    if (regexec(&re, line, 2, mt, 0) == 0)
        v = strndup(line + mt[1].rm_so, (size_t)(mt[1].rm_eo - mt[1].rm_so));
    regfree(&re);
    return v;
}

static char *
render(struct metrics *m)
{
    struct buf b = {0};
    struct perr err = {0};

    assert_int_equal(metrics_render(m, &b, &err), 0);
    return buf_steal(&b);
}

static struct metrics *
new_metrics(void)
{
    struct perr err = {0};
    struct metrics *m = metrics_new(UID, &err);

    assert_non_null(m);
    return m;
}

static void
assert_label(const char *line, const char *name, const char *want)
{
    char *v = label_of(line, name);

    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

static size_t
count_lines_with(const char *text, const char *needle)
{
    size_t n = 0;

    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void
test_empty(void **state)
{
    struct metrics *m = new_metrics();
    struct perr err = {0};
    char *text;

    (void)state;
    text = render(m);
    /* A family without samples prints nothing, not even HELP/TYPE. */
    assert_string_equal(text, "");
    assert_null(re_find(text, RE_DONE, NULL));
    assert_false(metrics_copy_is_done(m));
    free(text);
    metrics_free(m);
    metrics_free(NULL);

    /* No owner (a run by hand): the label is there, empty. */
    m = metrics_new("", &err);
    assert_non_null(m);
    assert_int_equal(metrics_progress(m, 7, &err), 0);
    text = render(m);
    assert_string_equal(text, "# HELP vsphere_xcopy_volume_populator_progress "
                              "Highest copy progress reported so far, in percent.\n"
                              "# TYPE vsphere_xcopy_volume_populator_progress counter\n"
                              "vsphere_xcopy_volume_populator_progress{owner_uid=\"\"} 7\n");
    free(text);
    metrics_free(m);
}

static void
test_progress(void **state)
{
    struct metrics *m = new_metrics();
    struct perr err = {0};
    char *text, *v;

    (void)state;
    assert_int_equal(metrics_progress(m, 0, &err), 0);
    text = render(m);
    v = re_find(text, RE_PROGRESS, NULL);
    assert_non_null(v);
    assert_string_equal(v, "0");
    free(v);
    free(text);

    assert_int_equal(metrics_progress(m, 12.7, &err), 0);
    text = render(m);
    v = re_find(text, RE_PROGRESS, NULL);
    assert_non_null(v);
    assert_string_equal(v, "12.7");
    /* The controller truncates the value to an integer. */
    assert_int_equal((long)strtod(v, NULL), 12);
    free(v);
    free(text);

    /* A counter: lower readings and NaN do not move it back. */
    assert_int_equal(metrics_progress(m, 5, &err), 0);
    assert_int_equal(metrics_progress(m, NAN, &err), 0);
    assert_int_equal(metrics_progress(m, -3, &err), 0);
    text = render(m);
    v = re_find(text, RE_PROGRESS, NULL);
    assert_string_equal(v, "12.7");
    free(v);
    free(text);

    assert_int_equal(metrics_progress(m, 42, &err), 0);
    text = render(m);
    assert_non_null(
        strstr(text, "\nvsphere_xcopy_volume_populator_progress{owner_uid=\"" UID "\"} 42\n"));
    assert_non_null(strstr(text, "# TYPE vsphere_xcopy_volume_populator_progress counter\n"));
    free(text);

    assert_int_equal(metrics_progress(m, 250, &err), 0);
    text = render(m);
    v = re_find(text, RE_PROGRESS, NULL);
    assert_string_equal(v, "100");
    free(v);
    assert_int_equal(count_lines_with(text, "progress{"), 1);
    free(text);
    metrics_free(m);
}

static void
test_xcopy_used(void **state)
{
    struct metrics *m = new_metrics();
    struct perr err = {0};
    char *text, *v;

    (void)state;
    assert_int_equal(metrics_xcopy_used(m, "vib", "ontap", 1, &err), 0);
    text = render(m);
    v = re_find(text, RE_XCOPY, NULL);
    assert_non_null(v);
    assert_string_equal(v, "1");
    free(v);
    free(text);

    assert_int_equal(metrics_xcopy_used(m, "vib", "ontap", 0, &err), 0);
    text = render(m);
    v = re_find(text, RE_XCOPY, NULL);
    assert_string_equal(v, "0");
    free(v);
    assert_int_equal(count_lines_with(text, "xcopy_used{"), 1);
    assert_non_null(strstr(text, "xcopy_used{clone_method=\"vib\",owner_uid=\"" UID
                                 "\",storage_vendor=\"ontap\"} 0\n"));
    assert_non_null(strstr(text, "# TYPE vsphere_xcopy_volume_populator_xcopy_used gauge\n"));
    free(text);

    /* Any non-zero report is 1. */
    assert_int_equal(metrics_xcopy_used(m, "vib", "ontap", 7, &err), 0);
    text = render(m);
    v = re_find(text, RE_XCOPY, NULL);
    assert_string_equal(v, "1");
    free(v);
    free(text);
    metrics_free(m);
}

static void
test_vib_version(void **state)
{
    struct metrics *m = new_metrics();
    struct perr err = {0};
    char *text, *v, *line;

    (void)state;
    assert_int_equal(metrics_vib_version(m, NULL, &err), 0);
    text = render(m);
    v = re_find(text, RE_VIB, &line);
    assert_non_null(v);
    assert_string_equal(v, "1");
    assert_label(line, "version", "unknown");
    free(v);
    free(line);
    free(text);

    /* A detected version replaces "unknown": one line, so the controller's
     * first match is the current version. */
    assert_int_equal(metrics_vib_version(m, "0.3.3", &err), 0);
    text = render(m);
    v = re_find(text, RE_VIB, &line);
    assert_string_equal(v, "1");
    assert_label(line, "version", "0.3.3");
    assert_int_equal(count_lines_with(text, "vib_version{"), 1);
    free(v);
    free(line);
    free(text);
    metrics_free(m);
}

static void
test_completion(void **state)
{
    struct metrics *m = new_metrics();
    struct perr err = {0};
    char *text, *v, *line;

    (void)state;
    assert_int_equal(metrics_xcopy_used(m, "vib", "ontap", 1, &err), 0);
    text = render(m);
    assert_null(re_find(text, RE_DONE, NULL));
    free(text);

    assert_int_equal(metrics_copy_done(m, "vib", "iscsi", "ontap", true, 12.345678, &err), 0);
    assert_true(metrics_copy_is_done(m));
    text = render(m);
    v = re_find(text, RE_DONE, &line);
    assert_non_null(v);
    assert_string_equal(v, "12.345678");
    assert_label(line, "result", "success");
    assert_label(line, "storage_vendor", "ontap");
    assert_label(line, "clone_method", "vib");
    assert_label(line, "xcopy_used", "1");
    assert_label(line, "storage_protocol", "iscsi");
    free(v);
    free(line);
    free(text);

    /* Set exactly once: a later outcome changes nothing. */
    assert_int_equal(metrics_copy_done(m, "ssh", "fc", "pure", false, 99, &err), 0);
    text = render(m);
    assert_int_equal(count_lines_with(text, "copy_duration_seconds{"), 1);
    v = re_find(text, RE_DONE, &line);
    assert_string_equal(v, "12.345678");
    assert_label(line, "result", "success");
    free(v);
    free(line);
    free(text);
    metrics_free(m);
}

static void
test_completion_failure(void **state)
{
    struct metrics *m = new_metrics();
    struct perr err = {0};
    char *text, *v, *line;

    (void)state;
    /* No xcopy report ever came: xcopy_used is 0; protocol is n/a on failure. */
    assert_int_equal(metrics_copy_done(m, "ssh", "fc", "powerstore", false, 3, &err), 0);
    text = render(m);
    v = re_find(text, RE_DONE, &line);
    assert_non_null(v);
    assert_string_equal(v, "3");
    assert_label(line, "result", "failure");
    assert_label(line, "storage_vendor", "powerstore");
    assert_label(line, "clone_method", "ssh");
    assert_label(line, "xcopy_used", "0");
    assert_label(line, "storage_protocol", "n/a");
    free(v);
    free(line);
    free(text);
    metrics_free(m);

    /* Success with an unknown protocol (VVol/RDM) is n/a as well. */
    m = new_metrics();
    assert_int_equal(metrics_copy_done(m, "vvol", NULL, "pure", true, 1.5, &err), 0);
    text = render(m);
    v = re_find(text, RE_DONE, &line);
    assert_string_equal(v, "1.5");
    assert_label(line, "storage_protocol", "n/a");
    assert_label(line, "result", "success");
    free(v);
    free(line);
    free(text);
    metrics_free(m);
}

static void
test_source_disk_bytes(void **state)
{
    struct metrics *m = new_metrics();
    struct perr err = {0};
    char *text, *v;

    (void)state;
    assert_int_equal(
        metrics_source_disk_bytes(m, "vib", "fc", "pure", 1073741824ULL, 536870912ULL, &err), 0);
    text = render(m);
    v = re_find(text, RE_PROVISIONED, NULL);
    assert_non_null(v);
    assert_string_equal(v, "1.073741824e+09");
    assert_true(strtod(v, NULL) == 1073741824.0);
    free(v);
    v = re_find(text, RE_ALLOCATED, NULL);
    assert_non_null(v);
    assert_string_equal(v, "5.36870912e+08");
    assert_true(strtod(v, NULL) == 536870912.0);
    free(v);
    assert_non_null(strstr(text, "source_disk_bytes{clone_method=\"vib\",owner_uid=\"" UID
                                 "\",storage_protocol=\"fc\",storage_vendor=\"pure\","
                                 "type=\"provisioned\"} 1.073741824e+09\n"));
    free(text);
    metrics_free(m);

    /* Only sizes > 0 are exported. */
    m = new_metrics();
    assert_int_equal(metrics_source_disk_bytes(m, "ssh", "iscsi", "ontap", 4096, 0, &err), 0);
    text = render(m);
    v = re_find(text, RE_PROVISIONED, NULL);
    assert_string_equal(v, "4096");
    free(v);
    assert_null(re_find(text, RE_ALLOCATED, NULL));
    free(text);
    metrics_free(m);
}

static void
check_duration(double seconds, const char *want)
{
    struct metrics *m = new_metrics();
    struct perr err = {0};
    char *text, *v, *line;

    assert_int_equal(metrics_copy_done(m, "vib", "iscsi", "ontap", true, seconds, &err), 0);
    text = render(m);
    v = re_find(text, RE_DONE, &line);
    assert_non_null(v);
    assert_string_equal(v, want);
    /* The match must be the whole value: nothing but the newline follows. */
    assert_non_null(strstr(text, line));
    assert_int_equal(strstr(text, line)[strlen(line)], '\n');
    assert_null(strchr(v, 'e'));
    free(v);
    free(line);
    free(text);
    metrics_free(m);
}

static void
test_duration_plain(void **state)
{
    (void)state;
    check_duration(12.345678, "12.345678");
    check_duration(1e-7, "0.0000001");
    check_duration(1e9, "1000000000");
    check_duration(1e21, "1000000000000000000000");
    check_duration(0.5, "0.5");
    check_duration(1234567.25, "1234567.25");
    check_duration(3600, "3600");
    check_duration(0, "0");
    check_duration(-1, "0");
    check_duration(NAN, "0");
    check_duration(INFINITY, "0");
}

static void
check_value(double v, const char *want)
{
    struct buf b = {0};
    struct perr err = {0};

    assert_int_equal(metrics_format_value(&b, v, &err), 0);
    assert_string_equal(buf_cstr(&b), want);
    buf_free(&b);
}

static void
test_format_value(void **state)
{
    (void)state;
    /* Expected strings are Go's strconv.FormatFloat(v, 'g', -1, 64). */
    check_value(42, "42");
    check_value(0, "0");
    check_value(-0.0, "0");
    check_value(1, "1");
    check_value(100, "100");
    check_value(12.7, "12.7");
    check_value(100000, "100000");
    check_value(999999, "999999");
    check_value(1000000, "1e+06");
    check_value(1073741824, "1.073741824e+09");
    check_value(536870912, "5.36870912e+08");
    check_value(0.0001, "0.0001");
    check_value(0.00001, "1e-05");
    check_value(1e-7, "1e-07");
    check_value(0.1 + 0.2, "0.30000000000000004");
    check_value(1.0 / 3, "0.3333333333333333");
    check_value(123456.789, "123456.789");
    check_value(1.5e300, "1.5e+300");
    check_value(5e-324, "5e-324");
    check_value(9007199254740993.0, "9.007199254740992e+15");
    check_value(-3.5, "-3.5");
    check_value(NAN, "NaN");
    check_value(INFINITY, "+Inf");
    check_value(-INFINITY, "-Inf");
}

static void
test_array_info_and_escaping(void **state)
{
    struct metrics *m = new_metrics();
    struct perr err = {0};
    char *text;

    (void)state;
    assert_int_equal(metrics_array_info(m, "pureFlashArray", "Pure \"Storage\"", "Flash\\Array",
                                        "line1\nline2", "", &err),
                     0);
    text = render(m);
    assert_non_null(strstr(text, "vsphere_xcopy_volume_populator_storage_array_info{"
                                 "storage_array_model=\"line1\\nline2\","
                                 "storage_array_product=\"Flash\\\\Array\","
                                 "storage_array_vendor=\"Pure \\\"Storage\\\"\","
                                 "storage_array_version=\"n/a\","
                                 "storage_vendor=\"pureFlashArray\"} 1\n"));
    /* Exactly one sample line, and no raw newline inside it. */
    assert_int_equal(count_lines_with(text, "storage_array_info{"), 1);
    free(text);

    /* A second call replaces the sample; empty model is n/a; bad UTF-8 becomes U+FFFD. */
    assert_int_equal(metrics_array_info(m, "ontap", "NetApp", "ONTAP\xff", NULL, "9.14.1", &err),
                     0);
    text = render(m);
    assert_int_equal(count_lines_with(text, "storage_array_info{"), 1);
    assert_non_null(strstr(text, "storage_array_info{storage_array_model=\"n/a\","
                                 "storage_array_product=\"ONTAP\xef\xbf\xbd\","
                                 "storage_array_vendor=\"NetApp\","
                                 "storage_array_version=\"9.14.1\","
                                 "storage_vendor=\"ontap\"} 1\n"));
    free(text);
    metrics_free(m);
}

static void
test_label_escaping_keeps_regex(void **state)
{
    struct metrics *m = new_metrics();
    struct perr err = {0};
    char *text, *v, *line;

    (void)state;
    /* Odd vendor strings cannot break the line apart or the controller's match. */
    assert_int_equal(metrics_copy_done(m, "vib", "iscsi", "ven\"dor\\\nx", true, 7, &err), 0);
    text = render(m);
    v = re_find(text, RE_DONE, &line);
    assert_non_null(v);
    assert_string_equal(v, "7");
    assert_non_null(strstr(line, "storage_vendor=\"ven\\\"dor\\\\\\nx\""));
    free(v);
    free(line);
    free(text);
    metrics_free(m);
}

static void
test_sample_order(void **state)
{
    struct metrics *m = new_metrics();
    struct perr err = {0};
    char *text;
    const char *a, *b;

    (void)state;
    assert_int_equal(metrics_xcopy_used(m, "vib", "ontap", 1, &err), 0);
    assert_int_equal(metrics_xcopy_used(m, "ssh", "ontap", 0, &err), 0);
    assert_int_equal(metrics_xcopy_used(m, "vib", "ontap", 0, &err), 0);
    text = render(m);
    assert_int_equal(count_lines_with(text, "xcopy_used{"), 2);
    /* Samples are ordered by label values, as the Go client orders them. */
    a = strstr(text, "clone_method=\"ssh\"");
    b = strstr(text, "clone_method=\"vib\"");
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a < b);
    free(text);
    metrics_free(m);
}

static const char golden[] =
    "# HELP vsphere_xcopy_volume_populator_copy_duration_seconds Seconds the copy took, set once "
    "when the populator finishes.\n"
    "# TYPE vsphere_xcopy_volume_populator_copy_duration_seconds gauge\n"
    "vsphere_xcopy_volume_populator_copy_duration_seconds{clone_method=\"vib\",owner_uid=\"" UID
    "\",result=\"success\",storage_protocol=\"iscsi\",storage_vendor=\"ontap\",xcopy_used=\"1\"} "
    "93.25\n"
    "# HELP vsphere_xcopy_volume_populator_progress Highest copy progress reported so far, in "
    "percent.\n"
    "# TYPE vsphere_xcopy_volume_populator_progress counter\n"
    "vsphere_xcopy_volume_populator_progress{owner_uid=\"" UID "\"} 100\n"
    "# HELP vsphere_xcopy_volume_populator_source_disk_bytes Size of the source disk in bytes, by "
    "type (provisioned, datastore_allocated).\n"
    "# TYPE vsphere_xcopy_volume_populator_source_disk_bytes gauge\n"
    "vsphere_xcopy_volume_populator_source_disk_bytes{clone_method=\"vib\",owner_uid=\"" UID
    "\",storage_protocol=\"iscsi\",storage_vendor=\"ontap\",type=\"datastore_allocated\"} "
    "5.36870912e+08\n"
    "vsphere_xcopy_volume_populator_source_disk_bytes{clone_method=\"vib\",owner_uid=\"" UID
    "\",storage_protocol=\"iscsi\",storage_vendor=\"ontap\",type=\"provisioned\"} "
    "1.073741824e+09\n"
    "# HELP vsphere_xcopy_volume_populator_storage_array_info Storage array behind the target "
    "volume (always 1).\n"
    "# TYPE vsphere_xcopy_volume_populator_storage_array_info gauge\n"
    "vsphere_xcopy_volume_populator_storage_array_info{storage_array_model=\"n/a\","
    "storage_array_product=\"ONTAP\",storage_array_vendor=\"NetApp\","
    "storage_array_version=\"9.14.1\",storage_vendor=\"ontap\"} 1\n"
    "# HELP vsphere_xcopy_volume_populator_vib_version Version of the vmkfstools wrapper VIB on "
    "the "
    "ESXi host (always 1).\n"
    "# TYPE vsphere_xcopy_volume_populator_vib_version gauge\n"
    "vsphere_xcopy_volume_populator_vib_version{owner_uid=\"" UID "\",version=\"0.3.3\"} 1\n"
    "# HELP vsphere_xcopy_volume_populator_xcopy_used Whether the storage array offloaded the copy "
    "with XCOPY (1) or not (0).\n"
    "# TYPE vsphere_xcopy_volume_populator_xcopy_used gauge\n"
    "vsphere_xcopy_volume_populator_xcopy_used{clone_method=\"vib\",owner_uid=\"" UID
    "\",storage_vendor=\"ontap\"} 1\n";

static void
test_golden(void **state)
{
    struct metrics *m = new_metrics();
    struct perr err = {0};
    char *text;

    (void)state;
    /* A whole successful VIB run against ONTAP over iSCSI. */
    assert_int_equal(metrics_array_info(m, "ontap", "NetApp", "ONTAP", "", "9.14.1", &err), 0);
    assert_int_equal(metrics_progress(m, 37.5, &err), 0);
    assert_int_equal(metrics_xcopy_used(m, "vib", "ontap", 1, &err), 0);
    assert_int_equal(metrics_vib_version(m, "0.3.3", &err), 0);
    assert_int_equal(metrics_progress(m, 100, &err), 0);
    assert_int_equal(
        metrics_source_disk_bytes(m, "vib", "iscsi", "ontap", 1073741824ULL, 536870912ULL, &err),
        0);
    assert_int_equal(metrics_copy_done(m, "vib", "iscsi", "ontap", true, 93.25, &err), 0);
    text = render(m);
    assert_string_equal(text, golden);
    /* The counter is not suffixed, nor anything else. */
    assert_null(strstr(text, "_total"));
    free(text);
    metrics_free(m);
}

static void
test_render_appends_and_caps(void **state)
{
    struct metrics *m = new_metrics();
    struct perr err = {0};
    struct buf b;

    (void)state;
    assert_int_equal(metrics_progress(m, 1, &err), 0);
    buf_init(&b, 0);
    assert_int_equal(buf_adds(&b, "prefix\n", &err), 0);
    assert_int_equal(metrics_render(m, &b, &err), 0);
    assert_int_equal(strncmp(buf_cstr(&b), "prefix\n# HELP ", 14), 0);
    buf_free(&b);

    /* A capped buffer that is too small fails cleanly. */
    buf_init(&b, 16);
    assert_int_equal(metrics_render(m, &b, &err), -1);
    assert_int_equal(err.code, PERR_PROTOCOL);
    buf_free(&b);
    metrics_free(m);
}

struct writer {
    struct metrics *m;
};

static void *
writer_main(void *arg)
{
    struct writer *w = arg;
    struct perr err = {0};

    for (int i = 0; i <= 2000; i++) {
        if (metrics_progress(w->m, i / 20.0, &err) < 0 ||
            metrics_xcopy_used(w->m, "ssh", "primera3par", i & 1, &err) < 0)
            return (void *)1;
    }
    if (metrics_copy_done(w->m, "ssh", "fc", "primera3par", true, 1, &err) < 0)
        return (void *)1;
    return NULL;
}

static void
test_concurrent_updates(void **state)
{
    struct writer w = {new_metrics()};
    pthread_t t;
    void *res;
    char *text, *v;

    (void)state;
    assert_int_equal(pthread_create(&t, NULL, writer_main, &w), 0);
    /* Every render, whenever it lands, is well formed and monotonic. */
    double last = 0;
    for (int i = 0; i < 200; i++) {
        text = render(w.m);
        v = re_find(text, RE_PROGRESS, NULL);
        if (v != NULL) {
            double now = strtod(v, NULL);

            assert_true(now >= last);
            last = now;
            free(v);
        }
        free(text);
    }
    assert_int_equal(pthread_join(t, &res), 0);
    assert_null(res);
    text = render(w.m);
    v = re_find(text, RE_PROGRESS, NULL);
    assert_string_equal(v, "100");
    free(v);
    v = re_find(text, RE_XCOPY, NULL);
    assert_string_equal(v, "0");
    free(v);
    free(text);
    metrics_free(w.m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_xcopy_used),
        cmocka_unit_test(test_vib_version),
        cmocka_unit_test(test_completion),
        cmocka_unit_test(test_completion_failure),
        cmocka_unit_test(test_source_disk_bytes),
        cmocka_unit_test(test_duration_plain),
        cmocka_unit_test(test_format_value),
        cmocka_unit_test(test_array_info_and_escaping),
        cmocka_unit_test(test_label_escaping_keeps_regex),
        cmocka_unit_test(test_sample_order),
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_render_appends_and_caps),
        cmocka_unit_test(test_concurrent_updates),
    };

    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
