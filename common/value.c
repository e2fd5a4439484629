/* value.c — JSON rendering and canonical text of column values.
 *
 * Numbers: integers are printed exactly; FLOAT and DOUBLE use the fewest significant digits
 * (1..9 for float, 1..17 for double) that strtof/strtod read back to the same bits, laid out
 * like "%g" does, which is always valid JSON ("1", "100", "0.1", "1e+20", "-0"). JSON has no NaN or infinity, so those
 * render as null in JSON; their canonical text is "nan", "inf" or "-inf".
 *
 * Strings: JSON escaping keeps valid UTF-8 as is and writes every byte that is not part of a
 * well-formed sequence (stray continuation bytes, overlong forms, surrogates, code points
 * above U+10FFFF, truncated sequences) as \u00XX of that byte, so the output is always
 * valid JSON whatever the column held. */
#include "common/value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Decimal digits of integers without printf (the hot path of every rendered row), two at a
 * time. */
static const char digit_pairs[] = "0001020304050607080910111213141516171819202122232425262728293031323334353637383"
                                  "9404142434445464748495051525354555657585960616263646566676869707172737475767778"
                                  "798081828384858687888990919293949596979899";

static const uint64_t pow10_u64[20] = {1ull,
                                       10ull,
                                       100ull,
                                       1000ull,
                                       10000ull,
                                       100000ull,
                                       1000000ull,
                                       10000000ull,
                                       100000000ull,
                                       1000000000ull,
                                       10000000000ull,
                                       100000000000ull,
                                       1000000000000ull,
                                       10000000000000ull,
                                       100000000000000ull,
                                       1000000000000000ull,
                                       10000000000000000ull,
                                       100000000000000000ull,
                                       1000000000000000000ull,
                                       10000000000000000000ull};

/* Written in place, from the last digit back: the count of digits is known first. */
static void put_u64(fl_buf *out, uint64_t v)
{
    size_t n = 1;
    while (n < 20 && v >= pow10_u64[n]) n++;
    fl_buf_reserve(out, n);
    char *p = (char *)out->data + out->len + n;
    out->len += n;
    while (v >= 100) {
        const char *d = digit_pairs + (v % 100) * 2;
        v /= 100;
        p -= 2;
        p[0] = d[0];
        p[1] = d[1];
    }
    if (v >= 10) {
        p -= 2;
        p[0] = digit_pairs[v * 2];
        p[1] = digit_pairs[v * 2 + 1];
    } else {
        *--p = (char)('0' + v);
    }
}

static void put_i64(fl_buf *out, int64_t v)
{
    if (v < 0) {
        fl_buf_putc(out, '-');
        put_u64(out, (uint64_t)0 - (uint64_t)v);
    } else {
        put_u64(out, (uint64_t)v);
    }
}
static const char *const type_names[FL_VAL_TYPE_COUNT] = {
    [FL_VAL_ABSENT] = "absent",
    [FL_VAL_NULL] = "null",
    [FL_VAL_INT] = "int",
    [FL_VAL_UINT] = "uint",
    [FL_VAL_FLOAT] = "float",
    [FL_VAL_DOUBLE] = "double",
    [FL_VAL_DECIMAL] = "decimal",
    [FL_VAL_DATE] = "date",
    [FL_VAL_DATETIME] = "datetime",
    [FL_VAL_TIMESTAMP] = "timestamp",
    [FL_VAL_TIME] = "time",
    [FL_VAL_YEAR] = "year",
    [FL_VAL_STRING] = "string",
    [FL_VAL_BINARY] = "binary",
    [FL_VAL_GEOMETRY] = "geometry",
    [FL_VAL_ENUM] = "enum",
    [FL_VAL_SET] = "set",
    [FL_VAL_ENUM_INDEX] = "enum_index",
    [FL_VAL_SET_BITS] = "set_bits",
    [FL_VAL_BIT] = "bit",
    [FL_VAL_JSON] = "json",
    [FL_VAL_VECTOR] = "vector",
    [FL_VAL_UNKNOWN] = "unknown_value",
};

const char *fl_value_type_name(fl_value_type t)
{
    return (unsigned)t < FL_VAL_TYPE_COUNT ? type_names[t] : "unknown";
}

