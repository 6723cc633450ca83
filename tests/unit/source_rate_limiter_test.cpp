#include "vswitch/source_rate_limiter.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

using namespace vswitch;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = TimePoint{} + 1000s;

Endpoint ep(const char* text) {
  auto e = Endpoint::parse_numeric(text, 9797);
  EXPECT_TRUE(e) << text;
  return e.value_or(Endpoint{});
}

// 10.x.y.z, numbered; the port varies too, to show it does not matter.
Endpoint v4(std::uint32_t n) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<std::uint16_t>(1024 + n % 60000));
  sin.sin_addr.s_addr = htonl(0x0a000000u | (n & 0xffffffu));
  return Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
}

// Sends `n` packets at `now` and returns how many were allowed.
int burst(SourceRateLimiter& limiter, const Endpoint& source, TimePoint now, int n) {
  int allowed = 0;
  for (int i = 0; i < n; ++i) allowed += limiter.allow(source, now);
  return allowed;
}

}  // namespace

TEST(SourceRateLimiter, BurstThenRefusalThenRefill) {
  SourceRateLimiter limiter({});  // 20/s, burst 5: one token per 50 ms
  const Endpoint a = ep("198.18.0.1:1000");
  EXPECT_EQ(burst(limiter, a, t0, 8), 5);
  EXPECT_FALSE(limiter.allow(a, t0 + 49ms));
  EXPECT_TRUE(limiter.allow(a, t0 + 50ms));  // refused packets still earned the time between
  EXPECT_FALSE(limiter.allow(a, t0 + 50ms));
  EXPECT_FALSE(limiter.allow(ep("198.18.0.1:2000"), t0 + 50ms));  // ports do not count
  // A long quiet spell banks no more than the burst.
  EXPECT_EQ(burst(limiter, a, t0 + 1050ms, 8), 5);
  // Sustained, it allows the configured rate: 20 in one second at one try per millisecond.
  int allowed = 0;
  for (int ms = 1; ms <= 1000; ++ms) allowed += limiter.allow(a, t0 + 1050ms + ms * 1ms);
  EXPECT_EQ(allowed, 20);
  EXPECT_EQ(limiter.refused_table_full(), 0u);
}

TEST(SourceRateLimiter, SourcesAreIndependent) {
  SourceRateLimiter limiter({});
  const Endpoint a = ep("198.18.0.1"), b = ep("198.18.0.2"), c = ep("[2001:db8::1]:1");
  EXPECT_EQ(burst(limiter, a, t0, 100), 5);
  EXPECT_EQ(burst(limiter, b, t0, 100), 5);
  EXPECT_EQ(burst(limiter, c, t0, 100), 5);
  EXPECT_EQ(limiter.size(), 3u);
}

TEST(SourceRateLimiter, Ipv6SourcesAreTheirSlash64) {
  SourceRateLimiter limiter({});
  EXPECT_EQ(burst(limiter, ep("[2001:db8:1:2::1]:1"), t0, 3), 3);
  EXPECT_EQ(burst(limiter, ep("[2001:db8:1:2:ffff:ffff:ffff:ffff]:2"), t0, 5), 2);  // same /64
  EXPECT_EQ(burst(limiter, ep("[2001:db8:1:3::1]:1"), t0, 10), 5);                 // next /64
  EXPECT_EQ(burst(limiter, ep("[2001:db9:1:2::1]:1"), t0, 10), 5);
  EXPECT_EQ(limiter.size(), 3u);
}

TEST(SourceRateLimiter, MappedIpv4IsTheIpv4Address) {
  SourceRateLimiter limiter({});
  EXPECT_EQ(burst(limiter, ep("198.18.0.7:1"), t0, 2), 2);
  EXPECT_EQ(burst(limiter, ep("[::ffff:198.18.0.7]:2"), t0, 10), 3);
  EXPECT_EQ(burst(limiter, ep("[::ffff:198.18.0.8]:2"), t0, 1), 1);
  EXPECT_EQ(burst(limiter, ep("198.18.0.8:1"), t0, 10), 4);
  // Written in place (as a receive call may fill sockaddr_ptr()), without Endpoint's unmapping.
  Endpoint raw = ep("[2001:db8::9]:3");
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(raw.sockaddr_ptr());
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:198.18.0.8", &sin6->sin6_addr), 1);
  ASSERT_EQ(raw.family(), AF_INET6);
  EXPECT_EQ(burst(limiter, raw, t0, 10), 0);
  EXPECT_TRUE(limiter.allow(ep("198.18.0.8:1"), t0 + 50ms));
  EXPECT_FALSE(limiter.allow(raw, t0 + 50ms));
  // The rest of ::/64, which holds the mapped range, is IPv6 and apart from IPv4.
  EXPECT_EQ(burst(limiter, ep("[::1]:1"), t0, 10), 5);
  EXPECT_EQ(burst(limiter, ep("[::2]:1"), t0, 10), 0);
  EXPECT_EQ(burst(limiter, ep("0.0.0.0:1"), t0, 10), 5);
}

