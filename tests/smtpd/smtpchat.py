#!/usr/bin/env python3
"""A raw SMTP dialogue for the tests: what swaks cannot send.

usage: smtpchat.py [--tls] PORT [HOST] < script

--tls starts TLS at the connection (smtps).

Script lines (Python string escapes are decoded in TEXT):
  S TEXT    send TEXT as is (write the \\r\\n yourself)
  R         read one whole reply (all its lines) and print it
  R N       read N replies
  E         read until the server closes, print what came, then "<EOF>"
  F PATH    send the bytes of the file PATH as they are
  P SECONDS sleep (only to hold a session open)
  T         start TLS on the connection (after the 220 to STARTTLS);
            prints "<TLS FAILED>" and stops if the handshake fails
Every read gives up after 10 seconds and prints "<TIMEOUT>".
"""
import socket
import ssl
import sys
import time


def reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            lines.append("<EOF>")
            return lines, False
        text = line.decode("latin-1").rstrip("\r\n")
        lines.append(text)
        if len(text) < 4 or text[3] != "-":
            return lines, True


def tls(s):
    """The test certificate is self-signed: no verification."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx.wrap_socket(s)


def main():
    args = sys.argv[1:]
    implicit = args[0] == "--tls"
    if implicit:
        args = args[1:]
    port = int(args[0])
    host = args[1] if len(args) > 1 else "127.0.0.1"
    s = socket.create_connection((host, port), timeout=10)
    if implicit:
        try:
            s = tls(s)
        except (ssl.SSLError, OSError):
            print("<TLS FAILED>", flush=True)
            return
    f = s.makefile("rb")
    for raw in sys.stdin.read().splitlines():
        if not raw:
            continue
        op, _, arg = raw.partition(" ")
        try:
            if op == "S":
                s.sendall(arg.encode("latin-1").decode(
                    "unicode_escape").encode("latin-1"))
            elif op == "R":
                for _ in range(int(arg) if arg else 1):
                    lines, more = reply(f)
                    print("\n".join(lines), flush=True)
                    if not more:
                        return
            elif op == "E":
                for line in f:
                    print(line.decode("latin-1").rstrip("\r\n"))
                print("<EOF>", flush=True)
                return
            elif op == "F":
                with open(arg, "rb") as src:
                    s.sendall(src.read())
            elif op == "P":
                time.sleep(float(arg))
            elif op == "T":
                try:
                    s = tls(s)
                except ssl.SSLError:
                    print("<TLS FAILED>", flush=True)
                    return
                f = s.makefile("rb")
        except socket.timeout:
            print("<TIMEOUT>", flush=True)
            return
        except (ConnectionResetError, BrokenPipeError):
            print("<RESET>", flush=True)
            return


main()
