#!/usr/bin/python3
"""The fault campaign: every write-side call of a run fails once.

A run is first made without a fault, with tools/powercut/libiocut.so
counting the calls on files of the sandbox: opens for writing, writes
(stdio included), fsyncs, renames, links, unlinks, mkdirs.  Then, for
each N of 1 .. that count (--stride to take every Nth), the run is
made again on a fresh copy of the sandbox with call N failing with EIO,
and again with ENOSPC, and checked.

The runs:
  mail	  smtpd takes three messages (to local mailboxes), then
	  deliver -dq runs the queue; smtpd must still be up or have exited
	  with a code of smtpd(8), deliver exit 0 or a code of deliver(8).
	  Then, with no fault, deliver runs until the queue is empty, and:
	  each message that got a 250 has a complete copy in each Maildir
	  (two are counted as duplicated); one refused has none and left
	  nothing in queue/; a refusal with ENOSPC is 452 4.3.1; nothing
	  incomplete is in a new/.
  maps	  newmaps, mailadduser add and del, mailalias add and del: each
	  exits 0 or with a sysexits(3) code, and after it each map, its
	  text and its .db (dumped with postmap -s), equals the map before
	  the command or the map a run without a fault leaves.
Prints "faults=N survived=N" and exits 1 if any fault was not survived.
With --disks (as root): a full spool on a small tmpfs gives 452 4.3.1
and leaves nothing half-written; a full Maildir tmpfs defers, and the
message is delivered once there is room.
"""

import argparse
import os
import random
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "killcamp"))
import killcamp  # noqa: E402

SHIM = os.path.join(HERE, "..", "powercut", "libiocut.so")
SMTPD_CODES = {0, 1, 64, 69, 71, 73, 77, 78}
DELIVER_CODES = {0, 64, 74, 75, 77, 78}
SYSEXITS = {0} | set(range(64, 79))


def log(*a):
    print("faultinj:", *a, file=sys.stderr, flush=True)


class Sandbox(killcamp.Campaign):
    """killcamp's sandbox, with no relayhost, copied for each run."""

    def __init__(self, args, where):
        args.dir = where
        args.deliveries = 2
        killcamp.Campaign.__init__(self, args)

    def fault_env(self, count, fail):
        e = dict(os.environ, LD_PRELOAD=SHIM, IOCUT_ROOT=self.dir,
                 IOCUT_COUNT=count)
        if fail:
            e["IOCUT_FAIL"] = fail
        return e


def new_count(path):
    with open(path, "wb") as f:
        f.write(b"\0" * 4096)
    os.chmod(path, 0o666)


def read_calls(path):
    with open(path, "rb") as f:
        return int.from_bytes(f.read(16)[8:16], "little")


