/* store.h — the journal on LMDB: one writer, many readers in any process.
 *
 * Records are keyed by (seq, part); seq is the transaction's place in the total order.
 * A GTID index maps each GTID to its seq. The source position (GTID set and file:pos) is
 * stored in the same LMDB transaction as the records it covers, so after a crash the
 * journal holds exactly the batches that committed and the position that goes with them.
 * The map grows by itself. Readers never block the writer (LMDB MVCC). */
#ifndef FL_STORE_H
#define FL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal/record.h"

typedef struct fl_store fl_store;

typedef struct fl_store_opts {
    bool write;              /* open as the single writer (a second writer is refused) */
    bool sync;               /* writer: each commit synced to disk (sync = group); false = none */
    size_t initial_map_size; /* 0 = default (64 MiB); grows by doubling when full */
    bool *absent;            /* reader, optional: set to whether a failed open found no journal
                                yet, or one its writer is still creating (so it may open later) */
} fl_store_opts;

/* Where the source stream stands after the last journaled transaction. */
typedef struct fl_position {
    char *gtid_set;  /* canonical GTID set text, "" when unknown (malloc'd) */
    char *file;      /* binlog file name, "" when unknown (malloc'd) */
    uint64_t pos;    /* offset in file of the next event */
    uint32_t flavor; /* fl_flavor of the source */
} fl_position;
void fl_position_free(fl_position *p);

#define FL_JOURNAL_ID_TEXT 33 /* a journal identity: 32 hex digits and a NUL */

typedef struct fl_store_info {
    uint64_t count;     /* transactions */
    uint64_t first_seq; /* 0 when empty */
    uint64_t last_seq;  /* 0 when empty; last complete transaction */
    fl_gtid first_gtid;
    fl_gtid last_gtid;
    uint64_t first_ts, last_ts;
    uint64_t bytes;                    /* encoded record bytes */
    uint64_t map_size;                 /* current LMDB map size */
    uint64_t purged_seq;               /* the purge horizon (see fl_store_purge_horizon) */
    char identity[FL_JOURNAL_ID_TEXT]; /* "" when the journal has none (see fl_store_identity) */
} fl_store_info;

/* Opens (creating when writing) the journal directory. On error returns NULL with a
 * one-line reason in err: missing directory, not a journal, already has a writer, ... */
fl_store *fl_store_open(const char *dir, const fl_store_opts *opts, char *err, size_t errlen);
void fl_store_close(fl_store *s);

/* Writer: batches. Records are queued in memory and written in one LMDB transaction by
 * fl_store_commit, together with the position (NULL keeps the stored one). add assigns
 * t->seq (a new seq for part 0, the same seq for later parts). A transaction whose parts
 * span several commits is complete once its LAST_PART commits; an incomplete tail left by
 * a crash is removed when the writer next opens. Returns 0 or -1 with err. */
int fl_store_add(fl_store *s, fl_txn *t, char *err, size_t errlen);
int fl_store_commit(fl_store *s, const fl_position *pos, char *err, size_t errlen);
void fl_store_abort(fl_store *s); /* drops queued records (and queued snapshot progress) */
/* Writer: the relay's snapshot progress (text of its own format, "" = none), written as meta
 * "snapshot.progress" by the next commit, in the same LMDB transaction as the records queued
 * with it. fl_store_snapshot_progress reads the stored text ("" when none; free it). */
void fl_store_set_snapshot_progress(fl_store *s, const char *text);
int fl_store_snapshot_progress(fl_store *s, char **out, char *err, size_t errlen);
bool fl_store_progress_pending(const fl_store *s); /* set and not yet committed */
size_t fl_store_pending_bytes(const fl_store *s);

/* The stored source position; fields "" / 0 when none. Returns 0 or -1. */
int fl_store_position(fl_store *s, fl_position *out, char *err, size_t errlen);
int fl_store_info_get(fl_store *s, fl_store_info *out, char *err, size_t errlen);

/* The journal's identity: 128 random bits (as 32 hex digits) made in the LMDB transaction
 * that creates the journal, so a journal started again in the same directory has another.
 * Returns 0, 1 when the journal has none (made by an earlier version and not opened by a
 * writer since), -1. */
