/* test_group.c — the coalescing decision: transactions are held while the group stays under
 * its operation and byte caps, a transaction that must go alone sends the group first (only
 * when it has operations: a checkpoint alone is superseded), a group never grows past
 * max_atomic_ops, max_atomic_ops below the default cap lowers it, and a folded replay stays
 * one group up to max_atomic_ops; the first groups after the target idled are smaller; a target
 * with a larger cap (a cluster, per primary) gets larger groups, still within the byte cap, and
 * when it applies a group slot by slot, max_atomic_ops bounds each slot's part (counted by
 * fl_group_units) rather than the group. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fl-apply/group.h"

static fl_group_size size(size_t ops, size_t bytes) { return (fl_group_size){ops, bytes, ops}; }

/* The decision on a target that applies a group as one unit (one Redis). */
static fl_group_step next(fl_group_size group, fl_group_size txn, fl_group_mode mode, uint32_t max_atomic_ops,
                          uint32_t since_idle, size_t max_ops)
{
    return fl_group_next(group, txn, group.ops + txn.ops, mode, max_atomic_ops, since_idle,
                         (fl_group_caps){max_ops, FL_GROUP_MAX_BYTES, 1});
}

static void test_small_transactions_are_held(void **state)
{
    (void)state;
    fl_group_step s = next(size(0, 0), size(1, 40), FL_GROUP_NORMAL, 10000, UINT32_MAX, FL_GROUP_MAX_OPS);
    assert_false(s.send_group_first);
    assert_true(s.hold);
    s = next(size(100, 4000), size(1, 40), FL_GROUP_NORMAL, 10000, UINT32_MAX, FL_GROUP_MAX_OPS);
    assert_false(s.send_group_first);
    assert_true(s.hold);
    s = next(size(5, 200), size(0, 0), FL_GROUP_NORMAL, 0, UINT32_MAX,
             FL_GROUP_MAX_OPS); /* no operations, no max_atomic_ops */
    assert_true(s.hold);
}

static void test_full_group_goes_out_with_the_last(void **state)
{
    (void)state;
    fl_group_step s = next(size(FL_GROUP_MAX_OPS - 1, 100), size(1, 10), FL_GROUP_NORMAL, 0, UINT32_MAX,
                           FL_GROUP_MAX_OPS);
    assert_false(s.send_group_first);
    assert_false(s.hold); /* sent now, the group and this one together */
    s = next(size(10, FL_GROUP_MAX_BYTES - 5), size(1, 10), FL_GROUP_NORMAL, 10000, UINT32_MAX, FL_GROUP_MAX_OPS);
    assert_false(s.send_group_first);
    assert_false(s.hold);
}

static void test_alone(void **state)
{
    (void)state;
    fl_group_step s = next(size(7, 70), size(3, 30), FL_GROUP_ALONE, 10000, 0, FL_GROUP_MAX_OPS);
    assert_true(s.send_group_first);
    assert_false(s.hold);
    /* a group of transactions without operations is only a checkpoint: this one's supersedes it */
    s = next(size(0, 0), size(3, 30), FL_GROUP_ALONE, 10000, 0, FL_GROUP_MAX_OPS);
    assert_false(s.send_group_first);
    assert_false(s.hold);
}

static void test_never_past_max_atomic_ops(void **state)
{
    (void)state;
    /* together they would be chunked: the group goes first, this one starts a new group */
    fl_group_step s = next(size(8, 80), size(5, 50), FL_GROUP_NORMAL, 10, UINT32_MAX, FL_GROUP_MAX_OPS);
    assert_true(s.send_group_first);
    assert_true(s.hold);
    /* this one alone fills a group */
    s = next(size(8, 80), size(10, 100), FL_GROUP_NORMAL, 10, UINT32_MAX, FL_GROUP_MAX_OPS);
    assert_true(s.send_group_first);
    assert_false(s.hold);
    /* exactly max_atomic_ops together: one atomic submit, sent now */
    s = next(size(5, 50), size(5, 50), FL_GROUP_NORMAL, 10, UINT32_MAX, FL_GROUP_MAX_OPS);
    assert_false(s.send_group_first);
    assert_false(s.hold);
    s = next(size(4, 40), size(5, 50), FL_GROUP_NORMAL, 10, UINT32_MAX, FL_GROUP_MAX_OPS);
    assert_true(s.hold);
}

