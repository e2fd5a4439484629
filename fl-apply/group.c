/* group.c — the coalescing decision for each source transaction (see group.h). */
#include "fl-apply/group.h"

fl_group_step fl_group_next(fl_group_size group, fl_group_size txn, fl_group_mode mode, uint32_t max_atomic_ops,
                            uint32_t since_idle, size_t max_ops)
{
    fl_group_step step = {false, false};
    bool alone = mode == FL_GROUP_ALONE;
    bool too_big = max_atomic_ops && group.ops + txn.ops > max_atomic_ops;
    if (alone || too_big) {
        step.send_group_first = group.ops > 0;
        if (alone) return step;
        group.ops = group.bytes = 0;
    }
    if (mode == FL_GROUP_WHOLE) {
        step.hold = !max_atomic_ops || group.ops + txn.ops < max_atomic_ops;
        return step;
    }
    size_t cap = max_ops; /* FL_GROUP_FIRST_OPS doubled since_idle times, up to it */
    if (since_idle < 32 && ((size_t)FL_GROUP_FIRST_OPS << since_idle) < cap)
        cap = (size_t)FL_GROUP_FIRST_OPS << since_idle;
    if (max_atomic_ops && max_atomic_ops < cap) cap = max_atomic_ops;
    step.hold = group.ops + txn.ops < cap && group.bytes + txn.bytes < FL_GROUP_MAX_BYTES;
    return step;
}
