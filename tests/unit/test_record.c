/* test_record.c — the journal record codec: randomized round trips (every value type, both
 * GTID flavors, DDL, large values and transactions), rejection of every truncation and bit
 * flip, specific decode errors, part reassembly, header peeking, transaction helpers, and the
 * exact fl-dump --json line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/crc32c.h"
#include "journal/record.h"

/* ---- deterministic random transactions ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}
static uint32_t below(uint32_t n) { return n ? (uint32_t)(rnd() % n) : 0; }

static char *rand_bytes(size_t n, bool text)
{
    char *s = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) s[i] = text ? (char)('a' + below(26)) : (char)rnd();
    return s;
}

/* A temporal value in canonical text (packed by the codec), mostly; sometimes a text the
 * codec must keep as it is. */
static void rand_temporal(fl_txn *t, fl_value *v)
{
    char s[64];
    static const unsigned pow10[7] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    unsigned fsp = below(7), frac = below(pow10[fsp]);
    char fr[16] = "";
    if (fsp) snprintf(fr, sizeof fr, ".%0*u", (int)fsp, frac);
    unsigned y = below(4) ? 1900 + below(200) : below(10000), mo = below(13), d = below(32);
    unsigned h = below(24), mi = below(60), se = below(60);
    if (v->type == FL_VAL_DATE)
        snprintf(s, sizeof s, "%04u-%02u-%02u", y, mo, d);
    else if (v->type == FL_VAL_TIME)
        snprintf(s, sizeof s, "%s%02u:%02u:%02u%s", below(3) ? "" : "-", below(839), mi, se, fr);
    else
        snprintf(s, sizeof s, "%04u-%02u-%02u %02u:%02u:%02u%s", y, mo, d, h, mi, se, fr);
    switch (below(12)) { /* near misses, kept as text */
    case 0: s[strlen(s) - 1] = 'x'; break;
    case 1: strcat(s, "0000000"); break;
    case 2:
        s[0] = s[0] == '-' ? '+' : '9';
        s[1] = '9';
        break; /* year/hours out of range or odd */
    default: break;
    }
    v->s.ptr = s;
    v->s.len = (uint32_t)strlen(s);
    fl_txn_own_value(t, v);
}

static void rand_value(fl_txn *t, fl_value *v, size_t big)
{
    v->type = (uint8_t)below(FL_VAL_TYPE_COUNT);
    switch ((fl_value_type)v->type) {
    case FL_VAL_ABSENT:
    case FL_VAL_NULL: return;
    case FL_VAL_INT:
    case FL_VAL_YEAR:
        v->i = (int64_t)(rnd() >> below(64));
        if (rnd() & 1) v->i = -v->i;
        if (below(10) == 0) v->i = below(2) ? INT64_MIN : INT64_MAX;
        return;
    case FL_VAL_UINT:
    case FL_VAL_ENUM_INDEX:
    case FL_VAL_SET_BITS:
    case FL_VAL_BIT:
        v->u = rnd() >> below(64);
        if (below(10) == 0) v->u = UINT64_MAX;
        return;
    case FL_VAL_FLOAT: v->d = (float)((double)(int32_t)rnd() / (double)(1 + below(1000))); return;
    case FL_VAL_DOUBLE:
        v->d = (double)(int64_t)rnd() / (double)(1 + below(100000)) * (below(2) ? 1e-300 : 1.0);
        return;
    case FL_VAL_DATE:
    case FL_VAL_DATETIME:
    case FL_VAL_TIMESTAMP:
    case FL_VAL_TIME:
        if (!big && below(4)) {
            rand_temporal(t, v);
            return;
        }
        break;
    default: break;
    }
    switch ((fl_value_type)v->type) {
    case FL_VAL_VECTOR: {
        uint32_t n = below(8);
        float *f = malloc(n * 4 + 1);
        for (uint32_t k = 0; k < n; k++) f[k] = (float)(int32_t)rnd() / 7.0f;
        v->s.ptr = (const char *)f;
        v->s.len = n * 4;
        fl_txn_own_value(t, v);
        free(f);
        return;
    }
    default: {
        size_t n = big ? big : (below(8) == 0 ? 0 : below(40));
        char *s = rand_bytes(n, v->type != FL_VAL_BINARY && v->type != FL_VAL_GEOMETRY);
        v->s.ptr = s;
        v->s.len = (uint32_t)n;
        fl_txn_own_value(t, v);
        free(s);
        return;
    }
    }
}

static void rand_gtid(fl_gtid *g)
{
    memset(g, 0, sizeof *g);
    switch (below(3)) {
    case 0: return;
    case 1:
        g->flavor = FL_FLAVOR_MARIADB;
        g->domain = (uint32_t)rnd();
        g->server_id = (uint32_t)rnd();
        g->seq_no = rnd() >> below(64);
        return;
    default:
        g->flavor = FL_FLAVOR_MYSQL;
        for (int i = 0; i < 16; i++) g->uuid[i] = (uint8_t)rnd();
        if (below(2)) {
            size_t n = 1 + below(FL_GTID_TAG_MAX);
            for (size_t i = 0; i < n; i++)
                g->tag[i] = i && below(4) == 0 ? (char)('0' + below(10)) : (char)('a' + below(26));
            g->tag[n] = 0;
        }
        g->gno = 1 + (rnd() >> 1);
        return;
    }
}

typedef struct gen_opts {
    uint32_t max_tables, max_cols, max_changes;
    size_t big;     /* when non-zero, every byte value has this length */
    bool snapshots; /* some transactions are snapshot chunks */
} gen_opts;

static void rand_txn(fl_txn *t, const gen_opts *o)
{
    rand_gtid(&t->gtid);
    t->ts = below(4) ? 1700000000 + below(100000000) : rnd();
    t->server_id = (uint32_t)rnd();
    char file[32];
    snprintf(file, sizeof file, "bin.%06u", below(1000000));
    t->file = fl_arena_strndup(&t->arena, file, strlen(file));
    t->pos = rnd() >> below(64);
    t->flags = FL_TXN_LAST_PART | (below(4) == 0 ? FL_TXN_STATEMENT : 0) | (below(8) == 0 ? FL_TXN_XA : 0);
    t->part = below(3);

    uint32_t ntables = 1 + below(o->max_tables);
    for (uint32_t i = 0; i < ntables; i++) {
        char db[16], name[16];
        snprintf(db, sizeof db, "db%u", below(3));
        snprintf(name, sizeof name, "t%u", i);
        uint32_t ncols = below(o->max_cols + 1);
        const char **cols = calloc(ncols + 1, sizeof *cols);
        char **names = calloc(ncols + 1, sizeof *names);
        for (uint32_t c = 0; c < ncols; c++) {
            if (below(5) == 0) continue; /* unknown name */
            names[c] = malloc(16);
            snprintf(names[c], 16, "c%u", c);
            cols[c] = names[c];
        }
        assert_int_equal(fl_txn_table(t, db, name, ncols, cols), i);
        for (uint32_t c = 0; c < ncols; c++) free(names[c]);
        free(names);
        free(cols);
    }
    bool snapshot = o->snapshots && below(4) == 0; /* a chunk of a table snapshot: its rows may be snapshot rows */
    if (snapshot) {
        uint32_t kind = below(3); /* a chunk, a table's last chunk, or a batch of requested keys */
        t->flags |= FL_TXN_SNAPSHOT | (kind == 1 ? FL_TXN_SNAPSHOT_LAST : kind == 2 ? FL_TXN_SNAPSHOT_KEYS : 0);
        t->snapshot_table = below(ntables);
        t->snapshot_chunk = rnd() >> below(64);
    }
    uint32_t nchanges = below(o->max_changes + 1);
    for (uint32_t i = 0; i < nchanges; i++) {
        fl_op op = (fl_op)(1 + below(snapshot ? 6 : 5));
        fl_change *c = fl_txn_add_change(t, op);
        if (op == FL_OP_DDL || op == FL_OP_STATEMENT) {
            c->db = below(4) ? "app" : "";
            size_t n = below(60);
            char *sql = rand_bytes(n, true);
            if (n > 3) sql[n / 2] = 0; /* statement text may hold any byte */
            c->sql = fl_arena_memdup(&t->arena, sql, n);
            c->sql_len = (uint32_t)n;
            free(sql);
            continue;
        }
        c->table = below(ntables);
        if (below(4) == 0) { /* the statement that produced the rows (ROWS_QUERY/ANNOTATE_ROWS) */
            size_t n = 1 + below(40);
            char *q = rand_bytes(n, true);
            c->sql = fl_arena_memdup(&t->arena, q, n);
            c->sql_len = (uint32_t)n;
            free(q);
        }
        uint32_t ncols = t->tables[c->table].ncols;
        if (op == FL_OP_UPDATE || op == FL_OP_DELETE) {
            c->before = fl_txn_values(t, ncols);
            for (uint32_t k = 0; k < ncols; k++) rand_value(t, &c->before[k], o->big);
        }
        if (op != FL_OP_DELETE) {
            c->after = fl_txn_values(t, ncols);
            for (uint32_t k = 0; k < ncols; k++) rand_value(t, &c->after[k], o->big);
        }
    }
}

