#!/usr/bin/env bash
# test_fixtures.sh — every real binlog file in the fixtures (MySQL 5.0–9.6, MariaDB 10.5) is
# ingested into a fresh journal with `fl-relay --journal DIR --binlog-file FILE`. Well-formed
# files must succeed and fl-dump --json must show the values the server wrote (checked
# against `mariadb-binlog -vv` where it reads the file, against the MySQL format
# documentation where it cannot: compressed transactions, tagged GTIDs, VECTOR, opaque JSON).
# Broken files must fail with the file name and byte offset and leave no partial transaction.
# Ingesting a file again appends nothing.
# Fixtures: $FL_FIXTURES, default tests/fixtures/mysql-binlogs.
source "$(dirname "$0")/../harness.sh"

FIX=${FL_FIXTURES:-$H_ROOT/tests/fixtures/mysql-binlogs}
[ -d "$FIX" ] || h_die "fixtures not found: $FIX (set FL_FIXTURES)"
RELAY=$FL_BUILD/fl-relay
DUMP=$FL_BUILD/fl-dump

# ingest NAME: fresh journal $H_DIR/j-NAME; sets RC and ERR (stderr without info lines)
ingest() {
  J=$H_DIR/j-$1
  rm -rf "$J"
  "$RELAY" --journal "$J" --binlog-file "$FIX/$1" >/dev/null 2>"$H_DIR/stderr"
  RC=$?
  ERR=$(grep -v ' INFO ' "$H_DIR/stderr")
  JSON=$("$DUMP" --json "$J" 2>/dev/null)
}
# line SEQ: the fl-dump --json line of transaction SEQ
line() { grep -F "{\"seq\":$1," <<<"$JSON"; }
# has NAME SEQ TEXT: transaction SEQ's line contains TEXT
has() {
  if line "$2" | grep -qF -- "$3"; then t_ok "$1: seq $2 has $3"; else
    t_fail "$1: seq $2 has $3" "got: $(line "$2" | head -c 1500)"; fi
}
count() { "$DUMP" --stats "$1" 2>/dev/null | sed -n 's/.*"count":\([0-9]*\).*/\1/p'; }

# well_formed NAME COUNT: ingests, expects success and COUNT transactions, then re-ingests
# and expects the same count
well_formed() {
  ingest "$1"
  t_eq "$1: exit status" 0 "$RC"
  [ "$RC" = 0 ] || echo "# $ERR" >&2
  t_eq "$1: transactions" "$2" "$(count "$J")"
  "$RELAY" --journal "$J" --binlog-file "$FIX/$1" >/dev/null 2>&1
  t_eq "$1: re-ingest appends nothing" "$2" "$(count "$J")"
}

# broken NAME OFFSET COMPLETE: fails naming the file and the offset; COMPLETE transactions
# (those that ended before the bad event) are journaled, none ends after OFFSET
broken() {
  ingest "$1"
  if [ "$RC" != 0 ]; then t_ok "$1: fails"; else t_fail "$1: fails" "exit 0"; fi
  if grep -qF "fl-relay: $FIX/$1: event at offset $2:" <<<"$ERR"; then t_ok "$1: message names file and offset $2"
  else t_fail "$1: message names file and offset $2" "got: $ERR"; fi
  t_eq "$1: complete transactions kept" "$3" "$(count "$J" || echo 0)"
  local bad
  bad=$(grep -o '"pos":[0-9]*' <<<"$JSON" | cut -d: -f2 | awk -v o="$2" '$1 > o' | head -1)
  t_eq "$1: nothing journaled past offset $2" "" "$bad"
}

# ---- MariaDB 10.5: GTIDs, FULL row metadata, ANNOTATE_ROWS ----------------------------------
F=mariadb-bin.000001
well_formed $F 2
has $F 1 '"gtid":"0-1-1","ts":"2022-04-20 22:18:04","server_id":1,"file":"mariadb-bin.000001","pos":702'
has $F 1 '"after":{"id":62,"topic":"foo","event_type":"JSON","event":"eyJmb28iOjF9","created":"2022-04-20 22:18:04"}'
has $F 2 '"gtid":"0-1-2"'
has $F 2 '"id":63'
has $F 1 '"table":"outbox","query":"insert into outbox (topic, event_type, event) values ('"'"'foo'"'"', '"'"'JSON'"'"', '"'"'{\"foo\":1}'"'"')","after"'

