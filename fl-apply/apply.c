/* apply.c — the applier's loop: journal (local, or a relay's feed) → rules → target, in
 * order, resumable.
 *
 * Start: the checkpoint read back from the target (apply the transaction after it), the
 * journal's first transaction when there is none, or --from-seq/--from-gtid (inclusive).
 * Each transaction is read part by part, its tables checked against the rules once, its row
 * changes rendered to cache operations and submitted with the checkpoint that follows it;
 * the target keeps many in flight and is flushed when the applier is caught up, every
 * second while catching up, and before exiting. Transactions without cache operations only
 * move the checkpoint, so theirs is written lazily (with the next flush or chunk).
 *
 * Groups. While the applier is behind, consecutive transactions that the input already holds
 * are submitted together, as one group with the checkpoint of its last (one MULTI/EXEC on
 * Redis): a group is sent as soon as the next transaction is not there yet (never waiting to
 * fill it), or once it is as large as fl-apply/group.h allows (never above max_atomic_ops). A
 * transaction that is chunked or deletes by pattern goes alone, as before; so do those
 * retried after a repeated failure (below). A folded replay is kept in one group as far as
 * max_atomic_ops allows. A reader thus sees the cache jump from the state after one source
 * transaction to the state after a later one, never part of one.
 *
 * When there is nothing new, the applier sleeps until the input has news (fl-apply/input.c:
 * the journal writer signals every commit; a relay pushes), never polling. A target that fails (down, restarted, an
 * error reply) is closed and reopened with a capped exponential backoff, forever; the
 * checkpoint is read back and applying resumes right after it (the target never lets a
 * checkpoint pass a transaction it refused). After a first failure applying resumes in groups;
 * after a second one with nothing applied in between, the transactions of the group that was
 * in flight at the checkpoint are submitted one by one (the checkpoint then stops right before
 * a refused one), and until something is applied again each transaction is flushed before the
 * next is sent, so that a refusal that repeats (maxmemory, an ACL) is retried alone and
 * reported each time, with the target errors metric. A transaction whose
 * operations exceed max_atomic_ops goes out in ordered chunks; that is logged and counted.
 * Progress is logged every 10 s and exported as metrics ([metrics] apply).
 *
 * Replays never move a key backwards: when the start lies below what the cache may already
 * show (--from-seq/--from-gtid under the checkpoint, or the target's fold_until), the range
 * up to there is folded (fl-apply/fold.h): read once to find every key's last operation,
 * then applied with only those. Operations the target says it already holds (a memcached
 * server that is not being refilled) are left out as well. */
#include "fl-apply/apply.h"

#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "common/cli.h"
#include "common/clock.h"
#include "common/gtid.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/stage_trace.h"
#include "common/txn.h"
#include "fl-apply/fold.h"
#include "fl-apply/group.h"
#include "fl-apply/input.h"
#include "fl-apply/rebuild.h"
#include "fl-apply/rules.h"
#include "fl-apply/schema_check.h"
#include "fl-apply/target.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define ONCE_RETRIES 5        /* --once: transient source failures tolerated (~3 s of backoff) */
#define FLUSH_EVERY_MS 1000   /* while catching up */
#define REPORT_EVERY_MS 10000 /* progress log line */
#define WAIT_SLICE_MS 1000    /* longest sleep before looking at signals and the watchdog */
#define METRICS_EVERY_MS 250
#define JOURNAL_WAIT_MS 200 /* between looks for a journal that is not there yet */

/* A checkpoint's GTID kept as a value: formatting it takes longer than anything else done once
 * per transaction, and a group's checkpoint needs only its last one's text, when it is sent. */
typedef struct pending_gtid {
    fl_gtid gtid;
    uint64_t seq; /* the transaction it belongs to */
    bool pending; /* not formatted into the checkpoint yet */
} pending_gtid;

/* Formats g into cp when it is still pending and belongs to cp's transaction. */
static void settle_gtid(fl_checkpoint *cp, pending_gtid *g)
{
    if (!g->pending) return;
    g->pending = false;
    if (g->seq == cp->seq) fl_gtid_format(&g->gtid, cp->gtid, sizeof cp->gtid);
}

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig) { stop_signal = sig; }

/* Why an applier cannot go on from its history (fl-apply/rebuild.h): an empty cache on a
 * journal whose start was purged, a checkpoint of another journal, one retention purged. */
enum lost_kind { LOST_EMPTY, LOST_FOREIGN, LOST_PURGED };

typedef struct counters {
    uint64_t txns, ops, rows_skipped, rows_failed, chunked;
    uint64_t statements; /* statement-based transactions not applied (on_error = skip) */
    uint64_t unknown;    /* row changes whose new value the binlog lacks: keys deleted instead */
    uint64_t clears;     /* rules' key sets deleted after a TRUNCATE, DROP or RENAME of their table */
    uint64_t ddl_failed; /* such DDL whose keys could not be deleted (on_error = skip) */
} counters;

typedef struct applier {
    const fl_config *cfg;
    const fl_apply_opts *opts;
    fl_input *src;
    bool src_local; /* a local journal (else a relay) */
    fl_rules *rules;
    fl_target *target;
    fl_cache_ops ops;

    uint64_t next_seq;    /* the next transaction to apply */
    uint64_t once_head;   /* --once: the journal's last seq at start (0 = not known) */
    int once_retries;     /* --once: source failures retried so far */
    bool override_active; /* --from-* start, until something has been flushed */
    uint64_t override_seq;
    char journal_id[FL_JOURNAL_ID_TEXT]; /* identity of the journal applied ("" = unknown) */
    bool unnamed_cp_logged;              /* said once that a checkpoint names no journal */
    fl_checkpoint done_cp;               /* last transaction submitted or held in the group */
    pending_gtid done_gtid;              /* done_cp's GTID while its text is not needed yet */
    bool lazy_cp;                        /* done_cp not sent yet: ops holds the group's operations */
    size_t group_bytes;                  /* bytes of the group's operations */
    fl_group_units *group_units;         /* their count per atomic unit, on a target with units */
    fl_group_units *txn_units;           /* ... and the current transaction's (group_decision) */
    uint64_t sent_seq;                   /* the last transaction whose operations went to the target */
    uint32_t submitted;                  /* transactions submitted since the last flush */

    counters sent, flushed, reported; /* submitted / acknowledged / at the last progress line */
    uint64_t retries;
    uint64_t target_errors;   /* target failures (error replies, lost connections) */
    uint32_t failures_in_row; /* target failures since something was last applied */
    uint64_t ahead_until;     /* after a target failure: the last seq submitted, whose writes (and
                               * those before it) may show although the checkpoint is older */
    bool cautious;            /* after a target failure: one transaction in flight until one is applied */
    uint64_t ungrouped_until; /* the end of the group that was in flight at the checkpoint (the one that
                               * failed): up to there, each transaction is submitted by itself */
    bool find_failed_group;   /* set ungrouped_until at the next transaction, from submitted_ends */
    uint64_t *submitted_ends; /* the last seq of each submit since the last successful flush */
    size_t nsubmitted_ends, submitted_ends_cap;
    struct {
        fl_metric *txns, *ops, *skipped, *failed, *chunked, *statements, *unknown, *clears, *ddl_failed, *retries,
            *target_errors, *cp_seq, *cp_ts, *lag, *lag_s;
        fl_metric *target_up, *source_up;
        fl_metric *purged_stops, *foreign_stops, *duplicate_stops;
        fl_metric *rebuilds[3]; /* by lost_kind */
        counters last;
        uint64_t last_retries, last_target_errors;
        int64_t last_ms;
    } m;
    int backoff_ms;
    int64_t last_flush_ms, last_report_ms, last_watchdog_ms;
    uint64_t watchdog_ms; /* 0 = off */

    /* the folded replay range, while it is being applied (fl-apply/fold.h) */
    fl_fold *fold;
    uint64_t fold_first, fold_last;
    uint64_t fold_dropped, held_dropped; /* operations left out: superseded / already held */

    /* rebuilding a lost history (fl-apply/rebuild.h) */
    fl_rebuild *rb;
    bool rb_requested;      /* snapshots were requested: scans go on where the last one ended */
    bool rb_waiting;        /* the last rebuild attempt waits for them to be journaled complete */
    uint64_t rebuild_until; /* the rebuild just positioned folds up to this seq */

    /* the transaction being processed */
    fl_checkpoint cur_cp;
    pending_gtid cur_gtid; /* its GTID, formatted into cur_cp.gtid only when the text is needed */
    uint32_t cur_pos;      /* its operations rendered so far */
    size_t cur_start;      /* where its operations start in ops (before: the group's) */
    bool cur_chunked, cur_first;
    bool cur_statements; /* statement-based changes of rule tables were skipped */
    int cur_fatal;       /* exit status when rendering failed fatally */
    int cur_target_failed;
    fl_error err; /* the last failure */
} applier;

static void watchdog(applier *a)
{
    if (!a->watchdog_ms) return;
    int64_t now = fl_now_ms();
    if (now - a->last_watchdog_ms >= (int64_t)a->watchdog_ms / 2) {
        sd_notify(0, "WATCHDOG=1");
        a->last_watchdog_ms = now;
    }
}

/* Sleeps ms milliseconds, waking early for a stop signal. */
static void nap(applier *a, int ms)
{
    int64_t until = fl_now_ms() + ms;
    while (!stop_signal) {
        int64_t left = until - fl_now_ms();
        if (left <= 0) break;
        if (left > 200) left = 200;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = left * 1000000};
        nanosleep(&ts, NULL);
        watchdog(a);
    }
}

/* A commit time for the status lines: the journal's UTC form and " UTC", "-" when unknown. */
static void fmt_time(uint64_t ts, char *buf, size_t len)
{
    fl_buf b = {0};
    if (ts) {
        fl_format_utc(&b, ts);
        fl_buf_puts(&b, " UTC");
    } else {
        fl_buf_puts(&b, "-");
    }
    snprintf(buf, len, "%s", fl_buf_cstr(&b));
    fl_buf_free(&b);
}

