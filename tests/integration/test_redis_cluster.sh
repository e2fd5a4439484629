#!/usr/bin/env bash
# test_redis_cluster.sh — fl-apply into a real Redis Cluster (3 primaries, 3 replicas on
# loopback). A workload over tables whose keys carry a hash tag and tables whose keys do not:
# at the end every row equals its key on the cluster, with no other key. A bank table whose
# keys share one hash tag: a reader summing every account in one script on the owning
# primary (atomic there) never sees the total change. fl-apply is killed with SIGKILL five
# times while it applies: the end state still equals the database, and a counter the workload
# increments equals the cached value (nothing applied twice, nothing lost). --status reads
# the checkpoint back from the cluster. A kill where slots are ahead of the resume point,
# made so on purpose: the primary holding the applier's checkpoint refuses writes for a while
# (CLIENT PAUSE WRITE) while a running applier takes a new batch, so the other primaries write
# their slots and slot checkpoints past it; the applier is killed there, and the restart
# resumes at the old checkpoint and skips on those slots what they hold. Then every slot of
# the primary that holds the bank is moved to another one (redis-cli --cluster reshard) while
# more of the workload is applied: the same holds. Last, a TRUNCATE deletes the rule's keys
# (by pattern) on every primary.
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_redis_cluster
J=$H_DIR/journal
mkdir -p "$J"
ingest() { h_ingest "$J"; }
last_seq() { h_last_seq "$J"; }
db_state() {
  h_sql "SELECT CONCAT('{user:', id, '}:name'), name FROM app.users
         UNION ALL SELECT CONCAT('item:', id), v FROM app.items
         UNION ALL SELECT CONCAT('{bank}:acct:', id), bal FROM app.bank
         UNION ALL SELECT CONCAT('cnt:', id), n FROM app.counter" | LC_ALL=C sort
}

ACCOUNTS=20
h_sql "CREATE DATABASE app;
CREATE TABLE app.users (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL);
CREATE TABLE app.items (id INT PRIMARY KEY, v INT NOT NULL);
CREATE TABLE app.bank (id INT PRIMARY KEY, bal INT NOT NULL);
CREATE TABLE app.counter (id INT PRIMARY KEY, n INT NOT NULL);
INSERT INTO app.counter VALUES (1, 0);" || h_die "schema"
{
  echo "BEGIN;"
  for a in $(seq 1 $ACCOUNTS); do echo "INSERT INTO app.bank VALUES ($a, 1000);"; done
  echo "COMMIT;"
} | h_sql_file /dev/stdin || h_die "accounts"
TOTAL=$((ACCOUNTS * 1000))

{
  printf '[apply]\nname = cl\njournal = %s\ntarget = %s\n' "$J" "$CLUSTER_URL"
  printf '[rule users]\ntable = app.users\nkey = {{user:{id}}}:name\nformat = column:name\n'
  printf '[rule items]\ntable = app.items\nkey = item:{id}\nformat = column:v\n'
  printf '[rule bank]\ntable = app.bank\nkey = {{bank}}:acct:{id}\nformat = column:bal\n'
  printf '[rule counter]\ntable = app.counter\nkey = cnt:{id}\nformat = column:n\n'
} > "$H_DIR/apply.ini"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --once > "$H_DIR/first.log" 2>&1
t_eq "the first apply exits 0" 0 "$?"
t_eq "the accounts are cached" "$TOTAL" "$(h_rc EVAL "local s = 0 for _, k in ipairs(KEYS) do s = s + tonumber(redis.call('GET', k) or 0) end return s" \
  $ACCOUNTS $(seq -f '{bank}:acct:%g' 1 $ACCOUNTS))"

# the reader: sums every account in one script on the primary that owns their tag, and reads
# the counter, which the workload only increments, until stopped
python3 "$(dirname "$0")/cluster_reader.py" "${CLUSTER_PORTS[0]}" $ACCOUNTS $TOTAL cnt:1 "$H_DIR/stop" "$H_DIR/ready" \
  > "$H_DIR/reader.out" 2>&1 &
READER_PID=$!; h_register $READER_PID
h_wait_until 20 test -e "$H_DIR/ready" || h_die "the reader did not start: $(cat "$H_DIR/reader.out")"

# the workload: each transaction moves money between two accounts, bumps the counter, writes an
# item (no hash tag: any slot) and inserts a user (its own tag); workload FROM TO prints
# transactions FROM..TO
workload() {
  local i a b
  for i in $(seq "$1" "$2"); do
    a=$(( (i * 7) % ACCOUNTS + 1 )); b=$(( (i * 13 + 5) % ACCOUNTS + 1 ))
    [ "$a" = "$b" ] && b=$(( a % ACCOUNTS + 1 ))
    echo "BEGIN; UPDATE app.bank SET bal = bal - $i WHERE id = $a; UPDATE app.bank SET bal = bal + $i WHERE id = $b;"
    echo "UPDATE app.counter SET n = n + 1 WHERE id = 1; REPLACE INTO app.items VALUES ($(( i % 500 )), $i);"
    echo "INSERT INTO app.users VALUES ($i, 'user-$i'); COMMIT;"
  done
}
N=6000
{
  workload 1 $N
  echo "DELETE FROM app.items WHERE id < 50; DELETE FROM app.users WHERE id % 10 = 0;"
} > "$H_DIR/w.sql"
h_sql_file "$H_DIR/w.sql" || h_die "workload"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"

