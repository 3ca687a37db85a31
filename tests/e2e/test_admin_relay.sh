# docs/admin.md, followed on 127.0.0.1: enquete sends through a local Postfix
# set up as the "local Postfix as relay" there (relayhost with STARTTLS and
# SASL), which relays to a stand-in for the organisation's mail server
# (aiosmtpd: STARTTLS and AUTH required, plus addressing, delivery with
# dovecot-lda into Dovecot). An invitation reaches the employee's mailbox, the
# employee's reply (fetched over IMAP, answered as a mail client would and
# submitted through Postfix) reaches enquete's mailbox through the +TOKEN
# address, and the next `enquete run` records the answer. An invitation to a
# mailbox the organisation does not have comes back as Postfix's bounce to
# enquete+TOKEN and is recorded as a bounce.
. "$(dirname "$0")/lib.sh"
for b in postfix postconf postmap postqueue; do
    [ -x "/usr/sbin/$b" ] || { echo "skip: /usr/sbin/$b missing (package postfix)"; exit 0; }
done
. "$(dirname "$0")/dovecot.sh"
py=/usr/bin/python3
pf="$tmp/postfix"

postfix_stop() {
    [ -f "$pf/etc/main.cf" ] || return 0
    /usr/sbin/postfix -c "$pf/etc" stop >/dev/null 2>&1 || true
    i=0
    while [ -f "$pf/spool/pid/master.pid" ] &&
        kill -0 "$(cat "$pf/spool/pid/master.pid" 2>/dev/null || echo 0)" 2>/dev/null &&
        [ $i -lt 50 ]; do
        i=$((i + 1)); sleep 0.1
    done
}
trap 'postfix_stop; dovecot_stop; cleanup' EXIT INT TERM

# The organisation's mailboxes: enquete's and four employees'. oud@ is in
# the org CSV but has no mailbox any more.
dovecot_start enquete imap-pw
for u in jan piet ans kees mia; do printf '%s:{PLAIN}%s-pw\n' "$u" "$u" >> "$dc_dir/passwd"; done

# The organisation's mail server.
mx_port=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mx.org.example \
    -keyout "$tmp/mx.key" -out "$tmp/mx.pem" 2>/dev/null || fail "openssl"
cat > "$tmp/mx.py" <<'PY'
import logging, signal, ssl, subprocess, sys, threading
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
port, users_file, conf, cert, key, log_path = sys.argv[1:7]
users = {l.split(":", 1)[0] for l in open(users_file) if ":" in l}
log = open(log_path, "a", buffering=1)

def mailbox(address):
    local, _, dom = address.rpartition("@")
    user = local.split("+", 1)[0].lower()   # plus addressing
    return user if dom.lower() == "org.example" and user in users else None

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, options):
        if mailbox(address) is None:
            log.write("550 %s\n" % address)
            return "550 5.1.1 <%s>: Recipient address rejected: no such user" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            r = subprocess.run(["/usr/lib/dovecot/dovecot-lda", "-c", conf,
                                "-d", mailbox(rcpt), "-f", envelope.mail_from or "",
                                "-a", rcpt], input=envelope.original_content)
            log.write("lda <%s> -> <%s>: %d\n" % (envelope.mail_from, rcpt, r.returncode))
            if r.returncode != 0:
                return "451 4.3.0 local delivery failed"
        return "250 2.0.0 OK delivered"

