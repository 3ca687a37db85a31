# IMAP servers that misbehave: a disconnect in the middle of a UID FETCH, a
# folder that cannot be created, a message that cannot be moved (a fake
# server, tests/e2e/faultsrv.py), and a UIDVALIDITY change (Dovecot). Every
# answer is recorded exactly once: recorded before it is filed, and read
# again (then recognised) when filing failed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dovecot.sh"
py=/usr/bin/python3
fsrv="$ENQUETE_TOP/tests/e2e/faultsrv.py"

# Four invitations sent into a maildir; replies to them are built by make_replies.
mkdir -p "$tmp/spool"
write_campaign "$tmp/campaigns/it.ini" start=2026-01-01 target_responses=4
cat > "$tmp/org.csv" <<'CSV'
email,name,department,department_code
boss@org.example,Bea Baas,ICT,it
a1@org.example,An Een,Verkoop,sales
a2@org.example,An Twee,Verkoop,sales
a3@org.example,An Drie,Verkoop,sales
a4@org.example,An Vier,Verkoop,sales
CSV
write_secret "$tmp/imap.pw" s3cret-pw
config() { # URL
    write_config "$tmp/config.ini" from="HR <hr@org.example>" quiet_period=1 \
        '[smtp]' "url=maildir:$tmp/out" \
        '[imap]' "url=$1" tls=off user=enquete "password_file=$tmp/imap.pw" timeout=5
}
e() { timeout 60 "$ENQUETE_BIN" --config "$tmp/config.ini" --now 2026-01-31T12:30 "$@"; }
q() { sqlite3 "$tmp/db/enquete.db" "$1"; }

config maildir:$tmp/unused
make_maildir "$tmp/unused"
init_org
e run >/dev/null 2>&1 || fail "sending the invitations"
[ "$(ls "$tmp/out/new" | wc -l)" -eq 4 ] || fail "want 4 invitations"
"$py" - "$tmp/out/new" "$tmp/spool" <<'PY'
import email, os, sys
from email import policy
src, spool = sys.argv[1:3]
for i, f in enumerate(sorted(os.listdir(src))):
    m = email.message_from_binary_file(open(os.path.join(src, f), "rb"), policy=policy.default)
    mid = m["Message-ID"].strip("<>")
    tok = mid.split(".")[1].split("@")[0]
    with open(os.path.join(spool, "%d.eml" % i), "w") as out:
        out.write("From: %s\r\nTo: enquete+%s@org.example\r\nSubject: Re: vraag [#%s]\r\n"
                  "Message-ID: <reply.%s@org.example>\r\nIn-Reply-To: <%s>\r\n"
                  "Date: Sat, 31 Jan 2026 12:10:00 +0100\r\n\r\n%d\r\n\r\n%s\r\n" % (
                      m["To"].addresses[0].addr_spec, tok, tok, tok, mid, 6 + i, "x" * 3000))
PY
cp -a "$tmp/db" "$tmp/db.sent"

# once_each: 4 answers recorded, 4 inbound rows, no duplicates counted twice.
once_each() {
    a=$(q "SELECT COUNT(*) FROM answer")
    n=$(q "SELECT COUNT(*) FROM inbound")
    d=$(q "SELECT COUNT(*) FROM (SELECT message_id FROM inbound GROUP BY message_id HAVING COUNT(*) > 1)")
    [ "$a" -eq 4 ] && [ "$n" -eq 4 ] && [ "$d" -eq 0 ] || fail "$1: answers $a, inbound $n, twice $d (want 4, 4, 0)"
}

# fake FAULT: a fresh copy of the database, the fake server with the spool.
fake() {
    rm -rf "$tmp/db"; cp -a "$tmp/db.sent" "$tmp/db"
    port=$(free_port)
    serve "$port" "$py" "$fsrv" --imap --port "$port" --spool "$tmp/spool" \
        --auth enquete:s3cret-pw --fault "$1" --log "$tmp/$1.log"
    srv=$served
    config "imap://127.0.0.1:$port/INBOX"
}

