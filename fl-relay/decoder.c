/* decoder.c — binlog events to committed transactions.
 *
 * Framing: every event starts with the 19-byte v4 header; its size field must equal the
 * bytes given. The FORMAT_DESCRIPTION tells the server version (flavor: "MariaDB" in it),
 * the post-header length of each event type and the checksum algorithm; with CRC32 the last
 * four bytes of every event are the zlib CRC-32 of the rest (the FORMAT_DESCRIPTION's own is
 * computed with its "binlog in use" flag clear).
 *
 * Transactions: a GTID event (MySQL GTID, ANONYMOUS_GTID or tagged GTID; MariaDB GTID)
 * announces the next transaction. BEGIN (or a MariaDB GTID without the standalone flag)
 * opens it; XID, COMMIT or an XA PREPARE close it; ROLLBACK drops it. A statement outside
 * a transaction is a transaction of its own: DDL, or statement-based DML. Rows events
 * outside BEGIN (old servers, non-transactional engines) form a transaction that ends at
 * the statement-end flag. TRANSACTION_PAYLOAD bodies are zstd-decompressed and their
 * events (which carry no checksums) decoded in place. Rows events go to rows.c and TABLE_MAP
 * bodies to table_map.c. A transaction whose memory passes part_bytes is emitted in parts. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>
#include <zstd.h>

#include <mysql.h>

#include "common/crc32c.h"
#include "common/error.h"
#include "common/log.h"
#include "fl-relay/decoder.h"
#include "fl-relay/events.h"
#include "fl-relay/rows.h"
#include "fl-relay/table_map.h"

#define DEFAULT_PART_BYTES (32u << 20)
#define MAX_PAYLOAD_BYTES ((size_t)1 << 31)
#define MAX_ANNOTATION 16384 /* bytes of a ROWS_QUERY/ANNOTATE_ROWS statement kept with its rows */
#define MAX_CACHED_MAPS 256

typedef struct map_entry {
    uint64_t table_id;
    fl_table_map tm;
    const char **names; /* column names for the journal; entries may be NULL */
    bool wanted;        /* passes the include/exclude filter */
    /* The body it was parsed from, when nothing else went into it that may change (column
     * names and JSON columns either in the event or given by the callbacks, no DDL since):
     * the same TABLE_MAP again (one per transaction) is then not parsed again. */
    fl_buf body;
    bool reusable;
    uint64_t maps_gen; /* d->maps_gen when parsed */
} map_entry;

struct fl_decoder {
    fl_decoder_opts o;

    /* format */
    bool have_fde;
    fl_flavor flavor;
    uint8_t checksum_alg;
    uint8_t post_header[256];
    uint32_t npost;
    bool permuted; /* pre-GA 5.1/5.2/6.0 numbering of the rows-era event types */

    /* position */
    char *file;
    uint64_t pos;     /* offset of the event being decoded */
    uint64_t end_pos; /* offset after it */
    uint64_t last_ts;
    fl_gtid_set *gtids;

    /* transaction being assembled */
    fl_txn txn;
    bool in_txn;
    bool implicit; /* rows without BEGIN: ends at the statement-end flag */
    bool have_gtid;
    fl_gtid gtid;
    uint32_t server_id;
    uint32_t part;
    uint32_t txn_flags;
    bool in_payload;
    bool emit_failed;   /* the emit callback refused: its value is returned as it is */
    bool have_body_crc; /* the caller gave the CRC-32 of the event but its last 4 bytes */
    uint32_t body_crc;

    map_entry **maps;
    size_t nmaps, capmaps;
    uint64_t maps_gen; /* DDL statements and format descriptions seen: a table map parsed
                          before one is parsed again (names, types may have changed) */

    fl_buf annotation; /* ROWS_QUERY / ANNOTATE_ROWS text for the next row change */
    bool have_annotation;
    fl_buf scratch; /* decompressed rows or query text */
    fl_buf images;  /* record_images: one row's images being built */
    fl_arena cells; /* record_images: converted cell bytes of that row */
    fl_buf payload; /* decompressed TRANSACTION_PAYLOAD */
    ZSTD_DCtx *zstd;
    char **warned; /* tables already warned about (statement-based changes, unknown values) */
    size_t nwarned;
};

/* ---- small helpers ------------------------------------------------------------------ */

/* Names of the event types whose decoders share code, for messages. */
static const char *type_name(uint8_t t)
{
    switch (t) {
    case FL_EV_QUERY: return "QUERY";
    case FL_EV_EXECUTE_LOAD_QUERY: return "EXECUTE_LOAD_QUERY";
    case FL_EV_MARIA_QUERY_COMPRESSED: return "QUERY_COMPRESSED";
    case FL_EV_GTID: return "GTID";
    case FL_EV_ANONYMOUS_GTID: return "ANONYMOUS_GTID";
    default: return "event";
    }
}

static void map_free_all(fl_decoder *d)
{
    for (size_t i = 0; i < d->nmaps; i++) {
        fl_table_map_free(&d->maps[i]->tm);
        fl_buf_free(&d->maps[i]->body);
        free(d->maps[i]);
    }
    d->nmaps = 0;
}

static map_entry *map_find(fl_decoder *d, uint64_t id)
{
    for (size_t i = d->nmaps; i-- > 0;)
        if (d->maps[i]->table_id == id) return d->maps[i];
    return NULL;
}

static void txn_clear(fl_decoder *d)
{
    fl_txn_reset(&d->txn);
    d->have_annotation = false;
    d->in_txn = d->implicit = d->have_gtid = false;
    d->part = 0;
    d->txn_flags = 0;
    if (d->nmaps > MAX_CACHED_MAPS) map_free_all(d);
}

/* ---- public lifecycle --------------------------------------------------------------- */

fl_decoder *fl_decoder_new(const fl_decoder_opts *opts)
{
    fl_decoder *d = fl_xcalloc(1, sizeof *d);
    d->o = *opts;
    if (!d->o.part_bytes) d->o.part_bytes = DEFAULT_PART_BYTES;
    d->file = fl_xstrdup(opts->initial_file ? opts->initial_file : "");
    d->pos = 4;
    fl_txn_init(&d->txn);
    if (opts->initial_gtid_set && opts->initial_gtid_set[0]) {
        char err[256];
        d->gtids = fl_gtid_set_parse(opts->initial_gtid_set, err, sizeof err);
        if (!d->gtids) log_warn("decoder: initial GTID set ignored: %s", err);
    }
    if (!d->gtids) d->gtids = fl_gtid_set_new(FL_FLAVOR_NONE);
    return d;
}

void fl_decoder_free(fl_decoder *d)
{
    if (!d) return;
    map_free_all(d);
    free(d->maps);
    fl_txn_free(&d->txn);
    fl_gtid_set_free(d->gtids);
    fl_buf_free(&d->scratch);
    fl_buf_free(&d->images);
    fl_arena_free(&d->cells);
    fl_buf_free(&d->annotation);
    fl_buf_free(&d->payload);
    ZSTD_freeDCtx(d->zstd);
    for (size_t i = 0; i < d->nwarned; i++) free(d->warned[i]);
    free(d->warned);
    free(d->file);
    free(d);
}

void fl_decoder_drop_partial(fl_decoder *d) { txn_clear(d); }

void fl_decoder_set_file(fl_decoder *d, const char *file, uint64_t pos)
{
    if (strcmp(d->file, file) != 0) {
        free(d->file);
        d->file = fl_xstrdup(file);
    }
    d->pos = pos;
}

fl_flavor fl_decoder_flavor(const fl_decoder *d) { return d->flavor; }
uint64_t fl_decoder_last_event_ts(const fl_decoder *d) { return d->last_ts; }
const fl_gtid_set *fl_decoder_gtid_set(const fl_decoder *d) { return d->gtids; }

