/* fl-dump.c — prints the journal's transactions, for people (one block per transaction) or
 * for programs (--json, one object per line), a range or one GTID of them, its statistics
 * (--stats), and, with --follow, new transactions as the relay commits them.
 *
 * With --relay HOST:PORT it reads a relay's feed instead of a local directory (the same
 * authentication and TLS as fl-apply), so the journal can be inspected from another host.
 *
 * The journal is opened read-only: fl-dump never blocks the relay writing it. Usage errors
 * exit 2, journal errors (missing, not a journal, unknown GTID, bad record) exit 1, each
 * with a one-line reason on stderr. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/cli.h"
#include "common/gtid.h"
#include "common/secret_file.h"
#include "common/value.h"
#include "feed/feed_client.h"
#include "feed/feed_proto.h"
#include "journal/record.h"
#include "journal/store.h"

#define EXIT_USAGE 2

typedef struct dump_opts {
    const char *dir;
    bool json;
    bool follow;
    bool stats;
    bool has_from_seq, has_from_gtid, has_gtid, has_limit;
    uint64_t from_seq;
    uint64_t limit;
    fl_gtid from_gtid;
    fl_gtid gtid;
    const char *from_gtid_text, *gtid_text;
    const char *relay, *secret, *secret_file, *tls_ca;
} dump_opts;

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f)
{
    fputs("usage: fl-dump [options] DIR\n"
          "       fl-dump [options] --relay HOST:PORT --secret-file FILE [--tls-ca FILE]\n"
          "Prints the transactions of the fastlane journal in DIR, or served by a relay's feed.\n"
          "\n"
          "  --json            one JSON object per transaction per line\n"
          "  --from-seq N      start at sequence number N (inclusive)\n"
          "  --from-gtid G     start at the transaction with GTID G (inclusive)\n"
          "  --gtid G          print only the transaction with GTID G\n"
          "  --limit N         print at most N transactions\n"
          "  --follow          after the last transaction, wait for new ones (SIGINT/SIGTERM end it)\n"
          "  --stats           print the journal's statistics as one JSON object\n"
          "  --relay HOST:PORT read from fl-relay's feed instead of a directory\n"
          "  --secret S, --secret-file F   the feed's shared secret\n"
          "  --tls-ca F        use TLS and trust the relay's certificate only if F signed it\n"
          "  -h, --help        this text\n"
          "  -V, --version     the version\n",
          f);
}

/* ---- arguments ---- */

