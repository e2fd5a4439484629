/* check.c — `fl-relay -c FILE --check`: connects to the source and verifies everything the
 * relay needs, printing one line per finding ("ok", "warn" or "ERROR") with the fix.
 *
 * Settings are read from server variables. The two things variables cannot prove are tried
 * for real: the replication privilege and the start position are tested by registering as
 * a replica and asking for the stream from where the relay would start (the journal's
 * position, else [source] start); the server answers that with the exact error the relay
 * would get (missing privilege, purged GTIDs or binlogs). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mysqld_error.h>

#include "common/log.h"
#include "fl-relay/live.h"
#include "fl-relay/snapshot.h"
#include "fl-relay/source.h"
#include "journal/store.h"

typedef struct report {
    int errors, warnings;
} report;

static void ok(report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void vline(const char *label, const char *fmt, va_list ap)
{
    printf("%-5s ", label);
    vprintf(fmt, ap);
    putchar('\n');
}
static void ok(report *r, const char *fmt, ...)
{
    (void)r;
    va_list ap;
    va_start(ap, fmt);
    vline("ok", fmt, ap);
    va_end(ap);
}
static void warn(report *r, const char *fmt, ...)
{
    r->warnings++;
    va_list ap;
    va_start(ap, fmt);
    vline("warn", fmt, ap);
    va_end(ap);
}
static void bad(report *r, const char *fmt, ...)
{
    r->errors++;
    va_list ap;
    va_start(ap, fmt);
    vline("ERROR", fmt, ap);
    va_end(ap);
}

/* A global variable's value, or NULL when the server does not have it. */
static char *variable(fl_source *s, const char *name)
{
    char sql[128], *v = NULL;
    fl_error e;
    snprintf(sql, sizeof sql, "SELECT @@global.%s", name);
    if (fl_source_query_value(s, sql, &v, &e) < 0) return NULL;
    return v;
}

static void check_binlog(fl_source *s, report *r, bool *binlog_on)
{
    char *v = variable(s, "log_bin");
    *binlog_on = v && (strcmp(v, "1") == 0 || strcasecmp(v, "ON") == 0);
    if (*binlog_on)
        ok(r, "log_bin = ON");
    else
        bad(r, "log_bin = OFF: the server writes no binary log, there is nothing to replicate. "
               "Fix: set log_bin (e.g. log_bin = mysql-bin) under [mysqld] and restart the server");
    free(v);

    v = variable(s, "binlog_format");
    if (v && strcasecmp(v, "ROW") == 0)
        ok(r, "binlog_format = ROW");
    else
        bad(r,
            "binlog_format = %s: row changes are only in the binlog with ROW. Fix: "
            "SET GLOBAL binlog_format = 'ROW' and binlog_format = ROW under [mysqld] "
            "(sessions started before keep the old format until they reconnect)",
            v ? v : "unknown");
    free(v);

    v = variable(s, "binlog_row_image");
    if (v && strcasecmp(v, "FULL") == 0)
        ok(r, "binlog_row_image = FULL");
    else
        warn(r,
             "binlog_row_image = %s: updates and deletes carry only some columns, so cache "
             "rules that need whole rows (json/hash formats, key columns) see gaps. Fix: "
             "SET GLOBAL binlog_row_image = 'FULL' and binlog_row_image = FULL under [mysqld]",
             v ? v : "unknown");
    free(v);

    v = variable(s, "binlog_row_metadata");
    if (v && strcasecmp(v, "FULL") == 0)
        ok(r, "binlog_row_metadata = FULL (column names come with the row events)");
    else
        warn(r,
             "binlog_row_metadata = %s: row events carry no column names, so the relay reads "
             "them from information_schema (current names, not those at the time of an old "
             "event). Fix: SET GLOBAL binlog_row_metadata = 'FULL' and "
             "binlog_row_metadata = FULL under [mysqld]",
             v ? v : "not supported by this server");
    free(v);

    v = variable(s, "binlog_checksum");
    if (v) ok(r, "binlog_checksum = %s", v);
    free(v);
}

