/* test_target_url.c — cache target URLs: Redis TCP and Unix forms, memcached server lists,
 * credentials, databases, and the errors, which must never quote a password. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/target_url.h"

static void test_tcp(void **state)
{
    (void)state;
    fl_redis_url u;
    char err[256];
    assert_int_equal(fl_redis_url_parse("redis://127.0.0.1:6379/3", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 3);
    assert_null(u.user);
    assert_null(u.password);
    assert_null(u.path);
    fl_redis_url_free(&u);

    assert_int_equal(fl_redis_url_parse("redis://app:p%40ss@[::1]:7000", &u, err, sizeof err), 0);
    assert_string_equal(u.user, "app");
    assert_string_equal(u.password, "p@ss");
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 7000);
    assert_int_equal(u.db, 0);
    fl_redis_url_free(&u);

    assert_int_equal(fl_redis_url_parse("redis://:secret@h:1/0", &u, err, sizeof err), 0);
    assert_null(u.user); /* password-only AUTH */
    assert_string_equal(u.password, "secret");
    fl_redis_url_free(&u);
}

static void test_tls(void **state)
{
    (void)state;
    fl_redis_url u;
    char err[256];
    assert_int_equal(fl_redis_url_parse("rediss://app:p%40ss@cache.example.com:6380/4", &u, err, sizeof err), 0);
    assert_true(u.tls);
    assert_string_equal(u.host, "cache.example.com");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 4);
    assert_string_equal(u.user, "app");
    assert_string_equal(u.password, "p@ss");
    fl_redis_url_free(&u);
    assert_false(u.tls); /* freeing zeroes it */

    assert_int_equal(fl_redis_url_parse("rediss://[::1]:6380", &u, err, sizeof err), 0);
    assert_true(u.tls);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.db, 0);
    fl_redis_url_free(&u);

    assert_int_equal(fl_redis_url_parse("redis://h:1", &u, err, sizeof err), 0);
    assert_false(u.tls);
    fl_redis_url_free(&u);
    assert_int_equal(fl_redis_url_parse("redis+unix:///s", &u, err, sizeof err), 0);
    assert_false(u.tls);
    fl_redis_url_free(&u);

    assert_int_equal(fl_target_url_scheme("rediss://h:1"), FL_SCHEME_REDIS);
    assert_int_equal(fl_target_url_scheme("redisss://h:1"), FL_SCHEME_UNKNOWN);
    assert_int_equal(fl_target_url_check("rediss://h:1/2", err, sizeof err), 0);
}

static void test_unix(void **state)
{
    (void)state;
    fl_redis_url u;
    char err[256];
    assert_int_equal(fl_redis_url_parse("redis+unix:///run/redis/redis.sock?db=2&user=a&password=b%26c", &u, err,
                                        sizeof err),
                     0);
    assert_string_equal(u.path, "/run/redis/redis.sock");
    assert_int_equal(u.db, 2);
    assert_string_equal(u.user, "a");
    assert_string_equal(u.password, "b&c");
    assert_null(u.host);
    fl_redis_url_free(&u);
}

static void test_memcached(void **state)
{
    (void)state;
    fl_memcached_url u;
    char err[256];
    assert_int_equal(fl_memcached_url_parse("memcached://a:1, b.local:2 ,[::1]:3", &u, err, sizeof err), 0);
    assert_int_equal(u.nservers, 3);
    assert_string_equal(u.servers[0].host, "a");
    assert_int_equal(u.servers[0].port, 1);
    assert_string_equal(u.servers[1].host, "b.local");
    assert_int_equal(u.servers[1].port, 2);
    assert_string_equal(u.servers[2].host, "::1");
    assert_int_equal(u.servers[2].port, 3);
    assert_null(u.user);
    assert_null(u.password);
    fl_memcached_url_free(&u);

    assert_int_equal(fl_memcached_url_parse("memcached://app:s%40cret@m:11211", &u, err, sizeof err), 0);
    assert_string_equal(u.user, "app");
    assert_string_equal(u.password, "s@cret");
    assert_int_equal(u.nservers, 1);
    fl_memcached_url_free(&u);
}

