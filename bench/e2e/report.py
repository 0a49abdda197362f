"""Reads run.sh's result lines, "SYSTEM CONNS PER RUN ACCEPTED ACCEPT
E2E P50 P99 CPU_MS_PER_MSG HWM_KB", and prints per load and system the
median (min-max) of each figure over the runs, then basemail's ratio to
Postfix (for the rates; of Postfix to basemail for the latencies and
the CPU, so that above 1 is better for basemail everywhere).  With the
DKIM rounds (basemail-rsa, basemail-ed25519, postfix-opendkim), also
each signed system's accept and e2e msg/s over its unsigned one's: the
median (min-max) of the ratios of the rounds of one run, which ran
next to each other."""

import statistics
import sys

SYSTEMS = ("basemail", "basemail-rsa", "basemail-ed25519", "postfix",
           "postfix-opendkim", "smtp-sink")
SIGNED = (("basemail-rsa", "basemail"), ("basemail-ed25519", "basemail"),
          ("postfix-opendkim", "postfix"))


def fmt(vals, prec=0):
    med = statistics.median(vals)
    return "%.*f (%.*f-%.*f)" % (prec, med, prec, min(vals), prec, max(vals))


def main():
    rows = {}
    order = []
    with open(sys.argv[1]) as f:
        for line in f:
            sysname, conns, per, run, *vals = line.split()
            key = (int(conns), int(per))
            if key not in order:
                order.append(key)
            rows.setdefault((key, sysname), []).append(
                [float(v) for v in vals] + [int(run)])
    cols = ["accept msg/s", "e2e msg/s", "p50 ms", "p99 ms", "CPU ms/msg",
            "peak RSS MB"]
    print("%-7s %-16s " % ("load", "system") +
          " ".join("%-20s" % c for c in cols))
    for key in order:
        med = {}
        for sysname in SYSTEMS:
            runs = rows.get((key, sysname))
            if not runs:
                continue
            acc = [r[1] for r in runs]
            if sysname == "smtp-sink":
                print("%-7s %-16s %-20s" % ("%d:%d" % key, sysname,
                                             fmt(acc)))
                continue
            e2e = [r[2] for r in runs]
            p50 = [r[3] for r in runs]
            p99 = [r[4] for r in runs]
            cpu = [r[5] for r in runs]
            rss = [r[6] / 1024 for r in runs]
            med[sysname] = [statistics.median(x) for x in
                            (acc, e2e, p50, p99, cpu)]
            print("%-7s %-16s " % ("%d:%d" % key, sysname) + " ".join(
                "%-20s" % s for s in (fmt(acc), fmt(e2e), fmt(p50, 1),
                                      fmt(p99, 1), fmt(cpu, 2), fmt(rss))))
        if "basemail" in med and "postfix" in med:
            b, p = med["basemail"], med["postfix"]
            ratio = [b[0] / p[0], b[1] / p[1], p[2] / b[2] if b[2] else 0,
                     p[3] / b[3] if b[3] else 0, p[4] / b[4] if b[4] else 0]
            print("%-7s %-16s " % ("%d:%d" % key, "ratio") +
                  " ".join("%-20s" % ("%.2fx" % r) for r in ratio) +
                  "   e2e/accept %.0f %%" % (100 * b[1] / b[0] if b[0]
                                              else 0))
        for signed, unsigned in SIGNED:
            sruns = {r[-1]: r for r in rows.get((key, signed), [])}
            uruns = {r[-1]: r for r in rows.get((key, unsigned), [])}
            both = [n for n in sruns if n in uruns and uruns[n][1] and
                    uruns[n][2]]
            if not both:
                continue
            acc = [sruns[n][1] / uruns[n][1] for n in both]
            e2e = [sruns[n][2] / uruns[n][2] for n in both]
            print("%-7s %-16s accept %s   e2e %s   (signed/unsigned, "
                  "%d runs)" % ("%d:%d" % key, signed, fmt(acc, 2),
                                fmt(e2e, 2), len(both)))


if __name__ == "__main__":
    main()
