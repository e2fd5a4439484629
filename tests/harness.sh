#!/usr/bin/env bash
# harness.sh — sourced by integration tests and benchmarks. Starts private MariaDB, Redis and
# memcached instances on 127.0.0.1 in a temporary directory, on free ports, and stops them
# (and anything else registered) when the script exits, whatever way it exits.
# Checks: t_ok / t_fail / t_check / t_eq, and t_done prints "RESULT passed=N failed=M".
#
# Every wait has a deadline (h_wait_until). Variables set:
#   H_DIR            the temporary directory (removed at exit unless FL_KEEP=1)
#   FL_BUILD         built programs (default: build/)
#   MARIADB_PORT, MARIADB_SOCK, REDIS_PORT, MEMCACHED_PORT
# Network namespaces: set H_NS_MARIADB / H_NS_REDIS to a namespace name before starting a
# server to run it (and, for Redis, h_redis) inside that namespace.

set -u
H_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FL_BUILD=${FL_BUILD:-$H_ROOT/build}
H_DIR=$(mktemp -d /tmp/fastlane-test.XXXXXX)
H_PIDS=()
T_PASSED=0
T_FAILED=0

h_cleanup() {
  local pid
  for pid in "${H_PIDS[@]}"; do kill -CONT "$pid" 2>/dev/null; kill -TERM "$pid" 2>/dev/null; done
  for pid in "${H_PIDS[@]}"; do
    local i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$pid" 2>/dev/null
  done
  wait 2>/dev/null
  if [ "${FL_KEEP:-0}" = 1 ]; then echo "kept $H_DIR" >&2; else rm -rf "$H_DIR"; fi
}
trap h_cleanup EXIT
trap 'exit 130' INT TERM

h_log() { echo "# $*" >&2; }
h_die() { echo "harness: $*" >&2; t_fail "harness" "$*"; t_done; exit 1; }

# h_register PID: stopped at exit.
h_register() { H_PIDS+=("$1"); }

# h_wait_until SECONDS COMMAND...: runs COMMAND every 0.05 s until it succeeds; 1 on deadline.
h_wait_until() {
  local secs=$1; shift
  local deadline=$(( $(date +%s%N) / 1000000 + secs * 1000 ))
  until "$@" >/dev/null 2>&1; do
    [ $(( $(date +%s%N) / 1000000 )) -lt $deadline ] || return 1
    sleep 0.05
  done
}

# h_free_port: prints a TCP port no socket uses (random, checked with ss), below the kernel's
# ephemeral range so that no outgoing connection can take it before the server binds it.
h_free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 12000 ))
    if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q . && ! grep -qx "$p" "$H_DIR/.ports" 2>/dev/null; then
      echo "$p" >> "$H_DIR/.ports"; echo "$p"; return 0
    fi
  done
  return 1
}

# ---- MariaDB -------------------------------------------------------------------------------
# h_start_mariadb [mariadbd options...]: a private server with binary logging (ROW, FULL image,
# FULL metadata, GTIDs), server_id 1, root without password on the socket and over TCP.
h_start_mariadb() {
  MARIADB_DIR=$H_DIR/mariadb
  MARIADB_PORT=$(h_free_port)
  MARIADB_SOCK=$MARIADB_DIR/mysqld.sock
  mkdir -p "$MARIADB_DIR/data" "$MARIADB_DIR/tmp"
  mariadb-install-db --no-defaults --datadir="$MARIADB_DIR/data" --user="$(id -un)" \
    --auth-root-authentication-method=normal --skip-test-db >"$MARIADB_DIR/install.log" 2>&1 \
    || h_die "mariadb-install-db failed: $(tail -3 "$MARIADB_DIR/install.log")"
  MARIADB_OPTS=("$@")
  local attempt
  for attempt in 1 2 3 4 5; do  # a random port may be taken between the check and the bind
    h_mariadb_launch && return 0
    grep -q "Address already in use" "$MARIADB_DIR/error.log" || break
    : > "$MARIADB_DIR/error.log"
    MARIADB_PORT=$(h_free_port)
  done
  h_die "mariadbd did not start within 60 s: $(tail -5 "$MARIADB_DIR/error.log")"
}

