#!/usr/bin/env bash
# bench/relay.sh BUILD — fl-relay against mariadb-binlog on the same binlog, same run: a
# private MariaDB writes N single-row transactions; then (a) the live relay catches up from
# the start over the replication protocol into a durable journal, next to
# `mariadb-binlog --read-from-remote-server -v` reading the same stream; and (b) file ingest
# (`fl-relay --binlog-file`) next to `mariadb-binlog -v` on the file. Best of N rounds each;
# prints seconds, transactions/s, the ratios, and one JSON line.
set -u
build=$(cd "${1:-build}" && pwd)
n=${BENCH_RELAY_TXNS:-100000}
rounds=${BENCH_RELAY_ROUNDS:-3}
export FL_BUILD=$build
source "$(dirname "$0")/../tests/harness.sh"

h_start_mariadb
cat > "$H_DIR/fill.sql" <<SQL
CREATE DATABASE b;
CREATE TABLE b.t (id INT PRIMARY KEY, v VARCHAR(32), n BIGINT);
DELIMITER //
CREATE PROCEDURE b.fill(cnt INT) BEGIN DECLARE i INT DEFAULT 0;
  WHILE i < cnt DO INSERT INTO b.t VALUES (i, CONCAT('value-', i), i * 7); SET i = i + 1; END WHILE; END //
DELIMITER ;
SET autocommit = 1;
CALL b.fill($n);
FLUSH BINARY LOGS;
SQL
h_sql_file "$H_DIR/fill.sql" || { echo "bench relay: filling the database failed" >&2; exit 1; }
FILES=("$MARIADB_DIR"/data/bin.[0-9]*)
first=$(basename "${FILES[0]}")
total=$(h_sql "SELECT @@global.gtid_binlog_pos" | awk -F- '{print $3}')  # every GTID of the server

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
min() { awk -v a="$1" -v b="${2:-1e99}" 'BEGIN { print (a < b) ? a : b }'; }

# (a) live: the relay from the first binlog until its journal holds every transaction
live_once() {
  rm -rf "$H_DIR/live"
  { h_source_config; printf 'start = earliest\n[journal]\npath = %s\n' "$H_DIR/live"; } > "$H_DIR/relay.ini"
  local t0 t1 pid
  t0=$(now)
  "$FL_BUILD/fl-relay" -c "$H_DIR/relay.ini" >"$H_DIR/relay.log" 2>&1 &
  pid=$!
  h_wait_until 300 bash -c "'$FL_BUILD/fl-dump' --stats '$H_DIR/live' 2>/dev/null | grep -q '\"count\":$total,'" \
    || { echo "bench relay: the relay did not catch up: $(tail -3 "$H_DIR/relay.log")" >&2; kill "$pid"; exit 1; }
  t1=$(now)
  kill -TERM "$pid"; wait "$pid"
  secs "$t0" "$t1"
}
remote_binlog_once() {
  local t0 t1
  t0=$(now)
  mariadb-binlog --no-defaults --read-from-remote-server -h127.0.0.1 -P"$MARIADB_PORT" -uroot -v \
    --to-last-log "$first" > /dev/null 2>"$H_DIR/mb.err" || { echo "bench relay: mariadb-binlog failed: $(tail -2 "$H_DIR/mb.err")" >&2; exit 1; }
  t1=$(now)
  secs "$t0" "$t1"
}
# (b) files
ingest_once() {
  rm -rf "$H_DIR/files"
  local t0 t1
  t0=$(now)
  "$FL_BUILD/fl-relay" --journal "$H_DIR/files" --binlog-file "${FILES[@]}" >/dev/null 2>&1 || { echo "bench relay: ingest failed" >&2; exit 1; }
  t1=$(now)
  secs "$t0" "$t1"
}
file_binlog_once() {
  local t0 t1
  t0=$(now)
  mariadb-binlog --no-defaults -v "${FILES[@]}" > /dev/null 2>&1
  t1=$(now)
  secs "$t0" "$t1"
}

best_live=; best_remote=; best_ingest=; best_file=
for r in $(seq 1 "$rounds"); do  # alternate; keep the best of each (least disturbed by noise)
  best_live=$(min "$(live_once)" "$best_live")
  best_remote=$(min "$(remote_binlog_once)" "$best_remote")
  best_ingest=$(min "$(ingest_once)" "$best_ingest")
  best_file=$(min "$(file_binlog_once)" "$best_file")
done
rate() { awk -v n="$total" -v t="$1" 'BEGIN { printf "%d", n / t }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "relay catch-up of $total transactions ($n single-row inserts), best of $rounds:"
echo "  live, replication protocol: fl-relay (journaled, fsync per batch) ${best_live}s ($(rate "$best_live") txn/s)"
echo "                              mariadb-binlog --read-from-remote-server -v ${best_remote}s ($(rate "$best_remote") txn/s)"
echo "                              speed-up $(ratio "$best_remote" "$best_live")x"
echo "  files:                      fl-relay --binlog-file ${best_ingest}s   mariadb-binlog -v ${best_file}s   speed-up $(ratio "$best_file" "$best_ingest")x"
printf '{"bench":"relay_catch_up","transactions":%s,"live_s":%s,"mariadb_binlog_remote_s":%s,"live_speedup":%s,"ingest_s":%s,"mariadb_binlog_file_s":%s,"ingest_speedup":%s}\n' \
  "$total" "$best_live" "$best_remote" "$(ratio "$best_remote" "$best_live")" "$best_ingest" "$best_file" "$(ratio "$best_file" "$best_ingest")"
