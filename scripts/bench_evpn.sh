#!/usr/bin/env bash
# What spanning servers costs (issue 13), measured in one run per datapath:
#  - TCP (iperf3, one stream) between two members of one server, and between members on two
#    servers (the frames cross as VXLAN between them);
#  - MAC convergence: N MACs learned on s1 until all are in s2's kernel FDB (zebra's, from BGP)
#    and in s2's switch, for 5,000 and 50,000;
#  - the server's CPU per packet: s1's vswitch process over a paced UDP stream, member to member
#    on s1, and member on s1 to member on s2 (sealed in, VXLAN out).
# Prints markdown tables. Every load is bounded; namespaces and daemons go at exit (lib.sh).
#
#   c1 198.18.0.11 --+                         +-- c2 198.18.0.12
#   c3 198.18.0.13 --+-- s1 198.18.0.1 ========+== s2 198.18.0.2     (one bridge: the underlay)
#                       vswitch + FRR             vswitch + FRR
# Environment: BIN_DIR (build), DATAPATHS ("socket afxdp-native"), DUR (5 s per load), RATE (UDP
# Mbit/s of the paced stream, 400), MACS ("5000 50000").
set -u
here=$(cd "$(dirname "$0")" && pwd)
BIN_DIR=${BIN_DIR:-$here/../build}
export BIN_DIR
NS_PREFIX=${NS_PREFIX:-bev$(printf %04x $((RANDOM)))}
. "$here/../tests/e2e/lib.sh"
EVPN_PEERS="198.18.0.1 198.18.0.2"
. "$here/../tests/e2e/evpn_lib.sh"
require_root
DATAPATHS=${DATAPATHS:-socket afxdp-native}
DUR=${DUR:-5}
RATE=${RATE:-400}
MACS=${MACS:-5000 50000}
S1=$P-s1 S2=$P-s2
trap cleanup EXIT
trap 'exit 130' INT TERM

proc_ticks() { awk '{sub(/^.*\) /,""); print $12+$13}' "/proc/$1/stat"; }
stat_of() { "$BIN_DIR/vswitchctl" --control "$1" stats --json | jq -r ".counters.$2"; }
# MACs s2's kernel lists behind s1 (the flood-list entry, the zero MAC, left out).
behind_s1() { n $S2 bridge fdb show dev vsvx1 | grep ' dst 198.18.0.1 ' | grep -vc '^00:00:00:00:00:00'; }
tcp_mbps() {  # tcp_mbps FROM_NS TO_ADDR: iperf3 TCP Mbit/s, one stream
  n "$1" timeout $((DUR + 15)) iperf3 -c "$2" -t "$DUR" -J 2>/dev/null | jq -r '.end.sum_received.bits_per_second / 1e6 | floor'
}

