/* target_memcached.c — the memcached target: libmemcached over the binary protocol with
 * ketama consistent hashing across the URL's servers (SASL when the URL has user:password@).
 *
 * memcached has no transactions. Operations are sent one after the other, in order, each
 * acknowledged before the next, so a batch is applied as a prefix of its operations; sets and
 * deletes are idempotent, so replaying from the last checkpoint converges. The checkpoint
 * lives in a local file (cfg->checkpoint_path), replaced atomically after each flush:
 * temp file, fsync, rename, fsync of the directory.
 *
 * memcached forgets everything when it restarts, which a local checkpoint cannot see. So
 * every server holds a marker key (fastlane:epoch:NAME) with a random epoch of its own, and
 * the checkpoint file records, per server, that epoch and the seq the server is known to
 * hold everything up to. The markers are read back before each checkpoint is written and
 * every few seconds while idle, so a lost server is noticed soon. They never expire, and
 * they are kept "active" in memcached's segmented LRU: an item fetched twice is active, and
 * an active item reaching the end of its LRU is moved to the warm one instead of being
 * evicted; so each new marker is read twice right after it is set, and the idle check reads
 * twice too. (A marker evicted anyway costs a refill of that server, nothing else.) A
 * server whose marker is missing or different lost its data: only it is refilled — its
 * position drops to 0 under a new epoch, the applier replays the journal from the start,
 * and fl_target_holds tells it to leave out the operations on keys of the servers that
 * still hold them. Because a refill (and any resume) re-applies what a server may already
 * show, the checkpoint asks the applier to fold it (fold_until: each key written once, with
 * its latest image), so no reader sees a key move backwards. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "fl-apply/memcached_conn.h"
#include "fl-apply/target_impl.h"

#define MC_MAX_RELATIVE_TTL (30 * 24 * 3600)        /* beyond this memcached reads an absolute time */
#define CHECKPOINT_MAGIC_V1 "fastlane-checkpoint 1" /* one epoch for every server (read only) */
#define CHECKPOINT_MAGIC "fastlane-checkpoint 2"
#define CHECKPOINT_MAX_BYTES (1 << 20)
#define MARKER_CHECK_MS 5000 /* while idle, the markers are read back this often */
#define EPOCH_KEY_PREFIX "fastlane:epoch:"

typedef struct mc_server {
    memcached_st *mc;                 /* a handle for this server alone (markers) */
    char name[FL_MC_SERVER_NAME_MAX]; /* host:port */
    char epoch[FL_EPOCH_TEXT_MAX];    /* the marker it holds (or is about to be given) */
    bool epoch_pending;               /* the marker must be set before the next operation */
    uint64_t seq;                     /* holds every transaction up to this one */
} mc_server;

typedef struct mc_target {
    memcached_st *mc;  /* all servers, ketama */
    mc_server *server; /* in URL order */
    uint32_t nservers;
    uint32_t *route; /* mc's server index -> index in server[] */
    char *checkpoint_path;
    char *epoch_key;
    fl_checkpoint written; /* the checkpoint the file holds */
    fl_checkpoint pending; /* checkpoint of the last submitted transaction */
    uint32_t in_flight;    /* submitted since the last flush */
    int64_t last_check_ms; /* markers last read back */
} mc_target;

/* Gives server i a new random epoch, to be set before the next operation; it holds nothing. */
static void new_epoch(mc_server *sv)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) r = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    snprintf(sv->epoch, sizeof sv->epoch, "%016" PRIx64, r);
    sv->epoch_pending = true;
    sv->seq = 0;
}

/* What went wrong: the library's last message, or the return code's meaning when the
 * library kept none (SASL refusals leave "SUCCESS" there). */
static const char *mc_error(const memcached_st *mc, memcached_return_t rc)
{
    if (memcached_last_error(mc) == MEMCACHED_SUCCESS) return memcached_strerror(mc, rc);
    return memcached_last_error_message(mc);
}

