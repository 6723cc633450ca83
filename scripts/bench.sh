#!/usr/bin/env bash
# One command for the numbers: builds, then measures, side by side in one run,
#  1. the server's forwarding rate per datapath (socket, afxdp-generic, afxdp-native) with the
#     load generator pinned to the other core, and the CPU each costs per forwarded packet;
#  2. end to end through real vport clients (iperf3 TCP, UDP 64-byte pps, ping), and
#  3. the same for the peer L2 VPNs in ../shared/peers, with each row's ratio to ours;
#  4. the client fast path one acceleration at a time (scripts/bench_offloads.sh).
# Prints markdown tables and writes bench/results/<time>.{md,json}. Every load is bounded.
#
#   bn-gen 198.18.1.2 (vswitch-bench, CPU 1) <--veth--> bn-srv 198.18.1.1 (vswitch + its NAPI, CPU 0)
#
# Accounting: veth runs a receiver's kernel path in softirq on whichever CPU services it. The
# server's veth gets threaded NAPI pinned to CPU 0, so the server's whole receive path (XDP or
# UDP stack), its process and its transmit path all run on CPU 0; the generator owns CPU 1.
# "server core %" is CPU 0's busy time and "ns/pkt" divides it by the forwarded packets. No
# bridge sits in between: its netfilter hooks would be measured instead of the switch.
# The generator transmits through AF_XDP (--afxdp-tx): a UDP-socket generator tops out near
# the AF_XDP datapaths' own rate here. "NAPI on generator core" rows leave veth's NAPI
# unthreaded, as in the brief's calibration: the server's receive work (XDP and the copy into
# the UMEM) then runs on CPU 1 and CPU 0 carries the workers and their transmit path. The
# "XDP flood" row injects XDP frames with BPF_PROG_RUN (no skb, as from a NIC) far above any
# datapath's capacity: what still gets through under overload.
# The server's veth has UDP segmentation off: a UDP_SEGMENT train is then cut into datagrams
# on the server's core (as on a NIC without USO) and the sink counts datagrams, not trains.
# Environment: DUR (s per forwarding run, 5), RUNS (2), SIZES ("64 512 1400"),
# DATAPATHS ("socket afxdp-generic afxdp-native"), PEERS ("vxlan tinc openvpn"; "" skips),
# E2E (1: run part 2 and 3), PEERS_DIR (../shared/peers), PACED_PPS (300000: the fixed rate at
# which CPU per packet is compared), LADDER (1: run part 4), THROUGHPUT_RATES (paced rates
# tried from the top for the throughput rows), LOSS_MAX (0.5: % loss a held rate may have),
# ROWS (1; 0: only the throughput rows of part 1).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "bench: run as root (namespaces, XDP)" >&2; exit 1; }
DUR=${DUR:-5}
RUNS=${RUNS:-2}
SIZES=${SIZES:-64 512 1400}
DATAPATHS=${DATAPATHS:-socket afxdp-generic afxdp-native}
PEERS=${PEERS-vxlan tinc openvpn}
E2E=${E2E:-1}
LADDER=${LADDER:-1}
PACED_PPS=${PACED_PPS:-300000}
THROUGHPUT_RATES=${THROUGHPUT_RATES:-1600000 1500000 1400000 1300000 1200000 1100000 1000000 900000 800000 700000 600000 500000 400000 300000}
LOSS_MAX=${LOSS_MAX:-0.5}
ROWS=${ROWS:-1}
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
     ["decision: known unicast (decode, learn, lookup, header)", "BM_SwitchKnownUnicast", "BM_BaselineDecodeOnly"],
     ["decision: flood to 63 ports", "BM_SwitchFlood64Ports", "BM_BaselineDecodeOnly"],
     ["switch lock, once per batch", "BM_SwitchLockPerBatch", "BM_BaselineNoLock"]][]
  | "| \(.[0]) | \($t[.[1]]*10|round/10) | \(.[2]) | \($t[.[2]]*10|round/10) | \(($t[.[1]]/$t[.[2]])*10|round/10) |"' "$WORK/micro.json")

