/* test_input.c — the applier's input over a local journal: bounds, next over gaps (never over a purge), reading a
 * transaction split in parts, GTID lookup, waking on a commit (watched from the first arm on), a replaced journal
 * noticed before waiting, and the errors it reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#include "fl-apply/input.h"
#include "common/clock.h"
#include "journal/store.h"
#include "tests/unit/helpers.h"

static char tmpdir[256];
static char jdir[300];

static int setup(void **state)
{
    (void)state;
    if (th_tmpdir_make(tmpdir, sizeof tmpdir, "input")) return -1;
    snprintf(jdir, sizeof jdir, "%s/journal", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return th_tmpdir_remove(tmpdir);
}

static fl_store *open_writer(void)
{
    char err[256];
    fl_store_opts o = {.write = true, .sync = false};
    fl_store *s = fl_store_open(jdir, &o, err, sizeof err);
    assert_non_null(s);
    return s;
}

/* Appends one transaction (GTID 0-1-gno) with `rows` inserts into app.t, in `parts` parts. */
static void add_txn(fl_store *s, uint64_t gno, int rows, int parts)
{
    static const char *const cols[] = {"id", "v"};
    char err[256];
    fl_txn t;
    fl_txn_init(&t);
    for (int p = 0; p < parts; p++) {
        fl_txn_reset(&t);
        t.gtid.flavor = FL_FLAVOR_MARIADB;
        t.gtid.server_id = 1;
        t.gtid.seq_no = gno;
        t.ts = 1700000000 + gno;
        t.server_id = 1;
        t.file = "bin.000001";
        t.pos = 4 + gno;
        t.part = (uint32_t)p;
        t.flags = p == parts - 1 ? FL_TXN_LAST_PART : 0;
        uint32_t ti = fl_txn_table(&t, "app", "t", 2, cols);
        for (int r = 0; r < rows; r++) {
            fl_change *c = fl_txn_add_change(&t, FL_OP_INSERT);
            c->table = ti;
            c->after = fl_txn_values(&t, 2);
            c->after[0].type = FL_VAL_INT;
            c->after[0].i = p * 1000 + r;
            c->after[1].type = FL_VAL_INT;
            c->after[1].i = (int64_t)gno;
            t.nrows++;
        }
        assert_int_equal(fl_store_add(s, &t, err, sizeof err), 0);
    }
    assert_int_equal(fl_store_commit(s, NULL, err, sizeof err), 0);
    fl_txn_free(&t);
}

static fl_input *open_input(void)
{
    fl_config_apply cfg = {.journal = jdir};
    char err[256];
    fl_input *in = fl_input_open(&cfg, NULL, err, sizeof err);
    assert_non_null(in);
    return in;
}

typedef struct seen {
    int parts, rows;
    char gtid[FL_GTID_TEXT_MAX];
    int stop_after; /* return 7 after this many parts (0 = never) */
} seen;

static int count_part(const fl_txn *part, void *ctx)
{
    seen *s = ctx;
    s->parts++;
    s->rows += (int)part->nrows;
    fl_gtid_format(&part->gtid, s->gtid, sizeof s->gtid);
    return s->stop_after && s->parts == s->stop_after ? 7 : 0;
}

static void test_missing_journal(void **state)
{
    (void)state;
    fl_config_apply cfg = {.journal = "/nonexistent/fastlane-journal"};
    char err[256] = "";
    assert_null(fl_input_open(&cfg, NULL, err, sizeof err));
    assert_non_null(strstr(err, "journal /nonexistent/fastlane-journal: "));
    fl_config_apply none = {0};
    assert_null(fl_input_open(&none, NULL, err, sizeof err));
    assert_non_null(strstr(err, "journal = PATH or relay = host:port"));
}

