# Invitations over SMTP as a real installation sends them: STARTTLS required,
# the server's self-signed certificate trusted through ca_file, AUTH with a
# password file. They must parse strictly with every header of DESIGN.md's
# mail conventions; an injected 451 is deferred and delivered by a later run,
# a 550 fails with the server's text, and a certificate that ca_file does not
# vouch for is refused without sending or failing anything.
. "$(dirname "$0")/lib.sh"
py=/usr/bin/python3
port=$(free_port)
mail="$tmp/mail"

# Two unrelated self-signed certificates for 127.0.0.1: the server's and a
# stranger's.
for c in server other; do
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -keyout "$tmp/$c.key" -out "$tmp/$c.pem" 2>/dev/null || fail "openssl $c"
done
start_smtpd "$port" "$mail" --cert "$tmp/server.pem" --key "$tmp/server.key" \
    --auth "enquete:pa55-w0rd" --defer-once later@org.example --reject gone@org.example \
    --log "$tmp/smtpd.log"

# Five customers for a need of five on the month's last send day (Tuesday
# 2026-03-31): the run plans and sends all of them at once.
write_campaign "$tmp/campaigns/it.ini" target_responses=5 send_days=tue
cat > "$tmp/org.csv" <<'CSV'
email,name,department,department_code,manages
boss@org.example,Bea Baas,ICT,it,yes
jose@org.example,José Çelik,Sales,sales,no
zoe@org.example,Zoë de Vries,Sales,sales,no
jan@org.example,Jan Jansen,Sales,sales,no
later@org.example,Lena Later,Sales,sales,no
gone@org.example,Guus Gone,Sales,sales,no
CSV
write_secret "$tmp/smtp.pw" pa55-w0rd
config() { # FILE CA_FILE [AUTH]
    write_config "$1" quiet_period=1 \
        '[smtp]' "url=smtp://127.0.0.1:$port" tls=required user=enquete \
        "password_file=$tmp/smtp.pw" "auth=${3:-plain}" "ca_file=$2" timeout=20 \
        '[imap]' "url=maildir:$tmp/inbox"
}
config "$tmp/config.ini" "$tmp/server.pem"
e() { "$ENQUETE_BIN" --config "$tmp/config.ini" "$@"; }
state_of() { sqlite3 "$tmp/db/enquete.db" "SELECT i.state FROM invitation i JOIN employee e ON e.id = i.employee_id WHERE e.email = '$1'"; }

init_org
e --now 2026-03-31T12:00 run > "$tmp/run1.out" 2>&1 || true
n=$(ls "$mail/new" | wc -l)
[ "$n" -eq 3 ] || fail "first run delivered $n, want 3: $(cat "$tmp/run1.out") $(cat "$tmp/smtpd.log")"
grep -q "AUTH PLAIN ok" "$tmp/smtpd.log" || fail "no AUTH PLAIN: $(cat "$tmp/smtpd.log")"
[ "$(state_of later@org.example)" = deferred ] || fail "451 address: $(state_of later@org.example)"
[ "$(state_of gone@org.example)" = failed ] || fail "550 address: $(state_of gone@org.example)"
err=$(sqlite3 "$tmp/db/enquete.db" "SELECT i.last_error FROM invitation i JOIN employee e ON e.id = i.employee_id WHERE e.email = 'gone@org.example'")
case $err in *"550 5.1.1"*"mailbox unknown (injected)"*) ;; *) fail "550 text not kept: $err" ;; esac
e status --json | grep -q '"deferred":1' || fail "status: $(e status --json)"

# Strict reading of every delivered invitation, as a mail client would.
"$py" - "$mail/new" <<'PY' || fail "invitations do not parse as required"
import email, email.errors, os, re, sys, urllib.parse
from email import policy
strict = policy.default.clone(raise_on_defect=True)
names = {"jose@org.example": "José Çelik", "zoe@org.example": "Zoë de Vries",
         "jan@org.example": "Jan Jansen"}
