/* test_fl_dump.c — runs the fl-dump program against journals written here through the store
 * API (MariaDB and MySQL GTIDs; insert, update, delete, DDL) and checks its exact output in
 * every mode, its error messages and exit statuses, and --follow seeing new commits.
 *
 * The program is $FL_DUMP, else fl-dump next to this test's build directory
 * (BUILD/tests/../fl-dump), else build/fl-dump; when none exists the tests fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/buf.h"
#include "common/gtid.h"
#include "common/value.h"
#include "journal/record.h"
#include "journal/store.h"
#include "tests/unit/helpers.h"

#define TS0 1795000000u /* 2026-11-18 11:06:40 UTC */
#define TS0_TEXT "2026-11-18 11:06:40"

static char fl_dump[PATH_MAX];
static char tmpdir[256];       /* removed at the end */
static char maria[PATH_MAX];   /* MariaDB journal */
static char mysql[PATH_MAX];   /* MySQL journal */
static char empty[PATH_MAX];   /* an empty directory: not a journal */
static char plain[PATH_MAX];   /* a regular file */
static char garbage[PATH_MAX]; /* a directory whose data.mdb is not LMDB */
static const char *const MYSQL_UUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

/* ---- building journals ---- */

static fl_gtid gtid(const char *text)
{
    fl_gtid g;
    assert_int_equal(fl_gtid_parse(&g, text, strlen(text)), 0);
    return g;
}

static void txn_header(fl_txn *t, const char *g, uint64_t ts, uint64_t pos)
{
    fl_txn_reset(t);
    t->gtid = gtid(g);
    t->ts = ts;
    t->server_id = 1;
    t->file = "bin.000001";
    t->pos = pos;
    t->flags = FL_TXN_LAST_PART;
    t->part = 0;
}

static fl_value sval(fl_value_type type, const char *s)
{
    return (fl_value){.type = (uint8_t)type, .s = {.ptr = s, .len = (uint32_t)strlen(s)}};
}

static const char *const user_cols[] = {"id", "name", "score", "note"};

/* users row: id, name, score (double), note (NULL) */
static fl_value *user_row(fl_txn *t, int64_t id, const char *name)
{
    fl_value *v = fl_txn_values(t, 4);
    v[0] = (fl_value){.type = FL_VAL_INT, .i = id};
    v[1] = sval(FL_VAL_STRING, name);
    fl_txn_own_value(t, &v[1]);
    v[2] = (fl_value){.type = FL_VAL_DOUBLE, .d = 1.5};
    v[3] = (fl_value){.type = FL_VAL_NULL};
    return v;
}

static void add_txn(fl_store *s, fl_txn *t)
{
    char err[256];
    assert_int_equal(fl_store_add(s, t, err, sizeof err), 0);
}

static void commit(fl_store *s, const char *gtid_set, uint64_t pos)
{
    char err[256];
    fl_position p = {.gtid_set = (char *)gtid_set, .file = (char *)"bin.000001", .pos = pos};
    assert_int_equal(fl_store_commit(s, &p, err, sizeof err), 0);
}

static fl_store *open_writer(const char *dir)
{
    char err[256];
    fl_store_opts o = {.write = true, .sync = false};
    fl_store *s = fl_store_open(dir, &o, err, sizeof err);
    if (!s) fail_msg("opening %s for writing: %s", dir, err);
    return s;
}

