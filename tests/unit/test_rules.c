/* test_rules.c — mapping rules: template compilation, every format and mode, projections,
 * key changes, TTLs, NULL/absent key columns under on_error, column checks, and bindings kept
 * across transactions only for the same table definition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fl-apply/rules.h"

/* ---- fixtures: a hand-built transaction over app.users and app.orders ---- */

static const char *users_cols[] = {"id", "name", "email", "score"};
static const char *orders_cols[] = {"id", "user_id", "total"};

#define V_INT(x) ((fl_value){.type = FL_VAL_INT, .i = (x)})
#define V_STR(x) ((fl_value){.type = FL_VAL_STRING, .s = {(x), (uint32_t)strlen(x)}})
#define V_DEC(x) ((fl_value){.type = FL_VAL_DECIMAL, .s = {(x), (uint32_t)strlen(x)}})
#define V_NULL ((fl_value){.type = FL_VAL_NULL})
#define V_ABSENT ((fl_value){.type = FL_VAL_ABSENT})

typedef struct fixture {
    fl_txn txn;
    fl_table tables[4];
    fl_change changes[16];
    fl_value rows[32][4];
    int nrows;
} fixture;

static void fx_init(fixture *f)
{
    memset(f, 0, sizeof *f);
    f->txn.tables = f->tables;
    f->txn.changes = f->changes;
    f->tables[0] = (fl_table){.db = "app", .name = "users", .ncols = 4, .cols = users_cols};
    f->tables[1] = (fl_table){.db = "app", .name = "orders", .ncols = 3, .cols = orders_cols};
    f->tables[2] = (fl_table){.db = "app", .name = "logs", .ncols = 3, .cols = orders_cols};
    f->txn.ntables = 3;
    f->txn.seq = 7;
    assert_int_equal(fl_gtid_parse(&f->txn.gtid, "0-1-42", 6), 0);
}

static fl_value *fx_row(fixture *f, fl_value a, fl_value b, fl_value c, fl_value d)
{
    fl_value *r = f->rows[f->nrows++];
    r[0] = a, r[1] = b, r[2] = c, r[3] = d;
    return r;
}

static void fx_change(fixture *f, fl_op op, uint32_t table, fl_value *before, fl_value *after)
{
    fl_change *c = &f->changes[f->txn.nchanges++];
    memset(c, 0, sizeof *c);
    c->op = (uint8_t)op;
    c->table = table;
    c->before = before;
    c->after = after;
}

static fl_config *load(const char *text)
{
    char *errors = NULL;
    fl_config *c = fl_config_load_string(text, strlen(text), "t.ini", &errors);
    if (!c) fail_msg("config: %s", errors);
    return c;
}

#define APPLY "[apply]\njournal = /tmp/j\ntarget = redis://127.0.0.1:6379/0\n"

static fl_rules *rules_of(fl_config *c)
{
    char *errors = NULL;
    fl_rules *r = fl_rules_new(c, &errors);
    if (!r) fail_msg("rules: %s", errors);
    return r;
}

static void expect_set(const fl_cache_op *op, const char *key, const char *value, uint32_t ttl)
{
    assert_int_equal(op->kind, FL_CACHE_SET);
    assert_int_equal(op->key_len, strlen(key));
    assert_memory_equal(op->key, key, op->key_len);
    char *v = strndup(op->value, op->value_len);
    assert_string_equal(v, value);
    free(v);
    assert_int_equal(op->ttl, ttl);
}

static void expect_del(const fl_cache_op *op, const char *key)
{
    assert_int_equal(op->kind, FL_CACHE_DEL);
    char *k = strndup(op->key, op->key_len);
    assert_string_equal(k, key);
    free(k);
}

static void expect_field(const fl_cache_op *op, uint32_t i, const char *name, const char *value)
{
    assert_true(i < op->nfields);
    char *n = strndup(op->fields[i].name, op->fields[i].name_len);
    char *v = strndup(op->fields[i].value, op->fields[i].value_len);
    assert_string_equal(n, name);
    assert_string_equal(v, value);
    free(n);
    free(v);
}

/* ---- tests ---- */

