#!/usr/bin/env bash
# Installs every dependency, builds, and runs every test: unit tests (also under ASan/UBSan)
# and the end-to-end scenarios in network namespaces (these need root). CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-deps.sh
bash scripts/build.sh

echo "== under AddressSanitizer + UndefinedBehaviorSanitizer: unit tests, and the AF_XDP"
echo "   datapath end to end (threads, UMEM bookkeeping, shutdown)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVSWITCH_SANITIZE=ON -DVSWITCH_WERROR=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
(cd build-asan && ctest -L unit --output-on-failure &&
  ctest --output-on-failure -R 'e2e\.(switching|resilience|security|evpn)\.afxdp-native$|e2e\.xdp_attach|e2e\.offloads\.socket$')

echo "== under ThreadSanitizer: unit tests, and the scenarios whose threads share state (AF_XDP"
echo "   workers and the control thread on the switch lock, the handshake queue, the client's threads,"
echo "   the metrics and EVPN threads)"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVSWITCH_TSAN=ON -DVSWITCH_WERROR=ON >/dev/null
cmake --build build-tsan -j"$(nproc)" --target unit_tests vswitch vport vswitchctl
(cd build-tsan && export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" &&
  ctest -L unit --output-on-failure &&
  ctest --output-on-failure -R 'e2e\.(switching|soak|metrics|evpn)\.afxdp-native$|e2e\.(security|join_flood)\.socket$')

echo "== libFuzzer: every parser a packet or a file reaches (clang, ASan/UBSan), bounded time each"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DVSWITCH_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target offload_fuzz handshake_fuzz data_fuzz replay_window_fuzz \
  members_fuzz key_fuzz
python3 tests/fuzz/make_corpus.py build-fuzz/seeds
fuzz() {  # fuzz TARGET SECONDS [extra libFuzzer args]: fails with the fuzzer's report on a finding
  local target=$1 seconds=$2 log; shift 2
  log=build-fuzz/$target.log
  mkdir -p "build-fuzz/corpus/$target"
  if ! "build-fuzz/tests/$target" -max_total_time="$seconds" -print_final_stats=1 "$@" \
    "build-fuzz/corpus/$target" >"$log" 2>&1; then
    tail -n 60 "$log"
    return 1
  fi
  echo "-- $target: $(grep -E '^Done' "$log")"
}
fuzz offload_fuzz 40 -max_len=70000 build-fuzz/seeds
fuzz handshake_fuzz 20
fuzz data_fuzz 20 -max_len=2000
fuzz replay_window_fuzz 10
fuzz members_fuzz 10
fuzz key_fuzz 10

echo "== all tests (unit, install, end-to-end)"
(cd build && ctest --output-on-failure)

echo "== the Debian package: built (Release), no lintian errors, installed with dpkg -i, purged"
deb=$(bash scripts/package.sh | tail -n1)
bash tests/install/test_package.sh "$deb"
