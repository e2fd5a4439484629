#!/usr/bin/env bash
# test_snapshot.sh — [snapshot] against a private MariaDB, Redis and memcached: 200k rows
# written long before the binlog starts (RESET MASTER) reach both caches through the relay's
# snapshot and two running appliers, read in chunks while a workload updates, deletes and
# inserts rows of the same table; the relay is SIGKILLed three times mid-snapshot. Meanwhile
# a reader on each cache samples a per-row version (v, which every update raises) and must
# never see one go down, nor a key come back once its row's delete was applied. At the end
# every row equals its key on both targets (fl-apply --verify exit 0; no extra keys on Redis,
# no deleted row's key on memcached), each chunk is journaled once, a composite key works,
# every refusal of --snapshot gives its reason and exit status, and no watermark row is
# journaled. SNAPSHOT_ROWS sets the row count (200k: about 2 minutes on an idle 2-core machine,
# 3.5 under a load of 10 from other work).
source "$(dirname "$0")/../harness.sh"
FL_RELAY=$FL_BUILD/fl-relay
FL_APPLY=$FL_BUILD/fl-apply
FL_DUMP=$FL_BUILD/fl-dump
READER=$(dirname "$0")/monotonic_reader.py
ROWS=${SNAPSHOT_ROWS:-200000}

h_start_mariadb
h_start_redis
h_start_memcached -m 512

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
[rule ver]
table = app.items
key = ver:{id}
format = column:v
CFG
# the same journal into memcached (which cannot store a hash: pairs as JSON there)
sed -e "s|^target = .*|name = mc\ntarget = memcached://127.0.0.1:$MEMCACHED_PORT\ncheckpoint_path = $H_DIR/mc.checkpoint|" \
    -e "s|^format = hash|format = json|" "$H_DIR/s.ini" > "$H_DIR/m.ini"

RELAY_LOG=$H_DIR/relay.log
start_relay() { "$FL_RELAY" -c "$H_DIR/${1:-s.ini}" >>"$RELAY_LOG" 2>&1 & RELAY=$!; h_register $RELAY; }
start_appliers() {
  "$FL_APPLY" -c "$H_DIR/s.ini" >>"$H_DIR/apply-redis.log" 2>&1 & APPLY_REDIS=$!; h_register $APPLY_REDIS
  "$FL_APPLY" -c "$H_DIR/m.ini" >>"$H_DIR/apply-mc.log" 2>&1 & APPLY_MC=$!; h_register $APPLY_MC
}
chunks() { "$FL_DUMP" "$H_DIR/journal" --json 2>/dev/null | grep -o '"snapshot":{"db":"app","table":"items","chunk":[0-9]*' | sed 's/.*://'; }
items_chunks_at_least() { [ "$(chunks | wc -l)" -ge "$1" ]; }

# the workload: updates, deletes and inserts of app.items while the snapshot reads it; v only
# goes up. Each deleted row's version key is listed in $DELETING once its delete committed.
upd1() { echo $(( ($1 * 7919) % ROWS + 1 )); }
del1() { echo $(( ($1 * 104729) % ROWS + 1 )); }
upd2() { echo $(( ROWS - $1 * 50 )); }
DELETING=$H_DIR/deleting
: > "$DELETING"
workload() { # [FROM TO]
  local i sql
  for i in $(seq "${1:-1}" "${2:-400}"); do
    sql="UPDATE app.items SET v = v + 1 WHERE id = $(upd1 $i);"
    sql+="DELETE FROM app.items WHERE id = $(del1 $i);"
    sql+="INSERT INTO app.items VALUES ($(( ROWS + i )), $i, 'new');"
    sql+="UPDATE app.items SET v = v + 100, pad = 'moved' WHERE id = $(upd2 $i);"
    h_sql "$sql" || return 1
    echo "ver:$(del1 $i)" >> "$DELETING"
    sleep 0.02
  done
}
# the readers sample the version keys of every row the workload touches and of 2000 others
for i in $(seq 1 600); do echo "ver:$(upd1 $i)"; echo "ver:$(del1 $i)"; echo "ver:$(upd2 $i)"; done > "$H_DIR/ver.keys"
for i in $(seq 1 2000); do echo "ver:$(( (i * 7727) % ROWS + 1 ))"; done >> "$H_DIR/ver.keys"
sort -u -o "$H_DIR/ver.keys" "$H_DIR/ver.keys"
: > "$H_DIR/none"
start_readers() {
  python3 "$READER" redis "$REDIS_PORT" "$H_DIR/ver.keys" "$H_DIR/none" "" "$H_DIR/stop" "$H_DIR/ready.r" "$DELETING" \
    > "$H_DIR/reader-redis.out" 2>&1 & READER_REDIS=$!; h_register $READER_REDIS
  python3 "$READER" memcached "$MEMCACHED_PORT" "$H_DIR/ver.keys" "$H_DIR/none" "" "$H_DIR/stop" "$H_DIR/ready.m" \
    "$DELETING" > "$H_DIR/reader-mc.out" 2>&1 & READER_MC=$!; h_register $READER_MC
}

