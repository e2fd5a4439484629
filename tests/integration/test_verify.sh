#!/usr/bin/env bash
# test_verify.sh — fl-apply --verify against a private MariaDB, Redis and memcached: the cache
# is filled by hand with the canonical values of every column type, then made stale, partial
# and cluttered; verify must count each kind and exit 0 only when everything matches.
source "$(dirname "$0")/../harness.sh"
FL_APPLY=$FL_BUILD/fl-apply
[ -x "$FL_APPLY" ] && [ ! -d "$FL_APPLY" ] || h_die "no fl-apply program in $FL_BUILD"

h_start_mariadb
h_start_redis
h_start_memcached

h_sql "CREATE DATABASE app;
CREATE TABLE app.users (id INT PRIMARY KEY, name VARCHAR(20), email VARCHAR(40) NULL,
  score DECIMAL(10,2), created DATETIME(3), ts TIMESTAMP NULL, flag BIT(3), tags SET('a','b','c'),
  kind ENUM('x','y'), data BLOB, f FLOAT, d DOUBLE, y YEAR, t TIME(2), u INT UNSIGNED, bin BINARY(3),
  big BIGINT UNSIGNED, dt DATE, txt TEXT);
CREATE TABLE app.orders (id INT PRIMARY KEY, user_id INT NULL, total DECIMAL(8,2));
INSERT INTO app.users VALUES
  (1,'ann',NULL,1165.50,'2026-01-02 03:04:05.123','2026-01-02 03:04:05',b'101','a,c','y',x'00ff',1.5,0.1,
   2024,'-01:02:03.40',4000000000,'ab',18446744073709551615,'2026-02-28','é \"q\"\n'),
  (2,'bob','b@x',-0.10,NULL,NULL,NULL,'',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO app.orders VALUES (10, 1, 5.00), (11, NULL, 6.00);"

cat > "$H_DIR/v.ini" <<CFG
$(h_source_config)
[apply]
journal = $H_DIR/journal
target = redis://127.0.0.1:$REDIS_PORT/0
[rule users]
table = app.users
key = user:{id}
[rule uh]
table = app.users
key = uh:{id}
format = hash
columns = name,email,score
[rule un]
table = app.users
key = un:{id}
format = column:email
[rule inv]
table = app.users
key = inv:{name}
mode = invalidate
[rule orders]
table = app.orders
key = user:{user_id}:order:{id}
format = column:total
CFG

J1='{"id":1,"name":"ann","email":null,"score":"1165.50","created":"2026-01-02 03:04:05.123","ts":"2026-01-02 03:04:05","flag":5,"tags":["a","c"],"kind":"y","data":"AP8=","f":1.5,"d":0.1,"y":2024,"t":"-01:02:03.40","u":4000000000,"bin":"YWIA","big":18446744073709551615,"dt":"2026-02-28","txt":"é \"q\"\n"}'
J2='{"id":2,"name":"bob","email":"b@x","score":"-0.10","created":null,"ts":null,"flag":null,"tags":[],"kind":null,"data":null,"f":null,"d":null,"y":null,"t":null,"u":null,"bin":null,"big":null,"dt":null,"txt":null}'

verify() { out=$(timeout 60 "$FL_APPLY" -c "$1" --verify 2>&1); rc=$?; echo "$out" | sed 's/^/  | /'; }
count() { sed -n "s/^$1  *\([0-9]*\)\$/\1/p" <<<"$out"; }

# ---- Redis: one of each kind of difference ----
h_redis SET user:1 "$J1" >/dev/null
h_redis SET user:2 stale >/dev/null
h_redis HSET uh:1 name ann score 1165.50 >/dev/null
h_redis SET un:2 b@x >/dev/null
h_redis SET user:1:order:10 5.00 >/dev/null
h_redis SET user:99 leftover >/dev/null
h_redis HSET fastlane:checkpoint:default seq 1 >/dev/null
verify "$H_DIR/v.ini"
t_eq "differences: exit 1" 1 "$rc"
t_eq "matching (incl. un:1 absent for a NULL email)" 5 "$(count matching)"
t_eq "stale" 1 "$(count stale)"
t_eq "missing" 1 "$(count missing)"
t_eq "extra (the checkpoint is not counted)" 1 "$(count extra)"
t_check "stale key named" grep -q "user:2 (rule users): value differs" <<<"$out"
t_check "missing key named" grep -q "uh:2 (rule uh)" <<<"$out"
t_check "extra key named" grep -q "user:99 (prefix of rule users)" <<<"$out"
t_check "NULL key column reported" grep -q "app.orders: rule orders: key column \`user_id\` is NULL" <<<"$out"
t_check "invalidate rule not compared" grep -q "rule inv (app.users): invalidate mode, not compared" <<<"$out"

# a string where a hash belongs, a key that should not exist
h_redis DEL user:99 >/dev/null
h_redis SET user:2 "$J2" >/dev/null
h_redis DEL uh:2 >/dev/null
h_redis SET uh:2 x >/dev/null
h_redis SET un:1 something >/dev/null
verify "$H_DIR/v.ini"
t_eq "wrong type and unwanted key: stale 2" 2 "$(count stale)"
t_check "unwanted key explained" grep -q "un:1 (rule un): the key should not exist" <<<"$out"

h_redis DEL uh:2 un:1 >/dev/null
h_redis HSET uh:2 name bob email b@x score -0.10 >/dev/null
verify "$H_DIR/v.ini"
t_eq "all match: exit 0" 0 "$rc"
t_eq "all match: 7 keys" 7 "$(count matching)"
t_check "verdict" grep -q "verify: every key matches" <<<"$out"

# ---- TTLs: a key of a rule with a ttl must expire, and not later than the ttl ----
sed -n '1,/^\[rule/p' "$H_DIR/v.ini" | sed '$d' > "$H_DIR/t.ini"
cat >> "$H_DIR/t.ini" <<CFG
[rule ot]
table = app.orders
key = ot:{id}
format = column:total
ttl = 1h
CFG
h_redis SET ot:10 5.00 EX 3600 >/dev/null
h_redis SET ot:11 6.00 >/dev/null
verify "$H_DIR/t.ini"
t_eq "ttl: a key without expiry is stale" 1 "$(count stale)"
t_check "ttl: explained" grep -q "ot:11 (rule ot): no expiry (the rule's ttl is 3600 s)" <<<"$out"
h_redis SET ot:11 6.00 EX 7200 >/dev/null
verify "$H_DIR/t.ini"
t_check "ttl: a longer expiry is stale" grep -q "ot:11 (rule ot): expires in .* ms, later than the rule's ttl of 3600 s" <<<"$out"
h_redis SET ot:11 6.00 EX 3000 >/dev/null
verify "$H_DIR/t.ini"
t_eq "ttl: expiring keys match" 0 "$rc"
t_eq "ttl: both match" 2 "$(count matching)"

# ---- memcached (no hash format there) ----
sed -e "s#^target = .*#target = memcached://127.0.0.1:$MEMCACHED_PORT#" \
    -e '/^\[rule uh\]/,/^columns/d' "$H_DIR/v.ini" > "$H_DIR/m.ini"
verify "$H_DIR/m.ini"
t_eq "memcached empty: exit 1" 1 "$rc"
t_eq "memcached empty: missing" 4 "$(count missing)"
t_check "memcached: extra not checked" grep -q "^extra  *not checked" <<<"$out"
mc_set() {
  exec 3<>/dev/tcp/127.0.0.1/"$MEMCACHED_PORT"
  printf 'set %s 0 0 %d\r\n%s\r\n' "$1" "$(printf %s "$2" | wc -c)" "$2" >&3
  local l; IFS= read -r -t 5 l <&3; exec 3<&-
}
mc_set user:1 "$J1"; mc_set user:2 "$J2"; mc_set un:2 "b@x"; mc_set user:1:order:10 "5.00"
verify "$H_DIR/m.ini"
t_eq "memcached all match: exit 0" 0 "$rc"
mc_set user:2 "changed"
verify "$H_DIR/m.ini"
t_eq "memcached stale: exit 1" 1 "$rc"
t_eq "memcached stale" 1 "$(count stale)"
# an empty value is a value
h_sql "UPDATE app.users SET email = '' WHERE id = 2"
mc_set user:2 "${J2/\"b@x\"/\"\"}"; mc_set un:2 ""
verify "$H_DIR/m.ini"
t_eq "memcached empty value matches: exit 0" 0 "$rc"

# ---- the check cannot run: exit 2 with a reason ----
sed -e "s#^port = .*#port = $(h_free_port)#" "$H_DIR/v.ini" > "$H_DIR/down.ini"
verify "$H_DIR/down.ini"
t_eq "source down: exit 2" 2 "$rc"
t_check "source down: reason" grep -q "cannot connect to the source" <<<"$out"

t_done
