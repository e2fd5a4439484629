/* feed_server.c — serves the journal to remote appliers over TCP or TLS, in a child process.
 *
 * How: the parent binds the listening socket (so a bad address is its error), loads the TLS
 * certificate, then forks. The child opens the journal read-only and runs one libev loop:
 * an accept watcher, one io watcher per client, a watcher on the journal's commit
 * notification fd, and a heartbeat timer. Each client is a small state machine:
 *   TLS handshake (when configured) -> HELLO sent -> AUTH checked -> WELCOME -> streaming.
 * Once AUTH's MAC checks out, every message to the client goes into c->plain and leaves in
 * sealed frames (feed_proto.h) of at most FL_FEED_MAX_CHUNK bytes, so many small records share
 * one MAC and a record part of any size crosses in pieces.
 * Flow control: a client's output buffer is refilled from the journal only after it drained
 * below FEED_LOW_WATER, so a slow client costs one buffer and one record part, whatever
 * the backlog. The child exits on SIGTERM and when the relay (its parent) dies. */
#include "feed/feed_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/buf.h"
#include "feed/feed_proto.h"
#include "common/log.h"
#include "common/net.h"
#include "journal/snapshot_request.h"
#include "journal/store.h"

#define FEED_LOW_WATER (1u << 20) /* refill a client's buffer below 1 MiB pending */
#define FEED_MAX_IN (64u * 1024)  /* a client sends only small messages */
#define FEED_AUTH_TIMEOUT 3.0     /* seconds from accept to complete TLS and AUTH */
#define FEED_HEARTBEAT 1.0        /* seconds between heartbeats on an idle stream */
#define FEED_MAX_CLIENTS 256      /* authenticated clients */
#define FEED_BIND_WAIT_MS 10000   /* how long a taken [feed] listen port is waited for at start */
#define FEED_BIND_RETRY_MS 100
#define FEED_MAX_PENDING 64     /* connections not authenticated yet, in all */
#define FEED_PENDING_PER_ADDR 8 /* ... and from one source address */
#define FEED_DROP_REPORT 10.0   /* seconds between summaries of dropped connections */

enum client_state { C_TLS, C_AUTH, C_STREAM, C_CLOSING };

typedef struct feed_client {
    struct feed_server *srv;
    int fd;
    SSL *ssl;
    enum client_state state;
    bool want_write; /* TLS asked to be called again when writable */
    ev_io io;
    int events; /* what io watches: EV_READ, plus EV_WRITE while output is pending */
    ev_tstamp since, last_send;
    fl_feed_msg hello; /* what we sent: AUTH's MAC covers it */
    bool sealed;       /* authenticated: everything we send goes in sealed frames */
    fl_feed_seal tx;   /* our direction of the session */
    fl_buf in, out;    /* out: frames ready for the socket */
    size_t out_off;
    fl_buf plain; /* messages not sealed yet (at most one record part beyond the low water) */
    size_t plain_off;
    uint64_t next_seq;           /* next transaction to send */
    uint32_t next_part;          /* its next part */
    uint64_t jump_to;            /* the seq a scan found instead of next_seq */
    char host[INET6_ADDRSTRLEN]; /* source address: the unauthenticated budget is per address */
    char peer[INET6_ADDRSTRLEN + 8];
    struct feed_client *prev, *next;
} feed_client;

typedef struct feed_server {
    struct ev_loop *loop;
    int listen_fd;
    SSL_CTX *tls;
    const char *secret;
    const char *journal_dir;
    char *const *snapshot_tables; /* the relay's [snapshot] tables (NULL: none) */
    fl_store *store;
    ev_io accept_io, notify_io;
    ev_timer tick;
    ev_signal sigterm, sigint;
    feed_client *clients;        /* newest first */
    int nclients;                /* authenticated */
    int npending;                /* not authenticated yet */
    uint64_t evicted, timed_out; /* unauthenticated connections dropped since the last summary */
    ev_tstamp last_drop_report;
    ev_tstamp open_failing_since; /* when opening the journal first failed (0 = not failing) */
    bool open_warned;
} feed_server;

/* ---- addresses and checks ------------------------------------------------------------ */

