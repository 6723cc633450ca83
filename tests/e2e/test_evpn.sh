#!/usr/bin/env bash
# EVPN: one network across three servers through BGP EVPN with FRR (zebra + bgpd in each).
# s1 and s2 run vswitch; s3 runs no vswitch at all, only what any Linux host with FRR has (a
# bridge, a VXLAN device, FRR), with host h3 behind it. c1 joins s1, c2 joins s2.
#
#   vst-c1 198.18.0.11 ---+                                     +--- vst-c2 198.18.0.12
#                         |                                     |
#   vst-s1 198.18.0.1 ----+------ br0 in vst-net (underlay) ----+--- vst-s2 198.18.0.2
#   vswitch + zebra/bgpd  |                                          vswitch + zebra/bgpd
#                         +--- vst-s3 198.18.0.3: br1 + vxlan1 (VNI 1) + zebra/bgpd
#                                   +-- veth -- vst-h3 198.19.0.13
# iBGP AS 65000, full mesh. Overlay: c1 198.19.0.11, c2 198.19.0.12, h3 198.19.0.13 (network 1 = VNI 1).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/evpn_lib.sh"
require_root
[[ $MODE == secure ]] || { echo "SKIP: $SCENARIO runs the secure protocol"; exit 77; }
[[ -x /usr/lib/frr/zebra && -x /usr/lib/frr/bgpd ]] || { echo "SKIP: $SCENARIO needs FRR (Debian's frr)"; exit 77; }
here=$(dirname "$0")
S1=$P-s1 S2=$P-s2 S3=$P-s3 H3=$P-h3
C1_MAC=02:00:00:00:00:01 C2_MAC=02:00:00:00:00:02

trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add $NS_NET
n $NS_NET ip link set lo up
n $NS_NET ip link add br0 type bridge
n $NS_NET ip link set br0 up
add_host $S1 198.18.0.1
add_host $S2 198.18.0.2
add_host $S3 198.18.0.3
add_host $P-c1 198.18.0.11
add_host $P-c2 198.18.0.12
make_keys 2

# s3: a plain Linux VTEP for VNI 1 and a host behind it.
n $S3 ip link add br1 type bridge
n $S3 ip link add vxlan1 type vxlan id 1 local 198.18.0.3 dstport 4789 nolearning
n $S3 ip link set vxlan1 master br1
ip netns add $H3
n $H3 ip link set lo up
ip link add $P-h3 netns $H3 type veth peer name $P-h3-p netns $S3
n $S3 ip link set $P-h3-p master br1
n $H3 ip addr add 198.19.0.13/24 dev $P-h3
n $H3 ip link set $P-h3 address 02:00:00:00:00:03
for d in br1 vxlan1 $P-h3-p; do n $S3 ip link set $d up; done
n $H3 ip link set $P-h3 up

# The MACs a kernel VXLAN device lists behind VTEPs (zebra wrote them from BGP).
remote_macs() { n "$1" bridge fdb show dev "$2" | grep ' dst ' | grep -v '^00:00:00:00:00:00' ; }
has_remote() { remote_macs "$1" "$2" | grep -q "^$3 dst $4 "; }  # has_remote NS DEV MAC VTEP
ctl1() { "$BIN_DIR/vswitchctl" --control "$WORK/s1.sock" "$@"; }
server() { evpn_server "$@" --port-max-macs 8192 --fdb-max 65536 --flood-limit 0; }
client() { evpn_client "$@"; }

for ns in $S1 $S2 $S3; do start_frr "$ns" "198.18.0.${ns##*-s}"; done
server $S1 198.18.0.1 "$WORK/s1.sock"
S1_PID=$LAST_SERVER
server $S2 198.18.0.2 "$WORK/s2.sock"
S2_PID=$LAST_SERVER

# Test that BGP comes up everywhere and every server made its shadow objects for network 1.
for ns in $S1 $S2 $S3; do check "BGP EVPN established on $ns with both peers" wait_for 30 established "$ns"; done
check "s1 and s2 made their shadow objects (vsbr1, vsvx1, vstp1)" bash -c \
  "for ns in $S1 $S2; do ip netns exec \$ns ip link show vstp1 >/dev/null 2>&1 && ip netns exec \$ns ip -d link show vsvx1 | grep -q 'vxlan id 1' || exit 1; done"
check "s3 learned s1 and s2 as flood destinations for VNI 1 (type-3 routes)" wait_for 15 bash -c \
  "ip netns exec $S3 bridge fdb show dev vxlan1 | grep -q '00:00:00:00:00:00 dst 198.18.0.1' &&
   ip netns exec $S3 bridge fdb show dev vxlan1 | grep -q '00:00:00:00:00:00 dst 198.18.0.2'"
check "s1 knows s2 and s3 as VTEPs of network 1" wait_for 15 bash -c \
  "[[ \$('$BIN_DIR/vswitchctl' --control '$WORK/s1.sock' show --json | jq '[.networks[] | select(.network == 1) | .vteps[] | select(.flood)] | length') == 2 ]]"