/* Reads every server's marker (asking each one, so that every server is also checked to
 * answer) and compares it with that server's epoch (want = NULL) or with want. Sets lost[i]
 * for each that differs. Returns the number of those, or -1 on a connection or
 * authentication error (reason in err). */
static int read_markers(mc_target *t, const char *want, bool *lost, char *err, size_t errlen)
{
    size_t klen = strlen(t->epoch_key);
    int n = 0;
    for (uint32_t i = 0; i < t->nservers; i++) {
        mc_server *sv = &t->server[i];
        const char *epoch = want ? want : sv->epoch;
        size_t len = 0;
        uint32_t flags = 0;
        memcached_return_t rc;
        char *v = memcached_get(sv->mc, t->epoch_key, klen, &len, &flags, &rc);
        bool same = memcached_success(rc) && v && len == strlen(epoch) && !memcmp(v, epoch, len);
        free(v);
        if (rc != MEMCACHED_NOTFOUND && memcached_failed(rc)) {
            snprintf(err, errlen, "memcached %s: %s", sv->name, mc_error(sv->mc, rc));
            return -1;
        }
        if (lost) lost[i] = !same;
        if (!same) n++;
    }
    t->last_check_ms = fl_now_ms();
    return n;
}

static int set_markers(mc_target *t, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < t->nservers; i++) {
        mc_server *sv = &t->server[i];
        if (!sv->epoch_pending) continue;
        memcached_return_t rc = memcached_set(sv->mc, t->epoch_key, strlen(t->epoch_key), sv->epoch,
                                              strlen(sv->epoch), 0, 0);
        if (memcached_failed(rc)) {
            snprintf(err, errlen, "memcached %s: setting the epoch marker: %s", sv->name, mc_error(sv->mc, rc));
            return -1;
        }
        sv->epoch_pending = false;
        /* fetched twice: active in the LRU (see the top of this file) */
        for (int k = 0; k < 2; k++) {
            size_t len;
            uint32_t flags;
            free(memcached_get(sv->mc, t->epoch_key, strlen(t->epoch_key), &len, &flags, &rc));
        }
    }
    return 0;
}

static void mc_close(void *impl);

/* route[p] = the index in server[] of position p of the ketama handle */
static int build_routes(mc_target *t, char *err, size_t errlen)
{
    t->route = fl_xcalloc(t->nservers, sizeof *t->route);
    for (uint32_t p = 0; p < t->nservers; p++) {
        const memcached_instance_st *in = memcached_server_instance_by_position(t->mc, p);
        char name[FL_MC_SERVER_NAME_MAX];
        snprintf(name, sizeof name, "%s:%u", in ? memcached_server_name(in) : "?",
                 in ? (unsigned)memcached_server_port(in) : 0);
        uint32_t i = 0;
        while (i < t->nservers && strcmp(t->server[i].name, name)) i++;
        if (i == t->nservers) {
            snprintf(err, errlen, "memcached: server %s appears twice in the target URL", name);
            return -1;
        }
        t->route[p] = i;
    }
    return 0;
}

