/* json_binary.c — MySQL's binary JSON (the JSON column format) to JSON text.
 *
 * A value is a type byte followed by its data:
 *   0x00/0x01  object, small (2-byte counts and offsets) or large (4-byte)
 *   0x02/0x03  array, small or large
 *   0x04       literal: 0 null, 1 true, 2 false
 *   0x05-0x0a  int16, uint16, int32, uint32, int64, uint64 (little-endian)
 *   0x0b       double (little-endian IEEE 754)
 *   0x0c       string: variable-length length (7 bits a byte, low first), UTF-8 bytes
 *   0x0f       opaque: a MySQL column type byte, variable-length length, data
 * A container starts with its element count and its total size, then (objects) one key
 * entry per member (offset, 2-byte length), then one value entry per element: a type byte
 * and either an offset (from the container's start) or, for literals and integers that
 * fit the offset field, the value itself. Keys and values follow.
 *
 * The text is written the way MySQL prints JSON: ", " and ": " separators, doubles with
 * ".0" when they are whole, DECIMAL as a number, DATE as "YYYY-MM-DD", TIME, DATETIME and
 * TIMESTAMP with six fraction digits, an opaque VAR_STRING as a string, other opaque values
 * as "base64:typeN:..." (base64 broken into lines of 76). */
#include "fl-relay/json_binary.h"

#include <inttypes.h>
#include <math.h>
#include <mysql.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/value.h"
#include "fl-relay/decimal.h"

#define MAX_DEPTH 100

enum {
    JB_SMALL_OBJECT = 0x00,
    JB_LARGE_OBJECT = 0x01,
    JB_SMALL_ARRAY = 0x02,
    JB_LARGE_ARRAY = 0x03,
    JB_LITERAL = 0x04,
    JB_INT16 = 0x05,
    JB_UINT16 = 0x06,
    JB_INT32 = 0x07,
    JB_UINT32 = 0x08,
    JB_INT64 = 0x09,
    JB_UINT64 = 0x0a,
    JB_DOUBLE = 0x0b,
    JB_STRING = 0x0c,
    JB_OPAQUE = 0x0f,
};

typedef struct jctx {
    fl_buf *out;
    size_t limit; /* output cap: shared offsets could otherwise blow up exponentially */
    char *err;
    size_t errlen;
} jctx;

static uint64_t le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Variable-length length: 7 bits a byte, least significant first, at most 5 bytes. */
static int read_varlen(const uint8_t *p, size_t len, uint32_t *v, size_t *n)
{
    uint64_t x = 0;
    for (size_t i = 0; i < 5 && i < len; i++) {
        x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            if (x > UINT32_MAX) return -1;
            *v = (uint32_t)x;
            *n = i + 1;
            return 0;
        }
    }
    return -1;
}

static int value(jctx *c, uint8_t type, const uint8_t *p, size_t len, int depth);

/* Shortest round-trip digits, written as MySQL writes a JSON double: exponents without "+"
 * or leading zeros ("1e300", "1e-7"), and ".0" after a whole number without exponent. */
static void put_double(fl_buf *out, double d)
{
    fl_buf t = {0};
    fl_format_double(&t, d);
    bool plain = true;
    for (size_t i = 0; i < t.len; i++) {
        uint8_t ch = t.data[i];
        if (ch == '.') plain = false;
        if (ch == 'e' || ch == 'E') {
            plain = false;
            fl_buf_putc(out, 'e');
            i++;
            if (i < t.len && t.data[i] == '-')
                fl_buf_putc(out, t.data[i++]);
            else if (i < t.len && t.data[i] == '+')
                i++;
            while (i + 1 < t.len && t.data[i] == '0') i++;
            fl_buf_put(out, t.data + i, t.len - i);
            break;
        }
        fl_buf_putc(out, ch);
    }
    if (plain) fl_buf_puts(out, ".0");
    fl_buf_free(&t);
}

/* Packed temporal value of the opaque DATE/TIME/DATETIME/TIMESTAMP types: a signed 64-bit
 * (integer part << 24) + microseconds; the integer part is year*13+month, day, hour,
 * minute, second in 17+5+5+6+6 bits (dates) or hour, minute, second in 10+6+6 (TIME). */