check=$(timeout 60 "$FL_RELAY" -c "$H_DIR/s.ini" --check 2>&1)
t_check "--check: the relay will create the watermark table" grep -q "\[snapshot\]: fastlane.watermark does not exist yet; the relay creates it" <<<"$check"
start_readers
start_relay
start_appliers
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
h_wait_until 180 done_items || t_fail "snapshot complete" "$(tail -5 "$RELAY_LOG")"
h_sql "INSERT INTO app.items VALUES (0, 0, 'after the snapshot')"
after_snapshot() { "$FL_DUMP" "$H_DIR/journal" --json 2>/dev/null | grep -q '"pad":"after the snapshot"'; }
h_wait_until 30 after_snapshot || t_fail "the stream goes on after the snapshot"

kill -TERM $RELAY; wait $RELAY
chunks > "$H_DIR/chunks.first"
snap_ids() { "$FL_DUMP" "$H_DIR/journal" --json | grep -o '"op":"snapshot","db":"app","table":"items","after":{"id":[0-9]*' | sed 's/.*://'; }
snap_ids > "$H_DIR/snap_ids"

# on demand, without `rate` (each next chunk is read while the current one is journaled), while
# a second workload runs: --snapshot asks the running relay; --wait returns once it is
# journaled complete
sed '/^rate = /d' "$H_DIR/s.ini" > "$H_DIR/fast.ini"
start_relay fast.ini
workload 401 600 & WORKLOAD=$!
h_wait_until 30 grep -q "ver:$(del1 420)" "$DELETING"
out=$(timeout 120 "$FL_RELAY" -c "$H_DIR/s.ini" --snapshot app.items,app.pairs --wait 2>&1); rc=$?
t_eq "--snapshot app.items,app.pairs --wait: exit 0 ($out)" 0 "$rc"
t_check "the second workload ran" wait $WORKLOAD
t_eq "app.pairs snapshotted twice in all" 2 "$("$FL_DUMP" "$H_DIR/journal" --json | grep -c '"table":"pairs","chunk":[0-9]*,"last":true')"
refusal() { # NAME STATUS MESSAGE ARGS...
  local name=$1 want=$2 msg=$3; shift 3
  out=$(timeout 60 "$FL_RELAY" -c "$H_DIR/s.ini" --snapshot "$@" 2>&1); rc=$?
  t_eq "$name: exit $want" "$want" "$rc"
  t_check "$name: says why ($out)" grep -q "$msg" <<<"$out"
}
refusal "a table outside [snapshot] tables" 1 "shop.t is not in \[snapshot\] tables" shop.t
refusal "not db.table" 2 "'app' is not db.table" app
refusal "a missing table" 1 "snapshot of app.missing refused: no such table" app.missing
refusal "a table without a key" 1 "snapshot of app.nokey refused: it has no primary key" app.nokey
refusal "a table the source filter leaves out" 1 "snapshot of app.skipped refused: \[source\] include/exclude" app.skipped
kill -TERM $RELAY; wait $RELAY; rc=$?
t_eq "the relay stops cleanly on SIGTERM" 0 "$rc"
[ "$rc" -eq 0 ] || tail -20 "$RELAY_LOG" | sed 's/^/  | /'
refusal "no relay running" 1 "no relay is running on journal" app.items
refusal "no relay running (all tables)" 1 "no relay is running on journal"
sed '/^\[snapshot\]/,/^rate/d' "$H_DIR/s.ini" > "$H_DIR/nosnap.ini"
out=$(timeout 60 "$FL_RELAY" -c "$H_DIR/nosnap.ini" --snapshot 2>&1); rc=$?
t_eq "no [snapshot] tables: exit 2" 2 "$rc"
t_check "no [snapshot] tables: says why ($out)" grep -q "nosnap.ini has no \[snapshot\] tables" <<<"$out"

