#!/usr/bin/env python3
"""Helpers shared by the bench-* scripts and bench_report.py (standard library only).

  bench_lib.py meta                          JSON object: commit, date, nproc, load average
  bench_lib.py histogram BEFORE AFTER        JSON: bucket deltas of outbox_relay_publish_latency_seconds
  bench_lib.py sample-rss PID OUT STOPFILE [METRICS_URL]
                                             VmRSS every 100 ms (and the published count every 200 ms)
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def meta():
    """Where and when a figure was measured: commit, UTC date, CPU count, load at the start."""
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip() != ""
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown", False
    return {"commit": commit + ("-dirty" if dirty else ""),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "nproc": os.cpu_count(),
            "loadavg": os.getloadavg()[0]}


def read_buckets(path):
    """Cumulative bucket counts of the publish-latency histogram in a /metrics dump: {le_seconds: count}."""
    buckets = {}
    with open(path) as f:
        for line in f:
            if not line.startswith("outbox_relay_publish_latency_seconds_bucket"):
                continue
            m = re.match(r'.*le="([^"]+)".*\}\s+(\S+)', line)
            if m:
                le = float("inf") if m.group(1) == "+Inf" else float(m.group(1))
                buckets[le] = float(m.group(2))
    return buckets


def bucket_delta(before, after):
    """Cumulative counts of the events observed between two dumps, sorted by bound."""
    return [(le, after[le] - before.get(le, 0.0)) for le in sorted(after)]


def quantile(delta, q):
    """Linear interpolation inside the bucket holding rank q (Prometheus's histogram_quantile)."""
    total = delta[-1][1] if delta else 0
    if total <= 0:
        return float("nan")
    rank = q * total
    prev_le, prev_count = 0.0, 0.0
    for le, count in delta:
        if count >= rank:
            if le == float("inf"):
                return prev_le
            span = count - prev_count
            frac = (rank - prev_count) / span if span > 0 else 1.0
            return prev_le + (le - prev_le) * frac
        prev_le, prev_count = le, count
    return prev_le


def histogram(before_path, after_path):
    delta = bucket_delta(read_buckets(before_path), read_buckets(after_path))
    total = delta[-1][1] if delta else 0
    return {"events": int(total), "p50_ms": quantile(delta, 0.5) * 1000, "p99_ms": quantile(delta, 0.99) * 1000,
            # JSON has no infinity: the +Inf bucket is written as null.
            "buckets": [[None if le == float("inf") else le, int(c)] for le, c in delta]}


def sample_rss(pid, out, stopfile, metrics_url=None):
    """Lines 't_seconds rss_kb published' until the process ends or STOPFILE appears."""
    start = time.monotonic()
    published = -1
    n = 0
    with open(out, "w") as f:
        while not os.path.exists(stopfile):
            try:
                with open(f"/proc/{pid}/status") as s:
                    rss = next((int(line.split()[1]) for line in s if line.startswith("VmRSS:")), 0)
            except OSError:
                break
            if metrics_url and n % 2 == 0:
                try:
                    with urllib.request.urlopen(metrics_url, timeout=0.5) as r:
                        for line in r.read().decode().splitlines():
                            if line.startswith("outbox_relay_events_published_total "):
                                published = int(float(line.split()[1]))
                except OSError:
                    pass
            f.write(f"{time.monotonic() - start:.3f} {rss} {published}\n")
            f.flush()
            n += 1
            time.sleep(0.1)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "meta":
        print(json.dumps(meta()))
    elif cmd == "histogram":
        print(json.dumps(histogram(sys.argv[2], sys.argv[3])))
    elif cmd == "sample-rss":
        sample_rss(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else None)
    else:
        sys.exit(__doc__)
