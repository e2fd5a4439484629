/* record.c — the journal record codec: one transaction (common/txn.h) <-> bytes.
 *
 * A record (version 1). Varints are LEB128 and always minimal; a "string" is a varint
 * length followed by that many bytes.
 *
 *   0xF1 (magic), version, varint length of the whole record (checksum included)
 *   header   varint flags, varint part, gtid, varint ts, varint server_id, string file,
 *            varint pos
 *            gtid: byte flavor, then MariaDB: varint domain, varint server_id, varint seq_no
 *                                    MySQL: 16 bytes uuid, string tag ("" untagged), varint gno
 *   tables   varint count, then per table: string db, string name, varint ncols, and per
 *            column a varint 0 when the name is unknown, else its length + 1 and the bytes
 *   snapshot only with the SNAPSHOT flag (a chunk of a table snapshot): varint index of the
 *            snapshotted table in this record's table list, varint chunk number. Records
 *            without the flag have no such field, so older records read as before. With
 *            SNAPSHOT_KEYS too (never with SNAPSHOT_LAST) the chunk is a batch of requested
 *            keys, numbered per request.
 *   changes  varint count, then per change: byte op, and
 *              insert/update/delete/snapshot: varint table index into this record's table
 *                list, then the before image (update, delete) and the after image (insert,
 *                update, snapshot; a snapshot change only in a record with the SNAPSHOT flag),
 *                each one value per column of the table: byte type, payload
 *              ddl/statement: string db, string sql
 *   u32le    CRC-32C of every byte before it
 *
 * Value payloads: nothing for ABSENT, NULL and UNKNOWN (a type added later: records without
 * it read as before); a zigzag varint for INT and YEAR; a varint
 * for UINT, ENUM_INDEX, SET_BITS and BIT; IEEE bits little-endian, 4 bytes for FLOAT and
 * 8 for DOUBLE; a string for every type whose value is bytes. A DATE, DATETIME, TIMESTAMP or
 * TIME in its canonical text is packed instead (type byte | 0x80, then varints):
 *   DATE      (year * 13 + month) * 32 + day
 *   DATETIME  ((((date * 24 + hour) * 60 + minute) * 60 + second) * 7 + fraction digits,
 *   TIMESTAMP   then the fraction as a number when it has digits
 *   TIME      ((((hours * 60 + minute) * 60 + second) * 7 + fraction digits) * 2 + negative,
 *             then the fraction as a number when it has digits
 * A typical DATETIME takes 7 bytes instead of 21. Text that is not canonical (zero dates
 * are; out-of-range fields are not) is stored as a string, so it comes back unchanged.
 *
 * The decoder trusts nothing. It checks magic, version, length and checksum first, then
 * every count against the bytes left before allocating anything for it (each table, column,
 * change and value takes at least one byte), every index, op and type, and that the
 * encoding is canonical (minimal varints, known flags, SNAPSHOT_LAST only with SNAPSHOT, no
 * duplicate tables, quiet NaNs),
 * so a record that decodes re-encodes to exactly the same bytes. */
#include "journal/record.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "common/error.h"

#define RECORD_MAGIC 0xF1
#define OP_ANNOTATED 0x80 /* on a row change's op byte: a statement annotation follows the table */
#define TXN_KNOWN_FLAGS                                                                                           \
    (FL_TXN_LAST_PART | FL_TXN_STATEMENT | FL_TXN_XA | FL_TXN_SNAPSHOT | FL_TXN_SNAPSHOT_LAST |                   \
     FL_TXN_SNAPSHOT_KEYS)

/* ---- encoding ---- */

/* How a value type is encoded. */
enum payload { PAY_NONE, PAY_ZIGZAG, PAY_VARINT, PAY_F32, PAY_F64, PAY_BYTES };

static const uint8_t payload_of[FL_VAL_TYPE_COUNT] = {
    [FL_VAL_ABSENT] = PAY_NONE,     [FL_VAL_NULL] = PAY_NONE,    [FL_VAL_INT] = PAY_ZIGZAG,
    [FL_VAL_UINT] = PAY_VARINT,     [FL_VAL_FLOAT] = PAY_F32,    [FL_VAL_DOUBLE] = PAY_F64,
    [FL_VAL_DECIMAL] = PAY_BYTES,   [FL_VAL_DATE] = PAY_BYTES,   [FL_VAL_DATETIME] = PAY_BYTES,
    [FL_VAL_TIMESTAMP] = PAY_BYTES, [FL_VAL_TIME] = PAY_BYTES,   [FL_VAL_YEAR] = PAY_ZIGZAG,
    [FL_VAL_STRING] = PAY_BYTES,    [FL_VAL_BINARY] = PAY_BYTES, [FL_VAL_GEOMETRY] = PAY_BYTES,
    [FL_VAL_ENUM] = PAY_BYTES,      [FL_VAL_SET] = PAY_BYTES,    [FL_VAL_ENUM_INDEX] = PAY_VARINT,
    [FL_VAL_SET_BITS] = PAY_VARINT, [FL_VAL_BIT] = PAY_VARINT,   [FL_VAL_JSON] = PAY_BYTES,
    [FL_VAL_VECTOR] = PAY_BYTES,    [FL_VAL_UNKNOWN] = PAY_NONE,
};

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

static void put_bytes(fl_buf *out, const void *p, size_t n)
{
    fl_buf_put_varint(out, n);
    fl_buf_put(out, p, n);
}

static void put_str(fl_buf *out, const char *s) { put_bytes(out, s ? s : "", s ? strlen(s) : 0); }

