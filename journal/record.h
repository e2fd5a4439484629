/* record.h — the journal record codec: one committed source transaction (common/txn.h) <->
 * bytes.
 *
 * A record is versioned and checksummed (CRC-32C over everything before the checksum).
 * A transaction too large for one record is written as ordered parts of the same seq and
 * GTID (part 0, 1, ... with FL_TXN_LAST_PART on the last); fl_record_decode appends a part's
 * tables and changes to a transaction, so decoding the parts in order reassembles it. */
#ifndef FL_RECORD_H
#define FL_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/gtid.h"
#include "common/txn.h"

#define FL_RECORD_VERSION 1

/* Encodes t as one record, appended to out. A row change with images (fl_change) has them
 * written as they are in place of its before/after values. */
void fl_record_encode(const fl_txn *t, fl_buf *out);
/* Appends one value of a row image in record form: an image is one such value per column of
 * its table, FL_VAL_ABSENT for the columns it lacks (what fl_change.images holds). */
void fl_record_put_value(fl_buf *out, const fl_value *v);
/* The same for the commonest values without an fl_value: FL_VAL_INT i, FL_VAL_UINT u, and
 * a value of a bytes type that is not a date or time (STRING, BINARY, ...). */
void fl_record_put_int(fl_buf *out, int64_t i);
void fl_record_put_uint(fl_buf *out, uint64_t u);
void fl_record_put_bytes(fl_buf *out, fl_value_type type, const void *p, size_t n);
/* Decodes one record into t, appending its tables/changes (t must be initialised; use
 * fl_txn_reset between transactions). Header fields are overwritten by each part.
 * Returns 0, or -1 with a specific reason in err (bad checksum, truncated, unknown version,
 * malformed field) and t left valid (possibly partially filled). Never reads out of bounds. */
int fl_record_decode(fl_txn *t, const uint8_t *data, size_t len, char *err, size_t errlen);

/* What fl_record_decode_view keeps from one record for the next: the header's file name and
 * the table list, as stored and as decoded, so that a record repeating them (most records of
 * a journal do) does not decode them again. Zero-initialised; freed by fl_record_cache_free. */
typedef struct fl_record_cache {
    fl_buf file_raw, file; /* the last file name as stored, and as a C string */
    fl_buf tables_raw;     /* the last table list as stored (empty: none kept) */
    fl_table *tables;      /* ... decoded, its strings in names */
    uint32_t ntables, tables_cap;
    fl_arena names;
} fl_record_cache;
void fl_record_cache_free(fl_record_cache *c);

/* The same as fl_record_decode, into an empty t, but nothing is copied that can be pointed
 * to: string values and row changes' statement annotations point into data, which must stay
 * as it is while t is used, and the file name and tables into cache (may be NULL), valid
 * until the next decode with it. A table list the cache keeps gets a new definition id per
 * table (fl_table.def_id), which the records repeating it carry: a reader binds a table once
 * per id instead of comparing its names at every record. */
int fl_record_decode_view(fl_txn *t, const uint8_t *data, size_t len, fl_record_cache *cache, char *err,
                          size_t errlen);
/* Reads just the header (gtid, seq-independent fields, flags, part) without verifying
 * the whole body; for indexes. Returns 0 or -1. */
int fl_record_peek(const uint8_t *data, size_t len, fl_gtid *gtid, uint64_t *ts, uint32_t *flags, uint32_t *part);

#endif
