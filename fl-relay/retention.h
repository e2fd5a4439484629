/* retention.h — the relay's journal retention ([journal] retain, max_size) with the
 * snapshots a rebuild needs kept: the latest complete snapshot of each [snapshot] table the
 * journal holds (journal/snapshots.h) is never purged until a newer one is complete. When
 * retention would purge it, the table is snapshotted again first, and only once that one is
 * complete do the older records go. A max_size too small to hold even a table's newest
 * snapshot and what followed it is said in the log, and that snapshot is then purged as
 * retention says (an applier that needs one asks for it). */
#ifndef FL_RETENTION_H
#define FL_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "fl-relay/snapshot.h"
#include "journal/store.h"

typedef struct fl_retention fl_retention;

fl_retention *fl_retention_new(const fl_config *cfg);
void fl_retention_free(fl_retention *rt);

/* One run over store (snap: the relay's snapshot driver, NULL without [snapshot] tables).
 * Returns the transactions deleted, or -1 with err; *waiting is set while a purge waits for
 * a snapshot to complete (run again soon). */
int64_t fl_retention_run(fl_retention *rt, fl_store *store, fl_snapshot *snap, bool *waiting, char *err,
                         size_t errlen);

#endif
