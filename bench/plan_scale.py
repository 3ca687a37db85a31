"""plan-scale: `enquete plan` for a whole year on 5,000 and on 50,000
employees in 40 departments with 3 campaigns. Prints the time of each and
ratio = time(50k) / time(5k): near-linear scheduling gives about 10 (issue
target: at most 12)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

CAMPAIGNS = {
    # providers: 10 serving departments each, everyone rates them
    "kwartaal": ("quarterly", ",".join("d%02d" % i for i in range(0, 10))),
    "maand": ("monthly", ",".join("d%02d" % i for i in range(10, 20))),
    "blok": ("every 6 weeks", ",".join("d%02d" % i for i in range(20, 30))),
}


def install(d, n):
    os.makedirs(os.path.join(d, "campaigns"))
    with open(os.path.join(d, "config.ini"), "w") as f:
        f.write("[general]\ndatabase = db/e.db\nfrom = HR <hr@org.example>\n"
                "reply_address = enquete@org.example\ntemplates = %s\n"
                "[smtp]\nurl = maildir:out\n[imap]\nurl = maildir:in\n"
                % os.path.join(bl.TOP, "templates"))
    for name, (cadence, providers) in CAMPAIGNS.items():
        with open(os.path.join(d, "campaigns", name + ".ini"), "w") as f:
            f.write("[campaign]\nname = %s\nmetrics = nps\nproviders = %s\n"
                    "customers = *\ncadence = %s\nstart = 2026-01-05\n"
                    % (name, providers, cadence))
    with open(os.path.join(d, "org.csv"), "w") as f:
        f.write("email,name,department,department_code\n")
        for i in range(n):
            dep = "d%02d" % (i % 40)
            f.write("p%d@org.example,Persoon %d,Afdeling %s,%s\n"
                    % (i, i, dep, dep))
    cfg = os.path.join(d, "config.ini")
    bl.timed([bl.BIN, "--config", cfg, "init"])
    bl.timed([bl.BIN, "--config", cfg, "org", "import",
              os.path.join(d, "org.csv")])
    return cfg


def plan_year(n):
    with bl.workdir("plan%d" % n) as d:
        cfg = install(d, n)
        t, p = bl.timed([bl.BIN, "--config", cfg, "plan", "--from",
                         "2026-01-05", "--to", "2026-12-31", "--json"],
                        timeout=600)
        lines = p.stdout.count(b'"kind":"invite"')
        return t, lines


def main():
    t5, n5 = plan_year(5000)
    t50, n50 = plan_year(50000)
    bl.say("plan-scale", t50 / t5, time_5k=bl.secs(t5), time_50k=bl.secs(t50),
           invitations_5k=n5, invitations_50k=n50,
           ratio_is="time_50k/time_5k(target<=12)")


if __name__ == "__main__":
    main()
