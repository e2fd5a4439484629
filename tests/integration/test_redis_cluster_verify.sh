#!/usr/bin/env bash
# test_redis_cluster_verify.sh — fl-apply --verify on a real Redis Cluster while a slot is
# half-way between two primaries (3 primaries and 3 replicas on loopback, then a fourth primary
# without slots that imports one): the slot is MIGRATING on its owner and IMPORTING on the new
# primary, and half of its keys were moved (MIGRATE). Verify must read each moved key where the
# owner sends readers (ASK: ASKING, then the read on the importing node) instead of reporting it
# stale or missing, look for extra keys on the importing primary too, and count a key both
# nodes hold (MIGRATE COPY) once, where a reader finds it.
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_redis_cluster
J=$H_DIR/journal
mkdir -p "$J"

ROWS=60
h_sql "CREATE DATABASE app; CREATE TABLE app.items (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL);
       CREATE TABLE app.tagged (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL);" || h_die "schema"
{
  echo "BEGIN;"
  for i in $(seq 1 300); do echo "INSERT INTO app.items VALUES ($i, 'v$i');"; done
  for i in $(seq 1 $ROWS); do echo "INSERT INTO app.tagged VALUES ($i, 't$i');"; done
  echo "COMMIT;"
} | h_sql_file /dev/stdin || h_die "rows"
{
  printf '[apply]\nname = ve\njournal = %s\ntarget = %s\n' "$J" "$CLUSTER_URL"
  printf '[rule items]\ntable = app.items\nkey = item:{id}\nformat = column:v\n'
  printf '[rule tagged]\ntable = app.tagged\nkey = {{t}}:row:{id}\nformat = column:v\n'
} > "$H_DIR/apply.ini"
{ cat "$H_DIR/apply.ini"; h_source_config; } > "$H_DIR/verify.ini"
h_ingest "$J" || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --once > "$H_DIR/apply.log" 2>&1
t_eq "the apply exits 0" 0 "$?"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/verify.ini" --verify > "$H_DIR/verify0.out" 2>&1
t_eq "--verify before anything moves: every key matches" 0 "$?"

# a fourth primary, without slots, imports the slot of {t}: half of its rows' keys moved there
h_add_cluster_primary N4
S=$(redis-cli -p "$N4" CLUSTER KEYSLOT '{t}')
FROM=$(h_cluster_owner '{t}:row:1') || h_die "no primary serves {t}"
# two keys no row accounts for (set before the slot is migrating: then a new key is sent on)
redis-cli -p "$FROM" SET '{t}:row:998' moved > /dev/null
redis-cli -p "$FROM" SET '{t}:row:999' copied > /dev/null
redis-cli -p "$N4" CLUSTER SETSLOT "$S" IMPORTING "$(redis-cli -p "$FROM" CLUSTER MYID)" > /dev/null
redis-cli -p "$FROM" CLUSTER SETSLOT "$S" MIGRATING "$(redis-cli -p "$N4" CLUSTER MYID)" > /dev/null
moved=0
for i in $(seq 1 2 $ROWS); do
  [ "$(redis-cli -p "$FROM" MIGRATE 127.0.0.1 "$N4" "{t}:row:$i" 0 5000)" = OK ] && moved=$((moved + 1))
done
t_eq "half of the slot's keys moved" $((ROWS / 2)) "$moved"
t_eq "... the others stay on the owner" $((ROWS / 2 + 2)) "$(redis-cli -p "$FROM" --scan --pattern '{t}:row:*' | wc -l)"
# of the two extra keys, one moves to the importing node, one is copied there (on both)
redis-cli -p "$FROM" MIGRATE 127.0.0.1 "$N4" '{t}:row:998' 0 5000 > /dev/null
redis-cli -p "$FROM" MIGRATE 127.0.0.1 "$N4" '{t}:row:999' 0 5000 COPY > /dev/null
t_eq "... one extra key on both nodes" "copied copied" \
  "$(redis-cli -p "$FROM" GET '{t}:row:999') $(printf 'ASKING\nGET {t}:row:999\n' | redis-cli -p "$N4" | tail -1)"

timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/verify.ini" --verify > "$H_DIR/verify1.out" 2>&1
t_eq "--verify while the slot is half-way: the extra keys differ" 1 "$?"
t_check "... every row's key matches, moved or not" grep -q "^matching *$((300 + ROWS))$" "$H_DIR/verify1.out"
t_check "... none stale" grep -q "^stale *0$" "$H_DIR/verify1.out"
t_check "... none missing" grep -q "^missing *0$" "$H_DIR/verify1.out"
t_check "... two extra keys, each counted once" grep -q "^extra *2$" "$H_DIR/verify1.out"
t_check "... the moved one (found on the importing primary)" grep -q "{t}:row:998" "$H_DIR/verify1.out"
t_eq "... and the copied one, once" 1 "$(grep -c '{t}:row:999' "$H_DIR/verify1.out")"

redis-cli -p "$FROM" DEL '{t}:row:999' > /dev/null
printf 'ASKING\nDEL {t}:row:998\nASKING\nDEL {t}:row:999\n' | redis-cli -p "$N4" > /dev/null
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/verify.ini" --verify > "$H_DIR/verify2.out" 2>&1
t_eq "--verify while the slot is half-way, without the extra keys: every key matches" 0 "$?"
t_check "... all of them" grep -q "^matching *$((300 + ROWS))$" "$H_DIR/verify2.out"

t_done
