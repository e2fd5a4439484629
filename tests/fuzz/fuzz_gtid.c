/* fuzz_gtid.c — libFuzzer target: any text either fails to parse as a GTID set or round-trips
 * through its canonical form; single-GTID parsing and formatting agree the same way. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/gtid.h"
#include "tests/fuzz/fuzzer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;

    char err[256];
    fl_gtid_set *s = fl_gtid_set_parse(text, err, sizeof err);
    if (s) {
        char *f = fl_gtid_set_format(s);
        fl_gtid_set *p = fl_gtid_set_parse(f, err, sizeof err);
        if (!p || !fl_gtid_set_equal(s, p)) abort();
        char *f2 = fl_gtid_set_format(p);
        if (strcmp(f, f2) != 0) abort();
        if (!fl_gtid_set_is_subset(s, p) || !fl_gtid_set_is_subset(p, s)) abort();
        fl_gtid_set *u = fl_gtid_set_dup(s);
        if (fl_gtid_set_union(u, p) != 0 || !fl_gtid_set_equal(u, s)) abort();
        free(f2);
        free(f);
        fl_gtid_set_free(u);
        fl_gtid_set_free(p);
        fl_gtid_set_free(s);
    } else if (err[0] == 0) {
        abort(); /* a rejection always says why */
    }

    fl_gtid g;
    if (fl_gtid_parse(&g, (const char *)data, size) == 0) {
        char buf[FL_GTID_TEXT_MAX];
        size_t n = fl_gtid_format(&g, buf, sizeof buf);
        fl_gtid h;
        if (n >= sizeof buf || fl_gtid_parse(&h, buf, n) != 0 || !fl_gtid_equal(&g, &h)) abort();
        fl_gtid_set *one = fl_gtid_set_new(FL_FLAVOR_NONE);
        if (fl_gtid_set_add(one, &g) != 0 || !fl_gtid_set_contains(one, &g)) abort();
        fl_gtid_set_free(one);
    }
    free(text);
    return 0;
}