static void test_redis_cluster(void **state)
{
    (void)state;
    fl_redis_cluster_url u;
    char err[256];
    assert_int_equal(fl_redis_cluster_url_parse("redis-cluster://127.0.0.1:7000,h.local:7001", &u, err,
                                                sizeof err),
                     0);
    assert_int_equal(u.nseeds, 2);
    assert_string_equal(u.seeds[0].host, "127.0.0.1");
    assert_int_equal(u.seeds[0].port, 7000);
    assert_string_equal(u.seeds[1].host, "h.local");
    assert_int_equal(u.seeds[1].port, 7001);
    assert_null(u.user);
    assert_null(u.password);
    fl_redis_cluster_url_free(&u);

    assert_int_equal(fl_redis_cluster_url_parse("redis-cluster://app:p%40ss@h:1", &u, err, sizeof err), 0);
    assert_string_equal(u.user, "app");
    assert_string_equal(u.password, "p@ss");
    fl_redis_cluster_url_free(&u);

    assert_int_equal(fl_redis_cluster_url_parse("redis-cluster://:secret@h:1", &u, err, sizeof err), 0);
    assert_null(u.user); /* password-only AUTH */
    assert_string_equal(u.password, "secret");
    fl_redis_cluster_url_free(&u);

    assert_int_equal(fl_target_url_scheme("redis-cluster://h:1"), FL_SCHEME_REDIS_CLUSTER);
    assert_int_equal(fl_target_url_check("redis-cluster://h:1,h:2", err, sizeof err), 0);
    assert_false(u.tls);
    assert_int_equal(fl_redis_cluster_url_parse("redis://h:1", &u, err, sizeof err), -1);
    assert_string_equal(err, "bad target URL: must start with redis-cluster:// or rediss-cluster://");

    assert_int_equal(fl_redis_cluster_url_parse("rediss-cluster://:pw@10.0.0.1:7000,[::1]:7001", &u, err,
                                                sizeof err),
                     0);
    assert_true(u.tls);
    assert_int_equal(u.nseeds, 2);
    assert_string_equal(u.seeds[1].host, "::1");
    assert_string_equal(u.password, "pw");
    fl_redis_cluster_url_free(&u);
    assert_int_equal(fl_target_url_scheme("rediss-cluster://h:1"), FL_SCHEME_REDIS_CLUSTER);
    assert_int_equal(fl_target_url_check("rediss-cluster://h", err, sizeof err), -1);
    assert_int_equal(fl_target_url_scheme("redisss-cluster://h:1"), FL_SCHEME_UNKNOWN);
}

static void test_scheme(void **state)
{
    (void)state;
    assert_int_equal(fl_target_url_scheme("redis://h:1"), FL_SCHEME_REDIS);
    assert_int_equal(fl_target_url_scheme("redis+unix:///s"), FL_SCHEME_REDIS);
    assert_int_equal(fl_target_url_scheme("memcached://h:1"), FL_SCHEME_MEMCACHED);
    assert_int_equal(fl_target_url_scheme("memcache://h:1"), FL_SCHEME_UNKNOWN);
    assert_int_equal(fl_target_url_scheme(""), FL_SCHEME_UNKNOWN);
    char err[256];
    assert_int_equal(fl_target_url_check("redis://h:1/2", err, sizeof err), 0);
    assert_int_equal(fl_target_url_check("memcached://h:1", err, sizeof err), 0);
    assert_int_equal(fl_target_url_check("http://h:1", err, sizeof err), -1);
    assert_string_equal(err, "bad target URL: must start with redis://, rediss://, redis+unix://, "
                             "redis-cluster://, rediss-cluster:// or memcached://");
}

