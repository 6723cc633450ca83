// Micro-benchmarks of the switch core and the data plane, each next to a baseline measured in
// the same run: FDB lookup/learn against std::unordered_map with the same keys; the whole
// per-packet path (open, decide, seal) for v1 and for v2 with each suite, against v1 and a bare
// decode; the server's share of a handshake against one X25519; the per-batch switch lock
// against nothing. scripts/bench.sh prints the ratios.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <mutex>
#include <random>
#include <unordered_map>
#include <vector>

#include <cstring>

#include "../unit/session_fixture.hpp"
#include "vswitch/data_plane.hpp"
#include "vswitch/fdb.hpp"
#include "vswitch/handshake.hpp"
#include "vswitch/log.hpp"
#include "vswitch/protocol.hpp"
#include "vswitch/switch_core.hpp"

using namespace vswitch;
using vswitch::test::kT0;
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

FdbConfig fdb_config(std::size_t n) {
  FdbConfig c;
  c.max_entries = n;
  c.port_max = n;
  return c;
}

void BM_FdbLookup(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto keys = macs(n);
  Fdb fdb(fdb_config(n));
  fdb.hold_network(1);
  const TimePoint now{};
  Fdb::Displaced displaced;
  for (std::size_t i = 0; i < n; ++i)
    fdb.learn(1, MacAddr::from_u64(keys[i]), static_cast<PortIndex>(i % 64 + 1), now, displaced);
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
  Fdb fdb(fdb_config(n));
  fdb.hold_network(1);
  TimePoint now{};
  Fdb::Displaced displaced;
  for (std::size_t i = 0; i < n; ++i) fdb.learn(1, MacAddr::from_u64(keys[i]), 1, now, displaced);
  std::size_t i = 0;
  for (auto _ : state) {
    now += 1ns;
    benchmark::DoNotOptimize(fdb.learn(1, MacAddr::from_u64(keys[i]), 1, now, displaced));
    i = i + 1 == n ? 0 : i + 1;
  }
}
BENCHMARK(BM_FdbLearnRefresh)->Arg(1000)->Arg(1000000);

// A MAC flood into a full table: every new MAC evicts the oldest of the port holding the most
// (the flooder itself), the bounded cost an attacking member can impose per frame.
void BM_FdbLearnNewIntoFullTable(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto keys = macs(n);
  FdbConfig c = fdb_config(n);
  c.max_ports = 1024;
  Fdb fdb(c);
  fdb.hold_network(1);
  TimePoint now{};
  Fdb::Displaced displaced;
  for (std::size_t i = 0; i < n; ++i)
    fdb.learn(1, MacAddr::from_u64(keys[i]), static_cast<PortIndex>(i % 1000 + 1), now, displaced);
  std::uint64_t next = 0x0a0000000000ULL;
  for (auto _ : state) benchmark::DoNotOptimize(fdb.learn(1, MacAddr::from_u64(++next), 1, now, displaced));
}
BENCHMARK(BM_FdbLearnNewIntoFullTable)->Arg(65536)->Arg(1000000);

// What one hold of the switch lock costs for maintenance: removing a port with 1,024 MACs from a
// table of `n` (O(its entries), independent of n), and one aging slice of 4,096 pool entries.
void BM_FdbRemovePort1024(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto keys = macs(n);
  FdbConfig c = fdb_config(n);
  c.port_max = 1024;
  c.max_ports = 4096;
  Fdb fdb(c);
  fdb.hold_network(1);
  TimePoint now{};
  Fdb::Displaced displaced;
  for (std::size_t i = 0; i + 1024 < n; ++i)
    fdb.learn(1, MacAddr::from_u64(keys[i]), static_cast<PortIndex>(i % 4000 + 2), now, displaced);
  std::uint64_t next = 0x0a0000000000ULL;
  for (auto _ : state) {
    state.PauseTiming();
    for (int m = 0; m < 1024; ++m) fdb.learn(1, MacAddr::from_u64(++next), 1, now, displaced);
    state.ResumeTiming();
    benchmark::DoNotOptimize(fdb.remove_port(1));
  }
}
BENCHMARK(BM_FdbRemovePort1024)->Arg(65536)->Arg(4000000);

// Half the entries idle (they go), half live (examined and kept), refilled between sweeps: the
// same work for one slice of the server's aging and, as the baseline, for one sweep of the whole
// table, which is what aging held the lock for before it was sliced.
void sweep_half_idle(benchmark::State& state, std::size_t budget) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto keys = macs(n);
  FdbConfig c = fdb_config(n);
  c.aging = 10s;
  Fdb fdb(c);
  fdb.hold_network(1);
  Fdb::Displaced displaced;
  const TimePoint old{}, now = old + 20s;
  for (std::size_t i = 0; i < n; ++i)
    fdb.learn(1, MacAddr::from_u64(keys[i]), static_cast<PortIndex>(i % 64 + 1), i % 2 == 0 ? old : now, displaced);
  std::size_t i = 0;
  for (auto _ : state) {
    const std::size_t removed = fdb.sweep(now, budget == 0 ? n : budget);
    state.PauseTiming();
    for (std::size_t k = 0; k < removed; ++k, i = (i + 2) % n)
      fdb.learn(1, MacAddr::from_u64(keys[i]), static_cast<PortIndex>(i % 64 + 1), old, displaced);
    state.ResumeTiming();
  }
}

