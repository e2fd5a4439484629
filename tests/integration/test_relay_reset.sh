#!/usr/bin/env bash
# test_relay_reset.sh — a source whose binlog goes back while the relay streams (RESET MASTER)
# never leaves the relay silently stuck: within a deadline it stops with exit 1 and a message
# naming the journal's position, and what it journaled before stays exactly the server's.
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_sql "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY)" || h_die "schema"
J=$H_DIR/journal; mkdir -p "$J"
{ h_source_config; printf 'start = earliest\nheartbeat = 1\n[journal]\npath = %s\n' "$J"; } > "$H_DIR/relay.ini"
"$FL_BUILD/fl-relay" -c "$H_DIR/relay.ini" 2>"$H_DIR/relay.log" & RELAY=$!; h_register $RELAY
for i in $(seq 1 20); do h_sql "INSERT INTO app.t VALUES ($i)"; done
before=$(h_sql "SELECT @@global.gtid_binlog_pos")
last_gtid() { "$FL_BUILD/fl-dump" --stats "$J" 2>/dev/null | grep -o '"last_gtid":"[^"]*"' | cut -d'"' -f4; }
t_check "the relay journals the first transactions" h_wait_until 30 bash -c "[ \"\$(\"$FL_BUILD/fl-dump\" --stats '$J' 2>/dev/null | grep -o '\"last_gtid\":\"[^\"]*\"' | cut -d'\"' -f4)\" = '$before' ]"

h_sql "RESET MASTER"
for i in $(seq 21 25); do h_sql "INSERT INTO app.t VALUES ($i)"; done
gone() { ! kill -0 "$RELAY" 2>/dev/null; }
t_check "the relay does not stay silently stuck on the old binlog" h_wait_until 60 gone
kill -TERM "$RELAY" 2>/dev/null # still there: the check above failed; end it
wait "$RELAY"; rc=$?
t_eq "it exits 1" 1 "$rc"
t_check "it says the source went back" grep -q "the source's binlog went back" "$H_DIR/relay.log"
t_check "its last error names the journal's position" \
  grep -q "ERROR .*after GTIDs $before" "$H_DIR/relay.log"
t_eq "the journal keeps exactly what it had" "$before" "$(last_gtid)"
t_done
