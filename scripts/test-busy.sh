#!/usr/bin/env bash
# The end-to-end suite while another process keeps one core busy (issue 11: CI must pass on a
# busy machine, every time). A bounded busy loop pinned to CPU 0 runs for the whole suite.
# Usage: scripts/test-busy.sh [ctest arguments]   (default: -L e2e), after scripts/build.sh.
# Environment: BUILD_DIR (build), BUSY_CPU (0), BUSY_SECONDS (3600: the hog's own bound).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "test-busy: run as root (namespaces, XDP)" >&2; exit 1; }
BUILD_DIR=${BUILD_DIR:-build}
[[ -x $BUILD_DIR/vswitch ]] || { echo "test-busy: build first (scripts/build.sh)" >&2; exit 1; }
taskset -c "${BUSY_CPU:-0}" timeout "${BUSY_SECONDS:-3600}" sh -c 'while :; do :; done' &
hog=$!
trap 'kill "$hog" 2>/dev/null; wait "$hog" 2>/dev/null' EXIT
echo "test-busy: CPU ${BUSY_CPU:-0} kept busy by pid $hog"
cd "$BUILD_DIR"
if (($#)); then ctest --output-on-failure "$@"; else ctest --output-on-failure -L e2e; fi