/* seq 1..4: insert, update, delete (table without column names), DDL */
static void build_mariadb_journal(void)
{
    assert_int_equal(mkdir(maria, 0700), 0);
    fl_store *s = open_writer(maria);
    fl_txn t;
    fl_txn_init(&t);

    txn_header(&t, "0-1-1", TS0, 702);
    uint32_t users = fl_txn_table(&t, "app", "users", 4, user_cols);
    fl_change *c = fl_txn_add_change(&t, FL_OP_INSERT);
    c->table = users;
    c->after = user_row(&t, 1, "a");
    add_txn(s, &t);

    txn_header(&t, "0-1-2", TS0 + 60, 1000);
    users = fl_txn_table(&t, "app", "users", 4, user_cols);
    c = fl_txn_add_change(&t, FL_OP_UPDATE);
    c->table = users;
    c->before = user_row(&t, 1, "a");
    c->after = user_row(&t, 1, "b \"q\"");
    add_txn(s, &t);
    commit(s, "0-1-2", 1000);

    txn_header(&t, "0-1-3", TS0 + 120, 1300);
    const char *const nocols[] = {NULL, NULL};
    uint32_t logs = fl_txn_table(&t, "app", "logs", 2, nocols);
    c = fl_txn_add_change(&t, FL_OP_DELETE);
    c->table = logs;
    c->before = fl_txn_values(&t, 2);
    c->before[0] = (fl_value){.type = FL_VAL_UINT, .u = 7};
    /* c->before[1] stays ABSENT: left out */
    add_txn(s, &t);

    txn_header(&t, "0-1-4", TS0 + 180, 1500);
    c = fl_txn_add_change(&t, FL_OP_DDL);
    c->db = "app";
    c->sql = "ALTER TABLE users ADD c INT";
    c->sql_len = (uint32_t)strlen(c->sql);
    add_txn(s, &t);
    commit(s, "0-1-4", 1500);

    fl_txn_free(&t);
    fl_store_close(s);
}

static void build_mysql_journal(void)
{
    assert_int_equal(mkdir(mysql, 0700), 0);
    fl_store *s = open_writer(mysql);
    fl_txn t;
    fl_txn_init(&t);
    char g[128];
    for (int i = 1; i <= 3; i++) {
        snprintf(g, sizeof g, "%s:%d", MYSQL_UUID, i);
        txn_header(&t, g, TS0 + (uint64_t)i, 100u * (uint64_t)i);
        uint32_t tb = fl_txn_table(&t, "shop", "items", 4, user_cols);
        fl_change *c = fl_txn_add_change(&t, FL_OP_INSERT);
        c->table = tb;
        c->after = user_row(&t, i, "x");
        add_txn(s, &t);
    }
    /* a statement holding control bytes and a newline */
    snprintf(g, sizeof g, "%s:4", MYSQL_UUID);
    txn_header(&t, g, TS0 + 4, 400);
    fl_change *ddl = fl_txn_add_change(&t, FL_OP_DDL);
    ddl->db = "shop";
    ddl->sql = "CREATE USER u IDENTIFIED BY '\x07\x1b[31m\x7f'\n\tx";
    ddl->sql_len = (uint32_t)strlen(ddl->sql);
    add_txn(s, &t);
    snprintf(g, sizeof g, "%s:1-4", MYSQL_UUID);
    commit(s, g, 400);
    fl_txn_free(&t);
    fl_store_close(s);
}

/* ---- running fl-dump ---- */

typedef struct run_result {
    char *out;  /* stdout */
    char *err;  /* stderr */
    int status; /* exit status, or 128+signal */
} run_result;

static char *slurp(FILE *f)
{
    fl_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) fl_buf_put(&b, chunk, n);
    fl_buf_cstr(&b);
    return (char *)b.data;
}

/* Runs "fl-dump ARGS" through the shell (ARGS are trusted test text). */
static run_result run(const char *fmt, ...)
{
    char args[2 * PATH_MAX], cmd[4 * PATH_MAX], errpath[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(errpath, sizeof errpath, "%s/stderr", tmpdir);
    snprintf(cmd, sizeof cmd, "'%s' %s 2>'%s'", fl_dump, args, errpath);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    run_result r;
    r.out = slurp(p);
    int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    FILE *e = fopen(errpath, "r");
    assert_non_null(e);
    r.err = slurp(e);
    fclose(e);
    return r;
}

static void run_free(run_result *r)
{
    free(r->out);
    free(r->err);
}

/* Expects a failure: the exit status and exactly one stderr line, nothing on stdout. */
static void expect_error(run_result r, int status, const char *line)
{
    assert_int_equal(r.status, status);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, line);
    run_free(&r);
}

