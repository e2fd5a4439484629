/* fuzz_rules.c — libFuzzer target: any key template either compiles or is refused with a
 * reason, and rendering any row values (every value type, NULL, absent, arbitrary bytes)
 * through it never misbehaves: on_error = stop and skip agree when nothing fails, a failure
 * always says which GTID, and every operation is well formed for its format.
 *
 * Input: one flags byte (format, mode, projection), the template up to '\n', then the
 * values of two rows of five columns (a type byte, then 8 bytes or a length byte and bytes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fl-apply/rules.h"
#include "tests/fuzz/fuzzer.h"

#define NCOLS 5

typedef struct input {
    const uint8_t *p;
    size_t n;
} input;

static uint8_t take_byte(input *in)
{
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}

static void take_value(input *in, fl_value *v)
{
    memset(v, 0, sizeof *v);
    v->type = (uint8_t)(take_byte(in) % FL_VAL_TYPE_COUNT);
    if (fl_value_has_bytes((fl_value_type)v->type)) {
        size_t len = take_byte(in) % 33;
        if (len > in->n) len = in->n;
        v->s.ptr = (const char *)in->p;
        v->s.len = (uint32_t)len;
        in->p += len;
        in->n -= len;
        return;
    }
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) u = u << 8 | take_byte(in);
    if (v->type == FL_VAL_FLOAT)
        v->d = (double)(float)(int32_t)u / 7.0;
    else if (v->type == FL_VAL_DOUBLE)
        memcpy(&v->d, &u, sizeof v->d);
    else
        v->u = u;
}

static void check_ops(const fl_cache_ops *ops, fl_rule_format format)
{
    for (size_t i = 0; i < ops->nops; i++) {
        const fl_cache_op *op = &ops->ops[i];
        if (!op->key) abort();
        if (op->kind == FL_CACHE_SET) {
            if (!op->value) abort();
            if (format == FL_FORMAT_JSON &&
                (op->value_len < 2 || op->value[0] != '{' || op->value[op->value_len - 1] != '}'))
                abort();
        } else if (op->kind == FL_CACHE_HASH) {
            if (format != FL_FORMAT_HASH || !op->nfields || !op->fields) abort();
        } else if (op->kind != FL_CACHE_DEL || op->ttl) {
            abort();
        }
    }
}

static bool same_ops(const fl_cache_ops *a, const fl_cache_ops *b)
{
    if (a->nops != b->nops) return false;
    for (size_t i = 0; i < a->nops; i++) {
        const fl_cache_op *x = &a->ops[i], *y = &b->ops[i];
        if (x->kind != y->kind || x->key_len != y->key_len || memcmp(x->key, y->key, x->key_len) ||
            x->value_len != y->value_len || (x->value_len && memcmp(x->value, y->value, x->value_len)) ||
            x->nfields != y->nfields)
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) {
        fl_log_set_level(FL_LOG_ERROR); /* on_error = skip warns on every input */
        quiet = true;
    }
    input in = {data, size};
    uint8_t flags = take_byte(&in);
    const uint8_t *nl = memchr(in.p, '\n', in.n);
    size_t tlen = nl ? (size_t)(nl - in.p) : in.n;
    char *tpl = malloc(tlen + 1);
    if (!tpl) return 0;
    memcpy(tpl, in.p, tlen);
    tpl[tlen] = 0;
    in.p += nl ? tlen + 1 : tlen;
    in.n -= nl ? tlen + 1 : tlen;

    static char *columns[] = {"e", "@2", "a", NULL};
    fl_config_rule rule = {
        .name = "f",
        .db = "d",
        .table = "t",
        .key = tpl,
        .line = 1,
        .key_line = 2,
        .ttl = flags >> 5,
        .format = (fl_rule_format)(flags % 3),
        .format_column = "c",
        .mode = (flags & 4) ? FL_MODE_INVALIDATE : FL_MODE_UPSERT,
        .columns = (flags & 8) ? columns : NULL,
    };
    fl_config cfg = {.path = "fuzz.ini", .rules = &rule, .nrules = 1};
    char *errors = NULL;
    fl_rules *r = fl_rules_new(&cfg, &errors);
    if (!r) {
        if (!errors || !strstr(errors, "fuzz.ini:2: [rule f] key: ")) abort();
        free(errors);
        free(tpl);
        return 0;
    }

    static const char *cols[NCOLS] = {"a", "b", "c", NULL, "e"};
    fl_table table = {.db = "d", .name = "t", .ncols = NCOLS, .cols = cols};
    fl_value rows[2][NCOLS];
    for (int k = 0; k < 2; k++)
        for (int c = 0; c < NCOLS; c++) take_value(&in, &rows[k][c]);
    fl_change changes[3] = {
        {.op = FL_OP_INSERT, .after = rows[0]},
        {.op = FL_OP_UPDATE, .before = rows[0], .after = rows[1]},
        {.op = FL_OP_DELETE, .before = rows[1]},
    };
    fl_txn txn = {.tables = &table, .ntables = 1, .changes = changes, .nchanges = 3, .nrows = 3};
    fl_gtid_parse(&txn.gtid, "0-1-9", 5);

    char err[512];
    if (fl_rules_check_table(r, &table, err, sizeof err) && !strstr(err, "fuzz.ini:")) abort();

    fl_cache_ops stop, skip;
    fl_cache_ops_init(&stop);
    fl_cache_ops_init(&skip);
    err[0] = 0;
    int rs = fl_rules_render(r, &txn, FL_ON_ERROR_STOP, &stop, err, sizeof err);
    if (fl_rules_render(r, &txn, FL_ON_ERROR_SKIP, &skip, err + 256, sizeof err - 256)) abort();
    if (rs == 0) {
        if (!same_ops(&stop, &skip) || skip.rows_failed) abort();
    } else if (strncmp(err, "gtid 0-1-9: d.t: rule f: ", 25) || !skip.rows_failed) {
        abort();
    }
    if (skip.rows_matched != 3) abort();
    check_ops(&skip, rule.format);

    fl_cache_ops_free(&stop);
    fl_cache_ops_free(&skip);
    fl_rules_free(r);
    free(tpl);
    return 0;
}