# (re)starts mariadbd on the existing data directory with the saved options, same port
h_mariadb_run() {
  h_mariadb_launch || h_die "mariadbd did not start within 60 s: $(tail -5 "$MARIADB_DIR/error.log")"
}

# starts mariadbd and waits until it answers (60 s) or exits; returns 1 on failure
h_mariadb_launch() {
  local mariadbd; mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  ${H_NS_MARIADB:+ip netns exec "$H_NS_MARIADB"} "$mariadbd" --no-defaults --user="$(id -un)" --datadir="$MARIADB_DIR/data" \
    --tmpdir="$MARIADB_DIR/tmp" --socket="$MARIADB_SOCK" --port="$MARIADB_PORT" \
    --bind-address=127.0.0.1 --pid-file="$MARIADB_DIR/mysqld.pid" \
    --log-error="$MARIADB_DIR/error.log" --server-id=1 --log-bin="$MARIADB_DIR/data/bin" \
    --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL \
    --innodb-buffer-pool-size=64M --innodb-log-file-size=48M --skip-name-resolve \
    --max-connections=200 --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 \
    "${MARIADB_OPTS[@]}" >/dev/null 2>&1 &
  MARIADB_PID=$!
  h_register $MARIADB_PID
  local deadline=$(( $(date +%s) + 60 ))
  while [ "$(date +%s)" -lt $deadline ]; do
    mariadb-admin --no-defaults -uroot -S "$MARIADB_SOCK" ping >/dev/null 2>&1 && return 0
    kill -0 "$MARIADB_PID" 2>/dev/null || break  # it exited: no point waiting
    sleep 0.1
  done
  kill -KILL "$MARIADB_PID" 2>/dev/null; wait "$MARIADB_PID" 2>/dev/null
  return 1
}

# h_stop_mariadb: clean shutdown (waits, with a deadline)
h_stop_mariadb() {
  mariadb-admin --no-defaults -uroot -S "$MARIADB_SOCK" shutdown >/dev/null 2>&1 || kill -TERM "$MARIADB_PID"
  local i=0
  while kill -0 "$MARIADB_PID" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$MARIADB_PID" 2>/dev/null; wait "$MARIADB_PID" 2>/dev/null
  return 0
}

# h_sql SQL...: runs SQL as root through the socket, batch output without headers
h_sql() { mariadb --no-defaults -uroot -S "$MARIADB_SOCK" -N -B -e "$*"; }
# h_sql_file FILE
h_sql_file() { mariadb --no-defaults -uroot -S "$MARIADB_SOCK" < "$1"; }

# h_source_config: prints a [source] section for the private server
h_source_config() {
  cat <<CFG
[source]
host = 127.0.0.1
port = $MARIADB_PORT
user = root
password =
server_id = 1001
ssl_mode = disabled
CFG
}

# h_ingest DIR: journals into DIR everything the private server's binlog files hold (a
# FLUSH first closes the current file; transactions already journaled are skipped).
h_ingest() {
  h_sql "FLUSH BINARY LOGS" || return 1
  "$FL_BUILD/fl-relay" --journal "$1" --binlog-file "$MARIADB_DIR"/data/bin.[0-9]* >>"$H_DIR/ingest.log" 2>&1
}
# h_last_seq DIR: the seq of the journal's last transaction (empty when it has none).
h_last_seq() { "$FL_BUILD/fl-dump" --stats "$1" | sed -n 's/.*"last_seq":\([0-9]*\).*/\1/p'; }
# h_journal_last_gtid DIR: the GTID of the journal's last transaction (empty when it has none).
h_journal_last_gtid() { "$FL_BUILD/fl-dump" --stats "$1" 2>/dev/null | sed -n 's/.*"last_gtid":"\([^"]*\)".*/\1/p'; }
# h_journal_gtids DIR: the GTIDs of the journal's transactions, in order (from the human listing,
# one "seq N  gtid G ..." line a transaction: fast even for huge ones).
h_journal_gtids() { "$FL_BUILD/fl-dump" "$1" | awk '/^seq / { print $4 }'; }
# h_journal_reached DIR GTID: whether the journal's last transaction is GTID.
h_journal_reached() { [ -n "$2" ] && [ "$(h_journal_last_gtid "$1")" = "$2" ]; }
# h_journaled_all DIR: whether the journal in DIR holds everything the private server wrote (its
# last GTID is the server's binlog position; one domain).
h_journaled_all() { h_journal_reached "$1" "$(h_server_gtid_pos)"; }
# h_server_gtid_pos: the private server's binlog position (@@gtid_binlog_pos).
h_server_gtid_pos() { h_sql "SELECT @@global.gtid_binlog_pos"; }
# h_binlog_gtids: every GTID in the private server's binlogs, in order.
h_binlog_gtids() {
  local f
  for f in $(h_sql "SHOW BINARY LOGS" | cut -f1); do
    h_sql "SHOW BINLOG EVENTS IN '$f'" | awk -F'\t' '$3 == "Gtid" { print $6 }' |
      grep -o 'GTID [0-9]*-[0-9]*-[0-9]*' | cut -d' ' -f2
  done
}

