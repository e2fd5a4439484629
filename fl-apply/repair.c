/* repair.c — fl-apply -c FILE --verify --repair: the cache's differences read again from the
 * database, in order with the stream.
 *
 * 1. --verify, told every difference: a stale or missing key names the row it was rendered
 *    from (its table's row key); an extra key is mapped back to a row key through each upsert
 *    rule's template when the template holds every key column.
 * 2. One request to the relay of the local journal (journal/snapshot_request.h) with those keys,
 *    by table: the relay reads them between a low and a high watermark like any snapshot chunk
 *    and journals the rows it finds as snapshot rows; a key whose row is gone becomes a delete
 *    of it, but only in a table whose every rule keys its entries by key columns alone (a
 *    delete carries only the key columns, so another rule could not render its key). Extra
 *    keys that map to no row key, or to such a table, are named and left as they are.
 * 3. Waits until the relay has journaled them (the committed progress lists no keys to
 *    repair), takes the journal's last seq, and waits until the applier's checkpoint reaches
 *    it (--once: applies the journal itself, as fl-apply --once, instead of waiting for a
 *    running applier); a checkpoint that stays still for CHECKPOINT_STILL_S is an error.
 * 4. Verifies again: the exit status is that verify's. */
#include "fl-apply/repair.h"

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/mysql_conn.h"
#include "common/mysql_schema.h"
#include "common/template.h"
#include "fl-apply/apply.h"
#include "fl-apply/target.h"
#include "fl-apply/verify.h"
#include "journal/snapshot_request.h"
#include "journal/store.h"

#define JOURNALED_WAIT_S 600  /* the relay journals the keys within this */
#define CHECKPOINT_STILL_S 30 /* an applier whose checkpoint does not move for this is not running */
#define LOOK_EVERY_MS 200

/* One rule table: its row key columns, whether a key whose row is gone may be deleted,
 * and the request lines gathered for it. */
typedef struct repair_table {
    const char *db, *table;
    char **key_names; /* nkey column names, NULL-terminated */
    uint32_t nkey;
    bool delete_absent;
    fl_buf keys; /* "key HEX..." lines */
    size_t nkeys;
} repair_table;

typedef struct repair {
    const fl_config *cfg;
    repair_table *tables;
    size_t ntables;
    size_t extra_unmapped;
    fl_buf extra_shown; /* the first few extra keys left as they are, with why */
} repair;

static repair_table *table_of(repair *r, const char *db, const char *table)
{
    for (size_t i = 0; i < r->ntables; i++)
        if (!strcmp(r->tables[i].db, db) && !strcmp(r->tables[i].table, table)) return &r->tables[i];
    return NULL;
}

static void add_key_line(repair_table *t, const char *key_hex, size_t len)
{
    fl_buf_puts(&t->keys, "key ");
    fl_buf_put(&t->keys, key_hex, len);
    fl_buf_putc(&t->keys, '\n');
    t->nkeys++;
}

static void on_row(void *ctx, const char *db, const char *table, const char *key_hex, size_t len)
{
    repair_table *t = table_of(ctx, db, table);
    if (t) add_key_line(t, key_hex, len);
}

/* Whether the template names only columns of t's key. */
static bool template_uses_key_only(const fl_template *tp, const repair_table *t)
{
    for (size_t p = 0; p < tp->nparts; p++) {
        if (!tp->parts[p].is_col) continue;
        bool in_key = false;
        for (uint32_t k = 0; k < t->nkey && !in_key; k++) in_key = !strcmp(t->key_names[k], tp->parts[p].text);
        if (!in_key) return false;
    }
    return true;
}

/* Matches key against the template: sets vals/lens of t's key columns (each placeholder takes
 * the text up to the next literal's first occurrence, the last one the rest). True when the
 * key matches and gives every key column one value. */