# Test that c1's MAC reaches s2 and s3 within a second of s1 learning it.
client 1 198.18.0.1
client 2 198.18.0.2
s1_has_c1() { ctl1 fdb --json | jq -e --arg m $C1_MAC '.fdb[] | select(.mac == $m and (has("vtep") | not))' >/dev/null; }
check "c1 joins s1 and s1 learns its MAC" wait_for 10 s1_has_c1
t0=$(date +%s%N)
wait_for 5 bash -c "ip netns exec $S2 bridge fdb show dev vsvx1 | grep -q '^$C1_MAC dst 198.18.0.1 ' &&
  ip netns exec $S3 bridge fdb show dev vxlan1 | grep -q '^$C1_MAC dst 198.18.0.1 '"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "c1's MAC is behind 198.18.0.1 on s2 and s3 within 1 s ($ms ms)" test "$ms" -lt 1000
check "s2's switch has c1's MAC as a remote entry with its VTEP" wait_for 5 bash -c \
  "'$BIN_DIR/vswitchctl' --control '$WORK/s2.sock' fdb --json | jq -e '.fdb[] | select(.mac == \"$C1_MAC\" and .vtep == \"198.18.0.1:4789\")' >/dev/null"
check "vswitchctl fdb shows remote entries with their VTEP" bash -c "'$BIN_DIR/vswitchctl' --control '$WORK/s2.sock' fdb | grep -qE '^1 +$C1_MAC .*198.18.0.1:4789'"

# Test that members on different servers and the plain VTEP's host reach each other.
check "c1 pings c2 (vswitch to vswitch)" wait_for 10 pings 1 198.19.0.12
check "c1 pings h3 (vswitch to a kernel VTEP)" wait_for 10 pings 1 198.19.0.13
check "h3 pings c2" wait_for 10 bash -c "ip netns exec $H3 ping -c 1 -W 1 -q 198.19.0.12 >/dev/null"
ll_ready() {  # ll_ready NS DEV: a link-local address past DAD
  ip netns exec "$1" ip -6 addr show dev "$2" scope link | grep -q fe80 && ! ip netns exec "$1" ip -6 addr show dev "$2" | grep -q tentative
}
wait_for 10 ll_ready $P-c1 "${CLIENT_TAP[1]}"
wait_for 10 ll_ready $P-c2 "${CLIENT_TAP[2]}"
wait_for 10 ll_ready $H3 $P-h3
c2_ll=$(n $P-c2 ip -6 addr show dev "${CLIENT_TAP[2]}" scope link | awk '/inet6/ {print $2}' | cut -d/ -f1)
h3_ll=$(n $H3 ip -6 addr show dev $P-h3 scope link | awk '/inet6/ {print $2}' | cut -d/ -f1)
check "c1 pings c2 over IPv6 ($c2_ll)" wait_for 10 bash -c "ip netns exec $P-c1 ping -6 -c 1 -W 1 -q '$c2_ll%${CLIENT_TAP[1]}' >/dev/null"
check "c1 pings h3 over IPv6 ($h3_ll)" wait_for 10 bash -c "ip netns exec $P-c1 ping -6 -c 1 -W 1 -q '$h3_ll%${CLIENT_TAP[1]}' >/dev/null"
check "the servers counted VXLAN both ways" bash -c "[[ \$('$BIN_DIR/vswitchctl' --control '$WORK/s1.sock' stats --json | jq '.counters.vxlan_rx > 0 and .counters.vxlan_tx > 0') == true ]]"
if [[ $DATAPATH == afxdp-* ]]; then
  check "the XDP program steers VXLAN to the AF_XDP workers too (most of it bypasses the kernel socket)" bash -c \
    "[[ \$('$BIN_DIR/vswitchctl' --control '$WORK/s1.sock' stats --json | jq '.counters.vxlan_rx > 2 * .datapath[\"slow_path.vxlan_rx\"]') == true ]]"
fi

# Test that one broadcast from c1 reaches c2 and h3 exactly once (split horizon: s2 floods
# what came over VXLAN to its own ports only, never back to s3).
capture $P-c2 "${CLIENT_TAP[2]}" "$WORK/c2.pcap" ether proto 0x88b5
c2_cap=$CAPTURE_PID
capture $H3 $P-h3 "$WORK/h3.pcap" ether proto 0x88b5
h3_cap=$CAPTURE_PID
n $P-c1 python3 "$here/send_frame.py" "${CLIENT_TAP[1]}" "ffffffffffff${C1_MAC//:/}88b5$(printf 'ab%.0s' $(seq 46))"
stop_capture "$h3_cap" "$WORK/h3.pcap" 1
stop_capture "$c2_cap" "$WORK/c2.pcap" 1
frames() { tcpdump -r "$1" -n 2>/dev/null | grep -c '^[0-9]'; }  # (tcpdump adds hex lines for this EtherType)
check "the broadcast reached h3 exactly once ($(frames "$WORK/h3.pcap"))" test "$(frames "$WORK/h3.pcap")" == 1
check "the broadcast reached c2 exactly once ($(frames "$WORK/c2.pcap"))" test "$(frames "$WORK/c2.pcap")" == 1

