/* mysql_schema.c — one information_schema query per table: the columns in ordinal order and,
 * on MariaDB, whether a column-level check constraint `json_valid(`NAME`)` guards it (how
 * MariaDB declares JSON, whether written as JSON or as LONGTEXT CHECK (json_valid(...))).
 * And one on STATISTICS for the row key: the unique indexes, PRIMARY first, column by column. */
#include "common/mysql_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

static char *escaped(MYSQL *m, const char *s)
{
    size_t n = strlen(s);
    char *e = fl_xmalloc(n * 2 + 1);
    mysql_real_escape_string(m, e, s, (unsigned long)n);
    return e;
}

/* Runs q (freed here) and stores its result; NULL with the server's message in err. */
static MYSQL_RES *run_query(MYSQL *m, fl_buf *q, char *err, size_t errlen)
{
    MYSQL_RES *res = NULL;
    if (mysql_real_query(m, (const char *)q->data, q->len) == 0) res = mysql_store_result(m);
    fl_buf_free(q);
    if (!res) snprintf(err, errlen, "%s", mysql_error(m));
    return res;
}

int fl_table_schema_read(MYSQL *m, const char *db, const char *table, bool mariadb, fl_table_schema *out,
                         char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *edb = escaped(m, db), *etb = escaped(m, table);
    fl_buf q = {0};
    fl_buf_puts(&q, "SELECT c.COLUMN_NAME, ");
    if (mariadb)
        fl_buf_puts(&q, "EXISTS (SELECT 1 FROM information_schema.CHECK_CONSTRAINTS k "
                        "WHERE k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME "
                        "AND k.CHECK_CLAUSE = CONCAT('json_valid(`', REPLACE(c.COLUMN_NAME, '`', '``'), '`)'))");
    else
        fl_buf_puts(&q, "0");
    fl_buf_printf(&q,
                  " FROM information_schema.COLUMNS c WHERE c.TABLE_SCHEMA = '%s' AND c.TABLE_NAME = '%s' "
                  "ORDER BY c.ORDINAL_POSITION",
                  edb, etb);
    free(edb);
    free(etb);
    MYSQL_RES *res = run_query(m, &q, err, errlen);
    if (!res) return -1;
    uint64_t n = mysql_num_rows(res);
    out->names = fl_xcalloc(n ? n : 1, sizeof *out->names);
    out->is_json = fl_xcalloc(n ? n : 1, sizeof *out->is_json);
    MYSQL_ROW row;
    uint32_t i = 0;
    while ((row = mysql_fetch_row(res)) != NULL && i < n) {
        out->names[i] = fl_xstrdup(row[0] ? row[0] : "");
        out->is_json[i] = row[1] && row[1][0] == '1';
        i++;
    }
    out->ncols = i;
    mysql_free_result(res);
    return 0;
}

void fl_table_schema_free(fl_table_schema *s)
{
    for (uint32_t i = 0; i < s->ncols; i++) free(s->names[i]);
    free(s->names);
    free(s->is_json);
    memset(s, 0, sizeof *s);
}

int fl_table_key_read(MYSQL *m, const char *db, const char *table, const fl_table_schema *schema, uint32_t *cols,
                      uint32_t *n, char *err, size_t errlen)
{
    *n = 0;
    char *edb = escaped(m, db), *etb = escaped(m, table);
    fl_buf q = {0};
    fl_buf_printf(&q,
                  "SELECT INDEX_NAME, COLUMN_NAME, NULLABLE FROM information_schema.STATISTICS WHERE NON_UNIQUE = "
                  "0 "
                  "AND TABLE_SCHEMA = '%s' AND TABLE_NAME = '%s' ORDER BY INDEX_NAME <> 'PRIMARY', INDEX_NAME, "
                  "SEQ_IN_INDEX",
                  edb, etb);
    free(edb);
    free(etb);
    MYSQL_RES *res = run_query(m, &q, err, errlen);
    if (!res) return -1;
    /* the first index (PRIMARY first) whose columns are all NOT NULL */
    char *chosen = NULL;
    bool chosen_ok = false;
    uint32_t k = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1]) continue;
        if (chosen && strcmp(chosen, row[0]) != 0) {
            if (chosen_ok) break;
            free(chosen);
            chosen = NULL;
        }
        if (!chosen) {
            chosen = fl_xstrdup(row[0]);
            chosen_ok = true;
            k = 0;
        }
        if (row[2] && row[2][0]) chosen_ok = false; /* NULLABLE = 'YES' */
        uint32_t c = 0;
        while (c < schema->ncols && strcmp(schema->names[c], row[1]) != 0) c++;
        if (c == schema->ncols || k == schema->ncols)
            chosen_ok = false;
        else
            cols[k++] = c;
    }
    mysql_free_result(res);
    free(chosen);
    *n = chosen_ok ? k : 0;
    return 0;
}
