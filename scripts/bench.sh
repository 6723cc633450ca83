#!/usr/bin/env bash
# One command for the numbers: builds, then measures, side by side in one run,
#  1. the server's forwarding rate per datapath (socket, afxdp-generic, afxdp-native) and
#     protocol (plaintext v1, v2 with ChaCha20-Poly1305, v2 with AES-256-GCM) with the load
#     generator pinned to the other core, and the CPU each costs per forwarded packet; what a
#     flood of handshake initiations costs established traffic;
#  2. end to end through real vport clients (iperf3 TCP, UDP 64-byte pps, ping), encrypted and
#     plaintext, also with the underlay cutting UDP GSO trains as a NIC path does, and
#  3. the same for the peer L2 VPNs in ../shared/peers (tinc with its default crypto, OpenVPN
#     with AES-256-GCM), with each row's ratio to ours;
#  4. the client fast path one acceleration at a time (scripts/bench_offloads.sh);
#  5. reliability: a 10-minute soak's RSS curve, and a MAC flood's lock hold and memory;
#  6. EVPN: two servers against one, MAC convergence, CPU per VXLAN packet (scripts/bench_evpn.sh);
# and renders the main tables as charts (scripts/bench_charts.py: throughput per system, CPU per
# packet per datapath, latency percentiles, the soak's RSS).
# Prints markdown tables and writes bench/results/<time>.{md,json}. Every load is bounded.
#
#   bn-gen 198.18.1.2 (vswitch-bench, CPU 1) <--veth--> bn-srv 198.18.1.1 (vswitch + its NAPI, CPU 0)
#
# Accounting: veth hands a packet to its peer either through the peer's NAPI (a 256-entry ring
# polled like a NIC queue) or, for skbs it deems not worth GRO (any skb from a device with TSO
# on that is not a plain UDP socket's, e.g. every AF_XDP-sent one), through netif_rx on the
# *sending* CPU. Both veths therefore have TSO off and GRO on, so every packet takes the NAPI
# path, and NAPI is threaded: the server's NAPI thread shares CPU 0 with vswitch as an equal
# (as softirq and ksoftirqd share a core with a process), the sink's runs on CPU 1 with the
# generator at SCHED_FIFO so that the sink never falls behind. CPU 0 then carries the server's
# receive path (XDP or UDP stack), its process and its transmit path, and nothing of the
# sink's; the generator owns CPU 1. (Probed with perf per CPU: before this, the socket and
# generic datapaths received on the generator's CPU and the sink's drop ran on the server's.)
# "server core %" is CPU 0's busy time and "ns/pkt" divides it by the forwarded packets. No
# bridge sits in between: its netfilter hooks would be measured instead of the switch.
# The generator transmits through AF_XDP (--afxdp-tx): a UDP-socket generator tops out near
# the datapaths' own rate. The "XDP flood" row injects XDP frames with BPF_PROG_RUN (no skb, as
# from a NIC driver) far above any datapath's capacity: what still gets through under overload.
# The server's veth has UDP segmentation off: a UDP_SEGMENT train is then cut into datagrams
# on the server's core (as on a NIC without USO) and the sink counts datagrams, not trains.
# Environment: DUR (s per forwarding run, 5), RUNS (2), SIZES ("64 512 1400"),
# DATAPATHS ("socket afxdp-generic afxdp-native"), PROTOS ("insecure chacha gcm": the rows that
# need v1 alone, such as the XDP frame flood and the throughput search, run for insecure only),
# FLOOD_RATE (20000 initiations/s for the handshake-flood row), PEERS ("vxlan tinc openvpn"; "" skips),
# E2E (1: run part 2 and 3), PEERS_DIR (../shared/peers), PACED_PPS (300000: the fixed rate at
# which CPU per packet is compared), LADDER (1: run part 4), THROUGHPUT_RATES (paced rates
# tried from the top for the throughput rows), LOSS_MAX (0.5: % loss a held rate may have),
# ROWS (1; 0: only the throughput rows of part 1), PROFILE (1: perf profile of the paced row),
# SOAK (1: run part 5), SOAK_SECONDS (600), EVPN (1: run part 6).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "bench: run as root (namespaces, XDP)" >&2; exit 1; }
DUR=${DUR:-5}
RUNS=${RUNS:-2}
SIZES=${SIZES:-64 512 1400}
DATAPATHS=${DATAPATHS:-socket afxdp-generic afxdp-native}
PROTOS=${PROTOS:-insecure chacha gcm}
FLOOD_RATE=${FLOOD_RATE:-20000}
PEERS=${PEERS-vxlan tinc openvpn}
E2E=${E2E:-1}
LADDER=${LADDER:-1}
SOAK=${SOAK:-1}
SOAK_SECONDS=${SOAK_SECONDS:-600}
EVPN=${EVPN:-1}
PACED_PPS=${PACED_PPS:-300000}
THROUGHPUT_RATES=${THROUGHPUT_RATES:-1600000 1400000 1200000 1000000 900000 800000 700000 600000 500000 400000 300000 200000 100000}
LOSS_MAX=${LOSS_MAX:-0.5}
ROWS=${ROWS:-1}
PROFILE=${PROFILE:-1}
PEERS_DIR=$(readlink -f "${PEERS_DIR:-../shared/peers}")

