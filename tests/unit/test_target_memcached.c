/* test_target_memcached.c — the memcached target: URL handling, the checkpoint file
 * (missing, round trip, corrupt), and sets/deletes/TTLs in order against private memcached
 * servers started by the test (two servers: keys spread by ketama). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <libmemcached/memcached.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fl-apply/memcached_conn.h"
#include "fl-apply/target.h"
#include "fl-apply/target_impl.h"
#include "tests/unit/helpers.h"

static char tmpdir[256];
static pid_t servers[2];
static int ports[2];

static bool can_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* sasl_conf: a directory holding memcached.conf (SASL), or NULL for no authentication */
static pid_t start_memcached_with(int port, const char *sasl_conf)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (sasl_conf) setenv("SASL_CONF_PATH", sasl_conf, 1);
        char p[16];
        snprintf(p, sizeof p, "%d", port);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        /* memcached refuses to run as root unless told which user to be */
        char *argv[] = {"memcached",
                        "-l",
                        "127.0.0.1",
                        "-p",
                        p,
                        "-U",
                        "0",
                        "-m",
                        "16",
                        "-u",
                        geteuid() == 0 ? "root" : "nobody",
                        sasl_conf ? "-S" : NULL,
                        NULL};
        execvp("memcached", argv);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        if (can_connect(port)) return pid;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) return -1;
        usleep(20000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static pid_t start_memcached(int port) { return start_memcached_with(port, NULL); }

static int setup(void **state)
{
    (void)state;
    if (th_tmpdir_make(tmpdir, sizeof tmpdir, "mc")) return -1;
    for (int i = 0; i < 2; i++) {
        ports[i] = th_free_port();
        servers[i] = start_memcached(ports[i]);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++)
        if (servers[i] > 0) {
            kill(servers[i], SIGTERM);
            waitpid(servers[i], NULL, 0);
        }
    return th_tmpdir_remove(tmpdir);
}

static void need_servers(void)
{
    if (servers[0] <= 0 || servers[1] <= 0) skip();
}

static void cfg_init(fl_config_apply *a, char *url, char *cp)
{
    memset(a, 0, sizeof *a);
    a->present = true;
    a->name = "t";
    a->target = url;
    a->checkpoint_path = cp;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_checkpoint_file(void **state)
{
    (void)state;
    char path[300], err[512];
    snprintf(path, sizeof path, "%s/cp-file", tmpdir);
    fl_mc_checkpoint c;
    assert_int_equal(fl_checkpoint_file_read(path, &c, err, sizeof err), 1);

    const char *bad[] = {
        "",
        "fastlane-checkpoint 2\nseq 5\ngtid 0-1-5\nts 1\n",
        "fastlane-checkpoint 2\nseq x\ngtid 0-1-5\nts 1\nserver h:1 ab 5\n",
        "fastlane-checkpoint 3\nseq 5\ngtid 0-1-5\nts 1\nserver h:1 ab 5\n",
        "fastlane-checkpoint 2\nseq 5\ngtid nonsense\nts 1\nserver h:1 ab 5\n",
        "fastlane-checkpoint 2\nseq 5\ngtid 0-1-5\nts 1\nserver h:1 ab 5\nmore\n",
        "fastlane-checkpoint 2\nseq 5\ngtid 0-1-5\nts 1\nserver h:1 XY 5\n",
        "fastlane-checkpoint 2\nseq 5\ngtid 0-1-5\nts 1\nserver h:1 ab\n",
        "fastlane-checkpoint 2\nseq 5\ngtid 0-1-5\nts 1\nserver h:1 ab 6\n",
        "fastlane-checkpoint 2\nseq 5\ngtid 0-1-5\nts 1\nserver h:1 ab 5",
        "fastlane-checkpoint 2\nseq 99999999999999999999999\ngtid 0-1-5\nts 1\nserver h:1 ab 5\n",
        "fastlane-checkpoint 1\nseq 5\ngtid 0-1-5\nts 1\n",
        "fastlane-checkpoint 1\nseq 5\ngtid 0-1-5\nts 1\nepoch \n",
        "fastlane-checkpoint 1\nseq 5\ngtid 0-1-5\nts 1\nepoch ab\nepoch cd\n",
        "fastlane-checkpoint 2\nseq 5\ngtid 0-1-5\nts 1\njournal 00ff\nserver h:1 ab 5\n",
        "fastlane-checkpoint 2\nseq 5\ngtid 0-1-5\nts 1\njournal 00112233445566778899AABBCCDDEEFF\nserver h:1 ab "
        "5\n",
        "fastlane-checkpoint 2\nseq 5\ngtid 0-1-5\nts 1\njournal 00112233445566778899aabbccddeeff\n"
        "journal 00112233445566778899aabbccddeeff\nserver h:1 ab 5\n",
        "fastlane-checkpoint 1\nseq 5\ngtid 0-1-5\nts 1\njournal 00112233445566778899aabbccddeeff\nepoch ab\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_text(path, bad[i]);
        err[0] = 0;
        if (fl_checkpoint_file_read(path, &c, err, sizeof err) != -1) fail_msg("accepted: %s", bad[i]);
        assert_non_null(strstr(err, "is corrupt"));
        assert_non_null(strstr(err, path));
    }

    /* round trip: per server an epoch (or none) and a position */
    fl_mc_server_state sv[2] = {{.name = "127.0.0.1:1", .epoch = "00ff", .seq = 12},
                                {.name = "[::1]:2", .epoch = "", .seq = 0}};
    fl_mc_checkpoint w =
        {.cp = {.seq = 12, .gtid = "", .ts = 1700000000, .journal = "00112233445566778899aabbccddeeff"},
         .server = sv,
         .nservers = 2};
    assert_int_equal(fl_checkpoint_file_write(path, &w, err, sizeof err), 0);
    assert_int_equal(fl_checkpoint_file_read(path, &c, err, sizeof err), 0);
    assert_int_equal(c.cp.seq, 12);
    assert_string_equal(c.cp.gtid, "");
    assert_int_equal(c.cp.ts, 1700000000);
    assert_string_equal(c.cp.journal, "00112233445566778899aabbccddeeff");
    assert_int_equal(c.nservers, 2);
    assert_string_equal(c.server[0].name, "127.0.0.1:1");
    assert_string_equal(c.server[0].epoch, "00ff");
    assert_int_equal(c.server[0].seq, 12);
    assert_string_equal(c.server[1].name, "[::1]:2");
    assert_string_equal(c.server[1].epoch, "");
    assert_int_equal(c.server[1].seq, 0);
    fl_mc_checkpoint_free(&c);
    /* one written before checkpoints named their journal */
    write_text(path, "fastlane-checkpoint 2\nseq 4\ngtid 0-1-4\nts 2\nserver h:1 ab 4\n");
    assert_int_equal(fl_checkpoint_file_read(path, &c, err, sizeof err), 0);
    assert_int_equal(c.cp.seq, 4);
    assert_string_equal(c.cp.journal, "");
    fl_mc_checkpoint_free(&c);

    /* the first format: one epoch for every server, each holding everything up to seq */
    write_text(path, "fastlane-checkpoint 1\nseq 7\ngtid 0-1-7\nts 3\nepoch abc\n");
    assert_int_equal(fl_checkpoint_file_read(path, &c, err, sizeof err), 0);
    assert_int_equal(c.cp.seq, 7);
    assert_string_equal(c.cp.gtid, "0-1-7");
    assert_int_equal(c.nservers, 1);
    assert_string_equal(c.server[0].name, FL_MC_ANY_SERVER);
    assert_string_equal(c.server[0].epoch, "abc");
    assert_int_equal(c.server[0].seq, 7);
    fl_mc_checkpoint_free(&c);

    /* a directory is not a checkpoint; an unwritable place is a clear error */
    assert_int_equal(fl_checkpoint_file_read(tmpdir, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file"));
    assert_int_equal(fl_checkpoint_file_write("/nonexistent-dir/cp", &w, err, sizeof err), -1);
    assert_non_null(strstr(err, "checkpoint: cannot create /nonexistent-dir/cp.tmp"));
}

static void test_bad_urls_are_permanent(void **state)
{
    (void)state;
    char cp[300];
    snprintf(cp, sizeof cp, "%s/cp-url", tmpdir);
    const char *urls[] = {"memcached://", "memcached://nohost", "memcached://h:0", "memcached://:pw@h:1",
                          "memcache://h:1"};
    for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
        fl_config_apply a;
        cfg_init(&a, (char *)urls[i], cp);
        fl_error fe;
        assert_null(fl_target_open(&a, &fe));
        if (!fe.permanent) fail_msg("%s: not permanent: %s", urls[i], fe.msg);
        assert_true(fe.msg[0] != 0);
    }
}

static void test_unreachable_is_retryable(void **state)
{
    (void)state;
    char cp[300], url[100];
    snprintf(cp, sizeof cp, "%s/cp-down", tmpdir);
    snprintf(url, sizeof url, "memcached://127.0.0.1:%d", th_free_port());
    fl_config_apply a;
    cfg_init(&a, url, cp);
    fl_error fe;
    assert_null(fl_target_open(&a, &fe));
    assert_int_equal(fe.permanent, 0);
    assert_non_null(strstr(fe.msg, "memcached"));

    /* one server of two down: the target does not open, and the message names that one */
    if (servers[0] <= 0) return;
    int dead = th_free_port();
    snprintf(url, sizeof url, "memcached://127.0.0.1:%d,127.0.0.1:%d", ports[0], dead);
    cfg_init(&a, url, cp);
    assert_null(fl_target_open(&a, &fe));
    assert_int_equal(fe.permanent, 0);
    char want[64];
    snprintf(want, sizeof want, "memcached 127.0.0.1:%d:", dead);
    if (!strstr(fe.msg, want)) fail_msg("'%s' does not name the server that is down", fe.msg);
}

static fl_cache_op mkop(fl_cache_op_kind kind, const char *key, const char *value, uint32_t ttl)
{
    fl_cache_op op = {.kind = (uint8_t)kind, .key = key, .key_len = (uint32_t)strlen(key), .ttl = ttl};
    if (value) {
        op.value = value;
        op.value_len = (uint32_t)strlen(value);
    }
    return op;
}

static char *mc_get(memcached_st *mc, const char *key, uint32_t *flags)
{
    size_t len = 0;
    memcached_return_t rc;
    uint32_t fl = 0;
    char *v = memcached_get(mc, key, strlen(key), &len, &fl, &rc);
    if (flags) *flags = fl;
    return v;
}

static void test_apply_in_order_with_checkpoint(void **state)
{
    (void)state;
    need_servers();
    char cp[300], url[200], err[256];
    snprintf(cp, sizeof cp, "%s/cp-apply", tmpdir);
    snprintf(url, sizeof url, "memcached://127.0.0.1:%d, 127.0.0.1:%d", ports[0], ports[1]);
    fl_config_apply a;
    cfg_init(&a, url, cp);
    fl_error fe;
    fl_target *t = fl_target_open(&a, &fe);
    if (!t) fail_msg("open: %s", fe.msg);
    assert_string_equal(fl_target_kind(t), "memcached");
    fl_checkpoint got;
    assert_int_equal(fl_target_read_checkpoint(t, &got, err, sizeof err), 1);

    /* 200 keys, then overwrite, then delete some, plus a delete of a key never set */
    static char keys[200][16], vals[200][16];
    fl_cache_op ops1[200];
    for (int i = 0; i < 200; i++) {
        snprintf(keys[i], sizeof keys[i], "k:%d", i);
        snprintf(vals[i], sizeof vals[i], "v%d", i);
        ops1[i] = mkop(FL_CACHE_SET, keys[i], "old", 0);
    }
    fl_cache_ops o = {.ops = ops1, .nops = 200};
    fl_checkpoint c1 = {.seq = 1, .gtid = "0-1-1", .ts = 100};
    int chunked = -1;
    assert_int_equal(fl_target_submit(t, &o, &c1, &chunked, err, sizeof err), 0);
    assert_int_equal(chunked, 0);
    assert_int_equal(fl_target_in_flight(t), 1);

    fl_cache_op ops2[203];
    for (int i = 0; i < 200; i++) ops2[i] = mkop(FL_CACHE_SET, keys[i], vals[i], 0);
    ops2[200] = mkop(FL_CACHE_DEL, keys[7], NULL, 0);
    ops2[201] = mkop(FL_CACHE_DEL, "never-set", NULL, 0);
    ops2[202] = mkop(FL_CACHE_SET, "ttl-key", "x", 1);
    o = (fl_cache_ops){.ops = ops2, .nops = 203};
    fl_checkpoint c2 = {.seq = 2, .gtid = "0-1-2", .ts = 200};
    assert_int_equal(fl_target_submit(t, &o, &c2, &chunked, err, sizeof err), 0);
    assert_int_equal(fl_target_in_flight(t), 2);
    /* not flushed yet: no checkpoint on disk (as another process, e.g. --status, sees it) */
    fl_target *other = fl_target_open(&a, &fe);
    assert_non_null(other);
    assert_int_equal(fl_target_read_checkpoint(other, &got, err, sizeof err), 1);
    fl_target_close(other);
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0);
    assert_int_equal(fl_target_in_flight(t), 0);
    assert_int_equal(fl_target_read_checkpoint(t, &got, err, sizeof err), 0);
    assert_int_equal(got.seq, 2);
    assert_string_equal(got.gtid, "0-1-2");
    assert_int_equal(got.ts, 200);
    struct stat st;
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp", cp);
    assert_int_equal(stat(tmp, &st), -1); /* the temp file was renamed */

    /* read back through a separate handle with the same server choice, and per server */
    memcached_st *mc = fl_memcached_conn_new(url, -1, &fe);
    assert_non_null(mc);
    for (int i = 0; i < 200; i++) {
        char *v = mc_get(mc, keys[i], NULL);
        if (i == 7) {
            assert_null(v);
            continue;
        }
        if (!v) fail_msg("key %s missing", keys[i]);
        assert_string_equal(v, vals[i]);
        free(v);
    }
    int per_server[2] = {0, 0};
    for (int s = 0; s < 2; s++) {
        char one[100];
        snprintf(one, sizeof one, "memcached://127.0.0.1:%d", ports[s]);
        memcached_st *m1 = fl_memcached_conn_new(one, -1, &fe);
        for (int i = 0; i < 200; i++) {
            char *v = mc_get(m1, keys[i], NULL);
            if (v) per_server[s]++;
            free(v);
        }
        memcached_free(m1);
    }
    assert_int_equal(per_server[0] + per_server[1], 199); /* each key on exactly one server */
    assert_true(per_server[0] > 30 && per_server[1] > 30);

    /* the TTL is honoured */
    char *v = mc_get(mc, "ttl-key", NULL);
    assert_non_null(v);
    free(v);
    sleep(2);
    v = mc_get(mc, "ttl-key", NULL);
    assert_null(v);
    memcached_free(mc);

    /* a hash cannot be stored in memcached */
    fl_cache_field f = {.name = "a", .name_len = 1, .value = "b", .value_len = 1};
    fl_cache_op h = mkop(FL_CACHE_HASH, "h", NULL, 0);
    h.fields = &f;
    h.nfields = 1;
    o = (fl_cache_ops){.ops = &h, .nops = 1};
    fl_checkpoint c3 = {.seq = 3, .gtid = "0-1-3", .ts = 300};
    assert_int_equal(fl_target_submit(t, &o, &c3, &chunked, err, sizeof err), -1);
    assert_non_null(strstr(err, "hash"));
    fl_target_close(t);
}

static void test_server_down_mid_stream(void **state)
{
    (void)state;
    need_servers();
    char cp[300], url[200], err[256];
    snprintf(cp, sizeof cp, "%s/cp-kill", tmpdir);
    int port = th_free_port();
    pid_t pid = start_memcached(port);
    assert_true(pid > 0);
    snprintf(url, sizeof url, "memcached://127.0.0.1:%d", port);
    fl_config_apply a;
    cfg_init(&a, url, cp);
    fl_error fe;
    fl_target *t = fl_target_open(&a, &fe);
    if (!t) fail_msg("open: %s", fe.msg);
    fl_cache_op op = mkop(FL_CACHE_SET, "a", "1", 0);
    fl_cache_ops o = {.ops = &op, .nops = 1};
    fl_checkpoint c1 = {.seq = 1, .gtid = "0-1-1", .ts = 1};
    int chunked;
    assert_int_equal(fl_target_submit(t, &o, &c1, &chunked, err, sizeof err), 0);
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fl_checkpoint c2 = {.seq = 2, .gtid = "0-1-2", .ts = 2};
    err[0] = 0;
    assert_int_equal(fl_target_submit(t, &o, &c2, &chunked, err, sizeof err), -1);
    assert_non_null(strstr(err, "memcached: set of key 'a' failed"));
    fl_target_close(t);
    /* the checkpoint still says 1 */
    fl_checkpoint got;
    fl_mc_checkpoint file;
    assert_int_equal(fl_checkpoint_file_read(cp, &file, err, sizeof err), 0);
    assert_int_equal(file.cp.seq, 1);
    char epoch[FL_EPOCH_TEXT_MAX];
    strcpy(epoch, file.server[0].epoch);
    fl_mc_checkpoint_free(&file);

    /* the server comes back empty: the checkpoint no longer holds */
    pid = start_memcached(port);
    assert_true(pid > 0);
    t = fl_target_open(&a, &fe);
    if (!t) fail_msg("reopen: %s", fe.msg);
    assert_int_equal(fl_target_read_checkpoint(t, &got, err, sizeof err), 0);
    assert_int_equal(got.seq, 0);
    assert_true(got.fold_until > 1); /* what it showed before must not be shown older */
    /* applying again sets a new epoch; then the checkpoint holds across reopening */
    assert_int_equal(fl_target_submit(t, &o, &c1, &chunked, err, sizeof err), 0);
    assert_int_equal(fl_target_submit(t, &o, &c2, &chunked, err, sizeof err), 0);
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0);
    fl_target_close(t);
    assert_int_equal(fl_checkpoint_file_read(cp, &file, err, sizeof err), 0);
    assert_string_not_equal(epoch, file.server[0].epoch);
    assert_int_equal(file.server[0].seq, 2);
    fl_mc_checkpoint_free(&file);
    t = fl_target_open(&a, &fe);
    assert_non_null(t);
    assert_int_equal(fl_target_read_checkpoint(t, &got, err, sizeof err), 0);
    assert_int_equal(got.seq, 2);

    /* flushed away while connected: the next flush refuses to cover it with a checkpoint */
    memcached_st *direct = fl_memcached_conn_new(url, -1, &fe);
    assert_int_equal(memcached_flush(direct, 0), MEMCACHED_SUCCESS);
    memcached_free(direct);
    fl_checkpoint c3 = {.seq = 3, .gtid = "0-1-3", .ts = 3};
    assert_int_equal(fl_target_submit(t, &o, &c3, &chunked, err, sizeof err), 0);
    err[0] = 0;
    assert_int_equal(fl_target_flush(t, err, sizeof err), -1);
    assert_non_null(strstr(err, "lost its data"));
    fl_target_close(t);
    assert_int_equal(fl_checkpoint_file_read(cp, &file, err, sizeof err), 0);
    assert_int_equal(file.server[0].seq, 0); /* it holds nothing any more */
    fl_mc_checkpoint_free(&file);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* One server of two restarts empty: only it loses its position; the other keeps its epoch
 * and position, and holds() tells which keys need applying again. */
static void test_one_server_restarts(void **state)
{
    (void)state;
    need_servers();
    char cp[300], url[200], err[256];
    snprintf(cp, sizeof cp, "%s/cp-two", tmpdir);
    snprintf(url, sizeof url, "memcached://127.0.0.1:%d,127.0.0.1:%d", ports[0], ports[1]);
    fl_config_apply a;
    cfg_init(&a, url, cp);
    a.name = "two";
    fl_error fe;
    int chunked;
    fl_target *t = fl_target_open(&a, &fe);
    if (!t) fail_msg("open: %s", fe.msg);
    fl_checkpoint got;
    assert_int_equal(fl_target_read_checkpoint(t, &got, err, sizeof err), 1);
    static char keys[100][16];
    fl_cache_op ops[100];
    for (int i = 0; i < 100; i++) {
        snprintf(keys[i], sizeof keys[i], "two:%d", i);
        ops[i] = mkop(FL_CACHE_SET, keys[i], "v", 0);
    }
    fl_cache_ops o = {.ops = ops, .nops = 100};
    fl_checkpoint c1 = {.seq = 5, .gtid = "0-1-5", .ts = 5};
    assert_int_equal(fl_target_submit(t, &o, &c1, &chunked, err, sizeof err), 0);
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0);
    for (int i = 0; i < 100; i++) {
        assert_true(fl_target_holds(t, keys[i], (uint32_t)strlen(keys[i]), 5));
        assert_false(fl_target_holds(t, keys[i], (uint32_t)strlen(keys[i]), 6));
    }
    fl_target_close(t);
    /* which keys live on the first server */
    bool on_first[100];
    char one[100];
    snprintf(one, sizeof one, "memcached://127.0.0.1:%d", ports[0]);
    memcached_st *m0 = fl_memcached_conn_new(one, -1, &fe);
    for (int i = 0; i < 100; i++) {
        char *v = mc_get(m0, keys[i], NULL);
        on_first[i] = v != NULL;
        free(v);
    }
    memcached_free(m0);
    fl_mc_checkpoint file;
    assert_int_equal(fl_checkpoint_file_read(cp, &file, err, sizeof err), 0);
    assert_int_equal(file.nservers, 2);
    char epoch0[FL_EPOCH_TEXT_MAX];
    strcpy(epoch0, file.server[0].epoch);
    fl_mc_checkpoint_free(&file);

    /* the second server restarts empty */
    kill(servers[1], SIGKILL);
    waitpid(servers[1], NULL, 0);
    servers[1] = start_memcached(ports[1]);
    assert_true(servers[1] > 0);
    t = fl_target_open(&a, &fe);
    if (!t) fail_msg("reopen: %s", fe.msg);
    assert_int_equal(fl_target_read_checkpoint(t, &got, err, sizeof err), 0);
    assert_int_equal(got.seq, 0);     /* the lowest position: the refilled server's */
    assert_true(got.fold_until >= 5); /* what may be visible is folded */
    int first = 0;
    for (int i = 0; i < 100; i++) {
        /* the healthy server's keys are held, the restarted one's are not */
        assert_int_equal(fl_target_holds(t, keys[i], (uint32_t)strlen(keys[i]), 5), on_first[i]);
        first += on_first[i];
    }
    assert_true(first > 10 && first < 90);
    /* the refill reaches seq 5, and then both hold everything up to it */
    fl_cache_op refill[100];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        if (!on_first[i]) refill[n++] = ops[i];
    o = (fl_cache_ops){.ops = refill, .nops = n};
    assert_int_equal(fl_target_submit(t, &o, &c1, &chunked, err, sizeof err), 0);
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0);
    assert_int_equal(fl_checkpoint_file_read(cp, &file, err, sizeof err), 0);
    assert_string_equal(file.server[0].epoch, epoch0); /* the healthy server kept its epoch */
    assert_string_not_equal(file.server[1].epoch, epoch0);
    assert_int_equal(file.server[0].seq, 5);
    assert_int_equal(file.server[1].seq, 5);
    fl_mc_checkpoint_free(&file);
    memcached_st *mc = fl_memcached_conn_new(url, -1, &fe);
    for (int i = 0; i < 100; i++) {
        char *v = mc_get(mc, keys[i], NULL);
        if (!v) fail_msg("key %s missing after the refill", keys[i]);
        free(v);
    }
    memcached_free(mc);
    /* a replay from seq 3 holds nothing from there on */
    fl_target_rewind(t, 3);
    for (int i = 0; i < 100; i++) {
        assert_false(fl_target_holds(t, keys[i], (uint32_t)strlen(keys[i]), 3));
        assert_true(fl_target_holds(t, keys[i], (uint32_t)strlen(keys[i]), 2));
    }
    fl_target_close(t);

    /* a server gone from the URL: its keys move to the others, so every server is refilled */
    snprintf(url, sizeof url, "memcached://127.0.0.1:%d", ports[0]);
    cfg_init(&a, url, cp);
    a.name = "two";
    t = fl_target_open(&a, &fe);
    assert_non_null(t);
    assert_int_equal(fl_target_read_checkpoint(t, &got, err, sizeof err), 0);
    assert_int_equal(got.seq, 0);
    assert_false(fl_target_holds(t, keys[0], (uint32_t)strlen(keys[0]), 1));
    fl_target_close(t);
}

