/* test_fold.c — the fold of a replayed range: the last operation of each key wins, keys are
 * told apart by every byte (binary, empty, prefixes), the table keeps them all as it grows,
 * and a later pattern delete supersedes the writes of the keys it matches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fl-apply/fold.h"

static void test_last_operation_wins(void **state)
{
    (void)state;
    fl_fold *f = fl_fold_new();
    assert_true(fl_fold_is_last(f, "a", 1, 1, 0)); /* never noted: nothing supersedes it */
    fl_fold_note(f, "a", 1, 1, 0);
    fl_fold_note(f, "b", 1, 1, 1);
    fl_fold_note(f, "a", 1, 3, 2); /* a later transaction */
    fl_fold_note(f, "b", 1, 1, 4); /* later in the same transaction */
    assert_false(fl_fold_is_last(f, "a", 1, 1, 0));
    assert_true(fl_fold_is_last(f, "a", 1, 3, 2));
    assert_false(fl_fold_is_last(f, "b", 1, 1, 1));
    assert_true(fl_fold_is_last(f, "b", 1, 1, 4));
    assert_false(fl_fold_is_last(f, "a", 1, 3, 3)); /* same seq, other position */
    assert_int_equal(fl_fold_keys(f), 2);
    assert_true(fl_fold_bytes(f) > 0);
    fl_fold_free(f);
    fl_fold_free(NULL);
}

static void test_keys_differ_by_every_byte(void **state)
{
    (void)state;
    fl_fold *f = fl_fold_new();
    fl_fold_note(f, "", 0, 1, 0);
    fl_fold_note(f, "ab", 2, 2, 0);
    fl_fold_note(f, "a", 1, 3, 0);
    fl_fold_note(f, "a\0b", 3, 4, 0);
    fl_fold_note(f, "a\0c", 3, 5, 0);
    assert_int_equal(fl_fold_keys(f), 5);
    assert_true(fl_fold_is_last(f, "", 0, 1, 0));
    assert_true(fl_fold_is_last(f, "ab", 2, 2, 0));
    assert_true(fl_fold_is_last(f, "a", 1, 3, 0));
    assert_true(fl_fold_is_last(f, "a\0b", 3, 4, 0));
    assert_true(fl_fold_is_last(f, "a\0c", 3, 5, 0));
    assert_false(fl_fold_is_last(f, "a\0c", 3, 4, 0));
    fl_fold_free(f);
}

static void test_grows(void **state)
{
    (void)state;
    fl_fold *f = fl_fold_new();
    char k[32];
    for (uint32_t round = 0; round < 2; round++)
        for (uint32_t i = 0; i < 100000; i++) {
            int n = snprintf(k, sizeof k, "user:%u", i);
            fl_fold_note(f, k, (uint32_t)n, round * 100000 + i + 1, 0);
        }
    assert_int_equal(fl_fold_keys(f), 100000);
    for (uint32_t i = 0; i < 100000; i++) {
        int n = snprintf(k, sizeof k, "user:%u", i);
        if (!fl_fold_is_last(f, k, (uint32_t)n, 100000 + i + 1, 0)) fail_msg("%s lost its last operation", k);
        assert_false(fl_fold_is_last(f, k, (uint32_t)n, i + 1, 0));
    }
    fl_fold_free(f);
}

/* a truncated table's keys: a key's last write before the pattern delete is superseded by it */
static void test_pattern_deletes(void **state)
{
    (void)state;
    fl_fold *f = fl_fold_new();
    assert_false(fl_fold_deleted_later(f, "t:1", 3, 1, 0));
    fl_fold_note(f, "t:1", 3, 1, 0);
    fl_fold_note_match(f, "t:*", 3, 2, 0);
    fl_fold_note(f, "t:2", 3, 3, 0);
    fl_fold_note_match(f, "a\\*b?c", 6, 4, 1);
    assert_true(fl_fold_deleted_later(f, "t:1", 3, 1, 0));   /* written, then truncated */
    assert_false(fl_fold_deleted_later(f, "t:2", 3, 3, 0));  /* written after the truncation */
    assert_false(fl_fold_deleted_later(f, "u:1", 3, 1, 0));  /* another rule's key */
    assert_true(fl_fold_deleted_later(f, "t:", 2, 1, 5));    /* '*' matches nothing too */
    assert_true(fl_fold_deleted_later(f, "a*bxc", 5, 4, 0)); /* escaped '*' is literal; '?' one byte */
    assert_false(fl_fold_deleted_later(f, "aXbxc", 5, 4, 0));
    assert_false(fl_fold_deleted_later(f, "a*bc", 4, 4, 0));
    assert_false(fl_fold_deleted_later(f, "a*bxc", 5, 4, 1)); /* the same operation is not later */
    fl_fold_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_last_operation_wins),
        cmocka_unit_test(test_keys_differ_by_every_byte),
        cmocka_unit_test(test_grows),
        cmocka_unit_test(test_pattern_deletes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
