#!/usr/bin/env bash
# The client fast path end to end: TAP offloads (TSO split, USO split), UDP GSO trains, UDP GRO
# and TCP coalescing, against the per-frame client and forced fallbacks.
#
#   vst-c1 vs0 198.19.0.11 fe80::ff:fe00:1 --+
#                                            +-- vswitch in vst-srv (198.18.0.1:9797, $DATAPATH)
#   vst-c2 vs0 198.19.0.12 fe80::ff:fe00:2 --+
#
# A 64 MiB random blob crosses over TCP and must arrive with the same sha256; the receiving
# kernel's TCP checksum error counter (/proc/net/snmp InCsumErrors) must not move.
set -u
. "$(dirname "$0")/lib.sh"
require_root
BLOB=$WORK/blob
head -c $((64 << 20)) /dev/urandom >"$BLOB"
WANT=$(sha256sum "$BLOB" | cut -d' ' -f1)
HELPER=$(dirname "$0")/blob.py

csum_errors() { n "$P-c$1" awk '/^Tcp:/ && ++k == 2 { for (i = 1; i <= NF; i++) if (h[i] == "InCsumErrors") print $i } /^Tcp:/ && k == 1 { for (i = 1; i <= NF; i++) h[i] = $i }' /proc/net/snmp; }
# blob FROM TO ADDR LABEL: sends the blob over TCP from cFROM to ADDR in cTO; checks sha256.
blob() {
  local from=$1 to=$2 addr=$3 label=$4 got errors_before
  errors_before=$(csum_errors "$to")
  # A new file each time: the previous receiver's "listening" must not pass for this one's (under
  # load the shell got to the check before the new receiver had truncated the old file).
  rm -f "$WORK/serve.out"
  ip netns exec "$P-c$to" timeout 90 python3 "$HELPER" serve "$addr" 5555 >"$WORK/serve.out" 2>&1 &
  local server=$!
  PIDS+=("$server")
  wait_for 5 grep -q listening "$WORK/serve.out" || { cat "$WORK/serve.out"; fail "$label: receiver did not listen"; }
  n "$P-c$from" timeout 90 python3 "$HELPER" send "$addr" 5555 "$BLOB" || true
  wait $server
  got=$(tail -n1 "$WORK/serve.out" | cut -d' ' -f1)
  check "$label: 64 MiB c$from -> c$to arrive intact (sha256 ${got:0:12})" test "$got" == "$WANT"
  check "$label: c$to counted no TCP checksum errors" test "$(csum_errors "$to")" == "$errors_before"
}
# counters I: vport cI's counter lines (SIGUSR1 makes it log them).
counters() {
  local before
  before=$(grep -c 'counters: session' "$WORK/vport-c$1.log")
  kill -USR1 "${CLIENT_PID[$1]}"
  wait_for 5 bash -c "(( \$(grep -c 'counters: session' '$WORK/vport-c$1.log') > $before ))"
  grep 'counters:' "$WORK/vport-c$1.log" | tail -n 4
}
number_after() { grep -o "$1 [0-9][0-9]*" | tail -n1 | awk '{print $NF}'; }  # number_after "PHRASE"
restart_client() {  # restart_client I [vport args]: stops cI and starts it again with new flags
  local i=$1; shift
  kill "${CLIENT_PID[$i]}"; wait "${CLIENT_PID[$i]}" 2>/dev/null
  : >"$WORK/vport-c$i.log"
  start_client "$i" "$@"
  wait_for 10 grep -q joined "$WORK/vport-c$i.log"
  link_local_ready "$i"
}

topo_up 2
start_server
start_client 1
start_client 2
check "two ports join" wait_for 10 ports_are 2
check "c1's TAP took checksum and TSO offloads" grep -q "tap offloads: csum tso4 tso6" "$WORK/vport-c1.log"
check "c1 pings c2 (IPv4 overlay)" pings 1 198.19.0.12 3
link_local_ready 1
link_local_ready 2

# Test that offloaded TCP crosses intact both ways, IPv4 and IPv6, and really used the fast path.
blob 1 2 198.19.0.12 "offloads, IPv4"
blob 2 1 198.19.0.11 "offloads, IPv4"
blob 1 2 "fe80::ff:fe00:2%vs0" "offloads, IPv6"
c1=$(counters 1)
c2=$(counters 2)
super=$(echo "$c1" | number_after "super-frames")
trains=$(echo "$c1" | grep -o "in [0-9]* UDP GSO trains" | awk '{print $2}')
merged=$(echo "$c2" | grep -o "coalesced [0-9]* super-frames" | awk '{print $2}')
check "c1 read TCP super-frames from its TAP ($super)" test "${super:-0}" -gt 100
check "c1 sent UDP GSO trains ($trains)" test "${trains:-0}" -gt 100
check "c2 wrote coalesced super-frames to its TAP ($merged)" test "${merged:-0}" -gt 100
check "no frame was dropped for a bad virtio-net header" test "$(echo "$c1" | number_after "bad vnet header")" == 0

