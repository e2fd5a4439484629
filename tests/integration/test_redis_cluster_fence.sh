#!/usr/bin/env bash
# test_redis_cluster_fence.sh — the fence (DESIGN C4) on a real Redis Cluster (3 primaries,
# 3 replicas on loopback, then a fourth primary without slots).
# 1. A node met only through a redirection is fenced before its slot checkpoint is read: one
#    slot is left half-way to the new primary (IMPORTING/MIGRATING, its keys and its slot
#    checkpoint moved), and a stale connection named like the applier waits there with a
#    write queued behind a blocked command. The applier, reading that slot's checkpoint
#    through ASK, must end that connection first: its write never lands, and once the slot's
#    move completes every row still equals its key.
# 2. A second applier with the same name while the first runs stops at once with a clear
#    message and a non-zero exit, without ending the first one's connections; an applier
#    started right after the first was killed (SIGKILL) takes over.
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_redis_cluster
J=$H_DIR/journal
mkdir -p "$J"
ingest() { h_ingest "$J"; }
NAME=fe
db_state() { h_sql "SELECT CONCAT('item:', id), v FROM app.items" | LC_ALL=C sort; }
# the id of the client named fastlane-apply:NAME on PORT that is not one of the applier's
client_named() { redis-cli -p "$1" CLIENT LIST | sed -n "s/^id=\([0-9]*\) .* name=fastlane-apply:$NAME .*/\1/p"; }
not_grep() { ! grep -q "$@"; }
connected_count() { grep -c "connected to the redis-cluster target" "$1"; }

h_sql "CREATE DATABASE app; CREATE TABLE app.items (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL);" || h_die "schema"
{
  echo "BEGIN;"
  for i in $(seq 1 300); do echo "INSERT INTO app.items VALUES ($i, 'v$i');"; done
  echo "COMMIT;"
} | h_sql_file /dev/stdin || h_die "rows"
{
  printf '[apply]\nname = %s\njournal = %s\ntarget = %s\n' "$NAME" "$J" "$CLUSTER_URL"
  printf '[rule items]\ntable = app.items\nkey = item:{id}\nformat = column:v\n'
} > "$H_DIR/apply.ini"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --once > "$H_DIR/first.log" 2>&1
t_eq "the first apply exits 0" 0 "$?"

# ---- 1. a node met through ASK is fenced before its slot checkpoint is read ----
h_add_cluster_primary N4
KEY=item:7
S=$(redis-cli -p "$N4" CLUSTER KEYSLOT "$KEY")
FROM=$(h_cluster_owner "$KEY") || h_die "no primary serves $KEY"
redis-cli -p "$N4" CLUSTER SETSLOT "$S" IMPORTING "$(redis-cli -p "$FROM" CLUSTER MYID)" > /dev/null
redis-cli -p "$FROM" CLUSTER SETSLOT "$S" MIGRATING "$(redis-cli -p "$N4" CLUSTER MYID)" > /dev/null
moved=0
for k in $(redis-cli -p "$FROM" CLUSTER GETKEYSINSLOT "$S" 1000); do
  [ "$(redis-cli -p "$FROM" MIGRATE 127.0.0.1 "$N4" "$k" 0 5000)" = OK ] && moved=$((moved + 1))
done
t_check "the slot's keys and its checkpoint moved to the new primary" \
  test "$(redis-cli -p "$N4" --scan --pattern "fastlane:checkpoint:$NAME:*" | wc -l)" -eq 1
h_log "slot $S of $KEY half-way from $FROM to $N4 ($moved keys moved)"

# the stale connection: named like the applier, a write queued behind a WAIT that blocks
# (the new primary has no replica) until the test unblocks it
exec 7<>"/dev/tcp/127.0.0.1/$N4"
printf 'CLIENT SETNAME fastlane-apply:%s\r\nWAIT 1 0\r\nASKING\r\nSET %s stale\r\n' "$NAME" "$KEY" >&7
h_wait_until 20 test -n "$(client_named "$N4")" || h_die "the stale connection is not there"
STALE=$(client_named "$N4")

