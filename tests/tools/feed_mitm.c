/* feed_mitm.c — a man-in-the-middle between a feed client and fl-relay's feed, for tests.
 *
 *   feed_mitm LISTEN_PORT RELAY_PORT MODE
 *
 * Forwards connections on 127.0.0.1:LISTEN_PORT to 127.0.0.1:RELAY_PORT frame by frame and
 * tampers once, with the first connection where MODE applies, then forwards faithfully:
 *   flip     flips a payload byte of the relay's third sealed frame (frame 2)
 *   inject   inserts a forged sealed frame carrying a RECORD after the relay's frame 1
 *   replay   sends the relay's frame 1 again after frame 2
 *   drop     leaves out the relay's frame 2
 *   start    rewrites the start seq in the client's AUTH (with a valid CRC)
 *   spoof    answers the first connection with a plain ERROR "purged" instead of the relay
 * Prints "tampered: MODE" on stdout when it did. Exits on SIGTERM. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/crc32c.h"
#include "feed/feed_proto.h"

#define MAX_PAIRS 16

typedef struct pair {
    int client, relay;
    fl_buf from_client, from_relay; /* bytes not forwarded yet (incomplete frames) */
    int relay_sealed;               /* sealed frames seen from the relay */
    fl_buf saved;                   /* the relay's frame 1, for replay */
} pair;

static const char *mode;
static bool tampered;
static pair pairs[MAX_PAIRS];

static void done(const char *what)
{
    tampered = true;
    printf("tampered: %s\n", what);
    fflush(stdout);
}

