/* applier_lease.c — the lease fastlane:applier:NAME that keeps one applier per name on a
 * Redis target (fl-apply/applier_lease.h; DESIGN C4): claimed by a script that refuses while
 * another run holds it, taken over from a run whose connections are gone, renewed at flush. */
#include "fl-apply/applier_lease.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"

#define LEASE_PREFIX "fastlane:applier:"
#define CLIENT_PREFIX "fastlane-apply:"

/* Sets the lease KEYS[1] to this run's token ARGV[1] for ARGV[3] ms unless another run holds
 * it (ARGV[2]: a run known to be gone, or ""); returns the holder afterwards. */
static const char claim_script[] = "local cur = redis.call('GET', KEYS[1])\n"
                                   "if cur and cur ~= ARGV[1] and cur ~= ARGV[2] then return cur end\n"
                                   "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])\n"
                                   "return ARGV[1]\n";

/* Deletes the lease KEYS[1] when this run (ARGV[1]) holds it. */
static const char release_script[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) "
                                     "end\n"
                                     "return 1\n";

void fl_applier_lease_init(fl_applier_lease *l, const char *kind, const char *name)
{
    memset(l, 0, sizeof *l);
    l->kind = kind;
    size_t n = strlen(LEASE_PREFIX) + strlen(name) + 1;
    l->key = fl_xmalloc(n);
    snprintf(l->key, n, "%s%s", LEASE_PREFIX, name);
    n = strlen(CLIENT_PREFIX) + strlen(name) + 1;
    l->client_name = fl_xmalloc(n);
    snprintf(l->client_name, n, "%s%s", CLIENT_PREFIX, name);
}

void fl_applier_lease_free(fl_applier_lease *l)
{
    free(l->key);
    free(l->client_name);
    l->key = l->client_name = NULL;
}

static const char *applier_name(const fl_applier_lease *l) { return l->key + strlen(LEASE_PREFIX); }

/* This process's run token: random, the same across its reconnections. */
static const char *run_token(void)
{
    static char token[FL_RUN_TOKEN_LEN + 1];
    if (!token[0]) {
        uint64_t r[2];
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
            r[0] = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
            r[1] = (uint64_t)fl_now_ms() ^ (uint64_t)(uintptr_t)&r;
        }
        snprintf(token, sizeof token, "%016" PRIx64 "%016" PRIx64, r[0], r[1]);
    }
    return token;
}

static void reply_text(char *dst, size_t dstlen, const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING)
        snprintf(dst, dstlen, "%.*s", (int)(r->len > 200 ? 200 : r->len), r->str);
    else
        snprintf(dst, dstlen, "unexpected reply type %d", r->type);
}

/* One command on c; NULL with err ("KIND: NODE: why", or the connection's own words on a
 * single Redis) when the connection failed. */
static redisReply *command(const fl_applier_lease *l, fl_redis_conn *c, const char *node, int argc,
                           const char **argv, char *err, size_t errlen)
{
    size_t lens[8];
    for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
    fl_error e;
    redisReply *r = fl_redis_conn_command(c, argc, argv, lens, &e);
    if (!r) {
        if (node[0])
            fl_errorf(err, errlen, "%s: %s: %s", l->kind, node, e.msg);
        else
            fl_errorf(err, errlen, "%s", e.msg);
    }
    return r;
}

/* Whether an error reply is the ACL's refusal (of the command, of the key, or of a command
 * inside the script). */
static bool acl_refused(const char *text)
{
    return !strncmp(text, "NOPERM", 6) || strstr(text, "can't run this command");
}

/* Says once per process that the ACL refuses the lease; the applier goes on without it. */
static void warn_refused(const fl_applier_lease *l, const char *node, const char *text)
{
    static bool warned;
    if (warned) return;
    warned = true;
    log_warn("%s%s%s: the ACL refuses the lease %s (%s): a second applier named %s would not be told from "
             "this one (both would write, ending each other's connections); grant the key, and GET on it: "
             "ACL SETUSER USER ~%s (~%s +get)",
             l->kind, node[0] ? ": " : "", node, l->key, text, applier_name(l), l->key, l->key);
}

