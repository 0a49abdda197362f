#!/usr/bin/env python3
"""N sessions over implicit TLS that send the same AUTH line at once.

usage: authburst.py PORT N AUTHLINE

Each session connects, greets with EHLO, waits until all N have, then
sends AUTHLINE (without its CRLF) and reads the answer.  Prints how
many answers began with each reply code, one "CODE COUNT" a line,
sorted; a session that fails before its answer counts as "none".
"""
import collections
import socket
import ssl
import sys
import threading


def reply(f):
    while True:
        line = f.readline()
        if not line:
            return "none"
        if len(line) < 4 or line[3:4] != b"-":
            return line[:3].decode("latin-1")


def session(port, line, barrier, codes, lock):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    code = "none"
    try:
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port),
                                                     timeout=30))
        f = s.makefile("rb")
        reply(f)
        s.sendall(b"EHLO client.test\r\n")
        reply(f)
        barrier.wait()
        s.sendall(line.encode("latin-1") + b"\r\n")
        code = reply(f)
    except (OSError, threading.BrokenBarrierError):
        barrier.abort()
    with lock:
        codes[code] += 1


def main():
    port, n, line = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    barrier = threading.Barrier(n, timeout=30)
    codes = collections.Counter()
    lock = threading.Lock()
    threads = [threading.Thread(target=session,
                                args=(port, line, barrier, codes, lock))
               for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for code in sorted(codes):
        print(code, codes[code])


main()
