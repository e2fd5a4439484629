/* fuzz_decoder.c — libFuzzer target: arbitrary bytes as a sequence of binlog events (split by
 * the size in each 19-byte header) fed to the decoder after a valid FORMAT_DESCRIPTION.
 * An input starting with the "\xfebin" magic is a whole binlog file (the seeds are real
 * files); when its own FORMAT_DESCRIPTION turns CRC32 on, the checksum of each later event
 * is recomputed so mutations reach the event bodies. The last byte's low bit chooses rows
 * as values or in record form (record_images). Every emitted transaction must round-trip
 * through the record codec. Never a crash, never a sanitizer report. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "common/log.h"
#include "fl-relay/decoder.h"
#include "journal/record.h"
#include "tests/fuzz/fuzzer.h"

static int on_emit(void *ctx, fl_txn *t, const fl_decoder_pos *p)
{
    (void)ctx;
    (void)p;
    fl_buf rec = {0};
    fl_record_encode(t, &rec);
    fl_txn back;
    fl_txn_init(&back);
    char err[256];
    if (fl_record_decode(&back, rec.data, rec.len, err, sizeof err) != 0) {
        fprintf(stderr, "record: %s\n", err);
        abort();
    }
    if (back.nchanges != t->nchanges) abort();
    fl_txn_free(&back);
    fl_buf_free(&rec);
    return 0;
}

/* A MySQL 8.0 FORMAT_DESCRIPTION without checksums. */
static size_t make_fde(uint8_t *ev)
{
    memset(ev, 0, 128);
    size_t len = 19 + 2 + 50 + 4 + 1 + 42 + 1 + 4;
    ev[4] = 15;
    ev[5] = 1;
    ev[9] = (uint8_t)len;
    ev[19] = 4;
    memcpy(ev + 21, "8.0.36", 6);
    ev[75] = 19;
    uint8_t *post = ev + 76;
    post[1] = 13;
    post[3] = 8;
    post[18] = 8;
    post[22] = post[23] = post[24] = 8;
    post[29] = post[30] = post[31] = 10;
    post[32] = post[33] = 42;
    post[38] = 10;
    ev[76 + 42] = 0; /* checksum off */
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        fl_log_set_level(FL_LOG_ERROR);
        quiet = 1;
    }
    fl_decoder_opts o = {.emit = on_emit,
                         .part_bytes = 64 * 1024,
                         .record_images = size > 0 && (data[size - 1] & 1),
                         .initial_file = "fuzz.000001"};
    fl_decoder *d = fl_decoder_new(&o);
    char err[512];
    uint8_t fde[128];
    size_t flen = make_fde(fde);
    fl_decoder_set_file(d, "fuzz.000001", 4);
    if (fl_decoder_event(d, fde, flen, err, sizeof err) != 0) abort();

    size_t off = 0;
    if (size >= 4 && memcmp(data,
                            "\xfe"
                            "bin",
                            4) == 0)
        off = 4;
    bool crc = false;
    uint8_t *copy = NULL;
    size_t cap = 0;
    while (size - off >= 19) {
        size_t len = (size_t)data[off + 9] | (size_t)data[off + 10] << 8 | (size_t)data[off + 11] << 16 |
                     (size_t)data[off + 12] << 24;
        if (len < 19 || len > size - off) break;
        if (len > cap) {
            cap = len;
            copy = realloc(copy, cap);
        }
        memcpy(copy, data + off, len);
        if (copy[4] == 15) {
            crc = len >= 24 && copy[len - 5] == 1;
        } else if (crc && len >= 23) {
            uint32_t c = fl_crc32(0, copy, len - 4);
            for (int i = 0; i < 4; i++) copy[len - 4 + i] = (uint8_t)(c >> (8 * i));
        }
        fl_decoder_set_file(d, "fuzz.000001", 4 + off);
        fl_decoder_event(d, copy, len, err, sizeof err);
        off += len;
    }
    free(copy);
    fl_decoder_free(d);
    return 0;
}