def auth(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == b"relayuser" \
        and data.password == b"relay-pw"
    log.write("AUTH %s %s\n" % (mechanism, "ok" if ok else "refused"))
    return AuthResult(success=ok)

logging.getLogger("mail.log").setLevel(logging.ERROR)
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
ctl = Controller(Handler(), hostname="127.0.0.1", port=int(port),
                 server_hostname="mx.org.example", tls_context=ctx,
                 require_starttls=True, authenticator=auth, auth_required=True,
                 auth_require_tls=True, ready_timeout=10)
ctl.start()
done = threading.Event()
for s in (signal.SIGTERM, signal.SIGINT):
    signal.signal(s, lambda *_: done.set())
done.wait()
ctl.stop()
PY
"$py" "$tmp/mx.py" "$mx_port" "$dc_dir/passwd" "$dc_dir/dovecot.conf" \
    "$tmp/mx.pem" "$tmp/mx.key" "$tmp/mx.log" 2>"$tmp/mx.err" &
pids="$pids $!"
wait_port "$mx_port" || fail "mx: $(cat "$tmp/mx.err")"

# The local Postfix of docs/admin.md. Sandbox differences only: its own
# config and queue directories, a high port in master.cf, a log file
# instead of syslog, no DNS, no aliases.
pf_port=$(free_port)
mkdir -p "$pf/etc" "$pf/spool" "$pf/data"
chown postfix "$pf/data"
cat > "$pf/etc/main.cf" <<CONF
inet_interfaces = loopback-only
mydestination =
relayhost = [127.0.0.1]:$mx_port
smtp_sasl_auth_enable = yes
smtp_sasl_password_maps = hash:$pf/etc/sasl_passwd
smtp_sasl_security_options = noanonymous
smtp_tls_security_level = encrypt
recipient_delimiter = +
myhostname = enquete-host.org.example
mydomain = org.example
compatibility_level = 3.6
queue_directory = $pf/spool
data_directory = $pf/data
maillog_file_prefixes = $pf
maillog_file = $pf/maillog
inet_protocols = ipv4
smtp_dns_support_level = disabled
alias_maps =
alias_database =
CONF
cat > "$pf/etc/master.cf" <<CONF
127.0.0.1:$pf_port inet n - n - - smtpd
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
smtp      unix  - - n -    - smtp
relay     unix  - - n -    - smtp
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
CONF
printf '[127.0.0.1]:%s relayuser:relay-pw\n' "$mx_port" > "$pf/etc/sasl_passwd"
chmod 600 "$pf/etc/sasl_passwd"
/usr/sbin/postmap -c "$pf/etc" "hash:$pf/etc/sasl_passwd" || fail "postmap"
/usr/sbin/postfix -c "$pf/etc" start >"$tmp/postfix.out" 2>&1 ||
    fail "postfix start: $(cat "$tmp/postfix.out" "$pf/maillog" 2>/dev/null | tail -20)"
wait_port "$pf_port" || fail "postfix: $(tail -20 "$pf/maillog")"

# enquete, configured from config.ini.example as the admin guide says.
mkdir -p "$tmp/work/campaigns"
cp "$ENQUETE_TOP/campaigns/example.ini" "$tmp/work/campaigns/"
printf 'imap-pw\n' > "$tmp/work/imap.password"
chmod 600 "$tmp/work/imap.password"
"$py" - "$ENQUETE_TOP/config.ini.example" "$tmp/work/config.ini" "$pf_port" "$dc_port" \
    "$ENQUETE_TOP/templates" <<'PY' || fail "editing config.ini.example"
import re, sys
src, dst, smtp_port, imap_port, templates = sys.argv[1:6]
s = open(src).read()
general, rest = s.split("[smtp]", 1)
smtp, rest = rest.split("[imap]", 1)
imap, digest = rest.split("[digest]", 1)
def sub(text, pat, new):
    text, n = re.subn(pat, new, text, count=1, flags=re.M)
    assert n == 1, pat
    return text
general = sub(general, r"^from = .*$", "from = HR Enquête <hr@org.example>")
general = sub(general, r"^reply_address = .*$", "reply_address = enquete@org.example")
general = sub(general, r"^#templates = .*$", "templates = " + templates)
smtp = sub(smtp, r"^url = .*$", "url = smtp://127.0.0.1:" + smtp_port)
smtp = sub(smtp, r"^tls = .*$", "tls = off")
imap = sub(imap, r"^url = .*$", "url = imap://127.0.0.1:%s/INBOX" % imap_port)
imap = sub(imap, r"^tls = .*$", "tls = off")
imap = sub(imap, r"^#user = .*$", "user = enquete\npassword_file = imap.password")
digest = sub(digest, r"^hr = .*$", "hr = hr@org.example")
open(dst, "w").write(general + "[smtp]" + smtp + "[imap]" + imap + "[digest]" + digest)
PY
cat > "$tmp/work/people.csv" <<CSV
email,name,department,department_code,manages,language
jan@org.example,Jan Jansen,Financiën,fin,no,nl
piet@org.example,Piet Pieters,ICT,it,yes,nl
ans@org.example,Ans Aarts,HR,hr,yes,nl
kees@org.example,Kees Kok,Facilitair,fac,yes,en
mia@org.example,Mia Mulder,Kwaliteit,kwa,yes,nl
oud@org.example,Oud Medewerker,ICT,it,no,nl
CSV
cd "$tmp/work"
e() { "$ENQUETE_BIN" "$@"; }
db="$tmp/work/data/enquete.db"
e init >"$tmp/init.out" || fail "init: $(cat "$tmp/init.out")"
e campaign check >/dev/null || fail "campaign check"
e org import people.csv >/dev/null || fail "org import"

# A daily run after the send window, from Tuesday 3 March 2026, until both
# jan@ and oud@ are invited (the scheduler spreads the six people over the
# first days; reminders would start on the 6th).
for day in 03 04 05; do
    e --now 2026-03-${day}T11:00 run >"$tmp/run1.out" 2>&1 || fail "run: $(cat "$tmp/run1.out")"
    grep -q 'deferred 0, failed 0' "$tmp/run1.out" || fail "run on the $day: $(cat "$tmp/run1.out")"
    sent_to=$(sqlite3 "$db" "select group_concat(email, ' ') from (select e.email
        from invitation i join employee e on e.id = i.employee_id
        where e.email in ('jan@org.example', 'oud@org.example') and i.state = 'sent'
        order by e.email)")
    [ "$sent_to" != "jan@org.example oud@org.example" ] || break
done
[ "$sent_to" = "jan@org.example oud@org.example" ] ||
    fail "sent to '$sent_to': $(sqlite3 "$db" 'select * from invitation')"

# Postfix relays them; oud@'s is refused by the organisation's server and
# Postfix's bounce goes to enquete+TOKEN.
jan_new="$dc_dir/home/jan/Maildir/new"
i=0
until [ "$(ls "$jan_new" 2>/dev/null | wc -l)" -eq 1 ] && [ "$(dovecot_count INBOX)" -eq 1 ]; do
    i=$((i + 1))
    [ $i -lt 200 ] || fail "not delivered: $(tail -20 "$pf/maillog"; cat "$tmp/mx.log")"
    sleep 0.1
done
grep -q 'AUTH PLAIN ok' "$tmp/mx.log" || fail "postfix did not log in: $(cat "$tmp/mx.log")"
grep -q 'status=bounced' "$pf/maillog" || fail "no bounce in the postfix log"

# Jan reads the invitation over IMAP and answers it as a mail client would.
"$py" - "$dc_port" "$pf_port" <<'PY' >"$tmp/client.out" 2>&1 || fail "mail client: $(cat "$tmp/client.out")"
import email, imaplib, re, smtplib, sys
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
imap_port, smtp_port = int(sys.argv[1]), int(sys.argv[2])
m = imaplib.IMAP4("127.0.0.1", imap_port)
m.login("jan", "jan-pw")
m.select("INBOX")
_, data = m.search(None, "ALL")
ids = data[0].split()
assert len(ids) == 1, ids
_, data = m.fetch(ids[0], "(RFC822)")
m.logout()
inv = email.message_from_bytes(data[0][1], policy=policy.default)
tok = re.search(r"\[#([0-9a-z]{26})\]$", str(inv["Subject"])).group(1)
assert str(inv["Reply-To"]) == "enquete+%s@org.example" % tok, inv["Reply-To"]
assert inv["Message-ID"] == "<inv.%s@org.example>" % tok, inv["Message-ID"]
assert inv["Return-Path"] is None or tok in inv["Return-Path"], inv["Return-Path"]
assert any("enquete-host.org.example" in str(h) for h in inv.get_all("Received", [])), \
    "not relayed by the local Postfix"
r = EmailMessage()
r["From"] = "Jan Jansen <jan@org.example>"
r["To"] = inv["Reply-To"]
r["Subject"] = "Re: " + str(inv["Subject"])
r["Date"] = formatdate(localtime=True)
r["Message-ID"] = "<reply-1@client.org.example>"
r["In-Reply-To"] = inv["Message-ID"]
r["References"] = inv["Message-ID"]
quoted = "\n".join("> " + l for l in inv.get_body(("plain",)).get_content().splitlines())
r.set_content("8, snel geholpen met mijn laptop.\n\nGroet,\nJan\n\n"
              "Op 3 mrt. 2026 schreef HR Enquête:\n" + quoted + "\n")
with smtplib.SMTP("127.0.0.1", smtp_port) as s:
    assert s.send_message(r, from_addr="jan@org.example") == {}
print(tok)
PY
token=$(tail -1 "$tmp/client.out")
i=0
until [ "$(dovecot_count INBOX)" -eq 2 ]; do
    i=$((i + 1))
    [ $i -lt 200 ] || fail "reply not delivered: $(tail -20 "$pf/maillog"; cat "$tmp/mx.log")"
    sleep 0.1
done
grep -q "lda <jan@org.example> -> <enquete+$token@org.example>: 0" "$tmp/mx.log" ||
    fail "reply not sent to the +token address: $(cat "$tmp/mx.log")"

# The next run reads both from IMAP and records them.
e --now "2026-03-${day}T14:00" run >"$tmp/run2.out" 2>&1 || fail "second run: $(cat "$tmp/run2.out")"
grep -q 'recorded 1, review 0, bounces 1,' "$tmp/run2.out" || fail "second run: $(cat "$tmp/run2.out")"
got=$(sqlite3 "$db" "select i.state || ' ' || a.metric || ' ' || a.score || ' ' || c.text
    from invitation i join answer a on a.invitation_id = i.id
    join comment c on c.invitation_id = i.id where i.token = '$token'")
[ "$got" = "answered nps 8 snel geholpen met mijn laptop." ] || fail "recorded: '$got'"
bounced=$(sqlite3 "$db" "select e.email from invitation i join employee e on e.id = i.employee_id
    where i.state = 'bounced'")
[ "$bounced" = oud@org.example ] || fail "bounced: '$bounced'"
e --now "2026-03-${day}T14:05" status >"$tmp/status.out" || fail "status"
grep -q '^example  *2026Q1  *[0-9][0-9]*  *1  *1  *0 ' "$tmp/status.out" || fail "status: $(cat "$tmp/status.out")"
[ "$(dovecot_count INBOX)" -eq 0 ] || fail "INBOX not empty"
[ "$(dovecot_count Processed)" -eq 1 ] || fail "Processed has $(dovecot_count Processed)"
[ "$(dovecot_count Bounces)" -eq 1 ] || fail "Bounces has $(dovecot_count Bounces)"
! grep -q 'Sanitizer\|runtime error' "$tmp"/*.out || fail "sanitizer report"
cd /
echo "admin relay round trip ok"
