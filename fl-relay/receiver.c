/* receiver.c — the replication stream read on its own thread (see receiver.h).
 *
 * The queue is a single-producer single-consumer ring of FL_RECEIVER_SLOTS slots, each a
 * buffer kept between uses (grown to fit, freed after an event over 16 KiB, so the kept
 * buffers stay under FL_RECEIVER_SLOTS x 16 KiB). head counts the slots filled, tail the slots given back; both only grow and
 * are atomics, so neither side takes a lock per event. The consumer sleeps on an eventfd
 * (a signal interrupts its poll, so a stop request is seen at once), the producer on a
 * condition variable while the queue is full (until it is back to half); each side wakes the other only when it says
 * it sleeps. While the stream flows the producer hands events over in batches (64 events or
 * 64 KiB), and at once when nothing more is waiting on the connection. The slot the consumer holds is given back at its next call.
 * Each event's CRC-32 is computed as it is copied into its slot (the bytes are at hand). */
#include "fl-relay/receiver.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mysql.h>

#include "common/buf.h"
#include "common/crc32c.h"

#define PUBLISH_EVENTS 64            /* while the stream flows, events are handed over in batches */
#define PUBLISH_BYTES (64u * 1024)   /* of this many events or bytes */
#define SLOT_KEEP_BYTES (16u * 1024) /* a slot buffer bigger than this is freed after use */

typedef struct slot {
    uint8_t *data;
    size_t len, cap;
    bool more;    /* bytes were waiting on the connection right after this event */
    uint32_t crc; /* CRC-32 of all but its last four bytes */
    FL_STAGE(long long t_read;)
} slot;

struct fl_receiver {
    fl_receiver_input in;
    int wake_fd; /* eventfd: the producer wakes a sleeping consumer */
    size_t max_bytes;
    pthread_t thread;
    slot slots[FL_RECEIVER_SLOTS];

    atomic_size_t head;   /* slots filled and published (producer) */
    atomic_size_t tail;   /* slots given back (consumer) */
    atomic_size_t queued; /* bytes in filled slots not yet given back */
    atomic_bool stop;
    atomic_bool done;            /* producer finished: end_rc and end_err are set */
    atomic_bool consumer_sleeps; /* the consumer polls wake_fd */
    atomic_bool producer_sleeps; /* the producer waits on space */
    pthread_mutex_t lock;        /* with space: the producer's sleep */
    pthread_cond_t space;
    int end_rc;
    fl_error end_err;

    /* consumer side only */
    bool holding; /* the slot at tail is handed out */
    bool last_more;
    uint32_t last_crc;
    FL_STAGE(long long last_t;)
};

/* Producer: whether an event of len bytes must wait, filled slots written so far. */
static bool full(fl_receiver *r, size_t filled, size_t len)
{
    size_t t = atomic_load(&r->tail);
    if (filled - t >= FL_RECEIVER_SLOTS) return true;
    return filled != t && atomic_load(&r->queued) + len > r->max_bytes;
}

/* Whether a sleeping producer may go on: the queue is empty, or back to half its bounds with
 * room for the event (waking it at every slot given back would cost a wake-up per event). */
static bool resumable(fl_receiver *r, size_t filled, size_t len)
{
    size_t t = atomic_load(&r->tail), q = atomic_load(&r->queued);
    return filled == t ||
           (filled - t <= FL_RECEIVER_SLOTS / 2 && q <= r->max_bytes / 2 && q + len <= r->max_bytes);
}

/* Producer: sleeps until an event of len bytes fits. Returns false when asked to stop. */
static bool wait_for_space(fl_receiver *r, size_t filled, size_t len)
{
    pthread_mutex_lock(&r->lock);
    atomic_store(&r->producer_sleeps, true);
    while (!resumable(r, filled, len) && !atomic_load(&r->stop)) pthread_cond_wait(&r->space, &r->lock);
    atomic_store(&r->producer_sleeps, false);
    pthread_mutex_unlock(&r->lock);
    return !atomic_load(&r->stop);
}

static void give_back(fl_receiver *r)
{
    if (!r->holding) return;
    size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    slot *s = &r->slots[t % FL_RECEIVER_SLOTS];
    size_t len = s->len;
    if (s->cap > SLOT_KEEP_BYTES) {
        free(s->data);
        s->data = NULL;
        s->cap = 0;
    }
    r->holding = false;
    atomic_fetch_sub(&r->queued, len);
    atomic_store(&r->tail, t + 1);
    if (atomic_load(&r->producer_sleeps) && resumable(r, atomic_load(&r->head), 0)) {
        pthread_mutex_lock(&r->lock);
        pthread_cond_signal(&r->space);
        pthread_mutex_unlock(&r->lock);
    }
}

static void wake_consumer(fl_receiver *r)
{
    if (!atomic_exchange(&r->consumer_sleeps, false)) return;
    uint64_t one = 1;
    ssize_t n = write(r->wake_fd, &one, sizeof one);
    (void)n; /* an eventfd write fails only on counter overflow, which a pending wake-up covers */
}

/* Producer: makes the slots filled so far visible to the consumer. */
static void publish(fl_receiver *r, size_t filled)
{
    if (atomic_load_explicit(&r->head, memory_order_relaxed) == filled) return;
    atomic_store(&r->head, filled);
    wake_consumer(r);
}

