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
#   - TRUNCATE, DROP TABLE, RENAME TABLE of rule tables delete the rules' keys on Redis; on
#     memcached, which cannot list keys, on_error = stop stops saying how to recover, skip goes
#     on saying so; ALTERs: an added column appears, a dropped projected one fails by on_error
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_redis
h_start_memcached
J=$H_DIR/journal

# ingest: journals everything the server's binlog files hold (already journaled ones are skipped)
ingest() { h_ingest "$J"; }
# config NAME ON_ERROR RULE...: an applier of the journal into Redis db 0 with the rules named
# (NOSOURCE=1: without [source], so the rules are checked against each table's first change,
# not against the source's schema of now)
config() {
  local name=$1 on_error=$2; shift 2
  [ -n "${NOSOURCE:-}" ] || h_source_config
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
rule_ddl() {
  printf '[rule trunc]\ntable = app.trunc\nkey = tr:{id}\nformat = column:v\n'
  printf '[rule gone]\ntable = app.gone\nkey = gone:{id}:v\nformat = column:v\n'
  printf '[rule ren]\ntable = app.ren\nkey = rn:{id}\nformat = column:v\n'
  printf '[rule alt]\ntable = app.alt\nkey = alt:{id}\ncolumns = id, a, note\n'
  printf '[rule alt_all]\ntable = app.alt\nkey = alta:{id}\n'
  printf '[rule scratch]\ntable = scratch.s\nkey = sc:{id}\nformat = column:v\n'
}
rule_stmt() { printf '[rule stmt]\ntable = app.stmt\nkey = s:{id}\nformat = column:v\n'; }
apply_once() { "$FL_BUILD/fl-apply" -c "$1" --once >"$H_DIR/apply.log" 2>&1; }

h_sql "CREATE DATABASE app;
CREATE TABLE app.people (id INT PRIMARY KEY, email VARCHAR(64) NULL, name VARCHAR(64));
CREATE TABLE app.stmt (id INT PRIMARY KEY, v INT);
CREATE TABLE app.unruled (id INT PRIMARY KEY, v INT);
CREATE TABLE app.mini (id INT PRIMARY KEY, a INT, b VARCHAR(20), d JSON);
CREATE TABLE app.trunc (id INT PRIMARY KEY, v INT);
CREATE TABLE app.gone (id INT PRIMARY KEY, v INT);
CREATE TABLE app.ren (id INT PRIMARY KEY, v INT);
CREATE TABLE app.alt (id INT PRIMARY KEY, a INT, note VARCHAR(20));
CREATE DATABASE scratch; CREATE TABLE scratch.s (id INT PRIMARY KEY, v INT);" || h_die "schema"

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

# ---- TRUNCATE, DROP TABLE, RENAME TABLE, ALTER -------------------------------------------------
h_sql "INSERT INTO app.trunc VALUES (1, 1), (2, 2); INSERT INTO app.gone VALUES (1, 1), (2, 2);
       INSERT INTO app.ren VALUES (1, 1); INSERT INTO app.alt VALUES (1, 1, 'n'); INSERT INTO scratch.s VALUES (1, 1)"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
NOSOURCE=1 config ddl stop ddl > "$H_DIR/ddl.ini"
apply_once "$H_DIR/ddl.ini"
t_eq "ddl: the rows are cached" "1 2 1 1 1" "$(h_redis GET tr:1) $(h_redis GET gone:2:v) $(h_redis GET rn:1) $(h_redis EXISTS alt:1) $(h_redis GET sc:1)"
h_redis SET other:1 keep >/dev/null; h_redis SET gone:1:w keep >/dev/null
{ echo "[apply]"; echo "name = mc"; echo "journal = $J"; echo "target = memcached://127.0.0.1:$MEMCACHED_PORT"
  echo "checkpoint_path = $H_DIR/mc.checkpoint"; echo "on_error = stop"; rule_ddl; } > "$H_DIR/mc.ini"
"$FL_BUILD/fl-apply" -c "$H_DIR/mc.ini" --once >"$H_DIR/mc.log" 2>&1
t_eq "ddl, memcached: the rows are cached" 1 "$(h_mc_get tr:1)"
h_sql "TRUNCATE TABLE app.trunc"
h_sql "DROP TABLE IF EXISTS app.gone"
h_sql "RENAME TABLE app.ren TO app.ren_old"
h_sql "DROP DATABASE scratch"
h_sql "INSERT INTO app.trunc VALUES (3, 3)"
h_sql "ALTER TABLE app.alt ADD COLUMN extra INT DEFAULT 7; UPDATE app.alt SET a = 2"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
apply_once "$H_DIR/ddl.ini"
t_eq "ddl: fl-apply exits 0" 0 "$?"
t_eq "TRUNCATE: the rule's old keys are deleted" "0 0" "$(h_redis EXISTS tr:1) $(h_redis EXISTS tr:2)"
t_eq "TRUNCATE: a row inserted after it is cached" 3 "$(h_redis GET tr:3)"
t_eq "DROP TABLE: the rule's keys are deleted" "0 0" "$(h_redis EXISTS gone:1:v) $(h_redis EXISTS gone:2:v)"
t_eq "DROP TABLE: a key the template does not match stays" keep "$(h_redis GET gone:1:w)"
t_eq "RENAME TABLE: the rule's keys are deleted" 0 "$(h_redis EXISTS rn:1)"
t_eq "DROP DATABASE: the keys of its rule tables are deleted" 0 "$(h_redis EXISTS sc:1)"
t_eq "ddl: other keys stay" keep "$(h_redis GET other:1)"
t_eq "ddl: the checkpoint is the journal's last seq" "$("$FL_BUILD/fl-dump" --stats "$J" | sed -n 's/.*"last_seq":\([0-9]*\).*/\1/p')" \
  "$(h_redis HGET fastlane:checkpoint:ddl seq)"
t_eq "ALTER ADD COLUMN: the new column is in the value" '{"id":1,"a":2,"note":"n","extra":7}' "$(h_redis GET alta:1)"
h_sql "ALTER TABLE app.alt DROP COLUMN note; UPDATE app.alt SET a = 3"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
apply_once "$H_DIR/ddl.ini"
t_eq "ALTER DROP COLUMN of a projected column, on_error = stop: exit 2 (the rule no longer fits)" 2 "$?"
grep -qF '[rule alt] columns: unknown column `note` in app.alt' "$H_DIR/apply.log" \
  && t_ok "ALTER DROP COLUMN: the column is named" || t_fail "ALTER DROP COLUMN: the column is named" "$(cat "$H_DIR/apply.log")"
config ddl skip ddl > "$H_DIR/ddl-skip.ini"
apply_once "$H_DIR/ddl-skip.ini"
t_eq "ALTER DROP COLUMN, on_error = skip: exit 0" 0 "$?"
t_eq "ALTER DROP COLUMN, on_error = skip: the rule's key is not left stale" 0 "$(h_redis EXISTS alt:1)"
t_eq "ALTER DROP COLUMN, on_error = skip: other rules go on" '{"id":1,"a":3,"extra":7}' "$(h_redis GET alta:1)"
grep -qF 'rule alt: projected column `note` does not exist in app.alt (skipped, on_error = skip)' "$H_DIR/apply.log" \
  && t_ok "ALTER DROP COLUMN, on_error = skip: the column is named" \
  || t_fail "ALTER DROP COLUMN, on_error = skip: the column is named" "$(cat "$H_DIR/apply.log")"
"$FL_BUILD/fl-apply" -c "$H_DIR/mc.ini" --once >"$H_DIR/mc.log" 2>&1
t_eq "ddl, memcached, on_error = stop: exit 1" 1 "$?"
grep -q 'rule trunc (TRUNCATE of app.trunc at gtid [0-9-]*): memcached cannot list its keys.*flush every memcached server (flush_all) and start fl-apply with --from-seq [0-9]' \
  "$H_DIR/mc.log" && t_ok "ddl, memcached: says what cannot be done and how to recover" \
  || t_fail "ddl, memcached: says what cannot be done and how to recover" "$(cat "$H_DIR/mc.log")"
sed -i 's/^on_error = stop/on_error = skip/' "$H_DIR/mc.ini"
"$FL_BUILD/fl-apply" -c "$H_DIR/mc.ini" --once >"$H_DIR/mc.log" 2>&1
t_eq "ddl, memcached, on_error = skip: exit 0" 0 "$?"
t_eq "ddl, memcached, on_error = skip: what follows is applied" 3 "$(h_mc_get tr:3)"
grep -q 'memcached cannot list its keys.*(on_error = skip: going on with them)' "$H_DIR/mc.log" \
  && t_ok "ddl, memcached, on_error = skip: logged" || t_fail "ddl, memcached, on_error = skip: logged" "$(cat "$H_DIR/mc.log")"

t_done
