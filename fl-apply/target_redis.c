/* target_redis.c — the Redis target: each source transaction becomes one MULTI/EXEC block
 * that also writes the applier's checkpoint hash, pipelined.
 *
 * The connection (fl-apply/redis_conn.h: connect, AUTH, SELECT, every byte in and out)
 * parses replies; the commands are formatted here as RESP into one output buffer, and the
 * connection is driven so that writing requests and reading replies overlap: many
 * transactions are in flight at once. Every
 * block pushed to the buffer leaves an expectation in a queue, and replies are matched
 * against that queue in order: MULTI answers +OK, each command +QUEUED, EXEC an array with
 * one element per command, none of which may be an error. Any error reply, or a lost
 * connection, makes submit/flush fail; the applier then reconnects and resumes after the
 * checkpoint it reads back, which the failed block never wrote.
 *
 * The checkpoint chain. Redis refuses a command while queuing it (OOM, NOPERM, MISCONF,
 * BUSY) by aborting that EXEC only: the blocks pipelined behind it still run. So that none
 * of them can write a checkpoint past the refused one, every block ends with a script
 * (loaded at connect, run by EVALSHA inside the MULTI) that writes the checkpoint only when
 * the hash's `chain` field holds the value the previous block left, and advances it. After
 * a refused block every later checkpoint write fails, the checkpoint stays right before the
 * refused transaction, and the applier resumes there. The chain also stops a block left in
 * Redis's input buffer by a dead connection from moving the checkpoint; the fence
 * (redis_fence: the previous connection of this applier, named fastlane-apply:NAME and
 * recorded in the hash's `client` field with every checkpoint, is killed before the
 * checkpoint is read) keeps its data from running at all. Before fencing, the applier claims
 * the lease fastlane:applier:NAME (fl-apply/applier_lease.h, renewed at flush): a second
 * applier of the same name stops instead of ending the first one's connection.
 *
 * What is submitted at once may be several source transactions (fl-apply/apply.c groups
 * them while catching up): their operations are one MULTI/EXEC all the same, consecutive SETs
 * without a TTL merged into MSET and consecutive DELs into one DEL (fl-apply/resp.h).
 *
 * A transaction with more than max_atomic_ops operations is sent as ordered MULTI/EXEC
 * chunks, each advancing the chain, the checkpoint only in the last. A transaction without
 * operations is just the checkpoint script (a single command is atomic by itself). The
 * checkpoint hash holds seq, gtid, ts and journal (the identity of the journal seq is in),
 * chain, client, and fold_until: the latest transaction ever checkpointed, above seq while a
 * replay from below it is being applied, so that a restart in the middle still folds the
 * rest of the replay (fl_checkpoint.fold_until) instead of moving keys backwards. */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/log.h"
#include "common/error.h"
#include "fl-apply/applier_lease.h"
#include "fl-apply/redis_conn.h"
#include "fl-apply/resp.h"
#include "fl-apply/target_impl.h"

#define RT_MAX_IN_FLIGHT 1000        /* transactions sent and not yet acknowledged */
#define RT_MAX_UNSENT (8u << 20)     /* bytes formatted and not yet written */
#define RT_WRITE_EAGERLY (64u << 10) /* start writing once this much is formatted */
#define RT_CHECKPOINT_PREFIX "fastlane:checkpoint:"

/* Writes the checkpoint fields ARGV[3..] and chain = ARGV[2] when chain is ARGV[1]. */
static const char chain_script[] = "local cur = redis.call('HGET', KEYS[1], 'chain') or '0'\n"
                                   "if cur ~= ARGV[1] then\n"
                                   "  return redis.error_reply('FLCHAIN checkpoint chain is at ' .. cur .. ', not "
                                   "' .. ARGV[1])\n"
                                   "end\n"
                                   "redis.call('HSET', KEYS[1], 'chain', ARGV[2], unpack(ARGV, 3))\n"
                                   "return 1\n";

/* What the replies to one pushed block must look like. */
typedef struct rt_block {
    uint64_t seq;     /* transaction it belongs to (for messages) */
    uint32_t ncmds;   /* commands between MULTI and EXEC, or plain commands */
    uint8_t multi;    /* MULTI ... EXEC, else ncmds plain commands */
    uint8_t ends_txn; /* the last block of its transaction */
} rt_block;

