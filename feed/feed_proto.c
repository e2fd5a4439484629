/* feed_proto.c — feed frames and messages: encoding, bounds-checked parsing, session keys
 * (HKDF-SHA256), AUTH's MAC (HMAC-SHA256) and sealed frames' tags (GMAC, AES-256-GCM; AES-NI
 * makes it several times faster than HMAC-SHA256 on bulk data), all through OpenSSL EVP_MAC. Every length is checked
 * against what is left before it is used; a sealed frame's MAC is checked in constant time
 * before any of its bytes is looked at. */
#include "feed/feed_proto.h"

#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "common/crc32c.h"

#define HEADER 5 /* u32 length, u8 type */
#define CRC_LEN 4
#define ID_LEN (FL_JOURNAL_ID_TEXT - 1) /* a journal identity on the wire: its text, NUL-padded */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static void put16(fl_buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    fl_buf_put(b, x, 2);
}

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void le64(uint8_t *p, uint64_t v)
{
    le32(p, (uint32_t)v);
    le32(p + 4, (uint32_t)(v >> 32));
}

/* ---- message bodies ------------------------------------------------------------------ */

static bool plain_type(uint8_t t) { return t == FL_FEED_HELLO || t == FL_FEED_AUTH || t == FL_FEED_ERROR; }
static bool message_type(uint8_t t)
{
    return t == FL_FEED_WELCOME || t == FL_FEED_ERROR || t == FL_FEED_RECORD || t == FL_FEED_HEARTBEAT;
}

/* Fixed part of each message's payload, before its variable data. */
static size_t fixed_size(uint8_t type)
{
    switch (type) {
    case FL_FEED_HELLO: return 2 + FL_FEED_NONCE;
    case FL_FEED_AUTH: return 2 + FL_FEED_NONCE + FL_FEED_MAC + 1 + 8;
    case FL_FEED_WELCOME: return 8 + 8 + 8 + 8 + ID_LEN;
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

/* Appends length | type | payload; returns where the frame starts. */
static size_t encode_body(fl_buf *out, const fl_feed_msg *m)
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
        fl_buf_put_u64le(out, m->first_seq);
        fl_buf_put_u64le(out, m->last_seq);
        fl_buf_put_u64le(out, m->seq);
        fl_buf_put_u64le(out, m->purged_seq);
        fl_buf_reserve(out, ID_LEN);
        memset(out->data + out->len, 0, ID_LEN);
        memcpy(out->data + out->len, m->identity, strnlen(m->identity, ID_LEN));
        out->len += ID_LEN;
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
    le32(out->data + start, (uint32_t)(out->len - start - HEADER));
    return start;
}

/* Decodes a payload of a known type and length into m. Returns 0 or -1 with err. */
static int decode_body(uint8_t type, const uint8_t *p, uint32_t payload, fl_feed_msg *m, char *err, size_t errlen)
{
    size_t fixed = fixed_size(type);
    if (payload < fixed || (!has_data(type) && payload != fixed)) {
        snprintf(err, errlen, "feed message type %u has a wrong length (%u bytes)", type, payload);
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
        if (m->start < FL_FEED_FROM_SEQ || m->start > FL_FEED_SNAPSHOT) {
            snprintf(err, errlen, "feed AUTH asks for unknown start kind %u", m->start);
            return -1;
        }
        break;
    case FL_FEED_WELCOME:
        m->first_seq = rd64(p);
        m->last_seq = rd64(p + 8);
        m->seq = rd64(p + 16);
        m->purged_seq = rd64(p + 24);
        memcpy(m->identity, p + 32, ID_LEN);
        m->identity[ID_LEN] = 0;
        for (size_t i = strlen(m->identity); i < ID_LEN; i++) /* NUL-padded, nothing after */
            if (p[32 + i]) {
                snprintf(err, errlen, "feed WELCOME has a malformed journal identity");
                return -1;
            }
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
    return 0;
}

/* ---- frames -------------------------------------------------------------------------- */

void fl_feed_encode(fl_buf *out, const fl_feed_msg *m)
{
    size_t start = encode_body(out, m);
    uint32_t payload = rd32(out->data + start);
    fl_buf_put_u32le(out, fl_crc32c(0, out->data + start + 4, payload + 1));
}

/* The tag of a sealed frame: GMAC (AES-256-GCM) of header | payload under the direction's
 * key, with the frame number as the IV (never reused: one key per session and direction). */
static int frame_tag(fl_feed_seal *s, const uint8_t *frame, size_t len, uint8_t tag[FL_FEED_TAG])
{
    uint8_t iv[12] = {0};
    le64(iv, s->counter);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_IV, iv, sizeof iv),
                           OSSL_PARAM_construct_end()};
    size_t outlen = 0;
    EVP_MAC_CTX *ctx = s->mac;
    if (!ctx || !EVP_MAC_init(ctx, NULL, 0, params) || !EVP_MAC_update(ctx, frame, len) ||
        !EVP_MAC_final(ctx, tag, &outlen, FL_FEED_TAG) || outlen != FL_FEED_TAG)
        return -1;
    return 0;
}

