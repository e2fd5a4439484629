/* resp.c — Redis commands in RESP, written straight into an output buffer (no printf on the
 * hot path): the argument framing, each cache operation as its commands, and runs of
 * operations as one variadic command. */
#include "fl-apply/resp.h"

#include <stdbool.h>
#include <string.h>

/* Writes v in decimal ending at end; returns where it starts. */
static char *put_digits(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

/* Writes kind, n in decimal and CRLF at o (room for 23 bytes); returns the end. Lengths and
 * counts are mostly below 1000: those digits are written without a division loop. */
static inline uint8_t *put_header(uint8_t *o, char kind, size_t n)
{
    *o++ = (uint8_t)kind;
    if (n < 10) {
        *o++ = (uint8_t)('0' + n);
    } else if (n < 100) {
        o[0] = (uint8_t)('0' + n / 10);
        o[1] = (uint8_t)('0' + n % 10);
        o += 2;
    } else if (n < 1000) {
        o[0] = (uint8_t)('0' + n / 100);
        o[1] = (uint8_t)('0' + n / 10 % 10);
        o[2] = (uint8_t)('0' + n % 10);
        o += 3;
    } else {
        char tmp[24];
        char *p = put_digits(tmp + sizeof tmp, n);
        size_t len = (size_t)(tmp + sizeof tmp - p);
        memcpy(o, p, len);
        o += len;
    }
    *o++ = '\r';
    *o++ = '\n';
    return o;
}

void fl_resp_header(fl_buf *b, char kind, size_t n)
{
    fl_buf_reserve(b, 24);
    b->len = (size_t)(put_header(b->data + b->len, kind, n) - b->data);
}

/* One bulk string: its header, bytes and CRLF, with one check for room. */
static inline void put_arg(fl_buf *b, const void *p, size_t n)
{
    fl_buf_reserve(b, n + 26);
    uint8_t *o = put_header(b->data + b->len, '$', n);
    if (n) memcpy(o, p, n);
    o += n;
    *o++ = '\r';
    *o++ = '\n';
    b->len = (size_t)(o - b->data);
}

void fl_resp_arg(fl_buf *b, const void *p, size_t n) { put_arg(b, p, n); }

void fl_resp_arg_str(fl_buf *b, const char *s) { fl_resp_arg(b, s, strlen(s)); }

void fl_resp_arg_u64(fl_buf *b, uint64_t v)
{
    char tmp[24];
    char *p = put_digits(tmp + sizeof tmp, v);
    fl_resp_arg(b, p, (size_t)(tmp + sizeof tmp - p));
}

/* Appends one cache operation's commands; returns how many. */
uint32_t fl_resp_op(fl_buf *b, const fl_cache_op *op)
{
    switch (op->kind) {
    case FL_CACHE_SET:
        fl_resp_header(b, '*', op->ttl ? 5 : 3);
        fl_resp_arg(b, "SET", 3);
        fl_resp_arg(b, op->key, op->key_len);
        fl_resp_arg(b, op->value, op->value_len);
        if (op->ttl) {
            fl_resp_arg(b, "EX", 2);
            fl_resp_arg_u64(b, op->ttl);
        }
        return 1;
    case FL_CACHE_HASH: {
        fl_resp_header(b, '*', 2);
        fl_resp_arg(b, "DEL", 3);
        fl_resp_arg(b, op->key, op->key_len);
        if (op->nfields == 0) return 1; /* every column NULL: no hash at all */
        fl_resp_header(b, '*', 2 + 2 * (size_t)op->nfields);
        fl_resp_arg(b, "HSET", 4);
        fl_resp_arg(b, op->key, op->key_len);
        for (uint32_t i = 0; i < op->nfields; i++) {
            fl_resp_arg(b, op->fields[i].name, op->fields[i].name_len);
            fl_resp_arg(b, op->fields[i].value, op->fields[i].value_len);
        }
        if (!op->ttl) return 2;
        fl_resp_header(b, '*', 3);
        fl_resp_arg(b, "EXPIRE", 6);
        fl_resp_arg(b, op->key, op->key_len);
        fl_resp_arg_u64(b, op->ttl);
        return 3;
    }
    default: /* FL_CACHE_DEL */
        fl_resp_header(b, '*', 2);
        fl_resp_arg(b, "DEL", 3);
        fl_resp_arg(b, op->key, op->key_len);
        return 1;
    }
}

/* Whether op can join a run of operations of kind `kind` in one variadic command. */
static bool joins_run(const fl_cache_op *op, uint8_t kind)
{
    if (op->kind != kind) return false;
    return kind == FL_CACHE_DEL || (kind == FL_CACHE_SET && op->ttl == 0);
}

uint32_t fl_resp_run(fl_buf *b, const fl_cache_op *ops, size_t n, size_t *used)
{
    uint8_t kind = ops[0].kind;
    size_t len = 0, bytes = 0;
    if (kind == FL_CACHE_SET || kind == FL_CACHE_DEL)
        while (len < n && len < FL_RESP_RUN_KEYS && bytes < FL_RESP_RUN_BYTES && joins_run(&ops[len], kind)) {
            bytes += ops[len].key_len + (kind == FL_CACHE_SET ? ops[len].value_len : 0);
            len++;
        }
    if (len < 2) {
        *used = 1;
        return fl_resp_op(b, &ops[0]);
    }
    *used = len;
    if (kind == FL_CACHE_DEL) {
        fl_resp_header(b, '*', 1 + len);
        fl_resp_arg(b, "DEL", 3);
        for (size_t i = 0; i < len; i++) put_arg(b, ops[i].key, ops[i].key_len);
        return 1;
    }
    fl_resp_header(b, '*', 1 + 2 * len);
    fl_resp_arg(b, "MSET", 4);
    for (size_t i = 0; i < len; i++) {
        put_arg(b, ops[i].key, ops[i].key_len);
        put_arg(b, ops[i].value, ops[i].value_len);
    }
    return 1;
}
