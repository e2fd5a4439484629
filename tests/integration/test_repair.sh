#!/usr/bin/env bash
# test_repair.sh — fl-apply --verify --repair against a private MariaDB and Redis: a cache
# filled by the relay's snapshot and the running applier gets ten keys corrupted or deleted
# by hand, and one extra key for a row that does not exist. --repair has the relay read
# exactly those keys again (one keys record in the journal: ten snapshot rows and one
# delete), waits for the applier, verifies again and exits 0; every other key keeps its value
# and its TTL. Then --repair --once with no applier running applies the repair itself; and
# the refusals: no relay running, an applier that reads a feed, --repair without --verify.
source "$(dirname "$0")/../harness.sh"
FL_RELAY=$FL_BUILD/fl-relay
FL_APPLY=$FL_BUILD/fl-apply
FL_DUMP=$FL_BUILD/fl-dump
ROWS=300

h_start_mariadb
h_start_redis

h_sql "CREATE DATABASE app;
USE app;
CREATE TABLE app.items (id INT PRIMARY KEY, v INT NOT NULL, pad VARCHAR(40) NOT NULL);
INSERT INTO app.items SELECT seq, seq * 10, CONCAT('row ', seq) FROM seq_1_to_$ROWS;
CREATE TABLE app.pairs (a INT NOT NULL, b VARCHAR(8) NOT NULL, n INT, PRIMARY KEY (a, b));
INSERT INTO app.pairs SELECT seq DIV 3, CONCAT('k', seq MOD 3), seq FROM seq_1_to_60;
RESET MASTER;"

cat > "$H_DIR/r.ini" <<CFG
$(h_source_config)
[journal]
path = $H_DIR/journal
[snapshot]
tables = app.*
chunk = 100
[apply]
target = redis://127.0.0.1:$REDIS_PORT/0
[rule items]
table = app.items
key = item:{id}
ttl = 1d
[rule pairs]
table = app.pairs
key = pair:{a}:{b}
format = hash
CFG

RELAY_LOG=$H_DIR/relay.log
APPLY_LOG=$H_DIR/apply.log
start_relay() { "$FL_RELAY" -c "$H_DIR/r.ini" >>"$RELAY_LOG" 2>&1 & RELAY=$!; h_register $RELAY; }
start_apply() { "$FL_APPLY" -c "$H_DIR/r.ini" >>"$APPLY_LOG" 2>&1 & APPLY=$!; h_register $APPLY; }
verify_ok() { timeout 60 "$FL_APPLY" -c "$H_DIR/r.ini" --verify >/dev/null 2>&1; }
keys_records() { "$FL_DUMP" "$H_DIR/journal" --json 2>/dev/null | grep '"keys":true'; }
pttls() { # KEY... -> "KEY PTTL" lines
  local k; for k in "$@"; do echo "$k $(h_redis PTTL "$k")"; done
}

start_relay
start_apply
h_wait_until 60 verify_ok || h_die "the snapshot did not reach Redis: $(tail -3 "$RELAY_LOG")"
sleep 2 # the TTLs of the keys left alone fall below the rule's, those written again start at it

# ten keys corrupted or deleted, one extra key for a row that does not exist
h_redis SET item:5 wrong >/dev/null
h_redis SET item:17 '{"id":17}' >/dev/null
h_redis PERSIST item:23 >/dev/null             # right value, no expiry: stale for a ttl rule
h_redis DEL item:42 item:99 item:150 >/dev/null
h_redis HSET pair:3:k1 n 999 >/dev/null
h_redis DEL pair:7:k0 >/dev/null
h_redis SET item:200 x >/dev/null
h_redis DEL item:300 >/dev/null
h_redis SET item:999999 ghost >/dev/null
FIXED="item:5 item:17 item:23 item:42 item:99 item:150 item:200 item:300"
others=()
for id in $(seq 1 $ROWS); do
  case " $FIXED " in *" item:$id "*) ;; *) others+=("item:$id") ;; esac
done
pttls "${others[@]}" > "$H_DIR/pttl.before"
for k in "${others[@]}"; do h_redis GET "$k"; done > "$H_DIR/values.before"

