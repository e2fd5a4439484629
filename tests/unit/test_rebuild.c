/* test_rebuild.c — the rebuild point of a local journal: the earliest chunk 0 among the
 * latest complete snapshot of each rule table; a rule table without a complete snapshot is
 * named (each table once, however many rules use it); a scan goes on where it stopped, so a
 * snapshot completed after a request is found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fl-apply/input.h"
#include "fl-apply/rebuild.h"
#include "fl-apply/rules.h"
#include "journal/store.h"
#include "tests/unit/helpers.h"

static char tmp[256], jdir[300];

/* Transaction n: chunk `chunk` of a snapshot of app.TABLE (chunk < 0: an ordinary insert). */
static void add_txn(fl_store *s, uint64_t n, const char *table, int chunk, bool last)
{
    assert_int_equal(th_journal_add_row(s, n, table, chunk, last, 1000 + n), 0);
}

static void test_rebuild_point(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(th_tmpdir_make(tmp, sizeof tmp, "rebuild"), 0);
    snprintf(jdir, sizeof jdir, "%s/journal", tmp);
    fl_store_opts o = {.write = true};
    fl_store *s = fl_store_open(jdir, &o, err, sizeof err);
    assert_non_null(s);
    add_txn(s, 1, "items", 0, true); /* an older complete snapshot of items */
    add_txn(s, 2, "users", -1, false);
    add_txn(s, 3, "users", 0, false); /* users: chunks 0, 1 (last) at 3 and 5 */
    add_txn(s, 4, "items", 0, false); /* items again: 4, 6 */
    add_txn(s, 5, "users", 1, true);
    add_txn(s, 6, "items", 1, true);
    add_txn(s, 7, "orders", 0, false); /* orders: not complete yet */

    const char *ini = "[apply]\njournal = /tmp/j\ntarget = redis://127.0.0.1:6379/0\n"
                      "[rule a]\ntable = app.items\nkey = i:{id}\n[rule b]\ntable = app.users\nkey = u:{id}\n"
                      "[rule c]\ntable = app.items\nkey = j:{id}\n[rule d]\ntable = app.orders\nkey = o:{id}\n";
    char *errors = NULL;
    fl_config *cfg = fl_config_load_string(ini, strlen(ini), "t.ini", &errors);
    assert_non_null(cfg);
    fl_rules *rules = fl_rules_new(cfg, &errors);
    assert_non_null(rules);
    fl_config_apply in_cfg = {.journal = jdir};
    fl_input *in = fl_input_open(&in_cfg, NULL, err, sizeof err);
    assert_non_null(in);

    fl_rebuild *rb = fl_rebuild_new(rules);
    assert_int_equal(fl_rebuild_tables(rb), 3); /* app.items once */
    fl_rebuild_reset(rb, 1);
    fl_error e;
    assert_int_equal(fl_rebuild_scan(rb, in, &e), 0);
    uint64_t from = 99, seq;
    fl_buf missing = {0};
    assert_int_equal(fl_rebuild_start(rb, &from, &missing), 1);
    assert_string_equal(fl_buf_cstr(&missing), "app.orders");
    assert_string_equal(fl_rebuild_table(rb, 0, &seq), "app.items");
    assert_int_equal(seq, 4); /* the latest complete one */

    add_txn(s, 8, "orders", 1, true); /* the requested snapshot completes */
    assert_int_equal(fl_rebuild_scan(rb, in, &e), 0);
    assert_int_equal(fl_rebuild_start(rb, &from, &missing), 0);
    assert_int_equal(from, 3); /* users' chunk 0: the earliest of the three */
    assert_int_equal(missing.len, 0);
    assert_string_equal(fl_rebuild_table(rb, 2, &seq), "app.orders");
    assert_int_equal(seq, 7);

    fl_rebuild_reset(rb, 5); /* a journal whose first seq is 5: users' and items' starts are gone */
    assert_int_equal(fl_rebuild_scan(rb, in, &e), 0);
    assert_int_equal(fl_rebuild_start(rb, &from, &missing), 1);
    assert_string_equal(fl_buf_cstr(&missing), "app.items,app.users");

    fl_buf_free(&missing);
    fl_rebuild_free(rb);
    fl_rebuild_free(NULL);
    fl_input_close(in);
    fl_rules_free(rules);
    fl_config_free(cfg);
    fl_store_close(s);
    assert_int_equal(th_tmpdir_remove(tmp), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_rebuild_point)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
