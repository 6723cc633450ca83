// Micro-benchmarks of the switch core, each next to a baseline measured in the same run:
// FDB lookup/learn against std::unordered_map with the same keys, the per-packet decision
// against a bare protocol decode, and the per-batch switch lock against nothing. scripts/bench.sh
// prints the ratios.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <mutex>
#include <random>
#include <unordered_map>
#include <vector>

#include "vswitch/fdb.hpp"
#include "vswitch/log.hpp"
#include "vswitch/protocol.hpp"
#include "vswitch/switch_core.hpp"

using namespace vswitch;
using namespace std::chrono_literals;

namespace {

std::vector<std::uint64_t> macs(std::size_t n) {
  std::mt19937_64 rng(42);
  std::vector<std::uint64_t> v(n);
  for (auto& m : v) m = (rng() & 0xfeffffffffffULL) | 0x020000000000ULL;  // unicast, local
  return v;
}

// Lookups in an order unrelated to insertion order: a node-based map allocates its nodes in
// insertion order, and walking keys in that order would make its accesses sequential.
std::vector<std::uint64_t> shuffled(std::vector<std::uint64_t> keys) {
  std::shuffle(keys.begin(), keys.end(), std::mt19937_64(7));
  return keys;
}

void BM_FdbLookup(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto keys = macs(n);
  Fdb fdb(n, 300s);
  const TimePoint now{};
  PortIndex prev = 0;
  for (std::size_t i = 0; i < n; ++i) fdb.learn(1, MacAddr::from_u64(keys[i]), static_cast<PortIndex>(i % 64 + 1), now, prev);
  const auto order = shuffled(keys);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(fdb.lookup(1, MacAddr::from_u64(order[i]), now));
    i = i + 1 == n ? 0 : i + 1;
  }
}
BENCHMARK(BM_FdbLookup)->Arg(1000)->Arg(1000000);

void BM_BaselineUnorderedMapLookup(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto keys = macs(n);
  std::unordered_map<std::uint64_t, PortIndex> map;
  map.reserve(n);
  for (std::size_t i = 0; i < n; ++i) map[keys[i] ^ (std::uint64_t{1} << 48)] = static_cast<PortIndex>(i % 64 + 1);
  const auto order = shuffled(keys);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(map.find(order[i] ^ (std::uint64_t{1} << 48)));
    i = i + 1 == n ? 0 : i + 1;
  }
}
BENCHMARK(BM_BaselineUnorderedMapLookup)->Arg(1000)->Arg(1000000);

void BM_FdbLearnRefresh(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto keys = macs(n);
  Fdb fdb(n, 300s);
  TimePoint now{};
  PortIndex prev = 0;
  for (std::size_t i = 0; i < n; ++i) fdb.learn(1, MacAddr::from_u64(keys[i]), 1, now, prev);
  std::size_t i = 0;
  for (auto _ : state) {
    now += 1ns;
    benchmark::DoNotOptimize(fdb.learn(1, MacAddr::from_u64(keys[i]), 1, now, prev));
    i = i + 1 == n ? 0 : i + 1;
  }
}
BENCHMARK(BM_FdbLearnRefresh)->Arg(1000)->Arg(1000000);

// A switch with `ports` joined ports whose MACs are learned; returns DATA messages from port 0.
struct Loaded {
  explicit Loaded(std::size_t ports) : core(config(ports)) {
    std::uint8_t reply[SwitchCore::kReplyBufferSize];
    for (std::size_t p = 0; p < ports; ++p) {
      endpoints.push_back(*Endpoint::parse_numeric("198.18.0.1:" + std::to_string(10000 + p), 1));
      std::uint8_t hello[protocol::kHelloSize];
      protocol::encode(protocol::Hello{static_cast<std::uint32_t>(p + 1), 1, 1500}, hello);
      const Verdict v = core.receive(endpoints[p], hello, now, reply);
      protocol::Welcome w{};
      (void)protocol::decode(std::span<const std::uint8_t>(reply, v.reply_size), w);
      indices.push_back(w.sender_index);
      const auto learn = message(p, 0xffffffffffffULL, 0x020000000000ULL + p);
      core.receive(endpoints[p], learn, now, reply);
    }
  }
  static SwitchConfig config(std::size_t ports) {
    SwitchConfig c;
    c.max_ports = ports + 1;
    return c;
  }
  std::vector<std::uint8_t> message(std::size_t from, std::uint64_t dst, std::uint64_t src) {
    std::vector<std::uint8_t> m(protocol::kDataHeaderSize + 64, 0);
    protocol::encode_data_header({indices.empty() || from >= indices.size() ? 0 : indices[from], 0}, m);
    const auto d = MacAddr::from_u64(dst).bytes(), s = MacAddr::from_u64(src).bytes();
    std::copy(d.begin(), d.end(), m.begin() + protocol::kDataHeaderSize);
    std::copy(s.begin(), s.end(), m.begin() + protocol::kDataHeaderSize + 6);
    return m;
  }
  SwitchCore core;
  TimePoint now{};
  std::vector<Endpoint> endpoints;
  std::vector<std::uint32_t> indices;
};

// The full per-packet decision: receive() plus every egress header.
void decide_repeatedly(benchmark::State& state, Loaded& s, const std::vector<std::uint8_t>& msg) {
  std::uint8_t reply[SwitchCore::kReplyBufferSize];
  for (auto _ : state) {
    const Verdict v = s.core.receive(s.endpoints[0], msg, s.now, reply);
    s.core.for_each_egress(v, [](const Port& p, const protocol::DataHeader& h) {
      benchmark::DoNotOptimize(&p);
      benchmark::DoNotOptimize(h);
    });
  }
}

void BM_SwitchKnownUnicast(benchmark::State& state) {
  log::set_level(log::Level::error);
  Loaded s(2);
  decide_repeatedly(state, s, s.message(0, 0x020000000001ULL, 0x020000000000ULL));
}
BENCHMARK(BM_SwitchKnownUnicast);

void BM_SwitchFlood64Ports(benchmark::State& state) {
  log::set_level(log::Level::error);
  Loaded s(64);
  decide_repeatedly(state, s, s.message(0, 0xffffffffffffULL, 0x020000000000ULL));
}
BENCHMARK(BM_SwitchFlood64Ports);

void BM_BaselineDecodeOnly(benchmark::State& state) {
  std::vector<std::uint8_t> msg(protocol::kDataHeaderSize + 64, 0);
  protocol::encode_data_header({1, 0}, msg);
  for (auto _ : state) {
    protocol::DataHeader h{};
    benchmark::DoNotOptimize(protocol::decode(msg, h));
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_BaselineDecodeOnly);

// The AF_XDP workers lock the switch once per batch: the uncontended cost of that lock.
void BM_SwitchLockPerBatch(benchmark::State& state) {
  std::mutex m;
  for (auto _ : state) {
    std::lock_guard lock(m);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_SwitchLockPerBatch);

void BM_BaselineNoLock(benchmark::State& state) {
  for (auto _ : state) benchmark::ClobberMemory();
}
BENCHMARK(BM_BaselineNoLock);

}  // namespace

BENCHMARK_MAIN();