bool fl_value_has_bytes(fl_value_type t)
{
    switch (t) {
    case FL_VAL_DECIMAL:
    case FL_VAL_DATE:
    case FL_VAL_DATETIME:
    case FL_VAL_TIMESTAMP:
    case FL_VAL_TIME:
    case FL_VAL_STRING:
    case FL_VAL_BINARY:
    case FL_VAL_GEOMETRY:
    case FL_VAL_ENUM:
    case FL_VAL_SET:
    case FL_VAL_JSON:
    case FL_VAL_VECTOR: return true;
    default: return false;
    }
}

/* ---- numbers ---- */

/* Lays out the shortest digits found by "%.*e" (tmp: "[-]D[.DDD]e[+-]XX") the way "%.17g"
 * would lay out a value with those digits: positional for exponents -5 < X < 17, otherwise
 * scientific with at least two exponent digits. So 100 prints "100" (not "1e+02"), 1e20
 * prints "1e+20", 0.0001 prints "0.0001" and 1e-05 prints "1e-05". */
static void layout_digits(fl_buf *out, const char *tmp)
{
    char digits[24];
    size_t n = 0;
    const char *p = tmp;
    if (*p == '-') fl_buf_putc(out, *p++);
    for (; *p && *p != 'e'; p++)
        if (*p != '.' && n < sizeof digits) digits[n++] = *p;
    long x = *p == 'e' ? strtol(p + 1, NULL, 10) : 0;
    while (n > 1 && digits[n - 1] == '0') n--;
    if (x < -4 || x >= 17) {
        fl_buf_putc(out, (uint8_t)digits[0]);
        if (n > 1) {
            fl_buf_putc(out, '.');
            fl_buf_put(out, digits + 1, n - 1);
        }
        fl_buf_printf(out, "e%c%02ld", x < 0 ? '-' : '+', x < 0 ? -x : x);
    } else if (x >= (long)n - 1) {
        fl_buf_put(out, digits, n);
        for (long i = (long)n - 1; i < x; i++) fl_buf_putc(out, '0');
    } else if (x >= 0) {
        fl_buf_put(out, digits, (size_t)x + 1);
        fl_buf_putc(out, '.');
        fl_buf_put(out, digits + x + 1, n - (size_t)x - 1);
    } else {
        fl_buf_puts(out, "0.");
        for (long i = -1; i > x; i--) fl_buf_putc(out, '0');
        fl_buf_put(out, digits, n);
    }
}

/* The fewest significant digits that read back to exactly d — as a double, or as a float
 * when as_float (whose values are all exact doubles) — laid out by layout_digits. */
static void format_shortest(fl_buf *out, double d, bool as_float)
{
    if (isnan(d)) {
        fl_buf_puts(out, "nan");
        return;
    }
    if (isinf(d)) {
        fl_buf_puts(out, d < 0 ? "-inf" : "inf");
        return;
    }
    char tmp[40];
    for (int prec = 0; prec <= (as_float ? 8 : 16); prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec, d);
        if (as_float ? strtof(tmp, NULL) == (float)d : strtod(tmp, NULL) == d) break;
    }
    layout_digits(out, tmp);
}

void fl_format_double(fl_buf *out, double d) { format_shortest(out, d, false); }
void fl_format_float(fl_buf *out, float f) { format_shortest(out, (double)f, true); }

static void json_double(fl_buf *out, double d)
{
    if (!isfinite(d))
        fl_buf_puts(out, "null");
    else
        fl_format_double(out, d);
}

static void json_float(fl_buf *out, float f)
{
    if (!isfinite(f))
        fl_buf_puts(out, "null");
    else
        fl_format_float(out, f);
}

/* ---- strings ---- */

/* Length of the well-formed UTF-8 sequence starting at p (n bytes available), 0 if none. */
static size_t utf8_seq_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    if (c < 0x80) return 1;
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, F5..FF */
    }
    if (n < len) return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return len;
}

static void put_u00(fl_buf *out, uint8_t c)
{
    static const char hex[] = "0123456789abcdef";
    char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    fl_buf_put(out, esc, sizeof esc);
}

