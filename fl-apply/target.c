/* target.c — the public target API: chooses Redis, Redis Cluster or memcached by the URL's
 * scheme and forwards every call to that implementation (fl-apply/target_impl.h). */
#include "fl-apply/target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/target_url.h"
#include "fl-apply/group.h"
#include "fl-apply/target_impl.h"

struct fl_target {
    const struct fl_target_ops *ops;
    void *impl;
};

static const struct fl_target_ops *ops_for(const char *url)
{
    switch (fl_target_url_scheme(url)) {
    case FL_SCHEME_MEMCACHED: return &fl_target_memcached_ops;
    case FL_SCHEME_REDIS: return &fl_target_redis_ops;
    case FL_SCHEME_REDIS_CLUSTER: return &fl_target_redis_cluster_ops; /* redis-cluster://, rediss-cluster:// */
    default: return NULL;
    }
}

fl_target *fl_target_open(const fl_config_apply *cfg, fl_error *e)
{
    fl_error_clear(e);
    const struct fl_target_ops *ops = cfg->target ? ops_for(cfg->target) : NULL;
    if (!ops) {
        fl_error_set(e, true, 0,
                     "target must start with redis://, rediss://, redis+unix://, redis-cluster://, "
                     "rediss-cluster:// or memcached://");
        return NULL;
    }
    void *impl = ops->open(cfg, e);
    if (!impl) return NULL;
    fl_target *t = fl_xmalloc(sizeof *t);
    t->ops = ops;
    t->impl = impl;
    return t;
}

void fl_target_close(fl_target *t)
{
    if (!t) return;
    t->ops->close(t->impl);
    free(t);
}

const char *fl_target_kind(const fl_target *t) { return t->ops->kind; }

bool fl_target_deletes_by_pattern(const fl_target *t) { return t->ops->deletes_by_pattern; }

fl_group_caps fl_target_group_caps(const fl_target *t)
{
    return t->ops->group_caps ? t->ops->group_caps(t->impl) : FL_GROUP_CAPS_DEFAULT;
}

bool fl_target_has_units(const fl_target *t) { return t->ops->atomic_unit != NULL; }

uint32_t fl_target_atomic_unit(const fl_target *t, const char *key, uint32_t key_len)
{
    return t->ops->atomic_unit ? t->ops->atomic_unit(t->impl, key, key_len) : 0;
}

int fl_target_fence(fl_target *t, char *err, size_t errlen)
{
    return t->ops->fence ? t->ops->fence(t->impl, err, errlen) : 0;
}

int fl_target_read_checkpoint(fl_target *t, fl_checkpoint *cp, char *err, size_t errlen)
{
    return t->ops->read_checkpoint(t->impl, cp, err, errlen);
}

int fl_target_submit(fl_target *t, const fl_cache_ops *ops, const fl_checkpoint *cp, int *chunked, char *err,
                     size_t errlen)
{
    int c = 0;
    int rc = t->ops->submit(t->impl, ops, cp, &c, err, errlen);
    if (chunked) *chunked = c;
    return rc;
}

int fl_target_flush(fl_target *t, char *err, size_t errlen) { return t->ops->flush(t->impl, err, errlen); }

uint32_t fl_target_in_flight(const fl_target *t) { return t->ops->in_flight(t->impl); }

bool fl_target_holds(const fl_target *t, const char *key, uint32_t key_len, uint64_t seq)
{
    return t->ops->holds && t->ops->holds(t->impl, key, key_len, seq);
}

void fl_target_rewind(fl_target *t, uint64_t seq)
{
    if (t->ops->rewind) t->ops->rewind(t->impl, seq);
}

void fl_target_will_show(fl_target *t, uint64_t seq)
{
    if (t->ops->will_show) t->ops->will_show(t->impl, seq);
}
