/* error.h — what went wrong, and whether trying again can help.
 *
 * A failing call fills an fl_error: a one-line message, `permanent` when no retry can cure
 * it (a refused password, a malformed address, purged history), and the other side's error
 * number when it gave one (a MySQL/MariaDB error, a relay's refusal code). Callers that
 * retry look only at `permanent`; the message is for the log.
 *
 * fl_errorf is the one formatter for messages: it also serves the modules whose functions
 * report into a caller's (char *err, size_t errlen) buffer. */
#ifndef FL_ERROR_H
#define FL_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define FL_ERROR_MAX 1024

typedef struct fl_error {
    char msg[FL_ERROR_MAX];
    bool permanent; /* retrying cannot help */
    unsigned code;  /* the server's or peer's error number; 0 when none */
} fl_error;

/* Sets every field of e (the message from fmt). Returns -1, so that a failing function can
 * end with `return fl_error_set(...)`. */
int fl_error_set(fl_error *e, bool permanent, unsigned code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Puts "CONTEXT: " (from fmt) before the message; permanent and code stay. */
void fl_error_prefix(fl_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An empty message, not permanent, code 0. */
void fl_error_clear(fl_error *e);

/* Writes the message into buf (len bytes, always terminated; nothing when buf is NULL or len
 * is 0) and returns -1. */
int fl_errorf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same with a va_list, after prefix (NULL for none): "PREFIXmessage". */
int fl_verrorf(char *buf, size_t len, const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

#endif
