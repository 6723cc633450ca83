#!/usr/bin/env bash
# systemd's notify protocol as vswitch.service (Type=notify, WatchdogSec=) uses it: the server
# runs with NOTIFY_SOCKET pointing at a socket this test reads, as systemd would, and must send
# READY=1 once it forwards, WATCHDOG=1 at half the watchdog interval, RELOADING=1 then READY=1
# around a reload, and STOPPING=1 when it exits. A vport sends READY=1 once its TAP exists.
#
#   vst-c1 198.18.0.11 --+-- br0 --+-- vst-srv 198.18.0.1 (vswitch, NOTIFY_SOCKET -> listener)
set -u
. "$(dirname "$0")/lib.sh"
require_root
topo_up 1

messages="$WORK/notify.txt"
timeout 60 python3 "$(dirname "$0")/notify_listen.py" "$WORK/notify.sock" 50 >"$messages" 2>&1 &
PIDS+=("$!")
wait_for 5 grep -qs listening "$messages" || fail "the notify listener did not start"
export NOTIFY_SOCKET=$WORK/notify.sock WATCHDOG_USEC=2000000
start_server
unset NOTIFY_SOCKET WATCHDOG_USEC
check "READY=1 once the server answers, with a STATUS" wait_for 5 grep -q "READY=1|STATUS=listening on $SRV_IP:$PORT" "$messages"
# WatchdogSec=2s: a WATCHDOG=1 at least every second (half the interval, as sd_watchdog_enabled(3)
# advises), over four seconds.
wait_for 10 bash -c "(( \$(grep -c 'WATCHDOG=1' '$messages') >= 5 ))"
gaps=$(grep 'WATCHDOG=1' "$messages" | awk 'NR > 1 { g = $1 - prev; if (g > max) max = g } { prev = $1 } END { printf "%.2f", max }')
check "WATCHDOG=1 arrives at half the 2 s interval (largest gap ${gaps} s)" awk -v g="$gaps" 'BEGIN { exit !(g > 0 && g <= 1.5) }'
check "vswitchctl reload succeeds" ctl reload
check "RELOADING=1 (with MONOTONIC_USEC) then READY=1 around the reload" wait_for 5 bash -c \
  "grep -A1 'RELOADING=1|MONOTONIC_USEC=' '$messages' | tail -n1 | grep -q 'READY=1'"
# A client: READY once its TAP is up.
export NOTIFY_SOCKET=$WORK/notify.sock
start_client 1
unset NOTIFY_SOCKET
check "vport sends READY=1 with its TAP's name" wait_for 5 grep -q "READY=1|STATUS=vs0 up" "$messages"
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
check "STOPPING=1 when the server exits" wait_for 5 grep -q "STOPPING=1" "$messages"
finish
