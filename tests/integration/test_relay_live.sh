#!/usr/bin/env bash
# test_relay_live.sh — fl-relay replicating from a live MariaDB into the journal:
#   a mixed workload (inserts, updates, deletes, multi-statement transactions, DDL in the middle,
#   a rollback) is journaled with exactly the server's GTIDs, in order, and row values that
#   rebuild the table; metrics count it; restarts resume exactly; a server restart, a silent
#   server (SIGSTOP) and a failover to a GTID replica lose and duplicate nothing; SIGKILL at
#   random moments under load loses and duplicates nothing; a 1M-row transaction streams in
#   parts under 64 MB RSS; retention; start = current / earliest / gtid: / file:; systemd
#   notifications; wrong password, unreachable server, purged binlogs and binlog off give clear
#   errors; --check reports each misconfiguration with its fix, and privileges beyond need;
#   column names come from information_schema when the binlog has none (refreshed after DDL
#   and server restarts); every ssl_mode against a TLS server; an ed25519 user.
source "$(dirname "$0")/../harness.sh"

RELAY=$FL_BUILD/fl-relay
DUMP=$FL_BUILD/fl-dump
[ -x "$RELAY" ] && [ -x "$DUMP" ] || h_die "build fl-relay and fl-dump first (FL_BUILD=$FL_BUILD)"

h_start_mariadb

# relay_config NAME START [extra [source] lines]: writes $H_DIR/NAME.ini with journal $H_DIR/NAME
relay_config() {
  local name=$1 start=$2; shift 2
  {
    h_source_config
    echo "start = $start"
    echo "heartbeat = 1"
    for l in "$@"; do echo "$l"; done
    echo "[journal]"
    echo "path = $H_DIR/$name"
  } > "$H_DIR/$name.ini"
  mkdir -p "$H_DIR/$name"
}

# relay_start NAME: runs the relay in the background; sets RELAY_PID
relay_start() {
  "$RELAY" -c "$H_DIR/$1.ini" >>"$H_DIR/$1.log" 2>&1 &
  RELAY_PID=$!
  h_register $RELAY_PID
}
relay_stop() { kill -TERM "$RELAY_PID" 2>/dev/null; wait "$RELAY_PID" 2>/dev/null; }

journal_gtids() { h_journal_gtids "$H_DIR/$1"; }
# wait_caught_up NAME [SECONDS]: the journal's last GTID is the server's position now
wait_caught_up() {
  local want; want=$(h_server_gtid_pos)
  h_wait_until "${2:-30}" h_journal_reached "$H_DIR/$1" "$want"
}

# ---- 1. mixed workload, start = earliest --------------------------------------------------
relay_config mixed earliest
METRICS_PORT=$(h_free_port)
printf '[metrics]\nlisten = 127.0.0.1:%s\n' "$METRICS_PORT" >> "$H_DIR/mixed.ini"
relay_start mixed
h_sql "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(40), n DECIMAL(10,2))"
for i in $(seq 1 30); do h_sql "INSERT INTO app.t VALUES ($i, 'v$i', $i.25)"; done
h_sql "BEGIN; UPDATE app.t SET v = 'upd' WHERE id <= 5; DELETE FROM app.t WHERE id = 6; INSERT INTO app.t VALUES (100, 'multi', 1.5); COMMIT"
h_sql "BEGIN; INSERT INTO app.t VALUES (999, 'rolled-back', 0); UPDATE app.t SET v = 'rolled-back' WHERE id = 1; ROLLBACK"
h_sql "ALTER TABLE app.t ADD COLUMN extra INT NULL"
h_sql "INSERT INTO app.t VALUES (200, 'after-ddl', 2.5, 7); UPDATE app.t SET extra = 3 WHERE id = 2; DELETE FROM app.t WHERE id BETWEEN 20 AND 25"
h_sql "BEGIN; INSERT INTO app.t VALUES (300, 'a', 1, NULL); INSERT INTO app.t VALUES (301, 'b', 2, NULL); UPDATE app.t SET n = n + 1 WHERE id = 300; COMMIT"
h_sql "CREATE TABLE app.other (k VARCHAR(10) PRIMARY KEY, x INT); INSERT INTO app.other VALUES ('a', 1)"
t_check "mixed: journal catches up with the server" wait_caught_up mixed
t_eq "mixed: journal GTIDs equal the server's binlog GTIDs, in order" "$(h_binlog_gtids)" "$(journal_gtids mixed)"
t_check "mixed: the rolled-back transaction is not journaled" \
  bash -c "! '$DUMP' '$H_DIR/mixed' --json | grep -q rolled-back"
