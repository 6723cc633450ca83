// SwitchState's side of EVPN: remote VTEPs as ports, the routes' MACs on them, VXLAN ingress.
#include "vswitch/switch_state.hpp"

namespace vswitch {

void SwitchState::evpn_network(std::uint64_t network, std::uint32_t vni) {
  vni_networks_[vni] = network;
  network_vnis_[network] = vni;
}

std::uint32_t SwitchState::evpn_vni(std::uint64_t network) const noexcept {
  const auto it = network_vnis_.find(network);
  return it == network_vnis_.end() ? 0 : it->second;
}

Port* SwitchState::vtep_port(std::uint64_t network, const Endpoint& vtep, bool create, TimePoint now) {
  const VtepKey key{network, vtep.with_port(vxlan_port)};
  if (const auto it = vteps_.find(key); it != vteps_.end()) return core.ports().find(it->second);
  if (!create) return nullptr;
  Port* port = core.add_port(network, core.config().mtu, now);
  if (port == nullptr) return nullptr;  // counted: port_table_full
  port->remote = true;
  PeerSession& p = sessions.peer(port->index);
  p = PeerSession{};
  p.port = port->index;
  p.endpoint = key.address;
  p.last_handshake = p.last_rx = now;
  vteps_.emplace(key, port->index);
  return port;
}

// A VTEP that is in no flood list and holds no MAC has nothing left to do here.
void SwitchState::drop_idle_vtep(Port& port) {
  if (port.active || core.port_macs(port.index) != 0) return;
  const VtepKey key{port.network, sessions.peer(port.index).endpoint};
  vteps_.erase(key);
  sessions.forget_port(port.index, port.network, epochs);
  core.remove_port(port.index);
}

void SwitchState::evpn_flood(std::uint64_t network, const Endpoint& vtep, bool present, TimePoint now) {
  Port* port = vtep_port(network, vtep, present, now);
  if (port == nullptr) return;
  if (present) {
    core.activate_port(port->index);
  } else {
    core.ports().deactivate(port->index);
    drop_idle_vtep(*port);
  }
}

void SwitchState::evpn_mac(std::uint64_t network, MacAddr mac, const Endpoint& vtep, bool present, TimePoint now) {
  Port* port = vtep_port(network, vtep, present, now);
  if (port == nullptr) return;
  if (present) {
    core.learn_remote(network, mac, port->index, now);
  } else {
    core.forget_remote(network, mac, port->index);
    drop_idle_vtep(*port);
  }
}

Port* SwitchState::evpn_ingress(std::uint32_t vni, const Endpoint& from) noexcept {
  const auto net = vni_networks_.find(vni);
  if (net == vni_networks_.end()) {
    core.count_drop(DropReason::unknown_vni);
    return nullptr;
  }
  const auto it = vteps_.find({net->second, from.with_port(vxlan_port)});
  Port* port = it == vteps_.end() ? nullptr : core.ports().find(it->second);
  if (port == nullptr) {
    core.count_drop(DropReason::unknown_vtep);
    return nullptr;
  }
  return port;
}

}  // namespace vswitch