static bool template_match(const fl_template *tp, const repair_table *t, const char *key, size_t len,
                           const char **vals, size_t *lens)
{
    for (uint32_t k = 0; k < t->nkey; k++) vals[k] = NULL;
    size_t at = 0;
    for (size_t p = 0; p < tp->nparts; p++) {
        const fl_template_part *part = &tp->parts[p];
        if (!part->is_col) {
            if (len - at < part->len || memcmp(key + at, part->text, part->len)) return false;
            at += part->len;
            continue;
        }
        size_t end = len;
        if (p + 1 < tp->nparts) { /* the next part is literal: parts alternate */
            const fl_template_part *next = &tp->parts[p + 1];
            end = at;
            while (end + next->len <= len && memcmp(key + end, next->text, next->len)) end++;
            if (end + next->len > len) return false;
        }
        if (end == at) return false; /* a key column's text is never empty here */
        for (uint32_t k = 0; k < t->nkey; k++) {
            if (strcmp(t->key_names[k], part->text)) continue;
            if (vals[k] && (lens[k] != end - at || memcmp(vals[k], key + at, lens[k]))) return false;
            vals[k] = key + at;
            lens[k] = end - at;
        }
        at = end;
    }
    if (at != len) return false;
    for (uint32_t k = 0; k < t->nkey; k++)
        if (!vals[k]) return false;
    return true;
}

static void note_unmapped(repair *r, const char *key, size_t len, const char *why)
{
    if (r->extra_unmapped++ >= 5) return;
    fl_buf_puts(&r->extra_shown, "  ");
    for (size_t i = 0; i < len && i < 120; i++)
        fl_buf_putc(&r->extra_shown, (uint8_t)key[i] < 0x20 ? '?' : (uint8_t)key[i]);
    fl_buf_printf(&r->extra_shown, ": %s\n", why);
}

static void on_extra(void *ctx, const char *key, size_t len)
{
    repair *r = ctx;
    const char *why = "no rule's key template gives it every column of its table's key";
    for (size_t i = 0; i < r->cfg->nrules; i++) {
        const fl_config_rule *rc = &r->cfg->rules[i];
        repair_table *t = rc->mode == FL_MODE_INVALIDATE ? NULL : table_of(r, rc->db, rc->table);
        if (!t || !t->nkey) continue;
        fl_template tp;
        if (fl_template_parse(rc->key, &tp)) continue;
        const char **vals = fl_xcalloc(t->nkey, sizeof *vals);
        size_t *lens = fl_xcalloc(t->nkey, sizeof *lens);
        bool ok = template_match(&tp, t, key, len, vals, lens);
        fl_template_free(&tp);
        if (ok && !t->delete_absent)
            why = "a rule of its table keys entries by columns outside the table's key, so a delete by key "
                  "could not name them";
        if (ok && t->delete_absent) {
            fl_buf line = {0};
            for (uint32_t k = 0; k < t->nkey; k++) {
                if (k) fl_buf_putc(&line, ' ');
                fl_snapshot_put_hex(&line, vals[k], lens[k]);
            }
            add_key_line(t, (const char *)line.data, line.len);
            fl_buf_free(&line);
        }
        free(vals);
        free(lens);
        if (ok && t->delete_absent) return;
    }
    note_unmapped(r, key, len, why);
}

/* Looks up each upsert rule table's key and whether its keys may be deleted by key.
 * Returns 0, or -1 with err. */