t_check "mixed: DDL journaled" bash -c "'$DUMP' '$H_DIR/mixed' --json | grep -q 'ADD COLUMN extra'"
t_check "mixed: row changes carry their statement (ANNOTATE_ROWS asked for)" \
  bash -c "'$DUMP' '$H_DIR/mixed' --json | grep -q '\"query\":\"INSERT INTO app.t VALUES (300, '"
# rebuild app.t from the journal's row changes and compare with the table
rebuilt=$("$DUMP" "$H_DIR/mixed" --json | python3 -c '
import json, sys
rows = {}
for line in sys.stdin:
    for c in json.loads(line)["changes"]:
        if c.get("table") != "t": continue
        if c["op"] in ("insert", "update"):
            if c["op"] == "update": rows.pop(c["before"]["id"], None)
            rows[c["after"]["id"]] = c["after"]
        elif c["op"] == "delete":
            rows.pop(c["before"]["id"], None)
for k in sorted(rows):
    r = rows[k]
    print("%s\t%s\t%s\t%s" % (r["id"], r["v"], r["n"], "NULL" if r.get("extra") is None else r["extra"]))
')
t_eq "mixed: row values from the journal rebuild the table" \
  "$(h_sql "SELECT id, v, n, IFNULL(extra, 'NULL') FROM app.t ORDER BY id")" "$rebuilt"
metrics=$(curl -s "http://127.0.0.1:$METRICS_PORT/metrics")
t_eq "mixed: metrics count the journaled transactions" "$(journal_gtids mixed | wc -l)" \
  "$(awk '/^fastlane_relay_transactions_total/ { print $2 }' <<<"$metrics")"
last_seq=$("$DUMP" "$H_DIR/mixed" --stats | grep -o '"last_seq":[0-9]*' | cut -d: -f2)
t_check "mixed: metrics show the journal's last seq as a number" grep -qx "fastlane_relay_journal_last_seq $last_seq" <<<"$metrics"
t_check "mixed: metrics say the source is connected" grep -qx "fastlane_relay_source_connected 1" <<<"$metrics"
t_check "mixed: metrics name the build" grep -q "^fastlane_relay_build_info{version=\"" <<<"$metrics"
t_check "mixed: no metric label carries a GTID" bash -c '! grep -q "gtid=" <<<"$1"' _ "$metrics"
relay_stop
t_eq "mixed: SIGTERM exits 0" "0" "$(wait "$RELAY_PID"; echo $?)"
t_check "mixed: log says where it started" grep -q "replicating from .* at bin.000001:4" "$H_DIR/mixed.log"

# ---- 2. restart resumes after the last journaled transaction --------------------------------
h_sql "INSERT INTO app.t VALUES (400, 'while-stopped', 0, NULL)"
relay_start mixed
t_check "resume: catches up after a restart" wait_caught_up mixed
t_eq "resume: no GTID missing or duplicated" "$(h_binlog_gtids)" "$(journal_gtids mixed)"
t_check "resume: log says it resumed from the journal" grep -q "the journal's position" "$H_DIR/mixed.log"

# ---- 3. server restarted mid-stream --------------------------------------------------------
h_sql "INSERT INTO app.t VALUES (500, 'before-restart', 0, NULL)"
h_stop_mariadb
h_mariadb_run
h_sql "INSERT INTO app.t VALUES (501, 'after-restart', 0, NULL)"
t_check "server restart: the relay reconnects and catches up" wait_caught_up mixed 60
t_eq "server restart: nothing lost or duplicated" "$(h_binlog_gtids)" "$(journal_gtids mixed)"
t_check "server restart: the log tells about the reconnect" grep -qi "reconnect" "$H_DIR/mixed.log"

# a server that stops answering (no events, no heartbeats) is left and reconnected to
kill -STOP "$MARIADB_PID"
h_wait_until 15 grep -q "no event or heartbeat" "$H_DIR/mixed.log"
t_check "silence: more than twice the heartbeat without a packet is noticed" \
  grep -q "no event or heartbeat" "$H_DIR/mixed.log"
kill -CONT "$MARIADB_PID"
h_sql "INSERT INTO app.t VALUES (502, 'after-silence', 0, NULL)"
t_check "silence: reconnects and catches up" wait_caught_up mixed 60
t_eq "silence: nothing lost or duplicated" "$(h_binlog_gtids)" "$(journal_gtids mixed)"
relay_stop

# ---- 3b. failover: the same journal continues from a replica with the GTID set ------------------
B_DIR=$H_DIR/mariadb-b; B_PORT=$(h_free_port); B_SOCK=$B_DIR/mysqld.sock
mkdir -p "$B_DIR/data" "$B_DIR/tmp"
mariadb-install-db --no-defaults --datadir="$B_DIR/data" --user="$(id -un)" \
  --auth-root-authentication-method=normal --skip-test-db >"$B_DIR/install.log" 2>&1 \
  || h_die "mariadb-install-db (replica) failed: $(tail -3 "$B_DIR/install.log")"
"$(command -v mariadbd || echo /usr/sbin/mariadbd)" --no-defaults --user="$(id -un)" \
  --datadir="$B_DIR/data" --tmpdir="$B_DIR/tmp" --socket="$B_SOCK" --port="$B_PORT" \
  --bind-address=127.0.0.1 --log-error="$B_DIR/error.log" --server-id=2 \
  --log-bin="$B_DIR/data/bin" --log-slave-updates --binlog-format=ROW --binlog-row-image=FULL \
  --binlog-row-metadata=FULL --innodb-buffer-pool-size=32M --skip-name-resolve >/dev/null 2>&1 &
B_PID=$!; h_register $B_PID
h_wait_until 60 mariadb-admin --no-defaults -uroot -S "$B_SOCK" ping || h_die "replica did not start"
b_sql() { mariadb --no-defaults -uroot -S "$B_SOCK" -N -B -e "$*"; }
b_sql "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$MARIADB_PORT, MASTER_USER='root', MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos; START SLAVE"
h_sql "INSERT INTO app.t VALUES (503, 'before-failover', 0, NULL)"
want=$(h_server_gtid_pos)
t_check "failover: the replica follows the primary" \
  h_wait_until 60 bash -c "[ \"\$(mariadb --no-defaults -uroot -S '$B_SOCK' -N -e 'SELECT @@gtid_binlog_pos')\" = '$want' ]"
sed "s/^port =.*/port = $B_PORT/" "$H_DIR/mixed.ini" > "$H_DIR/failover.ini"
"$RELAY" -c "$H_DIR/failover.ini" >>"$H_DIR/failover.log" 2>&1 &
RELAY_PID=$!; h_register $RELAY_PID
h_sql "INSERT INTO app.t VALUES (504, 'after-failover', 0, NULL)"
want=$(h_server_gtid_pos)
t_check "failover: the journal continues from the replica" \
  h_wait_until 60 bash -c "[ \"\$('$DUMP' '$H_DIR/mixed' --stats | grep -o '\"last_gtid\":\"[^\"]*\"' | cut -d'\"' -f4)\" = '$want' ]"
t_eq "failover: no GTID missing or duplicated across servers" "$(h_binlog_gtids)" "$(journal_gtids mixed)"
t_check "failover: the log names the GTID position it resumed from" \
  grep -q "replicating from .* after GTIDs .* (the journal's position)" "$H_DIR/failover.log"
relay_stop
kill -TERM "$B_PID"; wait "$B_PID" 2>/dev/null

# ---- 4. SIGKILL at random moments under load ------------------------------------------------
relay_config crash earliest
h_sql "CREATE TABLE app.load (id INT AUTO_INCREMENT PRIMARY KEY, v INT)"
( for i in $(seq 1 400); do
    if [ $((i % 7)) = 0 ]; then
      h_sql "BEGIN; INSERT INTO app.load (v) VALUES ($i); INSERT INTO app.load (v) VALUES ($i); UPDATE app.load SET v = v + 1 WHERE id = 1; COMMIT"
    else
      h_sql "INSERT INTO app.load (v) VALUES ($i)"
    fi
  done ) &
LOAD_PID=$!
for k in 1 2 3 4 5; do
  relay_start crash
  sleep "0.$((RANDOM % 9 + 1))"
  kill -KILL "$RELAY_PID" 2>/dev/null; wait "$RELAY_PID" 2>/dev/null
done
wait "$LOAD_PID"
relay_start crash
t_check "crash: catches up after 5 SIGKILLs under load" wait_caught_up crash 60
t_eq "crash: journal GTIDs equal the server's, none missing or duplicated" \
  "$(h_binlog_gtids)" "$(journal_gtids crash)"
t_eq "crash: no GTID appears twice" "" "$(journal_gtids crash | sort | uniq -d)"
relay_stop

# retention: with retain = 1s everything but the last transaction goes at the next start
printf 'retain = 1s\n' >> "$H_DIR/crash.ini"
sleep 2
relay_start crash
h_wait_until 20 grep -q "journal retention: removed" "$H_DIR/crash.log"
t_check "retention: old transactions are removed" grep -q "journal retention: removed" "$H_DIR/crash.log"
t_check "retention: the last transaction stays" bash -c "'$DUMP' '$H_DIR/crash' --stats | grep -q '\"count\":1,'"
relay_stop

# ---- 4b. a 1M-row transaction is streamed in parts with bounded memory ----------------------
relay_config big current
relay_start big
h_wait_until 20 grep -q "replicating from" "$H_DIR/big.log"
h_sql "CREATE TABLE app.big (id INT PRIMARY KEY, pad VARCHAR(200))"
pre_big=$(h_server_gtid_pos)
h_sql "INSERT INTO app.big SELECT seq, REPEAT('x', 150) FROM app.seq_1_to_1000000"
t_check "big: a 1M-row transaction is journaled" wait_caught_up big 120
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$RELAY_PID/status")
if nm "$RELAY" 2>/dev/null | grep -q __asan_init; then
  h_log "big: sanitizer build, peak RSS ${hwm} kB not held to the 64 MB bound"
else
  t_check "big: relay peak RSS ${hwm} kB stays under 64 MB" test "$hwm" -lt 65536
fi
t_eq "big: every row is in the journal" "1000000" \
  "$("$DUMP" "$H_DIR/big" --gtid "$(h_server_gtid_pos)" --json | tr '{' '\n' | grep -c '^"op":"insert"')"
relay_stop

# cut the big transaction's stream: SIGKILL the relay, then kill the server, while it streams
big_gtid=$(h_server_gtid_pos)
relay_config bigcut "gtid:$pre_big"
relay_start bigcut
sleep "0.$((RANDOM % 5 + 3))"
kill -KILL "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
relay_start bigcut
sleep "0.$((RANDOM % 5 + 3))"
kill -KILL "$MARIADB_PID"; wait "$MARIADB_PID" 2>/dev/null
h_mariadb_run
t_check "bigcut: catches up after a relay crash and a server crash mid-transaction" \
  wait_caught_up bigcut 120
t_eq "bigcut: the big transaction is journaled once" "$big_gtid" "$(journal_gtids bigcut)"
t_eq "bigcut: with every row exactly once" "1000000" \
  "$("$DUMP" "$H_DIR/bigcut" --json | tr '{' '\n' | grep -c '^"op":"insert"')"
relay_stop

# ---- 5. start positions --------------------------------------------------------------------
relay_config cur current
before=$(h_server_gtid_pos)
relay_start cur
h_wait_until 20 grep -q "replicating from" "$H_DIR/cur.log"
h_sql "INSERT INTO app.t VALUES (600, 'current', 0, NULL)"
t_check "start=current: catches up" wait_caught_up cur
t_eq "start=current: only the transaction after the start" "$(h_server_gtid_pos)" "$(journal_gtids cur)"
relay_stop
t_check "start=current: nothing from before ($before)" bash -c "! '$DUMP' '$H_DIR/cur' --json | grep -q '\"gtid\":\"$before\"'"

# the resolved start is kept: stopped before any transaction, a restart continues there
relay_config idle current
relay_start idle
h_wait_until 20 grep -q "replicating from" "$H_DIR/idle.log"
sleep 1
relay_stop
h_sql "INSERT INTO app.t VALUES (601, 'while-idle-relay-stopped', 0, NULL)"
relay_start idle
t_check "start=current: a restart before any transaction catches up" wait_caught_up idle
t_eq "start=current: the transaction made while stopped is kept" "$(h_server_gtid_pos)" "$(journal_gtids idle)"
t_check "start=current: the restart resumed from the journal" grep -q "the journal's position" "$H_DIR/idle.log"
relay_stop

# include/exclude: an excluded table's transaction keeps its GTID with no row changes
h_sql "CREATE TABLE app.secret (id INT PRIMARY KEY, pin INT)"
relay_config filt current "exclude = app.secret"
before_f=$(h_server_gtid_pos)
relay_start filt
h_wait_until 20 grep -q "replicating from" "$H_DIR/filt.log"
h_sql "INSERT INTO app.secret VALUES (1, 1234)"
h_sql "INSERT INTO app.t VALUES (602, 'filtered-run', 0, NULL)"
t_check "filter: catches up" wait_caught_up filt
t_eq "filter: every GTID is journaled, the excluded one too" \
  "$(h_binlog_gtids | sed -n "/^$before_f\$/,\$p" | sed 1d)" "$(journal_gtids filt)"
t_check "filter: no row of the excluded table" bash -c "! '$DUMP' '$H_DIR/filt' --json | grep -q 1234"
t_check "filter: rows of other tables are there" bash -c "'$DUMP' '$H_DIR/filt' --json | grep -q filtered-run"
relay_stop

mid=$(h_binlog_gtids | sed -n 10p)
relay_config fromgtid "gtid:$mid"
relay_start fromgtid
t_check "start=gtid: catches up" wait_caught_up fromgtid
t_eq "start=gtid: starts right after the given GTID" "$(h_binlog_gtids | sed -n '11,$p')" "$(journal_gtids fromgtid)"
relay_stop

h_sql "FLUSH BINARY LOGS"
read -r f p < <(h_sql "SHOW MASTER STATUS" | cut -f1,2)
h_sql "INSERT INTO app.t VALUES (700, 'file-pos', 0, NULL)"
relay_config frompos "file:$f:$p"
relay_start frompos
t_check "start=file:pos: catches up" wait_caught_up frompos
t_eq "start=file:pos: only the transaction after $f:$p" "$(h_server_gtid_pos)" "$(journal_gtids frompos)"
relay_stop

# ---- 5b. systemd notifications: READY, STATUS, WATCHDOG --------------------------------------
python3 - "$H_DIR/notify.sock" "$H_DIR/notify.txt" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.5)
end = time.time() + 15
with open(sys.argv[2], "a") as out:
    while time.time() < end:
        try:
            out.write(s.recv(4096).decode() + "\n")
            out.flush()
        except socket.timeout:
            pass
