// EVPN's pure parts: the VXLAN header, remote MAC entries and the change log of the MAC table,
// split horizon, and SwitchState's VTEP ports fed by routes.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "vswitch/fdb.hpp"
#include "vswitch/switch_core.hpp"
#include "vswitch/switch_state.hpp"
#include "vswitch/vxlan.hpp"

using namespace vswitch;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = TimePoint{} + 1000s;
MacAddr mac(std::uint64_t n) { return MacAddr::from_u64(0x020000000000ULL | n); }

std::vector<std::uint8_t> frame(std::uint64_t dst, std::uint64_t src) {
  std::vector<std::uint8_t> f(60, 0);
  const auto d = MacAddr::from_u64(dst).bytes(), s = MacAddr::from_u64(src).bytes();
  std::copy(d.begin(), d.end(), f.begin());
  std::copy(s.begin(), s.end(), f.begin() + 6);
  f[12] = 0x08;
  return f;
}

Endpoint vtep(const char* address) { return *Endpoint::parse_numeric(address, 4789); }

std::vector<FdbChange> drained(FdbChangeLog& log) {
  std::vector<FdbChange> out;
  out.reserve(1024);
  log.drain(out, 1024);
  return out;
}

}  // namespace

TEST(Vxlan, HeaderRoundTripsAndChecksTheIFlag) {
  std::vector<std::uint8_t> d(8 + 14, 0);
  vxlan::encode(0xabcdef, std::span<std::uint8_t, 8>(d.data(), 8));
  EXPECT_EQ(d[0], 0x08);
  EXPECT_EQ(vxlan::decode(d), 0xabcdefu);
  d[1] = 0xff;  // reserved bits are ignored on receipt
  EXPECT_EQ(vxlan::decode(d), 0xabcdefu);
  d[0] = 0;
  EXPECT_FALSE(vxlan::decode(d));
  d[0] = 0x08;
  EXPECT_FALSE(vxlan::decode(std::span(d).first(8 + 13)));  // no room for an Ethernet header
}

TEST(FdbRemote, RemoteEntriesNeverAgeIgnoreQuotasAndLeaveOnlyFromTheirVtep) {
  FdbConfig c;
  c.max_entries = 64;
  c.max_ports = 16;
  c.port_max = 2;
  Fdb fdb(c);
  fdb.hold_network(1);
  Fdb::Displaced d;
  for (std::uint64_t m = 1; m <= 5; ++m) EXPECT_EQ(fdb.learn_remote(1, mac(m), 7, t0, d), Fdb::LearnResult::learned);
  EXPECT_EQ(fdb.port_entries(7), 5u);                 // a VTEP holds what the routes say
  EXPECT_EQ(fdb.lookup(1, mac(3), t0 + 10000s), 7u);  // long past the aging time
  EXPECT_EQ(fdb.sweep(t0 + 10000s, 64), 0u);
  EXPECT_FALSE(fdb.forget_remote(1, mac(3), 8));  // another VTEP's withdrawal
  EXPECT_TRUE(fdb.forget_remote(1, mac(3), 7));
  EXPECT_EQ(fdb.lookup(1, mac(3), t0), kNoPort);
}

TEST(FdbRemote, TheChangeLogSeesLocalEntriesComeAndGoButNotRemoteOnes) {
  FdbConfig c;
  c.max_entries = 64;
  c.max_ports = 16;
  Fdb fdb(c);
  FdbChangeLog log(16);
  fdb.set_change_log(&log);
  fdb.hold_network(1);
  Fdb::Displaced d;
  fdb.learn(1, mac(1), 3, t0, d);           // local: added
  fdb.learn(1, mac(1), 3, t0 + 2s, d);      // refresh: nothing
  fdb.learn(1, mac(1), 4, t0 + 3s, d);      // local to local: still here, nothing
  fdb.learn_remote(1, mac(2), 7, t0, d);    // remote: nothing
  fdb.learn_remote(1, mac(1), 7, t0 + 4s, d);  // moved behind another server: gone from here
  fdb.learn(1, mac(2), 3, t0 + 5s, d);      // came here from another server: added
  fdb.remove_port(3);                       // its port went: gone
  const auto changes = drained(log);
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_TRUE(changes[0].added && changes[0].mac == mac(1).to_u64());
  EXPECT_TRUE(!changes[1].added && changes[1].mac == mac(1).to_u64());
  EXPECT_TRUE(changes[2].added && changes[2].mac == mac(2).to_u64());
  EXPECT_TRUE(!changes[3].added && changes[3].mac == mac(2).to_u64());
  // Aging is a removal too.
  fdb.learn(1, mac(9), 4, t0, d);
  fdb.sweep(t0 + 1000s, 64);
  const auto aged = drained(log);
  ASSERT_EQ(aged.size(), 2u);
  EXPECT_FALSE(aged[1].added);
}

