// The forwarding database: (network, MAC) -> port, bounded, fair, and cheap to maintain under
// attack (docs/architecture.md, "The MAC table").
//
// Storage: a pool of `max_entries` entries allocated once (on huge pages where the kernel
// agrees), found through an open-addressing index of pool positions (load <= 1/4, linear
// probing, backward-shift deletion). The index is keyed with SipHash-2-4 under a random key per
// process, so nobody can choose MACs that collide, and no probe goes further than kMaxProbe
// slots: a MAC that would need more is not learned (counted). Measured over full tables with
// random keys: at load 1/2 the longest probe reached 32 in a quarter of 65,536-entry tables
// and in every 2^20-entry one (legitimate MACs refused); at load 1/4 it stayed at 8-14
// (65,536) and 18 (2^24), so the bound is never met by chance. Each port's entries are also chained in the order they were
// learned, so removing a port or replacing its oldest entry costs O(that port's entries), never
// a sweep of the table.
//
// Bounds, in the spirit of Open vSwitch's mac-learning:
//  - a port at `port_max` entries replaces its own oldest one;
//  - a network at `network_max` takes room from the learning port's own oldest entry, else the
//    MAC is not learned;
//  - a full table evicts the oldest entry of the port that holds the most, so a port that floods
//    MACs evicts only its own.
// Aging: an idle entry stops answering at once (lookups check its time); sweep() reclaims idle
// entries in bounded slices, a cursor walking the pool, so no call holds the switch long.
// "Oldest" is least recently seen, to within kReorderAfter.
// Moves: an entry that moves `flap_moves` times within `flap_window` is frozen on its port for
// `freeze` (as FRR freezes a duplicate MAC): further moves are refused and counted.
// Remote entries (EVPN): a MAC behind another server's VTEP, as BGP says, sits on that VTEP's port
// like any other entry but is never aged and ignores the quotas; routes put it there and take it
// away (learn_remote, forget_remote). A move between a local port and a VTEP is a move like any
// other, dampened the same way (FRR's duplicate-address freeze has the same defaults). With a
// change log, every local entry that appears or goes is written to it.
// Not thread-safe: one owner (the switch, under its lock) calls it.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "vswitch/counter.hpp"
#include "vswitch/fdb_change_log.hpp"
#include "vswitch/mac_addr.hpp"
#include "vswitch/time.hpp"

namespace vswitch {

using PortIndex = std::uint32_t;
inline constexpr PortIndex kNoPort = 0;

struct FdbConfig {
  std::size_t max_entries = 65536;
  std::size_t max_ports = 1024;   // port slots (the port table's size)
  std::size_t port_max = 1024;    // entries per port
  std::size_t network_max = 0;    // entries per network; 0: no limit but the table's
  Duration aging = std::chrono::seconds(300);
  unsigned flap_moves = 5;
  Duration flap_window = std::chrono::seconds(180);
  Duration freeze = std::chrono::seconds(180);
  std::optional<std::array<std::uint8_t, 16>> hash_key;  // tests only; else random per table
};

class Fdb {
 public:
  static constexpr std::size_t kMaxProbe = 32;
  static constexpr std::size_t kIndexSlotsPerEntry = 4;  // load <= 1/4 (see the top)
  // A refreshed entry goes to the young end of its port's chain at most this often, so the
  // chain is an LRU to within a second without relinking on every frame.
  static constexpr Duration kReorderAfter = std::chrono::seconds(1);
  static constexpr std::size_t kMaxEntriesLimit = std::size_t{1} << 24;

  struct Entry {
    std::uint64_t network = 0;
    std::uint64_t mac = 0;     // MacAddr::to_u64()
    PortIndex port = kNoPort;  // kNoPort: a free pool entry
    std::uint32_t prev = 0, next = 0;  // the port's chain, pool positions + 1 (0: none)
    std::uint32_t home = 0;            // its index slot's probe start (no rehash on deletion)
    std::uint16_t moves = 0;           // moves in the current flap window
    bool remote = false;               // EVPN: behind a remote VTEP (never aged)
    TimePoint last_seen{};
    TimePoint flap_mark{};  // start of the flap window; the end of the freeze once frozen
  };

  enum class LearnResult : std::uint8_t {
    refreshed,       // known on this port; its time updated
    learned,         // new entry (`evicted` may name a port that lost its oldest for it)
    moved,           // known on another port (`previous`), now on this one
    frozen,          // known on another port but frozen there: not moved
    refused_network, // the network is at its limit and this port has no entry to give up
    refused_probe,   // no free index slot within kMaxProbe
  };

  explicit Fdb(const FdbConfig& config);
  ~Fdb();
  Fdb(const Fdb&) = delete;
  Fdb& operator=(const Fdb&) = delete;

  // What a learn displaced besides the MAC itself.
  struct Displaced {
    PortIndex previous = kNoPort;  // the port the MAC was on (moved, frozen)
    PortIndex evicted = kNoPort;   // a port whose oldest entry made room (kNoPort: none)
    bool table_full = false;       // ... because the table was full (else: a port or network quota)
    std::uint32_t replaced = 0;    // the learning port's own entries given up for it (quotas)
  };
  LearnResult learn(std::uint64_t network, MacAddr mac, PortIndex port, TimePoint now, Displaced& out) noexcept;
  // The port of a live entry, or kNoPort when unknown or aged out.
  PortIndex lookup(std::uint64_t network, MacAddr mac, TimePoint now) const noexcept;