# ---------------------------------------------------------------- topology
for ns in bn-srv bn-gen; do ip netns del "$ns" 2>/dev/null || true; ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add bn-srv netns bn-srv type veth peer name bn-gen netns bn-gen
ip -n bn-srv addr add 198.18.1.1/24 dev bn-srv
ip -n bn-gen addr add 198.18.1.2/24 dev bn-gen
ip -n bn-srv link set bn-srv up
ip -n bn-gen link set bn-gen up
# GRO gives the veth a NAPI context for every datapath (XDP gives it one anyway); threaded
# NAPI puts that context in a kthread we can pin next to the server.
ip netns exec bn-srv ethtool -K bn-srv gro on tx-udp-segmentation off >/dev/null 2>&1 || true
ip netns exec bn-srv sh -c 'echo 1 > /sys/class/net/bn-srv/threaded' 2>/dev/null || true
ip netns exec bn-gen ping -c1 -W2 198.18.1.1 >/dev/null
# Forwarded DATA (UDP from port 9797, payload starting 01 04) is dropped at the generator's
# ingress and counted there: the generator's socket receive cost stays out of the measurement.
sink_on() {
  ip netns exec bn-gen nft -f - <<'NFT'
table netdev sink {
  chain in { type filter hook ingress device "bn-gen" priority 0; udp sport 9797 @th,64,16 0x0104 counter drop; }
}
NFT
}
sink_off() { ip netns exec bn-gen nft delete table netdev sink 2>/dev/null || true; }
sink_check() { ip netns exec bn-gen nft list table netdev sink >/dev/null || { log "the sink drop rule did not load"; exit 1; }; }
pin_napi() {  # the server veth's NAPI threads (they come and go with XDP attach) onto CPU 0
  local p
  for p in $(pgrep '^napi/bn-srv' 2>/dev/null); do taskset -pc 0 "$p" >/dev/null 2>&1 || true; done
}
napi_threaded() {  # napi_threaded 0|1: 0 runs the server veth's NAPI in the sender's softirq
  ip netns exec bn-srv sh -c "echo $1 > /sys/class/net/bn-srv/threaded" 2>/dev/null || true
  [[ $1 == 1 ]] && { sleep 0.2; pin_napi; }
  return 0
}
sink_on
sink_check

# ---------------------------------------------------------------- helpers
start_server() {  # start_server DATAPATH [extra args]
  local dp=$1; shift
  local args=(--datapath socket)
  case $dp in
    afxdp-native) args=(--datapath afxdp --iface bn-srv --xdp-mode native) ;;
    afxdp-generic) args=(--datapath afxdp --iface bn-srv --xdp-mode generic) ;;
  esac
  ip netns exec bn-srv taskset -c 0 "$BIN/vswitch" --insecure --listen 198.18.1.1:9797 \
    --control "$WORK/ctl.sock" --log-level warn "${args[@]}" "$@" >"$WORK/vswitch.log" 2>&1 &
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

