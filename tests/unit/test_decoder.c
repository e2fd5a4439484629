/* test_decoder.c — the binlog event decoder on hand-built event streams: a row transaction
 * (FORMAT_DESCRIPTION, GTID, BEGIN, TABLE_MAP, WRITE_ROWS, XID), rollback, DDL, statement
 * DML, MariaDB GTIDs, a zstd TRANSACTION_PAYLOAD, table filters, bad CRC32, truncated
 * events and rows, and splitting a large transaction into parts. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>
#include <zstd.h>

#include "common/crc32c.h"
#include "journal/record.h"
#include "common/buf.h"
#include "fl-relay/decoder.h"
#include "tests/unit/binlog_events.h"

/* ---- a decoder with a recording emit callback ----------------------------------------- */

typedef struct emitted {
    int n;
    fl_gtid gtid[64];
    uint32_t flags[64], part[64], nchanges[64];
    uint64_t pos[64], nrows_total;
    char gtid_set[256];
    fl_txn copy;            /* the last emitted transaction, re-decoded from its record */
    int refuse;             /* returned by the callback */
    int names_asked;        /* calls of counting_names */
    const char *label_name; /* the name counting_names gives the second column */
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
    return e->refuse;
}

typedef struct fixture {
    bl_stream s;
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
    fl_decoder_opts o = {.filter = filter,
                         .part_bytes = part_bytes,
                         .emit = on_emit,
                         .ctx = &f->e,
                         .initial_file = "bin.000001"};
    f->d = fl_decoder_new(&o);
}

/* Feeds every event in the stream; returns the first non-zero result. */
static int feed(fixture *f)
{
    size_t off = 0;
    fl_decoder_set_file(f->d, "bin.000001", 4);
    while (off < f->s.buf.len) {
        size_t len = f->s.buf.data[off + 9] | f->s.buf.data[off + 10] << 8 | (size_t)f->s.buf.data[off + 11] << 16;
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
    bl_fde(&f->s, "8.0.36", true);
    bl_gtid(&f->s, 7);
    bl_query(&f->s, "test", "BEGIN");
    bl_table_map(&f->s, 91, "t1");
    bl_write_rows(&f->s, 91, 4, 2);
    bl_update_row(&f->s, 91, 4);
    bl_xid(&f->s, 1234);
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

/* ROWS_QUERY (MySQL: length byte + text) becomes the annotation of the first row change of
 * its statement, and only of that one; the next statement without one has none. */
static void test_rows_query_annotation(void **state)
{
    fixture *f = *state;
    const char *sql = "INSERT INTO t1 VALUES (4,'hello'),(5,NULL)";
    bl_fde(&f->s, "8.0.36", true);
    bl_gtid(&f->s, 8);
    bl_query(&f->s, "test", "BEGIN");
    bl_begin(&f->s, 29);
    fl_buf_putc(&f->s.buf, (uint8_t)strlen(sql));
    fl_buf_puts(&f->s.buf, sql);
    bl_end(&f->s);
    bl_table_map(&f->s, 91, "t1");
    bl_write_rows(&f->s, 91, 4, 2);
    bl_update_row(&f->s, 91, 4);
    bl_xid(&f->s, 1235);
    start(f, NULL, 0);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 1);
    const fl_txn *t = &f->e.copy;
    assert_int_equal(t->nchanges, 3);
    assert_non_null(t->changes[0].sql);
    assert_int_equal(t->changes[0].sql_len, strlen(sql));
    assert_memory_equal(t->changes[0].sql, sql, strlen(sql));
    assert_null(t->changes[1].sql);
    assert_null(t->changes[2].sql);
    fl_buf json = {0};
    fl_txn_to_json(t, &json);
    assert_non_null(strstr(fl_buf_cstr(&json),
                           "\"table\":\"t1\",\"query\":\"INSERT INTO t1 VALUES (4,'hello'),(5,NULL)\",\"after\""));
    fl_buf_free(&json);
}

static void test_rollback_never_emitted(void **state)
{
    fixture *f = *state;
    bl_fde(&f->s, "8.0.36", true);
    bl_gtid(&f->s, 1);
    bl_query(&f->s, "test", "BEGIN");
    bl_table_map(&f->s, 5, "t1");
    bl_write_rows(&f->s, 5, 1, 1);
    bl_query(&f->s, "test", "SAVEPOINT a");
    bl_query(&f->s, "test", "ROLLBACK TO a");
    bl_query(&f->s, "test", "ROLLBACK");
    bl_gtid(&f->s, 2);
    bl_query(&f->s, "test", "BEGIN");
    bl_table_map(&f->s, 5, "t1");
    bl_write_rows(&f->s, 5, 10, 1);
    bl_query(&f->s, "test", "COMMIT");
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
    bl_fde(&f->s, "8.0.36", true);
    bl_gtid(&f->s, 3);
    bl_query(&f->s, "shop", "CREATE TABLE t1 (id INT PRIMARY KEY, name VARCHAR(20))");
    bl_gtid(&f->s, 4);
    bl_query(&f->s, "shop", "BEGIN");
    bl_query(&f->s, "shop", "INSERT INTO t1 VALUES (1, 'x')");
    bl_xid(&f->s, 9);
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
    bl_fde(&f->s, "8.0.36", false);
    bl_gtid(&f->s, 3);
    bl_query(&f->s, "shop", "ALTER TABLE t1 ADD c INT");
    start(f, NULL, 0);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 1);
    const fl_txn *t = &f->e.copy;
    assert_int_equal(t->nchanges, 1);
    assert_int_equal(t->changes[0].op, FL_OP_DDL);
    assert_string_equal(t->changes[0].db, "shop");
    assert_memory_equal(t->changes[0].sql, "ALTER TABLE t1 ADD c INT", t->changes[0].sql_len);
    assert_int_equal(t->gtid.gno, 3);

    /* no default database: the one Q_UPDATED_DB_NAMES names is used */
    fl_buf_reset(&f->s.buf);
    bl_gtid(&f->s, 4);
    bl_begin(&f->s, 2);
    bl_put_le(&f->s.buf, 7, 4);
    bl_put_le(&f->s.buf, 0, 4);
    fl_buf_putc(&f->s.buf, 0);
    bl_put_le(&f->s.buf, 0, 2);
    bl_put_le(&f->s.buf, 5 + 9 + 2 + 8, 2);
    fl_buf_putc(&f->s.buf, 0); /* Q_FLAGS2 */
    bl_put_le(&f->s.buf, 0, 4);
    fl_buf_putc(&f->s.buf, 1); /* Q_SQL_MODE */
    bl_put_le(&f->s.buf, 0, 8);
    fl_buf_putc(&f->s.buf, 6); /* Q_CATALOG_NZ */
    fl_buf_putc(&f->s.buf, 0);
    fl_buf_putc(&f->s.buf, 12); /* Q_UPDATED_DB_NAMES */
    fl_buf_putc(&f->s.buf, 1);
    fl_buf_put(&f->s.buf, "shop2", 6);
    fl_buf_putc(&f->s.buf, 0); /* empty db name */
    fl_buf_puts(&f->s.buf, "CREATE TABLE shop2.t (a INT)");
    bl_end(&f->s);
    size_t len1 = f->s.buf.data[9];
    assert_int_equal(fl_decoder_event(f->d, f->s.buf.data, len1, f->err, sizeof f->err), 0);
    assert_int_equal(fl_decoder_event(f->d, f->s.buf.data + len1, f->s.buf.len - len1, f->err, sizeof f->err), 0);
    assert_int_equal(f->e.n, 2);
    assert_string_equal(f->e.copy.changes[0].db, "shop2");
}

