/* store.c — the journal on LMDB: append in group commits, read, seek, retention, waiting.
 *
 * Layout of the LMDB environment in the journal directory (data.mdb, lock.mdb):
 *   "records"  key (seq BE64, part BE32) -> one encoded record (journal/record.h)
 *   "gtid"     key binary GTID -> seq BE64, written when a transaction's last part commits
 *              MariaDB: 'M' domain BE32, seq_no BE64, server_id BE32
 *              MySQL:   'Y' uuid[16], tag length u8, tag bytes, gno BE64
 *   "meta"     "version", "last_seq" (last complete transaction), "count", "bytes" (encoded
 *              record bytes stored), "identity" (16 random bytes made in the transaction that
 *              creates the journal), "purged_seq" (the purge horizon: the highest seq retention
 *              ever deleted, written in the transaction that deletes it), and the source
 *              position "pos.gtid_set", "pos.file", "pos.pos", "pos.flavor"; numbers are BE64.
 * Big-endian keys sort in numeric order, so appends are LMDB appends and a cursor walks
 * the journal in seq order.
 *
 * One writer: fl_store_open(write) takes an exclusive flock on DIR/writer.lock for as long
 * as the store is open and writes its pid there, so a second writer is refused naming the
 * holder. Readers open the environment MDB_RDONLY and never take that lock; LMDB's MVCC
 * means they never block the writer. Every call runs in its own short read transaction
 * (one kept reset between calls, MDB_NOTLS), so an idle reader pins no snapshot; a reader
 * killed inside one leaves a slot that would, so the writer frees slots of dead processes
 * at open and at most once a second after a commit. A store handle is for one thread at
 * a time, and a process opens a journal once (LMDB's rule). A reader streaming transaction
 * after transaction (an applier catching up) looks last_seq up only when it passes the value
 * last read, and learns the next transaction's seq from the read of the one before it; its
 * read transaction then stays open on that next record until it is read (one cursor step
 * instead of a new transaction and a lookup), up to HOLD_READS transactions, until any other
 * call or fl_store_release (which the reader calls before it may sit idle).
 *
 * A reader may come before the writer: with no directory yet, no data.mdb, an empty one, or
 * an environment whose databases are not committed yet, the open fails with opts->absent set,
 * and the reader can wait for the journal rather than call it "not a fastlane journal".
 *
 * Commit: the queued records, the GTID index entries of completed transactions, the
 * counters and the source position go into one LMDB write transaction. sync = true opens
 * the environment MDB_NOMETASYNC: LMDB syncs the data and writes the meta page, then
 * fl_store_commit syncs the meta page and only then tells the readers, so a commit a reader
 * is sent to is durable (a power loss cannot take it back); it also keeps data.mdb written with
 * zeros ahead of LMDB's last page (prewrite_data), so a commit's fdatasync does not also have
 * to commit a new file size. false opens it MDB_NOSYNC (a crash
 * of the process loses nothing, a crash of the machine may lose the last commits). When the map
 * is full the write transaction is aborted, the map doubled and the whole transaction
 * retried. A reader whose map is smaller than the file another process grew gets
 * MDB_MAP_RESIZED when it starts a read transaction; it adopts the new size and retries.
 *
 * A transaction may be split into parts committed in different batches. Only the last
 * part makes it visible (last_seq, count, GTID index). Parts left behind by a crash (no
 * last part) are deleted when the writer next opens. A writer that starts a new
 * transaction before finishing the previous one drops the unfinished one. A caller that
 * commits the parts of an unfinished transaction passes a position that does not yet
 * include it (or NULL), so that after a crash it resumes at that transaction's start.
 *
 * Seqs have gaps: an unfinished transaction removed at reopen leaves its seq unused for good.
 * A missing seq above the purge horizon is such a gap; one at or below it was purged. A
 * journal made by an earlier version has neither identity nor horizon: its writer adds both
 * at open (a new identity; everything before the first record counts as purged), and until
 * then readers take the horizon to be the seq before the first record.
 *
 * Waiting across processes: the writer keeps DIR/notify open (O_NOATIME where it may) and,
 * after every commit, reads its first byte: inotify tells a watcher of the file IN_ACCESS,
 * and nothing on disk changes (a write would dirty the inode's mtime, and on a busy disk
 * that waits for the filesystem's journal: up to milliseconds on the way to every reader).
 * The file's first 8 bytes hold the last seq the writer told of (big-endian): stored through
 * a shared mapping after every commit is durable (no system call, no event), and written at
 * open and at most once a second after a commit (pwrite at offset 0: the file never grows),
 * which also wakes a reader of an earlier version that watches IN_MODIFY only. Readers map
 * it too and read no further than it (visible_last_seq): LMDB shows a commit to readers as
 * soon as it wrote the meta page, before fl_store_commit synced it, and a reader that looks
 * without being told (an applier streaming) would otherwise take a commit a power loss can
 * take back (G1b). A journal whose file is missing or shorter (never opened by a writer of
 * this or an earlier version) is not capped. Truncating the file by hand under a running
 * writer or readers would fault them (SIGBUS): it is the journal's, like data.mdb.
 * A reader watches that file with inotify (IN_ACCESS, IN_MODIFY): fl_store_wait_fd returns the
 * inotify descriptor for an event loop, fl_store_wait_ack drains it, and fl_store_wait
 * polls it with the timeout and re-reads last_seq after every wake-up. The watch is set up
 * before last_seq is read, so no commit can slip between the check and the wait. As a
 * safety net against a lost event (a notify file replaced by hand) fl_store_wait re-reads
 * last_seq at least once a second. */
#include "journal/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/stage_trace.h"

#define STORE_FORMAT_VERSION 1
#define DEFAULT_MAP_SIZE ((size_t)64 << 20)
#define REC_KEY_LEN 12
#define GTID_KEY_MAX (1 + 16 + 1 + FL_GTID_TAG_MAX + 8)
#define PURGE_CHUNK 1000                /* transactions deleted per LMDB write transaction */
#define READER_CHECK_INTERVAL 1         /* seconds between sweeps for readers that died */
#define FAIL (-1)                       /* a write step failed with its reason already in err */
#define IDENTITY_LEN 16                 /* bytes of a journal's identity */
#define HOLD_READS 10000                /* transactions streamed in one read transaction, at most */
#define PART_TXN_KEEP (1u << 20)        /* memory of the parts read kept for the next read, at most */
#define NOTIFY_WRITE_EVERY_MS 1000      /* last_seq into the notify file after a commit, at most this often */
#define PREWRITE_LOW ((off_t)2 << 20)   /* sync = group: data.mdb written ahead of LMDB's last page, at least */
#define PREWRITE_CHUNK ((off_t)8 << 20) /* ... topped up to this much at a time */
#define PREWRITE_RETRY_MS 60000         /* after a failure to write ahead, not tried for this long */

FL_STAGE(long long fl_stage_store_t[3];)

typedef struct pending_rec {
    uint64_t seq;
    uint32_t part;
    bool last;
    size_t off, len; /* in fl_store.pbuf */
    uint8_t gkey[GTID_KEY_MAX];
    size_t gkey_len; /* 0: no GTID index entry */
} pending_rec;

/* Where the writer stands in assigning seqs and parts. */
typedef struct seq_state {
    uint64_t next_seq;  /* seq of the next part 0 */
    uint64_t open_seq;  /* seq of an unfinished transaction, 0 if none */
    uint32_t open_part; /* the part it expects next */
} seq_state;

