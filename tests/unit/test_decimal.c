/* test_decimal.c — binary DECIMAL: sizes for every precision/scale shape, text of positive,
 * negative and zero values, leading zeros, integer-only and fraction-only types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fl-relay/decimal.h"

static void test_sizes(void **state)
{
    (void)state;
    /* 1-2 digits: 1 byte, 3-4: 2, 5-6: 3, 7-9: 4; each full group of 9: 4 */
    assert_int_equal(fl_decimal_bin_size(1, 0), 1);
    assert_int_equal(fl_decimal_bin_size(9, 0), 4);
    assert_int_equal(fl_decimal_bin_size(10, 0), 5);
    assert_int_equal(fl_decimal_bin_size(10, 2), 5);
    assert_int_equal(fl_decimal_bin_size(18, 9), 8);
    assert_int_equal(fl_decimal_bin_size(4, 4), 2);
    assert_int_equal(fl_decimal_bin_size(65, 30), 30);
    assert_int_equal(fl_decimal_bin_size(65, 0), 29);
    assert_int_equal(fl_decimal_bin_size(81, 0), 36);
    assert_int_equal(fl_decimal_bin_size(0, 0), 0);
    assert_int_equal(fl_decimal_bin_size(82, 0), 0);
    assert_int_equal(fl_decimal_bin_size(5, 6), 0);
}

static void check(const uint8_t *p, unsigned prec, unsigned scale, const char *want)
{
    size_t n = fl_decimal_bin_size(prec, scale);
    uint8_t *copy = malloc(n);
    memcpy(copy, p, n);
    char text[FL_DECIMAL_TEXT_MAX];
    uint32_t bad = 0;
    int tl = fl_decimal_to_text(copy, prec, scale, text, &bad);
    assert_int_equal(tl, (int)strlen(want));
    assert_string_equal(text, want);
    free(copy);
}

static void test_text(void **state)
{
    (void)state;
    /* DECIMAL(10,2) 1165.50: 0x0000048d, 50; top bit flipped */
    check((const uint8_t *)"\x80\x00\x04\x8d\x32", 10, 2, "1165.50");
    check((const uint8_t *)"\x7f\xff\xfb\x72\xcd", 10, 2, "-1165.50");
    check((const uint8_t *)"\x80\x00\x00\x00\x00", 10, 2, "0.00");
    check((const uint8_t *)"\x7f\xff\xff\xff\xff", 10, 2, "0.00"); /* negative zero */
    check((const uint8_t *)"\x80\x00\x2a", 5, 0, "42");
    check((const uint8_t *)"\x6c\x77", 4, 4, "-0.5000");
    /* DECIMAL(81,0) all nines: nine full groups of 999999999 */
    uint8_t nines[36];
    for (int g = 0; g < 9; g++) {
        nines[4 * g] = 0x3b;
        nines[4 * g + 1] = 0x9a;
        nines[4 * g + 2] = 0xc9;
        nines[4 * g + 3] = 0xff;
    }
    nines[0] ^= 0x80;
    char want[90];
    memset(want, '9', 81);
    want[81] = 0;
    check(nines, 81, 0, want);
    /* a group over its digits */
    char text[FL_DECIMAL_TEXT_MAX];
    uint32_t bad = 0;
    assert_int_equal(fl_decimal_to_text((const uint8_t *)"\xa7\x10", 4, 0, text, &bad), -1);
    assert_int_equal(bad, 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