# h_start_feed_relay [JOURNAL_LINES]: fl-relay following the private server from its current
# position into $H_DIR/journal (JOURNAL_LINES added to its [journal] section) and serving that
# journal on a feed at 127.0.0.1:FEED_PORT (chosen when unset; kept across restarts) with the
# secret in $H_DIR/feed.secret (written when missing). Returns once the feed serves. Sets
# RELAY_PID; the config is $H_DIR/relay.ini, the log $H_DIR/relay.log.
h_start_feed_relay() {
  FEED_PORT=${FEED_PORT:-$(h_free_port)}
  [ -e "$H_DIR/feed.secret" ] || { echo feed-secret-0123456789abcdef > "$H_DIR/feed.secret"; chmod 600 "$H_DIR/feed.secret"; }
  {
    h_source_config
    printf 'start = current\n[journal]\npath = %s\n%s[feed]\nlisten = 127.0.0.1:%s\nsecret_file = %s\n' \
      "$H_DIR/journal" "${1:-}" "$FEED_PORT" "$H_DIR/feed.secret"
  } > "$H_DIR/relay.ini"
  "$FL_BUILD/fl-relay" -c "$H_DIR/relay.ini" >"$H_DIR/relay.log" 2>&1 &
  RELAY_PID=$!; h_register $RELAY_PID
  h_wait_until 30 grep -q "feed: serving journal" "$H_DIR/relay.log" || h_die "relay feed did not start: $(tail -5 "$H_DIR/relay.log")"
}

# ---- Redis ---------------------------------------------------------------------------------
# h_until_up PID SECONDS COMMAND...: waits until COMMAND succeeds while PID lives (0), or
# until PID exits or the deadline passes (1). A dead PID means someone else answered.
h_until_up() {
  local pid=$1 secs=$2; shift 2
  local deadline=$(( $(date +%s) + secs ))
  while [ "$(date +%s)" -lt $deadline ]; do
    kill -0 "$pid" 2>/dev/null || return 1
    if "$@" >/dev/null 2>&1; then kill -0 "$pid" 2>/dev/null && return 0; return 1; fi
    sleep 0.05
  done
  return 1
}

