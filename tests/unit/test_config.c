/* test_config.c — configuration loading: a full valid file, defaults, and the exact
 * "FILE:LINE: [section] key: problem" message for each kind of mistake. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/secret_file.h"
#include "common/target_url.h"
#include "common/template.h"
#include "tests/unit/helpers.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    if (th_tmpdir_make(dir, sizeof dir, "config")) return -1;
    char p[128];
    snprintf(p, sizeof p, "%s/pw", dir);
    FILE *f = fopen(p, "w");
    fputs("s3cret pass\nsecond line\n", f);
    fclose(f);
    chmod(p, 0600);
    snprintf(p, sizeof p, "%s/feedsecret", dir);
    f = fopen(p, "w");
    fputs("feed-secret-0123456789\r\n", f);
    fclose(f);
    chmod(p, 0600);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return th_tmpdir_remove(dir);
}

/* Writes text to DIR/c.ini (with @D replaced by the temp dir) and loads it. */
static fl_config *load(const char *text, char **errors)
{
    char path[128];
    snprintf(path, sizeof path, "%s/c.ini", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (const char *p = text; *p; p++) {
        if (p[0] == '@' && p[1] == 'D') {
            fputs(dir, f);
            p++;
        } else
            fputc(*p, f);
    }
    fclose(f);
    return fl_config_load(path, errors);
}

/* Expects the load to fail with exactly `want` (lines "L: msg" get the file prefix). */
static void expect_errors(const char *text, const char *want)
{
    char *errors = NULL;
    fl_config *c = load(text, &errors);
    if (c) fail_msg("loaded although it should fail with: %s", want);
    assert_non_null(errors);
    char expect[4096];
    size_t k = 0;
    const char *p = want;
    while (*p) {
        k += (size_t)snprintf(expect + k, sizeof expect - k, "%s/c.ini:", dir);
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        for (size_t i = 0; i < n; i++) {
            if (p[i] == '@' && i + 1 < n && p[i + 1] == 'D') {
                k += (size_t)snprintf(expect + k, sizeof expect - k, "%s", dir);
                i++;
            } else {
                expect[k++] = p[i];
            }
        }
        expect[k++] = '\n';
        p += n + (nl ? 1 : 0);
    }
    expect[k] = 0;
    assert_string_equal(errors, expect);
    free(errors);
}

static const char *full = "; a complete configuration\n"
                          "[source]\n"
                          "host = db.example.com\n"
                          "port = 3307\n"
                          "user = repl\n"
                          "password_file = @D/pw\n"
                          "server_id = 4242\n"
                          "flavor = mariadb\n"
                          "ssl_mode = verify_identity\n"
                          "start = gtid:1-2-7, 0-1-42\n"
                          "heartbeat = 2.5\n"
                          "include = app.*, shop.orders\n"
                          "exclude = app.tmp_*\n"
                          "\n"
                          "[journal]\n"
                          "path = /var/lib/fastlane/journal\n"
                          "max_size = 10G\n"
                          "retain = 7d\n"
                          "sync = none\n"
                          "[feed]\n"
                          "listen = 127.0.0.1:7300\n"
                          "secret_file = @D/feedsecret\n"
                          "[metrics]\n"
                          "relay = [::1]:9300\n"
                          "apply = 127.0.0.1:9301\n"
                          "[apply]\n"
                          "name = cache1\n"
                          "target = redis://app:pw@127.0.0.1:6379/2\n"
                          "max_atomic_ops = 500\n"
                          "on_error = skip  ; inline comment\n"
                          "[rule users]\n"
                          "table = app.users\n"
                          "key = user:{id}:{{x}}\n"
                          "format = hash\n"
                          "ttl = 1h\n"
                          "columns = id, name ,email\n"
                          "[rule orders]\n"
                          "table = shop.orders\n"
                          "key = order:{id}\n"
                          "format = column:payload\n"
                          "mode = invalidate\n"
                          "[log]\n"
                          "level = debug\n";

static void test_full_valid(void **state)
{
    (void)state;
    char *errors = NULL;
    fl_config *c = load(full, &errors);
    if (!c) fail_msg("errors: %s", errors);
    assert_null(errors);
    fl_config_source *s = &c->source;
    assert_true(s->present);
    assert_int_equal(s->line, 2);
    assert_string_equal(s->host, "db.example.com");
    assert_int_equal(s->port, 3307);
    assert_string_equal(s->user, "repl");
    assert_string_equal(s->password, "s3cret pass");
    assert_int_equal(s->server_id, 4242);
    assert_int_equal(s->flavor, 1);
    assert_int_equal(s->ssl_mode, FL_SSL_VERIFY_IDENTITY);
    assert_int_equal(s->start, FL_START_GTID);
    assert_string_equal(s->start_gtid, "0-1-42,1-2-7");
    assert_true(s->heartbeat == 2.5);
    assert_string_equal(s->include[0], "app.*");
    assert_string_equal(s->include[1], "shop.orders");
    assert_null(s->include[2]);
    assert_string_equal(s->exclude[0], "app.tmp_*");
    assert_true(fl_config_table_wanted(s, "app", "users"));
    assert_false(fl_config_table_wanted(s, "app", "tmp_1"));
    assert_true(fl_config_table_wanted(s, "shop", "orders"));
    assert_false(fl_config_table_wanted(s, "shop", "items"));
    assert_string_equal(c->journal.path, "/var/lib/fastlane/journal");
    assert_true(c->journal.max_size == 10ull << 30);
    assert_int_equal(c->journal.retain, 7 * 86400);
    assert_false(c->journal.sync);
    assert_string_equal(c->feed.listen, "127.0.0.1:7300");
    assert_string_equal(c->feed.secret, "feed-secret-0123456789");
    assert_string_equal(c->metrics.relay, "[::1]:9300");
    assert_string_equal(c->metrics.apply, "127.0.0.1:9301");
    fl_config_apply *a = &c->apply;
    assert_string_equal(a->name, "cache1");
    assert_string_equal(a->journal, "/var/lib/fastlane/journal");
    assert_string_equal(a->target, "redis://app:pw@127.0.0.1:6379/2");
    assert_int_equal(a->max_atomic_ops, 500);
    assert_int_equal(a->on_error, FL_ON_ERROR_SKIP);
    assert_string_equal(a->checkpoint_path, "/var/lib/fastlane/journal/../cache1.checkpoint");
    assert_int_equal(c->nrules, 2);
    fl_config_rule *r = &c->rules[0];
    assert_string_equal(r->name, "users");
    assert_int_equal(r->line, 31);
    assert_string_equal(r->db, "app");
    assert_string_equal(r->table, "users");
    assert_string_equal(r->key, "user:{id}:{{x}}");
    assert_int_equal(r->key_line, 33);
    assert_int_equal(r->format, FL_FORMAT_HASH);
    assert_int_equal(r->mode, FL_MODE_UPSERT);
    assert_int_equal(r->ttl, 3600);
    assert_string_equal(r->columns[0], "id");
    assert_string_equal(r->columns[1], "name");
    assert_string_equal(r->columns[2], "email");
    assert_null(r->columns[3]);
    assert_int_equal(r->columns_line, 36);
    r = &c->rules[1];
    assert_int_equal(r->format, FL_FORMAT_COLUMN);
    assert_string_equal(r->format_column, "payload");
    assert_int_equal(r->mode, FL_MODE_INVALIDATE);
    assert_int_equal(r->ttl, 0);
    assert_null(r->columns);
    assert_string_equal(c->log_level, "debug");
    assert_null(fl_config_require(c, FL_NEED_SOURCE | FL_NEED_JOURNAL | FL_NEED_APPLY));
    fl_config_free(c);
}

static void test_defaults(void **state)
{
    (void)state;
    char *errors = NULL;
    fl_config *c = load("[source]\nuser = r\nserver_id = 9\n[journal]\npath = /j/\n[apply]\ntarget = "
                        "memcached://a:11211,b:11212\n",
                        &errors);
    if (!c) fail_msg("errors: %s", errors);
    assert_string_equal(c->source.host, "127.0.0.1");
    assert_int_equal(c->source.port, 3306);
    assert_null(c->source.socket);
    assert_null(c->source.password);
    assert_int_equal(c->source.flavor, 0);
    assert_int_equal(c->source.ssl_mode, FL_SSL_PREFERRED);
    assert_int_equal(c->source.start, FL_START_CURRENT);
    assert_true(c->source.heartbeat == 5);
    assert_null(c->source.include);
    assert_true(fl_config_table_wanted(&c->source, "any", "thing"));
    assert_int_equal(c->journal.max_size, 0);
    assert_int_equal(c->journal.retain, 0);
    assert_true(c->journal.sync);
    assert_false(c->feed.present);
    assert_null(c->feed.listen);
    assert_null(c->metrics.relay);
    assert_null(c->metrics.apply);
    assert_string_equal(c->apply.name, "default");
    assert_string_equal(c->apply.journal, "/j/");
    assert_string_equal(c->apply.checkpoint_path, "/j/../default.checkpoint");
    assert_int_equal(c->apply.max_atomic_ops, 10000);
    assert_int_equal(c->apply.on_error, FL_ON_ERROR_STOP);
    assert_true(c->apply.rebuild);
    assert_string_equal(c->log_level, "info");
    assert_int_equal(c->nrules, 0);
    fl_config_free(c);

    c = load("[log]\nlevel = warn\n", &errors);
    assert_non_null(c);
    char *need = fl_config_require(c, FL_NEED_SOURCE | FL_NEED_JOURNAL | FL_NEED_APPLY);
    assert_non_null(need);
    char want[512];
    snprintf(want, sizeof want,
             "%s/c.ini:0: [source]: missing section (host, port, user, password, server_id)\n"
             "%s/c.ini:0: [journal] path: missing (the journal directory)\n"
             "%s/c.ini:0: [apply]: missing section (target, and journal or relay)\n",
             dir, dir, dir);
    assert_string_equal(need, want);
    free(need);
    fl_config_free(c);

    c = load("[source]\nuser=u\nserver_id=1\nstart = file:binlog.000042:4\nsocket=/run/mysqld.sock\n", &errors);
    if (!c) fail_msg("errors: %s", errors);
    assert_int_equal(c->source.start, FL_START_FILE);
    assert_string_equal(c->source.start_file, "binlog.000042");
    assert_int_equal(c->source.start_pos, 4);
    assert_string_equal(c->source.socket, "/run/mysqld.sock");
    fl_config_free(c);
}

static void test_syntax_and_sections(void **state)
{
    (void)state;
    expect_errors("key = 1\n[source\n[bogus]\nx = 1\nnot a pair\n[sorce]\n[rule]\n[rules x]\n",
                  "1: key: key outside any section\n"
                  "2: section header without a closing ']'\n"
                  "3: [bogus]: unknown section (known: source, journal, feed, metrics, apply, log, snapshot, rule "
                  "NAME)\n"
                  "5: [bogus]: expected 'key = value' or '[section]'\n"
                  "6: [sorce]: unknown section (did you mean [source]?)\n"
                  "7: [rule]: a rule needs a name: [rule NAME]\n"
                  "8: [rules x]: unknown section (known: source, journal, feed, metrics, apply, log, snapshot, "
                  "rule NAME)\n");
    expect_errors("[log]\nlevel = info\n  continued\n[log]\n",
                  "3: [log]: indented line continues the previous value; write each value on one line\n"
                  "4: [log]: section appears twice (first on line 1); merge them\n");
    expect_errors("[rule a]\ntable=a.b\nkey=k\n[rule a]\ntable=a.c\nkey=k\n",
                  "4: [rule a]: rule defined twice (first on line 1)\n");
}

static void test_unknown_and_duplicate_keys(void **state)
{
    (void)state;
    expect_errors("[journal]\npath = /j\npaht = /k\nretian = 1d\nlisten = x:1\nbogus_key = 1\npath = /again\n",
                  "3: [journal] paht: unknown key (did you mean path?)\n"
                  "4: [journal] retian: unknown key (did you mean retain?)\n"
                  "5: [journal] listen: unknown key here (it belongs in [feed])\n"
                  "6: [journal] bogus_key: unknown key\n"
                  "7: [journal] path: set twice (first on line 2)\n");
}

static void test_bad_values(void **state)
{
    (void)state;
    expect_errors("[source]\nuser = u\nserver_id = 0\nport = 70000\nflavor = oracle\nssl_mode = yes\n"
                  "start = gtid:0-1\nheartbeat = soon\ninclude = app.*, ,x.y\nexclude = nodot, a.[bc\n"
                  "ssl_ca = @D/nonexistent.pem\n",
                  "3: [source] server_id: '0' is not a whole number from 1 to 4294967295\n"
                  "4: [source] port: '70000' is not a whole number from 1 to 65535\n"
                  "5: [source] flavor: 'oracle' is not one of auto, mysql, mariadb\n"
                  "6: [source] ssl_mode: 'yes' is not one of disabled, preferred, required, verify_ca, "
                  "verify_identity\n"
                  "7: [source] start: bad GTID set: bad GTID '0-1' (MariaDB domain-server-seq or MySQL uuid:n)\n"
                  "8: [source] heartbeat: 'soon' is not a number of seconds from 0 to 4294967\n"
                  "9: [source] include: empty pattern in the list (comma-separated db.table globs)\n"
                  "10: [source] exclude: pattern 'nodot' is not a db.table pattern\n"
                  "10: [source] exclude: pattern 'a.[bc' has a '[' without its ']'\n"
                  "11: [source] ssl_ca: cannot read '@D/nonexistent.pem': No such file or directory\n");
    expect_errors("[source]\nuser=u\nserver_id=1\nstart = file:nopos\n[journal]\npath=/j\nmax_size = 10X\n"
                  "retain = 1w\nsync = always\n[log]\nlevel = loud\n",
                  "4: [source] start: 'file:nopos' is not file:NAME:POS (e.g. file:binlog.000042:4)\n"
                  "7: [journal] max_size: '10X' is not a size (bytes, or a number with K, M, G or T; 0 = "
                  "unlimited)\n"
                  "8: [journal] retain: '1w' is not a duration (seconds, or a number with s, m, h or d; 0 = "
                  "forever)\n"
                  "9: [journal] sync: 'always' is not one of group, none\n"
                  "11: [log] level: 'loud' is not one of debug, info, warn, error\n");
    expect_errors("[apply]\njournal=/j\nname = a b\ntarget = http://x\nmax_atomic_ops = -1\non_error = ignore\n"
                  "[metrics]\nlisten = nohost\n[feed]\nlisten = 1.2.3.4:0\nsecret = 0123456789abcdef\n",
                  "3: [apply] name: 'a b' is not a name (1-64 characters: letters, digits, '_', '-', '.')\n"
                  "4: [apply] target: bad target URL: must start with redis://, rediss://, redis+unix://, "
                  "redis-cluster://, rediss-cluster:// or memcached://\n"
                  "5: [apply] max_atomic_ops: '-1' is not a whole number from 1 to 4294967295\n"
                  "6: [apply] on_error: 'ignore' is not one of stop, skip\n"
                  "8: [metrics] listen: 'nohost' is not host:port (port 1-65535; IPv6 as [addr]:port)\n"
                  "10: [feed] listen: '1.2.3.4:0' is not host:port (port 1-65535; IPv6 as [addr]:port)\n");
    char *errors = NULL;
    fl_config *c = fl_config_load_string("[apply]\njournal=/j\ntarget = redis://x:1\nrebuild = no\n", 53, "r.ini",
                                         &errors);
    assert_non_null(c);
    assert_false(c->apply.rebuild);
    fl_config_free(c);
    expect_errors("[apply]\njournal=/j\ntarget = redis://x:1\nrebuild = yes\n",
                  "4: [apply] rebuild: 'yes' is not one of auto, no\n");
}

static void test_target_urls(void **state)
{
    (void)state;
    expect_errors("[apply]\njournal=/j\ntarget = redis://user@h:1/0\n",
                  "3: [apply] target: bad target URL: credentials must be written user:password@ (user may be "
                  "empty)\n");
    expect_errors("[apply]\njournal=/j\ntarget = redis://u:hunter2@h/0\n",
                  "3: [apply] target: bad target URL: redis://[user:password@]host:port/db needs a host and a "
                  "port "
                  "(1-65535)\n");
    expect_errors("[apply]\njournal=/j\ntarget = redis://h:1/x\n",
                  "3: [apply] target: bad target URL: the database number after '/' is not a number from 0 to "
                  "65535\n");
    expect_errors("[apply]\njournal=/j\ntarget = redis+unix://relative\n",
                  "3: [apply] target: bad target URL: redis+unix:///path needs an absolute socket path\n");
    expect_errors("[apply]\njournal=/j\ntarget = memcached://a:1,,b:2\n",
                  "3: [apply] target: bad target URL: memcached:// has an empty server in its list\n");
    expect_errors("[apply]\njournal=/j\ntarget = memcached://a:1,b\n",
                  "3: [apply] target: bad target URL: each memcached server must be host:port (port 1-65535)\n");
    expect_errors("[apply]\njournal=/j\ntarget = memcached://justuser@a:1\n",
                  "3: [apply] target: bad target URL: memcached SASL credentials must be user:password@ before "
                  "the "
                  "servers\n");
}

/* Loads [apply] target = url; returns NULL when accepted, else the message after "target: ". */
static char *config_target_problem(const char *url)
{
    char text[512], *errors = NULL;
    snprintf(text, sizeof text, "[apply]\njournal=/j\ntarget = %s\n", url);
    fl_config *c = load(text, &errors);
    if (c) {
        assert_string_equal(c->apply.target, url);
        fl_config_free(c);
        return NULL;
    }
    const char *at = strstr(errors, "[apply] target: ");
    if (!at) fail_msg("%s: unexpected errors: %s", url, errors);
    char *msg = strdup(at + 16);
    msg[strcspn(msg, "\n")] = 0;
    free(errors);
    return msg;
}

/* Config validation and the parsers the targets use are one grammar: every case gets the
 * same verdict, and the same message, from both. */
static void test_target_urls_agree_with_parser(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        bool good;
    } cases[] = {
        {"redis://127.0.0.1:6379/0", true},
        {"redis://u:p@h:1/15", true},
        {"redis://h:6379", true},
        {"redis://[::1]:6379/1", true},
        {"redis://:pw@h:1/0", true},
        {"redis://app:p%40ss@h:1/65535", true},
        {"redis+unix:///run/redis.sock", true},
        {"redis+unix:///s?db=2&user=a&password=b%26c", true},
        {"memcached://a:1", true},
        {"memcached://a:1, b:2,[::1]:3", true},
        {"memcached://app:s%40cret@a:1,b:2", true},
        {"redis+unix:///path?dbx=1", false},
        {"redis://h:1/99999", false},
        {"redis://u%zz:pw@h:1/0", false},
        {"redis://h:1/", false},
        {"redis://h:1/x", false},
        {"redis://user@h:1/0", false},
        {"redis://h/0", false},
        {"redis://h:0", false},
        {"redis://u:pw%zz@h:1", false},
        {"redis+unix://relative", false},
        {"redis+unix:///", false},
        {"redis+unix:///s?db", false},
        {"redis+unix:///s?user=a", false},
        {"redis+unix:///s?user=%zz&password=p", false},
        {"redis+unix:///s%zz", false},
        {"memcached://", false},
        {"memcached://nohost", false},
        {"memcached://h:0", false},
        {"memcached://a:1,,b:2", false},
        {"memcached://a:1,", false},
        {"memcached://justuser@a:1", false},
        {"memcached://:pw@a:1", false},
        {"memcached://u%zz:pw@a:1", false},
        {"memcached://u:pw%zz@a:1", false},
        {"memcache://h:1", false},
        {"http://h:1", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *url = cases[i].url;
        char err[256] = "";
        int direct = fl_target_url_check(url, err, sizeof err);
        char *loaded = config_target_problem(url);
        if (cases[i].good && direct) fail_msg("%s: the parser refuses it: %s", url, err);
        if (!cases[i].good && !direct) fail_msg("%s: the parser accepts it", url);
        if (cases[i].good && loaded) fail_msg("%s: config refuses it: %s", url, loaded);
        if (!cases[i].good && !loaded) fail_msg("%s: config accepts it", url);
        if (loaded) {
            if (strcmp(loaded, err)) fail_msg("%s: config says '%s', the parser '%s'", url, loaded, err);
            free(loaded);
        }
    }
}

/* The same for key templates: config's verdict is the tokenizer's. */
static void test_templates_agree_with_tokenizer(void **state)
{
    (void)state;
    static const struct {
        const char *tpl;
        bool good;
    } cases[] = {
        {"user:{id}", true}, {"{db}.{id}", true}, {"{{x}}:{id}", true}, {"plain", true},
        {"a}}b{{c", true},   {"user:{id", false}, {"x}y", false},       {"{}", false},
        {"a{b{c}", false},   {"{a}}", false},     {"}", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *tpl = cases[i].tpl;
        fl_template t;
        const char *direct = fl_template_parse(tpl, &t);
        fl_template_free(&t);
        char text[512], *errors = NULL;
        snprintf(text, sizeof text, "[apply]\njournal=/j\ntarget=redis://h:1\n[rule r]\ntable = a.b\nkey = %s\n",
                 tpl);
        fl_config *c = load(text, &errors);
        if (cases[i].good) {
            if (direct) fail_msg("'%s': the tokenizer refuses it: %s", tpl, direct);
            if (!c) fail_msg("'%s': config refuses it: %s", tpl, errors);
            assert_string_equal(c->rules[0].key, tpl);
            fl_config_free(c);
            continue;
        }
        if (!direct) fail_msg("'%s': the tokenizer accepts it", tpl);
        if (c) fail_msg("'%s': config accepts it", tpl);
        char want[256];
        snprintf(want, sizeof want, "[rule r] key: template '%s' %s\n", tpl, direct);
        if (!strstr(errors, want)) fail_msg("'%s': config says '%s', the tokenizer '%s'", tpl, errors, direct);
        free(errors);
    }
}

static void test_rules(void **state)
{
    (void)state;
    expect_errors("[apply]\njournal=/j\ntarget=memcached://m:1\n"
                  "[rule r1]\ntable = users\nkey = user:{id\nformat = xml\nmode = sometimes\nttl = ten\ncolumns = "
                  "a,,b\n"
                  "[rule r2]\ntable = a.b\nkey = x}y\nformat = column:\n"
                  "[rule r3]\ntable = a.b\nkey = {}\nformat = hash\n"
                  "[rule r4]\nttl = 5\n",
                  "5: [rule r1] table: 'users' is not db.table\n"
                  "6: [rule r1] key: template 'user:{id' has a '{' without its '}' (write '{{' for a literal "
                  "brace)\n"
                  "7: [rule r1] format: 'xml' is not one of json, hash, column:NAME\n"
                  "8: [rule r1] mode: 'sometimes' is not one of upsert, invalidate\n"
                  "9: [rule r1] ttl: 'ten' is not a number of seconds (or a number with s, m, h or d; 0 = no "
                  "expiry)\n"
                  "10: [rule r1] columns: empty column name in the list (comma-separated column names)\n"
                  "13: [rule r2] key: template 'x}y' has a '}' without its '{' (write '}}' for a literal brace)\n"
                  "14: [rule r2] format: 'column:': column:NAME needs a column name\n"
                  "17: [rule r3] key: template '{}' has an empty placeholder '{}'\n"
                  "18: [rule r3] format: hash needs a Redis target; memcached stores json or column:NAME\n"
                  "19: [rule r4] table: missing (db.table this rule applies to)\n"
                  "19: [rule r4] key: missing (a key template such as user:{id})\n");
}

static void test_target_tls(void **state)
{
    (void)state;
    char *errors = NULL;
    fl_config *c = load("[apply]\njournal = /j\ntarget = rediss://cache.example.com:6380/1\ntarget_tls_ca = "
                        "@D/pw\n"
                        "target_tls_cert = @D/pw\ntarget_tls_key = @D/pw\n",
                        &errors);
    if (!c) fail_msg("%s", errors);
    char want[300];
    snprintf(want, sizeof want, "%s/pw", dir);
    assert_string_equal(c->apply.target_tls_ca, want);
    assert_string_equal(c->apply.target_tls_cert, want);
    assert_string_equal(c->apply.target_tls_key, want);
    fl_config_free(c);

    c = load("[apply]\njournal = /j\ntarget = rediss://h:1\n", &errors); /* the system store */
    if (!c) fail_msg("%s", errors);
    assert_null(c->apply.target_tls_ca);
    assert_null(c->apply.target_tls_cert);
    fl_config_free(c);

    expect_errors("[apply]\njournal = /j\ntarget = redis://h:1\ntarget_tls_ca = @D/pw\ntarget_tls_cert = @D/pw\n"
                  "target_tls_key = @D/pw\n",
                  "4: [apply] target_tls_ca: only used with a rediss:// or rediss-cluster:// target\n"
                  "5: [apply] target_tls_cert: only used with a rediss:// or rediss-cluster:// target\n"
                  "6: [apply] target_tls_key: only used with a rediss:// or rediss-cluster:// target\n");
    expect_errors("[apply]\njournal = /j\ntarget = memcached://h:1\ncheckpoint_path = /c\ntarget_tls_ca = @D/pw\n",
                  "5: [apply] target_tls_ca: only used with a rediss:// or rediss-cluster:// target\n");
    expect_errors("[apply]\njournal = /j\ntarget = rediss://h:1\ntarget_tls_cert = @D/pw\n",
                  "1: [apply] target_tls_key: missing (target_tls_cert and target_tls_key go together)\n");
    expect_errors("[apply]\njournal = /j\ntarget = rediss://h:1\ntarget_tls_key = @D/pw\n",
                  "1: [apply] target_tls_cert: missing (target_tls_cert and target_tls_key go together)\n");
    expect_errors("[apply]\njournal = /j\ntarget = rediss://h:1\ntarget_tls_ca = @D/nonexistent.pem\n",
                  "4: [apply] target_tls_ca: cannot read '@D/nonexistent.pem': No such file or directory\n");
}

static void test_cluster_wait(void **state)
{
    (void)state;
    char *errors = NULL;
    fl_config *c = load("[apply]\njournal = /j\ntarget = redis-cluster://h:1,h:2\n", &errors);
    if (!c) fail_msg("%s", errors);
    assert_int_equal(c->apply.cluster_wait_replicas, 1);
    assert_int_equal(c->apply.cluster_wait_timeout_ms, 1000);
    fl_config_free(c);
    c = load("[apply]\njournal = /j\ntarget = redis-cluster://h:1\ncluster_wait_replicas = "
             "0\ncluster_wait_timeout = "
             "250\n",
             &errors);
    if (!c) fail_msg("%s", errors);
    assert_int_equal(c->apply.cluster_wait_replicas, 0);
    assert_int_equal(c->apply.cluster_wait_timeout_ms, 250);
    fl_config_free(c);
    expect_errors("[apply]\njournal = /j\ntarget = redis-cluster://h:1\ncluster_wait_replicas = 17\n"
                  "cluster_wait_timeout = 0\n",
                  "4: [apply] cluster_wait_replicas: '17' is not a whole number from 0 to 16\n"
                  "5: [apply] cluster_wait_timeout: '0' is not a whole number from 1 to 10000\n");
    expect_errors("[apply]\njournal = /j\ntarget = redis://h:1\ncluster_wait_replicas = 1\n",
                  "4: [apply] cluster_wait_replicas: only used with a redis-cluster:// target\n");
}

static void test_required_and_exclusive(void **state)
{
    (void)state;
    expect_errors("# header comment\n[source]\npassword = a\npassword_file = "
                  "@D/pw\nsocket=/s\nhost=h\nssl_cert=@D/pw\n"
                  "[journal]\nmax_size=1G\n[feed]\nlisten = 127.0.0.1:1\ntls_key = @D/pw\n"
                  "[apply]\nrelay = r:1\njournal = /j\ntls_ca = @D/pw\n",
                  "2: [source] user: missing (the replication user)\n"
                  "2: [source] server_id: missing (a server id unique among the source's replicas, 1-4294967295)\n"
                  "2: [source] ssl_key: missing (ssl_cert and ssl_key go together)\n"
                  "4: [source] password_file: password is also set (line 3); keep one of them\n"
                  "5: [source] socket: host is also set (line 6); keep one of them\n"
                  "8: [journal] path: missing (the journal directory)\n"
                  "10: [feed] secret: missing (clients authenticate with secret or secret_file)\n"
                  "10: [feed] tls_cert: missing (tls_cert and tls_key go together)\n"
                  "13: [apply] secret: missing (a relay needs the feed's secret or secret_file)\n"
                  "13: [apply] target: missing (redis://host:port/db, redis+unix:///path or "
                  "memcached://host:port)\n"
                  "14: [apply] relay: journal is also set (line 15); read a local journal or a relay, not both\n");
    expect_errors("[feed]\nsecret_file = @D/missing\nsecret = 0123456789abcdef\n",
                  "2: [feed] secret_file: cannot read '@D/missing': No such file or directory\n"
                  "2: [feed] secret_file: secret is also set (line 3); keep one of them\n");
    expect_errors("[source]\nuser=u\nserver_id=1\npassword_file = "
                  "/dev/zero\n[apply]\njournal=/j\ntarget=redis://h:1\n"
                  "secret_file = @D\n",
                  "4: [source] password_file: cannot read '/dev/zero': not a regular file\n"
                  "8: [apply] secret_file: cannot read '@D': not a regular file\n");
    expect_errors("[apply]\ntarget = memcached://m:1\nrelay = r:1\nsecret = 0123456789abcdef\n",
                  "1: [apply] checkpoint_path: missing (a memcached target fed by a relay keeps its checkpoint in "
                  "this file)\n");
    expect_errors("[apply]\ntarget = redis://h:1/0\n",
                  "1: [apply] journal: missing (a local journal path, relay = host:port, or [journal] path)\n");
}

/* Writes DIR/NAME with content and mode. */
static void write_file(const char *name, const char *content, size_t len, mode_t mode)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fwrite(content, 1, len, f);
    fclose(f);
    assert_int_equal(chmod(p, mode), 0);
}

static void test_secret_policy(void **state)
{
    (void)state;
    write_file("short", "tooshort\n", 9, 0600);
    write_file("open", "0123456789abcdef0123\n", 21, 0644);
    write_file("grpw", "0123456789abcdef0123\n", 21, 0620);
    write_file("empty", "\nsecond\n", 8, 0600);
    write_file("nul", "0123456789\0abcdef\n", 18, 0600);
    char big[FL_SECRET_LINE_MAX + 10];
    memset(big, 'x', sizeof big);
    write_file("long", big, sizeof big, 0600);
    expect_errors("[feed]\nlisten = 127.0.0.1:1\nsecret = tooshort\n"
                  "[apply]\ntarget = redis://h:1\ncheckpoint_path = /c\nrelay = r:1\nsecret_file = @D/short\n",
                  "3: [feed] secret: the secret is shorter than 16 bytes; make a good one with: openssl rand -hex "
                  "32\n"
                  "8: [apply] secret_file: the secret in '@D/short' is shorter than 16 bytes; make a good one "
                  "with: "
                  "openssl rand -hex 32\n");
    expect_errors("[source]\nuser=u\nserver_id=1\npassword_file = @D/open\n[feed]\nlisten = 127.0.0.1:1\n"
                  "secret_file = @D/grpw\n",
                  "4: [source] password_file: '@D/open' is open to group or others (mode 0644); a secret file "
                  "must "
                  "not be: chmod 600 @D/open\n"
                  "7: [feed] secret_file: '@D/grpw' is open to group or others (mode 0620); a secret file must "
                  "not "
                  "be: chmod 600 @D/grpw\n");
    expect_errors("[source]\nuser=u\nserver_id=1\npassword_file = @D/empty\n[feed]\nlisten = 127.0.0.1:1\n"
                  "secret_file = @D/nul\n[apply]\njournal = /j\ntarget = redis://h:1\nsecret_file = @D/long\n",
                  "4: [source] password_file: '@D/empty': its first line is empty\n"
                  "7: [feed] secret_file: '@D/nul': its first line holds a NUL byte\n"
                  "11: [apply] secret_file: '@D/long': its first line is longer than 4096 bytes\n");
    /* a short database password is the database's business */
    write_file("shortpw", "pw\n", 3, 0400);
    char *errors = NULL;
    fl_config *c = load("[source]\nuser=u\nserver_id=1\npassword_file = @D/shortpw\n", &errors);
    if (!c) fail_msg("%s", errors);
    assert_string_equal(c->source.password, "pw");
    fl_config_free(c);
    const char *names[] = {"short", "open", "grpw", "empty", "nul", "long", "shortpw"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
}

static void test_inline_comments(void **state)
{
    (void)state;
    char *errors = NULL;
    fl_config *c = load("[source]   # the primary\n"
                        "host = 127.0.0.1         # or socket = /run/mysqld/mysqld.sock\n"
                        "user = fastlane\t; needs REPLICATION SLAVE\n"
                        "password = pa#ss;w0rd # the # and ; inside stay\n"
                        "server_id = 7 #seven\n"
                        "[apply] ; the applier\n"
                        "journal = /var/lib/fastlane/journal   # default: [journal] path\n"
                        "target = redis://127.0.0.1:6379/0     # redis://...\n"
                        "[rule users]\n"
                        "table = shop.users\n"
                        "key = user:{id}          # {column} placeholders\n",
                        &errors);
    if (!c) fail_msg("%s", errors);
    assert_string_equal(c->source.host, "127.0.0.1");
    assert_string_equal(c->source.user, "fastlane");
    assert_string_equal(c->source.password, "pa#ss;w0rd");
    assert_int_equal(c->source.server_id, 7);
    assert_string_equal(c->apply.journal, "/var/lib/fastlane/journal");
    assert_string_equal(c->apply.target, "redis://127.0.0.1:6379/0");
    assert_string_equal(c->rules[0].key, "user:{id}");
    fl_config_free(c);

    /* a value that is nothing but a comment is refused, not silently empty */
    expect_errors("[source]\nuser = u\nserver_id = 1\npassword =   #hunter2\n",
                  "4: [source] password: the value is only a comment ('#' or ';' after whitespace starts one); a "
                  "secret that starts with one goes in a file\n");
    expect_errors("[journal] # c\npath = /j\nsync = none # c ]\n[x] # c\n",
                  "4: [x]: unknown section (known: source, journal, feed, metrics, apply, log, snapshot, rule "
                  "NAME)\n");
}

/* The README's configuration (the ```ini block after "<!-- test_config" in README.md),
 * loaded as written: its files under /etc/fastlane/ become mode-600 files here. */
static void test_readme_config(void **state)
{
    (void)state;
    char path[512];
    const char *me = __FILE__, *tail = strstr(me, "tests/unit/test_config.c");
    snprintf(path, sizeof path, "%.*sREADME.md", tail ? (int)(tail - me) : 0, me);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot open %s", path);
    char *readme = NULL;
    size_t cap = 0, len = getdelim(&readme, &cap, 0, f);
    fclose(f);
    assert_true(len > 0);
    int blocks = 0;
    for (const char *m = strstr(readme, "<!-- test_config"); m; m = strstr(m + 1, "<!-- test_config")) {
        const char *open = strstr(m, "```ini\n");
        assert_non_null(open);
        open += 7;
        const char *close = strstr(open, "\n```");
        assert_non_null(close);
        fl_buf text = {0};
        for (const char *p = open; p <= close; p++) {
            if (!strncmp(p, "/etc/fastlane/", 14)) {
                const char *e = p + 14;
                while (*e && !strchr(" \t\n", *e)) e++;
                char name[128];
                snprintf(name, sizeof name, "readme-%.*s", (int)(e - p - 14), p + 14);
                write_file(name, "6f0b1f2c3d4e5a697887a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5\n", 65, 0600);
                fl_buf_printf(&text, "%s/%s", dir, name);
                p = e - 1;
                continue;
            }
            fl_buf_putc(&text, (uint8_t)*p);
        }
        char *errors = NULL;
        fl_config *c = fl_config_load_string((const char *)text.data, text.len, "README.md", &errors);
        if (!c) fail_msg("the README's configuration does not load:\n%s", errors);
        /* no comment text absorbed into a value */
        assert_string_equal(c->source.host, "127.0.0.1");
        assert_string_equal(c->source.user, "fastlane");
        assert_string_equal(c->apply.journal, "/var/lib/fastlane/journal");
        assert_string_equal(c->journal.path, "/var/lib/fastlane/journal");
        assert_string_equal(c->apply.target, "redis://127.0.0.1:6379/0");
        assert_int_equal(c->nrules, 1);
        assert_string_equal(c->rules[0].key, "user:{id}");
        assert_int_equal(c->source.server_id, 1001);
        fl_config_free(c);
        fl_buf_free(&text);
        blocks++;
    }
    free(readme);
    if (!blocks) fail_msg("README.md has no <!-- test_config --> block");
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -f %s/readme-*", dir);
    assert_int_equal(system(cmd), 0);
}

/* Each program its own metrics endpoint; the old [metrics] listen only where it is clear
 * which program it belongs to. */
static void test_metrics_settings(void **state)
{
    (void)state;
    char *errors = NULL;
    fl_config *c = load("[source]\nuser=u\nserver_id=1\n[journal]\npath=/j\n[metrics]\nlisten = 127.0.0.1:9187\n",
                        &errors);
    if (!c) fail_msg("%s", errors);
    assert_string_equal(c->metrics.relay, "127.0.0.1:9187");
    fl_config_free(c);
    c = load("[apply]\njournal=/j\ntarget=redis://h:1\n[metrics]\nlisten = 127.0.0.1:9188\n", &errors);
    if (!c) fail_msg("%s", errors);
    assert_string_equal(c->metrics.apply, "127.0.0.1:9188");
    fl_config_free(c);
    c = load("[source]\nuser=u\nserver_id=1\n[apply]\njournal=/j\ntarget=redis://h:1\n"
             "[metrics]\nrelay = 127.0.0.1:9187\napply = 127.0.0.1:9188\n",
             &errors);
    if (!c) fail_msg("%s", errors);
    assert_string_equal(c->metrics.relay, "127.0.0.1:9187");
    assert_string_equal(c->metrics.apply, "127.0.0.1:9188");
    fl_config_free(c);
    c = load("[apply]\njournal=/j\ntarget=redis://h:1\n[metrics]\nrelay = 127.0.0.1:9187\n", &errors);
    if (!c) fail_msg("%s", errors);
    assert_null(c->metrics.apply); /* fl-apply serves no metrics */
    fl_config_free(c);

    expect_errors("[source]\nuser=u\nserver_id=1\n[apply]\njournal=/j\ntarget=redis://h:1\n"
                  "[metrics]\nlisten = 127.0.0.1:9187\n",
                  "8: [metrics] listen: this file configures both fl-relay ([source]) and fl-apply ([apply]), "
                  "which "
                  "cannot listen on one address; write relay = HOST:PORT and apply = HOST:PORT instead\n");
    expect_errors("[metrics]\nlisten = 127.0.0.1:9187\napply = 127.0.0.1:9188\n",
                  "2: [metrics] listen: apply is also set (line 3); use relay = and apply = only\n");
    expect_errors("[metrics]\nrelay = 127.0.0.1:9187\napply = 127.0.0.1:9187\n",
                  "3: [metrics] apply: the same address as relay (line 2); each program needs its own\n");
    expect_errors("[metrics]\nrelay = nohost\n",
                  "2: [metrics] relay: 'nohost' is not host:port (port 1-65535; IPv6 as [addr]:port)\n");
}

static void test_secrets_never_shown(void **state)
{
    (void)state;
    char *errors = NULL;
    fl_config *c = load("[source]\npassword = TOPSECRET\npassword_file = @D/pw\n[apply]\njournal=/j\n"
                        "target = redis://u:TOPSECRET@nohostport/0\n",
                        &errors);
    assert_null(c);
    assert_non_null(errors);
    assert_null(strstr(errors, "TOPSECRET"));
    assert_null(strstr(errors, "s3cret"));
    free(errors);
}

static void test_long_lines_and_load_string(void **state)
{
    (void)state;
    /* values longer than inih's line buffer still arrive whole */
    char text[4096];
    size_t k = (size_t)snprintf(text, sizeof text, "[source]\nuser=u\nserver_id=1\ninclude = ");
    for (int i = 0; i < 60; i++) k += (size_t)snprintf(text + k, sizeof text - k, "%sdb%d.t*", i ? ", " : "", i);
    k += (size_t)snprintf(text + k, sizeof text - k, " # trailing ; comment\n");
    char *errors = NULL;
    fl_config *c = fl_config_load_string(text, k, "mem.ini", &errors);
    if (!c) fail_msg("%s", errors);
    size_t n = 0;
    while (c->source.include[n]) n++;
    assert_int_equal(n, 60);
    assert_string_equal(c->source.include[59], "db59.t*");
    assert_string_equal(c->path, "mem.ini");
    fl_config_free(c);

    c = fl_config_load_string("[journal]\npath=/j\nbad", 21, "mem.ini", &errors);
    assert_null(c);
    assert_string_equal(errors, "mem.ini:3: [journal]: expected 'key = value' or '[section]'\n");
    free(errors);
    c = fl_config_load_string("[log]\nlevel=info\0x\n", 19, "mem.ini", &errors);
    assert_null(c);
    assert_string_equal(errors, "mem.ini:2: [log]: line contains a NUL byte\n");
    free(errors);
    c = fl_config_load("/nonexistent/fastlane.ini", &errors);
    assert_null(c);
    assert_string_equal(errors, "/nonexistent/fastlane.ini: cannot read: No such file or directory\n");
    free(errors);
}

static void test_helpers(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(fl_parse_size("1024", &v), 0);
    assert_int_equal(v, 1024);
    assert_int_equal(fl_parse_size("64K", &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(fl_parse_size("512M", &v), 0);
    assert_int_equal(v, 512ull << 20);
    assert_int_equal(fl_parse_size("1T", &v), 0);
    assert_true(v == 1ull << 40);
    assert_int_equal(fl_parse_size("10GB", &v), 0);
    assert_int_equal(fl_parse_size("", &v), -1);
    assert_int_equal(fl_parse_size("G", &v), -1);
    assert_int_equal(fl_parse_size("-1", &v), -1);
    assert_int_equal(fl_parse_size("1.5G", &v), -1);
    assert_int_equal(fl_parse_size("99999999999999999999", &v), -1);
    assert_int_equal(fl_parse_size("100000000T", &v), -1);
    assert_int_equal(fl_parse_duration("30", &v), 0);
    assert_int_equal(v, 30);
    assert_int_equal(fl_parse_duration("45s", &v), 0);
    assert_int_equal(v, 45);
    assert_int_equal(fl_parse_duration("30m", &v), 0);
    assert_int_equal(v, 1800);
    assert_int_equal(fl_parse_duration("12h", &v), 0);
    assert_int_equal(v, 43200);
    assert_int_equal(fl_parse_duration("7d", &v), 0);
    assert_int_equal(v, 604800);
    assert_int_equal(fl_parse_duration("7x", &v), -1);
    assert_int_equal(fl_parse_duration("d", &v), -1);
    assert_int_equal(fl_parse_duration("5 s", &v), -1);
    /* sizes and durations share one digit reader: the full range, and nothing past it */
    assert_int_equal(fl_parse_size("18446744073709551615", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(fl_parse_size("18446744073709551616", &v), -1);
    assert_int_equal(fl_parse_duration("18446744073709551615s", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(fl_parse_duration("18446744073709551616", &v), -1);
    assert_int_equal(fl_parse_duration("307445734561825861d", &v), -1);

    char *host = NULL;
    int port = 0;
    assert_int_equal(fl_parse_hostport("db.local:3306", &host, &port), 0);
    assert_string_equal(host, "db.local");
    assert_int_equal(port, 3306);
    free(host);
    assert_int_equal(fl_parse_hostport("[fe80::1]:7000", &host, &port), 0);
    assert_string_equal(host, "fe80::1");
    assert_int_equal(port, 7000);
    free(host);
    const char *badhp[] = {"",     "host",  ":1",     "h:",   "h:0",   "h:65536",
                           "h:1x", "[::1]", "[::1]1", "[]:1", "a b:1", "::1:5"};
    for (size_t i = 0; i < sizeof badhp / sizeof *badhp; i++)
        if (fl_parse_hostport(badhp[i], NULL, NULL) == 0) fail_msg("accepted '%s'", badhp[i]);

    assert_true(fl_glob_match("app.*", "app.users"));
    assert_false(fl_glob_match("app.*", "apps.users"));
    assert_true(fl_glob_match("*.users", "shop.users"));
    assert_false(fl_glob_match("*.users", "shop.users2"));
    assert_true(fl_glob_match("a?c.t*", "abc.t"));
    assert_false(fl_glob_match("a?c.t*", "ac.t"));
    assert_true(fl_glob_match("a.[bc]x", "a.cx"));
    assert_false(fl_glob_match("a.[!bc]x", "a.cx"));
    assert_true(fl_glob_match("a.[a-f]", "a.d"));
    assert_false(fl_glob_match("a.[a-f]", "a.g"));
    assert_true(fl_glob_match("*", ""));
    assert_true(fl_glob_match("*a*b*", "xxaxxbxx"));
    assert_false(fl_glob_match("*a*b", "xxaxxbxx"));
}

static void test_snapshot_settings(void **state)
{
    (void)state;
    char *errors = NULL;
    fl_config *c = load("[snapshot]\ntables = shop.items, app.*\n", &errors);
    if (!c) fail_msg("%s", errors);
    assert_string_equal(c->snapshot.tables[0], "shop.items");
    assert_string_equal(c->snapshot.tables[1], "app.*");
    assert_null(c->snapshot.tables[2]);
    assert_true(c->snapshot.initial);
    assert_int_equal(c->snapshot.chunk, 10000);
    assert_int_equal(c->snapshot.rate, 0);
    fl_config_free(c);
    c = load("[snapshot]\ntables = a.b\ninitial = no\nchunk = 500\nrate = 2000\n", &errors);
    if (!c) fail_msg("%s", errors);
    assert_false(c->snapshot.initial);
    assert_int_equal(c->snapshot.chunk, 500);
    assert_int_equal(c->snapshot.rate, 2000);
    fl_config_free(c);
    expect_errors("[snapshot]\ninitial = maybe\nchunk = 0\nrate = -1\ntable = x.y\n",
                  "2: [snapshot] initial: 'maybe' is not one of yes, no\n"
                  "3: [snapshot] chunk: '0' is not a whole number from 1 to 1000000\n"
                  "4: [snapshot] rate: '-1' is not a whole number from 0 to 4294967295\n"
                  "5: [snapshot] table: unknown key (did you mean tables?)\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_valid),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_syntax_and_sections),
        cmocka_unit_test(test_unknown_and_duplicate_keys),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_target_urls),
        cmocka_unit_test(test_target_urls_agree_with_parser),
        cmocka_unit_test(test_templates_agree_with_tokenizer),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_required_and_exclusive),
        cmocka_unit_test(test_secret_policy),
        cmocka_unit_test(test_inline_comments),
        cmocka_unit_test(test_readme_config),
        cmocka_unit_test(test_metrics_settings),
        cmocka_unit_test(test_snapshot_settings),
        cmocka_unit_test(test_secrets_never_shown),
        cmocka_unit_test(test_long_lines_and_load_string),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_target_tls),
        cmocka_unit_test(test_cluster_wait),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
