/* test_receiver.c — the receiver thread and its queue, on inputs made here: events come out
 * in order and intact, the end or the error after every event received before it, the queue
 * never runs more than its bounds ahead of the consumer, an event bigger than the byte bound
 * goes alone, "more" follows the queue and the input's pending bytes, an idle wait returns,
 * and a stop ends a read blocked on a socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <poll.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "fl-relay/receiver.h"

/* ---- an input from an array of generated events --------------------------------------- */

typedef struct gen {
    size_t count;  /* events to produce */
    size_t big_at; /* index of one event of big_len bytes (count = none) */
    size_t big_len;
    int end_rc;         /* what follows the last event: 1 ended, -1 error */
    atomic_size_t read; /* events handed to the receiver so far */
    bool pending;       /* what pending() says */
    uint8_t buf[1 << 20];
} gen;

static size_t gen_len(const gen *g, size_t i) { return i == g->big_at ? g->big_len : 20 + i % 200; }
static uint8_t gen_byte(size_t i, size_t k) { return (uint8_t)(i * 31 + k); }

static int gen_read(void *ctx, const uint8_t **ev, size_t *len, fl_error *e)
{
    gen *g = ctx;
    size_t i = atomic_load(&g->read);
    if (i == g->count) {
        if (g->end_rc < 0) return fl_error_set(e, true, 1236, "binlog purged");
        fl_error_set(e, false, 0, "the source ended the binlog stream");
        return 1;
    }
    size_t n = gen_len(g, i);
    for (size_t k = 0; k < n; k++) g->buf[k] = gen_byte(i, k);
    *ev = g->buf;
    *len = n;
    atomic_store(&g->read, i + 1);
    return 0;
}

static bool gen_pending(void *ctx) { return ((gen *)ctx)->pending; }

static gen *gen_new(size_t count, int end_rc)
{
    gen *g = calloc(1, sizeof *g);
    g->count = count;
    g->big_at = count;
    g->end_rc = end_rc;
    atomic_init(&g->read, 0);
    return g;
}

static fl_receiver *start_gen(gen *g, size_t max_bytes)
{
    fl_receiver_input in = {.read = gen_read, .pending = gen_pending, .ctx = g, .fd = -1};
    fl_error e;
    fl_receiver *r = fl_receiver_start(&in, max_bytes, &e);
    assert_non_null(r);
    return r;
}

/* Takes every event, checking each; returns what came after them. */
static int drain(fl_receiver *r, gen *g, size_t max_ahead, fl_error *e)
{
    for (size_t i = 0;; i++) {
        const uint8_t *ev;
        size_t len;
        int rc;
        while ((rc = fl_receiver_next(r, 1000, &ev, &len, e)) == FL_RECEIVER_IDLE) {
        }
        if (rc != FL_RECEIVER_EVENT) {
            assert_int_equal(i, g->count);
            return rc;
        }
        assert_true(i < g->count);
        assert_int_equal(len, gen_len(g, i));
        for (size_t k = 0; k < len; k++)
            if (ev[k] != gen_byte(i, k)) fail_msg("event %zu byte %zu differs", i, k);
        /* its CRC-32 but the last four bytes, computed by the receiving thread */
        assert_int_equal(fl_receiver_crc(r), len >= 4 ? fl_crc32(0, ev, len - 4) : 0);
        /* the receiver never reads more than its bounds ahead of what was taken */
        if (max_ahead) assert_true(atomic_load(&g->read) <= i + 1 + max_ahead);
    }
}

static void test_in_order_then_end(void **state)
{
    (void)state;
    gen *g = gen_new(20000, 1);
    fl_receiver *r = start_gen(g, 64 * 1024);
    fl_error e;
    assert_int_equal(drain(r, g, 0, &e), FL_RECEIVER_ENDED);
    assert_non_null(strstr(e.msg, "ended"));
    /* asked again, the end stays */
    const uint8_t *ev;
    size_t len;
    assert_int_equal(fl_receiver_next(r, 10, &ev, &len, &e), FL_RECEIVER_ENDED);
    fl_receiver_stop(r);
    free(g);
}

static void test_error_after_events(void **state)
{
    (void)state;
    gen *g = gen_new(3000, -1);
    fl_receiver *r = start_gen(g, 64 * 1024);
    fl_error e;
    assert_int_equal(drain(r, g, 0, &e), FL_RECEIVER_ERROR);
    assert_int_equal(e.code, 1236);
    assert_true(e.permanent);
    assert_non_null(strstr(e.msg, "binlog purged"));
    fl_receiver_stop(r);
    free(g);
}

/* Events of 20..219 bytes under a 4 KiB bound: at most 4096 / 20 + 1 queued and one being
 * read; under a large byte bound, the slot count bounds it. */
