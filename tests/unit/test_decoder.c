/* test_decoder.c — the binlog event decoder on hand-built event streams: a row transaction
 * (FORMAT_DESCRIPTION, GTID, BEGIN, TABLE_MAP, WRITE_ROWS, XID), rollback, DDL, statement
 * DML, MariaDB GTIDs, a zstd TRANSACTION_PAYLOAD, table filters, bad CRC32, truncated
 * events and rows, and splitting a large transaction into parts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zstd.h>

#include "common/buf.h"
#include "common/crc32c.h"
#include "fl-relay/decoder.h"

/* ---- a stream builder ---------------------------------------------------------------- */

typedef struct stream {
    fl_buf buf;       /* events back to back, from offset 4 of a file */
    size_t start;     /* start of the event being built */
    bool crc;
    uint32_t server_id;
} stream;

static void ev_begin(stream *s, uint8_t type)
{
    s->start = s->buf.len;
    uint8_t h[19] = {0};
    h[0] = 0x00, h[1] = 0x5e, h[2] = 0x6b, h[3] = 0x68; /* 2025-07-07 */
    h[4] = type;
    memcpy(h + 5, &s->server_id, 4);
    fl_buf_put(&s->buf, h, sizeof h);
}

static void put_le(fl_buf *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) fl_buf_putc(b, (uint8_t)(v >> (8 * i)));
}

static void set_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void ev_end(stream *s)
{
    size_t len = s->buf.len - s->start + (s->crc ? 4 : 0);
    uint8_t *h = s->buf.data + s->start;
    set_le(h + 9, len, 4);
    set_le(h + 13, 4 + s->start + len, 4); /* log_pos: offset after the event in a file */
    if (s->crc) put_le(&s->buf, fl_crc32(0, s->buf.data + s->start, len - 4), 4);
}

static void fde(stream *s, const char *version, bool crc)
{
    s->crc = false;
    ev_begin(s, 15);
    put_le(&s->buf, 4, 2);
    char v[50] = {0};
    snprintf(v, sizeof v, "%s", version);
    fl_buf_put(&s->buf, v, 50);
    put_le(&s->buf, 0, 4);
    fl_buf_putc(&s->buf, 19);
    uint8_t post[42] = {0};
    post[2 - 1] = 13;  /* QUERY */
    post[4 - 1] = 8;   /* ROTATE */
    post[19 - 1] = 8;  /* TABLE_MAP */
    for (int t = 23; t <= 25; t++) post[t - 1] = 8;
    for (int t = 30; t <= 32; t++) post[t - 1] = 10;
    post[33 - 1] = 42;
    post[34 - 1] = 42;
    post[39 - 1] = 10;
    fl_buf_put(&s->buf, post, sizeof post);
    fl_buf_putc(&s->buf, crc ? 1 : 0);
    s->crc = true; /* the FORMAT_DESCRIPTION of a checksum-aware server always has one */
    ev_end(s);
    s->crc = crc;
}

static const uint8_t UUID[16] = {0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1,
                                 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42, 0x95, 0x62};

static void gtid(stream *s, uint64_t gno)
{
    ev_begin(s, 33);
    fl_buf_putc(&s->buf, 0);
    fl_buf_put(&s->buf, UUID, 16);
    put_le(&s->buf, gno, 8);
    fl_buf_putc(&s->buf, 2);
    put_le(&s->buf, 0, 8);
    put_le(&s->buf, 0, 8);
    ev_end(s);
}

static void maria_gtid(stream *s, uint32_t domain, uint64_t seq, uint8_t flags)
{
    ev_begin(s, 162);
    put_le(&s->buf, seq, 8);
    put_le(&s->buf, domain, 4);
    fl_buf_putc(&s->buf, flags);
    put_le(&s->buf, 0, 6);
    ev_end(s);
}

