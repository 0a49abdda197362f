#!/usr/bin/env python3
"""A milter (sendmail's protocol, version 6) for the tests: it answers
each stage as told and logs what it got, for the replies rspamd does not
easily give.

usage: fakemilter.py PORT LOG [OPTION...]

Listens on 127.0.0.1:PORT, one thread a connection, until killed.
LOG gets one line a command received:
  O VERSION ACTIONS PROTOCOL   (hexadecimal)
  D CMD name=value ...         (macros for the command CMD)
  C HOST FAMILY PORT ADDRESS   (connect)
  H NAME | M ARGS | R ARGS | T | N | E | A | Q
  L NAME: VALUE                (a header field; newlines as \\n)
  B LENGTH REPR                (a body chunk)
Options:
  --at STAGE ANSWER  answer STAGE (connect helo mail rcpt data header
                     eoh body eom) with ANSWER instead of "continue":
                     continue accept reject tempfail discard skip
                     shutdown, "code:550 5.7.1 TEXT", "sleep:SECONDS"
                     (then continue), "close" (hang up)
  --edit EDIT        at eom, before the answer: addheader:NAME:VALUE
                     insheader:INDEX:NAME:VALUE chgheader:INDEX:NAME:VALUE
                     replbody:TEXT addrcpt:ADDR delrcpt:ADDR chgfrom:ADDR
                     quarantine:REASON progress:SECONDS (a progress
                     packet, then that long asleep); TEXT and VALUE take
                     Python string escapes
  --actions HEX      the SMFIF_ actions to ask for (default: all offered)
  --protocol HEX     the SMFIP_ bits to ask for (default 0); the stages
                     of its SMFIP_NR_ bits are not answered
"""
import socket
import struct
import sys
import threading
import time

ARGS = {}


def packet(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd + data


def recv_all(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def logline(text):
    with ARGS["lock"]:
        with open(ARGS["log"], "a") as f:
            f.write(text + "\n")


def strings(data):
    return [s.decode("utf-8", "replace") for s in data.split(b"\0")[:-1]]


def esc(text):
    return text.encode().decode("unicode_escape").encode("latin-1")


def edit_packet(edit):
    kind, _, rest = edit.partition(":")
    if kind == "addheader":
        name, _, value = rest.partition(":")
        return packet(b"h", name.encode() + b"\0" + esc(value) + b"\0")
    if kind in ("insheader", "chgheader"):
        idx, name, value = rest.split(":", 2)
        return packet(b"i" if kind == "insheader" else b"m",
                      struct.pack("!I", int(idx)) + name.encode() + b"\0" +
                      esc(value) + b"\0")
    if kind == "replbody":
        return packet(b"b", esc(rest))
    codes = {"addrcpt": b"+", "delrcpt": b"-", "chgfrom": b"e",
             "quarantine": b"q"}
    return packet(codes[kind], rest.encode() + b"\0")


NOREPLY = {"connect": 0x1000, "helo": 0x2000, "mail": 0x4000,
           "rcpt": 0x8000, "data": 0x10000, "header": 0x80, "eoh": 0x40000,
           "body": 0x80000}


def answer(sock, stage):
    if ARGS["protocol"] & NOREPLY.get(stage, 0):
        return
    ans = ARGS["at"].get(stage, "continue")
    if ans.startswith("sleep:"):
        time.sleep(float(ans[6:]))
        ans = "continue"
    if ans == "close":
        sock.close()
        raise EOFError
    if ans.startswith("code:"):
        sock.sendall(packet(b"y", ans[5:].encode() + b"\0"))
        return
    codes = {"continue": b"c", "accept": b"a", "reject": b"r",
             "tempfail": b"t", "discard": b"d", "skip": b"s",
             "shutdown": b"4"}
    sock.sendall(packet(codes[ans]))


def eom(sock):
    for edit in ARGS["edits"]:
        if edit.startswith("progress:"):
            sock.sendall(packet(b"p"))
            time.sleep(float(edit[9:]))
            continue
        sock.sendall(edit_packet(edit))
    answer(sock, "eom")


def command(sock, cmd, data):
    if cmd == b"O":
        ver, act, proto = struct.unpack("!III", data[:12])
        logline("O %x %x %x" % (ver, act, proto))
        want = ARGS["actions"] if ARGS["actions"] is not None else act
        sock.sendall(packet(b"O", struct.pack("!III", 6, want,
                                              ARGS["protocol"])))
    elif cmd == b"D":
        logline("D %s %s" % (chr(data[0]), " ".join(
            "%s=%s" % p for p in zip(*[iter(strings(data[1:]))] * 2))))
    elif cmd == b"C":
        host, rest = data.split(b"\0", 1)
        fam = chr(rest[0])
        port = struct.unpack("!H", rest[1:3])[0] if fam != "U" else 0
        addr = rest[3:].rstrip(b"\0").decode() if fam != "U" else ""
        logline("C %s %s %d %s" % (host.decode(), fam, port, addr))
        answer(sock, "connect")
    elif cmd in (b"H", b"M", b"R"):
        logline("%s %s" % (cmd.decode(), " ".join(strings(data))))
        answer(sock, {b"H": "helo", b"M": "mail", b"R": "rcpt"}[cmd])
    elif cmd == b"T":
        logline("T")
        answer(sock, "data")
    elif cmd == b"L":
        name, value = strings(data)
        logline("L %s: %s" % (name, value.replace("\n", "\\n")))
        answer(sock, "header")
    elif cmd == b"N":
        logline("N")
        answer(sock, "eoh")
    elif cmd == b"B":
        logline("B %d %r" % (len(data), data))
        answer(sock, "body")
    elif cmd == b"E":
        logline("E")
        eom(sock)
    elif cmd in (b"A", b"Q"):
        logline(cmd.decode())
        return cmd == b"A"
    else:
        logline("? %r" % cmd)
    return True


def serve(sock):
    try:
        while True:
            (n,) = struct.unpack("!I", recv_all(sock, 4))
            data = recv_all(sock, n)
            if not command(sock, data[:1], data[1:]):
                break
    except (EOFError, OSError):
        pass
    finally:
        sock.close()


def main():
    port, ARGS["log"] = int(sys.argv[1]), sys.argv[2]
    ARGS.update(at={}, edits=[], actions=None, protocol=0,
                lock=threading.Lock())
    av = sys.argv[3:]
    while av:
        opt = av.pop(0)
        if opt == "--at":
            stage = av.pop(0)
            ARGS["at"][stage] = av.pop(0)
        elif opt == "--edit":
            ARGS["edits"].append(av.pop(0))
        elif opt == "--actions":
            ARGS["actions"] = int(av.pop(0), 16)
        elif opt == "--protocol":
            ARGS["protocol"] = int(av.pop(0), 16)
        else:
            sys.exit("fakemilter: unknown option " + opt)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)
    open(ARGS["log"], "a").close()
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
