/* rules.c — compiles [rule NAME] sections and renders row changes into cache operations.
 *
 * A key template compiles to a list of parts, each literal text (braces unescaped) or a
 * column name. Every table definition met (db, name and column names) is bound once to the
 * rules that name it: placeholders, projection and value column are resolved to that table's
 * column indexes. The bindings are kept for the transactions that follow (up to BOUND_MAX
 * definitions, then made again), so a table met in transaction after transaction is looked
 * up, not bound again. Each row change is rendered by every bound rule, in config order.
 *
 * An update's after image may lack columns (binlog_row_image = minimal/noblob): an absent
 * column there was not changed, so its before-image value stands in for it. A value the rule
 * needs that neither image carries (absent from both, or FL_VAL_UNKNOWN: a partial JSON update
 * against a minimal before image) is not known: the key is deleted instead of written from
 * what is known, and the row change is counted (values_unknown). */
#include "fl-apply/rules.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/template.h"
#include "common/sql_tables.h"

typedef fl_template_part tpl_part;

typedef struct rule {
    const fl_config_rule *cfg;
    tpl_part *parts;
    size_t nparts;
} rule;

typedef struct table_check {
    char *db, *table;
    uint64_t def_id; /* the last definition of the table met with a def_id (0: none) */
    char *error;     /* NULL when the table's columns satisfy every rule */
} table_check;

/* One rule resolved against one table of the current transaction. */
typedef struct binding {
    const rule *rule;
    int32_t *part_col; /* per template part: column index; -1 literal; -2 no such column */
    uint32_t *proj;    /* projected column indexes, in table order */
    uint32_t nproj;
    const char **json_name; /* per projected column: its name as a JSON string and ':' */
    uint32_t *json_name_len;
    int32_t value_col;        /* format = column:NAME: its index, -2 when the table lacks it */
    const char *missing_proj; /* a `columns` entry the table lacks (dropped or renamed since), or NULL */
} binding;

/* A table definition (copies of its db, name and column names) and its rules' bindings. */
typedef struct table_binding {
    const char *db, *name;
    uint64_t def_id; /* the definition's fl_table.def_id, when it had one (0: none) */
    uint32_t ncols;
    const char **cols; /* NULL entries: names the binlog did not carry */
    binding *b;
    uint32_t nb;
} table_binding;

#define BOUND_MAX 256 /* table definitions whose bindings are kept */

struct fl_rules {
    const fl_config *cfg;
    rule *rules;
    size_t nrules;
    table_check *checks;
    size_t nchecks, checks_cap;
    fl_arena bound;       /* the table bindings kept (bound[]) */
    table_binding **kept; /* in the order made */
    size_t nkept, kept_cap;
    const table_binding **tb; /* per table of the transaction being rendered; NULL until bound */
    size_t tb_cap;
    fl_buf key, old_key, val;
    fl_sql_tables sql;     /* statements parsed for the tables they touch */
    bool statement_warned; /* a statement of a table without a rule was logged */
    bool *unknown_warned;  /* per rule: an unknown value was logged */
    const fl_txn *txn;     /* being rendered (for messages) */
    size_t *off;           /* hash rendering: name/value offsets into val */
    size_t off_cap;
};

/* ---- operation lists ---- */

void fl_cache_ops_init(fl_cache_ops *o) { memset(o, 0, sizeof *o); }

void fl_cache_ops_reset(fl_cache_ops *o)
{
    o->nops = 0;
    o->rows_matched = o->rows_skipped = o->rows_failed = o->statements_skipped = o->values_unknown = 0;
    o->ddl_failed = 0;
    fl_arena_reset(&o->arena);
}

void fl_cache_ops_free(fl_cache_ops *o)
{
    free(o->ops);
    fl_arena_free(&o->arena);
    memset(o, 0, sizeof *o);
}

static fl_cache_op *add_op(fl_cache_ops *o, fl_cache_op_kind kind, const fl_buf *key, uint32_t ttl)
{
    if (o->nops == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 16;
        o->ops = fl_xrealloc(o->ops, o->cap * sizeof *o->ops);
    }
    fl_cache_op *op = &o->ops[o->nops++];
    memset(op, 0, sizeof *op);
    op->kind = (uint8_t)kind;
    op->key = fl_arena_strndup(&o->arena, (const char *)key->data, key->len);
    op->key_len = (uint32_t)key->len;
    op->ttl = kind == FL_CACHE_DEL ? 0 : ttl;
    return op;
}

/* ---- compiling ---- */

static const char *cfg_path(const fl_config *cfg) { return cfg->path ? cfg->path : "config"; }

/* Parses a template into parts (common/template.h); returns NULL or what is wrong with it. */
static const char *compile_template(const char *t, rule *out)
{
    fl_template tpl;
    const char *prob = fl_template_parse(t, &tpl);
    out->parts = tpl.parts;
    out->nparts = tpl.nparts;
    return prob;
}

static void free_rule(rule *ru)
{
    for (size_t i = 0; i < ru->nparts; i++) free(ru->parts[i].text);
    free(ru->parts);
}

