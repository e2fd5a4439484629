/* config.c — loading and validating the INI configuration.
 *
 * inih does the INI syntax; it reads through our own line reader, which counts lines (so
 * every key knows its line), records section headers (so empty sections and missing keys
 * can be reported at their header), reports lines inih would reject, and passes over-long
 * values around inih's fixed line buffer. Every key is first collected as (section, key,
 * value, line); validation then walks the sections, fills the fl_config and appends one
 * "FILE:LINE: [section] key: problem" per mistake. Messages never quote a secret. */
#include "common/config.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/gtid.h"
#include "common/log.h"
#include "common/secret_file.h"
#include "common/target_url.h"
#include "common/template.h"

/* ---- the key tables ---- */

enum sec_kind {
    SEC_SOURCE,
    SEC_JOURNAL,
    SEC_FEED,
    SEC_METRICS,
    SEC_APPLY,
    SEC_LOG,
    SEC_SNAPSHOT,
    SEC_RULE,
    SEC_UNKNOWN,
    SEC_NONE
};

static const char *const sec_names[] = {"source", "journal",  "feed", "metrics", "apply",
                                        "log",    "snapshot", "rule", NULL};

static const char *const keys_source[] = {"host",          "port",      "socket", "user",      "password",
                                          "password_file", "server_id", "flavor", "ssl_mode",  "ssl_ca",
                                          "ssl_cert",      "ssl_key",   "start",  "heartbeat", "include",
                                          "exclude",       NULL};
static const char *const keys_journal[] = {"path", "max_size", "retain", "sync", NULL};
static const char *const keys_feed[] = {"listen", "secret", "secret_file", "tls_cert", "tls_key", NULL};
static const char *const keys_metrics[] = {"relay", "apply", "listen", NULL};
static const char *const keys_apply[] = {"name",
                                         "journal",
                                         "relay",
                                         "secret",
                                         "secret_file",
                                         "tls_ca",
                                         "target",
                                         "target_tls_ca",
                                         "target_tls_cert",
                                         "target_tls_key",
                                         "max_atomic_ops",
                                         "cluster_wait_replicas",
                                         "cluster_wait_timeout",
                                         "on_error",
                                         "checkpoint_path",
                                         "rebuild",
                                         NULL};
static const char *const keys_log[] = {"level", "format", NULL};
static const char *const keys_snapshot[] = {"tables", "initial", "chunk", "rate", NULL};
static const char *const keys_rule[] = {"table", "key", "format", "mode", "ttl", "columns", NULL};
static const char *const *const sec_keys[] = {keys_source, keys_journal, keys_feed,     keys_metrics,
                                              keys_apply,  keys_log,     keys_snapshot, keys_rule};

typedef struct kv {
    char *key, *value;
    int line;
} kv;

typedef struct section {
    enum sec_kind kind;
    char *header; /* as written between the brackets, trimmed */
    char *label;  /* for messages: "source", "rule users" */
    char *rule_name;
    int line;
    kv *kvs;
    size_t n, cap;
} section;

typedef struct loader {
    const char *name; /* file name in messages */
    const char *text;
    size_t len, pos;
    int lineno;
    bool prev_key;    /* mirrors inih: a key was seen since the last header */
    char *long_value; /* value of an over-long line, handed over outside inih */
    section *secs;
    size_t nsecs, capsecs;
    section *cur; /* NULL before the first header */
    int orphan_reported;
    /* errors, kept with their line so they can be listed in file order */
    struct err {
        int line;
        char *text;
    } * errs;
    size_t nerrs, caperrs;
} loader;

static void add_err_line(loader *L, int line, const char *msg)
{
    if (L->nerrs == L->caperrs) {
        L->caperrs = L->caperrs ? L->caperrs * 2 : 16;
        L->errs = fl_xrealloc(L->errs, L->caperrs * sizeof *L->errs);
    }
    L->errs[L->nerrs].line = line;
    L->errs[L->nerrs].text = fl_xstrdup(msg);
    L->nerrs++;
}

/* "FILE:LINE: [label] key: msg" (key may be NULL, label may be NULL). */
__attribute__((format(printf, 5, 6))) static void report(loader *L, int line, const char *label, const char *key,
                                                         const char *fmt, ...)
{
    fl_buf b = {0};
    fl_buf_printf(&b, "%s:%d: ", L->name, line);
    if (label) fl_buf_printf(&b, "[%s]%s", label, key ? " " : ": ");
    if (key) fl_buf_printf(&b, "%s: ", key);
    va_list ap;
    va_start(ap, fmt);
    char tmp[1024];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    fl_buf_puts(&b, tmp);
    add_err_line(L, line, fl_buf_cstr(&b));
    fl_buf_free(&b);
}

/* ---- string helpers ---- */

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

static char *trim_dup(const char *s, size_t n)
{
    while (n && is_ws(*s)) {
        s++;
        n--;
    }
    while (n && is_ws(s[n - 1])) n--;
    char *r = fl_xmalloc(n + 1);
    memcpy(r, s, n);
    r[n] = 0;
    return r;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40) return 99;
    size_t d[41][41];
    for (size_t i = 0; i <= la; i++) d[i][0] = i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

static const char *closest(const char *word, const char *const *list)
{
    const char *best = NULL;
    size_t bestd = 3;
    size_t limit = strlen(word) <= 3 ? 1 : 2;
    for (; *list; list++) {
        size_t d = edit_distance(word, *list);
        if (d <= limit && d < bestd) {
            bestd = d;
            best = *list;
        }
    }
    return best;
}

/* ---- the line reader inih reads through ---- */

#define LONG_MARK "\x01long"

static section *begin_section(loader *L, const char *header, size_t n, int line)
{
    if (L->nsecs == L->capsecs) {
        L->capsecs = L->capsecs ? L->capsecs * 2 : 8;
        L->secs = fl_xrealloc(L->secs, L->capsecs * sizeof *L->secs);
    }
    section *s = &L->secs[L->nsecs++];
    memset(s, 0, sizeof *s);
    s->header = trim_dup(header, n);
    s->line = line;
    s->kind = SEC_UNKNOWN;
    for (int k = 0; k < SEC_RULE; k++)
        if (strcmp(s->header, sec_names[k]) == 0) s->kind = (enum sec_kind)k;
    if (strncmp(s->header, "rule", 4) == 0 && (s->header[4] == 0 || is_ws(s->header[4]))) {
        s->kind = SEC_RULE;
        s->rule_name = trim_dup(s->header + 4, strlen(s->header + 4));
        size_t ln = strlen(s->rule_name) + 6;
        s->label = fl_xmalloc(ln);
        snprintf(s->label, ln, s->rule_name[0] ? "rule %s" : "rule", s->rule_name);
    } else {
        s->label = fl_xstrdup(s->header);
    }
    return s;
}