static int connect_relay(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void pair_close(pair *p)
{
    if (p->client >= 0) close(p->client);
    if (p->relay >= 0) close(p->relay);
    fl_buf_free(&p->from_client);
    fl_buf_free(&p->from_relay);
    fl_buf_free(&p->saved);
    memset(p, 0, sizeof *p);
    p->client = p->relay = -1;
}

/* Length of the complete frame at the start of b, or 0 when it is not all there. */
static size_t frame_len(const fl_buf *b)
{
    if (b->len < 5) return 0;
    uint32_t payload = (uint32_t)b->data[0] | (uint32_t)b->data[1] << 8 | (uint32_t)b->data[2] << 16 |
                       (uint32_t)b->data[3] << 24;
    size_t total = 5 + (size_t)payload + (b->data[4] == FL_FEED_SEALED ? FL_FEED_TAG : 4);
    return b->len >= total ? total : 0;
}

static void consume(fl_buf *b, size_t n)
{
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

/* A sealed frame with a RECORD message and a made-up tag. */
static void forged_frame(fl_buf *out)
{
    fl_buf msg = {0};
    static const char junk[] = "forged record bytes";
    fl_feed_msg m = {.type = FL_FEED_RECORD, .seq = 2, .data = (const uint8_t *)junk, .data_len = sizeof junk};
    fl_feed_encode_message(&msg, &m);
    fl_buf_put_u32le(out, (uint32_t)msg.len);
    fl_buf_putc(out, FL_FEED_SEALED);
    fl_buf_put(out, msg.data, msg.len);
    for (int i = 0; i < FL_FEED_TAG; i++) fl_buf_putc(out, (uint8_t)(0xa5 ^ i));
    fl_buf_free(&msg);
}

/* Forwards the relay's complete frames to the client, tampering as the mode says. */
static int relay_to_client(pair *p)
{
    size_t n;
    while ((n = frame_len(&p->from_relay)) > 0) {
        uint8_t *f = p->from_relay.data;
        bool sealed = f[4] == FL_FEED_SEALED;
        int index = sealed ? p->relay_sealed++ : -1;
        fl_buf extra = {0};
        bool skip = false;
        if (!tampered && sealed) {
            if (!strcmp(mode, "flip") && index == 2 && n > 5 + FL_FEED_TAG) {
                f[5 + (n - 5 - FL_FEED_TAG) / 2] ^= 0x01;
                done(mode);
            } else if (!strcmp(mode, "inject") && index == 1) {
                forged_frame(&extra);
                done(mode);
            } else if (!strcmp(mode, "replay") && index == 2) {
                fl_buf_put(&extra, p->saved.data, p->saved.len);
                done(mode);
            } else if (!strcmp(mode, "drop") && index == 2) {
                skip = true;
                done(mode);
            }
        }
        if (index == 1) {
            fl_buf_reset(&p->saved);
            fl_buf_put(&p->saved, f, n);
        }
        int rc = (skip ? 0 : send_all(p->client, f, n)) |
                 (extra.len ? send_all(p->client, extra.data, extra.len) : 0);
        fl_buf_free(&extra);
        consume(&p->from_relay, n);
        if (rc) return -1;
    }
    return 0;
}

/* Forwards the client's complete frames to the relay; "start" rewrites AUTH's seq. */
static int client_to_relay(pair *p)
{
    size_t n;
    while ((n = frame_len(&p->from_client)) > 0) {
        uint8_t *f = p->from_client.data;
        size_t seq_at = 5 + 2 + FL_FEED_NONCE + FL_FEED_MAC + 1;
        if (!tampered && !strcmp(mode, "start") && f[4] == FL_FEED_AUTH && f[seq_at - 1] == FL_FEED_FROM_SEQ &&
            n >= seq_at + 8 + 4) {
            f[seq_at] = (uint8_t)(f[seq_at] + 3); /* skip transactions */
            uint32_t payload = (uint32_t)(n - 9);
            uint32_t crc = fl_crc32c(0, f + 4, payload + 1);
            for (int i = 0; i < 4; i++) f[n - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
            done(mode);
        }
        int rc = send_all(p->relay, f, n);
        consume(&p->from_client, n);
        if (rc) return -1;
    }
    return 0;
}

static void on_term(int sig)
{
    (void)sig;
    _exit(0);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: feed_mitm LISTEN_PORT RELAY_PORT flip|inject|replay|drop|start|spoof\n");
        return 2;
    }
    int listen_port = atoi(argv[1]), relay_port = atoi(argv[2]);
    mode = argv[3];
    signal(SIGTERM, on_term);
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)listen_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 16) != 0) {
        perror("feed_mitm: listen");
        return 1;
    }
    for (int i = 0; i < MAX_PAIRS; i++) pairs[i].client = pairs[i].relay = -1;
    printf("listening\n");
    fflush(stdout);
    for (;;) {
        struct pollfd pf[1 + 2 * MAX_PAIRS];
        int np = 0;
        pf[np++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (int i = 0; i < MAX_PAIRS; i++) {
            pf[np++] = (struct pollfd){.fd = pairs[i].client, .events = POLLIN};
            pf[np++] = (struct pollfd){.fd = pairs[i].relay, .events = POLLIN};
        }
        if (poll(pf, (nfds_t)np, -1) < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        if (pf[0].revents & POLLIN) {
            int c = accept(lfd, NULL, NULL);
            int slot = -1;
            for (int i = 0; i < MAX_PAIRS && slot < 0; i++)
                if (pairs[i].client < 0) slot = i;
            if (c >= 0 && !tampered && !strcmp(mode, "spoof")) {
                fl_buf b = {0};
                static const char text[] = "seq 1 has been purged; the journal starts at seq 99";
                fl_feed_msg m = {.type = FL_FEED_ERROR,
                                 .code = FL_FEED_ERR_PURGED,
                                 .data = (const uint8_t *)text,
                                 .data_len = sizeof text - 1};
                fl_feed_encode(&b, &m);
                send_all(c, b.data, b.len);
                fl_buf_free(&b);
                close(c);
                done(mode);
            } else if (c >= 0 && slot >= 0) {
                pairs[slot].client = c;
                pairs[slot].relay = connect_relay(relay_port);
                if (pairs[slot].relay < 0) pair_close(&pairs[slot]);
            } else if (c >= 0) {
                close(c);
            }
        }
        for (int i = 0; i < MAX_PAIRS; i++) {
            pair *p = &pairs[i];
            for (int side = 0; side < 2 && p->client >= 0; side++) {
                struct pollfd *q = &pf[1 + 2 * i + side];
                if (!(q->revents & (POLLIN | POLLHUP | POLLERR))) continue;
                fl_buf *b = side == 0 ? &p->from_client : &p->from_relay;
                fl_buf_reserve(b, 65536);
                ssize_t r = recv(q->fd, b->data + b->len, 65536, 0);
                if (r <= 0) {
                    pair_close(p);
                    break;
                }
                b->len += (size_t)r;
                if ((side == 0 ? client_to_relay(p) : relay_to_client(p)) != 0) {
                    pair_close(p);
                    break;
                }
            }
        }
    }
}
