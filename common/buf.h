/* buf.h — a growable byte buffer and an arena for values that live as long as a transaction. */
#ifndef FL_BUF_H
#define FL_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct fl_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} fl_buf;

void fl_buf_free(fl_buf *b);
void fl_buf_reset(fl_buf *b);              /* len = 0, keeps memory */
void fl_buf_grow(fl_buf *b, size_t extra); /* the slow path of fl_buf_reserve */
void fl_buf_puts(fl_buf *b, const char *s);
void fl_buf_printf(fl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fl_buf_put_u32le(fl_buf *b, uint32_t v);
void fl_buf_put_u64le(fl_buf *b, uint64_t v);

/* The calls made per value (inline: encoding a row makes dozens of them). */

/* Room for extra more bytes (and one spare byte for fl_buf_cstr); aborts on out-of-memory. */
static inline void fl_buf_reserve(fl_buf *b, size_t extra)
{
    if (b->cap - b->len <= extra) fl_buf_grow(b, extra);
}

static inline void fl_buf_put(fl_buf *b, const void *p, size_t n)
{
    if (!n) return;
    fl_buf_reserve(b, n);
    __builtin_memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void fl_buf_putc(fl_buf *b, uint8_t c)
{
    fl_buf_reserve(b, 1);
    b->data[b->len++] = c;
}

static inline void fl_buf_put_varint(fl_buf *b, uint64_t v) /* LEB128 */
{
    fl_buf_reserve(b, 10);
    uint8_t *p = b->data + b->len;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    b->len = (size_t)(p - b->data);
}
/* NUL-terminates without counting the NUL in len; returns data as a C string. */
const char *fl_buf_cstr(fl_buf *b);

/* Arena: bump allocator; everything is freed at once. Memory is never moved. */
typedef struct fl_arena_chunk fl_arena_chunk;
typedef struct fl_arena {
    fl_arena_chunk *head;
    size_t used_total; /* bytes handed out, for memory budgets */
} fl_arena;

void *fl_arena_alloc(fl_arena *a, size_t n);                  /* 8-byte aligned; aborts on out-of-memory */
char *fl_arena_strndup(fl_arena *a, const char *s, size_t n); /* NUL-terminated copy */
void *fl_arena_memdup(fl_arena *a, const void *p, size_t n);
void fl_arena_reset(fl_arena *a); /* frees all but keeps one chunk for reuse */
void fl_arena_free(fl_arena *a);

/* Allocation helpers that abort with a message on out-of-memory. */
void *fl_xmalloc(size_t n);
void *fl_xcalloc(size_t n, size_t size);
void *fl_xrealloc(void *p, size_t n);
char *fl_xstrdup(const char *s);

/* s made fit for a one-line message in buf (size n): bytes outside printable ASCII as '?',
 * cut short with "..." when it does not fit. Returns buf. */
const char *fl_printable(const char *s, char *buf, size_t n);

#endif