static void test_mariadb_gtids(void **state)
{
    fixture *f = *state;
    f->s.server_id = 11;
    bl_fde(&f->s, "10.11.6-MariaDB-log", true);
    bl_maria_gtid(&f->s, 0, 41, 0x01); /* standalone: the DDL is the transaction */
    bl_query(&f->s, "app", "CREATE TABLE t1 (id INT, name VARCHAR(20))");
    bl_maria_gtid(&f->s, 0, 42, 0x0c); /* transactional: GTID opens the transaction */
    bl_table_map(&f->s, 3, "t1");
    bl_write_rows(&f->s, 3, 2, 1);
    bl_xid(&f->s, 5);
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
    bl_fde(&f->s, "8.0.36", true);
    bl_gtid(&f->s, 1);
    bl_query(&f->s, "test", "BEGIN");
    bl_table_map(&f->s, 5, "t1");
    bl_write_rows(&f->s, 5, 1, 3);
    bl_table_map(&f->s, 6, "t2");
    bl_write_rows(&f->s, 6, 8, 1);
    bl_xid(&f->s, 1);
    bl_gtid(&f->s, 2);
    bl_query(&f->s, "test", "BEGIN");
    bl_table_map(&f->s, 5, "t1");
    bl_write_rows(&f->s, 5, 1, 3);
    bl_xid(&f->s, 2);
    bl_gtid(&f->s, 3);
    bl_query(&f->s, "test", "INSERT INTO t1 VALUES (1, 'x')"); /* statement, autocommit */
    bl_gtid(&f->s, 4);
    bl_query(&f->s, "test", "BEGIN");
    bl_query(&f->s, "test", "UPDATE `t1` SET name = 'y'");
    bl_query(&f->s, "test", "DELETE FROM test.t2 WHERE id = 8");
    bl_xid(&f->s, 4);
    start(f, &src, 0);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 4);
    assert_int_equal(f->e.nchanges[0], 1); /* only t2's row */
    assert_int_equal(f->e.nchanges[1], 0); /* everything filtered: an empty record */
    assert_int_equal(f->e.gtid[1].gno, 2);
    assert_int_equal(f->e.nchanges[2], 0);
    assert_int_equal(f->e.gtid[2].gno, 3);
    assert_int_equal(f->e.nchanges[3], 1); /* only the statement on t2 */
    assert_memory_equal(f->e.copy.changes[0].sql, "DELETE FROM test.t2", 19);
}

