/* test_group.c — the coalescing decision: transactions are held while the group stays under
 * its operation and byte caps, a transaction that must go alone sends the group first (only
 * when it has operations: a checkpoint alone is superseded), a group never grows past
 * max_atomic_ops, max_atomic_ops below the default cap lowers it, and a folded replay stays
 * one group up to max_atomic_ops; the first groups after the target idled are smaller; a target
 * with a larger cap (a cluster, per primary) gets larger groups, still within max_atomic_ops and
 * the byte cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fl-apply/group.h"

static fl_group_size size(size_t ops, size_t bytes) { return (fl_group_size){ops, bytes}; }

static void test_small_transactions_are_held(void **state)
{
    (void)state;
    fl_group_step s = fl_group_next(size(0, 0), size(1, 40), FL_GROUP_NORMAL, 10000, UINT32_MAX, FL_GROUP_MAX_OPS);
    assert_false(s.send_group_first);
    assert_true(s.hold);
    s = fl_group_next(size(100, 4000), size(1, 40), FL_GROUP_NORMAL, 10000, UINT32_MAX, FL_GROUP_MAX_OPS);
    assert_false(s.send_group_first);
    assert_true(s.hold);
    s = fl_group_next(size(5, 200), size(0, 0), FL_GROUP_NORMAL, 0, UINT32_MAX,
                      FL_GROUP_MAX_OPS); /* no operations, no max_atomic_ops */
    assert_true(s.hold);
}

static void test_full_group_goes_out_with_the_last(void **state)
{
    (void)state;
    fl_group_step s = fl_group_next(size(FL_GROUP_MAX_OPS - 1, 100), size(1, 10), FL_GROUP_NORMAL, 0, UINT32_MAX,
                                    FL_GROUP_MAX_OPS);
    assert_false(s.send_group_first);
    assert_false(s.hold); /* sent now, the group and this one together */
    s = fl_group_next(size(10, FL_GROUP_MAX_BYTES - 5), size(1, 10), FL_GROUP_NORMAL, 10000, UINT32_MAX,
                      FL_GROUP_MAX_OPS);
    assert_false(s.send_group_first);
    assert_false(s.hold);
}

static void test_alone(void **state)
{
    (void)state;
    fl_group_step s = fl_group_next(size(7, 70), size(3, 30), FL_GROUP_ALONE, 10000, 0, FL_GROUP_MAX_OPS);
    assert_true(s.send_group_first);
    assert_false(s.hold);
    /* a group of transactions without operations is only a checkpoint: this one's supersedes it */
    s = fl_group_next(size(0, 0), size(3, 30), FL_GROUP_ALONE, 10000, 0, FL_GROUP_MAX_OPS);
    assert_false(s.send_group_first);
    assert_false(s.hold);
}

static void test_never_past_max_atomic_ops(void **state)
{
    (void)state;
    /* together they would be chunked: the group goes first, this one starts a new group */
    fl_group_step s = fl_group_next(size(8, 80), size(5, 50), FL_GROUP_NORMAL, 10, UINT32_MAX, FL_GROUP_MAX_OPS);
    assert_true(s.send_group_first);
    assert_true(s.hold);
    /* this one alone fills a group */
    s = fl_group_next(size(8, 80), size(10, 100), FL_GROUP_NORMAL, 10, UINT32_MAX, FL_GROUP_MAX_OPS);
    assert_true(s.send_group_first);
    assert_false(s.hold);
    /* exactly max_atomic_ops together: one atomic submit, sent now */
    s = fl_group_next(size(5, 50), size(5, 50), FL_GROUP_NORMAL, 10, UINT32_MAX, FL_GROUP_MAX_OPS);
    assert_false(s.send_group_first);
    assert_false(s.hold);
    s = fl_group_next(size(4, 40), size(5, 50), FL_GROUP_NORMAL, 10, UINT32_MAX, FL_GROUP_MAX_OPS);
    assert_true(s.hold);
}

static void test_folded_replay_is_one_group(void **state)
{
    (void)state;
    /* past the usual caps, up to max_atomic_ops */
    fl_group_step s = fl_group_next(size(FL_GROUP_MAX_OPS + 10, FL_GROUP_MAX_BYTES), size(1, 10), FL_GROUP_WHOLE,
                                    10000, 0, FL_GROUP_MAX_OPS);
    assert_false(s.send_group_first);
    assert_true(s.hold);
    s = fl_group_next(size(9999, 100), size(1, 10), FL_GROUP_WHOLE, 10000, 0, FL_GROUP_MAX_OPS);
    assert_false(s.send_group_first);
    assert_false(s.hold); /* max_atomic_ops reached: sent now, with this one */
    s = fl_group_next(size(9998, 100), size(5, 10), FL_GROUP_WHOLE, 10000, 0, FL_GROUP_MAX_OPS);
    assert_true(s.send_group_first);
    assert_true(s.hold);
    s = fl_group_next(size(50000, 100), size(5, 10), FL_GROUP_WHOLE, 0, 0, FL_GROUP_MAX_OPS);
    assert_true(s.hold);
}

