/* test_json_text.c — the strict JSON text validator: every value kind, white space, and each
 * way text can fail to be JSON (bad escapes, numbers, UTF-8, nesting, trailing bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/json_text.h"

static bool valid(const char *s) { return fl_json_text_valid(s, strlen(s)); }

static void test_accepts(void **state)
{
    (void)state;
    const char *good[] = {
        "{}",
        "[]",
        "0",
        "-0",
        "1.5e-300",
        "-12.25E+3",
        "true",
        "false",
        "null",
        "\"\"",
        " {\"a\": [1, 2.5, \"s\", null, true]} ",
        "{\"a\":{\"b\":{\"c\":[[],{}]}}}",
        "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00\"",
        "\"é 😀\"",
        "[\n\t1\r\n]",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) assert_true(valid(good[i]));
}

static void test_refuses(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        " ",
        "{",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{1:2}",
        "[1 2]",
        "01",
        "1.",
        ".5",
        "+1",
        "1e",
        "-",
        "tru",
        "nul",
        "True",
        "\"abc",
        "\"\\x\"",
        "\"\\u12g4\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "\"tab\there\"",
        "{} {}",
        "[1] x",
        "'a'",
        "NaN",
        "Infinity",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) assert_false(valid(bad[i]));
}

static void test_utf8(void **state)
{
    (void)state;
    assert_false(valid("\"\xc0\xaf\""));         /* overlong '/' */
    assert_false(valid("\"\xe0\x80\xaf\""));     /* overlong, 3 bytes */
    assert_false(valid("\"\xed\xa0\x80\""));     /* a surrogate in UTF-8 */
    assert_false(valid("\"\xf4\x90\x80\x80\"")); /* above U+10FFFF */
    assert_false(valid("\"\xff\""));
    assert_false(valid("\"\xc3\""));                 /* cut short */
    assert_true(valid("\"\xf0\x9f\x98\x80\""));      /* U+1F600 */
    assert_true(valid("\"\xef\xbf\xbf\""));          /* U+FFFF */
    assert_false(fl_json_text_valid("\"a\0b\"", 5)); /* a raw control byte */
}

static void test_depth(void **state)
{
    (void)state;
    char deep[2 * (FL_JSON_MAX_DEPTH + 2) + 1];
    size_t n = 0;
    for (int i = 0; i <= FL_JSON_MAX_DEPTH; i++) deep[n++] = '[';
    for (int i = 0; i <= FL_JSON_MAX_DEPTH; i++) deep[n++] = ']';
    assert_true(fl_json_text_valid(deep, n)); /* exactly the limit */
    char deeper[2 * (FL_JSON_MAX_DEPTH + 2)];
    n = 0;
    for (int i = 0; i <= FL_JSON_MAX_DEPTH + 1; i++) deeper[n++] = '[';
    for (int i = 0; i <= FL_JSON_MAX_DEPTH + 1; i++) deeper[n++] = ']';
    assert_false(fl_json_text_valid(deeper, n));
}

/* Every prefix of a valid document that is not itself a document is refused. */
static void test_prefixes(void **state)
{
    (void)state;
    const char *doc = "{\"k\":[1,-2.5e3,\"x\\u00e9\",true,null,{\"n\":false}]}";
    size_t len = strlen(doc);
    for (size_t i = 0; i < len; i++) assert_false(fl_json_text_valid(doc, i));
    assert_true(fl_json_text_valid(doc, len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts), cmocka_unit_test(test_refuses),  cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_depth),   cmocka_unit_test(test_prefixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
