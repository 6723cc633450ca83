#!/usr/bin/env bash
# Protocol v2's promises, end to end: members only, nothing in clear, nothing replayed, endpoints
# that follow authenticated packets (NAT), live membership, and clear words on a version mismatch.
#
#   vst-c1 198.18.0.11 --+
#   vst-c2 198.18.0.12 --+                                        vswitch in vst-srv
#   vst-c3 198.18.0.13 --+-- br0 in vst-net --- vst-srv 198.18.0.1 (198.18.0.1:9797)
#   vst-nat 198.18.0.21 -+   masquerade for 198.18.100.0/24:
#      +-- lan --+-- vst-c4 198.18.100.14
#                +-- vst-c5 198.18.100.15
# Background daemons start with `ip netns exec` itself (it execs, so $! is the daemon and cleanup
# can kill it by PID; the `n` helper would give a subshell's PID).
# c1, c2, c4, c5 are members (overlay 198.19.0.1N); c3 plays the stranger and the attacker
# (each of its clients with a TAP name of its own: the kernel removes a TAP only after its
# owner has exited, so a name reused at once may still be taken).
set -u
. "$(dirname "$0")/lib.sh"
require_root
[[ $MODE == secure ]] || { echo "SKIP: $SCENARIO tests the secure protocol"; exit 77; }
here=$(dirname "$0")
topo_up 3

# The NAT router and the two members behind it.
add_host $P-nat 198.18.0.21
n $P-nat ip link add lan type bridge
n $P-nat ip addr add 198.18.100.1/24 dev lan
n $P-nat ip link set lan up
# promote_secondaries: when the NAT swaps addresses below, deleting the old (primary) one must
# not take the new one with it (probed: by default it does).
n $P-nat sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.promote_secondaries=1 \
  net.ipv4.conf.$P-nat-u.promote_secondaries=1
n $P-nat nft -f - <<NFT || { fail "the NAT rules did not load"; finish; }
table ip nat {
  chain post {
    type nat hook postrouting priority 100;
    oifname "$P-nat-u" masquerade
  }
}
NFT
for i in 4 5; do
  ip netns add $P-c$i
  n $P-c$i ip link set lo up
  ip link add $P-c$i-u netns $P-c$i type veth peer name $P-c$i-p netns $P-nat
  n $P-nat ip link set $P-c$i-p master lan up
  n $P-c$i ip addr add 198.18.100.1$i/24 dev $P-c$i-u
  n $P-c$i ip link set $P-c$i-u up
  n $P-c$i ip route add default via 198.18.100.1
done
make_keys 5
(umask 077 && "$BIN_DIR/vswitchctl" genkey >"$KEYS/stranger.key")

start_server
for i in 1 2 4 5; do start_client "$i"; done
check "four members join (two behind one NAT address)" wait_for 10 ports_are 4
for pair in "1 198.19.0.12" "1 198.19.0.14" "4 198.19.0.15" "5 198.19.0.11" "2 198.19.0.14"; do
  set -- $pair
  check "c$1 pings $2" pings "$1" "$2" 3
done
nat_ports=$(ctl ports --json | jq '[.ports[] | select(.endpoint | startswith("198.18.0.21:"))] | length')
check "the server tells the two NATed members apart by session, not address ($nat_ports at 198.18.0.21)" \
  test "$nat_ports" -eq 2
check "ports show member names and the cipher suite" bash -c \
  "$BIN_DIR/vswitchctl --control $CTL_SOCK ports --json | jq -e '[.ports[].member] | sort == [\"c1\",\"c2\",\"c4\",\"c5\"]' >/dev/null"

check "vswitchctl show names the server's key and the members online per network" bash -c \
  "$BIN_DIR/vswitchctl --control $CTL_SOCK show | grep -qF 'public key: $SRV_PUB' &&
   $BIN_DIR/vswitchctl --control $CTL_SOCK show | grep -q 'network 1: 4 member(s) online'"
