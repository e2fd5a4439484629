/* seeds_record.c — writes a few valid journal records into a directory, the seed corpus of
 * fuzz_record: both GTID flavors (tagged and not), every value type, unnamed columns, absent
 * columns, every op, several tables, a non-final part. Built and run by seeds_record.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal/record.h"

static void save(const char *dir, const char *name, const fl_txn *t)
{
    fl_buf b = {0};
    fl_record_encode(t, &b);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b.data, 1, b.len, f) != b.len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    fl_buf_free(&b);
}

static void header(fl_txn *t, const char *gtid)
{
    fl_txn_reset(t);
    if (gtid && fl_gtid_parse(&t->gtid, gtid, strlen(gtid)) != 0) {
        fprintf(stderr, "bad gtid %s\n", gtid);
        exit(1);
    }
    t->ts = 1764000000;
    t->server_id = 1;
    t->file = "binlog.000001";
    t->pos = 4711;
    t->flags = FL_TXN_LAST_PART;
}

static fl_value str(fl_value_type type, const char *s)
{
    return (fl_value){.type = type, .s = {s, (uint32_t)strlen(s)}};
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    fl_txn t;
    fl_txn_init(&t);

    header(&t, NULL);
    save(dir, "empty", &t);

    /* every value type in one insert */
    header(&t, "0-1-42");
    const char *cols[FL_VAL_TYPE_COUNT];
    char names[FL_VAL_TYPE_COUNT][8];
    for (int i = 0; i < FL_VAL_TYPE_COUNT; i++) {
        snprintf(names[i], sizeof names[i], "c%d", i);
        cols[i] = i % 5 == 4 ? NULL : names[i];
    }
    uint32_t tb = fl_txn_table(&t, "app", "all_types", FL_VAL_TYPE_COUNT, cols);
    fl_change *c = fl_txn_add_change(&t, FL_OP_INSERT);
    c->table = tb;
    fl_value *v = c->after = fl_txn_values(&t, FL_VAL_TYPE_COUNT);
    static const float vec[2] = {1.5f, -2.0f};
    v[FL_VAL_NULL].type = FL_VAL_NULL;
    v[FL_VAL_INT] = (fl_value){.type = FL_VAL_INT, .i = -123456789};
    v[FL_VAL_UINT] = (fl_value){.type = FL_VAL_UINT, .u = 18446744073709551615ull};
    v[FL_VAL_FLOAT] = (fl_value){.type = FL_VAL_FLOAT, .d = 0.5};
    v[FL_VAL_DOUBLE] = (fl_value){.type = FL_VAL_DOUBLE, .d = 3.141592653589793};
    v[FL_VAL_DECIMAL] = str(FL_VAL_DECIMAL, "-1165.50");
    v[FL_VAL_DATE] = str(FL_VAL_DATE, "2026-11-24");
    v[FL_VAL_DATETIME] = str(FL_VAL_DATETIME, "2026-11-24 12:00:00.123456");
    v[FL_VAL_TIMESTAMP] = str(FL_VAL_TIMESTAMP, "2026-11-24 12:00:00");
    v[FL_VAL_TIME] = str(FL_VAL_TIME, "-838:59:59");
    v[FL_VAL_YEAR] = (fl_value){.type = FL_VAL_YEAR, .i = 2026};
    v[FL_VAL_STRING] = str(FL_VAL_STRING, "h\xc3\xa9llo \"world\"");
    v[FL_VAL_BINARY] = (fl_value){.type = FL_VAL_BINARY, .s = {"\x00\xff\x01", 3}};
    v[FL_VAL_GEOMETRY] = (fl_value){.type = FL_VAL_GEOMETRY, .s = {"\x00\x00\x00\x00\x01\x01\x00\x00\x00", 9}};
    v[FL_VAL_ENUM] = str(FL_VAL_ENUM, "red");
    v[FL_VAL_SET] = str(FL_VAL_SET, "a,b");
    v[FL_VAL_ENUM_INDEX] = (fl_value){.type = FL_VAL_ENUM_INDEX, .u = 2};
    v[FL_VAL_SET_BITS] = (fl_value){.type = FL_VAL_SET_BITS, .u = 5};
    v[FL_VAL_BIT] = (fl_value){.type = FL_VAL_BIT, .u = 1};
    v[FL_VAL_JSON] = str(FL_VAL_JSON, "{\"k\":[1,2]}");
    v[FL_VAL_VECTOR] = (fl_value){.type = FL_VAL_VECTOR, .s = {(const char *)vec, sizeof vec}};
    /* temporal text that is not canonical stays text */
    c = fl_txn_add_change(&t, FL_OP_INSERT);
    c->table = tb;
    v = c->after = fl_txn_values(&t, FL_VAL_TYPE_COUNT);
    v[FL_VAL_DATE] = str(FL_VAL_DATE, "2026-1-1");
    v[FL_VAL_DATETIME] = str(FL_VAL_DATETIME, "2026-11-24 25:00:00");
    v[FL_VAL_TIMESTAMP] = str(FL_VAL_TIMESTAMP, "");
    v[FL_VAL_TIME] = str(FL_VAL_TIME, "900:00:00");
    save(dir, "all_types", &t);

    /* updates and deletes on two tables, tagged MySQL GTID, XA */
    header(&t, "3e11fa47-71ca-11e1-9e33-c80aa9429562:blue:7");
    t.flags |= FL_TXN_XA;
    const char *ucols[] = {"id", "name", NULL};
    uint32_t users = fl_txn_table(&t, "app", "users", 3, ucols);
    uint32_t orders = fl_txn_table(&t, "shop", "orders", 2, NULL);
    c = fl_txn_add_change(&t, FL_OP_UPDATE);
    c->table = users;
    c->before = fl_txn_values(&t, 3);
    c->before[0] = (fl_value){.type = FL_VAL_INT, .i = 1};
    c->after = fl_txn_values(&t, 3);
    c->after[0] = (fl_value){.type = FL_VAL_INT, .i = 1};
    c->after[1] = str(FL_VAL_STRING, "bob");
    c = fl_txn_add_change(&t, FL_OP_DELETE);
    c->table = orders;
    c->before = fl_txn_values(&t, 2);
    c->before[0] = (fl_value){.type = FL_VAL_UINT, .u = 99};
    c->before[1] = (fl_value){.type = FL_VAL_NULL};
    save(dir, "update_delete", &t);

    /* a table snapshot's last chunk: snapshot rows */
    header(&t, "0-1-77");
    t.flags |= FL_TXN_SNAPSHOT | FL_TXN_SNAPSHOT_LAST;
    t.snapshot_table = fl_txn_table(&t, "shop", "items", 2, (const char *[]){"id", "name"});
    t.snapshot_chunk = 4;
    for (int i = 0; i < 3; i++) {
        c = fl_txn_add_change(&t, FL_OP_SNAPSHOT);
        c->table = t.snapshot_table;
        c->after = fl_txn_values(&t, 2);
        c->after[0] = (fl_value){.type = FL_VAL_INT, .i = i};
        c->after[1] = str(FL_VAL_STRING, "row");
    }
    save(dir, "snapshot_chunk", &t);

    /* DDL and statement-based DML, untagged MySQL GTID */
    header(&t, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1000");
    t.flags |= FL_TXN_STATEMENT;
    c = fl_txn_add_change(&t, FL_OP_DDL);
    c->db = "app";
    c->sql = "ALTER TABLE users ADD COLUMN email VARCHAR(255)";
    c->sql_len = (uint32_t)strlen(c->sql);
    c = fl_txn_add_change(&t, FL_OP_STATEMENT);
    c->db = "";
    c->sql = "UPDATE t SET a = a + 1";
    c->sql_len = (uint32_t)strlen(c->sql);
    save(dir, "ddl_statement", &t);

    /* a middle part of a large transaction */
    header(&t, "5-2-1000000");
    t.flags = 0;
    t.part = 3;
    tb = fl_txn_table(&t, "app", "events", 2, (const char *[]){"id", "payload"});
    for (int i = 0; i < 20; i++) {
        c = fl_txn_add_change(&t, FL_OP_INSERT);
        c->table = tb;
        c->after = fl_txn_values(&t, 2);
        c->after[0] = (fl_value){.type = FL_VAL_INT, .i = i};
        c->after[1] = str(FL_VAL_BINARY, "payload bytes");
    }
    save(dir, "part", &t);

    fl_txn_free(&t);
    return 0;
}
