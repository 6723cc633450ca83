// The switch's ports: one per joined client, addressed by a 32-bit index.
//
// An index is (generation << 16 | slot). The slot array is allocated once (`max_ports`), and a
// slot's generation grows each time it is reused, so a stale index from a departed client
// never reaches the port that took its slot. Index 0 is never issued (kNoPort).
// Ports are also grouped by network: flooding walks the members of one network only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "vswitch/endpoint.hpp"
#include "vswitch/fdb.hpp"
#include "vswitch/time.hpp"

namespace vswitch {

struct Port {
  PortIndex index = kNoPort;
  Endpoint endpoint;            // where the client's datagrams come from (insecure mode: its identity)
  std::uint64_t network = 0;
  std::uint32_t peer_index = 0; // the client's own index; our messages to it carry this
  std::uint16_t mtu = 0;        // negotiated
  std::size_t mac_count = 0;    // FDB entries pointing here
  TimePoint joined{};
  TimePoint last_seen{};
  std::uint64_t tx_counter = 0; // next DATA counter toward the client
  std::uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
};

class PortTable {
 public:
  static constexpr std::size_t kMaxPortsLimit = 65535;

  explicit PortTable(std::size_t max_ports);

  // nullptr when every slot is taken.
  Port* add(const Endpoint& endpoint, std::uint64_t network, std::uint32_t peer_index,
            std::uint16_t mtu, TimePoint now);
  void remove(PortIndex index);

  Port* find(PortIndex index) noexcept;
  const Port* find(PortIndex index) const noexcept;
  Port* find(const Endpoint& endpoint) noexcept;

  // Ports of one network, in join order. Empty span for an unknown network.
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

  std::size_t size() const noexcept { return by_endpoint_.size(); }
  std::size_t capacity() const noexcept { return slots_.size(); }

 private:
  std::vector<Port> slots_;
  std::vector<std::uint16_t> generations_;
  std::vector<std::size_t> free_slots_;
  std::unordered_map<Endpoint, PortIndex, EndpointHash> by_endpoint_;
  std::unordered_map<std::uint64_t, std::vector<PortIndex>> members_;
};

}  // namespace vswitch
