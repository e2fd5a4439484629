/* test_value.c — canonical values: JSON rendering and text of every type, string escaping,
 * UTF-8 validation, base64 (RFC 4648 vectors), shortest round-trip floats and doubles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/value.h"

static fl_value v_int(int64_t i) { return (fl_value){.type = FL_VAL_INT, .i = i}; }
static fl_value v_uint(fl_value_type t, uint64_t u) { return (fl_value){.type = (uint8_t)t, .u = u}; }
static fl_value v_dbl(fl_value_type t, double d) { return (fl_value){.type = (uint8_t)t, .d = d}; }
static fl_value v_bytes(fl_value_type t, const char *p, size_t n)
{
    return (fl_value){.type = (uint8_t)t, .s = {.ptr = p, .len = (uint32_t)n}};
}
static fl_value v_str(fl_value_type t, const char *s) { return v_bytes(t, s, strlen(s)); }

/* Renders v as JSON and compares with the expected text (a C string). */
static void check_json(fl_value v, const char *want)
{
    fl_buf b = {0};
    fl_value_to_json(&v, &b);
    assert_string_equal(fl_buf_cstr(&b), want);
    fl_buf_free(&b);
}

/* Renders v as canonical text; want NULL means "no text" (returns false, appends nothing). */
static void check_text_n(fl_value v, const char *want, size_t want_len)
{
    fl_buf b = {0};
    bool has = fl_value_to_text(&v, &b);
    if (!want) {
        assert_false(has);
        assert_int_equal(b.len, 0);
    } else {
        assert_true(has);
        assert_int_equal(b.len, want_len);
        assert_memory_equal(b.data, want, want_len);
    }
    fl_buf_free(&b);
}
static void check_text(fl_value v, const char *want) { check_text_n(v, want, want ? strlen(want) : 0); }

static void check_jstr(const char *in, size_t n, const char *want)
{
    fl_buf b = {0};
    fl_json_string(&b, in, n);
    assert_string_equal(fl_buf_cstr(&b), want);
    fl_buf_free(&b);
}

static void test_null_and_absent(void **state)
{
    (void)state;
    check_json((fl_value){.type = FL_VAL_NULL}, "null");
    check_json((fl_value){.type = FL_VAL_ABSENT}, "null");
    check_text((fl_value){.type = FL_VAL_NULL}, NULL);
    check_text((fl_value){.type = FL_VAL_ABSENT}, NULL);
    check_json((fl_value){.type = 200}, "null"); /* out of range: never a crash */
    check_text((fl_value){.type = 200}, NULL);
}

static void test_integers(void **state)
{
    (void)state;
    check_json(v_int(0), "0");
    check_json(v_int(-42), "-42");
    check_json(v_int(INT64_MIN), "-9223372036854775808");
    check_json(v_int(INT64_MAX), "9223372036854775807");
    check_json(v_uint(FL_VAL_UINT, UINT64_MAX), "18446744073709551615");
    check_json(v_uint(FL_VAL_UINT, 7), "7");
    check_text(v_int(INT64_MIN), "-9223372036854775808");
    check_text(v_uint(FL_VAL_UINT, UINT64_MAX), "18446744073709551615");
    fl_value year = {.type = FL_VAL_YEAR, .i = 2026};
    check_json(year, "2026");
    check_text(year, "2026");
    check_json(v_uint(FL_VAL_ENUM_INDEX, 3), "3");
    check_json(v_uint(FL_VAL_SET_BITS, 5), "5");
    check_json(v_uint(FL_VAL_BIT, 0x8000000000000001ull), "9223372036854775809");
    check_text(v_uint(FL_VAL_ENUM_INDEX, 3), "3");
    check_text(v_uint(FL_VAL_SET_BITS, 5), "5");
    check_text(v_uint(FL_VAL_BIT, 1), "1");
    /* every digit count, on both sides of each power of ten */
    uint64_t p10 = 1;
    for (int digits = 1; digits <= 19; digits++, p10 *= 10) {
        uint64_t around[] = {p10 - 1, p10, p10 + 1, p10 * 9 + p10 / 2};
        for (size_t k = 0; k < sizeof around / sizeof *around; k++) {
            char want[32];
            snprintf(want, sizeof want, "%llu", (unsigned long long)around[k]);
            check_json(v_uint(FL_VAL_UINT, around[k]), want);
            snprintf(want, sizeof want, "-%llu", (unsigned long long)around[k]);
            if (around[k] && around[k] <= INT64_MAX) check_text(v_int(-(int64_t)around[k]), want);
        }
    }
}

