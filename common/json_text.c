/* json_text.c — a strict JSON text validator: a recursive descent over the RFC 8259 grammar
 * with a depth limit, checking UTF-8 inside strings. It builds nothing and reads each byte
 * once. */
#include "common/json_text.h"

#include <stdint.h>

typedef struct cursor {
    const unsigned char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static bool literal(cursor *c, const char *word)
{
    for (; *word; word++, c->p++)
        if (c->p >= c->end || *c->p != (unsigned char)*word) return false;
    return true;
}

static bool hex4(cursor *c, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++, c->p++) {
        if (c->p >= c->end) return false;
        unsigned char h = *c->p;
        unsigned d = h >= '0' && h <= '9'                 ? (unsigned)(h - '0')
                     : (h | 32) >= 'a' && (h | 32) <= 'f' ? (unsigned)((h | 32) - 'a' + 10)
                                                          : 16u;
        if (d > 15) return false;
        v = v * 16 + d;
    }
    *out = v;
    return true;
}

/* One UTF-8 sequence starting at a byte >= 0x80: shortest form, no surrogates, <= U+10FFFF. */
static bool utf8_sequence(cursor *c)
{
    unsigned char b = *c->p;
    int n = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (n < 0 || c->end - c->p <= n) return false;
    uint32_t cp = b & (0x3f >> n);
    for (int i = 1; i <= n; i++) {
        if ((c->p[i] & 0xc0) != 0x80) return false;
        cp = cp << 6 | (c->p[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return false;
    c->p += n + 1;
    return true;
}

static bool string(cursor *c)
{
    c->p++; /* the opening quote */
    while (c->p < c->end) {
        unsigned char ch = *c->p;
        if (ch == '"') {
            c->p++;
            return true;
        }
        if (ch < 0x20) return false;
        if (ch >= 0x80) {
            if (!utf8_sequence(c)) return false;
            continue;
        }
        c->p++;
        if (ch != '\\') continue;
        if (c->p >= c->end) return false;
        unsigned char e = *c->p++;
        if (e == 'u') {
            unsigned u;
            if (!hex4(c, &u)) return false;
            if (u >= 0xd800 && u <= 0xdbff) { /* a high surrogate needs its low half */
                unsigned lo;
                if (!literal(c, "\\u") || !hex4(c, &lo) || lo < 0xdc00 || lo > 0xdfff) return false;
            } else if (u >= 0xdc00 && u <= 0xdfff) {
                return false;
            }
        } else if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't') {
            return false;
        }
    }
    return false;
}

static bool digits(cursor *c)
{
    const unsigned char *start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
    return c->p > start;
}

static bool number(cursor *c)
{
    if (*c->p == '-') c->p++;
    if (c->p >= c->end) return false;
    if (*c->p == '0')
        c->p++;
    else if (!digits(c))
        return false;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (!digits(c)) return false;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
        if (!digits(c)) return false;
    }
    return true;
}

static bool value(cursor *c, int depth);

/* An object or array body after its opening bracket; members is true for objects. */
static bool container(cursor *c, int depth, bool members)
{
    unsigned char close = members ? '}' : ']';
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return true;
    }
    for (;;) {
        if (members) {
            skip_ws(c);
            if (c->p >= c->end || *c->p != '"' || !string(c)) return false;
            skip_ws(c);
            if (c->p >= c->end || *c->p++ != ':') return false;
        }
        if (!value(c, depth + 1)) return false;
        skip_ws(c);
        if (c->p >= c->end) return false;
        unsigned char ch = *c->p++;
        if (ch == close) return true;
        if (ch != ',') return false;
    }
}

static bool value(cursor *c, int depth)
{
    if (depth > FL_JSON_MAX_DEPTH) return false;
    skip_ws(c);
    if (c->p >= c->end) return false;
    switch (*c->p) {
    case '{': return container(c, depth, true);
    case '[': return container(c, depth, false);
    case '"': return string(c);
    case 't': return literal(c, "true");
    case 'f': return literal(c, "false");
    case 'n': return literal(c, "null");
    default: return (*c->p == '-' || (*c->p >= '0' && *c->p <= '9')) && number(c);
    }
}

bool fl_json_text_valid(const char *text, size_t len)
{
    cursor c = {(const unsigned char *)text, (const unsigned char *)text + len};
    if (!value(&c, 0)) return false;
    skip_ws(&c);
    return c.p == c.end;
}
