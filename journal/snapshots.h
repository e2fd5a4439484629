/* snapshots.h — which table snapshots a journal holds whole: an index built by noting its
 * snapshot records (FL_TXN_SNAPSHOT) in journal order.
 *
 * A table's snapshot is complete in the journal when the journal holds its chunks 0, 1, ...
 * up to the one flagged last, in that order; a run whose chunk 0 was purged, or whose chunks
 * skip a number, is not. Applying the journal from the seq of a complete snapshot's chunk 0
 * gives every row of that table as the database holds it (the watermark rule of
 * fl-relay/snapshot.h): that seq is where an applier that lost its history rebuilds from, and
 * what retention must keep. */
#ifndef FL_SNAPSHOTS_H
#define FL_SNAPSHOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/txn.h"
#include "journal/store.h"

typedef struct fl_snapshots fl_snapshots;

fl_snapshots *fl_snapshots_new(void);
void fl_snapshots_free(fl_snapshots *x);

/* Chunk `chunk` (last: the table's last) of a snapshot of db.table is transaction seq. Note
 * in journal order. */
void fl_snapshots_note(fl_snapshots *x, const char *db, const char *table, uint64_t chunk, bool last,
                       uint64_t seq);
/* The same from a decoded transaction or part (those without FL_TXN_SNAPSHOT, and rows read
 * again by key, FL_TXN_SNAPSHOT_KEYS, are ignored). */
void fl_snapshots_note_txn(fl_snapshots *x, const fl_txn *t);

/* The seq of chunk 0 of db.table's latest complete snapshot noted; 0 when none. *previous
 * (may be NULL) gets the one of the complete snapshot before it (0 when none). */
uint64_t fl_snapshots_complete(const fl_snapshots *x, const char *db, const char *table, uint64_t *previous);
/* Whether a snapshot of db.table has started (chunk 0 noted) and not completed since. */
bool fl_snapshots_running(const fl_snapshots *x, const char *db, const char *table);

/* The tables with a complete snapshot noted: count, and the i-th one's names. */
size_t fl_snapshots_tables(const fl_snapshots *x);
void fl_snapshots_table(const fl_snapshots *x, size_t i, const char **db, const char **table);

/* Notes the snapshot records of the local journal from seq `from` to its end, reading only
 * them in full. Sets *next to the seq after the last one looked at (where to go on from).
 * Returns 0 or -1 with err. */
int fl_snapshots_scan(fl_snapshots *x, fl_store *store, uint64_t from, uint64_t *next, char *err, size_t errlen);

#endif
