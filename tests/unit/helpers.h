/* helpers.h — what several unit tests need: a free TCP port on 127.0.0.1, a private
 * redis-server on it, and a private temporary directory removed with everything in it. */
#ifndef FL_TEST_HELPERS_H
#define FL_TEST_HELPERS_H

#include <stddef.h>
#include <sys/types.h>

/* A TCP port on 127.0.0.1 nobody listens on right now (aborts when none can be had). */
int th_free_port(void);
/* Starts redis-server on 127.0.0.1:port (no persistence) and waits until it answers PING.
 * Returns its pid, or -1 when it does not come up. */
pid_t th_redis_start(int port);
/* Kills *pid (when > 0), reaps it and sets it to -1. */
void th_process_stop(pid_t *pid);
/* Creates a fresh directory /tmp/fl-test-NAME-XXXXXX and writes its path into dir.
 * Returns 0, or -1. */
int th_tmpdir_make(char *dir, size_t size, const char *name);
/* Removes dir and everything below it. Returns 0, or -1. */
int th_tmpdir_remove(const char *dir);

#endif