/* Index of the first inline comment in s[0..n): a '#' or ';' after whitespace, or n. A '#' or
 * ';' with no whitespace before it is part of the text ("pa#ss"). inih itself knows only ';'
 * (its build default), so the reader strips both before inih sees the line. */
static size_t comment_at(const char *s, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if ((s[i] == ';' || s[i] == '#') && is_ws(s[i - 1])) return i;
    return n;
}

static char *reader(char *str, int num, void *stream)
{
    loader *L = stream;
    if (L->pos >= L->len) return NULL;
    const char *line = L->text + L->pos;
    const char *nl = memchr(line, '\n', L->len - L->pos);
    size_t n = nl ? (size_t)(nl - line) : L->len - L->pos;
    L->pos += n + (nl ? 1 : 0);
    L->lineno++;
    int ln = L->lineno;
    const char *label = L->cur ? L->cur->label : NULL;

    free(L->long_value);
    L->long_value = NULL;
    str[0] = '\n';
    str[1] = 0;

    if (memchr(line, 0, n)) {
        report(L, ln, label, NULL, "line contains a NUL byte");
        return str;
    }
    size_t a = 0;
    if (ln == 1 && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) a = 3; /* UTF-8 BOM */
    size_t b = a;
    while (b < n && is_ws(line[b])) b++;
    if (b == n || line[b] == ';' || line[b] == '#') return str; /* blank or comment */
    if (b > a && L->prev_key) {
        report(L, ln, label, NULL, "indented line continues the previous value; write each value on one line");
        return str;
    }
    if (line[b] == '[') {
        size_t c = comment_at(line + b, n - b) + b;
        const char *close = memchr(line + b, ']', c - b);
        if (!close) {
            report(L, ln, NULL, NULL, "section header without a closing ']'");
            L->prev_key = false;
            /* keep following keys out of the previous section */
            L->cur = begin_section(L, "", 0, ln);
            L->cur->kind = SEC_NONE;
            return str;
        }
        for (const char *t = close + 1; t < line + c; t++)
            if (!is_ws(*t)) {
                report(L, ln, NULL, NULL, "text after the section header's ']'");
                break;
            }
        L->cur = begin_section(L, line + b + 1, (size_t)(close - line - b - 1), ln);
        L->prev_key = false;
        if ((size_t)(close - line - b) + 3 > (size_t)num) {
            report(L, ln, NULL, NULL, "section header is too long");
            L->cur->kind = SEC_NONE;
            return str;
        }
        snprintf(str, (size_t)num, "[%.*s]\n", (int)(close - line - b - 1), line + b + 1);
        return str;
    }
    size_t eq = b;
    while (eq < n && line[eq] != '=' && line[eq] != ':') eq++;
    if (eq == n || eq == b) {
        report(L, ln, label, NULL, "expected 'key = value' or '[section]'");
        return str;
    }
    L->prev_key = true;
    /* cut an inline comment off the value */
    size_t vstart = eq + 1, vend = vstart + comment_at(line + vstart, n - vstart);
    if (vend < n) {
        size_t t = vstart;
        while (t < vend && is_ws(line[t])) t++;
        if (t == vend) {
            char *key = trim_dup(line + b, eq - b), sh[80];
            report(L, ln, label, fl_printable(key, sh, sizeof sh),
                   "the value is only a comment ('#' or ';' after whitespace starts one); a secret that "
                   "starts with one goes in a file");
            free(key);
            return str;
        }
        n = vend;
    }
    if (n + 2 < (size_t)num) {
        memcpy(str, line, n);
        str[n] = '\n';
        str[n + 1] = 0;
        return str;
    }
    /* longer than inih's line buffer: hand the value over ourselves */
    size_t klen = eq - b;
    if (klen + sizeof LONG_MARK + 2 > (size_t)num) {
        report(L, ln, label, NULL, "key name is too long");
        return str;
    }
    const char *v = line + eq + 1;
    size_t vlen = n - eq - 1;
    L->long_value = trim_dup(v, comment_at(v, vlen));
    snprintf(str, (size_t)num, "%.*s=%s\n", (int)klen, line + b, LONG_MARK);
    return str;
}

static int handler(void *user, const char *sec, const char *name, const char *value)
{
    loader *L = user;
    (void)sec;
    if (L->long_value && strcmp(value, LONG_MARK) == 0) value = L->long_value;
    if (!L->cur) {
        if (!L->orphan_reported) report(L, L->lineno, NULL, name, "key outside any section");
        L->orphan_reported = 1;
        return 1;
    }
    section *s = L->cur;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->kvs = fl_xrealloc(s->kvs, s->cap * sizeof *s->kvs);
    }
    s->kvs[s->n].key = fl_xstrdup(name);
    s->kvs[s->n].value = fl_xstrdup(value);
    s->kvs[s->n].line = L->lineno;
    s->n++;
    return 1;
}

/* ---- helpers (public) ---- */

/* The decimal digits at the start of s as *v; returns what follows them, or NULL when s does
 * not start with a digit or the number exceeds UINT64_MAX. */
static const char *leading_number(const char *s, uint64_t *v)
{
    if (!s || *s < '0' || *s > '9') return NULL;
    uint64_t r = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (r > (UINT64_MAX - (uint64_t)(*s - '0')) / 10) return NULL;
        r = r * 10 + (uint64_t)(*s - '0');
    }
    *v = r;
    return s;
}

int fl_parse_size(const char *s, uint64_t *out)
{
    uint64_t v;
    const char *p = leading_number(s, &v);
    if (!p) return -1;
    unsigned shift = 0;
    switch (*p) {
    case 'k':
    case 'K':
        shift = 10;
        p++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        p++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        p++;
        break;
    case 't':
    case 'T':
        shift = 40;
        p++;
        break;
    default: break;
    }
    if (*p == 'b' || *p == 'B') p++;
    if (*p) return -1;
    if (shift && v > (UINT64_MAX >> shift)) return -1;
    *out = v << shift;
    return 0;
}

int fl_parse_duration(const char *s, uint64_t *out)
{
    uint64_t v;
    const char *p = leading_number(s, &v);
    if (!p) return -1;
    uint64_t mul = 1;
    switch (*p) {
    case 's': p++; break;
    case 'm':
        mul = 60;
        p++;
        break;
    case 'h':
        mul = 3600;
        p++;
        break;
    case 'd':
        mul = 86400;
        p++;
        break;
    default: break;
    }
    if (*p) return -1;
    if (v > UINT64_MAX / mul) return -1;
    *out = v * mul;
    return 0;
}

static int parse_port(const char *s, int *port)
{
    uint64_t v;
    const char *end = leading_number(s, &v);
    if (!end || *end || v < 1 || v > 65535) return -1;
    *port = (int)v;
    return 0;
}

