// The switching rules, driven through the core's one entry point with crafted datagrams and a
// fake clock.
#include "vswitch/switch_core.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "vswitch/protocol.hpp"

using namespace vswitch;
using namespace std::chrono_literals;
namespace proto = vswitch::protocol;

namespace {

const TimePoint t0 = TimePoint{} + 1000s;

struct Harness {
  explicit Harness(SwitchConfig c = {}) : core(c) {}

  struct Client {
    Endpoint endpoint;
    PortIndex index = kNoPort;
    std::uint32_t my_index = 0;
  };

  Verdict send(const Endpoint& from, const std::vector<std::uint8_t>& msg, TimePoint now = t0) {
    return core.receive(from, msg, now, reply);
  }

  Client join(int n, std::uint64_t network = 1, std::uint16_t mtu = 1400, TimePoint now = t0) {
    Client c;
    c.endpoint = *Endpoint::parse_numeric("198.18.0." + std::to_string(n) + ":4000", 1);
    c.my_index = 1000 + static_cast<std::uint32_t>(n);
    std::vector<std::uint8_t> hello(proto::kHelloSize);
    proto::encode(proto::Hello{c.my_index, network, mtu}, hello);
    const Verdict v = send(c.endpoint, hello, now);
    EXPECT_EQ(v.action, Verdict::Action::reply);
    proto::Welcome w{};
    EXPECT_EQ(proto::decode(std::span<const std::uint8_t>(reply, v.reply_size), w), proto::DecodeError::none);
    EXPECT_EQ(w.receiver_index, c.my_index);
    c.index = w.sender_index;
    return c;
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

  static std::vector<std::uint8_t> data(const Client& c, const std::vector<std::uint8_t>& frame) {
    std::vector<std::uint8_t> msg(proto::kDataHeaderSize);
    proto::encode_data_header({c.index, 0}, msg);
    msg.insert(msg.end(), frame.begin(), frame.end());
    return msg;
  }

  // Where a frame goes: the list of egress ports.
  std::vector<PortIndex> forward(const Client& from, std::uint64_t dst, std::uint64_t src,
                                 TimePoint now = t0, std::size_t size = 60) {
    last = send(from.endpoint, data(from, frame(dst, src, size)), now);
    std::vector<PortIndex> out;
    core.for_each_egress(last, [&](const Port& p, const proto::DataHeader& h) {
      EXPECT_EQ(h.receiver_index, p.peer_index);
      out.push_back(p.index);
    });
    std::sort(out.begin(), out.end());
    return out;
  }

  std::uint64_t drops(DropReason r) const { return core.stats().drops[static_cast<std::size_t>(r)]; }

  SwitchCore core;
  std::uint8_t reply[SwitchCore::kReplyBufferSize];
  Verdict last;
};

constexpr std::uint64_t kA = 0x02000000000aULL, kB = 0x02000000000bULL, kC = 0x02000000000cULL;
constexpr std::uint64_t kBroadcast = 0xffffffffffffULL;

std::vector<PortIndex> sorted(std::vector<PortIndex> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST(SwitchCore, FloodsUnknownAndBroadcastToEveryOtherPort) {
  Harness h;
  auto c1 = h.join(1), c2 = h.join(2), c3 = h.join(3);
  EXPECT_EQ(h.forward(c1, kBroadcast, kA), sorted({c2.index, c3.index}));
  EXPECT_EQ(h.forward(c1, kB, kA), sorted({c2.index, c3.index}));  // B unknown yet
  EXPECT_EQ(h.forward(c1, 0x01005e0000fbULL, kA), sorted({c2.index, c3.index}));  // multicast
  EXPECT_EQ(h.core.stats().flooded, 3u);
}

TEST(SwitchCore, KnownUnicastGoesToOnePortOnly) {
  Harness h;
  auto c1 = h.join(1), c2 = h.join(2), c3 = h.join(3);
  h.forward(c2, kBroadcast, kB);  // learn B on c2
  EXPECT_EQ(h.forward(c1, kB, kA), std::vector<PortIndex>{c2.index});
  EXPECT_EQ(h.forward(c2, kA, kB), std::vector<PortIndex>{c1.index});
  (void)c3;
  EXPECT_EQ(h.core.stats().unicast, 2u);
}

TEST(SwitchCore, NeverSendsBackToIngress) {
  Harness h;
  auto c1 = h.join(1), c2 = h.join(2);
  h.forward(c1, kBroadcast, kA);
  h.forward(c1, kBroadcast, kC);  // A and C both behind c1
  EXPECT_TRUE(h.forward(c1, kC, kA).empty());
  EXPECT_EQ(h.last.action, Verdict::Action::consumed);
  EXPECT_EQ(h.core.stats().filtered, 1u);
  (void)c2;
}

TEST(SwitchCore, FollowsMacMoves) {
  Harness h;
  auto c1 = h.join(1), c2 = h.join(2), c3 = h.join(3);
  h.forward(c1, kBroadcast, kA);
  EXPECT_EQ(h.forward(c3, kA, kC), std::vector<PortIndex>{c1.index});
  h.forward(c2, kBroadcast, kA);  // A moved to c2
  EXPECT_EQ(h.forward(c3, kA, kC), std::vector<PortIndex>{c2.index});
  EXPECT_EQ(h.core.stats().moved, 1u);
  EXPECT_EQ(h.core.ports().find(c1.index)->mac_count, 0u);
  EXPECT_EQ(h.core.ports().find(c2.index)->mac_count, 1u);
}

TEST(SwitchCore, DropsFramesFromGroupOrZeroSourceMac) {
  Harness h;
  auto c1 = h.join(1), c2 = h.join(2);
  EXPECT_TRUE(h.forward(c1, kB, kBroadcast).empty());
  EXPECT_TRUE(h.forward(c1, kB, 0x01005e000001ULL).empty());
  EXPECT_TRUE(h.forward(c1, kB, 0).empty());
  EXPECT_EQ(h.drops(DropReason::bad_source_mac), 3u);
  EXPECT_EQ(h.core.fdb().size(), 0u);
  (void)c2;
}

TEST(SwitchCore, NetworksAreIsolated) {
  Harness h;
  auto a1 = h.join(1, 1), a2 = h.join(2, 1), b1 = h.join(3, 2), b2 = h.join(4, 2);
  EXPECT_EQ(h.forward(a1, kBroadcast, kA), std::vector<PortIndex>{a2.index});
  EXPECT_EQ(h.forward(b1, kBroadcast, kB), std::vector<PortIndex>{b2.index});
  // The same MAC learned in network 1 is unknown in network 2: flooded there, within 2 only.
  EXPECT_EQ(h.forward(b2, kA, kC), std::vector<PortIndex>{b1.index});
}

TEST(SwitchCore, AgingTurnsKnownUnicastBackIntoFlooding) {
  SwitchConfig c;
  c.fdb_aging = 10s;
  c.port_timeout = 1000s;
  Harness h(c);
  auto c1 = h.join(1), c2 = h.join(2), c3 = h.join(3);
  h.forward(c2, kBroadcast, kB, t0);
  EXPECT_EQ(h.forward(c1, kB, kA, t0 + 10s), std::vector<PortIndex>{c2.index});
  EXPECT_EQ(h.forward(c1, kB, kA, t0 + 21s), sorted({c2.index, c3.index}));
  h.core.expire(t0 + 21s);
  EXPECT_EQ(h.core.stats().aged, 1u);  // B aged; A was refreshed at t0+21s
  EXPECT_EQ(h.core.ports().find(c2.index)->mac_count, 0u);
}

TEST(SwitchCore, FdbLimitStopsLearningButStillFloods) {
  SwitchConfig c;
  c.fdb_max = 2;
  Harness h(c);
  auto c1 = h.join(1), c2 = h.join(2);
  h.forward(c1, kBroadcast, 0x020000000001ULL);
  h.forward(c1, kBroadcast, 0x020000000002ULL);
  EXPECT_EQ(h.forward(c1, kBroadcast, 0x020000000003ULL), std::vector<PortIndex>{c2.index});
  EXPECT_EQ(h.core.stats().learn_refused_fdb_full, 1u);
  EXPECT_EQ(h.core.fdb().size(), 2u);
}

TEST(SwitchCore, PortMacLimitIsPerPort) {
  SwitchConfig c;
  c.port_max_macs = 2;
  Harness h(c);
  auto c1 = h.join(1), c2 = h.join(2);
  for (std::uint64_t m = 1; m <= 5; ++m) h.forward(c1, kBroadcast, 0x020000000000ULL | m);
  EXPECT_EQ(h.core.ports().find(c1.index)->mac_count, 2u);
  EXPECT_EQ(h.core.stats().learn_refused_port_limit, 3u);
  h.forward(c2, kBroadcast, kB);  // another port still learns
  EXPECT_EQ(h.core.ports().find(c2.index)->mac_count, 1u);
  // A MAC moving onto a full port is refused too, so the limit holds.
  h.forward(c1, kBroadcast, kB);
  EXPECT_EQ(h.core.ports().find(c1.index)->mac_count, 2u);
}

TEST(SwitchCore, SilentPortTimesOutWithItsMacs) {
  SwitchConfig c;
  c.port_timeout = 30s;
  Harness h(c);
  auto c1 = h.join(1), c2 = h.join(2);
  h.forward(c1, kBroadcast, kA, t0);
  h.forward(c2, kBroadcast, kB, t0 + 20s);
  h.core.expire(t0 + 31s);
  EXPECT_EQ(h.core.ports().find(c1.index), nullptr);
  EXPECT_NE(h.core.ports().find(c2.index), nullptr);
  EXPECT_EQ(h.core.fdb().lookup(1, MacAddr::from_u64(kA), t0 + 31s), kNoPort);
  EXPECT_EQ(h.core.stats().ports_timed_out, 1u);
}

TEST(SwitchCore, KeepaliveKeepsPortAliveAndIsAnswered) {
  SwitchConfig c;
  c.port_timeout = 30s;
  Harness h(c);
  auto c1 = h.join(1);
  std::vector<std::uint8_t> ka(proto::kKeepaliveSize);
  proto::encode_keepalive({c1.index, 0}, ka);
  const Verdict v = h.send(c1.endpoint, ka, t0 + 25s);
  ASSERT_EQ(v.action, Verdict::Action::reply);
  proto::DataHeader d{};
  ASSERT_EQ(proto::decode(std::span<const std::uint8_t>(h.reply, v.reply_size), d), proto::DecodeError::none);
  EXPECT_EQ(d.receiver_index, c1.my_index);
  h.core.expire(t0 + 50s);
  EXPECT_NE(h.core.ports().find(c1.index), nullptr);
}

TEST(SwitchCore, ByeRemovesPortAndMacs) {
  Harness h;
  auto c1 = h.join(1), c2 = h.join(2);
  h.forward(c1, kBroadcast, kA);
  std::vector<std::uint8_t> bye(proto::kByeSize);
  proto::encode(proto::Bye{c1.index, proto::ByeReason::leaving}, bye);
  EXPECT_EQ(h.send(c2.endpoint, bye).action, Verdict::Action::drop);  // not c2's port to close
  EXPECT_EQ(h.send(c1.endpoint, bye).action, Verdict::Action::consumed);
  EXPECT_EQ(h.core.ports().find(c1.index), nullptr);
  EXPECT_EQ(h.core.fdb().size(), 0u);
}

TEST(SwitchCore, UnknownIndexGetsRateLimitedByeSoClientsRejoin) {
  SwitchConfig c;
  c.unknown_session_replies_per_second = 2;
  Harness h(c);
  Harness::Client ghost{*Endpoint::parse_numeric("198.18.0.9:4000", 1), 0x12345, 0};
  for (int i = 0; i < 3; ++i) {
    const Verdict v = h.send(ghost.endpoint, Harness::data(ghost, Harness::frame(kB, kA)));
    if (i < 2) {
      ASSERT_EQ(v.action, Verdict::Action::reply);
      proto::Bye b{};
      ASSERT_EQ(proto::decode(std::span<const std::uint8_t>(h.reply, v.reply_size), b), proto::DecodeError::none);
      EXPECT_EQ(b.reason, proto::ByeReason::unknown_session);
    } else {
      EXPECT_EQ(v.action, Verdict::Action::consumed);
    }
  }
  EXPECT_EQ(h.drops(DropReason::unknown_port), 3u);
  EXPECT_EQ(h.core.stats().control_replies_suppressed, 1u);
}

TEST(SwitchCore, DataFromAnotherEndpointIsRefused) {
  Harness h;
  auto c1 = h.join(1), c2 = h.join(2);
  Harness::Client impostor = c1;
  impostor.endpoint = *Endpoint::parse_numeric("198.18.0.66:4000", 1);
  EXPECT_TRUE(h.forward(impostor, kBroadcast, kA).empty());
  EXPECT_EQ(h.drops(DropReason::endpoint_mismatch), 1u);
  EXPECT_EQ(h.core.fdb().size(), 0u);
  (void)c2;
}

TEST(SwitchCore, MtuIsNegotiatedAndEnforced) {
  SwitchConfig c;
  c.mtu = 1400;
  Harness h(c);
  auto big = h.join(1, 1, 9000);
  EXPECT_EQ(h.core.ports().find(big.index)->mtu, 1400);  // capped by the server
  auto small = h.join(2, 1, 1200);
  // Largest frame for MTU 1400 (with a VLAN tag) passes from `big` but not to `small`.
  EXPECT_TRUE(h.forward(big, kBroadcast, kA, t0, proto::max_frame_size(1400)).empty());
  EXPECT_EQ(h.drops(DropReason::egress_mtu), 1u);
  EXPECT_TRUE(h.forward(big, kBroadcast, kA, t0, proto::max_frame_size(1400) + 1).empty());
  EXPECT_EQ(h.drops(DropReason::frame_too_big), 1u);
  EXPECT_EQ(h.forward(big, kBroadcast, kA, t0, proto::max_frame_size(1200)),
            std::vector<PortIndex>{small.index});
}

TEST(SwitchCore, VlanTaggedFramesAreSwitchedUntouched) {
  Harness h;
  auto c1 = h.join(1), c2 = h.join(2);
  auto f = Harness::frame(kBroadcast, kA, 64);
  f[12] = 0x81;  // 802.1Q TPID, VID 100, then IPv4
  f[13] = 0x00;
  f[14] = 0x00;
  f[15] = 100;
  f[16] = 0x08;
  const auto msg = Harness::data(c1, f);  // the verdict's frame points into it
  const Verdict v = h.send(c1.endpoint, msg);
  ASSERT_EQ(v.action, Verdict::Action::flood);
  EXPECT_TRUE(std::equal(v.frame.begin(), v.frame.end(), f.begin(), f.end()));
  (void)c2;
}

TEST(SwitchCore, RejoinFromSameEndpointKeepsPortAndChangingNetworkRestartsIt) {
  Harness h;
  auto c1 = h.join(1, 1);
  auto again = h.join(1, 1);
  EXPECT_EQ(again.index, c1.index);
  EXPECT_EQ(h.core.ports().size(), 1u);
  h.forward(c1, kBroadcast, kA);
  auto other = h.join(1, 2);
  EXPECT_NE(other.index, c1.index);
  EXPECT_EQ(h.core.fdb().size(), 0u);
  EXPECT_EQ(h.core.ports().find(c1.index), nullptr);
}

TEST(SwitchCore, PortTableFullRefusesHello) {
  SwitchConfig c;
  c.max_ports = 2;
  Harness h(c);
  h.join(1);
  h.join(2);
  std::vector<std::uint8_t> hello(proto::kHelloSize);
  proto::encode(proto::Hello{7, 1, 1400}, hello);
  EXPECT_EQ(h.send(*Endpoint::parse_numeric("198.18.0.3:1", 1), hello).action, Verdict::Action::drop);
  EXPECT_EQ(h.drops(DropReason::port_table_full), 1u);
}

TEST(SwitchCore, StaleIndexAfterSlotReuseDoesNotReachNewPort) {
  SwitchConfig c;
  c.max_ports = 1;
  Harness h(c);
  auto c1 = h.join(1);
  std::vector<std::uint8_t> bye(proto::kByeSize);
  proto::encode(proto::Bye{c1.index, proto::ByeReason::leaving}, bye);
  h.send(c1.endpoint, bye);
  auto c2 = h.join(2);
  EXPECT_NE(c1.index, c2.index);
  EXPECT_EQ(h.core.ports().find(c1.index), nullptr);
}

TEST(SwitchCore, GarbageIsCountedByReason) {
  Harness h;
  const Endpoint e = *Endpoint::parse_numeric("198.18.0.1:1", 1);
  h.send(e, {});
  h.send(e, {1, 4});
  h.send(e, {9, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  h.send(e, {1, 99, 0, 0});
  h.send(e, {1, 4, 0x80, 0});
  std::vector<std::uint8_t> welcome(proto::kWelcomeSize);
  proto::encode(proto::Welcome{1, 2, 3, 1400}, welcome);
  h.send(e, welcome);  // a server never receives WELCOME
  EXPECT_EQ(h.drops(DropReason::truncated), 2u);
  EXPECT_EQ(h.drops(DropReason::bad_version), 1u);
  EXPECT_EQ(h.drops(DropReason::bad_type), 2u);
  EXPECT_EQ(h.drops(DropReason::bad_flags), 1u);
  EXPECT_EQ(h.core.stats().drops_total(), 6u);
  EXPECT_EQ(h.core.stats().rx_packets, 6u);
}
