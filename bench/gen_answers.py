"""A realistic enquete database of a given number of stored answers, for the
report and digest benchmarks (bench/report_scale.py).

The schema is the real one: `enquete init` creates the database and `enquete
org import` the organisation (40 departments, ~4,000 people, 60 managers);
only the survey history is written here, straight into SQLite in one
transaction: one monthly campaign over 5 years (2021-01 … 2025-12, metrics
nps and the csat touchpoint `responsiveness`, every department a provider and
a customer), its 60 periods (all closed, every digest but the last one's
sent), invitations (~35 % answered; the rest expired, a few bounced, failed,
opted out or cancelled), answers (nps always, the touchpoint on 90 %,
not-applicable on 4 %, an earlier superseded nps on 3 %), comments on 20 % of
the answered, tokens for every invitation and every logged digest.

Not written: inbound rows (answers have inbound_id NULL; no report reads
inbound), run_log. Scores drift per provider and month so trends have
something to show.

Run by hand: `python3 bench/gen_answers.py DIR [N_ANSWERS]` leaves an
installation in DIR (config.ini, campaigns/, org.csv, enquete.db) to inspect,
e.g. with `sqlite3 DIR/enquete.db 'EXPLAIN QUERY PLAN …'`.
"""
import base64
import datetime
import os
import random
import sqlite3
import sys
import time
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

N_DEPTS = 40
N_PEOPLE = 4000
YEAR0, YEARS = 2021, 5
CAMPAIGN = "tevredenheid"
TZ = "Europe/Amsterdam"
# The digest of 2025-12 is due on the first Monday 08:00 after the last
# invitation closed (10 days after 31 Dec): 2026-01-12. A week later is safe.
NOW = "2026-01-20T12:00"
LAST_PERIOD = "%d-12" % (YEAR0 + YEARS - 1)
RESPONSE_RATE = 0.35
# Answer rows per answered invitation: nps 1 + touchpoint 0.9 * 0.96 (none
# after a not-applicable nps) + superseded 0.03.
ROWS_PER_ANSWERED = 1 + 0.96 * (0.9 + 0.03)

DEPT_NAMES = [
    "ICT", "HR", "Facilitair", "Financien", "Kwaliteit", "Inkoop",
    "Juridische Zaken", "Communicatie", "Planning", "Logistiek",
    "Klantenservice", "Verkoop", "Marketing", "Onderzoek", "Productie",
    "Onderhoud", "Beveiliging", "Archief", "Salarisadministratie",
    "Projectbureau", "Data en Analyse", "Servicedesk", "Huisvesting",
    "Opleidingen", "Arbo en Milieu", "Secretariaat", "Control",
    "Bestuursondersteuning", "Documentbeheer", "Applicatiebeheer",
    "Netwerkbeheer", "Werkplekbeheer", "Wagenpark", "Catering",
    "Receptie", "Postkamer", "Subsidies", "Vastgoed", "Risicobeheer",
    "Innovatie",
]

COMMENTS = [
    "Snel geholpen, prima.",
    "Duurde drie weken voordat er iemand reageerde.",
    "Vriendelijk, maar het probleem is nog niet opgelost.",
    "Goede uitleg gekregen over de nieuwe procedure.",
    "Ik moest mijn vraag twee keer stellen.",
    "Top service van de servicedesk!",
    "De communicatie over de verhuizing kon beter.",
    "Very helpful, thanks to the whole team.",
    "Reactie kwam pas na 10 dagen.",
    "Geen idee wie ik moet bellen bij storingen.",
    "Alles netjes geregeld, dank.",
    "Formulieren zijn onduidelijk; <b>graag</b> eenvoudiger.",
]

ALPHABET = b"0123456789abcdefghjkmnpqrstvwxyz"
B32 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
TO_CROCKFORD = bytes.maketrans(B32, ALPHABET)


def tokens(n):
    """n distinct tokens as enquete makes them: 26 lowercase Crockford
    base32 characters = 130 random bits (each 20 random bytes give 32
    characters; the first 26 are kept)."""
    out = set()
    while len(out) < n:
        k = n - len(out)
        s = base64.b32encode(os.urandom(20 * k)).translate(TO_CROCKFORD)
        out.update(s[i:i + 26].decode() for i in range(0, len(s), 32))
    return list(out)[:n]


