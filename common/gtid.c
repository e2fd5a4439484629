/* gtid.c — GTIDs and GTID sets for MariaDB and MySQL.
 *
 * A MySQL set is an array of sids (uuid, tag) kept sorted by uuid bytes then tag ("" first),
 * each holding a sorted array of disjoint, non-adjacent half-open intervals [start, end).
 * Adding an interval merges it with every neighbour it overlaps or touches, so the
 * representation is always canonical and equality is a plain comparison.
 * The text form groups the sids of one uuid: "uuid:1-5:7:tag:1-3" (untagged intervals
 * first, then each tag in order), the way MySQL 8.4 prints gtid_executed.
 * A MariaDB set is an array of per-domain positions sorted by domain. */
#include "common/gtid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

#define MYSQL_GNO_MAX ((uint64_t)INT64_MAX - 1) /* MySQL's largest usable gno */

typedef struct sid_entry {
    uint8_t uuid[16];
    char tag[FL_GTID_TAG_MAX + 1];
    fl_gtid_interval *iv;
    size_t n, cap;
} sid_entry;

struct fl_gtid_set {
    fl_flavor flavor;
    sid_entry *sids; /* MySQL */
    size_t nsids, capsids;
    fl_gtid *doms; /* MariaDB, sorted by domain */
    size_t ndoms, capdoms;
};

/* ---- small parsing helpers ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Exactly 36 chars "8-4-4-4-12" hex digits. */
static int parse_uuid(const char *s, size_t len, uint8_t out[16])
{
    if (len != 36) return -1;
    size_t j = 0;
    for (size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return -1;
            i++;
            continue;
        }
        int h = hexval(s[i]), l = hexval(s[i + 1]);
        if (h < 0 || l < 0 || i + 1 == 8 || i + 1 == 13 || i + 1 == 18 || i + 1 == 23) return -1;
        out[j++] = (uint8_t)(h << 4 | l);
        i += 2;
    }
    return 0;
}

static size_t format_uuid(const uint8_t u[16], char *out)
{
    static const char hx[] = "0123456789abcdef";
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[k++] = '-';
        out[k++] = hx[u[i] >> 4];
        out[k++] = hx[u[i] & 15];
    }
    out[k] = 0;
    return k;
}

/* Decimal digits only, no sign, no leading '+', must fit max. */
static int parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0 || len > 20) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static bool is_tag_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_tag_char(char c) { return is_tag_start(c) || (c >= '0' && c <= '9'); }