static void metrics_init(applier *a)
{
    a->m.txns = fl_metric_counter("fastlane_apply_transactions_total",
                                  "Transactions applied (acknowledged by the target)");
    a->m.ops = fl_metric_counter("fastlane_apply_operations_total", "Cache operations applied");
    a->m.skipped = fl_metric_counter("fastlane_apply_rows_skipped_total", "Row changes of tables without a rule");
    a->m.failed = fl_metric_counter("fastlane_apply_rows_failed_total",
                                    "Row changes a rule could not render (on_error = skip)");
    a->m.chunked = fl_metric_counter("fastlane_apply_chunked_transactions_total",
                                     "Transactions above max_atomic_ops applied in several chunks (not "
                                     "atomically)");
    a->m.statements = fl_metric_counter("fastlane_apply_statement_transactions_skipped_total",
                                        "Statement-based transactions not applied to the cache (on_error = skip)");
    a->m.unknown = fl_metric_counter("fastlane_apply_unknown_values_total",
                                     "Row changes whose new value the binlog does not carry; their keys were "
                                     "deleted");
    a->m.clears = fl_metric_counter("fastlane_apply_table_clears_total",
                                    "Rules' keys deleted by pattern after a TRUNCATE, DROP TABLE or RENAME TABLE");
    a->m.ddl_failed = fl_metric_counter("fastlane_apply_ddl_not_applied_total",
                                        "TRUNCATE/DROP/RENAME of rule tables whose keys could not be deleted "
                                        "(on_error = skip): the cache holds stale keys");
    a->m.retries = fl_metric_counter("fastlane_apply_retries_total", "Reconnections to the target or the source");
    a->m.target_errors = fl_metric_counter("fastlane_apply_target_errors_total",
                                           "Failures that sent the applier back to its checkpoint (refused "
                                           "transactions, lost connections)");
    a->m.cp_seq = fl_metric_gauge("fastlane_apply_checkpoint_seq", "Journal seq of the last applied transaction");
    a->m.cp_ts = fl_metric_gauge("fastlane_apply_checkpoint_timestamp_seconds",
                                 "Commit time of the last applied transaction");
    a->m.lag = fl_metric_gauge("fastlane_apply_lag_transactions", "Transactions in the journal not applied yet");
    a->m.lag_s = fl_metric_gauge("fastlane_apply_lag_seconds",
                                 "Commit time of the journal head minus the checkpoint's");
    a->m.target_up = fl_metric_gauge("fastlane_apply_target_connected", "1 while the target is connected, else 0");
    a->m.source_up = fl_metric_gauge("fastlane_apply_source_connected",
                                     "1 while the journal (or the relay's feed) answers, else 0");
    fl_metrics_program("fastlane_apply");
    a->m.purged_stops = fl_metric_counter("fastlane_apply_purged_stops_total",
                                          "Stops because retention purged transactions before they were applied");
    a->m.duplicate_stops = fl_metric_counter("fastlane_apply_duplicate_stops_total",
                                             "Stops because another applier of the same name runs on the target");
    a->m.foreign_stops = fl_metric_counter("fastlane_apply_foreign_checkpoint_stops_total",
                                           "Stops because the checkpoint belongs to another journal that does not "
                                           "hold its GTID");
    static const char *const help = "Rebuilds of the cache from the journal's snapshots, by the history lost";
    a->m.rebuilds[LOST_EMPTY] = fl_metric_counter_series("fastlane_apply_rebuilds_total", "reason", "empty", help);
    a->m.rebuilds[LOST_FOREIGN] = fl_metric_counter_series("fastlane_apply_rebuilds_total", "reason", "foreign",
                                                           help);
    a->m.rebuilds[LOST_PURGED] = fl_metric_counter_series("fastlane_apply_rebuilds_total", "reason", "purged",
                                                          help);
}

/* Lag behind the journal head, in transactions and seconds of commit time. */
static void lag_of(applier *a, uint64_t *lag, uint64_t *lag_s)
{
    fl_input_head info;
    fl_error e;
    *lag = *lag_s = 0;
    bool answered = fl_input_bounds(a->src, &info, &e) == 0;
    fl_metric_set(a->m.source_up, answered);
    if (answered && info.last_seq > a->done_cp.seq) {
        *lag = info.last_seq - a->done_cp.seq;
        *lag_s = info.last_ts > a->done_cp.ts && a->done_cp.ts ? info.last_ts - a->done_cp.ts : 0;
    }
}

static void metrics_update(applier *a, bool force)
{
    int64_t now = fl_now_ms();
    if (!force && now - a->m.last_ms < METRICS_EVERY_MS) return;
    a->m.last_ms = now;
    counters *f = &a->flushed, *l = &a->m.last;
    fl_metric_add(a->m.txns, f->txns - l->txns);
    fl_metric_add(a->m.ops, f->ops - l->ops);
    fl_metric_add(a->m.skipped, f->rows_skipped - l->rows_skipped);
    fl_metric_add(a->m.failed, f->rows_failed - l->rows_failed);
    fl_metric_add(a->m.chunked, f->chunked - l->chunked);
    fl_metric_add(a->m.statements, f->statements - l->statements);
    fl_metric_add(a->m.unknown, f->unknown - l->unknown);
    fl_metric_add(a->m.clears, f->clears - l->clears);
    fl_metric_add(a->m.ddl_failed, f->ddl_failed - l->ddl_failed);
    fl_metric_add(a->m.retries, a->retries - a->m.last_retries);
    fl_metric_add(a->m.target_errors, a->target_errors - a->m.last_target_errors);
    *l = *f;
    a->m.last_retries = a->retries;
    a->m.last_target_errors = a->target_errors;
    fl_metric_set(a->m.cp_seq, (double)a->done_cp.seq);
    fl_metric_set(a->m.cp_ts, (double)a->done_cp.ts);
    uint64_t lag, lag_s;
    lag_of(a, &lag, &lag_s);
    fl_metric_set(a->m.lag, (double)lag);
    fl_metric_set(a->m.lag_s, (double)lag_s);
}

static void report(applier *a, bool force)
{
    int64_t now = fl_coarse_now_ms(); /* (called for every transaction) */
    counters *f = &a->flushed, *r = &a->reported;
    if (!force && now - a->last_report_ms < REPORT_EVERY_MS) return;
    a->last_report_ms = now;
    if (f->txns == r->txns && f->rows_skipped == r->rows_skipped && !force) return;
    uint64_t lag, lag_s;
    lag_of(a, &lag, &lag_s);
    settle_gtid(&a->done_cp, &a->done_gtid);
    log_info("applied %" PRIu64 " transactions (%" PRIu64 " cache operations; %" PRIu64
             " rows without a rule skipped, %" PRIu64 " rows failed, %" PRIu64 " transactions chunked, %" PRIu64
             " statement-based transactions not applied); checkpoint seq %" PRIu64 " gtid %s; lag %" PRIu64
             " transactions, %" PRIu64 " s",
             f->txns - r->txns, f->ops - r->ops, f->rows_skipped - r->rows_skipped,
             f->rows_failed - r->rows_failed, f->chunked - r->chunked, f->statements - r->statements,
             a->done_cp.seq, a->done_cp.gtid[0] ? a->done_cp.gtid : "-", lag, lag_s);
    sd_notifyf(0,
               "STATUS=applying: checkpoint seq %" PRIu64 ", lag %" PRIu64 " transactions, %" PRIu64
               " applied since start",
               a->done_cp.seq, lag, f->txns);
    *r = *f;
}

/* ---- target connection ----------------------------------------------------------------- */

static void fold_end(applier *a, bool done)
{
    if (!a->fold) return;
    if (done)
        log_info("replay of seq %" PRIu64 "..%" PRIu64 " applied: %" PRIu64
                 " superseded operations folded away, %" PRIu64 " already held left out",
                 a->fold_first, a->fold_last, a->fold_dropped, a->held_dropped);
    fl_fold_free(a->fold);
    a->fold = NULL;
}

/* Forgets the sizes of the group held back: it was sent, or dropped. */
static void group_forget(applier *a)
{
    a->group_bytes = 0;
    if (a->group_units) fl_group_units_clear(a->group_units);
}

/* Closes the target and forgets what was submitted but not flushed, so that reading resumes
 * from the checkpoint the target is opened with next. */
static void drop_target(applier *a)
{
    fl_input_release(a->src); /* reconnecting may take long */
    fl_target_close(a->target);
    a->target = NULL;
    fl_metric_set(a->m.target_up, 0);
    fl_cache_ops_reset(&a->ops);
    a->sent = a->flushed;
    a->submitted = 0;
    a->lazy_cp = false;
    group_forget(a);
    fold_end(a, false);
}

static void target_lost(applier *a, const char *why)
{
    a->failures_in_row++;
    a->target_errors++;
    /* A first failure (a lost connection, most often) is resumed in groups: a folded replay
     * of what may be visible goes out at once. A second one without progress in between (a
     * refusal that repeats) is retried one transaction at a time, so that the refused one
     * is found and reported by itself. */
    if (a->failures_in_row > 1) {
        a->cautious = true;
        a->find_failed_group = true;
    } else {
        a->nsubmitted_ends = 0;
    }
    if (a->sent_seq > a->ahead_until) a->ahead_until = a->sent_seq;
    if (a->failures_in_row == 1)
        log_warn("%s; reconnecting and resuming from the checkpoint", why);
    else
        log_warn("%s; failed %u times in a row, reconnecting in %d ms and resuming from the checkpoint", why,
                 a->failures_in_row, a->backoff_ms);
    sd_notifyf(0, "STATUS=target unavailable: %s", why);
    metrics_update(a, true);
    a->retries++;
    drop_target(a); /* the fold is planned again after reconnecting */
}

