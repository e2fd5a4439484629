/* fuzz_json_diff.c — libFuzzer target: a JSON document text and a binlog JSON diff vector
 * (split at the first NUL byte) into fl_json_diff_apply. Either a clear error or a document;
 * never a crash, never a sanitizer report. */
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "fl-relay/json_diff.h"
#include "tests/fuzz/fuzzer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    if (!nul) return 0;
    size_t doc_len = (size_t)(nul - data);
    fl_buf out = {0};
    char err[256];
    fl_json_diff_apply((const char *)data, doc_len, nul + 1, size - doc_len - 1, &out, err, sizeof err);
    fl_buf_free(&out);
    return 0;
}
