/* test_snapshots.c — the index of complete snapshots: a run counts once its chunks 0..last
 * are all noted in order; a run whose start was purged or whose chunks skip one does not;
 * the latest complete run and the one before it are kept per table; batches of rows read again
 * by key are no part of a snapshot; a local journal's
 * snapshot records are found among ordinary transactions, and a scan goes on where it
 * stopped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "journal/snapshots.h"
#include "journal/store.h"
#include "tests/unit/helpers.h"

static void test_complete_runs(void **state)
{
    (void)state;
    fl_snapshots *x = fl_snapshots_new();
    uint64_t prev = 99;
    assert_int_equal(fl_snapshots_complete(x, "app", "items", &prev), 0);
    assert_int_equal(prev, 0);
    fl_snapshots_note(x, "app", "items", 0, false, 10);
    fl_snapshots_note(x, "app", "items", 1, false, 12);
    assert_true(fl_snapshots_running(x, "app", "items"));
    assert_int_equal(fl_snapshots_complete(x, "app", "items", NULL), 0);
    fl_snapshots_note(x, "app", "items", 2, true, 15);
    assert_false(fl_snapshots_running(x, "app", "items"));
    assert_int_equal(fl_snapshots_complete(x, "app", "items", &prev), 10);
    assert_int_equal(prev, 0);
    /* a second one: the first becomes the previous */
    fl_snapshots_note(x, "app", "items", 0, true, 30);
    assert_int_equal(fl_snapshots_complete(x, "app", "items", &prev), 30);
    assert_int_equal(prev, 10);
    /* another table is apart */
    assert_int_equal(fl_snapshots_complete(x, "app", "users", NULL), 0);
    assert_int_equal(fl_snapshots_tables(x), 1);
    const char *db, *t;
    fl_snapshots_table(x, 0, &db, &t);
    assert_string_equal(db, "app");
    assert_string_equal(t, "items");
    fl_snapshots_table(x, 1, &db, &t);
    assert_null(db);
    fl_snapshots_free(x);
    fl_snapshots_free(NULL);
}

static void test_partial_runs_do_not_count(void **state)
{
    (void)state;
    fl_snapshots *x = fl_snapshots_new();
    /* chunk 0 purged: the journal starts at chunk 3 */
    fl_snapshots_note(x, "app", "a", 3, false, 5);
    fl_snapshots_note(x, "app", "a", 4, true, 6);
    assert_int_equal(fl_snapshots_complete(x, "app", "a", NULL), 0);
    assert_false(fl_snapshots_running(x, "app", "a"));
    /* a chunk missing in the middle */
    fl_snapshots_note(x, "app", "b", 0, false, 7);
    fl_snapshots_note(x, "app", "b", 2, true, 9);
    assert_int_equal(fl_snapshots_complete(x, "app", "b", NULL), 0);
    /* a run started again from chunk 0 counts from its new start */
    fl_snapshots_note(x, "app", "b", 0, false, 20);
    fl_snapshots_note(x, "app", "b", 1, true, 21);
    assert_int_equal(fl_snapshots_complete(x, "app", "b", NULL), 20);
    assert_int_equal(fl_snapshots_tables(x), 1);
    fl_snapshots_free(x);
}

static void make_txn(fl_txn *t, uint64_t n, bool snapshot, uint64_t chunk, bool last);

/* a batch of rows read again by key (chunk 0, never last) is no part of a table's snapshot */
static void test_keyed_batches_ignored(void **state)
{
    (void)state;
    fl_snapshots *x = fl_snapshots_new();
    fl_txn t;
    fl_txn_init(&t);
    make_txn(&t, 1, true, 0, false);
    fl_snapshots_note_txn(x, &t);
    make_txn(&t, 2, true, 0, false);
    t.flags |= FL_TXN_SNAPSHOT_KEYS;
    fl_snapshots_note_txn(x, &t);
    make_txn(&t, 3, true, 1, true);
    fl_snapshots_note_txn(x, &t);
    assert_int_equal(fl_snapshots_complete(x, "app", "items", NULL), 1);
    make_txn(&t, 4, false, 0, false); /* not a snapshot at all */
    fl_snapshots_note_txn(x, &t);
    assert_int_equal(fl_snapshots_complete(x, "app", "items", NULL), 1);
    fl_txn_free(&t);
    fl_snapshots_free(x);
}

