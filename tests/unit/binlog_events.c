/* binlog_events.c — builds binlog event streams byte by byte for the decoder and ingest
 * tests: v4 headers with sizes, positions and CRC32, and the events of a transaction. */
#include <stdio.h>
#include <string.h>

#include "common/crc32c.h"
#include "tests/unit/binlog_events.h"

void bl_begin(bl_stream *s, uint8_t type)
{
    s->start = s->buf.len;
    uint8_t h[19] = {0};
    h[0] = 0x00, h[1] = 0x5e, h[2] = 0x6b, h[3] = 0x68; /* 2025-07-07 */
    h[4] = type;
    memcpy(h + 5, &s->server_id, 4);
    fl_buf_put(&s->buf, h, sizeof h);
}

void bl_put_le(fl_buf *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) fl_buf_putc(b, (uint8_t)(v >> (8 * i)));
}

void bl_set_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void bl_end(bl_stream *s)
{
    size_t len = s->buf.len - s->start + (s->crc ? 4 : 0);
    uint8_t *h = s->buf.data + s->start;
    bl_set_le(h + 9, len, 4);
    bl_set_le(h + 13, 4 + s->start + len, 4); /* log_pos: offset after the event in a file */
    if (s->crc) bl_put_le(&s->buf, fl_crc32(0, s->buf.data + s->start, len - 4), 4);
}

void bl_fde(bl_stream *s, const char *version, bool crc)
{
    s->crc = false;
    bl_begin(s, 15);
    bl_put_le(&s->buf, 4, 2);
    char v[50] = {0};
    snprintf(v, sizeof v, "%s", version);
    fl_buf_put(&s->buf, v, 50);
    bl_put_le(&s->buf, 0, 4);
    fl_buf_putc(&s->buf, 19);
    uint8_t post[42] = {0};
    post[2 - 1] = 13; /* QUERY */
    post[4 - 1] = 8;  /* ROTATE */
    post[19 - 1] = 8; /* TABLE_MAP */
    for (int t = 23; t <= 25; t++) post[t - 1] = 8;
    for (int t = 30; t <= 32; t++) post[t - 1] = 10;
    post[33 - 1] = 42;
    post[34 - 1] = 42;
    post[39 - 1] = 10;
    fl_buf_put(&s->buf, post, sizeof post);
    fl_buf_putc(&s->buf, crc ? 1 : 0);
    s->crc = true; /* the FORMAT_DESCRIPTION of a checksum-aware server always has one */
    bl_end(s);
    s->crc = crc;
}

const uint8_t TEST_UUID[16] = {0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1,
                               0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42, 0x95, 0x62};

void bl_gtid(bl_stream *s, uint64_t gno)
{
    bl_begin(s, 33);
    fl_buf_putc(&s->buf, 0);
    fl_buf_put(&s->buf, TEST_UUID, 16);
    bl_put_le(&s->buf, gno, 8);
    fl_buf_putc(&s->buf, 2);
    bl_put_le(&s->buf, 0, 8);
    bl_put_le(&s->buf, 0, 8);
    bl_end(s);
}

void bl_maria_gtid(bl_stream *s, uint32_t domain, uint64_t seq, uint8_t flags)
{
    bl_begin(s, 162);
    bl_put_le(&s->buf, seq, 8);
    bl_put_le(&s->buf, domain, 4);
    fl_buf_putc(&s->buf, flags);
    bl_put_le(&s->buf, 0, 6);
    bl_end(s);
}

void bl_query(bl_stream *s, const char *db, const char *sql)
{
    bl_begin(s, 2);
    bl_put_le(&s->buf, 7, 4); /* thread id */
    bl_put_le(&s->buf, 0, 4); /* exec time */
    fl_buf_putc(&s->buf, (uint8_t)strlen(db));
    bl_put_le(&s->buf, 0, 2); /* error code */
    bl_put_le(&s->buf, 5, 2); /* status vars length */
    fl_buf_putc(&s->buf, 0);  /* Q_FLAGS2 */
    bl_put_le(&s->buf, 0, 4);
    fl_buf_puts(&s->buf, db);
    fl_buf_putc(&s->buf, 0);
    fl_buf_puts(&s->buf, sql);
    bl_end(s);
}