static void test_floats(void **state)
{
    (void)state;
    check_json(v_dbl(FL_VAL_DOUBLE, 1.0), "1");
    check_json(v_dbl(FL_VAL_DOUBLE, 0.1), "0.1");
    check_json(v_dbl(FL_VAL_DOUBLE, -2.5), "-2.5");
    check_json(v_dbl(FL_VAL_DOUBLE, 1e20), "1e+20");
    check_json(v_dbl(FL_VAL_DOUBLE, 1e-7), "1e-07");
    check_json(v_dbl(FL_VAL_DOUBLE, 123456789012.0), "123456789012");
    check_json(v_dbl(FL_VAL_DOUBLE, -0.0), "-0");
    check_json(v_dbl(FL_VAL_DOUBLE, 0.0), "0");
    check_json(v_dbl(FL_VAL_DOUBLE, 100.0), "100");
    check_json(v_dbl(FL_VAL_DOUBLE, 1e16), "10000000000000000");
    check_json(v_dbl(FL_VAL_DOUBLE, 1e17), "1e+17");
    check_json(v_dbl(FL_VAL_DOUBLE, 1.5e300), "1.5e+300");
    check_json(v_dbl(FL_VAL_DOUBLE, 0.0001), "0.0001");
    check_json(v_dbl(FL_VAL_DOUBLE, 0.00001234), "1.234e-05");
    check_json(v_dbl(FL_VAL_DOUBLE, -123.456), "-123.456");
    check_json(v_dbl(FL_VAL_DOUBLE, 99999999999999984.0), "99999999999999980");
    check_json(v_dbl(FL_VAL_DOUBLE, 0.30000000000000004), "0.30000000000000004");
    check_json(v_dbl(FL_VAL_DOUBLE, 5e-324), "5e-324");
    check_json(v_dbl(FL_VAL_DOUBLE, 1.7976931348623157e308), "1.7976931348623157e+308");
    check_json(v_dbl(FL_VAL_DOUBLE, NAN), "null");
    check_json(v_dbl(FL_VAL_DOUBLE, INFINITY), "null");
    check_json(v_dbl(FL_VAL_DOUBLE, -INFINITY), "null");
    /* a FLOAT column holds a float32: shortest for float, not for the widened double */
    check_json(v_dbl(FL_VAL_FLOAT, (double)0.1f), "0.1");
    check_json(v_dbl(FL_VAL_FLOAT, (double)3.4028235e38f), "3.4028235e+38");
    check_json(v_dbl(FL_VAL_FLOAT, (double)16777216.0f), "16777216");
    check_json(v_dbl(FL_VAL_FLOAT, (double)INFINITY), "null");
    check_json(v_dbl(FL_VAL_FLOAT, NAN), "null");
    check_text(v_dbl(FL_VAL_FLOAT, (double)1.5f), "1.5");
    check_text(v_dbl(FL_VAL_DOUBLE, 0.1), "0.1");
    check_text(v_dbl(FL_VAL_DOUBLE, 1e20), "1e+20");
    check_text(v_dbl(FL_VAL_DOUBLE, NAN), "nan");
    check_text(v_dbl(FL_VAL_DOUBLE, -INFINITY), "-inf");
}

/* True if s is a JSON number (RFC 8259 grammar); *digits gets its significant digit count
 * (leading and trailing zeros of the mantissa not counted). */