/* The journal was replaced under the applier (fl-apply/input.c): the target is opened
 * again, so that its checkpoint is read back and placed in the new journal; no failure of
 * the target's. Everything submitted was flushed before. */
static void reposition(applier *a, const char *why)
{
    log_warn("%s; placing the checkpoint in it", why);
    drop_target(a);
}

/* The refusal when transactions not applied yet were purged from the journal (lost: which
 * seqs); the same at start and while running. Returns the exit status. */
static int stop_purged(applier *a, const char *lost)
{
    fl_metric_add(a->m.purged_stops, 1);
    settle_gtid(&a->done_cp, &a->done_gtid);
    log_error("%s; the cache holds everything up to seq %" PRIu64 " (gtid %s) and misses those transactions: "
              "stopping. Flush the cache and apply from the journal's first transaction (with no checkpoint), "
              "or start with --from-seq/--from-gtid; keep retention (retain, max_size) longer than the applier "
              "lags",
              lost, a->done_cp.seq, a->done_cp.gtid[0] ? a->done_cp.gtid : "-");
    sd_notify(0, "STATUS=stopped: journal transactions purged before they were applied");
    return 1;
}

/* ---- rebuilding a lost history (fl-apply/rebuild.h) ----------------------------------------- */

/* Whether this applier's config lets it ask the relay of a local journal for the tables of
 * list: they are among its [snapshot] tables (a relay on the same host reads the same
 * file). Sets bad to the first table that is not. */
static bool may_request(const applier *a, const char *list, char *bad, size_t badlen)
{
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        snprintf(bad, badlen, "%.*s", (int)n, p);
        bool covered = false;
        for (char **g = a->cfg->snapshot.tables; g && *g && !covered; g++) covered = fl_glob_match(*g, bad);
        if (!covered) return false;
        p += n + (comma ? 1 : 0);
    }
    return true;
}

/* The rule tables lack a complete snapshot in the journal (missing: "db.t,db.u"): asks for
 * one, once. Returns -1 (a->err: waiting for it, or the source is unavailable now), or 1 with
 * why (the relay refused, or nothing may ask for it). */
static int request_snapshots(applier *a, const char *missing, const char *lost, char *why, size_t whylen)
{
    if (a->rb_requested) {
        fl_error_set(&a->err, false, 0, "rebuild: waiting for the snapshot of %s to be journaled complete",
                     missing);
        a->rb_waiting = true;
        return -1;
    }
    char bad[512];
    if (a->src_local && !may_request(a, missing, bad, sizeof bad)) {
        snprintf(why, whylen,
                 "the journal holds no complete snapshot of %s, and %s is not in [snapshot] tables of %s (the "
                 "tables its relay may snapshot)",
                 missing, bad, a->cfg->path ? a->cfg->path : "the config");
        return 1;
    }
    if (fl_input_request_snapshot(a->src, missing, &a->err) < 0) {
        if (!a->err.permanent) return -1;
        snprintf(why, whylen, "the journal holds no complete snapshot of %s, and %s", missing, a->err.msg);
        return 1;
    }
    a->rb_requested = true;
    log_warn("%s: rebuild: requested snapshot of %s from %s; the cache is rebuilt once it is journaled complete",
             lost, missing, fl_input_name(a->src));
    sd_notifyf(0, "STATUS=rebuild: waiting for the snapshot of %s", missing);
    fl_error_set(&a->err, false, 0, "rebuild: waiting for the snapshot of %s to be journaled complete", missing);
    a->rb_waiting = true;
    return -1;
}

/* Before a cache that holds keys of a history it cannot continue is rebuilt: on Redis every
 * rule's keys are deleted (with the checkpoint the rebuild starts from), so no key whose row
 * went in the lost history survives; memcached cannot list its keys. Returns 0 or -1 (the
 * target failed, a->err). */
static int clear_for_rebuild(applier *a)
{
    if (!fl_target_deletes_by_pattern(a->target)) {
        log_warn("rebuild: %s cannot list its keys, so keys of rows deleted in the lost history stay until their "
                 "ttl; to be rid of them, flush every server (flush_all) and start the applier again",
                 fl_target_kind(a->target));
        return 0;
    }
    fl_cache_ops_reset(&a->ops);
    fl_rules_clear_all(a->rules, &a->ops, "deleted before a rebuild");
    size_t n = a->ops.nops;
    int chunked;
    settle_gtid(&a->done_cp, &a->done_gtid);
    int rc = fl_target_submit(a->target, &a->ops, &a->done_cp, &chunked, a->err.msg, sizeof a->err.msg);
    if (rc == 0) rc = fl_target_flush(a->target, a->err.msg, sizeof a->err.msg);
    fl_cache_ops_reset(&a->ops);
    if (rc) return -1;
    log_info("rebuild: the keys of %zu rules deleted first, so that none of the lost history survives", n);
    return 0;
}

/* The applier cannot go on from its history (kind; lost says why; had: the cache may hold keys
 * of that history). Positions it at the rebuild point, folded up to the journal's head, or asks
 * for the snapshots it lacks. Returns 0, -1 (retry later: a->err), or 1 with why (rebuilding
 * is impossible). */
static int rebuild(applier *a, enum lost_kind kind, const char *lost, bool had, const fl_input_head *info,
                   char *why, size_t whylen)
{
    a->rb_waiting = false;
    if (!a->rb) a->rb = fl_rebuild_new(a->rules);
    if (!a->rb_requested) fl_rebuild_reset(a->rb, info->first_seq);
    fl_input_head now; /* after the scan: a relay's bounds are fresh then */
    if (fl_rebuild_scan(a->rb, a->src, &a->err) < 0 || fl_input_bounds(a->src, &now, &a->err) < 0) {
        if (!a->err.permanent) return -1;
        snprintf(why, whylen, "%s", a->err.msg);
        return 1;
    }
    uint64_t until = now.last_seq > info->last_seq ? now.last_seq : info->last_seq;
    uint64_t from;
    fl_buf missing = {0};
    int rc = fl_rebuild_start(a->rb, &from, &missing);
    if (rc) rc = request_snapshots(a, fl_buf_cstr(&missing), lost, why, whylen);
    fl_buf_free(&missing);
    if (rc) return rc;
    for (size_t i = 0; i < fl_rebuild_tables(a->rb); i++) {
        uint64_t seq;
        const char *table = fl_rebuild_table(a->rb, i, &seq);
        log_info("rebuild: from snapshot of %s at seq %" PRIu64, table, seq);
    }
    log_warn("%s: rebuilding the cache from seq %" PRIu64 " (the earliest of those snapshots), each key written "
             "once with its image at seq %" PRIu64,
             lost, from, until);
    a->rb_requested = false;
    memset(&a->done_cp, 0, sizeof a->done_cp);
    a->done_gtid.pending = false;
    a->done_cp.seq = from - 1;
    memcpy(a->done_cp.journal, a->journal_id, sizeof a->done_cp.journal);
    a->next_seq = from;
    a->rebuild_until = until;
    if (a->once_head && until > a->once_head) a->once_head = until; /* --once: what it rebuilds from is there */
    fl_target_rewind(a->target, 0);                                 /* positions it held are no guide any more */
    fl_target_will_show(a->target, until);                          /* a restart midway folds the rest */
    if (had && clear_for_rebuild(a)) return -1;
    fl_metric_add(a->m.rebuilds[kind], 1);
    sd_notifyf(0, "STATUS=rebuilding the cache from seq %" PRIu64, from);
    return 0;
}

/* Whether the checkpoint cp belongs to the journal with identity id. One that names no
 * journal (written by an earlier version), or a journal without an identity, cannot be
 * told apart: it is taken as this journal's (logged once by the applier). */
static bool checkpoint_is_ours(const fl_checkpoint *cp, const char *id)
{
    return !cp->journal[0] || !id[0] || !strcmp(cp->journal, id);
}

/* Where a checkpoint of another journal stands in this one: its GTID's seq here. Returns 0
 * with *seq, 1 when this journal does not hold the GTID (or the checkpoint has none), -1
 * with a->err (a->err.permanent: retrying cannot help). */
static int foreign_position(applier *a, const fl_checkpoint *cp, uint64_t *seq)
{
    fl_error_clear(&a->err);
    if (!cp->gtid[0]) return 1;
    return fl_input_seek_gtid(a->src, cp->gtid, seq, &a->err);
}

/* Whether a journal whose last GTID is `last` ("" when not known) may still come to hold
 * `wanted`: it is empty, or its last GTID of the same stream (MariaDB domain, MySQL uuid and
 * tag) is older. A relay starting a new journal journals what the source still has. */
static bool gtid_still_ahead(const char *wanted, const char *last, uint64_t last_seq)
{
    if (!last_seq) return true;
    fl_gtid w, l;
    if (!last[0] || fl_gtid_parse(&w, wanted, strlen(wanted)) || fl_gtid_parse(&l, last, strlen(last)) ||
        w.flavor != l.flavor)
        return false;
    if (w.flavor == FL_FLAVOR_MARIADB) return w.domain == l.domain && l.seq_no < w.seq_no;
    return !memcmp(w.uuid, l.uuid, sizeof w.uuid) && !strcmp(w.tag, l.tag) && l.gno < w.gno;
}

/* A checkpoint of another journal (the journal was replaced): resume right after its GTID
 * when this journal holds it, else stop; never wait for its seq. Returns 0, -1 (source
 * unavailable now: retry), or an exit status. */
