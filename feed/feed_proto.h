/* feed_proto.h — the wire protocol between fl-relay's feed and its clients (fl-apply with
 * `relay = host:port`, fl-dump --relay): framing, messages, session keys and frame MACs.
 *
 * Frame: u32le payload length | u8 type | payload | trailer.
 *  - Plain frames (the handshake: HELLO, AUTH, and an ERROR refusing it) end with the
 *    CRC-32C of (type, payload). Nothing in them is trusted until the MACs below agree.
 *  - SEALED frames carry everything after the handshake: the payload is the next piece
 *    (at most FL_FEED_MAX_CHUNK bytes) of a stream of messages, and the trailer is the
 *    FL_FEED_TAG-byte GMAC (AES-256-GCM) of (length, type, payload) under the direction's key
 *    with the frame's number as the IV. Frames are numbered from 0 in each direction, so an
 *    injected, altered, reordered, replayed or dropped frame fails its MAC.
 * Messages in the sealed stream: u32le payload length | u8 type | payload (WELCOME, ERROR,
 * RECORD, HEARTBEAT; a RECORD as large as the journal's largest record part).
 *
 * Session: server HELLO (version, nonce_s) -> client AUTH (version, nonce_c, MAC, where to
 * start) -> server WELCOME (journal bounds and purge horizon, its identity, the first seq it
 * will send) or an ERROR, then
 * RECORDs and HEARTBEATs. An AUTH may instead carry a snapshot request (its tables in the data
 * the MAC covers, so nobody without the secret can ask and nobody on the path can alter it),
 * answered by WELCOME once queued, or a sealed ERROR. Keys: PRK = HKDF-Extract(salt = nonce_s | nonce_c, secret), one
 * key per direction = HKDF-Expand(PRK, label). AUTH's MAC (client key) covers HELLO's
 * fields and every AUTH field; WELCOME is the server's first sealed message, so it proves
 * the server holds the secret and answers this very AUTH. The secret never crosses the wire.
 * An ERROR in a plain frame is unauthenticated: it is never a reason to give up for good. */
#ifndef FL_FEED_PROTO_H
#define FL_FEED_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "journal/store.h"

#define FL_FEED_VERSION 2
#define FL_FEED_NONCE 32
#define FL_FEED_MAC 32                  /* AUTH's MAC, session keys */
#define FL_FEED_TAG 16                  /* a sealed frame's MAC (GMAC) */
#define FL_FEED_MAX_PAYLOAD (1u << 20)  /* a plain frame, a message other than RECORD */
#define FL_FEED_MAX_CHUNK (256u * 1024) /* a sealed frame's payload */
#define FL_FEED_RECORD_HEADER 12
/* A RECORD carries one stored record part whole; the journal (LMDB) holds values of up to
 * 4 GiB - 1 bytes, and a message's u32 length covers that less the RECORD header. */
#define FL_FEED_MAX_RECORD (UINT32_MAX - FL_FEED_RECORD_HEADER)

typedef enum fl_feed_type {
    FL_FEED_HELLO = 1,
    FL_FEED_AUTH = 2,
    FL_FEED_WELCOME = 3,
    FL_FEED_ERROR = 4,
    FL_FEED_RECORD = 5,
    FL_FEED_HEARTBEAT = 6,
    FL_FEED_SEALED = 7, /* frame only: a piece of the message stream */
} fl_feed_type;

typedef enum fl_feed_start {
    FL_FEED_FROM_SEQ = 1,  /* from_seq inclusive (0 = the journal's first) */
    FL_FEED_FROM_GTID = 2, /* the transaction with that GTID, inclusive */
    FL_FEED_INFO = 3,      /* only WELCOME (journal bounds), then close */
    FL_FEED_SNAPSHOT = 4,  /* a snapshot request: AUTH's data names the tables ("db.t,db.u"); the relay
                            * queues it and answers WELCOME, or refuses with an ERROR; then close */
} fl_feed_start;

typedef enum fl_feed_error {
    FL_FEED_ERR_AUTH = 1,     /* wrong secret */
    FL_FEED_ERR_VERSION = 2,  /* unsupported protocol version */
    FL_FEED_ERR_PURGED = 3,   /* requested position no longer in the journal */
    FL_FEED_ERR_UNKNOWN = 4,  /* unknown GTID */
    FL_FEED_ERR_PROTOCOL = 5, /* malformed message */
    FL_FEED_ERR_JOURNAL = 6,  /* the relay cannot read its journal */
    FL_FEED_ERR_BUSY = 7,     /* the relay serves as many clients as it can */
    FL_FEED_ERR_REFUSED = 8,  /* a snapshot request the relay does not take (a table outside its
                                 [snapshot] tables) */
} fl_feed_error;

