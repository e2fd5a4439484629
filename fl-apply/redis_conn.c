/* redis_conn.c — the Redis connection (see redis_conn.h).
 *
 * hiredis connects (name resolution, the connect timeout, a Unix socket); the socket is
 * then taken from it, set non-blocking and driven here with read/write/poll, and a reader of
 * hiredis's own parses the replies. Commands queued with fl_redis_conn_append are formatted
 * by hiredis. */
#include "fl-apply/redis_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/target_url.h"

#define CONNECT_TIMEOUT_S 5

struct fl_redis_conn {
    int fd;
    redisReader *reader;
    fl_buf out; /* queued commands; out.data[sent..len) not yet written */
    size_t sent;
};

void fl_redis_conn_close(fl_redis_conn *c)
{
    if (!c) return;
    if (c->fd >= 0) close(c->fd);
    if (c->reader) redisReaderFree(c->reader);
    fl_buf_free(&c->out);
    free(c);
}

ssize_t fl_redis_conn_send(fl_redis_conn *c, const void *data, size_t n, fl_error *e)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(c->fd, (const char *)data + done, n - done);
        if (w > 0) {
            done += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return fl_error_set(e, false, 0, "redis: write: %s", w < 0 ? strerror(errno) : "no progress");
    }
    return (ssize_t)done;
}

int fl_redis_conn_receive(fl_redis_conn *c, fl_error *e)
{
    char buf[65536];
    int got = 0;
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n > 0) {
            if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK)
                return fl_error_set(e, false, 0, "redis: reply buffer: out of memory");
            got = 1;
            if ((size_t)n < sizeof buf) return got; /* drained: spare the read that would block */
            continue;
        }
        if (n == 0) return fl_error_set(e, false, 0, "redis: connection closed by the server");
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return got;
        return fl_error_set(e, false, 0, "redis: read: %s", strerror(errno));
    }
}

int fl_redis_conn_next_reply(fl_redis_conn *c, redisReply **reply, fl_error *e)
{
    void *r = NULL;
    *reply = NULL;
    if (redisReaderGetReply(c->reader, &r) != REDIS_OK)
        return fl_error_set(e, false, 0, "redis: protocol error: %s", c->reader->errstr);
    *reply = r;
    return r ? 1 : 0;
}

int fl_redis_conn_wait(fl_redis_conn *c, bool want_write, int timeout_ms, fl_error *e)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN | (want_write ? POLLOUT : 0)};
    int n;
    while ((n = poll(&p, 1, timeout_ms)) < 0)
        if (errno != EINTR) return fl_error_set(e, false, 0, "redis: poll failed: %s", strerror(errno));
    if (n == 0) return 0;
    return (p.revents & (POLLIN | POLLHUP | POLLERR) ? FL_REDIS_READABLE : 0) |
           (p.revents & POLLOUT ? FL_REDIS_WRITABLE : 0);
}

void fl_redis_conn_append(fl_redis_conn *c, int argc, const char **argv, const size_t *lens)
{
    char *cmd = NULL;
    int n = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (n < 0 || !cmd) {
        fputs("fatal: out of memory\n", stderr);
        abort();
    }
    fl_buf_put(&c->out, cmd, (size_t)n);
    redisFreeCommand(cmd);
}

redisReply *fl_redis_conn_reply(fl_redis_conn *c, fl_error *e)
{
    for (;;) {
        if (c->sent < c->out.len) {
            ssize_t n = fl_redis_conn_send(c, c->out.data + c->sent, c->out.len - c->sent, e);
            if (n < 0) return NULL;
            c->sent += (size_t)n;
            if (c->sent == c->out.len) {
                fl_buf_reset(&c->out);
                c->sent = 0;
            }
        }
        redisReply *reply;
        int r = fl_redis_conn_next_reply(c, &reply, e);
        if (r < 0) return NULL;
        if (r > 0) return reply;
        int ready = fl_redis_conn_wait(c, c->sent < c->out.len, FL_REDIS_IO_TIMEOUT_MS, e);
        if (ready < 0) return NULL;
        if (ready == 0) {
            fl_error_set(e, false, 0, "redis: no reply within %d s", FL_REDIS_IO_TIMEOUT_MS / 1000);
            return NULL;
        }
        if ((ready & FL_REDIS_READABLE) && fl_redis_conn_receive(c, e) < 0) return NULL;
    }
}

