/* target_redis_cluster.c — the Redis Cluster target: each source transaction's operations
 * are grouped by key slot, and each slot's part is written whole on the primary that owns
 * the slot, with a checkpoint that lives in the same slot: a slot with a few operations in
 * the group script's call for that primary (one per primary per group, more past
 * CT_CALL_MAX_OPS or max_atomic_ops operations, see "one script per primary"), a larger one
 * as a MULTI/EXEC of its own.
 *
 * The slot map comes from CLUSTER SLOTS, asked of the seed nodes in turn; every primary gets
 * one connection (fl-apply/redis_conn.h), and the blocks of all primaries are pipelined at
 * once, each primary with its own queue of expected replies (MULTI +OK, each command
 * +QUEUED, EXEC an array without errors; a group script call, the number of its slots).
 *
 * Per-slot checkpoints. Slot S's checkpoint is the hash fastlane:checkpoint:NAME:{TAG} (TAG
 * one of the short tags that hash to S, fl-apply/cluster_slots.h) with one field, seq. It is
 * written with every part of slot S (in the group script, by a checked HINCRBY), or by a
 * script at the end of every MULTI/EXEC of slot S, which refuses (FLCHAIN) unless
 * the hash still holds the seq this applier last wrote there: a block that was not applied
 * (refused, redirected) keeps every later one of its slot from moving the checkpoint. Being
 * in the slot, the checkpoint moves with the slot's data on resharding and fails over with
 * it. At connect every slot's checkpoint is read (pipelined HGETs, per primary, following
 * ASK redirections once), and a transaction's operations for slot S are sent only when its
 * seq is above S's checkpoint: on every slot, transactions appear once and in source order.
 *
 * The applier's checkpoint (fastlane:checkpoint:NAME, seq/gtid/ts/journal, and fold_until: the
 * end of a rebuild or replay in progress, so that a restart midway folds the rest) is where
 * reading resumes: it is written when every block submitted before it is acknowledged (at flush) and,
 * on every primary written since the last confirmation, WAIT says [apply]
 * cluster_wait_replicas of its replicas (at most as many as CLUSTER SLOTS lists) received it
 * too; so every slot holds everything up to it, also on a replica promoted after its
 * primary died (Redis replicates asynchronously: a primary acknowledges before its replicas
 * have the write). Until a primary's replicas confirm, the resume point stays where it is
 * (confirm_replicated), and that primary is asked again no sooner than CT_WAIT_RETRY_MS later,
 * so a lagging replica costs one WAIT timeout per retry period, not one per flush.
 * Transactions above the resume point are filtered per slot, so after a failover each slot
 * of the promoted replica receives again exactly what it lacks.
 *
 * The fence (C4): before the slot checkpoints are read, every primary's other connections
 * named fastlane-apply:NAME are ended (cluster_fence), and a node first met while reading them
 * is fenced at that first contact (meet_node). One applier per name: the lease
 * fastlane:applier:NAME (fl-apply/applier_lease.h, on the node of its key) holds this run's
 * token, renewed at flush; a run that finds it held by another run whose connection stays
 * stops instead of fencing.
 *
 * A redirection (MOVED, ASK) or any error reply fails the flush; the applier reconnects,
 * which reads the slot map and the slot checkpoints again and resends what each slot lacks.
 * Deleting by pattern (a rule's keys after a TRUNCATE or DROP): expand_matches. */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/error.h"
#include "common/log.h"
#include "common/target_url.h"
#include "fl-apply/applier_lease.h"
#include "fl-apply/cluster_conn.h"
#include "fl-apply/cluster_slots.h"
#include "fl-apply/group.h"
#include "fl-apply/redis_conn.h"
#include "fl-apply/resp.h"
#include "fl-apply/target_impl.h"

#define CT_MAX_BLOCKS 3000           /* blocks sent and not yet acknowledged, all primaries */
#define CT_MAX_UNSENT (8u << 20)     /* bytes formatted and not yet written, per primary */
#define CT_WRITE_EAGERLY (64u << 10) /* start writing once this much is formatted */
#define CT_CHECKPOINT_PREFIX "fastlane:checkpoint:"
#define CT_CLIENT_PREFIX "fastlane-apply:" /* CLIENT SETNAME of the applier's connections */
#define CT_NO_NODE UINT16_MAX
#define CT_WAIT_RETRY_MS 5000 /* a primary whose replicas fell short is not asked again sooner */
#define CT_REPLICAS_UNKNOWN UINT32_MAX

#define CT_GROUP_MAX_OPS 65536                          /* operations of a group per primary owning slots */
#define CT_GROUP_MAX_BYTES ((size_t)FL_GROUP_MAX_BYTES) /* ... and bytes */
#define CT_GROUP_RAMP_SHIFT 2                           /* after idling, each group may be 4 times the last */
#define CT_CALL_MAX_OPS 4096                            /* operations of one group script call, at most */
#define CT_CALL_MAX_RUN 4             /* a slot with more goes in a MULTI/EXEC: cheaper for Redis then */
#define CT_CALL_MAX_BYTES (4u << 20)  /* its arguments' bytes, about */
#define CT_SCRIPT_PAUSE_MS 30000      /* per-slot blocks only, this long after a fallback */
#define CT_CHECKPOINT_ONLY UINT32_MAX /* in ct->order: the slot's checkpoint, no operation */

/* Until then (fl_now_ms), groups go in per-slot blocks: a group script found a slot it could
 * not write whole (migrating, say). Kept across reconnections. */
static int64_t script_paused_until_ms;

/* Sets the slot checkpoint KEYS[1] seq to ARGV[2] when it is ARGV[1]. */
static const char slot_script[] = "local cur = redis.call('HGET', KEYS[1], 'seq') or '0'\n"
                                  "if cur ~= ARGV[1] then\n"
                                  "  return redis.error_reply('FLCHAIN slot checkpoint is at ' .. cur .. ', not ' "
                                  ".. ARGV[1])\n"
                                  "end\n"
                                  "redis.call('HSET', KEYS[1], 'seq', ARGV[2])\n"
                                  "return 1\n";

/* The group script (see "one script per primary" below): ARGV[1] is the slot checkpoint key
 * prefix ("fastlane:checkpoint:NAME:{", for the ACL check), ARGV[2] the seq every slot's
 * checkpoint moves to, then for each slot: its checkpoint key, the step from the seq its
 * checkpoint must hold to ARGV[2], its shape, the keys its commands write (none when they all
 * write one key) and its commands' arguments. The shape is binary: one byte, the number of
 * those keys, then three bytes (big-endian) per command, its argument count.
 *
 * Why that layout: each argument costs Redis about as much again to parse and to turn into a
 * Lua string as the SET it carries, and tonumber (strtod) and string concatenation are dearer
 * than string.byte; with the slot's counts in one string and its key whole, a single-row slot
 * takes six arguments, no tonumber and no concatenation.
 *
 * Each slot is written whole or not at all, in order: its keys are probed first (one EXISTS;
 * with a single key, its first command is the probe), and the checkpoint moves by HINCRBY,
 * which must land on ARGV[2] (else FLCHAIN, C2, undone). A probe that fails (a key not served
 * here, such as one already moved out of a migrating slot, the cluster down, or the ACL
 * refusing it) or another command the ACL refuses (redis.acl_check_cmd, asked before anything
 * of the slot is written) undoes that slot's checkpoint step and returns
 * +FLFALLBACK with the slots written before it (each whole, with its checkpoint); once a
 * slot's probe passed nothing of it can fail any more. Returns the slots written. */
static const char group_script[] =
    "#!lua flags=allow-cross-slot-keys\n"
    "local seq, n, byte = tonumber(ARGV[2]), #ARGV, string.byte\n"
    "local slots, seen, i = 0, {}, 3\n"
    "local function fallback(why) return redis.status_reply('FLFALLBACK ' .. slots .. ' ' .. why) end\n"
    "local k0 = ARGV[1] .. '}'\n"
    "if not (redis.acl_check_cmd('EXISTS', k0) and redis.acl_check_cmd('HINCRBY', k0, 'seq', '1')) then\n"
    "  return fallback('the ACL refuses EXISTS or HINCRBY')\n"
    "end\n"
    "while i <= n do\n"
    "  local ck, step, shape = ARGV[i], ARGV[i + 1], ARGV[i + 2]\n"
    "  local nk, last, e = byte(shape, 1), #shape, i + 3\n"
    "  if nk > 0 then\n"
    "    local r = redis.pcall('EXISTS', unpack(ARGV, e, e + nk - 1))\n"
    "    if type(r) == 'table' and r.err then return fallback(ck .. ': ' .. r.err) end\n"
    "    e = e + nk\n"
    "  end\n"
    "  local c, p = e, 2\n"
    "  if nk == 0 and last > 1 then\n" /* the first command is the probe: its refusal is caught */
    "    local h, m, l = byte(shape, 2, 4)\n"
    "    c, p = c + h * 65536 + m * 256 + l, 5\n"
    "  end\n"
    "  while p < last do\n"
    "    local h, m, l = byte(shape, p, p + 2)\n"
    "    local a, name = h * 65536 + m * 256 + l, ARGV[c]\n"
    "    if not seen[name] then\n"
    "      if not redis.acl_check_cmd(unpack(ARGV, c, c + a - 1)) then\n"
    "        return fallback('the ACL refuses ' .. name)\n"
    "      end\n"
    "      seen[name] = true\n"
    "    end\n"
    "    c, p = c + a, p + 3\n"
    "  end\n"
    "  local moves = step ~= '0'\n"
    "  if moves then\n"
    "    local r = redis.pcall('HINCRBY', ck, 'seq', step)\n"
    "    if type(r) == 'table' and r.err then return fallback(ck .. ': ' .. r.err) end\n"
    "    if r ~= seq then\n"
    "      redis.call('HINCRBY', ck, 'seq', '-' .. step)\n"
    "      return redis.error_reply(string.format('FLCHAIN slot checkpoint %s is at %.0f, not %.0f', ck,\n"
    "                                             r - tonumber(step), seq - tonumber(step)))\n"
    "    end\n"
    "  end\n"
    "  p = 2\n"
    "  while p < last do\n"
    "    local h, m, l = byte(shape, p, p + 2)\n"
    "    local a = h * 65536 + m * 256 + l\n"
    "    if p == 2 and nk == 0 then\n"
    "      local w = redis.pcall(unpack(ARGV, e, e + a - 1))\n"
    "      if type(w) == 'table' and w.err then\n"
    "        if moves then redis.call('HINCRBY', ck, 'seq', '-' .. step) end\n"
    "        return fallback(ck .. ': ' .. w.err)\n"
    "      end\n"
    "    else\n"
    "      redis.call(unpack(ARGV, e, e + a - 1))\n"
    "    end\n"
    "    e, p = e + a, p + 3\n"
    "  end\n"
    "  slots, i = slots + 1, e\n"
    "end\n"
    "return slots\n";