static int resume_foreign(applier *a, const fl_checkpoint *cp, const fl_input_head *info)
{
    uint64_t found;
    int s = foreign_position(a, cp, &found);
    if (s < 0) {
        if (a->err.permanent)
            log_error("%s", a->err.msg);
        else
            log_warn("%s", a->err.msg);
        return a->err.permanent ? 1 : -1;
    }
    if (s == 0) {
        log_warn("the checkpoint (seq %" PRIu64
                 ", gtid %s) belongs to journal %s, this is journal %s; its GTID is "
                 "seq %" PRIu64 " here: resuming right after it",
                 cp->seq, cp->gtid, cp->journal, a->journal_id, found);
        a->next_seq = found + 1;
        a->done_cp = *cp;
        a->done_gtid.pending = false;
        a->done_cp.seq = found;
        memcpy(a->done_cp.journal, a->journal_id, sizeof a->done_cp.journal);
        a->lazy_cp = true;              /* the checkpoint is rewritten for this journal with the next flush */
        fl_target_rewind(a->target, 0); /* what a target holds is told in the other journal's seqs */
        return 0;
    }
    if (cp->gtid[0] && gtid_still_ahead(cp->gtid, info->last_gtid, info->last_seq)) {
        fl_error_set(&a->err, false, 0,
                     "the checkpoint (gtid %s) belongs to journal %s; journal %s does not hold its GTID yet "
                     "(%s %s): waiting for it",
                     cp->gtid, cp->journal, a->journal_id, info->last_seq ? "last GTID" : "it is",
                     info->last_seq ? info->last_gtid : "empty");
        return -1; /* retried: the new journal is catching up */
    }
    char why[1200] = "";
    if (a->cfg->apply.rebuild) {
        char lost[400];
        snprintf(lost, sizeof lost, "the checkpoint (seq %" PRIu64 ", gtid %s) belongs to journal %s, which %s",
                 cp->seq, cp->gtid[0] ? cp->gtid : "-", cp->journal,
                 cp->gtid[0] ? "this journal does not continue" : "names no GTID to find here");
        int r = rebuild(a, LOST_FOREIGN, lost, true, info, why, sizeof why);
        if (r <= 0) return r;
    }
    fl_metric_add(a->m.foreign_stops, 1);
    log_error("the checkpoint (seq %" PRIu64 ", gtid %s) belongs to journal %s, this is journal %s (seqs %" PRIu64
              " to %" PRIu64 "), and %s: stopping rather than guess where the cache stands%s%s. Start with "
              "--from-gtid/--from-seq where the cache's contents end, or flush the cache and start from the "
              "journal's first transaction",
              cp->seq, cp->gtid[0] ? cp->gtid : "-", cp->journal, a->journal_id[0] ? a->journal_id : "-",
              info->first_seq, info->last_seq,
              cp->gtid[0] ? "that GTID is not in it" : "the checkpoint has no GTID to find in it",
              why[0] ? "; it cannot be rebuilt: " : "", why);
    sd_notify(0, "STATUS=stopped: the checkpoint belongs to another journal");
    return 1;
}

/* No checkpoint, and the journal's start was purged: what is left is a partial history, so the
 * cache is rebuilt, or the applier stops. Returns 0, -1 (retry) or an exit status. */
static int rebuild_empty(applier *a, const fl_input_head *info)
{
    char lost[300], why[1200];
    snprintf(lost, sizeof lost,
             "the cache holds no checkpoint and journal %s: seqs up to %" PRIu64 " were purged by retention",
             fl_input_name(a->src), info->purged_seq);
    int r = rebuild(a, LOST_EMPTY, lost, fl_target_deletes_by_pattern(a->target), info, why, sizeof why);
    if (r <= 0) return r;
    fl_metric_add(a->m.purged_stops, 1);
    log_error("%s; applying what is left would leave the cache incomplete, and it cannot be rebuilt: %s. Stopping "
              "([apply] rebuild = no applies the journal from its first transaction instead)",
              lost, why);
    sd_notify(0, "STATUS=stopped: the cache cannot be rebuilt");
    return 1;
}

/* Decides where to resume from the checkpoint cp (r = 1: none). Returns 0, -1 when the
 * source is unavailable now (retry), or an exit status. */
static int resume_point(applier *a, int r, const fl_checkpoint *cp)
{
    fl_input_head info;
    if (fl_input_bounds(a->src, &info, &a->err)) {
        log_warn("%s", a->err.msg);
        return a->err.permanent ? 1 : -1;
    }
    memcpy(a->journal_id, info.identity, sizeof a->journal_id);
    if (a->override_active) {
        a->next_seq = a->override_seq;
        memset(&a->done_cp, 0, sizeof a->done_cp);
        a->done_gtid.pending = false;
        a->done_cp.seq = a->override_seq - 1; /* what a chunk of the first transaction carries */
        memcpy(a->done_cp.journal, a->journal_id, sizeof a->done_cp.journal);
        return 0;
    }
    if ((r == 1 || cp->seq == 0) && info.purged_seq && a->cfg->apply.rebuild) return rebuild_empty(a, &info);
    if (r == 1 || cp->seq == 0) {
        a->next_seq = 0; /* the journal's first transaction, whatever its seq */
        memset(&a->done_cp, 0, sizeof a->done_cp);
        a->done_gtid.pending = false;
        memcpy(a->done_cp.journal, a->journal_id, sizeof a->done_cp.journal);
        log_info("no checkpoint in the target: applying from the journal's first transaction");
        return 0;
    }
    if (!checkpoint_is_ours(cp, a->journal_id)) return resume_foreign(a, cp, &info);
    if ((!cp->journal[0] || !a->journal_id[0]) && !a->unnamed_cp_logged) {
        a->unnamed_cp_logged = true;
        if (!cp->journal[0])
            log_info("the checkpoint names no journal (an earlier version wrote it): taken as journal %s's",
                     a->journal_id[0] ? a->journal_id : fl_input_name(a->src));
        else
            log_info("%s tells no journal identity (an earlier version made it): the checkpoint of journal %s "
                     "cannot be checked against it and is taken as its own",
                     fl_input_name(a->src), cp->journal);
    }
    uint64_t seq = cp->seq;
    if (a->src_local && cp->gtid[0]) {
        uint64_t found;
        int s = fl_input_seek_gtid(a->src, cp->gtid, &found, &a->err);
        if (s < 0 && a->err.permanent) {
            log_error("%s", a->err.msg);
            return 1;
        }
        if (s == 0 && found != seq) {
            log_warn("checkpoint seq %" PRIu64 " names GTID %s, which the journal holds at seq %" PRIu64
                     "; resuming after the GTID",
                     seq, cp->gtid, found);
            seq = found;
        }
    }
    a->done_cp = *cp;
    a->done_gtid.pending = false;
    memcpy(a->done_cp.journal, a->journal_id, sizeof a->done_cp.journal);
    if (seq + 1 <= info.purged_seq) { /* a seq missing above the horizon is a gap: no loss */
        char lost[256];
        if (seq + 1 == info.purged_seq)
            snprintf(lost, sizeof lost,
                     "journal %s: seq %" PRIu64 " was purged by retention before it was applied",
                     fl_input_name(a->src), seq + 1);
        else
            snprintf(lost, sizeof lost,
                     "journal %s: seqs %" PRIu64 "..%" PRIu64 " were purged by retention before they were applied",
                     fl_input_name(a->src), seq + 1, info.purged_seq);
        if (!a->cfg->apply.rebuild) return stop_purged(a, lost);
        char why[1200];
        int rr = rebuild(a, LOST_PURGED, lost, true, &info, why, sizeof why);
        if (rr <= 0) return rr;
        char both[1600];
        snprintf(both, sizeof both, "%s; it cannot be rebuilt: %s", lost, why);
        return stop_purged(a, both);
    }
    if (info.last_seq < seq)
        log_warn("checkpoint seq %" PRIu64 " is ahead of the journal (last seq %" PRIu64 "): transactions the "
                 "journal lost (sync = none and a machine crash?) are journaled again from the source; waiting "
                 "for it to reach the checkpoint",
                 seq, info.last_seq);
    a->next_seq = seq + 1;
    log_info("resuming after checkpoint seq %" PRIu64 " (gtid %s)", seq, cp->gtid[0] ? cp->gtid : "-");
    return 0;
}

static bool foldable(const fl_cache_op *op)
{
    return op->kind == FL_CACHE_SET || op->kind == FL_CACHE_HASH || op->kind == FL_CACHE_DEL;
}

/* Pass one of a fold: notes every key's operations of one part, in order. */
static int note_part(const fl_txn *part, void *ctx)
{
    applier *a = ctx;
    watchdog(a);
    for (uint32_t i = 0; i < part->ntables; i++) /* a rule error stops the second pass there */
        if (fl_rules_check_table(a->rules, &part->tables[i], a->err.msg, sizeof a->err.msg)) return 0;
    fl_cache_ops_reset(&a->ops);
    char err[256];
    /* rows a rule cannot render are reported (or stop the applier) in the second pass */
    fl_rules_render(a->rules, part, FL_ON_ERROR_SKIP, &a->ops, err, sizeof err);
    for (size_t i = 0; i < a->ops.nops; i++) {
        const fl_cache_op *op = &a->ops.ops[i];
        uint32_t pos = a->cur_pos++;
        if (op->kind == FL_CACHE_DEL_MATCH)
            fl_fold_note_match(a->fold, op->key, op->key_len, a->cur_cp.seq, pos);
        else if (foldable(op) && !fl_target_holds(a->target, op->key, op->key_len, a->cur_cp.seq))
            fl_fold_note(a->fold, op->key, op->key_len, a->cur_cp.seq, pos);
    }
    fl_cache_ops_reset(&a->ops);
    return 0;
}

/* Plans the fold of the replay that starts at next_seq: up to what the cache may already
 * show (the checkpoint cp read with result r, --from-* included), within the journal.
 * Returns 0, -1 when the source is unavailable now or a stop signal came, or an exit status. */