/* A transaction the decoder would refuse is a bug in the program that built it; writing it
 * would put an unreadable record in the journal, so the encoder stops instead. */
static void invalid(const char *what, unsigned long long v)
{
    fprintf(stderr, "fastlane: record encode: invalid %s %llu\n", what, v);
    abort();
}

/* ---- temporal values, packed ---- */

#define PACKED 0x80 /* type byte flag: the value is a packed temporal */
#define TIME_HOURS_MAX 838

typedef struct when {
    uint32_t year, month, day, hour, minute, second, fsp, frac;
    bool neg;
} when;

static bool is_temporal(uint8_t type)
{
    return type == FL_VAL_DATE || type == FL_VAL_DATETIME || type == FL_VAL_TIMESTAMP || type == FL_VAL_TIME;
}

static const uint32_t pow10_u32[7] = {1, 10, 100, 1000, 10000, 100000, 1000000};

/* Writes v as exactly width digits (zero-padded; width must hold it). */
static char *digits(char *p, uint32_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

/* The canonical text of a valid w for type; buf holds at least 32 bytes. */
static size_t when_format(uint8_t type, const when *w, char *buf)
{
    char *p = buf;
    if (type == FL_VAL_TIME) {
        if (w->neg) *p++ = '-';
        p = digits(p, w->hour, w->hour > 99 ? 3 : 2);
    } else {
        p = digits(p, w->year, 4);
        *p++ = '-';
        p = digits(p, w->month, 2);
        *p++ = '-';
        p = digits(p, w->day, 2);
        if (type == FL_VAL_DATE) return (size_t)(p - buf);
        *p++ = ' ';
        p = digits(p, w->hour, 2);
    }
    *p++ = ':';
    p = digits(p, w->minute, 2);
    *p++ = ':';
    p = digits(p, w->second, 2);
    if (w->fsp) {
        *p++ = '.';
        p = digits(p, w->frac, (int)w->fsp);
    }
    return (size_t)(p - buf);
}

static bool when_valid(uint8_t type, const when *w)
{
    if (w->fsp > 6 || w->frac >= pow10_u32[w->fsp] || w->minute > 59 || w->second > 59) return false;
    if (type == FL_VAL_TIME) return w->hour <= TIME_HOURS_MAX;
    return w->year <= 9999 && w->month <= 12 && w->day <= 31 && w->hour <= 23;
}

/* Reads an unsigned decimal number of 1 to max digits from s[*i]. */
static bool number(const char *s, size_t n, size_t *i, size_t max, uint32_t *out)
{
    uint32_t v = 0;
    size_t k = 0;
    while (*i < n && k < max && s[*i] >= '0' && s[*i] <= '9') {
        v = v * 10 + (uint32_t)(s[*i] - '0');
        (*i)++;
        k++;
    }
    *out = v;
    return k > 0;
}

static bool expect(const char *s, size_t n, size_t *i, char c)
{
    if (*i >= n || s[*i] != c) return false;
    (*i)++;
    return true;
}

/* True when s is the canonical text of a temporal value of this type (then w holds it). */
static bool when_parse(uint8_t type, const char *s, size_t n, when *w)
{
    memset(w, 0, sizeof *w);
    if (n > 31) return false;
    size_t i = 0;
    if (type == FL_VAL_TIME) {
        w->neg = i < n && s[i] == '-';
        if (w->neg) i++;
        if (!number(s, n, &i, 3, &w->hour)) return false;
    } else {
        if (!number(s, n, &i, 4, &w->year) || !expect(s, n, &i, '-') || !number(s, n, &i, 2, &w->month) ||
            !expect(s, n, &i, '-') || !number(s, n, &i, 2, &w->day))
            return false;
        if (type != FL_VAL_DATE && (!expect(s, n, &i, ' ') || !number(s, n, &i, 2, &w->hour))) return false;
    }
    if (type != FL_VAL_DATE) {
        if (!expect(s, n, &i, ':') || !number(s, n, &i, 2, &w->minute) || !expect(s, n, &i, ':') ||
            !number(s, n, &i, 2, &w->second))
            return false;
        if (i < n && s[i] == '.') {
            size_t start = ++i;
            if (!number(s, n, &i, 6, &w->frac)) return false;
            w->fsp = (uint32_t)(i - start);
        }
    }
    if (i != n || !when_valid(type, w)) return false;
    char buf[32];
    return when_format(type, w, buf) == n && memcmp(buf, s, n) == 0;
}

static uint64_t when_pack(uint8_t type, const when *w)
{
    uint64_t date = ((uint64_t)w->year * 13 + w->month) * 32 + w->day;
    if (type == FL_VAL_DATE) return date;
    uint64_t clock = (type == FL_VAL_TIME ? w->hour : date * 24 + w->hour) * 60 + w->minute;
    uint64_t v = (clock * 60 + w->second) * 7 + w->fsp;
    return type == FL_VAL_TIME ? v * 2 + w->neg : v;
}

/* Unpacks v; false when a field is out of range. */
static bool when_unpack(uint8_t type, uint64_t v, when *w)
{
    memset(w, 0, sizeof *w);
    if (type == FL_VAL_TIME) {
        w->neg = v & 1;
        v >>= 1;
    }
    if (type != FL_VAL_DATE) {
        w->fsp = (uint32_t)(v % 7);
        v /= 7;
        w->second = (uint32_t)(v % 60);
        v /= 60;
        w->minute = (uint32_t)(v % 60);
        v /= 60;
        if (type == FL_VAL_TIME) {
            if (v > TIME_HOURS_MAX) return false;
            w->hour = (uint32_t)v;
            return true;
        }
        w->hour = (uint32_t)(v % 24);
        v /= 24;
    }
    w->day = (uint32_t)(v % 32);
    v /= 32;
    w->month = (uint32_t)(v % 13);
    v /= 13;
    if (v > 9999) return false;
    w->year = (uint32_t)v;
    return true;
}

void fl_record_put_value(fl_buf *out, const fl_value *v)
{
    if (v->type >= FL_VAL_TYPE_COUNT) invalid("value type", v->type);
    enum payload pay = (enum payload)payload_of[v->type];
    when w;
    if (pay == PAY_BYTES && is_temporal(v->type) && when_parse(v->type, v->s.ptr, v->s.len, &w)) {
        fl_buf_putc(out, v->type | PACKED);
        fl_buf_put_varint(out, when_pack(v->type, &w));
        if (w.fsp) fl_buf_put_varint(out, w.frac);
        return;
    }
    fl_buf_reserve(out, 1 + 10); /* the type and any fixed-size payload at once */
    out->data[out->len++] = v->type;
    switch (pay) {
    case PAY_NONE: break;
    case PAY_ZIGZAG: fl_buf_put_varint(out, zigzag(v->i)); break;
    case PAY_VARINT: fl_buf_put_varint(out, v->u); break;
    case PAY_F32: {
        float f = (float)v->d;
        uint32_t bits;
        memcpy(&bits, &f, 4);
        fl_buf_put_u32le(out, bits);
        break;
    }
    case PAY_F64: {
        uint64_t bits;
        memcpy(&bits, &v->d, 8);
        fl_buf_put_u64le(out, bits);
        break;
    }
    case PAY_BYTES: put_bytes(out, v->s.ptr, v->s.len); break;
    }
}

void fl_record_put_int(fl_buf *out, int64_t i)
{
    fl_buf_reserve(out, 1 + 10);
    out->data[out->len++] = FL_VAL_INT;
    fl_buf_put_varint(out, zigzag(i));
}

void fl_record_put_uint(fl_buf *out, uint64_t u)
{
    fl_buf_reserve(out, 1 + 10);
    out->data[out->len++] = FL_VAL_UINT;
    fl_buf_put_varint(out, u);
}

void fl_record_put_bytes(fl_buf *out, fl_value_type type, const void *p, size_t n)
{
    if ((unsigned)type >= FL_VAL_TYPE_COUNT || payload_of[type] != PAY_BYTES || is_temporal((uint8_t)type))
        invalid("bytes value type", (unsigned)type);
    fl_buf_reserve(out, 1 + 10 + n);
    out->data[out->len++] = (uint8_t)type;
    fl_buf_put_varint(out, n);
    fl_buf_put(out, p, n);
}

static void put_image(fl_buf *out, const fl_value *img, uint32_t ncols)
{
    static const fl_value absent = {.type = FL_VAL_ABSENT};
    for (uint32_t c = 0; c < ncols; c++) fl_record_put_value(out, img ? &img[c] : &absent);
}

static void put_gtid(fl_buf *out, const fl_gtid *g)
{
    if (g->flavor > FL_FLAVOR_MYSQL) invalid("gtid flavor", g->flavor);
    fl_buf_putc(out, (uint8_t)g->flavor);
    if (g->flavor == FL_FLAVOR_MARIADB) {
        fl_buf_put_varint(out, g->domain);
        fl_buf_put_varint(out, g->server_id);
        fl_buf_put_varint(out, g->seq_no);
    } else if (g->flavor == FL_FLAVOR_MYSQL) {
        fl_buf_put(out, g->uuid, 16);
        put_bytes(out, g->tag, strnlen(g->tag, FL_GTID_TAG_MAX));
        fl_buf_put_varint(out, g->gno);
    }
}

void fl_record_encode(const fl_txn *t, fl_buf *out)
{
    size_t start = out->len;
    fl_buf_putc(out, RECORD_MAGIC);
    fl_buf_putc(out, FL_RECORD_VERSION);
    fl_buf_putc(out, 0); /* length, one byte so far; widened below when needed */
    size_t body = out->len;

    fl_buf_put_varint(out, t->flags & TXN_KNOWN_FLAGS); /* only the flags this version defines */
    fl_buf_put_varint(out, t->part);
    put_gtid(out, &t->gtid);
    fl_buf_put_varint(out, t->ts);
    fl_buf_put_varint(out, t->server_id);
    put_str(out, t->file);
    fl_buf_put_varint(out, t->pos);

    fl_buf_put_varint(out, t->ntables);
    for (uint32_t i = 0; i < t->ntables; i++) {
        const fl_table *tb = &t->tables[i];
        put_str(out, tb->db);
        put_str(out, tb->name);
        fl_buf_put_varint(out, tb->ncols);
        for (uint32_t c = 0; c < tb->ncols; c++) {
            const char *col = tb->cols ? tb->cols[c] : NULL;
            if (!col) {
                fl_buf_putc(out, 0);
            } else {
                size_t n = strlen(col);
                fl_buf_put_varint(out, (uint64_t)n + 1);
                fl_buf_put(out, col, n);
            }
        }
    }

    if (t->flags & FL_TXN_SNAPSHOT) {
        if (t->snapshot_table >= t->ntables) invalid("snapshot table index", t->snapshot_table);
        fl_buf_put_varint(out, t->snapshot_table);
        fl_buf_put_varint(out, t->snapshot_chunk);
    } else if (t->flags & (FL_TXN_SNAPSHOT_LAST | FL_TXN_SNAPSHOT_KEYS)) {
        invalid("flags", t->flags);
    }
    if ((t->flags & FL_TXN_SNAPSHOT_KEYS) && (t->flags & FL_TXN_SNAPSHOT_LAST)) invalid("flags", t->flags);

    fl_buf_put_varint(out, t->nchanges);
    for (uint32_t i = 0; i < t->nchanges; i++) {
        const fl_change *ch = &t->changes[i];
        if (ch->op < FL_OP_INSERT || ch->op > FL_OP_SNAPSHOT) invalid("op", ch->op);
        if (ch->op == FL_OP_SNAPSHOT && !(t->flags & FL_TXN_SNAPSHOT)) invalid("op outside a snapshot", ch->op);
        bool annotated = fl_op_is_row(ch->op) && ch->sql && ch->sql_len > 0;
        fl_buf_putc(out, (uint8_t)(ch->op | (annotated ? OP_ANNOTATED : 0)));
        if (fl_op_is_row(ch->op)) {
            if (ch->table >= t->ntables) invalid("table index", ch->table);
            uint32_t ncols = t->tables[ch->table].ncols;
            fl_buf_put_varint(out, ch->table);
            if (annotated) put_bytes(out, ch->sql, ch->sql_len);
            if (ch->images) {
                fl_buf_put(out, ch->images, ch->images_len);
                continue;
            }
            if (fl_op_has_before(ch->op)) put_image(out, ch->before, ncols);
            if (fl_op_has_after(ch->op)) put_image(out, ch->after, ncols);
        } else {
            put_str(out, ch->db);
            put_bytes(out, ch->sql ? ch->sql : "", ch->sql ? ch->sql_len : 0);
        }
    }

    /* the length field covers the whole record: widen it if one byte was not enough */
    size_t body_len = out->len - body;
    size_t n = 1;
    while (varint_size(3 + (n - 1) + body_len + 4) > n) n++;
    uint64_t total = 3 + (n - 1) + body_len + 4;
    if (n > 1) {
        fl_buf_reserve(out, n - 1);
        memmove(out->data + body + n - 1, out->data + body, body_len);
        out->len += n - 1;
    }
    for (size_t k = 0; k < n; k++) {
        out->data[start + 2 + k] = (uint8_t)((total & 0x7f) | (k + 1 < n ? 0x80 : 0));
        total >>= 7;
    }
    fl_buf_put_u32le(out, fl_crc32c(0, out->data + start, out->len - start));
}

/* ---- decoding ---- */

enum section { SEC_RECORD, SEC_HEADER, SEC_TABLE, SEC_CHANGE };

#define MAP_ON_STACK 16 /* tables of a record whose index map needs no allocation */
#define CACHE_MAX 4096  /* bytes of a file name or table list kept for the next record, at most */

typedef struct reader {
    const uint8_t *p, *end;
    bool view;              /* value bytes and row annotations point into the record (fl_record_decode_view) */
    fl_record_cache *cache; /* ... and names into this, when given */
    char *err;
    size_t errlen;
    /* where we are, for messages */
    enum section sec;
    uint64_t index;    /* table or change number */
    int64_t col;       /* column within a table or image, -1 for none */
    const char *image; /* "before" / "after" / NULL */
} reader;

/* Writes "where: what" into the caller's err; bad() evaluates to false so that a check
 * reads `return bad(r, ...)`. */
static void report(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define bad(r, ...) (report((r), __VA_ARGS__), false)

static void report(reader *r, const char *fmt, ...)
{
    if (!r->err || !r->errlen) return;
    char where[96] = "";
    switch (r->sec) {
    case SEC_RECORD: break;
    case SEC_HEADER: snprintf(where, sizeof where, "header: "); break;
    case SEC_TABLE:
        if (r->col >= 0)
            snprintf(where, sizeof where, "table %llu column %lld: ", (unsigned long long)r->index,
                     (long long)r->col);
        else
            snprintf(where, sizeof where, "table %llu: ", (unsigned long long)r->index);
        break;
    case SEC_CHANGE:
        if (r->image && r->col >= 0)
            snprintf(where, sizeof where, "change %llu %s column %lld: ", (unsigned long long)r->index, r->image,
                     (long long)r->col);
        else
            snprintf(where, sizeof where, "change %llu: ", (unsigned long long)r->index);
        break;
    }
    va_list ap;
    va_start(ap, fmt);
    fl_verrorf(r->err, r->errlen, where, fmt, ap);
    va_end(ap);
}

static size_t left(const reader *r) { return (size_t)(r->end - r->p); }

static bool get_u8(reader *r, uint8_t *out)
{
    if (r->p >= r->end) return bad(r, "truncated");
    *out = *r->p++;
    return true;
}

static bool get_varint_long(reader *r, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return bad(r, "truncated");
        uint8_t b = *r->p++;
        if (shift == 63 && b > 1) return bad(r, "varint overflows 64 bits");
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (b == 0 && shift) return bad(r, "overlong varint");
            *out = v;
            return true;
        }
    }
    return bad(r, "varint overflows 64 bits");
}

