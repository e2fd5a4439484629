/* net.h — small socket helpers shared by the programs' listeners. */
#ifndef FL_NET_H
#define FL_NET_H

#include <stdbool.h>
#include <stddef.h>

/* Binds and listens on "host:port" ("[v6]:port"; an empty host means every address).
 * nonblocking sets O_NONBLOCK on the socket. Returns the fd, or -1 with "what: cannot listen
 * on ADDR: reason" in err (what names the setting, e.g. "[feed] listen") and errno set. */
int fl_net_listen(const char *what, const char *addr, int backlog, int nonblocking, char *err, size_t errlen);

/* Whether "host:port" names only this machine: localhost, 127.0.0.0/8, ::1 or ::ffff:127.x.
 * Any other name or address (including 0.0.0.0, every address) is not loopback. */
bool fl_net_is_loopback(const char *addr);

#endif