PY
NOTIFY_PID=$!
h_register $NOTIFY_PID
h_wait_until 10 test -S "$H_DIR/notify.sock"
relay_config notify current
NOTIFY_SOCKET=$H_DIR/notify.sock WATCHDOG_USEC=1000000 "$RELAY" -c "$H_DIR/notify.ini" >"$H_DIR/notify.log" 2>&1 &
RELAY_PID=$!; h_register $RELAY_PID
h_wait_until 10 grep -q "READY=1" "$H_DIR/notify.txt"
t_check "systemd: READY=1 sent" grep -q "READY=1" "$H_DIR/notify.txt"
h_wait_until 10 grep -q "STATUS=replicating" "$H_DIR/notify.txt"
t_check "systemd: STATUS tells the position" grep -q "STATUS=replicating" "$H_DIR/notify.txt"
sleep 2.2
t_check "systemd: WATCHDOG=1 more often than the watchdog period while idle" \
  test "$(grep -c "WATCHDOG=1" "$H_DIR/notify.txt")" -ge 3
relay_stop
t_check "systemd: STOPPING=1 at exit" grep -q "STOPPING=1" "$H_DIR/notify.txt"

# ---- 6. errors -----------------------------------------------------------------------------
relay_config badpw current
sed -i 's/^password =.*/password = wrong-password/' "$H_DIR/badpw.ini"
timeout 20 "$RELAY" -c "$H_DIR/badpw.ini" >"$H_DIR/badpw.out" 2>&1
rc=$?
t_check "wrong password: non-zero exit without retrying" bash -c "[ $rc -ne 0 ] && [ $rc -ne 124 ]"
t_check "wrong password: says access denied" grep -q "Access denied" "$H_DIR/badpw.out"

