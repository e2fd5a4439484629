/* table_map.c — parses TABLE_MAP event bodies.
 *
 * Layout of the body (after the 19-byte event header, checksum removed):
 *   post-header: table id (4 bytes when post_header_len is 6, else 6), 2 bytes of flags
 *   db name (length byte, bytes, NUL), table name (same), column count (packed integer),
 *   one type byte per column, metadata block (packed length, then per-type metadata),
 *   null bitmap ((ncols + 7) / 8 bytes, bit i = column i, least significant bit first),
 *   then optional metadata: TLV fields (type byte, packed length, value) until the end.
 *
 * fl_column_meta.meta holds the per-type metadata in this form:
 *   FLOAT/DOUBLE, BLOB, GEOMETRY, JSON, VECTOR   pack length (bytes of the length prefix
 *                                                for the BLOB-like types)
 *   VARCHAR                                      maximum length in bytes
 *   STRING/VAR_STRING                            maximum length in bytes; for real types
 *                                                ENUM and SET the pack length (1-2, 1-8)
 *   ENUM/SET (as a type byte)                    pack length
 *   BIT                                          number of bits (1..64)
 *   NEWDECIMAL                                   precision << 8 | scale
 *   TIME2, DATETIME2, TIMESTAMP2                 fraction digits (0..6)
 *   everything else                              0
 *
 * Optional metadata lists that describe a subset of columns follow column order over
 * that subset: numeric columns (SIGNEDNESS), character columns (DEFAULT_CHARSET,
 * COLUMN_CHARSET), ENUM/SET columns, GEOMETRY columns, VECTOR columns. Which columns
 * are "character" columns differs by flavor: MySQL counts CHAR/VARCHAR/BLOB/VECTOR,
 * MariaDB counts CHAR/VARCHAR/BLOB/GEOMETRY (ENUM and SET have their own lists).
 * ENUM/SET labels in a non-UTF-8 character set are converted to UTF-8. */
#include "fl-relay/table_map.h"

#include <stdio.h>
#include <string.h>

#include <mysql.h>

#include "common/value.h"
#include "fl-relay/charset.h"
#include "fl-relay/events.h"

/* Optional metadata field types. */
enum {
    OPT_SIGNEDNESS = 1,
    OPT_DEFAULT_CHARSET = 2,
    OPT_COLUMN_CHARSET = 3,
    OPT_COLUMN_NAME = 4,
    OPT_SET_STR_VALUE = 5,
    OPT_ENUM_STR_VALUE = 6,
    OPT_GEOMETRY_TYPE = 7,
    OPT_SIMPLE_PRIMARY_KEY = 8,
    OPT_PRIMARY_KEY_WITH_PREFIX = 9,
    OPT_ENUM_AND_SET_DEFAULT_CHARSET = 10,
    OPT_ENUM_AND_SET_COLUMN_CHARSET = 11,
    OPT_COLUMN_VISIBILITY = 12,
    OPT_VECTOR_DIMENSIONALITY = 13,
};

#define BINARY_COLLATION 63

void fl_table_map_init(fl_table_map *tm) { memset(tm, 0, sizeof(*tm)); }

void fl_table_map_free(fl_table_map *tm)
{
    fl_arena_free(&tm->arena);
    memset(tm, 0, sizeof(*tm));
}

static int fail(char *err, size_t errlen, const char *what)
{
    if (err && errlen) snprintf(err, errlen, "TABLE_MAP: %s", what);
    return -1;
}

/* The type that decides how a column is decoded and which optional lists it is in. */
static uint8_t real_type_of(const fl_column_meta *c) { return c->real_type; }

static bool is_numeric(const fl_column_meta *c)
{
    switch (real_type_of(c)) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_NEWDECIMAL:
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE: return true;
    default: return false;
    }
}

static bool is_character(const fl_column_meta *c)
{
    switch (real_type_of(c)) {
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB: return true;
    case MYSQL_TYPE_GEOMETRY: return c->flavor == FL_FLAVOR_MARIADB;
    case FL_MYSQL_TYPE_VECTOR: return c->flavor != FL_FLAVOR_MARIADB;
    default: return false;
    }
}