/* Most varints are one byte, and most others have ten bytes of the record after them, so that
 * no byte of theirs can run past it: those cases inline, with one test a byte; the rest, and
 * every malformed one, in get_varint_long. */
static inline __attribute__((always_inline)) bool get_varint(reader *r, uint64_t *out)
{
    const uint8_t *p = r->p;
    if (p < r->end && *p < 0x80) {
        *out = *p;
        r->p = p + 1;
        return true;
    }
    if (r->end - p >= 10) {
        uint64_t v = p[0] & 0x7f;
        unsigned i = 1;
        uint8_t b;
        do {
            b = p[i];
            v |= (uint64_t)(b & 0x7f) << (7 * i);
            i++;
        } while ((b & 0x80) && i < 10);
        if (!(b & 0x80) && b && (i < 10 || b == 1)) {
            r->p = p + i;
            *out = v;
            return true;
        }
    }
    return get_varint_long(r, out); /* (which says what is wrong with it) */
}

static inline __attribute__((always_inline)) bool get_u32(reader *r, uint32_t *out, const char *what)
{
    uint64_t v;
    if (!get_varint(r, &v)) return false;
    if (v > UINT32_MAX) return bad(r, "%s %llu out of range", what, (unsigned long long)v);
    *out = (uint32_t)v;
    return true;
}