static void *mc_open(const fl_config_apply *cfg, fl_error *e)
{
    fl_error_clear(e);
    char *err = e->msg;
    size_t errlen = sizeof e->msg;
    if (!cfg->checkpoint_path) {
        fl_error_set(e, true, 0, "a memcached target needs [apply] checkpoint_path");
        return NULL;
    }
    memcached_st *mc = fl_memcached_conn_new(cfg->target, -1, e);
    if (!mc) return NULL;
    mc_target *t = fl_xcalloc(1, sizeof *t);
    t->mc = mc;
    t->checkpoint_path = fl_xstrdup(cfg->checkpoint_path);
    const char *name = cfg->name ? cfg->name : "default";
    t->epoch_key = fl_xmalloc(strlen(EPOCH_KEY_PREFIX) + strlen(name) + 1);
    strcpy(t->epoch_key, EPOCH_KEY_PREFIX);
    strcat(t->epoch_key, name);
    t->nservers = memcached_server_count(mc);
    t->server = fl_xcalloc(t->nservers, sizeof *t->server);
    for (uint32_t i = 0; i < t->nservers; i++) {
        mc_server *sv = &t->server[i];
        sv->mc = fl_memcached_conn_new(cfg->target, (int)i, e);
        if (!sv->mc) {
            mc_close(t);
            return NULL;
        }
        const memcached_instance_st *in = memcached_server_instance_by_position(sv->mc, 0);
        snprintf(sv->name, sizeof sv->name, "%s:%u", in ? memcached_server_name(in) : "?",
                 in ? (unsigned)memcached_server_port(in) : 0);
        new_epoch(sv);
    }
    if (build_routes(t, err, errlen)) {
        e->permanent = true;
        mc_close(t);
        return NULL;
    }
    /* every server must answer now (and accept the credentials): a missing one would only
     * fail later, mid-batch */
    if (read_markers(t, "", NULL, err, errlen) < 0) { /* not permanent: retried */
        mc_close(t);
        return NULL;
    }
    return t;
}

static void mc_close(void *impl)
{
    mc_target *t = impl;
    if (!t) return;
    memcached_free(t->mc);
    for (uint32_t i = 0; i < t->nservers; i++)
        if (t->server[i].mc) memcached_free(t->server[i].mc);
    free(t->server);
    free(t->route);
    free(t->checkpoint_path);
    free(t->epoch_key);
    free(t);
}

/* ---- checkpoint file ---- */

void fl_mc_checkpoint_free(fl_mc_checkpoint *c)
{
    free(c->server);
    c->server = NULL;
    c->nservers = 0;
}

static fl_mc_server_state *add_server(fl_mc_checkpoint *c)
{
    c->server = fl_xrealloc(c->server, (c->nservers + 1) * sizeof *c->server);
    fl_mc_server_state *s = &c->server[c->nservers++];
    memset(s, 0, sizeof *s);
    return s;
}