# applied with five SIGKILLs along the way, each once the counter shows more progress
counter_at_least() { [ "$(h_rc GET cnt:1)" -ge "$1" ] 2>/dev/null; }
for k in 1 2 3 4 5; do
  "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" >> "$H_DIR/killed.log" 2>&1 &
  pid=$!; h_register $pid
  h_wait_until 120 counter_at_least $(( k * N / 6 )) || h_die "no progress: $(tail -3 "$H_DIR/killed.log")"
  kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
done
timeout 300 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --once > "$H_DIR/last.log" 2>&1
t_eq "the last apply exits 0" 0 "$?"

# a kill while slots are ahead of the resume point: the primary holding fastlane:checkpoint:cl
# refuses writes (the pause lapses by itself after 300 s) while a running applier takes a batch
# of M more transactions. The resume point cannot move; the other primaries write their slots
# of the batch, each with its slot checkpoint (C1), so once one of the batch's users is cached
# on one of them, a slot there is past the resume point: the applier is killed, its
# connections are gone from the paused primary (nothing of it can run there any more), and the
# primary writes again. The restart must resume at the old checkpoint and apply to each slot
# only what it lacks (the reader sees no counter go back; the counter ends equal).
M=300
ckpt_port=$(h_cluster_owner fastlane:checkpoint:cl) || h_die "no primary owns the applier's checkpoint"
batch_cached_elsewhere() { # whether a user of the batch is cached on a primary other than ckpt_port
  local p
  for p in $(h_cluster_primaries | grep -vx "$ckpt_port"); do
    seq -f 'EXISTS {user:%g}:name' $((N + 1)) $((N + M)) | redis-cli -p "$p" 2>/dev/null | grep -qx 1 && return 0
  done
  return 1
}
applier_gone() { ! redis-cli -p "$ckpt_port" client list | grep -q ' name=fastlane-apply:cl '; }
"$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" > "$H_DIR/paused.log" 2>&1 &
pid=$!; h_register $pid
h_wait_until 60 grep -q "resuming after checkpoint seq" "$H_DIR/paused.log" \
  || h_die "the applier did not connect: $(tail -3 "$H_DIR/paused.log")"
redis-cli -p "$ckpt_port" client pause 300000 write | grep -qx OK || h_die "CLIENT PAUSE refused"
before=$(redis-cli -p "$ckpt_port" hget fastlane:checkpoint:cl seq) # the resume point, frozen now
workload $((N + 1)) $((N + M)) | h_sql_file /dev/stdin || h_die "workload while paused"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
h_wait_until 120 batch_cached_elsewhere || h_die "the batch reached no other primary: $(tail -3 "$H_DIR/paused.log")"
kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
h_wait_until 60 applier_gone || h_die "the killed applier's connection stays on $ckpt_port"
redis-cli -p "$ckpt_port" client unpause | grep -qx OK || h_die "CLIENT UNPAUSE refused"
N=$((N + M))
timeout 300 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --once > "$H_DIR/resume.log" 2>&1
t_eq "the apply after the kill exits 0" 0 "$?"
t_check "a restart resumed slots past the applier's checkpoint" \
  grep -q "resuming at seq $before; slots already hold up to seq" "$H_DIR/resume.log"
touch "$H_DIR/stop"; wait "$READER_PID"

h_log "reader: $(head -3 "$H_DIR/reader.out" | tr '\n' ' ')"
t_check "the reader sampled" grep -q "samples=[1-9]" "$H_DIR/reader.out"
t_check "the reader never saw the total change" grep -q "bad_total=0 " "$H_DIR/reader.out"
t_check "... nor the counter go back (nothing applied twice)" grep -q "decreased=0$" "$H_DIR/reader.out"
t_eq "the counter equals the database's" "$(h_sql 'SELECT n FROM app.counter')" "$(h_rc GET cnt:1)"
t_eq "the counter is the number of transactions" "$N" "$(h_rc GET cnt:1)"
db_state > "$H_DIR/db.tsv"; h_cluster_cache_state > "$H_DIR/cache.tsv"
t_check "rows were written" test "$(wc -l < "$H_DIR/db.tsv")" -gt 5000
t_eq "every row equals its key, and there is no other key" "" "$(diff "$H_DIR/db.tsv" "$H_DIR/cache.tsv" | head -5)"
t_check "the keys are spread over every primary" test "$(for p in $(h_cluster_primaries); do test -s "$H_DIR/keys.$p" && echo "$p"; done | wc -l)" -eq 3
"$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --status > "$H_DIR/status.out" 2>&1
t_check "--status reads the checkpoint from the cluster" grep -q "checkpoint: seq $(last_seq)," "$H_DIR/status.out"