static void *receive(void *arg)
{
    fl_receiver *r = arg;
    fl_error e;
    fl_error_clear(&e);
    int rc;
    size_t filled = 0, unpublished_bytes = 0; /* filled: slots written, published or not */
    for (;;) {
        const uint8_t *ev;
        size_t len;
        rc = r->in.read(r->in.ctx, &ev, &len, &e);
        if (rc != 0) break;
        FL_STAGE(long long t_read = fl_stage_now();)
        bool more = r->in.pending(r->in.ctx);
        if (full(r, filled, len)) {
            publish(r, filled); /* the consumer must see them to make room */
            unpublished_bytes = 0;
            if (!wait_for_space(r, filled, len)) break;
        }
        slot *s = &r->slots[filled % FL_RECEIVER_SLOTS];
        if (s->cap < len) {
            free(s->data);
            s->cap = len > 256 ? len : 256;
            s->data = fl_xmalloc(s->cap);
        }
        memcpy(s->data, ev, len);
        s->len = len;
        s->more = more;
        FL_STAGE(s->t_read = t_read;)
        s->crc = len >= 4 ? fl_crc32(0, s->data, len - 4) : 0;
        atomic_fetch_add(&r->queued, len);
        filled++;
        unpublished_bytes += len;
        /* Events go to the consumer in batches while the stream flows, at once when it pauses. */
        if (!more || filled - atomic_load_explicit(&r->head, memory_order_relaxed) >= PUBLISH_EVENTS ||
            unpublished_bytes >= PUBLISH_BYTES) {
            publish(r, filled);
            unpublished_bytes = 0;
        }
    }
    publish(r, filled);
    if (atomic_load(&r->stop)) {
        rc = 1;
        fl_error_set(&e, false, 0, "the relay is stopping");
    }
    r->end_rc = rc;
    r->end_err = e;
    atomic_store(&r->done, true);
    wake_consumer(r);
    return NULL;
}

fl_receiver *fl_receiver_start(const fl_receiver_input *in, size_t max_bytes, fl_error *e)
{
    fl_receiver *r = fl_xcalloc(1, sizeof *r);
    r->in = *in;
    r->max_bytes = max_bytes;
    r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->wake_fd < 0) {
        fl_error_set(e, false, 0, "receiver: eventfd: %s", strerror(errno));
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->space, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(&r->thread, NULL, receive, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        fl_error_set(e, false, 0, "receiver: cannot start its thread: %s", strerror(rc));
        pthread_mutex_destroy(&r->lock);
        pthread_cond_destroy(&r->space);
        close(r->wake_fd);
        free(r);
        return NULL;
    }
    return r;
}

static int source_read(void *ctx, const uint8_t **ev, size_t *len, fl_error *e)
{
    return fl_source_next_event(ctx, ev, len, e);
}

static bool source_pending(void *ctx) { return fl_source_pending(ctx); }

fl_receiver *fl_receiver_start_source(fl_source *src, size_t max_bytes, fl_error *e)
{
    fl_receiver_input in = {
        .read = source_read,
        .pending = source_pending,
        .ctx = src,
        .fd = (int)mysql_get_socket(fl_source_mysql(src)),
    };
    return fl_receiver_start(&in, max_bytes, e);
}

void fl_receiver_stop(fl_receiver *r)
{
    if (!r) return;
    atomic_store(&r->stop, true);
    if (r->in.fd >= 0) shutdown(r->in.fd, SHUT_RDWR); /* ends a read blocked on the socket */
    pthread_mutex_lock(&r->lock);
    pthread_cond_broadcast(&r->space);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    for (size_t i = 0; i < FL_RECEIVER_SLOTS; i++) free(r->slots[i].data);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->space);
    close(r->wake_fd);
    free(r);
}

/* Consumer: sleeps until the producer wakes it or timeout_ms pass. */
static void sleep_for_event(fl_receiver *r, int timeout_ms)
{
    atomic_store(&r->consumer_sleeps, true);
    if (atomic_load(&r->head) == atomic_load(&r->tail) && !atomic_load(&r->done)) {
        struct pollfd p = {.fd = r->wake_fd, .events = POLLIN};
        poll(&p, 1, timeout_ms);
    }
    atomic_store(&r->consumer_sleeps, false);
    uint64_t n;
    ssize_t got = read(r->wake_fd, &n, sizeof n); /* non-blocking: clears a wake-up */
    (void)got;
}

int fl_receiver_next(fl_receiver *r, int timeout_ms, const uint8_t **ev, size_t *len, fl_error *e)
{
    give_back(r);
    size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (atomic_load(&r->head) == t) {
        if (!atomic_load(&r->done)) sleep_for_event(r, timeout_ms);
        if (atomic_load(&r->head) == t) {
            if (!atomic_load(&r->done)) return FL_RECEIVER_IDLE;
            /* done was set after the last event was queued: check the queue once more */
            if (atomic_load(&r->head) == t) {
                *e = r->end_err;
                return r->end_rc < 0 ? FL_RECEIVER_ERROR : FL_RECEIVER_ENDED;
            }
        }
    }
    slot *s = &r->slots[t % FL_RECEIVER_SLOTS];
    r->holding = true;
    r->last_more = s->more;
    r->last_crc = s->crc;
    FL_STAGE(r->last_t = s->t_read;)
    *ev = s->data;
    *len = s->len;
    return FL_RECEIVER_EVENT;
}

uint32_t fl_receiver_crc(const fl_receiver *r) { return r->last_crc; }

bool fl_receiver_more(fl_receiver *r)
{
    size_t queued = atomic_load(&r->head) - atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (queued > (r->holding ? 1u : 0u)) return true;
    return r->last_more && !atomic_load(&r->done);
}

FL_STAGE(long long fl_receiver_time(const fl_receiver *r) { return r->last_t; })
