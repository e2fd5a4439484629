/* test_json_binary.c — MySQL binary JSON to text: scalars, small and large containers,
 * nesting, opaque values, and malformed input (truncation, bad offsets, depth, shared
 * offsets). Documents are encoded here from the format description. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fl-relay/json_binary.h"

/* ---- a small encoder for test documents ---- */

typedef struct jv {
    uint8_t type;
    fl_buf data; /* the value's bytes after its type byte */
} jv;

static void put_le(fl_buf *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) fl_buf_putc(b, (uint8_t)(v >> (8 * i)));
}

static void put_varlen(fl_buf *b, uint32_t n)
{
    do {
        uint8_t c = n & 0x7f;
        n >>= 7;
        fl_buf_putc(b, n ? (c | 0x80) : c);
    } while (n);
}

static jv scalar(uint8_t type, uint64_t v, int n)
{
    jv x = {type, {0}};
    put_le(&x.data, v, n);
    return x;
}

static jv jlit(int v) { return scalar(0x04, (uint64_t)v, 1); }
static jv jint16(int16_t v) { return scalar(0x05, (uint16_t)v, 2); }

static jv jdouble(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, 8);
    return scalar(0x0b, bits, 8);
}

static jv jstrn(const char *s, size_t n)
{
    jv x = {0x0c, {0}};
    put_varlen(&x.data, (uint32_t)n);
    fl_buf_put(&x.data, s, n);
    return x;
}

static jv jstr(const char *s) { return jstrn(s, strlen(s)); }

static jv jopaque(uint8_t ftype, const void *p, size_t n)
{
    jv x = {0x0f, {0}};
    fl_buf_putc(&x.data, ftype);
    put_varlen(&x.data, (uint32_t)n);
    fl_buf_put(&x.data, p, n);
    return x;
}

static bool inlined(uint8_t t, bool large)
{
    return t == 0x04 || t == 0x05 || t == 0x06 || (large && (t == 0x07 || t == 0x08));
}

/* Object (keys != NULL) or array; consumes the items. */
static jv container(bool large, const char **keys, jv *items, size_t n)
{
    int w = large ? 4 : 2;
    size_t header = 2 * (size_t)w + n * ((keys ? (size_t)w + 2 : 0) + 1 + (size_t)w);
    size_t keybytes = 0;
    for (size_t i = 0; keys && i < n; i++) keybytes += strlen(keys[i]);
    size_t size = header + keybytes;
    for (size_t i = 0; i < n; i++)
        if (!inlined(items[i].type, large)) size += items[i].data.len;
    jv x = {keys ? (large ? 0x01 : 0x00) : (large ? 0x03 : 0x02), {0}};
    fl_buf *b = &x.data;
    put_le(b, n, w);
    put_le(b, size, w);
    size_t off = header;
    for (size_t i = 0; keys && i < n; i++) {
        put_le(b, off, w);
        put_le(b, strlen(keys[i]), 2);
        off += strlen(keys[i]);
    }
    for (size_t i = 0; i < n; i++) {
        fl_buf_putc(b, items[i].type);
        if (inlined(items[i].type, large)) {
            uint64_t v = 0;
            for (size_t k = 0; k < items[i].data.len; k++) v |= (uint64_t)items[i].data.data[k] << (8 * k);
            put_le(b, v, w);
        } else {
            put_le(b, off, w);
            off += items[i].data.len;
        }
    }
    for (size_t i = 0; keys && i < n; i++) fl_buf_puts(b, keys[i]);
    for (size_t i = 0; i < n; i++) {
        if (!inlined(items[i].type, large)) fl_buf_put(b, items[i].data.data, items[i].data.len);
        fl_buf_free(&items[i].data);
    }
    assert_int_equal(b->len, size);
    return x;
}

/* The document: type byte then data. */
static fl_buf doc(jv v)
{
    fl_buf d = {0};
    fl_buf_putc(&d, v.type);
    fl_buf_put(&d, v.data.data, v.data.len);
    fl_buf_free(&v.data);
    return d;
}

static void expect_json(jv v, const char *want)
{
    fl_buf d = doc(v);
    uint8_t *copy = malloc(d.len);
    memcpy(copy, d.data, d.len);
    fl_buf out = {0};
    char err[200] = "";
    if (fl_json_binary_to_text(copy, d.len, &out, err, sizeof err) < 0) fail_msg("%s", err);
    assert_string_equal(fl_buf_cstr(&out), want);
    free(copy);
    fl_buf_free(&out);
    fl_buf_free(&d);
}