seen = set()
d = sys.argv[1]
for f in sorted(os.listdir(d)):
    raw = open(os.path.join(d, f), "rb").read()
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(b < 0x80 for b in head), "%s: raw 8-bit in the header" % f
    assert max(len(l) for l in raw.split(b"\r\n")) <= 998, "%s: line > 998" % f
    m = email.message_from_bytes(raw, policy=strict)
    tok = re.fullmatch(r".* \[#([0-9a-hjkmnp-tv-z]{26})\]", str(m["Subject"]))
    assert tok, "%s: subject %r" % (f, m["Subject"])
    t = tok.group(1)
    plus = "enquete+%s@org.example" % t
    to = m["To"].addresses[0]
    assert to.addr_spec in names, to
    assert to.display_name == names[to.addr_spec], (to.display_name, names[to.addr_spec])
    seen.add(to.addr_spec)
    assert m["X-RcptTo"] == to.addr_spec, m["X-RcptTo"]
    assert m["X-MailFrom"] == plus, "envelope %r" % m["X-MailFrom"]
    assert m["Reply-To"].addresses[0].addr_spec == plus, m["Reply-To"]
    assert m["Message-ID"] == "<inv.%s@org.example>" % t, m["Message-ID"]
    assert m["From"].addresses[0].display_name == "HR Enquête", m["From"]
    assert m["Auto-Submitted"] == "auto-generated"
    assert m["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    lu = str(m["List-Unsubscribe"]).strip()  # folded onto its own line
    assert re.fullmatch(r"<mailto:[^>\s]+>", lu), lu
    u = urllib.parse.urlsplit(lu[1:-1])
    assert urllib.parse.unquote(u.path) == plus, lu
    assert "List-Unsubscribe-Post" not in m
    assert m["Date"].datetime is not None
    assert m["MIME-Version"] == "1.0"
    assert m.get_content_type() == "multipart/alternative"
    parts = list(m.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"], parts
    for p in parts:
        assert p["Content-Transfer-Encoding"].lower() == "quoted-printable", p["Content-Transfer-Encoding"]
        assert p.get_content_charset() == "utf-8"
        assert not p.defects, p.defects
    assert not m.defects, m.defects
    html = m.get_body(("html",)).get_content()
    links = re.findall(r'href="(mailto:[^"]+)"', html)
    assert links, "%s: no mailto links" % f
    scores = []
    for l in links:
        u = urllib.parse.urlsplit(l.replace("&amp;", "&"))
        assert u.scheme == "mailto"
        assert urllib.parse.unquote(u.path) == plus, u.path
        q = urllib.parse.parse_qs(u.query, strict_parsing=True)
        assert ("[#%s]" % t) in q["subject"][0], q
        body = q["body"][0]
        if body.startswith("NPS: "):
            scores.append(int(body[5:]))
        else:
            # the not-applicable and the opt-out link
            assert body.lower() in ("n.v.t.", "n/a", "afmelden", "unsubscribe"), body
    assert sorted(scores) == list(range(11)), scores
assert seen == set(names), seen
PY

# After next_attempt_at the deferred one goes out (logging in with AUTH
# LOGIN this time); the failed one does not.
config "$tmp/config.ini" "$tmp/server.pem" login
e --now 2026-03-31T12:05 run >/dev/null 2>&1 || true
[ "$(state_of later@org.example)" = deferred ] || fail "retried before next_attempt_at"
e --now 2026-03-31T13:00 run > "$tmp/run2.out" 2>&1 || fail "later run: $(cat "$tmp/run2.out")"
[ "$(state_of later@org.example)" = sent ] || fail "deferred not sent later: $(state_of later@org.example)"
[ "$(state_of gone@org.example)" = failed ] || fail "failed one changed"
n=$(ls "$mail/new" | wc -l)
[ "$n" -eq 4 ] || fail "after the later run $n delivered, want 4"
grep -l "^X-RcptTo: later@org.example" "$mail/new"/* >/dev/null || fail "later@ not delivered"
grep -q "AUTH LOGIN ok" "$tmp/smtpd.log" || fail "no AUTH LOGIN: $(cat "$tmp/smtpd.log")"

# A certificate ca_file does not vouch for: refused, nothing sent or failed.
mkdir -p "$tmp/b/campaigns"
cp "$tmp/campaigns/it.ini" "$tmp/b/campaigns/"
config "$tmp/b/config.ini" "$tmp/other.pem"
eb() { "$ENQUETE_BIN" --config "$tmp/b/config.ini" "$@"; }
eb init >/dev/null || fail "init b"
eb org import "$tmp/org.csv" >/dev/null || fail "org import b"
before=$(ls "$mail/new" | wc -l)
if eb --now 2026-03-31T12:00 run > "$tmp/run3.out" 2>&1; then
    fail "run with an untrusted certificate succeeded: $(cat "$tmp/run3.out")"
fi
grep -qi "certificate" "$tmp/run3.out" || fail "no word about the certificate: $(cat "$tmp/run3.out")"
[ "$(ls "$mail/new" | wc -l)" -eq "$before" ] || fail "mail went out over an untrusted connection"
failed=$(sqlite3 "$tmp/b/db/enquete.db" "SELECT COUNT(*) FROM invitation WHERE state IN ('failed','sent','sending')")
[ "$failed" -eq 0 ] || fail "invitations changed state: $(sqlite3 "$tmp/b/db/enquete.db" 'SELECT state, last_error FROM invitation')"

# smtps:// (TLS from the first byte, port 465 style) with the same checks of
# the certificate: delivered with AUTH over it.
sport=$(free_port)
start_smtpd "$sport" "$tmp/mail465" --cert "$tmp/server.pem" --key "$tmp/server.key" --smtps \
    --auth "enquete:pa55-w0rd" --log "$tmp/smtpd465.log"
mkdir -p "$tmp/c/campaigns"
cp "$tmp/campaigns/it.ini" "$tmp/c/campaigns/"
config "$tmp/c/config.ini" "$tmp/server.pem"
sed -i "s|^url = smtp://127.0.0.1:$port|url = smtps://127.0.0.1:$sport|" "$tmp/c/config.ini"
grep -q "^url = smtps://" "$tmp/c/config.ini" || fail "smtps config not written"
ec() { "$ENQUETE_BIN" --config "$tmp/c/config.ini" "$@"; }
ec init >/dev/null || fail "init c"
ec org import "$tmp/org.csv" >/dev/null || fail "org import c"
ec --now 2026-03-31T12:00 run > "$tmp/run4.out" 2>&1 || true
n=$(ls "$tmp/mail465/new" 2>/dev/null | wc -l)
[ "$n" -eq 5 ] || fail "smtps delivered $n, want 5: $(cat "$tmp/run4.out") $(cat "$tmp/smtpd465.log")"
grep -q "AUTH PLAIN ok" "$tmp/smtpd465.log" || fail "no AUTH over smtps: $(cat "$tmp/smtpd465.log")"
exit 0
