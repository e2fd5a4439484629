#!/usr/bin/env bash
# test_chaos.sh — the whole chain under load and random faults. sysbench oltp_write_only at a
# fixed rate plus a transfers workload (a bank table whose total never changes) run against a
# private MariaDB for FL_CHAOS_SECONDS (60); fl-relay journals it and serves a feed; one
# fl-apply follows the local journal into Redis, another follows the feed into two memcached
# servers. Every 1–3 s a fault drawn from a seeded generator (FL_CHAOS_SEED; printed) hits:
# SIGKILL of the relay or an applier (restarted), SIGSTOP of the relay (SIGCONT after a
# moment), kill -9 of MariaDB (restarted), Redis or one memcached server restarted empty.
# After the load stops and everything catches up (with deadlines), the journal's GTIDs must
# be the server's binlog GTIDs, and every table must equal the cache on both targets
# (fl-apply --verify, and an independent reading of the bank table from each cache).
source "$(dirname "$0")/../harness.sh"

SEED=${FL_CHAOS_SEED:-$(( $(date +%s%N) % 1000000 ))}
SECONDS_LOAD=${FL_CHAOS_SECONDS:-60}
RELAY=$FL_BUILD/fl-relay
APPLY=$FL_BUILD/fl-apply
DUMP=$FL_BUILD/fl-dump
echo "# chaos seed $SEED (rerun with FL_CHAOS_SEED=$SEED), load ${SECONDS_LOAD}s"
for p in "$RELAY" "$APPLY" "$DUMP"; do [ -x "$p" ] || h_die "build first: $p missing"; done
command -v sysbench >/dev/null || h_die "sysbench is not installed (scripts/deps.sh)"
command -v python3 >/dev/null || h_die "python3 is not installed"

h_start_mariadb
h_start_redis
h_start_memcached; MC1_PORT=$MEMCACHED_PORT; MC1_PID=$MEMCACHED_PID
h_start_memcached; MC2_PORT=$MEMCACHED_PORT; MC2_PID=$MEMCACHED_PID
FEED_PORT=$(h_free_port)
J=$H_DIR/journal
mkdir -p "$J"
SECRET=chaos-feed-secret-0123456789

h_sql "CREATE DATABASE sbtest; CREATE DATABASE bank;
CREATE TABLE bank.accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL, moves BIGINT NOT NULL);" \
  || h_die "schema"
ACCOUNTS=20
for i in $(seq 1 $ACCOUNTS); do echo "INSERT INTO bank.accounts VALUES ($i, 1000, 0);"; done > "$H_DIR/bank.sql"
h_sql_file "$H_DIR/bank.sql" || h_die "bank accounts"
TOTAL=$(( ACCOUNTS * 1000 ))
SB=(--db-driver=mysql --mysql-socket="$MARIADB_SOCK" --mysql-user=root --mysql-db=sbtest --tables=2 --table-size=500)
sysbench oltp_write_only "${SB[@]}" prepare >"$H_DIR/sysbench-prepare.log" 2>&1 \
  || h_die "sysbench prepare: $(tail -3 "$H_DIR/sysbench-prepare.log")"

rules() {
  cat <<CFG
[rule sb1]
table = sbtest.sbtest1
key = sb1:{id}
[rule sb2]
table = sbtest.sbtest2
key = sb2:{id}
columns = id, k, c
[rule acct]
table = bank.accounts
key = acct:{id}
CFG
}
cat > "$H_DIR/relay.ini" <<CFG
$(h_source_config)
start = earliest
heartbeat = 1
[journal]
path = $J
[feed]
listen = 127.0.0.1:$FEED_PORT
secret = $SECRET
CFG
write_apply_configs() {
  cat > "$H_DIR/redis.ini" <<CFG
$(h_source_config)
[apply]
name = chaos
journal = $J
target = redis://127.0.0.1:$REDIS_PORT/0
$(rules)
CFG
  cat > "$H_DIR/mc.ini" <<CFG
$(h_source_config)
[apply]
name = chaos
relay = 127.0.0.1:$FEED_PORT
secret = $SECRET
target = memcached://127.0.0.1:$MC1_PORT,127.0.0.1:$MC2_PORT
checkpoint_path = $H_DIR/mc.checkpoint
$(rules)
CFG
}
write_apply_configs

