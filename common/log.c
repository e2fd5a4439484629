/* log.c — one line per message on stderr, in the format log.h describes. Each line is built
 * whole and written with one call, so concurrent writers (the relay and its feed process)
 * never interleave within a line. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/value.h"

#define LINE_MAX_BYTES 4096

static fl_log_level current_level = FL_LOG_INFO;
static fl_log_format current_format = FL_LOG_AUTO;
static const char *program = "fastlane";
static void (*error_hook)(void);

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const format_names[] = {"auto", "text", "journal", "json"};

void fl_log_set_level(fl_log_level level) { current_level = level; }
void fl_log_set_format(fl_log_format format) { current_format = format; }
void fl_log_set_program(const char *name) { program = name; }
void fl_log_on_error(void (*hook)(void)) { error_hook = hook; }

int fl_log_parse_level(const char *name, fl_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (fl_log_level)i;
            return 0;
        }
    }
    return -1;
}

int fl_log_parse_format(const char *name, fl_log_format *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(name, format_names[i]) == 0) {
            *out = (fl_log_format)i;
            return 0;
        }
    }
    return -1;
}

/* True when stderr is the stream systemd connected to the journal: JOURNAL_STREAM is
 * "DEVICE:INODE" of that stream, and a child whose stderr was redirected does not match. */
static int stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    if (!js) return 0;
    unsigned long long dev, ino;
    if (sscanf(js, "%llu:%llu", &dev, &ino) != 2) return 0;
    struct stat st;
    if (fstat(STDERR_FILENO, &st) != 0) return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static fl_log_format effective_format(void)
{
    static int journal = -1;
    if (current_format != FL_LOG_AUTO) return current_format;
    if (journal < 0) journal = stderr_is_journal();
    return journal ? FL_LOG_JOURNAL : FL_LOG_TEXT;
}

static void put_time(fl_buf *out)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    fl_buf_printf(out, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

void fl_log(fl_log_level level, const char *fmt, ...)
{
    static const char *const labels[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    static const int syslog_priority[] = {7, 6, 4, 3}; /* debug, info, warning, err */
    if (level < current_level) return;

    char msg[LINE_MAX_BYTES];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t mlen = n < 0 ? 0 : (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;

    fl_buf line = {0};
    switch (effective_format()) {
    case FL_LOG_JOURNAL:
        fl_buf_printf(&line, "<%d>", syslog_priority[level]);
        fl_buf_put(&line, msg, mlen);
        break;
    case FL_LOG_JSON:
        fl_buf_puts(&line, "{\"ts\":\"");
        put_time(&line);
        fl_buf_printf(&line, "\",\"level\":\"%s\",\"program\":", level_names[level]);
        fl_json_string(&line, program, strlen(program));
        fl_buf_puts(&line, ",\"msg\":");
        fl_json_string(&line, msg, mlen);
        fl_buf_putc(&line, '}');
        break;
    default:
        put_time(&line);
        fl_buf_printf(&line, " %-5s ", labels[level]);
        fl_buf_put(&line, msg, mlen);
        break;
    }
    fl_buf_putc(&line, '\n');
    fwrite(line.data, 1, line.len, stderr);
    fflush(stderr);
    fl_buf_free(&line);
    if (level == FL_LOG_ERROR && error_hook) error_hook();
}