out=$(timeout 120 "$FL_APPLY" -c "$H_DIR/r.ini" --verify --repair 2>&1); rc=$?
echo "$out" | sed 's/^/  | /'
t_eq "--verify --repair: exit 0" 0 "$rc"
t_check "the first verify saw the ten keys and the extra one" grep -q "^stale  *5$" <<<"$out"
t_check "  ... missing" grep -q "^missing  *5$" <<<"$out"
t_check "  ... extra" grep -q "^extra  *1$" <<<"$out"
t_check "it asked for the keys of both tables" grep -q "repair: app.items: 9 keys to read again" <<<"$out"
t_check "  ... and pairs" grep -q "repair: app.pairs: 2 keys to read again" <<<"$out"
t_check "the second verify matches" grep -q "verify: every key matches" <<<"$out"
t_eq "the extra key is gone" 0 "$(h_redis EXISTS item:999999)"
t_eq "item:5 is right again" "{\"id\":5,\"v\":50,\"pad\":\"row 5\"}" "$(h_redis GET item:5)"
t_check "item:23 expires again" [ "$(h_redis TTL item:23)" -gt 80000 ]
t_eq "pair:3:k1 is right again" 10 "$(h_redis HGET pair:3:k1 n)"
t_eq "two keys records (items, pairs)" 2 "$(keys_records | wc -l)"
items_rec=$(keys_records | grep '"table":"items","chunk"')
t_eq "items: exactly the eight rows read again" 8 "$(grep -o '"op":"snapshot"' <<<"$items_rec" | wc -l)"
t_check "  ... and a delete of the row that does not exist" grep -q '"op":"delete","db":"app","table":"items","before":{"id":999999' <<<"$items_rec"
t_eq "  ... and nothing else" 9 "$(grep -o '"op":"' <<<"$items_rec" | wc -l)"
t_check "the keys record is no table's last chunk" grep -q '"last":false,"keys":true' <<<"$items_rec"
pttls "${others[@]}" > "$H_DIR/pttl.after"
for k in "${others[@]}"; do h_redis GET "$k"; done > "$H_DIR/values.after"
t_check "every other key keeps its value" cmp -s "$H_DIR/values.before" "$H_DIR/values.after"
rewritten=$(paste -d' ' "$H_DIR/pttl.before" "$H_DIR/pttl.after" | awk '$4 > $2 { n++ } END { print n + 0 }')
t_eq "no other key was written again (its TTL never went up)" 0 "$rewritten"
t_check "the relay logged the repair" grep -q "snapshot of app.items: 9 keys read again: 8 rows journaled, 1 deletes" "$RELAY_LOG"

# nothing to repair: exit 0 at once
out=$(timeout 60 "$FL_APPLY" -c "$H_DIR/r.ini" --verify --repair 2>&1); rc=$?
t_eq "--repair with nothing to repair: exit 0" 0 "$rc"
t_eq "  ... and no request" 2 "$(keys_records | wc -l)"

# no applier running: --once applies the repair itself
kill -TERM $APPLY; wait $APPLY
h_redis SET item:7 wrong >/dev/null
h_sql "UPDATE app.items SET v = -1 WHERE id = 8"   # the stream's change waits for the applier too
out=$(timeout 120 "$FL_APPLY" -c "$H_DIR/r.ini" --verify --repair --once 2>&1); rc=$?
echo "$out" | tail -4 | sed 's/^/  | /'
t_eq "--verify --repair --once (no applier running): exit 0" 0 "$rc"
t_eq "item:7 is right again" "{\"id\":7,\"v\":70,\"pad\":\"row 7\"}" "$(h_redis GET item:7)"

# refusals
kill -TERM $RELAY; wait $RELAY
t_eq "the relay stops cleanly" 0 $?
h_redis SET item:9 wrong >/dev/null
out=$(timeout 60 "$FL_APPLY" -c "$H_DIR/r.ini" --verify --repair 2>&1); rc=$?
t_eq "no relay running: exit 1" 1 "$rc"
t_check "no relay running: says so ($(tail -1 <<<"$out"))" grep -q "fl-apply: --repair: no relay is running on journal $H_DIR/journal" <<<"$out"
t_eq "  ... and the key is still wrong" wrong "$(h_redis GET item:9)"

sed "s|^\[apply\]|[apply]\nrelay = 127.0.0.1:9\nsecret = 0123456789abcdef0123456789abcdef|" "$H_DIR/r.ini" > "$H_DIR/feed.ini"
out=$(timeout 60 "$FL_APPLY" -c "$H_DIR/feed.ini" --verify --repair 2>&1); rc=$?
t_eq "an applier reading a feed: exit 2" 2 "$rc"
t_check "  ... says why ($out)" grep -q "fl-apply: --repair: this applier reads the feed of 127.0.0.1:9, whose snapshot request names whole tables" <<<"$out"
out=$(timeout 60 "$FL_APPLY" -c "$H_DIR/r.ini" --repair 2>&1); rc=$?
t_eq "--repair without --verify: exit 2" 2 "$rc"
t_check "  ... says why ($out)" grep -q "repair goes with --verify" <<<"$out"
t_done