typedef struct redis_target {
    fl_redis_conn *conn;
    char *ckey; /* fastlane:checkpoint:NAME */
    size_t ckey_len;
    fl_applier_lease lease; /* fastlane:applier:NAME, and the connection's name fastlane-apply:NAME */
    uint32_t max_atomic_ops;
    char chain_sha[41]; /* SHA1 of chain_script, loaded at connect */
    char client_id[24]; /* this connection's CLIENT ID ("" before the fence) */
    uint64_t chain;     /* the chain value the next block expects */
    uint64_t shown;     /* the latest transaction the cache may show (fold_until) */
    bool chain_known;   /* read from the server this session */

    fl_buf out; /* RESP formatted, out.data[sent..len) not yet written */
    size_t sent;

    rt_block *q; /* ring of expectations */
    size_t qcap, qhead, qlen;
    uint32_t stage;      /* replies of the head block already consumed */
    char queue_err[256]; /* an error reply to a queued command (EXEC then aborts) */
    uint32_t txns;       /* transactions in the ring */

    /* the keys of the current transaction's DEL_MATCH operations, as DEL commands */
    fl_buf matched;
    struct rt_match {
        size_t op, off, len; /* operation index; its commands in matched */
        uint32_t ncmds;
    } * match;
    size_t nmatch, match_cap;
} redis_target;

/* ---- expectation queue ----------------------------------------------------------------- */

static void queue_push(redis_target *rt, uint64_t seq, uint32_t ncmds, bool multi, bool ends_txn)
{
    if (rt->qlen == rt->qcap) {
        size_t ncap = rt->qcap ? rt->qcap * 2 : 256;
        rt_block *nq = fl_xmalloc(ncap * sizeof *nq);
        for (size_t i = 0; i < rt->qlen; i++) nq[i] = rt->q[(rt->qhead + i) % rt->qcap];
        free(rt->q);
        rt->q = nq;
        rt->qcap = ncap;
        rt->qhead = 0;
    }
    rt_block *b = &rt->q[(rt->qhead + rt->qlen) % rt->qcap];
    b->seq = seq;
    b->ncmds = ncmds;
    b->multi = multi;
    b->ends_txn = ends_txn;
    rt->qlen++;
    if (ends_txn) rt->txns++;
}

static void queue_pop(redis_target *rt)
{
    rt_block *b = &rt->q[rt->qhead];
    if (b->ends_txn) rt->txns--;
    rt->qhead = (rt->qhead + 1) % rt->qcap;
    rt->qlen--;
    rt->stage = 0;
    rt->queue_err[0] = 0;
}

static void copy_reply_text(char *dst, size_t dstlen, const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING)
        snprintf(dst, dstlen, "%.*s", (int)(r->len > 200 ? 200 : r->len), r->str);
    else
        snprintf(dst, dstlen, "unexpected reply type %d", r->type);
}

static bool is_status(const redisReply *r, const char *text)
{
    return r->type == REDIS_REPLY_STATUS && r->len == strlen(text) && !memcmp(r->str, text, r->len);
}

/* What the operator can do about an error reply, from its code; "" when nothing specific. */
static const char *advice_for(const char *text)
{
    static const struct {
        const char *code, *advice;
    } advice[] = {
        {"OOM", "Redis is at maxmemory: raise maxmemory or choose a volatile-* eviction policy"},
        {"NOPERM",
         "grant the ACL user the key pattern of every rule and of fastlane:checkpoint:* "
         "(ACL SETUSER USER ~PATTERN), and the commands SET, MSET, DEL, HSET, EXPIRE, EVAL, EVALSHA, SCRIPT"},
        {"MISCONF", "Redis refuses writes because it cannot save: fix its dir or disk, or its "
                    "stop-writes-on-bgsave-error setting"},
        {"BUSY", "a script keeps Redis busy: SCRIPT KILL or FUNCTION KILL ends it"},
        {"READONLY", "the target is a replica: point the target at the primary"},
        {"NOSCRIPT", "the script cache was flushed: it is loaded again at reconnect"},
        {"FLCHAIN", "a block before this one was not applied, or another writer (a second fl-apply "
                    "with the same name?) moved the checkpoint: resuming from the checkpoint"},
    };
    for (size_t i = 0; i < sizeof advice / sizeof *advice; i++) {
        size_t n = strlen(advice[i].code);
        if (!strncmp(text, advice[i].code, n) && (text[n] == ' ' || text[n] == 0)) return advice[i].advice;
    }
    return "";
}

/* err = "redis: transaction seq N: WHAT: TEXT (advice)". */
static void block_error(char *err, size_t errlen, uint64_t seq, const char *what, const char *text)
{
    const char *advice = advice_for(text);
    const char *sep = what[0] ? ": " : "";
    if (advice[0])
        snprintf(err, errlen, "redis: transaction seq %" PRIu64 ": %s%s%s (%s)", seq, what, sep, text, advice);
    else
        snprintf(err, errlen, "redis: transaction seq %" PRIu64 ": %s%s%s", seq, what, sep, text);
}