static void check_gtids(fl_source *s, report *r)
{
    if (fl_source_flavor(s) == FL_FLAVOR_MARIADB) {
        char *pos = variable(s, "gtid_binlog_pos");
        ok(r, "GTIDs: MariaDB always logs them (gtid_binlog_pos = '%s')", pos ? pos : "");
        free(pos);
        return;
    }
    char *mode = variable(s, "gtid_mode");
    if (mode && strcasecmp(mode, "ON") == 0) {
        ok(r, "gtid_mode = ON");
    } else {
        warn(r,
             "gtid_mode = %s: the relay resumes by binlog file and position, which does not "
             "survive a failover to another server. Fix: enforce_gtid_consistency = ON, then "
             "gtid_mode = ON (stepping through OFF_PERMISSIVE and ON_PERMISSIVE)",
             mode ? mode : "unknown");
    }
    free(mode);
}

static bool grant_has(const char *grants, const char *priv) { return strcasestr(grants, priv) != NULL; }

/* SHOW GRANTS for the connected user, all lines joined. */
static char *grants_text(fl_source *s)
{
    MYSQL *m = fl_source_mysql(s);
    if (mysql_query(m, "SHOW GRANTS") != 0) return NULL;
    MYSQL_RES *res = mysql_store_result(m);
    if (!res) return NULL;
    fl_buf b = {0};
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) != NULL)
        if (row[0]) {
            fl_buf_puts(&b, row[0]);
            fl_buf_putc(&b, '\n');
        }
    mysql_free_result(res);
    char *out = fl_xstrdup(fl_buf_cstr(&b));
    fl_buf_free(&b);
    return out;
}

/* ---- privileges beyond need ------------------------------------------------------------ */

/* What the relay needs; "SELECT" only on the replicated tables (checked with its object). */
static const char *const needed_privileges[] = {
    "USAGE",
    "SELECT",
    "REPLICATION SLAVE",
    "REPLICATION REPLICA",
    "REPLICATION CLIENT",
    "BINLOG MONITOR",
    "SLAVE MONITOR",
    "REPLICA MONITOR",
    NULL,
};

/* Appends one finding to out, the first five by name, the rest counted by the caller. */
static void excess_add(fl_buf *out, int *n, const char *what, size_t len, const char *on, size_t onlen)
{
    if (++*n > 5) return;
    if (out->len) fl_buf_puts(out, ", ");
    fl_buf_put(out, what, len);
    if (on) {
        fl_buf_puts(out, " ON ");
        fl_buf_put(out, on, onlen);
    }
}

/* The snapshot's watermark table: the relay creates it and replaces its row. */
static const char *const watermark_privileges[] = {"CREATE", "INSERT", "DELETE", NULL};

static bool on_watermark_db(const char *on, size_t onlen)
{
    static const char db[] = "`" FL_WATERMARK_DB "`.";
    return onlen > sizeof db - 1 && strncasecmp(on, db, sizeof db - 1) == 0;
}

static bool is_needed(const char *p, size_t len, const char *on, size_t onlen)
{
    if (on_watermark_db(on, onlen))
        for (int i = 0; watermark_privileges[i]; i++)
            if (len == strlen(watermark_privileges[i]) && strncasecmp(p, watermark_privileges[i], len) == 0)
                return true;
    for (int i = 0; needed_privileges[i]; i++) {
        size_t n = strlen(needed_privileges[i]);
        if (len == n && strncasecmp(p, needed_privileges[i], n) == 0)
            return !(n == 6 && onlen == 3 && memcmp(on, "*.*", 3) == 0 && strncasecmp(p, "SELECT", 6) == 0);
    }
    return false;
}

/* One line "GRANT priv[ (cols)], ... ON object TO user ... [WITH GRANT OPTION]". Lines that
 * grant a role ("GRANT `role` TO ...") have no privilege list and are passed over. */
