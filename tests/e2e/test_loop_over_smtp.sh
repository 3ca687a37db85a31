# The whole loop through real SMTP servers: enquete sends invitations to the
# employees' server, an employee replies through the company's server into
# enquete's mailbox, and the next run records the answer.
. "$(dirname "$0")/lib.sh"
out_port=$(free_port)
in_port=$(free_port)
for d in people inbox; do mkdir -p "$tmp/$d/tmp" "$tmp/$d/new" "$tmp/$d/cur"; done
/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$out_port" -c aiosmtpd.handlers.Mailbox "$tmp/people" &
pids="$pids $!"
/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$in_port" -c aiosmtpd.handlers.Mailbox "$tmp/inbox" &
pids="$pids $!"
wait_port "$out_port"
wait_port "$in_port"
mkdir -p "$tmp/campaigns"
cat > "$tmp/campaigns/it.ini" <<CAMP
[campaign]
name = it
metrics = nps
providers = it
customers = *
cadence = monthly
start = 2026-03-01
target_responses = 10
expected_response_rate = 0.5
CAMP
{
    echo "email,name,department,department_code,manages"
    for d in it hr fin; do
        for i in 1 2 3 4 5 6; do
            echo "p$i.$d@org.example,Persoon $i $d,Afdeling $d,$d,$([ $i = 1 ] && echo yes || echo no)"
        done
    done
} > "$tmp/org.csv"
cat > "$tmp/config.ini" <<CONF
[general]
database = db/enquete.db
from = HR Enquête <hr@org.example>
reply_address = enquete@org.example
quiet_period = 1
templates = $ENQUETE_TOP/templates
[smtp]
url = smtp://127.0.0.1:$out_port
tls = off
[imap]
url = maildir:$tmp/inbox
CONF
e() { "$ENQUETE_BIN" --config "$tmp/config.ini" "$@"; }
e init >/dev/null || fail "init"
e org import "$tmp/org.csv" >/dev/null || fail "org import"
e --now 2026-03-03T12:00 run || fail "first run"
n=$(ls "$tmp/people/new" | wc -l)
[ "$n" -ge 1 ] || fail "no invitation delivered"
# One employee answers from their mail client, through the mail server.
/usr/bin/python3 - "$tmp/people/new" "$in_port" <<'PY' || fail "reply"
import email, os, smtplib, sys
from email import policy
from email.message import EmailMessage
d = sys.argv[1]
inv = email.message_from_binary_file(open(os.path.join(d, sorted(os.listdir(d))[0]), "rb"),
                                     policy=policy.default)
r = EmailMessage()
r["From"] = inv["To"]
r["To"] = inv["Reply-To"]
r["Subject"] = "Re: " + str(inv["Subject"])
r["In-Reply-To"] = inv["Message-ID"]
r["References"] = inv["Message-ID"]
r["Message-ID"] = "<reply-1@client.example>"
r.set_content("8 — prima geholpen\n\nOp di 3 mrt. 2026 om 12:00 schreef HR Enquête:\n> Hoe waarschijnlijk ...\n")
with smtplib.SMTP("127.0.0.1", int(sys.argv[2])) as s:
    s.send_message(r, from_addr=r["From"].addresses[0].addr_spec,
                   to_addrs=[r["To"].addresses[0].addr_spec])
PY
i=0
while [ -z "$(ls "$tmp/inbox/new")" ]; do i=$((i + 1)); [ $i -lt 50 ] || fail "reply not delivered"; sleep 0.1; done
e --now 2026-03-04T12:00 run || fail "second run"
e status --json | grep -q '"answered":1' || fail "answer not recorded: $(e status --json)"
[ -z "$(ls "$tmp/inbox/new")" ] || fail "the reply was not filed"
e report --period 2026-03 --format csv | grep -q 'it' || fail "no report"
