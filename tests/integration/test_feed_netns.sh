#!/usr/bin/env bash
# test_feed_netns.sh — two hosts in one machine: network namespace A holds MariaDB and
# fl-relay, namespace B holds Redis and fl-apply, joined only by a veth pair
# (169.254.77.1 <-> 169.254.77.2). A workload replicates end to end; the link is cut and
# restored mid-stream; the relay and then the applier are SIGKILLed and restarted; the end
# state must equal the database and the Redis checkpoint must match the journal. A relay
# listening on a non-loopback address without a secret is refused at start. Needs root.
source "$(dirname "$0")/../harness.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
  t_fail "needs root and iproute2 (ip netns)"; t_done; exit 1
fi
NS_A=fl-a-$$; NS_B=fl-b-$$
ns_cleanup() {
  ip netns del "$NS_A" 2>/dev/null
  ip netns del "$NS_B" 2>/dev/null
}
trap 'h_cleanup; ns_cleanup' EXIT
ip netns add "$NS_A" && ip netns add "$NS_B" || h_die "cannot create network namespaces"
ip link add "veth-a$$" type veth peer name "veth-b$$" || h_die "cannot create a veth pair"
ip link set "veth-a$$" netns "$NS_A"
ip link set "veth-b$$" netns "$NS_B"
ip -n "$NS_A" addr add 169.254.77.1/30 dev "veth-a$$"
ip -n "$NS_B" addr add 169.254.77.2/30 dev "veth-b$$"
for ns in "$NS_A" "$NS_B"; do ip -n "$ns" link set lo up; done
ip -n "$NS_A" link set "veth-a$$" up
ip -n "$NS_B" link set "veth-b$$" up
h_wait_until 10 bash -c "ip -n $NS_A link show veth-a$$ | grep -q LOWER_UP" || h_die "veth link does not come up"
A() { ip netns exec "$NS_A" "$@"; }

H_NS_MARIADB=$NS_A h_start_mariadb
H_NS_REDIS=$NS_B h_start_redis
H_NS_REDIS=$NS_B
FEED_PORT=7070
echo 'netns-secret-5678' > "$H_DIR/feed.secret"; chmod 600 "$H_DIR/feed.secret"

h_sql "CREATE DATABASE bank; CREATE TABLE bank.accounts (id INT PRIMARY KEY, owner VARCHAR(32), balance BIGINT);"
relay_config() { # SECRET_LINE
  h_source_config
  cat <<CFG
start = current
heartbeat = 1s
[journal]
path = $H_DIR/journal
[feed]
listen = 169.254.77.1:$FEED_PORT
$1
CFG
}
relay_config "" > "$H_DIR/relay-nosecret.ini"
relay_config "secret_file = $H_DIR/feed.secret" > "$H_DIR/relay.ini"
cat > "$H_DIR/apply.ini" <<CFG
[apply]
name = remote
relay = 169.254.77.1:$FEED_PORT
secret_file = $H_DIR/feed.secret
target = redis://127.0.0.1:$REDIS_PORT/0
[rule accounts]
table = bank.accounts
key = acct:{id}
format = hash
CFG

out=$(A timeout 20 "$FL_BUILD/fl-relay" -c "$H_DIR/relay-nosecret.ini" 2>&1); rc=$?
t_check "relay without a secret on a non-loopback address refuses to start" test "$rc" -ne 0 -a "$rc" -ne 124
t_check "  and says why" grep -q "secret" <<<"$out"

# `ip netns exec` execs the program, so $! is the program itself (not a subshell).
start_relay() {
  ip netns exec "$NS_A" "$FL_BUILD/fl-relay" -c "$H_DIR/relay.ini" >>"$H_DIR/relay.log" 2>&1 &
  RELAY_PID=$!; h_register $RELAY_PID
}
start_apply() {
  ip netns exec "$NS_B" "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" >>"$H_DIR/apply.log" 2>&1 &
  APPLY_PID=$!; h_register $APPLY_PID
}
start_relay
h_wait_until 30 grep -q "feed: serving journal" "$H_DIR/relay.log" || h_die "relay did not start: $(tail -5 "$H_DIR/relay.log")"
t_check "a feed on a non-loopback address without TLS is warned about (integrity, not confidentiality)" \
  grep -q "feed: listening on 169.254.77.1:$FEED_PORT, not a loopback address, without TLS: the secret protects the data's integrity only, not its confidentiality" "$H_DIR/relay.log"
start_apply

workload() { # FROM TO: accounts created, then money moved between them
  local i
  for i in $(seq "$1" "$2"); do
    h_sql "INSERT INTO bank.accounts VALUES ($i, 'owner$i', 1000);"
    if [ "$i" -gt 1 ]; then
      h_sql "START TRANSACTION; UPDATE bank.accounts SET balance = balance - 7 WHERE id = $i;
             UPDATE bank.accounts SET balance = balance + 7 WHERE id = $((i - 1)); COMMIT;"
    fi
  done
}
workload 1 40
in_sync() { # the Redis checkpoint has reached the journal's last seq
  local last; last=$("$FL_BUILD/fl-dump" --stats "$H_DIR/journal" | sed -n 's/.*"last_seq":\([0-9]*\).*/\1/p')
  [ -n "$last" ] && [ "$(h_redis HGET fastlane:checkpoint:remote seq)" = "$last" ]
}
t_check "first workload replicated across the namespaces" h_wait_until 60 in_sync

# ---- the link is cut and restored mid-stream ------------------------------------------------
A ip link set "veth-a$$" down
workload 41 70
sleep 3
A ip link set "veth-a$$" up
t_check "after the link returns, the applier catches up" h_wait_until 90 in_sync

# ---- SIGKILL the relay, then the applier ---------------------------------------------------
workload 71 90 &
WL=$!
sleep 1
kill -KILL "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
sleep 1
start_relay
sleep 2
kill -KILL "$APPLY_PID"; wait "$APPLY_PID" 2>/dev/null
start_apply
wait "$WL"
t_check "after SIGKILLs of relay and applier, caught up" h_wait_until 90 in_sync

# ---- end state -------------------------------------------------------------------------------
expected=$(h_sql "SELECT id, owner, balance FROM bank.accounts ORDER BY id" | tr '\t' ' ')
actual=$(for id in $(h_sql "SELECT id FROM bank.accounts ORDER BY id"); do
  printf '%s %s %s\n' "$(h_redis HGET "acct:$id" id)" "$(h_redis HGET "acct:$id" owner)" "$(h_redis HGET "acct:$id" balance)"
done)
t_eq "Redis equals the database, row for row" "$expected" "$actual"
t_eq "no extra keys" "$(h_sql "SELECT COUNT(*) FROM bank.accounts")" "$(h_redis_data_keys)"
gtids_journal=$("$FL_BUILD/fl-dump" --json "$H_DIR/journal" | sed -n 's/.*"gtid":"\([^"]*\)".*/\1/p' | sort | uniq -d | wc -l)
t_eq "no GTID journaled twice" 0 "$gtids_journal"
t_check "relay logged the applier's reconnects" grep -q "169.254.77.2:[0-9]* streaming from seq" "$H_DIR/relay.log"
t_done