static void test_bad_crc(void **state)
{
    fixture *f = *state;
    bl_fde(&f->s, "8.0.36", true);
    bl_gtid(&f->s, 1);
    bl_query(&f->s, "test", "BEGIN");
    bl_table_map(&f->s, 5, "t1");
    size_t at = f->s.buf.len;
    bl_write_rows(&f->s, 5, 1, 1);
    bl_xid(&f->s, 1);
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

/* Checksums against the CRC a receiving thread computed: the right one passes, one that is
 * not the event's fails as a bad checksum would. */
static void test_given_crc(void **state)
{
    fixture *f = *state;
    bl_fde(&f->s, "8.0.36", true);
    bl_gtid(&f->s, 1);
    bl_query(&f->s, "test", "BEGIN");
    bl_table_map(&f->s, 5, "t1");
    size_t at = f->s.buf.len;
    bl_write_rows(&f->s, 5, 1, 1);
    bl_xid(&f->s, 1);
    start(f, NULL, 0);
    fl_decoder_set_file(f->d, "bin.000001", 4);
    for (size_t off = 0; off < f->s.buf.len;) {
        const uint8_t *ev = f->s.buf.data + off;
        size_t len = ev[9] | ev[10] << 8 | (size_t)ev[11] << 16;
        uint32_t crc = fl_crc32(0, ev, len - 4);
        if (off == at) crc ^= 1; /* not this event's */
        int rc = fl_decoder_event_crc(f->d, ev, len, crc, f->err, sizeof f->err);
        if (off == at) {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(f->err, "bad CRC32"));
        } else {
            assert_int_equal(rc, 0);
        }
        off += len;
    }
    assert_int_equal(f->e.n, 0); /* the transaction went with its rows */
    /* the same stream with every right CRC: one transaction */
    fl_decoder_free(f->d);
    start(f, NULL, 0);
    fl_decoder_set_file(f->d, "bin.000001", 4);
    for (size_t off = 0; off < f->s.buf.len;) {
        const uint8_t *ev = f->s.buf.data + off;
        size_t len = ev[9] | ev[10] << 8 | (size_t)ev[11] << 16;
        assert_int_equal(fl_decoder_event_crc(f->d, ev, len, fl_crc32(0, ev, len - 4), f->err, sizeof f->err), 0);
        off += len;
    }
    assert_int_equal(f->e.n, 1);
}

static void test_truncated(void **state)
{
    fixture *f = *state;
    bl_fde(&f->s, "8.0.36", false);
    bl_gtid(&f->s, 1);
    bl_query(&f->s, "test", "BEGIN");
    bl_table_map(&f->s, 5, "t1");
    start(f, NULL, 0);
    assert_int_equal(feed(f), 0);

    /* a header whose size says more than was given */
    bl_stream r = {.server_id = 1};
    bl_write_rows(&r, 5, 2, 1);
    assert_int_equal(fl_decoder_event(f->d, r.buf.data, r.buf.len - 3, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "header says"));
    /* shorter than a header */
    assert_int_equal(fl_decoder_event(f->d, r.buf.data, 10, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "shorter than the 19-byte header"));
    /* a row cut inside its VARCHAR: size field consistent, data short */
    fl_buf_reset(&r.buf);
    bl_write_rows(&r, 5, 2, 1);
    r.buf.len -= 3;
    bl_set_le(r.buf.data + 9, r.buf.len, 4);
    assert_int_equal(fl_decoder_event(f->d, r.buf.data, r.buf.len, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "test.t1"));
    /* an unknown table id */
    fl_buf_reset(&r.buf);
    bl_write_rows(&r, 77, 2, 1);
    assert_int_equal(fl_decoder_event(f->d, r.buf.data, r.buf.len, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "table id 77"));
    /* an XID of the wrong size */
    fl_buf_reset(&r.buf);
    bl_begin(&r, 16);
    bl_put_le(&r.buf, 1, 4);
    bl_end(&r);
    assert_int_equal(fl_decoder_event(f->d, r.buf.data, r.buf.len, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "XID: body is 4 bytes, expected 8"));
    fl_buf_free(&r.buf);
    assert_int_equal(f->e.n, 0);
}

