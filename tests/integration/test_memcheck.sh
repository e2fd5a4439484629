#!/usr/bin/env bash
# test_memcheck.sh — the three programs under valgrind memcheck, on real work: fl-relay
# ingesting binlog fixtures (MySQL with JSON, compression and tagged GTIDs; MariaDB), fl-dump
# in each mode, fl-apply --once into Redis and --status, and the error paths (bad config,
# missing journal). Any invalid access, use of uninitialised memory or definite leak fails.
source "$(dirname "$0")/../harness.sh"

command -v valgrind >/dev/null || { t_fail "valgrind installed"; t_done; exit 1; }
FIX=${FL_FIXTURES:-$H_ROOT/tests/fixtures/mysql-binlogs}
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --track-origins=yes)

# vg NAME EXPECTED_STATUS PROGRAM ARGS...: runs under memcheck; passes when the program exits
# with EXPECTED_STATUS and memcheck reports nothing.
vg() {
  local name=$1 want=$2; shift 2
  "${VG[@]}" --log-file="$H_DIR/vg-%p.log" "$@" >"$H_DIR/out.txt" 2>"$H_DIR/err.txt"
  local rc=$? reports
  reports=$(cat "$H_DIR"/vg-*.log 2>/dev/null); rm -f "$H_DIR"/vg-*.log
  if [ "$rc" -eq "$want" ] && [ -z "$reports" ]; then t_ok "$name"; else
    t_fail "$name" "exit $rc (wanted $want); memcheck: $(head -c 1500 <<<"$reports") stderr: $(tail -3 "$H_DIR/err.txt")"
  fi
}

for f in json-opaque.binlog transaction_compression.000001 binlog_transaction_with_GTID_TAG.000001 mariadb-bin.000001 vector.binlog; do
  vg "fl-relay ingests $f" 0 "$FL_BUILD/fl-relay" --journal "$H_DIR/j-$f" --binlog-file "$FIX/$f"
done
vg "fl-relay stops at a JSON diff it cannot apply" 1 "$FL_BUILD/fl-relay" --journal "$H_DIR/j-json" --binlog-file "$FIX/json.binlog.000001"
vg "fl-relay rejects a truncated file" 1 "$FL_BUILD/fl-relay" --journal "$H_DIR/j-bad" --binlog-file "$FIX/binlog_truncated_event.000001"
vg "fl-dump human" 0 "$FL_BUILD/fl-dump" "$H_DIR/j-json-opaque.binlog"
vg "fl-dump --json" 0 "$FL_BUILD/fl-dump" --json "$H_DIR/j-mariadb-bin.000001"
vg "fl-dump --stats" 0 "$FL_BUILD/fl-dump" --stats "$H_DIR/j-vector.binlog"
vg "fl-dump unknown GTID" 1 "$FL_BUILD/fl-dump" --gtid 0-1-999999 "$H_DIR/j-mariadb-bin.000001"
vg "fl-dump missing journal" 1 "$FL_BUILD/fl-dump" "$H_DIR/nothing-here"

h_start_redis
cat > "$H_DIR/apply.ini" <<CFG
[apply]
name = vg
journal = $H_DIR/j-mariadb-bin.000001
target = redis://127.0.0.1:$REDIS_PORT/0
[rule t]
table = *.*
key = row:{@1}
format = json
CFG
table=$("$FL_BUILD/fl-dump" --json "$H_DIR/j-mariadb-bin.000001" | sed -n 's/.*"op":"insert","db":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | head -1)
sed -i "s/^table = \*\.\*/table = ${table:-test.t}/" "$H_DIR/apply.ini"
vg "fl-apply --once into Redis" 0 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --once
t_check "fl-apply wrote its checkpoint" test -n "$(h_redis HGET fastlane:checkpoint:vg seq)"
vg "fl-apply --status" 0 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --status
printf '[apply]\ntarget = redis://127.0.0.1:1/0\nbogus = 1\n' > "$H_DIR/bad.ini"
vg "fl-apply with a config mistake" 2 "$FL_BUILD/fl-apply" -c "$H_DIR/bad.ini"
vg "fl-relay with a config mistake" 2 "$FL_BUILD/fl-relay" -c "$H_DIR/bad.ini"
t_done
