#!/usr/bin/python3
"""Misbehaving mail servers for the fault tests, on 127.0.0.1 only.

SMTP (--smtp): a plain SMTP server (no TLS) that delivers accepted messages
byte for byte into MAILDIR/new with X-MailFrom / X-RcptTo in front, like
smtpd.py. While a fault is active it misbehaves with --fault:
  greet421   answers every connection "421" and closes it
  drop-data  reads part of the DATA and closes the connection (nothing stored)
  slow       waits --delay seconds before the greeting (nothing stored)
A fault is active for the first --first N connections, and while the file
--fault-file exists.

IMAP (--imap): a one-folder IMAP4rev1 server (MOVE, UIDPLUS) over the *.eml
files of --spool, user/password from --auth, with faults:
  fetch-drop   the first UID FETCH sends half a literal and closes
  no-create    CREATE answers NO (the target folders never exist)
  no-move      UID MOVE / UID COPY answer NO
--log gets one line per event. Runs until SIGTERM.
"""
import argparse
import os
import re
import signal
import socket
import socketserver
import sys
import threading
import time


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.conns = 0
        self.stored = 0
        self.log = open(args.log, "a", buffering=1) if args.log else None

    def note(self, text):
        if self.log:
            with self.lock:
                self.log.write(text + "\n")

    def next_conn(self):
        with self.lock:
            self.conns += 1
            return self.conns

    def fault_on(self, n):
        a = self.args
        return n <= a.first or (a.fault_file and os.path.exists(a.fault_file))


class Quiet(socketserver.StreamRequestHandler):
    """A client that hangs up (or a fault that does) is not an error."""

    def handle(self):
        try:
            self.serve()
        except (ConnectionError, BrokenPipeError, socket.timeout, OSError):
            pass


class SMTP(Quiet):
    def send(self, line):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def serve(self):
        st = self.server.st
        n = st.next_conn()
        fault = st.args.fault if st.fault_on(n) else None
        st.note("conn %d fault=%s" % (n, fault))
        if fault == "greet421":
            self.send("421 4.3.2 faultsrv busy, try later")
            return
        if fault == "slow":
            time.sleep(st.args.delay)
        self.send("220 faultsrv ESMTP")
        mail_from, rcpts = "", []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode("latin-1").strip()
            up = cmd.upper()
            if up.startswith("EHLO"):
                self.wfile.write(b"250-faultsrv\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n")
                self.wfile.flush()
            elif up.startswith("HELO"):
                self.send("250 faultsrv")
            elif up.startswith("MAIL FROM:"):
                mail_from, rcpts = cmd[10:].strip().split(" ")[0].strip("<>"), []
                self.send("250 2.1.0 OK")
            elif up.startswith("RCPT TO:"):
                rcpts.append(cmd[8:].strip().split(" ")[0].strip("<>"))
                self.send("250 2.1.5 OK")
            elif up == "DATA":
                self.send("354 go ahead")
                data = bytearray()
                while True:
                    l = self.rfile.readline()
                    if not l:
                        return
                    if fault == "drop-data" and len(data) > 300:
                        st.note("drop mid-DATA conn %d" % n)
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    if l in (b".\r\n", b".\n"):
                        break
                    if l.startswith(b".."):
                        l = l[1:]
                    data += l
                head = ("X-MailFrom: %s\r\nX-RcptTo: %s\r\n" % (
                    mail_from, ", ".join(rcpts))).encode()
                with st.lock:
                    st.stored += 1
                    name = "%d.%d_%d.faultsrv" % (time.time_ns(), os.getpid(), st.stored)
                md = st.args.maildir
                with open(os.path.join(md, "tmp", name), "wb") as f:
                    f.write(head + bytes(data))
                os.rename(os.path.join(md, "tmp", name), os.path.join(md, "new", name))
                st.note("250 %s" % ",".join(rcpts))
                self.send("250 2.0.0 queued as %s" % name)
            elif up == "RSET" or up == "NOOP":
                self.send("250 2.0.0 OK")
            elif up == "QUIT":
                self.send("221 2.0.0 bye")
                return
            else:
                self.send("502 5.5.2 not implemented")


