"""SMTP load for bench/e2e: N messages of about 4 KB over C concurrent
connections (one thread and one session each), to recipients spread
over the mailboxes user0..userM-1@example.org.  Prints, one a line,
"TOKEN T250" with T250 the time.time() of the 250 reply to the final
dot; the token is in the Subject of that message.  A sixth argument
is the From: address (default load@example.com, a domain not hosted:
bench/e2e gives load@example.org, which signs, for its DKIM rounds)."""

import smtplib
import sys
import threading
import time


def worker(port, first, count, step, mailboxes, run, out, lock, sender):
    body = ("x" * 76 + "\r\n") * 50
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    s.ehlo("load.test")
    lines = []
    for n in range(first, first + count * step, step):
        token = "%s-%d" % (run, n)
        rcpt = "user%d@example.org" % (n % mailboxes)
        msg = ("From: <%s>\r\nTo: <%s>\r\n"
               "Subject: bench %s\r\nMessage-ID: <%s@load.test>\r\n\r\n%s"
               % (sender, rcpt, token, token, body))
        s.sendmail(sender, [rcpt], msg)
        lines.append("%s %.6f\n" % (token, time.time()))
    s.quit()
    with lock:
        out.writelines(lines)


def main():
    port, total, conns, mailboxes, run = (int(sys.argv[1]),
        int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    sender = sys.argv[6] if len(sys.argv) > 6 else "load@example.com"
    lock = threading.Lock()
    threads = []
    per = total // conns
    for c in range(conns):
        t = threading.Thread(target=worker, args=(port, c, per, conns,
                             mailboxes, run, sys.stdout, lock,
                                                   sender))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