bash scripts/setup-deps.sh >/dev/null
bash scripts/build.sh >/dev/null
BIN=$PWD/build
OUT=$PWD/bench/results
mkdir -p "$OUT"
STAMP=$(date +%Y%m%d-%H%M%S)
WORK=$(mktemp -d /tmp/vswitch-bench.XXXXXX)
SRV_PID=""
JSON="$OUT/$STAMP.json"
MD="$OUT/$STAMP.md"
echo "[" >"$JSON"

cleanup() {
  trap - EXIT INT TERM
  [[ -n $SRV_PID ]] && kill "$SRV_PID" 2>/dev/null
  sleep 0.3
  for ns in bn-gen bn-srv; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

# ---------------------------------------------------------------- micro-benchmarks
log "micro-benchmarks of the switch core (Google Benchmark, CPU 1)"
taskset -c 1 "$BIN/tests/switch_core_bench" --benchmark_min_time=0.3 --benchmark_format=json \
  >"$WORK/micro.json" 2>/dev/null
MICRO=$(jq -r '
  (.benchmarks | map({(.name): .real_time}) | add) as $t
  | [["FDB lookup, 1k entries", "BM_FdbLookup/1000", "BM_BaselineUnorderedMapLookup/1000"],
     ["FDB lookup, 1M entries", "BM_FdbLookup/1000000", "BM_BaselineUnorderedMapLookup/1000000"],
     ["FDB learn (refresh), 1k entries", "BM_FdbLearnRefresh/1000", "BM_BaselineUnorderedMapLookup/1000"],
     ["FDB learn (refresh), 1M entries", "BM_FdbLearnRefresh/1000000", "BM_BaselineUnorderedMapLookup/1000000"],
     ["packet path v1, known unicast 64 B (open, learn, lookup, seal header)", "BM_DataPlaneUnicastV1/64", "BM_BaselineDecodeOnly"],
     ["packet path v2 ChaCha20-Poly1305, 64 B (decrypt, switch, encrypt)", "BM_DataPlaneUnicastChaCha/64", "BM_DataPlaneUnicastV1/64"],
     ["packet path v2 ChaCha20-Poly1305, 1400 B", "BM_DataPlaneUnicastChaCha/1400", "BM_DataPlaneUnicastV1/1400"],
     ["packet path v2 AES-256-GCM, 64 B", "BM_DataPlaneUnicastAesGcm/64", "BM_DataPlaneUnicastV1/64"],
     ["packet path v2 AES-256-GCM, 1400 B", "BM_DataPlaneUnicastAesGcm/1400", "BM_DataPlaneUnicastV1/1400"],
     ["flood to 63 ports, v1", "BM_DataPlaneFlood64PortsV1", "BM_BaselineDecodeOnly"],
     ["flood to 63 ports, v2 ChaCha20-Poly1305 (63 encryptions)", "BM_DataPlaneFlood64PortsChaCha", "BM_DataPlaneFlood64PortsV1"],
     ["handshake, all the server does for one (4 X25519, MACs, keys)", "BM_HandshakeResponder", "BM_BaselineX25519"],
     ["forged initiation with a valid mac1, not under load (2 X25519)", "BM_HandshakeForgedInitiation", "BM_BaselineX25519"],
     ["initiation under load: mac1 + mac2 only", "BM_HandshakeMacCheckOnly", "BM_BaselineX25519"],
     ["switch lock, once per batch", "BM_SwitchLockPerBatch", "BM_BaselineNoLock"],
     ["FDB: new MAC into a full 64k table (evicts from the port holding the most)", "BM_FdbLearnNewIntoFullTable/65536", "BM_FdbLearnRefresh/1000"],
     ["FDB: remove a port of 1,024 MACs from a full 64k table", "BM_FdbRemovePort1024/65536", "BM_BaselineFdbSweepWholeTable/65536"],
     ["FDB: remove a port of 1,024 MACs from a full 4M table", "BM_FdbRemovePort1024/4000000", "BM_BaselineFdbSweepWholeTable/4000000"],
     ["FDB: one aging slice (1,024 entries) of a 64k table", "BM_FdbSweepSlice1024/65536", "BM_BaselineFdbSweepWholeTable/65536"],
     ["FDB: one aging slice (1,024 entries) of a 4M table", "BM_FdbSweepSlice1024/4000000", "BM_BaselineFdbSweepWholeTable/4000000"]][]
  | "| \(.[0]) | \($t[.[1]]*10|round/10) | \(.[2]) | \($t[.[2]]*10|round/10) | \(($t[.[1]]/$t[.[2]])*10|round/10) |"' "$WORK/micro.json")

# ---------------------------------------------------------------- topology
for ns in bn-srv bn-gen; do ip netns del "$ns" 2>/dev/null || true; ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add bn-srv netns bn-srv type veth peer name bn-gen netns bn-gen
ip -n bn-srv addr add 198.18.1.1/24 dev bn-srv
ip -n bn-gen addr add 198.18.1.2/24 dev bn-gen
ip -n bn-srv link set bn-srv up
ip -n bn-gen link set bn-gen up
# GRO gives each veth a NAPI context (XDP gives it one anyway), TSO off makes veth use it for
# every skb, threaded NAPI puts it in a kthread we can pin: see "Accounting" above.
ip netns exec bn-srv ethtool -K bn-srv gro on tso off tx-udp-segmentation off >/dev/null
ip netns exec bn-gen ethtool -K bn-gen gro on tso off >/dev/null
ip netns exec bn-srv sh -c 'echo 1 > /sys/class/net/bn-srv/threaded'
ip netns exec bn-gen sh -c 'echo 1 > /sys/class/net/bn-gen/threaded'
ip netns exec bn-gen ping -c1 -W2 198.18.1.1 >/dev/null
# Forwarded DATA (UDP from port 9797, payload starting 01 04 or 02 04: DATA of either protocol) is
# dropped at the generator's ingress and counted there: the generator's socket receive cost stays
# out of the measurement.
sink_on() {
  ip netns exec bn-gen nft -f - <<'NFT'
table netdev sink {
  chain in { type filter hook ingress device "bn-gen" priority 0; udp sport 9797 @th,64,16 { 0x0104, 0x0204 } counter drop; }
}
NFT
}
# Keys for the secure rows: the server's, and one per emulated port (members of network 1).
KEYS=$WORK/keys
mkdir -m 700 "$KEYS"
(umask 077 && "$BIN/vswitchctl" genkey >"$KEYS/server.key")
"$BIN/vswitchctl" pubkey <"$KEYS/server.key" >"$KEYS/server.pub"
for i in $(seq 0 63); do
  (umask 077 && "$BIN/vswitchctl" genkey >"$KEYS/p$i.key")
  echo "$("$BIN/vswitchctl" pubkey <"$KEYS/p$i.key") 1 p$i" >>"$KEYS/members.conf"
done
sink_off() { ip netns exec bn-gen nft delete table netdev sink 2>/dev/null || true; }
sink_check() { ip netns exec bn-gen nft list table netdev sink >/dev/null || { log "the sink drop rule did not load"; exit 1; }; }
pin_napi() {  # NAPI threads (they come and go with XDP attach): the server's on CPU 0, the sink's on CPU 1
  local p
  for p in $(pgrep '^napi/bn-' 2>/dev/null); do
    if [[ $(cat "/proc/$p/comm" 2>/dev/null) == napi/bn-srv* ]]; then
      taskset -pc 0 "$p" >/dev/null 2>&1 || true
      chrt -o -p 0 "$p" >/dev/null 2>&1 || true  # shares CPU 0 with the process, as softirq and ksoftirqd do
    else
      taskset -pc 1 "$p" >/dev/null 2>&1 || true
      chrt -f -p 50 "$p" >/dev/null 2>&1 || true  # the sink never falls behind the generator
    fi
  done
}
pin_napi
sink_on
sink_check

# ---------------------------------------------------------------- helpers
start_server() {  # start_server DATAPATH PROTO [extra args]; sets GEN_AUTH for the generator
  local dp=$1 proto=$2; shift 2
  local args=(--datapath socket) auth=(--insecure)
  case $dp in
    afxdp-native) args=(--datapath afxdp --iface bn-srv --xdp-mode native) ;;
    afxdp-generic) args=(--datapath afxdp --iface bn-srv --xdp-mode generic) ;;
  esac
  GEN_AUTH=()
  case $proto in
    chacha) auth=(--key-file "$KEYS/server.key" --members "$KEYS/members.conf" --cipher chacha20-poly1305) ;;
    gcm) auth=(--key-file "$KEYS/server.key" --members "$KEYS/members.conf" --cipher aes-256-gcm) ;;
  esac
  [[ $proto == insecure ]] || GEN_AUTH=(--key-dir "$KEYS")
  # --flood-limit 0: storm control would cap the broadcast rows at 10,000 frames/s per port.
  ip netns exec bn-srv taskset -c 0 "$BIN/vswitch" "${auth[@]}" --listen 198.18.1.1:9797 \
    --control "$WORK/ctl.sock" --log-level warn --flood-limit 0 "${args[@]}" "$@" >"$WORK/vswitch.log" 2>&1 &
  SRV_PID=$!
  for _ in $(seq 50); do [[ -S $WORK/ctl.sock ]] && { pin_napi; return 0; }; sleep 0.1; done
  log "server did not start: $(cat "$WORK/vswitch.log")"; return 1
}
stop_server() { kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=""; rm -f "$WORK/ctl.sock"; }
proc_ticks() {  # utime+stime of a process, all threads (0 when there is none)
  [[ -n ${1:-} && -r /proc/${1:-x}/stat ]] || { echo 0; return; }
  awk '{sub(/^.*\) /,""); print $12+$13}' "/proc/$1/stat"
}
cpu0_busy_ticks() { awk '/^cpu0 /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }   # user nice system irq softirq steal

# veth drops a packet when the peer's 256-entry NAPI ring is full and counts it as the sender's
# tx_dropped: on bn-srv these are packets the server forwarded that the sink could not take
# (counted as forwarded), on bn-gen load the server's receive ring could not take (loss).
tx_dropped() { ip netns exec "$1" cat "/sys/class/net/$1/statistics/tx_dropped"; }

# gen vswitch-bench args...: runs the generator pinned to CPU 1; samples the server's CPU
# between the load's start and end; sets RUN_JSON.
gen() {
  local sd0 rd0
  sd0=$(tx_dropped bn-srv); rd0=$(tx_dropped bn-gen)
  ip netns exec bn-gen taskset -c 1 timeout $((DUR + 60)) "$BIN/vswitch-bench" --server 198.18.1.1:9797 \
    --bind 198.18.1.2 --duration "$DUR" "${GEN_AUTH[@]}" "$@" >"$WORK/gen.out" 2>"$WORK/gen.err" &
  local gp=$! s0 t0 s1 t1
  until grep -q 'load: start' "$WORK/gen.err" 2>/dev/null || ! kill -0 $gp 2>/dev/null; do sleep 0.01; done
  s0=$(proc_ticks "$SRV_PID"); c0=$(cpu0_busy_ticks); t0=$(date +%s.%N)
  [[ -n ${PERF_DATA:-} ]] && perf record -q -g -C 0 -o "$PERF_DATA" -- sleep $((DUR > 3 ? 2 : 1)) >/dev/null 2>&1
  wait $gp || { log "generator failed: $(cat "$WORK/gen.err")"; return 1; }
  s1=$(proc_ticks "$SRV_PID"); c1=$(cpu0_busy_ticks); t1=$(date +%s.%N)
  RUN_JSON=$(jq -c --argjson srv $((s1 - s0)) --argjson core $((c1 - c0)) --argjson t0 "$t0" --argjson t1 "$t1" \
    --argjson hz "$(getconf CLK_TCK)" --argjson sink $(($(tx_dropped bn-srv) - sd0)) \
    --argjson ring $(($(tx_dropped bn-gen) - rd0)) '
      (.forwarded + $sink) as $fwd | .expected as $expected
      | . + {forwarded: $fwd, forwarded_pps: ($fwd / .duration_s), forwarded_gbps: ($fwd / .duration_s * .frame_size * 8 / 1e9),
             loss_pct: (if $expected > 0 then (10000 * (1 - $fwd / $expected) | round) / 100 else .loss_pct end),
             sink_ring_dropped: $sink, server_ring_dropped: $ring,
             server_process_pct: (100 * $srv / $hz / ($t1 - $t0)), server_core_pct: (100 * $core / $hz / ($t1 - $t0)),
             ns_per_pkt: (if $fwd > 0 then 1e9 * ($core / $hz) / $fwd else null end)}' "$WORK/gen.out")
}
record() {  # record DATAPATH SCENARIO RUN (the protocol is $PROTO)
  local j
  j=$(jq -c --arg dp "$1" --arg sc "$2" --argjson run "$3" --arg proto "$PROTO" \
    '. + {datapath: $dp, scenario: $sc, run: $run, proto: $proto}' <<<"$RUN_JSON")
  [[ $(wc -l <"$JSON") -gt 1 ]] && echo "," >>"$JSON"
  echo "$j" >>"$JSON"
  log "$(jq -r '"\(.datapath) \(.proto) \(.scenario) run \(.run): offered \(.offered_pps|floor) pps, forwarded \(.forwarded_pps|floor) pps, loss \(.loss_pct)%, server core \(.server_core_pct|floor)% (process \(.server_process_pct|floor)%), \(.ns_per_pkt // 0 | floor) ns/pkt"' <<<"$j")"
}

# ---------------------------------------------------------------- 0. generator alone
log "generator capacity, server out of the loop (loopback)"
GEN_AUTH=()
PROTO=insecure
gen --loopback --ports 2 --frame-size 64 || true
LOOPBACK_PPS=$(jq -r '.offered_pps|floor' "$WORK/gen.out")

# ---------------------------------------------------------------- 1. forwarding rate
XTX=(--afxdp-tx bn-gen --count-iface bn-gen)
for dp in $DATAPATHS; do
 for PROTO in $PROTOS; do
  start_server "$dp" "$PROTO" --fdb-max 262144 --port-max-macs 131072 || continue
  for run in $(seq "$RUNS"); do
    [[ $ROWS == 1 ]] || break
    # Below every datapath's saturation: CPU per packet compares like with like here.
    for size in 64 1400; do
      # The first 64-byte run is also profiled: where CPU 0's time goes, per packet.
      [[ $PROFILE == 1 && $run == 1 && $size == 64 && $PROTO != chacha ]] && PERF_DATA=$WORK/perf.data
      gen "${XTX[@]}" --ports 2 --frame-size $size --rate "$PACED_PPS" && record "$dp" "paced ${PACED_PPS} pps ${size}B" "$run"
      if [[ -n ${PERF_DATA:-} ]]; then
        perf script -F comm,ip,sym -i "$PERF_DATA" 2>/dev/null |
          python3 scripts/perf_buckets.py "$dp $PROTO" "$(jq -r .forwarded_pps <<<"$RUN_JSON")" >>"$WORK/profile.md"
        PERF_DATA=""
      fi
    done
    for size in $SIZES; do
      gen "${XTX[@]}" --ports 2 --frame-size "$size" && record "$dp" "unicast 2 ports ${size}B" "$run"
    done
    gen "${XTX[@]}" --ports 8 --mode broadcast --frame-size 64 && record "$dp" "broadcast 8 ports 64B" "$run"
    sink_off
    gen --ports 2 --frame-size 64 --rate 20000 --receive && record "$dp" "latency 20k pps 64B" "$run"
    if [[ $PROTO == gcm ]]; then
      # Established traffic (paced, every frame received and counted) while strangers flood the
      # server with initiations whose mac1 is valid: the loss, and the server's CPU, beside the
      # same load without the flood (the row above).
      gen --ports 2 --frame-size 64 --rate 20000 --receive --flood-initiations "$FLOOD_RATE" &&
        record "$dp" "latency 20k pps 64B + ${FLOOD_RATE}/s handshake flood" "$run" &&
        log "flood: $(jq -c .flood <<<"$RUN_JSON"), server: $(ip netns exec bn-srv "$BIN/vswitchctl" --control "$WORK/ctl.sock" stats --json | jq -c '{handshakes_refused: .counters.handshakes_refused, cookies_sent: .counters.cookies_sent, replies_suppressed: .counters.replies_suppressed, queue_full: .counters.handshake_queue_full}')"
    fi
    sink_on
    [[ $PROTO == insecure ]] || continue
    gen "${XTX[@]}" --ports 64 --frame-size 64 && record "$dp" "unicast 64 ports 64B" "$run"
    gen "${XTX[@]}" --ports 2 --macs 50000 --frame-size 64 && record "$dp" "unicast 100k MACs 64B" "$run"
    gen --xdp-live bn-gen --count-iface bn-gen --ports 2 --frame-size 64 && record "$dp" "XDP flood 64B" "$run"
  done
  if [[ $PROTO != insecure ]]; then
    stop_server
    continue
  fi
  # Throughput in the RFC 2544 sense: the highest offered rate that loses at most LOSS_MAX %,
  # paced rates tried from the top down. Where the generator falls short of the rate asked
  # (below 98%), a held run is only a lower bound: the search goes on down until a rate is
  # held as asked or the rates asked fall below the best offered so far, and the row is
  # marked generator-bound.
  best=0 best_json="" bound="" gb=""
  for rate in $THROUGHPUT_RATES; do
    ((rate > best)) || break
    gen "${XTX[@]}" --ports 2 --frame-size 64 --rate "$rate" || continue
    offered=$(jq -r '.offered_pps|floor' <<<"$RUN_JSON")
    if jq -e --argjson m "$LOSS_MAX" '.loss_pct <= $m' <<<"$RUN_JSON" >/dev/null; then
      gb=""
      ((offered * 100 >= rate * 98)) || gb=" (generator-bound)"
      ((offered > best)) && { best=$offered; best_json=$RUN_JSON; bound=$gb; }
      [[ -z $gb ]] && break
      log "$dp: $offered pps held, but $rate asked"
    else
      log "$dp: $rate pps not held ($(jq -r '"offered \(.offered_pps|floor), loss \(.loss_pct)%, \(.server_ring_dropped) at the rx ring"' <<<"$RUN_JSON"))"
    fi
  done
  if [[ -n $best_json ]]; then
    RUN_JSON=$best_json
    record "$dp" "throughput at <= ${LOSS_MAX}% loss, 64B$bound" 1
  else
    log "$dp: no rate held"
  fi
  stop_server
 done
done
echo "]" >>"$JSON"

{
  echo "## Server forwarding rate ($(date -u +%F), $(nproc) cores, kernel $(uname -r))"
  echo
  echo "UDP-socket generator alone (loopback, server out of the loop): $LOOPBACK_PPS packets/s; the"
  echo "rows use the AF_XDP generator (offered pps shows what it reached) and the latency rows UDP sockets."
  echo "Server and its veth NAPI thread on CPU 0, generator and the sink's NAPI thread on CPU 1, $DUR s per run, $RUNS runs."
  echo "server core % = CPU 0 busy (user+system+irq+softirq); process % = the vswitch process alone"
  echo "(tick accounting also charges it softirq that ran in its context); ns/pkt = CPU 0 busy / forwarded."
  echo "forwarded includes what the sink's full veth ring dropped; \"rx ring full\" is load the server's"
  echo "veth ring (256, its NIC queue) could not take: part of the loss."
  echo
  echo "| datapath | protocol | scenario | run | offered pps | forwarded pps | Gbit/s | loss % | of which rx ring full | server core % | process % | ns/pkt | latency p50/p99 us |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  jq -r '.[] | "| \(.datapath) | \(.proto) | \(.scenario) | \(.run) | \(.offered_pps|floor) | \(.forwarded_pps|floor) | \(.forwarded_gbps*1000|round/1000) | \(.loss_pct) | \(.server_ring_dropped) | \(.server_core_pct|floor) | \(.server_process_pct|floor) | \(.ns_per_pkt // "-" | if type=="number" then floor else . end) | \(if .latency_us then "\(.latency_us.p50)/\(.latency_us.p99)" else "-" end) |"' "$JSON"
  echo
  if [[ -s $WORK/profile.md ]]; then
    echo "Where CPU 0's time goes at ${PACED_PPS} packets/s, 64 B (perf, call chains sorted into buckets"
    echo "by scripts/perf_buckets.py; idle left out):"
    echo
    echo "| datapath | bucket | % of CPU 0 | ns per packet |"
    echo "|---|---|---|---|"
    cat "$WORK/profile.md"
    echo
  fi
  echo "Micro-benchmarks (ns per operation; baseline measured in the same run):"
  echo
  echo "| operation | ns | baseline | baseline ns | ratio |"
  echo "|---|---|---|---|---|"
  echo "$MICRO"
  echo
  echo "Ratios to the socket datapath (mean over runs, same protocol and scenario):"
  echo
  echo "| datapath | protocol | scenario | forwarded pps x | ns/pkt x |"
  echo "|---|---|---|---|---|"
  jq -r 'group_by([.proto, .scenario])[] as $g | ($g | map(select(.datapath=="socket"))) as $base
    | select(($base|length) > 0)
    | ($base | (map(.forwarded_pps)|add/length)) as $bp | ($base | (map(.ns_per_pkt // 0)|add/length)) as $bn
    | $g | group_by(.datapath)[] | select(.[0].datapath != "socket")
    | (map(.forwarded_pps)|add/length) as $p | (map(.ns_per_pkt // 0)|add/length) as $n
    | "| \(.[0].datapath) | \(.[0].proto) | \(.[0].scenario) | \(if $bp > 0 then ($p/$bp*100|round/100) else "-" end) | \(if $bn > 0 then ($n/$bn*100|round/100) else "-" end) |"' "$JSON"
  echo
  echo "What encryption costs: ratios to the plaintext protocol (mean over runs, same datapath and scenario):"
  echo
  echo "| datapath | protocol | scenario | forwarded pps x | ns/pkt x |"
  echo "|---|---|---|---|---|"
  jq -r 'group_by([.datapath, .scenario])[] as $g | ($g | map(select(.proto=="insecure"))) as $base
    | select(($base|length) > 0)
    | ($base | (map(.forwarded_pps)|add/length)) as $bp | ($base | (map(.ns_per_pkt // 0)|add/length)) as $bn
    | $g | group_by(.proto)[] | select(.[0].proto != "insecure")
    | (map(.forwarded_pps)|add/length) as $p | (map(.ns_per_pkt // 0)|add/length) as $n
    | "| \(.[0].datapath) | \(.[0].proto) | \(.[0].scenario) | \(if $bp > 0 then ($p/$bp*100|round/100) else "-" end) | \(if $bn > 0 then ($n/$bn*100|round/100) else "-" end) |"' "$JSON"
} | tee "$MD"
cleanup
trap - EXIT

# ---------------------------------------------------------------- 2+3. end to end, with peers
if [[ $E2E == 1 ]]; then
  [[ -d $PEERS_DIR ]] || { echo "bench: no peers harness at $PEERS_DIR" >&2; exit 1; }
  E2E_OUT="$OUT/$STAMP-e2e.md"
  : >"$E2E_OUT"
  log "end to end through vport clients (peers harness, RUNS=$RUNS)"
  BIN_DIR=$BIN RUNS=$RUNS bash "$PEERS_DIR/vswitch.sh" secure secure-afxdp-generic secure-afxdp-native \
    socket afxdp-generic afxdp-native 2>>"$WORK.e2e.log" | tee -a "$E2E_OUT"
  # ChaCha20-Poly1305 through the same harness: its vswitch is ours with --cipher chacha20-poly1305.
  CHACHA_BIN=$(mktemp -d /tmp/vswitch-chacha.XXXXXX)
  ln -s "$BIN/vport" "$BIN/vswitchctl" "$CHACHA_BIN/"
  printf '#!/bin/sh\nexec %s --cipher chacha20-poly1305 "$@"\n' "$BIN/vswitch" >"$CHACHA_BIN/vswitch"
  chmod +x "$CHACHA_BIN/vswitch"
  log "end to end, ChaCha20-Poly1305"
  BIN_DIR=$CHACHA_BIN RUNS=$RUNS bash "$PEERS_DIR/vswitch.sh" secure secure-afxdp-generic secure-afxdp-native \
    2>>"$WORK.e2e.log" | sed 's/| vswitch secure/| vswitch chacha secure/' | tee -a "$E2E_OUT"
  rm -rf "$CHACHA_BIN"
  # As behind a real NIC: each host's underlay cuts UDP GSO trains into datagrams before the wire.
  log "end to end, WIRE=segmented"
  WIRE=segmented BIN_DIR=$BIN RUNS=$RUNS bash "$PEERS_DIR/vswitch.sh" secure secure-afxdp-generic \
    secure-afxdp-native socket afxdp-generic afxdp-native 2>>"$WORK.e2e.log" |
    sed 's/| vswitch /| vswitch segmented /' | tee -a "$E2E_OUT"
  for p in $PEERS; do
    case $p in
      tinc) args=(default) ;;
      openvpn) args=(gcm) ;;
      *) args=() ;;
    esac
    log "peer: $p ${args[*]}"
    RUNS=$RUNS bash "$PEERS_DIR/$p.sh" "${args[@]}" 2>>"$WORK.e2e.log" | tee -a "$E2E_OUT" || log "peer $p failed"
  done
  {
    echo
    echo "## End to end: TCP Mbit/s, mean over runs, and ratio to vswitch (best datapath)"
    echo
    echo "| system | TCP Mbit/s | ratio to vswitch | overlay ping avg ms | UDP64 pps @<1% loss |"
    echo "|---|---|---|---|---|"
    grep -E '^\| [a-zA-Z]' "$E2E_OUT" | grep -v '^| system' | awk -F'|' '
      { sys=$2; gsub(/^ +| +$/,"",sys); split($6,t," "); split($5,p," "); tcp[sys]+=t[1]; ping[sys]+=p[1]; sw=$10; gsub(/ /,"",sw); swp[sys]+=sw; n[sys]++ }
      END { best=0; for (s in n) if (s ~ /^vswitch/ && tcp[s]/n[s] > best) best=tcp[s]/n[s];
            for (s in n) printf "| %s | %.0f | %.2f | %.3f | %.0f |\n", s, tcp[s]/n[s], (best>0? (tcp[s]/n[s])/best : 0), ping[s]/n[s], swp[s]/n[s] }' | sort
  } | tee -a "$E2E_OUT"
  rm -f "$WORK.e2e.log"
fi
# ---------------------------------------------------------------- 4. offload ablation ladder
if [[ $LADDER == 1 ]]; then
  LADDER_OUT="$OUT/$STAMP-offloads.md"
  log "client fast path, one acceleration at a time"
  BIN_DIR=$BIN DUR=$DUR OUT="$LADDER_OUT" bash scripts/bench_offloads.sh
fi
# ---------------------------------------------------------------- 5. reliability
# The soak of tests/e2e/test_soak.sh for SOAK_SECONDS (600): traffic, joins and leaves, MAC moves
# and bursts of new MACs; its RSS/descriptor curve lands beside the tables. Then the MAC flood
# scenario, whose log line reports the switch lock's worst hold and the server's memory.
if [[ $SOAK == 1 ]]; then
  SOAK_OUT="$OUT/$STAMP-reliability.log"
  log "soak for $SOAK_SECONDS s and a MAC flood (socket datapath)"
  BIN_DIR=$BIN DATAPATH=socket SOAK_SECONDS=$SOAK_SECONDS SOAK_CURVE="$OUT/$STAMP-soak.csv" \
    bash tests/e2e/test_soak.sh 2>&1 | tee -a "$SOAK_OUT" >&2 || log "the soak failed: see $SOAK_OUT"
  BIN_DIR=$BIN DATAPATH=socket bash tests/e2e/test_mac_flood.sh 2>&1 | tee -a "$SOAK_OUT" >&2 ||
    log "the MAC flood failed: see $SOAK_OUT"
fi
# ---------------------------------------------------------------- 6. EVPN
if [[ $EVPN == 1 ]]; then
  EVPN_OUT="$OUT/$STAMP-evpn.md"
  log "EVPN: two servers against one, MAC convergence, CPU per VXLAN packet"
  BIN_DIR=$BIN DUR=$DUR bash scripts/bench_evpn.sh 2>>"$WORK.evpn.log" | tee "$EVPN_OUT" || log "EVPN bench failed: see $WORK.evpn.log"
fi
# ---------------------------------------------------------------- charts
# Debian's matplotlib is for Debian's python3 (a python3 earlier on PATH may lack it).
CHART_ARGS=(--forwarding "$JSON")
[[ -n ${E2E_OUT:-} ]] && CHART_ARGS+=(--e2e "$E2E_OUT")
[[ -s $OUT/$STAMP-soak.csv ]] && CHART_ARGS+=(--soak "$OUT/$STAMP-soak.csv")
CHARTS=$(/usr/bin/python3 scripts/bench_charts.py "$OUT/$STAMP" "${CHART_ARGS[@]}" | tr '\n' ' ') || log "charts failed"
log "results: $MD ${E2E_OUT:-} ${LADDER_OUT:-} ${SOAK_OUT:-} ${EVPN_OUT:-} $JSON ${CHARTS:-}"