/* ---- comparison ---- */

static void assert_table_equal(const fl_table *a, const fl_table *b)
{
    assert_string_equal(a->db, b->db);
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->ncols, b->ncols);
    for (uint32_t c = 0; c < a->ncols; c++) {
        if (!a->cols[c] || !b->cols[c])
            assert_ptr_equal(a->cols[c], b->cols[c]);
        else
            assert_string_equal(a->cols[c], b->cols[c]);
    }
}

static void assert_image_equal(const fl_value *a, const fl_value *b, uint32_t ncols)
{
    if (!a || !b) {
        assert_ptr_equal(a, b);
        return;
    }
    for (uint32_t c = 0; c < ncols; c++) {
        assert_int_equal(a[c].type, b[c].type);
        assert_true(fl_value_equal(&a[c], &b[c]));
    }
}

/* Same header and the same changes, comparing tables by content (indexes may differ). */
static void assert_txn_equal(const fl_txn *a, const fl_txn *b, bool header)
{
    if (header) {
        assert_true(fl_gtid_equal(&a->gtid, &b->gtid));
        assert_int_equal(a->gtid.flavor, b->gtid.flavor);
        assert_int_equal(a->ts, b->ts);
        assert_int_equal(a->server_id, b->server_id);
        assert_string_equal(a->file ? a->file : "", b->file ? b->file : "");
        assert_int_equal(a->pos, b->pos);
        assert_int_equal(a->flags, b->flags);
        assert_int_equal(a->part, b->part);
        if (a->flags & FL_TXN_SNAPSHOT) {
            assert_int_equal(a->snapshot_chunk, b->snapshot_chunk);
            assert_table_equal(&a->tables[a->snapshot_table], &b->tables[b->snapshot_table]);
        }
    }
    assert_int_equal(a->nchanges, b->nchanges);
    assert_int_equal(a->nrows, b->nrows);
    for (uint32_t i = 0; i < a->nchanges; i++) {
        const fl_change *x = &a->changes[i], *y = &b->changes[i];
        assert_int_equal(x->op, y->op);
        if (x->op == FL_OP_DDL || x->op == FL_OP_STATEMENT) {
            assert_string_equal(x->db, y->db);
            assert_int_equal(x->sql_len, y->sql_len);
            assert_memory_equal(x->sql, y->sql, x->sql_len);
            continue;
        }
        assert_int_equal(x->sql_len, y->sql_len); /* the optional statement annotation */
        if (x->sql_len)
            assert_memory_equal(x->sql, y->sql, x->sql_len);
        else
            assert_true(!y->sql || !y->sql_len);
        assert_table_equal(&a->tables[x->table], &b->tables[y->table]);
        uint32_t ncols = a->tables[x->table].ncols;
        assert_image_equal(x->before, y->before, ncols);
        assert_image_equal(x->after, y->after, ncols);
    }
}

static void decode_ok(fl_txn *t, const fl_buf *b)
{
    char err[256];
    if (fl_record_decode(t, b->data, b->len, err, sizeof err) != 0) fail_msg("decode: %s", err);
}

static bool in_buf(const fl_buf *b, const char *p)
{
    return (const uint8_t *)p >= b->data && (const uint8_t *)p < b->data + b->len;
}

/* encode -> decode -> compare -> re-encode byte-equal; JSON of both identical; decoded as a
 * view too */
static size_t roundtrip(const fl_txn *t)
{
    fl_buf enc = {0}, enc2 = {0}, j1 = {0}, j2 = {0};
    fl_record_encode(t, &enc);
    fl_txn d;
    fl_txn_init(&d);
    decode_ok(&d, &enc);
    assert_txn_equal(t, &d, true);
    assert_int_equal(d.ntables, t->ntables);
    for (uint32_t i = 0; i < t->ntables; i++) assert_table_equal(&t->tables[i], &d.tables[i]);
    fl_record_encode(&d, &enc2);
    d.seq = t->seq; /* the store's key, not part of the record */
    assert_int_equal(enc.len, enc2.len);
    assert_memory_equal(enc.data, enc2.data, enc.len);
    fl_txn_to_json(t, &j1);
    fl_txn_to_json(&d, &j2);
    assert_string_equal(fl_buf_cstr(&j1), fl_buf_cstr(&j2));
    /* the view decodes the same, its string values in the record, the copy's elsewhere */
    fl_txn v;
    fl_txn_init(&v);
    char err[256];
    if (fl_record_decode_view(&v, enc.data, enc.len, NULL, err, sizeof err) != 0) fail_msg("decode view: %s", err);
    assert_txn_equal(t, &v, true);
    for (uint32_t i = 0; i < v.nchanges; i++) {
        const fl_value *imgs[2] = {v.changes[i].after, d.changes[i].after};
        if (!imgs[0] || !fl_op_is_row(v.changes[i].op)) continue;
        for (uint32_t c = 0; c < v.tables[v.changes[i].table].ncols; c++) {
            uint8_t ty = imgs[0][c].type; /* (temporals are mostly packed: their text is made) */
            if (!fl_value_has_bytes((fl_value_type)ty) || !imgs[0][c].s.len || ty == FL_VAL_DATE ||
                ty == FL_VAL_DATETIME || ty == FL_VAL_TIMESTAMP || ty == FL_VAL_TIME)
                continue;
            assert_true(in_buf(&enc, imgs[0][c].s.ptr));
            assert_false(in_buf(&enc, imgs[1][c].s.ptr));
        }
    }
    fl_txn_free(&v);
    size_t n = enc.len;
    fl_buf_free(&enc);
    fl_buf_free(&enc2);
    fl_buf_free(&j1);
    fl_buf_free(&j2);
    fl_txn_free(&d);
    return n;
}

/* ---- tests ---- */

static void test_roundtrip_random(void **state)
{
    (void)state;
    rng_state = 0x9e3779b97f4a7c15ull;
    gen_opts o = {.max_tables = 6, .max_cols = 12, .max_changes = 40, .snapshots = true};
    fl_txn t;
    fl_txn_init(&t);
    for (int i = 0; i < 500; i++) {
        fl_txn_reset(&t);
        rand_txn(&t, &o);
        roundtrip(&t);
    }
    gen_opts many = {.max_tables = 40,
                     .max_cols = 3,
                     .max_changes = 60}; /* more tables than the decoder's map holds on its stack */
    for (int i = 0; i < 50; i++) {
        fl_txn_reset(&t);
        rand_txn(&t, &many);
        roundtrip(&t);
    }
    fl_txn_free(&t);
}

