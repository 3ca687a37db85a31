#!/usr/bin/python3
"""A small SMTP server for the e2e tests (aiosmtpd), on 127.0.0.1 only.

Delivers every accepted message byte for byte into a Maildir (new/), with
the envelope in front as X-MailFrom / X-RcptTo header lines, so a test
parses exactly what the client sent. Optional: STARTTLS (--cert/--key, then
required before MAIL and AUTH), AUTH PLAIN/LOGIN against one fixed
user:password (then required), and injected errors:
  --defer-once ADDR   the first RCPT TO:<ADDR> gets 451, later ones pass
  --reject ADDR       every RCPT TO:<ADDR> gets 550
  --data-delay SEC    store the message, then wait before the 250
Runs until SIGTERM/SIGINT. Usage:
  smtpd.py --port P --maildir DIR [--cert C --key K] [--auth USER:PASS] ...
"""
import argparse
import asyncio
import logging
import os
import signal
import socket
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, args):
        self.maildir = args.maildir
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(self.maildir, sub), exist_ok=True)
        self.defer_once = set(a.lower() for a in args.defer_once)
        self.reject = set(a.lower() for a in args.reject)
        self.delay = args.data_delay
        self.count = 0
        self.lock = threading.Lock()
        self.log = open(args.log, "a", buffering=1) if args.log else None

    def note(self, text):
        if self.log:
            self.log.write(text + "\n")

    async def handle_RCPT(self, server, session, envelope, address, options):
        a = address.lower()
        if a in self.reject:
            self.note("550 %s" % a)
            return "550 5.1.1 <%s>: mailbox unknown (injected)" % address
        if a in self.defer_once:
            self.defer_once.discard(a)
            self.note("451 %s" % a)
            return "451 4.2.0 <%s>: mailbox busy, try later (injected)" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        head = ("X-MailFrom: %s\r\nX-RcptTo: %s\r\n" % (
            envelope.mail_from, ", ".join(envelope.rcpt_tos))).encode()
        with self.lock:
            self.count += 1
            name = "%d.%d_%d.smtpd" % (time.time_ns(), os.getpid(), self.count)
        tmp = os.path.join(self.maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(head + envelope.original_content)
        os.rename(tmp, os.path.join(self.maildir, "new", name))
        self.note("250 %s" % ",".join(envelope.rcpt_tos))
        # Stored first, answered later: a client killed in between has
        # delivered a message it does not know about.
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        return "250 2.0.0 OK queued as %s" % name


def main():
    # aiosmtpd 1.4 logs a warning about its own use of Session.login_data.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--maildir", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--auth", help="USER:PASSWORD")
    p.add_argument("--defer-once", action="append", default=[])
    p.add_argument("--reject", action="append", default=[])
    p.add_argument("--data-delay", type=float, default=0.0)
    p.add_argument("--smtps", action="store_true",
                   help="TLS from the first byte (smtps://) instead of STARTTLS")
    p.add_argument("--log")
    args = p.parse_args()

    handler = Handler(args)
    kw = {}
    if args.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)
        if args.smtps:
            kw.update(ssl_context=ctx)
        else:
            kw.update(tls_context=ctx, require_starttls=True)
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, data):
            ok = (isinstance(data, LoginPassword)
                  and data.login == user.encode()
                  and data.password == password.encode())
            handler.note("AUTH %s %s" % (mechanism, "ok" if ok else "refused"))
            return AuthResult(success=ok)

        kw.update(authenticator=authenticator, auth_required=True,
                  auth_require_tls=bool(args.cert) and not args.smtps)
    ctl = Controller(handler, hostname="127.0.0.1", port=args.port,
                     server_hostname="smtpd.test", ready_timeout=10, **kw)
    ctl.start()
    done = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: done.set())
    done.wait()
    ctl.stop()
    return 0


if __name__ == "__main__":
    socket.setdefaulttimeout(30)
    sys.exit(main())
