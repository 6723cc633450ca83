#!/usr/bin/env bash
# Bad flags, missing privileges, absent devices and absent servers: each is one clear line and
# a non-zero exit, or, for a server that is not there yet, a client that waits and says so.
#
#   vst-c1 198.18.0.11 --+-- br0 --+-- vst-srv 198.18.0.1
set -u
. "$(dirname "$0")/lib.sh"
require_root
topo_up 1

expect_error() {  # expect_error "description" "expected message part" command...
  local what=$1 want=$2 out rc; shift 2
  [[ $1 == n ]] && set -- ip netns exec "${@:2}"  # timeout runs programs, not functions
  out=$(timeout 10 "$@" 2>&1); rc=$?
  if ((rc != 0)) && grep -q -- "$want" <<<"$out"; then
    pass "$what (exit $rc: $(head -n1 <<<"$out" | cut -c1-90))"
  else
    fail "$what: exit $rc, output: $out"
  fi
}
VS="$BIN_DIR/vswitch"
VP="$BIN_DIR/vport"

# Test that both programs refuse to run in the clear unless told so.
expect_error "vswitch without --insecure" "--insecure" n $NS_SRV "$VS" --listen $SRV_IP:$PORT --control "$WORK/x.sock"
expect_error "vport without --insecure" "--insecure" n $P-c1 "$VP" --server $SRV_IP:$PORT --tap vs0

# Test that bad flags and values are refused.
expect_error "vswitch --fdb-max 0" "fdb-max" "$VS" --insecure --fdb-max 0
expect_error "vswitch --datapath bogus" "datapath" "$VS" --insecure --datapath bogus
expect_error "vswitch --ring-size not a power of two" "ring-size" "$VS" --insecure --ring-size 3000
expect_error "vswitch bad --listen" "bad --listen" "$VS" --insecure --listen 198.18.0.1:99999
expect_error "vswitch --listen on an address this host lacks" "cannot listen" \
  n $NS_SRV "$VS" --insecure --listen 198.18.9.9:$PORT --control "$WORK/x.sock"
expect_error "vport --mac multicast" "bad --mac" n $P-c1 "$VP" --insecure --server $SRV_IP --mac 01:00:5e:00:00:01
expect_error "vport --mtu too small" "mtu" n $P-c1 "$VP" --insecure --server $SRV_IP --mtu 100
expect_error "vport --network garbage" "bad --network" n $P-c1 "$VP" --insecure --server $SRV_IP --network 12z
expect_error "vport --ip garbage" "bad" n $P-c1 "$VP" --insecure --server $SRV_IP --tap vs9 --ip 198.19.0.300/24
expect_error "vport without --server" "server" "$VP" --insecure
# Test that config files report the file and line of what is wrong, and that the command line
# overrides them.
printf '# a server\ninsecure = true\nfdb-max = 0\n' >"$WORK/bad-value.conf"
printf 'insecure = true\n\nbogus-key = 1\n' >"$WORK/bad-key.conf"
printf 'insecure = true\nlisten 198.18.0.1\n' >"$WORK/bad-line.conf"
expect_error "vswitch --config with a bad value names its line" "bad-value.conf:3: --fdb-max" "$VS" --config "$WORK/bad-value.conf"
expect_error "vswitch --config with an unknown key names its line" "bad-key.conf:3: unknown key 'bogus-key'" \
  "$VS" --config "$WORK/bad-key.conf"
expect_error "vswitch --config with a malformed line names its line" "bad-line.conf:2: expected 'key = value'" \
  "$VS" --config "$WORK/bad-line.conf"
expect_error "vport --config with an unknown key" "bad-key.conf:3: unknown key" "$VP" --config "$WORK/bad-key.conf"
expect_error "vswitch --config of a missing file" "cannot read the config file" "$VS" --config "$WORK/none.conf"
printf 'insecure = true\nlisten = 198.18.9.9:%s\ndatapath = socket\ncontrol = %s\n' "$PORT" "$WORK/cfg.sock" >"$WORK/good.conf"
expect_error "vswitch reads --listen from its config file" "cannot listen on 198.18.9.9" \
  n $NS_SRV "$VS" --config "$WORK/good.conf"
