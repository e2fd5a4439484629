/* live.c — fl-relay as a replica: source → decoder → journal, with group commit.
 *
 * A receiver thread (receiver.h) reads the events off the connection into a bounded queue
 * (4 MiB); this loop takes them one at a time and feeds them to the decoder, so the network
 * read overlaps decoding and journal commits. Each transaction the decoder emits is queued
 * in the journal (fl_store_add). The queue is committed — one LMDB transaction, one fsync,
 * carrying the source position of the last complete transaction — as soon as nothing more
 * is waiting (no event queued, no byte waiting on the socket after the last one), or when a
 * bound (10000 transactions, 4 MiB of records) is reached. So a crash loses nothing that was
 * committed and the position always matches the records: the next start resumes exactly
 * after the last journaled transaction.
 * A transaction bigger than 4 MiB arrives from the decoder in parts and is committed part by
 * part, so memory stays bounded whatever its size.
 *
 * Disconnects, server restarts and silence longer than twice the heartbeat period lead to a
 * reconnect with capped exponential backoff (0.5 s doubling to 30 s), resuming from the
 * journal's position with a fresh decoder. Errors no retry can fix (authentication refused,
 * GTIDs or binlogs purged, binary logging off, undecodable events) stop the relay with a
 * one-line reason and exit status 1. SIGTERM/SIGINT commit the queue and exit 0.
 *
 * Column names come from TABLE_MAP metadata when the server sends them
 * (binlog_row_metadata=FULL); otherwise from information_schema over a second connection,
 * cached per table and dropped whenever a DDL passes through the stream.
 *
 * Under systemd it reports READY, STATUS (position and lag) and WATCHDOG pings; metrics
 * (transactions, rows, bytes, commits, reconnects, lag, last GTID) go to [metrics] relay;
 * with [feed] listen the feed server runs as a child process. */
#include "fl-relay/live.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "common/error.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/mysql_schema.h"
#include "common/net.h"
#include "common/stage_trace.h"
#include "fl-relay/decoder.h"
#include "fl-relay/events.h"
#include "feed/feed_server.h"
#include "fl-relay/receiver.h"
#include "fl-relay/retention.h"
#include "fl-relay/snapshot.h"
#include "fl-relay/source.h"
#include "journal/store.h"

#define BATCH_MAX_TXNS 10000
#define BATCH_MAX_BYTES (4u * 1024 * 1024)
#define PART_BYTES (4u * 1024 * 1024)  /* a bigger transaction goes to the journal in parts */
#define QUEUE_BYTES (4u * 1024 * 1024) /* events received ahead of the decoder */
#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000
#define RETENTION_EVERY_S 60
#define RETENTION_WAITING_S 1 /* while a purge waits for a snapshot to complete */
#define SOURCE_PROBE_S 10     /* how often a streaming relay checks that the source did not go back */
#define WAIT_SLICE_MS 500

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* ---- column names and JSON columns from information_schema ---------------------------- */

typedef struct names_entry {
    char *db, *table;
    fl_table_schema schema; /* ncols 0: unknown (lookup failed or table gone); leave unnamed */
    time_t retry_at;        /* after a failed lookup: when to try again (0 = never) */
    struct names_entry *next;
} names_entry;

#define NAMES_RETRY_S 30

typedef struct names_cache {
    const fl_config_source *cfg;
    fl_source *conn;
    names_entry *live;    /* current entries */
    names_entry *retired; /* dropped by a DDL; kept until exit since the decoder may hold them */
    bool announced;
} names_cache;

static void names_clear(names_entry *e) { fl_table_schema_free(&e->schema); }

static void names_free_list(names_entry *e)
{
    while (e) {
        names_entry *next = e->next;
        names_clear(e);
        free(e->db);
        free(e->table);
        free(e);
        e = next;
    }
}

static void names_cache_free(names_cache *c)
{
    names_free_list(c->live);
    names_free_list(c->retired);
    fl_source_close(c->conn);
    memset(c, 0, sizeof *c);
}

/* One information_schema query on the names connection (connecting when needed).
 * Returns 0, or -1 with the reason in err (the connection is then dropped). */
static int names_query(names_cache *c, names_entry *e, char *err, size_t errlen)
{
    fl_error ce;
    if (!c->conn && !(c->conn = fl_source_connect(c->cfg, 30, &ce))) return fl_errorf(err, errlen, "%s", ce.msg);
    bool mariadb = fl_source_flavor(c->conn) == FL_FLAVOR_MARIADB;
    if (fl_table_schema_read(fl_source_mysql(c->conn), e->db, e->table, mariadb, &e->schema, err, errlen) == 0)
        return 0;
    fl_source_close(c->conn); /* replaced at the next query */
    c->conn = NULL;
    return -1;
}

