#!/usr/bin/python3
"""Bench ingest-imap: `enquete ingest` of N=10,000 replies from Dovecot over
imap:// (fetch, parse, match, record, move to Processed) against `mbsync`
pulling the same N messages from Dovecot into an empty local Maildir, once
with its default durability (fsync per message) and once with `FSync no`.

Set-up (untimed): a maildir-transport `enquete send` produces N real
invitations; bench/ingest.py's make_replies answers each one (four client
styles, From the invitee, In-Reply-To the invitation's Message-ID). An
unprivileged Dovecot (RECIPES.md) serves three users; the same N files are
written straight into each user's Maildir/new: `enquete` for the ingest,
`mbsync1` / `mbsync2` for the two mbsync runs, so every run starts from a
full, never-selected INBOX.

Prints `bench: ingest ratio=R …` with R = enquete msgs/s ÷ mbsync msgs/s
(default durability; HIGHER is better, target ≥ 1.5) and enquete's own peak
RSS (as /usr/bin/time reports it), and `bench: ingest-vs-mbsync-nofsync ratio=…`.
INGEST_IMAP_N sets N (10000); INGEST_IMAP_BIG (0 = skipped) runs a second,
larger enquete ingest for its peak RSS only (100000 takes several minutes:
the send of 100k invitations alone dominates).
"""
import glob
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402
from ingest import make_replies  # noqa: E402
from send_5k import run_rss  # noqa: E402

N = int(os.environ.get("INGEST_IMAP_N", "10000"))
BIG = int(os.environ.get("INGEST_IMAP_BIG", "0"))
PASSWORD = "bench-pw"
USERS = ("enquete", "mbsync1", "mbsync2")


class Dovecot:
    """An unprivileged Dovecot on 127.0.0.1 with a plain-text listener;
    users of USERS share PASSWORD, homes under DIR/home (nobody:nogroup)."""

    def __init__(self, d):
        self.dir = os.path.join(d, "dovecot")
        self.port = B.free_port()
        run = os.path.join(self.dir, "run")
        for sub in ("run", "state", "home"):
            os.makedirs(os.path.join(self.dir, sub))
        for u in USERS:
            for sub in ("new", "cur", "tmp"):
                os.makedirs(os.path.join(self.maildir(u), sub))
        for root, dirs, _ in os.walk(os.path.join(self.dir, "home")):
            os.chown(root, 65534, 65534)
            for x in dirs:
                os.chown(os.path.join(root, x), 65534, 65534)
        # Dovecot's auth and mail processes run as nobody and must reach in.
        os.chmod(d, 0o711)
        os.chmod(self.dir, 0o755)
        pw = os.path.join(self.dir, "passwd")
        with open(pw, "w") as f:
            for u in USERS:
                f.write("%s:{PLAIN}%s\n" % (u, PASSWORD))
        os.chmod(pw, 0o644)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write("""protocols = imap
listen = 127.0.0.1
base_dir = %(run)s
state_dir = %(dir)s/state
log_path = %(dir)s/dovecot.log
default_internal_user = nobody
default_login_user = nobody
disable_plaintext_auth = no
ssl = no
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %(pw)s
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=%(dir)s/home/%%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %(port)d
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
""" % {"run": run, "dir": self.dir, "pw": pw, "port": self.port})
        self.pidfile = os.path.join(run, "master.pid")

    def start(self):
        # Output to a file: the daemon inherits a pipe and would hold it open.
        log = os.path.join(self.dir, "start.log")
        with open(log, "w+b") as out:
            p = subprocess.run(["dovecot", "-c", self.conf], stdout=out,
                               stderr=subprocess.STDOUT, timeout=20)
            out.seek(0)
            text = out.read().decode("utf-8", "replace")
        if p.returncode != 0:
            raise RuntimeError("dovecot did not start: %s" % text)
        end = time.monotonic() + 5
        while not os.path.exists(self.pidfile):
            if time.monotonic() > end:
                raise RuntimeError("dovecot wrote no pid file")
            time.sleep(0.02)
        wait = subprocess.Popen(["sleep", "10"])  # wait_port wants a proc
        try:
            B.wait_port(self.port, wait)
        finally:
            wait.kill()
            wait.wait()

    def maildir(self, user):
        return os.path.join(self.dir, "home", user, "Maildir")

    def deliver(self, user, files):
        """Writes files into user's INBOX the way an MDA does (tmp/, then a
        rename into new/), owned by nobody."""
        md = self.maildir(user)
        for i, f in enumerate(files):
            name = "%d.B%d.bench" % (1769860800 + i, i)
            tmp = os.path.join(md, "tmp", name)
            shutil.copyfile(f, tmp)
            os.chown(tmp, 65534, 65534)
            os.rename(tmp, os.path.join(md, "new", name))

    def count(self, user, folder="INBOX"):
        md = self.maildir(user)
        d = md if folder == "INBOX" else os.path.join(md, "." + folder)
        return sum(len(os.listdir(os.path.join(d, s)))
                   for s in ("new", "cur") if os.path.isdir(os.path.join(d, s)))

    def stop(self):
        try:
            with open(self.pidfile) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            return
        end = time.monotonic() + 5
        while os.path.exists(self.pidfile) and time.monotonic() < end:
            time.sleep(0.05)


