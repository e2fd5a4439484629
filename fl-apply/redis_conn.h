/* redis_conn.h — one connection to a Redis target, opened the one way fl-apply opens it (the
 * applier and --verify alike): the target URL (common/target_url.h), TCP with TCP_NODELAY
 * and keepalive or a Unix socket, non-blocking, TLS for rediss:// (the server verified
 * against a CA and for the URL's host, optionally a client certificate), then AUTH and
 * SELECT.
 *
 * Every byte to and from the server goes through these calls: callers hand over RESP bytes
 * and take parsed replies (hiredis's reader), and never touch the socket themselves, so the
 * transport underneath is this file's business alone. */
#ifndef FL_REDIS_CONN_H
#define FL_REDIS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

#include "common/error.h"

#define FL_REDIS_IO_TIMEOUT_MS 15000 /* no progress at all for this long: the server is gone */

typedef struct fl_redis_conn fl_redis_conn;

/* TLS settings for a rediss:// URL ([apply] target_tls_*); NULL fields are unset. */
typedef struct fl_redis_tls {
    const char *ca;         /* CA file; NULL: the system's trust store */
    const char *cert, *key; /* client certificate and its key, both or neither */
} fl_redis_tls;

/* Connects to url (redis://, rediss://, redis+unix://) and runs AUTH and SELECT as it says;
 * tls (may be NULL) is used for rediss:// only. Returns NULL with e: permanent for a bad URL,
 * TLS files that cannot be loaded, or a server certificate that fails verification; an
 * unreachable server or a refused AUTH or SELECT is not (the server may come back, or be
 * reconfigured). No message quotes the password. */
fl_redis_conn *fl_redis_conn_open(const char *url, const fl_redis_tls *tls, fl_error *e);
void fl_redis_conn_close(fl_redis_conn *c);

/* ---- pipelined I/O: the caller formats RESP itself and matches the replies ---- */

/* Writes as much of data[0..n) as the connection takes now. Returns the bytes taken (0 when
 * it would block), or -1 with e. */
ssize_t fl_redis_conn_send(fl_redis_conn *c, const void *data, size_t n, fl_error *e);
/* Reads what has arrived, without waiting, into the reply parser. Returns 1 when bytes
 * came, 0 when none were waiting, -1 with e (closed by the server, or failed). */
int fl_redis_conn_receive(fl_redis_conn *c, fl_error *e);
/* The next complete reply among those received: 1 with *reply (freeReplyObject it), 0 when
 * none is complete yet, -1 with e (the server broke the protocol). */
int fl_redis_conn_next_reply(fl_redis_conn *c, redisReply **reply, fl_error *e);

#define FL_REDIS_READABLE 1 /* bytes (or the end of the connection) to receive */
#define FL_REDIS_WRITABLE 2 /* room to send */
/* Waits up to timeout_ms (0: only looks) until the connection is readable, or writable too
 * when want_write. Returns the FL_REDIS_* bits, 0 at the timeout, or -1 with e. */
int fl_redis_conn_wait(fl_redis_conn *c, bool want_write, int timeout_ms, fl_error *e);
/* The same over several connections at once (NULL entries are left out): waits up to
 * timeout_ms until any is ready, sets ready[i] to conns[i]'s FL_REDIS_* bits (want_write[i]
 * for each). Returns how many are ready, 0 at the timeout, or -1 with e. */
int fl_redis_conn_wait_any(fl_redis_conn *const *conns, const bool *want_write, size_t n, int timeout_ms,
                           int *ready, fl_error *e);

/* ---- commands one reply at a time ---- */

/* Queues one command; queued commands go out together (pipelined) at the next reply. */
void fl_redis_conn_append(fl_redis_conn *c, int argc, const char **argv, const size_t *lens);
/* Sends what is queued and returns the next reply (freeReplyObject it), waiting at most
 * FL_REDIS_IO_TIMEOUT_MS for progress; NULL with e. An error reply is a reply. */
redisReply *fl_redis_conn_reply(fl_redis_conn *c, fl_error *e);
/* One command and its reply (fl_redis_conn_append, then fl_redis_conn_reply). */
redisReply *fl_redis_conn_command(fl_redis_conn *c, int argc, const char **argv, const size_t *lens, fl_error *e);

#endif