/* Fills e from information_schema. A query that fails on a connection gone stale (the
 * server restarted) is retried once on a new one; a failure is retried NAMES_RETRY_S later. */
static void names_fill(names_cache *c, names_entry *e)
{
    char err[512];
    names_clear(e);
    e->retry_at = 0;
    if (names_query(c, e, err, sizeof err) == 0 || names_query(c, e, err, sizeof err) == 0) return;
    log_warn("columns of %s.%s from information_schema: %s; its columns stay unnamed (@1, @2, ...) "
             "and JSON columns stay text for now",
             e->db, e->table, err);
    e->retry_at = time(NULL) + NAMES_RETRY_S;
}

/* The cache entry of db.table, looked up (again) when new or when a failed lookup is due. */
static names_entry *names_entry_of(names_cache *c, const char *db, const char *table, uint32_t ncols)
{
    names_entry *e;
    for (e = c->live; e; e = e->next)
        if (strcmp(e->db, db) == 0 && strcmp(e->table, table) == 0) break;
    bool fresh = !e;
    if (!e) {
        e = fl_xcalloc(1, sizeof *e);
        e->db = fl_xstrdup(db);
        e->table = fl_xstrdup(table);
        e->next = c->live;
        c->live = e;
    }
    if (fresh || (e->retry_at && time(NULL) >= e->retry_at)) {
        names_fill(c, e);
        if (e->schema.ncols && e->schema.ncols != ncols)
            log_warn("columns of %s.%s: information_schema lists %u columns but the binlog has %u (the "
                     "table changed since); its columns stay unnamed and JSON columns text",
                     db, table, e->schema.ncols, ncols);
        else if (e->schema.ncols)
            log_debug("columns of %s.%s from information_schema", db, table);
    }
    return e->schema.ncols == ncols ? e : NULL;
}

static int names_cb(void *ctx, const char *db, const char *table, uint32_t ncols, const char **names);
static int json_cb(void *ctx, const char *db, const char *table, uint32_t ncols, bool *is_json);
static void ddl_cb(void *ctx, const char *db, const char *sql, size_t len);

/* ---- the relay ------------------------------------------------------------------------ */

typedef struct relay {
    const fl_config *cfg;
    fl_store *store;
    fl_source *src;
    fl_receiver *rcv; /* reads src on its own thread while streaming */
    fl_decoder *dec;
    names_cache names;
    fl_snapshot *snap;  /* NULL without [snapshot] tables */
    time_t snap_warned; /* last warning of a failed snapshot step */

    /* Position after the last complete transaction handed to the store. */
    fl_position pos;
    fl_source_pos start; /* where the current connection started */
    char *skip_file;     /* MySQL: transactions up to skip_file:skip_pos are not journaled */
    uint64_t skip_pos;
    bool pos_dirty; /* pos changed since the last commit */
    bool gtids_due; /* pos.gtid_set is to be taken from the decoder at the next commit */
    bool in_parts;  /* parts of an unfinished transaction were added */
    uint32_t batch_txns;
    char emit_err[512];

    bool caught_up; /* a heartbeat said nothing more is waiting */
    time_t last_rx; /* wall clock of the last packet */
    time_t last_purge;
    fl_retention *retention; /* keeps the snapshots a rebuild needs */
    bool retention_waiting;  /* a purge waits for a snapshot: look again soon */
    time_t last_probe;       /* last check that the source still holds the journal's position */
    time_t last_status;      /* last STATUS= sent to systemd */

    fl_metric *m_txns, *m_rows, *m_bytes, *m_reconnects, *m_lag, *m_commits, *m_commit_ts, *m_connected;
    fl_metric *m_first_seq, *m_last_seq, *m_journal_bytes, *m_journal_txns;
    /* counted per transaction and event, handed to the metrics at each commit (a metric
     * update takes a lock) */
    uint64_t due_txns, due_rows, due_bytes;
    uint64_t due_commit_ts; /* commit time of the last transaction counted, 0 for none */
} relay;

static int names_cb(void *ctx, const char *db, const char *table, uint32_t ncols, const char **names)
{
    relay *r = ctx;
    names_cache *c = &r->names;
    if (!c->announced) {
        log_info("column names: the binlog carries none (binlog_row_metadata is not FULL); "
                 "reading them from information_schema");
        c->announced = true;
    }
    names_entry *e = names_entry_of(c, db, table, ncols);
    if (!e || ncols == 0) return -1;
    for (uint32_t i = 0; i < ncols; i++) names[i] = e->schema.names[i];
    return 0;
}

