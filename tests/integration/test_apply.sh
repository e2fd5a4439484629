#!/usr/bin/env bash
# test_apply.sh — fl-apply end to end: MariaDB's binlog ingested into a journal, applied to
# Redis and memcached through rules of every kind, and compared with SELECT output directly.
# Also: --once, --status, --from-gtid replay, rule errors (on_error = stop, unknown columns),
# SIGKILL of fl-apply in the middle of a stream (the checkpoint and the data agree exactly,
# no transaction is ever half applied), Redis killed and restarted mid-stream.
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_redis --appendonly yes --appendfsync always --unixsocket "$H_DIR/redis.sock"
h_start_memcached
J=$H_DIR/journal
mkdir -p "$J"

# ingest: journals everything the server's binlog files hold (already journaled ones are skipped)
ingest() { h_ingest "$J"; }
last_seq() { h_last_seq "$J"; }
checkpoint() { h_redis HGET "fastlane:checkpoint:$1" seq; }

# ---- schema and rules ---------------------------------------------------------------------
h_sql "CREATE DATABASE app;
CREATE TABLE app.users (id INT PRIMARY KEY, email VARCHAR(64) NOT NULL, name VARCHAR(64),
  score DECIMAL(8,2), born DATE, note TEXT);
CREATE TABLE app.items (sku VARCHAR(16) PRIMARY KEY, title VARCHAR(64), qty INT);
CREATE TABLE app.sessions (id INT PRIMARY KEY, token VARCHAR(32));
CREATE TABLE app.noise (id INT PRIMARY KEY, v INT);
CREATE TABLE app.tags (id INT PRIMARY KEY, code VARCHAR(8));
CREATE TABLE app.accounts (id INT PRIMARY KEY, balance INT NOT NULL);
CREATE TABLE app.meta (id INT PRIMARY KEY, n INT NOT NULL);" || h_die "schema"

rules() {
  cat <<CFG
[rule users]
table = app.users
key = user:{id}
format = json
columns = id, email, name, score
[rule users_hash]
table = app.users
key = uh:{id}
format = hash
ttl = 3600
[rule email]
table = app.users
key = email:{email}
format = column:id
[rule items]
table = app.items
key = item:{sku}:title
format = column:title
[rule items_json]
table = app.items
key = itemj:{{{sku}}}
format = json
[rule sessions]
table = app.sessions
key = sess:{id}
mode = invalidate
[rule accounts]
table = app.accounts
key = acct:{id}
format = column:balance
[rule meta]
table = app.meta
key = meta:{id}
format = column:n
CFG
}
apply_config() { # NAME TARGET [extra [apply] lines]
  h_source_config
  cat <<CFG
[apply]
name = $1
journal = $J
target = $2
${3:-}
CFG
  rules
}
apply_config main "redis://127.0.0.1:$REDIS_PORT/0" > "$H_DIR/main.ini"
apply_config mc "memcached://127.0.0.1:$MEMCACHED_PORT" "checkpoint_path = $H_DIR/mc.checkpoint" \
  | sed '/^\[rule users_hash\]/,/^ttl/d' > "$H_DIR/mc.ini"

# ---- workload 1: inserts, updates, deletes, key changes, rows without a rule ---------------
{
  for i in $(seq 1 60); do
    echo "INSERT INTO app.users VALUES ($i, 'u$i@x.org', 'name $i', $i.25, '2000-01-$(printf %02d $(( i % 28 + 1 )))', IF($i % 3 = 0, NULL, 'note $i'));"
  done
  echo "BEGIN; UPDATE app.users SET score = score + 1, name = NULL WHERE id <= 10; DELETE FROM app.users WHERE id > 55; COMMIT;"
  echo "UPDATE app.users SET email = CONCAT('moved', id, '@y.org') WHERE id BETWEEN 20 AND 24;"
  echo "UPDATE app.users SET id = id + 100 WHERE id BETWEEN 30 AND 32;"
  for i in $(seq 1 20); do echo "INSERT INTO app.items VALUES ('S$i', 'title $i', $i);"; done
  echo "UPDATE app.items SET title = 'renamed' WHERE qty % 2 = 0; UPDATE app.items SET sku = 'Z1' WHERE sku = 'S1';"
  echo "DELETE FROM app.items WHERE sku IN ('S19', 'S20');"
  for i in $(seq 1 5); do echo "INSERT INTO app.sessions VALUES ($i, 'tok$i');"; done
  echo "UPDATE app.sessions SET token = 'x' WHERE id = 4;"
  for i in $(seq 1 30); do echo "INSERT INTO app.noise VALUES ($i, $i);"; done
  echo "SET SESSION binlog_format = STATEMENT; INSERT INTO app.noise VALUES (100, 100); SET SESSION binlog_format = ROW;"
  echo "INSERT INTO app.meta VALUES (1, 0);"
  for i in $(seq 1 20); do echo "INSERT INTO app.accounts VALUES ($i, 1000);"; done
} > "$H_DIR/w1.sql"
h_sql_file "$H_DIR/w1.sql" || h_die "workload 1"
ingest || h_die "ingest failed: $(tail -3 "$H_DIR/ingest.log")"
# sessions invalidated by the applier must disappear; untouched ones stay
h_redis SET sess:3 stale >/dev/null; h_redis SET sess:4 stale >/dev/null; h_redis SET sess:9 keep >/dev/null

