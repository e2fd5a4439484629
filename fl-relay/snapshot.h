/* snapshot.h — fl-relay's table snapshots, merged with the live stream by watermarks.
 *
 * A table is read in primary-key order, one chunk (`[snapshot] chunk` rows) per SELECT on a
 * connection of its own, without locks and without a transaction spanning chunks. Around
 * each SELECT the relay writes a low and a high watermark row to fastlane.watermark. While
 * the stream passes from the low to the high watermark, the keys of every row of that table
 * it changes are remembered; the chunk goes into the journal as the high watermark's
 * transaction, minus those keys. So a chunk row is journaled after every change it already
 * reflects and before every change it does not, and a row changed or deleted while the chunk
 * was read is left to the stream (it is never older than the cache, never resurrected).
 * Progress (the tables still to do, the chunk number, the last key read) is stored in the
 * journal with the chunk's record, so a relay killed mid-snapshot goes on with the next
 * chunk. The watermark rows themselves never reach the journal: their transactions are
 * journaled empty, keeping their GTIDs. */
#ifndef FL_SNAPSHOT_H
#define FL_SNAPSHOT_H

#include <stdbool.h>

#include "common/config.h"
#include "common/error.h"
#include "common/txn.h"
#include "journal/store.h"

#define FL_WATERMARK_DB "fastlane"
#define FL_WATERMARK_TABLE "watermark"

typedef struct fl_snapshot fl_snapshot;

/* The snapshot driver of this relay, its progress read from the journal. initial: queue
 * every [snapshot] table (the journal is empty at first start and `initial = yes`).
 * Returns NULL with err on a journal error. */
fl_snapshot *fl_snapshot_new(const fl_config *cfg, fl_store *store, bool initial, char *err, size_t errlen);
void fl_snapshot_free(fl_snapshot *s);

/* True while tables remain to be snapshotted. */
bool fl_snapshot_busy(const fl_snapshot *s);

/* Whether db.name is queued (or being read) by this driver. */
bool fl_snapshot_queued(const fl_snapshot *s, const char *db, const char *name);
/* Queues a snapshot of db.name (after those queued already), its progress saved in store with
 * the next commit; nothing when it is queued already. */
void fl_snapshot_queue(fl_snapshot *s, fl_store *store, const char *db, const char *name);

/* The main loop's turn, called when the stream is drained: takes a request of
 * fl_snapshot_request (queued, progress saved in store); when no chunk is in flight and
 * one is due (rate), writes the low watermark, reads the chunk and writes the high watermark.
 * Returns 0, or -1 with e (a failed connection or query: retried at a later turn; a table
 * refused is logged and skipped, not an error). */
int fl_snapshot_step(fl_snapshot *s, fl_store *store, fl_error *e);

/* Every transaction (or part) from the decoder, before it is journaled: removes watermark
 * rows, notes the keys the stream changes in a chunk's window, and at the chunk's high
 * watermark adds the chunk's rows (a snapshot record) and queues the progress in store. */
void fl_snapshot_on_txn(fl_snapshot *s, fl_store *store, fl_txn *txn);

/* The stream restarted from the journal's position: a chunk in flight is read again. */
void fl_snapshot_stream_restarted(fl_snapshot *s);

/* fl-relay -c FILE --snapshot [LIST] [--wait]: asks the relay running on cfg's journal to
 * snapshot the tables of LIST (comma-separated db.table; NULL = all [snapshot] tables) and
 * returns 0 once it took the request; wait: once they are journaled complete. Refusals (no
 * [snapshot] tables, a table outside them, missing or without a key, no relay running): a
 * one-line reason on stderr, non-zero. Returns the exit status. */
int fl_snapshot_request(const fl_config *cfg, const char *list, bool wait);

#endif
