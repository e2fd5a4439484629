/* table_map.h — TABLE_MAP events: which table a rows event refers to and how to decode
 * each of its columns (type, type metadata, and the optional metadata MySQL 8.0+ and
 * MariaDB 10.5+ send with binlog_row_metadata=FULL: signedness, charsets, names, ENUM/SET
 * labels, primary key, geometry type, visibility, vector dimensions). */
#ifndef FL_TABLE_MAP_H
#define FL_TABLE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/gtid.h"

/* How to decode one column of a row image. */
typedef struct fl_column_meta {
    uint8_t type;      /* column type byte as in the TABLE_MAP (MYSQL_TYPE_*) */
    uint8_t real_type; /* for type STRING (254): the real type from the metadata
                          (STRING, ENUM 247 or SET 248); otherwise == type */
    uint16_t meta;     /* the per-type metadata, parsed (length, precision<<8|scale, fsp,
                          pack length, ...) as the type defines it */
    bool is_unsigned;  /* optional metadata SIGNEDNESS (numeric columns) */
    bool is_binary;    /* charset is binary (63): BINARY/VARBINARY/BLOB, not text */
    bool nullable;
    uint32_t charset;          /* collation id, 0 when unknown */
    const char *name;          /* NULL when the binlog does not carry it */
    const char *const *labels; /* ENUM/SET labels, NULL when absent */
    uint32_t nlabels;
    uint32_t geometry_type; /* optional metadata, 0 when absent */
    bool is_json_text;      /* MariaDB JSON columns are text: leave as FL_VAL_STRING */
    bool json_document;     /* a text column known (from the schema) to hold JSON documents:
                                  a value that is valid JSON becomes FL_VAL_JSON */
    fl_flavor flavor;       /* stream flavor, for types whose encoding differs */
} fl_column_meta;

typedef struct fl_table_map {
    uint64_t table_id;
    const char *db, *table;
    uint32_t ncols;
    fl_column_meta *cols;
    bool has_names; /* every column's name came from the metadata */
    uint32_t npk;   /* primary key columns (0-based indexes), from the metadata */
    uint32_t *pk;
    fl_arena arena; /* owns everything above */
} fl_table_map;

/* Parses a TABLE_MAP event body (the bytes after the 19-byte header, without the
 * checksum). post_header_len is from the FORMAT_DESCRIPTION (6 = 4-byte table ids, 8 =
 * 6-byte table ids). tm is reset first. Returns 0, or -1 with a specific reason in err
 * ("TABLE_MAP: truncated column metadata"). Never reads out of bounds. */
int fl_table_map_parse(fl_table_map *tm, const uint8_t *body, size_t len, uint8_t post_header_len,
                       fl_flavor flavor, char *err, size_t errlen);
void fl_table_map_init(fl_table_map *tm);
void fl_table_map_free(fl_table_map *tm);

#endif