/* Whether the 8 bytes at p need no escaping in JSON (each in 0x20..0x7f, none '"' or '\\'). */
static inline bool plain8(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t below_space = (w - ones * 0x20) & ~w; /* a byte's high bit set when it is < 0x20 */
    uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
    uint64_t is_quote = (quote - ones) & ~quote, is_backslash = (backslash - ones) & ~backslash;
    return ((w | below_space | is_quote | is_backslash) & high) == 0;
}

/* Whether all of p[0..len) is plain (see plain8), eight bytes at a time; *checked tells how
 * far whole blocks went. */
static bool all_plain(const uint8_t *p, size_t len, size_t *checked)
{
    size_t i = 0;
    while (i + 8 <= len && plain8(p + i)) i += 8;
    *checked = i;
    if (i + 8 <= len) return false; /* a block that is not */
    if (i == len) return true;
    if (len >= 8) return plain8(p + len - 8); /* the tail, in the last eight bytes */
    uint8_t pad[8];
    memset(pad, ' ', sizeof pad);
    memcpy(pad, p, len);
    return plain8(pad);
}

void fl_json_string(fl_buf *out, const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t run = 0; /* start of the pending run of bytes copied as they are */
    size_t i = 0;
    fl_buf_reserve(out, len + 2);
    if (all_plain(p, len, &i)) { /* most text: quoted as it is, in one copy */
        uint8_t *o = out->data + out->len;
        o[0] = '"';
        if (len) memcpy(o + 1, p, len);
        o[len + 1] = '"';
        out->len += len + 2;
        return;
    }
    fl_buf_putc(out, '"');
    if (!len) {
        fl_buf_putc(out, '"');
        return;
    }
    while (i < len) {
        /* eight plain bytes at a time: none below 0x20, none from 0x80, no '"' or '\\' */
        while (i + 8 <= len && plain8(p + i)) i += 8;
        if (i == len) break;
        uint8_t c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        size_t seq = c >= 0x80 ? utf8_seq_len(p + i, len - i) : 0;
        if (seq) {
            i += seq;
            continue;
        }
        fl_buf_put(out, p + run, i - run);
        switch (c) {
        case '"': fl_buf_puts(out, "\\\""); break;
        case '\\': fl_buf_puts(out, "\\\\"); break;
        case '\n': fl_buf_puts(out, "\\n"); break;
        case '\t': fl_buf_puts(out, "\\t"); break;
        case '\r': fl_buf_puts(out, "\\r"); break;
        case '\b': fl_buf_puts(out, "\\b"); break;
        case '\f': fl_buf_puts(out, "\\f"); break;
        default: put_u00(out, c); break;
        }
        i++;
        run = i;
    }
    fl_buf_put(out, p + run, len - run);
    fl_buf_putc(out, '"');
}

void fl_base64(fl_buf *out, const void *data, size_t len)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const uint8_t *p = data;
    fl_buf_reserve(out, (len + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        char q[4] = {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63], alphabet[v & 63]};
        fl_buf_put(out, q, 4);
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        char q[4] = {alphabet[v >> 18], alphabet[(v >> 12) & 63], '=', '='};
        fl_buf_put(out, q, 4);
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        char q[4] = {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63], '='};
        fl_buf_put(out, q, 4);
    }
}

/* ---- composite types ---- */

/* A SET's labels joined by ',' as a JSON array; the empty string is the empty set. */
static void json_set(fl_buf *out, const char *s, size_t len)
{
    fl_buf_putc(out, '[');
    if (len) {
        size_t start = 0;
        for (size_t i = 0; i <= len; i++) {
            if (i < len && s[i] != ',') continue;
            if (start) fl_buf_putc(out, ',');
            fl_json_string(out, s + start, i - start);
            start = i + 1;
        }
    }
    fl_buf_putc(out, ']');
}

/* A VECTOR's little-endian float32 elements as a JSON array; a trailing partial element
 * (a length that is not a multiple of 4) cannot come from a valid column and is left out. */
static void json_vector(fl_buf *out, const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s;
    fl_buf_putc(out, '[');
    for (size_t i = 0; i + 4 <= len; i += 4) {
        uint32_t bits = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 |
                        (uint32_t)p[i + 3] << 24;
        float f;
        memcpy(&f, &bits, sizeof f);
        if (i) fl_buf_putc(out, ',');
        json_float(out, f);
    }
    fl_buf_putc(out, ']');
}

