/* cluster_conn.h — reaching the nodes of a Redis Cluster (redis-cluster:// URLs,
 * common/target_url.h): a connection to one node with the URL's credentials, the slot ranges
 * of a CLUSTER SLOTS reply, and, for reading keys where they live (fl-apply --verify), one
 * connection to every primary with the slot map asked of the seed nodes in turn. */
#ifndef FL_CLUSTER_CONN_H
#define FL_CLUSTER_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "common/error.h"
#include "common/target_url.h"
#include "fl-apply/redis_conn.h"

/* Connects to host:port (redis_conn.h) with u's user and password, over TLS with tls (may be
 * NULL) for rediss-cluster:// (the node's certificate verified for host). NULL with e. */
fl_redis_conn *fl_cluster_node_connect(const fl_redis_cluster_url *u, const fl_redis_tls *tls, const char *host,
                                       int port, fl_error *e);

/* Calls each(ctx, from, to, host, hlen, port) for every slot range of a CLUSTER SLOTS reply
 * with the address of the range's primary (an empty or "?" address stands for seed_host, the
 * node asked). Returns 0, -1 with err (a reply of another shape), or what each returned when
 * it was not 0. */
typedef int (*fl_cluster_range_fn)(void *ctx, uint16_t from, uint16_t to, const char *host, size_t hlen, int port);
int fl_cluster_slots_parse(const redisReply *r, const char *seed_host, fl_cluster_range_fn each, void *ctx,
                           char *err, size_t errlen);

/* ---- every primary, for reading ---- */

typedef struct fl_cluster_conn fl_cluster_conn;

/* Parses url, reads the slot map from the first seed that answers and connects to every
 * primary, also those without slots CLUSTER NODES lists (tls as for fl_cluster_node_connect;
 * kept for nodes met later). NULL with e (permanent for a bad URL). */
fl_cluster_conn *fl_cluster_conn_open(const char *url, const fl_redis_tls *tls, fl_error *e);
void fl_cluster_conn_close(fl_cluster_conn *c);
size_t fl_cluster_conn_nodes(const fl_cluster_conn *c);
/* The i-th primary's connection (i < fl_cluster_conn_nodes) and its "host:port". */
fl_redis_conn *fl_cluster_conn_node(const fl_cluster_conn *c, size_t i);
const char *fl_cluster_conn_node_name(const fl_cluster_conn *c, size_t i);
/* The connection to the primary that owns key's slot. */
fl_redis_conn *fl_cluster_conn_for_key(const fl_cluster_conn *c, const char *key, size_t len);
/* Whether r is a MOVED or ASK error reply. */
bool fl_cluster_is_redirection(const redisReply *r);
/* The connection to the node a MOVED or ASK reply (reply[0..len)) names, connected and added
 * to the primaries when new; *asking tells an ASK (send ASKING before the command there).
 * NULL with e. */
fl_redis_conn *fl_cluster_conn_redirected(fl_cluster_conn *c, const char *reply, size_t len, bool *asking,
                                          fl_error *e);
/* Whether a reader asking for key finds it on the i-th primary: it owns key's slot, or the
 * owner, not holding key (its slot migrating), sends readers there (ASK). A key on a node
 * that does not serve it is not seen by readers, and a key both nodes of a migrating slot
 * hold is the owner's. Returns 1, 0, or -1 with e. */
int fl_cluster_conn_serves(fl_cluster_conn *c, size_t i, const char *key, size_t len, fl_error *e);

#endif