typedef struct ct_block {
    uint64_t seq;
    uint32_t ncmds; /* between MULTI and EXEC; the slots of a group script call */
    uint16_t slot;  /* the (first) slot */
    bool script;    /* one group script call: one reply */
} ct_block;

typedef struct ct_node {
    char *host;
    int port;
    fl_redis_conn *conn;
    char sha[41];
    char group_sha[41]; /* "": this primary takes per-slot blocks only */
    fl_buf out;         /* out.data[sent..len) not yet written */
    size_t sent;
    ct_block *q; /* ring of expectations */
    size_t qcap, qhead, qlen;
    uint32_t stage;
    char queue_err[256];
    char client_id[24]; /* CLIENT ID of conn once named ("" before, or when refused) */
    bool fenced;        /* this run's fence ended the other connections of its name here */
    fl_buf call;        /* the arguments of the group script call being built */
    uint32_t call_args, call_ops, call_slots;
    uint16_t call_first_slot;
    uint32_t replicas;    /* replicas CLUSTER SLOTS lists for it (CT_REPLICAS_UNKNOWN) */
    bool unconfirmed;     /* written since its replicas last confirmed (WAIT) */
    int64_t next_wait_ms; /* not asked to WAIT again before this */
} ct_node;

typedef struct cluster_target {
    fl_redis_cluster_url url;
    fl_redis_tls tls; /* [apply] target_tls_* for rediss-cluster:// (the configuration's strings) */
    ct_node *nodes;
    size_t nnodes;  /* every node ever met, a primary failed over from included */
    size_t nowners; /* of them, those owning a slot (count_owners) */
    uint16_t slot_node[FL_CLUSTER_SLOTS];
    uint64_t slot_seq[FL_CLUSTER_SLOTS]; /* the seq each slot's checkpoint holds (or will) */
    char (*tags)[FL_CLUSTER_TAG_MAX];
    char *ckey;        /* fastlane:checkpoint:NAME */
    char *client_name; /* fastlane-apply:NAME, every connection's name */
    bool fencing;      /* an applier's target (cluster_fence ran): every node is fenced at first contact */
    uint32_t max_atomic_ops;
    uint32_t wait_replicas, wait_timeout_ms; /* [apply] cluster_wait_replicas, cluster_wait_timeout */
    uint64_t rewound_from;                   /* transactions from this seq on are applied again: none is held */
    uint64_t last_seq;                       /* latest seq submitted */
    fl_checkpoint last_cp;                   /* checkpoint of the latest transaction submitted */
    uint64_t written_seq;                    /* what fastlane:checkpoint:NAME holds */
    uint64_t shown;   /* fold_until: the latest seq the cache may show (a replay's or rebuild's end) */
    uint32_t pending; /* transactions submitted since everything was acknowledged */
    size_t blocks;    /* blocks awaiting replies, all primaries */
    uint64_t *order;  /* scratch: slot << 32 | operation index */
    size_t order_cap;
    uint64_t *order_tmp; /* scratch of sort_by_slot */
    size_t order_tmp_cap;
    fl_buf matched;        /* keys found for the current transaction's DEL_MATCHes */
    fl_cache_op *expanded; /* its operations with those as DELs */
    size_t expanded_cap;
    fl_cache_op *run; /* scratch: one slot's operations, in source order */
    size_t run_cap;
    uint8_t early_slots[FL_CLUSTER_SLOTS / 8]; /* slots an early chunk of the transaction wrote */
    size_t early_marked;                       /* how many */
    char *slot_prefix;                         /* fastlane:checkpoint:NAME:{, the group script's ARGV[1] */
    fl_buf commands;                           /* scratch: one slot's commands in RESP, for a group script call */
    fl_redis_conn **poll_conns;                /* scratch of wait_any, poll_cap entries each */
    bool *poll_write;
    int *poll_ready;
    size_t poll_cap;
    fl_applier_lease lease; /* fastlane:applier:NAME (C4) */
} cluster_target;

/* The checkpoint key of a slot into buf; returns its length. */
static size_t slot_key(const cluster_target *ct, uint16_t slot, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s:{%s}", ct->ckey, ct->tags[slot]);
    return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

/* ---- replies ---- */

static void reply_text(char *dst, size_t dstlen, const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING)
        snprintf(dst, dstlen, "%.*s", (int)(r->len > 200 ? 200 : r->len), r->str);
    else
        snprintf(dst, dstlen, "unexpected reply type %d", r->type);
}

static const char *advice_for(const char *text)
{
    if (!strncmp(text, "MOVED ", 6) || !strncmp(text, "ASK ", 4))
        return "the slot moved: reconnecting reads the slot map again and resumes each slot at its checkpoint";
    if (!strncmp(text, "FLCHAIN", 7))
        return "an earlier block of this slot was not applied, or another writer moved its checkpoint: resuming "
               "from the slot checkpoints";
    if (!strncmp(text, "CLUSTERDOWN", 11)) return "the cluster is down (a failover?): retrying";
    if (!strncmp(text, "NOSCRIPT", 8))
        return "the node lost the script (a failover?): it is loaded again at reconnect";
    if (!strncmp(text, "OOM", 3)) return "the node is at maxmemory: raise maxmemory or choose a volatile-* policy";
    if (!strncmp(text, "FLFALLBACK", 10))
        return "that slot was not written, the slots before it in the call were, whole; the rest goes again in "
               "per-slot blocks after reconnecting";
    return "";
}

static int block_error(char *err, size_t errlen, const ct_node *n, const ct_block *b, const char *what,
                       const char *text)
{
    const char *advice = advice_for(text);
    snprintf(err, errlen, "redis-cluster: %s:%d: transaction seq %" PRIu64 ", slot %u: %s: %s%s%s%s", n->host,
             n->port, b->seq, b->slot, what, text, advice[0] ? " (" : "", advice, advice[0] ? ")" : "");
    return -1;
}

static bool is_status(const redisReply *r, const char *text)
{
    return r->type == REDIS_REPLY_STATUS && r->len == strlen(text) && !memcmp(r->str, text, r->len);
}

static void queue_push(cluster_target *ct, ct_node *n, uint64_t seq, uint32_t ncmds, uint16_t slot, bool script)
{
    if (n->qlen == n->qcap) {
        size_t ncap = n->qcap ? n->qcap * 2 : 256;
        ct_block *nq = fl_xmalloc(ncap * sizeof *nq);
        for (size_t i = 0; i < n->qlen; i++) nq[i] = n->q[(n->qhead + i) % n->qcap];
        free(n->q);
        n->q = nq;
        n->qcap = ncap;
        n->qhead = 0;
    }
    n->q[(n->qhead + n->qlen) % n->qcap] = (ct_block){seq, ncmds, slot, script};
    n->qlen++;
    n->unconfirmed = true;
    ct->blocks++;
}

/* The block at the head of n's queue is applied. Returns 0. */
static int block_done(cluster_target *ct, ct_node *n)
{
    n->qhead = (n->qhead + 1) % n->qcap;
    n->qlen--;
    n->stage = 0;
    ct->blocks--;
    return 0;
}

/* Matches one reply with the head of the node's queue. Returns 0, or -1 with err. */
static int check_reply(cluster_target *ct, ct_node *n, redisReply *r, char *err, size_t errlen)
{
    if (n->qlen == 0)
        return fl_errorf(err, errlen, "redis-cluster: %s:%d: a reply nothing was waiting for", n->host, n->port);
    ct_block *b = &n->q[n->qhead];
    char text[256];
    if (b->script) {
        if (r->type == REDIS_REPLY_STATUS && r->len >= 10 && !memcmp(r->str, "FLFALLBACK", 10)) {
            script_paused_until_ms = fl_now_ms() + CT_SCRIPT_PAUSE_MS;
            reply_text(text, sizeof text, r);
            return block_error(err, errlen, n, b, "group script", text);
        }
        if (r->type != REDIS_REPLY_INTEGER) {
            reply_text(text, sizeof text, r);
            return block_error(err, errlen, n, b, "group script", text);
        }
        if (r->integer != (long long)b->ncmds) {
            snprintf(text, sizeof text, "%lld of %u slots written", r->integer, b->ncmds);
            return block_error(err, errlen, n, b, "group script", text);
        }
        return block_done(ct, n);
    }
    if (n->stage == 0) {
        if (!is_status(r, "OK")) {
            reply_text(text, sizeof text, r);
            return block_error(err, errlen, n, b, "MULTI", text);
        }
        n->stage++;
        return 0;
    }
    if (n->stage <= b->ncmds) {
        if (!is_status(r, "QUEUED") && !n->queue_err[0]) {
            reply_text(n->queue_err, sizeof n->queue_err, r);
            if (!n->queue_err[0]) snprintf(n->queue_err, sizeof n->queue_err, "not queued");
        }
        n->stage++;
        return 0;
    }
    if (n->queue_err[0]) return block_error(err, errlen, n, b, "command refused", n->queue_err);
    if (r->type != REDIS_REPLY_ARRAY) {
        reply_text(text, sizeof text, r);
        return block_error(err, errlen, n, b, "EXEC", r->type == REDIS_REPLY_NIL ? "aborted" : text);
    }
    if (r->elements != b->ncmds) return block_error(err, errlen, n, b, "EXEC", "wrong number of results");
    for (size_t i = 0; i < r->elements; i++) {
        if (r->element[i]->type == REDIS_REPLY_ERROR) {
            reply_text(text, sizeof text, r->element[i]);
            return block_error(err, errlen, n, b, "a command failed", text);
        }
    }
    return block_done(ct, n);
}