TEST(SourceRateLimiter, EmptyEndpointIsNeverAnswered) {
  SourceRateLimiter limiter({});
  EXPECT_FALSE(limiter.allow(Endpoint{}, t0));
  EXPECT_EQ(limiter.size(), 0u);
}

TEST(SourceRateLimiter, FullTableRefusesNewSourcesButServesKnownOnes) {
  SourceRateLimiter limiter({.capacity = 4});
  for (std::uint32_t i = 0; i < 4; ++i) EXPECT_TRUE(limiter.allow(v4(i), t0));
  EXPECT_FALSE(limiter.allow(v4(4), t0));
  EXPECT_FALSE(limiter.allow(v4(5), t0 + 500ms));
  EXPECT_EQ(limiter.refused_table_full(), 2u);
  EXPECT_EQ(limiter.size(), 4u);
  // Known sources keep their buckets (4 tokens left, then refills).
  EXPECT_EQ(burst(limiter, v4(0), t0 + 10ms, 10), 4);
  EXPECT_TRUE(limiter.allow(v4(0), t0 + 100ms));
  EXPECT_EQ(burst(limiter, v4(3), t0 + 900ms, 10), 5);
  // Exactly one second idle is not yet "more than a second".
  EXPECT_FALSE(limiter.allow(v4(6), t0 + 1000ms));
  EXPECT_EQ(limiter.refused_table_full(), 3u);
}

TEST(SourceRateLimiter, EntriesIdleForMoreThanASecondAreReused) {
  SourceRateLimiter limiter({.capacity = 2});
  const Endpoint a = v4(1), b = v4(2), c = v4(3), d = v4(4);
  EXPECT_EQ(burst(limiter, a, t0, 10), 5);
  EXPECT_TRUE(limiter.allow(b, t0 + 500ms));
  EXPECT_EQ(burst(limiter, c, t0 + 1001ms, 10), 5);  // takes a's entry, with a full burst
  EXPECT_FALSE(limiter.allow(d, t0 + 1001ms));       // b was seen 501 ms ago
  EXPECT_FALSE(limiter.allow(a, t0 + 1001ms));       // a is new again, and there is no room
  EXPECT_EQ(limiter.refused_table_full(), 2u);
  EXPECT_EQ(burst(limiter, c, t0 + 1100ms, 10), 1);  // c's own bucket: 99 ms of refill
  EXPECT_EQ(burst(limiter, d, t0 + 1502ms, 10), 5);  // takes b's entry
  EXPECT_EQ(burst(limiter, c, t0 + 1550ms, 10), 5);  // c was not the one reclaimed
  EXPECT_EQ(limiter.refused_table_full(), 2u);
  EXPECT_EQ(limiter.size(), 2u);
}

TEST(SourceRateLimiter, RefusedPacketsKeepASourceBusy) {
  // A source that keeps sending while over budget is active, not idle: its entry is not
  // handed over and its (empty) bucket does not reset.
  SourceRateLimiter limiter({.capacity = 1});
  const Endpoint a = v4(1);
  EXPECT_EQ(burst(limiter, a, t0, 5), 5);
  int allowed = 0;
  for (int ms = 0; ms <= 3000; ms += 10) {
    allowed += limiter.allow(a, t0 + ms * 1ms);
    EXPECT_FALSE(limiter.allow(v4(2), t0 + ms * 1ms));
  }
  EXPECT_EQ(allowed, 60);  // 20/s for 3 s, nothing more
}

TEST(SourceRateLimiter, IdleSourceStartsOverWithAFullBurst) {
  // At slow rates a second does not refill the bucket; after it the entry is forgotten, as
  // WireGuard's garbage collection forgets it, so the source starts over.
  SourceRateLimiter limiter({.capacity = 8, .per_second = 1, .burst = 3});
  const Endpoint a = v4(1);
  EXPECT_EQ(burst(limiter, a, t0, 10), 3);
  EXPECT_EQ(burst(limiter, a, t0 + 1000ms, 10), 1);
  EXPECT_EQ(burst(limiter, a, t0 + 2001ms, 10), 3);
}