fl_rules *fl_rules_new(const fl_config *cfg, char **errors)
{
    *errors = NULL;
    fl_rules *r = fl_xcalloc(1, sizeof *r);
    r->cfg = cfg;
    r->rules = cfg->nrules ? fl_xcalloc(cfg->nrules, sizeof *r->rules) : NULL;
    r->nrules = cfg->nrules;
    fl_buf msg = {0};
    for (size_t i = 0; i < cfg->nrules; i++) {
        const fl_config_rule *rc = &cfg->rules[i];
        rule *ru = &r->rules[i];
        ru->cfg = rc;
        if (!rc->db || !rc->table)
            fl_buf_printf(&msg, "%s:%d: [rule %s] table: missing (db.table)\n", cfg_path(cfg), rc->line, rc->name);
        if (!rc->key) {
            fl_buf_printf(&msg, "%s:%d: [rule %s] key: missing (a template such as user:{id})\n", cfg_path(cfg),
                          rc->line, rc->name);
        } else {
            const char *prob = compile_template(rc->key, ru);
            if (prob)
                fl_buf_printf(&msg, "%s:%d: [rule %s] key: template '%s' %s\n", cfg_path(cfg),
                              rc->key_line ? rc->key_line : rc->line, rc->name, rc->key, prob);
        }
        if (rc->format == FL_FORMAT_COLUMN && (!rc->format_column || !rc->format_column[0]))
            fl_buf_printf(&msg, "%s:%d: [rule %s] format: column:NAME needs a column name\n", cfg_path(cfg),
                          rc->line, rc->name);
    }
    if (msg.len) {
        msg.data[msg.len - 1] = 0; /* drop the last newline */
        *errors = (char *)msg.data;
        fl_rules_free(r);
        return NULL;
    }
    fl_buf_free(&msg);
    return r;
}

void fl_rules_free(fl_rules *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->nrules; i++) free_rule(&r->rules[i]);
    free(r->rules);
    for (size_t i = 0; i < r->nchecks; i++) {
        free(r->checks[i].db);
        free(r->checks[i].table);
        free(r->checks[i].error);
    }
    free(r->checks);
    fl_arena_free(&r->bound);
    free(r->kept);
    free(r->tb);
    fl_buf_free(&r->key);
    fl_buf_free(&r->old_key);
    fl_buf_free(&r->val);
    fl_sql_tables_free(&r->sql);
    free(r->unknown_warned);
    free(r->off);
    free(r);
}

size_t fl_rules_count(const fl_rules *r) { return r->nrules; }

const fl_config_rule *fl_rules_config(const fl_rules *r, size_t i)
{
    return i < r->nrules ? r->rules[i].cfg : NULL;
}

/* ---- columns ---- */

/* strcmp(a, b) == 0 for the short names of tables and columns, without a call. */
static inline bool same_name(const char *a, const char *b)
{
    while (*a == *b) {
        if (!*a) return true;
        a++;
        b++;
    }
    return false;
}

/* Index of the column called name: its name from the binlog, or "@N" (1-based position). */
static int32_t col_index(const fl_table *t, const char *name)
{
    for (uint32_t i = 0; i < t->ncols; i++)
        if (t->cols && t->cols[i] && !strcmp(t->cols[i], name)) return (int32_t)i;
    if (name[0] == '@' && name[1] >= '1' && name[1] <= '9') {
        char *end;
        unsigned long n = strtoul(name + 1, &end, 10);
        if (!*end && n >= 1 && n <= t->ncols) return (int32_t)(n - 1);
    }
    return -2;
}

static bool has_column(char **list, const fl_table *t, uint32_t i)
{
    char at[16];
    snprintf(at, sizeof at, "@%u", i + 1);
    for (char **c = list; *c; c++)
        if ((t->cols && t->cols[i] && !strcmp(*c, t->cols[i])) || !strcmp(*c, at)) return true;
    return false;
}

static bool rule_matches(const rule *ru, const fl_table *t)
{
    return ru->cfg->db && ru->cfg->table && !strcmp(ru->cfg->db, t->db) && !strcmp(ru->cfg->table, t->name);
}

static bool names_missing(const fl_table *t)
{
    for (uint32_t i = 0; i < t->ncols; i++)
        if (!t->cols || !t->cols[i]) return true;
    return false;
}

