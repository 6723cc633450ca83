#!/usr/bin/env bash
# Join attempts flood in from spoofed underlay addresses (198.18.128.0/17, where no host lives)
# while members send: the members' loss stays under 1 %, and a member that restarts in the
# middle of the flood still gets its session.
#
#   vst-c1 -- iperf3 UDP 20 Mbit/s --+
#   vst-c2 <-------------------------+-- br0 -- vswitch in vst-srv
#   vst-c3 -- join_flood.py (raw) ---+
set -u
. "$(dirname "$0")/lib.sh"
require_root
topo_up 3
# The flood must reach the switch: no reverse-path filter may drop it first. (The AF_XDP
# datapath never asks the kernel anyway.)
n $NS_SRV sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 "net.ipv4.conf.$P-srv-u.rp_filter=0"
start_server
for i in 1 2 3; do start_client "$i"; done
check "three ports join" wait_for 10 ports_are 3
check "c1 reaches c2" wait_for 10 pings 1 198.19.0.12

key=v1
[[ $MODE == secure ]] && key=$SRV_PUB
n $P-c3 timeout 70 python3 "$(dirname "$0")/join_flood.py" $SRV_IP $PORT 400000 20000 198.18.128.0/17 "$key" \
  >"$WORK/flood.txt" 2>&1 &
flooder=$!
PIDS+=("$flooder")
n $P-c2 timeout 40 iperf3 -s -1 -B 198.19.0.12 >/dev/null 2>&1 &
PIDS+=("$!")
wait_for 5 tcp_listening $P-c2 5201
n $P-c1 timeout 40 iperf3 -c 198.19.0.12 -u -b 20M -l 1200 -t 10 -J >"$WORK/iperf.json" 2>"$WORK/iperf.err" &
sender=$!
PIDS+=("$sender")

# Meanwhile a member restarts: its new handshake must get through the flood.
kill "${CLIENT_PID[3]}"
wait "${CLIENT_PID[3]}" 2>/dev/null
check "c3 leaves" wait_for 5 ports_are 2
start_client 3
t0=$SECONDS
check "c3, restarted during the flood, joins again within 10 s" wait_for 10 ports_are 3
log "c3 re-joined after $((SECONDS - t0)) s"

wait "$sender"
loss=$(jq -r '.end.sum.lost_percent' "$WORK/iperf.json" 2>/dev/null)
log "members' UDP loss during the flood: ${loss:-?} %; $(jq -c '.end.sum | {packets, lost_packets}' "$WORK/iperf.json" 2>/dev/null)"
check "the members' loss during the flood stays under 1 %" \
  json_ok "$WORK/iperf.json" '.end.sum.packets > 10000 and .end.sum.lost_percent < 1'
kill "$flooder" 2>/dev/null
wait "$flooder" 2>/dev/null
sent_stats=$(ctl stats --json | jq -c '{handshakes_refused: .counters.handshakes_refused,
  cookies_sent: .counters.cookies_sent, challenges_sent: .counters.challenges_sent,
  replies_suppressed: .counters.replies_suppressed, queue_full: .counters.handshake_queue_full}')
log "flood sent $(cat "$WORK/flood.txt" 2>/dev/null || echo '?') attempts; server: $sent_stats"
if [[ $MODE == secure ]]; then
  check "the flood reached the switch (refused, or answered with cookies)" \
    stdin_json_ok '.handshakes_refused + .cookies_sent + .handshake_queue_full > 10000' <<<"$(ctl stats --json | jq .counters)"
else
  check "the flood reached the switch (answered with challenges, or suppressed)" \
    stdin_json_ok '.challenges_sent + .replies_suppressed > 10000' <<<"$(ctl stats --json | jq .counters)"
fi
check "no port was created for a spoofed address" ports_are 3
finish
