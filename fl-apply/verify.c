/* verify.c — compares the source tables with the cache (fl-apply --verify).
 *
 * 1. The source: one connection, START TRANSACTION WITH CONSISTENT SNAPSHOT, then SELECT * of
 *    every rule table, streamed. Each text-protocol cell becomes the canonical value the
 *    binlog decoder would produce for that column type (the result's field types and flags
 *    say which: DECIMAL stays its exact text, temporal values keep their fraction digits,
 *    the binary charset means bytes, ENUM/SET flags mean labels, BIT arrives as big-endian
 *    bytes). FLOAT and DOUBLE are selected as DOUBLE expressions, since the text protocol
 *    rounds them. The session time zone is UTC so TIMESTAMP matches the journal.
 * 2. Each row is rendered as a synthetic insert by each upsert rule on its own (so one rule
 *    that cannot render a row does not hide another), giving the expected cache entries:
 *    a value, a hash, or no key at all (column:NAME of a NULL). Invalidate rules are not
 *    compared: what their keys hold is up to the application.
 * 3. The cache: GET / HGETALL / EXISTS on Redis, pipelined, with PTTL for rules with a ttl
 *    (a matching value that never expires, or later than the ttl, is stale); get on
 *    memcached. Then on Redis every key under each rule's literal key prefix is scanned;
 *    keys no row accounts for are extra. On a Redis Cluster each key is read from the
 *    primary that owns its slot (one pipeline per primary), or, when that primary redirects
 *    (its slot migrating, ASK, or moved, MOVED), where the redirection sends it; every
 *    primary is scanned, and a key counts as extra only on the node a reader finds it on.
 * With a sink (fl-apply --repair), every stale or missing key is also told with the row key
 * of the row it was rendered from, and every extra key as found.
 * Rows written while this runs make transient differences: run it on a quiet source or
 * when the applier has caught up. */
#include "fl-apply/verify.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <libmemcached/memcached.h>
#include <mysql.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/buf.h"
#include "common/json_text.h"
#include "common/mysql_cell.h"
#include "common/mysql_conn.h"
#include "common/mysql_schema.h"
#include "common/value.h"
#include "common/target_url.h"
#include "fl-apply/apply.h"
#include "fl-apply/cluster_conn.h"
#include "fl-apply/memcached_conn.h"
#include "fl-apply/redis_conn.h"
#include "fl-apply/rules.h"
#include "fl-apply/target.h"

#define SHOW_FIRST 5
#define SHOW_BYTES 120
#define PIPELINE 256
#define CHECKPOINT_KEY_PREFIX "fastlane:checkpoint:"

/* ---- expected entries: insertion-ordered, indexed by key ---- */

typedef struct expect {
    const char *key;
    uint32_t key_len;
    uint8_t kind; /* fl_cache_op_kind; DEL = the key must not exist */
    const char *value;
    uint32_t value_len;
    const fl_cache_field *fields;
    uint32_t nfields;
    uint32_t ttl; /* seconds the rule gives the key; 0 = no expiry */
    const char *rule;
    const char *db, *table; /* with a sink: the row's table and key (see row_key_hex), else NULL */
    const char *row_key;
    uint32_t row_key_len;
} expect;

typedef struct expect_set {
    expect *items;
    size_t n, cap;
    uint32_t *slots; /* item index + 1; 0 = empty */
    size_t nslots;
    fl_arena arena;
    uint64_t duplicates; /* keys rendered by more than one row */
} expect_set;

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h;
}

static expect *expect_find(const expect_set *s, const char *key, size_t len)
{
    if (!s->nslots) return NULL;
    size_t mask = s->nslots - 1;
    for (size_t i = hash_bytes(key, len) & mask;; i = (i + 1) & mask) {
        uint32_t v = s->slots[i];
        if (!v) return NULL;
        expect *e = &s->items[v - 1];
        if (e->key_len == len && !memcmp(e->key, key, len)) return e;
    }
}

static void expect_grow(expect_set *s)
{
    size_t n = s->nslots ? s->nslots * 2 : 1024;
    free(s->slots);
    s->slots = fl_xcalloc(n, sizeof *s->slots);
    s->nslots = n;
    for (size_t k = 0; k < s->n; k++) {
        size_t i = hash_bytes(s->items[k].key, s->items[k].key_len) & (n - 1);
        while (s->slots[i]) i = (i + 1) & (n - 1);
        s->slots[i] = (uint32_t)(k + 1);
    }
}

/* Records op as expected (a later row with the same key replaces an earlier one). */
static expect *expect_add(expect_set *s, const fl_cache_op *op, const char *rule)
{
    expect *e = expect_find(s, op->key, op->key_len);
    if (e)
        s->duplicates++;
    else {
        if ((s->n + 1) * 2 > s->nslots) expect_grow(s);
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 1024;
            s->items = fl_xrealloc(s->items, s->cap * sizeof *s->items);
        }
        e = &s->items[s->n++];
        e->key = fl_arena_memdup(&s->arena, op->key, op->key_len);
        e->key_len = op->key_len;
        size_t i = hash_bytes(op->key, op->key_len) & (s->nslots - 1);
        while (s->slots[i]) i = (i + 1) & (s->nslots - 1);
        s->slots[i] = (uint32_t)s->n;
    }
    e->kind = op->kind;
    e->ttl = op->ttl;
    e->rule = rule;
    e->value = op->kind == FL_CACHE_SET ? fl_arena_memdup(&s->arena, op->value, op->value_len) : NULL;
    e->value_len = op->kind == FL_CACHE_SET ? op->value_len : 0;
    e->fields = NULL;
    e->nfields = 0;
    if (op->kind == FL_CACHE_HASH) {
        fl_cache_field *f = fl_arena_alloc(&s->arena, (op->nfields + 1) * sizeof *f);
        for (uint32_t k = 0; k < op->nfields; k++) {
            f[k].name = fl_arena_memdup(&s->arena, op->fields[k].name, op->fields[k].name_len);
            f[k].name_len = op->fields[k].name_len;
            f[k].value = fl_arena_memdup(&s->arena, op->fields[k].value, op->fields[k].value_len);
            f[k].value_len = op->fields[k].value_len;
        }
        e->fields = f;
        e->nfields = op->nfields;
    }
    e->db = e->table = e->row_key = NULL;
    e->row_key_len = 0;
    return e;
}

