#!/usr/bin/env bash
# format-check.sh — whether every C source and header matches .clang-format. Lists each file
# clang-format would change, with the number of its lines that would change, and a total;
# exits 0 only when nothing would change. `format-check.sh --fix` reformats them in place.
set -u
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format-check: clang-format is not installed (make deps)" >&2; exit 2; }
fix=0
case ${1:-} in
  --fix) fix=1 ;;
  "") ;;
  *) echo "usage: scripts/format-check.sh [--fix]" >&2; exit 2 ;;
esac
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.c' '*.h')
else
  mapfile -t files < <(find common journal feed fl-relay fl-apply fl-dump tests bench -name '*.[ch]' | sort)
fi
if [ "$fix" -eq 1 ]; then
  clang-format -i --style=file "${files[@]}"
  exit $?
fi
nfiles=0; nlines=0
for f in "${files[@]}"; do
  n=$(clang-format --style=file "$f" | diff -U0 "$f" - | grep -c '^-[^-]')
  if [ "$n" -gt 0 ]; then
    echo "  $f: $n line(s)"
    nfiles=$((nfiles + 1)); nlines=$((nlines + n))
  fi
done
echo "format: ${#files[@]} files, $nfiles to reformat, $nlines line(s) would change"
[ "$nfiles" -eq 0 ]
