/* test_buf.c — text for messages: unprintable bytes shown as '?', long text cut with "...". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/buf.h"

static void test_printable(void **state)
{
    (void)state;
    char b[16];
    assert_string_equal(fl_printable("plain text", b, sizeof b), "plain text");
    assert_string_equal(fl_printable("a\nb\tc\x01\xc3\xa9", b, sizeof b), "a?b?c???");
    assert_string_equal(fl_printable("0123456789abcdefghij", b, sizeof b), "0123456789ab...");
    assert_string_equal(fl_printable("", b, sizeof b), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_printable)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