int fl_rules_check_table(fl_rules *r, const fl_table *table, char *err, size_t errlen)
{
    for (size_t i = 0; i < r->nchecks; i++) {
        table_check *tc = &r->checks[i];
        bool same = table->def_id && tc->def_id == table->def_id; /* (the same definition, so the same name) */
        if (same || (same_name(tc->db, table->db) && same_name(tc->table, table->name))) {
            if (table->def_id) tc->def_id = table->def_id;
            if (!tc->error) return 0;
            snprintf(err, errlen, "%s", tc->error);
            return -1;
        }
    }
    const char *path = cfg_path(r->cfg);
    fl_buf msg = {0};
    for (size_t i = 0; i < r->nrules; i++) {
        const rule *ru = &r->rules[i];
        const fl_config_rule *rc = ru->cfg;
        if (!rule_matches(ru, table)) continue;
        for (size_t p = 0; p < ru->nparts; p++)
            if (ru->parts[p].is_col && col_index(table, ru->parts[p].text) < 0)
                fl_buf_printf(&msg, "%s:%d: [rule %s] key: unknown column `%s` in %s.%s\n", path,
                              rc->key_line ? rc->key_line : rc->line, rc->name, ru->parts[p].text, table->db,
                              table->name);
        for (char **c = rc->columns; c && *c; c++)
            if (col_index(table, *c) < 0)
                fl_buf_printf(&msg, "%s:%d: [rule %s] columns: unknown column `%s` in %s.%s\n", path,
                              rc->columns_line ? rc->columns_line : rc->line, rc->name, *c, table->db,
                              table->name);
        if (rc->format == FL_FORMAT_COLUMN && rc->format_column && col_index(table, rc->format_column) < 0)
            fl_buf_printf(&msg, "%s:%d: [rule %s] format: unknown column `%s` in %s.%s\n", path, rc->line,
                          rc->name, rc->format_column, table->db, table->name);
    }
    if (msg.len && names_missing(table))
        fl_buf_printf(&msg,
                      "(the binlog carries no column names for %s.%s; set binlog_row_metadata = FULL on the "
                      "source, or refer to columns as @1, @2, ...)\n",
                      table->db, table->name);
    if (r->nchecks == r->checks_cap) {
        r->checks_cap = r->checks_cap ? r->checks_cap * 2 : 8;
        r->checks = fl_xrealloc(r->checks, r->checks_cap * sizeof *r->checks);
    }
    table_check *tc = &r->checks[r->nchecks++];
    tc->db = fl_xstrdup(table->db);
    tc->table = fl_xstrdup(table->name);
    tc->def_id = table->def_id;
    tc->error = NULL;
    if (!msg.len) {
        fl_buf_free(&msg);
        return 0;
    }
    msg.data[msg.len - 1] = 0;
    tc->error = (char *)msg.data;
    snprintf(err, errlen, "%s", tc->error);
    return -1;
}

/* ---- rendering ---- */

static void put_col_name(fl_buf *out, const fl_table *t, uint32_t i)
{
    if (t->cols && t->cols[i])
        fl_buf_puts(out, t->cols[i]);
    else
        fl_buf_printf(out, "@%u", i + 1);
}

static bool same_table(const table_binding *tb, const fl_table *t)
{
    if (tb->ncols != t->ncols || !same_name(tb->name, t->name) || !same_name(tb->db, t->db)) return false;
    for (uint32_t c = 0; c < t->ncols; c++) {
        const char *name = t->cols ? t->cols[c] : NULL;
        if ((!tb->cols[c] || !name) ? tb->cols[c] != name : !same_name(tb->cols[c], name)) return false;
    }
    return true;
}

/* Binds table t to the rules that name it, in r->bound. */
static table_binding *new_binding(fl_rules *r, const fl_table *t)
{
    fl_arena *a = &r->bound;
    table_binding *tb = fl_arena_alloc(a, sizeof *tb);
    memset(tb, 0, sizeof *tb);
    tb->db = fl_arena_strndup(a, t->db, strlen(t->db));
    tb->name = fl_arena_strndup(a, t->name, strlen(t->name));
    tb->def_id = t->def_id;
    tb->ncols = t->ncols;
    tb->cols = fl_arena_alloc(a, ((size_t)t->ncols + 1) * sizeof *tb->cols);
    for (uint32_t c = 0; c < t->ncols; c++) {
        const char *name = t->cols ? t->cols[c] : NULL;
        tb->cols[c] = name ? fl_arena_strndup(a, name, strlen(name)) : NULL;
    }
    uint32_t n = 0;
    for (size_t i = 0; i < r->nrules; i++) n += rule_matches(&r->rules[i], t);
    if (!n) return tb;
    tb->b = fl_arena_alloc(a, n * sizeof *tb->b);
    for (size_t i = 0; i < r->nrules; i++) {
        const rule *ru = &r->rules[i];
        if (!rule_matches(ru, t)) continue;
        binding *b = &tb->b[tb->nb++];
        b->rule = ru;
        b->part_col = fl_arena_alloc(a, (ru->nparts + 1) * sizeof *b->part_col);
        for (size_t p = 0; p < ru->nparts; p++)
            b->part_col[p] = ru->parts[p].is_col ? col_index(t, ru->parts[p].text) : -1;
        b->proj = fl_arena_alloc(a, ((size_t)t->ncols + 1) * sizeof *b->proj);
        b->nproj = 0;
        for (uint32_t c = 0; c < t->ncols; c++)
            if (!ru->cfg->columns || has_column(ru->cfg->columns, t, c)) b->proj[b->nproj++] = c;
        b->missing_proj = NULL;
        for (char **c = ru->cfg->columns; c && *c && !b->missing_proj; c++)
            if (col_index(t, *c) < 0) b->missing_proj = *c;
        if (ru->cfg->format == FL_FORMAT_JSON) {
            b->json_name = fl_arena_alloc(a, ((size_t)b->nproj + 1) * sizeof *b->json_name);
            b->json_name_len = fl_arena_alloc(a, ((size_t)b->nproj + 1) * sizeof *b->json_name_len);
            fl_buf name = {0}, quoted = {0};
            for (uint32_t k = 0; k < b->nproj; k++) {
                fl_buf_reset(&name);
                fl_buf_reset(&quoted);
                put_col_name(&name, t, b->proj[k]);
                fl_json_string(&quoted, (const char *)name.data, name.len);
                fl_buf_putc(&quoted, ':');
                b->json_name[k] = fl_arena_memdup(a, quoted.data, quoted.len);
                b->json_name_len[k] = (uint32_t)quoted.len;
            }
            fl_buf_free(&name);
            fl_buf_free(&quoted);
        }
        b->value_col = ru->cfg->format == FL_FORMAT_COLUMN && ru->cfg->format_column
                           ? col_index(t, ru->cfg->format_column)
                           : -2;
    }
    return tb;
}

