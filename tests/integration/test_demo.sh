#!/usr/bin/env bash
# test_demo.sh — `make demo` works: run scripts/demo.sh for a few seconds and check that Redis
# and memcached followed MariaDB through an insert, two updates and a delete, and that the
# demo cleaned up its servers and temporary directory.
source "$(dirname "$0")/../harness.sh"

out=$(DEMO_SECONDS=6 timeout 180 bash "$H_ROOT/scripts/demo.sh" "$(realpath --relative-to="$H_ROOT" "$FL_BUILD" 2>/dev/null || echo build)" 2>&1)
rc=$?
echo "$out" > "$H_DIR/demo.out"
t_eq "demo exits 0" 0 "$rc"
block() { awk -v n="$1" '/^---- after transaction/ {on = ($4 == n":")} on' "$H_DIR/demo.out"; }
t_check "after the insert, Redis has the row" grep -q 'Redis     user:1 = {"id":1,"name":"user1","email":"u1@example.com","balance":"1.50"' <(block 1)
t_check "after the insert, memcached has the row" grep -q 'memcached user:1 = {"id":1,"name":"user1"' <(block 1)
t_check "after the insert, the stock hash is there" grep -q 'stock:sku1 = sku sku1 qty 3 price 9.99' <(block 1)
t_check "after the update, Redis has the new balance" grep -q '"balance":"11.50"' <(block 2)
t_check "after the rename, memcached has the new name" grep -q 'memcached user:1 = {"id":1,"name":"user1\*"' <(block 3)
t_check "after the delete, Redis has no user:1" grep -qx '  Redis     user:1 = ' <(block 4)
t_check "after the delete, memcached has no user:1" grep -qx '  memcached user:1 = ' <(block 4)
t_check "the statements are shown whole" grep -q "SQL       REPLACE INTO shop.stock VALUES ('sku1', 3, 9.99);" <(block 1)
t_check "each commit's latency to Redis is shown" grep -q "latency   commit -> Redis user:1: [0-9]* ms" <(block 1)
t_check "a multi-row transaction is never seen in part" \
  grep -q "saw part of the transaction 0 times; saw 10 of 10 at the end" <(block 2)
t_check "the demo says where its config and logs are" grep -q "^== config: .*demo.ini" "$H_DIR/demo.out"
t_check "... and its logs" grep -q "^== logs: .*relay.log" "$H_DIR/demo.out"
demo_dir=$(sed -n 's/^== starting private servers in //p' "$H_DIR/demo.out")
t_check "the demo removed its directory" test -n "$demo_dir" -a ! -e "$demo_dir"
ports=$(sed -n 's/^   MariaDB 127.0.0.1:\([0-9]*\)  Redis 127.0.0.1:\([0-9]*\)  memcached 127.0.0.1:\([0-9]*\)$/\1 \2 \3/p' "$H_DIR/demo.out")
t_check "the demo printed its three ports" test "$(wc -w <<<"$ports")" -eq 3
none_left() {
  local p
  for p in $ports; do ss -Htln "sport = :$p" | grep -q . && return 1; done
  ! pgrep -f "fl-(relay|apply) -c ${demo_dir:-/nonexistent}" >/dev/null
}
t_check "no demo server or program left running" none_left

# DEMO_KEEP=1 keeps the directory with the configs and logs
out=$(DEMO_KEEP=1 DEMO_SECONDS=1 timeout 120 bash "$H_ROOT/scripts/demo.sh" "$(realpath --relative-to="$H_ROOT" "$FL_BUILD" 2>/dev/null || echo build)" 2>&1)
kept=$(sed -n 's/^== starting private servers in //p' <<<"$out")
t_check "DEMO_KEEP=1 keeps the demo's directory" test -n "$kept" -a -f "$kept/demo.ini" -a -f "$kept/relay.log"
[ -n "$kept" ] && [ -d "$kept" ] && rm -rf "$kept"
t_done
