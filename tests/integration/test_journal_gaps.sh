#!/usr/bin/env bash
# test_journal_gaps.sh — a local applier and the holes a journal can have: retention purging
# transactions it has not applied yet (a loud stop, exit 1, nothing applied past the purge,
# the same refusal at the next start), a seq that was never used (an unfinished transaction
# removed at reopen: passed over, the cache ends equal to the database), and a journal
# replaced under its checkpoint (resumed by GTID, or a loud stop; never a wait for a seq).
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_redis
h_start_memcached
h_sql "CREATE DATABASE app; CREATE TABLE app.kv (id INT PRIMARY KEY, v VARCHAR(32), pad TEXT);
CREATE TABLE app.big (id INT PRIMARY KEY, pad TEXT);" || h_die "schema"

relay_config() { # JOURNAL [extra [journal] lines] [start]
  h_source_config
  printf 'start = %s\n[journal]\npath = %s\nsync = none\n%s\n' "${3:-earliest}" "$1" "${2:-}"
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
# and the next file's transactions follow it. 50 MB of rows: its first part (32 MiB of
# decoded rows) is committed well before the cut at three quarters of the file.
J2=$H_DIR/j2
apply_config gap "$J2" 1 > "$H_DIR/gap.ini"
h_sql "FLUSH BINARY LOGS" || h_die "flush"
BIG=$(h_sql "SHOW MASTER STATUS" | cut -f1)
BEFORE=$(ls "$MARIADB_DIR"/data/bin.[0-9]* | LC_ALL=C sort | awk -v big="$MARIADB_DIR/data/$BIG" '$0 < big')
h_sql "INSERT INTO app.big SELECT seq, REPEAT('y', 1000) FROM app.seq_1_to_50000; FLUSH BINARY LOGS;" || h_die "big transaction"
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

# ---- the journal replaced under the applier's checkpoint ------------------------------------
# The relay's journal is moved away and a new one started where it was. Its seqs start again
# at 1: the checkpoint's seq means nothing there, only its GTID does.
identity_of() { "$FL_BUILD/fl-dump" --stats "$1" | sed -n 's/.*"identity":"\([0-9a-f]*\)".*/\1/p'; }
has_identity() { [ -n "$(identity_of "$1" 2>/dev/null)" ]; }
J3=$H_DIR/j3
FEED_PORT=$(h_free_port)
FEED=$(printf '[feed]\nlisten = 127.0.0.1:%s\nsecret = feed-secret-0123456789' "$FEED_PORT")
relay_config "$J3" "$FEED" > "$H_DIR/relay3.ini"
relay_config "$J3" "$FEED" current > "$H_DIR/relay3-current.ini"
apply_config repl "$J3" 2 > "$H_DIR/repl.ini"
# an applier reading the relay's feed
sed "s#^journal = .*#relay = 127.0.0.1:$FEED_PORT\nsecret = feed-secret-0123456789#; s#^target = \(.*\)/2\$#target = \1/4#" \
  "$H_DIR/repl.ini" > "$H_DIR/rrepl.ini"
sed "s#^target = .*#target = memcached://127.0.0.1:$MEMCACHED_PORT\ncheckpoint_path = $H_DIR/mrepl.checkpoint#" \
  "$H_DIR/repl.ini" > "$H_DIR/mrepl.ini"
h_sql "FLUSH BINARY LOGS" || h_die "flush"
h_sql "PURGE BINARY LOGS TO '$(h_sql "SHOW MASTER STATUS" | cut -f1)'" || h_die "purge binlogs"
start_relay "$H_DIR/relay3.ini" "$H_DIR/relay3.log"
h_sql "UPDATE app.kv SET v = '1.00' WHERE id = 7; FLUSH BINARY LOGS; UPDATE app.kv SET v = '2.00' WHERE id = 7;" || h_die "workload 3"
h_wait_until 60 journal_has_all "$J3" || h_die "relay did not journal workload 3"
OLD_ID=$(identity_of "$J3")
# the cache starts as a copy of the database, then follows the journal
kv_db | while IFS=$'\t' read -r k v; do
  for db in 2 3 4 5; do redis-cli -p "$REDIS_PORT" -n $db SET "$k" "$v" >/dev/null; done
done
apply_config live "$J3" 3 > "$H_DIR/live.ini"
sed "s#/4\$#/5#" "$H_DIR/rrepl.ini" > "$H_DIR/rlive.ini"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/repl.ini" --once > "$H_DIR/repl.log" 2>&1 || h_die "apply to the first journal"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/mrepl.ini" --once > "$H_DIR/mrepl.log" 2>&1 || h_die "apply to memcached"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/rrepl.ini" --once > "$H_DIR/rrepl.log" 2>&1 || h_die "apply through the feed"
t_eq "through the feed: the checkpoint names the relay's journal" "$OLD_ID" "$(redis-cli -p "$REDIS_PORT" -n 4 HGET fastlane:checkpoint:repl journal)"
t_check "memcached: the checkpoint file names the journal" grep -qx "journal $OLD_ID" "$H_DIR/mrepl.checkpoint"
t_eq "first journal: kv:7 is 2.00" "2.00" "$(redis-cli -p "$REDIS_PORT" -n 2 GET kv:7)"
t_eq "the checkpoint names its journal" "$OLD_ID" "$(redis-cli -p "$REDIS_PORT" -n 2 HGET fastlane:checkpoint:repl journal)"
CP_GTID=$(redis-cli -p "$REDIS_PORT" -n 2 HGET fastlane:checkpoint:repl gtid)
# an applier that keeps running while its journal is replaced
"$FL_BUILD/fl-apply" -c "$H_DIR/live.ini" > "$H_DIR/live.log" 2>&1 &
LIVE_PID=$!; h_register $LIVE_PID
"$FL_BUILD/fl-apply" -c "$H_DIR/rlive.ini" > "$H_DIR/rlive.log" 2>&1 &
RLIVE_PID=$!; h_register $RLIVE_PID
h_wait_until 60 bash -c "[ \"\$(redis-cli -p $REDIS_PORT -n 5 HGET fastlane:checkpoint:repl seq)\" = $(jstat "$J3" last_seq) ]" \
  || h_die "the running applier on the feed did not catch up"
h_wait_until 60 bash -c "[ \"\$(redis-cli -p $REDIS_PORT -n 3 HGET fastlane:checkpoint:live seq)\" = $(jstat "$J3" last_seq) ]" \
  || h_die "the running applier did not catch up"
stop_relay
mv "$J3" "$H_DIR/j3.first"
# the first binlog file is gone: the new journal starts later, its seqs are others
h_sql "PURGE BINARY LOGS TO '$(h_sql "SHOW BINARY LOGS" | cut -f1 | sed -n 2p)'" || h_die "purge binlogs"
start_relay "$H_DIR/relay3.ini" "$H_DIR/relay3.log"
h_sql "UPDATE app.kv SET v = '222.00' WHERE id = 7;" || h_die "workload 4"
h_wait_until 60 journal_has_all "$J3" || h_die "relay did not journal workload 4"
NEW_ID=$(identity_of "$J3")
t_check "the new journal has another identity" test -n "$NEW_ID" -a "$NEW_ID" != "$OLD_ID"
t_check "fl-dump --relay --stats shows the relay's journal identity" grep -q "\"identity\":\"$NEW_ID\"" \
  <<<"$("$FL_BUILD/fl-dump" --relay "127.0.0.1:$FEED_PORT" --secret feed-secret-0123456789 --stats 2>&1)"
status=$("$FL_BUILD/fl-apply" -c "$H_DIR/repl.ini" --status 2>&1)
t_check "--status: the checkpoint belongs to another journal, whose GTID it finds" \
  grep -q "^checkpoint: seq [0-9]*, gtid $CP_GTID, .*journal $OLD_ID (another journal; its GTID is seq [0-9]* in this one" <<<"$status"
t_check "--status: the journal's identity" grep -q "^journal: .*identity $NEW_ID\$" <<<"$status"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/repl.ini" --once >> "$H_DIR/repl.log" 2>&1; rc=$?
t_eq "replaced journal holding the checkpoint's GTID: resumed (exit 0)" 0 "$rc"
t_check "... by GTID, saying so" grep -q "belongs to journal $OLD_ID, this is journal $NEW_ID; its GTID is seq [0-9]* here: resuming right after it" "$H_DIR/repl.log"
t_eq "... kv:7 is 222.00" "222.00" "$(redis-cli -p "$REDIS_PORT" -n 2 GET kv:7)"
t_eq "... the cache equals the database" "$(kv_db | md5sum)" "$(kv_cache 2 | md5sum)"
t_eq "... the checkpoint now names the new journal" "$NEW_ID" "$(redis-cli -p "$REDIS_PORT" -n 2 HGET fastlane:checkpoint:repl journal)"
t_check "--status: the checkpoint belongs to this journal" grep -q "journal $NEW_ID (this journal)" <<<"$("$FL_BUILD/fl-apply" -c "$H_DIR/repl.ini" --status 2>&1)"
t_check "the running applier moves to the new journal" \
  h_wait_until 60 bash -c "[ \"\$(redis-cli -p $REDIS_PORT -n 3 GET kv:7)\" = 222.00 ]"
t_check "... saying the journal was replaced" grep -q "journal $J3 was replaced" "$H_DIR/live.log"
t_check "... resuming by GTID" grep -q "belongs to journal $OLD_ID, this is journal $NEW_ID; its GTID is seq" "$H_DIR/live.log"
t_eq "... its cache equals the database" "$(kv_db | md5sum)" "$(kv_cache 3 | md5sum)"
t_check "the running applier on the feed moves to the new journal" \
  h_wait_until 60 bash -c "[ \"\$(redis-cli -p $REDIS_PORT -n 5 GET kv:7)\" = 222.00 ]"
t_check "... saying the relay serves another journal" grep -q "now serves journal $NEW_ID, not $OLD_ID" "$H_DIR/rlive.log"
t_eq "... its cache equals the database" "$(kv_db | md5sum)" "$(kv_cache 5 | md5sum)"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/rrepl.ini" --once >> "$H_DIR/rrepl.log" 2>&1; rc=$?
t_eq "through the feed: resumed by GTID in the replaced journal (exit 0)" 0 "$rc"
t_check "... saying so" grep -q "belongs to journal $OLD_ID, this is journal $NEW_ID; its GTID is seq [0-9]* here" "$H_DIR/rrepl.log"
t_eq "... the cache equals the database" "$(kv_db | md5sum)" "$(kv_cache 4 | md5sum)"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/mrepl.ini" --once >> "$H_DIR/mrepl.log" 2>&1; rc=$?
t_eq "memcached: resumed by GTID in the replaced journal (exit 0)" 0 "$rc"
t_check "... saying so" grep -q "belongs to journal $OLD_ID, this is journal $NEW_ID; its GTID is seq [0-9]* here" "$H_DIR/mrepl.log"
t_eq "... kv:7 is 222.00" "222.00" "$(h_mc_get kv:7)"
t_check "... the checkpoint file names the new journal" grep -qx "journal $NEW_ID" "$H_DIR/mrepl.checkpoint"

# replaced again, by a journal that starts at the source's current position: the
# checkpoint's GTID is not in it
stop_relay
mv "$J3" "$H_DIR/j3.second"
start_relay "$H_DIR/relay3-current.ini" "$H_DIR/relay3.log"
h_wait_until 60 has_identity "$J3" || h_die "relay did not create the third journal"
h_sql "UPDATE app.kv SET v = '333.00' WHERE id = 7; UPDATE app.kv SET v = 'c' WHERE id = 8;" || h_die "workload 5"
h_wait_until 60 journal_has_all "$J3" || h_die "relay did not journal workload 5"
THIRD_ID=$(identity_of "$J3")
if h_wait_until 60 exited "$LIVE_PID"; then wait "$LIVE_PID"; rc=$?; else rc=running; fi
t_eq "the running applier meets the third journal, which lacks its GTID: exit 1" 1 "$rc"
t_check "... naming both journals" grep -q "belongs to journal $NEW_ID, this is journal $THIRD_ID .*that GTID is not in it" "$H_DIR/live.log"
if h_wait_until 60 exited "$RLIVE_PID"; then wait "$RLIVE_PID"; rc=$?; else rc=running; fi
t_eq "the running applier on the feed meets the third journal: exit 1" 1 "$rc"
CP_GTID=$(redis-cli -p "$REDIS_PORT" -n 2 HGET fastlane:checkpoint:repl gtid)
"$FL_BUILD/fl-apply" -c "$H_DIR/repl.ini" > "$H_DIR/repl3.log" 2>&1 &
APPLY_PID=$!; h_register $APPLY_PID
if h_wait_until 60 exited "$APPLY_PID"; then wait "$APPLY_PID"; rc=$?; else rc=running; fi
t_eq "replaced journal without the checkpoint's GTID: the applier stops with exit 1 (never waits)" 1 "$rc"
t_check "... saying whose checkpoint it is and what to do" \
  grep -q "belongs to journal $NEW_ID, this is journal $THIRD_ID .*that GTID is not in it.*--from-gtid/--from-seq.*flush the cache" "$H_DIR/repl3.log"
t_check "... naming the GTID" grep -q "gtid $CP_GTID" "$H_DIR/repl3.log"
t_eq "... nothing applied" "222.00" "$(redis-cli -p "$REDIS_PORT" -n 2 GET kv:7)"
t_check "--status: another journal, which does not hold the GTID" \
  grep -q "journal $NEW_ID (another journal, which does not hold its GTID: fl-apply rebuilds the cache from the journal's snapshots, or stops)" <<<"$("$FL_BUILD/fl-apply" -c "$H_DIR/repl.ini" --status 2>&1)"
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/rrepl.ini" 2>&1); rc=$?
t_eq "through the feed: the same refusal (exit 1)" 1 "$rc"
t_check "... naming both journals" grep -q "belongs to journal $NEW_ID, this is journal $THIRD_ID .*that GTID is not in it" <<<"$out"
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/mrepl.ini" 2>&1); rc=$?
t_eq "memcached: the same refusal (exit 1)" 1 "$rc"
t_check "... naming both journals" grep -q "belongs to journal $NEW_ID, this is journal $THIRD_ID .*that GTID is not in it" <<<"$out"
t_eq "... nothing applied" "222.00" "$(h_mc_get kv:7)"
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/mrepl.ini" --from-seq 1 --once >> "$H_DIR/mrepl.log" 2>&1; rc=$?
t_eq "memcached: --from-seq 1 applies the new journal" "0 333.00 c" "$rc $(h_mc_get kv:7) $(h_mc_get kv:8)"
# the cache held everything up to the moment the third journal starts: apply all of it
timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/repl.ini" --from-seq 1 --once >> "$H_DIR/repl3.log" 2>&1; rc=$?
t_eq "--from-seq 1 applies the new journal (exit 0)" 0 "$rc"
t_eq "... the cache equals the database" "$(kv_db | md5sum)" "$(kv_cache 2 | md5sum)"
stop_relay

t_done