static int opaque_temporal(jctx *c, uint8_t ftype, const uint8_t *p, size_t len)
{
    if (len < 8) return fl_errorf(c->err, c->errlen, "truncated temporal value");
    int64_t packed = (int64_t)le(p, 8);
    bool neg = packed < 0;
    uint64_t a = neg ? (uint64_t)0 - (uint64_t)packed : (uint64_t)packed;
    uint64_t ip = a >> 24;
    unsigned usec = (unsigned)(a & 0xffffff);
    if (usec > 999999) return fl_errorf(c->err, c->errlen, "temporal fraction out of range");
    char s[64];
    if (ftype == MYSQL_TYPE_TIME) {
        snprintf(s, sizeof s, "\"%s%02u:%02u:%02u.%06u\"", neg ? "-" : "", (unsigned)((ip >> 12) & 0x3ff),
                 (unsigned)((ip >> 6) & 63), (unsigned)(ip & 63), usec);
    } else {
        if (neg) return fl_errorf(c->err, c->errlen, "negative date");
        uint64_t ymd = ip >> 17, hms = ip & 0x1ffff, ym = ymd >> 5;
        unsigned y = (unsigned)(ym / 13), mo = (unsigned)(ym % 13), d = (unsigned)(ymd & 31);
        if (y > 9999) return fl_errorf(c->err, c->errlen, "year out of range");
        if (ftype == MYSQL_TYPE_DATE)
            snprintf(s, sizeof s, "\"%04u-%02u-%02u\"", y, mo, d);
        else
            snprintf(s, sizeof s, "\"%04u-%02u-%02u %02u:%02u:%02u.%06u\"", y, mo, d, (unsigned)(hms >> 12),
                     (unsigned)((hms >> 6) & 63), (unsigned)(hms & 63), usec);
    }
    fl_buf_puts(c->out, s);
    return 0;
}

static int opaque(jctx *c, const uint8_t *p, size_t len)
{
    if (len < 1) return fl_errorf(c->err, c->errlen, "truncated opaque value");
    uint8_t ftype = p[0];
    uint32_t n;
    size_t nl;
    if (read_varlen(p + 1, len - 1, &n, &nl) < 0) return fl_errorf(c->err, c->errlen, "bad opaque length");
    if (n > len - 1 - nl) return fl_errorf(c->err, c->errlen, "truncated opaque value");
    const uint8_t *d = p + 1 + nl;
    switch (ftype) {
    case MYSQL_TYPE_NEWDECIMAL: {
        /* precision, scale, then the binary decimal; printed as a number */
        if (n < 2) return fl_errorf(c->err, c->errlen, "truncated opaque DECIMAL");
        size_t size = fl_decimal_bin_size(d[0], d[1]);
        if (!size)
            return fl_errorf(c->err, c->errlen, "opaque DECIMAL(%u,%u) is not a valid precision and scale", d[0],
                             d[1]);
        if (n - 2 < size) return fl_errorf(c->err, c->errlen, "truncated opaque DECIMAL(%u,%u)", d[0], d[1]);
        char text[FL_DECIMAL_TEXT_MAX];
        uint32_t bad;
        int tl = fl_decimal_to_text(d + 2, d[0], d[1], text, &bad);
        if (tl < 0)
            return fl_errorf(c->err, c->errlen, "opaque DECIMAL with invalid digits (group value %u)", bad);
        fl_buf_put(c->out, text, (size_t)tl);
        return 0;
    }
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP: return opaque_temporal(c, ftype, d, n);
    case MYSQL_TYPE_VAR_STRING:
        /* a string MySQL kept opaque: printed as the string */
        fl_json_string(c->out, (const char *)d, n);
        return 0;
    default: {
        /* "base64:typeN:" and the base64 text, a newline after every 76 characters */
        fl_buf b64 = {0}, text = {0};
        fl_base64(&b64, d, n);
        fl_buf_printf(&text, "base64:type%u:", ftype);
        for (size_t i = 0; i < b64.len; i += 76) {
            if (i) fl_buf_putc(&text, '\n');
            fl_buf_put(&text, b64.data + i, b64.len - i < 76 ? b64.len - i : 76);
        }
        fl_json_string(c->out, (const char *)text.data, text.len);
        fl_buf_free(&b64);
        fl_buf_free(&text);
        return 0;
    }
    }
}

/* An object or array at p (len bytes available from its start). */
static int container(jctx *c, bool is_object, bool large, const uint8_t *p, size_t len, int depth)
{
    size_t w = large ? 4 : 2; /* width of counts and offsets */
    if (len < 2 * w) return fl_errorf(c->err, c->errlen, "truncated %s header", is_object ? "object" : "array");
    uint64_t count = le(p, w), size = le(p + w, w);
    if (size > len)
        return fl_errorf(c->err, c->errlen, "%s size %" PRIu64 " beyond the %zu bytes available",
                         is_object ? "object" : "array", size, len);
    size_t key_entry = w + 2, value_entry = 1 + w;
    uint64_t header = 2 * w + count * ((is_object ? key_entry : 0) + value_entry);
    if (count > size || header > size)
        return fl_errorf(c->err, c->errlen, "%s of %" PRIu64 " elements does not fit its %" PRIu64 " bytes",
                         is_object ? "object" : "array", count, size);

    fl_buf_putc(c->out, is_object ? '{' : '[');
    for (uint64_t i = 0; i < count; i++) {
        if (c->out->len > c->limit)
            return fl_errorf(c->err, c->errlen, "text larger than the value allows (shared offsets)");
        if (i) fl_buf_puts(c->out, ", ");
        if (is_object) {
            const uint8_t *ke = p + 2 * w + i * key_entry;
            uint64_t koff = le(ke, w), klen = le(ke + w, 2);
            if (koff > size || klen > size - koff)
                return fl_errorf(c->err, c->errlen, "key %" PRIu64 " out of bounds", i);
            fl_json_string(c->out, (const char *)p + koff, (size_t)klen);
            fl_buf_puts(c->out, ": ");
        }
        const uint8_t *ve = p + 2 * w + count * (is_object ? key_entry : 0) + i * value_entry;
        uint8_t t = ve[0];
        /* inlined: literals and integers that fit in the offset field */
        bool inlined = t == JB_LITERAL || t == JB_INT16 || t == JB_UINT16 ||
                       (large && (t == JB_INT32 || t == JB_UINT32));
        if (inlined) {
            if (value(c, t, ve + 1, w, depth + 1) < 0) return -1;
        } else {
            uint64_t off = le(ve + 1, w);
            if (off >= size)
                return fl_errorf(c->err, c->errlen, "value %" PRIu64 " offset %" PRIu64 " out of bounds", i, off);
            if (value(c, t, p + off, (size_t)(size - off), depth + 1) < 0) return -1;
        }
    }
    fl_buf_putc(c->out, is_object ? '}' : ']');
    return 0;
}

