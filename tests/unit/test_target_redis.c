/* test_target_redis.c — the Redis target against a private redis-server started by the test:
 * URL mistakes (permanent) and an unreachable server (not), commands and TTLs of each
 * operation kind, the checkpoint round trip, chunking above max_atomic_ops, the pipeline's
 * bound, error replies (a wrong type, a corrupt checkpoint), AUTH with and without a user,
 * SELECT, and a server that goes away with transactions in flight. The checkpoint chain: a
 * block refused mid-pipeline keeps every later checkpoint from being written, a writer that
 * did not see the latest checkpoint is refused, and the fence ends the previous connection.
 * A replay below the checkpoint leaves fold_until at the latest transaction checkpointed; a
 * rebuild sets it to the head it folds to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fl-apply/target.h"
#include "tests/unit/helpers.h"

static pid_t server = -1;
static int port;
static char url[128];

static redisContext *admin(void)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (!c || c->err) {
        if (c) redisFree(c);
        return NULL;
    }
    return c;
}

static int start_server(void **state)
{
    (void)state;
    port = th_free_port();
    server = th_redis_start(port);
    if (server < 0) return -1;
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/3", port);
    return 0;
}

static void stop_server(void) { th_process_stop(&server); }

static int teardown_server(void **state)
{
    (void)state;
    stop_server();
    return 0;
}

/* Runs a command on database 3 with a fresh connection; returns the reply (caller frees). */
static redisReply *cmd(const char *fmt, ...)
{
    redisContext *c = admin();
    assert_non_null(c);
    redisReply *sel = redisCommand(c, "SELECT 3");
    if (sel) freeReplyObject(sel);
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    assert_non_null(r);
    return r;
}

/* The same for commands whose reply does not matter. */
#define run(...) freeReplyObject(cmd(__VA_ARGS__))

static void expect_str(const char *key, const char *want)
{
    redisReply *r = cmd("GET %s", key);
    if (!want)
        assert_int_equal(r->type, REDIS_REPLY_NIL);
    else {
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        assert_string_equal(r->str, want);
    }
    freeReplyObject(r);
}

static long long int_reply(const char *fmt, const char *key)
{
    redisReply *r = cmd(fmt, key);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static fl_target *open_url(const char *u, uint32_t max_atomic_ops)
{
    fl_config_apply cfg = {.name = "t", .target = (char *)u, .max_atomic_ops = max_atomic_ops};
    fl_error fe;
    fl_target *t = fl_target_open(&cfg, &fe);
    if (!t) print_message("open %s: %s\n", u, fe.msg);
    assert_non_null(t);
    assert_string_equal(fl_target_kind(t), "redis");
    return t;
}

static fl_checkpoint cp_of(uint64_t seq)
{
    fl_checkpoint cp = {.seq = seq, .ts = 1700000000 + seq};
    snprintf(cp.gtid, sizeof cp.gtid, "0-1-%llu", (unsigned long long)seq);
    snprintf(cp.journal, sizeof cp.journal, "00112233445566778899aabbccddee%02llu", (unsigned long long)seq % 100);
    return cp;
}

static fl_cache_op set_op(const char *key, const char *value, uint32_t ttl)
{
    return (fl_cache_op){.kind = FL_CACHE_SET,
                         .key = key,
                         .key_len = (uint32_t)strlen(key),
                         .value = value,
                         .value_len = (uint32_t)strlen(value),
                         .ttl = ttl};
}

static void submit(fl_target *t, fl_cache_op *list, size_t n, uint64_t seq, int *chunked)
{
    fl_cache_ops ops = {.ops = list, .nops = n};
    fl_checkpoint cp = cp_of(seq);
    char err[256];
    int c = -1;
    int rc = fl_target_submit(t, &ops, &cp, &c, err, sizeof err);
    if (rc) print_message("submit seq %llu: %s\n", (unsigned long long)seq, err);
    assert_int_equal(rc, 0);
    if (chunked) *chunked = c;
}

static void test_bad_urls(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "redis://127.0.0.1",                 /* no port */
        "redis://user@127.0.0.1:6379",       /* credentials without ':' */
        "redis://127.0.0.1:6379/abc",        /* database not a number */
        "redis://127.0.0.1:6379/70000",      /* database out of range */
        "redis://a:%zz@127.0.0.1:6379",      /* bad %-escape */
        "redis+unix://relative/path",        /* not absolute */
        "redis+unix:///tmp/r.sock?colour=1", /* unknown parameter */
        "redis+unix:///tmp/r.sock?db",       /* parameter without a value */
        "redis+unix:///tmp/r.sock?user=u",   /* a user without a password */
        "redisx://127.0.0.1:6379",           /* unknown scheme */
        "rediss://127.0.0.1",                /* TLS, no port */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fl_config_apply cfg = {.name = "t", .target = (char *)bad[i], .max_atomic_ops = 10};
        fl_error fe;
        assert_null(fl_target_open(&cfg, &fe));
        if (!fe.permanent) print_message("not permanent: %s (%s)\n", bad[i], fe.msg);
        assert_int_equal(fe.permanent, 1);
        assert_true(strlen(fe.msg) > 10);
    }
    /* the password never appears in a message */
    fl_config_apply cfg = {.name = "t", .target = "redis://u:s3cr3t@127.0.0.1/x", .max_atomic_ops = 10};
    fl_error fe;
    assert_null(fl_target_open(&cfg, &fe));
    assert_null(strstr(fe.msg, "s3cr3t"));
}