int fl_parse_hostport(const char *s, char **host, int *port)
{
    if (!s) return -1;
    const char *colon;
    const char *h = s;
    size_t hlen;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || close == s + 1) return -1;
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
        for (size_t i = 0; i < hlen; i++)
            if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f') || (h[i] >= 'A' && h[i] <= 'F') ||
                  h[i] == ':' || h[i] == '.'))
                return -1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || colon == s) return -1;
        hlen = (size_t)(colon - s);
        for (size_t i = 0; i < hlen; i++)
            if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                  s[i] == '.' || s[i] == '-' || s[i] == '_'))
                return -1;
    }
    int p;
    if (parse_port(colon + 1, &p)) return -1;
    if (host) {
        *host = fl_xmalloc(hlen + 1);
        memcpy(*host, h, hlen);
        (*host)[hlen] = 0;
    }
    if (port) *port = p;
    return 0;
}

/* Length of the bracket expression starting at p ('['), or 0 when it is not closed. */
static size_t bracket_len(const char *p)
{
    size_t i = 1;
    if (p[i] == '!' || p[i] == '^') i++;
    if (p[i] == ']') i++;
    for (; p[i]; i++)
        if (p[i] == ']') return i + 1;
    return 0;
}

static bool bracket_match(const char *p, size_t len, char c)
{
    size_t i = 1;
    bool neg = false;
    if (p[i] == '!' || p[i] == '^') {
        neg = true;
        i++;
    }
    bool hit = false;
    size_t endi = len - 1;
    for (; i < endi; i++) {
        if (i + 2 < endi && p[i + 1] == '-') {
            if ((unsigned char)c >= (unsigned char)p[i] && (unsigned char)c <= (unsigned char)p[i + 2]) hit = true;
            i += 2;
        } else if (p[i] == c) {
            hit = true;
        }
    }
    return hit != neg;
}

bool fl_glob_match(const char *pattern, const char *text)
{
    const char *star_p = NULL, *star_t = NULL;
    const char *p = pattern, *t = text;
    while (*t) {
        if (*p == '*') {
            star_p = ++p;
            star_t = t;
            continue;
        }
        if (*p == '?') {
            p++;
            t++;
            continue;
        }
        if (*p == '[') {
            size_t bl = bracket_len(p);
            if (bl && bracket_match(p, bl, *t)) {
                p += bl;
                t++;
                continue;
            }
            if (!bl && *t == '[') {
                p++;
                t++;
                continue;
            }
        } else if (*p && *p == *t) {
            p++;
            t++;
            continue;
        }
        if (!star_p) return false;
        p = star_p;
        t = ++star_t;
    }
    while (*p == '*') p++;
    return *p == 0;
}

bool fl_config_table_wanted(const fl_config_source *src, const char *db, const char *table)
{
    size_t n = strlen(db) + strlen(table) + 2;
    char stackbuf[256];
    char *full = n <= sizeof stackbuf ? stackbuf : fl_xmalloc(n);
    snprintf(full, n, "%s.%s", db, table);
    bool wanted = true;
    if (src->include) {
        wanted = false;
        for (char **g = src->include; *g && !wanted; g++) wanted = fl_glob_match(*g, full);
    }
    if (wanted && src->exclude)
        for (char **g = src->exclude; *g; g++)
            if (fl_glob_match(*g, full)) {
                wanted = false;
                break;
            }
    if (full != stackbuf) free(full);
    return wanted;
}

/* ---- value checks ---- */

static void free_list(char **l)
{
    if (!l) return;
    for (char **p = l; *p; p++) free(*p);
    free(l);
}

/* Splits a comma-separated list into trimmed items; returns NULL (and *empty_item) when an
 * item is empty. */
static char **split_list(const char *v, bool *empty_item)
{
    size_t n = 1;
    for (const char *p = v; *p; p++) n += *p == ',';
    char **l = fl_xcalloc(n + 1, sizeof *l);
    size_t k = 0;
    const char *p = v;
    *empty_item = false;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        l[k] = trim_dup(p, len);
        if (!l[k][0]) *empty_item = true;
        k++;
        if (!c) break;
        p = c + 1;
    }
    if (*empty_item) {
        free_list(l);
        return NULL;
    }
    return l;
}

static const char *glob_problem(const char *g)
{
    if (!strchr(g, '.')) return "is not a db.table pattern";
    for (const char *p = g; *p; p++) {
        if (*p == '[') {
            size_t bl = bracket_len(p);
            if (!bl) return "has a '[' without its ']'";
            p += bl - 1;
        } else if (*p == ']') {
            return "has a ']' without its '['";
        } else if (is_ws(*p)) {
            return "contains whitespace";
        }
    }
    return NULL;
}

static bool valid_ident(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
              *s == '$' || (unsigned char)*s >= 0x80))
            return false;
    return true;
}

static bool file_readable(const char *path, const char **why)
{
    int fd = fl_open_regular(path, why);
    if (fd < 0) return false;
    close(fd);
    return true;
}

/* ---- validation ---- */

typedef struct vctx {
    loader *L;
    fl_config *c;
    section *s;
    const kv *e; /* current entry */
} vctx;

#define BAD(ctx, ...) report((ctx)->L, (ctx)->e->line, (ctx)->s->label, (ctx)->e->key, __VA_ARGS__)

static bool v_string(vctx *x, char **dst)
{
    if (!x->e->value[0]) {
        BAD(x, "value is empty");
        return false;
    }
    free(*dst);
    *dst = fl_xstrdup(x->e->value);
    return true;
}

static bool v_u64(vctx *x, uint64_t min, uint64_t max, uint64_t *out)
{
    const char *v = x->e->value;
    char sh[80];
    uint64_t r = 0;
    const char *end = leading_number(v, &r);
    if (!end || *end || r < min || r > max) {
        BAD(x, "'%s' is not a whole number from %llu to %llu", fl_printable(v, sh, sizeof sh),
            (unsigned long long)min, (unsigned long long)max);
        return false;
    }
    *out = r;
    return true;
}

static int v_choice(vctx *x, const char *const *choices, const char *allowed)
{
    char sh[80];
    for (int i = 0; choices[i]; i++)
        if (strcmp(x->e->value, choices[i]) == 0) return i;
    BAD(x, "'%s' is not one of %s", fl_printable(x->e->value, sh, sizeof sh), allowed);
    return -1;
}

static void v_hostport(vctx *x, char **dst)
{
    char sh[80];
    if (fl_parse_hostport(x->e->value, NULL, NULL)) {
        BAD(x, "'%s' is not host:port (port 1-65535; IPv6 as [addr]:port)",
            fl_printable(x->e->value, sh, sizeof sh));
        return;
    }
    free(*dst);
    *dst = fl_xstrdup(x->e->value);
}

static void v_readable(vctx *x, char **dst)
{
    const char *why = "unknown error";
    char sh[200];
    if (!v_string(x, dst)) return;
    if (!file_readable(*dst, &why)) BAD(x, "cannot read '%s': %s", fl_printable(*dst, sh, sizeof sh), why);
}

