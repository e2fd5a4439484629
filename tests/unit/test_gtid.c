/* test_gtid.c — GTID and GTID-set parsing, formatting, comparison and set algebra, both flavors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/gtid.h"

#define U1 "3e11fa47-71ca-11e1-9e33-c80aa9429562"
#define U2 "4e11fa47-71ca-11e1-9e33-c80aa9429562"

static fl_gtid gt(const char *s)
{
    fl_gtid g;
    assert_int_equal(fl_gtid_parse(&g, s, strlen(s)), 0);
    return g;
}

static void check_set_roundtrip(const char *in, const char *canonical)
{
    char err[200];
    fl_gtid_set *s = fl_gtid_set_parse(in, err, sizeof err);
    if (!s) fail_msg("parse '%s': %s", in, err);
    char *f = fl_gtid_set_format(s);
    assert_string_equal(f, canonical);
    fl_gtid_set *s2 = fl_gtid_set_parse(f, err, sizeof err);
    assert_non_null(s2);
    assert_true(fl_gtid_set_equal(s, s2));
    free(f);
    fl_gtid_set_free(s);
    fl_gtid_set_free(s2);
}

static void test_single_mariadb(void **state)
{
    (void)state;
    fl_gtid g = gt("0-1-42");
    assert_int_equal(g.flavor, FL_FLAVOR_MARIADB);
    assert_int_equal(g.domain, 0);
    assert_int_equal(g.server_id, 1);
    assert_int_equal(g.seq_no, 42);
    char buf[FL_GTID_TEXT_MAX];
    assert_int_equal(fl_gtid_format(&g, buf, sizeof buf), 6);
    assert_string_equal(buf, "0-1-42");
    g = gt("4294967295-4294967295-18446744073709551615");
    assert_int_equal(g.domain, 4294967295u);
    assert_true(g.seq_no == UINT64_MAX);
    fl_gtid_format(&g, buf, sizeof buf);
    assert_string_equal(buf, "4294967295-4294967295-18446744073709551615");
}

static void test_single_mysql(void **state)
{
    (void)state;
    char buf[FL_GTID_TEXT_MAX];
    fl_gtid g = gt("3E11FA47-71CA-11E1-9E33-C80AA9429562:23");
    assert_int_equal(g.flavor, FL_FLAVOR_MYSQL);
    assert_int_equal(g.gno, 23);
    assert_string_equal(g.tag, "");
    assert_int_equal(g.uuid[0], 0x3e);
    assert_int_equal(g.uuid[15], 0x62);
    fl_gtid_format(&g, buf, sizeof buf);
    assert_string_equal(buf, U1 ":23");
    g = gt(U1 ":My_Tag9:7");
    assert_string_equal(g.tag, "my_tag9");
    assert_int_equal(g.gno, 7);
    fl_gtid_format(&g, buf, sizeof buf);
    assert_string_equal(buf, U1 ":my_tag9:7");
    g = gt(U1 ":_abcdefghijklmnopqrstuvwxyz01234:9223372036854775806");
    assert_int_equal(strlen(g.tag), 32);
    /* truncation still reports the full length */
    char small[8];
    assert_int_equal(fl_gtid_format(&g, small, sizeof small), strlen(U1) + 1 + 32 + 1 + 19);
    assert_string_equal(small, "3e11fa4");
}

static void test_single_malformed(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "0-1",
                         "0-1-",
                         "-1-2",
                         "0--2",
                         "a-1-2",
                         "0-1-2-3",
                         "4294967296-1-1",
                         "0-4294967296-1",
                         "0-1-18446744073709551616",
                         "0-1-+5",
                         " 0-1-2",
                         U1,
                         U1 ":",
                         U1 ":0",
                         U1 ":9223372036854775807",
                         U1 ":x",
                         U1 ":1a",
                         U1 ":tag",
                         U1 ":tag:",
                         U1 ":1tag:5",
                         U1 ":ta-g:5",
                         U1 ":_abcdefghijklmnopqrstuvwxyz012345:1",
                         U1 ":1-2",
                         "3e11fa47-71ca-11e1-9e33-c80aa942956:1",
                         "3e11fa4771ca-11e1-9e33-c80aa9429562x:1",
                         "3e11fa47-71ca-11e1-9e33-c80aa942956z:1",
                         "3e11fa47x71ca-11e1-9e33-c80aa9429562:1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fl_gtid g;
        if (fl_gtid_parse(&g, bad[i], strlen(bad[i])) == 0) fail_msg("accepted '%s'", bad[i]);
    }
}

