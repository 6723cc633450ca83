// Everything the switch lock protects: the switch core, the session layer, and the operations
// that touch both (a handshake installs a session and maybe a port; a message is admitted to
// its port; a departing client's port and MACs go). Pure and single-threaded like its parts:
// the server serialises calls with one mutex (SharedSwitch), and every call here only decides
// and stores pointers. Crypto, I/O and logging happen outside (docs/architecture.md).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "vswitch/handshake.hpp"
#include "vswitch/session_table.hpp"
#include "vswitch/switch_core.hpp"

namespace vswitch {

struct SessionConfig {
  bool secure = true;                                   // protocol v2; false: v1 (--insecure)
  Duration port_timeout = std::chrono::seconds(75);     // silence before a port is removed
  Duration unconfirmed_timeout = std::chrono::seconds(15);  // a v2 session never confirmed
};

// Something worth a log line, produced under the lock and logged after it.
struct PortEvent {
  enum class Kind : std::uint8_t { joined, rekeyed, left, timed_out, expired, revoked, replaced };
  Kind kind;
  PortIndex port;
  std::uint64_t network;
  std::string who;  // member name, or v1 endpoint
  Endpoint endpoint;
};
std::string_view to_string(PortEvent::Kind kind);

class SwitchState {
 public:
  SwitchState(const SwitchConfig& switch_config, const SessionConfig& session_config);

  // The port an authenticated DATA/CONTROL message of `kp` (from `from`, `bytes` long) belongs to.
  // v2: the first message on a `next` keypair confirms it (the port becomes active, the endpoint
  // is set), and an authenticated message from a new address moves the endpoint (roaming).
  // v1: the message must come from the port's endpoint. nullptr (drop counted) otherwise.
  Port* admit(Keypair& kp, const Endpoint& from, std::size_t bytes, TimePoint now) noexcept;

  // The keypair to seal messages to a port with, or nullptr.
  Keypair* sender(PortIndex port) noexcept {
    PeerSession& p = sessions.peer(port);
    return p.port == port ? p.current : nullptr;
  }

  // v2, before taking the lock: gives an allocated, unpublished keypair (no other thread can
  // reach it) the session keys, and wipes them from `keys`. Key schedules and cipher contexts
  // are crypto work (the first OpenSSL context even loads its provider: milliseconds), which
  // the switch lock never waits for. False if the suite cannot be used (the keypair then holds
  // no key; release it).
  static bool key_keypair(Keypair& kp, handshake::SessionKeys& keys) noexcept;
  // v2: a handshake completed for `member` (`name`) on `network`: the keypair (allocated with
  // `index`, keyed with key_keypair) becomes the port's `next`. Creates the (inactive) port if
  // the member has none. False when the port table is full (the keypair is released).
  bool install_secure(Keypair* kp, std::uint32_t index, const handshake::SessionKeys& keys, const noise::PublicKey& member,
                      const std::string& name, std::uint64_t network, TimePoint now, PortEvent& event);
  // v1: a HELLO whose token proved its address. Returns the keypair whose index the WELCOME
  // names (an existing one for a duplicate HELLO), or nullptr when the tables are full.
  Keypair* install_plain(const Endpoint& from, std::uint32_t client_index, std::uint64_t network, std::uint16_t mtu,
                         TimePoint now, PortEvent& event);

  void remove_port(PortIndex port, PortEvent::Kind why, std::vector<PortEvent>& events);
  // Removes the ports of members no longer in `still_member(key, network)`.
  template <class Pred>
  void revoke_if(Pred&& still_member, std::vector<PortEvent>& events);

  // Once a second: session lifetimes, silent ports, keypair reclamation: O(ports). MAC aging
  // is separate and sliced (core.expire), so no single call walks the whole table.
  void expire(TimePoint now, std::vector<PortEvent>& events);

  // EVPN (docs/architecture.md, "EVPN"): other servers' VTEPs are ports of their networks
  // (`remote`), reached over VXLAN at their address and `vxlan_port`; BGP routes, read from the
  // kernel by the EVPN thread, say which MACs sit behind them and which of them want floods.
  // Networks take part once the EVPN thread has made their kernel objects (evpn_network).
  void evpn_network(std::uint64_t network, std::uint32_t vni);
  // A flood-list route (type 3, the zero MAC) for `vtep` appeared or went.
  void evpn_flood(std::uint64_t network, const Endpoint& vtep, bool present, TimePoint now);
  // A MAC route (type 2) behind `vtep` appeared or went.
  void evpn_mac(std::uint64_t network, MacAddr mac, const Endpoint& vtep, bool present, TimePoint now);
  // Phase B of a VXLAN datagram: the VTEP port it came from (nullptr, counted: unknown VNI or VTEP).
  Port* evpn_ingress(std::uint32_t vni, const Endpoint& from) noexcept;
  // The VNI of a network that takes part, for the VXLAN header.
  std::uint32_t evpn_vni(std::uint64_t network) const noexcept;
  std::uint16_t vxlan_port = 4789;

  // The switch's counters and the tables' fill, read without the lock (all Counters).
  void describe(metrics::Samples& out) const;

  SwitchCore core;
  SessionTable sessions;
  EpochDomain epochs;
  SessionConfig config;

 private:
  PortEvent event_for(PortEvent::Kind kind, PortIndex port) const;
  Port* vtep_port(std::uint64_t network, const Endpoint& vtep, bool create, TimePoint now);
  void drop_idle_vtep(Port& port);

  struct VtepKey {
    std::uint64_t network;
    Endpoint address;  // port: vxlan_port
    bool operator==(const VtepKey&) const = default;
  };
  struct VtepKeyHash {
    std::size_t operator()(const VtepKey& k) const noexcept { return k.address.hash() * 31 + k.network; }
  };
  std::unordered_map<VtepKey, PortIndex, VtepKeyHash> vteps_;
  std::unordered_map<std::uint32_t, std::uint64_t> vni_networks_;
  std::unordered_map<std::uint64_t, std::uint32_t> network_vnis_;
};

template <class Pred>
void SwitchState::revoke_if(Pred&& still_member, std::vector<PortEvent>& events) {
  std::vector<PortIndex> gone;
  core.ports().for_each([&](const Port& p) {
    const PeerSession& peer = sessions.peer(p.index);
    if (peer.secure && !still_member(peer.key, p.network)) gone.push_back(p.index);
  });
  for (const PortIndex port : gone) remove_port(port, PortEvent::Kind::revoked, events);
}

}  // namespace vswitch
