# An invitation sent through a real SMTP server (aiosmtpd) arrives intact in
# the recipient's Maildir, with the token where replies and bounces need it,
# and enquete reads its own mail back as carrying that token.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
start_mailbox "$port" "$tmp/mail"
mkdir -p "$tmp/campaigns"
cp "$ENQUETE_TOP/campaigns/example.ini" "$tmp/campaigns/"
write_config "$tmp/config.ini" '[smtp]' "url=smtp://127.0.0.1:$port" tls=off '[imap]' url=maildir:inbox
"$ENQUETE_BIN" --config "$tmp/config.ini" test-send --campaign example --to jan@org.example \
    || fail "test-send failed"
i=0
while [ -z "$(ls "$tmp/mail/new" 2>/dev/null)" ]; do
    i=$((i + 1)); [ $i -lt 50 ] || fail "nothing delivered"; sleep 0.1
done
f=$(ls "$tmp/mail/new"/* | head -1)
# Headers as a mail client reads them (unfolded, decoded).
/usr/bin/python3 - "$f" <<'PY' || fail "headers of the delivered mail"
import email, re, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
tok = re.search(r"\[#([0-9a-z]{26})\]$", str(m["Subject"]))
assert tok, "subject has no token: %r" % m["Subject"]
t = tok.group(1)
assert str(m["Reply-To"]).strip("<>") == "enquete+%s@org.example" % t, m["Reply-To"]
assert m["X-MailFrom"] == "enquete+%s@org.example" % t, "envelope: %r" % m["X-MailFrom"]
assert m["X-RcptTo"] == "jan@org.example", m["X-RcptTo"]
assert m["Message-ID"] == "<inv.%s@org.example>" % t, m["Message-ID"]
assert m.get_content_type() == "multipart/alternative"
body = m.get_body(("plain",)).get_content()
assert "%s" % t in body, "token not in the text"
PY
"$ENQUETE_BIN" inspect --json "$f" | grep -q '"token":"[0-9a-z]\{26\}"' || fail "inspect finds no token"