static int start_fold(applier *a, int r, const fl_checkpoint *cp)
{
    fold_end(a, false);
    uint64_t until = r == 0 ? cp->fold_until : 0;
    /* blocks pipelined behind a refused one may have written their keys: fold up to them */
    if (a->ahead_until > until) until = a->ahead_until;
    if (a->rebuild_until) { /* a rebuild folds up to the head it began at (a foreign mark means nothing) */
        until = a->rebuild_until;
        a->rebuild_until = 0;
    }
    if (a->override_active) {
        fl_target_rewind(a->target, a->next_seq);
        if (r == 0 && cp->seq > until) until = cp->seq;
    }
    if (until == 0 || until < a->next_seq) return 0;
    fl_input_head info;
    if (fl_input_bounds(a->src, &info, &a->err)) return a->err.permanent ? 1 : -1;
    if (until > info.last_seq) until = info.last_seq;
    uint64_t first = a->next_seq > info.first_seq ? a->next_seq : info.first_seq;
    if (until < first || !info.last_seq) return 0;
    a->fold = fl_fold_new();
    a->fold_first = first;
    a->fold_last = until;
    a->fold_dropped = a->held_dropped = 0;
    for (uint64_t from = a->next_seq; from <= until;) {
        if (stop_signal) return -1;
        uint64_t seq;
        int n = fl_input_next(a->src, from, &seq, &a->err);
        if (n == 1 || n == FL_INPUT_PURGED || n == FL_INPUT_REPLACED || (n == 0 && seq > until))
            break; /* the applying itself meets a purge or a replaced journal there */
        if (n == 0) {
            a->cur_cp.seq = seq;
            a->cur_pos = 0;
            n = fl_input_read(a->src, seq, note_part, a, &a->err);
        }
        if (n < 0) {
            if (!a->err.permanent) return -1;
            log_error("%s", a->err.msg);
            return 1;
        }
        from = seq + 1;
    }
    log_info("replaying seq %" PRIu64 "..%" PRIu64
             ", which the cache may already show, folded: %zu keys (%zu KiB), "
             "each written once with its latest image",
             a->fold_first, a->fold_last, fl_fold_keys(a->fold), fl_fold_bytes(a->fold) / 1024);
    return 0;
}

/* Connects (retrying forever with backoff) and positions next_seq. Returns 0, -1 when a stop
 * signal came first, or an exit status > 0. */
static int connect_target(applier *a)
{
    if (a->failures_in_row) { /* the target just failed: do not hammer it */
        nap(a, a->backoff_ms);
        a->backoff_ms = a->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : a->backoff_ms * 2;
    }
    while (!stop_signal) {
        watchdog(a);
        a->target = fl_target_open(&a->cfg->apply, &a->err);
        if (!a->target && a->err.permanent) {
            fprintf(stderr, "%s: [apply] target: %s\n", a->cfg->path ? a->cfg->path : "config", a->err.msg);
            return 2;
        }
        if (a->target) {
            fl_checkpoint cp;
            int r = fl_target_fence(a->target, a->err.msg, sizeof a->err.msg);
            if (r > 0) { /* another applier of this name runs there */
                fl_metric_add(a->m.duplicate_stops, 1);
                log_error("%s", a->err.msg);
                sd_notify(0, "STATUS=stopped: another applier of this name runs on the target");
                fl_target_close(a->target);
                a->target = NULL;
                return 1;
            }
            if (r == 0) r = fl_target_read_checkpoint(a->target, &cp, a->err.msg, sizeof a->err.msg);
            if (r >= 0) {
                log_info("connected to the %s target", fl_target_kind(a->target));
                fl_metric_set(a->m.target_up, 1);
                sd_notify(0, "STATUS=connected to the target");
                a->rb_waiting = false;
                int rr = resume_point(a, r, &cp);
                if (rr == 0) rr = start_fold(a, r, &cp);
                if (rr >= 0) return rr;
                /* the source is unavailable now (its reason is in err): try both again, but
                 * a batch run ends rather than wait for a relay that keeps refusing it (a
                 * snapshot requested for a rebuild is waited for: it is on its way) */
                if (a->opts->once && !a->rb_waiting && a->once_retries++ >= ONCE_RETRIES) {
                    log_error("%s", a->err.msg);
                    fl_target_close(a->target);
                    a->target = NULL;
                    return 1;
                }
            }
            fl_target_close(a->target);
            a->target = NULL;
        }
        log_warn("%s; retrying in %d ms", a->err.msg, a->backoff_ms);
        sd_notifyf(0, "STATUS=target unavailable: %s", a->err.msg);
        a->retries++;
        nap(a, a->backoff_ms);
        a->backoff_ms = a->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : a->backoff_ms * 2;
    }
    return -1;
}

/* Notes that everything up to seq was submitted (see ungrouped_until). */
static void note_submitted(applier *a, uint64_t seq)
{
    if (a->nsubmitted_ends == a->submitted_ends_cap) {
        a->submitted_ends_cap = a->submitted_ends_cap ? a->submitted_ends_cap * 2 : 64;
        a->submitted_ends = fl_xrealloc(a->submitted_ends, a->submitted_ends_cap * sizeof *a->submitted_ends);
    }
    a->submitted_ends[a->nsubmitted_ends++] = seq;
}

/* After a target failure, at the first transaction (seq, right after the checkpoint read
 * back): the group that was in flight there is the one that failed; up to its end, each
 * transaction is submitted by itself (still pipelined), so that the checkpoint stops right
 * before a refused one and the refusal names it. */
static void find_failed_group(applier *a, uint64_t seq)
{
    if (!a->find_failed_group) return;
    a->find_failed_group = false;
    a->ungrouped_until = 0;
    for (size_t i = 0; i < a->nsubmitted_ends && !a->ungrouped_until; i++)
        if (a->submitted_ends[i] >= seq) a->ungrouped_until = a->submitted_ends[i];
    a->nsubmitted_ends = 0;
}

/* Submits the transactions held back as a group (their operations, or only the checkpoint of
 * transactions without any), with the checkpoint of the last. Returns 0 or -1 with err. */
static int send_group(applier *a)
{
    if (!a->lazy_cp) return 0;
    int chunked;
    note_submitted(a, a->done_cp.seq);
    if (a->ops.nops) a->sent_seq = a->done_cp.seq; /* (part of it may be applied even if this fails) */
    settle_gtid(&a->done_cp, &a->done_gtid);
    if (fl_target_submit(a->target, &a->ops, &a->done_cp, &chunked, a->err.msg, sizeof a->err.msg)) return -1;
    a->sent.ops += a->ops.nops;
    fl_cache_ops_reset(&a->ops);
    a->lazy_cp = false;
    group_forget(a);
    a->cur_start = 0;
    a->submitted++;
    return 0;
}

/* Submits the group before the transaction being processed (ops[0..cur_start)), keeping its
 * operations, so that it goes out alone. Before an early chunk (chunk_next) a checkpoint
 * waiting without operations goes too: the chunk carries it, and a target must not take the
 * chunk for that checkpoint's own operations. Returns 0 or -1 with err. */
static int send_group_before_current(applier *a, bool chunk_next)
{
    if (!a->cur_start && !(chunk_next && a->lazy_cp)) return 0; /* the current one supersedes it */
    fl_cache_ops group = a->ops;
    group.nops = a->cur_start;
    int chunked;
    note_submitted(a, a->done_cp.seq);
    a->sent_seq = a->done_cp.seq;
    settle_gtid(&a->done_cp, &a->done_gtid);
    if (fl_target_submit(a->target, &group, &a->done_cp, &chunked, a->err.msg, sizeof a->err.msg)) return -1;
    a->sent.ops += group.nops;
    size_t rest = a->ops.nops - a->cur_start;
    memmove(a->ops.ops, a->ops.ops + a->cur_start, rest * sizeof *a->ops.ops);
    a->ops.nops = rest;
    a->cur_start = 0;
    a->lazy_cp = false;
    group_forget(a);
    a->submitted++;
    return 0;
}

#ifdef FL_STAGE_TRACE
/* A traced build: each transaction's times until the flush that sent it, written to
 * FL_TRACE_APPLY at that flush, one line a transaction: seq, the applier's last wake-up, apply
 * began, group sent from, sent to, replies read, the group's transactions. */
#define STAGE_RECS 20000
static unsigned long long stage_seq[STAGE_RECS];
static long long stage_began[STAGE_RECS], stage_wake;
static size_t stage_n;

static void stage_apply_began(uint64_t seq)
{
    if (stage_n < STAGE_RECS) {
        stage_seq[stage_n] = seq;
        stage_began[stage_n++] = fl_stage_now();
    }
}

static void stage_flushed(long long sent_from, long long sent_to)
{
    FILE *f = fl_stage_file("FL_TRACE_APPLY");
    if (f && stage_n) {
        long long replied = fl_stage_now();
        for (size_t i = 0; i < stage_n; i++)
            fprintf(f, "%llu %lld %lld %lld %lld %lld %zu\n", stage_seq[i], stage_wake, stage_began[i], sent_from,
                    sent_to, replied, stage_n);
        fflush(f);
    }
    stage_n = 0;
}
#endif

/* Waits for every submitted transaction. Returns 0, or -1 (the target was lost). */
static int flush(applier *a)
{
    a->last_flush_ms = fl_now_ms();
    fl_input_release(a->src); /* the target may take its time */
    FL_STAGE(long long stage_sent_from = fl_stage_now();)
    int failed = send_group(a);
    FL_STAGE(long long stage_sent_to = fl_stage_now();)
    if (!failed) failed = fl_target_flush(a->target, a->err.msg, sizeof a->err.msg);
    FL_STAGE(stage_flushed(stage_sent_from, stage_sent_to);)
    if (failed) {
        char why[1100];
        snprintf(why, sizeof why, "%s", a->err.msg);
        target_lost(a, why);
        return -1;
    }
    if (a->next_seq > a->ahead_until) a->ahead_until = 0;
    if (a->submitted) {
        a->override_active = false;
        a->backoff_ms = BACKOFF_MIN_MS;
        a->failures_in_row = 0;
        a->cautious = false;
    }
    a->nsubmitted_ends = 0;
    a->submitted = 0;
    a->flushed = a->sent;
    metrics_update(a, false);
    return 0;
}

/* ---- one transaction ------------------------------------------------------------------- */

