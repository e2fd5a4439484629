/* feed_client.c — a blocking client of fl-relay's feed with deadlines everywhere.
 *
 * How: TCP connect with a timeout, then (when a CA is configured) a TLS handshake that
 * verifies the relay's certificate against the CA and its name or IP address; then the
 * handshake of feed_proto.h: HELLO, AUTH with our MAC, and WELCOME as the relay's first
 * sealed message, which proves it holds the secret. From then on only sealed frames are
 * read: each is checked against the session key and its number before its bytes join the
 * message stream. Records are messages carrying the journal's own codec; the parts of a
 * large transaction are decoded into one fl_txn in order. Only an authenticated ERROR can
 * say that retrying will not help. */
#include "feed/feed_client.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/error.h"
#include "common/tls_client.h"
#include "feed/feed_proto.h"
#include "journal/record.h"

struct fl_feed_client {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    fl_buf in; /* bytes from the socket */
    size_t in_off;
    fl_feed_seal rx; /* the relay's direction, once AUTH is sent */
    bool keyed;
    fl_buf stream; /* the opened message stream */
    size_t stream_off;
    char addr[300];
};

/* Waits for fd to be readable/writable until deadline. Returns 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline < 0 ? -1 : deadline - fl_now_ms();
        if (deadline >= 0 && left <= 0) return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (r > 0) return 1;
        if (r == 0) return 0;
        if (errno != EINTR) return -1;
    }
}

/* Returns the connected fd, -1 on a failure worth retrying, -2 on one that is not. */
static int tcp_connect(const char *addr, int64_t deadline, char *err, size_t errlen)
{
    char *host = NULL, portbuf[16];
    int port;
    if (fl_parse_hostport(addr, &host, &port) != 0) {
        snprintf(err, errlen, "relay address '%s' is not host:port", addr);
        return -2; /* a configuration mistake: retrying cannot help */
    }
    snprintf(portbuf, sizeof portbuf, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, portbuf, &hints, &res);
    free(host);
    if (rc != 0) {
        snprintf(err, errlen, "relay %s: %s", addr, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    snprintf(err, errlen, "relay %s: no address to connect to", addr);
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (r != 0 && errno == EINPROGRESS) {
            int w = wait_fd(fd, POLLOUT, deadline);
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (w == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
                r = 0;
            else
                errno = w == 0 ? ETIMEDOUT : (soerr ? soerr : errno);
        }
        if (r == 0) break;
        snprintf(err, errlen, "relay %s: cannot connect: %s", addr, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

/* Returns 0, -1 on a failure worth retrying, -2 on one that is not (CA, certificate). */
static int tls_start(fl_feed_client *c, const char *tls_ca, int64_t deadline, char *err, size_t errlen)
{
    char why[256];
    c->ctx = fl_tls_client_ctx(tls_ca, NULL, NULL, why, sizeof why);
    if (!c->ctx) {
        snprintf(err, errlen, "tls_ca: %s", why);
        return -2;
    }
    c->ssl = SSL_new(c->ctx);
    if (!c->ssl) {
        snprintf(err, errlen, "TLS: cannot create a session");
        return -1;
    }
    SSL_set_fd(c->ssl, c->fd);
    char *host = NULL;
    int port;
    if (fl_parse_hostport(c->addr, &host, &port) == 0) fl_tls_client_expect_host(c->ssl, host);
    free(host);
    for (;;) {
        int r = SSL_connect(c->ssl);
        if (r == 1) return 0;
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            int w = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
            if (w == 1) continue;
            snprintf(err, errlen, "relay %s: TLS handshake timed out", c->addr);
            return -1;
        }
        bool untrusted = fl_tls_client_why(c->ssl, r, why, sizeof why);
        snprintf(err, errlen, "relay %s: TLS %s", c->addr, why);
        return untrusted ? -2 : -1;
    }
}

static int send_all(fl_feed_client *c, const uint8_t *p, size_t n, int64_t deadline, char *err, size_t errlen)
{
    while (n > 0) {
        ssize_t w;
        if (c->ssl) {
            int r = SSL_write(c->ssl, p, (int)n);
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                if ((e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) &&
                    wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) == 1)
                    continue;
                snprintf(err, errlen, "relay %s: connection lost while sending", c->addr);
                return -1;
            }
            w = r;
        } else {
            w = send(c->fd, p, n, MSG_NOSIGNAL);
            if (w < 0) {
                if ((errno == EAGAIN || errno == EINTR) && wait_fd(c->fd, POLLOUT, deadline) == 1) continue;
                snprintf(err, errlen, "relay %s: connection lost while sending: %s", c->addr, strerror(errno));
                return -1;
            }
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads more bytes into c->in. Returns 1 got some, 0 deadline passed, -1 closed/error. */
static int fill(fl_feed_client *c, int64_t deadline, char *err, size_t errlen)
{
    if (c->in_off > 0 && c->in_off == c->in.len) {
        fl_buf_reset(&c->in);
        c->in_off = 0;
    } else if (c->in_off > (1u << 20)) {
        memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
        c->in.len -= c->in_off;
        c->in_off = 0;
    }
    fl_buf_reserve(&c->in, 65536);
    for (;;) {
        if (c->ssl) {
            int r = SSL_read(c->ssl, c->in.data + c->in.len, 65536);
            if (r > 0) {
                c->in.len += (size_t)r;
                return 1;
            }
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                int w = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
                if (w == 1) continue;
                if (w == 0) return 0;
            }
            snprintf(err, errlen, "relay %s closed the connection", c->addr);
            return -1;
        }
        ssize_t r = recv(c->fd, c->in.data + c->in.len, 65536, 0);
        if (r > 0) {
            c->in.len += (size_t)r;
            return 1;
        }
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            int w = wait_fd(c->fd, POLLIN, deadline);
            if (w == 1) continue;
            if (w == 0) return 0;
        }
        snprintf(err, errlen, "relay %s closed the connection", c->addr);
        return -1;
    }
}

/* Next frame into *m (pointing into c->in until the next call). 1 / 0 timeout / -1 error. */
static int next_frame(fl_feed_client *c, fl_feed_msg *m, int64_t deadline, char *err, size_t errlen)
{
    for (;;) {
        size_t used;
        char perr[200];
        int rc = fl_feed_parse(c->in.data + c->in_off, c->in.len - c->in_off, c->keyed ? &c->rx : NULL, m, &used,
                               perr, sizeof perr);
        if (rc == 1) {
            c->in_off += used;
            return 1;
        }
        if (rc < 0) {
            snprintf(err, errlen, "relay %s sent a bad frame: %s", c->addr, perr);
            return -1;
        }
        rc = fill(c, deadline, err, errlen);
        if (rc <= 0) return rc;
    }
}

/* Sets e from the relay's ERROR message and its code. Permanent (retrying cannot cure it)
 * only when authenticated: an ERROR that is not sealed may be anybody's. Returns -1. */
static int relay_refused(const fl_feed_msg *m, bool authenticated, const char *addr, fl_error *e)
{
    int n = m->data_len > 400 ? 400 : (int)m->data_len;
    bool permanent = authenticated && (m->code == FL_FEED_ERR_PURGED || m->code == FL_FEED_ERR_UNKNOWN ||
                                       m->code == FL_FEED_ERR_REFUSED);
    return fl_error_set(e, permanent, m->code, "relay %s: %s: %.*s", addr, fl_feed_error_name(m->code), n,
                        (const char *)m->data);
}

/* Next message into *m (pointing into c->stream until the next call). After AUTH only
 * sealed frames carry messages; an unauthenticated plain ERROR ends the session with its text
 * (never permanent). Returns 1 / 0 timeout / -1 with e. */
static int next_msg(fl_feed_client *c, fl_feed_msg *m, int64_t deadline, fl_error *e)
{
    char *err = e->msg;
    size_t errlen = sizeof e->msg;
    for (;;) {
        size_t used;
        char perr[200];
        int rc = fl_feed_parse_message(c->stream.data + c->stream_off, c->stream.len - c->stream_off, m, &used,
                                       perr, sizeof perr);
        if (rc == 1) {
            c->stream_off += used;
            if (m->type == FL_FEED_ERROR) return relay_refused(m, true, c->addr, e);
            return 1;
        }
        if (rc < 0) {
            snprintf(err, errlen, "relay %s sent a bad message: %s", c->addr, perr);
            return -1;
        }
        if (c->stream_off > 0 && c->stream_off == c->stream.len) {
            fl_buf_reset(&c->stream);
            c->stream_off = 0;
        } else if (c->stream_off > (1u << 20)) {
            memmove(c->stream.data, c->stream.data + c->stream_off, c->stream.len - c->stream_off);
            c->stream.len -= c->stream_off;
            c->stream_off = 0;
        }
        fl_feed_msg f;
        rc = next_frame(c, &f, deadline, err, errlen);
        if (rc <= 0) return rc;
        if (f.type == FL_FEED_ERROR) return relay_refused(&f, false, c->addr, e);
        if (f.type != FL_FEED_SEALED) {
            snprintf(err, errlen, "relay %s: unexpected unauthenticated message type %u", c->addr, f.type);
            return -1;
        }
        fl_buf_put(&c->stream, f.data, f.data_len);
    }
}

fl_feed_client *fl_feed_client_connect(const fl_feed_client_opts *opts, int start, uint64_t from_seq,
                                       const char *from_gtid, fl_feed_welcome *welcome, fl_error *e)
{
    fl_error_clear(e);
    char *err = e->msg; /* the steps below write their reasons here */
    size_t errlen = sizeof e->msg;
    bool perm = false;
    int64_t deadline = fl_now_ms() + (opts->timeout_ms > 0 ? opts->timeout_ms : 10000);
    fl_feed_client *c = fl_xcalloc(1, sizeof *c);
    snprintf(c->addr, sizeof c->addr, "%s", opts->addr);
    fl_feed_crypto_warm(); /* before the relay's handshake deadline starts */
    c->fd = tcp_connect(opts->addr, deadline, err, errlen);
    if (c->fd < 0) {
        perm = c->fd == -2;
        goto fail;
    }
    if (opts->tls_ca) {
        int t = tls_start(c, opts->tls_ca, deadline, err, errlen);
        if (t != 0) {
            perm = t == -2;
            goto fail;
        }
    }

    fl_feed_msg hello;
    int rc = next_frame(c, &hello, deadline, err, errlen);
    if (rc == 0) snprintf(err, errlen, "relay %s did not greet within the timeout (TLS expected?)", c->addr);
    if (rc <= 0) goto fail;
    if (hello.type == FL_FEED_ERROR) {
        relay_refused(&hello, false, c->addr, e);
        goto fail;
    }
    if (hello.type != FL_FEED_HELLO) {
        snprintf(err, errlen, "relay %s: expected HELLO, got message type %u", c->addr, hello.type);
        goto fail;
    }
    if (hello.version != FL_FEED_VERSION) {
        snprintf(err, errlen,
                 "relay %s speaks feed protocol version %u, this program %u: run the same release on "
                 "both sides",
                 c->addr, hello.version, FL_FEED_VERSION);
        goto fail;
    }
    fl_feed_msg auth = {.type = FL_FEED_AUTH,
                        .version = FL_FEED_VERSION,
                        .start = (uint8_t)start,
                        .seq = from_seq};
    if (from_gtid) {
        auth.data = (const uint8_t *)from_gtid;
        auth.data_len = strlen(from_gtid);
    }
    uint8_t client_key[FL_FEED_MAC], server_key[FL_FEED_MAC];
    if (fl_feed_nonce(auth.nonce) != 0 ||
        fl_feed_session_keys(opts->secret, hello.nonce, auth.nonce, client_key, server_key) != 0 ||
        fl_feed_auth_mac(client_key, &hello, &auth, auth.mac) != 0 || fl_feed_seal_init(&c->rx, server_key) != 0) {
        snprintf(err, errlen, "cannot compute the authentication proof (OpenSSL)");
        goto fail;
    }
    c->keyed = true;
    fl_buf out = {0};
    fl_feed_encode(&out, &auth);
    rc = send_all(c, out.data, out.len, deadline, err, errlen);
    fl_buf_free(&out);
    if (rc != 0) goto fail;

    /* The relay's first sealed message: it holds the secret and answers this AUTH. */
    fl_feed_msg m;
    rc = next_msg(c, &m, deadline, e);
    if (rc == 0) snprintf(err, errlen, "relay %s did not answer the authentication in time", c->addr);
    if (rc <= 0) goto fail;
    if (m.type != FL_FEED_WELCOME) {
        snprintf(err, errlen, "relay %s: expected WELCOME, got message type %u", c->addr, m.type);
        goto fail;
    }
    if (welcome) {
        welcome->first_seq = m.first_seq;
        welcome->last_seq = m.last_seq;
        welcome->start_seq = m.seq;
        welcome->purged_seq = m.purged_seq;
        memcpy(welcome->identity, m.identity, sizeof welcome->identity);
    }
    return c;
fail:
    if (perm) e->permanent = true;
    fl_feed_client_close(c);
    return NULL;
}

int fl_feed_client_next(fl_feed_client *c, fl_txn *t, int timeout_ms, uint64_t *head_seq, fl_error *e)
{
    fl_error_clear(e);
    char *err = e->msg;
    size_t errlen = sizeof e->msg;
    int64_t deadline = timeout_ms < 0 ? -1 : fl_now_ms() + timeout_ms;
    bool started = false;
    uint64_t seq = 0;
    uint32_t expect_part = 0;
    fl_txn_reset(t);
    for (;;) {
        fl_feed_msg m;
        /* Once a transaction has begun, its remaining parts are already on their way. */
        int rc = next_msg(c, &m, started ? fl_now_ms() + 60000 : deadline, e);
        if (rc == 0 && started) {
            snprintf(err, errlen, "relay %s stalled in the middle of transaction seq %llu", c->addr,
                     (unsigned long long)seq);
            return -1;
        }
        if (rc <= 0) return rc;
        switch (m.type) {
        case FL_FEED_HEARTBEAT:
            if (head_seq) *head_seq = m.last_seq;
            continue;
        case FL_FEED_RECORD: break;
        default: snprintf(err, errlen, "relay %s: unexpected message type %u", c->addr, m.type); return -1;
        }
        if (started ? (m.seq != seq || m.part != expect_part) : m.part != 0) {
            snprintf(err, errlen, "relay %s: record seq %llu part %u out of order", c->addr,
                     (unsigned long long)m.seq, m.part);
            return -1;
        }
        char derr[200];
        if (fl_record_decode(t, m.data, m.data_len, derr, sizeof derr) != 0) {
            snprintf(err, errlen, "relay %s: record seq %llu part %u: %s", c->addr, (unsigned long long)m.seq,
                     m.part, derr);
            return -1;
        }
        t->seq = m.seq;
        started = true;
        seq = m.seq;
        expect_part = m.part + 1;
        if (head_seq && *head_seq < seq) *head_seq = seq;
        if (t->flags & FL_TXN_LAST_PART) return 1;
    }
}

int fl_feed_client_fd(const fl_feed_client *c) { return c->fd; }

void fl_feed_client_close(fl_feed_client *c)
{
    if (!c) return;
    if (c->ssl) SSL_free(c->ssl);
    if (c->ctx) SSL_CTX_free(c->ctx);
    if (c->fd >= 0) close(c->fd);
    fl_buf_free(&c->in);
    fl_buf_free(&c->stream);
    fl_feed_seal_free(&c->rx);
    free(c);
}