static void expect_free(expect_set *s)
{
    free(s->items);
    free(s->slots);
    fl_arena_free(&s->arena);
}

/* ---- the report ---- */

typedef struct kind_list {
    uint64_t count;
    fl_buf shown;               /* the first SHOW_FIRST lines */
    const fl_verify_sink *sink; /* stale and missing: told of each key's row */
} kind_list;

typedef struct report {
    uint64_t rows;
    kind_list match, stale, missing, extra, unrendered;
    const fl_verify_sink *sink;
} report;

static void put_shown(fl_buf *b, const char *p, size_t n)
{
    size_t lim = n > SHOW_BYTES ? SHOW_BYTES : n;
    for (size_t i = 0; i < lim; i++) {
        uint8_t c = (uint8_t)p[i];
        if (c < 0x20 || c == 0x7f)
            fl_buf_printf(b, "\\x%02x", c);
        else
            fl_buf_putc(b, c);
    }
    if (n > lim) fl_buf_printf(b, "... (%zu bytes)", n);
}

static fl_buf *note(kind_list *k)
{
    k->count++;
    return k->count <= SHOW_FIRST ? &k->shown : NULL;
}

static void note_key(kind_list *k, const expect *e, const char *what, const char *found, size_t found_len)
{
    if (k->sink && e->row_key) k->sink->row(k->sink->ctx, e->db, e->table, e->row_key, e->row_key_len);
    fl_buf *b = note(k);
    if (!b) return;
    fl_buf_puts(b, "  ");
    put_shown(b, e->key, e->key_len);
    fl_buf_printf(b, " (rule %s)", e->rule);
    if (what) fl_buf_printf(b, ": %s", what);
    if (e->kind == FL_CACHE_SET && found) {
        fl_buf_puts(b, "\n      expected ");
        put_shown(b, e->value, e->value_len);
        fl_buf_puts(b, "\n      found    ");
        put_shown(b, found, found_len);
    }
    fl_buf_putc(b, '\n');
}

static void print_kind(const char *name, kind_list *k)
{
    printf("%-13s %llu\n", name, (unsigned long long)k->count);
    if (k->shown.len) fwrite(k->shown.data, 1, k->shown.len, stdout);
    if (k->shown.len && k->count > SHOW_FIRST)
        printf("  ... and %llu more\n", (unsigned long long)(k->count - SHOW_FIRST));
}

static void report_free(report *r)
{
    fl_buf_free(&r->match.shown);
    fl_buf_free(&r->stale.shown);
    fl_buf_free(&r->missing.shown);
    fl_buf_free(&r->extra.shown);
    fl_buf_free(&r->unrendered.shown);
}

/* ---- the source ---- */

