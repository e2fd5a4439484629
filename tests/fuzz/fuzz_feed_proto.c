/* fuzz_feed_proto.c — the feed frame parser on arbitrary bytes: never crashes, and whatever
 * parses re-encodes to exactly the bytes it consumed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feed/feed_proto.h"
#include "tests/fuzz/fuzzer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    char err[256];
    while (off < size) {
        fl_feed_msg m;
        size_t used = 0;
        int r = fl_feed_parse(data + off, size - off, &m, &used, err, sizeof err);
        if (r <= 0) break;
        fl_buf b = {0};
        fl_feed_encode(&b, &m);
        if (b.len != used || memcmp(b.data, data + off, used) != 0) abort();
        fl_buf_free(&b);
        off += used;
    }
    return 0;
}
