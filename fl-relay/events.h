/* events.h — binlog event type codes, header offsets and flags of both flavors, and the
 * bounds-checked little-endian readers the event decoders share. */
#ifndef FL_EVENTS_H
#define FL_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* v4 common header: timestamp(4) type(1) server_id(4) event_size(4) log_pos(4) flags(2) */
#define FL_EV_HEADER_LEN 19
#define FL_EV_TYPE_OFF 4
#define FL_EV_SERVER_ID_OFF 5
#define FL_EV_SIZE_OFF 9
#define FL_EV_LOG_POS_OFF 13
#define FL_EV_FLAGS_OFF 17
#define FL_EV_CRC_LEN 4

/* header flags */
#define FL_EVF_BINLOG_IN_USE 0x0001
#define FL_EVF_IGNORABLE 0x0080

enum fl_event_type {
    FL_EV_START_V3 = 1,
    FL_EV_QUERY = 2,
    FL_EV_STOP = 3,
    FL_EV_ROTATE = 4,
    FL_EV_INTVAR = 5,
    FL_EV_LOAD = 6,
    FL_EV_SLAVE = 7,
    FL_EV_CREATE_FILE = 8,
    FL_EV_APPEND_BLOCK = 9,
    FL_EV_EXEC_LOAD = 10,
    FL_EV_DELETE_FILE = 11,
    FL_EV_NEW_LOAD = 12,
    FL_EV_RAND = 13,
    FL_EV_USER_VAR = 14,
    FL_EV_FORMAT_DESCRIPTION = 15,
    FL_EV_XID = 16,
    FL_EV_BEGIN_LOAD_QUERY = 17,
    FL_EV_EXECUTE_LOAD_QUERY = 18,
    FL_EV_TABLE_MAP = 19,
    FL_EV_PRE_GA_WRITE_ROWS = 20,
    FL_EV_PRE_GA_UPDATE_ROWS = 21,
    FL_EV_PRE_GA_DELETE_ROWS = 22,
    FL_EV_WRITE_ROWS_V1 = 23,
    FL_EV_UPDATE_ROWS_V1 = 24,
    FL_EV_DELETE_ROWS_V1 = 25,
    FL_EV_INCIDENT = 26,
    FL_EV_HEARTBEAT = 27,
    FL_EV_IGNORABLE = 28,
    FL_EV_ROWS_QUERY = 29,
    FL_EV_WRITE_ROWS = 30,
    FL_EV_UPDATE_ROWS = 31,
    FL_EV_DELETE_ROWS = 32,
    FL_EV_GTID = 33,
    FL_EV_ANONYMOUS_GTID = 34,
    FL_EV_PREVIOUS_GTIDS = 35,
    FL_EV_TRANSACTION_CONTEXT = 36,
    FL_EV_VIEW_CHANGE = 37,
    FL_EV_XA_PREPARE = 38,
    FL_EV_PARTIAL_UPDATE_ROWS = 39,
    FL_EV_TRANSACTION_PAYLOAD = 40,
    FL_EV_HEARTBEAT_V2 = 41,
    FL_EV_GTID_TAGGED = 42,
    /* MariaDB */
    FL_EV_MARIA_ANNOTATE_ROWS = 160,
    FL_EV_MARIA_BINLOG_CHECKPOINT = 161,
    FL_EV_MARIA_GTID = 162,
    FL_EV_MARIA_GTID_LIST = 163,
    FL_EV_MARIA_START_ENCRYPTION = 164,
    FL_EV_MARIA_QUERY_COMPRESSED = 165,
    FL_EV_MARIA_WRITE_ROWS_COMPRESSED_V1 = 166,
    FL_EV_MARIA_UPDATE_ROWS_COMPRESSED_V1 = 167,
    FL_EV_MARIA_DELETE_ROWS_COMPRESSED_V1 = 168,
    FL_EV_MARIA_WRITE_ROWS_COMPRESSED = 169,
    FL_EV_MARIA_UPDATE_ROWS_COMPRESSED = 170,
    FL_EV_MARIA_DELETE_ROWS_COMPRESSED = 171,
};

/* Checksum algorithms in the FORMAT_DESCRIPTION */
#define FL_CHECKSUM_OFF 0
#define FL_CHECKSUM_CRC32 1
#define FL_CHECKSUM_UNDEF 255

