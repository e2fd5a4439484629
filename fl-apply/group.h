/* group.h — when the applier coalesces consecutive source transactions into one group (one
 * submit, one checkpoint): the decision for each transaction, from sizes alone. */
#ifndef FL_GROUP_H
#define FL_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FL_GROUP_MAX_OPS 4096         /* operations of one group, at most (on one Redis) */
#define FL_GROUP_FIRST_OPS 256        /* ... of the first after the target had nothing in flight */
#define FL_GROUP_MAX_BYTES (4u << 20) /* bytes of its keys and values, about */

/* A target's caps on one group (fl_target_group_caps). */
typedef struct fl_group_caps {
    size_t ops, bytes;   /* at most: FL_GROUP_MAX_OPS and FL_GROUP_MAX_BYTES on one Redis */
    unsigned ramp_shift; /* the cap after idling grows by << ramp_shift with each group (1: doubles) */
} fl_group_caps;
#define FL_GROUP_CAPS_DEFAULT ((fl_group_caps){FL_GROUP_MAX_OPS, FL_GROUP_MAX_BYTES, 1})

#define FL_GROUP_UNITS 16384 /* atomic units a target may tell apart: a Redis Cluster's slots */

typedef struct fl_group_size {
    size_t ops, bytes;
    size_t unit_ops; /* the operations of its largest atomic unit (the target's fl_target_atomic_unit):
                      * ops on a target that applies a group as one unit */
} fl_group_size;

typedef struct fl_group_step {
    bool send_group_first; /* the group held so far goes out before this transaction, alone */
    bool hold;             /* this transaction is held (joins the group); else it goes out now,
                            * with the group unless send_group_first */
} fl_group_step;

/* How a transaction may be grouped. */
typedef enum fl_group_mode {
    FL_GROUP_NORMAL, /* up to the caps below */
    FL_GROUP_ALONE,  /* never shares a submit: chunked, deleting by pattern, or after a failure */
    FL_GROUP_WHOLE,  /* inside a folded replay, whose states are not the source's: kept open up to
                      * max_atomic_ops (0: none), so that the range is applied at once */
} fl_group_mode;

/* What to do with a transaction of size txn that follows a group of size group (ops 0: none,
 * or transactions without operations), whose largest atomic unit would hold joined_unit_ops
 * operations if it joined, with max_atomic_ops (0: none), when since_idle groups were
 * submitted since the target last had nothing in flight, under the target's caps. No atomic
 * unit of a group ever exceeds max_atomic_ops (the target would chunk it, and a reader could
 * see part of a transaction); a group goes out once it reaches caps.ops or caps.bytes, or a
 * unit max_atomic_ops. A folded replay's group (FL_GROUP_WHOLE) is also bounded by
 * max_atomic_ops in all. The cap on operations is FL_GROUP_FIRST_OPS for the first group after
 * idling, growing by << caps.ramp_shift with each group up to caps.ops: a target waiting for
 * work gets some at once, while the applier renders the next (a catch-up's first group of
 * FL_GROUP_MAX_OPS kept Redis idle ~4 ms). */
fl_group_step fl_group_next(fl_group_size group, fl_group_size txn, size_t joined_unit_ops, fl_group_mode mode,
                            uint32_t max_atomic_ops, uint32_t since_idle, fl_group_caps caps);

/* The operations of each atomic unit (0 .. FL_GROUP_UNITS - 1) of a group or a transaction,
 * counted for a target that applies a group in several units (a Redis Cluster: each slot's
 * part). Starts zeroed (fl_group_units_clear to reuse). */
typedef struct fl_group_units {
    uint32_t count[FL_GROUP_UNITS];
    uint16_t used[FL_GROUP_UNITS]; /* the units with a count, nused of them */
    size_t nused;
    size_t largest; /* the largest count */
} fl_group_units;

void fl_group_units_clear(fl_group_units *u);
void fl_group_units_add(fl_group_units *u, uint32_t unit);
/* The largest unit of group if txn joined it. */
size_t fl_group_units_joined(const fl_group_units *group, const fl_group_units *txn);
/* Adds txn's counts to group's. */
void fl_group_units_join(fl_group_units *group, const fl_group_units *txn);

#endif
