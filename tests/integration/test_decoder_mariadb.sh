#!/usr/bin/env bash
# test_decoder_mariadb.sh — binlog files written by a private MariaDB with compressed events
# (log_bin_compress), read with `fl-relay --journal DIR --binlog-file`: compressed QUERY and
# rows events, XA PREPARE/COMMIT, CREATE TABLE ... SELECT, a rollback that keeps its MyISAM
# change, statement-based DML, table filters; the journal's GTID position equals the server's.
source "$(dirname "$0")/../harness.sh"

RELAY=$FL_BUILD/fl-relay
DUMP=$FL_BUILD/fl-dump
[ -x "$RELAY" ] && [ -x "$DUMP" ] || h_die "build fl-relay and fl-dump first (FL_BUILD=$FL_BUILD)"

h_start_mariadb --log-bin-compress=ON --log-bin-compress-min-len=10

h_sql "CREATE DATABASE app; CREATE DATABASE skip;
       CREATE TABLE app.t (id INT PRIMARY KEY, s VARCHAR(200), b BLOB) ENGINE=InnoDB;
       CREATE TABLE app.m (id INT PRIMARY KEY, v INT) ENGINE=MyISAM;
       CREATE TABLE skip.x (id INT PRIMARY KEY) ENGINE=InnoDB"
h_sql "INSERT INTO app.t VALUES (1, REPEAT('x', 100), REPEAT('y', 300)), (2, 'short', NULL)"
h_sql "UPDATE app.t SET s = REPEAT('z', 150) WHERE id = 1"
h_sql "BEGIN; INSERT INTO app.t VALUES (3, 'rolled back', NULL); INSERT INTO app.m VALUES (9, 9); ROLLBACK"
h_sql "XA START 'x1'; INSERT INTO app.t VALUES (4, 'xa', NULL); XA END 'x1'; XA PREPARE 'x1'; XA COMMIT 'x1'"
h_sql "SET SESSION binlog_format=STATEMENT; INSERT INTO app.t VALUES (5, 'stmt', NULL)"
h_sql "CREATE TABLE app.c AS SELECT id, s FROM app.t WHERE id <= 2"
h_sql "INSERT INTO skip.x VALUES (1), (2)"
h_sql "DELETE FROM app.t WHERE id = 2"
POS=$(h_sql "SELECT @@global.gtid_binlog_pos")
h_sql "FLUSH BINARY LOGS"
BIN=$MARIADB_DIR/data/$(h_sql "SHOW BINARY LOGS" | tail -2 | head -1 | cut -f1)  # the one FLUSH closed

mariadb-binlog "$BIN" 2>/dev/null | grep -q "Write_compressed_rows" && t_ok "the binlog has compressed rows events" \
  || t_fail "the binlog has compressed rows events"

J=$H_DIR/journal
"$RELAY" --journal "$J" --binlog-file "$BIN" >"$H_DIR/out" 2>&1
t_eq "ingest exit status" 0 "$?"
JSON=$("$DUMP" --json "$J")
line() { grep -F "\"gtid\":\"$1\"" <<<"$JSON"; }
has() {
  if line "$1" | grep -qF -- "$2"; then t_ok "$1 has $2"; else
    t_fail "$1 has $2" "got: $(line "$1" | head -c 1500)"; fi
}

# GTIDs 0-1-1 .. 0-1-5: the databases and tables
has 0-1-6 "\"after\":{\"id\":1,\"s\":\"$(printf 'x%.0s' $(seq 100))\",\"b\":\"eXl5"
has 0-1-6 '"after":{"id":2,"s":"short","b":null}'
has 0-1-7 "\"before\":{\"id\":1,\"s\":\"$(printf 'x%.0s' $(seq 100))\""
has 0-1-7 "\"after\":{\"id\":1,\"s\":\"$(printf 'z%.0s' $(seq 150))\""
# the rolled-back InnoDB row never appears; the MyISAM row, which the rollback kept, does
has 0-1-8 '"changes":[{"op":"insert","db":"app","table":"m","query":"INSERT INTO app.m VALUES (9, 9)","after":{"id":9,"v":9}}]'
t_eq "the rolled-back row is not journaled" "" "$(grep -F '"rolled back"' <<<"$JSON")"
has 0-1-9 '"xa":true,"changes":[{"op":"insert","db":"app","table":"t","query":"INSERT INTO app.t VALUES (4, '"'"'xa'"'"', NULL)","after":{"id":4,"s":"xa","b":null}}]'
has 0-1-10 '"xa":true,"changes":[{"op":"statement","db":"","sql":"XA COMMIT'
has 0-1-11 '"statement":true,"changes":[{"op":"statement","db":"","sql":"INSERT INTO app.t VALUES (5, '"'"'stmt'"'"', NULL)"}]'
has 0-1-12 '{"op":"ddl","db":"","sql":"CREATE TABLE `app`.`c`'
has 0-1-12 '{"op":"insert","db":"app","table":"c","query":"CREATE TABLE app.c AS SELECT id, s FROM app.t WHERE id <= 2","after":{"id":1,"s":"'
has 0-1-12 '{"op":"insert","db":"app","table":"c","after":{"id":2,"s":"short"}}'
has 0-1-13 '"table":"x"'
has 0-1-14 '"changes":[{"op":"delete","db":"app","table":"t","query":"DELETE FROM app.t WHERE id = 2","before":{"id":2,"s":"short","b":null}}]'
grep -q "app.t: statement-based change" "$H_DIR/out" && t_ok "statement-based change warned about" \
  || t_fail "statement-based change warned about" "$(cat "$H_DIR/out")"

POS_J=$("$DUMP" --stats "$J" | sed -n 's/.*"last_gtid":"\([^"]*\)".*/\1/p')
t_eq "the last journaled GTID is the server's position" "$POS" "$POS_J"
COUNT=$("$DUMP" --stats "$J" | sed -n 's/.*"count":\([0-9]*\).*/\1/p')
t_eq "every GTID has its record" "${POS##*-}" "$COUNT"

# filters: skip.* excluded; its transaction stays as an empty record
cat >"$H_DIR/f.ini" <<CFG
[source]
user = root
server_id = 99
exclude = skip.*
[journal]
path = $H_DIR/journal-f
CFG
"$RELAY" -c "$H_DIR/f.ini" --journal "$H_DIR/journal-f" --binlog-file "$BIN" >"$H_DIR/out-f" 2>&1
t_eq "ingest with a filter: exit status" 0 "$?"
JSON=$("$DUMP" --json "$H_DIR/journal-f")
has 0-1-13 '"changes":[]'
has 0-1-14 '"op":"delete"'
t_eq "filtered: every GTID still has its record" "$COUNT" \
  "$("$DUMP" --stats "$H_DIR/journal-f" | sed -n 's/.*"count":\([0-9]*\).*/\1/p')"

# again: nothing appended
"$RELAY" --journal "$J" --binlog-file "$BIN" >/dev/null 2>&1
t_eq "re-ingest appends nothing" "$COUNT" "$("$DUMP" --stats "$J" | sed -n 's/.*"count":\([0-9]*\).*/\1/p')"

t_done
