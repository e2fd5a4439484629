/* sql_tables.c — a small tokenizer and just enough grammar to tell what a statement does to
 * tables.
 *
 * Tokens: words (letters, digits, '_', '$' and bytes >= 0x80), quoted identifiers (`...` and
 * "...", a doubled quote standing for one), string literals ('...', with backslash escapes
 * and doubled quotes: skipped whole), and single punctuation characters. Blanks, comments
 * (slash-star ... star-slash, "-- " and '#' to the end of the line) separate tokens; a
 * version comment's opening (slash-star-bang with its digits, or MariaDB's slash-star-M-bang)
 * and any closing star-slash are read as blanks, so what they enclose counts. Keywords are
 * matched without regard to case, and only as unquoted words. Nothing is read past len. */
#include "common/sql_tables.h"

#include <string.h>
#include <strings.h>

enum tok_kind { T_END, T_WORD, T_QUOTED, T_STRING, T_PUNCT };

typedef struct tok {
    int kind;
    const char *p; /* the token's text (quoted: without its quotes, doubled quotes still doubled) */
    size_t len;
    char quote; /* T_QUOTED: the quote character */
} tok;

typedef struct lexer {
    const char *p, *end;
    tok cur;
} lexer;

static bool word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$' ||
           c >= 0x80;
}

static void skip_blanks(lexer *lx)
{
    while (lx->p < lx->end) {
        const char *p = lx->p;
        size_t left = (size_t)(lx->end - p);
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            lx->p++;
        } else if (left >= 2 && p[0] == '*' && p[1] == '/') {
            lx->p += 2; /* the end of a version comment */
        } else if (left >= 3 && p[0] == '/' && p[1] == '*' &&
                   (p[2] == '!' || (left >= 4 && p[2] == 'M' && p[3] == '!'))) {
            lx->p += p[2] == '!' ? 3 : 4;
            while (lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9') lx->p++;
        } else if (left >= 2 && p[0] == '/' && p[1] == '*') {
            const char *q = p + 2;
            while (q + 1 < lx->end && !(q[0] == '*' && q[1] == '/')) q++;
            lx->p = q + 1 < lx->end ? q + 2 : lx->end;
        } else if (c == '#' ||
                   (left >= 2 && p[0] == '-' && p[1] == '-' && (left == 2 || (unsigned char)p[2] <= ' '))) {
            while (lx->p < lx->end && *lx->p != '\n') lx->p++;
        } else {
            break;
        }
    }
}

static void next(lexer *lx)
{
    skip_blanks(lx);
    tok *t = &lx->cur;
    memset(t, 0, sizeof *t);
    if (lx->p >= lx->end) return;
    const char *p = lx->p;
    char c = *p;
    if (word_byte((unsigned char)c)) {
        while (lx->p < lx->end && word_byte((unsigned char)*lx->p)) lx->p++;
        t->kind = T_WORD;
        t->p = p;
        t->len = (size_t)(lx->p - p);
        return;
    }
    if (c == '`' || c == '"' || c == '\'') {
        const char *q = p + 1;
        for (;;) {
            if (q >= lx->end) break;
            if (c == '\'' && *q == '\\' && q + 1 < lx->end) {
                q += 2;
                continue;
            }
            if (*q == c) {
                if (q + 1 < lx->end && q[1] == c) {
                    q += 2;
                    continue;
                }
                break;
            }
            q++;
        }
        t->kind = c == '\'' ? T_STRING : T_QUOTED;
        t->quote = c;
        t->p = p + 1;
        t->len = (size_t)(q - p - 1);
        lx->p = q < lx->end ? q + 1 : lx->end;
        return;
    }
    t->kind = T_PUNCT;
    t->p = p;
    t->len = 1;
    lx->p++;
}

static bool is_kw(const tok *t, const char *kw)
{
    return t->kind == T_WORD && t->len == strlen(kw) && !strncasecmp(t->p, kw, t->len);
}

static bool is_punct(const tok *t, char c) { return t->kind == T_PUNCT && t->p[0] == c; }

/* Consumes the keyword when it is next. */
static bool accept(lexer *lx, const char *kw)
{
    if (!is_kw(&lx->cur, kw)) return false;
    next(lx);
    return true;
}

static bool is_ident(const tok *t) { return t->kind == T_WORD || t->kind == T_QUOTED; }

/* The identifier's text in the arena, doubled quotes undone. */
static const char *ident_text(fl_arena *a, const tok *t)
{
    if (t->kind != T_QUOTED) return fl_arena_strndup(a, t->p, t->len);
    char *out = fl_arena_alloc(a, t->len + 1);
    size_t n = 0;
    for (size_t i = 0; i < t->len; i++) {
        out[n++] = t->p[i];
        if (t->p[i] == t->quote && i + 1 < t->len && t->p[i + 1] == t->quote) i++;
    }
    out[n] = 0;
    return out;
}