static void test_unreachable(void **state)
{
    (void)state;
    char u[64];
    snprintf(u, sizeof u, "redis://127.0.0.1:%d/0", th_free_port());
    fl_config_apply cfg = {.name = "t", .target = u, .max_atomic_ops = 10};
    fl_error fe;
    assert_null(fl_target_open(&cfg, &fe));
    assert_int_equal(fe.permanent, 0); /* retried by the applier */
    assert_non_null(strstr(fe.msg, "cannot connect to 127.0.0.1:"));
}

static void test_operations_and_checkpoint(void **state)
{
    (void)state;
    fl_target *t = open_url(url, 100);
    fl_checkpoint cp;
    char err[256];
    assert_int_equal(fl_target_read_checkpoint(t, &cp, err, sizeof err), 1);

    run("SET h:old stale"); /* a HASH op replaces whatever was there */
    fl_cache_field f[2] = {{"a", "1", 1, 1}, {"name", "x y", 4, 3}};
    fl_cache_op ops1[] = {
        set_op("k:1", "{\"id\":1}", 0),
        set_op("k:2", "two", 60),
        {.kind = FL_CACHE_HASH, .key = "h:old", .key_len = 5, .fields = f, .nfields = 2, .ttl = 30},
    };
    submit(t, ops1, 3, 1, NULL);
    fl_cache_op ops2[] = {
        {.kind = FL_CACHE_DEL, .key = "k:1", .key_len = 3},
        {.kind = FL_CACHE_HASH, .key = "h:empty", .key_len = 7, .fields = f, .nfields = 0},
    };
    submit(t, ops2, 2, 2, NULL);
    submit(t, NULL, 0, 3, NULL); /* a transaction without operations: just the checkpoint */
    assert_true(fl_target_in_flight(t) >= 1);
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0);
    assert_int_equal(fl_target_in_flight(t), 0);

    expect_str("k:1", NULL);
    expect_str("k:2", "two");
    long long ttl = int_reply("TTL %s", "k:2");
    assert_true(ttl > 50 && ttl <= 60);
    redisReply *r = cmd("HGETALL h:old");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 4);
    assert_string_equal(r->element[0]->str, "a");
    assert_string_equal(r->element[1]->str, "1");
    assert_string_equal(r->element[2]->str, "name");
    assert_string_equal(r->element[3]->str, "x y");
    freeReplyObject(r);
    ttl = int_reply("TTL %s", "h:old");
    assert_true(ttl > 20 && ttl <= 30);
    assert_int_equal(int_reply("EXISTS %s", "h:empty"), 0);

    assert_int_equal(fl_target_read_checkpoint(t, &cp, err, sizeof err), 0);
    assert_int_equal(cp.seq, 3);
    assert_string_equal(cp.gtid, "0-1-3");
    assert_int_equal(cp.ts, 1700000003);
    assert_string_equal(cp.journal, "00112233445566778899aabbccddee03");
    fl_target_close(t);
    /* a checkpoint written by an earlier version names no journal */
    run("DEL fastlane:checkpoint:t");
    run("HSET fastlane:checkpoint:t seq 9 gtid 0-1-9 ts 5");
    t = open_url(url, 100);
    assert_int_equal(fl_target_read_checkpoint(t, &cp, err, sizeof err), 0);
    assert_int_equal(cp.seq, 9);
    assert_string_equal(cp.journal, "");
    fl_target_close(t);
    run("FLUSHDB");
}