/* ---- I/O across the primaries ---- */

/* Writes and reads what each primary allows now. Returns 1 when anything moved, 0 when
 * nothing did, -1 with err. */
static int pump_once(cluster_target *ct, char *err, size_t errlen)
{
    int moved = 0;
    fl_error e;
    for (size_t i = 0; i < ct->nnodes; i++) {
        ct_node *n = &ct->nodes[i];
        if (!n->conn || (n->qlen == 0 && n->sent == n->out.len)) continue;
        if (n->sent < n->out.len) {
            ssize_t w = fl_redis_conn_send(n->conn, n->out.data + n->sent, n->out.len - n->sent, &e);
            if (w < 0) return fl_errorf(err, errlen, "redis-cluster: %s:%d: %s", n->host, n->port, e.msg);
            if (w > 0) moved = 1;
            n->sent += (size_t)w;
            if (n->sent == n->out.len) {
                fl_buf_reset(&n->out);
                n->sent = 0;
            }
        }
        if (n->qlen == 0) continue;
        int got = fl_redis_conn_receive(n->conn, &e);
        if (got < 0) return fl_errorf(err, errlen, "redis-cluster: %s:%d: %s", n->host, n->port, e.msg);
        for (;;) {
            redisReply *reply;
            int r = fl_redis_conn_next_reply(n->conn, &reply, &e);
            if (r < 0) return fl_errorf(err, errlen, "redis-cluster: %s:%d: %s", n->host, n->port, e.msg);
            if (r == 0) break;
            moved = 1;
            int rc = check_reply(ct, n, reply, err, errlen);
            freeReplyObject(reply);
            if (rc) return -1;
        }
    }
    return moved;
}

static bool all_written(const cluster_target *ct)
{
    for (size_t i = 0; i < ct->nnodes; i++)
        if (ct->nodes[i].sent < ct->nodes[i].out.len) return false;
    return true;
}

/* Waits (up to 100 ms) until a primary with work to do is readable, or writable when it has
 * bytes to send. Returns 0, or -1 with err. */
static int wait_any(cluster_target *ct, char *err, size_t errlen)
{
    if (ct->nnodes > ct->poll_cap) {
        ct->poll_cap = ct->nnodes;
        ct->poll_conns = fl_xrealloc(ct->poll_conns, ct->poll_cap * sizeof *ct->poll_conns);
        ct->poll_write = fl_xrealloc(ct->poll_write, ct->poll_cap * sizeof *ct->poll_write);
        ct->poll_ready = fl_xrealloc(ct->poll_ready, ct->poll_cap * sizeof *ct->poll_ready);
    }
    for (size_t i = 0; i < ct->nnodes; i++) {
        ct_node *n = &ct->nodes[i];
        bool work = n->conn && (n->qlen > 0 || n->sent < n->out.len);
        ct->poll_conns[i] = work ? n->conn : NULL;
        ct->poll_write[i] = work && n->sent < n->out.len;
    }
    fl_error e;
    if (fl_redis_conn_wait_any(ct->poll_conns, ct->poll_write, ct->nnodes, 100, ct->poll_ready, &e) < 0)
        return fl_errorf(err, errlen, "redis-cluster: %s", e.msg);
    return 0;
}

/* Drives every primary until everything is written and at most max_blocks blocks await
 * replies (wait), or once (no wait). Returns 0, or -1 with err. */
static int pump(cluster_target *ct, size_t max_blocks, bool wait, char *err, size_t errlen)
{
    uint64_t last_progress = fl_now_ms();
    for (;;) {
        int moved = pump_once(ct, err, errlen);
        if (moved < 0) return -1;
        if (ct->blocks == 0 && all_written(ct)) ct->pending = 0;
        if (!wait) return 0;
        if (ct->blocks <= max_blocks && all_written(ct)) return 0;
        if (moved) {
            last_progress = fl_now_ms();
            continue;
        }
        if (fl_now_ms() - last_progress > FL_REDIS_IO_TIMEOUT_MS)
            return fl_errorf(err, errlen, "redis-cluster: no reply within %d s", FL_REDIS_IO_TIMEOUT_MS / 1000);
        /* nothing moved: wait until any primary that has work can go on */
        if (wait_any(ct, err, errlen)) return -1;
    }
}

/* ---- connecting ---- */

/* Connects to host:port with the URL's credentials. */
static fl_redis_conn *connect_node(const cluster_target *ct, const char *host, int port, fl_error *e)
{
    return fl_cluster_node_connect(&ct->url, &ct->tls, host, port, e);
}

/* The primary the slot map gives for key. */
static ct_node *node_of_key(cluster_target *ct, const char *key)
{
    return &ct->nodes[ct->slot_node[fl_cluster_key_slot(key, strlen(key))]];
}

static ct_node *node_for(cluster_target *ct, const char *host, size_t hlen, int port)
{
    for (size_t i = 0; i < ct->nnodes; i++)
        if (ct->nodes[i].port == port && strlen(ct->nodes[i].host) == hlen &&
            !memcmp(ct->nodes[i].host, host, hlen))
            return &ct->nodes[i];
    ct->nodes = fl_xrealloc(ct->nodes, (ct->nnodes + 1) * sizeof *ct->nodes);
    ct_node *n = &ct->nodes[ct->nnodes++];
    memset(n, 0, sizeof *n);
    n->replicas = CT_REPLICAS_UNKNOWN; /* a node a redirection names: wait for as many as asked */
    n->host = fl_xmalloc(hlen + 1);
    memcpy(n->host, host, hlen);
    n->host[hlen] = 0;
    n->port = port;
    return n;
}

static int map_range(void *ctx, uint16_t from, uint16_t to, const char *host, size_t hlen, int port)
{
    cluster_target *ct = ctx;
    ct_node *n = node_for(ct, host, hlen, port);
    for (uint32_t s = from; s <= to; s++) ct->slot_node[s] = (uint16_t)(n - ct->nodes);
    return 0;
}

/* ct->nowners from the slot map, after it changed. */
static void count_owners(cluster_target *ct)
{
    bool *owns = fl_xcalloc(ct->nnodes ? ct->nnodes : 1, sizeof *owns);
    ct->nowners = 0;
    for (size_t s = 0; s < FL_CLUSTER_SLOTS; s++) {
        uint16_t i = ct->slot_node[s];
        if (i == CT_NO_NODE || owns[i]) continue;
        owns[i] = true;
        ct->nowners++;
    }
    free(owns);
}

/* The slot map from a CLUSTER SLOTS reply; the seed's own address stands for an empty one. */
static int read_slot_map(cluster_target *ct, const redisReply *r, const char *seed_host, char *err, size_t errlen)
{
    for (size_t s = 0; s < FL_CLUSTER_SLOTS; s++) ct->slot_node[s] = CT_NO_NODE;
    int rc = fl_cluster_slots_parse(r, seed_host, map_range, ct, err, errlen);
    count_owners(ct);
    return rc;
}

/* The next space-separated field of a CLUSTER NODES line from *p (within end). */
static bool next_field(const char **p, const char *end, const char **f, size_t *len)
{
    while (*p < end && **p == ' ') (*p)++;
    if (*p >= end) return false;
    *f = *p;
    while (*p < end && **p != ' ') (*p)++;
    *len = (size_t)(*p - *f);
    return true;
}

static bool has_flag(const char *flags, size_t len, const char *flag)
{
    size_t fl = strlen(flag);
    for (const char *f = flags, *end = flags + len; f < end;) {
        const char *comma = memchr(f, ',', (size_t)(end - f));
        size_t n = comma ? (size_t)(comma - f) : (size_t)(end - f);
        if (n == fl && !memcmp(f, flag, fl)) return true;
        f += n + 1;
    }
    return false;
}

/* Counts every mapped primary's replicas from a CLUSTER NODES reply: the replicas WAIT asks
 * for (a replica flagged failed is not counted; one that is only suspected is). CLUSTER
 * SLOTS is no help here: it leaves out replicas that have not replicated anything yet. */
static void count_replicas(cluster_target *ct, const redisReply *r, const char *seed_host)
{
    if (r->type != REDIS_REPLY_STRING) return;
    char(*ids)[41] = fl_xcalloc(ct->nnodes ? ct->nnodes : 1, sizeof *ids);
    for (int pass = 0; pass < 2; pass++) {
        for (const char *line = r->str, *stop = r->str + r->len; line < stop;) {
            const char *nl = memchr(line, '\n', (size_t)(stop - line));
            const char *end = nl ? nl : stop, *p = line;
            line = end + 1;
            const char *id, *addr, *flags, *master;
            size_t idl, addrl, flagsl, masterl;
            if (!next_field(&p, end, &id, &idl) || !next_field(&p, end, &addr, &addrl) ||
                !next_field(&p, end, &flags, &flagsl) || !next_field(&p, end, &master, &masterl) || idl > 40)
                continue;
            if (pass == 0 && has_flag(flags, flagsl, "master")) {
                const char *at = memchr(addr, '@', addrl), *colon;
                size_t hp = at ? (size_t)(at - addr) : addrl;
                if (!(colon = memrchr(addr, ':', hp))) continue;
                const char *host = addr;
                size_t hlen = (size_t)(colon - addr);
                if (hlen == 0) host = seed_host, hlen = strlen(seed_host);
                int port = atoi(colon + 1);
                for (size_t i = 0; i < ct->nnodes; i++)
                    if (ct->nodes[i].port == port && strlen(ct->nodes[i].host) == hlen &&
                        !memcmp(ct->nodes[i].host, host, hlen)) {
                        memcpy(ids[i], id, idl);
                        ids[i][idl] = 0;
                        ct->nodes[i].replicas = 0;
                    }
            } else if (pass == 1 && has_flag(flags, flagsl, "slave") && !has_flag(flags, flagsl, "fail")) {
                for (size_t i = 0; i < ct->nnodes; i++)
                    if (ids[i][0] && strlen(ids[i]) == masterl && !memcmp(ids[i], master, masterl))
                        ct->nodes[i].replicas++;
            }
        }
    }
    free(ids);
}