  // EVPN: the MAC is behind the VTEP whose port is `vtep`, as a route says. Moves it there from
  // anywhere (a move, dampened like one: `frozen` when it flaps), or adds it.
  LearnResult learn_remote(std::uint64_t network, MacAddr mac, PortIndex vtep, TimePoint now, Displaced& out) noexcept;
  // EVPN: the route is gone. Removes the entry only if it is still remote on `vtep`.
  bool forget_remote(std::uint64_t network, MacAddr mac, PortIndex vtep) noexcept;
  // Where local entries that appear or go are written (nullptr: nowhere). Not owned.
  void set_change_log(FdbChangeLog* log) noexcept { changes_ = log; }

  // Removes one entry (if present).
  void forget(std::uint64_t network, MacAddr mac) noexcept;
  // Removes every entry of a port: O(its entries).
  std::size_t remove_port(PortIndex port) noexcept;
  // Examines `budget` pool entries from where the last call stopped and removes the idle ones.
  // Returns how many it removed.
  std::size_t sweep(TimePoint now, std::size_t budget) noexcept;

  // A network's entries are counted from its first port on (so learning never allocates) until
  // its last port has gone: each port of the network holds one reference.
  // New per-port and per-network limits and aging (a reload); the sizes allocated stay.
  void set_limits(std::size_t port_max, std::size_t network_max, Duration aging) noexcept;

  void hold_network(std::uint64_t network);
  void release_network(std::uint64_t network) noexcept;
  std::size_t network_entries(std::uint64_t network) const noexcept;
  // Every network a port holds: fn(network).
  template <class Fn>
  void for_each_network(Fn&& fn) const {
    for (const auto& [network, count] : networks_)
      if (count.ports > 0) fn(network);
  }

  // Calls fn(entry) for the entries at pool positions [from, from + count): a bounded piece of
  // a walk over the table. Returns where the next piece starts (max_entries() at the end).
  template <class Fn>
  std::size_t for_each_from(std::size_t from, std::size_t count, Fn&& fn) const {
    const std::size_t end = from + count < config_.max_entries ? from + count : config_.max_entries;
    for (std::size_t i = from; i < end; ++i)
      if (pool_[i].port != kNoPort) fn(static_cast<const Entry&>(pool_[i]));
    return end;
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t port_entries(PortIndex port) const noexcept;
  std::size_t max_entries() const noexcept { return config_.max_entries; }
  std::size_t index_slots() const noexcept { return index_.size(); }
  Duration aging() const noexcept { return config_.aging; }
  const FdbConfig& config() const noexcept { return config_; }
  // The longest probe any lookup or learn has needed so far (for tests and statistics).
  std::size_t longest_probe() const noexcept { return longest_probe_; }

 private:
  struct PortChain {
    PortIndex owner = kNoPort;
    std::uint32_t head = 0, tail = 0;  // pool positions + 1, oldest at head
    std::size_t count = 0;
  };
  static constexpr std::uint32_t kEmpty = 0;

  std::uint64_t hash(std::uint64_t network, std::uint64_t mac) const noexcept;
  // Index slot holding the entry, or npos.
  std::size_t find_slot(std::uint64_t network, std::uint64_t mac, std::uint64_t h) const noexcept;
  bool is_live(const Entry& e, TimePoint now) const noexcept { return e.remote || now - e.last_seen <= config_.aging; }
  void log_change(const Entry& e, bool added) noexcept {
    if (changes_ != nullptr && !e.remote) changes_->push({e.network, e.mac, added});
  }
  // A known entry goes to `port` (a move): dampened; may make room on `port` (its quota).
  LearnResult move(Entry& e, std::uint32_t pos, PortIndex port, bool remote, TimePoint now, Displaced& out) noexcept;
  // A new entry: room first (quotas, a full table), then an index slot; `remote` skips the quotas.
  LearnResult insert(std::uint64_t network, std::uint64_t mac, std::uint64_t h, PortIndex port, bool remote,
                     TimePoint now, Displaced& out) noexcept;
  PortChain& chain(PortIndex port) noexcept;
  void chain_append(std::uint32_t pos) noexcept;
  void chain_unlink(std::uint32_t pos) noexcept;
  // Removes the entry at pool position `pos` from the index, its chain and the counts.
  void erase(std::uint32_t pos) noexcept;
  // The port with the most entries (for eviction when the table is full): O(1).
  PortIndex largest_port() const noexcept;
  void heap_swap(std::size_t a, std::size_t b) noexcept;
  void heap_up(std::size_t i) noexcept;
  void heap_down(std::size_t i) noexcept;
  std::size_t* network_count(std::uint64_t network) noexcept;

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  FdbConfig config_;
  unsigned char key_[16];
  Entry* pool_ = nullptr;  // mapped: a large table sits on huge pages (fewer TLB misses)
  std::size_t pool_bytes_ = 0;
  std::vector<std::uint32_t> index_;  // pool position + 1, or kEmpty
  std::size_t mask_ = 0;
  std::vector<std::uint32_t> free_;  // free pool positions
  std::vector<PortChain> chains_;    // by port slot
  std::vector<std::uint32_t> heap_;      // port slots, max-heap by chain count
  std::vector<std::uint32_t> heap_pos_;  // by port slot: its place in heap_
  struct NetworkCount {
    std::size_t entries = 0, ports = 0;
  };
  std::unordered_map<std::uint64_t, NetworkCount> networks_;
  Counter size_;  // read without the lock (metrics)
  std::size_t cursor_ = 0;
  mutable std::size_t longest_probe_ = 0;
  FdbChangeLog* changes_ = nullptr;
};

}  // namespace vswitch