"$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" > "$H_DIR/a.log" 2>&1 &
A=$!; h_register $A
h_wait_until 60 grep -q "connected to the redis-cluster target" "$H_DIR/a.log" || h_die "no connect: $(tail -3 "$H_DIR/a.log")"
stale_gone() { ! redis-cli -p "$N4" CLIENT LIST ID "$STALE" | grep -q "id=$STALE "; }
t_check "the applier ended the stale connection on the node it met through ASK" h_wait_until 10 stale_gone
t_check "... and said so" grep -q "$N4: ended a previous connection of this applier (client $STALE)" "$H_DIR/a.log"
redis-cli -p "$N4" CLIENT UNBLOCK "$STALE" > /dev/null # a survivor would now run its write
exec 7>&-
# the move completes: every node learns the slot's new owner
for p in "$N4" "$FROM" $(h_cluster_primaries); do redis-cli -p "$p" CLUSTER SETSLOT "$S" NODE "$(redis-cli -p "$N4" CLUSTER MYID)" > /dev/null; done
h_wait_until 60 h_cluster_ok || h_die "the cluster is not ok after the slot moved"
h_sql "UPDATE app.items SET v = 'w1' WHERE id = 1" || h_die "update"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
item1_is_w1() { [ "$(redis-cli -c -p "${CLUSTER_PORTS[0]}" GET item:1)" = w1 ]; }
h_wait_until 60 item1_is_w1 || h_die "the running applier did not apply the update: $(tail -3 "$H_DIR/a.log")"
t_eq "the stale write never landed" "v7" "$(redis-cli -c -p "$N4" GET "$KEY")"
db_state > "$H_DIR/db.tsv"; h_cluster_cache_state > "$H_DIR/cache.tsv"
t_eq "every row equals its key, and there is no other key" "" "$(diff "$H_DIR/db.tsv" "$H_DIR/cache.tsv" | head -5)"

# ---- 2. one applier per name ----
t_check "the first applier still runs" kill -0 "$A"
before=$(connected_count "$H_DIR/a.log")
timeout 30 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" > "$H_DIR/b.log" 2>&1
rc=$?
t_check "a second applier of the same name stops by itself, non-zero ($rc)" test "$rc" -ne 0 -a "$rc" -ne 124
t_check "... saying another applier of that name runs" grep -q "another applier named $NAME is running" "$H_DIR/b.log"
t_check "... and wrote nothing" not_grep "connected to the redis-cluster target" "$H_DIR/b.log"
t_check "the first applier still runs" kill -0 "$A"
h_sql "UPDATE app.items SET v = 'w2' WHERE id = 2" || h_die "update"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
item_is() { [ "$(redis-cli -c -p "${CLUSTER_PORTS[0]}" GET "item:$1")" = "$2" ]; }
t_check "... and applies" h_wait_until 60 item_is 2 w2
t_eq "... on the connections it had (none was ended)" "$before" "$(connected_count "$H_DIR/a.log")"

kill -KILL "$A"; wait "$A" 2>/dev/null
timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --once > "$H_DIR/c.log" 2>&1
t_eq "an applier started right after the first was killed takes over" 0 "$?"

# a frozen applier (SIGSTOP) still counts as running while its lease lasts; once it lapsed a
# new applier takes over and ends its connections, and the frozen one, woken, stops
"$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" > "$H_DIR/d.log" 2>&1 &
D=$!; h_register $D
h_wait_until 60 grep -q "connected to the redis-cluster target" "$H_DIR/d.log" || h_die "no connect: $(tail -3 "$H_DIR/d.log")"
kill -STOP "$D"
timeout 30 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" > "$H_DIR/e1.log" 2>&1
rc=$?
t_check "an applier started while one of that name is frozen stops, non-zero ($rc)" test "$rc" -ne 0 -a "$rc" -ne 124
lease_lapsed() { [ -z "$(redis-cli -c -p "${CLUSTER_PORTS[0]}" GET "fastlane:applier:$NAME")" ]; }
h_wait_until 40 lease_lapsed || h_die "the frozen applier's lease did not lapse"
"$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" > "$H_DIR/e.log" 2>&1 &
E=$!; h_register $E
h_wait_until 60 grep -q "connected to the redis-cluster target" "$H_DIR/e.log" || h_die "no connect: $(tail -3 "$H_DIR/e.log")"
t_check "once its lease lapsed, a new applier takes over, ending the frozen one's connections" \
  grep -q "ended a previous connection of this applier" "$H_DIR/e.log"
kill -CONT "$D"
d_stopped() { ! kill -0 "$D"; }
t_check "the frozen applier, woken, stops by itself" h_wait_until 60 d_stopped
wait "$D"; rc=$?
t_check "... non-zero ($rc)" test "$rc" -ne 0
t_check "... saying another applier of that name runs" grep -q "another applier named $NAME is running" "$H_DIR/d.log"
h_sql "UPDATE app.items SET v = 'w3' WHERE id = 3" || h_die "update"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
t_check "the new applier applies" h_wait_until 60 item_is 3 w3
kill -TERM "$E"; wait "$E"
db_state > "$H_DIR/db2.tsv"; h_cluster_cache_state > "$H_DIR/cache2.tsv"
t_eq "every row equals its key at the end" "" "$(diff "$H_DIR/db2.tsv" "$H_DIR/cache2.tsv" | head -5)"

t_done