struct fl_store {
    char *dir;
    MDB_env *env;
    MDB_dbi db_rec, db_gtid, db_meta;
    bool write;
    bool sync;                 /* writer: sync = group (the environment is MDB_NOMETASYNC) */
    int64_t prewrite_retry_ms; /* writer: writing ahead failed; not tried again before this */
    MDB_txn *rtxn;             /* read transaction kept reset between calls (MDB_NOTLS) */
    int lock_fd;               /* writer: DIR/writer.lock, flocked */
    int notify_fd;             /* writer: DIR/notify */
    int64_t notify_written_ms; /* writer: when last_seq was last written into it */
    int inotify_fd;            /* reader side of waiting, created on first use */
    uint8_t *told;             /* DIR/notify mapped: last_seq as told, durable (writer: written) */
    int64_t told_tried_ms;     /* reader: when mapping it was last tried (the file may come later) */
    bool absent;               /* reader open: no journal yet, or its writer is still creating it */
    /* reading transaction after transaction: last_seq as last read (it only grows), and the
     * record right after the transaction last streamed in full (hint_seq, seen complete),
     * which answers fl_store_next(hint_from) without a lookup */
    uint64_t read_last_seq, hint_from, hint_seq;
    /* ... and, for a reader, rtxn kept open between two such reads with rcur on that record
     * (held), so that the next read starts there without a lookup; any other call, or
     * fl_store_release, ends it */
    MDB_cursor *rcur; /* the records cursor of read_seq, renewed with each read transaction */
    bool held;
    uint64_t held_seq; /* the transaction rcur is on while held, and its record */
    MDB_val held_key, held_val;
    uint32_t held_reads;    /* transactions read since rtxn began */
    fl_txn part_txn;        /* fl_store_read_parts decodes into it (kept for the next call) */
    size_t part_peak;       /* ... the most memory one of the parts of the last call used */
    fl_record_cache rcache; /* ... with the names of the last record */

    /* writer */
    seq_state committed, pending;
    uint64_t drop_seq;       /* an unfinished transaction with committed parts to delete */
    uint64_t last_seq;       /* last complete seq as of the last commit */
    int64_t reader_check_at; /* CLOCK_MONOTONIC seconds of the next stale-reader sweep */
    fl_buf pbuf;
    char *progress; /* snapshot progress to write with the next commit, NULL when unchanged */
    pending_rec *recs;
    size_t nrecs, recs_cap;
};

/* ---- small helpers ---- */

static void put_be64(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v); /* (the byte loop is not turned into this: read once per key) */
#endif
    memcpy(p, &v, 8);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void rec_key(uint8_t k[REC_KEY_LEN], uint64_t seq, uint32_t part)
{
    put_be64(k, seq);
    put_be32(k + 8, part);
}

/* Decodes a records key; false if it is not one of ours. */
static bool parse_rec_key(const MDB_val *k, uint64_t *seq, uint32_t *part)
{
    if (k->mv_size != REC_KEY_LEN) return false;
    *seq = get_be64(k->mv_data);
    *part = get_be32((const uint8_t *)k->mv_data + 8);
    return true;
}

/* The GTID index key; 0 for an anonymous transaction (not indexed). */
static size_t gtid_key(const fl_gtid *g, uint8_t *k)
{
    if (g->flavor == FL_FLAVOR_MARIADB) {
        k[0] = 'M';
        put_be32(k + 1, g->domain);
        put_be64(k + 5, g->seq_no);
        put_be32(k + 13, g->server_id);
        return 17;
    }
    if (g->flavor == FL_FLAVOR_MYSQL) {
        size_t tl = strnlen(g->tag, FL_GTID_TAG_MAX);
        k[0] = 'Y';
        memcpy(k + 1, g->uuid, 16);
        k[17] = (uint8_t)tl;
        memcpy(k + 18, g->tag, tl);
        put_be64(k + 18 + tl, g->gno);
        return 26 + tl;
    }
    return 0;
}

static int mdb_fail(const fl_store *s, int rc, const char *what, char *err, size_t errlen)
{
    fl_errorf(err, errlen, "journal %s: %s: %s", s->dir, what, mdb_strerror(rc));
    return -1;
}

/* ---- meta values ---- */

static int meta_get_u64(fl_store *s, MDB_txn *txn, const char *name, uint64_t *out)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(txn, s->db_meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        *out = 0;
        return 0;
    }
    if (rc) return rc;
    *out = v.mv_size == 8 ? get_be64(v.mv_data) : 0;
    return 0;
}

static int meta_put_u64(fl_store *s, MDB_txn *txn, const char *name, uint64_t val)
{
    uint8_t b[8];
    put_be64(b, val);
    MDB_val k = {strlen(name), (void *)name}, v = {8, b};
    return mdb_put(txn, s->db_meta, &k, &v, 0);
}

static int meta_put_str(fl_store *s, MDB_txn *txn, const char *name, const char *val)
{
    MDB_val k = {strlen(name), (void *)name}, v = {strlen(val), (void *)val};
    return mdb_put(txn, s->db_meta, &k, &v, 0);
}

static int meta_get_str(fl_store *s, MDB_txn *txn, const char *name, char **out)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(txn, s->db_meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        *out = fl_xstrdup("");
        return 0;
    }
    if (rc) return rc;
    char *p = fl_xmalloc(v.mv_size + 1);
    memcpy(p, v.mv_data, v.mv_size);
    p[v.mv_size] = '\0';
    *out = p;
    return 0;
}

/* The first complete transaction's seq, 0 when there is none. */
static int visible_last_seq(fl_store *s, MDB_txn *txn, uint64_t *out);

static int first_complete_seq(fl_store *s, MDB_txn *txn, uint64_t last_seq, uint64_t *out)
{
    *out = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->db_rec, &cur);
    if (rc) return rc;
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    uint64_t seq;
    uint32_t part;
    if (rc == 0 && parse_rec_key(&k, &seq, &part) && seq <= last_seq) *out = seq;
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The purge horizon; a journal of an earlier version keeps none: then everything before
 * its first complete transaction counts as purged. */
static int horizon_get(fl_store *s, MDB_txn *txn, uint64_t *out)
{
    static const char name[] = "purged_seq";
    MDB_val k = {sizeof name - 1, (void *)name}, v;
    int rc = mdb_get(txn, s->db_meta, &k, &v);
    if (rc == 0) {
        *out = v.mv_size == 8 ? get_be64(v.mv_data) : 0;
        return 0;
    }
    if (rc != MDB_NOTFOUND) return rc;
    uint64_t last_seq, first;
    if ((rc = visible_last_seq(s, txn, &last_seq))) return rc;
    if ((rc = first_complete_seq(s, txn, last_seq, &first))) return rc;
    *out = first ? first - 1 : 0;
    return 0;
}

/* The identity as 32 hex digits. Returns 0, MDB_NOTFOUND when the journal has none, or an
 * LMDB error. */
static int identity_get(fl_store *s, MDB_txn *txn, char out[FL_JOURNAL_ID_TEXT])
{
    static const char name[] = "identity";
    MDB_val k = {sizeof name - 1, (void *)name}, v;
    out[0] = 0;
    int rc = mdb_get(txn, s->db_meta, &k, &v);
    if (rc) return rc;
    if (v.mv_size != IDENTITY_LEN) return MDB_CORRUPTED;
    static const char hex[] = "0123456789abcdef";
    const uint8_t *b = v.mv_data;
    for (size_t i = 0; i < IDENTITY_LEN; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * IDENTITY_LEN] = 0;
    return 0;
}

/* Gives the journal a new random identity. Returns 0, an LMDB error, or FAIL. */
static int identity_create(fl_store *s, MDB_txn *txn, char *err, size_t errlen)
{
    uint8_t b[IDENTITY_LEN];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            fl_errorf(err, errlen, "journal %s: cannot make an identity: getrandom: %s", s->dir, strerror(errno));
            return FAIL;
        }
        got += (size_t)n;
    }
    static const char name[] = "identity";
    MDB_val k = {sizeof name - 1, (void *)name}, v = {sizeof b, b};
    return mdb_put(txn, s->db_meta, &k, &v, 0);
}

/* ---- transactions ---- */

/* Starts (renews) the store's read transaction, adopting a map grown by another process. */
static int read_begin(fl_store *s, MDB_txn **out, char *err, size_t errlen)
{
    fl_store_release(s);
    s->held_reads = 0;
    for (int tries = 0;; tries++) {
        int rc;
        if (s->rtxn) {
            rc = mdb_txn_renew(s->rtxn);
            if (rc) {
                mdb_txn_abort(s->rtxn);
                s->rtxn = NULL;
            }
        } else {
            MDB_txn *txn = NULL;
            rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
            if (rc == 0) s->rtxn = txn;
        }
        if (rc == 0) {
            *out = s->rtxn;
            return 0;
        }
        if (rc == MDB_MAP_RESIZED && tries < 16) {
            rc = mdb_env_set_mapsize(s->env, 0);
            if (rc == 0) continue;
        }
        int dead = 0;
        if (rc == MDB_READERS_FULL && tries < 16 && mdb_reader_check(s->env, &dead) == 0 && dead > 0)
            continue; /* slots held by processes that died */
        return mdb_fail(s, rc, "cannot start a read transaction", err, errlen);
    }
}