/* The source connection (common/mysql_conn.h), in one consistent read-only snapshot. */
static MYSQL *source_connect(const fl_config_source *src, char *err, size_t errlen)
{
    fl_error e;
    MYSQL *m = fl_mysql_connect(src, NULL, &e);
    if (!m) {
        snprintf(err, errlen, "%s", e.msg);
        return NULL;
    }
    const char *setup[] = {"SET SESSION time_zone = '+00:00'",
                           "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                           "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"};
    for (size_t i = 0; i < sizeof setup / sizeof *setup; i++)
        if (mysql_query(m, setup[i])) {
            snprintf(err, errlen, "source: %s: %s", setup[i], mysql_error(m));
            mysql_close(m);
            return NULL;
        }
    return m;
}

static void put_ident(fl_buf *b, const char *s)
{
    fl_buf_putc(b, '`');
    for (; *s; s++) {
        if (*s == '`') fl_buf_putc(b, '`');
        fl_buf_putc(b, (uint8_t)*s);
    }
    fl_buf_putc(b, '`');
}

/* One rule compiled on its own. */
typedef struct one_rule {
    fl_config cfg; /* a copy of the config with just this rule */
    fl_rules *rules;
    const fl_config_rule *rc;
    char *prefix; /* literal text before the first placeholder */
    size_t prefix_len;
} one_rule;

/* The select list for db.table: every column in table order, FLOAT and DOUBLE ones as
 * `c` + 0e0 (the text protocol prints a FLOAT with 6 significant digits, and FLOAT(M,D) or
 * DOUBLE(M,D) with D decimals; a DOUBLE expression prints every digit the value needs).
 * Marks in *is_float (malloc'd, one per column) which columns are FLOAT, and in *is_json
 * which hold MariaDB JSON (text to the client, JSON in the journal: common/mysql_schema.h).
 * Returns 0 or -1. */
static int select_list(MYSQL *m, const char *db, const char *table, fl_buf *sql, bool **is_float, bool **is_json,
                       char *err, size_t errlen)
{
    fl_table_schema schema;
    bool mariadb = strstr(mysql_get_server_info(m), "MariaDB") != NULL;
    if (fl_table_schema_read(m, db, table, mariadb, &schema, err, errlen)) {
        char why[512];
        snprintf(why, sizeof why, "%.511s", err);
        snprintf(err, errlen, "source: reading the columns of %s.%s: %s", db, table, why);
        return -1;
    }
    fl_buf q = {0};
    fl_buf_puts(&q, "SELECT * FROM ");
    put_ident(&q, db);
    fl_buf_putc(&q, '.');
    put_ident(&q, table);
    fl_buf_puts(&q, " LIMIT 0");
    int rc = mysql_real_query(m, (const char *)q.data, q.len);
    fl_buf_free(&q);
    MYSQL_RES *res = rc ? NULL : mysql_store_result(m);
    if (!res) {
        snprintf(err, errlen, "source: reading %s.%s: %s", db, table, mysql_error(m));
        fl_table_schema_free(&schema);
        return -1;
    }
    unsigned nf = mysql_num_fields(res);
    MYSQL_FIELD *f = mysql_fetch_fields(res);
    *is_float = fl_xcalloc(nf + 1, sizeof **is_float);
    *is_json = fl_xcalloc(nf + 1, sizeof **is_json);
    if (schema.ncols == nf) memcpy(*is_json, schema.is_json, nf * sizeof **is_json);
    fl_table_schema_free(&schema);
    fl_buf_puts(sql, "SELECT ");
    for (unsigned i = 0; i < nf; i++) {
        if (i) fl_buf_puts(sql, ", ");
        if (f[i].type == MYSQL_TYPE_FLOAT || f[i].type == MYSQL_TYPE_DOUBLE) {
            (*is_float)[i] = f[i].type == MYSQL_TYPE_FLOAT;
            fl_buf_putc(sql, '(');
            put_ident(sql, f[i].name);
            fl_buf_puts(sql, " + 0e0) AS ");
        }
        put_ident(sql, f[i].name);
    }
    fl_buf_puts(sql, " FROM ");
    put_ident(sql, db);
    fl_buf_putc(sql, '.');
    put_ident(sql, table);
    mysql_free_result(res);
    return 0;
}

/* With a sink: the ordinals of db.table's row key columns (fl_table_key_read), *n = 0 when
 * it has none (its differences then name no row). Returns the malloc'd array, or NULL with
 * err. */
static uint32_t *row_key_columns(MYSQL *m, const char *db, const char *table, uint32_t *n, char *err,
                                 size_t errlen)
{
    fl_table_schema schema;
    bool mariadb = strstr(mysql_get_server_info(m), "MariaDB") != NULL;
    if (fl_table_schema_read(m, db, table, mariadb, &schema, err, errlen)) return NULL;
    uint32_t *cols = fl_xcalloc(schema.ncols + 1, sizeof *cols);
    int rc = fl_table_key_read(m, db, table, &schema, cols, n, err, errlen);
    fl_table_schema_free(&schema);
    if (rc == 0) return cols;
    free(cols);
    return NULL;
}

/* The row key of row as the sink takes it: each key column's text, hex, space-separated. */
static void row_key_hex(const uint32_t *cols, uint32_t n, MYSQL_ROW row, const unsigned long *lens, fl_buf *out)
{
    static const char hx[] = "0123456789abcdef";
    fl_buf_reset(out);
    for (uint32_t i = 0; i < n; i++) {
        if (i) fl_buf_putc(out, ' ');
        const char *p = row[cols[i]];
        if (!lens[cols[i]]) fl_buf_putc(out, '-');
        for (unsigned long k = 0; k < lens[cols[i]]; k++) {
            fl_buf_putc(out, (uint8_t)hx[(uint8_t)p[k] >> 4]);
            fl_buf_putc(out, (uint8_t)hx[(uint8_t)p[k] & 15]);
        }
    }
}

/* Reads db.table and renders every row with each of rules[0..n). Returns 0, or -1 with err. */
static int read_table(MYSQL *m, const char *db, const char *table, one_rule **rules, size_t n, expect_set *ex,
                      report *rep, char *err, size_t errlen)
{
    fl_buf sql = {0}, row_key = {0};
    bool *is_float = NULL, *is_json = NULL;
    uint32_t *key_cols = NULL, nkey = 0;
    if (rep->sink && !(key_cols = row_key_columns(m, db, table, &nkey, err, errlen))) return -1;
    if (select_list(m, db, table, &sql, &is_float, &is_json, err, errlen)) {
        fl_buf_free(&sql);
        free(key_cols);
        return -1;
    }
    if (mysql_real_query(m, (const char *)sql.data, sql.len)) {
        snprintf(err, errlen, "source: reading %s.%s: %s", db, table, mysql_error(m));
        fl_buf_free(&sql);
        free(is_float);
        free(is_json);
        return -1;
    }
    fl_buf_free(&sql);
    MYSQL_RES *res = mysql_use_result(m);
    if (!res) {
        snprintf(err, errlen, "source: reading %s.%s: %s", db, table, mysql_error(m));
        free(is_float);
        free(is_json);
        return -1;
    }
    unsigned nf = mysql_num_fields(res);
    MYSQL_FIELD *fields = mysql_fetch_fields(res);
    const char **names = fl_xcalloc(nf + 1, sizeof *names);
    for (unsigned i = 0; i < nf; i++) names[i] = fields[i].name;
    fl_table t = {.db = db, .name = table, .ncols = nf, .cols = names};
    int rc = 0;
    for (size_t k = 0; k < n; k++)
        if (fl_rules_check_table(rules[k]->rules, &t, err, errlen)) rc = -1;
    fl_value *vals = fl_xcalloc(nf + 1, sizeof *vals);
    fl_change change = {.op = FL_OP_INSERT, .table = 0, .after = vals};
    fl_txn txn = {.tables = &t, .ntables = 1, .changes = &change, .nchanges = 1, .nrows = 1};
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    MYSQL_ROW row;
    while (rc == 0 && (row = mysql_fetch_row(res))) {
        unsigned long *lens = mysql_fetch_lengths(res);
        for (unsigned i = 0; i < nf; i++) {
            fl_mysql_cell_value(&fields[i], row[i], lens[i], &vals[i]);
            if (is_float[i] && vals[i].type == FL_VAL_DOUBLE) {
                vals[i].type = FL_VAL_FLOAT;
                vals[i].d = (double)(float)vals[i].d;
            }
            if (is_json[i] && vals[i].type == FL_VAL_STRING && fl_json_text_valid(vals[i].s.ptr, vals[i].s.len))
                vals[i].type = FL_VAL_JSON; /* as the relay journals it */
        }
        rep->rows++;
        if (nkey) row_key_hex(key_cols, nkey, row, lens, &row_key);
        for (size_t k = 0; k < n; k++) {
            char why[512];
            fl_cache_ops_reset(&ops);
            if (fl_rules_render(rules[k]->rules, &txn, FL_ON_ERROR_STOP, &ops, why, sizeof why)) {
                fl_buf *b = note(&rep->unrendered);
                /* the message starts with the synthetic transaction's empty GTID */
                const char *tail = strstr(why, ": ");
                if (b) fl_buf_printf(b, "  %s\n", tail ? tail + 2 : why);
                continue;
            }
            for (size_t o = 0; o < ops.nops; o++) {
                expect *e = expect_add(ex, &ops.ops[o], rules[k]->rc->name);
                if (!nkey) continue;
                e->db = rules[k]->rc->db;
                e->table = rules[k]->rc->table;
                e->row_key = fl_arena_memdup(&ex->arena, row_key.data, row_key.len);
                e->row_key_len = (uint32_t)row_key.len;
            }
        }
    }
    if (rc == 0 && mysql_errno(m)) {
        snprintf(err, errlen, "source: reading %s.%s: %s", db, table, mysql_error(m));
        rc = -1;
    }
    mysql_free_result(res);
    fl_cache_ops_free(&ops);
    free(vals);
    free(names);
    free(is_float);
    free(is_json);
    free(key_cols);
    fl_buf_free(&row_key);
    return rc;
}

/* ---- Redis ---- */

/* The next reply to what was appended; NULL with err when the connection failed. */
static redisReply *redis_call_reply(fl_redis_conn *c, char *err, size_t errlen)
{
    fl_error e;
    redisReply *r = fl_redis_conn_reply(c, &e);
    if (!r) snprintf(err, errlen, "%s", e.msg);
    return r;
}

/* One command and its reply; NULL with err when the connection failed. */
static redisReply *redis_call(fl_redis_conn *c, int argc, const char **argv, const size_t *lens, char *err,
                              size_t errlen)
{
    fl_redis_conn_append(c, argc, argv, lens);
    return redis_call_reply(c, err, errlen);
}

static bool hash_equal(const expect *e, const redisReply *r)
{
    if (r->elements != (size_t)e->nfields * 2) return false;
    for (uint32_t k = 0; k < e->nfields; k++) {
        bool found = false;
        for (size_t j = 0; j + 1 < r->elements && !found; j += 2) {
            const redisReply *n = r->element[j], *v = r->element[j + 1];
            if (n->len == (size_t)e->fields[k].name_len && !memcmp(n->str, e->fields[k].name, n->len)) {
                if (v->len != (size_t)e->fields[k].value_len || memcmp(v->str, e->fields[k].value, v->len))
                    return false;
                found = true;
            }
        }
        if (!found) return false;
    }
    return true;
}

/* A key whose value matches; with a rule ttl it must also expire, and not later than that. */
static void matched(const expect *e, const redisReply *pttl, report *rep)
{
    if (e->ttl && pttl && pttl->type == REDIS_REPLY_INTEGER) {
        char why[96];
        if (pttl->integer == -1) {
            snprintf(why, sizeof why, "no expiry (the rule's ttl is %u s)", e->ttl);
            note_key(&rep->stale, e, why, NULL, 0);
            return;
        }
        if (pttl->integer > (long long)e->ttl * 1000) {
            snprintf(why, sizeof why, "expires in %lld ms, later than the rule's ttl of %u s", pttl->integer,
                     e->ttl);
            note_key(&rep->stale, e, why, NULL, 0);
            return;
        }
    }
    rep->match.count++;
}

/* r: the reply to GET/HGETALL/EXISTS; pttl: to PTTL (keys of rules with a ttl), else NULL */
static void classify_redis(const expect *e, const redisReply *r, const redisReply *pttl, report *rep)
{
    if (r->type == REDIS_REPLY_ERROR) {
        note_key(&rep->stale, e, r->str, NULL, 0); /* WRONGTYPE: another kind of value */
        return;
    }
    switch (e->kind) {
    case FL_CACHE_SET:
        if (r->type == REDIS_REPLY_NIL)
            note_key(&rep->missing, e, NULL, NULL, 0);
        else if (r->type == REDIS_REPLY_STRING && r->len == e->value_len && !memcmp(r->str, e->value, r->len))
            matched(e, pttl, rep);
        else
            note_key(&rep->stale, e, "value differs", r->str ? r->str : "", r->str ? r->len : 0);
        return;
    case FL_CACHE_HASH:
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 0)
            note_key(&rep->missing, e, NULL, NULL, 0);
        else if (r->type == REDIS_REPLY_ARRAY && hash_equal(e, r))
            matched(e, pttl, rep);
        else
            note_key(&rep->stale, e, "hash fields differ", NULL, 0);
        return;
    default:
        if (r->type == REDIS_REPLY_INTEGER && r->integer == 0)
            rep->match.count++;
        else
            note_key(&rep->stale, e, "the key should not exist (its value column is NULL)", NULL, 0);
        return;
    }
}

