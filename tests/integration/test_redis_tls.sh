#!/usr/bin/env bash
# test_redis_tls.sh — fl-apply and --verify against a Redis that speaks TLS only (rediss://):
# values and the checkpoint arrive exactly (also a transaction of several megabytes, whose
# writes outrun the socket, and across a Redis restart); a server certificate from another CA and one that
# does not name the host are refused with the reason and nothing is applied; a server that
# requires client certificates accepts target_tls_cert/target_tls_key and refuses a client
# without; TLS settings that cannot apply are FILE:LINE errors.
source "$(dirname "$0")/../harness.sh"

# ---- certificates: a CA, the server's (naming 127.0.0.1 only), a client's, another CA -------
T=$H_DIR/tls
mkdir -p "$T"; cd "$T" || exit 1
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=fastlane-test-ca -keyout ca.key -out ca.pem 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout other.key -out other.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=redis -keyout redis.key -out redis.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
openssl x509 -req -in redis.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out redis.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=fl-apply -keyout client.key -out client.csr 2>/dev/null
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem 2>/dev/null
cd - >/dev/null || exit 1
[ -s "$T/redis.pem" ] && [ -s "$T/client.pem" ] || h_die "could not create test certificates"

h_start_mariadb
h_start_redis_tls "$T/redis.pem" "$T/redis.key" "$T/ca.pem" --tls-auth-clients no
J=$H_DIR/journal
mkdir -p "$J"

h_sql "CREATE DATABASE app; CREATE TABLE app.users (id INT PRIMARY KEY, name VARCHAR(32), score DECIMAL(8,2));
  CREATE TABLE app.docs (id INT PRIMARY KEY, body MEDIUMTEXT);
  CREATE TABLE app.seq (n INT PRIMARY KEY);" || h_die "schema"
{
  for i in $(seq 1 40); do echo "INSERT INTO app.users VALUES ($i, 'name $i', $i.50);"; done
  echo "BEGIN; UPDATE app.users SET score = score + 1 WHERE id <= 10; DELETE FROM app.users WHERE id > 35; COMMIT;"
  # one transaction of about 8 MB: 2000 rows of 4000 bytes
  echo "INSERT INTO app.seq VALUES $(seq -s, 1 2000 | sed 's/\([0-9]*\)/(\1)/g');"
  echo "INSERT INTO app.docs SELECT n, CONCAT(n, ':', REPEAT(MD5(n), 125)) FROM app.seq;"
} > "$H_DIR/w.sql"
h_sql_file "$H_DIR/w.sql" || h_die "workload"
ingest() { h_ingest "$J"; }
ingest || h_die "ingest failed: $(tail -3 "$H_DIR/ingest.log")"
last_seq() { h_last_seq "$J"; }

apply_config() { # NAME TARGET [extra [apply] lines...]
  local name=$1 target=$2; shift 2
  h_source_config
  printf '[apply]\nname = %s\njournal = %s\ntarget = %s\n' "$name" "$J" "$target"
  local line; for line in "$@"; do printf '%s\n' "$line"; done
  printf '[rule users]\ntable = app.users\nkey = user:{id}\nformat = json\n'
  printf '[rule docs]\ntable = app.docs\nkey = doc:{id}\nformat = column:body\n'
}
URL=rediss://127.0.0.1:$REDIS_PORT/0
apply_config main "$URL" "target_tls_ca = $T/ca.pem" > "$H_DIR/main.ini"
apply_config badca "$URL" "target_tls_ca = $T/other.pem" > "$H_DIR/badca.ini"
apply_config badhost "rediss://localhost:$REDIS_PORT/0" "target_tls_ca = $T/ca.pem" > "$H_DIR/badhost.ini"
apply_config plain "redis://127.0.0.1:$REDIS_PORT/0" > "$H_DIR/plain.ini"
checkpoint() { h_redis HGET "fastlane:checkpoint:$1" seq; }
expect_users() {
  h_sql "SELECT CONCAT('user:', id), JSON_COMPACT(JSON_OBJECT('id', id, 'name', name, 'score', CAST(score AS CHAR)))
         FROM app.users ORDER BY 1" | LC_ALL=C sort
}
redis_users() {
  local k
  for k in $(h_redis --scan --pattern 'user:*' | LC_ALL=C sort); do printf '%s\t%s\n' "$k" "$(h_redis GET "$k")"; done
}