static void test_bounds_next_read(void **state)
{
    (void)state;
    fl_store *w = open_writer();
    add_txn(w, 10, 3, 1);
    add_txn(w, 11, 5, 3); /* one transaction in three parts */
    add_txn(w, 12, 1, 1);
    fl_input *in = open_input();
    assert_string_equal(fl_input_name(in), jdir);

    fl_error fe;
    fl_input_head h;
    assert_int_equal(fl_input_bounds(in, &h, &fe), 0);
    assert_int_equal(h.count, 3);
    assert_int_equal(h.first_seq, 1);
    assert_int_equal(h.last_seq, 3);
    assert_int_equal(h.last_ts, 1700000012);
    assert_string_equal(h.last_gtid, "0-1-12");

    uint64_t seq = 0;
    assert_int_equal(fl_input_next(in, 1, &seq, &fe), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(fl_input_next(in, 2, &seq, &fe), 0);
    assert_int_equal(seq, 2);
    seen s = {0};
    assert_int_equal(fl_input_read(in, 2, count_part, &s, &fe), 0);
    assert_int_equal(s.parts, 3);
    assert_int_equal(s.rows, 15);
    assert_string_equal(s.gtid, "0-1-11");
    /* the callback's own result stops the reading and comes back */
    seen stop = {.stop_after = 2};
    assert_int_equal(fl_input_read(in, 2, count_part, &stop, &fe), 7);
    assert_int_equal(stop.parts, 2);
    /* past the end: nothing yet */
    assert_int_equal(fl_input_next(in, 4, &seq, &fe), 1);

    uint64_t found = 0;
    assert_int_equal(fl_input_seek_gtid(in, "0-1-12", &found, &fe), 0);
    assert_int_equal(found, 3);
    assert_int_equal(fl_input_seek_gtid(in, "0-1-99", &found, &fe), 1);
    assert_int_equal(fl_input_seek_gtid(in, "not a gtid", &found, &fe), -1);
    assert_int_equal(fe.permanent, 1);
    assert_non_null(strstr(fe.msg, "'not a gtid' is not a GTID"));

    fl_input_close(in);
    fl_store_close(w);
}

/* A purge under a reader that had not got there is refused, naming the seqs lost; reading
 * from the journal's first transaction (from = 0) is not. */
static void test_next_refuses_purged(void **state)
{
    (void)state;
    fl_store *w = open_writer();
    for (uint64_t g = 1; g <= 5; g++) add_txn(w, g, 1, 1);
    char err[256];
    /* everything older than now goes, except the last transaction */
    assert_int_equal(fl_store_purge(w, 1, 0, err, sizeof err), 4);
    fl_input *in = open_input();
    fl_error fe;
    fl_input_head h;
    assert_int_equal(fl_input_bounds(in, &h, &fe), 0);
    assert_int_equal(h.first_seq, 5);
    assert_int_equal(h.purged_seq, 4);
    uint64_t seq = 0;
    assert_int_equal(fl_input_next(in, 2, &seq, &fe), FL_INPUT_PURGED);
    assert_non_null(strstr(fe.msg, "seqs 2..4 were purged by retention before they were applied"));
    assert_int_equal(fl_input_next(in, 4, &seq, &fe), FL_INPUT_PURGED);
    assert_non_null(strstr(fe.msg, "seq 4 was purged"));
    assert_int_equal(fl_input_next(in, 5, &seq, &fe), 0);
    assert_int_equal(seq, 5);
    assert_int_equal(fl_input_next(in, 0, &seq, &fe), 0);
    assert_int_equal(seq, 5);
    fl_input_close(in);
    fl_store_close(w);
}

/* A seq that was never used (an unfinished transaction removed at reopen) is passed over,
 * also after retention purged what came before it. */
static void test_next_passes_gaps(void **state)
{
    (void)state;
    char err[256];
    fl_store *w = open_writer();
    add_txn(w, 1, 1, 1);
    add_txn(w, 2, 1, 1);
    fl_txn t;
    fl_txn_init(&t);
    t.gtid.flavor = FL_FLAVOR_MARIADB;
    t.gtid.server_id = 1;
    t.gtid.seq_no = 3;
    t.file = "bin.000001";
    assert_int_equal(fl_store_add(w, &t, err, sizeof err), 0); /* part 0 of seq 3, never finished */
    assert_int_equal(fl_store_commit(w, NULL, err, sizeof err), 0);
    fl_txn_free(&t);
    fl_store_close(w);
    w = open_writer(); /* removes seq 3 */
    add_txn(w, 4, 1, 1);
    add_txn(w, 5, 1, 1);
    fl_input *in = open_input();
    fl_error fe;
    uint64_t seq = 0;
    assert_int_equal(fl_input_next(in, 3, &seq, &fe), 0);
    assert_int_equal(seq, 4);
    /* seqs 1 and 2 purged (by size: two and a half records stay): 3 is still a gap above the
     * horizon */
    fl_store_info info;
    assert_int_equal(fl_store_info_get(w, &info, err, sizeof err), 0);
    assert_int_equal(fl_store_purge(w, 0, info.bytes * 5 / 8, err, sizeof err), 2);
    assert_int_equal(fl_input_next(in, 3, &seq, &fe), 0);
    assert_int_equal(seq, 4);
    assert_int_equal(fl_input_next(in, 2, &seq, &fe), FL_INPUT_PURGED);
    fl_input_close(in);
    fl_store_close(w);
}

/* scan_flagged: only the transactions carrying the flag, every part of each, within [from, to] */
static void test_scan_flagged(void **state)
{
    (void)state;
    fl_store *w = open_writer();
    for (uint64_t g = 1; g <= 6; g++) add_txn(w, g, 2, g == 4 ? 3 : 1);
    fl_store_close(w);
    fl_input *in = open_input();
    fl_error fe;
    seen all = {0};
    assert_int_equal(fl_input_scan_flagged(in, 1, 6, FL_TXN_LAST_PART, count_part, &all, &fe), 0);
    assert_int_equal(all.parts, 8); /* 5 one-part transactions and the 3 parts of seq 4 */
    assert_int_equal(all.rows, 16);
    seen some = {0};
    assert_int_equal(fl_input_scan_flagged(in, 2, 4, FL_TXN_LAST_PART, count_part, &some, &fe), 0);
    assert_int_equal(some.parts, 5);
    assert_string_equal(some.gtid, "0-1-4");
    seen none = {0};
    assert_int_equal(fl_input_scan_flagged(in, 1, 6, FL_TXN_STATEMENT, count_part, &none, &fe), 0);
    assert_int_equal(none.parts, 0);
    seen past = {0};
    assert_int_equal(fl_input_scan_flagged(in, 7, 100, FL_TXN_LAST_PART, count_part, &past, &fe), 0);
    assert_int_equal(past.parts, 0);
    fl_input_close(in);
}

static void test_wait_wakes_on_commit(void **state)
{
    (void)state;
    fl_store *w = open_writer();
    add_txn(w, 1, 1, 1);
    fl_input *in = open_input();
    fl_error fe;
    uint64_t seq;

    /* nothing new: the wait lasts its timeout */
    fl_input_arm(in);
    assert_int_equal(fl_input_next(in, 2, &seq, &fe), 1);
    int64_t t0 = fl_now_ms();
    fl_input_wait(in, 2, 300);
    assert_true(fl_now_ms() - t0 >= 250);

    /* a commit after arming ends the wait at once */
    fl_input_arm(in);
    assert_int_equal(fl_input_next(in, 2, &seq, &fe), 1);
    add_txn(w, 2, 1, 1);
    t0 = fl_now_ms();
    fl_input_wait(in, 2, 5000);
    assert_true(fl_now_ms() - t0 < 1000);
    assert_int_equal(fl_input_next(in, 2, &seq, &fe), 0);
    assert_int_equal(seq, 2);
    fl_input_close(in);
    fl_store_close(w);
}

/* The inotify instances this process holds. */
static int inotify_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        char path[300], target[64];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(path, target, sizeof target - 1);
        if (len > 0) {
            target[len] = 0;
            n += strcmp(target, "anon_inode:inotify") == 0;
        }
    }
    closedir(d);
    return n;
}

