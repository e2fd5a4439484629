/* rebuild.h — where an applier whose history is lost (an empty cache on a journal whose
 * start was purged, a checkpoint of another journal, a checkpoint retention purged) starts
 * again so that the cache ends complete: the earliest chunk 0 among the latest complete
 * snapshot of each rule table the journal holds (journal/snapshots.h). Applied from there,
 * folded up to the journal's head (fl-apply/fold.h), every rule table's rows reach the cache
 * as the database holds them, each key written once with its latest image. A rule table
 * without a complete snapshot in the journal is named, to be requested. */
#ifndef FL_REBUILD_H
#define FL_REBUILD_H

#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "fl-apply/input.h"
#include "fl-apply/rules.h"

typedef struct fl_rebuild fl_rebuild;

/* The plan for the tables of rules (kept by reference: rules must outlive it). */
fl_rebuild *fl_rebuild_new(const fl_rules *rules);
void fl_rebuild_free(fl_rebuild *rb);

/* Forgets every snapshot noted: the next scan reads from seq `from` (the journal's first). */
void fl_rebuild_reset(fl_rebuild *rb, uint64_t from);
/* Notes the snapshot records of src from after the last one noted to the journal's end.
 * Returns 0 or -1 with e. */
int fl_rebuild_scan(fl_rebuild *rb, fl_input *src, fl_error *e);

/* Returns 0 with *from, the seq to rebuild from, when every rule table has a complete
 * snapshot noted; else 1 with the tables that lack one in missing ("db.t,db.u"). */
int fl_rebuild_start(const fl_rebuild *rb, uint64_t *from, fl_buf *missing);
/* The rule tables (count, and the i-th as "db.table") and the chunk-0 seq of the latest
 * complete snapshot of each (0 = none), for the log. */
size_t fl_rebuild_tables(const fl_rebuild *rb);
const char *fl_rebuild_table(const fl_rebuild *rb, size_t i, uint64_t *snapshot_seq);

#endif
