/* redis_url.c — parsing Redis target URLs: redis://[user:password@]host:port[/db] and
 * redis+unix:///path[?db=N&user=U&password=P], with %-escapes in names and passwords.
 * A URL may hold a password, so messages never quote it. */
#include "fl-apply/redis_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/url.h"

void fl_redis_url_free(fl_redis_url *u)
{
    free(u->host);
    free(u->path);
    free(u->user);
    if (u->password) {
        memset(u->password, 0, strlen(u->password));
        free(u->password);
    }
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
    if (v > 65535) return -1;
    *db = v;
    return 0;
}

/* Parses redis://[user:password@]host:port[/db] or redis+unix:///path[?db=N]. The URL may
 * hold a password, so messages never quote it. Returns 0 or -1 with err. */
int fl_redis_url_parse(const char *url, fl_redis_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    if (!strncmp(url, "redis+unix://", 13)) {
        const char *p = url + 13;
        const char *q = strchr(p, '?');
        size_t plen = q ? (size_t)(q - p) : strlen(p);
        if (plen < 2 || p[0] != '/') {
            snprintf(err, errlen, "target: redis+unix:///path needs an absolute socket path");
            return -1;
        }
        u->path = fl_url_decode(p, plen);
        if (!u->path) {
            snprintf(err, errlen, "target: bad %%-escape in the socket path");
            return -1;
        }
        while (q && *q) {
            const char *k = q + 1;
            const char *amp = strchr(k, '&');
            size_t kvlen = amp ? (size_t)(amp - k) : strlen(k);
            const char *eq = memchr(k, '=', kvlen);
            if (!eq) {
                snprintf(err, errlen, "target: query parameter without a value (use ?db=N)");
                goto fail;
            }
            size_t klen = (size_t)(eq - k), vlen = kvlen - klen - 1;
            if (klen == 2 && !memcmp(k, "db", 2)) {
                if (parse_db(eq + 1, vlen, &u->db)) {
                    snprintf(err, errlen, "target: db is not a number from 0 to 65535");
                    goto fail;
                }
            } else if (klen == 4 && !memcmp(k, "user", 4)) {
                free(u->user);
                u->user = fl_url_decode(eq + 1, vlen);
            } else if (klen == 8 && !memcmp(k, "password", 8)) {
                free(u->password);
                u->password = fl_url_decode(eq + 1, vlen);
                if (!u->password) {
                    snprintf(err, errlen, "target: bad %%-escape in the password");
                    goto fail;
                }
            } else {
                snprintf(err, errlen, "target: unknown query parameter (known: db, user, password)");
                goto fail;
            }
            q = amp;
        }
        if (u->user && !u->password) {
            snprintf(err, errlen, "target: a user needs a password");
            goto fail;
        }
        return 0;
    }
    if (strncmp(url, "redis://", 8)) {
        snprintf(err, errlen, "target: must start with redis:// or redis+unix://");
        return -1;
    }
    const char *p = url + 8;
    const char *slash = strchr(p, '/');
    size_t authlen = slash ? (size_t)(slash - p) : strlen(p);
    const char *at = memrchr(p, '@', authlen);
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon) {
            snprintf(err, errlen, "target: credentials must be written user:password@ (user may be empty)");
            return -1;
        }
        if (colon > p) {
            u->user = fl_url_decode(p, (size_t)(colon - p));
            if (!u->user) {
                snprintf(err, errlen, "target: bad %%-escape in the user name");
                goto fail;
            }
        }
        u->password = fl_url_decode(colon + 1, (size_t)(at - colon - 1));
        if (!u->password) {
            snprintf(err, errlen, "target: bad %%-escape in the password");
            goto fail;
        }
        p = at + 1;
    }
    size_t hplen = slash ? (size_t)(slash - p) : strlen(p);
    char *hp = fl_xmalloc(hplen + 1);
    memcpy(hp, p, hplen);
    hp[hplen] = 0;
    int bad = fl_parse_hostport(hp, &u->host, &u->port);
    free(hp);
    if (bad) {
        snprintf(err, errlen, "target: redis://[user:password@]host:port/db needs a host and a port");
        goto fail;
    }
    if (slash && parse_db(slash + 1, strlen(slash + 1), &u->db)) {
        snprintf(err, errlen, "target: the database after '/' is not a number from 0 to 65535");
        goto fail;
    }
    return 0;
fail:
    fl_redis_url_free(u);
    return -1;
}
