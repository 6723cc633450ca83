// The switch's ports, addressed by a 32-bit index.
//
// An index is (generation << 16 | slot). The slot array is allocated once (`max_ports`), and a
// slot's generation grows each time it is reused, so a stale index from a departed client
// never reaches the port that took its slot. Index 0 is never issued (kNoPort).
// Ports are grouped by network: flooding walks the active members of one network only. A port
// joins its network's flood list only once active (its client proved its address and key), so a
// half-open session receives nothing. Who the port's client is, and how to reach it, is the
// session layer's business (session_table.hpp), not the switch's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "vswitch/counter.hpp"
#include "vswitch/fdb.hpp"
#include "vswitch/time.hpp"

namespace vswitch {

struct Port {
  PortIndex index = kNoPort;
  std::uint64_t network = 0;
  std::uint16_t mtu = 0;        // negotiated
  bool active = false;          // in its network's flood list
  bool remote = false;          // EVPN: a remote VTEP (frames go over VXLAN; its MACs come from routes)
  std::uint64_t owner = 0;      // who holds the port (a member key's fingerprint; 0: v1), for pinned MACs
  double flood_tokens = 0;      // storm control: flooded frames it may still send now
  TimePoint flood_refill{};
  TimePoint joined{};
  std::uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
};

// The slot part of a port index: also indexes the session layer's per-port state.
constexpr std::size_t port_slot(PortIndex index) { return index & 0xffff; }

class PortTable {
 public:
  static constexpr std::size_t kMaxPortsLimit = 65535;

  explicit PortTable(std::size_t max_ports);

  // An inactive port; nullptr when every slot is taken.
  Port* add(std::uint64_t network, std::uint16_t mtu, TimePoint now);
  void activate(PortIndex index);
  void deactivate(PortIndex index);  // out of the flood list again (a VTEP whose route went)
  void remove(PortIndex index);

  Port* find(PortIndex index) noexcept;
  const Port* find(PortIndex index) const noexcept;

  // Active ports of one network, in activation order. Empty span for an unknown network.
  std::span<const PortIndex> members(std::uint64_t network) const noexcept;

  template <class Fn>
  void for_each(Fn&& fn) {
    for (auto& p : slots_)
      if (p.index != kNoPort) fn(p);
  }
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const auto& p : slots_)
      if (p.index != kNoPort) fn(p);
  }

  std::size_t size() const noexcept { return in_use_; }  // also without the lock (metrics)
  std::size_t capacity() const noexcept { return slots_.size(); }

 private:
  std::vector<Port> slots_;
  std::vector<std::uint16_t> generations_;
  std::vector<std::size_t> free_slots_;
  Counter in_use_;
  std::unordered_map<std::uint64_t, std::vector<PortIndex>> members_;
};

}  // namespace vswitch
