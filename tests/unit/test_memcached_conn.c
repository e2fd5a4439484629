/* test_memcached_conn.c — the libmemcached handle for a target URL: one handle for every
 * server or for one of them, and URL mistakes refused as permanent. No server is needed:
 * the handle connects at its first command. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fl-apply/memcached_conn.h"

static void test_servers(void **state)
{
    (void)state;
    const char *url = "memcached://127.0.0.1:11311,127.0.0.1:11312";
    fl_error e;
    memcached_st *all = fl_memcached_conn_new(url, -1, &e);
    assert_non_null(all);
    assert_false(e.permanent);
    assert_int_equal(memcached_server_count(all), 2);
    assert_int_equal(memcached_behavior_get(all, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL), 1);
    memcached_free(all);

    memcached_st *second = fl_memcached_conn_new(url, 1, &e);
    assert_non_null(second);
    assert_int_equal(memcached_server_count(second), 1);
    const memcached_instance_st *in = memcached_server_instance_by_position(second, 0);
    assert_int_equal(memcached_server_port(in), 11312);
    memcached_free(second);

    assert_null(fl_memcached_conn_new(url, 2, &e));
    assert_true(e.permanent);
    assert_non_null(strstr(e.msg, "no server number 2"));
}

static void test_bad_urls(void **state)
{
    (void)state;
    const char *bad[] = {"memcached://", "memcached://host", "redis://127.0.0.1:6379", "memcached://:pw@h:1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fl_error e;
        assert_null(fl_memcached_conn_new(bad[i], -1, &e));
        if (!e.permanent) fail_msg("%s: not permanent", bad[i]);
        assert_true(e.msg[0] != '\0');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_servers),
        cmocka_unit_test(test_bad_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
