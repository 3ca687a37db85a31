# `enquete daemon` against Dovecot (IMAP IDLE) and aiosmtpd: it sends the
# day's invitations, records a reply APPENDed to INBOX within 5 seconds by
# IDLE (an "ingest" turn, not the minute tick), survives a SIGHUP with a
# broken campaign file on the old campaigns, reconnects after the IMAP
# server restarts, and stops on SIGTERM within 2 seconds with exit 0. Then source_purge_before against the same Dovecot
# (the IMAP case of tests/test_source.c, skipped in unit runs).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dovecot.sh"
py=/usr/bin/python3
dovecot_start enquete s3cret-pw
out_port=$(free_port)
start_mailbox "$out_port" "$tmp/people"
write_campaign "$tmp/campaigns/it.ini" target_responses=20
write_org "$tmp/org.csv" 12 3
write_secret "$tmp/imap.pw" s3cret-pw
write_config "$tmp/config.ini" \
    '[smtp]' "url=smtp://127.0.0.1:$out_port" tls=off \
    '[imap]' "url=imap://127.0.0.1:$dc_port/INBOX" tls=off user=enquete "password_file=$tmp/imap.pw"
e() { "$ENQUETE_BIN" --config "$tmp/config.ini" "$@"; }
db="$tmp/db/enquete.db"
init_org

"$ENQUETE_BIN" --config "$tmp/config.ini" --now 2026-03-31T12:00 -v daemon \
    2>"$tmp/daemon.log" &
dpid=$!
pids="$pids $dpid"
alive() { kill -0 "$dpid" 2>/dev/null; }
i=0
while [ -z "$(ls "$tmp/people/new")" ]; do
    alive || fail "daemon died: $(cat "$tmp/daemon.log")"
    i=$((i + 1)); [ $i -lt 150 ] || fail "no invitation within 15 s: $(cat "$tmp/daemon.log")"
    sleep 0.1
done
sleep 0.5 # the rest of the batch, and the daemon settles into IDLE

answered() { sqlite3 "$db" "select count(*) from invitation where state = 'answered'"; }
# reply N: APPENDs a reply to the N-th invitation (sorted) to INBOX and
# waits until it is answered; prints the seconds it took.
reply() {
    $py - "$tmp/people/new" "$1" "$dc_port" "$db" <<'PY' || fail "reply $1: $(tail -5 "$tmp/daemon.log")"
import email, imaplib, os, sqlite3, sys, time
from email import policy
from email.message import EmailMessage
d, n, port, db = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
inv = email.message_from_binary_file(open(os.path.join(d, sorted(os.listdir(d))[n]), "rb"),
                                     policy=policy.default)
r = EmailMessage()
r["From"] = inv["To"]
r["To"] = inv["Reply-To"]
r["Subject"] = "Re: " + str(inv["Subject"])
r["Date"] = "Tue, 31 Mar 2026 12:01:00 +0200"
r["In-Reply-To"] = inv["Message-ID"]
r["References"] = inv["Message-ID"]
r["Message-ID"] = "<daemon-reply-%d@client.example>" % n
r.set_content("9, prima geholpen\n")
def answered():
    c = sqlite3.connect(db, timeout=5)
    try:
        return c.execute("select count(*) from invitation where state = 'answered'").fetchone()[0]
    finally:
        c.close()
before = answered()
m = imaplib.IMAP4("127.0.0.1", port)
m.login("enquete", "s3cret-pw")
t0 = time.monotonic()
m.append("INBOX", None, None, bytes(r))
m.logout()
while answered() <= before:
    if time.monotonic() - t0 > 5:
        sys.exit("not recorded within 5 s")
    time.sleep(0.05)
print("%.2f" % (time.monotonic() - t0))
PY
}
secs=$(reply 0)
echo "note: reply recorded after $secs s"
[ "$(answered)" = 1 ] || fail "answered $(answered)"
# IDLE did it: an ingest turn, not the minute tick (which reads mail too).
# The line follows the commit the reply() above saw.
i=0
while ! grep -q 'new mail announced' "$tmp/daemon.log" ||
      ! grep -q 'info: tick planned=0 .*recorded=1 ' "$tmp/daemon.log"; do
    i=$((i + 1)); [ $i -lt 40 ] || fail "no IDLE-driven ingest in the log: $(cat "$tmp/daemon.log")"
    sleep 0.05
done
[ "$(dovecot_count INBOX)" -eq 0 ] || fail "the reply was not filed"