def imap_install(d, dc, n):
    """benchlib's installation (n invitations, n + 100 people), with [imap]
    pointing at Dovecot's user `enquete`."""
    B.N = n  # write_install sizes the campaign and the org from B.N
    cfg = B.write_install(d, "maildir:outbox", n_people=n + 100)
    pwfile = os.path.join(d, "imap.pw")
    with open(pwfile, "w") as f:
        f.write(PASSWORD + "\n")
    os.chmod(pwfile, 0o600)
    with open(cfg) as f:
        text = f.read()
    text = text.replace(
        "[imap]\nurl = maildir:inbox\n",
        "[imap]\nurl = imap://127.0.0.1:%d/INBOX\ntls = off\nuser = enquete\n"
        "password_file = %s\n" % (dc.port, pwfile), 1)
    with open(cfg, "w") as f:
        f.write(text)
    return cfg


def make_mail(d, cfg, n):
    """Sends n invitations into d/outbox and writes one reply per
    invitation into d/replies/new; returns the reply files."""
    env = B.enquete_env(cfg)
    _, p = B.timed([B.BIN, "--now", B.DAY + "T12:00", "send"], env=env,
                   cwd=d, timeout=600)
    sent = B.summary_count(p.stdout.decode(), "sent")
    got = make_replies(os.path.join(d, "outbox"), os.path.join(d, "replies"),
                       os.path.join(d, "tokens"), {})
    if sent != n or got != n:
        raise RuntimeError("sent %d, replies %d of %d" % (sent, got, n))
    # The invitations are not needed any more; 100k of them are ~1.6 GB.
    shutil.rmtree(os.path.join(d, "outbox"), ignore_errors=True)
    return sorted(glob.glob(os.path.join(d, "replies", "new", "*")))


def enquete_ingest(d, cfg, dc, n):
    """Times `enquete ingest`; checks all n recorded (summary and database)
    and INBOX empty. Returns (seconds, peak RSS KiB, summary)."""
    dt, rss, out = run_rss([B.BIN, "--now", B.DAY + "T15:00", "ingest"],
                           B.enquete_env(cfg), d, timeout=900)
    recorded = B.summary_count(out, "recorded")
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(d, "enquete.db"),
                          uri=True)
    try:
        answers = con.execute("SELECT count(DISTINCT invitation_id) FROM "
                              "answer WHERE superseded = 0").fetchone()[0]
    finally:
        con.close()
    left = dc.count("enquete")
    processed = dc.count("enquete", "Processed")
    if recorded != n or answers != n or left != 0 or processed != n:
        raise RuntimeError("enquete ingest: recorded %d, answered %d, INBOX "
                           "%d, Processed %d of %d: %s"
                           % (recorded, answers, left, processed, n,
                              out.strip()[-300:]))
    return dt, rss, " ".join(out.split())