/* SCRIPT LOAD script on n; sha gets its SHA1. Returns 1 when loaded, 0 when refused (text
 * says why), -1 with err when the connection failed. */
static int script_load(ct_node *n, const char *script, char sha[41], char *text, size_t textlen, char *err,
                       size_t errlen)
{
    const char *argv[3] = {"SCRIPT", "LOAD", script};
    size_t lens[3] = {6, 4, strlen(script)};
    fl_error e;
    redisReply *r = fl_redis_conn_command(n->conn, 3, argv, lens, &e);
    if (!r) return fl_errorf(err, errlen, "redis-cluster: %s:%d: %s", n->host, n->port, e.msg);
    int rc = r->type == REDIS_REPLY_STRING && r->len == 40;
    if (rc) {
        memcpy(sha, r->str, 40);
        sha[40] = 0;
    } else {
        reply_text(text, textlen, r);
    }
    freeReplyObject(r);
    return rc;
}

/* The group script on n, tried once with no slot (it checks the ACL): n->group_sha, or ""
 * with text saying why n takes per-slot blocks only. Returns 0, or -1 with err. */
static int load_group_script(cluster_target *ct, ct_node *n, char *text, size_t textlen, char *err, size_t errlen)
{
    n->group_sha[0] = 0;
    char sha[41];
    int rc = script_load(n, group_script, sha, text, textlen, err, errlen);
    if (rc <= 0) return rc;
    const char *argv[5] = {"EVALSHA", sha, "0", ct->slot_prefix, "0"};
    size_t lens[5] = {7, 40, 1, strlen(ct->slot_prefix), 1};
    fl_error e;
    redisReply *r = fl_redis_conn_command(n->conn, 5, argv, lens, &e);
    if (!r) return fl_errorf(err, errlen, "redis-cluster: %s:%d: %s", n->host, n->port, e.msg);
    if (r->type == REDIS_REPLY_INTEGER)
        memcpy(n->group_sha, sha, sizeof sha);
    else
        reply_text(text, textlen, r);
    freeReplyObject(r);
    return 0;
}

/* Loads the slot checkpoint script on n (refused: -1 with err) and the group script (refused:
 * said once, and n takes per-slot blocks). Returns 0, or -1 with err. */
static int load_script(cluster_target *ct, ct_node *n, char *err, size_t errlen)
{
    static bool warned; /* once per process: a node's version and the ACL do not change often */
    char text[256] = "";
    int rc = script_load(n, slot_script, n->sha, text, sizeof text, err, errlen);
    if (rc < 0) return -1;
    if (rc == 0)
        return fl_errorf(err, errlen, "redis-cluster: %s:%d: SCRIPT LOAD refused: %s", n->host, n->port, text);
    if (load_group_script(ct, n, text, sizeof text, err, errlen)) return -1;
    if (!n->group_sha[0] && !warned) {
        warned = true;
        log_warn("redis-cluster: %s:%d: the group script is refused (%s): each slot of a group goes in a "
                 "MULTI/EXEC of its own there (slower; the script needs Redis 7, and EXISTS and HINCRBY in "
                 "the ACL)",
                 n->host, n->port, text);
    }
    return 0;
}

/* CLIENT SETNAME fastlane-apply:NAME on n's connection, so that the next run's fence finds
 * it; *id (when not NULL) gets its CLIENT ID, "" when refused. A refusal (an ACL without
 * CLIENT) leaves the connection unnamed. Returns 0, or -1 with err when the connection failed. */
static int name_connection(cluster_target *ct, ct_node *n, char id[24], char *err, size_t errlen)
{
    const char *argv[3] = {"CLIENT", "SETNAME", ct->client_name};
    size_t lens[3] = {6, 7, strlen(ct->client_name)};
    fl_error e;
    redisReply *r = fl_redis_conn_command(n->conn, 3, argv, lens, &e);
    if (!r) return fl_errorf(err, errlen, "redis-cluster: %s:%d: %s", n->host, n->port, e.msg);
    freeReplyObject(r);
    if (!id) return 0;
    id[0] = 0;
    argv[1] = "ID";
    lens[1] = 2;
    if (!(r = fl_redis_conn_command(n->conn, 2, argv, lens, &e)))
        return fl_errorf(err, errlen, "redis-cluster: %s:%d: %s", n->host, n->port, e.msg);
    if (r->type == REDIS_REPLY_INTEGER) snprintf(id, 24, "%lld", r->integer);
    freeReplyObject(r);
    return 0;
}

/* "host:port" of n, for the lease's messages. */
static const char *node_text(const ct_node *n, char buf[300])
{
    snprintf(buf, 300, "%s:%d", n->host, n->port);
    return buf;
}

/* Lists n's connections named like this applier's but for n's own (fl_applier_clients) into
 * ids. Returns 1 when listed; 0 when not, with the reply's text in why; -1 with err. */
static int list_other_clients(cluster_target *ct, ct_node *n, fl_buf *ids, char why[256], char *err, size_t errlen)
{
    char node[300];
    return fl_applier_clients(&ct->lease, n->conn, node_text(n, node), n->client_id, ids, why, err, errlen);
}

/* Ends, on n, the connections an earlier run of this applier left there (named
 * fastlane-apply:NAME, and not this run's), so that blocks still in their input buffers never
 * run after n's slot checkpoints are read. Without CLIENT LIST or CLIENT KILL in the ACL it
 * says so once; the slot checkpoint script (C2) still keeps such blocks from moving a slot
 * checkpoint. Returns 0, or -1 with err when the connection failed. */
static int fence_node(cluster_target *ct, ct_node *n, char *err, size_t errlen)
{
    static bool warned; /* once per process: the ACL does not change often */
    if (!n->client_id[0] && name_connection(ct, n, n->client_id, err, errlen)) return -1;
    fl_buf ids = {0};
    char text[256];
    if (list_other_clients(ct, n, &ids, text, err, errlen) < 0) return -1;
    fl_error e;
    redisReply *r;
    fl_buf_putc(&ids, 0);
    for (char *id = (char *)ids.data, *sp; *id; id = sp + 1) {
        sp = strchr(id, ' ');
        *sp = 0;
        const char *kargv[4] = {"CLIENT", "KILL", "ID", id};
        size_t klens[4] = {6, 4, 2, strlen(id)};
        if (!(r = fl_redis_conn_command(n->conn, 4, kargv, klens, &e))) {
            fl_buf_free(&ids);
            return fl_errorf(err, errlen, "redis-cluster: %s:%d: %s", n->host, n->port, e.msg);
        }
        if (r->type == REDIS_REPLY_INTEGER && r->integer > 0)
            log_warn("redis-cluster: %s:%d: ended a previous connection of this applier (client %s) before "
                     "reading the slot checkpoints: nothing it still had queued can run",
                     n->host, n->port, id);
        else if (r->type == REDIS_REPLY_ERROR)
            reply_text(text, sizeof text, r);
        freeReplyObject(r);
    }
    fl_buf_free(&ids);
    if (text[0] && !warned) {
        warned = true;
        log_warn("redis-cluster: %s:%d: cannot end this applier's previous connections: %s; the slot "
                 "checkpoints still keep what they had queued from moving a checkpoint",
                 n->host, n->port, text);
    }
    n->fenced = true;
    return 0;
}

/* One applier per name (fl-apply/applier_lease.h): the lease lives on the node of its key. */
static int claim_lease(cluster_target *ct, char *err, size_t errlen)
{
    ct_node *n = node_of_key(ct, ct->lease.key);
    char node[300];
    return fl_applier_lease_claim(&ct->lease, n->conn, node_text(n, node), n->client_id, err, errlen);
}

static int renew_lease(cluster_target *ct, char *err, size_t errlen)
{
    ct_node *n = node_of_key(ct, ct->lease.key);
    char node[300];
    return fl_applier_lease_renew(&ct->lease, n->conn, node_text(n, node), err, errlen);
}

/* Names every connection, claims the lease (claim_lease: another applier of this name that
 * runs stops this one) and fences every primary connected now (fence_node); a node met later
 * (a slot checkpoint redirected to it, meet_node) is fenced before its first slot checkpoint
 * is read. Returns 0, 1 with err (stop), or -1 with err when a connection failed. */
static int cluster_fence(void *impl, char *err, size_t errlen)
{
    cluster_target *ct = impl;
    ct->fencing = true;
    for (size_t i = 0; i < ct->nnodes; i++)
        if (ct->nodes[i].conn && name_connection(ct, &ct->nodes[i], ct->nodes[i].client_id, err, errlen))
            return -1;
    int rc = claim_lease(ct, err, errlen);
    if (rc) return rc;
    for (size_t i = 0; i < ct->nnodes; i++)
        if (ct->nodes[i].conn && !ct->nodes[i].fenced && fence_node(ct, &ct->nodes[i], err, errlen)) return -1;
    return 0;
}

/* First contact with a node a redirection named: connects, loads the script and, for an
 * applier, fences the node (C4) before anything read there is trusted. Returns 0 or -1 with
 * err. */
static int meet_node(cluster_target *ct, ct_node *n, char *err, size_t errlen)
{
    if (!n->conn) {
        fl_error e;
        if (!(n->conn = connect_node(ct, n->host, n->port, &e))) return fl_errorf(err, errlen, "%s", e.msg);
        if (load_script(ct, n, err, errlen)) return -1;
    }
    return ct->fencing && !n->fenced ? fence_node(ct, n, err, errlen) : 0;
}

