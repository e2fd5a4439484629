#!/usr/bin/env bash
# test_feed_gaps.sh — a remote applier crosses the gaps a journal's numbering can have and
# starts on a journal whose oldest transactions retention removed:
#   - a large transaction cut short (its committed parts are removed when the journal is
#     reopened) leaves a seq that never completes: journal seqs ..., N-1, N+1, ...; an applier
#     streaming over it, and one restarting right before it, both go on;
#   - a new applier (no checkpoint) on a journal whose oldest transactions retention removed
#     cannot rebuild the cache there (the relay snapshots no table) and stops saying so; with
#     rebuild = no it starts from the journal's first transaction and says so;
#   - an applier whose checkpoint retention purged is stopped with the purge named.
source "$(dirname "$0")/../harness.sh"

h_start_mariadb --max-allowed-packet=64M
h_start_redis

# ---- a binlog: small transactions, one of ~60 MB (parts of 32 MiB when ingested), more -------
h_sql "CREATE DATABASE app; CREATE TABLE app.kv (id INT PRIMARY KEY, v LONGTEXT);"
for i in 1 2 3; do h_sql "INSERT INTO app.kv VALUES ($i, 'small$i');"; done
{
  echo "BEGIN;"
  for i in $(seq 100 159); do echo "INSERT INTO app.kv VALUES ($i, REPEAT('b', 1000000));"; done
  echo "COMMIT;"
} > "$H_DIR/big.sql"
h_sql_file "$H_DIR/big.sql" || h_die "the large transaction failed"
for i in 4 5; do h_sql "INSERT INTO app.kv VALUES ($i, 'small$i');"; done
h_sql "FLUSH BINARY LOGS;"
BINLOG=$MARIADB_DIR/data/bin.000001
size=$(stat -c %s "$BINLOG")
[ "$size" -gt 60000000 ] || h_die "binlog is only $size bytes"

# ---- the journal, as a relay restarting in the middle of the large transaction writes it: the ----
# ---- binlog cut at an event boundary inside it (more than one part committed), then the whole ----
# ---- binlog in the same run: the unfinished seq is removed and the transaction journaled again ----
cut=$(h_sql "SHOW BINLOG EVENTS IN 'bin.000001'" | awk -v lim=$((size * 8 / 10)) '$2 > lim { print $2; exit }')
[ -n "$cut" ] || h_die "no event boundary found in the binlog"
head -c "$cut" "$BINLOG" > "$H_DIR/cut.000001"
"$FL_BUILD/fl-relay" --journal "$H_DIR/journal" --binlog-file "$H_DIR/cut.000001" "$BINLOG" >"$H_DIR/ingest.log" 2>&1 \
  || h_die "ingest failed: $(tail -3 "$H_DIR/ingest.log")"
t_check "the cut-short transaction's parts were committed, then removed" \
  grep -q "removed unfinished transaction" "$H_DIR/ingest.log"
seqs=$("$FL_BUILD/fl-dump" --json "$H_DIR/journal" | sed 's/^{"seq":\([0-9]*\),.*/\1/' | tr '\n' ' ')
gap_seq=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) != $i + 1) { print $i + 1; exit } }' <<<"$seqs")
h_log "journal seqs: $seqs"
t_check "the journal's numbering has a gap (seq ${gap_seq:-none} missing)" test -n "$gap_seq"
rules=$'[rule kv]\ntable = app.kv\nkey = kv:{id}\nformat = column:v\n'

h_start_feed_relay
remote_config() { # NAME
  printf '[apply]\nname = %s\nrelay = 127.0.0.1:%s\nsecret_file = %s\ntarget = redis://127.0.0.1:%s/0\n%s' \
    "$1" "$FEED_PORT" "$H_DIR/feed.secret" "$REDIS_PORT" "$rules"
}
remote_config gaps > "$H_DIR/remote.ini"
remote_config fresh > "$H_DIR/fresh.ini"
remote_config late > "$H_DIR/late.ini"
sed 's/^\[apply\]$/[apply]\nrebuild = no/' "$H_DIR/late.ini" > "$H_DIR/late-norebuild.ini"
last_seq() { h_last_seq "$H_DIR/journal"; }

# ---- restarting right before the gap (asking for the missing seq) ---------------------------
out=$(timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/remote.ini" --once --from-seq "$gap_seq" 2>&1); rc=$?
t_eq "remote applier asking for the missing seq exits 0" 0 "$rc"
[ "$rc" = 0 ] || h_log "$(tail -3 <<<"$out")"
t_eq "it applied past the gap (checkpoint at the journal's last seq)" "$(last_seq)" "$(h_redis HGET fastlane:checkpoint:gaps seq)"
t_eq "the large transaction arrived whole" 1000000 "$(h_redis STRLEN kv:159)"
t_eq "transactions after the gap arrived" small5 "$(h_redis GET kv:5)"

# ---- streaming over the gap from the start -----------------------------------------------------
out=$(timeout 120 "$FL_BUILD/fl-apply" -c "$H_DIR/fresh.ini" --once 2>&1); rc=$?
t_eq "a new remote applier streams over the gap and exits 0" 0 "$rc"
t_eq "it reached the journal's last seq" "$(last_seq)" "$(h_redis HGET fastlane:checkpoint:fresh seq)"
t_check "the relay never called the gap a purge" bash -c "! grep -q purged '$H_DIR/relay.log'"

# ---- retention: the journal's first seq above 1 -------------------------------------------------
kill -TERM "$RELAY_PID"; wait "$RELAY_PID"
sleep 1
h_start_feed_relay $'retain = 1s\n'
first_seq() { "$FL_BUILD/fl-dump" --stats "$H_DIR/journal" | sed 's/.*"first_seq":\([0-9]*\).*/\1/'; }
t_check "retention removed the oldest transactions" h_wait_until 20 bash -c "[ \$('$FL_BUILD/fl-dump' --stats '$H_DIR/journal' | sed 's/.*\"first_seq\":\([0-9]*\).*/\1/') -gt 1 ]"
first=$(first_seq)
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/late.ini" --once 2>&1); rc=$?
t_check "a new remote applier on a journal starting at seq $first cannot rebuild: non-zero exit" test "$rc" -ne 0 -a "$rc" -ne 124
t_check "it says why" grep -q "it cannot be rebuilt: .*app.kv is not in the relay's \[snapshot\] tables" <<<"$out"
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/late-norebuild.ini" --once 2>&1); rc=$?
t_eq "with rebuild = no it exits 0" 0 "$rc"
[ "$rc" = 0 ] || h_log "$(tail -3 <<<"$out")"
t_check "it says it starts from the journal's first transaction" grep -q "journal's first transaction, seq $first" <<<"$out"
t_eq "it applied up to the journal's last seq" "$(last_seq)" "$(h_redis HGET fastlane:checkpoint:late seq)"

# ---- a checkpoint retention purged is still a clear stop ---------------------------------------
h_redis HSET fastlane:checkpoint:gaps seq 1 >/dev/null
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/remote.ini" --once 2>&1); rc=$?
t_check "an applier whose checkpoint was purged exits non-zero" test "$rc" -ne 0 -a "$rc" -ne 124
t_check "it names the purge" grep -qi "purged" <<<"$out"
t_done