/* ---- emitting ----------------------------------------------------------------------- */

static int emit(fl_decoder *d, uint32_t ts, bool last)
{
    fl_txn *t = &d->txn;
    if (d->have_gtid)
        t->gtid = d->gtid;
    else
        memset(&t->gtid, 0, sizeof t->gtid);
    t->ts = ts;
    t->server_id = d->server_id;
    t->file = fl_arena_strndup(&t->arena, d->file, strlen(d->file));
    t->pos = d->end_pos;
    t->flags = d->txn_flags | (last ? FL_TXN_LAST_PART : 0);
    t->part = d->part;
    if (last && d->have_gtid && d->gtid.flavor != FL_FLAVOR_NONE) {
        if (fl_gtid_set_flavor(d->gtids) != FL_FLAVOR_NONE && fl_gtid_set_flavor(d->gtids) != d->gtid.flavor) {
            log_warn("decoder: GTID flavor changed; starting a new GTID set");
            fl_gtid_set_free(d->gtids);
            d->gtids = fl_gtid_set_new(FL_FLAVOR_NONE);
        }
        fl_gtid_set_add(d->gtids, &d->gtid);
    }
    fl_decoder_pos p = {d->file, d->end_pos, d->gtids, d->flavor};
    int rc = d->o.emit ? d->o.emit(d->o.ctx, t, &p) : 0;
    if (rc != 0) d->emit_failed = true;
    if (last) {
        txn_clear(d);
    } else {
        fl_txn_reset(t);
        d->part++;
    }
    return rc;
}

static void begin_txn(fl_decoder *d, uint32_t server_id)
{
    if (d->in_txn && d->txn.nchanges)
        log_warn("%s: event at offset %llu: transaction without its end dropped", d->file,
                 (unsigned long long)d->pos);
    bool have_gtid = d->have_gtid;
    fl_gtid g = d->gtid;
    uint32_t flags = d->txn_flags;
    fl_txn_reset(&d->txn);
    d->have_annotation = false;
    d->in_txn = true;
    d->implicit = false;
    d->part = 0;
    d->have_gtid = have_gtid;
    d->gtid = g;
    d->txn_flags = flags & FL_TXN_XA;
    d->server_id = server_id;
}

static int maybe_split(fl_decoder *d, uint32_t ts)
{
    if (fl_txn_mem(&d->txn) < d->o.part_bytes) return 0;
    return emit(d, ts, false);
}

/* A rolled-back transaction: nothing is emitted, but its GTID was used by the source. */
static void rollback(fl_decoder *d)
{
    if (d->part > 0) log_warn("%s: a transaction rolled back after %u parts were journaled", d->file, d->part);
    if (d->have_gtid && d->gtid.flavor != FL_FLAVOR_NONE &&
        (fl_gtid_set_flavor(d->gtids) == FL_FLAVOR_NONE || fl_gtid_set_flavor(d->gtids) == d->gtid.flavor))
        fl_gtid_set_add(d->gtids, &d->gtid);
    txn_clear(d);
}

/* ---- GTIDs -------------------------------------------------------------------------- */

static void announce_gtid(fl_decoder *d, const fl_gtid *g, uint32_t server_id)
{
    if (d->in_txn) {
        if (d->txn.nchanges || d->part)
            log_warn("%s: event at offset %llu: transaction without its end dropped", d->file,
                     (unsigned long long)d->pos);
        txn_clear(d);
    }
    d->have_gtid = true;
    d->gtid = *g;
    d->server_id = server_id;
    d->txn_flags = 0;
}

static int decode_mysql_gtid(fl_decoder *d, uint8_t type, const uint8_t *b, size_t n, uint32_t server_id,
                             char *err, size_t errlen)
{
    if (n < 25) return fl_errorf(err, errlen, "%s: body is %zu bytes, expected at least 25", type_name(type), n);
    fl_gtid g;
    memset(&g, 0, sizeof g);
    if (type == FL_EV_GTID) {
        g.flavor = FL_FLAVOR_MYSQL;
        memcpy(g.uuid, b + 1, 16);
        g.gno = fl_le(b + 17, 8);
        if (g.gno == 0) return fl_errorf(err, errlen, "GTID: transaction number 0");
    }
    announce_gtid(d, &g, server_id);
    return 0;
}

