#!/usr/bin/env bash
# test_feed_large_row.sh — whatever the journal holds crosses the feed: a single row of
# 110 MiB (one record part larger than any fixed frame size the feed used to allow) reaches
# Redis through a remote applier, byte for byte, followed by the transactions after it.
source "$(dirname "$0")/../harness.sh"

h_start_mariadb --max-allowed-packet=512M
h_start_redis
h_sql "CREATE DATABASE app; CREATE TABLE app.blobs (id INT PRIMARY KEY, b LONGBLOB);"

h_start_feed_relay

size=$((110 * 1024 * 1024))
h_sql "INSERT INTO app.blobs VALUES (1, 'small before');"
h_sql "INSERT INTO app.blobs VALUES (2, REPEAT('z', $size));" || h_die "the large row was refused"
h_sql "INSERT INTO app.blobs VALUES (3, 'small after');"
last_seq() { h_last_seq "$H_DIR/journal"; }
t_check "the relay journaled the large row" h_wait_until 120 bash -c "[ \"\$('$FL_BUILD/fl-dump' --stats '$H_DIR/journal' | sed 's/.*\"count\":\([0-9]*\).*/\1/')\" -ge 3 ]"

printf '[apply]\nname = big\nrelay = 127.0.0.1:%s\nsecret_file = %s\ntarget = redis://127.0.0.1:%s/0\n[rule blobs]\ntable = app.blobs\nkey = blob:{id}\nformat = column:b\n' \
  "$FEED_PORT" "$H_DIR/feed.secret" "$REDIS_PORT" > "$H_DIR/apply.ini"
out=$(timeout 300 "$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" --once 2>&1); rc=$?
t_eq "remote applier exits 0" 0 "$rc"
[ "$rc" = 0 ] || h_log "$(tail -3 <<<"$out")"
t_eq "the large row arrived whole" "$size" "$(h_redis STRLEN blob:2)"
t_eq "its bytes are the row's" "$(h_sql "SELECT MD5(b) FROM app.blobs WHERE id = 2")" \
  "$(h_redis --raw GET blob:2 | head -c "$size" | md5sum | cut -d' ' -f1)"
t_eq "the row after it arrived" "small after" "$(h_redis GET blob:3)"
t_eq "the checkpoint is the journal's last seq" "$(last_seq)" "$(h_redis HGET fastlane:checkpoint:big seq)"
t_done
