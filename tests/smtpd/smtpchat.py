#!/usr/bin/env python3
"""A raw SMTP dialogue for the tests: what swaks cannot send.

usage: smtpchat.py [--tls] PORT [HOST] < script

--tls starts TLS at the connection (smtps).

Script lines (Python string escapes are decoded in TEXT):
  S TEXT    send TEXT as is (write the \\r\\n yourself)
  D SECONDS TEXT
            dribble TEXT: one byte every SECONDS (over TLS, one byte of
            its TLS records), until the server answers or closes; then
            print the answer and "<AFTER N>", N the seconds (one
            decimal) since the first byte
  R         read one whole reply (all its lines) and print it
  R N       read N replies
  M         print "<MS N>": the milliseconds from the end of the last
            S to the end of the last R
  E         read until the server closes, print what came, then "<EOF>"
  F PATH    send the bytes of the file PATH as they are
  P SECONDS sleep (only to hold a session open)
  T         start TLS on the connection (after the 220 to STARTTLS);
            prints "<TLS FAILED>" and stops if the handshake fails
Every read gives up after 10 seconds and prints "<TIMEOUT>".
"""
import select
import socket
import ssl
import sys
import time


class Conn:
    """The socket, plain or with TLS over memory buffers: so that the
    bytes of a TLS record can be sent one at a time."""

    def __init__(self, sock):
        self.sock = sock
        self.tls = None
        self.buf = b""

    def start_tls(self):
        """The test certificate is self-signed: no verification."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.rbio = ssl.MemoryBIO()
        self.wbio = ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.rbio, self.wbio)
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.sock.sendall(self.wbio.read())
                if not self.feed():
                    raise ssl.SSLError("closed during the handshake")
        self.sock.sendall(self.wbio.read())

    def feed(self):
        data = self.sock.recv(65536)
        if not data:
            self.rbio.write_eof()
            return False
        self.rbio.write(data)
        return True

    def wire(self, data):
        """The bytes that carry data on the connection."""
        if self.tls is None:
            return data
        self.tls.write(data)
        return self.wbio.read()

    def send(self, data):
        self.sock.sendall(self.wire(data))

    def more(self):
        """Reads more of the stream into buf; False at its end."""
        if self.tls is None:
            data = self.sock.recv(65536)
            self.buf += data
            return bool(data)
        while True:
            try:
                data = self.tls.read(65536)
                self.buf += data
                return bool(data)
            except ssl.SSLWantReadError:
                if not self.feed():
                    return False
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return False

    def readline(self):
        while b"\n" not in self.buf:
            if not self.more():
                line, self.buf = self.buf, b""
                return line
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"


def reply(c):
    lines = []
    while True:
        line = c.readline()
        if not line:
            lines.append("<EOF>")
            return lines, False
        text = line.decode("latin-1").rstrip("\r\n")
        lines.append(text)
        if len(text) < 4 or text[3] != "-":
            return lines, True


def dribble(c, arg):
    pause, _, text = arg.partition(" ")
    wire = c.wire(text.encode("latin-1").decode(
        "unicode_escape").encode("latin-1"))
    start = time.monotonic()
    for i in range(len(wire)):
        try:
            c.sock.sendall(wire[i:i + 1])
        except OSError:
            break
        if select.select([c.sock], [], [], float(pause))[0]:
            break
    try:
        lines, _ = reply(c)
    except OSError:
        lines = ["<RESET>"]
    print("\n".join(lines), flush=True)
    print("<AFTER %.1f>" % (time.monotonic() - start), flush=True)


def main():
    args = sys.argv[1:]
    implicit = args[0] == "--tls"
    if implicit:
        args = args[1:]
    port = int(args[0])
    host = args[1] if len(args) > 1 else "127.0.0.1"
    c = Conn(socket.create_connection((host, port), timeout=10))
    if implicit:
        try:
            c.start_tls()
        except (ssl.SSLError, OSError):
            print("<TLS FAILED>", flush=True)
            return
    sent = replied = time.monotonic()
    for raw in sys.stdin.read().splitlines():
        if not raw:
            continue
        op, _, arg = raw.partition(" ")
        try:
            if op == "S":
                c.send(arg.encode("latin-1").decode(
                    "unicode_escape").encode("latin-1"))
                sent = time.monotonic()
            elif op == "D":
                dribble(c, arg)
            elif op == "R":
                for _ in range(int(arg) if arg else 1):
                    lines, more = reply(c)
                    replied = time.monotonic()
                    print("\n".join(lines), flush=True)
                    if not more:
                        return
            elif op == "M":
                print("<MS %d>" % round((replied - sent) * 1000),
                      flush=True)
            elif op == "E":
                while True:
                    line = c.readline()
                    if not line:
                        break
                    print(line.decode("latin-1").rstrip("\r\n"))
                print("<EOF>", flush=True)
                return
            elif op == "F":
                with open(arg, "rb") as src:
                    c.send(src.read())
            elif op == "P":
                time.sleep(float(arg))
            elif op == "T":
                try:
                    c.start_tls()
                except (ssl.SSLError, OSError):
                    print("<TLS FAILED>", flush=True)
                    return
        except socket.timeout:
            print("<TIMEOUT>", flush=True)
            return
        except (ConnectionResetError, BrokenPipeError):
            print("<RESET>", flush=True)
            return


main()