void BM_FdbSweepSlice1024(benchmark::State& state) { sweep_half_idle(state, 1024); }
BENCHMARK(BM_FdbSweepSlice1024)->Arg(65536)->Arg(4000000);

void BM_BaselineFdbSweepWholeTable(benchmark::State& state) { sweep_half_idle(state, 0); }
BENCHMARK(BM_BaselineFdbSweepWholeTable)->Arg(65536)->Arg(4000000);

// A switch with `ports` sessions (v1, or v2 with a suite) whose MACs are learned, and a stream of
// messages from port 0 to port 1 (or broadcast). Each iteration copies a pristine message (a
// receive buffer is used once: phase C reseals it in place) and runs phases A, B and C.
struct Loaded {
  Loaded(std::size_t ports, bool secure, CipherSuite suite, std::size_t frame_size, std::uint64_t dst)
      : f(secure, config(ports)) {
    for (std::size_t p = 0; p < ports; ++p) {
      auto& c = secure ? f.join_secure(static_cast<int>(p + 1), 1, suite) : f.join_plain(static_cast<int>(p + 1));
      auto learn = f.data(c, vswitch::test::SessionFixture::frame(0xffffffffffffULL, 0x020000000000ULL + p));
      f.receive(learn, c);  // confirms a v2 session and teaches the switch the MAC
    }
    for (std::size_t i = 0; i < kMessages; ++i)
      pristine.push_back(f.data(f.clients[0], vswitch::test::SessionFixture::frame(dst, 0x020000000000ULL, frame_size)));
    work.resize(pristine[0].size());
    plan.reserve(ports + 64);
    server_keypair = f.state.sessions.find(f.clients[0].keypair.remote_index);
  }
  static SwitchConfig config(std::size_t ports) {
    SwitchConfig c;
    c.max_ports = ports + 1;
    return c;
  }
  static constexpr std::size_t kMessages = 4096;
  vswitch::test::SessionFixture f;
  std::vector<std::vector<std::uint8_t>> pristine;
  std::vector<std::uint8_t> work;
  std::vector<Outbound> plan;
  std::vector<PortEvent> events;
  DropTally drops;
  Keypair* server_keypair = nullptr;
};

// Phases A (open), B (decide) and C (seal every destination) for one message.
void run_data_plane(benchmark::State& state, Loaded& s) {
  std::size_t i = 0;
  std::vector<std::uint8_t> copy(s.work.size() + 64);
  for (auto _ : state) {
    std::memcpy(s.work.data(), s.pristine[i].data(), s.work.size());
    Inbound in;
    if (open_inbound(s.f.state.sessions, s.f.state.config.secure, s.work, s.f.clients[0].endpoint, in, s.drops) ==
        Intake::session) {
      decide(s.f.state, in, 0, kT0, s.plan, s.events);
      for (const Outbound& o : s.plan) {
        if (o.kind == Outbound::Kind::forward_in_place) {
          benchmark::DoNotOptimize(seal_frame(o, in.message, in.payload.size()));
        } else {
          std::memcpy(copy.data() + protocol::kDataHeaderSize, in.payload.data(), in.payload.size());
          benchmark::DoNotOptimize(seal_frame(o, copy, in.payload.size()));
        }
      }
      s.plan.clear();
    }
    if (++i == Loaded::kMessages) {
      i = 0;
      s.server_keypair->reset_counters_for_test();  // the same counters come round again
    }
  }
  if (s.drops.counts != decltype(s.drops.counts){}) state.SkipWithError("messages were dropped");
  state.SetItemsProcessed(state.iterations());
}

void BM_DataPlaneUnicastV1(benchmark::State& state) {
  log::set_level(log::Level::error);
  Loaded s(2, false, CipherSuite::chacha20_poly1305, static_cast<std::size_t>(state.range(0)), 0x020000000001ULL);
  run_data_plane(state, s);
}
BENCHMARK(BM_DataPlaneUnicastV1)->Arg(64)->Arg(1400);

void BM_DataPlaneUnicastChaCha(benchmark::State& state) {
  log::set_level(log::Level::error);
  Loaded s(2, true, CipherSuite::chacha20_poly1305, static_cast<std::size_t>(state.range(0)), 0x020000000001ULL);
  run_data_plane(state, s);
}
BENCHMARK(BM_DataPlaneUnicastChaCha)->Arg(64)->Arg(1400);

void BM_DataPlaneUnicastAesGcm(benchmark::State& state) {
  if (!aes256gcm_available()) {
    state.SkipWithError("no AES-NI");
    return;
  }
  log::set_level(log::Level::error);
  Loaded s(2, true, CipherSuite::aes256_gcm, static_cast<std::size_t>(state.range(0)), 0x020000000001ULL);
  run_data_plane(state, s);
}
BENCHMARK(BM_DataPlaneUnicastAesGcm)->Arg(64)->Arg(1400);

