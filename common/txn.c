/* txn.c — transactions in memory: tables, row changes and their values, owned by one arena. */
#include "common/txn.h"

#include <stdlib.h>
#include <string.h>

/* ---- transactions in memory ----
 *
 * Tables, changes and value arrays are found through t; every string and value array lives
 * in t's arena, the two index arrays are malloc'd and kept across fl_txn_reset. A table is
 * the same table only with the same db, name and column list: a table whose definition
 * changed within a transaction gets a second entry, so a change's images always have its
 * table's column count. */

void fl_txn_init(fl_txn *t) { memset(t, 0, sizeof *t); }

void fl_txn_reset(fl_txn *t)
{
    fl_table *tables = t->tables;
    fl_change *changes = t->changes;
    uint32_t tcap = t->tables_cap, ccap = t->changes_cap;
    fl_arena arena = t->arena;
    fl_arena_reset(&arena);
    memset(t, 0, sizeof *t);
    t->tables = tables;
    t->tables_cap = tcap;
    t->changes = changes;
    t->changes_cap = ccap;
    t->arena = arena;
}

void fl_txn_free(fl_txn *t)
{
    free(t->tables);
    free(t->changes);
    fl_arena_free(&t->arena);
    memset(t, 0, sizeof *t);
}

static bool same_name(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

/* The index of the table with exactly this db, name and column list, or -1. Searches from
 * the most recently added table: row events of one table usually come together. */
int64_t fl_txn_table_find(const fl_txn *t, const char *db, const char *name, uint32_t ncols,
                          const char *const *cols)
{
    for (uint32_t i = t->ntables; i-- > 0;) {
        const fl_table *tb = &t->tables[i];
        if (tb->ncols != ncols || strcmp(tb->name, name) != 0 || strcmp(tb->db, db) != 0) continue;
        uint32_t c = 0;
        while (c < ncols && same_name(tb->cols[c], cols ? cols[c] : NULL)) c++;
        if (c == ncols) return i;
    }
    return -1;
}

/* Adds a table whose strings already live in the arena. */
uint32_t fl_txn_table_add_owned(fl_txn *t, const char *db, const char *name, uint32_t ncols, const char **cols)
{
    if (t->ntables == t->tables_cap) {
        t->tables_cap = t->tables_cap ? t->tables_cap * 2 : 8;
        t->tables = fl_xrealloc(t->tables, t->tables_cap * sizeof *t->tables);
    }
    fl_table *tb = &t->tables[t->ntables];
    tb->db = db;
    tb->name = name;
    tb->ncols = ncols;
    tb->cols = cols;
    tb->def_id = 0;
    return t->ntables++;
}

uint32_t fl_txn_table(fl_txn *t, const char *db, const char *name, uint32_t ncols, const char *const *cols)
{
    if (!db) db = "";
    if (!name) name = "";
    int64_t i = fl_txn_table_find(t, db, name, ncols, cols);
    if (i >= 0) return (uint32_t)i;
    const char **copy = fl_arena_alloc(&t->arena, (size_t)ncols * sizeof *copy);
    for (uint32_t c = 0; c < ncols; c++)
        copy[c] = (cols && cols[c]) ? fl_arena_strndup(&t->arena, cols[c], strlen(cols[c])) : NULL;
    return fl_txn_table_add_owned(t, fl_arena_strndup(&t->arena, db, strlen(db)),
                                  fl_arena_strndup(&t->arena, name, strlen(name)), ncols, copy);
}

const char *fl_op_name(uint8_t op)
{
    switch (op) {
    case FL_OP_INSERT: return "insert";
    case FL_OP_UPDATE: return "update";
    case FL_OP_DELETE: return "delete";
    case FL_OP_DDL: return "ddl";
    case FL_OP_STATEMENT: return "statement";
    case FL_OP_SNAPSHOT: return "snapshot";
    default: return "unknown";
    }
}

fl_change *fl_txn_add_change(fl_txn *t, fl_op op)
{
    if (t->nchanges == t->changes_cap) {
        t->changes_cap = t->changes_cap ? t->changes_cap * 2 : 16;
        t->changes = fl_xrealloc(t->changes, t->changes_cap * sizeof *t->changes);
    }
    fl_change *c = &t->changes[t->nchanges++];
    memset(c, 0, sizeof *c);
    c->op = (uint8_t)op;
    if (fl_op_is_row(c->op)) t->nrows++;
    return c;
}

fl_value *fl_txn_values(fl_txn *t, uint32_t ncols)
{
    fl_value *v = fl_arena_alloc(&t->arena, (size_t)ncols * sizeof *v);
    memset(v, 0, (size_t)ncols * sizeof *v); /* FL_VAL_ABSENT is 0 */
    return v;
}

void fl_txn_own_value(fl_txn *t, fl_value *v)
{
    if (v->type >= FL_VAL_TYPE_COUNT || !fl_value_has_bytes((fl_value_type)v->type)) return;
    if (v->s.len == 0)
        v->s.ptr = "";
    else
        v->s.ptr = fl_arena_memdup(&t->arena, v->s.ptr, v->s.len);
}

/* What this transaction uses, not the room kept from an earlier one: counting the arrays'
 * capacity made every transaction after a big one look big (each then split into parts). */
size_t fl_txn_mem(const fl_txn *t)
{
    return t->arena.used_total + (size_t)t->ntables * sizeof(fl_table) + (size_t)t->nchanges * sizeof(fl_change);
}