static bool is_enum_or_set(const fl_column_meta *c)
{
    return real_type_of(c) == MYSQL_TYPE_ENUM || real_type_of(c) == MYSQL_TYPE_SET;
}

/* Reads the per-type metadata of one column from the metadata block. */
static int parse_type_meta(fl_column_meta *c, fl_reader *r)
{
    const uint8_t *b;
    switch (c->type) {
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_GEOMETRY:
    case MYSQL_TYPE_JSON:
    case FL_MYSQL_TYPE_VECTOR:
    case MYSQL_TYPE_TIME2:
    case MYSQL_TYPE_DATETIME2:
    case MYSQL_TYPE_TIMESTAMP2:
        if (!fl_rd_bytes(r, 1, &b)) return -1;
        c->meta = b[0];
        return 0;
    case MYSQL_TYPE_VARCHAR:
        if (!fl_rd_bytes(r, 2, &b)) return -1;
        c->meta = (uint16_t)(b[0] | b[1] << 8);
        return 0;
    case MYSQL_TYPE_BIT:
        /* bits in the last partial byte, then whole bytes */
        if (!fl_rd_bytes(r, 2, &b)) return -1;
        c->meta = (uint16_t)(b[1] * 8 + b[0]);
        return 0;
    case MYSQL_TYPE_NEWDECIMAL:
        if (!fl_rd_bytes(r, 2, &b)) return -1;
        c->meta = (uint16_t)(b[0] << 8 | b[1]);
        return 0;
    case MYSQL_TYPE_ENUM:
    case MYSQL_TYPE_SET:
        if (!fl_rd_bytes(r, 2, &b)) return -1;
        c->meta = b[1];
        return 0;
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_VAR_STRING:
        /* real type byte, then the low byte of the length. CHAR lengths above 255 keep
         * their bits 8 and 9 in bits 4 and 5 of the real type byte, inverted. */
        if (!fl_rd_bytes(r, 2, &b)) return -1;
        if ((b[0] & 0x30) != 0x30) {
            c->real_type = (uint8_t)(b[0] | 0x30);
            c->meta = (uint16_t)(b[1] | (((b[0] & 0x30) ^ 0x30) << 4));
        } else {
            c->real_type = b[0];
            c->meta = b[1];
        }
        if (c->real_type != MYSQL_TYPE_STRING && c->real_type != MYSQL_TYPE_ENUM &&
            c->real_type != MYSQL_TYPE_SET && c->real_type != MYSQL_TYPE_VAR_STRING)
            c->real_type = c->type; /* not a type the real-type byte can name: ignore it */
        return 0;
    default: c->meta = 0; return 0;
    }
}

/* Applies a list of packed collations to the columns chosen by pick, in order. With
 * is_default, the list is a default collation then (index, collation) exceptions, index
 * counted within the chosen columns. */
static int apply_charsets(fl_table_map *tm, fl_reader *r, bool (*pick)(const fl_column_meta *), bool is_default,
                          char *err, size_t errlen, const char *field)
{
    char why[160];
    uint32_t n = 0;
    for (uint32_t i = 0; i < tm->ncols; i++)
        if (pick(&tm->cols[i])) n++;
    if (is_default) {
        uint64_t def;
        if (!fl_rd_lenenc(r, &def)) goto trunc;
        for (uint32_t i = 0; i < tm->ncols; i++)
            if (pick(&tm->cols[i])) tm->cols[i].charset = (uint32_t)def;
        while (fl_rd_left(r) > 0) {
            uint64_t idx, cs;
            if (!fl_rd_lenenc(r, &idx) || !fl_rd_lenenc(r, &cs)) goto trunc;
            if (idx >= n) {
                snprintf(why, sizeof why, "%s names column %llu of %u", field, (unsigned long long)idx, n);
                return fail(err, errlen, why);
            }
            uint32_t k = 0;
            for (uint32_t i = 0; i < tm->ncols; i++) {
                if (!pick(&tm->cols[i])) continue;
                if (k++ == idx) {
                    tm->cols[i].charset = (uint32_t)cs;
                    break;
                }
            }
        }
    } else {
        for (uint32_t i = 0; i < tm->ncols; i++) {
            if (!pick(&tm->cols[i])) continue;
            uint64_t cs;
            if (!fl_rd_lenenc(r, &cs)) goto trunc;
            tm->cols[i].charset = (uint32_t)cs;
        }
        if (fl_rd_left(r) > 0) {
            snprintf(why, sizeof why, "%s has more entries than the %u columns it covers", field, n);
            return fail(err, errlen, why);
        }
    }
    return 0;
trunc:
    snprintf(why, sizeof why, "truncated %s", field);
    return fail(err, errlen, why);
}

