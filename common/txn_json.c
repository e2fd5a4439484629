/* txn_json.c — a transaction as one JSON line (fl-dump --json) and the UTC time formatter. */
#include "common/txn.h"

#include <string.h>

/* Days to civil date (proleptic Gregorian), so any unix time has its text, unlike gmtime. */
void fl_format_utc(fl_buf *out, uint64_t ts)
{
    uint64_t days = ts / 86400, secs = ts % 86400;
    uint64_t z = days + 719468;
    uint64_t era = z / 146097;
    uint64_t doe = z - era * 146097;
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t y = yoe + era * 400;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint64_t mp = (5 * doy + 2) / 153;
    uint64_t d = doy - (153 * mp + 2) / 5 + 1;
    uint64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) y++;
    fl_buf_printf(out, "%04llu-%02llu-%02llu %02llu:%02llu:%02llu", (unsigned long long)y, (unsigned long long)m,
                  (unsigned long long)d, (unsigned long long)(secs / 3600), (unsigned long long)(secs / 60 % 60),
                  (unsigned long long)(secs % 60));
}

static void put_json_name(fl_buf *out, const char *s) { fl_json_string(out, s ? s : "", s ? strlen(s) : 0); }

static void put_col_json_name(fl_buf *out, const fl_table *tb, uint32_t c)
{
    const char *name = tb->cols ? tb->cols[c] : NULL;
    if (name)
        put_json_name(out, name);
    else
        fl_buf_printf(out, "\"@%u\"", c + 1);
}

/* ,"unknown":["col",...] when the image has columns whose new value the binlog lacks */
static void put_json_unknown(fl_buf *out, const fl_table *tb, const fl_value *img)
{
    bool first = true;
    for (uint32_t c = 0; img && c < tb->ncols; c++) {
        if (img[c].type != FL_VAL_UNKNOWN) continue;
        fl_buf_puts(out, first ? ",\"unknown\":[" : ",");
        first = false;
        put_col_json_name(out, tb, c);
    }
    if (!first) fl_buf_putc(out, ']');
}

static void put_json_image(fl_buf *out, const fl_table *tb, const fl_value *img)
{
    fl_buf_putc(out, '{');
    bool first = true;
    for (uint32_t c = 0; img && c < tb->ncols; c++) {
        if (img[c].type == FL_VAL_ABSENT || img[c].type == FL_VAL_UNKNOWN) continue;
        if (!first) fl_buf_putc(out, ',');
        first = false;
        put_col_json_name(out, tb, c);
        fl_buf_putc(out, ':');
        fl_value_to_json(&img[c], out);
    }
    fl_buf_putc(out, '}');
}

void fl_txn_to_json(const fl_txn *t, fl_buf *out)
{
    fl_buf_printf(out, "{\"seq\":%llu,\"gtid\":", (unsigned long long)t->seq);
    if (t->gtid.flavor == FL_FLAVOR_NONE) {
        fl_buf_puts(out, "null");
    } else {
        char g[FL_GTID_TEXT_MAX];
        size_t n = fl_gtid_format(&t->gtid, g, sizeof g);
        fl_json_string(out, g, n < sizeof g ? n : sizeof g - 1);
    }
    fl_buf_puts(out, ",\"ts\":");
    fl_buf_putc(out, '"');
    fl_format_utc(out, t->ts);
    fl_buf_putc(out, '"');
    fl_buf_printf(out, ",\"server_id\":%u,\"file\":", t->server_id);
    put_json_name(out, t->file);
    fl_buf_printf(out, ",\"pos\":%llu", (unsigned long long)t->pos);
    if (t->flags & FL_TXN_STATEMENT) fl_buf_puts(out, ",\"statement\":true");
    if (t->flags & FL_TXN_XA) fl_buf_puts(out, ",\"xa\":true");
    if ((t->flags & FL_TXN_SNAPSHOT) && t->snapshot_table < t->ntables) {
        const fl_table *st = &t->tables[t->snapshot_table];
        fl_buf_puts(out, ",\"snapshot\":{\"db\":");
        put_json_name(out, st->db);
        fl_buf_puts(out, ",\"table\":");
        put_json_name(out, st->name);
        fl_buf_printf(out, ",\"chunk\":%llu,\"last\":%s%s}", (unsigned long long)t->snapshot_chunk,
                      (t->flags & FL_TXN_SNAPSHOT_LAST) ? "true" : "false",
                      (t->flags & FL_TXN_SNAPSHOT_KEYS) ? ",\"keys\":true" : "");
    }
    fl_buf_puts(out, ",\"changes\":[");
    for (uint32_t i = 0; i < t->nchanges; i++) {
        const fl_change *c = &t->changes[i];
        if (i) fl_buf_putc(out, ',');
        fl_buf_printf(out, "{\"op\":\"%s\",\"db\":", fl_op_name(c->op));
        if (fl_op_is_row(c->op) && c->table < t->ntables) {
            const fl_table *tb = &t->tables[c->table];
            put_json_name(out, tb->db);
            fl_buf_puts(out, ",\"table\":");
            put_json_name(out, tb->name);
            if (c->sql && c->sql_len) {
                fl_buf_puts(out, ",\"query\":");
                fl_json_string(out, c->sql, c->sql_len);
            }
            if (fl_op_has_before(c->op)) {
                fl_buf_puts(out, ",\"before\":");
                put_json_image(out, tb, c->before);
            }
            if (fl_op_has_after(c->op)) {
                fl_buf_puts(out, ",\"after\":");
                put_json_image(out, tb, c->after);
                put_json_unknown(out, tb, c->after);
            }
        } else if (fl_op_is_row(c->op)) {
            fl_buf_puts(out, "null,\"table\":null");
        } else {
            put_json_name(out, c->db);
            fl_buf_puts(out, ",\"sql\":");
            fl_json_string(out, c->sql ? c->sql : "", c->sql ? c->sql_len : 0);
        }
        fl_buf_putc(out, '}');
    }
    fl_buf_puts(out, "]}");
}