/* Where the keys are read: one Redis, or on a cluster the primary owning each key's slot. */
typedef struct redis_reader {
    fl_redis_conn *single;
    fl_cluster_conn *cluster;
} redis_reader;

static fl_redis_conn *reader_for_key(const redis_reader *rd, const char *key, size_t len)
{
    return rd->cluster ? fl_cluster_conn_for_key(rd->cluster, key, len) : rd->single;
}

static size_t reader_nodes(const redis_reader *rd) { return rd->cluster ? fl_cluster_conn_nodes(rd->cluster) : 1; }

static fl_redis_conn *reader_node(const redis_reader *rd, size_t i)
{
    return rd->cluster ? fl_cluster_conn_node(rd->cluster, i) : rd->single;
}

/* Connects to the target: a redis-cluster:// URL reads the slot map and connects to every
 * primary. Returns 0, or -1 with err. */
static int reader_open(redis_reader *rd, const fl_config_apply *a, char *err, size_t errlen)
{
    fl_error e;
    memset(rd, 0, sizeof *rd);
    const fl_redis_tls tls = {a->target_tls_ca, a->target_tls_cert, a->target_tls_key};
    if (fl_target_url_scheme(a->target) == FL_SCHEME_REDIS_CLUSTER)
        rd->cluster = fl_cluster_conn_open(a->target, &tls, &e);
    else
        rd->single = fl_redis_conn_open(a->target, &tls, &e);
    return rd->cluster || rd->single ? 0 : fl_errorf(err, errlen, "%s", e.msg);
}

