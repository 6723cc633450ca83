# shellcheck shell=bash
# Shared helpers for the end-to-end scenarios: namespaces, processes, assertions, cleanup.
# Sourced by tests/e2e/test_*.sh; every scenario builds this topology (or a subset):
#
#   vst-c1 198.18.0.11 --veth--+
#   vst-c2 198.18.0.12 --veth--+-- br0 in vst-net ("the internet")
#   vst-c3 198.18.0.13 --veth--+
#   vst-srv 198.18.0.1 --veth--+   vswitch listens on 198.18.0.1:9797
#
# (Names are shown with the prefix "vst"; each run adds 4 hex digits of its own, $P.)
# (`ip netns exec` execs the program, so $! is the daemon itself.)
# Each client runs vport with TAP "vs0" and overlay address 198.19.0.1N/24.
# MODE=secure (default): keys from `vswitchctl genkey` in $WORK/keys, every client a member of
# networks 1 and 2; MODE=insecure: the unauthenticated protocol v1 (--insecure on both sides).
# Everything lives in namespaces created here; cleanup runs on every exit (trap).
set -u

BIN_DIR=$(readlink -f "${BIN_DIR:-$(dirname "${BASH_SOURCE[0]}")/../../build}")
# A prefix of this run's own (vst + 4 hex digits): two runs side by side never touch each
# other's namespaces. Benchmarks set NS_PREFIX. Interface names stay within 15 characters.
P=${NS_PREFIX:-vst$(printf %04x $((RANDOM)))}
NS_NET=$P-net
NS_SRV=$P-srv
SRV_IP=198.18.0.1
PORT=9797
WORK=$(mktemp -d /tmp/vswitch-e2e.XXXXXX)
CTL_SOCK=$WORK/vswitch.sock
PIDS=()
PASSED=0
FAILED=0
SCENARIO=$(basename "$0" .sh)
# The server datapath under test: socket | afxdp-native | afxdp-generic (ctest runs each).
DATAPATH=${DATAPATH:-socket}
case $DATAPATH in
  socket) DATAPATH_ARGS=(--datapath socket) ;;
  afxdp-native) DATAPATH_ARGS=(--datapath afxdp --iface $P-srv-u --xdp-mode native) ;;
  afxdp-generic) DATAPATH_ARGS=(--datapath afxdp --iface $P-srv-u --xdp-mode generic) ;;
  *) echo "unknown DATAPATH=$DATAPATH"; exit 1 ;;
esac
MODE=${MODE:-secure}
case $MODE in secure|insecure) ;; *) echo "unknown MODE=$MODE"; exit 1 ;; esac
if [[ $MODE == insecure ]]; then SCENARIO="$SCENARIO[$DATAPATH,insecure]"; else SCENARIO="$SCENARIO[$DATAPATH]"; fi
KEYS=$WORK/keys