# ---- independent comparison: SELECT vs. the cache -----------------------------------------
expect_users() {
  h_sql "SELECT CONCAT('user:', id), JSON_COMPACT(JSON_OBJECT('id', id, 'email', email, 'name', name,
         'score', CAST(score AS CHAR))) FROM app.users ORDER BY 1"
}
expect_hash() {
  h_sql "SELECT id, CONCAT_WS(' ', CONCAT('born=', born), CONCAT('email=', email), CONCAT('id=', id),
         CONCAT('name=', name), CONCAT('note=', note), CONCAT('score=', score)) FROM app.users ORDER BY id"
}
expect_email() { h_sql "SELECT CONCAT('email:', email), id FROM app.users ORDER BY 1"; }
expect_items() { h_sql "SELECT CONCAT('item:', sku, ':title'), title FROM app.items ORDER BY 1"; }
expect_items_json() {
  h_sql "SELECT CONCAT('itemj:{', sku, '}'), JSON_COMPACT(JSON_OBJECT('sku', sku, 'title', title, 'qty', qty))
         FROM app.items ORDER BY 1"
}
expect_accounts() { h_sql "SELECT CONCAT('acct:', id), balance FROM app.accounts ORDER BY 1"; }
# redis_strings PATTERN: "key<TAB>value" of every string key matching, sorted
redis_strings() {
  local k
  for k in $(h_redis --scan --pattern "$1" | LC_ALL=C sort); do printf '%s\t%s\n' "$k" "$(h_redis GET "$k")"; done
}
redis_hashes() {
  local k
  for k in $(h_redis --scan --pattern 'uh:*' | sed 's/^uh://' | sort -n); do
    printf '%s\t%s\n' "$k" "$(h_redis HGETALL "uh:$k" | paste -d= - - | LC_ALL=C sort | paste -sd' ')"
  done
}
mc_strings() { # from SELECT's keys: "key<TAB>value" as memcached has them
  local k v
  while IFS=$'\t' read -r k v; do printf '%s\t%s\n' "$k" "$(h_mc_get "$k")"; done
}
sorted() { LC_ALL=C sort; }

compare_redis() { # LABEL
  t_eq "$1: user:* (json, projection, key change)" "$(expect_users | sorted)" "$(redis_strings 'user:*')"
  t_eq "$1: uh:* (hash, NULL fields absent)" "$(expect_hash)" "$(redis_hashes)"
  t_eq "$1: email:* (column:id, old keys deleted)" "$(expect_email | sorted)" "$(redis_strings 'email:*')"
  t_eq "$1: item:*:title (column:title)" "$(expect_items | sorted)" "$(redis_strings 'item:*')"
  t_eq "$1: itemj:{sku} (literal braces)" "$(expect_items_json | sorted)" "$(redis_strings 'itemj:*')"
  t_eq "$1: acct:*" "$(expect_accounts | sorted)" "$(redis_strings 'acct:*')"
  t_eq "$1: meta:1" "$(h_sql 'SELECT n FROM app.meta WHERE id = 1')" "$(h_redis GET meta:1)"
}

