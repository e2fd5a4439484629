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
 * every server also holds a marker key (fastlane:epoch:NAME) with a random epoch that the
 * checkpoint file records too. Before each checkpoint is written the markers are read back
 * (which also keeps them from being evicted); a missing or different marker means a server
 * lost its data, and the checkpoint is then treated as absent: the journal is applied again
 * from its start, with a new epoch set on every server before the first operation. */
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
#include "common/log.h"
#include "common/target_url.h"
#include "fl-apply/target_impl.h"

#define MC_TIMEOUT_MS 3000
#define MC_MAX_RELATIVE_TTL (30 * 24 * 3600) /* beyond this memcached reads an absolute time */
#define CHECKPOINT_MAGIC "fastlane-checkpoint 1"
#define EPOCH_KEY_PREFIX "fastlane:epoch:"

typedef struct mc_target {
    memcached_st *mc;
    memcached_st **server; /* one handle per server, for the epoch markers */
    uint32_t nservers;
    char *checkpoint_path;
    char *epoch_key;
    char epoch[FL_EPOCH_TEXT_MAX]; /* the epoch this applier writes under */
    bool epoch_pending;            /* the markers must be set before the next operation */
    fl_checkpoint pending;         /* checkpoint of the last submitted transaction */
    uint32_t in_flight;            /* submitted since the last flush */
} mc_target;

/* ---- connection ---- */

/* A handle for the URL's servers, or only for its only-th server (only >= 0). */
static memcached_st *mc_new(const char *url, int only, char *err, size_t errlen)
{
    fl_memcached_url u;
    if (fl_memcached_url_parse(url, &u, err, errlen)) return NULL;
    memcached_st *mc = memcached_create(NULL);
    if (!mc) {
        snprintf(err, errlen, "memcached: out of memory");
        goto fail;
    }
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
    /* libketama-compatible placement (MD5 points, equal weights): the same choice of server as
     * other clients configured for ketama (e.g. PHP's OPT_LIBKETAMA_COMPATIBLE) */
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, MC_TIMEOUT_MS);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, MC_TIMEOUT_MS);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 1);

    if (only >= 0 && (size_t)only >= u.nservers) {
        snprintf(err, errlen, "memcached: the URL has no server number %d", only);
        goto fail;
    }
    for (size_t i = 0; i < u.nservers; i++) {
        if (only >= 0 && (size_t)only != i) continue;
        memcached_return_t rc = memcached_server_add(mc, u.servers[i].host, (in_port_t)u.servers[i].port);
        if (memcached_failed(rc)) {
            snprintf(err, errlen, "memcached: adding a server: %s", memcached_strerror(mc, rc));
            goto fail;
        }
    }
    if (u.user) {
        memcached_return_t rc = memcached_set_sasl_auth_data(mc, u.user, u.password);
        if (memcached_failed(rc)) {
            snprintf(err, errlen, "memcached: SASL setup failed: %s", memcached_strerror(mc, rc));
            goto fail;
        }
    }
    fl_memcached_url_free(&u);
    return mc;
fail:
    fl_memcached_url_free(&u);
    if (mc) memcached_free(mc);
    return NULL;
}

memcached_st *fl_memcached_new(const char *url, char *err, size_t errlen) { return mc_new(url, -1, err, errlen); }

static void new_epoch(mc_target *t)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) r = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    snprintf(t->epoch, sizeof t->epoch, "%016" PRIx64, r);
    t->epoch_pending = true;
}

static const char *server_name(const mc_target *t, uint32_t i, char *buf, size_t len)
{
    const memcached_instance_st *in = memcached_server_instance_by_position(t->server[i], 0);
    snprintf(buf, len, "%s:%u", in ? memcached_server_name(in) : "?", in ? (unsigned)memcached_server_port(in) : 0);
    return buf;
}

/* What went wrong: the library's last message, or the return code's meaning when the
 * library kept none (SASL refusals leave "SUCCESS" there). */
static const char *mc_error(const memcached_st *mc, memcached_return_t rc)
{
    if (memcached_last_error(mc) == MEMCACHED_SUCCESS) return memcached_strerror(mc, rc);
    return memcached_last_error_message(mc);
}

