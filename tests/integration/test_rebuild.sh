#!/usr/bin/env bash
# test_rebuild.sh — an applier whose history is lost rebuilds the cache by itself, against a
# private MariaDB and Redis: (1) its checkpoint was purged by retention while it was stopped
# (the cache holds keys of rows deleted since, which must go), and retention, before purging
# the table's last complete snapshot, had the relay snapshot it again; (2) Redis was FLUSHALLed after
# retention purged the journal's head; (3) its checkpoint belongs to another journal; (4) a
# remote applier through the feed, on a journal that holds no snapshot, asks the relay for one;
# memcached, empty on a journal whose head was purged and then with its server restarted, too;
# a table outside the relay's [snapshot] tables is refused, and a local rule table nothing may
# snapshot stops the applier loudly. Each time the end state equals the database (fl-apply
# --verify exit 0, no extra keys), and a reader sampling every row's version column during
# the rebuild never sees it go down, never sees a deleted row, and never sees a version older
# than the database held when the rebuild began.
source "$(dirname "$0")/../harness.sh"
FL_RELAY=$FL_BUILD/fl-relay
FL_APPLY=$FL_BUILD/fl-apply
FL_DUMP=$FL_BUILD/fl-dump
READER=$(dirname "$0")/monotonic_reader.py
ROWS=2000

h_start_mariadb
h_start_redis
FEED_PORT=$(h_free_port)
echo 'rebuild-feed-secret-1' > "$H_DIR/feed.secret"
chmod 600 "$H_DIR/feed.secret"

h_sql "CREATE DATABASE app; USE app;
CREATE TABLE app.items (id INT PRIMARY KEY, ver BIGINT NOT NULL, pad VARCHAR(200) NOT NULL);
INSERT INTO app.items SELECT seq, 1, REPEAT('x', 150) FROM seq_1_to_$ROWS;
CREATE TABLE app.other (id INT PRIMARY KEY, ver BIGINT NOT NULL);
INSERT INTO app.other SELECT seq, 1 FROM seq_1_to_10;
RESET MASTER;" || h_die "schema"

