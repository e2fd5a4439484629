#!/usr/bin/env bash
# bench/relay.sh BUILD — fl-relay against the binlog pull limit on the same binlog, same run.
# A private MariaDB writes N single-row transactions and one transaction of M rows; then, best
# of R rounds each, alternating:
#   (a) the pull limit: `mariadb-binlog --read-from-remote-server --raw` copying the stream
#       from the first binlog into files (no decoding), and `mariadb-binlog -v` decoding it;
#   (b) the live relay catching up from the first binlog over the replication protocol into
#       a journal with `[journal] sync = group`, until the journal holds every transaction:
#       until the commit that made it so, which the journal's notify file (written after
#       each commit) dates, so that polling for the count adds nothing (its peak RSS too);
#   (c) file ingest (`fl-relay --binlog-file`) next to `mariadb-binlog -v` on the files.
# Prints seconds, transactions/s, the ratios (goal: live >= 0.90 of the pull limit), the
# median over the rounds of each round's own ratio, the CPU seconds the relay, the pull
# (mariadb-binlog --raw) and mariadbd while sending spent (medians), and one JSON line. Environment: BENCH_RELAY_TXNS (100000) BENCH_RELAY_ROWS (1000000)
# BENCH_RELAY_ROUNDS (3) BENCH_RELAY_COMPARE (another build directory: its fl-relay's live
# catch-up is measured in the same rounds too, e.g. a build of an earlier commit).
set -u
build=$(cd "${1:-build}" && pwd)
n=${BENCH_RELAY_TXNS:-100000}
m=${BENCH_RELAY_ROWS:-1000000}
rounds=${BENCH_RELAY_ROUNDS:-3}
export FL_BUILD=$build
source "$(dirname "$0")/../tests/harness.sh"
source "$(dirname "$0")/common.sh"

h_start_mariadb
{ schema_sql; cat <<SQL; } > "$H_DIR/fill.sql"
USE b;
SET SESSION max_statement_time = 0;
INSERT INTO b.big SELECT seq, CONCAT('value-', seq), seq * 7 FROM seq_1_to_$m;
SET autocommit = 1;
CALL b.fill($n);
FLUSH BINARY LOGS;
SQL
h_sql_file "$H_DIR/fill.sql" || { echo "bench relay: filling the database failed" >&2; exit 1; }
FILES=("$MARIADB_DIR"/data/bin.[0-9]*)
first=$(basename "${FILES[0]}")
total=$(h_sql "SELECT @@global.gtid_binlog_pos" | awk -F- '{print $3}')  # every GTID of the server
bytes=$(cat "${FILES[@]}" | wc -c)

