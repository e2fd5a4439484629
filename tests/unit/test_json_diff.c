/* test_json_diff.c — MySQL binlog JSON diffs applied to document text: replace, insert
 * (object members in MySQL's key order, array positions), remove, quoted keys and [last],
 * and clear errors for missing paths and malformed diffs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/buf.h"
#include "fl-relay/json_diff.h"

/* diff builder: operation, path, and an optional binary JSON value */
static void add(fl_buf *d, int op, const char *path, const uint8_t *val, size_t vlen)
{
    fl_buf_putc(d, (uint8_t)op);
    fl_buf_putc(d, (uint8_t)strlen(path));
    fl_buf_puts(d, path);
    if (op != 2) {
        fl_buf_putc(d, (uint8_t)vlen);
        fl_buf_put(d, val, vlen);
    }
}

static const uint8_t INT16_26[] = {0x05, 26, 0};
static const uint8_t STR_1[] = {0x0c, 1, '1'};
static const uint8_t TRUE_[] = {0x04, 1};

static char result[512];
static char err[256];

static int apply(const char *doc, const fl_buf *d)
{
    fl_buf out = {0};
    int rc = fl_json_diff_apply(doc, strlen(doc), d->data, d->len, &out, err, sizeof err);
    snprintf(result, sizeof result, "%.*s", (int)out.len, out.data ? (const char *)out.data : "");
    fl_buf_free(&out);
    return rc;
}

static void test_replace_insert_remove_members(void **state)
{
    (void)state;
    const char *doc = "{\"age\": 25, \"data\": \"xxxxxxxxxx\", \"name\": \"Joe\"}";
    fl_buf d = {0};
    add(&d, 0, "$.age", INT16_26, sizeof INT16_26);
    assert_int_equal(apply(doc, &d), 0);
    assert_string_equal(result, "{\"age\": 26, \"data\": \"xxxxxxxxxx\", \"name\": \"Joe\"}");

    /* a new key goes where MySQL keeps it: shorter keys first, then by bytes */
    fl_buf_reset(&d);
    add(&d, 1, "$.zip", STR_1, sizeof STR_1);
    add(&d, 2, "$.data", NULL, 0);
    assert_int_equal(apply(doc, &d), 0);
    assert_string_equal(result, "{\"age\": 25, \"zip\": \"1\", \"name\": \"Joe\"}");
    fl_buf_free(&d);
}

static void test_arrays_and_nesting(void **state)
{
    (void)state;
    const char *doc = "{\"a\": [1, 2, 3], \"o\": {\"k k\": [\"x\", {\"b\": null}]}}";
    fl_buf d = {0};
    add(&d, 1, "$.a[1]", TRUE_, sizeof TRUE_);
    add(&d, 0, "$.a[last]", STR_1, sizeof STR_1);
    add(&d, 2, "$.a[0]", NULL, 0);
    add(&d, 0, "$.o.\"k k\"[1].b", INT16_26, sizeof INT16_26);
    assert_int_equal(apply(doc, &d), 0);
    assert_string_equal(result, "{\"a\": [true, 2, \"1\"], \"o\": {\"k k\": [\"x\", {\"b\": 26}]}}");

    /* insert past the end appends; [last-1] counts from the end */
    fl_buf_reset(&d);
    add(&d, 1, "$.a[10]", TRUE_, sizeof TRUE_);
    add(&d, 2, "$.a[last-1]", NULL, 0);
    assert_int_equal(apply(doc, &d), 0);
    assert_string_equal(result, "{\"a\": [1, 2, true], \"o\": {\"k k\": [\"x\", {\"b\": null}]}}");

    /* replacing the whole document */
    fl_buf_reset(&d);
    add(&d, 0, "$", STR_1, sizeof STR_1);
    assert_int_equal(apply(doc, &d), 0);
    assert_string_equal(result, "\"1\"");
    fl_buf_free(&d);
}

static void test_errors(void **state)
{
    (void)state;
    const char *doc = "{\"a\": [1]}";
    fl_buf d = {0};
    add(&d, 0, "$.b", INT16_26, sizeof INT16_26);
    assert_int_equal(apply(doc, &d), -1);
    assert_string_equal(err, "JSON diff: path $.b not found in the document");

    fl_buf_reset(&d);
    add(&d, 2, "$.a[3]", NULL, 0);
    assert_int_equal(apply(doc, &d), -1);
    assert_string_equal(err, "JSON diff: path $.a[3] not found in the document");

    fl_buf_reset(&d);
    add(&d, 0, "$.a.x", INT16_26, sizeof INT16_26);
    assert_int_equal(apply(doc, &d), -1);
    assert_non_null(strstr(err, "not an object"));

    fl_buf_reset(&d);
    add(&d, 0, "$.a", INT16_26, sizeof INT16_26);
    d.len -= 2; /* value cut short */
    assert_int_equal(apply(doc, &d), -1);
    assert_string_equal(err, "JSON diff: truncated value");

    fl_buf_reset(&d);
    fl_buf_putc(&d, 7);
    fl_buf_putc(&d, 1);
    fl_buf_putc(&d, '$');
    assert_int_equal(apply(doc, &d), -1);
    assert_string_equal(err, "JSON diff: unknown operation 7");

    fl_buf_reset(&d);
    add(&d, 0, "a.b", INT16_26, sizeof INT16_26);
    assert_int_equal(apply(doc, &d), -1);
    assert_string_equal(err, "JSON diff: path does not start with $");

    fl_buf_reset(&d);
    add(&d, 0, "$.a", INT16_26, sizeof INT16_26);
    assert_int_equal(apply("{\"a\": [1", &d), -1);
    fl_buf_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replace_insert_remove_members),
        cmocka_unit_test(test_arrays_and_nesting),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