static void read_end(fl_store *s)
{
    if (s->rtxn) mdb_txn_reset(s->rtxn);
}

void fl_store_release(fl_store *s)
{
    if (!s->held) return;
    s->held = false;
    read_end(s);
}

static int grow_map(fl_store *s, char *err, size_t errlen)
{
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    size_t size = info.me_mapsize * 2;
    int rc = mdb_env_set_mapsize(s->env, size);
    if (rc) return mdb_fail(s, rc, "cannot grow the map", err, errlen);
    log_info("journal %s: map grown to %zu MiB", s->dir, size >> 20);
    return 0;
}

typedef int (*write_fn)(fl_store *s, MDB_txn *txn, void *ctx, char *err, size_t errlen);

/* Runs fn in one LMDB write transaction and commits it; a full map is doubled and the
 * whole transaction retried, so callers never see MDB_MAP_FULL. fn returns 0, an LMDB
 * error code, or FAIL with err set. */
static int write_txn(fl_store *s, write_fn fn, void *ctx, char *err, size_t errlen)
{
    for (;;) {
        MDB_txn *txn;
        int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
        if (rc == MDB_MAP_RESIZED) {
            rc = mdb_env_set_mapsize(s->env, 0);
            if (rc == 0) continue;
        }
        if (rc) return mdb_fail(s, rc, "cannot start a write transaction", err, errlen);
        rc = fn(s, txn, ctx, err, errlen);
        if (rc == 0) {
            rc = mdb_txn_commit(txn); /* frees txn, also on failure */
        } else {
            mdb_txn_abort(txn);
        }
        if (rc == MDB_MAP_FULL) {
            if (grow_map(s, err, errlen) < 0) return -1;
            continue;
        }
        if (rc == FAIL) return -1;
        if (rc) return mdb_fail(s, rc, "write", err, errlen);
        return 0;
    }
}

/* Frees reader slots left by processes that died inside a read transaction: such a slot
 * pins its snapshot, and the file would grow without bound. Run at open and every few
 * seconds by the writer. */
static void sweep_readers(fl_store *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ts.tv_sec < s->reader_check_at) return;
    s->reader_check_at = ts.tv_sec + READER_CHECK_INTERVAL;
    int dead = 0;
    if (mdb_reader_check(s->env, &dead) == 0 && dead > 0)
        log_info("journal %s: freed %d reader slots of processes that died", s->dir, dead);
}

/* ---- opening ---- */

static bool file_exists(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

/* A directory a writer may turn into a journal: empty but for our own files. */
static bool dir_is_fresh(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return false;
    bool fresh = true;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "writer.lock") || !strcmp(n, "notify") ||
            !strcmp(n, "lock.mdb"))
            continue;
        fresh = false;
        break;
    }
    closedir(d);
    return fresh;
}

static int take_writer_lock(fl_store *s, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/writer.lock", s->dir);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (s->lock_fd < 0) {
        fl_errorf(err, errlen, "journal %s: cannot open writer.lock: %s", s->dir, strerror(errno));
        return -1;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK) {
            char buf[32] = {0};
            ssize_t n = pread(s->lock_fd, buf, sizeof buf - 1, 0);
            long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
            if (pid > 0)
                fl_errorf(err, errlen, "journal %s: already opened for writing by pid %ld", s->dir, pid);
            else
                fl_errorf(err, errlen, "journal %s: already opened for writing by another process", s->dir);
        } else {
            fl_errorf(err, errlen, "journal %s: cannot lock writer.lock: %s", s->dir, strerror(errno));
        }
        return -1;
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(s->lock_fd, 0) < 0 || pwrite(s->lock_fd, buf, (size_t)n, 0) != n) {
        fl_errorf(err, errlen, "journal %s: cannot write writer.lock: %s", s->dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int check_version(fl_store *s, MDB_txn *txn, char *err, size_t errlen)
{
    uint64_t v;
    int rc = meta_get_u64(s, txn, "version", &v);
    if (rc) return rc;
    if (v == 0) {
        fl_errorf(err, errlen, "%s: not a fastlane journal", s->dir);
        return FAIL;
    }
    if (v > STORE_FORMAT_VERSION) {
        fl_errorf(err, errlen, "journal %s: format version %llu is newer than this program's (%d)", s->dir,
                  (unsigned long long)v, STORE_FORMAT_VERSION);
        return FAIL;
    }
    return 0;
}

typedef struct open_ctx {
    bool fresh;          /* out: the environment held nothing: a new journal */
    bool identity_added; /* out: a journal of an earlier version got its identity */
} open_ctx;

/* Writer: opens (creating on a fresh environment) the named databases. */
static int open_dbs_write(fl_store *s, MDB_txn *txn, void *vctx, char *err, size_t errlen)
{
    open_ctx *ctx = vctx;
    MDB_dbi main_db;
    MDB_stat st;
    int rc = mdb_dbi_open(txn, NULL, 0, &main_db);
    if (rc) return rc;
    if ((rc = mdb_stat(txn, main_db, &st))) return rc;
    ctx->fresh = st.ms_entries == 0;
    unsigned flags = ctx->fresh ? MDB_CREATE : 0;
    rc = mdb_dbi_open(txn, "meta", flags, &s->db_meta);
    if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
        fl_errorf(err, errlen, "%s: not a fastlane journal", s->dir);
        return FAIL;
    }
    if (rc) return rc;
    if ((rc = mdb_dbi_open(txn, "records", flags, &s->db_rec))) return rc;
    if ((rc = mdb_dbi_open(txn, "gtid", flags, &s->db_gtid))) return rc;
    if (ctx->fresh) {
        /* the journal is born here, with its identity and an empty purge horizon */
        if ((rc = meta_put_u64(s, txn, "version", STORE_FORMAT_VERSION))) return rc;
        if ((rc = identity_create(s, txn, err, errlen))) return rc;
        return meta_put_u64(s, txn, "purged_seq", 0);
    }
    if ((rc = check_version(s, txn, err, errlen))) return rc;
    /* a journal made by an earlier version: give it what this one keeps */
    char id[FL_JOURNAL_ID_TEXT];
    rc = identity_get(s, txn, id);
    if (rc == MDB_NOTFOUND) {
        if ((rc = identity_create(s, txn, err, errlen))) return rc;
        ctx->identity_added = true;
    } else if (rc) {
        return rc;
    }
    uint64_t horizon;
    if ((rc = horizon_get(s, txn, &horizon))) return rc;
    return meta_put_u64(s, txn, "purged_seq", horizon);
}

/* Deletes every record of seq; subtracts their sizes from *bytes. cur is on records. */
static int delete_seq(MDB_cursor *cur, uint64_t seq, uint64_t *bytes, uint32_t *nparts)
{
    uint8_t kb[REC_KEY_LEN];
    for (;;) {
        rec_key(kb, seq, 0);
        MDB_val k = {REC_KEY_LEN, kb}, v;
        int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND) return 0;
        if (rc) return rc;
        uint64_t kseq;
        uint32_t kpart;
        if (!parse_rec_key(&k, &kseq, &kpart) || kseq != seq) return 0;
        *bytes -= *bytes >= v.mv_size ? v.mv_size : *bytes;
        if (nparts) (*nparts)++;
        if ((rc = mdb_cursor_del(cur, 0))) return rc;
    }
}

/* Writer open: removes parts of an unfinished transaction left by a crash and finds where
 * the seq numbering goes on. */
static int recover_tail(fl_store *s, MDB_txn *txn, void *ctx, char *err, size_t errlen)
{
    (void)ctx;
    (void)err;
    (void)errlen;
    uint64_t last_seq, bytes;
    int rc;
    if ((rc = meta_get_u64(s, txn, "last_seq", &last_seq))) return rc;
    if ((rc = meta_get_u64(s, txn, "bytes", &bytes))) return rc;
    s->last_seq = last_seq;
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, s->db_rec, &cur))) return rc;
    uint64_t next = last_seq + 1;
    bool changed = false;
    for (;;) {
        MDB_val k, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            break;
        }
        if (rc) break;
        uint64_t seq;
        uint32_t part;
        if (!parse_rec_key(&k, &seq, &part)) {
            rc = MDB_CORRUPTED;
            break;
        }
        if (seq <= last_seq) {
            rc = 0;
            break;
        }
        uint32_t nparts = 0;
        if ((rc = delete_seq(cur, seq, &bytes, &nparts))) break;
        log_warn("journal %s: removed unfinished transaction seq %llu (%u parts) left by a crash", s->dir,
                 (unsigned long long)seq, nparts);
        if (seq + 1 > next) next = seq + 1;
        changed = true;
    }
    mdb_cursor_close(cur);
    if (rc) return rc;
    if (changed && (rc = meta_put_u64(s, txn, "bytes", bytes))) return rc;
    s->committed.next_seq = next;
    s->committed.open_seq = 0;
    s->committed.open_part = 0;
    return 0;
}