/* ENUM_STR_VALUE / SET_STR_VALUE: per column of that real type, a packed count then
 * that many packed-length strings. */
static int apply_labels(fl_table_map *tm, fl_reader *r, uint8_t real, char *err, size_t errlen, const char *field)
{
    char why[160];
    for (uint32_t i = 0; i < tm->ncols; i++) {
        fl_column_meta *c = &tm->cols[i];
        if (real_type_of(c) != real) continue;
        uint64_t count;
        if (!fl_rd_lenenc(r, &count)) goto trunc;
        if (count > fl_rd_left(r)) goto trunc; /* every label takes at least one byte */
        const char **labels = fl_arena_alloc(&tm->arena, (count ? count : 1) * sizeof(char *));
        for (uint64_t k = 0; k < count; k++) {
            uint64_t l;
            const uint8_t *s;
            if (!fl_rd_lenenc(r, &l) || l > fl_rd_left(r) || !fl_rd_bytes(r, (size_t)l, &s)) goto trunc;
            labels[k] = fl_arena_strndup(&tm->arena, (const char *)s, (size_t)l);
        }
        c->labels = labels;
        c->nlabels = (uint32_t)count;
    }
    if (fl_rd_left(r) > 0) {
        snprintf(why, sizeof why, "%s has more entries than columns", field);
        return fail(err, errlen, why);
    }
    return 0;
trunc:
    snprintf(why, sizeof why, "truncated %s", field);
    return fail(err, errlen, why);
}

static bool pick_character(const fl_column_meta *c) { return is_character(c); }
static bool pick_enum_set(const fl_column_meta *c) { return is_enum_or_set(c); }