static void test_json_insert_update_delete(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule users]\ntable = app.users\nkey = user:{id}\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    fl_value *a = fx_row(&f, V_INT(1), V_STR("ann \"a\""), V_NULL, V_DEC("1165.50"));
    fl_value *b = fx_row(&f, V_INT(1), V_STR("bob"), V_STR("b@x"), V_DEC("-0.10"));
    fx_change(&f, FL_OP_INSERT, 0, NULL, a);
    fx_change(&f, FL_OP_UPDATE, 0, a, b);
    fx_change(&f, FL_OP_DELETE, 0, b, NULL);
    fx_change(&f, FL_OP_INSERT, 2, NULL, a); /* app.logs: no rule */
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[256] = "";
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), 0);
    assert_int_equal(ops.nops, 3);
    expect_set(&ops.ops[0], "user:1", "{\"id\":1,\"name\":\"ann \\\"a\\\"\",\"email\":null,\"score\":\"1165.50\"}",
               0);
    expect_set(&ops.ops[1], "user:1", "{\"id\":1,\"name\":\"bob\",\"email\":\"b@x\",\"score\":\"-0.10\"}", 0);
    expect_del(&ops.ops[2], "user:1");
    assert_int_equal(ops.rows_matched, 3);
    assert_int_equal(ops.rows_skipped, 1);
    assert_int_equal(ops.rows_failed, 0);
    fl_cache_ops_reset(&ops);
    assert_int_equal(ops.nops, 0);
    assert_int_equal(ops.rows_matched, 0);
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

static void test_projection_and_ttl(void **state)
{
    (void)state;
    /* projection order follows the table, not the list */
    fl_config *c = load(APPLY "[rule u]\ntable = app.users\nkey = u:{id}\ncolumns = score, id\nttl = 1h\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    fx_change(&f, FL_OP_INSERT, 0, NULL, fx_row(&f, V_INT(5), V_STR("x"), V_NULL, V_DEC("2.00")));
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[256];
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), 0);
    assert_int_equal(ops.nops, 1);
    expect_set(&ops.ops[0], "u:5", "{\"id\":5,\"score\":\"2.00\"}", 3600);
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

/* A snapshot row is written like an insert: same key, value and TTL; in invalidate mode it
 * deletes its key. */
static void test_snapshot_rows_as_inserts(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule u]\ntable = app.users\nkey = u:{id}\ncolumns = score, id\nttl = 1h\n"
                              "[rule i]\ntable = app.users\nkey = i:{id}\nmode = invalidate\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    f.txn.flags = FL_TXN_LAST_PART | FL_TXN_SNAPSHOT;
    fx_change(&f, FL_OP_SNAPSHOT, 0, NULL, fx_row(&f, V_INT(5), V_STR("x"), V_NULL, V_DEC("2.00")));
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[256];
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), 0);
    assert_int_equal(ops.nops, 2);
    expect_set(&ops.ops[0], "u:5", "{\"id\":5,\"score\":\"2.00\"}", 3600);
    expect_del(&ops.ops[1], "i:5");
    assert_int_equal(ops.rows_matched, 1);
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

static void test_hash_format(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule h]\ntable = app.users\nkey = h:{id}\nformat = hash\nttl = 30\n"
                              "columns = name,email,score\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    fx_change(&f, FL_OP_INSERT, 0, NULL, fx_row(&f, V_INT(2), V_STR("zed"), V_NULL, V_DEC("3.25")));
    fx_change(&f, FL_OP_INSERT, 0, NULL, fx_row(&f, V_INT(3), V_NULL, V_NULL, V_NULL));
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[256];
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), 0);
    assert_int_equal(ops.nops, 2);
    const fl_cache_op *op = &ops.ops[0];
    assert_int_equal(op->kind, FL_CACHE_HASH);
    assert_int_equal(op->ttl, 30);
    assert_int_equal(op->nfields, 2); /* email is NULL: left out */
    expect_field(op, 0, "name", "zed");
    expect_field(op, 1, "score", "3.25");
    /* every projected column NULL: a hash without fields is no hash */
    expect_del(&ops.ops[1], "h:3");
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

static void test_column_format(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule n]\ntable = app.users\nkey = name:{id}\nformat = column:email\nttl = 10\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    fl_value *a = fx_row(&f, V_INT(9), V_STR("n"), V_STR("n@x"), V_NULL);
    fl_value *b = fx_row(&f, V_INT(9), V_STR("n"), V_NULL, V_NULL);
    fx_change(&f, FL_OP_INSERT, 0, NULL, a);
    fx_change(&f, FL_OP_UPDATE, 0, a, b);
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[256];
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), 0);
    assert_int_equal(ops.nops, 2);
    expect_set(&ops.ops[0], "name:9", "n@x", 10);
    expect_del(&ops.ops[1], "name:9"); /* the column became NULL */
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

