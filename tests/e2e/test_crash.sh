#!/usr/bin/env bash
# kill -9, again and again: a client twenty times, the server ten times. Nothing is left
# behind (TAP device, XDP program, stale port, file descriptors, memory) and traffic comes back
# every time.
#
#   vst-c1 / vst-c2 / vst-c3 (vport) --- br0 --- vswitch in vst-srv
set -u
. "$(dirname "$0")/lib.sh"
require_root
topo_up 3
start_server --port-timeout 5
for i in 1 2 3; do start_client "$i"; done
check "three ports join" wait_for 10 ports_are 3
check "c1 reaches c2" wait_for 10 pings 1 198.19.0.12

fds() { ls "/proc/$SERVER_PID/fd" | wc -l; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
no_tap() { ! n $P-c1 ip link show vs0 >/dev/null 2>&1; }
no_xdp() { ! n $NS_SRV ip link show $P-srv-u | grep -q xdp; }

# Test that a client killed with SIGKILL leaves no TAP, and a new one is back in traffic, twenty
# times over; the server's port count, descriptors and memory do not grow with the kills.
fds_before=$(fds)
rss_before=$(rss_kib)
client_ok=0
for round in $(seq 20); do
  kill -9 "${CLIENT_PID[1]}"
  wait "${CLIENT_PID[1]}" 2>/dev/null
  wait_for 5 no_tap || { fail "round $round: c1's TAP outlived its process"; break; }
  start_client 1
  wait_for 10 pings 1 198.19.0.12 || { fail "round $round: c1 did not come back"; break; }
  client_ok=$round
done
check "a client killed 20 times: no TAP left, traffic back each time ($client_ok rounds)" test "$client_ok" == 20
check "... and the switch is back to three ports (a stale one times out)" wait_for 10 ports_are 3
check "... holding no more descriptors than before ($fds_before -> $(fds))" test "$(fds)" -le "$fds_before"
rss_after=$(rss_kib)
log "server RSS $rss_before KiB before the client kills, $rss_after KiB after"
check "... and no more than 2 MiB more memory" test $((rss_after - rss_before)) -lt 2048

# Test that the server killed with SIGKILL leaves no XDP program (the BPF link dies with the
# process) and a stale control socket that the next server replaces; the clients find the new
# server each time.
server_ok=0
for round in $(seq 10); do
  kill -9 "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null
  wait_for 5 no_xdp || { fail "round $round: an XDP program outlived the server"; break; }
  start_server --port-timeout 5 || break
  wait_for 10 pings 1 198.19.0.12 || { fail "round $round: traffic did not come back"; break; }
  server_ok=$round
done
check "the server killed 10 times: no XDP program left, traffic back each time ($server_ok rounds)" \
  test "$server_ok" == 10
check "all three clients are back" wait_for 10 ports_are 3
finish
