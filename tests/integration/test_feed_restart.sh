#!/usr/bin/env bash
# test_feed_restart.sh — a relay SIGKILLed and started again at once finds its old feed
# process (told to end by its parent's death) still holding the [feed] listen port: the new
# relay waits for the port instead of exiting "Address already in use", then serves.
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_sql "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY); INSERT INTO app.t VALUES (1)" || h_die "schema"
FEED_PORT=$(h_free_port)
SECRET=$(openssl rand -hex 32)
mkdir -p "$H_DIR/journal"
{ h_source_config; cat <<CFG
start = earliest
[journal]
path = $H_DIR/journal
[feed]
listen = 127.0.0.1:$FEED_PORT
secret = $SECRET
CFG
} > "$H_DIR/relay.ini"
feed_pid_in() { sed -n 's/.*feed: listening on .* (process \([0-9]*\)).*/\1/p' "$1" | tail -1; }

"$FL_BUILD/fl-relay" -c "$H_DIR/relay.ini" 2>"$H_DIR/relay1.log" & R1=$!; h_register $R1
h_wait_until 20 grep -q "feed: listening" "$H_DIR/relay1.log" || h_die "the first relay's feed did not start"
OLD_FEED=$(feed_pid_in "$H_DIR/relay1.log"); h_register "$OLD_FEED"
# Hold the old feed process still so that it cannot end before the new relay binds.
kill -STOP "$OLD_FEED"
kill -KILL "$R1"; wait "$R1" 2>/dev/null
"$FL_BUILD/fl-relay" -c "$H_DIR/relay.ini" 2>"$H_DIR/relay2.log" & R2=$!; h_register $R2
t_check "the new relay waits for the port" h_wait_until 10 grep -q "is still taken" "$H_DIR/relay2.log"
sleep 1
t_check "... without exiting" kill -0 "$R2"
kill -CONT "$OLD_FEED"
t_check "the old feed process ends" h_wait_until 10 bash -c "! kill -0 $OLD_FEED 2>/dev/null"
t_check "the new relay's feed then listens" h_wait_until 15 grep -q "feed: listening" "$H_DIR/relay2.log"
printf '%s\n' "$SECRET" > "$H_DIR/secret"; chmod 600 "$H_DIR/secret"
out=$(timeout 30 "$FL_BUILD/fl-dump" --relay "127.0.0.1:$FEED_PORT" --secret-file "$H_DIR/secret" --limit 1 2>&1); rc=$?
t_eq "the new feed serves" 0 "$rc"
t_check "... the journal" grep -q "^seq 1 " <<<"$out"
t_done
