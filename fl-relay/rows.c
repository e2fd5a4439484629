/* rows.c — rows events to row changes.
 *
 * Body after the post-header: column count (packed integer), the columns-present bitmap of
 * the before image (or the only image), for updates a second bitmap for the after image,
 * then rows until the end. A row image is a NULL bitmap over the present columns followed
 * by each present, non-NULL column's cell (decoded by fl_column_decode). Updates carry a
 * before and an after image per row; PARTIAL_UPDATE_ROWS has "value options" between them
 * (with a bit per JSON column of the table saying whether its after value is a diff, which
 * json_diff.c applies to the before value; when the before image lacks the document, the new
 * value is FL_VAL_UNKNOWN).
 * MariaDB's compressed rows events zlib-compress everything after the bitmaps behind a
 * one-byte header (0x80 | length-of-length) and the uncompressed size, big-endian.
 * For a caller that only journals the rows, each row goes straight into the journal's
 * record form instead (fl_column_encode, cell by cell): no value array, no copy of a cell
 * that is already UTF-8. */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "fl-relay/coltypes.h"
#include "fl-relay/events.h"
#include "fl-relay/json_diff.h"
#include "fl-relay/rows.h"
#include "journal/record.h"

#define FL_TYPE_JSON 245
#define EXPANSION_RATIO 256
#define ZLIB_MAX_RATIO 1032 /* deflate's best case */
#define MAX_EXPANSION_FLOOR ((size_t)256 << 20)

bool fl_rows_classify(uint8_t type, fl_rows_event *ev)
{
    memset(ev, 0, sizeof *ev);
    switch (type) {
    case FL_EV_PRE_GA_WRITE_ROWS:
    case FL_EV_WRITE_ROWS_V1: ev->op = FL_OP_INSERT; break;
    case FL_EV_PRE_GA_UPDATE_ROWS:
    case FL_EV_UPDATE_ROWS_V1: ev->op = FL_OP_UPDATE; break;
    case FL_EV_PRE_GA_DELETE_ROWS:
    case FL_EV_DELETE_ROWS_V1: ev->op = FL_OP_DELETE; break;
    case FL_EV_WRITE_ROWS:
        ev->op = FL_OP_INSERT;
        ev->v2 = true;
        break;
    case FL_EV_UPDATE_ROWS:
        ev->op = FL_OP_UPDATE;
        ev->v2 = true;
        break;
    case FL_EV_DELETE_ROWS:
        ev->op = FL_OP_DELETE;
        ev->v2 = true;
        break;
    case FL_EV_PARTIAL_UPDATE_ROWS:
        ev->op = FL_OP_UPDATE;
        ev->v2 = true;
        ev->partial = true;
        break;
    case FL_EV_MARIA_WRITE_ROWS_COMPRESSED_V1:
        ev->op = FL_OP_INSERT;
        ev->compressed = true;
        break;
    case FL_EV_MARIA_UPDATE_ROWS_COMPRESSED_V1:
        ev->op = FL_OP_UPDATE;
        ev->compressed = true;
        break;
    case FL_EV_MARIA_DELETE_ROWS_COMPRESSED_V1:
        ev->op = FL_OP_DELETE;
        ev->compressed = true;
        break;
    case FL_EV_MARIA_WRITE_ROWS_COMPRESSED:
        ev->op = FL_OP_INSERT;
        ev->v2 = true;
        ev->compressed = true;
        break;
    case FL_EV_MARIA_UPDATE_ROWS_COMPRESSED:
        ev->op = FL_OP_UPDATE;
        ev->v2 = true;
        ev->compressed = true;
        break;
    case FL_EV_MARIA_DELETE_ROWS_COMPRESSED:
        ev->op = FL_OP_DELETE;
        ev->v2 = true;
        ev->compressed = true;
        break;
    default: return false;
    }
    return true;
}

int fl_rows_header(fl_rows_event *ev, const uint8_t *body, size_t len, uint8_t post_header_len, char *err,
                   size_t errlen)
{
    size_t id_len = post_header_len == 6 ? 4 : 6;
    size_t need = id_len + 2 + (ev->v2 ? 2 : 0);
    if (post_header_len < need || len < post_header_len) {
        snprintf(err, errlen, "rows event: truncated post-header (%zu bytes)", len);
        return -1;
    }
    ev->table_id = fl_le(body, (int)id_len);
    ev->flags = (uint16_t)fl_le(body + id_len, 2);
    size_t off = post_header_len;
    if (ev->v2) {
        size_t extra = (size_t)fl_le(body + id_len + 2, 2);
        if (extra < 2 || len - off < extra - 2) {
            snprintf(err, errlen, "rows event: bad extra data length %zu", extra);
            return -1;
        }
        off += extra - 2;
    }
    ev->rest = body + off;
    ev->rest_len = len - off;
    return 0;
}