relay_config unreach current
sed -i "s/^port =.*/port = $(h_free_port)/" "$H_DIR/unreach.ini"
timeout 20 "$RELAY" -c "$H_DIR/unreach.ini" --check >"$H_DIR/unreach.out" 2>&1
rc=$?
t_check "unreachable: --check exits non-zero" bash -c "[ $rc -ne 0 ] && [ $rc -ne 124 ]"
t_check "unreachable: --check says it cannot connect" grep -q "cannot connect to the source" "$H_DIR/unreach.out"
relay_start unreach
h_wait_until 10 grep -q "cannot connect to the source.*retrying" "$H_DIR/unreach.log"
t_check "unreachable: the relay logs a clear error and keeps retrying" kill -0 "$RELAY_PID"
relay_stop

# purged binlogs: the journal 'mixed' stopped long ago; purge everything it still needs
h_sql "INSERT INTO app.t VALUES (800, 'purge-me', 0, NULL); FLUSH BINARY LOGS"
# the server keeps a binlog until its binlog checkpoint passes; retry until one file is left
purge_all() {
  local last; last=$(h_sql "SHOW MASTER STATUS" | cut -f1)
  h_sql "PURGE BINARY LOGS TO '$last'" >/dev/null 2>&1
  [ "$(h_sql "SHOW BINARY LOGS" | wc -l)" = 1 ]
}
t_check "purged: the server purged its old binlogs" h_wait_until 30 purge_all
timeout 30 "$RELAY" -c "$H_DIR/mixed.ini" >"$H_DIR/purged.out" 2>&1
rc=$?
t_check "purged: non-zero exit" bash -c "[ $rc -ne 0 ] && [ $rc -ne 124 ]"
t_check "purged: the server's reason is shown" grep -q "error 1236" "$H_DIR/purged.out"

