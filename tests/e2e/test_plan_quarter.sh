# `plan` for a quarter on the demo organisation (800 people, 10 departments)
# with two campaigns sharing the people: even days, every provider at its
# target, nobody twice within quiet_period, all inside the window on send
# days and never on a holiday; and `run` invites the people `plan` named.
. "$(dirname "$0")/lib.sh"
/usr/bin/python3 "$ENQUETE_TOP/scripts/demo-org" "$tmp/org.csv" --seed 3 >/dev/null
mkdir -p "$tmp/campaigns"
cat > "$tmp/campaigns/diensten.ini" <<CAMP
[campaign]
name = diensten
metrics = nps
providers = it, hr, fac, fin, kwa
customers = *
cadence = quarterly
start = 2026-01-01
holidays = 2026-02-17, 2026-03-05
CAMP
cat > "$tmp/campaigns/keten.ini" <<CAMP
[campaign]
name = keten
metrics = nps, ces
providers = inkoop, log
customers = prod, sales, klant
cadence = quarterly
start = 2026-01-01
send_days = mon, tue, wed, thu, fri
send_window = 13:00-15:00
CAMP
cat > "$tmp/config.ini" <<CONF
[general]
database = db/enquete.db
from = HR <hr@org.example>
reply_address = enquete@org.example
templates = $ENQUETE_TOP/templates
quiet_period = 30
[smtp]
url = maildir:out
[imap]
url = maildir:in
CONF
e() { "$ENQUETE_BIN" --config "$tmp/config.ini" "$@"; }
e init >/dev/null && e org import "$tmp/org.csv" >/dev/null || fail "setup"
e plan --from 2026-01-01 --to 2026-03-31 --json > "$tmp/plan.json" || fail "plan"
/usr/bin/python3 - "$tmp/plan.json" <<'PY' || fail "plan does not hold"
import collections, datetime, json, sys
from zoneinfo import ZoneInfo
ams = ZoneInfo("Europe/Amsterdam")
inv, summ = [], []
for line in open(sys.argv[1]):
    o = json.loads(line)
    (inv if "kind" in o else summ).append(o)
invites = [o for o in inv if o["kind"] == "invite"]
assert invites, "no invitations"
win = {"diensten": (9 * 60, 11 * 60, {1, 2, 3}, {"2026-02-17", "2026-03-05"}),
       "keten": (13 * 60, 15 * 60, {0, 1, 2, 3, 4}, set())}
per_day = collections.Counter()
for o in invites:
    t = datetime.datetime.fromisoformat(o["send_at"].replace("Z", "+00:00")).astimezone(ams)
    lo, hi, days, hol = win[o["campaign"]]
    m = t.hour * 60 + t.minute
    assert lo <= m < hi, "outside the window: %r" % o
    assert t.weekday() in days, "not a send day: %r" % o
    assert t.date().isoformat() not in hol, "on a holiday: %r" % o
    per_day[(o["campaign"], t.date())] += 1
for camp in win:
    counts = [v for (c, d), v in per_day.items() if c == camp]
    mean = sum(counts) / len(counts)
    assert max(abs(v - mean) for v in counts) <= 1 + 0.1 * mean, \
        "%s uneven: mean %.1f, %r" % (camp, mean, sorted(counts))
got = collections.Counter((o["campaign"], o["provider"]) for o in invites)
for s in summ:
    assert not s["capped"], "capped on 800 people: %r" % s
    assert got[(s["campaign"], s["provider"])] == s["need"], \
        "%r got %d" % (s, got[(s["campaign"], s["provider"])])
last = {}
for o in sorted(invites, key=lambda o: o["send_at"]):
    t = datetime.datetime.fromisoformat(o["send_at"].replace("Z", "+00:00")).astimezone(ams).date()
    if o["employee"] in last:
        assert (t - last[o["employee"]]).days >= 30, "asked twice in 30 days: %r" % o
    last[o["employee"]] = t
print("plan ok: %d invitations, %d providers" % (len(invites), len(summ)))
PY
# The same seed and data: `run` on one day invites whom `plan` named.
e plan --from 2026-01-06 --to 2026-01-06 --json | grep '"kind":"invite"' \
    | sed 's/.*"employee":"\([^"]*\)".*/\1/' | sort > "$tmp/planned"
[ -s "$tmp/planned" ] || fail "nothing planned on 2026-01-06"
e --now 2026-01-06T08:00 run >/dev/null || fail "run"
e --now 2026-01-06T16:00 run >/dev/null || fail "run"
grep -h '^To:' "$tmp"/out/new/* | sed 's/.*<\(.*\)>.*/\1/' | sort > "$tmp/sent"
cmp -s "$tmp/planned" "$tmp/sent" || fail "run differs from plan: $(diff "$tmp/planned" "$tmp/sent" | head)"
