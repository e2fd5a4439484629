/* coltypes.c — decodes one cell of a row image into a canonical value.
 *
 * Encodings (per column type, with the metadata parsed by table_map.c):
 *   integers           little-endian, 1/2/3/4/8 bytes; sign from the SIGNEDNESS metadata
 *   FLOAT, DOUBLE      little-endian IEEE 754
 *   NEWDECIMAL         MySQL's binary decimal (decimal.h)
 *   DATE, NEWDATE      3 bytes little-endian: day (5 bits), month (4), year (15)
 *   TIME               3 bytes little-endian signed, HHMMSS as a decimal number
 *   TIME2              3 bytes big-endian, offset 0x800000 (hour 10 bits, minute 6,
 *                      second 6), then 0-3 fraction bytes
 *   DATETIME           8 bytes little-endian, YYYYMMDDhhmmss as a decimal number
 *   DATETIME2          5 bytes big-endian, offset 0x8000000000 (year*13+month 17 bits,
 *                      day 5, hour 5, minute 6, second 6), then 0-3 fraction bytes
 *   TIMESTAMP          4 bytes little-endian unix seconds (rendered in UTC)
 *   TIMESTAMP2         4 bytes big-endian unix seconds, then 0-3 fraction bytes
 *   YEAR               1 byte, 0 or years since 1900
 *   CHAR/VARCHAR       1-byte length when the maximum byte length is below 256, else 2;
 *                      text in a non-UTF-8 character set is converted to UTF-8 (charset.h);
 *                      BINARY(n) comes without its trailing zero bytes and gets them back
 *   BLOB-likes         a 1-4 byte little-endian length (the pack length), then the bytes
 *   ENUM, SET          the index / bit mask in the pack length's bytes, little-endian
 *   BIT(n)             (n + 7) / 8 bytes big-endian
 * Fraction bytes: fsp 1-2 one byte (hundredths), 3-4 two bytes (1/10000 s), 5-6 three
 * bytes (microseconds), big-endian. A negative TIME2 with 1-4 fraction bytes stores the
 * integer part one lower and the fraction as its complement (0x100 - f, 0x10000 - f). */
#include "fl-relay/coltypes.h"

#include <inttypes.h>
#include <stdarg.h>
#include <mysql.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/json_text.h"
#include "fl-relay/charset.h"
#include "fl-relay/decimal.h"
#include "fl-relay/events.h"
#include "fl-relay/json_binary.h"
#include "journal/record.h"

/* ---- errors ---- */

static void type_name(const fl_column_meta *m, char *buf, size_t len)
{
    const char *u = m->is_unsigned ? " UNSIGNED" : "";
    switch (m->type) {
    case MYSQL_TYPE_TINY: snprintf(buf, len, "TINYINT%s", u); return;
    case MYSQL_TYPE_SHORT: snprintf(buf, len, "SMALLINT%s", u); return;
    case MYSQL_TYPE_INT24: snprintf(buf, len, "MEDIUMINT%s", u); return;
    case MYSQL_TYPE_LONG: snprintf(buf, len, "INT%s", u); return;
    case MYSQL_TYPE_LONGLONG: snprintf(buf, len, "BIGINT%s", u); return;
    case MYSQL_TYPE_FLOAT: snprintf(buf, len, "FLOAT"); return;
    case MYSQL_TYPE_DOUBLE: snprintf(buf, len, "DOUBLE"); return;
    case MYSQL_TYPE_DECIMAL: snprintf(buf, len, "DECIMAL (pre-5.0)"); return;
    case MYSQL_TYPE_NEWDECIMAL: snprintf(buf, len, "DECIMAL(%u,%u)", m->meta >> 8, m->meta & 0xff); return;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE: snprintf(buf, len, "DATE"); return;
    case MYSQL_TYPE_TIME: snprintf(buf, len, "TIME"); return;
    case MYSQL_TYPE_TIME2: snprintf(buf, len, "TIME(%u)", m->meta); return;
    case MYSQL_TYPE_DATETIME: snprintf(buf, len, "DATETIME"); return;
    case MYSQL_TYPE_DATETIME2: snprintf(buf, len, "DATETIME(%u)", m->meta); return;
    case MYSQL_TYPE_TIMESTAMP: snprintf(buf, len, "TIMESTAMP"); return;
    case MYSQL_TYPE_TIMESTAMP2: snprintf(buf, len, "TIMESTAMP(%u)", m->meta); return;
    case MYSQL_TYPE_YEAR: snprintf(buf, len, "YEAR"); return;
    case MYSQL_TYPE_VARCHAR: snprintf(buf, len, "VARCHAR"); return;
    case MYSQL_TYPE_BIT: snprintf(buf, len, "BIT(%u)", m->meta); return;
    case MYSQL_TYPE_JSON: snprintf(buf, len, "JSON"); return;
    case MYSQL_TYPE_ENUM: snprintf(buf, len, "ENUM"); return;
    case MYSQL_TYPE_SET: snprintf(buf, len, "SET"); return;
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB: snprintf(buf, len, "BLOB"); return;
    case MYSQL_TYPE_GEOMETRY: snprintf(buf, len, "GEOMETRY"); return;
    case MYSQL_TYPE_NULL: snprintf(buf, len, "NULL"); return;
    case FL_MYSQL_TYPE_VECTOR: snprintf(buf, len, "VECTOR"); return;
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_VAR_STRING:
        snprintf(buf, len, "%s",
                 m->real_type == MYSQL_TYPE_ENUM  ? "ENUM"
                 : m->real_type == MYSQL_TYPE_SET ? "SET"
                                                  : "CHAR");
        return;
    default: snprintf(buf, len, "MYSQL_TYPE %u", m->type); return;
    }
}