static void test_key_change_and_several_placeholders(void **state)
{
    (void)state;
    fl_config *c = load(APPLY
                        "[rule o]\ntable = app.orders\nkey = {{o}}:{user_id}.{id}}}\nformat = column:total\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    fl_value *a = fx_row(&f, V_INT(1), V_INT(10), V_DEC("5.00"), V_ABSENT);
    fl_value *b = fx_row(&f, V_INT(1), V_INT(11), V_DEC("5.00"), V_ABSENT);
    fl_value *d = fx_row(&f, V_INT(1), V_INT(11), V_DEC("6.00"), V_ABSENT);
    fx_change(&f, FL_OP_UPDATE, 1, a, b); /* key changes */
    fx_change(&f, FL_OP_UPDATE, 1, b, d); /* key stays */
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[256];
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), 0);
    assert_int_equal(ops.nops, 3);
    expect_del(&ops.ops[0], "{o}:10.1}");
    expect_set(&ops.ops[1], "{o}:11.1}", "5.00", 0);
    expect_set(&ops.ops[2], "{o}:11.1}", "6.00", 0);
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

static void test_invalidate(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule i]\ntable = app.orders\nkey = o:{user_id}\nmode = invalidate\nttl = 5\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    fl_value *a = fx_row(&f, V_INT(1), V_INT(10), V_NULL, V_ABSENT);
    fl_value *b = fx_row(&f, V_INT(1), V_INT(11), V_NULL, V_ABSENT);
    fl_value *d = fx_row(&f, V_INT(1), V_INT(11), V_DEC("1"), V_ABSENT);
    fx_change(&f, FL_OP_INSERT, 1, NULL, a);
    fx_change(&f, FL_OP_UPDATE, 1, a, b);
    fx_change(&f, FL_OP_UPDATE, 1, b, d);
    fx_change(&f, FL_OP_DELETE, 1, d, NULL);
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[256];
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), 0);
    assert_int_equal(ops.nops, 5);
    expect_del(&ops.ops[0], "o:10");
    expect_del(&ops.ops[1], "o:10");
    expect_del(&ops.ops[2], "o:11");
    expect_del(&ops.ops[3], "o:11");
    expect_del(&ops.ops[4], "o:11");
    for (int i = 0; i < 5; i++) assert_int_equal(ops.ops[i].ttl, 0);
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

static void test_several_rules_one_table(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule a]\ntable = app.users\nkey = a:{id}\ncolumns = id\n"
                              "[rule b]\ntable = app.users\nkey = b:{name}\nmode = invalidate\n"
                              "[rule o]\ntable = app.orders\nkey = o:{id}\n");
    fl_rules *r = rules_of(c);
    assert_int_equal(fl_rules_count(r), 3);
    assert_string_equal(fl_rules_config(r, 1)->name, "b");
    assert_null(fl_rules_config(r, 3));
    fixture f;
    fx_init(&f);
    fx_change(&f, FL_OP_INSERT, 0, NULL, fx_row(&f, V_INT(4), V_STR("d"), V_NULL, V_NULL));
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[256];
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), 0);
    assert_int_equal(ops.nops, 2);
    expect_set(&ops.ops[0], "a:4", "{\"id\":4}", 0);
    expect_del(&ops.ops[1], "b:d");
    assert_int_equal(ops.rows_matched, 1);
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

static void test_null_key_stop_and_skip(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule n]\ntable = app.users\nkey = n:{email}\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    fx_change(&f, FL_OP_INSERT, 0, NULL, fx_row(&f, V_INT(1), V_STR("a"), V_STR("a@x"), V_NULL));
    fx_change(&f, FL_OP_INSERT, 0, NULL, fx_row(&f, V_INT(2), V_STR("b"), V_NULL, V_NULL));
    fx_change(&f, FL_OP_DELETE, 0, fx_row(&f, V_INT(3), V_ABSENT, V_ABSENT, V_ABSENT), NULL);
    fx_change(&f, FL_OP_INSERT, 0, NULL, fx_row(&f, V_INT(4), V_STR("d"), V_STR("d@x"), V_NULL));
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[256] = "";
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), -1);
    assert_string_equal(err, "gtid 0-1-42: app.users: rule n: key column `email` is NULL");

    fl_cache_ops_reset(&ops);
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_SKIP, &ops, err, sizeof err), 0);
    assert_int_equal(ops.nops, 2);
    expect_set(&ops.ops[0], "n:a@x", "{\"id\":1,\"name\":\"a\",\"email\":\"a@x\",\"score\":null}", 0);
    expect_set(&ops.ops[1], "n:d@x", "{\"id\":4,\"name\":\"d\",\"email\":\"d@x\",\"score\":null}", 0);
    assert_int_equal(ops.rows_failed, 2);
    assert_int_equal(ops.rows_matched, 4);

    /* the delete alone, with stop: the absent column is named */
    f.changes[0] = f.changes[2];
    f.txn.nchanges = 1;
    fl_cache_ops_reset(&ops);
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), -1);
    assert_string_equal(err, "gtid 0-1-42: app.users: rule n: key column `email` is absent from the row image");
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