static int json_cb(void *ctx, const char *db, const char *table, uint32_t ncols, bool *is_json)
{
    relay *r = ctx;
    names_entry *e = names_entry_of(&r->names, db, table, ncols);
    if (!e || ncols == 0) return -1;
    memcpy(is_json, e->schema.is_json, ncols * sizeof *is_json);
    return 0;
}

static void ddl_cb(void *ctx, const char *db, const char *sql, size_t len)
{
    relay *r = ctx;
    (void)db;
    (void)sql;
    (void)len;
    if (!r->names.live) return;
    /* Any DDL may rename or reshape a table: forget every cached list. */
    names_entry *tail = r->names.live;
    while (tail->next) tail = tail->next;
    tail->next = r->names.retired;
    r->names.retired = r->names.live;
    r->names.live = NULL;
}

/* The position after a complete transaction: its file and offset now, the GTID set (text
 * made from the decoder's set, once per commit rather than per transaction) at the next
 * commit. That commit comes between events, before the next transaction is complete, so
 * the set is the one the transaction left, plus at most GTIDs that change nothing (those of
 * transactions rolled back since, GTID lists of the source's state). */
static void set_position(relay *r, const fl_decoder_pos *p)
{
    const char *file = p->file ? p->file : "";
    if (!r->pos.file || strcmp(r->pos.file, file) != 0) {
        free(r->pos.file);
        r->pos.file = fl_xstrdup(file);
    }
    r->pos.pos = p->pos;
    r->pos.flavor = (uint32_t)p->flavor;
    r->gtids_due = true;
    r->pos_dirty = true;
}

static void take_gtids(relay *r)
{
    if (!r->gtids_due) return;
    const fl_gtid_set *g = r->dec ? fl_decoder_gtid_set(r->dec) : NULL;
    free(r->pos.gtid_set);
    r->pos.gtid_set = g ? fl_gtid_set_format(g) : fl_xstrdup("");
    r->gtids_due = false;
}

static void flush_metrics(relay *r)
{
    if (r->due_rows) fl_metric_add(r->m_rows, r->due_rows);
    if (r->due_bytes) fl_metric_add(r->m_bytes, r->due_bytes);
    if (r->due_txns) {
        fl_metric_add(r->m_txns, r->due_txns);
        fl_metric_set(r->m_commit_ts, (double)r->due_commit_ts);
        time_t now = time(NULL), ts = (time_t)r->due_commit_ts;
        fl_metric_set(r->m_lag, ts && ts < now ? difftime(now, ts) : 0);
    }
    r->due_txns = r->due_rows = r->due_bytes = 0;
}

#ifdef FL_STAGE_TRACE
/* A traced build: each transaction's times until the journal commit that holds it, written to
 * FL_TRACE_RELAY at that commit, one line a transaction: seq, GTID seq_no, the receiver's read
 * of its GTID event, the main thread taking it, queued in the batch, the commit's start, LMDB's
 * commit returned, the meta page synced, the readers told, the commit's transactions. */
#define STAGE_RECS 20000
typedef struct {
    unsigned long long seq, gno;
    long long rcv, got, emit;
} stage_rec;
static stage_rec stage_recs[STAGE_RECS];
static size_t stage_n;
static long long stage_rcv, stage_got; /* the last GTID event: read by the receiver, taken here */

static void stage_event_taken(const relay *r, const uint8_t *ev)
{
    if (ev[FL_EV_TYPE_OFF] != FL_EV_MARIA_GTID && ev[FL_EV_TYPE_OFF] != FL_EV_GTID) return;
    stage_rcv = fl_receiver_time(r->rcv);
    stage_got = fl_stage_now();
}

static void stage_queued(const fl_txn *txn)
{
    if (stage_n < STAGE_RECS)
        stage_recs[stage_n++] = (stage_rec){txn->seq, txn->gtid.seq_no, stage_rcv, stage_got, fl_stage_now()};
}

static void stage_committed(long long began)
{
    FILE *f = fl_stage_file("FL_TRACE_RELAY");
    if (f) {
        for (size_t i = 0; i < stage_n; i++)
            fprintf(f, "%llu %llu %lld %lld %lld %lld %lld %lld %lld %zu\n", stage_recs[i].seq, stage_recs[i].gno,
                    stage_recs[i].rcv, stage_recs[i].got, stage_recs[i].emit, began, fl_stage_store_t[0],
                    fl_stage_store_t[1], fl_stage_store_t[2], stage_n);
        fflush(f);
    }
    stage_n = 0;
}
#endif