/* Matches one reply with the head of the queue. Returns 0, or -1 with err. */
static int check_reply(redis_target *rt, redisReply *r, char *err, size_t errlen)
{
    if (rt->qlen == 0) {
        snprintf(err, errlen, "redis: a reply nothing was waiting for");
        return -1;
    }
    rt_block *b = &rt->q[rt->qhead];
    char text[256], what[64];
    if (!b->multi) {
        if (r->type == REDIS_REPLY_ERROR) {
            copy_reply_text(text, sizeof text, r);
            block_error(err, errlen, b->seq, "", text);
            return -1;
        }
        if (++rt->stage == b->ncmds) queue_pop(rt);
        return 0;
    }
    if (rt->stage == 0) { /* MULTI */
        if (!is_status(r, "OK")) {
            copy_reply_text(text, sizeof text, r);
            block_error(err, errlen, b->seq, "MULTI", text);
            return -1;
        }
        rt->stage++;
        return 0;
    }
    if (rt->stage <= b->ncmds) { /* a queued command */
        if (!is_status(r, "QUEUED") && !rt->queue_err[0]) {
            copy_reply_text(rt->queue_err, sizeof rt->queue_err, r);
            if (!rt->queue_err[0]) snprintf(rt->queue_err, sizeof rt->queue_err, "not queued");
        }
        rt->stage++;
        return 0;
    }
    /* EXEC */
    if (rt->queue_err[0]) {
        block_error(err, errlen, b->seq, "command refused", rt->queue_err);
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        copy_reply_text(text, sizeof text, r);
        block_error(err, errlen, b->seq, "EXEC", r->type == REDIS_REPLY_NIL ? "aborted" : text);
        return -1;
    }
    if (r->elements != b->ncmds) {
        snprintf(err, errlen, "redis: transaction seq %" PRIu64 ": EXEC returned %zu results for %u commands",
                 b->seq, r->elements, b->ncmds);
        return -1;
    }
    for (size_t i = 0; i < r->elements; i++) {
        if (r->element[i]->type == REDIS_REPLY_ERROR) {
            copy_reply_text(text, sizeof text, r->element[i]);
            snprintf(what, sizeof what, "command %zu of %u failed", i + 1, b->ncmds);
            block_error(err, errlen, b->seq, what, text);
            return -1;
        }
    }
    queue_pop(rt);
    return 0;
}

/* ---- I/O (through fl-apply/redis_conn.h) ---------------------------------------------- */

/* Reads what has arrived and checks every complete reply.
 * Returns 0, or -1 with err (connection lost or an error reply). */
static int read_replies(redis_target *rt, char *err, size_t errlen)
{
    fl_error e;
    if (fl_redis_conn_receive(rt->conn, &e) < 0) return fl_errorf(err, errlen, "%s", e.msg);
    for (;;) {
        redisReply *reply;
        int got = fl_redis_conn_next_reply(rt->conn, &reply, &e);
        if (got < 0) return fl_errorf(err, errlen, "%s", e.msg);
        if (!got) return 0;
        int rc = check_reply(rt, reply, err, errlen);
        freeReplyObject(reply);
        if (rc) return -1;
    }
}

static int write_some(redis_target *rt, char *err, size_t errlen)
{
    fl_error e;
    ssize_t n = fl_redis_conn_send(rt->conn, rt->out.data + rt->sent, rt->out.len - rt->sent, &e);
    if (n < 0) return fl_errorf(err, errlen, "%s", e.msg);
    rt->sent += (size_t)n;
    if (rt->sent == rt->out.len) {
        fl_buf_reset(&rt->out);
        rt->sent = 0;
    }
    return 0;
}

/* Drives the connection. wait = false: does what can be done now and returns. wait = true:
 * returns once everything is written and at most max_txns transactions await replies.
 * Returns 0, or -1 with err. */
static int pump(redis_target *rt, uint32_t max_txns, bool wait, char *err, size_t errlen)
{
    /* the socket almost always has room: write at once rather than ask poll first */
    if (rt->sent < rt->out.len && write_some(rt, err, errlen)) return -1;
    for (;;) {
        bool unsent = rt->sent < rt->out.len;
        if (wait && !unsent && rt->txns <= max_txns && !(max_txns == 0 && rt->qlen)) return 0;
        fl_error e;
        int ready = fl_redis_conn_wait(rt->conn, unsent, wait ? FL_REDIS_IO_TIMEOUT_MS : 0, &e);
        if (ready < 0) return fl_errorf(err, errlen, "%s", e.msg);
        if (ready == 0) {
            if (!wait) return 0;
            return fl_errorf(err, errlen, "redis: no reply within %d s", FL_REDIS_IO_TIMEOUT_MS / 1000);
        }
        if (ready & FL_REDIS_READABLE)
            if (read_replies(rt, err, errlen)) return -1;
        if (ready & FL_REDIS_WRITABLE)
            if (write_some(rt, err, errlen)) return -1;
        if (!wait) return 0;
    }
}