check "vswitchctl show --json carries a format version and every member" bash -c \
  "$BIN_DIR/vswitchctl --control $CTL_SOCK show --json |
   jq -e '.format == 1 and ([.networks[].members[].member] | sort == [\"c1\",\"c2\",\"c4\",\"c5\"])' >/dev/null"

# Test that a ping's payload pattern crosses the underlay only encrypted (and that the capture
# would have seen it: the receiving TAP shows it in clear).
pattern=5eca1ab1edc0ffee5eca1ab1edc0ffee
# On the wire (the bridge port): XDP takes packets before a capture on the server itself.
capture $NS_NET $P-srv-p "$WORK/underlay.pcap" udp port $PORT
dump_u=$CAPTURE_PID
capture $P-c2 vs0 "$WORK/tap.pcap" icmp
dump_t=$CAPTURE_PID
n $P-c1 ping -c 5 -i 0.2 -q -p $pattern 198.19.0.12 >/dev/null 2>&1
stop_capture $dump_t "$WORK/tap.pcap" 10
stop_capture $dump_u "$WORK/underlay.pcap" 20
clear_on_wire=$(python3 "$here/pcap_tool.py" count "$WORK/underlay.pcap" $pattern)
on_tap=$(python3 "$here/pcap_tool.py" count "$WORK/tap.pcap" $pattern)
tunnel=$(tcpdump -r "$WORK/underlay.pcap" -n 2>/dev/null | wc -l)
check "the pattern is in the TAP capture ($on_tap packets)" test "$on_tap" -ge 5
check "... and nowhere in $tunnel tunnel packets on the underlay ($clear_on_wire)" test "$clear_on_wire" -eq 0 -a "$tunnel" -ge 10

# Test that a key that is not a member gets nothing through, and both sides say why.
ip netns exec $P-c3 "$BIN_DIR/vport" --server $SRV_IP:$PORT --server-key "$SRV_PUB" --key-file "$KEYS/stranger.key" \
  --tap vs3a --ip 198.19.0.13/24 --keepalive 1 >>"$WORK/vport-c3.log" 2>&1 &
stranger=$!
PIDS+=("$stranger")
check "the stranger's client says what to check" wait_for 8 grep -q "is in its members file" "$WORK/vport-c3.log"
check "the server refused it as no member" wait_for 3 bash -c \
  "$BIN_DIR/vswitchctl --control $CTL_SOCK stats --json | jq -e '.handshakes_refused.not_member >= 1' >/dev/null"
check "the server's log names the key" grep -q "is not a member of network 1" "$WORK/vswitch.log"
check "the stranger cannot ping a member" bash -c "! ip netns exec $P-c3 ping -c 2 -W 1 -q 198.19.0.11 >/dev/null 2>&1"
check "and has no port" ports_are 4
kill "$stranger"; wait "$stranger" 2>/dev/null

# Test that a client pinning the wrong server key gets nothing through.
wrong=$("$BIN_DIR/vswitchctl" pubkey <"$KEYS/stranger.key")
ip netns exec $P-c3 "$BIN_DIR/vport" --server $SRV_IP:$PORT --server-key "$wrong" --key-file "$KEYS/c3.key" \
  --tap vs3b >>"$WORK/vport-c3-wrong.log" 2>&1 &
wrong_pid=$!
PIDS+=("$wrong_pid")
check "a wrong server key: the server cannot even decrypt it" wait_for 8 bash -c \
  "$BIN_DIR/vswitchctl --control $CTL_SOCK stats --json | jq -e '.handshakes_refused.bad_mac1 + .handshakes_refused.bad_handshake >= 1' >/dev/null"
check "... and the client is told what to check" wait_for 8 grep -q "Check that its public key is $wrong" "$WORK/vport-c3-wrong.log"
check "... and no port" ports_are 4
kill "$wrong_pid"; wait "$wrong_pid" 2>/dev/null