h_start_redis() {
  REDIS_DIR=$H_DIR/redis; mkdir -p "$REDIS_DIR"
  REDIS_ARGS=("$@")
  local attempt
  for attempt in 1 2 3 4 5; do  # a random port may be taken between the check and the bind
    REDIS_PORT=${REDIS_PORT_FIXED:-$(h_free_port)}
    local listen=(--port "$REDIS_PORT")
    [ -z "${REDIS_TLS_CERT:-}" ] || listen=(--port 0 --tls-port "$REDIS_PORT" --tls-cert-file "$REDIS_TLS_CERT"
      --tls-key-file "$REDIS_TLS_KEY" --tls-ca-cert-file "$REDIS_TLS_CA")
    ${H_NS_REDIS:+ip netns exec "$H_NS_REDIS"} redis-server "${listen[@]}" --bind 127.0.0.1 --dir "$REDIS_DIR" --save '' \
      --appendonly no --daemonize no --logfile "$REDIS_DIR/redis.log" "$@" >/dev/null 2>&1 &
    REDIS_PID=$!
    h_register $REDIS_PID
    h_until_up "$REDIS_PID" 20 h_redis ping && return 0
    kill -KILL "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null
    [ -z "${REDIS_PORT_FIXED:-}" ] || break
  done
  h_die "redis-server did not start: $(tail -3 "$REDIS_DIR/redis.log" 2>/dev/null)"
}
h_restart_redis() { # same port, same options
  kill -KILL "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null
  REDIS_PORT_FIXED=$REDIS_PORT h_start_redis "${REDIS_ARGS[@]}"
}
# h_start_redis_tls CERT KEY CA [redis-server options]: Redis on REDIS_PORT speaking TLS only,
# with CERT/KEY (signed by CA); clients must present a certificate signed by CA unless the
# options say --tls-auth-clients no. h_redis then speaks TLS too (presenting CERT).
h_start_redis_tls() {
  REDIS_TLS_CERT=$1 REDIS_TLS_KEY=$2 REDIS_TLS_CA=$3
  shift 3
  h_start_redis "$@"
}
h_redis() {
  local tls=()
  [ -z "${REDIS_TLS_CERT:-}" ] || tls=(--tls --cacert "$REDIS_TLS_CA" --cert "$REDIS_TLS_CERT" --key "$REDIS_TLS_KEY")
  ${H_NS_REDIS:+ip netns exec "$H_NS_REDIS"} redis-cli -p "$REDIS_PORT" "${tls[@]}" "$@"
}

# h_redis_data_keys [redis-cli args]: how many keys the cache holds besides fastlane's own
# (the checkpoint fastlane:checkpoint:NAME, the lease fastlane:applier:NAME, ...)
h_redis_data_keys() {
  h_redis "$@" --scan | grep -cv '^fastlane:' || true
}