# Test that 5,000 MACs learned on s1 converge on s2 in under 2 s: sent at 10,000 a second (twice:
# the tunnel is UDP, and a frame lost on the way would be a MAC never learned), the clock
# running from the first frame until s2's kernel (zebra's FDB) lists every one of them.
c1_macs() { ctl1 ports --json | jq '[.ports[] | select(.member == "c1")][0].macs'; }
s2_behind_s1() { ip netns exec $S2 bridge fdb show dev vsvx1 | grep -c ' dst 198.18.0.1 '; }
macs_before=$(c1_macs) remote_before=$(s2_behind_s1)
t0=$(date +%s%N)
for pass in 1 2; do n $P-c1 python3 "$here/mac_flood.py" "${CLIENT_TAP[1]}" 5000 10000 1000 >/dev/null; done
wait_for 5 bash -c "(( \$('$BIN_DIR/vswitchctl' --control '$WORK/s1.sock' ports --json | jq '[.ports[] | select(.member == \"c1\")][0].macs') >= $macs_before + 5000 ))"
learned=$(( $(c1_macs) - macs_before ))
wait_for 10 bash -c "(( \$(ip netns exec $S2 bridge fdb show dev vsvx1 | grep -c ' dst 198.18.0.1 ') >= $remote_before + $learned ))"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "s1 learned the 5,000 MACs ($learned)" test "$learned" -ge 5000
check "all of them are behind s1 on s2 within 2 s of the first frame ($ms ms, 1 s of it sending)" test "$ms" -lt 2000
check "... and in s2's switch" wait_for 5 bash -c "(( \$('$BIN_DIR/vswitchctl' --control '$WORK/s2.sock' fdb --json | jq '[.fdb[] | select(.vtep == \"198.18.0.1:4789\")] | length') >= 5000 ))"

# Test MAC mobility: c1 vanishes from s1 (its port and MAC are still there) and turns up on s2
# with the same MAC: s2 advertises it with a higher sequence, and traffic resumes within 2 s.
kill -9 "${CLIENT_PID[1]}"; wait "${CLIENT_PID[1]}" 2>/dev/null
t0=$(date +%s%N)
client 1 198.18.0.2
wait_for 10 bash -c "ip netns exec $H3 ping -c 1 -W 1 -q 198.19.0.11 >/dev/null"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "after c1 moves to s2, h3 reaches it again within 2 s ($ms ms)" test "$ms" -lt 2000
check "s1 now has c1's MAC behind s2" wait_for 5 bash -c \
  "'$BIN_DIR/vswitchctl' --control '$WORK/s1.sock' fdb --json | jq -e '.fdb[] | select(.mac == \"$C1_MAC\" and .vtep == \"198.18.0.2:4789\")' >/dev/null"
check "s3's kernel has c1's MAC behind s2" wait_for 5 has_remote $S3 vxlan1 $C1_MAC 198.18.0.2
check "FRR counted the move (MAC mobility sequence 1 on s1)" wait_for 5 bash -c "
  [[ \$(ip netns exec $S1 vtysh --vty_socket '$WORK/frr-$S1' -c 'show evpn mac vni 1 mac $C1_MAC json' |
    jq -r '.. | .remoteSequence? // empty' | head -n1) -ge 1 ]]"
check "c1 (now on s2) pings c2" wait_for 5 pings 1 198.19.0.12

# Test that kill -9 of s2's vswitch withdraws its MACs from s1 once its shadow port is gone.
kill -9 "$S2_PID"
wait "$S2_PID" 2>/dev/null
check "s2's shadow port went with its process" wait_for 5 bash -c "! ip netns exec $S2 ip link show vstp1 >/dev/null 2>&1"
t0=$(date +%s%N)
wait_for 10 bash -c "! '$BIN_DIR/vswitchctl' --control '$WORK/s1.sock' fdb --json | jq -e '.fdb[] | select(.mac == \"$C2_MAC\")' >/dev/null"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "c2's MAC left s1 within 2 s of the shadow port's removal ($ms ms)" test "$ms" -lt 2000
server $S2 198.18.0.2 "$WORK/s2b.sock"
check "a restarted s2 removes the stale bridge and VXLAN device first" wait_for 5 grep -q "removed a stale shadow link" "$WORK/vswitch-$S2.log"
check "... and makes them anew" wait_for 10 bash -c "ip netns exec $S2 ip link show vstp1 >/dev/null 2>&1"

# Test that a clean exit removes every shadow object (the routes go with them).
kill "$S1_PID"; wait "$S1_PID" 2>/dev/null
check "s1's exit removed vsbr1, vsvx1 and vstp1" bash -c "! ip netns exec $S1 ip -o link show | grep -qE 'vsbr|vsvx|vstp'"
check "s3 no longer floods to s1" wait_for 10 bash -c "! ip netns exec $S3 bridge fdb show dev vxlan1 | grep -q '00:00:00:00:00:00 dst 198.18.0.1'"

finish