static void expect_fail_bytes(const uint8_t *p, size_t n, const char *want)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, p, n);
    fl_buf out = {0};
    fl_buf_puts(&out, "prefix");
    char err[200] = "";
    assert_int_equal(fl_json_binary_to_text(copy, n, &out, err, sizeof err), -1);
    assert_string_equal(err, want);
    assert_string_equal(fl_buf_cstr(&out), "prefix"); /* nothing appended on error */
    free(copy);
    fl_buf_free(&out);
}

static void expect_fail(jv v, const char *want)
{
    fl_buf d = doc(v);
    expect_fail_bytes(d.data, d.len, want);
    fl_buf_free(&d);
}

/* ---- tests ---- */

static void test_scalars(void **state)
{
    (void)state;
    expect_json(jlit(0), "null");
    expect_json(jlit(1), "true");
    expect_json(jlit(2), "false");
    expect_json(jint16(INT16_MIN), "-32768");
    expect_json(scalar(0x06, UINT16_MAX, 2), "65535");
    expect_json(scalar(0x07, (uint32_t)INT32_MIN, 4), "-2147483648");
    expect_json(scalar(0x08, UINT32_MAX, 4), "4294967295");
    expect_json(scalar(0x09, (uint64_t)INT64_MIN, 8), "-9223372036854775808");
    expect_json(scalar(0x0a, UINT64_MAX, 8), "18446744073709551615");
    expect_json(jdouble(3.14), "3.14");
    expect_json(jdouble(1.0), "1.0");
    expect_json(jdouble(-2.5), "-2.5");
    expect_json(jdouble(1e300), "1e300");
    expect_json(jdouble(1e-7), "1e-7");
    expect_json(jdouble(0.1), "0.1");
    expect_json(jstr("hello"), "\"hello\"");
    expect_json(jstr(""), "\"\"");
    expect_json(jstr("a\"b\\\n\x01"), "\"a\\\"b\\\\\\n\\u0001\"");
    expect_json(jstr("\xf0\x9f\x98\x80 \xc3\xa9"), "\"\xf0\x9f\x98\x80 \xc3\xa9\"");
    /* a string of 300 bytes: two-byte length (0xac 0x02) */
    char big[301];
    memset(big, 'z', 300);
    big[300] = 0;
    jv s = jstr(big);
    assert_int_equal(s.data.data[0], 0xac);
    assert_int_equal(s.data.data[1], 0x02);
    char want[303];
    snprintf(want, sizeof want, "\"%s\"", big);
    expect_json(s, want);

    /* an empty value is JSON null */
    fl_buf out = {0};
    char err[100];
    assert_int_equal(fl_json_binary_to_text((const uint8_t *)"", 0, &out, err, sizeof err), 0);
    assert_string_equal(fl_buf_cstr(&out), "null");
    fl_buf_free(&out);
}

static void test_containers(void **state)
{
    (void)state;
    /* {"a": [1, "x", null], "b": {"c": true}, "d": 2.5} */
    jv arr[] = {jint16(1), jstr("x"), jlit(0)};
    jv inner[] = {jlit(1)};
    const char *ik[] = {"c"};
    jv items[] = {container(false, NULL, arr, 3), container(false, ik, inner, 1), jdouble(2.5)};
    const char *keys[] = {"a", "b", "d"};
    expect_json(container(false, keys, items, 3), "{\"a\": [1, \"x\", null], \"b\": {\"c\": true}, \"d\": 2.5}");

    expect_json(container(false, NULL, NULL, 0), "[]");
    expect_json(container(false, ik, NULL, 0), "{}");
    expect_json(container(true, NULL, NULL, 0), "[]");

    /* large array: int32 and uint32 inlined in the 4-byte value entries */
    jv la[] = {scalar(0x07, (uint32_t)-70000, 4), scalar(0x08, 4000000000u, 4), jstr("s"), jint16(-1)};
    jv l = container(true, NULL, la, 4);
    assert_int_equal(l.type, 0x03);
    expect_json(l, "[-70000, 4000000000, \"s\", -1]");
    /* small array: int32 is not inlined, it sits at its offset */
    jv sa[] = {scalar(0x07, 70000, 4), scalar(0x0a, 5, 8)};
    expect_json(container(false, NULL, sa, 2), "[70000, 5]");
    /* large object with a key that needs escaping and a 4-byte UTF-8 key */
    jv lo[] = {jint16(1), jstr("v")};
    const char *lk[] = {"q\"", "\xf0\x9f\x98\x80"};
    expect_json(container(true, lk, lo, 2), "{\"q\\\"\": 1, \"\xf0\x9f\x98\x80\": \"v\"}");

    /* nesting 100 deep is accepted, 101 is not */
    jv v = jint16(7);
    for (int i = 0; i < 100; i++) v = container(false, NULL, &v, 1);
    fl_buf d = doc(v);
    fl_buf out = {0};
    char err[200];
    assert_int_equal(fl_json_binary_to_text(d.data, d.len, &out, err, sizeof err), 0);
    assert_int_equal(out.len, 100 * 2 + 1);
    fl_buf_free(&out);
    fl_buf_free(&d);
    v = jint16(7);
    for (int i = 0; i < 102; i++) v = container(false, NULL, &v, 1);
    expect_fail(v, "binary JSON: nested deeper than 100");
}

