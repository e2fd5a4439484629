#!/usr/bin/env bash
# bench/scale.sh BUILD — how the cost grows with the work: relay and apply throughput with 1,
# 10 and 100 rows per transaction, each with rows of 100 B, 1 KB and 64 KB (nine cells; each
# cell its own table and binlog files in one private MariaDB, Redis as the target). Per cell,
# best of R rounds:
#   relay: fl-relay -c (journal sync = group) catching up from the cell's first binlog until
#          its journal holds every transaction, next to `mariadb-binlog --read-from-remote-server
#          --raw` pulling the same files (the pull limit) — the share of it;
#   apply: fl-apply --once of that journal into an empty Redis.
# Prints transactions/s, rows/s and MB/s of row payload per cell, and one JSON line per cell.
# Environment: BENCH_SCALE_ROWS ("100:100000 1024:30000 65536:1000": row bytes:rows per cell)
#   BENCH_SCALE_PER_TXN ("1 10 100") BENCH_SCALE_ROUNDS (2)
set -u
build=$(cd "${1:-build}" && pwd)
sizes=${BENCH_SCALE_ROWS:-100:100000 1024:30000 65536:1000}
per_txn=${BENCH_SCALE_PER_TXN:-1 10 100}
rounds=${BENCH_SCALE_ROUNDS:-2}
export FL_BUILD=$build
source "$(dirname "$0")/../tests/harness.sh"
source "$(dirname "$0")/common.sh"