static void excess_of_line(const char *line, size_t len, fl_buf *out, int *n)
{
    const char *end = line + len, *p = line + 6;
    if (len < 6 || strncasecmp(line, "GRANT ", 6) != 0) return;
    /* the privilege list ends at " ON " outside parentheses and quotes */
    const char *on = NULL;
    int depth = 0;
    char quote = 0;
    for (const char *c = p; c + 4 <= end; c++) {
        if (quote) {
            if (*c == quote) quote = 0;
        } else if (*c == '`' || *c == '\'' || *c == '"') {
            quote = *c;
        } else if (*c == '(') {
            depth++;
        } else if (*c == ')') {
            depth--;
        } else if (depth == 0 && strncasecmp(c, " ON ", 4) == 0) {
            on = c;
            break;
        } else if (depth == 0 && strncasecmp(c, " TO ", 4) == 0) {
            return; /* a role */
        }
    }
    if (!on) return;
    const char *obj = on + 4, *obj_end = obj;
    for (char q = 0; obj_end < end && (q || *obj_end != ' '); obj_end++) /* `my db`.* */
        if (q ? *obj_end == q : (*obj_end == '`' || *obj_end == '\'')) q = q ? 0 : *obj_end;
    size_t objlen = (size_t)(obj_end - obj);
    const char *item = p;
    depth = 0;
    for (const char *c = p; c <= on; c++) {
        if (c < on && *c == '(') depth++;
        if (c < on && *c == ')') depth--;
        if (c < on && (*c != ',' || depth > 0)) continue;
        /* item .. c is one privilege, maybe with a column list */
        const char *a = item, *b = a;
        while (a < c && *a == ' ') a++;
        for (b = a; b < c && *b != '('; b++) {
        }
        while (b > a && b[-1] == ' ') b--;
        if (b > a && !is_needed(a, (size_t)(b - a), obj, objlen))
            excess_add(out, n, a, (size_t)(b - a), obj, objlen);
        item = c + 1;
    }
    const char *to = strcasestr(obj_end, " TO ");
    if (to && to < end) {
        for (const char *c = to; c + 18 <= end; c++)
            if (strncasecmp(c, " WITH GRANT OPTION", 18) == 0) {
                excess_add(out, n, "WITH GRANT OPTION", 17, obj, objlen);
                break;
            }
    }
}

int fl_grants_beyond_need(const char *grants, char *out, size_t outlen)
{
    fl_buf b = {0};
    int n = 0;
    for (const char *line = grants; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        excess_of_line(line, len, &b, &n);
        line += len + (nl ? 1 : 0);
    }
    if (n > 5) fl_buf_printf(&b, " and %d more", n - 5);
    snprintf(out, outlen, "%s", n ? fl_buf_cstr(&b) : "");
    fl_buf_free(&b);
    return n;
}

static void check_privileges(fl_source *s, report *r, const char *user)
{
    char *g = grants_text(s);
    if (!g) {
        warn(r, "SHOW GRANTS failed: %s; privileges are tested below by use", mysql_error(fl_source_mysql(s)));
        return;
    }
    bool all = grant_has(g, "ALL PRIVILEGES ON *.*");
    bool mariadb = fl_source_flavor(s) == FL_FLAVOR_MARIADB;
    if (all || grant_has(g, "REPLICATION SLAVE") || grant_has(g, "REPLICATION REPLICA"))
        ok(r, "privilege REPLICATION SLAVE");
    else
        bad(r,
            "user '%s' lacks REPLICATION SLAVE: the server refuses to send the binlog. Fix: "
            "GRANT REPLICATION SLAVE ON *.* TO '%s'@'<host>'",
            user, user);
    /* MariaDB 10.5 split REPLICATION CLIENT; BINLOG MONITOR is its new name. */
    if (all || grant_has(g, "REPLICATION CLIENT") || grant_has(g, "BINLOG MONITOR") || grant_has(g, "SUPER"))
        ok(r, "privilege %s", mariadb ? "BINLOG MONITOR (REPLICATION CLIENT)" : "REPLICATION CLIENT");
    else
        bad(r,
            "user '%s' lacks %s: the relay cannot read the server's binlog position. Fix: "
            "GRANT %s ON *.* TO '%s'@'<host>'",
            user, mariadb ? "BINLOG MONITOR" : "REPLICATION CLIENT",
            mariadb ? "BINLOG MONITOR" : "REPLICATION CLIENT", user);
    if (all || strcasestr(g, "GRANT SELECT") || strcasestr(g, ", SELECT") || strcasestr(g, "SELECT,"))
        ok(r, "privilege SELECT (column names from information_schema)");
    else
        warn(r,
             "user '%s' has no SELECT grant: information_schema shows it no columns, so when "
             "row events carry no names the columns stay unnamed (@1, @2, ...). Fix: GRANT "
             "SELECT ON <db>.* TO '%s'@'<host>' for the replicated databases",
             user, user);
    char excess[512];
    if (fl_grants_beyond_need(g, excess, sizeof excess) > 0)
        warn(r,
             "user '%s' holds more than the relay needs (%s): whoever learns its password can "
             "do that too. Fix: a user with only REPLICATION SLAVE, %s ON *.* and SELECT on "
             "the replicated databases (README, \"Setting up the source\")",
             user, excess, mariadb ? "BINLOG MONITOR" : "REPLICATION CLIENT");
    else
        ok(r, "no privilege beyond what the relay needs");
    free(g);
}