# SIGHUP with a broken campaign: still running, says why, old campaigns.
printf '[campaign]\nmetrics = nps\ntarget_responses = many\n' > "$tmp/campaigns/zz.ini"
kill -HUP "$dpid"
i=0
while ! grep -q 'reload failed' "$tmp/daemon.log"; do
    i=$((i + 1)); [ $i -lt 50 ] || fail "no reload message: $(cat "$tmp/daemon.log")"
    sleep 0.1
done
alive || fail "daemon died on SIGHUP: $(cat "$tmp/daemon.log")"
grep -q "zz.ini:3: " "$tmp/daemon.log" || fail "reload error lacks FILE:LINE: $(cat "$tmp/daemon.log")"
grep -q 'keeping the previous configuration and 1 campaigns' "$tmp/daemon.log" ||
    fail "old campaigns not kept: $(cat "$tmp/daemon.log")"
# Still working on the old campaign: the next reply is recorded too.
secs=$(reply 1)
echo "note: reply after the failed reload recorded after $secs s"
[ "$(answered)" = 2 ] || fail "answered $(answered) after reload"

# The IMAP server restarts: the daemon reconnects (1 s, 2 s, … apart) and
# reads what arrived, with no help.
# Sessions outlive the master process: kick them first.
doveadm -c "$dc_dir/dovecot.conf" kick enquete >/dev/null 2>&1 || fail "doveadm kick"
dovecot_stop
sleep 1.5
alive || fail "daemon died with the IMAP server: $(tail -5 "$tmp/daemon.log")"
dovecot -c "$dc_dir/dovecot.conf" || fail "dovecot did not restart"
wait_port "$dc_port"
secs=$(reply 2)
echo "note: reply after an IMAP restart recorded after $secs s"
[ "$(answered)" = 3 ] || fail "answered $(answered) after the restart"
grep -q 'reconnecting in' "$tmp/daemon.log" || fail "no reconnect logged: $(cat "$tmp/daemon.log")"

# SIGTERM: exit 0 within 2 s.
t0=$($py -c 'import time; print(time.monotonic())')
kill -TERM "$dpid"
i=0
while alive; do
    i=$((i + 1)); [ $i -lt 40 ] || fail "daemon still running 2 s after SIGTERM"
    sleep 0.05
done
wait "$dpid" && rc=0 || rc=$?
t1=$($py -c 'import time; print(time.monotonic())')
[ "$rc" = 0 ] || fail "daemon exit code $rc: $(tail -5 "$tmp/daemon.log")"
echo "note: stopped after $($py -c "print('%.2f' % ($t1 - $t0))") s"
! grep -q 'Sanitizer\|runtime error' "$tmp/daemon.log" || fail "sanitizer report: $(cat "$tmp/daemon.log")"

# source_purge_before over IMAP: old mail leaves the filing folders only.
$py - "$dc_port" <<'PY' || fail "purge set-up"
import imaplib, sys, time
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("enquete", "s3cret-pw")
m.create("Review")  # Processed exists: the daemon filed into it
old = imaplib.Time2Internaldate(time.mktime((2020, 1, 15, 12, 0, 0, 0, 0, -1)))
def put(box, tag, date):
    msg = ("From: a@org.example\r\nSubject: %s\r\nMessage-ID: <%s@t>\r\n\r\n%s\r\n" % (tag, tag, tag)).encode()
    typ, _ = m.append(box, None, date, msg)
    assert typ == "OK", (box, typ)
put("Processed", "processed-old-1", old)
put("Processed", "processed-old-2", old)
put("Review", "review-old", old)
put("INBOX", "inbox-old", old)
m.logout()
PY
n_proc=$(dovecot_count Processed)
EQ_TEST_IMAP_CONFIG="$tmp/config.ini" "$(dirname "$ENQUETE_BIN")/tests/test_source" \
    --filter 'source/imap_purge*' >"$tmp/purge.out" 2>&1 ||
    fail "imap purge test: $(cat "$tmp/purge.out")"
grep -q 'Passing: 1 ' "$tmp/purge.out" || fail "imap purge test did not run: $(cat "$tmp/purge.out")"
# The replies the daemon filed today stay; the two old ones went.
[ "$(dovecot_count Processed)" -eq $((n_proc - 2)) ] || fail "Processed has $(dovecot_count Processed), want $((n_proc - 2))"
[ "$(dovecot_count Review)" -eq 0 ] || fail "Review has $(dovecot_count Review)"
[ "$(dovecot_count INBOX)" -eq 1 ] || fail "INBOX has $(dovecot_count INBOX)"
echo "daemon ok"
