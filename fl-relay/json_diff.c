/* json_diff.c — applies MySQL's binlog JSON diffs to a document's text.
 *
 * A diff vector is a sequence of: operation (1 byte: 0 replace, 1 insert, 2 remove), path
 * (packed length, then text such as $.a."b c"[2]), and unless removing, the value (packed
 * length, then a binary JSON document). The document text is parsed into a small tree
 * whose scalars keep their text, each diff edits the tree, and the tree is printed back the
 * way MySQL prints JSON. Object members are kept in MySQL's order (shorter keys first, then
 * by bytes), so an inserted key lands where the server's own document has it. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/json_text.h"
#include "fl-relay/events.h"
#include "fl-relay/json_binary.h"
#include "fl-relay/json_diff.h"

#define MAX_DEPTH 100

enum { J_SCALAR, J_OBJECT, J_ARRAY };

typedef struct jnode jnode;
typedef struct jmember {
    const char *key; /* decoded key (objects) */
    size_t klen;
    const char *raw; /* key as written, with its quotes */
    size_t rawlen;
    jnode *val;
} jmember;

struct jnode {
    int kind;
    const char *text; /* scalars: their JSON text */
    size_t len;
    jmember *m; /* members or elements */
    size_t n, cap;
};

typedef struct ctx {
    fl_arena *arena;
    char *err;
    size_t errlen;
} ctx;

static jnode *node(ctx *c, int kind)
{
    jnode *n = fl_arena_alloc(c->arena, sizeof *n);
    memset(n, 0, sizeof *n);
    n->kind = kind;
    return n;
}

static jmember *grow(ctx *c, jnode *n)
{
    if (n->n == n->cap) {
        size_t cap = n->cap ? 2 * n->cap : 4;
        jmember *m = fl_arena_alloc(c->arena, cap * sizeof *m);
        if (n->n) memcpy(m, n->m, n->n * sizeof *m);
        n->m = m;
        n->cap = cap;
    }
    return &n->m[n->n++];
}

/* ---- parsing JSON text --------------------------------------------------------------- */

typedef struct src {
    const char *p, *end;
} src;

