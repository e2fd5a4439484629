/* group.c — the coalescing decision for each source transaction (see group.h). */
#include "fl-apply/group.h"

fl_group_step fl_group_next(fl_group_size group, fl_group_size txn, size_t joined_unit_ops, fl_group_mode mode,
                            uint32_t max_atomic_ops, uint32_t since_idle, fl_group_caps caps)
{
    fl_group_step step = {false, false};
    bool alone = mode == FL_GROUP_ALONE;
    bool too_big = max_atomic_ops && (joined_unit_ops > max_atomic_ops ||
                                      (mode == FL_GROUP_WHOLE && group.ops + txn.ops > max_atomic_ops));
    if (alone || too_big) {
        step.send_group_first = group.ops > 0;
        if (alone) return step;
        group.ops = group.bytes = 0;
        joined_unit_ops = txn.unit_ops;
    }
    if (mode == FL_GROUP_WHOLE) {
        step.hold = !max_atomic_ops || group.ops + txn.ops < max_atomic_ops;
        return step;
    }
    size_t cap = caps.ops; /* FL_GROUP_FIRST_OPS grown since_idle times, up to it */
    uint64_t shift = (uint64_t)since_idle * caps.ramp_shift;
    if (shift < 32 && ((size_t)FL_GROUP_FIRST_OPS << shift) < cap) cap = (size_t)FL_GROUP_FIRST_OPS << shift;
    step.hold = group.ops + txn.ops < cap && group.bytes + txn.bytes < caps.bytes &&
                (!max_atomic_ops || joined_unit_ops < max_atomic_ops);
    return step;
}

void fl_group_units_clear(fl_group_units *u)
{
    for (size_t i = 0; i < u->nused; i++) u->count[u->used[i]] = 0;
    u->nused = 0;
    u->largest = 0;
}

void fl_group_units_add(fl_group_units *u, uint32_t unit)
{
    unit %= FL_GROUP_UNITS;
    if (!u->count[unit]) u->used[u->nused++] = (uint16_t)unit;
    if (++u->count[unit] > u->largest) u->largest = u->count[unit];
}

size_t fl_group_units_joined(const fl_group_units *group, const fl_group_units *txn)
{
    size_t largest = group->largest;
    for (size_t i = 0; i < txn->nused; i++) {
        uint16_t unit = txn->used[i];
        size_t n = (size_t)group->count[unit] + txn->count[unit];
        if (n > largest) largest = n;
    }
    return largest;
}

void fl_group_units_join(fl_group_units *group, const fl_group_units *txn)
{
    for (size_t i = 0; i < txn->nused; i++) {
        uint16_t unit = txn->used[i];
        if (!group->count[unit]) group->used[group->nused++] = unit;
        group->count[unit] += txn->count[unit];
        if (group->count[unit] > group->largest) group->largest = group->count[unit];
    }
}
