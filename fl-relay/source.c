/* source.c — the replication connection, on MariaDB Connector/C.
 *
 * The library connects, authenticates and does TLS. Replication commands go through its
 * public low-level API: the connection's db_command method sends COM_REGISTER_SLAVE and
 * COM_BINLOG_DUMP[_GTID]; mysql_net_read_packet reads each reply packet (it turns an ERR
 * packet into mysql_errno/mysql_error). A stream packet is 0x00 followed by one event; an
 * EOF packet (0xFE, under 8 bytes) ends the stream.
 *
 * Whether more bytes are waiting (for group commit) is the library's read-ahead cache
 * (MARIADB_PVIO.cache, public in ma_pvio.h), OpenSSL's decrypted bytes over TLS
 * (SSL_pending), plus a zero-timeout poll() on the socket. */
#include "fl-relay/source.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <errmsg.h>
#include <mysqld_error.h>
#include <openssl/ssl.h>
/* The TLS layer's public struct (its `ssl` is OpenSSL's SSL object in Debian's build). */
#define HAVE_TLS 1
typedef unsigned char uchar; /* ma_tls.h uses it before ma_pvio.h defines it */
#include <ma_pvio.h>

#include "common/log.h"
#include "common/mysql_conn.h"

#define COM_DUMP_GTID_CMD 0x1e      /* COM_BINLOG_DUMP_GTID (MySQL) */
#define DUMP_GTID_THROUGH_GTID 0x04 /* its flag: the GTID set follows */
#define MAX_PACKET (1024UL * 1024 * 1024)

struct fl_source {
    MYSQL *m;
    fl_flavor flavor;
};

void fl_source_pos_free(fl_source_pos *p)
{
    if (!p) return;
    free(p->gtid_set);
    free(p->file);
    p->gtid_set = p->file = NULL;
    p->pos = 0;
}

fl_flavor fl_source_flavor(const fl_source *s) { return s->flavor; }
const char *fl_source_version(const fl_source *s) { return mysql_get_server_info(s->m); }
MYSQL *fl_source_mysql(fl_source *s) { return s->m; }

/* Errors that retrying cannot fix: authentication refused, missing privileges, GTIDs or
 * binlogs purged, binary logging off. */
static bool is_permanent(unsigned code)
{
    switch (code) {
    case ER_ACCESS_DENIED_ERROR:               /* 1045 wrong user or password */
    case ER_DBACCESS_DENIED_ERROR:             /* 1044 */
    case ER_SPECIFIC_ACCESS_DENIED_ERROR:      /* 1227 REPLICATION SLAVE missing */
    case ER_MASTER_FATAL_ERROR_READING_BINLOG: /* 1236 purged GTIDs/binlogs, bad position */
    case ER_NO_BINARY_LOGGING:                 /* 1381 */
    case ER_ACCESS_DENIED_NO_PASSWORD_ERROR:   /* 1698 */
    case CR_AUTH_PLUGIN_CANNOT_LOAD: /* 2059 */ return true;
    default: return false;
    }
}

/* How to fix what the error number says, or NULL. */
static const char *hint(unsigned code)
{
    switch (code) {
    case ER_ACCESS_DENIED_ERROR:
    case ER_ACCESS_DENIED_NO_PASSWORD_ERROR:
        return "Fix: check [source] user and password (or password_file), and that the user may "
               "connect from this host";
    case ER_SPECIFIC_ACCESS_DENIED_ERROR:
        return "Fix: GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO the relay's user";
    case ER_MASTER_FATAL_ERROR_READING_BINLOG:
        return "The transactions there were purged or never existed. Fix: keep binlogs longer on "
               "the source (binlog_expire_logs_seconds / expire_logs_days); to start over, move the "
               "journal away and choose [source] start";
    case ER_NO_BINARY_LOGGING: return "Fix: start the source with log_bin";
    case CR_SSL_CONNECTION_ERROR:
        return "Fix: check [source] ssl_mode and ssl_ca: ssl_ca must be the CA that signed the "
               "server's certificate, and verify_identity needs a certificate naming [source] host";
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_UNKNOWN_HOST:
        return "Fix: check [source] host and port (or socket), that the server runs, and that no "
               "firewall is in the way";
    default: return NULL;
    }
}

int fl_source_set_error(fl_error *e, unsigned code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fl_verrorf(e->msg, sizeof e->msg, NULL, fmt, ap);
    va_end(ap);
    e->code = code;
    e->permanent = is_permanent(code);
    const char *h = hint(code);
    size_t n = strlen(e->msg);
    if (h && n + 2 < sizeof e->msg) snprintf(e->msg + n, sizeof e->msg - n, ". %s", h);
    return -1;
}

