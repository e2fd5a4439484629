/* mc_guard.c — what a version-guarded memcached write would cost next to the plain write the
 * memcached target sends: N sets over K keys, one after the other, each acknowledged
 * (the target's way), then the same writes guarded the only way memcached can compare a
 * stored version atomically: gets (value, flags holding the version, CAS unique), compare,
 * then cas (or add for a missing key). Prints both rates and their ratio, and a JSON line.
 *
 * usage: mc_guard HOST:PORT [N] [K] */
#include <inttypes.h>
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static memcached_st *connect_to(const char *hostport)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || (size_t)(colon - hostport) >= sizeof host) return NULL;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = 0;
    memcached_st *mc = memcached_create(NULL);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
    if (memcached_failed(memcached_server_add(mc, host, (in_port_t)atoi(colon + 1)))) {
        memcached_free(mc);
        return NULL;
    }
    return mc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mc_guard HOST:PORT [N] [K]\n");
        return 2;
    }
    long n = argc > 2 ? atol(argv[2]) : 100000, k = argc > 3 ? atol(argv[3]) : 1000;
    memcached_st *mc = connect_to(argv[1]);
    if (!mc || n <= 0 || k <= 0) {
        fprintf(stderr, "mc_guard: bad arguments\n");
        return 2;
    }
    char key[64], val[64];
    memcached_flush(mc, 0);
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof key, "g:%ld", i % k);
        int vl = snprintf(val, sizeof val, "{\"id\":%ld,\"n\":%ld}", i % k, i);
        if (memcached_failed(memcached_set(mc, key, (size_t)kl, val, (size_t)vl, 0, (uint32_t)i))) {
            fprintf(stderr, "mc_guard: set failed\n");
            return 1;
        }
    }
    double plain = now_s() - t0;
    memcached_flush(mc, 0);
    t0 = now_s();
    for (long i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof key, "g:%ld", i % k);
        int vl = snprintf(val, sizeof val, "{\"id\":%ld,\"n\":%ld}", i % k, i);
        const char *keys[1] = {key};
        size_t lens[1] = {(size_t)kl};
        memcached_return_t rc = memcached_mget(mc, keys, lens, 1);
        memcached_result_st *r = rc == MEMCACHED_SUCCESS ? memcached_fetch_result(mc, NULL, &rc) : NULL;
        if (!r) {
            rc = memcached_add(mc, key, (size_t)kl, val, (size_t)vl, 0, (uint32_t)i);
        } else {
            uint32_t version = memcached_result_flags(r);
            uint64_t cas = memcached_result_cas(r);
            while (memcached_fetch_result(mc, NULL, &rc)) {
            }
            memcached_result_free(r);
            rc = version < (uint32_t)i ? memcached_cas(mc, key, (size_t)kl, val, (size_t)vl, 0, (uint32_t)i, cas)
                                       : MEMCACHED_SUCCESS;
        }
        if (memcached_failed(rc)) {
            fprintf(stderr, "mc_guard: guarded write failed: %s\n", memcached_strerror(mc, rc));
            return 1;
        }
    }
    double guarded = now_s() - t0;
    printf("memcached writes, %ld over %ld keys: plain set %.0f/s, version-guarded (gets + cas) %.0f/s: %.2f of "
           "plain\n",
           n, k, n / plain, n / guarded, plain / guarded);
    printf("{\"bench\":\"memcached_guarded_write\",\"writes\":%ld,\"keys\":%ld,\"plain_s\":%.0f,\"guarded_s\":%."
           "0f,"
           "\"ratio\":%.3f}\n",
           n, k, n / plain, n / guarded, plain / guarded);
    memcached_free(mc);
    return 0;
}
