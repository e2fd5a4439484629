#!/usr/bin/env bash
# test_replay_monotonic.sh — replaying the whole journal (--from-gtid of its first
# transaction) over a populated cache, on memcached (three servers) and on Redis, while a
# reader samples a counter column under every key: no counter is ever seen lower than
# before, no deleted key reappears, no key goes missing, and the cache still equals the
# database afterwards. The same for a replay from the middle (--from-seq). On Redis a truncated
# table's keys (deleted by pattern) never reappear either.
source "$(dirname "$0")/../harness.sh"
READER=$(dirname "$0")/monotonic_reader.py

h_start_mariadb
h_start_redis
PORTS=()
for i in 1 2 3; do h_start_memcached; PORTS+=("$MEMCACHED_PORT"); done
MC_PORTS=$(IFS=,; echo "${PORTS[*]}")
J=$H_DIR/journal
mkdir -p "$J"

ROWS=60
h_sql "CREATE DATABASE app; CREATE TABLE app.c (id INT PRIMARY KEY, n BIGINT NOT NULL);
DELIMITER //
CREATE PROCEDURE app.bump(cnt INT) BEGIN DECLARE i INT DEFAULT 0;
  WHILE i < cnt DO UPDATE app.c SET n = n + 1 WHERE id = 1 + i % $ROWS; SET i = i + 1; END WHILE; END //
DELIMITER ;" || h_die "schema"
for i in $(seq 1 $ROWS); do echo "INSERT INTO app.c VALUES ($i, 0);"; done > "$H_DIR/fill.sql"
h_sql_file "$H_DIR/fill.sql"
h_sql "CALL app.bump(20000); DELETE FROM app.c WHERE id > 50;
CREATE TABLE app.t (id INT PRIMARY KEY, n BIGINT NOT NULL);
USE app; INSERT INTO app.t SELECT seq, 0 FROM seq_1_to_10; UPDATE app.t SET n = n + 1; UPDATE app.t SET n = n + 1;
TRUNCATE app.t; FLUSH BINARY LOGS" || h_die "history"
"$FL_BUILD/fl-relay" --journal "$J" --binlog-file "$MARIADB_DIR"/data/bin.[0-9]* >"$H_DIR/ingest.log" 2>&1 \
  || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
FIRST_GTID=$("$FL_BUILD/fl-dump" --stats "$J" | grep -o '"first_gtid":"[^"]*"' | cut -d'"' -f4)
[ -n "$FIRST_GTID" ] || FIRST_GTID=$("$FL_BUILD/fl-dump" "$J" --limit 1 | awk '/^seq / { print $4 }')
seq 1 50 | sed 's/^/c:/' > "$H_DIR/keys"
seq 51 60 | sed 's/^/c:/' > "$H_DIR/deleted"
seq 1 10 | sed 's/^/t:/' >> "$H_DIR/deleted"

config() { # NAME TARGET [extra [apply] lines]
  cat <<CFG
$(h_source_config)
[apply]
name = $1
journal = $J
target = $2
${3:-}
[rule c]
table = app.c
key = c:{id}
format = column:n
CFG
}
config mc "memcached://$(sed 's/,/,127.0.0.1:/g; s/^/127.0.0.1:/' <<<"$MC_PORTS")" "checkpoint_path = $H_DIR/mc.checkpoint" > "$H_DIR/mc.ini"
config redis "redis://127.0.0.1:$REDIS_PORT/0" > "$H_DIR/redis.ini"
printf '[rule t]\ntable = app.t\nkey = t:{id}\nformat = column:n\n' >> "$H_DIR/redis.ini" # memcached cannot list keys

# replay NAME INI KIND PORTS ARGS...: a reader samples while fl-apply -c INI ARGS --once runs
replay() {
  local name=$1 ini=$2 kind=$3 ports=$4; shift 4
  rm -f "$H_DIR/stop" "$H_DIR/ready"
  python3 "$READER" "$kind" "$ports" "$H_DIR/keys" "$H_DIR/deleted" "$ports" "$H_DIR/stop" "$H_DIR/ready" \
    > "$H_DIR/reader-$name.out" 2>&1 &
  local reader=$!
  h_register $reader
  h_wait_until 20 test -e "$H_DIR/ready" || t_fail "$name: the reader saw every key" "$(cat "$H_DIR/reader-$name.out")"
  sleep 0.3
  timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/$ini.ini" --once "$@" > "$H_DIR/replay-$name.log" 2>&1
  t_eq "$name: the replay exits 0" 0 $?
  sleep 0.3
  touch "$H_DIR/stop"; wait "$reader"
  sed "s/^/# $name reader: /" "$H_DIR/reader-$name.out"
  t_check "$name: the reader sampled during the replay" grep -qv "samples=[0-9] " "$H_DIR/reader-$name.out"
  t_check "$name: no counter ever went down" grep -q " decreased=0 " "$H_DIR/reader-$name.out"
  t_check "$name: no deleted key reappeared" grep -q " reappeared=0 " "$H_DIR/reader-$name.out"
  t_check "$name: no key went missing" grep -q " vanished=0" "$H_DIR/reader-$name.out"
  t_check "$name: the replay was folded" grep -q "folded" "$H_DIR/replay-$name.log"
  out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/$ini.ini" --verify 2>&1)
  t_eq "$name: the cache equals the database afterwards" 0 $?
}

for kind in mc redis; do
  timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/$kind.ini" --once > "$H_DIR/fill-$kind.log" 2>&1
  t_eq "$kind: first apply exits 0" 0 $?
done
replay "memcached whole journal" mc memcached "$MC_PORTS" --from-gtid "$FIRST_GTID"
replay "memcached from the middle" mc memcached "$MC_PORTS" --from-seq 10000
replay "redis whole journal" redis redis "$REDIS_PORT" --from-gtid "$FIRST_GTID"
replay "redis from the middle" redis redis "$REDIS_PORT" --from-seq 10000

t_done
