#!/usr/bin/env bash
# bench/apply.sh BUILD — fl-apply against its limit and its peer, same machine, same run, same
# private Redis:
#   1. catch-up of a journal of N single-row transactions, and of one transaction of M rows,
#      into an empty Redis (`fl-apply --once`, best of R rounds): transactions/s, keys/s and
#      Redis commands (counted exactly by Redis: INFO commandstats);
#   2. redis-benchmark's pipelined SET (-P 100) on the same server with the same number of
#      keys (-n N -r N, and -n M -r M): fastlane's keys/s as a share of its SET/s, for each
#      journal (goal >= 1.0);
#   2b. the same two catch-ups into a private memcached, next to memcslap's set rate on it with
#      the same number of keys (goal >= 0.8);
#   3. the Node.js peer (bench/peer-node: zongji + ioredis, MULTI/EXEC per transaction)
#      reading the same N transactions from the same MariaDB: fastlane / node in transactions/s
#      (goal >= 8x).
# (Live latency, commit to Redis, is bench/latency.sh.)
# Every figure is printed as a human line and as one JSON line per measurement.
# Environment (fast mode: small values):
#   BENCH_APPLY_TXNS (100000)  BENCH_APPLY_ROWS (1000000)  BENCH_APPLY_ROUNDS (3)
#   BENCH_APPLY_PEER (1; 0 skips the Node.js peer)  BENCH_APPLY_MEMCACHED (1; 0 skips memcached)
#   BENCH_APPLY_MC_ROUNDS (1: memcached applies and memcslap sets one key at a time, slowly)
#   BENCH_APPLY_BASELINE (unset; a build directory: its fl-apply's Redis catch-ups are measured
#   in the same run, with their ratios, to compare two versions)
set -u
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
n_single=${BENCH_APPLY_TXNS:-100000}
n_rows=${BENCH_APPLY_ROWS:-1000000}
rounds=${BENCH_APPLY_ROUNDS:-3}
memcached=${BENCH_APPLY_MEMCACHED:-1}
baseline=${BENCH_APPLY_BASELINE:-}
[ -z "$baseline" ] || [ -x "$baseline/fl-apply" ] || { echo "bench apply: no $baseline/fl-apply" >&2; exit 1; }
mc_rounds=${BENCH_APPLY_MC_ROUNDS:-1}
peer=${BENCH_APPLY_PEER:-1}
export FL_BUILD=$build
source "$here/../tests/harness.sh"
source "$here/common.sh"


for tool in redis-benchmark mariadb; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
if [ "$memcached" = 1 ]; then
  for tool in memcached memcslap; do command -v "$tool" >/dev/null || die "$tool is not installed (make deps)"; done
fi
[ -x "$build/fl-apply" ] && [ -x "$build/fl-relay" ] && [ -x "$build/fl-dump" ] || die "build $build first (make BUILD=... all)"

h_start_mariadb
h_start_redis --maxmemory 0

# ---- the journals ----------------------------------------------------------------------------

{
  schema_sql
  cat <<'SQL'
CREATE USER peer@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('peer-bench');
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO peer@'127.0.0.1';
FLUSH BINARY LOGS;
SQL
} > "$H_DIR/setup.sql"
h_sql_file "$H_DIR/setup.sql" || die "setting up the database failed"

single_file=$(current_binlog)
t0=$(date +%s%N)
h_sql "SET autocommit = 1; CALL b.fill($n_single); FLUSH BINARY LOGS;" || die "filling b.t failed"
t1=$(date +%s%N)
big_file=$(current_binlog)
h_sql "USE b; SET SESSION max_statement_time = 0; INSERT INTO b.big SELECT seq, CONCAT('value-', seq), seq * 7 FROM seq_1_to_$n_rows; FLUSH BINARY LOGS;" \
  || die "the $n_rows-row transaction failed"
t2=$(date +%s%N)
after_big_file=$(current_binlog)
echo "MariaDB: $n_single single-row transactions in $(calc '(b-a)/1e9' a="$t0" b="$t1")s, one $n_rows-row transaction in $(calc '(b-a)/1e9' a="$t1" b="$t2")s"