/* SASL PLAIN against a server with a sasldb (needs saslpasswd2 and the PLAIN plugin). */
static void test_sasl(void **state)
{
    (void)state;
    need_servers();
    char cmd[600], conf[300], url[200], cp[300], err[256];
    snprintf(cmd, sizeof cmd,
             "command -v saslpasswd2 >/dev/null && echo 'p@ss:w' | saslpasswd2 -p -c -a memcached -f '%s/sasldb2' "
             "fl",
             tmpdir);
    if (system(cmd) != 0) skip();
    snprintf(conf, sizeof conf, "%s/memcached.conf", tmpdir);
    FILE *f = fopen(conf, "w");
    fprintf(f, "mech_list: plain\nsasldb_path: %s/sasldb2\n", tmpdir);
    fclose(f);
    int port = th_free_port();
    pid_t pid = start_memcached_with(port, tmpdir);
    assert_true(pid > 0);
    snprintf(cp, sizeof cp, "%s/cp-sasl", tmpdir);
    fl_config_apply a;
    fl_error fe;
    int chunked = 0;
    fl_cache_op op = mkop(FL_CACHE_SET, "s", "1", 0);
    fl_cache_ops o = {.ops = &op, .nops = 1};
    fl_checkpoint c1 = {.seq = 1, .gtid = "0-1-1", .ts = 1};

    /* the password has '@' and ':', written %-escaped */
    snprintf(url, sizeof url, "memcached://fl:p%%40ss%%3Aw@127.0.0.1:%d", port);
    cfg_init(&a, url, cp);
    fl_target *t = fl_target_open(&a, &fe);
    if (!t) fail_msg("open with SASL: %s", fe.msg);
    assert_int_equal(fl_target_submit(t, &o, &c1, &chunked, err, sizeof err), 0);
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0);
    fl_target_close(t);

    snprintf(url, sizeof url, "memcached://fl:wrong@127.0.0.1:%d", port);
    cfg_init(&a, url, cp);
    err[0] = 0;
    t = fl_target_open(&a, &fe);
    assert_null(t);
    assert_int_equal(fe.permanent, 0);
    assert_non_null(strstr(fe.msg, "AUTHENTICATION FAILURE"));
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoint_file),
        cmocka_unit_test(test_bad_urls_are_permanent),
        cmocka_unit_test(test_unreachable_is_retryable),
        cmocka_unit_test(test_apply_in_order_with_checkpoint),
        cmocka_unit_test(test_server_down_mid_stream),
        cmocka_unit_test(test_one_server_restarts),
        cmocka_unit_test(test_sasl),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
