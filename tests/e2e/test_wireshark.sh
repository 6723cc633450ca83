#!/usr/bin/env bash
# The Wireshark dissector (contrib/wireshark/vswitch.lua) on real traffic: tcpdump records the
# server's underlay while two members join, ping and leave; tshark with the dissector must
# decode each message's fields as the protocol document has them, and agree with what the
# programs did (indices echoed, counters from 0, lengths, the frames inside v1 DATA).
#
#   vst-c1 198.18.0.11 --+
#   vst-c2 198.18.0.12 --+-- br0 in vst-net --- vst-srv 198.18.0.1 (vswitch, tcpdump)
#   vst-c3 198.18.0.13 --+   (c3 sends one crafted COOKIE REPLY-shaped datagram in v2)
#
# MODE=secure: protocol v2 (INITIATION, RESPONSE, DATA, CONTROL, a keepalive); MODE=insecure: v1
# (HELLO, CHALLENGE, WELCOME, DATA carrying Ethernet, KEEPALIVE, BYE).
set -u
. "$(dirname "$0")/lib.sh"
require_root
command -v tshark >/dev/null || { echo "SKIP: $SCENARIO needs tshark"; exit 77; }
LUA=$(readlink -f "$(dirname "$0")/../../contrib/wireshark/vswitch.lua")
topo_up 3
pcap=$WORK/underlay.pcap

# The programs send UDP GSO trains; a capture would see a train as one packet (one UDP header,
# several messages). With USO off the kernel cuts trains before tcpdump's tap, as a NIC would.
for h in srv c1 c2 c3; do n $P-$h ethtool -K $P-$h-u tx-udp-segmentation off >/dev/null; done
capture $NS_SRV $P-srv-u "$pcap" udp port $PORT
start_server
start_client 1
start_client 2
check "two members join" wait_for 10 ports_are 2
check "c1 pings c2" pings 1 198.19.0.12 3
if [[ $MODE == secure ]]; then
  # A datagram of the COOKIE REPLY's shape (the server sends one only under load): the server
  # drops it, the capture keeps it.
  n $P-c3 python3 -c "
import os, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(struct.pack('!BBHI', 2, 3, 0, 0x11223344) + os.urandom(56), ('$SRV_IP', $PORT))"
fi
# Idle clients ping once a keepalive interval (1 s): wait for c1's (v1 KEEPALIVE, v2 CONTROL).
keepalive_type=$([[ $MODE == secure ]] && echo 5 || echo 3)
c1_keepalive_seen() { (($(tcpdump -r "$pcap" -n "src host 198.18.0.11 and udp[9] == $keepalive_type" 2>/dev/null | wc -l) > 0)); }
check "c1 sends a keepalive" wait_for 5 c1_keepalive_seen
kill "${CLIENT_PID[1]}"
check "c1 leaves" wait_for 10 ports_are 1
stop_capture "$CAPTURE_PID" "$pcap" 12

# fields FILTER FIELD...: one line per matching message, fields separated by spaces.
fields() {
  local filter=$1 args=() f; shift
  for f in "$@"; do args+=(-e "$f"); done
  tshark -n -X lua_script:"$LUA" -r "$pcap" -Y "$filter" -T fields -E separator=' ' -E occurrence=f "${args[@]}" \
    2>>"$WORK/tshark.log"
}
count() { fields "$1" frame.number | grep -c .; }

check "tshark loads the dissector and reads the capture" bash -c "tshark -n -X lua_script:'$LUA' -r '$pcap' \
  -Y vswitch 2>'$WORK/tshark-load.log' | grep -q VSWITCH && ! grep -qi error '$WORK/tshark-load.log'"
check "no message is flagged malformed" test "$(count '_ws.expert.group == 0x07000000 && vswitch')" == 0
check "every message has a version and a type" \
  test "$(count 'vswitch')" == "$(count 'vswitch.version && vswitch.type_name')"