static void test_parts(void **state)
{
    fixture *f = *state;
    bl_fde(&f->s, "8.0.36", true);
    bl_gtid(&f->s, 9);
    bl_query(&f->s, "test", "BEGIN");
    for (int i = 0; i < 40; i++) {
        bl_table_map(&f->s, 5, "t1");
        bl_write_rows(&f->s, 5, i * 50, 50);
    }
    bl_xid(&f->s, 1);
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

/* TRANSACTION_PAYLOAD with the zstd-compressed events z[0..zlen) declaring usize bytes */
static void payload_event(bl_stream *s, const uint8_t *z, size_t zlen, size_t usize)
{
    bl_begin(s, 40);
    fl_buf_putc(&s->buf, 2);
    fl_buf_putc(&s->buf, 1);
    fl_buf_putc(&s->buf, 0); /* zstd */
    fl_buf_putc(&s->buf, 3);
    fl_buf_putc(&s->buf, 3);
    fl_buf_putc(&s->buf, 252);
    bl_put_le(&s->buf, usize, 2);
    fl_buf_putc(&s->buf, 1);
    fl_buf_putc(&s->buf, 3);
    fl_buf_putc(&s->buf, 252);
    bl_put_le(&s->buf, zlen, 2);
    fl_buf_putc(&s->buf, 0);
    fl_buf_put(&s->buf, z, zlen);
    bl_end(s);
}

static void test_transaction_payload(void **state)
{
    fixture *f = *state;
    bl_stream inner = {.server_id = 1};
    bl_query(&inner, "test", "BEGIN");
    bl_table_map(&inner, 5, "t1");
    bl_write_rows(&inner, 5, 6, 3);
    bl_xid(&inner, 1);
    size_t cap = ZSTD_compressBound(inner.buf.len);
    uint8_t *z = malloc(cap);
    size_t zlen = ZSTD_compress(z, cap, inner.buf.data, inner.buf.len, 3);
    assert_false(ZSTD_isError(zlen));

    bl_fde(&f->s, "8.0.36", true);
    bl_gtid(&f->s, 12);
    payload_event(&f->s, z, zlen, inner.buf.len);
    start(f, NULL, 0);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 1);
    assert_int_equal(f->e.gtid[0].gno, 12);
    assert_int_equal(f->e.copy.nrows, 3);
    assert_int_equal(col(&f->e.copy, 2, true, 0)->i, 8);
    assert_int_equal(f->e.pos[0], 4 + f->s.buf.len);

    /* a header declaring another size, and compressed data cut short, are errors */
    bl_stream bad = {.server_id = 1, .crc = true};
    payload_event(&bad, z, zlen, inner.buf.len - 1);
    assert_int_equal(fl_decoder_event(f->d, bad.buf.data, bad.buf.len, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "TRANSACTION_PAYLOAD: more than the"));
    fl_buf_reset(&bad.buf);
    payload_event(&bad, z, zlen - 4, inner.buf.len);
    assert_int_equal(fl_decoder_event(f->d, bad.buf.data, bad.buf.len, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "TRANSACTION_PAYLOAD: "));
    fl_buf_free(&bad.buf);
    free(z);
    fl_buf_free(&inner.buf);
    assert_int_equal(f->e.n, 1);
}

static void test_rotate_and_unknown(void **state)
{
    fixture *f = *state;
    bl_fde(&f->s, "8.0.36", true);
    bl_begin(&f->s, 4);
    bl_put_le(&f->s.buf, 4, 8);
    fl_buf_puts(&f->s.buf, "bin.000002");
    bl_end(&f->s);
    bl_gtid(&f->s, 1);
    bl_query(&f->s, "d", "DROP TABLE x");
    start(f, NULL, 0);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 1);
    assert_string_equal(f->e.copy.file, "bin.000002");
    assert_int_equal(f->e.copy.changes[0].op, FL_OP_DDL);
    /* an unknown event type without the ignorable flag is refused */
    bl_stream u = {.server_id = 1, .crc = true};
    bl_begin(&u, 99);
    bl_put_le(&u.buf, 0, 4);
    bl_end(&u);
    assert_int_equal(fl_decoder_event(f->d, u.buf.data, u.buf.len, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "unknown event type 99"));
    /* ... and skipped with it */
    u.buf.data[17] = 0x80;
    fl_buf_reset(&u.buf);
    bl_begin(&u, 99);
    bl_put_le(&u.buf, 0, 4);
    u.buf.data[17] = 0x80;
    bl_end(&u);
    assert_int_equal(fl_decoder_event(f->d, u.buf.data, u.buf.len, f->err, sizeof f->err), 0);
    fl_buf_free(&u.buf);
}