static int read_tables(repair *r, char *err, size_t errlen)
{
    fl_error e;
    MYSQL *m = fl_mysql_connect(&r->cfg->source, NULL, &e);
    if (!m) {
        snprintf(err, errlen, "%s", e.msg);
        return -1;
    }
    bool mariadb = strstr(mysql_get_server_info(m), "MariaDB") != NULL;
    r->tables = fl_xcalloc(r->cfg->nrules + 1, sizeof *r->tables);
    int rc = 0;
    for (size_t i = 0; i < r->cfg->nrules && rc == 0; i++) {
        const fl_config_rule *c = &r->cfg->rules[i];
        if (c->mode == FL_MODE_INVALIDATE || table_of(r, c->db, c->table)) continue;
        repair_table *t = &r->tables[r->ntables++];
        t->db = c->db;
        t->table = c->table;
        fl_table_schema schema;
        if (fl_table_schema_read(m, c->db, c->table, mariadb, &schema, err, errlen)) {
            rc = -1;
            break;
        }
        uint32_t *cols = fl_xcalloc(schema.ncols + 1, sizeof *cols);
        if (fl_table_key_read(m, c->db, c->table, &schema, cols, &t->nkey, err, errlen)) rc = -1;
        t->key_names = fl_xcalloc(t->nkey + 1, sizeof *t->key_names);
        for (uint32_t k = 0; k < t->nkey; k++) t->key_names[k] = fl_xstrdup(schema.names[cols[k]]);
        free(cols);
        fl_table_schema_free(&schema);
        t->delete_absent = t->nkey > 0;
        for (size_t j = 0; j < r->cfg->nrules && t->delete_absent; j++) {
            const fl_config_rule *o = &r->cfg->rules[j];
            if (strcmp(o->db, c->db) || strcmp(o->table, c->table)) continue;
            fl_template tp;
            if (fl_template_parse(o->key, &tp) || !template_uses_key_only(&tp, t)) t->delete_absent = false;
            fl_template_free(&tp);
        }
    }
    mysql_close(m);
    return rc;
}

