/* test_feed_proto.c — feed frames and messages round-trip, partial input waits, corrupt
 * input is rejected; HKDF matches RFC 5869; session keys and AUTH's MAC depend on the secret,
 * both nonces, the direction and every handshake field; sealed frames refuse any altered,
 * injected, replayed, reordered or dropped frame. */
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
    fl_feed_msg m = {.type = type,
                     .version = FL_FEED_VERSION,
                     .start = FL_FEED_FROM_GTID,
                     .seq = 0x0102030405060708ull,
                     .part = 7,
                     .first_seq = 3,
                     .last_seq = 99,
                     .ts = 1764000000,
                     .code = FL_FEED_ERR_PURGED};
    for (int i = 0; i < FL_FEED_NONCE; i++) m.nonce[i] = (uint8_t)(i * 7);
    for (int i = 0; i < FL_FEED_MAC; i++) m.mac[i] = (uint8_t)(255 - i);
    m.data = (const uint8_t *)text;
    m.data_len = strlen(text);
    m.purged_seq = 2;
    strcpy(m.identity, "0123456789abcdef0123456789abcdef");
    return m;
}

static void check_fields(uint8_t type, const fl_feed_msg *in, const fl_feed_msg *out)
{
    assert_int_equal(out->type, type);
    switch (type) {
    case FL_FEED_HELLO:
        assert_int_equal(out->version, FL_FEED_VERSION);
        assert_memory_equal(out->nonce, in->nonce, FL_FEED_NONCE);
        break;
    case FL_FEED_AUTH:
        assert_memory_equal(out->mac, in->mac, FL_FEED_MAC);
        assert_int_equal(out->start, FL_FEED_FROM_GTID);
        assert_int_equal(out->seq, in->seq);
        assert_int_equal(out->data_len, 6);
        assert_memory_equal(out->data, "0-1-42", 6);
        break;
    case FL_FEED_WELCOME:
        assert_int_equal(out->first_seq, 3);
        assert_int_equal(out->last_seq, 99);
        assert_int_equal(out->seq, in->seq);
        assert_int_equal(out->purged_seq, 2);
        assert_string_equal(out->identity, in->identity);
        break;
    case FL_FEED_ERROR: assert_int_equal(out->code, FL_FEED_ERR_PURGED); break;
    case FL_FEED_RECORD:
        assert_int_equal(out->seq, in->seq);
        assert_int_equal(out->part, 7);
        assert_memory_equal(out->data, "0-1-42", 6);
        break;
    case FL_FEED_HEARTBEAT:
        assert_int_equal(out->last_seq, 99);
        assert_int_equal(out->ts, 1764000000);
        break;
    }
}

static void test_plain_frames_round_trip(void **state)
{
    (void)state;
    uint8_t types[] = {FL_FEED_HELLO, FL_FEED_AUTH, FL_FEED_ERROR};
    for (size_t i = 0; i < sizeof types; i++) {
        fl_feed_msg in = sample(types[i]), out;
        fl_buf b = {0};
        fl_feed_encode(&b, &in);
        size_t used = 0;
        char err[128];
        /* every strict prefix asks for more bytes */
        for (size_t n = 0; n < b.len; n++)
            assert_int_equal(fl_feed_parse(b.data, n, NULL, &out, &used, err, sizeof err), 0);
        assert_int_equal(fl_feed_parse(b.data, b.len, NULL, &out, &used, err, sizeof err), 1);
        assert_int_equal(used, b.len);
        check_fields(types[i], &in, &out);
        fl_buf_free(&b);
    }
}

