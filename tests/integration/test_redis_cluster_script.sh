#!/usr/bin/env bash
# test_redis_cluster_script.sh — the group script of the Redis Cluster target (one call per
# primary per group) on a real cluster of 3 primaries:
# - it is used (HINCRBY of slot checkpoints on the primaries) and the cache equals the database;
# - max_atomic_ops bounds each slot's part of a group (and each script call), not the group:
#   single-row transactions over untagged keys go in groups far larger than it;
# - SCRIPT FLUSH on every primary while applying (NOSCRIPT): the applier loads it again and
#   the cache still equals the database;
# - a slot frozen in the middle of a migration (MIGRATING on its primary, IMPORTING on
#   another, one of its two bank accounts already moved) while transfers between the two are
#   applied: the group script writes nothing of that slot (its probe finds the moved key), so
#   the two accounts, read where each is, always sum to the total, the moved account is never
#   written back on the old primary, and the account that is only debited never goes up; once
#   the migration ends, the cache equals the database;
# - maxmemory reached: the group script is refused before it runs (OOM), nothing of the
#   group is written, and once memory is raised the cache equals the database;
# - an ACL without EXISTS (the script's probe): the applier says once that the group script
#   is refused and applies in per-slot blocks, correctly;
# - a transaction journaled in parts and chunked by max_atomic_ops: every slot it wrote has
#   its slot checkpoint at that transaction, also slots only its early chunks wrote.
source "$(dirname "$0")/../harness.sh"

H_CLUSTER_REPLICAS=0 h_start_redis_cluster
h_start_mariadb
J=$H_DIR/journal
mkdir -p "$J"
P=("${CLUSTER_PORTS[@]}")

db_state() {
  h_sql "SELECT CONCAT('item:', id), v FROM app.items UNION ALL SELECT CONCAT('{bank}:acct:', id), bal FROM app.bank" \
    | LC_ALL=C sort
}
same_as_db() { [ "$(h_cluster_cache_state '^fastlane:\|^big:\|^unit:')" = "$(db_state)" ]; }
owner_of() { # the port of the primary serving key $1
  local r; r=$(redis-cli -p "${P[0]}" get "$1")
  case $r in MOVED*) echo "${r##*:}" ;; *) echo "${P[0]}" ;; esac
}
script_writes() { # slot checkpoint steps the group script made on every primary
  local p n=0
  for p in "${P[@]}"; do
    n=$((n + $(redis-cli -p "$p" info commandstats | tr -d '\r' | sed -n 's/^cmdstat_hincrby:calls=\([0-9]*\),.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')))
  done
  echo "$n"
}

h_sql "CREATE DATABASE app;
CREATE TABLE app.items (id INT PRIMARY KEY, v INT NOT NULL);
CREATE TABLE app.bank (id INT PRIMARY KEY, bal INT NOT NULL);
INSERT INTO app.bank VALUES (1, 1000), (2, 1000);" || h_die "schema"
TOTAL=2000
conf() { # NAME TARGET [EXTRA]
  printf '[apply]\nname = %s\njournal = %s\ntarget = %s\n%s' "$1" "$J" "$2" "${3:-}"
  printf '[rule items]\ntable = app.items\nkey = item:{id}\nformat = column:v\n'
  # a TTL keeps the two accounts' SETs apart (no MSET): a slot of several commands
  printf '[rule bank]\ntable = app.bank\nkey = {{bank}}:acct:{id}\nformat = column:bal\nttl = 3600\n'
}
conf sc "$CLUSTER_URL" > "$H_DIR/apply.ini"
items() { # FROM TO: one transaction inserting these items
  h_sql "USE app; INSERT INTO app.items SELECT seq, seq FROM seq_$1_to_$2" || h_die "items"
}
transfers() { # COUNT: each moves 1 from account 1 to 2 and bumps an item, one transaction each
  local i
  for i in $(seq 1 "$1"); do
    echo "BEGIN; UPDATE app.bank SET bal = bal - 1 WHERE id = 1; UPDATE app.bank SET bal = bal + 1 WHERE id = 2;"
    echo "UPDATE app.items SET v = v + 1 WHERE id = $(((i % 50) + 1)); COMMIT;"
  done | h_sql_file /dev/stdin || h_die "transfers"
}

# ---- the script is used ----
items 1 2000
h_ingest "$J" || h_die "ingest"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --once > "$H_DIR/a1.log" 2>&1
t_eq "the first catch-up exits 0" 0 "$?"
t_check "the cache equals the database" same_as_db
t_check "the group script moved the slot checkpoints" test "$(script_writes)" -gt 0
t_check "no fallback to per-slot blocks" bash -c "! grep -q 'refused\|FLFALLBACK' '$H_DIR/a1.log'"