static void test_bounded_ahead(void **state)
{
    (void)state;
    gen *g = gen_new(10000, 1);
    fl_receiver *r = start_gen(g, 4096);
    fl_error e;
    assert_int_equal(drain(r, g, 4096 / 20 + 2, &e), FL_RECEIVER_ENDED);
    fl_receiver_stop(r);
    free(g);

    g = gen_new(10000, 1);
    r = start_gen(g, 64u * 1024 * 1024);
    assert_int_equal(drain(r, g, FL_RECEIVER_SLOTS + 1, &e), FL_RECEIVER_ENDED);
    fl_receiver_stop(r);
    free(g);
}

static void test_big_event_alone(void **state)
{
    (void)state;
    gen *g = gen_new(500, 1);
    g->big_at = 250;
    g->big_len = 600 * 1024; /* over the 64 KiB bound */
    fl_receiver *r = start_gen(g, 64 * 1024);
    fl_error e;
    assert_int_equal(drain(r, g, 0, &e), FL_RECEIVER_ENDED);
    fl_receiver_stop(r);
    free(g);
}

static void test_more(void **state)
{
    (void)state;
    gen *g = gen_new(2, 1);
    g->pending = true; /* bytes wait after each event */
    fl_receiver *r = start_gen(g, 4096);
    const uint8_t *ev;
    size_t len;
    fl_error e;
    while (fl_receiver_next(r, 1000, &ev, &len, &e) == FL_RECEIVER_IDLE) {
    }
    assert_true(fl_receiver_more(r)); /* the second is queued or on its way */
    while (fl_receiver_next(r, 1000, &ev, &len, &e) == FL_RECEIVER_IDLE) {
    }
    /* the input said more was pending, but the stream then ended: nothing more follows once
     * the end is known */
    while (fl_receiver_next(r, 1000, &ev, &len, &e) == FL_RECEIVER_IDLE) {
    }
    assert_false(fl_receiver_more(r));
    fl_receiver_stop(r);
    free(g);

    g = gen_new(1, 1);
    g->pending = false;
    r = start_gen(g, 4096);
    while (fl_receiver_next(r, 1000, &ev, &len, &e) == FL_RECEIVER_IDLE) {
    }
    assert_false(fl_receiver_more(r)); /* drained: the moment to commit */
    fl_receiver_stop(r);
    free(g);
}

/* ---- an input from a socket: [u32 length][bytes] per event ---------------------------- */

typedef struct sock_in {
    int fd;
    uint8_t buf[4096];
} sock_in;

static int full_read(int fd, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, (uint8_t *)p + got, n - got);
        if (k <= 0) return -1;
        got += (size_t)k;
    }
    return 0;
}

static int sock_read(void *ctx, const uint8_t **ev, size_t *len, fl_error *e)
{
    sock_in *s = ctx;
    uint32_t n;
    if (full_read(s->fd, &n, 4) < 0 || n > sizeof s->buf || full_read(s->fd, s->buf, n) < 0)
        return fl_error_set(e, false, 2013, "connection lost");
    *ev = s->buf;
    *len = n;
    return 0;
}

static bool sock_pending(void *ctx)
{
    struct pollfd p = {.fd = ((sock_in *)ctx)->fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

static void test_idle_then_event_then_stop(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    sock_in s = {.fd = sv[0]};
    fl_receiver_input in = {.read = sock_read, .pending = sock_pending, .ctx = &s, .fd = sv[0]};
    fl_error e;
    fl_receiver *r = fl_receiver_start(&in, 4096, &e);
    assert_non_null(r);
    const uint8_t *ev;
    size_t len;
    assert_int_equal(fl_receiver_next(r, 20, &ev, &len, &e), FL_RECEIVER_IDLE);
    assert_false(fl_receiver_more(r));

    uint8_t msg[4 + 5] = {5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
    assert_int_equal(write(sv[1], msg, sizeof msg), (ssize_t)sizeof msg);
    int rc;
    while ((rc = fl_receiver_next(r, 1000, &ev, &len, &e)) == FL_RECEIVER_IDLE) {
    }
    assert_int_equal(rc, FL_RECEIVER_EVENT);
    assert_int_equal(len, 5);
    assert_memory_equal(ev, "hello", 5);

    /* the thread now blocks reading the socket: stop ends the read and joins it */
    fl_receiver_stop(r);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_then_end),
        cmocka_unit_test(test_error_after_events),
        cmocka_unit_test(test_bounded_ahead),
        cmocka_unit_test(test_big_event_alone),
        cmocka_unit_test(test_more),
        cmocka_unit_test(test_idle_then_event_then_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