static void cluster_close(void *impl)
{
    cluster_target *ct = impl;
    if (!ct) return;
    if (ct->lease.held && !ct->blocks) /* nothing in flight: the next run takes over at once */
        fl_applier_lease_release(&ct->lease, node_of_key(ct, ct->lease.key)->conn);
    for (size_t i = 0; i < ct->nnodes; i++) {
        fl_redis_conn_close(ct->nodes[i].conn);
        free(ct->nodes[i].host);
        fl_buf_free(&ct->nodes[i].out);
        fl_buf_free(&ct->nodes[i].call);
        free(ct->nodes[i].q);
    }
    free(ct->nodes);
    fl_redis_cluster_url_free(&ct->url);
    free(ct->tags);
    free(ct->ckey);
    free(ct->client_name);
    fl_applier_lease_free(&ct->lease);
    free(ct->order);
    free(ct->order_tmp);
    free(ct->run);
    free(ct->slot_prefix);
    fl_buf_free(&ct->commands);
    free(ct->expanded);
    fl_buf_free(&ct->matched);
    free(ct->poll_conns);
    free(ct->poll_write);
    free(ct->poll_ready);
    free(ct);
}

/* Reads the slot map from the first seed (or known primary) that answers and connects to
 * every primary not connected yet. Returns 0, or -1 with e. */
static int load_slot_map(cluster_target *ct, fl_error *e)
{
    bool mapped = false;
    size_t known = ct->nnodes;
    for (size_t i = 0; i < ct->url.nseeds + known && !mapped; i++) {
        const char *host = i < ct->url.nseeds ? ct->url.seeds[i].host : ct->nodes[i - ct->url.nseeds].host;
        int port = i < ct->url.nseeds ? ct->url.seeds[i].port : ct->nodes[i - ct->url.nseeds].port;
        fl_redis_conn *c = connect_node(ct, host, port, e);
        if (!c) continue;
        const char *argv[2] = {"CLUSTER", "SLOTS"};
        size_t lens[2] = {7, 5};
        redisReply *r = fl_redis_conn_command(c, 2, argv, lens, e);
        if (r) {
            char seed[256];
            snprintf(seed, sizeof seed, "%s", host); /* node_for may move ct->nodes */
            mapped = read_slot_map(ct, r, seed, e->msg, sizeof e->msg) == 0;
            freeReplyObject(r);
            const char *nargv[2] = {"CLUSTER", "NODES"};
            if (mapped && (r = fl_redis_conn_command(c, 2, nargv, lens, e)) != NULL) {
                count_replicas(ct, r, seed);
                freeReplyObject(r);
            }
        }
        fl_redis_conn_close(c);
    }
    if (!mapped) return -1; /* e says why the last one failed */
    for (size_t s = 0; s < FL_CLUSTER_SLOTS; s++)
        if (ct->slot_node[s] == CT_NO_NODE)
            return fl_error_set(e, false, 0,
                                "redis-cluster: slot %zu has no primary (the cluster is not fully set up)", s);
    for (size_t i = 0; i < ct->nnodes; i++) {
        ct_node *n = &ct->nodes[i];
        if (n->conn) continue;
        n->conn = connect_node(ct, n->host, n->port, e);
        if (!n->conn) return -1;
        if (load_script(ct, n, e->msg, sizeof e->msg)) return -1;
    }
    return 0;
}

static void *cluster_open(const fl_config_apply *cfg, fl_error *e)
{
    fl_error_clear(e);
    cluster_target *ct = fl_xcalloc(1, sizeof *ct);
    if (fl_redis_cluster_url_parse(cfg->target, &ct->url, e->msg, sizeof e->msg)) {
        e->permanent = true;
        goto fail;
    }
    const char *name = cfg->name ? cfg->name : "default";
    if (strpbrk(name, "{}")) {
        fl_error_set(e, true, 0,
                     "redis-cluster: the applier's name may not hold '{' or '}' (its checkpoint keys carry "
                     "a hash tag)");
        goto fail;
    }
    size_t klen = strlen(CT_CHECKPOINT_PREFIX) + strlen(name) + 1;
    ct->ckey = fl_xmalloc(klen);
    snprintf(ct->ckey, klen, "%s%s", CT_CHECKPOINT_PREFIX, name);
    ct->slot_prefix = fl_xmalloc(klen + 2);
    snprintf(ct->slot_prefix, klen + 2, "%s:{", ct->ckey);
    size_t cn = strlen(CT_CLIENT_PREFIX) + strlen(name) + 1;
    ct->client_name = fl_xmalloc(cn);
    snprintf(ct->client_name, cn, "%s%s", CT_CLIENT_PREFIX, name);
    fl_applier_lease_init(&ct->lease, "redis-cluster", name);
    ct->tags = fl_xmalloc(FL_CLUSTER_SLOTS * sizeof *ct->tags);
    fl_cluster_slot_tags(ct->tags);
    ct->max_atomic_ops = cfg->max_atomic_ops;
    ct->tls = (fl_redis_tls){cfg->target_tls_ca, cfg->target_tls_cert, cfg->target_tls_key};
    ct->wait_replicas = cfg->cluster_wait_replicas;
    ct->wait_timeout_ms = cfg->cluster_wait_timeout_ms ? cfg->cluster_wait_timeout_ms : 1000;
    ct->rewound_from = UINT64_MAX;

    if (load_slot_map(ct, e)) goto fail;
    return ct;
fail:
    cluster_close(ct);
    return NULL;
}

/* ---- checkpoints ---- */

static int parse_u64(const redisReply *v, uint64_t *out)
{
    char buf[32];
    if (v->type != REDIS_REPLY_STRING || v->len == 0 || v->len >= sizeof buf) return -1;
    memcpy(buf, v->str, v->len);
    buf[v->len] = 0;
    char *end;
    errno = 0;
    *out = strtoull(buf, &end, 10);
    return errno || *end || buf[0] == '-' ? -1 : 0;
}

/* The address of a redirection ("MOVED <slot> <host>:<port>", "ASK ..."). Returns 0 or -1. */
static int redirect_address(const redisReply *r, char *host, size_t hostcap, int *port)
{
    const char *sp = memchr(r->str, ' ', r->len);
    const char *addr = sp ? memchr(sp + 1, ' ', r->len - (size_t)(sp + 1 - r->str)) : NULL;
    const char *colon = addr ? memrchr(addr, ':', r->len - (size_t)(addr - r->str)) : NULL;
    if (!colon || colon == addr + 1) return -1;
    size_t hlen = (size_t)(colon - addr - 1);
    if (hlen >= hostcap) return -1;
    memcpy(host, addr + 1, hlen);
    host[hlen] = 0;
    *port = atoi(colon + 1);
    return *port > 0 && *port < 65536 ? 0 : -1;
}

/* A slot checkpoint that MOVED: the slot is now the named primary's (connected if it is new),
 * and its checkpoint is read there. Returns 0 or -1 with err. */
static int follow_moved(cluster_target *ct, const redisReply *moved, uint16_t slot, const char *key, size_t klen,
                        char *err, size_t errlen)
{
    char host[256];
    int port;
    if (redirect_address(moved, host, sizeof host, &port))
        return fl_errorf(err, errlen, "redis-cluster: a MOVED redirection without an address");
    ct_node *n = node_for(ct, host, strlen(host), port);
    if (meet_node(ct, n, err, errlen)) return -1;
    fl_error e;
    ct->slot_node[slot] = (uint16_t)(n - ct->nodes);
    count_owners(ct);
    const char *argv[3] = {"HGET", key, "seq"};
    size_t lens[3] = {4, klen, 3};
    redisReply *r = fl_redis_conn_command(n->conn, 3, argv, lens, &e);
    if (!r) return fl_errorf(err, errlen, "redis-cluster: %s:%d: %s", n->host, n->port, e.msg);
    int rc = 0;
    if (r->type == REDIS_REPLY_NIL)
        ct->slot_seq[slot] = 0;
    else if (parse_u64(r, &ct->slot_seq[slot])) {
        char text[256];
        reply_text(text, sizeof text, r);
        rc = fl_errorf(err, errlen, "redis-cluster: %s:%d: HGET %s seq: %s (the slot moved again: reconnecting)",
                       n->host, n->port, key, text);
    }
    freeReplyObject(r);
    return rc;
}

/* HGET key seq asked again of the node an ASK reply names (ASKING first), met (and fenced)
 * first. */
static int follow_ask(cluster_target *ct, const redisReply *ask, const char *key, size_t klen, uint64_t *seq,
                      char *err, size_t errlen)
{
    char host[256];
    int port;
    if (redirect_address(ask, host, sizeof host, &port))
        return fl_errorf(err, errlen, "redis-cluster: an ASK redirection without an address");
    ct_node *n = node_for(ct, host, strlen(host), port);
    if (meet_node(ct, n, err, errlen)) return -1;
    const char *a1[1] = {"ASKING"};
    size_t l1[1] = {6};
    const char *a2[3] = {"HGET", key, "seq"};
    size_t l2[3] = {4, klen, 3};
    fl_redis_conn_append(n->conn, 1, a1, l1);
    fl_redis_conn_append(n->conn, 3, a2, l2);
    fl_error e;
    redisReply *r1 = fl_redis_conn_reply(n->conn, &e);
    redisReply *r2 = r1 ? fl_redis_conn_reply(n->conn, &e) : NULL;
    int rc = -1;
    if (!r2)
        snprintf(err, errlen, "redis-cluster: %s:%d: %s", n->host, n->port, e.msg);
    else if (r2->type == REDIS_REPLY_NIL)
        *seq = 0, rc = 0;
    else if (parse_u64(r2, seq) == 0)
        rc = 0;
    else
        snprintf(err, errlen, "redis-cluster: %s: not a slot checkpoint", key);
    if (r1) freeReplyObject(r1);
    if (r2) freeReplyObject(r2);
    return rc;
}

/* Reads every slot's checkpoint into slot_seq, pipelined per primary; a slot that moved
 * (MOVED) is read where it is now, and mapped there. Returns 0, or -1 with err. */
