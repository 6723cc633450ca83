#!/usr/bin/env python3
"""Where one CPU's time goes while the server forwards: `perf script -F comm,ip,sym` of a
`perf record -g -C CPU` on stdin, one markdown row per bucket, in % of the CPU and in ns per
forwarded packet.

  perf_buckets.py LABEL FORWARDED_PPS < perf-script-output

A sample belongs to the first bucket whose kernel functions appear in its call chain, so a
packet's receive work counts as receive even when it frees an skb on the way.
"""
import sys

KERNEL = 0xFFFF800000000000  # x86-64: kernel text lives above this address

# (bucket, functions that mark it), tried in order.
BUCKETS = [
    ("receive: NAPI poll (XDP, copy into the UMEM / GRO + UDP stack)",
     ("veth_poll", "napi_threaded_poll", "net_rx_action")),
    ("receive: recvmmsg (copy to userspace)", ("__sys_recvmmsg", "___sys_recvmsg", "udp_recvmsg")),
    ("transmit: AF_XDP copy mode (an skb per packet)", ("xsk_sendmsg", "__xsk_generic_xmit")),
    ("transmit: sendmmsg + UDP GSO", ("__sys_sendmmsg", "udp_sendmsg", "__sys_sendmsg")),
    ("wait: poll() and the scheduler", ("do_sys_poll", "__schedule", "schedule_idle", "finish_task_switch")),
]


def bucket(comm, frames):
    """frames: (address, symbol) from the sampled function outwards."""
    syms = {sym for _, sym in frames}
    for name, marks in BUCKETS:
        if any(m in syms for m in marks):
            return name
    if comm == "swapper" or "do_idle" in syms:
        return "idle"
    if frames and frames[0][0] < KERNEL:
        return "userspace: switching, rings, parsing"
    return "other kernel"


def samples(lines):
    comm, frames = None, []
    for line in lines:
        if not line.strip():
            if comm is not None:
                yield comm, frames
            comm, frames = None, []
        elif not line[0].isspace():
            comm, frames = line.split()[0], []
        else:
            parts = line.split()
            try:
                addr = int(parts[0], 16)
            except ValueError:
                continue
            sym = parts[1].split("+")[0] if len(parts) > 1 else "?"
            frames.append((addr, sym))
    if comm is not None:
        yield comm, frames


def main():
    label, pps = sys.argv[1], float(sys.argv[2])
    counts, total = {}, 0
    for comm, frames in samples(sys.stdin):
        b = bucket(comm, frames)
        counts[b] = counts.get(b, 0) + 1
        total += 1
    if total == 0:
        print(f"| {label} | no samples | - | - |")
        return
    for name, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        if name == "idle":
            continue
        share = n / total  # of one CPU
        ns = 1e9 * share / pps if pps > 0 else 0
        print(f"| {label} | {name} | {100 * share:.1f} | {ns:.0f} |")


if __name__ == "__main__":
    main()