/* The notify file's first 8 bytes, mapped (no write system call, no inotify event, no
 * inode dirtied at each store; a reader's loads make no IN_ACCESS either). A file shorter
 * than that is not mapped. */
static uint8_t *map_told(int fd, bool writable)
{
    struct stat st;
    if (fstat(fd, &st) || st.st_size < 8) return NULL;
    void *m = mmap(NULL, 8, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    return m == MAP_FAILED ? NULL : m;
}

/* Writer: the seq readers may read up to, after its commit is durable. */
static void store_told(fl_store *s)
{
    if (!s->told) return;
    uint8_t b[8];
    put_be64(b, s->last_seq);
    uint64_t v;
    memcpy(&v, b, sizeof v);
    __atomic_store_n((uint64_t *)(void *)s->told, v, __ATOMIC_RELEASE);
}

/* Reader: the last seq the writer told of, capping the meta page's last_seq (which a reader
 * sees as soon as LMDB writes it, before fl_store_commit synced it): true when known. A
 * journal whose notify file is missing or empty (no writer of this or an earlier version
 * opened it yet) is not capped; mapping it is tried again at most once a second. */
static bool told_seq(fl_store *s, uint64_t *out)
{
    if (!s->told) {
        int64_t now = fl_now_ms();
        if (now - s->told_tried_ms < 1000 && s->told_tried_ms) return false;
        s->told_tried_ms = now;
        char path[4096];
        snprintf(path, sizeof path, "%s/notify", s->dir);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return false;
        s->told = map_told(fd, false);
        close(fd);
        if (!s->told) return false;
    }
    uint64_t v = __atomic_load_n((const uint64_t *)(const void *)s->told, __ATOMIC_ACQUIRE);
    *out = get_be64((const uint8_t *)&v);
    return true;
}

/* last_seq as a reader may see it: no later than the writer told (G1b). The writer's own is
 * its own. */
static int visible_last_seq(fl_store *s, MDB_txn *txn, uint64_t *out)
{
    int rc = meta_get_u64(s, txn, "last_seq", out);
    uint64_t told;
    if (!rc && !s->write && told_seq(s, &told) && told < *out) *out = told;
    return rc;
}

/* sync = group: keeps data.mdb written (zeros, synced) PREWRITE_LOW to PREWRITE_CHUNK bytes past
 * LMDB's last page, within the map. A commit that only overwrites blocks the file already has
 * makes its fdatasync flush data alone; one that grows the file also commits the file's new size
 * through the filesystem's journal, and that waits behind every other writer of the filesystem
 * (on a busy disk, tens to hundreds of milliseconds now and then). LMDB reads nothing past its
 * last page, so the zeros are never taken for data; only blocks past the file's end are written,
 * never a page LMDB uses. A failure (a full disk) gives back what it wrote, so that the zeros
 * never take the room a commit needs, is logged, and is not tried again for PREWRITE_RETRY_MS:
 * meanwhile commits grow the file themselves, as with sync = none. */
static void prewrite_data(fl_store *s)
{
    static const uint8_t zeros[1 << 16];
    int fd;
    MDB_envinfo info;
    MDB_stat st;
    struct stat fs;
    if (!s->sync || (s->prewrite_retry_ms && fl_now_ms() < s->prewrite_retry_ms)) return;
    if (mdb_env_get_fd(s->env, &fd) || mdb_env_stat(s->env, &st) || fstat(fd, &fs)) return;
    mdb_env_info(s->env, &info);
    off_t used = ((off_t)info.me_last_pgno + 1) * st.ms_psize, end = fs.st_size;
    off_t want = used + PREWRITE_CHUNK, map = (off_t)info.me_mapsize;
    if (want > map) want = map;
    if (end - used >= PREWRITE_LOW || end >= want) return;
    off_t was = end;
    if (end < used) end = used;
    for (off_t at = end; at < want;) {
        size_t n = want - at < (off_t)sizeof zeros ? (size_t)(want - at) : sizeof zeros;
        ssize_t w = pwrite(fd, zeros, n, at);
        if (w <= 0) {
            const char *why = w < 0 ? strerror(errno) : "nothing written";
            if (ftruncate(fd, was > used ? was : used))
                log_warn("journal %s: cannot give back what was written ahead: %s", s->dir, strerror(errno));
            log_warn("journal %s: cannot write ahead in data.mdb (%s); commits grow it themselves, tried "
                     "again in %d s",
                     s->dir, why, PREWRITE_RETRY_MS / 1000);
            s->prewrite_retry_ms = fl_now_ms() + PREWRITE_RETRY_MS;
            return;
        }
        at += w;
    }
    s->prewrite_retry_ms = 0;
    if (fdatasync(fd)) log_warn("journal %s: cannot sync data.mdb written ahead: %s", s->dir, strerror(errno));
}

/* Writer: last_seq into the notify file's first 8 bytes (IN_MODIFY to its watchers). */
static void write_notify(fl_store *s)
{
    uint8_t b[8];
    put_be64(b, s->last_seq);
    s->notify_written_ms = fl_now_ms();
    if (pwrite(s->notify_fd, b, sizeof b, 0) != (ssize_t)sizeof b)
        log_warn("journal %s: cannot write notify: %s", s->dir, strerror(errno));
}

static int open_write(fl_store *s, const fl_store_opts *opts, char *err, size_t errlen)
{
    struct stat st;
    if (stat(s->dir, &st) < 0) {
        if (errno != ENOENT) {
            fl_errorf(err, errlen, "journal %s: %s", s->dir, strerror(errno));
            return -1;
        }
        /* only the leaf is created; its parent must exist */
        if (mkdir(s->dir, 0750) < 0) {
            fl_errorf(err, errlen, "journal %s: cannot create the directory: %s", s->dir, strerror(errno));
            return -1;
        }
    } else if (!S_ISDIR(st.st_mode)) {
        fl_errorf(err, errlen, "journal %s: not a directory", s->dir);
        return -1;
    }
    bool has_data = file_exists(s->dir, "data.mdb");
    if (!has_data && !dir_is_fresh(s->dir)) {
        fl_errorf(err, errlen, "%s: not a fastlane journal (directory is not empty)", s->dir);
        return -1;
    }
    if (take_writer_lock(s, err, errlen) < 0) return -1;

    int rc = mdb_env_create(&s->env);
    if (rc) return mdb_fail(s, rc, "cannot create the environment", err, errlen);
    mdb_env_set_maxdbs(s->env, 4);
    size_t initial = opts->initial_map_size ? opts->initial_map_size : DEFAULT_MAP_SIZE;
    if (!has_data) mdb_env_set_mapsize(s->env, initial); /* else the size stored in the file */
    unsigned flags = MDB_NOTLS | (opts->sync ? MDB_NOMETASYNC : MDB_NOSYNC);
    s->sync = opts->sync;
    rc = mdb_env_open(s->env, s->dir, flags, 0640);
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) {
        fl_errorf(err, errlen, "%s: not a fastlane journal (%s)", s->dir, mdb_strerror(rc));
        return -1;
    }
    if (rc) return mdb_fail(s, rc, "cannot open", err, errlen);
    sweep_readers(s);
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    if (info.me_mapsize < initial && (rc = mdb_env_set_mapsize(s->env, initial)))
        return mdb_fail(s, rc, "cannot set the map size", err, errlen);

    open_ctx ctx = {0};
    if (write_txn(s, open_dbs_write, &ctx, err, errlen) < 0) return -1;
    if (ctx.identity_added) log_info("journal %s: made by an earlier version; it now has an identity", s->dir);
    if (write_txn(s, recover_tail, NULL, err, errlen) < 0) return -1;
    s->pending = s->committed;

    char path[4096];
    snprintf(path, sizeof path, "%s/notify", s->dir);
    s->notify_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOATIME, 0644);
    if (s->notify_fd < 0 && errno == EPERM) /* O_NOATIME on a file of another owner */
        s->notify_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (s->notify_fd < 0) {
        fl_errorf(err, errlen, "journal %s: cannot open notify: %s", s->dir, strerror(errno));
        return -1;
    }
    /* what the journal holds now is durable before readers are told of it (the open's own
     * write transactions left their meta page unsynced) */
    if (s->sync && (rc = mdb_env_sync(s->env, 1)))
        return mdb_fail(s, rc, "cannot sync the journal to disk", err, errlen);
    write_notify(s); /* a commit's read needs a byte to read; and readers look again now */
    s->told = map_told(s->notify_fd, true);
    prewrite_data(s);
    return 0;
}

