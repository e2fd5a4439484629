#!/usr/bin/env bash
# test_snapshot.sh — [snapshot] against a private MariaDB and Redis: rows written long before
# the binlog starts (RESET MASTER) reach the cache through the relay's snapshot, read in
# chunks while a workload updates, deletes and inserts rows of the same table; the relay is
# SIGKILLed three times mid-snapshot. At the end every row equals its key (fl-apply --verify
# exit 0, no extra keys), each chunk is journaled once, a composite key works, a table
# without a key is refused by name, and no watermark row is journaled. 60k rows (not 200k) keep
# the test within about a minute on a small shared machine; bench/ is the place for size.
source "$(dirname "$0")/../harness.sh"
FL_RELAY=$FL_BUILD/fl-relay
FL_APPLY=$FL_BUILD/fl-apply
FL_DUMP=$FL_BUILD/fl-dump
ROWS=${SNAPSHOT_ROWS:-60000}

h_start_mariadb
h_start_redis

h_sql "CREATE DATABASE app;
USE app;
CREATE TABLE app.items (id INT PRIMARY KEY, v INT NOT NULL, pad VARCHAR(40) NOT NULL);
INSERT INTO app.items SELECT seq, 0, CONCAT('row ', seq) FROM seq_1_to_$ROWS;
CREATE TABLE app.pairs (a INT NOT NULL, b VARCHAR(8) NOT NULL, n INT, PRIMARY KEY (a, b));
INSERT INTO app.pairs SELECT seq DIV 3, CONCAT('k', seq MOD 3), seq FROM seq_1_to_3000;
CREATE TABLE app.nokey (x INT);
CREATE TABLE app.skipped (id INT PRIMARY KEY);
INSERT INTO app.nokey VALUES (1);
RESET MASTER;"

cat > "$H_DIR/s.ini" <<CFG
$(h_source_config)
exclude = app.skipped
[journal]
path = $H_DIR/journal
[snapshot]
tables = app.*
chunk = 1000
rate = 5000
[apply]
target = redis://127.0.0.1:$REDIS_PORT/0
[rule items]
table = app.items
key = item:{id}
ttl = 1d
[rule pairs]
table = app.pairs
key = pair:{a}:{b}
format = hash
CFG

RELAY_LOG=$H_DIR/relay.log
start_relay() { "$FL_RELAY" -c "$H_DIR/s.ini" >>"$RELAY_LOG" 2>&1 & RELAY=$!; h_register $RELAY; }
chunks() { "$FL_DUMP" "$H_DIR/journal" --json 2>/dev/null | grep -o '"snapshot":{"db":"app","table":"items","chunk":[0-9]*' | sed 's/.*://'; }
items_chunks_at_least() { [ "$(chunks | wc -l)" -ge "$1" ]; }

# the workload: updates, deletes and inserts of app.items while the snapshot reads it
workload() {
  local i sql
  for i in $(seq 1 400); do
    sql="UPDATE app.items SET v = v + 1 WHERE id = $(( (i * 7919) % ROWS + 1 ));"
    sql+="DELETE FROM app.items WHERE id = $(( (i * 104729) % ROWS + 1 ));"
    sql+="INSERT INTO app.items VALUES ($(( ROWS + i )), $i, 'new');"
    sql+="UPDATE app.items SET v = v + 100, pad = 'moved' WHERE id = $(( ROWS - i * 50 ));"
    h_sql "$sql" || return 1
    sleep 0.02
  done
}

check=$(timeout 60 "$FL_RELAY" -c "$H_DIR/s.ini" --check 2>&1)
t_check "--check: the relay will create the watermark table" grep -q "\[snapshot\]: fastlane.watermark does not exist yet; the relay creates it" <<<"$check"
start_relay
h_wait_until 60 items_chunks_at_least 1 || h_die "no chunk journaled: $(tail -5 "$RELAY_LOG")"
workload & WORKLOAD=$!
for k in 1 2 3; do  # SIGKILL mid-snapshot, three times
  have=$(chunks | wc -l)
  h_wait_until 30 items_chunks_at_least $((have + 6)) || t_fail "chunks journaled before kill $k"
  kill -KILL $RELAY; wait $RELAY 2>/dev/null
  start_relay
done
t_check "the workload ran" wait $WORKLOAD
done_items() { grep -q "snapshot of app.items complete" "$RELAY_LOG" && grep -q "snapshot of app.pairs complete" "$RELAY_LOG"; }
h_wait_until 90 done_items || t_fail "snapshot complete" "$(tail -5 "$RELAY_LOG")"
h_sql "INSERT INTO app.items VALUES (0, 0, 'after the snapshot')"
after_snapshot() { "$FL_DUMP" "$H_DIR/journal" --json 2>/dev/null | grep -q '"pad":"after the snapshot"'; }
h_wait_until 30 after_snapshot || t_fail "the stream goes on after the snapshot"

