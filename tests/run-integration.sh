#!/usr/bin/env bash
# Runs every tests/integration/test_*.sh (each starts its own private servers) and prints
# "integration: N passed, N failed". A script's checks are counted from its RESULT line.
set -u
build=${1:-build}
export FL_BUILD; FL_BUILD=$(cd "$build" && pwd)
passed=0; failed=0; bad=()
only=${FL_TESTS:-}
for t in tests/integration/test_*.sh; do
  [ -f "$t" ] || continue
  name=$(basename "$t" .sh)
  if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then continue; fi
  log=$(mktemp); start=$(date +%s)
  timeout --kill-after=10 600 bash "$t" >"$log" 2>&1; rc=$?
  res=$(sed -n 's/^RESULT passed=\([0-9]*\) failed=\([0-9]*\)$/\1 \2/p' "$log" | tail -1)
  p=${res% *}; f=${res#* }
  [ -n "$res" ] || { p=0; f=0; }
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  printf '  %-28s %4d passed %4d failed  (%ss)\n' "$name" "$p" "$f" "$(( $(date +%s) - start ))"
  if [ "$f" -ne 0 ]; then bad+=("$name"); tail -60 "$log"; fi
  rm -f "$log"
done
[ ${#bad[@]} -eq 0 ] || echo "integration: failing: ${bad[*]}"
echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
