#!/usr/bin/env bash
# demo.sh — `make demo`: a private MariaDB, Redis and memcached on loopback in a temporary
# directory, fl-relay journaling the database, one fl-apply feeding Redis and another
# feeding memcached, and a small workload; prints the database next to the caches every
# second. Ctrl-C stops everything and removes the directory. DEMO_SECONDS=N stops after N s.
set -u
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
       CREATE TABLE shop.stock (sku VARCHAR(16) PRIMARY KEY, qty INT, price DECIMAL(10,2));"

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

echo "== starting fl-relay and two fl-apply (Redis, memcached); logs in $H_DIR/*.log"
"$FL_BUILD/fl-relay" -c "$CFG" >"$H_DIR/relay.log" 2>&1 &
h_register $!
h_wait_until 30 test -d "$H_DIR/journal" || { echo "demo: fl-relay did not start:" >&2; cat "$H_DIR/relay.log" >&2; exit 1; }
sleep 0.5
"$FL_BUILD/fl-apply" -c "$CFG" >"$H_DIR/apply-redis.log" 2>&1 &
h_register $!
"$FL_BUILD/fl-apply" -c "$H_DIR/demo-mc.ini" >"$H_DIR/apply-memcached.log" 2>&1 &
h_register $!

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
  h_sql "START TRANSACTION; $sql COMMIT;"
  sleep 1
  echo "---- after transaction $i: $(tr -s ' \n' ' ' <<<"$sql" | head -c 110)"
  row=$(h_sql "SELECT CONCAT_WS(' | ', id, name, email, balance) FROM shop.users WHERE id = $id")
  printf '  MariaDB   shop.users id=%s: %s\n' "$id" "${row:-(no row)}"
  printf '  Redis     user:%s = %s\n' "$id" "$(h_redis GET "user:$id")"
  printf '  Redis     stock:sku%s = %s\n' "$id" "$(h_redis HGETALL "stock:sku$id" | paste -sd' ')"
  printf '  memcached user:%s = %s\n' "$id" "$(h_mc_get "user:$id")"
done
echo "== journal:"
"$FL_BUILD/fl-dump" --stats "$H_DIR/journal"
