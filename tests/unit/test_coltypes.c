/* test_coltypes.c — row image cells of every column type decoded to canonical values.
 * Byte sequences are built from the storage formats (little-endian integers, binary
 * decimal groups, packed temporal fields), with edge values for each type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fl-relay/coltypes.h"

enum {
    T_DECIMAL = 0,
    T_TINY = 1,
    T_SHORT = 2,
    T_LONG = 3,
    T_FLOAT = 4,
    T_DOUBLE = 5,
    T_NULL = 6,
    T_TIMESTAMP = 7,
    T_LONGLONG = 8,
    T_INT24 = 9,
    T_DATE = 10,
    T_TIME = 11,
    T_DATETIME = 12,
    T_YEAR = 13,
    T_VARCHAR = 15,
    T_BIT = 16,
    T_TIMESTAMP2 = 17,
    T_DATETIME2 = 18,
    T_TIME2 = 19,
    T_VECTOR = 242,
    T_JSON = 245,
    T_NEWDECIMAL = 246,
    T_ENUM = 247,
    T_SET = 248,
    T_BLOB = 252,
    T_STRING = 254,
    T_GEOMETRY = 255,
};

static fl_column_meta col(uint8_t type, uint16_t meta)
{
    fl_column_meta m;
    memset(&m, 0, sizeof m);
    m.type = m.real_type = type;
    m.meta = meta;
    m.flavor = FL_FLAVOR_MYSQL;
    return m;
}

/* A copy of the bytes in their own allocation, so a read past the end is caught by ASan. */
static fl_value decode_ok(const fl_column_meta *m, const void *bytes, size_t n, size_t want_used, fl_arena *a)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, bytes, n);
    fl_value v;
    size_t used = 12345;
    char err[300] = "";
    if (fl_column_decode(m, copy, n, a, &v, &used, err, sizeof err) < 0) fail_msg("decode: %s", err);
    assert_int_equal(used, want_used);
    /* byte payloads that point into the input must be copied before it goes away */
    if (fl_value_has_bytes((fl_value_type)v.type) && v.s.ptr >= (const char *)copy &&
        v.s.ptr <= (const char *)copy + n) {
        char *dup = fl_arena_memdup(a, v.s.ptr, v.s.len);
        v.s.ptr = dup;
    }
    free(copy);
    return v;
}

static void expect_text(const fl_column_meta *m, const void *bytes, size_t n, fl_value_type t, const char *text)
{
    fl_arena a = {0};
    fl_value v = decode_ok(m, bytes, n, n, &a);
    assert_int_equal(v.type, t);
    if (v.s.len != strlen(text) || memcmp(v.s.ptr, text, v.s.len) != 0)
        fail_msg("got '%.*s', want '%s'", (int)v.s.len, v.s.ptr, text);
    fl_arena_free(&a);
}

static void expect_error(const fl_column_meta *m, const void *bytes, size_t n, const char *want)
{
    fl_arena a = {0};
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, bytes, n);
    fl_value v;
    size_t used;
    char err[300] = "";
    assert_int_equal(fl_column_decode(m, copy, n, &a, &v, &used, err, sizeof err), -1);
    assert_string_equal(err, want);
    free(copy);
    fl_arena_free(&a);
}

