#!/usr/bin/python3
"""The kill campaign: smtpd and deliver under load, SIGKILLed at random.

CLIENTS concurrent SMTP clients send messages, each with a unique
marker (its Message-ID and an X-Killcamp: line) and a body made from
that marker, to local mailboxes, an alias and remote addresses; deliver
relays the remote ones to a sink on 127.0.0.1 (the relayhost) that
answers each recipient 250, 451 or 550 at random.  Meanwhile smtpd,
deliver or one of deliver's workers gets a SIGKILL at a random instant,
KILLS times, and is started again (a worker is replaced by deliver).

Then the sink says 250 to all, the queue is flushed, and every message
that got a 250 is looked for: each local target must have one complete
copy, or two where a kill of deliver or of a worker came between them
(counted as duplicated); each remote target must have reached the sink
or have bounced (the bounce in the sender's Maildir, or at the sink for
a remote sender); the queue must drain.  Prints
	kills=N accepted=N lost=N duplicated=N
and exits 1 on any loss, corrupt copy, unexplained duplicate or a queue
that does not drain; 2 on a setup failure.
"""

import argparse
import asyncio
import glob
import hashlib
import os
import random
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time

from aiosmtpd.controller import Controller

DOMAIN = "example.org"
REMOTE = "remote.test"
NUSERS = 12
ALIAS = "team@" + DOMAIN
ALIAS_TARGETS = ["u1@" + DOMAIN, "u2@" + DOMAIN, "far@" + REMOTE]
# The sink accepts a remote target this long after the end at the latest.
DRAIN_TIMEOUT = 180


