#!/usr/bin/env bash
# test_rules_start.sh — fl-apply checks its rules against the source's schema when it starts:
# a rule for a missing table, or naming a missing column, is logged as a FILE:LINE error
# before anything is applied (never a refusal to start, which a pending DROP in the journal
# would make permanent); the rule then meets on_error at its table's first change. An
# unreachable source only defers the check. --verify goes on with every other table when one
# cannot be read.
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_redis
h_sql "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(10));
CREATE TABLE app.u (id INT PRIMARY KEY, n INT); INSERT INTO app.t VALUES (1, 'a'); INSERT INTO app.u VALUES (1, 5)" \
  || h_die "schema"
J=$H_DIR/journal; mkdir -p "$J"
h_sql "FLUSH BINARY LOGS"
"$FL_BUILD/fl-relay" --journal "$J" --binlog-file "$MARIADB_DIR"/data/bin.[0-9]* >/dev/null 2>&1 || h_die "ingest"

config() { # NAME SOURCE-SECTION RULES...
  local name=$1 source=$2; shift 2
  { printf '%s\n' "$source"; printf '[apply]\nname = %s\njournal = %s\ntarget = redis://127.0.0.1:%s/0\n' \
      "$name" "$J" "$REDIS_PORT"; printf '%s\n' "$@"; } > "$H_DIR/$name.ini"
}
good_t=$'[rule t]\ntable = app.t\nkey = t:{id}'
good_u=$'[rule u]\ntable = app.u\nkey = u:{id}'

config missing "$(h_source_config)" "$good_t" $'[rule gone]\ntable = app.nope\nkey = n:{id}'
out=$(timeout 30 "$FL_BUILD/fl-apply" -c "$H_DIR/missing.ini" --once 2>&1); rc=$?
t_check "a rule for a missing table is an error at start, named with its FILE:LINE" \
  grep -q "ERROR .*missing.ini:[0-9]*: \[rule gone\] table: app.nope does not exist in the source" <<<"$out"
t_check "... logged before anything is applied" bash -c "grep -n 'app.nope does not exist' <<<\"\$1\" | cut -d: -f1 | head -1 | { read a; [ \"\$a\" -lt \"\$(grep -n 'applied' <<<\"\$1\" | cut -d: -f1 | head -1)\" ]; }" _ "$out"
t_eq "... never a refusal to start (a pending DROP would make it permanent): the other rules apply" 0 "$rc"
t_eq "... the good rule's key is there" '{"id":1,"v":"a"}' "$(h_redis GET t:1)"
h_redis FLUSHALL >/dev/null

config badcol "$(h_source_config)" $'[rule t]\ntable = app.t\nkey = t:{id}:{nope}' $'[rule u]\ntable = app.u\nkey = u:{id}\ncolumns = id, m'
out=$(timeout 30 "$FL_BUILD/fl-apply" -c "$H_DIR/badcol.ini" --once 2>&1); rc=$?
t_check "a key naming a missing column is an error at start: the key's line names the column" \
  grep -q "ERROR .*badcol.ini:[0-9]*: \[rule t\] key: unknown column \`nope\` in app.t" <<<"$out"
t_check "... and the other rule's projection is reported too" grep -q "\[rule u\] columns: unknown column \`m\` in app.u" <<<"$out"
t_check "... then on_error = stop stops at the table's first change (non-zero exit)" test "$rc" -ne 0
t_eq "... nothing applied" 0 "$(h_redis EXISTS u:1)"

dead=$(h_free_port)
config unreachable "$(h_source_config | sed "s/^port = .*/port = $dead/")" "$good_t" "$good_u"
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/unreachable.ini" --once 2>&1); rc=$?
t_eq "an unreachable source defers the check: the applier runs" 0 "$rc"
t_check "... saying so" grep -q "cannot check the rules against the source now" <<<"$out"
t_eq "... and applies" '{"id":1,"v":"a"}' "$(h_redis GET t:1)"

config nosource "" "$good_t" "$good_u"
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/nosource.ini" --once 2>&1); rc=$?
t_eq "without [source] the applier runs" 0 "$rc"

# --verify: one table gone, the other still compared
config verify "$(h_source_config)" "$good_t" "$good_u"
h_sql "DROP TABLE app.t"
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/verify.ini" --verify 2>&1); rc=$?
echo "$out" | sed 's/^/  | /'
t_eq "verify with an unreadable table exits 2" 2 "$rc"
t_check "... naming it" grep -q "table app.t: not checked" <<<"$out"
t_check "... and still compares the other table" grep -q "table app.u: 1 rows" <<<"$out"
t_check "... whose key matches" grep -q "^matching *1$" <<<"$out"
t_done
