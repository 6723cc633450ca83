// The switching rules of SwitchCore on its own: ports, frames and a fake clock. Sessions,
// messages and keys are the data plane's (data_plane_test.cpp).
#include "vswitch/switch_core.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

using namespace vswitch;
using namespace std::chrono_literals;
namespace proto = vswitch::protocol;

namespace {

const TimePoint t0 = TimePoint{} + 1000s;
constexpr std::uint64_t kA = 0x02000000000aULL, kB = 0x02000000000bULL, kC = 0x02000000000cULL;
constexpr std::uint64_t kBroadcast = 0xffffffffffffULL;

struct Harness {
  explicit Harness(SwitchConfig c = {}) : core(c) {}

  PortIndex join(std::uint64_t network = 1, std::uint16_t mtu = 1400, bool active = true) {
    Port* p = core.add_port(network, mtu, t0);
    EXPECT_NE(p, nullptr);
    if (p == nullptr) return kNoPort;
    if (active) core.activate_port(p->index);
    return p->index;
  }

  static std::vector<std::uint8_t> frame(std::uint64_t dst, std::uint64_t src, std::size_t size = 60) {
    std::vector<std::uint8_t> f(size, 0);
    const auto d = MacAddr::from_u64(dst).bytes();
    const auto s = MacAddr::from_u64(src).bytes();
    std::copy(d.begin(), d.end(), f.begin());
    std::copy(s.begin(), s.end(), f.begin() + 6);
    f[12] = 0x08;
    return f;
  }

