/* verify.h — `fl-apply -c FILE --verify`: compares the rule tables in the source database
 * (one consistent snapshot) with the cache and reports keys that match, are stale, are
 * missing, and (Redis, by each rule's key prefix) extra ones. On Redis a key of a rule with a
 * ttl must also expire within that ttl. */
#ifndef FL_VERIFY_H
#define FL_VERIFY_H

#include "common/config.h"

/* Prints the counts and the first few keys of each kind to stdout. Returns the exit status:
 * 0 when every key matches, 1 when some do not, 2 when the check could not run (the reason
 * is on stderr). */
int fl_verify_run(const fl_config *cfg);

/* Told each difference as it is found (fl-apply --repair, fl-apply/repair.c). */
typedef struct fl_verify_sink {
    /* A stale or missing key, rendered from the row of db.table whose key (fl_table_key_read's
     * columns) is key_hex: each column's text as a hex token, space-separated. */
    void (*row)(void *ctx, const char *db, const char *table, const char *key_hex, size_t len);
    /* A key under a rule's key prefix that no row accounts for. */
    void (*extra)(void *ctx, const char *key, size_t len);
    void *ctx;
} fl_verify_sink;

/* fl_verify_run, telling sink (when not NULL) every difference. */
int fl_verify_collect(const fl_config *cfg, const fl_verify_sink *sink);

#endif
