#!/usr/bin/python3
"""Bench smtp-send: enquete sends N invitations through its SMTP transport
(one libcurl session) to Postfix's smtp-sink on 127.0.0.1, against
`smtp-source -d -s 1` pushing N messages over one session to the same kind
of sink. The enquete time is the whole `enquete send` command: planning the
N invitations, composing them, and the `sending`/`sent` state commits around
every message, as a real send run does.

Extra figures: the same send into a maildir transport (no network at all),
and a size-matched baseline (smtp-source -l with enquete's average message
size), since enquete's invitations are larger than 2 KB."""
import glob
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

RUNS = 2
BASE_RUNS = 5


class Sink:
    """smtp-sink with running counters (-c) written to a file."""

    def __init__(self, d):
        self.port = B.free_port()
        self.out_path = os.path.join(d, "sink-%d.out" % self.port)
        cmd = ["smtp-sink", "-c"]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]  # it refuses to run as root otherwise
        cmd += ["127.0.0.1:%d" % self.port, "1000"]
        self.out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.out,
                                     stderr=subprocess.STDOUT)
        B.wait_port(self.port, self.proc)

    def messages(self, want, limit=3.0):
        """The sink's message counter, waiting a little for it to reach
        want (the counter is updated when '.' is received)."""
        end = time.monotonic() + limit
        n = -1
        while True:
            with open(self.out_path, "rb") as f:
                m = re.findall(rb"mesg=(\d+)", f.read())
            n = int(m[-1]) if m else 0
            if n >= want or time.monotonic() > end:
                return n
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()


def enquete_send(d, url):
    cfg = B.write_install(d, url)
    dt, p = B.timed([B.BIN, "--now", B.DAY + "T12:00", "send"],
                    env=B.enquete_env(cfg), cwd=d)
    out = p.stdout.decode() + p.stderr.decode()
    return dt, B.summary_count(out, "sent"), out


def source(sink, size):
    dt, _ = B.timed(["smtp-source", "-c", "-d", "-m", str(B.N), "-s", "1",
                     "-l", str(size), "-f", "bench@bench.example", "-t",
                     "sink@bench.example", "127.0.0.1:%d" % sink.port])
    return dt, sink.messages(B.N)


def main():
    B.check_binary()
    if shutil.which("smtp-sink") is None or shutil.which("smtp-source") is None:
        B.skip("smtp-send", "smtp-sink/smtp-source not installed (postfix)")
        return 0
    sinks = []

    def new_sink(d):
        s = Sink(d)
        sinks.append(s)
        return s

    try:
        with B.workdir("smtp") as d:
            # enquete: best of RUNS, each on a fresh install and a fresh sink
            # (the machine is shared; the minimum is the least noisy figure).
            t_eq = None
            for r in range(RUNS):
                wd = os.path.join(d, "a%d" % r)
                os.makedirs(wd)
                sink = new_sink(d)
                t, sent, out = enquete_send(
                    wd, "smtp://127.0.0.1:%d" % sink.port)
                got = sink.messages(B.N)
                sink.stop()
                if sent != B.N or got != B.N:
                    print("bench: smtp-send FAILED: enquete sent %d, sink "
                          "got %d of %d\n%s" % (sent, got, B.N, out.strip()),
                          file=sys.stderr)
                    return 1
                t_eq = t if t_eq is None else min(t_eq, t)
                shutil.rmtree(wd)

            # Same run into a maildir: no network, same planning and commits.
            os.makedirs(os.path.join(d, "b"))
            t_md, sent_md, _ = enquete_send(os.path.join(d, "b"),
                                            "maildir:outbox")
            files = glob.glob(os.path.join(d, "b", "outbox", "new", "*"))
            avg = (sum(os.path.getsize(f) for f in files) // len(files)
                   if files else 2048)

            times = {}
            for size in (2048, avg):
                for _ in range(BASE_RUNS):
                    sink = new_sink(d)
                    t, got_base = source(sink, size)
                    sink.stop()
                    if got_base != B.N:
                        print("bench: smtp-send FAILED: smtp-source "
                              "delivered %d of %d" % (got_base, B.N),
                              file=sys.stderr)
                        return 1
                    times[size] = min(times.get(size, t), t)
            t_base, t_sized = times[2048], times[avg]
            B.say("smtp-send", t_eq / t_base, n=B.N,
                  enquete=B.secs(t_eq),
                  enquete_msgs_per_s="%.0f" % (B.N / t_eq),
                  baseline=B.secs(t_base),
                  baseline_is="smtp-source:-d,-s1,-m%d,-l2048" % B.N,
                  sink_received=got,
                  enquete_avg_msg_bytes=avg,
                  ratio_size_matched="%.2f" % (t_eq / t_sized),
                  baseline_size_matched=B.secs(t_sized),
                  enquete_to_maildir=B.secs(t_md) if sent_md == B.N
                  else "failed",
                  runs="best-of-%d/%d" % (RUNS, BASE_RUNS))
    finally:
        for s in sinks:
            s.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