static int read_slot_checkpoints(cluster_target *ct, char *err, size_t errlen)
{
    char key[300];
    fl_error e;
    for (size_t i = 0; i < ct->nnodes; i++) {
        ct_node *n = &ct->nodes[i];
        size_t asked = 0;
        for (uint16_t s = 0; s < FL_CLUSTER_SLOTS; s++) {
            if (ct->slot_node[s] != i) continue;
            size_t klen = slot_key(ct, s, key, sizeof key);
            const char *argv[3] = {"HGET", key, "seq"};
            size_t lens[3] = {4, klen, 3};
            fl_redis_conn_append(n->conn, 3, argv, lens);
            asked++;
        }
        for (uint16_t s = 0; asked && s < FL_CLUSTER_SLOTS; s++) {
            if (ct->slot_node[s] != i) continue;
            n = &ct->nodes[i]; /* follow_moved may have added a node */
            redisReply *r = fl_redis_conn_reply(n->conn, &e);
            if (!r) return fl_errorf(err, errlen, "redis-cluster: %s:%d: %s", n->host, n->port, e.msg);
            size_t klen = slot_key(ct, s, key, sizeof key);
            int rc = 0;
            if (r->type == REDIS_REPLY_NIL)
                ct->slot_seq[s] = 0;
            else if (r->type == REDIS_REPLY_ERROR && r->len > 6 && !memcmp(r->str, "MOVED ", 6))
                rc = follow_moved(ct, r, s, key, klen, err, errlen);
            else if (r->type == REDIS_REPLY_ERROR && r->len > 4 && !memcmp(r->str, "ASK ", 4))
                rc = follow_ask(ct, r, key, klen, &ct->slot_seq[s], err, errlen);
            else if (parse_u64(r, &ct->slot_seq[s])) {
                char text[256];
                reply_text(text, sizeof text, r);
                rc = fl_errorf(err, errlen, "redis-cluster: %s:%d: HGET %s seq: %s", n->host, n->port, key, text);
            }
            freeReplyObject(r);
            n = &ct->nodes[i];
            if (rc) {
                /* the rest of the pipeline's replies go with the connection */
                fl_redis_conn_close(n->conn);
                n->conn = NULL;
                return -1;
            }
        }
    }
    return 0;
}

static int cluster_read_checkpoint(void *impl, fl_checkpoint *cp, char *err, size_t errlen)
{
    cluster_target *ct = impl;
    memset(cp, 0, sizeof *cp);
    if (pump(ct, 0, true, err, errlen)) return -1;
    if (read_slot_checkpoints(ct, err, errlen)) return -1;
    ct_node *n = node_of_key(ct, ct->ckey);
    const char *argv[2] = {"HGETALL", ct->ckey};
    size_t lens[2] = {7, strlen(ct->ckey)};
    fl_error e;
    redisReply *r = fl_redis_conn_command(n->conn, 2, argv, lens, &e);
    if (!r) return fl_errorf(err, errlen, "redis-cluster: %s:%d: %s", n->host, n->port, e.msg);
    int rc = -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
        char text[256];
        reply_text(text, sizeof text, r);
        snprintf(err, errlen, "redis-cluster: %s:%d: HGETALL %s: %s", n->host, n->port, ct->ckey, text);
        goto out;
    }
    bool have_seq = false;
    uint64_t shown = 0;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
        bool bad = false;
        if (k->len == 3 && !memcmp(k->str, "seq", 3))
            bad = parse_u64(v, &cp->seq) != 0, have_seq = true;
        else if (k->len == 2 && !memcmp(k->str, "ts", 2))
            bad = parse_u64(v, &cp->ts) != 0;
        else if (k->len == 10 && !memcmp(k->str, "fold_until", 10))
            bad = parse_u64(v, &shown) != 0;
        else if (k->len == 4 && !memcmp(k->str, "gtid", 4)) {
            bad = v->len >= sizeof cp->gtid;
            if (!bad) memcpy(cp->gtid, v->str, v->len), cp->gtid[v->len] = 0;
        } else if (k->len == 7 && !memcmp(k->str, "journal", 7)) {
            bad = v->len >= sizeof cp->journal;
            if (!bad) memcpy(cp->journal, v->str, v->len), cp->journal[v->len] = 0;
        }
        if (bad) {
            snprintf(err, errlen, "redis-cluster: %s: field %.*s is not valid", ct->ckey,
                     (int)(k->len > 32 ? 32 : k->len), k->str);
            goto out;
        }
    }
    ct->written_seq = cp->seq;
    ct->shown = shown > cp->seq ? shown : cp->seq;
    cp->fold_until = shown > cp->seq ? shown : 0; /* a replay or rebuild was cut short: fold the rest */
    ct->last_cp = *cp;
    ct->last_seq = cp->seq;
    uint64_t top = 0;
    for (size_t s = 0; s < FL_CLUSTER_SLOTS; s++)
        if (ct->slot_seq[s] > top) top = ct->slot_seq[s];
    if (top > cp->seq)
        log_info("redis-cluster: resuming at seq %" PRIu64 "; slots already hold up to seq %" PRIu64
                 ", which are not applied to them again",
                 cp->seq, top);
    rc = have_seq ? 0 : 1;
out:
    freeReplyObject(r);
    return rc;
}

/* Writes the applier's checkpoint once everything submitted is acknowledged. */
static int write_checkpoint(cluster_target *ct, char *err, size_t errlen)
{
    if (ct->last_cp.seq <= ct->written_seq) return 0;
    ct_node *n = node_of_key(ct, ct->ckey);
    char seq[24], ts[24], shown[24];
    if (ct->last_cp.seq > ct->shown) ct->shown = ct->last_cp.seq;
    snprintf(seq, sizeof seq, "%" PRIu64, ct->last_cp.seq);
    snprintf(ts, sizeof ts, "%" PRIu64, ct->last_cp.ts);
    snprintf(shown, sizeof shown, "%" PRIu64, ct->shown);
    const char *argv[12] = {"HSET",           ct->ckey, "seq", seq,       "gtid",
                            ct->last_cp.gtid, "ts",     ts,    "journal", ct->last_cp.journal,
                            "fold_until",     shown};
    size_t lens[12];
    for (int i = 0; i < 12; i++) lens[i] = strlen(argv[i]);
    fl_error e;
    redisReply *r = fl_redis_conn_command(n->conn, 12, argv, lens, &e);
    if (!r) return fl_errorf(err, errlen, "redis-cluster: %s:%d: %s", n->host, n->port, e.msg);
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR) {
        char text[256];
        reply_text(text, sizeof text, r);
        const char *advice = advice_for(text);
        rc = fl_errorf(err, errlen, "redis-cluster: %s:%d: writing %s: %s%s%s%s", n->host, n->port, ct->ckey, text,
                       advice[0] ? " (" : "", advice, advice[0] ? ")" : "");
    } else {
        ct->written_seq = ct->last_cp.seq;
    }
    freeReplyObject(r);
    return rc;
}

/* Asks every primary written since its replicas last confirmed to WAIT until
 * min(cluster_wait_replicas, its replicas) of them have everything it acknowledged (the
 * pipeline is drained). Returns 0 when every primary is confirmed, 1 when one is not (yet):
 * the resume point must not move; -1 with err. */
static int confirm_replicated(cluster_target *ct, char *err, size_t errlen)
{
    int64_t now = fl_now_ms();
    int held = 0;
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%u", ct->wait_timeout_ms);
    for (size_t i = 0; i < ct->nnodes; i++) {
        ct_node *n = &ct->nodes[i];
        if (!n->unconfirmed || !n->conn) continue;
        uint32_t need = n->replicas < ct->wait_replicas ? n->replicas : ct->wait_replicas;
        if (need == 0) {
            n->unconfirmed = false;
            continue;
        }
        if (now < n->next_wait_ms) {
            held = 1;
            continue;
        }
        char needs[16];
        snprintf(needs, sizeof needs, "%u", need);
        const char *argv[3] = {"WAIT", needs, timeout};
        size_t lens[3] = {4, strlen(needs), strlen(timeout)};
        fl_error e;
        redisReply *r = fl_redis_conn_command(n->conn, 3, argv, lens, &e);
        if (!r) return fl_errorf(err, errlen, "redis-cluster: %s:%d: %s", n->host, n->port, e.msg);
        if (r->type == REDIS_REPLY_INTEGER && r->integer >= (long long)need) {
            n->unconfirmed = false;
        } else if (r->type == REDIS_REPLY_INTEGER) {
            held = 1;
            n->next_wait_ms = now + CT_WAIT_RETRY_MS;
            log_warn("redis-cluster: %s:%d: %lld of %u replicas confirmed the writes within %u ms; the resume "
                     "point stays at seq %" PRIu64 " until they do (asked again in %d s)",
                     n->host, n->port, r->integer, need, ct->wait_timeout_ms, ct->written_seq,
                     CT_WAIT_RETRY_MS / 1000);
        } else {
            char text[256];
            reply_text(text, sizeof text, r);
            freeReplyObject(r);
            return fl_errorf(err, errlen,
                             "redis-cluster: %s:%d: WAIT: %s (grant WAIT, or set [apply] "
                             "cluster_wait_replicas = 0 to resume without replica confirmation)",
                             n->host, n->port, text);
        }
        freeReplyObject(r);
    }
    return held;
}

static int cluster_flush(void *impl, char *err, size_t errlen)
{
    cluster_target *ct = impl;
    if (pump(ct, 0, true, err, errlen)) return -1;
    if (renew_lease(ct, err, errlen)) return -1;
    if (ct->last_cp.seq <= ct->written_seq) return 0;
    int held = confirm_replicated(ct, err, errlen);
    if (held) return held < 0 ? -1 : 0;
    return write_checkpoint(ct, err, errlen);
}

static uint32_t cluster_in_flight(const void *impl)
{
    const cluster_target *ct = impl;
    return ct->pending;
}

