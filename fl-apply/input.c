/* input.c — the applier's transaction source: a local LMDB journal or a relay's feed.
 *
 * Local: fl_store_next finds the next complete transaction, fl_store_read_parts streams it
 * part by part (a huge transaction never has to be whole in memory), and the store's
 * inotify descriptor, made at the first fl_input_arm, wakes the wait when the relay commits. fl_store_next passes over
 * missing seqs; the journal's purge horizon, read after it, tells whether they were never
 * used (a gap: go on) or purged before they were applied (refused). A journal directory
 * moved away while it is open would keep the reader on the old journal for good: whenever
 * the reader has caught up and looks again before it waits (the second look in a row that
 * finds nothing new: the first one comes right after a transaction was read, before it is
 * sent on, and a stat there would delay every transaction of a quiet stream), the data file
 * at the path is checked to be the one opened; when it is not, the new journal is opened and
 * the caller told (FL_INPUT_REPLACED).
 *
 * Relay: one feed session streams transactions from a seq; the transaction received ahead
 * of its turn is held until read. Asking for another position than the session's (after a
 * target reconnect resumed elsewhere) starts a new session there; asking for seq 1 (nothing
 * applied yet) starts at the journal's first transaction, as a local journal does. The session's WELCOME
 * and heartbeats tell the relay's last seq, so "caught up" is known without guessing. */
#include "fl-apply/input.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/log.h"
#include "feed/feed_client.h"
#include "feed/feed_proto.h"
#include "journal/snapshot_request.h"

#define FEED_TIMEOUT_MS 10000

struct fl_input {
    char *name;
    fl_store *store; /* local journal */
    dev_t data_dev;  /* ... and its data file, to notice the directory being replaced */
    ino_t data_ino;
    bool looked_idle; /* the last look found nothing new: the next idle one checks the path */

    /* relay */
    fl_feed_client_opts fopts;
    fl_feed_client *feed;
    uint64_t feed_pos;  /* seq the session delivers next (or beyond, over gaps) */
    uint64_t first_seq; /* journal bounds as the relay last told them */
    uint64_t head_seq;
    uint64_t purged_seq;               /* the journal's purge horizon, as the relay last told it */
    char identity[FL_JOURNAL_ID_TEXT]; /* the journal's identity: the relay's last word, or the
                                        * local journal's */
    fl_txn txn;                        /* received ahead of its turn */
    bool have_txn;
    bool told_first; /* said where the journal starts for an applier with nothing applied */
};

/* The data file of the journal at s->name: 0 with its device and inode, -1. */
static int data_file_id(const fl_input *s, dev_t *dev, ino_t *ino)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", s->name);
    if (stat(path, &st)) return -1;
    *dev = st.st_dev;
    *ino = st.st_ino;
    return 0;
}

/* Opens the journal at s->name (read-only) and notes its data file. Returns 0 or -1. */
static int local_open(fl_input *s, bool *absent, char *err, size_t errlen)
{
    fl_store_opts so = {.write = false, .absent = absent};
    fl_store *store = fl_store_open(s->name, &so, err, errlen); /* its reason names the journal */
    if (!store) return -1;
    /* noted after opening: a replacement in between is seen at the first check */
    if (data_file_id(s, &s->data_dev, &s->data_ino)) s->data_dev = s->data_ino = 0;
    char why[256];
    if (fl_store_identity(store, s->identity, why, sizeof why) < 0) s->identity[0] = 0; /* none known */
    if (s->store) fl_store_close(s->store);
    s->store = store; /* (commits are watched from the first fl_input_arm on: one that never waits,
                       * fl-apply --once, has no inotify instance, whose close takes ~20 ms) */
    return 0;
}

/* Whether the journal directory now holds another journal than the one open: then opens it.
 * Returns 0 (the same), FL_INPUT_REPLACED with err, or -1 with err (the new one cannot be
 * opened yet: retry). */
static int local_replaced(fl_input *s, char *err, size_t errlen)
{
    dev_t dev;
    ino_t ino;
    if (data_file_id(s, &dev, &ino) == 0 && dev == s->data_dev && ino == s->data_ino) return 0;
    char why[512];
    bool absent = false;
    if (local_open(s, &absent, why, sizeof why)) {
        snprintf(err, errlen,
                 "journal %s was replaced (moved away or removed) and the new one cannot be opened yet: %s",
                 s->name, why);
        return -1;
    }
    snprintf(err, errlen,
             "journal %s was replaced (moved away or removed, and started again): reading the new one", s->name);
    return FL_INPUT_REPLACED;
}

