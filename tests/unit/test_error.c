/* test_error.c — the error carrier and the message formatter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/error.h"

static void test_set_and_clear(void **state)
{
    (void)state;
    fl_error e;
    fl_error_clear(&e);
    assert_string_equal(e.msg, "");
    assert_false(e.permanent);
    assert_int_equal(e.code, 0);
    assert_int_equal(fl_error_set(&e, true, 1045, "access denied for '%s'", "relay"), -1);
    assert_string_equal(e.msg, "access denied for 'relay'");
    assert_true(e.permanent);
    assert_int_equal(e.code, 1045);
    fl_error_set(&e, false, 0, "lost");
    assert_false(e.permanent);
    assert_int_equal(e.code, 0);
    fl_error_set(&e, true, 1236, "purged");
    fl_error_prefix(&e, "streaming after %s", "0-1-5");
    assert_string_equal(e.msg, "streaming after 0-1-5: purged");
    assert_true(e.permanent);
    assert_int_equal(e.code, 1236);
    fl_error_clear(&e);
    assert_string_equal(e.msg, "");
}

static void test_long_message_is_cut(void **state)
{
    (void)state;
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    fl_error e;
    fl_error_set(&e, false, 0, "%s", big);
    assert_int_equal(strlen(e.msg), FL_ERROR_MAX - 1);
}

static int prefixed(char *buf, size_t len, const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int prefixed(char *buf, size_t len, const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = fl_verrorf(buf, len, prefix, fmt, ap);
    va_end(ap);
    return rc;
}

static void test_formatter(void **state)
{
    (void)state;
    char buf[16];
    assert_int_equal(fl_errorf(buf, sizeof buf, "bad %d", 7), -1);
    assert_string_equal(buf, "bad 7");
    assert_int_equal(fl_errorf(NULL, 0, "nowhere"), -1); /* no buffer: nothing written */
    prefixed(buf, sizeof buf, "where: ", "what %s", "now");
    assert_string_equal(buf, "where: what now");
    prefixed(buf, sizeof buf, "a prefix longer than the buffer: ", "lost");
    assert_string_equal(buf, "a prefix longer");
    prefixed(buf, sizeof buf, NULL, "%s", "no prefix");
    assert_string_equal(buf, "no prefix");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_and_clear),
        cmocka_unit_test(test_long_message_is_cut),
        cmocka_unit_test(test_formatter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
