/* test_secret_file.c — the secret-file reader: the first line without its line end, and a
 * refusal with its reason for a missing file, a FIFO (without blocking), a directory, a file
 * open to group or others, an empty, over-long or NUL-holding first line; and the feed
 * secret's minimum length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secret_file.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/fl-test-secret-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes DIR/name with len bytes of content and mode; returns its path (static). */
static const char *file(const char *name, const char *content, size_t len, mode_t mode)
{
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fwrite(content, 1, len, f);
    fclose(f);
    assert_int_equal(chmod(p, mode), 0);
    return p;
}

static void expect_secret(const char *path, const char *want)
{
    char why[512] = "";
    char *s = fl_secret_file_read(path, why, sizeof why);
    if (!s) fail_msg("%s refused: %s", path, why);
    assert_string_equal(s, want);
    fl_secret_free(s);
}

/* Refused with exactly want, where @P stands for the path. */
static void expect_refused(const char *path, const char *want)
{
    char why[512] = "", expect[512];
    char *s = fl_secret_file_read(path, why, sizeof why);
    if (s) fail_msg("%s accepted: '%s'", path, s);
    size_t k = 0;
    for (const char *w = want; *w && k + 1 < sizeof expect; w++) {
        if (w[0] == '@' && w[1] == 'P') {
            k += (size_t)snprintf(expect + k, sizeof expect - k, "%s", path);
            w++;
        } else {
            expect[k++] = *w;
        }
    }
    expect[k] = 0;
    assert_string_equal(why, expect);
}

static void test_reads_first_line(void **state)
{
    (void)state;
    expect_secret(file("a", "0123456789abcdef\nsecond\n", 24, 0600), "0123456789abcdef");
    expect_secret(file("b", "crlf secret\r\n", 13, 0400), "crlf secret");
    expect_secret(file("c", "no line end", 11, 0600), "no line end");
    char big[FL_SECRET_LINE_MAX + 1];
    memset(big, 'x', FL_SECRET_LINE_MAX);
    big[FL_SECRET_LINE_MAX] = '\n';
    char *want = strndup(big, FL_SECRET_LINE_MAX);
    expect_secret(file("d", big, sizeof big, 0600), want); /* exactly the longest line */
    free(want);
}

static void test_refusals(void **state)
{
    (void)state;
    char p[128];
    snprintf(p, sizeof p, "%s/missing", dir);
    expect_refused(p, "cannot read '@P': No such file or directory");
    expect_refused(dir, "cannot read '@P': not a regular file");
    snprintf(p, sizeof p, "%s/fifo", dir);
    assert_int_equal(mkfifo(p, 0600), 0);
    expect_refused(p, "cannot read '@P': not a regular file"); /* and does not block */
    expect_refused(file("r", "0123456789abcdef\n", 17, 0644),
                   "'@P' is open to group or others (mode 0644); a secret file must not be: chmod 600 @P");
    expect_refused(file("w", "0123456789abcdef\n", 17, 0602),
                   "'@P' is open to group or others (mode 0602); a secret file must not be: chmod 600 @P");
    expect_refused(file("g", "0123456789abcdef\n", 17, 0640),
                   "'@P' is open to group or others (mode 0640); a secret file must not be: chmod 600 @P");
    expect_refused(file("e", "\nsecond\n", 8, 0600), "'@P': its first line is empty");
    expect_refused(file("e2", "", 0, 0600), "'@P': its first line is empty");
    expect_refused(file("n", "abc\0def\n", 8, 0600), "'@P': its first line holds a NUL byte");
    char big[FL_SECRET_LINE_MAX + 2];
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = '\n';
    expect_refused(file("l", big, sizeof big, 0600), "'@P': its first line is longer than 4096 bytes");
}

static void test_feed_secret_length(void **state)
{
    (void)state;
    assert_string_equal(fl_feed_secret_problem("0123456789abcde"),
                        "shorter than 16 bytes; make a good one with: openssl rand -hex 32");
    assert_string_equal(fl_feed_secret_problem(""),
                        "shorter than 16 bytes; make a good one with: openssl rand -hex 32");
    assert_null(fl_feed_secret_problem("0123456789abcdef"));
    fl_secret_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_reads_first_line), cmocka_unit_test(test_refusals),
                                       cmocka_unit_test(test_feed_secret_length)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
