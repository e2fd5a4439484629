/* feed_proto.h — the wire protocol between fl-relay's feed and its clients (fl-apply with
 * `relay = host:port`, fl-dump --relay): framing, messages, and the shared-secret
 * challenge-response.
 *
 * Frame: u32le payload length | u8 type | payload | u32le CRC-32C of (type, payload).
 * Session: server HELLO (version, nonce_s) -> client AUTH (version, nonce_c,
 * HMAC-SHA256(secret, "fastlane-feed client" | nonce_s | nonce_c), where to start) ->
 * server WELCOME (HMAC-SHA256(secret, "fastlane-feed server" | nonce_c | nonce_s), journal
 * bounds, first seq it will send) or ERROR -> RECORD frames (journal record bytes, the
 * journal's own codec) and HEARTBEATs. The secret never crosses the wire. */
#ifndef FL_FEED_PROTO_H
#define FL_FEED_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define FL_FEED_VERSION 1
#define FL_FEED_NONCE 32
#define FL_FEED_MAC 32
/* A RECORD carries one stored record part whole: the journal (LMDB) holds values of up to
 * 4 GiB - 1 bytes, so a RECORD frame may be as long as its u32 length field allows; every
 * other frame is small. */
#define FL_FEED_MAX_PAYLOAD (1u << 20)
#define FL_FEED_RECORD_HEADER 12
#define FL_FEED_MAX_RECORD (UINT32_MAX - FL_FEED_RECORD_HEADER)
#define FL_FEED_FRAME_OVERHEAD 9

typedef enum fl_feed_type {
    FL_FEED_HELLO = 1,
    FL_FEED_AUTH = 2,
    FL_FEED_WELCOME = 3,
    FL_FEED_ERROR = 4,
    FL_FEED_RECORD = 5,
    FL_FEED_HEARTBEAT = 6,
} fl_feed_type;

typedef enum fl_feed_start {
    FL_FEED_FROM_SEQ = 1,  /* from_seq inclusive (0 = the journal's first) */
    FL_FEED_FROM_GTID = 2, /* the transaction with that GTID, inclusive */
    FL_FEED_INFO = 3,      /* only WELCOME (journal bounds), then close */
} fl_feed_start;

typedef enum fl_feed_error {
    FL_FEED_ERR_AUTH = 1,      /* wrong secret */
    FL_FEED_ERR_VERSION = 2,   /* unsupported protocol version */
    FL_FEED_ERR_PURGED = 3,    /* requested position no longer in the journal */
    FL_FEED_ERR_UNKNOWN = 4,   /* unknown GTID */
    FL_FEED_ERR_PROTOCOL = 5,  /* malformed message */
    FL_FEED_ERR_JOURNAL = 6,   /* the relay cannot read its journal */
} fl_feed_error;

typedef struct fl_feed_msg {
    uint8_t type;
    uint16_t version;                  /* HELLO, AUTH */
    uint8_t nonce[FL_FEED_NONCE];      /* HELLO (server), AUTH (client) */
    uint8_t mac[FL_FEED_MAC];          /* AUTH (client proof), WELCOME (server proof) */
    uint8_t start;                     /* AUTH: fl_feed_start */
    uint64_t seq;                      /* AUTH from_seq; RECORD seq; WELCOME start seq */
    uint32_t part;                     /* RECORD */
    uint64_t first_seq, last_seq;      /* WELCOME, HEARTBEAT (last_seq) */
    uint64_t ts;                       /* HEARTBEAT: server time, unix seconds */
    uint16_t code;                     /* ERROR: fl_feed_error */
    const uint8_t *data;               /* AUTH: gtid text; ERROR: message; RECORD: record bytes */
    size_t data_len;                   /* (points into the parsed buffer) */
} fl_feed_msg;

/* Parses one frame from buf. Returns 1 with *msg and *consumed set, 0 when more bytes are
 * needed, -1 with a reason in err for a malformed frame (bad length, CRC, type, field). */
int fl_feed_parse(const uint8_t *buf, size_t len, fl_feed_msg *msg, size_t *consumed, char *err,
                  size_t errlen);

/* Appends one encoded frame for msg to out (fields used per type, as above). */
void fl_feed_encode(fl_buf *out, const fl_feed_msg *msg);

/* Proofs: HMAC-SHA256(secret, label | a | b). Returns 0 or -1 (crypto failure). */
int fl_feed_client_proof(const char *secret, const uint8_t nonce_s[FL_FEED_NONCE],
                         const uint8_t nonce_c[FL_FEED_NONCE], uint8_t out[FL_FEED_MAC]);
int fl_feed_server_proof(const char *secret, const uint8_t nonce_s[FL_FEED_NONCE],
                         const uint8_t nonce_c[FL_FEED_NONCE], uint8_t out[FL_FEED_MAC]);
/* Constant-time comparison of two proofs. */
bool fl_feed_proof_equal(const uint8_t a[FL_FEED_MAC], const uint8_t b[FL_FEED_MAC]);
/* Fresh random nonce (OpenSSL RAND_bytes). Returns 0 or -1. */
int fl_feed_nonce(uint8_t out[FL_FEED_NONCE]);

const char *fl_feed_error_name(uint16_t code);

#endif
