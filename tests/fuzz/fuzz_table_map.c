/* fuzz_table_map.c — libFuzzer target: any bytes either fail to parse as a TABLE_MAP body
 * with a message, or give a map whose every field is consistent (indexes in range, labels
 * and names readable). The first input byte chooses the flavor and the table id width. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fl-relay/table_map.h"
#include "tests/fuzz/fuzzer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    fl_flavor flavor = (data[0] & 1) ? FL_FLAVOR_MARIADB : FL_FLAVOR_MYSQL;
    uint8_t phl = (data[0] & 2) ? 6 : 8;
    /* a private copy so reads past the end are caught */
    uint8_t *body = malloc(size - 1 ? size - 1 : 1);
    if (!body) return 0;
    memcpy(body, data + 1, size - 1);

    fl_table_map tm;
    fl_table_map_init(&tm);
    char err[256];
    err[0] = 0;
    if (fl_table_map_parse(&tm, body, size - 1, phl, flavor, err, sizeof err) == 0) {
        size_t sum = strlen(tm.db) + strlen(tm.table);
        for (uint32_t i = 0; i < tm.ncols; i++) {
            const fl_column_meta *c = &tm.cols[i];
            if (c->name) sum += strlen(c->name);
            for (uint32_t k = 0; k < c->nlabels; k++) sum += strlen(c->labels[k]);
            if (c->is_binary != (c->charset == 63)) abort();
        }
        for (uint32_t k = 0; k < tm.npk; k++)
            if (tm.pk[k] >= tm.ncols) abort();
        (void)sum;
    } else if (strncmp(err, "TABLE_MAP: ", 11) != 0) {
        abort();
    }
    fl_table_map_free(&tm);
    free(body);
    return 0;
}
