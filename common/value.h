/* value.h — the canonical value model: typed column values of a decoded row, and their
 * JSON rendering and canonical text exactly as docs/DESIGN.md "Canonical values" specifies.
 *
 * Byte payloads (strings, decimals, dates, JSON text, ...) are not owned by the value: they
 * point into the transaction's arena (see common/txn.h). */
#ifndef FL_VALUE_H
#define FL_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef enum fl_value_type {
    FL_VAL_ABSENT = 0, /* column not in this row image (minimal/noblob): rendered nowhere */
    FL_VAL_NULL,       /* SQL NULL */
    FL_VAL_INT,        /* .i  signed integers of any width */
    FL_VAL_UINT,       /* .u  unsigned integers of any width */
    FL_VAL_FLOAT,      /* .d  FLOAT (value is exactly a float32; rendered shortest for float) */
    FL_VAL_DOUBLE,     /* .d  DOUBLE (shortest round-trip for double) */
    FL_VAL_DECIMAL,    /* .s  exact digits, e.g. "-1165.50" */
    FL_VAL_DATE,       /* .s  "YYYY-MM-DD" */
    FL_VAL_DATETIME,   /* .s  "YYYY-MM-DD HH:MM:SS[.ffffff]" */
    FL_VAL_TIMESTAMP,  /* .s  same shape, UTC */
    FL_VAL_TIME,       /* .s  "[-]HH:MM:SS[.ffffff]" (hours may exceed 24) */
    FL_VAL_YEAR,       /* .i */
    FL_VAL_STRING,     /* .s  UTF-8 text (CHAR, VARCHAR, TEXT types) */
    FL_VAL_BINARY,     /* .s  bytes (BINARY, VARBINARY, BLOB types): base64 in JSON */
    FL_VAL_GEOMETRY,   /* .s  bytes as stored (SRID + WKB): base64 in JSON */
    FL_VAL_ENUM,       /* .s  the label */
    FL_VAL_SET,        /* .s  labels joined by ',' ("" = empty set): a JSON array */
    FL_VAL_ENUM_INDEX, /* .u  ENUM without label metadata: its 1-based index */
    FL_VAL_SET_BITS,   /* .u  SET without label metadata: its bit mask */
    FL_VAL_BIT,        /* .u  BIT(n) */
    FL_VAL_JSON,       /* .s  JSON text: rendered as the JSON value itself */
    FL_VAL_VECTOR,     /* .s  little-endian float32 array: a JSON array of numbers */
    FL_VAL_UNKNOWN,    /* the column changed, but the binlog does not carry its new value (a
                           partial JSON update against a before image without the document):
                           no rendering; a cache invalidates what it would have built from it */
    FL_VAL_TYPE_COUNT
} fl_value_type;

/* MySQL 9's VECTOR column type code, in TABLE_MAP events and in result metadata alike; newer
 * than the client library's enum_field_types. Its values become FL_VAL_VECTOR. */
#define FL_MYSQL_TYPE_VECTOR 242

typedef struct fl_value {
    uint8_t type; /* fl_value_type */
    union {
        int64_t i;
        uint64_t u;
        double d;
        struct {
            const char *ptr;
            uint32_t len;
        } s;
    };
} fl_value;

/* True for types whose payload is .s */
bool fl_value_has_bytes(fl_value_type t);
const char *fl_value_type_name(fl_value_type t); /* "int", "decimal", ... for messages */

/* Appends the value's JSON rendering (a number, string, array, object, or null).
 * ABSENT and UNKNOWN render as null; callers leave them out of objects. */
void fl_value_to_json(const fl_value *v, fl_buf *out);
/* Appends the canonical text (key templates, hash fields, column:NAME). Returns false
 * for NULL, ABSENT and UNKNOWN (they have no text) and appends nothing. */
bool fl_value_to_text(const fl_value *v, fl_buf *out);
/* Appends s as a JSON string literal ("..."), escaping as JSON requires; bytes that are not
 * valid UTF-8 are written as \u00XX of the byte (never invalid JSON). */
void fl_json_string(fl_buf *out, const char *s, size_t len);
/* Appends base64 (RFC 4648, with padding). */
void fl_base64(fl_buf *out, const void *data, size_t len);
/* Shortest text that reads back to exactly the same double / float. */
void fl_format_double(fl_buf *out, double d);
void fl_format_float(fl_buf *out, float f);

bool fl_value_equal(const fl_value *a, const fl_value *b);

#endif
