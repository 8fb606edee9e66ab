/*
 * The populator's metrics: a fixed registry of six families and their
 * Prometheus text exposition (format 0.0.4).
 *
 * The populator controller does not use a Prometheus library to read these:
 * it scrapes GET /metrics every ~5 s and applies regular expressions to the
 * body (behaviour spec §2.3).  So the rendered text is an interface, and the
 * renderer follows what the Go client library emits, byte for byte where the
 * controller could notice:
 *
 *   # HELP <name> <text>
 *   # TYPE <name> counter|gauge
 *   <name>{<label>="<value>",...} <value>
 *
 * - Families are rendered in name order; a family without samples renders
 *   nothing at all (no HELP/TYPE either), as the Go client does for a vector
 *   with no children.  Within a family, samples are ordered by their label
 *   values, compared label by label.
 * - Labels are in alphabetical order of their names (so owner_uid comes before
 *   type, which the controller's disk-bytes expression relies on).  Label
 *   values are escaped: backslash -> \\, double quote -> \", newline -> \n.
 *   Invalid UTF-8 in a value is replaced by U+FFFD (the format requires UTF-8).
 * - Values are formatted like Go's strconv.FormatFloat(v, 'g', -1, 64): the
 *   shortest decimal that reads back as the same double, in exponent form when
 *   the decimal exponent is < -4 or >= 6 ("42", "12.5", "1.073741824e+09",
 *   "1e-05").  The one exception is copy_duration_seconds, which is always a
 *   plain decimal ("0.0000001", "1000000000"), because the controller reads it
 *   with ([0-9.]+).
 * - No family name ends in _total: the controller matches the exact names.
 *
 * The families (owner_uid is always the value given to metrics_new()):
 *
 *   vsphere_xcopy_volume_populator_copy_duration_seconds     gauge
 *       {clone_method,owner_uid,result,storage_protocol,storage_vendor,xcopy_used}
 *       Set once, by metrics_copy_done().  Its presence is the controller's
 *       completion signal.
 *   vsphere_xcopy_volume_populator_progress                  counter
 *       {owner_uid}  the highest percentage reported so far, 0..100.
 *   vsphere_xcopy_volume_populator_source_disk_bytes         gauge
 *       {clone_method,owner_uid,storage_protocol,storage_vendor,type}
 *       type is "provisioned" or "datastore_allocated"; only sizes > 0.
 *   vsphere_xcopy_volume_populator_storage_array_info        gauge (always 1)
 *       {storage_array_model,storage_array_product,storage_array_vendor,
 *        storage_array_version,storage_vendor}
 *   vsphere_xcopy_volume_populator_vib_version               gauge (always 1)
 *       {owner_uid,version}
 *   vsphere_xcopy_volume_populator_xcopy_used                gauge (0 or 1)
 *       {clone_method,owner_uid,storage_vendor}
 *
 * Label values are copied; callers keep ownership of every string they pass.
 * A sample is identified by its full set of label values: setting it again
 * with the same values replaces its value, different values add a sample
 * (storage_array_info and vib_version are the exception: they describe the
 * one array and the one VIB of this run, so a new call replaces the sample).
 *
 * Thread safety: one mutex per registry.  The copy thread calls the setters
 * while the HTTPS thread calls metrics_render(); every function except
 * metrics_new() and metrics_free() may be called from any thread.
 *
 * Errors: the setters fail only when memory runs out (PERR_NOMEM); the
 * registry is then unchanged.  Callers on the copy path should log such a
 * failure at warn and carry on: a lost metric must not fail a migration.
 * NULL registry or NULL required arguments are programmer errors (assert).
 */
#ifndef POP_METRICS_H
#define POP_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/compiler.h"
#include "lib/err.h"

#define METRICS_PREFIX "vsphere_xcopy_volume_populator_"

