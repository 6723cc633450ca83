#include "vswitch/fdb.hpp"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

using namespace vswitch;
using namespace std::chrono_literals;

namespace {

MacAddr mac(std::uint64_t n) { return MacAddr::from_u64(0x020000000000ULL | n); }
const TimePoint t0{};

}  // namespace

TEST(Fdb, LearnLookupRefreshMove) {
  Fdb fdb(16, 300s);
  PortIndex prev = 0;
  EXPECT_EQ(fdb.learn(1, mac(1), 10, t0, prev), Fdb::LearnResult::learned);
  EXPECT_EQ(fdb.lookup(1, mac(1), t0), 10u);
  EXPECT_EQ(fdb.learn(1, mac(1), 10, t0 + 1s, prev), Fdb::LearnResult::refreshed);
  EXPECT_EQ(fdb.learn(1, mac(1), 11, t0 + 2s, prev), Fdb::LearnResult::moved);
  EXPECT_EQ(prev, 10u);
  EXPECT_EQ(fdb.lookup(1, mac(1), t0 + 2s), 11u);
  EXPECT_EQ(fdb.size(), 1u);
}

TEST(Fdb, NetworksAreSeparateKeys) {
  Fdb fdb(16, 300s);
  PortIndex prev = 0;
  fdb.learn(1, mac(1), 10, t0, prev);
  EXPECT_EQ(fdb.lookup(2, mac(1), t0), kNoPort);
  fdb.learn(2, mac(1), 20, t0, prev);
  EXPECT_EQ(fdb.lookup(1, mac(1), t0), 10u);
  EXPECT_EQ(fdb.lookup(2, mac(1), t0), 20u);
}

TEST(Fdb, AgingHidesThenExpireRemoves) {
  Fdb fdb(16, 10s);
  PortIndex prev = 0;
  fdb.learn(1, mac(1), 10, t0, prev);
  fdb.learn(1, mac(2), 10, t0 + 5s, prev);
  EXPECT_EQ(fdb.lookup(1, mac(1), t0 + 10s), 10u);
  EXPECT_EQ(fdb.lookup(1, mac(1), t0 + 11s), kNoPort);
  int removed_for_port_10 = 0;
  EXPECT_EQ(fdb.expire(t0 + 11s, [&](const Fdb::Entry& e) { removed_for_port_10 += e.port == 10; }), 1u);
  EXPECT_EQ(removed_for_port_10, 1);
  EXPECT_EQ(fdb.size(), 1u);
  EXPECT_EQ(fdb.lookup(1, mac(2), t0 + 11s), 10u);
}

TEST(Fdb, BoundedSize) {
  Fdb fdb(4, 300s);
  PortIndex prev = 0;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(fdb.learn(1, mac(i), 1, t0, prev), Fdb::LearnResult::learned);
  EXPECT_EQ(fdb.learn(1, mac(99), 1, t0, prev), Fdb::LearnResult::table_full);
  EXPECT_EQ(fdb.lookup(1, mac(99), t0), kNoPort);
  EXPECT_EQ(fdb.learn(1, mac(0), 2, t0, prev), Fdb::LearnResult::moved);  // existing still moves
  EXPECT_EQ(fdb.size(), 4u);
}

TEST(Fdb, RemovePortLeavesOthersReachable) {
  Fdb fdb(1024, 300s);
  PortIndex prev = 0;
  for (int i = 0; i < 600; ++i) fdb.learn(1, mac(i), i % 3 + 1, t0, prev);
  EXPECT_EQ(fdb.remove_port(2), 200u);
  for (int i = 0; i < 600; ++i)
    EXPECT_EQ(fdb.lookup(1, mac(i), t0), i % 3 == 1 ? kNoPort : static_cast<PortIndex>(i % 3 + 1));
}

// Random learn/expire/remove against a std::unordered_map model: catches probe-chain bugs in
// backward-shift deletion.
TEST(Fdb, MatchesReferenceModelUnderRandomOperations) {
  Fdb fdb(256, 50s);
  struct Ref {
    PortIndex port;
    TimePoint seen;
  };
  std::unordered_map<std::uint64_t, Ref> model;
  std::mt19937 rng(7);
  TimePoint now = t0;
  PortIndex prev = 0;
  for (int step = 0; step < 20000; ++step) {
    now += std::chrono::milliseconds(rng() % 100);
    const std::uint64_t m = rng() % 400;
    const PortIndex port = rng() % 4 + 1;
    switch (rng() % 10) {
      case 0:
        fdb.expire(now, [](const Fdb::Entry&) {});
        std::erase_if(model, [&](auto& kv) { return now - kv.second.seen > 50s; });
        break;
      case 1:
        fdb.remove_port(port);
        std::erase_if(model, [&](auto& kv) { return kv.second.port == port; });
        break;
      default: {
        const bool known = model.count(m) != 0;
        const auto r = fdb.learn(1, mac(m), port, now, prev);
        if (r != Fdb::LearnResult::table_full) model[m] = {port, now};
        else EXPECT_FALSE(known);
      }
    }
    ASSERT_EQ(fdb.size(), model.size());
  }
  for (std::uint64_t m = 0; m < 400; ++m) {
    const auto it = model.find(m);
    const PortIndex want = it == model.end() || now - it->second.seen > 50s ? kNoPort : it->second.port;
    EXPECT_EQ(fdb.lookup(1, mac(m), now), want) << m;
  }
}