# Test that datagrams captured on the underlay and replayed from another namespace deliver no
# frame twice: they authenticate (they are genuine) and die in the replay window.
capture $P-c1 $P-c1-u "$WORK/c1-out.pcap" udp dst port $PORT
dump=$CAPTURE_PID
n $P-c1 ping -c 5 -i 0.2 -q 198.19.0.12 >/dev/null 2>&1
stop_capture $dump "$WORK/c1-out.pcap" 5
replays_before=$(stat_value replays)
capture $P-c2 vs0 "$WORK/c2-replayed.pcap" 'icmp[icmptype] = icmp-echo'
dump=$CAPTURE_PID
replayed=$(n $P-c3 python3 "$here/pcap_tool.py" replay "$WORK/c1-out.pcap" $SRV_IP $PORT)
# The switch has judged every replayed datagram once its replay counter moved by as many: by
# then anything it would have delivered is at c2.
replays_counted() { (($(stat_value replays) >= replays_before + replayed)); }
wait_for 5 replays_counted
stop_capture $dump
seen=$(capture_count "$WORK/c2-replayed.pcap")
replays_after=$(stat_value replays)
check "c3 replayed $replayed captured datagrams; c2 received none of their pings again ($seen)" \
  test "$replayed" -ge 5 -a "$seen" -eq 0
check "the switch counted them as replays ($replays_before -> $replays_after)" \
  test "$replays_after" -ge $((replays_before + 5))
check "the replays moved nobody's endpoint" bash -c \
  "$BIN_DIR/vswitchctl --control $CTL_SOCK ports --json | jq -e '[.ports[].endpoint | select(startswith(\"198.18.0.13\"))] | length == 0' >/dev/null"

# Test that a member whose public address changes (the NAT takes a new address, so its mappings
# go) keeps working within 2 s: its next authenticated packet moves the endpoint.
roams_before=$(stat_value roams)
n $P-nat ip addr add 198.18.0.22/24 dev $P-nat-u
n $P-nat ip addr del 198.18.0.21/24 dev $P-nat-u
t0=$SECONDS
check "c4 pings c1 again within 2 s of the address change" wait_for 2 pings 4 198.19.0.11
log "c4 back after $((SECONDS - t0)) s"
check "the server follows c4 to 198.18.0.22" wait_for 2 bash -c \
  "$BIN_DIR/vswitchctl --control $CTL_SOCK ports --json | jq -e '[.ports[] | select(.member == \"c4\") | .endpoint | startswith(\"198.18.0.22:\")] == [true]' >/dev/null"
check "roams counted ($roams_before -> $(stat_value roams))" test "$(stat_value roams)" -gt "$roams_before"
check "c5, behind the same NAT, follows too" wait_for 3 pings 5 198.19.0.12

# Test that a member removed from the members file is cut off within 1 s (its sessions and MACs
# go) while it pings, that a bad file is refused with the old members kept, and that a member
# added back can join at once.
cp "$KEYS/members.conf" "$KEYS/members.full"
printf 'garbage line\n' >>"$KEYS/members.conf"
out=$(ctl reload 2>&1); rc=$?
check "reload of a bad file fails and names the line (exit $rc: $out)" bash -c "[[ $rc -ne 0 ]] && grep -q 'members.conf:' <<<'$out'"
check "... and keeps every member" ports_are 4
grep -v ' c2$' "$KEYS/members.full" >"$KEYS/members.conf"
ip netns exec $P-c2 timeout 10 ping -i 0.1 -c 60 -W 1 198.19.0.11 >"$WORK/c2-ping.log" 2>&1 &
pinger=$!
PIDS+=("$pinger")
pinging() { grep -q "bytes from" "$WORK/c2-ping.log"; }
wait_for 5 pinging
ctl reload >/dev/null
t0=$(date +%s.%N)
check "reload removes c2's port within 1 s" wait_for 1 ports_are 3
check "... and its MAC" bash -c "! $BIN_DIR/vswitchctl --control $CTL_SOCK fdb | grep -q 02:00:00:00:00:02"
check "c2 is told it was removed" wait_for 3 grep -q "removed this client's key" "$WORK/vport-c2.log"
check "c2 gets no answer any more" bash -c "! ip netns exec $P-c2 ping -c 2 -W 1 -q 198.19.0.11 >/dev/null 2>&1"
check "the others are untouched" pings 1 198.19.0.14 2
kill "$pinger" 2>/dev/null; wait "$pinger" 2>/dev/null
cp "$KEYS/members.full" "$KEYS/members.conf"
kill -HUP "$SERVER_PID"
check "after SIGHUP with c2 listed again, c2 joins by itself" wait_for 8 pings 2 198.19.0.11