static bool host_is_loopback(const char *host)
{
    if (strcmp(host, "localhost") == 0) return true;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

int fl_feed_server_check(const fl_config *cfg, char *err, size_t errlen)
{
    const fl_config_feed *f = &cfg->feed;
    if (!f->listen) return 0;
    char *host = NULL;
    int port = 0;
    if (fl_parse_hostport(f->listen, &host, &port) != 0) {
        snprintf(err, errlen, "[feed] listen: '%s' is not host:port", f->listen);
        return -1;
    }
    bool loopback = host_is_loopback(host);
    free(host);
    if (!loopback && (!f->secret || !f->secret[0])) {
        snprintf(err, errlen,
                 "[feed] listen: %s is not a loopback address; set secret or "
                 "secret_file so only appliers that know it are served",
                 f->listen);
        return -1;
    }
    if ((f->tls_cert != NULL) != (f->tls_key != NULL)) {
        snprintf(err, errlen, "[feed] tls_cert and tls_key go together");
        return -1;
    }
    return 0;
}

static SSL_CTX *tls_server_ctx(const fl_config_feed *f, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, errlen, "[feed] TLS: cannot create context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, f->tls_cert) != 1) {
        snprintf(err, errlen, "[feed] tls_cert: cannot load %s: %s", f->tls_cert,
                 ERR_reason_error_string(ERR_get_error()));
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, f->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "[feed] tls_key: cannot load %s or it does not match tls_cert: %s", f->tls_key,
                 ERR_reason_error_string(ERR_get_error()));
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* ---- clients ------------------------------------------------------------------------- */

static void client_update_events(feed_client *c);
static void client_fill(feed_client *c);
static void try_open_journal(feed_server *s);

static void client_close(feed_client *c)
{
    feed_server *s = c->srv;
    ev_io_stop(s->loop, &c->io);
    if (c->ssl) SSL_free(c->ssl);
    close(c->fd);
    fl_buf_free(&c->in);
    fl_buf_free(&c->out);
    fl_buf_free(&c->plain);
    fl_feed_seal_free(&c->tx);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    if (c->sealed)
        s->nclients--;
    else
        s->npending--;
    free(c);
}

/* Seals pending messages into frames of at most FL_FEED_MAX_CHUNK bytes: all of them, or
 * while the output is below the low water. */
static void client_seal(feed_client *c, bool all)
{
    while (c->plain_off < c->plain.len && (all || c->out.len - c->out_off < FEED_LOW_WATER)) {
        size_t n = c->plain.len - c->plain_off;
        if (n > FL_FEED_MAX_CHUNK) n = FL_FEED_MAX_CHUNK;
        fl_feed_seal_frame(&c->out, &c->tx, c->plain.data + c->plain_off, n);
        c->plain_off += n;
    }
    if (c->plain_off == c->plain.len) {
        fl_buf_reset(&c->plain);
        c->plain_off = 0;
    }
}

/* Sends one message: sealed once the client is authenticated, else in a plain frame. */
static void client_send(feed_client *c, const fl_feed_msg *m)
{
    if (c->sealed) {
        fl_feed_encode_message(&c->plain, m);
        client_seal(c, true);
    } else {
        fl_feed_encode(&c->out, m);
    }
    c->last_send = ev_now(c->srv->loop);
}

static void client_refuse(feed_client *c, uint16_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void client_refuse(feed_client *c, uint16_t code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fl_feed_msg m = {.type = FL_FEED_ERROR, .code = code, .data = (const uint8_t *)msg, .data_len = strlen(msg)};
    client_send(c, &m);
    c->state = C_CLOSING;
}

/* Sends HELLO once the transport is up. */
static void client_hello(feed_client *c)
{
    c->hello = (fl_feed_msg){.type = FL_FEED_HELLO, .version = FL_FEED_VERSION};
    if (fl_feed_nonce(c->hello.nonce) != 0) {
        log_error("feed: no random bytes for a nonce; dropping %s", c->peer);
        c->state = C_CLOSING;
        return;
    }
    client_send(c, &c->hello);
    c->state = C_AUTH;
}

static int store_bounds(feed_server *s, fl_store_info *info)
{
    char err[256];
    if (fl_store_info_get(s->store, info, err, sizeof err) != 0) {
        log_error("feed: journal: %s", err);
        return -1;
    }
    return 0;
}

/* Whether retention removed seq: it is at or below the journal's purge horizon. A seq
 * missing above it is a gap (a transaction the relay dropped unfinished, at a crash or a
 * restart mid-transaction), never a purge. */
static bool seq_purged(const fl_store_info *info, uint64_t seq)
{
    if (seq <= info->purged_seq) return true;
    /* a journal purged before it kept a horizon: whatever lies before its first seq */
    return !info->purged_seq && info->first_seq && seq < info->first_seq;
}

static bool snapshot_table_allowed(const feed_server *s, const char *full)
{
    for (char *const *g = s->snapshot_tables; g && *g; g++)
        if (fl_glob_match(*g, full)) return true;
    return false;
}

/* An authenticated snapshot request (AUTH data: "db.t,db.u"): every table must be among the
 * relay's [snapshot] tables; then it is queued like fl-relay --snapshot's. Returns true when
 * it was (the caller answers WELCOME), false after refusing it. */
static bool client_snapshot_request(feed_client *c, const fl_feed_msg *m)
{
    feed_server *s = c->srv;
    char list[4096];
    if (m->data_len == 0 || m->data_len >= sizeof list) {
        client_refuse(c, FL_FEED_ERR_PROTOCOL, "a snapshot request names 1 to %zu bytes of tables",
                      sizeof list - 1);
        return false;
    }
    memcpy(list, m->data, m->data_len);
    list[m->data_len] = 0;
    if (strlen(list) != m->data_len) {
        client_refuse(c, FL_FEED_ERR_PROTOCOL, "a snapshot request's table list holds a NUL byte");
        return false;
    }
    for (char *p = list; *p;) {
        char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char one[512];
        snprintf(one, sizeof one, "%.*s", (int)(n < sizeof one ? n : sizeof one - 1), p);
        if (!snapshot_table_allowed(s, one)) {
            log_warn("feed: %s asked for a snapshot of %s, which is not in [snapshot] tables; refused", c->peer,
                     one);
            client_refuse(c, FL_FEED_ERR_REFUSED, "%s is not in the relay's [snapshot] tables", one);
            return false;
        }
        p += n + (comma ? 1 : 0);
    }
    char err[512];
    int rc = fl_snapshot_request_tables(s->journal_dir, list, err, sizeof err);
    if (rc == 1) {
        client_refuse(c, FL_FEED_ERR_BUSY, "another snapshot request is waiting to be taken; retry shortly");
        return false;
    }
    if (rc < 0) {
        log_warn("feed: %s: %s", c->peer, err);
        client_refuse(c, FL_FEED_ERR_JOURNAL, "%s", err);
        return false;
    }
    log_info("feed: %s requested a snapshot of %s", c->peer, list);
    return true;
}

static void client_auth(feed_client *c, const fl_feed_msg *m)
{
    feed_server *s = c->srv;
    if (m->version != FL_FEED_VERSION) {
        log_warn("feed: %s speaks protocol version %u, this relay %u; refused", c->peer, m->version,
                 FL_FEED_VERSION);
        client_refuse(c, FL_FEED_ERR_VERSION, "protocol version %u not supported (relay speaks %u)", m->version,
                      FL_FEED_VERSION);
        return;
    }
    uint8_t client_key[FL_FEED_MAC], server_key[FL_FEED_MAC], expect[FL_FEED_MAC];
    bool keyed = fl_feed_session_keys(s->secret, c->hello.nonce, m->nonce, client_key, server_key) == 0 &&
                 fl_feed_auth_mac(client_key, &c->hello, m, expect) == 0;
    if (!keyed || !fl_feed_mac_equal(expect, m->mac, FL_FEED_MAC)) {
        log_warn("feed: %s refused: wrong secret (or an AUTH altered on its way)", c->peer);
        client_refuse(c, FL_FEED_ERR_AUTH, "refused: wrong secret");
        return;
    }
    if (fl_feed_seal_init(&c->tx, server_key) != 0) {
        log_error("feed: cannot set up a session key (OpenSSL); dropping %s", c->peer);
        c->state = C_CLOSING;
        return;
    }
    c->sealed = true; /* from here on, every message to the client is sealed */
    s->npending--;
    s->nclients++;
    if (s->nclients > FEED_MAX_CLIENTS) {
        log_warn("feed: %s refused: %d clients already", c->peer, FEED_MAX_CLIENTS);
        client_refuse(c, FL_FEED_ERR_BUSY, "the relay serves %d clients already; retry later", FEED_MAX_CLIENTS);
        return;
    }
    if (!s->store) try_open_journal(s); /* the relay may have created it since the last tick */
    if (!s->store) {
        client_refuse(c, FL_FEED_ERR_JOURNAL, "the relay's journal is not open yet; retry shortly");
        return;
    }
    fl_store_info info;
    if (store_bounds(s, &info) != 0) {
        client_refuse(c, FL_FEED_ERR_JOURNAL, "the relay cannot read its journal");
        return;
    }
    uint64_t start = 0;
    char err[256];
    if (m->start == FL_FEED_FROM_GTID) {
        char text[FL_GTID_TEXT_MAX];
        fl_gtid g;
        size_t n = m->data_len < sizeof text - 1 ? m->data_len : sizeof text - 1;
        memcpy(text, m->data, n);
        text[n] = 0;
        if (fl_gtid_parse(&g, text, n) != 0) {
            client_refuse(c, FL_FEED_ERR_PROTOCOL, "'%s' is not a GTID", text);
            return;
        }
        int rc = fl_store_seek_gtid(s->store, &g, &start, err, sizeof err);
        if (rc == 1) {
            client_refuse(c, FL_FEED_ERR_UNKNOWN, "GTID %s is not in the journal (purged or never seen)", text);
            return;
        }
        if (rc < 0) {
            log_error("feed: journal: %s", err);
            client_refuse(c, FL_FEED_ERR_JOURNAL, "the relay cannot read its journal");
            return;
        }
    } else if (m->start == FL_FEED_FROM_SEQ) {
        start = m->seq ? m->seq : (info.first_seq ? info.first_seq : 1);
        if (seq_purged(&info, start)) {
            client_refuse(c, FL_FEED_ERR_PURGED, "seq %llu has been purged; the journal starts at seq %llu",
                          (unsigned long long)start, (unsigned long long)info.first_seq);
            return;
        }
    } else if (m->start == FL_FEED_SNAPSHOT) {
        if (!client_snapshot_request(c, m)) return;
    } else if (m->start != FL_FEED_INFO) {
        client_refuse(c, FL_FEED_ERR_PROTOCOL, "unknown start mode %u", m->start);
        return;
    }
    fl_feed_msg w = {.type = FL_FEED_WELCOME,
                     .first_seq = info.first_seq,
                     .last_seq = info.last_seq,
                     .seq = start,
                     .purged_seq = info.purged_seq};
    memcpy(w.identity, info.identity, sizeof w.identity);
    client_send(c, &w);
    if (m->start == FL_FEED_INFO || m->start == FL_FEED_SNAPSHOT) {
        c->state = C_CLOSING;
        return;
    }
    log_info("feed: %s streaming from seq %llu", c->peer, (unsigned long long)start);
    c->next_seq = start;
    c->state = C_STREAM;
    client_fill(c);
}

/* Frames one stored record for the client, checking that nothing is skipped. A jump at a
 * transaction's start stops the scan (returns 2, the seq found in c->jump_to) so that
 * client_fill can tell a purge from a gap; a jump inside a transaction means a damaged
 * journal. */
static int send_raw(uint64_t seq, uint32_t part, bool last, const uint8_t *data, size_t len, void *ctx)
{
    feed_client *c = ctx;
    if (seq != c->next_seq || part != c->next_part) {
        if (c->next_part == 0 && part == 0 && seq > c->next_seq) {
            c->jump_to = seq;
            return 2;
        }
        log_error("feed: journal: seq %llu part %u missing", (unsigned long long)c->next_seq, c->next_part);
        client_refuse(c, FL_FEED_ERR_JOURNAL, "the relay's journal lacks seq %llu part %u",
                      (unsigned long long)c->next_seq, c->next_part);
        return 1;
    }
    if (len > FL_FEED_MAX_RECORD) { /* beyond what LMDB stores: cannot be there */
        log_error("feed: journal: seq %llu part %u has %zu bytes", (unsigned long long)seq, part, len);
        client_refuse(c, FL_FEED_ERR_JOURNAL, "the relay's journal has a record of %zu bytes at seq %llu", len,
                      (unsigned long long)seq);
        return 1;
    }
    fl_feed_msg m = {.type = FL_FEED_RECORD, .seq = seq, .part = part, .data = data, .data_len = len};
    fl_feed_encode_message(&c->plain, &m); /* sealed by client_fill, in chunks */
    c->last_send = ev_now(c->srv->loop);
    c->next_seq = last ? seq + 1 : seq;
    c->next_part = last ? 0 : part + 1;
    return 0;
}

/* The scan found c->jump_to where c->next_seq was wanted: a purge when retention took the
 * wanted seq (refused), else a gap in the numbering, passed over. Returns 0 to go on. */
static int client_jump(feed_client *c)
{
    fl_store_info info;
    if (store_bounds(c->srv, &info) != 0) {
        client_refuse(c, FL_FEED_ERR_JOURNAL, "the relay cannot read its journal");
        return -1;
    }
    if (seq_purged(&info, c->next_seq)) {
        log_warn("feed: %s fell behind retention (seq %llu purged)", c->peer, (unsigned long long)c->next_seq);
        client_refuse(c, FL_FEED_ERR_PURGED, "seq %llu has been purged while streaming",
                      (unsigned long long)c->next_seq);
        return -1;
    }
    log_debug("feed: %s: no seq %llu to %llu in the journal (a gap in its numbering); going on at seq %llu",
              c->peer, (unsigned long long)c->next_seq, (unsigned long long)c->jump_to - 1,
              (unsigned long long)c->jump_to);
    c->next_seq = c->jump_to;
    return 0;
}

/* Tops the client's output up while it is below the low water: seals what is pending, then
 * scans the journal for more, straight from the stored record bytes (the client decodes and
 * verifies them, as a local reader would). A record part larger than the low water waits in
 * c->plain and is sealed as the output drains. */
static void client_fill(feed_client *c)
{
    feed_server *s = c->srv;
    char err[256];
    for (;;) {
        client_seal(c, false);
        if (c->state != C_STREAM || c->plain_off < c->plain.len || c->out.len - c->out_off >= FEED_LOW_WATER)
            return;
        int rc = fl_store_scan_raw(s->store, c->next_seq, c->next_part, FEED_LOW_WATER, send_raw, c, NULL, NULL,
                                   err, sizeof err);
        if (rc < 0) {
            log_error("feed: journal: %s", err);
            client_refuse(c, FL_FEED_ERR_JOURNAL, "the relay cannot read its journal: %s", err);
            return;
        }
        if (rc == 2) {
            if (client_jump(c) != 0) return;
            continue;
        }
        if (rc > 0) return;            /* refused above */
        if (c->plain.len == 0) return; /* caught up; the commit notification wakes us */
    }
}

/* Moves pending output to the socket. Returns -1 when the client is gone. */
static int client_flush(feed_client *c)
{
    c->want_write = false;
    while (c->out_off < c->out.len) {
        size_t n = c->out.len - c->out_off;
        ssize_t w;
        if (c->ssl) {
            int r = SSL_write(c->ssl, c->out.data + c->out_off, n > INT32_MAX ? INT32_MAX : (int)n);
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                    c->want_write = true;
                    return 0;
                }
                return -1;
            }
            w = r;
        } else {
            w = send(c->fd, c->out.data + c->out_off, n, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EAGAIN || errno == EINTR) return 0;
                return -1;
            }
        }
        c->out_off += (size_t)w;
    }
    fl_buf_reset(&c->out);
    c->out_off = 0;
    return 0;
}

