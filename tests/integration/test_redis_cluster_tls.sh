#!/usr/bin/env bash
# test_redis_cluster_tls.sh — fl-apply and --verify against a Redis Cluster whose nodes speak
# TLS only (rediss-cluster://; clients, cluster bus and replication over TLS): every primary is
# reached over TLS and its certificate verified against target_tls_ca for the address the
# slot map gives; the end state equals the database and --verify matches. A certificate from
# another CA is refused: fl-apply stops with the reason and a non-zero exit, nothing applied.
source "$(dirname "$0")/../harness.sh"

T=$H_DIR/tls
mkdir -p "$T"
(
  cd "$T" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=fastlane-test-ca -keyout ca.key -out ca.pem 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout other.key -out other.pem 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj /CN=redis -keyout redis.key -out redis.csr 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
  openssl x509 -req -in redis.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out redis.pem 2>/dev/null
) || h_die "certificates"

h_start_mariadb
H_CLUSTER_REPLICAS=0
H_CLUSTER_TLS=("$T/redis.pem" "$T/redis.key" "$T/ca.pem")
h_start_redis_cluster
J=$H_DIR/journal
mkdir -p "$J"
t_check "the cluster URL is rediss-cluster://" grep -q '^rediss-cluster://' <<<"$CLUSTER_URL"
t_check "the nodes refuse plain connections" bash -c "! redis-cli -p ${CLUSTER_PORTS[0]} ping 2>/dev/null | grep -q PONG"

h_sql "CREATE DATABASE app;
CREATE TABLE app.users (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL);
CREATE TABLE app.items (id INT PRIMARY KEY, v INT NOT NULL);" || h_die "schema"
{
  for i in $(seq 1 300); do
    echo "BEGIN; INSERT INTO app.users VALUES ($i, 'user-$i'); REPLACE INTO app.items VALUES ($((i % 100)), $i); COMMIT;"
  done
  echo "DELETE FROM app.users WHERE id % 7 = 0;"
} > "$H_DIR/w.sql"
h_sql_file "$H_DIR/w.sql" || h_die "workload"
h_ingest "$J" || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"

config() { # CA
  printf '[apply]\nname = tls\njournal = %s\ntarget = %s\ntarget_tls_ca = %s\n' "$J" "$CLUSTER_URL" "$1"
  printf '[rule users]\ntable = app.users\nkey = {{user:{id}}}:name\nformat = column:name\n'
  printf '[rule items]\ntable = app.items\nkey = item:{id}\nformat = column:v\n'
  h_source_config
}
config "$T/other.pem" > "$H_DIR/badca.ini"
config "$T/ca.pem" > "$H_DIR/apply.ini"

timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/badca.ini" --once > "$H_DIR/badca.log" 2>&1
rc=$?
t_check "a node certificate from another CA stops the applier" test "$rc" -ne 0 -a "$rc" -ne 124
t_check "... saying why" grep -qi "certificate" "$H_DIR/badca.log"
t_eq "... with nothing applied" 0 "$(for p in "${CLUSTER_PORTS[@]}"; do h_ccli -p "$p" DBSIZE; done | awk '{ s += $1 } END { print s + 0 }')"

timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --once > "$H_DIR/apply.log" 2>&1
t_eq "fl-apply over TLS to every primary exits 0" 0 "$?"
db_state() {
  h_sql "SELECT CONCAT('{user:', id, '}:name'), name FROM app.users UNION ALL SELECT CONCAT('item:', id), v FROM app.items" | LC_ALL=C sort
}
db_state > "$H_DIR/db.tsv"; h_cluster_cache_state > "$H_DIR/cache.tsv"
t_check "rows were written" test "$(wc -l < "$H_DIR/db.tsv")" -gt 300
t_eq "every row equals its key, and there is no other key" "" "$(diff "$H_DIR/db.tsv" "$H_DIR/cache.tsv" | head -5)"
t_check "the keys are spread over every primary" test "$(for p in "${CLUSTER_PORTS[@]}"; do test -s "$H_DIR/keys.$p" && echo "$p"; done | wc -l)" -eq 3
"$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --status > "$H_DIR/status.out" 2>&1
t_check "--status reads the resume point over TLS" grep -q "checkpoint: seq $(h_last_seq "$J")," "$H_DIR/status.out"
timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --verify > "$H_DIR/verify.out" 2>&1
t_eq "--verify over TLS: every key matches" 0 "$?"
t_check "... all of them" grep -q "^matching *$(wc -l < "$H_DIR/db.tsv")$" "$H_DIR/verify.out"

t_done
