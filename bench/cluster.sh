#!/usr/bin/env bash
# bench/cluster.sh BUILD — fl-apply into a Redis Cluster of 3 primaries on this machine, next
# to the same applier into one Redis and to redis-benchmark --cluster, same run:
#   1. catch-up (`fl-apply --once`, best of R rounds) of N single-row transactions and of one
#      M-row transaction, into one Redis and into the cluster (no replicas): transactions/s,
#      rows/s, Redis commands/s (INFO commandstats of every node), the cluster's rate as a
#      share of the single node's (goal >= 1.0: on one host the cluster costs nothing);
#   2. redis-benchmark --cluster -P 64 -t set over as many keys: the keys fastlane writes per
#      second on the cluster as a share of its SETs per second (goal >= 0.5; commands are no
#      measure here, since runs of SETs go as one MSET);
#   3. the CPU seconds the applier and each primary used (INFO cpu), so the rate on separate
#      hosts can be estimated: the slowest of them bounds it;
#   4. the cost of waiting for replicas (WAIT before the resume point moves): the single-row
#      catch-up into a cluster of 3 primaries with one replica each, cluster_wait_replicas 1
#      (the default) next to 0.
# Every figure is printed as a human line and as one JSON line.
# Environment: BENCH_CLUSTER_TXNS (100000)  BENCH_CLUSTER_ROWS (1000000)  BENCH_CLUSTER_ROUNDS (2)
#   BENCH_CLUSTER_WAIT (1; 0 skips part 4)
set -u
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
n_single=${BENCH_CLUSTER_TXNS:-100000}
n_rows=${BENCH_CLUSTER_ROWS:-1000000}
rounds=${BENCH_CLUSTER_ROUNDS:-2}
wait_part=${BENCH_CLUSTER_WAIT:-1}
export FL_BUILD=$build
source "$here/../tests/harness.sh"
source "$here/common.sh"

for tool in redis-benchmark redis-cli mariadb; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
[ -x "$build/fl-apply" ] && [ -x "$build/fl-relay" ] && [ -x "$build/fl-dump" ] || die "build $build first"

h_start_mariadb
h_start_redis --maxmemory 0
H_CLUSTER_REPLICAS=0 h_start_redis_cluster --maxmemory 0
PRIMARIES=("${CLUSTER_PORTS[@]}")

# ---- the journals ----
{ schema_sql; echo "FLUSH BINARY LOGS;"; } > "$H_DIR/setup.sql"
h_sql_file "$H_DIR/setup.sql" || die "setting up the database"
single_file=$(current_binlog)
h_sql "SET autocommit = 1; CALL b.fill($n_single); FLUSH BINARY LOGS;" || die "filling b.t"
big_file=$(current_binlog)
h_sql "USE b; SET SESSION max_statement_time = 0; INSERT INTO b.big SELECT seq, CONCAT('value-', seq), seq * 7 FROM seq_1_to_$n_rows; FLUSH BINARY LOGS;" \
  || die "the $n_rows-row transaction"
end_file=$(current_binlog)
single_files=(); while read -r f; do [[ $(basename "$f") < "$big_file" ]] && single_files+=("$f"); done < <(binlogs_from "$single_file")
big_files=(); while read -r f; do [[ $(basename "$f") < "$end_file" ]] && big_files+=("$f"); done < <(binlogs_from "$big_file")
txns_single=$(ingest "$H_DIR/j-single" "${single_files[@]}") || exit 1
txns_big=$(ingest "$H_DIR/j-big" "${big_files[@]}") || exit 1
echo "journals: $txns_single transactions, $txns_big transaction(s) of $n_rows rows"

# config NAME JOURNAL TABLE PREFIX TARGET [EXTRA]
config() {
  printf '[apply]\nname = %s\njournal = %s\ntarget = %s\n%s[rule r]\ntable = %s\nkey = %s{id}\nformat = json\n' \
    "$1" "$2" "$5" "${6:-}" "$3" "$4" > "$H_DIR/$1.ini"
}
config single-redis "$H_DIR/j-single" b.t t: "redis://127.0.0.1:$REDIS_PORT/0"
config big-redis "$H_DIR/j-big" b.big big: "redis://127.0.0.1:$REDIS_PORT/0"
config single-cluster "$H_DIR/j-single" b.t t: "$CLUSTER_URL"
config big-cluster "$H_DIR/j-big" b.big big: "$CLUSTER_URL"

