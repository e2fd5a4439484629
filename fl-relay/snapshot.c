/* snapshot.c — table snapshots merged with the stream by low/high watermarks (see
 * snapshot.h for the rule).
 *
 * The progress text kept in the journal's meta, one item per line, names hex-encoded:
 *   all                  the [snapshot] tables still to be listed (a first start)
 *   table DBHEX NAMEHEX  a table to snapshot, in order; the first is the current one
 *   chunk N              the current table's next chunk number
 *   after HEX HEX ...    the key of the last row the current table's previous chunk read
 *   repair DBHEX NAMEHEX delete|keep   keys of a table to read again (fl-apply --repair),
 *                        before any table: the "key" lines after it; with delete, a key whose
 *                        row is gone is journaled as a delete of it (keep: left to the stream)
 *   key HEX HEX ...      one key (its key columns' text) of the repair line above it
 * Keys to repair are read in batches of up to `chunk` (SELECT ... WHERE (key) IN (...)),
 * between their own low and high watermarks like any chunk, and journaled as a snapshot
 * record with FL_TXN_SNAPSHOT_KEYS (never a table's last chunk).
 * While a chunk is journaled, the next one of the same table is already read by a thread of
 * its own on the snapshot connection: its window opens at the current chunk's high watermark
 * (committed and streamed before that SELECT starts, so it serves as the next low one), the
 * thread runs the SELECT and writes the next high watermark, and the main thread takes those
 * rows when the stream shows it. A chunk's rows stay in the client's result until the record
 * holding them is encoded (the next turn), so they are not copied again.
 * A watermark row is (relay = server_id, mark = "NONCE-COUNTER-L" or "...-H"): the nonce is
 * new each start, so the watermarks of a chunk read before a crash or a reconnect, streamed
 * again, match nothing and are only removed. */
#include "fl-relay/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/mysql_cell.h"
#include "common/mysql_conn.h"
#include "common/mysql_schema.h"
#include "journal/snapshot_request.h"

#define WINDOW_TIMEOUT_S 120 /* a chunk whose high watermark the stream has not shown by then is read again */
#define MARK_MAX 64

typedef struct table_ref {
    char *db, *name;
} table_ref;

/* Keys of one table to read again: nkeys keys of ncol values each (vals[k * ncol + c]). */
typedef struct repair_ref {
    char *db, *name;
    bool delete_absent; /* a key whose row is gone is journaled as a delete */
    uint32_t ncol;
    size_t nkeys;
    char **vals;
    unsigned long *lens;
} repair_ref;

/* The keys of rows the stream changed inside a chunk's window (open addressing). */
typedef struct keyset {
    char **keys;
    uint32_t *lens;
    size_t cap, n;
} keyset;

enum phase { IDLE, WAIT_LOW, WAIT_HIGH };

/* The next chunk, read by a thread while the current one is journaled. */
typedef struct prefetch {
    bool running; /* the thread was started and not joined */
    atomic_bool done;
    pthread_t thread;
    char *sql;
    int rc; /* read_chunk's */
    fl_error err;
    MYSQL_RES *res;
} prefetch;

struct fl_snapshot {
    const fl_config *cfg;
    MYSQL *m;
    bool mariadb;
    fl_metric *m_rows, *m_chunks, *m_tables_done, *m_tables_pending; /* progress for [metrics] */

    /* progress */
    bool list_all;
    table_ref *queue;
    size_t nqueue;
    uint64_t chunk;
    char **after; /* nafter raw values of the last key read, NULL before the first chunk */
    unsigned long *after_len;
    uint32_t nafter;
    repair_ref *repairs; /* keys to read again, before the queue's next chunk */
    size_t nrepairs;
    uint64_t repair_batch; /* batches of keys journaled since this relay started */
    bool request_taken;    /* a request file was taken: removed once its progress is committed */

    /* the current table (the queue's head, or the first repair's), once looked up */
    bool have_info;
    char *info_db, *info_name;
    fl_table_schema schema;
    uint32_t *keycols; /* ordinals of the key columns */
    uint32_t nkey;
    char **colnames; /* schema names, as the journaled table's column list */

    /* the chunk in flight */
    enum phase phase;
    char low[MARK_MAX], high[MARK_MAX];
    MYSQL_RES *res;
    MYSQL_RES *spent; /* the last journaled chunk's rows, which its record points to until encoded */
    prefetch pf;
    time_t started;
    keyset changed;
    bool window_broken;  /* the table's shape changed in the window: read the chunk again */
    bool in_flight_keys; /* the chunk in flight is the first batch_n keys of repairs[0] */
    size_t batch_n;

    uint64_t nonce, counter;
    struct timespec next_at; /* rate: the next chunk starts no earlier */
};

/* ---- small helpers ---- */

static void put_hex(fl_buf *b, const char *p, size_t n) { fl_snapshot_put_hex(b, p, n); }

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Decodes one hex token (or "-" for empty) into a malloc'd NUL-terminated string. */
static char *get_hex(const char *p, size_t n, unsigned long *len)
{
    if (n == 1 && p[0] == '-') n = 0;
    if (n % 2) return NULL;
    char *out = fl_xmalloc(n / 2 + 1);
    for (size_t i = 0; i < n; i += 2) {
        int a = hexval(p[i]), b = hexval(p[i + 1]);
        if (a < 0 || b < 0) {
            free(out);
            return NULL;
        }
        out[i / 2] = (char)(a << 4 | b);
    }
    out[n / 2] = 0;
    if (len) *len = (unsigned long)(n / 2);
    return out;
}

static void put_ident(fl_buf *b, const char *s)
{
    fl_buf_putc(b, '`');
    for (; *s; s++) {
        if (*s == '`') fl_buf_putc(b, '`');
        fl_buf_putc(b, (uint8_t)*s);
    }
    fl_buf_putc(b, '`');
}

static void put_literal(MYSQL *m, fl_buf *b, const char *s, unsigned long n)
{
    char *e = fl_xmalloc(n * 2 + 1);
    unsigned long k = mysql_real_escape_string(m, e, s, n);
    fl_buf_putc(b, '\'');
    fl_buf_put(b, e, k);
    fl_buf_putc(b, '\'');
    free(e);
}

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h;
}

static bool keyset_has(const keyset *k, const char *p, uint32_t n)
{
    if (!k->cap) return false;
    for (size_t i = fnv(p, n) & (k->cap - 1);; i = (i + 1) & (k->cap - 1)) {
        if (!k->keys[i]) return false;
        if (k->lens[i] == n && memcmp(k->keys[i], p, n) == 0) return true;
    }
}

static void keyset_add(keyset *k, const char *p, uint32_t n)
{
    if (keyset_has(k, p, n)) return;
    if ((k->n + 1) * 2 > k->cap) {
        keyset old = *k;
        k->cap = old.cap ? old.cap * 2 : 64;
        k->keys = fl_xcalloc(k->cap, sizeof *k->keys);
        k->lens = fl_xcalloc(k->cap, sizeof *k->lens);
        k->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.keys[i]) {
                size_t j = fnv(old.keys[i], old.lens[i]) & (k->cap - 1);
                while (k->keys[j]) j = (j + 1) & (k->cap - 1);
                k->keys[j] = old.keys[i];
                k->lens[j] = old.lens[i];
                k->n++;
            }
        free(old.keys);
        free(old.lens);
    }
    size_t j = fnv(p, n) & (k->cap - 1);
    while (k->keys[j]) j = (j + 1) & (k->cap - 1);
    k->keys[j] = fl_xmalloc(n ? n : 1);
    memcpy(k->keys[j], p, n);
    k->lens[j] = n;
    k->n++;
}