static void test_ramp_after_idling(void **state)
{
    (void)state;
    /* the first group after the target had nothing in flight goes at FL_GROUP_FIRST_OPS */
    fl_group_step s = fl_group_next(size(FL_GROUP_FIRST_OPS - 2, 100), size(1, 10), FL_GROUP_NORMAL, 0, 0,
                                    FL_GROUP_MAX_OPS);
    assert_true(s.hold);
    s = fl_group_next(size(FL_GROUP_FIRST_OPS - 1, 100), size(1, 10), FL_GROUP_NORMAL, 0, 0, FL_GROUP_MAX_OPS);
    assert_false(s.send_group_first);
    assert_false(s.hold);
    /* each next one doubles, up to FL_GROUP_MAX_OPS */
    s = fl_group_next(size(FL_GROUP_FIRST_OPS, 100), size(1, 10), FL_GROUP_NORMAL, 0, 1, FL_GROUP_MAX_OPS);
    assert_true(s.hold);
    s = fl_group_next(size(2 * FL_GROUP_FIRST_OPS - 1, 100), size(1, 10), FL_GROUP_NORMAL, 0, 1, FL_GROUP_MAX_OPS);
    assert_false(s.hold);
    s = fl_group_next(size(FL_GROUP_MAX_OPS - 2, 100), size(1, 10), FL_GROUP_NORMAL, 0, 4, FL_GROUP_MAX_OPS);
    assert_true(s.hold);
    s = fl_group_next(size(FL_GROUP_MAX_OPS - 1, 100), size(1, 10), FL_GROUP_NORMAL, 0, 40, FL_GROUP_MAX_OPS);
    assert_false(s.hold);
    /* max_atomic_ops below the ramp's cap still lowers it; a folded replay does not ramp */
    s = fl_group_next(size(9, 90), size(1, 10), FL_GROUP_NORMAL, 10, 0, FL_GROUP_MAX_OPS);
    assert_false(s.hold);
    s = fl_group_next(size(FL_GROUP_MAX_OPS, 100), size(1, 10), FL_GROUP_WHOLE, 0, 0, FL_GROUP_MAX_OPS);
    assert_true(s.hold);
}

static void test_target_cap(void **state)
{
    (void)state;
    /* a cluster of 3 primaries: groups of 3 * FL_GROUP_MAX_OPS operations, once ramped up */
    size_t cap = 3 * FL_GROUP_MAX_OPS;
    fl_group_step s = fl_group_next(size(FL_GROUP_MAX_OPS, 100), size(1, 10), FL_GROUP_NORMAL, 0, 40, cap);
    assert_true(s.hold);
    s = fl_group_next(size(cap - 2, 100), size(1, 10), FL_GROUP_NORMAL, 0, 40, cap);
    assert_true(s.hold);
    s = fl_group_next(size(cap - 1, 100), size(1, 10), FL_GROUP_NORMAL, 0, 40, cap);
    assert_false(s.send_group_first);
    assert_false(s.hold);
    /* the ramp doubles up to it: 256 << 5 = 8192 is still below 12288 */
    s = fl_group_next(size(8191, 100), size(1, 10), FL_GROUP_NORMAL, 0, 5, cap);
    assert_false(s.hold);
    s = fl_group_next(size(8192, 100), size(1, 10), FL_GROUP_NORMAL, 0, 6, cap);
    assert_true(s.hold);
    /* max_atomic_ops still bounds the whole group, and lowers the cap */
    s = fl_group_next(size(9999, 100), size(1, 10), FL_GROUP_NORMAL, 10000, 40, cap);
    assert_false(s.send_group_first);
    assert_false(s.hold);
    s = fl_group_next(size(9998, 100), size(5, 50), FL_GROUP_NORMAL, 10000, 40, cap);
    assert_true(s.send_group_first);
    assert_true(s.hold);
    /* ... and so does the byte cap, unchanged */
    s = fl_group_next(size(10, FL_GROUP_MAX_BYTES - 5), size(1, 10), FL_GROUP_NORMAL, 0, 40, cap);
    assert_false(s.hold);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
