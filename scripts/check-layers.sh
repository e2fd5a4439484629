#!/usr/bin/env bash
# Checks that no source file includes a header from a higher floor (docs/DESIGN.md "Folders"):
#   common (0) < journal (1) < feed (2) < the programs fl-relay, fl-apply, fl-dump (3).
# A program never includes another program's headers. Prints "layers: N passed, N failed".
set -u
cd "$(dirname "$0")/.."
floor() {
  case $1 in
    common) echo 0 ;; journal) echo 1 ;; feed) echo 2 ;;
    fl-relay|fl-apply|fl-dump) echo 3 ;; *) echo -1 ;;
  esac
}
passed=0; failed=0
for f in common/*.[ch] journal/*.[ch] feed/*.[ch] fl-relay/*.[ch] fl-apply/*.[ch] fl-dump/*.[ch]; do
  [ -f "$f" ] || continue
  dir=${f%%/*}; mine=$(floor "$dir"); ok=1
  while IFS= read -r inc; do
    to=${inc%%/*}; theirs=$(floor "$to")
    [ "$theirs" -ge 0 ] || continue
    if [ "$theirs" -gt "$mine" ] || { [ "$theirs" -eq 3 ] && [ "$to" != "$dir" ]; }; then
      echo "  $f includes $inc: $to is above $dir or beside it"; ok=0
    fi
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
  if [ "$ok" -eq 1 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "layers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