# Test that a USO frame (one UDP_SEGMENT send on the overlay) is split into its datagrams.
ip netns exec $P-c2 timeout 20 python3 "$HELPER" udp-recv 198.19.0.12 6000 20 >"$WORK/udp.out" 2>&1 &
receiver=$!
PIDS+=("$receiver")
wait_for 5 grep -q listening "$WORK/udp.out"
sent=$(n $P-c1 python3 "$HELPER" udp-gso-send 198.19.0.12 6000 20 1000)
wait $receiver
check "20 datagrams sent as one USO frame arrive whole ($(tail -n1 "$WORK/udp.out" | cut -c1-20))" \
  test "$(tail -n1 "$WORK/udp.out")" == "$sent"

# Test that an offloading client and a per-frame client (no virtio-net header) interoperate.
restart_client 2 --no-offload
check "c2 runs without a virtio-net header" grep -q "tap offloads: no vnet header" "$WORK/vport-c2.log"
blob 1 2 198.19.0.12 "offload -> plain"
blob 2 1 198.19.0.11 "plain -> offload"
blob 1 2 "fe80::ff:fe00:2%vs0" "offload -> plain, IPv6"

# Test each fallback: USO refused, no UDP GSO/GRO, no coalescing.
restart_client 2 --no-uso --no-udp-gro --no-coalesce
check "c2 without USO asked: csum tso4 tso6 only" grep -q "tap offloads: csum tso4 tso6;" "$WORK/vport-c2.log"
blob 1 2 198.19.0.12 "receiver without GRO or coalescing"
restart_client 1 --no-udp-gso
blob 1 2 198.19.0.12 "sender without UDP GSO"

# Test a multi-queue TAP: the flows spread over two queues, each read by its own thread, and
# nothing is lost or reordered into corruption.
restart_client 1 --queues 2
restart_client 2 --queues 2
check "c1's TAP has two queues" grep -q "tap queues: 2" "$WORK/vport-c1.log"
ip netns exec $P-c2 timeout 40 iperf3 -s -1 >/dev/null 2>&1 &
PIDS+=("$!")
wait_for 5 tcp_listening $P-c2 5201
check "iperf3 with 16 streams completes over two queues" n $P-c1 timeout 30 iperf3 -c 198.19.0.12 -t 3 -P 16 \
  --logfile "$WORK/mq.log"
read -r q0 q1 < <(counters 1 | grep -o "reads per queue: [0-9]* [0-9]*" | awk '{print $4, $5}')
check "both TAP queues carried traffic (reads: ${q0:-?} and ${q1:-?})" test "${q0:-0}" -gt 100 -a "${q1:-0}" -gt 100
blob 1 2 198.19.0.12 "multi-queue"
blob 2 1 "fe80::ff:fe00:1%vs0" "multi-queue, IPv6"

# Test an underlay device without checksum offload. Kernels before 6.11 refuse UDP_SEGMENT
# there with EIO and the sender must fall back to one datagram per segment; later ones
# segment and checksum in software. Either way nothing may be lost.
restart_client 1
n $P-c1 ethtool -K $P-c1-u tx-checksumming off >/dev/null 2>&1
blob 1 2 198.19.0.12 "sender's underlay without checksum offload"
fallbacks=$(counters 1 | number_after "gso fallbacks")
if n $P-c1 python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(17, 103, 500)
try: s.sendto(bytes(1000), ('198.18.0.1', 9))
except OSError: sys.exit(0)
sys.exit(1)"; then
  check "c1 fell back from UDP GSO after EIO ($fallbacks)" test "${fallbacks:-0}" -ge 1
else
  echo "SKIP: this kernel takes UDP_SEGMENT without checksum offload: no EIO to fall back from"
fi
n $P-c1 ethtool -K $P-c1-u tx-checksumming on >/dev/null 2>&1

# The same on the server's underlay (the socket datapath sends trains too).
if [[ $DATAPATH == socket ]]; then
  n $NS_SRV ethtool -K $P-srv-u tx-checksumming off >/dev/null 2>&1
  blob 1 2 198.19.0.12 "server's underlay without checksum offload"
fi
check "c1 still pings c2" pings 1 198.19.0.12 3
finish