/* on_error = skip: an update whose new key cannot be rendered still deletes the old key */
static void test_skip_new_key_null_deletes_old_key(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule n]\ntable = app.users\nkey = n:{email}\n[rule i]\ntable = app.users\n"
                              "key = i:{email}\nmode = invalidate\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    fx_change(&f, FL_OP_UPDATE, 0, fx_row(&f, V_INT(1), V_STR("a"), V_STR("a@x"), V_NULL),
              fx_row(&f, V_INT(1), V_STR("a"), V_NULL, V_NULL));
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[256] = "";
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_SKIP, &ops, err, sizeof err), 0);
    assert_int_equal(ops.nops, 2);
    expect_del(&ops.ops[0], "n:a@x");
    expect_del(&ops.ops[1], "i:a@x");
    assert_int_equal(ops.rows_failed, 1);

    fl_cache_ops_reset(&ops);
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), -1);
    assert_string_equal(err, "gtid 0-1-42: app.users: rule n: key column `email` is NULL");
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

/* statement-based changes: a rule table's (or one that cannot be told) follows on_error;
 * another table's is a skipped change; XA COMMIT is nothing */
static void test_statement_changes(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule u]\ntable = app.users\nkey = u:{id}\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    static const char *const sqls[] = {"XA COMMIT 'x'", "INSERT INTO orders VALUES (1)",
                                       "UPDATE `app`.users SET name = 'x'",
                                       "UPDATE users u JOIN orders o SET x = 1"};
    for (int i = 0; i < 4; i++) {
        fl_change *ch = &f.changes[f.txn.nchanges++];
        memset(ch, 0, sizeof *ch);
        ch->op = FL_OP_STATEMENT;
        ch->db = "app";
        ch->sql = sqls[i];
        ch->sql_len = (uint32_t)strlen(sqls[i]);
    }
    assert_false(fl_rules_statement_applies(r, &f.changes[0]));
    assert_false(fl_rules_statement_applies(r, &f.changes[1]));
    assert_true(fl_rules_statement_applies(r, &f.changes[2]));
    assert_true(fl_rules_statement_applies(r, &f.changes[3]));
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[512] = "";
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), -1);
    assert_string_equal(err,
                        "gtid 0-1-42: statement-based change, which no cache can apply: UPDATE `app`.users SET "
                        "name = 'x' (set binlog_format = ROW on the source; with on_error = skip it is skipped "
                        "and counted)");
    fl_cache_ops_reset(&ops);
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_SKIP, &ops, err, sizeof err), 0);
    assert_int_equal(ops.nops, 0);
    assert_int_equal(ops.statements_skipped, 2);
    assert_int_equal(ops.rows_skipped, 1);
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

/* a value built from a column whose new value is not known is never written: the key goes */
static void test_unknown_values_invalidate(void **state)
{
    (void)state;
    fl_config *c = load(APPLY
                        "[rule j]\ntable = app.users\nkey = j:{id}\n[rule h]\ntable = app.users\nkey = h:{id}\n"
                        "format = hash\n[rule c]\ntable = app.users\nkey = c:{id}\nformat = column:name\n"
                        "[rule p]\ntable = app.users\nkey = p:{id}\ncolumns = id, name\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    fl_value unknown = {.type = FL_VAL_UNKNOWN};
    /* binlog_row_image = minimal: before has the key, after the changed column */
    fx_change(&f, FL_OP_UPDATE, 0, fx_row(&f, V_INT(8), V_ABSENT, V_ABSENT, V_ABSENT),
              fx_row(&f, V_ABSENT, V_STR("new"), V_ABSENT, V_ABSENT));
    /* a partial JSON update against a minimal before image */
    fx_change(&f, FL_OP_UPDATE, 0, fx_row(&f, V_INT(9), V_ABSENT, V_ABSENT, V_ABSENT),
              fx_row(&f, V_ABSENT, V_STR("n9"), unknown, V_ABSENT));
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[256];
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), 0);
    assert_int_equal(ops.nops, 8);
    expect_del(&ops.ops[0], "j:8");
    expect_del(&ops.ops[1], "h:8");
    expect_set(&ops.ops[2], "c:8", "new", 0);
    expect_set(&ops.ops[3], "p:8", "{\"id\":8,\"name\":\"new\"}", 0);
    expect_del(&ops.ops[4], "j:9");
    expect_del(&ops.ops[5], "h:9");
    expect_set(&ops.ops[6], "c:9", "n9", 0);
    expect_set(&ops.ops[7], "p:9", "{\"id\":9,\"name\":\"n9\"}", 0);
    assert_int_equal(ops.values_unknown, 4);
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

