# The whole loop through real SMTP servers: enquete sends invitations to the
# employees' server, an employee replies through the company's server into
# enquete's mailbox, and the next run records the answer.
. "$(dirname "$0")/lib.sh"
out_port=$(free_port)
in_port=$(free_port)
start_mailbox "$out_port" "$tmp/people"
start_mailbox "$in_port" "$tmp/inbox"
write_campaign "$tmp/campaigns/it.ini" target_responses=10 expected_response_rate=0.5 \
    send_days= send_window=
{
    echo "email,name,department,department_code,manages"
    for d in it hr fin; do
        for i in 1 2 3 4 5 6; do
            echo "p$i.$d@org.example,Persoon $i $d,Afdeling $d,$d,$([ $i = 1 ] && echo yes || echo no)"
        done
    done
} > "$tmp/org.csv"
write_config "$tmp/config.ini" quiet_period=1 \
    '[smtp]' "url=smtp://127.0.0.1:$out_port" tls=off '[imap]' "url=maildir:$tmp/inbox"
e() { "$ENQUETE_BIN" --config "$tmp/config.ini" "$@"; }
init_org
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
