#!/usr/bin/env bash
# bench/latency.sh BUILD — live end to end: fl-relay -c and fl-apply -c running on a private
# MariaDB and Redis; commit in MariaDB to the value's SET arriving in Redis (bench/latency.c,
# keyspace notifications), p50 and p99, at each rate and with each [journal] sync mode of the
# relay, next to the disk's own write+fdatasync p50 and p99 measured in the same run on the
# same filesystem (bench/fsync_latency.c). Goals: p99 <= fdatasync p99 + 1 ms with
# sync = group, p99 <= 1 ms with sync = none.
# References from the same run, for each rate: the source alone (the same schedule, no
# fastlane attached: MariaDB's own commit latency, what any round trip on the machine gets
# now) with the disk's fdatasync measured meanwhile (the disk as the journal finds it while
# the source writes) and how late a thread sleeping 1 ms at a time wakes (each stage of the
# pipeline sleeps and is woken for every transaction when the stream is quiet); and in every
# cell the commits' own latency again.
# Each cell writes BENCH_LAT_WARMUP seconds first that are not counted. Each cell and reference
# also says what the machine was doing: the CPU seconds of fl-relay, fl-apply, mariadbd, Redis
# and the measuring client itself (its writers and subscriber) while it ran, and the load.
# Environment: BENCH_LAT_RATES ("1000 10000") BENCH_LAT_SYNC ("group none")
#   BENCH_LAT_SECONDS (10) BENCH_LAT_WARMUP (1) BENCH_LAT_WRITERS (4: connections writing
#   the schedule) BENCH_LAT_TRACE (a directory: each cell's per-transaction times go there;
#   with a build made with the stage trace points, fl-relay's and fl-apply's per-stage times
#   too, which bench/latency_stages.py DIR joins by GTID into where each stage's time goes:
#   make STAGE_TRACE=1 all build-stages/bench/latency build-stages/bench/fsync_latency, then
#   BENCH_LAT_TRACE=DIR bench/latency.sh build-stages)
set -u
build=$(cd "${1:-build}" && pwd)
rates=${BENCH_LAT_RATES:-1000 10000}
syncs=${BENCH_LAT_SYNC:-group none}
seconds=${BENCH_LAT_SECONDS:-10}
warmup=${BENCH_LAT_WARMUP:-1}
writers=${BENCH_LAT_WRITERS:-4}
trace=${BENCH_LAT_TRACE:-}
export FL_BUILD=$build
source "$(dirname "$0")/../tests/harness.sh"

die() { echo "bench latency: $*" >&2; exit 1; }
for b in fl-relay fl-apply bench/latency bench/fsync_latency; do
  [ -x "$build/$b" ] || die "build $build/$b first (make BUILD=... all $build/bench/latency $build/bench/fsync_latency)"
done
command -v redis-cli >/dev/null || die "redis-cli is not installed"
if [ -n "$trace" ] && ! grep -q FL_TRACE_RELAY "$build/fl-relay"; then
  echo "bench latency: $build has no stage trace points (make STAGE_TRACE=1): only the client's times go to $trace" >&2
fi

h_start_mariadb
h_start_redis --maxmemory 0
h_sql "CREATE DATABASE b; CREATE TABLE b.lat (id INT PRIMARY KEY, ts BIGINT, v VARCHAR(32));" \
  || die "setting up the database failed"