static void add_ddl(fixture *f, const char *db, const char *sql)
{
    fl_change *ch = &f->changes[f->txn.nchanges++];
    memset(ch, 0, sizeof *ch);
    ch->op = FL_OP_DDL;
    ch->db = db;
    ch->sql = sql;
    ch->sql_len = (uint32_t)strlen(sql);
}

/* before a rebuild: every rule's keys by pattern; a template without literal text is left out */
static void test_clear_all(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule u]\ntable = app.users\nkey = u:{id}\n[rule bare]\ntable = app.users\n"
                              "key = {id}\n[rule o]\ntable = app.orders\nkey = o?{id}\n");
    fl_rules *r = rules_of(c);
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    assert_int_equal(fl_rules_clear_all(r, &ops, "rebuild"), 1);
    assert_int_equal(ops.nops, 2);
    static const char *const want[] = {"u:*", "o\\?*"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ops.ops[i].kind, FL_CACHE_DEL_MATCH);
        char *k = strndup(ops.ops[i].key, ops.ops[i].key_len);
        assert_string_equal(k, want[i]);
        free(k);
    }
    assert_string_equal(ops.ops[0].rule, "rule u (rebuild)");
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

/* TRUNCATE, DROP TABLE and RENAME TABLE of a rule's table delete its keys by pattern */
static void test_ddl_clears_rule_keys(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule u]\ntable = app.users\nkey = u:{id}:{name}!\n[rule g]\ntable = app.users\n"
                              "key = g*[{{{id}}}]?\n[rule o]\ntable = app.orders\nkey = o:{id}\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    add_ddl(&f, "app", "TRUNCATE TABLE users");
    add_ddl(&f, "other", "DROP TABLE IF EXISTS app.logs, `app`.`orders` /* generated by server */");
    add_ddl(&f, "app", "RENAME TABLE x TO users");
    add_ddl(&f, "app", "ALTER TABLE users ADD COLUMN z INT");
    add_ddl(&f, "app", "CREATE TABLE users2 (id INT)");
    add_ddl(&f, "", "DROP DATABASE app");
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[512];
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), 0);
    assert_int_equal(ops.nops, 8);
    static const char *const want[] = {"u:*:*!", "g\\*\\[{*}\\]\\?", "o:*", "u:*:*!", "g\\*\\[{*}\\]\\?",
                                       "u:*:*!", "g\\*\\[{*}\\]\\?", "o:*"};
    for (int i = 0; i < 8; i++) {
        assert_int_equal(ops.ops[i].kind, FL_CACHE_DEL_MATCH);
        char *k = strndup(ops.ops[i].key, ops.ops[i].key_len);
        assert_string_equal(k, want[i]);
        free(k);
    }
    assert_non_null(strstr(ops.ops[0].rule, "rule u (TRUNCATE of app.users at gtid 0-1-42)"));
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);

    /* a template without literal text: its keys cannot be told from others */
    c = load(APPLY "[rule bare]\ntable = app.users\nkey = {id}\n");
    r = rules_of(c);
    fx_init(&f);
    add_ddl(&f, "app", "TRUNCATE users");
    fl_cache_ops_init(&ops);
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), -1);
    assert_non_null(
        strstr(err, "gtid 0-1-42: TRUNCATE of app.users: rule bare: key template '{id}' has no literal text"));
    fl_cache_ops_reset(&ops);
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_SKIP, &ops, err, sizeof err), 0);
    assert_int_equal(ops.nops, 0);
    assert_int_equal(ops.ddl_failed, 1);
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