static int emit_cb(void *ctx, fl_txn *txn, const fl_decoder_pos *p)
{
    relay *r = ctx;
    if (r->skip_file) {
        if (p->file && strcmp(p->file, r->skip_file) == 0 && p->pos <= r->skip_pos)
            return 0; /* before the requested file:pos; read only for its GTIDs */
        free(r->skip_file);
        r->skip_file = NULL;
    }
    fl_snapshot_on_txn(r->snap, r->store, txn); /* watermark rows out, a chunk in at its high watermark */
    uint64_t rows = txn->nrows;
    bool last = (txn->flags & FL_TXN_LAST_PART) != 0;
    if (fl_store_add(r->store, txn, r->emit_err, sizeof r->emit_err) < 0) return -1;
    FL_STAGE(if (last) stage_queued(txn);)
    r->due_rows += rows;
    if (last) {
        set_position(r, p);
        r->in_parts = false;
        r->batch_txns++;
        r->due_txns++;
        r->due_commit_ts = txn->ts;
    } else {
        r->in_parts = true;
    }
    return 0;
}

static void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void notify_status(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sd_notifyf(0, "STATUS=%s", msg);
}

static uint64_t watchdog_usec;
static struct timespec watchdog_last;

static void watchdog_tick(void)
{
    if (!watchdog_usec) return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t el = (uint64_t)(now.tv_sec - watchdog_last.tv_sec) * 1000000u +
                  (uint64_t)((now.tv_nsec - watchdog_last.tv_nsec) / 1000);
    if (el >= watchdog_usec / 2) {
        sd_notify(0, "WATCHDOG=1");
        watchdog_last = now;
    }
}

static void position_text(const fl_position *p, char *buf, size_t n)
{
    if (p->gtid_set && p->gtid_set[0])
        snprintf(buf, n, "after GTIDs %s", p->gtid_set);
    else
        snprintf(buf, n, "at %s:%" PRIu64, p->file ? p->file : "", p->pos);
}

/* How long one wait may block: short enough to ping the watchdog at half its period. */
static int wait_slice_ms(void)
{
    int ms = WAIT_SLICE_MS;
    if (watchdog_usec && watchdog_usec / 4000 < (uint64_t)ms)
        ms = watchdog_usec / 4000 > 0 ? (int)(watchdog_usec / 4000) : 1;
    return ms;
}

/* The journal's extent as numeric gauges (positions are never labels: a label per
 * transaction would make a new time series each time). */
static void journal_gauges(relay *r)
{
    fl_store_info info;
    char err[256];
    if (fl_store_info_get(r->store, &info, err, sizeof err) < 0) return;
    fl_metric_set(r->m_first_seq, (double)info.first_seq);
    fl_metric_set(r->m_last_seq, (double)info.last_seq);
    fl_metric_set(r->m_journal_bytes, (double)info.bytes);
    fl_metric_set(r->m_journal_txns, (double)info.count);
}

/* Commits the queue with the position of the last complete transaction. A failure is
 * permanent: the relay stops rather than journal past what it could not keep. */
static int commit(relay *r, fl_error *e)
{
    char err[512];
    flush_metrics(r);
    take_gtids(r);
    if (r->batch_txns == 0 && !r->pos_dirty && fl_store_pending_bytes(r->store) == 0 &&
        !fl_store_progress_pending(r->store))
        return 0;
    FL_STAGE(long long stage_began = fl_stage_now();)
    if (fl_store_commit(r->store, r->pos_dirty ? &r->pos : NULL, err, sizeof err) < 0)
        return fl_error_set(e, true, 0, "journal commit failed: %s", err);
    FL_STAGE(stage_committed(stage_began);)
    fl_metric_add(r->m_commits, 1);
    journal_gauges(r);
    watchdog_tick(); /* also while streaming without pause */
    r->batch_txns = 0;
    r->pos_dirty = false;
    time_t now = time(NULL);
    if (now != r->last_status) {
        r->last_status = now;
        char where[600];
        position_text(&r->pos, where, sizeof where);
        notify_status("journaled up to %s, %.0fs behind the source", where, fl_metric_value(r->m_lag));
    }
    return 0;
}

