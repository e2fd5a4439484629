/* rebuild.c — the rebuild point (see rebuild.h): the distinct tables of the rules, and an
 * index of the snapshots the journal holds, filled by reading only its snapshot records (a
 * relay's feed sends every transaction; those without FL_TXN_SNAPSHOT are passed over). */
#include "fl-apply/rebuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal/snapshots.h"

typedef struct rule_table {
    char *db, *table, *full;
} rule_table;

struct fl_rebuild {
    rule_table *t;
    size_t n;
    fl_snapshots *index;
    uint64_t scan_from; /* the next seq to scan */
};

fl_rebuild *fl_rebuild_new(const fl_rules *rules)
{
    fl_rebuild *rb = fl_xcalloc(1, sizeof *rb);
    size_t nrules = fl_rules_count(rules);
    rb->t = fl_xcalloc(nrules ? nrules : 1, sizeof *rb->t);
    for (size_t i = 0; i < nrules; i++) {
        const fl_config_rule *r = fl_rules_config(rules, i);
        bool seen = false;
        for (size_t k = 0; k < rb->n && !seen; k++)
            seen = !strcmp(rb->t[k].db, r->db) && !strcmp(rb->t[k].table, r->table);
        if (seen) continue;
        rule_table *t = &rb->t[rb->n++];
        t->db = fl_xstrdup(r->db);
        t->table = fl_xstrdup(r->table);
        size_t len = strlen(r->db) + strlen(r->table) + 2;
        t->full = fl_xmalloc(len);
        snprintf(t->full, len, "%s.%s", r->db, r->table);
    }
    rb->index = fl_snapshots_new();
    return rb;
}

void fl_rebuild_free(fl_rebuild *rb)
{
    if (!rb) return;
    for (size_t i = 0; i < rb->n; i++) {
        free(rb->t[i].db);
        free(rb->t[i].table);
        free(rb->t[i].full);
    }
    free(rb->t);
    fl_snapshots_free(rb->index);
    free(rb);
}

void fl_rebuild_reset(fl_rebuild *rb, uint64_t from)
{
    fl_snapshots_free(rb->index);
    rb->index = fl_snapshots_new();
    rb->scan_from = from;
}

static int note_snapshot(const fl_txn *part, void *ctx)
{
    fl_rebuild *rb = ctx;
    fl_snapshots_note_txn(rb->index, part);
    if (part->seq >= rb->scan_from) rb->scan_from = part->seq + 1;
    return 0;
}

int fl_rebuild_scan(fl_rebuild *rb, fl_input *src, fl_error *e)
{
    /* to the end as it is now (a relay's bounds are only as fresh as its last session) */
    return fl_input_scan_flagged(src, rb->scan_from, UINT64_MAX, FL_TXN_SNAPSHOT, note_snapshot, rb, e) < 0 ? -1
                                                                                                            : 0;
}

int fl_rebuild_start(const fl_rebuild *rb, uint64_t *from, fl_buf *missing)
{
    *from = 0;
    fl_buf_reset(missing);
    for (size_t i = 0; i < rb->n; i++) {
        uint64_t seq = fl_snapshots_complete(rb->index, rb->t[i].db, rb->t[i].table, NULL);
        if (!seq) {
            if (missing->len) fl_buf_putc(missing, ',');
            fl_buf_puts(missing, rb->t[i].full);
        } else if (!*from || seq < *from) {
            *from = seq;
        }
    }
    if (missing->len) return 1;
    if (!*from) *from = 1; /* no rule at all: nothing to rebuild */
    return 0;
}

size_t fl_rebuild_tables(const fl_rebuild *rb) { return rb->n; }

const char *fl_rebuild_table(const fl_rebuild *rb, size_t i, uint64_t *snapshot_seq)
{
    *snapshot_seq = fl_snapshots_complete(rb->index, rb->t[i].db, rb->t[i].table, NULL);
    return rb->t[i].full;
}