static void query(stream *s, const char *db, const char *sql)
{
    ev_begin(s, 2);
    put_le(&s->buf, 7, 4);           /* thread id */
    put_le(&s->buf, 0, 4);           /* exec time */
    fl_buf_putc(&s->buf, (uint8_t)strlen(db));
    put_le(&s->buf, 0, 2);           /* error code */
    put_le(&s->buf, 5, 2);           /* status vars length */
    fl_buf_putc(&s->buf, 0);         /* Q_FLAGS2 */
    put_le(&s->buf, 0, 4);
    fl_buf_puts(&s->buf, db);
    fl_buf_putc(&s->buf, 0);
    fl_buf_puts(&s->buf, sql);
    ev_end(s);
}

/* TABLE_MAP for test.t1 (id INT, name VARCHAR(20)) with column names. */
static void table_map(stream *s, uint64_t table_id, const char *table)
{
    ev_begin(s, 19);
    put_le(&s->buf, table_id, 6);
    put_le(&s->buf, 1, 2);
    fl_buf_putc(&s->buf, 4);
    fl_buf_put(&s->buf, "test", 5);
    fl_buf_putc(&s->buf, (uint8_t)strlen(table));
    fl_buf_put(&s->buf, table, strlen(table) + 1);
    fl_buf_putc(&s->buf, 2);          /* columns */
    fl_buf_putc(&s->buf, 3);          /* LONG */
    fl_buf_putc(&s->buf, 15);         /* VARCHAR */
    fl_buf_putc(&s->buf, 2);          /* metadata length */
    put_le(&s->buf, 20, 2);           /* VARCHAR(20) */
    fl_buf_putc(&s->buf, 0x02);       /* nullable: name */
    fl_buf_putc(&s->buf, 1);          /* SIGNEDNESS */
    fl_buf_putc(&s->buf, 1);
    fl_buf_putc(&s->buf, 0x00);       /* id signed */
    fl_buf_putc(&s->buf, 4);          /* COLUMN_NAME */
    fl_buf_putc(&s->buf, 8);
    fl_buf_putc(&s->buf, 2);
    fl_buf_put(&s->buf, "id", 2);
    fl_buf_putc(&s->buf, 4);
    fl_buf_put(&s->buf, "name", 4);
    ev_end(s);
}

/* WRITE_ROWS v2 with nrows rows (id = first + i, name = "row" or NULL for odd ids). */
static void write_rows(stream *s, uint64_t table_id, int first, int nrows)
{
    ev_begin(s, 30);
    put_le(&s->buf, table_id, 6);
    put_le(&s->buf, 1, 2); /* statement end */
    put_le(&s->buf, 2, 2); /* extra data: just its length */
    fl_buf_putc(&s->buf, 2);
    fl_buf_putc(&s->buf, 0x03);
    for (int i = 0; i < nrows; i++) {
        int id = first + i;
        bool null = id % 2;
        fl_buf_putc(&s->buf, null ? 0x02 : 0x00);
        put_le(&s->buf, (uint32_t)id, 4);
        if (!null) {
            fl_buf_putc(&s->buf, 5);
            fl_buf_put(&s->buf, "hello", 5);
        }
    }
    ev_end(s);
}

static void update_row(stream *s, uint64_t table_id, int id)
{
    ev_begin(s, 31);
    put_le(&s->buf, table_id, 6);
    put_le(&s->buf, 1, 2);
    put_le(&s->buf, 2, 2);
    fl_buf_putc(&s->buf, 2);
    fl_buf_putc(&s->buf, 0x03);
    fl_buf_putc(&s->buf, 0x01); /* after image: id only */
    fl_buf_putc(&s->buf, 0x00);
    put_le(&s->buf, (uint32_t)id, 4);
    fl_buf_putc(&s->buf, 1);
    fl_buf_putc(&s->buf, 'a');
    fl_buf_putc(&s->buf, 0x00);
    put_le(&s->buf, (uint32_t)-5, 4);
    ev_end(s);
}

static void xid(stream *s, uint64_t x)
{
    ev_begin(s, 16);
    put_le(&s->buf, x, 8);
    ev_end(s);
}