static void test_roundtrip_empty(void **state)
{
    (void)state;
    fl_txn t;
    fl_txn_init(&t);
    size_t n = roundtrip(&t); /* no gtid, no file, nothing */
    assert_true(n < 20);
    t.flags = FL_TXN_LAST_PART;
    t.gtid.flavor = FL_FLAVOR_MARIADB;
    t.gtid.seq_no = 7;
    roundtrip(&t);
    fl_txn_free(&t);
}

/* an update whose new value is unknown: one type byte, and fl-dump --json names the column */
static void test_unknown_value(void **state)
{
    (void)state;
    fl_txn t;
    fl_txn_init(&t);
    const char *cols[] = {"id", "doc", "n"};
    uint32_t ti = fl_txn_table(&t, "app", "t", 3, cols);
    fl_change *c = fl_txn_add_change(&t, FL_OP_UPDATE);
    c->table = ti;
    c->before = fl_txn_values(&t, 3);
    c->after = fl_txn_values(&t, 3);
    c->before[0] = (fl_value){.type = FL_VAL_INT, .i = 1};
    c->after[1].type = FL_VAL_UNKNOWN;
    c->after[2] = (fl_value){.type = FL_VAL_INT, .i = 5};
    t.flags = FL_TXN_LAST_PART;
    fl_buf rec = {0};
    fl_record_encode(&t, &rec);
    fl_txn back;
    fl_txn_init(&back);
    char err[256];
    assert_int_equal(fl_record_decode(&back, rec.data, rec.len, err, sizeof err), 0);
    assert_int_equal(back.changes[0].after[1].type, FL_VAL_UNKNOWN);
    assert_int_equal(back.changes[0].after[0].type, FL_VAL_ABSENT);
    fl_buf json = {0};
    fl_txn_to_json(&back, &json);
    assert_non_null(
        strstr(fl_buf_cstr(&json), "\"before\":{\"id\":1},\"after\":{\"n\":5},\"unknown\":[\"doc\"]}"));
    fl_buf_free(&json);
    fl_buf_free(&rec);
    fl_txn_free(&back);
    fl_txn_free(&t);
}

static void test_roundtrip_large(void **state)
{
    (void)state;
    rng_state = 12345;
    fl_txn t;
    fl_txn_init(&t);
    /* 1 MB values */
    gen_opts big = {.max_tables = 2, .max_cols = 3, .max_changes = 4, .big = 1 << 20};
    do {
        fl_txn_reset(&t);
        rand_txn(&t, &big);
    } while (t.nrows < 3);
    assert_true(roundtrip(&t) > (1u << 20));
    /* thousands of rows over many tables */
    fl_txn_reset(&t);
    gen_opts many = {.max_tables = 300, .max_cols = 8, .max_changes = 6000};
    do {
        fl_txn_reset(&t);
        rand_txn(&t, &many);
    } while (t.nchanges < 3000 || t.ntables < 100);
    roundtrip(&t);
    fl_txn_free(&t);
}

/* The record used by the truncation and bit-flip tests: a bit of everything. */
static void small_record(fl_buf *out)
{
    rng_state = 777;
    fl_txn t;
    fl_txn_init(&t);
    gen_opts o = {.max_tables = 3, .max_cols = 5, .max_changes = 8};
    do {
        fl_txn_reset(&t);
        rand_txn(&t, &o);
    } while (t.nchanges < 5 || t.gtid.flavor == FL_FLAVOR_NONE);
    fl_record_encode(&t, out);
    fl_txn_free(&t);
}

static size_t value_size(fl_value v)
{
    fl_txn t;
    fl_txn_init(&t);
    const char *cols[] = {"c"};
    fl_change *c = fl_txn_add_change(&t, FL_OP_INSERT);
    c->table = fl_txn_table(&t, "d", "t", 1, cols);
    c->after = fl_txn_values(&t, 1);
    c->after[0] = v;
    size_t with = roundtrip(&t);
    c->after[0].type = FL_VAL_ABSENT;
    fl_buf b = {0};
    fl_record_encode(&t, &b);
    size_t without = b.len;
    fl_buf_free(&b);
    fl_txn_free(&t);
    return with - without + 1; /* bytes of the value, type byte included */
}

static fl_value text(uint8_t type, const char *s)
{
    return (fl_value){.type = type, .s = {s, (uint32_t)strlen(s)}};
}

static void test_temporal(void **state)
{
    (void)state;
    /* canonical text is packed */
    assert_int_equal(value_size(text(FL_VAL_DATE, "2026-11-24")), 4);
    assert_int_equal(value_size(text(FL_VAL_DATE, "0000-00-00")), 2);
    assert_int_equal(value_size(text(FL_VAL_DATETIME, "2026-11-24 12:00:00")), 7);
    assert_int_equal(value_size(text(FL_VAL_TIMESTAMP, "2026-11-24 12:00:00.123456")), 10);
    assert_true(value_size(text(FL_VAL_DATETIME, "9999-12-31 23:59:59.999999")) <= 10);
    assert_true(value_size(text(FL_VAL_DATETIME, "0000-00-00 00:00:00")) == 2);
    assert_true(value_size(text(FL_VAL_TIME, "-838:59:59.000000")) <= 6);
    assert_true(value_size(text(FL_VAL_TIME, "100:00:00")) <= 5);
    assert_true(value_size(text(FL_VAL_TIME, "-00:00:00.5")) <= 4);
    /* odd values the binlog decoder may still produce come back exactly */
    fl_value nan = {.type = FL_VAL_DOUBLE, .d = __builtin_nan("0x123")};
    assert_int_equal(value_size(nan), 9);
    assert_int_equal(value_size((fl_value){.type = FL_VAL_DOUBLE, .d = -__builtin_inf()}), 9);
    assert_int_equal(value_size((fl_value){.type = FL_VAL_FLOAT, .d = __builtin_inf()}), 5);
    assert_int_equal(value_size((fl_value){.type = FL_VAL_FLOAT, .d = (double)__builtin_nanf("")}), 5);
    assert_int_equal(value_size((fl_value){.type = FL_VAL_VECTOR, .s = {"xyz", 3}}), 5);
    /* anything else is kept as text, exactly */
    const char *raw[][2] = {
        {"d", "2026-1-24"},
        {"d", "10000-01-01"},
        {"d", "2026-13-01"},
        {"d", "2026-11-32"},
        {"d", "2026-11-24 "},
        {"d", ""},
        {"s", "2026-11-24 24:00:00"},
        {"s", "2026-11-24 12:00:00."},
        {"s", "2026-11-24 12:00:60"},
        {"s", "2026-11-24 12:00:00.1234567"},
        {"s", "2026-11-24T12:00:00"},
        {"t", "839:00:00"},
        {"t", "1:00:00"},
        {"t", "0100:00:00"},
        {"t", "+01:00:00"},
        {"t", "--01:00:00"},
        {"t", "01:00"},
    };
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        uint8_t type = raw[i][0][0] == 'd' ? FL_VAL_DATE : raw[i][0][0] == 's' ? FL_VAL_DATETIME : FL_VAL_TIME;
        size_t n = strlen(raw[i][1]);
        assert_int_equal(value_size(text(type, raw[i][1])), 1 + 1 + n);
    }
    /* every random canonical temporal survives */
    rng_state = 99;
    fl_txn t;
    fl_txn_init(&t);
    for (int i = 0; i < 20000; i++) {
        fl_value v = {.type = (uint8_t)(FL_VAL_DATE + below(4))};
        rand_temporal(&t, &v);
        assert_int_equal(value_size(v) <= 1 + 1 + v.s.len, 1);
    }
    fl_txn_free(&t);
}

