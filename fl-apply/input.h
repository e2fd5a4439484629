/* input.h — where the applier reads transactions from: the local journal ([apply] journal,
 * tailed through LMDB and woken by the writer's commits) or a relay's feed ([apply] relay,
 * streamed over TCP/TLS from a seq). Both give transactions in journal order by seq. */
#ifndef FL_INPUT_H
#define FL_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/error.h"
#include "common/gtid.h"
#include "journal/store.h"

typedef struct fl_input fl_input;

typedef struct fl_input_head {
    uint64_t count;                    /* transactions (local only; 0 from a relay) */
    uint64_t first_seq;                /* 0 when empty */
    uint64_t last_seq;                 /* 0 when empty */
    uint64_t last_ts;                  /* commit time of the last one; 0 when unknown (relay) */
    char last_gtid[FL_GTID_TEXT_MAX];  /* "" when unknown (relay) */
    uint64_t purged_seq;               /* purge horizon: seqs up to it that are missing were purged (a relay
                          * does not tell it: everything before its first seq counts) */
    char identity[FL_JOURNAL_ID_TEXT]; /* the journal's identity; "" when unknown (a journal or a
                                        * relay of an earlier version) */
} fl_input_head;

/* Opens the local journal read-only, or prepares the relay client (it connects on first
 * use). Returns NULL with a one-line reason; then *absent (absent may be NULL) tells whether
 * the local journal is not there yet or its writer is still creating it, which waiting cures. */
fl_input *fl_input_open(const fl_config_apply *cfg, bool *absent, char *err, size_t errlen);
void fl_input_close(fl_input *s);
const char *fl_input_name(const fl_input *s); /* journal path or relay address */
/* The identity of the journal read: the local one's, or the one the relay named when its
 * last session started ("" when not known). */
const char *fl_input_identity(const fl_input *s);

/* Every call below returns 0 (or 1 where said), or -1 with e; e->permanent when retrying
 * cannot help (a damaged journal record, a refused secret, an untrusted certificate, a
 * purged position), else the caller retries later. */

/* The journal's bounds (a relay tells them when a session starts). */
int fl_input_bounds(fl_input *s, fl_input_head *h, fl_error *e);
/* GTID -> seq; 1 when the journal does not hold it. */
int fl_input_seek_gtid(fl_input *s, const char *gtid, uint64_t *seq, fl_error *e);
/* The first transaction with seq >= from (from = 0: the journal's first, whatever its seq):
 * sets *seq; 1 when there is none yet. A local journal never passes over a purge: returns
 * FL_INPUT_PURGED with e naming the seqs lost when retention deleted `from` (a seq that
 * was never used, a gap, is passed over). */
#define FL_INPUT_PURGED 2
/* ... and FL_INPUT_REPLACED (err says so) when the local journal's directory was found to
 * hold another journal than the one read so far (moved away and started again): the new
 * one is open from now on, and positions of the old one mean nothing in it. That is looked
 * at when a look finds nothing new right after another that found nothing (a caller looks
 * again before it waits). */
#define FL_INPUT_REPLACED 3
int fl_input_next(fl_input *s, uint64_t from, uint64_t *seq, fl_error *e);
/* Passes transaction seq (just returned by fl_input_next) to fn, part by part (a relay
 * delivers it reassembled, as one part). Returns 0, fn's non-zero result, or -1. */
int fl_input_read(fl_input *s, uint64_t seq, fl_store_part_fn fn, void *ctx, fl_error *e);
/* Passes every part of the transactions with seq in [from, to] that carry flag (an
 * fl_txn_flags bit) to fn, in order; a local journal reads only those records in full.
 * Returns 0, fn's non-zero result, or -1. */
int fl_input_scan_flagged(fl_input *s, uint64_t from, uint64_t to, uint32_t flag, fl_store_part_fn fn, void *ctx,
                          fl_error *e);
/* Asks the relay of the journal to snapshot the tables of list ("db.t,db.u"): a request file
 * in a local journal's directory (journal/snapshot_request.h), a request through a relay's
 * feed. Returns 0 once asked, or -1 with e (e->permanent: the relay refused it, for a table
 * outside its [snapshot] tables; else retry later, as when another request is pending). */
int fl_input_request_snapshot(fl_input *s, const char *list, fl_error *e);
/* Lets go of what reading holds between transactions (a local journal's read snapshot):
 * call it before the caller may not read for a while (waiting for its target). */
void fl_input_release(fl_input *s);
/* Call before the last fl_input_next preceding fl_input_wait: a transaction arriving
 * after it ends the wait at once. */
void fl_input_arm(fl_input *s);
/* Sleeps until a transaction at or after `from` may be there, a signal, or timeout_ms. */
void fl_input_wait(fl_input *s, uint64_t from, int timeout_ms);

#endif
