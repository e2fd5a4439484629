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
    fl_redis_tls tls;
    cc_node *nodes;
    size_t nnodes;
    uint16_t slot_node[FL_CLUSTER_SLOTS];
};

#define CC_NO_NODE UINT16_MAX

/* The index of node host:port, added (not connected) when it is new. */
static size_t node_index(fl_cluster_conn *c, const char *host, size_t hlen, int port)
{
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
    return i;
}

static int add_range(void *ctx, uint16_t from, uint16_t to, const char *host, size_t hlen, int port)
{
    fl_cluster_conn *c = ctx;
    size_t i = node_index(c, host, hlen, port);
    for (uint32_t s = from; s <= to; s++) c->slot_node[s] = (uint16_t)i;
    return 0;
}

/* Adds every primary a CLUSTER NODES reply lists that is not failed, also one without slots
 * (it may be importing one): every primary is scanned for extra keys. */
static void add_primaries(fl_cluster_conn *c, const redisReply *r, const char *seed_host)
{
    if (r->type != REDIS_REPLY_STRING) return;
    for (const char *line = r->str, *stop = r->str + r->len; line < stop;) {
        const char *nl = memchr(line, '\n', (size_t)(stop - line));
        const char *end = nl ? nl : stop;
        char text[512];
        snprintf(text, sizeof text, "%.*s",
                 (int)((size_t)(end - line) < sizeof text - 1 ? (size_t)(end - line) : sizeof text - 1), line);
        line = end + 1;
        char *save = NULL, *id = strtok_r(text, " ", &save), *addr = strtok_r(NULL, " ", &save);
        char *flags = strtok_r(NULL, " ", &save);
        if (!id || !addr || !flags) continue;
        char f[128];
        snprintf(f, sizeof f, ",%s,", flags);
        if (!strstr(f, ",master,") || strstr(f, ",fail,") || strstr(f, ",fail?,") || strstr(f, ",noaddr,") ||
            strstr(f, ",handshake,"))
            continue;
        char *at = strchr(addr, '@');
        if (at) *at = 0;
        char *colon = strrchr(addr, ':');
        if (!colon) continue;
        int port = atoi(colon + 1);
        if (port < 1 || port > 65535) continue;
        *colon = 0;
        const char *host = addr[0] ? addr : seed_host;
        node_index(c, host, strlen(host), port);
    }
}

fl_cluster_conn *fl_cluster_conn_open(const char *url, const fl_redis_tls *tls, fl_error *e)
{
    fl_error_clear(e);
    fl_cluster_conn *c = fl_xcalloc(1, sizeof *c);
    if (tls) c->tls = *tls;
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
            const char *nargv[2] = {"CLUSTER", "NODES"};
            if (mapped && (r = fl_redis_conn_command(seed, 2, nargv, lens, e)) != NULL) {
                add_primaries(c, r, host);
                freeReplyObject(r);
            }
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

/* The node a "MOVED slot host:port" or "ASK slot host:port" reply names (connected, and
 * added, when new). NULL with e. */
fl_redis_conn *fl_cluster_conn_redirected(fl_cluster_conn *c, const char *reply, size_t len, bool *asking,
                                          fl_error *e)
{
    *asking = len > 4 && !memcmp(reply, "ASK ", 4);
    const char *sp = memchr(reply, ' ', len);
    const char *addr = sp ? memchr(sp + 1, ' ', len - (size_t)(sp + 1 - reply)) : NULL;
    const char *colon = addr ? memrchr(addr, ':', len - (size_t)(addr - reply)) : NULL;
    int port = colon ? atoi(colon + 1) : 0;
    if (!(*asking || (len > 6 && !memcmp(reply, "MOVED ", 6))) || !colon || colon == addr + 1 || port < 1 ||
        port > 65535) {
        fl_error_set(e, false, 0, "redis-cluster: not a redirection: %.*s", (int)(len > 200 ? 200 : len), reply);
        return NULL;
    }
    size_t i = node_index(c, addr + 1, (size_t)(colon - addr - 1), port);
    cc_node *n = &c->nodes[i];
    if (!n->conn) n->conn = fl_cluster_node_connect(&c->url, &c->tls, n->host, n->port, e);
    return n->conn;
}

bool fl_cluster_is_redirection(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR &&
           ((r->len > 4 && !memcmp(r->str, "ASK ", 4)) || (r->len > 6 && !memcmp(r->str, "MOVED ", 6)));
}

int fl_cluster_conn_serves(fl_cluster_conn *c, size_t i, const char *key, size_t len, fl_error *e)
{
    size_t owner = c->slot_node[fl_cluster_key_slot(key, len)];
    if (owner == i) return 1;
    const char *argv[2] = {"EXISTS", key};
    size_t lens[2] = {6, len};
    redisReply *r = fl_redis_conn_command(c->nodes[owner].conn, 2, argv, lens, e);
    if (!r) return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR && r->len > 4 && !memcmp(r->str, "ASK ", 4)) {
        bool asking;
        fl_redis_conn *to = fl_cluster_conn_redirected(c, r->str, r->len, &asking, e);
        rc = !to ? -1 : to == c->nodes[i].conn;
    }
    freeReplyObject(r);
    return rc;
}