static void reader_close(redis_reader *rd)
{
    fl_redis_conn_close(rd->single);
    fl_cluster_conn_close(rd->cluster);
}

static const char *read_command(const expect *e)
{
    return e->kind == FL_CACHE_SET ? "GET" : e->kind == FL_CACHE_HASH ? "HGETALL" : "EXISTS";
}

/* On a cluster, a key whose slot moved since the map was read (MOVED) or is migrating and
 * no longer on its owner (ASK) is read again where the redirection names (ASKING first for
 * an ASK), once every pipeline is drained: *reply (the redirection) and *pttl are replaced.
 * Returns 0, or -1 with err. */
static int follow_redirection(const redis_reader *rd, const expect *e, redisReply **reply, redisReply **pttl,
                              char *err, size_t errlen)
{
    bool want_pttl = e->ttl && e->kind != FL_CACHE_DEL;
    for (int hop = 0; hop < 3 && rd->cluster && fl_cluster_is_redirection(*reply); hop++) {
        bool asking;
        fl_error fe;
        fl_redis_conn *c = fl_cluster_conn_redirected(rd->cluster, (*reply)->str, (*reply)->len, &asking, &fe);
        if (!c) return fl_errorf(err, errlen, "%s", fe.msg);
        freeReplyObject(*reply);
        *reply = NULL;
        if (*pttl) freeReplyObject(*pttl);
        *pttl = NULL;
        const char *a1[1] = {"ASKING"};
        size_t l1[1] = {6};
        const char *argv[2] = {read_command(e), e->key};
        size_t lens[2] = {strlen(argv[0]), e->key_len};
        for (int k = 0; k < (want_pttl ? 2 : 1); k++) {
            if (asking) fl_redis_conn_append(c, 1, a1, l1);
            if (k) argv[0] = "PTTL", lens[0] = 4;
            fl_redis_conn_append(c, 2, argv, lens);
        }
        for (int k = 0; k < (want_pttl ? 2 : 1); k++) {
            redisReply *ok = asking ? redis_call_reply(c, err, errlen) : NULL;
            if (asking && !ok) return -1;
            if (ok) freeReplyObject(ok);
            redisReply *r = redis_call_reply(c, err, errlen);
            if (!r) return -1;
            *(k ? pttl : reply) = r;
        }
    }
    return 0;
}

