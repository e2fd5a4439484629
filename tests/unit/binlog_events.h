/* binlog_events.h — builds binlog event streams byte by byte for the decoder and ingest
 * tests: v4 headers with sizes, positions (as in a file starting at offset 4) and CRC32. */
#ifndef FL_TEST_BINLOG_EVENTS_H
#define FL_TEST_BINLOG_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef struct bl_stream {
    fl_buf buf;   /* events back to back, from offset 4 of a file */
    size_t start; /* start of the event being built */
    bool crc;
    uint32_t server_id;
} bl_stream;

extern const uint8_t TEST_UUID[16];

void bl_put_le(fl_buf *b, uint64_t v, int n);
void bl_set_le(uint8_t *p, uint64_t v, int n);
/* Starts an event of type (header with server_id, size filled by bl_end). */
void bl_begin(bl_stream *s, uint8_t type);
/* Sets size and log_pos, appends the CRC32 when s->crc. */
void bl_end(bl_stream *s);
/* FORMAT_DESCRIPTION of a checksum-aware server (version), CRC32 on or off. */
void bl_fde(bl_stream *s, const char *version, bool crc);
void bl_gtid(bl_stream *s, uint64_t gno); /* MySQL GTID TEST_UUID:gno */
void bl_maria_gtid(bl_stream *s, uint32_t domain, uint64_t seq, uint8_t flags);
void bl_query(bl_stream *s, const char *db, const char *sql);
/* TABLE_MAP of test.TABLE (id INT, name VARCHAR(20)) with column names. */
void bl_table_map(bl_stream *s, uint64_t table_id, const char *table);
/* WRITE_ROWS v2: nrows rows, id = first + i, name "hello" (NULL for odd ids). */
void bl_write_rows(bl_stream *s, uint64_t table_id, int first, int nrows);
/* UPDATE_ROWS v2 of row id: (id, "a") -> (-5, absent). */
void bl_update_row(bl_stream *s, uint64_t table_id, int id);
void bl_xid(bl_stream *s, uint64_t x);
void bl_xa_prepare(bl_stream *s, bool one_phase);

#endif