static void test_chunks(void **state)
{
    (void)state;
    fl_target *t = open_url(url, 2);
    fl_cache_op ops[5] = {set_op("c:1", "1", 0), set_op("c:2", "2", 0), set_op("c:3", "3", 0),
                          set_op("c:4", "4", 0), set_op("c:1", "5", 0)};
    int chunked = -1;
    submit(t, ops, 2, 1, &chunked);
    assert_int_equal(chunked, 0); /* max_atomic_ops ops still go as one MULTI/EXEC */
    submit(t, ops, 5, 2, &chunked);
    assert_int_equal(chunked, 1);
    char err[256];
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0);
    expect_str("c:1", "5"); /* in order: the later write wins */
    expect_str("c:4", "4");
    fl_checkpoint cp;
    assert_int_equal(fl_target_read_checkpoint(t, &cp, err, sizeof err), 0);
    assert_int_equal(cp.seq, 2);
    fl_target_close(t);
    run("FLUSHDB");
}

/* DEL_MATCH: every key matching the pattern is deleted in the transaction, including keys
 * an earlier transaction still in the pipeline wrote; a key the same transaction writes
 * after the operation, other keys and the applier's own keys stay */
static void test_delete_by_pattern(void **state)
{
    (void)state;
    fl_target *t = open_url(url, 100);
    assert_true(fl_target_deletes_by_pattern(t));
    for (int i = 0; i < 1200; i++) run("SET m:%d x", i);
    run("SET n:1 keep");
    run("SET fastlane:mine keep");
    fl_cache_op early[1] = {set_op("m:late", "1", 0)};
    submit(t, early, 1, 1, NULL); /* not flushed: still in the pipeline */
    fl_cache_op ops[3] = {set_op("p:1", "1", 0),
                          {.kind = FL_CACHE_DEL_MATCH, .key = "m:*", .key_len = 3, .rule = "rule m (test)"},
                          set_op("m:new", "2", 0)};
    submit(t, ops, 3, 2, NULL);
    char err[256];
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0);
    assert_int_equal(int_reply("EXISTS %s", "m:0"), 0);
    assert_int_equal(int_reply("EXISTS %s", "m:1199"), 0);
    assert_int_equal(int_reply("EXISTS %s", "m:late"), 0);
    expect_str("m:new", "2");
    expect_str("n:1", "keep");
    expect_str("fastlane:mine", "keep");
    expect_str("p:1", "1");
    fl_checkpoint cp;
    assert_int_equal(fl_target_read_checkpoint(t, &cp, err, sizeof err), 0);
    assert_int_equal(cp.seq, 2);
    fl_target_close(t);
    run("FLUSHDB");
}

/* more keys than one MULTI takes: the ones found first go before the transaction, all go */
static void test_delete_by_pattern_many(void **state)
{
    (void)state;
    fl_target *t = open_url(url, 100);
    run("EVAL %s 0", "for i = 1, 100300 do redis.call('SET', 'big:' .. i, 'x') end");
    run("SET bigx keep");
    fl_cache_op ops[1] = {{.kind = FL_CACHE_DEL_MATCH, .key = "b?g:*", .key_len = 5, .rule = "rule big (test)"}};
    submit(t, ops, 1, 3, NULL);
    char err[256];
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0);
    assert_int_equal(int_reply("EXISTS %s", "big:1"), 0);
    assert_int_equal(int_reply("EXISTS %s", "big:100300"), 0);
    expect_str("bigx", "keep");
    redisReply *r = cmd("DBSIZE");
    assert_int_equal(r->integer, 2); /* bigx and the checkpoint */
    freeReplyObject(r);
    fl_target_close(t);
    run("FLUSHDB");
}