/* Reader: whether data.mdb is still empty (a writer has just created it; LMDB refuses to
 * read such a file, and a writer turns it into a new environment). */
static bool data_file_empty(const char *dir)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    return stat(path, &st) == 0 && st.st_size == 0;
}

/* Reader: whether the environment holds no named database yet (its writer has not committed
 * the transaction that creates them). Another program's environment has its own. */
static bool env_unborn(MDB_txn *txn)
{
    MDB_dbi main_db;
    MDB_stat st;
    return mdb_dbi_open(txn, NULL, 0, &main_db) == 0 && mdb_stat(txn, main_db, &st) == 0 && st.ms_entries == 0;
}

static int open_read(fl_store *s, char *err, size_t errlen)
{
    struct stat st;
    if (stat(s->dir, &st) < 0) {
        s->absent = errno == ENOENT;
        if (errno == ENOENT)
            fl_errorf(err, errlen, "journal %s: no such directory", s->dir);
        else
            fl_errorf(err, errlen, "journal %s: %s", s->dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fl_errorf(err, errlen, "journal %s: not a directory", s->dir);
        return -1;
    }
    if (!file_exists(s->dir, "data.mdb")) {
        s->absent = true;
        fl_errorf(err, errlen, "%s: not a fastlane journal", s->dir);
        return -1;
    }
    int rc = mdb_env_create(&s->env);
    if (rc) return mdb_fail(s, rc, "cannot create the environment", err, errlen);
    mdb_env_set_maxdbs(s->env, 4);
    rc = mdb_env_open(s->env, s->dir, MDB_RDONLY | MDB_NOTLS, 0640);
    if (rc == EBADF && data_file_empty(s->dir)) {
        s->absent = true;
        fl_errorf(err, errlen, "%s: not a fastlane journal (being created)", s->dir);
        return -1;
    }
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) {
        fl_errorf(err, errlen, "%s: not a fastlane journal (%s)", s->dir, mdb_strerror(rc));
        return -1;
    }
    if (rc) return mdb_fail(s, rc, "cannot open", err, errlen);
    MDB_txn *txn;
    for (int tries = 0;; tries++) {
        rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
        if (rc == MDB_MAP_RESIZED && tries < 16 && mdb_env_set_mapsize(s->env, 0) == 0) continue;
        break;
    }
    if (rc) return mdb_fail(s, rc, "cannot start a read transaction", err, errlen);
    rc = mdb_dbi_open(txn, "meta", 0, &s->db_meta);
    if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
        s->absent = rc == MDB_NOTFOUND && env_unborn(txn);
        mdb_txn_abort(txn);
        fl_errorf(err, errlen, "%s: not a fastlane journal%s", s->dir, s->absent ? " (being created)" : "");
        return -1;
    }
    if (rc == 0) rc = mdb_dbi_open(txn, "records", 0, &s->db_rec);
    if (rc == 0) rc = mdb_dbi_open(txn, "gtid", 0, &s->db_gtid);
    if (rc == 0) rc = check_version(s, txn, err, errlen);
    if (rc) {
        mdb_txn_abort(txn);
        if (rc == FAIL) return -1;
        if (rc == MDB_NOTFOUND) {
            fl_errorf(err, errlen, "%s: not a fastlane journal", s->dir);
            return -1;
        }
        return mdb_fail(s, rc, "cannot open", err, errlen);
    }
    rc = mdb_txn_commit(txn); /* keeps the database handles */
    if (rc) return mdb_fail(s, rc, "cannot open", err, errlen);
    return 0;
}

fl_store *fl_store_open(const char *dir, const fl_store_opts *opts, char *err, size_t errlen)
{
    fl_store_opts defaults = {0};
    if (!opts) opts = &defaults;
    fl_store *s = fl_xcalloc(1, sizeof *s);
    s->dir = fl_xstrdup(dir);
    s->write = opts->write;
    s->lock_fd = s->notify_fd = s->inotify_fd = -1;
    int rc = s->write ? open_write(s, opts, err, errlen) : open_read(s, err, errlen);
    if (opts->absent) *opts->absent = rc < 0 && s->absent;
    if (rc < 0) {
        fl_store_close(s);
        return NULL;
    }
    return s;
}

void fl_store_close(fl_store *s)
{
    if (!s) return;
    if (s->rcur) mdb_cursor_close(s->rcur);
    if (s->rtxn) mdb_txn_abort(s->rtxn);
    fl_txn_free(&s->part_txn);
    fl_record_cache_free(&s->rcache);
    if (s->env) {
        if (s->write) mdb_env_sync(s->env, 1);
        mdb_env_close(s->env);
    }
    if (s->told) munmap(s->told, 8);
    if (s->notify_fd >= 0) close(s->notify_fd);
    if (s->inotify_fd >= 0) close(s->inotify_fd);
    if (s->lock_fd >= 0) close(s->lock_fd); /* releases the writer lock */
    fl_buf_free(&s->pbuf);
    free(s->progress);
    free(s->recs);
    free(s->dir);
    free(s);
}

/* ---- writing ---- */

static int need_writer(const fl_store *s, char *err, size_t errlen)
{
    if (s->write) return 0;
    fl_errorf(err, errlen, "journal %s: opened read-only", s->dir);
    return -1;
}

/* Forgets the queued parts of the unfinished transaction (they are at the queue's end). */
static void unqueue_seq(fl_store *s, uint64_t seq)
{
    size_t i = s->nrecs;
    while (i > 0 && s->recs[i - 1].seq == seq) i--;
    if (i < s->nrecs) {
        s->pbuf.len = s->recs[i].off;
        s->nrecs = i;
    }
}

int fl_store_add(fl_store *s, fl_txn *t, char *err, size_t errlen)
{
    if (need_writer(s, err, errlen) < 0) return -1;
    seq_state *p = &s->pending;
    if (t->part == 0) {
        if (p->open_seq) {
            /* the previous transaction was abandoned before its last part */
            log_warn("journal %s: dropping unfinished transaction seq %llu", s->dir,
                     (unsigned long long)p->open_seq);
            if (s->committed.open_seq == p->open_seq) s->drop_seq = p->open_seq;
            unqueue_seq(s, p->open_seq);
            p->open_seq = 0;
        }
        t->seq = p->next_seq++;
    } else {
        if (!p->open_seq || t->part != p->open_part) {
            fl_errorf(err, errlen, "journal %s: part %u out of order (expected %s %u)", s->dir, t->part,
                      p->open_seq ? "part" : "a part", p->open_seq ? p->open_part : 0u);
            return -1;
        }
        t->seq = p->open_seq;
    }
    if (s->nrecs == s->recs_cap) {
        s->recs_cap = s->recs_cap ? s->recs_cap * 2 : 64;
        s->recs = fl_xrealloc(s->recs, s->recs_cap * sizeof *s->recs);
    }
    pending_rec *r = &s->recs[s->nrecs++];
    r->seq = t->seq;
    r->part = t->part;
    r->last = (t->flags & FL_TXN_LAST_PART) != 0;
    r->off = s->pbuf.len;
    fl_record_encode(t, &s->pbuf);
    r->len = s->pbuf.len - r->off;
    r->gkey_len = r->last ? gtid_key(&t->gtid, r->gkey) : 0;
    if (r->last) {
        p->open_seq = 0;
        p->open_part = 0;
    } else {
        p->open_seq = t->seq;
        p->open_part = t->part + 1;
    }
    return 0;
}