static int parse_u64(const char *opt, const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end || errno == ERANGE) {
        fprintf(stderr, "fl-dump: %s: bad value '%s' (expected a non-negative integer)\n", opt, text);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_gtid_arg(const char *opt, const char *text, fl_gtid *out)
{
    if (fl_gtid_parse(out, text, strlen(text)) != 0 || out->flavor == FL_FLAVOR_NONE) {
        fprintf(stderr, "fl-dump: %s: bad GTID '%s' (expected domain-server-seq or uuid[:tag]:n)\n", opt, text);
        return -1;
    }
    return 0;
}

/* Returns 0 to go on, 1 when --help or --version was printed, -1 on a usage error (already reported). */
static int parse_args(int argc, char **argv, dump_opts *o)
{
    enum {
        OPT_JSON = 256,
        OPT_FROM_SEQ,
        OPT_FROM_GTID,
        OPT_GTID,
        OPT_LIMIT,
        OPT_FOLLOW,
        OPT_STATS,
        OPT_RELAY,
        OPT_SECRET,
        OPT_SECRET_FILE,
        OPT_TLS_CA
    };
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"from-seq", required_argument, NULL, OPT_FROM_SEQ},
        {"from-gtid", required_argument, NULL, OPT_FROM_GTID},
        {"gtid", required_argument, NULL, OPT_GTID},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"follow", no_argument, NULL, OPT_FOLLOW},
        {"stats", no_argument, NULL, OPT_STATS},
        {"relay", required_argument, NULL, OPT_RELAY},
        {"secret", required_argument, NULL, OPT_SECRET},
        {"secret-file", required_argument, NULL, OPT_SECRET_FILE},
        {"tls-ca", required_argument, NULL, OPT_TLS_CA},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":hV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_JSON: o->json = true; break;
        case OPT_FOLLOW: o->follow = true; break;
        case OPT_STATS: o->stats = true; break;
        case OPT_RELAY: o->relay = optarg; break;
        case OPT_SECRET: o->secret = optarg; break;
        case OPT_SECRET_FILE: o->secret_file = optarg; break;
        case OPT_TLS_CA: o->tls_ca = optarg; break;
        case OPT_FROM_SEQ:
            if (parse_u64("--from-seq", optarg, &o->from_seq)) return -1;
            o->has_from_seq = true;
            break;
        case OPT_LIMIT:
            if (parse_u64("--limit", optarg, &o->limit)) return -1;
            o->has_limit = true;
            break;
        case OPT_FROM_GTID:
            if (parse_gtid_arg("--from-gtid", optarg, &o->from_gtid)) return -1;
            o->from_gtid_text = optarg;
            o->has_from_gtid = true;
            break;
        case OPT_GTID:
            if (parse_gtid_arg("--gtid", optarg, &o->gtid)) return -1;
            o->gtid_text = optarg;
            o->has_gtid = true;
            break;
        case 'h': usage(stdout); return 1;
        case 'V': fl_cli_print_version("fl-dump"); return 1;
        default: fl_cli_bad_option("fl-dump", c, argv); return -1;
        }
    }
    if (o->relay) {
        if (optind < argc) {
            fprintf(stderr, "fl-dump: unexpected argument '%s' (--relay replaces the directory)\n", argv[optind]);
            return -1;
        }
        if (o->secret && o->secret_file) {
            fprintf(stderr, "fl-dump: --secret and --secret-file cannot be combined\n");
            return -1;
        }
        const char *weak = o->secret ? fl_feed_secret_problem(o->secret) : NULL;
        if (weak) {
            fprintf(stderr, "fl-dump: --secret: the secret is %s\n", weak);
            return -1;
        }
    } else {
        if (o->secret || o->secret_file || o->tls_ca) {
            fprintf(stderr, "fl-dump: --secret, --secret-file and --tls-ca go with --relay\n");
            return -1;
        }
        if (optind >= argc) {
            fprintf(stderr, "fl-dump: missing journal directory (see --help)\n");
            return -1;
        }
        if (optind + 1 < argc) {
            fprintf(stderr, "fl-dump: unexpected argument '%s' (one journal directory)\n", argv[optind + 1]);
            return -1;
        }
        o->dir = argv[optind];
    }

    const char *conflict = NULL;
    if (o->has_from_seq && o->has_from_gtid)
        conflict = "--from-seq and --from-gtid";
    else if (o->has_gtid && (o->has_from_seq || o->has_from_gtid))
        conflict = "--gtid and --from-seq/--from-gtid";
    else if (o->has_gtid && o->follow)
        conflict = "--gtid and --follow";
    else if (o->stats &&
             (o->has_gtid || o->has_from_seq || o->has_from_gtid || o->has_limit || o->follow || o->json))
        conflict = "--stats and the listing options";
    if (conflict) {
        fprintf(stderr, "fl-dump: %s cannot be combined\n", conflict);
        return -1;
    }
    return 0;
}

/* ---- rendering ---- */

static void put_gtid(fl_buf *out, const fl_gtid *g)
{
    char text[FL_GTID_TEXT_MAX];
    if (g->flavor == FL_FLAVOR_NONE) {
        fl_buf_puts(out, "anonymous");
        return;
    }
    fl_gtid_format(g, text, sizeof text);
    fl_buf_puts(out, text);
}

/* Text for a terminal: control bytes other than newline and tab (an ESC could drive the
 * terminal, a password hash in an ALTER USER holds arbitrary bytes) are written as \xNN. */
static void put_printable(fl_buf *out, const char *s, size_t len)
{
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)s[i];
        if ((c >= 0x20 && c != 0x7f) || c == '\n' || c == '\t') continue;
        fl_buf_put(out, s + run, i - run);
        fl_buf_printf(out, "\\x%02x", c);
        run = i + 1;
    }
    if (len > run) fl_buf_put(out, s + run, len - run);
}

static void put_printable_str(fl_buf *out, const char *s)
{
    if (s) put_printable(out, s, strlen(s));
}

/* "    before: id=1 name="a"": the image's present columns, values in canonical JSON. */
static void put_image(fl_buf *out, const char *label, const fl_table *tb, const fl_value *vals)
{
    fl_buf_printf(out, "    %-7s", label);
    for (uint32_t i = 0; i < tb->ncols; i++) {
        if (vals[i].type == FL_VAL_ABSENT) continue;
        fl_buf_putc(out, ' ');
        if (tb->cols && tb->cols[i])
            put_printable_str(out, tb->cols[i]);
        else
            fl_buf_printf(out, "@%u", i + 1);
        fl_buf_putc(out, '=');
        if (vals[i].type == FL_VAL_UNKNOWN)
            fl_buf_puts(out, "(unknown)"); /* not in the binlog */
        else
            fl_value_to_json(&vals[i], out);
    }
    fl_buf_putc(out, '\n');
}

