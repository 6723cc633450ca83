#include "vswitch/switch_core.hpp"

#include <algorithm>

#include "vswitch/ethernet.hpp"

namespace vswitch {

namespace {

FdbConfig fdb_config(const SwitchConfig& c) {
  FdbConfig f;
  f.max_entries = c.fdb_max;
  f.max_ports = c.max_ports;
  f.port_max = c.port_max_macs;
  f.network_max = c.network_max_macs;
  f.aging = c.fdb_aging;
  return f;
}

}  // namespace

SwitchCore::SwitchCore(const SwitchConfig& config)
    : config_(config), ports_(config.max_ports), fdb_(fdb_config(config)) {}

void SwitchCore::set_limits(std::size_t port_max_macs, std::size_t network_max_macs, Duration fdb_aging,
                            double flood_per_second) noexcept {
  config_.port_max_macs = port_max_macs;
  config_.network_max_macs = network_max_macs;
  config_.fdb_aging = fdb_aging;
  config_.flood_per_second = flood_per_second;
  fdb_.set_limits(port_max_macs, network_max_macs, fdb_aging);
}

Port* SwitchCore::add_port(std::uint64_t network, std::uint16_t mtu, TimePoint now) {
  Port* p = ports_.add(network, mtu, now);
  if (p == nullptr) {
    stats_.drop(DropReason::port_table_full);
    return nullptr;
  }
  fdb_.hold_network(network);  // control path: learning never allocates
  p->flood_tokens = std::max(100.0, config_.flood_per_second / 10);
  p->flood_refill = now;
  ++stats_.ports_joined;
  return p;
}

void SwitchCore::set_pins(const std::vector<MacPin>& pins, TimePoint now) {
  pins_.clear();
  for (const MacPin& pin : pins) {
    pins_[{pin.network, pin.mac}] = pin.owner;
    // A MAC someone else already took stops leading there at once, not after aging.
    const MacAddr mac = MacAddr::from_u64(pin.mac);
    if (const Port* holder = ports_.find(fdb_.lookup(pin.network, mac, now));
        holder != nullptr && holder->owner != pin.owner)
      fdb_.forget(pin.network, mac);
  }
}

bool SwitchCore::pinned_elsewhere(const Port& ingress, MacAddr source) const noexcept {
  if (pins_.empty()) return false;
  const auto it = pins_.find({ingress.network, source.to_u64()});
  return it != pins_.end() && it->second != ingress.owner;
}

bool SwitchCore::may_flood(Port& ingress, TimePoint now) noexcept {
  if (config_.flood_per_second <= 0) return true;
  const double burst = std::max(100.0, config_.flood_per_second / 10);
  ingress.flood_tokens = std::min(burst, ingress.flood_tokens + std::chrono::duration<double>(now - ingress.flood_refill).count() *
                                                                   config_.flood_per_second);
  ingress.flood_refill = now;
  if (ingress.flood_tokens < 1) return false;
  ingress.flood_tokens -= 1;
  return true;
}

void SwitchCore::remove_port(PortIndex index) {
  const Port* p = ports_.find(index);
  if (p == nullptr) return;
  const std::uint64_t network = p->network;
  fdb_.remove_port(index);
  ports_.remove(index);
  fdb_.release_network(network);
}

void SwitchCore::count_rx(Port& port, std::size_t bytes) noexcept {
  ++port.rx_packets;
  port.rx_bytes += bytes;
}

void SwitchCore::count_tx(Port& port, std::size_t bytes) noexcept {
  ++port.tx_packets;
  port.tx_bytes += bytes;
  ++stats_.tx_packets;
  stats_.tx_bytes += bytes;
}

bool SwitchCore::fits(const Port& egress, std::size_t frame_size) noexcept {
  if (frame_size <= protocol::max_frame_size(egress.mtu)) return true;
  stats_.drop(DropReason::egress_mtu);
  return false;
}

Port* SwitchCore::unicast_port(const Decision& d, std::size_t frame_size) noexcept {
  Port* port = ports_.find(d.egress);
  return port != nullptr && fits(*port, frame_size) ? port : nullptr;
}

Decision SwitchCore::switch_frame(Port& ingress, std::span<const std::uint8_t> frame, TimePoint now) noexcept {
  Decision d;
  if (frame.size() < protocol::kEthernetHeaderSize) {
    d.reason = DropReason::truncated;
  } else if (frame.size() > protocol::max_frame_size(ingress.mtu)) {
    d.reason = DropReason::frame_too_big;
  } else if (!ethernet::source(frame).is_valid_source()) {
    d.reason = DropReason::bad_source_mac;
  } else if (pinned_elsewhere(ingress, ethernet::source(frame))) {
    d.reason = DropReason::pinned_mac;
  } else {
    ++stats_.rx_frames;
    if (!ingress.remote) learn(ingress, ethernet::source(frame), now);
    const MacAddr dst = ethernet::destination(frame);
    const PortIndex egress = dst.is_multicast() ? kNoPort : fdb_.lookup(ingress.network, dst, now);
    if (egress == kNoPort) {
      if (ports_.members(ingress.network).size() < 2) {
        d.reason = DropReason::no_egress;
      } else if (!may_flood(ingress, now)) {
        d.reason = DropReason::storm_control;
      } else {
        d.action = Decision::Action::flood;
        ++stats_.flooded;
      }
    } else if (egress == ingress.index) {
      d.action = Decision::Action::filtered;  // both stations sit behind the same port
      ++stats_.filtered;
    } else {
      d.action = Decision::Action::unicast;
      d.egress = egress;
      ++stats_.unicast;
    }
  }
  if (d.action == Decision::Action::drop) stats_.drop(d.reason);
  return d;
}

void SwitchCore::learn(Port& ingress, MacAddr source, TimePoint now) noexcept {
  Fdb::Displaced displaced;
  switch (fdb_.learn(ingress.network, source, ingress.index, now, displaced)) {
    case Fdb::LearnResult::refreshed: return;
    case Fdb::LearnResult::learned: ++stats_.learned; break;
    case Fdb::LearnResult::moved: ++stats_.moved; break;
    case Fdb::LearnResult::frozen: ++stats_.moves_dampened; return;
    case Fdb::LearnResult::refused_network:
    case Fdb::LearnResult::refused_probe: ++stats_.learn_refused; return;
  }
  if (displaced.table_full) ++stats_.evicted;
  else stats_.replaced_own += displaced.replaced;
}

void SwitchCore::learn_remote(std::uint64_t network, MacAddr mac, PortIndex vtep, TimePoint now) noexcept {
  Fdb::Displaced displaced;
  switch (fdb_.learn_remote(network, mac, vtep, now, displaced)) {
    case Fdb::LearnResult::refreshed: return;
    case Fdb::LearnResult::learned: ++stats_.remote_learned; break;
    case Fdb::LearnResult::moved: ++stats_.remote_moved; break;
    case Fdb::LearnResult::frozen: ++stats_.moves_dampened; ++stats_.evpn_duplicates; return;
    case Fdb::LearnResult::refused_network:
    case Fdb::LearnResult::refused_probe: ++stats_.learn_refused; return;
  }
  if (displaced.table_full) ++stats_.evicted;
}

void SwitchCore::forget_remote(std::uint64_t network, MacAddr mac, PortIndex vtep) noexcept {
  if (fdb_.forget_remote(network, mac, vtep)) ++stats_.remote_withdrawn;
}

std::size_t SwitchCore::expire(TimePoint now, std::size_t budget) {
  const std::size_t aged = fdb_.sweep(now, budget);
  stats_.aged += aged;
  return aged;
}

}  // namespace vswitch