# ---- --once applies everything and exits ---------------------------------------------------
timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/main.ini" --once > "$H_DIR/once.log" 2>&1; rc=$?
t_eq "--once exits 0 when caught up" 0 "$rc"
compare_redis "once"
t_eq "checkpoint is the journal's last seq" "$(last_seq)" "$(checkpoint main)"
t_check "checkpoint has the GTID of the last transaction" \
  test "$(h_redis HGET fastlane:checkpoint:main gtid)" = "$("$FL_BUILD/fl-dump" --json "$J" | tail -1 | sed 's/.*"gtid":"\([^"]*\)".*/\1/')"
t_check "rows of tables without a rule are counted as skipped" grep -q "[1-9][0-9]* rows without a rule skipped" "$H_DIR/once.log"
t_check "statement-based changes are warned about" grep -q "statement-based change of a table without a rule skipped" "$H_DIR/once.log"
t_eq "invalidate: changed sessions deleted" "" "$(h_redis GET sess:3)$(h_redis GET sess:4)"
t_eq "invalidate: other keys untouched" "keep" "$(h_redis GET sess:9)"
ttl=$(h_redis TTL uh:1)
t_check "hash keys carry the TTL ($ttl)" test "$ttl" -gt 3500 -a "$ttl" -le 3600
t_eq "keys without ttl have none" "-1" "$(h_redis TTL user:1)"
status=$("$FL_BUILD/fl-apply" -c "$H_DIR/main.ini" --status 2>&1)
t_check "--status shows the checkpoint" grep -q "^checkpoint: seq $(last_seq), gtid " <<<"$status"
t_check "--status shows no lag" grep -q "^lag: *0 transactions, 0 s" <<<"$status"
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/main.ini" --verify 2>&1); rc=$?
t_eq "--verify reports every key matching" 0 "$rc"
[ "$rc" = 0 ] || h_log "verify said: $(head -c 1500 <<<"$out")"

# ---- --from-gtid replays from an older transaction and ends in the same state ---------------
before=$(h_redis --scan --pattern '*' | sort | while read -r k; do echo "$k $(h_redis DUMP "$k" | md5sum)"; done \
  | grep -v fastlane:checkpoint)
mid_gtid=$("$FL_BUILD/fl-dump" --json "$J" | sed -n '20p' | sed 's/.*"gtid":"\([^"]*\)".*/\1/')
timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/main.ini" --from-gtid "$mid_gtid" --once > "$H_DIR/replay.log" 2>&1; rc=$?
t_eq "--from-gtid --once exits 0" 0 "$rc"
t_check "--from-gtid replayed transactions" grep -q "replaying from seq" "$H_DIR/replay.log"
compare_redis "replay"
t_eq "checkpoint after the replay" "$(last_seq)" "$(checkpoint main)"
after=$(h_redis --scan --pattern '*' | sort | while read -r k; do echo "$k $(h_redis DUMP "$k" | md5sum)"; done \
  | grep -v fastlane:checkpoint)
t_eq "replay leaves every key byte-identical" "$before" "$after"
out=$("$FL_BUILD/fl-apply" -c "$H_DIR/main.ini" --from-gtid 0-1-999999 --once 2>&1); rc=$?
t_check "--from-gtid of an unknown GTID fails" test "$rc" -ne 0
t_check "... and says so" grep -q "no such transaction" <<<"$out"

# ---- ACL user, database number, Unix socket -------------------------------------------------
h_redis ACL SETUSER applier on '>p@ss:w/rd' '~*' '+@all' >/dev/null
dbn_users() { # DB: "key<TAB>value" of user:* in that database
  local k; for k in $(redis-cli -p "$REDIS_PORT" -n "$1" --scan --pattern 'user:*' | LC_ALL=C sort); do
    printf '%s\t%s\n' "$k" "$(redis-cli -p "$REDIS_PORT" -n "$1" GET "$k")"; done
}
apply_config acl "redis://applier:p%40ss%3Aw%2Frd@127.0.0.1:$REDIS_PORT/4" > "$H_DIR/acl.ini"
timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/acl.ini" --once > "$H_DIR/acl.log" 2>&1; rc=$?
t_eq "ACL user with a %-escaped password, database 4: --once exits 0" 0 "$rc"
t_eq "ACL user, database 4: user:* values" "$(expect_users | sorted)" "$(dbn_users 4)"
apply_config unix "redis+unix://$H_DIR/redis.sock?db=5" > "$H_DIR/unix.ini"
timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/unix.ini" --once > "$H_DIR/unix.log" 2>&1; rc=$?
t_eq "Unix socket, database 5: --once exits 0" 0 "$rc"
t_eq "Unix socket, database 5: user:* values" "$(expect_users | sorted)" "$(dbn_users 5)"
apply_config badpw "redis://applier:wrong@127.0.0.1:$REDIS_PORT/6" > "$H_DIR/badpw.ini"
timeout 3 "$FL_BUILD/fl-apply" -c "$H_DIR/badpw.ini" --once > "$H_DIR/badpw.log" 2>&1
t_check "a refused password is logged and retried" grep -q "AUTH refused: WRONGPASS.*retrying in" "$H_DIR/badpw.log"
t_check "... and the password never appears in the log" bash -c "! grep -q 'p@ss\|wrong@' '$H_DIR/badpw.log' '$H_DIR/acl.log'"
t_eq "nothing written with a refused password" "0" "$(redis-cli -p "$REDIS_PORT" -n 6 DBSIZE)"

# ---- memcached target end to end ----------------------------------------------------------
timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/mc.ini" --once > "$H_DIR/mc.log" 2>&1; rc=$?
t_eq "memcached: --once exits 0" 0 "$rc"
t_eq "memcached: user:* values" "$(expect_users | sorted)" "$(expect_users | sorted | mc_strings)"
t_eq "memcached: email:* values" "$(expect_email | sorted)" "$(expect_email | sorted | mc_strings)"
t_eq "memcached: item:*:title values" "$(expect_items | sorted)" "$(expect_items | sorted | mc_strings)"
t_eq "memcached: old email key deleted" "" "$(h_mc_get email:u20@x.org)"
t_eq "memcached: deleted user gone" "" "$(h_mc_get user:56)"
t_check "memcached: checkpoint kept in its file" test -s "$H_DIR/mc.checkpoint"
t_check "memcached: --status reads it" grep -q "^checkpoint: seq $(last_seq), gtid " <<<"$("$FL_BUILD/fl-apply" -c "$H_DIR/mc.ini" --status 2>&1)"

# ---- rule errors ---------------------------------------------------------------------------
{ apply_config strict "redis://127.0.0.1:$REDIS_PORT/1"; printf '[rule tags]\ntable = app.tags\nkey = tag:{code}\n'; } > "$H_DIR/strict.ini"
h_sql "INSERT INTO app.tags VALUES (1, 'a'); INSERT INTO app.tags VALUES (2, NULL); INSERT INTO app.tags VALUES (3, 'c');"
ingest || h_die "ingest"
bad_gtid=$("$FL_BUILD/fl-dump" --json "$J" | tail -2 | head -1 | sed 's/.*"gtid":"\([^"]*\)".*/\1/')
bad_seq=$(( $(last_seq) - 1 ))
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/strict.ini" --once 2>&1); rc=$?
t_eq "on_error = stop: exit status 1" 1 "$rc"
t_check "on_error = stop: names GTID, table and column" \
  grep -q "gtid $bad_gtid: app.tags: rule tags: key column \`code\` is NULL" <<<"$out"
t_eq "on_error = stop: checkpoint right before the failing transaction" "$(( bad_seq - 1 ))" \
  "$(redis-cli -p "$REDIS_PORT" -n 1 HGET fastlane:checkpoint:strict seq)"
t_eq "on_error = stop: earlier row applied" '{"id":1,"code":"a"}' "$(redis-cli -p "$REDIS_PORT" -n 1 GET tag:a)"
sed 's/^name = strict$/name = lenient\non_error = skip/; s#/1$#/7#' "$H_DIR/strict.ini" > "$H_DIR/lenient.ini"
timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/lenient.ini" --once > "$H_DIR/lenient.log" 2>&1; rc=$?
t_eq "on_error = skip: exit status 0" 0 "$rc"
t_check "on_error = skip: the skipped row is named" \
  grep -q "gtid $bad_gtid: app.tags: rule tags: key column \`code\` is NULL (skipped" "$H_DIR/lenient.log"
t_check "on_error = skip: and counted" grep -q " 1 rows failed" "$H_DIR/lenient.log"
t_eq "on_error = skip: later rows applied" '{"id":3,"code":"c"}' "$(redis-cli -p "$REDIS_PORT" -n 7 GET tag:c)"
t_eq "on_error = skip: checkpoint at the end" "$(last_seq)" "$(redis-cli -p "$REDIS_PORT" -n 7 HGET fastlane:checkpoint:lenient seq)"
sed 's/^key = tag:{code}$/key = tag:{nosuch}/' "$H_DIR/strict.ini" > "$H_DIR/unknown.ini"
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/unknown.ini" --once 2>&1); rc=$?
t_eq "unknown column in a rule: exit status 2" 2 "$rc"
t_check "unknown column: FILE:LINE of the rule" grep -q "unknown.ini:[0-9]*: \[rule tags\] key: unknown column \`nosuch\` in app.tags" <<<"$out"
# the main applier has no rule for app.tags: it moves on
timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/main.ini" --once >/dev/null 2>&1
t_eq "rows without a rule move the checkpoint" "$(last_seq)" "$(checkpoint main)"

# ---- following: new commits are applied as they are journaled -------------------------------
"$FL_BUILD/fl-apply" -c "$H_DIR/main.ini" >> "$H_DIR/follow.log" 2>&1 &
APPLY_PID=$!; h_register $APPLY_PID
h_sql "INSERT INTO app.users VALUES (500, 'live@x.org', 'live', 1.50, NULL, NULL);"
ingest || h_die "ingest"
t_check "a live commit reaches Redis" h_wait_until 10 bash -c "[ -n \"\$(redis-cli -p $REDIS_PORT GET user:500)\" ]"

# ---- bank workload: transfers between accounts; SIGKILL fl-apply mid-stream ----------------
# Every transfer moves money between two accounts and counts itself in app.meta, in one
# transaction: in Redis the total never changes and meta:1 always equals the number of
# transfers up to the checkpoint, whenever fl-apply dies.
bank_sql() { # N transactions
  local i a b
  for i in $(seq 1 "$1"); do
    a=$(( RANDOM % 20 + 1 )); b=$(( (a + RANDOM % 19) % 20 + 1 ))
    echo "BEGIN; UPDATE app.accounts SET balance = balance - 7 WHERE id = $a; UPDATE app.accounts SET balance = balance + 7 WHERE id = $b; UPDATE app.meta SET n = n + 1 WHERE id = 1; COMMIT;"
  done
}
# moved FROM: waits (up to 10 s, finely) until the checkpoint is no longer FROM
moved() { local i; for i in $(seq 1 1000); do [ "$(checkpoint main)" != "$1" ] && return 0; sleep 0.01; done; return 1; }
total() { h_redis --scan --pattern 'acct:*' | while read -r k; do h_redis GET "$k"; done | awk '{s += $1} END {print s}'; }
base_seq=$(last_seq)
base_n=$(h_sql "SELECT n FROM app.meta WHERE id = 1")
bank_sql 20000 > "$H_DIR/bank.sql"
kill -TERM "$APPLY_PID"; wait "$APPLY_PID"; rc=$?
t_eq "SIGTERM: fl-apply exits 0" 0 "$rc"
h_sql_file "$H_DIR/bank.sql" || h_die "bank workload"
ingest || h_die "ingest"
end_seq=$(last_seq)
h_log "bank workload journaled: seq $base_seq..$end_seq"
# A concurrent reader sums all accounts atomically (a Lua script runs between MULTI/EXEC
# blocks) and reads meta:1 and the checkpoint with them. The applier is behind, so it groups
# transactions; yet every state a reader sees is the one after a source transaction: the
# total intact, and meta:1 counting exactly the transfers up to the checkpoint.
SUM_LUA="local s = 0 for i = 1, 20 do s = s + tonumber(redis.call('GET', 'acct:' .. i) or 0) end
local n = tonumber(redis.call('GET', 'meta:1') or 0)
local cp = tonumber(redis.call('HGET', 'fastlane:checkpoint:main', 'seq') or 0)
return s .. ' ' .. (n - cp)"
h_redis CONFIG RESETSTAT >/dev/null
redis-cli -p "$REDIS_PORT" -r 1000000 -i 0.002 EVAL "$SUM_LUA" 0 > "$H_DIR/totals.txt" 2>&1 &
READER_PID=$!; h_register $READER_PID
kills=0; consistent=0; midway=0
for round in 1 2 3 4 5; do
  "$FL_BUILD/fl-apply" -c "$H_DIR/main.ini" >> "$H_DIR/kill.log" 2>&1 &
  pid=$!
  moved "$(checkpoint main)"  # it is applying (in groups: fast): kill it a random moment later
  sleep "0.00$(( RANDOM % 10 ))"
  kill -KILL "$pid"; wait "$pid" 2>/dev/null
  kills=$((kills + 1))
  cp=$(checkpoint main); n=$(h_redis GET meta:1); t=$(total)
  h_log "after SIGKILL $round: checkpoint $cp, meta:1 $n, total $t"
  [ -n "$cp" ] && [ "$cp" -gt "$base_seq" ] && [ "$cp" -lt "$end_seq" ] && midway=$((midway + 1))
  if [ "$t" = 20000 ] && [ -n "$cp" ] && { [ "$cp" -le "$base_seq" ] || [ "$n" = $(( base_n + cp - base_seq )) ]; }; then
    consistent=$((consistent + 1))
  fi
done
t_eq "after each of $kills SIGKILLs the total is intact and meta:1 matches the checkpoint" "$kills" "$consistent"
t_check "SIGKILLs hit mid-stream ($midway of $kills)" test "$midway" -gt 0
"$FL_BUILD/fl-apply" -c "$H_DIR/main.ini" >> "$H_DIR/kill.log" 2>&1 &
APPLY_PID=$!; h_register $APPLY_PID
t_check "after restart fl-apply catches up" h_wait_until 60 bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET fastlane:checkpoint:main seq)\" = $end_seq ]"
kill "$READER_PID"; wait "$READER_PID" 2>/dev/null
t_check "the concurrent reader took many samples ($(wc -l < "$H_DIR/totals.txt"))" test "$(wc -l < "$H_DIR/totals.txt")" -gt 100
t_eq "the concurrent reader never saw part of a transaction (total, and meta:1 at the checkpoint)" \
  "20000 $((base_n - base_seq))" "$(sort -u "$H_DIR/totals.txt")"
checkpoint_writes=$(h_redis INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p')
t_check "catching up, transactions went out in groups ($checkpoint_writes checkpoint writes for $((end_seq - base_seq)) transactions)" \
  test "${checkpoint_writes:-0}" -gt 0 -a "${checkpoint_writes:-0}" -lt $(( (end_seq - base_seq) / 10 ))
compare_redis "after SIGKILLs"

# ---- Redis killed and restarted mid-stream ------------------------------------------------
kill -TERM "$APPLY_PID"; wait "$APPLY_PID"
bank_sql 20000 > "$H_DIR/bank2.sql"
h_sql_file "$H_DIR/bank2.sql" || h_die "bank workload 2"
ingest || h_die "ingest"
end_seq=$(last_seq)
"$FL_BUILD/fl-apply" -c "$H_DIR/main.ini" > "$H_DIR/redis-kill.log" 2>&1 &
APPLY_PID=$!; h_register $APPLY_PID
moved "$(checkpoint main)"
h_restart_redis
h_wait_until 30 bash -c "redis-cli -p $REDIS_PORT INFO persistence | grep -q '^loading:0'" || h_die "Redis did not load its AOF"
# checkpoint and data read together (the applier may already be writing again)
read -r cp n < <(h_redis EVAL "return redis.call('HGET', KEYS[1], 'seq') .. ' ' .. redis.call('GET', KEYS[2])" 2 \
  fastlane:checkpoint:main meta:1)
h_log "Redis restarted: checkpoint $cp, meta:1 $n, total $(total)"
t_check "Redis restart mid-stream: the persisted checkpoint agrees with the data" \
  test "$n" = $(( base_n + cp - base_seq ))
t_check "the applier logs the lost connection and retries" h_wait_until 20 grep -q "reconnecting and resuming" "$H_DIR/redis-kill.log"
t_check "after the Redis restart fl-apply catches up" h_wait_until 60 bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET fastlane:checkpoint:main seq)\" = $end_seq ]"
compare_redis "after Redis restart"
t_eq "total money unchanged" 20000 "$(total)"
kill -TERM "$APPLY_PID"; wait "$APPLY_PID"; rc=$?
t_eq "SIGTERM after recovery: exit 0" 0 "$rc"

# ---- Redis loses everything while the applier is idle ----------------------------------------
"$FL_BUILD/fl-apply" -c "$H_DIR/main.ini" > "$H_DIR/wipe.log" 2>&1 &
APPLY_PID=$!; h_register $APPLY_PID
h_wait_until 30 bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET fastlane:checkpoint:main seq)\" = $(last_seq) ]"
sleep 1.5 # idle now
h_redis FLUSHALL >/dev/null; h_redis CLIENT KILL TYPE normal >/dev/null  # what a restart without persistence does
t_check "an idle applier notices the lost connection" h_wait_until 10 grep -q "connection closed by the server; reconnecting" "$H_DIR/wipe.log"
t_check "... finds no checkpoint and refills the cache" h_wait_until 60 bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET fastlane:checkpoint:main seq)\" = $(last_seq) ]"
compare_redis "after a wipe"
kill -TERM "$APPLY_PID"; wait "$APPLY_PID"