static bool bit(const uint8_t *bm, uint64_t i) { return (bm[i / 8] >> (i % 8)) & 1; }

static uint64_t popcount_bits(const uint8_t *bm, uint64_t n)
{
    uint64_t c = 0;
    for (uint64_t i = 0; i < n; i++) c += bit(bm, i);
    return c;
}

static int partial_json(const fl_table_map *tm, uint32_t i, const fl_value *before, fl_reader *r, fl_txn *txn,
                        fl_value *out, char *err, size_t errlen);

/* Decodes one image into a new value array. lo/hi bound the buffer the cells live in, so
 * values pointing into it are copied into the transaction. For the after image of a
 * PARTIAL_UPDATE_ROWS, partial_bits marks the JSON columns given as diffs against before. */
static int decode_image(const fl_table_map *tm, uint64_t width, const uint8_t *present, fl_reader *r, fl_txn *txn,
                        fl_value **out, const uint8_t *lo, const uint8_t *hi, const uint8_t *partial_bits,
                        const fl_value *before, char *err, size_t errlen)
{
    uint64_t npresent = popcount_bits(present, width);
    const uint8_t *nulls;
    if (!fl_rd_bytes(r, (size_t)((npresent + 7) / 8), &nulls)) {
        snprintf(err, errlen, "%s.%s: truncated row (NULL bitmap)", tm->db, tm->table);
        return -1;
    }
    fl_value *vals = fl_txn_values(txn, tm->ncols);
    uint64_t k = 0;
    for (uint64_t i = 0; i < width; i++) {
        if (!bit(present, i)) continue;
        if (bit(nulls, k++)) {
            vals[i].type = FL_VAL_NULL;
            continue;
        }
        if (partial_bits && tm->cols[i].type == FL_TYPE_JSON) {
            uint32_t j = 0;
            for (uint64_t c = 0; c < i; c++) j += tm->cols[c].type == FL_TYPE_JSON;
            if (bit(partial_bits, j)) {
                if (partial_json(tm, (uint32_t)i, before, r, txn, &vals[i], err, errlen) != 0) return -1;
                continue;
            }
        }
        size_t used = 0;
        char cerr[200];
        if (fl_column_decode(&tm->cols[i], r->p, fl_rd_left(r), &txn->arena, &vals[i], &used, cerr, sizeof cerr) !=
            0) {
            snprintf(err, errlen, "%s.%s: %s", tm->db, tm->table, cerr);
            return -1;
        }
        if (used > fl_rd_left(r)) {
            snprintf(err, errlen, "%s.%s: column %llu: cell overruns the row", tm->db, tm->table,
                     (unsigned long long)i + 1);
            return -1;
        }
        r->p += used;
        if (fl_value_has_bytes((fl_value_type)vals[i].type) && vals[i].s.ptr &&
            (const uint8_t *)vals[i].s.ptr >= lo && (const uint8_t *)vals[i].s.ptr <= hi)
            fl_txn_own_value(txn, &vals[i]);
    }
    *out = vals;
    return 0;
}

/* Decodes one image straight into record form, appended to out (fl_column_encode; a
 * cell's converted bytes go to cells). */
static int encode_image(const fl_table_map *tm, uint64_t width, const uint8_t *present, uint64_t npresent,
                        fl_reader *r, fl_arena *cells, fl_buf *out, char *err, size_t errlen)
{
    const uint8_t *nulls;
    if (!fl_rd_bytes(r, (size_t)((npresent + 7) / 8), &nulls)) {
        snprintf(err, errlen, "%s.%s: truncated row (NULL bitmap)", tm->db, tm->table);
        return -1;
    }
    uint64_t k = 0;
    for (uint64_t i = 0; i < tm->ncols; i++) {
        if (i >= width || !bit(present, i)) {
            fl_record_put_value(out, &(fl_value){.type = FL_VAL_ABSENT});
            continue;
        }
        if (bit(nulls, k++)) {
            fl_record_put_value(out, &(fl_value){.type = FL_VAL_NULL});
            continue;
        }
        size_t used = 0;
        char cerr[200];
        if (fl_column_encode(&tm->cols[i], r->p, fl_rd_left(r), cells, out, &used, cerr, sizeof cerr) != 0) {
            snprintf(err, errlen, "%s.%s: %s", tm->db, tm->table, cerr);
            return -1;
        }
        if (used > fl_rd_left(r)) {
            snprintf(err, errlen, "%s.%s: column %llu: cell overruns the row", tm->db, tm->table,
                     (unsigned long long)i + 1);
            return -1;
        }
        r->p += used;
    }
    return 0;
}