static int submit_ops(applier *a, const fl_checkpoint *cp)
{
    int chunked = 0;
    a->sent.ops += a->ops.nops;
    note_submitted(a, a->cur_cp.seq);
    if (a->ops.nops) a->sent_seq = a->cur_cp.seq;
    if (cp == &a->cur_cp) settle_gtid(&a->cur_cp, &a->cur_gtid);
    if (cp == &a->done_cp) settle_gtid(&a->done_cp, &a->done_gtid);
    if (fl_target_submit(a->target, &a->ops, cp, &chunked, a->err.msg, sizeof a->err.msg)) {
        a->cur_target_failed = 1;
        return -1;
    }
    if (chunked) a->cur_chunked = true;
    a->submitted++;
    fl_cache_ops_reset(&a->ops);
    a->cur_start = 0;
    group_forget(a);
    return 0;
}

/* Leaves out of the operations rendered from index `from` on those the target already holds
 * and, inside a folded range, those a later operation on the same key supersedes. */
static void filter_ops(applier *a, size_t from)
{
    uint64_t seq = a->cur_cp.seq;
    bool folding = a->fold && seq >= a->fold_first && seq <= a->fold_last;
    size_t w = from;
    for (size_t i = from; i < a->ops.nops; i++) {
        const fl_cache_op *op = &a->ops.ops[i];
        uint32_t pos = a->cur_pos++;
        if (foldable(op)) {
            if (fl_target_holds(a->target, op->key, op->key_len, seq)) {
                a->held_dropped++;
                continue;
            }
            if (folding && (!fl_fold_is_last(a->fold, op->key, op->key_len, seq, pos) ||
                            fl_fold_deleted_later(a->fold, op->key, op->key_len, seq, pos))) {
                a->fold_dropped++;
                continue;
            }
        }
        if (w != i) a->ops.ops[w] = *op;
        w++;
    }
    a->ops.nops = w;
}

/* The DEL_MATCH operations rendered from ops[first..]: counted, or, on a target that cannot
 * list its keys (memcached), handled per on_error: stop (returns true with err) or dropped and
 * counted, with the way to recover in the log. */
static bool by_pattern(applier *a, const fl_txn *part, size_t first)
{
    bool can = fl_target_deletes_by_pattern(a->target);
    size_t kept = first;
    for (size_t i = first; i < a->ops.nops; i++) {
        fl_cache_op *op = &a->ops.ops[i];
        if (op->kind != FL_CACHE_DEL_MATCH || can) {
            if (op->kind == FL_CACHE_DEL_MATCH) a->sent.clears++;
            if (kept != i) a->ops.ops[kept] = *op;
            kept++;
            continue;
        }
        char why[900];
        snprintf(why, sizeof why,
                 "%s: memcached cannot list its keys, so the keys of this rule (%.*s) stay in the cache; to "
                 "recover, "
                 "flush every memcached server (flush_all) and start fl-apply with --from-seq %" PRIu64,
                 op->rule ? op->rule : "a rule", (int)(op->key_len > 200 ? 200 : op->key_len), op->key,
                 part->seq + 1);
        if (a->cfg->apply.on_error == FL_ON_ERROR_STOP) {
            snprintf(a->err.msg, sizeof a->err.msg,
                     "%s (with on_error = skip the applier goes on, the keys stale)", why);
            return true;
        }
        log_error("%s (on_error = skip: going on with them)", why);
        a->sent.ddl_failed++;
    }
    a->ops.nops = kept;
    return false;
}

/* Renders one part; submits early chunks when a huge transaction's operations pile up. */
static int on_part(const fl_txn *part, void *ctx)
{
    applier *a = ctx;
    watchdog(a);
    if (a->cur_first) { /* the first part carries the transaction's header */
        a->cur_first = false;
        a->cur_gtid.gtid = part->gtid;
        a->cur_gtid.seq = a->cur_cp.seq;
        a->cur_gtid.pending = true;
        a->cur_cp.ts = part->ts;
    }
    for (uint32_t i = 0; i < part->ntables; i++) {
        if (fl_rules_check_table(a->rules, &part->tables[i], a->err.msg, sizeof a->err.msg)) {
            size_t n = strlen(a->err.msg);
            while (n && a->err.msg[n - 1] == '\n') a->err.msg[--n] = 0;
            if (a->cfg->apply.on_error == FL_ON_ERROR_SKIP) {
                /* (each row the rule cannot render is then skipped, logged and counted) */
                log_error("%s (on_error = skip: its rows are skipped)", a->err.msg);
                continue;
            }
            fprintf(stderr, "%s\n", a->err.msg);
            a->cur_fatal = 2;
            return 1;
        }
    }
    uint64_t skipped = a->ops.rows_skipped, failed = a->ops.rows_failed, statements = a->ops.statements_skipped;
    uint64_t unknown = a->ops.values_unknown, ddl_failed = a->ops.ddl_failed;
    size_t before = a->ops.nops, first_op = before;
    int r = fl_rules_render(a->rules, part, a->cfg->apply.on_error, &a->ops, a->err.msg, sizeof a->err.msg);
    filter_ops(a, before);
    a->sent.rows_skipped += a->ops.rows_skipped - skipped;
    a->sent.rows_failed += a->ops.rows_failed - failed;
    if (a->ops.statements_skipped > statements) a->cur_statements = true;
    a->sent.unknown += a->ops.values_unknown - unknown;
    a->sent.ddl_failed += a->ops.ddl_failed - ddl_failed;
    if (r == 0 && by_pattern(a, part, first_op)) {
        a->cur_fatal = 1;
        return 1;
    }
    if (r) {
        a->cur_fatal = 1;
        return 1;
    }
    uint32_t max = a->cfg->apply.max_atomic_ops;
    if (!(part->flags & FL_TXN_LAST_PART) && max && a->ops.nops - a->cur_start > max) {
        /* The operations so far go out now, carrying the previous checkpoint: a crash
         * before the last chunk re-applies the whole transaction. The group before it goes
         * first, on its own. */
        if (send_group_before_current(a, true)) {
            a->cur_target_failed = 1;
            return 1;
        }
        a->lazy_cp = false;
        a->cur_chunked = true;
        if (submit_ops(a, &a->done_cp)) return 1;
    }
    return 0;
}

/* The bytes an operation puts into a group. */
static size_t op_bytes(const fl_cache_op *op)
{
    size_t n = op->key_len + op->value_len;
    for (uint32_t i = 0; i < op->nfields; i++) n += op->fields[i].name_len + op->fields[i].value_len;
    return n;
}

/* Whether the transaction just rendered (ops[cur_start..]) joins the group held back (1: it
 * is held, with nothing sent) or goes out now (0: the caller submits ops, with the group
 * before it when that stays one atomic unit; an earlier group that does not was sent here).
 * Returns -1 with err when sending failed. */
static int group_decision(applier *a)
{
    uint32_t max = a->cfg->apply.max_atomic_ops;
    size_t bytes = 0;
    bool by_pattern = false;
    for (size_t i = a->cur_start; i < a->ops.nops; i++) {
        bytes += op_bytes(&a->ops.ops[i]);
        by_pattern |= a->ops.ops[i].kind == FL_CACHE_DEL_MATCH;
    }
    size_t nops = a->ops.nops - a->cur_start;
    fl_group_size group = {a->cur_start, a->group_bytes, a->cur_start}, txn = {nops, bytes, nops};
    size_t joined_unit_ops = a->cur_start + nops;
    bool units = fl_target_has_units(a->target);
    if (units) {
        if (!a->group_units) {
            a->group_units = fl_xcalloc(1, sizeof *a->group_units);
            a->txn_units = fl_xcalloc(1, sizeof *a->txn_units);
        }
        fl_group_units_clear(a->txn_units);
        for (size_t i = a->cur_start; i < a->ops.nops; i++)
            fl_group_units_add(a->txn_units,
                               fl_target_atomic_unit(a->target, a->ops.ops[i].key, a->ops.ops[i].key_len));
        group.unit_ops = a->group_units->largest;
        txn.unit_ops = a->txn_units->largest;
        joined_unit_ops = fl_group_units_joined(a->group_units, a->txn_units);
    }
    uint64_t seq = a->cur_cp.seq;
    fl_group_mode mode = FL_GROUP_NORMAL;
    if (a->cur_chunked || by_pattern || a->cautious || seq <= a->ungrouped_until)
        mode = FL_GROUP_ALONE;
    else if (a->fold && seq >= a->fold_first && seq < a->fold_last)
        mode = FL_GROUP_WHOLE;
    fl_group_step step = fl_group_next(group, txn, joined_unit_ops, mode, max,
                                       a->submitted, /* (0 after a flush) */
                                       fl_target_group_caps(a->target));
    if (step.send_group_first && send_group_before_current(a, false)) return -1;
    a->group_bytes += bytes;
    if (units) fl_group_units_join(a->group_units, a->txn_units);
    return step.hold;
}

/* Applies transaction seq. Returns 0, -1 when the target or the source failed (retry), or
 * an exit status > 0. */
