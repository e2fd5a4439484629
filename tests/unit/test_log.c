/* test_log.c — the logger's three line formats, level filtering and the journal-stream
 * detection, read back through a pipe that stands in for stderr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/log.h"

/* Runs one log call with stderr redirected into a pipe; returns what was written. */
static char captured[8192];
static int pipe_fds[2];
static int saved_stderr;

static void capture_begin(void)
{
    assert_int_equal(pipe(pipe_fds), 0);
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    assert_true(saved_stderr >= 0);
    assert_true(dup2(pipe_fds[1], STDERR_FILENO) >= 0);
}

static const char *capture_end(void)
{
    fflush(stderr);
    assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
    close(saved_stderr);
    close(pipe_fds[1]);
    ssize_t n = read(pipe_fds[0], captured, sizeof captured - 1);
    close(pipe_fds[0]);
    captured[n > 0 ? n : 0] = 0;
    return captured;
}

static int reset(void **state)
{
    (void)state;
    unsetenv("JOURNAL_STREAM");
    fl_log_set_level(FL_LOG_INFO);
    fl_log_set_format(FL_LOG_TEXT);
    fl_log_set_program("test");
    return 0;
}

static void test_text_line(void **state)
{
    (void)state;
    capture_begin();
    log_warn("disk %d%% full", 93);
    const char *out = capture_end();
    /* 2026-11-24T12:00:00.123Z WARN  disk 93% full */
    assert_int_equal(strlen(out), 24 + 1 + 5 + 1 + strlen("disk 93% full") + 1);
    assert_int_equal(out[10], 'T');
    assert_int_equal(out[23], 'Z');
    assert_string_equal(out + 24, " WARN  disk 93% full\n");
}

static void test_level_filter(void **state)
{
    (void)state;
    fl_log_set_level(FL_LOG_WARN);
    capture_begin();
    log_info("hidden");
    log_debug("hidden too");
    log_error("shown");
    const char *out = capture_end();
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, "ERROR shown\n"));
}

static void test_journal_priorities(void **state)
{
    (void)state;
    fl_log_set_format(FL_LOG_JOURNAL);
    fl_log_set_level(FL_LOG_DEBUG);
    capture_begin();
    log_debug("d");
    log_info("i");
    log_warn("w");
    log_error("e");
    assert_string_equal(capture_end(), "<7>d\n<6>i\n<4>w\n<3>e\n");
}

static void test_json_escaped(void **state)
{
    (void)state;
    fl_log_set_format(FL_LOG_JSON);
    fl_log_set_program("fl-relay");
    capture_begin();
    log_error("bad \"quote\"\tand\nnewline");
    const char *out = capture_end();
    assert_memory_equal(out, "{\"ts\":\"", 7);
    const char *rest = strstr(out, "\",\"level\"");
    assert_non_null(rest);
    assert_string_equal(rest, "\",\"level\":\"error\",\"program\":\"fl-relay\","
                              "\"msg\":\"bad \\\"quote\\\"\\tand\\nnewline\"}\n");
}

/* auto picks the journal format only when stderr is the stream JOURNAL_STREAM names. */
static void test_auto_detects_journal_stream(void **state)
{
    (void)state;
    fl_log_set_format(FL_LOG_AUTO);
    capture_begin();
    struct stat st;
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    char js[64];
    snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", js, 1);
    log_info("to the journal");
    assert_string_equal(capture_end(), "<6>to the journal\n");
}

static void test_parse_names(void **state)
{
    (void)state;
    fl_log_format f;
    fl_log_level l;
    assert_int_equal(fl_log_parse_format("json", &f), 0);
    assert_int_equal(f, FL_LOG_JSON);
    assert_int_equal(fl_log_parse_format("Journal", &f), 0);
    assert_int_equal(f, FL_LOG_JOURNAL);
    assert_int_equal(fl_log_parse_format("xml", &f), -1);
    assert_int_equal(fl_log_parse_level("warn", &l), 0);
    assert_int_equal(l, FL_LOG_WARN);
    assert_int_equal(fl_log_parse_level("loud", &l), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_text_line, reset),
        cmocka_unit_test_setup(test_level_filter, reset),
        cmocka_unit_test_setup(test_journal_priorities, reset),
        cmocka_unit_test_setup(test_json_escaped, reset),
        cmocka_unit_test_setup(test_auto_detects_journal_stream, reset),
        cmocka_unit_test_setup(test_parse_names, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
