#!/usr/bin/env bash
# Two networks on one server cannot reach each other, even on the same IP subnet.
#
#   network 1: vst-c1 198.19.0.11, vst-c2 198.19.0.12  --+-- vswitch in vst-srv
#   network 2: vst-c3 198.19.0.13, vst-c4 198.19.0.14  --+
set -u
. "$(dirname "$0")/lib.sh"
require_root
topo_up 4
start_server
start_client 1 --network 1
start_client 2 --network 1
start_client 3 --network 0x2
start_client 4 --network 2
check "four ports join" wait_for 10 ports_are 4

# Test that each network works inside itself.
check "c1 pings c2 (network 1)" pings 1 198.19.0.12 3
check "c3 pings c4 (network 2)" pings 3 198.19.0.14 3

# Test that nothing crosses: no unicast, no ARP broadcast.
capture $P-c3 vs0 "$WORK/c3.pcap"
dump=$CAPTURE_PID
capture $P-c2 vs0 "$WORK/c2.pcap" arp
dump2=$CAPTURE_PID
check "c1 cannot ping c3 (network 2)" bash -c "! ip netns exec $P-c1 ping -c 3 -W 1 -i 0.2 -q 198.19.0.13 >/dev/null 2>&1"
check "c1 cannot ping c4 (network 2)" bash -c "! ip netns exec $P-c1 ping -c 2 -W 1 -i 0.2 -q 198.19.0.14 >/dev/null 2>&1"
n $P-c1 arping -c 2 -w 2 -I vs0 198.19.0.13 >/dev/null 2>&1
# c2 (network 1) sees the arping's broadcasts: once it has, c3 would have seen any leak as well.
stop_capture $dump2 "$WORK/c2.pcap" 2
stop_capture $dump
seen=$(tcpdump -r "$WORK/c3.pcap" -n 'ether src 02:00:00:00:00:01' 2>/dev/null | wc -l)
check "c3 saw no frame from c1 ($seen)" test "$seen" -eq 0

# Test that the fdb keeps the networks apart.
fdb_networks_are_1_and_2() { ctl fdb --json | stdin_json_ok '[.fdb[].network] | unique == [1,2]'; }
check "fdb shows network 1 and network 2 entries" fdb_networks_are_1_and_2

finish
