#!/usr/bin/python3
"""Bench send: 5,000 invitations (planned beforehand) rendered, composed, stored and sent
by `enquete send` over `[smtp] connections = 4` to Postfix's smtp-sink on
127.0.0.1, against `smtp-source -s 4 -m 5000 -l SIZE` (SIZE = enquete's
average message size) pushing the same count over 4 sessions to a fresh
sink. Prints `bench: send ratio=R …` where R = enquete msgs/s ÷ smtp-source
msgs/s (higher is better, 1.0 = as fast as smtp-source), and enquete's peak
RSS for 5,000 and for 50,000 invitations (the 50k run sends to the sink
too; SEND_BIG sets its size, 0 skips it). The RSS is enquete's own
maximum resident set size as /usr/bin/time reports it.
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402
from smtp_send import Sink  # noqa: E402

N = 5000
BIG = int(os.environ.get("SEND_BIG", "50000"))
CONNECTIONS = 4
BASE_RUNS = 3
EQ_RUNS = 2


def install(d, url, n):
    """benchlib's installation for n invitations, with `connections`."""
    B.N = n  # write_install sizes the campaign and the org from B.N
    cfg = B.write_install(d, url, n_people=n + 100)
    with open(cfg) as f:
        text = f.read()
    with open(cfg, "w") as f:
        f.write(text.replace("tls = off\n", "tls = off\nconnections = %d\n"
                             % CONNECTIONS, 1))
    return cfg


def run_rss(cmd, env, cwd, timeout):
    """Runs cmd; returns (seconds, peak RSS in KiB, output). Raises on a
    non-zero exit. The peak RSS is /usr/bin/time's: ru_maxrss of a child
    that Python starts with vfork includes the Python parent's own memory
    (the address space it ran in until exec), which grows with the test
    data this script holds."""
    os.sync()
    rss_file = os.path.join(cwd, "rss.txt")
    with open(os.path.join(cwd, "out.txt"), "w+b") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss_file]
                             + list(cmd), stdout=out,
                             stderr=subprocess.STDOUT, env=env, cwd=cwd)
        end = time.monotonic() + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.monotonic() > end:
                p.kill()
                os.wait4(p.pid, 0)
                raise RuntimeError("%s: timed out" % " ".join(cmd[:4]))
            time.sleep(0.005)
        dt = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd[:4]),
                                                p.returncode, text[-400:]))
    with open(rss_file) as f:
        rss = int(f.read().split()[-1])
    return dt, rss, text


def enquete_send(d, sink, n):
    cfg = install(d, "smtp://127.0.0.1:%d" % sink.port, n)
    # Plan first (before the send window nothing is due yet), then time the
    # sending alone: render + compose + store + SMTP, as issue 5 defines it.
    run_rss([B.BIN, "--now", B.DAY + "T08:00", "send"], B.enquete_env(cfg), d,
            timeout=150)
    dt, rss, out = run_rss([B.BIN, "--now", B.DAY + "T12:00", "send"],
                           B.enquete_env(cfg), d, timeout=150)
    sent = B.summary_count(out, "sent")
    got = sink.messages(n)
    if sent != n or got != n:
        raise RuntimeError("enquete sent %d, sink got %d of %d: %s"
                           % (sent, got, n, out.strip()[-300:]))
    return dt, rss


def average_size(d):
    """Bytes of one invitation as enquete sends it (the preview is the
    exact mail), for smtp-source -l."""
    p = subprocess.run([B.BIN, "--now", B.DAY + "T12:00", "preview",
                        "--campaign", "bench", "--employee",
                        "p00042@bench.example"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=B.enquete_env(os.path.join(d, "config.ini")),
                       cwd=d, timeout=30)
    text = p.stdout
    if p.returncode != 0 or not text:
        return 0
    # The preview prints LF lines; on the wire they are CRLF.
    return len(text) + text.count(b"\n") - text.count(b"\r\n")


def source(d, size):
    sink = Sink(d)
    try:
        dt, _ = B.timed(["smtp-source", "-c", "-m", str(N), "-s",
                         str(CONNECTIONS), "-l", str(size), "-f",
                         "bench@bench.example", "-t", "sink@bench.example",
                         "127.0.0.1:%d" % sink.port], timeout=120)
        got = sink.messages(N)
    finally:
        sink.stop()
    if got != N:
        raise RuntimeError("smtp-source delivered %d of %d" % (got, N))
    return dt


def main():
    B.check_binary()
    if shutil.which("smtp-sink") is None or shutil.which("smtp-source") is None:
        B.skip("send", "smtp-sink/smtp-source not installed (postfix)")
        return 0
    start = time.monotonic()
    sinks = []
    try:
        with B.workdir("send") as d:
            # enquete: best of EQ_RUNS, each on a fresh install and sink.
            t_eq, rss_5k, size = None, 0, 0
            for r in range(EQ_RUNS):
                a = os.path.join(d, "a%d" % r)
                os.makedirs(a)
                sinks.append(Sink(d))
                t, rss = enquete_send(a, sinks[-1], N)
                sinks[-1].stop()
                t_eq = t if t_eq is None else min(t_eq, t)
                rss_5k = max(rss_5k, rss)
                size = size or average_size(a)
                shutil.rmtree(a)
            size = size or 16000

            t_src = min(source(d, size) for _ in range(BASE_RUNS))

            rss_big, t_big = "skipped", "skipped"
            if BIG > 0:
                b = os.path.join(d, "b")
                os.makedirs(b)
                sinks.append(Sink(d))
                t, rss = enquete_send(b, sinks[-1], BIG)
                sinks[-1].stop()
                rss_big, t_big = "%dKiB" % rss, B.secs(t)
                shutil.rmtree(b)
            B.say("send", t_src / t_eq, n=N, connections=CONNECTIONS,
                  ratio_is="enquete_msgs_per_s/smtp-source_msgs_per_s"
                           "(higher=better)",
                  enquete=B.secs(t_eq),
                  enquete_msgs_per_s="%.0f" % (N / t_eq),
                  baseline=B.secs(t_src),
                  baseline_msgs_per_s="%.0f" % (N / t_src),
                  baseline_is="smtp-source:-s%d,-m%d,-l%d"
                              % (CONNECTIONS, N, size),
                  peak_rss_5k="%dKiB" % rss_5k,
                  **{"peak_rss_%dk" % (BIG // 1000): rss_big,
                     "enquete_%dk" % (BIG // 1000): t_big},
                  bench_time="%.0fs" % (time.monotonic() - start),
                  runs="best-of-%d/%d" % (EQ_RUNS, BASE_RUNS))
    finally:
        for s in sinks:
            s.stop()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.SubprocessError, OSError) as e:
        print("bench: send FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)
