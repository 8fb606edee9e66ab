/*
 * Pure helpers for host initiator identifiers and ESXi device names.
 *
 * Nothing here does I/O or logs; every function is table-tested in
 * test/unit/test_naa.c against the examples in the vendor notes.
 *
 * Initiator identifiers, as ESXi adapter discovery hands them to us:
 *   iSCSI  "iqn.1998-01.com.vmware:esx01-1234" (also "eui." / "nqn." names)
 *   FC     "fc.<WWNN>:<WWPN>", each half 16 lower-case hex digits without
 *          separators, e.g. "fc.20000025b5000001:20000025b5000002"
 * Arrays want the WWPN half only, in their own spelling (ONTAP and Pure:
 * upper case with colons, "21:00:00:24:FF:3A:4B:5C"); they hand WWNs back in
 * any spelling, so WWNs are compared with separators and case ignored.
 *
 * ESXi device names ("naa." + 32 lower-case hex digits) are what the array's
 * volume becomes under /vmfs/devices/disks/; each vendor derives it from the
 * volume's serial number in its own way (see the naa_from_* functions).
 *
 * Errors: malformed input is PERR_PROTOCOL when it came from an array (a
 * serial number) and PERR_USAGE when it came from our caller (an initiator
 * or device name); the message quotes the offending value.
 */
#ifndef POP_NAA_H
#define POP_NAA_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/compiler.h"
#include "lib/err.h"

/* Protocol of one initiator identifier. */
enum initiator_proto {
    INITIATOR_UNKNOWN = 0, /* SAS WWN, "vmhbaNN", anything else */
    INITIATOR_ISCSI,       /* "iqn.", "eui.", "nqn." (case-insensitive prefix) */
    INITIATOR_FC,          /* "fc." or a bare WWN starting with "20" */
};

/* Classifies id by its prefix (the rule the ONTAP driver names igroups by). */
enum initiator_proto initiator_proto(const char *id);
/* "iscsi", "fc" or "unknown". */
const char *initiator_proto_name(enum initiator_proto p);

/* How a WWN is spelled. */
enum wwn_form {
    WWN_UPPER_COLON, /* "21:00:00:24:FF:3A:4B:5C"  ONTAP, Pure */
    WWN_LOWER_COLON, /* "21:00:00:24:ff:3a:4b:5c" */
    WWN_UPPER_PLAIN, /* "21000024FF3A4B5C" */
    WWN_LOWER_PLAIN, /* "21000024ff3a4b5c" */
};

/* Longest WWN hex string accepted (64-bit port and node names). */
#define WWN_HEX_MAX 16
/* Buffer size that holds any formatted WWN plus the NUL. */
#define WWN_BUF_SIZE (WWN_HEX_MAX / 2 * 3)

/*
 * Splits "fc.WWNN:WWPN" into its halves, upper-cased, no separators.
 * Checks, in this order (each failure is PERR_USAGE naming the input):
 * prefix "fc." ("doesn't start with 'fc.'"), exactly one ':' ("not in expected
 * fc.WWNN:WWPN format", so colon-separated bytes are rejected), both halves
 * non-empty ("empty WWNN or WWPN"), even length ("odd length"), at most
 * WWN_HEX_MAX digits, hex only ("non-hex characters").
 * wwnn and wwpn must each hold WWN_HEX_MAX + 1 bytes; either may be NULL.
 */
int initiator_parse_fc(const char *id, char *wwnn, char *wwpn, struct perr *err);

/*
 * The WWPN of an FC initiator in the given form, written to out (size n,
 * WWN_BUF_SIZE is always enough).  Accepts "fc.WWNN:WWPN" and, leniently, a
 * bare WWN (16 hex digits, optionally separated by ':', '-' or spaces), which
 * is taken as the port name itself.
 */
int initiator_fc_wwpn(const char *id, enum wwn_form form, char *out, size_t n, struct perr *err);

/* Re-spells a separator-free hex WWN (any case) in the given form.  With an odd
 * number of digits the last one stands alone ("123" -> "12:3").  out is always
 * NUL-terminated; output that does not fit is cut. */
void wwn_format(const char *hex, enum wwn_form form, char *out, size_t n);

/* Equality with ':', '-' and spaces removed and case ignored; two empty
 * strings are equal.  NULL equals nothing. */
bool wwn_equal(const char *a, const char *b);

/* Equality of two initiator ids the way an array compares them: WWNs as in
 * wwn_equal() (an "fc.WWNN:WWPN" side is reduced to its WWPN first), IQN/EUI
 * names ignoring case (RFC 3720 names are case-insensitive; arrays may store
 * them lower-cased). */
bool initiator_equal(const char *a, const char *b);

/*
 * Device names (all malloc'd into *out, NULL on failure, lower case):
 *
 * naa_from_ascii_serial: "naa." + oui + the hex of each byte of a printable
 *   ASCII serial, 32 hex digits in all (ONTAP: oui "600a0980", 12
 *   characters: "wFZ7p?QYvV8d" -> "naa.600a098077465a37703f515976563864").
 * naa_from_hex_serial: "naa." + oui + a hex serial, 32 hex digits in all
 *   (Pure: "624a9370" + 24; InfiniBox: "6" + 31).
 * naa_from_wwn: a 16- or 32-digit WWN/UID, with or without "naa." and
 *   separators, as "naa." + its hex (PowerMax, PowerStore, Primera,
 *   FlashSystem, Vantara).
 * naa_from_vml: the NAA id inside a "vml." alias (hex characters 10..42
 *   after "vml."), PERR_USAGE when the name has none.
 * Malformed array values are PERR_PROTOCOL quoting the value.
 */
int naa_from_ascii_serial(const char *oui, const char *serial, char **out, struct perr *err);
int naa_from_hex_serial(const char *oui, const char *serial, char **out, struct perr *err);
int naa_from_wwn(const char *wwn, char **out, struct perr *err);
int naa_from_vml(const char *vml, char **out, struct perr *err);

/*
 * The reverse, for RDM copies: the serial (upper case) behind an ESXi device
 * name whose NAA starts with oui.  Accepted inputs:
 *   "naa.<oui><serial>"                      (any case)
 *   "/vmfs/devices/disks/naa.<oui><serial>"  (the RDM backing path)
 *   "vml.<10 hex><oui><serial>..."           (a vml alias, with or without the path)
 * The serial must be non-empty letters and digits.  Errors (PERR_USAGE):
 * "device '...' does not appear to be a <what> device", "could not extract
 * serial from device '...'".
 */
int naa_serial_from_device(const char *device, const char *oui, const char *what, char **out,
                           struct perr *err);

#endif