static void keyset_clear(keyset *k)
{
    for (size_t i = 0; i < k->cap; i++) free(k->keys[i]);
    free(k->keys);
    free(k->lens);
    memset(k, 0, sizeof *k);
}

/* Adds a change of op to table ti with a copy of vals that txn owns: the after image of a
 * snapshot row, the before image (the key) of a delete. */
static void add_owned_change(fl_txn *txn, fl_op op, uint32_t ti, const fl_value *vals, uint32_t ncols)
{
    fl_change *ch = fl_txn_add_change(txn, op);
    ch->table = ti;
    fl_value *img = fl_txn_values(txn, ncols);
    for (uint32_t c = 0; c < ncols; c++) {
        img[c] = vals[c];
        fl_txn_own_value(txn, &img[c]);
    }
    if (op == FL_OP_DELETE)
        ch->before = img;
    else
        ch->after = img;
}

/* The key of an image as comparable text: each key column's canonical JSON, separated. */
static void key_text(const fl_snapshot *s, const fl_value *img, fl_buf *out)
{
    fl_buf_reset(out);
    for (uint32_t i = 0; i < s->nkey; i++) {
        fl_value_to_json(&img[s->keycols[i]], out);
        fl_buf_putc(out, 0x1f);
    }
}

/* ---- progress ---- */

static void free_after(fl_snapshot *s)
{
    if (s->after)
        for (uint32_t i = 0; i < s->nafter; i++) free(s->after[i]);
    free(s->after);
    free(s->after_len);
    s->after = NULL;
    s->after_len = NULL;
    s->nafter = 0;
}

static void free_repair(repair_ref *r)
{
    for (size_t i = 0; i < r->nkeys * r->ncol; i++) free(r->vals[i]);
    free(r->vals);
    free(r->lens);
    free(r->db);
    free(r->name);
}

static void free_repairs(repair_ref *r, size_t n)
{
    for (size_t i = 0; i < n; i++) free_repair(&r[i]);
    free(r);
}

/* The repair entry of db.name with ncol key columns, made when missing. */
static repair_ref *repair_of(repair_ref **list, size_t *n, const char *db, const char *name, uint32_t ncol,
                             bool delete_absent)
{
    for (size_t i = 0; i < *n; i++) {
        repair_ref *r = &(*list)[i];
        if (!strcmp(r->db, db) && !strcmp(r->name, name) && r->ncol == ncol) {
            r->delete_absent = r->delete_absent && delete_absent;
            return r;
        }
    }
    *list = fl_xrealloc(*list, (*n + 1) * sizeof **list);
    repair_ref *r = &(*list)[(*n)++];
    *r =
        (repair_ref){.db = fl_xstrdup(db), .name = fl_xstrdup(name), .delete_absent = delete_absent, .ncol = ncol};
    return r;
}

/* Appends one key (ncol values, copied) to r. */
static void repair_add_key(repair_ref *r, char *const *vals, const unsigned long *lens)
{
    r->vals = fl_xrealloc(r->vals, (r->nkeys + 1) * r->ncol * sizeof *r->vals);
    r->lens = fl_xrealloc(r->lens, (r->nkeys + 1) * r->ncol * sizeof *r->lens);
    for (uint32_t c = 0; c < r->ncol; c++) {
        size_t k = r->nkeys * r->ncol + c;
        r->vals[k] = fl_xmalloc(lens[c] + 1);
        memcpy(r->vals[k], vals[c], lens[c]);
        r->vals[k][lens[c]] = 0;
        r->lens[k] = lens[c];
    }
    r->nkeys++;
}

/* The first n keys of repairs[0] are journaled: they go, and the entry when it is empty. */
static void repair_done(fl_snapshot *s, size_t n)
{
    repair_ref *r = &s->repairs[0];
    size_t drop = n * r->ncol;
    for (size_t i = 0; i < drop; i++) free(r->vals[i]);
    memmove(r->vals, r->vals + drop, (r->nkeys * r->ncol - drop) * sizeof *r->vals);
    memmove(r->lens, r->lens + drop, (r->nkeys * r->ncol - drop) * sizeof *r->lens);
    r->nkeys -= n;
    if (r->nkeys) return;
    free_repair(r);
    memmove(s->repairs, s->repairs + 1, (s->nrepairs - 1) * sizeof *s->repairs);
    s->nrepairs--;
}

static void forget_table_info(fl_snapshot *s)
{
    fl_table_schema_free(&s->schema);
    free(s->keycols);
    s->keycols = NULL;
    free(s->colnames);
    s->colnames = NULL;
    free(s->info_db);
    free(s->info_name);
    s->info_db = s->info_name = NULL;
    s->have_info = false;
}

/* Waits for the prefetch thread (when one runs) and takes its outcome: 0 with its rows in
 * s->res, or -1 with e. Returns 1 when none ran. */
static int prefetch_join(fl_snapshot *s, fl_error *e)
{
    prefetch *p = &s->pf;
    if (!p->running) return 1;
    pthread_join(p->thread, NULL);
    p->running = false;
    free(p->sql);
    p->sql = NULL;
    if (p->rc < 0) {
        *e = p->err;
        return -1;
    }
    if (s->res) mysql_free_result(s->res);
    s->res = p->res;
    p->res = NULL;
    return 0;
}

static void free_spent(fl_snapshot *s)
{
    if (s->spent) mysql_free_result(s->spent);
    s->spent = NULL;
}

static void drop_in_flight(fl_snapshot *s)
{
    fl_error ignored;
    prefetch_join(s, &ignored);
    if (s->res) mysql_free_result(s->res);
    s->res = NULL;
    keyset_clear(&s->changed);
    s->phase = IDLE;
    s->window_broken = false;
    s->in_flight_keys = false;
    s->batch_n = 0;
}

static void progress_text(const fl_snapshot *s, fl_buf *b)
{
    fl_buf_reset(b);
    for (size_t i = 0; i < s->nrepairs; i++) {
        const repair_ref *r = &s->repairs[i];
        fl_buf_puts(b, "repair ");
        put_hex(b, r->db, strlen(r->db));
        fl_buf_putc(b, ' ');
        put_hex(b, r->name, strlen(r->name));
        fl_buf_puts(b, r->delete_absent ? " delete\n" : " keep\n");
        for (size_t k = 0; k < r->nkeys; k++) {
            fl_buf_puts(b, "key");
            for (uint32_t c = 0; c < r->ncol; c++) {
                fl_buf_putc(b, ' ');
                put_hex(b, r->vals[k * r->ncol + c], r->lens[k * r->ncol + c]);
            }
            fl_buf_putc(b, '\n');
        }
    }
    if (s->list_all) fl_buf_puts(b, "all\n");
    for (size_t i = 0; i < s->nqueue; i++) {
        fl_buf_puts(b, "table ");
        put_hex(b, s->queue[i].db, strlen(s->queue[i].db));
        fl_buf_putc(b, ' ');
        put_hex(b, s->queue[i].name, strlen(s->queue[i].name));
        fl_buf_putc(b, '\n');
    }
    if (s->nqueue) fl_buf_printf(b, "chunk %" PRIu64 "\n", s->chunk);
    if (s->nqueue && s->after) {
        fl_buf_puts(b, "after");
        for (uint32_t i = 0; i < s->nafter; i++) {
            fl_buf_putc(b, ' ');
            put_hex(b, s->after[i], s->after_len[i]);
        }
        fl_buf_putc(b, '\n');
    }
}