static int parse_tag(const char *s, size_t len, char out[FL_GTID_TAG_MAX + 1])
{
    if (len == 0 || len > FL_GTID_TAG_MAX || !is_tag_start(s[0])) return -1;
    for (size_t i = 0; i < len; i++) {
        if (!is_tag_char(s[i])) return -1;
        out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    }
    out[len] = 0;
    return 0;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static void trim(const char **s, size_t *len)
{
    while (*len && is_space(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && is_space((*s)[*len - 1])) (*len)--;
}

/* ---- single GTIDs ---- */

static int parse_mariadb(fl_gtid *out, const char *s, size_t len)
{
    const char *d1 = memchr(s, '-', len);
    if (!d1) return -1;
    const char *rest = d1 + 1;
    const char *d2 = memchr(rest, '-', len - (size_t)(rest - s));
    if (!d2) return -1;
    uint64_t dom, srv, seq;
    if (parse_uint(s, (size_t)(d1 - s), UINT32_MAX, &dom) ||
        parse_uint(rest, (size_t)(d2 - rest), UINT32_MAX, &srv) ||
        parse_uint(d2 + 1, len - (size_t)(d2 + 1 - s), UINT64_MAX, &seq))
        return -1;
    memset(out, 0, sizeof *out);
    out->flavor = FL_FLAVOR_MARIADB;
    out->domain = (uint32_t)dom;
    out->server_id = (uint32_t)srv;
    out->seq_no = seq;
    return 0;
}

int fl_gtid_parse(fl_gtid *out, const char *text, size_t len)
{
    if (!text) return -1;
    if (len >= 36 && (len == 36 || text[36] == ':') && len > 37) {
        fl_gtid g;
        memset(&g, 0, sizeof g);
        if (parse_uuid(text, 36, g.uuid)) return -1;
        const char *p = text + 37, *end = text + len;
        const char *c = memchr(p, ':', (size_t)(end - p));
        if (c) {
            if (parse_tag(p, (size_t)(c - p), g.tag)) return -1;
            p = c + 1;
        }
        if (parse_uint(p, (size_t)(end - p), MYSQL_GNO_MAX, &g.gno) || g.gno == 0) return -1;
        g.flavor = FL_FLAVOR_MYSQL;
        *out = g;
        return 0;
    }
    return parse_mariadb(out, text, len);
}

/* Writes v in decimal at p; returns the end. */
static char *put_decimal(char *p, uint64_t v)
{
    char rev[20];
    int n = 0;
    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *p++ = rev[--n];
    return p;
}

size_t fl_gtid_format(const fl_gtid *g, char *buf, size_t bufsize)
{
    char tmp[FL_GTID_TEXT_MAX];
    int n = 0;
    if (g->flavor == FL_FLAVOR_MARIADB) { /* the applier formats one per transaction: no printf */
        char *p = put_decimal(tmp, g->domain);
        *p++ = '-';
        p = put_decimal(p, g->server_id);
        *p++ = '-';
        p = put_decimal(p, g->seq_no);
        n = (int)(p - tmp);
    } else if (g->flavor == FL_FLAVOR_MYSQL) {
        char u[37];
        format_uuid(g->uuid, u);
        if (g->tag[0])
            n = snprintf(tmp, sizeof tmp, "%s:%.32s:%llu", u, g->tag, (unsigned long long)g->gno);
        else
            n = snprintf(tmp, sizeof tmp, "%s:%llu", u, (unsigned long long)g->gno);
    } else {
        tmp[0] = 0;
    }
    if (n < 0) n = 0;
    if (bufsize) {
        size_t c = (size_t)n < bufsize - 1 ? (size_t)n : bufsize - 1;
        memcpy(buf, tmp, c);
        buf[c] = 0;
    }
    return (size_t)n;
}

bool fl_gtid_equal(const fl_gtid *a, const fl_gtid *b)
{
    if (a->flavor != b->flavor) return false;
    if (a->flavor == FL_FLAVOR_MARIADB)
        return a->domain == b->domain && a->server_id == b->server_id && a->seq_no == b->seq_no;
    if (a->flavor == FL_FLAVOR_MYSQL)
        return memcmp(a->uuid, b->uuid, 16) == 0 && strcmp(a->tag, b->tag) == 0 && a->gno == b->gno;
    return true;
}

static int cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }

int fl_gtid_cmp(const fl_gtid *a, const fl_gtid *b)
{
    if (a->flavor != b->flavor) return a->flavor < b->flavor ? -1 : 1;
    if (a->flavor == FL_FLAVOR_MARIADB) {
        int c = cmp_u64(a->domain, b->domain);
        return c ? c : cmp_u64(a->seq_no, b->seq_no);
    }
    if (a->flavor == FL_FLAVOR_MYSQL) {
        int c = memcmp(a->uuid, b->uuid, 16);
        if (c) return c < 0 ? -1 : 1;
        c = strcmp(a->tag, b->tag);
        if (c) return c < 0 ? -1 : 1;
        return cmp_u64(a->gno, b->gno);
    }
    return 0;
}

/* ---- sets ---- */

fl_gtid_set *fl_gtid_set_new(fl_flavor flavor)
{
    fl_gtid_set *s = fl_xcalloc(1, sizeof *s);
    s->flavor = flavor;
    return s;
}

void fl_gtid_set_free(fl_gtid_set *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nsids; i++) free(s->sids[i].iv);
    free(s->sids);
    free(s->doms);
    free(s);
}