/* Streams as much as the socket takes: refills and flushes until the kernel would block
 * (EV_WRITE then wakes us) or the client has everything committed (the journal's commit
 * notification does). Returns -1 when the client is gone. */
static int client_pump(feed_client *c)
{
    for (int rounds = 0; rounds < 64; rounds++) { /* bounded: let other clients have a turn */
        if (c->state == C_STREAM && c->out.len == c->out_off) client_fill(c);
        if (c->out.len == c->out_off) return 0; /* caught up */
        if (client_flush(c) != 0) return -1;
        if (c->out.len > 0 || c->want_write) return 0; /* the socket is full */
        if (c->state != C_STREAM) return 0;
    }
    c->want_write = true; /* more to send: come back as soon as the socket is writable */
    return 0;
}

/* Reads what the client sent and handles complete frames. Returns -1 when it is gone. */
static int client_read(feed_client *c)
{
    for (;;) {
        fl_buf_reserve(&c->in, 16384);
        ssize_t r;
        if (c->ssl) {
            int n = SSL_read(c->ssl, c->in.data + c->in.len, 16384);
            if (n <= 0) {
                int e = SSL_get_error(c->ssl, n);
                if (e == SSL_ERROR_WANT_READ) break;
                if (e == SSL_ERROR_WANT_WRITE) {
                    c->want_write = true;
                    break;
                }
                return -1;
            }
            r = n;
        } else {
            r = recv(c->fd, c->in.data + c->in.len, 16384, 0);
            if (r == 0) return -1;
            if (r < 0) {
                if (errno == EAGAIN || errno == EINTR) break;
                return -1;
            }
        }
        c->in.len += (size_t)r;
        if (c->in.len > FEED_MAX_IN) {
            log_warn("feed: %s sent more than %u bytes unasked; dropped", c->peer, FEED_MAX_IN);
            return -1;
        }
    }
    size_t off = 0;
    while (c->state != C_CLOSING) {
        fl_feed_msg m;
        size_t used;
        char err[256];
        /* after AUTH a client has nothing to say: any frame is unexpected */
        int rc = fl_feed_parse(c->in.data + off, c->in.len - off, NULL, &m, &used, err, sizeof err);
        if (rc == 0) break;
        if (rc < 0) {
            log_warn("feed: %s: malformed message: %s", c->peer, err);
            client_refuse(c, FL_FEED_ERR_PROTOCOL, "malformed message: %s", err);
            break;
        }
        off += used;
        if (c->state == C_AUTH && m.type == FL_FEED_AUTH) {
            client_auth(c, &m);
        } else {
            log_warn("feed: %s: unexpected message type %u", c->peer, m.type);
            client_refuse(c, FL_FEED_ERR_PROTOCOL, "unexpected message type %u", m.type);
        }
    }
    if (off > 0) {
        memmove(c->in.data, c->in.data + off, c->in.len - off);
        c->in.len -= off;
    }
    return 0;
}