static void save_progress(const fl_snapshot *s, fl_store *store)
{
    fl_buf b = {0};
    progress_text(s, &b);
    fl_store_set_snapshot_progress(store, fl_buf_cstr(&b));
    fl_buf_free(&b);
}

static void queue_table(fl_snapshot *s, const char *db, const char *name)
{
    for (size_t i = 0; i < s->nqueue; i++)
        if (!strcmp(s->queue[i].db, db) && !strcmp(s->queue[i].name, name)) return;
    s->queue = fl_xrealloc(s->queue, (s->nqueue + 1) * sizeof *s->queue);
    s->queue[s->nqueue].db = fl_xstrdup(db);
    s->queue[s->nqueue].name = fl_xstrdup(name);
    s->nqueue++;
}

/* Splits a line's hex tokens into values (malloc'd; *n of them). False when one is not hex. */
static bool hex_tokens(char *line, char ***vals, unsigned long **lens, uint32_t *n)
{
    *vals = NULL;
    *lens = NULL;
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        *vals = fl_xrealloc(*vals, (*n + 1) * sizeof **vals);
        *lens = fl_xrealloc(*lens, (*n + 1) * sizeof **lens);
        if (!((*vals)[*n] = get_hex(tok, strlen(tok), &(*lens)[*n]))) return false;
        (*n)++;
    }
    return true;
}

static void free_tokens(char **vals, unsigned long *lens, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) free(vals[i]);
    free(vals);
    free(lens);
}

/* Parses the stored progress; false when it is not this format. */
static bool parse_progress(fl_snapshot *s, const char *text)
{
    char **after = NULL;
    unsigned long *after_len = NULL;
    uint32_t nafter = 0;
    repair_ref *repairs = NULL, *cur = NULL;
    size_t nrepairs = 0;
    bool cur_delete = false;
    char *cur_db = NULL, *cur_name = NULL; /* the repair line keys belong to */
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char *line = fl_xmalloc(n + 1);
        memcpy(line, p, n);
        line[n] = 0;
        p += n + (nl ? 1 : 0);
        bool ok = true;
        if (!strncmp(line, "repair ", 7)) {
            free(cur_db);
            free(cur_name);
            cur_db = cur_name = NULL;
            cur = NULL;
            char *sp1 = strchr(line + 7, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
            ok = sp2 && (!strcmp(sp2 + 1, "delete") || !strcmp(sp2 + 1, "keep"));
            if (ok) {
                cur_delete = !strcmp(sp2 + 1, "delete");
                cur_db = get_hex(line + 7, (size_t)(sp1 - line - 7), NULL);
                cur_name = get_hex(sp1 + 1, (size_t)(sp2 - sp1 - 1), NULL);
                ok = cur_db && cur_name;
            }
        } else if (!strncmp(line, "key ", 4)) {
            char **tok;
            unsigned long *tlen;
            uint32_t nt;
            ok = cur_db && hex_tokens(line + 4, &tok, &tlen, &nt) && nt > 0;
            if (ok) {
                if (!cur) cur = repair_of(&repairs, &nrepairs, cur_db, cur_name, nt, cur_delete);
                ok = cur->ncol == nt;
                if (ok) repair_add_key(cur, tok, tlen);
            }
            if (cur_db) free_tokens(tok, tlen, nt);
        } else if (!strcmp(line, "all")) {
            s->list_all = true;
        } else if (!strncmp(line, "table ", 6)) {
            char *sp = strchr(line + 6, ' ');
            char *db = sp ? get_hex(line + 6, (size_t)(sp - line - 6), NULL) : NULL;
            char *name = sp ? get_hex(sp + 1, strlen(sp + 1), NULL) : NULL;
            ok = db && name;
            if (ok) queue_table(s, db, name);
            free(db);
            free(name);
        } else if (!strncmp(line, "chunk ", 6)) {
            s->chunk = strtoull(line + 6, NULL, 10);
        } else if (!strncmp(line, "after", 5)) {
            free_tokens(after, after_len, nafter);
            ok = hex_tokens(line + 5, &after, &after_len, &nafter);
        } else {
            ok = false;
        }
        free(line);
        if (!ok) {
            free_tokens(after, after_len, nafter);
            free_repairs(repairs, nrepairs);
            free(cur_db);
            free(cur_name);
            return false;
        }
    }
    free(cur_db);
    free(cur_name);
    s->after = after;
    s->after_len = after_len;
    s->nafter = nafter; /* checked against the table's key when it is looked up */
    s->repairs = repairs;
    s->nrepairs = nrepairs;
    return true;
}

fl_snapshot *fl_snapshot_new(const fl_config *cfg, fl_store *store, bool initial, char *err, size_t errlen)
{
    fl_snapshot *s = fl_xcalloc(1, sizeof *s);
    s->cfg = cfg;
    s->m_rows = fl_metric_counter("fastlane_relay_snapshot_rows_total", "Rows journaled by snapshots");
    s->m_chunks = fl_metric_counter("fastlane_relay_snapshot_chunks_total", "Snapshot chunks journaled");
    s->m_tables_done = fl_metric_counter("fastlane_relay_snapshot_tables_completed_total",
                                         "Tables whose snapshot completed");
    s->m_tables_pending = fl_metric_gauge("fastlane_relay_snapshot_tables_pending",
                                          "Tables queued or being read by a snapshot");
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    s->nonce = ((uint64_t)now.tv_sec << 20 ^ (uint64_t)now.tv_nsec) & 0xffffffffffffull;
    char *text = NULL;
    if (fl_store_snapshot_progress(store, &text, err, errlen) < 0) {
        free(s);
        return NULL;
    }
    if (text[0] && !parse_progress(s, text))
        log_warn("snapshot: the journal's snapshot progress is unreadable; no snapshot is resumed");
    free(text);
    if (initial && cfg->snapshot.tables) {
        s->list_all = true;
        save_progress(s, store); /* with the first commit: a restart still knows it is due */
        log_info("snapshot: the journal is empty; the [snapshot] tables are read first, then the stream goes on");
    } else if (s->nqueue) {
        log_info("snapshot: resuming %s.%s at chunk %" PRIu64 " (%zu tables to go)", s->queue[0].db,
                 s->queue[0].name, s->chunk, s->nqueue);
    }
    return s;
}

void fl_snapshot_free(fl_snapshot *s)
{
    if (!s) return;
    drop_in_flight(s);
    free_spent(s);
    free_after(s);
    forget_table_info(s);
    for (size_t i = 0; i < s->nqueue; i++) {
        free(s->queue[i].db);
        free(s->queue[i].name);
    }
    free(s->queue);
    free_repairs(s->repairs, s->nrepairs);
    if (s->m) mysql_close(s->m);
    free(s);
}