# Disconnect mid-FETCH: the first ingest fails (temporary, 75) at once,
# saying the server hung up; nothing is half recorded; the next one records
# all four, a third finds nothing new. libetpan 1.9.4 spun on recv() = 0
# inside the literal until source_imap_conn.c turned end of stream into an error
# (issue #10): a hang here (cut by `timeout`, 124) is that regression.
fake fetch-drop
rc=0; timeout 10 "$ENQUETE_BIN" --config "$tmp/config.ini" --now 2026-01-31T12:30 ingest > "$tmp/f1.out" 2>&1 || rc=$?
[ "$rc" -ne 124 ] || fail "fetch-drop: ingest hung after the disconnect"
[ "$rc" -eq 75 ] || fail "fetch-drop: first ingest exit $rc, want 75: $(cat "$tmp/f1.out")"
grep -q "closed the connection" "$tmp/f1.out" || fail "fetch-drop: unclear message: $(cat "$tmp/f1.out")"
grep -q "drop mid-FETCH" "$tmp/fetch-drop.log" || fail "fetch-drop: the fault never happened"
[ "$(q "SELECT COUNT(*) FROM answer")" -le 4 ] || fail "fetch-drop: too many answers"
e ingest > "$tmp/f2.out" 2>&1 || fail "fetch-drop: second ingest: $(cat "$tmp/f2.out")"
e ingest > "$tmp/f3.out" 2>&1 || fail "fetch-drop: third ingest: $(cat "$tmp/f3.out")"
once_each fetch-drop
echo "note: fetch-drop: first ingest exit $rc; 4 answers once each"
kill "$srv"

# A folder that cannot be created, a message that cannot be moved: answers
# are recorded, filing fails (reported), the mail stays and is recognised
# the next time instead of counted again.
for f in no-create no-move; do
    fake $f
    rc1=0; e ingest > "$tmp/$f.1" 2>&1 || rc1=$?
    rc2=0; e ingest > "$tmp/$f.2" 2>&1 || rc2=$?
    once_each $f
    [ "$rc1" -ne 0 ] || fail "$f: a filing failure went unreported"
    grep -qiE 'create|move|copy|folder' "$tmp/$f.1" || fail "$f: unclear message: $(cat "$tmp/$f.1")"
    grep -q "imap UID FETCH" "$tmp/$f.log" || fail "$f: nothing fetched"
    echo "note: $f: exit $rc1 then $rc2; 4 answers once each; $(grep -m1 -iE 'create|move|copy' "$tmp/$f.1")"
    kill "$srv"
done

# UIDVALIDITY change (Dovecot): two replies ingested and filed; then the
# mailbox is rebuilt with a new UIDVALIDITY holding a copy of an ingested
# reply and the two unread ones. The copy is recognised, the others counted.
rm -rf "$tmp/db"; cp -a "$tmp/db.sent" "$tmp/db"
dovecot_start enquete s3cret-pw
config "imap://127.0.0.1:$dc_port/INBOX"
dovecot_deliver "$tmp/spool/0.eml" "$tmp/spool/1.eml"
e ingest > "$tmp/u1.out" 2>&1 || fail "uidvalidity: first ingest: $(cat "$tmp/u1.out")"
v1=$(q "SELECT MAX(uidvalidity) FROM mailbox")
dovecot_stop
rm -f "$dc_maildir"/dovecot-uidlist "$dc_maildir"/dovecot.index*
sleep 1.1 # UIDVALIDITY is a time stamp
# The same server again (same port: the checkpoint is per host, port, folder).
dovecot -c "$dc_dir/dovecot.conf" || fail "dovecot restart"
wait_port "$dc_port"
dovecot_deliver "$tmp/spool/1.eml" "$tmp/spool/2.eml" "$tmp/spool/3.eml"
e ingest > "$tmp/u2.out" 2>&1 || fail "uidvalidity: second ingest: $(cat "$tmp/u2.out")"
v2=$(q "SELECT MAX(uidvalidity) FROM mailbox")
[ -n "$v1" ] && [ "$v1" != "$v2" ] || fail "uidvalidity did not change ($v1 -> $v2)"
once_each uidvalidity
[ "$(dovecot_count INBOX)" -eq 0 ] || fail "uidvalidity: mail left in INBOX"
echo "note: uidvalidity: $v1 -> $v2; 4 answers once each"
exit 0
