/* test_snapshot_request.c — the snapshot request file: the writer-lock probe, the hex tokens,
 * a request refused with no relay, one taken by a stand-in relay (another process removing
 * the file), one left untaken, pending repairs read from the committed progress, and a request
 * for tables written at once: never over one not taken yet, names that are not db.table refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "journal/snapshot_request.h"
#include "journal/store.h"
#include "tests/unit/helpers.h"

static char tmpdir[256];
static char jdir[300];

static int setup(void **state)
{
    (void)state;
    if (th_tmpdir_make(tmpdir, sizeof tmpdir, "snapreq")) return -1;
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
    fl_store_opts o = {.write = true};
    fl_store *s = fl_store_open(jdir, &o, err, sizeof err);
    if (!s) fail_msg("open: %s", err);
    return s;
}

static void test_hex(void **state)
{
    (void)state;
    fl_buf b = {0};
    fl_snapshot_put_hex(&b, "a\xff ", 3);
    fl_buf_putc(&b, ' ');
    fl_snapshot_put_hex(&b, "", 0);
    assert_string_equal(fl_buf_cstr(&b), "61ff20 -");
    fl_buf_free(&b);
    char path[512];
    fl_snapshot_request_path("/j", path, sizeof path);
    assert_string_equal(path, "/j/snapshot.request");
}

static void test_no_relay(void **state)
{
    (void)state;
    assert_false(fl_journal_writer_running(jdir)); /* no journal at all */
    fl_store_close(open_writer());
    assert_false(fl_journal_writer_running(jdir)); /* a journal, no writer */
    char err[256];
    assert_int_equal(fl_snapshot_request_send(jdir, "all\n", err, sizeof err), -1);
    assert_non_null(strstr(err, "no relay is running on journal"));
    char path[512];
    fl_snapshot_request_path(jdir, path, sizeof path);
    assert_int_not_equal(access(path, F_OK), 0); /* nothing left behind */
}

static void test_taken(void **state)
{
    (void)state;
    fl_store *w = open_writer();
    assert_true(fl_journal_writer_running(jdir));
    char path[512];
    fl_snapshot_request_path(jdir, path, sizeof path);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) { /* the stand-in relay: takes the request once it is there */
        for (int i = 0; i < 200 && access(path, F_OK) != 0; i++) poll(NULL, 0, 20);
        FILE *f = fopen(path, "r");
        char line[64] = "";
        if (f && !fgets(line, sizeof line, f)) line[0] = 0;
        if (f) fclose(f);
        _exit(strcmp(line, "table 61 62\n") == 0 && unlink(path) == 0 ? 0 : 1);
    }
    char err[256];
    assert_int_equal(fl_snapshot_request_send(jdir, "table 61 62\n", err, sizeof err), 0);
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    fl_store_close(w);
}

static void test_pending(void **state)
{
    (void)state;
    fl_store *w = open_writer();
    char err[256];
    bool pending = true;
    assert_int_equal(fl_snapshot_repairs_pending(jdir, &pending, err, sizeof err), 0);
    assert_false(pending);
    fl_store_set_snapshot_progress(w, "table 61 62\nchunk 3\nrepair 61 62 delete\nkey 31\n");
    assert_int_equal(fl_store_commit(w, NULL, err, sizeof err), 0);
    assert_int_equal(fl_snapshot_repairs_pending(jdir, &pending, err, sizeof err), 0);
    assert_true(pending);
    fl_store_set_snapshot_progress(w, "repair 61 62 keep\nkey 32\n");
    assert_int_equal(fl_store_commit(w, NULL, err, sizeof err), 0);
    assert_int_equal(fl_snapshot_repairs_pending(jdir, &pending, err, sizeof err), 0);
    assert_true(pending);
    fl_store_set_snapshot_progress(w, "table 61 62\nchunk 4\n");
    assert_int_equal(fl_store_commit(w, NULL, err, sizeof err), 0);
    assert_int_equal(fl_snapshot_repairs_pending(jdir, &pending, err, sizeof err), 0);
    assert_false(pending);
    fl_store_close(w);
}

static void read_all(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = 0;
    fclose(f);
}

static void test_tables_at_once(void **state)
{
    (void)state;
    char path[512], text[512], err[256] = "";
    fl_snapshot_request_path(tmpdir, path, sizeof path);
    assert_int_equal(fl_snapshot_request_tables(tmpdir, "app.items, b.t", err, sizeof err), 0);
    read_all(path, text, sizeof text);
    assert_string_equal(text, "table 617070 6974656d73\ntable 62 74\n");
    assert_int_equal(fl_snapshot_request_tables(tmpdir, "c.d", err, sizeof err), 1); /* not taken yet */
    read_all(path, text, sizeof text);
    assert_string_equal(text, "table 617070 6974656d73\ntable 62 74\n");
    unlink(path); /* taken */
    assert_int_equal(fl_snapshot_request_tables(tmpdir, "c.d", err, sizeof err), 0);
    read_all(path, text, sizeof text);
    assert_string_equal(text, "table 63 64\n");
    unlink(path);
    assert_int_equal(fl_snapshot_request_tables(tmpdir, "nodot", err, sizeof err), -1);
    assert_non_null(strstr(err, "'nodot' is not db.table"));
    assert_int_equal(fl_snapshot_request_tables(tmpdir, "a.", err, sizeof err), -1);
    assert_int_equal(fl_snapshot_request_tables(tmpdir, " , ", err, sizeof err), -1);
    assert_non_null(strstr(err, "no table"));
    assert_int_not_equal(access(path, F_OK), 0);
    assert_int_equal(fl_snapshot_request_tables(jdir, "a.b", err, sizeof err), -1); /* no such directory */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex),
        cmocka_unit_test_setup_teardown(test_no_relay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_taken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tables_at_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