/* The bindings of the transaction's table ti: kept ones when the table was met before. */
static const table_binding *bind_table(fl_rules *r, const fl_txn *txn, uint32_t ti)
{
    if (r->tb[ti]) return r->tb[ti];
    const fl_table *t = &txn->tables[ti];
    if (t->def_id) /* a definition met before under the same id: no names to compare */
        for (size_t i = r->nkept; i-- > 0;)
            if (r->kept[i]->def_id == t->def_id) return r->tb[ti] = r->kept[i];
    for (size_t i = r->nkept; i-- > 0;)
        if (same_table(r->kept[i], t)) {
            if (t->def_id) r->kept[i]->def_id = t->def_id; /* (the same definition under a new id) */
            return r->tb[ti] = r->kept[i];
        }
    if (r->nkept == r->kept_cap) {
        r->kept_cap = r->kept_cap ? r->kept_cap * 2 : 8;
        r->kept = fl_xrealloc(r->kept, r->kept_cap * sizeof *r->kept);
    }
    return r->tb[ti] = r->kept[r->nkept++] = new_binding(r, t);
}

static const fl_value absent_value = {.type = FL_VAL_ABSENT};

/* Column i of row; an absent one is taken from fallback (an update's before image). */
static const fl_value *pick(const fl_value *row, const fl_value *fallback, uint32_t i)
{
    const fl_value *v = row ? &row[i] : &absent_value;
    if (v->type == FL_VAL_ABSENT && fallback) v = &fallback[i];
    return v;
}

static int render_key(const binding *b, const fl_table *t, const fl_value *row, const fl_value *fallback,
                      fl_buf *out, char *why, size_t whylen)
{
    fl_buf_reset(out);
    const rule *ru = b->rule;
    for (size_t p = 0; p < ru->nparts; p++) {
        const tpl_part *part = &ru->parts[p];
        if (!part->is_col) {
            fl_buf_put(out, part->text, part->len);
            continue;
        }
        if (b->part_col[p] < 0) {
            snprintf(why, whylen, "key column `%s` does not exist in %s.%s", part->text, t->db, t->name);
            return -1;
        }
        const fl_value *v = pick(row, fallback, (uint32_t)b->part_col[p]);
        if (v->type == FL_VAL_ABSENT) {
            snprintf(why, whylen, "key column `%s` is absent from the row image", part->text);
            return -1;
        }
        if (v->type == FL_VAL_UNKNOWN) {
            snprintf(why, whylen, "key column `%s` has a new value the binlog does not carry", part->text);
            return -1;
        }
        if (v->type == FL_VAL_NULL || !fl_value_to_text(v, out)) {
            snprintf(why, whylen, "key column `%s` is NULL", part->text);
            return -1;
        }
    }
    return 0;
}

static void add_json(fl_rules *r, const binding *b, const fl_value *row, const fl_value *fallback,
                     fl_cache_ops *ops)
{
    fl_buf *v = &r->val;
    fl_buf_reset(v);
    fl_buf_putc(v, '{');
    bool first = true;
    for (uint32_t k = 0; k < b->nproj; k++) {
        uint32_t i = b->proj[k];
        const fl_value *cv = pick(row, fallback, i);
        if (cv->type == FL_VAL_ABSENT) continue;
        if (!first) fl_buf_putc(v, ',');
        first = false;
        fl_buf_put(v, b->json_name[k], b->json_name_len[k]);
        fl_value_to_json(cv, v);
    }
    fl_buf_putc(v, '}');
    fl_cache_op *op = add_op(ops, FL_CACHE_SET, &r->key, b->rule->cfg->ttl);
    op->value = fl_arena_memdup(&ops->arena, v->data, v->len);
    op->value_len = (uint32_t)v->len;
}