fl_gtid_set *fl_gtid_set_dup(const fl_gtid_set *s)
{
    fl_gtid_set *d = fl_gtid_set_new(s->flavor);
    if (s->nsids) {
        d->sids = fl_xmalloc(s->nsids * sizeof *d->sids);
        d->nsids = d->capsids = s->nsids;
        for (size_t i = 0; i < s->nsids; i++) {
            d->sids[i] = s->sids[i];
            d->sids[i].iv = fl_xmalloc(s->sids[i].n * sizeof(fl_gtid_interval));
            memcpy(d->sids[i].iv, s->sids[i].iv, s->sids[i].n * sizeof(fl_gtid_interval));
            d->sids[i].cap = s->sids[i].n;
        }
    }
    if (s->ndoms) {
        d->doms = fl_xmalloc(s->ndoms * sizeof *d->doms);
        memcpy(d->doms, s->doms, s->ndoms * sizeof *d->doms);
        d->ndoms = d->capdoms = s->ndoms;
    }
    return d;
}

fl_flavor fl_gtid_set_flavor(const fl_gtid_set *s) { return s->flavor; }

bool fl_gtid_set_is_empty(const fl_gtid_set *s) { return s->nsids == 0 && s->ndoms == 0; }

static int sid_cmp(const uint8_t *u, const char *tag, const sid_entry *e)
{
    int c = memcmp(u, e->uuid, 16);
    if (c) return c;
    return strcmp(tag, e->tag);
}

/* Index of the sid, or where it would go (with *found = false). */
static size_t sid_find(const fl_gtid_set *s, const uint8_t *u, const char *tag, bool *found)
{
    size_t lo = 0, hi = s->nsids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = sid_cmp(u, tag, &s->sids[mid]);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *found = false;
    return lo;
}

static sid_entry *sid_get(fl_gtid_set *s, const uint8_t *u, const char *tag)
{
    bool found;
    size_t i = sid_find(s, u, tag, &found);
    if (found) return &s->sids[i];
    if (s->nsids == s->capsids) {
        s->capsids = s->capsids ? s->capsids * 2 : 4;
        s->sids = fl_xrealloc(s->sids, s->capsids * sizeof *s->sids);
    }
    memmove(&s->sids[i + 1], &s->sids[i], (s->nsids - i) * sizeof *s->sids);
    s->nsids++;
    sid_entry *e = &s->sids[i];
    memset(e, 0, sizeof *e);
    memcpy(e->uuid, u, 16);
    snprintf(e->tag, sizeof e->tag, "%s", tag);
    return e;
}

/* Adds [start, end) to e, merging overlapping and adjacent intervals. */
static void sid_add_interval(sid_entry *e, uint64_t start, uint64_t end)
{
    /* first interval whose end >= start (it overlaps or touches, or lies after) */
    size_t lo = 0, hi = e->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->iv[mid].end < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t first = lo, last = lo; /* [first, last) are merged into the new one */
    while (last < e->n && e->iv[last].start <= end) {
        if (e->iv[last].start < start) start = e->iv[last].start;
        if (e->iv[last].end > end) end = e->iv[last].end;
        last++;
    }
    if (first == last) {
        if (e->n == e->cap) {
            e->cap = e->cap ? e->cap * 2 : 4;
            e->iv = fl_xrealloc(e->iv, e->cap * sizeof *e->iv);
        }
        memmove(&e->iv[first + 1], &e->iv[first], (e->n - first) * sizeof *e->iv);
        e->n++;
    } else if (last - first > 1) {
        memmove(&e->iv[first + 1], &e->iv[last], (e->n - last) * sizeof *e->iv);
        e->n -= last - first - 1;
    }
    e->iv[first].start = start;
    e->iv[first].end = end;
}

static bool sid_contains(const sid_entry *e, uint64_t gno)
{
    size_t lo = 0, hi = e->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->iv[mid].end <= gno)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < e->n && e->iv[lo].start <= gno;
}

