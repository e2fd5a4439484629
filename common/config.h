/* config.h — the one INI file both programs read (docs/DESIGN.md "Configuration").
 *
 * fl_config_load parses and validates everything before anything starts: unknown sections
 * and keys, bad values and missing required keys are each reported as
 * "FILE:LINE: [section] key: what is wrong" (all of them, one per line). */
#ifndef FL_CONFIG_H
#define FL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum fl_ssl_mode {
    FL_SSL_DISABLED,
    FL_SSL_PREFERRED,
    FL_SSL_REQUIRED,
    FL_SSL_VERIFY_CA,
    FL_SSL_VERIFY_IDENTITY
} fl_ssl_mode;

typedef enum fl_start_kind { FL_START_CURRENT, FL_START_EARLIEST, FL_START_GTID, FL_START_FILE } fl_start_kind;
typedef enum fl_rule_format { FL_FORMAT_JSON, FL_FORMAT_HASH, FL_FORMAT_COLUMN } fl_rule_format;
typedef enum fl_rule_mode { FL_MODE_UPSERT, FL_MODE_INVALIDATE } fl_rule_mode;
typedef enum fl_on_error { FL_ON_ERROR_STOP, FL_ON_ERROR_SKIP } fl_on_error;

typedef struct fl_config_source {
    bool present;
    char *host;           /* default "127.0.0.1" */
    int port;             /* default 3306 */
    char *socket;         /* NULL unless set */
    char *user;           /* required for the relay */
    char *password;       /* from password or password_file (file's first line); never logged */
    uint32_t server_id;   /* required for the relay, 1..2^32-1 */
    int flavor;           /* fl_flavor: 0 = auto */
    fl_ssl_mode ssl_mode; /* default preferred */
    char *ssl_ca, *ssl_cert, *ssl_key;
    fl_start_kind start; /* default current */
    char *start_gtid;    /* start = gtid:SET */
    char *start_file;    /* start = file:NAME:POS */
    uint64_t start_pos;
    double heartbeat; /* seconds, default 5 */
    char **include;   /* db.table globs; NULL-terminated, NULL when unset */
    char **exclude;
    int line; /* line of the [source] header, for later messages */
} fl_config_source;

typedef struct fl_config_journal {
    bool present;
    char *path;        /* required by relay and local applier */
    uint64_t max_size; /* bytes, 0 = unlimited ("10G", "512M", ...) */
    uint64_t retain;   /* seconds, 0 = forever ("7d", "12h", "30m", "45s") */
    bool sync;         /* sync = group (default, true) | none */
} fl_config_journal;

typedef struct fl_config_feed {
    bool present;
    char *listen; /* host:port, NULL = off */
    char *secret; /* from secret or secret_file; never logged */
    char *tls_cert, *tls_key;
} fl_config_feed;

typedef struct fl_config_metrics {
    char *relay; /* host:port of fl-relay's endpoint, NULL = off */
    char *apply; /* host:port of fl-apply's endpoint, NULL = off */
} fl_config_metrics;

typedef struct fl_config_snapshot {
    char **tables;  /* db.table globs the relay may snapshot; NULL-terminated, NULL when unset */
    bool initial;   /* default yes: snapshot them when the journal is empty at first start */
    uint32_t chunk; /* rows per chunk, default 10000 */
    uint32_t rate;  /* rows per second, 0 = no limit */
} fl_config_snapshot;

typedef struct fl_config_apply {
    bool present;
    char *name;    /* default "default" */
    char *journal; /* local journal path (default: [journal] path) */
    char *relay;   /* host:port of a feed (instead of journal) */
    char *secret;  /* feed secret (secret or secret_file) */
    char *tls_ca;
    char *target;        /* redis://..., rediss://..., redis+unix://..., memcached://... ; required */
    char *target_tls_ca; /* rediss://: the CA file (NULL: the system store) */
    char *target_tls_cert, *target_tls_key; /* rediss://: a client certificate, both or neither */
    uint32_t max_atomic_ops;                /* default 10000 */
    uint32_t cluster_wait_replicas;   /* redis-cluster://: replicas (WAIT) before the resume point moves; 1 */
    uint32_t cluster_wait_timeout_ms; /* redis-cluster://: WAIT's timeout; default 1000 */
    fl_on_error on_error;             /* default stop */
    char *checkpoint_path;            /* memcached: checkpoint file (default: <journal>/../NAME.checkpoint) */
    bool rebuild; /* rebuild = auto (default): a lost history is rebuilt from snapshots; no: stop */
    int line;
} fl_config_apply;

typedef struct fl_config_rule {
    char *name;
    char *db, *table;      /* from table = db.table (required) */
    char *key;             /* key template (required) */
    fl_rule_format format; /* default json */
    char *format_column;   /* format = column:NAME */
    fl_rule_mode mode;     /* default upsert */
    uint32_t ttl;          /* seconds, 0 = none */
    char **columns;        /* projection, NULL-terminated; NULL = all columns */
    int line;              /* line of the [rule NAME] header */
    int key_line, columns_line;
} fl_config_rule;

typedef struct fl_config {
    char *path;
    fl_config_source source;
    fl_config_journal journal;
    fl_config_feed feed;
    fl_config_metrics metrics;
    fl_config_apply apply;
    fl_config_snapshot snapshot;
    fl_config_rule *rules;
    size_t nrules;
    char *log_level;  /* [log] level = debug|info|warn|error, default info */
    char *log_format; /* [log] format = auto|text|journal|json, default auto */
} fl_config;

/* Loads and validates path. Returns NULL when anything is wrong; *errors (malloc'd) then
 * holds every problem, one "FILE:LINE: [section] key: problem" per line. */
fl_config *fl_config_load(const char *path, char **errors);
/* The same for text already in memory; name is the FILE in messages. */
fl_config *fl_config_load_string(const char *text, size_t len, const char *name, char **errors);
void fl_config_free(fl_config *c);

/* What a program needs present; reported with FILE:LINE of the section (or line 0). */
enum { FL_NEED_SOURCE = 1, FL_NEED_JOURNAL = 2, FL_NEED_APPLY = 4 };
/* Returns NULL when c has what `need` asks for, else a malloc'd message list. */
char *fl_config_require(const fl_config *c, int need);

/* Shared helpers (also used by the command-line parsers). Return 0 or -1. */
int fl_parse_size(const char *s, uint64_t *out);              /* "1024", "64K", "512M", "10G", "1T" */
int fl_parse_duration(const char *s, uint64_t *out);          /* seconds: "30", "45s", "30m", "12h", "7d" */
int fl_parse_hostport(const char *s, char **host, int *port); /* "h:p", "[v6]:p" */
/* Glob match for include/exclude ("app.*", "*.users", "a?c.t*"). */
bool fl_glob_match(const char *pattern, const char *text);
/* Table filter: included by include (all when none) and not excluded. */
bool fl_config_table_wanted(const fl_config_source *src, const char *db, const char *table);

/* Applies [log] level and format to the logger; verbose forces debug. */
void fl_config_apply_log(const fl_config *c, bool verbose);

#endif