static int apply_one(applier *a, uint64_t seq)
{
    find_failed_group(a, seq);
    memset(&a->cur_cp, 0, sizeof a->cur_cp);
    a->cur_gtid.pending = false;
    a->cur_cp.seq = seq;
    a->cur_pos = 0;
    memcpy(a->cur_cp.journal, a->journal_id, sizeof a->cur_cp.journal);
    a->cur_chunked = false;
    a->cur_statements = false;
    a->cur_first = true;
    a->cur_fatal = 0;
    a->cur_target_failed = 0;
    if (!a->lazy_cp) fl_cache_ops_reset(&a->ops);
    a->cur_start = a->ops.nops; /* after the group's operations */
    int r = fl_input_read(a->src, seq, on_part, a, &a->err);
    if (r != 0 || a->cur_fatal) a->ops.nops = a->cur_start; /* the group, without this one's part */
    if (a->cur_target_failed || (r < 0 && !a->err.permanent)) {
        char why[1100];
        snprintf(why, sizeof why, "%s", a->err.msg);
        target_lost(a, why); /* also after a source failure: resume from the checkpoint */
        return -1;
    }
    if (a->cur_fatal == 2) return 2;
    if (a->cur_fatal == 1) {
        log_error("stopped at seq %" PRIu64 ": %s", seq, a->err.msg);
        return 1;
    }
    if (r != 0) {
        fl_input_head info;
        if (r == 1 && fl_input_bounds(a->src, &info, &a->err) == 0 && seq <= info.purged_seq) {
            char lost[256];
            snprintf(lost, sizeof lost, "journal %s: seq %" PRIu64 " was purged by retention while it was read",
                     fl_input_name(a->src), seq);
            return stop_purged(a, lost);
        }
        log_error("seq %" PRIu64 ": %s", seq, r < 0 ? a->err.msg : "transaction disappeared while reading");
        return 1;
    }
    int hold = group_decision(a);
    if (hold < 0 || (hold == 0 && submit_ops(a, &a->cur_cp))) {
        char why[1100];
        snprintf(why, sizeof why, "%s", a->err.msg);
        target_lost(a, why);
        return -1;
    }
    a->done_cp = a->cur_cp;
    a->done_gtid = a->cur_gtid;
    a->lazy_cp = hold == 1;
    a->sent.txns++;
    if (a->cur_statements) a->sent.statements++;
    if (a->cautious && flush(a)) return -1; /* retried alone until it is applied */
    if (a->cur_chunked) {
        a->sent.chunked++;
        settle_gtid(&a->cur_cp, &a->cur_gtid);
        log_info("transaction seq %" PRIu64 " (gtid %s) exceeded max_atomic_ops = %u and was applied in chunks",
                 seq, a->cur_cp.gtid[0] ? a->cur_cp.gtid : "-", a->cfg->apply.max_atomic_ops);
    }
    a->next_seq = seq + 1;
    if (a->fold && a->next_seq > a->fold_last) fold_end(a, true);
    return 0;
}

/* ---- setup ----------------------------------------------------------------------------- */

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Resolves --from-gtid / --from-seq to a seq. Returns 0 or an exit status. */
static int resolve_override(applier *a)
{
    const fl_apply_opts *o = a->opts;
    if (o->from_gtid) {
        fl_gtid g;
        if (fl_gtid_parse(&g, o->from_gtid, strlen(o->from_gtid)))
            return fl_cli_usage_error("fl-apply", "--from-gtid %s: not a GTID (domain-server-seq or uuid:n)",
                                      o->from_gtid);
        int r = fl_input_seek_gtid(a->src, o->from_gtid, &a->override_seq, &a->err);
        if (r < 0) {
            fprintf(stderr, "fl-apply: --from-gtid %s: %s\n", o->from_gtid, a->err.msg);
            return 1;
        }
        if (r == 1) {
            fl_input_head info;
            if (fl_input_bounds(a->src, &info, &a->err) || !info.first_seq)
                fprintf(stderr, "fl-apply: --from-gtid %s: no such transaction in %s (it is empty)\n",
                        o->from_gtid, fl_input_name(a->src));
            else
                fprintf(stderr,
                        "fl-apply: --from-gtid %s: no such transaction in %s (it holds seqs %" PRIu64
                        " to %" PRIu64 "%s%s; fl-dump lists them)\n",
                        o->from_gtid, fl_input_name(a->src), info.first_seq, info.last_seq,
                        info.last_gtid[0] ? ", the last GTID " : "", info.last_gtid);
            return 1;
        }
        a->override_active = true;
    } else if (o->has_from_seq) {
        fl_input_head info;
        if (fl_input_bounds(a->src, &info, &a->err)) {
            fprintf(stderr, "fl-apply: --from-seq %" PRIu64 ": %s\n", o->from_seq, a->err.msg);
            return 1;
        }
        if (o->from_seq <= info.purged_seq) {
            fprintf(stderr,
                    "fl-apply: --from-seq %" PRIu64 ": purged; the journal holds seqs %" PRIu64 " to %" PRIu64
                    "\n",
                    o->from_seq, info.first_seq, info.last_seq);
            return 1;
        }
        a->override_seq = o->from_seq ? o->from_seq : 1;
        a->override_active = true;
    }
    if (a->override_active) log_info("replaying from seq %" PRIu64, a->override_seq);
    return 0;
}

/* Opens the input. With wait, a local journal that does not exist yet, or that the relay is
 * still creating, is waited for (said once in the log; the service counts as started and
 * keeps its watchdog fed meanwhile). Returns 0 (a->src is NULL when a stop signal ended the
 * wait) or an exit status. */
static int open_common(applier *a, const fl_config *cfg, bool wait)
{
    memset(a, 0, sizeof *a);
    a->cfg = cfg;
    a->backoff_ms = BACKOFF_MIN_MS;
    a->src_local = cfg->apply.relay == NULL;
    bool absent = false, waited = false;
    while (!(a->src = fl_input_open(&cfg->apply, &absent, a->err.msg, sizeof a->err.msg))) {
        if (!wait || !absent) {
            fprintf(stderr, "%s\n", a->err.msg);
            return 1;
        }
        if (!waited) {
            waited = true;
            install_signals();
            log_info("journal %s does not exist yet or is being created (%s); waiting for fl-relay",
                     cfg->apply.journal, a->err.msg);
            sd_notifyf(0, "READY=1\nSTATUS=waiting for the journal %s", cfg->apply.journal);
        }
        if (stop_signal) return 0;
        sd_notify(0, "WATCHDOG=1");
        poll(NULL, 0, JOURNAL_WAIT_MS);
    }
    if (waited) log_info("journal %s is there", cfg->apply.journal);
    return 0;
}

static void close_common(applier *a)
{
    fold_end(a, false);
    fl_rebuild_free(a->rb);
    fl_target_close(a->target);
    fl_rules_free(a->rules);
    fl_cache_ops_free(&a->ops);
    free(a->submitted_ends);
    free(a->group_units);
    free(a->txn_units);
    fl_input_close(a->src);
}

/* Retention purged what the running applier had still to apply: the target is opened again,
 * so that the checkpoint is read back and the cache rebuilt from it. Everything submitted was
 * flushed before. */
static void rebuild_after_purge(applier *a, const char *why)
{
    log_warn("%s; rebuilding the cache", why);
    drop_target(a);
}

/* Whether the source now names another journal than the one the checkpoint was placed in
 * (a relay restarted on a new journal): then flushes and places the checkpoint anew. */
static bool journal_changed(applier *a)
{
    const char *now = fl_input_identity(a->src);
    if (!a->journal_id[0] || !now[0] || !strcmp(now, a->journal_id)) return false;
    if (flush(a)) return true; /* reconnecting places the checkpoint anyway */
    char why[300];
    snprintf(why, sizeof why, "%s now serves journal %s, not %s", fl_input_name(a->src), now, a->journal_id);
    reposition(a, why);
    return true;
}

/* Sleeps until the source may have something new, a stop signal, or a time slice passes. */
static void wait_source(applier *a)
{
    int slice = WAIT_SLICE_MS;
    if (a->watchdog_ms && (int)(a->watchdog_ms / 2) < slice) slice = (int)(a->watchdog_ms / 2);
    fl_input_wait(a->src, a->next_seq, slice);
    FL_STAGE(stage_wake = fl_stage_now();)
    watchdog(a);
}

/* A source failure: fatal when retrying cannot help, else retried (with --once, a few
 * times only: a batch run should end rather than wait for a relay that is gone). */
static int source_failed(applier *a)
{
    if (a->err.permanent || (a->opts->once && a->once_retries++ >= ONCE_RETRIES)) {
        log_error("%s", a->err.msg);
        return 1;
    }
    log_warn("%s; retrying in %d ms", a->err.msg, a->backoff_ms);
    sd_notifyf(0, "STATUS=source unavailable: %s", a->err.msg);
    a->retries++;
    nap(a, a->backoff_ms);
    a->backoff_ms = a->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : a->backoff_ms * 2;
    return 0;
}