static int decode_tagged_gtid(fl_decoder *d, const uint8_t *b, size_t n, uint32_t server_id, char *err,
                              size_t errlen)
{
    fl_reader r = {b, b + n};
    uint64_t version, size, lnif;
    if (!fl_rd_varlen(&r, &version) || !fl_rd_varlen(&r, &size) || !fl_rd_varlen(&r, &lnif))
        return fl_errorf(err, errlen, "GTID_TAGGED: truncated header");
    if (size > n || size < (size_t)(r.p - b))
        return fl_errorf(err, errlen, "GTID_TAGGED: payload size %llu does not fit the event",
                         (unsigned long long)size);
    r.end = b + size;
    fl_gtid g;
    memset(&g, 0, sizeof g);
    g.flavor = FL_FLAVOR_MYSQL;
    bool have_sid = false, have_gno = false;
    while (fl_rd_left(&r) > 0) {
        uint64_t fid, v;
        if (!fl_rd_varlen(&r, &fid)) return fl_errorf(err, errlen, "GTID_TAGGED: truncated field id");
        if (fid == 0) {
            if (!fl_rd_varlen(&r, &v)) return fl_errorf(err, errlen, "GTID_TAGGED: truncated flags");
        } else if (fid == 1) {
            for (int i = 0; i < 16; i++) {
                if (!fl_rd_varlen(&r, &v) || v > 255)
                    return fl_errorf(err, errlen, "GTID_TAGGED: bad source uuid");
                g.uuid[i] = (uint8_t)v;
            }
            have_sid = true;
        } else if (fid == 2) {
            if (!fl_rd_varlen(&r, &v) || (v & 1))
                return fl_errorf(err, errlen, "GTID_TAGGED: bad transaction number");
            g.gno = v >> 1;
            have_gno = true;
        } else if (fid == 3) {
            const uint8_t *tag;
            if (!fl_rd_varlen(&r, &v) || v > FL_GTID_TAG_MAX || !fl_rd_bytes(&r, (size_t)v, &tag))
                return fl_errorf(err, errlen, "GTID_TAGGED: bad tag");
            memcpy(g.tag, tag, (size_t)v);
            g.tag[v] = 0;
            for (size_t i = 0; i < v; i++) {
                char c = (char)tolower((unsigned char)g.tag[i]);
                if (!(c == '_' || (c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9')))
                    return fl_errorf(err, errlen, "GTID_TAGGED: bad tag character at %zu", i);
                g.tag[i] = c;
            }
        } else if (fid <= 11) {
            if (!fl_rd_varlen(&r, &v))
                return fl_errorf(err, errlen, "GTID_TAGGED: truncated field %llu", (unsigned long long)fid);
        } else if (fid <= lnif) {
            return fl_errorf(err, errlen, "GTID_TAGGED: unknown required field %llu", (unsigned long long)fid);
        } else {
            break; /* ignorable fields of later versions */
        }
    }
    if (!have_sid || !have_gno || g.gno == 0)
        return fl_errorf(err, errlen, "GTID_TAGGED: missing source uuid or transaction number");
    announce_gtid(d, &g, server_id);
    return 0;
}

static int decode_maria_gtid(fl_decoder *d, const uint8_t *b, size_t n, uint32_t server_id, char *err,
                             size_t errlen)
{
    if (n < 13) return fl_errorf(err, errlen, "MariaDB GTID: body is %zu bytes, expected at least 13", n);
    fl_gtid g;
    memset(&g, 0, sizeof g);
    g.flavor = FL_FLAVOR_MARIADB;
    g.seq_no = fl_le(b, 8);
    g.domain = (uint32_t)fl_le(b + 8, 4);
    g.server_id = server_id;
    uint8_t flags = b[12];
    announce_gtid(d, &g, server_id);
    /* without FL_STANDALONE the GTID opens the transaction (MariaDB writes no BEGIN); with
     * it, the next statement is the whole transaction */
    if (!(flags & FL_MARIA_GTID_STANDALONE)) {
        begin_txn(d, server_id);
        if (flags & FL_MARIA_GTID_PREPARED_XA) d->txn_flags |= FL_TXN_XA;
    }
    return 0;
}

static void uuid_text(const uint8_t u[16], fl_buf *out)
{
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) fl_buf_putc(out, '-');
        fl_buf_printf(out, "%02x", u[i]);
    }
}

static int union_text(fl_decoder *d, fl_buf *text, const char *what, char *err, size_t errlen)
{
    char perr[200];
    fl_gtid_set *s = fl_gtid_set_parse(fl_buf_cstr(text), perr, sizeof perr);
    if (!s) return fl_errorf(err, errlen, "%s: %s", what, perr);
    if (fl_gtid_set_flavor(d->gtids) != FL_FLAVOR_NONE && fl_gtid_set_flavor(s) != FL_FLAVOR_NONE &&
        fl_gtid_set_flavor(d->gtids) != fl_gtid_set_flavor(s)) {
        fl_gtid_set_free(d->gtids);
        d->gtids = fl_gtid_set_new(FL_FLAVOR_NONE);
    }
    fl_gtid_set_union(d->gtids, s);
    fl_gtid_set_free(s);
    return 0;
}

static int decode_previous_gtids(fl_decoder *d, const uint8_t *b, size_t n, char *err, size_t errlen)
{
    fl_reader r = {b, b + n};
    uint64_t head;
    if (!fl_rd_uint(&r, 8, &head)) return fl_errorf(err, errlen, "PREVIOUS_GTIDS: truncated");
    bool tagged = (head >> 56) != 0;
    uint64_t nsids = tagged ? (head >> 8) & ((1ull << 48) - 1) : head & ((1ull << 56) - 1);
    if (nsids > n / 24)
        return fl_errorf(err, errlen, "PREVIOUS_GTIDS: %llu sources in %zu bytes", (unsigned long long)nsids, n);
    fl_buf text = {0};
    int rc = 0;
    for (uint64_t i = 0; i < nsids && rc == 0; i++) {
        const uint8_t *uuid, *tag = NULL;
        uint64_t taglen = 0, nint;
        if (!fl_rd_bytes(&r, 16, &uuid) ||
            (tagged &&
             (!fl_rd_varlen(&r, &taglen) || taglen > FL_GTID_TAG_MAX || !fl_rd_bytes(&r, (size_t)taglen, &tag))) ||
            !fl_rd_uint(&r, 8, &nint) || nint > fl_rd_left(&r) / 16) {
            rc = fl_errorf(err, errlen, "PREVIOUS_GTIDS: truncated source %llu", (unsigned long long)i + 1);
            break;
        }
        if (nint == 0) continue;
        if (text.len) fl_buf_putc(&text, ',');
        uuid_text(uuid, &text);
        if (taglen) {
            fl_buf_putc(&text, ':');
            fl_buf_put(&text, tag, (size_t)taglen);
        }
        for (uint64_t k = 0; k < nint; k++) {
            uint64_t s = 0, e = 0;
            fl_rd_uint(&r, 8, &s);
            fl_rd_uint(&r, 8, &e);
            if (s < 1 || e <= s) {
                rc = fl_errorf(err, errlen, "PREVIOUS_GTIDS: bad interval %llu-%llu", (unsigned long long)s,
                               (unsigned long long)e);
                break;
            }
            if (e - 1 == s)
                fl_buf_printf(&text, ":%llu", (unsigned long long)s);
            else
                fl_buf_printf(&text, ":%llu-%llu", (unsigned long long)s, (unsigned long long)e - 1);
        }
    }
    if (rc == 0 && text.len) rc = union_text(d, &text, "PREVIOUS_GTIDS", err, errlen);
    fl_buf_free(&text);
    return rc;
}

static int decode_gtid_list(fl_decoder *d, const uint8_t *b, size_t n, char *err, size_t errlen)
{
    if (n < 4) return fl_errorf(err, errlen, "GTID_LIST: truncated");
    uint32_t count = (uint32_t)fl_le(b, 4) & 0x0fffffff;
    if ((size_t)count > (n - 4) / 16) return fl_errorf(err, errlen, "GTID_LIST: %u GTIDs in %zu bytes", count, n);
    fl_buf text = {0};
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = b + 4 + 16 * (size_t)i;
        fl_buf_printf(&text, "%s%u-%u-%llu", i ? "," : "", (unsigned)fl_le(e, 4), (unsigned)fl_le(e + 4, 4),
                      (unsigned long long)fl_le(e + 8, 8));
    }
    int rc = text.len ? union_text(d, &text, "GTID_LIST", err, errlen) : 0;
    fl_buf_free(&text);
    return rc;
}

/* ---- QUERY -------------------------------------------------------------------------- */

/* The first word of sql in upper case (at most cap-1 letters); returns the rest. */
static const char *word(const char *s, const char *end, char *out, size_t cap)
{
    while (s < end && (isspace((unsigned char)*s) || *s == '(')) s++;
    /* skip leading comments like the version-conditional ones */
    while (s + 1 < end && s[0] == '/' && s[1] == '*' && !(s + 2 < end && s[2] == '!')) {
        const char *c = s + 2;
        while (c + 1 < end && !(c[0] == '*' && c[1] == '/')) c++;
        s = c + 2 < end ? c + 2 : end;
        while (s < end && isspace((unsigned char)*s)) s++;
    }
    size_t n = 0;
    while (s < end && (isalnum((unsigned char)*s) || *s == '_')) {
        if (n + 1 < cap) out[n++] = (char)toupper((unsigned char)*s);
        s++;
    }
    out[n] = 0;
    return s;
}

/* sql ends with the words tail (case-insensitive, trailing blanks ignored) */
static bool ends_with_word(const char *sql, const char *end, const char *tail)
{
    while (end > sql && isspace((unsigned char)end[-1])) end--;
    size_t n = strlen(tail);
    if ((size_t)(end - sql) <= n || !isspace((unsigned char)end[-(ptrdiff_t)n - 1])) return false;
    return strncasecmp(end - n, tail, n) == 0;
}

static bool is_dml(const char *w)
{
    return !strcmp(w, "INSERT") || !strcmp(w, "UPDATE") || !strcmp(w, "DELETE") || !strcmp(w, "REPLACE") ||
           !strcmp(w, "LOAD") || !strcmp(w, "CALL") || !strcmp(w, "DO") || !strcmp(w, "SELECT") ||
           !strcmp(w, "WITH");
}