static bool json_number(const char *s, int *digits)
{
    char mant[64];
    size_t n = 0;
    if (*s == '-') s++;
    if (*s == '0') {
        mant[n++] = *s++;
    } else if (*s >= '1' && *s <= '9') {
        while (*s >= '0' && *s <= '9' && n < sizeof mant) mant[n++] = *s++;
    } else {
        return false;
    }
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9')) return false;
        while (*s >= '0' && *s <= '9' && n < sizeof mant) mant[n++] = *s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') s++;
        if (!(*s >= '0' && *s <= '9')) return false;
        while (*s >= '0' && *s <= '9') s++;
    }
    size_t a = 0;
    while (a < n && mant[a] == '0') a++;
    while (n > a && mant[n - 1] == '0') n--;
    *digits = (int)(n - a);
    return *s == '\0';
}

/* Random bit patterns: every finite double/float prints to text that parses back to the
 * same bits, with no more digits than needed (one digit fewer would not read back). */
static void test_round_trip_random(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    fl_buf b = {0};
    int checked = 0;
    for (int n = 0; n < 200000; n++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double d;
        memcpy(&d, &x, sizeof d);
        if (n % 4 == 1) d = (double)(int64_t)(x >> 11) / (double)(1 + (x & 0xffff)); /* ordinary magnitudes */
        if (!isfinite(d)) continue;
        fl_buf_reset(&b);
        fl_format_double(&b, d);
        const char *s = fl_buf_cstr(&b);
        char *end;
        double back = strtod(s, &end);
        assert_true(*end == '\0');
        assert_memory_equal(&back, &d, sizeof d);
        int digits = 0;
        assert_true(json_number(s, &digits));
        if (digits > 1) { /* one significant digit fewer does not read back */
            char shorter[40];
            snprintf(shorter, sizeof shorter, "%.*e", digits - 2, d);
            double alt = strtod(shorter, NULL);
            assert_memory_not_equal(&alt, &d, sizeof d);
        }

        float f;
        uint32_t fx = (uint32_t)(x >> 32);
        memcpy(&f, &fx, sizeof f);
        if (!isfinite(f)) continue;
        fl_buf_reset(&b);
        fl_format_float(&b, f);
        s = fl_buf_cstr(&b);
        float fback = strtof(s, &end);
        assert_true(*end == '\0');
        assert_memory_equal(&fback, &f, sizeof f);
        assert_true(json_number(s, &digits));
        if (digits > 1) {
            char shorter[40];
            snprintf(shorter, sizeof shorter, "%.*e", digits - 2, (double)f);
            float alt = strtof(shorter, NULL);
            assert_memory_not_equal(&alt, &f, sizeof f);
        }
        checked++;
    }
    assert_true(checked > 100000);
    fl_buf_free(&b);
}

/* The digit count is minimal: a value that needs 17 digits gets 17, short ones stay short. */
static void test_shortest(void **state)
{
    (void)state;
    fl_buf b = {0};
    double cases[] = {0.1, 0.2, 0.3, 1.1, 100.0, 3.14, 2.718281828459045, 1e300, 123e-300};
    const char *want[] = {"0.1", "0.2", "0.3", "1.1", "100", "3.14", "2.718281828459045", "1e+300", "1.23e-298"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fl_buf_reset(&b);
        fl_format_double(&b, cases[i]);
        assert_string_equal(fl_buf_cstr(&b), want[i]);
    }
    fl_buf_reset(&b);
    fl_format_float(&b, 1.1f);
    assert_string_equal(fl_buf_cstr(&b), "1.1");
    fl_buf_reset(&b);
    fl_format_float(&b, 1e-45f); /* smallest subnormal float */
    assert_string_equal(fl_buf_cstr(&b), "1e-45");
    fl_buf_free(&b);
}

