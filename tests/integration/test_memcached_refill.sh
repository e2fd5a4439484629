#!/usr/bin/env bash
# test_memcached_refill.sh — one memcached server of three restarts empty in the middle of a
# live stream: only it is refilled from the journal (the others receive nothing but the new
# transactions), a reader sampling counters meanwhile never sees one go down (nor a key of a
# healthy server go missing), and the end state equals the database. Then an idle applier
# keeps its marker alive on a small memcached that a flood of other items churns through.
source "$(dirname "$0")/../harness.sh"
READER=$(dirname "$0")/monotonic_reader.py

h_start_mariadb
for i in 1 2 3; do
  h_start_memcached
  eval "MC${i}_PORT=$MEMCACHED_PORT MC${i}_PID=$MEMCACHED_PID"
done
J=$H_DIR/journal
mkdir -p "$J"
cat > "$H_DIR/relay.ini" <<CFG
$(h_source_config)
start = earliest
heartbeat = 1
[journal]
path = $J
CFG
"$FL_BUILD/fl-relay" -c "$H_DIR/relay.ini" >"$H_DIR/relay.log" 2>&1 &
h_register $!

ROWS=60
h_sql "CREATE DATABASE app; CREATE TABLE app.c (id INT PRIMARY KEY, n BIGINT NOT NULL);
DELIMITER //
CREATE PROCEDURE app.bump(cnt INT, pause DOUBLE) BEGIN DECLARE i INT DEFAULT 0;
  WHILE i < cnt DO UPDATE app.c SET n = n + 1 WHERE id = 1 + i % $ROWS; IF pause > 0 THEN DO SLEEP(pause); END IF;
  SET i = i + 1; END WHILE; END //
DELIMITER ;" || h_die "schema"
for i in $(seq 1 $ROWS); do echo "INSERT INTO app.c VALUES ($i, 0);"; done > "$H_DIR/fill.sql"
h_sql_file "$H_DIR/fill.sql"
seq 1 $ROWS | sed 's/^/c:/' > "$H_DIR/keys"
: > "$H_DIR/deleted"

cat > "$H_DIR/mc.ini" <<CFG
$(h_source_config)
[apply]
name = refill
journal = $J
target = memcached://127.0.0.1:$MC1_PORT,127.0.0.1:$MC2_PORT,127.0.0.1:$MC3_PORT
checkpoint_path = $H_DIR/mc.checkpoint
[rule c]
table = app.c
key = c:{id}
format = column:n
CFG
"$FL_BUILD/fl-apply" -c "$H_DIR/mc.ini" >"$H_DIR/apply.log" 2>&1 &
APPLY_PID=$!
h_register $APPLY_PID

last_seq() { h_last_seq "$J"; }
# the journal holds everything the server wrote, and every server in the checkpoint file holds
# everything up to the journal's last transaction
caught_up() {
  h_journaled_all "$J" || return 1
  local want; want=$(last_seq)
  [ -n "$want" ] && [ "$want" = "$(sed -n 's/^seq //p' "$H_DIR/mc.checkpoint" 2>/dev/null)" ] &&
    ! awk -v w="$want" '/^server / && $4 != w { bad = 1 } END { exit !bad }' "$H_DIR/mc.checkpoint"
}
wait_caught_up() { h_wait_until 60 caught_up; }
epoch_of() { awk -v s="127.0.0.1:$1" '$1 == "server" && $2 == s { print $3 }' "$H_DIR/mc.checkpoint"; }
cmd_set() { # sets a memcached server has executed
  exec 3<>/dev/tcp/127.0.0.1/"$1"; printf 'stats\r\n' >&3
  local line; while IFS= read -r -t 5 line <&3; do line=${line%$'\r'}
    [[ $line == "STAT cmd_set "* ]] && echo "${line##* }"; [ "$line" = END ] && break; done
  exec 3<&-
}

# a history: 3000 transactions, all applied
h_sql "CALL app.bump(3000, 0)"
t_check "history applied to all three servers" wait_caught_up
E1=$(epoch_of "$MC1_PORT"); E2=$(epoch_of "$MC2_PORT"); E3=$(epoch_of "$MC3_PORT")
t_check "each server has an epoch of its own" bash -c "[ -n '$E1' ] && [ '$E1' != '$E2' ] && [ '$E2' != '$E3' ]"
per_server=$(for p in "$MC1_PORT" "$MC2_PORT" "$MC3_PORT"; do
  n=0; for k in $(cat "$H_DIR/keys"); do MEMCACHED_PORT=$p; [ -n "$(h_mc_get "$k")" ] && n=$((n + 1)); done; echo -n "$n "; done)
echo "# keys per server: $per_server"

# the reader samples every key on every server while the third one restarts empty mid-stream
rm -f "$H_DIR/stop" "$H_DIR/ready"
python3 "$READER" memcached "$MC1_PORT,$MC2_PORT,$MC3_PORT" "$H_DIR/keys" "$H_DIR/deleted" \
  "$MC1_PORT,$MC2_PORT" "$H_DIR/stop" "$H_DIR/ready" > "$H_DIR/reader.out" 2>&1 &