/* The handle's last error, after what was being done. */
static int set_err(fl_source *s, fl_error *e, const char *what)
{
    unsigned code = mysql_errno(s->m);
    return fl_source_set_error(e, code, "%s: %s (error %u)", what, mysql_error(s->m), code);
}

fl_source *fl_source_connect(const fl_config_source *cfg, unsigned read_timeout_s, fl_error *e)
{
    fl_mysql_conn_opts o = {.io_timeout_s = read_timeout_s, .max_packet = MAX_PACKET};
    MYSQL *m = fl_mysql_connect(cfg, &o, e);
    if (!m) {
        if (e->code) { /* what the number means, and how to fix it */
            char why[FL_ERROR_MAX];
            snprintf(why, sizeof why, "%s", e->msg);
            fl_source_set_error(e, e->code, "%s", why);
        }
        return NULL;
    }
    fl_source *s = fl_xcalloc(1, sizeof *s);
    s->m = m;
    s->flavor = (fl_flavor)cfg->flavor;
    if (s->flavor == FL_FLAVOR_NONE) {
        const char *v = mysql_get_server_info(m);
        if (v && strstr(v, "MariaDB")) {
            s->flavor = FL_FLAVOR_MARIADB;
        } else {
            char *comment = NULL;
            fl_error ignored;
            s->flavor = FL_FLAVOR_MYSQL;
            if (fl_source_query_value(s, "SELECT @@version_comment", &comment, &ignored) == 0 &&
                strstr(comment, "MariaDB"))
                s->flavor = FL_FLAVOR_MARIADB;
            free(comment);
        }
    }
    return s;
}

void fl_source_close(fl_source *s)
{
    if (!s) return;
    mysql_close(s->m);
    free(s);
}

int fl_source_query_value(fl_source *s, const char *sql, char **out, fl_error *e)
{
    *out = NULL;
    if (mysql_query(s->m, sql) != 0) {
        set_err(s, e, sql);
        return -1;
    }
    MYSQL_RES *res = mysql_store_result(s->m);
    if (!res) {
        if (mysql_errno(s->m)) {
            set_err(s, e, sql);
            return -1;
        }
        *out = fl_xstrdup("");
        return 0;
    }
    MYSQL_ROW row = mysql_fetch_row(res);
    *out = fl_xstrdup(row && row[0] ? row[0] : "");
    mysql_free_result(res);
    return 0;
}

/* First row of a query: column c0 into *out0 and, when out1 is given, column c1 into *out1.
 * Returns 0, 1 when there is no row, -1 on error. */
static int first_row(fl_source *s, const char *sql, unsigned c0, char **out0, unsigned c1, char **out1,
                     fl_error *e)
{
    *out0 = NULL;
    if (out1) *out1 = NULL;
    if (mysql_query(s->m, sql) != 0) {
        set_err(s, e, sql);
        return -1;
    }
    MYSQL_RES *res = mysql_store_result(s->m);
    if (!res) {
        set_err(s, e, sql);
        return -1;
    }
    MYSQL_ROW row = mysql_fetch_row(res);
    unsigned nf = mysql_num_fields(res);
    int rc = 1;
    if (row && c0 < nf && (!out1 || c1 < nf)) {
        *out0 = fl_xstrdup(row[c0] ? row[c0] : "");
        if (out1) *out1 = fl_xstrdup(row[c1] ? row[c1] : "");
        rc = 0;
    }
    mysql_free_result(res);
    return rc;
}

/* SHOW MASTER STATUS (SHOW BINARY LOG STATUS on MySQL 8.4+): file and position. */
static int master_status(fl_source *s, char **file, uint64_t *pos, fl_error *e)
{
    char *p = NULL;
    int rc = first_row(s, "SHOW MASTER STATUS", 0, file, 1, &p, e);
    if (rc < 0 && s->flavor == FL_FLAVOR_MYSQL) rc = first_row(s, "SHOW BINARY LOG STATUS", 0, file, 1, &p, e);
    if (rc != 0) {
        if (rc == 1)
            fl_error_set(e, true, 0,
                         "the source has binary logging off (SHOW MASTER STATUS is "
                         "empty): start it with log_bin");
        return -1;
    }
    *pos = strtoull(p, NULL, 10);
    free(p);
    return 0;
}

