#!/usr/bin/env bash
# test_format.sh — `make format-check` (scripts/format-check.sh) with the project's
# .clang-format, on a scratch checkout: a file in the style passes, one out of it is named with
# its line count and fails the check, and --fix brings it into the style.
source "$(dirname "$0")/../harness.sh"

command -v clang-format >/dev/null || h_die "clang-format is not installed (make deps)"
w=$H_DIR/tree
mkdir -p "$w/scripts" "$w/common"
cp "$H_ROOT/.clang-format" "$w/"
cp "$H_ROOT/scripts/format-check.sh" "$w/scripts/"
cat > "$w/common/good.c" <<'C'
/* good.c — in the style. */
#include <stddef.h>

static int twice(int x) { return 2 * x; }

int good(const int *v, size_t n)
{
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < 0) continue;
        sum += twice(v[i]);
    }
    return sum;
}
C
git -C "$w" init -q && git -C "$w" add -A
bash "$w/scripts/format-check.sh" > "$H_DIR/good.out" 2>&1
t_eq "a tree in the style passes" 0 "$?"
t_check "... and says so" grep -q "0 to reformat, 0 line(s) would change" "$H_DIR/good.out"

cat > "$w/common/bad.c" <<'C'
/* bad.c — out of the style. */
int bad(int a,int b) {
  if(a>b){ return a; }
      return b;
}
C
git -C "$w" add -A
bash "$w/scripts/format-check.sh" > "$H_DIR/bad.out" 2>&1
t_check "a file out of the style fails the check" test $? -ne 0
t_check "... named with the lines that would change" grep -q "common/bad.c: [1-9][0-9]* line(s)" "$H_DIR/bad.out"
t_check "... and the file in the style is not named" bash -c "! grep -q good.c '$H_DIR/bad.out'"

bash "$w/scripts/format-check.sh" --fix
t_check "--fix brings it into the style" bash "$w/scripts/format-check.sh"
t_check "... with the function's brace on its own line" grep -qx "{" "$w/common/bad.c"
t_done
