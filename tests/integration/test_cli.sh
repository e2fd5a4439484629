#!/usr/bin/env bash
# test_cli.sh — the three programs' command lines share one style: --help and --version exit 0
# on stdout; a usage mistake is one line "PROGRAM: what is wrong (see --help)" on stderr, exit 2.
source "$(dirname "$0")/../harness.sh"

version=$(git -C "$H_ROOT" describe --tags --always --dirty 2>/dev/null || echo unknown)
for p in fl-relay fl-apply fl-dump; do
  bin=$FL_BUILD/$p
  out=$("$bin" --version); rc=$?
  t_eq "$p --version exits 0" 0 "$rc"
  t_check "$p --version names the program and the build" grep -qx "$p (fastlane) [^ ]*" <<<"$out"
  [ "$version" = unknown ] || t_check "$p --version is the checkout's version" grep -q -- "${version%-dirty}" <<<"$out"
  t_check "$p -V is --version" bash -c "[ \"\$('$bin' -V)\" = '$out' ]"
  out=$("$bin" --help); rc=$?
  t_eq "$p --help exits 0" 0 "$rc"
  t_check "$p --help shows usage" grep -q "^usage: $p" <<<"$out"
  t_check "$p --help lists --version" grep -q -- "--version" <<<"$out"

  err=$("$bin" --no-such-option 2>&1 >/dev/null); rc=$?
  t_eq "$p unknown long option exits 2" 2 "$rc"
  t_eq "$p unknown long option says so" "$p: unknown option '--no-such-option' (see --help)" "$err"
  err=$("$bin" -Z 2>&1 >/dev/null); rc=$?
  t_eq "$p unknown short option exits 2" 2 "$rc"
  t_eq "$p unknown short option says so" "$p: unknown option '-Z' (see --help)" "$err"
done

err=$("$FL_BUILD/fl-apply" -c 2>&1 >/dev/null); rc=$?
t_eq "fl-apply -c without a value exits 2" 2 "$rc"
t_eq "fl-apply -c without a value says so" "fl-apply: -c needs a value (see --help)" "$err"
err=$("$FL_BUILD/fl-relay" --config 2>&1 >/dev/null); rc=$?
t_eq "fl-relay --config without a value exits 2" 2 "$rc"
t_eq "fl-relay --config without a value says so" "fl-relay: --config needs a value (see --help)" "$err"
err=$("$FL_BUILD/fl-dump" --limit 2>&1 >/dev/null); rc=$?
t_eq "fl-dump --limit without a value exits 2" 2 "$rc"
err=$("$FL_BUILD/fl-apply" 2>&1 >/dev/null); rc=$?
t_eq "fl-apply without -c exits 2" 2 "$rc"
t_eq "fl-apply without -c says so" "fl-apply: give -c FILE (see --help)" "$err"
err=$("$FL_BUILD/fl-relay" stray 2>&1 >/dev/null); rc=$?
t_eq "fl-relay with a stray argument exits 2" 2 "$rc"
t_eq "fl-relay with a stray argument says so" "fl-relay: unexpected argument 'stray' (see --help)" "$err"

# --from-gtid of a GTID the journal lacks names the journal's range.
j=$H_DIR/journal
t_check "a MariaDB fixture ingests" "$FL_BUILD/fl-relay" --journal "$j" \
  --binlog-file "$H_ROOT/tests/fixtures/mysql-binlogs/mariadb-bin.000001"
cat > "$H_DIR/apply.ini" <<INI
[apply]
name = cli
journal = $j
target = redis://127.0.0.1:1/0
[rule r]
table = test.t
key = t:{id}
INI
err=$("$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --from-gtid 0-1-999999999 --once 2>&1 >/dev/null); rc=$?
t_eq "fl-apply --from-gtid of an unknown GTID exits 1" 1 "$rc"
t_check "... naming the journal's range" grep -q "fl-apply: --from-gtid 0-1-999999999: no such transaction in $j (it holds seqs 1 to [0-9]*" <<<"$err"
t_done
