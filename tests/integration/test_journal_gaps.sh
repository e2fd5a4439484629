#!/usr/bin/env bash
# test_journal_gaps.sh — a local applier and the holes a journal can have: retention purging
# transactions it has not applied yet (a loud stop, exit 1, nothing applied past the purge,
# the same refusal at the next start), a seq that was never used (an unfinished transaction
# removed at reopen: passed over, the cache ends equal to the database), and a journal
# replaced under its checkpoint (resumed by GTID, or a loud stop; never a wait for a seq).
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_redis
h_sql "CREATE DATABASE app; CREATE TABLE app.kv (id INT PRIMARY KEY, v VARCHAR(32), pad TEXT);
CREATE TABLE app.big (id INT PRIMARY KEY, pad TEXT);" || h_die "schema"

relay_config() { # JOURNAL [extra [journal] lines]
  h_source_config
  printf 'start = earliest\n[journal]\npath = %s\nsync = none\n%s\n' "$1" "${2:-}"
}
apply_config() { # NAME JOURNAL REDIS_DB
  h_source_config
  cat <<CFG
[apply]
name = $1
journal = $2
target = redis://127.0.0.1:$REDIS_PORT/$3
[rule kv]
table = app.kv
key = kv:{id}
format = column:v
CFG
}
jstat() { "$FL_BUILD/fl-dump" --stats "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }
checkpoint() { redis-cli -p "$REDIS_PORT" -n "$1" HGET "fastlane:checkpoint:$2" seq; }
# kv_cache DB / kv_db: "key<TAB>value" of every kv row, sorted
kv_cache() {
  local k
  for k in $(redis-cli -p "$REDIS_PORT" -n "$1" --scan --pattern 'kv:*' | LC_ALL=C sort); do
    printf '%s\t%s\n' "$k" "$(redis-cli -p "$REDIS_PORT" -n "$1" GET "$k")"
  done
}
kv_db() { h_sql "SELECT CONCAT('kv:', id), v FROM app.kv" | LC_ALL=C sort; }
start_relay() { # INI LOG
  "$FL_BUILD/fl-relay" -c "$1" >> "$2" 2>&1 &
  RELAY_PID=$!; h_register $RELAY_PID
}
stop_relay() { kill -TERM "$RELAY_PID"; wait "$RELAY_PID"; }
exited() { local st; st=$(ps -o stat= -p "$1"); [ -z "$st" ] || [[ $st == Z* ]]; } # gone, or a zombie
gtid_pos() { h_sql "SELECT @@gtid_binlog_pos"; }
journal_has_all() { # JOURNAL: the journal's last GTID is the server's
  [ "$("$FL_BUILD/fl-dump" --stats "$1" | sed -n 's/.*"last_gtid":"\([^"]*\)".*/\1/p')" = "$(gtid_pos)" ]
}

# ---- retention purges transactions a running applier has not applied yet ------------------
J1=$H_DIR/j1
relay_config "$J1" "max_size = 65536" > "$H_DIR/relay1.ini"
apply_config lag "$J1" 0 > "$H_DIR/lag.ini"
start_relay "$H_DIR/relay1.ini" "$H_DIR/relay1.log"
for i in $(seq 1 20); do echo "INSERT INTO app.kv VALUES ($i, 'a$i', '');"; done > "$H_DIR/w1.sql"
h_sql_file "$H_DIR/w1.sql" || h_die "workload 1"
h_wait_until 60 journal_has_all "$J1" || h_die "relay did not journal workload 1: $(tail -3 "$H_DIR/relay1.log")"
"$FL_BUILD/fl-apply" -c "$H_DIR/lag.ini" > "$H_DIR/lag.log" 2>&1 &
APPLY_PID=$!; h_register $APPLY_PID
t_check "the applier catches up" h_wait_until 60 bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET fastlane:checkpoint:lag seq)\" = $(jstat "$J1" last_seq) ]"
CP=$(checkpoint 0 lag)
kill -STOP "$APPLY_PID" # it lags from now on
for i in $(seq 21 220); do echo "INSERT INTO app.kv VALUES ($i, 'b$i', REPEAT('x', 2000));"; done > "$H_DIR/w2.sql"
h_sql_file "$H_DIR/w2.sql" || h_die "workload 2"
h_wait_until 60 journal_has_all "$J1" || h_die "relay did not journal workload 2"
stop_relay
start_relay "$H_DIR/relay1.ini" "$H_DIR/relay1.log" # retention runs when the relay starts
t_check "retention purges past the applier's checkpoint" \
  h_wait_until 60 bash -c "[ \"\$('$FL_BUILD/fl-dump' --stats '$J1' | sed -n 's/.*\"purged_seq\":\([0-9]*\).*/\1/p')\" -gt $((CP + 1)) ]"
HORIZON=$(jstat "$J1" purged_seq)
kill -CONT "$APPLY_PID"
if h_wait_until 60 exited "$APPLY_PID"; then wait "$APPLY_PID"; rc=$?; else rc=running; fi
t_eq "the lagging applier stops with exit 1" 1 "$rc"
t_check "... naming the seqs lost" grep -q "seqs $((CP + 1))\.\.$HORIZON were purged by retention before they were applied" "$H_DIR/lag.log"
t_eq "... its checkpoint stays before the purge" "$CP" "$(checkpoint 0 lag)"
t_eq "... nothing past the purge is applied" "0" "$(redis-cli -p "$REDIS_PORT" --scan --pattern 'kv:*' | awk -F: '$2 > 20' | wc -l)"
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/lag.ini" --once 2>&1); rc=$?
t_eq "started again: the same refusal, exit 1" 1 "$rc"
t_check "... with the same message" grep -q "seqs $((CP + 1))\.\.[0-9]* were purged by retention before they were applied" <<<"$out"
stop_relay

# ---- a seq that was never used (an unfinished transaction removed at reopen) -----------------
# Binlog files ingested by the relay: a big transaction (of a table without a rule) cut short
# by the end of a file leaves committed parts that the writer removes; its seq stays unused
# and the next file's transactions follow it.
J2=$H_DIR/j2
apply_config gap "$J2" 1 > "$H_DIR/gap.ini"
h_sql "FLUSH BINARY LOGS" || h_die "flush"
BIG=$(h_sql "SHOW MASTER STATUS" | cut -f1)
BEFORE=$(ls "$MARIADB_DIR"/data/bin.[0-9]* | LC_ALL=C sort | awk -v big="$MARIADB_DIR/data/$BIG" '$0 < big')
h_sql "INSERT INTO app.big SELECT seq, REPEAT('y', 1000) FROM app.seq_1_to_20000; FLUSH BINARY LOGS;" || h_die "big transaction"
h_sql "UPDATE app.kv SET v = 'after' WHERE id <= 5; INSERT INTO app.kv VALUES (500, 'after', ''); FLUSH BINARY LOGS;" || h_die "after"
AFTER=$(ls "$MARIADB_DIR"/data/bin.[0-9]* | LC_ALL=C sort | awk -v big="$MARIADB_DIR/data/$BIG" '$0 > big')
mkdir -p "$H_DIR/cut"
# cut at the first event boundary past three quarters of the file (well past the parts the
# relay commits before the transaction ends)
size=$(stat -c %s "$MARIADB_DIR/data/$BIG")
cut_at=$(mariadb-binlog "$MARIADB_DIR/data/$BIG" 2>/dev/null | sed -n 's/^# at \([0-9]*\)$/\1/p' | awk -v min=$((size * 3 / 4)) '$1 >= min {print; exit}')
[ -n "$cut_at" ] || h_die "no event boundary in $BIG"
head -c "$cut_at" "$MARIADB_DIR/data/$BIG" > "$H_DIR/cut/$BIG"
# shellcheck disable=SC2086
"$FL_BUILD/fl-relay" --journal "$J2" --binlog-file $BEFORE > "$H_DIR/ingest.log" 2>&1 || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/gap.ini" --once > "$H_DIR/gap.log" 2>&1 || h_die "apply before the gap"
K=$(checkpoint 1 gap)
# shellcheck disable=SC2086
"$FL_BUILD/fl-relay" --journal "$J2" --binlog-file "$H_DIR/cut/$BIG" $AFTER >> "$H_DIR/ingest.log" 2>&1 || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
t_check "the cut transaction's parts are removed" grep -q "removed unfinished transaction seq $((K + 1))" "$H_DIR/ingest.log"
t_eq "the journal has a gap right after the checkpoint" "$((K + 2))" \
  "$("$FL_BUILD/fl-dump" --from-seq "$((K + 1))" --limit 1 "$J2" | sed -n '1s/^seq \([0-9]*\) .*/\1/p')"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/gap.ini" --once >> "$H_DIR/gap.log" 2>&1; rc=$?
t_eq "the applier passes over the gap (exit 0)" 0 "$rc"
t_eq "... and applies what follows it" "$(jstat "$J2" last_seq)" "$(checkpoint 1 gap)"
t_eq "the cache equals the database" "$(kv_db | md5sum)" "$(kv_cache 1 | md5sum)"

t_done
