/* mysql_schema.h — what the binlog cannot tell about a table, read from information_schema:
 * its column names in order (when binlog_row_metadata is not FULL) and, on MariaDB, which
 * columns hold JSON (MariaDB's JSON is a LONGTEXT with a json_valid() check: the binlog sees
 * text, while the value is a JSON document). The relay's decoder and fl-apply --verify both
 * use it, so the journal and the comparison agree on what a column holds. It also names a
 * table's row key (fl_table_key_read). */
#ifndef FL_MYSQL_SCHEMA_H
#define FL_MYSQL_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

typedef struct fl_table_schema {
    uint32_t ncols; /* 0: no such table */
    char **names;   /* ncols column names, in ordinal order */
    bool *is_json;  /* ncols flags: the column's values are JSON documents held as text */
} fl_table_schema;

/* Reads db.table's columns. mariadb: also detect JSON columns (MariaDB only: MySQL's JSON
 * is a type of its own, which the binlog shows). Returns 0, or -1 with the server's error in
 * err (the connection may then be unusable: reconnect). */
int fl_table_schema_read(MYSQL *m, const char *db, const char *table, bool mariadb, fl_table_schema *out,
                         char *err, size_t errlen);
void fl_table_schema_free(fl_table_schema *s);

/* The key a table's rows are found by: the primary key, else the first unique index whose
 * columns are all NOT NULL. Sets cols[0..*n) to their ordinals in schema (cols holds
 * schema->ncols entries), *n = 0 when the table has no such key. Returns 0, or -1 with the
 * server's error in err. The relay's snapshots and fl-apply --repair agree through it on
 * which columns name a row. */
int fl_table_key_read(MYSQL *m, const char *db, const char *table, const fl_table_schema *schema, uint32_t *cols,
                      uint32_t *n, char *err, size_t errlen);

#endif
