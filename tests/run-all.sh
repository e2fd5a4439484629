#!/usr/bin/env bash
# The whole suite: include floors and the format check, build (also with the stage trace points,
# STAGE_TRACE=1), unit tests (plain, then ASan+UBSan), brief fuzzing, integration.
# Ends with one line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
total_p=0; total_f=0
step() { # name, command...
  local name=$1; shift
  echo "== $name"
  local log; log=$(mktemp)
  "$@" 2>&1 | tee "$log"; local rc=${PIPESTATUS[0]}
  local line; line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
  local p f
  p=$(sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed.*/\1/' <<<"$line")
  f=$(sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
  [ -n "$line" ] || { p=0; f=0; }
  if [ "$rc" -ne 0 ] && [ "$f" = 0 ]; then f=1; echo "$name: failed (exit $rc)"; fi
  total_p=$((total_p + p)); total_f=$((total_f + f))
  rm -f "$log"
}
jobs=$(nproc 2>/dev/null || echo 2)
step layers bash scripts/check-layers.sh
step format bash scripts/format-check.sh
step build make -s -j"$jobs" all
step stage-trace make -s -j"$jobs" check-stage-trace
step unit make -s -j"$jobs" unit
step unit-asan make -s -j"$jobs" check-asan
step fuzz make -s fuzz
step integration make -s -j"$jobs" integration
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
