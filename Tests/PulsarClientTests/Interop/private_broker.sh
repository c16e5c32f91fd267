#!/usr/bin/env bash
# A private pulsar-lite for tests that kill and restart the broker, so suites sharing the stack's
# broker are not disturbed.
#
#   private_broker.sh start DIR PORT METRICS_PORT   (binary found through $STACK_PYTHON's venv)
#   private_broker.sh kill DIR                       (SIGKILL, by PID file; data stays in DIR)
set -euo pipefail
cmd="${1:-}"; dir="${2:-}"
[[ -n "$cmd" && -n "$dir" ]] || { echo "usage: $0 start|kill DIR ..." >&2; exit 2; }

case "$cmd" in
  start)
    port="$3"; metrics="$4"
    venv="$(dirname "${STACK_PYTHON:?STACK_PYTHON is not set}")/.."
    bin=$(ls "$venv"/lib/python3*/site-packages/pulsar_lite/bin/pulsar-lite 2>/dev/null | head -n1)
    [[ -x "$bin" ]] || { echo "pulsar-lite not found under $venv" >&2; exit 3; }
    mkdir -p "$dir"
    cat >"$dir/broker.toml" <<CONF
addr = "127.0.0.1:$port"
default_partitions = 0
[metrics]
enabled = true
addr = "127.0.0.1:$metrics"
CONF
    setsid "$bin" --config "$dir/broker.toml" --addr "127.0.0.1:$port" --db-path "$dir/broker" \
      --log-level warn >>"$dir/broker.log" 2>&1 </dev/null &
    echo $! >"$dir/broker.pid"
    for _ in $(seq 1 200); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo ready; exit 0; fi
      sleep 0.1
    done
    echo "pulsar-lite did not listen on $port" >&2; tail -n 20 "$dir/broker.log" >&2 || true; exit 1
    ;;
  kill)
    if [[ -f "$dir/broker.pid" ]]; then
      pid=$(cat "$dir/broker.pid")
      kill -9 "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$dir/broker.pid"
    fi
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
