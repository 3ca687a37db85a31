#!/usr/bin/python3
"""Bench inspect: `enquete inspect --json` over every message file of the
public corpora (../shared/corpora: bounces, replies, MIME samples) in one
process, against `cat` of the same files (the I/O floor: reading them is all
a parser cannot avoid). Best of three runs each; skipped without corpora."""
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

SKIP_NAMES = {"SOURCE.md", "expected.tsv", "expected.json", "README.md"}


def best_of(cmd, runs=3):
    best = None
    with open(os.devnull, "wb") as null:
        for _ in range(runs):
            os.sync()
            t0 = time.perf_counter()
            p = subprocess.run(cmd, stdout=null, stderr=subprocess.PIPE,
                               timeout=B.TIMEOUT)
            dt = time.perf_counter() - t0
            if p.returncode < 0:
                raise RuntimeError("%s died by signal %d"
                                   % (cmd[0], -p.returncode))
            best = dt if best is None else min(best, dt)
    return best


def main():
    B.check_binary()
    if not os.path.isdir(B.CORPORA):
        B.skip("inspect", "../shared/corpora not found")
        return 0
    files = []
    for root, dirs, names in os.walk(B.CORPORA):
        dirs.sort()
        files.extend(os.path.join(root, n) for n in sorted(names)
                     if n not in SKIP_NAMES)
    size = sum(os.path.getsize(f) for f in files)
    t_cat = best_of(["cat"] + files)  # first: warms the page cache
    t_eq = best_of([B.BIN, "inspect", "--json", "--"] + files)
    B.say("inspect", t_eq / t_cat, files=len(files),
          mb="%.1f" % (size / 1e6),
          enquete=B.secs(t_eq),
          enquete_us_per_file="%.0f" % (t_eq / len(files) * 1e6),
          enquete_mb_per_s="%.1f" % (size / 1e6 / t_eq),
          baseline=B.secs(t_cat),
          baseline_is="cat(same-files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