/* A length-prefixed byte string, pointing into the record. */
static inline __attribute__((always_inline)) bool get_bytes(reader *r, const uint8_t **p, uint32_t *n)
{
    uint64_t len;
    if (!get_varint(r, &len)) return false;
    if (len > left(r))
        return bad(r, "truncated (string of %llu bytes, %zu left)", (unsigned long long)len, left(r));
    if (len > UINT32_MAX) return bad(r, "string of %llu bytes too long", (unsigned long long)len);
    *p = r->p;
    *n = (uint32_t)len;
    r->p += len;
    return true;
}

/* Copies n bytes of p into the arena as a C string; NULL when they hold a NUL byte. */
static const char *copy_name(fl_arena *a, const uint8_t *p, size_t n)
{
    char *s = fl_arena_alloc(a, n + 1);
    if (n > 32) { /* (names are short: the checking copy below is for them) */
        if (memchr(p, 0, n)) return NULL;
        memcpy(s, p, n);
    } else {
        uint8_t any_nul = 1;
        for (size_t i = 0; i < n; i++) any_nul &= (uint8_t)((s[i] = (char)p[i]) != 0);
        if (!any_nul) return NULL;
    }
    s[n] = 0;
    return s;
}

/* A name (no NUL inside), copied into the arena as a C string. */
static bool get_name(reader *r, fl_arena *a, const char *what, const char **out)
{
    const uint8_t *p;
    uint32_t n;
    if (!get_bytes(r, &p, &n)) return false;
    if (!(*out = copy_name(a, p, n))) return bad(r, "%s contains a NUL byte", what);
    return true;
}