class Mail:
    """The mail run: smtpd, then deliver -dq, with the fault."""

    MESSAGES = [["u1@example.org", "u2@example.org"],
                ["u3@example.org"],
                ["u4@example.org", "u1@example.org"]]

    def __init__(self, sb, work):
        self.sb = sb
        self.work = work

    def one(self, d, count, fail):
        sb = self.sb
        conf = os.path.join(d, "etc", "mail.conf")
        port = killcamp.free_port()
        subprocess.run(["sed", "-i", "s/^listen .*/listen 127.0.0.1:%d/" %
                        port, conf], check=True)
        env = dict(os.environ, LD_PRELOAD=SHIM, IOCUT_ROOT=d,
                   IOCUT_COUNT=count)
        if fail:
            env["IOCUT_FAIL"] = fail
        errs = []
        smtpd = subprocess.Popen([sb.smtpd_bin, "-d", "-C", conf],
                                 stderr=open(os.path.join(d, "smtpd.log"),
                                             "a"), env=env)
        up = False
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                up = True
                break
            except OSError:
                if smtpd.poll() is not None:
                    break
                time.sleep(0.05)
        replies = []
        if up:
            for i, rcpts in enumerate(self.MESSAGES):
                marker = "m%d" % i
                data = killcamp.message_of(marker, "s@remote.test", rcpts,
                                           40)
                replies.append((marker, rcpts, self.send(port, rcpts,
                                                         data)))
        r = subprocess.run([sb.deliver_bin, "-dq", "-C", conf], env=env,
                           stderr=subprocess.DEVNULL)
        if r.returncode not in DELIVER_CODES:
            errs.append("deliver -q exited %d" % r.returncode)
        if smtpd.poll() is None:
            smtpd.terminate()
            smtpd.wait()
            if smtpd.returncode not in (0, -15):
                errs.append("smtpd exited %d on SIGTERM" % smtpd.returncode)
        elif smtpd.returncode not in SMTPD_CODES:
            errs.append("smtpd exited %d" % smtpd.returncode)
        elif up:
            errs.append("smtpd exited %d while serving" % smtpd.returncode)
        return errs + self.check(d, conf, replies, fail)

    def send(self, port, rcpts, data):
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=10)
            s.ehlo("client.test")
            code, reply = s.mail("s@remote.test")
            if code != 250:
                return (code, reply)
            for r in rcpts:
                code, reply = s.rcpt(r)
                if code != 250:
                    return (code, reply)
            code, reply = s.data(data.encode())
            s.quit()
            return (code, reply)
        except smtplib.SMTPServerDisconnected:
            return (0, b"disconnected")
        except (smtplib.SMTPException, OSError) as e:
            return (getattr(e, "smtp_code", 0),
                    getattr(e, "smtp_error", b"error"))

    def check(self, d, conf, replies, fail):
        sb = self.sb
        errs = []
        for _ in range(3):
            subprocess.run([sb.mailq_bin, "-C", conf, "-f"],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            subprocess.run([sb.deliver_bin, "-dq", "-C", conf],
                           stderr=subprocess.DEVNULL)
            if not os.listdir(os.path.join(d, "spool", "queue")):
                break
        if os.listdir(os.path.join(d, "spool", "queue")):
            errs.append("queue not empty after clean runs")
        have = {}
        for u in sb.users:
            nd = os.path.join(d, "vhosts", "example.org", u.split("@")[0],
                              "new")
            if not os.path.isdir(nd):
                continue
            for name in os.listdir(nd):
                with open(os.path.join(nd, name), "rb") as f:
                    marker, complete = killcamp.parse_copy(f.read())
                if marker is None:
                    continue
                if not complete:
                    errs.append("incomplete %s in %s" % (marker, nd))
                have[(marker, u)] = have.get((marker, u), 0) + 1
        for marker, rcpts, (code, reply) in replies:
            targets = [t for t in sb.targets(rcpts)
                       if t.endswith("@example.org")]
            if code == 250:
                for t in targets:
                    n = have.get((marker, t), 0)
                    if n == 0:
                        errs.append("%s lost for %s" % (marker, t))
                    elif n > 2:
                        errs.append("%s: %d copies for %s" % (marker, n, t))
                    elif n == 2:
                        self.sb.duplicated += 1
                continue
            for t in targets:
                if have.get((marker, t)):
                    errs.append("%s refused (%d) but delivered to %s" %
                                (marker, code, t))
            if code and not 400 <= code < 500:
                errs.append("%s refused with %d, not 4xx" % (marker, code))
            if fail and fail.endswith("ENOSPC") and code and \
                    (code != 452 or not reply.startswith(b"4.3.1")):
                errs.append("%s: ENOSPC answered %d %s" %
                            (marker, code, reply.decode()))
        return errs


class Maps:
    """An admin command; each map before, or as a clean run leaves it."""

    def __init__(self, sb, work, argv, stdin=None):
        self.sb = sb
        self.work = work
        self.argv = argv
        self.stdin = stdin
        self.pf = os.path.join(work, "pf")
        os.makedirs(self.pf, exist_ok=True)
        open(os.path.join(self.pf, "main.cf"), "w").close()
        t = time.time() - 3600
        os.utime(os.path.join(self.pf, "main.cf"), (t, t))

    def snapshot(self, d):
        out = {}
        for m in ("domains", "users", "aliases"):
            p = os.path.join(d, "maps", m)
            try:
                with open(p, "rb") as f:
                    text = f.read()
            except FileNotFoundError:
                text = None
            r = subprocess.run(["postmap", "-c", self.pf, "-s",
                                "hash:" + p], capture_output=True)
            db = b"".join(sorted(r.stdout.splitlines(True))) \
                if r.returncode == 0 else None
            out[m] = (text, db)
        return out

    def run(self, d, env):
        conf = os.path.join(d, "etc", "mail.conf")
        argv = [a.replace("@CONF@", conf) for a in self.argv]
        return subprocess.run(argv, env=env, input=self.stdin,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode

    def one(self, d, count, fail):
        env = dict(os.environ, LD_PRELOAD=SHIM, IOCUT_ROOT=d,
                   IOCUT_COUNT=count)
        if fail:
            env["IOCUT_FAIL"] = fail
        errs = []
        rc = self.run(d, env)
        if rc not in SYSEXITS:
            errs.append("%s exited %d" % (os.path.basename(self.argv[0]),
                                          rc))
        if not fail:
            self.after = self.snapshot(d)
            if rc != 0:
                errs.append("exited %d without a fault" % rc)
            return errs
        now = self.snapshot(d)
        for m, pair in now.items():
            if pair != self.before[m] and pair != self.after[m]:
                errs.append("map %s is neither before nor after (text "
                            "%s, db %s)" % (
                                m, "old" if pair[0] == self.before[m][0]
                                else "new" if pair[0] == self.after[m][0]
                                else "other",
                                "old" if pair[1] == self.before[m][1]
                                else "new" if pair[1] == self.after[m][1]
                                else "other"))
        return errs


class Faultinj:
    def __init__(self, args):
        self.args = args
        self.work = args.work
        self.faults = self.survived = 0
        self.failures = []

    def template(self):
        tdir = os.path.join(self.work, "template")
        self.sb = Sandbox(self.args, tdir)
        self.sb.setup()
        os.makedirs(os.path.join(tdir, "attic"), exist_ok=True)
        with open(self.sb.conf) as f:
            conf = f.read()
        conf = re.sub(r"^relayhost .*\n", "", conf, flags=re.M)
        conf += "attic %s/attic\n" % tdir
        with open(self.sb.conf, "w") as f:
            f.write(conf)
        self.sb.duplicated = 0

    def copy(self):
        d = os.path.join(self.work, "run")
        shutil.rmtree(d, ignore_errors=True)
        subprocess.run(["cp", "-a", os.path.join(self.work, "template"),
                        d], check=True)
        conf = os.path.join(d, "etc", "mail.conf")
        subprocess.run(["sed", "-i", "s|%s/template|%s|g" % (self.work, d),
                        conf], check=True)
        for m in ("domains", "users", "aliases"):
            p = os.path.join(d, "maps", m)
            subprocess.run(["sed", "-i", "s|%s/template|%s|g" %
                            (self.work, d), p], check=True)
        # The maps' .db name the template's homes: built again.
        subprocess.run([self.sb.newmaps_bin, "-C", conf], check=True)
        return d

    def sweep(self, name, scenario):
        count = os.path.join(self.work, "count")
        new_count(count)
        d = self.copy()
        if isinstance(scenario, Maps):
            scenario.before = scenario.snapshot(d)
        errs = scenario.one(d, count, None)
        if errs:
            log(name, "fails without a fault:", errs)
            self.failures.append((name, 0, errs))
            return
        calls = read_calls(count)
        log("%s: %d calls" % (name, calls))
        for n in range(1, calls + 1, self.args.stride):
            for e in ("EIO", "ENOSPC"):
                new_count(count)
                d = self.copy()
                errs = scenario.one(d, count, "%d:%s" % (n, e))
                self.faults += 1
                if errs:
                    self.failures.append((name, "%d:%s" % (n, e), errs))
                    log("%s: fault %d:%s: %s" % (name, n, e,
                                                 "; ".join(errs)))
                else:
                    self.survived += 1

    def run(self):
        self.template()
        conf = "@CONF@"
        hashed = (b"{SHA512-CRYPT}$6$abcdefgh$D7W7qyozKBT.t6FD3DVYHvADbIO0eSyI"
                  b"4.p20LaEUjro8PqTGYYo/EQcuNjhFbzo9Yg5ir1KIEqFY/yJpgFph0\n")
        scen = [("mail", Mail(self.sb, self.work)),
                ("newmaps", Maps(self.sb, self.work,
                                 [self.sb.newmaps_bin, "-C", conf])),
                ("mailadduser add", Maps(self.sb, self.work, [
                    self.prog("sbin/mailadduser/mailadduser"), "-C", conf,
                    "add", "-H", "0", "new@example.org"], hashed)),
                ("mailadduser del", Maps(self.sb, self.work, [
                    self.prog("sbin/mailadduser/mailadduser"), "-C", conf,
                    "del", "-f", "u5@example.org"])),
                ("mailalias add", Maps(self.sb, self.work, [
                    self.prog("sbin/mailalias/mailalias"), "-C", conf,
                    "add", "sales@example.org", "u4@example.org"])),
                ("mailalias del", Maps(self.sb, self.work, [
                    self.prog("sbin/mailalias/mailalias"), "-C", conf,
                    "del", "team@example.org"]))]
        for name, s in scen:
            if self.args.only and name.split()[0] not in self.args.only:
                continue
            self.sweep(name, s)
        print("faults=%d survived=%d duplicated=%d" %
              (self.faults, self.survived, self.sb.duplicated))
        return 1 if self.failures else 0

    def prog(self, rel):
        return self.sb.prog(rel)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--stride", type=int, default=1,
                   help="fail every Nth call only")
    p.add_argument("--only", action="append",
                   help="mail, newmaps, mailadduser, mailalias")
    p.add_argument("--work", help="the work directory (kept)")
    p.add_argument("--user")
    p.add_argument("--seed", default="faultinj")
    args = p.parse_args()
    if not os.path.exists(SHIM):
        log(SHIM, "is not built: run make tests")
        sys.exit(2)
    # A shim built with AddressSanitizer (make check SANITIZE=...) loads
    # into no program: ASan's runtime must come first.
    if subprocess.run(["/bin/true"], env=dict(os.environ,
                      LD_PRELOAD=SHIM)).returncode != 0:
        log("skipped: the shim does not load here")
        sys.exit(77)
    if os.getuid() == 0:
        log("run it as the mail user, not root")
        sys.exit(2)
    import pwd
    args.user = pwd.getpwuid(os.getuid()).pw_name
    keep = args.work is not None
    args.work = os.path.abspath(args.work) if keep else \
        tempfile.mkdtemp(prefix="faultinj.")
    os.makedirs(args.work, exist_ok=True)
    args.kills = 0
    args.interval = 1
    args.backlog = 10
    args.p451 = args.p550 = 0
    args.lose_one = False
    log("work", args.work)
    rv = Faultinj(args).run()
    if rv == 0 and not keep:
        shutil.rmtree(args.work)
    sys.exit(rv)


if __name__ == "__main__":
    main()
