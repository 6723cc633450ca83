#!/usr/bin/env bash
# Switching across the overlay with three real vport clients.
#
#   vst-c1 vs0 198.19.0.11 --+
#   vst-c2 vs0 198.19.0.12 --+-- vswitch in vst-srv (198.18.0.1:9797, socket datapath)
#   vst-c3 vs0 198.19.0.13 --+
set -u
. "$(dirname "$0")/lib.sh"
require_root
topo_up 3
start_server
for i in 1 2 3; do start_client "$i"; done
check "three ports join within 10 s" wait_for 10 ports_are 3

# Test that every pair pings over the overlay.
for a in 1 2 3; do
  for b in 1 2 3; do
    ((a == b)) && continue
    check "c$a pings c$b over the overlay" pings "$a" "198.19.0.1$b" 3
  done
done

# Test that ARP resolves: arping gets a reply and the neighbour entry has c2's MAC.
check "arping c1 -> c2 answered" n $P-c1 arping -c 2 -w 3 -I vs0 198.19.0.12
check "c1's ARP entry for c2 is c2's MAC" bash -c \
  "ip netns exec $P-c1 ip neigh show 198.19.0.12 dev vs0 | grep -q 02:00:00:00:00:02"

# Test that, once learned, unicast between c1 and c2 does not reach c3 (but does reach c2).
capture $P-c3 vs0 "$WORK/c3.pcap" icmp
dump3=$CAPTURE_PID
capture $P-c2 vs0 "$WORK/c2.pcap" icmp
dump2=$CAPTURE_PID
pings 1 198.19.0.12 10
stop_capture $dump2 "$WORK/c2.pcap" 20
stop_capture $dump3
c3_seen=$(tcpdump -r "$WORK/c3.pcap" -n 2>/dev/null | wc -l)
c2_seen=$(tcpdump -r "$WORK/c2.pcap" -n 2>/dev/null | wc -l)
check "c2 captured the c1<->c2 pings ($c2_seen packets)" test "$c2_seen" -ge 20
check "c3 captured none of them ($c3_seen packets)" test "$c3_seen" -eq 0

# Test that iperf3 TCP c1 -> c2 completes.
ip netns exec $P-c2 timeout 40 iperf3 -s -1 -B 198.19.0.12 >"$WORK/iperf3-s.log" 2>&1 &
PIDS+=("$!")
wait_for 5 tcp_listening $P-c2 5201
if n $P-c1 timeout 30 iperf3 -c 198.19.0.12 -t 3 -J >"$WORK/iperf3.json" 2>&1; then
  mbps=$(jq '.end.sum_received.bits_per_second / 1e6 | floor' "$WORK/iperf3.json")
  check "iperf3 TCP c1 -> c2 completed at $mbps Mbit/s" test "$mbps" -gt 0
else
  fail "iperf3 TCP c1 -> c2"
fi

# Test that IPv6 link-local works: neighbour discovery over multicast, then unicast.
link_local_ready 2
ll2=$(n $P-c2 ip -6 -o addr show dev vs0 scope link | awk '{print $4}' | cut -d/ -f1)
check "c1 pings c2's link-local $ll2" n $P-c1 ping -6 -c 3 -W 2 -i 0.2 -q "$ll2%vs0"
answers=$(n $P-c1 ping -6 -c 2 -W 2 -i 0.5 ff02::1%vs0 2>/dev/null | grep -c 'bytes from fe80')
check "all-nodes multicast ping answered by c2 and c3 ($answers replies)" test "$answers" -ge 4

# Test that vswitchctl matches reality: three ports with the clients' endpoints, and each
# client's MAC learned on that client's port.
ports=$(ctl ports)
for i in 1 2 3; do
  check "ports lists c$i's endpoint" grep -q "198.18.0.1$i:" <<<"$ports"
done
ports_json=$(ctl ports --json)
fdb_json=$(ctl fdb --json)
for i in 1 2 3; do
  port_id=$(jq -r ".ports[] | select(.endpoint | startswith(\"198.18.0.1$i:\")) | .id" <<<"$ports_json")
  check "fdb maps 02:00:00:00:00:0$i to c$i's port $port_id" \
    test "$(jq -r ".fdb[] | select(.mac == \"02:00:00:00:00:0$i\") | .port" <<<"$fdb_json")" == "$port_id"
done
check "fdb text table has a row per MAC" test "$(ctl fdb | grep -c '02:00:00:00:00:0')" -ge 3
check "stats counts unicast frames" test "$(stat_value unicast)" -gt 0
check "stats counts flooded frames" test "$(stat_value flooded)" -gt 0
check "no frames were dropped for bad input" test "$(stat_value drops_total)" -eq "$(stat_value no_egress)"
check "stats names the datapath ($DATAPATH)" datapath_is_expected

# Test that SIGTERM is clean: vport exits 0 and its TAP disappears; the port leaves at once.
kill -TERM "${CLIENT_PID[3]}"
wait "${CLIENT_PID[3]}"; rc=$?
check "vport exits 0 on SIGTERM" test "$rc" -eq 0
check "c3's TAP is gone" bash -c "! ip netns exec $P-c3 ip link show vs0 >/dev/null 2>&1"
check "the server dropped c3's port on its BYE" wait_for 3 ports_are 2

finish