void fl_feed_seal_frame(fl_buf *out, fl_feed_seal *tx, const uint8_t *data, size_t len)
{
    size_t start = out->len;
    fl_buf_put_u32le(out, (uint32_t)len);
    fl_buf_putc(out, FL_FEED_SEALED);
    fl_buf_put(out, data, len);
    uint8_t tag[FL_FEED_TAG];
    if (frame_tag(tx, out->data + start, HEADER + len, tag) != 0)
        memset(tag, 0, sizeof tag); /* fails at the peer */
    fl_buf_put(out, tag, FL_FEED_TAG);
    tx->counter++;
}

int fl_feed_parse(const uint8_t *buf, size_t len, fl_feed_seal *rx, fl_feed_msg *m, size_t *consumed, char *err,
                  size_t errlen)
{
    if (len < HEADER) return 0;
    uint32_t payload = rd32(buf);
    uint8_t type = buf[4];
    if (type == FL_FEED_SEALED) {
        if (!rx) {
            snprintf(err, errlen, "feed sealed frame before the handshake");
            return -1;
        }
        if (payload > FL_FEED_MAX_CHUNK) {
            snprintf(err, errlen, "feed sealed frame of %u bytes exceeds the %u-byte limit", payload,
                     FL_FEED_MAX_CHUNK);
            return -1;
        }
        if (len < (size_t)HEADER + payload + FL_FEED_TAG) return 0;
        uint8_t tag[FL_FEED_TAG];
        if (frame_tag(rx, buf, HEADER + (size_t)payload, tag) != 0 ||
            !fl_feed_mac_equal(tag, buf + HEADER + payload, FL_FEED_TAG)) {
            snprintf(err, errlen,
                     "feed frame %llu fails authentication (altered, injected, replayed or out of order)",
                     (unsigned long long)rx->counter);
            return -1;
        }
        rx->counter++;
        memset(m, 0, sizeof *m);
        m->type = FL_FEED_SEALED;
        m->data = buf + HEADER;
        m->data_len = payload;
        *consumed = (size_t)HEADER + payload + FL_FEED_TAG;
        return 1;
    }
    if (!plain_type(type)) {
        snprintf(err, errlen, "feed frame has unknown type %u", type);
        return -1;
    }
    if (payload > FL_FEED_MAX_PAYLOAD) {
        snprintf(err, errlen, "feed frame type %u of %u bytes exceeds the %u-byte limit", type, payload,
                 FL_FEED_MAX_PAYLOAD);
        return -1;
    }
    if (payload < fixed_size(type)) {
        snprintf(err, errlen, "feed message type %u has a wrong length (%u bytes)", type, payload);
        return -1;
    }
    if (len < (size_t)HEADER + payload + CRC_LEN) return 0;
    if (fl_crc32c(0, buf + 4, (size_t)payload + 1) != rd32(buf + HEADER + payload)) {
        snprintf(err, errlen, "feed frame type %u fails its checksum", type);
        return -1;
    }
    if (decode_body(type, buf + HEADER, payload, m, err, errlen) != 0) return -1;
    *consumed = (size_t)HEADER + payload + CRC_LEN;
    return 1;
}

/* ---- messages of the sealed stream ---------------------------------------------------- */

void fl_feed_encode_message(fl_buf *out, const fl_feed_msg *m) { encode_body(out, m); }

int fl_feed_parse_message(const uint8_t *buf, size_t len, fl_feed_msg *m, size_t *consumed, char *err,
                          size_t errlen)
{
    if (len < HEADER) return 0;
    uint32_t payload = rd32(buf);
    uint8_t type = buf[4];
    if (!message_type(type)) {
        snprintf(err, errlen, "feed message has unknown type %u", type);
        return -1;
    }
    if (type != FL_FEED_RECORD && payload > FL_FEED_MAX_PAYLOAD) {
        snprintf(err, errlen, "feed message type %u of %u bytes exceeds the %u-byte limit", type, payload,
                 FL_FEED_MAX_PAYLOAD);
        return -1;
    }
    if (payload < fixed_size(type)) {
        snprintf(err, errlen, "feed message type %u has a wrong length (%u bytes)", type, payload);
        return -1;
    }
    if (len < (size_t)HEADER + payload) return 0;
    if (decode_body(type, buf + HEADER, payload, m, err, errlen) != 0) return -1;
    *consumed = (size_t)HEADER + payload;
    return 1;
}

/* ---- keys and MACs --------------------------------------------------------------------- */

static EVP_MAC_CTX *hmac_new(const uint8_t *key, size_t keylen)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context keeps its own reference */
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    /* an empty key is valid HMAC; OpenSSL wants a non-NULL pointer */
    static const uint8_t empty[1] = {0};
    if (ctx && !EVP_MAC_init(ctx, keylen ? key : empty, keylen, params)) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* out = HMAC-SHA256(key, a | b). */