/* One block per transaction:
 *   seq 7  gtid 0-1-7  time 2026-11-24 12:00:00  server_id 1  pos bin.000001:702
 *     update app.users
 *       before: id=1 name="a"
 *       after:  id=1 name="b"
 *     ddl app: ALTER TABLE users ADD c INT
 * followed by an empty line. Names and statements are shown as they are, but for control
 * bytes; values are in their canonical JSON form. */
static void render_human(const fl_txn *t, fl_buf *out)
{
    fl_buf_printf(out, "seq %llu  gtid ", (unsigned long long)t->seq);
    put_gtid(out, &t->gtid);
    fl_buf_puts(out, "  time ");
    fl_format_utc(out, t->ts);
    fl_buf_printf(out, "  server_id %u  pos ", t->server_id);
    put_printable_str(out, t->file);
    fl_buf_printf(out, ":%llu", (unsigned long long)t->pos);
    if (t->flags & FL_TXN_XA) fl_buf_puts(out, "  xa");
    if (t->flags & FL_TXN_STATEMENT) fl_buf_puts(out, "  statement-based");
    if ((t->flags & FL_TXN_SNAPSHOT) && t->snapshot_table < t->ntables) {
        const fl_table *st = &t->tables[t->snapshot_table];
        fl_buf_puts(out, "  snapshot ");
        put_printable_str(out, st->db);
        fl_buf_putc(out, '.');
        put_printable_str(out, st->name);
        fl_buf_printf(out, " %s %llu%s", (t->flags & FL_TXN_SNAPSHOT_KEYS) ? "keys batch" : "chunk",
                      (unsigned long long)t->snapshot_chunk, (t->flags & FL_TXN_SNAPSHOT_LAST) ? " (last)" : "");
    }
    fl_buf_putc(out, '\n');
    for (uint32_t i = 0; i < t->nchanges; i++) {
        const fl_change *c = &t->changes[i];
        if (c->op == FL_OP_DDL || c->op == FL_OP_STATEMENT) {
            fl_buf_printf(out, "  %s", fl_op_name(c->op));
            if (c->db && c->db[0]) {
                fl_buf_putc(out, ' ');
                put_printable_str(out, c->db);
            }
            fl_buf_puts(out, ": ");
            if (c->sql) put_printable(out, c->sql, c->sql_len);
            fl_buf_putc(out, '\n');
            continue;
        }
        if (c->table >= t->ntables) {
            fl_buf_printf(out, "  %s (table #%u missing)\n", fl_op_name(c->op), c->table);
            continue;
        }
        const fl_table *tb = &t->tables[c->table];
        fl_buf_printf(out, "  %s ", fl_op_name(c->op));
        put_printable_str(out, tb->db);
        fl_buf_putc(out, '.');
        put_printable_str(out, tb->name);
        fl_buf_putc(out, '\n');
        if (c->sql && c->sql_len) {
            fl_buf_puts(out, "    query:  ");
            put_printable(out, c->sql, c->sql_len);
            fl_buf_putc(out, '\n');
        }
        if (c->before) put_image(out, "before:", tb, c->before);
        if (c->after) put_image(out, "after:", tb, c->after);
    }
    fl_buf_putc(out, '\n');
}