/* [snapshot]: the relay must create (once) and write fastlane.watermark. Tested by use in a
 * transaction rolled back, which the binlog never sees. */
static void check_watermark(fl_source *s, report *r, const fl_config *cfg)
{
    if (!cfg->snapshot.tables) return;
    MYSQL *m = fl_source_mysql(s);
    const char *user = cfg->source.user ? cfg->source.user : "";
    char *exists = NULL;
    fl_error e;
    if (fl_source_query_value(s,
                              "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = "
                              "'" FL_WATERMARK_DB "' AND TABLE_NAME = '" FL_WATERMARK_TABLE "'",
                              &exists, &e) < 0) {
        warn(r, "cannot look for " FL_WATERMARK_DB "." FL_WATERMARK_TABLE ": %s", e.msg);
        return;
    }
    bool there = strcmp(exists, "0") != 0;
    free(exists);
    if (!there) {
        char *g = grants_text(s);
        bool can = g && (grant_has(g, "ALL PRIVILEGES ON *.*") ||
                         (grant_has(g, "`" FL_WATERMARK_DB "`") && grant_has(g, "CREATE")));
        free(g);
        if (can)
            ok(r,
               "[snapshot]: " FL_WATERMARK_DB "." FL_WATERMARK_TABLE " does not exist yet; the relay creates it");
        else
            bad(r,
                "[snapshot]: " FL_WATERMARK_DB "." FL_WATERMARK_TABLE
                " does not exist and user '%s' cannot create it. "
                "Fix: GRANT CREATE, INSERT, DELETE ON " FL_WATERMARK_DB ".* TO '%s'@'<host>'",
                user, user);
        return;
    }
    char sql[200];
    snprintf(sql, sizeof sql,
             "REPLACE INTO `" FL_WATERMARK_DB "`.`" FL_WATERMARK_TABLE "` (relay, mark) VALUES (%u, 'check')",
             cfg->source.server_id);
    bool wrote = mysql_query(m, "START TRANSACTION") == 0 && mysql_query(m, sql) == 0;
    const char *why = wrote ? "" : mysql_error(m);
    char reason[256];
    snprintf(reason, sizeof reason, "%s", why);
    mysql_query(m, "ROLLBACK");
    if (wrote)
        ok(r, "[snapshot]: user may write " FL_WATERMARK_DB "." FL_WATERMARK_TABLE);
    else
        bad(r,
            "[snapshot]: user '%s' cannot write " FL_WATERMARK_DB "." FL_WATERMARK_TABLE
            " (%s). Fix: GRANT INSERT, "
            "DELETE ON " FL_WATERMARK_DB ".* TO '%s'@'<host>'",
            user, reason, user);
}

static void check_server_id(fl_source *s, report *r, uint32_t mine)
{
    char *v = variable(s, "server_id");
    unsigned long theirs = v ? strtoul(v, NULL, 10) : 0;
    if (v && theirs == mine)
        bad(r,
            "[source] server_id = %u is the server's own server_id: the server would treat "
            "the relay as itself. Fix: pick a server_id no server or replica uses",
            mine);
    else
        ok(r, "server_id %u differs from the server's (%lu)", mine, theirs);
    free(v);

    /* Registered replicas (needs REPLICATION MASTER ADMIN on MariaDB; skipped without).
     * MySQL 8.4 knows only SHOW REPLICAS. */
    MYSQL *m = fl_source_mysql(s);
    if (mysql_query(m, "SHOW SLAVE HOSTS") != 0 && mysql_query(m, "SHOW REPLICAS") != 0) return;
    MYSQL_RES *res = mysql_store_result(m);
    if (!res) return;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) != NULL)
        if (row[0] && strtoul(row[0], NULL, 10) == mine)
            warn(r,
                 "a replica with server_id %u is connected (host '%s'): two replicas with one "
                 "server_id keep disconnecting each other. If it is this relay already "
                 "running, ignore this; otherwise pick another [source] server_id",
                 mine, row[1] ? row[1] : "");
    mysql_free_result(res);
}

