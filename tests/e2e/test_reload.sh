#!/usr/bin/env bash
# Reload: `vswitchctl reload` and SIGHUP read the command line's --config file and the members file
# again. Limits and the log level change at once without touching a session; an option only a
# restart can change is named; a file with an error is refused whole and the old settings stay.
#
#   vst-c1 198.18.0.11 --+
#   vst-c2 198.18.0.12 --+-- br0 in vst-net --- vst-srv 198.18.0.1: vswitch --config vswitch.conf
set -u
. "$(dirname "$0")/lib.sh"
require_root
[[ $MODE == secure ]] || { echo "SKIP: $SCENARIO reloads a members file (the secure protocol)"; exit 77; }
here=$(dirname "$0")
topo_up 2
CONF=$WORK/vswitch.conf
settings() {  # settings PORT_MAX_MACS LOG_LEVEL [extra lines]: the reloadable part of the server's file
  printf 'port-max-macs = %s\nlog-level = %s\n' "$1" "$2" >"$CONF"
  shift 2
  for line in "$@"; do echo "$line" >>"$CONF"; done
}
c1_macs() { ctl ports --json | jq '[.ports[] | select(.member == "c1")][0].macs'; }
c1_macs_are() { [[ $(c1_macs) == "$1" ]]; }
flood_macs() {  # flood_macs COUNT FIRST: c1 sends COUNT frames from new source MACs
  n $P-c1 python3 "$here/mac_flood.py" vs0 "$1" 200 "$2" >/dev/null
}
reload_says() {  # reload_says WANT_STATUS TEXT: vswitchctl reload exits so and prints TEXT
  local out rc
  out=$(ctl reload 2>&1); rc=$?
  echo "    vswitchctl reload: exit $rc: $out"
  [[ $rc == "$1" ]] && grep -qF -- "$2" <<<"$out"
}

settings 1024 info
start_server --config "$CONF"
start_client 1
start_client 2
check "two members join" wait_for 10 ports_are 2
check "c1 pings c2" pings 1 198.19.0.12 3
accepted=$(stat_value handshakes_accepted)

# Test that a reload lowers the per-port MAC limit, raises the log level, and names what it keeps.
settings 3 debug "mtu = 1400"
check "reload says ok and that --mtu waits for a restart" reload_says 0 "ok (changed but kept until a restart: --mtu)"
flood_macs 10 100
check "c1's port now holds at most 3 MACs ($(c1_macs))" wait_for 5 c1_macs_are 3
check "... by replacing its own oldest (replaced_own $(stat_value replaced_own))" test "$(stat_value replaced_own)" -gt 0
check "no session was dropped (handshakes $accepted -> $(stat_value handshakes_accepted), ports 2)" \
  test "$(stat_value handshakes_accepted)" == "$accepted" -a "$(port_count)" == 2
check "c1 still pings c2" pings 1 198.19.0.12 3
# A client that crashed and comes back handshakes onto its old port: a line only debug shows.
kill -9 "${CLIENT_PID[2]}"; wait "${CLIENT_PID[2]}" 2>/dev/null
start_client 2
check "the debug level is in force: c2's new session is logged at debug" \
  wait_for 10 grep -q "debug member c2: new session" "$WORK/vswitch.log"

# Test that a file with an error is refused whole, naming its line, and the old settings stay.
settings 50 info "bogus-key = 1"
check "reload of a file with an unknown key fails (exit 1), naming file and line" \
  reload_says 1 "vswitch.conf:3: unknown key 'bogus-key'"
flood_macs 10 200
check "the old limit (3) is still in force" wait_for 5 c1_macs_are 3
settings x info
check "a bad value fails too, naming the option" reload_says 1 "port-max-macs"
cp "$KEYS/members.conf" "$WORK/members.good"
echo "not a key 1 mallory" >>"$KEYS/members.conf"
settings 50 info
check "a members file with an error fails the whole reload, naming its line" reload_says 1 "members.conf:5"
flood_macs 10 300
check "... and the limit did not change either (still 3)" wait_for 5 c1_macs_are 3
check "the members stay: c1 pings c2" pings 1 198.19.0.12 3

# Test that SIGHUP runs the same reload.
cp "$WORK/members.good" "$KEYS/members.conf"
settings 6 info
kill -HUP "$SERVER_PID"
check "SIGHUP is logged as a reload" wait_for 5 grep -q "info  reloaded" "$WORK/vswitch.log"
flood_macs 10 400
check "after SIGHUP c1's port holds up to 6 MACs" wait_for 5 c1_macs_are 6
printf 'port-max-macs = 0\n' >"$CONF"
kill -HUP "$SERVER_PID"
check "a SIGHUP with an error is logged: 'reload (SIGHUP) failed, old settings kept'" \
  wait_for 5 grep -q "reload (SIGHUP) failed, old settings kept: .*vswitch.conf:1" "$WORK/vswitch.log"
check "the server still runs and answers" server_answers

finish