# h_start_redis_cluster [ARGS...]: a Redis Cluster of 3 primaries and 3 replicas on loopback
# (cluster-node-timeout 2 s, ARGS passed to every node), the replicas in sync; H_CLUSTER_REPLICAS
# (default 1) replicas per primary; H_CLUSTER_TLS=(CERT KEY CA), an array, makes every node
# speak TLS only (clients, cluster bus, replication). Sets CLUSTER_PORTS (all nodes),
# CLUSTER_PIDS (port -> pid) and CLUSTER_URL (redis-cluster:// or rediss-cluster://, the first
# three ports). h_cluster_primaries, h_cluster_owner and h_cluster_cache_state read it back.
# Ports are chosen with their cluster bus port (port + 10000) free too.
declare -A CLUSTER_PIDS=()
h_cluster_port() {
  local p i
  for i in $(seq 1 200); do
    p=$(h_free_port)
    [ "$p" -lt 22000 ] || continue
    ss -Htan "sport = :$((p + 10000))" 2>/dev/null | grep -q . || { echo "$p"; return 0; }
  done
  return 1
}
h_start_cluster_node() { # PORT [ARGS...]
  local port=$1; shift
  local dir=$H_DIR/cluster/$port; mkdir -p "$dir"
  local listen=(--port "$port")
  [ -z "${H_CLUSTER_TLS:-}" ] || listen=(--port 0 --tls-port "$port" --tls-cluster yes --tls-replication yes
    --tls-cert-file "${H_CLUSTER_TLS[0]}" --tls-key-file "${H_CLUSTER_TLS[1]}" --tls-ca-cert-file "${H_CLUSTER_TLS[2]}"
    --tls-auth-clients no)
  redis-server "${listen[@]}" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no --daemonize no \
    --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 2000 \
    --logfile "$dir/redis.log" "$@" >/dev/null 2>&1 &
  CLUSTER_PIDS[$port]=$!
  h_register $!
  h_until_up "${CLUSTER_PIDS[$port]}" 20 h_ccli -p "$port" ping || return 1
}
# h_add_cluster_primary VAR [ARGS...]: one more node (ARGS as for h_start_cluster_node) joins
# the running cluster as a primary without slots, added to CLUSTER_PORTS; its port is put in
# the variable named VAR. Returns once every node says the cluster is ok.
h_add_cluster_primary() {
  local var=$1; shift
  local p; p=$(h_cluster_port) || h_die "no free port pair for another cluster node"
  h_start_cluster_node "$p" "$@" || h_die "cluster node $p did not start: $(tail -3 "$H_DIR/cluster/$p/redis.log" 2>/dev/null)"
  CLUSTER_PORTS+=("$p")
  h_ccli_argv
  timeout 60 "${H_CCLI[@]}" --cluster add-node "127.0.0.1:$p" "127.0.0.1:${CLUSTER_PORTS[0]}" > "$H_DIR/cluster/add-node.$p.log" 2>&1 \
    || h_die "redis-cli --cluster add-node: $(tail -3 "$H_DIR/cluster/add-node.$p.log")"
  h_wait_until 60 h_cluster_ok || h_die "the cluster is not ok with the primary $p added"
  printf -v "$var" '%s' "$p"
}
h_start_redis_cluster() {
  CLUSTER_PORTS=()
  local i p replicas=${H_CLUSTER_REPLICAS:-1}
  for i in $(seq 1 $((3 * (1 + replicas)))); do
    p=$(h_cluster_port) || h_die "no free port pair for a cluster node"
    h_start_cluster_node "$p" "$@" || h_die "cluster node $p did not start: $(tail -3 "$H_DIR/cluster/$p/redis.log" 2>/dev/null)"
    CLUSTER_PORTS+=("$p")
  done
  local addrs=()
  for p in "${CLUSTER_PORTS[@]}"; do addrs+=("127.0.0.1:$p"); done
  h_ccli_argv
  timeout 60 "${H_CCLI[@]}" --cluster create "${addrs[@]}" --cluster-replicas "$replicas" --cluster-yes > "$H_DIR/cluster/create.log" 2>&1 \
    || h_die "redis-cli --cluster create: $(tail -3 "$H_DIR/cluster/create.log")"
  h_wait_until 60 h_cluster_ok || h_die "the cluster did not become ok: $(h_ccli -p "${CLUSTER_PORTS[0]}" cluster info | head -3)"
  h_wait_until 60 h_cluster_replicas_in_sync || h_die "the cluster's replicas did not sync with their primaries"
  CLUSTER_URL="redis${H_CLUSTER_TLS:+s}-cluster://127.0.0.1:${CLUSTER_PORTS[0]},127.0.0.1:${CLUSTER_PORTS[1]},127.0.0.1:${CLUSTER_PORTS[2]}"
}
# h_cluster_ok: every node that runs says cluster_state:ok and the cluster check passes.
h_cluster_ok() {
  local p
  for p in "${CLUSTER_PORTS[@]}"; do
    kill -0 "${CLUSTER_PIDS[$p]}" 2>/dev/null || continue
    h_ccli -p "$p" cluster info | grep -q '^cluster_state:ok' || return 1
  done
  local check; check=$(h_ccli --cluster check "127.0.0.1:${CLUSTER_PORTS[0]}" 2>/dev/null)
  grep -q '\[OK\] All 16384 slots covered' <<<"$check" && ! grep -q '\[ERR\]' <<<"$check"
}
# h_cluster_replicas_in_sync: every running replica's link to its primary is up (the applier
# waits for a replica to confirm its writes before moving its resume point).
h_cluster_replicas_in_sync() {
  local p info
  for p in "${CLUSTER_PORTS[@]}"; do
    kill -0 "${CLUSTER_PIDS[$p]}" 2>/dev/null || continue
    info=$(h_ccli -p "$p" info replication) || return 1
    grep -q '^role:slave' <<<"$info" || continue
    grep -q '^master_link_status:up' <<<"$info" || return 1
  done
}
# h_ccli ARGS...: redis-cli as the cluster's nodes speak (TLS when H_CLUSTER_TLS is set);
# h_ccli_argv puts that command line in the array H_CCLI (for timeout and the like)
h_ccli_argv() {
  H_CCLI=(redis-cli)
  [ -z "${H_CLUSTER_TLS:-}" ] || H_CCLI+=(--tls --cacert "${H_CLUSTER_TLS[2]}")
}
h_ccli() { h_ccli_argv; "${H_CCLI[@]}" "$@"; }
# h_rc ARGS...: redis-cli in cluster mode (follows redirections) against the cluster
h_rc() { h_ccli -c -p "${CLUSTER_PORTS[0]}" "$@"; }
# h_cluster_primaries: the ports of the cluster's running nodes that are primaries now
h_cluster_primaries() {
  local p
  for p in "${CLUSTER_PORTS[@]}"; do
    kill -0 "${CLUSTER_PIDS[$p]}" 2>/dev/null || continue
    h_ccli -p "$p" role 2>/dev/null | head -1 | grep -qx master && echo "$p"
  done
}
# h_cluster_owner KEY: the port of the primary that serves KEY's slot now (no redirection)
h_cluster_owner() {
  local p
  for p in $(h_cluster_primaries); do
    h_ccli -p "$p" EXISTS "$1" 2>/dev/null | grep -qx '[01]' && { echo "$p"; return 0; }
  done
  return 1
}
# h_cluster_cache_state [SKIP]: every key on the cluster's primaries but those matching the
# grep pattern SKIP (default ^fastlane:, the applier's own), with its value: "key<TAB>value"
# lines, sorted. The keys each primary holds are left in $H_DIR/keys.PORT.
h_cluster_cache_state() {
  local p skip=${1:-^fastlane:}
  for p in $(h_cluster_primaries); do
    h_ccli -p "$p" --scan | grep -v "$skip" > "$H_DIR/keys.$p"
    sed 's/^/GET /' "$H_DIR/keys.$p" | h_ccli -p "$p" > "$H_DIR/vals.$p"
    paste "$H_DIR/keys.$p" "$H_DIR/vals.$p"
  done | LC_ALL=C sort
}

