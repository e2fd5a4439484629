/* source.h — the connection to the primary: connect (TCP or socket, TLS modes, timeouts),
 * tell the flavor, register as a replica and stream binlog events one by one.
 *
 * Positioning: MariaDB through @slave_connect_state (GTID) or file:pos; MySQL through
 * COM_BINLOG_DUMP_GTID (encoded GTID set, tagged GTIDs included) or file:pos. Events are
 * handed out as raw bytes starting at the 19-byte header, valid until the next call. */
#ifndef FL_SOURCE_H
#define FL_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/error.h"
#include "common/gtid.h"

typedef struct fl_source fl_source;

/* Where streaming starts: GTID positioning when gtid_set is non-empty, else file:pos. */
typedef struct fl_source_pos {
    char *gtid_set; /* canonical text, "" for none (malloc'd) */
    char *file;     /* "" for none (malloc'd) */
    uint64_t pos;
} fl_source_pos;
void fl_source_pos_free(fl_source_pos *p);

/* Every call below that fails fills e: the server's or client's error number in e->code
 * (0 when none), e->permanent when no retry can cure it (authentication refused, missing
 * privileges, GTIDs or binlogs purged, binary logging off, a start position that cannot
 * be), and after the message how to fix it where the number says. */

/* Connects (common/mysql_conn.h) and tells the flavor (cfg->flavor, or the server's
 * version). read_timeout_s bounds every read (0 = the library default). NULL on failure. */
fl_source *fl_source_connect(const fl_config_source *cfg, unsigned read_timeout_s, fl_error *e);
void fl_source_close(fl_source *s);

fl_flavor fl_source_flavor(const fl_source *s);
const char *fl_source_version(const fl_source *s); /* server version string */
MYSQL *fl_source_mysql(fl_source *s);              /* for queries before streaming */

/* Runs a query and copies the first column of the first row into *out (malloc'd, "" for
 * NULL or no row). Returns 0, or -1. */
int fl_source_query_value(fl_source *s, const char *sql, char **out, fl_error *e);

/* Resolves cfg->start (current, earliest, gtid:SET, file:NAME:POS) against the server.
 * Returns 0, or -1. */
int fl_source_resolve_start(fl_source *s, const fl_config_source *cfg, fl_source_pos *out, fl_error *e);

/* Negotiates checksums and heartbeats (heartbeat_s seconds), registers as replica
 * server_id and asks for the stream from start. server_id 0 asks without registering, like
 * a binlog reader: it never displaces a running replica with the same id (for --check).
 * Returns 0, or -1. */
int fl_source_start(fl_source *s, uint32_t server_id, double heartbeat_s, const fl_source_pos *start, fl_error *e);

/* Reads the next event. Returns 0 with *ev and *len set, 1 when the server ended the stream
 * (e says so), -1 on an error. */
int fl_source_next_event(fl_source *s, const uint8_t **ev, size_t *len, fl_error *e);

/* True when more bytes are already buffered or readable on the socket without waiting. */
bool fl_source_pending(fl_source *s);

/* Fills e with the message and a server or client error number: e->permanent and the fix
 * hint follow from the number as described above. Returns -1. */
int fl_source_set_error(fl_error *e, unsigned code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Wire encodings (exposed for tests). */
void fl_source_encode_register(fl_buf *out, uint32_t server_id, const char *host, const char *user,
                               const char *password, uint16_t port);
/* COM_BINLOG_DUMP body; flags: FL_DUMP_SEND_ANNOTATE_ROWS asks MariaDB for its ANNOTATE_ROWS
 * events (the statement text of row events), which it sends a replica only on request. */
#define FL_DUMP_SEND_ANNOTATE_ROWS 0x02
void fl_source_encode_dump(fl_buf *out, uint32_t server_id, const char *file, uint32_t pos, uint16_t flags);
/* MySQL COM_BINLOG_DUMP_GTID body (without the command byte): flags, server id, file
 * name, position and the encoded GTID set (tagged format when any sid has a tag). */
void fl_source_encode_dump_gtid(fl_buf *out, uint32_t server_id, const char *file, uint64_t pos,
                                const fl_gtid_set *set);
/* The GTID set alone, as MySQL encodes it (also the body of PREVIOUS_GTIDS). */
void fl_source_encode_gtid_set(fl_buf *out, const fl_gtid_set *set);

#endif