static int fsync_dir_of(const char *path)
{
    char *dir = fl_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int fl_checkpoint_file_write(const char *path, const fl_mc_checkpoint *c, char *err, size_t errlen)
{
    fl_buf b = {0};
    fl_buf_printf(&b, CHECKPOINT_MAGIC "\nseq %" PRIu64 "\ngtid %s\nts %" PRIu64 "\n", c->cp.seq, c->cp.gtid,
                  c->cp.ts);
    if (c->cp.journal[0]) fl_buf_printf(&b, "journal %s\n", c->cp.journal);
    for (uint32_t i = 0; i < c->nservers; i++)
        fl_buf_printf(&b, "server %s %s %" PRIu64 "\n", c->server[i].name,
                      c->server[i].epoch[0] ? c->server[i].epoch : "-", c->server[i].seq);
    size_t tl = strlen(path) + 8;
    char *tmp = fl_xmalloc(tl);
    snprintf(tmp, tl, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    const char *what = "create";
    if (fd < 0) goto fail;
    what = "write";
    for (size_t off = 0; off < b.len;) {
        ssize_t n = write(fd, b.data + off, b.len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) goto fail_fd;
        off += (size_t)n;
    }
    what = "fsync";
    if (fsync(fd)) goto fail_fd;
    if (close(fd)) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    what = "rename";
    if (rename(tmp, path)) goto fail;
    what = "fsync the directory of";
    if (fsync_dir_of(path)) goto fail;
    free(tmp);
    fl_buf_free(&b);
    return 0;
fail_fd:
    close(fd);
fail:
    snprintf(err, errlen, "checkpoint: cannot %s %s: %s", what, !strcmp(what, "create") ? tmp : path,
             strerror(errno));
    unlink(tmp);
    free(tmp);
    fl_buf_free(&b);
    return -1;
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

static int corrupt(const char *path, const char *why, char *err, size_t errlen)
{
    snprintf(err, errlen,
             "checkpoint file %s is corrupt (%s); remove it to start from the journal's beginning, or start "
             "with --from-seq/--from-gtid",
             path, why);
    return -1;
}

static bool is_epoch(const char *e)
{
    return *e && strlen(e) < FL_EPOCH_TEXT_MAX && strspn(e, "0123456789abcdef") == strlen(e);
}

/* "server NAME EPOCH SEQ" (EPOCH "-": none) */
static int parse_server_line(char *line, fl_mc_server_state *s)
{
    char *name = line + 7, *sp1 = strchr(name, ' ');
    if (!sp1) return -1;
    *sp1 = 0;
    char *ep = sp1 + 1, *sp2 = strchr(ep, ' ');
    if (!sp2) return -1;
    *sp2 = 0;
    if (!*name || strlen(name) >= sizeof s->name) return -1;
    if (strcmp(ep, "-") && !is_epoch(ep)) return -1;
    if (parse_u64(sp2 + 1, &s->seq)) return -1;
    strcpy(s->name, name);
    strcpy(s->epoch, strcmp(ep, "-") ? ep : "");
    return 0;
}

static int read_file(const char *path, char **text, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) return 1;
        snprintf(err, errlen, "checkpoint: cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(err, errlen, "checkpoint: %s is not a regular file", path);
        return -1;
    }
    char *buf = fl_xmalloc(CHECKPOINT_MAX_BYTES + 1);
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, CHECKPOINT_MAX_BYTES - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            snprintf(err, errlen, "checkpoint: cannot read %s: %s", path, strerror(errno));
            close(fd);
            free(buf);
            return -1;
        }
        if (n == 0) break;
        len += (size_t)n;
        if (len == CHECKPOINT_MAX_BYTES) {
            close(fd);
            free(buf);
            return corrupt(path, "too long", err, errlen);
        }
    }
    close(fd);
    buf[len] = 0;
    if (memchr(buf, 0, len)) {
        free(buf);
        return corrupt(path, "binary content", err, errlen);
    }
    *text = buf;
    return 0;
}

