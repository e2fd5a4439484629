/* target_url.h — the grammar of cache target URLs ([apply] target): the one parser that
 * config validation, the targets and --verify all use.
 *
 *   redis://[user:password@]host:port[/db]
 *   rediss://[user:password@]host:port[/db]      (the same over TLS)
 *   redis+unix:///path[?db=N&user=U&password=P]
 *   memcached://[user:password@]host:port[,host:port...]
 *   redis-cluster://[user:password@]host:port[,host:port...]   (seed nodes of a Redis Cluster)
 *   rediss-cluster://[user:password@]host:port[,host:port...]  (the same over TLS)
 *
 * User names, passwords and socket paths may hold %-escapes (common/url.h). A URL may hold a
 * password, so no message ever quotes the URL. */
#ifndef FL_TARGET_URL_H
#define FL_TARGET_URL_H

#include <stdbool.h>
#include <stddef.h>

typedef enum fl_target_scheme {
    FL_SCHEME_UNKNOWN,
    FL_SCHEME_REDIS,
    FL_SCHEME_MEMCACHED,
    FL_SCHEME_REDIS_CLUSTER
} fl_target_scheme;

/* The scheme a URL starts with (redis://, rediss:// and redis+unix:// are FL_SCHEME_REDIS;
 * redis-cluster:// and rediss-cluster:// FL_SCHEME_REDIS_CLUSTER). */
fl_target_scheme fl_target_url_scheme(const char *url);

typedef struct fl_redis_url {
    char *host; /* TCP */
    int port;
    char *path;            /* Unix socket */
    char *user, *password; /* NULL when absent */
    unsigned db;
    bool tls; /* rediss:// */
} fl_redis_url;

typedef struct fl_memcached_server {
    char *host;
    int port;
} fl_memcached_server;

typedef struct fl_memcached_url {
    char *user, *password; /* SASL; both or neither */
    fl_memcached_server *servers;
    size_t nservers; /* at least one */
} fl_memcached_url;

typedef struct fl_redis_cluster_url {
    char *user, *password;      /* NULL when absent; a user needs a password */
    fl_memcached_server *seeds; /* host:port of the nodes asked for the slot map */
    size_t nseeds;              /* at least one */
    bool tls;                   /* rediss-cluster:// */
} fl_redis_cluster_url;

/* Each returns 0, or -1 with "bad target URL: what is wrong" in err (u is then empty). */
int fl_redis_url_parse(const char *url, fl_redis_url *u, char *err, size_t errlen);
int fl_memcached_url_parse(const char *url, fl_memcached_url *u, char *err, size_t errlen);
int fl_redis_cluster_url_parse(const char *url, fl_redis_cluster_url *u, char *err, size_t errlen);
/* Parses url by its scheme and discards the result: what config validation asks. */
int fl_target_url_check(const char *url, char *err, size_t errlen);

/* Free the fields (wiping the password) and zero u. */
void fl_redis_url_free(fl_redis_url *u);
void fl_memcached_url_free(fl_memcached_url *u);
void fl_redis_cluster_url_free(fl_redis_cluster_url *u);

#endif
