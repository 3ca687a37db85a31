"""report-scale: `report` and `digest` on a database of stored answers at
two sizes (issue 7: 1,000,000 answers over 5 years, 40 departments, monthly
periods). The database is written by bench/gen_answers.py.

Lines (ratio = measured time / target time, so <= 1 passes; times are the
big size's, best of 3 after one untimed warm-up run):
  report_period  `report --period LAST --format json` (organisation view),
                 target 0.5 s
  report_trend   the 5-year trend of one department: `report --department D
                 --format json`, plus `--periods 60` when `report --help`
                 offers it; target 3 s
  report_trend_org  only with --periods: `report --format json --periods
                 60`, every provider over 5 years; target 3 s
  digest_dry_run `digest --dry-run`: every manager and HR, the last period
                 (the only one without a digest); no target (ratio n/a)
  digest_send    `digest` for real into a maildir transport; one run
  report_rss     ratio = the largest peak-RSS ratio big/small over the
                 commands above: memory must not grow with the number of
                 answers (target <= 1.2)
`comments_*` on report_period counts the comments the JSON lists: the
period's comments are part of the report, so the output grows with the
answers; `report` writes it as it is made, one provider (and its comments)
at a time, so memory does not (see bench/README.md), and every aggregate
stops growing once all departments² cells are filled.
Peak RSS (`rss_kb_*`) is `/usr/bin/time -v`'s "Maximum resident set size".
`cpu_*` is that run's user + system CPU time (the machine is shared: wall
times move with the load, CPU times much less).
`first_*` is the very first run on the fresh database: it also pays for the
ANALYZE that enquete's `PRAGMA optimize` at close runs while sqlite_stat1
lacks the big tables (bounded by `PRAGMA analysis_limit = 400`).

BENCH_ANSWERS (1000000) sets the big size; the small one is a tenth of it,
or BENCH_SMALL. SQLite's page cache (2 MB by default) and the per-cell
aggregates (at most departments² × scale) are still filling at a tenth of a
million answers: a larger BENCH_SMALL shows whether memory keeps growing.
"""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402
import gen_answers as gen  # noqa: E402

