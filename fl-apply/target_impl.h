/* target_impl.h — what a cache target implements (internal to fl-apply/target*.c).
 *
 * fl-apply/target.c picks the implementation from the target URL's scheme and forwards the
 * public calls of target.h to it; each function has the meaning of its target.h counterpart,
 * with `impl` the implementation's own state returned by open. */
#ifndef FL_TARGET_IMPL_H
#define FL_TARGET_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "fl-apply/target.h"

struct fl_target_ops {
    /* Connects to cfg->target. Returns the state, or NULL with e (e->permanent when
     * retrying cannot help: a bad URL). */
    void *(*open)(const fl_config_apply *cfg, fl_error *e);
    void (*close)(void *impl);
    int (*fence)(void *impl, char *err, size_t errlen); /* NULL: nothing to fence */
    int (*read_checkpoint)(void *impl, fl_checkpoint *cp, char *err, size_t errlen);
    int (*submit)(void *impl, const fl_cache_ops *ops, const fl_checkpoint *cp, int *chunked, char *err,
                  size_t errlen);
    int (*flush)(void *impl, char *err, size_t errlen);
    uint32_t (*in_flight)(const void *impl);
    /* optional (NULL: nothing is held, rewinding changes nothing) */
    bool (*holds)(const void *impl, const char *key, uint32_t key_len, uint64_t seq);
    void (*rewind)(void *impl, uint64_t seq);
    void (*will_show)(void *impl, uint64_t seq);
    /* optional: the caps on a group (NULL: FL_GROUP_CAPS_DEFAULT) */
    fl_group_caps (*group_caps)(const void *impl);
    /* optional: the atomic unit of a key's operations (NULL: a group is one unit) */
    uint32_t (*atomic_unit)(const void *impl, const char *key, uint32_t key_len);
    bool deletes_by_pattern; /* can apply FL_CACHE_DEL_MATCH (memcached cannot list its keys) */
    const char *kind;        /* "redis", "redis-cluster" or "memcached" */
};

extern const struct fl_target_ops fl_target_memcached_ops;     /* memcached:// */
extern const struct fl_target_ops fl_target_redis_ops;         /* redis://, redis+unix:// */
extern const struct fl_target_ops fl_target_redis_cluster_ops; /* redis-cluster:// */

/* A memcached target's checkpoint file: the last checkpoint written and, per server (by
 * host:port), the epoch of its marker and the seq it holds everything up to. Read returns 0,
 * 1 when there is none, -1 (corrupt or unreadable, with the reason in err); a file of the
 * first format (one epoch for all servers) reads as one server named FL_MC_ANY_SERVER.
 * Write replaces the file atomically and durably and returns 0 or -1. */
#define FL_EPOCH_TEXT_MAX 33
#define FL_MC_SERVER_NAME_MAX 300
#define FL_MC_ANY_SERVER "*"
typedef struct fl_mc_server_state {
    char name[FL_MC_SERVER_NAME_MAX];
    char epoch[FL_EPOCH_TEXT_MAX]; /* "" = none */
    uint64_t seq;
} fl_mc_server_state;
typedef struct fl_mc_checkpoint {
    fl_checkpoint cp;
    fl_mc_server_state *server; /* malloc'd */
    uint32_t nservers;
} fl_mc_checkpoint;
int fl_checkpoint_file_read(const char *path, fl_mc_checkpoint *c, char *err, size_t errlen);
int fl_checkpoint_file_write(const char *path, const fl_mc_checkpoint *c, char *err, size_t errlen);
void fl_mc_checkpoint_free(fl_mc_checkpoint *c);

#endif
