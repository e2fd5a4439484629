/* receiver.h — the replication stream read on a thread of its own.
 *
 * Once the stream is started (fl_source_start), a receiver thread does nothing but read
 * events off the connection and copy them into a bounded queue; the thread that decodes and
 * journals takes them from it in order. So reading from the network overlaps decoding and
 * journal commits. The queue holds at most FL_RECEIVER_SLOTS events and about max_bytes
 * (an event bigger than that waits for an empty queue, then goes alone). The receiving
 * thread also computes each event's CRC-32 (all but its last four bytes, where a binlog
 * event keeps its checksum), so the decoding thread only compares it. */
#ifndef FL_RECEIVER_H
#define FL_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/stage_trace.h"
#include "fl-relay/source.h"

#define FL_RECEIVER_SLOTS 1024

typedef struct fl_receiver fl_receiver;

/* Where the thread reads from. read returns 0 with the next event (*ev valid until the next
 * read), 1 when the stream ended, -1 on an error (both with e); pending tells whether more
 * bytes are already waiting; fd, when >= 0, is shut down to end a read blocked on it. */
typedef struct fl_receiver_input {
    int (*read)(void *ctx, const uint8_t **ev, size_t *len, fl_error *e);
    bool (*pending)(void *ctx);
    void *ctx;
    int fd;
} fl_receiver_input;

/* Starts the thread on in, which it owns until fl_receiver_stop. SIGTERM and SIGINT are
 * blocked in the thread (the caller's thread gets them). NULL with e when it cannot start. */
fl_receiver *fl_receiver_start(const fl_receiver_input *in, size_t max_bytes, fl_error *e);
/* The same on a started replication stream (fl_source_start): the caller must not use src
 * until fl_receiver_stop. */
fl_receiver *fl_receiver_start_source(fl_source *src, size_t max_bytes, fl_error *e);

/* Stops the thread (shutting the connection down to end a blocked read), joins it and frees
 * the queue. The input is the caller's again (a source's connection unusable). NULL is a
 * no-op. */
void fl_receiver_stop(fl_receiver *r);

/* What fl_receiver_next returns besides an event (0). */
enum {
    FL_RECEIVER_EVENT = 0,
    FL_RECEIVER_ENDED = 1,  /* the server ended the stream (e says so) */
    FL_RECEIVER_ERROR = -1, /* reading failed (e: the source's error, e->permanent as it says) */
    FL_RECEIVER_IDLE = 2,   /* nothing within timeout_ms, or a signal arrived meanwhile */
};

/* The next event in stream order, waiting up to timeout_ms for one. *ev and *len stay valid
 * until the next call. Events received before an end or error come first. */
int fl_receiver_next(fl_receiver *r, int timeout_ms, const uint8_t **ev, size_t *len, fl_error *e);

/* The CRC-32 of the event fl_receiver_next returned last, all but its last four bytes (0 for
 * an event shorter than four bytes): what fl_decoder_event_crc takes. */
uint32_t fl_receiver_crc(const fl_receiver *r);

/* True when another event is known to follow at once: one is queued, or the last event taken
 * was followed by bytes already waiting on the connection. False means the stream is drained
 * for now (the moment to commit a group). */
bool fl_receiver_more(fl_receiver *r);

/* A traced build: when the receiver thread read the event fl_receiver_next returned last. */
FL_STAGE(long long fl_receiver_time(const fl_receiver *r);)

#endif