# ---- 7. --check on good and bad servers ----------------------------------------------------
relay_config chk current
"$RELAY" -c "$H_DIR/chk.ini" --check >"$H_DIR/chk-good.out" 2>&1
t_eq "check: a well configured server passes" "0" "$?"
t_check "check: says ready" grep -q "source ready" "$H_DIR/chk-good.out"
t_check "check: warns that root holds more than the relay needs" \
  grep -q "^warn  user 'root' holds more than the relay needs (ALL PRIVILEGES ON \*\.\*, WITH GRANT OPTION" "$H_DIR/chk-good.out"
relay_start chk
h_wait_until 20 grep -q "replicating from" "$H_DIR/chk.log"
"$RELAY" -c "$H_DIR/chk.ini" --check >"$H_DIR/chk-dup.out" 2>&1
t_check "check: warns about a connected replica with the same server_id" \
  grep -q "warn  a replica with server_id 1001 is connected" "$H_DIR/chk-dup.out"
h_sql "INSERT INTO app.other VALUES ('dup-chk', 1)"
t_check "check: a running relay keeps streaming through --check" wait_caught_up chk
t_check "check: ... without being disconnected" bash -c "! grep -q reconnect '$H_DIR/chk.log'"
relay_stop

sed 's/^server_id =.*/server_id = 1/' "$H_DIR/chk.ini" > "$H_DIR/chk-sid.ini"
"$RELAY" -c "$H_DIR/chk-sid.ini" --check >"$H_DIR/chk-sid.out" 2>&1
t_check "check: server_id clash is an error" bash -c "[ $? -ne 0 ] && grep -q \"server's own server_id\" '$H_DIR/chk-sid.out'"