  // Where a frame from `from` goes: the sorted egress ports.
  std::vector<PortIndex> forward(PortIndex from, std::uint64_t dst, std::uint64_t src, TimePoint now = t0,
                                 std::size_t size = 60) {
    const auto f = frame(dst, src, size);
    Port* in = core.ports().find(from);
    last = core.switch_frame(*in, f, now);
    std::vector<PortIndex> out;
    if (last.action == Decision::Action::unicast) {
      if (Port* e = core.unicast_port(last, f.size())) out.push_back(e->index);
    } else if (last.action == Decision::Action::flood) {
      core.for_each_flood_port(*in, f.size(), [&](Port& p) { out.push_back(p.index); });
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::uint64_t drops(DropReason r) const { return core.stats().drops[static_cast<std::size_t>(r)]; }

  SwitchCore core;
  Decision last;
};

std::vector<PortIndex> sorted(std::vector<PortIndex> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST(SwitchCore, FloodsUnknownAndBroadcastToEveryOtherPort) {
  Harness h;
  auto c1 = h.join(), c2 = h.join(), c3 = h.join();
  EXPECT_EQ(h.forward(c1, kBroadcast, kA), sorted({c2, c3}));
  EXPECT_EQ(h.forward(c1, kB, kA), sorted({c2, c3}));                // B unknown yet
  EXPECT_EQ(h.forward(c1, 0x01005e0000fbULL, kA), sorted({c2, c3}));  // multicast
  EXPECT_EQ(h.core.stats().flooded, 3u);
  EXPECT_EQ(h.core.stats().flood_copies, 6u);
}

TEST(SwitchCore, KnownUnicastGoesToOnePortOnly) {
  Harness h;
  auto c1 = h.join(), c2 = h.join();
  h.join();
  h.forward(c2, kBroadcast, kB);  // learn B on c2
  EXPECT_EQ(h.forward(c1, kB, kA), std::vector<PortIndex>{c2});
  EXPECT_EQ(h.forward(c2, kA, kB), std::vector<PortIndex>{c1});
  EXPECT_EQ(h.core.stats().unicast, 2u);
}

TEST(SwitchCore, NeverSendsBackToIngress) {
  Harness h;
  auto c1 = h.join();
  h.join();
  h.forward(c1, kBroadcast, kA);
  h.forward(c1, kBroadcast, kC);  // A and C both behind c1
  EXPECT_TRUE(h.forward(c1, kC, kA).empty());
  EXPECT_EQ(h.last.action, Decision::Action::filtered);
  EXPECT_EQ(h.core.stats().filtered, 1u);
}

TEST(SwitchCore, InactivePortsGetNoFloodUntilActivated) {
  Harness h;
  auto c1 = h.join(), c2 = h.join();
  auto half_open = h.join(1, 1400, false);
  EXPECT_EQ(h.forward(c1, kBroadcast, kA), std::vector<PortIndex>{c2});
  h.core.activate_port(half_open);
  EXPECT_EQ(h.forward(c1, kBroadcast, kA), sorted({c2, half_open}));
}

TEST(SwitchCore, FollowsMacMoves) {
  Harness h;
  auto c1 = h.join(), c2 = h.join(), c3 = h.join();
  h.forward(c1, kBroadcast, kA);
  EXPECT_EQ(h.forward(c3, kA, kC), std::vector<PortIndex>{c1});
  h.forward(c2, kBroadcast, kA);  // A moved to c2
  EXPECT_EQ(h.forward(c3, kA, kC), std::vector<PortIndex>{c2});
  EXPECT_EQ(h.core.stats().moved, 1u);
  EXPECT_EQ(h.core.port_macs(c1), 0u);
  EXPECT_EQ(h.core.port_macs(c2), 1u);
}

TEST(SwitchCore, DropsFramesFromGroupOrZeroSourceMac) {
  Harness h;
  auto c1 = h.join();
  h.join();
  EXPECT_TRUE(h.forward(c1, kB, kBroadcast).empty());
  EXPECT_TRUE(h.forward(c1, kB, 0x01005e000001ULL).empty());
  EXPECT_TRUE(h.forward(c1, kB, 0).empty());
  EXPECT_EQ(h.drops(DropReason::bad_source_mac), 3u);
  EXPECT_EQ(h.core.fdb().size(), 0u);
}

TEST(SwitchCore, NetworksAreIsolated) {
  Harness h;
  auto a1 = h.join(1), a2 = h.join(1), b1 = h.join(2), b2 = h.join(2);
  EXPECT_EQ(h.forward(a1, kBroadcast, kA), std::vector<PortIndex>{a2});
  EXPECT_EQ(h.forward(b1, kBroadcast, kB), std::vector<PortIndex>{b2});
  // The same MAC learned in network 1 is unknown in network 2: flooded there, within 2 only.
  EXPECT_EQ(h.forward(b2, kA, kC), std::vector<PortIndex>{b1});
}

TEST(SwitchCore, AgingTurnsKnownUnicastBackIntoFlooding) {
  SwitchConfig c;
  c.fdb_aging = 10s;
  Harness h(c);
  auto c1 = h.join(), c2 = h.join(), c3 = h.join();
  h.forward(c2, kBroadcast, kB, t0);
  EXPECT_EQ(h.forward(c1, kB, kA, t0 + 10s), std::vector<PortIndex>{c2});
  EXPECT_EQ(h.forward(c1, kB, kA, t0 + 21s), sorted({c2, c3}));
  h.core.expire(t0 + 21s, h.core.config().fdb_max);
  EXPECT_EQ(h.core.stats().aged, 1u);  // B aged; A was refreshed at t0+21s
  EXPECT_EQ(h.core.port_macs(c2), 0u);
}

TEST(SwitchCore, AFullTableEvictsFromThePortHoldingTheMost) {
  SwitchConfig c;
  c.fdb_max = 4;
  Harness h(c);
  auto c1 = h.join(), c2 = h.join();
  h.forward(c2, kBroadcast, kB);
  for (std::uint64_t m = 1; m <= 3; ++m) h.forward(c1, kBroadcast, 0x020000000000ULL | m);
  // c1 floods a fourth MAC into the full table: it loses its own oldest, c2 keeps B.
  EXPECT_EQ(h.forward(c1, kBroadcast, 0x020000000004ULL), std::vector<PortIndex>{c2});
  EXPECT_EQ(h.core.stats().evicted, 1u);
  EXPECT_EQ(h.core.fdb().size(), 4u);
  EXPECT_EQ(h.forward(c1, kB, kA), std::vector<PortIndex>{c2});  // B still known: unicast
  EXPECT_EQ(h.core.fdb().lookup(1, MacAddr::from_u64(0x020000000001ULL), t0), kNoPort);
}

TEST(SwitchCore, APortAtItsLimitReplacesItsOwnMacs) {
  SwitchConfig c;
  c.port_max_macs = 2;
  Harness h(c);
  auto c1 = h.join(), c2 = h.join();
  h.forward(c2, kBroadcast, kB);
  for (std::uint64_t m = 1; m <= 5; ++m) h.forward(c1, kBroadcast, 0x020000000000ULL | m, t0 + std::chrono::seconds(m));
  EXPECT_EQ(h.core.port_macs(c1), 2u);
  EXPECT_EQ(h.core.stats().replaced_own, 3u);
  EXPECT_EQ(h.core.stats().learned, 6u);
  // The newest two are the ones known; the other port is untouched.
  EXPECT_EQ(h.core.fdb().lookup(1, MacAddr::from_u64(0x020000000005ULL), t0 + 5s), c1);
  EXPECT_EQ(h.core.fdb().lookup(1, MacAddr::from_u64(0x020000000001ULL), t0 + 5s), kNoPort);
  EXPECT_EQ(h.core.port_macs(c2), 1u);
}

TEST(SwitchCore, ANetworkQuotaKeepsOneNetworkFromStarvingAnother) {
  SwitchConfig c;
  c.fdb_max = 8;
  c.network_max_macs = 4;
  Harness h(c);
  auto a1 = h.join(1), a2 = h.join(1);
  auto b1 = h.join(2), b2 = h.join(2);
  for (std::uint64_t m = 1; m <= 20; ++m) h.forward(a1, kBroadcast, 0x020000000000ULL | m);
  EXPECT_EQ(h.core.fdb().network_entries(1), 4u);
  h.forward(b2, kBroadcast, kB);
  EXPECT_EQ(h.forward(b1, kB, kA), std::vector<PortIndex>{b2});  // network 2 still learns
  EXPECT_EQ(h.forward(a2, kBroadcast, kC), std::vector<PortIndex>{a1});
  EXPECT_EQ(h.core.stats().learn_refused, 1u);  // a2 had nothing of its own to give up
}

TEST(SwitchCore, AFlappingMacIsDampened) {
  Harness h;
  auto c1 = h.join(), c2 = h.join(), c3 = h.join();
  TimePoint now = t0;
  for (int i = 0; i < 9; ++i) h.forward(i % 2 == 0 ? c1 : c2, kBroadcast, kA, now += 1s);
  EXPECT_EQ(h.core.stats().moved, 5u);
  EXPECT_EQ(h.core.stats().moves_dampened, 2u);
  EXPECT_EQ(h.forward(c3, kA, kC, now), std::vector<PortIndex>{c2});  // frozen where the fifth move put it
}

TEST(SwitchCore, StormControlLimitsFloodsPerPort) {
  SwitchConfig c;
  c.flood_per_second = 1000;  // burst 100
  Harness h(c);
  auto c1 = h.join(), c2 = h.join();
  h.forward(c2, kBroadcast, kB);
  std::size_t flooded = 0;
  for (int i = 0; i < 300; ++i) flooded += h.forward(c1, kBroadcast, kA, t0).size();
  EXPECT_EQ(flooded, 100u);
  EXPECT_EQ(h.drops(DropReason::storm_control), 200u);
  // Known unicast is not a flood: never limited.
  EXPECT_EQ(h.forward(c1, kB, kA, t0), std::vector<PortIndex>{c2});
  // Tokens come back with time: 1000 per second.
  EXPECT_EQ(h.forward(c1, kBroadcast, kA, t0 + 10ms).size(), 1u);
  // Each port has its own budget.
  EXPECT_EQ(h.forward(c2, kBroadcast, kB, t0), std::vector<PortIndex>{c1});
}

TEST(SwitchCore, StormControlOffFloodsEverything) {
  SwitchConfig c;
  c.flood_per_second = 0;
  Harness h(c);
  auto c1 = h.join();
  h.join();
  std::size_t flooded = 0;
  for (int i = 0; i < 5000; ++i) flooded += h.forward(c1, kBroadcast, kA, t0).size();
  EXPECT_EQ(flooded, 5000u);
}

TEST(SwitchCore, APinnedMacIsUsableOnlyByItsOwner) {
  Harness h;
  auto c1 = h.join(), c2 = h.join();
  h.core.ports().find(c1)->owner = 111;
  h.core.ports().find(c2)->owner = 222;
  h.core.set_pins({MacPin{1, kA, 111}}, t0);
  EXPECT_EQ(h.forward(c1, kBroadcast, kA), std::vector<PortIndex>{c2});
  EXPECT_TRUE(h.forward(c2, kBroadcast, kA).empty());  // c2 claims A: refused, not learned
  EXPECT_EQ(h.drops(DropReason::pinned_mac), 1u);
  EXPECT_EQ(h.forward(c2, kA, kB), std::vector<PortIndex>{c1});
  // Pinning a MAC another member already holds takes it away from that port at once.
  h.forward(c2, kBroadcast, kC);
  h.core.set_pins({MacPin{1, kA, 111}, MacPin{1, kC, 111}}, t0);
  EXPECT_EQ(h.core.fdb().lookup(1, MacAddr::from_u64(kC), t0), kNoPort);
  // The pin is per network: the same MAC elsewhere is anybody's.
  auto other = h.join(2);
  h.join(2);
  EXPECT_FALSE(h.forward(other, kBroadcast, kA).empty());
}

TEST(SwitchCore, RemovingAPortRemovesItsMacs) {
  Harness h;
  auto c1 = h.join(), c2 = h.join();
  h.forward(c1, kBroadcast, kA);
  h.forward(c2, kBroadcast, kB);
  h.core.remove_port(c1);
  EXPECT_EQ(h.core.ports().find(c1), nullptr);
  EXPECT_EQ(h.core.fdb().lookup(1, MacAddr::from_u64(kA), t0), kNoPort);
  EXPECT_EQ(h.core.fdb().lookup(1, MacAddr::from_u64(kB), t0), c2);
}

TEST(SwitchCore, MtuIsEnforcedOnIngressAndEgress) {
  Harness h;
  auto big = h.join(1, 1400);
  auto small = h.join(1, 1200);
  // Largest frame for MTU 1400 (with a VLAN tag) passes from `big` but not to `small`.
  EXPECT_TRUE(h.forward(big, kBroadcast, kA, t0, proto::max_frame_size(1400)).empty());
  EXPECT_EQ(h.drops(DropReason::egress_mtu), 1u);
  EXPECT_TRUE(h.forward(big, kBroadcast, kA, t0, proto::max_frame_size(1400) + 1).empty());
  EXPECT_EQ(h.drops(DropReason::frame_too_big), 1u);
  EXPECT_EQ(h.forward(big, kBroadcast, kA, t0, proto::max_frame_size(1200)), std::vector<PortIndex>{small});
}

TEST(SwitchCore, PortTableFullRefusesNewPorts) {
  SwitchConfig c;
  c.max_ports = 2;
  SwitchCore core(c);
  EXPECT_NE(core.add_port(1, 1400, t0), nullptr);
  EXPECT_NE(core.add_port(1, 1400, t0), nullptr);
  EXPECT_EQ(core.add_port(1, 1400, t0), nullptr);
  EXPECT_EQ(core.stats().drops[static_cast<std::size_t>(DropReason::port_table_full)], 1u);
}

TEST(SwitchCore, StaleIndexAfterSlotReuseDoesNotReachNewPort) {
  SwitchConfig c;
  c.max_ports = 1;
  SwitchCore core(c);
  const PortIndex first = core.add_port(1, 1400, t0)->index;
  core.remove_port(first);
  const PortIndex second = core.add_port(1, 1400, t0)->index;
  EXPECT_NE(first, second);
  EXPECT_EQ(port_slot(first), port_slot(second));
  EXPECT_EQ(core.ports().find(first), nullptr);
}

TEST(SwitchCore, ShortFramesAreDropped) {
  Harness h;
  auto c1 = h.join();
  h.join();
  EXPECT_TRUE(h.forward(c1, kBroadcast, kA, t0, 13).empty());
  EXPECT_EQ(h.drops(DropReason::truncated), 1u);
}
