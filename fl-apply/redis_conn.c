/* redis_conn.c — the Redis connection (see redis_conn.h).
 *
 * hiredis connects (name resolution, the connect timeout, a Unix socket); the socket is
 * then taken from it, set non-blocking and driven here with read/write/poll, and a reader of
 * hiredis's own parses the replies. Commands queued with fl_redis_conn_append are formatted
 * by hiredis. For rediss:// an OpenSSL session runs over the same socket (the hiredis in
 * use may have no TLS of its own): a TLS read may need the socket writable and a TLS write
 * readable, which the wait turns into the readiness the caller asked for, and bytes OpenSSL
 * has already decrypted count as readable though the socket has none. */
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

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/target_url.h"
#include "common/tls_client.h"

#define CONNECT_TIMEOUT_S 5

struct fl_redis_conn {
    int fd;
    SSL_CTX *tls_ctx; /* rediss:// only */
    SSL *tls;
    bool read_wants_write; /* the last TLS read needs the socket writable to go on */
    bool write_wants_read; /* the last TLS write needs it readable */
    redisReader *reader;
    fl_buf out; /* queued commands; out.data[sent..len) not yet written */
    size_t sent;
};

void fl_redis_conn_close(fl_redis_conn *c)
{
    if (!c) return;
    if (c->tls) SSL_free(c->tls); /* no close_notify: the socket may be broken, and nothing waits for it */
    if (c->tls_ctx) SSL_CTX_free(c->tls_ctx);
    if (c->fd >= 0) close(c->fd);
    if (c->reader) redisReaderFree(c->reader);
    fl_buf_free(&c->out);
    free(c);
}

/* The message of a failed TLS read or write (r its return) into e; -1. */
static int tls_io_failed(fl_redis_conn *c, const char *what, int r, fl_error *e)
{
    int err = SSL_get_error(c->tls, r);
    unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && !code && (r == 0 || !errno)))
        return fl_error_set(e, false, 0, "redis: connection closed by the server");
    if (err == SSL_ERROR_SYSCALL && !code)
        return fl_error_set(e, false, 0, "redis: TLS %s: %s", what, strerror(errno));
    const char *why = code ? ERR_reason_error_string(code) : NULL;
    return fl_error_set(e, false, 0, "redis: TLS %s: %s", what, why ? why : "failed");
}

static ssize_t tls_send(fl_redis_conn *c, const void *data, size_t n, fl_error *e)
{
    size_t done = 0;
    c->write_wants_read = false;
    while (done < n) {
        size_t chunk = n - done > INT32_MAX ? INT32_MAX : n - done;
        errno = 0;
        int w = SSL_write(c->tls, (const char *)data + done, (int)chunk);
        if (w > 0) {
            done += (size_t)w;
            continue;
        }
        int err = SSL_get_error(c->tls, w);
        if (err == SSL_ERROR_WANT_WRITE) break;
        if (err == SSL_ERROR_WANT_READ) {
            c->write_wants_read = true;
            break;
        }
        return tls_io_failed(c, "write", w, e);
    }
    return (ssize_t)done;
}

ssize_t fl_redis_conn_send(fl_redis_conn *c, const void *data, size_t n, fl_error *e)
{
    if (c->tls) return tls_send(c, data, n, e);
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

static int tls_receive(fl_redis_conn *c, fl_error *e)
{
    char buf[16384]; /* one TLS record at most */
    int got = 0;
    c->read_wants_write = false;
    for (;;) {
        errno = 0;
        int n = SSL_read(c->tls, buf, sizeof buf);
        if (n > 0) {
            if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK)
                return fl_error_set(e, false, 0, "redis: reply buffer: out of memory");
            got = 1;
            continue;
        }
        int err = SSL_get_error(c->tls, n);
        if (err == SSL_ERROR_WANT_READ) return got;
        if (err == SSL_ERROR_WANT_WRITE) {
            c->read_wants_write = true;
            return got;
        }
        return tls_io_failed(c, "read", n, e);
    }
}

int fl_redis_conn_receive(fl_redis_conn *c, fl_error *e)
{
    if (c->tls) return tls_receive(c, e);
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
    if (c->tls && SSL_pending(c->tls) > 0) return FL_REDIS_READABLE; /* already decrypted */
    /* what the socket must be for a read, and for a write, to make progress */
    short for_read = c->read_wants_write ? POLLOUT : POLLIN;
    short for_write = c->write_wants_read ? POLLIN : POLLOUT;
    struct pollfd p = {.fd = c->fd, .events = (short)(for_read | (want_write ? for_write : 0))};
    int n;
    while ((n = poll(&p, 1, timeout_ms)) < 0)
        if (errno != EINTR) return fl_error_set(e, false, 0, "redis: poll failed: %s", strerror(errno));
    if (n == 0) return 0;
    bool broken = p.revents & (POLLHUP | POLLERR);
    return (broken || (p.revents & for_read) ? FL_REDIS_READABLE : 0) |
           (want_write && (broken || (p.revents & for_write)) ? FL_REDIS_WRITABLE : 0);
}