# per-node helpers over a list of ports
node_cpu() { redis-cli -p "$1" INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys):/ { s += $2 } END { print s + 0 }'; }
node_cmds() { redis-cli -p "$1" INFO commandstats | tr -d '\r' | awk -F'[:=,]' '/^cmdstat_/ && $1 != "cmdstat_info" && $1 !~ /^cmdstat_(config|cluster|flushall|dbsize)/ { n += $3 } END { print n + 0 }'; }
nodes_reset() { local p; for p in "$@"; do redis-cli -p "$p" FLUSHALL >/dev/null; redis-cli -p "$p" CONFIG RESETSTAT >/dev/null; done; }
nodes_keys() { local p n=0; for p in "$@"; do n=$((n + $(redis-cli -p "$p" DBSIZE))); done; echo "$n"; }
nodes_cmds() { local p n=0; for p in "$@"; do n=$((n + $(node_cmds "$p"))); done; echo "$n"; }

# catch_up NAME PORTS...: one fl-apply --once into the empty nodes; prints
# "SECONDS COMMANDS KEYS APPLY_CPU NODE_CPU..."
catch_up() {
  local name=$1; shift
  nodes_reset "$@"
  local before=() p t0 t1 cpu out
  for p in "$@"; do before+=("$(node_cpu "$p")"); done
  t0=$(date +%s%N)
  cpu=$( { TIMEFORMAT='%3U %3S'; time "$build/fl-apply" -c "$H_DIR/$name.ini" --once >"$H_DIR/apply.log" 2>&1; } 2>&1 ) \
    || die "fl-apply $name: $(tail -3 "$H_DIR/apply.log")"
  t1=$(date +%s%N)
  out="$(calc '(b-a)/1e9' a="$t0" b="$t1") $(nodes_cmds "$@") $(nodes_keys "$@") $(calc 'u+s' u="${cpu% *}" s="${cpu#* }")"
  local i=0
  for p in "$@"; do out+=" $(calc 'sprintf("%.2f", b-a)' a="${before[$i]}" b="$(node_cpu "$p")")"; i=$((i + 1)); done
  echo "$out"
}

# bench NAME TRANSACTIONS ROWS PORTS...: best of the rounds; sets rate_NAME (txn/s), rows_NAME, cmds_NAME
bench() {
  local name=$1 txns=$2 rows=$3; shift 3
  local best=1e99 line r s
  for r in $(seq 1 "$rounds"); do
    local l; l=$(catch_up "$name" "$@")
    s=${l%% *}
    [ "$(calc "s < b" s="$s" b="$best")" = 1 ] && { best=$s; line=$l; }
  done
  read -r s cmds keys acpu ncpu <<<"$line"
  [ "$keys" -ge "$rows" ] || die "$name: only $keys keys after the catch-up, expected $rows and the checkpoints"
  local txn_s row_s cmd_s
  txn_s=$(calc 'n/s < 100 ? sprintf("%.2f", n/s) : int(n/s)' n="$txns" s="$best")
  row_s=$(calc 'int(n/s)' n="$rows" s="$best"); cmd_s=$(calc 'int(c/s)' c="$cmds" s="$best")
  echo "catch-up $name: $txns transaction(s), $rows rows, $cmds Redis commands in ${best}s (best of $rounds): $txn_s txn/s, $row_s rows/s, $cmd_s commands/s"
  local used; used=$(calc 'a + b' a="$acpu" b="$(tr ' ' '\n' <<<"$ncpu" | awk '{ s += $1 } END { print s + 0 }')")
  echo "  CPU: fl-apply ${acpu}s, Redis node(s) ${ncpu// /s, }s (wall ${best}s; $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)):" \
    "these processes kept $(calc 'sprintf("%.0f", 100 * u / (w * c))' u="$used" w="$best" c="$(nproc)")% of the machine busy;" \
    "the slowest of them, on its own host, bounds the rate"
  local json_cpu; json_cpu=$(tr ' ' ',' <<<"$ncpu")
  printf '{"bench":"cluster_catch_up_%s","transactions":%s,"rows":%s,"redis_commands":%s,"seconds":%s,"txn_s":%s,"rows_s":%s,"commands_s":%s,"apply_cpu_s":%s,"node_cpu_s":[%s]}\n' \
    "$name" "$txns" "$rows" "$cmds" "$best" "$txn_s" "$row_s" "$cmd_s" "$acpu" "$json_cpu"
  printf -v "rows_${name//-/_}" '%s' "$row_s"
  printf -v "cmds_${name//-/_}" '%s' "$cmd_s"
}
bench single-redis "$txns_single" "$n_single" "$REDIS_PORT"
bench single-cluster "$txns_single" "$n_single" "${PRIMARIES[@]}"
bench big-redis "$txns_big" "$n_rows" "$REDIS_PORT"
bench big-cluster "$txns_big" "$n_rows" "${PRIMARIES[@]}"
ratio_single=$(calc 'sprintf("%.2f", a/b)' a="$rows_single_cluster" b="$rows_single_redis")
ratio_big=$(calc 'sprintf("%.2f", a/b)' a="$rows_big_cluster" b="$rows_big_redis")
echo "cluster / one Redis, same applier: single-row ${ratio_single}x, $n_rows-row ${ratio_big}x (goal >= 1.0)"

# ---- redis-benchmark --cluster, as many keys ----
rb_best=0
for r in $(seq 1 "$rounds"); do
  nodes_reset "${PRIMARIES[@]}"
  out=$(redis-benchmark --cluster -p "${PRIMARIES[0]}" -P 64 -t set -n "$n_rows" -r "$n_rows" -q 2>&1 | tr '\r' '\n' | grep -a 'requests per second' | tail -1)
  rate=$(sed -n 's/.*SET: \([0-9.]*\) requests per second.*/\1/p' <<<"$out")
  [ -n "$rate" ] || die "redis-benchmark --cluster gave no rate: $out"
  rb_best=$(calc 'int(r > b ? r : b)' r="$rate" b="$rb_best")
done
nodes_reset "${PRIMARIES[@]}"
rb_single=$(calc 'sprintf("%.2f", a/b)' a="$rows_single_cluster" b="$rb_best")
rb_big=$(calc 'sprintf("%.2f", a/b)' a="$rows_big_cluster" b="$rb_best")
echo "redis-benchmark --cluster -P 64 -t set -n $n_rows -r $n_rows, best of $rounds: $rb_best SET/s"
echo "  keys fastlane writes per second on the cluster as a share of it: single-row $rb_single, $n_rows-row $rb_big (goal >= 0.5)"
echo "  (a catch-up groups consecutive transactions: one Redis takes a group as one MULTI/EXEC with one checkpoint;"
echo "   a cluster needs a slot checkpoint per slot the group touches: the small slot parts go in one script call"
echo "   per primary, about two calls inside Redis per slot, so single-row transactions over random keys cost"
echo "   about two per row there; a slot with more than 4 operations, as in the 1M-row transaction, is a MULTI/EXEC)"
printf '{"bench":"cluster_ratios","cluster_over_single_single_row":%s,"cluster_over_single_big":%s,"redis_benchmark_cluster_set_p64_s":%s,"single_ratio":%s,"big_ratio":%s}\n' \
  "$ratio_single" "$ratio_big" "$rb_best" "$rb_single" "$rb_big"

# ---- the cost of WAIT ----
if [ "$wait_part" = 1 ]; then
  for p in "${PRIMARIES[@]}"; do kill -TERM "${CLUSTER_PIDS[$p]}" 2>/dev/null; wait "${CLUSTER_PIDS[$p]}" 2>/dev/null; done
  H_CLUSTER_REPLICAS=1 h_start_redis_cluster --maxmemory 0
  ALL=("${CLUSTER_PORTS[@]}")
  config wait1 "$H_DIR/j-single" b.t t: "$CLUSTER_URL" $'cluster_wait_replicas = 1\n'
  config wait0 "$H_DIR/j-single" b.t t: "$CLUSTER_URL" $'cluster_wait_replicas = 0\n'
  bench wait1 "$txns_single" "$n_single" "${ALL[@]}"
  bench wait0 "$txns_single" "$n_single" "${ALL[@]}"
  cost=$(calc 'sprintf("%.2f", a/b)' a="$rows_wait1" b="$rows_wait0")
  echo "3 primaries + 3 replicas: catch-up with cluster_wait_replicas = 1 at ${cost}x the rate without (node CPU: primaries first, then replicas)"
  printf '{"bench":"cluster_wait_cost","wait1_txn_s":%s,"wait0_txn_s":%s,"ratio":%s}\n' "$rows_wait1" "$rows_wait0" "$cost"
fi