int fl_checkpoint_file_read(const char *path, fl_mc_checkpoint *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    char *text = NULL;
    int r = read_file(path, &text, err, errlen);
    if (r) return r;
    /* the magic, "seq N", "gtid G" (G empty without GTIDs), "ts T", then version 2: "journal
     * ID" (the journal's identity; absent when unknown) and one "server NAME EPOCH SEQ" line
     * per server; version 1: one "epoch E" line for all */
    const char *why = NULL;
    char *line[4], *rest = text;
    for (int i = 0; i < 4 && !why; i++) {
        char *nl = strchr(rest, '\n');
        if (!nl)
            why = "truncated";
        else {
            *nl = 0;
            line[i] = rest;
            rest = nl + 1;
        }
    }
    bool v1 = !why && !strcmp(line[0], CHECKPOINT_MAGIC_V1);
    uint64_t seq = 0, ts = 0;
    if (why) {
    } else if (!v1 && strcmp(line[0], CHECKPOINT_MAGIC))
        why = "unknown header line";
    else if (strncmp(line[1], "seq ", 4) || parse_u64(line[1] + 4, &seq))
        why = "bad seq line";
    else if (strncmp(line[2], "gtid ", 5) || strlen(line[2] + 5) >= FL_GTID_TEXT_MAX)
        why = "bad gtid line";
    else if (strncmp(line[3], "ts ", 3) || parse_u64(line[3] + 3, &ts))
        why = "bad ts line";
    const char *gtid = why ? "" : line[2] + 5;
    fl_gtid parsed;
    if (!why && gtid[0] && fl_gtid_parse(&parsed, gtid, strlen(gtid))) why = "the gtid is not a GTID";
    while (!why && *rest) {
        char *nl = strchr(rest, '\n');
        if (!nl) {
            why = "truncated";
            break;
        }
        *nl = 0;
        if (v1) {
            /* every server was given the same epoch and holds everything up to seq */
            if (c->nservers || strncmp(rest, "epoch ", 6) || !is_epoch(rest + 6))
                why = "bad epoch line";
            else {
                fl_mc_server_state *s = add_server(c);
                strcpy(s->name, FL_MC_ANY_SERVER);
                strcpy(s->epoch, rest + 6);
                s->seq = seq;
            }
        } else if (!strncmp(rest, "journal ", 8)) {
            const char *id = rest + 8;
            if (c->cp.journal[0] || c->nservers || strlen(id) != FL_JOURNAL_ID_TEXT - 1 ||
                strspn(id, "0123456789abcdef") != FL_JOURNAL_ID_TEXT - 1)
                why = "bad journal line";
            else
                memcpy(c->cp.journal, id, FL_JOURNAL_ID_TEXT);
        } else if (strncmp(rest, "server ", 7) || parse_server_line(rest, add_server(c))) {
            why = "bad server line";
        } else if (c->server[c->nservers - 1].seq > seq) {
            why = "a server ahead of the checkpoint";
        }
        rest = nl + 1;
    }
    if (!why && !c->nservers) why = v1 ? "no epoch line" : "no server line";
    if (why) {
        free(text);
        fl_mc_checkpoint_free(c);
        return corrupt(path, why, err, errlen);
    }
    c->cp.seq = seq;
    c->cp.ts = ts;
    snprintf(c->cp.gtid, sizeof c->cp.gtid, "%s", gtid);
    free(text);
    return 0;
}

static int write_checkpoint(mc_target *t, const fl_checkpoint *cp, char *err, size_t errlen)
{
    fl_mc_checkpoint c = {.cp = *cp, .nservers = t->nservers};
    c.server = fl_xcalloc(t->nservers, sizeof *c.server);
    for (uint32_t i = 0; i < t->nservers; i++) {
        strcpy(c.server[i].name, t->server[i].name);
        strcpy(c.server[i].epoch, t->server[i].epoch);
        c.server[i].seq = t->server[i].seq;
    }
    int rc = fl_checkpoint_file_write(t->checkpoint_path, &c, err, errlen);
    fl_mc_checkpoint_free(&c);
    if (rc == 0) t->written = *cp;
    return rc;
}

/* The checkpoint is the lowest position of any server: what a server holds is taken from the
 * file while its marker still has the file's epoch; a server that lost its data (or is new
 * to the URL) starts again from nothing under a new epoch. */