static void test_xa(void **state)
{
    fixture *f = *state;
    bl_fde(&f->s, "8.0.36", true);
    bl_gtid(&f->s, 1);
    bl_query(&f->s, "test", "XA START X'31',X'',1");
    bl_table_map(&f->s, 5, "t1");
    bl_write_rows(&f->s, 5, 2, 1);
    bl_query(&f->s, "test", "XA END X'31',X'',1");
    bl_xa_prepare(&f->s, false);
    bl_gtid(&f->s, 2);
    bl_query(&f->s, "test", "XA COMMIT X'31',X'',1");
    bl_gtid(&f->s, 3);
    bl_query(&f->s, "test", "XA START X'32',X'',1");
    bl_table_map(&f->s, 5, "t1");
    bl_write_rows(&f->s, 5, 4, 1);
    bl_query(&f->s, "test", "XA END X'32',X'',1");
    bl_xa_prepare(&f->s, true);        /* XA COMMIT ... ONE PHASE */
    bl_query(&f->s, "test", "COMMIT"); /* outside a transaction: nothing */
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

/* TABLE_MAP test.j (id INT, doc JSON) and a PARTIAL_UPDATE_ROWS whose after value of doc is
 * the diff "replace $.a with 2"; with before_doc the before image carries {"a": 1}. */
static void partial_update(bl_stream *s, bool before_doc)
{
    bl_begin(s, 19);
    bl_put_le(&s->buf, 8, 6);
    bl_put_le(&s->buf, 1, 2);
    fl_buf_putc(&s->buf, 4);
    fl_buf_put(&s->buf, "test", 5);
    fl_buf_putc(&s->buf, 1);
    fl_buf_put(&s->buf, "j", 2);
    fl_buf_putc(&s->buf, 2);
    fl_buf_putc(&s->buf, 3);
    fl_buf_putc(&s->buf, 245);
    fl_buf_putc(&s->buf, 1);
    fl_buf_putc(&s->buf, 4); /* JSON pack length */
    fl_buf_putc(&s->buf, 0x02);
    bl_end(s);

    static const uint8_t doc[] = {0x00, 1, 0, 12, 0, 11, 0, 1, 0, 0x05, 1, 0, 'a'}; /* {"a": 1} */
    static const uint8_t diff[] = {0x00, 3, '$', '.', 'a', 3, 0x05, 2, 0};
    bl_begin(s, 39);
    bl_put_le(&s->buf, 8, 6);
    bl_put_le(&s->buf, 1, 2);
    bl_put_le(&s->buf, 2, 2);
    fl_buf_putc(&s->buf, 2);
    fl_buf_putc(&s->buf, before_doc ? 0x03 : 0x01);
    fl_buf_putc(&s->buf, 0x03);
    fl_buf_putc(&s->buf, 0x00);
    bl_put_le(&s->buf, 7, 4);
    if (before_doc) {
        bl_put_le(&s->buf, sizeof doc, 4);
        fl_buf_put(&s->buf, doc, sizeof doc);
    }
    fl_buf_putc(&s->buf, 1);    /* value options: PARTIAL_JSON_UPDATES */
    fl_buf_putc(&s->buf, 0x01); /* doc is a diff */
    fl_buf_putc(&s->buf, 0x00);
    bl_put_le(&s->buf, 7, 4);
    bl_put_le(&s->buf, sizeof diff, 4);
    fl_buf_put(&s->buf, diff, sizeof diff);
    bl_end(s);
}

static void test_partial_json_update(void **state)
{
    fixture *f = *state;
    bl_fde(&f->s, "8.0.36", true);
    bl_gtid(&f->s, 1);
    bl_query(&f->s, "test", "BEGIN");
    partial_update(&f->s, true);
    bl_xid(&f->s, 1);
    size_t first_end = f->s.buf.len;
    bl_gtid(&f->s, 2);
    bl_query(&f->s, "test", "BEGIN");
    partial_update(&f->s, false);
    bl_xid(&f->s, 2);
    start(f, NULL, 0);
    size_t all = f->s.buf.len;
    f->s.buf.len = first_end; /* the first transaction alone */
    assert_int_equal(feed(f), 0);
    f->s.buf.len = all;
    assert_int_equal(f->e.n, 1);
    const fl_txn *t = &f->e.copy;
    assert_int_equal(t->changes[0].op, FL_OP_UPDATE);
    const fl_value *b = col(t, 0, false, 1), *a = col(t, 0, true, 1);
    assert_int_equal(b->type, FL_VAL_JSON);
    assert_int_equal(a->type, FL_VAL_JSON);
    assert_int_equal(b->s.len, strlen("{\"a\": 1}"));
    assert_memory_equal(b->s.ptr, "{\"a\": 1}", b->s.len);
    assert_int_equal(a->s.len, strlen("{\"a\": 2}"));
    assert_memory_equal(a->s.ptr, "{\"a\": 2}", a->s.len);
    /* without the document in the before image the diff cannot be applied: the new value is
     * journaled as unknown (through the record codec) and decoding goes on */
    fl_decoder_free(f->d);
    f->e.n = 0;
    start(f, NULL, 0);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 2);
    t = &f->e.copy;
    assert_int_equal(col(t, 0, false, 1)->type, FL_VAL_ABSENT);
    assert_int_equal(col(t, 0, true, 1)->type, FL_VAL_UNKNOWN);
    assert_int_equal(col(t, 0, true, 0)->type, FL_VAL_INT);
}

static void test_emit_refusal(void **state)
{
    fixture *f = *state;
    bl_fde(&f->s, "8.0.36", true);
    bl_gtid(&f->s, 1);
    bl_query(&f->s, "test", "DROP TABLE t9");
    start(f, NULL, 0);
    f->e.refuse = 7;
    assert_int_equal(feed(f), 7);
    assert_int_equal(f->e.n, 1);
    assert_non_null(strstr(f->err, "the transaction was not accepted"));
}

static int names_cb(void *ctx, const char *db, const char *table, uint32_t ncols, const char **names)
{
    (void)ctx;
    if (strcmp(db, "test") != 0 || strcmp(table, "named") != 0 || ncols != 2) return -1;
    names[0] = "id";
    names[1] = "label";
    return 0;
}

/* TABLE_MAP test.TABLE (INT, VARCHAR(20)) without optional metadata (MINIMAL) */
static void minimal_table_map(bl_stream *s, uint64_t id, const char *table)
{
    bl_begin(s, 19);
    bl_put_le(&s->buf, id, 6);
    bl_put_le(&s->buf, 1, 2);
    fl_buf_putc(&s->buf, 4);
    fl_buf_put(&s->buf, "test", 5);
    fl_buf_putc(&s->buf, (uint8_t)strlen(table));
    fl_buf_put(&s->buf, table, strlen(table) + 1);
    fl_buf_putc(&s->buf, 2);
    fl_buf_putc(&s->buf, 3);
    fl_buf_putc(&s->buf, 15);
    fl_buf_putc(&s->buf, 2);
    bl_put_le(&s->buf, 20, 2);
    fl_buf_putc(&s->buf, 0x02);
    bl_end(s);
}

