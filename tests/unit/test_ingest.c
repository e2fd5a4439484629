/* test_ingest.c — binlog files into a journal: transactions and the stored position, re-runs
 * that append nothing (with and without GTIDs, and a file that grew), errors that keep the
 * complete transactions before them, files without the binlog magic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/log.h"
#include "fl-relay/ingest.h"
#include "journal/store.h"
#include "tests/unit/binlog_events.h"
#include "tests/unit/helpers.h"

typedef struct fixture {
    char dir[64];
    char journal[96];
    char file1[96], file2[96];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_int_equal(th_tmpdir_make(f->dir, sizeof f->dir, "ingest"), 0);
    snprintf(f->journal, sizeof f->journal, "%s/journal", f->dir);
    snprintf(f->file1, sizeof f->file1, "%s/bin.000001", f->dir);
    snprintf(f->file2, sizeof f->file2, "%s/bin.000002", f->dir);
    fl_log_set_level(FL_LOG_ERROR);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    assert_int_equal(th_tmpdir_remove(f->dir), 0);
    free(f);
    return 0;
}

static void write_file(const char *path, const bl_stream *s, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite("\xfe"
                            "bin",
                            1, 4, fp),
                     4);
    assert_int_equal(fwrite(s->buf.data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static int ingest(fixture *f, const char *a, const char *b)
{
    const char *files[2] = {a, b};
    fl_config_journal jo = {.sync = false};
    return fl_ingest_files(f->journal, files, b ? 2 : 1, NULL, &jo);
}

/* count of transactions; the stored position into *pos (caller frees) */
static uint64_t journal_count(fixture *f, fl_position *pos)
{
    char err[256];
    fl_store_opts o = {.write = false};
    fl_store *s = fl_store_open(f->journal, &o, err, sizeof err);
    assert_non_null(s);
    fl_store_info info;
    assert_int_equal(fl_store_info_get(s, &info, err, sizeof err), 0);
    if (pos) assert_int_equal(fl_store_position(s, pos, err, sizeof err), 0);
    fl_store_close(s);
    return info.count;
}

static void rows_txn(bl_stream *s, uint64_t gno, int first)
{
    if (gno) bl_gtid(s, gno);
    bl_query(s, "test", "BEGIN");
    bl_table_map(s, 5, "t1");
    bl_write_rows(s, 5, first, 2);
    bl_xid(s, 1);
}