/* PARTIAL_UPDATE_ROWS: the value options between the images. With PARTIAL_JSON_UPDATES
 * a bitmap follows with one bit per JSON column of the table: set when that column's after
 * value is a diff against its before value. */
static int read_value_options(const fl_table_map *tm, fl_reader *r, const uint8_t **partial_bits, char *err,
                              size_t errlen)
{
    uint64_t opts;
    *partial_bits = NULL;
    if (!fl_rd_lenenc(r, &opts)) {
        snprintf(err, errlen, "%s.%s: truncated row (value options)", tm->db, tm->table);
        return -1;
    }
    if (!(opts & 1)) return 0;
    uint32_t njson = 0;
    for (uint32_t i = 0; i < tm->ncols; i++) njson += tm->cols[i].type == FL_TYPE_JSON;
    if (!fl_rd_bytes(r, (njson + 7) / 8, partial_bits)) {
        snprintf(err, errlen, "%s.%s: truncated row (partial JSON bitmap)", tm->db, tm->table);
        return -1;
    }
    return 0;
}

/* A JSON column whose after value is a diff: its length (the column's pack length), then
 * the diff vector, applied to the before value. */
static int partial_json(const fl_table_map *tm, uint32_t i, const fl_value *before, fl_reader *r, fl_txn *txn,
                        fl_value *out, char *err, size_t errlen)
{
    char name[80];
    if (tm->cols[i].name)
        snprintf(name, sizeof name, "%s", tm->cols[i].name);
    else
        snprintf(name, sizeof name, "@%u", i + 1);
    int plen = tm->cols[i].meta >= 1 && tm->cols[i].meta <= 4 ? tm->cols[i].meta : 4;
    uint64_t dlen;
    const uint8_t *diff;
    if (!fl_rd_uint(r, plen, &dlen) || !fl_rd_bytes(r, (size_t)dlen, &diff)) {
        snprintf(err, errlen, "%s.%s: column %s: truncated JSON diff", tm->db, tm->table, name);
        return -1;
    }
    if (!before || before[i].type != FL_VAL_JSON) {
        /* The diff applies to a document the before image does not carry (binlog_row_image is
         * not FULL): the new document cannot be known. The change is journaled as such, for
         * the applier to invalidate; the relay goes on. */
        out->type = FL_VAL_UNKNOWN;
        return 0;
    }
    fl_buf text = {0};
    char derr[200];
    if (fl_json_diff_apply(before[i].s.ptr, before[i].s.len, diff, (size_t)dlen, &text, derr, sizeof derr) != 0) {
        snprintf(err, errlen, "%s.%s: column %s: %s", tm->db, tm->table, name, derr);
        fl_buf_free(&text);
        return -1;
    }
    out->type = FL_VAL_JSON;
    out->s.ptr = fl_arena_memdup(&txn->arena, text.data ? (const char *)text.data : "", text.len);
    out->s.len = (uint32_t)text.len;
    fl_buf_free(&text);
    return 0;
}

static int uncompress_rows(const fl_table_map *tm, const uint8_t *p, size_t len, fl_buf *out, char *err,
                           size_t errlen)
{
    if (len < 1 || (p[0] & 0xe0) != 0x80 || (p[0] & 0x07) < 1 || (p[0] & 0x07) > 4 || len < 1u + (p[0] & 0x07)) {
        snprintf(err, errlen, "%s.%s: bad compressed rows header", tm->db, tm->table);
        return -1;
    }
    size_t lenlen = p[0] & 0x07;
    uint64_t ulen = 0;
    for (size_t i = 0; i < lenlen; i++) ulen = (ulen << 8) | p[1 + i];
    if (ulen > (uint64_t)len * ZLIB_MAX_RATIO + 64) { /* more than deflate can encode */
        snprintf(err, errlen, "%s.%s: compressed rows claim %llu bytes from %zu", tm->db, tm->table,
                 (unsigned long long)ulen, len);
        return -1;
    }
    fl_buf_reset(out);
    fl_buf_reserve(out, ulen + 1);
    uLongf dlen = (uLongf)ulen;
    int rc = uncompress(out->data, &dlen, p + 1 + lenlen, (uLong)(len - 1 - lenlen));
    if (rc != Z_OK || dlen != ulen) {
        snprintf(err, errlen, "%s.%s: compressed rows do not inflate (zlib %d)", tm->db, tm->table, rc);
        return -1;
    }
    out->len = dlen;
    return 0;
}

/* One row in record form: its images into out->images (the update's after image behind its
 * before image), copied into the txn with its change. */