static int emit(const dump_opts *o, const fl_txn *t, fl_buf *out)
{
    fl_buf_reset(out);
    if (o->json) {
        fl_txn_to_json(t, out);
        fl_buf_putc(out, '\n');
    } else {
        render_human(t, out);
    }
    if (fwrite(out->data, 1, out->len, stdout) != out->len) {
        fprintf(stderr, "fl-dump: writing output: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- modes ---- */

static void json_gtid_or_null(fl_buf *out, const fl_gtid *g, bool present)
{
    char text[FL_GTID_TEXT_MAX];
    if (!present || g->flavor == FL_FLAVOR_NONE) {
        fl_buf_puts(out, "null");
        return;
    }
    size_t n = fl_gtid_format(g, text, sizeof text);
    fl_json_string(out, text, n);
}

static void json_time_or_null(fl_buf *out, uint64_t ts, bool present)
{
    if (!present) {
        fl_buf_puts(out, "null");
        return;
    }
    fl_buf_putc(out, '"');
    fl_format_utc(out, ts);
    fl_buf_putc(out, '"');
}

static int print_stats(fl_store *s)
{
    fl_store_info info;
    char err[256];
    if (fl_store_info_get(s, &info, err, sizeof err) != 0) {
        fprintf(stderr, "fl-dump: %s\n", err);
        return 1;
    }
    bool any = info.count > 0;
    fl_buf out = {0};
    fl_buf_printf(&out, "{\"count\":%llu,\"first_seq\":%llu,\"last_seq\":%llu,\"first_gtid\":",
                  (unsigned long long)info.count, (unsigned long long)info.first_seq,
                  (unsigned long long)info.last_seq);
    json_gtid_or_null(&out, &info.first_gtid, any);
    fl_buf_puts(&out, ",\"last_gtid\":");
    json_gtid_or_null(&out, &info.last_gtid, any);
    fl_buf_puts(&out, ",\"first_ts\":");
    json_time_or_null(&out, info.first_ts, any);
    fl_buf_puts(&out, ",\"last_ts\":");
    json_time_or_null(&out, info.last_ts, any);
    fl_buf_printf(&out, ",\"bytes\":%llu,\"purged_seq\":%llu,\"identity\":", (unsigned long long)info.bytes,
                  (unsigned long long)info.purged_seq);
    if (info.identity[0])
        fl_buf_printf(&out, "\"%s\"}\n", info.identity);
    else
        fl_buf_puts(&out, "null}\n");
    int rc = fwrite(out.data, 1, out.len, stdout) == out.len ? 0 : 1;
    fl_buf_free(&out);
    return rc;
}

/* Resolves a GTID to its seq; reports an unknown one. Returns 0 or 1 (exit status). */
static int seek_gtid(fl_store *s, const fl_gtid *g, uint64_t *seq)
{
    char err[256];
    int r = fl_store_seek_gtid(s, g, seq, err, sizeof err);
    if (r == 0) return 0;
    if (r == 1) {
        char text[FL_GTID_TEXT_MAX];
        fl_gtid_format(g, text, sizeof text);
        fprintf(stderr, "fl-dump: GTID %s is not in the journal\n", text);
    } else {
        fprintf(stderr, "fl-dump: %s\n", err);
    }
    return 1;
}

static int print_one_gtid(fl_store *s, const dump_opts *o)
{
    uint64_t seq;
    if (seek_gtid(s, &o->gtid, &seq)) return 1;
    fl_txn t;
    fl_txn_init(&t);
    fl_buf out = {0};
    char err[256];
    int rc = 0;
    int r = fl_store_read(s, seq, &t, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "fl-dump: %s\n", err);
        rc = 1;
    } else if (r == 1) {
        fprintf(stderr, "fl-dump: seq %llu is not in the journal (purged?)\n", (unsigned long long)seq);
        rc = 1;
    } else if (emit(o, &t, &out)) {
        rc = 1;
    }
    fl_buf_free(&out);
    fl_txn_free(&t);
    return rc;
}

static void install_stop_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocking wait returns early */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Lists from the start position on, up to --limit; with --follow waits for more. */
static int print_range(fl_store *s, const dump_opts *o)
{
    uint64_t next = 0;
    if (o->has_from_seq) next = o->from_seq;
    if (o->has_from_gtid && seek_gtid(s, &o->from_gtid, &next)) return 1;
    if (o->follow) install_stop_handlers();

    fl_txn t;
    fl_txn_init(&t);
    fl_buf out = {0};
    char err[256];
    uint64_t printed = 0;
    int rc = 0;
    while (!stop_requested && !(o->has_limit && printed >= o->limit)) {
        uint64_t seq;
        int r = fl_store_next(s, next, &seq, err, sizeof err);
        if (r == 0) {
            r = fl_store_read(s, seq, &t, err, sizeof err);
            if (r == 0) {
                if (emit(o, &t, &out)) {
                    rc = 1;
                    break;
                }
                printed++;
                next = seq + 1;
                continue;
            }
        }
        if (r < 0) {
            fprintf(stderr, "fl-dump: %s\n", err);
            rc = 1;
            break;
        }
        /* nothing more for now */
        if (!o->follow) break;
        fflush(stdout);
        int w = fl_store_wait(s, next ? next - 1 : 0, 250);
        if (w < 0 && !stop_requested) {
            fprintf(stderr, "fl-dump: waiting for new transactions failed\n");
            rc = 1;
            break;
        }
    }
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "fl-dump: writing output: %s\n", strerror(errno));
        rc = 1;
    }
    fl_buf_free(&out);
    fl_txn_free(&t);
    return rc;
}

