#include "vswitch/session_table.hpp"

#include <sodium.h>

#include <cstring>

namespace vswitch {

SessionTable::SessionTable(std::size_t max_ports) : pool_(4 * max_ports + 64), peers_(max_ports) {
  while ((std::size_t{1} << slot_bits_) < pool_.size()) ++slot_bits_;
  slot_mask_ = static_cast<std::uint32_t>((std::uint64_t{1} << slot_bits_) - 1);
  free_slots_.reserve(pool_.size());
  for (std::size_t i = pool_.size(); i-- > 0;) free_slots_.push_back(static_cast<std::uint32_t>(i));
  retired_.reserve(pool_.size());
}

SessionTable::~SessionTable() {
  for (auto& slot : pool_) delete slot.load(std::memory_order_relaxed);  // wipes (TransportKey dtor)
}

Keypair* SessionTable::allocate(std::uint32_t& index) {
  // No reclaim here: only the maintenance tick reclaims, so that the thread running it may use
  // retired keypairs (goodbyes) until its next tick without being a reader.
  if (free_slots_.empty()) return nullptr;
  const std::uint32_t slot = free_slots_.back();
  Keypair* kp = pool_[slot].load(std::memory_order_relaxed);
  if (kp == nullptr) {
    kp = new Keypair();  // once per slot, at a handshake: never on the packet path
    kp->pool_slot = slot;
    pool_[slot].store(kp, std::memory_order_release);
  }
  free_slots_.pop_back();
  ++in_use_;
  do {
    const std::uint32_t random = randombytes_random();
    index = slot_bits_ >= 32 ? slot : (random << slot_bits_) | slot;
  } while (index == 0);
  return kp;
}

void SessionTable::release_unpublished(Keypair* kp, std::uint32_t index) noexcept {
  (void)index;
  kp->reset();
  free_slots_.push_back(kp->pool_slot);
  --in_use_;
}

void SessionTable::retire(Keypair* kp, EpochDomain& epochs) noexcept {
  if (kp == nullptr) return;
  kp->local_index.store(0, std::memory_order_seq_cst);
  retired_.push_back({kp, epochs.advance()});
}

std::size_t SessionTable::reclaim(const EpochDomain& epochs) noexcept {
  std::size_t freed = 0;
  for (std::size_t i = 0; i < retired_.size();) {
    if (!epochs.safe(retired_[i].epoch)) {
      ++i;
      continue;
    }
    Keypair* kp = retired_[i].kp;
    free_slots_.push_back(kp->pool_slot);
    kp->reset();
    --in_use_;
    ++freed;
    retired_[i] = retired_.back();
    retired_.pop_back();
  }
  return freed;
}

std::size_t SessionTable::MemberKeyHash::operator()(const MemberKey& k) const noexcept {
  std::uint64_t h = k.network * 0x9e3779b97f4a7c15ULL;
  std::uint64_t w = 0;
  std::memcpy(&w, k.key.data(), sizeof w);  // the key is uniformly random already
  return static_cast<std::size_t>(h ^ w);
}

PortIndex SessionTable::find_member_port(const noise::PublicKey& key, std::uint64_t network) const noexcept {
  const auto it = by_member_.find({key, network});
  return it == by_member_.end() ? kNoPort : it->second;
}

PortIndex SessionTable::find_endpoint_port(const Endpoint& endpoint) const noexcept {
  const auto it = by_endpoint_.find(endpoint);
  return it == by_endpoint_.end() ? kNoPort : it->second;
}

void SessionTable::index_member(const noise::PublicKey& key, std::uint64_t network, PortIndex port) {
  by_member_[{key, network}] = port;
}

void SessionTable::index_endpoint(const Endpoint& endpoint, PortIndex port) { by_endpoint_[endpoint] = port; }

void SessionTable::forget_port(PortIndex port, std::uint64_t network, EpochDomain& epochs) noexcept {
  PeerSession& p = peer(port);
  if (p.port != port) return;
  retire(p.previous, epochs);
  retire(p.current, epochs);
  retire(p.next, epochs);
  if (p.secure) {
    const auto it = by_member_.find({p.key, network});
    if (it != by_member_.end() && it->second == port) by_member_.erase(it);
  } else {
    const auto it = by_endpoint_.find(p.endpoint);
    if (it != by_endpoint_.end() && it->second == port) by_endpoint_.erase(it);
  }
  p = PeerSession{};
}

}  // namespace vswitch