static int col_fail(const fl_column_meta *m, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int col_fail(const fl_column_meta *m, char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen) return -1;
    char tn[48], where[160];
    type_name(m, tn, sizeof tn);
    if (m->name)
        snprintf(where, sizeof where, "column `%s` (%s): ", m->name, tn);
    else
        snprintf(where, sizeof where, "column of type %s: ", tn);
    va_list ap;
    va_start(ap, fmt);
    fl_verrorf(err, errlen, where, fmt, ap);
    va_end(ap);
    return -1;
}

#define NEED(n)                                                                                                   \
    do {                                                                                                          \
        if (len < (size_t)(n))                                                                                    \
            return col_fail(m, err, errlen, "truncated (needs %zu bytes, %zu left)", (size_t)(n), len);           \
    } while (0)

/* ---- byte helpers ---- */

static uint64_t le(const uint8_t *p, size_t n) { return fl_le(p, (int)n); }

static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

static void set_text(fl_value *out, fl_value_type t, fl_arena *arena, const char *s, size_t n)
{
    out->type = (uint8_t)t;
    out->s.ptr = fl_arena_strndup(arena, s, n);
    out->s.len = (uint32_t)n;
}

static void set_bytes(fl_value *out, fl_value_type t, const uint8_t *p, size_t n)
{
    out->type = (uint8_t)t;
    out->s.ptr = (const char *)p;
    out->s.len = (uint32_t)n;
}

/* A string column's bytes: binary stays bytes; text that is the same in UTF-8 (UTF-8 text,
 * ASCII in latin1) points into the row image; other text is converted to UTF-8 (into the
 * arena). */
static void set_string(const fl_column_meta *m, fl_value *out, fl_arena *arena, const uint8_t *p, size_t n)
{
    if (m->is_binary) {
        set_bytes(out, FL_VAL_BINARY, p, n);
    } else if (fl_charset_same_in_utf8(m->charset, (const char *)p, n)) {
        set_bytes(out, FL_VAL_STRING, p, n);
    } else {
        const char *u;
        size_t ul;
        fl_charset_to_utf8(m->charset, (const char *)p, n, arena, &u, &ul);
        set_bytes(out, FL_VAL_STRING, (const uint8_t *)u, ul);
    }
}

/* ---- numbers ---- */

static int decode_int(const fl_column_meta *m, const uint8_t *data, size_t len, size_t n, fl_value *out,
                      size_t *used, char *err, size_t errlen)
{
    NEED(n);
    uint64_t v = le(data, n);
    if (m->is_unsigned) {
        out->type = FL_VAL_UINT;
        out->u = v;
    } else {
        out->type = FL_VAL_INT;
        if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~(uint64_t)0 << (8 * n); /* sign-extend */
        out->i = (int64_t)v;
    }
    *used = n;
    return 0;
}

