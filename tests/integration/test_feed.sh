#!/usr/bin/env bash
# test_feed.sh — fl-apply streaming from fl-relay's feed over loopback TCP with TLS: values
# arrive in Redis; fl-dump --relay shows the same journal; a wrong secret and a wrong CA are
# refused with clear messages on both sides and nothing is applied; a stalled applier (its
# Redis stopped) does not grow the feed's memory without bound.
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_redis
FEED_PORT=$(h_free_port)

# ---- certificates: a CA that signed the relay's certificate, and an unrelated CA ------------
mkdir -p "$H_DIR/tls"; cd "$H_DIR/tls" || exit 1
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=fastlane-test-ca -keyout ca.key -out ca.pem 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout other.key -out other.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=relay -keyout relay.key -out relay.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > san.ext
openssl x509 -req -in relay.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out relay.pem 2>/dev/null
cd - >/dev/null || exit 1
[ -s "$H_DIR/tls/relay.pem" ] || h_die "could not create test certificates"
echo 'feed-secret-1234' > "$H_DIR/feed.secret"
chmod 600 "$H_DIR/feed.secret"

h_sql "CREATE DATABASE app; CREATE TABLE app.users (id INT PRIMARY KEY, name VARCHAR(32), score DECIMAL(8,2));"

{
  h_source_config
  cat <<CFG
start = current
[journal]
path = $H_DIR/journal
[feed]
listen = 127.0.0.1:$FEED_PORT
secret_file = $H_DIR/feed.secret
tls_cert = $H_DIR/tls/relay.pem
tls_key = $H_DIR/tls/relay.key
CFG
} > "$H_DIR/relay.ini"

apply_config() { # NAME SECRET_LINE CA
  cat <<CFG
[apply]
name = $1
relay = 127.0.0.1:$FEED_PORT
$2
tls_ca = $3
target = redis://127.0.0.1:$REDIS_PORT/0
[rule users]
table = app.users
key = user:{id}
format = json
CFG
}
apply_config feed "secret_file = $H_DIR/feed.secret" "$H_DIR/tls/ca.pem" > "$H_DIR/apply.ini"
apply_config bad "secret = not-the-secret-at-all" "$H_DIR/tls/ca.pem" > "$H_DIR/apply-badsecret.ini"
apply_config badca "secret_file = $H_DIR/feed.secret" "$H_DIR/tls/other.pem" > "$H_DIR/apply-badca.ini"

"$FL_BUILD/fl-relay" -c "$H_DIR/relay.ini" >"$H_DIR/relay.log" 2>&1 &
RELAY_PID=$!; h_register $RELAY_PID
h_wait_until 30 grep -q "feed: serving journal" "$H_DIR/relay.log" || h_die "relay feed did not start: $(tail -5 "$H_DIR/relay.log")"

for i in $(seq 1 50); do
  h_sql "INSERT INTO app.users VALUES ($i, 'user$i', $i.25);"
done
h_sql "UPDATE app.users SET score = score + 1 WHERE id <= 10; DELETE FROM app.users WHERE id > 45;"

# ---- wrong secret, wrong CA: refused, nothing applied ---------------------------------------
out=$(timeout 30 "$FL_BUILD/fl-apply" -c "$H_DIR/apply-badsecret.ini" --once 2>&1); rc=$?
t_check "wrong secret: fl-apply exits non-zero" test "$rc" -ne 0 -a "$rc" -ne 124
t_check "wrong secret: fl-apply says so" grep -q "wrong secret" <<<"$out"
t_check "wrong secret: relay logs it with the peer address" \
  h_wait_until 10 grep -q "127.0.0.1:[0-9]* refused: wrong secret" "$H_DIR/relay.log"
out=$(timeout 30 "$FL_BUILD/fl-apply" -c "$H_DIR/apply-badca.ini" --once 2>&1); rc=$?
t_check "wrong CA: fl-apply exits non-zero" test "$rc" -ne 0 -a "$rc" -ne 124
t_check "wrong CA: fl-apply names the certificate problem" grep -qi "certificate" <<<"$out"
t_eq "nothing applied by refused appliers" "0" "$(h_redis KEYS 'user:*' | grep -c .)"

# ---- the real applier ----------------------------------------------------------------------
"$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" >"$H_DIR/apply.log" 2>&1 &
APPLY_PID=$!; h_register $APPLY_PID
expected_keys() { [ "$(h_redis KEYS 'user:*' | grep -c .)" = 45 ]; }  # 45 users
t_check "applier catches up over the feed" h_wait_until 60 expected_keys
t_eq "value of user:3" '{"id":3,"name":"user3","score":"4.25"}' "$(h_redis GET user:3)"
t_eq "value of user:20" '{"id":20,"name":"user20","score":"20.25"}' "$(h_redis GET user:20)"
t_eq "user:46 deleted" "" "$(h_redis GET user:46)"

h_sql "INSERT INTO app.users VALUES (100, 'live', 1.00);"
t_check "live change pushed within 10 s" h_wait_until 10 bash -c "[ -n \"\$(redis-cli -p $REDIS_PORT GET user:100)\" ]"

# ---- fl-dump over the feed equals the local journal ----------------------------------------
local_dump=$("$FL_BUILD/fl-dump" --json "$H_DIR/journal")
remote_dump=$("$FL_BUILD/fl-dump" --json --relay "127.0.0.1:$FEED_PORT" --secret-file "$H_DIR/feed.secret" --tls-ca "$H_DIR/tls/ca.pem" 2>&1)
t_eq "fl-dump --relay shows the same journal" "$local_dump" "$remote_dump"

# ---- a stalled applier does not grow the feed's memory ------------------------------------
FEED_PID=$(pgrep -P "$RELAY_PID" | head -1)
kill -STOP "$REDIS_PID"
h_sql "CREATE TABLE app.blobs (id INT PRIMARY KEY, b LONGBLOB);"
for i in $(seq 1 40); do
  h_sql "INSERT INTO app.blobs VALUES ($i, REPEAT('x', 4000000));"
done
sleep 3
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$FEED_PID/status")
h_log "feed process RSS with a stalled applier and 160 MB queued: ${rss_kb} kB"
t_check "feed RSS stays under 64 MB with a stalled applier (${rss_kb} kB)" test "${rss_kb:-999999}" -lt 65536
kill -CONT "$REDIS_PID"
t_check "applier resumes after the stall" h_wait_until 60 bash -c "redis-cli -p $REDIS_PORT HGET fastlane:checkpoint:feed seq | grep -qx \$('$FL_BUILD/fl-dump' --stats '$H_DIR/journal' | sed 's/.*\"last_seq\":\\([0-9]*\\).*/\\1/')"

kill -TERM "$APPLY_PID"; wait "$APPLY_PID"; rc=$?
t_eq "fl-apply exits 0 on SIGTERM" 0 "$rc"
kill -TERM "$RELAY_PID"; wait "$RELAY_PID"; rc=$?
t_eq "fl-relay exits 0 on SIGTERM" 0 "$rc"
t_check "feed process ends with the relay" h_wait_until 10 bash -c "! kill -0 $FEED_PID 2>/dev/null"
t_done
