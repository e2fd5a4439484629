#!/usr/bin/env bash
# common.sh — sourced by the benchmarks after tests/harness.sh: the helpers they share to stop
# with a message, compute figures, make the tables they fill and turn the private server's
# binlog files into journals.

# die MESSAGE: says which benchmark stops and why, and exits 1
die() { echo "bench $(basename "$0" .sh): $*" >&2; exit 1; }
# calc EXPR VAR=VALUE...: prints an awk expression's value
calc() { local e=$1; shift; local a=(); for v in "$@"; do a+=(-v "$v"); done; awk "${a[@]}" "BEGIN { print $e }"; }
# current_binlog: the binlog file the server writes now
current_binlog() { h_sql "SHOW MASTER STATUS" | cut -f1; }
# binlogs_from FILE: FILE and every later binlog file, as paths
binlogs_from() { local f; for f in "$MARIADB_DIR"/data/bin.[0-9]*; do [[ $(basename "$f") < "$1" ]] || echo "$f"; done; }
# ingest JOURNAL FILE...: the binlog files into a new journal; prints its transaction count
# (called as x=$(ingest ...) || exit 1: die inside $(...) ends only the subshell)
ingest() {
  local j=$1; shift
  "$FL_BUILD/fl-relay" --journal "$j" --binlog-file "$@" >"$H_DIR/ingest.log" 2>&1 \
    || die "ingest into $j failed: $(tail -3 "$H_DIR/ingest.log")"
  "$FL_BUILD/fl-dump" --stats "$j" | sed -n 's/.*"count":\([0-9]*\).*/\1/p'
}
# schema_sql: the SQL of database b: tables b.t and b.big (id, v, n) and the procedure
# b.fill(cnt) that inserts cnt rows into b.t, one transaction each (with autocommit)
schema_sql() {
  cat <<'SQL'
CREATE DATABASE b;
CREATE TABLE b.t (id INT PRIMARY KEY, v VARCHAR(32), n BIGINT);
CREATE TABLE b.big (id INT PRIMARY KEY, v VARCHAR(32), n BIGINT);
DELIMITER //
CREATE PROCEDURE b.fill(cnt INT) BEGIN DECLARE i INT DEFAULT 0;
  WHILE i < cnt DO INSERT INTO b.t VALUES (i, CONCAT('value-', i), i * 7); SET i = i + 1; END WHILE; END //
DELIMITER ;
SQL
}