static int commit_fn(fl_store *s, MDB_txn *txn, void *vpos, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    const fl_position *pos = vpos;
    uint64_t last_seq, count, bytes;
    int rc;
    if ((rc = meta_get_u64(s, txn, "last_seq", &last_seq))) return rc;
    if ((rc = meta_get_u64(s, txn, "count", &count))) return rc;
    if ((rc = meta_get_u64(s, txn, "bytes", &bytes))) return rc;
    if (s->drop_seq) {
        MDB_cursor *cur;
        if ((rc = mdb_cursor_open(txn, s->db_rec, &cur))) return rc;
        rc = delete_seq(cur, s->drop_seq, &bytes, NULL);
        mdb_cursor_close(cur);
        if (rc) return rc;
    }
    /* One cursor per database for the whole batch: records are appended; GTID keys mostly
     * grow too (one source, one domain), so they are appended while they do */
    MDB_cursor *rc_cur = NULL, *gc_cur = NULL;
    if ((rc = mdb_cursor_open(txn, s->db_rec, &rc_cur)) || (rc = mdb_cursor_open(txn, s->db_gtid, &gc_cur))) {
        if (rc_cur) mdb_cursor_close(rc_cur);
        return rc;
    }
    for (size_t i = 0; i < s->nrecs && rc == 0; i++) {
        const pending_rec *r = &s->recs[i];
        uint8_t kb[REC_KEY_LEN];
        rec_key(kb, r->seq, r->part);
        MDB_val k = {REC_KEY_LEN, kb}, v = {r->len, s->pbuf.data + r->off};
        if ((rc = mdb_cursor_put(rc_cur, &k, &v, MDB_APPEND))) break;
        bytes += r->len;
        if (!r->last) continue;
        count++;
        last_seq = r->seq;
        if (r->gkey_len) {
            uint8_t sb[8];
            put_be64(sb, r->seq);
            MDB_val gk = {r->gkey_len, (void *)r->gkey}, gv = {8, sb};
            rc = mdb_cursor_put(gc_cur, &gk, &gv, MDB_APPEND);
            if (rc == MDB_KEYEXIST) rc = mdb_cursor_put(gc_cur, &gk, &gv, 0); /* not above the last key */
        }
    }
    mdb_cursor_close(rc_cur);
    mdb_cursor_close(gc_cur);
    if (rc) return rc;
    if ((rc = meta_put_u64(s, txn, "last_seq", last_seq))) return rc;
    if ((rc = meta_put_u64(s, txn, "count", count))) return rc;
    if ((rc = meta_put_u64(s, txn, "bytes", bytes))) return rc;
    s->last_seq = last_seq;
    if (pos) {
        if ((rc = meta_put_str(s, txn, "pos.gtid_set", pos->gtid_set ? pos->gtid_set : ""))) return rc;
        if ((rc = meta_put_str(s, txn, "pos.file", pos->file ? pos->file : ""))) return rc;
        if ((rc = meta_put_u64(s, txn, "pos.pos", pos->pos))) return rc;
        if ((rc = meta_put_u64(s, txn, "pos.flavor", pos->flavor))) return rc;
    }
    if (s->progress && (rc = meta_put_str(s, txn, "snapshot.progress", s->progress))) return rc;
    return 0;
}

/* Tells the readers of a commit: a read of the notify file (IN_ACCESS), and once a second a
 * write of last_seq into it (IN_MODIFY, for readers of an earlier version). */
static void notify_readers(fl_store *s)
{
    store_told(s);
    uint8_t b;
    if (pread(s->notify_fd, &b, 1, 0) != 1) {
        write_notify(s); /* emptied by hand: written again, which wakes the readers too */
        return;
    }
    /* without the mapping (mmap refused) readers learn the told seq from writes only */
    if (!s->told || fl_now_ms() - s->notify_written_ms >= NOTIFY_WRITE_EVERY_MS) write_notify(s);
}

int fl_store_commit(fl_store *s, const fl_position *pos, char *err, size_t errlen)
{
    if (need_writer(s, err, errlen) < 0) return -1;
    if (!s->nrecs && !pos && !s->drop_seq && !s->progress) return 0;
    if (write_txn(s, commit_fn, (void *)pos, err, errlen) < 0) return -1;
    FL_STAGE(fl_stage_store_t[0] = fl_stage_now();)
    int rc;
    free(s->progress);
    s->progress = NULL;
    s->committed = s->pending;
    s->drop_seq = 0;
    s->nrecs = 0;
    fl_buf_reset(&s->pbuf);
    /* The records are on disk already (LMDB synced the data before writing the meta page);
     * the meta page is synced before readers are told, so no reader is sent to a commit a
     * power loss could take back (a snapshot chunk read again would not be the same). */
    if (s->sync && (rc = mdb_env_sync(s->env, 1)))
        return mdb_fail(s, rc, "cannot sync the commit to disk", err, errlen);
    FL_STAGE(fl_stage_store_t[1] = fl_stage_now();)
    notify_readers(s);
    FL_STAGE(fl_stage_store_t[2] = fl_stage_now();)
    prewrite_data(s); /* after the readers were told: it delays the next commit, not this one */
    sweep_readers(s);
    return 0;
}

void fl_store_set_snapshot_progress(fl_store *s, const char *text)
{
    free(s->progress);
    s->progress = fl_xstrdup(text);
}

bool fl_store_progress_pending(const fl_store *s) { return s->progress != NULL; }

int fl_store_snapshot_progress(fl_store *s, char **out, char *err, size_t errlen)
{
    *out = NULL;
    MDB_txn *txn;
    if (read_begin(s, &txn, err, errlen) < 0) return -1;
    int rc = meta_get_str(s, txn, "snapshot.progress", out);
    read_end(s);
    if (rc) return mdb_fail(s, rc, "cannot read the snapshot progress", err, errlen);
    return 0;
}

void fl_store_abort(fl_store *s)
{
    free(s->progress);
    s->progress = NULL;
    s->nrecs = 0;
    fl_buf_reset(&s->pbuf);
    s->pending = s->committed;
    s->drop_seq = 0;
}

size_t fl_store_pending_bytes(const fl_store *s) { return s->pbuf.len; }

/* ---- reading ---- */

void fl_position_free(fl_position *p)
{
    if (!p) return;
    free(p->gtid_set);
    free(p->file);
    p->gtid_set = p->file = NULL;
}

int fl_store_position(fl_store *s, fl_position *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    MDB_txn *txn;
    if (read_begin(s, &txn, err, errlen) < 0) return -1;
    uint64_t pos = 0, flavor = 0;
    int rc = meta_get_str(s, txn, "pos.gtid_set", &out->gtid_set);
    if (!rc) rc = meta_get_str(s, txn, "pos.file", &out->file);
    if (!rc) rc = meta_get_u64(s, txn, "pos.pos", &pos);
    if (!rc) rc = meta_get_u64(s, txn, "pos.flavor", &flavor);
    read_end(s);
    if (rc) {
        fl_position_free(out);
        return mdb_fail(s, rc, "cannot read the position", err, errlen);
    }
    out->pos = pos;
    out->flavor = (uint32_t)flavor;
    return 0;
}

/* Header of part 0 of seq: gtid and ts. Returns 0, MDB_NOTFOUND, an LMDB error or FAIL. */
static int peek_seq(fl_store *s, MDB_txn *txn, uint64_t seq, fl_gtid *g, uint64_t *ts, char *err, size_t errlen)
{
    uint8_t kb[REC_KEY_LEN];
    rec_key(kb, seq, 0);
    MDB_val k = {REC_KEY_LEN, kb}, v;
    int rc = mdb_get(txn, s->db_rec, &k, &v);
    if (rc) return rc;
    uint32_t flags, part;
    if (fl_record_peek(v.mv_data, v.mv_size, g, ts, &flags, &part) < 0) {
        fl_errorf(err, errlen, "journal record seq %llu part 0: malformed header", (unsigned long long)seq);
        return FAIL;
    }
    return 0;
}