static void add_name(fl_sql_tables *st, const char *db, const char *table)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 4;
        fl_sql_name *names = fl_arena_alloc(&st->arena, cap * sizeof *names);
        if (st->n) memcpy(names, st->names, st->n * sizeof *names);
        st->names = names;
        st->cap = cap;
    }
    st->names[st->n].db = db;
    st->names[st->n].table = table;
    st->n++;
}

/* [db.]table at the current token. Returns false (nothing consumed) when there is none. */
static bool table_name(lexer *lx, fl_sql_tables *st, const char *db)
{
    if (!is_ident(&lx->cur)) return false;
    const char *first = ident_text(&st->arena, &lx->cur);
    next(lx);
    if (is_punct(&lx->cur, '.')) {
        next(lx);
        if (!is_ident(&lx->cur)) return false;
        const char *second = ident_text(&st->arena, &lx->cur);
        next(lx);
        add_name(st, first, second);
        return true;
    }
    add_name(st, fl_arena_strndup(&st->arena, db, strlen(db)), first);
    return true;
}

/* MariaDB's WAIT n | NOWAIT after a table name. */
static void skip_wait(lexer *lx)
{
    if (accept(lx, "NOWAIT")) return;
    if (accept(lx, "WAIT")) next(lx);
}

static void parse_truncate(lexer *lx, fl_sql_tables *st, const char *db)
{
    st->kind = FL_SQL_CLEAR;
    accept(lx, "TABLE");
    if (!table_name(lx, st, db)) st->incomplete = true;
}

static void parse_drop(lexer *lx, fl_sql_tables *st, const char *db)
{
    if (is_kw(&lx->cur, "TEMPORARY")) return; /* a temporary table only shadows the real one */
    if (accept(lx, "DATABASE") || accept(lx, "SCHEMA")) {
        st->kind = FL_SQL_DROP_DATABASE;
        if (accept(lx, "IF") && !accept(lx, "EXISTS")) {
            st->incomplete = true;
            return;
        }
        if (!is_ident(&lx->cur)) {
            st->incomplete = true;
            return;
        }
        add_name(st, ident_text(&st->arena, &lx->cur), "");
        next(lx);
        return;
    }
    if (!accept(lx, "TABLE") && !accept(lx, "TABLES")) return;
    st->kind = FL_SQL_DROP;
    if (accept(lx, "IF") && !accept(lx, "EXISTS")) {
        st->incomplete = true;
        return;
    }
    do {
        if (!table_name(lx, st, db)) {
            st->incomplete = true;
            return;
        }
    } while (is_punct(&lx->cur, ',') && (next(lx), true));
}

static void parse_rename(lexer *lx, fl_sql_tables *st, const char *db)
{
    if (!accept(lx, "TABLE") && !accept(lx, "TABLES")) return;
    st->kind = FL_SQL_RENAME;
    if (accept(lx, "IF") && !accept(lx, "EXISTS")) {
        st->incomplete = true;
        return;
    }
    do {
        if (!table_name(lx, st, db)) goto bad;
        skip_wait(lx);
        if (!accept(lx, "TO") || !table_name(lx, st, db)) goto bad;
    } while (is_punct(&lx->cur, ',') && (next(lx), true));
    return;
bad:
    st->incomplete = true;
    if (st->n % 2) st->n--; /* a pair without its new name */
}

/* ALTER [ONLINE] [IGNORE] TABLE [IF EXISTS] t [WAIT n|NOWAIT] spec, spec, ...: a spec
 * RENAME [TO|AS] u renames the table (RENAME COLUMN/INDEX/KEY do not); DROP, TRUNCATE or
 * EXCHANGE PARTITION lose rows without row events. */