run_datapath() {
  local dp=$1 rows=() ms
  DATAPATH=$dp
  case $dp in
    socket) DATAPATH_ARGS=(--datapath socket) ;;
    afxdp-native) DATAPATH_ARGS=(--datapath afxdp --iface $P-srv-u --xdp-mode native) ;;
    afxdp-generic) DATAPATH_ARGS=(--datapath afxdp --iface $P-srv-u --xdp-mode generic) ;;
  esac
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns del "$ns"; done
  ip netns add $NS_NET
  n $NS_NET ip link set lo up
  n $NS_NET ip link add br0 type bridge
  n $NS_NET ip link set br0 up
  add_host $S1 198.18.0.1
  add_host $S2 198.18.0.2
  for i in 1 2 3; do add_host "$P-c$i" "198.18.0.1$i"; done
  make_keys 3
  start_frr $S1 198.18.0.1
  start_frr $S2 198.18.0.2
  evpn_server $S1 198.18.0.1 "$WORK/s1-$dp.sock" --port-max-macs 60000 --fdb-max 262144 --flood-limit 0
  local s1_pid=$LAST_SERVER
  evpn_server $S2 198.18.0.2 "$WORK/s2-$dp.sock" --fdb-max 262144
  wait_for 30 established $S1 1 || { log "$dp: BGP did not come up"; return 1; }
  evpn_client 1 198.18.0.1
  evpn_client 3 198.18.0.1
  evpn_client 2 198.18.0.2
  wait_for 20 bash -c "ip netns exec $P-c1 ping -c1 -W1 198.19.0.12 >/dev/null && ip netns exec $P-c1 ping -c1 -W1 198.19.0.13 >/dev/null" ||
    { log "$dp: members do not reach each other"; return 1; }
  for i in 2 3; do
    ip netns exec "$P-c$i" timeout $((4 * DUR + 60)) iperf3 -s >/dev/null 2>&1 &
    PIDS+=("$!")
    wait_for 5 tcp_listening "$P-c$i" 5201
  done
  local one two
  one=$(tcp_mbps $P-c1 198.19.0.13) two=$(tcp_mbps $P-c1 198.19.0.12)
  RESULTS+=("| $dp | TCP c1 -> c3, one server | $one Mbit/s | 1.00 |")
  RESULTS+=("| $dp | TCP c1 -> c2, two servers (VXLAN between) | $two Mbit/s | $(awk -v a="$two" -v b="$one" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') |")
  # CPU per packet on s1: a paced UDP stream to a member on s1, then to one on s2.
  local to addr ticks0 ticks1 pkts0 pkts1 key ns_pkt base=""
  for to in 3 2; do
    addr=198.19.0.1$to
    key=$([[ $to == 2 ]] && echo vxlan_tx || echo unicast)
    ticks0=$(proc_ticks "$s1_pid") pkts0=$(stat_of "$WORK/s1-$dp.sock" "$key")
    n $P-c1 timeout $((DUR + 15)) iperf3 -u -c "$addr" -b "${RATE}M" -l 1400 -t "$DUR" >/dev/null 2>&1
    ticks1=$(proc_ticks "$s1_pid") pkts1=$(stat_of "$WORK/s1-$dp.sock" "$key")
    ns_pkt=$(awk -v t=$((ticks1 - ticks0)) -v p=$((pkts1 - pkts0)) -v hz="$(getconf CLK_TCK)" \
      'BEGIN { printf "%.0f", (p > 0 ? 1e9 * t / hz / p : 0) }')
    [[ -z $base ]] && base=$ns_pkt
    RESULTS+=("| $dp | s1 CPU per packet, UDP ${RATE} Mbit/s 1400 B to $([[ $to == 2 ]] && echo "s2 (VXLAN out)" || echo "s1 (sealed out)") | $ns_pkt ns ($((pkts1 - pkts0)) packets) | $(awk -v a="$ns_pkt" -v b="$base" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') |")
  done
  # Convergence: N new MACs from c1 (twice: a frame lost on the UDP tunnel would be a MAC never learned).
  local count first=100000 before t0 learned
  for count in $MACS; do
    before=$(behind_s1)
    t0=$(date +%s%N)
    for pass in 1 2; do n $P-c1 python3 "$here/../tests/e2e/mac_flood.py" "${CLIENT_TAP[1]}" "$count" 50000 "$first" >/dev/null; done
    learned=$(( $("$BIN_DIR/vswitchctl" --control "$WORK/s1-$dp.sock" ports --json | jq '[.ports[] | select(.member == "c1")][0].macs') ))
    local sent_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    wait_for 60 bash -c "(( \$(ip netns exec $S2 bridge fdb show dev vsvx1 | grep ' dst 198.18.0.1 ' | grep -vc '^00:00:00:00:00:00') >= $before + $count ))"
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    wait_for 60 bash -c "(( \$('$BIN_DIR/vswitchctl' --control '$WORK/s2-$dp.sock' fdb --json | jq '[.fdb[] | select(.vtep == \"198.18.0.1:4789\")] | length') >= $before + $count ))"
    local switch_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    RESULTS+=("| $dp | $count MACs on s1 -> in s2's kernel / in s2's switch | $ms / $switch_ms ms (sending took $sent_ms ms; c1 holds $learned) | - |")
    first=$((first + count))
  done
  cleanup_run
}

# Between datapaths: the processes and namespaces of one run go before the next.
cleanup_run() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait_for 5 bash -c "! kill -0 $p 2>/dev/null" || kill -9 "$p" 2>/dev/null; done
  PIDS=()
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns del "$ns" 2>/dev/null; done
}

RESULTS=()
for dp in $DATAPATHS; do run_datapath "$dp" || log "$dp failed: see $WORK"; done
echo "## EVPN: two servers against one ($(date -u +%F), $(nproc) cores, kernel $(uname -r))"
echo
echo "| datapath | measurement | result | ratio to the first row of its kind |"
echo "|---|---|---|---|"
printf '%s\n' "${RESULTS[@]}"
finish >/dev/null