# on demand: --snapshot asks the running relay; --wait returns once it is journaled complete
out=$(timeout 60 "$FL_RELAY" -c "$H_DIR/s.ini" --snapshot app.pairs --wait 2>&1); rc=$?
t_eq "--snapshot app.pairs --wait: exit 0 ($out)" 0 "$rc"
t_eq "app.pairs snapshotted twice in all" 2 "$("$FL_DUMP" "$H_DIR/journal" --json | grep -c '"table":"pairs","chunk":[0-9]*,"last":true')"
refusal() { # NAME STATUS MESSAGE ARGS...
  local name=$1 want=$2 msg=$3; shift 3
  out=$(timeout 60 "$FL_RELAY" -c "$H_DIR/s.ini" --snapshot "$@" 2>&1); rc=$?
  t_eq "$name: exit $want" "$want" "$rc"
  t_check "$name: says why ($out)" grep -q "$msg" <<<"$out"
}
refusal "a table outside [snapshot] tables" 1 "shop.t is not in \[snapshot\] tables" shop.t
refusal "a missing table" 1 "snapshot of app.missing refused: no such table" app.missing
refusal "a table without a key" 1 "snapshot of app.nokey refused: it has no primary key" app.nokey
refusal "a table the source filter leaves out" 1 "snapshot of app.skipped refused: \[source\] include/exclude" app.skipped
kill -TERM $RELAY; wait $RELAY; rc=$?
t_eq "the relay stops cleanly on SIGTERM" 0 "$rc"
[ "$rc" -eq 0 ] || tail -20 "$RELAY_LOG" | sed 's/^/  | /'
refusal "no relay running" 1 "no relay is running on journal" app.items

check=$(timeout 60 "$FL_RELAY" -c "$H_DIR/s.ini" --check 2>&1)
t_check "--check: the relay may write the watermark table" grep -q "\[snapshot\]: user may write fastlane.watermark" <<<"$check"
t_eq "the relay resumed the snapshot after each kill" 3 "$(grep -c "snapshot: resuming app.items at chunk" "$RELAY_LOG")"
t_check "a table without a key refused by name" grep -q "snapshot of app.nokey refused: it has no primary key" "$RELAY_LOG"
n=$(chunks | wc -l); u=$(chunks | sort -un | wc -l); last=$(chunks | sort -n | tail -1)
t_eq "each chunk journaled once" "$n" "$u"
t_eq "chunks 0..last, none missing" "$((last + 1))" "$u"
t_eq "one last chunk of app.items" 1 "$("$FL_DUMP" "$H_DIR/journal" --json | grep -c '"table":"items","chunk":[0-9]*,"last":true')"
t_eq "no watermark row journaled" 0 "$("$FL_DUMP" "$H_DIR/journal" --json | grep -c '"table":"watermark"')"
"$FL_DUMP" "$H_DIR/journal" --json | grep -o '"op":"snapshot","db":"app","table":"items","after":{"id":[0-9]*' |
  sed 's/.*://' > "$H_DIR/snap_ids"
t_eq "no row snapshotted twice" "$(wc -l < "$H_DIR/snap_ids")" "$(sort -u "$H_DIR/snap_ids" | wc -l)"
t_check "no more snapshot rows than rows ever in the table" [ "$(wc -l < "$H_DIR/snap_ids")" -le $((ROWS + 400)) ]
t_check "snapshot rows have the after image" bash -c "'$FL_DUMP' '$H_DIR/journal' --json | grep -q '\"op\":\"snapshot\",\"db\":\"app\",\"table\":\"pairs\",\"after\":{\"a\":0,\"b\":\"k1\",\"n\":1}'"
t_check "the text form names the chunk" bash -c "'$FL_DUMP' '$H_DIR/journal' | grep -q 'snapshot app.items chunk 0$'"

timeout 120 "$FL_APPLY" -c "$H_DIR/s.ini" --once >"$H_DIR/apply.log" 2>&1
t_eq "fl-apply --once" 0 $?
out=$(timeout 120 "$FL_APPLY" -c "$H_DIR/s.ini" --verify 2>&1); rc=$?
echo "$out" | tail -8 | sed 's/^/  | /'
t_eq "--verify: every row equals its key, no extra keys" 0 "$rc"
t_eq "item keys: one per row" "$(h_sql "SELECT COUNT(*) FROM app.items")" "$(h_redis --scan --pattern 'item:*' | wc -l)"
t_eq "pair keys: one per row" "$(h_sql "SELECT COUNT(*) FROM app.pairs")" "$(h_redis --scan --pattern 'pair:*' | wc -l)"
ttl=$(h_redis TTL item:1)
t_check "snapshot rows get the rule's TTL ($ttl)" [ "$ttl" -gt 80000 ]
t_done
