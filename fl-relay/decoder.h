/* decoder.h — binlog events in, committed transactions out.
 *
 * Feed it every event of a stream in order (a file, or a replication connection), each
 * as the raw bytes starting at the 19-byte v4 header. It tracks the format description
 * (checksums, post-header lengths), table maps, GTIDs and the source position, assembles
 * each committed transaction (GTID/BEGIN ... XID/COMMIT, or a DDL) into an fl_txn and hands
 * it to the emit callback together with the position just after it. Rolled-back
 * transactions are never emitted. Transactions whose memory passes part_bytes are emitted
 * in parts (FL_TXN_LAST_PART on the final one). */
#ifndef FL_DECODER_H
#define FL_DECODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/gtid.h"
#include "common/txn.h"

typedef struct fl_decoder fl_decoder;

/* Position after an emitted transaction. Pointers valid during the callback only. */
typedef struct fl_decoder_pos {
    const char *file;            /* current binlog file */
    uint64_t pos;                /* offset of the next event in file */
    const fl_gtid_set *gtid_set; /* all GTIDs seen so far (incl. the initial set) */
    fl_flavor flavor;
} fl_decoder_pos;

/* Called for each complete transaction (or part). Return 0 to continue; non-zero stops
 * decoding and is returned by fl_decoder_event. The txn is reset after the call. */
typedef int (*fl_decoder_emit_fn)(void *ctx, fl_txn *txn, const fl_decoder_pos *pos);

/* Supplies column names when the table map carries none (binlog_row_metadata=MINIMAL):
 * fill names[0..ncols-1] with strings from `arena`-lifetime storage the callee owns, or
 * return -1 to leave them unnamed ("@N"). */
typedef int (*fl_decoder_names_fn)(void *ctx, const char *db, const char *table, uint32_t ncols,
                                   const char **names);
/* MariaDB: which columns hold JSON (a LONGTEXT with a json_valid() check, which the binlog
 * shows as text): set is_json[0..ncols-1], or return -1 when it cannot be known (the columns
 * then stay text). */
typedef int (*fl_decoder_json_fn)(void *ctx, const char *db, const char *table, uint32_t ncols, bool *is_json);
/* Told about each DDL that passes (to refresh cached column names). */
typedef void (*fl_decoder_ddl_fn)(void *ctx, const char *db, const char *sql, size_t len);

typedef struct fl_decoder_opts {
    const fl_config_source *filter;       /* include/exclude globs; NULL = everything */
    const char *always_db, *always_table; /* optional: one table that passes whatever the filter
                                             (the snapshot watermark table) */
    size_t part_bytes;                    /* 0 = default 32 MiB */
    bool record_images;                   /* rows in the journal's record form (fl_change.images) rather than
                           values, for a caller that only journals them (cheaper); partial
                           JSON updates still come as values */
    fl_decoder_emit_fn emit;
    fl_decoder_names_fn names; /* optional */
    fl_decoder_json_fn json;   /* optional; MariaDB streams only */
    fl_decoder_ddl_fn ddl;     /* optional */
    void *ctx;
    /* Starting point: the GTID set already journaled (may be NULL) and the file name. */
    const char *initial_gtid_set;
    const char *initial_file;
} fl_decoder_opts;

fl_decoder *fl_decoder_new(const fl_decoder_opts *opts);
void fl_decoder_free(fl_decoder *d);

/* Decodes one event. Returns 0, the emit callback's non-zero value, or -1 with a specific
 * reason in err (e.g. "event at 1234: bad CRC32", "TABLE_MAP: truncated metadata"). After
 * -1 the transaction in progress is dropped. */
int fl_decoder_event(fl_decoder *d, const uint8_t *ev, size_t len, char *err, size_t errlen);
/* The same for a caller that computed crc, the CRC-32 of all but the event's last four bytes
 * (where a checksummed event keeps its checksum), elsewhere (on the thread that received
 * it): that is what the checksum is checked against. */
int fl_decoder_event_crc(fl_decoder *d, const uint8_t *ev, size_t len, uint32_t crc, char *err, size_t errlen);

/* Forgets a transaction in progress (e.g. after a reconnect mid-transaction). */
void fl_decoder_drop_partial(fl_decoder *d);
/* Sets the current file name and position (after ROTATE-less reconnects). */
void fl_decoder_set_file(fl_decoder *d, const char *file, uint64_t pos);
/* The source flavor, once a FORMAT_DESCRIPTION has told it. */
fl_flavor fl_decoder_flavor(const fl_decoder *d);
/* Every GTID seen so far (incl. the initial set), as it stands: the set the last emit was
 * given, plus the GTIDs of transactions rolled back and of GTID lists (PREVIOUS_GTIDS,
 * GTID_LIST) read since. Valid until the next event. */
const fl_gtid_set *fl_decoder_gtid_set(const fl_decoder *d);

/* Timestamp (unix s) of the last event seen, including heartbeats; for lag. */
uint64_t fl_decoder_last_event_ts(const fl_decoder *d);

#endif
