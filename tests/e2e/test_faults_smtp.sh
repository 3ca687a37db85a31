# SMTP servers that misbehave (tests/e2e/faultsrv.py, smtpd.py): a 421 at the
# greeting, a connection dropped in the middle of DATA, a server slower than
# [smtp] timeout, a server gone for an hour (the clock moved with --now) and a
# certificate for another host name. Nothing may be lost: once the server
# behaves, every invitation arrives, at most `connections` of them twice
# (DESIGN.md "State"); while it misbehaves nothing is marked sent or failed.
. "$(dirname "$0")/lib.sh"
py=/usr/bin/python3
fsrv="$ENQUETE_TOP/tests/e2e/faultsrv.py"
connections=2
n_want=6

# setup NAME PORT [TLS CA]: a fresh installation in $tmp/NAME whose need of
# $n_want invitations is due at once on 2026-01-31.
setup() {
    d="$tmp/$1"
    write_campaign "$d/campaigns/it.ini" start=2026-01-01 target_responses=$n_want
    {
        echo "email,name,department,department_code"
        echo "boss@org.example,Bea Baas,ICT,it"
        for i in 0 1 2 3 4 5 6 7 8 9; do echo "p$i@org.example,Persoon $i,Verkoop,sales"; done
    } > "$d/org.csv"
    write_config "$d/config.ini" from="HR <hr@org.example>" quiet_period=1 \
        '[smtp]' "url=smtp://127.0.0.1:$2" "tls=${3:-off}" "${4:+ca_file=$4}" \
        connections=$connections timeout=2 '[imap]' "url=maildir:$d/inbox"
    init_org "$d/org.csv" "$1"
}
e() { timeout 120 "$ENQUETE_BIN" --config "$d/config.ini" "$@"; }
q() { sqlite3 "$d/db/enquete.db" "$1"; }

# check NAME: every invitation delivered and sent, duplicates <= connections.
check() {
    q "SELECT 'inv.' || token || '@org.example', state FROM invitation" > "$d/planned.txt"
    "$py" - "$d/mail/new" "$d/planned.txt" "$connections" "$1" <<'PY' || fail "$1: delivery"
import collections, email, os, sys
from email import policy
d, planned_file, conns, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
planned = dict(("<%s>" % l.split("|")[0], l.strip().split("|")[1]) for l in open(planned_file))
by_id = collections.Counter()
for f in os.listdir(d):
    m = email.message_from_binary_file(open(os.path.join(d, f), "rb"), policy=policy.default)
    by_id[m["Message-ID"]] += 1
missing = [i for i in planned if by_id[i] == 0]
assert planned and not missing, "never delivered: %s" % missing
assert not [i for i in by_id if i not in planned], "stray mail"
notsent = {i: s for i, s in planned.items() if s != "sent"}
assert not notsent, "not sent: %s" % notsent
dups = sum(n - 1 for n in by_id.values())
assert dups <= conns, "%d duplicates > connections %d" % (dups, conns)
print("%s: %d invitations delivered, %d duplicates" % (name, len(planned), dups))
PY
}

# Nothing sent or failed while the server misbehaves.
nothing_done() {
    n=$(ls "$d/mail/new" 2>/dev/null | wc -l)
    [ "$n" -eq 0 ] || fail "$1: $n messages stored by a faulty server"
    bad=$(q "SELECT COUNT(*) FROM invitation WHERE state IN ('sent','failed','bounced')")
    [ "$bad" -eq 0 ] || fail "$1: $bad invitations sent/failed while the server was faulty"
}

# fault NAME FAULT [ARGS]: faulty until the fault file goes, then behaves.
fault() {
    name=$1 kind=$2; shift 2
    port=$(free_port)
    setup "$name" "$port"
    touch "$d/fault"
    serve "$port" "$py" "$fsrv" --smtp --port "$port" --maildir "$d/mail" --fault "$kind" \
        --fault-file "$d/fault" --log "$d/srv.log" "$@"
    srv=$served
    rc=0; e --now 2026-01-31T12:00 run > "$d/run1.out" 2>&1 || rc=$?
    nothing_done "$name"
    grep -q "fault=$kind" "$d/srv.log" || fail "$name: the fault never happened"
    [ "$kind" != drop-data ] || grep -q "drop mid-DATA" "$d/srv.log" || fail "$name: no DATA was cut"
    deferred=$(q "SELECT COUNT(*) FROM invitation WHERE state = 'deferred'")
    rm -f "$d/fault"
    # The first retry is due 15 minutes later.
    e --now 2026-01-31T12:20 run > "$d/run2.out" 2>&1 || fail "$name: run after the fault: $(cat "$d/run2.out")"
    check "$name"
    echo "note: $name: first run exit $rc, $deferred deferred"
    kill "$srv"
}

fault greet421 greet421
fault drop-data drop-data
fault slow slow --delay 4

# Gone for an hour: nothing listens; two runs (12:00, 12:20) find it down, it
# comes back and the run after the 1-hour back-off delivers everything.
port=$(free_port)
setup gone "$port"
rc=0; e --now 2026-01-31T12:00 run > "$d/run1.out" 2>&1 || rc=$?
[ "$rc" -eq 75 ] || fail "gone: run without a server exited $rc, want 75: $(cat "$d/run1.out")"
e --now 2026-01-31T12:20 run > "$d/run2.out" 2>&1 || true
nothing_done gone
serve "$port" "$py" "$fsrv" --smtp --port "$port" --maildir "$d/mail" --log "$d/srv.log"
e --now 2026-01-31T13:30 run > "$d/run3.out" 2>&1 || fail "gone: run once back: $(cat "$d/run3.out")"
check gone
echo "note: gone: exit 75 while down, delivered at 13:30"

# A certificate for another host name, trusted through ca_file: refused, so
# nothing is sent (tls = required), and nothing counts as failed.
port=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=wrong.example" \
    -addext "subjectAltName=DNS:wrong.example" \
    -keyout "$tmp/wrong.key" -out "$tmp/wrong.pem" 2>/dev/null || fail "openssl"
setup wronghost "$port" required "$tmp/wrong.pem"
start_smtpd "$port" "$d/mail" --cert "$tmp/wrong.pem" --key "$tmp/wrong.key"
rc=0; e --now 2026-01-31T12:00 run > "$d/run1.out" 2>&1 || rc=$?
nothing_done wronghost
[ "$rc" -ne 0 ] || fail "wronghost: run said nothing about the certificate"
grep -qiE 'certif|ssl|tls|host' "$d/run1.out" || fail "wronghost: unclear message: $(cat "$d/run1.out")"
echo "note: wronghost: refused (exit $rc): $(grep -m1 -iE 'certif|ssl|tls' "$d/run1.out")"
exit 0