def log(*a):
    print("killcamp:", *a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def body_of(marker, nlines):
    """The body lines of a message: a chain of hashes of its marker."""
    lines = []
    h = marker.encode()
    for i in range(nlines):
        h = hashlib.sha256(h).hexdigest().encode()
        # Some lines begin with a dot, to exercise the dot-stuffing.
        lines.append(("." if i % 7 == 3 else "") + h.decode())
    lines.append("end " + marker)
    return lines


def message_of(marker, sender, rcpts, nlines):
    head = ["From: <%s>" % sender, "To: " + ", ".join(rcpts),
            "Subject: killcamp " + marker,
            "Message-ID: <%s@killcamp.test>" % marker,
            "X-Killcamp: " + marker]
    return "\r\n".join(head + [""] + body_of(marker, nlines)) + "\r\n"


def parse_copy(data):
    """(marker, complete) of a delivered copy, or (None, None)."""
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    m = re.search(r"^X-Killcamp: (\S+)$", text, re.M)
    if m is None:
        return None, None
    marker = m.group(1)
    head, sep, body = text.partition("\n\n")
    lines = body.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[-1] != "end " + marker:
        return marker, False
    return marker, lines == body_of(marker, len(lines) - 1)


def dsn_of(data):
    """(marker, [final recipients]) of a bounce, or None."""
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    if "message/delivery-status" not in text:
        return None
    m = re.search(r"^X-Killcamp: (\S+)$", text, re.M)
    if m is None:
        return None
    finals = re.findall(r"^Final-Recipient: rfc822; *(\S+)$", text,
                        re.M | re.I)
    return m.group(1), [f.lower() for f in finals]


class Sink:
    """The remote end: 250, 451 or 550 at random to each recipient."""

    def __init__(self, rng, p451, p550, where):
        self.rng = rng
        self.where = where
        os.makedirs(where, exist_ok=True)
        self.p451 = p451
        self.p550 = p550
        self.always_ok = False
        self.lock = threading.Lock()
        self.nreceived = 0
        self.answers = {}      # code -> count

    async def handle_RCPT(self, server, session, envelope, address, opts):
        code = 250
        # A bounce always gets through: its own failures would go to
        # the postmaster, out of this campaign's sight.
        if not self.always_ok and envelope.mail_from not in ("", "<>"):
            x = self.rng.random()
            if x < self.p451:
                code = 451
            elif x < self.p451 + self.p550:
                code = 550
        with self.lock:
            self.answers[code] = self.answers.get(code, 0) + 1
        if code == 451:
            return "451 4.2.0 <%s>: try again later" % address
        if code == 550:
            return "550 5.1.1 <%s>: no such user" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.nreceived += 1
            path = os.path.join(self.where, "%d.eml" % self.nreceived)
        with open(path, "wb") as f:
            f.write(b"%f\n%s\n%s\n" % (time.time(),
                                        envelope.mail_from.encode(),
                                        " ".join(envelope.rcpt_tos).encode()))
            f.write(envelope.original_content)
        return "250 2.0.0 Ok"


class Campaign:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.top = os.path.abspath(os.path.join(
            os.path.dirname(__file__), "..", ".."))
        self.dir = args.dir
        self.accepted = []     # (qid, marker, sender, [rcpts])
        self.alock = threading.Lock()
        self.kills = []        # (time, what)
        self.stop_load = threading.Event()
        self.smtpd = None
        self.deliver = None
        self.sent = 0
        self.refused = 0

    # ---- the sandbox ---------------------------------------------------

    def prog(self, rel):
        p = os.path.join(self.top, rel)
        if not os.access(p, os.X_OK):
            log(p, "is not built: run make first")
            sys.exit(2)
        return p

    def setup(self):
        self.smtpd_bin = self.prog("sbin/smtpd/smtpd")
        self.deliver_bin = self.prog("libexec/deliver/deliver")
        self.newmaps_bin = self.prog("sbin/newmaps/newmaps")
        self.mailq_bin = self.prog("bin/mailq/mailq")
        d = self.dir
        for sub in ("etc", "maps", "spool", "vhosts"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        os.chmod(os.path.join(d, "spool"), 0o700)
        self.port = free_port()
        self.sink_port = free_port()
        self.conf = os.path.join(d, "etc", "mail.conf")
        user = self.args.user
        with open(self.conf, "w") as f:
            f.write("\n".join([
                "hostname killcamp.test",
                "user " + user,
                "listen 127.0.0.1:%d" % self.port,
                "spool %s/spool" % d,
                "mapdir %s/maps" % d,
                "maildir %s/vhosts/%%d/%%u" % d,
                "relaynets 127.0.0.0/8",
                "relayhost [127.0.0.1]:%d" % self.sink_port,
                "postmaster postmaster@" + DOMAIN,
                "retry_schedule 1s 2s",
                "max_sessions 200",
                "max_sessions_per_ip 200",
                "max_deliveries %d" % self.args.deliveries,
                ""]))
        import pwd
        pw = pwd.getpwnam(user)
        self.users = ["u%d@%s" % (i, DOMAIN) for i in range(NUSERS)]
        with open(os.path.join(d, "maps", "domains"), "w") as f:
            f.write(DOMAIN + "\n")
        with open(os.path.join(d, "maps", "users"), "w") as f:
            for u in self.users:
                f.write("%s:{CRYPT}$y$j9T$x$x:%d:%d::%s/vhosts/%s/%s::\n" %
                        (u, pw.pw_uid, pw.pw_gid, d, DOMAIN,
                         u.split("@")[0]))
        # deliver makes no Maildir: mailadduser add does.
        for u in self.users:
            for sub in ("tmp", "new", "cur"):
                os.makedirs(os.path.join(self.maildir(u), sub), 0o700,
                            exist_ok=True)
        with open(os.path.join(d, "maps", "aliases"), "w") as f:
            f.write("%s: %s\n" % (ALIAS, ", ".join(ALIAS_TARGETS)))
            f.write("postmaster@%s: u0@%s\n" % (DOMAIN, DOMAIN))
        if os.getuid() == 0:
            subprocess.run(["chown", "-R", user, d], check=True)
        r = subprocess.run([self.newmaps_bin, "-C", self.conf])
        if r.returncode != 0:
            log("newmaps failed")
            sys.exit(2)

    def targets(self, rcpts):
        """The final targets of a recipient list, as deliver expands it."""
        out = []
        for r in rcpts:
            for t in (ALIAS_TARGETS if r == ALIAS else [r]):
                if t not in out:
                    out.append(t)
        return out

    def maildir(self, addr):
        local = addr.split("@")[0]
        return os.path.join(self.dir, "vhosts", DOMAIN, local)

    # ---- the daemons ---------------------------------------------------

    def daemon_env(self):
        return None

    def start_smtpd(self):
        err = open(os.path.join(self.dir, "smtpd.log"), "a")
        self.smtpd = subprocess.Popen([self.smtpd_bin, "-d", "-C",
                                       self.conf], stderr=err,
                                      env=self.daemon_env())
        err.close()
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         1).close()
                return
            except OSError:
                if self.smtpd.poll() is not None:
                    break
                time.sleep(0.05)
        log("smtpd does not start; see", self.dir + "/smtpd.log")
        sys.exit(2)

    def start_deliver(self):
        err = open(os.path.join(self.dir, "deliver.log"), "a")
        # A deliver just killed leaves its pidfile locked for a moment
        # more: its lock goes when the kernel has closed its files.
        for _ in range(100):
            p = subprocess.Popen([self.deliver_bin, "-d", "-C",
                                  self.conf], stderr=err,
                                 env=self.daemon_env())
            try:
                p.wait(0.2)
            except subprocess.TimeoutExpired:
                self.deliver = p
                err.close()
                return
            if p.returncode != 75:
                break
        err.close()
        log("deliver does not start (exit %s); see" % p.returncode,
            self.dir + "/deliver.log")
        sys.exit(2)

    def workers(self):
        try:
            with open("/proc/%d/task/%d/children" %
                      (self.deliver.pid, self.deliver.pid)) as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []

    def kill_one(self):
        kinds = ["smtpd", "deliver", "worker", "worker"]
        what = self.rng.choice(kinds)
        if what == "worker":
            w = self.workers()
            if not w:
                what = "deliver"
            else:
                pid = self.rng.choice(w)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    return
                self.kills.append((time.time(), "worker"))
                return
        proc = self.smtpd if what == "smtpd" else self.deliver
        if proc.poll() is not None:
            log(what, "had exited with", proc.returncode, "(restarted)")
        else:
            proc.kill()
            self.kills.append((time.time(), what))
        proc.wait()
        if what == "smtpd":
            self.start_smtpd()
        else:
            self.start_deliver()

    # ---- the load ------------------------------------------------------

    def client(self, n):
        rng = random.Random("%s-%d" % (self.args.seed, n))
        seq = 0
        while not self.stop_load.is_set():
            try:
                s = smtplib.SMTP("127.0.0.1", self.port, timeout=30)
            except OSError:
                time.sleep(0.05)
                continue
            try:
                s.ehlo("client%d.test" % n)
                for _ in range(rng.randint(1, 5)):
                    # No faster than deliver drains: the check at the
                    # end waits for an empty queue.
                    while (len(self.queue_files()) > self.args.backlog and
                           not self.stop_load.is_set()):
                        time.sleep(0.05)
                    if self.stop_load.is_set():
                        break
                    seq += 1
                    self.send_one(s, rng, "%s.%d.%d" % (self.args.seed,
                                                        n, seq))
                s.quit()
            except (smtplib.SMTPException, OSError):
                pass
            finally:
                s.close()

    def send_one(self, s, rng, marker):
        sender, rcpts = self.pick(rng)
        data = message_of(marker, sender, rcpts, rng.randint(2, 300))
        code, _ = s.mail(sender)
        if code != 250:
            raise smtplib.SMTPException("MAIL %d" % code)
        for r in rcpts:
            code, _ = s.rcpt(r)
            if code != 250:
                raise smtplib.SMTPException("RCPT %d" % code)
        self.sent += 1
        code, reply = s.data(data.encode())
        if code != 250:
            self.refused += 1
            return
        m = re.search(rb"queued as ([0-9a-f]+)", reply)
        with self.alock:
            self.accepted.append((m.group(1).decode() if m else "?",
                                  marker, sender, rcpts))

    def pick(self, rng):
        """The sender and the recipients of a message."""
        if rng.random() < 0.5:
            sender = rng.choice(self.users)
        else:
            sender = "s%d@%s" % (rng.randint(0, 9), REMOTE)
        rcpts = []
        for _ in range(rng.randint(1, 4)):
            x = rng.random()
            if x < 0.6:
                r = rng.choice(self.users)
            elif x < 0.7:
                r = ALIAS
            else:
                r = "r%d@%s" % (rng.randint(0, 19), REMOTE)
            if r not in rcpts:
                rcpts.append(r)
        return sender, rcpts

    # ---- the run -------------------------------------------------------

    def run(self):
        self.setup()
        self.sink = Sink(self.rng, self.args.p451, self.args.p550,
                         os.path.join(self.dir, "sink"))
        ctl = Controller(self.sink, hostname="127.0.0.1",
                         port=self.sink_port, decode_data=False,
                         server_hostname="sink.test")
        ctl.start()
        self.start_smtpd()
        self.start_deliver()
        threads = [threading.Thread(target=self.client, args=(i,),
                                    daemon=True)
                   for i in range(self.args.clients)]
        for t in threads:
            t.start()
        t0 = time.time()
        while len(self.kills) < self.args.kills:
            time.sleep(self.rng.uniform(self.args.interval / 4,
                                        self.args.interval * 1.75))
            self.kill_one()
        self.stop_load.set()
        for t in threads:
            t.join(60)
        self.drain_start = time.time()
        log("load: %d kills in %.0f s, %d messages sent, %d accepted" %
            (len(self.kills), time.time() - t0, self.sent,
             len(self.accepted)))
        self.sink.always_ok = True
        drained = self.drain()
        log("drained in %.0f s" % (time.time() - self.drain_start))
        for p in (self.smtpd, self.deliver):
            p.terminate()
            p.wait()
        ctl.stop()
        return self.check(drained)

    def queue_files(self):
        return os.listdir(os.path.join(self.dir, "spool", "queue"))

    def drain(self):
        end = time.time() + DRAIN_TIMEOUT
        while time.time() < end:
            if self.deliver.poll() is not None:
                log("deliver exited with", self.deliver.returncode)
                self.start_deliver()
            subprocess.run([self.mailq_bin, "-C", self.conf, "-f"],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            for _ in range(20):
                if not self.queue_files():
                    return True
                time.sleep(0.1)
        log("the queue did not drain:", len(self.queue_files()), "left")
        subprocess.run([self.mailq_bin, "-C", self.conf, "-v"],
                       stdout=sys.stderr)
        return False

    # ---- the check -----------------------------------------------------

    def copies(self):
        """{(marker, mailbox): [times]}, bounces {(marker, target)}."""
        found, bounced, bad = {}, set(), []
        for u in self.users:
            for sub in ("new", "cur"):
                for path in glob.glob(os.path.join(self.maildir(u), sub,
                                                   "*")):
                    with open(path, "rb") as f:
                        data = f.read()
                    dsn = dsn_of(data)
                    if dsn is not None:
                        for t in dsn[1]:
                            bounced.add((dsn[0], t))
                        continue
                    marker, complete = parse_copy(data)
                    if marker is None:
                        continue
                    if not complete:
                        bad.append(path)
                    name = os.path.basename(path)
                    t = float(name.split(".")[0]) + float(
                        name.split(".")[1][1:].split("P")[0]) / 1e6
                    found.setdefault((marker, u), []).append(t)
        for path in glob.glob(os.path.join(self.dir, "sink", "*.eml")):
            with open(path, "rb") as f:
                when = float(f.readline())
                mfrom = f.readline().strip().decode()
                rcpts = f.readline().decode().lower().split()
                data = f.read()
            dsn = dsn_of(data)
            if dsn is not None:
                for t in dsn[1]:
                    bounced.add((dsn[0], t))
                continue
            marker, complete = parse_copy(data)
            if marker is None:
                continue
            if not complete:
                bad.append("sink copy of " + marker)
            for r in rcpts:
                found.setdefault((marker, r), []).append(when)
        return found, bounced, bad

    def explained(self, times):
        """A kill of deliver or a worker between the first and the last."""
        lo, hi = min(times) - 1, max(times) + 1
        return any(lo <= t <= hi for t, what in self.kills
                   if what != "smtpd")

    def lose_one(self):
        """Removes a copy that is the only one: the check must see it."""
        accepted = set(a[1] for a in self.accepted)
        paths = {}
        for u in self.users:
            for path in glob.glob(os.path.join(self.maildir(u), "new",
                                               "*")):
                with open(path, "rb") as f:
                    marker, complete = parse_copy(f.read())
                if marker in accepted and complete:
                    paths.setdefault((marker, u), []).append(path)
        for key in sorted(paths):
            if len(paths[key]) == 1:
                log("removed, to test the check:", paths[key][0])
                os.unlink(paths[key][0])
                return

    def check(self, drained):
        if self.args.lose_one:
            self.lose_one()
        with open(os.path.join(self.dir, "accepted"), "w") as f:
            for qid, marker, sender, rcpts in self.accepted:
                f.write("%s %s %s %s\n" % (qid, marker, sender,
                                            " ".join(rcpts)))
        found, bounced, bad = self.copies()
        lost = dup = unexplained = 0
        for qid, marker, sender, rcpts in self.accepted:
            for t in self.targets(rcpts):
                times = found.get((marker, t), [])
                if not times:
                    if t.endswith("@" + REMOTE) and (marker, t) in bounced:
                        continue
                    lost += 1
                    log("lost: %s (%s) to %s" % (qid, marker, t))
                    continue
                if len(times) == 1:
                    continue
                dup += len(times) - 1
                if len(times) > 2 or not self.explained(times):
                    unexplained += 1
                    log("duplicated with no kill in flight: %s (%s) to "
                        "%s, %d copies" % (qid, marker, t, len(times)))
        for path in bad:
            log("incomplete copy:", path)
        left = len(self.queue_files())
        kinds = {}
        for _, what in self.kills:
            kinds[what] = kinds.get(what, 0) + 1
        log("kills by kind:", kinds, "sink answers:", self.sink.answers,
            "bounced:", len(bounced))
        print("kills=%d accepted=%d lost=%d duplicated=%d" %
              (len(self.kills), len(self.accepted), lost, dup))
        if lost or bad or unexplained or not drained or left:
            return 1
        return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kills", type=int, default=100)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--interval", type=float, default=1.0,
                   help="mean seconds between kills")
    p.add_argument("--deliveries", type=int, default=8,
                   help="max_deliveries of deliver")
    p.add_argument("--backlog", type=int, default=200,
                   help="clients wait while the queue holds more")
    p.add_argument("--p451", type=float, default=0.2)
    p.add_argument("--p550", type=float, default=0.1)
    p.add_argument("--lose-one", action="store_true",
                   help="remove one delivered copy before the check (to "
                   "test the check)")
    p.add_argument("--seed", default=str(random.randrange(1 << 30)))
    p.add_argument("--dir", help="the sandbox (default: a new one in "
                   "/tmp, removed after a clean run)")
    p.add_argument("--user", help="the mail user (default: the invoking "
                   "user; as root, _basemailtest)")
    args = p.parse_args()
    if not 8 <= args.clients <= 32:
        p.error("--clients must be 8 to 32")
    if args.user is None:
        import pwd
        args.user = (pwd.getpwuid(os.getuid()).pw_name if os.getuid()
                     else "_basemailtest")
    keep = args.dir is not None
    if not keep:
        args.dir = tempfile.mkdtemp(prefix="killcamp.")
        os.chmod(args.dir, 0o755)
    args.dir = os.path.abspath(args.dir)
    log("seed", args.seed, "sandbox", args.dir)
    rv = Campaign(args).run()
    if rv == 0 and not keep:
        shutil.rmtree(args.dir)
    sys.exit(rv)


if __name__ == "__main__":
    main()
