/* feed_proto.c — feed frames: encoding, bounds-checked parsing, and HMAC-SHA256 proofs
 * (OpenSSL EVP_MAC). Every length is checked against what is left before it is used. */
#include "feed/feed_proto.h"

#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "common/crc32c.h"

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static void put16(fl_buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    fl_buf_put(b, x, 2);
}

/* Fixed part of each message's payload, before its variable data. */
static size_t fixed_size(uint8_t type)
{
    switch (type) {
    case FL_FEED_HELLO: return 2 + FL_FEED_NONCE;
    case FL_FEED_AUTH: return 2 + FL_FEED_NONCE + FL_FEED_MAC + 1 + 8;
    case FL_FEED_WELCOME: return FL_FEED_MAC + 8 + 8 + 8;
    case FL_FEED_ERROR: return 2;
    case FL_FEED_RECORD: return FL_FEED_RECORD_HEADER;
    case FL_FEED_HEARTBEAT: return 8 + 8;
    default: return 0;
    }
}

static bool has_data(uint8_t type)
{
    return type == FL_FEED_AUTH || type == FL_FEED_ERROR || type == FL_FEED_RECORD;
}

void fl_feed_encode(fl_buf *out, const fl_feed_msg *m)
{
    size_t start = out->len;
    fl_buf_put_u32le(out, 0); /* length, patched below */
    fl_buf_putc(out, m->type);
    switch (m->type) {
    case FL_FEED_HELLO:
        put16(out, m->version);
        fl_buf_put(out, m->nonce, FL_FEED_NONCE);
        break;
    case FL_FEED_AUTH:
        put16(out, m->version);
        fl_buf_put(out, m->nonce, FL_FEED_NONCE);
        fl_buf_put(out, m->mac, FL_FEED_MAC);
        fl_buf_putc(out, m->start);
        fl_buf_put_u64le(out, m->seq);
        break;
    case FL_FEED_WELCOME:
        fl_buf_put(out, m->mac, FL_FEED_MAC);
        fl_buf_put_u64le(out, m->first_seq);
        fl_buf_put_u64le(out, m->last_seq);
        fl_buf_put_u64le(out, m->seq);
        break;
    case FL_FEED_ERROR: put16(out, m->code); break;
    case FL_FEED_RECORD:
        fl_buf_put_u64le(out, m->seq);
        fl_buf_put_u32le(out, m->part);
        break;
    case FL_FEED_HEARTBEAT:
        fl_buf_put_u64le(out, m->last_seq);
        fl_buf_put_u64le(out, m->ts);
        break;
    default: break;
    }
    if (has_data(m->type) && m->data_len) fl_buf_put(out, m->data, m->data_len);
    uint32_t payload = (uint32_t)(out->len - start - 5);
    uint8_t *p = out->data + start;
    p[0] = (uint8_t)payload;
    p[1] = (uint8_t)(payload >> 8);
    p[2] = (uint8_t)(payload >> 16);
    p[3] = (uint8_t)(payload >> 24);
    fl_buf_put_u32le(out, fl_crc32c(0, out->data + start + 4, payload + 1));
}

