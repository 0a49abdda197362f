#!/usr/bin/env python3
"""N sessions from one source address that end their messages at once.

usage: databurst.py PORT SOURCE N M FROM RCPT FILE

Each of the N sessions connects from SOURCE, greets with EHLO, and
sends M messages, the content of FILE (LF made CRLF, dots doubled),
from FROM to RCPT; before the final dot of each message the sessions
wait for one another, so that the server checks N messages at the same
moment.  Prints how many final replies began with each reply code, one
"CODE COUNT" a line, sorted ("none" for a session that failed before
it), then "seconds S", the time from the first connection to the last
reply.
"""
import collections
import socket
import sys
import threading
import time


def reply(f):
    while True:
        line = f.readline()
        if not line:
            return "none"
        if len(line) < 4 or line[3:4] != b"-":
            return line[:3].decode("latin-1")


def command(s, f, line, want):
    s.sendall(line.encode("latin-1") + b"\r\n")
    code = reply(f)
    if code != want:
        raise OSError("%s: %s" % (line, code))


def session(args, data, barrier, codes, lock):
    port, source, m, sender, rcpt = args
    code = "none"
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=60,
                                     source_address=(source, 0))
        f = s.makefile("rb")
        reply(f)
        command(s, f, "EHLO mail.pass.test", "250")
        for _ in range(m):
            command(s, f, "MAIL FROM:<%s>" % sender, "250")
            command(s, f, "RCPT TO:<%s>" % rcpt, "250")
            command(s, f, "DATA", "354")
            s.sendall(data)
            barrier.wait()
            s.sendall(b".\r\n")
            code = reply(f)
            with lock:
                codes[code] += 1
            code = None
        command(s, f, "QUIT", "221")
    except (OSError, threading.BrokenBarrierError):
        barrier.abort()
        if code is not None:
            with lock:
                codes[code] += 1


def main():
    port, source = int(sys.argv[1]), sys.argv[2]
    n, m = int(sys.argv[3]), int(sys.argv[4])
    sender, rcpt, path = sys.argv[5], sys.argv[6], sys.argv[7]
    with open(path, "rb") as fp:
        lines = fp.read().decode("latin-1").splitlines()
    data = "".join(("." + l if l.startswith(".") else l) + "\r\n"
                   for l in lines).encode("latin-1")
    barrier = threading.Barrier(n, timeout=60)
    codes = collections.Counter()
    lock = threading.Lock()
    args = (port, source, m, sender, rcpt)
    threads = [threading.Thread(target=session,
                                args=(args, data, barrier, codes, lock))
               for _ in range(n)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for code in sorted(codes):
        print(code, codes[code])
    print("seconds %.3f" % (time.monotonic() - start))


main()