redisReply *fl_redis_conn_command(fl_redis_conn *c, int argc, const char **argv, const size_t *lens, fl_error *e)
{
    fl_redis_conn_append(c, argc, argv, lens);
    return fl_redis_conn_reply(c, e);
}

/* The text of a reply, for a message (cut to 200 bytes). */
static const char *reply_text(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING
               ? r->str
               : "unexpected reply";
}

/* Runs one session command; a refusal names what (never the arguments: AUTH's are secret). */
static int session_command(fl_redis_conn *c, const char *what, int argc, const char **argv, const size_t *lens,
                           fl_error *e)
{
    redisReply *r = fl_redis_conn_command(c, argc, argv, lens, e);
    if (!r) return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR)
        rc = fl_error_set(e, false, 0, "redis: %s refused: %.200s", what, reply_text(r));
    freeReplyObject(r);
    return rc;
}

static int setup_session(fl_redis_conn *c, const fl_redis_url *u, fl_error *e)
{
    if (u->password) {
        const char *argv[3] = {"AUTH", u->user ? u->user : u->password, u->password};
        size_t lens[3] = {4, strlen(argv[1]), strlen(u->password)};
        if (session_command(c, "AUTH", u->user ? 3 : 2, argv, lens, e)) return -1;
    }
    if (u->db) {
        char db[16], what[32];
        snprintf(db, sizeof db, "%u", u->db);
        snprintf(what, sizeof what, "SELECT %u", u->db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, strlen(db)};
        if (session_command(c, what, 2, argv, lens, e)) return -1;
    }
    return 0;
}

/* The socket, connected by hiredis and taken from it. Returns the fd or -1 with e. */
static int connect_socket(const fl_redis_url *u, fl_error *e)
{
    struct timeval tv = {.tv_sec = CONNECT_TIMEOUT_S, .tv_usec = 0};
    redisContext *rc = u->path ? redisConnectUnixWithTimeout(u->path, tv)
                               : redisConnectWithTimeout(u->host, u->port, tv);
    if (!rc || rc->err) {
        const char *why = rc ? rc->errstr : "out of memory";
        if (u->path)
            fl_error_set(e, false, 0, "redis: cannot connect to %s: %s", u->path, why);
        else
            fl_error_set(e, false, 0, "redis: cannot connect to %s:%d: %s", u->host, u->port, why);
        if (rc) redisFree(rc);
        return -1;
    }
    if (!u->path) {
        int one = 1;
        setsockopt(rc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        redisEnableKeepAlive(rc);
    }
    int fd = redisFreeKeepFd(rc);
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        fl_error_set(e, false, 0, "redis: fcntl: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

fl_redis_conn *fl_redis_conn_open(const char *url, fl_error *e)
{
    fl_error_clear(e);
    fl_redis_url u;
    if (fl_redis_url_parse(url, &u, e->msg, sizeof e->msg)) {
        e->permanent = true;
        return NULL;
    }
    fl_redis_conn *c = fl_xcalloc(1, sizeof *c);
    c->fd = connect_socket(&u, e);
    c->reader = redisReaderCreate();
    if (c->fd < 0 || !c->reader || setup_session(c, &u, e)) {
        if (!c->reader) fl_error_set(e, false, 0, "redis: out of memory");
        fl_redis_conn_close(c);
        c = NULL;
    }
    fl_redis_url_free(&u);
    return c;
}