/* Expects "fl-dump: DIR: not a ..." as the only stderr line, non-zero exit, no output. */
static void expect_not_journal(const char *dir)
{
    run_result r = run("'%s'", dir);
    char prefix[PATH_MAX + 32];
    snprintf(prefix, sizeof prefix, "fl-dump: %s: not a ", dir);
    assert_int_not_equal(r.status, 0);
    assert_string_equal(r.out, "");
    assert_true(strncmp(r.err, prefix, strlen(prefix)) == 0);
    assert_non_null(strstr(r.err, "journal"));
    char *nl = strchr(r.err, '\n');
    assert_non_null(nl);
    assert_true(nl[1] == '\0');
    run_free(&r);
}

/* ---- expected output ---- */

static const char HUMAN_ALL[] = "seq 1  gtid 0-1-1  time " TS0_TEXT "  server_id 1  pos bin.000001:702\n"
                                "  insert app.users\n"
                                "    after:  id=1 name=\"a\" score=1.5 note=null\n"
                                "\n"
                                "seq 2  gtid 0-1-2  time 2026-11-18 11:07:40  server_id 1  pos bin.000001:1000\n"
                                "  update app.users\n"
                                "    before: id=1 name=\"a\" score=1.5 note=null\n"
                                "    after:  id=1 name=\"b \\\"q\\\"\" score=1.5 note=null\n"
                                "\n"
                                "seq 3  gtid 0-1-3  time 2026-11-18 11:08:40  server_id 1  pos bin.000001:1300\n"
                                "  delete app.logs\n"
                                "    before: @1=7\n"
                                "\n"
                                "seq 4  gtid 0-1-4  time 2026-11-18 11:09:40  server_id 1  pos bin.000001:1500\n"
                                "  ddl app: ALTER TABLE users ADD c INT\n"
                                "\n";

static const char *const JSON_LINES[] = {
    "{\"seq\":1,\"gtid\":\"0-1-1\",\"ts\":\"" TS0_TEXT "\",\"server_id\":1,\"file\":\"bin.000001\","
    "\"pos\":702,\"changes\":[{\"op\":\"insert\",\"db\":\"app\",\"table\":\"users\","
    "\"after\":{\"id\":1,\"name\":\"a\",\"score\":1.5,\"note\":null}}]}\n",
    "{\"seq\":2,\"gtid\":\"0-1-2\",\"ts\":\"2026-11-18 11:07:40\",\"server_id\":1,\"file\":\"bin.000001\","
    "\"pos\":1000,\"changes\":[{\"op\":\"update\",\"db\":\"app\",\"table\":\"users\","
    "\"before\":{\"id\":1,\"name\":\"a\",\"score\":1.5,\"note\":null},"
    "\"after\":{\"id\":1,\"name\":\"b \\\"q\\\"\",\"score\":1.5,\"note\":null}}]}\n",
    "{\"seq\":3,\"gtid\":\"0-1-3\",\"ts\":\"2026-11-18 11:08:40\",\"server_id\":1,\"file\":\"bin.000001\","
    "\"pos\":1300,\"changes\":[{\"op\":\"delete\",\"db\":\"app\",\"table\":\"logs\","
    "\"before\":{\"@1\":7}}]}\n",
    "{\"seq\":4,\"gtid\":\"0-1-4\",\"ts\":\"2026-11-18 11:09:40\",\"server_id\":1,\"file\":\"bin.000001\","
    "\"pos\":1500,\"changes\":[{\"op\":\"ddl\",\"db\":\"app\",\"sql\":\"ALTER TABLE users ADD c INT\"}]}\n",
};

/* Concatenation of JSON_LINES[from..to] (inclusive, 0-based). */
static char *json_lines(int from, int to)
{
    fl_buf b = {0};
    for (int i = from; i <= to; i++) fl_buf_puts(&b, JSON_LINES[i]);
    fl_buf_cstr(&b);
    return (char *)b.data;
}

