/* fuzz_target_url.c — libFuzzer target: any text either parses as a target URL or is
 * refused with a "bad target URL: " reason; the check agrees with the scheme's parser, and a
 * parsed URL is well formed (a host and port 1-65535, or an absolute socket path; TLS exactly
 * for rediss:// and rediss-cluster://, rediss:// always TCP; memcached has at least one server, and credentials
 * come in pairs). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/target_url.h"
#include "tests/fuzz/fuzzer.h"

static void check_redis(const char *url, int checked)
{
    fl_redis_url u;
    char err[256];
    int rc = fl_redis_url_parse(url, &u, err, sizeof err);
    if (rc != checked) abort();
    if (rc) {
        if (strncmp(err, "bad target URL: ", 16)) abort();
        return;
    }
    if (u.path ? (u.host || u.path[0] != '/') : (!u.host || u.port < 1 || u.port > 65535)) abort();
    if (u.db > 65535 || (u.user && !u.password)) abort();
    if (u.tls != !strncmp(url, "rediss://", 9) || (u.tls && u.path)) abort();
    fl_redis_url_free(&u);
}

static void check_memcached(const char *url, int checked)
{
    fl_memcached_url u;
    char err[256];
    int rc = fl_memcached_url_parse(url, &u, err, sizeof err);
    if (rc != checked) abort();
    if (rc) {
        if (strncmp(err, "bad target URL: ", 16)) abort();
        return;
    }
    if (!u.nservers || (!u.user != !u.password)) abort();
    for (size_t i = 0; i < u.nservers; i++)
        if (!u.servers[i].host || u.servers[i].port < 1 || u.servers[i].port > 65535) abort();
    fl_memcached_url_free(&u);
}

static void check_redis_cluster(const char *url, int checked)
{
    fl_redis_cluster_url u;
    char err[256];
    int rc = fl_redis_cluster_url_parse(url, &u, err, sizeof err);
    if (rc != checked) abort();
    if (rc) {
        if (strncmp(err, "bad target URL: ", 16)) abort();
        return;
    }
    if (!u.nseeds || (u.user && !u.password)) abort();            /* a password alone is Redis AUTH */
    if (u.tls != !strncmp(url, "rediss-cluster://", 17)) abort(); /* TLS exactly for rediss-cluster:// */
    for (size_t i = 0; i < u.nseeds; i++)
        if (!u.seeds[i].host || u.seeds[i].port < 1 || u.seeds[i].port > 65535) abort();
    fl_redis_cluster_url_free(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    memcpy(url, data, size);
    url[size] = 0;
    char err[256];
    int checked = fl_target_url_check(url, err, sizeof err);
    if (checked && strncmp(err, "bad target URL: ", 16)) abort();
    switch (fl_target_url_scheme(url)) {
    case FL_SCHEME_REDIS: check_redis(url, checked); break;
    case FL_SCHEME_MEMCACHED: check_memcached(url, checked); break;
    case FL_SCHEME_REDIS_CLUSTER: check_redis_cluster(url, checked); break;
    default:
        if (!checked) abort();
        break;
    }
    free(url);
    return 0;
}