static void test_pipeline_is_bounded(void **state)
{
    (void)state;
    fl_target *t = open_url(url, 100);
    uint32_t most = 0;
    char key[32];
    for (uint64_t i = 1; i <= 5000; i++) {
        snprintf(key, sizeof key, "p:%llu", (unsigned long long)i);
        fl_cache_op op = set_op(key, "v", 0);
        submit(t, &op, 1, i, NULL);
        if (fl_target_in_flight(t) > most) most = fl_target_in_flight(t);
    }
    assert_true(most > 100);   /* many transactions in flight at once */
    assert_true(most <= 1001); /* and a bound on them */
    char err[256];
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0);
    redisReply *r = cmd("DBSIZE");
    assert_int_equal(r->integer, 5001); /* 5000 keys and the checkpoint */
    freeReplyObject(r);
    fl_target_close(t);
    run("FLUSHDB");
}

static void test_error_replies(void **state)
{
    (void)state;
    fl_target *t = open_url(url, 100);
    char err[256];
    run("SET fastlane:checkpoint:t not-a-hash");
    fl_checkpoint cp;
    assert_int_equal(fl_target_read_checkpoint(t, &cp, err, sizeof err), -1);
    assert_non_null(strstr(err, "WRONGTYPE"));
    fl_target_close(t);

    t = open_url(url, 100);
    fl_cache_op op = set_op("e:1", "x", 0);
    submit(t, &op, 1, 7, NULL);
    int rc = fl_target_flush(t, err, sizeof err);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "transaction seq 7"));
    assert_non_null(strstr(err, "WRONGTYPE"));
    fl_target_close(t);

    run("DEL fastlane:checkpoint:t");
    run("HSET fastlane:checkpoint:t seq 12x gtid 0-1-1");
    t = open_url(url, 100);
    assert_int_equal(fl_target_read_checkpoint(t, &cp, err, sizeof err), -1);
    assert_non_null(strstr(err, "seq is not a number"));
    fl_target_close(t);
    run("FLUSHDB");
}

static void test_auth(void **state)
{
    (void)state;
    run("ACL SETUSER app on >p@ss ~* +@all");
    run("CONFIG SET requirepass topsecret");
    char u[160];
    fl_config_apply cfg = {.name = "t", .target = url, .max_atomic_ops = 10};
    fl_error fe;
    char err[256];
    assert_null(fl_target_open(&cfg, &fe)); /* no password: SELECT refused */
    assert_int_equal(fe.permanent, 0);
    assert_non_null(strstr(fe.msg, "NOAUTH"));

    snprintf(u, sizeof u, "redis://:topsecret@127.0.0.1:%d/3", port);
    fl_target *t = open_url(u, 10);
    fl_cache_op op = set_op("auth:1", "default user", 0);
    submit(t, &op, 1, 1, NULL);
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0);
    fl_target_close(t);

    snprintf(u, sizeof u, "redis://app:p%%40ss@127.0.0.1:%d/3", port);
    t = open_url(u, 10);
    op = set_op("auth:2", "acl user", 0);
    submit(t, &op, 1, 2, NULL);
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0);
    fl_target_close(t);

    snprintf(u, sizeof u, "redis://app:wrong@127.0.0.1:%d/3", port);
    cfg.target = u;
    assert_null(fl_target_open(&cfg, &fe));
    assert_non_null(strstr(fe.msg, "AUTH refused"));
    assert_null(strstr(fe.msg, "wrong"));

    /* undo: the admin connection has no password */
    redisContext *c = admin();
    redisReply *r = redisCommand(c, "AUTH topsecret");
    freeReplyObject(r);
    r = redisCommand(c, "CONFIG SET requirepass %s", "");
    freeReplyObject(r);
    redisFree(c);
    expect_str("auth:1", "default user");
    expect_str("auth:2", "acl user");
    run("FLUSHDB");
}

