#include "vswitch/fdb.hpp"

#include <sodium.h>
#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

namespace vswitch {
namespace {

// port_table.hpp's port_slot(), which this header cannot include (port_table includes it).
constexpr std::size_t slot_of(PortIndex port) { return port & 0xffff; }

}  // namespace

Fdb::Fdb(const FdbConfig& config) : config_(config) {
  if (config.max_entries == 0 || config.max_entries > kMaxEntriesLimit)
    throw std::invalid_argument("the MAC table holds 1.." + std::to_string(kMaxEntriesLimit) + " entries");
  if (config.max_ports == 0 || config.max_ports > 65536 || config.port_max == 0)
    throw std::invalid_argument("the MAC table needs 1..65536 port slots and room for at least one MAC per port");
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  if (config.hash_key) std::memcpy(key_, config.hash_key->data(), sizeof key_);
  else randombytes_buf(key_, sizeof key_);
  constexpr std::size_t kHugePage = std::size_t{2} << 20;
  pool_bytes_ = (config.max_entries * sizeof(Entry) + kHugePage - 1) / kHugePage * kHugePage;
  void* p = mmap(nullptr, pool_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  madvise(p, pool_bytes_, MADV_HUGEPAGE);  // a hint: fine if the kernel says no
  pool_ = static_cast<Entry*>(p);
  // Constructing every entry also faults every page in now, not on the per-frame path.
  std::uninitialized_value_construct_n(pool_, config.max_entries);
  index_.assign(std::bit_ceil(std::max<std::size_t>(16, config.max_entries * kIndexSlotsPerEntry)), kEmpty);
  mask_ = index_.size() - 1;
  free_.reserve(config.max_entries);
  for (std::size_t i = config.max_entries; i-- > 0;) free_.push_back(static_cast<std::uint32_t>(i));
  chains_.resize(config.max_ports);
  heap_.resize(config.max_ports);
  heap_pos_.resize(config.max_ports);
  for (std::size_t i = 0; i < config.max_ports; ++i) heap_[i] = heap_pos_[i] = static_cast<std::uint32_t>(i);
}

Fdb::~Fdb() {
  if (pool_ != nullptr) munmap(pool_, pool_bytes_);
}

std::uint64_t Fdb::hash(std::uint64_t network, std::uint64_t mac) const noexcept {
  unsigned char in[16];
  std::memcpy(in, &network, 8);
  std::memcpy(in + 8, &mac, 8);
  unsigned char out[crypto_shorthash_BYTES];
  crypto_shorthash(out, in, sizeof in, key_);
  std::uint64_t h = 0;
  std::memcpy(&h, out, sizeof h);
  return h;
}

std::size_t Fdb::find_slot(std::uint64_t network, std::uint64_t mac, std::uint64_t h) const noexcept {
  for (std::size_t probe = 0; probe < kMaxProbe; ++probe) {
    const std::size_t i = (h + probe) & mask_;
    const std::uint32_t v = index_[i];
    if (v == kEmpty) return npos;
    const Entry& e = pool_[v - 1];
    if (e.mac == mac && e.network == network) {
      longest_probe_ = std::max(longest_probe_, probe + 1);
      return i;
    }
  }
  return npos;  // an entry is never stored further than kMaxProbe from its home
}

PortIndex Fdb::lookup(std::uint64_t network, MacAddr mac, TimePoint now) const noexcept {
  const std::uint64_t key = mac.to_u64();
  const std::size_t i = find_slot(network, key, hash(network, key));
  if (i == npos) return kNoPort;
  const Entry& e = pool_[index_[i] - 1];
  return is_live(e, now) ? e.port : kNoPort;
}

Fdb::PortChain& Fdb::chain(PortIndex port) noexcept { return chains_[slot_of(port) % chains_.size()]; }

std::size_t Fdb::port_entries(PortIndex port) const noexcept {
  const PortChain& c = chains_[slot_of(port) % chains_.size()];
  return c.owner == port ? c.count : 0;
}

void Fdb::chain_append(std::uint32_t pos) noexcept {
  Entry& e = pool_[pos];
  PortChain& c = chain(e.port);
  if (c.owner != e.port) c = PortChain{e.port, 0, 0, 0};  // the slot's previous port left no entries
  e.prev = c.tail;
  e.next = 0;
  if (c.tail != 0) pool_[c.tail - 1].next = pos + 1;
  else c.head = pos + 1;
  c.tail = pos + 1;
  ++c.count;
  heap_up(heap_pos_[&c - chains_.data()]);
}

void Fdb::chain_unlink(std::uint32_t pos) noexcept {
  Entry& e = pool_[pos];
  PortChain& c = chain(e.port);
  if (e.prev != 0) pool_[e.prev - 1].next = e.next;
  else c.head = e.next;
  if (e.next != 0) pool_[e.next - 1].prev = e.prev;
  else c.tail = e.prev;
  e.prev = e.next = 0;
  if (c.count > 0) --c.count;
  heap_down(heap_pos_[&c - chains_.data()]);
}

// An indexed max-heap of port slots by entry count: counts move by one at a time, so a sift is
// a step or two, and the port holding the most is always at the top.
void Fdb::heap_swap(std::size_t a, std::size_t b) noexcept {
  std::swap(heap_[a], heap_[b]);
  heap_pos_[heap_[a]] = static_cast<std::uint32_t>(a);
  heap_pos_[heap_[b]] = static_cast<std::uint32_t>(b);
}

void Fdb::heap_up(std::size_t i) noexcept {
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (chains_[heap_[parent]].count >= chains_[heap_[i]].count) return;
    heap_swap(i, parent);
    i = parent;
  }
}

void Fdb::heap_down(std::size_t i) noexcept {
  for (;;) {
    std::size_t largest = i;
    for (const std::size_t child : {2 * i + 1, 2 * i + 2})
      if (child < heap_.size() && chains_[heap_[child]].count > chains_[heap_[largest]].count) largest = child;
    if (largest == i) return;
    heap_swap(i, largest);
    i = largest;
  }
}

std::size_t* Fdb::network_count(std::uint64_t network) noexcept {
  const auto it = networks_.find(network);
  return it == networks_.end() ? nullptr : &it->second.entries;
}

void Fdb::set_limits(std::size_t port_max, std::size_t network_max, Duration aging) noexcept {
  config_.port_max = port_max == 0 ? 1 : port_max;
  config_.network_max = network_max;
  config_.aging = aging;
}

void Fdb::hold_network(std::uint64_t network) { ++networks_[network].ports; }

void Fdb::release_network(std::uint64_t network) noexcept {
  const auto it = networks_.find(network);
  if (it != networks_.end() && --it->second.ports == 0 && it->second.entries == 0) networks_.erase(it);
}

std::size_t Fdb::network_entries(std::uint64_t network) const noexcept {
  const auto it = networks_.find(network);
  return it == networks_.end() ? 0 : it->second.entries;
}

void Fdb::erase(std::uint32_t pos) noexcept {
  Entry& e = pool_[pos];
  // Its index slot: within kMaxProbe of its home.
  std::size_t hole = e.home;
  while (index_[hole] != pos + 1) hole = (hole + 1) & mask_;
  // Backward-shift deletion: later members of the probe chain move into the hole when their
  // home allows it, so lookups need no tombstones and entries only ever move closer to home.
  for (std::size_t j = (hole + 1) & mask_;; j = (j + 1) & mask_) {
    const std::uint32_t v = index_[j];
    if (v == kEmpty) break;
    const std::size_t h = pool_[v - 1].home;
    const bool home_in_range = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
    if (!home_in_range) {
      index_[hole] = v;
      hole = j;
    }
  }
  index_[hole] = kEmpty;
  log_change(e, false);
  chain_unlink(pos);
  if (std::size_t* n = network_count(e.network); n != nullptr && *n > 0) --*n;
  e = Entry{};
  free_.push_back(pos);
  --size_;
}

PortIndex Fdb::largest_port() const noexcept {
  const PortChain& top = chains_[heap_.front()];
  return top.count > 0 ? top.owner : kNoPort;
}

Fdb::LearnResult Fdb::learn(std::uint64_t network, MacAddr mac, PortIndex port, TimePoint now,
                            Displaced& out) noexcept {
  out = Displaced{};
  const std::uint64_t key = mac.to_u64();
  const std::uint64_t h = hash(network, key);
  if (const std::size_t slot = find_slot(network, key, h); slot != npos) {
    const std::uint32_t pos = index_[slot] - 1;
    Entry& e = pool_[pos];
    if (e.port != port) return move(e, pos, port, false, now, out);
    const bool was_live = is_live(e, now);
    if (now - e.last_seen >= kReorderAfter) {
      chain_unlink(pos);
      chain_append(pos);
    }
    e.last_seen = now;
    return was_live ? LearnResult::refreshed : LearnResult::learned;
  }
  return insert(network, key, h, port, false, now, out);
}

Fdb::LearnResult Fdb::learn_remote(std::uint64_t network, MacAddr mac, PortIndex vtep, TimePoint now,
                                   Displaced& out) noexcept {
  out = Displaced{};
  const std::uint64_t key = mac.to_u64();
  const std::uint64_t h = hash(network, key);
  if (const std::size_t slot = find_slot(network, key, h); slot != npos) {
    const std::uint32_t pos = index_[slot] - 1;
    Entry& e = pool_[pos];
    if (e.port == vtep && e.remote) return LearnResult::refreshed;
    return move(e, pos, vtep, true, now, out);
  }
  return insert(network, key, h, vtep, true, now, out);
}

bool Fdb::forget_remote(std::uint64_t network, MacAddr mac, PortIndex vtep) noexcept {
  const std::uint64_t key = mac.to_u64();
  const std::size_t slot = find_slot(network, key, hash(network, key));
  if (slot == npos) return false;
  const std::uint32_t pos = index_[slot] - 1;
  if (!pool_[pos].remote || pool_[pos].port != vtep) return false;
  erase(pos);
  return true;
}

Fdb::LearnResult Fdb::move(Entry& e, std::uint32_t pos, PortIndex port, bool remote, TimePoint now,
                           Displaced& out) noexcept {
  out.previous = e.port;
  const bool was_live = is_live(e, now);
  if (was_live) {
    // A live MAC on another port: a move, unless it moves too often (then it stays put).
    if (e.moves >= config_.flap_moves) {
      if (now < e.flap_mark) return LearnResult::frozen;
      e.moves = 0;  // the freeze is over
      e.flap_mark = now;
    }
    if (now - e.flap_mark > config_.flap_window) {
      e.moves = 0;
      e.flap_mark = now;
    }
    if (++e.moves >= config_.flap_moves) e.flap_mark = now + config_.freeze;
  } else {
    e.moves = 0;
    e.flap_mark = now;
  }
  // The new port may be at its limit: it gives up its own oldest entry (entries, once, after a
  // reload lowered the limit). A VTEP holds what the routes say.
  for (PortChain& c = chain(port); !remote && c.owner == port && c.count >= config_.port_max && c.head != 0;) {
    out.evicted = port;
    ++out.replaced;
    erase(c.head - 1);
  }
  if (remote != e.remote) {
    if (remote) log_change(e, false);  // here no more: behind another server now
    e.remote = remote;
    if (!remote) log_change(e, true);  // here now
  }
  chain_unlink(pos);
  e.port = port;
  e.last_seen = now;
  chain_append(pos);
  return was_live ? LearnResult::moved : LearnResult::learned;
}

Fdb::LearnResult Fdb::insert(std::uint64_t network, std::uint64_t key, std::uint64_t h, PortIndex port, bool remote,
                             TimePoint now, Displaced& out) noexcept {
  std::size_t free_slot = npos;
  for (std::size_t probe = 0; probe < kMaxProbe && free_slot == npos; ++probe)
    if (index_[(h + probe) & mask_] == kEmpty) free_slot = probe;
  if (free_slot == npos) return LearnResult::refused_probe;
  PortChain& own = chain(port);
  const std::size_t own_count = own.owner == port ? own.count : 0;
  std::size_t* in_network = network_count(network);
  if (!remote && own_count >= config_.port_max) {
    out.evicted = port;
    while (own.count >= config_.port_max && own.head != 0) {
      ++out.replaced;
      erase(own.head - 1);
    }
  } else if (!remote && in_network != nullptr && config_.network_max != 0 && *in_network >= config_.network_max) {
    if (own_count == 0) return LearnResult::refused_network;
    out.evicted = port;
    ++out.replaced;
    erase(own.head - 1);
  } else if (size_ >= config_.max_entries) {
    out.table_full = true;
    out.evicted = largest_port();
    if (out.evicted == kNoPort) return LearnResult::refused_network;
    erase(chain(out.evicted).head - 1);
  }
  // An eviction may have moved index entries: look for the free slot again (one now exists).
  std::size_t i = h & mask_;
  for (std::size_t probe = 0; probe < kMaxProbe && index_[i] != kEmpty; ++probe) i = (i + 1) & mask_;
  if (index_[i] != kEmpty) return LearnResult::refused_probe;
  const std::uint32_t pos = free_.back();
  free_.pop_back();
  Entry& e = pool_[pos];
  e = Entry{};
  e.network = network;
  e.mac = key;
  e.port = port;
  e.remote = remote;
  e.home = static_cast<std::uint32_t>(h & mask_);
  e.last_seen = e.flap_mark = now;
  index_[i] = pos + 1;
  chain_append(pos);
  if (std::size_t* n = network_count(network); n != nullptr) ++*n;
  ++size_;
  log_change(e, true);
  return LearnResult::learned;
}

void Fdb::forget(std::uint64_t network, MacAddr mac) noexcept {
  const std::uint64_t key = mac.to_u64();
  if (const std::size_t slot = find_slot(network, key, hash(network, key)); slot != npos) erase(index_[slot] - 1);
}

std::size_t Fdb::remove_port(PortIndex port) noexcept {
  PortChain& c = chain(port);
  if (c.owner != port) return 0;
  std::size_t removed = 0;
  while (c.head != 0) {
    erase(c.head - 1);
    ++removed;
  }
  c = PortChain{};
  return removed;
}

std::size_t Fdb::sweep(TimePoint now, std::size_t budget) noexcept {
  std::size_t removed = 0;
  for (std::size_t n = 0; n < budget && n < config_.max_entries; ++n) {
    const auto pos = static_cast<std::uint32_t>(cursor_);
    cursor_ = cursor_ + 1 == config_.max_entries ? 0 : cursor_ + 1;
    const Entry& e = pool_[pos];
    if (e.port == kNoPort || is_live(e, now)) continue;
    erase(pos);
    ++removed;
  }
  return removed;
}

}  // namespace vswitch
