#include "vswitch/switch_core.hpp"

#include "vswitch/ethernet.hpp"

namespace vswitch {

SwitchCore::SwitchCore(const SwitchConfig& config)
    : config_(config), ports_(config.max_ports), fdb_(config.fdb_max, config.fdb_aging) {}

Port* SwitchCore::add_port(std::uint64_t network, std::uint16_t mtu, TimePoint now) {
  Port* p = ports_.add(network, mtu, now);
  if (p == nullptr) {
    stats_.drop(DropReason::port_table_full);
    return nullptr;
  }
  ++stats_.ports_joined;
  return p;
}

void SwitchCore::remove_port(PortIndex index) {
  fdb_.remove_port(index);
  ports_.remove(index);
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
  } else {
    ++stats_.rx_frames;
    learn(ingress, ethernet::source(frame), now);
    const MacAddr dst = ethernet::destination(frame);
    const PortIndex egress = dst.is_multicast() ? kNoPort : fdb_.lookup(ingress.network, dst, now);
    if (egress == kNoPort) {
      if (ports_.members(ingress.network).size() < 2) {
        d.reason = DropReason::no_egress;
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
  // A MAC not already live on this port would add one to its count: refuse at the limit.
  if (ingress.mac_count >= config_.port_max_macs && fdb_.lookup(ingress.network, source, now) != ingress.index) {
    ++stats_.learn_refused_port_limit;
    return;
  }
  PortIndex previous = kNoPort;
  switch (fdb_.learn(ingress.network, source, ingress.index, now, previous)) {
    case Fdb::LearnResult::refreshed: break;
    case Fdb::LearnResult::learned:
      ++stats_.learned;
      ++ingress.mac_count;
      // An aged entry revived here may still be counted on its old port.
      if (previous != kNoPort && previous != ingress.index)
        if (Port* old = ports_.find(previous); old != nullptr && old->mac_count > 0) --old->mac_count;
      if (previous == ingress.index && ingress.mac_count > 0) --ingress.mac_count;
      break;
    case Fdb::LearnResult::moved:
      ++stats_.moved;
      ++ingress.mac_count;
      if (Port* old = ports_.find(previous); old != nullptr && old->mac_count > 0) --old->mac_count;
      break;
    case Fdb::LearnResult::table_full: ++stats_.learn_refused_fdb_full; break;
  }
}

void SwitchCore::expire(TimePoint now) {
  stats_.aged += fdb_.expire(now, [this](const Fdb::Entry& e) {
    if (Port* p = ports_.find(e.port); p != nullptr && p->mac_count > 0) --p->mac_count;
  });
}

}  // namespace vswitch
