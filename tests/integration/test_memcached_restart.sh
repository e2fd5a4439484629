#!/usr/bin/env bash
# test_memcached_restart.sh — a memcached that restarts forgets everything while fl-apply's
# checkpoint file still says "applied": the epoch marker makes fl-apply notice and apply the
# journal again, so --verify passes after a restart between runs and in the middle of a stream.
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_memcached
J=$H_DIR/journal
mkdir -p "$J"
ingest() { h_ingest "$J"; }
last_seq() { h_last_seq "$J"; }
cp_seq() { sed -n 's/^seq //p' "$H_DIR/mc.checkpoint" 2>/dev/null; }
restart_memcached() {
  kill -KILL "$MEMCACHED_PID"; wait "$MEMCACHED_PID" 2>/dev/null
  MEMCACHED_PORT_FIXED=$MEMCACHED_PORT h_start_memcached
}
verify() { out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/mc.ini" --verify 2>&1); rc=$?; }

h_sql "CREATE DATABASE app; CREATE TABLE app.users (id INT PRIMARY KEY, name VARCHAR(32), n INT);"
for i in $(seq 1 50); do echo "INSERT INTO app.users VALUES ($i, 'u$i', 0);"; done > "$H_DIR/fill.sql"
h_sql_file "$H_DIR/fill.sql"
ingest || h_die "ingest failed: $(tail -3 "$H_DIR/ingest.log")"

cat > "$H_DIR/mc.ini" <<CFG
$(h_source_config)
[journal]
path = $J
[apply]
name = mc
target = memcached://127.0.0.1:$MEMCACHED_PORT
checkpoint_path = $H_DIR/mc.checkpoint
[rule users]
table = app.users
key = user:{id}
CFG

timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/mc.ini" --once >"$H_DIR/once1.log" 2>&1
t_eq "first run: --once exits 0" 0 $?
t_eq "first run: checkpoint at the journal's end" "$(last_seq)" "$(cp_seq)"
verify
t_eq "first run: verify passes" 0 "$rc"

# restart between runs: the data is gone, the checkpoint file is not
restart_memcached
verify
t_eq "after the restart the cache is empty (verify fails)" 1 "$rc"
timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/mc.ini" --once >"$H_DIR/once2.log" 2>&1
t_eq "second run: --once exits 0" 0 $?
t_check "second run: says it applies the journal again" grep -q "lost its data" "$H_DIR/once2.log"
verify
t_eq "second run: verify passes" 0 "$rc"
timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/mc.ini" --once >"$H_DIR/once3.log" 2>&1
t_check "third run: resumes from the checkpoint" bash -c "! grep -q 'lost its data' '$H_DIR/once3.log'"

# restart in the middle of a live stream
"$FL_BUILD/fl-apply" -c "$H_DIR/mc.ini" >"$H_DIR/live.log" 2>&1 &
APPLY_PID=$!
h_register $APPLY_PID
for round in 1 2 3; do
  for i in $(seq 1 40); do echo "UPDATE app.users SET n = n + 1, name = 'r$round-$i' WHERE id = $(( (i % 50) + 1 ));"; done > "$H_DIR/upd.sql"
  h_sql_file "$H_DIR/upd.sql"
  ingest
  [ "$round" = 2 ] && restart_memcached
done
h_wait_until 30 bash -c "[ \"\$(sed -n 's/^seq //p' '$H_DIR/mc.checkpoint')\" = '$(last_seq)' ]"
t_eq "live: caught up after the restart" "$(last_seq)" "$(cp_seq)"
t_check "live: the lost data was noticed" grep -q "lost its data" "$H_DIR/live.log"
verify
t_eq "live: verify passes after a mid-stream restart" 0 "$rc"
[ "$rc" = 0 ] || echo "$out" | head -20
kill -TERM $APPLY_PID; wait $APPLY_PID
t_eq "live: SIGTERM exits 0" 0 $?

t_done