READER_PID=$!
h_register $READER_PID
t_check "reader: has seen every key" h_wait_until 20 test -e "$H_DIR/ready"
h_sql "CALL app.bump(1000, 0.001)" &
LOAD_PID=$!
sleep 0.5
SET1=$(cmd_set "$MC1_PORT"); SET2=$(cmd_set "$MC2_PORT")
kill -KILL "$MC3_PID"; wait "$MC3_PID" 2>/dev/null
MEMCACHED_PORT_FIXED=$MC3_PORT h_start_memcached; MC3_PID=$MEMCACHED_PID
wait "$LOAD_PID"
t_check "after the restart: every server caught up with the journal" wait_caught_up
touch "$H_DIR/stop"; wait "$READER_PID"
sed 's/^/# reader: /' "$H_DIR/reader.out"
t_check "reader: no counter ever went down" grep -q " decreased=0 " "$H_DIR/reader.out"
t_check "reader: no key of a healthy server went missing" grep -q " vanished=0" "$H_DIR/reader.out"
sets_healthy=$(( $(cmd_set "$MC1_PORT") - SET1 + $(cmd_set "$MC2_PORT") - SET2 ))
t_check "healthy servers got only new transactions ($sets_healthy sets for at most 1000 updates), not a replay" \
  test "$sets_healthy" -le 1000
t_check "the restarted server was noticed" grep -q "memcached 127.0.0.1:$MC3_PORT lost its data" "$H_DIR/apply.log"
t_check "no healthy server was taken for lost" \
  bash -c "! grep -E 'memcached 127.0.0.1:($MC1_PORT|$MC2_PORT) lost its data' '$H_DIR/apply.log'"
t_check "the refill was folded" grep -q "replaying seq 1\.\..*folded" "$H_DIR/apply.log"
t_eq "healthy servers kept their epochs" "$E1 $E2" "$(epoch_of "$MC1_PORT") $(epoch_of "$MC2_PORT")"
t_check "the restarted server got a new epoch" bash -c "[ '$(epoch_of "$MC3_PORT")' != '$E3' ]"
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/mc.ini" --verify 2>&1); rc=$?
t_eq "verify: the cache equals the database" 0 "$rc"
[ "$rc" = 0 ] || echo "$out" | head -20
kill -TERM "$APPLY_PID"; wait "$APPLY_PID"
t_eq "SIGTERM exits 0" 0 $?

# ---- an idle applier keeps its marker alive ---------------------------------------------------
# a small memcached; a flood of items of the marker's size turns it over every ~10 s, for longer
# than that, while the applier has nothing to do
h_start_memcached -m 2
SMALL=$MEMCACHED_PORT
sed -e "s/^name = refill/name = idle/" -e "s|^target = .*|target = memcached://127.0.0.1:$SMALL|" \
  -e "s|^checkpoint_path = .*|checkpoint_path = $H_DIR/idle.checkpoint|" "$H_DIR/mc.ini" > "$H_DIR/idle.ini"
"$FL_BUILD/fl-apply" -c "$H_DIR/idle.ini" >"$H_DIR/idle.log" 2>&1 &
IDLE_PID=$!
h_register $IDLE_PID
t_check "idle: the applier caught up" h_wait_until 60 bash -c "[ \"\$(sed -n 's/^seq //p' '$H_DIR/idle.checkpoint' 2>/dev/null)\" = '$(last_seq)' ]"
python3 - "$SMALL" 25 2500 <<'PY' > "$H_DIR/flood.out"
import socket, sys, time
port, seconds, rate = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port))
t0, i = time.time(), 0
while time.time() < t0 + seconds:  # keys as long as the marker's, 16-byte values
    want = int((time.time() - t0) * rate)
    s.sendall(b"".join(b"set junk:%014d 0 0 16 noreply\r\n%016d\r\n" % (k, k) for k in range(i, want)))
    i = want
    time.sleep(0.01)
s.sendall(b"stats\r\n")
data = b""
while not data.endswith(b"END\r\n"):
    data += s.recv(65536)
print(i, [l for l in data.decode().split("\r\n") if l.startswith("STAT evictions ")][0].split()[2])
PY
read -r flooded evictions < "$H_DIR/flood.out"
echo "# flood: $flooded items, $evictions evictions"
t_check "idle: the flood evicted many items" test "$evictions" -gt 20000
MEMCACHED_PORT=$SMALL
t_check "idle: the marker is still there" test -n "$(h_mc_get fastlane:epoch:idle)"
before=$(last_seq)
h_sql "UPDATE app.c SET n = n + 1 WHERE id = 1"
h_wait_until 30 bash -c "[ \"\$('$FL_BUILD/fl-dump' --stats '$J' | sed -n 's/.*\"last_seq\":\([0-9]*\).*/\1/p')\" -gt $before ]"
t_check "idle: the next transaction is applied" h_wait_until 30 bash -c "[ \"\$(sed -n 's/^seq //p' '$H_DIR/idle.checkpoint')\" = '$(last_seq)' ]"
t_check "idle: no refill" bash -c "! grep -q 'lost its data' '$H_DIR/idle.log'"
kill -TERM "$IDLE_PID"; wait "$IDLE_PID"

t_done