static void add_hash(fl_rules *r, const binding *b, const fl_table *t, const fl_value *row,
                     const fl_value *fallback, fl_cache_ops *ops)
{
    fl_buf *v = &r->val;
    fl_buf_reset(v);
    /* names and values go into one buffer first (offsets), then one copy into the arena */
    if ((size_t)b->nproj * 4 > r->off_cap) {
        r->off_cap = (size_t)b->nproj * 4;
        r->off = fl_xrealloc(r->off, r->off_cap * sizeof *r->off);
    }
    size_t *off = r->off;
    uint32_t nf = 0;
    for (uint32_t k = 0; k < b->nproj; k++) {
        uint32_t i = b->proj[k];
        const fl_value *cv = pick(row, fallback, i);
        size_t start = v->len;
        put_col_name(v, t, i);
        size_t vstart = v->len;
        if (!fl_value_to_text(cv, v)) { /* NULL or absent: no field */
            v->len = start;
            continue;
        }
        off[nf * 4] = start;
        off[nf * 4 + 1] = vstart - start;
        off[nf * 4 + 2] = vstart;
        off[nf * 4 + 3] = v->len - vstart;
        nf++;
    }
    if (!nf) { /* a hash without fields does not exist */
        add_op(ops, FL_CACHE_DEL, &r->key, 0);
        return;
    }
    char *base = fl_arena_memdup(&ops->arena, v->len ? v->data : (const uint8_t *)"", v->len ? v->len : 1);
    fl_cache_field *f = fl_arena_alloc(&ops->arena, nf * sizeof *f);
    for (uint32_t k = 0; k < nf; k++) {
        f[k].name = base + off[k * 4];
        f[k].name_len = (uint32_t)off[k * 4 + 1];
        f[k].value = base + off[k * 4 + 2];
        f[k].value_len = (uint32_t)off[k * 4 + 3];
    }
    fl_cache_op *op = add_op(ops, FL_CACHE_HASH, &r->key, b->rule->cfg->ttl);
    op->fields = f;
    op->nfields = nf;
}

static int add_column(fl_rules *r, const binding *b, const fl_table *t, const fl_value *row,
                      const fl_value *fallback, fl_cache_ops *ops, char *why, size_t whylen)
{
    const fl_config_rule *rc = b->rule->cfg;
    if (b->value_col < 0) {
        snprintf(why, whylen, "value column `%s` does not exist in %s.%s", rc->format_column, t->db, t->name);
        return -1;
    }
    fl_buf_reset(&r->val);
    const fl_value *cv = pick(row, fallback, (uint32_t)b->value_col);
    /* NULL has no text: the key goes away; an absent value is unknown: drop the stale one */
    if (!fl_value_to_text(cv, &r->val)) {
        add_op(ops, FL_CACHE_DEL, &r->key, 0);
        return 0;
    }
    fl_cache_op *op = add_op(ops, FL_CACHE_SET, &r->key, rc->ttl);
    op->value = fl_arena_memdup(&ops->arena, r->val.len ? r->val.data : (const uint8_t *)"", r->val.len);
    op->value_len = (uint32_t)r->val.len;
    return 0;
}

static bool known(const fl_value *v) { return v->type != FL_VAL_ABSENT && v->type != FL_VAL_UNKNOWN; }

/* The first column the rule's value is built from whose new value is not known, or -1. */
static int32_t unknown_column(const binding *b, const fl_value *row, const fl_value *fallback)
{
    if (b->rule->cfg->format == FL_FORMAT_COLUMN)
        return b->value_col >= 0 && !known(pick(row, fallback, (uint32_t)b->value_col)) ? b->value_col : -1;
    for (uint32_t k = 0; k < b->nproj; k++)
        if (!known(pick(row, fallback, b->proj[k]))) return (int32_t)b->proj[k];
    return -1;
}

/* The key is deleted instead of written: logged once per rule, counted always. */
static void invalidate_unknown(fl_rules *r, const binding *b, const fl_table *t, const fl_value *v, uint32_t col,
                               fl_cache_ops *ops)
{
    add_op(ops, FL_CACHE_DEL, &r->key, 0);
    ops->values_unknown++;
    size_t i = (size_t)(b->rule - r->rules);
    if (!r->unknown_warned) r->unknown_warned = fl_xcalloc(r->nrules ? r->nrules : 1, sizeof *r->unknown_warned);
    if (r->unknown_warned[i]) return;
    r->unknown_warned[i] = true;
    char gtid[FL_GTID_TEXT_MAX] = "";
    if (r->txn && !fl_gtid_format(&r->txn->gtid, gtid, sizeof gtid))
        snprintf(gtid, sizeof gtid, "(none, seq %llu)", (unsigned long long)r->txn->seq);
    fl_buf name = {0};
    put_col_name(&name, t, col);
    log_warn("gtid %s: %s.%s: rule %s: the new value of column `%s` is not in the binlog (%s); key %.*s deleted "
             "instead of written (said once per rule; counted in fastlane_apply_unknown_values_total)",
             gtid, t->db, t->name, b->rule->cfg->name, fl_buf_cstr(&name),
             v->type == FL_VAL_UNKNOWN ? "a partial JSON update against a before image without the document"
                                       : "binlog_row_image is not FULL",
             (int)(r->key.len > 200 ? 200 : r->key.len), (const char *)r->key.data);
    fl_buf_free(&name);
}