/* Best effort: the table a statement-based DML statement writes, as db.table. */
static void statement_table(const char *sql, const char *end, const char *db, char *out, size_t cap)
{
    char w[64];
    const char *s = word(sql, end, w, sizeof w);
    if (!strcmp(w, "LOAD")) { /* LOAD DATA ... INTO TABLE name */
        const char *p = sql;
        s = NULL;
        for (; end - p >= 10; p++)
            if (!strncasecmp(p, "INTO TABLE", 10)) {
                s = p + 10;
                break;
            }
        if (!s) s = end;
    } else { /* INSERT/REPLACE/UPDATE/DELETE [modifiers] [INTO|FROM] name */
        for (int guard = 0; guard < 8; guard++) {
            const char *next = word(s, end, w, sizeof w);
            if (strcmp(w, "INTO") && strcmp(w, "FROM") && strcmp(w, "IGNORE") && strcmp(w, "LOW_PRIORITY") &&
                strcmp(w, "DELAYED") && strcmp(w, "HIGH_PRIORITY") && strcmp(w, "QUICK"))
                break;
            s = next;
        }
    }
    while (s < end && isspace((unsigned char)*s)) s++;
    char name[160];
    size_t n = 0;
    while (s < end && n + 1 < sizeof name && !isspace((unsigned char)*s) && *s != '(' && *s != ',') {
        if (*s != '`') name[n++] = *s;
        s++;
    }
    name[n] = 0;
    if (!n)
        snprintf(out, cap, "%s.?", db);
    else if (strchr(name, '.'))
        snprintf(out, cap, "%s", name);
    else
        snprintf(out, cap, "%s.%s", db, name);
}

/* The table a statement writes (as db.table into table) passes the filter. */
static bool statement_wanted(const fl_decoder *d, const char *sql, const char *end, const char *db, char *table,
                             size_t cap)
{
    statement_table(sql, end, db, table, cap);
    char *dot = strchr(table, '.');
    if (!dot || !d->o.filter) return true;
    *dot = 0;
    bool wanted = fl_config_table_wanted(d->o.filter, table, dot + 1);
    *dot = '.';
    return wanted;
}

static void warn_statement(fl_decoder *d, const char *table)
{
    for (size_t i = 0; i < d->nwarned; i++)
        if (!strcmp(d->warned[i], table)) return;
    d->warned = fl_xrealloc(d->warned, (d->nwarned + 1) * sizeof *d->warned);
    d->warned[d->nwarned++] = fl_xstrdup(table);
    log_warn("%s: statement-based change (binlog_format=STATEMENT or MIXED) journaled as a "
             "statement; caches cannot apply it (use binlog_format=ROW)",
             table);
}

/* Once per table: partial JSON updates whose new document is not in the binlog. */
static void warn_unknown(fl_decoder *d, const fl_table_map *tm, uint32_t first)
{
    for (uint32_t i = first; i < d->txn.nchanges; i++) {
        const fl_change *c = &d->txn.changes[i];
        for (uint32_t k = 0; c->after && k < tm->ncols; k++) {
            if (c->after[k].type != FL_VAL_UNKNOWN) continue;
            char key[300];
            snprintf(key, sizeof key, "unknown %s.%s", tm->db, tm->table);
            for (size_t w = 0; w < d->nwarned; w++)
                if (!strcmp(d->warned[w], key)) return;
            d->warned = fl_xrealloc(d->warned, (d->nwarned + 1) * sizeof *d->warned);
            d->warned[d->nwarned++] = fl_xstrdup(key);
            log_warn("%s.%s: partial JSON updates against a before image without the document: the new "
                     "document is not in the binlog and is journaled as unknown (appliers delete its keys); "
                     "binlog_row_image = FULL or binlog_row_value_options = '' on the source carry it",
                     tm->db, tm->table);
            return;
        }
    }
}

static void add_sql_change(fl_decoder *d, fl_op op, const char *db, const char *sql, size_t len)
{
    fl_change *c = fl_txn_add_change(&d->txn, op);
    c->db = fl_arena_strndup(&d->txn.arena, db, strlen(db));
    c->sql = fl_arena_strndup(&d->txn.arena, sql, len);
    c->sql_len = (uint32_t)len;
}

static int decompress_query(fl_decoder *d, const uint8_t *p, size_t len, char *err, size_t errlen)
{
    if (len < 1 || (p[0] & 0xe0) != 0x80 || (p[0] & 7) < 1 || (p[0] & 7) > 4 || len < 1u + (p[0] & 7))
        return fl_errorf(err, errlen, "QUERY_COMPRESSED: bad compression header");
    size_t ll = p[0] & 7;
    uint64_t ulen = 0;
    for (size_t i = 0; i < ll; i++) ulen = (ulen << 8) | p[1 + i];
    if (ulen > MAX_PAYLOAD_BYTES || ulen > (uint64_t)len * 1032 + 64) /* deflate's best ratio */
        return fl_errorf(err, errlen, "QUERY_COMPRESSED: %llu bytes claimed from %zu", (unsigned long long)ulen,
                         len);
    fl_buf_reset(&d->scratch);
    fl_buf_reserve(&d->scratch, ulen + 1);
    uLongf dl = (uLongf)ulen;
    if (uncompress(d->scratch.data, &dl, p + 1 + ll, (uLong)(len - 1 - ll)) != Z_OK || dl != ulen)
        return fl_errorf(err, errlen, "QUERY_COMPRESSED: query text does not inflate");
    d->scratch.len = dl;
    return 0;
}

/* The one database a statement updated, from the Q_UPDATED_DB_NAMES status variable
 * (MySQL), into out ("" when absent, several, or past a variable this does not know). */
static void updated_db(const uint8_t *sv, size_t len, char *out, size_t cap)
{
    static const int8_t fixed[] = {
        [FL_Q_FLAGS2] = 4,
        [FL_Q_SQL_MODE] = 8,
        [FL_Q_AUTO_INCREMENT] = 4,
        [FL_Q_CHARSET] = 6,
        [FL_Q_LC_TIME_NAMES] = 2,
        [FL_Q_CHARSET_DATABASE] = 2,
        [FL_Q_TABLE_MAP_FOR_UPDATE] = 8,
        [FL_Q_MASTER_DATA_WRITTEN] = 4,
        [FL_Q_MICROSECONDS] = 3,
        [FL_Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP] = 1,
        [FL_Q_DDL_LOGGED_WITH_XID] = 8,
        [FL_Q_DEFAULT_COLLATION_FOR_UTF8MB4] = 2,
        [FL_Q_SQL_REQUIRE_PRIMARY_KEY] = 1,
        [FL_Q_DEFAULT_TABLE_ENCRYPTION] = 1,
    };
    out[0] = 0;
    fl_reader r = {sv, sv + len};
    uint64_t code, l;
    while (fl_rd_uint(&r, 1, &code)) {
        if (code < sizeof fixed && fixed[code] > 0) {
            if (!fl_rd_skip(&r, (size_t)fixed[code])) return;
        } else if (code == FL_Q_CATALOG) {
            if (!fl_rd_uint(&r, 1, &l) || !fl_rd_skip(&r, (size_t)l + 1)) return;
        } else if (code == FL_Q_TIME_ZONE || code == FL_Q_CATALOG_NZ) {
            if (!fl_rd_uint(&r, 1, &l) || !fl_rd_skip(&r, (size_t)l)) return;
        } else if (code == FL_Q_INVOKER) {
            if (!fl_rd_uint(&r, 1, &l) || !fl_rd_skip(&r, (size_t)l)) return;
            if (!fl_rd_uint(&r, 1, &l) || !fl_rd_skip(&r, (size_t)l)) return;
        } else if (code == FL_Q_UPDATED_DB_NAMES) {
            uint64_t count;
            if (!fl_rd_uint(&r, 1, &count) || count != 1) return;
            const uint8_t *name = r.p;
            const uint8_t *nul = memchr(name, 0, fl_rd_left(&r));
            if (!nul || (size_t)(nul - name) >= cap) return;
            memcpy(out, name, (size_t)(nul - name));
            out[nul - name] = 0;
            return;
        } else {
            return;
        }
    }
}