static void test_truncation(void **state)
{
    (void)state;
    fl_buf b = {0};
    small_record(&b);
    assert_true(b.len > 100);
    char err[256];
    fl_txn t;
    fl_txn_init(&t);
    for (size_t n = 0; n < b.len; n++) {
        fl_txn_reset(&t);
        uint8_t *copy = malloc(n ? n : 1); /* exact size so ASan catches any over-read */
        memcpy(copy, b.data, n);
        err[0] = 0;
        assert_int_equal(fl_record_decode(&t, copy, n, err, sizeof err), -1);
        if (!strstr(err, "truncated")) fail_msg("length %zu: %s", n, err);
        free(copy);
    }
    /* one byte too many */
    fl_buf_putc(&b, 0);
    fl_txn_reset(&t);
    assert_int_equal(fl_record_decode(&t, b.data, b.len, err, sizeof err), -1);
    assert_string_equal(err, "1 bytes after the record");
    fl_txn_free(&t);
    fl_buf_free(&b);
}

static void test_bit_flips(void **state)
{
    (void)state;
    fl_buf b = {0};
    small_record(&b);
    char err[256];
    fl_txn t;
    fl_txn_init(&t);
    decode_ok(&t, &b);
    size_t head = 3; /* magic, version, length */
    while (b.data[head - 1] & 0x80) head++;
    for (size_t i = 0; i < b.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            b.data[i] ^= (uint8_t)(1u << bit);
            fl_txn_reset(&t);
            err[0] = 0;
            assert_int_equal(fl_record_decode(&t, b.data, b.len, err, sizeof err), -1);
            assert_true(err[0] != 0);
            if (i >= head && strncmp(err, "bad checksum", 12) != 0) fail_msg("byte %zu bit %d: %s", i, bit, err);
            b.data[i] ^= (uint8_t)(1u << bit);
        }
    }
    fl_txn_free(&t);
    fl_buf_free(&b);
}

/* Wraps a body in magic, version, length and a valid checksum: hostile but well-formed
 * records to test the checks behind the checksum. */
static void wrap(fl_buf *out, const fl_buf *body)
{
    fl_buf_reset(out);
    fl_buf_putc(out, 0xF1);
    fl_buf_putc(out, FL_RECORD_VERSION);
    size_t total = 3 + body->len + 4;
    if (total >= 128) total++;
    assert_true(total < 16384);
    fl_buf_put_varint(out, total);
    fl_buf_put(out, body->data, body->len);
    fl_buf_put_u32le(out, fl_crc32c(0, out->data, out->len));
    assert_int_equal(out->len, total);
}

/* header of an anonymous transaction with file "f" */
static void plain_header(fl_buf *b)
{
    fl_buf_reset(b);
    fl_buf_put_varint(b, FL_TXN_LAST_PART);
    fl_buf_put_varint(b, 0);    /* part */
    fl_buf_putc(b, 0);          /* no gtid */
    fl_buf_put_varint(b, 1000); /* ts */
    fl_buf_put_varint(b, 1);    /* server id */
    fl_buf_put_varint(b, 1);
    fl_buf_putc(b, 'f');
    fl_buf_put_varint(b, 4); /* pos */
}

static void expect_error(const fl_buf *rec, const char *msg)
{
    fl_txn t;
    fl_txn_init(&t);
    char err[256] = "";
    int rc = fl_record_decode(&t, rec->data, rec->len, err, sizeof err);
    fl_txn_free(&t);
    if (rc != -1) fail_msg("decoded, expected '%s'", msg);
    if (strcmp(err, msg) != 0) fail_msg("got '%s', expected '%s'", err, msg);
}