int fl_store_info_get(fl_store *s, fl_store_info *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    MDB_txn *txn;
    if (read_begin(s, &txn, err, errlen) < 0) return -1;
    int rc = visible_last_seq(s, txn, &out->last_seq);
    if (!rc) rc = meta_get_u64(s, txn, "count", &out->count);
    if (!rc) rc = meta_get_u64(s, txn, "bytes", &out->bytes);
    if (!rc) rc = first_complete_seq(s, txn, out->last_seq, &out->first_seq);
    if (!rc) rc = horizon_get(s, txn, &out->purged_seq);
    if (!rc && (rc = identity_get(s, txn, out->identity)) == MDB_NOTFOUND) rc = 0;
    if (!rc && out->first_seq)
        rc = peek_seq(s, txn, out->first_seq, &out->first_gtid, &out->first_ts, err, errlen);
    if (!rc && out->last_seq) rc = peek_seq(s, txn, out->last_seq, &out->last_gtid, &out->last_ts, err, errlen);
    if (!out->first_seq) out->last_seq = 0;
    read_end(s);
    if (rc == FAIL) return -1;
    if (rc) return mdb_fail(s, rc, "cannot read the journal's counters", err, errlen);
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    out->map_size = info.me_mapsize;
    return 0;
}

int fl_store_identity(fl_store *s, char id[FL_JOURNAL_ID_TEXT], char *err, size_t errlen)
{
    MDB_txn *txn;
    id[0] = 0;
    if (read_begin(s, &txn, err, errlen) < 0) return -1;
    int rc = identity_get(s, txn, id);
    read_end(s);
    if (rc == MDB_NOTFOUND) return 1;
    if (rc) return mdb_fail(s, rc, "cannot read the identity", err, errlen);
    return 0;
}

int fl_store_purge_horizon(fl_store *s, uint64_t *seq, char *err, size_t errlen)
{
    MDB_txn *txn;
    *seq = 0;
    if (read_begin(s, &txn, err, errlen) < 0) return -1;
    int rc = horizon_get(s, txn, seq);
    read_end(s);
    if (rc) return mdb_fail(s, rc, "cannot read the purge horizon", err, errlen);
    return 0;
}

/* Decodes the parts of seq in order: into t when fn is NULL (reassembling), else each part
 * into t and passes it to fn. A transaction is complete when its LAST_PART record is there.
 * Streaming, a reader keeps its read transaction open on the next complete transaction's first
 * record (held), for at most HOLD_READS transactions in a row.
 * Returns 0, 1 when seq is not there or not complete, -1. */
static int read_seq(fl_store *s, uint64_t seq, fl_txn *t, fl_store_part_fn fn, void *ctx, char *err, size_t errlen)
{
    if (seq == 0) return 1;
    MDB_txn *txn;
    int rc;
    bool resume = fn && s->held && seq == s->held_seq;
    if (resume) {
        s->held = false;
        txn = s->rtxn;
    } else {
        if (read_begin(s, &txn, err, errlen) < 0) return -1;
        if (fn && seq > s->read_last_seq) {
            /* streaming hands out parts before the last one is seen: only complete ones */
            uint64_t last_seq;
            if ((rc = visible_last_seq(s, txn, &last_seq))) {
                read_end(s);
                return mdb_fail(s, rc, "read", err, errlen);
            }
            if (last_seq > s->read_last_seq) s->read_last_seq = last_seq;
            if (seq > last_seq) {
                read_end(s);
                return 1;
            }
        }
        rc = s->rcur ? mdb_cursor_renew(txn, s->rcur) : mdb_cursor_open(txn, s->db_rec, &s->rcur);
        if (rc) {
            read_end(s);
            return mdb_fail(s, rc, "read", err, errlen);
        }
    }
    MDB_cursor *cur = s->rcur;
    uint8_t kb[REC_KEY_LEN];
    rec_key(kb, seq, 0);
    MDB_val k = {REC_KEY_LEN, kb}, v = s->held_val;
    if (resume) k = s->held_key;
    int result = 1;
    uint32_t expect = 0;
    fl_txn_reset(t);
    for (rc = resume ? 0 : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint64_t kseq;
        uint32_t kpart;
        if (rc == MDB_NOTFOUND || (rc == 0 && (!parse_rec_key(&k, &kseq, &kpart) || kseq != seq))) {
            /* never there, purged, or its last part is not committed yet: the writer keeps
             * every transaction but an unfinished last one complete */
            result = 1;
            break;
        }
        if (rc) {
            result = mdb_fail(s, rc, "read", err, errlen);
            break;
        }
        if (kpart != expect) {
            fl_errorf(err, errlen, "journal record seq %llu: part %u missing", (unsigned long long)seq, expect);
            result = -1;
            break;
        }
        char derr[200];
        if (fn && kpart) fl_txn_reset(t);
        /* streamed parts are used inside the read transaction: their values can stay in the map */
        int d = fn ? fl_record_decode_view(t, v.mv_data, v.mv_size, &s->rcache, derr, sizeof derr)
                   : fl_record_decode(t, v.mv_data, v.mv_size, derr, sizeof derr);
        if (d < 0) {
            fl_errorf(err, errlen, "journal record seq %llu part %u: %s", (unsigned long long)seq, kpart, derr);
            result = -1;
            break;
        }
        t->seq = seq;
        t->part = kpart;
        if (fn && fl_txn_mem(t) > s->part_peak) s->part_peak = fl_txn_mem(t);
        bool last = (t->flags & FL_TXN_LAST_PART) != 0;
        if (fn) {
            int r = fn(t, ctx);
            if (r) {
                result = r;
                break;
            }
        }
        if (last) {
            result = 0;
            uint64_t nseq;
            uint32_t npart;
            if (fn && mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0 && parse_rec_key(&k, &nseq, &npart) &&
                npart == 0 && nseq > seq && nseq <= s->read_last_seq) {
                s->hint_from = seq + 1;
                s->hint_seq = nseq;
                if (!s->write && ++s->held_reads < HOLD_READS) {
                    s->held = true;
                    s->held_seq = nseq;
                    s->held_key = k;
                    s->held_val = v;
                }
            }
            break;
        }
        expect++;
    }
    if (!s->held) read_end(s);
    if (!fn && result == 0) t->part = 0;
    return result;
}

int fl_store_read(fl_store *s, uint64_t seq, fl_txn *t, char *err, size_t errlen)
{
    return read_seq(s, seq, t, NULL, NULL, err, errlen);
}

int fl_store_read_parts(fl_store *s, uint64_t seq, fl_store_part_fn fn, void *ctx, char *err, size_t errlen)
{
    s->part_peak = 0;
    int rc = read_seq(s, seq, &s->part_txn, fn, ctx, err, errlen);
    if (s->part_peak > PART_TXN_KEEP) fl_txn_free(&s->part_txn); /* the memory of a large part goes */
    return rc;
}

int fl_store_next(fl_store *s, uint64_t from, uint64_t *seq, char *err, size_t errlen)
{
    if (from && from == s->hint_from) { /* seen right after the transaction before it */
        s->hint_from = 0;
        *seq = s->hint_seq;
        return 0;
    }
    MDB_txn *txn;
    if (read_begin(s, &txn, err, errlen) < 0) return -1;
    uint64_t last_seq;
    int rc = visible_last_seq(s, txn, &last_seq);
    MDB_cursor *cur = NULL;
    if (!rc) rc = mdb_cursor_open(txn, s->db_rec, &cur);
    int result = 1;
    if (!rc) {
        uint8_t kb[REC_KEY_LEN];
        rec_key(kb, from ? from : 1, 0);
        MDB_val k = {REC_KEY_LEN, kb}, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        uint64_t kseq;
        uint32_t kpart;
        if (rc == 0 && parse_rec_key(&k, &kseq, &kpart) && kseq <= last_seq) {
            *seq = kseq;
            result = 0;
        }
        if (rc == MDB_NOTFOUND) rc = 0;
        mdb_cursor_close(cur);
    }
    read_end(s);
    if (rc) return mdb_fail(s, rc, "read", err, errlen);
    return result;
}