static uint64_t packed_datetime(unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s,
                                unsigned usec)
{
    uint64_t ymd = ((uint64_t)y * 13 + mo) << 5 | d;
    uint64_t hms = (uint64_t)h << 12 | mi << 6 | s;
    return ((ymd << 17 | hms) << 24) + usec;
}

static jv opaque_packed(uint8_t ftype, int64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)v >> (8 * i));
    return jopaque(ftype, b, 8);
}

static void test_opaque(void **state)
{
    (void)state;
    /* DECIMAL(6,3) 123.456: precision, scale, then 2 + 2 bytes of binary decimal */
    const uint8_t dec[] = {6, 3, 0x80, 0x7b, 0x01, 0xc8};
    expect_json(jopaque(246, dec, sizeof dec), "123.456");
    const uint8_t neg[] = {6, 3, 0x7f, 0x84, 0xfe, 0x37};
    expect_json(jopaque(246, neg, sizeof neg), "-123.456");
    const uint8_t nine[] = {3, 2, 0x89, 0x00}; /* DECIMAL(3,2) 9.00: 1 + 1 bytes */
    expect_json(jopaque(246, nine, sizeof nine), "9.00");
    expect_json(opaque_packed(10, (int64_t)packed_datetime(2012, 3, 18, 0, 0, 0, 0)), "\"2012-03-18\"");
    expect_json(opaque_packed(12, (int64_t)packed_datetime(2012, 3, 18, 11, 30, 45, 500000)),
                "\"2012-03-18 11:30:45.500000\"");
    expect_json(opaque_packed(7, (int64_t)packed_datetime(1970, 1, 1, 0, 0, 1, 0)),
                "\"1970-01-01 00:00:01.000000\"");
    int64_t t = (int64_t)((((uint64_t)87 << 12 | 31 << 6 | 46) << 24) + 654321);
    expect_json(opaque_packed(11, -t), "\"-87:31:46.654321\"");
    expect_json(opaque_packed(11, t), "\"87:31:46.654321\"");
    expect_json(opaque_packed(11, 0), "\"00:00:00.000000\"");
    expect_json(jopaque(15, "U", 1), "\"base64:type15:VQ==\"");
    expect_json(jopaque(253, "plain", 5), "\"plain\"");
    uint8_t zeros[60] = {0};
    char want[128];
    snprintf(want, sizeof want, "\"base64:type252:%.*s\\n%s\"", 76,
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "AAAA");
    expect_json(jopaque(252, zeros, sizeof zeros), want);
    /* inside a container */
    jv in[] = {opaque_packed(10, (int64_t)packed_datetime(2026, 11, 24, 0, 0, 0, 0)),
               jopaque(246, dec, sizeof dec)};
    const char *k[] = {"d", "n"};
    expect_json(container(false, k, in, 2), "{\"d\": \"2026-11-24\", \"n\": 123.456}");

    expect_fail(opaque_packed(10, -5), "binary JSON: negative date");
    uint8_t short_date[4] = {0};
    expect_fail(jopaque(10, short_date, 4), "binary JSON: truncated temporal value");
    const uint8_t baddec[] = {6, 3, 0x80, 0x7b};
    expect_fail(jopaque(246, baddec, sizeof baddec), "binary JSON: truncated opaque DECIMAL(6,3)");
    const uint8_t badps[] = {3, 4, 0x80};
    expect_fail(jopaque(246, badps, sizeof badps),
                "binary JSON: opaque DECIMAL(3,4) is not a valid precision and scale");
    const uint8_t baddig[] = {3, 2, 0x8a, 0x00}; /* 10 in a one-digit group */
    expect_fail(jopaque(246, baddig, sizeof baddig),
                "binary JSON: opaque DECIMAL with invalid digits (group value 10)");
}