bool fl_snapshot_busy(const fl_snapshot *s) { return s && (s->list_all || s->nqueue || s->nrepairs); }

bool fl_snapshot_queued(const fl_snapshot *s, const char *db, const char *name)
{
    if (!s) return false;
    if (s->list_all) return true; /* every [snapshot] table is about to be listed */
    for (size_t i = 0; i < s->nqueue; i++)
        if (!strcmp(s->queue[i].db, db) && !strcmp(s->queue[i].name, name)) return true;
    return false;
}

void fl_snapshot_queue(fl_snapshot *s, fl_store *store, const char *db, const char *name)
{
    if (!s || fl_snapshot_queued(s, db, name)) return;
    queue_table(s, db, name);
    save_progress(s, store);
}

/* The head of the queue is done (or refused): the next table starts at chunk 0. */
static void pop_table(fl_snapshot *s)
{
    free(s->queue[0].db);
    free(s->queue[0].name);
    memmove(s->queue, s->queue + 1, (s->nqueue - 1) * sizeof *s->queue);
    s->nqueue--;
    s->chunk = 0;
    free_after(s);
    forget_table_info(s);
}

static bool in_snapshot_tables(const fl_config *cfg, const char *full)
{
    for (char **g = cfg->snapshot.tables; g && *g; g++)
        if (fl_glob_match(*g, full)) return true;
    return false;
}

/* ---- the source connection ---- */

static int query(fl_snapshot *s, const char *sql, fl_error *e)
{
    if (mysql_query(s->m, sql) == 0) return 0;
    fl_error_set(e, false, mysql_errno(s->m), "snapshot: %s: %s", sql, mysql_error(s->m));
    mysql_close(s->m);
    s->m = NULL;
    return -1;
}

static int connect_source(fl_snapshot *s, fl_error *e)
{
    if (s->m) return 0;
    fl_mysql_conn_opts o = {.connect_timeout_s = 10, .io_timeout_s = 120};
    if (!(s->m = fl_mysql_connect(&s->cfg->source, &o, e))) {
        fl_error_prefix(e, "snapshot");
        return -1;
    }
    s->mariadb = strstr(mysql_get_server_info(s->m), "MariaDB") != NULL;
    if (query(s, "SET SESSION time_zone = '+00:00'", e) < 0) return -1;
    /* created only when missing: a CREATE ... IF NOT EXISTS is logged (and journaled) each time */
    if (query(s,
              "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = '" FL_WATERMARK_DB
              "' AND TABLE_NAME = '" FL_WATERMARK_TABLE "'",
              e) < 0)
        return -1;
    MYSQL_RES *res = mysql_store_result(s->m);
    bool there = res && mysql_num_rows(res) > 0;
    if (res) mysql_free_result(res);
    if (there) return 0;
    log_info("snapshot: creating " FL_WATERMARK_DB "." FL_WATERMARK_TABLE " (the low/high watermarks)");
    if (query(s, "CREATE DATABASE IF NOT EXISTS `" FL_WATERMARK_DB "`", e) < 0) return -1;
    return query(s,
                 "CREATE TABLE IF NOT EXISTS `" FL_WATERMARK_DB "`.`" FL_WATERMARK_TABLE "` ("
                 "relay INT UNSIGNED NOT NULL PRIMARY KEY, mark VARCHAR(64) NOT NULL) ENGINE=InnoDB",
                 e);
}

static bool system_db(const char *db)
{
    return !strcmp(db, "mysql") || !strcmp(db, "information_schema") || !strcmp(db, "performance_schema") ||
           !strcmp(db, "sys") || !strcmp(db, FL_WATERMARK_DB);
}

/* Queues every base table matching [snapshot] tables. */
static int list_tables(fl_snapshot *s, fl_error *e)
{
    if (query(s,
              "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' "
              "ORDER BY TABLE_SCHEMA, TABLE_NAME",
              e) < 0)
        return -1;
    MYSQL_RES *res = mysql_store_result(s->m);
    if (!res) return fl_error_set(e, false, 0, "snapshot: listing tables: %s", mysql_error(s->m));
    MYSQL_ROW row;
    fl_buf full = {0};
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1] || system_db(row[0])) continue;
        fl_buf_reset(&full);
        fl_buf_printf(&full, "%s.%s", row[0], row[1]);
        for (char **g = s->cfg->snapshot.tables; *g; g++)
            if (fl_glob_match(*g, fl_buf_cstr(&full))) {
                queue_table(s, row[0], row[1]);
                break;
            }
    }
    fl_buf_free(&full);
    mysql_free_result(res);
    s->list_all = false;
    return 0;
}

/* Looks up db.name's columns and key as the current table. Returns 0, 1 when the table is
 * refused (missing, or without a primary or non-null unique key: logged), -1 on a query error. */
static int table_info(fl_snapshot *s, const char *db, const char *name, fl_error *e)
{
    char err[512];
    forget_table_info(s);
    if (fl_table_schema_read(s->m, db, name, s->mariadb, &s->schema, err, sizeof err) < 0) {
        mysql_close(s->m);
        s->m = NULL;
        return fl_error_set(e, false, 0, "snapshot: columns of %s.%s: %s", db, name, err);
    }
    if (s->schema.ncols == 0) {
        log_error("snapshot of %s.%s refused: no such table", db, name);
        return 1;
    }
    if (!fl_config_table_wanted(&s->cfg->source, db, name)) {
        log_error("snapshot of %s.%s refused: [source] include/exclude keeps its changes out of the journal, so "
                  "its snapshot would go stale",
                  db, name);
        return 1;
    }
    uint32_t *cols = fl_xcalloc(s->schema.ncols + 1, sizeof *cols), n = 0;
    if (fl_table_key_read(s->m, db, name, &s->schema, cols, &n, err, sizeof err) < 0) {
        free(cols);
        mysql_close(s->m);
        s->m = NULL;
        return fl_error_set(e, false, 0, "snapshot: keys of %s.%s: %s", db, name, err);
    }
    if (n == 0) {
        free(cols);
        log_error("snapshot of %s.%s refused: it has no primary key and no unique key on NOT NULL columns, so "
                  "its rows cannot be read in key order",
                  db, name);
        return 1;
    }
    s->keycols = cols;
    s->nkey = n;
    s->colnames = fl_xcalloc(s->schema.ncols + 1, sizeof *s->colnames);
    for (uint32_t c = 0; c < s->schema.ncols; c++) s->colnames[c] = s->schema.names[c];
    s->info_db = fl_xstrdup(db);
    s->info_name = fl_xstrdup(name);
    s->have_info = true;
    return 0;
}

/* Whether the current table's info is that of db.name. */
static bool info_is(const fl_snapshot *s, const char *db, const char *name)
{
    return s->have_info && !strcmp(s->info_db, db) && !strcmp(s->info_name, name);
}

/* Makes the queue's head the current table (refused heads are dropped). Returns 0 (the
 * queue may then be empty) or -1. */