TEST(SourceRateLimiter, RejectsNonsenseConfiguration) {
  EXPECT_THROW(SourceRateLimiter({.capacity = 0}), std::invalid_argument);
  EXPECT_THROW(SourceRateLimiter({.per_second = 0}), std::invalid_argument);
  EXPECT_THROW(SourceRateLimiter({.per_second = -1}), std::invalid_argument);
  EXPECT_THROW(SourceRateLimiter({.burst = 0.5}), std::invalid_argument);
  EXPECT_THROW(SourceRateLimiter({.per_second = 1e-12}), std::invalid_argument);
}

// A flood from ever new addresses: memory stays at `capacity`, a steady legitimate source is
// never crowded out, and the flood gets at most one answer per entry per idle period.
TEST(SourceRateLimiter, FloodOfNewSourcesStaysBounded) {
  constexpr std::size_t kCapacity = 256;
  SourceRateLimiter limiter({.capacity = kCapacity});
  const Endpoint legit = ep("[2001:db8:42::1]:51820");
  std::uint32_t next_source = 0;
  std::uint64_t flood_answered = 0, flood_sent = 0;
  int legit_refused = 0;
  // 10 s at 10,000 new sources a second; the legitimate peer sends 10 a second.
  for (int us = 0; us < 10'000'000; us += 100) {
    const TimePoint now = t0 + us * 1us;
    flood_answered += limiter.allow(v4(next_source++), now);
    ++flood_sent;
    if (us % 100'000 == 0) legit_refused += !limiter.allow(legit, now);
    ASSERT_LE(limiter.size(), kCapacity);
  }
  EXPECT_EQ(legit_refused, 0);
  EXPECT_EQ(limiter.size(), kCapacity);
  // Entries free up only after a second idle: about `capacity` answers per second, at most.
  EXPECT_LE(flood_answered, kCapacity * 11);
  EXPECT_GE(flood_answered, kCapacity * 5);
  EXPECT_EQ(limiter.refused_table_full(), flood_sent - flood_answered);
}

// Random sources, times and table pressure against a plain map with the same rules: checks the
// open-addressing table (probe chains after reuse) and the least-recently-seen order.
TEST(SourceRateLimiter, MatchesReferenceModelUnderRandomTraffic) {
  constexpr std::size_t kCapacity = 64;
  constexpr std::int64_t kCost = 50'000'000, kMax = 5 * kCost;  // the defaults, in ns
  SourceRateLimiter limiter({.capacity = kCapacity});
  struct Ref {
    std::int64_t credit;
    std::int64_t seen_ns;
    std::uint64_t order;  // last use, for least-recently-seen
  };
  std::map<std::uint32_t, Ref> model;
  std::uint64_t order = 0, refused_full = 0;
  std::int64_t now_ns = 0;
  std::mt19937_64 rng(1234);
  for (int op = 0; op < 200'000; ++op) {
    now_ns += static_cast<std::int64_t>(rng() % 3'000'000);  // 0-3 ms between packets
    const auto source = static_cast<std::uint32_t>(rng() % 160);
    bool expected = false;
    auto it = model.find(source);
    if (it != model.end()) {
      Ref& r = it->second;
      const std::int64_t idle = now_ns - r.seen_ns;
      r.credit = idle > 1'000'000'000 ? kMax : std::min(kMax, r.credit + idle);
      r.seen_ns = now_ns;
      r.order = ++order;
      expected = r.credit >= kCost;
      if (expected) r.credit -= kCost;
    } else {
      if (model.size() == kCapacity) {
        auto oldest = model.begin();
        for (auto m = model.begin(); m != model.end(); ++m)
          if (m->second.order < oldest->second.order) oldest = m;
        if (now_ns - oldest->second.seen_ns > 1'000'000'000) model.erase(oldest);
      }
      if (model.size() < kCapacity) {
        model[source] = Ref{kMax - kCost, now_ns, ++order};
        expected = true;
      } else {
        ++refused_full;
      }
    }
    ASSERT_EQ(limiter.allow(v4(source), t0 + std::chrono::nanoseconds(now_ns)), expected)
        << "op " << op << " source " << source;
    ASSERT_EQ(limiter.size(), model.size());
    // Now and then a quiet spell, so that entries become reusable.
    if (rng() % 2000 == 0) now_ns += 1'500'000'000;
  }
  EXPECT_EQ(limiter.refused_table_full(), refused_full);
  EXPECT_GT(refused_full, 0u);
}
