# SIGKILL at random points of `enquete run` (send over SMTP to smtpd.py,
# ingest replies from a maildir, digests), at least 50 times over seven
# simulated weeks; after every kill a consistency check: PRAGMA
# integrity_check, every invitation past `sending` has its token (so its
# Message-ID), no answer without an invitation, one digest per (period,
# recipient), every invitation marked sent was received by the server, at
# most `connections` duplicates per kill. Then: everything delivered and every
# reply recorded exactly once; two runs at once (the second exits 75); a
# read-only database and a full disk (exit 75, a clear message, nothing
# corrupted, and the next run catches up).
. "$(dirname "$0")/lib.sh"
py=/usr/bin/python3
port=$(free_port)
mail="$tmp/mail"
connections=2
kills=${KILLS:-55}
mounts=""
trap 'for m in $mounts; do umount "$m" 2>/dev/null || true; done; cleanup' EXIT INT TERM

start_smtpd "$port" "$mail" --data-delay 0.02

make_maildir "$tmp/inbox"
write_campaign "$tmp/campaigns/all.ini" name=all 'providers=*' start=2026-01-01 \
    target_responses=12 expected_response_rate=0.5 send_days=mon,tue,wed,thu,fri \
    close_after=7 anonymity_min=2
{
    echo "email,name,department,department_code,manages"
    i=0
    while [ $i -lt 48 ]; do
        m=no; [ $i -lt 4 ] && m=yes
        echo "p$i@org.example,Persoon $i,Afdeling $((i % 4)),d$((i % 4)),$m"
        i=$((i + 1))
    done
} > "$tmp/org.csv"
write_config "$tmp/config.ini" from="HR <hr@org.example>" quiet_period=1 \
    '[smtp]' "url=smtp://127.0.0.1:$port" tls=off connections=$connections timeout=20 \
    '[imap]' "url=maildir:$tmp/inbox" '[digest]' hr=hr@org.example weekday=mon hour=9
db="$tmp/db/enquete.db"
e() { timeout 120 "$ENQUETE_BIN" --config "$tmp/config.ini" "$@"; }
init_org

# Replies to the invitations received so far (once per invitation, 2 of 3
# of them), written into the ingest maildir.
reply() {
    "$py" - "$mail/new" "$tmp/inbox" "$tmp/replied.txt" <<'PY'
import email, os, sys, random
from email import policy
src, inbox, done_file = sys.argv[1:4]
done = set(open(done_file).read().split()) if os.path.exists(done_file) else set()
new = []
for f in sorted(os.listdir(src)):
    m = email.message_from_binary_file(open(os.path.join(src, f), "rb"), policy=policy.default)
    mid = m["Message-ID"].strip("<>")
    if not mid.startswith("inv.") or mid in done:
        continue
    done.add(mid)
    tok = mid.split(".")[1].split("@")[0]
    if int(tok, 36) % 3 == 0:
        continue
    rcpt = m["X-RcptTo"]
    name = "r.%s" % tok
    body = ("From: %s\r\nTo: enquete+%s@org.example\r\nSubject: Re: %s\r\n"
            "Message-ID: <reply.%s@org.example>\r\nIn-Reply-To: <%s>\r\n"
            "Date: Mon, 05 Jan 2026 12:00:00 +0100\r\n\r\n%d\r\n" % (
                rcpt, tok, m["Subject"], tok, mid, int(tok, 36) % 11))
    with open(os.path.join(inbox, "tmp", name), "w") as f:
        f.write(body)
    os.rename(os.path.join(inbox, "tmp", name), os.path.join(inbox, "new", name))
    new.append(mid)
with open(done_file, "a") as f:
    for mid in new:
        f.write(mid + "\n")
PY
}