static void test_strings_and_temporals(void **state)
{
    (void)state;
    check_json(v_str(FL_VAL_DECIMAL, "-1165.50"), "\"-1165.50\"");
    check_text(v_str(FL_VAL_DECIMAL, "-1165.50"), "-1165.50");
    check_json(v_str(FL_VAL_DATE, "2026-11-24"), "\"2026-11-24\"");
    check_text(v_str(FL_VAL_DATE, "2026-11-24"), "2026-11-24");
    check_json(v_str(FL_VAL_DATETIME, "2026-11-24 12:00:00.123456"), "\"2026-11-24 12:00:00.123456\"");
    check_text(v_str(FL_VAL_DATETIME, "2026-11-24 12:00:00"), "2026-11-24 12:00:00");
    check_json(v_str(FL_VAL_TIMESTAMP, "1970-01-01 00:00:01"), "\"1970-01-01 00:00:01\"");
    check_text(v_str(FL_VAL_TIMESTAMP, "1970-01-01 00:00:01"), "1970-01-01 00:00:01");
    check_json(v_str(FL_VAL_TIME, "-838:59:59.000000"), "\"-838:59:59.000000\"");
    check_text(v_str(FL_VAL_TIME, "-838:59:59"), "-838:59:59");
    check_json(v_str(FL_VAL_STRING, "héllo \"w\""), "\"héllo \\\"w\\\"\"");
    check_text(v_str(FL_VAL_STRING, "héllo \"w\""), "héllo \"w\"");
    check_json(v_str(FL_VAL_STRING, ""), "\"\"");
    check_text(v_str(FL_VAL_STRING, ""), "");
    check_json(v_str(FL_VAL_ENUM, "medium"), "\"medium\"");
    check_text(v_str(FL_VAL_ENUM, "medium"), "medium");
    /* the payload need not be NUL-terminated and may contain NUL */
    check_json(v_bytes(FL_VAL_STRING, "a\0bXXXX", 3), "\"a\\u0000b\"");
    check_text_n(v_bytes(FL_VAL_STRING, "a\0bXXXX", 3), "a\0b", 3);
}

static void test_binary(void **state)
{
    (void)state;
    check_json(v_bytes(FL_VAL_BINARY, "\x00\xff\x10", 3), "\"AP8Q\"");
    check_text_n(v_bytes(FL_VAL_BINARY, "\x00\xff\x10", 3), "\x00\xff\x10", 3);
    check_json(v_bytes(FL_VAL_BINARY, "", 0), "\"\"");
    check_text_n(v_bytes(FL_VAL_BINARY, "", 0), "", 0);
    /* SRID 0 + WKB POINT(1 2) */
    static const char point[] = "\x00\x00\x00\x00\x01\x01\x00\x00\x00"
                                "\x00\x00\x00\x00\x00\x00\xf0\x3f"
                                "\x00\x00\x00\x00\x00\x00\x00\x40";
    check_json(v_bytes(FL_VAL_GEOMETRY, point, 25), "\"AAAAAAEBAAAAAAAAAAAA8D8AAAAAAAAAQA==\"");
    check_text_n(v_bytes(FL_VAL_GEOMETRY, point, 25), point, 25);
}

static void test_set(void **state)
{
    (void)state;
    check_json(v_str(FL_VAL_SET, ""), "[]");
    check_json(v_str(FL_VAL_SET, "a"), "[\"a\"]");
    check_json(v_str(FL_VAL_SET, "a,b,c"), "[\"a\",\"b\",\"c\"]");
    check_json(v_str(FL_VAL_SET, "x\"y,z"), "[\"x\\\"y\",\"z\"]");
    check_text(v_str(FL_VAL_SET, "a,b,c"), "a,b,c");
    check_text(v_str(FL_VAL_SET, ""), "");
}

static void test_json_value(void **state)
{
    (void)state;
    const char *doc = "{\"a\":[1,2.5,\"x\"],\"b\":null}";
    check_json(v_str(FL_VAL_JSON, doc), doc);
    check_text(v_str(FL_VAL_JSON, doc), doc);
    check_json(v_str(FL_VAL_JSON, "\"s\""), "\"s\"");
    check_text(v_str(FL_VAL_JSON, "\"s\""), "\"s\"");
    check_json(v_str(FL_VAL_JSON, ""), "null");
}

