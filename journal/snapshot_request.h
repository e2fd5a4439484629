/* snapshot_request.h — how a program asks the relay writing a journal for a snapshot.
 *
 * The request is the file DIR/snapshot.request, text in the relay's snapshot progress format
 * (one item a line, names and key values hex-encoded: see fl-relay/snapshot.c), written whole
 * by a rename. The relay takes it into its progress and removes the file only once that
 * progress is committed to the journal, so a request whose file is gone is durable. Used by
 * `fl-relay --snapshot` (tables), `fl-apply --verify --repair` (keys), and an applier that
 * rebuilds its cache (tables, directly or through the feed). */
#ifndef FL_SNAPSHOT_REQUEST_H
#define FL_SNAPSHOT_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

#define FL_SNAPSHOT_REQUEST_FILE "snapshot.request"

/* True while a process holds the journal's writer lock (a relay is running on DIR). */
bool fl_journal_writer_running(const char *dir);

/* DIR/snapshot.request */
void fl_snapshot_request_path(const char *dir, char *buf, size_t n);

/* Appends p[0..n) as lowercase hex, or "-" when n is 0: one token of the format. */
void fl_snapshot_put_hex(fl_buf *b, const char *p, size_t n);

/* Sends text as a request: waits up to 30 s for an earlier request to be taken, writes it,
 * then waits up to 30 s until the relay has taken and committed it. Returns 0, or -1 with a
 * one-line reason in err (no relay running, not taken in time, the file not writable). */
int fl_snapshot_request_send(const char *dir, const char *text, char *err, size_t errlen);

/* Writes a request for the tables of list (comma-separated db.table) at once, never over an
 * earlier request not taken yet (for a caller that must not block: the feed, an applier that
 * waits for the snapshot anyway). Returns 0, 1 when an earlier request is still waiting to be
 * taken (try again later), or -1 with err (an item that is not db.table, no table named, the
 * file not writable). */
int fl_snapshot_request_tables(const char *dir, const char *list, char *err, size_t errlen);

/* Whether the journal's committed snapshot progress still lists keys to repair (a "repair"
 * item). Returns 0, or -1 with err. */
int fl_snapshot_repairs_pending(const char *dir, bool *pending, char *err, size_t errlen);

#endif