class IMAP(Quiet):
    """Just enough IMAP for enquete's source: one folder, UIDs in file order."""

    def send(self, s):
        if isinstance(s, str):
            s = s.encode()
        self.wfile.write(s + b"\r\n")
        self.wfile.flush()

    def serve(self):
        st = self.server.st
        n = st.next_conn()
        st.note("imap conn %d" % n)
        user, pw = st.args.auth.split(":", 1)
        self.send("* OK [CAPABILITY IMAP4rev1 MOVE UIDPLUS] faultsrv ready")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            parts = text.split(" ", 2)
            if len(parts) < 2:
                self.send("* BAD what")
                continue
            tag, cmd = parts[0], parts[1].upper()
            rest = parts[2] if len(parts) > 2 else ""
            if cmd == "UID":
                sub = rest.split(" ", 1)
                cmd = "UID " + sub[0].upper()
                rest = sub[1] if len(sub) > 1 else ""
            st.note("imap %s %s" % (cmd, rest[:60]))
            if not self.command(st, tag, cmd, rest, user, pw):
                return

    def msgs(self, st):
        with st.lock:
            return list(st.mbox)

    def command(self, st, tag, cmd, rest, user, pw):
        a = st.args
        if cmd == "CAPABILITY":
            self.send("* CAPABILITY IMAP4rev1 MOVE UIDPLUS")
        elif cmd == "NOOP":
            pass
        elif cmd == "LOGIN":
            words = [w.strip('"') for w in rest.split(" ")]
            if words[:2] != [user, pw]:
                self.send("%s NO [AUTHENTICATIONFAILED] bad" % tag)
                return True
        elif cmd == "LOGOUT":
            self.send("* BYE")
            self.send("%s OK bye" % tag)
            return False
        elif cmd in ("SELECT", "EXAMINE"):
            box = rest.strip('"')
            if box.upper() != "INBOX":
                # The only folders: INBOX and what was created (empty).
                with st.lock:
                    ok = box in st.folders
                if not ok:
                    self.send("%s NO [NONEXISTENT] no such folder" % tag)
                    return True
                self.send("* 0 EXISTS")
                self.send("* OK [UIDVALIDITY %d] v" % a.uidvalidity)
                self.send("%s OK [READ-WRITE] done" % tag)
                return True
            m = self.msgs(st)
            self.send("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
            self.send("* %d EXISTS" % len(m))
            self.send("* 0 RECENT")
            self.send("* OK [UIDVALIDITY %d] v" % a.uidvalidity)
            self.send("* OK [UIDNEXT %d] n" % ((m[-1][0] + 1) if m else st.uidnext))
            self.send("%s OK [READ-WRITE] done" % tag)
            return True
        elif cmd == "LIST":
            box = rest.split(" ", 1)[-1].strip('"')
            with st.lock:
                have = box in st.folders or box.upper() == "INBOX"
            if have:
                self.send('* LIST () "/" "%s"' % box)
        elif cmd == "CREATE":
            box = rest.strip('"')
            if a.fault == "no-create":
                self.send("%s NO [CANNOT] you may not create %s" % (tag, box))
                return True
            with st.lock:
                st.folders.add(box)
        elif cmd == "UID SEARCH":
            self.send("* SEARCH " + " ".join(str(u) for u, _ in self.msgs(st)))
        elif cmd == "UID FETCH":
            uids = self.uidset(rest.split(" ", 1)[0])
            for i, (u, data) in enumerate(self.msgs(st)):
                if u not in uids:
                    continue
                head = "* %d FETCH (UID %d BODY[] {%d}" % (i + 1, u, len(data))
                if a.fault == "fetch-drop" and not st.dropped:
                    st.dropped = True
                    st.note("imap drop mid-FETCH uid %d" % u)
                    self.send(head)
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return False
                self.send(head)
                self.wfile.write(data)
                self.send(")")
        elif cmd in ("UID MOVE", "UID COPY"):
            uidset, box = rest.split(" ", 1)
            box = box.strip('"')
            if a.fault == "no-move":
                self.send("%s NO [CANNOT] cannot move to %s" % (tag, box))
                return True
            with st.lock:
                if box not in st.folders:
                    self.send("%s NO [TRYCREATE] no folder" % tag)
                    return True
            if cmd == "UID MOVE":
                self.remove(st, self.uidset(uidset))
        elif cmd == "UID STORE":
            pass  # \Deleted: remembered by UID EXPUNGE below
        elif cmd in ("UID EXPUNGE", "EXPUNGE"):
            self.remove(st, self.uidset(rest) if rest else set(u for u, _ in self.msgs(st)))
        elif cmd == "CLOSE" or cmd == "CHECK":
            pass
        else:
            self.send("%s BAD unknown %s" % (tag, cmd))
            return True
        self.send("%s OK %s done" % (tag, cmd))
        return True

    def uidset(self, s):
        m = self.msgs(self.server.st)
        top = m[-1][0] if m else 0
        out = set()
        for part in s.split(","):
            if ":" in part:
                lo, hi = part.split(":")
                lo = int(lo)
                hi = top if hi == "*" else int(hi)
                out.update(range(min(lo, hi), max(lo, hi) + 1))
            elif part.strip():
                out.add(top if part == "*" else int(part))
        return out

    def remove(self, st, uids):
        with st.lock:
            for i in range(len(st.mbox) - 1, -1, -1):
                if st.mbox[i][0] in uids:
                    self.send("* %d EXPUNGE" % (i + 1))
                    st.note("imap removed uid %d" % st.mbox[i][0])
                    del st.mbox[i]


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--smtp", action="store_true")
    p.add_argument("--imap", action="store_true")
    p.add_argument("--maildir")
    p.add_argument("--fault")
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--fault-file")
    p.add_argument("--delay", type=float, default=5.0)
    p.add_argument("--spool")
    p.add_argument("--auth", default="enquete:secret")
    p.add_argument("--uidvalidity", type=int, default=1234)
    p.add_argument("--log")
    args = p.parse_args()
    st = State(args)
    if args.smtp:
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(args.maildir, sub), exist_ok=True)
        handler = SMTP
    else:
        st.folders = set()
        st.dropped = False
        names = sorted(f for f in os.listdir(args.spool) if f.endswith(".eml"))
        st.mbox = [(i + 1, open(os.path.join(args.spool, f), "rb").read())
                   for i, f in enumerate(names)]
        st.uidnext = len(st.mbox) + 1
        handler = IMAP
    srv = Server(("127.0.0.1", args.port), handler)
    srv.st = st
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    done = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: done.set())
    done.wait()
    srv.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