/* QUERY status variables */
enum {
    FL_Q_FLAGS2 = 0,
    FL_Q_SQL_MODE = 1,
    FL_Q_CATALOG = 2,
    FL_Q_AUTO_INCREMENT = 3,
    FL_Q_CHARSET = 4,
    FL_Q_TIME_ZONE = 5,
    FL_Q_CATALOG_NZ = 6,
    FL_Q_LC_TIME_NAMES = 7,
    FL_Q_CHARSET_DATABASE = 8,
    FL_Q_TABLE_MAP_FOR_UPDATE = 9,
    FL_Q_MASTER_DATA_WRITTEN = 10,
    FL_Q_INVOKER = 11,
    FL_Q_UPDATED_DB_NAMES = 12,
    FL_Q_MICROSECONDS = 13,
    FL_Q_COMMIT_TS = 14,
    FL_Q_COMMIT_TS2 = 15,
    FL_Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP = 16,
    FL_Q_DDL_LOGGED_WITH_XID = 17,
    FL_Q_DEFAULT_COLLATION_FOR_UTF8MB4 = 18,
    FL_Q_SQL_REQUIRE_PRIMARY_KEY = 19,
    FL_Q_DEFAULT_TABLE_ENCRYPTION = 20,
    FL_Q_MARIA_HRNOW = 128,
    FL_Q_MARIA_XID = 129,
};

/* MariaDB GTID_EVENT flags2 */
#define FL_MARIA_GTID_STANDALONE 0x01
#define FL_MARIA_GTID_GROUP_COMMIT_ID 0x02
#define FL_MARIA_GTID_TRANSACTIONAL 0x04
#define FL_MARIA_GTID_DDL 0x20
#define FL_MARIA_GTID_PREPARED_XA 0x40
#define FL_MARIA_GTID_COMPLETED_XA 0x80

/* rows event flags */
#define FL_ROWS_STMT_END 0x0001

/* Bounds-checked readers over [p, end). Each returns false when the bytes are not there. */
typedef struct fl_reader {
    const uint8_t *p, *end;
} fl_reader;

static inline size_t fl_rd_left(const fl_reader *r) { return r->p < r->end ? (size_t)(r->end - r->p) : 0; }

static inline uint64_t fl_le(const uint8_t *p, int n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    switch (n) { /* the common widths as one load */
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    case 8: {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    default: break;
    }
#endif
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static inline bool fl_rd_u8(fl_reader *r, uint8_t *v)
{
    if (fl_rd_left(r) < 1) return false;
    *v = *r->p++;
    return true;
}

static inline bool fl_rd_uint(fl_reader *r, int n, uint64_t *v)
{
    if (fl_rd_left(r) < (size_t)n) return false;
    *v = fl_le(r->p, n);
    r->p += n;
    return true;
}

static inline bool fl_rd_skip(fl_reader *r, size_t n)
{
    if (fl_rd_left(r) < n) return false;
    r->p += n;
    return true;
}

static inline bool fl_rd_bytes(fl_reader *r, size_t n, const uint8_t **out)
{
    if (fl_rd_left(r) < n) return false;
    *out = r->p;
    r->p += n;
    return true;
}

/* MySQL length-encoded integer (1, 3, 4 or 9 bytes). 251 (NULL) is refused. */
static inline bool fl_rd_lenenc(fl_reader *r, uint64_t *v)
{
    if (fl_rd_left(r) < 1) return false;
    uint8_t b = *r->p++;
    if (b < 251) {
        *v = b;
        return true;
    }
    if (b == 252) return fl_rd_uint(r, 2, v);
    if (b == 253) return fl_rd_uint(r, 3, v);
    if (b == 254) return fl_rd_uint(r, 8, v);
    return false;
}

/* MySQL serialization library variable-length unsigned integer: the count of trailing
 * one bits of the first byte, plus one, is the length; 0xff means 8 raw bytes follow. */
static inline bool fl_rd_varlen(fl_reader *r, uint64_t *v)
{
    if (fl_rd_left(r) < 1) return false;
    uint8_t b = r->p[0];
    int n = 1;
    while (n <= 8 && (b >> (n - 1)) & 1) n++;
    if (n == 9) {
        if (fl_rd_left(r) < 9) return false;
        *v = fl_le(r->p + 1, 8);
        r->p += 9;
        return true;
    }
    if (fl_rd_left(r) < (size_t)n) return false;
    *v = fl_le(r->p, n) >> n;
    r->p += n;
    return true;
}

#endif