static int decode_query(fl_decoder *d, uint8_t type, const uint8_t *b, size_t n, uint32_t ts, uint32_t server_id,
                        char *err, size_t errlen)
{
    uint8_t phl = d->post_header[type - 1];
    if (type == FL_EV_MARIA_QUERY_COMPRESSED && d->npost < type) phl = 13;
    if (phl < 11 || n < phl) return fl_errorf(err, errlen, "%s: truncated post-header", type_name(type));
    size_t dblen = b[8];
    size_t svlen = phl >= 13 ? (size_t)fl_le(b + 11, 2) : 0;
    if (n - phl < svlen || n - phl - svlen < dblen + 1)
        return fl_errorf(err, errlen, "%s: status variables or database name beyond the event", type_name(type));
    const char *dbp = (const char *)b + phl + svlen;
    if (dbp[dblen] != 0) return fl_errorf(err, errlen, "%s: database name not terminated", type_name(type));
    char db[256];
    memcpy(db, dbp, dblen);
    db[dblen] = 0;
    if (!dblen) updated_db(b + phl, svlen, db, sizeof db);
    const uint8_t *q = b + phl + svlen + dblen + 1;
    size_t qlen = n - phl - svlen - dblen - 1;
    if (type == FL_EV_MARIA_QUERY_COMPRESSED) {
        if (decompress_query(d, q, qlen, err, errlen) != 0) return -1;
        q = d->scratch.data;
        qlen = d->scratch.len;
    }
    const char *sql = (const char *)q, *end = sql + qlen;
    char w1[32], w2[32];
    const char *rest = word(sql, end, w1, sizeof w1);
    word(rest, end, w2, sizeof w2);

    if (!strcmp(w1, "BEGIN") || (!strcmp(w1, "XA") && (!strcmp(w2, "START") || !strcmp(w2, "BEGIN")))) {
        /* (a MariaDB GTID already opened it; anything else unfinished is dropped) */
        if (!d->in_txn || d->txn.nchanges || d->part) begin_txn(d, server_id);
        if (!strcmp(w1, "XA")) d->txn_flags |= FL_TXN_XA;
        return 0;
    }
    if (!strcmp(w1, "COMMIT")) {
        if (d->in_txn) return emit(d, ts, true);
        return 0; /* the stream started inside a transaction */
    }
    if (!strcmp(w1, "ROLLBACK") && strcmp(w2, "TO") != 0) {
        if (d->in_txn || d->have_gtid) rollback(d);
        return 0;
    }
    if (d->in_txn && (!strcmp(w1, "SAVEPOINT") || !strcmp(w1, "RELEASE") || !strcmp(w1, "ROLLBACK") ||
                      (!strcmp(w1, "XA") && (!strcmp(w2, "END") || !strcmp(w2, "PREPARE")))))
        return 0;

    if (d->in_txn && !strcmp(w1, "XA") && (!strcmp(w2, "COMMIT") || !strcmp(w2, "ROLLBACK"))) {
        /* the second phase of an XA transaction, opened by its GTID */
        add_sql_change(d, FL_OP_STATEMENT, db, sql, qlen);
        d->txn_flags |= FL_TXN_XA;
        return d->txn.nchanges == 1 ? emit(d, ts, true) : 0;
    }
    if (d->in_txn && !is_dml(w1)) {
        /* DDL inside a transaction (CREATE TABLE ... SELECT, temporary tables) */
        add_sql_change(d, FL_OP_DDL, db, sql, qlen);
        d->maps_gen++;
        if (d->o.ddl) d->o.ddl(d->o.ctx, db, sql, qlen);
        return maybe_split(d, ts);
    }
    if (d->in_txn) {
        /* statement-based change inside a transaction */
        char table[256];
        if (!statement_wanted(d, sql, end, db, table, sizeof table)) return 0;
        warn_statement(d, table);
        add_sql_change(d, FL_OP_STATEMENT, db, sql, qlen);
        d->txn_flags |= FL_TXN_STATEMENT;
        return maybe_split(d, ts);
    }

    /* a statement that is a transaction of its own */
    bool have_gtid = d->have_gtid;
    fl_gtid g = d->gtid;
    uint32_t sid = have_gtid ? d->server_id : server_id;
    uint32_t xa = d->txn_flags & FL_TXN_XA;
    begin_txn(d, sid);
    d->have_gtid = have_gtid;
    d->gtid = g;
    if (!strcmp(w1, "XA")) {
        add_sql_change(d, FL_OP_STATEMENT, db, sql, qlen);
        d->txn_flags |= FL_TXN_XA;
    } else if (is_dml(w1)) {
        char table[256];
        if (statement_wanted(d, sql, end, db, table, sizeof table)) { /* else an empty record */
            warn_statement(d, table);
            add_sql_change(d, FL_OP_STATEMENT, db, sql, qlen);
            d->txn_flags |= FL_TXN_STATEMENT | xa;
        }
    } else {
        add_sql_change(d, FL_OP_DDL, db, sql, qlen);
        d->maps_gen++;
        if (d->o.ddl) d->o.ddl(d->o.ctx, db, sql, qlen);
        /* MySQL 8.0.21+ CREATE TABLE ... SELECT: the rows follow, then the XID */
        if (ends_with_word(sql, end, "START TRANSACTION")) return 0;
    }
    return emit(d, ts, true);
}

/* ---- TABLE_MAP and rows ------------------------------------------------------------- */

static int decode_table_map(fl_decoder *d, const uint8_t *b, size_t n, char *err, size_t errlen)
{
    uint8_t phl = d->post_header[FL_EV_TABLE_MAP - 1];
    if (phl != 6 && phl != 8) phl = 8;
    if (n < phl) return fl_errorf(err, errlen, "TABLE_MAP: truncated post-header");
    uint64_t id = fl_le(b, phl == 6 ? 4 : 6);
    map_entry *e = map_find(d, id);
    if (e && e->reusable && e->maps_gen == d->maps_gen && e->body.len == n && memcmp(e->body.data, b, n) == 0)
        return 0;
    if (!e) {
        e = fl_xcalloc(1, sizeof *e);
        fl_table_map_init(&e->tm);
        if (d->nmaps == d->capmaps) {
            d->capmaps = d->capmaps ? 2 * d->capmaps : 16;
            d->maps = fl_xrealloc(d->maps, d->capmaps * sizeof *d->maps);
        }
        d->maps[d->nmaps++] = e;
    }
    e->table_id = id;
    e->names = NULL;
    e->reusable = false;
    if (fl_table_map_parse(&e->tm, b, n, phl, d->flavor, err, errlen) != 0) {
        e->table_id = UINT64_MAX;
        return -1;
    }
    fl_table_map *tm = &e->tm;
    e->wanted = !d->o.filter || fl_config_table_wanted(d->o.filter, tm->db, tm->table) ||
                (d->o.always_db && strcmp(tm->db, d->o.always_db) == 0 &&
                 strcmp(tm->table, d->o.always_table) == 0);
    bool settled = true; /* no callback failed (one that fails is asked again next time) */
    const char **names = fl_arena_alloc(&tm->arena, (tm->ncols + 1) * sizeof *names);
    for (uint32_t i = 0; i < tm->ncols; i++) names[i] = tm->cols[i].name;
    if (!tm->has_names && d->o.names && e->wanted &&
        d->o.names(d->o.ctx, tm->db, tm->table, tm->ncols, names) != 0) {
        for (uint32_t i = 0; i < tm->ncols; i++) names[i] = tm->cols[i].name;
        settled = false;
    }
    e->names = names;
    /* (MariaDB's JSON is a LONGTEXT: a table without text or blob columns has none, and its
     * map costs no schema lookup) */
    bool blobs = false;
    for (uint32_t i = 0; i < tm->ncols && !blobs; i++)
        blobs = tm->cols[i].type == MYSQL_TYPE_BLOB || tm->cols[i].type == MYSQL_TYPE_TINY_BLOB ||
                tm->cols[i].type == MYSQL_TYPE_MEDIUM_BLOB || tm->cols[i].type == MYSQL_TYPE_LONG_BLOB;
    if (d->flavor == FL_FLAVOR_MARIADB && d->o.json && e->wanted && blobs) {
        bool *is_json = fl_arena_alloc(&tm->arena, tm->ncols * sizeof *is_json);
        if (d->o.json(d->o.ctx, tm->db, tm->table, tm->ncols, is_json) == 0)
            for (uint32_t i = 0; i < tm->ncols; i++) tm->cols[i].json_document = is_json[i];
        else
            settled = false;
    }
    if (settled) {
        fl_buf_reset(&e->body);
        fl_buf_put(&e->body, b, n);
        e->reusable = true;
        e->maps_gen = d->maps_gen;
    }
    return 0;
}

