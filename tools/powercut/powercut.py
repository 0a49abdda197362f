#!/usr/bin/python3
"""The power-loss campaign: what survives a cut at any instant.

smtpd and deliver run under load with libiocut.so (shim.c), which
records what each fsync(2) made durable: a file's contents, a
directory's entries.  Then, for CUTS instants chosen at random among
the recorded events, the tree the disk would hold after a power cut
there is rebuilt in a fresh directory, with only what was fsynced
before it (the simplest sound model: a file's data is durable once
the file is fsynced, a name once its directory is), and checked:

  - every message that got its 250 before the cut is complete in the
    rebuilt queue/, or (removed from it) complete in the Maildir of
    each of its recipients;
  - every recipient that the rebuilt state/ records delivered has the
    message complete in its Maildir's new/;
  - every file in a new/ is complete.

Prints "cuts=N acked=N checked=N violations=N" and exits 1 on any
violation, 2 on a setup failure, 77 (skipped) where the shim cannot
run.
"""

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "killcamp"))
import killcamp  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM = os.path.join(HERE, "libiocut.so")


def log(*a):
    print("powercut:", *a, file=sys.stderr, flush=True)


class Record:
    """The events of the shim's log, by kind."""

    def __init__(self, path):
        self.files = {}     # identity -> [(seq, blob)]
        self.dirs = {}      # path -> [(end, start, {name: (type, id)})]
        self.acks = []      # (seq, qid)
        self.maxseq = 0
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "surrogateescape").split("\n")
        i = 0
        while i < len(lines):
            line = lines[i]
            i += 1
            if line.startswith("F "):
                _, seq, ident, p = line.split(" ", 3)
                self.files.setdefault(ident, []).append(
                    (int(seq), path + ".d/" + seq))
                self.maxseq = max(self.maxseq, int(seq))
            elif line.startswith("A "):
                _, seq, qid = line.split(" ")
                self.acks.append((int(seq), qid))
                self.maxseq = max(self.maxseq, int(seq))
            elif line.startswith("D "):
                _, start, seq, p = line.split(" ", 3)
                ents = {}
                while i < len(lines) and lines[i] != ".":
                    _, t, ident, name = lines[i].split(" ", 3)
                    ents[name] = (t, ident)
                    i += 1
                i += 1
                self.dirs.setdefault(p, []).append((int(seq), int(start),
                                                    ents))
                self.maxseq = max(self.maxseq, int(seq))
        for v in self.files.values():
            v.sort()
        for v in self.dirs.values():
            v.sort(key=lambda x: x[0])

    @staticmethod
    def last(events, cut):
        best = None
        for e in events:
            if e[0] >= cut:
                break
            best = e
        return best

    def entries(self, path, cut):
        """The names of directory path that the fsyncs before cut made
        durable: a name a listing had is there, unless a listing that
        began after that one ended lacks it."""
        done = [d for d in self.dirs.get(path, []) if d[0] < cut]
        seen = {}
        for end, start, ents in done:
            for name, e in ents.items():
                seen[name] = (end, e)
        out = {}
        for name, (end, e) in seen.items():
            if not any(start > end and name not in ents
                       for _, start, ents in done):
                out[name] = e
        return out

    def rebuild(self, root, cut, out):
        """The tree under root as a cut before event cut leaves it."""
        os.makedirs(out, exist_ok=True)
        for name, (t, ident) in self.entries(root, cut).items():
            src, dst = os.path.join(root, name), os.path.join(out, name)
            if t == "d":
                self.rebuild(src, cut, dst)
            elif t == "f":
                f = self.last(self.files.get(ident, []), cut)
                if f is None:
                    open(dst, "wb").close()
                else:
                    shutil.copyfile(f[1], dst)
            elif t == "o":
                os.mkfifo(dst)


def envelope_of(data):
    """(rcpts, body) of a queue file, or None if it does not parse."""
    head, sep, body = data.partition(b"\n\n")
    if not sep:
        return None
    lines = head.decode("utf-8", "replace").split("\n")
    if not lines or lines[0] != "V 1":
        return None
    return [l[2:] for l in lines if l.startswith("R ")], body