static void ws(src *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

/* A string token starting at '"': its raw span, and its decoded bytes into the arena. */
static int string_token(ctx *c, src *s, const char **raw, size_t *rawlen, const char **dec, size_t *declen)
{
    const char *start = s->p++;
    char *out = fl_arena_alloc(c->arena, (size_t)(s->end - s->p) + 1);
    size_t n = 0;
    while (s->p < s->end && *s->p != '"') {
        char ch = *s->p++;
        if (ch == '\\') {
            if (s->p >= s->end) break;
            char e = *s->p++;
            switch (e) {
            case 'n': ch = '\n'; break;
            case 't': ch = '\t'; break;
            case 'r': ch = '\r'; break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case 'u': {
                unsigned cp = 0;
                if (s->end - s->p < 4) return fl_errorf(c->err, c->errlen, "JSON diff: bad \\u escape");
                for (int i = 0; i < 4; i++) {
                    char h = *s->p++;
                    cp = cp * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0' : (h | 32) - 'a' + 10);
                }
                if (cp < 0x80) {
                    out[n++] = (char)cp;
                } else if (cp < 0x800) {
                    out[n++] = (char)(0xc0 | cp >> 6);
                    out[n++] = (char)(0x80 | (cp & 0x3f));
                } else {
                    out[n++] = (char)(0xe0 | cp >> 12);
                    out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                    out[n++] = (char)(0x80 | (cp & 0x3f));
                }
                continue;
            }
            default: ch = e; break;
            }
        }
        out[n++] = ch;
    }
    if (s->p >= s->end) return fl_errorf(c->err, c->errlen, "JSON diff: unterminated string in the document");
    s->p++;
    *raw = start;
    *rawlen = (size_t)(s->p - start);
    *dec = out;
    *declen = n;
    return 0;
}

static int parse_value(ctx *c, src *s, int depth, jnode **out)
{
    if (depth > MAX_DEPTH) return fl_errorf(c->err, c->errlen, "JSON diff: document nested too deeply");
    ws(s);
    if (s->p >= s->end) return fl_errorf(c->err, c->errlen, "JSON diff: truncated document");
    char ch = *s->p;
    if (ch == '{' || ch == '[') {
        bool obj = ch == '{';
        jnode *n = node(c, obj ? J_OBJECT : J_ARRAY);
        s->p++;
        ws(s);
        if (s->p < s->end && *s->p == (obj ? '}' : ']')) {
            s->p++;
            *out = n;
            return 0;
        }
        for (;;) {
            jmember *m = grow(c, n);
            memset(m, 0, sizeof *m);
            if (obj) {
                ws(s);
                if (s->p >= s->end || *s->p != '"')
                    return fl_errorf(c->err, c->errlen, "JSON diff: bad object key in the document");
                if (string_token(c, s, &m->raw, &m->rawlen, &m->key, &m->klen) != 0) return -1;
                ws(s);
                if (s->p >= s->end || *s->p != ':')
                    return fl_errorf(c->err, c->errlen, "JSON diff: ':' expected in the document");
                s->p++;
            }
            if (parse_value(c, s, depth + 1, &m->val) != 0) return -1;
            ws(s);
            if (s->p < s->end && *s->p == ',') {
                s->p++;
                continue;
            }
            if (s->p < s->end && *s->p == (obj ? '}' : ']')) {
                s->p++;
                break;
            }
            return fl_errorf(c->err, c->errlen, "JSON diff: ',' or end expected in the document");
        }
        *out = n;
        return 0;
    }
    jnode *n = node(c, J_SCALAR);
    if (ch == '"') {
        const char *dec;
        size_t declen;
        if (string_token(c, s, &n->text, &n->len, &dec, &declen) != 0) return -1;
    } else {
        const char *start = s->p;
        while (s->p < s->end && *s->p != ',' && *s->p != '}' && *s->p != ']' && *s->p != ' ' && *s->p != '\n' &&
               *s->p != '\t' && *s->p != '\r')
            s->p++;
        if (s->p == start) return fl_errorf(c->err, c->errlen, "JSON diff: value expected in the document");
        n->text = start;
        n->len = (size_t)(s->p - start);
    }
    *out = n;
    return 0;
}

/* The text must be JSON by the one definition (common/json_text.h); the tree builder below
 * then only needs to find the spans. */
static int parse_text(ctx *c, const char *text, size_t len, jnode **out)
{
    if (!fl_json_text_valid(text, len))
        return fl_errorf(c->err, c->errlen, "JSON diff: the document is not valid JSON");
    src s = {text, text + len};
    if (parse_value(c, &s, 0, out) != 0) return -1;
    ws(&s);
    if (s.p != s.end) return fl_errorf(c->err, c->errlen, "JSON diff: trailing bytes after the document");
    return 0;
}

static void print(const jnode *n, fl_buf *out)
{
    if (n->kind == J_SCALAR) {
        fl_buf_put(out, n->text, n->len);
        return;
    }
    bool obj = n->kind == J_OBJECT;
    fl_buf_putc(out, obj ? '{' : '[');
    for (size_t i = 0; i < n->n; i++) {
        if (i) fl_buf_puts(out, ", ");
        if (obj) {
            fl_buf_put(out, n->m[i].raw, n->m[i].rawlen);
            fl_buf_puts(out, ": ");
        }
        print(n->m[i].val, out);
    }
    fl_buf_putc(out, obj ? '}' : ']');
}

/* ---- paths ----------------------------------------------------------------------------- */

typedef struct leg {
    bool is_key;
    const char *key; /* decoded */
    size_t klen;
    const char *raw; /* as it should be printed as a member key, with quotes */
    size_t rawlen;
    bool from_last; /* [last] or [last-N] */
    uint64_t index;
} leg;

static int parse_path(ctx *c, const char *p, size_t len, leg *legs, size_t *nlegs, size_t cap)
{
    const char *end = p + len;
    if (p >= end || *p != '$') return fl_errorf(c->err, c->errlen, "JSON diff: path does not start with $");
    p++;
    size_t n = 0;
    while (p < end) {
        if (n == cap) return fl_errorf(c->err, c->errlen, "JSON diff: path too long");
        leg *l = &legs[n];
        memset(l, 0, sizeof *l);
        if (*p == '.') {
            p++;
            l->is_key = true;
            if (p < end && *p == '"') {
                src s = {p, end};
                if (string_token(c, &s, &l->raw, &l->rawlen, &l->key, &l->klen) != 0) return -1;
                p = s.p;
            } else {
                const char *start = p;
                while (p < end && *p != '.' && *p != '[') p++;
                if (p == start) return fl_errorf(c->err, c->errlen, "JSON diff: empty member name in path");
                l->key = start;
                l->klen = (size_t)(p - start);
                /* print as a JSON string */
                char *q = fl_arena_alloc(c->arena, l->klen + 3);
                q[0] = '"';
                memcpy(q + 1, start, l->klen);
                q[l->klen + 1] = '"';
                l->raw = q;
                l->rawlen = l->klen + 2;
            }
        } else if (*p == '[') {
            p++;
            while (p < end && *p == ' ') p++;
            if (end - p >= 4 && !memcmp(p, "last", 4)) {
                l->from_last = true;
                p += 4;
                while (p < end && *p == ' ') p++;
                if (p < end && *p == '-') {
                    p++;
                    while (p < end && *p == ' ') p++;
                } else {
                    goto close;
                }
            }
            if (p >= end || *p < '0' || *p > '9')
                return fl_errorf(c->err, c->errlen, "JSON diff: bad array index in path");
            while (p < end && *p >= '0' && *p <= '9') {
                if (l->index > UINT32_MAX) return fl_errorf(c->err, c->errlen, "JSON diff: array index too large");
                l->index = l->index * 10 + (uint64_t)(*p++ - '0');
            }
        close:
            while (p < end && *p == ' ') p++;
            if (p >= end || *p != ']') return fl_errorf(c->err, c->errlen, "JSON diff: ']' expected in path");
            p++;
        } else {
            return fl_errorf(c->err, c->errlen, "JSON diff: unexpected '%c' in path", *p);
        }
        n++;
    }
    *nlegs = n;
    return 0;
}

/* MySQL's order of object keys: shorter first, then by bytes. */
static int key_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    if (al != bl) return al < bl ? -1 : 1;
    return memcmp(a, b, al);
}

