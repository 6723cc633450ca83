#!/usr/bin/env bash
# Frame-level rules: 802.1Q-tagged frames pass untouched, oversized frames are counted drops.
#
#   vst-c1 vs0 --+-- vswitch in vst-srv --+-- vst-c2 vs0
set -u
. "$(dirname "$0")/lib.sh"
require_root
topo_up 2
start_server
start_client 1 --mtu 1400
start_client 2 --mtu 1400
check "two ports join" wait_for 10 ports_are 2
check "c1 pings c2" pings 1 198.19.0.12 2
here=$(dirname "$0")

# Test that an 802.1Q-tagged frame (VID 100) arrives byte for byte. The kernel has no VLAN
# devices here, so the frame is written raw and captured raw.
frame=020000000002020000000001810000640800$(printf 'c0ffee%.0s' $(seq 20))
capture $P-c2 vs0 "$WORK/vlan.pcap" 'ether src 02:00:00:00:00:01 and vlan 100'
dump=$CAPTURE_PID
n $P-c1 python3 "$here/send_frame.py" vs0 "$frame" 3
stop_capture $dump "$WORK/vlan.pcap" 3
count=$(tcpdump -r "$WORK/vlan.pcap" 2>/dev/null | wc -l)
check "c2 received the tagged frames ($count)" test "$count" -ge 3
# -xx prints each whole frame in hex, link header and tag included.
got=$(tcpdump -r "$WORK/vlan.pcap" -n -xx -c 1 2>/dev/null | grep -E '^\s+0x' | cut -d: -f2 | tr -d ' \n')
check "the tagged frame arrived byte for byte" test "$got" == "$frame"

# Test that a frame above the negotiated MTU is dropped and counted, not forwarded: the client
# refuses it before the tunnel (the server would too: unit-tested as frame_too_big).
n $P-c1 ip link set vs0 mtu 1500
check "oversized pings get no answer" bash -c \
  "! ip netns exec $P-c1 ping -c 3 -W 1 -i 0.2 -q -M do -s 1460 198.19.0.12 >/dev/null 2>&1"
kill -USR1 "${CLIENT_PID[1]}"
too_big_at_least() { [[ $(grep -oE 'too big [0-9]+' "$WORK/vport-c1.log" | tail -n1 | awk '{print $3}') -ge $1 ]]; }
check "vport counted them as too big" wait_for 5 too_big_at_least 3
check "frames within the MTU still pass" pings 1 198.19.0.12 2

finish