static void test_names_callback(void **state)
{
    fixture *f = *state;
    bl_fde(&f->s, "8.0.36", true);
    bl_gtid(&f->s, 1);
    bl_query(&f->s, "test", "BEGIN");
    minimal_table_map(&f->s, 5, "named");
    bl_write_rows(&f->s, 5, 2, 1);
    minimal_table_map(&f->s, 6, "other");
    bl_write_rows(&f->s, 6, 2, 1);
    bl_xid(&f->s, 1);
    fl_decoder_opts o = {.emit = on_emit, .names = names_cb, .ctx = &f->e};
    f->d = fl_decoder_new(&o);
    assert_int_equal(feed(f), 0);
    const fl_txn *t = &f->e.copy;
    assert_int_equal(t->ntables, 2);
    assert_string_equal(t->tables[0].cols[0], "id");
    assert_string_equal(t->tables[0].cols[1], "label");
    assert_null(t->tables[1].cols[0]); /* unknown: rendered "@1" */
    assert_null(t->tables[1].cols[1]);
}

/* Names as a schema lookup gives them: asked for, counted, renamed by a test's "DDL". */
static int counting_names(void *ctx, const char *db, const char *table, uint32_t ncols, const char **names)
{
    emitted *e = ctx;
    (void)db;
    e->names_asked++;
    if (strcmp(table, "named") != 0 || ncols != 2) return -1;
    names[0] = "id";
    names[1] = e->label_name;
    return 0;
}

/* Each transaction maps its table again with the same bytes: it is parsed (and its names
 * asked for) once, again after a DDL, and every time while the names cannot be had. */
static void test_table_map_again(void **state)
{
    fixture *f = *state;
    bl_fde(&f->s, "8.0.36", true);
    for (int i = 1; i <= 2; i++) {
        bl_gtid(&f->s, (uint64_t)i);
        bl_query(&f->s, "test", "BEGIN");
        minimal_table_map(&f->s, 5, "named");
        bl_write_rows(&f->s, 5, 2, 1);
        minimal_table_map(&f->s, 6, "other");
        bl_write_rows(&f->s, 6, 2, 1);
        bl_xid(&f->s, (uint64_t)i);
    }
    fl_decoder_opts o = {.emit = on_emit, .names = counting_names, .ctx = &f->e};
    f->d = fl_decoder_new(&o);
    f->e.label_name = "label";
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 2);
    assert_int_equal(f->e.names_asked, 3); /* "named" once, "other" (no names) twice */
    assert_string_equal(f->e.copy.tables[0].cols[1], "label");

    /* a DDL renames the column (the names cache forgets its lists): asked again */
    fl_buf_reset(&f->s.buf);
    bl_gtid(&f->s, 3);
    bl_query(&f->s, "test", "ALTER TABLE named RENAME COLUMN label TO title");
    bl_gtid(&f->s, 4);
    bl_query(&f->s, "test", "BEGIN");
    minimal_table_map(&f->s, 5, "named");
    bl_write_rows(&f->s, 5, 2, 1);
    bl_xid(&f->s, 4);
    f->e.label_name = "title";
    f->e.names_asked = 0;
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 4);
    assert_int_equal(f->e.names_asked, 1);
    assert_string_equal(f->e.copy.tables[0].cols[1], "title");
}

static int counting_json(void *ctx, const char *db, const char *table, uint32_t ncols, bool *is_json)
{
    (void)db;
    (void)table;
    emitted *e = ctx;
    e->names_asked++;
    for (uint32_t i = 0; i < ncols; i++) is_json[i] = i == 1;
    return 0;
}

/* TABLE_MAP test.TABLE (INT, LONGTEXT) without optional metadata */
static void blob_table_map(bl_stream *s, uint64_t id, const char *table)
{
    bl_begin(s, 19);
    bl_put_le(&s->buf, id, 6);
    bl_put_le(&s->buf, 1, 2);
    fl_buf_putc(&s->buf, 4);
    fl_buf_put(&s->buf, "test", 5);
    fl_buf_putc(&s->buf, (uint8_t)strlen(table));
    fl_buf_put(&s->buf, table, strlen(table) + 1);
    fl_buf_putc(&s->buf, 2);
    fl_buf_putc(&s->buf, 3);
    fl_buf_putc(&s->buf, 252);
    fl_buf_putc(&s->buf, 1);
    fl_buf_putc(&s->buf, 4); /* pack length 4: LONGTEXT */
    fl_buf_putc(&s->buf, 0x02);
    bl_end(s);
}

/* MariaDB: JSON columns are asked for only for a table that has text or blob columns (a
 * JSON column is a LONGTEXT); the answer is used. */
static void test_json_columns_asked_for_blobs(void **state)
{
    fixture *f = *state;
    bl_fde(&f->s, "10.11.5-MariaDB-log", true);
    bl_maria_gtid(&f->s, 0, 1, 0);
    minimal_table_map(&f->s, 5, "plain");
    bl_write_rows(&f->s, 5, 2, 1);
    bl_xid(&f->s, 1);
    fl_decoder_opts o = {.emit = on_emit, .json = counting_json, .ctx = &f->e};
    f->d = fl_decoder_new(&o);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 1);
    assert_int_equal(f->e.names_asked, 0);

    fl_buf_reset(&f->s.buf);
    bl_maria_gtid(&f->s, 0, 2, 0);
    blob_table_map(&f->s, 6, "docs");
    bl_begin(&f->s, 30); /* WRITE_ROWS v2: (1, '{"a":1}') */
    bl_put_le(&f->s.buf, 6, 6);
    bl_put_le(&f->s.buf, 1, 2);
    bl_put_le(&f->s.buf, 2, 2);
    fl_buf_putc(&f->s.buf, 2);
    fl_buf_putc(&f->s.buf, 0x03);
    fl_buf_putc(&f->s.buf, 0x00);
    bl_put_le(&f->s.buf, 1, 4);
    bl_put_le(&f->s.buf, 7, 4);
    fl_buf_put(&f->s.buf, "{\"a\":1}", 7);
    bl_end(&f->s);
    bl_xid(&f->s, 2);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 2);
    assert_int_equal(f->e.names_asked, 1);
    assert_int_equal(col(&f->e.copy, 0, true, 1)->type, FL_VAL_JSON);
}