static void test_folded_replay_is_one_group(void **state)
{
    (void)state;
    /* past the usual caps, up to max_atomic_ops */
    fl_group_step s = next(size(FL_GROUP_MAX_OPS + 10, FL_GROUP_MAX_BYTES), size(1, 10), FL_GROUP_WHOLE, 10000, 0,
                           FL_GROUP_MAX_OPS);
    assert_false(s.send_group_first);
    assert_true(s.hold);
    s = next(size(9999, 100), size(1, 10), FL_GROUP_WHOLE, 10000, 0, FL_GROUP_MAX_OPS);
    assert_false(s.send_group_first);
    assert_false(s.hold); /* max_atomic_ops reached: sent now, with this one */
    s = next(size(9998, 100), size(5, 10), FL_GROUP_WHOLE, 10000, 0, FL_GROUP_MAX_OPS);
    assert_true(s.send_group_first);
    assert_true(s.hold);
    s = next(size(50000, 100), size(5, 10), FL_GROUP_WHOLE, 0, 0, FL_GROUP_MAX_OPS);
    assert_true(s.hold);
}

static void test_ramp_after_idling(void **state)
{
    (void)state;
    /* the first group after the target had nothing in flight goes at FL_GROUP_FIRST_OPS */
    fl_group_step s = next(size(FL_GROUP_FIRST_OPS - 2, 100), size(1, 10), FL_GROUP_NORMAL, 0, 0,
                           FL_GROUP_MAX_OPS);
    assert_true(s.hold);
    s = next(size(FL_GROUP_FIRST_OPS - 1, 100), size(1, 10), FL_GROUP_NORMAL, 0, 0, FL_GROUP_MAX_OPS);
    assert_false(s.send_group_first);
    assert_false(s.hold);
    /* each next one doubles, up to FL_GROUP_MAX_OPS */
    s = next(size(FL_GROUP_FIRST_OPS, 100), size(1, 10), FL_GROUP_NORMAL, 0, 1, FL_GROUP_MAX_OPS);
    assert_true(s.hold);
    s = next(size(2 * FL_GROUP_FIRST_OPS - 1, 100), size(1, 10), FL_GROUP_NORMAL, 0, 1, FL_GROUP_MAX_OPS);
    assert_false(s.hold);
    s = next(size(FL_GROUP_MAX_OPS - 2, 100), size(1, 10), FL_GROUP_NORMAL, 0, 4, FL_GROUP_MAX_OPS);
    assert_true(s.hold);
    s = next(size(FL_GROUP_MAX_OPS - 1, 100), size(1, 10), FL_GROUP_NORMAL, 0, 40, FL_GROUP_MAX_OPS);
    assert_false(s.hold);
    /* max_atomic_ops below the ramp's cap still lowers it; a folded replay does not ramp */
    s = next(size(9, 90), size(1, 10), FL_GROUP_NORMAL, 10, 0, FL_GROUP_MAX_OPS);
    assert_false(s.hold);
    s = next(size(FL_GROUP_MAX_OPS, 100), size(1, 10), FL_GROUP_WHOLE, 0, 0, FL_GROUP_MAX_OPS);
    assert_true(s.hold);
}