/* One command outside the pipeline (connection setup, checkpoint read): the pipeline must
 * be empty. Returns the reply (caller frees) or NULL with err. */
static redisReply *call(redis_target *rt, int argc, const char **argv, const size_t *lens, char *err,
                        size_t errlen)
{
    fl_error e;
    redisReply *r = fl_redis_conn_command(rt->conn, argc, argv, lens, &e);
    if (!r) snprintf(err, errlen, "%s", e.msg);
    return r;
}

/* call() with up to 8 text arguments, NULL-terminated. */
static redisReply *call_text(redis_target *rt, char *err, size_t errlen, const char *arg0, ...)
{
    const char *argv[8];
    size_t lens[8];
    int argc = 0;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a && argc < 8; a = va_arg(ap, const char *)) {
        argv[argc] = a;
        lens[argc++] = strlen(a);
    }
    va_end(ap);
    return call(rt, argc, argv, lens, err, errlen);
}

/* ---- the target ------------------------------------------------------------------------ */

static void redis_close(void *impl)
{
    redis_target *rt = impl;
    if (!rt) return;
    if (rt->qlen == 0 && rt->sent == rt->out.len) /* nothing in flight: the next run takes over at once */
        fl_applier_lease_release(&rt->lease, rt->conn);
    fl_redis_conn_close(rt->conn);
    free(rt->ckey);
    fl_applier_lease_free(&rt->lease);
    fl_buf_free(&rt->out);
    fl_buf_free(&rt->matched);
    free(rt->match);
    free(rt->q);
    free(rt);
}

/* Loads the checkpoint chain script (the connection did AUTH and SELECT). */
static int load_chain_script(redis_target *rt, char *err, size_t errlen)
{
    char text[256];
    redisReply *r = call_text(rt, err, errlen, "SCRIPT", "LOAD", chain_script, NULL);
    if (!r) return -1;
    if (r->type != REDIS_REPLY_STRING || r->len != 40) {
        copy_reply_text(text, sizeof text, r);
        snprintf(err, errlen, "redis: SCRIPT LOAD refused: %s (the applier writes its checkpoint with EVALSHA)",
                 text);
        freeReplyObject(r);
        return -1;
    }
    memcpy(rt->chain_sha, r->str, 40);
    rt->chain_sha[40] = 0;
    freeReplyObject(r);
    return 0;
}

static void *redis_open(const fl_config_apply *cfg, fl_error *e)
{
    redis_target *rt = fl_xcalloc(1, sizeof *rt);
    const char *name = cfg->name ? cfg->name : "default";
    rt->ckey_len = strlen(RT_CHECKPOINT_PREFIX) + strlen(name);
    rt->ckey = fl_xmalloc(rt->ckey_len + 1);
    snprintf(rt->ckey, rt->ckey_len + 1, "%s%s", RT_CHECKPOINT_PREFIX, name);
    fl_applier_lease_init(&rt->lease, "redis", name);
    rt->max_atomic_ops = cfg->max_atomic_ops;

    const fl_redis_tls tls = {cfg->target_tls_ca, cfg->target_tls_cert, cfg->target_tls_key};
    rt->conn = fl_redis_conn_open(cfg->target, &tls, e);
    if (!rt->conn) goto fail;
    if (load_chain_script(rt, e->msg, sizeof e->msg)) goto fail;
    return rt;
fail:
    redis_close(rt);
    return NULL;
}

static int redis_flush(void *impl, char *err, size_t errlen)
{
    redis_target *rt = impl;
    if (rt->qlen == 0 && rt->sent == rt->out.len) {
        /* Nothing in flight: a readable socket now means the server closed it (restarted?)
         * or sent what nobody asked for; either way the connection is done. An idle
         * applier notices a restarted server this way, not only at its next transaction. */
        fl_error e;
        int ready = fl_redis_conn_wait(rt->conn, false, 0, &e);
        if (ready < 0) return fl_errorf(err, errlen, "%s", e.msg);
        if (ready && read_replies(rt, err, errlen)) return -1;
    } else if (pump(rt, 0, true, err, errlen)) {
        return -1;
    }
    return fl_applier_lease_renew(&rt->lease, rt->conn, "", err, errlen);
}