h_sql "CREATE USER 'weak'@'%' IDENTIFIED BY 'pw'"
sed -e 's/^user =.*/user = weak/' -e 's/^password =.*/password = pw/' "$H_DIR/chk.ini" > "$H_DIR/chk-weak.ini"
"$RELAY" -c "$H_DIR/chk-weak.ini" --check >"$H_DIR/chk-weak.out" 2>&1
t_check "check: missing privileges are errors" bash -c "[ $? -ne 0 ] && grep -q 'lacks REPLICATION SLAVE' '$H_DIR/chk-weak.out' && grep -q 'lacks BINLOG MONITOR' '$H_DIR/chk-weak.out'"

# a replication user authenticating with ed25519, holding exactly the privileges needed
h_sql "INSTALL SONAME 'auth_ed25519'" 2>/dev/null
h_sql "CREATE USER 'edrepl'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('ed-secret'); GRANT REPLICATION SLAVE, BINLOG MONITOR, SELECT ON *.* TO 'edrepl'@'%'"
sed -e 's/^user =.*/user = edrepl/' -e 's/^password =.*/password = ed-secret/' "$H_DIR/chk.ini" > "$H_DIR/chk-ed.ini"
"$RELAY" -c "$H_DIR/chk-ed.ini" --check >"$H_DIR/chk-ed.out" 2>&1
t_check "check: an ed25519 user with the needed grants is ready" \
  bash -c "[ $? = 0 ] && grep -q 'source ready' '$H_DIR/chk-ed.out'"