/* The " db=N " field of the CLIENT LIST line of id mine, into db (cap 32); "" when absent. */
static void own_db(const redisReply *r, const char *mine, char *db)
{
    db[0] = 0;
    char want[40];
    int wn = snprintf(want, sizeof want, "id=%s ", mine);
    for (const char *line = r->str, *stop = r->str + r->len; line < stop;) {
        const char *nl = memchr(line, '\n', (size_t)(stop - line));
        const char *end = nl ? nl : stop;
        if (end - line > wn && !memcmp(line, want, (size_t)wn)) {
            const char *d = memmem(line, (size_t)(end - line), " db=", 4);
            if (d) snprintf(db, 32, "%.*s ", (int)(4 + strspn(d + 4, "0123456789")), d);
            return;
        }
        line = end + 1;
    }
}

int fl_applier_clients(const fl_applier_lease *l, fl_redis_conn *c, const char *node, const char *mine,
                       fl_buf *ids, char why[256], char *err, size_t errlen)
{
    const char *argv[4] = {"CLIENT", "LIST", "TYPE", "normal"};
    redisReply *r = command(l, c, node, 4, argv, err, errlen);
    if (!r) return -1;
    why[0] = 0;
    if (r->type != REDIS_REPLY_STRING || !mine[0]) {
        reply_text(why, 256, r);
        freeReplyObject(r);
        return 0;
    }
    char name[96], db[32];
    snprintf(name, sizeof name, " name=%s ", l->client_name);
    own_db(r, mine, db);
    for (const char *line = r->str, *stop = r->str + r->len; line < stop;) {
        const char *nl = memchr(line, '\n', (size_t)(stop - line));
        const char *end = nl ? nl : stop;
        size_t n = (size_t)(end - line);
        char text[1024];
        snprintf(text, sizeof text, "%.*s ", (int)(n < sizeof text - 2 ? n : sizeof text - 2), line);
        line = end + 1;
        size_t idlen = strncmp(text, "id=", 3) ? 0 : strspn(text + 3, "0123456789");
        if (!idlen || !strstr(text, name) || (db[0] && !strstr(text, db))) continue;
        if (strlen(mine) == idlen && !memcmp(text + 3, mine, idlen)) continue;
        fl_buf_put(ids, text + 3, idlen);
        fl_buf_putc(ids, ' ');
    }
    freeReplyObject(r);
    return 1;
}

/* Runs claim_script: claims or renews the lease unless another run holds it (gone: a run
 * known to have ended, or ""). Returns 1 with holder (this run's token when claimed), 0 when
 * the ACL refuses it (text says how), or -1 with err. */
static int claim_call(fl_applier_lease *l, fl_redis_conn *c, const char *node, const char *gone,
                      char holder[FL_RUN_TOKEN_LEN + 1], char text[256], char *err, size_t errlen)
{
    char ms[16];
    snprintf(ms, sizeof ms, "%d", FL_LEASE_MS);
    const char *argv[7] = {"EVAL", claim_script, "1", l->key, run_token(), gone, ms};
    redisReply *r = command(l, c, node, 7, argv, err, errlen);
    if (!r) return -1;
    int rc = 1;
    if (r->type == REDIS_REPLY_STRING && r->len <= FL_RUN_TOKEN_LEN) {
        memcpy(holder, r->str, r->len);
        holder[r->len] = 0;
    } else {
        reply_text(text, 256, r);
        rc = r->type == REDIS_REPLY_ERROR && acl_refused(text)
                 ? 0
                 : fl_errorf(err, errlen, "%s%s%s: claiming %s: %s", l->kind, node[0] ? ": " : "", node, l->key,
                             text);
    }
    freeReplyObject(r);
    return rc;
}

/* Whether a connection named like this applier's, other than mine, stays for
 * FL_LEASE_GRACE_MS: a dead run's connections go as soon as Redis has read what they sent,
 * a running applier's stay. Returns 1 (with its id), 0, or -1 with err; listing refused (the
 * ACL) is 1 with id "?": whether that run still runs cannot be told. */
static int live_other(const fl_applier_lease *l, fl_redis_conn *c, const char *node, const char *mine, char id[24],
                      char *err, size_t errlen)
{
    int64_t until = fl_now_ms() + FL_LEASE_GRACE_MS;
    for (;;) {
        fl_buf ids = {0};
        char why[256];
        int listed = fl_applier_clients(l, c, node, mine, &ids, why, err, errlen);
        if (listed < 0) return -1;
        size_t idlen = ids.len ? strcspn((const char *)ids.data, " ") : 0;
        snprintf(id, 24, "%.*s", (int)(idlen < 23 ? idlen : 23), ids.len ? (const char *)ids.data : "");
        fl_buf_free(&ids);
        if (!listed) {
            snprintf(id, 24, "?");
            return 1;
        }
        if (!idlen) return 0;
        if (fl_now_ms() >= until) return 1;
        usleep(100 * 1000);
    }
}

