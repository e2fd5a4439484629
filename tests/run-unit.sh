#!/usr/bin/env bash
# Runs every cmocka unit test binary in BUILD/tests and prints "unit: N passed, N failed".
set -u
build=${1:-build}
passed=0; failed=0; bad=()
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  out=$("$t" 2>&1); rc=$?
  p=$(printf '%s\n' "$out" | sed -n 's/.*\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' | tail -1)
  f=$(printf '%s\n' "$out" | sed -n 's/.*\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' | tail -1)
  p=${p:-0}; f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or sanitizer report
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$f" -ne 0 ]; then bad+=("$(basename "$t")"); printf '%s\n' "$out" | tail -40; fi
  printf '  %-28s %4d passed %4d failed\n' "$(basename "$t")" "$p" "$f"
done
[ ${#bad[@]} -eq 0 ] || echo "unit: failing: ${bad[*]}"
echo "unit ($build): $passed passed, $failed failed"
[ "$failed" -eq 0 ]