static void test_vector(void **state)
{
    (void)state;
    /* 1.0f, -0.5f, 0.1f little-endian */
    static const char vec[] = "\x00\x00\x80\x3f"
                              "\x00\x00\x00\xbf"
                              "\xcd\xcc\xcc\x3d";
    check_json(v_bytes(FL_VAL_VECTOR, vec, 12), "[1,-0.5,0.1]");
    check_text(v_bytes(FL_VAL_VECTOR, vec, 12), "[1,-0.5,0.1]");
    check_json(v_bytes(FL_VAL_VECTOR, "", 0), "[]");
    check_json(v_bytes(FL_VAL_VECTOR, vec, 6), "[1]"); /* partial element left out */
    static const char nan_vec[] = "\x00\x00\xc0\x7f";
    check_json(v_bytes(FL_VAL_VECTOR, nan_vec, 4), "[null]");
}

static void test_escapes(void **state)
{
    (void)state;
    check_jstr("\"\\/", 3, "\"\\\"\\\\/\"");
    check_jstr("\n\t\r\b\f", 5, "\"\\n\\t\\r\\b\\f\"");
    /* every control character */
    for (int c = 0; c < 0x20; c++) {
        char in[1] = {(char)c};
        char want[16];
        switch (c) {
        case '\n': strcpy(want, "\"\\n\""); break;
        case '\t': strcpy(want, "\"\\t\""); break;
        case '\r': strcpy(want, "\"\\r\""); break;
        case '\b': strcpy(want, "\"\\b\""); break;
        case '\f': strcpy(want, "\"\\f\""); break;
        default: snprintf(want, sizeof want, "\"\\u%04x\"", c); break;
        }
        check_jstr(in, 1, want);
    }
    check_jstr("\x7f", 1, "\"\x7f\""); /* DEL needs no escape */
    check_jstr("ab\x01"
               "cd",
               5, "\"ab\\u0001cd\"");
    /* in longer strings (read eight bytes at a time), at every place: a byte to escape, a
     * byte that needs none at the edges of the plain range, a UTF-8 sequence, an invalid byte */
    static const struct {
        const char *in, *out;
    } special[] = {{"\"", "\\\""},      {"\\", "\\\\"},     {"\n", "\\n"},    {"\x01", "\\u0001"},
                   {"\x1f", "\\u001f"}, {" ", " "},         {"\x7f", "\x7f"}, {"!", "!"},
                   {"#", "#"},          {"[", "["},         {"]", "]"},       {"\xc3\xa9", "\xc3\xa9"},
                   {"\xff", "\\u00ff"}, {"\x80", "\\u0080"}};
    for (size_t k = 0; k < sizeof special / sizeof *special; k++)
        for (size_t at = 0; at <= 24; at++) {
            char in[64], want[80];
            size_t n = strlen(special[k].in);
            memset(in, 'a', at);
            memcpy(in + at, special[k].in, n);
            memset(in + at + n, 'z', 24 - at);
            snprintf(want, sizeof want, "\"%.*s%s%.*s\"", (int)at, in, special[k].out, (int)(24 - at),
                     in + at + n);
            check_jstr(in, at + n + 24 - at, want);
        }
    /* and in strings of every length up to 20 (the tail of a string is read as eight bytes too) */
    for (size_t k = 0; k < sizeof special / sizeof *special; k++)
        for (size_t len = 0; len <= 20; len++)
            for (size_t at = 0; at <= len; at++) {
                char in[64], want[80];
                size_t n = strlen(special[k].in);
                memset(in, 'a', at);
                memcpy(in + at, special[k].in, n);
                memset(in + at + n, 'z', len - at);
                snprintf(want, sizeof want, "\"%.*s%s%.*s\"", (int)at, in, special[k].out, (int)(len - at),
                         in + at + n);
                check_jstr(in, len + n, want);
            }
    for (size_t len = 0; len <= 20; len++) { /* nothing to escape */
        char in[24], want[32];
        memset(in, 'q', len);
        snprintf(want, sizeof want, "\"%.*s\"", (int)len, in);
        check_jstr(in, len, want);
    }
}