/* ---- tests ---- */

static void test_binary_exists(void **state)
{
    (void)state;
    if (access(fl_dump, X_OK) != 0) fail_msg("fl-dump program not found at %s (set FL_DUMP)", fl_dump);
}

static void test_human(void **state)
{
    (void)state;
    run_result r = run("'%s'", maria);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_string_equal(r.out, HUMAN_ALL);
    run_free(&r);
}

static void test_json(void **state)
{
    (void)state;
    run_result r = run("--json '%s'", maria);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    char *want = json_lines(0, 3);
    assert_string_equal(r.out, want);
    free(want);
    run_free(&r);

    /* fl-dump --json is fl_txn_to_json of what the store holds */
    char err[256];
    fl_store_opts o = {0};
    fl_store *s = fl_store_open(maria, &o, err, sizeof err);
    assert_non_null(s);
    fl_txn t;
    fl_txn_init(&t);
    assert_int_equal(fl_store_read(s, 2, &t, err, sizeof err), 0);
    fl_buf b = {0};
    fl_txn_to_json(&t, &b);
    fl_buf_putc(&b, '\n');
    assert_string_equal(fl_buf_cstr(&b), JSON_LINES[1]);
    fl_buf_free(&b);
    fl_txn_free(&t);
    fl_store_close(s);
}

static void test_ranges(void **state)
{
    (void)state;
    run_result r = run("--json --from-seq 3 '%s'", maria);
    char *want = json_lines(2, 3);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, want);
    free(want);
    run_free(&r);

    r = run("--json --from-gtid 0-1-2 --limit 2 '%s'", maria);
    want = json_lines(1, 2);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, want);
    free(want);
    run_free(&r);

    r = run("--json --limit 1 '%s'", maria);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, JSON_LINES[0]);
    run_free(&r);

    r = run("--json --limit 0 '%s'", maria);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "");
    run_free(&r);

    r = run("--json --from-seq 99 '%s'", maria); /* past the end: nothing, success */
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "");
    run_free(&r);

    r = run("--json --gtid 0-1-3 '%s'", maria);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, JSON_LINES[2]);
    run_free(&r);

    r = run("--gtid 0-1-4 '%s'", maria);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "seq 4  gtid 0-1-4  time 2026-11-18 11:09:40  server_id 1  pos bin.000001:1500\n"
                               "  ddl app: ALTER TABLE users ADD c INT\n\n");
    run_free(&r);
}

static void test_mysql_gtids(void **state)
{
    (void)state;
    run_result r = run("--gtid %s:2 '%s'", MYSQL_UUID, mysql);
    assert_int_equal(r.status, 0);
    char want[1024];
    snprintf(want, sizeof want,
             "seq 2  gtid %s:2  time 2026-11-18 11:06:42  server_id 1  pos bin.000001:200\n"
             "  insert shop.items\n"
             "    after:  id=2 name=\"x\" score=1.5 note=null\n\n",
             MYSQL_UUID);
    assert_string_equal(r.out, want);
    run_free(&r);

    /* upper-case UUID input finds the same transaction */
    r = run("--json --limit 1 --from-gtid 3E11FA47-71CA-11E1-9E33-C80AA9429562:3 '%s'", mysql);
    assert_int_equal(r.status, 0);
    snprintf(want, sizeof want,
             "{\"seq\":3,\"gtid\":\"%s:3\",\"ts\":\"2026-11-18 11:06:43\",\"server_id\":1,"
             "\"file\":\"bin.000001\",\"pos\":300,\"changes\":[{\"op\":\"insert\",\"db\":\"shop\","
             "\"table\":\"items\",\"after\":{\"id\":3,\"name\":\"x\",\"score\":1.5,\"note\":null}}]}\n",
             MYSQL_UUID);
    assert_string_equal(r.out, want);
    run_free(&r);

    /* control bytes in a statement are shown escaped in the human form, JSON-escaped in JSON */
    r = run("--gtid %s:4 '%s'", MYSQL_UUID, mysql);
    assert_int_equal(r.status, 0);
    snprintf(want, sizeof want,
             "seq 4  gtid %s:4  time 2026-11-18 11:06:44  server_id 1  pos bin.000001:400\n"
             "  ddl shop: CREATE USER u IDENTIFIED BY '\\x07\\x1b[31m\\x7f'\n\tx\n\n",
             MYSQL_UUID);
    assert_string_equal(r.out, want);
    run_free(&r);
    r = run("--json --gtid %s:4 '%s'", MYSQL_UUID, mysql);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "\"sql\":\"CREATE USER u IDENTIFIED BY '\\u0007\\u001b[31m\x7f'\\n\\tx\"}]}\n"));
    run_free(&r);

    r = run("--gtid %s:9 '%s'", MYSQL_UUID, mysql);
    char line[256];
    snprintf(line, sizeof line, "fl-dump: GTID %s:9 is not in the journal\n", MYSQL_UUID);
    expect_error(r, 1, line);
}