int fl_store_scan_raw(fl_store *s, uint64_t seq, uint32_t part, size_t max_bytes, fl_store_raw_fn fn, void *ctx,
                      uint64_t *next_seq, uint32_t *next_part, char *err, size_t errlen)
{
    MDB_txn *txn;
    if (read_begin(s, &txn, err, errlen) < 0) return -1;
    uint64_t last_seq;
    int rc = visible_last_seq(s, txn, &last_seq);
    MDB_cursor *cur = NULL;
    if (!rc) rc = mdb_cursor_open(txn, s->db_rec, &cur);
    int result = 0;
    size_t passed = 0;
    if (!rc) {
        uint8_t kb[REC_KEY_LEN];
        rec_key(kb, seq ? seq : 1, part);
        MDB_val k = {REC_KEY_LEN, kb}, v;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && passed < max_bytes;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            uint64_t kseq;
            uint32_t kpart, flags = 0, p = 0;
            if (!parse_rec_key(&k, &kseq, &kpart) || kseq > last_seq) break; /* not complete yet */
            fl_gtid g;
            uint64_t ts;
            bool last = fl_record_peek(v.mv_data, v.mv_size, &g, &ts, &flags, &p) == 0 &&
                        (flags & FL_TXN_LAST_PART);
            int r = fn(kseq, kpart, last, v.mv_data, v.mv_size, ctx);
            if (r) {
                result = r;
                break;
            }
            passed += v.mv_size;
            seq = last ? kseq + 1 : kseq; /* where to go on from */
            part = last ? 0 : kpart + 1;
        }
        if (rc == MDB_NOTFOUND) rc = 0;
        mdb_cursor_close(cur);
    }
    read_end(s);
    if (rc) return mdb_fail(s, rc, "read", err, errlen);
    if (next_seq) *next_seq = seq;
    if (next_part) *next_part = part;
    return result;
}

int fl_store_seek_gtid(fl_store *s, const fl_gtid *g, uint64_t *seq, char *err, size_t errlen)
{
    uint8_t gk[GTID_KEY_MAX];
    size_t gl = gtid_key(g, gk);
    if (!gl) return 1;
    MDB_txn *txn;
    if (read_begin(s, &txn, err, errlen) < 0) return -1;
    MDB_val k = {gl, gk}, v;
    int rc = mdb_get(txn, s->db_gtid, &k, &v);
    int result = 1;
    if (rc == 0 && v.mv_size == 8) {
        *seq = get_be64(v.mv_data);
        result = 0;
    }
    read_end(s);
    if (rc && rc != MDB_NOTFOUND) return mdb_fail(s, rc, "GTID index", err, errlen);
    return result;
}

/* ---- retention ---- */

typedef struct purge_ctx {
    uint64_t max_age, max_bytes, now;
    uint64_t keep_from; /* never delete this seq or later (0: no limit) */
    int64_t chunk;      /* deleted by the last run of purge_fn (set anew when it is retried) */
    bool done;
    bool held; /* stopped at keep_from although retention would delete more */
} purge_ctx;

static int purge_fn(fl_store *s, MDB_txn *txn, void *vctx, char *err, size_t errlen)
{
    purge_ctx *c = vctx;
    uint64_t last_seq, count, bytes, horizon;
    int rc;
    if ((rc = meta_get_u64(s, txn, "last_seq", &last_seq))) return rc;
    if ((rc = meta_get_u64(s, txn, "count", &count))) return rc;
    if ((rc = meta_get_u64(s, txn, "bytes", &bytes))) return rc;
    if ((rc = horizon_get(s, txn, &horizon))) return rc;
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, s->db_rec, &cur))) return rc;
    int64_t n = 0;
    c->chunk = 0;
    c->done = true;
    for (;;) {
        if (n == PURGE_CHUNK) {
            c->done = false;
            break;
        }
        MDB_val k, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            break;
        }
        if (rc) break;
        uint64_t seq;
        uint32_t part;
        if (!parse_rec_key(&k, &seq, &part)) {
            rc = MDB_CORRUPTED;
            break;
        }
        if (seq >= last_seq) break; /* never the last transaction (nor an unfinished one) */
        fl_gtid g;
        uint64_t ts;
        uint32_t flags, p;
        if (fl_record_peek(v.mv_data, v.mv_size, &g, &ts, &flags, &p) < 0) {
            fl_errorf(err, errlen, "journal record seq %llu part %u: malformed header", (unsigned long long)seq,
                      part);
            rc = FAIL;
            break;
        }
        bool old = c->max_age && c->now > c->max_age && ts < c->now - c->max_age;
        bool big = c->max_bytes && bytes > c->max_bytes;
        if (!old && !big) break;
        if (c->keep_from && seq >= c->keep_from) {
            c->held = true;
            break;
        }
        if ((rc = delete_seq(cur, seq, &bytes, NULL))) break;
        if (seq > horizon) horizon = seq;
        uint8_t gk[GTID_KEY_MAX];
        size_t gl = gtid_key(&g, gk);
        if (gl) {
            MDB_val ik = {gl, gk}, iv;
            rc = mdb_get(txn, s->db_gtid, &ik, &iv);
            if (rc == 0 && iv.mv_size == 8 && get_be64(iv.mv_data) == seq)
                rc = mdb_del(txn, s->db_gtid, &ik, NULL);
            if (rc == MDB_NOTFOUND) rc = 0;
            if (rc) break;
        }
        if (count) count--;
        n++;
    }
    mdb_cursor_close(cur);
    if (rc) return rc;
    if (n == 0) return 0;
    if ((rc = meta_put_u64(s, txn, "count", count))) return rc;
    if ((rc = meta_put_u64(s, txn, "bytes", bytes))) return rc;
    if ((rc = meta_put_u64(s, txn, "purged_seq", horizon))) return rc;
    c->chunk = n;
    return 0;
}

int64_t fl_store_purge_keep(fl_store *s, uint64_t max_age_s, uint64_t max_bytes, uint64_t keep_from, bool *held,
                            char *err, size_t errlen)
{
    if (held) *held = false;
    if (need_writer(s, err, errlen) < 0) return -1;
    if (!max_age_s && !max_bytes) return 0;
    purge_ctx c = {.max_age = max_age_s,
                   .max_bytes = max_bytes,
                   .now = (uint64_t)time(NULL),
                   .keep_from = keep_from};
    int64_t deleted = 0;
    do {
        c.held = false;
        if (write_txn(s, purge_fn, &c, err, errlen) < 0) return -1;
        deleted += c.chunk;
    } while (!c.done && c.chunk > 0);
    if (held) *held = c.held;
    return deleted;
}

int64_t fl_store_purge(fl_store *s, uint64_t max_age_s, uint64_t max_bytes, char *err, size_t errlen)
{
    return fl_store_purge_keep(s, max_age_s, max_bytes, 0, NULL, err, errlen);
}

/* ---- waiting ---- */

int fl_store_wait_fd(fl_store *s)
{
    if (s->inotify_fd >= 0) return s->inotify_fd;
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/notify", s->dir);
    if (inotify_add_watch(fd, path, IN_ACCESS | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB) < 0 &&
        /* a journal without its notify file (never opened by a writer of this version) */
        inotify_add_watch(fd, s->dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
        close(fd);
        return -1;
    }
    s->inotify_fd = fd;
    return fd;
}

void fl_store_wait_ack(fl_store *s)
{
    if (s->inotify_fd < 0) return;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    /* a read returns every queued event that fits: one that left room for another is the last
     * (no second read just to hear EAGAIN on every wake-up) */
    ssize_t n;
    while ((n = read(s->inotify_fd, buf, sizeof buf)) >
           (ssize_t)(sizeof buf - sizeof(struct inotify_event) - NAME_MAX - 1)) {
    }
}

static int last_seq_now(fl_store *s, uint64_t *out)
{
    MDB_txn *txn;
    if (read_begin(s, &txn, NULL, 0) < 0) return -1;
    int rc = visible_last_seq(s, txn, out);
    read_end(s);
    return rc ? -1 : 0;
}

int fl_store_wait(fl_store *s, uint64_t after_seq, int timeout_ms)
{
    int fd = fl_store_wait_fd(s); /* set up before reading last_seq: no missed commit */
    int64_t deadline = timeout_ms < 0 ? 0 : fl_now_ms() + timeout_ms;
    for (;;) {
        fl_store_wait_ack(s);
        uint64_t last;
        if (last_seq_now(s, &last) < 0) return -1;
        if (last > after_seq) return 1;
        int slice = 1000;
        if (timeout_ms >= 0) {
            int64_t left = deadline - fl_now_ms();
            if (left <= 0) return 0;
            if (left < slice) slice = (int)left;
        }
        if (fd < 0) {
            /* no inotify instance available: a short sleep instead */
            if (slice > 50) slice = 50;
            struct timespec ts = {0, (long)slice * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, slice) < 0 && errno != EINTR) return -1;
    }
}