static int queue_head_info(fl_snapshot *s, fl_error *e)
{
    while (s->nqueue && !info_is(s, s->queue[0].db, s->queue[0].name)) {
        int rc = table_info(s, s->queue[0].db, s->queue[0].name, e);
        if (rc < 0) return -1;
        if (rc == 1) {
            pop_table(s); /* refused (logged); its progress goes with the next chunk */
            continue;
        }
        if (s->after && s->nafter != s->nkey) {
            log_warn("snapshot of %s.%s: its key changed since the last chunk; starting the table again",
                     s->queue[0].db, s->queue[0].name);
            free_after(s);
            s->chunk = 0;
        }
    }
    return 0;
}

/* Makes the first repair's table current (refused ones, and those whose key no longer has
 * their number of columns, are dropped). Returns 0 or -1. */
static int repair_head_info(fl_snapshot *s, fl_error *e)
{
    while (s->nrepairs && !info_is(s, s->repairs[0].db, s->repairs[0].name)) {
        repair_ref *r = &s->repairs[0];
        int rc = table_info(s, r->db, r->name, e);
        if (rc < 0) return -1;
        if (rc == 0 && s->nkey == r->ncol) continue;
        if (rc == 0) {
            log_error("snapshot: the %zu keys of %s.%s to repair have %u columns, its key now %u; not read",
                      r->nkeys, r->db, r->name, r->ncol, s->nkey);
            forget_table_info(s);
        }
        repair_done(s, r->nkeys);
    }
    return 0;
}

static int write_mark(fl_snapshot *s, const char *mark, fl_error *e)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "REPLACE INTO `" FL_WATERMARK_DB "`.`" FL_WATERMARK_TABLE "` (relay, mark) VALUES (%" PRIu32
             ", '%s')",
             s->cfg->source.server_id, mark);
    return query(s, sql, e);
}

/* SELECT * ... WHERE key > after ORDER BY key LIMIT chunk, with the key compared column by
 * column ((a > x) OR (a = x AND b > y) ...), which every server plans as an index range. */
static void chunk_query(fl_snapshot *s, fl_buf *q)
{
    const table_ref *t = &s->queue[0];
    fl_buf_puts(q, "SELECT * FROM ");
    put_ident(q, t->db);
    fl_buf_putc(q, '.');
    put_ident(q, t->name);
    if (s->after) {
        fl_buf_puts(q, " WHERE ");
        for (uint32_t i = 0; i < s->nkey; i++) {
            if (i) fl_buf_puts(q, " OR ");
            fl_buf_putc(q, '(');
            for (uint32_t j = 0; j <= i; j++) {
                if (j) fl_buf_puts(q, " AND ");
                put_ident(q, s->schema.names[s->keycols[j]]);
                fl_buf_puts(q, j < i ? " = " : " > ");
                put_literal(s->m, q, s->after[j], s->after_len[j]);
            }
            fl_buf_putc(q, ')');
        }
    }
    fl_buf_puts(q, " ORDER BY ");
    for (uint32_t i = 0; i < s->nkey; i++) {
        if (i) fl_buf_puts(q, ", ");
        put_ident(q, s->schema.names[s->keycols[i]]);
    }
    fl_buf_printf(q, " LIMIT %" PRIu32, s->cfg->snapshot.chunk);
}

/* SELECT * ... WHERE (key) IN ((k1), (k2), ...) for the first batch_n keys of repairs[0]. */
static void keys_query(fl_snapshot *s, fl_buf *q)
{
    const repair_ref *r = &s->repairs[0];
    fl_buf_puts(q, "SELECT * FROM ");
    put_ident(q, r->db);
    fl_buf_putc(q, '.');
    put_ident(q, r->name);
    fl_buf_puts(q, " WHERE (");
    for (uint32_t i = 0; i < s->nkey; i++) {
        if (i) fl_buf_puts(q, ", ");
        put_ident(q, s->schema.names[s->keycols[i]]);
    }
    fl_buf_puts(q, ") IN (");
    for (size_t k = 0; k < s->batch_n; k++) {
        fl_buf_puts(q, k ? ", (" : "(");
        for (uint32_t c = 0; c < r->ncol; c++) {
            if (c) fl_buf_puts(q, ", ");
            put_literal(s->m, q, r->vals[k * r->ncol + c], r->lens[k * r->ncol + c]);
        }
        fl_buf_putc(q, ')');
    }
    fl_buf_putc(q, ')');
}

/* Takes a pending request: its tables join the queue, its keys the repairs. The file stays
 * (and is not taken again) until the progress that holds it is committed. */
static void take_request(fl_snapshot *s, fl_store *store)
{
    char path[4096];
    fl_snapshot_request_path(s->cfg->journal.path, path, sizeof path);
    if (s->request_taken) {
        if (fl_store_progress_pending(store)) return;
        unlink(path);
        s->request_taken = false;
    }
    FILE *f = fopen(path, "r");
    if (!f) return;
    fl_buf text = {0};
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fl_buf_put(&text, buf, n);
    fclose(f);
    fl_snapshot req = {0};
    if (!parse_progress(&req, fl_buf_cstr(&text))) {
        log_warn("snapshot: %s is not a snapshot request; removed", path);
        unlink(path);
    } else {
        if (req.list_all) s->list_all = true;
        for (size_t i = 0; i < req.nqueue; i++) queue_table(s, req.queue[i].db, req.queue[i].name);
        size_t nkeys = 0;
        for (size_t i = 0; i < req.nrepairs; i++) {
            const repair_ref *r = &req.repairs[i];
            char full[1024];
            snprintf(full, sizeof full, "%s.%s", r->db, r->name);
            if (!in_snapshot_tables(s->cfg, full)) {
                log_error("snapshot: %zu keys of %s to repair refused: the table is not in [snapshot] tables",
                          r->nkeys, full);
                continue;
            }
            repair_ref *to = repair_of(&s->repairs, &s->nrepairs, r->db, r->name, r->ncol, r->delete_absent);
            for (size_t k = 0; k < r->nkeys; k++) repair_add_key(to, r->vals + k * r->ncol, r->lens + k * r->ncol);
            nkeys += r->nkeys;
        }
        if (req.nrepairs)
            log_info("snapshot: requested %zu keys of %zu tables to read again", nkeys, req.nrepairs);
        if (req.list_all || req.nqueue)
            log_info("snapshot: requested %s%zu tables", req.list_all ? "all [snapshot] tables and " : "",
                     req.nqueue);
        save_progress(s, store);
        s->request_taken = true;
    }
    for (size_t i = 0; i < req.nqueue; i++) {
        free(req.queue[i].db);
        free(req.queue[i].name);
    }
    free(req.queue);
    free_after(&req);
    free_repairs(req.repairs, req.nrepairs);
    fl_buf_free(&text);
}

/* Low watermark (unless the previous chunk's high one, already streamed, stands for it), the
 * chunk's SELECT (its rows stored in *res), high watermark: in this order, on s->m. The main
 * thread's turn, or the prefetch thread's. Returns 0 or -1 with e. */