/* Refused by fl_target_url_check, with `what` in the message and never the password. */
static void refused(const char *url, const char *what)
{
    char err[256] = "";
    if (fl_target_url_check(url, err, sizeof err) == 0) fail_msg("%s accepted", url);
    if (strncmp(err, "bad target URL: ", 16))
        fail_msg("%s: message '%s' does not start with 'bad target URL: '", url, err);
    if (!strstr(err, what)) fail_msg("%s: message '%s' lacks '%s'", url, err, what);
    if (strstr(err, "hunter2")) fail_msg("%s: message quotes the password: %s", url, err);
}

static void test_errors(void **state)
{
    (void)state;
    refused("http://h:1", "must start with redis://, rediss://, redis+unix://, redis-cluster://, "
                          "rediss-cluster:// or memcached://");
    refused("redis://hunter2@h:1", "user:password@");
    refused("redis://u:hunter2@h/0", "needs a host and a port");
    refused("redis://u:hunter2@h:1/x", "not a number from 0 to 65535");
    refused("redis://u:hunter2@h:1/70000", "not a number from 0 to 65535");
    refused("redis://u:hunter2%zz@h:1", "bad %-escape in the password");
    refused("rediss://u:hunter2@h/0", "rediss://[user:password@]host:port/db needs a host and a port");
    refused("rediss://h:1/x", "not a number from 0 to 65535");
    refused("rediss://hunter2@h:1", "user:password@");
    refused("rediss:///run/redis.sock", "needs a host and a port");
    refused("redis+unix://relative", "absolute socket path");
    refused("redis+unix:///s?db", "without a value");
    refused("redis+unix:///s?color=red", "unknown query parameter");
    refused("redis+unix:///s?user=a", "a user needs a password");
    refused("redis+unix:///s?user=%zz&password=hunter2", "bad %-escape in the user name");
    refused("redis+unix:///s?dbx=1", "unknown query parameter");
    refused("redis://u%zz:hunter2@h:1/0", "bad %-escape in the user name");
    refused("redis://h:1/99999", "not a number from 0 to 65535");
    refused("redis://h:1/", "not a number from 0 to 65535");
    refused("memcached://", "needs at least one server");
    refused("memcached://a:1,,b:2", "empty server in its list");
    refused("memcached://a:1,", "empty server in its list");
    refused("memcached://a:1,b", "must be host:port");
    refused("memcached://h:0", "must be host:port");
    refused("memcached://hunter2@a:1", "SASL credentials must be user:password@");
    refused("memcached://:hunter2@a:1", "SASL credentials must be user:password@");
    refused("memcached://u%zz:hunter2@a:1", "bad %-escape in the user name");
    refused("memcached://u:hunter2%zz@a:1", "bad %-escape in the password");
    refused("redis-cluster://", "needs at least one server");
    refused("redis-cluster://a:1,,b:2", "empty server in its list");
    refused("redis-cluster://a:1/0", "must be host:port");
    refused("redis-cluster://hunter2@a:1", "redis-cluster credentials must be user:password@");
    refused("redis-cluster://u:hunter2%zz@a:1", "bad %-escape in the password");

    fl_redis_url r;
    char err[256];
    assert_int_equal(fl_redis_url_parse("memcached://a:1", &r, err, sizeof err), -1);
    assert_string_equal(err, "bad target URL: must start with redis://, rediss:// or redis+unix://");
    fl_memcached_url m;
    assert_int_equal(fl_memcached_url_parse("redis://a:1", &m, err, sizeof err), -1);
    assert_string_equal(err, "bad target URL: must start with memcached://");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_tcp),           cmocka_unit_test(test_tls),
                                       cmocka_unit_test(test_unix),          cmocka_unit_test(test_memcached),
                                       cmocka_unit_test(test_redis_cluster), cmocka_unit_test(test_scheme),
                                       cmocka_unit_test(test_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