static int compare_redis(const redis_reader *rd, const expect_set *ex, report *rep, char *err, size_t errlen)
{
    size_t *redirected = fl_xmalloc(PIPELINE * sizeof *redirected);
    redisReply **redirections = fl_xmalloc(PIPELINE * sizeof *redirections);
    int rc = 0;
    for (size_t start = 0; start < ex->n && !rc; start += PIPELINE) {
        size_t end = start + PIPELINE < ex->n ? start + PIPELINE : ex->n, nred = 0;
        for (size_t i = start; i < end; i++) {
            const expect *e = &ex->items[i];
            const char *cmd = read_command(e);
            const char *argv[2] = {cmd, e->key};
            size_t lens[2] = {strlen(cmd), e->key_len};
            fl_redis_conn *c = reader_for_key(rd, e->key, e->key_len);
            fl_redis_conn_append(c, 2, argv, lens);
            if (e->ttl && e->kind != FL_CACHE_DEL) {
                argv[0] = "PTTL";
                lens[0] = 4;
                fl_redis_conn_append(c, 2, argv, lens);
            }
        }
        for (size_t i = start; i < end && !rc; i++) {
            const expect *e = &ex->items[i];
            fl_redis_conn *c = reader_for_key(rd, e->key, e->key_len); /* replies in order, per node */
            redisReply *reply = redis_call_reply(c, err, errlen), *pttl = NULL;
            if (!reply || (e->ttl && e->kind != FL_CACHE_DEL && !(pttl = redis_call_reply(c, err, errlen)))) {
                if (reply) freeReplyObject(reply);
                rc = -1;
                break;
            }
            if (rd->cluster && fl_cluster_is_redirection(reply)) { /* read there once the pipelines are drained */
                if (pttl) freeReplyObject(pttl);
                redirected[nred] = i;
                redirections[nred++] = reply;
                continue;
            }
            classify_redis(e, reply, pttl, rep);
            freeReplyObject(reply);
            if (pttl) freeReplyObject(pttl);
        }
        for (size_t k = 0; k < nred; k++) {
            const expect *e = &ex->items[redirected[k]];
            redisReply *reply = redirections[k], *pttl = NULL;
            redirections[k] = NULL;
            if (!rc && follow_redirection(rd, e, &reply, &pttl, err, errlen) == 0)
                classify_redis(e, reply, pttl, rep);
            else
                rc = -1;
            if (reply) freeReplyObject(reply);
            if (pttl) freeReplyObject(pttl);
        }
    }
    free(redirected);
    free(redirections);
    return rc;
}

/* Keys under each prefix that no row accounts for, on one node. */
static int scan_extra_on(const redis_reader *rd, size_t node, one_rule *rules, size_t n, const expect_set *ex,
                         report *rep, char *err, size_t errlen)
{
    fl_redis_conn *c = reader_node(rd, node);
    for (size_t k = 0; k < n; k++) {
        one_rule *r = &rules[k];
        if (!r->rules || !r->prefix_len) continue;
        /* a shorter prefix of another rule covers this one: scan each key once */
        bool covered = false;
        for (size_t j = 0; j < n && !covered; j++)
            if (j != k && rules[j].rules && rules[j].prefix_len && rules[j].prefix_len <= r->prefix_len &&
                !memcmp(rules[j].prefix, r->prefix, rules[j].prefix_len) &&
                (rules[j].prefix_len < r->prefix_len || j < k))
                covered = true;
        if (covered) continue;
        fl_buf pat = {0};
        for (size_t i = 0; i < r->prefix_len; i++) {
            if (strchr("*?[]\\", r->prefix[i])) fl_buf_putc(&pat, '\\');
            fl_buf_putc(&pat, (uint8_t)r->prefix[i]);
        }
        fl_buf_putc(&pat, '*');
        char cursor[32] = "0";
        do {
            const char *argv[6] = {"SCAN", cursor, "MATCH", (const char *)pat.data, "COUNT", "1000"};
            size_t lens[6] = {4, strlen(cursor), 5, pat.len, 5, 4};
            redisReply *rr = redis_call(c, 6, argv, lens, err, errlen);
            if (!rr) {
                fl_buf_free(&pat);
                return -1;
            }
            if (rr->type != REDIS_REPLY_ARRAY || rr->elements != 2 || rr->element[0]->type != REDIS_REPLY_STRING ||
                rr->element[1]->type != REDIS_REPLY_ARRAY) {
                snprintf(err, errlen, "redis: unexpected reply to SCAN%s%.200s",
                         rr->type == REDIS_REPLY_ERROR ? ": " : "", rr->type == REDIS_REPLY_ERROR ? rr->str : "");
                freeReplyObject(rr);
                fl_buf_free(&pat);
                return -1;
            }
            snprintf(cursor, sizeof cursor, "%.*s", (int)rr->element[0]->len, rr->element[0]->str);
            const redisReply *keys = rr->element[1];
            for (size_t i = 0; i < keys->elements; i++) {
                const redisReply *key = keys->element[i];
                if (key->type != REDIS_REPLY_STRING) continue;
                if (key->len >= strlen(CHECKPOINT_KEY_PREFIX) &&
                    !memcmp(key->str, CHECKPOINT_KEY_PREFIX, strlen(CHECKPOINT_KEY_PREFIX)))
                    continue;
                const expect *e = expect_find(ex, key->str, key->len);
                if (e && e->kind != FL_CACHE_DEL) continue; /* counted already (match or not) */
                if (e) continue;   /* a key that should not exist: already reported as stale */
                if (rd->cluster) { /* counted where a reader finds it: once, also while its slot migrates */
                    fl_error fe;
                    int serves = fl_cluster_conn_serves(rd->cluster, node, key->str, key->len, &fe);
                    if (serves < 0) {
                        snprintf(err, errlen, "%s", fe.msg);
                        freeReplyObject(rr);
                        fl_buf_free(&pat);
                        return -1;
                    }
                    if (!serves) continue;
                }
                if (rep->sink) rep->sink->extra(rep->sink->ctx, key->str, key->len);
                fl_buf *b = note(&rep->extra);
                if (b) {
                    fl_buf_puts(b, "  ");
                    put_shown(b, key->str, key->len);
                    fl_buf_printf(b, " (prefix of rule %s)\n", r->rc->name);
                }
            }
            freeReplyObject(rr);
        } while (strcmp(cursor, "0"));
        fl_buf_free(&pat);
    }
    return 0;
}