# ---- resharding while applying ----
# (on a loaded machine a node can be flagged failing for a moment after the pause above, and
# redis-cli --cluster reshard then stops at CLUSTERDOWN)
h_wait_until 60 h_cluster_ok || h_die "the cluster is not ok before the reshard"
slots_of() { # PORT: how many slots the primary owns
  redis-cli --cluster info "127.0.0.1:${CLUSTER_PORTS[0]}" 2>/dev/null | sed -n "s/^127.0.0.1:$1 .*| \([0-9]*\) slots |.*/\1/p"
}
from=$(h_cluster_owner '{bank}:acct:1') || h_die "no primary owns the bank"
to=$(h_cluster_primaries | grep -vx "$from" | head -1)
nslots=$(slots_of "$from")
rm -f "$H_DIR/stop" "$H_DIR/ready"
python3 "$(dirname "$0")/cluster_reader.py" "${CLUSTER_PORTS[0]}" $ACCOUNTS $TOTAL cnt:1 "$H_DIR/stop" "$H_DIR/ready" \
  > "$H_DIR/reader2.out" 2>&1 &
READER_PID=$!; h_register $READER_PID
h_wait_until 20 test -e "$H_DIR/ready" || h_die "the reader did not start: $(cat "$H_DIR/reader2.out")"
"$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" > "$H_DIR/reshard-apply.log" 2>&1 &
APPLY_PID=$!; h_register $APPLY_PID
timeout 300 redis-cli --cluster reshard "127.0.0.1:$from" --cluster-from "$(redis-cli -p "$from" cluster myid)" \
  --cluster-to "$(redis-cli -p "$to" cluster myid)" --cluster-slots "$nslots" --cluster-yes > "$H_DIR/reshard.log" 2>&1 &
RESHARD_PID=$!; h_register $RESHARD_PID
N2=0
while kill -0 "$RESHARD_PID" 2>/dev/null && [ $N2 -lt 20000 ]; do # batches of the workload while slots move
  workload $((N + N2 + 1)) $((N + N2 + 200)) | h_sql_file /dev/stdin || h_die "workload during the reshard"
  N2=$((N2 + 200))
  ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
done
wait "$RESHARD_PID"; t_eq "the reshard completes" 0 "$?"
h_wait_until 60 h_cluster_ok || h_die "the cluster is not ok after the reshard"
t_eq "the bank's slot moved" "$to" "$(h_cluster_owner '{bank}:acct:1')"
h_log "applied $N2 more transactions while $nslots slots moved from $from to $to"
t_check "... while the workload was being applied" test "$N2" -gt 0
counter_is() { [ "$(h_rc GET cnt:1)" = "$1" ]; }
t_check "the running applier catches up after the reshard" h_wait_until 120 counter_is $((N + N2))
t_check "... and kept running through it" kill -0 "$APPLY_PID"
kill -TERM "$APPLY_PID"; wait "$APPLY_PID"
t_eq "... and stops cleanly" 0 "$?"
timeout 300 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --once > "$H_DIR/last2.log" 2>&1
t_eq "the apply after the reshard exits 0" 0 "$?"
touch "$H_DIR/stop"; wait "$READER_PID"
h_log "reader: $(head -3 "$H_DIR/reader2.out" | tr '\n' ' ')"
t_check "the reader sampled during the reshard" grep -q "samples=[1-9]" "$H_DIR/reader2.out"
t_check "... never saw the total change" grep -q "bad_total=0 " "$H_DIR/reader2.out"
t_check "... nor the counter go back" grep -q "decreased=0$" "$H_DIR/reader2.out"
t_eq "the counter equals the database's after the reshard" "$(h_sql 'SELECT n FROM app.counter')" "$(h_rc GET cnt:1)"
db_state > "$H_DIR/db2.tsv"; h_cluster_cache_state > "$H_DIR/cache2.tsv"
t_eq "every row equals its key after the reshard, and there is no other key" "" "$(diff "$H_DIR/db2.tsv" "$H_DIR/cache2.tsv" | head -5)"

# ---- a TRUNCATE: the rule's keys are deleted on every primary, nothing else ----
users_keys() { local p; for p in $(h_cluster_primaries); do redis-cli -p "$p" --scan --pattern '{user:*}:name'; done | wc -l; }
t_check "users are cached on the cluster" test "$(users_keys)" -gt 1000
h_sql "TRUNCATE TABLE app.users; UPDATE app.counter SET n = n + 1 WHERE id = 1;" || h_die "truncate"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --once > "$H_DIR/truncate.log" 2>&1
t_eq "the apply of the TRUNCATE exits 0" 0 "$?"
t_check "... deleting the rule's keys by pattern on every primary" grep -q "deleting the keys matching" "$H_DIR/truncate.log"
t_eq "... all of them" 0 "$(users_keys)"
db_state > "$H_DIR/db3.tsv"; h_cluster_cache_state > "$H_DIR/cache3.tsv"
t_eq "every row equals its key after the TRUNCATE, and there is no other key" "" "$(diff "$H_DIR/db3.tsv" "$H_DIR/cache3.tsv" | head -5)"

t_done
