/* error.c — the error carrier and the one message formatter (see error.h). */
#include "common/error.h"

#include <stdio.h>
#include <string.h>

int fl_verrorf(char *buf, size_t len, const char *prefix, const char *fmt, va_list ap)
{
    if (!buf || !len) return -1;
    size_t n = 0;
    if (prefix) {
        int w = snprintf(buf, len, "%s", prefix);
        n = w < 0 ? 0 : (size_t)w;
        if (n >= len) return -1;
    }
    vsnprintf(buf + n, len - n, fmt, ap);
    return -1;
}

int fl_errorf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fl_verrorf(buf, len, NULL, fmt, ap);
    va_end(ap);
    return -1;
}

int fl_error_set(fl_error *e, bool permanent, unsigned code, const char *fmt, ...)
{
    e->permanent = permanent;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    fl_verrorf(e->msg, sizeof e->msg, NULL, fmt, ap);
    va_end(ap);
    return -1;
}

void fl_error_prefix(fl_error *e, const char *fmt, ...)
{
    char msg[FL_ERROR_MAX];
    memcpy(msg, e->msg, sizeof msg);
    msg[sizeof msg - 1] = '\0';
    va_list ap;
    va_start(ap, fmt);
    fl_verrorf(e->msg, sizeof e->msg, NULL, fmt, ap);
    va_end(ap);
    size_t n = strlen(e->msg);
    fl_errorf(e->msg + n, sizeof e->msg - n, ": %s", msg);
}

void fl_error_clear(fl_error *e)
{
    e->msg[0] = '\0';
    e->permanent = false;
    e->code = 0;
}
