/* fold.h — folding a replayed range of the journal: each key written once, with its latest
 * image in the range.
 *
 * A replay re-applies transactions whose effects the cache may already show (--from-seq
 * below the checkpoint, a memcached server refilled from the journal, a resume after the
 * last checkpoint). Applied one by one, a key would travel back in time until the replay
 * caught up, and a deleted key would reappear. Folded, the range is read twice: the first
 * pass notes, for every key, its last operation in the range (the transaction's seq and the
 * operation's position in that transaction); the second applies only those operations,
 * and leaves out too the last write of a key that a later pattern delete (a truncated
 * table's keys) removes anyway. */
#ifndef FL_FOLD_H
#define FL_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fl_fold fl_fold;

fl_fold *fl_fold_new(void);
void fl_fold_free(fl_fold *f);

/* Operation number pos of transaction seq writes key (later notes of a key replace earlier
 * ones: note in journal order). */
void fl_fold_note(fl_fold *f, const char *key, uint32_t key_len, uint64_t seq, uint32_t pos);
/* Whether that operation is the key's last one noted (a key never noted: true). */
bool fl_fold_is_last(const fl_fold *f, const char *key, uint32_t key_len, uint64_t seq, uint32_t pos);

/* Operation number pos of transaction seq deletes every key matching pattern, written as
 * rules write them: '*' any text, '?' any one byte, '\\' makes the next byte literal. */
void fl_fold_note_match(fl_fold *f, const char *pattern, uint32_t len, uint64_t seq, uint32_t pos);
/* Whether a pattern noted after operation pos of transaction seq covers key: whatever that
 * operation writes is deleted again before the range ends. */
bool fl_fold_deleted_later(const fl_fold *f, const char *key, uint32_t key_len, uint64_t seq, uint32_t pos);

size_t fl_fold_keys(const fl_fold *f);  /* distinct keys noted */
size_t fl_fold_bytes(const fl_fold *f); /* memory held */

#endif