static int parse_optional(fl_table_map *tm, fl_reader *all, char *err, size_t errlen)
{
    char why[160];
    while (fl_rd_left(all) > 0) {
        uint8_t t = 0;
        uint64_t flen;
        const uint8_t *v;
        if (!fl_rd_u8(all, &t) || !fl_rd_lenenc(all, &flen) || flen > fl_rd_left(all)) {
            snprintf(why, sizeof why, "truncated optional metadata field %u", t);
            return fail(err, errlen, why);
        }
        fl_rd_bytes(all, (size_t)flen, &v);
        fl_reader r = {v, v + flen};
        switch (t) {
        case OPT_SIGNEDNESS: {
            /* one bit per numeric column, most significant bit first; 1 = unsigned */
            uint32_t k = 0;
            for (uint32_t i = 0; i < tm->ncols; i++) {
                if (!is_numeric(&tm->cols[i])) continue;
                if (k / 8 >= flen) return fail(err, errlen, "truncated SIGNEDNESS bitmap");
                tm->cols[i].is_unsigned = (v[k / 8] >> (7 - k % 8)) & 1;
                k++;
            }
            break;
        }
        case OPT_DEFAULT_CHARSET:
        case OPT_COLUMN_CHARSET:
            if (apply_charsets(tm, &r, pick_character, t == OPT_DEFAULT_CHARSET, err, errlen,
                               t == OPT_DEFAULT_CHARSET ? "DEFAULT_CHARSET" : "COLUMN_CHARSET") < 0)
                return -1;
            break;
        case OPT_ENUM_AND_SET_DEFAULT_CHARSET:
        case OPT_ENUM_AND_SET_COLUMN_CHARSET:
            if (apply_charsets(tm, &r, pick_enum_set, t == OPT_ENUM_AND_SET_DEFAULT_CHARSET, err, errlen,
                               t == OPT_ENUM_AND_SET_DEFAULT_CHARSET ? "ENUM_AND_SET_DEFAULT_CHARSET"
                                                                     : "ENUM_AND_SET_COLUMN_CHARSET") < 0)
                return -1;
            break;
        case OPT_COLUMN_NAME: {
            uint32_t i = 0;
            while (fl_rd_left(&r) > 0) {
                uint64_t l;
                const uint8_t *s;
                if (i >= tm->ncols) return fail(err, errlen, "COLUMN_NAME has more names than columns");
                if (!fl_rd_lenenc(&r, &l) || l > fl_rd_left(&r) || !fl_rd_bytes(&r, (size_t)l, &s))
                    return fail(err, errlen, "truncated COLUMN_NAME");
                tm->cols[i++].name = fl_arena_strndup(&tm->arena, (const char *)s, (size_t)l);
            }
            tm->has_names = i == tm->ncols;
            break;
        }
        case OPT_SET_STR_VALUE:
            if (apply_labels(tm, &r, MYSQL_TYPE_SET, err, errlen, "SET_STR_VALUE") < 0) return -1;
            break;
        case OPT_ENUM_STR_VALUE:
            if (apply_labels(tm, &r, MYSQL_TYPE_ENUM, err, errlen, "ENUM_STR_VALUE") < 0) return -1;
            break;
        case OPT_GEOMETRY_TYPE:
            for (uint32_t i = 0; i < tm->ncols; i++) {
                if (tm->cols[i].type != MYSQL_TYPE_GEOMETRY) continue;
                uint64_t g;
                if (!fl_rd_lenenc(&r, &g)) return fail(err, errlen, "truncated GEOMETRY_TYPE");
                tm->cols[i].geometry_type = (uint32_t)g;
            }
            break;
        case OPT_SIMPLE_PRIMARY_KEY:
        case OPT_PRIMARY_KEY_WITH_PREFIX: {
            /* column indexes (with a prefix length each in the second form) */
            uint32_t *pk = fl_arena_alloc(&tm->arena, (flen ? flen : 1) * sizeof(uint32_t));
            uint32_t n = 0;
            while (fl_rd_left(&r) > 0) {
                uint64_t idx, prefix;
                if (!fl_rd_lenenc(&r, &idx) || (t == OPT_PRIMARY_KEY_WITH_PREFIX && !fl_rd_lenenc(&r, &prefix)))
                    return fail(err, errlen, "truncated primary key metadata");
                if (idx >= tm->ncols) {
                    snprintf(why, sizeof why, "primary key names column %llu of %u", (unsigned long long)idx,
                             tm->ncols);
                    return fail(err, errlen, why);
                }
                pk[n++] = (uint32_t)idx;
            }
            tm->pk = pk;
            tm->npk = n;
            break;
        }
        case OPT_COLUMN_VISIBILITY:
            /* one bit per column; validated, not needed for decoding */
            if (flen < (tm->ncols + 7) / 8u) return fail(err, errlen, "truncated COLUMN_VISIBILITY");
            break;
        case OPT_VECTOR_DIMENSIONALITY:
            /* one packed dimension count per VECTOR column; the row image carries the
             * byte length, so it is validated only */
            for (uint32_t i = 0; i < tm->ncols; i++) {
                uint64_t d;
                if (tm->cols[i].type != FL_MYSQL_TYPE_VECTOR) continue;
                if (!fl_rd_lenenc(&r, &d)) return fail(err, errlen, "truncated VECTOR_DIMENSIONALITY");
            }
            break;
        default: break; /* unknown field: skipped by its length */
        }
    }
    return 0;
}