static int canonical_set(fl_source *s, const char *text, char **out, fl_error *e)
{
    char perr[200];
    fl_gtid_set *set = fl_gtid_set_parse(text, perr, sizeof perr);
    if (!set) {
        return fl_error_set(e, true, 0, "bad GTID set '%s': %s", text, perr);
    }
    fl_flavor f = fl_gtid_set_flavor(set);
    if (f != FL_FLAVOR_NONE && f != s->flavor) {
        fl_error_set(e, true, 0, "GTID set '%s' is in %s form but the source is %s", text,
                     f == FL_FLAVOR_MARIADB ? "MariaDB" : "MySQL",
                     s->flavor == FL_FLAVOR_MARIADB ? "MariaDB" : "MySQL");
        fl_gtid_set_free(set);
        return -1;
    }
    *out = fl_gtid_set_format(set);
    fl_gtid_set_free(set);
    return 0;
}

int fl_source_resolve_start(fl_source *s, const fl_config_source *cfg, fl_source_pos *out, fl_error *e)
{
    memset(out, 0, sizeof *out);
    switch (cfg->start) {
    case FL_START_CURRENT: {
        char *gtids = NULL;
        if (master_status(s, &out->file, &out->pos, e) < 0) return -1;
        if (s->flavor == FL_FLAVOR_MARIADB) {
            if (fl_source_query_value(s, "SELECT @@global.gtid_binlog_pos", &gtids, e) < 0) goto fail;
        } else {
            char *mode = NULL;
            if (fl_source_query_value(s, "SELECT @@global.gtid_mode", &mode, e) < 0) goto fail;
            bool on = strcmp(mode, "ON") == 0;
            free(mode);
            if (on && fl_source_query_value(s, "SELECT @@global.gtid_executed", &gtids, e) < 0) goto fail;
        }
        if (gtids && gtids[0]) {
            /* MySQL lists gtid_executed over several lines. */
            char *w = gtids;
            for (char *r = gtids; *r; r++)
                if (*r != '\n' && *r != '\r' && *r != ' ') *w++ = *r;
            *w = '\0';
            int rc = canonical_set(s, gtids, &out->gtid_set, e);
            free(gtids);
            if (rc < 0) goto fail;
        } else {
            free(gtids);
            out->gtid_set = fl_xstrdup("");
        }
        return 0;
    }
    case FL_START_EARLIEST: {
        int rc = first_row(s, "SHOW BINARY LOGS", 0, &out->file, 0, NULL, e);
        if (rc != 0) {
            if (rc == 1 || e->code == ER_NO_BINARY_LOGGING)
                fl_error_set(e, true, ER_NO_BINARY_LOGGING,
                             "the source has binary logging off "
                             "(SHOW BINARY LOGS fails): start it with log_bin");
            goto fail;
        }
        out->pos = 4;
        out->gtid_set = fl_xstrdup("");
        return 0;
    }
    case FL_START_GTID:
        if (canonical_set(s, cfg->start_gtid ? cfg->start_gtid : "", &out->gtid_set, e) < 0) goto fail;
        out->file = fl_xstrdup("");
        out->pos = 4;
        return 0;
    case FL_START_FILE:
        out->file = fl_xstrdup(cfg->start_file ? cfg->start_file : "");
        out->pos = cfg->start_pos ? cfg->start_pos : 4;
        out->gtid_set = fl_xstrdup("");
        return 0;
    }
fail:
    /* Without a server error number the position itself is wrong: no retry changes that. */
    if (!e->code) e->permanent = true;
    fl_source_pos_free(out);
    return -1;
}

/* ---- wire encodings ------------------------------------------------------------------- */

static void put_u16le(fl_buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    fl_buf_put(b, x, 2);
}

static void put_short_str(fl_buf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > 255) n = 255;
    fl_buf_putc(b, (uint8_t)n);
    fl_buf_put(b, s, n);
}

void fl_source_encode_register(fl_buf *out, uint32_t server_id, const char *host, const char *user,
                               const char *password, uint16_t port)
{
    fl_buf_put_u32le(out, server_id);
    put_short_str(out, host);
    put_short_str(out, user);
    put_short_str(out, password);
    put_u16le(out, port);
    fl_buf_put_u32le(out, 0); /* replication rank */
    fl_buf_put_u32le(out, 0); /* master id: filled in by the server */
}

