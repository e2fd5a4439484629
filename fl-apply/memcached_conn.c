/* memcached_conn.c — the libmemcached handle for a memcached:// URL (see memcached_conn.h). */
#include "fl-apply/memcached_conn.h"

#include "common/target_url.h"

#define MC_TIMEOUT_MS 3000

memcached_st *fl_memcached_conn_new(const char *url, int server, fl_error *e)
{
    fl_error_clear(e);
    fl_memcached_url u;
    if (fl_memcached_url_parse(url, &u, e->msg, sizeof e->msg)) {
        e->permanent = true;
        return NULL;
    }
    memcached_st *mc = memcached_create(NULL);
    if (!mc) {
        fl_error_set(e, true, 0, "memcached: out of memory");
        goto fail;
    }
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
    /* libketama-compatible placement (MD5 points, equal weights): the same choice of server as
     * other clients configured for ketama (e.g. PHP's OPT_LIBKETAMA_COMPATIBLE) */
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, MC_TIMEOUT_MS);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, MC_TIMEOUT_MS);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 1);

    if (server >= 0 && (size_t)server >= u.nservers) {
        fl_error_set(e, true, 0, "memcached: the URL has no server number %d", server);
        goto fail;
    }
    for (size_t i = 0; i < u.nservers; i++) {
        if (server >= 0 && (size_t)server != i) continue;
        memcached_return_t rc = memcached_server_add(mc, u.servers[i].host, (in_port_t)u.servers[i].port);
        if (memcached_failed(rc)) {
            fl_error_set(e, true, 0, "memcached: adding a server: %s", memcached_strerror(mc, rc));
            goto fail;
        }
    }
    if (u.user) {
        memcached_return_t rc = memcached_set_sasl_auth_data(mc, u.user, u.password);
        if (memcached_failed(rc)) {
            fl_error_set(e, true, 0, "memcached: SASL setup failed: %s", memcached_strerror(mc, rc));
            goto fail;
        }
    }
    fl_memcached_url_free(&u);
    return mc;
fail:
    fl_memcached_url_free(&u);
    if (mc) memcached_free(mc);
    return NULL;
}
