#!/usr/bin/env bash
# The vswitch demo: installs dependencies, builds, makes keys (in a temporary folder), then runs
# a server and three member clients in network namespaces, shows pings and an iperf3 run across
# the encrypted virtual LAN and the server's tables, and removes everything it made (also on
# Ctrl-C or failure).
#
#   demo-c1 (198.18.0.11) vport: vs0 198.19.0.11 --+
#   demo-c2 (198.18.0.12) vport: vs0 198.19.0.12 --+-- br0 in demo-net --- demo-srv (198.18.0.1) vswitch
#   demo-c3 (198.18.0.13) vport: vs0 198.19.0.13 --+
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 1; }

bash scripts/setup-deps.sh
bash scripts/build.sh
BIN=$PWD/build
WORK=$(mktemp -d /tmp/vswitch-demo.XXXXXX)
PIDS=()

cleanup() {
  trap - EXIT INT TERM
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for ns in demo-c1 demo-c2 demo-c3 demo-srv demo-net; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$WORK"
  echo "demo: cleaned up"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
in_ns() { local ns=$1; shift; echo "[$ns]\$ $*"; ip netns exec "$ns" "$@"; }

for ns in demo-net demo-srv demo-c1 demo-c2 demo-c3; do
  ip netns del "$ns" 2>/dev/null || true
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done
ip -n demo-net link add br0 type bridge && ip -n demo-net link set br0 up
for h in srv:198.18.0.1 c1:198.18.0.11 c2:198.18.0.12 c3:198.18.0.13; do
  name=${h%%:*} addr=${h#*:}
  ip link add "d-$name" netns "demo-$name" type veth peer name "d-$name-p" netns demo-net
  ip -n demo-net link set "d-$name-p" master br0 up
  ip -n "demo-$name" addr add "$addr/24" dev "d-$name"
  ip -n "demo-$name" link set "d-$name" up
done

say "keys: one for the server, one per client; the members file lists the clients' public keys"
KEYS=$WORK/keys
mkdir -m 700 "$KEYS"
(umask 077 && "$BIN/vswitchctl" genkey >"$KEYS/server.key")
SERVER_PUB=$("$BIN/vswitchctl" pubkey <"$KEYS/server.key")
for i in 1 2 3; do
  (umask 077 && "$BIN/vswitchctl" genkey >"$KEYS/c$i.key")
  echo "$("$BIN/vswitchctl" pubkey <"$KEYS/c$i.key") 1 client$i" >>"$KEYS/members.conf"
done
echo "server public key: $SERVER_PUB"
echo "\$ cat members.conf"; cat "$KEYS/members.conf"

say "starting vswitch in demo-srv and a vport in each client"
# The clients share this host and send UDP GSO trains over veth: generic XDP leaves those whole
# to the kernel and carries about twice the TCP that native does here (README, "Using it").
ip netns exec demo-srv "$BIN/vswitch" --listen 198.18.0.1:9797 --key-file "$KEYS/server.key" \
  --members "$KEYS/members.conf" --control "$WORK/ctl.sock" --xdp-mode generic >"$WORK/vswitch.log" 2>&1 &
PIDS+=($!)
sleep 0.5
for i in 1 2 3; do
  ip netns exec "demo-c$i" "$BIN/vport" --server 198.18.0.1:9797 --server-key "$SERVER_PUB" \
    --key-file "$KEYS/c$i.key" --tap vs0 --ip "198.19.0.1$i/24" >"$WORK/vport-c$i.log" 2>&1 &
  PIDS+=($!)
done
for _ in $(seq 50); do
  [[ $("$BIN/vswitchctl" --control "$WORK/ctl.sock" ports --json 2>/dev/null | jq '[.ports[] | select(.active)] | length') == 3 ]] && break
  sleep 0.2
done
cat "$WORK/vswitch.log" "$WORK"/vport-c1.log

say "every client pings the others across the virtual LAN"
in_ns demo-c1 ping -c 3 -i 0.2 198.19.0.12
in_ns demo-c2 ping -c 3 -i 0.2 198.19.0.13
in_ns demo-c3 ping -c 3 -i 0.2 198.19.0.11
say "ARP and IPv6 neighbour discovery work as on a real LAN"
in_ns demo-c1 ip neigh show dev vs0
in_ns demo-c1 ping -6 -c 2 -i 0.5 ff02::1%vs0

say "on the underlay the frames are ciphertext: a ping's payload pattern is not there"
ip netns exec demo-net timeout 4 tcpdump -i d-srv-p -n -p -c 4 -X udp port 9797 2>/dev/null &
PIDS+=($!)
sleep 0.5
in_ns demo-c1 ping -c 2 -i 0.2 -p c0ffeec0ffee 198.19.0.12
wait "${PIDS[-1]}" 2>/dev/null || true

say "iperf3 TCP from demo-c1 to demo-c2 through the switch (5 s)"
ip netns exec demo-c2 timeout 30 iperf3 -s -1 -B 198.19.0.12 >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.5
in_ns demo-c1 iperf3 -c 198.19.0.12 -t 5

say "the server's view (vswitchctl)"
echo "\$ vswitchctl ports"; "$BIN/vswitchctl" --control "$WORK/ctl.sock" ports
echo; echo "\$ vswitchctl fdb"; "$BIN/vswitchctl" --control "$WORK/ctl.sock" fdb
echo; echo "\$ vswitchctl stats"; "$BIN/vswitchctl" --control "$WORK/ctl.sock" stats
say "done"