/* ---- a decoder with a recording emit callback ----------------------------------------- */

typedef struct emitted {
    int n;
    fl_gtid gtid[64];
    uint32_t flags[64], part[64], nchanges[64];
    uint64_t pos[64], nrows_total;
    char gtid_set[256];
    fl_txn copy; /* the last emitted transaction, re-decoded from its record */
} emitted;

static int on_emit(void *ctx, fl_txn *t, const fl_decoder_pos *p)
{
    emitted *e = ctx;
    if (e->n < 64) {
        e->gtid[e->n] = t->gtid;
        e->flags[e->n] = t->flags;
        e->part[e->n] = t->part;
        e->nchanges[e->n] = t->nchanges;
        e->pos[e->n] = p->pos;
    }
    e->n++;
    e->nrows_total += t->nrows;
    char *set = fl_gtid_set_format(p->gtid_set);
    snprintf(e->gtid_set, sizeof e->gtid_set, "%s", set);
    free(set);
    fl_buf rec = {0};
    fl_record_encode(t, &rec);
    fl_txn_reset(&e->copy);
    char err[256];
    assert_int_equal(fl_record_decode(&e->copy, rec.data, rec.len, err, sizeof err), 0);
    fl_buf_free(&rec);
    return 0;
}

typedef struct fixture {
    stream s;
    emitted e;
    fl_decoder *d;
    char err[512];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->s.server_id = 1;
    fl_txn_init(&f->e.copy);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fl_decoder_free(f->d);
    fl_buf_free(&f->s.buf);
    fl_txn_free(&f->e.copy);
    free(f);
    return 0;
}

static void start(fixture *f, const fl_config_source *filter, size_t part_bytes)
{
    fl_decoder_opts o = {.filter = filter, .part_bytes = part_bytes, .emit = on_emit, .ctx = &f->e,
                         .initial_file = "bin.000001"};
    f->d = fl_decoder_new(&o);
}

/* Feeds every event in the stream; returns the first non-zero result. */
static int feed(fixture *f)
{
    size_t off = 0;
    fl_decoder_set_file(f->d, "bin.000001", 4);
    while (off < f->s.buf.len) {
        size_t len = f->s.buf.data[off + 9] | f->s.buf.data[off + 10] << 8 |
                     (size_t)f->s.buf.data[off + 11] << 16;
        int rc = fl_decoder_event(f->d, f->s.buf.data + off, len, f->err, sizeof f->err);
        if (rc != 0) return rc;
        off += len;
    }
    return 0;
}

static const fl_value *col(const fl_txn *t, uint32_t change, bool after, uint32_t i)
{
    const fl_change *c = &t->changes[change];
    return after ? &c->after[i] : &c->before[i];
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_row_transaction(void **state)
{
    fixture *f = *state;
    fde(&f->s, "8.0.36", true);
    gtid(&f->s, 7);
    query(&f->s, "test", "BEGIN");
    table_map(&f->s, 91, "t1");
    write_rows(&f->s, 91, 4, 2);
    update_row(&f->s, 91, 4);
    xid(&f->s, 1234);
    start(f, NULL, 0);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 1);
    char g[FL_GTID_TEXT_MAX];
    fl_gtid_format(&f->e.gtid[0], g, sizeof g);
    assert_string_equal(g, "3e11fa47-71ca-11e1-9e33-c80aa9429562:7");
    assert_string_equal(f->e.gtid_set, "3e11fa47-71ca-11e1-9e33-c80aa9429562:7");
    assert_true(f->e.flags[0] & FL_TXN_LAST_PART);
    assert_int_equal(f->e.pos[0], 4 + f->s.buf.len);
    assert_int_equal(fl_decoder_flavor(f->d), FL_FLAVOR_MYSQL);

    const fl_txn *t = &f->e.copy;
    assert_int_equal(t->nchanges, 3);
    assert_int_equal(t->nrows, 3);
    assert_int_equal(t->ntables, 1);
    assert_string_equal(t->tables[0].db, "test");
    assert_string_equal(t->tables[0].name, "t1");
    assert_string_equal(t->tables[0].cols[0], "id");
    assert_string_equal(t->tables[0].cols[1], "name");
    assert_int_equal(t->changes[0].op, FL_OP_INSERT);
    assert_int_equal(col(t, 0, true, 0)->type, FL_VAL_INT);
    assert_int_equal(col(t, 0, true, 0)->i, 4);
    assert_int_equal(col(t, 0, true, 1)->type, FL_VAL_STRING);
    assert_int_equal(col(t, 0, true, 1)->s.len, 5);
    assert_memory_equal(col(t, 0, true, 1)->s.ptr, "hello", 5);
    assert_int_equal(col(t, 1, true, 0)->i, 5);
    assert_int_equal(col(t, 1, true, 1)->type, FL_VAL_NULL);
    assert_int_equal(t->changes[2].op, FL_OP_UPDATE);
    assert_int_equal(col(t, 2, false, 0)->i, 4);
    assert_memory_equal(col(t, 2, false, 1)->s.ptr, "a", 1);
    assert_int_equal(col(t, 2, true, 0)->i, -5);
    assert_int_equal(col(t, 2, true, 1)->type, FL_VAL_ABSENT);
}

