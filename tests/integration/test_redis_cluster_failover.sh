#!/usr/bin/env bash
# test_redis_cluster_failover.sh — a primary of the Redis Cluster is killed (kill -9) while
# fl-apply applies to it, and its replica is promoted. The replica is held back (SIGSTOP)
# while the applier writes more to that primary than the sockets between them can buffer, so
# the promoted replica lacks transactions the dead primary had acknowledged, as an
# asynchronous replica can. The applier (default cluster_wait_replicas = 1) never moved its
# resume point past what the replica had not confirmed, so after the failover it applies
# again what each slot of the promoted replica lacks: the end state equals the database and
# the counter the workload increments equals the database's (nothing lost, nothing twice).
# Then --status and --verify read the cluster: every key from the primary owning its slot. Last,
# a connection an earlier run left with commands queued in a primary is ended by the next run.
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_redis_cluster --cluster-replica-validity-factor 0
J=$H_DIR/journal
mkdir -p "$J"
ingest() { h_ingest "$J"; }
STOPPED=
alive() { [ "$1" != "$STOPPED" ] && kill -0 "${CLUSTER_PIDS[$1]}" 2>/dev/null; }
primaries() { # the ports of the running nodes that are primaries now
  local p
  for p in "${CLUSTER_PORTS[@]}"; do
    alive "$p" && timeout 5 redis-cli -p "$p" role 2>/dev/null | head -1 | grep -qx master && echo "$p"
  done
}
rc() { # redis-cli in cluster mode through a running node
  local p
  for p in "${CLUSTER_PORTS[@]}"; do alive "$p" && break; done
  timeout 10 redis-cli -c -p "$p" "$@"
}
owner_of() { # KEY: the port of the primary that owns KEY's slot now
  local p
  for p in $(primaries); do
    timeout 5 redis-cli -p "$p" EXISTS "$1" 2>/dev/null | grep -qx '[01]' && { echo "$p"; return 0; }
  done
  return 1
}
cache_state() { # every key of the cluster but the applier's own, with its value, sorted
  local p
  for p in $(primaries); do
    redis-cli -p "$p" --scan | grep -v '^fastlane:' > "$H_DIR/keys.$p"
    sed 's/^/GET /' "$H_DIR/keys.$p" | redis-cli -p "$p" > "$H_DIR/vals.$p"
    paste "$H_DIR/keys.$p" "$H_DIR/vals.$p"
  done | LC_ALL=C sort
}

# the hot tag: on another primary than the applier's resume point, so that the failover does
# not also take the resume point back
CKEY=fastlane:checkpoint:fo
for TAG in hot0 hot1 hot2 hot3 hot4 hot5 hot6 hot7; do
  [ "$(owner_of "{$TAG}")" != "$(owner_of "$CKEY")" ] && break