static uint32_t redis_in_flight(const void *impl)
{
    const redis_target *rt = impl;
    return rt->txns;
}

/* Names this connection, claims the lease (fl-apply/applier_lease.h: another applier of this
 * name that runs here stops this one), then ends the previous connection of this applier
 * (recorded in the checkpoint hash, and still named fastlane-apply:NAME: client ids restart
 * with the server) and records this one. A connection that timed out may still have blocks
 * in Redis's input buffer; once it is killed they never run. Without the admin commands this
 * needs, the chain alone keeps such blocks from moving the checkpoint. Returns 0, 1 with err
 * (stop), or -1 with err. */
static int redis_fence(void *impl, char *err, size_t errlen)
{
    redis_target *rt = impl;
    static bool warned; /* once per process: the ACL does not change often */
    char text[256] = "", mine[24] = "", old[24] = "";
    redisReply *r = call_text(rt, err, errlen, "CLIENT", "SETNAME", rt->lease.client_name, NULL);
    if (!r) return -1;
    freeReplyObject(r);
    if (!(r = call_text(rt, err, errlen, "CLIENT", "ID", NULL))) return -1;
    if (r->type == REDIS_REPLY_INTEGER) snprintf(mine, sizeof mine, "%lld", r->integer);
    freeReplyObject(r);
    int claimed = fl_applier_lease_claim(&rt->lease, rt->conn, "", mine, err, errlen);
    if (claimed) return claimed; /* 1: another applier of this name runs here; -1: retry */
    if (!(r = call_text(rt, err, errlen, "HGET", rt->ckey, "client", NULL))) return -1;
    if (r->type == REDIS_REPLY_STRING && r->len < sizeof old) snprintf(old, sizeof old, "%s", r->str);
    freeReplyObject(r);
    if (old[0] && strcmp(old, mine)) {
        if (!(r = call_text(rt, err, errlen, "CLIENT", "LIST", "ID", old, NULL))) return -1;
        char name[96];
        snprintf(name, sizeof name, " name=%s ", rt->lease.client_name);
        bool same = r->type == REDIS_REPLY_STRING && strstr(r->str, name);
        if (r->type == REDIS_REPLY_ERROR) copy_reply_text(text, sizeof text, r);
        freeReplyObject(r);
        if (same) {
            if (!(r = call_text(rt, err, errlen, "CLIENT", "KILL", "ID", old, NULL))) return -1;
            if (r->type == REDIS_REPLY_INTEGER && r->integer > 0)
                log_warn("redis: ended this applier's previous connection (client %s) before reading the "
                         "checkpoint: "
                         "nothing it still had queued can run",
                         old);
            else if (r->type == REDIS_REPLY_ERROR) {
                copy_reply_text(text, sizeof text, r);
                same = false;
            }
            freeReplyObject(r);
        }
        if (!same && text[0] && !warned) {
            warned = true;
            log_warn("redis: cannot end this applier's previous connection (client %s): %s; the checkpoint chain "
                     "still "
                     "keeps whatever it had queued from moving the checkpoint",
                     old, text);
        }
    }
    if (!mine[0]) return 0;
    /* recorded now in an existing checkpoint (a target with none is left untouched), and
     * with every checkpoint this connection writes */
    snprintf(rt->client_id, sizeof rt->client_id, "%s", mine);
    if (!(r = call_text(rt, err, errlen, "EVAL",
                        "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'client', "
                        "ARGV[1]) end",
                        "1", rt->ckey, mine, NULL)))
        return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR) {
        copy_reply_text(text, sizeof text, r);
        const char *advice = advice_for(text);
        snprintf(err, errlen, "redis: recording the connection in %s: %s%s%s%s", rt->ckey, text,
                 advice[0] ? " (" : "", advice, advice[0] ? ")" : "");
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

static int redis_read_checkpoint(void *impl, fl_checkpoint *cp, char *err, size_t errlen)
{
    redis_target *rt = impl;
    memset(cp, 0, sizeof *cp);
    if (redis_flush(rt, err, errlen)) return -1;
    const char *argv[2] = {"HGETALL", rt->ckey};
    size_t lens[2] = {7, rt->ckey_len};
    redisReply *r = call(rt, 2, argv, lens, err, errlen);
    if (!r) return -1;
    int rc = -1;
    char text[256];
    if (r->type == REDIS_REPLY_ERROR) {
        copy_reply_text(text, sizeof text, r);
        snprintf(err, errlen, "redis: HGETALL %s: %s", rt->ckey, text);
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
        snprintf(err, errlen, "redis: HGETALL %s: unexpected reply", rt->ckey);
        goto out;
    }
    bool have_seq = false, have_gtid = false;
    uint64_t chain = 0, shown = 0;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
        char val[FL_GTID_TEXT_MAX];
        if (v->len >= sizeof val) {
            snprintf(err, errlen, "redis: %s: field %.*s is too long", rt->ckey, (int)(k->len > 32 ? 32 : k->len),
                     k->str);
            goto out;
        }
        memcpy(val, v->str, v->len);
        val[v->len] = 0;
        uint64_t *number = NULL;
        if (k->len == 3 && !memcmp(k->str, "seq", 3)) {
            number = &cp->seq;
            have_seq = true;
        } else if (k->len == 2 && !memcmp(k->str, "ts", 2)) {
            number = &cp->ts;
        } else if (k->len == 5 && !memcmp(k->str, "chain", 5)) {
            number = &chain;
        } else if (k->len == 10 && !memcmp(k->str, "fold_until", 10)) {
            number = &shown;
        } else if (k->len == 4 && !memcmp(k->str, "gtid", 4)) {
            memcpy(cp->gtid, val, v->len + 1);
            have_gtid = true;
        } else if (k->len == 7 && !memcmp(k->str, "journal", 7)) {
            if (v->len >= sizeof cp->journal) {
                snprintf(err, errlen, "redis: %s: journal is not a journal identity", rt->ckey);
                goto out;
            }
            memcpy(cp->journal, val, v->len + 1);
        }
        if (number) {
            char *end;
            errno = 0;
            *number = strtoull(val, &end, 10);
            if (errno || end == val || *end || val[0] == '-') {
                snprintf(err, errlen, "redis: %s: %.*s is not a number", rt->ckey, (int)k->len, k->str);
                goto out;
            }
        }
    }
    rt->chain = chain;
    rt->chain_known = true;
    rt->shown = shown > cp->seq ? shown : cp->seq;
    cp->fold_until = shown > cp->seq ? shown : 0;
    if (!have_seq && have_gtid) {
        snprintf(err, errlen, "redis: %s has no seq field", rt->ckey);
        goto out;
    }
    rc = have_seq ? 0 : 1; /* no hash, or only the chain and client fields: no checkpoint */
out:
    freeReplyObject(r);
    return rc;
}