fl_input *fl_input_open(const fl_config_apply *cfg, bool *absent, char *err, size_t errlen)
{
    bool none = false;
    if (!absent) absent = &none;
    *absent = false;
    fl_input *s = fl_xcalloc(1, sizeof *s);
    if (cfg->relay) {
        s->name = fl_xstrdup(cfg->relay);
        s->fopts.addr = cfg->relay;
        s->fopts.secret = cfg->secret;
        s->fopts.tls_ca = cfg->tls_ca;
        s->fopts.timeout_ms = FEED_TIMEOUT_MS;
        fl_txn_init(&s->txn);
        return s;
    }
    if (!cfg->journal) {
        snprintf(err, errlen, "[apply] needs journal = PATH or relay = host:port");
        free(s);
        return NULL;
    }
    s->name = fl_xstrdup(cfg->journal);
    if (local_open(s, absent, err, errlen)) {
        free(s->name);
        free(s);
        return NULL;
    }
    return s;
}

static void feed_drop(fl_input *s)
{
    fl_feed_client_close(s->feed);
    s->feed = NULL;
    s->have_txn = false;
}

void fl_input_close(fl_input *s)
{
    if (!s) return;
    if (s->store)
        fl_store_close(s->store);
    else
        fl_txn_free(&s->txn);
    feed_drop(s);
    free(s->name);
    free(s);
}

const char *fl_input_name(const fl_input *s) { return s->name; }

const char *fl_input_identity(const fl_input *s) { return s->identity; }

/* The local journal failed (its reason already in e->msg): a damaged or unreadable journal
 * does not heal by retrying. Returns -1. */
static int journal_failed(fl_error *e)
{
    e->permanent = true;
    e->code = 0;
    return -1;
}

/* The purge horizon a relay told; one that never kept a horizon (nothing purged since it
 * does, or too old to tell) counts everything before its first seq as purged. */
static uint64_t relay_horizon(const fl_feed_welcome *w)
{
    if (w->purged_seq) return w->purged_seq;
    return w->first_seq ? w->first_seq - 1 : 0;
}

static int feed_connect(fl_input *s, int start, uint64_t from, const char *gtid, fl_error *e)
{
    feed_drop(s);
    fl_feed_welcome w;
    s->feed = fl_feed_client_connect(&s->fopts, start, from, gtid, &w, e);
    if (!s->feed) return -1;
    s->first_seq = w.first_seq;
    s->head_seq = w.last_seq;
    s->purged_seq = relay_horizon(&w);
    memcpy(s->identity, w.identity, sizeof s->identity);
    s->feed_pos = w.start_seq;
    return 0;
}

int fl_input_bounds(fl_input *s, fl_input_head *h, fl_error *e)
{
    memset(h, 0, sizeof *h);
    fl_error_clear(e);
    if (s->store) {
        fl_store_info info;
        if (fl_store_info_get(s->store, &info, e->msg, sizeof e->msg)) return journal_failed(e);
        h->count = info.count;
        h->first_seq = info.first_seq;
        h->last_seq = info.last_seq;
        h->last_ts = info.last_ts;
        h->purged_seq = info.purged_seq;
        memcpy(h->identity, info.identity, sizeof h->identity);
        if (info.count) fl_gtid_format(&info.last_gtid, h->last_gtid, sizeof h->last_gtid);
        return 0;
    }
    if (!s->feed && !s->head_seq && !s->first_seq) {
        fl_feed_welcome w;
        fl_feed_client *c = fl_feed_client_connect(&s->fopts, FL_FEED_INFO, 0, NULL, &w, e);
        if (!c) return -1;
        fl_feed_client_close(c);
        s->first_seq = w.first_seq;
        s->head_seq = w.last_seq;
        s->purged_seq = relay_horizon(&w);
        memcpy(s->identity, w.identity, sizeof s->identity);
    }
    h->first_seq = s->first_seq;
    h->last_seq = s->head_seq;
    h->purged_seq = s->purged_seq;
    memcpy(h->identity, s->identity, sizeof h->identity);
    return 0;
}

