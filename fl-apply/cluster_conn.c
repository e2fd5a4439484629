/* cluster_conn.c — connections to the nodes of a Redis Cluster and its slot map
 * (fl-apply/cluster_conn.h). */
#include "fl-apply/cluster_conn.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "fl-apply/cluster_slots.h"

/* Appends s %-escaped (everything but letters and digits). */
static void put_escaped(fl_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            fl_buf_put(b, s, 1);
        } else {
            char hex[4];
            snprintf(hex, sizeof hex, "%%%02X", c);
            fl_buf_put(b, hex, 3);
        }
    }
}

fl_redis_conn *fl_cluster_node_connect(const fl_redis_cluster_url *u, const fl_redis_tls *tls, const char *host,
                                       int port, fl_error *e)
{
    fl_buf url = {0};
    fl_buf_puts(&url, u->tls ? "rediss://" : "redis://");
    if (u->password) {
        if (u->user) put_escaped(&url, u->user);
        fl_buf_put(&url, ":", 1);
        put_escaped(&url, u->password);
        fl_buf_put(&url, "@", 1);
    }
    bool v6 = strchr(host, ':') != NULL;
    char tail[300];
    int n = snprintf(tail, sizeof tail, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
    fl_buf_put(&url, tail, (size_t)n);
    fl_buf_put(&url, "", 1);
    fl_redis_conn *c = fl_redis_conn_open((const char *)url.data, tls, e);
    explicit_bzero(url.data, url.len);
    fl_buf_free(&url);
    return c;
}

int fl_cluster_slots_parse(const redisReply *r, const char *seed_host, fl_cluster_range_fn each, void *ctx,
                           char *err, size_t errlen)
{
    if (r->type != REDIS_REPLY_ARRAY)
        return fl_errorf(err, errlen, "redis-cluster: CLUSTER SLOTS: %.200s",
                         r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *range = r->element[i];
        if (range->type != REDIS_REPLY_ARRAY || range->elements < 3 ||
            range->element[0]->type != REDIS_REPLY_INTEGER || range->element[1]->type != REDIS_REPLY_INTEGER ||
            range->element[2]->type != REDIS_REPLY_ARRAY || range->element[2]->elements < 2 ||
            range->element[2]->element[0]->type != REDIS_REPLY_STRING ||
            range->element[2]->element[1]->type != REDIS_REPLY_INTEGER)
            return fl_errorf(err, errlen, "redis-cluster: CLUSTER SLOTS: unexpected reply");
        long long from = range->element[0]->integer, to = range->element[1]->integer;
        long long port = range->element[2]->element[1]->integer;
        if (from < 0 || to >= FL_CLUSTER_SLOTS || from > to || port < 1 || port > 65535)
            return fl_errorf(err, errlen, "redis-cluster: CLUSTER SLOTS: slot range %lld-%lld at port %lld", from,
                             to, port);
        const char *host = range->element[2]->element[0]->str;
        size_t hlen = range->element[2]->element[0]->len;
        if (hlen == 0 || (hlen == 1 && host[0] == '?')) {
            host = seed_host;
            hlen = strlen(seed_host);
        }
        int rc = each(ctx, (uint16_t)from, (uint16_t)to, host, hlen, (int)port);
        if (rc) return rc;
    }
    return 0;
}

/* ---- every primary ---- */

typedef struct cc_node {
    char *name; /* host:port */
    char *host;
    int port;
    fl_redis_conn *conn;
} cc_node;

struct fl_cluster_conn {
    fl_redis_cluster_url url;
    cc_node *nodes;
    size_t nnodes;
    uint16_t slot_node[FL_CLUSTER_SLOTS];
};

#define CC_NO_NODE UINT16_MAX

static int add_range(void *ctx, uint16_t from, uint16_t to, const char *host, size_t hlen, int port)
{
    fl_cluster_conn *c = ctx;
    size_t i = 0;
    while (i < c->nnodes && !(c->nodes[i].port == port && strlen(c->nodes[i].host) == hlen &&
                              !memcmp(c->nodes[i].host, host, hlen)))
        i++;
    if (i == c->nnodes) {
        c->nodes = fl_xrealloc(c->nodes, (c->nnodes + 1) * sizeof *c->nodes);
        cc_node *n = &c->nodes[c->nnodes++];
        memset(n, 0, sizeof *n);
        n->host = fl_xmalloc(hlen + 1);
        memcpy(n->host, host, hlen);
        n->host[hlen] = 0;
        n->port = port;
        size_t nl = hlen + 8;
        n->name = fl_xmalloc(nl);
        snprintf(n->name, nl, "%s:%d", n->host, port);
    }
    for (uint32_t s = from; s <= to; s++) c->slot_node[s] = (uint16_t)i;
    return 0;
}

fl_cluster_conn *fl_cluster_conn_open(const char *url, const fl_redis_tls *tls, fl_error *e)
{
    fl_error_clear(e);
    fl_cluster_conn *c = fl_xcalloc(1, sizeof *c);
    if (fl_redis_cluster_url_parse(url, &c->url, e->msg, sizeof e->msg)) {
        e->permanent = true;
        goto fail;
    }
    bool mapped = false;
    for (size_t i = 0; i < c->url.nseeds && !mapped; i++) {
        const char *host = c->url.seeds[i].host;
        fl_redis_conn *seed = fl_cluster_node_connect(&c->url, tls, host, c->url.seeds[i].port, e);
        if (!seed) continue;
        const char *argv[2] = {"CLUSTER", "SLOTS"};
        size_t lens[2] = {7, 5};
        redisReply *r = fl_redis_conn_command(seed, 2, argv, lens, e);
        if (r) {
            for (size_t s = 0; s < FL_CLUSTER_SLOTS; s++) c->slot_node[s] = CC_NO_NODE;
            mapped = fl_cluster_slots_parse(r, host, add_range, c, e->msg, sizeof e->msg) == 0;
            freeReplyObject(r);
        }
        fl_redis_conn_close(seed);
    }
    if (!mapped) goto fail; /* e says why the last seed failed */
    for (size_t s = 0; s < FL_CLUSTER_SLOTS; s++)
        if (c->slot_node[s] == CC_NO_NODE) {
            fl_error_set(e, false, 0, "redis-cluster: slot %zu has no primary (the cluster is not fully set up)",
                         s);
            goto fail;
        }
    for (size_t i = 0; i < c->nnodes; i++)
        if (!(c->nodes[i].conn = fl_cluster_node_connect(&c->url, tls, c->nodes[i].host, c->nodes[i].port, e)))
            goto fail;
    return c;
fail:
    fl_cluster_conn_close(c);
    return NULL;
}

void fl_cluster_conn_close(fl_cluster_conn *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->nnodes; i++) {
        fl_redis_conn_close(c->nodes[i].conn);
        free(c->nodes[i].host);
        free(c->nodes[i].name);
    }
    free(c->nodes);
    fl_redis_cluster_url_free(&c->url);
    free(c);
}

size_t fl_cluster_conn_nodes(const fl_cluster_conn *c) { return c->nnodes; }

fl_redis_conn *fl_cluster_conn_node(const fl_cluster_conn *c, size_t i) { return c->nodes[i].conn; }

const char *fl_cluster_conn_node_name(const fl_cluster_conn *c, size_t i) { return c->nodes[i].name; }

fl_redis_conn *fl_cluster_conn_for_key(const fl_cluster_conn *c, const char *key, size_t len)
{
    return c->nodes[c->slot_node[fl_cluster_key_slot(key, len)]].conn;
}