single_files=(); while read -r f; do [[ $(basename "$f") < "$big_file" ]] && single_files+=("$f"); done < <(binlogs_from "$single_file")
big_files=(); while read -r f; do [[ $(basename "$f") < "$after_big_file" ]] && big_files+=("$f"); done < <(binlogs_from "$big_file")
t0=$(date +%s%N); txns_single=$(ingest "$H_DIR/j-single" "${single_files[@]}") || exit 1; t1=$(date +%s%N)
ingest_single_s=$(calc '(b-a)/1e9' a="$t0" b="$t1")
txns_big=$(ingest "$H_DIR/j-big" "${big_files[@]}") || exit 1
echo "journals: $txns_single transactions (ingested in ${ingest_single_s}s), $txns_big transaction(s) of $n_rows rows"

# ---- catch-up --------------------------------------------------------------------------------
# apply_config NAME JOURNAL TABLE PREFIX
apply_config() {
  printf '[apply]\nname = %s\njournal = %s\ntarget = redis://127.0.0.1:%s/0\n[rule r]\ntable = %s\nkey = %s{id}\nformat = json\n' \
    "$1" "$2" "$REDIS_PORT" "$3" "$4" > "$H_DIR/$1.ini"
}
apply_config single "$H_DIR/j-single" b.t t:
apply_config big "$H_DIR/j-big" b.big big:

# commands_sent: the Redis commands executed since CONFIG RESETSTAT, but for INFO and CONFIG
commands_sent() {
  h_redis INFO commandstats | tr -d '\r' | awk -F'[:=,]' '/^cmdstat_/ && $1 != "cmdstat_info" && $1 !~ /^cmdstat_config/ { n += $3 } END { print n + 0 }'
}