static int hmac2(const uint8_t *key, size_t keylen, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                 uint8_t out[FL_FEED_MAC])
{
    EVP_MAC_CTX *ctx = hmac_new(key, keylen);
    size_t outlen = 0;
    int ok = ctx && EVP_MAC_update(ctx, a, alen) && (!blen || EVP_MAC_update(ctx, b, blen)) &&
             EVP_MAC_final(ctx, out, &outlen, FL_FEED_MAC) && outlen == FL_FEED_MAC;
    EVP_MAC_CTX_free(ctx);
    return ok ? 0 : -1;
}

int fl_feed_hkdf(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len, const uint8_t *info,
                 size_t info_len, uint8_t out[FL_FEED_MAC])
{
    uint8_t prk[FL_FEED_MAC];
    static const uint8_t one = 1;
    /* Extract: PRK = HMAC(salt, IKM); expand, one block: T(1) = HMAC(PRK, info | 0x01) */
    int rc = hmac2(salt, salt_len, ikm_len ? ikm : &one, ikm_len, NULL, 0, prk);
    if (rc == 0) rc = hmac2(prk, sizeof prk, info_len ? info : &one, info_len, &one, 1, out);
    OPENSSL_cleanse(prk, sizeof prk);
    return rc;
}

int fl_feed_session_keys(const char *secret, const uint8_t nonce_s[FL_FEED_NONCE],
                         const uint8_t nonce_c[FL_FEED_NONCE], uint8_t client_key[FL_FEED_MAC],
                         uint8_t server_key[FL_FEED_MAC])
{
    uint8_t salt[2 * FL_FEED_NONCE];
    memcpy(salt, nonce_s, FL_FEED_NONCE);
    memcpy(salt + FL_FEED_NONCE, nonce_c, FL_FEED_NONCE);
    static const char to_relay[] = "fastlane-feed 2: client to relay";
    static const char to_client[] = "fastlane-feed 2: relay to client";
    const uint8_t *ikm = (const uint8_t *)(secret ? secret : "");
    size_t ikm_len = secret ? strlen(secret) : 0;
    if (fl_feed_hkdf(salt, sizeof salt, ikm, ikm_len, (const uint8_t *)to_relay, strlen(to_relay), client_key) !=
            0 ||
        fl_feed_hkdf(salt, sizeof salt, ikm, ikm_len, (const uint8_t *)to_client, strlen(to_client), server_key) !=
            0)
        return -1;
    return 0;
}

int fl_feed_auth_mac(const uint8_t client_key[FL_FEED_MAC], const fl_feed_msg *hello, const fl_feed_msg *auth,
                     uint8_t out[FL_FEED_MAC])
{
    fl_buf t = {0};
    fl_buf_puts(&t, "fastlane-feed 2: auth");
    put16(&t, hello->version);
    fl_buf_put(&t, hello->nonce, FL_FEED_NONCE);
    put16(&t, auth->version);
    fl_buf_put(&t, auth->nonce, FL_FEED_NONCE);
    fl_buf_putc(&t, auth->start);
    fl_buf_put_u64le(&t, auth->seq);
    fl_buf_put_u64le(&t, auth->data_len);
    if (auth->data_len) fl_buf_put(&t, auth->data, auth->data_len);
    int rc = hmac2(client_key, FL_FEED_MAC, t.data, t.len, NULL, 0, out);
    fl_buf_free(&t);
    return rc;
}

int fl_feed_seal_init(fl_feed_seal *s, const uint8_t key[FL_FEED_MAC])
{
    s->counter = 0;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "GMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context keeps its own reference */
    char cipher[] = "AES-256-GCM";
    uint8_t iv[12] = {0};
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
                           OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_IV, iv, sizeof iv),
                           OSSL_PARAM_construct_end()};
    if (ctx && !EVP_MAC_init(ctx, key, FL_FEED_MAC, params)) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    s->mac = ctx;
    return ctx ? 0 : -1;
}

void fl_feed_seal_free(fl_feed_seal *s)
{
    EVP_MAC_CTX_free(s->mac);
    s->mac = NULL;
}

bool fl_feed_mac_equal(const uint8_t *a, const uint8_t *b, size_t n) { return CRYPTO_memcmp(a, b, n) == 0; }

int fl_feed_crypto_warm(void)
{
    uint8_t nonce[FL_FEED_NONCE], key[FL_FEED_MAC], other[FL_FEED_MAC];
    fl_feed_seal s = {0};
    int rc = fl_feed_nonce(nonce) == 0 && fl_feed_session_keys(NULL, nonce, nonce, key, other) == 0 &&
                     fl_feed_seal_init(&s, key) == 0
                 ? 0
                 : -1;
    fl_feed_seal_free(&s);
    return rc;
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
    case FL_FEED_ERR_BUSY: return "the relay is busy";
    case FL_FEED_ERR_REFUSED: return "snapshot request refused";
    default: return "unknown error";
    }
}