static int read_chunk(fl_snapshot *s, bool low, const char *sql, MYSQL_RES **res, fl_error *e)
{
    if (low && write_mark(s, s->low, e) < 0) return -1;
    if (query(s, sql, e) < 0) return -1;
    if (!(*res = mysql_store_result(s->m))) {
        fl_error_set(e, false, 0, "snapshot: reading %s.%s: %s", s->info_db, s->info_name, mysql_error(s->m));
        return -1;
    }
    if (write_mark(s, s->high, e) < 0) {
        mysql_free_result(*res);
        *res = NULL;
        return -1;
    }
    return 0;
}

static void *prefetch_main(void *arg)
{
    fl_snapshot *s = arg;
    s->pf.rc = read_chunk(s, false, s->pf.sql, &s->pf.res, &s->pf.err);
    atomic_store(&s->pf.done, true);
    return NULL;
}

static void next_marks(fl_snapshot *s)
{
    s->counter++;
    snprintf(s->low, sizeof s->low, "%" PRIx64 "-%" PRIu64 "-L", s->nonce, s->counter);
    snprintf(s->high, sizeof s->high, "%" PRIx64 "-%" PRIu64 "-H", s->nonce, s->counter);
}

/* Starts reading the queue head's next chunk (s->after set) in the prefetch thread, while the
 * stream is at the current chunk's high watermark: that one is the next chunk's low one (it
 * committed before the next SELECT starts), so the thread writes only the high one. */
static void prefetch_start(fl_snapshot *s)
{
    prefetch *p = &s->pf;
    fl_buf q = {0};
    chunk_query(s, &q);
    next_marks(s);
    p->sql = fl_xstrdup(fl_buf_cstr(&q));
    fl_buf_free(&q);
    p->rc = 0;
    p->res = NULL;
    fl_error_clear(&p->err);
    atomic_store(&p->done, false);
    if (pthread_create(&p->thread, NULL, prefetch_main, s) != 0) {
        free(p->sql);
        p->sql = NULL;
        return; /* read at the next turn instead */
    }
    p->running = true;
}

int fl_snapshot_step(fl_snapshot *s, fl_store *store, fl_error *e)
{
    if (!s) return 0;
    free_spent(s);
    take_request(s, store);
    fl_metric_set(s->m_tables_pending, (double)s->nqueue);
    time_t now = time(NULL);
    if (s->pf.running && atomic_load(&s->pf.done) && s->pf.rc < 0) {
        prefetch_join(s, e); /* a failed read shows no high watermark: say so now, read it again later */
        drop_in_flight(s);
        return -1;
    }
    if (s->phase != IDLE) {
        if (now - s->started < WINDOW_TIMEOUT_S) return 0;
        log_warn("snapshot of %s.%s %s: the stream did not show its watermarks within %ds "
                 "(is fastlane.watermark logged to the binlog?); reading it again",
                 s->info_db, s->info_name, s->in_flight_keys ? "keys" : "chunk", WINDOW_TIMEOUT_S);
        drop_in_flight(s);
    }
    if (!fl_snapshot_busy(s)) return 0;
    struct timespec mono;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    if (mono.tv_sec < s->next_at.tv_sec || (mono.tv_sec == s->next_at.tv_sec && mono.tv_nsec < s->next_at.tv_nsec))
        return 0;
    if (connect_source(s, e) < 0) return -1;
    if (s->list_all) {
        if (list_tables(s, e) < 0) return -1;
        log_info("snapshot: %zu tables to read", s->nqueue);
    }
    /* keys to repair go first: they are few, and someone waits for them */
    if (repair_head_info(s, e) < 0) return -1;
    bool keys = s->nrepairs > 0;
    if (!keys && queue_head_info(s, e) < 0) return -1;
    if (!keys && !s->nqueue) return 0;

    next_marks(s);
    fl_buf q = {0};
    if (keys) {
        s->batch_n = s->repairs[0].nkeys < s->cfg->snapshot.chunk ? s->repairs[0].nkeys : s->cfg->snapshot.chunk;
        s->in_flight_keys = true;
        keys_query(s, &q);
    } else {
        chunk_query(s, &q);
    }
    int rc = read_chunk(s, true, fl_buf_cstr(&q), &s->res, e);
    fl_buf_free(&q);
    if (rc < 0) {
        drop_in_flight(s);
        return -1;
    }
    s->phase = WAIT_LOW;
    s->started = now;
    return 0;
}

/* ---- the stream side ---- */

static bool is_watermark(const fl_table *t)
{
    return t->db && t->name && !strcmp(t->db, FL_WATERMARK_DB) && !strcmp(t->name, FL_WATERMARK_TABLE);
}

/* The mark of a watermark row change ("" when it has none). */
static void mark_of(const fl_table *t, const fl_change *c, char *out, size_t n)
{
    out[0] = 0;
    if (!c->after || t->ncols < 2) return;
    const fl_value *v = &c->after[1];
    if ((v->type != FL_VAL_STRING && v->type != FL_VAL_BINARY) || v->s.len >= n) return;
    memcpy(out, v->s.ptr, v->s.len);
    out[v->s.len] = 0;
}

static void note_changed(fl_snapshot *s, const fl_table *t, const fl_change *c, fl_buf *kb)
{
    if (strcmp(t->db, s->info_db) != 0 || strcmp(t->name, s->info_name) != 0) return;
    if (!fl_op_is_row(c->op)) return;
    if (t->ncols != s->schema.ncols) {
        s->window_broken = true; /* its rows no longer line up with the chunk's */
        return;
    }
    if (c->before) {
        key_text(s, c->before, kb);
        keyset_add(&s->changed, (const char *)kb->data, (uint32_t)kb->len);
    }
    if (c->after) {
        key_text(s, c->after, kb);
        keyset_add(&s->changed, (const char *)kb->data, (uint32_t)kb->len);
    }
}

/* rate: the next chunk starts once nrows rows' worth of time has passed. */
static void throttle(fl_snapshot *s, uint64_t nrows)
{
    if (!s->cfg->snapshot.rate) return;
    struct timespec mono;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    double wait = (double)nrows / s->cfg->snapshot.rate;
    uint64_t ns = (uint64_t)mono.tv_nsec + (uint64_t)((wait - (double)(uint64_t)wait) * 1e9);
    s->next_at.tv_sec = mono.tv_sec + (time_t)wait + (time_t)(ns / 1000000000u);
    s->next_at.tv_nsec = (long)(ns % 1000000000u);
}

/* Sets s->after to the key of the result's last row. */
static void after_last_row(fl_snapshot *s, MYSQL_RES *res)
{
    uint64_t n = mysql_num_rows(res);
    if (!n) return;
    mysql_data_seek(res, n - 1);
    MYSQL_ROW row = mysql_fetch_row(res);
    unsigned long *lens = mysql_fetch_lengths(res);
    mysql_data_seek(res, 0);
    free_after(s);
    s->after = fl_xcalloc(s->nkey, sizeof *s->after);
    s->after_len = fl_xcalloc(s->nkey, sizeof *s->after_len);
    s->nafter = s->nkey;
    for (uint32_t i = 0; i < s->nkey; i++) {
        uint32_t c = s->keycols[i];
        s->after_len[i] = lens[c];
        s->after[i] = fl_xmalloc(lens[c] + 1);
        memcpy(s->after[i], row[c], lens[c]);
        s->after[i][lens[c]] = 0;
    }
}

