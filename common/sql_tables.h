/* sql_tables.h — what a journaled statement does to tables, parsed minimally: which tables
 * a TRUNCATE, DROP TABLE, RENAME TABLE or ALTER TABLE empties, removes or renames, and which
 * table a statement-based INSERT, REPLACE, UPDATE, DELETE or LOAD DATA writes.
 *
 * Names come back unquoted (backquotes and double quotes removed, doubled quotes undone) and
 * qualified: a name written without its database gets the statement's default database.
 * Comments are skipped; the text of version comments (slash-star-bang) is read as SQL. */
#ifndef FL_SQL_TABLES_H
#define FL_SQL_TABLES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

typedef enum fl_sql_kind {
    FL_SQL_OTHER = 0,     /* nothing below (CREATE, GRANT, SET, ...) */
    FL_SQL_CLEAR,         /* names[i] lost rows without row events: TRUNCATE [TABLE] t; ALTER TABLE t
                         DROP|TRUNCATE PARTITION; EXCHANGE PARTITION (both tables) */
    FL_SQL_DROP,          /* names[i] dropped: DROP TABLE [IF EXISTS] a, b */
    FL_SQL_DROP_DATABASE, /* every table of names[0].db dropped (names[0].table is ""):
                             DROP DATABASE|SCHEMA [IF EXISTS] d */
    FL_SQL_RENAME,        /* names[2i] renamed to names[2i + 1]: RENAME TABLE a TO b, c TO d;
                         ALTER TABLE a RENAME [TO|AS] b */
    FL_SQL_ALTER,         /* names[0] altered in place (columns may have been added, dropped, renamed) */
    FL_SQL_WRITE,         /* statement-based DML: names[0] is the table written, none when the
                         statement is not a single-table INSERT/REPLACE/UPDATE/DELETE/LOAD DATA */
    FL_SQL_XA,            /* XA COMMIT / XA ROLLBACK ...: no data of its own */
} fl_sql_kind;

typedef struct fl_sql_name {
    const char *db, *table;
} fl_sql_name;

typedef struct fl_sql_tables {
    fl_sql_kind kind;
    bool incomplete;    /* a CLEAR, DROP or RENAME whose names could not all be read */
    fl_sql_name *names; /* in the arena */
    size_t n, cap;
    fl_arena arena;
} fl_sql_tables;

void fl_sql_tables_init(fl_sql_tables *t);
void fl_sql_tables_free(fl_sql_tables *t);

/* Parses sql[0..len) (any bytes) with default database db ("" or NULL: none) into t, replacing
 * what it held. Returns t->kind. */
fl_sql_kind fl_sql_tables_parse(fl_sql_tables *t, const char *sql, size_t len, const char *db);

#endif