static int value(jctx *c, uint8_t type, const uint8_t *p, size_t len, int depth)
{
    if (depth > MAX_DEPTH) return fl_errorf(c->err, c->errlen, "nested deeper than %d", MAX_DEPTH);
    switch (type) {
    case JB_SMALL_OBJECT:
    case JB_LARGE_OBJECT: return container(c, true, type == JB_LARGE_OBJECT, p, len, depth);
    case JB_SMALL_ARRAY:
    case JB_LARGE_ARRAY: return container(c, false, type == JB_LARGE_ARRAY, p, len, depth);
    case JB_LITERAL:
        if (len < 1) return fl_errorf(c->err, c->errlen, "truncated literal");
        if (p[0] > 2) return fl_errorf(c->err, c->errlen, "unknown literal %u", p[0]);
        fl_buf_puts(c->out, p[0] == 0 ? "null" : p[0] == 1 ? "true" : "false");
        return 0;
    case JB_INT16:
        if (len < 2) return fl_errorf(c->err, c->errlen, "truncated int16");
        fl_buf_printf(c->out, "%d", (int16_t)le(p, 2));
        return 0;
    case JB_UINT16:
        if (len < 2) return fl_errorf(c->err, c->errlen, "truncated uint16");
        fl_buf_printf(c->out, "%u", (unsigned)le(p, 2));
        return 0;
    case JB_INT32:
        if (len < 4) return fl_errorf(c->err, c->errlen, "truncated int32");
        fl_buf_printf(c->out, "%" PRId32, (int32_t)le(p, 4));
        return 0;
    case JB_UINT32:
        if (len < 4) return fl_errorf(c->err, c->errlen, "truncated uint32");
        fl_buf_printf(c->out, "%" PRIu32, (uint32_t)le(p, 4));
        return 0;
    case JB_INT64:
        if (len < 8) return fl_errorf(c->err, c->errlen, "truncated int64");
        fl_buf_printf(c->out, "%" PRId64, (int64_t)le(p, 8));
        return 0;
    case JB_UINT64:
        if (len < 8) return fl_errorf(c->err, c->errlen, "truncated uint64");
        fl_buf_printf(c->out, "%" PRIu64, le(p, 8));
        return 0;
    case JB_DOUBLE: {
        if (len < 8) return fl_errorf(c->err, c->errlen, "truncated double");
        uint64_t bits = le(p, 8);
        double d;
        memcpy(&d, &bits, 8);
        if (!isfinite(d)) return fl_errorf(c->err, c->errlen, "non-finite double");
        put_double(c->out, d);
        return 0;
    }
    case JB_STRING: {
        uint32_t n;
        size_t nl;
        if (read_varlen(p, len, &n, &nl) < 0) return fl_errorf(c->err, c->errlen, "bad string length");
        if (n > len - nl) return fl_errorf(c->err, c->errlen, "truncated string");
        fl_json_string(c->out, (const char *)p + nl, n);
        return 0;
    }
    case JB_OPAQUE: return opaque(c, p, len);
    default: return fl_errorf(c->err, c->errlen, "unknown value type 0x%02x", type);
    }
}

int fl_json_binary_to_text(const uint8_t *data, size_t len, fl_buf *out, char *err, size_t errlen)
{
    if (len == 0) {
        fl_buf_puts(out, "null");
        return 0;
    }
    jctx c = {out, out->len + 16 * len + 256, err, errlen};
    size_t start = out->len;
    if (value(&c, data[0], data + 1, len - 1, 0) < 0) {
        out->len = start;
        if (err && errlen) {
            char why[256];
            snprintf(why, sizeof why, "%s", err);
            fl_errorf(err, errlen, "binary JSON: %s", why);
        }
        return -1;
    }
    return 0;
}