/* Adds the chunk's rows, less those the stream changed in the window, to txn (the high
 * watermark's transaction) and moves the progress on. The next chunk of the table is read
 * meanwhile (prefetch) unless keys to repair wait or `rate` spaces the chunks. */
static void journal_chunk(fl_snapshot *s, fl_store *store, fl_txn *txn)
{
    const table_ref *t = &s->queue[0];
    uint32_t ncols = s->schema.ncols;
    uint32_t ti = fl_txn_table(txn, t->db, t->name, ncols, (const char *const *)s->colnames);
    uint64_t nrows = mysql_num_rows(s->res), kept = 0, chunk = s->chunk;
    bool last = nrows < s->cfg->snapshot.chunk;
    if (!last) {
        after_last_row(s, s->res);
        s->chunk++;
        if (!s->nrepairs && !s->cfg->snapshot.rate && s->m) prefetch_start(s);
    }
    MYSQL_FIELD *fields = mysql_fetch_fields(s->res);
    fl_buf kb = {0};
    bool check = s->changed.n > 0; /* rows the stream changed in the window are left out */
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(s->res))) {
        unsigned long *lens = mysql_fetch_lengths(s->res);
        fl_value *vals = fl_txn_values(txn, ncols); /* pointing into the result, kept until encoded */
        for (uint32_t c = 0; c < ncols; c++) {
            fl_mysql_cell_value(&fields[c], row[c], lens[c], &vals[c]);
            if (s->schema.is_json && s->schema.is_json[c] && vals[c].type == FL_VAL_STRING)
                vals[c].type = FL_VAL_JSON;
        }
        if (check) {
            key_text(s, vals, &kb);
            if (keyset_has(&s->changed, (const char *)kb.data, (uint32_t)kb.len)) continue;
        }
        fl_change *ch = fl_txn_add_change(txn, FL_OP_SNAPSHOT);
        ch->table = ti;
        ch->after = vals;
        kept++;
    }
    txn->flags |= FL_TXN_SNAPSHOT | (last ? FL_TXN_SNAPSHOT_LAST : 0);
    txn->snapshot_table = ti;
    txn->snapshot_chunk = chunk;
    fl_metric_add(s->m_rows, kept);
    fl_metric_add(s->m_chunks, 1);
    if (last) fl_metric_add(s->m_tables_done, 1);
    log_debug("snapshot of %s.%s chunk %" PRIu64 ": %" PRIu64 " rows read, %" PRIu64
              " journaled, %zu left to the stream",
              t->db, t->name, chunk, nrows, kept, s->changed.n);
    if (last) log_info("snapshot of %s.%s complete (%" PRIu64 " chunks)", t->db, t->name, chunk + 1);
    fl_buf_free(&kb);
    free_spent(s);
    s->spent = s->res; /* freed once the record is encoded */
    s->res = NULL;
    if (s->pf.running) { /* the next chunk's window opens here: its high watermark comes next */
        keyset_clear(&s->changed);
        s->window_broken = false;
        s->phase = WAIT_HIGH;
        s->started = time(NULL);
    } else {
        drop_in_flight(s);
    }
    if (last) pop_table(s);
    fl_metric_set(s->m_tables_pending, (double)s->nqueue);
    save_progress(s, store);
    throttle(s, nrows);
}

/* The values of one requested key, as the result's key columns would give them: vals holds
 * ncols values (the key columns set, every other one absent). */
static void requested_key_values(const fl_snapshot *s, MYSQL_FIELD *fields, size_t k, fl_value *vals)
{
    const repair_ref *r = &s->repairs[0];
    for (uint32_t c = 0; c < s->schema.ncols; c++) vals[c] = (fl_value){.type = FL_VAL_ABSENT};
    for (uint32_t i = 0; i < s->nkey; i++) {
        uint32_t c = s->keycols[i];
        fl_mysql_cell_value(&fields[c], r->vals[k * r->ncol + i], r->lens[k * r->ncol + i], &vals[c]);
        if (s->schema.is_json && s->schema.is_json[c] && vals[c].type == FL_VAL_STRING) vals[c].type = FL_VAL_JSON;
    }
}

/* Adds the rows of the batch's keys, less those the stream changed in the window, to txn as
 * a keys snapshot record; with delete_absent, a requested key the table no longer holds is
 * a delete of it (its key columns only). The batch leaves the repairs. */
static void journal_keys(fl_snapshot *s, fl_store *store, fl_txn *txn)
{
    const repair_ref *r = &s->repairs[0];
    uint32_t ncols = s->schema.ncols;
    uint32_t ti = fl_txn_table(txn, r->db, r->name, ncols, (const char *const *)s->colnames);
    MYSQL_FIELD *fields = mysql_fetch_fields(s->res);
    fl_buf kb = {0};
    keyset found = {0};
    fl_value *vals = fl_xcalloc(ncols, sizeof *vals);
    uint64_t kept = 0, deleted = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(s->res))) {
        unsigned long *lens = mysql_fetch_lengths(s->res);
        for (uint32_t c = 0; c < ncols; c++) {
            fl_mysql_cell_value(&fields[c], row[c], lens[c], &vals[c]);
            if (s->schema.is_json && s->schema.is_json[c] && vals[c].type == FL_VAL_STRING)
                vals[c].type = FL_VAL_JSON;
        }
        key_text(s, vals, &kb);
        keyset_add(&found, (const char *)kb.data, (uint32_t)kb.len);
        if (keyset_has(&s->changed, (const char *)kb.data, (uint32_t)kb.len)) continue;
        add_owned_change(txn, FL_OP_SNAPSHOT, ti, vals, ncols);
        kept++;
    }
    for (size_t k = 0; k < s->batch_n && r->delete_absent; k++) {
        requested_key_values(s, fields, k, vals);
        key_text(s, vals, &kb);
        if (keyset_has(&found, (const char *)kb.data, (uint32_t)kb.len) ||
            keyset_has(&s->changed, (const char *)kb.data, (uint32_t)kb.len))
            continue;
        keyset_add(&found, (const char *)kb.data, (uint32_t)kb.len); /* a key requested twice: one delete */
        add_owned_change(txn, FL_OP_DELETE, ti, vals, ncols);
        deleted++;
    }
    txn->flags |= FL_TXN_SNAPSHOT | FL_TXN_SNAPSHOT_KEYS;
    txn->snapshot_table = ti;
    txn->snapshot_chunk = s->repair_batch++;
    fl_metric_add(s->m_rows, kept);
    log_info("snapshot of %s.%s: %zu keys read again: %" PRIu64 " rows journaled, %" PRIu64
             " deletes of keys whose rows are gone, %zu left to the stream",
             r->db, r->name, s->batch_n, kept, deleted, s->changed.n);
    size_t n = s->batch_n;
    free(vals);
    fl_buf_free(&kb);
    keyset_clear(&found);
    drop_in_flight(s);
    repair_done(s, n);
    save_progress(s, store);
    throttle(s, n);
}