/* Binary decimal (decimal.h) to its exact text. */
static int decode_newdecimal(const fl_column_meta *m, const uint8_t *data, size_t len, fl_arena *arena,
                             fl_value *out, size_t *used, char *err, size_t errlen)
{
    unsigned prec = m->meta >> 8, scale = m->meta & 0xff;
    size_t size = fl_decimal_bin_size(prec, scale);
    if (!size) return col_fail(m, err, errlen, "bad precision/scale %u,%u in the table map", prec, scale);
    NEED(size);
    char text[FL_DECIMAL_TEXT_MAX];
    uint32_t bad;
    int n = fl_decimal_to_text(data, prec, scale, text, &bad);
    if (n < 0) return col_fail(m, err, errlen, "invalid decimal digits (group value %u)", bad);
    set_text(out, FL_VAL_DECIMAL, arena, text, (size_t)n);
    *used = size;
    return 0;
}

/* ---- temporal ---- */

/* Fraction bytes of TIME2/DATETIME2/TIMESTAMP2 for fsp digits. */
static size_t frac_bytes(unsigned fsp) { return (fsp + 1) / 2; }

/* Writes v in decimal, zero-padded to at least minw digits (like "%0*u"); returns the end. */
static char *put_num(char *p, unsigned v, int minw)
{
    char t[12];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < minw) t[n++] = '0';
    while (n) *p++ = t[--n];
    return p;
}

/* "YYYY-MM-DD" */
static char *put_date(char *p, unsigned y, unsigned mo, unsigned d)
{
    p = put_num(p, y, 4);
    *p++ = '-';
    p = put_num(p, mo, 2);
    *p++ = '-';
    return put_num(p, d, 2);
}

/* "HH:MM:SS" (more hour digits when needed, for TIME) */
static char *put_hms(char *p, unsigned h, unsigned mi, unsigned sec)
{
    p = put_num(p, h, 2);
    *p++ = ':';
    p = put_num(p, mi, 2);
    *p++ = ':';
    return put_num(p, sec, 2);
}

/* "." and the first fsp digits of the microseconds */
static char *put_frac(char *p, unsigned fsp, uint32_t usec)
{
    if (!fsp) return p;
    char d[6];
    put_num(d, usec % 1000000, 6);
    *p++ = '.';
    memcpy(p, d, fsp);
    return p + fsp;
}

