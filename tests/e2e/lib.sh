# Shared helpers for the e2e scripts (sourced). Servers listen on 127.0.0.1 only.
set -eu
tmp=$(mktemp -d /tmp/enquete-e2e-XXXXXX)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# A free TCP port on 127.0.0.1.
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
    i=0
    while ! /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),1)" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 100 ] || { echo "port $1 never opened" >&2; return 1; }
        sleep 0.1
    done
}

fail() { echo "FAIL: $*" >&2; exit 1; }

# serve PORT COMMAND [ARG]...: COMMAND in the background (killed at exit),
# back once it listens on PORT; its pid in $served.
serve() {
    _port=$1; shift
    "$@" &
    served=$!
    pids="$pids $served"
    wait_port "$_port"
}

# make_maildir DIR...: empty Maildirs (tmp, new, cur).
make_maildir() {
    for _m; do mkdir -p "$_m/tmp" "$_m/new" "$_m/cur"; done
}

# start_mailbox PORT MAILDIR: aiosmtpd on PORT storing what it receives in
# the Maildir MAILDIR (created).
start_mailbox() {
    make_maildir "$2"
    serve "$1" /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$1" -c aiosmtpd.handlers.Mailbox "$2"
}

# start_smtpd PORT MAILDIR [ARG]...: tests/e2e/smtpd.py on PORT, storing
# into MAILDIR, with its other options ARG (--data-delay, --cert, ...).
start_smtpd() {
    _port=$1 _maildir=$2; shift 2
    serve "$_port" /usr/bin/python3 "$ENQUETE_TOP/tests/e2e/smtpd.py" --port "$_port" \
        --maildir "$_maildir" "$@"
}

# write_secret FILE TEXT: a password file (mode 600) holding TEXT.
write_secret() {
    printf '%s\n' "$2" > "$1"
    chmod 600 "$1"
}

# ini_keys DEFAULTS [KEY=VALUE]...: "KEY = VALUE" lines: the keys of
# DEFAULTS (KEY=VALUE lines) in their order, each with the value the last
# argument naming it gives (left out if that is empty), then the other keys
# the arguments name, in their order. An empty argument is skipped.
ini_keys() {
    _defaults=$1; shift
    printf '%s\n' "$_defaults" | while IFS= read -r _kv; do
        _k=${_kv%%=*} _v=${_kv#*=}
        for _a in "$@"; do
            [ "${_a%%=*}" != "$_k" ] || _v=${_a#*=}
        done
        [ -z "$_v" ] || echo "$_k = $_v"
    done
    for _a in "$@"; do
        case "
$_defaults
" in *"
${_a%%=*}="*) continue ;; esac
        [ -z "$_a" ] || echo "${_a%%=*} = ${_a#*=}"
    done
}

# write_campaign FILE [KEY=VALUE]...: a campaign file. Unless a KEY=VALUE
# says otherwise: name it, metrics nps, providers it, customers *, cadence
# monthly, start 2026-03-01, expected_response_rate 1, every day a send day
# and send_window 09:00-11:00. A KEY=VALUE sets its key in place (an empty
# VALUE leaves it out) or adds it at the end. FILE's folder is created.
write_campaign() {
    _file=$1; shift
    mkdir -p "$(dirname "$_file")"
    {
        echo "[campaign]"
        ini_keys "name=it
metrics=nps
providers=it
customers=*
cadence=monthly
start=2026-03-01
end=
target_responses=
expected_response_rate=1
send_days=mon,tue,wed,thu,fri,sat,sun
send_window=09:00-11:00" "$@"
    } > "$_file"
}

# write_config FILE [KEY=VALUE]... [[SECTION] [KEY=VALUE]...]...: a
# config.ini whose [general] has database = db/enquete.db, from = HR Enquête
# <hr@org.example> (or a from=VALUE's), reply_address = enquete@org.example,
# the other KEY=VALUEs before the first [SECTION] and templates =
# $ENQUETE_TOP/templates; then each [SECTION] with the KEY=VALUEs after it.
# An empty argument is skipped.
write_config() {
    _file=$1; shift
    _from="HR Enquête <hr@org.example>" _general=""
    while [ $# -gt 0 ]; do
        case $1 in
        "["*) break ;;
        from=*) _from=${1#from=} ;;
        ?*) _general="$_general${1%%=*} = ${1#*=}
" ;;
        esac
        shift
    done
    {
        printf '[general]\ndatabase = db/enquete.db\nfrom = %s\nreply_address = enquete@org.example\n' "$_from"
        printf '%stemplates = %s\n' "$_general" "$ENQUETE_TOP/templates"
        for _a; do
            case $_a in
            "") ;;
            "["*) echo "$_a" ;;
            *) echo "${_a%%=*} = ${_a#*=}" ;;
            esac
        done
    } > "$_file"
}

# write_org FILE COUNT DEPARTMENTS [COLUMNS]: an org CSV with
# boss@org.example (Bea Baas, ICT, it) and, for I from 0 below COUNT,
# pI@org.example (Persoon I, Afdeling I%DEPARTMENTS, dI%DEPARTMENTS).
# COLUMNS: manages (the default: the boss manages, nobody else), aliases
# (manages, and pI has the alias altI@org.example) or none (no manages).
write_org() {
    case ${4:-manages} in
    none) _head="" _boss="" _rest="" ;;
    manages) _head=",manages" _boss=",yes" _rest=",no" ;;
    aliases) _head=",manages,aliases" _boss=",yes," _rest=",no," ;;
    *) fail "write_org: columns $4" ;;
    esac
    {
        echo "email,name,department,department_code$_head"
        echo "boss@org.example,Bea Baas,ICT,it$_boss"
        _i=0
        while [ $_i -lt "$2" ]; do
            _d=$((_i % $3))
            _alias=""; [ "${4:-}" != aliases ] || _alias="alt$_i@org.example"
            echo "p$_i@org.example,Persoon $_i,Afdeling $_d,d$_d$_rest$_alias"
            _i=$((_i + 1))
        done
    } > "$1"
}

# init_org [CSV [LABEL]]: `e init` and `e org import CSV` ($tmp/org.csv by
# default) through the script's e(); LABEL starts the failure messages.
init_org() {
    e init >/dev/null || fail "${2:+$2: }init"
    e org import "${1:-$tmp/org.csv}" >/dev/null || fail "${2:+$2: }org import"
}
