#!/usr/bin/env bash
# test_redis_replay_interrupted.sh — a replay below the checkpoint that stops half way (here:
# a row its rules refuse with on_error = stop) leaves the Redis checkpoint below the latest
# transaction the cache shows. The next start must fold the rest of the replay too: a reader
# sampling a counter the workload only increments never sees it decrease, and the end state
# equals the database with the checkpoint at the journal's last seq.
source "$(dirname "$0")/../harness.sh"
READER=$(dirname "$0")/monotonic_reader.py

h_start_mariadb
h_start_redis
J=$H_DIR/journal
mkdir -p "$J"
ingest() { h_ingest "$J"; }
last_seq() { h_last_seq "$J"; }
checkpoint() { h_redis HGET fastlane:checkpoint:r seq; }

h_sql "CREATE DATABASE app; CREATE TABLE app.counter (id INT PRIMARY KEY, n INT NOT NULL);
CREATE TABLE app.tags (id INT PRIMARY KEY, code VARCHAR(8)); INSERT INTO app.counter VALUES (1, 0);" || h_die "schema"
{
  for i in $(seq 1 1500); do echo "UPDATE app.counter SET n = n + 1 WHERE id = 1;"; done
  echo "INSERT INTO app.tags VALUES (1, NULL);"  # no key: on_error decides
  for i in $(seq 1 1500); do echo "UPDATE app.counter SET n = n + 1 WHERE id = 1;"; done
} > "$H_DIR/w.sql"
h_sql_file "$H_DIR/w.sql" || h_die "workload"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
config() { # ON_ERROR
  h_source_config
  printf '[apply]\nname = r\njournal = %s\ntarget = redis://127.0.0.1:%s/0\non_error = %s\n' "$J" "$REDIS_PORT" "$1"
  printf '[rule counter]\ntable = app.counter\nkey = cnt:{id}\nformat = column:n\n'
  printf '[rule tags]\ntable = app.tags\nkey = tag:{code}\nformat = column:id\n'
}
config skip > "$H_DIR/skip.ini"
config stop > "$H_DIR/stop.ini"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/skip.ini" --once > "$H_DIR/once.log" 2>&1 || h_die "first apply: $(tail -3 "$H_DIR/once.log")"
t_eq "populated: the counter" 3000 "$(h_redis GET cnt:1)"

echo cnt:1 > "$H_DIR/keys"; : > "$H_DIR/deleted"
python3 "$READER" redis "$REDIS_PORT" "$H_DIR/keys" "$H_DIR/deleted" "$REDIS_PORT" "$H_DIR/stop" "$H_DIR/ready" \
  > "$H_DIR/reader.out" 2>&1 &
READER_PID=$!; h_register $READER_PID
h_wait_until 20 test -e "$H_DIR/ready" || h_die "the reader did not start: $(cat "$H_DIR/reader.out")"

first_gtid=$("$FL_BUILD/fl-dump" --json "$J" | head -1 | sed 's/.*"gtid":"\([^"]*\)".*/\1/')
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/stop.ini" --from-gtid "$first_gtid" --once > "$H_DIR/replay.log" 2>&1; rc=$?
t_eq "the replay stops at the row its rules refuse" 1 "$rc"
t_check "... with the checkpoint below the latest transaction the cache shows" test "$(checkpoint)" -lt "$(last_seq)"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/skip.ini" --once > "$H_DIR/resume.log" 2>&1; rc=$?
t_eq "the next start (on_error = skip) exits 0" 0 "$rc"
t_check "... and folds the rest of the replay" grep -q "folded" "$H_DIR/resume.log"
touch "$H_DIR/stop"; wait "$READER_PID"
h_log "reader: $(head -3 "$H_DIR/reader.out" | tr '\n' ' ')"
t_check "the reader sampled" grep -q "samples=[1-9]" "$H_DIR/reader.out"
t_check "the counter never decreased" grep -q "decreased=0 " "$H_DIR/reader.out"
t_eq "the counter equals the row" "$(h_sql 'SELECT n FROM app.counter')" "$(h_redis GET cnt:1)"
t_eq "the checkpoint is the journal's last seq" "$(last_seq)" "$(checkpoint)"
t_eq "fold_until is no longer above it" "$(last_seq)" "$(h_redis HGET fastlane:checkpoint:r fold_until)"

t_done
