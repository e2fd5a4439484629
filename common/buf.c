/* buf.c — growable byte buffers, arenas and allocation helpers that abort on exhaustion.
 * Out-of-memory is not recoverable for these daemons: they log and abort, and the journal's
 * transactional writes guarantee nothing half-written survives. */
#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "fastlane: out of memory allocating %zu bytes\n", n);
    abort();
}

void *fl_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *fl_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *fl_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *fl_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = fl_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

void fl_buf_free(fl_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void fl_buf_reset(fl_buf *b) { b->len = 0; }

void fl_buf_grow(fl_buf *b, size_t extra)
{
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len <= extra) {
        if (cap > SIZE_MAX / 2) oom(b->len + extra);
        cap *= 2;
    }
    b->data = fl_xrealloc(b->data, cap);
    b->cap = cap;
}

void fl_buf_puts(fl_buf *b, const char *s) { fl_buf_put(b, s, strlen(s)); }

void fl_buf_printf(fl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        fl_buf_reserve(b, (size_t)n + 1);
        vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void fl_buf_put_u32le(fl_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fl_buf_put(b, x, 4);
}

void fl_buf_put_u64le(fl_buf *b, uint64_t v)
{
    fl_buf_put_u32le(b, (uint32_t)v);
    fl_buf_put_u32le(b, (uint32_t)(v >> 32));
}

const char *fl_buf_cstr(fl_buf *b)
{
    fl_buf_reserve(b, 1);
    b->data[b->len] = 0;
    return (const char *)b->data;
}

/* ---- arena ---- */

struct fl_arena_chunk {
    fl_arena_chunk *next;
    size_t size, used;
    _Alignas(16) uint8_t mem[];
};

#define ARENA_CHUNK_MIN (64 * 1024)

void *fl_arena_alloc(fl_arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    fl_arena_chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = n > ARENA_CHUNK_MIN ? n : ARENA_CHUNK_MIN;
        if (c && c->size * 2 > size && c->size < 16 * 1024 * 1024 && n <= c->size * 2) size = c->size * 2;
        c = fl_xmalloc(sizeof(*c) + size);
        c->size = size;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->mem + c->used;
    c->used += n;
    a->used_total += n;
    return p;
}

char *fl_arena_strndup(fl_arena *a, const char *s, size_t n)
{
    char *p = fl_arena_alloc(a, n + 1);
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void *fl_arena_memdup(fl_arena *a, const void *p, size_t n)
{
    void *q = fl_arena_alloc(a, n ? n : 1);
    if (n) memcpy(q, p, n);
    return q;
}

void fl_arena_reset(fl_arena *a)
{
    fl_arena_chunk *keep = NULL, *c = a->head;
    /* keep the largest chunk so steady-state transactions do not allocate */
    while (c) {
        fl_arena_chunk *next = c->next;
        if (!keep || c->size > keep->size) {
            if (keep) free(keep);
            keep = c;
        } else {
            free(c);
        }
        c = next;
    }
    if (keep) {
        keep->used = 0;
        keep->next = NULL;
    }
    a->head = keep;
    a->used_total = 0;
}

void fl_arena_free(fl_arena *a)
{
    fl_arena_chunk *c = a->head;
    while (c) {
        fl_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used_total = 0;
}

const char *fl_printable(const char *s, char *buf, size_t n)
{
    if (!n) return buf;
    size_t k = 0, len = strlen(s);
    for (size_t i = 0; i < len && k + 4 < n; i++) buf[k++] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
    if (k < len && n > 4) {
        buf[k++] = '.';
        buf[k++] = '.';
        buf[k++] = '.';
    }
    buf[k] = 0;
    return buf;
}
