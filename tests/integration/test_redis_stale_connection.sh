#!/usr/bin/env bash
# test_redis_stale_connection.sh — a pipeline outlives the applier's connection. A proxy
# between fl-apply and Redis holds back everything the applier's connection sends (as a
# stalled network or server would); the applier times out, closes the socket, reconnects
# through the proxy and applies the rest. Then the proxy delivers the old connection's
# commands to Redis. They must not run: the end state equals the database and the
# checkpoint is the journal's last seq, not the older ones the stale commands carried.
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_redis
J=$H_DIR/journal
mkdir -p "$J"
ingest() { h_ingest "$J"; }
last_seq() { h_last_seq "$J"; }
checkpoint() { h_redis HGET fastlane:checkpoint:stale seq; }

# proxy.py LISTEN_PORT REDIS_PORT: forwards connections to Redis; SIGUSR1 holds back what the
# connections open now send, SIGUSR2 delivers it (then closes them if their client has gone)
# and writes "released" to stdout.
cat > "$H_DIR/proxy.py" <<'PY'
import os, signal, socket, sys, threading
listen_port, redis_port = int(sys.argv[1]), int(sys.argv[2])
conns, lock = [], threading.Lock()
class Conn:
    def __init__(self, client):
        self.client, self.redis = client, socket.create_connection(("127.0.0.1", redis_port))
        self.held, self.buf, self.eof, self.released = False, bytearray(), False, False
        threading.Thread(target=self.up, daemon=True).start()
        threading.Thread(target=self.down, daemon=True).start()
    def up(self):
        while True:
            try: data = self.client.recv(65536)
            except OSError: data = b""
            with lock:
                if self.held:
                    if data: self.buf += data; continue
                    self.eof = True; return
            try:
                if not data: self.redis.shutdown(socket.SHUT_WR); return
                self.redis.sendall(data)
            except OSError: return
    def down(self):
        while True:
            try: data = self.redis.recv(65536)
            except OSError: data = b""
            if not data: break
            try: self.client.sendall(data)
            except OSError: pass
        for s in (self.client, self.redis):
            try: s.close()
            except OSError: pass
        if self.released: print("Redis closed a released connection", flush=True)
def hold(*_):
    with lock:
        for c in conns: c.held = True
    print("holding %d connections" % len(conns), flush=True)
def release(*_):
    with lock:
        held = [c for c in conns if c.held]
        for c in held: c.held, c.released = False, True
    for c in held:
        try:
            c.redis.sendall(bytes(c.buf))
            if c.eof: c.redis.shutdown(socket.SHUT_WR)
            print("delivered %d bytes" % len(c.buf), flush=True)
        except OSError as e:
            print("could not deliver %d bytes: %s" % (len(c.buf), e), flush=True)
    print("released", flush=True)
signal.signal(signal.SIGUSR1, hold)
signal.signal(signal.SIGUSR2, release)
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port)); srv.listen(16)
print("listening", flush=True)
while True:
    client, _ = srv.accept()
    with lock: conns.append(Conn(client))
PY
PROXY_PORT=$(h_free_port)
python3 "$H_DIR/proxy.py" "$PROXY_PORT" "$REDIS_PORT" > "$H_DIR/proxy.log" 2>&1 &
PROXY_PID=$!; h_register $PROXY_PID
h_wait_until 10 grep -q listening "$H_DIR/proxy.log" || h_die "the proxy did not start: $(cat "$H_DIR/proxy.log")"

h_sql "CREATE DATABASE app; CREATE TABLE app.c (id INT PRIMARY KEY, n INT NOT NULL, pad TEXT);
INSERT INTO app.c VALUES (1, 0, '');" || h_die "schema"
ingest || h_die "ingest: $(tail -3 "$H_DIR/ingest.log")"
{ h_source_config; printf '[apply]\nname = stale\njournal = %s\ntarget = redis://127.0.0.1:%s/0\n' "$J" "$PROXY_PORT"
  printf '[rule c]\ntable = app.c\nkey = c:{id}\nformat = json\n'; } > "$H_DIR/stale.ini"
"$FL_BUILD/fl-apply" -c "$H_DIR/stale.ini" > "$H_DIR/apply.log" 2>&1 &
APPLY_PID=$!; h_register $APPLY_PID
h_wait_until 30 bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET fastlane:checkpoint:stale seq)\" = $(last_seq) ]" || h_die "no first checkpoint"

kill -USR1 "$PROXY_PID"
h_wait_until 10 grep -q "holding 1 connections" "$H_DIR/proxy.log" || h_die "the proxy holds nothing: $(cat "$H_DIR/proxy.log")"
for i in $(seq 1 500); do echo "UPDATE app.c SET n = n + 1, pad = REPEAT('$((i % 10))', 500) WHERE id = 1;"; done > "$H_DIR/w.sql"
h_sql_file "$H_DIR/w.sql" || h_die "workload"
ingest || h_die "ingest"
t_check "the applier gives up on the held connection" h_wait_until 60 grep -q "no reply within" "$H_DIR/apply.log"
t_check "and applies everything through a new one" \
  h_wait_until 60 bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET fastlane:checkpoint:stale seq)\" = $(last_seq) ]"
# and goes on past what the old connection had sent
h_sql "UPDATE app.c SET n = n + 1000, pad = 'after' WHERE id = 1;" || h_die "workload 2"
ingest || h_die "ingest"
t_check "and what came later" \
  h_wait_until 60 bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET fastlane:checkpoint:stale seq)\" = $(last_seq) ]"
kill -USR2 "$PROXY_PID"
h_wait_until 10 grep -q released "$H_DIR/proxy.log" || h_die "the proxy did not release"
h_log "proxy: $(tr '\n' ' ' < "$H_DIR/proxy.log")"
h_wait_until 30 grep -q "Redis closed a released connection\|could not deliver" "$H_DIR/proxy.log" \
  || h_log "the released connection is still open: $(tr '\n' ' ' < "$H_DIR/proxy.log")"
t_eq "the checkpoint stays the journal's last seq" "$(last_seq)" "$(checkpoint)"
t_eq "c:1 equals the row" "$(h_sql "SELECT JSON_COMPACT(JSON_OBJECT('id', id, 'n', n, 'pad', pad)) FROM app.c")" "$(h_redis GET c:1)"
t_check "the previous connection was ended before the checkpoint was read" grep -q "ended this applier's previous connection" "$H_DIR/apply.log"
kill -TERM "$APPLY_PID"; wait "$APPLY_PID"

t_done
