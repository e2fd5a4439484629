/* test_resp.c — the RESP encoder: one operation's commands (SET with and without EX, a hash
 * as DEL + HSET + EXPIRE, DEL), and runs merged into one variadic command: consecutive SETs
 * without a TTL as MSET (a repeated key kept in order), consecutive DELs as one DEL, a run
 * broken by another kind, a TTL or a DEL_MATCH, and the key and byte caps of a run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl-apply/resp.h"

static fl_cache_op set(const char *key, const char *value, uint32_t ttl)
{
    return (fl_cache_op){.kind = FL_CACHE_SET,
                         .key = key,
                         .key_len = (uint32_t)strlen(key),
                         .value = value,
                         .value_len = (uint32_t)strlen(value),
                         .ttl = ttl};
}

static fl_cache_op del(const char *key)
{
    return (fl_cache_op){.kind = FL_CACHE_DEL, .key = key, .key_len = (uint32_t)strlen(key)};
}

/* The buffer's bytes as a C string (for comparing). */
static const char *text(fl_buf *b) { return fl_buf_cstr(b); }

static void test_single_operations(void **state)
{
    (void)state;
    fl_buf b = {0};
    fl_cache_op op = set("k", "v", 0);
    assert_int_equal(fl_resp_op(&b, &op), 1);
    assert_string_equal(text(&b), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    fl_buf_reset(&b);
    op = set("k", "v", 60);
    assert_int_equal(fl_resp_op(&b, &op), 1);
    assert_string_equal(text(&b), "*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nEX\r\n$2\r\n60\r\n");
    fl_buf_reset(&b);
    fl_cache_field f = {.name = "a", .value = "1", .name_len = 1, .value_len = 1};
    op = (fl_cache_op){.kind = FL_CACHE_HASH, .key = "h", .key_len = 1, .fields = &f, .nfields = 1, .ttl = 5};
    assert_int_equal(fl_resp_op(&b, &op), 3);
    assert_string_equal(text(&b), "*2\r\n$3\r\nDEL\r\n$1\r\nh\r\n"
                                  "*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\na\r\n$1\r\n1\r\n"
                                  "*3\r\n$6\r\nEXPIRE\r\n$1\r\nh\r\n$1\r\n5\r\n");
    fl_buf_free(&b);
}

static void test_sets_merge_into_mset(void **state)
{
    (void)state;
    fl_buf b = {0};
    fl_cache_op ops[] = {set("a", "1", 0), set("b", "2", 0), set("a", "3", 0), del("c")};
    size_t used = 0;
    assert_int_equal(fl_resp_run(&b, ops, 4, &used), 1);
    assert_int_equal(used, 3); /* the DEL is not part of it; "a" stays twice, in order: 3 wins */
    assert_string_equal(text(&b), "*7\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
                                  "$1\r\na\r\n$1\r\n3\r\n");
    fl_buf_free(&b);
}

static void test_dels_merge(void **state)
{
    (void)state;
    fl_buf b = {0};
    fl_cache_op ops[] = {del("x"), del("y"), set("z", "1", 0)};
    size_t used = 0;
    assert_int_equal(fl_resp_run(&b, ops, 3, &used), 1);
    assert_int_equal(used, 2);
    assert_string_equal(text(&b), "*3\r\n$3\r\nDEL\r\n$1\r\nx\r\n$1\r\ny\r\n");
    fl_buf_free(&b);
}

static void test_runs_stop_at_ttl_hash_and_match(void **state)
{
    (void)state;
    fl_buf b = {0};
    size_t used = 0;
    /* a SET with a TTL is not merged (MSET has none), nor merges what follows */
    fl_cache_op ttl[] = {set("a", "1", 0), set("b", "2", 9), set("c", "3", 0)};
    assert_int_equal(fl_resp_run(&b, ttl, 3, &used), 1);
    assert_int_equal(used, 1);
    assert_string_equal(text(&b), "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n");
    fl_buf_reset(&b);
    assert_int_equal(fl_resp_run(&b, ttl + 1, 2, &used), 1);
    assert_int_equal(used, 1);
    fl_buf_reset(&b);
    /* a hash is its own commands; a DEL_MATCH ends a run of DELs */
    fl_cache_field f = {.name = "a", .value = "1", .name_len = 1, .value_len = 1};
    fl_cache_op mixed[] = {
        {.kind = FL_CACHE_HASH, .key = "h", .key_len = 1, .fields = &f, .nfields = 1},
        del("d"),
        del("e"),
        {.kind = FL_CACHE_DEL_MATCH, .key = "t:*", .key_len = 3},
    };
    assert_int_equal(fl_resp_run(&b, mixed, 4, &used), 2);
    assert_int_equal(used, 1);
    fl_buf_reset(&b);
    assert_int_equal(fl_resp_run(&b, mixed + 1, 3, &used), 1);
    assert_int_equal(used, 2);
    assert_string_equal(text(&b), "*3\r\n$3\r\nDEL\r\n$1\r\nd\r\n$1\r\ne\r\n");
    fl_buf_free(&b);
}

static void test_run_caps(void **state)
{
    (void)state;
    size_t n = FL_RESP_RUN_KEYS + 10;
    fl_cache_op *ops = calloc(n, sizeof *ops);
    for (size_t i = 0; i < n; i++) ops[i] = set("k", "v", 0);
    fl_buf b = {0};
    size_t used = 0;
    assert_int_equal(fl_resp_run(&b, ops, n, &used), 1);
    assert_int_equal(used, FL_RESP_RUN_KEYS);
    char head[32];
    snprintf(head, sizeof head, "*%d\r\n$4\r\nMSET\r\n", 1 + 2 * FL_RESP_RUN_KEYS);
    assert_memory_equal(b.data, head, strlen(head));
    /* large values: the run ends once it holds FL_RESP_RUN_BYTES */
    size_t big = FL_RESP_RUN_BYTES / 4;
    char *value = malloc(big + 1);
    memset(value, 'x', big);
    value[big] = 0;
    for (size_t i = 0; i < 10; i++) ops[i] = set("k", value, 0);
    fl_buf_reset(&b);
    assert_int_equal(fl_resp_run(&b, ops, 10, &used), 1);
    assert_int_equal(used, 4);
    /* one operation alone is its plain command */
    fl_buf_reset(&b);
    assert_int_equal(fl_resp_run(&b, ops + 9, 1, &used), 1);
    assert_int_equal(used, 1);
    assert_memory_equal(b.data, "*3\r\n$3\r\nSET\r\n", 13);
    fl_buf_free(&b);
    free(value);
    free(ops);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_operations), cmocka_unit_test(test_sets_merge_into_mset),
        cmocka_unit_test(test_dels_merge),        cmocka_unit_test(test_runs_stop_at_ttl_hash_and_match),
        cmocka_unit_test(test_run_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
