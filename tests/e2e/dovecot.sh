# An unprivileged Dovecot on 127.0.0.1 for the e2e tests (sourced after
# lib.sh). dovecot_start USER PASSWORD starts it with a plain listener on
# $dc_port and an implicit-TLS listener on $dc_tls_port (self-signed cert for
# 127.0.0.1/localhost in $dc_cert); the user's Maildir is $dc_maildir.
# dovecot_deliver FILE... drops messages into the user's INBOX.
dc_dir="$tmp/dovecot"

dovecot_stop() {
    if [ -f "$dc_dir/run/master.pid" ]; then
        kill "$(cat "$dc_dir/run/master.pid")" 2>/dev/null || true
        i=0
        while [ -f "$dc_dir/run/master.pid" ] && [ $i -lt 50 ]; do
            i=$((i + 1)); sleep 0.1
        done
    fi
}

# lib.sh's trap removes $tmp; stop Dovecot first so nothing writes there.
trap 'dovecot_stop; cleanup' EXIT INT TERM

dovecot_start() {
    dc_user=$1
    dc_port=$(free_port)
    dc_tls_port=$(free_port)
    dc_home="$dc_dir/home/$dc_user"
    dc_maildir="$dc_home/Maildir"
    dc_cert="$dc_dir/cert.pem"
    # Dovecot's auth and mail processes run as nobody and must reach in.
    chmod 711 "$tmp"
    mkdir -p "$dc_dir/run" "$dc_dir/state" "$dc_maildir/new" "$dc_maildir/cur" \
        "$dc_maildir/tmp"
    chown -R nobody:nogroup "$dc_dir/home"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -keyout "$dc_dir/key.pem" -out "$dc_cert" 2>/dev/null || fail "openssl"
    printf '%s:{PLAIN}%s\n' "$dc_user" "$2" > "$dc_dir/passwd"
    chmod 755 "$dc_dir"
    chmod 644 "$dc_dir/passwd"
    cat > "$dc_dir/dovecot.conf" <<CONF
protocols = imap
listen = 127.0.0.1
base_dir = $dc_dir/run
state_dir = $dc_dir/state
log_path = $dc_dir/dovecot.log
default_internal_user = nobody
default_login_user = nobody
disable_plaintext_auth = no
ssl = yes
ssl_cert = <$dc_cert
ssl_key = <$dc_dir/key.pem
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dc_dir/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$dc_dir/home/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $dc_port
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $dc_tls_port
    ssl = yes
  }
}
service anvil {
  chroot =
}
CONF
    dovecot -c "$dc_dir/dovecot.conf" || fail "dovecot did not start: $(cat "$dc_dir/dovecot.log" 2>/dev/null)"
    wait_port "$dc_port"
    wait_port "$dc_tls_port"
}

dovecot_deliver() {
    for f in "$@"; do
        n="$(date +%s).$$_$(basename "$f").e2e"
        cp "$f" "$dc_maildir/tmp/$n"
        chown nobody:nogroup "$dc_maildir/tmp/$n"
        mv "$dc_maildir/tmp/$n" "$dc_maildir/new/$n"
    done
}

# Messages in a folder of the user's Maildir (INBOX or a subfolder name).
dovecot_count() {
    if [ "$1" = INBOX ]; then d="$dc_maildir"; else d="$dc_maildir/.$1"; fi
    [ -d "$d" ] || { echo 0; return; }
    find "$d/new" "$d/cur" -type f | wc -l
}