# Test that a MAC pinned to a member in the members file cannot be taken by another member:
# c2 sends a frame with c1's MAC as its source; the switch drops it, counts it, and keeps
# sending c1's traffic to c1.
sed -i "s/\( 1 c1\)$/\1 mac=02:00:00:00:00:01/" "$KEYS/members.conf"
check "the pin is in the members file" grep -q "1 c1 mac=02:00:00:00:00:01" "$KEYS/members.conf"
ctl reload >/dev/null
pins_before=$(stat_value pinned_mac)
wait_for 5 pings 1 198.19.0.14
n $P-c2 python3 "$(dirname "$0")/send_frame.py" vs0 "ffffffffffff02000000000188b5$(printf '%092d' 0)" 3
check "c2's frames with c1's pinned MAC are dropped and counted" \
  wait_for 3 bash -c "(( \$($BIN_DIR/vswitchctl --control $CTL_SOCK stats --json | jq '.drops.pinned_mac') >= ${pins_before:-0} + 3 ))"
c1_port=$(ctl ports --json | jq -r '.ports[] | select(.member == "c1" and .network == 1) | .id')
check "c1's MAC stays on c1's port" \
  bash -c "$BIN_DIR/vswitchctl --control $CTL_SOCK fdb --json | jq -e '[.fdb[] | select(.mac == \"02:00:00:00:00:01\" and .network == 1) | .port] == [$c1_port]' >/dev/null"
check "c1 still gets its traffic" pings 4 198.19.0.11 2
cp "$KEYS/members.full" "$KEYS/members.conf"
ctl reload >/dev/null

# Test that a client asking for the insecure protocol is told, on both sides, within 5 s.
ip netns exec $P-c3 "$BIN_DIR/vport" --server $SRV_IP:$PORT --insecure --tap vs3c >>"$WORK/vport-c3-v1.log" 2>&1 &
v1=$!
PIDS+=("$v1")
check "an insecure client hears that the server requires keys" wait_for 5 grep -q "requires authentication" "$WORK/vport-c3-v1.log"
check "the server says which client speaks v1" wait_for 5 grep -q "198.18.0.13.* speaks the insecure protocol" "$WORK/vswitch.log"
kill "$v1"; wait "$v1" 2>/dev/null
# ... and a secure client against an insecure server.
ip netns exec $NS_SRV "$BIN_DIR/vswitch" --listen $SRV_IP:9798 --insecure --control "$WORK/v1.sock" --datapath socket \
  >>"$WORK/vswitch-v1.log" 2>&1 &
PIDS+=("$!")
wait_for 5 test -S "$WORK/v1.sock"
ip netns exec $P-c3 "$BIN_DIR/vport" --server $SRV_IP:9798 --server-key "$SRV_PUB" --key-file "$KEYS/c3.key" --tap vs3d \
  >>"$WORK/vport-c3-v2.log" 2>&1 &
PIDS+=("$!")
check "a secure client hears that the server runs --insecure" wait_for 5 grep -q "runs the insecure protocol" "$WORK/vport-c3-v2.log"
check "the insecure server says a client tries to authenticate" wait_for 5 grep -q "tries to authenticate" "$WORK/vswitch-v1.log"

finish
