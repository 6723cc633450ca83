#include "vswitch/data_plane.hpp"

#include "vswitch/log.hpp"
#include "vswitch/log_rate_limit.hpp"
#include "vswitch/vxlan.hpp"

namespace vswitch {
namespace v2 = protocol::v2;
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

}  // namespace

Intake open_inbound(const SessionTable& sessions, bool secure, std::span<std::uint8_t> message, const Endpoint& from,
                    Inbound& out, DropTally& drops) noexcept {
  ++drops.datagrams;
  drops.bytes += message.size();
  if (message.size() < protocol::kPrefixSize) {
    drops.drop(DropReason::truncated);
    return Intake::dropped;
  }
  const bool v1 = message[0] == protocol::kVersion;
  MessageKind kind = MessageKind::frame;
  if (message[0] == v2::kVersion) {
    v2::MessageType type{};
    if (const auto e = v2::classify(message, type); e != protocol::DecodeError::none) {
      drops.drop(drop_reason(e));
      return Intake::dropped;
    }
    if (type == v2::MessageType::initiation) return Intake::handshake;
    if (type != v2::MessageType::data && type != v2::MessageType::control) {
      drops.drop(DropReason::bad_type);
      return Intake::dropped;
    }
    if (!secure) {
      drops.drop(DropReason::version_mismatch);
      return Intake::dropped;
    }
    kind = type == v2::MessageType::control ? MessageKind::control
           : message.size() == v2::kOverhead ? MessageKind::keepalive
                                             : MessageKind::frame;
  } else if (v1) {
    protocol::MessageType type{};
    if (const auto e = protocol::check_prefix(message, type); e != protocol::DecodeError::none) {
      drops.drop(drop_reason(e));
      return Intake::dropped;
    }
    if (type == protocol::MessageType::hello || type == protocol::MessageType::bye) return Intake::handshake;
    if (type != protocol::MessageType::data && type != protocol::MessageType::keepalive) {
      drops.drop(DropReason::bad_type);
      return Intake::dropped;
    }
    if (secure) {
      drops.drop(DropReason::version_mismatch);
      return Intake::dropped;
    }
    kind = type == protocol::MessageType::keepalive ? MessageKind::keepalive : MessageKind::frame;
  } else {
    drops.drop(DropReason::bad_version);
    return Intake::dropped;
  }
  const std::uint32_t index = load_be32(message.subspan(4));
  Keypair* kp = sessions.find(index);
  if (kp == nullptr || kp->plaintext != v1) {
    drops.drop(DropReason::unknown_session);
    // v1 clients learn of a restarted server from a (rate-limited) BYE: the control thread sends it.
    return v1 ? Intake::handshake : Intake::dropped;
  }
  const auto payload = open(*kp, message);
  if (!payload) {
    drops.drop(DropReason::bad_tag);
    return Intake::dropped;
  }
  // v1 authenticates nothing, so a replay window there would stop nothing an attacker could not
  // forge: its counters stay informational (and the live-frame benchmark repeats one message).
  if (!kp->plaintext && !kp->accept_counter(load_be64(message.subspan(8)))) {
    drops.drop(DropReason::replay);
    return Intake::dropped;
  }
  out.message = message;
  out.from = from;
  out.keypair = kp;
  out.kind = kind;
  out.payload = *payload;
  out.port = kNoPort;
  return Intake::session;
}

Intake open_vxlan(std::span<std::uint8_t> datagram, const Endpoint& from, Inbound& out, DropTally& drops) noexcept {
  ++drops.datagrams;
  drops.bytes += datagram.size();
  const auto vni = vxlan::decode(datagram);
  if (!vni) {
    drops.drop(DropReason::bad_vxlan);
    return Intake::dropped;
  }
  out = Inbound{};
  out.message = datagram;
  out.from = from;
  out.payload = datagram.subspan(vxlan::kHeaderSize);
  out.vxlan = true;
  out.vni = *vni;
  return Intake::session;
}

