#!/usr/bin/env bash
# test_memcheck.sh — the three programs under valgrind memcheck, on real work: fl-relay
# ingesting binlog fixtures (MySQL with JSON, compression and tagged GTIDs; MariaDB), fl-dump
# in each mode, fl-apply --once into Redis and --status, and the error paths (bad config,
# missing journal). Any invalid access, use of uninitialised memory or definite leak fails.
source "$(dirname "$0")/../harness.sh"

command -v valgrind >/dev/null || { t_fail "valgrind installed"; t_done; exit 1; }
FIX=${FL_FIXTURES:-$H_ROOT/tests/fixtures/mysql-binlogs}
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --track-origins=yes)

# vg NAME EXPECTED_STATUS PROGRAM ARGS...: runs under memcheck; passes when the program exits
# with EXPECTED_STATUS and memcheck reports nothing.
vg() {
  local name=$1 want=$2; shift 2
  "${VG[@]}" --log-file="$H_DIR/vg-%p.log" "$@" >"$H_DIR/out.txt" 2>"$H_DIR/err.txt"
  local rc=$? reports
  reports=$(cat "$H_DIR"/vg-*.log 2>/dev/null); rm -f "$H_DIR"/vg-*.log
  if [ "$rc" -eq "$want" ] && [ -z "$reports" ]; then t_ok "$name"; else
    t_fail "$name" "exit $rc (wanted $want); memcheck: $(head -c 1500 <<<"$reports") stderr: $(tail -3 "$H_DIR/err.txt")"
  fi
}

for f in json-opaque.binlog transaction_compression.000001 binlog_transaction_with_GTID_TAG.000001 mariadb-bin.000001 vector.binlog; do
  vg "fl-relay ingests $f" 0 "$FL_BUILD/fl-relay" --journal "$H_DIR/j-$f" --binlog-file "$FIX/$f"
done
vg "fl-relay journals a JSON diff it cannot apply as an unknown value" 0 "$FL_BUILD/fl-relay" --journal "$H_DIR/j-json" --binlog-file "$FIX/json.binlog.000001"
vg "fl-relay rejects a truncated file" 1 "$FL_BUILD/fl-relay" --journal "$H_DIR/j-bad" --binlog-file "$FIX/binlog_truncated_event.000001"
vg "fl-dump human" 0 "$FL_BUILD/fl-dump" "$H_DIR/j-json-opaque.binlog"
vg "fl-dump --json" 0 "$FL_BUILD/fl-dump" --json "$H_DIR/j-mariadb-bin.000001"
vg "fl-dump --stats" 0 "$FL_BUILD/fl-dump" --stats "$H_DIR/j-vector.binlog"
vg "fl-dump unknown GTID" 1 "$FL_BUILD/fl-dump" --gtid 0-1-999999 "$H_DIR/j-mariadb-bin.000001"
vg "fl-dump missing journal" 1 "$FL_BUILD/fl-dump" "$H_DIR/nothing-here"

h_start_redis
cat > "$H_DIR/apply.ini" <<CFG
[apply]
name = vg
journal = $H_DIR/j-mariadb-bin.000001
target = redis://127.0.0.1:$REDIS_PORT/0
[rule t]
table = *.*
key = row:{@1}
format = json
CFG
table=$("$FL_BUILD/fl-dump" --json "$H_DIR/j-mariadb-bin.000001" | sed -n 's/.*"op":"insert","db":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | head -1)
sed -i "s/^table = \*\.\*/table = ${table:-test.t}/" "$H_DIR/apply.ini"
vg "fl-apply --once into Redis" 0 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --once
t_check "fl-apply wrote its checkpoint" test -n "$(h_redis HGET fastlane:checkpoint:vg seq)"
vg "fl-apply --status" 0 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --status
printf '[apply]\ntarget = redis://127.0.0.1:1/0\nbogus = 1\n' > "$H_DIR/bad.ini"
vg "fl-apply with a config mistake" 2 "$FL_BUILD/fl-apply" -c "$H_DIR/bad.ini"
vg "fl-relay with a config mistake" 2 "$FL_BUILD/fl-relay" -c "$H_DIR/bad.ini"

# ---- the live relay with its feed, and fl-dump reading the feed ----------------------------
h_start_mariadb
FEED_PORT=$(h_free_port)
echo 'vg-secret-0123456789' > "$H_DIR/secret"; chmod 600 "$H_DIR/secret"
{ h_source_config; printf 'start = current\nheartbeat = 1s\n[journal]\npath = %s\n[feed]\nlisten = 127.0.0.1:%s\nsecret_file = %s\n' \
    "$H_DIR/live" "$FEED_PORT" "$H_DIR/secret"; } > "$H_DIR/relay.ini"
"${VG[@]}" --log-file="$H_DIR/vgrelay-%p.log" "$FL_BUILD/fl-relay" -c "$H_DIR/relay.ini" >"$H_DIR/relay.log" 2>&1 &
RELAY=$!; h_register $RELAY
t_check "relay under memcheck starts serving" h_wait_until 120 grep -q "feed: serving journal" "$H_DIR/relay.log"
t_check "relay under memcheck connects" h_wait_until 120 grep -q "replicating from" "$H_DIR/relay.log"
h_sql "CREATE DATABASE v; CREATE TABLE v.t (id INT PRIMARY KEY, j JSON, d DATETIME(6), b BLOB);"
for i in 1 2 3 4 5; do h_sql "INSERT INTO v.t VALUES ($i, '{\"a\": $i}', NOW(6), REPEAT('x', 3000));"; done
h_sql "UPDATE v.t SET b = NULL WHERE id < 3; DELETE FROM v.t WHERE id = 5;"
journaled() { "$FL_BUILD/fl-dump" --stats "$H_DIR/live" | grep -q '"count":9,'; }  # 2 DDL, 5 inserts, update, delete
t_check "relay under memcheck journals the workload" h_wait_until 120 journaled
vg "fl-dump --relay" 0 "$FL_BUILD/fl-dump" --json --relay "127.0.0.1:$FEED_PORT" --secret-file "$H_DIR/secret"
t_eq "fl-dump --relay under memcheck printed every transaction" 9 "$(wc -l < "$H_DIR/out.txt")"
kill -TERM "$RELAY"; wait "$RELAY"; rc=$?
t_eq "relay under memcheck exits 0 on SIGTERM" 0 "$rc"
sleep 1
reports=$(cat "$H_DIR"/vgrelay-*.log 2>/dev/null)
t_eq "relay and its feed process: memcheck reports nothing" "" "$(head -c 3000 <<<"$reports")"
t_done
