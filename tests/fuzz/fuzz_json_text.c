/* fuzz_json_text.c — the JSON text validator on any bytes: it never reads out of bounds, never
 * recurses past its depth limit, and a text it accepts stays accepted with white space around. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 2);
    if (!copy) return 0;
    memcpy(copy + 1, data, size);
    bool ok = fl_json_text_valid(copy + 1, size);
    copy[0] = ' ';
    copy[size + 1] = '\n';
    if (ok && !fl_json_text_valid(copy, size + 2)) abort();
    free(copy);
    return 0;
}