static void retention(relay *r, bool force)
{
    const fl_config_journal *j = &r->cfg->journal;
    if (!j->retain && !j->max_size) return;
    time_t now = time(NULL);
    int every = r->retention_waiting ? RETENTION_WAITING_S : RETENTION_EVERY_S;
    if (!force && now - r->last_purge < every) return;
    r->last_purge = now;
    char err[512];
    if (!r->retention) r->retention = fl_retention_new(r->cfg);
    int64_t n = fl_retention_run(r->retention, r->store, r->snap, &r->retention_waiting, err, sizeof err);
    if (n < 0)
        log_warn("journal retention: %s", err);
    else if (n > 0)
        log_info("journal retention: removed %" PRId64 " oldest transactions", n);
}

/* A source whose binlog went back behind the journal (RESET MASTER, a restore from a backup)
 * keeps a connected replica's dump thread on its old, deleted file: heartbeats still come,
 * new transactions never do. So every SOURCE_PROBE_S while streaming, the server's GTID
 * state is read on the side connection: when the journal holds GTIDs the server no longer
 * has, this says so and returns true, and the caller reconnects, so that the server's own
 * answer to the journal's position (error 1236) stops the relay loudly, naming where. */
static bool source_went_back(relay *r, fl_flavor flavor)
{
    time_t now = time(NULL);
    if (now - r->last_probe < SOURCE_PROBE_S || !r->pos.gtid_set || !r->pos.gtid_set[0]) return false;
    r->last_probe = now;
    names_cache *c = &r->names;
    fl_error e;
    if (!c->conn && !(c->conn = fl_source_connect(c->cfg, 30, &e))) return false;
    char *state = NULL;
    const char *sql = flavor == FL_FLAVOR_MARIADB ? "SELECT @@global.gtid_binlog_pos"
                                                  : "SELECT @@global.gtid_executed";
    if (fl_source_query_value(c->conn, sql, &state, &e) < 0) {
        fl_source_close(c->conn); /* a later probe connects again */
        c->conn = NULL;
        return false;
    }
    char perr[200];
    fl_gtid_set *server = fl_gtid_set_parse(state, perr, sizeof perr);
    fl_gtid_set *journal = fl_gtid_set_parse(r->pos.gtid_set, perr, sizeof perr);
    bool back = server && journal && fl_gtid_set_flavor(server) != FL_FLAVOR_NONE &&
                fl_gtid_set_flavor(server) == fl_gtid_set_flavor(journal) &&
                !fl_gtid_set_is_subset(journal, server);
    if (fl_gtid_set_is_empty(server) && !fl_gtid_set_is_empty(journal)) back = server && journal;
    if (back)
        log_warn("the source's binlog went back: it holds GTIDs up to %s but the journal already has %s "
                 "(RESET MASTER, or a restore from a backup?); reconnecting to let the source say whether "
                 "it can still send what follows the journal",
                 state[0] ? state : "(none)", r->pos.gtid_set);
    fl_gtid_set_free(server);
    fl_gtid_set_free(journal);
    free(state);
    return back;
}

/* Interruptible sleep; returns early when a stop is requested. */
static void sleep_ms(int ms)
{
    while (ms > 0 && !stop_requested) {
        int slice = ms > wait_slice_ms() ? wait_slice_ms() : ms;
        poll(NULL, 0, slice);
        ms -= slice;
        watchdog_tick();
    }
}

/* The snapshot's turn; a failure (the source unreachable, a query refused) is retried at a
 * later turn and said at most every 30 s. */
static void snapshot_turn(relay *r)
{
    fl_error e;
    fl_error_clear(&e);
    if (fl_snapshot_step(r->snap, r->store, &e) == 0) return;
    time_t now = time(NULL);
    if (now - r->snap_warned < 30) return;
    r->snap_warned = now;
    log_warn("%s (retrying)", e.msg);
}

/* One connection: connect, position, stream until a stop request (returns 0), an error or
 * a disconnect (returns -1 with e; e->permanent when the relay must stop). */
