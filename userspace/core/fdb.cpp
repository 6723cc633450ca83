#include "vswitch/fdb.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <memory>
#include <new>
#include <utility>

namespace vswitch {
namespace {

// splitmix64 finaliser: MACs of one vendor differ only in their low bytes.
std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

Fdb::Fdb(std::size_t max_entries, Duration aging) : max_entries_(max_entries), aging_(aging) {
  // Load factor <= 1/2 keeps linear probe chains short even when the table is full.
  const std::size_t capacity = std::bit_ceil(std::max<std::size_t>(16, max_entries * 2));
  constexpr std::size_t kHugePage = std::size_t{2} << 20;
  mapped_bytes_ = (capacity * sizeof(Entry) + kHugePage - 1) / kHugePage * kHugePage;
  void* p = mmap(nullptr, mapped_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  madvise(p, mapped_bytes_, MADV_HUGEPAGE);  // a hint: fine if the kernel says no
  // Constructing every entry also faults every page in now, not on the per-frame path.
  slots_ = static_cast<Entry*>(p);
  std::uninitialized_value_construct_n(slots_, capacity);
  mask_ = capacity - 1;
}

Fdb::Fdb(Fdb&& other) noexcept
    : slots_(std::exchange(other.slots_, nullptr)),
      mapped_bytes_(std::exchange(other.mapped_bytes_, 0)),
      mask_(other.mask_),
      size_(other.size_),
      max_entries_(other.max_entries_),
      aging_(other.aging_) {}

Fdb::~Fdb() {
  if (slots_ != nullptr) munmap(slots_, mapped_bytes_);
}

std::size_t Fdb::home(std::uint64_t network, std::uint64_t mac) const noexcept {
  // MACs are 48 bits: the network id's low bits go above them, then one mix spreads all.
  return static_cast<std::size_t>(mix(mac ^ network << 48 ^ network >> 16)) & mask_;
}

std::size_t Fdb::find(std::uint64_t network, std::uint64_t mac) const noexcept {
  for (std::size_t i = home(network, mac);; i = (i + 1) & mask_) {
    const Entry& e = slots_[i];
    if (e.port == kNoPort) return npos;
    if (e.mac == mac && e.network == network) return i;
  }
}

PortIndex Fdb::lookup(std::uint64_t network, MacAddr mac, TimePoint now) const noexcept {
  const std::size_t i = find(network, mac.to_u64());
  if (i == npos || !is_live(slots_[i], now)) return kNoPort;
  return slots_[i].port;
}

Fdb::LearnResult Fdb::learn(std::uint64_t network, MacAddr mac, PortIndex port, TimePoint now,
                            PortIndex& previous) noexcept {
  const std::uint64_t key = mac.to_u64();
  std::size_t i = home(network, key);
  for (;; i = (i + 1) & mask_) {
    Entry& e = slots_[i];
    if (e.port == kNoPort) break;
    if (e.mac != key || e.network != network) continue;
    const bool was_live = is_live(e, now);
    previous = e.port;
    e.last_seen = now;
    if (e.port == port) return was_live ? LearnResult::refreshed : LearnResult::learned;
    e.port = port;
    // An aged-out entry revived on another port is a new station as far as counts go.
    return was_live ? LearnResult::moved : LearnResult::learned;
  }
  if (size_ >= max_entries_) return LearnResult::table_full;
  slots_[i] = Entry{network, key, port, now};
  previous = kNoPort;
  ++size_;
  return LearnResult::learned;
}

void Fdb::erase_at(std::size_t slot) noexcept {
  // Backward-shift deletion: move later members of the probe chain into the hole when their
  // home position allows it, so lookups never need tombstones.
  std::size_t hole = slot;
  for (std::size_t j = (slot + 1) & mask_;; j = (j + 1) & mask_) {
    Entry& e = slots_[j];
    if (e.port == kNoPort) break;
    const std::size_t h = home(e.network, e.mac);
    // e may fill the hole if its home is not in the cyclic range (hole, j].
    const bool home_in_range = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
    if (!home_in_range) {
      slots_[hole] = e;
      hole = j;
    }
  }
  slots_[hole] = Entry{};
  --size_;
}

std::size_t Fdb::remove_port(PortIndex port) {
  return erase_where([port](const Entry& e) { return e.port == port; }, [](const Entry&) {});
}

}  // namespace vswitch