static void test_compare(void **state)
{
    (void)state;
    fl_gtid a = gt("0-1-5"), b = gt("0-2-6"), c = gt("1-1-1");
    assert_true(fl_gtid_cmp(&a, &b) < 0);
    assert_true(fl_gtid_cmp(&b, &a) > 0);
    assert_true(fl_gtid_cmp(&b, &c) < 0);
    fl_gtid a2 = gt("0-9-5");
    assert_int_equal(fl_gtid_cmp(&a, &a2), 0); /* same stream position */
    assert_false(fl_gtid_equal(&a, &a2));
    fl_gtid m1 = gt(U1 ":5"), m2 = gt(U1 ":6"), m3 = gt(U1 ":a:1"), m4 = gt(U2 ":1");
    assert_true(fl_gtid_cmp(&m1, &m2) < 0);
    assert_true(fl_gtid_cmp(&m2, &m3) < 0); /* untagged before tagged */
    assert_true(fl_gtid_cmp(&m3, &m4) < 0);
    fl_gtid m1b = gt("3E11FA47-71CA-11E1-9E33-C80AA9429562:5");
    assert_true(fl_gtid_equal(&m1, &m1b));
    assert_false(fl_gtid_equal(&m1, &a));
}

static void test_set_mysql_canonical(void **state)
{
    (void)state;
    check_set_roundtrip("", "");
    check_set_roundtrip("  \n ", "");
    check_set_roundtrip(U1 ":1-5:7", U1 ":1-5:7");
    check_set_roundtrip(U1 ":7:1-3:4-5", U1 ":1-5:7");
    check_set_roundtrip(U1 ":1-3:2-9:10", U1 ":1-10");
    check_set_roundtrip(U1 ":5:5:5", U1 ":5");
    check_set_roundtrip(U2 ":1, " U1 ":2", U1 ":2," U2 ":1");
    check_set_roundtrip("3E11FA47-71CA-11E1-9E33-C80AA9429562:1,\n" U1 ":3", U1 ":1:3");
    check_set_roundtrip(U1 ":TagB:1-2:tagA:5," U1 ":1-5", U1 ":1-5:taga:5:tagb:1-2");
    check_set_roundtrip(U1 ":t:1:t:2", U1 ":t:1-2");
    check_set_roundtrip(U1 ":x:3", U1 ":x:3");
    check_set_roundtrip(U1 ":1-9223372036854775806", U1 ":1-9223372036854775806");
}

static void test_set_mariadb_canonical(void **state)
{
    (void)state;
    check_set_roundtrip("0-1-42", "0-1-42");
    check_set_roundtrip("1-2-7, 0-1-42", "0-1-42,1-2-7");
    check_set_roundtrip("10-1-1,2-1-1,0-3-0", "0-3-0,2-1-1,10-1-1");
}

static void test_set_malformed(void **state)
{
    (void)state;
    const char *bad[] = {",",
                         "0-1-1,",
                         ",0-1-1",
                         "0-1-1,,1-1-1",
                         "0-1-1,0-2-2",
                         "0-1",
                         "x",
                         "0-1-1," U1 ":1",
                         U1 ":1,0-1-1",
                         U1,
                         U1 ":",
                         U1 ":0",
                         U1 ":5-3",
                         U1 ":1-",
                         U1 ":-1",
                         U1 ":1::2",
                         U1 ":a:b:1",
                         U1 ":a",
                         U1 ":1:a",
                         U1 ":1-9223372036854775807",
                         U1 ":9a",
                         "3e11fa47-71ca-11e1-9e33-c80aa94295:1",
                         U1 ":"
                            "abcdefghijklmnopqrstuvwxyzabcdefg:1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[200] = "";
        fl_gtid_set *s = fl_gtid_set_parse(bad[i], err, sizeof err);
        if (s) fail_msg("accepted '%s'", bad[i]);
        assert_true(strlen(err) > 5);
    }
    char err[200];
    assert_null(fl_gtid_set_parse(U1 ":5-3", err, sizeof err));
    assert_string_equal(err, "bad interval '5-3': end is before start");
    assert_null(fl_gtid_set_parse("0-1-1,0-2-2", err, sizeof err));
    assert_string_equal(err, "'0-2-2': its domain appears twice in the set");
    assert_null(fl_gtid_set_parse("0-1-1," U1 ":1", err, sizeof err));
    assert_string_equal(err, "'" U1 ":1' mixes MySQL and MariaDB GTIDs in one set");
}

