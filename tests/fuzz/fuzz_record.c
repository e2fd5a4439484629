/* fuzz_record.c — the journal record decoder on arbitrary bytes. The input is decoded as it
 * is (magic, length and checksum checks), and its body is also wrapped in a valid length and
 * checksum so the fuzzer reaches the parser behind them. Whatever decodes must re-encode to
 * exactly the same bytes, agree with fl_record_peek, decode again (also appended to itself,
 * as a later part would be) and render as a JSON line, and decode as a view (with the names
 * kept from the inputs before) to the same bytes; whatever is refused says why, and is refused
 * as a view too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "journal/record.h"
#include "tests/fuzz/fuzzer.h"

#define MAGIC 0xF1

static void check(const uint8_t *rec, size_t len)
{
    fl_txn t, v;
    fl_txn_init(&t);
    fl_txn_init(&v);
    char err[256] = "";
    static fl_record_cache cache; /* kept from input to input, as a reader keeps it from record to record */
    int viewed = fl_record_decode_view(&v, rec, len, &cache, err, sizeof err);
    if (fl_record_decode(&t, rec, len, err, sizeof err) != 0) {
        if (!err[0] || viewed == 0) abort(); /* a refusal always says why; the view refuses too */
        fl_txn_free(&t);
        fl_txn_free(&v);
        return;
    }
    if (viewed != 0) abort();
    fl_buf b = {0}, bv = {0};
    fl_record_encode(&t, &b);
    if (b.len != len || memcmp(b.data, rec, len) != 0) abort();
    fl_record_encode(&v, &bv);
    if (bv.len != len || memcmp(bv.data, rec, len) != 0) abort();
    fl_buf_free(&bv);
    fl_txn_free(&v);

    fl_gtid g;
    uint64_t ts;
    uint32_t flags, part;
    if (fl_record_peek(rec, len, &g, &ts, &flags, &part) != 0) abort();
    if (!fl_gtid_equal(&g, &t.gtid) || ts != t.ts || flags != t.flags || part != t.part) abort();

    fl_txn t2;
    fl_txn_init(&t2);
    if (fl_record_decode(&t2, b.data, b.len, err, sizeof err) != 0) abort();
    fl_buf j = {0};
    fl_txn_to_json(&t2, &j);
    if (j.len < 2 || j.data[0] != '{' || j.data[j.len - 1] != '}') abort();

    uint32_t n = t.nchanges, ntables = t.ntables;
    if (fl_record_decode(&t, rec, len, err, sizeof err) != 0) abort();
    if (t.nchanges != 2 * n || t.ntables != ntables) abort();

    fl_buf_free(&j);
    fl_buf_free(&b);
    fl_txn_free(&t2);
    fl_txn_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size);

    /* the body: the input without magic, version, length and checksum when it has them */
    const uint8_t *body = data;
    size_t n = size;
    if (size >= 7 && data[0] == MAGIC && data[1] == FL_RECORD_VERSION) {
        size_t k = 2;
        while (k < size && (data[k] & 0x80)) k++;
        if (k + 5 <= size) {
            body = data + k + 1;
            n = size - (k + 1) - 4;
        }
    }
    size_t total = 2 + 1 + n + 4, lenlen = 1;
    while ((total + lenlen - 1) >> (7 * lenlen)) lenlen++;
    total += lenlen - 1;
    fl_buf r = {0};
    fl_buf_putc(&r, MAGIC);
    fl_buf_putc(&r, FL_RECORD_VERSION);
    fl_buf_put_varint(&r, total);
    fl_buf_put(&r, body, n);
    fl_buf_put_u32le(&r, fl_crc32c(0, r.data, r.len));
    if (r.len != total) abort();
    check(r.data, r.len);
    fl_buf_free(&r);
    return 0;
}