start_relay() { "$RELAY" -c "$H_DIR/relay.ini" >>"$H_DIR/relay.log" 2>&1 & RELAY_PID=$!; h_register $RELAY_PID; }
start_redis_apply() { "$APPLY" -c "$H_DIR/redis.ini" >>"$H_DIR/apply-redis.log" 2>&1 & RAPPLY_PID=$!; h_register $RAPPLY_PID; }
start_mc_apply() { "$APPLY" -c "$H_DIR/mc.ini" >>"$H_DIR/apply-mc.log" 2>&1 & MAPPLY_PID=$!; h_register $MAPPLY_PID; }
kill9() { kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
start_relay
start_redis_apply
start_mc_apply

# ---- the load ---------------------------------------------------------------------------------
LOAD_END=$(( $(date +%s) + SECONDS_LOAD ))
# sysbench at a fixed rate; restarted when it gives up (a killed server ends its run)
(
  while [ "$(date +%s)" -lt "$LOAD_END" ]; do
    left=$(( LOAD_END - $(date +%s) )); [ "$left" -gt 0 ] || break
    sysbench oltp_write_only "${SB[@]}" --rate=40 --threads=2 --time="$left" --mysql-ignore-errors=all \
      --report-interval=0 run >>"$H_DIR/sysbench.log" 2>&1
    sleep 0.3
  done
) 2>>"$H_DIR/sysbench.log" &
SB_LOOP=$!; h_register $SB_LOOP
# transfers: each moves an amount between two accounts in one transaction; the total stays
(
  n=0
  while [ "$(date +%s)" -lt "$LOAD_END" ]; do
    sql=""
    for k in 1 2 3 4 5; do
      a=$(( RANDOM % ACCOUNTS + 1 )); b=$(( RANDOM % ACCOUNTS + 1 )); amt=$(( RANDOM % 50 + 1 ))
      [ "$a" = "$b" ] && b=$(( a % ACCOUNTS + 1 ))
      sql+="START TRANSACTION; UPDATE bank.accounts SET balance = balance - $amt, moves = moves + 1 WHERE id = $a;"
      sql+=" UPDATE bank.accounts SET balance = balance + $amt, moves = moves + 1 WHERE id = $b; COMMIT;"
    done
    h_sql "$sql" >>"$H_DIR/transfers.log" 2>&1 && n=$((n + 5))
    sleep 0.1
  done
  echo "$n" > "$H_DIR/transfers.count"
) &
TR_LOOP=$!; h_register $TR_LOOP

# ---- the faults -------------------------------------------------------------------------------
FAULTS=(kill-relay stop-relay kill-redis-applier kill-mc-applier kill-mariadb restart-redis restart-memcached)
# the schedule: "DELAY_MS FAULT_INDEX MEMCACHED_INDEX PAUSE_MS" lines from the seed alone
awk -v seed="$SEED" -v n=${#FAULTS[@]} 'BEGIN { srand(seed); for (i = 0; i < 200; i++)
  printf "%d %d %d %d\n", 1000 + int(rand() * 2000), int(rand() * n), int(rand() * 2), 300 + int(rand() * 1200) }' \
  > "$H_DIR/schedule"
declare -A FAULT_COUNT EXITED
# like systemd's Restart=: a program that exited by itself is started again (and counted)
supervise() {
  kill -0 "$RELAY_PID" 2>/dev/null || { EXITED[relay]=$(( ${EXITED[relay]:-0} + 1 )); wait "$RELAY_PID" 2>/dev/null; start_relay; }
  kill -0 "$RAPPLY_PID" 2>/dev/null || { EXITED[redis-applier]=$(( ${EXITED[redis-applier]:-0} + 1 )); wait "$RAPPLY_PID" 2>/dev/null; start_redis_apply; }
  kill -0 "$MAPPLY_PID" 2>/dev/null || { EXITED[mc-applier]=$(( ${EXITED[mc-applier]:-0} + 1 )); wait "$MAPPLY_PID" 2>/dev/null; start_mc_apply; }
}
restart_mc() {
  local which=$1
  if [ "$which" = 0 ]; then kill9 "$MC1_PID"; MEMCACHED_PORT_FIXED=$MC1_PORT h_start_memcached; MC1_PID=$MEMCACHED_PID
  else kill9 "$MC2_PID"; MEMCACHED_PORT_FIXED=$MC2_PORT h_start_memcached; MC2_PID=$MEMCACHED_PID; fi
}
while read -r delay fault which pause; do
  [ "$(date +%s)" -lt "$LOAD_END" ] || break
  sleep "$(awk -v d="$delay" 'BEGIN { print d / 1000 }')"
  [ "$(date +%s)" -lt "$LOAD_END" ] || break
  supervise
  name=${FAULTS[$fault]}
  FAULT_COUNT[$name]=$(( ${FAULT_COUNT[$name]:-0} + 1 ))
  echo "# $(date +%T) fault: $name${which:+ ($which)}" >>"$H_DIR/faults.log"
  case $name in
    kill-relay) kill9 "$RELAY_PID"; start_relay ;;
    stop-relay) kill -STOP "$RELAY_PID"; sleep "$(awk -v d="$pause" 'BEGIN { print d / 1000 }')"; kill -CONT "$RELAY_PID" ;;
    kill-redis-applier) kill9 "$RAPPLY_PID"; start_redis_apply ;;
    kill-mc-applier) kill9 "$MAPPLY_PID"; start_mc_apply ;;
    kill-mariadb) kill9 "$MARIADB_PID"; h_mariadb_run ;;
    restart-redis) h_restart_redis ;;
    restart-memcached) restart_mc "$which" ;;
  esac