void decide(SwitchState& state, Inbound& in, std::uint32_t inbound_id, TimePoint now, std::vector<Outbound>& plan,
            std::vector<PortEvent>& events) noexcept {
  Port* port = nullptr;
  if (in.vxlan) {
    port = state.evpn_ingress(in.vni, in.from);
    if (port != nullptr) {
      state.core.count_rx(*port, in.message.size());
      ++state.core.stats().vxlan_rx;
    }
  } else {
    port = state.admit(*in.keypair, in.from, in.message.size(), now);
  }
  if (port == nullptr) return;
  in.port = port->index;
  SwitchCore& core = state.core;
  auto plan_to = [&](Outbound::Kind kind, Port& egress, std::size_t bytes, std::uint64_t sequence) {
    if (egress.remote) {  // another server: the frame as it is, in VXLAN
      const PeerSession& vtep = state.sessions.peer(egress.index);
      plan.push_back({Outbound::Kind::vxlan, inbound_id, egress.index, nullptr, vtep.endpoint, 0,
                      state.evpn_vni(egress.network)});
      core.count_tx(egress, vxlan::kHeaderSize + in.payload.size());
      ++core.stats().vxlan_tx;
      return;
    }
    // From another server, nothing is resealed in place: a copy for each local port.
    if (in.vxlan && kind == Outbound::Kind::forward_in_place) kind = Outbound::Kind::forward_copy;
    Keypair* kp = state.sender(egress.index);
    if (kp == nullptr) {
      core.count_drop(DropReason::unknown_session);
      return;
    }
    plan.push_back({kind, inbound_id, egress.index, kp, state.sessions.peer(egress.index).endpoint, sequence});
    core.count_tx(egress, bytes);
  };
  switch (in.kind) {
    case MessageKind::keepalive:
      if (in.keypair->plaintext) plan_to(Outbound::Kind::keepalive_reply, *port, protocol::kKeepaliveSize, 0);
      return;
    case MessageKind::control: {
      v2::Control c;
      if (v2::decode(in.payload, c) != protocol::DecodeError::none) {
        core.count_drop(DropReason::bad_field);
        return;
      }
      if (c.op == v2::ControlOp::ping) {
        plan_to(Outbound::Kind::pong, *port, v2::kOverhead + v2::kPingSize, c.sequence);
      } else if (c.op == v2::ControlOp::bye) {
        try {
          state.remove_port(port->index, PortEvent::Kind::left, events);
        } catch (...) {  // the event list could not grow: the port is gone all the same
        }
      }
      return;
    }
    case MessageKind::frame: break;
  }
  const Decision d = core.switch_frame(*port, in.payload, now);
  const std::size_t bytes = (in.vxlan ? protocol::v2::kOverhead : in.keypair->overhead()) + in.payload.size();
  if (d.action == Decision::Action::unicast) {
    if (Port* egress = core.unicast_port(d, in.payload.size())) plan_to(Outbound::Kind::forward_in_place, *egress, bytes, 0);
  } else if (d.action == Decision::Action::flood) {
    core.for_each_flood_port(*port, in.payload.size(),
                             [&](Port& egress) { plan_to(Outbound::Kind::forward_copy, egress, bytes, 0); });
  }
}

std::size_t seal_reply(const Outbound& o, std::span<std::uint8_t> out) noexcept {
  const auto counter = o.keypair->take_counters(1);
  if (!counter) return 0;
  if (o.kind == Outbound::Kind::keepalive_reply) return seal(*o.keypair, MessageKind::keepalive, *counter, out, 0);
  const std::size_t n = v2::encode(v2::Control{v2::ControlOp::pong, o.sequence, {}}, out.subspan(v2::kHeaderSize));
  return seal(*o.keypair, MessageKind::control, *counter, out, n);
}

std::size_t seal_frame(const Outbound& o, std::span<std::uint8_t> message, std::size_t frame_size) noexcept {
  const auto counter = o.keypair->take_counters(1);
  if (!counter) return 0;
  return seal(*o.keypair, MessageKind::frame, *counter, message, frame_size);
}

void vxlan_header(const Outbound& o, std::span<std::uint8_t, 8> header) noexcept { vxlan::encode(o.vni, header); }

void log_events(std::vector<PortEvent>& events) {
  // Shared by every thread that reports port events: a churn of thousands of ports costs a few
  // lines a second, each saying how many like it were held back.
  static LogRateLimit budget(20, 200);
  const TimePoint now = Clock::now();
  for (const auto& e : events) {
    if (e.kind == PortEvent::Kind::rekeyed) continue;
    std::uint64_t held_back = 0;
    if (!budget.admit(now, held_back)) continue;
    VS_INFO("port %u (%s, network %llu) %s%s", e.port, e.who.c_str(), static_cast<unsigned long long>(e.network),
            std::string(to_string(e.kind)).c_str(), held_back_note(held_back).c_str());
  }
  events.clear();
}

std::string held_back_note(std::uint64_t held_back) {
  return held_back == 0 ? std::string() : " (" + std::to_string(held_back) + " similar line(s) held back)";
}

}  // namespace vswitch
