#!/usr/bin/env bash
# bench/snapshot.sh BUILD — the relay's snapshot of one N-row table (default 1M) into the
# journal, next to `mariadb-dump` of the same table to /dev/null, same run; then fl-apply of
# that journal into Redis. Once without and once with a concurrent write load (single-row
# updates of the same table). Prints seconds, rows/s, the ratio to mariadb-dump, the relay's
# peak RSS, and one JSON line.
# BENCH_SNAPSHOT_BASELINE=PATH: another fl-relay binary to compare with in the same run: the
# quiet snapshot then runs BENCH_SNAPSHOT_ROUNDS times (default 3) with each binary, each
# round next to its own mariadb-dump, and the median ratio of each is printed.
set -u
build=$(cd "${1:-build}" && pwd)
n=${BENCH_SNAPSHOT_ROWS:-1000000}
chunk=${BENCH_SNAPSHOT_CHUNK:-10000}
export FL_BUILD=$build
source "$(dirname "$0")/../tests/harness.sh"

h_start_mariadb
h_start_redis
h_sql "CREATE DATABASE b; USE b;
CREATE TABLE b.t (id INT PRIMARY KEY, v VARCHAR(32) NOT NULL, n BIGINT NOT NULL);
INSERT INTO b.t SELECT seq, CONCAT('value-', seq), seq * 7 FROM seq_1_to_$n;
RESET MASTER;" || { echo "bench snapshot: filling the database failed" >&2; exit 1; }

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
rate() { awk -v r="$n" -v s="$1" 'BEGIN { printf "%.0f", r / s }'; }

t0=$(now)
mariadb-dump --no-defaults -uroot -S "$MARIADB_SOCK" --single-transaction --quick b t > /dev/null
dump_s=$(secs "$t0" "$(now)")

writer() { # single-row updates until killed
  local i=0
  while :; do h_sql "UPDATE b.t SET n = n + 1 WHERE id = $(( (i * 7919) % n + 1 ))" || return; i=$((i + 1)); done
}

# one snapshot into a fresh journal; sets snap_s, rss_kb; load=1 runs the writer meanwhile
snapshot_once() {
  local load=$1 dir=$H_DIR/j$1 pid wpid=
  { h_source_config; printf '[journal]\npath = %s\n[snapshot]\ntables = b.t\nchunk = %s\n' "$dir" "$chunk";
    printf '[apply]\njournal = %s\ntarget = redis://127.0.0.1:%s/%s\n[rule t]\ntable = b.t\nkey = t:{id}\n' \
      "$dir" "$REDIS_PORT" "$load"; } > "$H_DIR/s$load.ini"
  [ "$load" = 1 ] && { writer & wpid=$!; }
  local t0; t0=$(now)
  rm -rf "$dir"
  "$relay_bin" -c "$H_DIR/s$load.ini" > "$H_DIR/relay$load.log" 2>&1 & pid=$!
  h_register $pid
  h_wait_until 3600 grep -q "snapshot of b.t complete" "$H_DIR/relay$load.log"
  snap_s=$(secs "$t0" "$(now)")
  rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  [ -n "$wpid" ] && { kill $wpid; wait $wpid 2>/dev/null; }
  kill -TERM $pid; wait $pid
  t0=$(now)
  "$FL_BUILD/fl-apply" -c "$H_DIR/s$load.ini" --once > "$H_DIR/apply$load.log" 2>&1 ||
    { echo "bench snapshot: fl-apply failed: $(tail -2 "$H_DIR/apply$load.log")" >&2; exit 1; }
  apply_s=$(secs "$t0" "$(now)")
  local keys; keys=$(h_redis -n "$load" DBSIZE)
  [ "$keys" -gt "$n" ] || { echo "bench snapshot: Redis holds $keys keys, expected $n rows and the checkpoint" >&2; exit 1; }
}

relay_bin=$FL_BUILD/fl-relay
if [ -n "${BENCH_SNAPSHOT_BASELINE:-}" ]; then
  median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
  : > "$H_DIR/ratios.base"; : > "$H_DIR/ratios.this"
  for round in $(seq 1 "${BENCH_SNAPSHOT_ROUNDS:-3}"); do
    for which in base this; do
      [ "$which" = base ] && relay_bin=$BENCH_SNAPSHOT_BASELINE || relay_bin=$FL_BUILD/fl-relay
      t0=$(now)
      mariadb-dump --no-defaults -uroot -S "$MARIADB_SOCK" --single-transaction --quick b t > /dev/null
      d=$(secs "$t0" "$(now)")
      snapshot_once 0
      awk -v d="$d" -v s="$snap_s" 'BEGIN { printf "%.2f\n", d / s }' >> "$H_DIR/ratios.$which"
      h_redis -n 0 FLUSHDB > /dev/null
    done
  done
  printf 'baseline %s: ratio to mariadb-dump %s (median of %s)\n' "$BENCH_SNAPSHOT_BASELINE" \
    "$(median < "$H_DIR/ratios.base")" "$(tr '\n' ' ' < "$H_DIR/ratios.base")"
  printf 'this build: ratio to mariadb-dump %s (median of %s)\n' "$(median < "$H_DIR/ratios.this")" \
    "$(tr '\n' ' ' < "$H_DIR/ratios.this")"
  relay_bin=$FL_BUILD/fl-relay
fi

snapshot_once 0; quiet_s=$snap_s; quiet_rss=$rss_kb; quiet_apply=$apply_s
snapshot_once 1; load_s=$snap_s; load_rss=$rss_kb; load_apply=$apply_s

ratio() { awk -v d="$dump_s" -v s="$1" 'BEGIN { printf "%.2f", d / s }'; }
printf 'mariadb-dump of %d rows to /dev/null: %ss, %s rows/s\n' "$n" "$dump_s" "$(rate "$dump_s")"
printf 'snapshot into the journal:            %ss, %s rows/s, %sx mariadb-dump, peak RSS %s MB\n' \
  "$quiet_s" "$(rate "$quiet_s")" "$(ratio "$quiet_s")" "$((quiet_rss / 1024))"
printf '  with a concurrent write load:       %ss, %s rows/s, %sx mariadb-dump, peak RSS %s MB\n' \
  "$load_s" "$(rate "$load_s")" "$(ratio "$load_s")" "$((load_rss / 1024))"
printf 'journal into Redis (fl-apply --once): %ss, %s rows/s (under load: %ss)\n' \
  "$quiet_apply" "$(rate "$quiet_apply")" "$load_apply"
printf '{"bench":"snapshot","rows":%d,"chunk":%d,"dump_s":%s,"snapshot_s":%s,"snapshot_load_s":%s,"ratio":%s,"ratio_load":%s,"rss_mb":%d,"rss_load_mb":%d,"apply_s":%s}\n' \
  "$n" "$chunk" "$dump_s" "$quiet_s" "$load_s" "$(ratio "$quiet_s")" "$(ratio "$load_s")" \
  "$((quiet_rss / 1024))" "$((load_rss / 1024))" "$quiet_apply"