/* after an ALTER drops or renames a column a rule projects, the rule fails by on_error naming it */
static void test_projected_column_gone(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule p]\ntable = app.users\nkey = p:{id}\ncolumns = id, nick\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    fx_change(&f, FL_OP_UPDATE, 0, fx_row(&f, V_INT(1), V_STR("a"), V_NULL, V_NULL),
              fx_row(&f, V_INT(1), V_STR("b"), V_NULL, V_NULL));
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[512];
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), -1);
    assert_string_equal(err,
                        "gtid 0-1-42: app.users: rule p: projected column `nick` does not exist in app.users");
    fl_cache_ops_reset(&ops);
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_SKIP, &ops, err, sizeof err), 0);
    assert_int_equal(ops.nops, 1);
    expect_del(&ops.ops[0], "p:1");
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

/* binlog_row_image = minimal: the after image has the changed columns only */
static void test_minimal_update_uses_before_image(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule m]\ntable = app.users\nkey = m:{id}\ncolumns = id,name\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    fx_change(&f, FL_OP_UPDATE, 0, fx_row(&f, V_INT(8), V_ABSENT, V_ABSENT, V_ABSENT),
              fx_row(&f, V_ABSENT, V_STR("new"), V_ABSENT, V_ABSENT));
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[256];
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), 0);
    assert_int_equal(ops.nops, 1);
    expect_set(&ops.ops[0], "m:8", "{\"id\":8,\"name\":\"new\"}", 0);
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

static void test_unnamed_columns(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule x]\ntable = app.users\nkey = x:{@1}\nformat = hash\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    static const char *partial[] = {"id", NULL, NULL, "score"};
    f.tables[0].cols = partial;
    fx_change(&f, FL_OP_INSERT, 0, NULL, fx_row(&f, V_INT(3), V_STR("c"), V_NULL, V_INT(7)));
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[256];
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), 0);
    assert_int_equal(ops.nops, 1);
    assert_int_equal(ops.ops[0].nfields, 3);
    expect_field(&ops.ops[0], 0, "id", "3");
    expect_field(&ops.ops[0], 1, "@2", "c");
    expect_field(&ops.ops[0], 2, "score", "7");
    fl_cache_ops_free(&ops);
    fl_rules_free(r);

    /* json names unnamed columns @N too */
    fl_config_free(c);
    c = load(APPLY "[rule x]\ntable = app.users\nkey = x:{id}\n");
    r = rules_of(c);
    fl_cache_ops_init(&ops);
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), 0);
    expect_set(&ops.ops[0], "x:3", "{\"id\":3,\"@2\":\"c\",\"@3\":null,\"score\":7}", 0);
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

/* Renders one insert into table t (of f) and returns the SET's value (static buffer). */
static const char *render_one(fl_rules *r, fixture *f, uint32_t t)
{
    static char value[256];
    f->txn.nchanges = 0;
    f->nrows = 0;
    fx_change(f, FL_OP_INSERT, t, NULL, fx_row(f, V_INT(5), V_STR("e"), V_NULL, V_INT(9)));
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[256];
    assert_int_equal(fl_rules_render(r, &f->txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), 0);
    value[0] = 0;
    if (ops.nops == 1 && ops.ops[0].kind == FL_CACHE_SET)
        snprintf(value, sizeof value, "%.*s", (int)ops.ops[0].value_len, ops.ops[0].value);
    fl_cache_ops_free(&ops);
    return value;
}

/* Bindings are kept from transaction to transaction, but only for the same definition: a
 * table met again with other column names (an ALTER between the transactions), or with
 * names missing, is bound again; one met again in other memory is the same; so is one met
 * after more definitions than are kept. */