/* A secret given inline; a feed secret must be long enough. */
static void v_secret(vctx *x, char **dst, bool feed)
{
    const char *prob = NULL;
    if (!x->e->value[0]) {
        BAD(x, "value is empty");
        return;
    }
    if (feed && (prob = fl_feed_secret_problem(x->e->value))) {
        BAD(x, "the secret is %s", prob);
        return;
    }
    fl_secret_free(*dst);
    *dst = fl_xstrdup(x->e->value);
}

/* A secret read from a file (common/secret_file.h); a feed secret must be long enough. */
static void v_secret_file(vctx *x, char **dst, bool feed)
{
    char why[512], sh[200];
    const char *prob = NULL;
    if (!x->e->value[0]) {
        BAD(x, "value is empty");
        return;
    }
    char *s = fl_secret_file_read(x->e->value, why, sizeof why);
    if (!s) {
        BAD(x, "%s", why);
        return;
    }
    if (feed && (prob = fl_feed_secret_problem(s))) {
        BAD(x, "the secret in '%s' is %s", fl_printable(x->e->value, sh, sizeof sh), prob);
        fl_secret_free(s);
        return;
    }
    fl_secret_free(*dst);
    *dst = s;
}

static void v_globs(vctx *x, char ***dst)
{
    bool empty;
    char **l = split_list(x->e->value, &empty);
    if (!l) {
        BAD(x, "empty pattern in the list (comma-separated db.table globs)");
        return;
    }
    bool ok = true;
    for (char **g = l; *g; g++) {
        const char *prob = glob_problem(*g);
        char sh[80];
        if (prob) {
            BAD(x, "pattern '%s' %s", fl_printable(*g, sh, sizeof sh), prob);
            ok = false;
        }
    }
    if (!ok) {
        free_list(l);
        return;
    }
    free_list(*dst);
    *dst = l;
}

static const kv *find_kv(const section *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->kvs[i].key, key) == 0) return &s->kvs[i];
    return NULL;
}

static void check_source(vctx *x)
{
    fl_config_source *src = &x->c->source;
    const char *k = x->e->key;
    char sh[200];
    uint64_t u;
    if (!strcmp(k, "host"))
        v_string(x, &src->host);
    else if (!strcmp(k, "port")) {
        if (v_u64(x, 1, 65535, &u)) src->port = (int)u;
    } else if (!strcmp(k, "socket"))
        v_string(x, &src->socket);
    else if (!strcmp(k, "user"))
        v_string(x, &src->user);
    else if (!strcmp(k, "password")) {
        fl_secret_free(src->password);
        src->password = fl_xstrdup(x->e->value);
    } else if (!strcmp(k, "password_file"))
        v_secret_file(x, &src->password, false);
    else if (!strcmp(k, "server_id")) {
        if (v_u64(x, 1, UINT32_MAX, &u)) src->server_id = (uint32_t)u;
    } else if (!strcmp(k, "flavor")) {
        static const char *const ch[] = {"auto", "mariadb", "mysql", NULL};
        int i = v_choice(x, ch, "auto, mysql, mariadb");
        if (i >= 0) src->flavor = i; /* matches fl_flavor: 0 auto, 1 mariadb, 2 mysql */
    } else if (!strcmp(k, "ssl_mode")) {
        static const char *const ch[] = {"disabled",  "preferred",       "required",
                                         "verify_ca", "verify_identity", NULL};
        int i = v_choice(x, ch, "disabled, preferred, required, verify_ca, verify_identity");
        if (i >= 0) src->ssl_mode = (fl_ssl_mode)i;
    } else if (!strcmp(k, "ssl_ca"))
        v_readable(x, &src->ssl_ca);
    else if (!strcmp(k, "ssl_cert"))
        v_readable(x, &src->ssl_cert);
    else if (!strcmp(k, "ssl_key"))
        v_readable(x, &src->ssl_key);
    else if (!strcmp(k, "start")) {
        const char *v = x->e->value;
        if (!strcmp(v, "current"))
            src->start = FL_START_CURRENT;
        else if (!strcmp(v, "earliest"))
            src->start = FL_START_EARLIEST;
        else if (!strncmp(v, "gtid:", 5)) {
            char err[200];
            fl_gtid_set *s = fl_gtid_set_parse(v + 5, err, sizeof err);
            if (!s)
                BAD(x, "bad GTID set: %s", err);
            else if (fl_gtid_set_is_empty(s))
                BAD(x, "gtid: needs a GTID set (e.g. gtid:0-1-42)");
            else {
                src->start = FL_START_GTID;
                free(src->start_gtid);
                src->start_gtid = fl_gtid_set_format(s);
            }
            fl_gtid_set_free(s);
        } else if (!strncmp(v, "file:", 5)) {
            const char *name = v + 5, *colon = strrchr(name, ':');
            uint64_t pos = 0;
            const char *end = colon && colon > name ? leading_number(colon + 1, &pos) : NULL;
            bool ok = end && !*end;
            if (!ok)
                BAD(x, "'%s' is not file:NAME:POS (e.g. file:binlog.000042:4)", fl_printable(v, sh, 80));
            else {
                src->start = FL_START_FILE;
                free(src->start_file);
                src->start_file = fl_xmalloc((size_t)(colon - name) + 1);
                memcpy(src->start_file, name, (size_t)(colon - name));
                src->start_file[colon - name] = 0;
                src->start_pos = pos;
            }
        } else {
            BAD(x, "'%s' is not one of current, earliest, gtid:SET, file:NAME:POS", fl_printable(v, sh, 80));
        }
    } else if (!strcmp(k, "heartbeat")) {
        char *end;
        errno = 0;
        const char *v = x->e->value;
        double d = strtod(v, &end);
        if (end != v && *end == 's' && end[1] == 0) end++;
        if (end == v || *end || errno || !(d >= 0 && d <= 4294967.0) ||
            !((v[0] >= '0' && v[0] <= '9') || v[0] == '.'))
            BAD(x, "'%s' is not a number of seconds from 0 to 4294967", fl_printable(v, sh, 80));
        else
            src->heartbeat = d;
    } else if (!strcmp(k, "include"))
        v_globs(x, &src->include);
    else if (!strcmp(k, "exclude"))
        v_globs(x, &src->exclude);
}