# ---- MySQL 8.0/9.x row events and column types ----------------------------------------------
F=mysql-enum-string-set.000001
well_formed $F 5
has $F 2 '"op":"ddl","db":"mysql","sql":"CREATE TABLE t(f1 CHAR(128), f2 VARCHAR(300)'
has $F 3 '"op":"insert","db":"mysql","table":"t"'
has $F 4 '"op":"update"'
has $F 5 '"op":"delete","db":"mysql","table":"t","before":{"f1":"field1","f2":"field_2","f3":"variant2","f4":["two","four"]'

F=mysql_type_bit.000001
well_formed $F 3
has $F 3 '"after":{"a":4,"b":"foo","c":32}'

F=binlog-invisible-columns.000001
well_formed $F 5
has $F 3 '"after":{"f1":1,"f2":2,"f3":-3,"f4":"4","f5":"BQ==","f6":6000000000}'
has $F 5 '"before":{"f1":null,"f2":null,"f3":-33,"f4":"44","f5":"VQ==","f6":null},"after":{"f1":111,"f2":222,"f3":-333,"f4":"444"'

F=time_issue.000001
well_formed $F 1
has $F 1 '"after":{"@1":"-507:48:27"}'

F=minimal_row_metadata.000001
well_formed $F 1
has $F 1 '"after":{"@1":1,"@3":"a","@5":3230202323}'

F=rpl_unfiltered_hidden_gcol.000001
well_formed $F 3
has $F 3 '"after":{"@1":1,"@3":"1"}'

# MySQL documentation: VECTOR is an array of little-endian float32
F=vector.binlog
well_formed $F 10
has $F 4 '"table":"foo","after":{"id":1,"vector_column":[1.1,2.2,3.3]}'
has $F 4 '"after":{"id":2,"vector_column":[1,-1,0]}'
has $F 10 '"op":"delete","db":"dtb","table":"bar","before":{"id":2,"vector_column":[1.01,-1.01],"foo":"bar","vector_column2":[42,43,44,45]}'

# binary JSON with opaque DATE/DATETIME values
F=json-opaque.binlog
well_formed $F 3
has $F 3 '"after":{"a":{"b": "2012-03-18"}}'
has $F 3 '"after":{"a":{"c": "2012-03-18 11:30:45.000000"}}'

# PARTIAL_UPDATE_ROWS with JSON diffs over a minimal before image (binlog_row_value_options=
# PARTIAL_JSON): the new document is not in the binlog, so the change is journaled with that
# column's value unknown (for appliers to invalidate) and ingest goes on to the end
F=json.binlog.000001
well_formed $F 8
has $F 8 '{"op":"update","db":"mysql","table":"t","before":{"@1":1},"after":{"@3":"Joe","@4":26},"unknown":["@2"]}'
has $F 4 '"after":{"@1":2,"@2":{"age": 32, "data": "yyyyyyyyyy", "name": "Sue"},"@3":"Sue","@4":32}'
has $F 7 '"before":{"@1":3,"@2":{"age": 40, "data": "zzzzzzzzzz", "name": "Pete"},"@3":"Pete","@4":40},"after":{"@1":3,"@2":{"age": 41, "data": "zzzzzzzzzz", "name": "Pete"},"@3":"Pete","@4":41}'

# ---- GTIDs of every kind, compressed transactions -------------------------------------------
F=binlog_transaction_with_GTID.000001
well_formed $F 3
has $F 1 '"gtid":"006c2cf2-b1ea-11e4-9057-8c705a3d3e78:1"'

F=binlog_transaction_with_GTID_TAG.000001
well_formed $F 1
has $F 1 '"gtid":"55778904-0299-11f1-b1b8-4ef0c4956feb:mytag:3"'
has $F 1 '"table":"orders","after":{"@1":3,"@2":100,"@3":"250.00"}'

F=binlog_transaction_with_anonymous_GTID.000001
well_formed $F 2
has $F 1 '"gtid":null'

F=transaction_compression.000001
well_formed $F 1
has $F 1 '"pos":431,"changes":[{"op":"insert","db":"test","table":"tb1","after":{"@1":1}}]'

F=binlog_transaction_previous_GTID_no_tag.000001
well_formed $F 0

F=bug27213339-bin.000001
well_formed $F 46

# ---- older servers: rows v1/v2, statements, savepoints, relay logs -----------------------------
F=update-full-row.binlog
well_formed $F 1
has $F 1 '{"op":"update","db":"test","table":"ba","before":{"@1":4,"@2":4,"@3":4},"after":{"@1":4,"@2":4,"@3":40}}'
has $F 1 '{"op":"delete","db":"test","table":"ba","before":{"@1":2}}'