static void client_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    feed_client *c = w->data;
    if (c->state == C_TLS) {
        int r = SSL_accept(c->ssl);
        if (r == 1) {
            client_hello(c);
        } else {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                c->want_write = e == SSL_ERROR_WANT_WRITE;
                client_update_events(c);
                return;
            }
            unsigned long code = ERR_get_error();
            log_warn("feed: %s: TLS handshake failed: %s", c->peer,
                     code ? ERR_reason_error_string(code) : "connection closed");
            client_close(c);
            return;
        }
    }
    if (c->state != C_CLOSING && client_read(c) != 0) {
        log_info("feed: %s disconnected", c->peer);
        client_close(c);
        return;
    }
    if (client_pump(c) != 0) {
        log_info("feed: %s disconnected", c->peer);
        client_close(c);
        return;
    }
    if (c->state == C_CLOSING && c->out.len == 0) {
        client_close(c);
        return;
    }
    client_update_events(c);
}

static void client_update_events(feed_client *c)
{
    int ev = EV_READ;
    if (c->out.len > c->out_off || c->want_write) ev |= EV_WRITE;
    if (c->events != ev) {
        ev_io_stop(c->srv->loop, &c->io);
        ev_io_set(&c->io, c->fd, ev);
        ev_io_start(c->srv->loop, &c->io);
        c->events = ev;
    }
}