static bool same_key(const fl_buf *a, const fl_buf *b)
{
    return a->len == b->len && (a->len == 0 || !memcmp(a->data, b->data, a->len));
}

/* Appends the operations of one rule for one row change. When a key cannot be rendered,
 * returns -1 with why, after appending what the other key still calls for: an update whose
 * new key is unrenderable still deletes its old key (the old row must not stay cached). */
static int render_change(fl_rules *r, const binding *b, const fl_table *t, const fl_change *c, fl_cache_ops *ops,
                         char *why, size_t whylen)
{
    const fl_config_rule *rc = b->rule->cfg;
    bool has_old = fl_op_has_before(c->op), has_new = fl_op_has_after(c->op); /* a snapshot row: as an insert */
    const fl_value *fallback = c->op == FL_OP_UPDATE ? c->before : NULL;
    if (has_old && render_key(b, t, c->before, NULL, &r->old_key, why, whylen)) return -1;
    if (has_new && render_key(b, t, c->after, fallback, &r->key, why, whylen)) {
        if (has_old) add_op(ops, FL_CACHE_DEL, &r->old_key, 0);
        return -1;
    }
    bool changed = has_old && has_new && !same_key(&r->old_key, &r->key);

    if (rc->mode == FL_MODE_INVALIDATE) {
        if (has_old) add_op(ops, FL_CACHE_DEL, &r->old_key, 0);
        if (has_new && (!has_old || changed)) add_op(ops, FL_CACHE_DEL, &r->key, 0);
        return 0;
    }
    if (!has_new) {
        add_op(ops, FL_CACHE_DEL, &r->old_key, 0);
        return 0;
    }
    if (changed) add_op(ops, FL_CACHE_DEL, &r->old_key, 0);
    if (b->missing_proj && rc->format != FL_FORMAT_COLUMN) {
        add_op(ops, FL_CACHE_DEL, &r->key, 0); /* (kept with on_error = skip: the value is not written) */
        snprintf(why, whylen, "projected column `%s` does not exist in %s.%s", b->missing_proj, t->db, t->name);
        return -1;
    }
    int32_t u = unknown_column(b, c->after, fallback);
    if (u >= 0) {
        invalidate_unknown(r, b, t, pick(c->after, fallback, (uint32_t)u), (uint32_t)u, ops);
        return 0;
    }
    switch (rc->format) {
    case FL_FORMAT_JSON: add_json(r, b, c->after, fallback, ops); return 0;
    case FL_FORMAT_HASH: add_hash(r, b, t, c->after, fallback, ops); return 0;
    case FL_FORMAT_COLUMN: return add_column(r, b, t, c->after, fallback, ops, why, whylen);
    }
    snprintf(why, whylen, "unknown format");
    return -1;
}

/* ---- DDL ---- */

/* The rule's keys as a MATCH pattern: literal parts with the glob characters escaped, each
 * placeholder '*'. Returns false when the template has no literal text (the pattern would
 * match every key). */
static bool key_pattern(const rule *ru, fl_buf *out)
{
    fl_buf_reset(out);
    bool literal = false;
    for (size_t p = 0; p < ru->nparts; p++) {
        const tpl_part *part = &ru->parts[p];
        if (part->is_col) {
            if (!out->len || out->data[out->len - 1] != '*' || (out->len > 1 && out->data[out->len - 2] == '\\'))
                fl_buf_putc(out, '*');
            continue;
        }
        for (size_t i = 0; i < part->len; i++) {
            char ch = part->text[i];
            if (ch == '*' || ch == '?' || ch == '[' || ch == ']' || ch == '\\') fl_buf_putc(out, '\\');
            fl_buf_putc(out, (uint8_t)ch);
        }
        literal = literal || part->len > 0;
    }
    return literal;
}

/* Deletes the keys of every rule of db.table, because of what (e.g. "TRUNCATE"). Returns 0, or
 * -1 with err (a template without literal text, on_error = stop). */
static int clear_table(fl_rules *r, const fl_txn *txn, const char *db, const char *table, const char *what,
                       fl_on_error on_error, fl_cache_ops *ops, char *gtid, size_t gtid_len, char *err,
                       size_t errlen)
{
    fl_table t = {.db = db, .name = table};
    for (size_t i = 0; i < r->nrules; i++) {
        const rule *ru = &r->rules[i];
        if (!rule_matches(ru, &t)) continue;
        if (!gtid[0] && !fl_gtid_format(&txn->gtid, gtid, gtid_len))
            snprintf(gtid, gtid_len, "(none, seq %llu)", (unsigned long long)txn->seq);
        if (!key_pattern(ru, &r->key)) {
            char why[600];
            snprintf(why, sizeof why,
                     "gtid %s: %s of %s.%s: rule %s: key template '%s' has no literal text, so its keys cannot be "
                     "told from others; delete them by hand",
                     gtid, what, db, table, ru->cfg->name, ru->cfg->key);
            if (on_error == FL_ON_ERROR_STOP) {
                snprintf(err, errlen, "%s (with on_error = skip the applier goes on)", why);
                return -1;
            }
            log_error("%s (skipped, on_error = skip)", why);
            ops->ddl_failed++;
            continue;
        }
        fl_cache_op *op = add_op(ops, FL_CACHE_DEL_MATCH, &r->key, 0);
        fl_buf note = {0};
        fl_buf_printf(&note, "rule %s (%s of %s.%s at gtid %s)", ru->cfg->name, what, db, table, gtid);
        op->rule = fl_arena_strndup(&ops->arena, (const char *)note.data, note.len);
        fl_buf_free(&note);
    }
    return 0;
}