static void test_set_mysql_ops(void **state)
{
    (void)state;
    fl_gtid_set *s = fl_gtid_set_new(FL_FLAVOR_NONE);
    assert_true(fl_gtid_set_is_empty(s));
    fl_gtid g = gt(U1 ":3");
    assert_int_equal(fl_gtid_set_add(s, &g), 0);
    assert_int_equal(fl_gtid_set_flavor(s), FL_FLAVOR_MYSQL);
    g = gt(U1 ":1");
    fl_gtid_set_add(s, &g);
    g = gt(U1 ":2");
    fl_gtid_set_add(s, &g);
    g = gt(U1 ":t:9");
    fl_gtid_set_add(s, &g);
    char *f = fl_gtid_set_format(s);
    assert_string_equal(f, U1 ":1-3:t:9");
    free(f);
    fl_gtid m = gt("0-1-1");
    assert_int_equal(fl_gtid_set_add(s, &m), -1);
    assert_true(fl_gtid_set_contains(s, &g));
    fl_gtid n = gt(U1 ":4");
    assert_false(fl_gtid_set_contains(s, &n));
    n = gt(U1 ":u:9");
    assert_false(fl_gtid_set_contains(s, &n));
    assert_false(fl_gtid_set_contains(s, &m));

    assert_int_equal(fl_gtid_set_nsids(s), 2);
    uint8_t u[16];
    const char *tag;
    const fl_gtid_interval *iv;
    size_t niv;
    fl_gtid_set_sid(s, 0, u, &tag, &iv, &niv);
    assert_string_equal(tag, "");
    assert_int_equal(niv, 1);
    assert_int_equal(iv[0].start, 1);
    assert_int_equal(iv[0].end, 4);
    fl_gtid_set_sid(s, 1, u, &tag, &iv, &niv);
    assert_string_equal(tag, "t");
    assert_int_equal(iv[0].start, 9);
    assert_int_equal(iv[0].end, 10);
    assert_int_equal(u[0], 0x3e);

    fl_gtid_set *o = fl_gtid_set_parse(U1 ":4-8:20," U2 ":1", NULL, 0);
    assert_false(fl_gtid_set_is_subset(o, s));
    fl_gtid_set *d = fl_gtid_set_dup(s);
    assert_true(fl_gtid_set_equal(d, s));
    assert_int_equal(fl_gtid_set_union(d, o), 0);
    f = fl_gtid_set_format(d);
    assert_string_equal(f, U1 ":1-8:20:t:9," U2 ":1");
    free(f);
    assert_true(fl_gtid_set_is_subset(s, d));
    assert_true(fl_gtid_set_is_subset(o, d));
    assert_false(fl_gtid_set_is_subset(d, s));
    assert_false(fl_gtid_set_equal(d, s));
    fl_gtid_set *e = fl_gtid_set_new(FL_FLAVOR_NONE);
    assert_true(fl_gtid_set_is_subset(e, s));
    assert_false(fl_gtid_set_is_subset(s, e));
    assert_int_equal(fl_gtid_set_union(e, s), 0);
    assert_true(fl_gtid_set_equal(e, s));
    fl_gtid_set *mset = fl_gtid_set_parse("0-1-1", NULL, 0);
    assert_int_equal(fl_gtid_set_union(s, mset), -1);
    assert_false(fl_gtid_set_is_subset(mset, s));
    /* a subset needs each interval wholly inside one of the other's */
    fl_gtid_set *x = fl_gtid_set_parse(U1 ":1-3:5", NULL, 0), *y = fl_gtid_set_parse(U1 ":1-4", NULL, 0);
    assert_false(fl_gtid_set_is_subset(x, y));
    assert_false(fl_gtid_set_is_subset(y, x));
    fl_gtid_set_free(x);
    fl_gtid_set_free(y);
    fl_gtid_set_free(mset);
    fl_gtid_set_free(e);
    fl_gtid_set_free(d);
    fl_gtid_set_free(o);
    fl_gtid_set_free(s);
}