/* Any tag the encoder can write: up to FL_GTID_TAG_MAX bytes of a C string. Its characters
 * are the binlog decoder's to check; refusing them here would make a journaled record
 * unreadable. */
static bool valid_tag(const uint8_t *p, uint32_t n) { return n <= FL_GTID_TAG_MAX && !memchr(p, 0, n); }

static bool get_gtid(reader *r, fl_gtid *g)
{
    memset(g, 0, sizeof *g);
    uint8_t flavor = 0;
    if (!get_u8(r, &flavor)) return false;
    switch (flavor) {
    case FL_FLAVOR_NONE: return true;
    case FL_FLAVOR_MARIADB:
        g->flavor = FL_FLAVOR_MARIADB;
        return get_u32(r, &g->domain, "gtid domain") && get_u32(r, &g->server_id, "gtid server id") &&
               get_varint(r, &g->seq_no);
    case FL_FLAVOR_MYSQL: {
        g->flavor = FL_FLAVOR_MYSQL;
        if (left(r) < 16) return bad(r, "truncated");
        memcpy(g->uuid, r->p, 16);
        r->p += 16;
        const uint8_t *tag;
        uint32_t n;
        if (!get_bytes(r, &tag, &n)) return false;
        if (!valid_tag(tag, n)) return bad(r, "bad gtid tag");
        memcpy(g->tag, tag, n);
        g->tag[n] = 0;
        return get_varint(r, &g->gno);
    }
    default: return bad(r, "unknown gtid flavor %u", flavor);
    }
}

/* Whether the record goes on with the bytes raw holds (a part of the last record kept in the
 * cache): then passes over them. */
static bool repeats(reader *r, const fl_buf *raw)
{
    if (!raw->len || left(r) < raw->len || memcmp(r->p, raw->data, raw->len) != 0) return false;
    r->p += raw->len;
    return true;
}

/* The header's file name: the cache's when the record repeats it, else decoded (and kept). */
static bool get_file(reader *r, fl_txn *t, const char **file)
{
    fl_record_cache *c = r->cache;
    if (c && repeats(r, &c->file_raw)) {
        *file = (const char *)c->file.data;
        return true;
    }
    const uint8_t *start = r->p;
    if (!get_name(r, &t->arena, "file name", file)) return false;
    if (c && r->p - start <= CACHE_MAX) {
        fl_buf_reset(&c->file_raw);
        fl_buf_put(&c->file_raw, start, (size_t)(r->p - start));
        fl_buf_reset(&c->file);
        fl_buf_puts(&c->file, *file);
        fl_buf_cstr(&c->file);
    }
    return true;
}