static size_t dom_find(const fl_gtid_set *s, uint32_t domain, bool *found)
{
    size_t lo = 0, hi = s->ndoms;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->doms[mid].domain == domain) {
            *found = true;
            return mid;
        }
        if (s->doms[mid].domain < domain)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static void dom_set(fl_gtid_set *s, const fl_gtid *g)
{
    bool found;
    size_t i = dom_find(s, g->domain, &found);
    if (!found) {
        if (s->ndoms == s->capdoms) {
            s->capdoms = s->capdoms ? s->capdoms * 2 : 4;
            s->doms = fl_xrealloc(s->doms, s->capdoms * sizeof *s->doms);
        }
        memmove(&s->doms[i + 1], &s->doms[i], (s->ndoms - i) * sizeof *s->doms);
        s->ndoms++;
    }
    memset(&s->doms[i], 0, sizeof s->doms[i]);
    s->doms[i].flavor = FL_FLAVOR_MARIADB;
    s->doms[i].domain = g->domain;
    s->doms[i].server_id = g->server_id;
    s->doms[i].seq_no = g->seq_no;
}

static bool adopt_flavor(fl_gtid_set *s, fl_flavor f)
{
    if (f == FL_FLAVOR_NONE) return true;
    if (s->flavor == FL_FLAVOR_NONE) s->flavor = f;
    return s->flavor == f;
}

int fl_gtid_set_add(fl_gtid_set *s, const fl_gtid *g)
{
    if (g->flavor == FL_FLAVOR_NONE || !adopt_flavor(s, g->flavor)) return -1;
    if (g->flavor == FL_FLAVOR_MYSQL) {
        if (g->gno == 0 || g->gno > MYSQL_GNO_MAX) return -1;
        sid_add_interval(sid_get(s, g->uuid, g->tag), g->gno, g->gno + 1);
    } else {
        dom_set(s, g);
    }
    return 0;
}

int fl_gtid_set_union(fl_gtid_set *s, const fl_gtid_set *other)
{
    if (fl_gtid_set_is_empty(other))
        return (other->flavor == FL_FLAVOR_NONE || s->flavor == FL_FLAVOR_NONE || other->flavor == s->flavor) ? 0
                                                                                                              : -1;
    if (!adopt_flavor(s, other->flavor)) return -1;
    for (size_t i = 0; i < other->nsids; i++) {
        const sid_entry *o = &other->sids[i];
        sid_entry *e = sid_get(s, o->uuid, o->tag);
        for (size_t k = 0; k < o->n; k++) sid_add_interval(e, o->iv[k].start, o->iv[k].end);
    }
    for (size_t i = 0; i < other->ndoms; i++) {
        bool found;
        size_t k = dom_find(s, other->doms[i].domain, &found);
        if (!found || s->doms[k].seq_no < other->doms[i].seq_no) dom_set(s, &other->doms[i]);
    }
    return 0;
}

bool fl_gtid_set_contains(const fl_gtid_set *s, const fl_gtid *g)
{
    if (g->flavor != s->flavor) return false;
    if (g->flavor == FL_FLAVOR_MYSQL) {
        bool found;
        size_t i = sid_find(s, g->uuid, g->tag, &found);
        return found && sid_contains(&s->sids[i], g->gno);
    }
    if (g->flavor == FL_FLAVOR_MARIADB) {
        bool found;
        size_t i = dom_find(s, g->domain, &found);
        return found && g->seq_no <= s->doms[i].seq_no;
    }
    return false;
}

/* Every interval of a lies inside one interval of b (b's are merged, so that suffices). */
static bool sid_subset(const sid_entry *a, const sid_entry *b)
{
    size_t k = 0;
    for (size_t i = 0; i < a->n; i++) {
        while (k < b->n && b->iv[k].end < a->iv[i].end) k++;
        if (k == b->n || b->iv[k].start > a->iv[i].start) return false;
    }
    return true;
}

bool fl_gtid_set_is_subset(const fl_gtid_set *a, const fl_gtid_set *b)
{
    if (fl_gtid_set_is_empty(a)) return true;
    if (a->flavor != b->flavor) return false;
    for (size_t i = 0; i < a->nsids; i++) {
        bool found;
        size_t k = sid_find(b, a->sids[i].uuid, a->sids[i].tag, &found);
        if (!found || !sid_subset(&a->sids[i], &b->sids[k])) return false;
    }
    for (size_t i = 0; i < a->ndoms; i++) {
        bool found;
        size_t k = dom_find(b, a->doms[i].domain, &found);
        if (!found || b->doms[k].seq_no < a->doms[i].seq_no) return false;
    }
    return true;
}

