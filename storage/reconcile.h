/*
 * Algorithms every driver needs, written once on top of small driver
 * primitives: initiator splitting and normalisation, the find-or-create
 * group reconciler, "exactly one row" lookups and LUN records built from
 * JSON.  Drivers keep only what is truly their vendor's.
 *
 * Errors follow storage.h (one struct perr, first error wins); nothing here
 * logs above debug.
 */
#ifndef POP_STORAGE_RECONCILE_H
#define POP_STORAGE_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/strv.h"
#include "storage/naa.h"
#include "storage/storage.h"

struct rest_reply;

/*
 * The ESXi initiators split by kind.  fc holds WWPNs as 16 lower-case hex
 * digits (fc_wwnn the matching node names, "" when unknown); iscsi holds
 * IQN/EUI names as given; nvme holds NQNs.  Each list has no duplicates.
 */
struct initiator_set {
    struct strv fc;
    struct strv fc_wwnn;
    struct strv iscsi;
    struct strv nvme;
};

void initiator_set_free(struct initiator_set *set);
/* Splits ids; malformed FC ids and unknown kinds are skipped (logged at
 * debug under comp).  PERR_USAGE when none of the kinds in `kinds`
 * (INITIATOR_FC / INITIATOR_ISCSI bits: 1u << kind) is left. */
int initiators_split(const char *const *ids, size_t n, unsigned kinds, const char *comp,
                     struct initiator_set *out, struct perr *err);
#define INITIATOR_KIND(k) (1u << (k))
/* The WWPNs in the array's spelling, appended to out. */
int initiators_fc_format(const struct initiator_set *set, enum wwn_form form, struct strv *out,
                         struct perr *err);
/* Total initiators of the kinds in `kinds`. */
size_t initiator_set_count(const struct initiator_set *set, unsigned kinds);

/*
 * The find-or-create group reconciler.  The driver gives primitives over an
 * opaque group record (its JSON):
 *   find    the group holding any of the initiators, else the one called
 *           name; *rec NULL when there is none (not an error)
 *   create  make it with the initiators; 0 created, 1 "already exists"
 *           (someone else made it meanwhile; *already then holds the
 *           array's answer: PERR_CONFLICT, its status, code and text)
 *   holds   true when rec holds the initiator (kind: INITIATOR_FC WWPN in
 *           16 hex / INITIATOR_ISCSI name)
 *   add     add the initiators missing from rec (never called empty)
 *   name    the JSON path of the group's actual name (NULL = "name")
 * ensure: find -> (none) create -> (already exists) find again -> add only
 * what is missing; never removes anything.  A create that says "already
 * exists" for a group find cannot see is that answer (PERR_CONFLICT, in the
 * array's words).  ctx is the driver's.
 */
struct group_ops {
    int (*find)(struct storage *st, void *ctx, const char *name, const struct initiator_set *want,
                json_t **rec, struct perr *err);
    int (*create)(struct storage *st, void *ctx, const char *name, const struct initiator_set *want,
                  struct perr *already, struct perr *err);
    bool (*holds)(void *ctx, json_t *rec, const char *initiator, enum initiator_proto kind);
    int (*add)(struct storage *st, void *ctx, json_t *rec, const struct initiator_set *missing,
               struct perr *err);
    const char *name;
};

int group_ensure(struct storage *st, const struct group_ops *ops, void *ctx, const char *name,
                 const struct initiator_set *want, char **actual, struct perr *err);
/* group_ensure() straight from the ESXi initiator ids: the FC and iSCSI ones
 * (initiators_split() with both kinds, skipped ones logged under comp). */
int group_ensure_ids(struct storage *st, const struct group_ops *ops, void *ctx, const char *name,
                     const char *const *ids, size_t n, const char *comp, char **actual,
                     struct perr *err);

/*
 * "Exactly one row": rows must be a JSON array; 0 rows is PERR_NOT_FOUND
 * "<what> '<key>' not found" (or 0 with *row NULL when optional), more than
 * one is PERR_PROTOCOL "<what> '<key>' matched N".  *row is borrowed.
 */
int json_one_row(json_t *rows, const char *what, const char *key, bool optional, json_t **row,
                 struct perr *err);

/* Where a volume record keeps what struct storage_lun needs (dotted JSON
 * paths; NULL = absent).  naa_from names the field the driver's NAA rule
 * reads (a serial or a WWN). */
struct lun_fields {
    const char *name;
    const char *id;
    const char *serial;
    const char *naa_from;
};

/* Fills a cleared *out from rec; name and the NAA source are required
 * (PERR_PROTOCOL naming the field).  The NAA comes from storage_naa(). */
int lun_from_json(const struct storage_driver *drv, json_t *rec, const struct lun_fields *f,
                  struct storage_lun *out, struct perr *err);

#endif

/* Fills *already from an "already done" reply (rest_do() returned 1). */
void group_already(const struct rest_reply *reply, struct perr *already);