static bool get_header(reader *r, fl_txn *t)
{
    r->sec = SEC_HEADER;
    uint32_t flags = 0, part = 0, server_id = 0;
    fl_gtid g;
    uint64_t ts = 0, pos = 0;
    const char *file;
    if (!get_u32(r, &flags, "flags") || !get_u32(r, &part, "part")) return false;
    if (flags & ~(uint32_t)TXN_KNOWN_FLAGS)
        return bad(r, "unknown flags 0x%x", flags & ~(uint32_t)TXN_KNOWN_FLAGS);
    if ((flags & FL_TXN_SNAPSHOT_LAST) && !(flags & FL_TXN_SNAPSHOT))
        return bad(r, "snapshot-last flag without snapshot");
    if ((flags & FL_TXN_SNAPSHOT_KEYS) && (!(flags & FL_TXN_SNAPSHOT) || (flags & FL_TXN_SNAPSHOT_LAST)))
        return bad(r, "snapshot-keys flag without snapshot, or with snapshot-last");
    if (!get_gtid(r, &g) || !get_varint(r, &ts) || !get_u32(r, &server_id, "server id") ||
        !get_file(r, t, &file) || !get_varint(r, &pos))
        return false;
    t->flags = flags;
    t->part = part;
    t->gtid = g;
    t->ts = ts;
    t->server_id = server_id;
    t->file = file;
    t->pos = pos;
    return true;
}

static bool get_value(reader *r, fl_txn *t, fl_value *v)
{
    uint8_t type = 0;
    if (!get_u8(r, &type)) return false;
    if ((type & PACKED) && is_temporal(type & ~PACKED)) {
        v->type = type & ~PACKED;
        uint64_t packed, frac = 0;
        when w;
        if (!get_varint(r, &packed)) return false;
        if (!when_unpack(v->type, packed, &w))
            return bad(r, "packed %s out of range", fl_value_type_name(v->type));
        if (w.fsp && !get_varint(r, &frac)) return false;
        if (frac >= pow10_u32[w.fsp])
            return bad(r, "fraction %llu has more than %u digits", (unsigned long long)frac, w.fsp);
        w.frac = (uint32_t)frac;
        if (!when_valid(v->type, &w)) return bad(r, "packed %s out of range", fl_value_type_name(v->type));
        char buf[32];
        size_t n = when_format(v->type, &w, buf);
        v->s.ptr = fl_arena_strndup(&t->arena, buf, n);
        v->s.len = (uint32_t)n;
        return true;
    }
    if (type >= FL_VAL_TYPE_COUNT) return bad(r, "unknown value type %u", type);
    v->type = type;
    switch ((enum payload)payload_of[type]) {
    case PAY_NONE: return true;
    case PAY_ZIGZAG: {
        uint64_t u;
        if (!get_varint(r, &u)) return false;
        v->i = unzigzag(u);
        return true;
    }
    case PAY_VARINT: return get_varint(r, &v->u);
    case PAY_F32: {
        if (left(r) < 4) return bad(r, "truncated");
        uint32_t bits = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
                        (uint32_t)r->p[3] << 24;
        r->p += 4;
        /* a signalling NaN would come back quiet: the encoder never writes one */
        if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) && !(bits & 0x00400000u))
            return bad(r, "float NaN 0x%08x is not canonical", bits);
        float f;
        memcpy(&f, &bits, 4);
        v->d = f;
        return true;
    }
    case PAY_F64: {
        if (left(r) < 8) return bad(r, "truncated");
        uint64_t bits = 0;
        for (int k = 7; k >= 0; k--) bits = bits << 8 | r->p[k];
        r->p += 8;
        memcpy(&v->d, &bits, 8);
        return true;
    }
    case PAY_BYTES: {
        const uint8_t *p;
        uint32_t n;
        if (!get_bytes(r, &p, &n)) return false;
        when w;
        if (is_temporal(type) && when_parse(type, (const char *)p, n, &w))
            return bad(r, "%s stored as text, not packed", fl_value_type_name(type));
        v->s.ptr = !n ? "" : r->view ? (const char *)p : fl_arena_memdup(&t->arena, p, n);
        v->s.len = n;
        return true;
    }
    }
    return bad(r, "unknown value type %u", type);
}

static bool get_image(reader *r, fl_txn *t, uint32_t ncols, const char *which, fl_value **out)
{
    if (ncols > left(r)) return bad(r, "truncated (%s image of %u columns)", which, ncols);
    fl_value *img = fl_txn_values(t, ncols);
    *out = img;
    r->image = which;
    for (uint32_t c = 0; c < ncols; c++) {
        r->col = c;
        if (!get_value(r, t, &img[c])) return false;
    }
    r->image = NULL;
    r->col = -1;
    return true;
}

/* Reads the table list; map[i] becomes the index in t of the record's table i (*map is
 * the caller's array of MAP_ON_STACK entries, or malloc'd for more tables). */
/* Adds table i of the record (db, name, ncols, cols) to t unless t has it from an earlier part:
 * map[i] tells where. */
static bool add_table(reader *r, fl_txn *t, uint32_t base, uint32_t *map, const char *db, const char *name,
                      uint32_t ncols, const char **cols)
{
    int64_t found = fl_txn_table_find(t, db, name, ncols, cols);
    if (found >= (int64_t)base) return bad(r, "duplicate of table %lld", (long long)(found - base));
    *map = found >= 0 ? (uint32_t)found : fl_txn_table_add_owned(t, db, name, ncols, cols);
    return true;
}

/* The last table definition id handed out (fl_table.def_id), in this process. */
static _Atomic uint64_t last_def_id;

/* Keeps the table list just decoded (tables[base..] of t, stored as bytes from start on) in the
 * cache, for the records that repeat it; each of its tables gets a new definition id, in t too. */
