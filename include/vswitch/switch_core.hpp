// The switch: learning and forwarding decisions over ports and a MAC table, with no I/O and no
// knowledge of messages, sessions or keys (those are the session layer's: session_table.hpp).
//
// The session layer hands it the plaintext frame of an authenticated message together with the
// port it arrived on; the core learns the source MAC and answers with a Decision: drop (with a
// reason), filtered (the destination sits behind the ingress port), unicast to one port, or
// flood to the other active ports of the ingress network (for_each_flood_port). Time is always
// a parameter, so tests drive aging with a fake clock; expire() runs about once a second.
//
// Switching rules (those of an IEEE 802.1D learning bridge):
//  - learn source MAC -> ingress port on every valid frame; follow moves (unless the MAC flaps
//    between ports: fdb.hpp freezes it);
//  - known unicast goes to its port only, never back to the ingress port (filtered);
//  - broadcast, multicast and unknown unicast go to every other active port of the network,
//    within the ingress port's flood budget (storm control);
//  - frames from a multicast/broadcast/zero source MAC are dropped, and so are frames whose
//    source MAC the operator pinned to another member.
// Not thread-safe; the owner serialises calls (docs/architecture.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "vswitch/fdb.hpp"
#include "vswitch/port_table.hpp"
#include "vswitch/protocol.hpp"
#include "vswitch/switch_stats.hpp"
#include "vswitch/time.hpp"

namespace vswitch {

struct SwitchConfig {
  std::size_t max_ports = 1024;
  std::size_t fdb_max = 65536;
  std::size_t port_max_macs = 1024;
  std::size_t network_max_macs = 0;  // 0: only the table's limit
  Duration fdb_aging = std::chrono::seconds(300);
  std::uint16_t mtu = 1500;  // the largest MTU a port may negotiate
  // Storm control: flooded frames (broadcast, multicast, unknown unicast) a port may send per
  // second, with a burst of a tenth of that (at least 100); 0 turns it off. Generous: ARP, ND,
  // DHCP and mDNS are a few frames a second.
  double flood_per_second = 10000;
};

// An operator's pin: this MAC may only be used by the port of this owner (member fingerprint).
struct MacPin {
  std::uint64_t network = 0;
  std::uint64_t mac = 0;
  std::uint64_t owner = 0;
};

struct Decision {
  enum class Action : std::uint8_t { drop, filtered, unicast, flood };
  Action action = Action::drop;
  DropReason reason = DropReason::no_egress;
  PortIndex egress = kNoPort;  // unicast
};

class SwitchCore {
 public:
  explicit SwitchCore(const SwitchConfig& config);

  // A new, inactive port (it receives no flood until activate_port). nullptr when full.
  Port* add_port(std::uint64_t network, std::uint16_t mtu, TimePoint now);
  void activate_port(PortIndex index) { ports_.activate(index); }
  // Removes the port and every MAC learned on it.
  void remove_port(PortIndex index);

  // One frame from an active port: learns its source (not from a VTEP: EVPN routes say where its
  // MACs are), decides where it goes.
  Decision switch_frame(Port& ingress, std::span<const std::uint8_t> frame, TimePoint now) noexcept;
  // Calls fn(Port&) for each flood destination of a frame from `ingress` (every other active
  // port of its network whose MTU takes the frame; the others are counted as egress_mtu drops).
  // A frame from a VTEP goes to local ports only (split horizon: the other servers had it from
  // its sender). Returns the number of destinations.
  template <class Fn>
  std::size_t for_each_flood_port(const Port& ingress, std::size_t frame_size, Fn&& fn) noexcept;
  // The unicast destination, if it still exists and its MTU takes the frame (else counted).
  Port* unicast_port(const Decision& d, std::size_t frame_size) noexcept;

  void count_rx(Port& port, std::size_t bytes) noexcept;
  void count_tx(Port& port, std::size_t bytes) noexcept;
  // A datagram refused before or after switching (decoding, sessions, the datapath).
  void count_drop(DropReason reason) noexcept { stats_.drop(reason); }
  void count_datagram(std::size_t bytes) noexcept {
    ++stats_.rx_packets;
    stats_.rx_bytes += bytes;
  }

  // Ages MAC entries: examines `budget` of them (a slice: bounded work under the lock).
  std::size_t expire(TimePoint now, std::size_t budget);
  // The operator's pins, replacing the previous set (control path, may allocate). A pinned MAC
  // learned on another member's port is forgotten at once.
  void set_pins(const std::vector<MacPin>& pins, TimePoint now);
  // EVPN: a route puts `mac` behind the VTEP `vtep`, or takes it away (counted).
  void learn_remote(std::uint64_t network, MacAddr mac, PortIndex vtep, TimePoint now) noexcept;
  void forget_remote(std::uint64_t network, MacAddr mac, PortIndex vtep) noexcept;
  // EVPN: where local MACs that appear or go are written (the table's change log).
  void set_change_log(FdbChangeLog* log) noexcept { fdb_.set_change_log(log); }
  // A reload's new limits: MAC entries per port and per network, aging, storm control. The
  // table's and the port table's sizes stay (allocated at start). A port above a lowered limit
  // gives up its own oldest entries as it learns new ones.
  void set_limits(std::size_t port_max_macs, std::size_t network_max_macs, Duration fdb_aging,
                  double flood_per_second) noexcept;

  const SwitchStats& stats() const noexcept { return stats_; }
  SwitchStats& stats() noexcept { return stats_; }
  PortTable& ports() noexcept { return ports_; }
  const PortTable& ports() const noexcept { return ports_; }
  const Fdb& fdb() const noexcept { return fdb_; }
  std::size_t port_macs(PortIndex port) const noexcept { return fdb_.port_entries(port); }
  const SwitchConfig& config() const noexcept { return config_; }

 private:
  void learn(Port& ingress, MacAddr source, TimePoint now) noexcept;
  bool fits(const Port& egress, std::size_t frame_size) noexcept;
  bool may_flood(Port& ingress, TimePoint now) noexcept;
  bool pinned_elsewhere(const Port& ingress, MacAddr source) const noexcept;

  struct PinKey {
    std::uint64_t network, mac;
    bool operator==(const PinKey&) const = default;
  };
  struct PinHash {
    std::size_t operator()(const PinKey& k) const noexcept { return std::hash<std::uint64_t>{}(k.mac * 31 + k.network); }
  };

  SwitchConfig config_;
  PortTable ports_;
  Fdb fdb_;
  SwitchStats stats_;
  std::unordered_map<PinKey, std::uint64_t, PinHash> pins_;
};

template <class Fn>
std::size_t SwitchCore::for_each_flood_port(const Port& ingress, std::size_t frame_size, Fn&& fn) noexcept {
  std::size_t sent = 0;
  for (const PortIndex index : ports_.members(ingress.network)) {
    if (index == ingress.index) continue;
    Port* port = ports_.find(index);
    if (port != nullptr && port->remote && ingress.remote) continue;
    if (port == nullptr || !fits(*port, frame_size)) continue;
    fn(*port);
    ++sent;
  }
  stats_.flood_copies += sent;
  return sent;
}

}  // namespace vswitch