int fl_store_identity(fl_store *s, char id[FL_JOURNAL_ID_TEXT], char *err, size_t errlen);
/* The purge horizon: the highest seq retention has deleted (0 = none), kept in the same
 * LMDB transaction as the deletion. A seq at or below it that the journal lacks was purged;
 * one above it that the journal lacks was never a complete transaction (seqs have gaps:
 * an unfinished transaction removed at reopen leaves its seq unused). Returns 0 or -1. */
int fl_store_purge_horizon(fl_store *s, uint64_t *seq, char *err, size_t errlen);

/* Reads the complete transaction seq (all parts) into t (reset first).
 * Returns 0, 1 when seq does not exist (or is not complete yet), -1 on error (e.g. a record
 * failing its checksum: "journal record seq N part P: bad checksum"). */
int fl_store_read(fl_store *s, uint64_t seq, fl_txn *t, char *err, size_t errlen);
/* The first complete transaction with seq >= from: sets *seq. Returns 0, 1 if none, -1.
 * It passes over gaps and purged seqs alike: a reader that must not cross a purge compares
 * from with fl_store_purge_horizon. */
int fl_store_next(fl_store *s, uint64_t from, uint64_t *seq, char *err, size_t errlen);
/* Raw streaming (the feed): passes the stored bytes of every record of complete
 * transactions from (seq, part) on, in order, to fn, within one read transaction, until about
 * max_bytes have passed or fn returns non-zero (returned). Records are not decoded or
 * verified here (their reader checks the checksum). *next_seq / *next_part tell where to go
 * on from (the next transaction's part 0 after a last part; either may be NULL). Returns 0,
 * fn's non-zero value, or -1 with err. */
typedef int (*fl_store_raw_fn)(uint64_t seq, uint32_t part, bool last, const uint8_t *data, size_t len,
                               void *ctx); /* last: the record ends its transaction */
int fl_store_scan_raw(fl_store *s, uint64_t seq, uint32_t part, size_t max_bytes, fl_store_raw_fn fn, void *ctx,
                      uint64_t *next_seq, uint32_t *next_part, char *err, size_t errlen);
/* GTID -> seq. Returns 0, 1 when unknown, -1 on error. */
int fl_store_seek_gtid(fl_store *s, const fl_gtid *g, uint64_t *seq, char *err, size_t errlen);

/* Streaming read of a large transaction part by part: calls fn for each decoded part
 * (t is reset before each; its strings point into the journal's memory or the store, valid
 * during the call). fn returns 0 to go on, non-zero to stop (returned); it must not call the store. A reader streaming transaction after transaction keeps its read snapshot
 * between two calls while the next one is there; any other call ends it, and so does
 * fl_store_release: call it before the reader may sit idle, so that it pins no old pages. */
typedef int (*fl_store_part_fn)(const fl_txn *part, void *ctx);
int fl_store_read_parts(fl_store *s, uint64_t seq, fl_store_part_fn fn, void *ctx, char *err, size_t errlen);
void fl_store_release(fl_store *s);

/* Retention: deletes the oldest transactions while older than max_age_s (0 = no limit) or
 * while the journal exceeds max_bytes (0 = no limit). Never deletes the last transaction.
 * Returns the number deleted, or -1. */
int64_t fl_store_purge(fl_store *s, uint64_t max_age_s, uint64_t max_bytes, char *err, size_t errlen);
/* The same, but never deleting seq keep_from or later (0: no limit); *held (may be NULL) is
 * set when that stopped it while retention would have deleted more. */
int64_t fl_store_purge_keep(fl_store *s, uint64_t max_age_s, uint64_t max_bytes, uint64_t keep_from, bool *held,
                            char *err, size_t errlen);

/* Waiting for new records from another process without polling: the writer signals after
 * every commit. fl_store_wait_fd returns a file descriptor that becomes readable after a
 * commit (for libev/poll); call fl_store_wait_ack after it fires. fl_store_wait blocks until
 * last_seq > after_seq or timeout_ms passes (-1 = forever). Returns 1 when there is news,
 * 0 on timeout, -1 on error. */
int fl_store_wait_fd(fl_store *s);
void fl_store_wait_ack(fl_store *s);
int fl_store_wait(fl_store *s, uint64_t after_seq, int timeout_ms);

#endif
