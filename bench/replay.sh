#!/usr/bin/env bash
# bench/replay.sh BUILD — what folding a replay costs, on memcached and on Redis: a journal of
# N single-row transactions over K keys is applied to an empty cache (fl-apply --once, the
# plain catch-up), then replayed whole over the populated cache (--from-seq 1 --once: read
# twice, every key written once); both in transactions/s, with the fold's memory from its log
# line. Next to it, mc_guard: what the other design (a version guarded by gets + cas on every
# write) would cost each memcached write, all the time.
# Environment: BENCH_REPLAY_TXNS (100000)  BENCH_REPLAY_KEYS (1000)
set -u
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
n=${BENCH_REPLAY_TXNS:-100000}
keys=${BENCH_REPLAY_KEYS:-1000}
export FL_BUILD=$build
source "$here/../tests/harness.sh"
source "$here/common.sh"
[ -x "$build/fl-apply" ] && [ -x "$build/bench/mc_guard" ] || die "build $build first (make all and build/bench/mc_guard)"

h_start_mariadb
h_start_redis --maxmemory 0
h_start_memcached -m 256
J=$H_DIR/journal
h_sql "CREATE DATABASE b; CREATE TABLE b.t (id INT PRIMARY KEY, v VARCHAR(32), n BIGINT);
USE b; INSERT INTO b.t SELECT seq, CONCAT('value-', seq), 0 FROM seq_1_to_$keys;
DELIMITER //
CREATE PROCEDURE b.bump(cnt INT) BEGIN DECLARE i INT DEFAULT 0;
  WHILE i < cnt DO UPDATE b.t SET n = n + 1 WHERE id = 1 + i % $keys; SET i = i + 1; END WHILE; END //
DELIMITER ;
RESET MASTER;
CALL b.bump($n); FLUSH BINARY LOGS;" || die "filling the database failed"
mkdir -p "$J"
"$build/fl-relay" --journal "$J" --binlog-file "$MARIADB_DIR"/data/bin.[0-9]* >"$H_DIR/ingest.log" 2>&1 || die "ingest failed"
txns=$("$build/fl-dump" --stats "$J" | sed -n 's/.*"count":\([0-9]*\).*/\1/p')

config() { printf '[apply]\nname = bench\njournal = %s\ntarget = %s\n%s\n[rule t]\ntable = b.t\nkey = t:{id}\n' "$J" "$1" "${2:-}"; }
config "memcached://127.0.0.1:$MEMCACHED_PORT" "checkpoint_path = $H_DIR/mc.checkpoint" > "$H_DIR/memcached.ini"
config "redis://127.0.0.1:$REDIS_PORT/0" > "$H_DIR/redis.ini"
timed() { local t0 t1; t0=$(date +%s%N); "$build/fl-apply" "$@" >"$H_DIR/run.log" 2>&1 || die "fl-apply $* failed: $(tail -2 "$H_DIR/run.log")"; t1=$(date +%s%N); calc '(b-a)/1e9' a="$t0" b="$t1"; }
for target in memcached redis; do
  h_redis FLUSHALL >/dev/null; rm -f "$H_DIR/mc.checkpoint"
  plain=$(timed -c "$H_DIR/$target.ini" --once)
  folded=$(timed -c "$H_DIR/$target.ini" --once --from-seq 1)
  grep -q "folded" "$H_DIR/run.log" || die "$target: the replay was not folded"
  kib=$(sed -n 's/.*folded: [0-9]* keys (\([0-9]*\) KiB).*/\1/p' "$H_DIR/run.log")
  echo "$target: $txns transactions over $keys keys: catch-up into an empty cache ${plain}s ($(calc 'int(n/s)' n="$txns" s="$plain") txn/s);"
  echo "  folded replay of all of them over the populated cache ${folded}s ($(calc 'int(n/s)' n="$txns" s="$folded") txn/s, $(calc 'sprintf("%.2f", p/f)' p="$plain" f="$folded") of the catch-up's rate), fold memory ${kib} KiB"
  printf '{"bench":"replay_folded_%s","transactions":%s,"keys":%s,"catch_up_s":%s,"folded_replay_s":%s,"fold_kib":%s}\n' \
    "$target" "$txns" "$keys" "$plain" "$folded" "${kib:-0}"
done
"$build/bench/mc_guard" "127.0.0.1:$MEMCACHED_PORT" "$n" "$keys"