static void test_rollback_never_emitted(void **state)
{
    fixture *f = *state;
    fde(&f->s, "8.0.36", true);
    gtid(&f->s, 1);
    query(&f->s, "test", "BEGIN");
    table_map(&f->s, 5, "t1");
    write_rows(&f->s, 5, 1, 1);
    query(&f->s, "test", "SAVEPOINT a");
    query(&f->s, "test", "ROLLBACK TO a");
    query(&f->s, "test", "ROLLBACK");
    gtid(&f->s, 2);
    query(&f->s, "test", "BEGIN");
    table_map(&f->s, 5, "t1");
    write_rows(&f->s, 5, 10, 1);
    query(&f->s, "test", "COMMIT");
    start(f, NULL, 0);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 1);
    assert_int_equal(f->e.gtid[0].gno, 2);
    assert_int_equal(f->e.copy.nchanges, 1);
    assert_int_equal(col(&f->e.copy, 0, true, 0)->i, 10);
    /* the rolled-back transaction's GTID was used by the source */
    assert_string_equal(f->e.gtid_set, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-2");
}

static void test_ddl_and_statements(void **state)
{
    fixture *f = *state;
    fde(&f->s, "8.0.36", true);
    gtid(&f->s, 3);
    query(&f->s, "shop", "CREATE TABLE t1 (id INT PRIMARY KEY, name VARCHAR(20))");
    gtid(&f->s, 4);
    query(&f->s, "shop", "BEGIN");
    query(&f->s, "shop", "INSERT INTO t1 VALUES (1, 'x')");
    xid(&f->s, 9);
    start(f, NULL, 0);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 2);
    assert_int_equal(f->e.nchanges[0], 1);
    assert_true(f->e.flags[0] & FL_TXN_LAST_PART);
    assert_false(f->e.flags[0] & FL_TXN_STATEMENT);
    assert_true(f->e.flags[1] & FL_TXN_STATEMENT);
    const fl_txn *t = &f->e.copy;
    assert_int_equal(t->changes[0].op, FL_OP_STATEMENT);
    assert_string_equal(t->changes[0].db, "shop");
    assert_int_equal(t->changes[0].sql_len, strlen("INSERT INTO t1 VALUES (1, 'x')"));
    assert_memory_equal(t->changes[0].sql, "INSERT INTO t1 VALUES (1, 'x')", t->changes[0].sql_len);
}

