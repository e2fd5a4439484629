/* bench_journal.c — journal append and sequential read throughput next to a bare LMDB
 * put/get loop on the same bytes, batching and sync, in the same run.
 *
 *   bench_journal [-n RECORDS] [-s BYTES] [-b BATCH] [-r ROUNDS] [--no-sync] DIR
 *
 * fastlane append: build a transaction, fl_store_add (encodes it), fl_store_commit with a
 * position every BATCH records. bare append: mdb_put of the same encoded records (seq BE64
 * keys, MDB_APPEND) and mdb_txn_commit every BATCH records. Both fsync per commit unless
 * --no-sync. fastlane read: fl_store_next + fl_store_read (checksum, decode) per record
 * from a read-only store. bare read: one cursor walk over the bare records; "bare+decode"
 * also decodes each record (so the store's own share of the read cost shows). Each side
 * runs ROUNDS times, alternating which goes first, into fresh directories, and the median
 * is reported (fsync times on shared disks vary a lot). Prints a human line and a JSON
 * line with records/s, MB/s and the fastlane/bare ratios. */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "journal/store.h"

#define MAP_SIZE ((size_t)1 << 30)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_journal: %s: %s\n", what, why);
    exit(1);
}

/* A one-row insert into app.users whose name column carries payload bytes. */
static void make_txn(fl_txn *t, uint64_t n, size_t payload)
{
    static const char *cols[] = {"id", "name", "email"};
    fl_txn_reset(t);
    t->gtid.flavor = FL_FLAVOR_MARIADB;
    t->gtid.server_id = 1;
    t->gtid.seq_no = n;
    t->ts = 1764000000 + n / 1000;
    t->server_id = 1;
    t->file = "bin.000001";
    t->pos = 4 + n * 250;
    t->flags = FL_TXN_LAST_PART;
    uint32_t ti = fl_txn_table(t, "app", "users", 3, cols);
    fl_change *c = fl_txn_add_change(t, FL_OP_INSERT);
    c->table = ti;
    c->after = fl_txn_values(t, 3);
    c->after[0].type = FL_VAL_UINT;
    c->after[0].u = n;
    char *p = fl_arena_alloc(&t->arena, payload + 1);
    for (size_t i = 0; i < payload; i++) p[i] = (char)('a' + (n * 7 + i) % 26);
    c->after[1].type = FL_VAL_STRING;
    c->after[1].s.ptr = p;
    c->after[1].s.len = (uint32_t)payload;
    c->after[2].type = FL_VAL_STRING;
    c->after[2].s.ptr = "user@example.com";
    c->after[2].s.len = 16;
    t->nrows = 1;
}

typedef struct rate {
    double secs;
    double rps, mbps;
} rate;

static rate rate_of(double secs, uint64_t n, uint64_t bytes)
{
    rate r = {secs, n / secs, bytes / secs / 1e6};
    return r;
}

typedef struct bench {
    uint64_t n;
    size_t batch, payload;
    bool sync;
    fl_buf enc;  /* the n encoded records, back to back */
    size_t *off; /* record i (1-based) is enc[off[i-1], off[i]) */
    fl_txn t;
} bench;

static double fl_append(bench *b, const char *dir)
{
    char err[256];
    fl_store_opts wo = {.write = true, .sync = b->sync, .initial_map_size = MAP_SIZE};
    fl_store *s = fl_store_open(dir, &wo, err, sizeof err);
    if (!s) die("open", err);
    double t0 = now_s();
    for (uint64_t i = 1; i <= b->n; i++) {
        make_txn(&b->t, i, b->payload);
        if (fl_store_add(s, &b->t, err, sizeof err) < 0) die("add", err);
        if (i % b->batch == 0 || i == b->n) {
            char gs[32];
            snprintf(gs, sizeof gs, "0-1-%llu", (unsigned long long)i);
            fl_position pos = {.gtid_set = gs, .file = "bin.000001", .pos = b->t.pos, .flavor = FL_FLAVOR_MARIADB};
            if (fl_store_commit(s, &pos, err, sizeof err) < 0) die("commit", err);
        }
    }
    double secs = now_s() - t0;
    fl_store_close(s);
    return secs;
}