/* A reader that never waits (fl-apply --once) makes no inotify instance: closing one takes
 * the kernel tens of milliseconds. The first arm makes it, before the last look. */
static void test_watch_made_when_armed(void **state)
{
    (void)state;
    fl_store *w = open_writer();
    add_txn(w, 1, 1, 1);
    int before = inotify_fds();
    fl_input *in = open_input();
    fl_error fe;
    uint64_t seq;
    assert_int_equal(fl_input_next(in, 1, &seq, &fe), 0);
    assert_int_equal(fl_input_next(in, 2, &seq, &fe), 1);
    assert_int_equal(inotify_fds(), before);
    fl_input_arm(in);
    assert_int_equal(inotify_fds(), before + 1);
    add_txn(w, 2, 1, 1); /* committed after arming: the wait ends at once */
    fl_input_wait(in, 2, 60000);
    assert_int_equal(fl_input_next(in, 2, &seq, &fe), 0);
    fl_input_close(in);
    assert_int_equal(inotify_fds(), before);
    fl_store_close(w);
}

/* A journal directory replaced under the reader is noticed when the reader, caught up,
 * looks again before it waits; the look right after a transaction was read makes no check
 * (a stat of the path there delayed every transaction of a quiet stream on its way to the
 * target). (Fails when every look that finds nothing checks: the first says replaced.) */
