/* target_url.c — parsing cache target URLs (grammar in target_url.h). Host and port go
 * through fl_parse_hostport, the one host:port grammar of every setting; names, passwords
 * and socket paths through the strict %-decoder. Messages never quote the URL. */
#include "common/target_url.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/url.h"

#define REDIS_DB_MAX 65535

__attribute__((format(printf, 3, 4))) static int bad(char *err, size_t errlen, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "bad target URL: %s", what);
    return -1;
}

static void free_secret(char *s)
{
    if (!s) return;
    explicit_bzero(s, strlen(s));
    free(s);
}

fl_target_scheme fl_target_url_scheme(const char *url)
{
    if (!strncmp(url, "redis://", 8) || !strncmp(url, "rediss://", 9) || !strncmp(url, "redis+unix://", 13))
        return FL_SCHEME_REDIS;
    if (!strncmp(url, "memcached://", 12)) return FL_SCHEME_MEMCACHED;
    if (!strncmp(url, "redis-cluster://", 16) || !strncmp(url, "rediss-cluster://", 17))
        return FL_SCHEME_REDIS_CLUSTER;
    return FL_SCHEME_UNKNOWN;
}

/* ---- Redis ---- */

void fl_redis_url_free(fl_redis_url *u)
{
    free(u->host);
    free(u->path);
    free(u->user);
    free_secret(u->password);
    memset(u, 0, sizeof *u);
}

static int parse_db(const char *s, size_t n, unsigned *db)
{
    if (n == 0 || n > 5) return -1;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > REDIS_DB_MAX) return -1;
    *db = v;
    return 0;
}

/* Host and port from s[0..n) into *host and *port; 0 or -1. */
static int parse_hostport_n(const char *s, size_t n, char **host, int *port)
{
    char *hp = fl_xmalloc(n + 1);
    memcpy(hp, s, n);
    hp[n] = 0;
    int rc = fl_parse_hostport(hp, host, port);
    free(hp);
    return rc;
}

/* The query of redis+unix:///path?db=N&user=U&password=P (q at the '?'). */
static int parse_unix_query(const char *q, fl_redis_url *u, char *err, size_t errlen)
{
    while (q && *q) {
        const char *k = q + 1;
        const char *amp = strchr(k, '&');
        size_t kvlen = amp ? (size_t)(amp - k) : strlen(k);
        const char *eq = memchr(k, '=', kvlen);
        if (!eq) return bad(err, errlen, "query parameter without a value (use ?db=N)");
        size_t klen = (size_t)(eq - k), vlen = kvlen - klen - 1;
        if (klen == 2 && !memcmp(k, "db", 2)) {
            if (parse_db(eq + 1, vlen, &u->db))
                return bad(err, errlen, "the database number is not a number from 0 to %d", REDIS_DB_MAX);
        } else if (klen == 4 && !memcmp(k, "user", 4)) {
            free(u->user);
            u->user = fl_url_decode(eq + 1, vlen);
            if (!u->user) return bad(err, errlen, "bad %%-escape in the user name");
        } else if (klen == 8 && !memcmp(k, "password", 8)) {
            free_secret(u->password);
            u->password = fl_url_decode(eq + 1, vlen);
            if (!u->password) return bad(err, errlen, "bad %%-escape in the password");
        } else {
            return bad(err, errlen, "unknown query parameter (known: db, user, password)");
        }
        q = amp;
    }
    if (u->user && !u->password) return bad(err, errlen, "a user needs a password");
    return 0;
}

static int parse_redis_unix(const char *p, fl_redis_url *u, char *err, size_t errlen)
{
    const char *q = strchr(p, '?');
    size_t plen = q ? (size_t)(q - p) : strlen(p);
    if (plen < 2 || p[0] != '/') return bad(err, errlen, "redis+unix:///path needs an absolute socket path");
    u->path = fl_url_decode(p, plen);
    if (!u->path) return bad(err, errlen, "bad %%-escape in the socket path");
    return parse_unix_query(q, u, err, errlen);
}

static int parse_redis_tcp(const char *p, const char *scheme, fl_redis_url *u, char *err, size_t errlen)
{
    const char *slash = strchr(p, '/');
    size_t authlen = slash ? (size_t)(slash - p) : strlen(p);
    const char *at = memrchr(p, '@', authlen);
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon) return bad(err, errlen, "credentials must be written user:password@ (user may be empty)");
        if (colon > p) {
            u->user = fl_url_decode(p, (size_t)(colon - p));
            if (!u->user) return bad(err, errlen, "bad %%-escape in the user name");
        }
        u->password = fl_url_decode(colon + 1, (size_t)(at - colon - 1));
        if (!u->password) return bad(err, errlen, "bad %%-escape in the password");
        p = at + 1;
    }
    if (parse_hostport_n(p, slash ? (size_t)(slash - p) : strlen(p), &u->host, &u->port))
        return bad(err, errlen, "%s[user:password@]host:port/db needs a host and a port (1-65535)", scheme);
    if (slash && parse_db(slash + 1, strlen(slash + 1), &u->db))
        return bad(err, errlen, "the database number after '/' is not a number from 0 to %d", REDIS_DB_MAX);
    return 0;
}