static void test_stats(void **state)
{
    (void)state;
    char err[256];
    fl_store_opts o = {0};
    fl_store *s = fl_store_open(maria, &o, err, sizeof err);
    assert_non_null(s);
    fl_store_info info;
    assert_int_equal(fl_store_info_get(s, &info, err, sizeof err), 0);
    fl_store_close(s);
    assert_true(info.bytes > 0);

    run_result r = run("--stats '%s'", maria);
    char want[512];
    snprintf(want, sizeof want,
             "{\"count\":4,\"first_seq\":1,\"last_seq\":4,\"first_gtid\":\"0-1-1\",\"last_gtid\":\"0-1-4\","
             "\"first_ts\":\"" TS0_TEXT "\",\"last_ts\":\"2026-11-18 11:09:40\",\"bytes\":%llu,"
             "\"purged_seq\":0,\"identity\":\"%s\"}\n",
             (unsigned long long)info.bytes, info.identity);
    assert_int_equal(strlen(info.identity), 32);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_string_equal(r.out, want);
    run_free(&r);
}

/* A journal with no transactions yet: nothing listed, zero statistics, success. */
static void test_empty_journal(void **state)
{
    (void)state;
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/fresh", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    fl_store *w = open_writer(dir);
    char id[FL_JOURNAL_ID_TEXT], err[256];
    assert_int_equal(fl_store_identity(w, id, err, sizeof err), 0);
    fl_store_close(w);

    run_result r = run("'%s'", dir);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "");
    run_free(&r);

    r = run("--stats '%s'", dir);
    assert_int_equal(r.status, 0);
    char want[512];
    snprintf(want, sizeof want,
             "{\"count\":0,\"first_seq\":0,\"last_seq\":0,\"first_gtid\":null,\"last_gtid\":null,"
             "\"first_ts\":null,\"last_ts\":null,\"bytes\":0,\"purged_seq\":0,\"identity\":\"%s\"}\n",
             id);
    assert_string_equal(r.out, want);
    assert_string_equal(r.err, "");
    run_free(&r);
}

