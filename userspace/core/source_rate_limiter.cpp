#include "vswitch/source_rate_limiter.hpp"

#include <sodium.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace vswitch {
namespace {

constexpr std::uint8_t kTagV4 = 4;
constexpr std::uint8_t kTagV6 = 6;

std::int64_t nanoseconds(Duration d) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

// What counts as one source: a family tag, then the IPv4 address or the IPv6 /64.
bool key_of(const Endpoint& source, std::array<std::uint8_t, 16>& key) noexcept {
  if (source.family() == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(source.sockaddr_ptr());
    key[0] = kTagV4;
    std::memcpy(&key[8], &sin->sin_addr, 4);
    return true;
  }
  if (source.family() != AF_INET6) return false;
  const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(source.sockaddr_ptr());
  // Endpoint already unmaps what it builds; an Endpoint written by other means must not get a
  // second budget for the same IPv4 host.
  if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
    key[0] = kTagV4;
    std::memcpy(&key[8], &sin6->sin6_addr.s6_addr[12], 4);
  } else {
    key[0] = kTagV6;
    std::memcpy(&key[8], &sin6->sin6_addr, 8);
  }
  return true;
}

}  // namespace

SourceRateLimiter::SourceRateLimiter(Config config) {
  static_assert(sizeof hash_key_ == crypto_shorthash_KEYBYTES);
  // Indices are 32-bit; the cap (about 1 GB of table) keeps a typo from reserving far more.
  if (config.capacity == 0 || config.capacity > (std::size_t{1} << 24))
    throw std::invalid_argument("rate limiter capacity must be 1 to 2^24 sources");
  if (!(config.per_second > 0) || !(config.burst >= 1) || !std::isfinite(config.burst))
    throw std::invalid_argument("rate limiter needs per_second > 0 and burst >= 1");
  // Integer nanoseconds of credit, as WireGuard: exact refills whatever the packet spacing.
  const double cost = std::max(1.0, std::round(1e9 / config.per_second));
  const double max_credit = std::round(cost * config.burst);
  if (!(max_credit < 0x1p62))
    throw std::invalid_argument("rate limiter per_second too low for its burst");
  cost_ns_ = static_cast<std::int64_t>(cost);
  max_credit_ns_ = static_cast<std::int64_t>(max_credit);
  if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
  randombytes_buf(hash_key_.data(), hash_key_.size());

  entries_.resize(config.capacity);
  // Load factor <= 1/2: every probe ends at an empty slot after a few steps.
  slots_.assign(std::bit_ceil(std::max<std::size_t>(16, config.capacity * 2)), 0);
  mask_ = slots_.size() - 1;
}

std::uint64_t SourceRateLimiter::hash_of(const Key& key) const noexcept {
  unsigned char out[crypto_shorthash_BYTES];
  crypto_shorthash(out, key.data(), key.size(), hash_key_.data());
  std::uint64_t h = 0;
  std::memcpy(&h, out, sizeof h);
  return h;
}

std::size_t SourceRateLimiter::find_slot(const Key& key, std::uint64_t hash) const noexcept {
  for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
    const std::uint32_t s = slots_[i];
    if (s == 0 || entries_[s - 1].key == key) return i;
  }
}

void SourceRateLimiter::unlink(std::uint32_t index) noexcept {
  Entry& e = entries_[index];
  (e.older == kNone ? oldest_ : entries_[e.older].newer) = e.newer;
  (e.newer == kNone ? newest_ : entries_[e.newer].older) = e.older;
  e.older = e.newer = kNone;
}

void SourceRateLimiter::link_newest(std::uint32_t index) noexcept {
  Entry& e = entries_[index];
  e.older = newest_;
  e.newer = kNone;
  (newest_ == kNone ? oldest_ : entries_[newest_].newer) = index;
  newest_ = index;
}

void SourceRateLimiter::erase_slot(std::size_t slot) noexcept {
  // Backward-shift deletion (as in the FDB): no tombstones, so probe chains stay short however
  // long the limiter runs.
  std::size_t hole = slot;
  for (std::size_t j = (slot + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
    const std::size_t home = entries_[slots_[j] - 1].hash & mask_;
    const bool home_in_range = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!home_in_range) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = 0;
}

std::uint32_t SourceRateLimiter::reclaim_oldest(TimePoint now) noexcept {
  // The list is ordered by last use, so if its head is still busy every entry is.
  if (oldest_ == kNone || !idle(entries_[oldest_], now)) return kNone;
  const std::uint32_t index = oldest_;
  std::size_t slot = entries_[index].hash & mask_;
  while (slots_[slot] != index + 1) slot = (slot + 1) & mask_;
  erase_slot(slot);
  unlink(index);
  return index;
}

bool SourceRateLimiter::allow(const Endpoint& source, TimePoint now) noexcept {
  Key key{};
  if (!key_of(source, key)) return false;

  const std::uint64_t hash = hash_of(key);
  std::size_t slot = find_slot(key, hash);
  if (slots_[slot] != 0) {
    const std::uint32_t index = slots_[slot] - 1;
    Entry& e = entries_[index];
    if (idle(e, now)) {
      // What WireGuard's garbage collector would have done: start over with a full bucket.
      e.credit_ns = max_credit_ns_;
    } else if (now > e.last_seen) {
      const std::int64_t elapsed = std::min(nanoseconds(now - e.last_seen), max_credit_ns_);
      e.credit_ns = std::min(max_credit_ns_, e.credit_ns + elapsed);
    }
    e.last_seen = std::max(e.last_seen, now);  // a clock step back must not mint credit later
    unlink(index);
    link_newest(index);
    if (e.credit_ns < cost_ns_) return false;
    e.credit_ns -= cost_ns_;
    return true;
  }

  std::uint32_t index = kNone;
  if (used_ < entries_.size()) {
    index = static_cast<std::uint32_t>(used_++);
  } else {
    index = reclaim_oldest(now);
    if (index == kNone) {
      ++refused_table_full_;
      return false;
    }
    slot = find_slot(key, hash);  // the deletion may have shifted this key's probe chain
  }
  Entry& e = entries_[index];
  e.key = key;
  e.hash = hash;
  e.credit_ns = max_credit_ns_ - cost_ns_;  // a new source starts with a full bucket, less this packet
  e.last_seen = now;
  slots_[slot] = index + 1;
  link_newest(index);
  return true;
}

}  // namespace vswitch
