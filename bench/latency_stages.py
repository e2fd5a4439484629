#!/usr/bin/env python3
"""latency_stages.py DIR [CELL...] — where the live latency goes, stage by stage.

Reads what bench/latency.sh leaves in BENCH_LAT_TRACE=DIR when the fl-relay and fl-apply it
runs are built with the stage trace points (common/stage_trace.h: make STAGE_TRACE=1 all
build-stages/bench/latency build-stages/bench/fsync_latency, then BENCH_LAT_TRACE=DIR
bench/latency.sh build-stages): per cell (group-1000, none-10000, ...) the client's
CELL.txt (txn, statement sent, OK, seen in Redis, GTID seq_no), relay-CELL.txt (journal seq,
GTID seq_no, receiver read, main thread took it, queued in the journal batch, commit began,
LMDB commit returned, meta page synced, readers told, transactions in the commit) and
apply-CELL.txt (journal seq, the applier's last wake-up, apply began, group sent from, sent
to, replies read, transactions in the group). Joins them by GTID and prints each stage's
p50 and p99 over the counted transactions, and its mean over the slowest 1% (by total) and
over the middle 10%: a slow transaction's time is where the mean of the slowest grows."""
import statistics
import sys

STAGES = [
    ("source", "statement sent -> the relay's receiver read its GTID event (MariaDB's commit, its binlog send)"),
    ("handoff", "receiver thread -> the relay's main thread took it"),
    ("decode", "-> queued in the journal batch"),
    ("batch", "-> the commit began"),
    ("journal", "LMDB commit (with sync = group: its data fdatasync)"),
    ("meta_sync", "the meta page's fdatasync (sync = group)"),
    ("notify", "readers told"),
    ("apply_wake", "-> the applier woke (0 when it did not wait)"),
    ("apply_build", "-> read and turned into commands, group sent"),
    ("send", "the group written to Redis"),
    ("redis", "-> Redis's replies read"),
    ("subscriber", "-> the client's subscriber saw the SET (may be < 0)"),
    ("total", "statement sent -> seen in Redis"),
    ("ok", "statement sent -> its OK (MariaDB's own commit)"),
]


def load(path):
    with open(path) as f:
        return [list(map(int, line.split())) for line in f if line.strip()]


def quantile(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


def cell(d, name):
    rate = int(name.split("-")[1])
    relay = {r[1]: r for r in load(f"{d}/relay-{name}.txt")}  # by GTID seq_no
    apply = {a[0]: a for a in load(f"{d}/apply-{name}.txt")}  # by journal seq
    rows = []
    for i, sent, ok, seen, gno in load(f"{d}/{name}.txt"):
        if i < rate or not seen or gno not in relay:  # the warm-up second is not counted
            continue
        seq, _, rcv, got, queued, c0, c1, c2, c3, _ = relay[gno]
        if seq not in apply:
            continue
        _, wake, _, f0, f1, f2, _ = apply[seq]
        woke = max(wake, c3)
        rows.append({"source": rcv - sent, "handoff": got - rcv, "decode": queued - got, "batch": c0 - queued,
                     "journal": c1 - c0, "meta_sync": c2 - c1, "notify": c3 - c2, "apply_wake": woke - c3,
                     "apply_build": f0 - woke, "send": f1 - f0, "redis": f2 - f1, "subscriber": seen - f2,
                     "total": seen - sent, "ok": ok - sent})
    if not rows:
        print(f"{name}: no transaction joined (a build without the stage trace points, make STAGE_TRACE=1?)")
        return
    rows.sort(key=lambda r: r["total"])
    n = len(rows)
    slow, mid = rows[int(0.99 * n):], rows[int(0.45 * n):int(0.55 * n)]
    print(f"{name}: {n} transactions joined; us: p50, p99, mean of the slowest 1%, mean of the middle 10%")
    for key, what in STAGES:
        v = [r[key] for r in rows]
        print(f"  {key:12s} {quantile(v, .5):7d} {quantile(v, .99):8d} {statistics.mean(r[key] for r in slow):9.0f}"
              f" {statistics.mean(r[key] for r in mid):7.0f}  {what}")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cells = sys.argv[2:] or [f"{s}-{r}" for r in (1000, 10000) for s in ("group", "none")]
    for name in cells:
        try:
            cell(sys.argv[1], name)
        except FileNotFoundError as e:
            print(f"{name}: {e.filename} missing")


main()
