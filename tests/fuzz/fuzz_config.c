/* fuzz_config.c — libFuzzer target: any text loads or is rejected with one
 * "NAME:LINE: ..." message per line; a loaded config answers its helpers without crashing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "tests/fuzz/fuzzer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *errors = NULL;
    fl_config *c = fl_config_load_string((const char *)data, size, "fuzz.ini", &errors);
    if (c) {
        if (errors) abort();
        fl_config_table_wanted(&c->source, "app", "users");
        char *need = fl_config_require(c, FL_NEED_SOURCE | FL_NEED_JOURNAL | FL_NEED_APPLY);
        free(need);
        fl_config_free(c);
    } else {
        if (!errors || !*errors) abort();
        /* every message line names the input */
        for (const char *p = errors; *p;) {
            if (strncmp(p, "fuzz.ini:", 9) != 0) abort();
            const char *nl = strchr(p, '\n');
            if (!nl) abort();
            p = nl + 1;
        }
        free(errors);
    }
    return 0;
}
