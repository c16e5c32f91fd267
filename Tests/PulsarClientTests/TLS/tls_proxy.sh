#!/usr/bin/env bash
# TLS terminator for tests: stunnel in front of a plain pulsar:// broker, with a throw-away CA.
#
#   tls_proxy.sh start DIR BROKER_HOST:PORT GOOD_PORT WRONG_PORT
#       Makes DIR/ca.pem (test CA), a server certificate for "localhost" served on GOOD_PORT and
#       one for "wrong.invalid" served on WRONG_PORT (both signed by the CA), starts stunnel in
#       the background and waits until both ports accept connections.
#   tls_proxy.sh stop DIR
#       Stops the stunnel started for DIR (by its PID file only).
set -euo pipefail

cmd="${1:-}"; dir="${2:-}"
[[ -n "$cmd" && -n "$dir" ]] || { echo "usage: $0 start|stop DIR ..." >&2; exit 2; }

stunnel_bin() { command -v stunnel4 || command -v stunnel || true; }

case "$cmd" in
  start)
    broker="$3"; good="$4"; wrong="$5"
    bin=$(stunnel_bin)
    [[ -n "$bin" ]] || { echo "stunnel is not installed (apt-get install stunnel4)" >&2; exit 3; }
    command -v openssl >/dev/null || { echo "openssl is not installed" >&2; exit 3; }
    mkdir -p "$dir"; cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
      -subj "/CN=outbox-relay test CA" >/dev/null 2>&1
    for name in localhost wrong.invalid; do
      openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=$name" >/dev/null 2>&1
      printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
        "$name" >"$name.ext"
      openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$name.pem" -days 2 \
        -extfile "$name.ext" >/dev/null 2>&1
    done
    cat >stunnel.conf <<CONF
pid = $dir/stunnel.pid
foreground = no
output = $dir/stunnel.log
debug = warning

[good]
accept = 127.0.0.1:$good
connect = $broker
cert = $dir/localhost.pem
key = $dir/localhost.key

[wrong]
accept = 127.0.0.1:$wrong
connect = $broker
cert = $dir/wrong.invalid.pem
key = $dir/wrong.invalid.key
CONF
    "$bin" "$dir/stunnel.conf"
    for port in "$good" "$wrong"; do
      ok=0
      for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then ok=1; break; fi
        sleep 0.1
      done
      [[ $ok == 1 ]] || { echo "stunnel did not listen on $port" >&2; cat "$dir/stunnel.log" >&2 || true; exit 1; }
    done
    echo "ready"
    ;;
  stop)
    if [[ -f "$dir/stunnel.pid" ]]; then
      pid=$(cat "$dir/stunnel.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