static void check_journal(vctx *x)
{
    fl_config_journal *j = &x->c->journal;
    const char *k = x->e->key;
    char sh[80];
    if (!strcmp(k, "path"))
        v_string(x, &j->path);
    else if (!strcmp(k, "max_size")) {
        if (fl_parse_size(x->e->value, &j->max_size))
            BAD(x, "'%s' is not a size (bytes, or a number with K, M, G or T; 0 = unlimited)",
                fl_printable(x->e->value, sh, sizeof sh));
    } else if (!strcmp(k, "retain")) {
        if (fl_parse_duration(x->e->value, &j->retain))
            BAD(x, "'%s' is not a duration (seconds, or a number with s, m, h or d; 0 = forever)",
                fl_printable(x->e->value, sh, sizeof sh));
    } else if (!strcmp(k, "sync")) {
        static const char *const ch[] = {"group", "none", NULL};
        int i = v_choice(x, ch, "group, none");
        if (i >= 0) j->sync = i == 0;
    }
}

static void check_feed(vctx *x)
{
    fl_config_feed *f = &x->c->feed;
    const char *k = x->e->key;
    if (!strcmp(k, "listen"))
        v_hostport(x, &f->listen);
    else if (!strcmp(k, "secret"))
        v_secret(x, &f->secret, true);
    else if (!strcmp(k, "secret_file"))
        v_secret_file(x, &f->secret, true);
    else if (!strcmp(k, "tls_cert"))
        v_readable(x, &f->tls_cert);
    else if (!strcmp(k, "tls_key"))
        v_readable(x, &f->tls_key);
}

static void check_snapshot(vctx *x)
{
    fl_config_snapshot *sn = &x->c->snapshot;
    const char *k = x->e->key;
    uint64_t u;
    if (!strcmp(k, "tables"))
        v_globs(x, &sn->tables);
    else if (!strcmp(k, "initial")) {
        static const char *const ch[] = {"yes", "no", NULL};
        int i = v_choice(x, ch, "yes, no");
        if (i >= 0) sn->initial = i == 0;
    } else if (!strcmp(k, "chunk")) {
        if (v_u64(x, 1, 1000000, &u)) sn->chunk = (uint32_t)u;
    } else if (!strcmp(k, "rate")) {
        if (v_u64(x, 0, UINT32_MAX, &u)) sn->rate = (uint32_t)u;
    }
}

static bool valid_name(const char *s)
{
    if (!*s || strlen(s) > 64) return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
              *s == '-' || *s == '.'))
            return false;
    return true;
}

static void check_apply(vctx *x)
{
    fl_config_apply *a = &x->c->apply;
    const char *k = x->e->key;
    char sh[80];
    uint64_t u;
    if (!strcmp(k, "name")) {
        if (!valid_name(x->e->value))
            BAD(x, "'%s' is not a name (1-64 characters: letters, digits, '_', '-', '.')",
                fl_printable(x->e->value, sh, 80));
        else {
            free(a->name);
            a->name = fl_xstrdup(x->e->value);
        }
    } else if (!strcmp(k, "journal"))
        v_string(x, &a->journal);
    else if (!strcmp(k, "relay"))
        v_hostport(x, &a->relay);
    else if (!strcmp(k, "secret"))
        v_secret(x, &a->secret, true);
    else if (!strcmp(k, "secret_file"))
        v_secret_file(x, &a->secret, true);
    else if (!strcmp(k, "tls_ca"))
        v_readable(x, &a->tls_ca);
    else if (!strcmp(k, "target_tls_ca"))
        v_readable(x, &a->target_tls_ca);
    else if (!strcmp(k, "target_tls_cert"))
        v_readable(x, &a->target_tls_cert);
    else if (!strcmp(k, "target_tls_key"))
        v_readable(x, &a->target_tls_key);
    else if (!strcmp(k, "target")) {
        char why[256];
        if (fl_target_url_check(x->e->value, why, sizeof why))
            BAD(x, "%s", why);
        else {
            free(a->target);
            a->target = fl_xstrdup(x->e->value);
        }
    } else if (!strcmp(k, "max_atomic_ops")) {
        if (v_u64(x, 1, UINT32_MAX, &u)) a->max_atomic_ops = (uint32_t)u;
    } else if (!strcmp(k, "cluster_wait_replicas")) {
        if (v_u64(x, 0, 16, &u)) a->cluster_wait_replicas = (uint32_t)u;
    } else if (!strcmp(k, "cluster_wait_timeout")) {
        if (v_u64(x, 1, 10000, &u)) a->cluster_wait_timeout_ms = (uint32_t)u;
    } else if (!strcmp(k, "on_error")) {
        static const char *const ch[] = {"stop", "skip", NULL};
        int i = v_choice(x, ch, "stop, skip");
        if (i >= 0) a->on_error = (fl_on_error)i;
    } else if (!strcmp(k, "checkpoint_path")) {
        v_string(x, &a->checkpoint_path);
    } else if (!strcmp(k, "rebuild")) {
        static const char *const ch[] = {"auto", "no", NULL};
        int i = v_choice(x, ch, "auto, no");
        if (i >= 0) a->rebuild = i == 0;
    }
}

static void check_rule(vctx *x, fl_config_rule *r)
{
    const char *k = x->e->key, *v = x->e->value;
    char sh[80];
    if (!strcmp(k, "table")) {
        const char *dot = strchr(v, '.');
        if (!dot || dot == v || !dot[1] || strchr(dot + 1, '.') || strpbrk(v, "*?[") || strpbrk(v, " \t")) {
            BAD(x, "'%s' is not db.table", fl_printable(v, sh, 80));
            return;
        }
        free(r->db);
        free(r->table);
        r->db = fl_xmalloc((size_t)(dot - v) + 1);
        memcpy(r->db, v, (size_t)(dot - v));
        r->db[dot - v] = 0;
        r->table = fl_xstrdup(dot + 1);
    } else if (!strcmp(k, "key")) {
        fl_template tpl;
        const char *prob = fl_template_parse(v, &tpl);
        if (prob)
            BAD(x, "template '%s' %s", fl_printable(v, sh, 80), prob);
        else {
            fl_template_free(&tpl);
            free(r->key);
            r->key = fl_xstrdup(v);
            r->key_line = x->e->line;
        }
    } else if (!strcmp(k, "format")) {
        if (!strcmp(v, "json"))
            r->format = FL_FORMAT_JSON;
        else if (!strcmp(v, "hash"))
            r->format = FL_FORMAT_HASH;
        else if (!strncmp(v, "column:", 7)) {
            if (!valid_ident(v + 7))
                BAD(x, "'%s': column:NAME needs a column name", fl_printable(v, sh, 80));
            else {
                r->format = FL_FORMAT_COLUMN;
                free(r->format_column);
                r->format_column = fl_xstrdup(v + 7);
            }
        } else
            BAD(x, "'%s' is not one of json, hash, column:NAME", fl_printable(v, sh, 80));
    } else if (!strcmp(k, "mode")) {
        static const char *const ch[] = {"upsert", "invalidate", NULL};
        int i = v_choice(x, ch, "upsert, invalidate");
        if (i >= 0) r->mode = (fl_rule_mode)i;
    } else if (!strcmp(k, "ttl")) {
        uint64_t t;
        if (fl_parse_duration(v, &t) || t > UINT32_MAX)
            BAD(x, "'%s' is not a number of seconds (or a number with s, m, h or d; 0 = no expiry)",
                fl_printable(v, sh, 80));
        else
            r->ttl = (uint32_t)t;
    } else if (!strcmp(k, "columns")) {
        bool empty;
        char **l = split_list(v, &empty);
        if (!l) {
            BAD(x, "empty column name in the list (comma-separated column names)");
            return;
        }
        for (char **c = l; *c; c++)
            if (!valid_ident(*c)) {
                BAD(x, "'%s' is not a column name", fl_printable(*c, sh, 80));
                free_list(l);
                return;
            }
        free_list(r->columns);
        r->columns = l;
        r->columns_line = x->e->line;
    }
}

