/* feed_flood.c — unauthenticated connections against fl-relay's feed, for tests.
 *
 *   feed_flood PORT IDLE DRIP FIRST_ADDR NADDRS
 *
 * Keeps IDLE idle connections (they never send a byte) and DRIP slow-drip ones (one byte of
 * an AUTH frame per second) open to 127.0.0.1:PORT, from the source addresses
 * 127.0.0.FIRST_ADDR .. 127.0.0.(FIRST_ADDR + NADDRS - 1) in turn, and opens each again a
 * second after the relay closes it, as an attacker would. Never reads what the relay sends.
 * Prints "ready" once every connection was opened at least once, and a count of those the
 * relay closed each second; runs until SIGTERM. */
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

typedef struct conn {
    int fd;
    bool drip;
    int64_t reopen_at; /* ms; when closed */
    size_t sent;       /* drip: bytes of the frame sent */
} conn;

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static int open_conn(int port, int addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)addr);
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0 ||
        (connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0 && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: feed_flood PORT IDLE DRIP FIRST_ADDR NADDRS\n");
        return 2;
    }
    int port = atoi(argv[1]), nidle = atoi(argv[2]), ndrip = atoi(argv[3]);
    int first = atoi(argv[4]), naddrs = atoi(argv[5]);
    int n = nidle + ndrip;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    signal(SIGPIPE, SIG_IGN);
    conn *c = calloc((size_t)n, sizeof *c);
    struct pollfd *pf = calloc((size_t)n, sizeof *pf);
    if (!c || !pf) return 1;
    for (int i = 0; i < n; i++) {
        c[i].fd = -1;
        c[i].drip = i >= nidle;
    }
    /* the beginning of a plausible AUTH frame, sent a byte at a time */
    static const uint8_t frame[] = {84, 0, 0, 0, 2, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    bool ready = false;
    int64_t next_drip = fl_now_ms() + 1000, next_report = fl_now_ms() + 1000;
    long closed = 0, opened = 0;
    while (!stop) {
        int64_t now = fl_now_ms();
        int open_now = 0;
        for (int i = 0; i < n; i++) {
            if (c[i].fd < 0 && now >= c[i].reopen_at) {
                c[i].fd = open_conn(port, first + i % naddrs);
                c[i].sent = 0;
                if (c[i].fd < 0)
                    c[i].reopen_at = now + 1000;
                else
                    opened++;
            }
            if (c[i].fd >= 0) open_now++;
        }
        if (!ready && opened >= n) {
            ready = true;
            printf("ready\n");
            fflush(stdout);
        }
        if (now >= next_drip) {
            for (int i = nidle; i < n; i++)
                if (c[i].fd >= 0 && c[i].sent < sizeof frame &&
                    send(c[i].fd, frame + c[i].sent, 1, MSG_NOSIGNAL) == 1)
                    c[i].sent++;
            next_drip = now + 1000;
        }
        if (now >= next_report) {
            printf("open %d closed-by-relay %ld\n", open_now, closed);
            fflush(stdout);
            next_report = now + 1000;
        }
        for (int i = 0; i < n; i++) pf[i] = (struct pollfd){.fd = c[i].fd, .events = POLLRDHUP};
        if (poll(pf, (nfds_t)n, 100) < 0 && errno != EINTR) return 1;
        for (int i = 0; i < n; i++) {
            if (c[i].fd < 0 || !(pf[i].revents & (POLLRDHUP | POLLHUP | POLLERR))) continue;
            close(c[i].fd); /* the relay closed it (what it sent is never read) */
            c[i].fd = -1;
            c[i].reopen_at = fl_now_ms() + 1000;
            closed++;
        }
    }
    for (int i = 0; i < n; i++)
        if (c[i].fd >= 0) close(c[i].fd);
    free(c);
    free(pf);
    return 0;
}