/* Keys under each prefix that no row accounts for, on every primary. */
static int scan_extra(const redis_reader *rd, one_rule *rules, size_t n, const expect_set *ex, report *rep,
                      char *err, size_t errlen)
{
    for (size_t i = 0; i < reader_nodes(rd); i++)
        if (scan_extra_on(rd, i, rules, n, ex, rep, err, errlen)) return -1;
    return 0;
}

/* ---- memcached ---- */

static void classify_memcached(const expect *e, bool found, const char *v, size_t len, report *rep)
{
    if (!v) v = "";
    if (!found) {
        if (e->kind == FL_CACHE_DEL)
            rep->match.count++;
        else
            note_key(&rep->missing, e, NULL, NULL, 0);
    } else if (e->kind == FL_CACHE_SET && len == e->value_len && !memcmp(v, e->value, len)) {
        rep->match.count++;
    } else if (e->kind == FL_CACHE_SET) {
        note_key(&rep->stale, e, "value differs", v, len);
    } else {
        note_key(&rep->stale, e, "the key should not exist (its value column is NULL)", NULL, 0);
    }
}

/* Multi-gets in batches; results come back in any order and are matched by key. */
static int compare_memcached(memcached_st *mc, const expect_set *ex, report *rep, char *err, size_t errlen)
{
    const char **keys = fl_xmalloc(PIPELINE * sizeof *keys);
    size_t *lens = fl_xmalloc(PIPELINE * sizeof *lens);
    bool *seen = fl_xmalloc(PIPELINE * sizeof *seen);
    memcached_result_st result;
    memcached_result_create(mc, &result);
    int status = 0;
    for (size_t start = 0; start < ex->n && !status; start += PIPELINE) {
        size_t end = start + PIPELINE < ex->n ? start + PIPELINE : ex->n, nk = 0;
        for (size_t i = start; i < end; i++) {
            const expect *e = &ex->items[i];
            seen[i - start] = false;
            if (e->key_len > MEMCACHED_MAX_KEY - 1) { /* memcached cannot hold it */
                seen[i - start] = true;
                note_key(&rep->missing, e, "memcached cannot hold a key this long", NULL, 0);
                continue;
            }
            keys[nk] = e->key;
            lens[nk++] = e->key_len;
        }
        memcached_return_t rc = nk ? memcached_mget(mc, keys, lens, nk) : MEMCACHED_SUCCESS;
        if (memcached_failed(rc)) {
            snprintf(err, errlen, "memcached: get failed: %s (%s)", memcached_strerror(mc, rc),
                     memcached_last_error_message(mc));
            status = -1;
            break;
        }
        memcached_result_st *r;
        while (nk && (r = memcached_fetch_result(mc, &result, &rc))) {
            const expect *e = expect_find(ex, memcached_result_key_value(r), memcached_result_key_length(r));
            size_t i = e ? (size_t)(e - ex->items) : 0;
            if (!e || i < start || i >= end || seen[i - start]) continue;
            seen[i - start] = true;
            classify_memcached(e, true, memcached_result_value(r), memcached_result_length(r), rep);
        }
        if (nk && rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND) {
            snprintf(err, errlen, "memcached: get failed: %s (%s)", memcached_strerror(mc, rc),
                     memcached_last_error_message(mc));
            status = -1;
            break;
        }
        for (size_t i = start; i < end; i++)
            if (!seen[i - start]) classify_memcached(&ex->items[i], false, NULL, 0, rep);
    }
    memcached_result_free(&result);
    free(keys);
    free(lens);
    free(seen);
    return status;
}

/* ---- driver ---- */

static void literal_prefix(const char *t, one_rule *r)
{
    fl_buf b = {0};
    for (const char *p = t; *p; p++) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}'))
            fl_buf_putc(&b, (uint8_t)*p++);
        else if (*p == '{')
            break;
        else
            fl_buf_putc(&b, (uint8_t)*p);
    }
    r->prefix_len = b.len;
    r->prefix = fl_xstrdup(fl_buf_cstr(&b));
    fl_buf_free(&b);
}

int fl_verify_run(const fl_config *cfg) { return fl_verify_collect(cfg, NULL); }