relay_config() { # MAX_SIZE [extra [snapshot] lines]
  cat <<CFG
$(h_source_config)
[journal]
path = $H_DIR/journal
max_size = $1
[feed]
listen = 127.0.0.1:$FEED_PORT
secret_file = $H_DIR/feed.secret
[snapshot]
tables = app.items
chunk = 500
${2:-}
CFG
}
rules() {
  cat <<CFG
[rule items]
table = app.items
key = item:{id}
format = column:ver
CFG
}
local_config() { # MAX_SIZE
  relay_config "$1"
  printf '[apply]\ntarget = redis://127.0.0.1:%s/0\n' "$REDIS_PORT"
  rules
}
RELAY_LOG=$H_DIR/relay.log
start_relay() { "$FL_RELAY" -c "$1" >>"$RELAY_LOG" 2>&1 & RELAY=$!; h_register $RELAY; }
stop_relay() { kill -TERM $RELAY; wait $RELAY 2>/dev/null; t_eq "the relay stops cleanly" 0 $?; }
jstat() { "$FL_DUMP" --stats "$H_DIR/journal" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
snapshots_done() { [ "$(grep -c "snapshot of app.items complete" "$RELAY_LOG")" -ge "$1" ]; }
caught_up() { # INI: the applier's checkpoint is the journal's last seq
  "$FL_APPLY" -c "$1" --status 2>/dev/null | grep -q "^lag: *0 transactions"
}

# churn N: N rounds of updates of every row (ten transactions each), so retention has
# something to purge; every round bumps each version
churn() {
  local r k sql=""
  for r in $(seq 1 "$1"); do
    for k in $(seq 0 9); do sql+="UPDATE app.items SET ver = ver + 1, pad = REPEAT('$k', 150) WHERE id % 10 = $k;"; done
  done
  h_sql "$sql"
}

# journaled_all NAME: waits until the journal holds everything the server wrote; "caught up"
# compares the applier with the journal, so without this wait an applier could be caught up
# with a relay still behind the database, and the checks would compare it with the wrong state
journaled_all() {
  h_wait_until 60 h_journaled_all "$H_DIR/journal" \
    || t_fail "$1: the relay journaled the server's writes" "$(h_server_gtid_pos) vs $(h_journal_last_gtid "$H_DIR/journal")"
}

# rebuild_with_reader NAME INI [DELETED_KEYS_FILE]: runs the applier on INI while a reader
# samples every row's key, until it is caught up; then the checks
rebuild_with_reader() {
  local name=$1 ini=$2 deleted=${3:-$H_DIR/none}
  journaled_all "$name"
  : > "$H_DIR/none"
  h_sql "SELECT CONCAT('item:', id) FROM app.items" > "$H_DIR/keys"
  h_sql "SELECT CONCAT('item:', id, ' ', ver) FROM app.items" > "$H_DIR/floor"
  rm -f "$H_DIR/stop" "$H_DIR/ready"
  python3 "$READER" redis "$REDIS_PORT" "$H_DIR/keys" "$deleted" "" "$H_DIR/stop" "$H_DIR/ready" "" "$H_DIR/floor" \
    > "$H_DIR/reader-$name.out" 2>&1 &
  local reader=$!
  h_register $reader
  h_wait_until 20 test -e "$H_DIR/ready" || t_fail "$name: the reader started" "$(cat "$H_DIR/reader-$name.out")"
  "$FL_APPLY" -c "$ini" >"$H_DIR/apply-$name.log" 2>&1 &
  local apply=$!
  h_register $apply
  h_wait_until 120 caught_up "$ini" || t_fail "$name: the applier caught up" "$(tail -5 "$H_DIR/apply-$name.log")"
  touch "$H_DIR/stop"; wait "$reader"
  kill -TERM $apply; wait $apply
  t_eq "$name: the applier stops cleanly" 0 $?
  sed "s/^/# $name reader: /" "$H_DIR/reader-$name.out"
  t_check "$name: the reader sampled before and during the rebuild" grep -qv "samples=0 " "$H_DIR/reader-$name.out"
  t_check "$name: no version ever went down" grep -q " decreased=0 " "$H_DIR/reader-$name.out"
  t_check "$name: no deleted row's key was seen" grep -q " reappeared=0 " "$H_DIR/reader-$name.out"
  t_check "$name: no version older than the database's at the start" grep -q " stale=0" "$H_DIR/reader-$name.out"
  out=$(timeout 60 "$FL_APPLY" -c "$ini" --verify 2>&1); rc=$?
  [ "$rc" -eq 0 ] || echo "$out" | tail -5 | sed 's/^/  | /'
  t_eq "$name: --verify: every row equals its key, no extra keys" 0 "$rc"
  t_eq "$name: one key per row" "$(h_sql "SELECT COUNT(*) FROM app.items")" "$(h_redis --scan --pattern 'item:*' | wc -l)"
}

# ---- the cache in step, then the applier stopped while retention purges what it lacks ------
local_config 0 > "$H_DIR/big.ini"
start_relay "$H_DIR/big.ini"
h_wait_until 60 snapshots_done 1 || h_die "initial snapshot: $(tail -5 "$RELAY_LOG")"
timeout 120 "$FL_APPLY" -c "$H_DIR/big.ini" --once >"$H_DIR/fill.log" 2>&1
t_eq "the first apply exits 0" 0 $?
CP=$(jstat last_seq)
churn 3
h_sql "DELETE FROM app.items WHERE id <= 20; INSERT INTO app.items VALUES (5001, 100, 'new')"
seq 1 20 | sed 's/^/item:/' > "$H_DIR/deleted"
h_wait_until 30 bash -c "'$FL_DUMP' '$H_DIR/journal' --json | grep -q '\"id\":5001'" || h_die "churn journaled"
stop_relay
local_config 900K > "$H_DIR/small.ini"
start_relay "$H_DIR/small.ini" # retention runs at start: the journal's head goes, once a new snapshot is in
h_wait_until 60 bash -c "[ \"\$('$FL_DUMP' --stats '$H_DIR/journal' | sed -n 's/.*\"purged_seq\":\([0-9]*\).*/\1/p')\" -gt $((CP + 1)) ]" \
  || h_die "retention did not purge past the checkpoint $CP: $("$FL_DUMP" --stats "$H_DIR/journal")"
t_check "(1) retention had the table snapshotted again before purging its snapshot" grep -q "journal retention: snapshotting app.items again first" "$RELAY_LOG"
t_check "(1) after the purge the journal still holds a complete snapshot" bash -c "'$FL_DUMP' '$H_DIR/journal' --json | grep -q '\"table\":\"items\",\"chunk\":[0-9]*,\"last\":true'"
t_check "(1) the cache still holds keys of deleted rows" test "$(h_redis EXISTS item:1)" = 1
rebuild_with_reader "(1) purged checkpoint" "$H_DIR/small.ini"
t_check "(1) the log names the lost history and the rebuild" grep -q "purged by retention before they were applied.*rebuilding the cache from seq" "$H_DIR/apply-(1) purged checkpoint.log"
t_check "(1) the log says which snapshot it used" grep -q "rebuild: from snapshot of app.items at seq" "$H_DIR/apply-(1) purged checkpoint.log"
t_check "(1) the rules' keys were deleted first" grep -q "the keys of 1 rules deleted first" "$H_DIR/apply-(1) purged checkpoint.log"

# ---- (2) Redis flushed after retention purged the journal's head ------------------------------
churn 2
h_redis FLUSHALL >/dev/null
rebuild_with_reader "(2) flushed" "$H_DIR/small.ini" "$H_DIR/deleted"
t_check "(2) the log says it rebuilds an empty cache" grep -q "the cache holds no checkpoint and journal .* purged by retention: rebuilding the cache from seq" "$H_DIR/apply-(2) flushed.log"

# ---- (2m) memcached: an empty cache on that journal, then a server restarted (its data lost) ---
h_start_memcached
mc_config() {
  relay_config 900K
  printf '[apply]\nname = mc\ntarget = memcached://127.0.0.1:%s\ncheckpoint_path = %s\n' "$MEMCACHED_PORT" "$H_DIR/mc.checkpoint"
  rules
}
mc_config > "$H_DIR/mc.ini"
mc_reader() { # NAME: a reader on memcached until the stop file
  journaled_all "$1"
  h_sql "SELECT CONCAT('item:', id) FROM app.items" > "$H_DIR/keys"
  rm -f "$H_DIR/stop"
  rm -f "$H_DIR/ready"
  : > "$H_DIR/nofloor"
  python3 "$READER" memcached "$MEMCACHED_PORT" "$H_DIR/keys" "$H_DIR/deleted" "" "$H_DIR/stop" "$H_DIR/ready" \
    "" "$H_DIR/nofloor" > "$H_DIR/reader-$1.out" 2>&1 &
  MC_READER=$!
  h_register $MC_READER
  h_wait_until 20 test -e "$H_DIR/ready" || t_fail "$1: the reader started" "$(cat "$H_DIR/reader-$1.out")"
}
mc_checks() { # NAME
  touch "$H_DIR/stop"; wait "$MC_READER"
  sed "s/^/# $1 reader: /" "$H_DIR/reader-$1.out"
  t_check "$1: the reader sampled" grep -qv "samples=0 " "$H_DIR/reader-$1.out"
  t_check "$1: no version ever went down" grep -q " decreased=0 " "$H_DIR/reader-$1.out"
  t_check "$1: no deleted row's key was seen" grep -q " reappeared=0 " "$H_DIR/reader-$1.out"
  out=$(timeout 60 "$FL_APPLY" -c "$H_DIR/mc.ini" --verify 2>&1); rc=$?
  [ "$rc" -eq 0 ] || echo "$out" | tail -5 | sed 's/^/  | /'
  t_eq "$1: --verify: every row equals its key" 0 "$rc"
}
mc_reader "(2m) memcached empty"
"$FL_APPLY" -c "$H_DIR/mc.ini" >"$H_DIR/apply-mc.log" 2>&1 &
MC_APPLY=$!
h_register $MC_APPLY
h_wait_until 120 caught_up "$H_DIR/mc.ini" || t_fail "(2m) the memcached applier caught up" "$(tail -5 "$H_DIR/apply-mc.log")"
mc_checks "(2m) memcached empty"
t_check "(2m) the log says it rebuilt from the snapshot" grep -q "rebuild: from snapshot of app.items at seq" "$H_DIR/apply-mc.log"
kill -KILL "$MEMCACHED_PID"; wait "$MEMCACHED_PID" 2>/dev/null
MEMCACHED_PORT_FIXED=$MEMCACHED_PORT h_start_memcached
churn 1
mc_reader "(2m) memcached restarted"
rebuilt_twice() { [ "$(grep -c "rebuilding the cache from seq" "$H_DIR/apply-mc.log")" -ge 2 ]; }
h_wait_until 60 rebuilt_twice || t_fail "(2m) the applier noticed the restarted server" "$(tail -5 "$H_DIR/apply-mc.log")"
h_wait_until 120 caught_up "$H_DIR/mc.ini" || t_fail "(2m) the memcached applier caught up after the restart" "$(tail -5 "$H_DIR/apply-mc.log")"
mc_checks "(2m) memcached restarted"
t_eq "(2m) it rebuilt twice, without stopping" 2 "$(grep -c "rebuilding the cache from seq" "$H_DIR/apply-mc.log")"
kill -TERM $MC_APPLY; wait $MC_APPLY
t_eq "(2m) the memcached applier stops cleanly" 0 $?

# ---- (3) a checkpoint of another journal -----------------------------------------------------
stop_relay
mv "$H_DIR/journal" "$H_DIR/journal.old"
churn 1
start_relay "$H_DIR/small.ini" # a new journal: its initial snapshot, then the stream from now
h_wait_until 60 bash -c "[ \"\$(grep -c 'snapshot of app.items complete' '$RELAY_LOG')\" -ge 2 ] && '$FL_DUMP' --stats '$H_DIR/journal' >/dev/null" || h_die "new journal's snapshot"
h_sql "UPDATE app.items SET ver = ver + 1 WHERE id = 100"
rebuild_with_reader "(3) foreign checkpoint" "$H_DIR/small.ini" "$H_DIR/deleted"
t_check "(3) the log names the other journal and the rebuild" grep -q "belongs to journal .*: rebuilding the cache from seq" "$H_DIR/apply-(3) foreign checkpoint.log"
stop_relay

# ---- (4) through the feed, on a journal without a snapshot: the applier asks for one --------
rm -rf "$H_DIR/journal" "$H_DIR/journal.old"
relay_config 900K "initial = no" > "$H_DIR/nosnap.ini"
start_relay "$H_DIR/nosnap.ini"
h_wait_until 30 bash -c "'$FL_DUMP' --stats '$H_DIR/journal' >/dev/null 2>&1" || h_die "relay without a snapshot"
churn 3
h_wait_until 30 bash -c "[ \"\$('$FL_DUMP' --stats '$H_DIR/journal' | sed -n 's/.*\"last_seq\":\([0-9]*\).*/\1/p')\" -ge 30 ]" || h_die "churn journaled"
stop_relay
start_relay "$H_DIR/nosnap.ini" # retention at start purges the journal's head
h_wait_until 30 bash -c "[ \"\$('$FL_DUMP' --stats '$H_DIR/journal' | sed -n 's/.*\"purged_seq\":\([0-9]*\).*/\1/p')\" -gt 0 ]" || h_die "purge"
{ printf '[apply]\nrelay = 127.0.0.1:%s\nsecret_file = %s\ntarget = redis://127.0.0.1:%s/0\n' \
    "$FEED_PORT" "$H_DIR/feed.secret" "$REDIS_PORT"; rules; } > "$H_DIR/remote.ini"
{ h_source_config; cat "$H_DIR/remote.ini"; } > "$H_DIR/remote-verify.ini"
h_redis FLUSHALL >/dev/null
rebuild_with_reader "(4) remote, snapshot requested" "$H_DIR/remote-verify.ini" "$H_DIR/deleted"
t_check "(4) the applier asked the relay through the feed" grep -q "rebuild: requested snapshot of app.items from 127.0.0.1:$FEED_PORT" "$H_DIR/apply-(4) remote, snapshot requested.log"
t_check "(4) the relay took the request" grep -q "requested a snapshot of app.items" "$RELAY_LOG"
t_check "(4) then the rebuild used it" grep -q "rebuild: from snapshot of app.items at seq" "$H_DIR/apply-(4) remote, snapshot requested.log"

# ---- refusals: rebuilding impossible is a loud stop ------------------------------------------
h_redis FLUSHALL >/dev/null
{ printf '[apply]\nrelay = 127.0.0.1:%s\nsecret_file = %s\ntarget = redis://127.0.0.1:%s/0\n' \
    "$FEED_PORT" "$H_DIR/feed.secret" "$REDIS_PORT"
  printf '[rule other]\ntable = app.other\nkey = other:{id}\n'; } > "$H_DIR/refused.ini"
out=$(timeout 60 "$FL_APPLY" -c "$H_DIR/refused.ini" 2>&1); rc=$?
t_check "a table outside the relay's [snapshot] tables: non-zero exit ($rc)" test "$rc" -ne 0 -a "$rc" -ne 124
t_check "... saying why" grep -q "app.other is not in the relay's \[snapshot\] tables" <<<"$out"
t_check "... and that the cache cannot be rebuilt" grep -q "cannot be rebuilt" <<<"$out"
{ relay_config 900K "initial = no"; printf '[apply]\ntarget = redis://127.0.0.1:%s/0\n' "$REDIS_PORT"
  printf '[rule other]\ntable = app.other\nkey = other:{id}\n'; } > "$H_DIR/local-refused.ini"
out=$(timeout 60 "$FL_APPLY" -c "$H_DIR/local-refused.ini" 2>&1); rc=$?
t_check "a local rule table nothing may snapshot: non-zero exit ($rc)" test "$rc" -ne 0 -a "$rc" -ne 124
t_check "... saying why" grep -q "app.other is not in \[snapshot\] tables of" <<<"$out"
{ cat "$H_DIR/local-refused.ini"; } | sed 's/^\[apply\]$/[apply]\nrebuild = no/' > "$H_DIR/norebuild.ini"
out=$(timeout 60 "$FL_APPLY" -c "$H_DIR/norebuild.ini" --once 2>&1); rc=$?
t_eq "rebuild = no: applies what the journal holds, as before" 0 "$rc"
stop_relay
t_done
