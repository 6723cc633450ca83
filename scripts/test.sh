#!/usr/bin/env bash
# Installs every dependency, builds, and runs every test: unit tests (also under ASan/UBSan)
# and the end-to-end scenarios in network namespaces (these need root). CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-deps.sh
bash scripts/build.sh

echo "== under AddressSanitizer + UndefinedBehaviorSanitizer: unit tests, and the AF_XDP"
echo "   datapath end to end (threads, UMEM bookkeeping, shutdown)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVSWITCH_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
(cd build-asan && ctest -L unit --output-on-failure &&
  ctest --output-on-failure -R 'e2e\.(switching|resilience)\.afxdp-native|e2e\.xdp_attach')

echo "== all tests (unit + end-to-end)"
cd build
ctest --output-on-failure
