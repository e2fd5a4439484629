/* test_retention.c — retention that keeps a rebuild possible: the latest complete snapshot of
 * a [snapshot] table holds the purge back (older records go, it stays) and its table is queued
 * to be snapshotted again; a table outside [snapshot] tables, or a snapshot never completed,
 * holds nothing back; without a snapshot driver retention purges as always. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fl-relay/retention.h"
#include "fl-relay/snapshot.h"
#include "journal/store.h"
#include "tests/unit/helpers.h"

static char tmp[256], jdir[300];

static int setup(void **state)
{
    (void)state;
    if (th_tmpdir_make(tmp, sizeof tmp, "retention")) return -1;
    snprintf(jdir, sizeof jdir, "%s/journal", tmp);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return th_tmpdir_remove(tmp);
}

/* Transaction n, an hour old: chunk `chunk` of a snapshot of app.TABLE (chunk < 0: an insert). */
static void add_txn(fl_store *s, uint64_t n, const char *table, int chunk, bool last)
{
    assert_int_equal(th_journal_add_row(s, n, table, chunk, last, (uint64_t)time(NULL) - 3600), 0);
}

static fl_config *config(const char *snapshot_tables)
{
    char text[1024], *errors = NULL;
    snprintf(text, sizeof text, "[journal]\npath = %s\nretain = 60\n[snapshot]\ntables = %s\n", jdir,
             snapshot_tables);
    fl_config *c = fl_config_load_string(text, strlen(text), "r.ini", &errors);
    if (!c) fail_msg("config: %s", errors);
    return c;
}

static uint64_t first_seq(fl_store *s)
{
    char err[256];
    fl_store_info info;
    assert_int_equal(fl_store_info_get(s, &info, err, sizeof err), 0);
    return info.first_seq;
}

static void test_last_snapshot_kept_and_taken_again(void **state)
{
    (void)state;
    char err[256] = "";
    fl_config *cfg = config("app.items");
    fl_store_opts o = {.write = true};
    fl_store *s = fl_store_open(jdir, &o, err, sizeof err);
    assert_non_null(s);
    add_txn(s, 1, "items", 0, false);
    add_txn(s, 2, "items", 1, true); /* complete: 1..2 */
    add_txn(s, 3, "items", -1, false);
    add_txn(s, 4, "items", 0, false);
    add_txn(s, 5, "items", 1, true); /* complete again: 4..5, the latest */
    add_txn(s, 6, "other", 0, true); /* not a [snapshot] table: nothing to keep */
    add_txn(s, 7, "items", -1, false);
    fl_snapshot *snap = fl_snapshot_new(cfg, s, false, err, sizeof err);
    assert_non_null(snap);
    fl_retention *rt = fl_retention_new(cfg);
    bool waiting = false;
    assert_int_equal(fl_retention_run(rt, s, snap, &waiting, err, sizeof err), 3); /* 1..3 */
    assert_int_equal(first_seq(s), 4);
    assert_true(waiting);
    assert_true(fl_snapshot_queued(snap, "app", "items"));
    assert_false(fl_snapshot_queued(snap, "app", "other"));
    /* while the new one is not complete, the latest complete one stays */
    assert_int_equal(fl_retention_run(rt, s, snap, &waiting, err, sizeof err), 0);
    assert_int_equal(first_seq(s), 4);
    assert_true(waiting);
    fl_retention_free(rt);
    fl_snapshot_free(snap);

    /* without a snapshot driver, retention purges as always */
    rt = fl_retention_new(cfg);
    assert_int_equal(fl_retention_run(rt, s, NULL, &waiting, err, sizeof err), 3); /* all but the last */
    assert_false(waiting);
    assert_int_equal(first_seq(s), 7);
    fl_retention_free(rt);
    fl_store_close(s);
    fl_config_free(cfg);
}

static void test_nothing_to_keep(void **state)
{
    (void)state;
    char err[256] = "";
    fl_config *cfg = config("shop.*");
    fl_store_opts o = {.write = true};
    fl_store *s = fl_store_open(jdir, &o, err, sizeof err);
    assert_non_null(s);
    add_txn(s, 1, "items", 0, true); /* outside [snapshot] tables */
    add_txn(s, 2, "items", -1, false);
    add_txn(s, 3, "items", -1, false);
    fl_snapshot *snap = fl_snapshot_new(cfg, s, false, err, sizeof err);
    fl_retention *rt = fl_retention_new(cfg);
    bool waiting = true;
    assert_int_equal(fl_retention_run(rt, s, snap, &waiting, err, sizeof err), 2);
    assert_false(waiting);
    assert_false(fl_snapshot_queued(snap, "app", "items"));
    fl_retention_free(rt);
    fl_snapshot_free(snap);
    fl_store_close(s);
    fl_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_last_snapshot_kept_and_taken_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_to_keep, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