done < "$H_DIR/schedule"
wait "$SB_LOOP" "$TR_LOOP" 2>/dev/null
summary=""; for f in "${FAULTS[@]}"; do summary+=" $f=${FAULT_COUNT[$f]:-0}"; done
echo "# faults:$summary; transfers committed: $(cat "$H_DIR/transfers.count" 2>/dev/null)"
echo "# sysbench: $(grep -h 'transactions:' "$H_DIR/sysbench.log" | awk '{ s += $2 } END { print s + 0 }') transactions"

# ---- everything catches up --------------------------------------------------------------------
sleep 2; supervise
echo "# exited by themselves (restarted): relay=${EXITED[relay]:-0} redis-applier=${EXITED[redis-applier]:-0} mc-applier=${EXITED[mc-applier]:-0}"
t_eq "bank: the total is unchanged in the database" "$TOTAL" "$(h_sql "SELECT SUM(balance) FROM bank.accounts")"
WANT=$(h_server_gtid_pos)
h_wait_until 60 h_journal_reached "$J" "$WANT"
t_eq "journal: caught up with the server's position" "$WANT" "$(h_journal_last_gtid "$J")"
h_binlog_gtids > "$H_DIR/gtids.server"
h_journal_gtids "$J" > "$H_DIR/gtids.journal"
t_eq "journal: its GTIDs are the server's binlog GTIDs, in order ($(wc -l <"$H_DIR/gtids.server") transactions)" \
  "" "$(diff "$H_DIR/gtids.server" "$H_DIR/gtids.journal" | head -20)"

sb_txns=$("$DUMP" "$J" --json | grep -c '"db":"sbtest"')
t_check "journal: sysbench's transactions are in it ($sb_txns)" test "$sb_txns" -gt 100
applied() { "$APPLY" -c "$1" --status 2>/dev/null | grep -q '^lag: *0 transactions'; }
t_check "redis applier: caught up with the journal" h_wait_until 60 applied "$H_DIR/redis.ini"
t_check "memcached applier: caught up with the journal" h_wait_until 60 applied "$H_DIR/mc.ini"

verify() {
  local out rc
  out=$(timeout 120 "$APPLY" -c "$1" --verify 2>&1); rc=$?
  [ "$rc" = 0 ] || echo "$out" | head -20 | sed 's/^/  | /' >&2
  return "$rc"
}
t_check "redis: every table equals the cache (--verify)" verify "$H_DIR/redis.ini"
t_check "memcached: every table equals the cache (--verify)" verify "$H_DIR/mc.ini"

# independently: the bank table read from each cache, parsed, against the database
h_sql "SELECT id, balance, moves FROM bank.accounts ORDER BY id" > "$H_DIR/bank.db"
redis_bank() {
  local i
  for i in $(seq 1 $ACCOUNTS); do h_redis GET "acct:$i"; done |
    python3 -c 'import json,sys; [print("%d\t%d\t%d" % (r["id"], r["balance"], r["moves"])) for r in map(json.loads, sys.stdin)]'
}
mc_bank() {
  python3 - "$MC1_PORT" "$MC2_PORT" "$ACCOUNTS" <<'PY'
import json, socket, sys
ports, n = [int(sys.argv[1]), int(sys.argv[2])], int(sys.argv[3])
found = {}
for port in ports:  # ask every server: a key must be on exactly one of them
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(("get " + " ".join("acct:%d" % i for i in range(1, n + 1)) + "\r\n").encode())
    data = b""
    while not data.endswith(b"END\r\n"):
        data += s.recv(65536)
    s.close()
    lines, i = data.split(b"\r\n"), 0
    while lines[i] != b"END":
        key, length = lines[i].split()[1].decode(), int(lines[i].split()[3])
        found.setdefault(key, []).append(json.loads(lines[i + 1][:length]))
        i += 2
for i in range(1, n + 1):
    vals = found.get("acct:%d" % i, [])
    if len(vals) != 1:
        print("acct:%d held by %d servers" % (i, len(vals)))
    for r in vals:
        print("%d\t%d\t%d" % (r["id"], r["balance"], r["moves"]))
PY
}
t_eq "redis: the bank table read back from the cache equals the database" "$(cat "$H_DIR/bank.db")" "$(redis_bank)"
t_eq "memcached: the bank table read back from the cache equals the database" "$(cat "$H_DIR/bank.db")" "$(mc_bank)"

for pid in "$RELAY_PID" "$RAPPLY_PID" "$MAPPLY_PID"; do kill -TERM "$pid" 2>/dev/null; done
for pid in "$RELAY_PID" "$RAPPLY_PID" "$MAPPLY_PID"; do wait "$pid" 2>/dev/null; done
if [ "$T_FAILED" -gt 0 ]; then
  echo "# seed $SEED; faults:"; sed 's/^/#   /' "$H_DIR/faults.log"
  for l in relay apply-redis apply-mc; do echo "# $l.log (errors):"; grep -iE 'error|warn' "$H_DIR/$l.log" | tail -8 | sed 's/^/#   /'; done
fi
t_done
