/* fuzzer.h — the libFuzzer entry point every tests/fuzz/fuzz_NAME.c defines, declared once so
 * the targets build under -Wmissing-prototypes like the rest of the code. */
#ifndef FL_FUZZER_H
#define FL_FUZZER_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