static void test_integers(void **state)
{
    (void)state;
    fl_arena a = {0};
    struct {
        uint8_t type;
        bool uns;
        uint8_t bytes[8];
        size_t n;
        int64_t i;
        uint64_t u;
    } cases[] = {
        {T_TINY, false, {0x80}, 1, INT8_MIN, 0},
        {T_TINY, false, {0x7f}, 1, INT8_MAX, 0},
        {T_TINY, false, {0xff}, 1, -1, 0},
        {T_TINY, true, {0xff}, 1, 0, UINT8_MAX},
        {T_SHORT, false, {0x00, 0x80}, 2, INT16_MIN, 0},
        {T_SHORT, false, {0xff, 0x7f}, 2, INT16_MAX, 0},
        {T_SHORT, true, {0xff, 0xff}, 2, 0, UINT16_MAX},
        {T_INT24, false, {0x00, 0x00, 0x80}, 3, -8388608, 0},
        {T_INT24, false, {0xff, 0xff, 0x7f}, 3, 8388607, 0},
        {T_INT24, false, {0xfe, 0xff, 0xff}, 3, -2, 0},
        {T_INT24, true, {0xff, 0xff, 0xff}, 3, 0, 16777215},
        {T_LONG, false, {0x00, 0x00, 0x00, 0x80}, 4, INT32_MIN, 0},
        {T_LONG, false, {0xff, 0xff, 0xff, 0x7f}, 4, INT32_MAX, 0},
        {T_LONG, true, {0xff, 0xff, 0xff, 0xff}, 4, 0, UINT32_MAX},
        {T_LONG, false, {0x39, 0x30, 0, 0}, 4, 12345, 0},
        {T_LONGLONG, false, {0, 0, 0, 0, 0, 0, 0, 0x80}, 8, INT64_MIN, 0},
        {T_LONGLONG, false, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 8, INT64_MAX, 0},
        {T_LONGLONG, true, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 8, 0, UINT64_MAX},
        {T_LONGLONG, true, {0, 0, 0, 0, 0, 0, 0, 0}, 8, 0, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        fl_column_meta m = col(cases[k].type, 0);
        m.is_unsigned = cases[k].uns;
        fl_value v = decode_ok(&m, cases[k].bytes, cases[k].n, cases[k].n, &a);
        if (cases[k].uns) {
            assert_int_equal(v.type, FL_VAL_UINT);
            assert_true(v.u == cases[k].u);
        } else {
            assert_int_equal(v.type, FL_VAL_INT);
            assert_true(v.i == cases[k].i);
        }
    }
    /* a cell followed by the next column's bytes uses only its own */
    fl_column_meta m = col(T_SHORT, 0);
    uint8_t two[] = {0x01, 0x02, 0x03, 0x04};
    fl_value v = decode_ok(&m, two, 4, 2, &a);
    assert_int_equal(v.i, 0x0201);
    m.name = "qty";
    expect_error(&m, two, 1, "column `qty` (SMALLINT): truncated (needs 2 bytes, 1 left)");
    fl_column_meta u = col(T_LONGLONG, 0);
    u.is_unsigned = true;
    expect_error(&u, two, 4, "column of type BIGINT UNSIGNED: truncated (needs 8 bytes, 4 left)");
    fl_arena_free(&a);
}

static void test_float_double(void **state)
{
    (void)state;
    fl_arena a = {0};
    fl_column_meta f = col(T_FLOAT, 4);
    uint8_t fb[] = {0x00, 0x00, 0xc0, 0x3f}; /* 1.5f = 0x3fc00000 */
    fl_value v = decode_ok(&f, fb, 4, 4, &a);
    assert_int_equal(v.type, FL_VAL_FLOAT);
    assert_true(v.d == 1.5);
    uint8_t fb2[] = {0xcd, 0xcc, 0x8c, 0x3f}; /* 1.1f = 0x3f8ccccd */
    v = decode_ok(&f, fb2, 4, 4, &a);
    assert_true((float)v.d == 1.1f);
    fl_buf out = {0};
    fl_value_to_json(&v, &out);
    assert_string_equal(fl_buf_cstr(&out), "1.1");
    fl_column_meta d = col(T_DOUBLE, 8);
    uint8_t db[] = {0, 0, 0, 0, 0, 0, 0x02, 0xc0}; /* -2.25 = 0xc002000000000000 */
    v = decode_ok(&d, db, 8, 8, &a);
    assert_int_equal(v.type, FL_VAL_DOUBLE);
    assert_true(v.d == -2.25);
    expect_error(&d, db, 7, "column of type DOUBLE: truncated (needs 8 bytes, 7 left)");
    fl_buf_free(&out);
    fl_arena_free(&a);
}

/* Binary decimal from its digit groups (most significant first): each group big-endian in
 * its byte count, first byte's top bit flipped, every byte inverted when negative. */
static size_t enc_decimal(uint8_t *out, bool negative, const uint32_t *groups, const uint8_t *widths, size_t ng)
{
    size_t n = 0;
    for (size_t g = 0; g < ng; g++)
        for (int k = widths[g] - 1; k >= 0; k--) out[n++] = (uint8_t)(groups[g] >> (8 * k));
    out[0] ^= 0x80;
    if (negative)
        for (size_t i = 0; i < n; i++) out[i] = (uint8_t)~out[i];
    return n;
}

static void test_newdecimal(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n;
    /* DECIMAL(10,2): 8 integer digits in 4 bytes, 2 fraction digits in 1 */
    fl_column_meta m = col(T_NEWDECIMAL, 10 << 8 | 2);
    n = enc_decimal(b, false, (uint32_t[]){1165, 50}, (uint8_t[]){4, 1}, 2);
    assert_int_equal(n, 5);
    assert_memory_equal(b, "\x80\x00\x04\x8d\x32", 5);
    expect_text(&m, b, n, FL_VAL_DECIMAL, "1165.50");
    n = enc_decimal(b, true, (uint32_t[]){1165, 50}, (uint8_t[]){4, 1}, 2);
    expect_text(&m, b, n, FL_VAL_DECIMAL, "-1165.50");
    n = enc_decimal(b, false, (uint32_t[]){0, 0}, (uint8_t[]){4, 1}, 2);
    expect_text(&m, b, n, FL_VAL_DECIMAL, "0.00");
    n = enc_decimal(b, false, (uint32_t[]){99999999, 99}, (uint8_t[]){4, 1}, 2);
    expect_text(&m, b, n, FL_VAL_DECIMAL, "99999999.99");
    n = enc_decimal(b, true, (uint32_t[]){0, 5}, (uint8_t[]){4, 1}, 2);
    expect_text(&m, b, n, FL_VAL_DECIMAL, "-0.05");

    /* DECIMAL(65,30): 35 integer digits = 8 + 3x9 (4+12 bytes); 30 fraction = 3x9 + 3 (12+2) */
    fl_column_meta big = col(T_NEWDECIMAL, 65 << 8 | 30);
    uint32_t g[] = {12345678, 901234567, 890123456, 789012345, 123456789, 12345678, 901234567, 890};
    uint8_t w[] = {4, 4, 4, 4, 4, 4, 4, 2};
    n = enc_decimal(b, true, g, w, 8);
    assert_int_equal(n, 30);
    expect_text(&big, b, n, FL_VAL_DECIMAL, "-12345678901234567890123456789012345.123456789012345678901234567890");
    uint32_t g1[] = {0, 0, 0, 1, 0, 0, 0, 1};
    n = enc_decimal(b, false, g1, w, 8);
    expect_text(&big, b, n, FL_VAL_DECIMAL, "1.000000000000000000000000000001");

    /* DECIMAL(5,0): leading zeros stripped; DECIMAL(4,4): no integer digits */
    fl_column_meta i5 = col(T_NEWDECIMAL, 5 << 8);
    n = enc_decimal(b, false, (uint32_t[]){42}, (uint8_t[]){3}, 1);
    expect_text(&i5, b, n, FL_VAL_DECIMAL, "42");
    n = enc_decimal(b, true, (uint32_t[]){99999}, (uint8_t[]){3}, 1);
    expect_text(&i5, b, n, FL_VAL_DECIMAL, "-99999");
    fl_column_meta f4 = col(T_NEWDECIMAL, 4 << 8 | 4);
    n = enc_decimal(b, true, (uint32_t[]){5000}, (uint8_t[]){2}, 1);
    assert_memory_equal(b, "\x6c\x77", 2);
    expect_text(&f4, b, n, FL_VAL_DECIMAL, "-0.5000");
    /* DECIMAL(18,9): exactly one full group each side */
    fl_column_meta e = col(T_NEWDECIMAL, 18 << 8 | 9);
    n = enc_decimal(b, false, (uint32_t[]){1, 1}, (uint8_t[]){4, 4}, 2);
    expect_text(&e, b, n, FL_VAL_DECIMAL, "1.000000001");

    /* a group holding more than its digits, truncation, bad metadata */
    n = enc_decimal(b, false, (uint32_t[]){1000000000, 0}, (uint8_t[]){4, 4}, 2);
    expect_error(&e, b, n, "column of type DECIMAL(18,9): invalid decimal digits (group value 1000000000)");
    expect_error(&m, b, 4, "column of type DECIMAL(10,2): truncated (needs 5 bytes, 4 left)");
    fl_column_meta bad = col(T_NEWDECIMAL, 2 << 8 | 3);
    expect_error(&bad, b, 8, "column of type DECIMAL(2,3): bad precision/scale 2,3 in the table map");
    fl_column_meta old = col(T_DECIMAL, 0);
    expect_error(&old, b, 8,
                 "column of type DECIMAL (pre-5.0): the binlog does not record this type's length; cannot decode");
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void test_date_year_old_temporal(void **state)
{
    (void)state;
    uint8_t b[8];
    fl_column_meta d = col(T_DATE, 0);
    put_le(b, 2026u << 9 | 11u << 5 | 24u, 3);
    expect_text(&d, b, 3, FL_VAL_DATE, "2026-11-24");
    put_le(b, 0, 3);
    expect_text(&d, b, 3, FL_VAL_DATE, "0000-00-00");
    put_le(b, 9999u << 9 | 12u << 5 | 31u, 3);
    expect_text(&d, b, 3, FL_VAL_DATE, "9999-12-31");
    put_le(b, 1000u << 9 | 1u << 5 | 1u, 3);
    expect_text(&d, b, 3, FL_VAL_DATE, "1000-01-01");

    fl_column_meta t = col(T_TIME, 0);
    put_le(b, (uint32_t)(0x1000000 - 8385959), 3);
    expect_text(&t, b, 3, FL_VAL_TIME, "-838:59:59");
    put_le(b, 123456, 3);
    expect_text(&t, b, 3, FL_VAL_TIME, "12:34:56");
    put_le(b, 0, 3);
    expect_text(&t, b, 3, FL_VAL_TIME, "00:00:00");

    fl_column_meta dt = col(T_DATETIME, 0);
    put_le(b, 20261124123456ULL, 8);
    expect_text(&dt, b, 8, FL_VAL_DATETIME, "2026-11-24 12:34:56");
    put_le(b, 0, 8);
    expect_text(&dt, b, 8, FL_VAL_DATETIME, "0000-00-00 00:00:00");

    fl_column_meta ts = col(T_TIMESTAMP, 0);
    put_le(b, 2147483647u, 4);
    expect_text(&ts, b, 4, FL_VAL_TIMESTAMP, "2038-01-19 03:14:07");
    put_le(b, 0, 4);
    expect_text(&ts, b, 4, FL_VAL_TIMESTAMP, "0000-00-00 00:00:00");

    /* values outside the types' ranges are errors, not text */
    put_le(b, 2026u << 9 | 13u << 5 | 1u, 3);
    expect_error(&d, b, 3, "column of type DATE: value out of range");
    put_le(b, 126000, 3); /* 12:60:00 */
    expect_error(&t, b, 3, "column of type TIME: value out of range");
    put_le(b, 20261124246000ULL, 8); /* hour 24 */
    expect_error(&dt, b, 8, "column of type DATETIME: value out of range");
    fl_column_meta mdt = dt;
    mdt.flavor = FL_FLAVOR_MARIADB;
    expect_error(&mdt, b, 8,
                 "column of type DATETIME: value out of range (if the column has fractional seconds in "
                 "MariaDB's old format, mysql56_temporal_format=OFF, the binlog cannot be decoded)");

    fl_column_meta y = col(T_YEAR, 0);
    fl_arena a = {0};
    uint8_t yb[] = {0, 1, 126, 255};
    int64_t want[] = {0, 1901, 2026, 2155};
    for (int i = 0; i < 4; i++) {
        fl_value v = decode_ok(&y, &yb[i], 1, 1, &a);
        assert_int_equal(v.type, FL_VAL_YEAR);
        assert_int_equal(v.i, want[i]);
    }
    fl_arena_free(&a);
}

/* TIME2's integer part: hour (10 bits), minute, second (6 each), offset by 0x800000. */
static uint32_t hms(unsigned h, unsigned m, unsigned s) { return h << 12 | m << 6 | s; }

static void test_time2(void **state)
{
    (void)state;
    uint8_t b[8];
    fl_column_meta t0 = col(T_TIME2, 0);
    put_be(b, 0x800000 + hms(12, 34, 56), 3);
    expect_text(&t0, b, 3, FL_VAL_TIME, "12:34:56");
    put_be(b, 0x800000 - hms(838, 59, 59), 3);
    expect_text(&t0, b, 3, FL_VAL_TIME, "-838:59:59");
    put_be(b, 0x800000, 3);
    expect_text(&t0, b, 3, FL_VAL_TIME, "00:00:00");

    /* 01:02:03.123456 at every precision: fraction in 1/100 s, 1/10000 s, microseconds */
    const char *want[] = {"01:02:03.1",    "01:02:03.12",    "01:02:03.123",
                          "01:02:03.1234", "01:02:03.12345", "01:02:03.123456"};
    uint32_t frac[] = {10, 12, 1230, 1234, 123450, 123456};
    for (unsigned fsp = 1; fsp <= 6; fsp++) {
        fl_column_meta t = col(T_TIME2, (uint16_t)fsp);
        unsigned fb = (fsp + 1) / 2;
        put_be(b, 0x800000 + hms(1, 2, 3), 3);
        put_be(b + 3, frac[fsp - 1], (int)fb);
        expect_text(&t, b, 3 + fb, FL_VAL_TIME, want[fsp - 1]);
    }
    /* negative with a fraction: -00:00:01.50 is stored as integer part -2 and fraction
     * 0x100 - 50 (fsp 1-2), or -2 and 0x10000 - 5000 (fsp 3-4); fsp 5-6 as one 48-bit
     * number -((1 << 24) + 500000) + 0x800000000000 */
    fl_column_meta t2 = col(T_TIME2, 2);
    put_be(b, 0x800000 - 2, 3);
    b[3] = 0x100 - 50;
    expect_text(&t2, b, 4, FL_VAL_TIME, "-00:00:01.50");
    fl_column_meta t4 = col(T_TIME2, 4);
    put_be(b, 0x800000 - 2, 3);
    put_be(b + 3, 0x10000 - 5000, 2);
    expect_text(&t4, b, 5, FL_VAL_TIME, "-00:00:01.5000");
    fl_column_meta t6 = col(T_TIME2, 6);
    put_be(b, 0x800000000000ULL - ((1ULL << 24) + 500000), 6);
    expect_text(&t6, b, 6, FL_VAL_TIME, "-00:00:01.500000");
    put_be(b, 0x800000000000ULL - (((uint64_t)hms(838, 59, 59) << 24) + 999999), 6);
    expect_text(&t6, b, 6, FL_VAL_TIME, "-838:59:59.999999");
    /* negative whole seconds at fsp 2: fraction 0, integer part as is */
    put_be(b, 0x800000 - hms(1, 0, 0), 3);
    b[3] = 0;
    expect_text(&t2, b, 4, FL_VAL_TIME, "-01:00:00.00");
    expect_error(&t6, b, 5, "column of type TIME(6): truncated (needs 6 bytes, 5 left)");
    put_be(b, 0x800000 + hms(839, 0, 0), 3);
    expect_error(&t0, b, 3, "column of type TIME(0): value out of range");
    put_be(b, 0x800000 + hms(1, 60, 0), 3);
    expect_error(&t0, b, 3, "column of type TIME(0): value out of range");
    fl_column_meta t7 = col(T_TIME2, 7);
    expect_error(&t7, b, 8, "column of type TIME(7): fraction digits 7 out of range 0..6");
}

static uint64_t dt_int(unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s)
{
    uint64_t ym = (uint64_t)y * 13 + mo;
    return (((ym << 5) | d) << 17 | hms(h, mi, s)) + 0x8000000000ULL;
}

static void test_datetime2_timestamp2(void **state)
{
    (void)state;
    uint8_t b[16];
    const char *want[] = {"2026-11-24 12:34:56",       "2026-11-24 12:34:56.7",    "2026-11-24 12:34:56.78",
                          "2026-11-24 12:34:56.789",   "2026-11-24 12:34:56.7890", "2026-11-24 12:34:56.78901",
                          "2026-11-24 12:34:56.789012"};
    uint32_t frac[] = {0, 70, 78, 7890, 7890, 789010, 789012};
    for (unsigned fsp = 0; fsp <= 6; fsp++) {
        fl_column_meta m = col(T_DATETIME2, (uint16_t)fsp);
        unsigned fb = (fsp + 1) / 2;
        put_be(b, dt_int(2026, 11, 24, 12, 34, 56), 5);
        put_be(b + 5, frac[fsp], (int)fb);
        expect_text(&m, b, 5 + fb, FL_VAL_DATETIME, want[fsp]);
    }
    fl_column_meta m6 = col(T_DATETIME2, 6);
    put_be(b, dt_int(9999, 12, 31, 23, 59, 59), 5);
    put_be(b + 5, 999999, 3);
    expect_text(&m6, b, 8, FL_VAL_DATETIME, "9999-12-31 23:59:59.999999");
    put_be(b, dt_int(0, 0, 0, 0, 0, 0), 5);
    put_be(b + 5, 0, 3);
    expect_text(&m6, b, 8, FL_VAL_DATETIME, "0000-00-00 00:00:00.000000");
    fl_column_meta m0 = col(T_DATETIME2, 0);
    put_be(b, dt_int(1000, 1, 1, 0, 0, 0), 5);
    expect_text(&m0, b, 5, FL_VAL_DATETIME, "1000-01-01 00:00:00");

    /* TIMESTAMP2: unix seconds big-endian, rendered in UTC */
    const char *tw[] = {"2023-11-14 22:13:20",       "2023-11-14 22:13:20.0",    "2023-11-14 22:13:20.00",
                        "2023-11-14 22:13:20.000",   "2023-11-14 22:13:20.0000", "2023-11-14 22:13:20.00000",
                        "2023-11-14 22:13:20.000001"};
    uint32_t tf[] = {0, 0, 0, 0, 0, 0, 1};
    for (unsigned fsp = 0; fsp <= 6; fsp++) {
        fl_column_meta m = col(T_TIMESTAMP2, (uint16_t)fsp);
        unsigned fb = (fsp + 1) / 2;
        put_be(b, 1700000000, 4);
        put_be(b + 4, tf[fsp], (int)fb);
        expect_text(&m, b, 4 + fb, FL_VAL_TIMESTAMP, tw[fsp]);
    }
    fl_column_meta t3 = col(T_TIMESTAMP2, 3);
    put_be(b, 0, 4);
    put_be(b + 4, 0, 2);
    expect_text(&t3, b, 6, FL_VAL_TIMESTAMP, "0000-00-00 00:00:00.000");
    put_be(b, 1, 4);
    put_be(b + 4, 5000, 2); /* .5 s in 1/10000 s */
    expect_text(&t3, b, 6, FL_VAL_TIMESTAMP, "1970-01-01 00:00:01.500");
    fl_column_meta t6 = col(T_TIMESTAMP2, 6);
    put_be(b, 2147483647u, 4);
    put_be(b + 4, 999999, 3);
    expect_text(&t6, b, 7, FL_VAL_TIMESTAMP, "2038-01-19 03:14:07.999999");
    put_be(b + 4, 1000000, 3);
    expect_error(&t6, b, 7, "column of type TIMESTAMP(6): fraction 1000000 out of range");
    expect_error(&m6, b, 7, "column of type DATETIME(6): truncated (needs 8 bytes, 7 left)");
    put_be(b, dt_int(2026, 11, 24, 24, 0, 0), 5);
    expect_error(&m0, b, 5, "column of type DATETIME(0): value out of range");
    put_be(b, dt_int(10000, 1, 1, 0, 0, 0), 5);
    expect_error(&m0, b, 5, "column of type DATETIME(0): value out of range");
}

static void test_strings(void **state)
{
    (void)state;
    uint8_t b[600];
    /* VARCHAR(10) utf8mb4: 40 bytes max, 1-byte length */
    fl_column_meta v = col(T_VARCHAR, 40);
    v.charset = 255;
    memcpy(b, "\x06h\xc3\xa9llo", 7);
    expect_text(&v, b, 7, FL_VAL_STRING, "h\xc3\xa9llo");
    memcpy(b, "\x04\xf0\x9f\x98\x80", 5);
    expect_text(&v, b, 5, FL_VAL_STRING, "\xf0\x9f\x98\x80");
    b[0] = 0;
    expect_text(&v, b, 1, FL_VAL_STRING, "");
    memcpy(b, "\x09short", 6);
    v.name = "title";
    expect_error(&v, b, 6, "column `title` (VARCHAR): truncated (value of 9 bytes, 5 left)");
    /* latin1 text is converted to UTF-8, Windows-1252 style (0x80 is the euro sign) */
    fl_column_meta l1 = col(T_VARCHAR, 20);
    l1.charset = 8;
    memcpy(b,
           "\x05"
           "caf\xe9\x80",
           6);
    expect_text(&l1, b, 6, FL_VAL_STRING, "caf\xc3\xa9\xe2\x82\xac");
    fl_column_meta lt = col(T_BLOB, 2);
    lt.charset = 8;
    memcpy(b, "\x01\x00\xff", 3);
    expect_text(&lt, b, 3, FL_VAL_STRING, "\xc3\xbf");
    /* VARCHAR(300) latin1: 2-byte length */
    fl_column_meta v2 = col(T_VARCHAR, 300);
    memset(b, 'x', sizeof b);
    b[0] = 0x2c;
    b[1] = 0x01;
    fl_arena a = {0};
    fl_value val = decode_ok(&v2, b, 302, 302, &a);
    assert_int_equal(val.type, FL_VAL_STRING);
    assert_int_equal(val.s.len, 300);
    assert_int_equal(val.s.ptr[299], 'x');
    /* VARBINARY(16): charset binary */
    fl_column_meta vb = col(T_VARCHAR, 16);
    vb.is_binary = true;
    memcpy(b, "\x03\x00\xff\x01", 4);
    val = decode_ok(&vb, b, 4, 4, &a);
    assert_int_equal(val.type, FL_VAL_BINARY);
    assert_int_equal(val.s.len, 3);
    assert_memory_equal(val.s.ptr, "\x00\xff\x01", 3);

    /* CHAR(255) utf8mb4: 1020 bytes max, 2-byte length even for short values */
    fl_column_meta c = col(T_STRING, 1020);
    memcpy(b,
           "\x02\x00"
           "ab",
           4);
    expect_text(&c, b, 4, FL_VAL_STRING, "ab");
    fl_column_meta c1 = col(T_STRING, 10);
    memcpy(b,
           "\x02"
           "ab",
           3);
    expect_text(&c1, b, 3, FL_VAL_STRING, "ab");
    /* BINARY(10): the binlog drops trailing zero bytes, the value has all 10 */
    c1.is_binary = true;
    fl_value bv = decode_ok(&c1, b, 3, 3, &a);
    assert_int_equal(bv.type, FL_VAL_BINARY);
    assert_int_equal(bv.s.len, 10);
    assert_memory_equal(bv.s.ptr, "ab\0\0\0\0\0\0\0\0", 10);
    b[0] = 0;
    bv = decode_ok(&c1, b, 1, 1, &a);
    assert_int_equal(bv.s.len, 10);
    assert_memory_equal(bv.s.ptr, "\0\0\0\0\0\0\0\0\0\0", 10);

    /* BLOB/TEXT with 1..4 byte lengths */
    for (uint16_t pl = 1; pl <= 4; pl++) {
        fl_column_meta bl = col(T_BLOB, pl);
        memset(b, 0, 8);
        b[0] = 3;
        memcpy(b + pl, "\xf0\x9f\x98", 3);
        bl.is_binary = pl % 2;
        expect_text(&bl, b, pl + 3u, pl % 2 ? FL_VAL_BINARY : FL_VAL_STRING, "\xf0\x9f\x98");
    }
    fl_column_meta lb = col(T_BLOB, 4);
    memcpy(b, "\xff\xff\xff\xff", 4);
    expect_error(&lb, b, 10, "column of type BLOB: truncated (value of 4294967295 bytes, 6 left)");
    fl_column_meta bad = col(T_BLOB, 5);
    expect_error(&bad, b, 10, "column of type BLOB: bad length size 5 in the table map");
    /* MariaDB JSON is a text BLOB */
    fl_column_meta mj = col(T_BLOB, 4);
    mj.flavor = FL_FLAVOR_MARIADB;
    mj.charset = 46;
    memcpy(b, "\x07\x00\x00\x00{\"a\":1}", 11);
    expect_text(&mj, b, 11, FL_VAL_STRING, "{\"a\":1}");
    fl_arena_free(&a);
}

static void test_enum_set(void **state)
{
    (void)state;
    fl_arena a = {0};
    static const char *const labels[] = {"a", "b", "\xf0\x9f\x98\x80"};
    fl_column_meta e = col(T_STRING, 1);
    e.real_type = T_ENUM;
    e.labels = labels;
    e.nlabels = 3;
    uint8_t b[8] = {2};
    expect_text(&e, b, 1, FL_VAL_ENUM, "b");
    b[0] = 3;
    expect_text(&e, b, 1, FL_VAL_ENUM, "\xf0\x9f\x98\x80");
    b[0] = 0;
    expect_text(&e, b, 1, FL_VAL_ENUM, "");
    b[0] = 4;
    e.name = "kind";
    expect_error(&e, b, 1, "column `kind` (ENUM): index 4 beyond its 3 labels");
    /* the value outlives the table map's labels (a new TABLE_MAP may replace them) */
    char *owned = strdup("bb");
    const char *owned_labels[] = {"a", owned};
    fl_column_meta eo = col(T_STRING, 1);
    eo.real_type = T_ENUM;
    eo.labels = owned_labels;
    eo.nlabels = 2;
    b[0] = 2;
    fl_value ev;
    size_t eused;
    char eerr[100];
    assert_int_equal(fl_column_decode(&eo, b, 1, &a, &ev, &eused, eerr, sizeof eerr), 0);
    free(owned);
    assert_int_equal(ev.type, FL_VAL_ENUM);
    assert_int_equal(ev.s.len, 2);
    assert_memory_equal(ev.s.ptr, "bb", 2);
    fl_column_meta e2 = col(T_STRING, 2);
    e2.real_type = T_ENUM;
    uint8_t w[] = {0x2c, 0x01};
    fl_value v = decode_ok(&e2, w, 2, 2, &a);
    assert_int_equal(v.type, FL_VAL_ENUM_INDEX);
    assert_int_equal(v.u, 300);

    fl_column_meta s = col(T_STRING, 1);
    s.real_type = T_SET;
    s.labels = labels;
    s.nlabels = 3;
    b[0] = 5;
    expect_text(&s, b, 1, FL_VAL_SET, "a,\xf0\x9f\x98\x80");
    b[0] = 7;
    expect_text(&s, b, 1, FL_VAL_SET, "a,b,\xf0\x9f\x98\x80");
    b[0] = 0;
    expect_text(&s, b, 1, FL_VAL_SET, "");
    b[0] = 8;
    expect_error(&s, b, 1, "column of type SET: bit mask 0x8 beyond its 3 labels");
    fl_column_meta s8 = col(T_STRING, 8);
    s8.real_type = T_SET;
    uint8_t all[8] = {1, 0, 0, 0, 0, 0, 0, 0x80};
    v = decode_ok(&s8, all, 8, 8, &a);
    assert_int_equal(v.type, FL_VAL_SET_BITS);
    assert_true(v.u == (1ULL << 63 | 1));
    fl_column_meta s9 = col(T_STRING, 9);
    s9.real_type = T_SET;
    expect_error(&s9, all, 8, "column of type SET: bad pack length 9 in the table map");
    fl_arena_free(&a);
}

static void test_bit(void **state)
{
    (void)state;
    fl_arena a = {0};
    fl_column_meta b1 = col(T_BIT, 1);
    uint8_t one[] = {1};
    fl_value v = decode_ok(&b1, one, 1, 1, &a);
    assert_int_equal(v.type, FL_VAL_BIT);
    assert_int_equal(v.u, 1);
    fl_column_meta b10 = col(T_BIT, 10);
    uint8_t ten[] = {0x03, 0xfe};
    v = decode_ok(&b10, ten, 2, 2, &a);
    assert_int_equal(v.u, 1022);
    fl_column_meta b64 = col(T_BIT, 64);
    uint8_t max[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    v = decode_ok(&b64, max, 8, 8, &a);
    assert_true(v.u == UINT64_MAX);
    uint8_t hi[] = {0x80, 0, 0, 0, 0, 0, 0, 0x01};
    v = decode_ok(&b64, hi, 8, 8, &a);
    assert_true(v.u == (1ULL << 63 | 1));
    expect_error(&b64, max, 7, "column of type BIT(64): truncated (needs 8 bytes, 7 left)");
    fl_arena_free(&a);
}

static void test_json_geometry_vector(void **state)
{
    (void)state;
    /* JSON {"a": 1}: small object, 1 member, 12 bytes; key at 11, int16 inlined */
    uint8_t j[] = {13, 0, 0, 0, 0x00, 1, 0, 12, 0, 11, 0, 1, 0, 0x05, 1, 0, 'a'};
    fl_column_meta m = col(T_JSON, 4);
    expect_text(&m, j, sizeof j, FL_VAL_JSON, "{\"a\": 1}");
    uint8_t empty[] = {0, 0, 0, 0};
    expect_text(&m, empty, 4, FL_VAL_JSON, "null");
    j[13] = 0x7f; /* unknown value type */
    m.name = "doc";
    expect_error(&m, j, sizeof j, "column `doc` (JSON): binary JSON: unknown value type 0x7f");

    /* GEOMETRY: length then SRID + WKB bytes as stored */
    fl_column_meta g = col(T_GEOMETRY, 4);
    uint8_t gb[4 + 25] = {25, 0, 0, 0};
    gb[4 + 4] = 1; /* little-endian WKB */
    gb[4 + 5] = 1; /* POINT */
    fl_arena a = {0};
    fl_value v = decode_ok(&g, gb, sizeof gb, sizeof gb, &a);
    assert_int_equal(v.type, FL_VAL_GEOMETRY);
    assert_int_equal(v.s.len, 25);
    assert_int_equal(v.s.ptr[4], 1);

    /* VECTOR: float32 little-endian elements */
    fl_column_meta vec = col(T_VECTOR, 4);
    uint8_t vb[] = {8, 0, 0, 0, 0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x80, 0xbf};
    v = decode_ok(&vec, vb, sizeof vb, sizeof vb, &a);
    assert_int_equal(v.type, FL_VAL_VECTOR);
    fl_buf out = {0};
    fl_value_to_json(&v, &out);
    assert_string_equal(fl_buf_cstr(&out), "[1.5,-1]");
    vb[0] = 6;
    expect_error(&vec, vb, 10, "column of type VECTOR: length 6 is not a multiple of 4");
    fl_column_meta unk = col(200, 0);
    expect_error(&unk, vb, 10, "column of type MYSQL_TYPE 200: unknown column type");
    fl_buf_free(&out);
    fl_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers),   cmocka_unit_test(test_float_double),
        cmocka_unit_test(test_newdecimal), cmocka_unit_test(test_date_year_old_temporal),
        cmocka_unit_test(test_time2),      cmocka_unit_test(test_datetime2_timestamp2),
        cmocka_unit_test(test_strings),    cmocka_unit_test(test_enum_set),
        cmocka_unit_test(test_bit),        cmocka_unit_test(test_json_geometry_vector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
