/* txn.h — the change-event model every program shares: one committed source transaction,
 * the tables it touches and its row changes (before/after images of typed values) or
 * statements; plus its JSON line (the shape of fl-dump --json) and the UTC time formatter. */
#ifndef FL_TXN_H
#define FL_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/gtid.h"
#include "common/value.h"

typedef enum fl_op {
    FL_OP_INSERT = 1,
    FL_OP_UPDATE = 2,
    FL_OP_DELETE = 3,
    FL_OP_DDL = 4,       /* sql: a DDL statement; db: default database */
    FL_OP_STATEMENT = 5, /* sql: statement-based DML that caches cannot apply (flagged) */
    FL_OP_SNAPSHOT = 6,  /* a row as a table snapshot read it: after image only, applied as an
                            insert (see FL_TXN_SNAPSHOT) */
} fl_op;

/* insert, update, delete or snapshot (inline: asked for every change encoded and decoded) */
static inline bool fl_op_is_row(uint8_t op)
{
    return op == FL_OP_INSERT || op == FL_OP_UPDATE || op == FL_OP_DELETE || op == FL_OP_SNAPSHOT;
}
/* update, delete: the change carries a before image */
static inline bool fl_op_has_before(uint8_t op) { return op == FL_OP_UPDATE || op == FL_OP_DELETE; }
/* insert, update, snapshot: it carries an after image */
static inline bool fl_op_has_after(uint8_t op)
{
    return op == FL_OP_INSERT || op == FL_OP_UPDATE || op == FL_OP_SNAPSHOT;
}
const char *fl_op_name(uint8_t op); /* "insert", ..., "unknown" */

/* The tables a transaction touches; changes refer to them by index. */
typedef struct fl_table {
    const char *db;
    const char *name;
    uint32_t ncols;
    const char **cols; /* ncols names; an entry is NULL when the binlog lacks it ("@N") */
    uint64_t def_id;   /* 0, or an id that no other definition (db, name, cols) ever gets: the
                        * record decoder's, for a table list it keeps (a reader may take two
                        * tables with one nonzero def_id as the same without comparing them) */
} fl_table;

typedef struct fl_change {
    uint8_t op;       /* fl_op */
    uint32_t table;   /* row ops: index into fl_txn.tables */
    fl_value *before; /* update/delete: ncols values (FL_VAL_ABSENT where not in the image) */
    fl_value *after;  /* insert/update */
    const char *db;   /* DDL/STATEMENT: default database, may be "" */
    const char *sql;  /* DDL/STATEMENT: statement text; row ops: the statement that produced the
                         rows (ROWS_QUERY/ANNOTATE_ROWS), on the first of its changes, or NULL */
    uint32_t sql_len;
    /* row ops, in place of before/after (NULL then): the images already in the journal's
     * record form, before image then after image (as journal/record.h writes them). Only a
     * transaction on its way into the journal has them: the relay's decoder makes them so
     * when nothing else reads the values; a transaction read back has values. */
    const uint8_t *images;
    uint32_t images_len;
} fl_change;

enum fl_txn_flags {
    FL_TXN_LAST_PART = 1u << 0,     /* the final (or only) part of its transaction */
    FL_TXN_STATEMENT = 1u << 1,     /* contains statement-based DML */
    FL_TXN_XA = 1u << 2,            /* XA transaction (applied at XA COMMIT) */
    FL_TXN_SNAPSHOT = 1u << 3,      /* carries chunk snapshot_chunk of the snapshot of table
                                   snapshot_table: its FL_OP_SNAPSHOT changes (maybe none) */
    FL_TXN_SNAPSHOT_LAST = 1u << 4, /* with FL_TXN_SNAPSHOT: that chunk is the table's last */
    FL_TXN_SNAPSHOT_KEYS = 1u << 5, /* with FL_TXN_SNAPSHOT, never with _LAST: the rows of requested
                                       keys (a repair), not a chunk of the table in key order; a
                                       requested key whose row is gone is a delete */
};

typedef struct fl_txn {
    uint64_t seq; /* journal order; assigned by the store on append */
    fl_gtid gtid;
    uint64_t ts; /* commit time, unix seconds (UTC) */
    uint32_t server_id;
    const char *file;        /* source binlog file name of the commit */
    uint64_t pos;            /* source end position of the transaction in that file */
    uint32_t flags;          /* fl_txn_flags */
    uint32_t part;           /* part number, 0-based */
    uint32_t snapshot_table; /* FL_TXN_SNAPSHOT: index into tables of the snapshotted table */
    uint64_t snapshot_chunk; /* FL_TXN_SNAPSHOT: chunk number, 0-based, per table snapshot */

    fl_table *tables;
    uint32_t ntables, tables_cap;
    fl_change *changes;
    uint32_t nchanges, changes_cap;
    uint64_t nrows; /* row changes (insert/update/delete) */

    fl_arena arena; /* owns every string and value array reachable from this txn */
} fl_txn;

void fl_txn_init(fl_txn *t);
void fl_txn_reset(fl_txn *t); /* empties; keeps memory for reuse */
void fl_txn_free(fl_txn *t);
/* Finds or adds a table (db, name, column names copied into the arena). Returns its index. */
uint32_t fl_txn_table(fl_txn *t, const char *db, const char *name, uint32_t ncols, const char *const *cols);
/* The index of the table with exactly this db, name and column list, or -1. */
int64_t fl_txn_table_find(const fl_txn *t, const char *db, const char *name, uint32_t ncols,
                          const char *const *cols);
/* Adds a table whose strings already live in t's arena (the record decoder's path). */
uint32_t fl_txn_table_add_owned(fl_txn *t, const char *db, const char *name, uint32_t ncols, const char **cols);
/* Appends a change slot (zeroed) and returns it; value arrays come from fl_txn_values. */
fl_change *fl_txn_add_change(fl_txn *t, fl_op op);
fl_value *fl_txn_values(fl_txn *t, uint32_t ncols); /* arena array, all FL_VAL_ABSENT */
/* Copies a value's bytes into the txn's arena (for values that point into transient buffers). */
void fl_txn_own_value(fl_txn *t, fl_value *v);
/* Approximate memory the transaction uses (for splitting into parts): its arena and its
 * entries, not the room fl_txn_reset keeps. */
size_t fl_txn_mem(const fl_txn *t);

/* Appends a commit time as "YYYY-MM-DD HH:MM:SS" in UTC (the form of "ts" in the JSON). */
void fl_format_utc(fl_buf *out, uint64_t ts);

/* Renders t as one line of fl-dump --json (no trailing newline), the shape in docs/DESIGN.md. */
void fl_txn_to_json(const fl_txn *t, fl_buf *out);

#endif
