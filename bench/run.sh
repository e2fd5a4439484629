#!/usr/bin/env bash
# bench/run.sh BUILD — runs the benchmarks in bench/, one section each, in a temporary
# directory on the same filesystem as TMPDIR. Every section prints human lines and one JSON
# line; the JSON lines are also collected in BUILD/bench/results.jsonl.
# Sections: BENCH_SECTIONS="journal ..." picks some (default: all).
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fl-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
results="$build/bench/results.jsonl"
mkdir -p "$build/bench"
: > "$results"

# Runs one benchmark command, shows its output and keeps its JSON line.
run() {
  local out
  out=$("$@") || { echo "bench: failed: $*" >&2; return 1; }
  printf '%s\n' "$out"
  printf '%s\n' "$out" | grep '^{' >> "$results" || true
}

section_journal() {
  echo "== journal: append with group commit (fsync per batch) and sequential read, vs bare LMDB"
  run "$build/bench/bench_journal" -n "${BENCH_JOURNAL_RECORDS:-200000}" -b "${BENCH_JOURNAL_BATCH:-100}" \
      -r "${BENCH_JOURNAL_ROUNDS:-3}" "$tmp/journal"
  echo "-- the same without fsync (the CPU cost of encoding, indexing and the position)"
  run "$build/bench/bench_journal" -n "${BENCH_JOURNAL_RECORDS:-200000}" -b "${BENCH_JOURNAL_BATCH:-100}" \
      -r "${BENCH_JOURNAL_ROUNDS:-3}" --no-sync "$tmp/journal-nosync"
}

section_apply() {
  echo "== apply: catch-up vs redis-benchmark -P 100 and memcslap with as many keys, the Node.js peer"
  run bash "$here/apply.sh" "$build"
}

section_feed() {
  echo "== feed: remote catch-up over loopback TCP vs local catch-up from the journal"
  run bash "$here/feed.sh" "$build"
}

section_relay() {
  echo "== relay: live catch-up vs the binlog pull limit (mariadb-binlog --raw) and mariadb-binlog -v on the same binlog; file ingest"
  run bash "$here/relay.sh" "$build"
}

section_latency() {
  echo "== latency: commit in MariaDB to the value in Redis at 1k and 10k txn/s, sync = group and none, vs the disk's fdatasync"
  run bash "$here/latency.sh" "$build"
}

section_scale() {
  echo "== scale: relay and apply throughput at 1, 10 and 100 rows per transaction, rows of 100 B, 1 KB and 64 KB"
  run bash "$here/scale.sh" "$build"
}

section_replay() {
  echo "== replay: a folded replay of the whole journal vs the plain catch-up; guarded memcached writes vs plain"
  run bash "$here/replay.sh" "$build"
}

section_snapshot() {
  echo "== snapshot: a 1M-row table into the journal and into Redis vs mariadb-dump of it, with and without writes"
  run bash "$here/snapshot.sh" "$build"
}

section_cluster() {
  echo "== cluster: catch-up into a 3-primary Redis Cluster vs one Redis and redis-benchmark --cluster; the cost of WAIT"
  run bash "$here/cluster.sh" "$build"
}

all_sections="journal relay latency scale apply feed replay snapshot cluster"
for s in ${BENCH_SECTIONS:-$all_sections}; do
  declare -F "section_$s" >/dev/null || { echo "bench: no section '$s' (have: $all_sections)" >&2; exit 2; }
  "section_$s"
  echo
done
echo "bench: results in $results"
