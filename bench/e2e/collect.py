"""Reads e2eload's "TOKEN T_MAIL T_250" lines and the Maildirs under
ROOT.  A message's latency is the ctime of its file in new/ (set by
the rename into new/) minus the time of its MAIL command.  Prints
"accepted accept_rate e2e_rate p50_ms p99_ms": accept_rate from the
first MAIL to the last 250, e2e_rate from the first MAIL to the last
file in new/."""

import os
import sys


def main():
    tokens_file, root = sys.argv[1], sys.argv[2]
    tmail = {}
    first, last250 = None, 0.0
    with open(tokens_file) as f:
        for line in f:
            tok, tm, t250 = line.split()
            tmail[tok] = float(tm)
            first = float(tm) if first is None else min(first, float(tm))
            last250 = max(last250, float(t250))
    lat = []
    lastnew = 0.0
    for dirpath, _, filenames in os.walk(root):
        if os.path.basename(dirpath) != "new":
            continue
        for name in filenames:
            path = os.path.join(dirpath, name)
            st = os.stat(path)
            with open(path, "rb") as f:
                head = f.read(4096).decode("ascii", "replace")
            for h in head.split("\n"):
                if h.startswith("Subject: bench "):
                    tok = h[len("Subject: bench "):].strip()
                    if tok in tmail:
                        t = st.st_ctime_ns / 1e9
                        lat.append(t - tmail[tok])
                        lastnew = max(lastnew, t)
                    break
    n = len(tmail)
    if n == 0 or not lat:
        print("0 0 0 0 0")
        return
    lat.sort()
    p50 = lat[len(lat) // 2] * 1000
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    print("%d %.1f %.1f %.1f %.1f" % (n, n / (last250 - first),
          len(lat) / (lastnew - first), p50, p99))


if __name__ == "__main__":
    main()