typedef struct fl_feed_msg {
    uint8_t type;
    uint16_t version;                  /* HELLO, AUTH */
    uint8_t nonce[FL_FEED_NONCE];      /* HELLO (server), AUTH (client) */
    uint8_t mac[FL_FEED_MAC];          /* AUTH */
    uint8_t start;                     /* AUTH: fl_feed_start */
    uint64_t seq;                      /* AUTH from_seq; RECORD seq; WELCOME start seq */
    uint32_t part;                     /* RECORD */
    uint64_t first_seq, last_seq;      /* WELCOME, HEARTBEAT (last_seq) */
    uint64_t purged_seq;               /* WELCOME: the journal's purge horizon */
    char identity[FL_JOURNAL_ID_TEXT]; /* WELCOME: the journal's identity ("" = none) */
    uint64_t ts;                       /* HEARTBEAT: server time, unix seconds */
    uint16_t code;                     /* ERROR: fl_feed_error */
    const uint8_t *data; /* AUTH: gtid text or snapshot tables; ERROR: message; RECORD: record bytes; */
    size_t data_len;     /* SEALED: the stream piece (points into the parsed buffer) */
} fl_feed_msg;

/* One direction of a session: its key and the number of the next frame. */
typedef struct fl_feed_seal {
    void *mac;        /* keyed GMAC context (OpenSSL EVP_MAC_CTX) */
    uint64_t counter; /* frames sealed or opened so far */
} fl_feed_seal;

/* Parses one frame from buf. A SEALED frame needs rx (NULL before the handshake: refused)
 * and is checked against it and its frame number (rx->counter advances); its message stream
 * piece is in msg->data. Returns 1 with *msg and *consumed set, 0 when more bytes are needed,
 * -1 with a reason in err for a malformed or unauthentic frame. */
int fl_feed_parse(const uint8_t *buf, size_t len, fl_feed_seal *rx, fl_feed_msg *msg, size_t *consumed, char *err,
                  size_t errlen);
/* Appends one plain frame for msg (HELLO, AUTH, ERROR) to out. */
void fl_feed_encode(fl_buf *out, const fl_feed_msg *msg);
/* Appends one SEALED frame carrying len (<= FL_FEED_MAX_CHUNK) bytes of the stream. */
void fl_feed_seal_frame(fl_buf *out, fl_feed_seal *tx, const uint8_t *data, size_t len);

/* Messages of the sealed stream (WELCOME, ERROR, RECORD, HEARTBEAT). parse_message returns
 * 1 / 0 (more bytes needed) / -1 like fl_feed_parse. */
void fl_feed_encode_message(fl_buf *out, const fl_feed_msg *msg);
int fl_feed_parse_message(const uint8_t *buf, size_t len, fl_feed_msg *msg, size_t *consumed, char *err,
                          size_t errlen);

/* Session keys from the shared secret and both nonces (HKDF-SHA256). Returns 0 or -1. */
int fl_feed_session_keys(const char *secret, const uint8_t nonce_s[FL_FEED_NONCE],
                         const uint8_t nonce_c[FL_FEED_NONCE], uint8_t client_key[FL_FEED_MAC],
                         uint8_t server_key[FL_FEED_MAC]);
/* AUTH's MAC under the client key: HELLO's version and nonce, then AUTH's version, nonce,
 * start, seq and data. Returns 0 or -1. */
int fl_feed_auth_mac(const uint8_t client_key[FL_FEED_MAC], const fl_feed_msg *hello, const fl_feed_msg *auth,
                     uint8_t out[FL_FEED_MAC]);
/* A direction keyed for sealing or opening, counter 0. Returns 0 or -1; free either way. */
int fl_feed_seal_init(fl_feed_seal *s, const uint8_t key[FL_FEED_MAC]);
void fl_feed_seal_free(fl_feed_seal *s);
/* HKDF-SHA256 (RFC 5869) with one block of output. Returns 0 or -1. */
int fl_feed_hkdf(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len, const uint8_t *info,
                 size_t info_len, uint8_t out[FL_FEED_MAC]);
/* Constant-time comparison of two MACs of n bytes. */
bool fl_feed_mac_equal(const uint8_t *a, const uint8_t *b, size_t n);
/* Loads what the handshake uses (random generator, HMAC, GMAC): their first use is slow on
 * a loaded machine or under valgrind, and the relay gives a handshake only a few seconds.
 * Returns 0 or -1. */
int fl_feed_crypto_warm(void);
/* Fresh random nonce (OpenSSL RAND_bytes). Returns 0 or -1. */
int fl_feed_nonce(uint8_t out[FL_FEED_NONCE]);

const char *fl_feed_error_name(uint16_t code);

#endif
