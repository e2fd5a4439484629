#!/usr/bin/env bash
# test_redis_lease.sh — one applier per name on a single Redis (DESIGN R6, C4's lease).
# 1. A second applier with the same name while the first runs stops by itself (exit 1, one
#    clear line) without ending the first one's connection; the first keeps applying.
# 2. An applier started right after the first was killed (SIGKILL) takes its lease over at once.
# 3. A frozen applier (SIGSTOP) holds its name while its lease lasts; once it lapsed another
#    takes over and ends its connection, and the frozen one, woken, stops without moving the
#    checkpoint or writing anything.
# 4. The ACL: a user without the lease's key is told once and applies as before; a user with
#    the lease but without CLIENT LIST waits a killed run's lease out, then takes over.
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_redis
J=$H_DIR/journal
mkdir -p "$J"
ingest() { h_ingest "$J"; }
last_seq() { h_last_seq "$J"; }
NAME=ls
checkpoint() { h_redis HGET "fastlane:checkpoint:$NAME" seq; }
at_head() { [ "$(checkpoint)" = "$(last_seq)" ]; }
item_is() { [ "$(h_redis GET "item:$1")" = "$2" ]; }
lease() { h_redis GET "fastlane:applier:$NAME"; }
lease_lapsed() { [ -z "$(lease)" ]; }
connected_count() { grep -c "connected to the redis target" "$1"; }
not_grep() { ! grep -q "$@"; }
stopped() { ! kill -0 "$1" 2>/dev/null; }
db_state() { h_sql "SELECT CONCAT('item:', id), v FROM app.items" | LC_ALL=C sort; }
cache_state() {
  h_redis --scan --pattern 'item:*' | LC_ALL=C sort > "$H_DIR/keys"
  sed 's/^/GET /' "$H_DIR/keys" | h_redis > "$H_DIR/vals"
  paste "$H_DIR/keys" "$H_DIR/vals"
}
update() { # ID VALUE: one transaction, journaled
  h_sql "UPDATE app.items SET v = '$2' WHERE id = $1" || h_die "update"
  ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
}
config() { # NAME URL
  printf '[apply]\nname = %s\njournal = %s\ntarget = %s\n' "$1" "$J" "$2"
  printf '[rule items]\ntable = app.items\nkey = item:{id}\nformat = column:v\n'
}

h_sql "CREATE DATABASE app; CREATE TABLE app.items (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL);" || h_die "schema"
{
  echo "BEGIN;"
  for i in $(seq 1 300); do echo "INSERT INTO app.items VALUES ($i, 'v$i');"; done
  echo "COMMIT;"
} | h_sql_file /dev/stdin || h_die "rows"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
config "$NAME" "redis://127.0.0.1:$REDIS_PORT/0" > "$H_DIR/apply.ini"

# ---- 1. a second applier of the same name stops ----
"$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" > "$H_DIR/a.log" 2>&1 &
A=$!; h_register $A
h_wait_until 60 at_head || h_die "the first applier did not apply: $(tail -3 "$H_DIR/a.log")"
t_check "the first applier holds the lease" test -n "$(lease)"
timeout 30 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" > "$H_DIR/b.log" 2>&1
rc=$?
t_eq "a second applier of the same name stops by itself with status 1" 1 "$rc"
t_check "... saying another applier of that name runs" grep -q "another applier named $NAME is running on this Redis" "$H_DIR/b.log"
t_eq "... in one line" 1 "$(grep -c "another applier named" "$H_DIR/b.log")"
t_check "... and never connected to write" not_grep "connected to the redis target" "$H_DIR/b.log"
t_check "... nor ended the first one's connection" not_grep "ended this applier's previous connection" "$H_DIR/b.log"
t_check "the first applier still runs" kill -0 "$A"
update 2 w2
t_check "... and applies" h_wait_until 60 item_is 2 w2
t_check "... up to the journal's head" h_wait_until 60 at_head
t_eq "... on the connection it had (it never reconnected)" 1 "$(connected_count "$H_DIR/a.log")"

# ---- 2. a restart after SIGKILL takes over at once ----
TOKEN_A=$(lease)
kill -KILL "$A"; wait "$A" 2>/dev/null
t_eq "the killed applier's lease is still there" "$TOKEN_A" "$(lease)"
update 3 w3
timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --once > "$H_DIR/c.log" 2>&1
t_eq "an applier started right after the first was killed applies (--once)" 0 "$?"
t_check "... taking the lease over from the killed run, not waiting for it to lapse" \
  grep -q "took the lease fastlane:applier:$NAME over from run $TOKEN_A" "$H_DIR/c.log"
t_check "... and gives the lease up at its clean exit" lease_lapsed
t_check "... having applied" item_is 3 w3

# ---- 3. a frozen applier ----
"$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" > "$H_DIR/d.log" 2>&1 &
D=$!; h_register $D
h_wait_until 60 grep -q "connected to the redis target" "$H_DIR/d.log" || h_die "no connect: $(tail -3 "$H_DIR/d.log")"
update 4 w4
h_wait_until 60 at_head || h_die "the applier did not apply: $(tail -3 "$H_DIR/d.log")"
kill -STOP "$D"
timeout 30 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" > "$H_DIR/e1.log" 2>&1
t_eq "an applier started while one of that name is frozen (its lease lasting) stops with status 1" 1 "$?"
t_check "... saying so" grep -q "another applier named $NAME is running" "$H_DIR/e1.log"
h_wait_until 40 lease_lapsed || h_die "the frozen applier's lease did not lapse"
"$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" > "$H_DIR/e.log" 2>&1 &
E=$!; h_register $E
h_wait_until 60 grep -q "connected to the redis target" "$H_DIR/e.log" || h_die "no connect: $(tail -3 "$H_DIR/e.log")"
t_check "once its lease lapsed, a new applier takes over, ending the frozen one's connection" \
  grep -q "ended this applier's previous connection" "$H_DIR/e.log"