# ---- a wrong CA and a host the certificate does not name: refused, nothing applied ---------
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/badca.ini" --once 2>&1); rc=$?
echo "$out" | sed 's/^/  | /'
t_check "another CA: fl-apply fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
t_check "another CA: the certificate problem is named" \
  grep -qE "redis: TLS to 127.0.0.1:$REDIS_PORT: certificate not trusted: (self-signed certificate in certificate chain|unable to get local issuer certificate)" <<<"$out"
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/badhost.ini" --once 2>&1); rc=$?
echo "$out" | sed 's/^/  | /'
t_check "host name mismatch: fl-apply fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
t_check "host name mismatch: named" grep -q "certificate not trusted: [Hh]ostname mismatch" <<<"$out"
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/badca.ini" --verify 2>&1); rc=$?
t_check "another CA: --verify fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 1 -a "$rc" -ne 124
t_check "another CA: --verify names the problem" grep -q "certificate not trusted" <<<"$out"
t_eq "nothing applied by the refused runs" "0" "$(h_redis DBSIZE)"

# ---- over TLS: values and the checkpoint exactly; --verify agrees ---------------------------
timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/main.ini" --once > "$H_DIR/main.log" 2>&1; rc=$?
t_eq "rediss://: --once exits 0" 0 "$rc"
t_eq "rediss://: values" "$(expect_users)" "$(redis_users)"
# the large transaction: every key, and the sum of the lengths, counted inside Redis
docs_sum() {
  h_redis EVAL "local n, l = 0, 0 for _, k in ipairs(redis.call('KEYS', 'doc:*')) do n = n + 1
    l = l + #redis.call('GET', k) end return n .. ' ' .. l" 0
}
t_eq "rediss://: the 8 MB transaction, every key" "$(h_sql 'SELECT COUNT(*), SUM(LENGTH(body)) FROM app.docs' | tr '\t' ' ')" \
  "$(docs_sum)"
t_eq "rediss://: a value of the 8 MB transaction" "$(h_sql 'SELECT body FROM app.docs WHERE id = 1234')" \
  "$(h_redis GET doc:1234)"
t_eq "rediss://: checkpoint is the journal's last seq" "$(last_seq)" "$(checkpoint main)"
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/main.ini" --verify 2>&1); rc=$?
t_eq "--verify over TLS: exit 0" 0 "$rc"
t_check "--verify over TLS: every key matches" grep -q "^matching  *2035$" <<<"$out"

# ---- plain redis:// to a TLS-only port: a connection failure, retried; not applied -----------
"$FL_BUILD/fl-apply" -c "$H_DIR/plain.ini" > "$H_DIR/plain.log" 2>&1 &
PLAIN_PID=$!; h_register $PLAIN_PID
h_wait_until 30 grep -q "redis: .*retrying" "$H_DIR/plain.log"
t_check "redis:// to a TLS-only server: a failure, retried" grep -q "redis: .*retrying" "$H_DIR/plain.log"
kill -TERM "$PLAIN_PID" 2>/dev/null; wait "$PLAIN_PID" 2>/dev/null
t_eq "redis:// to a TLS-only server: no checkpoint" "" "$(checkpoint plain)"

# ---- the server requires a client certificate ------------------------------------------------
kill -KILL "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null
REDIS_PORT_FIXED=$REDIS_PORT h_start_redis_tls "$T/redis.pem" "$T/redis.key" "$T/ca.pem" --tls-auth-clients yes \
  --appendonly yes --appendfsync always
apply_config client "$URL" "target_tls_ca = $T/ca.pem" "target_tls_cert = $T/client.pem" \
  "target_tls_key = $T/client.key" > "$H_DIR/client.ini"
