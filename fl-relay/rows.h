/* rows.h — WRITE/UPDATE/DELETE rows events (v1, v2, MariaDB compressed, MySQL
 * PARTIAL_UPDATE_ROWS) into the row changes of a transaction. Internal to the decoder. */
#ifndef FL_ROWS_H
#define FL_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "fl-relay/table_map.h"
#include "common/txn.h"

typedef struct fl_rows_event {
    uint8_t op;      /* fl_op: INSERT, UPDATE or DELETE */
    bool v2;         /* carries extra data in its post-header */
    bool partial;    /* PARTIAL_UPDATE_ROWS: value options between the images */
    bool compressed; /* MariaDB: the row data is zlib-compressed */
    uint64_t table_id;
    uint16_t flags;      /* FL_ROWS_STMT_END, ... */
    const uint8_t *rest; /* from the column count to the end of the body */
    size_t rest_len;
} fl_rows_event;

/* True when type is a rows event; fills op/v2/partial/compressed. */
bool fl_rows_classify(uint8_t type, fl_rows_event *ev);
/* Parses the post-header (table id, flags, v2 extra data) of body[0..len). */
int fl_rows_header(fl_rows_event *ev, const uint8_t *body, size_t len, uint8_t post_header_len, char *err,
                   size_t errlen);
/* Where the rows go: changes of txn on table index table_idx (see fl_txn_table). scratch
 * holds decompressed data. With images set (never for PARTIAL_UPDATE_ROWS, whose after
 * values are made from the before values), each change gets its images in record form
 * (fl_change.images, built in images, a cell's transient bytes in cells) instead of values. */
typedef struct fl_rows_out {
    fl_txn *txn;
    uint32_t table_idx;
    fl_buf *scratch;
    fl_buf *images;
    fl_arena *cells;
} fl_rows_out;

/* Decodes every row of ev into out. What the changes point to is owned by the txn when this
 * returns. */
int fl_rows_decode(const fl_rows_event *ev, const fl_table_map *tm, const fl_rows_out *out, char *err,
                   size_t errlen);

#endif