check=$(timeout 60 "$FL_RELAY" -c "$H_DIR/s.ini" --check 2>&1)
t_check "--check: the relay may write the watermark table" grep -q "\[snapshot\]: user may write fastlane.watermark" <<<"$check"
t_eq "the relay resumed the snapshot after each kill" 3 "$(grep -c "snapshot: resuming app.items at chunk" "$RELAY_LOG")"
t_check "a table without a key refused by name" grep -q "snapshot of app.nokey refused: it has no primary key" "$RELAY_LOG"
first=$H_DIR/chunks.first
n=$(wc -l < "$first"); u=$(sort -un "$first" | wc -l); last=$(sort -n "$first" | tail -1)
t_eq "each chunk journaled once" "$n" "$u"
t_eq "chunks 0..last, none missing" "$((last + 1))" "$u"
t_eq "one last chunk of app.items per snapshot" 2 "$("$FL_DUMP" "$H_DIR/journal" --json | grep -c '"table":"items","chunk":[0-9]*,"last":true')"
chunks | tail -n +$((n + 1)) > "$H_DIR/chunks.second"
t_eq "the second snapshot: chunks 0..last, each once" "$(sort -n "$H_DIR/chunks.second" | tail -1)" "$(( $(sort -un "$H_DIR/chunks.second" | wc -l) - 1 ))"
t_eq "  ... as many as the first" "$n" "$(wc -l < "$H_DIR/chunks.second")"
t_eq "no watermark row journaled" 0 "$("$FL_DUMP" "$H_DIR/journal" --json | grep -c '"table":"watermark"')"
t_eq "no row snapshotted twice by one snapshot" "$(wc -l < "$H_DIR/snap_ids")" "$(sort -u "$H_DIR/snap_ids" | wc -l)"
t_eq "  ... nor by the second" 0 "$(snap_ids | sort | uniq -c | awk '$1 > 2' | wc -l)"
t_check "no more snapshot rows than rows ever in the table" [ "$(wc -l < "$H_DIR/snap_ids")" -le $((ROWS + 400)) ]
t_check "snapshot rows have the after image" bash -c "'$FL_DUMP' '$H_DIR/journal' --json | grep -q '\"op\":\"snapshot\",\"db\":\"app\",\"table\":\"pairs\",\"after\":{\"a\":0,\"b\":\"k1\",\"n\":1}'"
t_check "the text form names the chunk" bash -c "'$FL_DUMP' '$H_DIR/journal' | grep -q 'snapshot app.items chunk 0$'"

verify_ok() { timeout 120 "$FL_APPLY" -c "$H_DIR/$1" --verify >"$H_DIR/verify.$1" 2>&1; }
h_wait_until 120 verify_ok s.ini; rc=$?
tail -8 "$H_DIR/verify.s.ini" | sed 's/^/  | /'
t_eq "--verify: every row equals its key, no extra keys (once the applier caught up)" 0 "$rc"
h_wait_until 120 verify_ok m.ini; rc=$?
tail -8 "$H_DIR/verify.m.ini" | sed 's/^/  | /'
t_eq "--verify on memcached: every row equals its key (once the applier caught up)" 0 "$rc"
touch "$H_DIR/stop"
wait $READER_REDIS $READER_MC
for target in redis mc; do
  r=$(head -1 "$H_DIR/reader-$target.out")
  t_check "$target reader: versions never went down, no deleted row came back ($r)" grep -q "decreased=0 reappeared=0" <<<"$r"
  t_check "$target reader: sampled ($r)" [ "$(sed 's/samples=\([0-9]*\).*/\1/' <<<"$r")" -gt 10 ]
  [ "$(wc -l < "$H_DIR/reader-$target.out")" -le 1 ] || sed 's/^/  | /' "$H_DIR/reader-$target.out"
done
kill -TERM $APPLY_REDIS $APPLY_MC
wait $APPLY_REDIS; rc_r=$?; wait $APPLY_MC; rc_m=$?
t_eq "the appliers stop cleanly" "0 0" "$rc_r $rc_m"
back=0
for k in $(sort -u "$DELETING"); do
  [ -z "$(h_mc_get "item:${k#ver:}")$(h_mc_get "$k")" ] || back=$((back + 1))
done
t_eq "memcached: no key of a deleted row" 0 "$back"
t_eq "item keys: one per row" "$(h_sql "SELECT COUNT(*) FROM app.items")" "$(h_redis --scan --pattern 'item:*' | wc -l)"
t_eq "pair keys: one per row" "$(h_sql "SELECT COUNT(*) FROM app.pairs")" "$(h_redis --scan --pattern 'pair:*' | wc -l)"
ttl=$(h_redis TTL item:1)
t_check "snapshot rows get the rule's TTL ($ttl)" [ "$ttl" -gt 80000 ]
t_done