for b in fl-relay fl-apply fl-dump; do [ -x "$build/$b" ] || die "build $build/$b first"; done
h_start_mariadb --max-allowed-packet=64M
h_start_redis --maxmemory 0
h_sql "CREATE DATABASE s; SET GLOBAL max_allowed_packet = 64 * 1024 * 1024;" || die "setting up the database failed"
cat > "$H_DIR/proc.sql" <<'SQL'
DELIMITER //
CREATE PROCEDURE s.fill(tbl VARCHAR(64), ntxn INT, k INT, bytes INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  SET @q = CONCAT('INSERT INTO s.', tbl, ' SELECT ? * ? + seq, REPEAT(''x'', ?) FROM seq_0_to_99 WHERE seq < ?');
  PREPARE st FROM @q;
  SET @k = k, @b = bytes;
  WHILE i < ntxn DO SET @i = i; EXECUTE st USING @i, @k, @b, @k; SET i = i + 1; END WHILE;
  DEALLOCATE PREPARE st;
END //
DELIMITER ;
SQL
h_sql_file "$H_DIR/proc.sql" || die "creating the fill procedure failed"

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
min() { awk -v a="$1" -v b="${2:-1e99}" 'BEGIN { print (a < b) ? a : b }'; }
per_s() { awk -v n="$1" -v t="$2" 'BEGIN { v = n / t; printf (v < 100 ? "%.1f" : "%d"), v }'; }

# fill every cell first: its table, its own binlog files
declare -A first_file txns rows bytes
for sz in $sizes; do
  b=${sz%%:*}; r=${sz#*:}
  for k in $per_txn; do
    c="${b}_$k"; n=$(( r / k ))
    h_sql "CREATE TABLE s.t$c (id INT PRIMARY KEY, v MEDIUMTEXT); FLUSH BINARY LOGS;" || die "table t$c"
    first_file[$c]=$(current_binlog)
    h_sql "SET autocommit = 1; SET SESSION max_statement_time = 0; CALL s.fill('t$c', $n, $k, $b); FLUSH BINARY LOGS;" \
      || die "filling t$c failed"
    txns[$c]=$n; rows[$c]=$(( n * k )); bytes[$c]=$(( n * k * b ))
  done
done
echo "cells filled: $(for sz in $sizes; do echo -n "${sz#*:} rows of ${sz%%:*} B, "; done)at $per_txn rows per transaction"

journaled() {  # journaled CELL: the cell's journal holds its transactions
  local n
  n=$("$build/fl-dump" --stats "$H_DIR/j$1" 2>/dev/null | sed -n 's/.*"count":\([0-9]*\).*/\1/p')
  [ -n "$n" ] && [ "$n" -ge "${txns[$1]}" ]
}
relay_once() {  # relay_once CELL: prints "SECONDS"
  local c=$1 t0 t1 pid
  rm -rf "$H_DIR/j$c"
  { h_source_config; printf 'start = file:%s:4\ninclude = s.t%s\n[journal]\npath = %s\nsync = group\n' "${first_file[$c]}" "$c" "$H_DIR/j$c"; } > "$H_DIR/relay.ini"
  t0=$(now)
  "$build/fl-relay" -c "$H_DIR/relay.ini" >"$H_DIR/relay.log" 2>&1 &
  pid=$!
  h_wait_until 600 journaled "$c" \
    || { kill "$pid"; die "the relay did not catch up on cell $c: $(tail -3 "$H_DIR/relay.log")"; }
  t1=$(now)
  kill -TERM "$pid"; wait "$pid"
  secs "$t0" "$t1"
}
pull_once() {  # pull_once CELL: the cell's binlog file (it holds the cell alone) with mariadb-binlog --raw
  local c=$1 t0 t1
  rm -rf "$H_DIR/raw"; mkdir -p "$H_DIR/raw"
  t0=$(now)
  mariadb-binlog --no-defaults --read-from-remote-server -h127.0.0.1 -P"$MARIADB_PORT" -uroot --raw \
    --result-file="$H_DIR/raw/" "${first_file[$c]}" 2>"$H_DIR/mb.err" \
    || die "mariadb-binlog --raw failed: $(tail -2 "$H_DIR/mb.err")"
  t1=$(now)
  secs "$t0" "$t1"
}
apply_once() {  # apply_once CELL
  local c=$1 t0 t1
  h_redis FLUSHALL >/dev/null
  printf '[apply]\nname = s%s\njournal = %s\ntarget = redis://127.0.0.1:%s/0\n[rule r]\ntable = s.t%s\nkey = s:{id}\nformat = json\n' \
    "$c" "$H_DIR/j$c" "$REDIS_PORT" "$c" > "$H_DIR/apply.ini"
  t0=$(now)
  "$build/fl-apply" -c "$H_DIR/apply.ini" --once >"$H_DIR/apply.log" 2>&1 || die "fl-apply on cell $c failed: $(tail -3 "$H_DIR/apply.log")"
  t1=$(now)
  [ "$(h_redis DBSIZE)" -ge "${rows[$c]}" ] || die "cell $c: only $(h_redis DBSIZE) keys after the catch-up"
  secs "$t0" "$t1"
}

printf '%-22s %-44s %-34s\n' "cell" "relay (share of the pull limit)" "apply"
for sz in $sizes; do
  b=${sz%%:*}
  for k in $per_txn; do
    c="${b}_$k"; br=; bp=; ba=
    for r in $(seq 1 "$rounds"); do
      bp=$(min "$(pull_once "$c")" "$bp")
      br=$(min "$(relay_once "$c")" "$br")
      ba=$(min "$(apply_once "$c")" "$ba")
    done
    mb=$(awk -v b="${bytes[$c]}" 'BEGIN { print b / 1048576 }')
    share=$(awk -v a="$bp" -v b="$br" 'BEGIN { printf "%.2f", a / b }')
    printf '%-22s %-44s %-34s\n' "$k x ${b} B rows/txn" \
      "$(per_s "${txns[$c]}" "$br") txn/s $(per_s "${rows[$c]}" "$br") rows/s $(per_s "$mb" "$br") MB/s ($share)" \
      "$(per_s "${txns[$c]}" "$ba") txn/s $(per_s "${rows[$c]}" "$ba") rows/s $(per_s "$mb" "$ba") MB/s"
    printf '{"bench":"scale","row_bytes":%s,"rows_per_txn":%s,"transactions":%s,"rows":%s,"payload_bytes":%s,"pull_limit_s":%s,"relay_s":%s,"relay_share_of_pull_limit":%s,"relay_rows_s":%s,"apply_s":%s,"apply_rows_s":%s}\n' \
      "$b" "$k" "${txns[$c]}" "${rows[$c]}" "${bytes[$c]}" "$bp" "$br" "$share" "$(per_s "${rows[$c]}" "$br")" "$ba" "$(per_s "${rows[$c]}" "$ba")"
  done
done