static int stream_once(relay *r, bool *streamed, fl_error *e)
{
    const fl_config_source *cfg = &r->cfg->source;
    double hb = cfg->heartbeat > 0 ? cfg->heartbeat : 5;
    unsigned read_timeout = (unsigned)ceil(2 * hb) + 5;
    *streamed = false;

    r->src = fl_source_connect(cfg, read_timeout, e);
    if (!r->src) return -1;
    fl_flavor flavor = fl_source_flavor(r->src);

    bool resume = (r->pos.gtid_set && r->pos.gtid_set[0]) || (r->pos.file && r->pos.file[0]);
    if (resume) {
        if (r->pos.flavor && r->pos.flavor != (uint32_t)flavor)
            return fl_error_set(e, true, 0,
                                "the journal holds a %s stream but the source is %s; use a "
                                "new journal for another kind of server",
                                r->pos.flavor == FL_FLAVOR_MARIADB ? "MariaDB" : "MySQL",
                                flavor == FL_FLAVOR_MARIADB ? "MariaDB" : "MySQL");
        r->start.gtid_set = fl_xstrdup(r->pos.gtid_set ? r->pos.gtid_set : "");
        r->start.file = fl_xstrdup(r->pos.file ? r->pos.file : "");
        r->start.pos = r->pos.pos;
    } else if (fl_source_resolve_start(r->src, cfg, &r->start, e) < 0) {
        fl_error_prefix(e, "start position");
        return -1;
    }
    char where[600];
    fl_position shown = {.gtid_set = r->start.gtid_set, .file = r->start.file, .pos = r->start.pos};
    position_text(&shown, where, sizeof where);

    fl_decoder_opts o = {
        .filter = cfg,
        .emit = emit_cb,
        .names = names_cb,
        .json = json_cb,
        .ddl = ddl_cb,
        .ctx = r,
        .always_db = r->snap ? FL_WATERMARK_DB : NULL,
        .always_table = r->snap ? FL_WATERMARK_TABLE : NULL,
        .part_bytes = PART_BYTES,
        .record_images = !r->snap, /* a snapshot reads the values of the rows going by */
        .initial_gtid_set = r->start.gtid_set,
        .initial_file = r->start.file,
    };
    r->dec = fl_decoder_new(&o);
    /* MySQL with GTIDs, positioned by file:pos: the GTID set a later resume needs must be
     * complete, so read that file from its start (PREVIOUS_GTIDS and every GTID before pos
     * reach the decoder) and drop the transactions that end at or before pos. */
    fl_source_pos request = r->start;
    free(r->skip_file);
    r->skip_file = NULL;
    if (flavor == FL_FLAVOR_MYSQL && !(r->start.gtid_set && r->start.gtid_set[0]) && r->start.file &&
        r->start.file[0] && r->start.pos > 4) {
        char *mode = NULL;
        fl_error ignored;
        if (fl_source_query_value(r->src, "SELECT @@global.gtid_mode", &mode, &ignored) == 0 &&
            strcmp(mode, "ON") == 0) {
            r->skip_file = fl_xstrdup(r->start.file);
            r->skip_pos = r->start.pos;
            request.pos = 4;
        }
        free(mode);
    }
    if (request.file && request.file[0]) fl_decoder_set_file(r->dec, request.file, request.pos);

    if (fl_source_start(r->src, cfg->server_id, hb, &request, e) < 0) {
        fl_error_prefix(e, "streaming %s", where);
        return -1;
    }
    const char *cipher = mysql_get_ssl_cipher(fl_source_mysql(r->src));
    log_info("replicating from %s (%s, %s%s) %s%s", fl_source_version(r->src),
             flavor == FL_FLAVOR_MARIADB ? "MariaDB" : "MySQL", cipher ? "TLS " : "no TLS", cipher ? cipher : "",
             where, resume ? " (the journal's position)" : "");
    notify_status("replicating %s", where);

    r->rcv = fl_receiver_start_source(r->src, QUEUE_BYTES, e);
    if (!r->rcv) return -1;

    time_t silence_limit = (time_t)ceil(2 * hb);
    if (silence_limit < 1) silence_limit = 1;
    r->last_rx = time(NULL);
    for (;;) {
        if (stop_requested) return 0;
        bool drained = !fl_receiver_more(r->rcv);
        if (drained) {
            /* Drained: make what we have durable before waiting. */
            if (commit(r, e) < 0) return -1;
            retention(r, false);
            if (source_went_back(r, flavor))
                return fl_error_set(e, false, 0, "the source no longer holds the journal's position");
            if (r->caught_up) fl_metric_set(r->m_lag, 0);
            if (r->snap) snapshot_turn(r);
        }

        const uint8_t *ev;
        size_t len;
        int got = fl_receiver_next(r->rcv, wait_slice_ms(), &ev, &len, e);
        if (got == FL_RECEIVER_IDLE) {
            watchdog_tick();
            if (time(NULL) - r->last_rx > silence_limit)
                return fl_error_set(e, false, 0,
                                    "no event or heartbeat from the source for %lds "
                                    "(heartbeat %.1fs)",
                                    (long)(time(NULL) - r->last_rx), hb);
            continue;
        }
        if (got != FL_RECEIVER_EVENT) {
            if (e->permanent) fl_error_prefix(e, "streaming %s", where);
            return -1;
        }
        if (!*streamed && !resume) {
            /* The server accepted the start position: keep it in the journal with the next
             * commit, so a restart continues here even before any transaction arrives. */
            free(r->pos.gtid_set);
            free(r->pos.file);
            r->pos.gtid_set = fl_xstrdup(r->start.gtid_set ? r->start.gtid_set : "");
            r->gtids_due = false;
            r->pos.file = fl_xstrdup(r->start.file ? r->start.file : "");
            r->pos.pos = r->start.pos;
            r->pos.flavor = (uint32_t)flavor;
            r->pos_dirty = true;
        }
        if (!*streamed) fl_metric_set(r->m_connected, 1);
        *streamed = true;
        r->last_rx = time(NULL);
        r->due_bytes += len;
        FL_STAGE(stage_event_taken(r, ev);)
        /* A heartbeat means the source has nothing more: lag 0 until the next event. */
        uint8_t type = ev[FL_EV_TYPE_OFF];
        r->caught_up = type == FL_EV_HEARTBEAT || type == FL_EV_HEARTBEAT_V2;
        r->emit_err[0] = '\0';
        char err[1024];
        if (fl_decoder_event_crc(r->dec, ev, len, fl_receiver_crc(r->rcv), err, sizeof err) != 0) {
            if (r->emit_err[0]) return fl_error_set(e, true, 0, "journal: %s", r->emit_err);
            return fl_error_set(e, true, 0, "decoding the binlog stream: %s", err);
        }
        if (r->batch_txns >= BATCH_MAX_TXNS || fl_store_pending_bytes(r->store) >= BATCH_MAX_BYTES) {
            if (commit(r, e) < 0) return -1;
            if (r->snap) snapshot_turn(r); /* a busy stream does not starve the snapshot */
        }
    }
}

