/* test_redis_url.c — Redis target URLs: TCP and Unix forms, credentials, databases, and the
 * errors, which must never quote a password. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fl-apply/redis_url.h"

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

static void test_unix(void **state)
{
    (void)state;
    fl_redis_url u;
    char err[256];
    assert_int_equal(fl_redis_url_parse("redis+unix:///run/redis/redis.sock?db=2&user=a&password=b%26c", &u, err,
                                        sizeof err), 0);
    assert_string_equal(u.path, "/run/redis/redis.sock");
    assert_int_equal(u.db, 2);
    assert_string_equal(u.user, "a");
    assert_string_equal(u.password, "b&c");
    assert_null(u.host);
    fl_redis_url_free(&u);
}

static void refused(const char *url, const char *what)
{
    fl_redis_url u;
    char err[256] = "";
    if (fl_redis_url_parse(url, &u, err, sizeof err) == 0) fail_msg("%s accepted", url);
    if (!strstr(err, what)) fail_msg("%s: message '%s' lacks '%s'", url, err, what);
    if (strstr(err, "hunter2")) fail_msg("%s: message quotes the password: %s", url, err);
}

static void test_errors(void **state)
{
    (void)state;
    refused("http://h:1", "must start with redis://");
    refused("redis://hunter2@h:1", "user:password@");
    refused("redis://u:hunter2@h/0", "needs a host and a port");
    refused("redis://u:hunter2@h:1/x", "not a number from 0 to 65535");
    refused("redis://u:hunter2@h:1/70000", "not a number from 0 to 65535");
    refused("redis://u:hunter2%zz@h:1", "bad %-escape in the password");
    refused("redis+unix://relative", "absolute socket path");
    refused("redis+unix:///s?db", "without a value");
    refused("redis+unix:///s?color=red", "unknown query parameter");
    refused("redis+unix:///s?user=a", "a user needs a password");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_tcp), cmocka_unit_test(test_unix),
                                       cmocka_unit_test(test_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
