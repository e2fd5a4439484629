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
        assert_int_equal(fl_crc32c(fl_crc32c(0, data, split), data + split, 1000 - split), fl_crc32c(0, data, 1000));
        assert_int_equal(fl_crc32(fl_crc32(0, data, split), data + split, 1000 - split), fl_crc32(0, data, 1000));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_known_answers), cmocka_unit_test(test_incremental)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
