#!/usr/bin/env python3
"""One message through Python's smtplib, for the SMTPUTF8 tests.

usage: utf8send.py PORT FROM RCPT [SMTPUTF8]

With SMTPUTF8, smtplib says it on MAIL (and sends the commands in
UTF-8).  Prints "sent", or the code and text of the refusal.  The
message has a UTF-8 Subject: (RFC 6532).
"""
import smtplib
import sys


def main():
    port, frm, rcpt = sys.argv[1:4]
    opts = sys.argv[4:5]
    s = smtplib.SMTP("127.0.0.1", int(port), local_hostname="client.test")
    s.ehlo()
    body = ("From: <%s>\r\nTo: <%s>\r\nSubject: gr\u00fc\u00dfe\r\n\r\n"
            "Hallo.\r\n" % (frm, rcpt)).encode()
    try:
        s.sendmail(frm, [rcpt], body, mail_options=opts)
        print("sent")
    except smtplib.SMTPRecipientsRefused as e:
        code, msg = list(e.recipients.values())[0]
        print(code, msg.decode(errors="replace"))
    except smtplib.SMTPSenderRefused as e:
        print(e.smtp_code, e.smtp_error.decode(errors="replace"))
    s.quit()


if __name__ == "__main__":
    main()