def write_files(d):
    """config.ini, the campaign and the organisation CSV in d."""
    os.makedirs(os.path.join(d, "campaigns"), exist_ok=True)
    with open(os.path.join(d, "config.ini"), "w") as f:
        f.write("""[general]
database = enquete.db
timezone = %s
language = nl
from = HR Enquete <hr@bench.example>
reply_address = enquete@bench.example
campaigns = campaigns
templates = %s

[smtp]
url = maildir:out

[imap]
url = maildir:inbox

[digest]
hr = hr@bench.example
weekday = mon
hour = 8
""" % (TZ, os.path.join(bl.TOP, "templates")))
    with open(os.path.join(d, "campaigns", CAMPAIGN + ".ini"), "w") as f:
        f.write("""[campaign]
name = %s
title_nl = Interne klanttevredenheid
title_en = Internal customer satisfaction
metrics = nps, responsiveness
providers = *
customers = *
cadence = monthly
start = %d-01-01
end = %d-12-31
target_responses = 30
expected_response_rate = %.2f
send_days = tue,wed,thu
close_after = 10
language = employee
anonymity_min = 5

[metric responsiveness]
type = csat
label_nl = Reactiesnelheid
label_en = Responsiveness
question_nl = Hoe tevreden bent u over de reactiesnelheid van afdeling X?
question_en = How satisfied are you with how quickly department X responds?
""" % (CAMPAIGN, YEAR0, YEAR0 + YEARS - 1, RESPONSE_RATE))
    with open(os.path.join(d, "org.csv"), "w") as f:
        f.write("email,name,department,department_code,manages,language\n")
        for i in range(N_PEOPLE):
            dep = i % N_DEPTS
            rank = i // N_DEPTS
            # Two managers in even departments, one in odd: 60 in all.
            manages = "yes" if rank < (2 if dep % 2 == 0 else 1) else ""
            lang = "en" if i % 5 == 0 else "nl"
            f.write("p%04d@bench.example,Persoon %d,%s,d%02d,%s,%s\n"
                    % (i, i, DEPT_NAMES[dep], dep, manages, lang))


def months():
    for y in range(YEAR0, YEAR0 + YEARS):
        for m in range(1, 13):
            first = datetime.date(y, m, 1)
            nxt = datetime.date(y + (m == 12), m % 12 + 1, 1)
            yield "%d-%02d" % (y, m), first, nxt - datetime.timedelta(1)


def epoch_day(d):
    return (d - datetime.date(1970, 1, 1)).days


def send_starts(first, last, zone):
    """UTC seconds of 09:00 local on each tue/wed/thu of the month."""
    out = []
    d = first
    while d <= last:
        if d.isoweekday() in (2, 3, 4):
            t = datetime.datetime(d.year, d.month, d.day, 9, tzinfo=zone)
            out.append(int(t.timestamp()))
        d += datetime.timedelta(1)
    return out


