#!/usr/bin/env python3
"""cluster_reader.py — a reader of a Redis Cluster for test_redis_cluster.sh: again and again,
until a stop file appears, sums every bank account in one script on the primary that owns
their hash tag (atomic there) and reads a counter, following MOVED redirections. Reports what
a reader must never see: a total other than the expected one, a counter lower than before.
Its RESP client (command, Conn, ErrorReply) serves the other readers of the tests too.

usage: cluster_reader.py PORT ACCOUNTS TOTAL COUNTER_KEY STOP_FILE READY_FILE
Prints one line: samples=N bad_total=N decreased=N, then up to 10 examples."""
import os
import socket
import sys

SUM = ("local s = 0 for _, k in ipairs(KEYS) do s = s + tonumber(redis.call('GET', k) or '0') end "
       "return s")


def command(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class ErrorReply(bytes):
    """an error reply (-ERR ..., -MOVED ...): returned, not raised, so that callers can follow
    a redirection or count a refused read"""


class Conn:
    """one connection to 127.0.0.1:PORT; a reply is bytes (simple or bulk string), int, None
    (nil), a list (array) or an ErrorReply"""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def fill(self):
        chunk = self.s.recv(1 << 16)
        if not chunk:
            raise ConnectionError("closed")
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            return ErrorReply(rest)
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise ValueError("unexpected reply %r" % line)

    def call(self, *args):
        self.s.sendall(command(*args))
        return self.reply()

    def pipeline(self, commands):
        """sends every command (a tuple of arguments) at once, then reads their replies"""
        self.s.sendall(b"".join(command(*c) for c in commands))
        return [self.reply() for _ in commands]

    def close(self):
        self.s.close()


def main():
    port, accounts, total, counter, stop, ready = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                                   sys.argv[4], sys.argv[5], sys.argv[6])
    keys = ["{bank}:acct:%d" % i for i in range(1, accounts + 1)]
    conns = {}

    def ask(*args):
        p = port
        for _ in range(5):
            try:
                c = conns.get(p) or conns.setdefault(p, Conn(p))
                v = c.call(*args)
            except (OSError, ConnectionError):
                conns.pop(p, None)
                continue
            if isinstance(v, ErrorReply) and (v.startswith(b"MOVED ") or v.startswith(b"ASK ")):
                p = int(v.rsplit(b":", 1)[1])
                continue
            if isinstance(v, ErrorReply):
                return None
            return v
        return None

    samples = bad = decreased = 0
    last = -1
    examples = []
    while not os.path.exists(stop):
        s = ask("EVAL", SUM, len(keys), *keys)
        n = ask("GET", counter)
        if s is None or n is None:
            continue
        samples += 1
        if int(s) != total:
            bad += 1
            examples.append("total %s" % int(s))
        n = int(n)
        if n < last:
            decreased += 1
            examples.append("counter %d after %d" % (n, last))
        last = max(last, n)
        if samples == 1:
            open(ready, "w").close()
    print("samples=%d bad_total=%d decreased=%d" % (samples, bad, decreased))
    for e in examples[:10]:
        print(e)


if __name__ == "__main__":
    main()
