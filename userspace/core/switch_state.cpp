#include "vswitch/switch_state.hpp"

#include "vswitch/members.hpp"

namespace vswitch {

void SwitchState::describe(metrics::Samples& out) const {
  core.stats().describe(out);
  metrics::Collector(out)
      .gauge("ports", "Ports (clients with a session), confirmed or not.", "ports", core.ports().size())
      .gauge("fdb_entries", "MAC table entries in use.", "fdb_entries", core.fdb().size())
      .gauge("fdb_max_entries", "MAC table capacity (--fdb-max).", "fdb_max", core.fdb().max_entries())
      .gauge("sessions", "Session keypairs in use (up to three per port).", "sessions", sessions.keypairs_in_use());
}

std::string_view to_string(PortEvent::Kind kind) {
  switch (kind) {
    case PortEvent::Kind::joined: return "joined";
    case PortEvent::Kind::rekeyed: return "rekeyed";
    case PortEvent::Kind::left: return "left";
    case PortEvent::Kind::timed_out: return "timed out";
    case PortEvent::Kind::expired: return "session expired";
    case PortEvent::Kind::revoked: return "revoked";
    case PortEvent::Kind::replaced: return "replaced";
  }
  return "unknown";
}

SwitchState::SwitchState(const SwitchConfig& switch_config, const SessionConfig& session_config)
    : core(switch_config), sessions(switch_config.max_ports), config(session_config) {}

PortEvent SwitchState::event_for(PortEvent::Kind kind, PortIndex port) const {
  const PeerSession& p = sessions.peer(port);
  const Port* sp = core.ports().find(port);
  return {kind, port, sp != nullptr ? sp->network : 0, p.secure ? p.name : p.endpoint.to_string(), p.endpoint};
}

Port* SwitchState::admit(Keypair& kp, const Endpoint& from, std::size_t bytes, TimePoint now) noexcept {
  Port* port = core.ports().find(kp.port);
  PeerSession& peer = sessions.peer(kp.port);
  if (port == nullptr || peer.port != kp.port) {
    core.count_drop(DropReason::unknown_session);
    return nullptr;
  }
  if (now - kp.created >= kRejectAfterTime) {
    core.count_drop(DropReason::expired_session);
    return nullptr;
  }
  if (peer.secure) {
    if (&kp == peer.next) {
      // The client used the new session: it holds the keys, and this packet proves its address.
      sessions.retire(peer.previous, epochs);
      peer.previous = peer.current;
      peer.current = peer.next;
      peer.next = nullptr;
      peer.endpoint = from;
      core.activate_port(port->index);
    } else if (&kp != peer.current && &kp != peer.previous) {
      core.count_drop(DropReason::unknown_session);
      return nullptr;
    }
    if (!(peer.endpoint == from)) {
      peer.endpoint = from;
      ++core.stats().roams;
    }
  } else if (!(peer.endpoint == from)) {
    core.count_drop(DropReason::endpoint_mismatch);
    return nullptr;
  }
  peer.last_rx = now;
  core.count_rx(*port, bytes);
  return port;
}

bool SwitchState::key_keypair(Keypair& kp, handshake::SessionKeys& keys) noexcept {
  const bool keyed = kp.send.set(keys.suite, keys.send.bytes()) && kp.receive.set(keys.suite, keys.receive.bytes());
  keys.send.wipe();
  keys.receive.wipe();
  if (!keyed) {
    kp.send.wipe();
    kp.receive.wipe();
  }
  return keyed;
}

bool SwitchState::install_secure(Keypair* kp, std::uint32_t index, const handshake::SessionKeys& keys,
                                 const noise::PublicKey& member, const std::string& name, std::uint64_t network,
                                 TimePoint now, PortEvent& event) {
  PortIndex port_index = sessions.find_member_port(member, network);
  Port* port = port_index == kNoPort ? nullptr : core.ports().find(port_index);
  const bool fresh = port == nullptr;
  if (fresh) {
    port = core.add_port(network, keys.mtu, now);
    if (port == nullptr) {
      sessions.release_unpublished(kp, index);
      return false;
    }
    port_index = port->index;
    port->owner = member_owner(member);  // whose pinned MACs it may use
    PeerSession& p = sessions.peer(port_index);
    p = PeerSession{};
    p.port = port_index;
    p.secure = true;
    p.key = member;
    p.name = name;
    sessions.index_member(member, network, port_index);
  }
  port->mtu = keys.mtu;
  kp->plaintext = false;
  kp->remote_index = keys.remote_index;
  kp->port = port_index;
  kp->created = now;
  kp->initiator = false;
  PeerSession& peer = sessions.peer(port_index);
  sessions.retire(peer.next, epochs);  // an unconfirmed earlier attempt
  peer.next = kp;
  peer.last_handshake = now;
  if (fresh) peer.last_rx = now;
  ++peer.handshakes;
  SessionTable::publish(*kp, index);
  event = event_for(fresh ? PortEvent::Kind::joined : PortEvent::Kind::rekeyed, port_index);
  return true;
}

Keypair* SwitchState::install_plain(const Endpoint& from, std::uint32_t client_index, std::uint64_t network,
                                    std::uint16_t mtu, TimePoint now, PortEvent& event) {
  if (const PortIndex existing = sessions.find_endpoint_port(from); existing != kNoPort) {
    PeerSession& p = sessions.peer(existing);
    const Port* port = core.ports().find(existing);
    // A repeated HELLO (our WELCOME was lost): the same port again.
    if (port != nullptr && p.client_index == client_index && port->network == network && p.current != nullptr) {
      p.last_rx = now;
      event = event_for(PortEvent::Kind::rekeyed, existing);
      return p.current;
    }
    std::vector<PortEvent> ignored;
    remove_port(existing, PortEvent::Kind::replaced, ignored);  // the client restarted or changed network
  }
  std::uint32_t index = 0;
  Keypair* kp = sessions.allocate(index);
  if (kp == nullptr) return nullptr;
  Port* port = core.add_port(network, mtu, now);
  if (port == nullptr) {
    sessions.release_unpublished(kp, index);
    return nullptr;
  }
  PeerSession& p = sessions.peer(port->index);
  p = PeerSession{};
  p.port = port->index;
  p.secure = false;
  p.endpoint = from;
  p.client_index = client_index;
  p.current = kp;
  p.last_handshake = p.last_rx = now;
  p.handshakes = 1;
  sessions.index_endpoint(from, port->index);
  kp->plaintext = true;
  kp->remote_index = client_index;
  kp->port = port->index;
  kp->created = now;
  SessionTable::publish(*kp, index);
  core.activate_port(port->index);  // the HELLO's token proved the address
  event = event_for(PortEvent::Kind::joined, port->index);
  return kp;
}

void SwitchState::remove_port(PortIndex port, PortEvent::Kind why, std::vector<PortEvent>& events) {
  const Port* p = core.ports().find(port);
  if (p == nullptr) return;
  events.push_back(event_for(why, port));
  switch (why) {
    case PortEvent::Kind::left: ++core.stats().ports_left; break;
    case PortEvent::Kind::timed_out:
    case PortEvent::Kind::expired: ++core.stats().ports_timed_out; break;
    case PortEvent::Kind::revoked: ++core.stats().ports_revoked; break;
    default: break;
  }
  sessions.forget_port(port, p->network, epochs);
  core.remove_port(port);
}

void SwitchState::expire(TimePoint now, std::vector<PortEvent>& events) {
  std::vector<std::pair<PortIndex, PortEvent::Kind>> gone;
  core.ports().for_each([&](const Port& port) {
    PeerSession& peer = sessions.peer(port.index);
    if (peer.port != port.index || port.remote) return;  // a VTEP lives as long as its routes
    if (now - peer.last_rx > config.port_timeout) {
      gone.emplace_back(port.index, PortEvent::Kind::timed_out);
      return;
    }
    if (!peer.secure) return;
    if (!port.active && now - port.joined > config.unconfirmed_timeout) {
      gone.emplace_back(port.index, PortEvent::Kind::expired);
      return;
    }
    auto too_old = [&](const Keypair* kp) { return kp != nullptr && now - kp->created >= kRejectAfterTime; };
    if (too_old(peer.previous)) {
      sessions.retire(peer.previous, epochs);
      peer.previous = nullptr;
    }
    if (too_old(peer.next)) {
      sessions.retire(peer.next, epochs);
      peer.next = nullptr;
    }
    if (too_old(peer.current)) {
      sessions.retire(peer.current, epochs);
      peer.current = nullptr;
    }
    if (port.active && peer.current == nullptr && peer.next == nullptr)
      gone.emplace_back(port.index, PortEvent::Kind::expired);
  });
  for (const auto& [port, why] : gone) remove_port(port, why, events);
  sessions.reclaim(epochs);
}

}  // namespace vswitch