def fill(db, n_answers, seed=7):
    """Writes the survey history into db (made by init + org import).
    Returns a dict of counts."""
    rnd = random.Random(seed)
    zone = zoneinfo.ZoneInfo(TZ)
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")
    # Room for the token indexes, which take random inserts.
    con.execute("PRAGMA cache_size=-262144")
    con.execute("BEGIN")
    depts = [r[0] for r in con.execute(
        "SELECT id FROM department ORDER BY code")]
    people = list(con.execute(
        "SELECT id, department_id, language FROM employee ORDER BY id"))
    managers = list(con.execute(
        "SELECT d.code, e.email FROM manager m"
        " JOIN employee e ON e.id = m.employee_id"
        " JOIN department d ON d.id = m.department_id"))
    con.execute("INSERT INTO campaign (name) VALUES (?)", (CAMPAIGN,))
    cid = con.execute("SELECT id FROM campaign WHERE name = ?",
                      (CAMPAIGN,)).fetchone()[0]
    per_list = list(months())
    n_inv_total = int(round(n_answers / ROWS_PER_ANSWERED / RESPONSE_RATE))
    per_period = n_inv_total // len(per_list)
    # Each provider has its own level, drifting over the 5 years.
    level = {d: rnd.uniform(5.5, 8.8) for d in depts}
    drift = {d: rnd.uniform(-0.03, 0.03) for d in depts}
    counts = dict(invitations=0, answers=0, comments=0, digests=0)
    inv_id = con.execute(
        "SELECT COALESCE(MAX(id), 0) FROM invitation").fetchone()[0]
    for pi, (label, first, last) in enumerate(per_list):
        starts = send_starts(first, last, zone)
        last_close = 0
        inv_rows, tok_rows, ans_rows, com_rows = [], [], [], []
        toks = tokens(per_period)
        for k in range(per_period):
            inv_id += 1
            emp, rater, lang = people[rnd.randrange(len(people))]
            prov = depts[rnd.randrange(len(depts))]
            while prov == rater:
                prov = depts[rnd.randrange(len(depts))]
            planned = starts[rnd.randrange(len(starts))] + rnd.randrange(7200)
            sent = planned + rnd.randrange(5, 120)
            closes = sent + 10 * 86400
            last_close = max(last_close, closes)
            u = rnd.random()
            answered_at = reminded_at = None
            reminders, attempts, err = 0, 1, None
            if u < RESPONSE_RATE:
                state = "answered"
                if rnd.random() < 0.3:
                    reminders, reminded_at = 1, sent + 3 * 86400
                    answered_at = reminded_at + rnd.randrange(7 * 86400)
                else:
                    answered_at = sent + rnd.randrange(3 * 86400)
            elif u < 0.36:
                state, err = "bounced", "5.1.1 user unknown"
            elif u < 0.365:
                state, err = "failed", "550 mailbox unavailable"
            elif u < 0.37:
                state = "opted_out"
            elif u < 0.38:
                state, sent, err = "cancelled", None, "left"
            else:
                state, reminders, reminded_at = "expired", 1, sent + 3 * 86400
            tok = toks[k]
            tok_rows.append((tok, planned))
            inv_rows.append((inv_id, tok, cid, pi + 1, emp, rater, prov, lang,
                             state, planned, sent, answered_at, closes,
                             reminded_at, reminders, attempts, err))
            if state != "answered":
                continue
            mu = level[prov] + drift[prov] * pi
            if rnd.random() < 0.04:
                ans_rows.append((inv_id, "nps", None, 1, answered_at, 0))
                continue
            nps = min(10, max(0, int(round(rnd.gauss(mu, 1.8)))))
            if rnd.random() < 0.03:
                early = min(10, max(0, nps + rnd.choice((-2, -1, 1, 2))))
                ans_rows.append((inv_id, "nps", early, 0, answered_at - 600, 1))
            ans_rows.append((inv_id, "nps", nps, 0, answered_at, 0))
            if rnd.random() < 0.9:
                csat = min(5, max(1, int(round(nps / 2.2 + rnd.gauss(0.6, 0.7)))))
                ans_rows.append((inv_id, "responsiveness", csat, 0,
                                 answered_at, 0))
            if rnd.random() < 0.2:
                com_rows.append((inv_id, COMMENTS[rnd.randrange(len(COMMENTS))],
                                 answered_at))
        con.executemany("INSERT INTO token (token, kind, created_at)"
                        " VALUES (?, 'invitation', ?)", tok_rows)
        con.executemany(
            "INSERT INTO invitation (id, token, campaign_id, period_id,"
            " employee_id, rater_department_id, provider_department_id,"
            " language, state, planned_at, sent_at, answered_at, closes_at,"
            " reminded_at, reminders, attempts, last_error)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", inv_rows)
        con.executemany(
            "INSERT INTO answer (invitation_id, metric, score,"
            " not_applicable, received_at, superseded)"
            " VALUES (?,?,?,?,?,?)", ans_rows)
        con.executemany("INSERT INTO comment (invitation_id, text,"
                        " received_at) VALUES (?,?,?)", com_rows)
        closed = last_close + 3600
        is_last = pi == len(per_list) - 1
        con.execute(
            "INSERT INTO period (id, campaign_id, label, first_day, last_day,"
            " closed_at, digest_at) VALUES (?,?,?,?,?,?,?)",
            (pi + 1, cid, label, epoch_day(first), epoch_day(last), closed,
             None if is_last else closed + 4 * 86400))
        if not is_last:
            keys = ["%s:%s" % m for m in managers] + ["hr@bench.example"]
            dtoks = tokens(len(keys))
            at = closed + 4 * 86400
            con.executemany("INSERT INTO token (token, kind, created_at)"
                            " VALUES (?, 'digest', ?)",
                            [(t, at) for t in dtoks])
            code_id = dict(con.execute("SELECT code, id FROM department"))
            con.executemany(
                "INSERT INTO digest_sent (period_id, recipient,"
                " department_id, token, sent_at) VALUES (?,?,?,?,?)",
                [(pi + 1, key, code_id.get(key.split(":")[0]) if ":" in key
                  else None, t, at) for key, t in zip(keys, dtoks)])
            counts["digests"] += len(keys)
        counts["invitations"] += len(inv_rows)
        counts["answers"] += len(ans_rows)
        counts["comments"] += len(com_rows)
    con.execute("COMMIT")
    con.close()
    counts["periods"] = len(per_list)
    counts["managers"] = len(managers)
    return counts


def build(d, n_answers):
    """A complete installation in d with about n_answers answer rows.
    Returns (config path, counts, seconds spent filling the database)."""
    write_files(d)
    cfg = os.path.join(d, "config.ini")
    env = bl.enquete_env(cfg)
    bl.timed([bl.BIN, "init"], env=env, cwd=d)
    bl.timed([bl.BIN, "org", "import", os.path.join(d, "org.csv")], env=env,
             cwd=d)
    t0 = time.perf_counter()
    counts = fill(os.path.join(d, "enquete.db"), n_answers)
    return cfg, counts, time.perf_counter() - t0


def main():
    if len(sys.argv) < 2:
        print("usage: gen_answers.py DIR [N_ANSWERS]", file=sys.stderr)
        sys.exit(64)
    bl.check_binary()
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
    _, counts, secs = build(sys.argv[1], n)
    print("gen_answers: %s in %.1fs" % (
        " ".join("%s=%d" % kv for kv in counts.items()), secs))


if __name__ == "__main__":
    main()