static void test_utf8(void **state)
{
    (void)state;
    check_jstr("\xc3\xa9", 2, "\"\xc3\xa9\"");                 /* é */
    check_jstr("\xe2\x82\xac", 3, "\"\xe2\x82\xac\"");         /* € */
    check_jstr("\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\""); /* U+1F600 */
    check_jstr("\xf4\x8f\xbf\xbf", 4, "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF */
    check_jstr("\xef\xbf\xbf", 3, "\"\xef\xbf\xbf\"");         /* U+FFFF */
    check_jstr("\xed\x9f\xbf", 3, "\"\xed\x9f\xbf\"");         /* U+D7FF */
    check_jstr("\xee\x80\x80", 3, "\"\xee\x80\x80\"");         /* U+E000 */
    /* invalid */
    check_jstr("\xff", 1, "\"\\u00ff\"");
    check_jstr("\x80", 1, "\"\\u0080\"");                                  /* lone continuation */
    check_jstr("\xc0\x80", 2, "\"\\u00c0\\u0080\"");                       /* overlong NUL */
    check_jstr("\xc1\xbf", 2, "\"\\u00c1\\u00bf\"");                       /* overlong */
    check_jstr("\xe0\x80\xaf", 3, "\"\\u00e0\\u0080\\u00af\"");            /* overlong 3-byte */
    check_jstr("\xf0\x80\x80\xaf", 4, "\"\\u00f0\\u0080\\u0080\\u00af\""); /* overlong 4-byte */
    check_jstr("\xed\xa0\x80", 3, "\"\\u00ed\\u00a0\\u0080\"");            /* surrogate U+D800 */
    check_jstr("\xed\xbf\xbf", 3, "\"\\u00ed\\u00bf\\u00bf\"");            /* surrogate U+DFFF */
    check_jstr("\xf4\x90\x80\x80", 4, "\"\\u00f4\\u0090\\u0080\\u0080\""); /* U+110000 */
    check_jstr("\xf5\x80\x80\x80", 4, "\"\\u00f5\\u0080\\u0080\\u0080\"");
    check_jstr("\xe2\x82", 2, "\"\\u00e2\\u0082\"");            /* truncated at end */
    check_jstr("\xe2\x82x", 3, "\"\\u00e2\\u0082x\"");          /* truncated before ASCII */
    check_jstr("\xf0\x9f\x98", 3, "\"\\u00f0\\u009f\\u0098\""); /* truncated 4-byte */
    check_jstr("a\xc3\xa9\xff"
               "b",
               5, "\"a\xc3\xa9\\u00ffb\""); /* mix */
    check_json(v_bytes(FL_VAL_STRING, "\xfe", 1), "\"\\u00fe\"");
}

static void check_b64(const char *in, const char *want)
{
    fl_buf b = {0};
    fl_base64(&b, in, strlen(in));
    assert_string_equal(fl_buf_cstr(&b), want);
    fl_buf_free(&b);
}

static void test_base64(void **state)
{
    (void)state;
    /* RFC 4648 section 10 */
    check_b64("", "");
    check_b64("f", "Zg==");
    check_b64("fo", "Zm8=");
    check_b64("foo", "Zm9v");
    check_b64("foob", "Zm9vYg==");
    check_b64("fooba", "Zm9vYmE=");
    check_b64("foobar", "Zm9vYmFy");
    fl_buf b = {0};
    uint8_t all[3] = {0xfb, 0xff, 0xbf};
    fl_base64(&b, all, 3);
    assert_string_equal(fl_buf_cstr(&b), "+/+/");
    fl_buf_free(&b);
}

static void test_type_names_and_bytes(void **state)
{
    (void)state;
    assert_string_equal(fl_value_type_name(FL_VAL_INT), "int");
    assert_string_equal(fl_value_type_name(FL_VAL_DECIMAL), "decimal");
    assert_string_equal(fl_value_type_name(FL_VAL_VECTOR), "vector");
    assert_string_equal(fl_value_type_name(FL_VAL_TYPE_COUNT), "unknown");
    for (int t = 0; t < FL_VAL_TYPE_COUNT; t++) {
        const char *n = fl_value_type_name((fl_value_type)t);
        assert_non_null(n);
        assert_string_not_equal(n, "unknown");
        for (int u = 0; u < t; u++) assert_string_not_equal(n, fl_value_type_name((fl_value_type)u));
    }
    assert_true(fl_value_has_bytes(FL_VAL_STRING));
    assert_true(fl_value_has_bytes(FL_VAL_DECIMAL));
    assert_true(fl_value_has_bytes(FL_VAL_TIME));
    assert_true(fl_value_has_bytes(FL_VAL_SET));
    assert_true(fl_value_has_bytes(FL_VAL_JSON));
    assert_true(fl_value_has_bytes(FL_VAL_VECTOR));
    assert_true(fl_value_has_bytes(FL_VAL_GEOMETRY));
    assert_false(fl_value_has_bytes(FL_VAL_INT));
    assert_false(fl_value_has_bytes(FL_VAL_YEAR));
    assert_false(fl_value_has_bytes(FL_VAL_DOUBLE));
    assert_false(fl_value_has_bytes(FL_VAL_NULL));
    assert_false(fl_value_has_bytes(FL_VAL_SET_BITS));
    assert_false(fl_value_has_bytes(FL_VAL_BIT));
}

static void test_equal(void **state)
{
    (void)state;
    fl_value a = v_int(5), b = v_int(5), c = v_int(6);
    assert_true(fl_value_equal(&a, &b));
    assert_false(fl_value_equal(&a, &c));
    fl_value u = v_uint(FL_VAL_UINT, 5);
    assert_false(fl_value_equal(&a, &u)); /* type matters */
    fl_value n1 = {.type = FL_VAL_NULL}, n2 = {.type = FL_VAL_NULL}, ab = {.type = FL_VAL_ABSENT};
    assert_true(fl_value_equal(&n1, &n2));
    assert_false(fl_value_equal(&n1, &ab));
    fl_value d1 = v_dbl(FL_VAL_DOUBLE, NAN), d2 = v_dbl(FL_VAL_DOUBLE, -NAN);
    assert_true(fl_value_equal(&d1, &d2));
    fl_value z1 = v_dbl(FL_VAL_DOUBLE, 0.0), z2 = v_dbl(FL_VAL_DOUBLE, -0.0);
    assert_false(fl_value_equal(&z1, &z2)); /* bitwise */
    fl_value e1 = v_dbl(FL_VAL_DOUBLE, 0.1), e2 = v_dbl(FL_VAL_DOUBLE, 0.1);
    assert_true(fl_value_equal(&e1, &e2));
    char x[] = "abc", y[] = "abc";
    fl_value s1 = v_str(FL_VAL_STRING, x), s2 = v_str(FL_VAL_STRING, y), s3 = v_bytes(FL_VAL_STRING, y, 2);
    fl_value s4 = v_str(FL_VAL_BINARY, y);
    assert_true(fl_value_equal(&s1, &s2));
    assert_false(fl_value_equal(&s1, &s3));
    assert_false(fl_value_equal(&s1, &s4));
    y[2] = 'd';
    assert_false(fl_value_equal(&s1, &s2));
    fl_value empty1 = v_bytes(FL_VAL_STRING, NULL, 0), empty2 = v_bytes(FL_VAL_STRING, "", 0);
    assert_true(fl_value_equal(&empty1, &empty2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_and_absent), cmocka_unit_test(test_integers),
        cmocka_unit_test(test_floats),          cmocka_unit_test(test_round_trip_random),
        cmocka_unit_test(test_shortest),        cmocka_unit_test(test_strings_and_temporals),
        cmocka_unit_test(test_binary),          cmocka_unit_test(test_set),
        cmocka_unit_test(test_json_value),      cmocka_unit_test(test_vector),
        cmocka_unit_test(test_escapes),         cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_base64),          cmocka_unit_test(test_type_names_and_bytes),
        cmocka_unit_test(test_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