# ---- memcached -----------------------------------------------------------------------------
h_start_memcached() {
  local attempt
  for attempt in 1 2 3 4 5; do
    MEMCACHED_PORT=${MEMCACHED_PORT_FIXED:-$(h_free_port)}
    memcached -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64 -u "$(id -un)" "$@" >/dev/null 2>&1 &
    MEMCACHED_PID=$!
    h_register $MEMCACHED_PID
    h_until_up "$MEMCACHED_PID" 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$MEMCACHED_PORT" && return 0
    kill -KILL "$MEMCACHED_PID" 2>/dev/null; wait "$MEMCACHED_PID" 2>/dev/null
    [ -z "${MEMCACHED_PORT_FIXED:-}" ] || break
  done
  h_die "memcached did not start"
}
# h_mc_get KEY: prints the value stored under KEY (nothing when absent)
h_mc_get() {
  exec 3<>/dev/tcp/127.0.0.1/"$MEMCACHED_PORT"
  printf 'get %s\r\n' "$1" >&3
  local line len
  IFS= read -r -t 5 line <&3
  line=${line%$'\r'}
  if [[ $line == VALUE* ]]; then
    len=${line##* }
    head -c "$len" <&3
  fi
  exec 3<&-
}

# ---- checks --------------------------------------------------------------------------------
t_ok() { T_PASSED=$((T_PASSED + 1)); echo "ok - $1"; }
t_fail() { T_FAILED=$((T_FAILED + 1)); echo "not ok - $1${2:+: $2}"; }
# t_check NAME COMMAND...: passes when COMMAND exits 0
t_check() { local n=$1; shift; if "$@"; then t_ok "$n"; else t_fail "$n" "command failed: $*"; fi; }
# t_eq NAME EXPECTED ACTUAL
t_eq() {
  if [ "$2" == "$3" ]; then t_ok "$1"; else
    t_fail "$1" "expected [$(head -c 2000 <<<"$2")] got [$(head -c 2000 <<<"$3")]"; fi
}
t_done() { echo "RESULT passed=$T_PASSED failed=$T_FAILED"; [ "$T_FAILED" -eq 0 ]; }
