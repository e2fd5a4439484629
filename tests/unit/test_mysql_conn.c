/* test_mysql_conn.c — opening the [source] connection without a server: a TLS mode that
 * needs a CA it was not given is refused before connecting (permanent), and a server that is
 * not there gives the client's error number and says where and as whom it was tried. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/mysql_conn.h"
#include "tests/unit/helpers.h"

static void test_verify_modes_need_a_ca(void **state)
{
    (void)state;
    fl_config_source src = {.host = "127.0.0.1",
                            .port = th_free_port(),
                            .user = "u",
                            .ssl_mode = FL_SSL_VERIFY_IDENTITY};
    fl_error e;
    assert_null(fl_mysql_connect(&src, NULL, &e));
    assert_true(e.permanent);
    assert_string_equal(e.msg, "[source] ssl_mode = verify_identity needs ssl_ca (the CA that signed the "
                               "server's certificate)");
    src.ssl_mode = FL_SSL_VERIFY_CA;
    assert_null(fl_mysql_connect(&src, NULL, &e));
    assert_non_null(strstr(e.msg, "verify_ca needs ssl_ca"));
}

static void test_nobody_listening(void **state)
{
    (void)state;
    int port = th_free_port();
    fl_config_source src = {.host = "127.0.0.1", .port = port, .user = "relay", .ssl_mode = FL_SSL_DISABLED};
    fl_mysql_conn_opts o = {.connect_timeout_s = 2};
    fl_error e;
    assert_null(fl_mysql_connect(&src, &o, &e));
    assert_false(e.permanent); /* what the number means is the caller's to say */
    assert_true(e.code >= 2000);
    char want[96];
    snprintf(want, sizeof want, "cannot connect to the source at 127.0.0.1:%d as 'relay': ", port);
    if (!strstr(e.msg, want)) fail_msg("'%s' lacks '%s'", e.msg, want);

    fl_config_source sock = {.socket = "/nonexistent/mysqld.sock", .user = "relay"};
    assert_null(fl_mysql_connect(&sock, &o, &e));
    assert_non_null(strstr(e.msg, "through socket /nonexistent/mysqld.sock as 'relay'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_modes_need_a_ca),
        cmocka_unit_test(test_nobody_listening),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
