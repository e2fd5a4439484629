/* mysql_conn.c — connecting to the [source] server on MariaDB Connector/C (see mysql_conn.h).
 *
 * TLS per ssl_mode: disabled asks for none; preferred asks and goes on in clear text when
 * the server offers none; required insists; verify_ca also checks the chain against ssl_ca
 * (Connector/C verifies the chain whenever a CA is given); verify_identity also checks that
 * the certificate names the host (MYSQL_OPT_SSL_VERIFY_SERVER_CERT). */
#include "common/mysql_conn.h"

#include <stdio.h>

static int set_tls(MYSQL *m, const fl_config_source *cfg, fl_error *e)
{
    my_bool on = 1, off = 0;
    if (cfg->ssl_mode == FL_SSL_DISABLED) return 0;
    if ((cfg->ssl_mode == FL_SSL_VERIFY_CA || cfg->ssl_mode == FL_SSL_VERIFY_IDENTITY) && !cfg->ssl_ca)
        return fl_error_set(e, true, 0,
                            "[source] ssl_mode = %s needs ssl_ca (the CA that signed the server's certificate)",
                            cfg->ssl_mode == FL_SSL_VERIFY_CA ? "verify_ca" : "verify_identity");
    if (cfg->ssl_key) mysql_optionsv(m, MYSQL_OPT_SSL_KEY, cfg->ssl_key);
    if (cfg->ssl_cert) mysql_optionsv(m, MYSQL_OPT_SSL_CERT, cfg->ssl_cert);
    if (cfg->ssl_ca) mysql_optionsv(m, MYSQL_OPT_SSL_CA, cfg->ssl_ca);
    m->options.use_ssl = 1;
    if (cfg->ssl_mode != FL_SSL_PREFERRED) mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &on);
    mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, cfg->ssl_mode == FL_SSL_VERIFY_IDENTITY ? &on : &off);
    return 0;
}

MYSQL *fl_mysql_connect(const fl_config_source *cfg, const fl_mysql_conn_opts *o, fl_error *e)
{
    fl_error_clear(e);
    fl_mysql_conn_opts defaults = {0};
    if (!o) o = &defaults;
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        fl_error_set(e, false, 0, "out of memory initialising the client library");
        return NULL;
    }
    unsigned connect_timeout = o->connect_timeout_s ? o->connect_timeout_s : 10;
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    if (o->io_timeout_s) {
        unsigned io = o->io_timeout_s;
        mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &io);
        mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &io);
    }
    if (o->max_packet) {
        unsigned long max_packet = o->max_packet;
        mysql_optionsv(m, MYSQL_OPT_MAX_ALLOWED_PACKET, &max_packet);
    }
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    unsigned protocol = cfg->socket ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &protocol);
    if (set_tls(m, cfg, e) < 0) {
        mysql_close(m);
        return NULL;
    }
    const char *host = cfg->socket ? "localhost" : (cfg->host ? cfg->host : "127.0.0.1");
    const char *user = cfg->user ? cfg->user : "";
    if (!mysql_real_connect(m, host, user, cfg->password, NULL, (unsigned)cfg->port, cfg->socket, 0)) {
        unsigned code = mysql_errno(m);
        if (cfg->socket)
            fl_error_set(e, false, code, "cannot connect to the source through socket %s as '%s': %s (error %u)",
                         cfg->socket, user, mysql_error(m), code);
        else
            fl_error_set(e, false, code, "cannot connect to the source at %s:%d as '%s': %s (error %u)", host,
                         cfg->port, user, mysql_error(m), code);
        mysql_close(m);
        return NULL;
    }
    return m;
}