now() { date +%s%N; }
tick=$(getconf CLK_TCK)
proc_cpu() { awk -v t="$tick" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$1/stat"; }  # user+sys of a live process
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
min() { awk -v a="$1" -v b="${2:-1e99}" 'BEGIN { print (a < b) ? a : b }'; }

# (a) the pull limit, and the decoding reader
remote_binlog_once() {  # remote_binlog_once MODE (--raw or -v); prints "SECONDS CPU MARIADBD_CPU"
  local t0 t1 m0 rc TIMEFORMAT='%3U %3S'  # (bash's time: the user and system CPU of the command)
  rm -rf "$H_DIR/raw"; mkdir -p "$H_DIR/raw"
  m0=$(proc_cpu "$MARIADB_PID")
  t0=$(now)
  if [ "$1" = --raw ]; then
    { time mariadb-binlog --no-defaults --read-from-remote-server -h127.0.0.1 -P"$MARIADB_PORT" -uroot --raw \
      --result-file="$H_DIR/raw/" --to-last-log "$first" 2>"$H_DIR/mb.err"; } 2>"$H_DIR/mb.time"
  else
    { time mariadb-binlog --no-defaults --read-from-remote-server -h127.0.0.1 -P"$MARIADB_PORT" -uroot -v \
      --to-last-log "$first" > /dev/null 2>"$H_DIR/mb.err"; } 2>"$H_DIR/mb.time"
  fi || { echo "bench relay: mariadb-binlog $1 failed: $(tail -2 "$H_DIR/mb.err")" >&2; exit 1; }
  t1=$(now)
  echo "$(secs "$t0" "$t1") $(awk '{ printf "%.3f", $1 + $2 }' "$H_DIR/mb.time") $(sub "$m0" "$(proc_cpu "$MARIADB_PID")")"
}
# (b) live: the relay from the first binlog until its journal holds every transaction;
# prints "SECONDS PEAK_RSS_KB CPU MARIADBD_CPU"
live_once() {  # live_once [FL_RELAY]
  local relay=${1:-$FL_BUILD/fl-relay}
  rm -rf "$H_DIR/live"
  { h_source_config; printf 'start = earliest\n[journal]\npath = %s\nsync = group\n' "$H_DIR/live"; } > "$H_DIR/relay.ini"
  local t0 t1 pid hwm m0 cpu mcpu
  m0=$(proc_cpu "$MARIADB_PID")
  t0=$(now)
  "$relay" -c "$H_DIR/relay.ini" >"$H_DIR/relay.log" 2>&1 &
  pid=$!
  h_wait_until 300 bash -c "'$FL_BUILD/fl-dump' --stats '$H_DIR/live' 2>/dev/null | grep -q '\"count\":$total,'" \
    || { echo "bench relay: the relay did not catch up: $(tail -3 "$H_DIR/relay.log")" >&2; kill "$pid"; exit 1; }
  t1=$(now)
  local committed
  committed=$(stat -c %.9Y "$H_DIR/live/notify" 2>/dev/null | awk '{ printf "%.0f", $1 * 1e9 }')
  [ -n "$committed" ] && [ "$committed" -le "$t1" ] && [ "$committed" -ge "$t0" ] && t1=$committed
  mcpu=$(sub "$m0" "$(proc_cpu "$MARIADB_PID")")
  hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
  cpu=$(proc_cpu "$pid")
  kill -TERM "$pid"; wait "$pid"
  echo "$(secs "$t0" "$t1") $hwm $cpu $mcpu"
}
# (c) files
ingest_once() {
  rm -rf "$H_DIR/files"
  local t0 t1
  t0=$(now)
  "$FL_BUILD/fl-relay" --journal "$H_DIR/files" --binlog-file "${FILES[@]}" >/dev/null 2>&1 || { echo "bench relay: ingest failed" >&2; exit 1; }
  t1=$(now)
  secs "$t0" "$t1"
}
file_binlog_once() {
  local t0 t1
  t0=$(now)
  mariadb-binlog --no-defaults -v "${FILES[@]}" > /dev/null 2>&1
  t1=$(now)
  secs "$t0" "$t1"
}

compare=${BENCH_RELAY_COMPARE:-}
[ -z "$compare" ] || [ -x "$compare/fl-relay" ] || { echo "bench relay: no $compare/fl-relay" >&2; exit 1; }
best_live=; best_cmp=; best_raw=; best_remote=; best_ingest=; best_file=; peak_rss=0
round_ratios=(); relay_cpus=(); raw_cpus=(); raw_server_cpus=(); live_server_cpus=()
for r in $(seq 1 "$rounds"); do  # alternate; keep the best of each (least disturbed by noise)
  read -r raw_s raw_cpu raw_mcpu <<<"$(remote_binlog_once --raw)"
  best_raw=$(min "$raw_s" "$best_raw")
  read -r s hwm cpu mcpu <<<"$(live_once)"
  best_live=$(min "$s" "$best_live")
  [ "$hwm" -gt "$peak_rss" ] && peak_rss=$hwm
  round_ratios+=("$(awk -v a="$raw_s" -v b="$s" 'BEGIN { printf "%.3f", a / b }')")
  relay_cpus+=("$cpu"); raw_cpus+=("$raw_cpu"); raw_server_cpus+=("$raw_mcpu"); live_server_cpus+=("$mcpu")
  if [ -n "$compare" ]; then read -r s hwm cpu mcpu <<<"$(live_once "$compare/fl-relay")"; best_cmp=$(min "$s" "$best_cmp"); fi
  read -r s cpu mcpu <<<"$(remote_binlog_once -v)"
  best_remote=$(min "$s" "$best_remote")
  best_ingest=$(min "$(ingest_once)" "$best_ingest")
  best_file=$(min "$(file_binlog_once)" "$best_file")
done
rate() { awk -v n="$total" -v t="$1" 'BEGIN { printf "%d", n / t }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
echo "relay catch-up of $total transactions ($n single-row inserts and one of $m rows, $(mb "$bytes") MB of binlog), best of $rounds:"
echo "  pull limit:  mariadb-binlog --read-from-remote-server --raw ${best_raw}s ($(rate "$best_raw") txn/s)"
echo "  fl-relay -c, journal sync = group:                   ${best_live}s ($(rate "$best_live") txn/s), peak RSS $((peak_rss / 1024)) MB"
echo "               share of the pull limit $(ratio "$best_raw" "$best_live") (goal >= 0.90); median of the rounds' own ratios $(median "${round_ratios[@]}")"
echo "  CPU seconds (medians): fl-relay $(median "${relay_cpus[@]}") (mariadbd sending to it $(median "${live_server_cpus[@]}")), mariadb-binlog --raw $(median "${raw_cpus[@]}") (mariadbd $(median "${raw_server_cpus[@]}"))"
[ -z "$compare" ] || echo "  the same with $compare/fl-relay:                ${best_cmp}s, share of the pull limit $(ratio "$best_raw" "$best_cmp")"
echo "  mariadb-binlog --read-from-remote-server -v           ${best_remote}s: fl-relay $(ratio "$best_remote" "$best_live")x faster"
echo "  files:       fl-relay --binlog-file ${best_ingest}s   mariadb-binlog -v ${best_file}s   speed-up $(ratio "$best_file" "$best_ingest")x"
printf '{"bench":"relay_catch_up","transactions":%s,"rows":%s,"binlog_bytes":%s,"pull_limit_raw_s":%s,"live_s":%s,"live_share_of_pull_limit":%s,"live_share_median":%s,"goal":0.9,"live_peak_rss_kb":%s,"live_cpu_s":%s,"live_mariadbd_cpu_s":%s,"pull_cpu_s":%s,"pull_mariadbd_cpu_s":%s,"mariadb_binlog_remote_s":%s,"live_speedup":%s,"ingest_s":%s,"mariadb_binlog_file_s":%s,"ingest_speedup":%s}\n' \
  "$total" "$((n + m))" "$bytes" "$best_raw" "$best_live" "$(ratio "$best_raw" "$best_live")" "$(median "${round_ratios[@]}")" "$peak_rss" \
  "$(median "${relay_cpus[@]}")" "$(median "${live_server_cpus[@]}")" "$(median "${raw_cpus[@]}")" "$(median "${raw_server_cpus[@]}")" "$best_remote" \
  "$(ratio "$best_remote" "$best_live")" "$best_ingest" "$best_file" "$(ratio "$best_file" "$best_ingest")"