static void test_errors(void **state)
{
    (void)state;
    char line[2 * PATH_MAX];
    snprintf(line, sizeof line, "fl-dump: %s/nope: no such directory\n", tmpdir);
    expect_error(run("'%s/nope'", tmpdir), 1, line);
    snprintf(line, sizeof line, "fl-dump: %s: not a directory\n", plain);
    expect_error(run("'%s'", plain), 1, line);

    /* an empty directory, and one holding a file that is not LMDB, are not journals */
    expect_not_journal(empty);
    expect_not_journal(garbage);

    expect_error(run("--gtid 0-1-99 '%s'", maria), 1, "fl-dump: GTID 0-1-99 is not in the journal\n");
    expect_error(run("--from-gtid 5-1-1 '%s'", maria), 1, "fl-dump: GTID 5-1-1 is not in the journal\n");
    expect_error(run("--limit abc '%s'", maria), 2,
                 "fl-dump: --limit: bad value 'abc' (expected a non-negative integer)\n");
    expect_error(run("--from-seq -1 '%s'", maria), 2,
                 "fl-dump: --from-seq: bad value '-1' (expected a non-negative integer)\n");
    expect_error(run("--from-seq 99999999999999999999 '%s'", maria), 2,
                 "fl-dump: --from-seq: bad value '99999999999999999999' (expected a non-negative integer)\n");
    expect_error(run("--gtid xyz '%s'", maria), 2,
                 "fl-dump: --gtid: bad GTID 'xyz' (expected domain-server-seq or uuid[:tag]:n)\n");
    expect_error(run("--bogus '%s'", maria), 2, "fl-dump: unknown option '--bogus' (see --help)\n");
    expect_error(run("'%s' --limit", maria), 2, "fl-dump: --limit needs a value (see --help)\n");
    expect_error(run(""), 2, "fl-dump: missing journal directory (see --help)\n");
    snprintf(line, sizeof line, "fl-dump: unexpected argument '%s' (one journal directory)\n", mysql);
    expect_error(run("'%s' '%s'", maria, mysql), 2, line);
    expect_error(run("--stats --follow '%s'", maria), 2,
                 "fl-dump: --stats and the listing options cannot be combined\n");
    expect_error(run("--gtid 0-1-1 --from-seq 1 '%s'", maria), 2,
                 "fl-dump: --gtid and --from-seq/--from-gtid cannot be combined\n");

    /* --secret-file goes through the one secret-file reader: refused before connecting */
    char secret[300];
    snprintf(secret, sizeof secret, "%.280s/open-secret", tmpdir);
    FILE *sf = fopen(secret, "w");
    assert_non_null(sf);
    fputs("0123456789abcdef0123\n", sf);
    fclose(sf);
    assert_int_equal(chmod(secret, 0644), 0);
    snprintf(line, sizeof line,
             "fl-dump: --secret-file: '%s' is open to group or others (mode 0644); a secret file must not be: "
             "chmod 600 %s\n",
             secret, secret);
    expect_error(run("--relay 127.0.0.1:1 --secret-file '%s'", secret), 1, line);
    sf = fopen(secret, "w");
    assert_non_null(sf);
    fputs("short\n", sf);
    fclose(sf);
    assert_int_equal(chmod(secret, 0600), 0);
    snprintf(line, sizeof line,
             "fl-dump: --secret-file: the secret in '%s' is shorter than 16 bytes; make a good one with: openssl "
             "rand -hex 32\n",
             secret);
    expect_error(run("--relay 127.0.0.1:1 --secret-file '%s'", secret), 1, line);
    unlink(secret);
    expect_error(run("--relay 127.0.0.1:1 --secret short"), 2,
                 "fl-dump: --secret: the secret is shorter than 16 bytes; make a good one with: openssl rand -hex "
                 "32\n");

    run_result r = run("--help");
    assert_int_equal(r.status, 0);
    assert_true(strncmp(r.out, "usage: fl-dump [options] DIR\n", 29) == 0);
    assert_non_null(strstr(r.out, "--follow"));
    assert_string_equal(r.err, "");
    run_free(&r);
}

/* ---- --follow ---- */

typedef struct follower {
    pid_t pid;
    int fd; /* its stdout */
    fl_buf got;
} follower;