static void test_create_table_select(void **state)
{
    fixture *f = *state;
    bl_fde(&f->s, "8.0.36", true);
    /* MySQL 8.0.21+: the DDL, its rows, then the XID, all one transaction */
    bl_gtid(&f->s, 5);
    bl_query(&f->s, "test", "CREATE TABLE t1 (id INT, name VARCHAR(20)) START TRANSACTION");
    bl_table_map(&f->s, 5, "t1");
    bl_write_rows(&f->s, 5, 2, 2);
    bl_xid(&f->s, 1);
    /* MariaDB-style: a GTID that opens the transaction, the DDL inside it, COMMIT */
    bl_gtid(&f->s, 6);
    bl_query(&f->s, "test", "BEGIN");
    bl_query(&f->s, "test", "CREATE TEMPORARY TABLE tmp (a INT)");
    bl_table_map(&f->s, 5, "t1");
    bl_write_rows(&f->s, 5, 8, 1);
    bl_query(&f->s, "test", "COMMIT");
    start(f, NULL, 0);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 2);
    assert_int_equal(f->e.gtid[0].gno, 5);
    assert_int_equal(f->e.nchanges[0], 3);
    assert_false(f->e.flags[0] & FL_TXN_STATEMENT);
    assert_int_equal(f->e.nchanges[1], 2);
    assert_false(f->e.flags[1] & FL_TXN_STATEMENT);
    const fl_txn *t = &f->e.copy;
    assert_int_equal(t->changes[0].op, FL_OP_DDL);
    assert_int_equal(t->changes[1].op, FL_OP_INSERT);
    assert_int_equal(col(t, 1, true, 0)->i, 8);
}

static void test_unfinished_transaction_dropped(void **state)
{
    fixture *f = *state;
    bl_fde(&f->s, "5.5.62-log", false);
    bl_query(&f->s, "test", "BEGIN");
    bl_table_map(&f->s, 5, "t1");
    bl_write_rows(&f->s, 5, 1, 1); /* the source stopped here */
    bl_query(&f->s, "test", "BEGIN");
    bl_table_map(&f->s, 5, "t1");
    bl_write_rows(&f->s, 5, 6, 1);
    bl_xid(&f->s, 2);
    start(f, NULL, 0);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 1);
    assert_int_equal(f->e.copy.nchanges, 1);
    assert_int_equal(col(&f->e.copy, 0, true, 0)->i, 6);
    assert_int_equal(f->e.gtid[0].flavor, FL_FLAVOR_NONE);
}

/* MariaDB's compression: 0x80 | bytes of the length, the length big-endian, zlib data */
static void maria_compress(fl_buf *out, const uint8_t *data, size_t len)
{
    uLongf zlen = compressBound(len);
    uint8_t *z = malloc(zlen);
    assert_int_equal(compress(z, &zlen, data, len), Z_OK);
    fl_buf_putc(out, 0x80 | 2);
    fl_buf_putc(out, (uint8_t)(len >> 8));
    fl_buf_putc(out, (uint8_t)len);
    fl_buf_put(out, z, zlen);
    free(z);
}