int fl_table_map_parse(fl_table_map *tm, const uint8_t *body, size_t len, uint8_t post_header_len,
                       fl_flavor flavor, char *err, size_t errlen)
{
    fl_arena_reset(&tm->arena);
    fl_arena keep = tm->arena;
    memset(tm, 0, sizeof(*tm));
    tm->arena = keep;

    fl_reader r = {body, body + len};
    size_t idlen = post_header_len == 6 ? 4 : 6;
    if (post_header_len < idlen + 2) post_header_len = (uint8_t)(idlen + 2);
    if (len < post_header_len) return fail(err, errlen, "truncated post-header");
    for (size_t i = 0; i < idlen; i++) tm->table_id |= (uint64_t)body[i] << (8 * i);
    r.p += post_header_len;

    const uint8_t *s;
    uint8_t l;
    if (!fl_rd_u8(&r, &l) || !fl_rd_bytes(&r, (size_t)l + 1, &s))
        return fail(err, errlen, "truncated database name");
    if (s[l] != 0) return fail(err, errlen, "database name not NUL-terminated");
    tm->db = fl_arena_strndup(&tm->arena, (const char *)s, l);
    if (!fl_rd_u8(&r, &l) || !fl_rd_bytes(&r, (size_t)l + 1, &s)) return fail(err, errlen, "truncated table name");
    if (s[l] != 0) return fail(err, errlen, "table name not NUL-terminated");
    tm->table = fl_arena_strndup(&tm->arena, (const char *)s, l);

    uint64_t ncols;
    if (!fl_rd_lenenc(&r, &ncols)) return fail(err, errlen, "truncated column count");
    if (ncols > fl_rd_left(&r) || ncols > UINT32_MAX) return fail(err, errlen, "truncated column types");
    tm->ncols = (uint32_t)ncols;
    tm->cols = fl_arena_alloc(&tm->arena, (ncols ? ncols : 1) * sizeof(fl_column_meta));
    memset(tm->cols, 0, (ncols ? ncols : 1) * sizeof(fl_column_meta));
    for (uint32_t i = 0; i < tm->ncols; i++) {
        fl_column_meta *c = &tm->cols[i];
        c->type = c->real_type = *r.p++;
        c->flavor = flavor;
    }

    uint64_t mlen;
    if (!fl_rd_lenenc(&r, &mlen) || mlen > fl_rd_left(&r)) return fail(err, errlen, "truncated column metadata");
    fl_reader m = {r.p, r.p + mlen};
    r.p += mlen;
    for (uint32_t i = 0; i < tm->ncols; i++)
        if (parse_type_meta(&tm->cols[i], &m) < 0) return fail(err, errlen, "truncated column metadata");
    if (fl_rd_left(&m) != 0) return fail(err, errlen, "column metadata longer than the column types need");

    const uint8_t *nulls;
    if (!fl_rd_bytes(&r, (tm->ncols + 7) / 8, &nulls)) return fail(err, errlen, "truncated null bitmap");
    for (uint32_t i = 0; i < tm->ncols; i++) tm->cols[i].nullable = (nulls[i / 8] >> (i % 8)) & 1;

    if (parse_optional(tm, &r, err, errlen) < 0) return -1;

    for (uint32_t i = 0; i < tm->ncols; i++) {
        fl_column_meta *c = &tm->cols[i];
        c->is_binary = c->charset == BINARY_COLLATION;
        /* ENUM/SET labels are in the column's character set: made UTF-8 like its values */
        if (c->labels && fl_charset_needs_conversion(c->charset)) {
            const char **labels = fl_arena_alloc(&tm->arena, (c->nlabels ? c->nlabels : 1) * sizeof(char *));
            for (uint32_t k = 0; k < c->nlabels; k++) {
                size_t ul;
                fl_charset_to_utf8(c->charset, c->labels[k], strlen(c->labels[k]), &tm->arena, &labels[k], &ul);
            }
            c->labels = labels;
        }
        c->is_json_text = c->type == MYSQL_TYPE_JSON && flavor == FL_FLAVOR_MARIADB;
    }
    return 0;
}
