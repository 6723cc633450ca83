# shellcheck shell=bash
# EVPN helpers shared by tests/e2e/test_evpn.sh and scripts/bench_evpn.sh (after lib.sh): FRR per
# namespace (zebra + bgpd, iBGP AS 65000, full mesh among EVPN_PEERS), vswitch servers with EVPN,
# and vport clients with TAP names of their own.
EVPN_PEERS=${EVPN_PEERS:-198.18.0.1 198.18.0.2 198.18.0.3}

# start_frr NS ADDRESS: zebra and bgpd in NS with paths of their own under $WORK, killed by PID at
# cleanup (their PIDs join PIDS; their command lines name $WORK, which the leak check looks for).
start_frr() {
  local ns=$1 me=$2 dir=$WORK/frr-$1 peer d
  chmod 711 "$WORK"  # FRR drops to user frr: it must reach its own folder (the keys stay 0700)
  mkdir -p "$dir" && chown frr:frr "$dir"
  printf 'hostname %s\nlog file %s/zebra.log\n' "$ns" "$dir" >"$dir/zebra.conf"
  {
    printf 'hostname %s\nlog file %s/bgpd.log\nrouter bgp 65000\n bgp router-id %s\n no bgp default ipv4-unicast\n' "$ns" "$dir" "$me"
    for peer in $EVPN_PEERS; do
      [[ $peer == "$me" ]] || printf ' neighbor %s remote-as 65000\n neighbor %s timers connect 1\n' "$peer" "$peer"
    done
    printf ' address-family l2vpn evpn\n'
    for peer in $EVPN_PEERS; do [[ $peer == "$me" ]] || printf '  neighbor %s activate\n' "$peer"; done
    printf '  advertise-all-vni\n exit-address-family\n'
  } >"$dir/bgpd.conf"
  chown frr:frr "$dir"/*.conf
  for d in zebra bgpd; do
    n "$ns" /usr/lib/frr/$d -d -f "$dir/$d.conf" -i "$dir/$d.pid" -z "$dir/zserv.api" --vty_socket "$dir" -u frr -g frr \
      >>"$dir/start.log" 2>&1
    wait_for 10 test -s "$dir/$d.pid" && PIDS+=("$(cat "$dir/$d.pid")")
  done
}
vtysh_in() { local ns=$1; shift; n "$ns" vtysh --vty_socket "$WORK/frr-$ns" "$@"; }
# established NS COUNT: COUNT of NS's BGP EVPN peers are Established.
established() {
  [[ $(vtysh_in "$1" -c 'show bgp l2vpn evpn summary json' 2>/dev/null |
    jq '[.. | objects | select(.state? == "Established")] | length') == "${2:-2}" ]]
}
# evpn_server NS ADDRESS SOCKET [vswitch args]: vswitch with EVPN on its underlay interface NS-u;
# LAST_SERVER is its PID.
evpn_server() {
  local ns=$1 addr=$2 sock=$3; shift 3
  ip netns exec "$ns" "$BIN_DIR/vswitch" --listen "$addr:$PORT" $(server_auth) --control "$sock" "${DATAPATH_ARGS[@]/$P-srv-u/$ns-u}" \
    --evpn-vtep "$addr" "$@" >>"$WORK/vswitch-$ns.log" 2>&1 &
  PIDS+=("$!")
  LAST_SERVER=$!
  wait_for 10 "$BIN_DIR/vswitchctl" --control "$sock" stats >/dev/null 2>&1 || fail "vswitch in $ns did not start"
}
# evpn_client I SERVER_ADDRESS [vport args]: vport in cI, TAP vsI<n> (a name of its own per start:
# the kernel removes a TAP only after its owner exited); CLIENT_PID[I], CLIENT_TAP[I].
declare -A CLIENT_TAP
TAPS=0
evpn_client() {
  local i=$1 srv=$2; shift 2
  TAPS=$((TAPS + 1))  # not inside the background command: that expansion would happen in its subshell
  ip netns exec "$P-c$i" "$BIN_DIR/vport" --server "$srv:$PORT" $(client_auth "$i") --tap "vs$i$TAPS" \
    --ip "198.19.0.1$i/24" --mac "02:00:00:00:00:0$i" "$@" >>"$WORK/vport-c$i.log" 2>&1 &
  CLIENT_PID[$i]=$!
  PIDS+=("$!")
  CLIENT_TAP[$i]=vs$i$TAPS
}