static void test_replaced_seen_before_waiting(void **state)
{
    (void)state;
    fl_store *w = open_writer();
    add_txn(w, 1, 1, 1);
    fl_input *in = open_input();
    fl_error fe;
    uint64_t seq;
    assert_int_equal(fl_input_next(in, 1, &seq, &fe), 0);
    fl_store_close(w);
    char moved[400];
    snprintf(moved, sizeof moved, "%s/old", tmpdir);
    assert_int_equal(rename(jdir, moved), 0);
    w = open_writer(); /* a new journal at the path */
    add_txn(w, 1, 1, 1);
    assert_int_equal(fl_input_next(in, 2, &seq, &fe), 1);                 /* right after the read: no check */
    assert_int_equal(fl_input_next(in, 2, &seq, &fe), FL_INPUT_REPLACED); /* before the wait */
    assert_non_null(strstr(fe.msg, "replaced"));
    assert_int_equal(fl_input_next(in, 1, &seq, &fe), 0); /* the new journal's */
    assert_int_equal(seq, 1);
    fl_input_close(in);
    fl_store_close(w);
}

static void test_relay_unreachable(void **state)
{
    (void)state;
    fl_config_apply cfg = {.relay = "127.0.0.1:1", .secret = "s"};
    char err[256];
    fl_input *in = fl_input_open(&cfg, NULL, err, sizeof err);
    assert_non_null(in);
    assert_string_equal(fl_input_name(in), "127.0.0.1:1");
    fl_error fe;
    uint64_t seq;
    assert_int_equal(fl_input_next(in, 1, &seq, &fe), -1);
    assert_int_equal(fe.permanent, 0); /* a relay that is down is retried */
    assert_non_null(strstr(fe.msg, "127.0.0.1:1"));
    fl_input_head h;
    assert_int_equal(fl_input_bounds(in, &h, &fe), -1);
    assert_int_equal(fe.permanent, 0);
    fl_input_close(in);

    fl_config_apply bad = {.relay = "no-port-here", .secret = "s"};
    in = fl_input_open(&bad, NULL, err, sizeof err);
    assert_non_null(in);
    assert_int_equal(fl_input_next(in, 1, &seq, &fe), -1);
    assert_int_equal(fe.permanent, 1); /* a malformed address never gets better */
    fl_input_close(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_journal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounds_next_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_refuses_purged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_passes_gaps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_flagged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_wakes_on_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_made_when_armed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replaced_seen_before_waiting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relay_unreachable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