void fl_source_encode_dump(fl_buf *out, uint32_t server_id, const char *file, uint32_t pos, uint16_t flags)
{
    fl_buf_put_u32le(out, pos);
    put_u16le(out, flags); /* never BINLOG_DUMP_NON_BLOCK: the stream blocks for new events */
    fl_buf_put_u32le(out, server_id);
    fl_buf_puts(out, file ? file : "");
}

void fl_source_encode_gtid_set(fl_buf *out, const fl_gtid_set *set)
{
    size_t n = set ? fl_gtid_set_nsids(set) : 0;
    bool tagged = false;
    for (size_t i = 0; i < n; i++) {
        uint8_t uuid[16];
        const char *tag;
        const fl_gtid_interval *iv;
        size_t niv;
        fl_gtid_set_sid(set, i, uuid, &tag, &iv, &niv);
        if (tag && tag[0]) tagged = true;
    }
    /* Untagged: the sid count; tagged: format 1 in the top and bottom bytes, the count in
     * the 48 bits between. */
    fl_buf_put_u64le(out, tagged ? (1ULL << 56) | ((uint64_t)n << 8) | 1ULL : (uint64_t)n);
    for (size_t i = 0; i < n; i++) {
        uint8_t uuid[16];
        const char *tag;
        const fl_gtid_interval *iv;
        size_t niv;
        fl_gtid_set_sid(set, i, uuid, &tag, &iv, &niv);
        fl_buf_put(out, uuid, 16);
        if (tagged) {
            /* Tag: length as a one-byte variable-length integer (length << 1, the tag is
             * at most 32 bytes), then the bytes. */
            size_t tl = tag ? strlen(tag) : 0;
            fl_buf_putc(out, (uint8_t)(tl << 1));
            fl_buf_put(out, tag, tl);
        }
        fl_buf_put_u64le(out, niv);
        for (size_t k = 0; k < niv; k++) {
            fl_buf_put_u64le(out, iv[k].start);
            fl_buf_put_u64le(out, iv[k].end);
        }
    }
}

void fl_source_encode_dump_gtid(fl_buf *out, uint32_t server_id, const char *file, uint64_t pos,
                                const fl_gtid_set *set)
{
    size_t flen = file ? strlen(file) : 0;
    put_u16le(out, DUMP_GTID_THROUGH_GTID);
    fl_buf_put_u32le(out, server_id);
    fl_buf_put_u32le(out, (uint32_t)flen);
    fl_buf_put(out, file, flen);
    fl_buf_put_u64le(out, pos);
    fl_buf reset = {0};
    fl_source_encode_gtid_set(&reset, set);
    fl_buf_put_u32le(out, (uint32_t)reset.len);
    fl_buf_put(out, reset.data, reset.len);
    fl_buf_free(&reset);
}

/* ---- streaming ------------------------------------------------------------------------ */

static int run(fl_source *s, const char *sql, fl_error *e)
{
    if (mysql_real_query(s->m, sql, strlen(sql)) != 0) {
        set_err(s, e, sql);
        return -1;
    }
    MYSQL_RES *res = mysql_store_result(s->m);
    if (res) mysql_free_result(res);
    return 0;
}