static void test_ddl_record(void **state)
{
    fixture *f = *state;
    fde(&f->s, "8.0.36", false);
    gtid(&f->s, 3);
    query(&f->s, "shop", "ALTER TABLE t1 ADD c INT");
    start(f, NULL, 0);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 1);
    const fl_txn *t = &f->e.copy;
    assert_int_equal(t->nchanges, 1);
    assert_int_equal(t->changes[0].op, FL_OP_DDL);
    assert_string_equal(t->changes[0].db, "shop");
    assert_memory_equal(t->changes[0].sql, "ALTER TABLE t1 ADD c INT", t->changes[0].sql_len);
    assert_int_equal(t->gtid.gno, 3);
}

static void test_mariadb_gtids(void **state)
{
    fixture *f = *state;
    f->s.server_id = 11;
    fde(&f->s, "10.11.6-MariaDB-log", true);
    maria_gtid(&f->s, 0, 41, 0x01); /* standalone: the DDL is the transaction */
    query(&f->s, "app", "CREATE TABLE t1 (id INT, name VARCHAR(20))");
    maria_gtid(&f->s, 0, 42, 0x0c); /* transactional: GTID opens the transaction */
    table_map(&f->s, 3, "t1");
    write_rows(&f->s, 3, 2, 1);
    xid(&f->s, 5);
    start(f, NULL, 0);
    assert_int_equal(feed(f), 0);
    assert_int_equal(fl_decoder_flavor(f->d), FL_FLAVOR_MARIADB);
    assert_int_equal(f->e.n, 2);
    char g[FL_GTID_TEXT_MAX];
    fl_gtid_format(&f->e.gtid[1], g, sizeof g);
    assert_string_equal(g, "0-11-42");
    assert_string_equal(f->e.gtid_set, "0-11-42");
    assert_int_equal(f->e.copy.nrows, 1);
    assert_int_equal(f->e.copy.server_id, 11);
}

static void test_filter_keeps_empty_record(void **state)
{
    fixture *f = *state;
    char *exclude[] = {"test.t1", NULL};
    fl_config_source src = {.exclude = exclude};
    fde(&f->s, "8.0.36", true);
    gtid(&f->s, 1);
    query(&f->s, "test", "BEGIN");
    table_map(&f->s, 5, "t1");
    write_rows(&f->s, 5, 1, 3);
    table_map(&f->s, 6, "t2");
    write_rows(&f->s, 6, 8, 1);
    xid(&f->s, 1);
    gtid(&f->s, 2);
    query(&f->s, "test", "BEGIN");
    table_map(&f->s, 5, "t1");
    write_rows(&f->s, 5, 1, 3);
    xid(&f->s, 2);
    start(f, &src, 0);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 2);
    assert_int_equal(f->e.nchanges[0], 1); /* only t2's row */
    assert_int_equal(f->e.nchanges[1], 0); /* everything filtered: an empty record */
    assert_int_equal(f->e.gtid[1].gno, 2);
}

static void test_bad_crc(void **state)
{
    fixture *f = *state;
    fde(&f->s, "8.0.36", true);
    gtid(&f->s, 1);
    query(&f->s, "test", "BEGIN");
    table_map(&f->s, 5, "t1");
    size_t at = f->s.buf.len;
    write_rows(&f->s, 5, 1, 1);
    xid(&f->s, 1);
    f->s.buf.data[at + 25] ^= 0x40;
    start(f, NULL, 0);
    assert_int_equal(feed(f), -1);
    char want[64];
    snprintf(want, sizeof want, "event at offset %zu: bad CRC32", 4 + at);
    assert_string_equal(f->err, want);
    assert_int_equal(f->e.n, 0);
    /* the transaction in progress was dropped: its XID emits nothing */
    size_t xid_at = f->s.buf.len - 31;
    assert_int_equal(fl_decoder_event(f->d, f->s.buf.data + xid_at, 31, f->err, sizeof f->err), 0);
    assert_int_equal(f->e.n, 0);
}

