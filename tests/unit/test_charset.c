/* test_charset.c — column text to UTF-8: pass-through for UTF-8/ascii/binary/unknown,
 * MySQL's latin1 (Windows-1252), iconv character sets, and bytes a set does not define. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fl-relay/charset.h"

enum {
    UTF8MB4_BIN = 46,
    UTF8MB3 = 33,
    UTF8MB4_0900 = 255,
    LATIN1 = 8,
    LATIN1_BIN = 47,
    ASCII = 11,
    BINARY = 63,
    GBK = 28,
    UCS2 = 35,
    CP1251 = 51
};

static void expect(uint32_t collation, const char *in, size_t len, const char *want, size_t want_len)
{
    fl_arena a = {0};
    const char *out;
    size_t n;
    fl_charset_to_utf8(collation, in, len, &a, &out, &n);
    if (n != want_len || memcmp(out, want, n) != 0) {
        char hex[400] = "";
        for (size_t i = 0; i < n && i < 100; i++) snprintf(hex + 3 * i, 4, "%02x ", (uint8_t)out[i]);
        fail_msg("collation %u: got %s", collation, hex);
    }
    assert_int_equal(out[n], 0);
    fl_arena_free(&a);
}

static void test_pass_through(void **state)
{
    (void)state;
    assert_false(fl_charset_needs_conversion(0));
    assert_false(fl_charset_needs_conversion(UTF8MB4_BIN));
    assert_false(fl_charset_needs_conversion(UTF8MB3));
    assert_false(fl_charset_needs_conversion(UTF8MB4_0900));
    assert_false(fl_charset_needs_conversion(ASCII));
    assert_false(fl_charset_needs_conversion(BINARY));
    assert_false(fl_charset_needs_conversion(4000000)); /* unknown id: left alone */
    assert_true(fl_charset_needs_conversion(LATIN1));
    assert_true(fl_charset_needs_conversion(LATIN1_BIN));
    assert_true(fl_charset_needs_conversion(GBK));
    expect(UTF8MB4_BIN, "\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80", 4);
}

static void test_latin1(void **state)
{
    (void)state;
    /* é, €, the unassigned 0x81, ÿ, and an embedded NUL */
    expect(LATIN1, "a\xe9\x80\x81\xff\x00z", 7, "a\xc3\xa9\xe2\x82\xac\xc2\x81\xc3\xbf\x00z", 12);
    expect(LATIN1_BIN, "\x9f\x8c", 2, "\xc5\xb8\xc5\x92", 4);
    expect(LATIN1, "", 0, "", 0);
}

static void test_iconv_sets(void **state)
{
    (void)state;
    expect(GBK, "\xc4\xe3\xba\xc3", 4, "\xe4\xbd\xa0\xe5\xa5\xbd", 6); /* 你好 */
    expect(UCS2, "\x00\x41\x20\xac", 4, "A\xe2\x82\xac", 4);
    expect(CP1251, "\xcf\xf0\xe8", 3, "\xd0\x9f\xd1\x80\xd0\xb8", 6); /* При */
    /* a lone GBK lead byte at the end is kept as U+00C4 */
    expect(GBK, "a\xc4", 2, "a\xc3\x84", 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pass_through),
        cmocka_unit_test(test_latin1),
        cmocka_unit_test(test_iconv_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
