#!/usr/bin/env python3
"""monotonic_reader.py — a cache reader for the replay tests: samples integer counters under
keys again and again, as fast as it can, until a stop file appears, and reports what a reader
must never see: a counter lower than one it saw before, a key that was deleted, or (on the
servers named healthy) a key missing after it was seen.

usage: monotonic_reader.py KIND PORTS KEYS_FILE DELETED_FILE HEALTHY_PORTS STOP_FILE READY_FILE [DELETING_FILE [FLOOR_FILE]]
  KIND            memcached (every port is asked for every key: each key lives on one server)
                  or redis (one port)
  PORTS           comma-separated ports on 127.0.0.1
  KEYS_FILE       the counter keys, one a line
  DELETED_FILE    keys deleted before the reader starts, one a line (may be empty)
  HEALTHY_PORTS   comma-separated ports whose keys must never go missing once seen ("" none)
  STOP_FILE       the reader stops when this file exists
  READY_FILE      written once every key has been sampled once
  DELETING_FILE   keys whose rows are deleted while the reader runs, appended once each
                  delete committed: once a key seen present is found absent by a sample that
                  began after it was listed, it must stay absent (its delete was applied; nothing
                  may bring it back). A key not seen yet proves nothing by its absence: a lagging
                  cache may still get the row as it was before the delete, then the delete
                  ("" for none)
  FLOOR_FILE      "key value" lines, the least value a reader may see under each key (what the
                  database held when a rebuild began) once the key has been seen missing (from the
                  start, or after the rebuild deleted what the cache held); redis only. A value below
                  it then counts as stale. With it, READY_FILE is written after the first sample
                  (a cache being rebuilt may hold no key yet)
Prints one line: samples=N decreased=N reappeared=N vanished=N (and stale=N with a FLOOR_FILE),
then up to 10 examples."""
import os
import socket
import sys

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree by the import below
from cluster_reader import Conn, ErrorReply  # noqa: E402  (the one RESP client of the tests)


def mc_get_many(sock, keys):
    """values are integers (no CR LF inside), so the reply ends at the first END line"""
    sock.sendall(("get " + " ".join(keys) + "\r\n").encode())
    data = b""
    while not (data == b"END\r\n" or data.endswith(b"\r\nEND\r\n")):
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    lines, out = data.split(b"\r\n"), {}
    for i in range(0, len(lines) - 2, 2):
        out[lines[i].split()[1].decode()] = lines[i + 1].decode()
    return out


def redis_mget(conn, keys):
    values = conn.call("MGET", *keys)
    if isinstance(values, ErrorReply):  # a server starting again (LOADING): as if it were away
        raise ConnectionError(values.decode())
    return {k: v.decode() for k, v in zip(keys, values) if v is not None}


def connect(kind, port):
    if kind == "redis":
        return Conn(port)
    return socket.create_connection(("127.0.0.1", port))


def main():
    kind, ports, keys_file, deleted_file, healthy, stop_file, ready_file = sys.argv[1:8]
    ports = [int(p) for p in ports.split(",")]
    healthy = {int(p) for p in healthy.split(",") if p}
    keys = [l.strip() for l in open(keys_file) if l.strip()]
    deleted = [l.strip() for l in open(deleted_file) if l.strip()]
    deleting_file = sys.argv[8] if len(sys.argv) > 8 and sys.argv[8] else None
    floor = {}
    if len(sys.argv) > 9:
        for l in open(sys.argv[9]):
            if l.split():
                k, v = l.split()
                floor[k] = int(v)
    stale = 0
    armed = set()  # keys seen missing: from then on their floor holds
    deleting, gone = set(), set()
    socks = {p: connect(kind, p) for p in ports}
    seen, home = {}, {}
    samples = decreased = reappeared = vanished = 0
    examples = []
    ready = False
    while not os.path.exists(stop_file):
        if deleting_file:
            deleting = {l.strip() for l in open(deleting_file) if l.strip()}
        for p, s in socks.items():
            try:
                got = (mc_get_many if kind == "memcached" else redis_mget)(s, keys + deleted)
            except (ConnectionError, OSError):
                # a server restarting: reconnect and go on
                try:
                    socks[p] = connect(kind, p)
                except OSError:
                    pass
                continue
            for k in deleted:
                if k in got:
                    reappeared += 1
                    if len(examples) < 10:
                        examples.append("deleted %s reappeared as %s (port %d)" % (k, got[k], p))
            for k in keys:
                if k in got and k in gone:
                    reappeared += 1
                    if len(examples) < 10:
                        examples.append("%s came back as %s after its delete was applied (port %d)" % (k, got[k], p))
                if k not in got and k in deleting and k in seen:
                    gone.add(k)
                if k in got:
                    v = int(got[k])
                    home[k] = p
                    if k in seen and v < seen[k]:
                        decreased += 1
                        if len(examples) < 10:
                            examples.append("%s went from %d back to %d (port %d)" % (k, seen[k], v, p))
                    seen[k] = max(v, seen.get(k, v))
                    if k in armed and k in floor and v < floor[k]:
                        stale += 1
                        if len(examples) < 10:
                            examples.append("%s was %d, older than the %d of the rebuild's start (port %d)"
                                            % (k, v, floor[k], p))
                elif kind == "redis":
                    armed.add(k)
                if k not in got and home.get(k) == p and p in healthy:
                    vanished += 1
                    if len(examples) < 10:
                        examples.append("%s vanished from healthy port %d" % (k, p))
        samples += 1
        if not ready and (len(seen) == len(keys) or len(sys.argv) > 9):
            ready = True
            open(ready_file, "w").close()
    print("samples=%d decreased=%d reappeared=%d vanished=%d" % (samples, decreased, reappeared, vanished)
          + (" stale=%d" % stale if len(sys.argv) > 9 else ""))
    for e in examples:
        print("  " + e)


main()