class Powercut(killcamp.Campaign):
    def daemon_env(self):
        e = dict(os.environ)
        e.update(LD_PRELOAD=SHIM, IOCUT_ROOT=self.dir,
                 IOCUT_LOG=self.log, IOCUT_COUNT=self.count)
        return e

    def spool_dirs(self):
        os.makedirs(os.path.join(self.dir, "spool", "tmp"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "spool", "queue"),
                    exist_ok=True)
        os.makedirs(os.path.join(self.dir, "spool", "state"),
                    exist_ok=True)
        fifo = os.path.join(self.dir, "spool", "wakeup")
        if not os.path.exists(fifo):
            os.mkfifo(fifo, 0o600)

    def baseline(self):
        """Every file and directory of the sandbox, fsynced: the start."""
        walker = ("import os,sys\n"
                  "for d, ds, fs in os.walk(sys.argv[1]):\n"
                  "  for f in fs:\n"
                  "    p = os.path.join(d, f)\n"
                  "    if os.path.isfile(p) and not os.path.islink(p):\n"
                  "      fd = os.open(p, os.O_RDONLY); os.fsync(fd); "
                  "os.close(fd)\n"
                  "  fd = os.open(d, os.O_RDONLY); os.fsync(fd); "
                  "os.close(fd)\n")
        subprocess.run(["/usr/bin/python3", "-c", walker, self.dir],
                       env=self.daemon_env(), check=True)

    def run(self):
        work = os.path.dirname(self.dir)
        self.log = os.path.join(work, "iocut.log")
        self.count = os.path.join(work, "iocut.count")
        os.makedirs(self.log + ".d")
        with open(self.count, "wb") as f:
            f.write(b"\0" * 4096)
        self.setup()
        self.spool_dirs()
        self.baseline()
        if os.getuid() == 0:
            subprocess.run(["chown", "-R", self.args.user, work],
                           check=True)
        self.start_smtpd()
        self.start_deliver()
        threads = [threading.Thread(target=self.client, args=(i,),
                                    daemon=True)
                   for i in range(self.args.clients)]
        for t in threads:
            t.start()
        time.sleep(self.args.seconds)
        self.stop_load.set()
        for t in threads:
            t.join(60)
        time.sleep(1)
        for p in (self.smtpd, self.deliver):
            p.kill()
            p.wait()
        return self.cuts()

    def pick(self, rng):
        # Local mail only: the cut is about the disk.
        rcpts = rng.sample(self.users, rng.randint(1, 3))
        if rng.random() < 0.1:
            rcpts.append(killcamp.ALIAS)
        return "s@" + killcamp.REMOTE, rcpts

    def cuts(self):
        rec = Record(self.log)
        accepted = {qid: (marker, rcpts)
                    for qid, marker, sender, rcpts in self.accepted}
        log("%d events, %d acks, %d accepted by the clients" %
            (rec.maxseq, len(rec.acks), len(accepted)))
        rng = random.Random(self.args.seed)
        points = sorted(rng.sample(range(1, rec.maxseq + 2),
                                   min(self.args.cuts, rec.maxseq + 1)))
        violations = checked = 0
        out = os.path.join(os.path.dirname(self.dir), "replay")
        for cut in points:
            shutil.rmtree(out, ignore_errors=True)
            rec.rebuild(self.dir, cut, out)
            v, n = self.check_cut(rec, cut, out, accepted)
            violations += v
            checked += n
        print("cuts=%d acked=%d checked=%d violations=%d" %
              (len(points), len(rec.acks), checked, violations))
        return 1 if violations else 0

    def mailbox(self, root, addr):
        return os.path.join(root, "vhosts", killcamp.DOMAIN,
                            addr.split("@")[0])

    def copies(self, root):
        """{(marker, mailbox)}, and the incomplete files of new/."""
        have, bad = set(), []
        for u in self.users:
            d = os.path.join(self.mailbox(root, u), "new")
            if not os.path.isdir(d):
                continue
            for name in os.listdir(d):
                with open(os.path.join(d, name), "rb") as f:
                    marker, complete = killcamp.parse_copy(f.read())
                if marker is None or not complete:
                    bad.append(os.path.join(d, name))
                else:
                    have.add((marker, u))
        return have, bad

    def check_cut(self, rec, cut, root, accepted):
        v = n = 0
        have, bad = self.copies(root)
        for path in bad:
            log("cut %d: incomplete in new/: %s" % (cut, path))
            v += 1
        qdir = os.path.join(root, "spool", "queue")
        sdir = os.path.join(root, "spool", "state")
        markers = {}
        for seq, qid in rec.acks:
            if seq >= cut or qid not in accepted:
                continue
            n += 1
            marker, rcpts = accepted[qid]
            markers[qid] = marker
            qf = os.path.join(qdir, qid)
            if os.path.exists(qf):
                with open(qf, "rb") as f:
                    env = envelope_of(f.read())
                if env is None or env[0] != rcpts or \
                        killcamp.parse_copy(env[1]) != (marker, True):
                    log("cut %d: %s acked, incomplete in queue/" %
                        (cut, qid))
                    v += 1
                continue
            for t in self.targets(rcpts):
                if t.endswith("@" + killcamp.DOMAIN) and \
                        (marker, t) not in have:
                    log("cut %d: %s acked, gone from queue/, no copy "
                        "for %s" % (cut, qid, t))
                    v += 1
        if os.path.isdir(sdir):
            for qid in os.listdir(sdir):
                if qid not in accepted:
                    continue
                marker = accepted[qid][0]
                with open(os.path.join(sdir, qid), "rb") as f:
                    lines = f.read().decode("utf-8", "replace").split("\n")
                for line in lines[:-1]:
                    f = line.split("\t")
                    if len(f) == 7 and f[0] == "D" and \
                            (marker, f[5]) not in have:
                        log("cut %d: %s: state says %s delivered, no "
                            "copy in new/" % (cut, qid, f[5]))
                        v += 1
        return v, n


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cuts", type=int, default=200)
    p.add_argument("--seconds", type=float, default=20,
                   help="how long the load runs")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seed", default=str(random.randrange(1 << 30)))
    p.add_argument("--dir", help="the work directory (kept)")
    p.add_argument("--user")
    args = p.parse_args()
    if not os.path.exists(SHIM):
        log(SHIM, "is not built: run make tests")
        sys.exit(2)
    if subprocess.run(["/bin/true"], env=dict(os.environ,
                      LD_PRELOAD=SHIM)).returncode != 0:
        log("skipped: the shim does not load here")
        sys.exit(77)
    if args.user is None:
        import pwd
        args.user = (pwd.getpwuid(os.getuid()).pw_name if os.getuid()
                     else "_basemailtest")
    keep = args.dir is not None
    work = os.path.abspath(args.dir) if keep else \
        tempfile.mkdtemp(prefix="powercut.")
    os.makedirs(work, exist_ok=True)
    os.chmod(work, 0o755)
    args.dir = os.path.join(work, "sb")
    args.interval = 1
    args.deliveries = 4
    args.backlog = 100
    args.p451 = args.p550 = 0
    args.lose_one = False
    log("seed", args.seed, "work", work)
    rv = Powercut(args).run()
    if rv == 0 and not keep:
        shutil.rmtree(work)
    sys.exit(rv)


if __name__ == "__main__":
    main()
