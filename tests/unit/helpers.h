/* helpers.h — what several unit tests need: a free TCP port on 127.0.0.1, a private
 * redis-server on it, a private temporary directory removed with everything in it, and a
 * journal transaction of one row (a snapshot chunk or an insert). */
#ifndef FL_TEST_HELPERS_H
#define FL_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A TCP port on 127.0.0.1 nobody listens on right now (aborts when none can be had). */
int th_free_port(void);
/* Starts redis-server on 127.0.0.1:port (no persistence) and waits until it answers PING.
 * Returns its pid, or -1 when it does not come up. */
pid_t th_redis_start(int port);
/* cmocka group fixtures: a private redis-server for the whole group, on th_redis_port. */
extern int th_redis_port;
int th_redis_group_start(void **state);
int th_redis_group_stop(void **state);
/* Kills *pid (when > 0), reaps it and sets it to -1. */
void th_process_stop(pid_t *pid);
/* Creates a fresh directory /tmp/fl-test-NAME-XXXXXX and writes its path into dir.
 * Returns 0, or -1. */
int th_tmpdir_make(char *dir, size_t size, const char *name);
/* Removes dir and everything below it. Returns 0, or -1. */
int th_tmpdir_remove(const char *dir);

struct fl_store;
/* Journals transaction n (GTID 0-1-n, commit time ts) of one row app.TABLE id = n: chunk
 * `chunk` of a snapshot of the table (last: its last chunk), or an ordinary insert when chunk
 * < 0; committed at once. Returns 0, or -1 with the journal's message on stderr. */
int th_journal_add_row(struct fl_store *s, uint64_t n, const char *table, int chunk, bool last, uint64_t ts);

#endif
