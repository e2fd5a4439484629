#!/usr/bin/env bash
# test_never_stale.sh — situations that used to leave the cache silently stale, each against
# a private MariaDB and Redis: the binlog is ingested into a journal with `fl-relay
# --binlog-file` and applied with `fl-apply --once`, then the cache is compared with what the
# database holds.
#   - on_error = skip with an update that sets the key column to NULL: the old key is deleted
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_redis
J=$H_DIR/journal

# ingest: journals everything the server's binlog files hold (already journaled ones are skipped)
ingest() {
  h_sql "FLUSH BINARY LOGS" || return 1
  "$FL_BUILD/fl-relay" --journal "$J" --binlog-file "$MARIADB_DIR"/data/bin.[0-9]* >>"$H_DIR/ingest.log" 2>&1
}
# config NAME ON_ERROR: an applier of the journal into Redis db 0 with the rules below
config() {
  h_source_config
  cat <<CFG
[apply]
name = $1
journal = $J
target = redis://127.0.0.1:$REDIS_PORT/0
on_error = $2
[rule people]
table = app.people
key = p:{email}
format = json
CFG
}
apply_once() { "$FL_BUILD/fl-apply" -c "$1" --once >"$H_DIR/apply.log" 2>&1; }

h_sql "CREATE DATABASE app;
CREATE TABLE app.people (id INT PRIMARY KEY, email VARCHAR(64) NULL, name VARCHAR(64));" || h_die "schema"

# ---- on_error = skip: a key column set to NULL still deletes the old key -------------------
h_sql "INSERT INTO app.people VALUES (1, 'a@x', 'ann'), (2, 'b@x', 'bob')"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
config skip skip > "$H_DIR/skip.ini"
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

t_done
