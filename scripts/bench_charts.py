#!/usr/bin/python3
"""Charts of one scripts/bench.sh run (Debian's python3-matplotlib), PNG beside its tables.

Usage: bench_charts.py OUT_PREFIX [--forwarding RUN.json] [--e2e RUN-e2e.md] [--soak RUN-soak.csv]
Writes OUT_PREFIX-<chart>.png for each input given:
  throughput  end-to-end TCP Mbit/s per system (vswitch rows and the peers), from the e2e summary
  cpu         the server's CPU per forwarded packet at the paced rate, per datapath and protocol
  latency     p50/p99 latency per datapath and protocol (the 20k pps rows; with the handshake flood)
  soak        the server's RSS and open descriptors over the soak
"""
import argparse
import csv
import json
import re
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PROTO_NAMES = {"insecure": "v1 plaintext", "chacha": "v2 ChaCha20-Poly1305", "gcm": "v2 AES-256-GCM"}


def mean(values):
    values = [v for v in values if v is not None]
    return statistics.mean(values) if values else None


def grouped_bars(ax, groups, series, values, ylabel):
    """groups along x, one bar per series in each; values[(group, series)] or missing."""
    width = 0.8 / max(1, len(series))
    for i, s in enumerate(series):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        ys = [values.get((grp, s)) or 0 for grp in groups]
        bars = ax.bar(xs, ys, width, label=s)
        for bar, y in zip(bars, ys):
            if y:
                ax.annotate(f"{y:,.0f}", (bar.get_x() + bar.get_width() / 2, y), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def cpu_chart(rows, out):
    paced = [r for r in rows if r.get("scenario", "").startswith("paced") and r.get("ns_per_pkt")]
    if not paced:
        return False
    scenarios = sorted({r["scenario"] for r in paced}, key=lambda s: int(re.search(r"(\d+)B$", s).group(1)))
    fig, axes = plt.subplots(1, len(scenarios), figsize=(6 * len(scenarios), 4.5), squeeze=False)
    for ax, sc in zip(axes[0], scenarios):
        sel = [r for r in paced if r["scenario"] == sc]
        datapaths = [d for d in ("socket", "afxdp-generic", "afxdp-native") if any(r["datapath"] == d for r in sel)]
        protos = [p for p in PROTO_NAMES if any(r["proto"] == p for r in sel)]
        values = {(d, PROTO_NAMES[p]): mean([r["ns_per_pkt"] for r in sel if r["datapath"] == d and r["proto"] == p])
                  for d in datapaths for p in protos}
        grouped_bars(ax, datapaths, [PROTO_NAMES[p] for p in protos], values, "ns of server CPU per forwarded packet")
        ax.set_title(sc)
    fig.suptitle("The server's CPU per packet (lower is better; same run)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return True


def latency_chart(rows, out):
    lat = [r for r in rows if r.get("latency_us")]
    if not lat:
        return False
    labels, p50, p99 = [], [], []
    for d in ("socket", "afxdp-generic", "afxdp-native"):
        for p in PROTO_NAMES:
            for flood in (False, True):
                sel = [r for r in lat if r["datapath"] == d and r["proto"] == p and ("flood" in r["scenario"]) == flood]
                if not sel:
                    continue
                labels.append(f"{d}\n{PROTO_NAMES[p]}" + ("\n+ handshake flood" if flood else ""))
                p50.append(mean([r["latency_us"]["p50"] for r in sel]))
                p99.append(mean([r["latency_us"]["p99"] for r in sel]))
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(labels)), 4.8))
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], p50, 0.4, label="p50")
    ax.bar([x + 0.2 for x in xs], p99, 0.4, label="p99")
    ax.set_xticks(list(xs), labels, fontsize=7)
    ax.set_ylabel("latency through the server, us")
    ax.set_yscale("log")
    ax.set_title("Latency at 20k packets/s, 64 B (lower is better)")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return True


def throughput_chart(e2e_md, out):
    """The e2e summary table: | system | TCP Mbit/s | ratio | ping | pps |."""
    rows = []
    in_summary = False
    for line in open(e2e_md, encoding="utf-8"):
        if line.startswith("## End to end"):
            in_summary = True
            continue
        if in_summary and line.startswith("| ") and not line.startswith("| system") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            try:
                rows.append((cells[0], float(cells[1])))
            except (IndexError, ValueError):
                pass
    if not rows:
        return False
    rows.sort(key=lambda r: r[1])
    fig, ax = plt.subplots(figsize=(9, 0.38 * len(rows) + 1.5))
    colors = ["tab:blue" if name.startswith("vswitch") else "tab:gray" for name, _ in rows]
    bars = ax.barh([n for n, _ in rows], [v for _, v in rows], color=colors)
    for bar, (_, v) in zip(bars, rows):
        ax.annotate(f"{v:,.0f}", (v, bar.get_y() + bar.get_height() / 2), va="center", fontsize=7,
                    xytext=(3, 0), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("TCP through the hub, Mbit/s (one stream, log scale)")
    ax.set_title("Throughput per system, same run (vswitch in blue)")
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return True


def soak_chart(csv_path, out):
    t, rss, fds = [], [], []
    with open(csv_path, encoding="utf-8") as f:
        for row in csv.reader(f):
            try:
                t.append(float(row[0]))
                rss.append(float(row[1]) / 1024)
                fds.append(float(row[2]))
            except (IndexError, ValueError):
                continue  # a header
    if not t:
        return False
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(t, rss, label="RSS, MiB")
    ax.set_xlabel("seconds into the soak")
    ax.set_ylabel("vswitch RSS, MiB")
    ax.set_ylim(0, max(rss) * 1.3)
    ax2 = ax.twinx()
    ax2.plot(t, fds, color="tab:orange", label="open descriptors")
    ax2.set_ylabel("open descriptors")
    ax2.set_ylim(0, max(fds) * 1.5 + 1)
    ax.set_title("The server during the soak: traffic, joins and leaves, MAC moves, new MACs")
    ax.legend(loc="lower left")
    ax2.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prefix")
    ap.add_argument("--forwarding")
    ap.add_argument("--e2e")
    ap.add_argument("--soak")
    a = ap.parse_args()
    made = []
    if a.forwarding:
        rows = json.load(open(a.forwarding, encoding="utf-8"))
        if cpu_chart(rows, a.prefix + "-cpu.png"):
            made.append(a.prefix + "-cpu.png")
        if latency_chart(rows, a.prefix + "-latency.png"):
            made.append(a.prefix + "-latency.png")
    if a.e2e and throughput_chart(a.e2e, a.prefix + "-throughput.png"):
        made.append(a.prefix + "-throughput.png")
    if a.soak and soak_chart(a.soak, a.prefix + "-soak.png"):
        made.append(a.prefix + "-soak.png")
    print("\n".join(made))
    return 0 if made else 1


if __name__ == "__main__":
    sys.exit(main())