t_check "check: ... with a warning that SELECT ON *.* reads every table" \
  grep -q "^warn  user 'edrepl' holds more than the relay needs (SELECT ON \*\.\*)" "$H_DIR/chk-ed.out"

relay_config chkgone "gtid:0-1-2"
"$RELAY" -c "$H_DIR/chkgone.ini" --check >"$H_DIR/chk-gone.out" 2>&1
t_check "check: a start GTID that was purged is an error" bash -c "[ $? -ne 0 ] && grep -q 'cannot stream from' '$H_DIR/chk-gone.out'"

MARIADB_OPTS=(--binlog-format=STATEMENT --binlog-row-image=MINIMAL --binlog-row-metadata=MINIMAL)
h_stop_mariadb; h_mariadb_run
"$RELAY" -c "$H_DIR/chk.ini" --check >"$H_DIR/chk-stmt.out" 2>&1
rc=$?
t_check "check: binlog_format=STATEMENT fails" bash -c "[ $rc -ne 0 ] && grep -q 'ERROR binlog_format = STATEMENT' '$H_DIR/chk-stmt.out'"
t_check "check: binlog_row_image=MINIMAL warns" grep -q "warn  binlog_row_image = MINIMAL" "$H_DIR/chk-stmt.out"
t_check "check: binlog_row_metadata=MINIMAL warns" grep -q "warn  binlog_row_metadata = MINIMAL" "$H_DIR/chk-stmt.out"

# ---- 8. column names from information_schema when the binlog has none ----------------------
MARIADB_OPTS=(--binlog-row-metadata=MINIMAL)
h_stop_mariadb; h_mariadb_run
relay_config names current
relay_start names
h_wait_until 20 grep -q "replicating from" "$H_DIR/names.log"
h_sql "INSERT INTO app.other VALUES ('named', 42)"
t_check "names: catches up" wait_caught_up names
t_check "names: columns named from information_schema" \
  bash -c "'$DUMP' '$H_DIR/names' --json | grep -q '\"after\":{\"k\":\"named\",\"x\":42}'"
t_check "names: the log says where names come from" grep -q "information_schema" "$H_DIR/names.log"
h_sql "ALTER TABLE app.other ADD COLUMN y INT; INSERT INTO app.other VALUES ('after-ddl', 1, 2)"
t_check "names: catches up after a DDL" wait_caught_up names
t_check "names: a DDL refreshes the cached names" \
  bash -c "'$DUMP' '$H_DIR/names' --json | grep -q '\"after\":{\"k\":\"after-ddl\",\"x\":1,\"y\":2}'"
h_stop_mariadb; h_mariadb_run
h_sql "CREATE TABLE app.fresh (a INT PRIMARY KEY, b INT); INSERT INTO app.fresh VALUES (1, 2)"
t_check "names: catches up after a server restart" wait_caught_up names 60
t_check "names: looked up again on a new connection after the restart" \
  bash -c "'$DUMP' '$H_DIR/names' --json | grep -q '\"after\":{\"a\":1,\"b\":2}'"