/* Compares every server's marker with the epoch (asking each one, so that every server is
 * also checked to answer). Returns 0 when all match, 1 naming the first server that differs
 * in err, -1 on a connection or authentication error. */
static int check_epoch(mc_target *t, const char *epoch, char *err, size_t errlen)
{
    size_t klen = strlen(t->epoch_key);
    int result = 0;
    for (uint32_t i = 0; i < t->nservers; i++) {
        size_t len = 0;
        uint32_t flags = 0;
        memcached_return_t rc;
        char *v = memcached_get(t->server[i], t->epoch_key, klen, &len, &flags, &rc);
        bool same = memcached_success(rc) && v && len == strlen(epoch) && !memcmp(v, epoch, len);
        free(v);
        if (same) continue;
        char name[300];
        if (rc != MEMCACHED_NOTFOUND && memcached_failed(rc)) {
            snprintf(err, errlen, "memcached %s: %s", server_name(t, i, name, sizeof name),
                     mc_error(t->server[i], rc));
            return -1;
        }
        if (!result)
            snprintf(err, errlen, "memcached %s lost its data (restarted or flushed) since the checkpoint",
                     server_name(t, i, name, sizeof name));
        result = 1;
    }
    return result;
}

static int set_epoch(mc_target *t, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < t->nservers; i++) {
        memcached_return_t rc =
            memcached_set(t->server[i], t->epoch_key, strlen(t->epoch_key), t->epoch, strlen(t->epoch), 0, 0);
        if (memcached_failed(rc)) {
            char name[300];
            snprintf(err, errlen, "memcached %s: setting the epoch marker: %s", server_name(t, i, name, sizeof name),
                     mc_error(t->server[i], rc));
            return -1;
        }
    }
    t->epoch_pending = false;
    return 0;
}

static void mc_close(void *impl);

static void *mc_open(const fl_config_apply *cfg, int *permanent, char *err, size_t errlen)
{
    *permanent = 0;
    if (!cfg->checkpoint_path) {
        *permanent = 1;
        snprintf(err, errlen, "a memcached target needs [apply] checkpoint_path");
        return NULL;
    }
    memcached_st *mc = fl_memcached_new(cfg->target, err, errlen);
    if (!mc) {
        *permanent = 1;
        return NULL;
    }
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
        t->server[i] = mc_new(cfg->target, (int)i, err, errlen);
        if (!t->server[i]) {
            mc_close(t);
            return NULL;
        }
    }
    /* every server must answer now (and accept the credentials): a missing one would only
     * fail later, mid-batch */
    if (check_epoch(t, "", err, errlen) < 0) {
        mc_close(t);
        return NULL;
    }
    new_epoch(t);
    return t;
}

static void mc_close(void *impl)
{
    mc_target *t = impl;
    if (!t) return;
    memcached_free(t->mc);
    for (uint32_t i = 0; i < t->nservers; i++)
        if (t->server[i]) memcached_free(t->server[i]);
    free(t->server);
    free(t->checkpoint_path);
    free(t->epoch_key);
    free(t);
}

/* ---- checkpoint file ---- */