# what the frozen one has not applied yet, and would write if it could
update 5 w5
update 5 w6
t_check "the new applier applies" h_wait_until 60 item_is 5 w6
h_wait_until 60 at_head || h_die "the new applier did not reach the head"
h_redis HGETALL "fastlane:checkpoint:$NAME" > "$H_DIR/cp.before"
h_redis MONITOR > "$H_DIR/monitor.log" 2>&1 &
MON=$!; h_register $MON
h_wait_until 10 test -s "$H_DIR/monitor.log" || h_die "MONITOR did not start"
kill -CONT "$D"
t_check "the frozen applier, woken, stops by itself" h_wait_until 60 stopped "$D"
kill -KILL "$D" 2>/dev/null # (when it did not)
wait "$D"
t_eq "... with status 1" 1 "$?"
t_check "... saying another applier of that name runs" grep -q "another applier named $NAME is running" "$H_DIR/d.log"
t_eq "... without connecting again" 1 "$(connected_count "$H_DIR/d.log")"
kill "$MON"; wait "$MON" 2>/dev/null
h_redis HGETALL "fastlane:checkpoint:$NAME" > "$H_DIR/cp.after"
t_eq "... the checkpoint unmoved (seq, chain, client)" "$(cat "$H_DIR/cp.before")" "$(cat "$H_DIR/cp.after")"
# the lease's own renewal (EVAL, and the SET inside it) aside, nobody wrote meanwhile
writes=$(grep -E '"(MULTI|EXEC|SET|MSET|DEL|HSET|EVALSHA|EXPIRE)"' "$H_DIR/monitor.log" | grep -v "fastlane:applier:$NAME")
t_eq "... and nothing was written" "" "$writes"
t_check "the new applier still runs" kill -0 "$E"
update 6 w7
t_check "... and applies" h_wait_until 60 item_is 6 w7
kill -TERM "$E"; wait "$E"
db_state > "$H_DIR/db.tsv"; cache_state > "$H_DIR/cache.tsv"
t_eq "every row equals its key" "" "$(diff "$H_DIR/db.tsv" "$H_DIR/cache.tsv" | head -5)"

# ---- 4. the ACL ----
# a user with the README's rights before the lease: no key fastlane:applier:*, no GET
h_redis ACL SETUSER old on '>old-pw' resetkeys '~item:*' "~fastlane:checkpoint:$NAME" resetchannels -@all \
  +multi +exec +set +mset +del +hset +hget +hgetall +exists +expire +scan +eval +evalsha '+script|load' \
  '+client|setname' '+client|id' +select > /dev/null || h_die "ACL SETUSER old"
config "$NAME" "redis://old:old-pw@127.0.0.1:$REDIS_PORT/0" > "$H_DIR/old.ini"
"$FL_BUILD/fl-apply" -c "$H_DIR/old.ini" > "$H_DIR/old.log" 2>&1 &
O=$!; h_register $O
h_wait_until 60 grep -q "connected to the redis target" "$H_DIR/old.log" || h_die "no connect: $(tail -3 "$H_DIR/old.log")"
t_check "an applier whose ACL refuses the lease says so" grep -q "the ACL refuses the lease fastlane:applier:$NAME" "$H_DIR/old.log"
update 7 w8
t_check "... and applies as before" h_wait_until 60 item_is 7 w8
h_redis CLIENT KILL USER old > /dev/null # a reconnection claims again
h_wait_until 60 bash -c "[ \$(grep -c 'connected to the redis target' '$H_DIR/old.log') -ge 2 ]" \
  || h_die "no reconnection: $(tail -3 "$H_DIR/old.log")"
update 8 w9
t_check "... also after reconnecting" h_wait_until 60 item_is 8 w9
t_eq "... having said it once" 1 "$(grep -c "the ACL refuses the lease" "$H_DIR/old.log")"
kill -TERM "$O"; wait "$O"

# a user with the lease but without CLIENT LIST or KILL (the README's ACL)
h_redis ACL SETUSER old "~fastlane:applier:$NAME" "(~fastlane:applier:$NAME" "+get)" > /dev/null || h_die "ACL SETUSER old: the lease"
"$FL_BUILD/fl-apply" -c "$H_DIR/old.ini" > "$H_DIR/f.log" 2>&1 &
F=$!; h_register $F
h_wait_until 60 grep -q "connected to the redis target" "$H_DIR/f.log" || h_die "no connect: $(tail -3 "$H_DIR/f.log")"
t_check "with the lease in the ACL it is held" test -n "$(lease)"
t_check "... without a word about the ACL" not_grep "the ACL refuses the lease" "$H_DIR/f.log"
kill -KILL "$F"; wait "$F" 2>/dev/null
update 9 w10
"$FL_BUILD/fl-apply" -c "$H_DIR/old.ini" > "$H_DIR/g.log" 2>&1 &
G=$!; h_register $G
t_check "without CLIENT LIST a killed run's lease is waited out" \
  h_wait_until 30 grep -q "cannot be told without CLIENT LIST: waiting until its lease lapses" "$H_DIR/g.log"
t_check "... then the applier takes over and applies" h_wait_until 90 item_is 9 w10
kill -TERM "$G"; wait "$G"
t_check "... and gives the lease up at its clean exit" lease_lapsed
timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/old.ini" --once > "$H_DIR/h.log" 2>&1
t_eq "so the next run starts at once" 0 "$?"
t_check "... without waiting" not_grep "waiting until its lease lapses" "$H_DIR/h.log"

t_done
