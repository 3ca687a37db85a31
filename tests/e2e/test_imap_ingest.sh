# Ingest from a real IMAP server (Dovecot): replies, a DSN bounce, an
# auto-reply and a mail without token are recorded once and filed into
# Processed / Bounces / AutoReplies / Review; a second run changes nothing;
# a SIGKILL mid-ingest followed by another run records every reply exactly
# once; and one run goes over imaps:// with the certificate verified.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dovecot.sh"
py=/usr/bin/python3
dovecot_start enquete s3cret-pw
make_maildir "$tmp/people"
write_campaign "$tmp/campaigns/it.ini" target_responses=80
write_org "$tmp/org.csv" 90 3
write_secret "$tmp/imap.pw" s3cret-pw
config() { # URL TLS [CA]
    write_config "$tmp/config.ini" '[smtp]' "url=maildir:$tmp/people" \
        '[imap]' "url=$1" "tls=$2" user=enquete "password_file=$tmp/imap.pw" batch=7 \
        "${3:+ca_file=$3}"
}
config "imap://127.0.0.1:$dc_port/INBOX" off
e() { "$ENQUETE_BIN" --config "$tmp/config.ini" "$@"; }
db="$tmp/db/enquete.db"
init_org
e --now 2026-03-31T12:00 run >"$tmp/send.out" 2>&1 || fail "run: $(cat "$tmp/send.out")"
n_inv=$(ls "$tmp/people/new" | wc -l)
[ "$n_inv" -ge 77 ] || fail "only $n_inv invitations sent"

# make_mail KIND FIRST COUNT OUTDIR: replies to invitations FIRST.. (sorted),
# or one bounce / auto-reply / no-token mail.
make_mail() {
    "$py" - "$tmp/people/new" "$@" <<'PY' || fail "make_mail $1"
import email, os, sys
from email import policy
from email.message import EmailMessage
inv_dir, kind, first, count, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
os.makedirs(out, exist_ok=True)
names = sorted(os.listdir(inv_dir))
def load(n):
    return email.message_from_binary_file(open(os.path.join(inv_dir, n), "rb"), policy=policy.default)
def save(msg, name):
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes(msg))
if kind == "reply":
    for i in range(first, first + count):
        inv = load(names[i])
        r = EmailMessage()
        r["From"] = inv["To"]
        r["To"] = inv["Reply-To"]
        r["Subject"] = "Re: " + str(inv["Subject"])
        r["Date"] = "Tue, 31 Mar 2026 14:00:00 +0100"
        r["In-Reply-To"] = inv["Message-ID"]
        r["References"] = inv["Message-ID"]
        r["Message-ID"] = "<reply-%d@client.example>" % i
        r.set_content("%d, prima geholpen\n\nOp di 3 mrt. 2026 schreef HR Enquête:\n> Hoe waarschijnlijk ...\n" % (i % 11))
        save(r, "reply-%03d" % i)
elif kind == "bounce":
    inv = load(names[first])
    rcpt = inv["To"].addresses[0].addr_spec
    raw = ("From: Mail Delivery System <MAILER-DAEMON@mx.org.example>\r\n"
           "To: %s\r\nSubject: Undelivered Mail Returned to Sender\r\n"
           "Date: Tue, 31 Mar 2026 13:05:00 +0100\r\n"
           "Message-ID: <bounce-1@mx.org.example>\r\nMIME-Version: 1.0\r\n"
           "Auto-Submitted: auto-replied\r\n"
           "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
           "--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n\r\n"
           "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
           "Reporting-MTA: dns; mx.org.example\r\n\r\n"
           "Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.1.1\r\n"
           "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
           "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
           "Message-ID: %s\r\nTo: %s\r\nSubject: %s\r\n\r\n--B--\r\n"
           ) % (inv["Reply-To"], rcpt, inv["Message-ID"], rcpt, inv["Subject"])
    open(os.path.join(out, "bounce"), "w").write(raw)
