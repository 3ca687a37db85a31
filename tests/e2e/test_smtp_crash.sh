# SIGKILL in the middle of a send: `sending` is committed before a message is
# handed over and `sent` after the 250, so the next run sends what was in
# flight again (same Message-ID) and nothing else. After the restart every
# planned invitation has arrived at least once, and at most `connections`
# arrived twice.
. "$(dirname "$0")/lib.sh"
py=/usr/bin/python3
port=$(free_port)
mail="$tmp/mail"
connections=2
n_want=60
# Every DATA takes ~50 ms: 60 invitations take seconds, so the kill lands
# while mail is moving.
start_smtpd "$port" "$mail" --data-delay 0.05

# The month's last day with every day a send day: the whole need of 60 is
# planned and due in one run.
write_campaign "$tmp/campaigns/it.ini" start=2026-01-01 target_responses=$n_want
write_org "$tmp/org.csv" 80 4 none
write_config "$tmp/config.ini" quiet_period=1 \
    '[smtp]' "url=smtp://127.0.0.1:$port" tls=off connections=$connections timeout=20 \
    '[imap]' "url=maildir:$tmp/inbox"
e() { "$ENQUETE_BIN" --config "$tmp/config.ini" "$@"; }
init_org

# Not through e(): $! must be enquete itself, not a subshell around it.
"$ENQUETE_BIN" --config "$tmp/config.ini" --now 2026-01-31T12:00 run \
    > "$tmp/run1.out" 2>&1 &
run_pid=$!
i=0
while [ "$(ls "$mail/new" 2>/dev/null | wc -l)" -lt 10 ]; do
    i=$((i + 1)); [ $i -lt 300 ] || fail "no deliveries seen: $(cat "$tmp/run1.out")"
    kill -0 "$run_pid" 2>/dev/null || fail "run ended before the kill: $(cat "$tmp/run1.out")"
    sleep 0.02
done
kill -KILL "$run_pid"
wait "$run_pid" 2>/dev/null || true
killed_at=$(ls "$mail/new" | wc -l)
planned=$(sqlite3 "$tmp/db/enquete.db" "SELECT COUNT(*) FROM invitation")
[ "$killed_at" -lt "$planned" ] || fail "the kill came too late ($killed_at of $planned)"
# `sending` holds the batch on the wire (at most `connections`) and the next
# batch, composed meanwhile but not handed over yet: at most twice that.
# Only the first kind can arrive twice; the duplicate count below checks it.
in_flight=$(sqlite3 "$tmp/db/enquete.db" "SELECT COUNT(*) FROM invitation WHERE state = 'sending'")
[ "$in_flight" -le $((2 * connections)) ] || fail "$in_flight invitations in sending, more than 2 x $connections"

e --now 2026-01-31T12:00 run > "$tmp/run2.out" 2>&1 || fail "run after the kill: $(cat "$tmp/run2.out")"
i=0
while [ "$(ls "$mail/new" | wc -l)" -lt "$planned" ]; do
    i=$((i + 1)); [ $i -lt 50 ] || break; sleep 0.1
done
sqlite3 "$tmp/db/enquete.db" "SELECT 'inv.' || token || '@org.example', state FROM invitation" > "$tmp/planned.txt"

"$py" - "$mail/new" "$tmp/planned.txt" "$connections" "$killed_at" <<'PY' || fail "delivery after the crash"
import collections, email, os, sys
from email import policy
d, planned_file, conns, killed_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
planned = {}
for line in open(planned_file):
    mid, state = line.strip().split("|")
    planned["<%s>" % mid] = state
by_id = collections.Counter()
ids_of_rcpt = collections.defaultdict(set)
for f in os.listdir(d):
    m = email.message_from_binary_file(open(os.path.join(d, f), "rb"), policy=policy.default)
    by_id[m["Message-ID"]] += 1
    ids_of_rcpt[m["X-RcptTo"]].add(m["Message-ID"])
missing = [i for i in planned if by_id[i] == 0]
assert not missing, "never delivered: %s" % missing
stray = [i for i in by_id if i not in planned]
assert not stray, "delivered but not planned: %s" % stray
notsent = {i: s for i, s in planned.items() if s != "sent"}
assert not notsent, "not sent after the restart: %s" % notsent
dups = sum(n - 1 for n in by_id.values())
assert dups <= conns, "%d duplicates, more than connections = %d" % (dups, conns)
# A duplicate is the same invitation again: one Message-ID per recipient.
many = {r: ids for r, ids in ids_of_rcpt.items() if len(ids) != 1}
assert not many, "recipients with different Message-IDs: %s" % many
print("crash: %d planned, %s delivered before the kill, %d duplicates" % (
    len(planned), killed_at, dups))
PY
exit 0