int fl_source_start(fl_source *s, uint32_t server_id, double heartbeat_s, const fl_source_pos *start, fl_error *e)
{
    char sql[512];
    bool mysql = s->flavor == FL_FLAVOR_MYSQL;
    bool by_gtid = start->gtid_set && start->gtid_set[0];

    /* Checksums as the server writes them (the decoder verifies them). */
    if (run(s,
            mysql ? "SET @master_binlog_checksum = @@global.binlog_checksum, "
                    "@source_binlog_checksum = @@global.binlog_checksum"
                  : "SET @master_binlog_checksum = @@global.binlog_checksum",
            e) < 0)
        return -1;
    uint64_t hb_ns = heartbeat_s > 0 ? (uint64_t)(heartbeat_s * 1e9) : 0;
    snprintf(sql, sizeof sql,
             mysql ? "SET @master_heartbeat_period = %" PRIu64 ", @source_heartbeat_period = %" PRIu64
                   : "SET @master_heartbeat_period = %" PRIu64,
             hb_ns, hb_ns);
    if (run(s, sql, e) < 0) return -1;

    fl_gtid_set *set = NULL;
    if (by_gtid) {
        char perr[200];
        set = fl_gtid_set_parse(start->gtid_set, perr, sizeof perr);
        if (!set) {
            return fl_error_set(e, true, 0, "bad start GTID set '%s': %s", start->gtid_set, perr);
        }
    }
    if (!mysql) {
        /* MariaDB: GTID events and GTID positioning. */
        if (run(s, "SET @mariadb_slave_capability = 4", e) < 0) goto fail;
        if (by_gtid) {
            char *text = fl_gtid_set_format(set); /* canonical: digits, '-' and ',' only */
            fl_buf q = {0};
            fl_buf_printf(&q,
                          "SET @slave_connect_state = '%s', @slave_gtid_strict_mode = 0, "
                          "@slave_gtid_ignore_duplicates = 0",
                          text);
            free(text);
            int rc = run(s, fl_buf_cstr(&q), e);
            fl_buf_free(&q);
            if (rc < 0) goto fail;
        }
    }

    fl_buf b = {0};
    if (server_id != 0) {
        char host[64] = "";
        if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
        fl_source_encode_register(&b, server_id, host, "", "", 0);
        if (s->m->methods->db_command(s->m, COM_REGISTER_SLAVE, (const char *)b.data, b.len, 0, NULL) != 0) {
            fl_buf_free(&b);
            set_err(s, e, "registering as a replica (COM_REGISTER_SLAVE)");
            goto fail;
        }
        fl_buf_reset(&b);
    }

    int rc;
    if (mysql && by_gtid) {
        fl_source_encode_dump_gtid(&b, server_id, "", 4, set);
        rc = s->m->methods->db_command(s->m, (enum enum_server_command)COM_DUMP_GTID_CMD, (const char *)b.data,
                                       b.len, 1, NULL);
    } else {
        /* MariaDB with @slave_connect_state ignores the file and position. */
        const char *file = by_gtid ? "" : start->file;
        uint64_t pos = by_gtid || start->pos < 4 ? 4 : start->pos;
        if (pos > UINT32_MAX) {
            fl_buf_free(&b);
            fl_error_set(e, true, 0, "binlog position %" PRIu64 " does not fit COM_BINLOG_DUMP", pos);
            goto fail;
        }
        fl_source_encode_dump(&b, server_id, file, (uint32_t)pos, mysql ? 0 : FL_DUMP_SEND_ANNOTATE_ROWS);
        rc = s->m->methods->db_command(s->m, COM_BINLOG_DUMP, (const char *)b.data, b.len, 1, NULL);
    }
    fl_buf_free(&b);
    if (rc != 0) {
        set_err(s, e, "requesting the binlog stream");
        goto fail;
    }
    fl_gtid_set_free(set);
    return 0;
fail:
    fl_gtid_set_free(set);
    return -1;
}

int fl_source_next_event(fl_source *s, const uint8_t **ev, size_t *len, fl_error *e)
{
    unsigned long n = mysql_net_read_packet(s->m);
    if (n == packet_error || n == 0) {
        unsigned code = mysql_errno(s->m) ? mysql_errno(s->m) : CR_SERVER_LOST;
        return fl_source_set_error(e, code, "reading the binlog stream: %s (error %u)",
                                   mysql_errno(s->m) ? mysql_error(s->m) : "connection lost", code);
    }
    const uint8_t *p = s->m->net.read_pos;
    if (p[0] == 0xfe && n < 8) {
        fl_error_set(e, false, 0, "the source ended the binlog stream");
        return 1;
    }
    if (p[0] != 0x00)
        return fl_error_set(e, false, CR_MALFORMED_PACKET,
                            "reading the binlog stream: unexpected packet type 0x%02x", p[0]);
    if (n - 1 < 19)
        return fl_error_set(e, false, CR_MALFORMED_PACKET,
                            "reading the binlog stream: event of %lu bytes is shorter than its header", n - 1);
    *ev = p + 1;
    *len = n - 1;
    return 0;
}

/* Bytes already read from the socket but not yet handed out: the library's read-ahead
 * cache, and over TLS the decrypted bytes OpenSSL holds. poll() sees neither. */
static bool cache_has_bytes(fl_source *s)
{
    MARIADB_PVIO *pvio = s->m->net.pvio;
    if (!pvio) return false;
    if (pvio->cache && pvio->cache + pvio->cache_size > pvio->cache_pos) return true;
    return pvio->ctls && pvio->ctls->ssl && SSL_pending((SSL *)pvio->ctls->ssl) > 0;
}

bool fl_source_pending(fl_source *s)
{
    if (cache_has_bytes(s)) return true;
    struct pollfd pfd = {.fd = (int)mysql_get_socket(s->m), .events = POLLIN};
    return pfd.fd >= 0 && poll(&pfd, 1, 0) > 0;
}
