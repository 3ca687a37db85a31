"""Shared helpers of the benchmarks in bench/ (run by scripts/run-bench).

Each benchmark builds a throw-away enquete installation in a temp dir (config,
one campaign, a generated organisation), times enquete and a baseline doing
the same job, prints `bench: NAME ratio=X …` (enquete time / baseline time,
lower is better) and removes everything it started or wrote.
"""
import contextlib
import csv
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("ENQUETE_BIN") or os.path.join(
    TOP, os.environ.get("BUILD", "build"), "enquete")
CORPORA = os.environ.get("ENQUETE_CORPORA") or os.path.join(
    os.path.dirname(TOP), "shared", "corpora")

N = int(os.environ.get("BENCH_N", "2000"))
# The last day of a month: with all seven days as send days, one send day is
# left in the period, so the scheduler plans the whole need at once.
DAY = "2026-01-31"
TIMEOUT = 60


def say(name, ratio, **fields):
    extra = " ".join("%s=%s" % kv for kv in fields.items())
    r = "n/a" if ratio is None else "%.2f" % ratio
    print("bench: %s ratio=%s %s" % (name, r, extra), flush=True)


def skip(name, why):
    print("bench: %s skipped: %s" % (name, why), flush=True)


def secs(x):
    return "%.3fs" % x


@contextlib.contextmanager
def workdir(tag):
    d = tempfile.mkdtemp(prefix="enquete-bench-%s-" % tag)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def timed(cmd, **kw):
    """Runs cmd; returns (seconds, CompletedProcess). Raises on failure.
    Dirty pages are flushed first so earlier writes don't bill this run."""
    os.sync()
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=kw.pop("timeout", TIMEOUT), **kw)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (
            " ".join(cmd[:3]), p.returncode,
            p.stderr.decode("utf-8", "replace").strip()[-400:]))
    return dt, p


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, limit=5.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("server exited early (%d)" % proc.returncode)
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError("nothing listens on 127.0.0.1:%d" % port)


def write_install(d, smtp_url, n_people=None):
    """Config, campaign and organisation for one provider (it) and n_people
    raters in 7 departments; `enquete init` and `org import` are done here,
    untimed. Returns the config path."""
    n_people = n_people or N + 100
    os.makedirs(os.path.join(d, "campaigns"))
    with open(os.path.join(d, "config.ini"), "w") as f:
        f.write("""[general]
database = enquete.db
timezone = Europe/Amsterdam
language = en
from = HR Survey <hr@bench.example>
reply_address = enquete@bench.example
quiet_period = 1
campaigns = campaigns
templates = %s

[smtp]
url = %s
tls = off
timeout = 30

[imap]
url = maildir:inbox

[digest]
hr = hr@bench.example
weekday = mon
hour = 8
""" % (os.path.join(TOP, "templates"), smtp_url))
    with open(os.path.join(d, "campaigns", "bench.ini"), "w") as f:
        f.write("""[campaign]
name = bench
title_nl = Bench
title_en = Bench
metrics = nps
providers = it
customers = *
cadence = monthly
start = 2026-01-01
target_responses = %d
expected_response_rate = 1
send_days = mon,tue,wed,thu,fri,sat,sun
send_window = 09:00-11:00
""" % N)
    with open(os.path.join(d, "org.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["email", "name", "department", "department_code",
                    "language"])
        for i in range(20):
            w.writerow(["it%02d@bench.example" % i, "IT Person %d" % i, "IT",
                        "it", "en"])
        for i in range(n_people):
            w.writerow(["p%05d@bench.example" % i, "Person %d" % i,
                        "Department %d" % (i % 7), "d%d" % (i % 7), "en"])
    cfg = os.path.join(d, "config.ini")
    env = enquete_env(cfg)
    timed([BIN, "init"], env=env, cwd=d)
    timed([BIN, "org", "import", os.path.join(d, "org.csv")], env=env, cwd=d)
    return cfg


def enquete_env(cfg):
    env = dict(os.environ)
    env["ENQUETE_CONFIG"] = cfg
    env.pop("ENQUETE_NOW", None)
    return env


def summary_count(text, key):
    """The number after `key ` in enquete's one-line summaries."""
    m = re.search(r"\b%s (\d+)" % re.escape(key), text)
    return int(m.group(1)) if m else -1


def check_binary():
    if not os.access(BIN, os.X_OK):
        print("bench: %s not found: run make first" % BIN, file=sys.stderr)
        sys.exit(2)
