#!/usr/bin/env bash
# The AF_XDP datapath on a two-queue veth: one worker per queue, the host's own traffic
# untouched while the program is attached, and no program left behind on any exit.
#
#   vst-c1..c4 --+-- br0 --+-- vst-srv-u (veth, 2 RX queues, XDP + 2 AF_XDP sockets)
set -u
DATAPATH=afxdp-native  # this scenario is about the XDP attachment itself
. "$(dirname "$0")/lib.sh"
require_root
topo_up 4 2
xdp_attached() { ip -n $NS_SRV -d link show $P-srv-u | grep -q 'prog/xdp'; }
xdp_detached() { ! xdp_attached; }

# The peer picks a TX queue (= our RX queue) by flow hash; make it deterministic with XPS:
# frames forwarded on CPU 0 leave by queue 0, on CPU 1 by queue 1. A client's frames are
# forwarded on the CPU its vport sends from, so c1/c2 are pinned to CPU 1, c3/c4 to CPU 0.
n $NS_NET sh -c "echo 1 > /sys/class/net/$P-srv-p/queues/tx-0/xps_cpus; echo 2 > /sys/class/net/$P-srv-p/queues/tx-1/xps_cpus"

# Test that --queues all gives one worker per receive queue.
start_server
for i in 1 2 3 4; do start_client "$i"; taskset -pc $((i <= 2 ? 1 : 0)) "${CLIENT_PID[$i]}" >/dev/null; done
check "four ports join" wait_for 10 ports_are 4
check "two queues served" test "$(fact queues)" == 2
check "native XDP is attached" xdp_attached

# Test that every pair of clients still talks, and that both queues carry tunnel traffic.
for a in 1 2 3 4; do
  for b in 1 2 3 4; do
    ((a == b)) && continue
    pings "$a" "198.19.0.1$b" 2 || fail "c$a -> c$b"
  done
done
pass "all twelve client pairs ping"
q0=$(fact queue0.rx) q1=$(fact queue1.rx)
log "per-queue rx: queue0 $q0, queue1 $q1, redirected $(fact bpf.redirected)"
check "both queues received tunnel packets ($q0 / $q1)" test "$q0" -gt 10 -a "$q1" -gt 10
# One snapshot, and polled: a packet the program has counted may still sit in an RX ring, and
# keepalives keep arriving, so separate reads could disagree by one.
redirected_equals_rx() {
  ctl stats --json | stdin_json_ok '.datapath | (.["bpf.redirected"] | tonumber) ==
    (.["queue0.rx"] | tonumber) + (.["queue1.rx"] | tonumber)'
}
check "the XDP counters see every steered packet" wait_for 3 redirected_equals_rx

# Test that the host's other traffic passes: ICMP and TCP to the server's own address.
check "c1 pings the server host" pings 1 $SRV_IP 3
ip netns exec $NS_SRV timeout 30 iperf3 -s -1 -B $SRV_IP -p 5301 >/dev/null 2>&1 &
PIDS+=("$!")
wait_for 5 tcp_listening $NS_SRV 5301
check "TCP to the server host works (iperf3 1 s)" n $P-c1 timeout 20 iperf3 -c $SRV_IP -p 5301 -t 1
check "the XDP program counted passed packets" test "$(fact bpf.passed)" -gt 0

# Test that SIGTERM is a clean exit (status 0, BYE sent) and detaches the program.
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"; rc=$?
check "vswitch exits 0 on SIGTERM" test "$rc" -eq 0
check "no XDP program after SIGTERM" xdp_detached

# Test that kill -9 leaves nothing either (the BPF link dies with the process), and that a
# restart attaches again and serves the clients.
start_server
check "attached again" wait_for 5 xdp_attached
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
check "no XDP program after kill -9" wait_for 3 xdp_detached
start_server
check "clients rejoin after the restart" wait_for 10 ports_are 4
check "traffic flows after the restart" wait_for 10 pings 1 198.19.0.12
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"

# Test that a program left attached the legacy way (as by an older crashed run) is replaced.
n $NS_SRV ip link set dev $P-srv-u xdpdrv obj "$BIN_DIR/bpf/vswitch_xdp.bpf.o" sec xdp
check "a stale program is attached" xdp_attached
start_server
check "vswitch replaced it" wait_for 5 grep -q "replaced a vswitch XDP program" "$WORK/vswitch.log"
check "traffic flows through the new program" wait_for 10 pings 1 198.19.0.12
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"
check "nothing attached at the end" xdp_detached

# Test the fallbacks and errors of datapath selection.
n $NS_SRV ip link add $P-br type bridge
DATAPATH_ARGS=(--datapath afxdp --iface $P-br --xdp-mode auto)
start_server
check "a driver without native XDP falls back to generic" \
  wait_for 5 grep -q "native XDP unavailable on $P-br" "$WORK/vswitch.log"
check "and reports generic mode" test "$(fact xdp_mode)" == generic
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"
out=$(n $NS_SRV "$BIN_DIR/vswitch" --insecure --listen $SRV_IP --control "$WORK/x.sock" --datapath afxdp --iface nope0 2>&1)
check "a missing interface is a clear error" grep -q "interface 'nope0' not found" <<<"$out"
out=$(n $NS_SRV "$BIN_DIR/vswitch" --insecure --listen $SRV_IP --control "$WORK/x.sock" --datapath afxdp \
  --iface $P-br --xdp-mode native 2>&1)
check "native mode on a driver without it is a clear error" grep -q "cannot attach native XDP" <<<"$out"
DATAPATH_ARGS=(--datapath auto)
start_server
datapath_is_afxdp() { ctl stats --json | stdin_json_ok '.datapath.datapath == "afxdp"'; }
check "datapath auto picks AF_XDP for an address on an interface" wait_for 3 datapath_is_afxdp
check "on a veth, whose driver has native XDP, it attaches native" test "$(fact xdp_mode)" == native
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"
out=$(timeout 3 ip netns exec $NS_SRV "$BIN_DIR/vswitch" --insecure --listen 0.0.0.0 --control "$WORK/y.sock" 2>&1)
check "datapath auto on the any-address uses sockets and says why" grep -q "using the socket datapath" <<<"$out"

finish
