#include "vswitch/port_table.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace vswitch {
namespace {

constexpr std::uint16_t generation_of(PortIndex index) { return static_cast<std::uint16_t>(index >> 16); }

}  // namespace

PortTable::PortTable(std::size_t max_ports) {
  if (max_ports == 0 || max_ports > kMaxPortsLimit)
    throw std::invalid_argument("port table size must be 1.." + std::to_string(kMaxPortsLimit));
  slots_.resize(max_ports);
  generations_.assign(max_ports, 0);
  free_slots_.reserve(max_ports);
  for (std::size_t i = max_ports; i-- > 0;) free_slots_.push_back(i);
}

Port* PortTable::add(std::uint64_t network, std::uint16_t mtu, TimePoint now) {
  if (free_slots_.empty()) return nullptr;
  const std::size_t slot = free_slots_.back();
  free_slots_.pop_back();
  ++in_use_;
  // Generation 0 is skipped so that no index is ever 0 (kNoPort).
  std::uint16_t& gen = generations_[slot];
  gen = static_cast<std::uint16_t>(gen + 1 == 0 ? 1 : gen + 1);
  Port& p = slots_[slot];
  p = Port{};
  p.index = static_cast<PortIndex>(gen) << 16 | static_cast<PortIndex>(slot);
  p.network = network;
  p.mtu = mtu;
  p.joined = now;
  return &p;
}

void PortTable::activate(PortIndex index) {
  Port* p = find(index);
  if (p == nullptr || p->active) return;
  p->active = true;
  members_[p->network].push_back(index);
}

void PortTable::deactivate(PortIndex index) {
  Port* p = find(index);
  if (p == nullptr || !p->active) return;
  auto it = members_.find(p->network);
  if (it != members_.end()) {
    std::erase(it->second, index);
    if (it->second.empty()) members_.erase(it);
  }
  p->active = false;
}

void PortTable::remove(PortIndex index) {
  Port* p = find(index);
  if (p == nullptr) return;
  deactivate(index);
  p->index = kNoPort;
  p->remote = false;
  free_slots_.push_back(port_slot(index));
  --in_use_;
}

Port* PortTable::find(PortIndex index) noexcept {
  return const_cast<Port*>(static_cast<const PortTable*>(this)->find(index));
}

const Port* PortTable::find(PortIndex index) const noexcept {
  const std::size_t slot = port_slot(index);
  if (index == kNoPort || slot >= slots_.size()) return nullptr;
  const Port& p = slots_[slot];
  if (p.index != index || generations_[slot] != generation_of(index)) return nullptr;
  return &p;
}

std::span<const PortIndex> PortTable::members(std::uint64_t network) const noexcept {
  const auto it = members_.find(network);
  if (it == members_.end()) return {};
  return it->second;
}

}  // namespace vswitch