static MDB_env *bare_open(const char *dir, bool sync, MDB_dbi *dbi)
{
    MDB_env *env;
    MDB_txn *txn;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) die(dir, strerror(errno));
    int rc = mdb_env_create(&env);
    if (!rc) rc = mdb_env_set_mapsize(env, MAP_SIZE);
    if (!rc) rc = mdb_env_open(env, dir, sync ? 0 : MDB_NOSYNC, 0600);
    if (!rc) rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (!rc) rc = mdb_dbi_open(txn, NULL, 0, dbi);
    if (!rc) rc = mdb_txn_commit(txn);
    if (rc) die("bare LMDB", mdb_strerror(rc));
    return env;
}

static double bare_append(bench *b, const char *dir)
{
    MDB_dbi dbi;
    MDB_env *env = bare_open(dir, b->sync, &dbi);
    MDB_txn *txn = NULL;
    int rc = 0;
    double t0 = now_s();
    for (uint64_t i = 1; i <= b->n && !rc; i++) {
        if (!txn && (rc = mdb_txn_begin(env, NULL, 0, &txn))) break;
        uint8_t kb[8];
        for (int j = 0; j < 8; j++) kb[j] = (uint8_t)(i >> (56 - 8 * j));
        MDB_val k = {8, kb}, v = {b->off[i] - b->off[i - 1], b->enc.data + b->off[i - 1]};
        rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND);
        if (!rc && (i % b->batch == 0 || i == b->n)) {
            rc = mdb_txn_commit(txn);
            txn = NULL;
        }
    }
    if (rc) die("bare LMDB put", mdb_strerror(rc));
    double secs = now_s() - t0;
    mdb_env_close(env);
    return secs;
}

static double fl_read(bench *b, const char *dir)
{
    char err[256];
    fl_store_opts ro = {0};
    fl_store *s = fl_store_open(dir, &ro, err, sizeof err);
    if (!s) die("open", err);
    uint64_t seq = 0, got = 0, rows = 0;
    int rc;
    double t0 = now_s();
    while ((rc = fl_store_next(s, seq + 1, &seq, err, sizeof err)) == 0) {
        if (fl_store_read(s, seq, &b->t, err, sizeof err) != 0) die("read", err);
        got++;
        rows += b->t.nrows;
    }
    double secs = now_s() - t0;
    if (rc < 0) die("next", err);
    fl_store_close(s);
    if (got != b->n || rows != b->n) die("read", "record count mismatch");
    return secs;
}

static double bare_read(bench *b, const char *dir, bool decode)
{
    MDB_dbi dbi;
    MDB_env *env = bare_open(dir, b->sync, &dbi);
    MDB_txn *txn;
    MDB_cursor *cur;
    uint64_t got = 0, sum = 0;
    char err[256];
    double t0 = now_s();
    int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (!rc) rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc) die("bare LMDB read", mdb_strerror(rc));
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        got++;
        if (decode) {
            fl_txn_reset(&b->t);
            if (fl_record_decode(&b->t, v.mv_data, v.mv_size, err, sizeof err) < 0) die("decode", err);
            sum += b->t.nrows;
        } else {
            sum += ((const uint8_t *)v.mv_data)[v.mv_size - 1] != 0;
        }
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    double secs = now_s() - t0;
    mdb_env_close(env);
    if (got != b->n || sum == 0) die("bare read", "record count mismatch");
    return secs;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define MAX_ROUNDS 15