int fl_feed_parse(const uint8_t *buf, size_t len, fl_feed_msg *m, size_t *consumed, char *err, size_t errlen)
{
    if (len < 5) return 0;
    uint32_t payload = rd32(buf);
    uint8_t type = buf[4];
    if (type != FL_FEED_RECORD && payload > FL_FEED_MAX_PAYLOAD) {
        snprintf(err, errlen, "feed frame type %u of %u bytes exceeds the %u-byte limit", type, payload,
                 FL_FEED_MAX_PAYLOAD);
        return -1;
    }
    size_t fixed = fixed_size(type);
    if (!fixed) {
        snprintf(err, errlen, "feed frame has unknown type %u", type);
        return -1;
    }
    if (payload < fixed || (!has_data(type) && payload != fixed)) {
        snprintf(err, errlen, "feed frame type %u has a wrong length (%u bytes)", type, payload);
        return -1;
    }
    if (len < (size_t)payload + FL_FEED_FRAME_OVERHEAD) return 0;
    const uint8_t *p = buf + 5;
    if (fl_crc32c(0, buf + 4, (size_t)payload + 1) != rd32(p + payload)) {
        snprintf(err, errlen, "feed frame type %u fails its checksum", type);
        return -1;
    }
    memset(m, 0, sizeof *m);
    m->type = type;
    switch (type) {
    case FL_FEED_HELLO:
        m->version = rd16(p);
        memcpy(m->nonce, p + 2, FL_FEED_NONCE);
        break;
    case FL_FEED_AUTH:
        m->version = rd16(p);
        memcpy(m->nonce, p + 2, FL_FEED_NONCE);
        memcpy(m->mac, p + 2 + FL_FEED_NONCE, FL_FEED_MAC);
        m->start = p[2 + FL_FEED_NONCE + FL_FEED_MAC];
        m->seq = rd64(p + 3 + FL_FEED_NONCE + FL_FEED_MAC);
        if (m->start < FL_FEED_FROM_SEQ || m->start > FL_FEED_INFO) {
            snprintf(err, errlen, "feed AUTH asks for unknown start kind %u", m->start);
            return -1;
        }
        break;
    case FL_FEED_WELCOME:
        memcpy(m->mac, p, FL_FEED_MAC);
        m->first_seq = rd64(p + FL_FEED_MAC);
        m->last_seq = rd64(p + FL_FEED_MAC + 8);
        m->seq = rd64(p + FL_FEED_MAC + 16);
        break;
    case FL_FEED_ERROR: m->code = rd16(p); break;
    case FL_FEED_RECORD:
        m->seq = rd64(p);
        m->part = rd32(p + 8);
        break;
    case FL_FEED_HEARTBEAT:
        m->last_seq = rd64(p);
        m->ts = rd64(p + 8);
        break;
    }
    if (has_data(type)) {
        m->data = p + fixed;
        m->data_len = payload - fixed;
    }
    *consumed = (size_t)payload + FL_FEED_FRAME_OVERHEAD;
    return 1;
}

static int proof(const char *secret, const char *label, const uint8_t *a, const uint8_t *b, uint8_t out[FL_FEED_MAC])
{
    int ok = -1;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
    size_t outlen = 0;
    /* an empty key is valid HMAC; OpenSSL wants a non-NULL pointer */
    static const uint8_t empty[1] = {0};
    const uint8_t *key = secret && *secret ? (const uint8_t *)secret : empty;
    size_t keylen = secret ? strlen(secret) : 0;
    if (ctx && EVP_MAC_init(ctx, key, keylen, params) && EVP_MAC_update(ctx, (const uint8_t *)label, strlen(label)) &&
        EVP_MAC_update(ctx, a, FL_FEED_NONCE) && EVP_MAC_update(ctx, b, FL_FEED_NONCE) &&
        EVP_MAC_final(ctx, out, &outlen, FL_FEED_MAC) && outlen == FL_FEED_MAC)
        ok = 0;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ok;
}

int fl_feed_client_proof(const char *secret, const uint8_t nonce_s[FL_FEED_NONCE], const uint8_t nonce_c[FL_FEED_NONCE],
                         uint8_t out[FL_FEED_MAC])
{
    return proof(secret, "fastlane-feed client", nonce_s, nonce_c, out);
}

int fl_feed_server_proof(const char *secret, const uint8_t nonce_s[FL_FEED_NONCE], const uint8_t nonce_c[FL_FEED_NONCE],
                         uint8_t out[FL_FEED_MAC])
{
    return proof(secret, "fastlane-feed server", nonce_c, nonce_s, out);
}

bool fl_feed_proof_equal(const uint8_t a[FL_FEED_MAC], const uint8_t b[FL_FEED_MAC])
{
    return CRYPTO_memcmp(a, b, FL_FEED_MAC) == 0;
}

int fl_feed_nonce(uint8_t out[FL_FEED_NONCE]) { return RAND_bytes(out, FL_FEED_NONCE) == 1 ? 0 : -1; }

const char *fl_feed_error_name(uint16_t code)
{
    switch (code) {
    case FL_FEED_ERR_AUTH: return "authentication failed";
    case FL_FEED_ERR_VERSION: return "unsupported protocol version";
    case FL_FEED_ERR_PURGED: return "requested position has been purged from the journal";
    case FL_FEED_ERR_UNKNOWN: return "unknown GTID";
    case FL_FEED_ERR_PROTOCOL: return "protocol error";
    case FL_FEED_ERR_JOURNAL: return "journal error on the relay";
    default: return "unknown error";
    }
}