static void make_txn(fl_txn *t, uint64_t n, bool snapshot, uint64_t chunk, bool last)
{
    static const char *cols[] = {"id"};
    fl_txn_reset(t);
    t->gtid.flavor = FL_FLAVOR_MARIADB;
    t->gtid.server_id = 1;
    t->gtid.seq_no = n;
    t->ts = 1000 + n;
    t->seq = n; /* the store assigns its own when it is added */
    t->flags = FL_TXN_LAST_PART;
    uint32_t ti = fl_txn_table(t, "app", snapshot ? "items" : "other", 1, cols);
    fl_change *c = fl_txn_add_change(t, snapshot ? FL_OP_SNAPSHOT : FL_OP_INSERT);
    c->table = ti;
    c->after = fl_txn_values(t, 1);
    c->after[0].type = FL_VAL_INT;
    c->after[0].i = (int64_t)n;
    t->nrows = 1;
    if (snapshot) {
        t->flags |= FL_TXN_SNAPSHOT | (last ? FL_TXN_SNAPSHOT_LAST : 0);
        t->snapshot_table = ti;
        t->snapshot_chunk = chunk;
    }
}

static void test_scan_local_journal(void **state)
{
    (void)state;
    char tmp[256], dir[300], err[256] = "";
    assert_int_equal(th_tmpdir_make(tmp, sizeof tmp, "snapshots"), 0);
    snprintf(dir, sizeof dir, "%s/journal", tmp);
    fl_store_opts o = {.write = true};
    fl_store *s = fl_store_open(dir, &o, err, sizeof err);
    assert_non_null(s);
    fl_txn t;
    fl_txn_init(&t);
    /* seq 1: ordinary; 2: chunk 0; 3: ordinary; 4: chunk 1, the last */
    make_txn(&t, 1, false, 0, false);
    assert_int_equal(fl_store_add(s, &t, err, sizeof err), 0);
    make_txn(&t, 2, true, 0, false);
    assert_int_equal(fl_store_add(s, &t, err, sizeof err), 0);
    make_txn(&t, 3, false, 0, false);
    assert_int_equal(fl_store_add(s, &t, err, sizeof err), 0);
    assert_int_equal(fl_store_commit(s, NULL, err, sizeof err), 0);
    fl_snapshots *x = fl_snapshots_new();
    uint64_t next = 0;
    assert_int_equal(fl_snapshots_scan(x, s, 1, &next, err, sizeof err), 0);
    assert_int_equal(next, 4);
    assert_true(fl_snapshots_running(x, "app", "items"));
    assert_int_equal(fl_snapshots_complete(x, "app", "items", NULL), 0);
    make_txn(&t, 4, true, 1, true);
    assert_int_equal(fl_store_add(s, &t, err, sizeof err), 0);
    assert_int_equal(fl_store_commit(s, NULL, err, sizeof err), 0);
    assert_int_equal(fl_snapshots_scan(x, s, next, &next, err, sizeof err), 0); /* goes on */
    assert_int_equal(next, 5);
    assert_int_equal(fl_snapshots_complete(x, "app", "items", NULL), 2);
    assert_int_equal(fl_snapshots_complete(x, "app", "other", NULL), 0);
    assert_int_equal(fl_snapshots_scan(x, s, next, &next, err, sizeof err), 0); /* nothing new */
    assert_int_equal(next, 5);
    fl_snapshots_free(x);
    fl_txn_free(&t);
    fl_store_close(s);
    assert_int_equal(th_tmpdir_remove(tmp), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete_runs),
        cmocka_unit_test(test_partial_runs_do_not_count),
        cmocka_unit_test(test_scan_local_journal),
        cmocka_unit_test(test_keyed_batches_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