static void parse_alter(lexer *lx, fl_sql_tables *st, const char *db)
{
    accept(lx, "ONLINE");
    accept(lx, "IGNORE");
    if (!accept(lx, "TABLE")) return;
    if (accept(lx, "IF") && !accept(lx, "EXISTS")) return;
    if (!table_name(lx, st, db)) return;
    skip_wait(lx);
    st->kind = FL_SQL_ALTER;
    bool spec_start = true, clear = false;
    size_t renamed = 0; /* index of the new name */
    int depth = 0;
    while (lx->cur.kind != T_END) {
        if (is_punct(&lx->cur, '('))
            depth++;
        else if (is_punct(&lx->cur, ')') && depth > 0)
            depth--;
        if (depth == 0 && is_punct(&lx->cur, ',')) {
            spec_start = true;
            next(lx);
            continue;
        }
        if (depth == 0 && spec_start) {
            spec_start = false;
            if (is_kw(&lx->cur, "RENAME")) {
                next(lx);
                if (is_kw(&lx->cur, "COLUMN") || is_kw(&lx->cur, "INDEX") || is_kw(&lx->cur, "KEY")) continue;
                if (!accept(lx, "TO")) accept(lx, "AS");
                size_t at = st->n;
                if (!renamed && table_name(lx, st, db)) renamed = at;
                continue;
            }
            if (is_kw(&lx->cur, "DROP") || is_kw(&lx->cur, "TRUNCATE")) {
                next(lx);
                if (accept(lx, "PARTITION")) clear = true;
                continue;
            }
            if (is_kw(&lx->cur, "EXCHANGE")) {
                next(lx);
                if (!accept(lx, "PARTITION")) continue;
                clear = true;
                while (lx->cur.kind != T_END && !is_kw(&lx->cur, "TABLE")) next(lx);
                if (accept(lx, "TABLE") && !table_name(lx, st, db)) st->incomplete = true;
                continue;
            }
        }
        next(lx);
    }
    if (renamed) {
        st->kind = FL_SQL_RENAME;
        st->names[1] = st->names[renamed]; /* the old name, the new one */
        st->n = 2;
    } else if (clear) {
        st->kind = FL_SQL_CLEAR;
    }
}

/* Statement-based DML: the one table written, when that is plain. */
static void parse_write(lexer *lx, fl_sql_tables *st, const char *db, const char *verb)
{
    st->kind = FL_SQL_WRITE;
    static const char *const modifiers[] = {"LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "QUICK", NULL};
    bool again = true;
    while (again) {
        again = false;
        for (const char *const *m = modifiers; *m; m++)
            if (accept(lx, *m)) again = true;
    }
    if (!strcmp(verb, "LOAD")) { /* LOAD DATA|XML ... INTO TABLE t */
        while (lx->cur.kind != T_END) {
            if (accept(lx, "INTO")) {
                if (accept(lx, "TABLE")) table_name(lx, st, db);
                return;
            }
            next(lx);
        }
        return;
    }
    if (!strcmp(verb, "DELETE")) {
        if (!accept(lx, "FROM")) return; /* DELETE t1, t2 FROM ...: several tables */
        if (!table_name(lx, st, db)) return;
        if (is_punct(&lx->cur, ',') || is_kw(&lx->cur, "USING") || is_kw(&lx->cur, "JOIN")) st->n = 0;
        return;
    }
    if (!strcmp(verb, "UPDATE")) {
        if (!table_name(lx, st, db)) return;
        accept(lx, "AS");
        if (is_ident(&lx->cur) && !is_kw(&lx->cur, "SET")) next(lx); /* an alias */
        if (!is_kw(&lx->cur, "SET")) st->n = 0;                      /* joined or several tables */
        return;
    }
    accept(lx, "INTO"); /* INSERT / REPLACE */
    table_name(lx, st, db);
}

void fl_sql_tables_init(fl_sql_tables *t) { memset(t, 0, sizeof *t); }

void fl_sql_tables_free(fl_sql_tables *t)
{
    fl_arena_free(&t->arena);
    memset(t, 0, sizeof *t);
}

fl_sql_kind fl_sql_tables_parse(fl_sql_tables *st, const char *sql, size_t len, const char *db)
{
    fl_arena_reset(&st->arena);
    st->kind = FL_SQL_OTHER;
    st->incomplete = false;
    st->names = NULL;
    st->n = st->cap = 0;
    if (!db) db = "";
    lexer lx = {sql, sql + len, {0}};
    next(&lx);
    while (is_punct(&lx.cur, '(')) next(&lx);
    tok verb = lx.cur;
    next(&lx);
    if (is_kw(&verb, "TRUNCATE"))
        parse_truncate(&lx, st, db);
    else if (is_kw(&verb, "DROP"))
        parse_drop(&lx, st, db);
    else if (is_kw(&verb, "RENAME"))
        parse_rename(&lx, st, db);
    else if (is_kw(&verb, "ALTER"))
        parse_alter(&lx, st, db);
    else if (is_kw(&verb, "INSERT"))
        parse_write(&lx, st, db, "INSERT");
    else if (is_kw(&verb, "REPLACE"))
        parse_write(&lx, st, db, "REPLACE");
    else if (is_kw(&verb, "UPDATE"))
        parse_write(&lx, st, db, "UPDATE");
    else if (is_kw(&verb, "DELETE"))
        parse_write(&lx, st, db, "DELETE");
    else if (is_kw(&verb, "LOAD"))
        parse_write(&lx, st, db, "LOAD");
    else if (is_kw(&verb, "CALL") || is_kw(&verb, "DO") || is_kw(&verb, "SELECT") || is_kw(&verb, "WITH"))
        st->kind = FL_SQL_WRITE; /* writes whatever it writes */
    else if (is_kw(&verb, "XA"))
        st->kind = FL_SQL_XA;
    return st->kind;
}
