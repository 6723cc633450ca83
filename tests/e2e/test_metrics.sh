#!/usr/bin/env bash
# The Prometheus endpoint end to end: `vswitch --metrics` serves the text exposition format that
# promtool accepts, a real Prometheus server scrapes it, and its query API sees the switch forward.
#
#   vst-c1 198.18.0.11 --+
#   vst-c2 198.18.0.12 --+-- br0 in vst-net --- vst-srv 198.18.0.1: vswitch (UDP 9797,
#   vst-c3 198.18.0.13 --+                        metrics on TCP 9798), prometheus (9090)
set -u
. "$(dirname "$0")/lib.sh"
require_root
for tool in prometheus promtool curl; do
  command -v $tool >/dev/null || { echo "SKIP: $SCENARIO needs $tool (Debian's prometheus, curl)"; exit 77; }
done
topo_up 3
METRICS=$SRV_IP:9798
scrape() { n $NS_SRV curl -sf --max-time 5 "http://$METRICS/metrics"; }

# Test that a bad --metrics address is refused at start, with the address in the message.
out=$(n $NS_SRV timeout 10 "$BIN_DIR/vswitch" --listen $SRV_IP:$PORT $(server_auth) --control "$WORK/bad.sock" \
  "${DATAPATH_ARGS[@]}" --metrics 198.18.0.1 2>&1)
check "--metrics without a port is refused ($out)" grep -q "bad --metrics '198.18.0.1'" <<<"$out"
out=$(n $NS_SRV timeout 10 "$BIN_DIR/vswitch" --listen $SRV_IP:$PORT $(server_auth) --control "$WORK/bad.sock" \
  "${DATAPATH_ARGS[@]}" --metrics 198.18.0.99:9798 2>&1)
check "--metrics on an address this host lacks is refused ($out)" grep -q "cannot bind 198.18.0.99:9798" <<<"$out"

start_server --metrics $METRICS --metrics-max-ports 2
for i in 1 2 3; do start_client $i; done
check "three members join" wait_for 10 ports_are 3
check "c1 pings c2" pings 1 198.19.0.12 5
check "c2 pings c3" pings 2 198.19.0.13 3

# Test that the exposition is what promtool accepts (it prints nothing and exits 0 when clean).
scrape >"$WORK/metrics.txt"
check "GET /metrics answers ($(wc -l <"$WORK/metrics.txt") lines)" test -s "$WORK/metrics.txt"
check "promtool check metrics finds nothing" bash -c "promtool check metrics <'$WORK/metrics.txt' >'$WORK/promtool.out' 2>&1 \
  && ! test -s '$WORK/promtool.out'"
[[ -s $WORK/promtool.out ]] && head -n 20 "$WORK/promtool.out"
value() { awk -v m="$1" '$1 == m {print $2}' "$WORK/metrics.txt"; }  # value 'name{labels}'
check "unicast frames were forwarded ($(value 'vswitch_frames_forwarded_total{how="unicast"}'))" \
  test "$(value 'vswitch_frames_forwarded_total{how="unicast"}')" -gt 0
check "the same number as vswitchctl stats" \
  test "$(value 'vswitch_frames_forwarded_total{how="unicast"}')" -le "$(stat_value unicast)"
check "drops by reason are labels of one family" grep -q '^vswitch_drops_total{reason="bad_tag"} ' "$WORK/metrics.txt"
check "every series has the vswitch_ prefix" bash -c "! grep -v '^#' '$WORK/metrics.txt' | grep -qv '^vswitch_'"
check "counters end in _total" bash -c "! grep '^# TYPE .* counter$' '$WORK/metrics.txt' | grep -qv '_total counter$'"
check "no MAC address in any label" bash -c "! grep -qiE '([0-9a-f]{2}:){5}[0-9a-f]{2}' '$WORK/metrics.txt'"
check "what the server is: version and datapath as info series" \
  bash -c "grep -q '^vswitch_build_info{version=' '$WORK/metrics.txt' && grep -q '^vswitch_datapath_info{datapath=' '$WORK/metrics.txt'"
