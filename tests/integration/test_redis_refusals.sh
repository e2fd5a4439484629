#!/usr/bin/env bash
# test_redis_refusals.sh — Redis refuses some transactions while many are pipelined: nothing is
# skipped. An ACL user lacking one rule's key pattern, and a row too large for maxmemory: the
# applier stops at the first refused transaction, keeps saying why (with a metric), and once
# the operator fixes Redis it applies everything: every key equals the database and the
# checkpoint is exact, and keys the pipeline wrote ahead of the refused transaction never
# move back while it resumes (the range up to the last transaction sent is folded). Refused
# in a group of transactions, the group's transactions are then retried one by one, so the
# refused one is found and the checkpoint stops right before it. Also: a transaction above
# max_atomic_ops whose early chunk is refused.
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_redis
J=$H_DIR/journal
mkdir -p "$J"

ingest() { h_ingest "$J"; }
last_seq() { h_last_seq "$J"; }
# seq_of_first TABLE (of database app): the journal seq of the first transaction that changes TABLE
seq_of_first() { "$FL_BUILD/fl-dump" --json "$J" | grep -m1 "\"db\":\"app\",\"table\":\"$1\"" | sed -n 's/^{"seq":\([0-9]*\),.*/\1/p'; }
rdb() { redis-cli -p "$REDIS_PORT" -n "$DB" "$@"; }
checkpoint() { rdb HGET "fastlane:checkpoint:$NAME" seq; }
# cache_rows PREFIX: "key<TAB>value" of every key with that prefix, sorted
cache_rows() { local k; for k in $(rdb --scan --pattern "$1*" | LC_ALL=C sort); do printf '%s\t%s\n' "$k" "$(rdb GET "$k")"; done; }
db_rows() { h_sql "SELECT CONCAT('$2', id), n FROM app.$1 ORDER BY 1" | LC_ALL=C sort; }
metric() { # NAME: its value on the applier's metrics port
  local out
  out=$(exec 3<>"/dev/tcp/127.0.0.1/$METRICS_PORT" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && timeout 5 cat <&3)
  sed -n "s/^$1 //p" <<<"$out"
}
config() { # NAME URL [extra [apply] lines]
  h_source_config
  printf '[apply]\nname = %s\njournal = %s\ntarget = %s\n%s\n' "$1" "$J" "$2" "${3:-}"
  printf '[metrics]\napply = 127.0.0.1:%s\n' "$METRICS_PORT"
  printf '[rule a]\ntable = app.a\nkey = a:{id}\nformat = column:n\n'
  printf '[rule b]\ntable = app.b\nkey = b:{id}\nformat = column:n\n'
  printf '[rule big]\ntable = app.big\nkey = big:{id}\nformat = column:v\n'
}

h_sql "CREATE DATABASE app; CREATE TABLE app.a (id INT PRIMARY KEY, n INT);
CREATE TABLE app.b (id INT PRIMARY KEY, n INT); CREATE TABLE app.big (id INT PRIMARY KEY, v LONGTEXT);" || h_die "schema"

# ---- an ACL user without the key pattern of rule b: every other transaction is refused -------
{
  for i in $(seq 1 100); do
    echo "INSERT INTO app.b VALUES ($i, $i); INSERT INTO app.a VALUES ($i, $i); UPDATE app.a SET n = n + 1000 WHERE id = $i;"
  done
  for i in $(seq 1 100); do echo "UPDATE app.b SET n = n + 1000 WHERE id = $i;"; done
} > "$H_DIR/w1.sql"
h_sql_file "$H_DIR/w1.sql" || h_die "workload"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
first_b=$(seq_of_first b)
h_redis ACL SETUSER applier on '>pw' '~a:*' '~fastlane:*' '+@all' >/dev/null
NAME=acl DB=1 METRICS_PORT=$(h_free_port)
# groups of at most 2 operations: many are pipelined behind the refused one, and some of
# them (two a:* writes) are applied while the checkpoint cannot move
config acl "redis://applier:pw@127.0.0.1:$REDIS_PORT/1" "max_atomic_ops = 2" > "$H_DIR/acl.ini"
"$FL_BUILD/fl-apply" -c "$H_DIR/acl.ini" > "$H_DIR/acl.log" 2>&1 &
APPLY_PID=$!; h_register $APPLY_PID
t_check "NOPERM: the refusal is logged with Redis's own words and the fix" \
  h_wait_until 30 grep -q "NOPERM.*grant the ACL user" "$H_DIR/acl.log"
t_check "... and retried with a growing backoff" h_wait_until 30 bash -c "[ \$(grep -c 'NOPERM' '$H_DIR/acl.log') -ge 4 ]"
cp=$(checkpoint)
t_check "NOPERM: the checkpoint stops right before a transaction that writes b:* ($cp)" \
  grep -q '"table":"b"' <<<"$("$FL_BUILD/fl-dump" --json --from-seq $(( ${cp:-0} + 1 )) --limit 1 "$J")"