# ---- reading from a relay's feed instead of the local journal -------------------------------
FEED_PORT=$(h_free_port)
{ h_source_config; cat <<CFG
start = earliest
[journal]
path = $H_DIR/journal2
sync = none
[feed]
listen = 127.0.0.1:$FEED_PORT
secret = feed-secret-0123456789
CFG
} > "$H_DIR/relay.ini"
"$FL_BUILD/fl-relay" -c "$H_DIR/relay.ini" > "$H_DIR/relay.log" 2>&1 &
RELAY_PID=$!; h_register $RELAY_PID
count() { "$FL_BUILD/fl-dump" --stats "$1" 2>/dev/null | sed -n 's/.*"count":\([0-9]*\).*/\1/p'; }
t_check "the live relay journals the same transactions" h_wait_until 60 bash -c "[ \"\$('$FL_BUILD/fl-dump' --stats '$H_DIR/journal2' 2>/dev/null | sed -n 's/.*\"count\":\([0-9]*\).*/\1/p')\" = $(count "$J") ]"
t_check "a feed on a loopback address without TLS is not warned about" \
  bash -c "! grep -q 'not a loopback address' '$H_DIR/relay.log'"
{ apply_config viafeed "redis://127.0.0.1:$REDIS_PORT/3" | sed "s#^journal = .*#relay = 127.0.0.1:$FEED_PORT\nsecret = feed-secret-0123456789#"; } > "$H_DIR/viafeed.ini"
r3() { redis-cli -p "$REDIS_PORT" -n 3 "$@"; }
feed_users() { local k; for k in $(r3 --scan --pattern 'user:*' | LC_ALL=C sort); do printf '%s\t%s\n' "$k" "$(r3 GET "$k")"; done; }
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/viafeed.ini" --once > "$H_DIR/viafeed.log" 2>&1; rc=$?
t_eq "relay feed: --once exits 0" 0 "$rc"
t_eq "relay feed: user:* values" "$(expect_users | sorted)" "$(feed_users)"
feed_last=$("$FL_BUILD/fl-dump" --stats "$H_DIR/journal2" | sed -n 's/.*"last_seq":\([0-9]*\).*/\1/p')
t_eq "relay feed: checkpoint is the relay's last seq" "$feed_last" "$(r3 HGET fastlane:checkpoint:viafeed seq)"
status=$("$FL_BUILD/fl-apply" -c "$H_DIR/viafeed.ini" --status 2>&1)
t_check "relay feed: --status shows the relay's head and no lag" \
  bash -c "grep -q '^journal: *last seq $feed_last' <<<'$status' && grep -q '^lag: *0 transactions' <<<'$status'"