static uint64_t checkpoint_seq(void)
{
    fl_target *t = open_url(url, 100);
    fl_checkpoint cp;
    char err[256];
    int r = fl_target_read_checkpoint(t, &cp, err, sizeof err);
    assert_true(r >= 0);
    fl_target_close(t);
    return r == 0 ? cp.seq : 0;
}

static void test_refused_block_holds_the_checkpoint(void **state)
{
    (void)state;
    run("ACL SETUSER partial on >pw ~k:* ~fastlane:* +@all");
    char u[160];
    snprintf(u, sizeof u, "redis://partial:pw@127.0.0.1:%d/3", port);
    fl_target *t = open_url(u, 100);
    fl_cache_op ok1 = set_op("k:1", "1", 0), refused = set_op("x:2", "2", 0), ok3 = set_op("k:3", "3", 0);
    submit(t, &ok1, 1, 1, NULL);
    submit(t, &refused, 1, 2, NULL);
    submit(t, &ok3, 1, 3, NULL);
    submit(t, NULL, 0, 4, NULL); /* a checkpoint-only block behind it */
    char err[512];
    assert_int_equal(fl_target_flush(t, err, sizeof err), -1);
    assert_non_null(strstr(err, "transaction seq 2"));
    assert_non_null(strstr(err, "NOPERM"));
    assert_non_null(strstr(err, "grant the ACL user"));
    fl_target_close(t);
    assert_int_equal(checkpoint_seq(), 1); /* neither 3 nor 4 went past the refused 2 */
    run("ACL DELUSER partial");
    run("FLUSHDB");
}

static void test_chain_refuses_a_stale_writer(void **state)
{
    (void)state;
    fl_target *a = open_url(url, 100), *b = open_url(url, 100);
    fl_checkpoint cp;
    char err[512];
    assert_int_equal(fl_target_read_checkpoint(a, &cp, err, sizeof err), 1);
    assert_int_equal(fl_target_read_checkpoint(b, &cp, err, sizeof err), 1);
    fl_cache_op op = set_op("s:1", "from b", 0);
    submit(b, &op, 1, 5, NULL);
    assert_int_equal(fl_target_flush(b, err, sizeof err), 0);
    op = set_op("s:2", "from a", 0);
    submit(a, &op, 1, 3, NULL); /* a did not see b's checkpoint */
    assert_int_equal(fl_target_flush(a, err, sizeof err), -1);
    assert_non_null(strstr(err, "FLCHAIN"));
    assert_int_equal(checkpoint_seq(), 5);
    fl_target_close(a);
    fl_target_close(b);
    run("FLUSHDB");
}

static void test_fence_ends_the_previous_connection(void **state)
{
    (void)state;
    fl_target *old = open_url(url, 100);
    char err[512];
    assert_int_equal(fl_target_fence(old, err, sizeof err), 0);
    assert_int_equal(int_reply("EXISTS %s", "fastlane:checkpoint:t"), 0); /* no checkpoint: nothing written */
    fl_cache_op op = set_op("f:1", "old", 0);
    submit(old, &op, 1, 1, NULL);
    assert_int_equal(fl_target_flush(old, err, sizeof err), 0); /* its checkpoint names its connection */
    fl_target *now = open_url(url, 100);
    assert_int_equal(fl_target_fence(now, err, sizeof err), 0);
    fl_checkpoint cp;
    assert_int_equal(fl_target_read_checkpoint(now, &cp, err, sizeof err), 0);
    assert_int_equal(cp.seq, 1);
    op = set_op("f:2", "stale", 0);
    fl_cache_ops ops = {.ops = &op, .nops = 1};
    fl_checkpoint cp2 = cp_of(2);
    int chunked, rc = fl_target_submit(old, &ops, &cp2, &chunked, err, sizeof err);
    if (rc == 0) rc = fl_target_flush(old, err, sizeof err);
    assert_int_equal(rc, -1); /* killed: nothing it sends runs */
    expect_str("f:2", NULL);
    assert_int_equal(fl_target_flush(now, err, sizeof err), 0);
    fl_target_close(old);
    fl_target_close(now);
    run("FLUSHDB");
}