static int encode_row(const fl_rows_event *ev, const fl_table_map *tm, uint64_t width, const uint8_t *before_cols,
                      const uint8_t *after_cols, fl_reader *r, const fl_rows_out *out, char *err, size_t errlen)
{
    fl_buf_reset(out->images);
    if (out->cells->used_total) fl_arena_reset(out->cells);
    if (encode_image(tm, width, before_cols, popcount_bits(before_cols, width), r, out->cells, out->images, err,
                     errlen) != 0)
        return -1;
    if (ev->op == FL_OP_UPDATE && encode_image(tm, width, after_cols, popcount_bits(after_cols, width), r,
                                               out->cells, out->images, err, errlen) != 0)
        return -1;
    fl_change *c = fl_txn_add_change(out->txn, (fl_op)ev->op);
    c->table = out->table_idx;
    c->images = fl_arena_memdup(&out->txn->arena, out->images->data, out->images->len);
    c->images_len = (uint32_t)out->images->len;
    return 0;
}

int fl_rows_decode(const fl_rows_event *ev, const fl_table_map *tm, const fl_rows_out *out, char *err,
                   size_t errlen)
{
    fl_txn *txn = out->txn;
    fl_buf *scratch = out->scratch;
    bool images = out->images && !ev->partial;
    fl_reader r = {ev->rest, ev->rest + ev->rest_len};
    uint64_t width;
    if (!fl_rd_lenenc(&r, &width)) {
        snprintf(err, errlen, "%s.%s: rows event: truncated column count", tm->db, tm->table);
        return -1;
    }
    if (width > tm->ncols) {
        snprintf(err, errlen, "%s.%s: rows event has %llu columns, its table map %u", tm->db, tm->table,
                 (unsigned long long)width, tm->ncols);
        return -1;
    }
    size_t bmlen = (size_t)((width + 7) / 8);
    const uint8_t *before_cols, *after_cols;
    if (!fl_rd_bytes(&r, bmlen, &before_cols)) {
        snprintf(err, errlen, "%s.%s: rows event: truncated column bitmap", tm->db, tm->table);
        return -1;
    }
    after_cols = before_cols;
    if (ev->op == FL_OP_UPDATE && !fl_rd_bytes(&r, bmlen, &after_cols)) {
        snprintf(err, errlen, "%s.%s: rows event: truncated after-image bitmap", tm->db, tm->table);
        return -1;
    }
    const uint8_t *lo = ev->rest, *hi = ev->rest + ev->rest_len;
    if (ev->compressed) {
        if (uncompress_rows(tm, r.p, fl_rd_left(&r), scratch, err, errlen) != 0) return -1;
        r.p = scratch->data;
        r.end = scratch->data + scratch->len;
        lo = r.p;
        hi = r.end;
    }
    if (fl_rd_left(&r) == 0) {
        snprintf(err, errlen, "%s.%s: rows event without rows", tm->db, tm->table);
        return -1;
    }
    /* A row image may be tiny (a NULL bitmap byte) while its value array spans every column
     * of the table: bound what one event may expand to. */
    size_t mem0 = fl_txn_mem(txn);
    size_t cap = ev->rest_len > (MAX_EXPANSION_FLOOR / EXPANSION_RATIO) ? ev->rest_len * EXPANSION_RATIO
                                                                        : MAX_EXPANSION_FLOOR;
    while (fl_rd_left(&r) > 0) {
        const uint8_t *row_start = r.p;
        fl_value *before = NULL, *after = NULL;
        if (images) {
            if (encode_row(ev, tm, width, before_cols, after_cols, &r, out, err, errlen) != 0) return -1;
        } else if (ev->op == FL_OP_INSERT) {
            if (decode_image(tm, width, before_cols, &r, txn, &after, lo, hi, NULL, NULL, err, errlen) != 0)
                return -1;
        } else {
            if (decode_image(tm, width, before_cols, &r, txn, &before, lo, hi, NULL, NULL, err, errlen) != 0)
                return -1;
            if (ev->op == FL_OP_UPDATE) {
                const uint8_t *partial_bits = NULL;
                if (ev->partial && read_value_options(tm, &r, &partial_bits, err, errlen) != 0) return -1;
                if (decode_image(tm, width, after_cols, &r, txn, &after, lo, hi, partial_bits, before, err,
                                 errlen) != 0)
                    return -1;
            }
        }
        if (r.p == row_start) {
            snprintf(err, errlen, "%s.%s: rows event with an empty row image", tm->db, tm->table);
            return -1;
        }
        if (!images) {
            fl_change *c = fl_txn_add_change(txn, (fl_op)ev->op);
            c->table = out->table_idx;
            c->before = before;
            c->after = after;
        }
        if (fl_txn_mem(txn) - mem0 > cap) {
            snprintf(err, errlen, "%s.%s: rows event of %zu bytes expands beyond %zu bytes", tm->db, tm->table,
                     ev->rest_len, cap);
            return -1;
        }
    }
    return 0;
}