/* The value of the Content-Type header for a metrics_render() body. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics;

/* Frees the registry and every sample.  NULL is a no-op. */
void metrics_free(struct metrics *m);
/* A registry for the PVC whose UID is owner_uid (copied).  An empty UID is
 * allowed and exported as owner_uid="": a run by hand that asked for the
 * endpoint has no PVC, and its metrics are still worth reading.  All
 * families start empty.  NULL + PERR_NOMEM on failure. */
struct metrics *metrics_new(const char *owner_uid, struct perr *err) ATTR_MALLOC(metrics_free);

/* Progress in percent.  The counter only moves up: the stored value becomes
 * max(stored, pct), with pct clamped to 0..100; NaN is ignored.  The first
 * call creates the sample, so progress appears from the first report on
 * (also when that report is 0). */
int metrics_progress(struct metrics *m, double pct, struct perr *err);

/* Whether the array offloaded the copy (XCOPY): the gauge becomes 1 when used
 * is non-zero, else 0.  The value is also remembered as the xcopy_used label
 * of the completion sample.  clone_method: "vib", "ssh", "vvol" or "rdm";
 * vendor: the --storage-vendor-product value ("ontap", ...). */
int metrics_xcopy_used(struct metrics *m, const char *clone_method, const char *vendor, int used,
                       struct perr *err);

/* The VIB version detected on the ESXi host, for the vib clone method only.
 * NULL or "" is exported as "unknown". */
int metrics_vib_version(struct metrics *m, const char *version, struct perr *err);

/* Static facts about the storage array.  vendor_cli is the
 * --storage-vendor-product value; array_vendor and product come from the
 * driver ("NetApp", "ONTAP").  An empty or NULL model or version is exported
 * as "n/a"; a NULL vendor or product as "". */
int metrics_array_info(struct metrics *m, const char *vendor_cli, const char *array_vendor,
                       const char *product, const char *model, const char *version,
                       struct perr *err);

/* Sizes of the source disk, set on success just before metrics_copy_done().
 * Each size is exported only when > 0 (type="provisioned" and
 * type="datastore_allocated").  protocol: "iscsi", "fc"; NULL or "" is
 * exported as "n/a". */
int metrics_source_disk_bytes(struct metrics *m, const char *clone_method, const char *protocol,
                              const char *vendor, uint64_t provisioned, uint64_t allocated,
                              struct perr *err);

/* The end of the copy: sets copy_duration_seconds, which the controller
 * takes as completion.  result is "success" or "failure"; xcopy_used is the
 * last value given to metrics_xcopy_used() (0 if never called); protocol is
 * "n/a" on failure and when NULL or "".  A negative or non-finite duration
 * is exported as 0.  Only the first call has an effect; later calls return 0
 * and change nothing (the first outcome stands). */
int metrics_copy_done(struct metrics *m, const char *clone_method, const char *protocol,
                      const char *vendor, bool success, double seconds, struct perr *err);

/* True once metrics_copy_done() has recorded the completion sample.  Never
 * becomes false again, so a render started after this returned true carries
 * the completion sample. */
bool metrics_copy_is_done(struct metrics *m);

/* Appends the exposition text of every non-empty family to out (which the
 * caller owns; on failure out may hold a partial text).  Fails only when out
 * cannot grow (PERR_NOMEM, or PERR_PROTOCOL when out has a cap). */
int metrics_render(struct metrics *m, struct buf *out, struct perr *err) ATTR_NODISCARD;

/* Formats v like Go's strconv.FormatFloat(v, 'g', -1, 64) as the Go
 * Prometheus client does ("NaN", "+Inf", "-Inf" for non-finite values).
 * Exposed for tests. */
int metrics_format_value(struct buf *out, double v, struct perr *err);
/* Formats v >= 0 as a plain decimal with the shortest round-trip digits and
 * never an exponent ("12.345678", "0.0000001", "1000000000").  Negative and
 * non-finite values are written as "0".  Exposed for tests. */
int metrics_format_plain(struct buf *out, double v, struct perr *err);

#endif