/* Appends the chain script: advances the chain and, with cp, writes the checkpoint. */
static void put_chain(redis_target *rt, const fl_checkpoint *cp)
{
    fl_buf *b = &rt->out;
    fl_resp_header(b, '*', cp ? (rt->client_id[0] ? 18 : 16) : 6);
    fl_resp_arg(b, "EVALSHA", 7);
    fl_resp_arg(b, rt->chain_sha, 40);
    fl_resp_arg(b, "1", 1);
    fl_resp_arg(b, rt->ckey, rt->ckey_len);
    fl_resp_arg_u64(b, rt->chain);
    fl_resp_arg_u64(b, ++rt->chain);
    if (!cp) return;
    fl_resp_arg(b, "seq", 3);
    fl_resp_arg_u64(b, cp->seq);
    fl_resp_arg(b, "gtid", 4);
    fl_resp_arg_str(b, cp->gtid);
    fl_resp_arg(b, "ts", 2);
    fl_resp_arg_u64(b, cp->ts);
    fl_resp_arg(b, "journal", 7);
    fl_resp_arg_str(b, cp->journal);
    if (cp->seq > rt->shown) rt->shown = cp->seq;
    fl_resp_arg(b, "fold_until", 10); /* above seq during a replay: what a restart must fold up to */
    fl_resp_arg_u64(b, rt->shown);
    if (rt->client_id[0]) {
        fl_resp_arg(b, "client", 6);
        fl_resp_arg_str(b, rt->client_id);
    }
}

/* The chain value, read from the server when this session has not read the checkpoint
 * (the pipeline is empty then: nothing was submitted). An error reply (the key is not a
 * hash) leaves it at 0: the first block then fails with the server's own words. Returns 0,
 * or -1 with err when the connection failed. */
static int learn_chain(redis_target *rt, char *err, size_t errlen)
{
    if (rt->chain_known) return 0;
    redisReply *r = call_text(rt, err, errlen, "HGET", rt->ckey, "chain", NULL);
    if (!r) return -1;
    rt->chain = r->type == REDIS_REPLY_STRING ? strtoull(r->str, NULL, 10) : 0;
    rt->chain_known = true;
    freeReplyObject(r);
    return 0;
}