static void stream_end(relay *r)
{
    flush_metrics(r);
    take_gtids(r);            /* (commit took it already unless that commit failed) */
    fl_receiver_stop(r->rcv); /* before the connection closes */
    r->rcv = NULL;
    fl_source_pos_free(&r->start);
    free(r->skip_file);
    r->skip_file = NULL;
    if (r->dec) fl_decoder_free(r->dec);
    r->dec = NULL;
    fl_source_close(r->src);
    r->src = NULL;
    fl_metric_set(r->m_connected, 0);
    fl_snapshot_stream_restarted(r->snap); /* the next stream starts at the journal's position */
}

static fl_store *open_store(const fl_config *cfg, char *err, size_t errlen)
{
    fl_store_opts o = {.write = true, .sync = cfg->journal.sync};
    return fl_store_open(cfg->journal.path, &o, err, errlen);
}

int fl_live_run(const fl_config *cfg)
{
    char err[1024];
    relay r = {.cfg = cfg};
    r.names.cfg = &cfg->source;
    pid_t feed_pid = -1;
    int status = 1;

    struct sigaction sa = {0};
    sa.sa_handler = on_signal; /* no SA_RESTART: a signal wakes poll() */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (cfg->feed.listen) {
        if (!cfg->feed.tls_cert && !fl_net_is_loopback(cfg->feed.listen))
            log_warn("feed: listening on %s, not a loopback address, without TLS: the secret protects the "
                     "data's integrity only, not its confidentiality (anyone on the path can read every row); "
                     "set [feed] tls_cert and tls_key to encrypt it",
                     cfg->feed.listen);
        if (fl_feed_server_check(cfg, err, sizeof err) < 0 ||
            (feed_pid = fl_feed_server_start(cfg, err, sizeof err)) < 0) {
            log_error("feed: %s", err);
            return 1;
        }
    }
    if (cfg->metrics.relay && fl_metrics_serve(cfg->metrics.relay, err, sizeof err) < 0) {
        log_error("metrics: %s", err);
        goto out;
    }
    r.m_txns = fl_metric_counter("fastlane_relay_transactions_total", "Transactions journaled");
    r.m_rows = fl_metric_counter("fastlane_relay_rows_total", "Row changes journaled");
    r.m_bytes = fl_metric_counter("fastlane_relay_binlog_bytes_total", "Binlog event bytes received");
    r.m_commits = fl_metric_counter("fastlane_relay_commits_total", "Journal commits (batches)");
    r.m_reconnects = fl_metric_counter("fastlane_relay_reconnects_total", "Reconnects to the source");
    r.m_lag = fl_metric_gauge("fastlane_relay_lag_seconds", "Seconds behind the source");
    r.m_commit_ts = fl_metric_gauge("fastlane_relay_last_commit_timestamp_seconds",
                                    "Source commit time of the last journaled transaction");
    r.m_connected = fl_metric_gauge("fastlane_relay_source_connected",
                                    "1 while streaming from the source, else 0");
    r.m_first_seq = fl_metric_gauge("fastlane_relay_journal_first_seq", "Seq of the journal's first transaction");
    r.m_last_seq = fl_metric_gauge("fastlane_relay_journal_last_seq", "Seq of the journal's last transaction");
    r.m_journal_bytes = fl_metric_gauge("fastlane_relay_journal_bytes", "Encoded record bytes in the journal");
    r.m_journal_txns = fl_metric_gauge("fastlane_relay_journal_transactions", "Transactions in the journal");
    fl_metrics_program("fastlane_relay");

    r.store = open_store(cfg, err, sizeof err);
    if (!r.store) {
        log_error("journal %s: %s", cfg->journal.path, err);
        goto out;
    }
    if (fl_store_position(r.store, &r.pos, err, sizeof err) < 0) {
        log_error("journal %s: %s", cfg->journal.path, err);
        goto out;
    }
    if ((r.pos.gtid_set && r.pos.gtid_set[0]) || (r.pos.file && r.pos.file[0])) {
        char where[600];
        position_text(&r.pos, where, sizeof where);
        log_info("journal %s: resuming %s", cfg->journal.path, where);
    } else {
        log_info("journal %s: empty; starting at [source] start", cfg->journal.path);
    }
    if (cfg->snapshot.tables) {
        fl_store_info info;
        bool empty = !(r.pos.gtid_set && r.pos.gtid_set[0]) && !(r.pos.file && r.pos.file[0]) &&
                     fl_store_info_get(r.store, &info, err, sizeof err) == 0 && info.count == 0;
        r.snap = fl_snapshot_new(cfg, r.store, empty && cfg->snapshot.initial, err, sizeof err);
        if (!r.snap) {
            log_error("journal %s: %s", cfg->journal.path, err);
            goto out;
        }
    }
    retention(&r, true);
    journal_gauges(&r);

    if (sd_watchdog_enabled(0, &watchdog_usec) <= 0) watchdog_usec = 0;
    clock_gettime(CLOCK_MONOTONIC, &watchdog_last);
    sd_notify(0, "READY=1");

    int backoff = BACKOFF_FIRST_MS;
    bool first = true;
    while (!stop_requested) {
        if (!first) fl_metric_add(r.m_reconnects, 1);
        first = false;
        bool streamed = false;
        fl_error e;
        fl_error_clear(&e);
        int rc = stream_once(&r, &streamed, &e);
        /* Keep what was decoded completely; a transaction cut by the disconnect is resent. */
        if (commit(&r, &e) < 0) rc = -1;
        stream_end(&r);
        if (rc == 0) break;
        if (e.permanent) {
            log_error("%s", e.msg);
            goto out;
        }
        log_warn("%s; %s", e.msg, streamed ? "reconnecting" : "retrying");
        if (r.in_parts) {
            /* Parts of an unfinished transaction are in the journal: reopening removes them,
             * and the whole transaction comes again from the resumed position. */
            fl_store_close(r.store);
            r.in_parts = false;
            r.store = open_store(cfg, err, sizeof err);
            if (!r.store) {
                log_error("journal %s: %s", cfg->journal.path, err);
                goto out;
            }
        }
        if (streamed) backoff = BACKOFF_FIRST_MS;
        notify_status("source unavailable; reconnecting in %.1fs", backoff / 1000.0);
        log_info("reconnecting in %.1fs", backoff / 1000.0);
        sleep_ms(backoff);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    log_info("stopping: journal committed %s",
             r.pos.gtid_set && r.pos.gtid_set[0] ? r.pos.gtid_set : (r.pos.file ? r.pos.file : ""));
    sd_notify(0, "STOPPING=1");
    status = 0;
out:
    stream_end(&r);
    names_cache_free(&r.names);
    fl_snapshot_free(r.snap);
    fl_retention_free(r.retention);
    if (r.store) fl_store_close(r.store);
    fl_position_free(&r.pos);
    if (cfg->metrics.relay) fl_metrics_shutdown();
    if (feed_pid > 0) {
        kill(feed_pid, SIGTERM);
        waitpid(feed_pid, NULL, 0);
    }
    return status;
}