if [[ $MODE == secure ]]; then
  read -r init_sender init_len < <(fields 'vswitch.type_name == "INITIATION" && ip.src == 198.18.0.11' vswitch.sender_index udp.length | head -n1)
  check "c1's INITIATION: 160 bytes with a sender index ($init_sender)" \
    test "${init_len:-0}" == $((160 + 8))
  check "its ephemeral key, encrypted static key and MACs are where the protocol puts them" \
    test "$(fields 'vswitch.type_name == "INITIATION"' vswitch.ephemeral vswitch.encrypted_static vswitch.mac1 |
      head -n1 | awk '{print length($1) "/" length($2) "/" length($3)}')" == "64/96/32"
  read -r resp_sender resp_receiver resp_len < <(fields "vswitch.type_name == \"RESPONSE\" && \
    vswitch.receiver_index == $init_sender" vswitch.sender_index vswitch.receiver_index udp.length | head -n1)
  check "the RESPONSE (96 bytes) names that initiation's sender index" test "${resp_len:-0}" == $((96 + 8))
  read -r ka_counter ka_len < <(fields "vswitch.type_name == \"DATA\" && vswitch.receiver_index == ${resp_sender:-0}" \
    vswitch.counter vswitch.ciphertext_length | head -n1)
  check "the client's first DATA uses the server's index, counter 0, and is a keepalive (empty)" \
    test "${ka_counter:-x}/${ka_len:-x}" == 0/0
  sized=$(count 'vswitch.type == 4 || vswitch.type == 5')
  mismatched=$(fields 'vswitch.type == 4 || vswitch.type == 5' vswitch.length udp.length | awk '$1 + 8 != $2' | wc -l)
  check "DATA and CONTROL carry their own length, equal to the UDP payload ($sized, $mismatched mismatched)" \
    test "$sized" -gt 0 -a "$mismatched" == 0
  # An echo request is 98 bytes of Ethernet (14 + 20 + 8 + 56): its ciphertext is as long.
  check "pings travel as DATA with 98 bytes of ciphertext and a 16-byte tag" \
    test "$(fields 'vswitch.type_name == "DATA" && vswitch.ciphertext_length == 98' vswitch.tag |
      awk '{print length($1)}' | sort -u)" == 32
  check "the client's counters on one session count up from 0 without gaps" bash -c "
    tshark -n -X lua_script:'$LUA' -r '$pcap' -Y 'vswitch.receiver_index == ${resp_sender:-0}' -T fields \
      -e vswitch.counter 2>/dev/null | awk 'NR - 1 != \$1 {bad = 1} END {exit bad || NR < 3}'"
  check "CONTROL messages (pings, the BYE) are decoded with ciphertext and tag" \
    test "$(count 'vswitch.type_name == "CONTROL" && vswitch.ciphertext_length == 12 && vswitch.tag')" -ge 1
  check "the COOKIE REPLY's receiver index, nonce and encrypted cookie" \
    test "$(fields 'vswitch.type_name == "COOKIE REPLY"' vswitch.receiver_index vswitch.nonce vswitch.encrypted_cookie |
      awk '{print $1 "/" length($2) "/" length($3)}')" == "0x11223344/48/64"
  check "no inner frame is visible: nothing decodes as ICMP" test "$(count icmp)" == 0
else
  read -r hello_sender hello_net hello_mtu < <(fields 'vswitch.type_name == "HELLO" && ip.src == 198.18.0.11' vswitch.sender_index \
    vswitch.network vswitch.mtu | head -n1)
  check "c1's HELLO for network 1 with the TAP's MTU ($hello_sender, $hello_mtu)" \
    test "${hello_net:-x}/${hello_mtu:-x}" == 1/1422
  token=$(fields "vswitch.type_name == \"CHALLENGE\" && vswitch.receiver_index == ${hello_sender:-0}" vswitch.token | head -n1)
  check "the CHALLENGE echoes the sender index with a token" test -n "$token"
  check "the second HELLO carries that token" \
    test "$(count "vswitch.type_name == \"HELLO\" && vswitch.token == ${token:-00}")" -ge 1
  read -r w_sender w_net < <(fields "vswitch.type_name == \"WELCOME\" && vswitch.receiver_index == ${hello_sender:-0}" \
    vswitch.sender_index vswitch.network | head -n1)
  check "the WELCOME answers it with the server's index, network 1" test -n "${w_sender:-}" -a "${w_net:-x}" == 1
  check "DATA hands the frame to Wireshark's Ethernet dissector: the pings inside, c1 -> c2" \
    test "$(count 'vswitch.type_name == "DATA" && icmp.type == 8 && ip.src == 198.19.0.11 && ip.dst == 198.19.0.12')" -ge 3
  check "... with the frame's length beside it (98 for an echo request)" \
    test "$(fields 'vswitch.type_name == "DATA" && icmp.type == 8' vswitch.frame_length | sort -u)" == 98
  check "KEEPALIVEs with index and counter" test "$(count 'vswitch.type_name == "KEEPALIVE" && vswitch.counter')" -ge 1
  check "c1's BYE on leaving (reason leaving)" \
    test "$(count "vswitch.type_name == \"BYE\" && vswitch.receiver_index == ${w_sender:-0} && vswitch.bye_reason == 0")" == 1
fi

finish