void fl_snapshot_on_txn(fl_snapshot *s, fl_store *store, fl_txn *txn)
{
    if (!s) return;
    free_spent(s); /* the previous chunk's record is encoded by now */
    bool high = false;
    uint32_t w = 0;
    fl_buf kb = {0};
    for (uint32_t i = 0; i < txn->nchanges; i++) {
        fl_change *c = &txn->changes[i];
        const fl_table *t = fl_op_is_row(c->op) && c->table < txn->ntables ? &txn->tables[c->table] : NULL;
        if (t && is_watermark(t)) {
            char mark[MARK_MAX];
            mark_of(t, c, mark, sizeof mark);
            if (s->phase == WAIT_LOW && !strcmp(mark, s->low))
                s->phase = WAIT_HIGH;
            else if (s->phase == WAIT_HIGH && !strcmp(mark, s->high))
                high = true;
            txn->nrows--;
            continue; /* watermark rows never reach the journal */
        }
        if (t && s->phase == WAIT_HIGH && !high) note_changed(s, t, c, &kb);
        txn->changes[w++] = *c;
    }
    txn->nchanges = w;
    if (w == 0 && (txn->flags & FL_TXN_LAST_PART) && txn->part == 0) txn->ntables = 0; /* nothing but watermarks */
    fl_buf_free(&kb);
    if (!high) return;
    if (s->window_broken || !(txn->flags & FL_TXN_LAST_PART) || txn->part != 0) {
        log_warn("snapshot of %s.%s %s: the table changed shape while it was read; reading it again", s->info_db,
                 s->info_name, s->in_flight_keys ? "keys" : "chunk");
        drop_in_flight(s);
        forget_table_info(s);
        return;
    }
    fl_error e;
    if (prefetch_join(s, &e) < 0) { /* cannot be: the high watermark follows the rows */
        log_warn("%s (reading it again)", e.msg);
        drop_in_flight(s);
        return;
    }
    if (mysql_num_fields(s->res) != s->schema.ncols) {
        log_warn("snapshot of %s.%s: its columns changed; looking them up again", s->info_db, s->info_name);
        drop_in_flight(s);
        forget_table_info(s);
        return;
    }
    if (s->in_flight_keys)
        journal_keys(s, store, txn);
    else
        journal_chunk(s, store, txn);
}

void fl_snapshot_stream_restarted(fl_snapshot *s)
{
    if (s) drop_in_flight(s);
}

/* ---- fl-relay --snapshot ---- */


/* Whether the journal's progress still holds "all" or one of the requested tables. */
static int still_pending(const fl_config *cfg, const fl_snapshot *req, bool *pending)
{
    char err[512];
    fl_store_opts o = {0};
    fl_store *st = fl_store_open(cfg->journal.path, &o, err, sizeof err);
    if (!st) {
        fprintf(stderr, "fl-relay: --snapshot: journal %s: %s\n", cfg->journal.path, err);
        return -1;
    }
    char *text = NULL;
    int rc = fl_store_snapshot_progress(st, &text, err, sizeof err);
    fl_store_close(st);
    if (rc < 0) {
        fprintf(stderr, "fl-relay: --snapshot: journal %s: %s\n", cfg->journal.path, err);
        return -1;
    }
    fl_snapshot now = {0};
    *pending = false;
    if (parse_progress(&now, text)) {
        *pending = now.list_all || (req->list_all && now.nqueue);
        for (size_t i = 0; i < req->nqueue && !*pending; i++)
            for (size_t k = 0; k < now.nqueue; k++)
                if (!strcmp(now.queue[k].db, req->queue[i].db) && !strcmp(now.queue[k].name, req->queue[i].name))
                    *pending = true;
    }
    for (size_t i = 0; i < now.nqueue; i++) {
        free(now.queue[i].db);
        free(now.queue[i].name);
    }
    free(now.queue);
    free_after(&now);
    free_repairs(now.repairs, now.nrepairs);
    free(text);
    return 0;
}

static int request_status(fl_snapshot *req, int status)
{
    for (size_t i = 0; i < req->nqueue; i++) {
        free(req->queue[i].db);
        free(req->queue[i].name);
    }
    free(req->queue);
    forget_table_info(req);
    if (req->m) mysql_close(req->m);
    return status;
}

int fl_snapshot_request(const fl_config *cfg, const char *list, bool wait)
{
    if (!cfg->snapshot.tables) {
        fprintf(stderr, "fl-relay: --snapshot: %s has no [snapshot] tables\n", cfg->path);
        return 2;
    }
    fl_snapshot req = {.cfg = cfg};
    if (!list || !list[0]) req.list_all = true;
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n && *p == ' ') p++, n--;
        while (n && p[n - 1] == ' ') n--;
        char *full = fl_xmalloc(n + 1);
        memcpy(full, p, n);
        full[n] = 0;
        char *dot = strchr(full, '.');
        if (!dot || dot == full || !dot[1]) {
            fprintf(stderr, "fl-relay: --snapshot: '%s' is not db.table\n", full);
            free(full);
            return request_status(&req, 2);
        }
        if (!in_snapshot_tables(cfg, full)) {
            fprintf(stderr, "fl-relay: --snapshot: %s is not in [snapshot] tables\n", full);
            free(full);
            return request_status(&req, 1);
        }
        *dot = 0;
        queue_table(&req, full, dot + 1);
        free(full);
        p += (comma ? (size_t)(comma - p) + 1 : strlen(p));
    }
    if (!fl_journal_writer_running(cfg->journal.path)) {
        fprintf(stderr, "fl-relay: --snapshot: no relay is running on journal %s\n", cfg->journal.path);
        return request_status(&req, 1);
    }
    if (req.nqueue) { /* each table must exist and have a key: the relay would refuse it */
        fl_error e;
        fl_mysql_conn_opts o = {.connect_timeout_s = 10, .io_timeout_s = 60};
        if (!(req.m = fl_mysql_connect(&cfg->source, &o, &e))) {
            fprintf(stderr, "fl-relay: --snapshot: %s\n", e.msg);
            return request_status(&req, 1);
        }
        req.mariadb = strstr(mysql_get_server_info(req.m), "MariaDB") != NULL;
        for (size_t i = 0; i < req.nqueue; i++) {
            int rc = table_info(&req, req.queue[i].db, req.queue[i].name, &e); /* a refusal is logged */
            forget_table_info(&req);
            if (rc < 0) fprintf(stderr, "fl-relay: --snapshot: %s\n", e.msg);
            if (rc != 0) return request_status(&req, 1);
            if (!req.m) return request_status(&req, 1);
        }
    }
    fl_buf text = {0};
    progress_text(&req, &text);
    char err[512];
    int sent = fl_snapshot_request_send(cfg->journal.path, fl_buf_cstr(&text), err, sizeof err);
    fl_buf_free(&text);
    if (sent < 0) {
        fprintf(stderr, "fl-relay: --snapshot: %s\n", err);
        return request_status(&req, 1);
    }
    printf("snapshot queued: %s\n", list && list[0] ? list : "all [snapshot] tables");
    fflush(stdout);
    while (wait) {
        bool pending;
        poll(NULL, 0, 200);
        if (still_pending(cfg, &req, &pending) < 0) return request_status(&req, 1);
        if (!pending) {
            printf("snapshot complete\n");
            break;
        }
        if (!fl_journal_writer_running(cfg->journal.path)) {
            fprintf(stderr, "fl-relay: --snapshot --wait: the relay stopped before the snapshot completed\n");
            return request_status(&req, 1);
        }
    }
    return request_status(&req, 0);
}