/* TABLE_MAP for test.t1 (id INT, name VARCHAR(20)) with column names. */
void bl_table_map(bl_stream *s, uint64_t table_id, const char *table)
{
    bl_begin(s, 19);
    bl_put_le(&s->buf, table_id, 6);
    bl_put_le(&s->buf, 1, 2);
    fl_buf_putc(&s->buf, 4);
    fl_buf_put(&s->buf, "test", 5);
    fl_buf_putc(&s->buf, (uint8_t)strlen(table));
    fl_buf_put(&s->buf, table, strlen(table) + 1);
    fl_buf_putc(&s->buf, 2);    /* columns */
    fl_buf_putc(&s->buf, 3);    /* LONG */
    fl_buf_putc(&s->buf, 15);   /* VARCHAR */
    fl_buf_putc(&s->buf, 2);    /* metadata length */
    bl_put_le(&s->buf, 20, 2);  /* VARCHAR(20) */
    fl_buf_putc(&s->buf, 0x02); /* nullable: name */
    fl_buf_putc(&s->buf, 1);    /* SIGNEDNESS */
    fl_buf_putc(&s->buf, 1);
    fl_buf_putc(&s->buf, 0x00); /* id signed */
    fl_buf_putc(&s->buf, 4);    /* COLUMN_NAME */
    fl_buf_putc(&s->buf, 8);
    fl_buf_putc(&s->buf, 2);
    fl_buf_put(&s->buf, "id", 2);
    fl_buf_putc(&s->buf, 4);
    fl_buf_put(&s->buf, "name", 4);
    bl_end(s);
}

/* WRITE_ROWS v2 with nrows rows (id = first + i, name = "row" or NULL for odd ids). */
void bl_write_rows(bl_stream *s, uint64_t table_id, int first, int nrows)
{
    bl_begin(s, 30);
    bl_put_le(&s->buf, table_id, 6);
    bl_put_le(&s->buf, 1, 2); /* statement end */
    bl_put_le(&s->buf, 2, 2); /* extra data: just its length */
    fl_buf_putc(&s->buf, 2);
    fl_buf_putc(&s->buf, 0x03);
    for (int i = 0; i < nrows; i++) {
        int id = first + i;
        bool null = id % 2;
        fl_buf_putc(&s->buf, null ? 0x02 : 0x00);
        bl_put_le(&s->buf, (uint32_t)id, 4);
        if (!null) {
            fl_buf_putc(&s->buf, 5);
            fl_buf_put(&s->buf, "hello", 5);
        }
    }
    bl_end(s);
}

void bl_update_row(bl_stream *s, uint64_t table_id, int id)
{
    bl_begin(s, 31);
    bl_put_le(&s->buf, table_id, 6);
    bl_put_le(&s->buf, 1, 2);
    bl_put_le(&s->buf, 2, 2);
    fl_buf_putc(&s->buf, 2);
    fl_buf_putc(&s->buf, 0x03);
    fl_buf_putc(&s->buf, 0x01); /* after image: id only */
    fl_buf_putc(&s->buf, 0x00);
    bl_put_le(&s->buf, (uint32_t)id, 4);
    fl_buf_putc(&s->buf, 1);
    fl_buf_putc(&s->buf, 'a');
    fl_buf_putc(&s->buf, 0x00);
    bl_put_le(&s->buf, (uint32_t)-5, 4);
    bl_end(s);
}

void bl_xid(bl_stream *s, uint64_t x)
{
    bl_begin(s, 16);
    bl_put_le(&s->buf, x, 8);
    bl_end(s);
}

void bl_xa_prepare(bl_stream *s, bool one_phase)
{
    bl_begin(s, 38);
    fl_buf_putc(&s->buf, one_phase ? 1 : 0);
    bl_put_le(&s->buf, 1, 4);
    bl_put_le(&s->buf, 1, 4);
    bl_put_le(&s->buf, 0, 4);
    fl_buf_putc(&s->buf, '1');
    bl_end(s);
}