r3 DEL user:1 user:2 >/dev/null
first_gtid=$("$FL_BUILD/fl-dump" --json "$H_DIR/journal2" | head -1 | sed 's/.*"gtid":"\([^"]*\)".*/\1/')
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/viafeed.ini" --from-gtid "$first_gtid" --once > "$H_DIR/viafeed2.log" 2>&1; rc=$?
t_eq "relay feed: --from-gtid replay exits 0" 0 "$rc"
t_eq "relay feed: replay restores every user:* value" "$(expect_users | sorted)" "$(feed_users)"
sed 's/^secret = feed-secret-0123456789$/secret = wrong-secret-0123456789/' "$H_DIR/viafeed.ini" > "$H_DIR/badfeed.ini"
# A refusal before the relay proved the secret could be forged by anything on the path, so a
# running applier reports it and retries (as for a cut link); --once gives up after a few.
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/badfeed.ini" --once 2>&1); rc=$?
t_check "relay feed: with a wrong secret, --once gives up with exit 1" test "$rc" = 1
t_check "relay feed: ... and says why" grep -qi "secret\|authentication" <<<"$out"
"$FL_BUILD/fl-apply" -c "$H_DIR/badfeed.ini" > "$H_DIR/badfeed.log" 2>&1 & bad=$!
t_check "relay feed: a running applier with a wrong secret reports the refusal and retries" \
  h_wait_until 30 bash -c "[ \$(grep -ci 'secret' '$H_DIR/badfeed.log') -ge 2 ]"