static void follow_start(follower *f, const char *dir)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execl(fl_dump, fl_dump, "--json", "--follow", dir, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    f->fd = p[0];
    memset(&f->got, 0, sizeof f->got);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reads the follower's output until it holds `lines` lines; fails after 10 s. */
static void follow_expect_lines(follower *f, int lines)
{
    double deadline = now_s() + 10;
    for (;;) {
        int have = 0;
        for (size_t i = 0; i < f->got.len; i++) have += f->got.data[i] == '\n';
        if (have >= lines) return;
        double left = deadline - now_s();
        if (left <= 0) fail_msg("fl-dump --follow printed %d of %d lines in 10 s", have, lines);
        struct pollfd pfd = {.fd = f->fd, .events = POLLIN};
        int n = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (n <= 0) continue;
        char chunk[4096];
        ssize_t r = read(f->fd, chunk, sizeof chunk);
        if (r <= 0) fail_msg("fl-dump --follow ended early (printed %d of %d lines)", have, lines);
        fl_buf_put(&f->got, chunk, (size_t)r);
    }
}

/* Sends sig and expects exit status 0 within 5 s. */
static void follow_stop(follower *f, int sig)
{
    assert_int_equal(kill(f->pid, sig), 0);
    double deadline = now_s() + 5;
    int st = 0;
    pid_t w;
    while ((w = waitpid(f->pid, &st, WNOHANG)) == 0 && now_s() < deadline) usleep(10000);
    if (w == 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, &st, 0);
        fail_msg("fl-dump --follow did not stop on signal %d within 5 s", sig);
    }
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    close(f->fd);
    fl_buf_cstr(&f->got);
}

static void test_follow(void **state)
{
    (void)state;
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/follow", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    fl_store *s = open_writer(dir);
    fl_txn t;
    fl_txn_init(&t);
    txn_header(&t, "0-1-1", TS0, 702);
    fl_change *c = fl_txn_add_change(&t, FL_OP_INSERT);
    c->table = fl_txn_table(&t, "app", "users", 4, user_cols);
    c->after = user_row(&t, 1, "a");
    add_txn(s, &t);
    commit(s, "0-1-1", 702);

    follower f;
    follow_start(&f, dir);
    follow_expect_lines(&f, 1);
    assert_memory_equal(f.got.data, JSON_LINES[0], strlen(JSON_LINES[0]));

    /* two commits while it waits: both appear, in order */
    txn_header(&t, "0-1-2", TS0 + 60, 1000);
    c = fl_txn_add_change(&t, FL_OP_UPDATE);
    c->table = fl_txn_table(&t, "app", "users", 4, user_cols);
    c->before = user_row(&t, 1, "a");
    c->after = user_row(&t, 1, "b \"q\"");
    add_txn(s, &t);
    commit(s, "0-1-2", 1000);
    follow_expect_lines(&f, 2);

    txn_header(&t, "0-1-3", TS0 + 120, 1300);
    const char *const nocols[] = {NULL, NULL};
    c = fl_txn_add_change(&t, FL_OP_DELETE);
    c->table = fl_txn_table(&t, "app", "logs", 2, nocols);
    c->before = fl_txn_values(&t, 2);
    c->before[0] = (fl_value){.type = FL_VAL_UINT, .u = 7};
    add_txn(s, &t);
    commit(s, "0-1-3", 1300);
    follow_expect_lines(&f, 3);

    /* a transaction in two parts appears once, whole, after its last part commits */
    txn_header(&t, "0-1-4", TS0 + 180, 1500);
    t.flags = 0;
    c = fl_txn_add_change(&t, FL_OP_INSERT);
    c->table = fl_txn_table(&t, "app", "users", 4, user_cols);
    c->after = user_row(&t, 2, "p0");
    add_txn(s, &t);
    commit(s, NULL, 1400);
    usleep(500000);
    size_t before_len = f.got.len;
    struct pollfd pfd = {.fd = f.fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 0), 0); /* nothing printed for the incomplete part */
    uint64_t seq4 = t.seq;
    txn_header(&t, "0-1-4", TS0 + 180, 1500);
    t.part = 1;
    c = fl_txn_add_change(&t, FL_OP_INSERT);
    c->table = fl_txn_table(&t, "app", "users", 4, user_cols);
    c->after = user_row(&t, 3, "p1");
    add_txn(s, &t);
    assert_int_equal(t.seq, seq4);
    commit(s, "0-1-4", 1500);
    follow_expect_lines(&f, 4);
    assert_int_equal(before_len, strlen(JSON_LINES[0]) + strlen(JSON_LINES[1]) + strlen(JSON_LINES[2]));

    follow_stop(&f, SIGTERM);
    char *want = json_lines(0, 2);
    char last[1024];
    snprintf(last, sizeof last,
             "{\"seq\":4,\"gtid\":\"0-1-4\",\"ts\":\"2026-11-18 11:09:40\",\"server_id\":1,"
             "\"file\":\"bin.000001\",\"pos\":1500,\"changes\":["
             "{\"op\":\"insert\",\"db\":\"app\",\"table\":\"users\","
             "\"after\":{\"id\":2,\"name\":\"p0\",\"score\":1.5,\"note\":null}},"
             "{\"op\":\"insert\",\"db\":\"app\",\"table\":\"users\","
             "\"after\":{\"id\":3,\"name\":\"p1\",\"score\":1.5,\"note\":null}}]}\n");
    assert_memory_equal(f.got.data, want, strlen(want));
    assert_string_equal((const char *)f.got.data + strlen(want), last);
    free(want);
    fl_buf_free(&f.got);

    /* SIGINT ends a follower that is waiting with nothing new */
    follow_start(&f, dir);
    follow_expect_lines(&f, 4);
    usleep(300000);
    follow_stop(&f, SIGINT);
    fl_buf_free(&f.got);

    fl_txn_free(&t);
    fl_store_close(s);
}

