/* target.h — a cache the applier writes to: Redis or memcached, chosen by the target URL.
 *
 * The applier submits transactions in journal order, each with the checkpoint that follows
 * it; a target may keep several in flight (Redis pipelines MULTI/EXEC blocks) and
 * fl_target_flush waits until every submitted transaction is acknowledged. On Redis the
 * checkpoint is written inside each transaction's MULTI/EXEC (exactly-once); on memcached it
 * is written durably to a local file after each flush (at-least-once, idempotent ops). */
#ifndef FL_TARGET_H
#define FL_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/error.h"
#include "common/gtid.h"
#include "fl-apply/group.h"
#include "fl-apply/rules.h"
#include "journal/store.h"

typedef struct fl_checkpoint {
    uint64_t seq;                     /* last applied transaction; 0 = none */
    char gtid[FL_GTID_TEXT_MAX];      /* its GTID text, "" when none */
    char journal[FL_JOURNAL_ID_TEXT]; /* identity of the journal seq is in; "" when unknown
                                       * (written by an earlier version) */
    uint64_t ts;                      /* its commit time (unix s) */
    /* read back only: the cache may already show transactions up to this seq (UINT64_MAX:
     * up to any), so applying those after seq again must be folded (fl-apply/fold.h); 0 when
     * nothing after seq can be visible */
    uint64_t fold_until;
} fl_checkpoint;

typedef struct fl_target fl_target;

/* Parses cfg->target and connects. Returns NULL with e: a bad URL (e->permanent) or a
 * server that cannot be reached now (retry later). */
fl_target *fl_target_open(const fl_config_apply *cfg, fl_error *e);
void fl_target_close(fl_target *t);
const char *fl_target_kind(const fl_target *t); /* "redis", "redis-cluster" or "memcached" */
/* Whether the target can delete keys by pattern (FL_CACHE_DEL_MATCH): Redis can; memcached
 * cannot list its keys, and the applier must not submit such operations to it. */
bool fl_target_deletes_by_pattern(const fl_target *t);

/* The caps on one group of consecutive transactions (fl-apply/group.h): FL_GROUP_CAPS_DEFAULT,
 * on a Redis Cluster more, per primary it writes to (C1). */
fl_group_caps fl_target_group_caps(const fl_target *t);
/* Whether the target applies a group in several atomic units, each bounded by max_atomic_ops
 * (a Redis Cluster: each slot's part of it), rather than whole; and the unit of a key's
 * operations there (< FL_GROUP_UNITS). */
bool fl_target_has_units(const fl_target *t);
uint32_t fl_target_atomic_unit(const fl_target *t, const char *key, uint32_t key_len);

/* Claims the target for this applier before it reads the checkpoint: on Redis, ends the
 * applier's previous connection, so that nothing it still had queued can run after the
 * checkpoint is read (fl-apply --status does not claim). Returns 0, -1 with err, or 1 with
 * err when another applier of the same name runs on the target (a Redis Cluster tells): the
 * applier must stop. */
int fl_target_fence(fl_target *t, char *err, size_t errlen);

/* The last checkpoint written (call it once, right after opening and fencing: a target may set
 * itself up from it). Returns 0, 1 when there is none, -1 on error. */
int fl_target_read_checkpoint(fl_target *t, fl_checkpoint *cp, char *err, size_t errlen);

/* Submits one transaction's operations followed by its checkpoint. Above max_atomic_ops a
 * Redis transaction is sent as ordered chunks (the checkpoint goes with the last);
 * *chunked tells. Returns 0, or -1 when the connection failed (reopen and resume from
 * fl_target_read_checkpoint). */
int fl_target_submit(fl_target *t, const fl_cache_ops *ops, const fl_checkpoint *cp, int *chunked, char *err,
                     size_t errlen);
/* Waits until everything submitted is applied and checks every reply in order.
 * Returns 0, or -1 (an error reply or a lost connection: nothing after the last good
 * checkpoint can be assumed applied). */
int fl_target_flush(fl_target *t, char *err, size_t errlen);
/* Transactions submitted and not yet flushed. */
uint32_t fl_target_in_flight(const fl_target *t);

/* Whether the cache already holds the effect of transaction seq on key, so that applying it
 * again would be redundant (memcached: the key's server holds everything up to a later seq
 * while another server is being refilled). */
bool fl_target_holds(const fl_target *t, const char *key, uint32_t key_len, uint64_t seq);
/* Transactions from seq on are going to be applied again (--from-seq/--from-gtid): none of
 * them counts as held any longer. */
void fl_target_rewind(fl_target *t, uint64_t seq);
/* The transactions up to seq are about to be applied folded (a rebuild): every checkpoint
 * written from now on tells a restart to fold up to seq (fl_checkpoint.fold_until), whatever
 * the target's earlier checkpoints said. A target that folds every resume anyway (memcached)
 * or keeps no such mark ignores it. */
void fl_target_will_show(fl_target *t, uint64_t seq);

#endif
