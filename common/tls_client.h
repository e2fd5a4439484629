/* tls_client.h — the one way a client here verifies a TLS server (OpenSSL): TLS 1.2 at
 * least, the server's chain checked against a CA file (or the system's trust store when
 * none is given), its certificate checked to name the host (a DNS name, sent as SNI too, or
 * an IP address), and optionally a client certificate for servers that ask for one. */
#ifndef FL_TLS_CLIENT_H
#define FL_TLS_CLIENT_H

#include <stddef.h>

#include <openssl/ssl.h>

/* A context that verifies servers against ca_file (NULL: the system store) and, when
 * cert_file is set, presents cert_file with key_file. NULL with a one-line message in err
 * naming the file that cannot be used. */
SSL_CTX *fl_tls_client_ctx(const char *ca_file, const char *cert_file, const char *key_file, char *err,
                           size_t errlen);

/* Makes ssl expect host (a name or an IP address) in the server's certificate. 0, or -1. */
int fl_tls_client_expect_host(SSL *ssl, const char *host);

/* Why a handshake that returned r failed: "certificate not trusted: ..." (then returns 1:
 * the configuration or the server's certificate must change) or "handshake failed: ..."
 * (returns 0). */
int fl_tls_client_why(SSL *ssl, int r, char *buf, size_t n);

#endif
