#!/usr/bin/env bash
# test_redis_cluster_rebuild.sh — a rebuild into a real Redis Cluster (3 primaries, 3 replicas
# on loopback): the journal's head was purged by retention (its table snapshotted again first)
# and more changes followed, so an applier starting on the empty cluster rebuilds it from the
# snapshot, folded (each key written once, with its version at the journal's head). The applier
# is killed (SIGKILL) midway, once the resume point is inside the rebuild; the next run must
# still fold the rest (the cluster's checkpoint keeps fold_until). A reader sampling every key
# on its primary never sees a version go down, nor one older than the database held when the
# rebuild began; at the end every row equals its key, with no other key (--verify).
source "$(dirname "$0")/../harness.sh"
FL_APPLY=$FL_BUILD/fl-apply
ROWS=${ROWS:-300000}

h_start_mariadb
h_start_redis_cluster
h_sql "CREATE DATABASE app; USE app;
CREATE TABLE app.items (id INT PRIMARY KEY, ver BIGINT NOT NULL);
INSERT INTO app.items SELECT seq, 1 FROM seq_1_to_$ROWS;
RESET MASTER;" || h_die "schema"

relay_config() { # MAX_SIZE
  cat <<CFG
$(h_source_config)
[journal]
path = $H_DIR/journal
max_size = $1
[snapshot]
tables = app.items
chunk = 5000
[apply]
name = rb
target = $CLUSTER_URL
# the resume point moves at every flush, not only once the replicas confirm (C3), so that it
# stands inside the rebuild for a while, whatever the machine's speed
cluster_wait_replicas = 0
# small blocks: the rebuild's 300k keys make more blocks than the applier keeps in flight, so
# sending them takes as long as the throttled primaries take to answer, and the applier's
# flushes while catching up (each second) place the resume point inside the rebuild; with
# large blocks all of it fits in the primaries' input buffers at once and the only flush comes
# after the last one
max_atomic_ops = 100
[rule items]
table = app.items
key = item:{id}
format = column:ver
CFG
}
RELAY_LOG=$H_DIR/relay.log
start_relay() { "$FL_BUILD/fl-relay" -c "$1" >>"$RELAY_LOG" 2>&1 & RELAY=$!; h_register $RELAY; }
jstat() { "$FL_BUILD/fl-dump" --stats "$H_DIR/journal" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
snapshots_done() { [ "$(grep -c "snapshot of app.items complete" "$RELAY_LOG")" -ge "$1" ]; }
churn() { # N rounds: every row's version bumped once a round, a tenth of the rows a transaction
  local r k sql=""
  for r in $(seq 1 "$1"); do
    for k in $(seq 0 9); do sql+="UPDATE app.items SET ver = ver + 1 WHERE id % 10 = $k;"; done
  done
  h_sql "$sql"
}
not_grep() { ! grep -q "$@"; }
journaled() { [ "$(jstat last_seq)" -ge "$1" ]; }
ckpt() { redis-cli -c -p "${CLUSTER_PORTS[0]}" HGET fastlane:checkpoint:rb "$1"; }

# history, then retention purges it once the table is snapshotted again; more changes after
relay_config 0 > "$H_DIR/big.ini"
start_relay "$H_DIR/big.ini"
h_wait_until 60 snapshots_done 1 || h_die "initial snapshot: $(tail -5 "$RELAY_LOG")"
churn 1
h_wait_until 120 journaled 15 || h_die "churn not journaled"
kill -TERM $RELAY; wait $RELAY
relay_config 1M > "$H_DIR/small.ini"
start_relay "$H_DIR/small.ini"
purged() { [ "$(jstat purged_seq)" -gt 1 ]; }
h_wait_until 120 purged || h_die "retention did not purge: $("$FL_BUILD/fl-dump" --stats "$H_DIR/journal")"
h_wait_until 120 snapshots_done 2 || h_die "second snapshot: $(tail -5 "$RELAY_LOG")"
kill -TERM $RELAY; wait $RELAY
start_relay "$H_DIR/big.ini" # no more retention: the changes after the snapshot stay
HEAD0=$(jstat last_seq)
churn 2
h_wait_until 120 journaled $((HEAD0 + 20)) || h_die "churn after the snapshot not journaled"
HEAD=$(jstat last_seq)
kill -TERM $RELAY; wait $RELAY
h_log "journal: purged up to $(jstat purged_seq), head $HEAD, $ROWS rows"

h_sql "SELECT CONCAT('item:', id, ' ', ver) FROM app.items" > "$H_DIR/floor"
python3 "$(dirname "$0")/cluster_floor_reader.py" "${CLUSTER_PORTS[0]}" "$H_DIR/floor" "$H_DIR/stop" "$H_DIR/ready" \
  > "$H_DIR/reader.out" 2>&1 &
READER=$!; h_register $READER
h_wait_until 60 test -e "$H_DIR/ready" || h_die "the reader did not start: $(cat "$H_DIR/reader.out")"

# the rebuild, killed once the resume point is inside it; meanwhile the primaries take writes
# only a tenth of the time (CLIENT PAUSE WRITE), so that the rebuild lasts a few seconds
throttle() {
  while [ ! -e "$H_DIR/unthrottle" ]; do
    for p in $(h_cluster_primaries); do redis-cli -p "$p" CLIENT PAUSE 450 WRITE > /dev/null; done
    sleep 0.5
  done
}
throttle & THROTTLE=$!; h_register $THROTTLE
"$FL_APPLY" -c "$H_DIR/small.ini" > "$H_DIR/apply1.log" 2>&1 &
A=$!; h_register $A
h_wait_until 60 grep -q "rebuilding the cache from seq" "$H_DIR/apply1.log" || h_die "no rebuild: $(tail -5 "$H_DIR/apply1.log")"
FROM=$(sed -n 's/.*rebuilding the cache from seq \([0-9]*\).*/\1/p' "$H_DIR/apply1.log" | head -1)
midway() { local s; s=$(ckpt seq); [ -n "$s" ] && [ "$s" -ge "$FROM" ] && [ "$s" -lt "$HEAD" ]; }
h_wait_until 120 midway || h_die "the resume point never stood inside the rebuild ($(ckpt seq), from $FROM to $HEAD)"
kill -KILL $A; wait $A 2>/dev/null
touch "$H_DIR/unthrottle"; wait $THROTTLE
h_log "killed with the resume point at seq $(ckpt seq) (rebuild from $FROM to $HEAD; fold_until $(ckpt fold_until))"
t_check "the rebuild was cut short: the resume point is inside it" midway
t_eq "... and the cluster's checkpoint says where the rebuild ends" "$HEAD" "$(ckpt fold_until)"

"$FL_APPLY" -c "$H_DIR/small.ini" > "$H_DIR/apply2.log" 2>&1 &
B=$!; h_register $B
caught_up() { [ "$(ckpt seq)" = "$HEAD" ]; }
h_wait_until 120 caught_up || h_die "the second run did not catch up: $(tail -5 "$H_DIR/apply2.log")"
touch "$H_DIR/stop"; wait $READER
kill -TERM $B; wait $B
t_eq "the second run stops cleanly" 0 "$?"
h_log "reader: $(head -3 "$H_DIR/reader.out" | tr '\n' ' ')"
t_check "the second run folds the rest of the rebuild" grep -q "which the cache may already show, folded" "$H_DIR/apply2.log"
t_check "... and does not rebuild again" not_grep "rebuilding the cache from seq" "$H_DIR/apply2.log"
t_check "the reader sampled" grep -q "samples=[1-9]" "$H_DIR/reader.out"
t_check "no version ever went down" grep -q " decreased=0 " "$H_DIR/reader.out"
t_check "no version older than the database's when the rebuild began" grep -q " stale=0$" "$H_DIR/reader.out"
out=$(timeout 120 "$FL_APPLY" -c "$H_DIR/small.ini" --verify 2>&1); rc=$?
[ "$rc" -eq 0 ] || echo "$out" | tail -5 | sed 's/^/  | /'
t_eq "--verify: every row equals its key, no extra keys" 0 "$rc"
t_eq "one key per row" "$ROWS" "$(for p in $(h_cluster_primaries); do redis-cli -p "$p" --scan --pattern 'item:*'; done | wc -l)"

t_done