int fl_input_request_snapshot(fl_input *s, const char *list, fl_error *e)
{
    fl_error_clear(e);
    if (s->store) {
        int rc = fl_snapshot_request_tables(s->name, list, e->msg, sizeof e->msg);
        if (rc == 1)
            fl_error_set(e, false, 0, "journal %s: another snapshot request is waiting for the relay to take it",
                         s->name);
        return rc == 0 ? 0 : -1;
    }
    fl_feed_client *c = fl_feed_client_connect(&s->fopts, FL_FEED_SNAPSHOT, 0, list, NULL, e);
    if (!c) return -1;
    fl_feed_client_close(c);
    return 0;
}

/* Whether retention deleted `from` (and so everything the reader had not applied up to the
 * horizon). Returns 0 (not purged), FL_INPUT_PURGED with err, or -1. */
static int local_purged(fl_input *s, uint64_t from, char *err, size_t errlen)
{
    uint64_t horizon;
    if (fl_store_purge_horizon(s->store, &horizon, err, errlen)) return -1;
    if (!from || from > horizon) return 0;
    if (from == horizon)
        snprintf(err, errlen, "journal %s: seq %llu was purged by retention before it was applied", s->name,
                 (unsigned long long)from);
    else
        snprintf(err, errlen, "journal %s: seqs %llu..%llu were purged by retention before they were applied",
                 s->name, (unsigned long long)from, (unsigned long long)horizon);
    return FL_INPUT_PURGED;
}

int fl_input_seek_gtid(fl_input *s, const char *gtid, uint64_t *seq, fl_error *e)
{
    fl_error_clear(e);
    fl_gtid g;
    if (fl_gtid_parse(&g, gtid, strlen(gtid))) return fl_error_set(e, true, 0, "'%s' is not a GTID", gtid);
    if (s->store) {
        int r = fl_store_seek_gtid(s->store, &g, seq, e->msg, sizeof e->msg);
        return r < 0 ? journal_failed(e) : r;
    }
    if (feed_connect(s, FL_FEED_FROM_GTID, 0, gtid, e)) {
        if (e->permanent && e->code == FL_FEED_ERR_UNKNOWN) return 1; /* the authenticated relay said so */
        return -1;
    }
    *seq = s->feed_pos;
    return 0;
}

int fl_input_next(fl_input *s, uint64_t from, uint64_t *seq, fl_error *e)
{
    fl_error_clear(e);
    if (s->store) {
        int r = fl_store_next(s->store, from, seq, e->msg, sizeof e->msg);
        if (r == 0 && *seq > from) r = local_purged(s, from, e->msg, sizeof e->msg); /* read after: see the top */
        if (r < 0) return journal_failed(e);
        if (r == 1 && s->looked_idle) { /* caught up, looking again: still the journal at the path? */
            int c = local_replaced(s, e->msg, sizeof e->msg);
            if (c) return c; /* -1: not permanent, the new journal may appear */
        }
        s->looked_idle = r == 1;
        return r;
    }
    if (s->have_txn && s->txn.seq >= from && s->feed_pos <= from) {
        *seq = s->txn.seq;
        return 0;
    }
    if (!s->feed || s->feed_pos != from || s->have_txn) {
        /* Nothing applied yet (from 1): the journal's first transaction, whatever its seq
         * now that retention may have removed the oldest ones. */
        if (feed_connect(s, FL_FEED_FROM_SEQ, from > 1 ? from : 0, NULL, e)) return -1;
        if (from <= 1 && s->feed_pos > 1 && !s->told_first) {
            log_info("relay %s: nothing applied yet: applying from the journal's first transaction, seq %llu",
                     s->name, (unsigned long long)s->feed_pos);
            s->told_first = true;
        }
        s->feed_pos = from;
    }
    /* Records the relay already has are on their way: wait for them; else just look. */
    int timeout = s->head_seq >= (from ? from : 1) ? FEED_TIMEOUT_MS : 0;
    int r = fl_feed_client_next(s->feed, &s->txn, timeout, &s->head_seq, e);
    if (r < 0) {
        feed_drop(s);
        return -1;
    }
    if (r == 0) {
        if (timeout) {
            fl_error_set(e, false, 0, "relay %s: no transaction within %d s although its journal has seq %llu",
                         s->name, FEED_TIMEOUT_MS / 1000, (unsigned long long)s->head_seq);
            feed_drop(s);
            return -1;
        }
        return 1;
    }
    s->have_txn = true;
    *seq = s->txn.seq;
    return 0;
}

