#!/usr/bin/env bash
# test_never_stale.sh — situations that used to leave the cache silently stale, each against
# a private MariaDB and Redis: the binlog is ingested into a journal with `fl-relay
# --binlog-file` and applied with `fl-apply --once`, then the cache is compared with what the
# database holds.
#   - on_error = skip with an update that sets the key column to NULL: the old key is deleted
#   - statement-based transactions: on_error = stop stops naming the GTID and the statement;
#     skip skips and counts them, and --status / --verify say how many were not applied
#   - binlog_row_image = MINIMAL: a value built from columns the binlog does not carry is never
#     written; the key is deleted (json, hash) and a value that is known is written (column:)
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_redis
J=$H_DIR/journal

# ingest: journals everything the server's binlog files hold (already journaled ones are skipped)
ingest() {
  h_sql "FLUSH BINARY LOGS" || return 1
  "$FL_BUILD/fl-relay" --journal "$J" --binlog-file "$MARIADB_DIR"/data/bin.[0-9]* >>"$H_DIR/ingest.log" 2>&1
}
# config NAME ON_ERROR RULE...: an applier of the journal into Redis db 0 with the rules named
config() {
  local name=$1 on_error=$2; shift 2
  h_source_config
  cat <<CFG
[apply]
name = $name
journal = $J
target = redis://127.0.0.1:$REDIS_PORT/0
on_error = $on_error
CFG
  local r
  for r in "$@"; do "rule_$r"; done
}
rule_people() { printf '[rule people]\ntable = app.people\nkey = p:{email}\nformat = json\n'; }
rule_mini() {
  printf '[rule mini_json]\ntable = app.mini\nkey = mj:{id}\nformat = json\n'
  printf '[rule mini_hash]\ntable = app.mini\nkey = mh:{id}\nformat = hash\n'
  printf '[rule mini_col]\ntable = app.mini\nkey = mc:{id}\nformat = column:a\n'
}
rule_stmt() { printf '[rule stmt]\ntable = app.stmt\nkey = s:{id}\nformat = column:v\n'; }
apply_once() { "$FL_BUILD/fl-apply" -c "$1" --once >"$H_DIR/apply.log" 2>&1; }

h_sql "CREATE DATABASE app;
CREATE TABLE app.people (id INT PRIMARY KEY, email VARCHAR(64) NULL, name VARCHAR(64));
CREATE TABLE app.stmt (id INT PRIMARY KEY, v INT);
CREATE TABLE app.unruled (id INT PRIMARY KEY, v INT);
CREATE TABLE app.mini (id INT PRIMARY KEY, a INT, b VARCHAR(20), d JSON);" || h_die "schema"

# ---- on_error = skip: a key column set to NULL still deletes the old key -------------------
h_sql "INSERT INTO app.people VALUES (1, 'a@x', 'ann'), (2, 'b@x', 'bob')"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
config skip skip people > "$H_DIR/skip.ini"
apply_once "$H_DIR/skip.ini"
t_eq "people: the row is cached" '{"id":1,"email":"a@x","name":"ann"}' "$(h_redis GET p:a@x)"
h_sql "UPDATE app.people SET email = NULL WHERE id = 1"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
apply_once "$H_DIR/skip.ini"
t_eq "on_error = skip: fl-apply exits 0" 0 "$?"
t_eq "on_error = skip: the old key of a row whose key became NULL is deleted" 0 "$(h_redis EXISTS p:a@x)"
t_eq "on_error = skip: other rows stay" '{"id":2,"email":"b@x","name":"bob"}' "$(h_redis GET p:b@x)"
grep -q 'key column `email` is NULL (skipped, on_error = skip)' "$H_DIR/apply.log" \
  && t_ok "on_error = skip: the row is named in the log" || t_fail "on_error = skip: the row is named in the log" "$(cat "$H_DIR/apply.log")"

# ---- statement-based transactions follow on_error, are counted and shown ---------------
h_sql "INSERT INTO app.stmt VALUES (1, 1), (2, 2)"
h_sql "SET SESSION binlog_format = STATEMENT; INSERT INTO app.unruled VALUES (1, 1)"
h_sql "SET SESSION binlog_format = STATEMENT; UPDATE app.stmt SET v = 10 WHERE id = 1"
h_sql "INSERT INTO app.stmt VALUES (3, 3)"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
STMT_GTID=$(h_sql "SELECT @@global.gtid_binlog_pos" | awk -F- '{ print $1 "-" $2 "-" ($3 - 1) }')
config st stop stmt > "$H_DIR/st-stop.ini"
apply_once "$H_DIR/st-stop.ini"
t_eq "statement, on_error = stop: fl-apply exits 1" 1 "$?"
grep -qF "gtid $STMT_GTID: statement-based change, which no cache can apply: UPDATE app.stmt SET v = 10 WHERE id = 1" \
  "$H_DIR/apply.log" && t_ok "statement, on_error = stop: the GTID and the statement are named" \
  || t_fail "statement, on_error = stop: the GTID and the statement are named" "$(cat "$H_DIR/apply.log")"