static void test_malformed(void **state)
{
    (void)state;
    const uint8_t unk[] = {0x0d, 0};
    expect_fail_bytes(unk, 2, "binary JSON: unknown value type 0x0d");
    const uint8_t lit[] = {0x04, 3};
    expect_fail_bytes(lit, 2, "binary JSON: unknown literal 3");
    const uint8_t i64[] = {0x09, 1, 2, 3};
    expect_fail_bytes(i64, 4, "binary JSON: truncated int64");
    const uint8_t str[] = {0x0c, 5, 'a', 'b'};
    expect_fail_bytes(str, 4, "binary JSON: truncated string");
    const uint8_t varlen[] = {0x0c, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    expect_fail_bytes(varlen, sizeof varlen, "binary JSON: bad string length");
    expect_fail(jdouble(1.0 / 0.0), "binary JSON: non-finite double");
    /* array whose size claims more than the document holds */
    const uint8_t big[] = {0x02, 1, 0, 0xff, 0, 0x05, 1, 0};
    expect_fail_bytes(big, sizeof big, "binary JSON: array size 255 beyond the 7 bytes available");
    /* more elements than the size can hold */
    const uint8_t many[] = {0x02, 9, 0, 7, 0, 0x05, 1, 0};
    expect_fail_bytes(many, sizeof many, "binary JSON: array of 9 elements does not fit its 7 bytes");
    /* value offset past the container */
    const uint8_t off[] = {0x02, 1, 0, 7, 0, 0x0c, 9, 0};
    expect_fail_bytes(off, sizeof off, "binary JSON: value 0 offset 9 out of bounds");
    /* key past the container */
    const uint8_t key[] = {0x00, 1, 0, 12, 0, 11, 0, 5, 0, 0x05, 1, 0, 'a'};
    expect_fail_bytes(key, sizeof key, "binary JSON: key 0 out of bounds");

    /* every prefix of a nested document fails cleanly (ASan checks the reads) */
    jv arr[] = {jint16(1), jstr("xyz"), jdouble(2.5), opaque_packed(10, 1 << 24)};
    jv items[] = {container(false, NULL, arr, 4), jstr("v")};
    const char *keys[] = {"a", "b"};
    fl_buf d = doc(container(true, keys, items, 2));
    for (size_t n = 1; n < d.len; n++) {
        uint8_t *copy = malloc(n);
        memcpy(copy, d.data, n);
        fl_buf out = {0};
        char err[200];
        assert_int_equal(fl_json_binary_to_text(copy, n, &out, err, sizeof err), -1);
        assert_int_equal(out.len, 0);
        free(copy);
        fl_buf_free(&out);
    }
    fl_buf_free(&d);
}

/* Containers whose entries all point at the same child: a few hundred bytes that would
 * print as 100^6 values. Refused by the output bound instead of running away. */
static void test_shared_offsets(void **state)
{
    (void)state;
    fl_buf inner = {0};
    fl_buf_putc(&inner, 0x04); /* innermost: literal true, used as a 1-byte value */
    fl_buf_putc(&inner, 1);
    uint8_t inner_type = 0x04;
    for (int level = 0; level < 6; level++) {
        fl_buf c = {0};
        size_t n = 100, header = 4 + n * 3, size = header + inner.len - 1;
        put_le(&c, n, 2);
        put_le(&c, size, 2);
        for (size_t i = 0; i < n; i++) {
            fl_buf_putc(&c, inner_type);
            if (inner_type == 0x04)
                put_le(&c, 1, 2);
            else
                put_le(&c, header, 2);
        }
        if (inner_type != 0x04)
            fl_buf_put(&c, inner.data + 1, inner.len - 1);
        else
            size = header;
        c.data[2] = (uint8_t)size;
        c.data[3] = (uint8_t)(size >> 8);
        fl_buf_free(&inner);
        inner = (fl_buf){0};
        fl_buf_putc(&inner, 0x02);
        fl_buf_put(&inner, c.data, c.len);
        inner_type = 0x02;
        fl_buf_free(&c);
    }
    fl_buf out = {0};
    char err[200];
    assert_int_equal(fl_json_binary_to_text(inner.data, inner.len, &out, err, sizeof err), -1);
    assert_string_equal(err, "binary JSON: text larger than the value allows (shared offsets)");
    fl_buf_free(&out);
    fl_buf_free(&inner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),   cmocka_unit_test(test_containers),     cmocka_unit_test(test_opaque),
        cmocka_unit_test(test_malformed), cmocka_unit_test(test_shared_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