int fl_applier_lease_claim(fl_applier_lease *l, fl_redis_conn *c, const char *node, const char *mine, char *err,
                           size_t errlen)
{
    const char *sep = node[0] ? ": " : "";
    const char *place = strcmp(l->kind, "redis-cluster") ? "this Redis" : "this cluster";
    l->held = false;
    const char *argv[2] = {"GET", l->key};
    redisReply *r = command(l, c, node, 2, argv, err, errlen);
    if (!r) return -1;
    char cur[FL_RUN_TOKEN_LEN + 1] = "", text[256] = "";
    if (r->type == REDIS_REPLY_STRING && r->len <= FL_RUN_TOKEN_LEN)
        memcpy(cur, r->str, r->len), cur[r->len] = 0;
    else if (r->type != REDIS_REPLY_NIL)
        reply_text(text, sizeof text, r);
    bool refused = r->type == REDIS_REPLY_ERROR && acl_refused(text);
    freeReplyObject(r);
    if (refused) {
        warn_refused(l, node, text);
        return 0;
    }
    if (text[0]) return fl_errorf(err, errlen, "%s%s%s: GET %s: %s", l->kind, sep, node, l->key, text);
    char id[24] = "";
    if (cur[0] && strcmp(cur, run_token())) {
        int live = live_other(l, c, node, mine, id, err, errlen);
        if (live < 0) return -1;
        if (live && !strcmp(id, "?"))
            return fl_errorf(err, errlen,
                             "%s: another run of applier %s (run %s) holds %s, and whether it still runs cannot "
                             "be told without CLIENT LIST: waiting until its lease lapses (%d s after its last "
                             "renewal)",
                             l->kind, applier_name(l), cur, l->key, FL_LEASE_MS / 1000);
        if (live) goto refuse;
    }
    char holder[FL_RUN_TOKEN_LEN + 1];
    int got = claim_call(l, c, node, cur, holder, text, err, errlen);
    if (got < 0) return -1;
    if (got == 0) {
        warn_refused(l, node, text);
        return 0;
    }
    if (strcmp(holder, run_token())) { /* another run claimed it meanwhile */
        snprintf(cur, sizeof cur, "%s", holder);
        snprintf(id, sizeof id, "?");
        goto refuse;
    }
    l->held = true;
    l->renewed_ms = fl_now_ms();
    if (cur[0] && strcmp(cur, run_token()))
        log_info("%s%s%s: took the lease %s over from run %s, whose connections are gone", l->kind, sep, node,
                 l->key, cur);
    return 0;
refuse:
    snprintf(err, errlen,
             "%s: another applier named %s is running on %s (run %s holds %s; its connection %s%s%s is live): "
             "two appliers of one name would end each other's connections and both write; stopping (give each "
             "applier its own [apply] name)",
             l->kind, applier_name(l), place, cur, l->key, id, node[0] ? " on " : "", node);
    return 1;
}

int fl_applier_lease_renew(fl_applier_lease *l, fl_redis_conn *c, const char *node, char *err, size_t errlen)
{
    if (!l->held || fl_now_ms() - l->renewed_ms < FL_LEASE_RENEW_MS) return 0;
    char holder[FL_RUN_TOKEN_LEN + 1], text[256];
    int got = claim_call(l, c, node, "", holder, text, err, errlen);
    if (got < 0) return -1;
    if (got == 0) { /* the ACL changed under a running applier */
        warn_refused(l, node, text);
        l->held = false;
        return 0;
    }
    if (strcmp(holder, run_token())) {
        l->held = false;
        return fl_errorf(err, errlen, "%s: another run (%s) took %s while this one had not renewed it for %d s",
                         l->kind, holder, l->key, FL_LEASE_MS / 1000);
    }
    l->renewed_ms = fl_now_ms();
    return 0;
}

void fl_applier_lease_release(fl_applier_lease *l, fl_redis_conn *c)
{
    if (!l->held || !c) return;
    l->held = false;
    const char *argv[5] = {"EVAL", release_script, "1", l->key, run_token()};
    size_t lens[5];
    for (int i = 0; i < 5; i++) lens[i] = strlen(argv[i]);
    fl_error e;
    redisReply *r = fl_redis_conn_command(c, 5, argv, lens, &e);
    if (r) freeReplyObject(r);
}
