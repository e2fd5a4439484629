/* memcached_conn.h — a libmemcached handle for a memcached:// target URL, set up the one way
 * fl-apply uses memcached (the target and --verify alike, so both pick the same server for a
 * key): binary protocol, ketama placement, TCP_NODELAY, timeouts, SASL when the URL has
 * user:password@. The handle connects lazily, at its first command. */
#ifndef FL_MEMCACHED_CONN_H
#define FL_MEMCACHED_CONN_H

#include <libmemcached/memcached.h>

#include "common/error.h"

/* A handle for every server of url (server < 0), or for its server-th one only (the epoch
 * markers are read from each server on its own). NULL with e, permanent (a bad URL). */
memcached_st *fl_memcached_conn_new(const char *url, int server, fl_error *e);

#endif