int fl_input_read(fl_input *s, uint64_t seq, fl_store_part_fn fn, void *ctx, fl_error *e)
{
    fl_error_clear(e);
    if (s->store) {
        int r = fl_store_read_parts(s->store, seq, fn, ctx, e->msg, sizeof e->msg);
        return r < 0 ? journal_failed(e) : r;
    }
    if (!s->have_txn || s->txn.seq != seq)
        return fl_error_set(e, false, 0, "relay %s: transaction seq %llu is not at hand", s->name,
                            (unsigned long long)seq);
    int r = fn(&s->txn, ctx);
    if (r == 0) {
        s->have_txn = false;
        s->feed_pos = seq + 1;
    }
    return r;
}

typedef struct flagged {
    uint64_t to;
    uint32_t flag;
    uint64_t *seqs;
    size_t n, cap;
    fl_store_part_fn fn; /* relay */
    void *ctx;
} flagged;

static int collect_flagged(uint64_t seq, uint32_t part, bool last, const uint8_t *data, size_t len, void *ctx)
{
    (void)part;
    (void)last;
    flagged *f = ctx;
    if (seq > f->to) return 1;
    uint32_t flags = 0;
    if (fl_record_peek(data, len, NULL, NULL, &flags, NULL) || !(flags & f->flag)) return 0;
    if (f->n && f->seqs[f->n - 1] == seq) return 0;
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 64;
        f->seqs = fl_xrealloc(f->seqs, f->cap * sizeof *f->seqs);
    }
    f->seqs[f->n++] = seq;
    return 0;
}

static int relay_flagged(const fl_txn *t, void *ctx)
{
    flagged *f = ctx;
    return t->flags & f->flag ? f->fn(t, f->ctx) : 0;
}

int fl_input_scan_flagged(fl_input *s, uint64_t from, uint64_t to, uint32_t flag, fl_store_part_fn fn, void *ctx,
                          fl_error *e)
{
    fl_error_clear(e);
    flagged f = {.to = to, .flag = flag, .fn = fn, .ctx = ctx};
    if (!s->store) {
        for (uint64_t seq = from; seq <= to;) {
            uint64_t got;
            int r = fl_input_next(s, seq, &got, e);
            if (r < 0) return -1;
            if (r == 1 || got > to) return 0;
            if ((r = fl_input_read(s, got, relay_flagged, &f, e)) != 0) return r;
            seq = got + 1;
        }
        return 0;
    }
    uint64_t seq = from;
    uint32_t part = 0;
    int r = 0;
    while (seq <= to && r == 0) {
        uint64_t next_seq = seq;
        uint32_t next_part = part;
        r = fl_store_scan_raw(s->store, seq, part, (size_t)64 << 20, collect_flagged, &f, &next_seq, &next_part,
                              e->msg, sizeof e->msg);
        if (r < 0) {
            journal_failed(e);
            break;
        }
        if (next_seq == seq && next_part == part) break; /* the end of the journal */
        seq = next_seq;
        part = next_part;
    }
    r = r < 0 ? -1 : 0;
    for (size_t i = 0; i < f.n && r == 0; i++) {
        r = fl_store_read_parts(s->store, f.seqs[i], fn, ctx, e->msg, sizeof e->msg);
        if (r == 1)
            r = 0; /* purged meanwhile */
        else if (r < 0)
            journal_failed(e);
    }
    free(f.seqs);
    return r;
}

void fl_input_release(fl_input *s)
{
    if (s->store) fl_store_release(s->store);
}

void fl_input_arm(fl_input *s)
{
    if (!s->store) return;
    fl_store_wait_fd(s->store); /* watched from now on: no commit after this can slip by */
    fl_store_wait_ack(s->store);
}

void fl_input_wait(fl_input *s, uint64_t from, int timeout_ms)
{
    if (s->store) {
        int fd = fl_store_wait_fd(s->store);
        if (fd >= 0) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            poll(&p, 1, timeout_ms); /* acknowledged by fl_input_arm before the next look */
        } else {
            fl_store_wait(s->store, from ? from - 1 : 0, timeout_ms);
        }
        return;
    }
    if (!s->feed || s->have_txn) return;
    fl_error e;
    int r = fl_feed_client_next(s->feed, &s->txn, timeout_ms, &s->head_seq, &e);
    if (r < 0) {
        log_warn("%s; reconnecting", e.msg);
        feed_drop(s); /* fl_input_next reconnects */
    } else if (r == 1)
        s->have_txn = true;
}