# ---- max_atomic_ops bounds each slot's part of a group, not the group ----
# 600 single-row transactions over untagged keys (about one row per slot) with
# max_atomic_ops = 20: the groups are not cut at 20 operations, so each primary's script calls
# are filled up to 20 operations (about 30 calls in all), instead of each group of 20 rows
# costing a call on every primary (about 90); nothing is chunked
h_sql "CREATE TABLE app.units (id INT PRIMARY KEY, v INT NOT NULL)" || h_die "units"
seq 1 600 | sed 's/.*/INSERT INTO app.units VALUES (&, &);/' | h_sql_file /dev/stdin || h_die "units rows"
h_ingest "$J" || h_die "ingest"
printf '[apply]\nname = un\njournal = %s\ntarget = %s\nmax_atomic_ops = 20\n[rule units]\ntable = app.units\nkey = unit:{id}\nformat = column:v\n' \
  "$J" "$CLUSTER_URL" > "$H_DIR/units.ini"
for p in "${P[@]}"; do redis-cli -p "$p" config resetstat > /dev/null; done
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/units.ini" --once > "$H_DIR/units.log" 2>&1
t_eq "the catch-up with max_atomic_ops = 20 exits 0" 0 "$?"
units=0
for p in "${P[@]}"; do units=$((units + $(redis-cli -p "$p" --scan --pattern 'unit:*' | wc -l))); done
t_eq "every row is cached" 600 "$units"
calls=0
for p in "${P[@]}"; do
  calls=$((calls + $(redis-cli -p "$p" info commandstats | tr -d '\r' | sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')))
done
t_check "groups span more than max_atomic_ops operations: $calls script calls for 600 rows" test "$calls" -lt 60
t_check "nothing was chunked" bash -c "! grep -q 'applied in chunks' '$H_DIR/units.log'"

# ---- NOSCRIPT ----
"$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" > "$H_DIR/live.log" 2>&1 &
APPLY_PID=$!; h_register $APPLY_PID
h_wait_until 30 grep -q "connected to the redis-cluster target" "$H_DIR/live.log" || h_die "the applier did not connect"
for p in "${P[@]}"; do redis-cli -p "$p" script flush > /dev/null; done
items 2001 3000
h_ingest "$J" || h_die "ingest"
t_check "after SCRIPT FLUSH the applier reloads its scripts and catches up" h_wait_until 60 same_as_db
t_check "it said NOSCRIPT" grep -q NOSCRIPT "$H_DIR/live.log"

# ---- a slot frozen while migrating ----
SLOT=$(redis-cli -p "${P[0]}" cluster keyslot '{bank}')
SRC=$(owner_of '{bank}:acct:1')
for p in "${P[@]}"; do [ "$p" != "$SRC" ] && { DST=$p; break; }; done
SRC_ID=$(redis-cli -p "$SRC" cluster myid)
DST_ID=$(redis-cli -p "$DST" cluster myid)
redis-cli -p "$DST" cluster setslot "$SLOT" importing "$SRC_ID" > /dev/null
redis-cli -p "$SRC" cluster setslot "$SLOT" migrating "$DST_ID" > /dev/null
t_eq "account 2 moved to the importing primary" OK "$(redis-cli -p "$SRC" migrate 127.0.0.1 "$DST" '{bank}:acct:2' 0 5000)"
acct() { # the balance of account $1 where it is now (ASKING on the importing primary)
  local v
  v=$(redis-cli -p "$SRC" get "{bank}:acct:$1" 2>/dev/null)
  case $v in ''|ASK*|MOVED*) printf 'ASKING\nGET {bank}:acct:%s\n' "$1" | redis-cli -p "$DST" | tail -1 ;; *) echo "$v" ;; esac
}
# watch account 1 (only ever debited): it must never go up
( while [ ! -e "$H_DIR/stop-watch" ]; do acct 1; sleep 0.05; done ) > "$H_DIR/acct1.seen" 2>/dev/null &
WATCH_PID=$!; h_register $WATCH_PID
transfers 2 # few: a slot with more operations in a group goes in a MULTI/EXEC, not the script
h_ingest "$J" || h_die "ingest"
h_wait_until 60 grep -q "FLFALLBACK\|non local key\|ASK \|TRYAGAIN" "$H_DIR/live.log" \
  || t_fail "the applier met the migrating slot" "$(tail -3 "$H_DIR/live.log")"
sleep 2 # let it retry a few times
t_eq "while the slot is frozen, the two accounts sum to the total" "$TOTAL" "$(( $(acct 1) + $(acct 2) ))"
t_eq "account 2 was not written back on the old primary" 0 \
  "$(redis-cli -p "$SRC" cluster getkeysinslot "$SLOT" 100 | grep -c 'acct:2')"
t_check "the group fell back to per-slot blocks with nothing written" grep -q "FLFALLBACK" "$H_DIR/live.log"
# end the migration: every other key of the slot moves, then the slot
for k in $(redis-cli -p "$SRC" cluster getkeysinslot "$SLOT" 1000); do
  redis-cli -p "$SRC" migrate 127.0.0.1 "$DST" "$k" 0 5000 > /dev/null
done
for p in "${P[@]}"; do redis-cli -p "$p" cluster setslot "$SLOT" node "$DST_ID" > /dev/null; done
transfers 10
h_ingest "$J" || h_die "ingest"
t_check "once the slot moved, the cache equals the database" h_wait_until 90 same_as_db
touch "$H_DIR/stop-watch"; wait "$WATCH_PID" 2>/dev/null
t_check "account 1 never went up" awk 'prev != "" && $1 > prev { bad = 1 } { prev = $1 } END { exit bad }' "$H_DIR/acct1.seen"
t_check "it was watched" test "$(grep -c . "$H_DIR/acct1.seen")" -gt 10
kill -TERM "$APPLY_PID"; wait "$APPLY_PID" 2>/dev/null

# ---- maxmemory reached: Redis refuses the group script before it runs ----
"$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" > "$H_DIR/oom.log" 2>&1 &
APPLY_PID=$!; h_register $APPLY_PID
h_wait_until 30 grep -q "connected to the redis-cluster target" "$H_DIR/oom.log" || h_die "the applier did not connect"
h_wait_until 60 same_as_db || h_die "the applier did not catch up"
for p in "${P[@]}"; do redis-cli -p "$p" config set maxmemory 1 > /dev/null; done
items 4001 4100
h_ingest "$J" || h_die "ingest"
t_check "at maxmemory the applier is refused (OOM)" h_wait_until 60 grep -q "OOM" "$H_DIR/oom.log"
new_items=0
for p in "${P[@]}"; do new_items=$((new_items + $(redis-cli -p "$p" --scan --pattern 'item:40[0-9][0-9]' | wc -l))); done
t_eq "... and nothing of the refused group is written" 0 "$new_items"
for p in "${P[@]}"; do redis-cli -p "$p" config set maxmemory 0 > /dev/null; done
t_check "below maxmemory again, the cache equals the database" h_wait_until 90 same_as_db
kill -TERM "$APPLY_PID"; wait "$APPLY_PID" 2>/dev/null

# ---- an ACL without EXISTS ----
for p in "${P[@]}"; do redis-cli -p "$p" acl setuser noexists on '>pw' '~*' '&*' '+@all' '-exists' > /dev/null; done
ACL_URL=${CLUSTER_URL/redis-cluster:\/\//redis-cluster://noexists:pw@}
conf acl "$ACL_URL" > "$H_DIR/acl.ini"
items 3001 3500
h_ingest "$J" || h_die "ingest"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/acl.ini" --once > "$H_DIR/a3.log" 2>&1
t_eq "with EXISTS refused, the catch-up exits 0" 0 "$?"
t_eq "it says once that the group script is refused" 1 "$(grep -c 'group script is refused' "$H_DIR/a3.log")"
t_check "the cache equals the database" same_as_db

# ---- a transaction in parts, chunked ----
# (6000 rows of 12000 bytes: the relay journals a transaction this large, 72 MB, in parts,
# and each part but the last goes out as an early chunk)
ROWS=6000
h_sql "CREATE TABLE app.big (id INT PRIMARY KEY, v MEDIUMTEXT NOT NULL); USE app; SET SESSION max_statement_time = 0;
  INSERT INTO app.big SELECT seq, REPEAT(CHAR(97 + seq % 26), 12000) FROM seq_1_to_$ROWS" || h_die "big"
h_ingest "$J" || h_die "ingest"
BIG=$(h_last_seq "$J")
{ conf sc "$CLUSTER_URL" $'max_atomic_ops = 50\n'; printf '[rule big]\ntable = app.big\nkey = big:{id}\nformat = column:v\n'; } > "$H_DIR/chunked.ini"
timeout 300 "$FL_BUILD/fl-apply" -c "$H_DIR/chunked.ini" --once > "$H_DIR/a2.log" 2>&1
t_eq "the chunked catch-up exits 0" 0 "$?"
t_check "it was chunked" grep -q "applied in chunks" "$H_DIR/a2.log"
big_keys=0
for p in "${P[@]}"; do big_keys=$((big_keys + $(redis-cli -p "$p" --scan --pattern 'big:*' | wc -l))); done
t_eq "every row of it is cached" "$ROWS" "$big_keys"
for p in "${P[@]}"; do
  redis-cli -p "$p" --scan --pattern 'fastlane:checkpoint:sc:*' > "$H_DIR/ck.$p"
  paste <(sed 's/^/CLUSTER KEYSLOT /' "$H_DIR/ck.$p" | redis-cli -p "$p") \
        <(sed 's/^/HGET /; s/$/ seq/' "$H_DIR/ck.$p" | redis-cli -p "$p")
done | sort -n > "$H_DIR/slot-seqs"
seq -f 'CLUSTER KEYSLOT big:%g' 1 "$ROWS" | redis-cli -p "${P[0]}" | sort -n | uniq > "$H_DIR/big-slots"
behind=$(awk -v big="$BIG" 'NR == FNR { seq[$1] = $2; next } !(($1 in seq) && seq[$1] >= big) { n++ } END { print n + 0 }' \
  "$H_DIR/slot-seqs" "$H_DIR/big-slots")
t_eq "every slot it wrote has its checkpoint at it, also those only its early chunks wrote" 0 "$behind"

t_done
