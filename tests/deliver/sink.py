"""An SMTP server for the deliver tests, on aiosmtpd.

Each accepted message is written to DIR/N.eml: the envelope as
"MAIL FROM:<...>" and "RCPT TO:<...>" lines, "SESSION n", an empty
and "TLS yes|no" lines, an empty line, then the DATA content exactly as
received (CRLF, dot-unstuffed).  --tls CERT,KEY offers STARTTLS;
--broken-tls accepts it and then breaks the handshake; --smtps uses
the certificate for implicit TLS instead.  --auth LOGIN:PASSWORD
requires AUTH (over TLS) before MAIL, each attempt logged to DIR/auth
as "MECHANISM LOGIN ok|bad", and the message gets an "AUTH LOGIN" line
after its SESSION line; --auth-only MECH offers that mechanism alone.
The answer to a recipient depends on its local part: "defer..." gets
451, "reject..." gets 550, anything else 250.  --data-reply CODE makes
the end of DATA answer CODE; --data-delay S waits S seconds first.
--mail-reply REPLY answers MAIL with REPLY; --pipelining announces
PIPELINING (aiosmtpd reads pipelined commands in order anyway);
--smtputf8 offers SMTPUTF8 (RFC 6531), which it does not without.  DIR/sessions counts the connections.
"""

import argparse
import asyncio
import os
import signal
import ssl

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, args):
        self.args = args
        self.count = 0
        self.sessions = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self._session(session)
        session.host_name = hostname
        if self.args.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        self._session(session)
        session.host_name = hostname
        return "250 {}".format(server.hostname)

    def _session(self, session):
        if getattr(session, "counted", False):
            return
        session.counted = True
        self.sessions += 1
        session.number = self.sessions
        with open(os.path.join(self.args.dir, "sessions"), "w") as f:
            f.write("%d\n" % self.sessions)

    async def handle_MAIL(self, server, session, envelope, address, options):
        if self.args.mail_reply:
            return self.args.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, options):
        local = address.split("@")[0]
        if local.startswith("defer"):
            return "451 4.2.0 <%s>: try again later" % address
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: no such user" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        if self.args.data_delay:
            open(os.path.join(self.args.dir, "data-started"), "w").close()
            await asyncio.sleep(self.args.data_delay)
        if self.args.data_reply:
            return self.args.data_reply
        self.count += 1
        path = os.path.join(self.args.dir, "%d.eml" % self.count)
        with open(path + ".tmp", "wb") as f:
            f.write(b"MAIL FROM:<%s> %s\n" % (
                envelope.mail_from.encode(),
                " ".join(envelope.mail_options).encode()))
            for r in envelope.rcpt_tos:
                f.write(b"RCPT TO:<%s>\n" % r.encode())
            f.write(b"SESSION %d\n" % getattr(session, "number", 0))
            if session.authenticated:
                f.write(b"AUTH %s\n" % session.auth_data.login)
            tls = session.ssl or self.args.smtps
            f.write(b"TLS %s\n\n" % (b"yes" if tls else b"no"))
            f.write(envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 2.0.0 Ok: queued as S%d" % self.count


class Authenticator:
    def __init__(self, args):
        self.dir = args.dir
        login, password = args.auth.split(":", 1)
        self.login = login.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and
              auth_data.login == self.login and
              auth_data.password == self.password)
        login = getattr(auth_data, "login", b"?").decode(errors="replace")
        with open(os.path.join(self.dir, "auth"), "a") as f:
            f.write("%s %s %s\n" % (mechanism, login, "ok" if ok else "bad"))
        return AuthResult(success=ok, handled=False, auth_data=auth_data)


class BrokenTLS(SMTP):
    """Says yes to STARTTLS, then sends no handshake but garbage."""

    async def smtp_STARTTLS(self, arg):
        await self.push("220 2.0.0 Ready to start TLS")
        self.transport.write(b"this is not TLS\r\n" * 8)
        self.transport.close()


class Ctl(Controller):
    def __init__(self, *args, broken_tls=False, **kwargs):
        self.broken_tls = broken_tls
        super().__init__(*args, **kwargs)

    def factory(self):
        cls = BrokenTLS if self.broken_tls else SMTP
        return cls(self.handler, **self.SMTP_kwargs)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--data-reply")
    p.add_argument("--mail-reply")
    p.add_argument("--pipelining", action="store_true")
    p.add_argument("--smtputf8", action="store_true")
    p.add_argument("--size", type=int, default=10 * 1024 * 1024)
    p.add_argument("--hostname", default="sink.test")
    p.add_argument("--data-delay", type=float, default=0)
    p.add_argument("--tls", help="CERT,KEY: offer STARTTLS")
    p.add_argument("--broken-tls", action="store_true")
    p.add_argument("--smtps", action="store_true")
    p.add_argument("--auth", help="LOGIN:PASSWORD: require AUTH")
    p.add_argument("--auth-only", help="PLAIN or LOGIN: offer only it")
    args = p.parse_args()
    handler = Handler(args)
    kwargs = {}
    if args.tls:
        cert, key = args.tls.split(",")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        if args.smtps:
            kwargs["ssl_context"] = ctx
        else:
            kwargs["tls_context"] = ctx
    if args.auth:
        kwargs["authenticator"] = Authenticator(args)
        kwargs["auth_required"] = True
        # Implicit TLS is TLS, though aiosmtpd counts only STARTTLS.
        kwargs["auth_require_tls"] = not args.smtps
        if args.auth_only:
            kwargs["auth_exclude_mechanism"] = (
                {"PLAIN", "LOGIN"} - {args.auth_only})
    ctl = Ctl(handler, hostname="127.0.0.1", port=args.port,
              server_hostname=args.hostname, decode_data=False,
              enable_SMTPUTF8=args.smtputf8, data_size_limit=args.size,
              broken_tls=args.broken_tls, **kwargs)
    ctl.start()
    open(os.path.join(args.dir, "ready"), "w").close()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    ctl.stop()


if __name__ == "__main__":
    main()
