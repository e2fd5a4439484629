/* fuzz_json_binary.c — libFuzzer target: any bytes either convert to JSON text with no raw
 * control characters (strings are escaped) or fail with a "binary JSON: " message and leave
 * the output buffer as it was. Bounded depth and output keep every input fast. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fl-relay/json_binary.h"
#include "tests/fuzz/fuzzer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fl_buf out = {0};
    fl_buf_puts(&out, "x");
    char err[256];
    err[0] = 0;
    if (fl_json_binary_to_text(data, size, &out, err, sizeof err) == 0) {
        if (out.len < 2) abort();
        for (size_t i = 1; i < out.len; i++)
            if (out.data[i] < 0x20) abort();
    } else if (strncmp(err, "binary JSON: ", 13) != 0 || out.len != 1) {
        abort();
    }
    fl_buf_free(&out);
    return 0;
}
