# Data protection against a real mailbox (Dovecot) and a local maildir: the
# replies to an anonymous campaign are deleted instead of filed; once the
# period's digest is out, `run` anonymises it so that no join leads from an
# answer to a person; `privacy export` lists a person's data, `privacy
# erase` removes it and export then finds nobody (exit 65).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dovecot.sh"
py=/usr/bin/python3
dovecot_start enquete s3cret-pw
make_maildir "$tmp/people"
write_campaign "$tmp/campaigns/it.ini" end=2026-03-31 target_responses=80 send_window= \
    anonymous=yes anonymity_min=3
write_org "$tmp/org.csv" 30 3 aliases
write_secret "$tmp/imap.pw" s3cret-pw
config() { # IMAP-URL
    write_config "$tmp/config.ini" '[smtp]' "url=maildir:$tmp/people" \
        '[imap]' "url=$1" tls=off user=enquete "password_file=$tmp/imap.pw" \
        '[digest]' hr=hr@org.example weekday=mon hour=8
}
config "imap://127.0.0.1:$dc_port/INBOX"
e() { "$ENQUETE_BIN" --config "$tmp/config.ini" "$@"; }
db="$tmp/db/enquete.db"
q() { sqlite3 "$db" "$1"; }
init_org
e --now 2026-03-31T12:00 run >"$tmp/send.out" 2>&1 || fail "run: $(cat "$tmp/send.out")"
n_inv=$(ls "$tmp/people/new" | wc -l)
[ "$n_inv" -ge 20 ] || fail "only $n_inv invitations sent"

