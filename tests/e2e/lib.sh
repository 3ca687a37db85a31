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