static void test_bindings_follow_definitions(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule u]\ntable = app.users\nkey = u:{id}\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    assert_string_equal(render_one(r, &f, 0), "{\"id\":5,\"name\":\"e\",\"email\":null,\"score\":9}");
    static const char *renamed[] = {"id", "nick", "email", "score"};
    f.tables[0].cols = renamed;
    assert_string_equal(render_one(r, &f, 0), "{\"id\":5,\"nick\":\"e\",\"email\":null,\"score\":9}");
    static const char *unnamed[] = {"id", NULL, "email", "score"};
    f.tables[0].cols = unnamed;
    assert_string_equal(render_one(r, &f, 0), "{\"id\":5,\"@2\":\"e\",\"email\":null,\"score\":9}");
    char again[4][8] = {"id", "name", "email", "score"};
    const char *copy[] = {again[0], again[1], again[2], again[3]};
    f.tables[0].cols = copy;
    assert_string_equal(render_one(r, &f, 0), "{\"id\":5,\"name\":\"e\",\"email\":null,\"score\":9}");
    static const char *three[] = {"id", "name", "score"};
    f.tables[0].cols = three;
    f.tables[0].ncols = 3;
    f.txn.nchanges = 0;
    f.nrows = 0;
    fx_change(&f, FL_OP_INSERT, 0, NULL, fx_row(&f, V_INT(5), V_STR("e"), V_INT(9), V_NULL));
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[256];
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), 0);
    expect_set(&ops.ops[0], "u:5", "{\"id\":5,\"name\":\"e\",\"score\":9}", 0);
    fl_cache_ops_free(&ops);
    f.tables[0].cols = users_cols;
    f.tables[0].ncols = 4;
    char names[600][16];
    for (int i = 0; i < 600; i++) { /* more definitions than are kept, users between them */
        snprintf(names[i], sizeof names[i], "t%d", i);
        f.tables[2].name = names[i];
        assert_string_equal(render_one(r, &f, 2), "");
        if (i % 100 == 0)
            assert_string_equal(render_one(r, &f, 0), "{\"id\":5,\"name\":\"e\",\"email\":null,\"score\":9}");
    }
    f.tables[0].cols = renamed;
    assert_string_equal(render_one(r, &f, 0), "{\"id\":5,\"nick\":\"e\",\"email\":null,\"score\":9}");
    fl_rules_free(r);
    fl_config_free(c);
}

static void test_check_table(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule good]\ntable = app.orders\nkey = o:{id}\n"
                              "\n[rule bad]\ntable = app.users\nkey = u:{id}:{nick}\ncolumns = id, age\n"
                              "format = column:mail\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    char err[1024] = "";
    assert_int_equal(fl_rules_check_table(r, &f.tables[1], err, sizeof err), 0);
    assert_int_equal(fl_rules_check_table(r, &f.tables[2], err, sizeof err), 0); /* no rule */
    assert_int_equal(fl_rules_check_table(r, &f.tables[0], err, sizeof err), -1);
    assert_string_equal(err, "t.ini:10: [rule bad] key: unknown column `nick` in app.users\n"
                             "t.ini:11: [rule bad] columns: unknown column `age` in app.users\n"
                             "t.ini:8: [rule bad] format: unknown column `mail` in app.users");
    char again[1024] = "";
    assert_int_equal(fl_rules_check_table(r, &f.tables[0], again, sizeof again), -1);
    assert_string_equal(again, err);

    /* rendering a change of the bad table names the missing key column */
    fx_change(&f, FL_OP_INSERT, 0, NULL, fx_row(&f, V_INT(1), V_NULL, V_NULL, V_NULL));
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), -1);
    assert_string_equal(err, "gtid 0-1-42: app.users: rule bad: key column `nick` does not exist in app.users");
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

static void test_check_table_without_names(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule u]\ntable = app.users\nkey = u:{id}\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    static const char *none[] = {NULL, NULL, NULL, NULL};
    f.tables[0].cols = none;
    char err[1024];
    assert_int_equal(fl_rules_check_table(r, &f.tables[0], err, sizeof err), -1);
    assert_non_null(strstr(err, "t.ini:6: [rule u] key: unknown column `id` in app.users\n"));
    assert_non_null(strstr(err, "binlog_row_metadata = FULL"));
    fl_rules_free(r);
    fl_config_free(c);
}

/* Templates reach fl_rules_new unchecked when a config is built in code. */
static void test_template_errors(void **state)
{
    (void)state;
    fl_config_rule rules[4];
    memset(rules, 0, sizeof rules);
    const char *keys[] = {"a:{id", "a}:{id}", "a:{}", "ok:{{{id}}}"};
    for (int i = 0; i < 4; i++) {
        rules[i].name = (char *)(const char *[]){"r0", "r1", "r2", "r3"}[i];
        rules[i].db = "app";
        rules[i].table = "users";
        rules[i].key = (char *)keys[i];
        rules[i].line = 10 * (i + 1);
        rules[i].key_line = 10 * (i + 1) + 2;
    }
    fl_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.path = "/etc/x.ini";
    cfg.rules = rules;
    cfg.nrules = 4;
    char *errors = NULL;
    assert_null(fl_rules_new(&cfg, &errors));
    assert_non_null(errors);
    assert_string_equal(errors, "/etc/x.ini:12: [rule r0] key: template 'a:{id' has a '{' without its '}' (write "
                                "'{{' for a "
                                "literal brace)\n"
                                "/etc/x.ini:22: [rule r1] key: template 'a}:{id}' has a '}' without its '{' "
                                "(write '}}' for a "
                                "literal brace)\n"
                                "/etc/x.ini:32: [rule r2] key: template 'a:{}' has an empty placeholder '{}'");
    free(errors);

    /* "{{{id}}}" is a literal brace, the placeholder, a literal brace */
    cfg.rules = &rules[3];
    cfg.nrules = 1;
    fl_rules *r = fl_rules_new(&cfg, &errors);
    assert_non_null(r);
    fixture f;
    fx_init(&f);
    fx_change(&f, FL_OP_DELETE, 0, fx_row(&f, V_INT(12), V_NULL, V_NULL, V_NULL), NULL);
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[256];
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), 0);
    expect_del(&ops.ops[0], "ok:{12}");
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
}

