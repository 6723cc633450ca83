#!/usr/bin/env bash
# The end-to-end suite while another process keeps one core busy: the tests wait on conditions
# with deadlines, never on timing, so they must pass on a loaded machine too. Needs root and a
# build (scripts/build.sh). Usage: scripts/test_e2e_busy.sh [ctest -R regex]
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/vswitch ]] || { echo "build first: scripts/build.sh"; exit 1; }
# One core's worth of busy work at normal priority, bounded to 90 minutes, killed on every exit.
timeout 5400 bash -c 'while :; do :; done' &
busy=$!
trap 'kill "$busy" 2>/dev/null; wait "$busy" 2>/dev/null || true' EXIT
echo "== e2e suite with a busy loop (pid $busy) on one of $(nproc) cores"
cd build
ctest -L e2e --output-on-failure ${1:+-R "$1"}
