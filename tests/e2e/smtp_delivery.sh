# An invitation sent through a real SMTP server (aiosmtpd) arrives intact in
# the recipient's Maildir, with the token where replies and bounces need it,
# and enquete reads its own mail back as carrying that token.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
mkdir -p "$tmp/mail"
/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Mailbox "$tmp/mail" &
pids="$pids $!"
wait_port "$port"
mkdir -p "$tmp/campaigns"
cp "$ENQUETE_TOP/campaigns/example.ini" "$tmp/campaigns/"
cat > "$tmp/config.ini" <<CONF
[general]
database = db/enquete.db
from = HR Enquête <hr@org.example>
reply_address = enquete@org.example
templates = $ENQUETE_TOP/templates
[smtp]
url = smtp://127.0.0.1:$port
tls = off
[imap]
url = maildir:inbox
CONF
"$ENQUETE_BIN" --config "$tmp/config.ini" test-send --campaign example --to jan@org.example \
    || fail "test-send failed"
i=0
while [ -z "$(ls "$tmp/mail/new" 2>/dev/null)" ]; do
    i=$((i + 1)); [ $i -lt 50 ] || fail "nothing delivered"; sleep 0.1
done
f=$(ls "$tmp/mail/new"/* | head -1)
grep -q '^Subject: .*\[#[0-9a-z]\{26\}\]' "$f" || fail "subject has no token: $(grep ^Subject "$f")"
grep -q '^Reply-To: enquete+[0-9a-z]\{26\}@org.example' "$f" || fail "no Reply-To with token"
grep -q '^X-MailFrom: enquete+[0-9a-z]\{26\}@org.example' "$f" || fail "envelope sender lacks the token"
grep -q '^X-RcptTo: jan@org.example' "$f" || fail "wrong recipient"
"$ENQUETE_BIN" inspect --json "$f" | grep -q '"token":"[0-9a-z]\{26\}"' || fail "inspect finds no token"