/* ---- a relay's feed ---- */

static int dump_remote(const dump_opts *o)
{
    char *secret = NULL, why[512];
    if (o->secret_file && !(secret = fl_secret_file_read(o->secret_file, why, sizeof why))) {
        fprintf(stderr, "fl-dump: --secret-file: %s\n", why);
        return 1;
    }
    const char *weak = secret ? fl_feed_secret_problem(secret) : NULL;
    if (weak) {
        fprintf(stderr, "fl-dump: --secret-file: the secret in '%s' is %s\n", o->secret_file, weak);
        fl_secret_free(secret);
        return 1;
    }
    fl_feed_client_opts fo = {.addr = o->relay, .secret = secret ? secret : o->secret, .tls_ca = o->tls_ca};
    int start = FL_FEED_FROM_SEQ;
    const char *gtid = NULL;
    if (o->stats)
        start = FL_FEED_INFO;
    else if (o->has_gtid || o->has_from_gtid)
        start = FL_FEED_FROM_GTID;
    if (!o->stats) gtid = o->has_gtid ? o->gtid_text : o->from_gtid_text;
    fl_feed_welcome w;
    fl_error err;
    fl_feed_client *c = fl_feed_client_connect(&fo, start, o->has_from_seq ? o->from_seq : 0, gtid, &w, &err);
    fl_secret_free(secret);
    if (!c) {
        fprintf(stderr, "fl-dump: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    if (o->stats) {
        uint64_t count = w.last_seq && w.first_seq ? w.last_seq - w.first_seq + 1 : 0;
        printf("{\"count\":%llu,\"first_seq\":%llu,\"last_seq\":%llu,\"purged_seq\":%llu,\"identity\":%s%s%s}\n",
               (unsigned long long)count, (unsigned long long)w.first_seq, (unsigned long long)w.last_seq,
               (unsigned long long)w.purged_seq, w.identity[0] ? "\"" : "", w.identity[0] ? w.identity : "null",
               w.identity[0] ? "\"" : "");
        fl_feed_client_close(c);
        return 0;
    }
    if (o->follow) install_stop_handlers();
    fl_txn t;
    fl_txn_init(&t);
    fl_buf out = {0};
    uint64_t printed = 0, head = w.last_seq;
    uint64_t limit = o->has_gtid ? 1 : (o->has_limit ? o->limit : UINT64_MAX);
    bool done = printed >= limit || (!o->follow && (head == 0 || w.start_seq > head));
    while (!done && !stop_requested) {
        int r = fl_feed_client_next(c, &t, o->follow ? 250 : 30000, &head, &err);
        if (r < 0) {
            fprintf(stderr, "fl-dump: %s\n", err.msg);
            rc = 1;
            break;
        }
        if (r == 0) {
            if (o->follow) {
                fflush(stdout);
                continue;
            }
            fprintf(stderr, "fl-dump: relay %s sent nothing for 30 s\n", o->relay);
            rc = 1;
            break;
        }
        if (emit(o, &t, &out)) {
            rc = 1;
            break;
        }
        printed++;
        done = printed >= limit || (!o->follow && t.seq >= w.last_seq);
    }
    if (fflush(stdout) != 0 && rc == 0) rc = 1;
    fl_buf_free(&out);
    fl_txn_free(&t);
    fl_feed_client_close(c);
    return rc;
}

int main(int argc, char **argv)
{
    dump_opts o;
    int pr = parse_args(argc, argv, &o);
    if (pr > 0) return 0;
    if (pr < 0) return EXIT_USAGE;
    if (o.relay) return dump_remote(&o);

    struct stat st;
    if (stat(o.dir, &st) != 0) {
        if (errno == ENOENT)
            fprintf(stderr, "fl-dump: %s: no such directory\n", o.dir);
        else
            fprintf(stderr, "fl-dump: %s: %s\n", o.dir, strerror(errno));
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "fl-dump: %s: not a directory\n", o.dir);
        return 1;
    }

    char err[512];
    fl_store_opts so = {.write = false};
    fl_store *s = fl_store_open(o.dir, &so, err, sizeof err);
    if (!s) {
        fprintf(stderr, "fl-dump: %s\n", err);
        return 1;
    }
    int rc;
    if (o.stats)
        rc = print_stats(s);
    else if (o.has_gtid)
        rc = print_one_gtid(s, &o);
    else
        rc = print_range(s, &o);
    fl_store_close(s);
    return rc;
}