# reply FIRST COUNT OUTDIR: replies to the invitations FIRST.. (sorted).
reply() {
    "$py" - "$tmp/people/new" "$@" <<'PY' || fail "reply"
import email, os, sys
from email import policy
from email.message import EmailMessage
inv_dir, first, count, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
os.makedirs(out, exist_ok=True)
names = sorted(os.listdir(inv_dir))
for i in range(first, first + count):
    inv = email.message_from_binary_file(open(os.path.join(inv_dir, names[i]), "rb"), policy=policy.default)
    r = EmailMessage()
    r["From"] = inv["To"]
    r["To"] = inv["Reply-To"]
    r["Subject"] = "Re: " + str(inv["Subject"])
    r["Date"] = "Tue, 31 Mar 2026 14:00:00 +0200"
    r["In-Reply-To"] = inv["Message-ID"]
    r["Message-ID"] = "<anon-%d@client.example>" % i
    r.set_content("%d, de servicedesk van Piet was traag\n" % (i % 11))
    with open(os.path.join(out, "reply-%03d" % i), "wb") as f:
        f.write(bytes(r))
PY
}
reply 0 8 "$tmp/mail1"
dovecot_deliver "$tmp/mail1"/*
e --now 2026-03-31T15:00 ingest >/dev/null || fail "ingest: $(tail -5 "$dc_dir/dovecot.log")"
[ "$(q "select count(*) from answer")" -eq 8 ] || fail "answers $(q "select count(*) from answer")"
[ "$(dovecot_count INBOX)" -eq 0 ] || fail "INBOX not empty"
[ "$(dovecot_count Processed)" -eq 0 ] || fail "anonymous replies were filed, not deleted: $(dovecot_count Processed)"

# The same with a maildir mailbox: the replies are deleted, not kept in cur/.
make_maildir "$tmp/in"
reply 8 4 "$tmp/mail2"
cp "$tmp/mail2"/* "$tmp/in/new/"
config "maildir:$tmp/in"
e --now 2026-03-31T16:00 ingest >/dev/null || fail "maildir ingest"
[ "$(q "select count(*) from answer")" -eq 12 ] || fail "maildir answers"
[ "$(find "$tmp/in/new" "$tmp/in/cur" -type f | wc -l)" -eq 0 ] || fail "maildir kept raw replies"
config "imap://127.0.0.1:$dc_port/INBOX"

# Export while the period is open: the person's invitation and answer.
who=$(q "select e.email from answer a join invitation i on i.id = a.invitation_id join employee e on e.id = i.employee_id limit 1")
[ -n "$who" ] || fail "no answering person"
e privacy export "$who" > "$tmp/export.json" || fail "export"
"$py" - "$tmp/export.json" "$who" <<'PY' || fail "export content: $(cat "$tmp/export.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["person"]["email"] == sys.argv[2]
assert len(d["person"]["aliases"]) == 1
assert any(i["answers"] for i in d["invitations"])
assert d["anonymised"]["periods"] == []
PY
if e privacy export nobody@org.example 2>"$tmp/nf.err"; then fail "unknown person exported"; fi
rc=0; e privacy export nobody@org.example 2>/dev/null || rc=$?
[ $rc -eq 65 ] || fail "unknown person: exit $rc, not 65"
grep -q "no such person" "$tmp/nf.err" || fail "no message: $(cat "$tmp/nf.err")"

# After close_after and the digest (Monday 2026-04-13 08:00), a run
# anonymises the period.
e --now 2026-04-13T09:00 run >"$tmp/digest.out" 2>&1 || fail "digest run: $(cat "$tmp/digest.out")"
[ -n "$(q "select digest_at from period where label = '2026-03'")" ] || fail "no digest: $(cat "$tmp/digest.out")"
e --now 2026-04-13T09:10 run >"$tmp/anon.out" 2>&1 || fail "anon run: $(cat "$tmp/anon.out")"
[ -n "$(q "select anonymised_at from period where label = '2026-03'")" ] ||
    fail "period not anonymised (run_tick must call retention_run)"
[ "$(q "select count(*) from answer a join invitation i on i.id = a.invitation_id join employee e on e.id = i.employee_id")" -eq 0 ] ||
    fail "answers still linked to employees"
[ "$(q "select count(*) from answer a join inbound n on n.id = a.inbound_id where n.sender is not null or n.message_id is not null")" -eq 0 ] ||
    fail "inbound records still name senders"
[ "$(q "select count(*) from answer a join invitation i on i.id = a.invitation_id join invitation o on o.sent_at = i.sent_at and o.employee_id is not null")" -eq 0 ] ||
    fail "send times still link answers"
# The confirmation's Message-ID <ack.TOKEN.N@…> names inbound row N.
[ "$(q "select count(*) from answer where inbound_id is not null")" -eq 0 ] ||
    fail "answers still point at their reply record"
[ "$(q "select count(*) from comment where inbound_id is not null")" -eq 0 ] ||
    fail "comments still point at their reply record"
[ "$(q "pragma foreign_key_check")" = "" ] || fail "foreign keys broken after shuffling ids"
[ "$(dovecot_count Processed)" -eq 0 ] || fail "raw replies in Processed"
"$py" - <<PY || fail "export after anonymising"
import json, subprocess
d = json.loads(subprocess.run(["$ENQUETE_BIN", "--config", "$tmp/config.ini", "privacy", "export", "$who"], capture_output=True, check=True).stdout)
assert all(not i["answers"] for i in d["invitations"]), d["invitations"]
assert d["anonymised"]["periods"] == [{"campaign": "it", "period": "2026-03"}]
PY

# Erase: gone, and export no longer finds them (by address or alias).
alias=$(q "select a.email from alias a join employee e on e.id = a.employee_id where e.email = '$who'")
e privacy erase "$who" > "$tmp/erase.out" || fail "erase"
grep -q "person  *1" "$tmp/erase.out" || fail "erase output: $(cat "$tmp/erase.out")"
rc=0; e privacy export "$who" >/dev/null 2>&1 || rc=$?
[ $rc -eq 65 ] || fail "erased person still exported (exit $rc)"
rc=0; e privacy export "$alias" >/dev/null 2>&1 || rc=$?
[ $rc -eq 65 ] || fail "erased alias still exported (exit $rc)"
[ "$(q "select count(*) from employee where email = '$who'")" -eq 0 ] || fail "employee row left"
[ "$(q "select count(*) from answer")" -eq 12 ] || fail "erase removed answers"
echo "privacy mailbox ok"