static int decode_rows(fl_decoder *d, uint8_t type, const uint8_t *b, size_t n, uint32_t ts, uint32_t server_id,
                       char *err, size_t errlen)
{
    fl_rows_event ev;
    fl_rows_classify(type, &ev);
    uint8_t phl = type <= d->npost ? d->post_header[type - 1] : 0;
    if (phl == 0) phl = ev.v2 ? 10 : 8;
    if (fl_rows_header(&ev, b, n, phl, err, errlen) != 0) return -1;
    map_entry *e = map_find(d, ev.table_id);
    if (!e)
        return fl_errorf(err, errlen, "rows event for table id %llu without a TABLE_MAP before it",
                         (unsigned long long)ev.table_id);
    if (!d->in_txn) {
        begin_txn(d, d->have_gtid ? d->server_id : server_id);
        d->implicit = true;
    }
    if (e->wanted) {
        uint32_t idx = fl_txn_table(&d->txn, e->tm.db, e->tm.table, e->tm.ncols, e->names);
        uint32_t first = d->txn.nchanges;
        fl_rows_out out = {.txn = &d->txn,
                           .table_idx = idx,
                           .scratch = &d->scratch,
                           .images = d->o.record_images ? &d->images : NULL,
                           .cells = &d->cells};
        if (fl_rows_decode(&ev, &e->tm, &out, err, errlen) != 0) return -1;
        if (ev.partial) warn_unknown(d, &e->tm, first);
        if (d->have_annotation && d->txn.nchanges > first) { /* on the statement's first change */
            fl_change *c = &d->txn.changes[first];
            c->sql = fl_arena_strndup(&d->txn.arena, (const char *)d->annotation.data, d->annotation.len);
            c->sql_len = (uint32_t)d->annotation.len;
            d->have_annotation = false;
        }
    }
    if (d->implicit && (ev.flags & FL_ROWS_STMT_END)) return emit(d, ts, true);
    return maybe_split(d, ts);
}

/* ---- FORMAT_DESCRIPTION ------------------------------------------------------------- */

static bool version_at_least(const char *v, int a, int b, int c)
{
    int x = 0, y = 0, z = 0;
    sscanf(v, "%d.%d.%d", &x, &y, &z);
    if (x != a) return x > a;
    if (y != b) return y > b;
    return z >= c;
}

static int decode_fde(fl_decoder *d, const uint8_t *ev, size_t len, char *err, size_t errlen)
{
    if (len < FL_EV_HEADER_LEN + 57)
        return fl_errorf(err, errlen, "FORMAT_DESCRIPTION: %zu bytes is too short", len);
    const uint8_t *b = ev + FL_EV_HEADER_LEN;
    uint16_t version = (uint16_t)fl_le(b, 2);
    if (version != 4)
        return fl_errorf(err, errlen, "FORMAT_DESCRIPTION: binlog format version %u is not supported", version);
    char sv[51];
    memcpy(sv, b + 2, 50);
    sv[50] = 0;
    uint32_t created = (uint32_t)fl_le(b + 52, 4);
    if (b[56] != FL_EV_HEADER_LEN)
        return fl_errorf(err, errlen, "FORMAT_DESCRIPTION: header length %u, expected 19", b[56]);
    bool maria = strstr(sv, "MariaDB") != NULL;
    bool aware = maria ? version_at_least(sv, 5, 3, 0) : version_at_least(sv, 5, 6, 1);
    size_t body = len - FL_EV_HEADER_LEN;
    uint8_t alg = FL_CHECKSUM_OFF;
    size_t npost = body - 57;
    if (aware) {
        if (body < 57 + 5) return fl_errorf(err, errlen, "FORMAT_DESCRIPTION: checksum fields missing");
        alg = b[body - 5];
        npost = body - 57 - 5;
        if (alg == FL_CHECKSUM_CRC32) {
            uint8_t hdr[FL_EV_HEADER_LEN];
            memcpy(hdr, ev, sizeof hdr);
            hdr[FL_EV_FLAGS_OFF] &= (uint8_t)~FL_EVF_BINLOG_IN_USE;
            uint32_t crc = fl_crc32(0, hdr, sizeof hdr);
            crc = fl_crc32(crc, ev + sizeof hdr, len - sizeof hdr - 4);
            if (crc != (uint32_t)fl_le(ev + len - 4, 4)) return fl_errorf(err, errlen, "bad CRC32");
        } else if (alg != FL_CHECKSUM_OFF && alg != FL_CHECKSUM_UNDEF) {
            return fl_errorf(err, errlen, "FORMAT_DESCRIPTION: unknown checksum algorithm %u", alg);
        }
    }
    if (npost > 255) npost = 255;
    if (d->in_txn && created != 0) {
        if (d->txn.nchanges) log_warn("%s: the source restarted inside a transaction; it is dropped", d->file);
        txn_clear(d);
    }
    memset(d->post_header, 0, sizeof d->post_header);
    memcpy(d->post_header, b + 57, npost);
    d->npost = (uint32_t)npost;
    d->checksum_alg = alg == FL_CHECKSUM_CRC32 ? FL_CHECKSUM_CRC32 : FL_CHECKSUM_OFF;
    d->flavor = maria ? FL_FLAVOR_MARIADB : FL_FLAVOR_MYSQL;
    d->maps_gen++;
    /* Development versions 5.1.0-5.1.16, 5.2.x and 6.0.x numbered TABLE_MAP, the rows events,
     * XID and the LOAD DATA query events differently; their format description has 22
     * entries and gives TABLE_MAP's 6-byte post-header at index 16. */
    d->permuted = !maria && npost == 22 && d->post_header[15] == 6 && d->post_header[19] == 0 &&
                  (!strncmp(sv, "5.1.", 4) || !strncmp(sv, "5.2.", 4) || !strncmp(sv, "6.0.", 4));
    if (d->permuted) {
        static const uint8_t remap[7][2] = {{16, 19}, {17, 23}, {18, 24}, {19, 25}, {20, 16}, {21, 17}, {22, 18}};
        uint8_t old[256];
        memcpy(old, d->post_header, sizeof old);
        for (int i = 0; i < 7; i++) d->post_header[remap[i][1] - 1] = old[remap[i][0] - 1];
        d->npost = 25;
    }
    d->have_fde = true;
    return 0;
}

static uint8_t permute(uint8_t t)
{
    switch (t) {
    case 16: return FL_EV_TABLE_MAP;
    case 17: return FL_EV_WRITE_ROWS_V1;
    case 18: return FL_EV_UPDATE_ROWS_V1;
    case 19: return FL_EV_DELETE_ROWS_V1;
    case 20: return FL_EV_XID;
    case 21: return FL_EV_BEGIN_LOAD_QUERY;
    case 22: return FL_EV_EXECUTE_LOAD_QUERY;
    default: return t;
    }
}

/* ---- TRANSACTION_PAYLOAD ------------------------------------------------------------ */

static int decode_one(fl_decoder *d, const uint8_t *ev, size_t len, char *err, size_t errlen);
static int decode_event(fl_decoder *d, const uint8_t *ev, size_t len, char *err, size_t errlen);