int fl_redis_url_parse(const char *url, fl_redis_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    int rc;
    if (!strncmp(url, "redis+unix://", 13))
        rc = parse_redis_unix(url + 13, u, err, errlen);
    else if (!strncmp(url, "redis://", 8))
        rc = parse_redis_tcp(url + 8, "redis://", u, err, errlen);
    else if (!strncmp(url, "rediss://", 9)) {
        u->tls = true;
        rc = parse_redis_tcp(url + 9, "rediss://", u, err, errlen);
    } else
        rc = bad(err, errlen, "must start with redis://, rediss:// or redis+unix://");
    if (rc) fl_redis_url_free(u);
    return rc;
}

/* ---- memcached ---- */

void fl_memcached_url_free(fl_memcached_url *u)
{
    free(u->user);
    free_secret(u->password);
    for (size_t i = 0; i < u->nservers; i++) free(u->servers[i].host);
    free(u->servers);
    memset(u, 0, sizeof *u);
}

/* A list of servers after optional credentials, as memcached:// and redis-cluster:// write
 * it: [user:password@]host:port[,host:port...]. name is the scheme, for messages; need_user:
 * the user name may not be empty; creds names the credentials in messages. */
static int parse_server_list(const char *p, const char *name, const char *creds, bool need_user, char **user,
                             char **password, fl_memcached_server **servers, size_t *nservers, char *err,
                             size_t errlen)
{
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon || (need_user && colon == p))
            return bad(err, errlen, "%s must be user:password@ before the servers", creds);
        if (colon > p) {
            *user = fl_url_decode(p, (size_t)(colon - p));
            if (!*user) return bad(err, errlen, "bad %%-escape in the user name");
        }
        *password = fl_url_decode(colon + 1, (size_t)(at - colon - 1));
        if (!*password) return bad(err, errlen, "bad %%-escape in the password");
        p = at + 1;
    }
    if (!*p) return bad(err, errlen, "%s://host:port[,host:port...] needs at least one server", name);
    size_t cap = 1;
    for (const char *c = p; *c; c++) cap += *c == ',';
    *servers = fl_xcalloc(cap, sizeof **servers);
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *s = p, *e = comma ? comma : p + strlen(p);
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
        if (s == e) return bad(err, errlen, "%s:// has an empty server in its list", name);
        fl_memcached_server *sv = &(*servers)[*nservers];
        if (parse_hostport_n(s, (size_t)(e - s), &sv->host, &sv->port))
            return bad(err, errlen, "each %s server must be host:port (port 1-65535)", name);
        (*nservers)++;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

static int parse_memcached(const char *p, fl_memcached_url *u, char *err, size_t errlen)
{
    return parse_server_list(p, "memcached", "memcached SASL credentials", true, &u->user, &u->password,
                             &u->servers, &u->nservers, err, errlen);
}

int fl_memcached_url_parse(const char *url, fl_memcached_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    int rc = strncmp(url, "memcached://", 12) ? bad(err, errlen, "must start with memcached://")
                                              : parse_memcached(url + 12, u, err, errlen);
    if (rc) fl_memcached_url_free(u);
    return rc;
}

/* ---- Redis Cluster ---- */

void fl_redis_cluster_url_free(fl_redis_cluster_url *u)
{
    free(u->user);
    free_secret(u->password);
    for (size_t i = 0; i < u->nseeds; i++) free(u->seeds[i].host);
    free(u->seeds);
    memset(u, 0, sizeof *u);
}

int fl_redis_cluster_url_parse(const char *url, fl_redis_cluster_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    bool tls = !strncmp(url, "rediss-cluster://", 17);
    int rc = strncmp(url, "redis-cluster://", 16) && !tls
                 ? bad(err, errlen, "must start with redis-cluster:// or rediss-cluster://")
                 : parse_server_list(url + (tls ? 17 : 16), tls ? "rediss-cluster" : "redis-cluster",
                                     "redis-cluster credentials", false, &u->user, &u->password, &u->seeds,
                                     &u->nseeds, err, errlen);
    u->tls = rc == 0 && tls;
    if (rc) fl_redis_cluster_url_free(u);
    return rc;
}

/* ---- any target ---- */

int fl_target_url_check(const char *url, char *err, size_t errlen)
{
    switch (fl_target_url_scheme(url)) {
    case FL_SCHEME_REDIS: {
        fl_redis_url u;
        if (fl_redis_url_parse(url, &u, err, errlen)) return -1;
        fl_redis_url_free(&u);
        return 0;
    }
    case FL_SCHEME_MEMCACHED: {
        fl_memcached_url u;
        if (fl_memcached_url_parse(url, &u, err, errlen)) return -1;
        fl_memcached_url_free(&u);
        return 0;
    }
    case FL_SCHEME_REDIS_CLUSTER: {
        fl_redis_cluster_url u;
        if (fl_redis_cluster_url_parse(url, &u, err, errlen)) return -1;
        fl_redis_cluster_url_free(&u);
        return 0;
    }
    default:
        return bad(err, errlen,
                   "must start with redis://, rediss://, redis+unix://, redis-cluster://, rediss-cluster:// or "
                   "memcached://");
    }
}
