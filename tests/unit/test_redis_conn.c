/* test_redis_conn.c — the Redis connection against a private redis-server: a bad URL is
 * permanent and an unreachable server is not, commands one at a time and pipelined, the
 * raw send/receive path the target drives, SELECT, and AUTH refusals that never quote the
 * password. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "fl-apply/redis_conn.h"
#include "tests/unit/helpers.h"

static fl_redis_conn *open_db(unsigned db)
{
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/%u", th_redis_port, db);
    fl_error e;
    fl_redis_conn *c = fl_redis_conn_open(url, NULL, &e);
    if (!c) fail_msg("open %s: %s", url, e.msg);
    return c;
}

static redisReply *command(fl_redis_conn *c, const char *a0, const char *a1, const char *a2)
{
    const char *argv[3] = {a0, a1, a2};
    size_t lens[3] = {strlen(a0), a1 ? strlen(a1) : 0, a2 ? strlen(a2) : 0};
    fl_error e;
    redisReply *r = fl_redis_conn_command(c, a2 ? 3 : a1 ? 2 : 1, argv, lens, &e);
    if (!r) fail_msg("%s: %s", a0, e.msg);
    return r;
}

static void test_refusals(void **state)
{
    (void)state;
    fl_error e;
    assert_null(fl_redis_conn_open("redis://127.0.0.1", NULL, &e)); /* no port */
    assert_true(e.permanent);
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", th_free_port());
    assert_null(fl_redis_conn_open(url, NULL, &e));
    assert_false(e.permanent); /* nobody listens now; someone may later */
    assert_non_null(strstr(e.msg, "redis: cannot connect to 127.0.0.1:"));
    snprintf(url, sizeof url, "redis://:s3cr3t@127.0.0.1:%d/0", th_redis_port);
    assert_null(fl_redis_conn_open(url, NULL, &e)); /* the server has no password */
    assert_false(e.permanent);
    assert_non_null(strstr(e.msg, "redis: AUTH refused: "));
    assert_null(strstr(e.msg, "s3cr3t"));
}

static void test_commands_and_select(void **state)
{
    (void)state;
    fl_redis_conn *c = open_db(5);
    redisReply *r = command(c, "SET", "k", "in five");
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    fl_redis_conn_close(c);

    c = open_db(0);
    r = command(c, "GET", "k", NULL);
    assert_int_equal(r->type, REDIS_REPLY_NIL); /* SELECT put it elsewhere */
    freeReplyObject(r);
    r = command(c, "SELECT", "5", NULL);
    freeReplyObject(r);
    r = command(c, "GET", "k", NULL);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "in five");
    freeReplyObject(r);
    r = command(c, "NOSUCHCOMMAND", NULL, NULL); /* an error reply is a reply */
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    fl_redis_conn_close(c);
}

static void test_pipelined_replies_in_order(void **state)
{
    (void)state;
    fl_redis_conn *c = open_db(1);
    char key[16], val[16];
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "p%d", i);
        snprintf(val, sizeof val, "v%d", i);
        const char *argv[3] = {"SET", key, val};
        size_t lens[3] = {3, strlen(key), strlen(val)};
        fl_redis_conn_append(c, 3, argv, lens);
        argv[0] = "GET";
        fl_redis_conn_append(c, 2, argv, lens);
    }
    fl_error e;
    for (int i = 0; i < 500; i++) {
        redisReply *set = fl_redis_conn_reply(c, &e), *get = set ? fl_redis_conn_reply(c, &e) : NULL;
        if (!get) fail_msg("reply %d: %s", i, e.msg);
        snprintf(val, sizeof val, "v%d", i);
        assert_int_equal(set->type, REDIS_REPLY_STATUS);
        assert_string_equal(get->str, val);
        freeReplyObject(set);
        freeReplyObject(get);
    }
    fl_redis_conn_close(c);
}

/* The path the target drives: its own RESP bytes out, replies parsed as they arrive. */
static void test_send_and_receive(void **state)
{
    (void)state;
    fl_redis_conn *c = open_db(2);
    const char req[] = "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n";
    fl_error e;
    size_t sent = 0;
    while (sent < sizeof req - 1) {
        ssize_t n = fl_redis_conn_send(c, req + sent, sizeof req - 1 - sent, &e);
        assert_true(n >= 0);
        sent += (size_t)n;
    }
    redisReply *got[2] = {NULL, NULL};
    int ngot = 0;
    while (ngot < 2) {
        int ready = fl_redis_conn_wait(c, false, FL_REDIS_IO_TIMEOUT_MS, &e);
        assert_true(ready & FL_REDIS_READABLE);
        assert_true(fl_redis_conn_receive(c, &e) >= 0);
        redisReply *r;
        while (ngot < 2 && fl_redis_conn_next_reply(c, &r, &e) == 1) got[ngot++] = r;
    }
    assert_string_equal(got[0]->str, "PONG");
    assert_string_equal(got[1]->str, "hi");
    freeReplyObject(got[0]);
    freeReplyObject(got[1]);
    assert_int_equal(fl_redis_conn_wait(c, false, 0, &e), 0); /* nothing more is coming */
    fl_redis_conn_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_commands_and_select),
        cmocka_unit_test(test_pipelined_replies_in_order),
        cmocka_unit_test(test_send_and_receive),
    };
    return cmocka_run_group_tests(tests, th_redis_group_start, th_redis_group_stop);
}
