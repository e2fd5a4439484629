/* feed_client.h — a client of fl-relay's feed (fl-apply `relay = host:port`, fl-dump
 * --relay): connects (TCP, TLS when a CA is given), proves the shared secret, checks the
 * relay's proof, and then receives complete transactions in journal order, every frame
 * authenticated. */
#ifndef FL_FEED_CLIENT_H
#define FL_FEED_CLIENT_H

#include <stdint.h>

#include "common/error.h"
#include "common/txn.h"
#include "journal/store.h"

typedef struct fl_feed_client fl_feed_client;

typedef struct fl_feed_client_opts {
    const char *addr;   /* host:port */
    const char *secret; /* NULL or "" when the relay has none */
    const char *tls_ca; /* CA file: use TLS and verify the relay's certificate; NULL = plain TCP */
    int timeout_ms;     /* connect and handshake deadline; 0 = 10 s */
} fl_feed_client_opts;

typedef struct fl_feed_welcome {
    uint64_t first_seq, last_seq;      /* journal bounds when the session started */
    uint64_t start_seq;                /* first seq the relay will send */
    uint64_t purged_seq;               /* the journal's purge horizon (journal/store.h) */
    char identity[FL_JOURNAL_ID_TEXT]; /* the journal's identity; "" when it has none */
} fl_feed_welcome;

/* start: FL_FEED_FROM_SEQ (from_seq, 0 = journal start), FL_FEED_FROM_GTID (from_gtid),
 * FL_FEED_INFO, or FL_FEED_SNAPSHOT (from_gtid: the tables to snapshot, "db.t,db.u"; the
 * session ends once the relay queued them; its refusal is permanent). Returns NULL with e (refused secret, purged position, unreachable, TLS
 * verification failure, ...): e->code is the relay's FL_FEED_ERR_* when it refused, and
 * e->permanent tells whether retrying cannot help: an untrusted certificate, a bad address or
 * CA file, or a purged or unknown position the authenticated relay named. A refusal that is
 * not authenticated (a wrong secret, another protocol version, anything before the relay
 * proved the secret) is never permanent: anybody on the path could have sent it. */
fl_feed_client *fl_feed_client_connect(const fl_feed_client_opts *opts, int start, uint64_t from_seq,
                                       const char *from_gtid, fl_feed_welcome *welcome, fl_error *e);
/* Receives the next complete transaction into t (reset first; parts are reassembled).
 * Returns 1 with a transaction, 0 when timeout_ms passed without one (heartbeats keep
 * *head_seq, the relay's last seq, current), -1 on error or a closed connection (e says
 * which; the caller reconnects from its checkpoint). */
int fl_feed_client_next(fl_feed_client *c, fl_txn *t, int timeout_ms, uint64_t *head_seq,
                        fl_error *e); /* e as for connect, on -1 */
int fl_feed_client_fd(const fl_feed_client *c);
void fl_feed_client_close(fl_feed_client *c);

#endif