t_check "relay feed: ... still running (a forged refusal must not stop it)" kill -0 "$bad"
kill -TERM "$bad" 2>/dev/null; wait "$bad"
kill -TERM "$RELAY_PID"; wait "$RELAY_PID"

# ---- a transaction above max_atomic_ops goes out in ordered chunks ---------------------------
h_sql "BEGIN; UPDATE app.accounts SET balance = balance + 1; UPDATE app.accounts SET balance = balance - 1 WHERE id > 1; COMMIT;"
ingest || h_die "ingest"
METRICS_PORT=$(h_free_port)
{ apply_config chunk "redis://127.0.0.1:$REDIS_PORT/2" "max_atomic_ops = 10"; printf '[metrics]\napply = 127.0.0.1:%s\n' "$METRICS_PORT"; } > "$H_DIR/chunk.ini"
"$FL_BUILD/fl-apply" -c "$H_DIR/chunk.ini" > "$H_DIR/chunk.log" 2>&1 &
APPLY_PID=$!; h_register $APPLY_PID
t_check "max_atomic_ops = 10: caught up" h_wait_until 60 bash -c "[ \"\$(redis-cli -p $REDIS_PORT -n 2 HGET fastlane:checkpoint:chunk seq)\" = $(last_seq) ]"
t_check "the 39-row transaction is logged as chunked" grep -q "seq $(last_seq) .*exceeded max_atomic_ops = 10 and was applied in chunks" "$H_DIR/chunk.log"
t_eq "chunked: acct:* values" "$(expect_accounts | sorted)" \
  "$(for k in $(redis-cli -p "$REDIS_PORT" -n 2 --scan --pattern 'acct:*' | LC_ALL=C sort); do printf '%s\t%s\n' "$k" "$(redis-cli -p "$REDIS_PORT" -n 2 GET "$k")"; done)"