static const char *key_home(const char *key)
{
    for (int k = 0; k < SEC_RULE; k++)
        for (const char *const *p = sec_keys[k]; *p; p++)
            if (!strcmp(*p, key)) return sec_names[k];
    for (const char *const *p = keys_rule; *p; p++)
        if (!strcmp(*p, key)) return "rule NAME";
    return NULL;
}

static void missing(loader *L, const section *s, const char *key, const char *why)
{
    report(L, s->line, s->label, key, "missing (%s)", why);
}

/* [metrics]: relay and apply each name one program's endpoint. listen is the endpoint of the
 * one program a file configures; a file with both [source] and [apply] serves both programs,
 * which cannot share an address, so there it is refused. */
static void check_metrics(loader *L, fl_config *c, const section *s, bool both_programs)
{
    const kv *listen = find_kv(s, "listen"), *relay = find_kv(s, "relay"), *apply = find_kv(s, "apply");
    if (listen && (relay || apply)) {
        const kv *other = relay ? relay : apply;
        report(L, listen->line, s->label, "listen", "%s is also set (line %d); use relay = and apply = only",
               other->key, other->line);
    } else if (listen && both_programs) {
        report(L, listen->line, s->label, "listen",
               "this file configures both fl-relay ([source]) and fl-apply ([apply]), which cannot listen on "
               "one address; write relay = HOST:PORT and apply = HOST:PORT instead");
    } else if (listen && fl_parse_hostport(listen->value, NULL, NULL) == 0) {
        c->metrics.relay = fl_xstrdup(listen->value);
        c->metrics.apply = fl_xstrdup(listen->value);
    }
    if (c->metrics.relay && c->metrics.apply && relay && apply && !strcmp(c->metrics.relay, c->metrics.apply))
        report(L, apply->line, s->label, "apply",
               "the same address as relay (line %d); each program needs its own", relay->line);
}

