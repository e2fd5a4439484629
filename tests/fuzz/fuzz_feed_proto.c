/* fuzz_feed_proto.c — the feed's parsers on arbitrary bytes: plain frames, sealed frames
 * (opened with a fixed session key, numbered from 0) and the message stream they carry.
 * Never crashes; whatever parses re-encodes to exactly the bytes it consumed (a sealed frame
 * re-sealed with the same key and number, a message re-encoded). The first input byte picks
 * whether the rest is read as frames or as a message stream. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feed/feed_proto.h"
#include "tests/fuzz/fuzzer.h"

static void frames(const uint8_t *data, size_t size)
{
    static const uint8_t key[FL_FEED_MAC] = {1, 2, 3, 4, 5, 6, 7, 8};
    fl_feed_seal rx, tx;
    if (fl_feed_seal_init(&rx, key) != 0 || fl_feed_seal_init(&tx, key) != 0) abort();
    fl_buf stream = {0};
    size_t off = 0;
    char err[256];
    while (off < size) {
        fl_feed_msg m;
        size_t used = 0;
        int r = fl_feed_parse(data + off, size - off, &rx, &m, &used, err, sizeof err);
        if (r <= 0) break;
        fl_buf b = {0};
        if (m.type == FL_FEED_SEALED) {
            fl_feed_seal_frame(&b, &tx, m.data, m.data_len);
            fl_buf_put(&stream, m.data, m.data_len);
        } else {
            fl_feed_encode(&b, &m);
        }
        if (b.len != used || memcmp(b.data, data + off, used) != 0) abort();
        fl_buf_free(&b);
        off += used;
    }
    /* what the sealed frames carried, as the client reads it */
    size_t soff = 0;
    while (soff < stream.len) {
        fl_feed_msg m;
        size_t used = 0;
        if (fl_feed_parse_message(stream.data + soff, stream.len - soff, &m, &used, err, sizeof err) <= 0) break;
        soff += used;
    }
    fl_buf_free(&stream);
    fl_feed_seal_free(&rx);
    fl_feed_seal_free(&tx);
}

static void messages(const uint8_t *data, size_t size)
{
    size_t off = 0;
    char err[256];
    while (off < size) {
        fl_feed_msg m;
        size_t used = 0;
        if (fl_feed_parse_message(data + off, size - off, &m, &used, err, sizeof err) <= 0) break;
        fl_buf b = {0};
        fl_feed_encode_message(&b, &m);
        if (b.len != used || memcmp(b.data, data + off, used) != 0) abort();
        fl_buf_free(&b);
        off += used;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (data[0] & 1)
        messages(data + 1, size - 1);
    else
        frames(data + 1, size - 1);
    return 0;
}