void fl_value_to_json(const fl_value *v, fl_buf *out)
{
    switch ((fl_value_type)v->type) {
    case FL_VAL_INT:
    case FL_VAL_YEAR: put_i64(out, v->i); break;
    case FL_VAL_UINT:
    case FL_VAL_ENUM_INDEX:
    case FL_VAL_SET_BITS:
    case FL_VAL_BIT: put_u64(out, v->u); break;
    case FL_VAL_FLOAT: json_float(out, (float)v->d); break;
    case FL_VAL_DOUBLE: json_double(out, v->d); break;
    case FL_VAL_DECIMAL:
    case FL_VAL_DATE:
    case FL_VAL_DATETIME:
    case FL_VAL_TIMESTAMP:
    case FL_VAL_TIME:
    case FL_VAL_STRING:
    case FL_VAL_ENUM: fl_json_string(out, v->s.ptr, v->s.len); break;
    case FL_VAL_BINARY:
    case FL_VAL_GEOMETRY:
        fl_buf_putc(out, '"');
        fl_base64(out, v->s.ptr, v->s.len);
        fl_buf_putc(out, '"');
        break;
    case FL_VAL_SET: json_set(out, v->s.ptr, v->s.len); break;
    case FL_VAL_JSON:
        /* The decoder writes the document's text; an empty one (MySQL logs a JSON NULL
         * document with length 0) is the JSON null literal. */
        if (v->s.len)
            fl_buf_put(out, v->s.ptr, v->s.len);
        else
            fl_buf_puts(out, "null");
        break;
    case FL_VAL_VECTOR: json_vector(out, v->s.ptr, v->s.len); break;
    case FL_VAL_ABSENT:
    case FL_VAL_UNKNOWN:
    case FL_VAL_NULL:
    default: fl_buf_puts(out, "null"); break;
    }
}

bool fl_value_to_text(const fl_value *v, fl_buf *out)
{
    switch ((fl_value_type)v->type) {
    case FL_VAL_INT:
    case FL_VAL_YEAR: put_i64(out, v->i); return true;
    case FL_VAL_UINT:
    case FL_VAL_ENUM_INDEX:
    case FL_VAL_SET_BITS:
    case FL_VAL_BIT: put_u64(out, v->u); return true;
    case FL_VAL_FLOAT: fl_format_float(out, (float)v->d); return true;
    case FL_VAL_DOUBLE: fl_format_double(out, v->d); return true;
    case FL_VAL_DECIMAL:
    case FL_VAL_DATE:
    case FL_VAL_DATETIME:
    case FL_VAL_TIMESTAMP:
    case FL_VAL_TIME:
    case FL_VAL_STRING:
    case FL_VAL_BINARY:
    case FL_VAL_GEOMETRY:
    case FL_VAL_ENUM:
    case FL_VAL_SET: fl_buf_put(out, v->s.ptr, v->s.len); return true;
    case FL_VAL_JSON:
        if (v->s.len)
            fl_buf_put(out, v->s.ptr, v->s.len);
        else
            fl_buf_puts(out, "null");
        return true;
    case FL_VAL_VECTOR: json_vector(out, v->s.ptr, v->s.len); return true;
    case FL_VAL_ABSENT:
    case FL_VAL_UNKNOWN:
    case FL_VAL_NULL:
    default: return false;
    }
}

bool fl_value_equal(const fl_value *a, const fl_value *b)
{
    if (a->type != b->type) return false;
    switch ((fl_value_type)a->type) {
    case FL_VAL_ABSENT:
    case FL_VAL_UNKNOWN:
    case FL_VAL_NULL: return true;
    case FL_VAL_INT:
    case FL_VAL_YEAR: return a->i == b->i;
    case FL_VAL_UINT:
    case FL_VAL_ENUM_INDEX:
    case FL_VAL_SET_BITS:
    case FL_VAL_BIT: return a->u == b->u;
    case FL_VAL_FLOAT:
    case FL_VAL_DOUBLE:
        if (isnan(a->d) && isnan(b->d)) return true;
        return memcmp(&a->d, &b->d, sizeof a->d) == 0;
    default:
        if (!fl_value_has_bytes((fl_value_type)a->type)) return false;
        return a->s.len == b->s.len && (a->s.len == 0 || memcmp(a->s.ptr, b->s.ptr, a->s.len) == 0);
    }
}
