#include "vswitch/port_table.hpp"

#include <algorithm>
#include <stdexcept>

namespace vswitch {
namespace {

constexpr std::size_t slot_of(PortIndex index) { return index & 0xffff; }
constexpr std::uint16_t generation_of(PortIndex index) {
  return static_cast<std::uint16_t>(index >> 16);
}

}  // namespace

PortTable::PortTable(std::size_t max_ports) {
  if (max_ports == 0 || max_ports > kMaxPortsLimit)
    throw std::invalid_argument("port table size must be 1.." + std::to_string(kMaxPortsLimit));
  slots_.resize(max_ports);
  generations_.assign(max_ports, 0);
  free_slots_.reserve(max_ports);
  for (std::size_t i = max_ports; i-- > 0;) free_slots_.push_back(i);
}

Port* PortTable::add(const Endpoint& endpoint, std::uint64_t network, std::uint32_t peer_index,
                     std::uint16_t mtu, TimePoint now) {
  if (free_slots_.empty()) return nullptr;
  const std::size_t slot = free_slots_.back();
  free_slots_.pop_back();
  // Generation 0 is skipped so that no index is ever 0 (kNoPort).
  std::uint16_t& gen = generations_[slot];
  gen = static_cast<std::uint16_t>(gen + 1 == 0 ? 1 : gen + 1);
  Port& p = slots_[slot];
  p = Port{};
  p.index = static_cast<PortIndex>(gen) << 16 | static_cast<PortIndex>(slot);
  p.endpoint = endpoint;
  p.network = network;
  p.peer_index = peer_index;
  p.mtu = mtu;
  p.joined = p.last_seen = now;
  by_endpoint_[endpoint] = p.index;
  members_[network].push_back(p.index);
  return &p;
}

void PortTable::remove(PortIndex index) {
  Port* p = find(index);
  if (p == nullptr) return;
  by_endpoint_.erase(p->endpoint);
  auto it = members_.find(p->network);
  if (it != members_.end()) {
    std::erase(it->second, index);
    if (it->second.empty()) members_.erase(it);
  }
  p->index = kNoPort;
  free_slots_.push_back(slot_of(index));
}

Port* PortTable::find(PortIndex index) noexcept {
  return const_cast<Port*>(static_cast<const PortTable*>(this)->find(index));
}

const Port* PortTable::find(PortIndex index) const noexcept {
  const std::size_t slot = slot_of(index);
  if (index == kNoPort || slot >= slots_.size()) return nullptr;
  const Port& p = slots_[slot];
  if (p.index != index || generations_[slot] != generation_of(index)) return nullptr;
  return &p;
}

Port* PortTable::find(const Endpoint& endpoint) noexcept {
  const auto it = by_endpoint_.find(endpoint);
  return it == by_endpoint_.end() ? nullptr : find(it->second);
}

std::span<const PortIndex> PortTable::members(std::uint64_t network) const noexcept {
  const auto it = members_.find(network);
  if (it == members_.end()) return {};
  return it->second;
}

}  // namespace vswitch
