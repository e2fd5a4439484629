/* charset.c — column text to UTF-8.
 *
 * The character set of a collation id comes from MariaDB Connector/C's table
 * (mariadb_get_charset_by_nr), remembered per id in a small table of classes so the
 * per-cell cost for UTF-8 columns is one array load. latin1 is converted by table (it is
 * by far the most common non-UTF-8 character set), its ASCII runs copied as they are; anything else goes through iconv using
 * the encoding name the connector gives the character set. */
#include "fl-relay/charset.h"

#include <errno.h>
#include <iconv.h>
#include <mysql.h>
#include <stdatomic.h>
#include <string.h>

enum { CLASS_UNKNOWN = 0, CLASS_ASIS, CLASS_LATIN1, CLASS_ICONV };

#define CLASS_CACHE 4096
static _Atomic uint8_t class_cache[CLASS_CACHE];

static int classify(uint32_t collation)
{
    if (collation == 0) return CLASS_ASIS;
    if (collation < CLASS_CACHE) {
        int c = atomic_load_explicit(&class_cache[collation], memory_order_relaxed);
        if (c != CLASS_UNKNOWN) return c;
    }
    const MARIADB_CHARSET_INFO *cs = mariadb_get_charset_by_nr(collation);
    int c;
    if (!cs || !cs->csname || strncmp(cs->csname, "utf8", 4) == 0 || strcmp(cs->csname, "ascii") == 0 ||
        strcmp(cs->csname, "binary") == 0)
        c = CLASS_ASIS; /* unknown ids are left as they are: no guessing */
    else if (strcmp(cs->csname, "latin1") == 0)
        c = CLASS_LATIN1;
    else if (cs->encoding && *cs->encoding)
        c = CLASS_ICONV;
    else
        c = CLASS_ASIS;
    if (collation < CLASS_CACHE) atomic_store_explicit(&class_cache[collation], (uint8_t)c, memory_order_relaxed);
    return c;
}

bool fl_charset_needs_conversion(uint32_t collation) { return classify(collation) != CLASS_ASIS; }

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    o[0] = (char)(0xe0 | cp >> 12);
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
}

/* Windows-1252 0x80..0x9f; the five bytes it leaves unassigned map to themselves. */
static const uint16_t cp1252_80[32] = {
    0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008d, 0x017d, 0x008f, 0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
    0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
};

/* The length of s's leading run of ASCII bytes (the same in latin1 and UTF-8). */
static size_t ascii_prefix(const char *s, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080u) break;
    }
    while (i < len && !((uint8_t)s[i] & 0x80)) i++;
    return i;
}

bool fl_charset_same_in_utf8(uint32_t collation, const char *s, size_t len)
{
    int c = classify(collation);
    return c == CLASS_ASIS || (c == CLASS_LATIN1 && ascii_prefix(s, len) == len);
}

static void latin1_to_utf8(const char *s, size_t len, fl_arena *arena, const char **out, size_t *out_len)
{
    size_t ascii = ascii_prefix(s, len);
    if (ascii == len) { /* most text: copied as it is */
        *out = fl_arena_strndup(arena, s, len);
        *out_len = len;
        return;
    }
    char *o = fl_arena_alloc(arena, ascii + (len - ascii) * 3 + 1);
    memcpy(o, s, ascii);
    size_t n = ascii;
    for (size_t i = ascii; i < len; i++) {
        uint8_t b = (uint8_t)s[i];
        n += put_utf8(o + n, b >= 0x80 && b < 0xa0 ? cp1252_80[b - 0x80] : b);
    }
    o[n] = 0;
    *out = o;
    *out_len = n;
}

static void iconv_to_utf8(const char *encoding, const char *s, size_t len, fl_arena *arena, const char **out,
                          size_t *out_len)
{
    /* UTF-8 takes at most 4 bytes per character and every character set here at least
     * one byte per character; a byte kept as U+00XX takes 2. */
    size_t cap = len * 4 + 1;
    char *o = fl_arena_alloc(arena, cap);
    size_t n = 0;
    iconv_t cd = iconv_open("UTF-8", encoding);
    if (cd == (iconv_t)-1) {
        for (size_t i = 0; i < len; i++) n += put_utf8(o + n, (uint8_t)s[i]);
    } else {
        char *in = (char *)s;
        size_t inleft = len;
        while (inleft > 0) {
            char *op = o + n;
            size_t oleft = cap - 1 - n;
            size_t r = iconv(cd, &in, &inleft, &op, &oleft);
            n = (size_t)(op - o);
            if (r != (size_t)-1 || errno == E2BIG) break; /* E2BIG cannot happen with cap */
            /* invalid or incomplete sequence: keep one byte as its code point, go on */
            n += put_utf8(o + n, (uint8_t)*in);
            in++;
            inleft--;
            iconv(cd, NULL, NULL, NULL, NULL);
        }
        iconv_close(cd);
    }
    o[n] = 0;
    *out = o;
    *out_len = n;
}

void fl_charset_to_utf8(uint32_t collation, const char *s, size_t len, fl_arena *arena, const char **out,
                        size_t *out_len)
{
    switch (classify(collation)) {
    case CLASS_LATIN1: latin1_to_utf8(s, len, arena, out, out_len); return;
    case CLASS_ICONV:
        iconv_to_utf8(mariadb_get_charset_by_nr(collation)->encoding, s, len, arena, out, out_len);
        return;
    default: {
        char *o = fl_arena_strndup(arena, s, len);
        *out = o;
        *out_len = len;
        return;
    }
    }
}