TEST(FdbRemote, AFullChangeLogKeepsTheNewestAndSaysSo) {
  FdbChangeLog log(4);
  for (std::uint64_t m = 1; m <= 6; ++m) log.push({1, m, true});
  EXPECT_TRUE(log.take_overflow());
  EXPECT_FALSE(log.take_overflow());
  const auto changes = drained(log);
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_EQ(changes.front().mac, 3u);
  EXPECT_EQ(changes.back().mac, 6u);
}

TEST(FdbRemote, AMacFlappingBetweenServersIsFrozenLikeAnyOther) {
  FdbConfig c;
  c.max_entries = 64;
  c.max_ports = 16;
  Fdb fdb(c);
  fdb.hold_network(1);
  Fdb::Displaced d;
  TimePoint now = t0;
  fdb.learn(1, mac(1), 3, now, d);
  Fdb::LearnResult last{};
  for (int i = 0; i < 8; ++i) {
    now += 1s;
    last = i % 2 == 0 ? fdb.learn_remote(1, mac(1), 7, now, d) : fdb.learn(1, mac(1), 3, now, d);
  }
  EXPECT_EQ(last, Fdb::LearnResult::frozen);
}

TEST(SwitchCoreEvpn, FramesFromAVtepGoToLocalPortsOnlyAndTeachNothing) {
  SwitchCore core(SwitchConfig{});
  auto add = [&](bool remote) {
    Port* p = core.add_port(1, 1500, t0);
    p->remote = remote;
    core.activate_port(p->index);
    return p->index;
  };
  const PortIndex local_a = add(false), local_b = add(false), vtep_x = add(true), vtep_y = add(true);
  auto flood_from = [&](PortIndex in, std::uint64_t src) {
    Port* p = core.ports().find(in);
    const auto f = frame(0xffffffffffffULL, src);
    std::vector<PortIndex> out;
    if (core.switch_frame(*p, f, t0).action == Decision::Action::flood)
      core.for_each_flood_port(*p, f.size(), [&](Port& e) { out.push_back(e.index); });
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(flood_from(local_a, 0x02000000000aULL), (std::vector<PortIndex>{local_b, vtep_x, vtep_y}));
  EXPECT_EQ(flood_from(vtep_x, 0x02000000000bULL), (std::vector<PortIndex>{local_a, local_b}));  // split horizon
  EXPECT_EQ(core.fdb().lookup(1, MacAddr::from_u64(0x02000000000bULL), t0), kNoPort);  // not learned from VXLAN
  core.learn_remote(1, MacAddr::from_u64(0x02000000000bULL), vtep_x, t0);
  Port* a = core.ports().find(local_a);
  const Decision d = core.switch_frame(*a, frame(0x02000000000bULL, 0x02000000000aULL), t0);
  EXPECT_EQ(d.action, Decision::Action::unicast);
  EXPECT_EQ(d.egress, vtep_x);
  EXPECT_EQ(core.stats().remote_learned, 1u);
}

TEST(SwitchStateEvpn, RoutesMakeVtepPortsAndTheirWithdrawalRemovesThem) {
  SwitchState state(SwitchConfig{}, SessionConfig{});
  state.evpn_network(1, 100);
  const Endpoint x = vtep("198.18.2.2:4789");
  EXPECT_EQ(state.evpn_ingress(100, x), nullptr);  // not told of it yet
  EXPECT_EQ(state.core.stats().drops[static_cast<std::size_t>(DropReason::unknown_vtep)], 1u);
  EXPECT_EQ(state.evpn_ingress(101, x), nullptr);
  EXPECT_EQ(state.core.stats().drops[static_cast<std::size_t>(DropReason::unknown_vni)], 1u);
  state.evpn_flood(1, x, true, t0);
  // VXLAN arrives from any source port: the VTEP is its address.
  Port* port = state.evpn_ingress(100, vtep("198.18.2.2:51234"));
  ASSERT_NE(port, nullptr);
  EXPECT_TRUE(port->remote);
  EXPECT_TRUE(port->active);  // on the flood list
  EXPECT_EQ(state.evpn_vni(1), 100u);
  state.evpn_mac(1, mac(5), x, true, t0);
  EXPECT_EQ(state.core.fdb().lookup(1, mac(5), t0), port->index);
  const PortIndex index = port->index;
  state.evpn_flood(1, x, false, t0);  // still holds a MAC: stays, off the flood list
  ASSERT_NE(state.core.ports().find(index), nullptr);
  EXPECT_FALSE(state.core.ports().find(index)->active);
  state.evpn_mac(1, mac(5), x, false, t0);  // nothing left: gone
  EXPECT_EQ(state.core.ports().find(index), nullptr);
  EXPECT_EQ(state.evpn_ingress(100, x), nullptr);
  // A VTEP port never times out like a silent client.
  state.evpn_flood(1, x, true, t0);
  std::vector<PortEvent> events;
  state.expire(t0 + 10000s, events);
  EXPECT_NE(state.evpn_ingress(100, x), nullptr);
}