size_t fl_rules_clear_all(fl_rules *r, fl_cache_ops *ops, const char *why)
{
    size_t refused = 0;
    for (size_t i = 0; i < r->nrules; i++) {
        const rule *ru = &r->rules[i];
        if (!key_pattern(ru, &r->key)) {
            log_error("rule %s: key template '%s' has no literal text, so its keys cannot be told from others: "
                      "they are not deleted before the rebuild (delete them by hand)",
                      ru->cfg->name, ru->cfg->key);
            refused++;
            continue;
        }
        fl_cache_op *op = add_op(ops, FL_CACHE_DEL_MATCH, &r->key, 0);
        fl_buf note = {0};
        fl_buf_printf(&note, "rule %s (%s)", ru->cfg->name, why);
        op->rule = fl_arena_strndup(&ops->arena, (const char *)note.data, note.len);
        fl_buf_free(&note);
    }
    return refused;
}

/* A DDL statement: the keys of rule tables it empties, drops or renames go. */
static int ddl_change(fl_rules *r, const fl_txn *txn, const fl_change *c, fl_on_error on_error, fl_cache_ops *ops,
                      char *gtid, size_t gtid_len, char *err, size_t errlen)
{
    fl_sql_kind k = fl_sql_tables_parse(&r->sql, c->sql ? c->sql : "", c->sql ? c->sql_len : 0, c->db);
    const char *what = k == FL_SQL_CLEAR           ? "TRUNCATE"
                       : k == FL_SQL_DROP          ? "DROP TABLE"
                       : k == FL_SQL_DROP_DATABASE ? "DROP DATABASE"
                                                   : "RENAME TABLE";
    if (k != FL_SQL_CLEAR && k != FL_SQL_DROP && k != FL_SQL_RENAME && k != FL_SQL_DROP_DATABASE) return 0;
    if (r->sql.incomplete && r->nrules) {
        if (!gtid[0] && !fl_gtid_format(&txn->gtid, gtid, gtid_len))
            snprintf(gtid, gtid_len, "(none, seq %llu)", (unsigned long long)txn->seq);
        char why[600];
        snprintf(why, sizeof why, "gtid %s: cannot tell every table this %s names: %.*s", gtid, what,
                 (int)(c->sql_len > 200 ? 200 : c->sql_len), c->sql ? c->sql : "");
        if (on_error == FL_ON_ERROR_STOP) {
            snprintf(err, errlen, "%s (with on_error = skip the applier goes on)", why);
            return -1;
        }
        log_error("%s (skipped, on_error = skip)", why);
        ops->ddl_failed++;
    }
    /* (names live in r->sql, which clear_table leaves alone) */
    for (size_t i = 0; i < r->sql.n; i++) {
        const fl_sql_name *n = &r->sql.names[i];
        if (k == FL_SQL_DROP_DATABASE) { /* every rule table of the database, each once */
            for (size_t j = 0; j < r->nrules; j++) {
                const fl_config_rule *rc = r->rules[j].cfg;
                bool first = rc->db && rc->table && !strcmp(rc->db, n->db);
                for (size_t e = 0; first && e < j; e++)
                    first = !(r->rules[e].cfg->db && r->rules[e].cfg->table &&
                              !strcmp(r->rules[e].cfg->db, n->db) && !strcmp(r->rules[e].cfg->table, rc->table));
                if (first &&
                    clear_table(r, txn, n->db, rc->table, what, on_error, ops, gtid, gtid_len, err, errlen))
                    return -1;
            }
            continue;
        }
        if (clear_table(r, txn, n->db, n->table, what, on_error, ops, gtid, gtid_len, err, errlen)) return -1;
    }
    return 0;
}

bool fl_rules_statement_applies(fl_rules *r, const fl_change *c)
{
    if (c->op != FL_OP_STATEMENT) return false;
    fl_sql_kind k = fl_sql_tables_parse(&r->sql, c->sql ? c->sql : "", c->sql ? c->sql_len : 0, c->db);
    if (k == FL_SQL_XA || !r->nrules) return false;
    if (k != FL_SQL_WRITE || r->sql.n != 1) return true; /* cannot tell which table it writes */
    fl_table t = {.db = r->sql.names[0].db, .name = r->sql.names[0].table};
    for (size_t i = 0; i < r->nrules; i++)
        if (rule_matches(&r->rules[i], &t)) return true;
    return false;
}