static long find_key(const jnode *n, const char *key, size_t klen)
{
    for (size_t i = 0; i < n->n; i++)
        if (n->m[i].klen == klen && !memcmp(n->m[i].key, key, klen)) return (long)i;
    return -1;
}

/* Resolves an array leg against an array of n elements; SIZE_MAX when before the start. */
static size_t array_index(const leg *l, size_t n)
{
    if (!l->from_last) return (size_t)l->index;
    if (n == 0 || l->index > n - 1) return SIZE_MAX;
    return n - 1 - (size_t)l->index;
}

static int apply_one(ctx *c, jnode **root, int op, const leg *legs, size_t nlegs, jnode *value, const char *path,
                     size_t pathlen)
{
    if (nlegs == 0) {
        if (op != 0)
            return fl_errorf(c->err, c->errlen, "JSON diff: cannot %s the whole document",
                             op == 1 ? "insert" : "remove");
        *root = value;
        return 0;
    }
    jnode *cur = *root;
    for (size_t i = 0; i + 1 < nlegs; i++) {
        const leg *l = &legs[i];
        long k = -1;
        if (l->is_key && cur->kind == J_OBJECT) {
            k = find_key(cur, l->key, l->klen);
        } else if (!l->is_key && cur->kind == J_ARRAY) {
            size_t idx = array_index(l, cur->n);
            if (idx < cur->n) k = (long)idx;
        }
        if (k < 0)
            return fl_errorf(c->err, c->errlen, "JSON diff: path %.*s not found in the document", (int)pathlen,
                             path);
        cur = cur->m[k].val;
    }
    const leg *l = &legs[nlegs - 1];
    if (l->is_key) {
        if (cur->kind != J_OBJECT)
            return fl_errorf(c->err, c->errlen, "JSON diff: path %.*s: not an object", (int)pathlen, path);
        long k = find_key(cur, l->key, l->klen);
        if (op == 2) {
            if (k < 0)
                return fl_errorf(c->err, c->errlen, "JSON diff: path %.*s not found in the document", (int)pathlen,
                                 path);
            memmove(&cur->m[k], &cur->m[k + 1], (cur->n - (size_t)k - 1) * sizeof *cur->m);
            cur->n--;
            return 0;
        }
        if (k >= 0) {
            cur->m[k].val = value;
            return 0;
        }
        if (op == 0)
            return fl_errorf(c->err, c->errlen, "JSON diff: path %.*s not found in the document", (int)pathlen,
                             path);
        size_t at = 0;
        while (at < cur->n && key_cmp(cur->m[at].key, cur->m[at].klen, l->key, l->klen) < 0) at++;
        grow(c, cur);
        memmove(&cur->m[at + 1], &cur->m[at], (cur->n - 1 - at) * sizeof *cur->m);
        cur->m[at] = (jmember){l->key, l->klen, l->raw, l->rawlen, value};
        return 0;
    }
    if (cur->kind != J_ARRAY)
        return fl_errorf(c->err, c->errlen, "JSON diff: path %.*s: not an array", (int)pathlen, path);
    size_t idx = array_index(l, cur->n);
    if (op == 1) {
        if (idx == SIZE_MAX) idx = 0;
        if (idx > cur->n) idx = cur->n;
        grow(c, cur);
        memmove(&cur->m[idx + 1], &cur->m[idx], (cur->n - 1 - idx) * sizeof *cur->m);
        cur->m[idx] = (jmember){0};
        cur->m[idx].val = value;
        return 0;
    }
    if (idx >= cur->n)
        return fl_errorf(c->err, c->errlen, "JSON diff: path %.*s not found in the document", (int)pathlen, path);
    if (op == 0) {
        cur->m[idx].val = value;
    } else {
        memmove(&cur->m[idx], &cur->m[idx + 1], (cur->n - idx - 1) * sizeof *cur->m);
        cur->n--;
    }
    return 0;
}

