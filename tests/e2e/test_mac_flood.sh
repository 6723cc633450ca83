#!/usr/bin/env bash
# A member floods the MAC table (1,000,000 source MACs through its TAP) while two others
# transfer. The flooder only ever replaces its own entries: the others' MACs stay learned, their
# traffic stays unicast (the flooder's TAP never sees it), and the server's memory stays within
# the table it allocated at start. Then the same with a table too small for everyone, where a
# full table evicts from the port that holds the most: the flooder again.
#
#   vst-c1 (mac_flood.py -> vs0) --+
#   vst-c2 --- blob 16 MiB ------->+-- br0 -- vswitch in vst-srv
#   vst-c3 <-----------------------+
set -u
. "$(dirname "$0")/lib.sh"
require_root
topo_up 3
head -c 16M /dev/urandom >"$WORK/blob"
want=$(sha256sum "$WORK/blob" | cut -d' ' -f1)

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
mac_port() {  # mac_port MAC: the port the switch has the MAC on (network 1), or nothing
  ctl fdb --json | jq -r --arg m "$1" '.fdb[] | select(.network == 1 and .mac == $m) | .port'
}
port_of_client() {  # port_of_client I: cI's port id (its member name is cI)
  ctl ports --json | jq -r --arg n "c$1" --arg e "198.18.0.1$1:" '.ports[] | select(.member == $n or (.endpoint | startswith($e))) | .id' | head -n1
}
macs_of_port() { ctl ports --json | jq -r --arg p "$1" '.ports[] | select(.id == ($p | tonumber)) | .macs'; }
stays_on() { [[ $(mac_port "$1") == "$2" ]]; }

# flood_while_transferring COUNT RATE: c1 floods COUNT MACs while c2 sends the blob to c3; checks
# that the transfer is intact and that c2's and c3's traffic never reached c1.
flood_while_transferring() {
  local count=$1 rate=$2 c2_port c3_port got flooder
  c2_port=$(port_of_client 2)
  c3_port=$(port_of_client 3)
  capture $P-c1 vs0 "$WORK/c1-$count.pcap" ether dst 02:00:00:00:00:03 or ether dst 02:00:00:00:00:02
  n $P-c1 timeout 150 python3 "$(dirname "$0")/mac_flood.py" vs0 "$count" "$rate" >"$WORK/flood-$count.txt" 2>&1 &
  flooder=$!
  PIDS+=("$flooder")
  n $P-c3 timeout 150 python3 "$(dirname "$0")/blob.py" serve 198.19.0.13 5001 >"$WORK/recv-$count.txt" 2>&1 &
  local receiver=$!
  PIDS+=("$receiver")
  wait_for 5 grep -qs listening "$WORK/recv-$count.txt" || fail "the receiver did not listen"
  n $P-c2 timeout 120 python3 "$(dirname "$0")/blob.py" send 198.19.0.13 5001 "$WORK/blob" >/dev/null 2>&1
  wait "$receiver"
  got=$(tail -n1 "$WORK/recv-$count.txt")
  check "during the flood: c2's 16 MiB reach c3 intact" test "$got" == "$want 16777216"
  check "during the flood: c2's MAC stays on c2's port" stays_on 02:00:00:00:00:02 "$c2_port"
  check "during the flood: c3's MAC stays on c3's port" stays_on 02:00:00:00:00:03 "$c3_port"
  wait "$flooder"
  stop_capture "$CAPTURE_PID"
  check "c2's and c3's unicast never reached the flooder (it was never flooded)" \
    test "$(capture_count "$WORK/c1-$count.pcap")" == 0
  log "flood of $count MACs: sent $(cat "$WORK/flood-$count.txt"), learned $(stat_value learned)," \
    "replaced_own $(stat_value replaced_own), evicted $(stat_value evicted), fdb_entries $(stat_value fdb_entries)," \
    "storm_control drops $(stat_value storm_control), server RSS $(rss_kib) KiB," \
    "switch lock worst hold $(stat_value lock_hold_max_ns) ns (on CPU $(stat_value lock_hold_cpu_max_ns) ns)"
}

# Test with the defaults (65,536 entries, 1,024 per port): the flooder replaces its own oldest.
start_server
for i in 1 2 3; do start_client "$i"; done
check "three ports join" wait_for 10 ports_are 3
for i in 2 3; do wait_for 10 pings "$i" 198.19.0.1$((5 - i)) || true; done
rss_before=$(rss_kib)
flood_while_transferring 1000000 150000
c1_port=$(port_of_client 1)
check "the flooder holds at most its 1,024 entries" test "$(macs_of_port "$c1_port")" -le 1024
check "the switch learned most of the million MACs" test "$(stat_value learned)" -gt 500000
check "... each beyond 1,024 in place of the flooder's own oldest" test "$(stat_value replaced_own)" -gt 400000
check "no other port lost an entry to the flood" test "$(stat_value evicted)" == 0
check "storm control held the flood's broadcasts to the port's budget" test "$(stat_value storm_control)" -gt 100000
rss_after=$(rss_kib)
log "server RSS $rss_before KiB before the flood, $rss_after KiB after"
check "the server's memory stayed within 8 MiB of where it started" test $((rss_after - rss_before)) -lt 8192

# Test a table smaller than the flood and no per-port limit in the way: full, it evicts from the
# port that holds the most.
kill "$SERVER_PID"
wait "$SERVER_PID"
start_server --fdb-max 4096 --port-max-macs 100000
check "three ports are back" wait_for 15 ports_are 3
for i in 2 3; do wait_for 10 pings "$i" 198.19.0.1$((5 - i)) || true; done
flood_while_transferring 100000 100000
check "the full table evicted the flooder's own entries" test "$(stat_value evicted)" -gt 50000
check "the table is full but no larger" test "$(stat_value fdb_entries)" -le 4096
finish