elif kind == "auto":
    inv = load(names[first])
    r = EmailMessage()
    r["From"] = inv["To"]
    r["To"] = inv["Reply-To"]
    r["Subject"] = "Automatisch antwoord: " + str(inv["Subject"])
    r["Date"] = "Tue, 31 Mar 2026 13:06:00 +0100"
    r["Auto-Submitted"] = "auto-replied"
    r["In-Reply-To"] = inv["Message-ID"]
    r["Message-ID"] = "<auto-1@client.example>"
    r.set_content("Ik ben afwezig tot 16 maart en heb beperkt toegang tot mijn e-mail.\n")
    save(r, "auto")
else:
    r = EmailMessage()
    r["From"] = "Iemand <iemand@org.example>"
    r["To"] = "enquete@org.example"
    r["Subject"] = "Vraag over de enquête"
    r["Date"] = "Tue, 31 Mar 2026 13:07:00 +0100"
    r["Message-ID"] = "<notoken-1@client.example>"
    r.set_content("Hallo, waar gaat deze enquête over? 7 denk ik.\n")
    save(r, "notoken")
PY
}
n_rep=5
make_mail reply 0 $n_rep "$tmp/mail1"
make_mail bounce 75 1 "$tmp/mail1"
make_mail auto 76 1 "$tmp/mail1"
make_mail other 0 1 "$tmp/mail1"
dovecot_deliver "$tmp/mail1"/*
[ "$(dovecot_count INBOX)" -eq $((n_rep + 3)) ] || fail "delivery"

answered() { e status --json | "$py" -c 'import json,sys
def find(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "answered" and isinstance(v, int): return v
            r = find(v)
            if r is not None: return r
    if isinstance(o, list):
        for v in o:
            r = find(v)
            if r is not None: return r
print(find(json.load(sys.stdin)))'; }
inbound() { sqlite3 "$db" "select count(*) from inbound"; }

e --now 2026-03-31T15:00 ingest || fail "first ingest: $(cat "$dc_dir/dovecot.log" | tail -5)"
[ "$(answered)" = "$n_rep" ] || fail "answered $(answered), want $n_rep: $(e status --json)"
[ "$(inbound)" = $((n_rep + 3)) ] || fail "inbound rows $(inbound)"
[ "$(dovecot_count INBOX)" -eq 0 ] || fail "INBOX not empty: $(dovecot_count INBOX)"
[ "$(dovecot_count Processed)" -eq "$n_rep" ] || fail "Processed has $(dovecot_count Processed)"
[ "$(dovecot_count Bounces)" -eq 1 ] || fail "Bounces has $(dovecot_count Bounces)"
[ "$(dovecot_count AutoReplies)" -eq 1 ] || fail "AutoReplies has $(dovecot_count AutoReplies)"
[ "$(dovecot_count Review)" -eq 1 ] || fail "Review has $(dovecot_count Review)"
snap=$(sqlite3 "$db" "select count(*) from inbound; select count(*) from answer" 2>/dev/null || inbound)

# Second run: nothing new, nothing changes.
e --now 2026-03-31T15:10 ingest || fail "second ingest"
[ "$(answered)" = "$n_rep" ] || fail "second run changed answered: $(answered)"
[ "$(sqlite3 "$db" "select count(*) from inbound; select count(*) from answer" 2>/dev/null || inbound)" = "$snap" ] ||
    fail "second run changed the database"
[ "$(dovecot_count Processed)" -eq "$n_rep" ] || fail "second run moved mail"

# A recorded message whose move was lost (what a crash before the flush
# leaves) is read again and filed as a duplicate, recording nothing.
dovecot_deliver "$tmp/mail1/reply-000"
e --now 2026-03-31T15:20 ingest > "$tmp/dup.out" || fail "ingest of a lost move"
grep -q 'duplicates 1' "$tmp/dup.out" || fail "not a duplicate: $(cat "$tmp/dup.out")"
[ "$(answered)" = "$n_rep" ] || fail "the duplicate changed answered: $(answered)"
[ "$(dovecot_count INBOX)" -eq 0 ] || fail "the duplicate was not filed"
[ "$(dovecot_count Processed)" -eq $((n_rep + 1)) ] || fail "the duplicate is not in Processed"

# Crash: 50 more replies, SIGKILL once some are filed, run again.
n_crash=50
make_mail reply $n_rep $n_crash "$tmp/mail2"
dovecot_deliver "$tmp/mail2"/*
# The binary itself in the background (not the e function's subshell), so
# the SIGKILL reaches enquete.
"$ENQUETE_BIN" --config "$tmp/config.ini" --now 2026-03-31T16:00 ingest \
    >"$tmp/crash.out" 2>&1 &
ipid=$!
i=0
# Killed as soon as the first new reply is recorded: mid-run, usually
# with part of a batch (batch = 7) recorded but not yet filed.
while kill -0 $ipid 2>/dev/null; do
    r=$(($(sqlite3 "$db" "select count(*) from inbound" 2>/dev/null || echo 0) - n_rep - 3))
    [ $r -ge 1 ] && break
    i=$((i + 1)); [ $i -lt 2000 ] || break
done
kill -9 $ipid 2>/dev/null && killed=yes || killed=no
wait $ipid 2>/dev/null || true
mid=$(dovecot_count Processed)
rows=$(inbound)
echo "crash: killed=$killed; recorded $((rows - n_rep - 3)) of $n_crash, filed $((mid - n_rep - 1))"
e --now 2026-03-31T16:10 ingest > "$tmp/after.out" || fail "ingest after the crash"
cat "$tmp/after.out"
[ "$(answered)" = $((n_rep + n_crash)) ] || fail "$(sqlite3 "$db" "select id, message_id, source_key, kind, outcome, token, invitation_id, note from inbound") after crash answered $(answered), want $((n_rep + n_crash))"
[ "$(inbound)" = $((n_rep + 3 + n_crash)) ] || fail "after crash inbound rows $(inbound)"
dups=$(sqlite3 "$db" "select count(*) from (select message_id from inbound group by message_id having count(*) > 1)" 2>/dev/null || echo 0)
[ "$dups" = 0 ] || fail "$dups messages recorded twice"
[ "$(dovecot_count INBOX)" -eq 0 ] || fail "INBOX not empty after crash run"
[ "$(dovecot_count Processed)" -eq $((n_rep + 1 + n_crash)) ] || fail "Processed has $(dovecot_count Processed)"

# imaps:// with the certificate verified against ca_file.
make_mail reply $((n_rep + n_crash)) 2 "$tmp/mail3"
dovecot_deliver "$tmp/mail3"/*
config "imaps://127.0.0.1:$dc_tls_port/INBOX" required "$dc_cert"
e --now 2026-03-31T17:00 ingest || fail "ingest over imaps"
[ "$(answered)" = $((n_rep + n_crash + 2)) ] || fail "imaps answered $(answered)"
[ "$(dovecot_count INBOX)" -eq 0 ] || fail "INBOX not empty after imaps"
# A CA that did not sign the server's certificate is refused before login.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other \
    -keyout "$tmp/other.key" -out "$tmp/other.pem" 2>/dev/null
config "imaps://127.0.0.1:$dc_tls_port/INBOX" required "$tmp/other.pem"
if e --now 2026-03-31T17:10 ingest 2>"$tmp/bad.err"; then fail "untrusted certificate accepted"; fi
grep -q "certificate not trusted" "$tmp/bad.err" || fail "no certificate message: $(cat "$tmp/bad.err")"
# A wrong password is a configuration error naming the host.
config "imap://127.0.0.1:$dc_port/INBOX" off
printf 'wrong\n' > "$tmp/imap.pw"
if e --now 2026-03-31T17:20 ingest 2>"$tmp/pw.err"; then fail "wrong password accepted"; fi
grep -q "127.0.0.1:$dc_port: login as enquete failed" "$tmp/pw.err" || fail "no login message: $(cat "$tmp/pw.err")"
# Under a sanitizer build the failing runs must still be clean.
! grep -q 'Sanitizer\|runtime error' "$tmp/bad.err" "$tmp/pw.err" "$tmp/crash.out" ||
    fail "sanitizer report: $(cat "$tmp/bad.err" "$tmp/pw.err")"
echo "imap ingest ok"
