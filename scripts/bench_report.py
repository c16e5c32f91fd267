#!/usr/bin/env python3
"""Writes docs/benchmarks/README.md and its PNG plots from the JSON files of one bench-report run.

  bench_report.py DATA_DIR OUT_DIR

DATA_DIR holds relay.json, api.json, pulsar.json (and inbox.json when there is one), as written by
the bench-* scripts' --json option. Every figure in the report comes from these files.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OURS = "#1f77b4"
REFERENCE = "#9e9e9e"
LIMIT = "#d62728"


def load(data, name):
    path = os.path.join(data, f"{name}.json")
    return json.load(open(path)) if os.path.exists(path) else None


def bar(ax, labels, values, colors, hatches, unit, title):
    bars = ax.bar(range(len(values)), values, color=colors, edgecolor="black", linewidth=0.6)
    for b, h in zip(bars, hatches):
        b.set_hatch(h)
    ax.set_xticks(range(len(values)), labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(unit)
    ax.set_title(title, fontsize=10)
    for b, v in zip(bars, values):
        ax.annotate(f"{v:,.0f}", (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom", fontsize=7)
    ax.grid(axis="y", alpha=0.3)


def plot_throughput(relay, pulsar, api, out):
    panels = [p for p in (relay, pulsar, api) if p]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.4))
    axes = axes if len(panels) > 1 else [axes]
    i = 0
    if relay:
        bar(axes[i], ["cdc-relay", "pg_recvlogical\n(reference)"],
            [relay["catch_up"]["rate"], relay["reference"]["rate"]], [OURS, REFERENCE], ["", "//"],
            "events/s", "Relay catch-up on the same WAL")
        i += 1
    if pulsar:
        labels = ["ours\nunbatched", "official\nunbatched", "ours\nbatched", "official\nbatched", "pulsar-lite\ningest limit"]
        values = [pulsar["swift_unbatched"]["msg_per_s"], pulsar["official_unbatched"]["msg_per_s"],
                  pulsar["swift_batched"]["msg_per_s"], pulsar["official_batched"]["msg_per_s"],
                  pulsar["ingest"]["limit_msg_per_s"]]
        bar(axes[i], labels, values, [OURS, REFERENCE, OURS, REFERENCE, LIMIT], ["", "//", "", "//", "xx"],
            "messages/s", f"Producer, {pulsar['size']}-byte messages")
        i += 1
    if api:
        bar(axes[i], ["products-api\n(wrk)", "pgbench same tx\n(reference)"],
            [api["api"]["rps"], api["reference"]["tps"]], [OURS, REFERENCE], ["", "//"],
            "creates/s", f"POST /products, {api['connections']} connections")
    from matplotlib.patches import Patch
    fig.legend(handles=[Patch(facecolor=OURS, edgecolor="black", label="ours"),
                        Patch(facecolor=REFERENCE, edgecolor="black", hatch="//", label="reference (same run)"),
                        Patch(facecolor=LIMIT, edgecolor="black", hatch="xx", label="broker limit (same run)")],
               loc="upper center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(os.path.join(out, "throughput.png"), dpi=110)
    plt.close(fig)


def plot_cdf(relay, out):
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for s in relay["steady"]:
        total = s["events"]
        if total <= 0:
            continue
        xs, ys = [0.0], [0.0]
        for le, count in s["buckets"]:
            if le is None:
                continue
            xs.append(le * 1000)
            ys.append(count / total)
        ax.plot(xs, ys, marker="o", markersize=3, drawstyle="default",
                label=f"{s['target_rate']:,}/s target ({s['achieved_rate']:,.0f}/s achieved): p99 {s['p99_ms']:.1f} ms")
    for limit, style in ((5, ":"), (10, "--")):
        ax.axvline(limit, color=LIMIT, linestyle=style, linewidth=1, label=f"p99 goal {limit} ms")
    ax.axhline(0.99, color=REFERENCE, linewidth=0.8, label="99th percentile")
    ax.set_xscale("log")
    ax.set_xlim(0.3, 1000)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("commit → broker ack latency (ms, log scale; histogram bucket bounds)")
    ax.set_ylabel("fraction of events ≤ latency")
    ax.set_title("Relay commit→ack latency at steady rates (CDF)", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "latency-cdf.png"), dpi=110)
    plt.close(fig)


def plot_tuning(relay, out):
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    t = relay["tuning"]
    ax.plot([c["max_in_flight"] for c in t], [c["rate"] for c in t], marker="o", color=OURS, label="cdc-relay catch-up")
    ref = relay["reference"]
    ax.axhline(ref["rate"], color=REFERENCE, linestyle="--", label=f"pg_recvlogical, same WAL (mean {ref['rate']:,.0f}/s)")
    ax.axhspan(min(ref["rates"]), max(ref["rates"]), color=REFERENCE, alpha=0.2, label="pg_recvlogical runs (min–max)")
    ax.axhline(0.95 * ref["rate"], color=LIMIT, linestyle=":", label="goal: 0.95 × pg_recvlogical")
    ax.set_xscale("log")
    ax.set_xticks([c["max_in_flight"] for c in t], [str(c["max_in_flight"]) for c in t])
    ax.set_ylim(0, max([c["rate"] for c in t] + ref["rates"]) * 1.15)
    ax.set_xlabel("relay.max_in_flight (events sent and not yet acked; log scale)")
    ax.set_ylabel("catch-up throughput (events/s)")
    ax.set_title(f"Tuning curve: {relay['backlog']['events']:,}-event backlog", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "tuning.png"), dpi=110)
    plt.close(fig)


def plot_rss(relay, out):
    scale = relay["scale"]
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    samples = scale["samples"]
    ts = [s[0] for s in samples]
    ax.plot(ts, [s[1] for s in samples], color=OURS, label="relay RSS (VmRSS, every 100 ms)")
    ax.axhline(64, color=LIMIT, linestyle="--", label="goal: 64 MB")
    ax.axhline(scale["hwm_mb"], color=OURS, linestyle=":", linewidth=1, label=f"peak (VmHWM) {scale['hwm_mb']:.1f} MB")
    boundary = next((s[0] for s in samples if s[2] >= scale["backlog_events"] > 0), None)
    if boundary is not None and scale["tx_rows"] > 0:
        ax.axvline(boundary, color=REFERENCE, linestyle="-.", label=f"backlog done, {scale['tx_rows']:,}-row transaction starts")
    ax.set_xlabel("time since relay start (s)")
    ax.set_ylabel("resident memory (MB)")
    ax.set_ylim(0, max(70, scale["hwm_mb"] * 1.15))
    ax2 = ax.twinx()
    pub = [(s[0], s[2]) for s in samples if s[2] >= 0]
    ax2.plot([p[0] for p in pub], [p[1] for p in pub], color=REFERENCE, linewidth=1, label="events acked (right axis)")
    ax2.set_ylabel("events acked (count)")
    ax2.set_ylim(0, (scale["backlog_events"] + scale["tx_rows"]) * 1.05)
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=7, loc="lower right", framealpha=0.9)
    ax.set_title(f"Scale run: {scale['backlog_events']:,}-event backlog + one {scale['tx_rows']:,}-row transaction", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "rss.png"), dpi=110)
    plt.close(fig)


def goal_rows(name, result):
    rows = []
    for key, g in (result or {}).get("goals", {}).items():
        value = g["value"]
        rows.append(f"| {name} | {key.replace('_', ' ')} | {value:.2f} | {g['goal']} | {'met' if g['met'] else '**missed**'} |")
    return rows


def header(result):
    return f"commit `{result['commit']}`, {result['date']}, {result['nproc']} CPUs, load average {result['loadavg']:.1f} at start"


def main():
    data, out = sys.argv[1], sys.argv[2]
    relay, api, pulsar, inbox = (load(data, n) for n in ("relay", "api", "pulsar", "inbox"))
    md = ["# Benchmarks", "",
          "Written by `scripts/bench-report` from one run: every figure and plot below comes from the JSON files in",
          "[data/](data/) that the benchmarks wrote in that run, each beside the reference measured in the same run on",
          "the same machine. On a shared 2-core machine absolute figures move with the load; compare the ratios.", "",
          "Reproduce: `scripts/bench-report` (about 15 minutes; `--quick` for a smaller run).", ""]
    if relay or pulsar or api:
        plot_throughput(relay, pulsar, api, out)
    if relay:
        plot_cdf(relay, out)
        plot_tuning(relay, out)
        if relay.get("scale"):
            plot_rss(relay, out)
    goals = ["| benchmark | goal | value | target | |", "| --- | --- | --- | --- | --- |"]
    goals += goal_rows("relay", relay) + goal_rows("producer", pulsar) + goal_rows("api", api)
    md += ["## Goals", "", *goals, "", "![throughput](throughput.png)", ""]
    if relay:
        c, ref = relay["catch_up"], relay["reference"]
        md += ["## Relay (`scripts/bench-relay`)", "", header(relay) + ".", "",
               f"Backlog of {relay['backlog']['events']:,} events ({relay['backlog']['one_row_transactions']:,} one-row "
               f"transactions and {relay['backlog']['thousand_row_transactions']} of 1,000 rows), decoded from the same WAL "
               "by pg_recvlogical (before and after the relay) and by cdc-relay until every event is acked.", "",
               "| reader | events/s | seconds | CPU µs/event | ratio to pg_recvlogical |", "| --- | ---: | ---: | ---: | ---: |",
               *[f"| pg_recvlogical run {i + 1} | {r:,.0f} | {s:.1f} | | |" for i, (r, s) in enumerate(zip(ref["rates"], ref["runs_seconds"]))],
               f"| pg_recvlogical (mean, the reference) | {ref['rate']:,.0f} | | | 1.00 |",
               f"| cdc-relay (max_in_flight 1000) | {c['rate']:,.0f} | {c['seconds']:.1f} | {c['cpu_us_per_event']:.1f} | {c['ratio']:.2f} |", "",
               "### Steady load: commit → ack", "",
               "| target rate | achieved | events | p50 ms | p99 ms | |", "| ---: | ---: | ---: | ---: | ---: | --- |",
               *[f"| {s['target_rate']:,}/s | {s['achieved_rate']:,.0f}/s | {s['events']:,} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | "
                 f"{'' if s['achieved_rate'] >= 0.9 * s['target_rate'] else 'pgbench did not reach the target rate: the machine was saturated'} |"
                 for s in relay["steady"]], "",
               f"Relay peak RSS after the catch-up and steady runs: {relay['steady_hwm_mb']:.1f} MB; exit code on SIGTERM: "
               f"{relay['exit_on_sigterm']}. Quantiles are interpolated inside the relay's histogram buckets.", "",
               "![latency CDF](latency-cdf.png)", "",
               "### Tuning curve: `relay.max_in_flight`", "",
               "| max_in_flight | events/s | CPU µs/event | ratio to pg_recvlogical |", "| ---: | ---: | ---: | ---: |",
               *[f"| {t['max_in_flight']} | {t['rate']:,.0f} | {t['cpu_us_per_event']:.1f} | {t['ratio']:.2f} |" for t in relay["tuning"]], "",
               "![tuning curve](tuning.png)", ""]
        if relay.get("scale"):
            s = relay["scale"]
            md += ["### Scale run", "",
                   "| backlog events | rows in one transaction | events/s | CPU µs/event | peak RSS (VmHWM) | sampled peak, backlog | sampled peak, big transaction |",
                   "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
                   f"| {s['backlog_events']:,} | {s['tx_rows']:,} | {s['rate']:,.0f} | "
                   f"{s['cpu_seconds'] * 1e6 / max(1, s['backlog_events'] + s['tx_rows']):.1f} | {s['hwm_mb']:.1f} MB | "
                   f"{s['peak_rss_backlog_mb'] or 0:.1f} MB | {s['peak_rss_tx_mb'] or 0:.1f} MB |", "",
                   "![RSS over time](rss.png)", ""]
    if pulsar:
        rows = [("ours", "unbatched", pulsar["swift_unbatched"]), ("official", "unbatched", pulsar["official_unbatched"]),
                ("ours", "batched", pulsar["swift_batched"]), ("official", "batched", pulsar["official_batched"])]
        ing = pulsar["ingest"]
        md += ["## Producer (`scripts/bench-pulsar`)", "", header(pulsar) + ".", "",
               f"{pulsar['messages']:,} messages of {pulsar['size']} bytes per run, sendAsync / send_async with at most 1,000 pending; "
               "batches of at most 1,000 messages, 128 KiB, 10 ms. The official client is the Python package (C++ core).", "",
               "| client | mode | msg/s | p50 ms | p99 ms | failures |", "| --- | --- | ---: | ---: | ---: | ---: |",
               *[f"| {c} | {m} | {r['msg_per_s']:,} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['failures']} |" for c, m, r in rows], "",
               "What pulsar-lite can ingest here (the best of two methods, same run):", "",
               "| method | msg/s |", "| --- | ---: |",
               f"| our producer, 5,000-message batches, 50,000 pending | {ing['swift_big_batches']['msg_per_s']:,} |",
               f"| {ing['official_parallel']['producers']} official-client batched producers in parallel processes | {ing['official_parallel']['msg_per_s']:,.0f} |",
               f"| **limit** | **{ing['limit_msg_per_s']:,.0f}** |", "",
               f"Our batched producer reaches {ing['batched_fraction']:.2f} of that limit.", ""]
    if api:
        a, r = api["api"], api["reference"]
        md += ["## API (`scripts/bench-api`)", "", header(api) + ".", "",
               f"POST /products through the API (wrk, {api['connections']} connections, {api['duration_s']} s, "
               f"{api['api_threads']} event loop) against the same transaction issued by pgbench with the same concurrency.", "",
               "| client | per second | p50 ms | p99 ms | checkpoints during the run |", "| --- | ---: | ---: | ---: | ---: |",
               f"| products-api (wrk) | {a['rps']:,.0f} | {a['p50_ms']:.2f} | {a['p99_ms']:.2f} | {a['checkpoints']} |",
               f"| pgbench, same transaction | {r['tps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['checkpoints']} |", "",
               f"CPU per create: products-api {a['cpu_us_api']} µs, Postgres {a['cpu_us_postgres']} µs (API run); "
               f"Postgres {r['cpu_us_postgres']} µs (pgbench run). Create statements: {a['batches']}.", ""]
    if inbox:
        md += ["## Inbox consumer (`scripts/bench-inbox`)", "", header(inbox) + ".", "",
               "| figure | value |", "| --- | ---: |",
               *[f"| {k} | {v} |" for k, v in inbox.items() if isinstance(v, (int, float)) and not isinstance(v, bool)], ""]
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("\n".join(md))


if __name__ == "__main__":
    main()