static int fsync_dir_of(const char *path)
{
    char *dir = fl_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (!slash) strcpy(dir, ".");
    else if (slash == dir) dir[1] = 0;
    else *slash = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int fl_checkpoint_file_write(const char *path, const fl_checkpoint *cp, const char *epoch, char *err, size_t errlen)
{
    fl_buf b = {0};
    fl_buf_printf(&b, CHECKPOINT_MAGIC "\nseq %" PRIu64 "\ngtid %s\nts %" PRIu64 "\nepoch %s\n", cp->seq, cp->gtid,
                  cp->ts, epoch);
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

int fl_checkpoint_file_read(const char *path, fl_checkpoint *cp, char epoch[FL_EPOCH_TEXT_MAX], char *err,
                            size_t errlen)
{
    memset(cp, 0, sizeof *cp);
    epoch[0] = 0;
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
    char text[512];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, text + len, sizeof text - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            snprintf(err, errlen, "checkpoint: cannot read %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        if (n == 0) break;
        len += (size_t)n;
        if (len == sizeof text - 1) {
            close(fd);
            return corrupt(path, "too long", err, errlen);
        }
    }
    close(fd);
    text[len] = 0;
    if (memchr(text, 0, len)) return corrupt(path, "binary content", err, errlen);
    /* five lines: the magic, "seq N", "gtid G" (G empty without GTIDs), "ts T", "epoch E" */
    char *line[5], *rest = text;
    for (int i = 0; i < 5; i++) {
        char *nl = strchr(rest, '\n');
        if (!nl) return corrupt(path, "truncated", err, errlen);
        *nl = 0;
        line[i] = rest;
        rest = nl + 1;
    }
    if (*rest) return corrupt(path, "extra text after the epoch line", err, errlen);
    if (strcmp(line[0], CHECKPOINT_MAGIC)) return corrupt(path, "unknown header line", err, errlen);
    uint64_t seq, ts;
    if (strncmp(line[1], "seq ", 4) || parse_u64(line[1] + 4, &seq)) return corrupt(path, "bad seq line", err, errlen);
    if (strncmp(line[2], "gtid ", 5) || strlen(line[2] + 5) >= FL_GTID_TEXT_MAX)
        return corrupt(path, "bad gtid line", err, errlen);
    const char *gtid = line[2] + 5;
    if (strncmp(line[3], "ts ", 3) || parse_u64(line[3] + 3, &ts)) return corrupt(path, "bad ts line", err, errlen);
    const char *ep = line[4] + 6;
    if (strncmp(line[4], "epoch ", 6) || !*ep || strlen(ep) >= FL_EPOCH_TEXT_MAX ||
        strspn(ep, "0123456789abcdef") != strlen(ep))
        return corrupt(path, "bad epoch line", err, errlen);
    fl_gtid parsed;
    if (gtid[0] && fl_gtid_parse(&parsed, gtid, strlen(gtid)))
        return corrupt(path, "the gtid is not a GTID", err, errlen);
    strcpy(epoch, ep);
    cp->seq = seq;
    cp->ts = ts;
    snprintf(cp->gtid, sizeof cp->gtid, "%s", gtid);
    return 0;
}

/* The file's checkpoint holds only while every server still has the file's epoch. */
static int mc_read_checkpoint(void *impl, fl_checkpoint *cp, char *err, size_t errlen)
{
    mc_target *t = impl;
    char epoch[FL_EPOCH_TEXT_MAX];
    int r = fl_checkpoint_file_read(t->checkpoint_path, cp, epoch, err, errlen);
    if (r != 0) return r;
    int c = check_epoch(t, epoch, err, errlen);
    if (c < 0) return -1;
    if (c > 0) {
        log_warn("%s: applying the journal again from its start (checkpoint was seq %" PRIu64 ")", err, cp->seq);
        memset(cp, 0, sizeof *cp);
        new_epoch(t);
        return 1;
    }
    snprintf(t->epoch, sizeof t->epoch, "%s", epoch);
    t->epoch_pending = false;
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
    if (t->epoch_pending && set_epoch(t, err, errlen)) return -1;
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
        case FL_CACHE_DEL:
            rc = memcached_delete(t->mc, op->key, op->key_len, 0);
            break;
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
        snprintf(err, errlen, "memcached: %s of key '%.*s' failed: %s", op->kind == FL_CACHE_SET ? "set" : "delete",
                 (int)(op->key_len > 200 ? 200 : op->key_len), op->key, mc_error(t->mc, rc));
        return -1;
    }
    t->pending = *cp;
    t->in_flight++;
    return 0;
}

static int mc_flush(void *impl, char *err, size_t errlen)
{
    mc_target *t = impl;
    if (!t->in_flight) return 0;
    /* a server that lost its data since the epoch was set must not be covered by a checkpoint */
    if (check_epoch(t, t->epoch, err, errlen)) return -1;
    if (fl_checkpoint_file_write(t->checkpoint_path, &t->pending, t->epoch, err, errlen)) return -1;
    t->in_flight = 0;
    return 0;
}

static uint32_t mc_in_flight(const void *impl)
{
    const mc_target *t = impl;
    return t->in_flight;
}

const struct fl_target_ops fl_target_memcached_ops = {
    .open = mc_open,
    .close = mc_close,
    .read_checkpoint = mc_read_checkpoint,
    .submit = mc_submit,
    .flush = mc_flush,
    .in_flight = mc_in_flight,
    .kind = "memcached",
};
