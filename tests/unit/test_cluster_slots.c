/* test_cluster_slots.c — Redis Cluster key slots: the CRC16 check value, known key slots
 * (as CLUSTER KEYSLOT answers), hash tags and their edge cases, and a tag for every slot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl-apply/cluster_slots.h"

static uint16_t slot_of(const char *key) { return fl_cluster_key_slot(key, strlen(key)); }

static void test_crc16_check_value(void **state)
{
    (void)state;
    assert_int_equal(fl_cluster_crc16("123456789", 9), 0x31C3);
    assert_int_equal(fl_cluster_crc16("", 0), 0);
}

static void test_known_slots(void **state)
{
    (void)state;
    assert_int_equal(slot_of("foo"), 12182);
    assert_int_equal(slot_of("bar"), 5061);
    assert_int_equal(slot_of("hello"), 866);
    assert_int_equal(slot_of(""), 0);
}

static void test_hash_tags(void **state)
{
    (void)state;
    assert_int_equal(slot_of("{user1000}.following"), slot_of("{user1000}.followers"));
    assert_int_equal(slot_of("{user1000}.following"), slot_of("user1000"));
    assert_int_equal(slot_of("x{foo}y"), 12182);
    assert_int_equal(slot_of("{foo}{bar}"), 12182); /* the first tag only */
    assert_int_equal(slot_of("{}"), 15257);         /* an empty tag: the whole key (as CLUSTER KEYSLOT says) */
    assert_int_equal(slot_of("{}foo"), 9500);
    assert_int_equal(slot_of("{{foo}}"), 13308); /* the tag is "{foo" */
    assert_int_equal(slot_of("foo{"), 7673);     /* no '}': the whole key */
    assert_int_equal(slot_of("foo}{"), fl_cluster_crc16("foo}{", 5) % FL_CLUSTER_SLOTS); /* a '}' before the '{' */
}

static void test_tag_for_every_slot(void **state)
{
    (void)state;
    char(*tags)[FL_CLUSTER_TAG_MAX] = malloc(FL_CLUSTER_SLOTS * sizeof *tags);
    assert_non_null(tags);
    fl_cluster_slot_tags(tags);
    char key[64];
    for (unsigned s = 0; s < FL_CLUSTER_SLOTS; s++) {
        assert_true(tags[s][0] != 0);
        assert_null(strpbrk(tags[s], "{}"));
        int n = snprintf(key, sizeof key, "fastlane:checkpoint:app:{%s}", tags[s]);
        assert_int_equal(fl_cluster_key_slot(key, (size_t)n), s);
    }
    free(tags);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16_check_value),
        cmocka_unit_test(test_known_slots),
        cmocka_unit_test(test_hash_tags),
        cmocka_unit_test(test_tag_for_every_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
