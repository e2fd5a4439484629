/* tls_client.c — TLS client contexts and server verification (see tls_client.h). */
#include "common/tls_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

/* The reason of the oldest queued OpenSSL error (the queue is then emptied). */
static const char *openssl_reason(void)
{
    unsigned long code = ERR_get_error();
    const char *why = code ? ERR_reason_error_string(code) : NULL;
    ERR_clear_error();
    return why ? why : "unknown reason";
}

SSL_CTX *fl_tls_client_ctx(const char *ca_file, const char *cert_file, const char *key_file, char *err,
                           size_t errlen)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(err, errlen, "cannot create a TLS context: %s", openssl_reason());
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1
                : SSL_CTX_set_default_verify_paths(ctx) != 1) {
        if (ca_file)
            snprintf(err, errlen, "cannot load %s as CA certificates: %s", ca_file, openssl_reason());
        else
            snprintf(err, errlen, "cannot load the system's trusted CA certificates: %s", openssl_reason());
        goto fail;
    }
    if (cert_file) {
        if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
            snprintf(err, errlen, "cannot load %s as a certificate: %s", cert_file, openssl_reason());
            goto fail;
        }
        if (!key_file || SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
            snprintf(err, errlen, "cannot load %s as a private key: %s", key_file ? key_file : "(none)",
                     openssl_reason());
            goto fail;
        }
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

int fl_tls_client_expect_host(SSL *ssl, const char *host)
{
    unsigned char addr[16];
    bool is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    if (is_ip) return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 ? 0 : -1;
    if (SSL_set_tlsext_host_name(ssl, host) != 1) return -1;
    return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

int fl_tls_client_why(SSL *ssl, int r, char *buf, size_t n)
{
    long vr = SSL_get_verify_result(ssl);
    if (vr != X509_V_OK) {
        ERR_clear_error();
        snprintf(buf, n, "certificate not trusted: %s", X509_verify_cert_error_string(vr));
        return 1;
    }
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
        snprintf(buf, n, "handshake failed: %s", errno ? strerror(errno) : "connection closed");
    else
        snprintf(buf, n, "handshake failed: %s", openssl_reason());
    return 0;
}