t_eq "statement, on_error = stop: the change before it is applied" 1 "$(h_redis GET s:1)"
t_eq "statement, on_error = stop: nothing after it is applied" 0 "$(h_redis EXISTS s:3)"
config st skip stmt > "$H_DIR/st-skip.ini"
apply_once "$H_DIR/st-skip.ini"
t_eq "statement, on_error = skip: fl-apply exits 0" 0 "$?"
t_eq "statement, on_error = skip: what follows is applied" 3 "$(h_redis GET s:3)"
grep -qF "gtid $STMT_GTID: statement-based change not applied (on_error = skip): UPDATE app.stmt" "$H_DIR/apply.log" \
  && t_ok "statement, on_error = skip: logged" || t_fail "statement, on_error = skip: logged" "$(cat "$H_DIR/apply.log")"
"$FL_BUILD/fl-apply" -c "$H_DIR/st-skip.ini" --status >"$H_DIR/status" 2>&1
grep -q "^not applied: 1 statement-based transactions" "$H_DIR/status" && t_ok "--status counts the statement not applied" \
  || t_fail "--status counts the statement not applied" "$(cat "$H_DIR/status")"
"$FL_BUILD/fl-apply" -c "$H_DIR/st-skip.ini" --verify >"$H_DIR/verify" 2>&1
t_eq "--verify finds the stale key the statement left" 1 "$?"
grep -q "^not applied *1 statement-based transactions" "$H_DIR/verify" && t_ok "--verify counts the statement not applied" \
  || t_fail "--verify counts the statement not applied" "$(cat "$H_DIR/verify")"

# ---- binlog_row_image = MINIMAL: unknown values invalidate, known ones are written ----------
h_sql "INSERT INTO app.mini VALUES (1, 1, 'one', '{\"k\": 1}'), (2, 2, 'two', NULL)"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
config mini stop mini > "$H_DIR/mini.ini"
apply_once "$H_DIR/mini.ini"
t_eq "minimal image: the full rows are cached" '{"id":1,"a":1,"b":"one","d":"{\"k\": 1}"}' "$(h_redis GET mj:1)"
h_sql "SET SESSION binlog_row_image = MINIMAL; UPDATE app.mini SET a = 5 WHERE id = 1"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
"$FL_BUILD/fl-dump" --json "$J" | tail -1 | grep -qF '"before":{"id":1},"after":{"a":5}' \
  && t_ok "minimal image: the binlog holds the key and the changed column only" \
  || t_fail "minimal image: the binlog holds the key and the changed column only" "$("$FL_BUILD/fl-dump" --json "$J" | tail -1)"
apply_once "$H_DIR/mini.ini"
t_eq "minimal image: fl-apply exits 0" 0 "$?"
t_eq "minimal image: json key deleted, not written from the known columns" 0 "$(h_redis EXISTS mj:1)"
t_eq "minimal image: hash key deleted, not written from the known columns" 0 "$(h_redis EXISTS mh:1)"
t_eq "minimal image: column:a written (its value is known)" 5 "$(h_redis GET mc:1)"
t_eq "minimal image: other rows untouched" '{"id":2,"a":2,"b":"two","d":null}' "$(h_redis GET mj:2)"
grep -q 'rule mini_json: the new value of column `b` is not in the binlog (binlog_row_image is not FULL); key mj:1 deleted' \
  "$H_DIR/apply.log" && t_ok "minimal image: the invalidation is logged" \
  || t_fail "minimal image: the invalidation is logged" "$(cat "$H_DIR/apply.log")"
"$FL_BUILD/fl-apply" -c "$H_DIR/mini.ini" --verify >"$H_DIR/verify" 2>&1
grep -q "^stale *0" "$H_DIR/verify" && t_ok "minimal image: --verify finds no stale key" \
  || t_fail "minimal image: --verify finds no stale key" "$(cat "$H_DIR/verify")"

t_done
