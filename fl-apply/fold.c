/* fold.c — the last operation of every key in a replayed range: an open-addressing hash
 * table (linear probing, at most half full) of key → (seq, position), the keys copied into
 * an arena; and the pattern deletes of the range, in order (rare: a list). */
#include "fl-apply/fold.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

typedef struct slot {
    uint64_t hash; /* 0 = empty (a real hash of 0 is stored as 1) */
    const char *key;
    uint64_t seq;
    uint32_t key_len, pos;
} slot;

typedef struct pattern {
    const char *text;
    uint32_t len, pos;
    uint64_t seq;
} pattern;

struct fl_fold {
    slot *slots;
    size_t cap, used; /* cap is a power of two */
    fl_arena keys;
    pattern *patterns;
    size_t npatterns;
};

#define INITIAL_CAP 1024

/* FNV-1a, then a final mix so that linear probing sees well-spread low bits */
static uint64_t key_hash(const char *key, uint32_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (uint32_t i = 0; i < len; i++) {
        h ^= (uint8_t)key[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h ? h : 1;
}

fl_fold *fl_fold_new(void)
{
    fl_fold *f = fl_xcalloc(1, sizeof *f);
    f->cap = INITIAL_CAP;
    f->slots = fl_xcalloc(f->cap, sizeof *f->slots);
    return f;
}

void fl_fold_free(fl_fold *f)
{
    if (!f) return;
    free(f->slots);
    free(f->patterns);
    fl_arena_free(&f->keys);
    free(f);
}

static slot *find(const fl_fold *f, const char *key, uint32_t len, uint64_t h)
{
    size_t mask = f->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        slot *s = &f->slots[i];
        if (!s->hash) return s;
        if (s->hash == h && s->key_len == len && !memcmp(s->key, key, len)) return s;
    }
}

static void grow(fl_fold *f)
{
    slot *old = f->slots;
    size_t old_cap = f->cap;
    f->cap *= 2;
    f->slots = fl_xcalloc(f->cap, sizeof *f->slots);
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].hash) *find(f, old[i].key, old[i].key_len, old[i].hash) = old[i];
    free(old);
}

void fl_fold_note(fl_fold *f, const char *key, uint32_t key_len, uint64_t seq, uint32_t pos)
{
    uint64_t h = key_hash(key, key_len);
    slot *s = find(f, key, key_len, h);
    if (!s->hash) {
        if ((f->used + 1) * 2 > f->cap) {
            grow(f);
            s = find(f, key, key_len, h);
        }
        s->hash = h;
        s->key = fl_arena_memdup(&f->keys, key, key_len ? key_len : 1);
        s->key_len = key_len;
        f->used++;
    }
    s->seq = seq;
    s->pos = pos;
}

bool fl_fold_is_last(const fl_fold *f, const char *key, uint32_t key_len, uint64_t seq, uint32_t pos)
{
    const slot *s = find(f, key, key_len, key_hash(key, key_len));
    return !s->hash || (s->seq == seq && s->pos == pos);
}

void fl_fold_note_match(fl_fold *f, const char *pat, uint32_t len, uint64_t seq, uint32_t pos)
{
    f->patterns = fl_xrealloc(f->patterns, (f->npatterns + 1) * sizeof *f->patterns);
    f->patterns[f->npatterns++] =
        (pattern){.text = fl_arena_memdup(&f->keys, pat, len ? len : 1), .len = len, .pos = pos, .seq = seq};
}

/* '*' any text, '?' one byte, '\' escapes; everything else literal */
static bool matches(const char *p, size_t pl, const char *k, size_t kl)
{
    size_t pi = 0, ki = 0, star_p = SIZE_MAX, star_k = 0;
    while (ki < kl) {
        if (pi < pl && p[pi] == '*') {
            star_p = ++pi;
            star_k = ki;
            continue;
        }
        if (pi < pl && p[pi] == '?') {
            pi++;
            ki++;
            continue;
        }
        size_t lit = pi < pl && p[pi] == '\\' && pi + 1 < pl ? pi + 1 : pi;
        if (lit < pl && p[lit] == k[ki]) {
            pi = lit + 1;
            ki++;
            continue;
        }
        if (star_p == SIZE_MAX) return false;
        pi = star_p;
        ki = ++star_k;
    }
    while (pi < pl && p[pi] == '*') pi++;
    return pi == pl;
}

bool fl_fold_deleted_later(const fl_fold *f, const char *key, uint32_t key_len, uint64_t seq, uint32_t pos)
{
    for (size_t i = f->npatterns; i-- > 0;) {
        const pattern *m = &f->patterns[i];
        if (m->seq < seq || (m->seq == seq && m->pos <= pos)) break; /* noted in order: the rest are earlier */
        if (matches(m->text, m->len, key, key_len)) return true;
    }
    return false;
}

size_t fl_fold_keys(const fl_fold *f) { return f->used; }

size_t fl_fold_bytes(const fl_fold *f) { return f->cap * sizeof(slot) + f->keys.used_total; }