/* The journal's stored position, when a journal with one exists. */
static bool journal_position(const fl_config *cfg, fl_source_pos *out)
{
    if (!cfg->journal.path) return false;
    char err[256];
    fl_store_opts o = {.write = false};
    fl_store *st = fl_store_open(cfg->journal.path, &o, err, sizeof err);
    if (!st) return false;
    fl_position p = {0};
    bool have = false;
    if (fl_store_position(st, &p, err, sizeof err) == 0 &&
        ((p.gtid_set && p.gtid_set[0]) || (p.file && p.file[0]))) {
        out->gtid_set = fl_xstrdup(p.gtid_set ? p.gtid_set : "");
        out->file = fl_xstrdup(p.file ? p.file : "");
        out->pos = p.pos;
        have = true;
    }
    fl_position_free(&p);
    fl_store_close(st);
    return have;
}

static void describe(const fl_source_pos *p, char *buf, size_t n)
{
    if (p->gtid_set && p->gtid_set[0])
        snprintf(buf, n, "after GTIDs %s", p->gtid_set);
    else
        snprintf(buf, n, "%s:%llu", p->file ? p->file : "", (unsigned long long)p->pos);
}

/* Registers and asks for the stream where the relay would start; reads the first event. */
static void check_stream(const fl_config *cfg, report *r)
{
    char where[512];
    fl_error e;
    fl_source *s = fl_source_connect(&cfg->source, 10, &e);
    if (!s) {
        bad(r, "%s", e.msg);
        return;
    }
    fl_source_pos start = {0};
    bool resume = journal_position(cfg, &start);
    if (!resume && fl_source_resolve_start(s, &cfg->source, &start, &e) < 0) {
        bad(r, "start position: %s", e.msg);
        fl_source_close(s);
        return;
    }
    describe(&start, where, sizeof where);
    const char *origin = resume ? "the journal's position" : "[source] start";
    const uint8_t *ev;
    size_t len;
    /* Without registering: a running relay with this server_id keeps its stream. */
    int rc = fl_source_start(s, 0, cfg->source.heartbeat, &start, &e);
    if (rc == 0) rc = fl_source_next_event(s, &ev, &len, &e);
    if (rc == 0)
        ok(r, "replication stream opens at %s (%s)", origin, where);
    else
        bad(r, "the server cannot stream from %s (%s): %s", origin, where, e.msg);
    fl_source_pos_free(&start);
    fl_source_close(s);
}

int fl_live_check(const fl_config *cfg)
{
    report r = {0};
    fl_error e;
    const fl_config_source *src = &cfg->source;
    fl_source *s = fl_source_connect(src, 10, &e);
    if (!s) {
        bad(&r, "%s", e.msg);
        printf("source not ready: cannot connect\n");
        return 1;
    }
    const char *cipher = mysql_get_ssl_cipher(fl_source_mysql(s));
    ok(&r, "connected: %s (%s), %s%s", fl_source_version(s),
       fl_source_flavor(s) == FL_FLAVOR_MARIADB ? "MariaDB" : "MySQL", cipher ? "TLS " : "no TLS",
       cipher ? cipher : "");
    if (src->flavor != 0 && src->flavor != (int)fl_source_flavor(s))
        warn(&r, "[source] flavor is set explicitly; make sure it matches the server");

    bool binlog_on = false;
    check_binlog(s, &r, &binlog_on);
    check_gtids(s, &r);
    check_privileges(s, &r, src->user ? src->user : "");
    check_server_id(s, &r, src->server_id);
    check_watermark(s, &r, cfg);
    fl_source_close(s);
    if (binlog_on) check_stream(cfg, &r);

    if (r.errors)
        printf("source not ready: %d problem%s, %d warning%s\n", r.errors, r.errors == 1 ? "" : "s", r.warnings,
               r.warnings == 1 ? "" : "s");
    else if (r.warnings)
        printf("source ready, %d warning%s\n", r.warnings, r.warnings == 1 ? "" : "s");
    else
        printf("source ready\n");
    return r.errors ? 1 : 0;
}
