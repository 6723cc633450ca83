// The forwarding database: (network, MAC) -> port, with aging and bounded size.
//
// A learning switch fills this table from the source MAC of every valid frame and reads it for
// the destination MAC. Three properties matter more than anything else here:
//  - Bounded memory. The table holds at most `max_entries`, allocated once at construction, so
//    a MAC flood cannot grow the process; per-port limits are the caller's (it owns the ports).
//  - No allocation and no rehash on the per-frame path: open addressing with linear probing at
//    a load factor of at most 1/2, and backward-shift deletion (no tombstones to clean up).
//  - Aging by timestamp: an entry idle for longer than the aging time no longer answers a
//    lookup (the frame is flooded, as on a hardware switch) and is reclaimed by expire().
// Networks share one table; the network id is part of the key, so they never see each other.
// Not thread-safe: one owner mutates it (see docs/architecture.md for the datapath threading).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

#include "vswitch/mac_addr.hpp"
#include "vswitch/time.hpp"

namespace vswitch {

using PortIndex = std::uint32_t;
inline constexpr PortIndex kNoPort = 0;

class Fdb {
 public:
  struct Entry {
    std::uint64_t network = 0;
    std::uint64_t mac = 0;  // MacAddr::to_u64()
    PortIndex port = kNoPort;  // kNoPort marks an empty slot
    TimePoint last_seen{};
  };

  enum class LearnResult {
    refreshed,   // known on the same port; timestamp updated
    learned,     // new entry
    moved,       // known on another port; now on this one (`previous` says which)
    table_full,  // new MAC, but the table holds max_entries: not learned
  };

  explicit Fdb(std::size_t max_entries, Duration aging);
  ~Fdb();
  Fdb(Fdb&& other) noexcept;
  Fdb& operator=(Fdb&&) = delete;
  Fdb(const Fdb&) = delete;
  Fdb& operator=(const Fdb&) = delete;

  // `previous` receives the old port on `moved` (and on `learned` over an aged-out entry).
  // The caller enforces per-port limits before calling.
  LearnResult learn(std::uint64_t network, MacAddr mac, PortIndex port, TimePoint now,
                    PortIndex& previous) noexcept;
  // The port of a live entry, or kNoPort when unknown or aged out.
  PortIndex lookup(std::uint64_t network, MacAddr mac, TimePoint now) const noexcept;

  // Removes entries idle for longer than the aging time; calls on_removed(entry) for each.
  template <class OnRemoved>
  std::size_t expire(TimePoint now, OnRemoved&& on_removed);
  // Removes every entry of a port (the port left or timed out).
  std::size_t remove_port(PortIndex port);

  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const auto& e : slots())
      if (e.port != kNoPort) fn(e);
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t max_entries() const noexcept { return max_entries_; }
  Duration aging() const noexcept { return aging_; }

 private:
  std::size_t find(std::uint64_t network, std::uint64_t mac) const noexcept;  // slot or npos
  std::size_t home(std::uint64_t network, std::uint64_t mac) const noexcept;
  void erase_at(std::size_t slot) noexcept;
  template <class Pred, class OnRemoved>
  std::size_t erase_where(Pred&& pred, OnRemoved&& on_removed);
  bool is_live(const Entry& e, TimePoint now) const noexcept { return now - e.last_seen <= aging_; }

  std::span<Entry> slots() const noexcept { return {slots_, mask_ + 1}; }

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  // Mapped (not new[]) so that a large table can sit on huge pages: a lookup in a table far
  // bigger than the TLB's reach otherwise pays a page walk on top of its cache miss.
  Entry* slots_ = nullptr;
  std::size_t mapped_bytes_ = 0;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  std::size_t max_entries_;
  Duration aging_;
};

template <class Pred, class OnRemoved>
std::size_t Fdb::erase_where(Pred&& pred, OnRemoved&& on_removed) {
  std::size_t removed = 0;
  // Backward-shift deletion may pull a later entry into the current slot, so a slot is
  // re-examined after each erase instead of advancing.
  for (std::size_t i = 0; i <= mask_;) {
    if (slots_[i].port != kNoPort && pred(slots_[i])) {
      on_removed(slots_[i]);
      erase_at(i);
      ++removed;
    } else {
      ++i;
    }
  }
  return removed;
}

template <class OnRemoved>
std::size_t Fdb::expire(TimePoint now, OnRemoved&& on_removed) {
  return erase_where([&](const Entry& e) { return !is_live(e, now); }, on_removed);
}

}  // namespace vswitch