static void validate(loader *L, fl_config *c)
{
    section *first[SEC_RULE];
    for (int k = 0; k < SEC_RULE; k++) first[k] = NULL;
    bool target_is_memcached = false;

    /* rules first need counting */
    size_t nrules = 0;
    for (size_t i = 0; i < L->nsecs; i++) nrules += L->secs[i].kind == SEC_RULE;
    c->rules = nrules ? fl_xcalloc(nrules, sizeof *c->rules) : NULL;

    for (size_t i = 0; i < L->nsecs; i++) {
        section *s = &L->secs[i];
        if (s->kind == SEC_NONE) continue;
        if (s->kind == SEC_UNKNOWN) {
            const char *hint = closest(s->header, sec_names);
            if (!s->header[0])
                report(L, s->line, NULL, NULL, "empty section name");
            else if (hint && !strcmp(hint, "rule"))
                report(L, s->line, s->label, NULL, "unknown section (did you mean [rule NAME]?)");
            else if (hint)
                report(L, s->line, s->label, NULL, "unknown section (did you mean [%s]?)", hint);
            else
                report(L, s->line, s->label, NULL,
                       "unknown section (known: source, journal, feed, metrics, apply, log, snapshot, rule NAME)");
            continue;
        }
        fl_config_rule *r = NULL;
        if (s->kind == SEC_RULE) {
            if (!s->rule_name[0]) {
                report(L, s->line, s->label, NULL, "a rule needs a name: [rule NAME]");
                continue;
            }
            if (!valid_name(s->rule_name)) {
                report(L, s->line, s->label, NULL, "rule name must be letters, digits, '_', '-', '.' (up to 64)");
                continue;
            }
            for (size_t j = 0; j < c->nrules; j++)
                if (!strcmp(c->rules[j].name, s->rule_name)) {
                    report(L, s->line, s->label, NULL, "rule defined twice (first on line %d)", c->rules[j].line);
                    r = NULL;
                    goto next_section;
                }
            r = &c->rules[c->nrules++];
            r->name = fl_xstrdup(s->rule_name);
            r->line = s->line;
        } else if (first[s->kind]) {
            report(L, s->line, s->label, NULL, "section appears twice (first on line %d); merge them",
                   first[s->kind]->line);
            continue;
        } else {
            first[s->kind] = s;
        }

        const char *const *known = sec_keys[s->kind];
        for (size_t e = 0; e < s->n; e++) {
            const kv *ent = &s->kvs[e];
            bool ok = false;
            for (const char *const *p = known; *p; p++) ok |= !strcmp(*p, ent->key);
            if (!ok) {
                const char *hint = closest(ent->key, known), *home = key_home(ent->key);
                if (hint)
                    report(L, ent->line, s->label, ent->key, "unknown key (did you mean %s?)", hint);
                else if (home)
                    report(L, ent->line, s->label, ent->key, "unknown key here (it belongs in [%s])", home);
                else
                    report(L, ent->line, s->label, ent->key, "unknown key");
                continue;
            }
            bool dup = false;
            for (size_t f = 0; f < e; f++)
                if (!strcmp(s->kvs[f].key, ent->key)) {
                    report(L, ent->line, s->label, ent->key, "set twice (first on line %d)", s->kvs[f].line);
                    dup = true;
                    break;
                }
            if (dup) continue;
            vctx x = {L, c, s, ent};
            switch (s->kind) {
            case SEC_SOURCE: check_source(&x); break;
            case SEC_JOURNAL: check_journal(&x); break;
            case SEC_FEED: check_feed(&x); break;
            case SEC_METRICS: {
                char *addr = NULL;
                v_hostport(&x, &addr);
                if (!strcmp(ent->key, "relay"))
                    c->metrics.relay = addr;
                else if (!strcmp(ent->key, "apply"))
                    c->metrics.apply = addr;
                else
                    free(addr); /* listen: assigned below, once the file's sections are known */
                break;
            }
            case SEC_APPLY: check_apply(&x); break;
            case SEC_LOG: {
                static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
                static const char *const formats[] = {"auto", "text", "journal", "json", NULL};
                bool is_format = !strcmp(ent->key, "format");
                char **field = is_format ? &c->log_format : &c->log_level;
                if (v_choice(&x, is_format ? formats : levels,
                             is_format ? "auto, text, journal, json" : "debug, info, warn, error") >= 0) {
                    free(*field);
                    *field = fl_xstrdup(ent->value);
                }
                break;
            }
            case SEC_SNAPSHOT: check_snapshot(&x); break;
            case SEC_RULE: check_rule(&x, r); break;
            default: break;
            }
        }
    next_section:;
    }

    /* section-level requirements and exclusive pairs */
    if (first[SEC_SOURCE]) {
        section *s = first[SEC_SOURCE];
        c->source.present = true;
        c->source.line = s->line;
        if (!find_kv(s, "user")) missing(L, s, "user", "the replication user");
        if (!find_kv(s, "server_id"))
            missing(L, s, "server_id", "a server id unique among the source's replicas, 1-4294967295");
        const kv *pw = find_kv(s, "password"), *pf = find_kv(s, "password_file");
        if (pw && pf)
            report(L, pf->line, s->label, "password_file", "password is also set (line %d); keep one of them",
                   pw->line);
        if (find_kv(s, "socket") && find_kv(s, "host"))
            report(L, find_kv(s, "socket")->line, s->label, "socket",
                   "host is also set (line %d); keep one of them", find_kv(s, "host")->line);
        if ((find_kv(s, "ssl_cert") != NULL) != (find_kv(s, "ssl_key") != NULL))
            missing(L, s, find_kv(s, "ssl_cert") ? "ssl_key" : "ssl_cert", "ssl_cert and ssl_key go together");
    }
    if (first[SEC_JOURNAL]) {
        section *s = first[SEC_JOURNAL];
        c->journal.present = true;
        if (!find_kv(s, "path")) missing(L, s, "path", "the journal directory");
    }
    if (first[SEC_FEED]) {
        section *s = first[SEC_FEED];
        c->feed.present = true;
        const kv *a = find_kv(s, "secret"), *b = find_kv(s, "secret_file");
        if (a && b)
            report(L, b->line, s->label, "secret_file", "secret is also set (line %d); keep one of them", a->line);
        if (find_kv(s, "listen") && !a && !b)
            missing(L, s, "secret", "clients authenticate with secret or secret_file");
        if ((find_kv(s, "tls_cert") != NULL) != (find_kv(s, "tls_key") != NULL))
            missing(L, s, find_kv(s, "tls_cert") ? "tls_key" : "tls_cert", "tls_cert and tls_key go together");
    }
    if (first[SEC_METRICS]) check_metrics(L, c, first[SEC_METRICS], first[SEC_SOURCE] && first[SEC_APPLY]);
    if (first[SEC_APPLY]) {
        section *s = first[SEC_APPLY];
        fl_config_apply *a = &c->apply;
        a->present = true;
        a->line = s->line;
        const kv *sa = find_kv(s, "secret"), *sb = find_kv(s, "secret_file");
        if (sa && sb)
            report(L, sb->line, s->label, "secret_file", "secret is also set (line %d); keep one of them",
                   sa->line);
        const kv *jr = find_kv(s, "journal"), *rl = find_kv(s, "relay");
        if (jr && rl)
            report(L, rl->line, s->label, "relay",
                   "journal is also set (line %d); read a local journal or a relay, not both", jr->line);
        if (rl && !sa && !sb) missing(L, s, "secret", "a relay needs the feed's secret or secret_file");
        if (find_kv(s, "tls_ca") && !rl)
            report(L, find_kv(s, "tls_ca")->line, s->label, "tls_ca", "only used with relay = host:port");
        if (!find_kv(s, "target"))
            missing(L, s, "target", "redis://host:port/db, redis+unix:///path or memcached://host:port");
        if (!a->relay && !a->journal && c->journal.path) a->journal = fl_xstrdup(c->journal.path);
        if (!rl && !jr && !(first[SEC_JOURNAL] && find_kv(first[SEC_JOURNAL], "path")))
            missing(L, s, "journal", "a local journal path, relay = host:port, or [journal] path");
        if (a->target) target_is_memcached = fl_target_url_scheme(a->target) == FL_SCHEME_MEMCACHED;
        static const char *const target_tls_keys[] = {"target_tls_ca", "target_tls_cert", "target_tls_key", NULL};
        for (const char *const *t = target_tls_keys; *t; t++)
            if (find_kv(s, *t) && a->target && strncmp(a->target, "rediss://", 9) &&
                strncmp(a->target, "rediss-cluster://", 17))
                report(L, find_kv(s, *t)->line, s->label, *t,
                       "only used with a rediss:// or rediss-cluster:// target");
        static const char *const cluster_keys[] = {"cluster_wait_replicas", "cluster_wait_timeout", NULL};
        for (const char *const *t = cluster_keys; *t; t++)
            if (find_kv(s, *t) && a->target && fl_target_url_scheme(a->target) != FL_SCHEME_REDIS_CLUSTER)
                report(L, find_kv(s, *t)->line, s->label, *t, "only used with a redis-cluster:// target");
        if ((find_kv(s, "target_tls_cert") != NULL) != (find_kv(s, "target_tls_key") != NULL))
            missing(L, s, find_kv(s, "target_tls_cert") ? "target_tls_key" : "target_tls_cert",
                    "target_tls_cert and target_tls_key go together");
        if (!a->checkpoint_path && a->journal) {
            const char *j = a->journal;
            size_t jl = strlen(j);
            while (jl > 1 && j[jl - 1] == '/') jl--;
            size_t need = jl + strlen(a->name) + 32;
            a->checkpoint_path = fl_xmalloc(need);
            snprintf(a->checkpoint_path, need, "%.*s/../%s.checkpoint", (int)jl, j, a->name);
        }
        if (target_is_memcached && !a->checkpoint_path)
            missing(L, s, "checkpoint_path",
                    "a memcached target fed by a relay keeps its checkpoint in this file");
    }
    for (size_t i = 0; i < L->nsecs; i++) {
        section *s = &L->secs[i];
        if (s->kind != SEC_RULE) continue;
        fl_config_rule *r = NULL;
        for (size_t j = 0; j < c->nrules; j++)
            if (c->rules[j].line == s->line) r = &c->rules[j];
        if (!r) continue;
        if (!find_kv(s, "table")) missing(L, s, "table", "db.table this rule applies to");
        if (!find_kv(s, "key")) missing(L, s, "key", "a key template such as user:{id}");
        const kv *fm = find_kv(s, "format");
        if (fm && target_is_memcached && r->format == FL_FORMAT_HASH)
            report(L, fm->line, s->label, "format",
                   "hash needs a Redis target; memcached stores json or column:NAME");
    }
}

/* ---- load ---- */