/* zstd-decompresses a payload into d->payload, growing the buffer as output appears (a
 * header's size is never trusted for an allocation), to at most the declared size. */
static int inflate_payload(fl_decoder *d, const uint8_t *z, size_t zlen, uint64_t declared, char *err,
                           size_t errlen)
{
    size_t limit = declared && declared < MAX_PAYLOAD_BYTES ? (size_t)declared : MAX_PAYLOAD_BYTES;
    if (!d->zstd) d->zstd = ZSTD_createDCtx();
    if (!d->zstd) return fl_errorf(err, errlen, "TRANSACTION_PAYLOAD: out of memory for zstd");
    ZSTD_DCtx_reset(d->zstd, ZSTD_reset_session_only);
    fl_buf_reset(&d->payload);
    ZSTD_inBuffer in = {z, zlen, 0};
    for (;;) {
        if (d->payload.cap - d->payload.len < 4096) {
            if (d->payload.len >= limit)
                return fl_errorf(err, errlen, "TRANSACTION_PAYLOAD: more than the %zu bytes declared", limit);
            size_t grow = d->payload.len < 65536 ? 65536 : d->payload.len;
            if (grow > limit - d->payload.len) grow = limit - d->payload.len;
            fl_buf_reserve(&d->payload, grow);
        }
        size_t room = d->payload.cap - d->payload.len;
        if (room > limit - d->payload.len) room = limit - d->payload.len;
        ZSTD_outBuffer out = {d->payload.data + d->payload.len, room, 0};
        size_t rc = ZSTD_decompressStream(d->zstd, &out, &in);
        if (ZSTD_isError(rc))
            return fl_errorf(err, errlen, "TRANSACTION_PAYLOAD: zstd: %s", ZSTD_getErrorName(rc));
        d->payload.len += out.pos;
        if (rc == 0 && in.pos == in.size) break; /* (a payload may hold several frames) */
        if (rc != 0 && in.pos == in.size && out.pos < room)
            return fl_errorf(err, errlen, "TRANSACTION_PAYLOAD: compressed data ends early");
    }
    if (declared && d->payload.len != declared)
        return fl_errorf(err, errlen, "TRANSACTION_PAYLOAD: %zu bytes, the header says %llu", d->payload.len,
                         (unsigned long long)declared);
    return 0;
}

static int decode_payload(fl_decoder *d, const uint8_t *b, size_t n, char *err, size_t errlen)
{
    if (d->in_payload) return fl_errorf(err, errlen, "TRANSACTION_PAYLOAD inside a TRANSACTION_PAYLOAD");
    fl_reader r = {b, b + n};
    uint64_t ctype = UINT64_MAX, size = UINT64_MAX, usize = 0;
    for (;;) {
        uint64_t f, flen, v;
        if (!fl_rd_lenenc(&r, &f)) return fl_errorf(err, errlen, "TRANSACTION_PAYLOAD: truncated header");
        if (f == 0) break;
        if (!fl_rd_lenenc(&r, &flen) || flen > fl_rd_left(&r))
            return fl_errorf(err, errlen, "TRANSACTION_PAYLOAD: truncated header field %llu",
                             (unsigned long long)f);
        fl_reader fr = {r.p, r.p + flen};
        r.p += flen;
        if (f > 3) continue;
        if (!fl_rd_lenenc(&fr, &v))
            return fl_errorf(err, errlen, "TRANSACTION_PAYLOAD: bad header field %llu", (unsigned long long)f);
        if (f == 1)
            size = v;
        else if (f == 2)
            ctype = v;
        else
            usize = v;
    }
    if (size == UINT64_MAX || ctype == UINT64_MAX)
        return fl_errorf(err, errlen, "TRANSACTION_PAYLOAD: size or compression type missing");
    if (size > fl_rd_left(&r))
        return fl_errorf(err, errlen, "TRANSACTION_PAYLOAD: payload of %llu bytes beyond the event",
                         (unsigned long long)size);
    const uint8_t *data;
    size_t dlen;
    if (ctype == 255) {
        data = r.p;
        dlen = (size_t)size;
    } else if (ctype == 0) {
        if (inflate_payload(d, r.p, (size_t)size, usize, err, errlen) != 0) return -1;
        data = d->payload.data;
        dlen = d->payload.len;
    } else {
        return fl_errorf(err, errlen, "TRANSACTION_PAYLOAD: unknown compression type %llu",
                         (unsigned long long)ctype);
    }
    /* inner events are decoded from d->payload in place (nested payloads are refused) */
    d->in_payload = true;
    size_t off = 0;
    int rc = 0;
    while (off < dlen) {
        if (dlen - off < FL_EV_HEADER_LEN) {
            rc = fl_errorf(err, errlen, "TRANSACTION_PAYLOAD: truncated inner event at %zu", off);
            break;
        }
        size_t elen = (size_t)fl_le(data + off + FL_EV_SIZE_OFF, 4);
        if (elen < FL_EV_HEADER_LEN || elen > dlen - off) {
            rc = fl_errorf(err, errlen, "TRANSACTION_PAYLOAD: inner event at %zu has bad length %zu", off, elen);
            break;
        }
        char ierr[300];
        ierr[0] = 0;
        rc = decode_one(d, data + off, elen, ierr, sizeof ierr);
        if (rc == -1 && !d->emit_failed) {
            fl_errorf(err, errlen, "TRANSACTION_PAYLOAD: inner event at %zu: %s", off, ierr);
            break;
        }
        if (rc != 0) break;
        off += elen;
    }
    d->in_payload = false;
    return rc;
}

/* ---- one event ---------------------------------------------------------------------- */

/* The CRC-32 of a top-level event but its last four bytes: as the caller gave it, or computed. */
static uint32_t body_crc(const fl_decoder *d, const uint8_t *ev, size_t len)
{
    return d->have_body_crc ? d->body_crc : fl_crc32(0, ev, len - 4);
}

