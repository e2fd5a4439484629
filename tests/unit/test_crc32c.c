/* test_crc32c.c — known-answer tests for CRC-32C and CRC-32, incremental use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/crc32c.h"

static void test_known_answers(void **state)
{
    (void)state;
    assert_int_equal(fl_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(fl_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(fl_crc32c(0, "", 0), 0);
}

static void test_incremental(void **state)
{
    (void)state;
    uint8_t data[1000];
    for (int i = 0; i < 1000; i++) data[i] = (uint8_t)(i * 31 + 7);
    for (size_t split = 0; split <= 1000; split += 37) {
        assert_int_equal(fl_crc32c(fl_crc32c(0, data, split), data + split, 1000 - split),
                         fl_crc32c(0, data, 1000));
        assert_int_equal(fl_crc32(fl_crc32(0, data, split), data + split, 1000 - split), fl_crc32(0, data, 1000));
    }
}

/* The instruction-based CRC-32C (when the CPU has it) equals the table-driven one for every
 * length and alignment. */
static void test_portable_equal(void **state)
{
    (void)state;
    uint8_t data[600];
    uint32_t x = 12345;
    for (int i = 0; i < 600; i++) data[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 16);
    assert_int_equal(fl_crc32c_portable(0, "123456789", 9), 0xE3069283u);
    for (size_t off = 0; off < 9; off++)
        for (size_t len = 0; len + off <= 600; len += 13)
            assert_int_equal(fl_crc32c(7, data + off, len), fl_crc32c_portable(7, data + off, len));
}

/* The folding CRC-32 (when the CPU has carry-less multiplication) equals the table-driven one
 * for every length around its 64- and 16-byte steps, alignment and starting CRC. */
static void test_crc32_portable_equal(void **state)
{
    (void)state;
    static uint8_t data[20000];
    uint32_t x = 999;
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 16);
    assert_int_equal(fl_crc32_portable(0, "123456789", 9), 0xCBF43926u);
    for (size_t off = 0; off < 17; off += 3)
        for (size_t len = 0; len <= 300; len++) {
            assert_int_equal(fl_crc32(0, data + off, len), fl_crc32_portable(0, data + off, len));
            assert_int_equal(fl_crc32(0xdeadbeef, data + off, len),
                             fl_crc32_portable(0xdeadbeef, data + off, len));
        }
    for (size_t len = 300; len + 17 <= sizeof data; len = len * 3 / 2 + 7)
        assert_int_equal(fl_crc32(1, data + 5, len), fl_crc32_portable(1, data + 5, len));
    memset(data, 0xff, 4096);
    assert_int_equal(fl_crc32(0, data, 4096), fl_crc32_portable(0, data, 4096));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_known_answers), cmocka_unit_test(test_incremental),
                                       cmocka_unit_test(test_portable_equal),
                                       cmocka_unit_test(test_crc32_portable_equal)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