# gen RESULT_VAR vswitch-bench args...: runs the generator pinned to CPU 1; samples the server's
# CPU and the machine's softirq between the load's start and end; sets RUN_JSON.
gen() {
  ip netns exec bn-gen taskset -c 1 timeout $((DUR + 60)) "$BIN/vswitch-bench" --server 198.18.1.1:9797 \
    --bind 198.18.1.2 --duration "$DUR" "$@" >"$WORK/gen.out" 2>"$WORK/gen.err" &
  local gp=$! s0 i0 t0 s1 i1 t1
  until grep -q 'load: start' "$WORK/gen.err" 2>/dev/null || ! kill -0 $gp 2>/dev/null; do sleep 0.01; done
  s0=$(proc_ticks "$SRV_PID"); c0=$(cpu0_busy_ticks); t0=$(date +%s.%N)
  wait $gp || { log "generator failed: $(cat "$WORK/gen.err")"; return 1; }
  s1=$(proc_ticks "$SRV_PID"); c1=$(cpu0_busy_ticks); t1=$(date +%s.%N)
  RUN_JSON=$(jq -c --argjson srv $((s1 - s0)) --argjson core $((c1 - c0)) --argjson t0 "$t0" --argjson t1 "$t1" \
    --argjson hz "$(getconf CLK_TCK)" '
      . + {server_process_pct: (100 * $srv / $hz / ($t1 - $t0)), server_core_pct: (100 * $core / $hz / ($t1 - $t0)),
           ns_per_pkt: (if .forwarded > 0 then 1e9 * ($core / $hz) / .forwarded else null end)}' "$WORK/gen.out")
}
record() {  # record DATAPATH SCENARIO RUN
  local j
  j=$(jq -c --arg dp "$1" --arg sc "$2" --argjson run "$3" '. + {datapath: $dp, scenario: $sc, run: $run}' <<<"$RUN_JSON")
  [[ $(wc -l <"$JSON") -gt 1 ]] && echo "," >>"$JSON"
  echo "$j" >>"$JSON"
  log "$(jq -r '"\(.datapath) \(.scenario) run \(.run): offered \(.offered_pps|floor) pps, forwarded \(.forwarded_pps|floor) pps, loss \(.loss_pct)%, server core \(.server_core_pct|floor)% (process \(.server_process_pct|floor)%), \(.ns_per_pkt // 0 | floor) ns/pkt"' <<<"$j")"
}

# ---------------------------------------------------------------- 0. generator alone
log "generator capacity, server out of the loop (loopback)"
gen --loopback --ports 2 --frame-size 64 || true
LOOPBACK_PPS=$(jq -r '.offered_pps|floor' "$WORK/gen.out")

# ---------------------------------------------------------------- 1. forwarding rate
XTX=(--afxdp-tx bn-gen --count-iface bn-gen)
for dp in $DATAPATHS; do
  start_server "$dp" --fdb-max 262144 --port-max-macs 131072 || continue
  for run in $(seq "$RUNS"); do
    [[ $ROWS == 1 ]] || break
    # Below every datapath's saturation: CPU per packet compares like with like here.
    gen "${XTX[@]}" --ports 2 --frame-size 64 --rate "$PACED_PPS" && record "$dp" "paced ${PACED_PPS} pps 64B" "$run"
    for size in $SIZES; do
      gen "${XTX[@]}" --ports 2 --frame-size "$size" && record "$dp" "unicast 2 ports ${size}B" "$run"
    done
    gen "${XTX[@]}" --ports 64 --frame-size 64 && record "$dp" "unicast 64 ports 64B" "$run"
    gen "${XTX[@]}" --ports 8 --mode broadcast --frame-size 64 && record "$dp" "broadcast 8 ports 64B" "$run"
    gen "${XTX[@]}" --ports 2 --macs 50000 --frame-size 64 && record "$dp" "unicast 100k MACs 64B" "$run"
    napi_threaded 0
    gen "${XTX[@]}" --ports 2 --frame-size 64 && record "$dp" "NAPI on generator core, 64B" "$run"
    gen --xdp-live bn-gen --count-iface bn-gen --ports 2 --frame-size 64 && record "$dp" "XDP flood, NAPI on generator core, 64B" "$run"
    napi_threaded 1
    sink_off
    gen --ports 2 --frame-size 64 --rate 20000 --receive && record "$dp" "latency 20k pps 64B" "$run"
    sink_on
  done
  # Throughput in the RFC 2544 sense: the highest offered rate that loses at most LOSS_MAX %,
  # paced rates tried from the top down, with the server's NAPI on its own core and on the
  # generator's. Where the generator falls short of the rate asked (below 98%: it shares its
  # core with the server's receive path in the second setting), a held run is only a lower
  # bound: the search goes on down until a rate is held as asked or the rates asked fall
  # below the best offered so far, and the row is marked generator-bound.
  for napi in 1 0; do
    napi_threaded $napi
    where=$([[ $napi == 1 ]] && echo "NAPI with server" || echo "NAPI on generator core")
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
        log "$dp $where: $offered pps held, but $rate asked"
      else
        log "$dp $where: $rate pps not held ($(jq -r '"offered \(.offered_pps|floor), loss \(.loss_pct)%"' <<<"$RUN_JSON"))"
      fi
    done
    if [[ -n $best_json ]]; then
      RUN_JSON=$best_json
      record "$dp" "throughput at <= ${LOSS_MAX}% loss, $where, 64B$bound" 1
    else
      log "$dp $where: no rate held"
    fi
  done
  napi_threaded 1
  stop_server
done
echo "]" >>"$JSON"

{
  echo "## Server forwarding rate ($(date -u +%F), $(nproc) cores, kernel $(uname -r))"
  echo
  echo "UDP-socket generator alone (loopback, server out of the loop): $LOOPBACK_PPS packets/s; the"
  echo "rows use the AF_XDP generator (offered pps shows what it reached) and the latency rows UDP sockets."
  echo "Server and its veth NAPI pinned to CPU 0, generator to CPU 1, $DUR s per run, $RUNS runs."
  echo "server core % = CPU 0 busy (user+system+irq+softirq); process % = the vswitch process alone"
  echo "(tick accounting also charges it softirq that ran in its context); ns/pkt = CPU 0 busy / forwarded."
  echo
  echo "| datapath | scenario | run | offered pps | forwarded pps | Gbit/s | loss % | server core % | process % | ns/pkt | latency p50/p99 us |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  jq -r '.[] | "| \(.datapath) | \(.scenario) | \(.run) | \(.offered_pps|floor) | \(.forwarded_pps|floor) | \(.forwarded_gbps) | \(.loss_pct) | \(.server_core_pct|floor) | \(.server_process_pct|floor) | \(.ns_per_pkt // "-" | if type=="number" then floor else . end) | \(if .latency_us then "\(.latency_us.p50)/\(.latency_us.p99)" else "-" end) |"' "$JSON"
  echo
  echo "Micro-benchmarks (ns per operation; baseline measured in the same run):"
  echo
  echo "| operation | ns | baseline | baseline ns | ratio |"
  echo "|---|---|---|---|---|"
  echo "$MICRO"
  echo
  echo "Ratios to the socket datapath (mean over runs, same scenario):"
  echo
  echo "| datapath | scenario | forwarded pps x | ns/pkt x |"
  echo "|---|---|---|---|"
  jq -r 'group_by(.scenario)[] as $g | ($g | map(select(.datapath=="socket"))) as $base
    | select(($base|length) > 0)
    | ($base | (map(.forwarded_pps)|add/length)) as $bp | ($base | (map(.ns_per_pkt // 0)|add/length)) as $bn
    | $g | group_by(.datapath)[] | select(.[0].datapath != "socket")
    | (map(.forwarded_pps)|add/length) as $p | (map(.ns_per_pkt // 0)|add/length) as $n
    | "| \(.[0].datapath) | \(.[0].scenario) | \(if $bp > 0 then ($p/$bp*100|round/100) else "-" end) | \(if $bn > 0 then ($n/$bn*100|round/100) else "-" end) |"' "$JSON"
} | tee "$MD"
cleanup
trap - EXIT

# ---------------------------------------------------------------- 2+3. end to end, with peers
if [[ $E2E == 1 ]]; then
  [[ -d $PEERS_DIR ]] || { echo "bench: no peers harness at $PEERS_DIR" >&2; exit 1; }
  E2E_OUT="$OUT/$STAMP-e2e.md"
  : >"$E2E_OUT"
  log "end to end through vport clients (peers harness, RUNS=$RUNS)"
  BIN_DIR=$BIN RUNS=$RUNS bash "$PEERS_DIR/vswitch.sh" socket afxdp-generic afxdp-native 2>>"$WORK.e2e.log" | tee -a "$E2E_OUT"
  for p in $PEERS; do
    case $p in
      tinc) args=(none) ;;
      openvpn) args=(none) ;;
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
log "results: $MD ${E2E_OUT:-} ${LADDER_OUT:-} $JSON"
