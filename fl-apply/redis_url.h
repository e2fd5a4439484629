/* redis_url.h — a Redis target URL, parsed (used by the Redis target and by --verify). */
#ifndef FL_REDIS_URL_H
#define FL_REDIS_URL_H

#include <stddef.h>

typedef struct fl_redis_url {
    char *host; /* TCP */
    int port;
    char *path; /* Unix socket */
    char *user, *password; /* NULL when absent */
    unsigned db;
} fl_redis_url;

/* Parses redis://[user:password@]host:port[/db] or redis+unix:///path[?db=N&user=U&password=P].
 * Returns 0, or -1 with a reason in err that never quotes the password. */
int fl_redis_url_parse(const char *url, fl_redis_url *u, char *err, size_t errlen);
/* Frees the fields (wiping the password) and zeroes u. */
void fl_redis_url_free(fl_redis_url *u);

#endif