static void test_messages_round_trip(void **state)
{
    (void)state;
    uint8_t types[] = {FL_FEED_WELCOME, FL_FEED_ERROR, FL_FEED_RECORD, FL_FEED_HEARTBEAT};
    for (size_t i = 0; i < sizeof types; i++) {
        fl_feed_msg in = sample(types[i]), out;
        fl_buf b = {0};
        fl_feed_encode_message(&b, &in);
        size_t used = 0;
        char err[128];
        for (size_t n = 0; n < b.len; n++)
            assert_int_equal(fl_feed_parse_message(b.data, n, &out, &used, err, sizeof err), 0);
        assert_int_equal(fl_feed_parse_message(b.data, b.len, &out, &used, err, sizeof err), 1);
        assert_int_equal(used, b.len);
        check_fields(types[i], &in, &out);
        fl_buf_free(&b);
    }
    /* a record part may be as large as the journal holds (up to 4 GiB - 1): wait for it */
    uint8_t big_record[5] = {0xff, 0xff, 0xff, 0xff, FL_FEED_RECORD};
    fl_feed_msg out;
    size_t used;
    char err[128];
    assert_int_equal(fl_feed_parse_message(big_record, sizeof big_record, &out, &used, err, sizeof err), 0);
    /* other messages are small */
    uint8_t huge[5] = {0xff, 0xff, 0xff, 0x7f, FL_FEED_HEARTBEAT};
    assert_int_equal(fl_feed_parse_message(huge, sizeof huge, &out, &used, err, sizeof err), -1);
    /* a WELCOME without a journal identity; one with bytes after the identity's end */
    fl_feed_msg w = sample(FL_FEED_WELCOME);
    w.identity[0] = 0;
    fl_buf wb = {0};
    fl_feed_encode_message(&wb, &w);
    assert_int_equal(fl_feed_parse_message(wb.data, wb.len, &out, &used, err, sizeof err), 1);
    assert_string_equal(out.identity, "");
    wb.data[wb.len - 1] = 'x';
    assert_int_equal(fl_feed_parse_message(wb.data, wb.len, &out, &used, err, sizeof err), -1);
    fl_buf_free(&wb);
    /* handshake messages never travel in the sealed stream */
    fl_feed_msg hello = sample(FL_FEED_HELLO);
    fl_buf b = {0};
    fl_feed_encode_message(&b, &hello);
    assert_int_equal(fl_feed_parse_message(b.data, b.len, &out, &used, err, sizeof err), -1);
    fl_buf_free(&b);
}

