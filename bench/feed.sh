#!/usr/bin/env bash
# bench/feed.sh BUILD — remote catch-up through fl-relay's feed against local catch-up from
# the journal, same machine, same run: a journal of N single-row transactions (written by a
# private MariaDB and ingested from its binlog) is applied into an empty Redis by
# `fl-apply --once`, once reading the journal directly and once streaming it over loopback
# TCP from the relay's feed. Prints the two rates, their ratio (goal: remote >= 80% of
# local), and one JSON line.
set -u
build=$(cd "${1:-build}" && pwd)
n=${BENCH_FEED_TXNS:-100000}
export FL_BUILD=$build
source "$(dirname "$0")/../tests/harness.sh"

h_start_mariadb
h_start_redis --maxmemory 0
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
h_sql_file "$H_DIR/fill.sql" || { echo "bench feed: filling the database failed" >&2; exit 1; }
"$FL_BUILD/fl-relay" --journal "$H_DIR/journal" --binlog-file "$MARIADB_DIR"/data/bin.[0-9]* >/dev/null 2>&1 \
  || { echo "bench feed: ingest failed" >&2; exit 1; }
txns=$("$FL_BUILD/fl-dump" --stats "$H_DIR/journal" | sed -n 's/.*"count":\([0-9]*\).*/\1/p')

h_start_feed_relay

rule=$'[rule t]\ntable = b.t\nkey = t:{id}\nformat = json\n'
printf '[apply]\nname = local\njournal = %s\ntarget = redis://127.0.0.1:%s/0\n%s' "$H_DIR/journal" "$REDIS_PORT" "$rule" > "$H_DIR/local.ini"
printf '[apply]\nname = remote\nrelay = 127.0.0.1:%s\nsecret_file = %s\ntarget = redis://127.0.0.1:%s/0\n%s' \
  "$FEED_PORT" "$H_DIR/feed.secret" "$REDIS_PORT" "$rule" > "$H_DIR/remote.ini"

# Runs one catch-up into an empty Redis; prints seconds.
catch_up() {
  h_redis FLUSHALL >/dev/null
  local t0 t1
  t0=$(date +%s%N)
  "$FL_BUILD/fl-apply" -c "$1" --once >"$H_DIR/apply.log" 2>&1 || { echo "bench feed: fl-apply failed: $(tail -3 "$H_DIR/apply.log")" >&2; exit 1; }
  t1=$(date +%s%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
}
rounds=${BENCH_FEED_ROUNDS:-3}
best_local=; best_remote=
for r in $(seq 1 "$rounds"); do  # alternate, keep the best of each (least disturbed by noise)
  l=$(catch_up "$H_DIR/local.ini"); m=$(catch_up "$H_DIR/remote.ini")
  best_local=$(awk -v a="$l" -v b="${best_local:-1e99}" 'BEGIN { print (a < b) ? a : b }')
  best_remote=$(awk -v a="$m" -v b="${best_remote:-1e99}" 'BEGIN { print (a < b) ? a : b }')
done
keys=$(h_redis DBSIZE)
local_rate=$(awk -v n="$txns" -v t="$best_local" 'BEGIN { printf "%d", n / t }')
remote_rate=$(awk -v n="$txns" -v t="$best_remote" 'BEGIN { printf "%d", n / t }')
ratio=$(awk -v a="$remote_rate" -v b="$local_rate" 'BEGIN { printf "%.3f", a / b }')
echo "feed catch-up of $txns transactions into Redis ($keys keys), best of $rounds:"
echo "  local journal:        $local_rate txn/s (${best_local}s)"
echo "  remote over the feed: $remote_rate txn/s (${best_remote}s)"
echo "  remote / local:       $ratio (goal >= 0.80)"
printf '{"bench":"feed_catch_up","transactions":%s,"local_txn_s":%s,"remote_txn_s":%s,"ratio":%s}\n' \
  "$txns" "$local_rate" "$remote_rate" "$ratio"