int main(int argc, char **argv)
{
    bench b = {.n = 200000, .batch = 100, .sync = true};
    size_t target = 200;
    int rounds = 3;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            b.n = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-s") && i + 1 < argc)
            target = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-b") && i + 1 < argc)
            b.batch = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-r") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-sync"))
            b.sync = false;
        else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else {
            fprintf(stderr,
                    "usage: bench_journal [-n RECORDS] [-s BYTES] [-b BATCH] [-r ROUNDS] [--no-sync] DIR\n");
            return 2;
        }
    }
    if (!dir || !b.n || !b.batch || rounds < 1 || rounds > MAX_ROUNDS)
        die("arguments", "DIR, RECORDS > 0, BATCH > 0 and 1 <= ROUNDS <= 15 are required");
    if (mkdir(dir, 0700) < 0) die(dir, strerror(errno));

    /* size the payload so that a record is about target bytes */
    fl_txn_init(&b.t);
    make_txn(&b.t, b.n, 0);
    fl_record_encode(&b.t, &b.enc);
    b.payload = b.enc.len < target ? target - b.enc.len : 0;

    /* the same records, encoded, for the bare loop (timed apart: building and encoding
     * alone, the codec's share of fastlane's append) */
    b.off = fl_xmalloc((b.n + 1) * sizeof *b.off);
    fl_buf_reset(&b.enc);
    fl_buf_reserve(&b.enc, b.n * (target + 64));
    double t0 = now_s();
    for (uint64_t i = 1; i <= b.n; i++) {
        b.off[i - 1] = b.enc.len;
        make_txn(&b.t, i, b.payload);
        b.t.seq = i;
        fl_record_encode(&b.t, &b.enc);
    }
    b.off[b.n] = b.enc.len;
    uint64_t total = b.enc.len;
    rate encode = rate_of(now_s() - t0, b.n, total);

    double fa[MAX_ROUNDS], ba[MAX_ROUNDS], fr[MAX_ROUNDS], br[MAX_ROUNDS], bd[MAX_ROUNDS];
    char jdir[4096], bdir[4096];
    for (int r = 0; r < rounds; r++) {
        snprintf(jdir, sizeof jdir, "%s/journal-%d", dir, r);
        snprintf(bdir, sizeof bdir, "%s/bare-%d", dir, r);
        if (r % 2 == 0) {
            fa[r] = fl_append(&b, jdir);
            ba[r] = bare_append(&b, bdir);
            fr[r] = fl_read(&b, jdir);
            br[r] = bare_read(&b, bdir, false);
            bd[r] = bare_read(&b, bdir, true);
        } else {
            ba[r] = bare_append(&b, bdir);
            fa[r] = fl_append(&b, jdir);
            bd[r] = bare_read(&b, bdir, true);
            br[r] = bare_read(&b, bdir, false);
            fr[r] = fl_read(&b, jdir);
        }
        if (getenv("BENCH_VERBOSE"))
            fprintf(stderr, "round %d: append fastlane %.2fs bare %.2fs; read fastlane %.3fs bare %.3fs\n", r,
                    fa[r], ba[r], fr[r], br[r]);
    }
    rate fl_a = rate_of(median(fa, rounds), b.n, total), bare_a = rate_of(median(ba, rounds), b.n, total);
    rate fl_r = rate_of(median(fr, rounds), b.n, total), bare_r = rate_of(median(br, rounds), b.n, total);
    rate bare_d = rate_of(median(bd, rounds), b.n, total);

    double avg = (double)total / b.n;
    printf("journal: %llu records of %.0f bytes, batches of %zu, sync %s, median of %d rounds\n",
           (unsigned long long)b.n, avg, b.batch, b.sync ? "on" : "off", rounds);
    printf("  append  fastlane %9.0f rec/s %7.1f MB/s   bare LMDB %9.0f rec/s %7.1f MB/s   ratio %.2f"
           "   (building + encoding alone %9.0f rec/s)\n",
           fl_a.rps, fl_a.mbps, bare_a.rps, bare_a.mbps, fl_a.rps / bare_a.rps, encode.rps);
    printf("  read    fastlane %9.0f rec/s %7.1f MB/s   bare LMDB %9.0f rec/s %7.1f MB/s   ratio %.2f"
           "   (bare LMDB + decode %9.0f rec/s, ratio %.2f)\n",
           fl_r.rps, fl_r.mbps, bare_r.rps, bare_r.mbps, fl_r.rps / bare_r.rps, bare_d.rps, fl_r.rps / bare_d.rps);
    printf("{\"bench\":\"journal\",\"records\":%llu,\"record_bytes\":%.1f,\"batch\":%zu,\"sync\":%s,\"rounds\":%d,"
           "\"append\":{\"fastlane_rps\":%.0f,\"fastlane_mbps\":%.2f,\"bare_rps\":%.0f,\"bare_mbps\":%.2f,"
           "\"ratio\":%.3f,\"encode_rps\":%.0f},"
           "\"read\":{\"fastlane_rps\":%.0f,\"fastlane_mbps\":%.2f,\"bare_rps\":%.0f,\"bare_mbps\":%.2f,"
           "\"ratio\":%.3f,\"bare_decode_rps\":%.0f,\"ratio_vs_bare_decode\":%.3f}}\n",
           (unsigned long long)b.n, avg, b.batch, b.sync ? "true" : "false", rounds, fl_a.rps, fl_a.mbps,
           bare_a.rps, bare_a.mbps, fl_a.rps / bare_a.rps, encode.rps, fl_r.rps, fl_r.mbps, bare_r.rps,
           bare_r.mbps, fl_r.rps / bare_r.rps, bare_d.rps, fl_r.rps / bare_d.rps);
    fl_txn_free(&b.t);
    fl_buf_free(&b.enc);
    free(b.off);
    return 0;
}
