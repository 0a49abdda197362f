"""Prints "CPU_MS HWM_KB" for the processes descending from the PIDs
given (themselves included): the CPU time of the live ones and of the
children they have reaped (utime, stime, cutime, cstime), and the sum
of their peak resident sizes (VmHWM)."""

import os
import sys


def main():
    roots = {int(p) for p in sys.argv[1:]}
    parent, stat = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        parent[int(d)] = int(fields[1])
        stat[int(d)] = sum(int(x) for x in fields[11:15])
    tree = set()
    for pid in parent:
        p = pid
        while p > 1:
            if p in roots:
                tree.add(pid)
                break
            p = parent.get(p, 0)
    ticks = sum(stat[p] for p in tree)
    hwm = 0
    for p in tree:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm += int(line.split()[1])
        except OSError:
            pass
    print("%.0f %d" % (ticks * 1000.0 / os.sysconf("SC_CLK_TCK"), hwm))


if __name__ == "__main__":
    main()