def mbsync(d, dc, user, fsync):
    """Times mbsync pulling user's INBOX into an empty local Maildir."""
    local = os.path.join(d, "local-" + user)
    os.makedirs(local)
    conf = os.path.join(d, "mbsyncrc-" + user)
    with open(conf, "w") as f:
        f.write("""%(fsync)s
IMAPAccount dc
Host 127.0.0.1
Port %(port)d
User %(user)s
Pass %(pw)s
SSLType None
AuthMechs LOGIN

IMAPStore far
Account dc

MaildirStore near
Path %(local)s/
Inbox %(local)s/INBOX

Channel pull
Far :far:
Near :near:
Patterns INBOX
Sync Pull
Create Near
SyncState *
""" % {"fsync": "" if fsync else "FSync no\n", "port": dc.port,
            "user": user, "pw": PASSWORD, "local": local})
    dt, _ = B.timed(["mbsync", "-q", "-c", conf, "pull"], timeout=120)
    inbox = os.path.join(local, "INBOX")
    got = sum(len(os.listdir(os.path.join(inbox, s))) for s in ("new", "cur"))
    if got != len(os.listdir(os.path.join(dc.maildir(user), "cur"))) + \
            len(os.listdir(os.path.join(dc.maildir(user), "new"))) or got == 0:
        raise RuntimeError("mbsync (%s) pulled %d messages"
                           % ("default" if fsync else "FSync no", got))
    return dt, got


def big_rss(n):
    """enquete's peak RSS ingesting n replies from Dovecot (own install)."""
    with B.workdir("ingest-imap-big") as d:
        dc = None
        try:
            dc = Dovecot(d)
            dc.start()
            cfg = imap_install(d, dc, n)
            files = make_mail(d, cfg, n)
            dc.deliver("enquete", files)
            dt, rss, _ = enquete_ingest(d, cfg, dc, n)
            return "%dKiB" % rss, B.secs(dt)
        finally:
            if dc:
                dc.stop()


def main():
    B.check_binary()
    for tool in ("dovecot", "mbsync"):
        if shutil.which(tool) is None:
            B.skip("ingest-imap", "%s not installed (scripts/install-deps)" % tool)
            return 0
    if os.geteuid() != 0:
        B.skip("ingest-imap", "needs root to run Dovecot as nobody")
        return 0
    t_start = time.monotonic()
    with B.workdir("ingest-imap") as d:
        dc = None
        try:
            dc = Dovecot(d)
            dc.start()
            cfg = imap_install(d, dc, N)
            files = make_mail(d, cfg, N)
            size = sum(os.path.getsize(f) for f in files)
            for u in USERS:
                dc.deliver(u, files)
            t_eq, rss, summary = enquete_ingest(d, cfg, dc, N)
            t_mb, got = mbsync(d, dc, "mbsync1", fsync=True)
            t_nf, got_nf = mbsync(d, dc, "mbsync2", fsync=False)
        finally:
            if dc:
                dc.stop()
    if got != N or got_nf != N:
        raise RuntimeError("mbsync pulled %d / %d of %d" % (got, got_nf, N))
    setup = time.monotonic() - t_start
    big, t_big = "skipped(time budget; INGEST_IMAP_BIG=100000 runs it)", "-"
    if BIG:
        big, t_big = big_rss(BIG)
    eq_rate, mb_rate, nf_rate = N / t_eq, N / t_mb, N / t_nf
    B.say("ingest-imap", eq_rate / mb_rate, n=N,
          enquete=B.secs(t_eq),
          enquete_msgs_per_s="%.0f" % eq_rate,
          mbsync=B.secs(t_mb),
          mbsync_msgs_per_s="%.0f" % mb_rate,
          **{"peak_rss_%dk" % (N // 1000): "%dKiB" % rss,
             "peak_rss_%s" % ("%dk" % (BIG // 1000) if BIG else "100k"): big,
             "big_ingest": t_big},
          mail_kb_avg="%.1f" % (size / len(files) / 1024),
          ratio_is="enquete_msgs/s÷mbsync_msgs/s(higher-better)",
          total=B.secs(setup))
    B.say("ingest-vs-mbsync-nofsync", eq_rate / nf_rate, n=N,
          enquete_msgs_per_s="%.0f" % eq_rate,
          mbsync_nofsync=B.secs(t_nf),
          mbsync_nofsync_msgs_per_s="%.0f" % nf_rate)
    print("bench: ingest-imap enquete says: %s" % summary[:200], flush=True)
    return 0


def on_term(signum, frame):
    raise SystemExit(1)  # runs the finally blocks: Dovecot stops, dirs go


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_term)
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
        print("bench: ingest-imap FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)