/* A statement-based change per on_error. Returns 0, or -1 with err (stop). */
static int statement_change(fl_rules *r, const fl_txn *txn, const fl_change *c, fl_on_error on_error,
                            fl_cache_ops *ops, char *gtid, size_t gtid_len, char *err, size_t errlen)
{
    bool applies = fl_rules_statement_applies(r, c);
    if (!applies && r->sql.kind == FL_SQL_XA) return 0;
    if (!gtid[0] && !fl_gtid_format(&txn->gtid, gtid, gtid_len))
        snprintf(gtid, gtid_len, "(none, seq %llu)", (unsigned long long)txn->seq);
    char what[300];
    size_t n = c->sql_len > 200 ? 200 : c->sql_len, k = 0;
    for (size_t i = 0; i < n && k + 4 < sizeof what; i++) /* one line: control bytes as blanks */
        what[k++] = (unsigned char)c->sql[i] < 0x20 ? ' ' : c->sql[i];
    if (c->sql_len > n) what[k++] = '.', what[k++] = '.', what[k++] = '.';
    what[k] = 0;
    if (!applies) { /* a table no rule caches */
        ops->rows_skipped++;
        if (!r->statement_warned)
            log_warn("gtid %s: statement-based change of a table without a rule skipped: %s (caches need "
                     "binlog_format = ROW on the source; this is said once)",
                     gtid, what);
        r->statement_warned = true;
        return 0;
    }
    if (on_error == FL_ON_ERROR_STOP) {
        snprintf(err, errlen,
                 "gtid %s: statement-based change, which no cache can apply: %s (set binlog_format = ROW on the "
                 "source; with on_error = skip it is skipped and counted)",
                 gtid, what);
        return -1;
    }
    if (!ops->statements_skipped)
        log_warn("gtid %s: statement-based change not applied (on_error = skip): %s; the cache may be stale "
                 "(set binlog_format = ROW on the source)",
                 gtid, what);
    ops->statements_skipped++;
    return 0;
}

int fl_rules_render(fl_rules *r, const fl_txn *txn, fl_on_error on_error, fl_cache_ops *ops, char *err,
                    size_t errlen)
{
    if (r->nkept >= BOUND_MAX) { /* (never while a transaction's bindings are in use) */
        fl_arena_reset(&r->bound);
        r->nkept = 0;
    }
    r->txn = txn;
    if (txn->ntables > r->tb_cap) {
        r->tb_cap = txn->ntables;
        r->tb = fl_xrealloc(r->tb, r->tb_cap * sizeof *r->tb);
    }
    if (txn->ntables) memset(r->tb, 0, txn->ntables * sizeof *r->tb);

    char gtid[FL_GTID_TEXT_MAX];
    gtid[0] = 0;
    uint64_t failed = 0;
    for (uint32_t ci = 0; ci < txn->nchanges; ci++) {
        const fl_change *c = &txn->changes[ci];
        if (c->op == FL_OP_STATEMENT) {
            if (statement_change(r, txn, c, on_error, ops, gtid, sizeof gtid, err, errlen)) return -1;
            continue;
        }
        if (c->op == FL_OP_DDL) {
            if (ddl_change(r, txn, c, on_error, ops, gtid, sizeof gtid, err, errlen)) return -1;
            continue;
        }
        if (!fl_op_is_row(c->op)) continue;
        if (c->table >= txn->ntables) continue;
        const table_binding *tb = bind_table(r, txn, c->table);
        if (!tb->nb) {
            ops->rows_skipped++;
            continue;
        }
        ops->rows_matched++;
        const fl_table *t = &txn->tables[c->table];
        bool row_failed = false;
        for (uint32_t k = 0; k < tb->nb; k++) {
            char why[256];
            size_t mark = ops->nops;
            if (!render_change(r, &tb->b[k], t, c, ops, why, sizeof why)) continue;
            if (on_error == FL_ON_ERROR_STOP) ops->nops = mark;
            if (!gtid[0] && !fl_gtid_format(&txn->gtid, gtid, sizeof gtid))
                snprintf(gtid, sizeof gtid, "(none, seq %llu)", (unsigned long long)txn->seq);
            if (on_error == FL_ON_ERROR_STOP) {
                snprintf(err, errlen, "gtid %s: %s.%s: rule %s: %s", gtid, t->db, t->name,
                         tb->b[k].rule->cfg->name, why);
                return -1;
            }
            if (!failed && !row_failed)
                log_warn("gtid %s: %s.%s: rule %s: %s (skipped, on_error = skip)", gtid, t->db, t->name,
                         tb->b[k].rule->cfg->name, why);
            row_failed = true;
        }
        if (row_failed) {
            failed++;
            ops->rows_failed++;
        }
    }
    if (failed > 1)
        log_warn("gtid %s: %llu row changes in all could not be rendered (skipped)", gtid,
                 (unsigned long long)failed);
    return 0;
}