/* ---- fixture ---- */

static void find_program(const char *argv0)
{
    const char *env = getenv("FL_DUMP");
    if (env && *env) {
        snprintf(fl_dump, sizeof fl_dump, "%s", env);
        return;
    }
    /* BUILD/tests/test_fl_dump -> BUILD/fl-dump */
    char self[PATH_MAX - 32];
    snprintf(self, sizeof self, "%s", argv0);
    char *slash = strrchr(self, '/');
    if (slash) {
        *slash = '\0';
        snprintf(fl_dump, sizeof fl_dump, "%s/../fl-dump", self);
        if (access(fl_dump, X_OK) == 0) return;
    }
    snprintf(fl_dump, sizeof fl_dump, "build/fl-dump");
}

static int setup(void **state)
{
    (void)state;
    if (th_tmpdir_make(tmpdir, sizeof tmpdir, "fl-dump")) return -1;
    snprintf(maria, sizeof maria, "%s/maria", tmpdir);
    snprintf(mysql, sizeof mysql, "%s/mysql", tmpdir);
    snprintf(empty, sizeof empty, "%s/empty", tmpdir);
    snprintf(plain, sizeof plain, "%s/plain", tmpdir);
    if (mkdir(empty, 0700) != 0) return -1;
    FILE *f = fopen(plain, "w");
    if (!f) return -1;
    fputs("not a journal\n", f);
    fclose(f);
    snprintf(garbage, sizeof garbage, "%s/garbage", tmpdir);
    char mdb[PATH_MAX + 16];
    snprintf(mdb, sizeof mdb, "%s/data.mdb", garbage);
    if (mkdir(garbage, 0700) != 0 || !(f = fopen(mdb, "w"))) return -1;
    for (int i = 0; i < 1024; i++) fputs("garbage garbage\n", f);
    fclose(f);
    build_mariadb_journal();
    build_mysql_journal();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return th_tmpdir_remove(tmpdir);
}

int main(int argc, char **argv)
{
    (void)argc;
    find_program(argv[0]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_exists), cmocka_unit_test(test_human),       cmocka_unit_test(test_json),
        cmocka_unit_test(test_ranges),        cmocka_unit_test(test_mysql_gtids), cmocka_unit_test(test_stats),
        cmocka_unit_test(test_empty_journal), cmocka_unit_test(test_errors),      cmocka_unit_test(test_follow),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
