/* applier_lease.h — one applier per name on a Redis target, single or cluster (DESIGN C4).
 *
 * Every connection of an applier is named fastlane-apply:NAME, and each run (process) holds
 * the lease fastlane:applier:NAME: its random run token, expiring FL_LEASE_MS after its last
 * renewal. Before fencing, a run claims the lease; one that finds it held by another run
 * which keeps a connection of that name (in the same database) throughout FL_LEASE_GRACE_MS
 * stops instead, ending nothing. The targets pass the connection to the node that holds the
 * lease key, already named, with its CLIENT ID. */
#ifndef FL_APPLIER_LEASE_H
#define FL_APPLIER_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "fl-apply/redis_conn.h"

#define FL_LEASE_MS 15000      /* a lease not renewed for this long has lapsed */
#define FL_LEASE_RENEW_MS 5000 /* renewed this often (at flush) */
#define FL_LEASE_GRACE_MS 5000 /* a dead run's connection is gone once Redis read what it sent */
#define FL_RUN_TOKEN_LEN 32    /* hex digits of a run token */

typedef struct fl_applier_lease {
    char *key;         /* fastlane:applier:NAME */
    char *client_name; /* fastlane-apply:NAME */
    const char *kind;  /* "redis" or "redis-cluster": the messages' prefix */
    int64_t renewed_ms;
    bool held; /* claimed by this run: renewed at flush, released at a clean close */
} fl_applier_lease;

void fl_applier_lease_init(fl_applier_lease *l, const char *kind, const char *name);
void fl_applier_lease_free(fl_applier_lease *l);

/* node: "host:port" for the messages, or "" (a single Redis). */

/* Appends to ids (space-separated) the CLIENT IDs of c's server's connections named
 * l->client_name in c's database, but for mine (c's own). Returns 1 when listed; 0 when not,
 * with the reply's text in why (the ACL refused CLIENT LIST, or mine is ""); -1 with err when
 * the connection failed. */
int fl_applier_clients(const fl_applier_lease *l, fl_redis_conn *c, const char *node, const char *mine,
                       fl_buf *ids, char why[256], char *err, size_t errlen);

/* Claims the lease for this run unless another run holds it and still has a connection (see
 * the top). An ACL that refuses the lease is said once and leaves it unheld. Returns 0, 1 with
 * err (another applier of this name runs: stop), or -1 with err (retry later). */
int fl_applier_lease_claim(fl_applier_lease *l, fl_redis_conn *c, const char *node, const char *mine, char *err,
                           size_t errlen);

/* Renews a held lease once FL_LEASE_RENEW_MS passed (c's pipeline empty). Returns 0, or -1
 * with err (the connection failed, or another run took the lease while this one had not
 * renewed it: reconnecting finds whether that run still runs). */
int fl_applier_lease_renew(fl_applier_lease *l, fl_redis_conn *c, const char *node, char *err, size_t errlen);

/* Gives a held lease up (at a clean close, c's pipeline empty), so that the next run takes
 * over at once even where CLIENT LIST is refused. Failures are ignored. */
void fl_applier_lease_release(fl_applier_lease *l, fl_redis_conn *c);

#endif