int fl_redis_conn_wait_any(fl_redis_conn *const *conns, const bool *want_write, size_t n, int timeout_ms,
                           int *ready, fl_error *e)
{
    int pending = 0;
    for (size_t i = 0; i < n; i++) {
        ready[i] = conns[i] && conns[i]->tls && SSL_pending(conns[i]->tls) > 0 ? FL_REDIS_READABLE : 0;
        pending += ready[i] != 0;
    }
    if (pending) return pending; /* already decrypted */
    struct pollfd *p = fl_xcalloc(n ? n : 1, sizeof *p);
    for (size_t i = 0; i < n; i++) {
        p[i].fd = -1; /* poll leaves it out */
        if (!conns[i]) continue;
        short for_read = conns[i]->read_wants_write ? POLLOUT : POLLIN;
        short for_write = conns[i]->write_wants_read ? POLLIN : POLLOUT;
        p[i].fd = conns[i]->fd;
        p[i].events = (short)(for_read | (want_write[i] ? for_write : 0));
    }
    int got;
    while ((got = poll(p, (nfds_t)n, timeout_ms)) < 0)
        if (errno != EINTR) {
            free(p);
            return fl_error_set(e, false, 0, "redis: poll failed: %s", strerror(errno));
        }
    for (size_t i = 0; i < n && got > 0; i++) {
        if (!conns[i] || !p[i].revents) continue;
        short for_read = conns[i]->read_wants_write ? POLLOUT : POLLIN;
        short for_write = conns[i]->write_wants_read ? POLLIN : POLLOUT;
        bool broken = p[i].revents & (POLLHUP | POLLERR);
        ready[i] = (broken || (p[i].revents & for_read) ? FL_REDIS_READABLE : 0) |
                   (want_write[i] && (broken || (p[i].revents & for_write)) ? FL_REDIS_WRITABLE : 0);
    }
    free(p);
    return got;
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

/* The TLS handshake of a rediss:// connection on c->fd, the server verified for u->host;
 * within CONNECT_TIMEOUT_S. 0, or -1 with e (permanent when a file or the certificate is
 * wrong: retrying cannot help until the configuration or the server changes). */
static int tls_handshake(fl_redis_conn *c, const fl_redis_url *u, const fl_redis_tls *tls, fl_error *e)
{
    char why[300];
    c->tls_ctx = fl_tls_client_ctx(tls ? tls->ca : NULL, tls ? tls->cert : NULL, tls ? tls->key : NULL, why,
                                   sizeof why);
    if (!c->tls_ctx) return fl_error_set(e, true, 0, "redis: TLS: %s", why);
    SSL_CTX_set_mode(c->tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    c->tls = SSL_new(c->tls_ctx);
    if (!c->tls || SSL_set_fd(c->tls, c->fd) != 1 || fl_tls_client_expect_host(c->tls, u->host))
        return fl_error_set(e, false, 0, "redis: TLS: cannot set up a session");
    int64_t deadline = fl_now_ms() + CONNECT_TIMEOUT_S * 1000;
    for (;;) {
        errno = 0;
        int r = SSL_connect(c->tls);
        if (r == 1) return 0;
        int err = SSL_get_error(c->tls, r);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
            bool untrusted = fl_tls_client_why(c->tls, r, why, sizeof why);
            return fl_error_set(e, untrusted, 0, "redis: TLS to %s:%d: %s", u->host, u->port, why);
        }
        int64_t left = deadline - fl_now_ms();
        struct pollfd p = {.fd = c->fd, .events = err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT};
        int n = left > 0 ? poll(&p, 1, (int)left) : 0;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fl_error_set(e, false, 0, "redis: poll failed: %s", strerror(errno));
        if (n == 0)
            return fl_error_set(e, false, 0, "redis: TLS to %s:%d: no handshake within %d s", u->host, u->port,
                                CONNECT_TIMEOUT_S);
    }
}

fl_redis_conn *fl_redis_conn_open(const char *url, const fl_redis_tls *tls, fl_error *e)
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
    if (c->fd < 0 || !c->reader || (u.tls && tls_handshake(c, &u, tls, e)) || setup_session(c, &u, e)) {
        if (!c->reader) fl_error_set(e, false, 0, "redis: out of memory");
        fl_redis_conn_close(c);
        c = NULL;
    }
    fl_redis_url_free(&u);
    return c;
}