int fl_verify_collect(const fl_config *cfg, const fl_verify_sink *sink)
{
    char err[1024];
    err[0] = 0;
    if (!cfg->apply.present || !cfg->apply.target) {
        fprintf(stderr, "verify: the configuration has no [apply] target to compare with\n");
        return 2;
    }
    if (!cfg->source.present) {
        fprintf(stderr, "verify: the configuration has no [source] to read the tables from\n");
        return 2;
    }
    char *errors = NULL;
    fl_rules *all = fl_rules_new(cfg, &errors);
    if (!all) {
        fprintf(stderr, "%s\n", errors);
        free(errors);
        return 2;
    }
    fl_rules_free(all);
    bool is_mc = !strncmp(cfg->apply.target, "memcached://", 12);

    int status = 2;
    size_t n = cfg->nrules, unread = 0;
    one_rule *rules = fl_xcalloc(n + 1, sizeof *rules);
    one_rule **group = fl_xcalloc(n + 1, sizeof *group);
    expect_set ex;
    memset(&ex, 0, sizeof ex);
    report rep;
    memset(&rep, 0, sizeof rep);
    rep.sink = rep.stale.sink = rep.missing.sink = sink;
    MYSQL *m = NULL;
    redis_reader rd = {0};
    memcached_st *mc = NULL;

    for (size_t i = 0; i < n; i++) {
        one_rule *r = &rules[i];
        r->rc = &cfg->rules[i];
        if (r->rc->mode == FL_MODE_INVALIDATE) {
            printf("rule %s (%s.%s): invalidate mode, not compared\n", r->rc->name, r->rc->db, r->rc->table);
            continue;
        }
        r->cfg = *cfg;
        r->cfg.rules = &cfg->rules[i];
        r->cfg.nrules = 1;
        r->rules = fl_rules_new(&r->cfg, &errors);
        if (!r->rules) { /* cannot happen after the check above; keep the message anyway */
            fprintf(stderr, "%s\n", errors);
            free(errors);
            goto out;
        }
        literal_prefix(r->rc->key, r);
    }

    m = source_connect(&cfg->source, err, sizeof err);
    if (!m) goto fail;
    if (is_mc) {
        fl_error e;
        mc = fl_memcached_conn_new(cfg->apply.target, -1, &e);
        if (!mc) {
            snprintf(err, sizeof err, "%s", e.msg);
            goto fail;
        }
    } else if (reader_open(&rd, &cfg->apply, err, sizeof err)) {
        goto fail;
    }

    /* each table once, with every upsert rule that names it */
    for (size_t i = 0; i < n; i++) {
        if (!rules[i].rules) continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = rules[j].rules && !strcmp(rules[j].rc->db, rules[i].rc->db) &&
                   !strcmp(rules[j].rc->table, rules[i].rc->table);
        if (seen) continue;
        size_t ng = 0;
        for (size_t j = i; j < n; j++)
            if (rules[j].rules && !strcmp(rules[j].rc->db, rules[i].rc->db) &&
                !strcmp(rules[j].rc->table, rules[i].rc->table))
                group[ng++] = &rules[j];
        uint64_t before = rep.rows;
        if (read_table(m, rules[i].rc->db, rules[i].rc->table, group, ng, &ex, &rep, err, sizeof err)) {
            /* Say so and check every other table; this one's keys are neither expected nor extra. */
            printf("table %s.%s: not checked: %s\n", rules[i].rc->db, rules[i].rc->table, err);
            unread++;
            for (size_t g = 0; g < ng; g++) {
                fl_rules_free(group[g]->rules);
                group[g]->rules = NULL;
            }
            continue;
        }
        printf("table %s.%s: %llu rows\n", rules[i].rc->db, rules[i].rc->table,
               (unsigned long long)(rep.rows - before));
    }
    mysql_query(m, "COMMIT");

    if (is_mc) {
        if (compare_memcached(mc, &ex, &rep, err, sizeof err)) goto fail;
    } else {
        if (compare_redis(&rd, &ex, &rep, err, sizeof err)) goto fail;
        if (scan_extra(&rd, rules, n, &ex, &rep, err, sizeof err)) goto fail;
    }

    printf("keys expected %zu (from %llu rows)\n", ex.n, (unsigned long long)rep.rows);
    if (ex.duplicates)
        printf("note: %llu rows rendered a key another row also rendered (the template is not unique); the last "
               "row read is expected\n",
               (unsigned long long)ex.duplicates);
    print_kind("matching", &rep.match);
    print_kind("stale", &rep.stale);
    print_kind("missing", &rep.missing);
    if (is_mc)
        printf("%-13s not checked (memcached cannot list its keys)\n", "extra");
    else
        print_kind("extra", &rep.extra);
    if (rep.unrendered.count) print_kind("not rendered", &rep.unrendered);
    uint64_t not_applied, first_seq;
    if (fl_apply_not_applied(cfg, &not_applied, &first_seq, err, sizeof err) == 0)
        printf("%-13s %llu statement-based transactions (journal seq %llu to the checkpoint)\n", "not applied",
               (unsigned long long)not_applied, (unsigned long long)first_seq);
    else
        printf("%-13s unknown (%s)\n", "not applied", err);
    status = rep.stale.count || rep.missing.count || rep.extra.count ? 1 : 0;
    if (unread) {
        printf("verify: %zu table%s could not be read (above); the others were compared\n", unread,
               unread == 1 ? "" : "s");
        status = 2;
    } else {
        printf("%s\n", status ? "verify: the cache differs from the source" : "verify: every key matches");
    }
    goto out;
fail:
    fprintf(stderr, "verify: %s\n", err);
    status = 2;
out:
    for (size_t i = 0; i < n; i++) {
        fl_rules_free(rules[i].rules);
        free(rules[i].prefix);
    }
    free(rules);
    free(group);
    expect_free(&ex);
    report_free(&rep);
    if (m) mysql_close(m);
    reader_close(&rd);
    if (mc) memcached_free(mc);
    return status;
}