void BM_DataPlaneFlood64PortsV1(benchmark::State& state) {
  log::set_level(log::Level::error);
  Loaded s(64, false, CipherSuite::chacha20_poly1305, 64, 0xffffffffffffULL);
  run_data_plane(state, s);
}
BENCHMARK(BM_DataPlaneFlood64PortsV1);

void BM_DataPlaneFlood64PortsChaCha(benchmark::State& state) {
  log::set_level(log::Level::error);
  Loaded s(64, true, CipherSuite::chacha20_poly1305, 64, 0xffffffffffffULL);
  run_data_plane(state, s);
}
BENCHMARK(BM_DataPlaneFlood64PortsChaCha);

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

// The server's whole share of one handshake: mac1, decrypting the initiation (two DH), the
// response (two more DH) and the keys. Against one X25519, the unit of its cost.
void BM_HandshakeResponder(benchmark::State& state) {
  if (sodium_init() < 0) return;
  const auto server = noise::KeyPair::generate();
  handshake::ServerHandshake responder(server.private_key.bytes());
  std::vector<std::vector<std::uint8_t>> initiations;
  const auto client = noise::KeyPair::generate();
  const std::array<std::uint8_t, 32> psk{};
  handshake::ClientHandshake initiator(client.private_key.bytes(), server.public_key, psk);
  for (int i = 0; i < 256; ++i) {
    protocol::v2::InitiationPayload p;
    p.network = 1;
    p.suites = suite_bit(CipherSuite::chacha20_poly1305);
    p.mtu = 1400;
    std::vector<std::uint8_t> m(protocol::v2::initiation::kSize);
    initiator.create_initiation(static_cast<std::uint32_t>(i + 1), p, kT0,
                                std::span<std::uint8_t, protocol::v2::initiation::kSize>(m));
    initiations.push_back(std::move(m));
  }
  const Endpoint from = *Endpoint::parse_numeric("198.18.0.11:4000", 1);
  std::size_t i = 0;
  for (auto _ : state) {
    const std::span<const std::uint8_t, protocol::v2::initiation::kSize> msg(initiations[i].data(),
                                                                             protocol::v2::initiation::kSize);
    benchmark::DoNotOptimize(responder.check_macs(msg, from, kT0));
    auto in = responder.consume_initiation(msg);
    handshake::SessionKeys keys;
    std::array<std::uint8_t, protocol::v2::response::kSize> out{};
    benchmark::DoNotOptimize(responder.create_response(*in, 7, {1, 1400}, psk, out, keys));
    i = (i + 1) % initiations.size();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HandshakeResponder);

// What a flood of initiations with a valid mac1 (anyone can compute it) costs before the
// server knows the sender is no member: one decrypt attempt, two DH.
void BM_HandshakeForgedInitiation(benchmark::State& state) {
  if (sodium_init() < 0) return;
  const auto server = noise::KeyPair::generate();
  handshake::ServerHandshake responder(server.private_key.bytes());
  const auto stranger = noise::KeyPair::generate();
  const std::array<std::uint8_t, 32> psk{};
  handshake::ClientHandshake initiator(stranger.private_key.bytes(), server.public_key, psk);
  protocol::v2::InitiationPayload p;
  p.network = 1;
  p.suites = 2;
  p.mtu = 1400;
  std::vector<std::uint8_t> m(protocol::v2::initiation::kSize);
  initiator.create_initiation(1, p, kT0, std::span<std::uint8_t, protocol::v2::initiation::kSize>(m));
  const std::span<const std::uint8_t, protocol::v2::initiation::kSize> msg(m.data(), protocol::v2::initiation::kSize);
  const Endpoint from = *Endpoint::parse_numeric("198.18.0.11:4000", 1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(responder.check_macs(msg, from, kT0));
    benchmark::DoNotOptimize(responder.consume_initiation(msg));
  }
}
BENCHMARK(BM_HandshakeForgedInitiation);

// Under load: mac1 and mac2 checks only (no DH) before a cookie reply or a drop.
void BM_HandshakeMacCheckOnly(benchmark::State& state) {
  if (sodium_init() < 0) return;
  const auto server = noise::KeyPair::generate();
  handshake::ServerHandshake responder(server.private_key.bytes());
  std::vector<std::uint8_t> m(protocol::v2::initiation::kSize, 0x5a);
  const std::span<const std::uint8_t, protocol::v2::initiation::kSize> msg(m.data(), protocol::v2::initiation::kSize);
  const Endpoint from = *Endpoint::parse_numeric("198.18.0.11:4000", 1);
  for (auto _ : state) benchmark::DoNotOptimize(responder.check_macs(msg, from, kT0));
}
BENCHMARK(BM_HandshakeMacCheckOnly);

void BM_BaselineX25519(benchmark::State& state) {
  if (sodium_init() < 0) return;
  const auto a = noise::KeyPair::generate();
  const auto b = noise::KeyPair::generate();
  std::array<std::uint8_t, 32> out{};
  for (auto _ : state) benchmark::DoNotOptimize(noise::dh(a.private_key.bytes(), b.public_key, out));
}
BENCHMARK(BM_BaselineX25519);

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