static void repair_free(repair *r)
{
    for (size_t i = 0; i < r->ntables; i++) {
        for (uint32_t k = 0; k < r->tables[i].nkey; k++) free(r->tables[i].key_names[k]);
        free(r->tables[i].key_names);
        fl_buf_free(&r->tables[i].keys);
    }
    free(r->tables);
    fl_buf_free(&r->extra_shown);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Waits until the relay has journaled every requested key; sets *head to the journal's last
 * seq then. Returns 0 or -1 (said on stderr). */
static int wait_journaled(const char *dir, uint64_t *head)
{
    char err[512];
    for (double start = now_s();; poll(NULL, 0, LOOK_EVERY_MS)) {
        bool pending;
        if (fl_snapshot_repairs_pending(dir, &pending, err, sizeof err) < 0) {
            fprintf(stderr, "fl-apply: --repair: journal %s: %s\n", dir, err);
            return -1;
        }
        if (!pending) break;
        if (!fl_journal_writer_running(dir)) {
            fprintf(stderr, "fl-apply: --repair: the relay stopped before it journaled the keys to repair\n");
            return -1;
        }
        if (now_s() - start > JOURNALED_WAIT_S) {
            fprintf(stderr, "fl-apply: --repair: the relay has not journaled the keys to repair within %d s\n",
                    JOURNALED_WAIT_S);
            return -1;
        }
    }
    fl_store_opts o = {0};
    fl_store *st = fl_store_open(dir, &o, err, sizeof err);
    fl_store_info info;
    int rc = st ? fl_store_info_get(st, &info, err, sizeof err) : -1;
    if (st) fl_store_close(st);
    if (rc < 0) {
        fprintf(stderr, "fl-apply: --repair: journal %s: %s\n", dir, err);
        return -1;
    }
    *head = info.last_seq;
    return 0;
}

/* The applier's checkpoint seq (0 when none). Returns 0 or -1 with err. */
static int checkpoint_seq(const fl_config *cfg, uint64_t *seq, char *err, size_t errlen)
{
    fl_error e;
    fl_target *t = fl_target_open(&cfg->apply, &e);
    if (!t) {
        snprintf(err, errlen, "%s", e.msg);
        return -1;
    }
    fl_checkpoint cp = {0};
    int rc = fl_target_read_checkpoint(t, &cp, err, errlen);
    fl_target_close(t);
    if (rc < 0) return -1;
    *seq = rc == 1 ? 0 : cp.seq;
    return 0;
}

/* Waits until the running applier's checkpoint reaches head. Returns 0 or -1 (said). */
static int wait_applied(const fl_config *cfg, uint64_t head)
{
    char err[1024];
    uint64_t last = 0;
    double moved = now_s();
    for (bool first = true;; first = false, poll(NULL, 0, LOOK_EVERY_MS)) {
        uint64_t seq;
        if (checkpoint_seq(cfg, &seq, err, sizeof err) < 0) {
            fprintf(stderr, "fl-apply: --repair: reading the checkpoint: %s\n", err);
            return -1;
        }
        if (seq >= head) return 0;
        if (first || seq != last) moved = now_s();
        last = seq;
        if (now_s() - moved > CHECKPOINT_STILL_S) {
            fprintf(stderr,
                    "fl-apply: --repair: the checkpoint stayed at seq %" PRIu64 " for %d s, short of seq %" PRIu64
                    " which holds the repaired keys: is `fl-apply -c %s` running? (--repair --once applies them "
                    "itself)\n",
                    seq, CHECKPOINT_STILL_S, head, cfg->path);
            return -1;
        }
    }
}

int fl_repair_run(const fl_config *cfg, bool once)
{
    if (cfg->apply.relay) {
        fprintf(stderr,
                "fl-apply: --repair: this applier reads the feed of %s, whose snapshot request names "
                "whole tables, not keys: run --repair with a configuration whose [apply] journal is the "
                "relay's journal\n",
                cfg->apply.relay);
        return 2;
    }
    const char *dir = cfg->apply.journal ? cfg->apply.journal : cfg->journal.path;
    repair r = {.cfg = cfg};
    char err[1024];
    if (cfg->source.present && read_tables(&r, err, sizeof err) < 0) {
        fprintf(stderr, "fl-apply: --repair: source: %s\n", err);
        repair_free(&r);
        return 2;
    }
    const fl_verify_sink sink = {.row = on_row, .extra = on_extra, .ctx = &r};
    int status = fl_verify_collect(cfg, &sink);
    if (status != 1) { /* every key matches, or the check could not run */
        repair_free(&r);
        return status;
    }
    fl_buf req = {0};
    size_t nkeys = 0;
    for (size_t i = 0; i < r.ntables; i++) {
        const repair_table *t = &r.tables[i];
        if (!t->nkeys) continue;
        fl_buf_puts(&req, "repair ");
        fl_snapshot_put_hex(&req, t->db, strlen(t->db));
        fl_buf_putc(&req, ' ');
        fl_snapshot_put_hex(&req, t->table, strlen(t->table));
        fl_buf_puts(&req, t->delete_absent ? " delete\n" : " keep\n");
        fl_buf_put(&req, t->keys.data, t->keys.len);
        nkeys += t->nkeys;
        printf("repair: %s.%s: %zu keys to read again\n", t->db, t->table, t->nkeys);
    }
    if (r.extra_unmapped) {
        printf("repair: %zu extra keys left as they are:\n", r.extra_unmapped);
        fwrite(r.extra_shown.data, 1, r.extra_shown.len, stdout);
        if (r.extra_unmapped > 5) printf("  ... and %zu more\n", r.extra_unmapped - 5);
    }
    fflush(stdout);
    status = 1;
    uint64_t head = 0;
    if (!nkeys) {
        fprintf(stderr, "fl-apply: --repair: no difference names a row to read again\n");
    } else if (!fl_journal_writer_running(dir)) {
        fprintf(stderr,
                "fl-apply: --repair: no relay is running on journal %s; the relay reads the keys again, so start "
                "it "
                "(fl-relay -c FILE)\n",
                dir);
    } else if (fl_snapshot_request_send(dir, fl_buf_cstr(&req), err, sizeof err) < 0) {
        fprintf(stderr, "fl-apply: --repair: %s (does the relay's [snapshot] tables name the rule tables?)\n",
                err);
    } else if (wait_journaled(dir, &head) == 0) {
        printf("repair: journaled by seq %" PRIu64 "; %s\n", head,
               once ? "applying the journal" : "waiting for the applier");
        fflush(stdout);
        fl_apply_opts o = {.once = true};
        int applied = once ? fl_apply_run(cfg, &o) : wait_applied(cfg, head) == 0 ? 0 : 1;
        if (applied == 0) {
            printf("repair: verifying again\n");
            fflush(stdout);
            status = fl_verify_run(cfg);
        }
    }
    fl_buf_free(&req);
    repair_free(&r);
    return status;
}
