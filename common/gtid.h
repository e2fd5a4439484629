/* gtid.h — global transaction ids and GTID sets for both flavors.
 *
 * MariaDB: "domain-server-seq" (e.g. "0-1-42"); a MariaDB GTID set is a list of
 * per-domain positions ("0-1-42,1-2-7"), the latest GTID of each domain.
 * MySQL: "uuid:n" or tagged "uuid:tag:n" (8.4+); a MySQL GTID set is a set of intervals
 * per (uuid, tag): "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7,3e11...:tag:1-3".
 * Formatting is canonical (lowercase uuid and tag, intervals merged and sorted), so
 * parse(format(x)) == x and format(parse(canonical text)) == text. */
#ifndef FL_GTID_H
#define FL_GTID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum fl_flavor { FL_FLAVOR_NONE = 0, FL_FLAVOR_MARIADB = 1, FL_FLAVOR_MYSQL = 2 } fl_flavor;

#define FL_GTID_TAG_MAX 32  /* MySQL tags: up to 32 chars [a-z_][a-z0-9_]* */
#define FL_GTID_TEXT_MAX 96 /* enough for any formatted single GTID incl. NUL */

typedef struct fl_gtid {
    fl_flavor flavor; /* NONE: anonymous transaction (no GTID) */
    /* MariaDB */
    uint32_t domain;
    uint32_t server_id;
    uint64_t seq_no;
    /* MySQL */
    uint8_t uuid[16];
    char tag[FL_GTID_TAG_MAX + 1]; /* "" when untagged */
    uint64_t gno;
} fl_gtid;

/* Parses one GTID of either flavor (flavor told by its shape). Returns 0 or -1. */
int fl_gtid_parse(fl_gtid *out, const char *text, size_t len);
/* Formats into buf (FL_GTID_TEXT_MAX is always enough); returns length, "" for NONE. */
size_t fl_gtid_format(const fl_gtid *g, char *buf, size_t bufsize);
/* Equality of all fields that matter for the flavor. */
bool fl_gtid_equal(const fl_gtid *a, const fl_gtid *b);
/* Orders GTIDs of the same stream: MariaDB by (domain, seq_no), MySQL by (uuid, tag, gno). */
int fl_gtid_cmp(const fl_gtid *a, const fl_gtid *b);

typedef struct fl_gtid_set fl_gtid_set;

fl_gtid_set *fl_gtid_set_new(fl_flavor flavor);
void fl_gtid_set_free(fl_gtid_set *s);
fl_gtid_set *fl_gtid_set_dup(const fl_gtid_set *s);
fl_flavor fl_gtid_set_flavor(const fl_gtid_set *s);
/* Parses a set; flavor is told by shape ("" parses to an empty set of FL_FLAVOR_NONE,
 * which takes the flavor of the first GTID added). On error returns NULL and, when err
 * is given, writes a one-line reason. */
fl_gtid_set *fl_gtid_set_parse(const char *text, char *err, size_t errlen);
/* Canonical text, malloc'd; "" for an empty set. */
char *fl_gtid_set_format(const fl_gtid_set *s);
/* Adds one GTID. MySQL: adds gno to the (uuid, tag) intervals. MariaDB: sets the domain's
 * position to g (server_id and seq_no). Returns -1 on a flavor mismatch. */
int fl_gtid_set_add(fl_gtid_set *s, const fl_gtid *g);
/* Adds every GTID of other into s. Returns -1 on a flavor mismatch. */
int fl_gtid_set_union(fl_gtid_set *s, const fl_gtid_set *other);
/* MySQL: g's gno is in its intervals. MariaDB: g's seq_no <= the domain's position. */
bool fl_gtid_set_contains(const fl_gtid_set *s, const fl_gtid *g);
/* a ⊆ b */
bool fl_gtid_set_is_subset(const fl_gtid_set *a, const fl_gtid_set *b);
bool fl_gtid_set_equal(const fl_gtid_set *a, const fl_gtid_set *b);
bool fl_gtid_set_is_empty(const fl_gtid_set *s);

/* Read access for encoders (MySQL COM_BINLOG_DUMP_GTID, MariaDB slave_connect_state). */
typedef struct fl_gtid_interval {
    uint64_t start; /* inclusive */
    uint64_t end;   /* exclusive, as MySQL encodes it */
} fl_gtid_interval;
size_t fl_gtid_set_nsids(const fl_gtid_set *s); /* MySQL: (uuid, tag) count; MariaDB: domains */
/* MySQL: sid i's uuid/tag and intervals. */
void fl_gtid_set_sid(const fl_gtid_set *s, size_t i, uint8_t uuid[16], const char **tag,
                     const fl_gtid_interval **intervals, size_t *nintervals);
/* MariaDB: domain i's position as a GTID. */
void fl_gtid_set_domain(const fl_gtid_set *s, size_t i, fl_gtid *out);

#endif
