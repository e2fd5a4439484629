/* test_applier_lease.c — the lease fastlane:applier:NAME (fl-apply/applier_lease.h) against a
 * private redis-server: claimed when free, renewed, given up only by its holder; another run's
 * lease is taken over when none of its connections is left, also when a connection of that
 * name lives in another database, and refused (1, after the grace) while one stays; a run that
 * lost its lease learns it at renewal; the connections of the name are listed but for the
 * caller's own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "fl-apply/applier_lease.h"
#include "tests/unit/helpers.h"

#define OTHER_RUN "0123456789abcdef0123456789abcdef" /* a token no run of this process draws */

/* A plain hiredis connection to database db, named name when not NULL. */
static redisContext *client(int db, const char *name)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", th_redis_port, tv);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    freeReplyObject(redisCommand(c, "SELECT %d", db));
    if (name) freeReplyObject(redisCommand(c, "CLIENT SETNAME %s", name));
    return c;
}

static char *lease_value(char *buf, size_t cap)
{
    redisContext *c = client(0, NULL);
    redisReply *r = redisCommand(c, "GET fastlane:applier:t");
    snprintf(buf, cap, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    redisFree(c);
    return buf;
}

static void set_lease(const char *token)
{
    redisContext *c = client(0, NULL);
    freeReplyObject(redisCommand(c, "SET fastlane:applier:t %s PX 15000", token));
    redisFree(c);
}

/* The applier's connection on database 0, named fastlane-apply:t, with its CLIENT ID. */
static fl_redis_conn *applier_conn(char id[24])
{
    char u[64];
    snprintf(u, sizeof u, "redis://127.0.0.1:%d/0", th_redis_port);
    fl_error e;
    fl_redis_conn *c = fl_redis_conn_open(u, NULL, &e);
    assert_non_null(c);
    const char *argv[3] = {"CLIENT", "SETNAME", "fastlane-apply:t"};
    size_t lens[3] = {6, 7, 16};
    freeReplyObject(fl_redis_conn_command(c, 3, argv, lens, &e));
    argv[1] = "ID";
    lens[1] = 2;
    redisReply *r = fl_redis_conn_command(c, 2, argv, lens, &e);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    snprintf(id, 24, "%lld", r->integer);
    freeReplyObject(r);
    return c;
}

static void test_claim_renew_release(void **state)
{
    (void)state;
    fl_applier_lease l;
    fl_applier_lease_init(&l, "redis", "t");
    assert_string_equal(l.key, "fastlane:applier:t");
    assert_string_equal(l.client_name, "fastlane-apply:t");
    char id[24], err[512], v[64], mine[64];
    fl_redis_conn *c = applier_conn(id);
    assert_int_equal(fl_applier_lease_claim(&l, c, "", id, err, sizeof err), 0);
    assert_true(l.held);
    lease_value(mine, sizeof mine);
    assert_int_equal(strlen(mine), FL_RUN_TOKEN_LEN);
    /* a second claim by the same run (a reconnection) keeps its token */
    assert_int_equal(fl_applier_lease_claim(&l, c, "", id, err, sizeof err), 0);
    assert_string_equal(lease_value(v, sizeof v), mine);
    /* renewal is due only after FL_LEASE_RENEW_MS; once due, it extends the lease */
    l.renewed_ms = fl_now_ms() - FL_LEASE_RENEW_MS;
    assert_int_equal(fl_applier_lease_renew(&l, c, "", err, sizeof err), 0);
    assert_true(fl_now_ms() - l.renewed_ms < 1000);
    /* another run took it while this one did not renew: the renewal says so */
    set_lease(OTHER_RUN);
    l.renewed_ms = fl_now_ms() - FL_LEASE_RENEW_MS;
    assert_int_equal(fl_applier_lease_renew(&l, c, "", err, sizeof err), -1);
    assert_non_null(strstr(err, "another run (" OTHER_RUN ") took fastlane:applier:t"));
    assert_false(l.held);
    /* giving up: only a lease this run holds */
    l.held = true;
    fl_applier_lease_release(&l, c);
    assert_string_equal(lease_value(v, sizeof v), OTHER_RUN);
    set_lease(mine);
    l.held = true;
    fl_applier_lease_release(&l, c);
    assert_string_equal(lease_value(v, sizeof v), "");
    fl_redis_conn_close(c);
    fl_applier_lease_free(&l);
}

static void test_takeover_and_refusal(void **state)
{
    (void)state;
    fl_applier_lease l;
    fl_applier_lease_init(&l, "redis", "t");
    char id[24], err[512], v[64];
    fl_redis_conn *c = applier_conn(id);

    /* another run's lease, none of its connections left: taken over at once */
    set_lease(OTHER_RUN);
    int64_t t0 = fl_now_ms();
    assert_int_equal(fl_applier_lease_claim(&l, c, "", id, err, sizeof err), 0);
    assert_true(fl_now_ms() - t0 < FL_LEASE_GRACE_MS);
    assert_true(l.held);
    assert_string_not_equal(lease_value(v, sizeof v), OTHER_RUN);

    /* a connection of that name in another database belongs to another applier */
    set_lease(OTHER_RUN);
    redisContext *elsewhere = client(5, "fastlane-apply:t");
    t0 = fl_now_ms();
    assert_int_equal(fl_applier_lease_claim(&l, c, "", id, err, sizeof err), 0);
    assert_true(fl_now_ms() - t0 < FL_LEASE_GRACE_MS);
    redisFree(elsewhere);

    /* one in this database that stays through the grace: another applier runs */
    set_lease(OTHER_RUN);
    redisContext *running = client(0, "fastlane-apply:t");
    assert_int_equal(fl_applier_lease_claim(&l, c, "", id, err, sizeof err), 1);
    assert_false(l.held);
    assert_non_null(strstr(err, "redis: another applier named t is running on this Redis (run " OTHER_RUN));
    assert_string_equal(lease_value(v, sizeof v), OTHER_RUN); /* nothing taken */

    /* the listing: the running one, not the caller's own connection */
    fl_buf ids = {0};
    char why[256];
    assert_int_equal(fl_applier_clients(&l, c, "", id, &ids, why, err, sizeof err), 1);
    fl_buf_putc(&ids, 0);
    assert_int_equal(strlen((const char *)ids.data) > 0, 1);
    assert_null(strstr((const char *)ids.data, id));
    fl_buf_free(&ids);
    /* without its own id the caller cannot be told from the others */
    assert_int_equal(fl_applier_clients(&l, c, "", "", &ids, why, err, sizeof err), 0);
    fl_buf_free(&ids);
    redisFree(running);
    fl_redis_conn_close(c);
    fl_applier_lease_free(&l);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_renew_release),
        cmocka_unit_test(test_takeover_and_refusal),
    };
    return cmocka_run_group_tests(tests, th_redis_group_start, th_redis_group_stop);
}
