/* test_net.c — listening sockets: which listen addresses count as loopback (a feed on any
 * other one without TLS is warned about), and a listen address that is not host:port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/net.h"

static void test_loopback(void **state)
{
    (void)state;
    const char *loop[] = {"127.0.0.1:7070", "127.1.2.3:1", "localhost:80", "[::1]:7070", "[::ffff:127.0.0.1]:1"};
    const char *not_loop[] = {"0.0.0.0:7070", "10.0.0.1:7070",       "169.254.77.1:1",
                              "[::]:7070",    "[fe80::1]:1",         "db.example.com:7070",
                              "128.0.0.1:1",  "[::ffff:10.0.0.1]:1", "nohostport"};
    for (size_t i = 0; i < sizeof loop / sizeof *loop; i++)
        if (!fl_net_is_loopback(loop[i])) fail_msg("%s: not taken for loopback", loop[i]);
    for (size_t i = 0; i < sizeof not_loop / sizeof *not_loop; i++)
        if (fl_net_is_loopback(not_loop[i])) fail_msg("%s: taken for loopback", not_loop[i]);
}

static void test_listen_errors(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(fl_net_listen("[x] listen", "nohostport", 1, 0, err, sizeof err), -1);
    assert_string_equal(err, "[x] listen: 'nohostport' is not host:port");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_loopback), cmocka_unit_test(test_listen_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
