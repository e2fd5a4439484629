/* schema_check.c — one information_schema read per rule table (common/mysql_schema.h), then
 * the rules compiler's own column check (fl_rules_check_table) on the columns found, so the
 * start-up check and the check at a table's first change say the same thing. */
#include "fl-apply/schema_check.h"

#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/log.h"
#include "common/mysql_conn.h"
#include "common/mysql_schema.h"

/* Checks one table; appends its problems to msg. Returns 0, or -1 when the query failed. */
static int check_table(fl_rules *rules, const fl_config *cfg, MYSQL *m, bool mariadb, const fl_config_rule *rc,
                       fl_buf *msg)
{
    fl_table_schema schema;
    char err[512];
    if (fl_table_schema_read(m, rc->db, rc->table, mariadb, &schema, err, sizeof err)) {
        log_warn("checking the rules of %s.%s against the source: %s; they are checked when the table's first "
                 "change arrives",
                 rc->db, rc->table, err);
        return -1;
    }
    if (schema.ncols == 0) {
        fl_buf_printf(msg,
                      "%s:%d: [rule %s] table: %s.%s does not exist in the source (create it first, or fix "
                      "the name)\n",
                      cfg->path ? cfg->path : "config", rc->line, rc->name, rc->db, rc->table);
    } else {
        fl_table t = {.db = rc->db, .name = rc->table, .ncols = schema.ncols, .cols = (const char **)schema.names};
        char why[2048];
        if (fl_rules_check_table(rules, &t, why, sizeof why)) {
            fl_buf_puts(msg, why);
            if (msg->len && msg->data[msg->len - 1] != '\n') fl_buf_putc(msg, '\n');
        }
    }
    fl_table_schema_free(&schema);
    return 0;
}

int fl_schema_check_rules(fl_rules *rules, const fl_config *cfg, char **errors)
{
    *errors = NULL;
    if (!cfg->source.present) {
        log_info("no [source] section: each rule is checked against its table when the table's first change "
                 "arrives");
        return 0;
    }
    fl_error e;
    fl_mysql_conn_opts o = {.connect_timeout_s = 5, .io_timeout_s = 10};
    MYSQL *m = fl_mysql_connect(&cfg->source, &o, &e);
    if (!m) {
        log_warn("cannot check the rules against the source now (%s); each is checked when its table's first "
                 "change arrives",
                 e.msg);
        return 0;
    }
    bool mariadb = strstr(mysql_get_server_info(m), "MariaDB") != NULL;
    fl_buf msg = {0};
    for (size_t i = 0; i < cfg->nrules; i++) {
        const fl_config_rule *rc = &cfg->rules[i];
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(cfg->rules[j].db, rc->db) && !strcmp(cfg->rules[j].table, rc->table);
        if (!seen && check_table(rules, cfg, m, mariadb, rc, &msg) < 0) break;
    }
    mysql_close(m);
    if (!msg.len) {
        fl_buf_free(&msg);
        log_debug("every rule matches its table in the source");
        return 0;
    }
    *errors = fl_xstrdup(fl_buf_cstr(&msg));
    fl_buf_free(&msg);
    return -1;
}