/* ---- deleting a rule's keys by pattern ----------------------------------------------------
 *
 * SCAN cannot run inside MULTI. So before a transaction with DEL_MATCH operations is pushed,
 * the pipeline is drained (everything earlier is applied), SCAN MATCH collects the keys, and
 * they are deleted by DEL commands inside the transaction's MULTI/EXEC, next to its
 * checkpoint. A key another client creates between the SCAN and the EXEC survives. Past
 * RT_MATCH_IN_TXN keys, the ones collected so far are deleted at once, before the transaction
 * (deleting again after a crash is harmless). The applier's own keys (fastlane:...) are never
 * touched. */

#define RT_MATCH_IN_TXN 100000 /* keys deleted inside the MULTI at most */
#define RT_MATCH_PER_DEL 512   /* keys per DEL command */

typedef struct match_keys {
    fl_buf keys; /* collected keys: u32 length, bytes */
    size_t n;    /* keys in it */
} match_keys;

/* The next key of m->keys from *off. */
static bool next_key(const match_keys *m, size_t *off, const char **key, uint32_t *len)
{
    if (*off >= m->keys.len) return false;
    memcpy(len, m->keys.data + *off, sizeof *len);
    *key = (const char *)m->keys.data + *off + sizeof *len;
    *off += sizeof *len + *len;
    return true;
}

/* Appends DEL commands for the collected keys to out; returns how many. */
static uint32_t put_dels(const match_keys *m, fl_buf *out)
{
    uint32_t ncmds = 0;
    size_t off = 0;
    const char *key;
    uint32_t len;
    for (size_t done = 0; done < m->n;) {
        size_t batch = m->n - done > RT_MATCH_PER_DEL ? RT_MATCH_PER_DEL : m->n - done;
        fl_resp_header(out, '*', batch + 1);
        fl_resp_arg(out, "DEL", 3);
        for (size_t i = 0; i < batch && next_key(m, &off, &key, &len); i++) fl_resp_arg(out, key, len);
        done += batch;
        ncmds++;
    }
    return ncmds;
}

/* Deletes the collected keys now, outside any MULTI, and forgets them. */
static int match_flush_now(redis_target *rt, match_keys *m, char *err, size_t errlen)
{
    const char *argv[RT_MATCH_PER_DEL + 1];
    size_t lens[RT_MATCH_PER_DEL + 1];
    size_t off = 0;
    for (size_t done = 0; done < m->n;) {
        int argc = 1;
        argv[0] = "DEL";
        lens[0] = 3;
        uint32_t len;
        while (argc <= RT_MATCH_PER_DEL && next_key(m, &off, &argv[argc], &len)) lens[argc++] = len;
        done += (size_t)argc - 1;
        redisReply *r = call(rt, argc, argv, lens, err, errlen);
        if (!r) return -1;
        bool bad = r->type == REDIS_REPLY_ERROR;
        if (bad) {
            char text[256];
            copy_reply_text(text, sizeof text, r);
            snprintf(err, errlen, "redis: DEL of matched keys: %s", text);
        }
        freeReplyObject(r);
        if (bad) return -1;
    }
    fl_buf_reset(&m->keys);
    m->n = 0;
    return 0;
}

static int scan_pattern(redis_target *rt, const fl_cache_op *op, match_keys *m, char *err, size_t errlen)
{
    char cursor[32] = "0";
    do {
        const char *argv[6] = {"SCAN", cursor, "MATCH", op->key, "COUNT", "1000"};
        size_t lens[6] = {4, strlen(cursor), 5, op->key_len, 5, 4};
        redisReply *r = call(rt, 6, argv, lens, err, errlen);
        if (!r) return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY || r->element[0]->len >= sizeof cursor) {
            char text[256];
            copy_reply_text(text, sizeof text, r);
            snprintf(err, errlen, "redis: SCAN MATCH %.*s for %s: %s",
                     (int)(op->key_len > 100 ? 100 : op->key_len), op->key, op->rule ? op->rule : "a rule", text);
            freeReplyObject(r);
            return -1;
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len);
        cursor[r->element[0]->len] = 0;
        redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            redisReply *k = keys->element[i];
            if (k->type != REDIS_REPLY_STRING || (k->len >= 9 && !memcmp(k->str, "fastlane:", 9))) continue;
            uint32_t len = (uint32_t)k->len;
            fl_buf_put(&m->keys, &len, sizeof len);
            fl_buf_put(&m->keys, k->str, k->len);
            m->n++;
        }
        freeReplyObject(r);
        if (m->n >= RT_MATCH_IN_TXN && match_flush_now(rt, m, err, errlen)) return -1;
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