/* a snapshot request: AUTH whose data names the tables; start kinds beyond it are refused */
static void test_snapshot_request_auth(void **state)
{
    (void)state;
    fl_feed_msg in = sample(FL_FEED_AUTH), out;
    in.start = FL_FEED_SNAPSHOT;
    in.data = (const uint8_t *)"app.items,app.users";
    in.data_len = 19;
    fl_buf b = {0};
    fl_feed_encode(&b, &in);
    char err[128];
    size_t used;
    assert_int_equal(fl_feed_parse(b.data, b.len, NULL, &out, &used, err, sizeof err), 1);
    assert_int_equal(out.start, FL_FEED_SNAPSHOT);
    assert_int_equal(out.data_len, 19);
    assert_memory_equal(out.data, "app.items,app.users", 19);
    fl_buf_reset(&b);
    in.start = FL_FEED_SNAPSHOT + 1;
    fl_feed_encode(&b, &in);
    assert_int_equal(fl_feed_parse(b.data, b.len, NULL, &out, &used, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown start kind"));
    assert_string_equal(fl_feed_error_name(FL_FEED_ERR_REFUSED), "snapshot request refused");
    fl_buf_free(&b);
}

static void test_corruption_rejected(void **state)
{
    (void)state;
    fl_feed_msg in = sample(FL_FEED_AUTH), out;
    fl_buf b = {0};
    fl_feed_encode(&b, &in);
    char err[128];
    size_t used;
    for (size_t i = 4; i < b.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            b.data[i] ^= (uint8_t)(1u << bit);
            int r = fl_feed_parse(b.data, b.len, NULL, &out, &used, err, sizeof err);
            assert_int_equal(r, -1);
            b.data[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* an absurd length is refused before waiting for it */
    uint8_t huge[5] = {0xff, 0xff, 0xff, 0x7f, FL_FEED_ERROR};
    assert_int_equal(fl_feed_parse(huge, sizeof huge, NULL, &out, &used, err, sizeof err), -1);
    assert_non_null(strstr(err, "limit"));
    /* unknown type; a record outside the sealed stream */
    uint8_t unknown[5] = {0, 0, 0, 0, 99};
    assert_int_equal(fl_feed_parse(unknown, sizeof unknown, NULL, &out, &used, err, sizeof err), -1);
    uint8_t record[5] = {12, 0, 0, 0, FL_FEED_RECORD};
    assert_int_equal(fl_feed_parse(record, sizeof record, NULL, &out, &used, err, sizeof err), -1);
    fl_buf_free(&b);
}

static void test_hkdf_rfc5869_case_1(void **state)
{
    (void)state;
    uint8_t ikm[22], salt[13], info[10], out[FL_FEED_MAC];
    memset(ikm, 0x0b, sizeof ikm);
    for (int i = 0; i < 13; i++) salt[i] = (uint8_t)i;
    for (int i = 0; i < 10; i++) info[i] = (uint8_t)(0xf0 + i);
    static const uint8_t okm[32] = {0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a, 0x90, 0x43, 0x4f,
                                    0x64, 0xd0, 0x36, 0x2f, 0x2a, 0x2d, 0x2d, 0x0a, 0x90, 0xcf, 0x1a,
                                    0x5a, 0x4c, 0x5d, 0xb0, 0x2d, 0x56, 0xec, 0xc4, 0xc5, 0xbf};
    assert_int_equal(fl_feed_hkdf(salt, sizeof salt, ikm, sizeof ikm, info, sizeof info, out), 0);
    assert_memory_equal(out, okm, sizeof okm);
}

static void test_keys_and_auth_mac(void **state)
{
    (void)state;
    uint8_t ns[FL_FEED_NONCE], nc[FL_FEED_NONCE];
    uint8_t c1[FL_FEED_MAC], s1[FL_FEED_MAC], c2[FL_FEED_MAC], s2[FL_FEED_MAC];
    assert_int_equal(fl_feed_nonce(ns), 0);
    assert_int_equal(fl_feed_nonce(nc), 0);
    assert_memory_not_equal(ns, nc, FL_FEED_NONCE);
    assert_int_equal(fl_feed_session_keys("s3cret", ns, nc, c1, s1), 0);
    assert_memory_not_equal(c1, s1, FL_FEED_MAC); /* one key per direction */
    assert_int_equal(fl_feed_session_keys("s3cret", ns, nc, c2, s2), 0);
    assert_memory_equal(c1, c2, FL_FEED_MAC);
    assert_memory_equal(s1, s2, FL_FEED_MAC);
    assert_int_equal(fl_feed_session_keys("s3creT", ns, nc, c2, s2), 0);
    assert_memory_not_equal(c1, c2, FL_FEED_MAC);
    assert_memory_not_equal(s1, s2, FL_FEED_MAC);
    assert_int_equal(fl_feed_session_keys("s3cret", nc, ns, c2, s2), 0); /* nonces swapped */
    assert_memory_not_equal(c1, c2, FL_FEED_MAC);
    assert_int_equal(fl_feed_session_keys(NULL, ns, nc, c2, s2), 0); /* no secret still yields keys */

    fl_feed_msg hello = sample(FL_FEED_HELLO), auth = sample(FL_FEED_AUTH);
    uint8_t m0[FL_FEED_MAC], m1[FL_FEED_MAC];
    assert_int_equal(fl_feed_auth_mac(c1, &hello, &auth, m0), 0);
    assert_int_equal(fl_feed_auth_mac(c1, &hello, &auth, m1), 0);
    assert_true(fl_feed_mac_equal(m0, m1, FL_FEED_MAC));
    /* every field of HELLO and AUTH counts */
    fl_feed_msg h = hello, a = auth;
    h.version++;
    assert_int_equal(fl_feed_auth_mac(c1, &h, &a, m1), 0);
    assert_false(fl_feed_mac_equal(m0, m1, FL_FEED_MAC));
    h = hello;
    h.nonce[5] ^= 1;
    assert_int_equal(fl_feed_auth_mac(c1, &h, &a, m1), 0);
    assert_false(fl_feed_mac_equal(m0, m1, FL_FEED_MAC));
    a.start = FL_FEED_FROM_SEQ;
    assert_int_equal(fl_feed_auth_mac(c1, &hello, &a, m1), 0);
    assert_false(fl_feed_mac_equal(m0, m1, FL_FEED_MAC));
    a = auth;
    a.seq++;
    assert_int_equal(fl_feed_auth_mac(c1, &hello, &a, m1), 0);
    assert_false(fl_feed_mac_equal(m0, m1, FL_FEED_MAC));
    a = auth;
    a.data_len--;
    assert_int_equal(fl_feed_auth_mac(c1, &hello, &a, m1), 0);
    assert_false(fl_feed_mac_equal(m0, m1, FL_FEED_MAC));
    a = auth;
    a.nonce[0] ^= 1;
    assert_int_equal(fl_feed_auth_mac(c1, &hello, &a, m1), 0);
    assert_false(fl_feed_mac_equal(m0, m1, FL_FEED_MAC));
    a = auth;
    a.version++;
    assert_int_equal(fl_feed_auth_mac(c1, &hello, &a, m1), 0);
    assert_false(fl_feed_mac_equal(m0, m1, FL_FEED_MAC));
}

/* Seals three frames with key k; returns their start offsets in b. */
static void seal_three(fl_buf *b, const uint8_t k[FL_FEED_MAC], size_t at[4])
{
    fl_feed_seal tx;
    assert_int_equal(fl_feed_seal_init(&tx, k), 0);
    const char *pieces[3] = {"first piece", "second", "third piece of the stream"};
    for (int i = 0; i < 3; i++) {
        at[i] = b->len;
        fl_feed_seal_frame(b, &tx, (const uint8_t *)pieces[i], strlen(pieces[i]));
    }
    at[3] = b->len;
    assert_int_equal(tx.counter, 3);
    fl_feed_seal_free(&tx);
}

/* Opens the frames in order of idx (n of them) with key k: returns how many opened. */
static int open_in_order(const fl_buf *b, const size_t at[4], const int *idx, int n, const uint8_t k[FL_FEED_MAC])
{
    fl_feed_seal rx;
    assert_int_equal(fl_feed_seal_init(&rx, k), 0);
    int opened = 0;
    for (int i = 0; i < n; i++) {
        fl_feed_msg m;
        size_t used;
        char err[160];
        size_t len = at[idx[i] + 1] - at[idx[i]];
        if (fl_feed_parse(b->data + at[idx[i]], len, &rx, &m, &used, err, sizeof err) != 1) break;
        assert_int_equal(used, len);
        assert_int_equal(m.type, FL_FEED_SEALED);
        opened++;
    }
    fl_feed_seal_free(&rx);
    return opened;
}

static void test_sealed_frames(void **state)
{
    (void)state;
    uint8_t k[FL_FEED_MAC], other[FL_FEED_MAC];
    for (int i = 0; i < FL_FEED_MAC; i++) {
        k[i] = (uint8_t)i;
        other[i] = (uint8_t)(i + 1);
    }
    fl_buf b = {0};
    size_t at[4];
    seal_three(&b, k, at);
    const int in_order[] = {0, 1, 2}, reordered[] = {1, 0, 2}, replayed[] = {0, 0, 1}, dropped[] = {0, 2};
    assert_int_equal(open_in_order(&b, at, in_order, 3, k), 3);
    assert_int_equal(open_in_order(&b, at, in_order, 3, other), 0); /* another key */
    assert_int_equal(open_in_order(&b, at, reordered, 3, k), 0);
    assert_int_equal(open_in_order(&b, at, replayed, 3, k), 1);
    assert_int_equal(open_in_order(&b, at, dropped, 2, k), 1);
    /* any flipped bit of a frame, header included */
    for (size_t i = at[1]; i < at[2]; i++) {
        b.data[i] ^= 0x10;
        assert_true(open_in_order(&b, at, in_order, 3, k) < 3);
        b.data[i] ^= 0x10;
    }
    /* a piece of the stream in plain: the stream checks are what sealed frames are for */
    fl_feed_msg m;
    size_t used;
    char err[160];
    assert_int_equal(fl_feed_parse(b.data, b.len, NULL, &m, &used, err, sizeof err), -1);
    assert_non_null(strstr(err, "before the handshake"));
    /* a truncated frame waits for the rest; an absurd length is refused */
    fl_feed_seal rx;
    assert_int_equal(fl_feed_seal_init(&rx, k), 0);
    assert_int_equal(fl_feed_parse(b.data, at[1] - 1, &rx, &m, &used, err, sizeof err), 0);
    uint8_t huge[5] = {0xff, 0xff, 0xff, 0x7f, FL_FEED_SEALED};
    assert_int_equal(fl_feed_parse(huge, sizeof huge, &rx, &m, &used, err, sizeof err), -1);
    fl_feed_seal_free(&rx);
    fl_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_frames_round_trip), cmocka_unit_test(test_messages_round_trip),
        cmocka_unit_test(test_corruption_rejected),     cmocka_unit_test(test_snapshot_request_auth),
        cmocka_unit_test(test_hkdf_rfc5869_case_1),     cmocka_unit_test(test_keys_and_auth_mac),
        cmocka_unit_test(test_sealed_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