bool fl_gtid_set_equal(const fl_gtid_set *a, const fl_gtid_set *b)
{
    if (fl_gtid_set_is_empty(a) || fl_gtid_set_is_empty(b))
        return fl_gtid_set_is_empty(a) && fl_gtid_set_is_empty(b);
    if (a->flavor != b->flavor || a->nsids != b->nsids || a->ndoms != b->ndoms) return false;
    for (size_t i = 0; i < a->nsids; i++) {
        const sid_entry *x = &a->sids[i], *y = &b->sids[i];
        if (sid_cmp(x->uuid, x->tag, y) || x->n != y->n) return false;
        for (size_t k = 0; k < x->n; k++)
            if (x->iv[k].start != y->iv[k].start || x->iv[k].end != y->iv[k].end) return false;
    }
    for (size_t i = 0; i < a->ndoms; i++)
        if (!fl_gtid_equal(&a->doms[i], &b->doms[i])) return false;
    return true;
}

char *fl_gtid_set_format(const fl_gtid_set *s)
{
    fl_buf b = {0};
    for (size_t i = 0; i < s->ndoms; i++) {
        char t[FL_GTID_TEXT_MAX];
        fl_gtid_format(&s->doms[i], t, sizeof t);
        if (i) fl_buf_putc(&b, ',');
        fl_buf_puts(&b, t);
    }
    for (size_t i = 0; i < s->nsids; i++) {
        const sid_entry *e = &s->sids[i];
        if (i == 0 || memcmp(e->uuid, s->sids[i - 1].uuid, 16) != 0) {
            char u[37];
            format_uuid(e->uuid, u);
            if (i) fl_buf_putc(&b, ',');
            fl_buf_puts(&b, u);
        }
        if (e->tag[0]) {
            fl_buf_putc(&b, ':');
            fl_buf_puts(&b, e->tag);
        }
        for (size_t k = 0; k < e->n; k++) {
            uint64_t lo = e->iv[k].start, hi = e->iv[k].end - 1;
            if (lo == hi)
                fl_buf_printf(&b, ":%llu", (unsigned long long)lo);
            else
                fl_buf_printf(&b, ":%llu-%llu", (unsigned long long)lo, (unsigned long long)hi);
        }
    }
    char *out = fl_xstrdup(b.data ? fl_buf_cstr(&b) : "");
    fl_buf_free(&b);
    return out;
}

/* ---- set parsing ---- */

static fl_gtid_set *fail(fl_gtid_set *s, char *err, size_t errlen, const char *fmt, const char *tok, size_t toklen)
{
    if (err && errlen) {
        int shown = toklen > 60 ? 60 : (int)toklen;
        snprintf(err, errlen, fmt, shown, tok);
    }
    fl_gtid_set_free(s);
    return NULL;
}