/* Unauthenticated connections are not clients yet: they never take an authenticated
 * client's place, and they get a budget of their own. Before one more is accepted from host,
 * the oldest one from host goes when host has its share already, else (the budget being
 * full) the oldest one from the address holding the most, so a flood from some addresses
 * never crowds out a client from another. */
static void make_room(feed_server *s, const char *host)
{
    feed_client *victim = NULL;
    int from_host = 0;
    for (feed_client *c = s->clients; c; c = c->next)
        if (!c->sealed && !strcmp(c->host, host)) {
            from_host++;
            victim = c; /* the list is newest first: the last one is the oldest */
        }
    if (from_host < FEED_PENDING_PER_ADDR) {
        victim = NULL;
        if (s->npending < FEED_MAX_PENDING) return;
        int most = 0;
        for (feed_client *c = s->clients; c; c = c->next) {
            if (c->sealed) continue;
            int n = 0;
            for (feed_client *d = s->clients; d; d = d->next)
                if (!d->sealed && !strcmp(d->host, c->host)) n++;
            if (n >= most) { /* ties: the older one */
                most = n;
                victim = c;
            }
        }
        /* the oldest of the heaviest address */
        for (feed_client *c = s->clients; c && victim; c = c->next)
            if (!c->sealed && !strcmp(c->host, victim->host)) victim = c;
    }
    if (!victim) return;
    log_debug("feed: %s dropped before authenticating, to make room", victim->peer);
    s->evicted++;
    client_close(victim);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    feed_server *s = w->data;
    for (int accepted = 0; accepted < 64; accepted++) { /* then serve the others a turn */
        struct sockaddr_storage sa;
        socklen_t salen = sizeof sa;
        int fd = accept4(s->listen_fd, (struct sockaddr *)&sa, &salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";
        getnameinfo((struct sockaddr *)&sa, salen, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV);
        make_room(s, host);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        feed_client *c = fl_xcalloc(1, sizeof *c);
        c->srv = s;
        c->fd = fd;
        snprintf(c->host, sizeof c->host, "%s", host);
        snprintf(c->peer, sizeof c->peer, "%s:%s", host, port);
        c->since = ev_now(loop);
        c->next = s->clients;
        if (s->clients) s->clients->prev = c;
        s->clients = c;
        s->npending++;
        ev_io_init(&c->io, client_io_cb, fd, EV_READ);
        c->events = EV_READ;
        c->io.data = c;
        ev_io_start(loop, &c->io);
        log_debug("feed: %s connected", c->peer);
        if (s->tls) {
            c->ssl = SSL_new(s->tls);
            SSL_set_fd(c->ssl, fd);
            c->state = C_TLS;
            client_io_cb(loop, &c->io, EV_READ);
        } else {
            client_hello(c);
            client_flush(c);
            client_update_events(c);
        }
    }
}

/* ---- journal and timers -------------------------------------------------------------- */

static void wake_streams(feed_server *s)
{
    for (feed_client *c = s->clients, *next; c; c = next) {
        next = c->next;
        if (c->state != C_STREAM) continue;
        if (client_pump(c) != 0) {
            log_info("feed: %s disconnected", c->peer);
            client_close(c);
            continue;
        }
        client_update_events(c);
    }
}

static void notify_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    feed_server *s = w->data;
    fl_store_wait_ack(s->store);
    wake_streams(s);
}

