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
  ctest --output-on-failure -R 'e2e\.(switching|resilience)\.afxdp-native|e2e\.xdp_attach|e2e\.offloads\.socket')

echo "== libFuzzer: the segmenter and the TCP coalescer (clang, ASan/UBSan), 60 s from the seeds"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DVSWITCH_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz --target offload_fuzz -j"$(nproc)"
python3 tests/fuzz/make_corpus.py build-fuzz/seeds
mkdir -p build-fuzz/corpus
build-fuzz/tests/offload_fuzz -max_total_time=60 -max_len=70000 -print_final_stats=1 \
  build-fuzz/corpus build-fuzz/seeds 2>&1 | tail -n 12

echo "== all tests (unit + end-to-end)"
cd build
ctest --output-on-failure
