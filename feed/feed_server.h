/* feed_server.h — fl-relay's feed: serves the journal over TCP (optionally TLS) to remote
 * appliers and fl-dump, each from its own position, pushing records as soon as they commit.
 *
 * It runs in a child process of fl-relay, forked before the relay opens the journal for
 * writing; the child opens the journal read-only, so serving never slows replication and
 * a misbehaving client can never touch the writer. */
#ifndef FL_FEED_SERVER_H
#define FL_FEED_SERVER_H

#include <sys/types.h>

#include "common/config.h"

/* Checks the [feed] settings that can be checked before starting (a non-loopback listen
 * address needs a secret; TLS files readable). Returns 0, or -1 with a reason in err. */
int fl_feed_server_check(const fl_config *cfg, char *err, size_t errlen);

/* Binds the listening socket (so bind errors are reported by the parent) and forks the
 * server. Returns the child's pid, or -1 with a reason in err. The child exits when the
 * parent dies or on SIGTERM. */
pid_t fl_feed_server_start(const fl_config *cfg, char *err, size_t errlen);

#endif
