/* test_url.c — %-decoding of URL parts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/url.h"

static void check(const char *in, const char *expect)
{
    char *out = fl_url_decode(in, strlen(in));
    if (!expect) {
        if (out) fail_msg("'%s' decoded to '%s', expected a refusal", in, out);
        return;
    }
    assert_non_null(out);
    assert_string_equal(out, expect);
    free(out);
}

static void test_decode(void **state)
{
    (void)state;
    check("", "");
    check("plain", "plain");
    check("p%40ss%3Aw%2fd", "p@ss:w/d");
    check("%41%61", "Aa");
    check("100%25", "100%");
    check("%", NULL);
    check("a%4", NULL);
    check("%zz", NULL);
    check("%00", NULL);
    char *part = fl_url_decode("ab%41cd", 5); /* only the first 5 bytes: "ab%41" */
    assert_string_equal(part, "abA");
    free(part);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_decode)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