static void free_loader(loader *L)
{
    for (size_t i = 0; i < L->nsecs; i++) {
        section *s = &L->secs[i];
        for (size_t k = 0; k < s->n; k++) {
            free(s->kvs[k].key);
            /* values may hold secrets: wipe before freeing */
            size_t vl = strlen(s->kvs[k].value);
            memset(s->kvs[k].value, 0, vl);
            free(s->kvs[k].value);
        }
        free(s->kvs);
        free(s->header);
        free(s->label);
        free(s->rule_name);
    }
    free(L->secs);
    free(L->long_value);
    for (size_t i = 0; i < L->nerrs; i++) free(L->errs[i].text);
    free(L->errs);
}

fl_config *fl_config_load_string(const char *text, size_t len, const char *name, char **errors)
{
    if (errors) *errors = NULL;
    loader L;
    memset(&L, 0, sizeof L);
    L.name = name ? name : "config";
    L.text = text ? text : "";
    L.len = text ? len : 0;

    fl_config *c = fl_xcalloc(1, sizeof *c);
    c->path = fl_xstrdup(L.name);
    c->source.host = fl_xstrdup("127.0.0.1");
    c->source.port = 3306;
    c->source.ssl_mode = FL_SSL_PREFERRED;
    c->source.start = FL_START_CURRENT;
    c->source.heartbeat = 5;
    c->journal.sync = true;
    c->snapshot.initial = true;
    c->snapshot.chunk = 10000;
    c->apply.name = fl_xstrdup("default");
    c->apply.max_atomic_ops = 10000;
    c->apply.cluster_wait_replicas = 1;
    c->apply.cluster_wait_timeout_ms = 1000;
    c->apply.on_error = FL_ON_ERROR_STOP;
    c->apply.rebuild = true;
    c->log_level = fl_xstrdup("info");
    c->log_format = fl_xstrdup("auto");

    int rc = ini_parse_stream(reader, &L, handler, &L);
    if (rc < 0) report(&L, 0, NULL, NULL, "cannot parse (out of memory)");
    /* rc > 0 cannot happen: the reader hands inih only lines it accepts */
    validate(&L, c);

    if (L.nerrs) {
        /* in file order; discovery order within a line */
        struct err *sorted = fl_xmalloc(L.nerrs * sizeof *sorted);
        memcpy(sorted, L.errs, L.nerrs * sizeof *sorted);
        for (size_t i = 1; i < L.nerrs; i++) { /* insertion sort: stable, lists are short */
            struct err t = sorted[i];
            size_t j = i;
            while (j > 0 && sorted[j - 1].line > t.line) {
                sorted[j] = sorted[j - 1];
                j--;
            }
            sorted[j] = t;
        }
        fl_buf b = {0};
        for (size_t i = 0; i < L.nerrs; i++) {
            fl_buf_puts(&b, sorted[i].text);
            fl_buf_putc(&b, '\n');
        }
        free(sorted);
        if (errors) *errors = fl_xstrdup(fl_buf_cstr(&b));
        fl_buf_free(&b);
        free_loader(&L);
        fl_config_free(c);
        return NULL;
    }
    free_loader(&L);
    return c;
}

fl_config *fl_config_load(const char *path, char **errors)
{
    if (errors) *errors = NULL;
    FILE *f = fopen(path, "rb");
    fl_buf b = {0};
    if (f) {
        char chunk[8192];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) fl_buf_put(&b, chunk, n);
        if (ferror(f)) {
            fclose(f);
            f = NULL;
        } else
            fclose(f);
    }
    if (!f) {
        int e = errno;
        if (errors) {
            size_t n = strlen(path) + 128;
            *errors = fl_xmalloc(n);
            snprintf(*errors, n, "%s: cannot read: %s\n", path, strerror(e));
        }
        fl_buf_free(&b);
        return NULL;
    }
    fl_config *c = fl_config_load_string(b.data ? (const char *)b.data : "", b.len, path, errors);
    if (b.data) memset(b.data, 0, b.len); /* the file may hold secrets */
    fl_buf_free(&b);
    return c;
}


void fl_config_free(fl_config *c)
{
    if (!c) return;
    free(c->path);
    fl_config_source *s = &c->source;
    free(s->host);
    free(s->socket);
    free(s->user);
    fl_secret_free(s->password);
    free(s->ssl_ca);
    free(s->ssl_cert);
    free(s->ssl_key);
    free(s->start_gtid);
    free(s->start_file);
    free_list(s->include);
    free_list(s->exclude);
    free_list(c->snapshot.tables);
    free(c->journal.path);
    free(c->feed.listen);
    fl_secret_free(c->feed.secret);
    free(c->feed.tls_cert);
    free(c->feed.tls_key);
    free(c->metrics.relay);
    free(c->metrics.apply);
    fl_config_apply *a = &c->apply;
    free(a->name);
    free(a->journal);
    free(a->relay);
    fl_secret_free(a->secret);
    free(a->tls_ca);
    free(a->target_tls_ca);
    free(a->target_tls_cert);
    free(a->target_tls_key);
    fl_secret_free(a->target); /* may carry a Redis password */
    free(a->checkpoint_path);
    for (size_t i = 0; i < c->nrules; i++) {
        fl_config_rule *r = &c->rules[i];
        free(r->name);
        free(r->db);
        free(r->table);
        free(r->key);
        free(r->format_column);
        free_list(r->columns);
    }
    free(c->rules);
    free(c->log_level);
    free(c->log_format);
    free(c);
}

char *fl_config_require(const fl_config *c, int need)
{
    fl_buf b = {0};
    const char *p = c->path ? c->path : "config";
    if ((need & FL_NEED_SOURCE) && !c->source.present)
        fl_buf_printf(&b, "%s:0: [source]: missing section (host, port, user, password, server_id)\n", p);
    if ((need & FL_NEED_JOURNAL) && !c->journal.path)
        fl_buf_printf(&b, "%s:0: [journal] path: missing (the journal directory)\n", p);
    if (need & FL_NEED_APPLY) {
        if (!c->apply.present)
            fl_buf_printf(&b, "%s:0: [apply]: missing section (target, and journal or relay)\n", p);
        else if (!c->apply.journal && !c->apply.relay)
            fl_buf_printf(&b, "%s:%d: [apply] journal: missing (a local journal path or relay = host:port)\n", p,
                          c->apply.line);
    }
    if (!b.len) return NULL;
    char *r = fl_xstrdup(fl_buf_cstr(&b));
    fl_buf_free(&b);
    return r;
}

void fl_config_apply_log(const fl_config *c, bool verbose)
{
    fl_log_level level = FL_LOG_INFO;
    fl_log_format format = FL_LOG_AUTO;
    if (c && c->log_level) fl_log_parse_level(c->log_level, &level);
    if (c && c->log_format) fl_log_parse_format(c->log_format, &format);
    fl_log_set_level(verbose ? FL_LOG_DEBUG : level);
    fl_log_set_format(format);
}