static int decode_one(fl_decoder *d, const uint8_t *ev, size_t len, char *err, size_t errlen)
{
    uint8_t type = ev[FL_EV_TYPE_OFF];
    uint32_t ts = (uint32_t)fl_le(ev, 4);
    uint32_t server_id = (uint32_t)fl_le(ev + FL_EV_SERVER_ID_OFF, 4);
    uint16_t flags = (uint16_t)fl_le(ev + FL_EV_FLAGS_OFF, 2);

    if (type == FL_EV_FORMAT_DESCRIPTION) {
        if (d->in_payload) return fl_errorf(err, errlen, "FORMAT_DESCRIPTION inside a transaction payload");
        return decode_fde(d, ev, len, err, errlen);
    }

    size_t n = len - FL_EV_HEADER_LEN;
    if (!d->in_payload) {
        bool crc = d->checksum_alg == FL_CHECKSUM_CRC32;
        if (!d->have_fde && len >= FL_EV_HEADER_LEN + 4 &&
            body_crc(d, ev, len) == (uint32_t)fl_le(ev + len - 4, 4))
            crc = true; /* an artificial event before the format description */
        if (crc) {
            if (len < FL_EV_HEADER_LEN + FL_EV_CRC_LEN)
                return fl_errorf(err, errlen, "event too short for its checksum");
            if (body_crc(d, ev, len) != (uint32_t)fl_le(ev + len - 4, 4))
                return fl_errorf(err, errlen, "bad CRC32");
            n -= FL_EV_CRC_LEN;
        }
    }
    if (d->permuted) type = permute(type);
    const uint8_t *b = ev + FL_EV_HEADER_LEN;
    if (type != FL_EV_HEARTBEAT && type != FL_EV_HEARTBEAT_V2 && ts) d->last_ts = ts;

    fl_rows_event rows;
    if (fl_rows_classify(type, &rows)) return decode_rows(d, type, b, n, ts, server_id, err, errlen);

    switch (type) {
    case FL_EV_QUERY:
    case FL_EV_EXECUTE_LOAD_QUERY:
    case FL_EV_MARIA_QUERY_COMPRESSED: return decode_query(d, type, b, n, ts, server_id, err, errlen);
    case FL_EV_XID:
        if (n != 8) return fl_errorf(err, errlen, "XID: body is %zu bytes, expected 8", n);
        if (!d->in_txn) return 0; /* stream started inside a transaction */
        return emit(d, ts, true);
    case FL_EV_XA_PREPARE: {
        if (n < 13) return fl_errorf(err, errlen, "XA_PREPARE: body is %zu bytes, expected at least 13", n);
        uint64_t gl = fl_le(b + 5, 4), bl = fl_le(b + 9, 4);
        if (gl > 64 || bl > 64 || 13 + gl + bl > n)
            return fl_errorf(err, errlen, "XA_PREPARE: bad xid lengths %llu/%llu", (unsigned long long)gl,
                             (unsigned long long)bl);
        if (!d->in_txn) return 0;
        if (b[0])
            d->txn_flags &= ~(uint32_t)FL_TXN_XA; /* XA COMMIT ... ONE PHASE */
        else
            d->txn_flags |= FL_TXN_XA; /* prepared: applied at XA COMMIT */
        return emit(d, ts, true);
    }
    case FL_EV_TABLE_MAP: return decode_table_map(d, b, n, err, errlen);
    case FL_EV_GTID:
    case FL_EV_ANONYMOUS_GTID: return decode_mysql_gtid(d, type, b, n, server_id, err, errlen);
    case FL_EV_GTID_TAGGED: return decode_tagged_gtid(d, b, n, server_id, err, errlen);
    case FL_EV_MARIA_GTID: return decode_maria_gtid(d, b, n, server_id, err, errlen);
    case FL_EV_PREVIOUS_GTIDS: return decode_previous_gtids(d, b, n, err, errlen);
    case FL_EV_MARIA_GTID_LIST: return decode_gtid_list(d, b, n, err, errlen);
    case FL_EV_TRANSACTION_PAYLOAD: return decode_payload(d, b, n, err, errlen);
    case FL_EV_ROTATE: {
        size_t phl = d->npost >= FL_EV_ROTATE ? d->post_header[FL_EV_ROTATE - 1] : 8;
        if (phl < 8) phl = 8;
        if (n < phl) return fl_errorf(err, errlen, "ROTATE: truncated");
        size_t nl = n - phl;
        const char *name = (const char *)b + phl;
        if (nl == 0 || nl > 511 || memchr(name, 0, nl)) return fl_errorf(err, errlen, "ROTATE: bad file name");
        char fname[512];
        memcpy(fname, name, nl);
        fname[nl] = 0;
        fl_decoder_set_file(d, fname, fl_le(b, 8));
        d->end_pos = d->pos;
        return 0;
    }
    case FL_EV_HEARTBEAT:
    case FL_EV_HEARTBEAT_V2: d->last_ts = (uint64_t)time(NULL); return 0;
    case FL_EV_INCIDENT: {
        uint64_t code = n >= 2 ? fl_le(b, 2) : 0;
        log_warn("%s: the source logged an incident (code %llu): changes around offset %llu may "
                 "be missing from its binlog",
                 d->file, (unsigned long long)code, (unsigned long long)d->pos);
        return 0;
    }
    case FL_EV_ROWS_QUERY:            /* MySQL: a length byte (capped at 255; ignored), then the text */
    case FL_EV_MARIA_ANNOTATE_ROWS: { /* MariaDB: the text */
        size_t skip = type == FL_EV_ROWS_QUERY ? 1 : 0;
        size_t text = n > skip ? n - skip : 0;
        if (text > MAX_ANNOTATION) text = MAX_ANNOTATION; /* informational: a bulk INSERT stays small */
        fl_buf_reset(&d->annotation);
        fl_buf_put(&d->annotation, b + skip, text);
        d->have_annotation = text > 0;
        return 0;
    }
    case FL_EV_MARIA_START_ENCRYPTION:
        return fl_errorf(err, errlen, "encrypted binlog (START_ENCRYPTION): read it through the server instead");
    case FL_EV_STOP:
    case FL_EV_INTVAR:
    case FL_EV_RAND:
    case FL_EV_USER_VAR:
    case FL_EV_MARIA_BINLOG_CHECKPOINT:
    case FL_EV_TRANSACTION_CONTEXT:
    case FL_EV_VIEW_CHANGE:
    case FL_EV_IGNORABLE:
    case FL_EV_LOAD:
    case FL_EV_SLAVE:
    case FL_EV_CREATE_FILE:
    case FL_EV_APPEND_BLOCK:
    case FL_EV_EXEC_LOAD:
    case FL_EV_DELETE_FILE:
    case FL_EV_NEW_LOAD:
    case FL_EV_BEGIN_LOAD_QUERY:
    case FL_EV_START_V3: return 0;
    default:
        if (flags & FL_EVF_IGNORABLE) return 0;
        return fl_errorf(err, errlen, "unknown event type %u", type);
    }
}

int fl_decoder_event(fl_decoder *d, const uint8_t *ev, size_t len, char *err, size_t errlen)
{
    d->have_body_crc = false;
    return decode_event(d, ev, len, err, errlen);
}

int fl_decoder_event_crc(fl_decoder *d, const uint8_t *ev, size_t len, uint32_t crc, char *err, size_t errlen)
{
    d->have_body_crc = len >= 4;
    d->body_crc = crc;
    int rc = decode_event(d, ev, len, err, errlen);
    d->have_body_crc = false;
    return rc;
}

static int decode_event(fl_decoder *d, const uint8_t *ev, size_t len, char *err, size_t errlen)
{
    char why[300];
    uint64_t at = d->pos;
    if (len < FL_EV_HEADER_LEN) {
        snprintf(err, errlen, "event at offset %llu: %zu bytes, shorter than the 19-byte header",
                 (unsigned long long)at, len);
        txn_clear(d);
        return -1;
    }
    uint64_t size = fl_le(ev + FL_EV_SIZE_OFF, 4);
    if (size != len) {
        snprintf(err, errlen, "event at offset %llu: header says %llu bytes, got %zu", (unsigned long long)at,
                 (unsigned long long)size, len);
        txn_clear(d);
        return -1;
    }
    uint64_t log_pos = fl_le(ev + FL_EV_LOG_POS_OFF, 4);
    /* log_pos is the source's offset after the event; 0 marks an artificial event that
     * occupies no place in the source's binlog. */
    uint8_t raw_type = ev[FL_EV_TYPE_OFF];
    if (raw_type == FL_EV_HEARTBEAT || raw_type == FL_EV_HEARTBEAT_V2 || log_pos == 0)
        d->end_pos = at;
    else if (log_pos >= len)
        d->end_pos = log_pos;
    else
        d->end_pos = at + len;
    why[0] = 0;
    d->emit_failed = false;
    int rc = decode_one(d, ev, len, why, sizeof why);
    if (rc != 0 && d->emit_failed) {
        fl_errorf(err, errlen, "event at offset %llu: the transaction was not accepted (%d)",
                  (unsigned long long)at, rc);
        txn_clear(d);
        return rc;
    }
    if (rc == -1) {
        fl_errorf(err, errlen, "event at offset %llu: %s", (unsigned long long)at, why);
        txn_clear(d);
        return -1;
    }
    if (ev[FL_EV_TYPE_OFF] != FL_EV_ROTATE || rc != 0) d->pos = d->end_pos;
    return rc;
}
