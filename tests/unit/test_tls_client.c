/* test_tls_client.c — TLS client contexts: the CA file or the system store, a client
 * certificate with its key, messages naming the file that cannot be used, and the host a
 * session expects (a name, sent as SNI too, or an IP address). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "common/tls_client.h"
#include "tests/unit/helpers.h"

static char dir[256];

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

static int make_files(void **state)
{
    (void)state;
    if (th_tmpdir_make(dir, sizeof dir, "tls_client")) return -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=t -keyout a.key -out a.pem "
             ">/dev/null 2>&1 && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=u -keyout b.key "
             "-out b.pem >/dev/null 2>&1 && echo 'not a certificate' > junk.pem",
             dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int remove_files(void **state)
{
    (void)state;
    return th_tmpdir_remove(dir);
}

static void test_contexts(void **state)
{
    (void)state;
    char err[512], ca[300], cert[300], key[300], other_key[300], junk[300], absent[300];
    path_of(ca, sizeof ca, "a.pem");
    path_of(cert, sizeof cert, "a.pem");
    path_of(key, sizeof key, "a.key");
    path_of(other_key, sizeof other_key, "b.key");
    path_of(junk, sizeof junk, "junk.pem");
    path_of(absent, sizeof absent, "absent.pem");

    SSL_CTX *ctx = fl_tls_client_ctx(NULL, NULL, NULL, err, sizeof err); /* the system store */
    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER);
    SSL_CTX_free(ctx);

    ctx = fl_tls_client_ctx(ca, cert, key, err, sizeof err);
    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER);
    assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    SSL_CTX_free(ctx);

    assert_null(fl_tls_client_ctx(absent, NULL, NULL, err, sizeof err));
    assert_non_null(strstr(err, "cannot load"));
    assert_non_null(strstr(err, absent));
    assert_null(fl_tls_client_ctx(junk, NULL, NULL, err, sizeof err));
    assert_non_null(strstr(err, junk));
    assert_null(fl_tls_client_ctx(ca, junk, key, err, sizeof err));
    assert_non_null(strstr(err, "as a certificate"));
    assert_null(fl_tls_client_ctx(ca, cert, NULL, err, sizeof err));
    assert_non_null(strstr(err, "private key"));
    assert_null(fl_tls_client_ctx(ca, cert, junk, err, sizeof err));
    assert_non_null(strstr(err, junk));
    assert_null(fl_tls_client_ctx(ca, cert, other_key, err, sizeof err));
    assert_non_null(strstr(err, other_key)); /* the key of another certificate */
    assert_non_null(strstr(err, "mismatch"));
}

static void test_expect_host(void **state)
{
    (void)state;
    char err[512];
    SSL_CTX *ctx = fl_tls_client_ctx(NULL, NULL, NULL, err, sizeof err);
    assert_non_null(ctx);

    SSL *name = SSL_new(ctx);
    assert_int_equal(fl_tls_client_expect_host(name, "cache.example.com"), 0);
    assert_string_equal(SSL_get_servername(name, TLSEXT_NAMETYPE_host_name), "cache.example.com");
    assert_string_equal(X509_VERIFY_PARAM_get0_host(SSL_get0_param(name), 0), "cache.example.com");
    SSL_free(name);

    SSL *ip = SSL_new(ctx);
    assert_int_equal(fl_tls_client_expect_host(ip, "127.0.0.1"), 0);
    assert_null(SSL_get_servername(ip, TLSEXT_NAMETYPE_host_name)); /* no SNI for an address */
    assert_null(X509_VERIFY_PARAM_get0_host(SSL_get0_param(ip), 0));
    SSL_free(ip);

    SSL *ip6 = SSL_new(ctx);
    assert_int_equal(fl_tls_client_expect_host(ip6, "::1"), 0);
    assert_null(SSL_get_servername(ip6, TLSEXT_NAMETYPE_host_name));
    SSL_free(ip6);
    SSL_CTX_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_contexts), cmocka_unit_test(test_expect_host)};
    return cmocka_run_group_tests(tests, make_files, remove_files);
}