static void keep_tables(reader *r, fl_txn *t, uint32_t base, const uint8_t *start)
{
    fl_record_cache *c = r->cache;
    size_t raw = (size_t)(r->p - start);
    fl_buf_reset(&c->tables_raw);
    if (raw > CACHE_MAX) return;
    uint32_t n = t->ntables - base;
    if (n > c->tables_cap) {
        c->tables_cap = n;
        c->tables = fl_xrealloc(c->tables, (size_t)n * sizeof *c->tables);
    }
    fl_arena_reset(&c->names);
    uint64_t first_id = atomic_fetch_add(&last_def_id, n) + 1;
    for (uint32_t i = 0; i < n; i++) {
        const fl_table *src = &t->tables[base + i];
        fl_table *dst = &c->tables[i];
        dst->db = fl_arena_strndup(&c->names, src->db, strlen(src->db));
        dst->name = fl_arena_strndup(&c->names, src->name, strlen(src->name));
        dst->ncols = src->ncols;
        const char **cols = fl_arena_alloc(&c->names, ((size_t)src->ncols + 1) * sizeof *cols);
        for (uint32_t k = 0; k < src->ncols; k++)
            cols[k] = src->cols[k] ? fl_arena_strndup(&c->names, src->cols[k], strlen(src->cols[k])) : NULL;
        dst->cols = cols;
        dst->def_id = t->tables[base + i].def_id = first_id + i;
    }
    c->ntables = n;
    fl_buf_put(&c->tables_raw, start, raw);
}

static bool get_tables(reader *r, fl_txn *t, uint32_t **map, uint32_t *ntables)
{
    r->sec = SEC_RECORD;
    uint32_t base = t->ntables;
    fl_record_cache *kept = r->cache;
    /* a record repeating the table list of the last one: the tables kept (each index and
     * name in them was checked then, and the same bytes decode the same) */
    if (kept && repeats(r, &kept->tables_raw)) {
        if (kept->ntables > MAP_ON_STACK) *map = fl_xmalloc((size_t)kept->ntables * sizeof **map);
        r->sec = SEC_TABLE;
        r->col = -1;
        for (uint32_t i = 0; i < kept->ntables; i++) {
            const fl_table *k = &kept->tables[i];
            r->index = i;
            if (!add_table(r, t, base, &(*map)[i], k->db, k->name, k->ncols, k->cols)) return false;
            if ((*map)[i] >= base) t->tables[(*map)[i]].def_id = k->def_id;
        }
        *ntables = kept->ntables;
        return true;
    }
    const uint8_t *start = r->p;
    uint64_t n;
    if (!get_varint(r, &n)) return false;
    if (n > left(r) / 3) return bad(r, "table count %llu exceeds the record", (unsigned long long)n);
    r->sec = SEC_TABLE;
    r->col = -1;
    if (n > MAP_ON_STACK) *map = fl_xmalloc((size_t)n * sizeof **map);
    *ntables = 0;
    for (uint64_t i = 0; i < n; i++) {
        r->index = i;
        r->col = -1;
        const char *db, *name;
        uint64_t ncols;
        if (!get_name(r, &t->arena, "database name", &db) || !get_name(r, &t->arena, "table name", &name) ||
            !get_varint(r, &ncols))
            return false;
        if (ncols > left(r)) return bad(r, "column count %llu exceeds the record", (unsigned long long)ncols);
        const char **cols = fl_arena_alloc(&t->arena, (size_t)ncols * sizeof *cols);
        for (uint32_t c = 0; c < ncols; c++) {
            r->col = c;
            uint64_t len;
            if (!get_varint(r, &len)) return false;
            if (len == 0) {
                cols[c] = NULL;
                continue;
            }
            len--;
            if (len > left(r)) return bad(r, "truncated (name of %llu bytes)", (unsigned long long)len);
            if (!(cols[c] = copy_name(&t->arena, r->p, len))) return bad(r, "column name contains a NUL byte");
            r->p += len;
        }
        r->col = -1;
        if (!add_table(r, t, base, &(*map)[i], db, name, (uint32_t)ncols, cols)) return false;
        (*ntables)++;
    }
    if (kept && t->ntables - base == n) keep_tables(r, t, base, start); /* (none found from earlier parts) */
    return true;
}

static bool get_changes(reader *r, fl_txn *t, const uint32_t *map, uint32_t ntables)
{
    r->sec = SEC_RECORD;
    uint64_t n;
    if (!get_varint(r, &n)) return false;
    if (n > left(r) / 2) return bad(r, "change count %llu exceeds the record", (unsigned long long)n);
    r->sec = SEC_CHANGE;
    r->col = -1;
    r->image = NULL;
    for (uint64_t i = 0; i < n; i++) {
        r->index = i;
        uint8_t op = 0;
        if (!get_u8(r, &op)) return false;
        bool annotated = (op & OP_ANNOTATED) != 0;
        op &= (uint8_t)~OP_ANNOTATED;
        if (op < FL_OP_INSERT || op > FL_OP_SNAPSHOT) return bad(r, "unknown op %u", op);
        if (op == FL_OP_SNAPSHOT && !(t->flags & FL_TXN_SNAPSHOT))
            return bad(r, "snapshot row outside a snapshot record");
        if (annotated && !fl_op_is_row(op)) return bad(r, "op %u cannot carry a statement annotation", op);
        if (fl_op_is_row(op)) {
            uint64_t idx;
            if (!get_varint(r, &idx)) return false;
            if (idx >= ntables)
                return bad(r, "table index %llu out of range (%u tables)", (unsigned long long)idx, ntables);
            const uint8_t *query = NULL;
            uint32_t query_len = 0;
            if (annotated) {
                if (!get_bytes(r, &query, &query_len)) return false;
                if (query_len == 0) return bad(r, "empty statement annotation"); /* never written */
            }
            uint32_t table = map[idx];
            uint32_t ncols = t->tables[table].ncols;
            fl_value *before = NULL, *after = NULL;
            if (fl_op_has_before(op) && !get_image(r, t, ncols, "before", &before)) return false;
            if (fl_op_has_after(op) && !get_image(r, t, ncols, "after", &after)) return false;
            fl_change *c = fl_txn_add_change(t, (fl_op)op);
            c->table = table;
            c->before = before;
            c->after = after;
            if (annotated) {
                c->sql = r->view ? (const char *)query
                                 : fl_arena_strndup(&t->arena, (const char *)query, query_len);
                c->sql_len = query_len;
            }
        } else {
            const char *db;
            const uint8_t *sql;
            uint32_t sql_len;
            if (!get_name(r, &t->arena, "database name", &db) || !get_bytes(r, &sql, &sql_len)) return false;
            fl_change *c = fl_txn_add_change(t, (fl_op)op);
            c->db = db;
            c->sql = fl_arena_strndup(&t->arena, (const char *)sql, sql_len);
            c->sql_len = sql_len;
        }
    }
    return true;
}