static void test_anonymous_gtid_in_message(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule n]\ntable = app.users\nkey = n:{email}\n");
    fl_rules *r = rules_of(c);
    fixture f;
    fx_init(&f);
    memset(&f.txn.gtid, 0, sizeof f.txn.gtid);
    fx_change(&f, FL_OP_INSERT, 0, NULL, fx_row(&f, V_INT(2), V_STR("b"), V_NULL, V_NULL));
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[256];
    assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), -1);
    assert_string_equal(err, "gtid (none, seq 7): app.users: rule n: key column `email` is NULL");
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

/* A definition id (fl_table.def_id) stands for the definition: a table met again under its id
 * uses the bindings made for it; under a new id, or without one, the names decide. */
static void test_definition_ids(void **state)
{
    (void)state;
    fl_config *c = load(APPLY "[rule users]\ntable = app.users\nkey = user:{id}\ncolumns = id, name\n");
    fl_rules *r = rules_of(c);
    static const char *renamed[] = {"name", "id", "email", "score"}; /* the first two swapped */
    fl_cache_ops ops;
    fl_cache_ops_init(&ops);
    char err[256] = "";
    for (int round = 0; round < 4; round++) {
        fixture f;
        fx_init(&f);
        f.tables[0].def_id = round < 2 ? 11 : 12;                            /* rounds 0, 1: id 11; 2, 3: id 12 */
        if (round == 3) f.tables[0].cols = renamed, f.tables[0].def_id = 13; /* another definition */
        fl_value *a = fx_row(&f, V_INT(5), V_STR("eve"), V_NULL, V_NULL);
        fx_change(&f, FL_OP_INSERT, 0, NULL, a);
        assert_int_equal(fl_rules_check_table(r, &f.tables[0], err, sizeof err), 0);
        assert_int_equal(fl_rules_render(r, &f.txn, FL_ON_ERROR_STOP, &ops, err, sizeof err), 0);
        assert_int_equal(ops.nops, 1);
        if (round < 3)
            expect_set(&ops.ops[0], "user:5", "{\"id\":5,\"name\":\"eve\"}", 0);
        else /* id is the second column now, name the first */
            expect_set(&ops.ops[0], "user:eve", "{\"name\":5,\"id\":\"eve\"}", 0);
        fl_cache_ops_reset(&ops);
    }
    fl_cache_ops_free(&ops);
    fl_rules_free(r);
    fl_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_insert_update_delete),
        cmocka_unit_test(test_definition_ids),
        cmocka_unit_test(test_projection_and_ttl),
        cmocka_unit_test(test_snapshot_rows_as_inserts),
        cmocka_unit_test(test_hash_format),
        cmocka_unit_test(test_column_format),
        cmocka_unit_test(test_key_change_and_several_placeholders),
        cmocka_unit_test(test_invalidate),
        cmocka_unit_test(test_several_rules_one_table),
        cmocka_unit_test(test_null_key_stop_and_skip),
        cmocka_unit_test(test_skip_new_key_null_deletes_old_key),
        cmocka_unit_test(test_statement_changes),
        cmocka_unit_test(test_unknown_values_invalidate),
        cmocka_unit_test(test_ddl_clears_rule_keys),
        cmocka_unit_test(test_projected_column_gone),
        cmocka_unit_test(test_minimal_update_uses_before_image),
        cmocka_unit_test(test_unnamed_columns),
        cmocka_unit_test(test_bindings_follow_definitions),
        cmocka_unit_test(test_check_table),
        cmocka_unit_test(test_check_table_without_names),
        cmocka_unit_test(test_template_errors),
        cmocka_unit_test(test_anonymous_gtid_in_message),
        cmocka_unit_test(test_clear_all),
    };
    return cmocka_run_group_tests(tests, 0, NULL);
}
