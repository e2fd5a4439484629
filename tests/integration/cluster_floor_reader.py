#!/usr/bin/env python3
"""cluster_floor_reader.py — a reader of a Redis Cluster being rebuilt, for
test_redis_cluster_rebuild.sh: again and again, until a stop file appears, reads every key (an
integer version) from the primary that owns its slot (the slot map from CLUSTER SLOTS, asked
again after a redirection), and reports what a reader must never see: a version lower than
one it saw before, or, once a key was seen missing, a version below the floor (what the
database held when the rebuild began).

usage: cluster_floor_reader.py PORT FLOOR_FILE STOP_FILE READY_FILE
  FLOOR_FILE  "key version" lines
Prints one line: samples=N decreased=N stale=N, then up to 10 examples."""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree by the import below
from cluster_reader import Conn, ErrorReply  # noqa: E402  (the one RESP client of the tests)


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def key_slot(key):
    k = key.encode()
    o = k.find(b"{")
    if o >= 0:
        c = k.find(b"}", o + 1)
        if c > o + 1:
            k = k[o + 1:c]
    return crc16(k) % 16384


def slot_map(seed):
    owner = [None] * 16384
    c = Conn(seed)
    for r in c.call("CLUSTER", "SLOTS"):
        for s in range(r[0], r[1] + 1):
            owner[s] = r[2][1]
    c.close()
    return owner


def main():
    seed, floor_file, stop_file, ready_file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    floor = {}
    for l in open(floor_file):
        if l.split():
            k, v = l.split()
            floor[k] = int(v)
    keys = list(floor)
    slots = {k: key_slot(k) for k in keys}
    owner, conns = slot_map(seed), {}
    seen, armed = {}, set()
    samples = decreased = stale = 0
    examples = []
    while not os.path.exists(stop_file):
        by_port = {}
        for k in keys:
            by_port.setdefault(owner[slots[k]], []).append(k)
        redirected = False
        for port, ks in by_port.items():
            if port not in conns:
                conns[port] = Conn(port)
            for k, v in zip(ks, conns[port].pipeline([("GET", k) for k in ks])):
                if isinstance(v, ErrorReply):
                    redirected = True
                    continue
                if v is None:
                    armed.add(k)
                    continue
                v = int(v)
                if k in seen and v < seen[k]:
                    decreased += 1
                    if len(examples) < 10:
                        examples.append("%s went from %d back to %d" % (k, seen[k], v))
                if k in armed and v < floor[k]:
                    stale += 1
                    if len(examples) < 10:
                        examples.append("%s was %d, older than the %d of the rebuild's start" % (k, v, floor[k]))
                seen[k] = max(v, seen.get(k, v))
        if redirected:
            owner = slot_map(seed)
        samples += 1
        if samples == 1:
            open(ready_file, "w").close()
    print("samples=%d decreased=%d stale=%d" % (samples, decreased, stale))
    for e in examples:
        print("  " + e)


main()