static void test_truncated(void **state)
{
    fixture *f = *state;
    fde(&f->s, "8.0.36", false);
    gtid(&f->s, 1);
    query(&f->s, "test", "BEGIN");
    table_map(&f->s, 5, "t1");
    start(f, NULL, 0);
    assert_int_equal(feed(f), 0);

    /* a header whose size says more than was given */
    stream r = {.server_id = 1};
    write_rows(&r, 5, 2, 1);
    assert_int_equal(fl_decoder_event(f->d, r.buf.data, r.buf.len - 3, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "header says"));
    /* shorter than a header */
    assert_int_equal(fl_decoder_event(f->d, r.buf.data, 10, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "shorter than the 19-byte header"));
    /* a row cut inside its VARCHAR: size field consistent, data short */
    fl_buf_reset(&r.buf);
    write_rows(&r, 5, 2, 1);
    r.buf.len -= 3;
    set_le(r.buf.data + 9, r.buf.len, 4);
    assert_int_equal(fl_decoder_event(f->d, r.buf.data, r.buf.len, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "test.t1"));
    /* an unknown table id */
    fl_buf_reset(&r.buf);
    write_rows(&r, 77, 2, 1);
    assert_int_equal(fl_decoder_event(f->d, r.buf.data, r.buf.len, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "table id 77"));
    /* an XID of the wrong size */
    fl_buf_reset(&r.buf);
    ev_begin(&r, 16);
    put_le(&r.buf, 1, 4);
    ev_end(&r);
    assert_int_equal(fl_decoder_event(f->d, r.buf.data, r.buf.len, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "XID: body is 4 bytes, expected 8"));
    fl_buf_free(&r.buf);
    assert_int_equal(f->e.n, 0);
}

static void test_parts(void **state)
{
    fixture *f = *state;
    fde(&f->s, "8.0.36", true);
    gtid(&f->s, 9);
    query(&f->s, "test", "BEGIN");
    for (int i = 0; i < 40; i++) {
        table_map(&f->s, 5, "t1");
        write_rows(&f->s, 5, i * 50, 50);
    }
    xid(&f->s, 1);
    start(f, NULL, 16 * 1024);
    assert_int_equal(feed(f), 0);
    assert_true(f->e.n > 2);
    assert_true(f->e.n <= 64);
    for (int i = 0; i < f->e.n; i++) {
        assert_int_equal(f->e.part[i], (uint32_t)i);
        assert_int_equal(f->e.gtid[i].gno, 9);
        assert_int_equal(!!(f->e.flags[i] & FL_TXN_LAST_PART), i == f->e.n - 1);
    }
    assert_int_equal(f->e.nrows_total, 2000);
    assert_string_equal(f->e.gtid_set, "3e11fa47-71ca-11e1-9e33-c80aa9429562:9");
}

static void test_transaction_payload(void **state)
{
    fixture *f = *state;
    stream inner = {.server_id = 1};
    query(&inner, "test", "BEGIN");
    table_map(&inner, 5, "t1");
    write_rows(&inner, 5, 6, 3);
    xid(&inner, 1);
    size_t cap = ZSTD_compressBound(inner.buf.len);
    uint8_t *z = malloc(cap);
    size_t zlen = ZSTD_compress(z, cap, inner.buf.data, inner.buf.len, 3);
    assert_false(ZSTD_isError(zlen));

    fde(&f->s, "8.0.36", true);
    gtid(&f->s, 12);
    ev_begin(&f->s, 40);
    fl_buf_putc(&f->s.buf, 2); fl_buf_putc(&f->s.buf, 1); fl_buf_putc(&f->s.buf, 0); /* zstd */
    fl_buf_putc(&f->s.buf, 3); fl_buf_putc(&f->s.buf, 3); fl_buf_putc(&f->s.buf, 252);
    put_le(&f->s.buf, inner.buf.len, 2);
    fl_buf_putc(&f->s.buf, 1); fl_buf_putc(&f->s.buf, 3); fl_buf_putc(&f->s.buf, 252);
    put_le(&f->s.buf, zlen, 2);
    fl_buf_putc(&f->s.buf, 0);
    fl_buf_put(&f->s.buf, z, zlen);
    ev_end(&f->s);
    free(z);
    fl_buf_free(&inner.buf);
    start(f, NULL, 0);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 1);
    assert_int_equal(f->e.gtid[0].gno, 12);
    assert_int_equal(f->e.copy.nrows, 3);
    assert_int_equal(col(&f->e.copy, 2, true, 0)->i, 8);
    assert_int_equal(f->e.pos[0], 4 + f->s.buf.len);
}

