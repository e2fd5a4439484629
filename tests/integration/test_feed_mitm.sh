#!/usr/bin/env bash
# test_feed_mitm.sh — an applier streams from the relay through a man in the middle
# (tests/tools/feed_mitm) that tampers once: flips a byte, injects a forged frame, replays an
# earlier frame, drops a frame, rewrites AUTH's start position, or answers with a spoofed
# plain ERROR. Each time the tampering is detected, the connection dropped and retried, the
# applier keeps running, and the cache ends equal to the database (nothing wrong applied).
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_redis
h_sql "CREATE DATABASE app; CREATE TABLE app.kv (id INT PRIMARY KEY, v VARCHAR(64));"

h_start_feed_relay
for i in $(seq 1 40); do h_sql "INSERT INTO app.kv VALUES ($i, 'value-$i');"; done

# caught_up MODE DB: the journal holds everything the server wrote, and the checkpoint of
# applier MODE in Redis db DB is the journal's last seq
caught_up() {
  h_journaled_all "$H_DIR/journal" || return 1
  local last; last=$(h_last_seq "$H_DIR/journal")
  [ -n "$last" ] && [ "$(h_redis -n "$2" HGET "fastlane:checkpoint:$1" seq)" = "$last" ]
}
# cache_equals_db DB: every row's value under its key in Redis db DB, and no other key but fastlane's own
cache_equals_db() {
  local db=$1 want got
  want=$(h_sql "SELECT CONCAT('kv:', id, '=', v) FROM app.kv ORDER BY id")
  got=$(for id in $(h_sql "SELECT id FROM app.kv ORDER BY id"); do echo "kv:$id=$(h_redis -n "$db" GET "kv:$id")"; done)
  [ "$want" = "$got" ] && [ "$(h_redis_data_keys -n "$db")" = "$(h_sql "SELECT COUNT(*) FROM app.kv")" ]
}

db=0
for mode in flip inject replay drop start spoof; do
  db=$((db + 1))
  PROXY_PORT=$(h_free_port)
  "$FL_BUILD/tests/tools/feed_mitm" "$PROXY_PORT" "$FEED_PORT" "$mode" >"$H_DIR/mitm-$mode.log" 2>&1 &
  PROXY_PID=$!; h_register $PROXY_PID
  h_wait_until 10 grep -q listening "$H_DIR/mitm-$mode.log" || h_die "feed_mitm did not start"
  printf '[apply]\nname = %s\nrelay = 127.0.0.1:%s\nsecret_file = %s\ntarget = redis://127.0.0.1:%s/%s\n[rule kv]\ntable = app.kv\nkey = kv:{id}\nformat = column:v\n' \
    "$mode" "$PROXY_PORT" "$H_DIR/feed.secret" "$REDIS_PORT" "$db" > "$H_DIR/apply-$mode.ini"
  "$FL_BUILD/fl-apply" -c "$H_DIR/apply-$mode.ini" >"$H_DIR/apply-$mode.log" 2>&1 &
  APPLY_PID=$!; h_register $APPLY_PID
  # the stream goes on while the man in the middle waits for its moment (heartbeats, changes)
  h_sql "INSERT INTO app.kv VALUES ($((100 + db)), 'during-$mode');"
  t_check "$mode: the man in the middle tampered" h_wait_until 30 grep -q "tampered: $mode" "$H_DIR/mitm-$mode.log"
  h_sql "UPDATE app.kv SET v = 'after-$mode' WHERE id = $db;"
  case $mode in
    start) t_check "$mode: the relay refused the altered AUTH" \
             h_wait_until 20 grep -q "AUTH altered on its way" "$H_DIR/relay.log"
           t_check "$mode: the applier was told and retried" \
             h_wait_until 20 grep -q "authentication failed.*retrying" "$H_DIR/apply-$mode.log" ;;
    spoof) t_check "$mode: the applier retried after the spoofed ERROR" \
             h_wait_until 20 grep -q "purged.*retrying" "$H_DIR/apply-$mode.log" ;;
    *)     t_check "$mode: the applier detected it and retried" \
             h_wait_until 20 grep -Eq "fails authentication.*(retrying|reconnecting)" "$H_DIR/apply-$mode.log" ;;
  esac
  t_check "$mode: the applier catches up through the proxy" \
    h_wait_until 60 caught_up "$mode" "$db"
  t_check "$mode: the applier is still running" kill -0 "$APPLY_PID"
  t_check "$mode: the cache equals the database" cache_equals_db "$db"
  t_check "$mode: nothing forged reached the cache" bash -c "! redis-cli -p $REDIS_PORT -n $db KEYS '*' | grep -q forged"
  kill -TERM "$APPLY_PID" "$PROXY_PID"; wait "$APPLY_PID" "$PROXY_PID" 2>/dev/null
done
t_done