static int mc_read_checkpoint(void *impl, fl_checkpoint *cp, char *err, size_t errlen)
{
    mc_target *t = impl;
    memset(cp, 0, sizeof *cp);
    for (uint32_t i = 0; i < t->nservers; i++) new_epoch(&t->server[i]);
    fl_mc_checkpoint c;
    int r = fl_checkpoint_file_read(t->checkpoint_path, &c, err, errlen);
    if (r != 0) return r;
    t->written = c.cp;
    /* a server gone from the URL leaves its keys to the others, which then no longer hold
     * everything: all are refilled */
    bool removed = false;
    for (uint32_t k = 0; k < c.nservers; k++) {
        if (!strcmp(c.server[k].name, FL_MC_ANY_SERVER)) continue;
        uint32_t i = 0;
        while (i < t->nservers && strcmp(t->server[i].name, c.server[k].name)) i++;
        if (i == t->nservers) {
            log_warn("memcached %s is no longer in the target URL: its keys moved to the other servers, which are "
                     "all refilled from the journal",
                     c.server[k].name);
            removed = true;
        }
    }
    bool *lost = fl_xcalloc(t->nservers, sizeof *lost);
    for (uint32_t i = 0; i < t->nservers && !removed; i++) {
        mc_server *sv = &t->server[i];
        for (uint32_t k = 0; k < c.nservers; k++) {
            if (strcmp(c.server[k].name, sv->name) && strcmp(c.server[k].name, FL_MC_ANY_SERVER)) continue;
            if (c.server[k].epoch[0]) snprintf(sv->epoch, sizeof sv->epoch, "%s", c.server[k].epoch);
            sv->seq = c.server[k].seq;
            sv->epoch_pending = false;
            break;
        }
    }
    r = removed ? 0 : read_markers(t, NULL, lost, err, errlen);
    for (uint32_t i = 0; i < t->nservers && r > 0; i++) {
        mc_server *sv = &t->server[i];
        if (!lost[i]) continue;
        if (!sv->epoch_pending)
            log_warn("memcached %s lost its data (restarted, flushed or its marker evicted) since the checkpoint "
                     "(seq %" PRIu64 "): refilling it from the journal's start",
                     sv->name, sv->seq);
        else
            log_info("memcached %s is new to this applier: filling it from the journal's start", sv->name);
        new_epoch(sv);
    }
    free(lost);
    fl_mc_checkpoint_free(&c);
    if (r < 0) return -1;
    uint64_t low = UINT64_MAX;
    for (uint32_t i = 0; i < t->nservers; i++)
        if (t->server[i].seq < low) low = t->server[i].seq;
    if (low == t->written.seq)
        *cp = t->written;
    else
        cp->seq = low;
    memcpy(cp->journal, t->written.journal, sizeof cp->journal); /* positions are in its seqs */
    /* what was applied after the checkpoint (or before a refill) may be visible: fold it */
    cp->fold_until = UINT64_MAX;
    t->pending = *cp;
    return 0;
}

/* ---- operations ---- */

static time_t expiry(uint32_t ttl)
{
    if (ttl <= MC_MAX_RELATIVE_TTL) return (time_t)ttl;
    return time(NULL) + (time_t)ttl;
}

static int mc_submit(void *impl, const fl_cache_ops *ops, const fl_checkpoint *cp, int *chunked, char *err,
                     size_t errlen)
{
    mc_target *t = impl;
    *chunked = 0;
    if (set_markers(t, err, errlen)) return -1;
    for (size_t i = 0; i < ops->nops; i++) {
        const fl_cache_op *op = &ops->ops[i];
        memcached_return_t rc;
        switch (op->kind) {
        case FL_CACHE_SET:
            rc = memcached_set(t->mc, op->key, op->key_len, op->value, op->value_len, expiry(op->ttl), 0);
            if (rc == MEMCACHED_E2BIG) {
                /* cannot store it: make sure no stale value stays behind */
                log_warn("memcached: value of %u bytes for key '%.*s' is too large; the key is deleted instead",
                         op->value_len, (int)(op->key_len > 200 ? 200 : op->key_len), op->key);
                rc = memcached_delete(t->mc, op->key, op->key_len, 0);
            }
            break;
        case FL_CACHE_DEL: rc = memcached_delete(t->mc, op->key, op->key_len, 0); break;
        default:
            snprintf(err, errlen, "memcached cannot store a hash (key '%.*s'); use format json or column:NAME",
                     (int)(op->key_len > 200 ? 200 : op->key_len), op->key);
            return -1;
        }
        if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_NOTFOUND || rc == MEMCACHED_BUFFERED) continue;
        if (rc == MEMCACHED_BAD_KEY_PROVIDED || rc == MEMCACHED_KEY_TOO_BIG) {
            /* memcached can never hold this key (over 250 bytes): nothing to keep in step */
            log_error("memcached: key '%.*s' (%u bytes) cannot be stored in memcached: %s; skipped",
                      (int)(op->key_len > 200 ? 200 : op->key_len), op->key, op->key_len,
                      memcached_strerror(t->mc, rc));
            continue;
        }
        snprintf(err, errlen, "memcached: %s of key '%.*s' failed: %s",
                 op->kind == FL_CACHE_SET ? "set" : "delete", (int)(op->key_len > 200 ? 200 : op->key_len),
                 op->key, mc_error(t->mc, rc));
        return -1;
    }
    t->pending = *cp;
    t->in_flight++;
    return 0;
}

