/* group.h — when the applier coalesces consecutive source transactions into one group (one
 * submit, one checkpoint): the decision for each transaction, from sizes alone. */
#ifndef FL_GROUP_H
#define FL_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FL_GROUP_MAX_OPS 4096         /* operations of one group, at most (per primary on a cluster) */
#define FL_GROUP_FIRST_OPS 256        /* ... of the first after the target had nothing in flight */
#define FL_GROUP_MAX_BYTES (4u << 20) /* bytes of its keys and values, about */

typedef struct fl_group_size {
    size_t ops, bytes;
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
 * or transactions without operations), with max_atomic_ops (0: none), when since_idle groups
 * were submitted since the target last had nothing in flight; max_ops is the target's cap on a
 * group's operations (fl_target_group_max_ops: FL_GROUP_MAX_OPS, per primary on a cluster). A
 * group never exceeds max_atomic_ops (the target would chunk it, and a reader could see part of
 * a transaction); it goes out once it reaches max_ops, max_atomic_ops or FL_GROUP_MAX_BYTES.
 * The cap is FL_GROUP_FIRST_OPS for the first group after idling, doubling with each group up
 * to max_ops: a target waiting for work gets some at once, while the applier renders the next
 * (a catch-up's first group of FL_GROUP_MAX_OPS kept Redis idle ~4 ms). */
fl_group_step fl_group_next(fl_group_size group, fl_group_size txn, fl_group_mode mode, uint32_t max_atomic_ops,
                            uint32_t since_idle, size_t max_ops);

#endif
