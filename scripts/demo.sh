#!/usr/bin/env bash
# demo.sh — `make demo`: a private MariaDB, Redis and memcached on loopback in a temporary
# directory, fl-relay journaling the database, one fl-apply feeding Redis and another
# feeding memcached, and a small workload; prints each statement whole, the database next to
# both caches, and how long each commit took to reach Redis. Every few transactions a
# multi-row transaction is watched by a reader that reads all its keys at once: it sees
# none or all, never part. Ctrl-C stops everything and removes the directory (DEMO_KEEP=1
# keeps it, with the configs and logs). DEMO_SECONDS=N stops after N s.
set -u
[ "${DEMO_KEEP:-0}" = 1 ] && export FL_KEEP=1
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export FL_BUILD=$ROOT/$BUILD
# shellcheck source=../tests/harness.sh
source "$ROOT/tests/harness.sh"

for prog in fl-relay fl-apply fl-dump; do
  [ -x "$FL_BUILD/$prog" ] || { echo "demo: $FL_BUILD/$prog is not built (run make)" >&2; exit 1; }
done

echo "== starting private servers in $H_DIR"
h_start_mariadb
h_start_redis
h_start_memcached
echo "   MariaDB 127.0.0.1:$MARIADB_PORT  Redis 127.0.0.1:$REDIS_PORT  memcached 127.0.0.1:$MEMCACHED_PORT"

h_sql "CREATE DATABASE shop;
       CREATE TABLE shop.users (id INT PRIMARY KEY, name VARCHAR(64), email VARCHAR(128),
                                balance DECIMAL(12,2), updated DATETIME(3));
       CREATE TABLE shop.stock (sku VARCHAR(16) PRIMARY KEY, qty INT, price DECIMAL(10,2));
       CREATE TABLE shop.batch (sku VARCHAR(16) PRIMARY KEY, qty INT, price DECIMAL(10,2));"

CFG=$H_DIR/demo.ini
{
  h_source_config
  cat <<CFG
start = current

[journal]
path = $H_DIR/journal

[rule users]
table = shop.users
key = user:{id}
format = json

[rule stock]
table = shop.stock
key = stock:{sku}
format = hash

[rule batch]
table = shop.batch
key = bt:{sku}
format = hash
CFG
} > "$CFG"
sed -e "/^\[rule stock\]/,\$d" "$CFG" > "$H_DIR/demo-mc.ini"
cat >> "$CFG" <<CFG

[apply]
name = redis
target = redis://127.0.0.1:$REDIS_PORT/0
CFG
cat >> "$H_DIR/demo-mc.ini" <<CFG

[apply]
name = memcached
target = memcached://127.0.0.1:$MEMCACHED_PORT
checkpoint_path = $H_DIR/memcached.checkpoint
CFG

echo "== config: $CFG (relay, Redis applier) and $H_DIR/demo-mc.ini (memcached applier)"
echo "== logs:   $H_DIR/relay.log $H_DIR/apply-redis.log $H_DIR/apply-memcached.log"
[ "${DEMO_KEEP:-0}" = 1 ] && echo "== DEMO_KEEP=1: $H_DIR is kept when the demo ends"
echo "== starting fl-relay and two fl-apply (Redis, memcached)"
"$FL_BUILD/fl-relay" -c "$CFG" >"$H_DIR/relay.log" 2>&1 &
h_register $!
h_wait_until 30 test -d "$H_DIR/journal" || { echo "demo: fl-relay did not start:" >&2; cat "$H_DIR/relay.log" >&2; exit 1; }
sleep 0.5
"$FL_BUILD/fl-apply" -c "$CFG" >"$H_DIR/apply-redis.log" 2>&1 &
h_register $!
"$FL_BUILD/fl-apply" -c "$H_DIR/demo-mc.ini" >"$H_DIR/apply-memcached.log" 2>&1 &
h_register $!

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# commit_latency KEY BEFORE START: after a commit at START (ms), waits (up to 5 s) until
# Redis's KEY differs from BEFORE and prints the milliseconds it took, as seen from here
# (each poll is a redis-cli run, so this is an upper bound of a few ms).
commit_latency() {
  local key=$1 before=$2 start=$3
  while [ "$(h_redis GET "$key")" = "$before" ]; do
    [ $(( $(now_ms) - start )) -gt 5000 ] && { echo "over 5000"; return; }
  done
  echo $(( $(now_ms) - start ))
}
# A reader that reads every key of the multi-row transaction in one Lua call (atomic in
# Redis) and counts how often it saw some of the rows but not all.
WATCH='local n = 0 for i, k in ipairs(KEYS) do n = n + redis.call("EXISTS", k) end return n'