BIG = int(os.environ.get("BENCH_ANSWERS", "1000000"))
SMALL = int(os.environ.get("BENCH_SMALL", "0")) or max(BIG // 10, 1000)
TARGET = {"report_period": 0.5, "report_trend": 3.0, "report_trend_org": 3.0}
RSS_TARGET = 1.2
TREND_DEPT = "d05"
RUNS = 3


def tag(n):
    if n >= 1000000 and n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n >= 1000 and n % 1000 == 0:
        return "%dk" % (n // 1000)
    return str(n)


def run_time(cmd, env, cwd):
    """(wall seconds, peak RSS in KB, stdout, user+system CPU seconds) of
    one run under /usr/bin/time -v."""
    os.sync()
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, env=env, cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=600)
    dt = time.perf_counter() - t0
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != 0:
        own = err.split("\tCommand being timed:")[0].strip().splitlines()
        raise RuntimeError("%s: exit %d: %s" % (
            " ".join(cmd[1:]), p.returncode, " | ".join(own[-3:])))
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    cpu = sum(float(x) for x in re.findall(
        r"(?:User|System) time \(seconds\): ([\d.]+)", err))
    return dt, int(m.group(1)) if m else -1, p.stdout, cpu


def best(cmd, env, cwd):
    """First run's time, then the best time (with its CPU time) and the
    largest RSS of RUNS runs."""
    first, rss, out, _ = run_time(cmd, env, cwd)
    runs = []
    for _ in range(RUNS):
        t, r, out, cpu = run_time(cmd, env, cwd)
        runs.append((t, cpu))
        rss = max(rss, r)
    t, cpu = min(runs)
    return first, (t, cpu), rss, out


def measure(n):
    with bl.workdir("report%s" % tag(n)) as d:
        cfg, counts, gen_s = gen.build(d, n)
        env = bl.enquete_env(cfg)
        base = [bl.BIN, "--now", gen.NOW]
        helptext = subprocess.run(base + ["report", "--help"], env=env, cwd=d,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT).stdout
        trend = ["report", "--department", TREND_DEPT, "--format", "json"]
        cmds = {
            "report_period": ["report", "--period", gen.LAST_PERIOD,
                              "--format", "json"],
            "report_trend": trend,
        }
        if b"--periods" in helptext:
            trend += ["--periods", str(gen.YEARS * 12)]
            # The organisation's trend: every provider over 5 years.
            cmds["report_trend_org"] = ["report", "--format", "json",
                                        "--periods", str(gen.YEARS * 12)]
        cmds["digest_dry_run"] = ["digest", "--dry-run"]
        res = {"counts": counts, "gen": gen_s, "cmds": cmds}
        for name, args in cmds.items():
            first, t, rss, out = best(base + args, env, d)
            res[name] = (first, t, rss)
            if name == "digest_dry_run":
                res["recipients"] = out.count(b"\nTo: ") + out.startswith(
                    b"To: ")
            if name.startswith("report") and not out.lstrip().startswith(
                    b"{"):
                raise RuntimeError("%s: no JSON: %r" % (name, out[:200]))
            if name == "report_period":
                res["comments"] = sum(
                    len(p.get("comments") or [])
                    for p in json.loads(out).get("providers") or [])
        t, rss, out, cpu = run_time(base + ["digest"], env, d)
        newdir = os.path.join(d, "out", "new")
        files = len(os.listdir(newdir)) if os.path.isdir(newdir) else 0
        res["digest_send"] = (t, (t, cpu), rss)
        res["sent"] = files
        return res


def main():
    bl.check_binary()
    if not os.access("/usr/bin/time", os.X_OK):
        bl.skip("report-scale", "/usr/bin/time not installed (package time)")
        return
    small, big = measure(SMALL), measure(BIG)
    ts, tb = tag(SMALL), tag(BIG)
    sizes = {"answers_" + ts: small["counts"]["answers"],
             "answers_" + tb: big["counts"]["answers"],
             "invitations_" + tb: big["counts"]["invitations"],
             "gen_" + tb: bl.secs(big["gen"])}
    worst = 0.0
    if "report_trend_org" not in big["cmds"]:
        bl.skip("report_trend_org", "`report --help` offers no --periods")
    for name in ("report_period", "report_trend", "report_trend_org",
                 "digest_dry_run", "digest_send"):
        if name not in big:
            continue
        f_s, (t_s, c_s), r_s = small[name]
        f_b, (t_b, c_b), r_b = big[name]
        rss_ratio = r_b / r_s if r_s > 0 else float("inf")
        worst = max(worst, rss_ratio)
        fields = {"time_" + tb: bl.secs(t_b), "time_" + ts: bl.secs(t_s),
                  "cpu_" + tb: bl.secs(c_b), "cpu_" + ts: bl.secs(c_s)}
        if name != "digest_send":
            fields["first_" + tb] = bl.secs(f_b)
        fields["rss_kb_" + tb] = r_b
        fields["rss_kb_" + ts] = r_s
        ratio = None
        if name in TARGET:
            ratio = t_b / TARGET[name]
            fields["target"] = bl.secs(TARGET[name])
        if name.startswith("report_trend"):
            fields["cmd"] = "'%s'" % " ".join(big["cmds"][name])
        if name == "digest_dry_run":
            fields["recipients"] = big["recipients"]
        if name == "digest_send":
            fields["sent_" + tb] = big["sent"]
            fields["sent_" + ts] = small["sent"]
        if name == "report_period":
            fields.update(sizes)
            fields["comments_" + tb] = big["comments"]
            fields["comments_" + ts] = small["comments"]
        bl.say(name, ratio, **fields)
    bl.say("report_rss", worst, target=RSS_TARGET,
           ratio_is="max(rss_%s/rss_%s)" % (tb, ts))


if __name__ == "__main__":
    main()
