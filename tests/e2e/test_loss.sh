#!/usr/bin/env bash
# A lossy underlay: the bridge drops tunnel datagrams on their way to the server at random
# (nftables `numgen random`), 5 % and then 20 % of them, handshakes and keepalives included.
# A 64 MiB TCP transfer across the switch still arrives with the same sha256.
#
#   vst-c1 --+
#            +-- br0 in vst-net --[drop p% of UDP toward the server]--> vst-srv (vswitch)
#   vst-c2 --+
set -u
. "$(dirname "$0")/lib.sh"
require_root
topo_up 2
start_server
start_client 1
start_client 2
check "two ports join" wait_for 10 ports_are 2
check "c1 pings c2" wait_for 10 pings 1 198.19.0.12

# Loss per datagram, as on a wire: each host's veth cuts UDP GSO trains into datagrams before
# the bridge (else nftables would see, and drop, whole trains).
for host in srv c1 c2; do n "$P-$host" ethtool -K "$P-$host-u" tx-udp-segmentation off >/dev/null; done
head -c 64M /dev/urandom >"$WORK/blob"
want=$(sha256sum "$WORK/blob" | cut -d' ' -f1)
# TCP's minimum retransmission timeout is 200 ms: at 20 % loss a transfer would spend most of
# its time waiting for timers. The overlay route's rto_min makes recovery as quick as the
# path's real round trip (a fraction of a millisecond here) would allow; the loss stays.
for i in 1 2; do n "$P-c$i" ip route change 198.19.0.0/24 dev vs0 rto_min 10ms; done

n $NS_NET nft add table bridge lossy
n $NS_NET nft add chain bridge lossy toward_server '{ type filter hook forward priority 0; }'

# transfer PERCENT: the blob from c1 to c2 with PERCENT % of tunnel datagrams to the server lost.
transfer() {
  local pct=$1 t0 got dropped
  n $NS_NET nft flush chain bridge lossy toward_server
  n $NS_NET nft add rule bridge lossy toward_server oifname "$P-srv-p" meta l4proto udp \
    numgen random mod 100 "<" "$pct" counter drop
  n "$P-c2" timeout 200 python3 "$(dirname "$0")/blob.py" serve 198.19.0.12 5001 >"$WORK/recv-$pct.txt" 2>&1 &
  local server=$!
  PIDS+=("$server")
  wait_for 5 grep -q listening "$WORK/recv-$pct.txt" || fail "$pct %: the receiver did not listen"
  t0=$SECONDS
  n "$P-c1" timeout 180 python3 "$(dirname "$0")/blob.py" send 198.19.0.12 5001 "$WORK/blob" \
    >"$WORK/send-$pct.txt" 2>&1
  wait "$server"
  got=$(tail -n1 "$WORK/recv-$pct.txt")
  dropped=$(n $NS_NET nft list chain bridge lossy toward_server | grep -o 'packets [0-9]*' | cut -d' ' -f2)
  log "$pct % loss: $got in $((SECONDS - t0)) s, $dropped datagrams dropped"
  check "$pct % loss: 64 MiB arrive with the same sha256" test "$got" == "$want 67108864"
  check "$pct % loss: the underlay really lost datagrams" test "${dropped:-0}" -gt 1000
}
transfer 5
transfer 20
n $NS_NET nft delete table bridge lossy
check "both ports are still joined after the lossy transfers" ports_are 2
finish
