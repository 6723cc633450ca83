#!/usr/bin/env bash
# A soak: traffic and churn for SOAK_SECONDS (60 in CI, 600 from scripts/bench.sh). c1 and c2
# exchange a steady UDP stream; c3 leaves and joins again every few seconds; c1 and c3 take
# turns with one MAC (moves, until the switch freezes it as a flapper); c1 sends bursts of new
# MACs. The server's RSS and open descriptors are sampled every 2 s and must stay flat.
#
#   vst-c1 <-- iperf3 UDP 10 Mbit/s --> vst-c2      vst-c3: restarts, shared MAC
#                 (all through vswitch in vst-srv)
set -u
. "$(dirname "$0")/lib.sh"
require_root
SOAK_SECONDS=${SOAK_SECONDS:-60}
CURVE=${SOAK_CURVE:-$WORK/soak.csv}  # seconds,rss_kib,fds,ports,fdb_entries
topo_up 3
start_server --port-timeout 5
for i in 1 2 3; do start_client "$i"; done
check "three ports join" wait_for 10 ports_are 3
check "c1 reaches c2" wait_for 10 pings 1 198.19.0.12

n $P-c2 timeout $((SOAK_SECONDS + 30)) iperf3 -s -1 -B 198.19.0.12 >/dev/null 2>&1 &
PIDS+=("$!")
wait_for 5 tcp_listening $P-c2 5201
n $P-c1 timeout $((SOAK_SECONDS + 20)) iperf3 -c 198.19.0.12 -u -b 10M -l 1000 -t "$SOAK_SECONDS" -J \
  >"$WORK/iperf.json" 2>"$WORK/iperf.err" &
sender=$!
PIDS+=("$sender")

shared=0206000000aa  # the MAC c1 and c3 take turns with
frame_from() { echo "ffffffffffff${shared}88b5$(printf '%092d' 0)"; }
echo "seconds,rss_kib,fds,ports,fdb_entries" >"$CURVE"
start=$SECONDS
next_sample=0
round=0
while ((SECONDS - start < SOAK_SECONDS)); do
  elapsed=$((SECONDS - start))
  if ((elapsed >= next_sample)); then
    echo "$elapsed,$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"),$(ls "/proc/$SERVER_PID/fd" | wc -l),$(port_count),$(stat_value fdb_entries)" >>"$CURVE"
    next_sample=$((elapsed + 2))
  fi
  round=$((round + 1))
  # A MAC move each round, from whichever of c1 and c3 did not send it last.
  if ((round % 2)); then from=1; else from=3; fi
  n $P-c$from python3 "$(dirname "$0")/send_frame.py" vs0 "$(frame_from)" 2>/dev/null
  # A burst of 200 new MACs from c1 every round (they age or are replaced; never kept).
  n $P-c1 timeout 10 python3 "$(dirname "$0")/mac_flood.py" vs0 200 20000 $((round * 200)) >/dev/null 2>&1
  # c3 leaves (SIGTERM: BYE) and joins again every fifth round.
  if ((round % 5 == 0)); then
    kill "${CLIENT_PID[3]}"
    wait "${CLIENT_PID[3]}" 2>/dev/null
    start_client 3
  fi
  sleep 0.5  # the churn's pace (a soak, not a wait for a condition)
done
wait "$sender"
check "c3 is joined after its last restart" wait_for 10 ports_are 3
log "stream: $(jq -c '.end.sum | {packets, lost_percent}' "$WORK/iperf.json" 2>/dev/null); churn: $round rounds;" \
  "counters: $(ctl stats --json | jq -c '.counters | {moved, moves_dampened, learned, replaced_own, aged, ports_joined, ports_left, lock_hold_max_ns, lock_hold_cpu_max_ns, lock_holds_over_1ms}')"
log "drops: $(ctl stats --json | jq -c '.drops')"
log "RSS/fd curve ($CURVE): $(tail -n +2 "$CURVE" | cut -d, -f1-3 | tr '\n' ' ')"
check "the stream kept flowing through the churn (loss under 1 %)" \
  json_ok "$WORK/iperf.json" '.end.sum.packets > 1000 and .end.sum.lost_percent < 1'
# Flat: after the first quarter (allocator warm-up), RSS grows by under 1 MiB and descriptors
# not at all.
samples=$(($(wc -l <"$CURVE") - 1))
warm=$((samples / 4 + 2))
rss_warm=$(sed -n "${warm}p" "$CURVE" | cut -d, -f2)
rss_end=$(tail -n1 "$CURVE" | cut -d, -f2)
fds_first=$(sed -n 2p "$CURVE" | cut -d, -f3)
fds_max=$(tail -n +2 "$CURVE" | cut -d, -f3 | sort -n | tail -n1)
check "the server's RSS stays flat: $rss_warm KiB after warm-up, $rss_end KiB at the end" \
  test $((rss_end - rss_warm)) -lt 1024
check "the server's descriptors stay flat: $fds_first at first, at most $fds_max" test "$fds_max" -le $((fds_first + 2))
check "MAC moves were counted, and the flapping MAC was frozen" \
  stdin_json_ok '.moved > 0 and .moves_dampened > 0' <<<"$(ctl stats --json | jq .counters)"
finish
