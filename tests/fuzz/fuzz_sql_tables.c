/* fuzz_sql_tables.c — libFuzzer target: any bytes parse without reading out of bounds; every
 * name returned is a NUL-terminated string, a RENAME has whole pairs, and parsing the same
 * text twice with one reused parser gives the same answer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sql_tables.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (!text) return 0;
    memcpy(text, data, size); /* exactly size bytes: a read past them is caught */
    fl_sql_tables a, b;
    fl_sql_tables_init(&a);
    fl_sql_tables_init(&b);
    fl_sql_kind k = fl_sql_tables_parse(&a, text, size, "db");
    fl_sql_tables_parse(&b, "DROP TABLE x, y", 15, "");
    if (fl_sql_tables_parse(&b, text, size, "db") != k || a.n != b.n || a.incomplete != b.incomplete) abort();
    if (k == FL_SQL_RENAME && a.n % 2) abort();
    if (k == FL_SQL_DROP_DATABASE && (a.n > 1 || (a.n && a.names[0].table[0]))) abort();
    if ((k == FL_SQL_OTHER || k == FL_SQL_XA) && a.n) abort();
    for (size_t i = 0; i < a.n; i++) {
        if (!a.names[i].db || !a.names[i].table) abort();
        if (strcmp(a.names[i].db, b.names[i].db) || strcmp(a.names[i].table, b.names[i].table)) abort();
    }
    fl_sql_tables_free(&a);
    fl_sql_tables_free(&b);
    free(text);
    return 0;
}