int fl_apply_run(const fl_config *cfg, const fl_apply_opts *opts)
{
    applier a;
    int rc = open_common(&a, cfg, !opts->once);
    if (rc || !a.src) {
        close_common(&a);
        return rc;
    }
    a.opts = opts;
    char *errors = NULL;
    a.rules = fl_rules_new(cfg, &errors);
    if (a.rules && fl_schema_check_rules(a.rules, cfg, &errors)) {
        /* Reported, never a refusal to start: the journal may still hold a table's changes
         * from before the DROP or ALTER that made a rule stale (and the DDL that clears its
         * keys); a start refused for that would be refused again at every restart. Each
         * table's changes meet the same check when they arrive, and follow on_error there. */
        for (char *line = errors, *end; line && *line; line = end) {
            end = strchr(line, '\n');
            if (end) *end++ = 0;
            if (*line) log_error("%s (checked against the source's schema at start)", line);
        }
        log_warn("going on: each table is checked again when its changes arrive, and on_error decides there");
        free(errors);
        errors = NULL;
    }
    if (!a.rules) {
        fprintf(stderr, "%s", errors ? errors : "rules: invalid\n");
        free(errors);
        close_common(&a);
        return 2;
    }
    fl_cache_ops_init(&a.ops);
    install_signals();
    uint64_t wd = 0;
    if (sd_watchdog_enabled(0, &wd) > 0) a.watchdog_ms = wd / 1000;
    rc = resolve_override(&a);
    if (rc) {
        close_common(&a);
        return rc;
    }
    if (opts->once) {
        fl_input_head head;
        if (fl_input_bounds(a.src, &head, &a.err) == 0) a.once_head = head.last_seq;
    }
    metrics_init(&a);
    if (cfg->metrics.apply && fl_metrics_serve(cfg->metrics.apply, a.err.msg, sizeof a.err.msg) < 0) {
        fprintf(stderr, "metrics: %s\n", a.err.msg);
        close_common(&a);
        return 1;
    }
    sd_notify(0, "READY=1\nSTATUS=connecting to the target");
    log_info("applier %s: %s %s, %zu rules", cfg->apply.name, a.src_local ? "journal" : "relay",
             fl_input_name(a.src), fl_rules_count(a.rules));
    a.last_flush_ms = a.last_report_ms = fl_now_ms();

    rc = 0;
    while (!stop_signal) {
        if (!a.target) {
            int r = connect_target(&a);
            if (r < 0) break;
            if (r > 0) {
                rc = r;
                break;
            }
        }
        uint64_t seq;
        int r = fl_input_next(a.src, a.next_seq, &seq, &a.err);
        if ((r == 0 || r == 1) && journal_changed(&a)) continue; /* a relay restarted on another journal */
        if (r == 1) {                                            /* caught up */
            if (flush(&a)) continue;
            metrics_update(&a, a.flushed.txns != a.m.last.txns || a.retries != a.m.last_retries);
            report(&a, false);
            if (opts->once) break;
            fl_input_arm(a.src); /* a commit after this ends the wait below at once */
            r = fl_input_next(a.src, a.next_seq, &seq, &a.err);
            if (r == 1) {
                wait_source(&a);
                continue;
            }
        }
        if (r == FL_INPUT_REPLACED) {
            if (flush(&a)) continue; /* what the old journal gave is applied and checkpointed */
            reposition(&a, a.err.msg);
            continue;
        }
        if (r == FL_INPUT_PURGED) {
            if (flush(&a)) continue; /* keep what was applied; the gap is found again after it */
            if (cfg->apply.rebuild) {
                rebuild_after_purge(&a, a.err.msg);
                continue;
            }
            rc = stop_purged(&a, a.err.msg);
            break;
        }
        if (r < 0) {
            if (flush(&a)) continue; /* keep what was applied */
            if ((rc = source_failed(&a)) != 0) break;
            continue;
        }
        if (opts->once && a.once_head && seq > a.once_head) { /* what was there at start is applied */
            if (flush(&a)) continue;
            break;
        }
        FL_STAGE(stage_apply_began(seq);)
        r = apply_one(&a, seq);
        if (r < 0) continue; /* logged; connect_target backs off before reconnecting */
        if (r > 0) {
            rc = r;
            break;
        }
        int64_t now = fl_coarse_now_ms(); /* (one clock read a transaction) */
        if (now - a.last_flush_ms >= FLUSH_EVERY_MS && flush(&a)) continue;
        if (now - a.last_report_ms >= REPORT_EVERY_MS) report(&a, false);
        watchdog(&a);
    }
    if (a.target) {
        /* finish what is in flight (also before a rule error: the checkpoint stays exact) */
        if (!flush(&a) && rc == 0 && opts->once)
            log_info("caught up at seq %" PRIu64 "; exiting (--once)", a.done_cp.seq);
    }
    if (stop_signal) {
        sd_notify(0, "STOPPING=1");
        log_info("stopping on signal %d", (int)stop_signal);
    }
    report(&a, true);
    metrics_update(&a, true);
    if (cfg->metrics.apply) fl_metrics_shutdown();
    close_common(&a);
    return rc;
}

/* ---- --status -------------------------------------------------------------------------- */

typedef struct statement_count {
    fl_rules *rules;
    uint64_t n, last_seq;
} statement_count;

static int count_statement_part(const fl_txn *part, void *ctx)
{
    statement_count *sc = ctx;
    if (part->seq == sc->last_seq) return 0; /* counted in an earlier part */
    for (uint32_t i = 0; i < part->nchanges; i++)
        if (fl_rules_statement_applies(sc->rules, &part->changes[i])) {
            sc->n++;
            sc->last_seq = part->seq;
            break;
        }
    return 0;
}

/* Statement-based transactions with changes of rule tables in seq [from, to] of the journal:
 * the ones an applier with on_error = skip left out. Returns 0 or -1 with err. */
static int count_statements(fl_input *src, const fl_config *cfg, uint64_t from, uint64_t to, uint64_t *n,
                            char *err, size_t errlen)
{
    char *errors = NULL;
    statement_count sc = {.rules = fl_rules_new(cfg, &errors)};
    *n = 0;
    if (!sc.rules) {
        snprintf(err, errlen, "%s", errors ? errors : "rules: invalid");
        free(errors);
        return -1;
    }
    fl_error e;
    int r = from && to >= from
                ? fl_input_scan_flagged(src, from, to, FL_TXN_STATEMENT, count_statement_part, &sc, &e)
                : 0;
    if (r < 0) snprintf(err, errlen, "%s", e.msg);
    fl_rules_free(sc.rules);
    *n = sc.n;
    return r ? -1 : 0;
}

int fl_apply_not_applied(const fl_config *cfg, uint64_t *n, uint64_t *first_seq, char *err, size_t errlen)
{
    *n = *first_seq = 0;
    fl_input *src = fl_input_open(&cfg->apply, NULL, err, errlen);
    if (!src) return -1;
    fl_input_head info;
    int rc = -1;
    fl_checkpoint cp = {0};
    fl_target *t = NULL;
    fl_error e;
    if (fl_input_bounds(src, &info, &e)) {
        snprintf(err, errlen, "%s", e.msg);
        goto out;
    }
    t = fl_target_open(&cfg->apply, &e);
    if (!t) snprintf(err, errlen, "%s", e.msg);
    int r = t ? fl_target_read_checkpoint(t, &cp, err, errlen) : -1;
    if (r < 0) goto out;
    *first_seq = info.first_seq;
    rc = r == 0 ? count_statements(src, cfg, info.first_seq, cp.seq, n, err, errlen) : 0;
out:
    fl_target_close(t);
    fl_input_close(src);
    return rc;
}

int fl_apply_status(const fl_config *cfg, FILE *out)
{
    applier a;
    int rc = open_common(&a, cfg, false);
    if (rc) {
        close_common(&a);
        return rc;
    }
    fl_input_head info;
    if (fl_input_bounds(a.src, &info, &a.err)) {
        fprintf(stderr, "%s\n", a.err.msg);
        close_common(&a);
        return 1;
    }
    a.target = fl_target_open(&cfg->apply, &a.err);
    fl_checkpoint cp = {0};
    int r = a.target ? fl_target_read_checkpoint(a.target, &cp, a.err.msg, sizeof a.err.msg) : -1;
    char err[sizeof a.err.msg];
    memcpy(err, a.err.msg, sizeof err);
    bool lag_known = r >= 0;
    uint64_t applied = info.first_seq ? info.first_seq - 1 : 0; /* no checkpoint: none applied */
    if (r < 0) {
        fprintf(out, "checkpoint: unavailable\n");
    } else if (r == 1 || cp.seq == 0) {
        fprintf(out, "checkpoint: none\n");
    } else {
        char cwhen[64];
        fmt_time(cp.ts, cwhen, sizeof cwhen);
        fprintf(out, "checkpoint: seq %" PRIu64 ", gtid %s, time %s, ", cp.seq, cp.gtid[0] ? cp.gtid : "-", cwhen);
        applied = cp.seq;
        uint64_t found;
        if (!cp.journal[0]) {
            fprintf(out, "journal not named (written by an earlier version: taken as this journal)\n");
        } else if (checkpoint_is_ours(&cp, info.identity)) {
            fprintf(out, "journal %s (%s)\n", cp.journal,
                    info.identity[0] ? "this journal"
                                     : "not checked: "
                                       "the journal has no identity");
        } else if (foreign_position(&a, &cp, &found) == 0) {
            fprintf(out,
                    "journal %s (another journal; its GTID is seq %" PRIu64 " in this one, where "
                    "fl-apply resumes)\n",
                    cp.journal, found);
            applied = found;
        } else if (cp.gtid[0] && gtid_still_ahead(cp.gtid, info.last_gtid, info.last_seq)) {
            fprintf(out, "journal %s (another journal, which does not hold its GTID yet: fl-apply waits for it)\n",
                    cp.journal);
            lag_known = false;
        } else {
            fprintf(out, "journal %s (another journal, which does not hold its GTID: fl-apply %s)\n", cp.journal,
                    cfg->apply.rebuild ? "rebuilds the cache from the journal's snapshots, or stops" : "stops");
            lag_known = false;
        }
    }
    char when[64];
    fmt_time(info.last_ts, when, sizeof when);
    if (info.last_seq)
        fprintf(out, "journal:    last seq %" PRIu64 ", gtid %s, time %s (first seq %" PRIu64 "), ", info.last_seq,
                info.last_gtid[0] ? info.last_gtid : "-", when, info.first_seq);
    else
        fprintf(out, "journal:    empty, ");
    if (info.identity[0])
        fprintf(out, "identity %s\n", info.identity);
    else
        fprintf(out, "%s\n",
                a.src_local ? "no identity (made by an earlier version)" : "identity not told by the relay");
    if (r < 0) {
        fprintf(stderr, "%s\n", err);
        rc = 1;
    } else if (lag_known) {
        uint64_t lag = info.last_seq > applied ? info.last_seq - applied : 0;
        uint64_t lag_s = lag && cp.ts && info.last_ts > cp.ts ? info.last_ts - cp.ts : 0;
        fprintf(out, "lag:        %" PRIu64 " transactions, %" PRIu64 " s\n", lag, lag_s);
        uint64_t skipped = 0;
        if (r == 0 &&
            count_statements(a.src, cfg, info.first_seq, cp.seq, &skipped, a.err.msg, sizeof a.err.msg) == 0)
            fprintf(out,
                    "not applied: %" PRIu64 " statement-based transactions (journal seq %" PRIu64
                    " to the checkpoint)\n",
                    skipped, info.first_seq);
        else if (r == 0)
            fprintf(out, "not applied: unknown (%s)\n", a.err.msg);
    } else {
        fprintf(out, "lag:        unknown (the checkpoint is no position in this journal)\n");
    }
    close_common(&a);
    return rc;
}