static void test_rotate_and_unknown(void **state)
{
    fixture *f = *state;
    fde(&f->s, "8.0.36", true);
    ev_begin(&f->s, 4);
    put_le(&f->s.buf, 4, 8);
    fl_buf_puts(&f->s.buf, "bin.000002");
    ev_end(&f->s);
    gtid(&f->s, 1);
    query(&f->s, "d", "DROP TABLE x");
    start(f, NULL, 0);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 1);
    assert_string_equal(f->e.copy.file, "bin.000002");
    assert_int_equal(f->e.copy.changes[0].op, FL_OP_DDL);
    /* an unknown event type without the ignorable flag is refused */
    stream u = {.server_id = 1, .crc = true};
    ev_begin(&u, 99);
    put_le(&u.buf, 0, 4);
    ev_end(&u);
    assert_int_equal(fl_decoder_event(f->d, u.buf.data, u.buf.len, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "unknown event type 99"));
    /* ... and skipped with it */
    u.buf.data[17] = 0x80;
    fl_buf_reset(&u.buf);
    ev_begin(&u, 99);
    put_le(&u.buf, 0, 4);
    u.buf.data[17] = 0x80;
    ev_end(&u);
    assert_int_equal(fl_decoder_event(f->d, u.buf.data, u.buf.len, f->err, sizeof f->err), 0);
    fl_buf_free(&u.buf);
}

static void xa_prepare(stream *s, bool one_phase)
{
    ev_begin(s, 38);
    fl_buf_putc(&s->buf, one_phase ? 1 : 0);
    put_le(&s->buf, 1, 4);
    put_le(&s->buf, 1, 4);
    put_le(&s->buf, 0, 4);
    fl_buf_putc(&s->buf, '1');
    ev_end(s);
}

static void test_xa(void **state)
{
    fixture *f = *state;
    fde(&f->s, "8.0.36", true);
    gtid(&f->s, 1);
    query(&f->s, "test", "XA START X'31',X'',1");
    table_map(&f->s, 5, "t1");
    write_rows(&f->s, 5, 2, 1);
    query(&f->s, "test", "XA END X'31',X'',1");
    xa_prepare(&f->s, false);
    gtid(&f->s, 2);
    query(&f->s, "test", "XA COMMIT X'31',X'',1");
    gtid(&f->s, 3);
    query(&f->s, "test", "XA START X'32',X'',1");
    table_map(&f->s, 5, "t1");
    write_rows(&f->s, 5, 4, 1);
    query(&f->s, "test", "XA END X'32',X'',1");
    xa_prepare(&f->s, true); /* XA COMMIT ... ONE PHASE */
    query(&f->s, "test", "COMMIT"); /* outside a transaction: nothing */
    start(f, NULL, 0);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 3);
    assert_true(f->e.flags[0] & FL_TXN_XA);
    assert_int_equal(f->e.nchanges[0], 1);
    assert_true(f->e.flags[1] & FL_TXN_XA);
    assert_false(f->e.flags[1] & FL_TXN_STATEMENT);
    assert_int_equal(f->e.nchanges[1], 1);
    assert_false(f->e.flags[2] & FL_TXN_XA);
    assert_int_equal(f->e.gtid[2].gno, 3);
    assert_int_equal(f->e.copy.nrows, 1);
    assert_int_equal(col(&f->e.copy, 0, true, 0)->i, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_row_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_never_emitted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ddl_and_statements, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ddl_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mariadb_gtids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter_keeps_empty_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_crc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transaction_payload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_and_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xa, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