static void try_open_journal(feed_server *s)
{
    char err[512];
    fl_store_opts opts = {.write = false};
    s->store = fl_store_open(s->journal_dir, &opts, err, sizeof err);
    if (!s->store) {
        /* normal for a moment while the relay creates it; worth a word if it lasts */
        ev_tstamp now = ev_now(s->loop);
        if (!s->open_failing_since) s->open_failing_since = now;
        if (now - s->open_failing_since > 5.0 && !s->open_warned) {
            log_warn("feed: cannot open the journal yet (clients are asked to retry): %s", err);
            s->open_warned = true;
        }
        log_debug("feed: journal not ready yet: %s", err);
        return;
    }
    int fd = fl_store_wait_fd(s->store);
    if (fd >= 0) {
        ev_io_init(&s->notify_io, notify_cb, fd, EV_READ);
        s->notify_io.data = s;
        ev_io_start(s->loop, &s->notify_io);
    }
    log_info("feed: serving journal %s", s->journal_dir);
}

/* Connections still unauthenticated at their deadline (however slowly they trickle bytes)
 * are dropped; now and then a summary says how many went and why. */
static void drop_late_handshakes(feed_server *s, ev_tstamp now)
{
    for (feed_client *c = s->clients, *next; c; c = next) {
        next = c->next;
        if (c->sealed || now - c->since <= FEED_AUTH_TIMEOUT) continue;
        log_debug("feed: %s did not authenticate within %.0f s; dropped", c->peer, FEED_AUTH_TIMEOUT);
        s->timed_out++;
        client_close(c);
    }
    if ((s->evicted || s->timed_out) && now - s->last_drop_report >= FEED_DROP_REPORT) {
        log_warn("feed: dropped %llu connections that did not authenticate within %.0f s and %llu to make room "
                 "(at most %d unauthenticated, %d per address)",
                 (unsigned long long)s->timed_out, FEED_AUTH_TIMEOUT, (unsigned long long)s->evicted,
                 FEED_MAX_PENDING, FEED_PENDING_PER_ADDR);
        s->evicted = s->timed_out = 0;
        s->last_drop_report = now;
    }
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    feed_server *s = w->data;
    if (getppid() == 1) ev_break(loop, EVBREAK_ALL); /* the relay is gone */
    drop_late_handshakes(s, ev_now(loop));
    if (!s->store) {
        try_open_journal(s);
        return;
    }
    fl_store_info info = {0};
    bool have_info = false;
    ev_tstamp now = ev_now(loop);
    for (feed_client *c = s->clients, *next; c; c = next) {
        next = c->next;
        if (c->state != C_STREAM || c->out.len > c->out_off || now - c->last_send < FEED_HEARTBEAT) continue;
        if (!have_info && store_bounds(s, &info) != 0) break;
        have_info = true;
        fl_feed_msg m = {.type = FL_FEED_HEARTBEAT, .last_seq = info.last_seq, .ts = (uint64_t)time(NULL)};
        client_send(c, &m);
        if (client_flush(c) != 0) {
            client_close(c);
            continue;
        }
        client_update_events(c);
    }
    /* A notification may have been missed while the journal was reopened; cheap to recheck. */
    wake_streams(s);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static void serve(feed_server *s)
{
    s->loop = ev_default_loop(EVFLAG_AUTO);
    ev_io_init(&s->accept_io, accept_cb, s->listen_fd, EV_READ);
    s->accept_io.data = s;
    ev_io_start(s->loop, &s->accept_io);
    ev_timer_init(&s->tick, tick_cb, 0.2, 0.2);
    s->tick.data = s;
    ev_timer_start(s->loop, &s->tick);
    ev_signal_init(&s->sigterm, signal_cb, SIGTERM);
    ev_signal_start(s->loop, &s->sigterm);
    ev_signal_init(&s->sigint, signal_cb, SIGINT);
    ev_signal_start(s->loop, &s->sigint);
    try_open_journal(s);
    ev_run(s->loop, 0);
    while (s->clients) client_close(s->clients);
    if (s->store) fl_store_close(s->store);
    if (s->tls) SSL_CTX_free(s->tls);
    close(s->listen_fd);
}

pid_t fl_feed_server_start(const fl_config *cfg, char *err, size_t errlen)
{
    if (fl_feed_server_check(cfg, err, errlen) != 0) return -1;
    feed_server s = {.secret = cfg->feed.secret,
                     .journal_dir = cfg->journal.path,
                     .snapshot_tables = cfg->snapshot.tables};
    if (cfg->feed.tls_cert && !(s.tls = tls_server_ctx(&cfg->feed, err, errlen))) return -1;
    /* A relay restarted at once after a SIGKILL finds its old feed process, told to end by
     * its parent's death, still holding the port for a moment: wait for it, within bounds. */
    for (int waited_ms = 0;; waited_ms += FEED_BIND_RETRY_MS) {
        s.listen_fd = fl_net_listen("[feed] listen", cfg->feed.listen, 1024, 1, err, errlen);
        if (s.listen_fd >= 0 || errno != EADDRINUSE || waited_ms >= FEED_BIND_WAIT_MS) break;
        if (waited_ms == 0)
            log_info("feed: %s is still taken (a previous feed process ending?); waiting", cfg->feed.listen);
        poll(NULL, 0, FEED_BIND_RETRY_MS);
    }
    if (s.listen_fd < 0) {
        if (s.tls) SSL_CTX_free(s.tls);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "[feed] cannot start the feed process: %s", strerror(errno));
        close(s.listen_fd);
        if (s.tls) SSL_CTX_free(s.tls);
        return -1;
    }
    if (pid > 0) {
        close(s.listen_fd);
        if (s.tls) SSL_CTX_free(s.tls);
        log_info("feed: listening on %s%s (process %d)", cfg->feed.listen, s.tls ? " with TLS" : "", (int)pid);
        return pid;
    }
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(0);
    signal(SIGPIPE, SIG_IGN);
    serve(&s);
    _exit(0);
}