# consistency KILLS_SO_FAR [final]
consistency() {
    ic=$(sqlite3 "$db" "PRAGMA integrity_check") || fail "sqlite3 could not open the database after kill $1"
    [ "$ic" = "ok" ] || fail "integrity_check after kill $1: $ic"
    fk=$(sqlite3 "$db" "PRAGMA foreign_key_check" | wc -l)
    [ "$fk" -eq 0 ] || fail "foreign key violations after kill $1"
    sqlite3 "$db" "SELECT 'inv.' || token || '@org.example', state FROM invitation" > "$tmp/inv.txt"
    sqlite3 "$db" "SELECT period_id || ' ' || recipient FROM digest_sent" > "$tmp/dig.txt"
    bad=$(sqlite3 "$db" "SELECT
        (SELECT COUNT(*) FROM invitation i LEFT JOIN token t ON t.token = i.token
          WHERE i.state NOT IN ('planned','cancelled') AND (i.token IS NULL OR length(i.token) != 26 OR t.token IS NULL))
      + (SELECT COUNT(*) FROM answer a LEFT JOIN invitation i ON i.id = a.invitation_id WHERE i.id IS NULL)
      + (SELECT COUNT(*) FROM (SELECT 1 FROM inbound WHERE message_id IS NOT NULL GROUP BY message_id HAVING COUNT(*) > 1))
      + (SELECT COUNT(*) FROM (SELECT 1 FROM answer GROUP BY invitation_id, metric, inbound_id HAVING COUNT(*) > 1))")
    [ "$bad" -eq 0 ] || fail "invariants broken after kill $1 ($bad rows)"
    "$py" - "$mail/new" "$tmp/inv.txt" "$tmp/dig.txt" "$connections" "$1" "${2:-}" "$tmp/replied.txt" "$db" <<'PY' || fail "mail counts after kill $1"
import collections, email, os, sys, sqlite3
from email import policy
d, inv_file, dig_file, conns, kills, final, replied, db = sys.argv[1:9]
conns, kills = int(conns), int(kills)
state = dict(l.strip().split("|") for l in open(inv_file) if l.strip())
by_id = collections.Counter()
digests = collections.defaultdict(set)
for f in os.listdir(d):
    m = email.message_from_binary_file(open(os.path.join(d, f), "rb"), policy=policy.default)
    mid = m["Message-ID"].strip("<>")
    by_id[mid] += 1
    if mid.startswith("dig."):
        digests[(m["X-RcptTo"].lower(), m["Subject"])].add(mid)
done = ("sent", "reminded", "answered", "expired", "bounced", "opted_out")
lost = [i for i, s in state.items() if s in done and by_id[i] == 0]
assert not lost, "marked sent, never received: %s" % lost[:5]
stray = [i for i in by_id if i.startswith("inv.") and i not in state]
assert not stray, "received, not an invitation: %s" % stray[:5]
dups = sum(n - 1 for n in by_id.values())
assert dups <= conns * max(kills, 1), "%d duplicates > %d kills x %d" % (dups, kills, conns)
twice = {k: v for k, v in digests.items() if len(v) > 1}
assert not twice, "a digest went out twice with different ids: %s" % twice
dig_rows = open(dig_file).read().split("\n")
assert len([r for r in dig_rows if r]) == len(set(r for r in dig_rows if r)), "digest logged twice"
c = sqlite3.connect(db)
inbound = c.execute("SELECT COUNT(*) FROM inbound").fetchone()[0]
answered = c.execute("SELECT COUNT(DISTINCT invitation_id) FROM answer").fetchone()[0]
if final:
    sent_states = [s for s in state.values()]
    pending = [i for i, s in state.items() if s in ("sending", "deferred")]
    assert not pending, "still pending at the end: %s" % pending[:5]
    reps = open(replied).read().split() if os.path.exists(replied) else []
    written = len(os.listdir(os.path.join(os.path.dirname(replied), "inbox", "cur"))) + \
        len(os.listdir(os.path.join(os.path.dirname(replied), "inbox", "new")))
    ids = set(r[0] for r in c.execute("SELECT message_id FROM inbound"))
    missing = [f for f in os.listdir(os.path.join(os.path.dirname(replied), "inbox", "cur"))
               if "reply.%s@org.example" % f.split(":")[0][2:] not in ids]
    assert not missing, "replies never recorded: %s" % missing[:5]
    print("note: kill loop: %d kills; %d invitations (%s); %d messages received by smtpd, "
          "%d duplicates (bound %d); %d digests; %d replies written, %d recorded inbound, "
          "%d invitations answered" % (
        kills, len(state), ", ".join("%s %d" % (k, v) for k, v in
                                      sorted(collections.Counter(state.values()).items())),
        sum(by_id.values()), dups, conns * kills, len([r for r in dig_rows if r]),
        written, inbound, answered))
PY
}

# One simulated working day per kill from 2026-01-05 (Mon) on, each kill
# 0-700 ms after the start of the run.
"$py" -c "
import datetime as d, random
t, n = d.date(2026, 1, 5), 0
while n < $kills:
    if t.weekday() < 5:
        print(t.isoformat(), round(random.uniform(0, 0.7), 3)); n += 1
    t += d.timedelta(days=1)
" > "$tmp/plan.txt"
i=0
while read -r now delay; do
    "$ENQUETE_BIN" --config "$tmp/config.ini" --now "${now}T10:00" run > "$tmp/run.out" 2>&1 &
    rp=$!
    sleep "$delay"
    kill -KILL "$rp" 2>/dev/null || true
    wait "$rp" 2>/dev/null || true
    i=$((i + 1))
    consistency "$i"
    reply
    last=$now
done < "$tmp/plan.txt"
# Uninterrupted runs to finish: the last day again, then after every close
# and every digest of January and February.
e --now "${last}T10:30" run > "$tmp/fin1.out" 2>&1 || fail "run after the loop: $(tail -3 "$tmp/fin1.out")"
reply
e --now 2026-04-06T10:00 run > "$tmp/fin2.out" 2>&1 || fail "final run: $(tail -3 "$tmp/fin2.out")"
e --now 2026-04-06T10:10 run > "$tmp/fin3.out" 2>&1 || fail "final run: $(tail -3 "$tmp/fin3.out")"
consistency "$kills" final

# Two runs at once: the second finds the first holding the lock and exits 75.
"$ENQUETE_BIN" --config "$tmp/config.ini" --now 2026-04-07T10:00 daemon > "$tmp/daemon.out" 2>&1 &
dp=$!
sleep 1
rc=0; e --now 2026-04-07T10:00 run > "$tmp/second.out" 2>&1 || rc=$?
kill -TERM "$dp" 2>/dev/null || true; wait "$dp" 2>/dev/null || true
if [ "$rc" -ne 75 ]; then
    # No daemon lock? Then a slow run must do: hold it with a slow SMTP DATA.
    fail "second run beside a daemon exited $rc, want 75: $(cat "$tmp/second.out")"
fi
echo "note: concurrent: second run exit 75: $(head -1 "$tmp/second.out")"

# A read-only database directory (a read-only bind mount: root ignores modes).
before=$(sqlite3 "$db" "SELECT COUNT(*) || '/' || SUM(state = 'sent') FROM invitation")
mount --bind "$tmp/db" "$tmp/db" && mounts="$tmp/db $mounts"
mount -o remount,ro,bind "$tmp/db" || fail "ro remount"
rc=0; e --now 2026-05-05T10:00 run > "$tmp/ro.out" 2>&1 || rc=$?
umount "$tmp/db"; mounts=""
[ "$rc" -eq 75 ] || fail "read-only database: exit $rc, want 75: $(cat "$tmp/ro.out")"
grep -qiE 'read-only|readonly|read only|permission|database' "$tmp/ro.out" || fail "read-only: unclear message: $(cat "$tmp/ro.out")"
[ "$(sqlite3 "$db" "PRAGMA integrity_check")" = ok ] || fail "read-only: integrity"
after=$(sqlite3 "$db" "SELECT COUNT(*) || '/' || SUM(state = 'sent') FROM invitation")
[ "$before" = "$after" ] || fail "read-only: database changed $before -> $after"
echo "note: read-only database: exit $rc: $(grep -m1 enquete: "$tmp/ro.out")"

# A full disk: the database on a small tmpfs filled to the last block.
mkdir -p "$tmp/full"
cp -a "$tmp/db" "$tmp/db.keep"
mount -t tmpfs -o size=2m tmpfs "$tmp/full" && mounts="$tmp/full"
cp "$db" "$tmp/full/enquete.db"
sed "s|^database = .*|database = $tmp/full/enquete.db|" "$tmp/config.ini" > "$tmp/config-full.ini"
dd if=/dev/zero of="$tmp/full/filler" bs=4k 2>/dev/null || true
rc=0; timeout 120 "$ENQUETE_BIN" --config "$tmp/config-full.ini" --now 2026-05-05T10:00 run > "$tmp/full.out" 2>&1 || rc=$?
[ "$rc" -eq 75 ] || fail "full disk: exit $rc, want 75: $(cat "$tmp/full.out")"
rm -f "$tmp/full/filler"
[ "$(sqlite3 "$tmp/full/enquete.db" "PRAGMA integrity_check")" = ok ] || fail "full disk: integrity"
timeout 120 "$ENQUETE_BIN" --config "$tmp/config-full.ini" --now 2026-05-05T10:05 run > "$tmp/full2.out" 2>&1 || fail "run after space came back: $(tail -3 "$tmp/full2.out")"
echo "note: full disk: exit $rc: $(grep -m1 enquete: "$tmp/full.out")"
umount "$tmp/full"; mounts=""
exit 0
