#include "vswitch/switch_core.hpp"

#include <algorithm>

#include "vswitch/ethernet.hpp"
#include "vswitch/log.hpp"

namespace vswitch {
namespace {

DropReason drop_reason(protocol::DecodeError e) noexcept {
  using protocol::DecodeError;
  switch (e) {
    case DecodeError::truncated: return DropReason::truncated;
    case DecodeError::bad_version: return DropReason::bad_version;
    case DecodeError::bad_type: return DropReason::bad_type;
    case DecodeError::bad_flags: return DropReason::bad_flags;
    case DecodeError::bad_length: return DropReason::bad_length;
    case DecodeError::bad_field:
    case DecodeError::none: break;
  }
  return DropReason::bad_field;
}

Verdict dropped(DropReason reason) noexcept {
  Verdict v;
  v.action = Verdict::Action::drop;
  v.reason = reason;
  return v;
}

}  // namespace

SwitchCore::SwitchCore(const SwitchConfig& config)
    : config_(config), ports_(config.max_ports), fdb_(config.fdb_max, config.fdb_aging) {}

void SwitchCore::count_tx(Port& port, std::size_t bytes) noexcept {
  ++port.tx_packets;
  port.tx_bytes += bytes;
  ++stats_.tx_packets;
  stats_.tx_bytes += bytes;
}

Verdict SwitchCore::receive(const Endpoint& from, std::span<const std::uint8_t> datagram,
                            TimePoint now, std::span<std::uint8_t> reply) noexcept {
  ++stats_.rx_packets;
  stats_.rx_bytes += datagram.size();
  protocol::MessageType type{};
  if (const auto e = protocol::check_prefix(datagram, type); e != protocol::DecodeError::none) {
    stats_.drop(drop_reason(e));
    return dropped(drop_reason(e));
  }
  Verdict v;
  switch (type) {
    case protocol::MessageType::data:
    case protocol::MessageType::keepalive: v = on_data(from, datagram, now, reply); break;
    case protocol::MessageType::hello:
      // HELLO allocates a port (a map insert): acceptable off the per-frame path, and an
      // allocation failure there is reported as a full table instead of escaping.
      try {
        v = on_hello(from, datagram, now, reply);
      } catch (...) {
        v = dropped(DropReason::port_table_full);
      }
      break;
    case protocol::MessageType::bye: v = on_bye(from, datagram); break;
    case protocol::MessageType::welcome: v = dropped(DropReason::bad_type); break;
  }
  if (v.action == Verdict::Action::drop) stats_.drop(v.reason);
  return v;
}

Verdict SwitchCore::on_hello(const Endpoint& from, std::span<const std::uint8_t> msg,
                             TimePoint now, std::span<std::uint8_t> reply) {
  protocol::Hello hello{};
  if (const auto e = protocol::decode(msg, hello); e != protocol::DecodeError::none)
    return dropped(drop_reason(e));
  Port* port = ports_.find(from);
  // A HELLO from a known endpoint is a re-join (our WELCOME was lost, or the client restarted):
  // keep the port if nothing changed, otherwise start it afresh.
  if (port != nullptr && port->network != hello.network_id) {
    remove_port(port->index);
    port = nullptr;
  }
  const std::uint16_t mtu = std::min(hello.mtu, config_.mtu);
  if (port == nullptr) {
    port = ports_.add(from, hello.network_id, hello.sender_index, mtu, now);
    if (port == nullptr) return dropped(DropReason::port_table_full);
    ++stats_.ports_joined;
    VS_INFO("port %u joined network %llu from %s (mtu %u)", port->index,
            static_cast<unsigned long long>(hello.network_id), from.to_string().c_str(), mtu);
  }
  port->peer_index = hello.sender_index;
  port->mtu = mtu;
  port->last_seen = now;
  ++port->rx_packets;
  port->rx_bytes += msg.size();
  Verdict v;
  v.action = Verdict::Action::reply;
  v.ingress = port->index;
  v.reply_size = protocol::encode(
      protocol::Welcome{hello.sender_index, port->index, hello.network_id, mtu}, reply);
  count_tx(*port, v.reply_size);
  return v;
}

Verdict SwitchCore::on_data(const Endpoint& from, std::span<const std::uint8_t> msg, TimePoint now,
                            std::span<std::uint8_t> reply) noexcept {
  protocol::DataHeader header{};
  if (const auto e = protocol::decode(msg, header); e != protocol::DecodeError::none)
    return dropped(drop_reason(e));
  Port* port = ports_.find(header.receiver_index);
  if (port == nullptr)
    return reply_unknown_session(header.receiver_index, DropReason::unknown_port, now, reply);
  if (!(port->endpoint == from))
    return reply_unknown_session(header.receiver_index, DropReason::endpoint_mismatch, now, reply);
  port->last_seen = now;
  ++port->rx_packets;
  port->rx_bytes += msg.size();
  if (msg[1] == static_cast<std::uint8_t>(protocol::MessageType::keepalive)) {
    Verdict v;
    v.action = Verdict::Action::reply;
    v.ingress = port->index;
    v.reply_size = protocol::encode_keepalive({port->peer_index, port->tx_counter++}, reply);
    count_tx(*port, v.reply_size);
    return v;
  }
  return switch_frame(*port, protocol::data_frame(msg), now);
}

Verdict SwitchCore::switch_frame(Port& ingress, std::span<const std::uint8_t> frame,
                                 TimePoint now) noexcept {
  if (frame.size() > protocol::max_frame_size(ingress.mtu)) return dropped(DropReason::frame_too_big);
  const MacAddr src = ethernet::source(frame);
  if (!src.is_valid_source()) return dropped(DropReason::bad_source_mac);
  ++stats_.rx_frames;
  learn(ingress, src, now);

  Verdict v;
  v.ingress = ingress.index;
  v.network = ingress.network;
  v.frame = frame;
  const MacAddr dst = ethernet::destination(frame);
  const PortIndex egress = dst.is_multicast() ? kNoPort : fdb_.lookup(ingress.network, dst, now);
  if (egress == kNoPort) {
    if (ports_.members(ingress.network).size() < 2) return dropped(DropReason::no_egress);
    v.action = Verdict::Action::flood;
    ++stats_.flooded;
  } else if (egress == ingress.index) {
    v.action = Verdict::Action::consumed;  // both stations sit behind the same port
    ++stats_.filtered;
  } else {
    v.action = Verdict::Action::unicast;
    v.egress = egress;
    ++stats_.unicast;
  }
  return v;
}

void SwitchCore::learn(Port& ingress, MacAddr source, TimePoint now) noexcept {
  // A MAC not already live on this port would add one to its count: refuse at the limit.
  if (ingress.mac_count >= config_.port_max_macs &&
      fdb_.lookup(ingress.network, source, now) != ingress.index) {
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

Verdict SwitchCore::on_bye(const Endpoint& from, std::span<const std::uint8_t> msg) noexcept {
  protocol::Bye bye{};
  if (const auto e = protocol::decode(msg, bye); e != protocol::DecodeError::none)
    return dropped(drop_reason(e));
  Port* port = ports_.find(bye.receiver_index);
  if (port == nullptr) return dropped(DropReason::unknown_port);
  if (!(port->endpoint == from)) return dropped(DropReason::endpoint_mismatch);
  VS_INFO("port %u (%s) left", port->index, from.to_string().c_str());
  ++stats_.ports_left;
  remove_port(port->index);
  Verdict v;
  v.action = Verdict::Action::consumed;
  return v;
}

Verdict SwitchCore::reply_unknown_session(std::uint32_t receiver_index, DropReason reason,
                                          TimePoint now, std::span<std::uint8_t> reply) noexcept {
  // Tell the sender to join again (the server restarted, or the port timed out), but never
  // faster than the configured rate: an unauthenticated reply must not become an amplifier.
  if (now - reply_window_start_ >= std::chrono::seconds(1)) {
    reply_window_start_ = now;
    replies_in_window_ = 0;
  }
  stats_.drop(reason);
  Verdict v;
  if (replies_in_window_ >= config_.unknown_session_replies_per_second) {
    ++stats_.control_replies_suppressed;
    v.action = Verdict::Action::consumed;
    return v;
  }
  ++replies_in_window_;
  v.action = Verdict::Action::reply;
  v.reply_size =
      protocol::encode(protocol::Bye{receiver_index, protocol::ByeReason::unknown_session}, reply);
  ++stats_.tx_packets;
  stats_.tx_bytes += v.reply_size;
  return v;
}

void SwitchCore::remove_port(PortIndex index) {
  fdb_.remove_port(index);
  ports_.remove(index);
}

void SwitchCore::expire(TimePoint now) {
  stats_.aged += fdb_.expire(now, [this](const Fdb::Entry& e) {
    if (Port* p = ports_.find(e.port); p != nullptr && p->mac_count > 0) --p->mac_count;
  });
  std::vector<PortIndex> idle;
  ports_.for_each([&](const Port& p) {
    if (now - p.last_seen > config_.port_timeout) idle.push_back(p.index);
  });
  for (const PortIndex index : idle) {
    const Port* p = ports_.find(index);
    VS_INFO("port %u (%s) timed out after %.0f s of silence", index, p->endpoint.to_string().c_str(),
            seconds_between(p->last_seen, now));
    ++stats_.ports_timed_out;
    remove_port(index);
  }
}

}  // namespace vswitch