log() { echo "[$SCENARIO $(date +%H:%M:%S)] $*" >&2; }
n() { local ns=$1; shift; ip netns exec "$ns" "$@"; }  # run in a namespace
pass() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
check() {  # check "description" command...: passes when the command succeeds
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

cleanup() {
  local p ns
  trap - EXIT INT TERM
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done  # 1 s deadline
    kill -9 "$p" 2>/dev/null
  done
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns del "$ns" 2>/dev/null; done
  # A sanitizer build (ASan, UBSan, TSan) reports into the daemons' logs: any report fails the run.
  local reports
  reports=$(grep -l -E "ThreadSanitizer|AddressSanitizer|LeakSanitizer|runtime error:" "$WORK"/*.log 2>/dev/null)
  if [[ -n $reports ]]; then
    fail "sanitizer reports in: $reports"
    for f in $reports; do echo "--- $f"; grep -A 30 -m 3 -E "Sanitizer|runtime error:" "$f"; done
  fi
  if ((FAILED)); then
    log "logs of the failed run:"
    for f in "$WORK"/*.log; do [[ -f $f ]] && { echo "--- $f"; tail -n 30 "$f"; }; done
  fi
  [[ -n ${KEEP_WORK:-} ]] || rm -rf "$WORK"
}

finish() {  # leak check, then the summary line CI reads
  cleanup
  local left procs
  left=$(ip netns list | awk '{print $1}' | grep "^$P-" | tr '\n' ' ')
  if [[ -n $left ]]; then fail "namespaces left behind: $left"; else pass "no namespace left behind"; fi
  left=$(ip -o link show | awk -F': ' '{print $2}' | grep "^$P-" | tr '\n' ' ')
  if [[ -n $left ]]; then fail "interfaces left behind: $left"; else pass "no interface left behind"; fi
  # XDP programs this run loaded: a BPF link dies with its process and a program with its last
  # link, so none may outlive the run.
  left=$(comm -13 <(echo "$XDP_PROGS_BEFORE") <(xdp_programs) | tr '\n' ' ')
  if [[ -n $left ]]; then fail "XDP programs left behind: $left"; else pass "no XDP program left behind"; fi
  # Every daemon of this run names its work folder (control socket, keys, logs) on its command line.
  procs=$(pgrep -f -- "$WORK" | tr '\n' ' ')
  if [[ -n $procs ]]; then
    fail "processes left behind: $(ps -o pid=,args= -p "${procs// /,}" 2>/dev/null | tr '\n' ';')"
    pkill -9 -f -- "$WORK"
  else
    pass "no process left behind"
  fi
  echo "$SCENARIO: $PASSED passed, $FAILED failed"
  ((FAILED == 0))
  exit $?
}

# IDs of the loaded vswitch XDP programs (sorted), to tell what a run left behind.
# Ids of vswitch XDP programs, except those another run's live process holds (a run beside this
# one, e.g. CI and a developer's test, must not count as this run's leak). A process holds a
# program through a prog or link fd, whose fdinfo names the program's id.
xdp_programs() {
  local id holders pid
  for id in $(bpftool prog show name vswitch_xdp 2>/dev/null | grep -o '^[0-9]*'); do
    holders=$(grep -lsE "^prog_id:[[:space:]]+$id\$" /proc/[0-9]*/fdinfo/* 2>/dev/null | cut -d/ -f3 | sort -u)
    for pid in $holders; do
      grep -qF -- "$WORK" "/proc/$pid/cmdline" 2>/dev/null || continue 2
    done
    echo "$id"
  done | sort
}
XDP_PROGS_BEFORE=$(xdp_programs)

require_root() {
  if [[ $(id -u) -ne 0 ]]; then echo "SKIP: $SCENARIO needs root (network namespaces)"; exit 77; fi
  for b in vswitch vport vswitchctl; do
    [[ -x $BIN_DIR/$b ]] || { echo "FAIL: no $BIN_DIR/$b (build first)"; exit 1; }
  done
}

# topo_up CLIENTS [SERVER_QUEUES]: the bridge namespace, the server and clients c1..cN.
topo_up() {
  local count=$1 queues=${2:-1} i ns
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns del "$ns"; done
  ip netns add $NS_NET
  n $NS_NET ip link set lo up
  n $NS_NET ip link add br0 type bridge
  n $NS_NET ip link set br0 up
  add_host $NS_SRV $SRV_IP "$queues"
  for ((i = 1; i <= count; i++)); do add_host "$P-c$i" "198.18.0.1$i"; done
  make_keys "$count"
}

add_host() {  # add_host NS UNDERLAY_IP [QUEUES]
  local ns=$1 ip=$2 tag=${1#"$P"-} q=${3:-1}
  ip netns add "$ns"
  n "$ns" ip link set lo up
  ip link add "$P-$tag-u" netns "$ns" numrxqueues "$q" numtxqueues "$q" type veth \
    peer name "$P-$tag-p" netns $NS_NET numrxqueues "$q" numtxqueues "$q"
  n $NS_NET ip link set "$P-$tag-p" master br0 up
  n "$ns" ip addr add "$ip/24" dev "$P-$tag-u"
  n "$ns" ip link set "$P-$tag-u" up
}

# make_keys N: a server key and keys for clients 1..N, each a member of networks 1 and 2.
make_keys() {
  local n=$1 i pub
  mkdir -p "$KEYS" && chmod 700 "$KEYS"
  [[ -f $KEYS/server.key ]] || (umask 077 && "$BIN_DIR/vswitchctl" genkey >"$KEYS/server.key")
  SRV_PUB=$("$BIN_DIR/vswitchctl" pubkey <"$KEYS/server.key")
  : >"$KEYS/members.conf"
  for ((i = 1; i <= n; i++)); do
    [[ -f $KEYS/c$i.key ]] || (umask 077 && "$BIN_DIR/vswitchctl" genkey >"$KEYS/c$i.key")
    pub=$("$BIN_DIR/vswitchctl" pubkey <"$KEYS/c$i.key")
    printf '%s 1 c%s\n%s 2 c%s\n' "$pub" "$i" "$pub" "$i" >>"$KEYS/members.conf"
  done
}
# bench_keys N: keys for N vswitch-bench ports in $KEYS/bench (members of network 1), before
# the server starts; BENCH_AUTH holds the generator's arguments for the current MODE.
bench_keys() {
  local n=$1 i
  BENCH_AUTH=()
  [[ $MODE == secure ]] || return 0
  mkdir -p "$KEYS/bench"
  echo "$SRV_PUB" >"$KEYS/bench/server.pub"
  for ((i = 0; i < n; i++)); do
    (umask 077 && "$BIN_DIR/vswitchctl" genkey >"$KEYS/bench/p$i.key")
    echo "$("$BIN_DIR/vswitchctl" pubkey <"$KEYS/bench/p$i.key") 1 bench$i" >>"$KEYS/members.conf"
  done
  BENCH_AUTH=(--key-dir "$KEYS/bench")
}
# json_ok FILE FILTER: the file holds exactly one JSON value and FILTER is true of it (an empty or
# missing result is a failure, not a pass).
json_ok() { [[ -s $1 ]] && jq -e -s "length == 1 and (.[0] | $2)" "$1" >/dev/null; }
# ... the same for standard input (a command that printed nothing fails the check).
stdin_json_ok() { jq -e -s "length == 1 and (.[0] | $1)" >/dev/null; }
server_auth() {
  if [[ $MODE == secure ]]; then echo --key-file "$KEYS/server.key" --members "$KEYS/members.conf"; else echo --insecure; fi
}
client_auth() {  # client_auth I
  if [[ $MODE == secure ]]; then echo --server-key "$SRV_PUB" --key-file "$KEYS/c$1.key"; else echo --insecure; fi
}

# start_server [extra vswitch args]: background vswitch in vst-srv on $DATAPATH; SERVER_PID.
start_server() {
  # shellcheck disable=SC2046
  ip netns exec $NS_SRV "$BIN_DIR/vswitch" --listen $SRV_IP:$PORT $(server_auth) --control "$CTL_SOCK" \
    "${DATAPATH_ARGS[@]}" "$@" \
    >>"$WORK/vswitch.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  # Ready when its control socket answers (a killed server's stale socket file does not).
  wait_for 10 server_answers && return 0
  fail "vswitch did not start"; return 1
}
server_answers() { kill -0 "$SERVER_PID" 2>/dev/null && "$BIN_DIR/vswitchctl" --control "$CTL_SOCK" stats >/dev/null 2>&1; }

# start_client I [extra vport args]: vport in vst-cI with TAP vs0, 198.19.0.1I/24; CLIENT_PID[I].
declare -A CLIENT_PID
start_client() {
  local i=$1; shift
  # shellcheck disable=SC2046
  ip netns exec "$P-c$i" "$BIN_DIR/vport" --server $SRV_IP:$PORT $(client_auth "$i") --tap vs0 \
    --ip "198.19.0.1$i/24" --mac "02:00:00:00:00:0$i" "$@" >>"$WORK/vport-c$i.log" 2>&1 &
  CLIENT_PID[$i]=$!
  PIDS+=("$!")
}

ctl() { "$BIN_DIR/vswitchctl" --control "$CTL_SOCK" "$@"; }
# Ports whose client confirmed its session (a half-open v2 handshake is not a member online).
port_count() { ctl ports --json | jq '[.ports[] | select(.active)] | length'; }
stat_value() {  # stat_value NAME: a counter or drop reason from `vswitchctl stats --json`
  ctl stats --json | grep -o "\"$1\":[0-9]*" | head -n1 | cut -d: -f2
}
fact() {  # fact NAME: a datapath fact (string) from `vswitchctl stats --json`
  ctl stats --json | jq -r ".datapath[\"$1\"]"
}
# The datapath the server reports matches the one asked for.
datapath_is_expected() {
  case $DATAPATH in
    socket) [[ $(fact datapath) == socket ]] ;;
    afxdp-*) [[ $(fact datapath) == afxdp && $(fact xdp_mode) == "${DATAPATH#afxdp-}" ]] ;;
  esac
}

wait_for() {  # wait_for SECONDS command...: polls every 0.2 s
  local limit=$1 start=$SECONDS; shift
  until "$@"; do
    ((SECONDS - start >= limit)) && return 1
    sleep 0.2  # the poll of a wait with a deadline
  done
}
# link_local_ready I: waits until cI's vs0 has a link-local address that passed DAD (a
# tentative address cannot be bound: EADDRNOTAVAIL; a transfer right after a restart once failed so).
link_local_ready() {
  wait_for 10 bash -c "ip netns exec $P-c$1 ip -6 addr show dev vs0 scope link | grep -q fe80 &&
    ! ip netns exec $P-c$1 ip -6 addr show dev vs0 | grep -q tentative"
}
ports_are() { [[ $(port_count) == "$1" ]]; }

# capture NS IFACE FILE [FILTER...]: tcpdump in the background (bounded to 60 s) that returns once
# it is listening, so nothing sent afterwards is missed; CAPTURE_PID. Immediate mode: packets
# reach the file as they arrive (libpcap otherwise hands them over in blocks, up to a second late).
capture() {
  local ns=$1 iface=$2 file=$3; shift 3
  rm -f "$file.log"  # an earlier capture's "listening on" must not pass for this one's
  ip netns exec "$ns" timeout 60 tcpdump -i "$iface" -n -p -U --immediate-mode -w "$file" "$@" 2>"$file.log" &
  CAPTURE_PID=$!
  PIDS+=("$CAPTURE_PID")
  wait_for 5 grep -q "listening on" "$file.log" || fail "tcpdump on $iface did not start: $(cat "$file.log")"
}
capture_count() { tcpdump -r "$1" -n 2>/dev/null | wc -l; }
# stop_capture PID [FILE MIN]: waits (bounded) until FILE holds MIN packets, then stops tcpdump. A
# capture that must stay empty is stopped after one that must fill up, which marks the moment
# any stray copy would have arrived too.
stop_capture() {
  local pid=$1 file=${2:-} min=${3:-0}
  [[ -n $file ]] && wait_for 5 capture_has "$file" "$min"
  kill -INT "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}
capture_has() { (($(capture_count "$1") >= $2)); }
# tcp_listening NS PORT: something in NS listens on TCP PORT (an iperf3 server has started).
tcp_listening() { ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .; }
pings() { n "$P-c$1" ping -c "${3:-1}" -W 1 -i 0.2 -q "$2" >/dev/null 2>&1; }
