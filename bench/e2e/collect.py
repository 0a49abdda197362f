"""Reads load.py's "TOKEN T250" lines and the Maildirs under ROOT;
for each message, the latency is the ctime of its file in new/ (set
by the rename into new/) minus the time of the 250.  Prints count,
messages per second (first 250 to the last file), p50 and p99."""

import os
import sys


def main():
    tokens_file, root, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    t250 = {}
    with open(tokens_file) as f:
        for line in f:
            tok, t = line.split()
            t250[tok] = float(t)
    lat = []
    last = 0.0
    for dirpath, dirnames, filenames in os.walk(root):
        if os.path.basename(dirpath) != "new":
            continue
        for name in filenames:
            path = os.path.join(dirpath, name)
            st = os.stat(path)
            with open(path, "rb") as f:
                head = f.read(2048).decode("ascii", "replace")
            for h in head.split("\n"):
                if h.startswith("Subject: bench "):
                    tok = h[len("Subject: bench "):].strip()
                    if tok in t250:
                        t = st.st_ctime_ns / 1e9
                        lat.append(t - t250[tok])
                        last = max(last, t)
                    break
    lat.sort()
    n = len(lat)
    if n == 0:
        print("0 0 0 0")
        return
    p50 = lat[n // 2] * 1000
    p99 = lat[min(n - 1, int(n * 0.99))] * 1000
    print("%d %.1f %.1f %.1f" % (n, n / (last - start), p50, p99))


if __name__ == "__main__":
    main()