static void test_mariadb_compressed(void **state)
{
    fixture *f = *state;
    bl_fde(&f->s, "10.11.6-MariaDB-log", true);
    bl_maria_gtid(&f->s, 0, 7, 0x01);
    const char *ddl = "CREATE TABLE t1 (id INT, name VARCHAR(20)) /* padding padding padding */";
    bl_begin(&f->s, 165); /* QUERY_COMPRESSED */
    bl_put_le(&f->s.buf, 7, 4);
    bl_put_le(&f->s.buf, 0, 4);
    fl_buf_putc(&f->s.buf, 4);
    bl_put_le(&f->s.buf, 0, 2);
    bl_put_le(&f->s.buf, 0, 2);
    fl_buf_put(&f->s.buf, "test", 5);
    maria_compress(&f->s.buf, (const uint8_t *)ddl, strlen(ddl));
    bl_end(&f->s);

    bl_maria_gtid(&f->s, 0, 8, 0x0c);
    bl_table_map(&f->s, 3, "t1");
    bl_stream rows = {.server_id = 1};
    for (int id = 10; id < 13; id++) {
        fl_buf_putc(&rows.buf, 0x00);
        bl_put_le(&rows.buf, (uint64_t)id, 4);
        fl_buf_putc(&rows.buf, 5);
        fl_buf_put(&rows.buf, "hello", 5);
    }
    bl_begin(&f->s, 166); /* WRITE_ROWS_COMPRESSED_V1 */
    bl_put_le(&f->s.buf, 3, 6);
    bl_put_le(&f->s.buf, 1, 2);
    fl_buf_putc(&f->s.buf, 2);
    fl_buf_putc(&f->s.buf, 0x03);
    maria_compress(&f->s.buf, rows.buf.data, rows.buf.len);
    bl_end(&f->s);
    bl_xid(&f->s, 3);
    fl_buf_free(&rows.buf);
    start(f, NULL, 0);
    assert_int_equal(feed(f), 0);
    assert_int_equal(f->e.n, 2);
    assert_int_equal(f->e.nchanges[0], 1);
    const fl_txn *t = &f->e.copy;
    assert_int_equal(t->nrows, 3);
    assert_int_equal(col(t, 2, true, 0)->i, 12);
    assert_memory_equal(col(t, 2, true, 1)->s.ptr, "hello", 5);

    /* a corrupt compressed block is an error naming the table */
    fl_buf_reset(&f->s.buf);
    bl_maria_gtid(&f->s, 0, 9, 0x0c);
    bl_table_map(&f->s, 3, "t1");
    bl_begin(&f->s, 166);
    bl_put_le(&f->s.buf, 3, 6);
    bl_put_le(&f->s.buf, 1, 2);
    fl_buf_putc(&f->s.buf, 2);
    fl_buf_putc(&f->s.buf, 0x03);
    fl_buf_putc(&f->s.buf, 0x81);
    fl_buf_putc(&f->s.buf, 40);
    fl_buf_put(&f->s.buf, "not zlib at all", 15);
    bl_end(&f->s);
    size_t off = 0;
    int rc = 0;
    while (off < f->s.buf.len && rc == 0) {
        size_t len = f->s.buf.data[off + 9];
        rc = fl_decoder_event(f->d, f->s.buf.data + off, len, f->err, sizeof f->err);
        off += len;
    }
    assert_int_equal(rc, -1);
    assert_non_null(strstr(f->err, "test.t1: compressed rows do not inflate"));
}

/* ---- rows in record form ------------------------------------------------------------- */

/* Every record a decoder emits, appended. */
static int collect_record(void *ctx, fl_txn *t, const fl_decoder_pos *p)
{
    (void)p;
    fl_record_encode(t, ctx);
    return 0;
}

/* The records of a binlog file (events walked by their sizes up to the first error), with
 * rows as values or in record form; parts large enough that neither splits. */
static void records_of(const uint8_t *file, size_t size, bool images, fl_buf *out, char *err, size_t errlen)
{
    fl_decoder_opts o = {.emit = collect_record,
                         .ctx = out,
                         .part_bytes = (size_t)1 << 30,
                         .record_images = images};
    fl_decoder *d = fl_decoder_new(&o);
    err[0] = 0;
    for (size_t off = 4; size - off >= 19;) {
        size_t len = (size_t)file[off + 9] | (size_t)file[off + 10] << 8 | (size_t)file[off + 11] << 16 |
                     (size_t)file[off + 12] << 24;
        if (len < 19 || len > size - off) break;
        fl_decoder_set_file(d, "fixture.000001", off);
        if (fl_decoder_event(d, file + off, len, err, errlen) != 0) break;
        off += len;
    }
    fl_decoder_free(d);
}

/* Rows decoded straight into record form give the very bytes of rows decoded into values and
 * then encoded, over every real binlog of the fixtures (every column type the servers wrote),
 * and fail the same way on the broken ones. */
static void test_record_images_as_values(void **state)
{
    (void)state;
    const char *dir = "tests/fixtures/mysql-binlogs";
    DIR *dh = opendir(dir);
    assert_non_null(dh);
    int files = 0;
    size_t rows_bytes = 0;
    struct dirent *de;
    while ((de = readdir(dh))) {
        if (de->d_name[0] == '.' || strstr(de->d_name, ".md")) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        fl_buf file = {0};
        uint8_t chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) fl_buf_put(&file, chunk, n);
        fclose(fp);
        if (file.len < 4 || memcmp(file.data,
                                   "\xfe"
                                   "bin",
                                   4) != 0) {
            fl_buf_free(&file);
            continue;
        }
        fl_buf values = {0}, images = {0};
        char verr[512], ierr[512];
        records_of(file.data, file.len, false, &values, verr, sizeof verr);
        records_of(file.data, file.len, true, &images, ierr, sizeof ierr);
        if (values.len != images.len || (values.len && memcmp(values.data, images.data, values.len) != 0))
            fail_msg("%s: records differ (%zu bytes from values, %zu in record form)", de->d_name, values.len,
                     images.len);
        assert_string_equal(verr, ierr);
        rows_bytes += values.len;
        files++;
        fl_buf_free(&values);
        fl_buf_free(&images);
        fl_buf_free(&file);
    }
    closedir(dh);
    assert_true(files >= 30);
    assert_true(rows_bytes > 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_row_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_query_annotation, setup, teardown),
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
        cmocka_unit_test_setup_teardown(test_emit_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_map_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_given_crc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_columns_asked_for_blobs, setup, teardown),
        cmocka_unit_test(test_record_images_as_values),
        cmocka_unit_test_setup_teardown(test_create_table_select, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unfinished_transaction_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mariadb_compressed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_json_update, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
