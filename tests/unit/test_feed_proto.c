/* test_feed_proto.c — feed frames round-trip, partial input waits, corrupt input is rejected,
 * and the challenge-response proofs depend on secret, nonces and direction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "feed/feed_proto.h"

static fl_feed_msg sample(uint8_t type)
{
    static const char text[] = "0-1-42";
    fl_feed_msg m = {.type = type, .version = FL_FEED_VERSION, .start = FL_FEED_FROM_GTID, .seq = 0x0102030405060708ull,
                     .part = 7, .first_seq = 3, .last_seq = 99, .ts = 1764000000, .code = FL_FEED_ERR_PURGED};
    for (int i = 0; i < FL_FEED_NONCE; i++) m.nonce[i] = (uint8_t)(i * 7);
    for (int i = 0; i < FL_FEED_MAC; i++) m.mac[i] = (uint8_t)(255 - i);
    m.data = (const uint8_t *)text;
    m.data_len = strlen(text);
    return m;
}

static void test_round_trip_every_type(void **state)
{
    (void)state;
    for (uint8_t type = FL_FEED_HELLO; type <= FL_FEED_HEARTBEAT; type++) {
        fl_feed_msg in = sample(type), out;
        fl_buf b = {0};
        fl_feed_encode(&b, &in);
        size_t used = 0;
        char err[128];
        /* every strict prefix asks for more bytes */
        for (size_t n = 0; n < b.len; n++) assert_int_equal(fl_feed_parse(b.data, n, &out, &used, err, sizeof err), 0);
        assert_int_equal(fl_feed_parse(b.data, b.len, &out, &used, err, sizeof err), 1);
        assert_int_equal(used, b.len);
        assert_int_equal(out.type, type);
        switch (type) {
        case FL_FEED_HELLO:
            assert_int_equal(out.version, FL_FEED_VERSION);
            assert_memory_equal(out.nonce, in.nonce, FL_FEED_NONCE);
            break;
        case FL_FEED_AUTH:
            assert_memory_equal(out.mac, in.mac, FL_FEED_MAC);
            assert_int_equal(out.start, FL_FEED_FROM_GTID);
            assert_int_equal(out.seq, in.seq);
            assert_int_equal(out.data_len, 6);
            assert_memory_equal(out.data, "0-1-42", 6);
            break;
        case FL_FEED_WELCOME:
            assert_int_equal(out.first_seq, 3);
            assert_int_equal(out.last_seq, 99);
            assert_int_equal(out.seq, in.seq);
            break;
        case FL_FEED_ERROR: assert_int_equal(out.code, FL_FEED_ERR_PURGED); break;
        case FL_FEED_RECORD:
            assert_int_equal(out.seq, in.seq);
            assert_int_equal(out.part, 7);
            break;
        case FL_FEED_HEARTBEAT:
            assert_int_equal(out.last_seq, 99);
            assert_int_equal(out.ts, 1764000000);
            break;
        }
        fl_buf_free(&b);
    }
}

static void test_corruption_rejected(void **state)
{
    (void)state;
    fl_feed_msg in = sample(FL_FEED_RECORD), out;
    fl_buf b = {0};
    fl_feed_encode(&b, &in);
    char err[128];
    size_t used;
    for (size_t i = 4; i < b.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            b.data[i] ^= (uint8_t)(1u << bit);
            int r = fl_feed_parse(b.data, b.len, &out, &used, err, sizeof err);
            assert_int_equal(r, -1);
            b.data[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* an absurd length for a small message is refused before waiting for it */
    uint8_t huge[5] = {0xff, 0xff, 0xff, 0x7f, FL_FEED_HEARTBEAT};
    assert_int_equal(fl_feed_parse(huge, sizeof huge, &out, &used, err, sizeof err), -1);
    assert_non_null(strstr(err, "limit"));
    /* a record part may be as large as the journal holds (up to 4 GiB - 1): wait for it */
    uint8_t big_record[5] = {0xff, 0xff, 0xff, 0xff, FL_FEED_RECORD};
    assert_int_equal(fl_feed_parse(big_record, sizeof big_record, &out, &used, err, sizeof err), 0);
    /* unknown type */
    uint8_t unknown[5] = {0, 0, 0, 0, 99};
    assert_int_equal(fl_feed_parse(unknown, sizeof unknown, &out, &used, err, sizeof err), -1);
    fl_buf_free(&b);
}

static void test_two_frames_in_one_buffer(void **state)
{
    (void)state;
    fl_feed_msg a = sample(FL_FEED_HEARTBEAT), c = sample(FL_FEED_ERROR), out;
    fl_buf b = {0};
    fl_feed_encode(&b, &a);
    fl_feed_encode(&b, &c);
    size_t used, off = 0;
    char err[64];
    assert_int_equal(fl_feed_parse(b.data, b.len, &out, &used, err, sizeof err), 1);
    assert_int_equal(out.type, FL_FEED_HEARTBEAT);
    off += used;
    assert_int_equal(fl_feed_parse(b.data + off, b.len - off, &out, &used, err, sizeof err), 1);
    assert_int_equal(out.type, FL_FEED_ERROR);
    assert_int_equal(off + used, b.len);
    fl_buf_free(&b);
}

static void test_proofs(void **state)
{
    (void)state;
    uint8_t ns[FL_FEED_NONCE], nc[FL_FEED_NONCE], p1[FL_FEED_MAC], p2[FL_FEED_MAC], p3[FL_FEED_MAC];
    assert_int_equal(fl_feed_nonce(ns), 0);
    assert_int_equal(fl_feed_nonce(nc), 0);
    assert_memory_not_equal(ns, nc, FL_FEED_NONCE);
    assert_int_equal(fl_feed_client_proof("s3cret", ns, nc, p1), 0);
    assert_int_equal(fl_feed_client_proof("s3cret", ns, nc, p2), 0);
    assert_true(fl_feed_proof_equal(p1, p2));
    assert_int_equal(fl_feed_client_proof("s3creT", ns, nc, p2), 0);
    assert_false(fl_feed_proof_equal(p1, p2));
    assert_int_equal(fl_feed_server_proof("s3cret", ns, nc, p3), 0);
    assert_false(fl_feed_proof_equal(p1, p3)); /* a client proof cannot be replayed as the server's */
    nc[0] ^= 1;
    assert_int_equal(fl_feed_client_proof("s3cret", ns, nc, p2), 0);
    assert_false(fl_feed_proof_equal(p1, p2));
    assert_int_equal(fl_feed_client_proof("", ns, nc, p2), 0); /* no secret still yields a proof */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_corruption_rejected),
        cmocka_unit_test(test_two_frames_in_one_buffer),
        cmocka_unit_test(test_proofs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
