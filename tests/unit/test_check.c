/* test_check.c — fl-relay --check's reading of SHOW GRANTS: which privileges go beyond what
 * the relay needs. (The checks against a live server are in test_relay_live.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fl-relay/live.h"

static void expect(const char *grants, int n, const char *text)
{
    char out[512];
    int got = fl_grants_beyond_need(grants, out, sizeof out);
    if (got != n || strcmp(out, text) != 0)
        fail_msg("grants:\n%s\ngave %d \"%s\", expected %d \"%s\"", grants, got, out, n, text);
}

static void test_least_privilege_is_clean(void **state)
{
    (void)state;
    expect("GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `fastlane`@`%` IDENTIFIED BY "
           "PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'\n"
           "GRANT SELECT ON `shop`.* TO `fastlane`@`%`\n",
           0, "");
    expect("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `fastlane`@`10.0.0.%`\n"
           "GRANT SELECT ON `shop`.`users` TO `fastlane`@`10.0.0.%`\n"
           "GRANT SELECT (`id`, `name`) ON `app`.`t` TO `fastlane`@`10.0.0.%`\n",
           0, "");
    expect("GRANT USAGE ON *.* TO `weak`@`%` IDENTIFIED BY PASSWORD '*ABC'\n", 0, "");
    /* [snapshot]: the watermark table's database */
    expect("GRANT CREATE, INSERT, DELETE ON `fastlane`.* TO `fastlane`@`%`\n", 0, "");
    expect("GRANT INSERT, DROP ON `fastlane`.* TO `f`@`%`\n", 1, "DROP ON `fastlane`.*");
    expect("", 0, "");
    /* a role grant has no privilege list of its own */
    expect("GRANT `replication_role`@`%` TO `fastlane`@`%`\n", 0, "");
}

static void test_too_much_is_named(void **state)
{
    (void)state;
    expect("GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` IDENTIFIED VIA "
           "mysql_native_password USING 'invalid' OR unix_socket WITH GRANT OPTION\n"
           "GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION\n",
           4,
           "ALL PRIVILEGES ON *.*, WITH GRANT OPTION ON *.*, PROXY ON ''@'%', "
           "WITH GRANT OPTION ON ''@'%'");
    expect("GRANT REPLICATION SLAVE, SUPER ON *.* TO `fastlane`@`%`\n", 1, "SUPER ON *.*");
    expect("GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO `f`@`%`\n", 1, "SELECT ON *.*");
    expect("GRANT INSERT, UPDATE ON `my db`.* TO `f`@`%`\n", 2, "INSERT ON `my db`.*, UPDATE ON `my db`.*");
    expect("GRANT SELECT ON `shop`.* TO `f`@`%` WITH GRANT OPTION\n", 1, "WITH GRANT OPTION ON `shop`.*");
    /* MySQL's root: a long list, the first five named */
    expect("GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD ON *.* TO `root`@`localhost` "
           "WITH GRANT OPTION\n",
           8, "SELECT ON *.*, INSERT ON *.*, UPDATE ON *.*, DELETE ON *.*, CREATE ON *.* and 3 more");
    /* lower case, as some servers print it */
    expect("grant all privileges on `shop`.* to 'f'@'%'\n", 1, "all privileges ON `shop`.*");
}

static void test_output_is_bounded(void **state)
{
    (void)state;
    char small[16];
    int n = fl_grants_beyond_need("GRANT ALL PRIVILEGES ON *.* TO `root`@`%`\n", small, sizeof small);
    assert_int_equal(n, 1);
    assert_int_equal(strlen(small), sizeof small - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_least_privilege_is_clean),
        cmocka_unit_test(test_too_much_is_named),
        cmocka_unit_test(test_output_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