/* With the SNAPSHOT flag: the snapshotted table and the chunk number. */
static bool get_snapshot(reader *r, fl_txn *t, const uint32_t *map, uint32_t ntables)
{
    if (!(t->flags & FL_TXN_SNAPSHOT)) {
        t->snapshot_table = 0;
        t->snapshot_chunk = 0;
        return true;
    }
    r->sec = SEC_HEADER;
    uint64_t idx, chunk;
    if (!get_varint(r, &idx) || !get_varint(r, &chunk)) return false;
    if (idx >= ntables)
        return bad(r, "snapshot table index %llu out of range (%u tables)", (unsigned long long)idx, ntables);
    t->snapshot_table = map[idx];
    t->snapshot_chunk = chunk;
    return true;
}

/* Checks magic, version, length and checksum; on success r covers the body. */
static bool open_record(reader *r, const uint8_t *data, size_t len, bool verify)
{
    r->sec = SEC_RECORD;
    if (len == 0) return bad(r, "truncated (empty record)");
    if (data[0] != RECORD_MAGIC) return bad(r, "not a journal record (magic 0x%02x)", data[0]);
    if (len < 2) return bad(r, "truncated (%zu bytes)", len);
    if (data[1] != FL_RECORD_VERSION) return bad(r, "unknown version %u", data[1]);
    r->p = data + 2;
    r->end = data + len;
    uint64_t total;
    if (!get_varint(r, &total)) return false;
    size_t head = (size_t)(r->p - data);
    if (total < head + 4) return bad(r, "bad record length %llu", (unsigned long long)total);
    if (total > len) return bad(r, "truncated (%zu of %llu bytes)", len, (unsigned long long)total);
    if (total < len) return bad(r, "%llu bytes after the record", (unsigned long long)(len - total));
    r->end = data + len - 4;
    if (verify) {
        const uint8_t *c = r->end;
        uint32_t stored = (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24;
        uint32_t computed = fl_crc32c(0, data, len - 4);
        if (stored != computed) return bad(r, "bad checksum (stored %08x, computed %08x)", stored, computed);
    }
    return true;
}

static int decode(fl_txn *t, const uint8_t *data, size_t len, bool view, fl_record_cache *cache, char *err,
                  size_t errlen)
{
    reader r = {.view = view, .cache = cache, .err = err, .errlen = errlen, .col = -1};
    if (err && errlen) err[0] = 0;
    uint32_t on_stack[MAP_ON_STACK], *map = on_stack, ntables = 0;
    bool ok = open_record(&r, data, len, true) && get_header(&r, t) && get_tables(&r, t, &map, &ntables) &&
              get_snapshot(&r, t, map, ntables) && get_changes(&r, t, map, ntables);
    if (ok && r.p != r.end) {
        r.sec = SEC_RECORD;
        ok = bad(&r, "%zu unread bytes before the checksum", left(&r));
    }
    if (map != on_stack) free(map);
    return ok ? 0 : -1;
}

int fl_record_decode(fl_txn *t, const uint8_t *data, size_t len, char *err, size_t errlen)
{
    return decode(t, data, len, false, NULL, err, errlen);
}

int fl_record_decode_view(fl_txn *t, const uint8_t *data, size_t len, fl_record_cache *cache, char *err,
                          size_t errlen)
{
    return decode(t, data, len, true, cache, err, errlen);
}

void fl_record_cache_free(fl_record_cache *c)
{
    fl_buf_free(&c->file_raw);
    fl_buf_free(&c->file);
    fl_buf_free(&c->tables_raw);
    free(c->tables);
    fl_arena_free(&c->names);
    memset(c, 0, sizeof *c);
}

int fl_record_peek(const uint8_t *data, size_t len, fl_gtid *gtid, uint64_t *ts, uint32_t *flags, uint32_t *part)
{
    reader r = {.col = -1};
    uint32_t f = 0, p = 0, server_id = 0;
    fl_gtid g;
    uint64_t t = 0;
    if (!open_record(&r, data, len, false) || !get_u32(&r, &f, "flags") || !get_u32(&r, &p, "part") ||
        (f & ~(uint32_t)TXN_KNOWN_FLAGS) || !get_gtid(&r, &g) || !get_varint(&r, &t) ||
        !get_u32(&r, &server_id, "server id"))
        return -1;
    if (gtid) *gtid = g;
    if (ts) *ts = t;
    if (flags) *flags = f;
    if (part) *part = p;
    return 0;
}