ip netns exec $NS_SRV "$VS" --config "$WORK/good.conf" --listen $SRV_IP:$PORT >"$WORK/cfg-server.log" 2>&1 &
cfg_server=$!
PIDS+=("$cfg_server")
check "the command line overrides the file (--listen), the rest comes from it (--control)" \
  wait_for 5 grep -q "listening on $SRV_IP:$PORT .*control $WORK/cfg.sock" "$WORK/cfg-server.log"
kill "$cfg_server"
wait "$cfg_server" 2>/dev/null
expect_error "vswitchctl with no server" "cannot connect" "$BIN_DIR/vswitchctl" --control "$WORK/none.sock" ports
"$BIN_DIR/vswitchctl" --control "$WORK/none.sock" show >/dev/null 2>&1
check "vswitchctl exits 7 when no server answers" test $? == 7
"$BIN_DIR/vswitchctl" --control "$WORK/none.sock" bogus >/dev/null 2>&1
check "vswitchctl exits 2 on a usage error" test $? == 2
for b in vswitch vport vswitchctl; do
  check "$b --version" bash -c "'$BIN_DIR/$b' --version | grep -qx '$b [0-9.]*'"
done
expect_error "vswitchctl unknown command" "ports" "$BIN_DIR/vswitchctl" --control "$WORK/none.sock" bogus

# Test that environment problems get a clear message.
expect_error "unresolvable server" "cannot resolve" n $P-c1 "$VP" --insecure --server no-such-host.invalid:9797
n $P-c1 ip tuntap add dev taken0 mode tap  # persistent: TUNSETIFF would attach to it
expect_error "TAP name taken" "already exists" n $P-c1 "$VP" --insecure --server $SRV_IP --tap taken0
expect_error "not root" "needs root or CAP_NET_ADMIN" \
  n $P-c1 setpriv --reuid=65534 --regid=65534 --clear-groups "$VP" --insecure --server $SRV_IP --tap vs0
expect_error "no /dev/net/tun" "/dev/net/tun does not exist" \
  n $P-c1 unshare -m bash -c "mount -t tmpfs none /dev/net && exec $VP --insecure --server $SRV_IP --tap vs0"
check "no TAP was left by the failures" bash -c "! ip netns exec $P-c1 ip -o link | grep -q 'vs[09]'"

expect_error "vswitch --allow-underlay with host bits" "host bits" "$VS" --insecure --allow-underlay 198.18.0.1/16
expect_error "vswitch --deny-underlay garbage" "deny-underlay" "$VS" --insecure --deny-underlay not-a-prefix
expect_error "vswitch --flood-limit negative" "flood-limit" "$VS" --insecure --flood-limit -1

# Test that --control never removes what is not a stale socket: a regular file stays intact.
echo "precious" >"$WORK/not-a-socket"
expect_error "vswitch --control on a regular file" "not a socket" \
  n $NS_SRV "$VS" --insecure --listen $SRV_IP:$PORT --control "$WORK/not-a-socket"
check "... and the file is untouched" grep -qx precious "$WORK/not-a-socket"

# Test that a second server cannot take a live control socket.
start_server
expect_error "second vswitch on the same control socket" "in use" \
  n $NS_SRV "$VS" --insecure --listen $SRV_IP:9798 --control "$CTL_SOCK"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"
check "the control socket is removed on exit" test ! -e "$CTL_SOCK"

# Test that a client started before its server keeps trying, says so, and joins once the
# server appears.
start_client 1 --keepalive 1
check "vport says it gets no answer" wait_for 8 grep -q "no answer from server" "$WORK/vport-c1.log"
check "vport keeps running" kill -0 "${CLIENT_PID[1]}"
start_server
check "vport joins once the server is up" wait_for 5 ports_are 1

finish