t_check "... at or after the first one" test "${cp:-0}" -ge $(( first_b - 1 )) -a "${cp:-0}" -lt "$(last_seq)"
t_check "NOPERM: counted in a metric" test "$(metric fastlane_apply_target_errors_total)" -ge 3
t_check "NOPERM: the applier keeps running" kill -0 "$APPLY_PID"
# keys the pipeline wrote ahead of the refused transaction (a:* updates) must not be set back
# to their inserted values while it resumes: MONITOR sees every command
redis-cli -p "$REDIS_PORT" MONITOR > "$H_DIR/monitor" 2>&1 &
MONITOR_PID=$!; h_register $MONITOR_PID
h_wait_until 10 test -s "$H_DIR/monitor"
ahead=$(cache_rows a: | awk -F'\t' '$2 > 1000' | wc -l)
t_check "NOPERM: a:* keys written ahead of the refused transaction ($ahead, updated values)" test "$ahead" -gt 0
h_redis ACL SETUSER applier '~b:*' >/dev/null
t_check "ACL fixed: the applier catches up" h_wait_until 60 bash -c "[ \"\$(redis-cli -p $REDIS_PORT -n 1 HGET fastlane:checkpoint:acl seq)\" = $(last_seq) ]"
kill "$MONITOR_PID"; wait "$MONITOR_PID" 2>/dev/null
t_eq "ACL fixed: no key written ahead of the refusal was set back while resuming" 0 \
  "$(grep 'SET" ' "$H_DIR/monitor" | grep -c '"a:[0-9]*" "[0-9]\{1,3\}"\( \|$\)')"
t_eq "ACL fixed: every a:* key" "$(db_rows a a:)" "$(cache_rows a:)"
t_eq "ACL fixed: every b:* key (nothing skipped)" "$(db_rows b b:)" "$(cache_rows b:)"
kill -TERM "$APPLY_PID"; wait "$APPLY_PID"; rc=$?
t_eq "SIGTERM after recovery: exit 0" 0 "$rc"

# ---- a row too large for maxmemory, between small transactions ---------------------------------
h_sql "INSERT INTO app.a VALUES (1001, 1); INSERT INTO app.big VALUES (1, REPEAT('x', 3000000));
INSERT INTO app.a VALUES (1002, 2); INSERT INTO app.b VALUES (1002, 2);" || h_die "big row"
ingest || h_die "ingest"
first_big=$(seq_of_first big)
NAME=oom DB=2 METRICS_PORT=$(h_free_port)
config oom "redis://127.0.0.1:$REDIS_PORT/2" > "$H_DIR/oom.ini"
used=$(h_redis INFO memory | tr -d '\r' | sed -n 's/^used_memory://p')
h_redis CONFIG SET maxmemory $(( used + 1500000 )) >/dev/null
"$FL_BUILD/fl-apply" -c "$H_DIR/oom.ini" > "$H_DIR/oom.log" 2>&1 &
APPLY_PID=$!; h_register $APPLY_PID
t_check "OOM: the refusal is logged with the fix" h_wait_until 30 grep -q "OOM.*raise maxmemory" "$H_DIR/oom.log"
t_check "... and retried" h_wait_until 30 bash -c "[ \$(grep -c 'OOM' '$H_DIR/oom.log') -ge 3 ]"
t_eq "OOM: the checkpoint stops right before the large row" "$(( first_big - 1 ))" "$(checkpoint)"
t_eq "OOM: the large row is not in Redis" "0" "$(rdb EXISTS big:1)"
t_check "OOM: counted in a metric" test "$(metric fastlane_apply_target_errors_total)" -ge 2
h_redis CONFIG SET maxmemory 0 >/dev/null
t_check "maxmemory raised: the applier catches up" h_wait_until 60 bash -c "[ \"\$(redis-cli -p $REDIS_PORT -n 2 HGET fastlane:checkpoint:oom seq)\" = $(last_seq) ]"
t_eq "maxmemory raised: every a:* key" "$(db_rows a a:)" "$(cache_rows a:)"
t_eq "maxmemory raised: every b:* key" "$(db_rows b b:)" "$(cache_rows b:)"
t_eq "maxmemory raised: the large row" "3000000" "$(rdb STRLEN big:1)"
kill -TERM "$APPLY_PID"; wait "$APPLY_PID"

# ---- a chunked transaction whose first chunk is refused ----------------------------------------
h_sql "BEGIN; $(for i in $(seq 2001 2030); do printf 'INSERT INTO app.b VALUES (%d, %d); ' $i $i; done)
$(for i in $(seq 2001 2030); do printf 'INSERT INTO app.a VALUES (%d, %d); ' $i $i; done) COMMIT;
INSERT INTO app.a VALUES (3001, 1);" || h_die "chunked"
ingest || h_die "ingest"
chunked_seq=$(( $(last_seq) - 1 ))
NAME=chunk DB=3 METRICS_PORT=$(h_free_port)
h_redis ACL SETUSER chunker on '>pw' '~a:*' '~fastlane:*' '+@all' >/dev/null
config chunk "redis://chunker:pw@127.0.0.1:$REDIS_PORT/3" "max_atomic_ops = 10" > "$H_DIR/chunk.ini"
"$FL_BUILD/fl-apply" -c "$H_DIR/chunk.ini" --from-seq "$chunked_seq" > "$H_DIR/chunk.log" 2>&1 &
APPLY_PID=$!; h_register $APPLY_PID
t_check "chunked: the refused first chunk is logged" h_wait_until 30 bash -c "[ \$(grep -c 'NOPERM' '$H_DIR/chunk.log') -ge 3 ]"
t_eq "chunked: nothing after the refused chunk is checkpointed" "" "$(checkpoint)"
h_redis ACL SETUSER chunker '~b:*' >/dev/null
t_check "chunked: ACL fixed, caught up" h_wait_until 60 bash -c "[ \"\$(redis-cli -p $REDIS_PORT -n 3 HGET fastlane:checkpoint:chunk seq)\" = $(last_seq) ]"
t_eq "chunked: every b:* key of the transaction" "$(h_sql "SELECT CONCAT('b:', id), n FROM app.b WHERE id > 2000" | LC_ALL=C sort)" "$(cache_rows b:)"
t_eq "chunked: every a:* key after it" "$(h_sql "SELECT CONCAT('a:', id), n FROM app.a WHERE id > 2000" | LC_ALL=C sort)" "$(cache_rows a:)"
kill -TERM "$APPLY_PID"; wait "$APPLY_PID"

t_done