int fl_json_diff_apply(const char *doc, size_t doc_len, const uint8_t *diff, size_t len, fl_buf *out, char *err,
                       size_t errlen)
{
    fl_arena arena = {0};
    ctx c = {&arena, err, errlen};
    fl_buf vtext = {0};
    jnode *root;
    int rc = parse_text(&c, doc, doc_len, &root);
    fl_reader r = {diff, diff + len};
    while (rc == 0 && fl_rd_left(&r) > 0) {
        uint64_t op, plen, vlen;
        const uint8_t *path, *val;
        r.p++;
        op = r.p[-1];
        if (op > 2) {
            rc = fl_errorf(c.err, c.errlen, "JSON diff: unknown operation %u", (unsigned)op);
            break;
        }
        if (!fl_rd_lenenc(&r, &plen) || !fl_rd_bytes(&r, (size_t)plen, &path)) {
            rc = fl_errorf(c.err, c.errlen, "JSON diff: truncated path");
            break;
        }
        jnode *value = NULL;
        if (op != 2) {
            if (!fl_rd_lenenc(&r, &vlen) || !fl_rd_bytes(&r, (size_t)vlen, &val)) {
                rc = fl_errorf(c.err, c.errlen, "JSON diff: truncated value");
                break;
            }
            fl_buf_reset(&vtext);
            char verr[200];
            if (fl_json_binary_to_text(val, (size_t)vlen, &vtext, verr, sizeof verr) != 0) {
                rc = fl_errorf(c.err, c.errlen, "JSON diff: value: %s", verr);
                break;
            }
            char *copy = fl_arena_memdup(&arena, vtext.data, vtext.len);
            if ((rc = parse_text(&c, copy, vtext.len, &value)) != 0) break;
        }
        leg legs[64];
        size_t nlegs = 0;
        if ((rc = parse_path(&c, (const char *)path, (size_t)plen, legs, &nlegs, 64)) != 0) break;
        rc = apply_one(&c, &root, (int)op, legs, nlegs, value, (const char *)path, (size_t)plen);
    }
    if (rc == 0) print(root, out);
    fl_buf_free(&vtext);
    fl_arena_free(&arena);
    return rc;
}