/* Collects the keys of every DEL_MATCH operation of ops (rt->match, rt->matched). */
static int collect_matches(redis_target *rt, const fl_cache_ops *ops, char *err, size_t errlen)
{
    rt->nmatch = 0;
    fl_buf_reset(&rt->matched);
    bool any = false;
    for (size_t i = 0; i < ops->nops && !any; i++) any = ops->ops[i].kind == FL_CACHE_DEL_MATCH;
    if (!any) return 0;
    if (pump(rt, 0, true, err, errlen)) return -1; /* everything before is applied */
    match_keys m = {0};
    int rc = 0;
    for (size_t i = 0; i < ops->nops && rc == 0; i++) {
        const fl_cache_op *op = &ops->ops[i];
        if (op->kind != FL_CACHE_DEL_MATCH) continue;
        fl_buf_reset(&m.keys);
        m.n = 0;
        if ((rc = scan_pattern(rt, op, &m, err, errlen)) != 0) break;
        if (rt->nmatch == rt->match_cap) {
            rt->match_cap = rt->match_cap ? rt->match_cap * 2 : 4;
            rt->match = fl_xrealloc(rt->match, rt->match_cap * sizeof *rt->match);
        }
        size_t off = rt->matched.len;
        uint32_t ncmds = put_dels(&m, &rt->matched);
        rt->match[rt->nmatch++] = (struct rt_match){i, off, rt->matched.len - off, ncmds};
        log_info("redis: %s: deleting the keys matching %.*s", op->rule ? op->rule : "rule",
                 (int)(op->key_len > 200 ? 200 : op->key_len), op->key);
    }
    fl_buf_free(&m.keys);
    return rc;
}

/* Appends the DEL commands collected for operation i; returns how many. */
static uint32_t put_matched(redis_target *rt, size_t i)
{
    for (size_t k = 0; k < rt->nmatch; k++) {
        if (rt->match[k].op != i) continue;
        fl_buf_put(&rt->out, rt->matched.data + rt->match[k].off, rt->match[k].len);
        return rt->match[k].ncmds;
    }
    return 0;
}

static int redis_submit(void *impl, const fl_cache_ops *ops, const fl_checkpoint *cp, int *chunked, char *err,
                        size_t errlen)
{
    redis_target *rt = impl;
    size_t per = rt->max_atomic_ops ? rt->max_atomic_ops : SIZE_MAX;
    *chunked = ops->nops > per;
    if (learn_chain(rt, err, errlen) || collect_matches(rt, ops, err, errlen)) return -1;
    if (ops->nops == 0) {
        put_chain(rt, cp);
        queue_push(rt, cp->seq, 1, false, true);
    } else {
        for (size_t start = 0; start < ops->nops; start += per) {
            size_t end = ops->nops - start > per ? start + per : ops->nops;
            bool last = end == ops->nops;
            fl_resp_header(&rt->out, '*', 1);
            fl_resp_arg(&rt->out, "MULTI", 5);
            uint32_t ncmds = 0;
            for (size_t i = start, used; i < end; i += used) {
                if (ops->ops[i].kind == FL_CACHE_DEL_MATCH) {
                    ncmds += put_matched(rt, i);
                    used = 1;
                } else {
                    ncmds += fl_resp_run(&rt->out, &ops->ops[i], end - i, &used);
                }
            }
            put_chain(rt, last ? cp : NULL);
            ncmds++;
            fl_resp_header(&rt->out, '*', 1);
            fl_resp_arg(&rt->out, "EXEC", 4);
            queue_push(rt, cp->seq, ncmds, true, last);
            if (!last && rt->out.len - rt->sent >= RT_WRITE_EAGERLY && pump(rt, UINT32_MAX, false, err, errlen))
                return -1;
            if (!last && rt->out.len - rt->sent >= RT_MAX_UNSENT && pump(rt, RT_MAX_IN_FLIGHT, true, err, errlen))
                return -1;
        }
    }
    size_t unsent = rt->out.len - rt->sent;
    if (rt->txns > RT_MAX_IN_FLIGHT || unsent >= RT_MAX_UNSENT)
        return pump(rt, RT_MAX_IN_FLIGHT / 2, true, err, errlen);
    if (unsent >= RT_WRITE_EAGERLY) return pump(rt, UINT32_MAX, false, err, errlen);
    return 0;
}

static void redis_will_show(void *impl, uint64_t seq)
{
    redis_target *rt = impl;
    rt->shown = seq; /* earlier marks may be another journal's seqs */
}

const struct fl_target_ops fl_target_redis_ops = {
    .open = redis_open,
    .close = redis_close,
    .fence = redis_fence,
    .read_checkpoint = redis_read_checkpoint,
    .submit = redis_submit,
    .flush = redis_flush,
    .in_flight = redis_in_flight,
    .will_show = redis_will_show,
    .deletes_by_pattern = true,
    .kind = "redis",
};
