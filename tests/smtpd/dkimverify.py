"""dkimverify.py MESSAGE RECORDS: verifies every DKIM-Signature of the
message (a file with LF or CRLF line ends) with dkimpy (python3-dkim),
an implementation independent of libopendkim, the keys taken from
RECORDS, the output of "dkimkey show" (zone file lines
'NAME. IN TXT "..." "..."'), instead of from DNS.  Prints one line a
signature, "pass SELECTOR ALGORITHM" or "fail SELECTOR ALGORITHM", and
exits 0 if there is at least one and all pass, else 1."""

import re
import sys

import dkim


def records(path):
    txt = {}
    with open(path) as f:
        for line in f:
            m = re.match(r'^(\S+)\s+IN\s+TXT\s+(.*)$', line.strip())
            if m:
                txt[m.group(1).lower()] = "".join(
                    re.findall(r'"([^"]*)"', m.group(2)))
    return txt


def main():
    with open(sys.argv[1], "rb") as f:
        msg = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    txt = records(sys.argv[2])

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return txt.get(name.lower(), "").encode()

    d = dkim.DKIM(msg)
    sigs = [v for (k, v) in dkim.rfc822_parse(msg)[0]
            if k.lower() == b"dkim-signature"]
    ok = len(sigs) > 0
    for i, sig in enumerate(sigs):
        tags = dkim.util.parse_tag_value(re.sub(rb"\s+", b"", sig))
        try:
            good = d.verify(idx=i, dnsfunc=dnsfunc)
        except dkim.DKIMException as e:
            print(e, file=sys.stderr)
            good = False
        ok = ok and good
        print("%s %s %s" % ("pass" if good else "fail",
                            tags[b"s"].decode(), tags[b"a"].decode()))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