relay_stop

# ---- 9. TLS to the source: every ssl_mode -------------------------------------------------
mkdir -p "$H_DIR/tls"
( cd "$H_DIR/tls" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout ca.key -out ca.pem
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout other.key -out other.pem
  openssl req -newkey rsa:2048 -nodes -subj /CN=db.example -keyout server.key -out server.csr
  printf 'subjectAltName=DNS:db.example\n' > san.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile san.ext -out server.pem ) >/dev/null 2>&1
[ -s "$H_DIR/tls/server.pem" ] || h_die "could not create test certificates"
MARIADB_OPTS=(--ssl-ca="$H_DIR/tls/ca.pem" --ssl-cert="$H_DIR/tls/server.pem" --ssl-key="$H_DIR/tls/server.key")
h_stop_mariadb; h_mariadb_run
tls_check() { # NAME MODE [CA]: runs --check with that ssl_mode; output in $H_DIR/tls-NAME.out
  sed -e "s/^ssl_mode =.*/ssl_mode = $2/" "$H_DIR/chk.ini" > "$H_DIR/tls-$1.ini"
  [ -n "${3:-}" ] && sed -i "/^ssl_mode/a ssl_ca = $3" "$H_DIR/tls-$1.ini"
  "$RELAY" -c "$H_DIR/tls-$1.ini" --check >"$H_DIR/tls-$1.out" 2>&1
}
tls_check req required
t_check "tls: required connects over TLS" bash -c "[ $? = 0 ] && grep -q 'connected: .*, TLS ' '$H_DIR/tls-req.out'"
tls_check pref preferred
t_check "tls: preferred uses TLS when offered" grep -q "connected: .*, TLS " "$H_DIR/tls-pref.out"
tls_check off disabled
t_check "tls: disabled connects in clear text" grep -q "connected: .*, no TLS" "$H_DIR/tls-off.out"
tls_check ca verify_ca "$H_DIR/tls/ca.pem"
t_eq "tls: verify_ca with the signing CA passes" "0" "$?"
tls_check badca verify_ca "$H_DIR/tls/other.pem"
t_check "tls: verify_ca with another CA is refused" bash -c "[ $? != 0 ] && grep -q 'cannot connect' '$H_DIR/tls-badca.out'"
tls_check ident verify_identity "$H_DIR/tls/ca.pem"
t_check "tls: verify_identity refuses a certificate for another name" bash -c "[ $? != 0 ] && grep -q 'cannot connect' '$H_DIR/tls-ident.out'"
tls_check noca verify_ca
t_check "tls: verify_ca without ssl_ca says what is missing" grep -q "needs ssl_ca" "$H_DIR/tls-noca.out"
relay_config tlsrun current "ssl_ca = $H_DIR/tls/ca.pem"
sed -i 's/^ssl_mode =.*/ssl_mode = verify_ca/' "$H_DIR/tlsrun.ini"
relay_start tlsrun
h_wait_until 20 grep -q "replicating from" "$H_DIR/tlsrun.log"
h_sql "INSERT INTO app.other VALUES ('tls', 1, NULL)"
t_check "tls: replicates over verified TLS" wait_caught_up tlsrun
t_check "tls: the log says TLS is in use" grep -q "replicating from .*TLS " "$H_DIR/tlsrun.log"
relay_stop

MARIADB_OPTS=(--skip-log-bin)
h_stop_mariadb; h_mariadb_run
"$RELAY" -c "$H_DIR/chk.ini" --check >"$H_DIR/chk-nobin.out" 2>&1
t_check "check: log_bin off is an error" bash -c "[ $? -ne 0 ] && grep -q 'ERROR log_bin = OFF' '$H_DIR/chk-nobin.out'"
relay_config nobin current
timeout 20 "$RELAY" -c "$H_DIR/nobin.ini" >"$H_DIR/nobin.out" 2>&1
rc=$?
t_check "binlog off: the relay exits non-zero with the reason" \
  bash -c "[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'binary logging off' '$H_DIR/nobin.out'"

t_done