static void test_specific_errors(void **state)
{
    (void)state;
    fl_buf rec = {0}, body = {0};
    fl_txn t;
    fl_txn_init(&t);
    fl_record_encode(&t, &rec);

    rec.data[1] = 7;
    expect_error(&rec, "unknown version 7");
    rec.data[1] = FL_RECORD_VERSION;
    rec.data[0] = 'x';
    expect_error(&rec, "not a journal record (magic 0x78)");
    rec.data[0] = 0xF1;
    rec.data[rec.len - 1] ^= 1;
    char err[256];
    fl_txn d;
    fl_txn_init(&d);
    assert_int_equal(fl_record_decode(&d, rec.data, rec.len, err, sizeof err), -1);
    assert_memory_equal(err, "bad checksum", 12);
    rec.len--;
    expect_error(&rec, "truncated (15 of 16 bytes)");


    /* a count far larger than the record: refused before allocating */
    plain_header(&body);
    fl_buf_put_varint(&body, UINT64_MAX / 2);
    wrap(&rec, &body);
    expect_error(&rec, "table count 9223372036854775807 exceeds the record");
    plain_header(&body);
    fl_buf_put_varint(&body, 0);
    fl_buf_put_varint(&body, 1u << 30);
    wrap(&rec, &body);
    expect_error(&rec, "change count 1073741824 exceeds the record");

    /* one table (a.b, 2 columns, second unnamed), then bad changes */
    plain_header(&body);
    fl_buf_put(&body,
               "\x01\x01"
               "a"
               "\x01"
               "b"
               "\x02\x03"
               "id"
               "\x00",
               10);
    size_t tables_end = body.len;
    fl_buf_put(&body, "\x01\x01\x00\x02\x01", 5); /* insert: INT -1 ... */
    fl_buf_putc(&body, 200);                      /* ...then type 200 */
    wrap(&rec, &body);
    expect_error(&rec, "change 0 after column 1: unknown value type 200");

    body.len = tables_end;
    fl_buf_put(&body, "\x03\x04\x00\x00\x05\x00\x00\x03\x09", 9); /* ddl, statement, delete in table 9 */
    wrap(&rec, &body);
    expect_error(&rec, "change 2: table index 9 out of range (1 tables)");

    body.len = tables_end;
    fl_buf_put(&body, "\x01\x09\x00", 3); /* op 9 */
    wrap(&rec, &body);
    expect_error(&rec, "change 0: unknown op 9");

    body.len = tables_end;
    fl_buf_put(&body, "\x01\x01\x00\x02\x80\x00", 6); /* overlong varint in an INT */
    wrap(&rec, &body);
    expect_error(&rec, "change 0 after column 0: overlong varint");
    /* the same with the rest of the record after them (read without a test per byte) */
    body.len = tables_end;
    fl_buf_put(&body, "\x01\x01\x00\x02\x80\x80\x00", 7);
    fl_buf_put(&body, "\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02", 12);
    wrap(&rec, &body);
    expect_error(&rec, "change 0 after column 0: overlong varint");
    body.len = tables_end;
    fl_buf_put(&body, "\x01\x01\x00\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 14); /* 65 bits */
    fl_buf_put(&body, "\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02", 12);
    wrap(&rec, &body);
    expect_error(&rec, "change 0 after column 0: varint overflows 64 bits");
    body.len = tables_end;
    fl_buf_put(&body, "\x01\x01\x00\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 15); /* 11 bytes */
    fl_buf_put(&body, "\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02", 12);
    wrap(&rec, &body);
    expect_error(&rec, "change 0 after column 0: varint overflows 64 bits");
    body.len = tables_end;
    fl_buf_put(&body, "\x01\x01\x00\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x01\x00", 16);
    fl_buf_put(&body, "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 10); /* INT64_MIN, NULL, then 11 bytes */
    wrap(&rec, &body);
    expect_error(&rec, "11 unread bytes before the checksum");

    body.len = tables_end;
    fl_buf_put(&body, "\x01\x01\x00\x01\x01", 5);
    fl_buf_putc(&body, 0); /* one byte too many before the checksum */
    wrap(&rec, &body);
    expect_error(&rec, "1 unread bytes before the checksum");

    body.len = tables_end;
    fl_buf_put(&body, "\x01\x01\x00\x01\x04\x01\x00\x80\x7f", 9); /* FLOAT signalling NaN */
    wrap(&rec, &body);
    expect_error(&rec, "change 0 after column 1: float NaN 0x7f800001 is not canonical");

    /* packed temporals out of range, canonical text stored unpacked */
    body.len = tables_end;
    fl_buf_put(&body, "\x01\x01\x00\x01\x87\x80\x8a\xfe\x01", 9); /* DATE, year 10000 */
    wrap(&rec, &body);
    expect_error(&rec, "change 0 after column 1: packed date out of range");
    body.len = tables_end;
    fl_buf_put(&body, "\x01\x01\x00\x01\x8a\x03\x0a", 7); /* TIME 00:00:00.0 with fraction 10 */
    wrap(&rec, &body);
    expect_error(&rec, "change 0 after column 1: fraction 10 has more than 1 digits");
    body.len = tables_end;
    fl_buf_put(&body,
               "\x01\x01\x00\x01\x07\x0a"
               "2026-11-24",
               16);
    wrap(&rec, &body);
    expect_error(&rec, "change 0 after column 1: date stored as text, not packed");

    /* the same table twice */
    plain_header(&body);
    fl_buf_put(&body,
               "\x02\x01"
               "a"
               "\x01"
               "b"
               "\x00"
               "\x01"
               "a"
               "\x01"
               "b"
               "\x00"
               "\x00",
               12);
    wrap(&rec, &body);
    expect_error(&rec, "table 1: duplicate of table 0");

    /* a NUL in a table name, a bad GTID tag, unknown flags */
    plain_header(&body);
    fl_buf_put(&body,
               "\x01\x01"
               "a"
               "\x02"
               "b\0"
               "\x00"
               "\x00",
               8);
    wrap(&rec, &body);
    expect_error(&rec, "table 0: table name contains a NUL byte");
    plain_header(&body); /* a long one (names past 32 bytes are checked another way) */
    fl_buf_put(&body,
               "\x01\x01"
               "a"
               "\x28",
               4);
    for (int i = 0; i < 40; i++) fl_buf_putc(&body, i == 37 ? 0 : 'x');
    fl_buf_put(&body,
               "\x00"
               "\x00",
               2);
    wrap(&rec, &body);
    expect_error(&rec, "table 0: table name contains a NUL byte");
    plain_header(&body); /* in a column name */
    fl_buf_put(&body,
               "\x01\x01"
               "a"
               "\x01"
               "b"
               "\x02"
               "\x02"
               "c"
               "\x04"
               "d\0e"
               "\x00",
               14);
    wrap(&rec, &body);
    expect_error(&rec, "table 0 column 1: column name contains a NUL byte");
    fl_buf_reset(&body);
    fl_buf_put(&body, "\x01\x00\x02", 3);
    for (int i = 0; i < 16; i++) fl_buf_putc(&body, (uint8_t)i);
    fl_buf_put(&body,
               "\x02"
               "a\0"
               "\x01",
               4);
    wrap(&rec, &body);
    expect_error(&rec, "header: bad gtid tag");
    fl_buf_reset(&body);
    fl_buf_put(&body, "\x40\x00\x00", 3);
    wrap(&rec, &body);
    expect_error(&rec, "header: unknown flags 0x40");
    fl_buf_reset(&body);
    fl_buf_put(&body, "\x10\x00\x00", 3);
    wrap(&rec, &body);
    expect_error(&rec, "header: snapshot-last flag without snapshot");
    fl_buf_reset(&body);
    fl_buf_put(&body, "\x20\x00\x00", 3); /* SNAPSHOT_KEYS alone */
    wrap(&rec, &body);
    expect_error(&rec, "header: snapshot-keys flag without snapshot, or with snapshot-last");
    fl_buf_reset(&body);
    fl_buf_put(&body, "\x38\x00\x00", 3); /* SNAPSHOT | SNAPSHOT_LAST | SNAPSHOT_KEYS */
    wrap(&rec, &body);
    expect_error(&rec, "header: snapshot-keys flag without snapshot, or with snapshot-last");

    /* snapshot records: the chunk's table must exist; snapshot rows only in them */
    fl_buf_reset(&body);
    fl_buf_put(&body,
               "\x09\x00\x00\x00\x00\x01"
               "f"
               "\x04",
               8); /* LAST_PART|SNAPSHOT */
    fl_buf_put(&body,
               "\x01\x01"
               "a"
               "\x01"
               "b"
               "\x00",
               6);
    size_t snap_tables = body.len;
    fl_buf_put(&body, "\x01\x00\x00", 3); /* table 1 of 1 */
    wrap(&rec, &body);
    expect_error(&rec, "header: snapshot table index 1 out of range (1 tables)");
    body.len = snap_tables;
    fl_buf_put(&body, "\x00\x05\x01\x06\x00", 5); /* chunk 5, one snapshot row of no columns */
    wrap(&rec, &body);
    fl_txn d2;
    fl_txn_init(&d2);
    decode_ok(&d2, &rec);
    assert_int_equal(d2.snapshot_chunk, 5);
    assert_int_equal(d2.nrows, 1);
    fl_txn_free(&d2);
    plain_header(&body);
    fl_buf_put(&body,
               "\x01\x01"
               "a"
               "\x01"
               "b"
               "\x00"
               "\x01\x06\x00",
               9);
    wrap(&rec, &body);
    expect_error(&rec, "change 0: snapshot row outside a snapshot record");

    fl_txn_free(&d);
    fl_txn_free(&t);
    fl_buf_free(&rec);
    fl_buf_free(&body);
}

/* Writes a valid checksum over rec's bytes before its last four. */
static void put_crc(fl_buf *rec)
{
    uint32_t c = fl_crc32c(0, rec->data, rec->len - 4);
    for (int k = 0; k < 4; k++) rec->data[rec->len - 4 + k] = (uint8_t)(c >> (8 * k));
}

/* A stream of records decoded as views with one cache, as a reader does: each decodes as it
 * does alone, whether it repeats the last record's file name and tables (then its names are
 * the cache's) or not; a record repeating them but damaged after them is still refused. */
static void test_view_cache(void **state)
{
    (void)state;
    rng_state = 777;
    gen_opts o = {.max_tables = 3, .max_cols = 4, .max_changes = 6};
    fl_txn base, t, v, alone;
    fl_txn_init(&base);
    fl_txn_init(&t);
    fl_txn_init(&v);
    fl_txn_init(&alone);
    fl_record_cache cache = {0};
    fl_buf rec = {0};
    char err[256];
    int hits = 0;
    uint64_t ids[8] = {0}, last_id = 0; /* the table definition ids of the last record */
    for (int i = 0; i < 300; i++) {
        if (i % 5 == 0) { /* another table list (and file) every few records */
            fl_txn_reset(&base);
            rand_txn(&base, &o);
        }
        fl_txn_reset(&t); /* base's tables and file, other changes */
        t.gtid = base.gtid;
        t.file = base.file;
        t.flags = FL_TXN_LAST_PART;
        for (uint32_t k = 0; k < base.ntables; k++)
            fl_txn_table(&t, base.tables[k].db, base.tables[k].name, base.tables[k].ncols, base.tables[k].cols);
        for (uint32_t k = 0; k < base.nchanges; k++)
            if (fl_op_is_row(base.changes[k].op) && base.changes[k].op != FL_OP_SNAPSHOT &&
                (k + (uint32_t)i) % 2) {
                fl_change *c = fl_txn_add_change(&t, (fl_op)base.changes[k].op);
                *c = base.changes[k];
            }
        fl_buf_reset(&rec);
        fl_record_encode(&t, &rec);
        fl_txn_reset(&v);
        if (fl_record_decode_view(&v, rec.data, rec.len, &cache, err, sizeof err) != 0) fail_msg("view: %s", err);
        fl_txn_reset(&alone);
        decode_ok(&alone, &rec);
        assert_txn_equal(&alone, &v, true);
        assert_int_equal(v.ntables, alone.ntables);
        for (uint32_t k = 0; k < v.ntables; k++) assert_table_equal(&alone.tables[k], &v.tables[k]);
        if (i % 5) { /* repeated: the names are the cache's, and so are the definition ids */
            assert_ptr_equal(v.file, cache.file.data);
            for (uint32_t k = 0; k < v.ntables; k++) assert_ptr_equal(v.tables[k].name, cache.tables[k].name);
            for (uint32_t k = 0; k < v.ntables; k++) assert_int_equal(v.tables[k].def_id, ids[k]);
            hits++;
        } else { /* a new list: ids never given before, one per table */
            for (uint32_t k = 0; k < v.ntables; k++) {
                assert_true(v.tables[k].def_id > last_id);
                last_id = v.tables[k].def_id;
            }
        }
        for (uint32_t k = 0; k < v.ntables && k < 8; k++) ids[k] = v.tables[k].def_id;
        for (uint32_t k = 0; k < alone.ntables; k++) assert_int_equal(alone.tables[k].def_id, 0); /* no cache */
        if (i % 7 == 3) { /* the same, damaged behind the tables: refused as alone */
            rec.data[rec.len - 5] ^= 0x55;
            put_crc(&rec);
            char e1[256], e2[256];
            fl_txn_reset(&v);
            int r1 = fl_record_decode_view(&v, rec.data, rec.len, &cache, e1, sizeof e1);
            fl_txn_reset(&alone);
            int r2 = fl_record_decode(&alone, rec.data, rec.len, e2, sizeof e2);
            assert_int_equal(r1, r2);
            if (r1) assert_string_equal(e1, e2);
        }
    }
    assert_true(hits >= 200);
    fl_record_cache_free(&cache);
    fl_buf_free(&rec);
    fl_txn_free(&base);
    fl_txn_free(&t);
    fl_txn_free(&v);
    fl_txn_free(&alone);
}

static void test_parts(void **state)
{
    (void)state;
    rng_state = 4242;
    fl_txn whole;
    fl_txn_init(&whole);
    gen_opts o = {.max_tables = 8, .max_cols = 6, .max_changes = 200};
    do {
        fl_txn_reset(&whole);
        rand_txn(&whole, &o);
    } while (whole.nchanges < 30 || whole.ntables < 3);
    whole.flags |= FL_TXN_LAST_PART;
    whole.part = 2;

    /* split the changes into 3 parts, each with only the tables it uses, in its own order */
    fl_buf rec[3] = {{0}};
    uint32_t cut[4] = {0, whole.nchanges / 3, whole.nchanges / 2, whole.nchanges};
    for (int p = 0; p < 3; p++) {
        fl_txn part;
        fl_txn_init(&part);
        part.gtid = whole.gtid;
        part.ts = whole.ts;
        part.server_id = whole.server_id;
        part.file = whole.file;
        part.pos = whole.pos;
        part.part = (uint32_t)p;
        part.flags = whole.flags & ~(uint32_t)(p == 2 ? 0 : FL_TXN_LAST_PART);
        for (uint32_t i = cut[p + 1]; i-- > cut[p];) { /* tables in reverse order of use */
            const fl_change *c = &whole.changes[i];
            if (c->op <= FL_OP_DELETE) {
                const fl_table *tb = &whole.tables[c->table];
                fl_txn_table(&part, tb->db, tb->name, tb->ncols, tb->cols);
            }
        }
        for (uint32_t i = cut[p]; i < cut[p + 1]; i++) {
            const fl_change *c = &whole.changes[i];
            fl_change *n = fl_txn_add_change(&part, (fl_op)c->op);
            *n = *c;
            if (c->op <= FL_OP_DELETE) {
                const fl_table *tb = &whole.tables[c->table];
                n->table = fl_txn_table(&part, tb->db, tb->name, tb->ncols, tb->cols);
            }
        }
        fl_record_encode(&part, &rec[p]);
        uint32_t flags, pn;
        uint64_t ts;
        fl_gtid g;
        assert_int_equal(fl_record_peek(rec[p].data, rec[p].len, &g, &ts, &flags, &pn), 0);
        assert_int_equal(pn, p);
        assert_int_equal(ts, whole.ts);
        assert_true(fl_gtid_equal(&g, &whole.gtid));
        assert_int_equal(!!(flags & FL_TXN_LAST_PART), p == 2);
        fl_txn_free(&part);
    }

    fl_txn r;
    fl_txn_init(&r);
    for (int p = 0; p < 3; p++) decode_ok(&r, &rec[p]);
    assert_txn_equal(&whole, &r, true);
    uint32_t used = 0;
    for (uint32_t i = 0; i < whole.ntables; i++)
        for (uint32_t k = 0; k < whole.nchanges; k++)
            if (whole.changes[k].op <= FL_OP_DELETE && whole.changes[k].table == i) {
                used++;
                break;
            }
    assert_int_equal(r.ntables, used); /* a table used by several parts appears once */

    fl_buf j1 = {0}, j2 = {0};
    fl_txn_to_json(&whole, &j1);
    fl_txn_to_json(&r, &j2);
    assert_string_equal(fl_buf_cstr(&j1), fl_buf_cstr(&j2));
    fl_buf_free(&j1);
    fl_buf_free(&j2);
    for (int p = 0; p < 3; p++) fl_buf_free(&rec[p]);
    fl_txn_free(&r);
    fl_txn_free(&whole);
}

static void test_encoder_cleans(void **state)
{
    (void)state;
    fl_txn t, d;
    fl_txn_init(&t);
    fl_txn_init(&d);
    t.flags = FL_TXN_LAST_PART | (1u << 20); /* a flag this version does not define is not stored */
    assert_int_equal(fl_gtid_parse(&t.gtid, "3e11fa47-71ca-11e1-9e33-c80aa9429562:x:1", 40), 0);
    memcpy(t.gtid.tag, "Odd\bTag", 8); /* tag text is the binlog decoder's business */
    fl_buf b = {0};
    fl_record_encode(&t, &b);
    decode_ok(&d, &b);
    assert_int_equal(d.flags, FL_TXN_LAST_PART);
    assert_string_equal(d.gtid.tag, "Odd\bTag");
    fl_buf_free(&b);
    fl_txn_free(&d);
    fl_txn_free(&t);
}

static void test_peek(void **state)
{
    (void)state;
    fl_txn t;
    fl_txn_init(&t);
    assert_int_equal(fl_gtid_parse(&t.gtid, "3e11fa47-71ca-11e1-9e33-c80aa9429562:blue:42", 44), 0);
    t.ts = 1764000000;
    t.flags = FL_TXN_LAST_PART | FL_TXN_XA;
    t.part = 5;
    fl_buf b = {0};
    fl_record_encode(&t, &b);
    fl_gtid g;
    uint64_t ts;
    uint32_t flags, part;
    assert_int_equal(fl_record_peek(b.data, b.len, &g, &ts, &flags, &part), 0);
    assert_true(fl_gtid_equal(&g, &t.gtid));
    assert_string_equal(g.tag, "blue");
    assert_int_equal(ts, 1764000000);
    assert_int_equal(flags, FL_TXN_LAST_PART | FL_TXN_XA);
    assert_int_equal(part, 5);
    assert_int_equal(fl_record_peek(b.data, 2, &g, &ts, &flags, &part), -1);
    b.data[1] = 2;
    assert_int_equal(fl_record_peek(b.data, b.len, &g, &ts, &flags, &part), -1);
    fl_buf_free(&b);
    fl_txn_free(&t);
}

static void test_txn_helpers(void **state)
{
    (void)state;
    fl_txn t;
    fl_txn_init(&t);
    char db[] = "app", name[] = "users", c0[] = "id";
    const char *cols[] = {c0, NULL};
    assert_int_equal(fl_txn_table(&t, db, name, 2, cols), 0);
    assert_int_equal(fl_txn_table(&t, "app", "users", 2, cols), 0);
    assert_int_equal(fl_txn_table(&t, "app", "orders", 2, cols), 1);
    const char *other[] = {"id", "name"};
    assert_int_equal(fl_txn_table(&t, "app", "users", 2, other), 2); /* different columns */
    assert_int_equal(fl_txn_table(&t, "app", "users", 1, cols), 3);
    assert_int_equal(fl_txn_table(&t, "app", "users", 2, cols), 0);
    db[0] = name[0] = c0[0] = 'X'; /* names were copied */
    assert_string_equal(t.tables[0].db, "app");
    assert_string_equal(t.tables[0].name, "users");
    assert_string_equal(t.tables[0].cols[0], "id");
    assert_null(t.tables[0].cols[1]);

    fl_value *v = fl_txn_values(&t, 3);
    for (int i = 0; i < 3; i++) assert_int_equal(v[i].type, FL_VAL_ABSENT);
    char text[] = "hello";
    v[0].type = FL_VAL_STRING;
    v[0].s.ptr = text;
    v[0].s.len = 5;
    fl_txn_own_value(&t, &v[0]);
    text[0] = 'J';
    assert_memory_equal(v[0].s.ptr, "hello", 5);
    v[1].type = FL_VAL_INT;
    v[1].i = -5;
    fl_txn_own_value(&t, &v[1]);
    assert_int_equal(v[1].i, -5);

    size_t before = fl_txn_mem(&t);
    for (int i = 0; i < 1000; i++) fl_txn_add_change(&t, FL_OP_INSERT)->after = fl_txn_values(&t, 4);
    fl_txn_add_change(&t, FL_OP_DDL);
    assert_int_equal(t.nchanges, 1001);
    assert_int_equal(t.nrows, 1000);
    assert_true(fl_txn_mem(&t) >= before + 1000 * 4 * sizeof(fl_value));

    fl_change *keep = t.changes;
    fl_txn_reset(&t);
    assert_int_equal(t.nchanges, 0);
    assert_int_equal(t.ntables, 0);
    assert_int_equal(t.nrows, 0);
    assert_ptr_equal(t.changes, keep); /* memory kept for reuse */
    /* ... but not counted: the next transaction is as big as what it holds (the room of a
     * big one made every later one look big enough to split) */
    assert_true(fl_txn_mem(&t) < 1000 * sizeof(fl_change));
    fl_txn_add_change(&t, FL_OP_DDL);
    assert_true(fl_txn_mem(&t) < 1000 * sizeof(fl_change));
    fl_txn_reset(&t);
    assert_int_equal(fl_txn_table(&t, "app", "users", 2, cols), 0);
    fl_txn_free(&t);
}

/* users(id INT, name VARCHAR, email VARCHAR, created DATETIME, balance DECIMAL) */
static void add_user_insert(fl_txn *t, uint32_t table, int64_t id)
{
    fl_change *c = fl_txn_add_change(t, FL_OP_INSERT);
    c->table = table;
    fl_value *v = c->after = fl_txn_values(t, 5);
    v[0] = (fl_value){.type = FL_VAL_INT, .i = id};
    v[1] = (fl_value){.type = FL_VAL_STRING, .s = {"alice", 5}};
    v[2] = (fl_value){.type = FL_VAL_STRING, .s = {"alice@example.com", 17}};
    v[3] = (fl_value){.type = FL_VAL_DATETIME, .s = {"2026-11-24 12:00:00", 19}};
    v[4] = (fl_value){.type = FL_VAL_DECIMAL, .s = {"1165.50", 7}};
}

static void test_size(void **state)
{
    (void)state;
    fl_txn t;
    fl_txn_init(&t);
    assert_int_equal(fl_gtid_parse(&t.gtid, "0-1-100", 7), 0);
    t.file = "mariadb-bin.000001";
    t.ts = 1764000000;
    t.pos = 123456;
    t.server_id = 1;
    t.flags = FL_TXN_LAST_PART;
    const char *cols[] = {"id", "name", "email", "created", "balance"};
    uint32_t tb = fl_txn_table(&t, "app", "users", 5, cols);
    add_user_insert(&t, tb, 1000);
    fl_buf b = {0};
    fl_record_encode(&t, &b);
    size_t one = b.len;
    for (int i = 1; i < 1000; i++) add_user_insert(&t, tb, 1000 + i);
    fl_buf_reset(&b);
    fl_record_encode(&t, &b);
    double per_row = (double)(b.len - one) / 999.0;
    /* payload text is 48 bytes; each column adds a type byte and a length or varint */
    print_message("record: one 5-column insert %zu bytes; %.1f bytes per further row\n", one, per_row);
    assert_true(per_row <= 65.0);
    assert_true(one < 160);
    roundtrip(&t);
    fl_buf_free(&b);
    fl_txn_free(&t);
}

static void test_json(void **state)
{
    (void)state;
    fl_txn t;
    fl_txn_init(&t);
    t.seq = 1;
    assert_int_equal(fl_gtid_parse(&t.gtid, "0-1-1", 5), 0);
    t.ts = 1795953600; /* 2026-11-29 12:00:00 UTC */
    t.server_id = 1;
    t.file = "bin.000001";
    t.pos = 702;
    t.flags = FL_TXN_LAST_PART;
    const char *cols[] = {"id", "name", NULL};
    uint32_t users = fl_txn_table(&t, "app", "users", 3, cols);

    fl_change *c = fl_txn_add_change(&t, FL_OP_INSERT);
    c->table = users;
    c->after = fl_txn_values(&t, 3);
    c->after[0] = (fl_value){.type = FL_VAL_INT, .i = 1};
    c->after[1] = (fl_value){.type = FL_VAL_STRING, .s = {"a\"b", 3}};
    c->after[2] = (fl_value){.type = FL_VAL_NULL};

    c = fl_txn_add_change(&t, FL_OP_UPDATE);
    c->table = users;
    c->before = fl_txn_values(&t, 3);
    c->before[0] = (fl_value){.type = FL_VAL_INT, .i = 1}; /* minimal image: others absent */
    c->after = fl_txn_values(&t, 3);
    c->after[1] = (fl_value){.type = FL_VAL_STRING, .s = {"b", 1}};
    c->after[2] = (fl_value){.type = FL_VAL_DECIMAL, .s = {"1165.50", 7}};

    c = fl_txn_add_change(&t, FL_OP_DELETE);
    c->table = users;
    c->before = fl_txn_values(&t, 3);
    c->before[0] = (fl_value){.type = FL_VAL_UINT, .u = 18446744073709551615ull};

    c = fl_txn_add_change(&t, FL_OP_DDL);
    c->db = "app";
    c->sql = "ALTER TABLE users ADD x INT";
    c->sql_len = (uint32_t)strlen(c->sql);
    c = fl_txn_add_change(&t, FL_OP_STATEMENT);
    c->db = "";
    c->sql = "DELETE FROM t\nWHERE a='\x01'";
    c->sql_len = (uint32_t)strlen(c->sql);

    const char *want =
        "{\"seq\":1,\"gtid\":\"0-1-1\",\"ts\":\"2026-11-29 12:00:00\",\"server_id\":1,\"file\":\"bin.000001\","
        "\"pos\":702,\"changes\":["
        "{\"op\":\"insert\",\"db\":\"app\",\"table\":\"users\",\"after\":{\"id\":1,\"name\":\"a\\\"b\",\"@3\":"
        "null}},"
        "{\"op\":\"update\",\"db\":\"app\",\"table\":\"users\",\"before\":{\"id\":1},"
        "\"after\":{\"name\":\"b\",\"@3\":\"1165.50\"}},"
        "{\"op\":\"delete\",\"db\":\"app\",\"table\":\"users\",\"before\":{\"id\":18446744073709551615}},"
        "{\"op\":\"ddl\",\"db\":\"app\",\"sql\":\"ALTER TABLE users ADD x INT\"},"
        "{\"op\":\"statement\",\"db\":\"\",\"sql\":\"DELETE FROM t\\nWHERE a='\\u0001'\"}]}";
    fl_buf b = {0};
    fl_txn_to_json(&t, &b);
    assert_string_equal(fl_buf_cstr(&b), want);
    roundtrip(&t);

    /* anonymous transaction, flags, a tagged MySQL GTID, timestamps at the edges */
    fl_txn a;
    fl_txn_init(&a);
    a.seq = 18446744073709551615ull;
    a.ts = 0;
    a.flags = FL_TXN_LAST_PART | FL_TXN_STATEMENT | FL_TXN_XA;
    fl_buf_reset(&b);
    fl_txn_to_json(&a, &b);
    assert_string_equal(fl_buf_cstr(&b), "{\"seq\":18446744073709551615,\"gtid\":null,\"ts\":\"1970-01-01 "
                                         "00:00:00\",\"server_id\":0,"
                                         "\"file\":\"\",\"pos\":0,\"statement\":true,\"xa\":true,\"changes\":[]}");
    assert_int_equal(fl_gtid_parse(&a.gtid, "3E11FA47-71CA-11E1-9E33-C80AA9429562:Blue:7", 43), 0);
    a.ts = 951782400 + 86399; /* 2000-02-29 23:59:59 */
    a.flags = FL_TXN_LAST_PART;
    fl_buf_reset(&b);
    fl_txn_to_json(&a, &b);
    assert_string_equal(fl_buf_cstr(&b),
                        "{\"seq\":18446744073709551615,\"gtid\":\"3e11fa47-71ca-11e1-9e33-c80aa9429562:blue:7\","
                        "\"ts\":\"2000-02-29 23:59:59\",\"server_id\":0,\"file\":\"\",\"pos\":0,\"changes\":[]}");
    a.ts = 253402300799; /* 9999-12-31 23:59:59 */
    fl_buf_reset(&b);
    fl_txn_to_json(&a, &b);
    assert_non_null(strstr(fl_buf_cstr(&b), "\"ts\":\"9999-12-31 23:59:59\""));
    fl_txn_free(&a);
    fl_buf_free(&b);
    fl_txn_free(&t);
}

/* A snapshot chunk: its rows are "snapshot" changes with an after image, the record names the
 * table, the chunk number and whether it is the last; a decoded one re-encodes the same. */
static void test_snapshot(void **state)
{
    (void)state;
    fl_txn t;
    fl_txn_init(&t);
    t.seq = 3;
    assert_int_equal(fl_gtid_parse(&t.gtid, "0-1-9", 5), 0);
    t.ts = 1795953600;
    t.server_id = 1;
    t.file = "bin.000001";
    t.pos = 900;
    t.flags = FL_TXN_LAST_PART | FL_TXN_SNAPSHOT | FL_TXN_SNAPSHOT_LAST;
    const char *cols[] = {"id", "name"};
    t.snapshot_table = fl_txn_table(&t, "shop", "items", 2, cols);
    t.snapshot_chunk = 12;
    for (int i = 1; i <= 2; i++) {
        fl_change *c = fl_txn_add_change(&t, FL_OP_SNAPSHOT);
        c->table = t.snapshot_table;
        c->after = fl_txn_values(&t, 2);
        c->after[0] = (fl_value){.type = FL_VAL_INT, .i = i};
        c->after[1] = (fl_value){.type = FL_VAL_STRING, .s = {"x", 1}};
    }
    assert_int_equal(t.nrows, 2);
    fl_buf b = {0};
    fl_txn_to_json(&t, &b);
    assert_string_equal(fl_buf_cstr(&b),
                        "{\"seq\":3,\"gtid\":\"0-1-9\",\"ts\":\"2026-11-29 12:00:00\",\"server_id\":1,"
                        "\"file\":\"bin.000001\",\"pos\":900,"
                        "\"snapshot\":{\"db\":\"shop\",\"table\":\"items\",\"chunk\":12,\"last\":true},"
                        "\"changes\":["
                        "{\"op\":\"snapshot\",\"db\":\"shop\",\"table\":\"items\",\"after\":{\"id\":1,\"name\":"
                        "\"x\"}},"
                        "{\"op\":\"snapshot\",\"db\":\"shop\",\"table\":\"items\",\"after\":{\"id\":2,\"name\":"
                        "\"x\"}}]}");
    roundtrip(&t);

    /* an empty last chunk still names its table */
    fl_txn e;
    fl_txn_init(&e);
    e.flags = FL_TXN_LAST_PART | FL_TXN_SNAPSHOT | FL_TXN_SNAPSHOT_LAST;
    e.snapshot_table = fl_txn_table(&e, "shop", "items", 2, cols);
    e.snapshot_chunk = 0;
    roundtrip(&e);
    fl_buf_reset(&b);
    fl_txn_to_json(&e, &b);
    assert_non_null(
        strstr(fl_buf_cstr(&b), "\"snapshot\":{\"db\":\"shop\",\"table\":\"items\",\"chunk\":0,\"last\":true}"));

    /* a batch of requested keys: its rows and the deletes of keys whose rows are gone */
    e.flags = FL_TXN_LAST_PART | FL_TXN_SNAPSHOT | FL_TXN_SNAPSHOT_KEYS;
    e.snapshot_chunk = 1;
    fl_change *gone = fl_txn_add_change(&e, FL_OP_DELETE);
    gone->table = e.snapshot_table;
    gone->before = fl_txn_values(&e, 2);
    gone->before[0] = (fl_value){.type = FL_VAL_INT, .i = 7};
    gone->before[1] = (fl_value){.type = FL_VAL_ABSENT};
    roundtrip(&e);
    fl_buf_reset(&b);
    fl_txn_to_json(&e, &b);
    assert_non_null(strstr(fl_buf_cstr(&b), "\"chunk\":1,\"last\":false,\"keys\":true}"));
    assert_true(fl_op_is_row(FL_OP_SNAPSHOT) && fl_op_has_after(FL_OP_SNAPSHOT) &&
                !fl_op_has_before(FL_OP_SNAPSHOT));
    assert_string_equal(fl_op_name(FL_OP_SNAPSHOT), "snapshot");
    fl_txn_free(&e);
    fl_buf_free(&b);
    fl_txn_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_random),
        cmocka_unit_test(test_roundtrip_empty),
        cmocka_unit_test(test_unknown_value),
        cmocka_unit_test(test_roundtrip_large),
        cmocka_unit_test(test_temporal),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_specific_errors),
        cmocka_unit_test(test_parts),
        cmocka_unit_test(test_view_cache),
        cmocka_unit_test(test_peek),
        cmocka_unit_test(test_encoder_cleans),
        cmocka_unit_test(test_txn_helpers),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