check "lock holds in seconds" grep -q '^vswitch_lock_hold_max_seconds ' "$WORK/metrics.txt"
# Per-port series come from the maintenance tick's copy: within a second of the join.
per_port_is() { [[ $(scrape | grep -c '^vswitch_port_rx_packets_total{') == "$1" ]]; }
check "per-port series for --metrics-max-ports 2 of the 3 ports" wait_for 5 per_port_is 2
check "... the third counted as omitted" bash -c "curl_out=\$(ip netns exec $NS_SRV curl -sf http://$METRICS/metrics) &&
  grep -q '^vswitch_metrics_ports_omitted 1$' <<<\"\$curl_out\""
if [[ $MODE == secure ]]; then
  check "per-port series name the member, never its key" \
    bash -c "scrape_out=\$(ip netns exec $NS_SRV curl -sf http://$METRICS/metrics) &&
      grep -qE '^vswitch_port_rx_packets_total\{port=\"[0-9]+\",network=\"1\",member=\"c[123]\"\}' <<<\"\$scrape_out\" &&
      ! grep -qF '$SRV_PUB' <<<\"\$scrape_out\""
fi

# Test that the endpoint answers only what it serves.
status() { n $NS_SRV curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
check "GET /nothing is 404" test "$(status "http://$METRICS/nothing")" == 404
check "POST /metrics is 405" test "$(status -X POST "http://$METRICS/metrics")" == 405
check "a 16 KiB header is refused (431)" test "$(status -H "X-Big: $(head -c 16384 /dev/zero | tr '\0' a)" "http://$METRICS/metrics")" == 431
# Idle connections (a slow scraper or a hostile one) hold only their own slots.
n $NS_SRV python3 -c "
import socket, time
s = [socket.create_connection(('$SRV_IP', 9798)) for _ in range(20)]
time.sleep(8)" &
idle=$!
PIDS+=("$idle")
check "with 20 idle connections open, a scrape is still answered" wait_for 5 bash -c "ip netns exec $NS_SRV curl -sf --max-time 2 http://$METRICS/metrics >/dev/null"
kill "$idle" 2>/dev/null

# Test that a real Prometheus server scrapes it and its query API sees frames forwarded.
cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: vswitch
    static_configs:
      - targets: ['$METRICS']
EOF
# Without `timeout`: killing a timeout(1) that waits for a slow shutdown would orphan prometheus.
ip netns exec $NS_SRV prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address=$SRV_IP:9090 >"$WORK/prometheus.log" 2>&1 &
PIDS+=("$!")
query() {  # query PROMQL: the first value of the answer, or nothing
  n $NS_SRV curl -sf --max-time 3 "http://$SRV_IP:9090/api/v1/query" --data-urlencode "query=$1" |
    jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}
forwarded_seen() { local v; v=$(query 'sum(vswitch_frames_forwarded_total)'); [[ -n $v ]] && ((${v%.*} > 0)); }
check "Prometheus is up and its target healthy" wait_for 30 bash -c "[[ \$(ip netns exec $NS_SRV curl -sf \
  http://$SRV_IP:9090/api/v1/targets | jq -r '.data.activeTargets[0].health') == up ]]"
pings 1 198.19.0.12 5
check "Prometheus's query API: frames forwarded above zero ($(query 'sum(vswitch_frames_forwarded_total)'))" \
  wait_for 20 forwarded_seen
check "Prometheus sees the members' ports" wait_for 10 bash -c "[[ \$(ip netns exec $NS_SRV curl -sf \
  http://$SRV_IP:9090/api/v1/query --data-urlencode 'query=vswitch_ports' | jq -r '.data.result[0].value[1]') == 3 ]]"

finish
