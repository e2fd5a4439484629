/* snapshots.c — the index of complete table snapshots (see snapshots.h).
 *
 * One entry per table, in a small array (a journal holds snapshots of a handful of tables):
 * the run being noted (chunk 0's seq and the chunk expected next) and the chunk-0 seqs of
 * the last two runs that reached their last chunk. */
#include "journal/snapshots.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

typedef struct entry {
    char *db, *table;
    uint64_t run_first; /* chunk 0 of the run being noted; 0 = none */
    uint64_t run_next;  /* the chunk number that continues it */
    uint64_t complete, previous;
} entry;

struct fl_snapshots {
    entry *e;
    size_t n, cap;
};

fl_snapshots *fl_snapshots_new(void) { return fl_xcalloc(1, sizeof(fl_snapshots)); }

void fl_snapshots_free(fl_snapshots *x)
{
    if (!x) return;
    for (size_t i = 0; i < x->n; i++) {
        free(x->e[i].db);
        free(x->e[i].table);
    }
    free(x->e);
    free(x);
}

static entry *find(const fl_snapshots *x, const char *db, const char *table)
{
    for (size_t i = 0; i < x->n; i++)
        if (!strcmp(x->e[i].db, db) && !strcmp(x->e[i].table, table)) return &x->e[i];
    return NULL;
}

void fl_snapshots_note(fl_snapshots *x, const char *db, const char *table, uint64_t chunk, bool last, uint64_t seq)
{
    entry *e = find(x, db, table);
    if (!e) {
        if (x->n == x->cap) {
            x->cap = x->cap ? x->cap * 2 : 8;
            x->e = fl_xrealloc(x->e, x->cap * sizeof *x->e);
        }
        e = &x->e[x->n++];
        memset(e, 0, sizeof *e);
        e->db = fl_xstrdup(db);
        e->table = fl_xstrdup(table);
    }
    if (chunk == 0) {
        e->run_first = seq;
    } else if (!e->run_first || chunk != e->run_next) {
        e->run_first = 0; /* its start was purged, or chunks are missing: not a whole snapshot */
        return;
    }
    e->run_next = chunk + 1;
    if (!last) return;
    e->previous = e->complete;
    e->complete = e->run_first;
    e->run_first = 0;
}

void fl_snapshots_note_txn(fl_snapshots *x, const fl_txn *t)
{
    /* rows read again by key (a repair) are no part of a table's snapshot */
    if (!(t->flags & FL_TXN_SNAPSHOT) || (t->flags & FL_TXN_SNAPSHOT_KEYS) || t->snapshot_table >= t->ntables)
        return;
    const fl_table *tb = &t->tables[t->snapshot_table];
    if (!tb->db || !tb->name) return;
    fl_snapshots_note(x, tb->db, tb->name, t->snapshot_chunk, (t->flags & FL_TXN_SNAPSHOT_LAST) != 0, t->seq);
}

uint64_t fl_snapshots_complete(const fl_snapshots *x, const char *db, const char *table, uint64_t *previous)
{
    const entry *e = find(x, db, table);
    if (previous) *previous = e ? e->previous : 0;
    return e ? e->complete : 0;
}

bool fl_snapshots_running(const fl_snapshots *x, const char *db, const char *table)
{
    const entry *e = find(x, db, table);
    return e && e->run_first;
}

size_t fl_snapshots_tables(const fl_snapshots *x)
{
    size_t n = 0;
    for (size_t i = 0; i < x->n; i++) n += x->e[i].complete != 0;
    return n;
}

void fl_snapshots_table(const fl_snapshots *x, size_t i, const char **db, const char **table)
{
    *db = *table = NULL;
    for (size_t k = 0; k < x->n; k++) {
        if (!x->e[k].complete) continue;
        if (i-- == 0) {
            *db = x->e[k].db;
            *table = x->e[k].table;
            return;
        }
    }
}

/* ---- reading a local journal ---- */

typedef struct scan {
    uint64_t *seqs;
    size_t n, cap;
} scan;

static int collect(uint64_t seq, uint32_t part, bool last, const uint8_t *data, size_t len, void *ctx)
{
    (void)last;
    scan *s = ctx;
    uint32_t flags = 0;
    if (part != 0 || fl_record_peek(data, len, NULL, NULL, &flags, NULL) || !(flags & FL_TXN_SNAPSHOT)) return 0;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->seqs = fl_xrealloc(s->seqs, s->cap * sizeof *s->seqs);
    }
    s->seqs[s->n++] = seq;
    return 0;
}

static int note_part(const fl_txn *part, void *ctx)
{
    fl_snapshots_note_txn(ctx, part);
    return 0;
}

int fl_snapshots_scan(fl_snapshots *x, fl_store *store, uint64_t from, uint64_t *next, char *err, size_t errlen)
{
    scan s = {0};
    uint64_t seq = from;
    uint32_t part = 0;
    int rc = 0;
    *next = from;
    for (;;) {
        uint64_t next_seq = seq;
        uint32_t next_part = part;
        if (fl_store_scan_raw(store, seq, part, (size_t)64 << 20, collect, &s, &next_seq, &next_part, err,
                              errlen) < 0) {
            rc = -1;
            break;
        }
        if (next_seq == seq && next_part == part) break; /* the end of the journal */
        seq = next_seq;
        part = next_part;
    }
    for (size_t i = 0; i < s.n && rc == 0; i++) {
        int r = fl_store_read_parts(store, s.seqs[i], note_part, x, err, errlen);
        if (r < 0) rc = -1; /* r = 1: purged meanwhile, nothing to note */
    }
    if (rc == 0) *next = seq; /* the end of the journal when it was read */
    free(s.seqs);
    return rc;
}
