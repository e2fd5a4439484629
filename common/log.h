/* log.h — leveled logging to stderr, one line per message. Never pass secrets to it.
 *
 * Three line formats:
 *   text     "2026-11-24T12:00:00.123Z INFO  message" (a terminal, a file)
 *   journal  "<6>message": the syslog priority journald reads from a stream; journald adds
 *            the time itself. Chosen by itself when stderr is the journal's stream
 *            (systemd sets JOURNAL_STREAM to its device and inode).
 *   json     {"ts":"2026-11-24T12:00:00.123Z","level":"info","program":"fl-relay","msg":"..."}
 *            for log shippers. */
#ifndef FL_LOG_H
#define FL_LOG_H

typedef enum fl_log_level { FL_LOG_DEBUG, FL_LOG_INFO, FL_LOG_WARN, FL_LOG_ERROR } fl_log_level;
typedef enum fl_log_format { FL_LOG_AUTO, FL_LOG_TEXT, FL_LOG_JOURNAL, FL_LOG_JSON } fl_log_format;

void fl_log_set_level(fl_log_level level);
/* Parses "debug", "info", "warn" or "error"; returns -1 on anything else. */
int fl_log_parse_level(const char *name, fl_log_level *out);
/* FL_LOG_AUTO: journal when stderr is systemd's journal stream, else text. */
void fl_log_set_format(fl_log_format format);
/* Parses "auto", "text", "journal" or "json"; returns -1 on anything else. */
int fl_log_parse_format(const char *name, fl_log_format *out);
/* The program name in json lines (default "fastlane"); the string must outlive logging. */
void fl_log_set_program(const char *name);
/* Called after each error line is written (e.g. to stamp a metric); NULL for none. */
void fl_log_on_error(void (*hook)(void));
void fl_log(fl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) fl_log(FL_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) fl_log(FL_LOG_INFO, __VA_ARGS__)
#define log_warn(...) fl_log(FL_LOG_WARN, __VA_ARGS__)
#define log_error(...) fl_log(FL_LOG_ERROR, __VA_ARGS__)

#endif
