/* mysql_conn.h — a client connection to the [source] server, opened the one way every
 * program opens it: TCP (host, port) or the Unix socket, user and password, TLS per
 * ssl_mode with ssl_ca/ssl_cert/ssl_key, utf8mb4, and the timeouts the caller asks for. */
#ifndef FL_MYSQL_CONN_H
#define FL_MYSQL_CONN_H

#include <mysql.h>

#include "common/config.h"
#include "common/error.h"

typedef struct fl_mysql_conn_opts {
    unsigned connect_timeout_s; /* 0: 10 s */
    unsigned io_timeout_s;      /* bounds every read and write; 0: the library's default */
    unsigned long max_packet;   /* largest packet accepted; 0: the library's default */
} fl_mysql_conn_opts;

/* Connects as cfg says (o may be NULL for the defaults). Returns the handle (mysql_close
 * it), or NULL with e: a message naming where and as whom it tried, e->code the client or
 * server error number (0 when none). e->permanent is set only for a configuration no retry
 * can make work (ssl_mode verify_ca or verify_identity without ssl_ca); what a server's
 * error number means is up to the caller. */
MYSQL *fl_mysql_connect(const fl_config_source *cfg, const fl_mysql_conn_opts *o, fl_error *e);

#endif