/* Whether slot already holds the effect of transaction seq. */
static bool slot_holds(const cluster_target *ct, uint16_t slot, uint64_t seq)
{
    return seq < ct->rewound_from && seq <= ct->slot_seq[slot];
}

static bool cluster_holds(const void *impl, const char *key, uint32_t key_len, uint64_t seq)
{
    const cluster_target *ct = impl;
    return slot_holds(ct, fl_cluster_key_slot(key, key_len), seq);
}

static void cluster_rewind(void *impl, uint64_t seq)
{
    cluster_target *ct = impl;
    ct->rewound_from = seq;
    if (seq && ct->last_seq >= seq) ct->last_seq = seq - 1; /* what comes next is new, not an early chunk */
    ct->written_seq = 0; /* the resume point follows the replay (ct->shown keeps where it ends) */
}

static void cluster_will_show(void *impl, uint64_t seq)
{
    cluster_target *ct = impl;
    ct->shown = seq; /* earlier marks may be another journal's seqs */
}

static int order_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts ct->order[0..n) (slot << 32 | index, the indexes rising) by slot, stable: a radix sort
 * of the 14 slot bits in two passes once there are many, else qsort. */
static void sort_by_slot(cluster_target *ct, size_t n)
{
    if (n < 256) {
        if (n > 1) qsort(ct->order, n, sizeof *ct->order, order_cmp);
        return;
    }
    if (n > ct->order_tmp_cap) {
        ct->order_tmp_cap = n;
        ct->order_tmp = fl_xrealloc(ct->order_tmp, n * sizeof *ct->order_tmp);
    }
    uint64_t *from = ct->order, *to = ct->order_tmp;
    for (int shift = 32; shift < 46; shift += 7) {
        size_t count[129] = {0};
        for (size_t i = 0; i < n; i++) count[((from[i] >> shift) & 127) + 1]++;
        for (size_t d = 1; d < 129; d++) count[d] += count[d - 1];
        for (size_t i = 0; i < n; i++) to[count[(from[i] >> shift) & 127]++] = from[i];
        uint64_t *t = from;
        from = to;
        to = t;
    }
    /* two passes: the result is back in ct->order */
}

/* Appends the slot checkpoint script: the slot's checkpoint goes from its seq to seq. */
static void put_slot_checkpoint(cluster_target *ct, ct_node *n, uint16_t slot, uint64_t seq)
{
    char key[300];
    size_t klen = slot_key(ct, slot, key, sizeof key);
    fl_resp_header(&n->out, '*', 6);
    fl_resp_arg(&n->out, "EVALSHA", 7);
    fl_resp_arg(&n->out, n->sha, 40);
    fl_resp_arg(&n->out, "1", 1);
    fl_resp_arg(&n->out, key, klen);
    fl_resp_arg_u64(&n->out, ct->slot_seq[slot]);
    fl_resp_arg_u64(&n->out, seq);
    ct->slot_seq[slot] = seq;
}

/* ---- one script per primary ----
 *
 * A group's slots on one primary go, when the primary took the group script, in one call of
 * it (EVALSHA, no declared keys, so that routing does not refuse a call across slots): the
 * arguments described at group_script, built in the node's call buffer and sent when the
 * group is all there (or the call reaches CT_CALL_MAX_OPS operations or CT_CALL_MAX_BYTES).
 * A slot with more than CT_CALL_MAX_RUN operations goes in a per-slot block: past a few
 * operations, MULTI/EXEC costs Redis less than the script's calls (each redis.call converts
 * its arguments and reply once more). So does every group for CT_SCRIPT_PAUSE_MS after a
 * call fell back. */

static void call_arg(ct_node *n, const void *p, size_t len)
{
    fl_resp_arg(&n->call, p, len);
    n->call_args++;
}

static void call_arg_u64(ct_node *n, uint64_t v)
{
    fl_resp_arg_u64(&n->call, v);
    n->call_args++;
}

/* The command in RESP (an array of bulk strings, as resp.h writes them) at cmds + p: its
 * argument count in *argc, where its arguments start in *args; returns where it ends. */
static size_t resp_command(const uint8_t *cmds, size_t p, size_t *argc, size_t *args)
{
    size_t q = p + 1, count = 0;
    while (cmds[q] != '\r') count = count * 10 + (size_t)(cmds[q++] - '0');
    *args = q += 2;
    for (size_t a = 0; a < count; a++) {
        size_t l = 0;
        for (q++; cmds[q] != '\r'; q++) l = l * 10 + (size_t)(cmds[q] - '0');
        q += 2 + l + 2;
    }
    *argc = count;
    return q;
}

/* Slot's operations ops[0..nops) of transaction seq into n's call, with its checkpoint moving
 * to seq (0: an early chunk, which leaves it where it is): its checkpoint key, the step, the
 * shape (group_script), the keys to probe and the commands' arguments. */
static void call_put_slot(cluster_target *ct, ct_node *n, uint16_t slot, const fl_cache_op *ops, size_t nops,
                          uint64_t seq)
{
    fl_buf_reset(&ct->commands);
    for (size_t k = 0, used; k < nops; k += used) fl_resp_run(&ct->commands, &ops[k], nops - k, &used);
    bool one_key = true; /* then the first command is the probe */
    for (size_t k = 1; k < nops && one_key; k++)
        one_key = ops[k].key_len == ops[0].key_len && !memcmp(ops[k].key, ops[0].key, ops[0].key_len);
    if (!n->call_slots) n->call_first_slot = slot;
    char key[300];
    call_arg(n, key, slot_key(ct, slot, key, sizeof key));
    call_arg_u64(n, seq ? seq - ct->slot_seq[slot] : 0);
    const uint8_t *cmds = ct->commands.data;
    size_t len = ct->commands.len, argc, args;
    uint8_t shape[1 + 3 * 3 * CT_CALL_MAX_RUN]; /* an operation is at most 3 commands (DEL, HSET, EXPIRE) */
    size_t slen = 0;
    shape[slen++] = (uint8_t)(one_key ? 0 : nops); /* nops <= CT_CALL_MAX_RUN */
    for (size_t p = 0; p < len;) {
        p = resp_command(cmds, p, &argc, &args); /* argc < 2^24: a row has at most 4096 columns */
        shape[slen++] = (uint8_t)(argc >> 16);
        shape[slen++] = (uint8_t)(argc >> 8);
        shape[slen++] = (uint8_t)argc;
    }
    call_arg(n, shape, slen);
    for (size_t k = 0; !one_key && k < nops; k++) call_arg(n, ops[k].key, ops[k].key_len);
    for (size_t p = 0, end; p < len; p = end) {
        end = resp_command(cmds, p, &argc, &args);
        fl_buf_put(&n->call, cmds + args, end - args);
        n->call_args += (uint32_t)argc;
    }
    n->call_ops += (uint32_t)nops;
    n->call_slots++;
    if (seq) ct->slot_seq[slot] = seq;
}

/* Sends n's call (when it holds a slot) as one EVALSHA, expected as one block of seq. */
static void call_close(cluster_target *ct, ct_node *n, uint64_t seq)
{
    if (!n->call_slots) return;
    fl_resp_header(&n->out, '*', 5 + (size_t)n->call_args);
    fl_resp_arg(&n->out, "EVALSHA", 7);
    fl_resp_arg(&n->out, n->group_sha, 40);
    fl_resp_arg(&n->out, "0", 1);
    fl_resp_arg_str(&n->out, ct->slot_prefix);
    fl_resp_arg_u64(&n->out, seq);
    fl_buf_put(&n->out, n->call.data, n->call.len);
    queue_push(ct, n, seq, n->call_slots, n->call_first_slot, true);
    fl_buf_reset(&n->call);
    n->call_args = n->call_ops = n->call_slots = 0;
}

/* ---- deleting a rule's keys by pattern ----
 *
 * SCAN cannot run inside MULTI, and each primary holds only its slots' keys. So before a
 * transaction with DEL_MATCH operations is sent, the pipeline is drained (everything earlier
 * is applied), every primary is scanned (SCAN MATCH; the applier's own fastlane:... keys are
 * never touched), and each pattern becomes one DEL operation per key found, in its place in
 * the transaction: the deletions of each slot then go in that slot's MULTI/EXEC with the
 * transaction's other operations there and its slot checkpoint. A key another client
 * creates between the SCAN and the EXEC survives, as on a single Redis. */

/* Appends the keys matching op's pattern on n (u32 length, bytes) to ct->matched. */
static int scan_node(cluster_target *ct, ct_node *n, const fl_cache_op *op, char *err, size_t errlen)
{
    char cursor[32] = "0";
    do {
        const char *argv[6] = {"SCAN", cursor, "MATCH", op->key, "COUNT", "1000"};
        size_t lens[6] = {4, strlen(cursor), 5, op->key_len, 5, 4};
        fl_error e;
        redisReply *r = fl_redis_conn_command(n->conn, 6, argv, lens, &e);
        if (!r) return fl_errorf(err, errlen, "redis-cluster: %s:%d: %s", n->host, n->port, e.msg);
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY || r->element[0]->len >= sizeof cursor) {
            char text[256];
            reply_text(text, sizeof text, r);
            freeReplyObject(r);
            return fl_errorf(err, errlen, "redis-cluster: %s:%d: SCAN MATCH %.*s for %s: %s", n->host, n->port,
                             (int)(op->key_len > 100 ? 100 : op->key_len), op->key, op->rule ? op->rule : "a rule",
                             text);
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len);
        cursor[r->element[0]->len] = 0;
        const redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            const redisReply *k = keys->element[i];
            if (k->type != REDIS_REPLY_STRING || (k->len >= 9 && !memcmp(k->str, "fastlane:", 9))) continue;
            uint32_t len = (uint32_t)k->len;
            fl_buf_put(&ct->matched, &len, sizeof len);
            fl_buf_put(&ct->matched, k->str, k->len);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0"));
    return 0;
}

/* ops with every DEL_MATCH replaced by the DELs of the keys it matches on every primary, in
 * *view (ct->expanded); *view = *ops when there is none. Returns 0, or -1 with err. */