metrics() { exec 3<>"/dev/tcp/127.0.0.1/$METRICS_PORT" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && timeout 5 cat <&3; exec 3<&-; }
h_wait_until 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$METRICS_PORT" || true
m=$(metrics)
t_check "metrics: checkpoint seq" grep -q "^fastlane_apply_checkpoint_seq $(last_seq)\$" <<<"$m"
t_check "metrics: transactions applied" grep -q "^fastlane_apply_transactions_total $(last_seq)\$" <<<"$m"
t_check "metrics: chunked transactions counted" grep -q "^fastlane_apply_chunked_transactions_total [1-9]" <<<"$m"
t_check "metrics: no lag" grep -q "^fastlane_apply_lag_transactions 0\$" <<<"$m"
t_check "metrics: target connected" grep -q "^fastlane_apply_target_connected 1\$" <<<"$m"
t_check "metrics: source answers" grep -q "^fastlane_apply_source_connected 1\$" <<<"$m"
t_check "metrics: no error logged" grep -q "^fastlane_apply_last_error_timestamp_seconds 0\$" <<<"$m"
t_check "metrics: no label carries a GTID" bash -c '! grep -q "gtid=" <<<"$1"' _ "$m"
kill -TERM "$APPLY_PID"; wait "$APPLY_PID"

t_done