# catch_up NAME [FL-APPLY]: one fl-apply --once into an empty Redis; prints "SECONDS COMMANDS KEYS"
catch_up() {
  h_redis FLUSHALL >/dev/null; h_redis CONFIG RESETSTAT >/dev/null
  local t0 t1 c0 c1 cpu
  c0=$(redis_cpu); t0=$(date +%s%N)
  cpu=$( { TIMEFORMAT='%3U %3S'; time "${2:-$build/fl-apply}" -c "$H_DIR/$1.ini" --once >"$H_DIR/apply.log" 2>&1; } 2>&1 ) \
    || die "fl-apply $1 failed: $(tail -3 "$H_DIR/apply.log")"
  t1=$(date +%s%N); c1=$(redis_cpu)
  echo "$(calc '(b-a)/1e9' a="$t0" b="$t1") $(commands_sent) $(h_redis DBSIZE) $(calc 'u+s' u="${cpu% *}" s="${cpu#* }") $(calc 'b-a' a="$c0" b="$c1")"
}
# redis_cpu: the Redis server's CPU seconds so far (user + system)
redis_cpu() { h_redis INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys):/ { s += $2 } END { print s + 0 }'; }

# bench_catch_up NAME TRANSACTIONS ROWS [LABEL FL-APPLY]: best of the rounds, printed and kept
# in best_*_LABEL (LABEL: NAME)
bench_catch_up() {
  local name=${4:-$1} txns=$2 rows=$3 best=1e99 cmds=0 keys=0 acpu=0 rcpu=0 s c k a x r
  for r in $(seq 1 "$rounds"); do
    read -r s c k a x <<<"$(catch_up "$1" "${5:-}")"
    [ "$(calc "s < b" s="$s" b="$best")" = 1 ] && { best=$s; cmds=$c; keys=$k; acpu=$a; rcpu=$x; }
  done
  [ "$keys" -ge "$rows" ] || die "$name: only $keys keys in Redis after catch-up, expected $rows rows and a checkpoint"
  local txn_s cmd_s row_s
  txn_s=$(calc 'n/s < 100 ? sprintf("%.2f", n/s) : int(n/s)' n="$txns" s="$best"); cmd_s=$(calc 'int(c/s)' c="$cmds" s="$best")
  row_s=$(calc 'int(n/s)' n="$rows" s="$best")
  echo "catch-up $name: $txns transaction(s), $rows rows, $cmds Redis commands in ${best}s (best of $rounds):"
  echo "  $txn_s txn/s, $row_s rows/s, $cmd_s Redis commands/s"
  echo "  CPU: fl-apply ${acpu}s, Redis ${rcpu}s ($(calc 'int(100*c/s)' c="$rcpu" s="$best")% of the wall time; $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
  printf '{"bench":"apply_catch_up_%s","transactions":%s,"rows":%s,"redis_commands":%s,"seconds":%s,"txn_s":%s,"rows_s":%s,"commands_s":%s,"apply_cpu_s":%s,"redis_cpu_s":%s}\n' \
    "$name" "$txns" "$rows" "$cmds" "$best" "$txn_s" "$row_s" "$cmd_s" "$acpu" "$rcpu"
  printf -v "best_cmd_s_$name" '%s' "$cmd_s"
  printf -v "best_txn_s_$name" '%s' "$txn_s"
  printf -v "best_s_$name" '%s' "$best"
  printf -v "best_row_s_$name" '%s' "$row_s"
  printf -v "best_rcpu_$name" '%s' "$rcpu"
}
# redis_benchmark KEYS: "SET/s REDIS-CPU-S" of the best of the rounds, each on an empty Redis,
# KEYS requests over a key space of KEYS (-r)
redis_benchmark() {
  local best=0 best_cpu=0 out rate r c0 c1
  for r in $(seq 1 "$rounds"); do
    h_redis FLUSHALL >/dev/null
    c0=$(redis_cpu)
    out=$(redis-benchmark -p "$REDIS_PORT" -P 100 -t set -n "$1" -r "$1" -q 2>&1 | tr '\r' '\n' | grep -a 'requests per second' | tail -1)
    c1=$(redis_cpu)
    rate=$(sed -n 's/.*SET: \([0-9.]*\) requests per second.*/\1/p' <<<"$out")
    [ -n "$rate" ] || die "redis-benchmark gave no rate: $out"
    if [ "$(calc '(r > b)' r="$rate" b="$best")" = 1 ]; then best=$(calc 'int(r)' r="$rate"); best_cpu=$(calc 'b-a' a="$c0" b="$c1"); fi
  done
  h_redis FLUSHALL >/dev/null
  echo "$best $best_cpu"
}
# best_of "RATE CPU" "RATE CPU": the one with the higher rate
best_of() { if [ "$(calc '(a > b)' a="${1% *}" b="${2% *}")" = 1 ]; then echo "$1"; else echo "$2"; fi; }
# the reference is measured before and after the catch-ups (the best of both), so that a
# machine shared with other work weighs on both sides alike
rb_single=$(redis_benchmark "$n_single")
rb_big=$(redis_benchmark "$n_rows")
bench_catch_up single "$txns_single" "$n_single"
bench_catch_up big "$txns_big" "$n_rows"
if [ -n "$baseline" ]; then
  echo "-- the same with the baseline $baseline/fl-apply:"
  bench_catch_up single "$txns_single" "$n_single" single_baseline "$baseline/fl-apply"
  bench_catch_up big "$txns_big" "$n_rows" big_baseline "$baseline/fl-apply"
fi
sample=$(h_redis GET big:1)
echo "  (a value: big:1 = $sample)"

# ---- the limit: redis-benchmark, pipelined SET, as many keys -------------------------------
rb_single=$(best_of "$rb_single" "$(redis_benchmark "$n_single")")
rb_big=$(best_of "$rb_big" "$(redis_benchmark "$n_rows")")
rb_single_cpu=${rb_single#* } rb_single=${rb_single% *} rb_big_cpu=${rb_big#* } rb_big=${rb_big% *}
ratio_single=$(calc 'sprintf("%.2f", a/b)' a="$best_row_s_single" b="$rb_single")
ratio_big=$(calc 'sprintf("%.2f", a/b)' a="$best_row_s_big" b="$rb_big")
echo "redis-benchmark -P 100 -t set, best of $((2 * rounds)) (before and after): -n $n_single -r $n_single $rb_single SET/s, -n $n_rows -r $n_rows $rb_big SET/s"
echo "  fastlane keys/s as a share of it (same number of keys): $n_single single-row transactions $ratio_single, one $n_rows-row transaction $ratio_big (goal >= 1.0)"
echo "  Redis CPU for the same keys (what a loaded machine distorts least): redis-benchmark ${rb_single_cpu}s and ${rb_big_cpu}s, fastlane ${best_rcpu_single}s and ${best_rcpu_big}s"
printf '{"bench":"apply_redis_limit","redis_benchmark_p100_single_set_s":%s,"redis_benchmark_p100_big_set_s":%s,"single_keys_s":%s,"big_keys_s":%s,"single_ratio":%s,"big_ratio":%s,"goal":1.0,"redis_benchmark_single_redis_cpu_s":%s,"redis_benchmark_big_redis_cpu_s":%s,"single_redis_cpu_s":%s,"big_redis_cpu_s":%s}\n' \
  "$rb_single" "$rb_big" "$best_row_s_single" "$best_row_s_big" "$ratio_single" "$ratio_big" "$rb_single_cpu" "$rb_big_cpu" "$best_rcpu_single" "$best_rcpu_big"
if [ -n "$baseline" ]; then
  bratio_single=$(calc 'sprintf("%.2f", a/b)' a="$best_row_s_single_baseline" b="$rb_single")
  bratio_big=$(calc 'sprintf("%.2f", a/b)' a="$best_row_s_big_baseline" b="$rb_big")
  echo "  the baseline's: single-row $bratio_single, $n_rows-row $bratio_big"
  printf '{"bench":"apply_redis_limit_baseline","baseline":"%s","single_keys_s":%s,"big_keys_s":%s,"single_ratio":%s,"big_ratio":%s}\n' \
    "$baseline" "$best_row_s_single_baseline" "$best_row_s_big_baseline" "$bratio_single" "$bratio_big"
fi

# ---- memcached: the same catch-ups next to memcslap's set rate --------------------------------
# mc_catch_up NAME: best seconds of the rounds for fl-apply --once into an empty memcached
mc_catch_up() {
  local best=1e99 r t0 t1 s
  for r in $(seq 1 "$mc_rounds"); do
    printf 'flush_all\r\nquit\r\n' | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$MEMCACHED_PORT; cat >&3; cat <&3" >/dev/null
    rm -f "$H_DIR/mc-$1.checkpoint"
    t0=$(date +%s%N)
    "$build/fl-apply" -c "$H_DIR/mc-$1.ini" --once >"$H_DIR/apply-mc.log" 2>&1 || die "fl-apply mc-$1 failed: $(tail -3 "$H_DIR/apply-mc.log")"
    t1=$(date +%s%N)
    s=$(calc '(b-a)/1e9' a="$t0" b="$t1")
    best=$(calc 's < b ? s : b' s="$s" b="$best")
  done
  echo "$best"
}
# memcslap_rate KEYS: best sets/s of the rounds (memcslap's own timing)
memcslap_rate() {
  local best=0 r out secs
  for r in $(seq 1 "$mc_rounds"); do
    out=$(memcslap --servers="127.0.0.1:$MEMCACHED_PORT" --test=set --execute-number="$1" --concurrency=1 2>&1)
    secs=$(sed -n 's/^Time to set *\([0-9]*\) keys by *1 threads: *\([0-9.]*\) seconds.*/\1 \2/p' <<<"$out")
    [ -n "$secs" ] && [ "${secs% *}" = "$1" ] || die "memcslap did not set $1 keys: $(tail -2 <<<"$out")"
    best=$(calc '(n / s > b ? int(n / s) : b)' n="${secs% *}" s="${secs#* }" b="$best")
  done
  echo "$best"
}
if [ "$memcached" = 1 ]; then
  h_start_memcached -m 1024
  for name in single big; do
    table=$([ $name = single ] && echo b.t || echo b.big)
    printf '[apply]\nname = mc-%s\njournal = %s\ntarget = memcached://127.0.0.1:%s\ncheckpoint_path = %s\n[rule r]\ntable = %s\nkey = %s:{id}\nformat = json\n' \
      "$name" "$H_DIR/j-$name" "$MEMCACHED_PORT" "$H_DIR/mc-$name.checkpoint" "$table" "$name" > "$H_DIR/mc-$name.ini"
  done
  mc_s_single=$(mc_catch_up single); mc_s_big=$(mc_catch_up big)
  mc_row_s_single=$(calc 'int(n/s)' n="$n_single" s="$mc_s_single"); mc_row_s_big=$(calc 'int(n/s)' n="$n_rows" s="$mc_s_big")
  slap_single=$(memcslap_rate "$n_single"); slap_big=$(memcslap_rate "$n_rows")
  mc_ratio_single=$(calc 'sprintf("%.2f", a/b)' a="$mc_row_s_single" b="$slap_single")
  mc_ratio_big=$(calc 'sprintf("%.2f", a/b)' a="$mc_row_s_big" b="$slap_big")
  echo "memcached catch-up (fl-apply --once, best of $mc_rounds): $n_single single-row transactions in ${mc_s_single}s ($mc_row_s_single keys/s), one $n_rows-row transaction in ${mc_s_big}s ($mc_row_s_big keys/s)"
  echo "memcslap --test=set --concurrency=1, same server, best of $mc_rounds: $n_single keys $slap_single sets/s, $n_rows keys $slap_big sets/s"
  echo "  fastlane keys/s as a share of it: single-row $mc_ratio_single, $n_rows-row $mc_ratio_big (goal >= 0.8)"
  printf '{"bench":"apply_memcached_limit","single_keys_s":%s,"big_keys_s":%s,"memcslap_single_set_s":%s,"memcslap_big_set_s":%s,"single_ratio":%s,"big_ratio":%s,"goal":0.8}\n' \
    "$mc_row_s_single" "$mc_row_s_big" "$slap_single" "$slap_big" "$mc_ratio_single" "$mc_ratio_big"
fi

# ---- the Node.js peer ------------------------------------------------------------------------
peer_setup() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "bench apply: installing nodejs and npm" >&2
    local sudo=; [ "$(id -u)" = 0 ] || sudo="sudo -n"
    { $sudo apt-get install -y nodejs npm || { $sudo apt-get update && $sudo apt-get install -y nodejs npm; }; } >"$H_DIR/apt.log" 2>&1 \
      || { echo "bench apply: apt-get install nodejs npm failed: $(tail -2 "$H_DIR/apt.log")" >&2; return 1; }
  fi
  if [ ! -d "$here/peer-node/node_modules/@vlasky/zongji" ] || [ ! -d "$here/peer-node/node_modules/ioredis" ]; then
    (cd "$here/peer-node" && npm install --no-audit --no-fund) >"$H_DIR/npm.log" 2>&1 \
      || { echo "bench apply: npm install failed: $(tail -2 "$H_DIR/npm.log")" >&2; return 1; }
  fi
}
if [ "$peer" = 1 ]; then
  if peer_setup; then
    best=; out=
    for r in $(seq 1 "$rounds"); do
      h_redis FLUSHALL >/dev/null
      o=$(cd "$here/peer-node" && node peer.js --port "$MARIADB_PORT" --user peer --password peer-bench \
            --file "$single_file" --pos 4 --table b.t --key t: --key-column id --redis-port "$REDIS_PORT" \
            --txns "$n_single" --server-id $((5000 + r)) 2>"$H_DIR/peer.err") \
        || { echo "bench apply: the Node.js peer failed: $(tail -3 "$H_DIR/peer.err")"; out=; break; }
      rate=$(sed -n 's/.*"txn_s":\([0-9]*\).*/\1/p' <<<"$o")
      if [ -z "$best" ] || [ "$rate" -gt "$best" ]; then best=$rate; out=$o; fi
    done
    if [ -n "$out" ]; then
      keys=$(h_redis DBSIZE)
      last=$((n_single - 1))
      peer_vals=$(h_redis MGET t:0 t:1 "t:$last")
      h_redis FLUSHALL >/dev/null
      "$build/fl-apply" -c "$H_DIR/single.ini" --once >/dev/null 2>&1 || die "fl-apply single failed"
      same=$([ "$peer_vals" = "$(h_redis MGET t:0 t:1 "t:$last")" ] && echo yes || echo no)
      # fastlane reading the same transactions from the same server: fl-relay -c from the
      # same binlog position and fl-apply -c, both running, until the last row is in Redis
      h_redis FLUSHALL >/dev/null; rm -rf "$H_DIR/j-same"
      { h_source_config; printf 'start = file:%s:4\n[journal]\npath = %s\n' "$single_file" "$H_DIR/j-same"; } > "$H_DIR/same-relay.ini"
      apply_config same "$H_DIR/j-same" b.t t:
      last_row() { [ -n "$(h_redis GET "t:$last")" ]; }
      t0=$(date +%s%N)
      "$build/fl-relay" -c "$H_DIR/same-relay.ini" >"$H_DIR/same-relay.log" 2>&1 & rp=$!; h_register $rp
      h_wait_until 30 test -d "$H_DIR/j-same"
      "$build/fl-apply" -c "$H_DIR/same.ini" >"$H_DIR/same-apply.log" 2>&1 & ap=$!; h_register $ap
      h_wait_until 600 last_row || die "fastlane live from $single_file did not finish: $(tail -2 "$H_DIR/same-relay.log")"
      t1=$(date +%s%N)
      kill -TERM "$ap" "$rp" 2>/dev/null; wait "$ap" "$rp" 2>/dev/null
      live=$(calc 'int(n/((b-a)/1e9))' n="$n_single" a="$t0" b="$t1")
      live_ratio=$(calc 'sprintf("%.2f", a/b)' a="$live" b="$best")
      ratio=$(calc 'sprintf("%.2f", a/b)' a="$best_txn_s_single" b="$best")
      grep -v '^{' <<<"$out"
      echo "  best of $rounds: $best txn/s ($keys keys; values of t:0, t:1, t:$last identical to fastlane's: $same)"
      echo "  fastlane catch-up / node: ${ratio}x (goal >= 8x); the peer also decodes the binlog from the server,"
      e2e=$(calc 'int(n/(a+b))' n="$txns_single" a="$ingest_single_s" b="$best_s_single")
      e2e_ratio=$(calc 'sprintf("%.2f", a/b)' a="$e2e" b="$best")
      echo "  so also: fastlane ingest from the files + catch-up, one after the other, $e2e txn/s: ${e2e_ratio}x"
      echo "  and fastlane live from the same server and position (fl-relay -c + fl-apply -c, process start to"
      echo "  last row in Redis, one round): $live txn/s: ${live_ratio}x"
      printf '{"bench":"apply_vs_node","transactions":%s,"node_txn_s":%s,"fastlane_txn_s":%s,"ratio":%s,"fastlane_ingest_and_apply_txn_s":%s,"ingest_and_apply_ratio":%s,"fastlane_live_txn_s":%s,"live_ratio":%s,"same_value":"%s","goal":8}\n' \
        "$n_single" "$best" "$best_txn_s_single" "$ratio" "$e2e" "$e2e_ratio" "$live" "$live_ratio" "$same"
    else
      printf '{"bench":"apply_vs_node","error":"the Node.js peer failed"}\n'
    fi
  else
    echo "bench apply: the Node.js peer could not be set up; no comparison"
    printf '{"bench":"apply_vs_node","error":"node or its packages could not be installed"}\n'
  fi
fi
h_redis FLUSHALL >/dev/null