static void test_two_files_and_rerun(void **state)
{
    fixture *f = *state;
    bl_stream a = {.server_id = 1}, b = {.server_id = 1};
    bl_fde(&a, "8.0.36", true);
    rows_txn(&a, 1, 10);
    bl_gtid(&a, 2);
    bl_query(&a, "test", "CREATE TABLE t2 (a INT)");
    bl_begin(&a, 4);
    bl_put_le(&a.buf, 4, 8);
    fl_buf_puts(&a.buf, "bin.000002");
    bl_end(&a);
    write_file(f->file1, &a, a.buf.len);
    bl_fde(&b, "8.0.36", true);
    rows_txn(&b, 3, 20);
    write_file(f->file2, &b, b.buf.len);

    assert_int_equal(ingest(f, f->file1, f->file2), 0);
    fl_position pos;
    assert_int_equal(journal_count(f, &pos), 3);
    assert_string_equal(pos.gtid_set, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-3");
    assert_string_equal(pos.file, "bin.000002");
    assert_int_equal(pos.pos, 4 + b.buf.len);
    fl_position_free(&pos);

    assert_int_equal(ingest(f, f->file1, f->file2), 0);
    assert_int_equal(journal_count(f, NULL), 3);
    assert_int_equal(ingest(f, f->file2, NULL), 0);
    assert_int_equal(journal_count(f, NULL), 3);
    fl_buf_free(&a.buf);
    fl_buf_free(&b.buf);
}

static void test_anonymous_growing_file(void **state)
{
    fixture *f = *state;
    bl_stream a = {.server_id = 1};
    bl_fde(&a, "5.5.60-log", false); /* before 5.6: no checksums, no GTIDs */
    rows_txn(&a, 0, 1);
    rows_txn(&a, 0, 3);
    size_t first_len = a.buf.len;
    rows_txn(&a, 0, 5);
    write_file(f->file1, &a, first_len);
    assert_int_equal(ingest(f, f->file1, NULL), 0);
    assert_int_equal(journal_count(f, NULL), 2);
    assert_int_equal(ingest(f, f->file1, NULL), 0);
    assert_int_equal(journal_count(f, NULL), 2);
    /* the file grew by one transaction: only it is appended */
    write_file(f->file1, &a, a.buf.len);
    assert_int_equal(ingest(f, f->file1, NULL), 0);
    fl_position pos;
    assert_int_equal(journal_count(f, &pos), 3);
    assert_int_equal(pos.pos, 4 + a.buf.len);
    fl_position_free(&pos);
    fl_buf_free(&a.buf);
}

static void test_errors_keep_complete_transactions(void **state)
{
    fixture *f = *state;
    bl_stream a = {.server_id = 1};
    bl_fde(&a, "8.0.36", true);
    rows_txn(&a, 1, 1);
    rows_txn(&a, 2, 3);
    bl_gtid(&a, 3);
    bl_query(&a, "test", "BEGIN");
    bl_table_map(&a, 5, "t1");
    size_t bad = a.buf.len;
    bl_write_rows(&a, 5, 7, 1);
    bl_xid(&a, 3);
    a.buf.data[bad + 22] ^= 1; /* the third transaction's rows event fails its CRC32 */
    write_file(f->file1, &a, a.buf.len);
    assert_int_not_equal(ingest(f, f->file1, NULL), 0);
    fl_position pos;
    assert_int_equal(journal_count(f, &pos), 2);
    assert_string_equal(pos.gtid_set, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-2");
    fl_position_free(&pos);

    /* a file cut inside the third transaction: same two transactions, nothing else */
    a.buf.data[bad + 22] ^= 1;
    write_file(f->file2, &a, a.buf.len - 10);
    assert_int_not_equal(ingest(f, f->file2, NULL), 0);
    assert_int_equal(journal_count(f, NULL), 2);
    fl_buf_free(&a.buf);
}

static void test_not_a_binlog(void **state)
{
    fixture *f = *state;
    FILE *fp = fopen(f->file1, "wb");
    assert_non_null(fp);
    fputs("hello, not a binlog", fp);
    fclose(fp);
    assert_int_not_equal(ingest(f, f->file1, NULL), 0);
    assert_int_equal(journal_count(f, NULL), 0);
    assert_int_not_equal(ingest(f, "/nonexistent/bin.000001", NULL), 0);
}

static void test_same_transactions_twice_in_one_run(void **state)
{
    fixture *f = *state;
    bl_stream a = {.server_id = 1};
    bl_fde(&a, "8.0.36", true);
    rows_txn(&a, 1, 10);
    rows_txn(&a, 2, 20);
    write_file(f->file1, &a, a.buf.len);
    write_file(f->file2, &a, a.buf.len); /* another file with the same GTIDs */
    assert_int_equal(ingest(f, f->file1, f->file1), 0);
    assert_int_equal(journal_count(f, NULL), 2);
    assert_int_equal(ingest(f, f->file2, NULL), 0);
    assert_int_equal(journal_count(f, NULL), 2);

    /* without GTIDs: the same file listed twice is read once */
    bl_stream b = {.server_id = 1};
    bl_fde(&b, "5.5.60-log", false);
    rows_txn(&b, 0, 1);
    snprintf(f->journal, sizeof f->journal, "%s/journal2", f->dir);
    write_file(f->file1, &b, b.buf.len);
    assert_int_equal(ingest(f, f->file1, f->file1), 0);
    assert_int_equal(journal_count(f, NULL), 1);
    fl_buf_free(&a.buf);
    fl_buf_free(&b.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_files_and_rerun, setup, teardown),
        cmocka_unit_test_setup_teardown(test_anonymous_growing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_keep_complete_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_binlog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_transactions_twice_in_one_run, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