static fl_checkpoint read_cp(void)
{
    fl_target *t = open_url(url, 100);
    fl_checkpoint cp;
    char err[256];
    assert_int_equal(fl_target_read_checkpoint(t, &cp, err, sizeof err), 0);
    fl_target_close(t);
    return cp;
}

static void test_replay_keeps_fold_until(void **state)
{
    (void)state;
    fl_target *t = open_url(url, 100);
    char err[256];
    fl_checkpoint cp;
    assert_int_equal(fl_target_read_checkpoint(t, &cp, err, sizeof err), 1);
    submit(t, NULL, 0, 5, NULL);
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0);
    fl_target_close(t);
    cp = read_cp();
    assert_int_equal(cp.seq, 5);
    assert_int_equal(cp.fold_until, 0); /* nothing after seq 5 can be visible */

    t = open_url(url, 100); /* a replay from seq 2 */
    assert_int_equal(fl_target_read_checkpoint(t, &cp, err, sizeof err), 0);
    submit(t, NULL, 0, 2, NULL);
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0);
    fl_target_close(t);
    cp = read_cp();
    assert_int_equal(cp.seq, 2);
    assert_int_equal(cp.fold_until, 5); /* a restart now must fold 3..5 */

    t = open_url(url, 100);
    assert_int_equal(fl_target_read_checkpoint(t, &cp, err, sizeof err), 0);
    for (uint64_t seq = 3; seq <= 6; seq++) submit(t, NULL, 0, seq, NULL);
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0);
    fl_target_close(t);
    cp = read_cp();
    assert_int_equal(cp.seq, 6);
    assert_int_equal(cp.fold_until, 0);
    run("FLUSHDB");
}

/* a rebuild marks the head it folds to, whatever earlier checkpoints said (another
 * journal's seqs): a restart midway folds the rest */
static void test_rebuild_marks_its_fold(void **state)
{
    (void)state;
    fl_target *t = open_url(url, 100);
    char err[256];
    fl_checkpoint cp;
    assert_int_equal(fl_target_read_checkpoint(t, &cp, err, sizeof err), 1);
    submit(t, NULL, 0, 900, NULL); /* a checkpoint far ahead, as another journal's can be */
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0);
    fl_target_close(t);

    t = open_url(url, 100);
    assert_int_equal(fl_target_read_checkpoint(t, &cp, err, sizeof err), 0);
    assert_int_equal(cp.seq, 900);
    fl_target_will_show(t, 40); /* rebuilding seq 10..40 */
    submit(t, NULL, 0, 12, NULL);
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0);
    fl_target_close(t);
    cp = read_cp();
    assert_int_equal(cp.seq, 12);
    assert_int_equal(cp.fold_until, 40); /* not 900 */
    run("FLUSHDB");
}

static void test_server_gone(void **state)
{
    (void)state;
    fl_target *t = open_url(url, 100);
    char err[256];
    assert_int_equal(fl_target_flush(t, err, sizeof err), 0); /* idle and alive */
    stop_server();
    fl_cache_op op = set_op("g:1", "x", 0);
    fl_cache_ops ops = {.ops = &op, .nops = 1};
    fl_checkpoint cp = cp_of(1);
    int chunked;
    int rc = fl_target_submit(t, &ops, &cp, &chunked, err, sizeof err);
    if (rc == 0) rc = fl_target_flush(t, err, sizeof err);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "redis: "));
    fl_target_close(t);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_operations_and_checkpoint),
        cmocka_unit_test(test_chunks),
        cmocka_unit_test(test_delete_by_pattern),
        cmocka_unit_test(test_delete_by_pattern_many),
        cmocka_unit_test(test_pipeline_is_bounded),
        cmocka_unit_test(test_error_replies),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_refused_block_holds_the_checkpoint),
        cmocka_unit_test(test_chain_refuses_a_stale_writer),
        cmocka_unit_test(test_fence_ends_the_previous_connection),
        cmocka_unit_test(test_replay_keeps_fold_until),
        cmocka_unit_test(test_rebuild_marks_its_fold),
        cmocka_unit_test(test_server_gone),
    };
    return cmocka_run_group_tests(tests, start_server, teardown_server);
}
