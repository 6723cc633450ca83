#!/usr/bin/env bash
# The client fast path, one acceleration at a time (the ablation ladder of issue 5): iperf3 TCP
# through two real vport clients and a vswitch, for each server datapath, over IPv4 and IPv6
# overlay addresses, with CPU per process and ping under load.
#
#   bo-c1 vs0 198.19.0.11 --+
#                           +-- br0 in bo-net -- vswitch in bo-srv (198.18.0.1:9797)
#   bo-c2 vs0 198.19.0.12 --+
#
# Steps (each adds one thing to the one before):
#   plain       one TAP read/write and one UDP syscall per frame, no offloads anywhere
#   +mmsg       recvmmsg/sendmmsg batches (the client of issue 2)
#   +tso        TAP virtio-net header: 64 KB super-frames split in userspace, sent by sendmmsg
#   +udp-gso    segments leave as UDP_SEGMENT trains (server sends trains too)
#   +udp-gro    trains arrive as one message (server and clients: UDP_GRO)
#   +coalesce   TCP segments merged into one TAP write (userspace GRO): the default
#   +tx-thread  the client's TAP -> server direction on a thread of its own
#   4-streams   the default client, iperf3 -P 4 (the baseline of the next step)
#   +queues2    multi-queue TAP: 2 queues, a transmit thread each, iperf3 -P 4
# CPU is utime+stime of each process over the iperf3 run (100 = one core); ping is 100 probes
# 20 ms apart during the run. Environment: DUR (5 s), DATAPATHS ("socket afxdp-native
# afxdp-generic"), FAMILIES ("v4 v6"), STEPS (all of the above), OUT (markdown file).
set -u
cd "$(dirname "$0")/.."
export NS_PREFIX=bo
DUR=${DUR:-5}
DATAPATHS=${DATAPATHS:-socket afxdp-native afxdp-generic}
FAMILIES=${FAMILIES:-v4 v6}
STEPS=${STEPS:-plain +mmsg +tso +udp-gso +udp-gro +coalesce +tx-thread 4-streams +queues2}
OUT=${OUT:-/dev/null}
BIN_DIR=${BIN_DIR:-$PWD/build}
DATAPATH=socket
. tests/e2e/lib.sh
require_root

step_args() {  # step_args STEP: sets SRV_ARGS, CLI_ARGS and STREAMS
  STREAMS=1
  case $1 in
    plain) SRV_ARGS=(--no-offload); CLI_ARGS=(--no-offload --no-batching) ;;
    +mmsg) SRV_ARGS=(--no-offload); CLI_ARGS=(--no-offload) ;;
    +tso) SRV_ARGS=(--no-offload); CLI_ARGS=(--no-udp-gso --no-udp-gro --no-coalesce) ;;
    +udp-gso) SRV_ARGS=(--no-udp-gro); CLI_ARGS=(--no-udp-gro --no-coalesce) ;;
    +udp-gro) SRV_ARGS=(); CLI_ARGS=(--no-coalesce) ;;
    +coalesce) SRV_ARGS=(); CLI_ARGS=() ;;
    +tx-thread) SRV_ARGS=(); CLI_ARGS=(--tx-thread) ;;
    4-streams) SRV_ARGS=(); CLI_ARGS=(); STREAMS=4 ;;
    +queues2) SRV_ARGS=(); CLI_ARGS=(--queues 2); STREAMS=4 ;;
    *) echo "unknown step $1" >&2; exit 1 ;;
  esac
}
datapath_args() {
  case $1 in
    socket) DATAPATH_ARGS=(--datapath socket) ;;
    afxdp-native) DATAPATH_ARGS=(--datapath afxdp --iface $P-srv-u --xdp-mode native) ;;
    afxdp-generic) DATAPATH_ARGS=(--datapath afxdp --iface $P-srv-u --xdp-mode generic) ;;
  esac
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
stop_all() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  PIDS=()
  rm -f "$CTL_SOCK"
}

topo_up 2
HZ=$(getconf CLK_TCK)
{
  echo "| datapath | overlay | step | TCP Gbit/s | vswitch CPU % | vport c1 % | vport c2 % | ping under load avg / p99 ms |"
  echo "|---|---|---|---|---|---|---|---|"
} | tee -a "$OUT"
for dp in $DATAPATHS; do
  datapath_args "$dp"
  for step in $STEPS; do
    step_args "$step"
    start_server "${SRV_ARGS[@]}" || { stop_all; continue; }
    start_client 1 "${CLI_ARGS[@]}"
    start_client 2 "${CLI_ARGS[@]}"
    if ! wait_for 10 ports_are 2; then log "$dp $step: clients did not join"; stop_all; continue; fi
    link_local_ready 1 && link_local_ready 2
    pings 1 198.19.0.12 2
    for fam in $FAMILIES; do
      if [[ $fam == v4 ]]; then dst=198.19.0.12; else dst=fe80::ff:fe00:2%vs0; fi
      n $P-c2 timeout $((DUR + 30)) iperf3 -s -1 >/dev/null 2>&1 &
      srv=$!
      PIDS+=("$srv")
      sleep 0.3
      t0=($(ticks "$SERVER_PID") $(ticks "${CLIENT_PID[1]}") $(ticks "${CLIENT_PID[2]}"))
      n $P-c1 ping -c 100 -i 0.02 -W 1 "$dst" >"$WORK/ping.txt" 2>&1 &
      pinger=$!
      n $P-c1 timeout $((DUR + 15)) iperf3 -c "$dst" -t "$DUR" -P "$STREAMS" -J >"$WORK/iperf.json" 2>/dev/null
      t1=($(ticks "$SERVER_PID") $(ticks "${CLIENT_PID[1]}") $(ticks "${CLIENT_PID[2]}"))
      wait $pinger $srv 2>/dev/null
      gbps=$(jq '.end.sum_received.bits_per_second / 1e9 * 100 | round / 100' "$WORK/iperf.json" 2>/dev/null || echo "-")
      cpu=()
      for i in 0 1 2; do cpu+=($(( (t1[i] - t0[i]) * 100 / HZ / DUR ))); done
      rtt=$(grep -o 'time=[0-9.]*' "$WORK/ping.txt" | cut -d= -f2 | sort -n |
        awk '{v[NR]=$1; s+=$1} END { i=int(NR*0.99); if (i<1) i=1; if (NR) printf "%.2f / %.2f", s/NR, v[i]; else print "-" }')
      echo "| $dp | $fam | $step | $gbps | ${cpu[0]} | ${cpu[1]} | ${cpu[2]} | $rtt |" | tee -a "$OUT"
    done
    stop_all
  done
done
finish >/dev/null