F=update-partial-row.binlog
well_formed $F 1
has $F 1 '{"op":"update","db":"test","table":"ba","before":{"@1":4,"@3":4},"after":{"@1":4,"@3":40}}'
F=write-full-row.binlog
well_formed $F 1
has $F 1 '"table":"ndb_apply_status","after":{"@1":2,"@2":25769803786,"@3":"","@4":0,"@5":0}'
F=write-partial-row.binlog
well_formed $F 1
has $F 1 '{"op":"insert","db":"test","table":"ba","after":{"@1":4,"@3":40}}'

F=ver_trunk_row_v2.001
well_formed $F 12
has $F 4 '"changes":[{"op":"insert","db":"test","table":"t1","after":{"@1":0,"@2":"one"}},{"op":"insert","db":"test","table":"t1","after":{"@1":1,"@2":"two"}}]'
has $F 5 '"before":{"@1":1,"@2":"two"},"after":{"@1":2,"@2":"two"}'
has $F 6 '"op":"delete","db":"test","table":"t1","before":{"@1":2,"@2":"two"}'
has $F 12 '"statement":true'

F=ver_5_1_23.001
well_formed $F 11
has $F 5 '"changes":[{"op":"update","db":"test","table":"t1","before":{"@1":0,"@2":"one"},"after":{"@1":1,"@2":"one"}}'
# 5.2 development build: TABLE_MAP, rows events, XID and LOAD DATA events numbered differently
F=ver_5_1-wl2325_s.001
well_formed $F 5
has $F 1 '"pos":438,"statement":true,"changes":[{"op":"statement","db":"test","sql":"INSERT INTO t2 VALUES (3, '"'"'first stm in trx'"'"')"},{"op":"statement"'
has $F 5 '"sql":"LOAD DATA INFILE '"'"'big_file.dat'"'"' INTO TABLE t3"'

F=binlog_savepoint.000001
well_formed $F 1
has $F 1 '"statement":true'
has $F 1 '"sql":"INSERT INTO db1.t1 VALUES(50)"'

F=binlog_transaction.000001
well_formed $F 8
has $F 3 '"statement":true,"changes":[{"op":"statement","db":"test","sql":"insert into t1 (a) values (1)"},{"op":"statement","db":"mysql","sql":"insert into t2 (a)'
F=bug16266.000001
well_formed $F 4
has $F 3 '"op":"ddl","db":"test","sql":"CREATE TRIGGER trg1 AFTER INSERT ON t1 FOR EACH ROW INSERT INTO t2 VALUES(CURRENT_USER())"'
F=bug33029-slave-relay-bin.000001
well_formed $F 28
has $F 1 '"file":"bug33029-slave-relay-bin.000001","pos":326,"changes":[{"op":"ddl","db":"test","sql":"DROP TABLE IF EXISTS t1, t2"}]'
F=rpl_atomic_ddl_rollback_table.000001
well_formed $F 2
has $F 2 '"gtid":"aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa:1"'
F=binlog_56_gtid_reserved_word.000001
well_formed $F 6
has $F 4 '"gtid":"11111111-1111-1111-1111-111111111111:4"'
has $F 4 '"table":"GENERATED","after":{"@1":65}'
F=bug32407.001
well_formed $F 2
has $F 2 '{"op":"insert","db":"test","table":"t1","after":{"@1":1}}'

for F in bug11747887-bin.000003 bug40482-bin.000001 master-bin.000001 \
         rpl_atomic_ddl_rollback_full.000001 rpl_atomic_ddl_rollback_view.000001 \
         rpl_cross_version_default_utf8mb4_collation.000001 slave-relay-bin.000001; do
  ingest $F
  t_eq "$F: exit status" 0 "$RC"
  n=$(count "$J")
  "$RELAY" --journal "$J" --binlog-file "$FIX/$F" >/dev/null 2>&1
  t_eq "$F: re-ingest appends nothing" "$n" "$(count "$J")"
done

# ---- broken files ------------------------------------------------------------------------------
broken binlog_truncated_event.000001 4 0
broken binlog_truncated_prev_gtid_event.000001 120 0
broken corrupt-relay-bin.000624 91204 228
broken ver_5_1-wl2325_r.001 428 3

# every file in the directory was covered above
for f in "$FIX"/*; do
  b=$(basename "$f")
  [ "$b" = README.md ] && continue
  [ -d "$H_DIR/j-$b" ] || t_fail "$b: covered" "not ingested by this test"
done

t_done
