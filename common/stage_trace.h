/* stage_trace.h — per-stage timestamps of the live path, for bench/latency.sh, compiled in
 * only by a build made with FL_STAGE_TRACE defined (make STAGE_TRACE=1, into build-stages/).
 * FL_STAGE(code) is the code in such a build and nothing otherwise (a file's trace state and
 * the functions writing its lines sit in #ifdef FL_STAGE_TRACE): the default build carries no
 * trace point and pays nothing for one. A traced fl-relay writes its lines to the file
 * FL_TRACE_RELAY names, fl-apply to FL_TRACE_APPLY's (bench/latency_stages.py joins them). */
#ifndef FL_STAGE_TRACE_H
#define FL_STAGE_TRACE_H

#ifdef FL_STAGE_TRACE

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define FL_STAGE(...) __VA_ARGS__

/* Microseconds on CLOCK_REALTIME, the clock of bench/latency's own trace. */
static inline long long fl_stage_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* The trace file the environment variable env names, opened at the first call (NULL: none).
 * Each source file that traces has its own, for its one variable. */
static inline FILE *fl_stage_file(const char *env)
{
    static FILE *f;
    static int tried;
    if (!tried) {
        tried = 1;
        const char *path = getenv(env);
        if (path) f = fopen(path, "w");
    }
    return f;
}

/* The journal's last commit: LMDB's commit returned, the meta page synced, readers told. */
extern long long fl_stage_store_t[3];

#else

#define FL_STAGE(...)

#endif

#endif