static void test_set_mariadb_ops(void **state)
{
    (void)state;
    fl_gtid_set *s = fl_gtid_set_parse("0-1-42,1-2-7", NULL, 0);
    assert_non_null(s);
    assert_int_equal(fl_gtid_set_flavor(s), FL_FLAVOR_MARIADB);
    fl_gtid g = gt("0-5-40");
    assert_true(fl_gtid_set_contains(s, &g));
    g = gt("0-1-43");
    assert_false(fl_gtid_set_contains(s, &g));
    g = gt("2-1-1");
    assert_false(fl_gtid_set_contains(s, &g));
    g = gt("1-3-8");
    assert_int_equal(fl_gtid_set_add(s, &g), 0);
    char *f = fl_gtid_set_format(s);
    assert_string_equal(f, "0-1-42,1-3-8");
    free(f);
    assert_int_equal(fl_gtid_set_nsids(s), 2);
    fl_gtid d;
    fl_gtid_set_domain(s, 1, &d);
    assert_int_equal(d.domain, 1);
    assert_int_equal(d.server_id, 3);
    assert_int_equal(d.seq_no, 8);
    fl_gtid_set *o = fl_gtid_set_parse("0-2-10,5-1-1", NULL, 0);
    assert_false(fl_gtid_set_is_subset(o, s));
    fl_gtid_set *u = fl_gtid_set_dup(s);
    assert_int_equal(fl_gtid_set_union(u, o), 0);
    f = fl_gtid_set_format(u);
    assert_string_equal(f, "0-1-42,1-3-8,5-1-1"); /* union keeps the later position per domain */
    free(f);
    assert_true(fl_gtid_set_is_subset(s, u));
    assert_true(fl_gtid_set_is_subset(o, u));
    fl_gtid m = gt(U1 ":1");
    assert_int_equal(fl_gtid_set_add(s, &m), -1);
    fl_gtid_set_free(u);
    fl_gtid_set_free(o);
    fl_gtid_set_free(s);
}

/* Random sets built by adding GTIDs one by one must equal what their text parses to, and
 * agree with a brute-force membership model. */
static void test_random_roundtrip(void **state)
{
    (void)state;
    srand(12345);
    const char *uuids[] = {U1, U2, "00000000-0000-0000-0000-000000000001"};
    const char *tags[] = {"", "a", "zz_9"};
    for (int round = 0; round < 200; round++) {
        bool member[3][3][64] = {{{false}}};
        fl_gtid_set *s = fl_gtid_set_new(FL_FLAVOR_NONE);
        int n = rand() % 80;
        for (int i = 0; i < n; i++) {
            int u = rand() % 3, t = rand() % 3, gno = 1 + rand() % 63;
            char txt[128];
            if (tags[t][0])
                snprintf(txt, sizeof txt, "%s:%s:%d", uuids[u], tags[t], gno);
            else
                snprintf(txt, sizeof txt, "%s:%d", uuids[u], gno);
            fl_gtid g = gt(txt);
            assert_int_equal(fl_gtid_set_add(s, &g), 0);
            member[u][t][gno] = true;
        }
        char *f = fl_gtid_set_format(s);
        char err[200];
        fl_gtid_set *p = fl_gtid_set_parse(f, err, sizeof err);
        if (!p) fail_msg("reparse '%s': %s", f, err);
        assert_true(fl_gtid_set_equal(s, p));
        char *f2 = fl_gtid_set_format(p);
        assert_string_equal(f, f2);
        for (int u = 0; u < 3; u++)
            for (int t = 0; t < 3; t++)
                for (int gno = 1; gno < 64; gno++) {
                    char txt[128];
                    snprintf(txt, sizeof txt, tags[t][0] ? "%s:%s:%d" : "%s%s:%d", uuids[u], tags[t], gno);
                    fl_gtid g = gt(txt);
                    assert_int_equal(fl_gtid_set_contains(p, &g), member[u][t][gno]);
                }
        free(f);
        free(f2);
        fl_gtid_set_free(p);
        fl_gtid_set_free(s);
    }
    for (int round = 0; round < 200; round++) {
        fl_gtid_set *s = fl_gtid_set_new(FL_FLAVOR_NONE);
        for (int i = rand() % 10; i > 0; i--) {
            char txt[64];
            snprintf(txt, sizeof txt, "%d-%d-%d", rand() % 5, rand() % 100, rand());
            fl_gtid g = gt(txt);
            fl_gtid_set_add(s, &g);
        }
        char *f = fl_gtid_set_format(s);
        fl_gtid_set *p = fl_gtid_set_parse(f, NULL, 0);
        assert_non_null(p);
        assert_true(fl_gtid_set_equal(s, p));
        free(f);
        fl_gtid_set_free(p);
        fl_gtid_set_free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_mariadb),      cmocka_unit_test(test_single_mysql),
        cmocka_unit_test(test_single_malformed),    cmocka_unit_test(test_compare),
        cmocka_unit_test(test_set_mysql_canonical), cmocka_unit_test(test_set_mariadb_canonical),
        cmocka_unit_test(test_set_malformed),       cmocka_unit_test(test_set_mysql_ops),
        cmocka_unit_test(test_set_mariadb_ops),     cmocka_unit_test(test_random_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
