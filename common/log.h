/* log.h — leveled logging to stderr with a timestamp. Never pass secrets to it. */
#ifndef FL_LOG_H
#define FL_LOG_H

typedef enum fl_log_level { FL_LOG_DEBUG, FL_LOG_INFO, FL_LOG_WARN, FL_LOG_ERROR } fl_log_level;

void fl_log_set_level(fl_log_level level);
/* Parses "debug", "info", "warn" or "error"; returns -1 on anything else. */
int fl_log_parse_level(const char *name, fl_log_level *out);
void fl_log(fl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) fl_log(FL_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) fl_log(FL_LOG_INFO, __VA_ARGS__)
#define log_warn(...) fl_log(FL_LOG_WARN, __VA_ARGS__)
#define log_error(...) fl_log(FL_LOG_ERROR, __VA_ARGS__)

#endif
