// Per-source budgets for the answers the server sends to unauthenticated datagrams.
//
// Some datagrams are answered before anyone is authenticated (a handshake cookie, an "unknown
// session" hint). Each answer costs the server work and bandwidth toward an address that may be
// spoofed, so answers are budgeted; a single global budget would let one noisy sender use up
// everyone's. Here every source has its own token bucket (per_second tokens a second, at most
// burst banked), as WireGuard's ratelimiter.c does:
//  - A source is its IPv4 address, or the /64 of its IPv6 address (one host usually owns a whole
//    /64, so finer keys would hand it 2^64 budgets). Ports never count. An IPv4-mapped IPv6
//    address (::ffff:a.b.c.d, from a dual-stack socket) is the IPv4 address.
//  - Bounded memory, allocated at construction: at most `capacity` sources, in an open-addressing
//    table at load factor <= 1/2. allow() never allocates.
//  - The table is keyed with SipHash under a random per-instance key, so that a sender choosing
//    its addresses cannot pile them onto one probe chain.
//  - A source idle for more than a second would have refilled its bucket anyway (at the default
//    rates), so its entry may be reused. When the table is full and even its least recently
//    seen source is busy, a new source is refused and counted: evicting a busy source would
//    hand it a fresh burst, which is exactly what a flood of new addresses would aim for.
// Not thread-safe: one owner (the thread that reads the unauthenticated socket) calls allow().
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "vswitch/endpoint.hpp"
#include "vswitch/time.hpp"

namespace vswitch {

class SourceRateLimiter {
 public:
  struct Config {
    std::size_t capacity = 16384;  // sources tracked at once
    double per_second = 20;        // sustained answers per source
    double burst = 5;              // answers a quiet source may send back to back (>= 1)
  };

  // Throws std::invalid_argument on a zero or absurd capacity or rates, std::runtime_error when
  // libsodium cannot initialise.
  explicit SourceRateLimiter(Config config);
  SourceRateLimiter(const SourceRateLimiter&) = delete;
  SourceRateLimiter& operator=(const SourceRateLimiter&) = delete;
  // A moved-from limiter may only be destroyed or assigned to.
  SourceRateLimiter(SourceRateLimiter&&) noexcept = default;
  SourceRateLimiter& operator=(SourceRateLimiter&&) noexcept = default;

  // true when a packet from `source` may be answered now (consumes a token). An empty endpoint
  // or an unknown family is never answered.
  bool allow(const Endpoint& source, TimePoint now) noexcept;

  // New sources turned away because every entry belonged to a source active within the last
  // second.
  std::uint64_t refused_table_full() const noexcept { return refused_table_full_; }
  std::size_t size() const noexcept { return used_; }  // sources tracked, idle ones included
  std::size_t capacity() const noexcept { return entries_.size(); }

  static constexpr Duration kIdleReuse = std::chrono::seconds(1);

 private:
  // Family tag and address bits (the IPv4 address or the IPv6 /64), zero-padded.
  using Key = std::array<std::uint8_t, 16>;
  static constexpr std::uint32_t kNone = ~std::uint32_t{0};

  struct Entry {
    Key key{};
    std::uint64_t hash = 0;
    std::int64_t credit_ns = 0;  // banked time: one answer costs cost_ns_
    TimePoint last_seen{};
    // Least recently seen first; the head is the only candidate for reuse.
    std::uint32_t older = kNone;
    std::uint32_t newer = kNone;
  };

  std::uint64_t hash_of(const Key& key) const noexcept;
  std::size_t find_slot(const Key& key, std::uint64_t hash) const noexcept;  // match or empty
  std::uint32_t reclaim_oldest(TimePoint now) noexcept;  // a freed entry index, or kNone
  void erase_slot(std::size_t slot) noexcept;
  void unlink(std::uint32_t index) noexcept;
  void link_newest(std::uint32_t index) noexcept;
  bool idle(const Entry& e, TimePoint now) const noexcept { return now - e.last_seen > kIdleReuse; }

  std::vector<Entry> entries_;
  std::vector<std::uint32_t> slots_;  // entry index + 1; 0 is an empty slot
  std::size_t mask_ = 0;
  std::size_t used_ = 0;
  std::uint32_t oldest_ = kNone;
  std::uint32_t newest_ = kNone;
  std::int64_t cost_ns_ = 0;
  std::int64_t max_credit_ns_ = 0;
  std::uint64_t refused_table_full_ = 0;
  std::array<std::uint8_t, 16> hash_key_{};
};

}  // namespace vswitch