/* One MySQL element: "uuid(:tag|:n|:n-m)*". */
static fl_gtid_set *parse_mysql_elem(fl_gtid_set *s, const char *e, size_t len, char *err, size_t errlen)
{
    uint8_t uuid[16];
    const char *colon = memchr(e, ':', len);
    size_t ulen = colon ? (size_t)(colon - e) : len;
    if (parse_uuid(e, ulen, uuid)) return fail(s, err, errlen, "bad UUID '%.*s'", e, ulen);
    if (!colon) return fail(s, err, errlen, "'%.*s' has no transaction numbers", e, len);
    char tag[FL_GTID_TAG_MAX + 1] = "";
    const char *p = colon + 1, *end = e + len;
    bool need_interval = true;
    for (;;) {
        const char *c = memchr(p, ':', (size_t)(end - p));
        const char *pe = c ? c : end;
        size_t plen = (size_t)(pe - p);
        if (plen == 0) return fail(s, err, errlen, "empty part in '%.*s'", e, len);
        if (is_tag_start(*p)) {
            if (need_interval && (tag[0] || p != colon + 1))
                return fail(s, err, errlen, "tag '%.*s' follows a tag with no transaction numbers", p, plen);
            if (parse_tag(p, plen, tag))
                return fail(s, err, errlen, "bad tag '%.*s' (1-32 characters [a-z_][a-z0-9_]*)", p, plen);
            need_interval = true;
        } else {
            const char *dash = memchr(p, '-', plen);
            uint64_t lo, hi;
            if (parse_uint(p, dash ? (size_t)(dash - p) : plen, MYSQL_GNO_MAX, &lo) ||
                (dash && parse_uint(dash + 1, (size_t)(pe - dash - 1), MYSQL_GNO_MAX, &hi)))
                return fail(s, err, errlen, "bad interval '%.*s' (n or n-m, 1 <= n <= 9223372036854775806)", p,
                            plen);
            if (!dash) hi = lo;
            if (lo == 0)
                return fail(s, err, errlen, "bad interval '%.*s': transaction numbers start at 1", p, plen);
            if (hi < lo) return fail(s, err, errlen, "bad interval '%.*s': end is before start", p, plen);
            sid_add_interval(sid_get(s, uuid, tag), lo, hi + 1);
            need_interval = false;
        }
        if (!c) break;
        p = c + 1;
    }
    if (need_interval) return fail(s, err, errlen, "'%.*s' ends without transaction numbers", e, len);
    return s;
}

fl_gtid_set *fl_gtid_set_parse(const char *text, char *err, size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (!text) text = "";
    fl_gtid_set *s = fl_gtid_set_new(FL_FLAVOR_NONE);
    size_t total = strlen(text);
    const char *t = text;
    trim(&t, &total);
    if (total == 0) return s;
    const char *p = t, *end = t + total;
    for (;;) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        const char *pe = c ? c : end;
        const char *e = p;
        size_t len = (size_t)(pe - p);
        trim(&e, &len);
        if (len == 0) return fail(s, err, errlen, "empty element in GTID set%.*s", "", 0);
        bool mysql = len >= 36 && (len == 36 || e[36] == ':') && memchr(e, '-', len) && hexval(e[0]) >= 0 &&
                     (len < 9 || e[8] == '-');
        fl_flavor f = mysql ? FL_FLAVOR_MYSQL : FL_FLAVOR_MARIADB;
        if (s->flavor != FL_FLAVOR_NONE && s->flavor != f)
            return fail(s, err, errlen, "'%.*s' mixes MySQL and MariaDB GTIDs in one set", e, len);
        s->flavor = f;
        if (mysql) {
            if (!parse_mysql_elem(s, e, len, err, errlen)) return NULL;
        } else {
            fl_gtid g;
            if (parse_mariadb(&g, e, len))
                return fail(s, err, errlen, "bad GTID '%.*s' (MariaDB domain-server-seq or MySQL uuid:n)", e, len);
            bool found;
            dom_find(s, g.domain, &found);
            if (found) return fail(s, err, errlen, "'%.*s': its domain appears twice in the set", e, len);
            dom_set(s, &g);
        }
        if (!c) break;
        p = c + 1;
    }
    return s;
}

/* ---- accessors ---- */

size_t fl_gtid_set_nsids(const fl_gtid_set *s) { return s->flavor == FL_FLAVOR_MARIADB ? s->ndoms : s->nsids; }

void fl_gtid_set_sid(const fl_gtid_set *s, size_t i, uint8_t uuid[16], const char **tag,
                     const fl_gtid_interval **intervals, size_t *nintervals)
{
    const sid_entry *e = &s->sids[i];
    if (uuid) memcpy(uuid, e->uuid, 16);
    if (tag) *tag = e->tag;
    if (intervals) *intervals = e->iv;
    if (nintervals) *nintervals = e->n;
}

void fl_gtid_set_domain(const fl_gtid_set *s, size_t i, fl_gtid *out) { *out = s->doms[i]; }