apply_config nocert "$URL" "target_tls_ca = $T/ca.pem" > "$H_DIR/nocert.ini"
"$FL_BUILD/fl-apply" -c "$H_DIR/nocert.ini" > "$H_DIR/nocert.log" 2>&1 &
NOCERT_PID=$!; h_register $NOCERT_PID
h_wait_until 30 grep -q "redis: .*certificate" "$H_DIR/nocert.log"
t_check "no client certificate: refused, the reason logged" grep -q "redis: .*certificate" "$H_DIR/nocert.log"
sed 's/^/  | /' "$H_DIR/nocert.log" | head -3
kill -TERM "$NOCERT_PID" 2>/dev/null; wait "$NOCERT_PID" 2>/dev/null
t_eq "no client certificate: no checkpoint" "" "$(checkpoint nocert)"
timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/client.ini" --once > "$H_DIR/client.log" 2>&1; rc=$?
t_eq "client certificate: --once exits 0" 0 "$rc"
t_eq "client certificate: checkpoint is the journal's last seq" "$(last_seq)" "$(checkpoint client)"
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/client.ini" --verify 2>&1); rc=$?
t_eq "client certificate: --verify exit 0" 0 "$rc"

# ---- following over TLS across a Redis restart ----------------------------------------------
"$FL_BUILD/fl-apply" -c "$H_DIR/client.ini" > "$H_DIR/follow.log" 2>&1 &
FOLLOW_PID=$!; h_register $FOLLOW_PID
h_wait_until 30 grep -q "connected to the redis target" "$H_DIR/follow.log" || h_die "the applier did not connect"
h_restart_redis
h_sql "UPDATE app.users SET name = 'after restart' WHERE id <= 5; INSERT INTO app.users VALUES (100, 'new', 1.00);" \
  || h_die "workload 2"
ingest || h_die "ingest 2 failed: $(tail -3 "$H_DIR/ingest.log")"
checkpoint_is() { [ "$(checkpoint "$1")" = "$2" ]; }
h_wait_until 60 checkpoint_is client "$(last_seq)"
t_eq "after a Redis restart: checkpoint is the journal's last seq" "$(last_seq)" "$(checkpoint client)"
t_eq "after a Redis restart: values" "$(expect_users)" "$(redis_users)"
t_check "after a Redis restart: the lost connection logged" grep -q "reconnecting and resuming" "$H_DIR/follow.log"
kill -TERM "$FOLLOW_PID" 2>/dev/null; wait "$FOLLOW_PID" 2>/dev/null

# ---- configuration mistakes: FILE:LINE ------------------------------------------------------
config_error() { # LABEL EXPECTED(regex) INI
  out=$(timeout 30 "$FL_BUILD/fl-apply" -c "$3" --once 2>&1); rc=$?
  t_check "$1: exit 2 (got $rc)" test "$rc" -eq 2
  t_check "$1: $2" grep -qE "^$3:[0-9]+: $2" <<<"$out"
}
apply_config e1 "redis://127.0.0.1:$REDIS_PORT/0" "target_tls_ca = $T/ca.pem" > "$H_DIR/e1.ini"
config_error "TLS setting without rediss://" "\[apply\] target_tls_ca: only used with a rediss:// or rediss-cluster:// target" "$H_DIR/e1.ini"
apply_config e2 "$URL" "target_tls_cert = $T/client.pem" > "$H_DIR/e2.ini"
config_error "a certificate without its key" \
  "\[apply\] target_tls_key: missing \(target_tls_cert and target_tls_key go together\)" "$H_DIR/e2.ini"
apply_config e3 "$URL" "target_tls_ca = $T/absent.pem" > "$H_DIR/e3.ini"
config_error "an unreadable CA file" "\[apply\] target_tls_ca: cannot read" "$H_DIR/e3.ini"
apply_config e4 "rediss://127.0.0.1/0" > "$H_DIR/e4.ini"
config_error "rediss:// without a port" "\[apply\] target: bad target URL: rediss://" "$H_DIR/e4.ini"

t_done