static int expand_matches(cluster_target *ct, const fl_cache_ops *ops, fl_cache_ops *view, char *err,
                          size_t errlen)
{
    *view = *ops;
    size_t nmatch = 0;
    for (size_t i = 0; i < ops->nops; i++) nmatch += ops->ops[i].kind == FL_CACHE_DEL_MATCH;
    if (!nmatch) return 0;
    if (pump(ct, 0, true, err, errlen)) return -1; /* everything before is applied */
    fl_buf_reset(&ct->matched);
    size_t *ends = fl_xmalloc(nmatch * sizeof *ends); /* where each pattern's keys end in matched */
    for (size_t i = 0, m = 0; i < ops->nops; i++) {
        const fl_cache_op *op = &ops->ops[i];
        if (op->kind != FL_CACHE_DEL_MATCH) continue;
        log_info("redis-cluster: %s: deleting the keys matching %.*s on every primary",
                 op->rule ? op->rule : "rule", (int)(op->key_len > 200 ? 200 : op->key_len), op->key);
        for (size_t k = 0; k < ct->nnodes; k++)
            if (ct->nodes[k].conn && scan_node(ct, &ct->nodes[k], op, err, errlen)) {
                free(ends);
                return -1;
            }
        ends[m++] = ct->matched.len;
    }
    size_t nkeys = 0;
    for (size_t off = 0; off < ct->matched.len; nkeys++) {
        uint32_t len;
        memcpy(&len, ct->matched.data + off, sizeof len);
        off += sizeof len + len;
    }
    size_t need = ops->nops - nmatch + nkeys;
    if (need > ct->expanded_cap) {
        ct->expanded_cap = need;
        ct->expanded = fl_xrealloc(ct->expanded, ct->expanded_cap * sizeof *ct->expanded);
    }
    size_t n = 0, off = 0;
    for (size_t i = 0, m = 0; i < ops->nops; i++) {
        if (ops->ops[i].kind != FL_CACHE_DEL_MATCH) {
            ct->expanded[n++] = ops->ops[i];
            continue;
        }
        for (; off < ends[m]; n++) {
            uint32_t len;
            memcpy(&len, ct->matched.data + off, sizeof len);
            ct->expanded[n] = (fl_cache_op){.kind = FL_CACHE_DEL,
                                            .key = (const char *)ct->matched.data + off + sizeof len,
                                            .key_len = len,
                                            .rule = ops->ops[i].rule};
            off += sizeof len + len;
        }
        m++;
    }
    free(ends);
    view->ops = ct->expanded;
    view->nops = n;
    return 0;
}

static int cluster_submit(void *impl, const fl_cache_ops *all_ops, const fl_checkpoint *cp, int *chunked,
                          char *err, size_t errlen)
{
    cluster_target *ct = impl;
    *chunked = 0;
    fl_cache_ops expanded;
    if (expand_matches(ct, all_ops, &expanded, err, errlen)) return -1;
    const fl_cache_ops *ops = &expanded;
    /* an early chunk of a transaction too large for one block carries the checkpoint before
     * it: its operations belong to a later seq, and it writes no slot checkpoint; the slots it
     * wrote are marked, and the transaction's last chunk moves each one's checkpoint, also
     * where it has no operation of its own there */
    bool early = ops->nops > 0 && cp->seq <= ct->last_seq;
    size_t need = ops->nops + (early ? 0 : ct->early_marked);
    if (need > ct->order_cap) {
        ct->order_cap = need;
        ct->order = fl_xrealloc(ct->order, ct->order_cap * sizeof *ct->order);
    }
    size_t n = 0;
    for (size_t i = 0; i < ops->nops; i++) {
        const fl_cache_op *op = &ops->ops[i];
        uint16_t slot = fl_cluster_key_slot(op->key, op->key_len);
        bool held = early ? ct->rewound_from > cp->seq && ct->slot_seq[slot] > cp->seq
                          : slot_holds(ct, slot, cp->seq);
        if (held) continue;
        ct->order[n++] = (uint64_t)slot << 32 | i;
        if (early && !(ct->early_slots[slot >> 3] & (1u << (slot & 7)))) {
            ct->early_slots[slot >> 3] |= (uint8_t)(1u << (slot & 7));
            ct->early_marked++;
        }
    }
    if (!early && ct->early_marked) {
        for (uint32_t slot = 0; slot < FL_CLUSTER_SLOTS; slot++)
            if ((ct->early_slots[slot >> 3] & (1u << (slot & 7))) && !slot_holds(ct, (uint16_t)slot, cp->seq))
                ct->order[n++] = (uint64_t)slot << 32 | CT_CHECKPOINT_ONLY;
        memset(ct->early_slots, 0, sizeof ct->early_slots);
        ct->early_marked = 0;
    }
    sort_by_slot(ct, n); /* by slot, in source order within one */
    size_t per = ct->max_atomic_ops ? ct->max_atomic_ops : SIZE_MAX;
    size_t call_cap = per < CT_CALL_MAX_OPS ? per : CT_CALL_MAX_OPS;
    bool scripted = fl_now_ms() >= script_paused_until_ms;
    for (size_t i = 0; i < n;) {
        uint16_t slot = (uint16_t)(ct->order[i] >> 32);
        size_t end = i;
        while (end < n && (uint16_t)(ct->order[end] >> 32) == slot) end++;
        ct_node *node = &ct->nodes[ct->slot_node[slot]];
        size_t nrun = end - i - ((uint32_t)ct->order[end - 1] == CT_CHECKPOINT_ONLY);
        if (nrun > ct->run_cap) {
            ct->run_cap = nrun;
            ct->run = fl_xrealloc(ct->run, ct->run_cap * sizeof *ct->run);
        }
        for (size_t k = 0; k < nrun; k++) ct->run[k] = ops->ops[(uint32_t)ct->order[i + k]];
        i = end;
        if (scripted && node->group_sha[0] && nrun <= CT_CALL_MAX_RUN && nrun <= call_cap) {
            if (node->call_slots && (node->call_ops + nrun > call_cap || node->call.len >= CT_CALL_MAX_BYTES)) {
                call_close(ct, node, cp->seq);
                if (node->out.len - node->sent >= CT_MAX_UNSENT && pump(ct, CT_MAX_BLOCKS, true, err, errlen))
                    return -1;
            }
            call_put_slot(ct, node, slot, ct->run, nrun, early ? 0 : cp->seq);
            continue;
        }
        for (size_t start = 0;; start += per) {
            size_t stop = nrun - start > per ? start + per : nrun;
            bool last = stop == nrun;
            if (!last) *chunked = 1;
            fl_resp_header(&node->out, '*', 1);
            fl_resp_arg(&node->out, "MULTI", 5);
            uint32_t ncmds = 0;
            for (size_t k = start, used; k < stop; k += used) /* runs of SETs as MSET, DELs as one DEL */
                ncmds += fl_resp_run(&node->out, &ct->run[k], stop - k, &used);
            if (last && !early) {
                put_slot_checkpoint(ct, node, slot, cp->seq);
                ncmds++;
            }
            fl_resp_header(&node->out, '*', 1);
            fl_resp_arg(&node->out, "EXEC", 4);
            queue_push(ct, node, cp->seq, ncmds, slot, false);
            if (node->out.len - node->sent >= CT_MAX_UNSENT && pump(ct, CT_MAX_BLOCKS, true, err, errlen))
                return -1;
            if (last) break;
        }
    }
    for (size_t k = 0; k < ct->nnodes; k++) call_close(ct, &ct->nodes[k], cp->seq);
    if (!early) {
        if (cp->seq > ct->last_seq) ct->last_seq = cp->seq;
        ct->last_cp = *cp;
        ct->last_cp.fold_until = 0;
    }
    ct->pending++;
    if (ct->blocks > CT_MAX_BLOCKS) return pump(ct, CT_MAX_BLOCKS / 2, true, err, errlen);
    for (size_t i = 0; i < ct->nnodes; i++)
        if (ct->nodes[i].out.len - ct->nodes[i].sent >= CT_WRITE_EAGERLY)
            return pump(ct, SIZE_MAX, false, err, errlen);
    return 0;
}

/* A group's operations are split over the primaries (and over calls of CT_CALL_MAX_OPS), so
 * the caps are per primary owning slots (not per node ever met: a primary failed over from
 * owns none). They are large because every slot a group touches costs a slot checkpoint and
 * its probe, once per group: the more of a group's rows fall in one slot, the fewer per row
 * (100k single-row transactions over 16,384 slots: about one row per slot in a group of 12k,
 * six in one of 100k). A cluster takes several times longer per operation than one Redis, so
 * the applier has time to render a group 4 times the last one (the ramp, fl-apply/group.h).
 * max_atomic_ops bounds each slot's part instead of the group (cluster_atomic_unit). */
static fl_group_caps cluster_group_caps(const void *impl)
{
    const cluster_target *ct = impl;
    size_t owners = ct->nowners ? ct->nowners : 1;
    return (fl_group_caps){CT_GROUP_MAX_OPS * owners, CT_GROUP_MAX_BYTES * owners, CT_GROUP_RAMP_SHIFT};
}

/* Each slot's part of a group is what Redis applies atomically (C1): max_atomic_ops bounds it. */
static uint32_t cluster_atomic_unit(const void *impl, const char *key, uint32_t key_len)
{
    (void)impl;
    return fl_cluster_key_slot(key, key_len);
}

const struct fl_target_ops fl_target_redis_cluster_ops = {
    .open = cluster_open,
    .close = cluster_close,
    .fence = cluster_fence,
    .read_checkpoint = cluster_read_checkpoint,
    .submit = cluster_submit,
    .flush = cluster_flush,
    .in_flight = cluster_in_flight,
    .holds = cluster_holds,
    .rewind = cluster_rewind,
    .will_show = cluster_will_show,
    .group_caps = cluster_group_caps,
    .atomic_unit = cluster_atomic_unit,
    .deletes_by_pattern = true,
    .kind = "redis-cluster",
};