done
db_state() {
  h_sql "SELECT CONCAT('{user:', id, '}:name'), name FROM app.users
         UNION ALL SELECT CONCAT('{$TAG}:doc:', id), body FROM app.docs
         UNION ALL SELECT CONCAT('{$TAG}:cnt:', id), n FROM app.counter" | LC_ALL=C sort
}
h_sql "CREATE DATABASE app;
CREATE TABLE app.users (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL);
CREATE TABLE app.docs (id INT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE app.counter (id INT PRIMARY KEY, n INT NOT NULL);
INSERT INTO app.counter VALUES (1, 0);" || h_die "schema"
{
  printf '[apply]\nname = fo\njournal = %s\ntarget = %s\n' "$J" "$CLUSTER_URL"
  printf '[rule users]\ntable = app.users\nkey = {{user:{id}}}:name\nformat = column:name\n'
  printf '[rule docs]\ntable = app.docs\nkey = {{%s}}:doc:{id}\nformat = column:body\n' "$TAG"
  printf '[rule counter]\ntable = app.counter\nkey = {{%s}}:cnt:{id}\nformat = column:n\n' "$TAG"
} > "$H_DIR/apply.ini"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --once > "$H_DIR/first.log" 2>&1
t_eq "the first apply exits 0" 0 "$?"
FIRST=$(rc HGET "$CKEY" seq)
t_check "the resume point is written" test -n "$FIRST"

P=$(owner_of "{$TAG}:cnt:1") || h_die "no primary owns {$TAG}"
R=$(redis-cli -p "$P" cluster nodes | awk -v id="$(redis-cli -p "$P" cluster myid)" '$4 == id { split($2, a, "[:@]"); print a[2] }')
[ -n "$R" ] || h_die "the hot tag's primary $P has no replica"
h_log "tag {$TAG}: primary $P, replica $R; the resume point is on $(owner_of "$CKEY")"

"$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" > "$H_DIR/apply.log" 2>&1 &
APPLY_PID=$!; h_register $APPLY_PID
h_wait_until 30 grep -q "connected to the redis-cluster target" "$H_DIR/apply.log" || h_die "the applier did not connect"

# the replica stops reading its primary's stream; the workload writes ~24 MB to that primary
kill -STOP "${CLUSTER_PIDS[$R]}"; STOPPED=$R
N=3000
{
  for i in $(seq 1 $N); do
    echo "BEGIN; UPDATE app.counter SET n = n + 1 WHERE id = 1;"
    echo "INSERT INTO app.docs VALUES ($i, REPEAT(CHAR(97 + $i % 26), 8000)); INSERT INTO app.users VALUES ($i, 'user-$i'); COMMIT;"
  done
} > "$H_DIR/w.sql"
h_sql_file "$H_DIR/w.sql" || h_die "workload"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
LAST=$(h_last_seq "$J")
on_primary() { [ "$(timeout 5 redis-cli -p "$P" GET "{$TAG}:cnt:1")" = "$N" ]; }
t_check "the primary acknowledged every transaction" h_wait_until 180 on_primary
# the applier has flushed after catching up: it moved its resume point, or held it back
flushed() { [ "$(rc HGET "$CKEY" seq)" = "$LAST" ] || grep -q "replicas confirmed the writes within" "$H_DIR/apply.log"; }
h_wait_until 60 flushed || h_die "the applier did not flush: $(tail -3 "$H_DIR/apply.log")"
h_log "resume point at seq $(rc HGET "$CKEY" seq) (first apply $FIRST, journal $LAST)"

# the primary dies; its replica resumes and is promoted without what the primary still buffered
kill -KILL "${CLUSTER_PIDS[$P]}"; wait "${CLUSTER_PIDS[$P]}" 2>/dev/null
kill -CONT "${CLUSTER_PIDS[$R]}"; STOPPED=
promoted() {
  redis-cli -p "$R" role | head -1 | grep -qx master || return 1
  local p
  for p in "${CLUSTER_PORTS[@]}"; do
    alive "$p" || continue
    redis-cli -p "$p" cluster info | grep -q '^cluster_state:ok' || return 1
  done
}
h_wait_until 60 promoted || h_die "the replica was not promoted: $(redis-cli -p "$R" cluster info | head -3)"
HAD=$(redis-cli -p "$R" GET "{$TAG}:cnt:1")
h_log "the promoted replica had the counter at $HAD of $N"
t_check "the promoted replica lacked transactions its primary had acknowledged" test "${HAD:-0}" -lt "$N"

on_promoted() { [ "$(redis-cli -p "$R" GET "{$TAG}:cnt:1")" = "$N" ]; }
t_check "the running applier applies again what the promoted replica lacks" h_wait_until 120 on_promoted
t_check "... and kept running through the failover" kill -0 "$APPLY_PID"
t_check "... having held its resume point while the replica lagged" grep -q "replicas confirmed the writes within" "$H_DIR/apply.log"
kill -TERM "$APPLY_PID"; wait "$APPLY_PID"
t_eq "... and stops cleanly" 0 "$?"
timeout 300 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --once > "$H_DIR/last.log" 2>&1
t_eq "the apply after the failover exits 0" 0 "$?"
t_eq "the counter equals the database's" "$(h_sql 'SELECT n FROM app.counter')" "$(rc GET "{$TAG}:cnt:1")"
db_state > "$H_DIR/db.tsv"; cache_state > "$H_DIR/cache.tsv"
t_check "rows were written" test "$(wc -l < "$H_DIR/db.tsv")" -gt 6000
t_eq "every row equals its key, and there is no other key" "" "$(diff "$H_DIR/db.tsv" "$H_DIR/cache.tsv" | cut -c1-100 | head -5)"
t_eq "the resume point is the journal's end" "$LAST" "$(rc HGET "$CKEY" seq)"
"$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --status > "$H_DIR/status.out" 2>&1
t_check "--status reads the resume point from the cluster" grep -q "checkpoint: seq $LAST," "$H_DIR/status.out"

# --verify reads each key from the primary that owns its slot and scans every primary
{ cat "$H_DIR/apply.ini"; h_source_config; } > "$H_DIR/verify.ini"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/verify.ini" --verify > "$H_DIR/verify.out" 2>&1
t_eq "--verify against the cluster: every key matches" 0 "$?"
t_check "... all of them" grep -q "^matching *$(wc -l < "$H_DIR/db.tsv")$" "$H_DIR/verify.out"
rc SET "{user:7}:name" wrong > /dev/null
rc DEL "{$TAG}:doc:5" > /dev/null
rc SET "{user:0}:name" ghost > /dev/null
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/verify.ini" --verify > "$H_DIR/verify2.out" 2>&1
t_eq "--verify finds the differences" 1 "$?"
t_check "... a stale key" grep -q "^stale *1$" "$H_DIR/verify2.out"
t_check "... a missing key" grep -q "^missing *1$" "$H_DIR/verify2.out"
t_check "... an extra key, on whichever primary holds it" grep -q "^extra *1$" "$H_DIR/verify2.out"
t_check "... each named" grep -q "{user:0}:name" "$H_DIR/verify2.out"

# a connection of an earlier run of this applier whose commands wait in the server's input
# buffer (here: behind a BLPOP that blocks it): the next run ends it on every primary before
# reading the slot checkpoints, so its stale SET never runs
cat > "$H_DIR/stale.py" <<'PY'
import os, socket, sys, time
port, name, block, key, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
def cmd(*a):
    out = b"*%d\r\n" % len(a)
    for x in a:
        x = x.encode()
        out += b"$%d\r\n%s\r\n" % (len(x), x)
    return out
s = socket.create_connection(("127.0.0.1", port), timeout=30)
s.sendall(cmd("CLIENT", "SETNAME", name))
assert s.recv(100).startswith(b"+OK")
s.sendall(cmd("BLPOP", block, "0") + cmd("SET", key, "-1"))
while not os.path.exists(stop):
    time.sleep(0.05)
PY
python3 "$H_DIR/stale.py" "$R" fastlane-apply:fo "{$TAG}:block" "{$TAG}:cnt:1" "$H_DIR/stale.stop" > "$H_DIR/stale.out" 2>&1 &
STALE_PID=$!; h_register $STALE_PID
blocked() { redis-cli -p "$R" client list | grep -q "name=fastlane-apply:fo .*cmd=blpop"; }
h_wait_until 20 blocked || h_die "the stale connection did not block: $(cat "$H_DIR/stale.out")"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --once > "$H_DIR/fence.log" 2>&1
t_eq "an applier run after it exits 0" 0 "$?"
t_check "... having ended the earlier connection" grep -q "ended a previous connection of this applier" "$H_DIR/fence.log"
rc LPUSH "{$TAG}:block" go > /dev/null
touch "$H_DIR/stale.stop"; wait "$STALE_PID" 2>/dev/null
t_eq "... whose queued SET never ran" "$N" "$(rc GET "{$TAG}:cnt:1")"

t_done
