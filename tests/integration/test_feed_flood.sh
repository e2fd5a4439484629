#!/usr/bin/env bash
# test_feed_flood.sh — no lock-out before login: while 1,000 idle and 100 slow-drip
# unauthenticated connections (tests/tools/feed_flood, from ten other loopback addresses,
# reconnecting whenever dropped) press on the relay's feed, a legitimate applier connects,
# catches up and follows a live change, and fl-dump --relay reads the journal. The relay keeps
# the unauthenticated connections within their budget, and a few slow drips left alone are cut
# off at the handshake deadline.
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_redis
h_sql "CREATE DATABASE app; CREATE TABLE app.kv (id INT PRIMARY KEY, v VARCHAR(64));"

h_start_feed_relay
for i in $(seq 1 200); do echo "INSERT INTO app.kv VALUES ($i, 'value-$i');"; done > "$H_DIR/rows.sql"
h_sql_file "$H_DIR/rows.sql"

"$FL_BUILD/tests/tools/feed_flood" "$FEED_PORT" 1000 100 2 10 >"$H_DIR/flood.log" 2>&1 &
FLOOD_PID=$!; h_register $FLOOD_PID
t_check "the flood opened its 1,100 connections" h_wait_until 60 grep -q ready "$H_DIR/flood.log"
FEED_PID=$(pgrep -P "$RELAY_PID" | head -1)
sleep 4 # past the deadline: slow drips have been cut at least once

printf '[apply]\nname = legit\nrelay = 127.0.0.1:%s\nsecret_file = %s\ntarget = redis://127.0.0.1:%s/0\n[rule kv]\ntable = app.kv\nkey = kv:{id}\nformat = column:v\n' \
  "$FEED_PORT" "$H_DIR/feed.secret" "$REDIS_PORT" > "$H_DIR/apply.ini"
"$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" >"$H_DIR/apply.log" 2>&1 &
APPLY_PID=$!; h_register $APPLY_PID
t_check "the legitimate applier catches up during the flood" \
  h_wait_until 120 bash -c "[ \"\$(redis-cli -p $REDIS_PORT GET kv:200)\" = value-200 ]"
h_sql "UPDATE app.kv SET v = 'live' WHERE id = 7;"
t_check "it follows a live change during the flood" \
  h_wait_until 60 bash -c "[ \"\$(redis-cli -p $REDIS_PORT GET kv:7)\" = live ]"
out=$(timeout 120 "$FL_BUILD/fl-dump" --relay "127.0.0.1:$FEED_PORT" --secret-file "$H_DIR/feed.secret" --stats 2>&1); rc=$?
t_eq "fl-dump --relay is served during the flood" 0 "$rc"
[ "$rc" = 0 ] || h_log "$out"

fds=$(ls "/proc/$FEED_PID/fd" | wc -l)
h_log "feed process holds $fds descriptors during the flood; flood: $(tail -1 "$H_DIR/flood.log")"
t_check "the feed holds no more than its budget of unauthenticated connections ($fds descriptors)" test "$fds" -lt 120
t_check "idle connections were dropped to make room" grep -Eq "and [1-9][0-9]* to make room" "$H_DIR/relay.log"
t_check "the flood saw its connections closed" bash -c "tail -1 '$H_DIR/flood.log' | awk '{ exit !(\$4 > 1000) }'"
t_check "the applier is still running" kill -0 "$APPLY_PID"
kill -TERM "$FLOOD_PID"; wait "$FLOOD_PID" 2>/dev/null

# ---- a few slow drips alone, within the budget: the deadline cuts them off -------------------
"$FL_BUILD/tests/tools/feed_flood" "$FEED_PORT" 0 5 30 1 >"$H_DIR/drip.log" 2>&1 &
DRIP_PID=$!; h_register $DRIP_PID
t_check "slow drips are cut off at the deadline" \
  h_wait_until 40 grep -Eq "dropped [1-9][0-9]* connections that did not authenticate within 3 s" "$H_DIR/relay.log"
t_check "the dripping connections saw it" h_wait_until 10 bash -c "tail -1 '$H_DIR/drip.log' | awk '{ exit !(\$4 >= 5) }'"
kill -TERM "$DRIP_PID"; wait "$DRIP_PID" 2>/dev/null
t_done