echo "== workload: one transaction a second; Ctrl-C to stop"
deadline=$(( $(date +%s) + ${DEMO_SECONDS:-1000000000} ))
i=0
while [ "$(date +%s)" -lt "$deadline" ]; do
  i=$((i + 1))
  id=$(( (i - 1) / 4 % 5 + 1 ))  # each id is inserted, updated twice, deleted
  case $(( i % 4 )) in
    1) sql="REPLACE INTO shop.users VALUES ($id, 'user$id', 'u$id@example.com', $i.50, NOW(3));
            REPLACE INTO shop.stock VALUES ('sku$id', $((i * 3)), 9.99);" ;;
    2) sql="UPDATE shop.users SET balance = balance + 10, updated = NOW(3) WHERE id = $id;
            UPDATE shop.stock SET qty = qty - 1 WHERE sku = 'sku$id';" ;;
    3) sql="UPDATE shop.users SET name = CONCAT(name, '*'), updated = NOW(3) WHERE id = $id;" ;;
    0) sql="DELETE FROM shop.users WHERE id = $id; DELETE FROM shop.stock WHERE sku = 'sku$id';" ;;
  esac
  before=$(h_redis GET "user:$id")
  h_sql "START TRANSACTION; $sql COMMIT;"
  ms=$(commit_latency "user:$id" "$before" "$(now_ms)")
  echo "---- after transaction $i:"
  tr -s ' \n' ' ' <<<"$sql" | sed 's/; */;\n/g' | sed '/^ *$/d; s/^/  SQL       /'
  row=$(h_sql "SELECT CONCAT_WS(' | ', id, name, email, balance) FROM shop.users WHERE id = $id")
  printf '  MariaDB   shop.users id=%s: %s\n' "$id" "${row:-(no row)}"
  printf '  Redis     user:%s = %s\n' "$id" "$(h_redis GET "user:$id")"
  printf '  Redis     stock:sku%s = %s\n' "$id" "$(h_redis HGETALL "stock:sku$id" | paste -sd' ')"
  printf '  memcached user:%s = %s\n' "$id" "$(h_mc_get "user:$id")"
  printf '  latency   commit -> Redis user:%s: %s ms (as seen from this script)\n' "$id" "$ms"
  if [ $(( i % 4 )) = 2 ]; then
    # one transaction of ten rows; the reader samples all ten keys atomically meanwhile
    values=()
    for k in $(seq 1 10); do values+=("('b$i-$k', $k, 1.00)"); done
    ( partial=0; samples=0; end=$(( $(now_ms) + 1500 ))
      while [ "$(now_ms)" -lt "$end" ]; do
        n=$(h_redis EVAL "$WATCH" 10 $(for k in $(seq 1 10); do printf 'bt:b%s-%s ' "$i" "$k"; done))
        samples=$((samples + 1)); { [ "$n" -gt 0 ] && [ "$n" -lt 10 ]; } && partial=$((partial + 1))
        [ "$n" = 10 ] && break
      done
      echo "$samples $partial $n" > "$H_DIR/watch.$i" ) &
    watcher=$!
    h_sql "START TRANSACTION; INSERT INTO shop.batch VALUES $(IFS=,; echo "${values[*]}"); COMMIT;"
    wait $watcher
    read -r samples partial n < "$H_DIR/watch.$i"
    printf '  SQL       one transaction inserting 10 rows into shop.batch\n'
    printf '  atomic    a reader sampled the 10 keys %s times: saw part of the transaction %s times; saw %s of 10 at the end\n' \
      "$samples" "$partial" "$n"
  fi
done
echo "== journal:"
"$FL_BUILD/fl-dump" --stats "$H_DIR/journal"