/* Names the servers that lost their data, gives them a new epoch and position 0, and keeps
 * that in the file (with what the others hold). Returns -1 with the reason in err: the
 * applier reconnects and refills them. */
static int refill_lost(mc_target *t, const bool *lost, const fl_checkpoint *cp, char *err, size_t errlen)
{
    size_t off = 0;
    for (uint32_t i = 0; i < t->nservers; i++) {
        if (!lost[i]) continue;
        int n = snprintf(err + off, errlen - off, "%smemcached %s", off ? ", " : "", t->server[i].name);
        if (n > 0 && (size_t)n < errlen - off) off += (size_t)n;
        t->server[i].epoch[0] = 0;
        t->server[i].seq = 0;
    }
    char why[256];
    if (write_checkpoint(t, cp, why, sizeof why)) log_warn("%s", why);
    snprintf(err + off, errlen - off, " lost its data (restarted, flushed or its marker evicted); refilling it");
    t->in_flight = 0;
    return -1;
}

static int mc_flush(void *impl, char *err, size_t errlen)
{
    mc_target *t = impl;
    if (!t->in_flight && fl_now_ms() - t->last_check_ms < MARKER_CHECK_MS) return 0;
    /* a server that lost its data since its epoch was set must not be covered by a checkpoint */
    bool *lost = fl_xcalloc(t->nservers, sizeof *lost);
    int n = read_markers(t, NULL, lost, err, errlen);
    if (n == 0 && !t->in_flight) n = read_markers(t, NULL, lost, err, errlen); /* idle: keep them active */
    for (uint32_t i = 0; i < t->nservers && n >= 0; i++)
        if (!lost[i] && t->pending.seq > t->server[i].seq) t->server[i].seq = t->pending.seq;
    int rc = n < 0 ? -1 : n > 0 ? refill_lost(t, lost, t->in_flight ? &t->pending : &t->written, err, errlen) : 0;
    free(lost);
    if (rc || !t->in_flight) return rc;
    if (write_checkpoint(t, &t->pending, err, errlen)) return -1;
    t->in_flight = 0;
    return 0;
}

static uint32_t mc_in_flight(const void *impl)
{
    const mc_target *t = impl;
    return t->in_flight;
}

static bool mc_holds(const void *impl, const char *key, uint32_t key_len, uint64_t seq)
{
    const mc_target *t = impl;
    bool all = true, none = true; /* whether every server / no server holds seq */
    for (uint32_t i = 0; i < t->nservers; i++) {
        if (t->server[i].seq >= seq)
            none = false;
        else
            all = false;
    }
    if (all || none) return all; /* the key's server need not be known */
    uint32_t p = memcached_generate_hash(t->mc, key, key_len);
    return p < t->nservers && seq <= t->server[t->route[p]].seq;
}

static void mc_rewind(void *impl, uint64_t seq)
{
    mc_target *t = impl;
    for (uint32_t i = 0; i < t->nservers; i++)
        if (t->server[i].seq >= seq) t->server[i].seq = seq ? seq - 1 : 0;
}

const struct fl_target_ops fl_target_memcached_ops = {
    .open = mc_open,
    .close = mc_close,
    .read_checkpoint = mc_read_checkpoint,
    .submit = mc_submit,
    .flush = mc_flush,
    .in_flight = mc_in_flight,
    .holds = mc_holds,
    .rewind = mc_rewind,
    .kind = "memcached",
};
