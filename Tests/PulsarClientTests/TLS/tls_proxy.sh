#!/usr/bin/env bash
# Prepares a TLS terminator for tests: a throw-away CA, server certificates and an stunnel
# configuration that forwards to a plain pulsar:// broker. The test then runs stunnel itself
# (in the foreground, as its own child) and stops it by PID.
#
#   tls_proxy.sh prepare DIR BROKER_HOST:PORT GOOD_PORT WRONG_PORT
#       DIR/ca.pem          the test CA
#       DIR/stunnel.conf    service "good" on 127.0.0.1:GOOD_PORT with a certificate for
#                           "localhost"; service "wrong" on 127.0.0.1:WRONG_PORT with one for
#                           "wrong.invalid"; both signed by the CA
#       stdout: the stunnel binary to run with DIR/stunnel.conf
#   Exit code 3: stunnel or openssl is not installed (CI needs the stunnel4 and openssl packages).
set -euo pipefail

cmd="${1:-}"; dir="${2:-}"
[[ "$cmd" == prepare && -n "$dir" && $# -eq 5 ]] || { echo "usage: $0 prepare DIR BROKER_HOST:PORT GOOD_PORT WRONG_PORT" >&2; exit 2; }
broker="$3"; good="$4"; wrong="$5"

bin=$(command -v stunnel4 || command -v stunnel || true)
[[ -n "$bin" ]] || { echo "stunnel is not installed (apt-get install stunnel4)" >&2; exit 3; }
command -v openssl >/dev/null || { echo "openssl is not installed (apt-get install openssl)" >&2; exit 3; }

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
foreground = yes
pid =
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
echo "$bin"
