/* retention.c — retention that keeps a rebuild possible (see retention.h).
 *
 * The index of complete snapshots is read from the journal once and then from where the last
 * run stopped. Each run keeps every record from the oldest "protected" snapshot on: the
 * latest complete one of each table that [snapshot] tables cover. When the purge is held back
 * there, the table of that snapshot is queued again (unless it is queued or being read); the
 * next runs purge up to the new snapshot once it is complete. A snapshot queued this way that,
 * once complete, still holds the purge back means max_size cannot hold it: it is let go. */
#include "fl-relay/retention.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "journal/snapshots.h"

typedef struct table_state {
    char *db, *table;
    uint64_t requested_at; /* the journal's last seq when retention queued its snapshot (0: not) */
    uint64_t let_go;       /* the chunk-0 seq of a snapshot no longer kept (max_size too small) */
} table_state;

struct fl_retention {
    const fl_config *cfg;
    fl_snapshots *index;
    uint64_t next; /* the next seq to scan for snapshot records */
    table_state *t;
    size_t n;
};

fl_retention *fl_retention_new(const fl_config *cfg)
{
    fl_retention *rt = fl_xcalloc(1, sizeof *rt);
    rt->cfg = cfg;
    rt->index = fl_snapshots_new();
    rt->next = 1;
    return rt;
}

void fl_retention_free(fl_retention *rt)
{
    if (!rt) return;
    for (size_t i = 0; i < rt->n; i++) {
        free(rt->t[i].db);
        free(rt->t[i].table);
    }
    free(rt->t);
    fl_snapshots_free(rt->index);
    free(rt);
}

static table_state *state_of(fl_retention *rt, const char *db, const char *table)
{
    for (size_t i = 0; i < rt->n; i++)
        if (!strcmp(rt->t[i].db, db) && !strcmp(rt->t[i].table, table)) return &rt->t[i];
    rt->t = fl_xrealloc(rt->t, (rt->n + 1) * sizeof *rt->t);
    table_state *t = &rt->t[rt->n++];
    memset(t, 0, sizeof *t);
    t->db = fl_xstrdup(db);
    t->table = fl_xstrdup(table);
    return t;
}

static bool covered(const fl_config *cfg, const char *db, const char *table)
{
    char full[600];
    snprintf(full, sizeof full, "%s.%s", db, table);
    for (char **g = cfg->snapshot.tables; g && *g; g++)
        if (fl_glob_match(*g, full)) return true;
    return false;
}

/* The seq from which records are kept (0: none), and the table whose snapshot starts there. */
static uint64_t keep_from(fl_retention *rt, table_state **blocker)
{
    uint64_t keep = 0;
    *blocker = NULL;
    for (size_t i = 0; i < fl_snapshots_tables(rt->index); i++) {
        const char *db, *table;
        fl_snapshots_table(rt->index, i, &db, &table);
        if (!covered(rt->cfg, db, table)) continue;
        uint64_t first = fl_snapshots_complete(rt->index, db, table, NULL);
        table_state *t = state_of(rt, db, table);
        if (first == t->let_go) continue;
        if (!keep || first < keep) {
            keep = first;
            *blocker = t;
        }
    }
    return keep;
}

/* The purge stopped at the snapshot of t (from seq first): queue it again, wait for it, or let
 * it go when it is the one queued for this and still too old or too big. */
static void held_by(fl_retention *rt, fl_store *store, fl_snapshot *snap, table_state *t, uint64_t first,
                    bool *waiting)
{
    if (fl_snapshot_queued(snap, t->db, t->table) || fl_snapshots_running(rt->index, t->db, t->table)) {
        *waiting = true;
        return;
    }
    if (t->requested_at && first > t->requested_at) {
        log_warn("journal retention: even the newest complete snapshot of %s.%s (from seq %" PRIu64
                 ") and what followed it exceed [journal] retain/max_size: it is purged as retention says; an "
                 "applier that needs it asks for a new one",
                 t->db, t->table, first);
        t->let_go = first;
        t->requested_at = 0;
        *waiting = true; /* purge without it at once */
        return;
    }
    fl_store_info info;
    char err[256];
    t->requested_at = fl_store_info_get(store, &info, err, sizeof err) == 0 ? info.last_seq : first;
    log_info("journal retention: snapshotting %s.%s again first: retention would purge its last complete snapshot "
             "(from seq %" PRIu64 "), which an applier that lost its history rebuilds from",
             t->db, t->table, first);
    fl_snapshot_queue(snap, store, t->db, t->table);
    *waiting = true;
}

int64_t fl_retention_run(fl_retention *rt, fl_store *store, fl_snapshot *snap, bool *waiting, char *err,
                         size_t errlen)
{
    const fl_config_journal *j = &rt->cfg->journal;
    *waiting = false;
    if (!j->retain && !j->max_size) return 0;
    if (!snap) return fl_store_purge(store, j->retain, j->max_size, err, errlen);
    if (fl_snapshots_scan(rt->index, store, rt->next, &rt->next, err, errlen) < 0) return -1;
    table_state *blocker;
    uint64_t keep = keep_from(rt, &blocker);
    bool held;
    int64_t n = fl_store_purge_keep(store, j->retain, j->max_size, keep, &held, err, errlen);
    if (n < 0) return -1;
    for (size_t i = 0; i < rt->n; i++) { /* a snapshot queued for retention that no longer holds it back */
        table_state *t = &rt->t[i];
        if (t->requested_at && (!held || t != blocker) &&
            fl_snapshots_complete(rt->index, t->db, t->table, NULL) > t->requested_at)
            t->requested_at = 0;
    }
    if (held && blocker) held_by(rt, store, snap, blocker, keep, waiting);
    return n;
}