# the disk under the journal: the same filesystem (H_DIR is in TMPDIR)
fsync_out=$("$build/bench/fsync_latency" -n 2000 "$H_DIR") || die "fsync_latency failed"
fsync_p50=$(sed -n 's/.*"p50_us":\([0-9]*\).*/\1/p' <<<"$fsync_out")
fsync_p99=$(sed -n 's/.*"p99_us":\([0-9]*\).*/\1/p' <<<"$fsync_out")
printf '%s\n' "$fsync_out"

ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
tick=$(getconf CLK_TCK)
proc_cpu() { awk -v t="$tick" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$1/stat" 2>/dev/null || echo 0; }  # user+sys of a live process
cpu_since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
load1() { cut -d' ' -f1 /proc/loadavg; }
keys_for() { echo $(( $1 < 10000 ? 1000 : 10000 )); }
trace_opt() { [ -z "$trace" ] || { mkdir -p "$trace"; printf -- '-o\n%s/%s\n' "$trace" "$1"; }; }
# reference RATE: the same schedule on the source alone, the disk's fdatasync meanwhile (at
# most 1000 a second, about as often as a journal committing live syncs)
reference() {
  local rate=$1 out disk fsync_pid topt
  h_sql "TRUNCATE TABLE b.lat"
  "$build/bench/fsync_latency" -s "$(awk -v a="$seconds" -v b="$warmup" 'BEGIN { print a + b }')" \
    -R "$(( rate < 1000 ? rate : 1000 ))" "$H_DIR" \
    > "$H_DIR/fsync_during.out" &
  fsync_pid=$!
  mapfile -t topt < <(trace_opt "source-$rate.txt")
  local db0; db0=$(proc_cpu "$MARIADB_PID")
  out=$("$build/bench/latency" -N -P "$MARIADB_PORT" -t b.lat -R "$rate" -s "$seconds" -W "$warmup" \
    -n "$(keys_for "$rate")" -w "$writers" "${topt[@]}") || die "the source alone at $rate txn/s failed"
  local db_cpu; db_cpu=$(cpu_since "$db0" "$(proc_cpu "$MARIADB_PID")")
  wait "$fsync_pid" || die "fsync_latency during the source's writes failed"
  disk=$(cat "$H_DIR/fsync_during.out")
  ref_commit_p99=$(sed -n 's/.*"commit_p99_us":\([0-9]*\).*/\1/p' <<<"$out")
  ref_fsync_p99=$(sed -n 's/.*"p99_us":\([0-9]*\).*/\1/p' <<<"$disk")
  ref_wake_p99=$(sed -n 's/.*"wake_late_p99_us":\([0-9]*\).*/\1/p' <<<"$out")
  ref_wake_p999=$(sed -n 's/.*"wake_late_p999_us":\([0-9]*\).*/\1/p' <<<"$out")
  echo "-- reference, $rate txn/s: the source alone (no fastlane), the disk meanwhile"
  grep -v '^{' <<<"$out" | sed 's/^/  /'
  grep -v '^{' <<<"$disk" | sed 's/^/  /'
  echo "  CPU meanwhile: mariadbd $db_cpu s; load $(load1)"
  grep '^{' <<<"$out"
  grep '^{' <<<"$disk" | sed 's/"bench":"fsync_latency"/"bench":"fsync_latency_during_source","source_rate":'"$rate"'/'
}
# run SYNC RATE: one pipeline, one latency run; prints the figures and a JSON line
run() {
  local sync=$1 rate=$2 relay_pid apply_pid out p50 p99 goal topt
  h_sql "TRUNCATE TABLE b.lat"; h_redis FLUSHALL >/dev/null; rm -rf "$H_DIR/j"
  { h_source_config; printf 'start = current\ninclude = b.lat\n[journal]\npath = %s\nsync = %s\n' "$H_DIR/j" "$sync"; } > "$H_DIR/relay.ini"
  printf '[apply]\nname = lat\njournal = %s\ntarget = redis://127.0.0.1:%s/0\n[rule r]\ntable = b.lat\nkey = lat:{id}\nformat = json\n' \
    "$H_DIR/j" "$REDIS_PORT" > "$H_DIR/apply.ini"
  env ${trace:+FL_TRACE_RELAY=$trace/relay-$sync-$rate.txt} "$build/fl-relay" -c "$H_DIR/relay.ini" >"$H_DIR/relay.log" 2>&1 &
  relay_pid=$!; h_register $relay_pid
  h_wait_until 30 grep -q "replicating from" "$H_DIR/relay.log" || die "fl-relay did not start: $(tail -3 "$H_DIR/relay.log")"
  h_wait_until 30 test -d "$H_DIR/j" || die "fl-relay made no journal: $(tail -3 "$H_DIR/relay.log")"
  env ${trace:+FL_TRACE_APPLY=$trace/apply-$sync-$rate.txt} "$build/fl-apply" -c "$H_DIR/apply.ini" >"$H_DIR/apply.log" 2>&1 &
  apply_pid=$!; h_register $apply_pid
  h_redis CONFIG SET notify-keyspace-events 'K$' >/dev/null
  h_sql "INSERT INTO b.lat VALUES (-1, 0, 'warm-up')"  # the pipeline is up once it made it through
  h_wait_until 30 bash -c "[ -n \"\$(redis-cli -p $REDIS_PORT GET lat:-1)\" ]" \
    || die "the live pipeline delivered nothing: $(tail -2 "$H_DIR/relay.log") $(tail -2 "$H_DIR/apply.log")"
  mapfile -t topt < <(trace_opt "$sync-$rate.txt")
  local r0 a0 db0 rd0; r0=$(proc_cpu "$relay_pid") a0=$(proc_cpu "$apply_pid") db0=$(proc_cpu "$MARIADB_PID") rd0=$(proc_cpu "$REDIS_PID")
  out=$("$build/bench/latency" -P "$MARIADB_PORT" -r "$REDIS_PORT" -t b.lat -k lat: -R "$rate" -s "$seconds" \
    -W "$warmup" -n "$(keys_for "$rate")" -w "$writers" "${topt[@]}") \
    || echo "bench latency: the run did not see every change in Redis"
  local rc ac dbc rdc ld
  rc=$(cpu_since "$r0" "$(proc_cpu "$relay_pid")") ac=$(cpu_since "$a0" "$(proc_cpu "$apply_pid")")
  dbc=$(cpu_since "$db0" "$(proc_cpu "$MARIADB_PID")") rdc=$(cpu_since "$rd0" "$(proc_cpu "$REDIS_PID")") ld=$(load1)
  h_redis CONFIG SET notify-keyspace-events '' >/dev/null
  kill -TERM "$apply_pid" "$relay_pid" 2>/dev/null; wait "$apply_pid" "$relay_pid" 2>/dev/null
  p50=$(sed -n 's/.*"p50_us":\([0-9]*\).*/\1/p' <<<"$out")
  p99=$(sed -n 's/.*"p99_us":\([0-9]*\).*/\1/p' <<<"$out")
  if [ "$sync" = group ]; then goal=$((fsync_p99 + 1000)); else goal=1000; fi
  echo "-- sync = $sync, $rate txn/s:"
  grep -v '^{' <<<"$out" | sed 's/^/  /'
  echo "  CPU in the cell: fl-relay $rc s, fl-apply $ac s, mariadbd $dbc s, redis $rdc s; load $ld"
  [ -n "$p99" ] || { printf '{"bench":"live_latency","journal_sync":"%s","rate":%s,"error":"no result"}\n' "$sync" "$rate"; return; }
  local cp99; cp99=$(sed -n 's/.*"commit_p99_us":\([0-9]*\).*/\1/p' <<<"$out")
  echo "  same run: the source alone, commits p99 $(ms "$ref_commit_p99") ms (in this cell $(ms "$cp99") ms); fdatasync while the source writes p99 $(ms "$ref_fsync_p99") ms; a 1 ms sleep woke late by p99 $(ms "$ref_wake_p99") ms, p99.9 $(ms "$ref_wake_p999") ms"
  echo "  p99 $(ms "$p99") ms vs goal $(ms "$goal") ms ($( [ "$sync" = group ] && echo "fdatasync p99 $(ms "$fsync_p99") ms + 1 ms" || echo "1 ms")): $( [ "$p99" -le "$goal" ] && echo met || echo missed)"
  printf '{"bench":"live_latency","journal_sync":"%s","rate":%s,"p50_us":%s,"p99_us":%s,"fsync_p50_us":%s,"fsync_p99_us":%s,"goal_p99_us":%s,"source_alone_commit_p99_us":%s,"fsync_during_source_p99_us":%s,"wake_late_p999_us":%s,"relay_cpu_s":%s,"apply_cpu_s":%s,"mariadbd_cpu_s":%s,"redis_cpu_s":%s,"load1":%s,"latency":%s}\n' \
    "$sync" "$rate" "$p50" "$p99" "$fsync_p50" "$fsync_p99" "$goal" "$ref_commit_p99" "$ref_fsync_p99" "$ref_wake_p999" \
    "$rc" "$ac" "$dbc" "$rdc" "$ld" "$(grep '^{' <<<"$out")"
}
ref_commit_p99=0 ref_fsync_p99=0 ref_wake_p99=0 ref_wake_p999=0
for rate in $rates; do
  reference "$rate"
  for sync in $syncs; do run "$sync" "$rate"; done
done
# the disk again, after: how much it moved during the run
"$build/bench/fsync_latency" -n 2000 "$H_DIR" | sed 's/^fdatasync/fdatasync (again, after the runs)/; s/"bench":"fsync_latency"/"bench":"fsync_latency_after"/'
