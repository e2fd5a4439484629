/* test_template.c — key templates: literal and column parts, escaped braces, and each
 * mistake refused with its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/template.h"

static void expect_part(const fl_template *t, size_t i, const char *text, bool is_col)
{
    assert_true(i < t->nparts);
    assert_string_equal(t->parts[i].text, text);
    assert_int_equal(t->parts[i].len, strlen(text));
    assert_int_equal(t->parts[i].is_col, is_col);
}

static void test_parts(void **state)
{
    (void)state;
    fl_template t;
    assert_null(fl_template_parse("user:{id}", &t));
    assert_int_equal(t.nparts, 2);
    expect_part(&t, 0, "user:", false);
    expect_part(&t, 1, "id", true);
    fl_template_free(&t);

    assert_null(fl_template_parse("{db}.{id}", &t));
    assert_int_equal(t.nparts, 3);
    expect_part(&t, 0, "db", true);
    expect_part(&t, 1, ".", false);
    expect_part(&t, 2, "id", true);
    fl_template_free(&t);

    assert_null(fl_template_parse("{{x}}:{a b}:}}", &t));
    assert_int_equal(t.nparts, 3);
    expect_part(&t, 0, "{x}:", false);
    expect_part(&t, 1, "a b", true);
    expect_part(&t, 2, ":}", false);
    fl_template_free(&t);

    assert_null(fl_template_parse("plain", &t));
    assert_int_equal(t.nparts, 1);
    expect_part(&t, 0, "plain", false);
    fl_template_free(&t);
}

static void refused(const char *tpl, const char *why)
{
    fl_template t;
    const char *prob = fl_template_parse(tpl, &t);
    if (!prob) fail_msg("'%s' accepted", tpl);
    assert_string_equal(prob, why);
    assert_null(t.parts);
    assert_int_equal(t.nparts, 0);
}

static void test_errors(void **state)
{
    (void)state;
    refused("", "is empty");
    refused("user:{id", "has a '{' without its '}' (write '{{' for a literal brace)");
    refused("a{b{c}", "has a '{' without its '}' (write '{{' for a literal brace)");
    refused("x}y", "has a '}' without its '{' (write '}}' for a literal brace)");
    refused("k:{}", "has an empty placeholder '{}'");
    refused("{a}}", "has a '}' without its '{' (write '}}' for a literal brace)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_parts), cmocka_unit_test(test_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
