#!/usr/bin/env bash
# test_least_privilege.sh — the README's source setup and cache credentials, taken from the
# README itself, are enough and no more: a MariaDB started with the README's my.cnf lines and a
# user made by its CREATE USER/GRANT statements passes `fl-relay --check` with no warning and
# replicates; an applier whose Redis user has exactly the README's ACL applies, checkpoints and
# (with the --verify line) verifies, and that user can neither write other keys nor flush.
source "$(dirname "$0")/../harness.sh"

RELAY=$FL_BUILD/fl-relay
APPLY=$FL_BUILD/fl-apply
DUMP=$FL_BUILD/fl-dump
[ -x "$RELAY" ] && [ -x "$APPLY" ] || h_die "build the programs first (FL_BUILD=$FL_BUILD)"
README=$H_ROOT/README.md

# readme_block NAME: the fenced block after the README line "<!-- test_least_privilege: NAME -->"
readme_block() {
  awk -v mark="<!-- test_least_privilege: $1 -->" '
    $0 == mark { armed = 1; next }
    armed && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' "$README"
}

# ---- the source -------------------------------------------------------------------------------
mycnf=$(readme_block "mariadb my.cnf")
t_check "README has the MariaDB my.cnf block" grep -q '^binlog_row_metadata = FULL' <<<"$mycnf"
opts=()
while IFS= read -r line; do
  case $line in ''|'['*|'#'*) continue ;; esac
  key=${line%%=*}; value=${line#*=}
  key=$(echo $key); value=$(echo $value)
  opts+=("--$key=$value")
done <<<"$mycnf"
h_start_mariadb "${opts[@]}"
t_eq "the server runs with the README's binlog_row_metadata" "FULL" "$(h_sql 'SELECT @@global.binlog_row_metadata')"

grants=$(readme_block "mariadb grants")
t_check "README has the MariaDB grants" grep -q '^GRANT REPLICATION SLAVE' <<<"$grants"
h_sql "CREATE DATABASE shop; CREATE TABLE shop.users (id INT PRIMARY KEY, name VARCHAR(40), email VARCHAR(80))"
h_sql "CREATE DATABASE other; CREATE TABLE other.t (id INT PRIMARY KEY)"
h_sql "$(sed -e "s/'192.0.2.10'/'127.0.0.1'/g" -e "s/a-long-random-password/src-pw-123/" <<<"$grants")"
t_check "the README's user exists" bash -c "[ \"\$(mariadb --no-defaults -ufastlane -psrc-pw-123 -h127.0.0.1 -P$MARIADB_PORT -N -B -e 'SELECT 1')\" = 1 ]"

source_section() {
  cat <<CFG
[source]
host = 127.0.0.1
port = $MARIADB_PORT
user = fastlane
password = src-pw-123
server_id = 1001
ssl_mode = disabled
start = earliest
heartbeat = 1
CFG
}
{ source_section; printf '[journal]\npath = %s\n' "$H_DIR/journal"; } > "$H_DIR/relay.ini"
"$RELAY" -c "$H_DIR/relay.ini" --check > "$H_DIR/check.out" 2>&1
t_eq "--check with the README's user and settings exits 0" 0 "$?"
t_check "--check says the source is ready without warnings" grep -qx "source ready" "$H_DIR/check.out"
t_check "--check finds no privilege beyond need" grep -q "no privilege beyond what the relay needs" "$H_DIR/check.out"
[ "$T_FAILED" -eq 0 ] || cat "$H_DIR/check.out" >&2

"$RELAY" -c "$H_DIR/relay.ini" >> "$H_DIR/relay.log" 2>&1 &
h_register $!
for i in 1 2 3; do h_sql "INSERT INTO shop.users VALUES ($i, 'name$i', 'u$i@example.com')"; done
h_sql "UPDATE shop.users SET name = 'renamed' WHERE id = 2"
h_sql "INSERT INTO other.t VALUES (1)"
want=$(h_sql "SELECT @@global.gtid_binlog_pos")
t_check "the README's user replicates into the journal" \
  h_wait_until 30 bash -c "'$DUMP' '$H_DIR/journal' --stats 2>/dev/null | grep -q '\"last_gtid\":\"$want\"'"

# ---- Redis ------------------------------------------------------------------------------------
h_start_redis
acl=$(readme_block "redis acl")
t_check "README has the Redis ACL" grep -q '^ACL SETUSER fastlane-main' <<<"$acl"
# shellcheck disable=SC2086 # the ACL line is words, as redis-cli takes them
t_eq "the README's ACL is accepted" "OK" "$(h_redis ${acl/a-long-random-password/cache-pw-456})"

apply_config() {
  source_section
  cat <<CFG
[apply]
name = main
journal = $H_DIR/journal
target = redis://fastlane-main:cache-pw-456@127.0.0.1:$REDIS_PORT/0
[rule users]
table = shop.users
key = user:{id}
format = json
CFG
}
apply_config > "$H_DIR/apply.ini"
timeout 60 "$APPLY" -c "$H_DIR/apply.ini" --once > "$H_DIR/apply.log" 2>&1
t_eq "fl-apply --once with the README's ACL exits 0" 0 "$?"
t_check "... and wrote the rows" grep -q renamed <<<"$(h_redis GET user:2)"
t_check "... and its checkpoint" test -n "$(h_redis HGET fastlane:checkpoint:main seq)"
[ "$T_FAILED" -eq 0 ] || cat "$H_DIR/apply.log" >&2

as_applier() { redis-cli -p "$REDIS_PORT" --user fastlane-main --pass cache-pw-456 --no-auth-warning "$@"; }
t_check "the applier's user cannot write other keys" grep -q NOPERM <<<"$(as_applier SET other:1 x 2>&1)"
t_check "the applier's user cannot flush" grep -q NOPERM <<<"$(as_applier FLUSHALL 2>&1)"

timeout 60 "$APPLY" -c "$H_DIR/apply.ini" --verify > "$H_DIR/verify-denied.out" 2>&1
t_check "without the --verify line, --verify fails" test $? -ne 0
verify_acl=$(readme_block "redis verify acl")
# shellcheck disable=SC2086
t_eq "the README's --verify ACL line is accepted" "OK" "$(h_redis $verify_acl)"
timeout 60 "$APPLY" -c "$H_DIR/apply.ini" --verify > "$H_DIR/verify.out" 2>&1
t_eq "fl-apply --verify with the README's ACL exits 0" 0 "$?"
[ "$T_FAILED" -eq 0 ] || cat "$H_DIR/verify.out" >&2

# a TRUNCATE of a rule's table removes the rule's keys (SCAN and DEL) under the same ACL
h_sql "TRUNCATE TABLE shop.users"
want=$(h_sql "SELECT @@global.gtid_binlog_pos")
h_wait_until 30 bash -c "'$DUMP' '$H_DIR/journal' --stats 2>/dev/null | grep -q '\"last_gtid\":\"$want\"'"
timeout 60 "$APPLY" -c "$H_DIR/apply.ini" --once > "$H_DIR/truncate.log" 2>&1
t_eq "a TRUNCATE is applied with the README's ACL" 0 "$?"
t_eq "... and the rule's keys are gone" "0" "$(h_redis EXISTS user:1 user:2 user:3)"
[ "$T_FAILED" -eq 0 ] || cat "$H_DIR/truncate.log" >&2
t_done