static void test_target_cap(void **state)
{
    (void)state;
    /* a cluster of 3 primaries: groups of 3 * FL_GROUP_MAX_OPS operations, once ramped up */
    size_t cap = 3 * FL_GROUP_MAX_OPS;
    fl_group_step s = next(size(FL_GROUP_MAX_OPS, 100), size(1, 10), FL_GROUP_NORMAL, 0, 40, cap);
    assert_true(s.hold);
    s = next(size(cap - 2, 100), size(1, 10), FL_GROUP_NORMAL, 0, 40, cap);
    assert_true(s.hold);
    s = next(size(cap - 1, 100), size(1, 10), FL_GROUP_NORMAL, 0, 40, cap);
    assert_false(s.send_group_first);
    assert_false(s.hold);
    /* the ramp doubles up to it: 256 << 5 = 8192 is still below 12288 */
    s = next(size(8191, 100), size(1, 10), FL_GROUP_NORMAL, 0, 5, cap);
    assert_false(s.hold);
    s = next(size(8192, 100), size(1, 10), FL_GROUP_NORMAL, 0, 6, cap);
    assert_true(s.hold);
    /* max_atomic_ops still bounds the whole group, and lowers the cap */
    s = next(size(9999, 100), size(1, 10), FL_GROUP_NORMAL, 10000, 40, cap);
    assert_false(s.send_group_first);
    assert_false(s.hold);
    s = next(size(9998, 100), size(5, 50), FL_GROUP_NORMAL, 10000, 40, cap);
    assert_true(s.send_group_first);
    assert_true(s.hold);
    /* ... and so does the byte cap, unchanged */
    s = next(size(10, FL_GROUP_MAX_BYTES - 5), size(1, 10), FL_GROUP_NORMAL, 0, 40, cap);
    assert_false(s.hold);
}

static void test_units_bound_each_slot_part(void **state)
{
    (void)state;
    /* a target applying a group slot by slot: max_atomic_ops bounds the largest slot part, not
     * the group, which grows up to the target's cap */
    size_t cap = 3 * 16384;
    fl_group_caps caps = {cap, 3 * FL_GROUP_MAX_BYTES, 1};
    fl_group_size group = {20000, 1000, 3}, txn = {1, 10, 1};
    fl_group_step s = fl_group_next(group, txn, 4, FL_GROUP_NORMAL, 10000, 40, caps);
    assert_false(s.send_group_first);
    assert_true(s.hold);
    /* a slot part reaching max_atomic_ops goes out now, with this one */
    s = fl_group_next(group, txn, 10000, FL_GROUP_NORMAL, 10000, 40, caps);
    assert_false(s.send_group_first);
    assert_false(s.hold);
    /* past it: the group goes first, and this one starts the next by its own largest part */
    txn = (fl_group_size){30, 300, 2};
    s = fl_group_next(group, txn, 10001, FL_GROUP_NORMAL, 10000, 40, caps);
    assert_true(s.send_group_first);
    assert_true(s.hold);
    txn.unit_ops = 10000;
    s = fl_group_next(group, txn, 10001, FL_GROUP_NORMAL, 10000, 40, caps);
    assert_true(s.send_group_first);
    assert_false(s.hold);
    /* the target's cap and the byte cap still end a group */
    group.ops = cap - 1;
    s = fl_group_next(group, (fl_group_size){1, 10, 1}, 4, FL_GROUP_NORMAL, 10000, 40, caps);
    assert_false(s.hold);
    /* a folded replay stays bounded by max_atomic_ops in all */
    group = (fl_group_size){9998, 100, 2};
    s = fl_group_next(group, (fl_group_size){5, 10, 1}, 3, FL_GROUP_WHOLE, 10000, 0, caps);
    assert_true(s.send_group_first);
    assert_true(s.hold);
}