static int decode_timestamp(uint64_t secs, unsigned fsp, uint32_t usec, fl_arena *arena, fl_value *out)
{
    char s[48], *e = s;
    if (secs == 0 && usec == 0) {
        e = put_date(e, 0, 0, 0);
        *e++ = ' ';
        e = put_hms(e, 0, 0, 0);
    } else {
        time_t t = (time_t)secs;
        struct tm tm;
        gmtime_r(&t, &tm);
        e = put_date(e, (unsigned)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
        *e++ = ' ';
        e = put_hms(e, (unsigned)tm.tm_hour, (unsigned)tm.tm_min, (unsigned)tm.tm_sec);
    }
    e = put_frac(e, fsp, usec);
    set_text(out, FL_VAL_TIMESTAMP, arena, s, (size_t)(e - s));
    return 0;
}

/* Field ranges every server keeps (zero dates and zero parts allowed). A value outside them
 * is not a value of this type: corrupt data, or a layout the table map does not describe. */
static bool valid_date(unsigned y, unsigned mo, unsigned d) { return y <= 9999 && mo <= 12 && d <= 31; }
static bool valid_hms(unsigned h, unsigned mi, unsigned sec, unsigned hmax)
{
    return h <= hmax && mi <= 59 && sec <= 59;
}

static int temporal_range_fail(const fl_column_meta *m, char *err, size_t errlen)
{
    /* MariaDB logs its pre-10.1 fractional-second columns (mysql56_temporal_format=OFF)
     * under the classic type codes without saying how many fraction bytes follow */
    bool classic = m->type == MYSQL_TYPE_TIME || m->type == MYSQL_TYPE_DATETIME;
    return col_fail(m, err, errlen, "value out of range%s",
                    classic && m->flavor == FL_FLAVOR_MARIADB
                        ? " (if the column has fractional seconds in MariaDB's old format, "
                          "mysql56_temporal_format=OFF, the binlog cannot be decoded)"
                        : "");
}

static int decode_temporal(const fl_column_meta *m, const uint8_t *data, size_t len, fl_arena *arena,
                           fl_value *out, size_t *used, char *err, size_t errlen)
{
    char s[48], *e = s;
    unsigned fsp = m->meta;
    switch (m->type) {
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE: {
        NEED(3);
        uint32_t v = (uint32_t)le(data, 3);
        if (!valid_date(v >> 9, (v >> 5) & 15, v & 31)) return temporal_range_fail(m, err, errlen);
        e = put_date(e, v >> 9, (v >> 5) & 15, v & 31);
        set_text(out, FL_VAL_DATE, arena, s, (size_t)(e - s));
        *used = 3;
        return 0;
    }
    case MYSQL_TYPE_TIME: {
        NEED(3);
        int32_t v = (int32_t)le(data, 3);
        if (v & 0x800000) v -= 0x1000000;
        uint32_t a = v < 0 ? (uint32_t)-v : (uint32_t)v;
        if (!valid_hms(a / 10000, a / 100 % 100, a % 100, 838)) return temporal_range_fail(m, err, errlen);
        if (v < 0) *e++ = '-';
        e = put_hms(e, a / 10000, a / 100 % 100, a % 100);
        set_text(out, FL_VAL_TIME, arena, s, (size_t)(e - s));
        *used = 3;
        return 0;
    }
    case MYSQL_TYPE_DATETIME: {
        NEED(8);
        uint64_t v = le(data, 8);
        uint64_t d = v / 1000000, t = v % 1000000;
        if (d > 99991231 || !valid_date((unsigned)(d / 10000), (unsigned)(d / 100 % 100), (unsigned)(d % 100)) ||
            !valid_hms((unsigned)(t / 10000), (unsigned)(t / 100 % 100), (unsigned)(t % 100), 23))
            return temporal_range_fail(m, err, errlen);
        e = put_date(e, (unsigned)(d / 10000 % 10000), (unsigned)(d / 100 % 100), (unsigned)(d % 100));
        *e++ = ' ';
        e = put_hms(e, (unsigned)(t / 10000), (unsigned)(t / 100 % 100), (unsigned)(t % 100));
        set_text(out, FL_VAL_DATETIME, arena, s, (size_t)(e - s));
        *used = 8;
        return 0;
    }
    case MYSQL_TYPE_TIMESTAMP: {
        NEED(4);
        *used = 4;
        return decode_timestamp(le(data, 4), 0, 0, arena, out);
    }
    default: break;
    }

    /* fractional types */
    if (fsp > 6) return col_fail(m, err, errlen, "fraction digits %u out of range 0..6", fsp);
    size_t fb = frac_bytes(fsp);
    switch (m->type) {
    case MYSQL_TYPE_TIMESTAMP2: {
        NEED(4 + fb);
        uint64_t secs = be(data, 4);
        uint32_t f = (uint32_t)be(data + 4, fb);
        uint32_t usec = fb == 1 ? f * 10000 : fb == 2 ? f * 100 : f;
        if (usec > 999999) return col_fail(m, err, errlen, "fraction %u out of range", f);
        *used = 4 + fb;
        return decode_timestamp(secs, fsp, usec, arena, out);
    }
    case MYSQL_TYPE_DATETIME2: {
        NEED(5 + fb);
        int64_t ip = (int64_t)be(data, 5) - 0x8000000000LL;
        uint32_t f = (uint32_t)be(data + 5, fb);
        uint32_t usec = fb == 1 ? f * 10000 : fb == 2 ? f * 100 : f;
        if (ip < 0 || usec > 999999) return col_fail(m, err, errlen, "value out of range");
        uint64_t ymdhms = (uint64_t)ip;
        uint64_t ymd = ymdhms >> 17, hms = ymdhms & 0x1ffff;
        uint64_t ym = ymd >> 5;
        if (!valid_date((unsigned)(ym / 13), (unsigned)(ym % 13), (unsigned)(ymd & 31)) ||
            !valid_hms((unsigned)(hms >> 12), (unsigned)((hms >> 6) & 63), (unsigned)(hms & 63), 23))
            return temporal_range_fail(m, err, errlen);
        e = put_date(e, (unsigned)(ym / 13), (unsigned)(ym % 13), (unsigned)(ymd & 31));
        *e++ = ' ';
        e = put_hms(e, (unsigned)(hms >> 12), (unsigned)((hms >> 6) & 63), (unsigned)(hms & 63));
        e = put_frac(e, fsp, usec);
        set_text(out, FL_VAL_DATETIME, arena, s, (size_t)(e - s));
        *used = 5 + fb;
        return 0;
    }
    case MYSQL_TYPE_TIME2: {
        NEED(3 + fb);
        int64_t ip = (int64_t)be(data, 3) - 0x800000;
        int64_t packed; /* (integer part << 24) + microseconds, signed */
        if (fb == 0) {
            packed = ip * (1LL << 24);
        } else if (fb == 1) {
            int64_t f = data[3]; /* unsigned: negative values keep it as 0x100 - frac */
            if (ip < 0 && f) {
                ip++;
                f -= 0x100;
            }
            packed = ip * (1LL << 24) + f * 10000;
        } else if (fb == 2) {
            int64_t f = (int64_t)be(data + 3, 2);
            if (ip < 0 && f) {
                ip++;
                f -= 0x10000;
            }
            packed = ip * (1LL << 24) + f * 100;
        } else {
            packed = (int64_t)be(data, 6) - 0x800000000000LL;
        }
        bool neg = packed < 0;
        uint64_t a = neg ? (uint64_t)-packed : (uint64_t)packed;
        uint64_t hms = a >> 24;
        uint32_t usec = (uint32_t)(a & 0xffffff);
        if (usec > 999999) return col_fail(m, err, errlen, "fraction out of range");
        if (hms >> 12 > 838 ||
            !valid_hms((unsigned)(hms >> 12), (unsigned)((hms >> 6) & 63), (unsigned)(hms & 63), 838))
            return temporal_range_fail(m, err, errlen);
        if (neg) *e++ = '-';
        e = put_hms(e, (unsigned)(hms >> 12), (unsigned)((hms >> 6) & 63), (unsigned)(hms & 63));
        e = put_frac(e, fsp, usec);
        set_text(out, FL_VAL_TIME, arena, s, (size_t)(e - s));
        *used = 3 + fb;
        return 0;
    }
    default: return col_fail(m, err, errlen, "not a temporal type");
    }
}

/* ---- strings and the like ---- */

/* A length prefix of n bytes, little-endian, then that many bytes. */
static int length_prefixed(const fl_column_meta *m, const uint8_t *data, size_t len, size_t n, const uint8_t **p,
                           size_t *plen, size_t *used, char *err, size_t errlen)
{
    if (n < 1 || n > 4) return col_fail(m, err, errlen, "bad length size %zu in the table map", n);
    NEED(n);
    uint64_t l = le(data, n);
    if (l > len - n)
        return col_fail(m, err, errlen, "truncated (value of %" PRIu64 " bytes, %zu left)", l, len - n);
    *p = data + n;
    *plen = (size_t)l;
    *used = n + (size_t)l;
    return 0;
}

static int decode_enum(const fl_column_meta *m, const uint8_t *data, size_t len, fl_arena *arena, fl_value *out,
                       size_t *used, char *err, size_t errlen)
{
    size_t n = m->meta;
    if (n != 1 && n != 2) return col_fail(m, err, errlen, "bad pack length %zu in the table map", n);
    NEED(n);
    uint64_t idx = le(data, n);
    *used = n;
    if (!m->labels) {
        out->type = FL_VAL_ENUM_INDEX;
        out->u = idx;
        return 0;
    }
    if (idx > m->nlabels)
        return col_fail(m, err, errlen, "index %" PRIu64 " beyond its %u labels", idx, m->nlabels);
    /* index 0 is the empty string MySQL stores for an invalid value. The label is copied:
     * the table map that owns it may be replaced before the transaction is done. */
    const char *label = idx ? m->labels[idx - 1] : "";
    set_text(out, FL_VAL_ENUM, arena, label, strlen(label));
    return 0;
}

static int decode_set(const fl_column_meta *m, const uint8_t *data, size_t len, fl_arena *arena, fl_value *out,
                      size_t *used, char *err, size_t errlen)
{
    size_t n = m->meta;
    if (n < 1 || n > 8) return col_fail(m, err, errlen, "bad pack length %zu in the table map", n);
    NEED(n);
    uint64_t bits = le(data, n);
    *used = n;
    if (!m->labels) {
        out->type = FL_VAL_SET_BITS;
        out->u = bits;
        return 0;
    }
    if (m->nlabels < 64 && bits >> m->nlabels)
        return col_fail(m, err, errlen, "bit mask 0x%" PRIx64 " beyond its %u labels", bits, m->nlabels);
    size_t total = 0;
    for (uint32_t i = 0; i < m->nlabels && i < 64; i++)
        if (bits >> i & 1) total += strlen(m->labels[i]) + 1;
    char *s = fl_arena_alloc(arena, total + 1);
    size_t k = 0;
    for (uint32_t i = 0; i < m->nlabels && i < 64; i++) {
        if (!(bits >> i & 1)) continue;
        if (k) s[k++] = ',';
        size_t l = strlen(m->labels[i]);
        memcpy(s + k, m->labels[i], l);
        k += l;
    }
    s[k] = 0;
    out->type = FL_VAL_SET;
    out->s.ptr = s;
    out->s.len = (uint32_t)k;
    return 0;
}

static int decode_json(const fl_column_meta *m, const uint8_t *data, size_t len, fl_arena *arena, fl_value *out,
                       size_t *used, char *err, size_t errlen)
{
    const uint8_t *p;
    size_t n;
    if (length_prefixed(m, data, len, m->meta, &p, &n, used, err, errlen) < 0) return -1;
    if (m->is_json_text) {
        set_string(m, out, arena, p, n);
        return 0;
    }
    fl_buf text = {0};
    char why[160];
    if (fl_json_binary_to_text(p, n, &text, why, sizeof why) < 0) {
        fl_buf_free(&text);
        return col_fail(m, err, errlen, "%s", why);
    }
    set_text(out, FL_VAL_JSON, arena, (const char *)text.data, text.len);
    fl_buf_free(&text);
    return 0;
}

int fl_column_decode(const fl_column_meta *m, const uint8_t *data, size_t len, fl_arena *arena, fl_value *out,
                     size_t *used, char *err, size_t errlen)
{
    const uint8_t *p;
    size_t n;
    memset(out, 0, sizeof(*out));
    switch (m->type) {
    case MYSQL_TYPE_TINY: return decode_int(m, data, len, 1, out, used, err, errlen);
    case MYSQL_TYPE_SHORT: return decode_int(m, data, len, 2, out, used, err, errlen);
    case MYSQL_TYPE_INT24: return decode_int(m, data, len, 3, out, used, err, errlen);
    case MYSQL_TYPE_LONG: return decode_int(m, data, len, 4, out, used, err, errlen);
    case MYSQL_TYPE_LONGLONG: return decode_int(m, data, len, 8, out, used, err, errlen);
    case MYSQL_TYPE_FLOAT: {
        NEED(4);
        uint32_t bits = (uint32_t)le(data, 4);
        float f;
        memcpy(&f, &bits, 4);
        out->type = FL_VAL_FLOAT;
        out->d = f;
        *used = 4;
        return 0;
    }
    case MYSQL_TYPE_DOUBLE: {
        NEED(8);
        uint64_t bits = le(data, 8);
        memcpy(&out->d, &bits, 8);
        out->type = FL_VAL_DOUBLE;
        *used = 8;
        return 0;
    }
    case MYSQL_TYPE_NEWDECIMAL: return decode_newdecimal(m, data, len, arena, out, used, err, errlen);
    case MYSQL_TYPE_DECIMAL:
        return col_fail(m, err, errlen, "the binlog does not record this type's length; cannot decode");
    case MYSQL_TYPE_YEAR:
        NEED(1);
        out->type = FL_VAL_YEAR;
        out->i = data[0] ? 1900 + data[0] : 0;
        *used = 1;
        return 0;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_TIME2:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_DATETIME2:
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIMESTAMP2: return decode_temporal(m, data, len, arena, out, used, err, errlen);
    case MYSQL_TYPE_NULL:
        out->type = FL_VAL_NULL;
        *used = 0;
        return 0;
    case MYSQL_TYPE_VARCHAR:
        if (length_prefixed(m, data, len, m->meta < 256 ? 1 : 2, &p, &n, used, err, errlen) < 0) return -1;
        set_string(m, out, arena, p, n);
        return 0;
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_VAR_STRING:
        if (m->real_type == MYSQL_TYPE_ENUM) return decode_enum(m, data, len, arena, out, used, err, errlen);
        if (m->real_type == MYSQL_TYPE_SET) return decode_set(m, data, len, arena, out, used, err, errlen);
        if (length_prefixed(m, data, len, m->meta < 256 ? 1 : 2, &p, &n, used, err, errlen) < 0) return -1;
        if (m->is_binary && n < m->meta) {
            /* BINARY(n) is logged without its trailing zero bytes; the value has them */
            uint8_t *pad = fl_arena_alloc(arena, m->meta);
            memcpy(pad, p, n);
            memset(pad + n, 0, m->meta - n);
            set_bytes(out, FL_VAL_BINARY, pad, m->meta);
            return 0;
        }
        set_string(m, out, arena, p, n);
        return 0;
    case MYSQL_TYPE_ENUM: return decode_enum(m, data, len, arena, out, used, err, errlen);
    case MYSQL_TYPE_SET: return decode_set(m, data, len, arena, out, used, err, errlen);
    case MYSQL_TYPE_BIT: {
        unsigned bits = m->meta;
        if (bits < 1 || bits > 64) return col_fail(m, err, errlen, "bad bit count %u in the table map", bits);
        n = (bits + 7) / 8;
        NEED(n);
        out->type = FL_VAL_BIT;
        out->u = be(data, n);
        *used = n;
        return 0;
    }
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
        if (length_prefixed(m, data, len, m->meta, &p, &n, used, err, errlen) < 0) return -1;
        set_string(m, out, arena, p, n);
        /* MariaDB's JSON: text the schema says holds documents; anything else stays text. */
        if (m->json_document && out->type == FL_VAL_STRING && fl_json_text_valid(out->s.ptr, out->s.len))
            out->type = FL_VAL_JSON;
        return 0;
    case MYSQL_TYPE_GEOMETRY:
        if (length_prefixed(m, data, len, m->meta, &p, &n, used, err, errlen) < 0) return -1;
        set_bytes(out, FL_VAL_GEOMETRY, p, n);
        return 0;
    case FL_MYSQL_TYPE_VECTOR:
        if (length_prefixed(m, data, len, m->meta, &p, &n, used, err, errlen) < 0) return -1;
        if (n % 4) return col_fail(m, err, errlen, "length %zu is not a multiple of 4", n);
        set_bytes(out, FL_VAL_VECTOR, p, n);
        return 0;
    case MYSQL_TYPE_JSON: return decode_json(m, data, len, arena, out, used, err, errlen);
    default: return col_fail(m, err, errlen, "unknown column type");
    }
}

/* An integer cell of n bytes, as fl_column_decode reads it. */
static void encode_int(const fl_column_meta *m, const uint8_t *data, size_t n, fl_buf *out)
{
    uint64_t v = le(data, n);
    if (m->is_unsigned) {
        fl_record_put_uint(out, v);
        return;
    }
    if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~(uint64_t)0 << (8 * n); /* sign-extend */
    fl_record_put_int(out, (int64_t)v);
}

int fl_column_encode(const fl_column_meta *m, const uint8_t *data, size_t len, fl_arena *arena, fl_buf *out,
                     size_t *used, char *err, size_t errlen)
{
    size_t n = 0;
    switch (m->type) {
    case MYSQL_TYPE_TINY: n = 1; break;
    case MYSQL_TYPE_SHORT: n = 2; break;
    case MYSQL_TYPE_INT24: n = 3; break;
    case MYSQL_TYPE_LONG: n = 4; break;
    case MYSQL_TYPE_LONGLONG: n = 8; break;
    case MYSQL_TYPE_VARCHAR: {
        const uint8_t *p;
        size_t plen, lenlen = m->meta < 256 ? 1 : 2;
        if (len < lenlen) break; /* fl_column_decode says why */
        plen = (size_t)le(data, lenlen);
        if (plen > len - lenlen) break;
        p = data + lenlen;
        if (m->is_binary) {
            fl_record_put_bytes(out, FL_VAL_BINARY, p, plen);
        } else if (fl_charset_same_in_utf8(m->charset, (const char *)p, plen)) {
            fl_record_put_bytes(out, FL_VAL_STRING, p, plen);
        } else {
            break;
        }
        *used = lenlen + plen;
        return 0;
    }
    default: break;
    }
    if (n && len >= n) {
        encode_int(m, data, n, out);
        *used = n;
        return 0;
    }
    fl_value v;
    if (fl_column_decode(m, data, len, arena, &v, used, err, errlen) != 0) return -1;
    fl_record_put_value(out, &v);
    return 0;
}
