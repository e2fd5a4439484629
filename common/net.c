/* net.c — listening sockets: getaddrinfo over the configured host, the first address that
 * binds wins, SO_REUSEADDR so a restarted program can bind again at once, close-on-exec. */
#include "common/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/config.h"

int fl_net_listen(const char *what, const char *addr, int backlog, int nonblocking, char *err, size_t errlen)
{
    char *host = NULL, portbuf[16];
    int port = 0;
    if (fl_parse_hostport(addr, &host, &port) != 0) {
        snprintf(err, errlen, "%s: '%s' is not host:port", what, addr);
        return -1;
    }
    snprintf(portbuf, sizeof portbuf, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, portbuf, &hints, &res);
    free(host);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s: %s", what, addr, gai_strerror(rc));
        return -1;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0) break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot listen on %s: %s", what, addr, strerror(saved));
        errno = saved;
    }
    return fd;
}

bool fl_net_is_loopback(const char *addr)
{
    char *host = NULL;
    if (fl_parse_hostport(addr, &host, NULL) != 0) return false;
    struct in_addr v4;
    struct in6_addr v6;
    bool loop = false;
    if (!strcmp(host, "localhost"))
        loop = true;
    else if (inet_pton(AF_INET, host, &v4) == 1)
        loop = (ntohl(v4.s_addr) >> 24) == 127;
    else if (inet_pton(AF_INET6, host, &v6) == 1)
        loop = IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
    free(host);
    return loop;
}
