/* rules.h — mapping rules ([rule NAME] sections): a journaled transaction's row changes
 * become an ordered list of cache operations (set a key, replace a hash, delete a key).
 *
 * Keys come from templates with {column} placeholders ("user:{id}", "{db}.{id}"; "{{" and
 * "}}" are literal braces) rendered with canonical text. Values are the row as canonical
 * JSON (format = json), a hash of canonical text fields without the NULL ones (hash), or
 * one column's canonical text (column:NAME); `columns` projects. An update whose key changes
 * deletes the old key first; mode = invalidate deletes the key on every change. A value built
 * from a column whose new value is not known (absent from both images, or FL_VAL_UNKNOWN) is
 * never written: the key is deleted instead. A TRUNCATE, DROP TABLE, RENAME TABLE (or an ALTER
 * TABLE that renames the table or drops, truncates or exchanges partitions) of a rule's table
 * deletes that rule's keys: every key matching its template with each placeholder as '*'. */
#ifndef FL_RULES_H
#define FL_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/txn.h"

typedef enum fl_cache_op_kind {
    FL_CACHE_SET = 1,       /* key = value, with ttl (0 = none) */
    FL_CACHE_HASH = 2,      /* key := hash of fields (replaces the whole hash), with ttl */
    FL_CACHE_DEL = 3,       /* delete key */
    FL_CACHE_DEL_MATCH = 4, /* delete every key matching the glob pattern in key (Redis MATCH syntax):
                               a rule's keys after its table was truncated, dropped or renamed */
} fl_cache_op_kind;

typedef struct fl_cache_field {
    const char *name, *value;
    uint32_t name_len, value_len;
} fl_cache_field;

typedef struct fl_cache_op {
    uint8_t kind; /* fl_cache_op_kind */
    const char *key;
    uint32_t key_len;
    const char *value; /* SET */
    uint32_t value_len;
    const fl_cache_field *fields; /* HASH */
    uint32_t nfields;
    uint32_t ttl;
    const char *rule; /* DEL_MATCH: the rule whose keys these are, and why (for messages) */
} fl_cache_op;

/* The operations of one transaction; memory lives in the arena until fl_cache_ops_reset. */
typedef struct fl_cache_ops {
    fl_cache_op *ops;
    size_t nops, cap;
    uint64_t rows_matched;       /* row changes that had a rule */
    uint64_t rows_skipped;       /* row changes of tables without a rule */
    uint64_t rows_failed;        /* row changes a rule could not render (on_error = skip) */
    uint64_t statements_skipped; /* statement-based changes of rule tables not applied (on_error = skip) */
    uint64_t values_unknown;     /* row changes whose new value the binlog lacks: key deleted instead */
    uint64_t ddl_failed;         /* DDL whose removed keys could not be told (on_error = skip) */
    fl_arena arena;
} fl_cache_ops;

void fl_cache_ops_init(fl_cache_ops *o);
void fl_cache_ops_reset(fl_cache_ops *o);
void fl_cache_ops_free(fl_cache_ops *o);

typedef struct fl_rules fl_rules;

/* Compiles the config's rules (templates parsed, formats resolved). Returns NULL with
 * "FILE:LINE: [rule NAME] key: problem" lines in *errors (malloc'd) when one is invalid. */
fl_rules *fl_rules_new(const fl_config *cfg, char **errors);
void fl_rules_free(fl_rules *r);

/* Checks a rule's column references against a table's columns once they are known (from a
 * transaction); returns 0, or -1 with "FILE:LINE: [rule NAME] key: unknown column `x` in
 * db.table" in err. Each table is checked once; later calls return the first result. */
int fl_rules_check_table(fl_rules *r, const fl_table *table, char *err, size_t errlen);

/* Appends the cache operations for txn (a whole transaction or one part) to ops, in
 * change order. A change a rule cannot render (a key column NULL or absent) is handled per
 * on_error: STOP returns -1 with "gtid G: db.table: rule NAME: key column `c` is NULL" in
 * err; SKIP logs that once per transaction, counts it, and goes on (an update whose new key
 * cannot be rendered still deletes its old key). Returns 0 or -1. */
int fl_rules_render(fl_rules *r, const fl_txn *txn, fl_on_error on_error, fl_cache_ops *ops, char *err,
                    size_t errlen);

/* Appends a DEL_MATCH of every rule's keys (each placeholder as '*'; why goes into its
 * note): all a cache holds for the rules, deleted before it is rebuilt. Returns the number
 * of rules whose keys cannot be told from others (a template without literal text; logged). */
size_t fl_rules_clear_all(fl_rules *r, fl_cache_ops *ops, const char *why);

/* Whether a statement-based change (op STATEMENT) may change what a rule caches: it writes a
 * rule's table, or a table that cannot be told from its text. fl_rules_render stops on such a
 * change with on_error = stop, and skips and counts it with skip; others are skipped rows. */
bool fl_rules_statement_applies(fl_rules *r, const fl_change *c);

/* The tables any rule refers to (for --verify): count and the i-th rule's config. */
size_t fl_rules_count(const fl_rules *r);
const fl_config_rule *fl_rules_config(const fl_rules *r, size_t i);

#endif