static void test_ramp_shift(void **state)
{
    (void)state;
    /* a target whose groups may grow 4 times with each: 256, 1024, 4096, ... up to its cap */
    fl_group_caps caps = {3 * 65536, 3 * FL_GROUP_MAX_BYTES, 2};
    fl_group_step s = fl_group_next(size(FL_GROUP_FIRST_OPS - 1, 100), size(1, 10), FL_GROUP_FIRST_OPS,
                                    FL_GROUP_NORMAL, 0, 0, caps);
    assert_false(s.hold);
    s = fl_group_next(size(4 * FL_GROUP_FIRST_OPS - 2, 100), size(1, 10), 4 * FL_GROUP_FIRST_OPS - 1,
                      FL_GROUP_NORMAL, 0, 1, caps);
    assert_true(s.hold);
    s = fl_group_next(size(4 * FL_GROUP_FIRST_OPS - 1, 100), size(1, 10), 4 * FL_GROUP_FIRST_OPS, FL_GROUP_NORMAL,
                      0, 1, caps);
    assert_false(s.hold);
    s = fl_group_next(size(16 * FL_GROUP_FIRST_OPS, 100), size(1, 10), 16 * FL_GROUP_FIRST_OPS + 1,
                      FL_GROUP_NORMAL, 0, 2, caps);
    assert_false(s.hold);
    /* the cap, then the byte cap, end it once grown; no shift overflows, however long */
    s = fl_group_next(size(3 * 65536 - 2, 100), size(1, 10), 3 * 65536 - 1, FL_GROUP_NORMAL, 0, 40, caps);
    assert_true(s.hold);
    s = fl_group_next(size(3 * 65536 - 1, 100), size(1, 10), 3 * 65536, FL_GROUP_NORMAL, 0, UINT32_MAX, caps);
    assert_false(s.hold);
    s = fl_group_next(size(10, 3 * FL_GROUP_MAX_BYTES - 5), size(1, 10), 11, FL_GROUP_NORMAL, 0, 40, caps);
    assert_false(s.hold);
    s = fl_group_next(size(10, FL_GROUP_MAX_BYTES), size(1, 10), 11, FL_GROUP_NORMAL, 0, 40, caps);
    assert_true(s.hold);
}

static void test_units_counting(void **state)
{
    (void)state;
    fl_group_units *group = calloc(1, sizeof *group), *txn = calloc(1, sizeof *txn);
    assert_non_null(group);
    assert_non_null(txn);
    fl_group_units_add(group, 7);
    fl_group_units_add(group, 7);
    fl_group_units_add(group, 16383);
    assert_int_equal(group->largest, 2);
    assert_int_equal(group->nused, 2);
    fl_group_units_add(txn, 16383);
    fl_group_units_add(txn, 16383);
    fl_group_units_add(txn, 0);
    assert_int_equal(txn->largest, 2);
    /* joined, slot 16383 holds 3; nothing changes until it joins */
    assert_int_equal(fl_group_units_joined(group, txn), 3);
    assert_int_equal(group->largest, 2);
    fl_group_units_join(group, txn);
    assert_int_equal(group->largest, 3);
    assert_int_equal(group->nused, 3);
    assert_int_equal(group->count[0], 1);
    /* a transaction in other slots leaves the largest where it is */
    fl_group_units_clear(txn);
    fl_group_units_add(txn, 100);
    assert_int_equal(fl_group_units_joined(group, txn), 3);
    /* cleared, every count is zero again */
    fl_group_units_clear(group);
    assert_int_equal(group->largest, 0);
    assert_int_equal(group->nused, 0);
    for (size_t i = 0; i < FL_GROUP_UNITS; i++) assert_int_equal(group->count[i], 0);
    fl_group_units_add(group, 7);
    assert_int_equal(group->largest, 1);
    free(group);
    free(txn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_transactions_are_held),
        cmocka_unit_test(test_full_group_goes_out_with_the_last),
        cmocka_unit_test(test_alone),
        cmocka_unit_test(test_never_past_max_atomic_ops),
        cmocka_unit_test(test_folded_replay_is_one_group),
        cmocka_unit_test(test_ramp_after_idling),
        cmocka_unit_test(test_target_cap),
        cmocka_unit_test(test_units_bound_each_slot_part),
        cmocka_unit_test(test_ramp_shift),
        cmocka_unit_test(test_units_counting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
